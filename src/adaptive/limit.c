/* The adaptive concurrency limit: AIMD and gradient, one window at a time.
 *
 * Samples accumulate in a window of about one round trip; when it closes
 * the limit moves once, from the window's mean latency, its largest number
 * of calls in flight and whether any call was throttled. Deciding per
 * window rather than per sample keeps a burst of answers to one overload
 * (every call in flight coming back 429 at once) from counting as many
 * overloads, as TCP reduces its window once per round trip.
 *
 * The window's sums and the limit change together, so a sample takes a
 * spinlock for a few dozen instructions; the limit itself is published in
 * an atomic word that readers (the bulkhead) load without the lock. The
 * reasoning behind every constant is in docs/adaptive.md. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/lock.h"
#include "resilience/adaptive.h"

/* The floor is the latency with no queue, and only the calls show it: a
 * queue that never empties hides it, and the limit the gradient holds keeps
 * a small queue. So when no window has come within FLOOR_CONFIRM of the
 * floor for FLOOR_PROBE_NS, the limit drops to PROBE_SHARE of itself for a
 * round trip (as BBR's ProbeRTT): the queue drains, and the next window's
 * latency becomes the floor, lower or higher. Lower: the floor had crept up
 * with a queue. Higher: the server became slower for good, and the old
 * floor would hold the limit down forever. A probe that did not drain the
 * whole queue leaves the floor too high, and the next one, lower, corrects
 * it. It costs about a round trip at three quarters of the limit every few
 * seconds: a fraction of a percent of the throughput. */
#define FLOOR_CONFIRM 1.05
#define FLOOR_PROBE_NS RS_SEC(5)
#define PROBE_SHARE 0.75

/* Never shrink below half in one window: one slow window (a garbage
 * collection, a noisy neighbour) must not throw away most of the limit. */
#define MIN_GRADIENT 0.5

struct rs_adaptive_limit {
    rs__atomic_u32 published; /* the limit, as readers see it */
    rs__spinlock lock;
    rs_adaptive_limit_config cfg;
    const rs_clock *clock;
    /* Under the lock. */
    double estimate;   /* the limit with its fraction */
    double floor_ns;   /* the latency floor; 0 = none yet */
    double latency_ns; /* the last judged window's mean */
    uint64_t window_start_ns;
    uint64_t floor_seen_ns;   /* the last window near the floor */
    bool probing;             /* the next judged window measures the floor */
    uint64_t reduced_ns;      /* the last reduction: calls sent before it are stale */
    bool reduced;
    uint32_t window_count;    /* samples of any outcome */
    uint32_t window_measured; /* successes, whose latency counts */
    uint32_t window_in_flight; /* the most in flight seen */
    double window_rtt_sum_ns;
    bool window_throttled;
    uint64_t samples, throttled, windows, throttled_windows;
};

static int invalid_field(const char *field, const char *why)
{
    return rs_set_last_error(RS_E_INVAL, "rs_adaptive_limit_config.%s: %s", field, why);
}

int rs_adaptive_limit_config_validate(const rs_adaptive_limit_config *cfg)
{
    if (cfg == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_adaptive_limit_config: NULL");
    }
    if (cfg->algorithm != RS_ADAPTIVE_GRADIENT && cfg->algorithm != RS_ADAPTIVE_AIMD) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_adaptive_limit_config.algorithm: %d is not an "
                                 "rs_adaptive_algorithm",
                                 (int)cfg->algorithm);
    }
    if (cfg->min_limit == 0) {
        return invalid_field("min_limit", "0, must be >= 1");
    }
    if (cfg->max_limit < cfg->min_limit || cfg->max_limit > RS_ADAPTIVE_MAX_LIMIT) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_adaptive_limit_config.max_limit: %u, must be in "
                                 "[min_limit (%u), %u]",
                                 cfg->max_limit, cfg->min_limit, RS_ADAPTIVE_MAX_LIMIT);
    }
    if (cfg->initial_limit < cfg->min_limit || cfg->initial_limit > cfg->max_limit) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_adaptive_limit_config.initial_limit: %u, must be in "
                                 "[%u, %u]",
                                 cfg->initial_limit, cfg->min_limit, cfg->max_limit);
    }
    if (!(cfg->backoff > 0.0 && cfg->backoff < 1.0)) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_adaptive_limit_config.backoff: %g, must be in (0, 1)",
                                 cfg->backoff);
    }
    if (!(cfg->increase > 0.0 && cfg->increase <= (double)cfg->max_limit)) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_adaptive_limit_config.increase: %g, must be in (0, max_limit]",
                                 cfg->increase);
    }
    if (!(cfg->growth > 0.0 && cfg->growth <= 1.0)) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_adaptive_limit_config.growth: %g, must be in (0, 1]",
                                 cfg->growth);
    }
    if (!(cfg->tolerance >= 1.0 && isfinite(cfg->tolerance))) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_adaptive_limit_config.tolerance: %g, must be finite and >= 1",
                                 cfg->tolerance);
    }
    if (cfg->window_samples == 0) {
        return invalid_field("window_samples", "0, must be >= 1");
    }
    if (cfg->max_window_ns == 0) {
        return invalid_field("max_window_ns", "0, must be > 0");
    }
    return RS_OK;
}

