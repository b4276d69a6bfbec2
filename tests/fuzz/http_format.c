/* libFuzzer harness for the server side (src/http/format.c) read back by
 * the client side (feedback.c, ietf.c, structured.c, through the static
 * library). The input gives a policy name (up to the first NUL) and four
 * 64-bit numbers; whatever rs_http_format_ratelimit(),
 * rs_http_format_ratelimit_policy() and rs_http_format_retry_after() write,
 * rs_http_feedback_header() must read back as the same numbers (clamped to
 * 15 digits, durations rounded up to whole seconds), and a name they refuse
 * must hold a byte outside printable ASCII. Buffers too small must be
 * refused without a byte written past their size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/http.h"

#define SEC UINT64_C(1000000000)
#define SF_MAX UINT64_C(999999999999999)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t take_u64(const uint8_t **data, size_t *size)
{
    uint64_t v = 0;
    size_t n = *size < 8 ? *size : 8;
    memcpy(&v, *data, n);
    *data += n;
    *size -= n;
    return v;
}

static uint64_t seconds_read_back(uint64_t ns)
{
    uint64_t s = ns / SEC + (ns % SEC != 0);
    return s > UINT64_MAX / SEC ? UINT64_MAX : s * SEC;
}

/* A buffer one byte short, half as long, of one byte and of none is
 * refused, holds "" and has nothing past its size moved. */
static void check_small_buffers(int (*format)(char *, size_t, const rs_http_ratelimit *),
                                const rs_http_ratelimit *rl, int len)
{
    char small[600];
    const size_t rooms[] = { (size_t)len, (size_t)len / 2, 1, 0 };
    for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
        size_t room = rooms[i];
        memset(small, 'x', room + 1);
        if (format(small, room, rl) != RS_E_INVAL || (room > 0 && small[0] != '\0') ||
            small[room] != 'x') {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[256];
    size_t name_len = 0;
    while (name_len < size && name_len < sizeof name - 1 && data[name_len] != 0) {
        name[name_len] = (char)data[name_len];
        name_len++;
    }
    name[name_len] = '\0';
    data += name_len < size ? name_len + 1 : name_len;
    size -= name_len < size ? name_len + 1 : name_len;
    rs_http_ratelimit rl = { name, take_u64(&data, &size), take_u64(&data, &size),
                             take_u64(&data, &size), take_u64(&data, &size) };
    bool printable = true;
    for (size_t i = 0; i < name_len; i++) {
        printable = printable && name[i] >= 0x20 && name[i] <= 0x7e;
    }

    char value[600];
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    int len = rs_http_format_ratelimit(value, sizeof value, &rl);
    if (len < 0) {
        if (printable || value[0] != '\0') {
            abort();
        }
        return 0;
    }
    if (!printable || (size_t)len != strlen(value) ||
        rs_http_feedback_header(&f, "RateLimit", 9, value, (size_t)len, 0) != RS_OK) {
        abort();
    }
    check_small_buffers(rs_http_format_ratelimit, &rl, len);
    len = rs_http_format_ratelimit_policy(value, sizeof value, &rl);
    if (len < 0 || rs_http_feedback_header(&f, "RateLimit-Policy", 16, value, (size_t)len, 0) != RS_OK) {
        abort();
    }
    check_small_buffers(rs_http_format_ratelimit_policy, &rl, len);
    len = rs_http_format_retry_after(value, sizeof value, rl.reset_ns);
    if (len < 0 || rs_http_feedback_header(&f, "Retry-After", 11, value, (size_t)len, 0) != RS_OK) {
        abort();
    }

    const rs_http_quota *q = &f.quotas[RS_HTTP_QUOTA_IETF];
    int64_t remaining = (int64_t)(rl.remaining > SF_MAX ? SF_MAX : rl.remaining);
    int64_t limit = (int64_t)(rl.quota > SF_MAX ? SF_MAX : rl.quota);
    uint64_t reset = rl.reset_ns == UINT64_MAX ? 0 : seconds_read_back(rl.reset_ns);
    uint64_t window = rl.window_ns == 0 ? 0 : seconds_read_back(rl.window_ns);
    if (q->remaining != remaining || q->limit != limit || q->reset_ns != reset ||
        q->window_ns != window || f.retry_after_ns < rl.reset_ns ||
        f.retry_after_ns != seconds_read_back(rl.reset_ns)) {
        abort();
    }
    return 0;
}
