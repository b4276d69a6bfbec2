/* The policy object: configuration, the shared retry budget, counters. The
 * per-call logic is in call.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/arith.h"
#include "internal.h"

/* Retry budget tokens are counted in millionths, so that small ratios
 * (one retry per 10,000 successes) still refill it exactly. */
#define MICRO 1000000.0

static int invalid(const char *field, const char *why)
{
    return rs_set_last_error(RS_E_INVAL, "rs_policy_config.%s: %s", field, why);
}

static int check_retry(const rs_retry_config *retry)
{
    if (retry->max_attempts == 0) {
        return invalid("retry.max_attempts", "0, must be >= 1");
    }
    if (rs_backoff_config_validate(&retry->backoff) != RS_OK) {
        return rs__error_nest(RS_E_INVAL, "rs_policy_config.retry.backoff");
    }
    double ratio = retry->budget_ratio;
    if (!isfinite(ratio) || ratio < 0.0 || (ratio > 0.0 && (ratio * MICRO < 1.0 || ratio > 1e9))) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_policy_config.retry.budget_ratio: %g, must be 0 (off) "
                                 "or in [1e-6, 1e9]",
                                 ratio);
    }
    if (!(retry->retry_after_jitter >= 0.0 && retry->retry_after_jitter <= 10.0)) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_policy_config.retry.retry_after_jitter: %g is outside [0, 10]",
                                 retry->retry_after_jitter);
    }
    double size = retry->budget_max_tokens;
    if (ratio > 0.0 && !(size >= 1.0 && size <= 1e9)) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_policy_config.retry.budget_max_tokens: %g, must be in "
                                 "[1, 1e9] while the retry budget is on",
                                 size);
    }
    return RS_OK;
}

/* A module that answers a clock must answer the policy's: it is given the
 * policy's time, and its waits are slept on the policy's clock. */
static bool on_other_clock(const rs_clock *module_clock, const rs_clock *clock)
{
    return module_clock != NULL && module_clock != clock;
}

static int check_limits(const rs_policy_config *cfg, const rs_clock *clock, bool *counts_tokens)
{
    char field[32];
    for (size_t i = 0; i < RS_POLICY_MAX_LIMITS; i++) {
        const rs_limit *l = &cfg->limits[i];
        if (l->limiter.ops == NULL) {
            continue;
        }
        (void)snprintf(field, sizeof field, "limits[%zu]", i);
        if (l->limiter.ops->acquire == NULL) {
            return invalid(field, "the limiter has no acquire operation");
        }
        if (l->units != RS_UNITS_REQUESTS && l->units != RS_UNITS_TOKENS) {
            return rs_set_last_error(RS_E_INVAL, "rs_policy_config.%s.units: %d is not an rs_units",
                                     field, (int)l->units);
        }
        if (on_other_clock(rs_limiter_clock(&l->limiter), clock)) {
            return rs_set_last_error(RS_E_INVAL,
                                     "rs_policy_config.%s: the %s runs on another clock than "
                                     "the policy's",
                                     field, l->limiter.ops->name != NULL ? l->limiter.ops->name
                                                                         : "limiter");
        }
        *counts_tokens = *counts_tokens || l->units == RS_UNITS_TOKENS;
    }
    return RS_OK;
}

int rs__policy_config_check(const rs_policy_config *cfg, const rs_clock *clock,
                            bool will_charge_tokens)
{
    if (cfg == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_policy_config: NULL");
    }
    clock = clock != NULL ? clock : rs_clock_system();
    int rc = check_retry(&cfg->retry);
    bool charges_tokens = will_charge_tokens;
    if (rc == RS_OK) {
        rc = check_limits(cfg, clock, &charges_tokens);
    }
    if (rc != RS_OK) {
        return rc;
    }
    if (cfg->breaker != NULL && on_other_clock(rs_breaker_clock(cfg->breaker), clock)) {
        return invalid("breaker", "runs on another clock than the policy's");
    }
    if (cfg->bulkhead != NULL && on_other_clock(rs_bulkhead_clock(cfg->bulkhead), clock)) {
        return invalid("bulkhead", "runs on another clock than the policy's");
    }
    if (cfg->adaptive_rate != NULL &&
        on_other_clock(rs_adaptive_rate_clock(cfg->adaptive_rate), clock)) {
        return invalid("adaptive_rate", "runs on another clock than the policy's");
    }
    if (cfg->account.ops != NULL) {
        if (cfg->account.ops->reserve == NULL) {
            return invalid("account", "the account has no reserve operation");
        }
        if (on_other_clock(rs_account_clock(&cfg->account), clock)) {
            return invalid("account", "runs on another clock than the policy's");
        }
        charges_tokens = true;
    }
    /* An estimate of 0 would reserve nothing, and count nothing. */
    if (charges_tokens && cfg->token_estimate == 0) {
        return invalid("token_estimate", "0 while an account or a token limit charges it");
    }
    return RS_OK;
}