int rs_adaptive_limit_new(const rs_adaptive_limit_config *cfg, const rs_clock *clock,
                          rs_adaptive_limit **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_adaptive_limit_new: out is NULL");
    }
    int rc = rs_adaptive_limit_config_validate(cfg);
    if (rc != RS_OK) {
        return rc;
    }
    rs_adaptive_limit *l = rs__calloc(1, sizeof *l);
    if (l == NULL) {
        return RS_E_NOMEM;
    }
    l->cfg = *cfg;
    l->clock = clock != NULL ? clock : rs_clock_system();
    l->estimate = cfg->initial_limit;
    rs__spin_init(&l->lock);
    atomic_init(&l->published, cfg->initial_limit);
    *out = l;
    return RS_OK;
}

void rs_adaptive_limit_free(rs_adaptive_limit *l)
{
    rs__free(l);
}

/* The gradient's judgement of one window's latency: the new limit. */
static double judge_latency(rs_adaptive_limit *l, double limit, uint64_t now_ns)
{
    const rs_adaptive_limit_config *cfg = &l->cfg;
    /* Too few answers for a steady mean: hold rather than react to noise. */
    if (2 * (uint64_t)l->window_measured < cfg->window_samples) {
        return limit;
    }
    double latency = l->window_rtt_sum_ns / l->window_measured;
    l->latency_ns = latency;
    if (l->floor_ns == 0.0 || latency < l->floor_ns || l->probing) {
        l->floor_ns = latency;
        l->probing = false;
    }
    if (latency <= l->floor_ns * FLOOR_CONFIRM || l->floor_seen_ns == 0) {
        l->floor_seen_ns = now_ns;
    } else if (now_ns - l->floor_seen_ns >= FLOOR_PROBE_NS) {
        l->floor_seen_ns = now_ns;
        l->probing = true;
        return limit * PROBE_SHARE;
    }
    /* Little's law: once the server is full, calls in flight grow latency
     * in proportion, so limit * tolerance / ratio calls would bring it to
     * `tolerance` times the floor: a small queue, the server never idle.
     * Below that the same ratio grows the limit, by at most `growth` a
     * window (and at least one call, or small limits would crawl), unless
     * most of the limit went unused: then latency proves nothing. */
    double gradient = fmax(MIN_GRADIENT, fmin(1.0 + cfg->growth, cfg->tolerance / latency *
                                                                      l->floor_ns));
    if (gradient < 1.0) {
        return limit * gradient;
    }
    if (2.0 * l->window_in_flight < limit) {
        return limit;
    }
    return gradient > 1.0 ? fmax(limit * gradient, limit + 1.0) : limit;
}

