/* Saturating and wide arithmetic on nanosecond durations and instants.
 *
 * Time never wraps in this library: a sum past UINT64_MAX is UINT64_MAX
 * ("never"), a difference below zero is 0 ("now"). Every module does its time
 * arithmetic through these so that one place owns the overflow rules. */
#ifndef RS_CORE_ARITH_H
#define RS_CORE_ARITH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#define RS__NS_PER_SEC UINT64_C(1000000000)

static inline uint64_t rs__sat_add(uint64_t a, uint64_t b)
{
    uint64_t sum;
    return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

static inline uint64_t rs__sat_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static inline uint64_t rs__sat_mul(uint64_t a, uint64_t b)
{
    uint64_t product;
    return __builtin_mul_overflow(a, b, &product) ? UINT64_MAX : product;
}

static inline uint64_t rs__min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t rs__max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* A non-negative double to uint64_t: NaN and negatives give 0, values at or
 * beyond 2^64 give UINT64_MAX (a plain cast would be undefined). */
static inline uint64_t rs__sat_from_double(double value)
{
    if (!(value > 0.0)) {
        return 0;
    }
    if (value >= 18446744073709551616.0) { /* 2^64 */
        return UINT64_MAX;
    }
    return (uint64_t)value;
}

__extension__ typedef unsigned __int128 rs__u128;

/* floor(a * b / divisor), saturating; divisor must be non-zero. Exact, with no
 * intermediate overflow, because the product is kept in 128 bits. */
static inline uint64_t rs__mul_div(uint64_t a, uint64_t b, uint64_t divisor)
{
    rs__u128 quotient = ((rs__u128)a * b) / divisor;
    return quotient > UINT64_MAX ? UINT64_MAX : (uint64_t)quotient;
}

/* ceil(a * b / divisor), saturating; divisor must be non-zero. For rescaling
 * a debt, where rounding down would forgive part of it. */
static inline uint64_t rs__mul_div_ceil(uint64_t a, uint64_t b, uint64_t divisor)
{
    rs__u128 product = (rs__u128)a * b;
    rs__u128 quotient = product / divisor + (product % divisor != 0);
    return quotient > UINT64_MAX ? UINT64_MAX : (uint64_t)quotient;
}

/* Maps 64 uniform random bits onto [0, span], inclusive, by multiply-high:
 * no division, and a bias below span / 2^64, far beneath anything a delay can
 * show. */
static inline uint64_t rs__scale_random(uint64_t random, uint64_t span)
{
    if (span == UINT64_MAX) {
        return random;
    }
    return (uint64_t)(((rs__u128)random * (span + 1)) >> 64);
}

static inline bool rs__is_finite_positive(double value)
{
    return isfinite(value) && value > 0.0;
}

#endif /* RS_CORE_ARITH_H */
