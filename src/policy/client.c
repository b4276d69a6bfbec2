/* rs_client: one flat config in, a policy and the modules it names out,
 * all owned together. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/error.h"
#include "internal.h"

#define NS_PER_MINUTE (60 * RS__NS_PER_SEC)

struct rs_client {
    rs_policy *policy;
    rs_token_bucket *bucket;
    rs_token_bucket *token_bucket;
    rs_sliding_window *window;
    rs_breaker *breaker;
    rs_budget *budget;
    rs_bulkhead *bulkhead;
    rs_adaptive_limit *concurrency_limit;
    rs_adaptive_rate *adaptive_rate;
};

/* Every module's configuration, derived from the flat one; `use_*` says
 * which modules the client has. */
typedef struct client_plan {
    rs_policy_config policy;
    rs_token_bucket_config bucket, token_bucket;
    rs_sliding_window_config window;
    rs_breaker_config breaker;
    rs_budget_config budget;
    rs_bulkhead_config bulkhead;
    rs_adaptive_limit_config concurrency_limit;
    rs_adaptive_rate_config adaptive_rate;
    bool use_bucket, use_token_bucket, use_window, use_breaker, use_budget;
    bool use_bulkhead, use_concurrency_limit, use_adaptive_rate;
} client_plan;

static uint64_t burst_or_rate(uint64_t burst, double rate)
{
    return burst != 0 ? burst : rs__max_u64(1, rs__sat_from_double(ceil(rate)));
}

static int invalid(const char *field, const char *why)
{
    return rs_set_last_error(RS_E_INVAL, "rs_client_config.%s: %s", field, why);
}

/* Checks each module the client will create, naming the client's field. */
static int check_modules(const client_plan *plan)
{
    if (plan->use_bucket && rs_token_bucket_config_validate(&plan->bucket) != RS_OK) {
        return rs__error_nest(RS_E_INVAL, "rs_client_config (requests_per_second, burst)");
    }
    if (plan->use_token_bucket && rs_token_bucket_config_validate(&plan->token_bucket) != RS_OK) {
        return rs__error_nest(RS_E_INVAL, "rs_client_config (tokens_per_second, token_burst)");
    }
    if (plan->use_window && rs_sliding_window_config_validate(&plan->window) != RS_OK) {
        return rs__error_nest(RS_E_INVAL, "rs_client_config.requests_per_minute");
    }
    if (plan->use_breaker && rs_breaker_config_validate(&plan->breaker) != RS_OK) {
        return rs__error_nest(RS_E_INVAL, "rs_client_config.breaker");
    }
    if (plan->use_budget && rs_budget_config_validate(&plan->budget) != RS_OK) {
        return rs__error_nest(RS_E_INVAL, "rs_client_config.budget");
    }
    if (plan->use_bulkhead && rs_bulkhead_config_validate(&plan->bulkhead) != RS_OK) {
        return rs__error_nest(RS_E_INVAL, "rs_client_config.bulkhead");
    }
    if (plan->use_concurrency_limit &&
        rs_adaptive_limit_config_validate(&plan->concurrency_limit) != RS_OK) {
        return rs__error_nest(RS_E_INVAL, "rs_client_config.concurrency_limit");
    }
    if (plan->use_adaptive_rate && rs_adaptive_rate_config_validate(&plan->adaptive_rate) != RS_OK) {
        return rs__error_nest(RS_E_INVAL, "rs_client_config.adaptive_rate");
    }
    return RS_OK;
}

/* A configuration where every call would be refused is a mistake. */
static int check_estimate(const rs_client_config *cfg, const client_plan *plan)
{
    uint64_t estimate = cfg->token_estimate;
    if (plan->use_token_bucket && estimate > plan->token_bucket.burst) {
        return invalid("token_estimate", "above token_burst: every call would be refused");
    }
    if (plan->use_budget &&
        (estimate > plan->budget.max_per_request || estimate > plan->budget.max_per_window)) {
        return invalid("token_estimate",
                       "above the budget's max_per_request or max_per_window: every call "
                       "would be refused");
    }
    return RS_OK;
}

