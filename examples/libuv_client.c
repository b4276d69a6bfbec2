/* 100 concurrent logical calls against a simulated flaky service, on a libuv
 * event loop: nothing ever sleeps. Each call is an rs_call_state; the loop's
 * timers run the backoff waits and deliver the service's responses.
 *
 * The service answers after 2-8 ms and fails 40% of requests with a
 * retryable error. The policy allows 5 attempts with full-jitter backoff
 * from 5 ms, and a 2 s deadline per call. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "resilience.h"

#define CALLS 100
#define MS UINT64_C(1000000)

typedef struct logical_call {
    uv_timer_t timer; /* backoff waits and the simulated response share it */
    rs_call_state *state; /* lives in state_memory: no allocation per call */
    void *state_memory;
    bool awaiting_response;
    int id;
} logical_call;

static rs_policy *policy;
static uint64_t rng_state = 12345;
static int finished, succeeded, open_handles;
static uint64_t attempts_total;

static uint64_t next_random(void)
{
    uint64_t x = (rng_state += 0x9E3779B97F4A7C15u);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

static void on_timer(uv_timer_t *timer);

static void on_closed(uv_handle_t *handle)
{
    (void)handle;
    open_handles--;
}

/* Carries out one instruction of the call's step machine. */
static void drive(logical_call *call, rs_step step)
{
    switch (step.action) {
    case RS_STEP_RUN: {
        /* "Send" the request; the response comes back on the timer. */
        call->awaiting_response = true;
        uint64_t latency_ms = 2 + next_random() % 7;
        uv_timer_start(&call->timer, on_timer, latency_ms, 0);
        break;
    }
    case RS_STEP_WAIT: {
        call->awaiting_response = false;
        uint64_t ms = (step.wait_ns + MS - 1) / MS; /* never wake early */
        uv_timer_start(&call->timer, on_timer, ms, 0);
        break;
    }
    case RS_STEP_DONE: {
        rs_call_report report;
        rs_call_end(call->state, &report);
        call->state = NULL;
        attempts_total += report.attempts;
        finished++;
        succeeded += report.status == RS_OK;
        if (report.status != RS_OK) {
            printf("  call %3d gave up: %s after %u attempts (%s)\n", call->id,
                   rs_status_name(report.status), report.attempts,
                   rs_stop_reason_name(report.reason));
        }
        uv_close((uv_handle_t *)&call->timer, on_closed);
        break;
    }
    }
}

static void on_timer(uv_timer_t *timer)
{
    logical_call *call = timer->data;
    if (!call->awaiting_response) {
        drive(call, rs_call_next(call->state)); /* a backoff wait is over */
        return;
    }
    rs_attempt *attempt = rs_call_attempt(call->state);
    bool failed = next_random() % 100 < 40;
    attempt->error = failed ? 503 : 200;
    drive(call, rs_call_complete(call->state, failed ? RS_RETRY : RS_SUCCESS));
}

int main(void)
{
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;
    cfg.retry.max_attempts = 5;
    cfg.retry.backoff.base_ns = RS_MS(5);
    cfg.retry.backoff.max_ns = RS_MS(200);
    cfg.retry.backoff.seed = 99;
    cfg.retry.budget_ratio = 0.0; /* a 40% failure rate would drain it: show every retry */
    cfg.timeout_ns = RS_MS(2000);
    int rc = rs_policy_new(&cfg, NULL, &policy);
    if (rc != RS_OK) {
        fprintf(stderr, "rs_policy_new: %s\n", rs_strerror(rc));
        return EXIT_FAILURE;
    }

    uv_loop_t *loop = uv_default_loop();
    static logical_call calls[CALLS];
    uint64_t start = uv_hrtime();
    for (int i = 0; i < CALLS; i++) {
        calls[i].id = i;
        uv_timer_init(loop, &calls[i].timer);
        calls[i].timer.data = &calls[i];
        open_handles++;
        /* The call state lives in the request object, as an event loop's
         * per-connection memory would hold it: the loop allocates nothing
         * per call. */
        calls[i].state_memory = malloc(rs_call_state_size());
        rc = calls[i].state_memory == NULL
                 ? RS_E_NOMEM
                 : rs_call_begin_in(policy, NULL, calls[i].state_memory, rs_call_state_size(),
                                    &calls[i].state);
        if (rc != RS_OK) {
            fprintf(stderr, "rs_call_begin_in: %s %s\n", rs_strerror(rc), rs_last_error());
            return EXIT_FAILURE;
        }
        drive(&calls[i], rs_call_next(calls[i].state));
    }
    uv_run(loop, UV_RUN_DEFAULT);
    double elapsed_ms = (double)(uv_hrtime() - start) / 1e6;

    rs_policy_stats stats;
    rs_policy_stats_get(policy, &stats);
    printf("libuv: %d logical calls, %d succeeded, %" PRIu64 " attempts (%" PRIu64
           " retries), %.0f ms of wall time, one thread, no sleeps\n",
           finished, succeeded, attempts_total, stats.retries, elapsed_ms);
    rs_policy_free(policy);
    uv_loop_close(loop);
    for (int i = 0; i < CALLS; i++) {
        free(calls[i].state_memory);
    }

    /* With 5 attempts at 40% failure, ~99% of calls succeed. */
    if (finished != CALLS || open_handles != 0 || succeeded < 90 || stats.attempts != attempts_total) {
        fprintf(stderr, "libuv_client: unexpected outcome\n");
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
