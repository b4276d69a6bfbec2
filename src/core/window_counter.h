/* The two-bucket sliding-window estimate (RS_WINDOW_COUNTER), shared by the
 * in-process sliding window and the shared-memory one, so that both admit
 * exactly the same requests for the same instants.
 *
 * Time is cut into fixed windows [k * W, (k+1) * W). With P units admitted
 * in the previous fixed window, C in the current one and `elapsed` ns of the
 * current one gone (f = elapsed / W), the estimate is P * (1 - f) + C, and n
 * units fit when P * (1 - f) + C + n <= limit. Everything here is a pure
 * function of (P, C, elapsed); where P and C live, and how they move to the
 * next fixed window, is the caller's business. */
#ifndef RS_CORE_WINDOW_COUNTER_H
#define RS_CORE_WINDOW_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arith.h"

typedef struct rs__window_counter {
    uint64_t limit;     /* units per window, >= 1 */
    uint64_t window_ns; /* W, >= 1 */
} rs__window_counter;

/* previous * (1 - f) + current + n <= limit, multiplied out by W and
 * compared exactly in 128 bits, as previous * (W - elapsed) <= (limit -
 * current - n) * W so that no sum can overflow. */
static inline bool rs__window_counter_fits(const rs__window_counter *c, uint64_t previous,
                                           uint64_t current, uint64_t n, uint64_t elapsed)
{
    if (current > c->limit || n > c->limit - current) {
        return false;
    }
    rs__wide weighted = rs__wide_mul(previous, c->window_ns - elapsed);
    return rs__wide_le(weighted, rs__wide_mul(c->limit - current - n, c->window_ns));
}

/* The earliest elapsed time in a fixed window with `previous` units before
 * it at which `room` more units fit: previous * (W - x) <= room * W, so
 * x = W - floor(room * W / previous), at least 0. W means "not in this
 * window" (the next one starts with this one's count as its previous). */
static inline uint64_t rs__window_counter_first_fit(const rs__window_counter *c,
                                                    uint64_t previous, uint64_t room)
{
    if (previous == 0) {
        return 0;
    }
    return rs__sat_sub(c->window_ns, rs__mul_div(room, c->window_ns, previous));
}

/* The instant at which 1 <= n <= limit units fit, if nothing else is
 * admitted meanwhile, seen from `now_ns`, which lies `elapsed` ns into the
 * fixed window whose counts are (previous, current): true and *at_ns, or
 * false when that instant lies beyond 64-bit time (never). */
static inline bool rs__window_counter_fit_time(const rs__window_counter *c, uint64_t previous,
                                               uint64_t current, uint64_t n, uint64_t now_ns,
                                               uint64_t elapsed, uint64_t *at_ns)
{
    uint64_t window_start = now_ns - elapsed;
    if (rs__window_counter_fits(c, previous, current, n, elapsed)) {
        *at_ns = now_ns;
        return true;
    }
    if (current <= c->limit && n <= c->limit - current) {
        /* Fits later in this window, as the previous window's weight fades
         * (or, at W, when the next one starts). */
        uint64_t room = c->limit - current - n;
        return !__builtin_add_overflow(window_start,
                                       rs__window_counter_first_fit(c, previous, room), at_ns);
    }
    /* Not before the next window, where this one's count fades instead. */
    uint64_t next_start;
    return !__builtin_add_overflow(window_start, c->window_ns, &next_start) &&
           !__builtin_add_overflow(next_start,
                                   rs__window_counter_first_fit(c, current, c->limit - n), at_ns);
}

/* rs__window_counter_fit_time as one instant: UINT64_MAX for never. */
static inline uint64_t rs__window_counter_fit_at(const rs__window_counter *c, uint64_t previous,
                                                 uint64_t current, uint64_t n, uint64_t now_ns,
                                                 uint64_t elapsed)
{
    uint64_t at_ns;
    return rs__window_counter_fit_time(c, previous, current, n, now_ns, elapsed, &at_ns)
               ? at_ns
               : UINT64_MAX;
}

/* The estimate P * (1 - f) + C, rounded up, saturating. */
static inline uint64_t rs__window_counter_estimate(const rs__window_counter *c, uint64_t previous,
                                                   uint64_t current, uint64_t elapsed)
{
    uint64_t weighted = rs__mul_div_ceil(previous, c->window_ns - elapsed, c->window_ns);
    return rs__sat_add(weighted, current);
}

#endif /* RS_CORE_WINDOW_COUNTER_H */
