/* rs_client: one flat config in, a policy and the modules it enables out,
 * all owned together. */
#include <math.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "policy_internal.h"

#define NS_PER_MINUTE (60 * RS__NS_PER_SEC)

struct rs_client {
    rs_policy *policy;
    rs_token_bucket *bucket;
    rs_sliding_window *window;
    rs_breaker *breaker;
    rs_budget *budget;
};

void rs_client_free(rs_client *c)
{
    if (c == NULL) {
        return;
    }
    rs_policy_free(c->policy);
    rs_token_bucket_free(c->bucket);
    rs_sliding_window_free(c->window);
    rs_breaker_free(c->breaker);
    rs_budget_free(c->budget);
    rs__free(c);
}

static int build_modules(rs_client *c, const rs_client_config *cfg, const rs_clock *clock)
{
    int rc = RS_OK;
    if (cfg->requests_per_second != 0.0) {
        rs_token_bucket_config tb = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
        tb.rate = cfg->requests_per_second;
        tb.burst = cfg->burst != 0 ? cfg->burst
                                   : rs__max_u64(1, rs__sat_from_double(ceil(tb.rate)));
        rc = rs_token_bucket_new(&tb, clock, &c->bucket);
    }
    if (rc == RS_OK && cfg->requests_per_minute != 0) {
        rs_sliding_window_config sw = RS_SLIDING_WINDOW_CONFIG_DEFAULT;
        sw.limit = cfg->requests_per_minute;
        sw.window_ns = NS_PER_MINUTE;
        sw.kind = RS_WINDOW_LOG;
        rc = rs_sliding_window_new(&sw, clock, &c->window);
    }
    if (rc == RS_OK && cfg->failure_threshold != 0) {
        rs_breaker_config br = RS_BREAKER_CONFIG_DEFAULT;
        br.failure_threshold = cfg->failure_threshold;
        br.failure_rate = 0.0; /* the flat config speaks of consecutive failures only */
        br.open_ns = cfg->recovery_timeout_ns;
        rc = rs_breaker_new(&br, clock, &c->breaker);
    }
    if (rc == RS_OK && cfg->budget_per_window != 0) {
        rs_budget_config bu = RS_BUDGET_CONFIG_DEFAULT;
        bu.max_per_window = cfg->budget_per_window;
        bu.window_ns = cfg->budget_window_ns;
        bu.max_per_request =
            cfg->budget_max_per_request != 0 ? cfg->budget_max_per_request : cfg->budget_per_window;
        rc = rs_budget_new(&bu, clock, &c->budget);
    }
    return rc;
}

int rs_client_new(const rs_client_config *cfg, const rs_clock *clock, rs_client **out)
{
    if (cfg == NULL || out == NULL || cfg->max_retries == UINT32_MAX) {
        return RS_E_INVAL;
    }
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.max_attempts = cfg->max_retries + 1;
    pc.backoff.base_ns = cfg->base_delay_ns;
    pc.backoff.max_ns = cfg->max_delay_ns;
    pc.backoff.jitter = cfg->jitter;
    pc.backoff.seed = cfg->seed;
    pc.timeout_ns = cfg->timeout_ns;
    pc.honor_retry_after = cfg->honor_retry_after;
    pc.max_retry_after_ns = cfg->max_retry_after_ns;
    pc.retry_ratio = cfg->retry_ratio;
    pc.max_limiter_wait_ns = cfg->max_limiter_wait_ns;
    pc.token_estimate = cfg->token_estimate;
    if (rs_backoff_config_validate(&pc.backoff) != RS_OK) {
        return RS_E_INVAL;
    }

    rs_client *c = rs__calloc(1, sizeof *c);
    if (c == NULL) {
        return RS_E_NOMEM;
    }
    int rc = build_modules(c, cfg, clock);
    if (rc == RS_OK) {
        pc.limiter = c->bucket;
        pc.window = c->window;
        pc.breaker = c->breaker;
        pc.budget = c->budget;
        rc = rs_policy_new(&pc, clock, &c->policy);
    }
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
