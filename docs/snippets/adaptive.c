/* docs/adaptive.md's code, compiled and run by the test suite: an adaptive
 * concurrency limit on a bulkhead, an adaptive rate, both through a
 * client, and a fallback serving cached data. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <resilience.h>

typedef struct request {
    const char *key;
    char answer[64];
} request;

static rs_verdict my_request(void *ctx, rs_attempt *a)
{
    request *r = ctx;
    a->error = 200;
    snprintf(r->answer, sizeof r->answer, "fresh %s", r->key);
    return RS_SUCCESS;
}

static rs_verdict always_503(void *ctx, rs_attempt *a)
{
    (void)ctx;
    a->error = 503;
    return RS_RETRY;
}

/* A stand-in for a real cache. */
static bool cache_lookup(void *cache, const char *key, char *out, size_t size)
{
    (void)cache;
    snprintf(out, size, "cached %s", key);
    return true;
}

/* snippet: fallback_fn */
static bool from_cache(void *cache, void *call_ctx, const rs_call_report *report)
{
    request *r = call_ctx;                    /* rs_call's ctx: where fn answers */
    printf("fallback for %s (%s)\n", r->key, rs_stop_reason_name(report->reason));
    return cache_lookup(cache, r->key, r->answer, sizeof r->answer);
}
/* end snippet */

int main(void)
{
    /* snippet: concurrency */
    rs_adaptive_limit_config lc = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;   /* gradient */
    rs_adaptive_limit *limit;
    rs_bulkhead_config bc = RS_BULKHEAD_CONFIG_DEFAULT;
    rs_bulkhead *bulkhead;
    if (rs_adaptive_limit_new(&lc, NULL, &limit) != RS_OK ||
        rs_bulkhead_new(&bc, NULL, &bulkhead) != RS_OK) {
        return 1;
    }
    rs_bulkhead_set_adaptive(bulkhead, limit);  /* max_concurrent follows the limit */
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.bulkhead = bulkhead;                      /* every attempt reports its latency */
    /* end snippet */

    /* snippet: rate */
    rs_adaptive_rate_config rc = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;  /* none until told or a 429 */
    rs_adaptive_rate *rate;
    if (rs_adaptive_rate_new(&rc, NULL, &rate) != RS_OK) {
        return 1;
    }
    pc.adaptive_rate = rate;                     /* asked first, told every outcome */
    /* end snippet */
    rs_policy *policy;
    if (rs_policy_new(&pc, NULL, &policy) != RS_OK) {
        fprintf(stderr, "rs_policy_new: %s\n", rs_last_error());
        return 1;
    }
    request r = { "weather", "" };
    int status = rs_call(policy, my_request, &r);
    printf("%s: %s, limit %u\n", rs_status_name(status), r.answer, rs_adaptive_limit_get(limit));
    rs_policy_free(policy);
    rs_bulkhead_free(bulkhead);
    rs_adaptive_limit_free(limit);
    rs_adaptive_rate_free(rate);

    /* snippet: client */
    rs_adaptive_limit_config concurrency = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    rs_adaptive_rate_config requests = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.concurrency_limit = &concurrency;        /* makes a bulkhead that follows it */
    cfg.adaptive_rate = &requests;
    rs_client *client;
    if (rs_client_new(&cfg, NULL, &client) != RS_OK) {
        fprintf(stderr, "rs_client_new: %s\n", rs_last_error());
        return 1;
    }
    /* end snippet */
    status = rs_client_call(client, my_request, &r);
    rs_client_free(client);
    if (status != RS_OK) {
        return 1;
    }

    void *my_cache = NULL;
    /* snippet: fallback */
    rs_policy_config fc = RS_POLICY_CONFIG_DEFAULT;
    fc.fallback = from_cache;                    /* refusals, retries used up, timeouts */
    fc.fallback_ctx = my_cache;
    rs_policy *degraded;
    if (rs_policy_new(&fc, NULL, &degraded) != RS_OK) {
        return 1;
    }
    rs_call_report report;
    request q = { "weather", "" };
    status = rs_call_with(degraded, NULL, always_503, &q, &report);
    if (report.fallback) {                       /* status is RS_OK */
        printf("%s instead of %s\n", q.answer, rs_status_name(report.failed_status));
    }
    /* end snippet */
    rs_policy_free(degraded);
    return status == RS_OK && report.fallback ? 0 : 1;
}
