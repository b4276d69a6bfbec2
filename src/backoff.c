#include "resilience/backoff.h"

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

int rs_backoff_config_validate(const rs_backoff_config *cfg)
{
    if (cfg == NULL || cfg->base_ns == 0 || cfg->base_ns > cfg->max_ns) {
        return RS_E_INVAL;
    }
    if (!isfinite(cfg->multiplier) || !(cfg->multiplier >= 1.0)) {
        return RS_E_INVAL;
    }
    switch (cfg->jitter) {
    case RS_JITTER_NONE:
    case RS_JITTER_FULL:
    case RS_JITTER_EQUAL:
    case RS_JITTER_DECORRELATED:
        return RS_OK;
    }
    return RS_E_INVAL;
}

/* min(max_ns, base_ns * multiplier^(attempt-1)) without ever overflowing. */
static uint64_t exponential(const rs_backoff_config *cfg, uint32_t attempt)
{
    uint32_t doublings = attempt - 1;
    if (cfg->multiplier == 2.0) {
        /* Exact integer path for the common case. */
        if (doublings >= 64 || cfg->base_ns > (cfg->max_ns >> doublings)) {
            return cfg->max_ns;
        }
        return cfg->base_ns << doublings;
    }
    double grown = (double)cfg->base_ns * pow(cfg->multiplier, (double)doublings);
    if (!(grown < (double)cfg->max_ns)) {
        return cfg->max_ns;
    }
    return rs__min_u64(rs__sat_from_double(grown), cfg->max_ns);
}

uint64_t rs_backoff_delay(const rs_backoff_config *cfg, uint32_t attempt, uint64_t prev_ns,
                          uint64_t random)
{
    if (attempt == 0 || rs_backoff_config_validate(cfg) != RS_OK) {
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
    if (out == NULL || rs_backoff_config_validate(cfg) != RS_OK) {
        return RS_E_INVAL;
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
