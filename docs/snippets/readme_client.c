/* The README's usage block, compiled and run by the test suite. The remote
 * service is a stub: it answers 429 with a Retry-After of 50 ms once, then
 * 200 with the tokens the completion used. */
#include <stdio.h>

#include <resilience.h>

struct request {
    int answers;               /* how many times the stub answered */
    uint64_t usage_tokens;     /* what the last answer said it used */
    uint64_t retry_after_ns;   /* what the last answer's Retry-After said */
};

static int post_completion(struct request *req, uint64_t deadline_ns)
{
    (void)deadline_ns;
    if (req->answers++ == 0) {
        req->retry_after_ns = RS_MS(50);
        req->usage_tokens = 0;
        return 429;
    }
    req->retry_after_ns = 0;
    req->usage_tokens = 1234;
    return 200;
}

/* snippet: usage */
/* One attempt at the remote call: say whether it worked, may be retried,
 * or failed for good. */
static rs_verdict ask_model(void *ctx, rs_attempt *attempt)
{
    struct request *req = ctx;
    int http = post_completion(req, attempt->deadline_ns);
    attempt->tokens_used = req->usage_tokens;          /* charged to the budget */
    attempt->error = http;
    if (http == 200) {
        return RS_SUCCESS;
    }
    if (http == 429 || http >= 500) {
        attempt->retry_after_ns = req->retry_after_ns; /* honoured: never retried early */
        attempt->caller_fault = http == 429;           /* over quota: not the service's fault */
        return RS_RETRY;
    }
    return RS_FAIL;                                    /* other 4xx: never retried */
}

int main(void)
{
    struct request req = { 0 };
    rs_breaker_config breaker = RS_BREAKER_CONFIG_DEFAULT; /* 5 failures in a row: fail fast */
    rs_budget_config budget = RS_BUDGET_CONFIG_DEFAULT;    /* 50,000 tokens per hour */
    rs_adaptive_rate_config learn = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;       /* 3 attempts, jittered backoff,
                                                              Retry-After, retry budget */
    cfg.requests_per_second = 8;                           /* stay under the provider's limit */
    cfg.burst = 4;
    cfg.adaptive_rate = &learn;                            /* slower on 429s, if 8 is too many */
    cfg.breaker = &breaker;
    cfg.budget = &budget;
    cfg.token_estimate = 2000;                             /* reserved per attempt */
    cfg.timeout_ns = RS_SEC(30);                           /* the whole call, waits included */

    rs_client *client;
    int rc = rs_client_new(&cfg, NULL, &client);
    if (rc != RS_OK) {
        fprintf(stderr, "%s: %s\n", rs_strerror(rc), rs_last_error());
        return 1;
    }
    rc = rs_client_call(client, ask_model, &req);
    if (rc != RS_OK) {                                     /* RS_E_OPEN, RS_E_BUDGET, ... */
        fprintf(stderr, "gave up: %s\n", rs_strerror(rc));
    }
    printf("%s after %d answers; %llu tokens left this hour\n", rs_status_name(rc), req.answers,
           (unsigned long long)rs_budget_remaining(rs_client_budget(client)));
    rs_client_free(client);
    return rc == RS_OK && req.answers == 2 ? 0 : 1;
}
/* end snippet */
