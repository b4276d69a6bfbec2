/* docs/distributed.md's code, compiled and run by the test suite against
 * the throwaway redis-server of tools/test (RS_TEST_REDIS_URL); without
 * one it exits 77, which meson counts as skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <resilience.h>
#include <resilience/redis.h>

#define OPEN_NS RS_SEC(30)

static int calls, events_sent;
static void call_the_api(void) { calls++; }
static void send_event(void) { events_sent++; }
static void come_back_later(void) {}
static void redis_is_failing(void) { exit(1); }

static void log_redis_problem(void *ctx, int status, const char *message)
{
    (void)ctx;
    fprintf(stderr, "redis: %s: %s\n", rs_status_name(status), message);
}

static rs_verdict ask_model(void *ctx, rs_attempt *attempt)
{
    (void)ctx;
    attempt->tokens_used = 300;
    return RS_SUCCESS;
}

/* snippet: on_state_change */
static void on_state_change(void *ctx, rs_breaker_state from, rs_breaker_state to)
{
    rs_redis_breaker_state *shared = ctx;
    (void)from;
    if (to == RS_BREAKER_OPEN) {
        rs_redis_breaker_state_publish_open(shared, OPEN_NS);   /* the breaker's open_ns */
    } else if (to == RS_BREAKER_CLOSED) {
        rs_redis_breaker_state_clear(shared);                   /* optional: it expires anyway */
    }
}
/* end snippet */

int main(void)
{
    const char *url = getenv("RS_TEST_REDIS_URL");
    if (url == NULL || url[0] == '\0') {
        puts("no RS_TEST_REDIS_URL: skipped");
        return 77;
    }
    setenv("REDIS_PASSWORD", "", 0);
    setenv("SENTINEL_PASSWORD", "", 0);
    /* snippet: bucket */
    rs_redis_config rc = RS_REDIS_CONFIG_DEFAULT;
    rc.url = url;                                 /* "redis://10.0.0.5:6379/0", "unix:///run/redis.sock?db=1" */
    rc.password = getenv("REDIS_PASSWORD");       /* or redis://:pw@host in the URL */
    rc.on_error = log_redis_problem;              /* why a call failed, in English */
    rs_redis *redis;
    if (rs_redis_new(&rc, NULL, &redis) != RS_OK) {
        fprintf(stderr, "%s\n", rs_last_error()); /* RS_E_INVAL: which part of the URL */
        return 1;
    }
    char why[256];
    if (rs_redis_ping(redis, why, sizeof why) != RS_OK) { /* optional start-up check */
        fprintf(stderr, "%s\n", why);
    }

    rs_redis_token_bucket_config tc = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
    tc.redis = redis;
    tc.name = "openai";                           /* every instance uses the same name */
    tc.rate = 10.0;                               /* requests per second, all instances together */
    tc.burst = 20;
    tc.on_failure = RS_REDIS_FAIL_LOCAL;          /* see "Failure policies" */
    tc.local_share = 0.25;                        /* we run 4 instances */
    rs_redis_token_bucket *quota;
    if (rs_redis_token_bucket_new(&tc, NULL, &quota) != RS_OK) {
        fprintf(stderr, "%s\n", rs_last_error());
        return 1;
    }

    switch (rs_redis_token_bucket_try_acquire(quota, 1)) {
    case RS_OK:        call_the_api(); break;
    case RS_E_LIMITED: come_back_later(); break;
    case RS_E_IO:      redis_is_failing(); break;       /* only with RS_REDIS_FAIL_CLOSED */
    }
    /* end snippet */

    /* snippet: lease */
    rs_redis_token_bucket_config ec = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
    ec.redis = redis;
    ec.name = "events";                           /* a soft limit, decided millions of times */
    ec.rate = 5000.0;
    ec.burst = 500;
    ec.lease.instances = 4;                       /* leases of at most 5000 x 0.1 s / 4 = 125 */
    rs_redis_token_bucket *events;
    if (rs_redis_token_bucket_new(&ec, NULL, &events) != RS_OK) {
        fprintf(stderr, "%s\n", rs_last_error());
        return 1;
    }
    for (int i = 0; i < 1000; i++) {
        if (rs_redis_token_bucket_try_acquire(events, 1) == RS_OK) { /* mostly no I/O */
            send_event();
        }
    }
    rs_redis_lease_stats ls;
    rs_redis_token_bucket_lease_stats(events, &ls);
    printf("%llu round trips for 1000 decisions; at most %llu tokens held\n",
           (unsigned long long)ls.round_trips, (unsigned long long)ls.max_units);
    rs_redis_token_bucket_free(events);           /* gives back what the lease held */
    /* end snippet */

    /* snippet: sentinel */
    rs_redis_config sentinel = RS_REDIS_CONFIG_DEFAULT;
    sentinel.url = "redis-sentinel://10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379/mymaster/0";
    sentinel.password = getenv("REDIS_PASSWORD");          /* the master's */
    sentinel.sentinel_password = getenv("SENTINEL_PASSWORD"); /* the sentinels', if any */
    rs_redis *ha;
    if (rs_redis_new(&sentinel, NULL, &ha) != RS_OK) {     /* no I/O yet */
        fprintf(stderr, "%s\n", rs_last_error());
        return 1;
    }
    /* end snippet */
    rs_redis_free(ha);

    rs_redis_breaker_state_config sc = RS_REDIS_BREAKER_STATE_CONFIG_DEFAULT;
    sc.redis = redis;
    sc.name = "openai";
    rs_redis_breaker_state *shared;
    if (rs_redis_breaker_state_new(&sc, NULL, &shared) != RS_OK) {
        return 1;
    }
    /* snippet: breaker */
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    bc.open_ns = OPEN_NS;
    bc.on_state_change = on_state_change;
    bc.ctx = shared;
    /* end snippet */
    rs_breaker *breaker;
    if (rs_breaker_new(&bc, NULL, &breaker) != RS_OK) {
        return 1;
    }
    rs_breaker_force(breaker, RS_BREAKER_FORCED_OPEN);
    rs_breaker_force(breaker, RS_BREAKER_CLOSED);

    rs_redis_budget_config uc = RS_REDIS_BUDGET_CONFIG_DEFAULT;
    uc.redis = redis;
    uc.name = "snippet-users";
    rs_redis_budget *budget;
    if (rs_redis_budget_new(&uc, NULL, &budget) != RS_OK) {
        return 1;
    }
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.limits[0] = (rs_limit){ rs_redis_breaker_state_limiter(shared), RS_UNITS_REQUESTS };
    rs_policy *policy;
    if (rs_policy_new(&pc, NULL, &policy) != RS_OK) {
        return 1;
    }
    const char *user_id = "alice";
    uint64_t estimate = 1000;
    int request = 0;
    rs_call_report report;
    /* snippet: account */
    rs_redis_budget_key user = { budget, user_id, strlen(user_id) };
    rs_call_options opts = { .token_estimate = estimate,
                             .account = rs_redis_budget_account(&user) };
    int rc2 = rs_call_with(policy, &opts, ask_model, &request, &report);
    /* RS_E_BUDGET: this user's hourly tokens are spent, fleet-wide */
    /* end snippet */
    printf("bucket: %d call(s); %d events; budget call: %s\n", calls, events_sent,
           rs_status_name(rc2));
    rs_policy_free(policy);
    rs_redis_budget_free(budget);
    rs_breaker_free(breaker);
    rs_redis_breaker_state_free(shared);
    rs_redis_token_bucket_free(quota);
    rs_redis_free(redis);
    return rc2 == RS_OK ? 0 : 1;
}
