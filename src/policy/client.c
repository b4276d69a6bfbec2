/* rs_client: one flat config in, a policy and the modules it enables out,
 * all owned together. */
#include <math.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "internal.h"

#define NS_PER_MINUTE (60 * RS__NS_PER_SEC)

struct rs_client {
    rs_policy *policy;
    rs_token_bucket *bucket;
    rs_token_bucket *token_bucket;
    rs_sliding_window *window;
    rs_breaker *breaker;
    rs_budget *budget;
};

/* Every module's configuration, derived from the flat one; `use_*` says
 * which modules the client has. */
typedef struct client_plan {
    rs_policy_config policy;
    rs_token_bucket_config bucket, token_bucket;
    rs_sliding_window_config window;
    rs_breaker_config breaker;
    rs_budget_config budget;
    bool use_bucket, use_token_bucket, use_window, use_breaker, use_budget;
} client_plan;

static uint64_t burst_or_rate(uint64_t burst, double rate)
{
    return burst != 0 ? burst : rs__max_u64(1, rs__sat_from_double(ceil(rate)));
}

/* Derives and validates every configuration before anything is allocated. */
static int plan_client(const rs_client_config *cfg, client_plan *plan)
{
    if (cfg->max_retries == UINT32_MAX) {
        return RS_E_INVAL;
    }
    rs_policy_config *pc = &plan->policy;
    *pc = RS_POLICY_CONFIG_DEFAULT;
    pc->max_attempts = cfg->max_retries + 1;
    pc->backoff.base_ns = cfg->base_delay_ns;
    pc->backoff.max_ns = cfg->max_delay_ns;
    pc->backoff.jitter = cfg->jitter;
    pc->backoff.seed = cfg->seed;
    pc->timeout_ns = cfg->timeout_ns;
    pc->honor_retry_after = cfg->honor_retry_after;
    pc->max_retry_after_ns = cfg->max_retry_after_ns;
    pc->retry_ratio = cfg->retry_ratio;
    pc->max_limiter_wait_ns = cfg->max_limiter_wait_ns;
    pc->token_estimate = cfg->token_estimate;

    plan->use_bucket = cfg->requests_per_second != 0.0;
    plan->bucket = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    plan->bucket.rate = cfg->requests_per_second;
    plan->bucket.burst = burst_or_rate(cfg->burst, cfg->requests_per_second);

    plan->use_token_bucket = cfg->tokens_per_second != 0.0;
    plan->token_bucket = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    plan->token_bucket.rate = cfg->tokens_per_second;
    plan->token_bucket.burst = burst_or_rate(cfg->token_burst, cfg->tokens_per_second);

    plan->use_window = cfg->requests_per_minute != 0;
    plan->window = RS_SLIDING_WINDOW_CONFIG_DEFAULT;
    plan->window.limit = cfg->requests_per_minute;
    plan->window.window_ns = NS_PER_MINUTE;
    plan->window.kind = RS_WINDOW_LOG;

    plan->use_breaker = cfg->failure_threshold != 0;
    plan->breaker = RS_BREAKER_CONFIG_DEFAULT;
    plan->breaker.failure_threshold = cfg->failure_threshold;
    plan->breaker.failure_rate = 0.0; /* the flat config speaks of consecutive failures only */
    plan->breaker.open_ns = cfg->recovery_timeout_ns;

    plan->use_budget = cfg->budget_per_window != 0;
    plan->budget = RS_BUDGET_CONFIG_DEFAULT;
    plan->budget.max_per_window = cfg->budget_per_window;
    plan->budget.window_ns = cfg->budget_window_ns;
    plan->budget.max_per_request =
        cfg->budget_max_per_request != 0 ? cfg->budget_max_per_request : cfg->budget_per_window;

    /* A configuration where every call would be refused is a mistake. */
    if (cfg->token_estimate != 0 &&
        ((plan->use_token_bucket && cfg->token_estimate > plan->token_bucket.burst) ||
         (plan->use_budget && (cfg->token_estimate > plan->budget.max_per_request ||
                               cfg->token_estimate > plan->budget.max_per_window)))) {
        return RS_E_INVAL;
    }
    if (rs__policy_config_validate(pc, plan->use_budget, plan->use_token_bucket) != RS_OK ||
        (plan->use_bucket && rs_token_bucket_config_validate(&plan->bucket) != RS_OK) ||
        (plan->use_token_bucket && rs_token_bucket_config_validate(&plan->token_bucket) != RS_OK) ||
        (plan->use_window && rs_sliding_window_config_validate(&plan->window) != RS_OK) ||
        (plan->use_breaker && rs_breaker_config_validate(&plan->breaker) != RS_OK) ||
        (plan->use_budget && rs_budget_config_validate(&plan->budget) != RS_OK)) {
        return RS_E_INVAL;
    }
    return RS_OK;
}

void rs_client_free(rs_client *c)
{
    if (c == NULL) {
        return;
    }
    rs_policy_free(c->policy);
    rs_token_bucket_free(c->bucket);
    rs_token_bucket_free(c->token_bucket);
    rs_sliding_window_free(c->window);
    rs_breaker_free(c->breaker);
    rs_budget_free(c->budget);
    rs__free(c);
}

static int build(rs_client *c, client_plan *plan, const rs_clock *clock)
{
    int rc = RS_OK;
    if (plan->use_bucket) {
        rc = rs_token_bucket_new(&plan->bucket, clock, &c->bucket);
    }
    if (rc == RS_OK && plan->use_token_bucket) {
        rc = rs_token_bucket_new(&plan->token_bucket, clock, &c->token_bucket);
    }
    if (rc == RS_OK && plan->use_window) {
        rc = rs_sliding_window_new(&plan->window, clock, &c->window);
    }
    if (rc == RS_OK && plan->use_breaker) {
        rc = rs_breaker_new(&plan->breaker, clock, &c->breaker);
    }
    if (rc == RS_OK && plan->use_budget) {
        rc = rs_budget_new(&plan->budget, clock, &c->budget);
    }
    if (rc == RS_OK) {
        plan->policy.limiter = c->bucket;
        plan->policy.token_limiter = c->token_bucket;
        plan->policy.window = c->window;
        plan->policy.breaker = c->breaker;
        plan->policy.budget = c->budget;
        rc = rs_policy_new(&plan->policy, clock, &c->policy);
    }
    return rc;
}

int rs_client_new(const rs_client_config *cfg, const rs_clock *clock, rs_client **out)
{
    client_plan plan;
    if (cfg == NULL || out == NULL || plan_client(cfg, &plan) != RS_OK) {
        return RS_E_INVAL;
    }
    rs_client *c = rs__calloc(1, sizeof *c);
    if (c == NULL) {
        return RS_E_NOMEM;
    }
    int rc = build(c, &plan, clock);
    if (rc != RS_OK) {
        rs_client_free(c);
        return rc;
    }
    *out = c;
    return RS_OK;
}

int rs_client_call(rs_client *c, rs_fn fn, void *ctx)
{
    return rs_client_call_ex(c, fn, ctx, NULL);
}

int rs_client_call_ex(rs_client *c, rs_fn fn, void *ctx, rs_call_report *report)
{
    return c != NULL ? rs_call_ex(c->policy, fn, ctx, report) : RS_E_INVAL;
}

rs_policy *rs_client_policy(rs_client *c)
{
    return c != NULL ? c->policy : NULL;
}

rs_breaker *rs_client_breaker(rs_client *c)
{
    return c != NULL ? c->breaker : NULL;
}
