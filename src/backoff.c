#include "resilience/backoff.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/rng.h"

struct rs_backoff {
    rs_backoff_config cfg;
    rs__rng rng;
    rs__atomic_u64 prev_ns; /* last decorrelated delay */
};

/* RS_E_INVAL, naming the field in rs_last_error() only when `explain`:
 * rs_backoff_delay() is a pure function and says nothing. */
#define REFUSE(explain, ...) ((explain) ? rs_set_last_error(RS_E_INVAL, __VA_ARGS__) : RS_E_INVAL)

static int check(const rs_backoff_config *cfg, bool explain)
{
    if (cfg == NULL) {
        return REFUSE(explain, "cfg: NULL");
    }
    if (cfg->base_ns == 0) {
        return REFUSE(explain, "rs_backoff_config.base_ns: 0, must be > 0");
    }
    if (cfg->base_ns > cfg->max_ns) {
        return REFUSE(explain,
                      "rs_backoff_config.max_ns: %" PRIu64 ", must be >= base_ns (%" PRIu64 ")",
                      cfg->max_ns, cfg->base_ns);
    }
    if (!isfinite(cfg->multiplier) || !(cfg->multiplier >= 1.0)) {
        return REFUSE(explain, "rs_backoff_config.multiplier: %g, must be finite and >= 1",
                      cfg->multiplier);
    }
    switch (cfg->jitter) {
    case RS_JITTER_NONE:
    case RS_JITTER_FULL:
    case RS_JITTER_EQUAL:
    case RS_JITTER_DECORRELATED:
        return RS_OK;
    }
    return REFUSE(explain, "rs_backoff_config.jitter: %d, not an rs_jitter", (int)cfg->jitter);
}

int rs_backoff_config_validate(const rs_backoff_config *cfg)
{
    return check(cfg, true);
}

/* ---- base_ns * multiplier^k for any multiplier --------------------------
 * In double-double arithmetic: a value is hi + lo, two doubles, about 106
 * bits, and a product is made exact with fma. A plain double would round
 * any base above 2^53 (the first delay of a base of 2^62 - 1 came out as
 * 2^62) and lose a nanosecond or two to pow() below it. */

#define TWO_POW_64 18446744073709551616.0

typedef struct wide_double {
    double hi;
    double lo;
} wide_double;

/* hi + lo with |hi| >= |lo|, renormalised so that lo is hi's rounding error. */
static wide_double wide_sum(double hi, double lo)
{
    double sum = hi + lo;
    return (wide_double){ sum, lo - (sum - hi) };
}

static wide_double wide_product(wide_double a, wide_double b)
{
    double product = a.hi * b.hi;
    double error = fma(a.hi, b.hi, -product) + (a.hi * b.lo + a.lo * b.hi);
    return wide_sum(product, error);
}

static wide_double wide_from_u64(uint64_t n)
{
    /* Two parts of at most 53 significant bits each: both exact doubles. */
    uint64_t low = n & 0x7ffu;
    return wide_sum((double)(n - low), (double)low);
}

/* The nearest whole number to x >= 1 (halves up), UINT64_MAX at or past 2^64. */
static uint64_t wide_round(wide_double x)
{
    if (!(x.hi < TWO_POW_64)) {
        return UINT64_MAX;
    }
    double whole = floor(x.hi);
    double adjust = floor((x.hi - whole) + x.lo + 0.5); /* a small whole number */
    uint64_t n = (uint64_t)whole;
    return adjust >= 0.0 ? rs__sat_add(n, (uint64_t)adjust) : n - (uint64_t)-adjust;
}

/* base * m^k rounded to the nearest ns, saturating, for m >= 1. */
static uint64_t grow(uint64_t base, double m, uint32_t k)
{
    wide_double power = { 1.0, 0.0 }, factor = { m, 0.0 };
    /* Square and multiply. m >= 1, so every factor still to be multiplied
     * in is >= 1: once one reaches 2^64, so does the result. */
    for (;;) {
        if (k & 1u) {
            power = wide_product(power, factor);
        }
        k >>= 1;
        if (k == 0) {
            break;
        }
        factor = wide_product(factor, factor);
        if (!(factor.hi < TWO_POW_64)) {
            return UINT64_MAX;
        }
    }
    return wide_round(wide_product(wide_from_u64(base), power));
}

/* min(max_ns, base_ns * multiplier^(attempt-1)) without ever overflowing:
 * exact for multipliers 1 and 2, otherwise rounded to the nearest ns. */
static uint64_t exponential(const rs_backoff_config *cfg, uint32_t attempt)
{
    uint32_t doublings = attempt - 1;
    if (cfg->multiplier == 2.0) {
        /* The common case, in integers. */
        if (doublings >= 64 || cfg->base_ns > (cfg->max_ns >> doublings)) {
            return cfg->max_ns;
        }
        return cfg->base_ns << doublings;
    }
    if (doublings == 0 || cfg->multiplier == 1.0) {
        return cfg->base_ns;
    }
    return rs__min_u64(grow(cfg->base_ns, cfg->multiplier, doublings), cfg->max_ns);
}

uint64_t rs_backoff_delay(const rs_backoff_config *cfg, uint32_t attempt, uint64_t prev_ns,
                          uint64_t random)
{
    if (attempt == 0 || check(cfg, false) != RS_OK) {
        return 0;
    }
    uint64_t ceiling;
    switch (cfg->jitter) {
    case RS_JITTER_NONE:
        return exponential(cfg, attempt);
    case RS_JITTER_FULL:
        return rs__scale_random(random, exponential(cfg, attempt));
    case RS_JITTER_EQUAL:
        ceiling = exponential(cfg, attempt);
        return (ceiling - ceiling / 2) + rs__scale_random(random, ceiling / 2);
    case RS_JITTER_DECORRELATED:
        ceiling = rs__sat_mul(rs__max_u64(prev_ns, cfg->base_ns), 3);
        return rs__min_u64(cfg->max_ns,
                           cfg->base_ns + rs__scale_random(random, ceiling - cfg->base_ns));
    }
    return 0;
}

int rs_backoff_new(const rs_backoff_config *cfg, rs_backoff **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "out: NULL");
    }
    int status = check(cfg, true);
    if (status != RS_OK) {
        return status;
    }
    rs_backoff *b = rs__malloc(sizeof *b);
    if (b == NULL) {
        return RS_E_NOMEM;
    }
    b->cfg = *cfg;
    rs__rng_seed(&b->rng, cfg->seed);
    atomic_init(&b->prev_ns, cfg->base_ns);
    *out = b;
    return RS_OK;
}

void rs_backoff_free(rs_backoff *b)
{
    rs__free(b);
}

uint64_t rs_backoff_next(rs_backoff *b, uint32_t attempt)
{
    if (b == NULL || attempt == 0) {
        return 0;
    }
    uint64_t random = rs__rng_next(&b->rng);
    if (b->cfg.jitter != RS_JITTER_DECORRELATED) {
        return rs_backoff_delay(&b->cfg, attempt, 0, random);
    }
    /* Attempt 1 begins a new retry loop, so it restarts from base_ns. */
    uint64_t prev = attempt == 1 ? b->cfg.base_ns
                                 : atomic_load_explicit(&b->prev_ns, memory_order_relaxed);
    uint64_t delay = rs_backoff_delay(&b->cfg, attempt, prev, random);
    atomic_store_explicit(&b->prev_ns, delay, memory_order_relaxed);
    return delay;
}

void rs_backoff_reset(rs_backoff *b)
{
    if (b != NULL) {
        atomic_store_explicit(&b->prev_ns, b->cfg.base_ns, memory_order_relaxed);
    }
}
