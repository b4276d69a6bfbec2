/* libFuzzer harness for the readers under the HTTP headers, called directly
 * (src/http/ internals, through the static library): the first byte picks
 * one, the rest is its input, in libFuzzer's buffer of exactly that size.
 *   0  rs__http_rfc3339: a time it accepts, written back canonically by an
 *      independent calendar (a loop over years), reads back the same;
 *   1  rs__http_duration: accepts only digits, points and unit bytes, and a
 *      second component "0s" changes nothing;
 *   2  the Structured Field reader: a List walked to its end;
 *   3  rs__http_date: the Unix time of an accepted date, written back as an
 *      IMF-fixdate by the same independent calendar, reads back the same;
 *   4  rs__http_number_ns: a fraction never makes a number smaller, and
 *      scaling rounds up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The calendar the slow way: whole years, then whole months. */
typedef struct civil {
    int64_t year;
    int month, day, hour, minute, second;
} civil;

static bool leap(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

static civil civil_of(int64_t t)
{
    int64_t days = t / 86400, rest = t % 86400;
    if (rest < 0) {
        rest += 86400;
        days--;
    }
    int64_t year = 1970;
    while (days < 0) {
        year--;
        days += leap(year) ? 366 : 365;
    }
    while (days >= (leap(year) ? 366 : 365)) {
        days -= leap(year) ? 366 : 365;
        year++;
    }
    static const int lengths[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int month = 0;
    while (days >= lengths[month] + (month == 1 && leap(year))) {
        days -= lengths[month] + (month == 1 && leap(year));
        month++;
    }
    return (civil){ year, month + 1, (int)days + 1, (int)(rest / 3600), (int)(rest / 60 % 60),
                    (int)(rest % 60) };
}

static void rfc3339(const char *s, size_t n)
{
    int64_t t;
    uint32_t nanos;
    if (!rs__http_rfc3339(s, n, &t, &nanos)) {
        return;
    }
    /* Years 0000-9999, an offset of at most a day, a leap second. */
    if (nanos > 1000000000u || t < INT64_C(-62167219200) - 86400 ||
        t > INT64_C(253402300800) + 86400) {
        abort();
    }
    civil c = civil_of(t);
    if (c.year < 0 || c.year > 9999) {
        return; /* the offset moved it out of four digits */
    }
    char text[64];
    int len = snprintf(text, sizeof text, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)c.year,
                       c.month, c.day, c.hour, c.minute, c.second);
    int64_t again;
    uint32_t again_nanos;
    if (!rs__http_rfc3339(text, (size_t)len, &again, &again_nanos) || again != t ||
        again_nanos != 0) {
        abort();
    }
}

static void duration(const char *s, size_t n)
{
    uint64_t ns;
    if (!rs__http_duration(s, n, &ns)) {
        return;
    }
    const char *v = s;
    size_t len = n;
    rs__http_trim(&v, &len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'h' || c == 'm' || c == 's' || c == 'u' ||
              c == 'n' || c == 0xc2 || c == 0xb5 || c == 0xce || c == 0xbc)) {
            abort();
        }
    }
    if (len > 200 || (len == 1 && v[0] == '0')) {
        return;
    }
    char longer[256];
    memcpy(longer, v, len);
    memcpy(longer + len, "0s", 2);
    uint64_t again;
    if (!rs__http_duration(longer, len + 2, &again) || again != ns) {
        abort();
    }
}

static void structured_list(const char *s, size_t n)
{
    rs__sf_cursor c;
    rs__sf_start(&c, s, n);
    if (c.at == c.end) {
        return;
    }
    int more;
    do {
        rs__sf_value v;
        if (!rs__sf_member_value(&c, &v) || !rs__sf_skip_params(&c)) {
            return;
        }
        if (v.kind == RS__SF_STRING && (v.text < s || v.text + v.text_len > s + n)) {
            abort();
        }
        if (c.at > c.end) {
            abort();
        }
    } while ((more = rs__sf_next_member(&c)) == 1);
    if (more == 0 && c.at != c.end) {
        abort();
    }
}

static void http_date(const char *s, size_t n)
{
    static const int64_t clocks[] = { 0, INT64_C(1704067200), INT64_C(4102444800), -1 };
    static const char *const days[7] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
    static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        int64_t t;
        if (!rs__http_date(s, n, clocks[i], &t)) {
            continue;
        }
        civil c = civil_of(t);
        if (c.year > 9999) {
            return; /* 9999-12-31 23:59:60 */
        }
        int64_t weekday = (t / 86400) % 7;
        char text[64];
        int len = snprintf(text, sizeof text, "%s, %02d %s %04lld %02d:%02d:%02d GMT",
                           days[weekday < 0 ? weekday + 7 : weekday], c.day, months[c.month - 1],
                           (long long)c.year, c.hour, c.minute, c.second);
        int64_t again;
        if (!rs__http_date(text, (size_t)len, clocks[i], &again) || again != t) {
            abort();
        }
    }
}

static void number(const char *s, size_t n)
{
    uint64_t with_fraction, whole;
    bool ok = rs__http_number_ns(s, n, 1000, true, &with_fraction);
    bool whole_ok = rs__http_number_ns(s, n, 1000, false, &whole);
    if (whole_ok && (!ok || whole != with_fraction || (whole % 1000 != 0 && whole != UINT64_MAX))) {
        abort();
    }
    if (ok && !whole_ok) {
        /* digits "." digits: at least the whole part, at most one unit more */
        rs__http_decimal d;
        if (!rs__http_number(s, n, true, &d)) {
            abort();
        }
        uint64_t floor_ns = d.whole > UINT64_MAX / 1000 ? UINT64_MAX : d.whole * 1000;
        if (with_fraction < floor_ns || (floor_ns <= UINT64_MAX - 1000 &&
                                         with_fraction > floor_ns + 1000)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    static void (*const readers[])(const char *, size_t) = { rfc3339, duration, structured_list,
                                                             http_date, number };
    readers[data[0] % 5]((const char *)data + 1, size - 1);
    return 0;
}
