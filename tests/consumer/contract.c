/* The design contract (DESIGN.md) as a user writes it, compiled outside the
 * tree against the installed library: every name and signature the
 * contract fixes for the core, used once. It runs on a manual clock and
 * checks a few semantics on the way. (curl.h's rs_curl_perform is in
 * main_curl.c, against its own library.) */
#include <stdio.h>
#include <string.h>

#include <resilience.h>

#define EXPECT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "contract: %s failed (%s)\n", #cond, rs_last_error());       \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

static rs_verdict ok_once(void *ctx, rs_attempt *attempt)
{
    int *calls = ctx;
    (*calls)++;
    attempt->tokens_used = 5;
    attempt->retry_after_ns = 0;
    attempt->error = 0;
    attempt->caller_fault = false;
    return attempt->number == 1 ? RS_RETRY : RS_SUCCESS;
}

static void on_change(void *ctx, rs_breaker_state from, rs_breaker_state to)
{
    (void)from;
    (void)to;
    (*(int *)ctx)++;
}

static void on_retry(void *ctx, const rs_attempt *a, uint64_t delay_ns)
{
    (void)a;
    (void)delay_ns;
    (*(int *)ctx)++;
}

static void on_give_up(void *ctx, const rs_call_report *report)
{
    (void)ctx;
    (void)report;
}

/* Static initializers from the brace-initializer twins. */
static const rs_backoff_config backoff_init = RS_BACKOFF_CONFIG_INIT;
static const rs_retry_config retry_init = RS_RETRY_CONFIG_INIT;
static const rs_policy_config policy_init = RS_POLICY_CONFIG_INIT;
static const rs_client_config client_init = RS_CLIENT_CONFIG_INIT;

