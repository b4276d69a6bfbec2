/* The bytes-and-numbers layer every HTTP reader stands on. Values come from
 * the network: nothing here assumes a NUL, reads past a length, consults
 * the locale or lets a number wrap. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arith.h"
#include "http/internal.h"

static bool is_ows(char c) { return c == ' ' || c == '\t'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

void rs__http_trim(const char **s, size_t *len)
{
    const char *p = *s;
    size_t n = *len;
    while (n > 0 && is_ows(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_ows(p[n - 1])) {
        n--;
    }
    *s = p;
    *len = n;
}

bool rs__http_lower_equals(const char *s, const char *lower, size_t len)
{
    /* OR-ing 0x20 maps an upper- and a lowercase letter alike, and besides
     * '-' only CR (0x0d) onto '-' (0x2d): excluding bytes below 0x20 makes
     * the comparison exact for names of lowercase letters, digits and '-'. */
    for (size_t i = 0; i < len; i++) {
        unsigned c = (unsigned char)s[i];
        if ((c | 0x20u) != (unsigned char)lower[i] || c < 0x20u) {
            return false;
        }
    }
    return true;
}

/* 10^0 .. 10^18: the scales of up to 18 fraction digits. */
static const uint64_t powers_of_ten[19] = {
    UINT64_C(1),
    UINT64_C(10),
    UINT64_C(100),
    UINT64_C(1000),
    UINT64_C(10000),
    UINT64_C(100000),
    UINT64_C(1000000),
    UINT64_C(10000000),
    UINT64_C(100000000),
    UINT64_C(1000000000),
    UINT64_C(10000000000),
    UINT64_C(100000000000),
    UINT64_C(1000000000000),
    UINT64_C(10000000000000),
    UINT64_C(100000000000000),
    UINT64_C(1000000000000000),
    UINT64_C(10000000000000000),
    UINT64_C(100000000000000000),
    UINT64_C(1000000000000000000),
};

#define MAX_FRACTION_DIGITS 18u

size_t rs__http_scan_decimal(const char *s, size_t len, rs__http_decimal *out)
{
    rs__http_decimal d = { 0, 0, 0, false, false, false };
    size_t i = 0;
    for (; i < len && is_digit(s[i]); i++) {
        d.whole = rs__sat_add(rs__sat_mul(d.whole, 10), (uint64_t)(s[i] - '0'));
        d.has_whole = true;
    }
    if (i < len && s[i] == '.') {
        d.has_point = true;
        for (i++; i < len && is_digit(s[i]); i++) {
            if (d.fraction_digits < MAX_FRACTION_DIGITS) {
                d.fraction = d.fraction * 10 + (uint64_t)(s[i] - '0');
                d.fraction_digits++;
            } else if (s[i] != '0') {
                d.fraction_rest = true;
            }
        }
    }
    if (!d.has_whole && d.fraction_digits == 0) {
        return 0;
    }
    *out = d;
    return i;
}

uint64_t rs__http_decimal_ns(const rs__http_decimal *d, uint64_t unit_ns)
{
    uint64_t whole_ns = rs__sat_mul(d->whole, unit_ns);
    if (d->fraction == 0 && !d->fraction_rest) {
        return whole_ns;
    }
    /* fraction / 10^digits of a unit, rounded up. The product is below
     * 10^digits * 2^64, so its high word is below the divisor. */
    uint64_t scale = powers_of_ten[d->fraction_digits];
    uint64_t remainder;
    uint64_t part = rs__wide_divmod(rs__wide_mul(d->fraction, unit_ns), scale, &remainder);
    if (remainder != 0 || d->fraction_rest) {
        part++;
    }
    return rs__sat_add(whole_ns, part);
}

bool rs__http_digits(const char *s, size_t len, uint64_t *out)
{
    if (len == 0) {
        return false;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i])) {
            return false;
        }
        value = rs__sat_add(rs__sat_mul(value, 10), (uint64_t)(s[i] - '0'));
    }
    *out = value;
    return true;
}

bool rs__http_number(const char *s, size_t len, bool with_fraction, rs__http_decimal *out)
{
    rs__http_trim(&s, &len);
    rs__http_decimal d;
    size_t used = rs__http_scan_decimal(s, len, &d);
    /* Both sides of a point need digits: "5." and ".5" are not numbers here. */
    if (used == 0 || used != len || !d.has_whole ||
        (d.has_point && (!with_fraction || s[used - 1] == '.'))) {
        return false;
    }
    *out = d;
    return true;
}

bool rs__http_number_ns(const char *s, size_t len, uint64_t unit_ns, bool with_fraction,
                        uint64_t *out_ns)
{
    rs__http_decimal d;
    if (!rs__http_number(s, len, with_fraction, &d)) {
        return false;
    }
    *out_ns = rs__http_decimal_ns(&d, unit_ns);
    return true;
}

bool rs__http_count(const char *s, size_t len, int64_t *out)
{
    rs__http_trim(&s, &len);
    uint64_t value;
    if (!rs__http_digits(s, len, &value)) {
        return false;
    }
    *out = value > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)value;
    return true;
}