int rs_policy_config_validate(const rs_policy_config *cfg, const rs_clock *clock)
{
    return rs__policy_config_check(cfg, clock, false);
}

int rs_policy_new(const rs_policy_config *cfg, const rs_clock *clock, rs_policy **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_policy_new: out is NULL");
    }
    int rc = rs_policy_config_validate(cfg, clock);
    if (rc != RS_OK) {
        return rc;
    }
    /* The counters' shards need the policy on a cache-line boundary. */
    size_t name_size = cfg->name != NULL ? strlen(cfg->name) + 1 : 1;
    rs_policy *p = rs__malloc_aligned(sizeof *p + name_size, _Alignof(rs_policy));
    if (p == NULL) {
        return RS_E_NOMEM;
    }
    memset(p, 0, sizeof *p); /* the counters included */
    memcpy(p->name, cfg->name != NULL ? cfg->name : "", name_size);
    p->cfg = *cfg;
    p->cfg.name = p->name; /* the caller's string need not outlive the policy */
    p->clock = clock != NULL ? clock : rs_clock_system();
    if (cfg->adaptive_rate != NULL) {
        /* First: the rate paces every attempt the limits then judge. */
        p->limits[p->limit_count++] =
            (rs_limit){ rs_adaptive_rate_limiter(cfg->adaptive_rate), RS_UNITS_REQUESTS };
    }
    for (size_t i = 0; i < RS_POLICY_MAX_LIMITS; i++) {
        if (cfg->limits[i].limiter.ops != NULL) {
            p->limits[p->limit_count++] = cfg->limits[i];
        }
    }
    const rs_retry_config *retry = &cfg->retry;
    rs__rng_seed(&p->rng, retry->backoff.seed);
    if (retry->budget_ratio > 0.0) {
        p->retry_max_micro = rs__sat_from_double(retry->budget_max_tokens * MICRO);
        p->retry_ratio_micro = rs__sat_from_double(retry->budget_ratio * MICRO);
    }
    atomic_init(&p->retry_micro_tokens, p->retry_max_micro);
    atomic_init(&p->pause_until_ns, 0);
    atomic_init(&p->pause_length_ns, 0);
    *out = p;
    return RS_OK;
}

void rs_policy_free(rs_policy *p)
{
    rs__free_aligned(p);
}

const rs_clock *rs_policy_clock(const rs_policy *p)
{
    return p != NULL ? p->clock : NULL;
}

bool rs__policy_retry_allowed_after_failure(rs_policy *p)
{
    if (p->retry_max_micro == 0) {
        return true;
    }
    uint64_t old = atomic_load_explicit(&p->retry_micro_tokens, memory_order_relaxed);
    uint64_t next;
    do {
        next = rs__sat_sub(old, (uint64_t)MICRO);
    } while (!atomic_compare_exchange_weak_explicit(&p->retry_micro_tokens, &old, next,
                                                    memory_order_relaxed, memory_order_relaxed));
    return next > p->retry_max_micro / 2;
}

void rs__policy_record_success(rs_policy *p)
{
    if (p->retry_max_micro == 0) {
        return;
    }
    uint64_t old = atomic_load_explicit(&p->retry_micro_tokens, memory_order_relaxed);
    uint64_t next;
    do {
        next = rs__min_u64(rs__sat_add(old, p->retry_ratio_micro), p->retry_max_micro);
    } while (old != next &&
             !atomic_compare_exchange_weak_explicit(&p->retry_micro_tokens, &old, next,
                                                    memory_order_relaxed, memory_order_relaxed));
}