int main(void)
{
    /* Conventions */
    EXPECT(rs_strerror(RS_E_IO) != NULL && rs_strerror(12345) != NULL);
    EXPECT(rs_last_error() != NULL);
    EXPECT(RS_OK == 0 && RS_E_INVAL < 0 && RS_E_NOMEM < 0 && RS_E_LIMITED < 0 &&
           RS_E_OPEN < 0 && RS_E_BUDGET < 0 && RS_E_EXHAUSTED < 0 && RS_E_FAILED < 0 &&
           RS_E_TIMEOUT < 0 && RS_E_IO < 0);
    EXPECT(rs_set_allocator(NULL, NULL) == RS_OK);
    EXPECT(backoff_init.base_ns > 0 && retry_init.max_attempts == 3 &&
           policy_init.max_limiter_wait_ns == client_init.max_limiter_wait_ns);

    /* Shared core */
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    const rs_clock *clock = rs_manual_clock_get(&m);
    rs_manual_clock_advance(&m, RS_SEC(1));
    EXPECT(rs_manual_clock_now(&m) == RS_SEC(1));
    EXPECT(rs_clock_system()->now_ns(rs_clock_system()->ctx) > 0);

    /* backoff.h */
    rs_backoff_config bc = RS_BACKOFF_CONFIG_DEFAULT;
    bc.jitter = RS_JITTER_NONE;
    bc.seed = 1;
    rs_backoff *b = NULL;
    EXPECT(rs_backoff_new(&bc, &b) == RS_OK);
    EXPECT(rs_backoff_next(b, 1) == bc.base_ns);
    rs_backoff_reset(b);
    rs_backoff_free(b);

    /* token_bucket.h */
    rs_token_bucket_config tc = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    tc.rate = 10;
    tc.burst = 2;
    rs_token_bucket *tb = NULL;
    EXPECT(rs_token_bucket_new(&tc, clock, &tb) == RS_OK);
    EXPECT(rs_token_bucket_try_acquire(tb, 1));
    EXPECT(rs_token_bucket_try_acquire_at(tb, 1, rs_manual_clock_now(&m)));
    uint64_t wait_ns = 0;
    EXPECT(rs_token_bucket_reserve(tb, 1, RS_SEC(1), &wait_ns) == RS_OK && wait_ns == RS_MS(100));
    EXPECT(rs_token_bucket_reserve(tb, 3, 0, &wait_ns) == RS_E_INVAL && wait_ns == UINT64_MAX);
    EXPECT(rs_token_bucket_acquire(tb, 1, RS_SEC(1)) == RS_OK);
    EXPECT(rs_token_bucket_set_rate(tb, 20, 4) == RS_OK);
    (void)rs_token_bucket_available(tb);

    /* sliding_window.h */
    rs_sliding_window_config wc = RS_SLIDING_WINDOW_CONFIG_DEFAULT;
    wc.limit = 1;
    wc.window_ns = RS_SEC(1);
    wc.kind = RS_WINDOW_COUNTER;
    rs_sliding_window *w = NULL;
    EXPECT(rs_sliding_window_new(&wc, clock, &w) == RS_OK);
    EXPECT(rs_sliding_window_try_acquire(w, 1) && !rs_sliding_window_try_acquire(w, 1));
    EXPECT(rs_sliding_window_wait_ns(w, 1) > 0 && rs_sliding_window_count(w) == 1);
    rs_sliding_window_free(w);

    /* breaker.h */
    int changes = 0;
    rs_breaker_config brc = RS_BREAKER_CONFIG_DEFAULT;
    brc.failure_threshold = 1;
    brc.on_state_change = on_change;
    brc.ctx = &changes;
    rs_breaker *br = NULL;
    EXPECT(rs_breaker_new(&brc, clock, &br) == RS_OK);
    rs_permit permit;
    EXPECT(rs_breaker_allow(br, &permit) == RS_OK);
    rs_breaker_record(br, &permit, false);
    EXPECT(rs_breaker_state_get(br) == RS_BREAKER_OPEN && changes == 1);
    EXPECT(rs_breaker_allow(br, &permit) == RS_E_OPEN);
    rs_breaker_force(br, RS_BREAKER_CLOSED);
    EXPECT(rs_breaker_state_get(br) == RS_BREAKER_CLOSED);
    rs_breaker_force(br, RS_BREAKER_DISABLED); /* the policy's retries below fail once */

    /* budget.h */
    rs_budget_config uc = RS_BUDGET_CONFIG_DEFAULT;
    uc.max_per_window = 100;
    uc.window_ns = RS_HOUR(1);
    uc.max_per_request = 50;
    rs_budget *u = NULL;
    EXPECT(rs_budget_new(&uc, clock, &u) == RS_OK);
    rs_budget_ticket ticket;
    EXPECT(rs_budget_reserve(u, 40, &ticket) == RS_OK);
    rs_budget_commit(u, &ticket, 10);
    EXPECT(rs_budget_reserve(u, 60, &ticket) == RS_E_BUDGET);
    EXPECT(rs_budget_reserve(u, 20, &ticket) == RS_OK);
    rs_budget_cancel(u, &ticket);
    EXPECT(rs_budget_remaining(u) == 90);
    rs_budget_registry *reg = NULL;
    EXPECT(rs_budget_registry_new(&uc, 16, clock, &reg) == RS_OK);
    rs_budget *alice = rs_budget_registry_get(reg, "alice", 5);
    EXPECT(alice != NULL);

    /* policy.h */
    int calls = 0, retries = 0;
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.limits[0] = (rs_limit){ rs_token_bucket_limiter(tb), RS_UNITS_REQUESTS };
    pc.breaker = br;
    pc.account = rs_budget_account(u);
    pc.token_estimate = 10;
    pc.retry.max_attempts = 3;
    pc.retry.backoff = bc;
    pc.retry.honor_retry_after = true;
    pc.retry.max_retry_after_ns = RS_SEC(60);
    pc.retry.budget_ratio = 0.1;
    pc.retry.budget_max_tokens = 10;
    pc.timeout_ns = RS_SEC(30);
    pc.max_limiter_wait_ns = RS_SEC(1);
    pc.hooks = (rs_policy_hooks){ on_retry, on_give_up, &retries };
    EXPECT(RS_POLICY_MAX_LIMITS >= 8);
    rs_policy *p = NULL;
    EXPECT(rs_policy_new(&pc, clock, &p) == RS_OK);
    EXPECT(rs_call(p, ok_once, &calls) == RS_OK && calls == 2 && retries == 1);
    rs_call_options opts = { .token_estimate = 5, .timeout_ns = RS_SEC(5),
                             .account = rs_budget_account(alice) };
    rs_call_report report;
    EXPECT(rs_call_with(p, &opts, ok_once, &calls, &report) == RS_OK && report.attempts == 2);
    EXPECT(!rs_stop_reason_is_local(RS_STOP_RETRY_BUDGET));
    rs_call_state *c = NULL;
    EXPECT(rs_call_begin(p, NULL, &c) == RS_OK);
    rs_step s = rs_call_next(c);
    while (s.action != RS_STEP_DONE) {
        if (s.action == RS_STEP_RUN) {
            s = rs_call_complete(c, ok_once(&calls, rs_call_attempt(c)));
        } else { /* the loop's timer: the manual clock moves to its end */
            rs_manual_clock_advance(&m, s.wait_ns);
            s = rs_call_next(c);
        }
    }
    rs_call_end(c, &report);
    EXPECT(report.status == RS_OK);

    rs_client_config cc = RS_CLIENT_CONFIG_DEFAULT;
    cc.requests_per_second = 5;
    rs_client *client = NULL;
    EXPECT(rs_client_new(&cc, clock, &client) == RS_OK);
    EXPECT(rs_client_call(client, ok_once, &calls) == RS_OK);
    EXPECT(rs_client_policy(client) != NULL);
    rs_client_free(client);

    /* http.h */
    bool caller_fault = false;
    EXPECT(rs_http_classify(429, &caller_fault) == RS_RETRY && caller_fault);
    EXPECT(rs_http_classify(503, &caller_fault) == RS_RETRY && !caller_fault);
    EXPECT(rs_http_classify(404, NULL) == RS_FAIL);
    uint64_t delay_ns = 0;
    EXPECT(rs_http_retry_after("120", 3, 0, &delay_ns) == RS_OK && delay_ns == RS_SEC(120));
    EXPECT(rs_http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 29, 784111767, &delay_ns) ==
               RS_OK &&
           delay_ns == RS_SEC(10));
    EXPECT(rs_http_retry_after("soon", 4, 0, &delay_ns) == RS_E_INVAL);
    rs_http_feedback fb;
    rs_http_feedback_init(&fb);
    EXPECT(rs_http_feedback_header(&fb, "x-ratelimit-remaining-requests", 30, "0", 1, 0) == RS_OK);
    EXPECT(rs_http_feedback_header(&fb, "x-ratelimit-reset-requests", 26, "6m0s", 4, 0) == RS_OK);
    EXPECT(fb.remaining_requests == 0 && fb.reset_requests_ns == RS_MIN(6));
    EXPECT(fb.limit_tokens == -1 && fb.retry_after_ns == 0);
    rs_attempt attempt;
    memset(&attempt, 0, sizeof attempt);
    rs_http_feedback_apply(&fb, &attempt);
    EXPECT(attempt.pause_ns == RS_MIN(6));
    EXPECT(attempt.advertised_rate == 0.0 && rs_http_feedback_request_rate(&fb) == 0.0);
    EXPECT(rs_http_feedback_header(&fb, "x-ratelimit-limit-requests", 26, "600", 3, 0) == RS_OK);
    EXPECT(rs_http_feedback_request_rate(&fb) == 10.0); /* per minute */
    rs_http_feedback_apply(&fb, &attempt);
    EXPECT(attempt.advertised_rate == 10.0);
    EXPECT(pc.share_server_pause);

    /* bulkhead.h, and its slot in the policy */
    rs_bulkhead_config hc = { 1, 2 };     /* max_concurrent, max_queue */
    static const rs_bulkhead_config bulkhead_init = RS_BULKHEAD_CONFIG_INIT;
    EXPECT(bulkhead_init.max_concurrent >= 1);
    rs_bulkhead *bh = NULL;
    EXPECT(rs_bulkhead_new(&hc, clock, &bh) == RS_OK);
    EXPECT(rs_bulkhead_try_enter(bh));
    EXPECT(!rs_bulkhead_try_enter(bh) && rs_bulkhead_in_flight(bh) == 1);
    EXPECT(rs_bulkhead_enter(bh, 0) == RS_E_LIMITED);
    rs_bulkhead_leave(bh);
    EXPECT(rs_bulkhead_enter(bh, RS_SEC(1)) == RS_OK);
    rs_bulkhead_leave(bh);
    EXPECT(rs_bulkhead_in_flight(bh) == 0);
    rs_policy_config bp = RS_POLICY_CONFIG_DEFAULT;
    bp.bulkhead = bh;
    rs_policy *bpol = NULL;
    EXPECT(rs_policy_new(&bp, clock, &bpol) == RS_OK);
    EXPECT(rs_call(bpol, ok_once, &calls) == RS_OK && rs_bulkhead_in_flight(bh) == 0);
    rs_bulkhead_snapshot hm;
    /* two enters of ours, and one per attempt of the call (it retries once) */
    EXPECT(rs_bulkhead_metrics(bh, &hm) == RS_OK && hm.entered == 4 && hm.refused == 2);
    EXPECT(rs_bulkhead_metrics(NULL, &hm) == RS_E_INVAL);
    rs_exporter *hx = NULL;
    EXPECT(rs_exporter_new(NULL, &hx) == RS_OK && rs_exporter_add_bulkhead(hx, "db", bh) == RS_OK);
    char htext[4096];
    size_t hneeded = 0;
    EXPECT(rs_exporter_write_buffer(hx, RS_METRICS_PROMETHEUS, htext, sizeof htext, &hneeded) ==
           RS_OK);
    EXPECT(strstr(htext, "resilience_bulkhead_calls_total{name=\"db\",outcome=\"refused\"} 2\n") !=
           NULL);
    rs_exporter_free(hx);
    rs_policy_free(bpol);
    rs_bulkhead_free(bh);

    /* adaptive.h: the snapshots */
    rs_adaptive_limit_config alc = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    rs_adaptive_limit *al = NULL;
    rs_adaptive_limit_snapshot alm;
    EXPECT(rs_adaptive_limit_new(&alc, clock, &al) == RS_OK);
    EXPECT(rs_adaptive_limit_metrics(al, &alm) == RS_OK && alm.limit == alc.initial_limit &&
           alm.max_limit == alc.max_limit);
    rs_adaptive_limit_free(al);
    rs_adaptive_rate_config arc = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_adaptive_rate *ar = NULL;
    rs_adaptive_rate_snapshot arm;
    EXPECT(rs_adaptive_rate_new(&arc, clock, &ar) == RS_OK);
    EXPECT(rs_adaptive_rate_metrics(ar, &arm) == RS_OK && arm.rate == 0.0 && arm.throttles == 0);
    rs_adaptive_rate_free(ar);

    rs_policy_free(p);
    rs_budget_registry_release(reg, alice);
    rs_budget_registry_free(reg);
    rs_budget_free(u);
    rs_breaker_free(br);
    rs_token_bucket_free(tb);
    printf("contract: ok\n");
    return 0;
}
