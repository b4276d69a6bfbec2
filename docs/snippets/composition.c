/* docs/composition.md's code, compiled and run by the test suite on a
 * manual clock: a policy built from modules, a user function, a client,
 * and the step API driven by hand as an event loop would. */
#include <stdio.h>
#include <stdlib.h>

#include <resilience.h>

static rs_manual_clock manual;

/* A stand-in for the remote service: 503 twice, then 200. */
typedef struct service {
    int answers;
} service;

static int do_http(void *ctx, uint64_t deadline_ns)
{
    (void)deadline_ns;
    service *s = ctx;
    return s->answers++ < 2 ? 503 : 200;
}

static uint64_t usage_from_response(void *ctx) { (void)ctx; return 180; }
static uint64_t retry_after_header(void *ctx) { (void)ctx; return 0; }

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        int rc_ = (expr);                                                                  \
        if (rc_ != RS_OK) {                                                                \
            fprintf(stderr, "%s: %s (%s)\n", #expr, rs_strerror(rc_), rs_last_error());   \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* snippet: user_function */
static rs_verdict my_request(void *ctx, rs_attempt *a)
{
    int http = do_http(ctx, a->deadline_ns);     /* bound the I/O by the deadline */
    a->tokens_used = usage_from_response(ctx);   /* replaces the estimate */
    a->error = http;                             /* reported back in the report */
    if (http == 200) {
        return RS_SUCCESS;
    }
    if (http == 429 || http >= 500) {
        a->retry_after_ns = retry_after_header(ctx); /* 0 if none */
        a->caller_fault = http == 429;               /* over quota: not the service's fault */
        return RS_RETRY;
    }
    a->caller_fault = http >= 400 && http < 500;     /* our request was bad */
    return RS_FAIL;
}
/* end snippet */

static void policy_of_modules(const rs_clock *clock)
{
    rs_token_bucket_config tc = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    rs_sliding_window_config wc = RS_SLIDING_WINDOW_CONFIG_DEFAULT;
    wc.limit = 500;
    wc.window_ns = RS_MIN(1);
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    rs_budget_config uc = RS_BUDGET_CONFIG_DEFAULT;
    rs_token_bucket *bucket, *tokens;
    rs_sliding_window *window;
    rs_breaker *breaker;
    rs_budget *budget;
    CHECK(rs_token_bucket_new(&tc, clock, &bucket));
    tc.rate = 1000; /* LLM tokens per second */
    tc.burst = 8000;
    CHECK(rs_token_bucket_new(&tc, clock, &tokens));
    CHECK(rs_sliding_window_new(&wc, clock, &window));
    CHECK(rs_breaker_new(&bc, clock, &breaker));
    CHECK(rs_budget_new(&uc, clock, &budget));
    service svc = { 0 };
    void *my_ctx = &svc;
    /* snippet: policy */
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;    /* 3 attempts, jitter, retry budget */
    cfg.limits[0] = (rs_limit){ rs_sliding_window_limiter(window), RS_UNITS_REQUESTS };
    cfg.limits[1] = (rs_limit){ rs_token_bucket_limiter(bucket), RS_UNITS_REQUESTS };
    cfg.limits[2] = (rs_limit){ rs_token_bucket_limiter(tokens), RS_UNITS_TOKENS };
    cfg.breaker = breaker;
    cfg.account = rs_budget_account(budget);
    cfg.token_estimate = 2000;                          /* per attempt */
    cfg.timeout_ns = RS_SEC(30);
    rs_policy *policy;
    int rc = rs_policy_new(&cfg, clock, &policy);       /* every module on this clock */
    if (rc != RS_OK) {
        fprintf(stderr, "%s: %s\n", rs_strerror(rc), rs_last_error());
        exit(1);
    }
    rs_call_report report;
    rc = rs_call_with(policy, NULL, my_request, my_ctx, &report);
    printf("%s after %u attempts (%s), %llu ns waited\n", rs_status_name(rc), report.attempts,
           rs_stop_reason_name(report.reason), (unsigned long long)report.waited_ns);
    /* end snippet */
    if (rc != RS_OK || report.attempts != 3 || rs_budget_remaining(budget) != 50000 - 3 * 180) {
        fprintf(stderr, "unexpected: %s, %u attempts\n", rs_status_name(rc), report.attempts);
        exit(1);
    }
    rs_policy_free(policy);
    rs_budget_free(budget);
    rs_breaker_free(breaker);
    rs_sliding_window_free(window);
    rs_token_bucket_free(tokens);
    rs_token_bucket_free(bucket);
}

static void client(const rs_clock *clock)
{
    service svc = { 0 };
    void *my_ctx = &svc;
    /* snippet: client */
    rs_breaker_config breaker = RS_BREAKER_CONFIG_DEFAULT;
    breaker.open_ns = RS_SEC(10);
    rs_budget_config budget = RS_BUDGET_CONFIG_DEFAULT;
    budget.max_per_window = 50000;                      /* tokens per hour */
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.requests_per_second = 50;
    cfg.burst = 10;
    cfg.breaker = &breaker;                             /* copied */
    cfg.budget = &budget;
    cfg.token_estimate = 2000;
    rs_client *client;
    int rc = rs_client_new(&cfg, clock, &client);
    if (rc != RS_OK) {
        fprintf(stderr, "%s: %s\n", rs_strerror(rc), rs_last_error());
        exit(1);
    }
    rc = rs_client_call(client, my_request, my_ctx);
    printf("client: %s, %llu tokens left\n", rs_status_name(rc),
           (unsigned long long)rs_budget_remaining(rs_client_budget(client)));
    rs_client_free(client);
    /* end snippet */
    if (rc != RS_OK) {
        exit(1);
    }
}

/* The event loop's side, reduced to what the step API needs: the request
 * object holds the call state, a timer and the response. */
typedef struct request {
    rs_call_state *call;
    void *call_memory;
    service svc;
    bool done;
    int status;
} request;

static uint64_t timer_due_ns; /* the loop's one timer */
static void start_timer(request *r, uint64_t wait_ns)
{
    (void)r;
    timer_due_ns = rs_manual_clock_now(&manual) + wait_ns;
}
static void finish(request *r, int status)
{
    r->done = true;
    r->status = status;
}
/* The response "arrives" at once here; a real loop would send the request
 * and call on_response from its I/O callback. */
static void on_response(request *r, rs_verdict verdict);
static void send_request(request *r, rs_attempt *a)
{
    on_response(r, my_request(&r->svc, a));
}

/* snippet: step_api */
static void drive(request *r, rs_step s)
{
    switch (s.action) {
    case RS_STEP_RUN:  send_request(r, rs_call_attempt(r->call)); break; /* async */
    case RS_STEP_WAIT: start_timer(r, s.wait_ns); break;   /* then on_timer */
    case RS_STEP_DONE: {
        rs_call_report report;
        rs_call_end(r->call, &report);                     /* r->call_memory stays r's */
        finish(r, s.status);
        break;
    }
    }
}

static void on_response(request *r, rs_verdict verdict)  /* the I/O callback */
{
    drive(r, rs_call_complete(r->call, verdict));
}

static void on_timer(request *r)                          /* the timer callback */
{
    drive(r, rs_call_next(r->call));
}

static int start(rs_policy *policy, request *r)
{
    /* the call state lives in the request: no allocation per call */
    int rc = rs_call_begin_in(policy, NULL, r->call_memory, rs_call_state_size(), &r->call);
    if (rc == RS_OK) {
        drive(r, rs_call_next(r->call));
    }
    return rc;
}
/* end snippet */

static void step_api(const rs_clock *clock)
{
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;
    rs_policy *policy;
    CHECK(rs_policy_new(&cfg, clock, &policy));
    request r = { .call_memory = malloc(rs_call_state_size()) };
    CHECK(start(policy, &r));
    while (!r.done) { /* the loop: advance to the timer, fire it */
        rs_manual_clock_set(&manual, timer_due_ns);
        on_timer(&r);
    }
    printf("step API: %s after %d answers\n", rs_status_name(r.status), r.svc.answers);
    free(r.call_memory);
    rs_policy_free(policy);
    if (r.status != RS_OK || r.svc.answers != 3) {
        exit(1);
    }
}

int main(void)
{
    rs_manual_clock_init(&manual, RS_SEC(1000));
    const rs_clock *clock = rs_manual_clock_get(&manual);
    policy_of_modules(clock);
    client(clock);
    step_api(clock);
    return 0;
}
