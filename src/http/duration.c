/* Go's time.Duration text, which OpenAI's x-ratelimit-reset-* headers carry
 * ("6m0s", "250ms", "17.124s"): decimal numbers each followed by a unit.
 * Like Go, components may come in any order and repeat, and a number may
 * start or end with its point (".5s", "5.s"); unlike Go there is no sign
 * (a reset lies ahead) and a sum past 2^64 ns saturates instead of failing.
 * Units are case-sensitive, as in Go: "1M" is not a minute. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arith.h"
#include "http/internal.h"

/* Nanoseconds per unit; 0 for no unit. Both micro signs are taken: U+00B5
 * (what Go writes) and U+03BC (what people type). */
static uint64_t unit_ns(const char *u, size_t len)
{
    switch (len) {
    case 1:
        return u[0] == 's' ? UINT64_C(1000000000)
             : u[0] == 'm' ? UINT64_C(60000000000)
             : u[0] == 'h' ? UINT64_C(3600000000000)
                           : 0;
    case 2:
        if (u[1] != 's') {
            return 0;
        }
        return u[0] == 'n' ? 1 : u[0] == 'u' ? 1000 : u[0] == 'm' ? UINT64_C(1000000) : 0;
    case 3:
        return memcmp(u, "\xc2\xb5s", 3) == 0 || memcmp(u, "\xce\xbcs", 3) == 0 ? 1000 : 0;
    default:
        return 0;
    }
}

static bool unit_char(char c)
{
    return c != '.' && !(c >= '0' && c <= '9');
}

bool rs__http_duration(const char *s, size_t len, uint64_t *out_ns)
{
    rs__http_trim(&s, &len);
    if (len == 1 && s[0] == '0') {
        *out_ns = 0;
        return true;
    }
    if (len == 0) {
        return false;
    }
    uint64_t total = 0;
    size_t i = 0;
    while (i < len) {
        rs__http_decimal number;
        size_t used = rs__http_scan_decimal(s + i, len - i, &number);
        if (used == 0) {
            return false;
        }
        i += used;
        /* Go reads the unit as everything up to the next number. */
        size_t unit_len = 0;
        while (i + unit_len < len && unit_char(s[i + unit_len])) {
            unit_len++;
        }
        uint64_t unit = unit_ns(s + i, unit_len);
        if (unit == 0) {
            return false;
        }
        i += unit_len;
        total = rs__sat_add(total, rs__http_decimal_ns(&number, unit));
    }
    *out_ns = total;
    return true;
}
