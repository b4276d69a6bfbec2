/* The policy object: configuration, the shared retry budget, counters. The
 * per-call logic is in call.c. */
#include <math.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "internal.h"

/* Retry budget tokens are counted in millionths, so that small ratios
 * (one retry per 10,000 successes) still refill it exactly. */
#define MICRO 1000000.0

int rs__policy_config_validate(const rs_policy_config *cfg, bool will_have_budget,
                               bool will_count_tokens)
{
    if (cfg == NULL) {
        return RS_E_INVAL;
    }
    if (cfg->max_attempts == 0 || rs_backoff_config_validate(&cfg->backoff) != RS_OK) {
        return RS_E_INVAL;
    }
    for (size_t i = 0; i < RS_POLICY_MAX_EXTERNAL_LIMITERS; i++) {
        const rs_limiter *l = &cfg->external_limiters[i];
        if (l->ops != NULL && l->ops->acquire == NULL) {
            return RS_E_INVAL;
        }
    }
    if (cfg->account.ops != NULL &&
        (cfg->budget != NULL || cfg->account.ops->reserve == NULL)) {
        return RS_E_INVAL;
    }
    /* An estimate of 0 would reserve nothing, and count nothing. */
    bool charges_budget = will_have_budget || cfg->budget != NULL || cfg->account.ops != NULL;
    bool counts_tokens =
        will_count_tokens || cfg->limiter_counts_tokens || cfg->token_limiter != NULL;
    if ((charges_budget || counts_tokens) && cfg->token_estimate == 0) {
        return RS_E_INVAL;
    }
    if (!isfinite(cfg->retry_ratio) || cfg->retry_ratio < 0.0) {
        return RS_E_INVAL;
    }
    if (cfg->retry_ratio > 0.0 &&
        (cfg->retry_ratio * MICRO < 1.0 || cfg->retry_ratio > 1e9 ||
         !isfinite(cfg->retry_max_tokens) || cfg->retry_max_tokens < 1.0 ||
         cfg->retry_max_tokens > 1e9)) {
        return RS_E_INVAL;
    }
    return RS_OK;
}

static void add_limiter(rs_policy *p, rs_limiter limiter, bool counts_tokens)
{
    p->limiters[p->limiter_count] = limiter;
    p->limiter_counts_tokens[p->limiter_count] = counts_tokens;
    p->limiter_count++;
}

int rs_policy_new(const rs_policy_config *cfg, const rs_clock *clock, rs_policy **out)
{
    if (out == NULL || rs__policy_config_validate(cfg, false, false) != RS_OK) {
        return RS_E_INVAL;
    }
    rs_policy *p = rs__calloc(1, sizeof *p);
    if (p == NULL) {
        return RS_E_NOMEM;
    }
    p->cfg = *cfg;
    p->clock = clock != NULL ? clock : rs_clock_system();
    if (cfg->budget != NULL) { /* one way for calls to charge: the account */
        p->cfg.account = rs_budget_account(cfg->budget);
    }
    if (cfg->window != NULL) {
        add_limiter(p, rs_sliding_window_limiter(cfg->window), false);
    }
    if (cfg->limiter != NULL) {
        add_limiter(p, rs_token_bucket_limiter(cfg->limiter), cfg->limiter_counts_tokens);
    }
    if (cfg->token_limiter != NULL) {
        add_limiter(p, rs_token_bucket_limiter(cfg->token_limiter), true);
    }
    for (size_t i = 0; i < RS_POLICY_MAX_EXTERNAL_LIMITERS; i++) {
        const rs_limiter *l = &cfg->external_limiters[i];
        if (l->ops != NULL) {
            add_limiter(p, *l, cfg->limiter_counts_tokens);
        }
    }
    rs__rng_seed(&p->rng, cfg->backoff.seed);
    if (cfg->retry_ratio > 0.0) {
        p->retry_max_micro = rs__sat_from_double(cfg->retry_max_tokens * MICRO);
        p->retry_ratio_micro = rs__sat_from_double(cfg->retry_ratio * MICRO);
    }
    atomic_init(&p->retry_micro_tokens, p->retry_max_micro);
    *out = p;
    return RS_OK;
}

void rs_policy_free(rs_policy *p)
{
    rs__free(p);
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

void rs_policy_stats_get(rs_policy *p, rs_policy_stats *out)
{
    if (p == NULL || out == NULL) {
        return;
    }
    const rs__policy_counters *c = &p->counters;
    out->calls = rs__counter_get(&c->calls);
    out->successes = rs__counter_get(&c->successes);
    out->failures = rs__counter_get(&c->failures);
    out->exhausted = rs__counter_get(&c->exhausted);
    out->timeouts = rs__counter_get(&c->timeouts);
    out->attempts = rs__counter_get(&c->attempts);
    out->retries = rs__counter_get(&c->retries);
    out->rejected_limiter = rs__counter_get(&c->rejected_limiter);
    out->rejected_breaker = rs__counter_get(&c->rejected_breaker);
    out->rejected_budget = rs__counter_get(&c->rejected_budget);
    out->rejected_retry_budget = rs__counter_get(&c->rejected_retry_budget);
    out->retry_tokens =
        (double)atomic_load_explicit(&p->retry_micro_tokens, memory_order_relaxed) / MICRO;
}

const char *rs_stop_reason_name(rs_stop_reason reason)
{
    static const char *const names[] = {
        "RS_STOP_NONE",    "RS_STOP_SUCCESS", "RS_STOP_FAILED",       "RS_STOP_EXHAUSTED",
        "RS_STOP_TIMEOUT", "RS_STOP_LIMITER", "RS_STOP_BREAKER",      "RS_STOP_BUDGET",
        "RS_STOP_RETRY_BUDGET", "RS_STOP_RETRY_AFTER", "RS_STOP_ABANDONED",
    };
    size_t i = (size_t)reason;
    return i < sizeof names / sizeof names[0] ? names[i] : "RS_STOP_UNKNOWN";
}

bool rs_stop_reason_is_local(rs_stop_reason reason)
{
    return reason == RS_STOP_LIMITER || reason == RS_STOP_BREAKER || reason == RS_STOP_BUDGET ||
           reason == RS_STOP_RETRY_BUDGET;
}
