#include "core/gcra.h"

#include <math.h>


/* ceil(1e9 / rate) as a whole number of ns, or 0 when out of range. */
static uint64_t interval_from_rate(double rate)
{
    if (!rs__is_finite_positive(rate) || rate > 1e9) {
        return 0;
    }
    double exact = 1e9 / rate;
    if (!(exact < 18446744073709551616.0)) { /* 2^64 */
        return 0;
    }
    double nearest = floor(exact + 0.5);
    double interval = fabs(exact - nearest) <= exact * 1e-12 ? nearest : ceil(exact);
    return interval >= 18446744073709551616.0 ? 0 : rs__sat_from_double(interval);
}

int rs__gcra_init(rs__gcra *g, double rate, uint64_t burst)
{
    uint64_t interval = interval_from_rate(rate);
    uint64_t tau;
    if (interval == 0 || burst == 0 || __builtin_mul_overflow(burst, interval, &tau)) {
        return RS_E_INVAL;
    }
    *g = (rs__gcra){ interval, tau, burst };
    return RS_OK;
}

double rs__gcra_available(const rs__gcra *g, uint64_t tat_ns, uint64_t now)
{
    uint64_t debt = rs__sat_sub(tat_ns, now);
    /* Split into whole tokens and a fraction so that large bursts keep every
     * digit a double can hold. */
    double whole, fraction;
    if (debt <= g->tau_ns) {
        uint64_t room = g->tau_ns - debt;
        whole = (double)(room / g->interval_ns);
        fraction = (double)(room % g->interval_ns) / (double)g->interval_ns;
    } else {
        uint64_t owed = debt - g->tau_ns;
        whole = -(double)(owed / g->interval_ns);
        fraction = -(double)(owed % g->interval_ns) / (double)g->interval_ns;
    }
    return whole + fraction;
}