static void close_window(rs_adaptive_limit *l, uint64_t now_ns)
{
    const rs_adaptive_limit_config *cfg = &l->cfg;
    double limit = l->estimate;
    l->windows++;
    if (l->window_throttled) {
        l->throttled_windows++;
        limit *= cfg->backoff;
    } else if (cfg->algorithm == RS_ADAPTIVE_AIMD) {
        if (2.0 * l->window_in_flight >= limit) {
            limit += cfg->increase;
        }
    } else {
        limit = judge_latency(l, limit, now_ns);
    }
    limit = fmin((double)cfg->max_limit, fmax((double)cfg->min_limit, limit));
    if (limit < l->estimate) {
        l->reduced = true;
        l->reduced_ns = now_ns;
    }
    l->estimate = limit;
    l->window_count = 0;
    l->window_measured = 0;
    l->window_in_flight = 0;
    l->window_rtt_sum_ns = 0.0;
    l->window_throttled = false;
}

uint32_t rs_adaptive_limit_sample_at(rs_adaptive_limit *l, uint64_t rtt_ns, uint32_t in_flight,
                                     rs_outcome outcome, uint64_t now_ns)
{
    if (l == NULL) {
        return 0;
    }
    const rs_adaptive_limit_config *cfg = &l->cfg;
    bool throttled = outcome == RS_OUTCOME_THROTTLED ||
                     (cfg->timeout_ns != 0 && rtt_ns > cfg->timeout_ns);
    rs__spin_lock(&l->lock);
    l->samples++;
    l->throttled += throttled ? 1u : 0u;
    if (in_flight > l->window_in_flight) {
        l->window_in_flight = in_flight;
    }
    /* A call sent before the last reduction ran under the old limit: its
     * latency and its throttle say nothing new, and counting them would
     * reduce again for the same overload (once per round trip, as TCP). */
    if (l->reduced && rs__sat_sub(now_ns, rtt_ns) < l->reduced_ns) {
        uint32_t stale = (uint32_t)l->estimate;
        rs__spin_unlock(&l->lock);
        return stale;
    }
    if (l->window_count == 0) {
        l->window_start_ns = now_ns;
    }
    l->window_count++;
    if (throttled) {
        l->window_throttled = true;
    } else if (outcome == RS_OUTCOME_SUCCESS) {
        l->window_measured++;
        l->window_rtt_sum_ns += (double)rtt_ns;
    }
    /* About one round trip: as many answers as the limit lets out at once. */
    uint32_t size = rs__max_u32(cfg->window_samples, (uint32_t)l->estimate);
    if (l->window_count >= size ||
        rs__sat_sub(now_ns, l->window_start_ns) >= cfg->max_window_ns) {
        close_window(l, now_ns);
    }
    uint32_t limit = (uint32_t)l->estimate;
    atomic_store_explicit(&l->published, limit, memory_order_relaxed);
    rs__spin_unlock(&l->lock);
    return limit;
}

uint32_t rs_adaptive_limit_sample(rs_adaptive_limit *l, uint64_t rtt_ns, uint32_t in_flight,
                                  rs_outcome outcome)
{
    return l != NULL ? rs_adaptive_limit_sample_at(l, rtt_ns, in_flight, outcome,
                                                   rs_clock_now(l->clock))
                     : 0;
}

uint32_t rs_adaptive_limit_get(const rs_adaptive_limit *l)
{
    return l != NULL ? atomic_load_explicit(&((rs_adaptive_limit *)l)->published,
                                            memory_order_relaxed)
                     : 0;
}

int rs_adaptive_limit_metrics(rs_adaptive_limit *l, rs_adaptive_limit_snapshot *m)
{
    if (l == NULL || m == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_adaptive_limit_metrics: %s is NULL",
                                 l == NULL ? "l" : "m");
    }
    rs_adaptive_limit_snapshot snap = { 0 };
    snap.min_limit = l->cfg.min_limit;
    snap.max_limit = l->cfg.max_limit;
    rs__spin_lock(&l->lock);
    snap.limit = (uint32_t)l->estimate;
    snap.estimate = l->estimate;
    snap.floor_ns = rs__sat_from_double(l->floor_ns);
    snap.latency_ns = rs__sat_from_double(l->latency_ns);
    snap.samples = l->samples;
    snap.throttled = l->throttled;
    snap.windows = l->windows;
    snap.throttled_windows = l->throttled_windows;
    rs__spin_unlock(&l->lock);
    *m = snap;
    return RS_OK;
}

const rs_clock *rs_adaptive_limit_clock(const rs_adaptive_limit *l)
{
    return l != NULL ? l->clock : NULL;
}
