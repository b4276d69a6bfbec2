#include "open_backoff.h"

#include "random.h"

bool open_backoff_configure(rs_breaker_config *cfg, const rs_backoff_config *open_backoff)
{
    if (open_backoff->base_ns == 0) {
        return false;
    }
#if STORM_LIBRARY_HAS_OPEN_BACKOFF
    cfg->open_backoff = *open_backoff;
    return false;
#else
    /* Long enough that the breaker never ends a period on its own within a
     * run: the shim ends every one. */
    cfg->open_ns = RS_HOUR(24);
    return true;
#endif
}

void open_shim_init(open_shim *s, const rs_backoff_config *open_backoff, uint64_t seed)
{
    s->open_backoff = *open_backoff;
    s->openings = 0;
    s->last_open_ns = 0;
    s->random = seed;
    s->period = 0;
}

uint64_t open_shim_changed(open_shim *s, rs_breaker_state from, rs_breaker_state to,
                           uint64_t now_ns, uint64_t *period)
{
    if (to == RS_BREAKER_CLOSED) {
        s->openings = 0;
        return 0;
    }
    if (to != RS_BREAKER_OPEN) {
        return 0;
    }
    s->openings = from == RS_BREAKER_HALF_OPEN ? s->openings + 1 : 1;
    uint64_t length = rs_backoff_delay(&s->open_backoff, s->openings,
                                       s->openings > 1 ? s->last_open_ns : 0,
                                       random_next(&s->random));
    s->last_open_ns = length;
    *period = ++s->period;
    /* A zero-length period still ends in the future: the policy is in the
     * middle of a call into the breaker right now. */
    return now_ns + (length > 0 ? length : 1);
}

void open_shim_wake(const open_shim *s, rs_breaker *b, uint64_t period, uint64_t now_ns)
{
    if (period == s->period && rs_breaker_state_get(b) == RS_BREAKER_OPEN) {
        rs_breaker_force_at(b, RS_BREAKER_HALF_OPEN, now_ns);
    }
}
