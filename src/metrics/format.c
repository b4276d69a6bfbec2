/* The text of an exposition: chunked output, escaping and values. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void rs__metrics_out_callback(rs__metrics_out *o, rs_metrics_write_fn fn, void *ctx)
{
    o->fn = fn;
    o->ctx = ctx;
    o->buf = NULL;
    o->size = 0;
    o->total = 0;
    o->pending = 0;
    o->status = RS_OK;
}

void rs__metrics_out_buffer(rs__metrics_out *o, char *buf, size_t size)
{
    rs__metrics_out_callback(o, NULL, NULL);
    o->buf = buf;
    o->size = size;
}

static void flush(rs__metrics_out *o)
{
    if (o->pending > 0 && o->status == RS_OK && o->fn(o->ctx, o->chunk, o->pending) != 0) {
        o->status = RS_E_IO;
    }
    o->pending = 0;
}

void rs__metrics_put(rs__metrics_out *o, const char *s, size_t n)
{
    if (o->fn == NULL) {
        size_t room = o->size > o->total + 1 ? o->size - 1 - o->total : 0;
        if (room > 0) { /* else buf may be NULL: a size query */
            memcpy(o->buf + o->total, s, n < room ? n : room);
        }
        o->total += n;
        return;
    }
    o->total += n;
    while (n > 0 && o->status == RS_OK) {
        if (o->pending == sizeof o->chunk) {
            flush(o);
        }
        size_t room = sizeof o->chunk - o->pending;
        size_t take = n < room ? n : room;
        memcpy(o->chunk + o->pending, s, take);
        o->pending += take;
        s += take;
        n -= take;
    }
}

void rs__metrics_out_finish(rs__metrics_out *o)
{
    if (o->fn != NULL) {
        flush(o);
    } else if (o->size > 0) {
        o->buf[o->total < o->size ? o->total : o->size - 1] = '\0';
    }
}

void rs__metrics_puts(rs__metrics_out *o, const char *s)
{
    rs__metrics_put(o, s, strlen(s));
}

void rs__metrics_put_escaped(rs__metrics_out *o, const char *s, bool quote)
{
    const char *run = s; /* bytes that need no escape, written in one piece */
    for (; *s != '\0'; s++) {
        const char *escape = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n"
                             : quote && *s == '"' ? "\\\"" : NULL;
        if (escape != NULL) {
            rs__metrics_put(o, run, (size_t)(s - run));
            rs__metrics_put(o, escape, 2);
            run = s + 1;
        }
    }
    rs__metrics_put(o, run, (size_t)(s - run));
}

/* Digits of an integer, without the locale or printf. */
static size_t format_integer(double value, char *out)
{
    char digits[24];
    size_t n = 0;
    uint64_t magnitude = (uint64_t)fabs(value);
    do {
        digits[n++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    size_t len = 0;
    if (value < 0) {
        out[len++] = '-';
    }
    while (n > 0) {
        out[len++] = digits[--n];
    }
    return len;
}

/* %g in the C locale, whatever locale the program set: the one character
 * (or multibyte sequence) that is not part of a number in any locale is
 * the decimal point, written as '.'. */
static size_t format_real(double value, int precision, char *out, size_t size)
{
    char raw[48];
    int n = snprintf(raw, sizeof raw, "%.*g", precision, value);
    size_t len = 0;
    bool in_point = false;
    for (int i = 0; i < n && len + 1 < size; i++) {
        char ch = raw[i];
        if ((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == 'e' || ch == 'E') {
            out[len++] = ch;
            in_point = false;
        } else if (!in_point) {
            out[len++] = '.';
            in_point = true;
        }
    }
    return len;
}

/* strtod is locale-dependent too, so the round trip is checked on the
 * locale's own text. */
static bool reads_back(double value, int precision)
{
    char raw[48];
    (void)snprintf(raw, sizeof raw, "%.*g", precision, value);
    return strtod(raw, NULL) == value;
}

void rs__metrics_put_value(rs__metrics_out *o, double value)
{
    char text[48];
    size_t len;
    if (isnan(value)) {
        rs__metrics_puts(o, "NaN");
        return;
    }
    if (isinf(value)) {
        rs__metrics_puts(o, value > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (value == floor(value) && fabs(value) < 9.2e18) {
        len = format_integer(value, text);
    } else {
        len = format_real(value, reads_back(value, 15) ? 15 : 17, text, sizeof text);
    }
    rs__metrics_put(o, text, len);
}

bool rs__metrics_valid_name(const char *s, bool colons)
{
    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9')) {
        return false;
    }
    for (; *s != '\0'; s++) {
        char ch = *s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || (colons && ch == ':');
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool rs__metrics_valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != 0) {
        unsigned char c = *p++;
        if (c < 0x80) {
            continue;
        }
        /* Lead byte: how many continuation bytes, and the smallest code
         * point it may encode (overlong forms are invalid). */
        unsigned more = c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2
                        : c >= 0xF0 && c <= 0xF4 ? 3 : 0;
        if (more == 0) {
            return false;
        }
        uint32_t cp = c & (0x3Fu >> more);
        for (unsigned i = 0; i < more; i++, p++) {
            if ((*p & 0xC0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (*p & 0x3Fu);
        }
        if ((more == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
            return false;
        }
    }
    return true;
}

double rs__metrics_seconds(uint64_t ns)
{
    return ns == UINT64_MAX ? INFINITY : (double)ns / 1e9;
}

const char *rs_metrics_content_type(rs_metrics_format format)
{
    switch (format) {
    case RS_METRICS_PROMETHEUS: return "text/plain; version=0.0.4; charset=utf-8";
    case RS_METRICS_OPENMETRICS: return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    }
    return NULL;
}
