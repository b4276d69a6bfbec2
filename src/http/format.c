/* The server side: a limiter's decision as Retry-After, RateLimit and
 * RateLimit-Policy field values, written into the caller's buffer whole or
 * not at all. */
#include "resilience/http.h"

#include <limits.h>
#include <string.h>

#define NS_PER_SEC UINT64_C(1000000000)
/* The largest Structured Field Integer: 15 digits. */
#define SF_INTEGER_MAX UINT64_C(999999999999999)

/* Appends to a buffer, remembering when something did not fit. */
typedef struct writer {
    char *buf;
    size_t size;
    size_t len;
    bool overflow;
} writer;

static void put(writer *w, const char *s, size_t n)
{
    if (w->overflow || n >= w->size - w->len) { /* room for the NUL too */
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_u64(writer *w, uint64_t value)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    put(w, digits + sizeof digits - n, n);
}

/* The value with its NUL, or RS_E_INVAL and an empty string. */
static int finish(writer *w)
{
    if (w->overflow || w->len > (size_t)INT_MAX) {
        if (w->size > 0) {
            w->buf[0] = '\0';
        }
        return RS_E_INVAL;
    }
    w->buf[w->len] = '\0';
    return (int)w->len;
}

static writer start(char *buf, size_t size)
{
    return (writer){ buf, buf == NULL ? 0 : size, 0, buf == NULL || size == 0 };
}

/* RS_E_INVAL with "" in the buffer, when it has room for the NUL. */
static int refuse(char *buf, size_t size)
{
    writer w = start(buf, size);
    w.overflow = true;
    return finish(&w);
}

static uint64_t whole_seconds_up(uint64_t ns)
{
    return ns / NS_PER_SEC + (ns % NS_PER_SEC != 0);
}

int rs_http_format_retry_after(char *buf, size_t size, uint64_t wait_ns)
{
    writer w = start(buf, size);
    put_u64(&w, whole_seconds_up(wait_ns));
    return finish(&w);
}

/* The policy's name as an sf-string; false for a byte it cannot hold. */
static bool put_policy(writer *w, const char *name)
{
    if (name == NULL) {
        name = "default";
    }
    put(w, "\"", 1);
    for (const char *p = name; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e) {
            return false;
        }
        if (c == '"' || c == '\\') {
            put(w, "\\", 1);
        }
        put(w, p, 1);
    }
    put(w, "\"", 1);
    return true;
}

static void put_param(writer *w, const char *key, uint64_t value)
{
    put(w, key, strlen(key));
    put_u64(w, value);
}

static uint64_t sf_integer(uint64_t value)
{
    return value > SF_INTEGER_MAX ? SF_INTEGER_MAX : value;
}

/* `"policy";<count_key><count>[<time_key><ceil seconds>]`: both fields
 * are an Item naming the policy with two parameters. */
static int format_item(char *buf, size_t size, const rs_http_ratelimit *rl, const char *count_key,
                       uint64_t count, const char *time_key, uint64_t time_ns, bool with_time)
{
    writer w = start(buf, size);
    if (!put_policy(&w, rl->policy)) {
        return refuse(buf, size);
    }
    put_param(&w, count_key, sf_integer(count));
    if (with_time) {
        put_param(&w, time_key, whole_seconds_up(time_ns));
    }
    return finish(&w);
}

int rs_http_format_ratelimit(char *buf, size_t size, const rs_http_ratelimit *rl)
{
    if (rl == NULL) {
        return refuse(buf, size);
    }
    return format_item(buf, size, rl, ";r=", rl->remaining, ";t=", rl->reset_ns,
                       rl->reset_ns != UINT64_MAX);
}

int rs_http_format_ratelimit_policy(char *buf, size_t size, const rs_http_ratelimit *rl)
{
    if (rl == NULL) {
        return refuse(buf, size);
    }
    return format_item(buf, size, rl, ";q=", rl->quota, ";w=", rl->window_ns, rl->window_ns != 0);
}