/* Derives and validates every configuration before anything is allocated. */
static int plan_client(const rs_client_config *cfg, const rs_clock *clock, client_plan *plan)
{
    rs_policy_config *pc = &plan->policy;
    *pc = RS_POLICY_CONFIG_DEFAULT;
    pc->account = cfg->account;
    pc->token_estimate = cfg->token_estimate;
    pc->retry = cfg->retry;
    pc->timeout_ns = cfg->timeout_ns;
    pc->max_limiter_wait_ns = cfg->max_limiter_wait_ns;
    pc->share_server_pause = cfg->share_server_pause;
    pc->hooks = cfg->hooks;
    pc->fallback = cfg->fallback;
    pc->fallback_ctx = cfg->fallback_ctx;
    pc->events = cfg->events;
    pc->name = cfg->name;
    /* Checked at the indices the caller wrote; build() moves them behind
     * the client's own limiters. */
    for (size_t i = 0; i < RS_CLIENT_MAX_LIMITS; i++) {
        pc->limits[i] = cfg->limits[i];
    }

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

    plan->use_breaker = cfg->breaker != NULL;
    plan->breaker = plan->use_breaker ? *cfg->breaker : RS_BREAKER_CONFIG_DEFAULT;
    /* The client's hook hears its own breaker too, under the client's name,
     * unless the breaker's config says otherwise. */
    if (plan->breaker.events.fn == NULL) {
        plan->breaker.events = cfg->events;
    }
    if (plan->breaker.name == NULL) {
        plan->breaker.name = cfg->name;
    }

    plan->use_budget = cfg->budget != NULL;
    plan->budget = plan->use_budget ? *cfg->budget : RS_BUDGET_CONFIG_DEFAULT;

    /* A concurrency limit needs a bulkhead to drive: the default one. */
    plan->use_concurrency_limit = cfg->concurrency_limit != NULL;
    plan->concurrency_limit = plan->use_concurrency_limit ? *cfg->concurrency_limit
                                                          : RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    plan->use_bulkhead = cfg->bulkhead != NULL || plan->use_concurrency_limit;
    plan->bulkhead = cfg->bulkhead != NULL ? *cfg->bulkhead : RS_BULKHEAD_CONFIG_DEFAULT;

    plan->use_adaptive_rate = cfg->adaptive_rate != NULL;
    plan->adaptive_rate = plan->use_adaptive_rate ? *cfg->adaptive_rate
                                                  : RS_ADAPTIVE_RATE_CONFIG_DEFAULT;

    if (plan->use_budget && cfg->account.ops != NULL) {
        return invalid("account", "set together with budget: the client charges one of them");
    }
    int rc = check_modules(plan);
    if (rc == RS_OK) {
        rc = rs__policy_config_check(pc, clock, plan->use_budget || plan->use_token_bucket);
        if (rc != RS_OK) { /* name the client's field, not the derived policy's */
            rc = rs__error_nest(rc, "rs_client_config");
        }
    }
    return rc == RS_OK ? check_estimate(cfg, plan) : rc;
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
    rs_bulkhead_free(c->bulkhead);
    rs_adaptive_limit_free(c->concurrency_limit);
    rs_adaptive_rate_free(c->adaptive_rate);
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
    if (rc == RS_OK && plan->use_bulkhead) {
        rc = rs_bulkhead_new(&plan->bulkhead, clock, &c->bulkhead);
    }
    if (rc == RS_OK && plan->use_concurrency_limit) {
        rc = rs_adaptive_limit_new(&plan->concurrency_limit, clock, &c->concurrency_limit);
        if (rc == RS_OK) {
            rc = rs_bulkhead_set_adaptive(c->bulkhead, c->concurrency_limit);
        }
    }
    if (rc == RS_OK && plan->use_adaptive_rate) {
        rc = rs_adaptive_rate_new(&plan->adaptive_rate, clock, &c->adaptive_rate);
    }
    if (rc != RS_OK) {
        return rc;
    }
    rs_policy_config *pc = &plan->policy;
    enum { OWN_LIMITS = RS_POLICY_MAX_LIMITS - RS_CLIENT_MAX_LIMITS };
    _Static_assert(OWN_LIMITS >= 3, "room for the window and both buckets");
    memmove(&pc->limits[OWN_LIMITS], &pc->limits[0], RS_CLIENT_MAX_LIMITS * sizeof pc->limits[0]);
    /* A refusal by the window should not cost a bucket token: cheapest
     * and strictest first, as in docs/composition.md. */
    pc->limits[0] = (rs_limit){ rs_sliding_window_limiter(c->window), RS_UNITS_REQUESTS };
    pc->limits[1] = (rs_limit){ rs_token_bucket_limiter(c->bucket), RS_UNITS_REQUESTS };
    pc->limits[2] = (rs_limit){ rs_token_bucket_limiter(c->token_bucket), RS_UNITS_TOKENS };
    pc->breaker = c->breaker;
    pc->bulkhead = c->bulkhead;
    pc->adaptive_rate = c->adaptive_rate;
    if (c->budget != NULL) {
        pc->account = rs_budget_account(c->budget);
    }
    return rs_policy_new(pc, clock, &c->policy);
}

int rs_client_new(const rs_client_config *cfg, const rs_clock *clock, rs_client **out)
{
    if (cfg == NULL || out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_client_new: %s is NULL",
                                 cfg == NULL ? "cfg" : "out");
    }
    client_plan plan;
    int rc = plan_client(cfg, clock, &plan);
    if (rc != RS_OK) {
        return rc;
    }
    rs_client *c = rs__calloc(1, sizeof *c);
    if (c == NULL) {
        return RS_E_NOMEM;
    }
    rc = build(c, &plan, clock);
    if (rc != RS_OK) {
        rs_client_free(c);
        return rc;
    }
    *out = c;
    return RS_OK;
}

int rs_client_call(rs_client *c, rs_fn fn, void *ctx)
{
    if (c == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_client_call: c is NULL");
    }
    return rs_call(c->policy, fn, ctx);
}

rs_policy *rs_client_policy(rs_client *c)
{
    return c != NULL ? c->policy : NULL;
}

rs_breaker *rs_client_breaker(rs_client *c)
{
    return c != NULL ? c->breaker : NULL;
}

rs_token_bucket *rs_client_bucket(rs_client *c)
{
    return c != NULL ? c->bucket : NULL;
}

rs_token_bucket *rs_client_token_bucket(rs_client *c)
{
    return c != NULL ? c->token_bucket : NULL;
}

rs_sliding_window *rs_client_window(rs_client *c)
{
    return c != NULL ? c->window : NULL;
}

rs_budget *rs_client_budget(rs_client *c)
{
    return c != NULL ? c->budget : NULL;
}

rs_bulkhead *rs_client_bulkhead(rs_client *c)
{
    return c != NULL ? c->bulkhead : NULL;
}

rs_adaptive_limit *rs_client_concurrency_limit(rs_client *c)
{
    return c != NULL ? c->concurrency_limit : NULL;
}

rs_adaptive_rate *rs_client_adaptive_rate(rs_client *c)
{
    return c != NULL ? c->adaptive_rate : NULL;
}
