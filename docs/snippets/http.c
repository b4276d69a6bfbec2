/* docs/http.md's code, compiled and run by the test suite on a manual
 * clock: a user function that classifies the status and reads the
 * response's headers, a token bucket of one's own set from the rate the
 * server advertises, a classifier override, and a server that answers 429
 * with the formatted headers, which a client's feedback reads back. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <resilience.h>

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

/* A stand-in for an HTTP client's response. */
typedef struct header {
    const char *name, *value;
} header;

typedef struct response {
    int status;
    header headers[3];
    size_t header_count;
} response;

/* The remote API: over quota once (OpenAI's headers), then fine, with its
 * limit of 60 requests a minute. */
static const response *do_request(void *ctx)
{
    static const response over_quota = { 429,
                                         { { "retry-after-ms", "548" },
                                           { "x-ratelimit-remaining-requests", "59" },
                                           { "x-ratelimit-reset-requests", "1s" } },
                                         3 };
    static const response fine = { 200,
                                   { { "content-type", "application/json" },
                                     { "x-ratelimit-limit-requests", "60" } },
                                   2 };
    int *answers = ctx;
    return (*answers)++ == 0 ? &over_quota : &fine;
}

/* snippet: user_function */
static rs_verdict call_api(void *ctx, rs_attempt *attempt)
{
    const response *res = do_request(ctx);
    rs_http_feedback feedback;
    rs_http_feedback_init(&feedback);
    int64_t now = (int64_t)time(NULL); /* header dates are wall-clock time */
    for (size_t i = 0; i < res->header_count; i++) {
        const header *h = &res->headers[i];
        /* unknown names are RS_OK; a malformed value changes nothing */
        (void)rs_http_feedback_header(&feedback, h->name, strlen(h->name), h->value,
                                      strlen(h->value), now);
    }
    rs_http_feedback_apply(&feedback, attempt); /* Retry-After; a pause when the quota is spent */
    attempt->error = res->status;
    return rs_http_classify(res->status, &attempt->caller_fault);
}
/* end snippet */

/* snippet: own_bucket */
/* A token bucket of your own, in the policy's limits, set to the rate the
 * server advertises: the policy never changes it behind your back. Set it
 * only when the rate moved (set_rate is for occasional changes). */
typedef struct paced_api {
    int answers;               /* what call_api needs */
    rs_token_bucket *bucket;
    _Atomic double rate;       /* what the bucket was last set to */
} paced_api;

static rs_verdict call_paced_api(void *ctx, rs_attempt *attempt)
{
    paced_api *api = ctx;
    rs_verdict verdict = call_api(&api->answers, attempt); /* applies the headers */
    double rate = attempt->advertised_rate;                  /* requests per second, 0 = none */
    if (rate > 0.0 && atomic_exchange(&api->rate, rate) != rate) {
        (void)rs_token_bucket_set_rate(api->bucket, rate, 1);
    }
    return verdict;
}
/* end snippet */

/* snippet: server */
/* A 429 for a caller whose bucket is empty: the headers say when to come
 * back and what the policy is. Each buffer holds any value in 64 bytes. */
static int answer(rs_token_bucket *per_key, char retry_after[64], char ratelimit[64],
                  char policy[64])
{
    uint64_t wait_ns;
    if (rs_token_bucket_reserve(per_key, 1, 0, &wait_ns) == RS_OK) {
        return 200;
    }
    rs_http_ratelimit rl = {
        .policy = "per-key",
        .quota = 5,                /* 5 requests ... */
        .window_ns = RS_SEC(1),    /* ... per second */
        .remaining = 0,
        .reset_ns = wait_ns,       /* until a token is back */
    };
    rs_http_format_retry_after(retry_after, 64, wait_ns); /* "1": rounded up */
    rs_http_format_ratelimit(ratelimit, 64, &rl);         /* "per-key";r=0;t=1 */
    rs_http_format_ratelimit_policy(policy, 64, &rl);     /* "per-key";q=5;w=1 */
    return 429;
}
/* end snippet */

