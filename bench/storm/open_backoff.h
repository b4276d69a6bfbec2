/* The breaker whose open time grows and is jittered: the k-th consecutive
 * open period lasts rs_backoff_delay(&open_backoff, k, previous, random),
 * k = 1 after a trip from CLOSED, k + 1 after each reopening from
 * HALF_OPEN, back to 1 once the breaker has closed.
 *
 * The library is getting exactly that as rs_breaker_config.open_backoff;
 * until it lands, the simulator plays it with a shim around today's
 * breaker: the breaker's own open time is made endless, and the fleet
 * forces HALF_OPEN at the instant the candidate's open period ends. One
 * difference: while OPEN, the policy asks the breaker whether a retry due
 * later would still be refused, and the shim's breaker says yes even when
 * the candidate's period would be over by then, so a call whose attempt
 * tripped the breaker ends at once instead of waiting to probe.
 *
 * Once open_backoff is on main, set this to 1: the field is used and the
 * shim is never installed. */
#ifndef STORM_OPEN_BACKOFF_H
#define STORM_OPEN_BACKOFF_H

#define STORM_LIBRARY_HAS_OPEN_BACKOFF 0

#include <stdbool.h>
#include <stdint.h>

#include <resilience.h>

/* Gives `cfg` growing, jittered open times (`open_backoff->base_ns` 0 =
 * keep the fixed open_ns). True when the shim must drive the breaker. */
bool open_backoff_configure(rs_breaker_config *cfg, const rs_backoff_config *open_backoff);

typedef struct open_shim {
    rs_backoff_config open_backoff;
    uint32_t openings;       /* k: consecutive open periods since the breaker last closed */
    uint64_t last_open_ns;   /* the previous period, for decorrelated jitter */
    uint64_t random;         /* the jitter's stream */
    uint64_t period;         /* numbers open periods: a wake-up for an old one is stale */
} open_shim;

void open_shim_init(open_shim *s, const rs_backoff_config *open_backoff, uint64_t seed);

/* The breaker moved from `from` to `to` at `now_ns`. For a new open
 * period, returns the instant it ends and sets *period to its number: call
 * open_shim_wake() then. Otherwise returns 0. */
uint64_t open_shim_changed(open_shim *s, rs_breaker_state from, rs_breaker_state to,
                           uint64_t now_ns, uint64_t *period);

/* Ends open period `period` of breaker `b` by moving it to HALF_OPEN, if it
 * is still the current one. */
void open_shim_wake(const open_shim *s, rs_breaker *b, uint64_t period, uint64_t now_ns);

#endif /* STORM_OPEN_BACKOFF_H */
