/* rs_call overhead on the success path, with a token bucket, a breaker and a
 * budget in the chain and a user function that does nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "resilience.h"

static rs_verdict do_nothing(void *ctx, rs_attempt *a)
{
    (void)ctx;
    a->tokens_used = 1;
    return RS_SUCCESS;
}

static void one_call(void *ctx)
{
    bench_consume((uint64_t)rs_call(ctx, do_nothing, NULL));
}

int main(void)
{
    bench_baselines(2);

    /* Limits far above what the benchmark can reach, so every call succeeds. */
    rs_token_bucket_config tc = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    tc.rate = 1e9; /* the finest rate a bucket supports */
    tc.burst = UINT64_C(1) << 40;
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    rs_budget_config uc = RS_BUDGET_CONFIG_DEFAULT;
    uc.max_per_window = UINT64_MAX / 4;
    uc.max_per_request = 1000;
    rs_token_bucket *tb;
    rs_breaker *br;
    rs_budget *bu;
    bench_check(rs_token_bucket_new(&tc, NULL, &tb), "rs_token_bucket_new");
    bench_check(rs_breaker_new(&bc, NULL, &br), "rs_breaker_new");
    bench_check(rs_budget_new(&uc, NULL, &bu), "rs_budget_new");

    rs_policy_config bare = RS_POLICY_CONFIG_DEFAULT;
    bare.retry.backoff.seed = 1;
    bare.retry.budget_ratio = 0.0;
    rs_policy *plain;
    bench_check(rs_policy_new(&bare, NULL, &plain), "rs_policy_new");

    rs_policy_config full = bare;
    full.limits[0] = (rs_limit){ rs_token_bucket_limiter(tb), RS_UNITS_REQUESTS };
    full.breaker = br;
    full.account = rs_budget_account(bu);
    full.token_estimate = 10;
    full.retry.budget_ratio = 0.1;
    rs_policy *chained;
    bench_check(rs_policy_new(&full, NULL, &chained), "rs_policy_new");

    bench_section("rs_call, success path, fn does nothing");
    bench_run("no modules (retry loop only)", 1, one_call, plain);
    bench_run("token bucket + breaker + budget + retry budget", 1, one_call, chained);
    bench_run("token bucket + breaker + budget + retry budget", 2, one_call, chained);

    rs_policy_free(chained);
    rs_policy_free(plain);
    rs_budget_free(bu);
    rs_breaker_free(br);
    rs_token_bucket_free(tb);
    return 0;
}
