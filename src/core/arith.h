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
static inline uint32_t rs__max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

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

/* A 128-bit unsigned value as two 64-bit words, for the products of two
 * durations or counts. 32-bit targets (i386, armhf) have no 128-bit integer
 * type, so the portable forms below are always compiled (and tested against
 * the native type where it exists); the native type serves where the
 * compiler has one, since its multiply is a single instruction. */
typedef struct rs__wide {
    uint64_t hi;
    uint64_t lo;
} rs__wide;

/* a * b in full, in 32-bit halves. */
static inline rs__wide rs__wide_mul_portable(uint64_t a, uint64_t b)
{
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32;
    uint64_t b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t low = a_lo * b_lo;
    uint64_t cross1 = a_lo * b_hi;
    uint64_t cross2 = a_hi * b_lo;
    /* < 3 * 2^32: cannot overflow. */
    uint64_t middle = (low >> 32) + (uint32_t)cross1 + (uint32_t)cross2;
    rs__wide w;
    w.lo = (middle << 32) | (uint32_t)low;
    w.hi = a_hi * b_hi + (cross1 >> 32) + (cross2 >> 32) + (middle >> 32);
    return w;
}

/* floor(w / divisor) with the remainder in *remainder, for w.hi < divisor
 * (so that the quotient fits in 64 bits): schoolbook division in 32-bit
 * digits with a normalised divisor (Knuth's algorithm D, two quotient
 * digits). Each estimated digit is at most 2 too large and corrected. */
static inline uint64_t rs__wide_divmod_portable(rs__wide w, uint64_t divisor,
                                                uint64_t *remainder)
{
    const uint64_t digit = UINT64_C(1) << 32;
    int shift = __builtin_clzll(divisor);
    uint64_t d = divisor << shift;
    uint64_t d_hi = d >> 32, d_lo = (uint32_t)d;
    /* The dividend shifted by the same amount: top word and two low digits. */
    uint64_t top = shift == 0 ? w.hi : (w.hi << shift) | (w.lo >> (64 - shift));
    uint64_t low = w.lo << shift;
    uint64_t low1 = low >> 32, low0 = (uint32_t)low;

    uint64_t q1 = top / d_hi, rest = top % d_hi;
    while (q1 >= digit || q1 * d_lo > ((rest << 32) | low1)) {
        q1--;
        rest += d_hi;
        if (rest >= digit) {
            break;
        }
    }
    uint64_t mid = (top << 32) + low1 - q1 * d; /* mod 2^64: the true value is < d */
    uint64_t q0 = mid / d_hi;
    rest = mid % d_hi;
    while (q0 >= digit || q0 * d_lo > ((rest << 32) | low0)) {
        q0--;
        rest += d_hi;
        if (rest >= digit) {
            break;
        }
    }
    *remainder = (((mid << 32) + low0) - q0 * d) >> shift;
    return (q1 << 32) + q0;
}

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 rs__native_u128;
#endif

/* a * b in full. */
static inline rs__wide rs__wide_mul(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    rs__native_u128 product = (rs__native_u128)a * b;
    rs__wide w = { (uint64_t)(product >> 64), (uint64_t)product };
    return w;
#else
    return rs__wide_mul_portable(a, b);
#endif
}

/* floor(w / divisor) and the remainder, for w.hi < divisor. */
static inline uint64_t rs__wide_divmod(rs__wide w, uint64_t divisor, uint64_t *remainder)
{
#ifdef __SIZEOF_INT128__
    rs__native_u128 n = (rs__native_u128)w.hi << 64 | w.lo;
    *remainder = (uint64_t)(n % divisor);
    return (uint64_t)(n / divisor);
#else
    return rs__wide_divmod_portable(w, divisor, remainder);
#endif
}

static inline bool rs__wide_le(rs__wide a, rs__wide b)
{
    return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

/* floor(a * b / divisor), saturating; divisor must be non-zero. Exact, with no
 * intermediate overflow, because the product is kept in 128 bits. */
static inline uint64_t rs__mul_div(uint64_t a, uint64_t b, uint64_t divisor)
{
    rs__wide product = rs__wide_mul(a, b);
    uint64_t remainder;
    return product.hi >= divisor ? UINT64_MAX : rs__wide_divmod(product, divisor, &remainder);
}

/* ceil(a * b / divisor), saturating; divisor must be non-zero. For rescaling
 * a debt, where rounding down would forgive part of it. */
static inline uint64_t rs__mul_div_ceil(uint64_t a, uint64_t b, uint64_t divisor)
{
    rs__wide product = rs__wide_mul(a, b);
    if (product.hi >= divisor) {
        return UINT64_MAX;
    }
    uint64_t remainder;
    uint64_t quotient = rs__wide_divmod(product, divisor, &remainder);
    return remainder != 0 ? rs__sat_add(quotient, 1) : quotient;
}

/* Maps 64 uniform random bits onto [0, span], inclusive, by multiply-high:
 * no division, and a bias below span / 2^64, far beneath anything a delay can
 * show. */
static inline uint64_t rs__scale_random(uint64_t random, uint64_t span)
{
    if (span == UINT64_MAX) {
        return random;
    }
    return rs__wide_mul(random, span + 1).hi;
}

static inline bool rs__is_finite_positive(double value)
{
    return isfinite(value) && value > 0.0;
}

#endif /* RS_CORE_ARITH_H */
