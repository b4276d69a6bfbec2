/* libFuzzer harness for rs_http_feedback_header() and the readers behind it
 * (feedback.c, ietf.c, structured.c, duration.c, date.c, lex.c, through
 * the static library). The input is a response's headers: lines split at
 * '\n', each "name:value" split at its first ':'. Each value is copied into
 * a block of exactly its size, so a read past the length is an ASan report.
 * Checks, beside "no crash, hang or undefined behaviour":
 *   - RS_OK or RS_E_INVAL only, and RS_E_INVAL leaves the feedback as it was;
 *   - an unknown name changes nothing;
 *   - the summary is what its documentation says, recomputed here;
 *   - the headers fed in reverse order give the same feedback;
 *   - apply() never lowers what the attempt already holds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/http.h"

#define NOW INT64_C(1704067200) /* 2024-01-01 00:00:00 UTC */
#define MAX_LINES 64

typedef struct line {
    const uint8_t *name, *value;
    size_t name_len, value_len;
} line;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A copy in a block of exactly the length, so ASan sees a read past it. */
static char *exact_copy(const uint8_t *bytes, size_t len)
{
    char *copy = malloc(len == 0 ? 1 : len);
    if (copy == NULL) {
        abort();
    }
    memcpy(copy, bytes, len);
    return copy;
}

static int feed(rs_http_feedback *f, const line *l)
{
    char *name = exact_copy(l->name, l->name_len);
    char *value = exact_copy(l->value, l->value_len);
    int rc = rs_http_feedback_header(f, name, l->name_len, value, l->value_len, NOW);
    free(name);
    free(value);
    return rc;
}

static const bool counts_tokens[RS_HTTP_QUOTA_SOURCES] = {
    false, true, false, true, true, true, false, false, false,
};

static void check_family(const rs_http_feedback *f, bool tokens, int64_t limit, int64_t remaining,
                         uint64_t reset)
{
    int64_t least_limit = -1, least_remaining = -1;
    for (int i = 0; i < RS_HTTP_QUOTA_SOURCES; i++) {
        const rs_http_quota *q = &f->quotas[i];
        if (counts_tokens[i] != tokens) {
            continue;
        }
        if (q->limit < -1 || q->remaining < -1) {
            abort();
        }
        if (q->limit >= 0 && (least_limit < 0 || q->limit < least_limit)) {
            least_limit = q->limit;
        }
        if (q->remaining >= 0 && (least_remaining < 0 || q->remaining < least_remaining)) {
            least_remaining = q->remaining;
        }
    }
    uint64_t expected_reset = 0;
    for (int i = 0; i < RS_HTTP_QUOTA_SOURCES; i++) {
        const rs_http_quota *q = &f->quotas[i];
        if (counts_tokens[i] == tokens && q->remaining == least_remaining &&
            q->reset_ns > expected_reset) {
            expected_reset = q->reset_ns;
        }
    }
    if (limit != least_limit || remaining != least_remaining || reset != expected_reset) {
        abort();
    }
}

static void check_summary(const rs_http_feedback *f)
{
    check_family(f, false, f->limit_requests, f->remaining_requests, f->reset_requests_ns);
    check_family(f, true, f->limit_tokens, f->remaining_tokens, f->reset_tokens_ns);
    uint64_t retry = f->retry_after_ms_header_ns != 0 ? f->retry_after_ms_header_ns
                                                      : f->retry_after_header_ns;
    if (f->retry_after_ns != retry) {
        abort();
    }
    rs_attempt a = { .retry_after_ns = 12345, .pause_ns = 678 };
    rs_http_feedback_apply(f, &a);
    uint64_t pause = rs_http_feedback_pause_ns(f);
    if (a.retry_after_ns < 12345 || a.pause_ns < 678 || a.retry_after_ns < f->retry_after_ns ||
        a.pause_ns < pause || (f->remaining_requests != 0 && f->remaining_tokens != 0 && pause != 0)) {
        abort();
    }
    /* The advertised rate: none, or within (0, 1e9], and what apply hands on. */
    double rate = rs_http_feedback_request_rate(f);
    if (!(rate == 0.0 || (rate > 0.0 && rate <= RS_HTTP_MAX_REQUEST_RATE)) ||
        a.advertised_rate != rate) {
        abort();
    }
    for (size_t i = 0; i < RS_HTTP_QUOTA_SOURCES; i++) {
        if (!(f->quotas[i].rate >= 0.0 && f->quotas[i].rate <= 1e30)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    line lines[MAX_LINES];
    size_t count = 0;
    const uint8_t *end = data + size;
    for (const uint8_t *p = data; p < end && count < MAX_LINES;) {
        const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL) {
            eol = end;
        }
        const uint8_t *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon != NULL) {
            lines[count++] = (line){ p, colon + 1, (size_t)(colon - p), (size_t)(eol - colon - 1) };
        }
        p = eol + 1;
    }

    rs_http_feedback forward, backward;
    rs_http_feedback_init(&forward);
    rs_http_feedback_init(&backward);
    for (size_t i = 0; i < count; i++) {
        rs_http_feedback before = forward;
        int rc = feed(&forward, &lines[i]);
        if (rc == RS_E_INVAL) {
            if (memcmp(&before, &forward, sizeof before) != 0) {
                abort();
            }
        } else if (rc != RS_OK) {
            abort();
        }
        check_summary(&forward);
        /* The same value under a name nobody knows changes nothing. */
        line unknown = { (const uint8_t *)"x-unknown-field", lines[i].value, 15, lines[i].value_len };
        before = forward;
        if (feed(&forward, &unknown) != RS_OK || memcmp(&before, &forward, sizeof before) != 0) {
            abort();
        }
    }
    for (size_t i = count; i-- > 0;) {
        (void)feed(&backward, &lines[i]);
    }
    if (memcmp(&forward, &backward, sizeof forward) != 0) {
        abort();
    }
    return 0;
}
