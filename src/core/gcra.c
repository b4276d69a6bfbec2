#include "core/gcra.h"

#include <inttypes.h>
#include <math.h>

/* What rs__gcra_init found wrong, so that callers outside the hot path can
 * say it in words and the rules live in one place. */
typedef enum problem {
    FINE,
    RATE_NOT_POSITIVE, /* NaN, infinite, <= 0 */
    RATE_TOO_HIGH,     /* above 1e9: an interval below 1 ns */
    RATE_TOO_LOW,      /* the interval does not fit in 64 bits */
    BURST_ZERO,
    BURST_TOO_LARGE /* burst * interval overflows */
} problem;

/* ceil(1e9 / rate) as a whole number of ns, for a rate in (0, 1e9]; 0 when
 * it does not fit in 64 bits. */
static uint64_t interval_from_rate(double rate)
{
    double exact = 1e9 / rate;
    if (!(exact < 18446744073709551616.0)) { /* 2^64 */
        return 0;
    }
    double nearest = floor(exact + 0.5);
    double interval = fabs(exact - nearest) <= exact * 1e-12 ? nearest : ceil(exact);
    return interval >= 18446744073709551616.0 ? 0 : rs__sat_from_double(interval);
}

static problem derive(rs__gcra *g, double rate, uint64_t burst, uint64_t *interval)
{
    if (!rs__is_finite_positive(rate)) {
        return RATE_NOT_POSITIVE;
    }
    if (rate > 1e9) {
        return RATE_TOO_HIGH;
    }
    *interval = interval_from_rate(rate);
    if (*interval == 0) {
        return RATE_TOO_LOW;
    }
    uint64_t tau;
    if (burst == 0) {
        return BURST_ZERO;
    }
    if (__builtin_mul_overflow(burst, *interval, &tau)) {
        return BURST_TOO_LARGE;
    }
    *g = (rs__gcra){ *interval, tau, burst };
    return FINE;
}

int rs__gcra_init(rs__gcra *g, double rate, uint64_t burst)
{
    uint64_t interval;
    return derive(g, rate, burst, &interval) == FINE ? RS_OK : RS_E_INVAL;
}

int rs__gcra_init_named(rs__gcra *g, double rate, uint64_t burst, const char *rate_name,
                        const char *burst_name)
{
    uint64_t interval = 0;
    switch (derive(g, rate, burst, &interval)) {
    case FINE:
        return RS_OK;
    case RATE_NOT_POSITIVE:
        return rs_set_last_error(RS_E_INVAL, "%s: %g, must be finite and > 0", rate_name, rate);
    case RATE_TOO_HIGH:
        return rs_set_last_error(RS_E_INVAL, "%s: %g, must be <= 1e9 (one token per ns)",
                                 rate_name, rate);
    case RATE_TOO_LOW:
        return rs_set_last_error(RS_E_INVAL,
                                 "%s: %g, too low: its interval 1e9 / rate must fit in 64-bit ns",
                                 rate_name, rate);
    case BURST_ZERO:
        return rs_set_last_error(RS_E_INVAL, "%s: 0, must be >= 1", burst_name);
    case BURST_TOO_LARGE:
        return rs_set_last_error(RS_E_INVAL,
                                 "%s: %" PRIu64 ", too large: burst * interval (%" PRIu64
                                 " ns per token) overflows 64-bit ns",
                                 burst_name, burst, interval);
    }
    return RS_E_INVAL;
}

double rs__gcra_available(const rs__gcra *g, uint64_t tat_ns, uint64_t now)
{
    uint64_t debt = rs__sat_sub(tat_ns, now);
    /* Split into whole tokens and a fraction so that large bursts keep every
     * digit a double can hold. */
    double whole, fraction;
    if (debt <= g->tau_ns) {
        /* Time ends at UINT64_MAX: tokens whose TAT would pass it are never
         * granted (rs__gcra_judge), so they are not available either. */
        uint64_t room = rs__min_u64(g->tau_ns - debt, UINT64_MAX - rs__max_u64(tat_ns, now));
        whole = (double)(room / g->interval_ns);
        fraction = (double)(room % g->interval_ns) / (double)g->interval_ns;
    } else {
        uint64_t owed = debt - g->tau_ns;
        whole = -(double)(owed / g->interval_ns);
        fraction = -(double)(owed % g->interval_ns) / (double)g->interval_ns;
    }
    return whole + fraction;
}