static int client_side(void)
{
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;
    cfg.retry.budget_ratio = 0;
    rs_policy *policy;
    CHECK(rs_policy_new(&cfg, rs_manual_clock_get(&clock), &policy) == RS_OK);
    int answers = 0;
    rs_call_report report;
    int rc = rs_call_with(policy, NULL, call_api, &answers, &report);
    rs_policy_free(policy);
    CHECK(rc == RS_OK);
    CHECK(answers == 2);
    CHECK(report.retry_after_ns == RS_MS(548));
    CHECK(report.waited_ns >= RS_MS(548)); /* never retried before retry-after-ms */
    printf("429 then 200: retried after %llu ms\n",
           (unsigned long long)(report.waited_ns / RS_MS(1)));
    return 0;
}

static int own_bucket(void)
{
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_token_bucket_config tc = { 100.0, 1 };
    paced_api api = { 0, NULL, 0.0 };
    CHECK(rs_token_bucket_new(&tc, rs_manual_clock_get(&clock), &api.bucket) == RS_OK);
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;
    cfg.limits[0] = (rs_limit){ rs_token_bucket_limiter(api.bucket), RS_UNITS_REQUESTS };
    cfg.retry.budget_ratio = 0;
    rs_policy *policy;
    CHECK(rs_policy_new(&cfg, rs_manual_clock_get(&clock), &policy) == RS_OK);
    int rc = rs_call(policy, call_paced_api, &api);
    rs_policy_free(policy);
    rs_token_bucket_snapshot m;
    CHECK(rs_token_bucket_metrics(api.bucket, &m) == RS_OK);
    rs_token_bucket_free(api.bucket);
    CHECK(rc == RS_OK);
    CHECK(m.rate == 1.0); /* 60 a minute */
    printf("the server advertised %g requests/s: the bucket runs at it\n", m.rate);
    return 0;
}

static int classifier(void)
{
    /* snippet: classifier */
    rs_http_classifier classes;
    rs_http_classifier_init(&classes);                           /* the defaults */
    rs_http_classifier_set(&classes, 409, 409, RS_RETRY, false); /* a conflict that clears up */
    rs_http_classifier_set(&classes, 503, 503, RS_FAIL, false);  /* this service's 503 is final */
    bool caller_fault;
    rs_verdict verdict = rs_http_classify_with(&classes, 409, &caller_fault); /* RS_RETRY */
    /* end snippet */
    CHECK(verdict == RS_RETRY && !caller_fault);
    CHECK(rs_http_classify_with(&classes, 503, NULL) == RS_FAIL);
    CHECK(rs_http_classify_with(&classes, 502, NULL) == RS_RETRY);
    return 0;
}

static int server_side(void)
{
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_token_bucket_config tc = { 5.0, 5 };
    rs_token_bucket *per_key;
    CHECK(rs_token_bucket_new(&tc, rs_manual_clock_get(&clock), &per_key) == RS_OK);
    char retry_after[64], ratelimit[64], policy[64];
    for (int i = 0; i < 5; i++) {
        CHECK(answer(per_key, retry_after, ratelimit, policy) == 200);
    }
    CHECK(answer(per_key, retry_after, ratelimit, policy) == 429);
    rs_token_bucket_free(per_key);
    CHECK(strcmp(retry_after, "1") == 0);
    CHECK(strcmp(ratelimit, "\"per-key\";r=0;t=1") == 0);
    CHECK(strcmp(policy, "\"per-key\";q=5;w=1") == 0);
    printf("429 Retry-After: %s\n    RateLimit: %s\n    RateLimit-Policy: %s\n", retry_after,
           ratelimit, policy);

    /* snippet: read_back */
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    rs_http_feedback_header(&f, "RateLimit", 9, ratelimit, strlen(ratelimit), 0);
    rs_http_feedback_header(&f, "RateLimit-Policy", 16, policy, strlen(policy), 0);
    /* f.limit_requests 5, f.remaining_requests 0, f.reset_requests_ns 1 s:
       rs_http_feedback_pause_ns(&f) is 1 s, rs_http_feedback_request_rate(&f) 5/s */
    /* end snippet */
    CHECK(f.limit_requests == 5 && f.remaining_requests == 0);
    CHECK(rs_http_feedback_pause_ns(&f) == RS_SEC(1));
    CHECK(rs_http_feedback_request_rate(&f) == 5.0);
    return 0;
}

int main(void)
{
    return client_side() || own_bucket() || classifier() || server_side();
}