uint64_t rs__policy_pause(rs_policy *p, uint64_t pause_ns, uint64_t now_ns)
{
    if (pause_ns == 0) {
        return 0;
    }
    uint64_t cap = p->cfg.retry.max_retry_after_ns;
    uint64_t until = rs__sat_add(now_ns, cap != 0 ? rs__min_u64(pause_ns, cap) : pause_ns);
    uint64_t old = atomic_load_explicit(&p->pause_until_ns, memory_order_relaxed);
    while (old < until) {
        if (atomic_compare_exchange_weak_explicit(&p->pause_until_ns, &old, until,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            /* Only the jitter's scale: a racing longer pause may pair its
             * end with this length, which spreads a little less. */
            atomic_store_explicit(&p->pause_length_ns, until - now_ns, memory_order_relaxed);
            RS__POLICY_COUNT(p, server_pauses, 1);
            return until - now_ns;
        }
    }
    return 0;
}

uint64_t rs__policy_pause_until(rs_policy *p)
{
    return atomic_load_explicit(&p->pause_until_ns, memory_order_relaxed);
}

uint64_t rs__policy_pause_jitter(rs_policy *p, uint64_t wait_ns)
{
    double spread = p->cfg.retry.retry_after_jitter * (double)wait_ns;
    uint64_t range = rs__sat_from_double(spread);
    return range == 0 ? 0 : rs__rng_next(&p->rng) % rs__sat_add(range, 1);
}

uint64_t rs__policy_pause_length(rs_policy *p)
{
    return atomic_load_explicit(&p->pause_length_ns, memory_order_relaxed);
}

int rs_policy_metrics_at(rs_policy *p, rs_policy_snapshot *m, uint64_t now_ns)
{
    if (p == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    rs_policy_snapshot snap = { 0 };
    const rs__policy_counters *c = p->counters;
    RS__TALLY_SUM(snap.calls, c, calls);
    RS__TALLY_SUM(snap.successes, c, successes);
    RS__TALLY_SUM(snap.failures, c, failures);
    RS__TALLY_SUM(snap.exhausted, c, exhausted);
    RS__TALLY_SUM(snap.timeouts, c, timeouts);
    RS__TALLY_SUM(snap.attempts, c, attempts);
    RS__TALLY_SUM(snap.retries, c, retries);
    RS__TALLY_SUM(snap.rejected_limiter, c, rejected_limiter);
    RS__TALLY_SUM(snap.rejected_breaker, c, rejected_breaker);
    RS__TALLY_SUM(snap.rejected_budget, c, rejected_budget);
    RS__TALLY_SUM(snap.rejected_retry_budget, c, rejected_retry_budget);
    RS__TALLY_SUM(snap.rejected_server_pause, c, rejected_server_pause);
    RS__TALLY_SUM(snap.server_pauses, c, server_pauses);
    RS__TALLY_SUM(snap.rejected_bulkhead, c, rejected_bulkhead);
    RS__TALLY_SUM(snap.fallbacks, c, fallbacks);
    RS__TALLY_SUM(snap.elapsed_ns, c, elapsed_ns);
    RS__TALLY_SUM(snap.waited_ns, c, waited_ns);
    RS__TALLY_SUM(snap.limiter_wait_ns, c, limiter_wait_ns);
    uint64_t ended = snap.successes + snap.failures + snap.exhausted + snap.timeouts +
                     snap.rejected_limiter + snap.rejected_bulkhead + snap.rejected_breaker +
                     snap.rejected_budget + snap.rejected_server_pause;
    /* `calls` is read first: a call that starts and ends while the other
     * counters are read makes the figure low for this read, never below 0. */
    snap.in_progress = rs__sat_sub(snap.calls, ended);
    snap.retry_tokens =
        (double)atomic_load_explicit(&p->retry_micro_tokens, memory_order_relaxed) / MICRO;
    snap.retry_max_tokens = (double)p->retry_max_micro / MICRO;
    snap.pause_remaining_ns = rs__sat_sub(rs__policy_pause_until(p), now_ns);
    *m = snap;
    return RS_OK;
}

int rs_policy_metrics(rs_policy *p, rs_policy_snapshot *m)
{
    if (p == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    return rs_policy_metrics_at(p, m, rs_clock_now(p->clock));
}

void rs_policy_stats_get(rs_policy *p, rs_policy_stats *out)
{
    (void)rs_policy_metrics(p, out);
}

void rs__policy_emit(const rs_policy *p, rs_event *e)
{
    const rs_event_hook *hook = &p->cfg.events;
    if (hook->fn != NULL) {
        e->source = RS_EVENT_SOURCE_POLICY;
        e->name = p->name;
        e->object = p;
        hook->fn(hook->ctx, e);
    }
}

const char *rs_stop_reason_name(rs_stop_reason reason)
{
    static const char *const names[] = {
        "RS_STOP_NONE",    "RS_STOP_SUCCESS", "RS_STOP_FAILED",       "RS_STOP_EXHAUSTED",
        "RS_STOP_TIMEOUT", "RS_STOP_LIMITER", "RS_STOP_BREAKER",      "RS_STOP_BUDGET",
        "RS_STOP_RETRY_BUDGET", "RS_STOP_RETRY_AFTER", "RS_STOP_ABANDONED",
        "RS_STOP_SERVER_PAUSE", "RS_STOP_BULKHEAD",
    };
    size_t i = (size_t)reason;
    return i < sizeof names / sizeof names[0] ? names[i] : "RS_STOP_UNKNOWN";
}

bool rs_stop_reason_is_local(rs_stop_reason reason)
{
    return reason == RS_STOP_LIMITER || reason == RS_STOP_BREAKER || reason == RS_STOP_BUDGET ||
           reason == RS_STOP_SERVER_PAUSE || reason == RS_STOP_BULKHEAD;
}
