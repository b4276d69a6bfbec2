/* The composition: rs_call, the step API, the retry budget and rs_client,
 * all on the manual clock with scripted (seeded) faults. */
#include "support/fault_alloc.h"
#include "support/testing.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "resilience.h"

#if RS_TEST_THREADS
#include <pthread.h>
#include <sched.h>
#endif

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

static rs_manual_clock clock_;

/* A scripted remote service: verdicts in order (the last one repeats), and
 * what it reports with each. Records when every attempt started. */
typedef struct script {
    rs_verdict verdicts[16];
    size_t count;
    uint64_t retry_after_ns;
    uint64_t tokens_used;
    uint64_t duration_ns; /* each attempt takes this long on the clock */
    bool caller_fault;
    int error;
    size_t calls;
    uint64_t started_ns[64];
    uint32_t numbers[64];
    uint64_t deadlines[64];
} script;

static rs_verdict scripted(void *ctx, rs_attempt *a)
{
    script *s = ctx;
    size_t i = s->calls < s->count ? s->calls : s->count - 1;
    if (s->calls < 64) {
        s->started_ns[s->calls] = rs_manual_clock_now(&clock_);
        s->numbers[s->calls] = a->number;
        s->deadlines[s->calls] = a->deadline_ns;
    }
    s->calls++;
    rs_manual_clock_advance(&clock_, s->duration_ns);
    a->retry_after_ns = s->retry_after_ns;
    a->tokens_used = s->tokens_used;
    a->caller_fault = s->caller_fault;
    a->error = s->error;
    return s->verdicts[i];
}

static script always(rs_verdict v)
{
    script s;
    memset(&s, 0, sizeof s);
    s.verdicts[0] = v;
    s.count = 1;
    return s;
}

/* Fixed delays (no jitter), base 100 ms doubling, so tests can predict time. */
static rs_policy_config plain_config(void)
{
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;
    cfg.retry.backoff.jitter = RS_JITTER_NONE;
    cfg.retry.backoff.base_ns = 100 * MS;
    cfg.retry.backoff.seed = 1;
    cfg.retry.budget_ratio = 0.0; /* the retry budget has tests of its own */
    cfg.retry.retry_after_jitter = 0.0; /* so is the jitter after a Retry-After */
    return cfg;
}

static rs_policy *make_policy(const rs_policy_config *cfg)
{
    rs_policy *p = NULL;
    assert_int_equal(rs_policy_new(cfg, rs_manual_clock_get(&clock_), &p), RS_OK);
    return p;
}

static int setup(void **state)
{
    (void)state;
    rs_manual_clock_init(&clock_, 1000 * SEC);
    return 0;
}

static void success_first_try(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    s.error = 7;
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.numbers[0], 1);
    assert_int_equal(s.deadlines[0], 0);
    assert_int_equal(r.status, RS_OK);
    assert_int_equal(r.reason, RS_STOP_SUCCESS);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.retries, 0);
    assert_int_equal(r.waited_ns, 0);
    assert_int_equal(r.last_error, 7);
    assert_int_equal(rs_manual_clock_sleep_count(&clock_), 0);
    rs_policy_stats st;
    rs_policy_stats_get(p, &st);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.successes, 1);
    assert_int_equal(st.attempts, 1);
    rs_policy_free(p);
}

static void retry_then_success_waits_the_backoff(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.retry.max_attempts = 5;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    s.verdicts[1] = RS_RETRY;
    s.verdicts[2] = RS_SUCCESS;
    s.count = 3;
    uint64_t t0 = rs_manual_clock_now(&clock_);
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    assert_int_equal(s.calls, 3);
    assert_int_equal(s.numbers[1], 2);
    assert_int_equal(s.numbers[2], 3);
    assert_int_equal(s.started_ns[1] - s.started_ns[0], 100 * MS);
    assert_int_equal(s.started_ns[2] - s.started_ns[1], 200 * MS);
    assert_int_equal(rs_manual_clock_now(&clock_) - t0, 300 * MS);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.retries, 2);
    assert_int_equal(r.waited_ns, 300 * MS);
    assert_int_equal(r.limiter_wait_ns, 0);
    assert_int_equal(r.elapsed_ns, 300 * MS);
    rs_policy_free(p);
}

static void exhausted_after_max_attempts(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.retry.max_attempts = 3;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    s.error = 503;
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_EXHAUSTED);
    assert_int_equal(s.calls, 3);
    assert_int_equal(r.reason, RS_STOP_EXHAUSTED);
    assert_int_equal(r.last_error, 503);
    assert_false(rs_stop_reason_is_local(r.reason));
    assert_int_equal(rs_manual_clock_sleep_count(&clock_), 2); /* no sleep after the last */
    rs_policy_stats st;
    rs_policy_stats_get(p, &st);
    assert_int_equal(st.exhausted, 1);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.attempts, 3);
    rs_policy_free(p);

    cfg.retry.max_attempts = 1;
    p = make_policy(&cfg);
    s = always(RS_RETRY);
    assert_int_equal(rs_call(p, scripted, &s), RS_E_EXHAUSTED);
    assert_int_equal(s.calls, 1);
    rs_policy_free(p);
}

static void permanent_failure_is_not_retried(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_FAIL);
    s.error = 400;
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_FAILED);
    assert_int_equal(s.calls, 1);
    assert_int_equal(r.reason, RS_STOP_FAILED);
    assert_int_equal(r.last_error, 400);
    assert_int_equal(rs_manual_clock_sleep_count(&clock_), 0);
    rs_policy_free(p);
}

static rs_breaker *make_breaker(uint32_t threshold, uint64_t open_ns)
{
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    bc.failure_threshold = threshold;
    bc.failure_rate = 0.0;
    bc.slow_call_rate = 0.0;
    bc.open_ns = open_ns;
    bc.half_open_max_calls = 1;
    bc.success_threshold = 1;
    rs_breaker *b = NULL;
    assert_int_equal(rs_breaker_new(&bc, rs_manual_clock_get(&clock_), &b), RS_OK);
    return b;
}

static void breaker_trip_mid_call_stops_at_once(void **state)
{
    (void)state;
    rs_breaker *b = make_breaker(2, 30 * SEC);
    rs_policy_config cfg = plain_config();
    cfg.breaker = b;
    cfg.retry.max_attempts = 5;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_OPEN);
    assert_int_equal(s.calls, 2); /* the third attempt met an open breaker */
    assert_int_equal(r.reason, RS_STOP_BREAKER);
    assert_true(rs_stop_reason_is_local(r.reason));
    assert_int_equal(rs_breaker_state_get(b), RS_BREAKER_OPEN);

    /* Open: the next call is refused without running fn or sleeping. */
    s = always(RS_SUCCESS);
    uint64_t sleeps = rs_manual_clock_sleep_count(&clock_);
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_OPEN);
    assert_int_equal(s.calls, 0);
    assert_int_equal(r.attempts, 0);
    assert_int_equal(rs_manual_clock_sleep_count(&clock_), sleeps);
    rs_policy_stats st;
    rs_policy_stats_get(p, &st);
    assert_int_equal(st.rejected_breaker, 2);

    /* After the recovery timeout a probe goes through and closes it. */
    rs_manual_clock_advance(&clock_, 30 * SEC);
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(rs_breaker_state_get(b), RS_BREAKER_CLOSED);
    rs_policy_free(p);
    rs_breaker_free(b);
}

static void caller_faults_do_not_trip_the_breaker(void **state)
{
    (void)state;
    rs_breaker *b = make_breaker(2, 30 * SEC);
    rs_policy_config cfg = plain_config();
    cfg.breaker = b;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_FAIL);
    s.caller_fault = true;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(rs_call(p, scripted, &s), RS_E_FAILED);
    }
    assert_int_equal(rs_breaker_state_get(b), RS_BREAKER_CLOSED);
    s.caller_fault = false; /* the service's fault: two of them open it */
    assert_int_equal(rs_call(p, scripted, &s), RS_E_FAILED);
    assert_int_equal(rs_call(p, scripted, &s), RS_E_FAILED);
    assert_int_equal(rs_breaker_state_get(b), RS_BREAKER_OPEN);
    rs_policy_free(p);
    rs_breaker_free(b);
}

static void retry_after_overrides_a_shorter_backoff(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    s.verdicts[1] = RS_SUCCESS;
    s.count = 2;
    s.retry_after_ns = 5 * SEC;
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    /* Never a nanosecond early: an early retry only earns another 429. */
    assert_int_equal(s.started_ns[1] - s.started_ns[0], 5 * SEC);
    assert_int_equal(r.retry_after_ns, 5 * SEC);
    rs_policy_free(p);

    /* A backoff longer than the Retry-After wins. */
    cfg.retry.backoff.base_ns = 8 * SEC;
    cfg.retry.backoff.max_ns = 8 * SEC;
    p = make_policy(&cfg);
    s.calls = 0;
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(s.started_ns[1] - s.started_ns[0], 8 * SEC);
    rs_policy_free(p);

    /* Not honoured when switched off. */
    cfg = plain_config();
    cfg.retry.honor_retry_after = false;
    p = make_policy(&cfg);
    s.calls = 0;
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(s.started_ns[1] - s.started_ns[0], 100 * MS);
    rs_policy_free(p);
}

static void retry_after_beyond_the_cap_ends_the_call(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.retry.max_retry_after_ns = 60 * SEC;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    s.retry_after_ns = 61 * SEC;
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_EXHAUSTED);
    assert_int_equal(s.calls, 1);
    assert_int_equal(r.reason, RS_STOP_RETRY_AFTER);
    assert_int_equal(r.retry_after_ns, 61 * SEC);
    assert_int_equal(rs_manual_clock_sleep_count(&clock_), 0);
    /* The server asked every caller to wait: the shared pause, capped at
     * max_retry_after_ns, refuses the next call at once (its patience is
     * 1 s) and lets calls through after 60 s, although the server said 61. */
    s.calls = 0;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_LIMITED);
    assert_int_equal(r.reason, RS_STOP_SERVER_PAUSE);
    assert_true(rs_stop_reason_is_local(r.reason));
    assert_int_equal(s.calls, 0);
    rs_manual_clock_advance(&clock_, 60 * SEC);
    /* At exactly the cap it waits. */
    s.retry_after_ns = 60 * SEC;
    s.verdicts[1] = RS_SUCCESS;
    s.count = 2;
    s.calls = 0;
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(s.started_ns[1] - s.started_ns[0], 60 * SEC);
    rs_policy_free(p);
}

/* A step-API call begun at `now`, run to its first instruction. */
static rs_call_state *begin(rs_policy *p, const rs_call_options *opts, uint64_t now,
                            rs_step *first)
{
    rs_call_state *c = NULL;
    assert_int_equal(rs_call_begin_at(p, opts, &c, now), RS_OK);
    *first = rs_call_next_at(c, now);
    return c;
}

/* A Retry-After on one call holds every call on the policy: no attempt of
 * any call starts before it, a call too impatient for it is refused at
 * once, and the wait counts as limiter wait. */
static void server_pause_holds_every_call(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.max_limiter_wait_ns = 10 * SEC;
    rs_policy *p = make_policy(&cfg);
    uint64_t t0 = rs_manual_clock_now(&clock_);
    rs_step st;
    rs_call_state *a = begin(p, NULL, t0, &st);
    assert_int_equal(st.action, RS_STEP_RUN);
    rs_call_attempt(a)->retry_after_ns = 3 * SEC; /* a 429 */
    rs_call_attempt(a)->caller_fault = true;
    st = rs_call_complete_at(a, RS_RETRY, t0);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_int_equal(st.wait_ns, 3 * SEC);

    /* B arrives a second later: it waits the 2 s left, then runs. */
    rs_call_state *b = begin(p, NULL, t0 + 1 * SEC, &st);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_int_equal(st.wait_ns, 2 * SEC);
    assert_int_equal(rs_call_next_at(b, t0 + 3 * SEC - 1).action, RS_STEP_WAIT);
    assert_int_equal(rs_call_next_at(b, t0 + 3 * SEC).action, RS_STEP_RUN);
    rs_call_report r;
    st = rs_call_complete_at(b, RS_SUCCESS, t0 + 3 * SEC);
    assert_int_equal(st.status, RS_OK);
    rs_call_end_at(b, &r, t0 + 3 * SEC);
    assert_int_equal(r.limiter_wait_ns, 2 * SEC);

    /* C cannot wait that long (its deadline is 1.5 s away): refused at
     * once, fn never runs. */
    rs_call_options hurried = { .token_estimate = 0, .timeout_ns = 1500 * MS };
    rs_call_state *c = begin(p, &hurried, t0 + 1 * SEC, &st);
    assert_int_equal(st.action, RS_STEP_DONE);
    assert_int_equal(st.status, RS_E_LIMITED);
    rs_call_end_at(c, &r, t0 + 1 * SEC);
    assert_int_equal(r.reason, RS_STOP_SERVER_PAUSE);
    assert_int_equal(r.attempts, 0);

    /* A's retry starts exactly at the end of the pause it asked for. */
    assert_int_equal(rs_call_next_at(a, t0 + 3 * SEC).action, RS_STEP_RUN);
    /* ... and a later answer lengthens the pause for everyone: the quota
     * is spent for 5 s more (pause_ns), though this attempt succeeded. */
    rs_call_attempt(a)->pause_ns = 5 * SEC;
    assert_int_equal(rs_call_complete_at(a, RS_SUCCESS, t0 + 3 * SEC).status, RS_OK);
    rs_call_end_at(a, NULL, t0 + 3 * SEC);
    rs_call_state *d = begin(p, NULL, t0 + 4 * SEC, &st);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_int_equal(st.wait_ns, 4 * SEC);
    rs_call_end_at(d, NULL, t0 + 4 * SEC);

    rs_policy_stats stats;
    rs_policy_stats_get(p, &stats);
    assert_int_equal(stats.server_pauses, 2);
    assert_int_equal(stats.rejected_server_pause, 1);
    rs_policy_free(p);
}

/* After a Retry-After or a shared pause, calls come back at random instants
 * spread over retry_after_jitter of it, never before its end, never past a
 * call's patience or deadline. */
static void retry_after_jitter_spreads_the_return(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.retry.retry_after_jitter = 0.5;
    cfg.retry.max_attempts = 2;
    cfg.max_limiter_wait_ns = 10 * SEC;
    rs_policy *p = make_policy(&cfg);
    uint64_t t0 = rs_manual_clock_now(&clock_);
    rs_step st;
    /* The receiving call: its retry within [2 s, 3 s]. */
    rs_call_state *a = begin(p, NULL, t0, &st);
    rs_call_attempt(a)->retry_after_ns = 2 * SEC;
    st = rs_call_complete_at(a, RS_RETRY, t0);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_true(st.wait_ns >= 2 * SEC && st.wait_ns <= 3 * SEC);
    /* Calls held by the pause: each wakes within [end, end + 1 s], at
     * different instants. */
    enum { HELD = 16 };
    rs_call_state *held[HELD];
    uint64_t earliest = UINT64_MAX, latest = 0;
    for (int i = 0; i < HELD; i++) {
        held[i] = begin(p, NULL, t0, &st);
        assert_int_equal(st.action, RS_STEP_WAIT);
        assert_true(st.wait_ns >= 2 * SEC && st.wait_ns <= 3 * SEC);
        earliest = st.wait_ns < earliest ? st.wait_ns : earliest;
        latest = st.wait_ns > latest ? st.wait_ns : latest;
        /* a timer that fires at its end starts the attempt */
        assert_int_equal(rs_call_next_at(held[i], t0 + st.wait_ns).action, RS_STEP_RUN);
    }
    assert_true(latest - earliest >= 500 * MS); /* 16 draws over 1 s: spread */
    /* A call whose patience ends within the jitter waits only until then. */
    rs_call_options hurried = { .token_estimate = 0, .timeout_ns = 2100 * MS };
    rs_call_state *h = begin(p, &hurried, t0, &st);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_true(st.wait_ns >= 2 * SEC && st.wait_ns < 2100 * MS);
    rs_call_end_at(h, NULL, t0);
    for (int i = 0; i < HELD; i++) {
        rs_call_end_at(held[i], NULL, t0 + 3 * SEC);
    }
    rs_call_end_at(a, NULL, t0);
    rs_policy_free(p);

    /* Out of range is refused, naming the field. */
    cfg.retry.retry_after_jitter = 10.5;
    assert_int_equal(rs_policy_config_validate(&cfg, rs_manual_clock_get(&clock_)), RS_E_INVAL);
    assert_non_null(strstr(rs_last_error(), "retry.retry_after_jitter"));
}

/* Without share_server_pause (or without honouring Retry-After), only the
 * call that received the Retry-After waits for it. */
static void server_pause_can_be_per_call(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        rs_policy_config cfg = plain_config();
        cfg.max_limiter_wait_ns = 10 * SEC;
        if (variant == 0) {
            cfg.share_server_pause = false;
        } else {
            cfg.retry.honor_retry_after = false;
        }
        rs_policy *p = make_policy(&cfg);
        uint64_t t0 = rs_manual_clock_now(&clock_);
        rs_step st;
        rs_call_state *a = begin(p, NULL, t0, &st);
        rs_call_attempt(a)->retry_after_ns = 3 * SEC;
        rs_call_attempt(a)->pause_ns = 3 * SEC;
        st = rs_call_complete_at(a, RS_RETRY, t0);
        assert_int_equal(st.wait_ns, variant == 0 ? 3 * SEC : 100 * MS);
        rs_call_state *b = begin(p, NULL, t0 + 1 * SEC, &st);
        assert_int_equal(st.action, RS_STEP_RUN);
        rs_call_end_at(b, NULL, t0 + 1 * SEC);
        rs_call_end_at(a, NULL, t0 + 1 * SEC);
        rs_policy_free(p);
    }
}

/* The deadline is never overslept: when the next wait would cross it, the
 * call ends at once. */
static void deadline_is_never_overslept(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.retry.backoff.base_ns = 400 * MS;
    cfg.retry.max_attempts = 10;
    cfg.timeout_ns = 1 * SEC;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    uint64_t t0 = rs_manual_clock_now(&clock_);
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_TIMEOUT);
    /* attempts at 0 and 400 ms; the next would start at 1200 ms */
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.deadlines[0], t0 + 1 * SEC);
    assert_int_equal(s.deadlines[1], t0 + 1 * SEC);
    assert_int_equal(r.reason, RS_STOP_TIMEOUT);
    assert_int_equal(rs_manual_clock_now(&clock_) - t0, 400 * MS);
    assert_true(rs_manual_clock_now(&clock_) <= t0 + cfg.timeout_ns);
    rs_policy_free(p);

    /* A slow fn that overruns the deadline is not tried again. */
    cfg.retry.backoff.base_ns = 1 * MS;
    p = make_policy(&cfg);
    s = always(RS_RETRY);
    s.duration_ns = 700 * MS;
    t0 = rs_manual_clock_now(&clock_);
    assert_int_equal(rs_call(p, scripted, &s), RS_E_TIMEOUT);
    assert_int_equal(s.calls, 2);
    assert_int_equal(rs_manual_clock_now(&clock_) - t0, 1 * MS + 1400 * MS);
    rs_policy_free(p);

    /* Per-call options override the policy's timeout. */
    cfg.retry.backoff.base_ns = 400 * MS;
    p = make_policy(&cfg);
    s = always(RS_RETRY);
    rs_call_options opts = { .token_estimate = 0, .timeout_ns = 2 * SEC };
    assert_int_equal(rs_call_with(p, &opts, scripted, &s, NULL), RS_E_TIMEOUT);
    assert_int_equal(s.calls, 3); /* 0, 400, 1200; the next at 2800 */
    rs_policy_free(p);
}

static rs_token_bucket *make_bucket(double rate, uint64_t burst)
{
    rs_token_bucket_config tc = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    tc.rate = rate;
    tc.burst = burst;
    rs_token_bucket *tb = NULL;
    assert_int_equal(rs_token_bucket_new(&tc, rs_manual_clock_get(&clock_), &tb), RS_OK);
    return tb;
}

/* An exact (log) window, so a test can say to the nanosecond when room
 * comes back. */
static rs_sliding_window *make_log_window(uint64_t limit, uint64_t window_ns)
{
    rs_sliding_window_config wc = RS_SLIDING_WINDOW_CONFIG_DEFAULT;
    wc.limit = limit;
    wc.window_ns = window_ns;
    wc.kind = RS_WINDOW_LOG;
    rs_sliding_window *w = NULL;
    assert_int_equal(rs_sliding_window_new(&wc, rs_manual_clock_get(&clock_), &w), RS_OK);
    return w;
}

/* A limit of the chain: local modules counted per request or per token. */
static rs_limit requests(rs_limiter l) { return (rs_limit){ l, RS_UNITS_REQUESTS }; }
static rs_limit tokens(rs_limiter l) { return (rs_limit){ l, RS_UNITS_TOKENS }; }
static rs_limit bucket_limit(rs_token_bucket *tb) { return requests(rs_token_bucket_limiter(tb)); }
static rs_limit window_limit(rs_sliding_window *w)
{
    return requests(rs_sliding_window_limiter(w));
}

/* A call that passed the pause check and then waited for a limit does not
 * run into a pause that began meanwhile: it keeps its token and runs when
 * the pause ends. */
static void server_pause_holds_calls_waiting_for_limits(void **state)
{
    (void)state;
    rs_token_bucket *tb = make_bucket(1.0, 1);
    rs_policy_config cfg = plain_config();
    cfg.limits[0] = bucket_limit(tb);
    cfg.max_limiter_wait_ns = 10 * SEC;
    rs_policy *p = make_policy(&cfg);
    uint64_t t0 = rs_manual_clock_now(&clock_);
    rs_step st;
    rs_call_state *a = begin(p, NULL, t0, &st);
    assert_int_equal(st.action, RS_STEP_RUN); /* took the only token */
    rs_call_state *b = begin(p, NULL, t0, &st);
    assert_int_equal(st.action, RS_STEP_WAIT); /* its token in 1 s */
    assert_int_equal(st.wait_ns, 1 * SEC);
    rs_call_attempt(a)->retry_after_ns = 2 * SEC; /* A's answer: a 429 */
    rs_call_attempt(a)->caller_fault = true;
    assert_int_equal(rs_call_complete_at(a, RS_RETRY, t0 + 500 * MS).action, RS_STEP_WAIT);
    st = rs_call_next_at(b, t0 + 1 * SEC);
    assert_int_equal(st.action, RS_STEP_WAIT); /* the pause, until t0 + 2.5 s */
    assert_int_equal(st.wait_ns, 1500 * MS);
    assert_int_equal(rs_call_next_at(b, t0 + 2500 * MS).action, RS_STEP_RUN);
    /* it kept the token it had, and took no other: the bucket is full again */
    assert_int_equal(rs_token_bucket_wait_ns_at(tb, 1, t0 + 2500 * MS), 0);
    rs_call_end_at(b, NULL, t0 + 2500 * MS);
    rs_call_end_at(a, NULL, t0 + 2500 * MS);
    rs_policy_free(p);
    rs_token_bucket_free(tb);
}

static void limiter_wait_is_bounded(void **state)
{
    (void)state;
    rs_token_bucket *tb = make_bucket(1.0, 1);
    rs_policy_config cfg = plain_config();
    cfg.limits[0] = bucket_limit(tb);
    cfg.max_limiter_wait_ns = 2 * SEC;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    assert_int_equal(r.limiter_wait_ns, 0);
    /* The bucket is empty: the next call waits exactly one token's time. */
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    assert_int_equal(r.limiter_wait_ns, 1 * SEC);
    assert_int_equal(r.waited_ns, 1 * SEC);
    assert_int_equal(s.started_ns[1] - s.started_ns[0], 1 * SEC);
    rs_policy_free(p);

    /* Patience shorter than the wait: refused at once, fn not run. */
    cfg.max_limiter_wait_ns = 500 * MS;
    p = make_policy(&cfg);
    s.calls = 0;
    uint64_t sleeps = rs_manual_clock_sleep_count(&clock_);
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_LIMITED);
    assert_int_equal(s.calls, 0);
    assert_int_equal(r.reason, RS_STOP_LIMITER);
    assert_true(rs_stop_reason_is_local(r.reason));
    assert_int_equal(rs_manual_clock_sleep_count(&clock_), sleeps);
    rs_policy_free(p);

    /* The deadline bounds the wait too: a limiter that would need to wait
     * past it refuses (RS_E_LIMITED, as DESIGN.md defines it), at once. */
    cfg.max_limiter_wait_ns = 5 * SEC;
    cfg.timeout_ns = 300 * MS;
    p = make_policy(&cfg);
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_LIMITED);
    assert_int_equal(r.reason, RS_STOP_LIMITER);
    assert_int_equal(s.calls, 0);
    assert_int_equal(rs_manual_clock_sleep_count(&clock_), sleeps);
    rs_policy_free(p);

    /* A wait that would end exactly on the deadline leaves fn no time: also
     * refused. One nanosecond earlier is fine. */
    rs_manual_clock_advance(&clock_, 2 * SEC); /* the bucket is full again */
    assert_true(rs_token_bucket_try_acquire(tb, 1));
    cfg.timeout_ns = 1 * SEC;
    p = make_policy(&cfg);
    s.calls = 0;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_LIMITED);
    assert_int_equal(s.calls, 0);
    rs_policy_free(p);
    cfg.timeout_ns = 1 * SEC + 1;
    p = make_policy(&cfg);
    uint64_t t0 = rs_manual_clock_now(&clock_);
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.started_ns[0] - t0, 1 * SEC);
    assert_int_equal(s.deadlines[0] - s.started_ns[0], 1); /* fn still has time */
    rs_policy_free(p);

    /* More tokens than the burst can never be granted. */
    cfg = plain_config();
    cfg.limits[0] = tokens(rs_token_bucket_limiter(tb));
    cfg.token_estimate = 5;
    p = make_policy(&cfg);
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_INVAL);
    assert_int_equal(r.reason, RS_STOP_LIMITER);
    rs_policy_free(p);
    rs_token_bucket_free(tb);
}

/* An open breaker refuses at once: no limiter wait first, no limiter
 * capacity spent on a call that will not be made. */
static void open_breaker_fails_fast_before_limiters(void **state)
{
    (void)state;
    rs_token_bucket *tb = make_bucket(1.0, 1);
    rs_breaker *br = make_breaker(1, 30 * SEC);
    rs_policy_config cfg = plain_config();
    cfg.limits[0] = bucket_limit(tb);
    cfg.breaker = br;
    cfg.max_limiter_wait_ns = 10 * SEC;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_FAIL);
    assert_int_equal(rs_call(p, scripted, &s), RS_E_FAILED); /* trips it */
    assert_int_equal(rs_breaker_state_get(br), RS_BREAKER_OPEN);
    uint64_t t0 = rs_manual_clock_now(&clock_);
    for (int i = 0; i < 5; i++) {
        rs_call_report r;
        assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_OPEN);
        assert_int_equal(r.reason, RS_STOP_BREAKER);
        assert_int_equal(r.limiter_wait_ns, 0);
    }
    assert_int_equal(rs_manual_clock_now(&clock_), t0);   /* nobody waited */
    assert_int_equal(rs_token_bucket_wait_ns(tb, 1), 1 * SEC); /* nothing more taken */
    rs_policy_free(p);
    rs_breaker_free(br);
    rs_token_bucket_free(tb);
}

/* With a window and a bucket, a refusal by either takes nothing from the
 * other: every limiter is asked how long it needs before any takes. */
static void one_limiter_refusing_wastes_no_other(void **state)
{
    (void)state;
    rs_sliding_window *w = make_log_window(10, 60 * SEC);
    rs_token_bucket *tb = make_bucket(1.0, 1);
    rs_policy_config cfg = plain_config();
    cfg.limits[0] = window_limit(w);
    cfg.limits[1] = bucket_limit(tb);
    cfg.max_limiter_wait_ns = 0; /* no waiting: refuse what is not free now */
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    int ok = 0, limited = 0;
    for (int i = 0; i < 10; i++) {
        int rc = rs_call(p, scripted, &s);
        ok += rc == RS_OK;
        limited += rc == RS_E_LIMITED;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(limited, 9);
    assert_int_equal(rs_sliding_window_count(w), 1); /* only the call that went out */
    rs_policy_free(p);

    /* Waiting allowed: the call waits once for the longest of the two. */
    cfg.max_limiter_wait_ns = 5 * SEC;
    p = make_policy(&cfg);
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    assert_int_equal(r.limiter_wait_ns, 1 * SEC);
    assert_int_equal(rs_sliding_window_count(w), 2);
    rs_policy_free(p);
    rs_token_bucket_free(tb);
    rs_sliding_window_free(w);
}

/* A driver whose timer fires late must not start an attempt past the
 * deadline. */
static void late_wake_does_not_run_past_the_deadline(void **state)
{
    (void)state;
    rs_token_bucket *tb = make_bucket(1.0, 1);
    assert_true(rs_token_bucket_try_acquire(tb, 1)); /* empty for 1 s */
    rs_policy_config cfg = plain_config();
    cfg.limits[0] = bucket_limit(tb);
    cfg.max_limiter_wait_ns = 5 * SEC;
    cfg.timeout_ns = 1500 * MS;
    rs_policy *p = make_policy(&cfg);
    rs_call_state *c = NULL;
    uint64_t t0 = rs_manual_clock_now(&clock_);
    assert_int_equal(rs_call_begin_at(p, NULL, &c, t0), RS_OK);
    rs_step st = rs_call_next_at(c, t0);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_int_equal(st.wait_ns, 1 * SEC);
    st = rs_call_next_at(c, t0 + 1600 * MS); /* the timer fired 600 ms late */
    assert_int_equal(st.action, RS_STEP_DONE);
    assert_int_equal(st.status, RS_E_TIMEOUT);
    rs_call_end_at(c, NULL, t0 + 1600 * MS);
    rs_policy_free(p);
    rs_token_bucket_free(tb);
}

/* Contending calls on one bucket queue in its reservations: those that fit
 * the patience wait their turn, the rest are refused at once, none sleeps
 * and then fails. */
static void contending_calls_queue_on_the_bucket(void **state)
{
    (void)state;
    rs_token_bucket *tb = make_bucket(10.0, 1);
    rs_policy_config cfg = plain_config();
    cfg.limits[0] = bucket_limit(tb);
    cfg.max_limiter_wait_ns = 1 * SEC;
    rs_policy *p = make_policy(&cfg);
    rs_call_state *calls[20];
    uint64_t t0 = rs_manual_clock_now(&clock_);
    int run_now = 0, queued = 0, refused = 0;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(rs_call_begin_at(p, NULL, &calls[i], t0), RS_OK);
        rs_step st = rs_call_next_at(calls[i], t0);
        if (st.action == RS_STEP_RUN) {
            run_now++;
        } else if (st.action == RS_STEP_WAIT) {
            assert_int_equal(st.wait_ns, (uint64_t)queued * 100 * MS + 100 * MS);
            queued++;
        } else {
            assert_int_equal(st.status, RS_E_LIMITED);
            refused++;
        }
    }
    assert_int_equal(run_now, 1);
    assert_int_equal(queued, 10);
    assert_int_equal(refused, 9);
    for (int i = 0; i < 20; i++) {
        rs_call_end_at(calls[i], NULL, t0);
    }
    rs_policy_free(p);
    rs_token_bucket_free(tb);
}

/* A retryable failure that trips the breaker ends the call at once when the
 * breaker will still be open at the retry time: no sleep, and RS_E_OPEN (a
 * local refusal), not a timeout. */
static void breaker_tripped_by_an_attempt_stops_the_retry(void **state)
{
    (void)state;
    rs_breaker *br = make_breaker(1, 30 * SEC);
    rs_policy_config cfg = plain_config();
    cfg.breaker = br;
    cfg.retry.backoff.base_ns = 5 * SEC;
    cfg.retry.backoff.max_ns = 5 * SEC;
    cfg.timeout_ns = 3 * SEC;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_OPEN);
    assert_int_equal(r.reason, RS_STOP_BREAKER);
    assert_int_equal(s.calls, 1);
    assert_int_equal(rs_manual_clock_sleep_count(&clock_), 0);
    rs_policy_free(p);
    rs_breaker_free(br);
}

/* fn may scribble on its attempt; the machine keeps its own count. */
static rs_verdict scribbling(void *ctx, rs_attempt *a)
{
    int *calls = ctx;
    (*calls)++;
    a->number = 0;
    return RS_RETRY;
}

static void fn_cannot_reset_the_attempt_count(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.retry.max_attempts = 3;
    rs_policy *p = make_policy(&cfg);
    int calls = 0;
    assert_int_equal(rs_call(p, scribbling, &calls), RS_E_EXHAUSTED);
    assert_int_equal(calls, 3);
    rs_policy_free(p);
}

static void sliding_window_is_waited_for(void **state)
{
    (void)state;
    rs_sliding_window *w = make_log_window(2, 10 * SEC);
    rs_policy_config cfg = plain_config();
    cfg.limits[0] = window_limit(w);
    cfg.max_limiter_wait_ns = 20 * SEC;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    rs_call_report r;
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    rs_manual_clock_advance(&clock_, 3 * SEC);
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    /* The third waited until the first left the window. */
    assert_int_equal(s.started_ns[2] - s.started_ns[0], 10 * SEC);
    assert_int_equal(r.limiter_wait_ns, 7 * SEC);
    rs_policy_free(p);

    cfg.max_limiter_wait_ns = 1 * SEC;
    p = make_policy(&cfg);
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_LIMITED);
    assert_int_equal(s.calls, 3);
    rs_policy_free(p);
    rs_sliding_window_free(w);
}

/* A scripted external limiter: answers in order (the last one repeats) and
 * records what it was asked. */
typedef struct fake_limiter {
    int statuses[8];
    uint64_t waits[8];
    size_t count;
    size_t asked;
    uint64_t last_units, last_now, last_patience;
} fake_limiter;

static int fake_acquire(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                        uint64_t *wait_ns)
{
    fake_limiter *f = self;
    size_t i = f->asked < f->count ? f->asked : f->count - 1;
    f->asked++;
    f->last_units = n;
    f->last_now = now_ns;
    f->last_patience = max_wait_ns;
    *wait_ns = f->waits[i];
    return f->statuses[i];
}

static const rs_limiter_ops fake_ops = { fake_acquire, "fake", NULL, false, NULL };

static fake_limiter fake(int status, uint64_t wait)
{
    fake_limiter f;
    memset(&f, 0, sizeof f);
    f.statuses[0] = status;
    f.waits[0] = wait;
    f.count = 1;
    return f;
}

static void limits_are_asked_in_order(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.max_limiter_wait_ns = 1 * SEC;
    fake_limiter first = fake(RS_OK, 0), second = fake(RS_OK, 300 * MS);
    cfg.limits[0] = requests((rs_limiter){ &fake_ops, &first });
    cfg.limits[2] = requests((rs_limiter){ &fake_ops, &second }); /* gaps are skipped */
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    rs_call_report r;
    uint64_t t0 = rs_manual_clock_now(&clock_);
    /* The second reserves: the call waits 300 ms, then runs without asking again. */
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    assert_int_equal(first.asked, 1);
    assert_int_equal(second.asked, 1);
    assert_int_equal(first.last_units, 1);
    assert_int_equal(first.last_now, t0);
    assert_int_equal(first.last_patience, 1 * SEC);
    assert_int_equal(s.started_ns[0] - t0, 300 * MS);
    assert_int_equal(r.limiter_wait_ns, 300 * MS);
    rs_policy_free(p);

    /* A refusal with a wait within patience: wait, ask the same one again. */
    first = fake(RS_E_LIMITED, 200 * MS);
    first.statuses[1] = RS_OK;
    first.count = 2;
    second = fake(RS_OK, 0);
    p = make_policy(&cfg);
    s.calls = 0;
    t0 = rs_manual_clock_now(&clock_);
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    assert_int_equal(first.asked, 2);
    assert_int_equal(first.last_patience, 800 * MS);
    assert_int_equal(s.started_ns[0] - t0, 200 * MS);
    rs_policy_free(p);

    /* A limit may count tokens instead of requests. */
    cfg.limits[0].units = RS_UNITS_TOKENS;
    cfg.token_estimate = 42;
    first = fake(RS_OK, 0);
    p = make_policy(&cfg);
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(first.last_units, 42);
    rs_policy_free(p);
}

static void limit_refusals(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.max_limiter_wait_ns = 1 * SEC;
    fake_limiter first, second = fake(RS_OK, 0);
    cfg.limits[0] = requests((rs_limiter){ &fake_ops, &first });
    cfg.limits[1] = requests((rs_limiter){ &fake_ops, &second });
    static const struct {
        int answer;
        uint64_t wait;
        int status;
        rs_stop_reason reason;
    } cases[] = {
        { RS_E_LIMITED, 2 * SEC, RS_E_LIMITED, RS_STOP_LIMITER },  /* beyond patience */
        { RS_E_LIMITED, 0, RS_E_LIMITED, RS_STOP_LIMITER },        /* no usable wait: final */
        { RS_E_LIMITED, UINT64_MAX, RS_E_LIMITED, RS_STOP_LIMITER },   /* never */
        { RS_E_OPEN, 0, RS_E_OPEN, RS_STOP_BREAKER },              /* a shared open circuit */
        { RS_E_IO, 0, RS_E_IO, RS_STOP_LIMITER },                  /* backend failed closed */
        { RS_E_INVAL, UINT64_MAX, RS_E_INVAL, RS_STOP_LIMITER },   /* can never be granted */
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        first = fake(cases[i].answer, cases[i].wait);
        second.asked = 0;
        rs_policy *p = make_policy(&cfg);
        script s = always(RS_SUCCESS);
        rs_call_report r;
        uint64_t sleeps = rs_manual_clock_sleep_count(&clock_);
        assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), cases[i].status);
        assert_int_equal(r.reason, cases[i].reason);
        assert_int_equal(s.calls, 0);
        assert_int_equal(first.asked, 1);
        assert_int_equal(second.asked, 0);
        assert_int_equal(rs_manual_clock_sleep_count(&clock_), sleeps);
        rs_policy_free(p);
    }

    /* "Never" stays never even for a caller willing to wait for ever. */
    cfg.max_limiter_wait_ns = UINT64_MAX;
    first = fake(RS_E_LIMITED, UINT64_MAX);
    rs_policy *forever = make_policy(&cfg);
    script s2 = always(RS_SUCCESS);
    assert_int_equal(rs_call(forever, scripted, &s2), RS_E_LIMITED);
    assert_int_equal(s2.calls, 0);
    rs_policy_free(forever);

    rs_limiter_ops broken = { NULL, "broken", NULL, false, NULL };
    cfg.limits[3] = requests((rs_limiter){ &broken, NULL });
    rs_policy *p = (rs_policy *)0x1;
    assert_int_equal(rs_policy_new(&cfg, NULL, &p), RS_E_INVAL);
    assert_ptr_equal(p, (rs_policy *)0x1);
}

static rs_budget *make_budget(uint64_t per_window, uint64_t per_request)
{
    rs_budget_config bc = RS_BUDGET_CONFIG_DEFAULT;
    bc.max_per_window = per_window;
    bc.max_per_request = per_request;
    bc.window_ns = 3600 * SEC;
    rs_budget *b = NULL;
    assert_int_equal(rs_budget_new(&bc, rs_manual_clock_get(&clock_), &b), RS_OK);
    return b;
}

static void budget_refusal_never_calls_fn(void **state)
{
    (void)state;
    rs_budget *b = make_budget(1000, 400);
    rs_policy_config cfg = plain_config();
    cfg.account = rs_budget_account(b);
    cfg.token_estimate = 500; /* over the per-request cap */
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_BUDGET);
    assert_int_equal(s.calls, 0);
    assert_int_equal(r.reason, RS_STOP_BUDGET);
    assert_true(rs_stop_reason_is_local(r.reason));
    assert_int_equal(rs_budget_remaining(b), 1000);
    rs_policy_stats st;
    rs_policy_stats_get(p, &st);
    assert_int_equal(st.rejected_budget, 1);
    rs_policy_free(p);
    rs_budget_free(b);
}

static void tokens_used_are_committed(void **state)
{
    (void)state;
    rs_budget *b = make_budget(1000, 1000);
    rs_policy_config cfg = plain_config();
    cfg.account = rs_budget_account(b);
    cfg.token_estimate = 500;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    s.tokens_used = 120;
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(rs_budget_remaining(b), 880);

    /* Each attempt is charged what it used; a retry reserves again. */
    s = always(RS_RETRY);
    s.verdicts[1] = RS_SUCCESS;
    s.count = 2;
    s.tokens_used = 100;
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(rs_budget_remaining(b), 680);

    /* Per-call estimate: 700 does not fit in 680. */
    rs_call_options opts = { .token_estimate = 700, .timeout_ns = 0 };
    s = always(RS_SUCCESS);
    assert_int_equal(rs_call_with(p, &opts, scripted, &s, NULL), RS_E_BUDGET);
    assert_int_equal(s.calls, 0);
    assert_int_equal(rs_budget_remaining(b), 680);

    /* A per-call budget (a user's own) is charged instead of the policy's. */
    rs_budget *user = make_budget(5000, 5000);
    opts.account = rs_budget_account(user);
    s.tokens_used = 650;
    assert_int_equal(rs_call_with(p, &opts, scripted, &s, NULL), RS_OK);
    assert_int_equal(rs_budget_remaining(user), 4350);
    assert_int_equal(rs_budget_remaining(b), 680);
    rs_budget_free(user);
    rs_policy_free(p);
    rs_budget_free(b);
}

/* A budget behind the rs_account interface (as a Redis budget would be). */
typedef struct fake_account {
    int answer;
    uint64_t reserved, committed, now;
    int commits, cancels;
} fake_account;

static int account_reserve(void *self, uint64_t estimate, uint64_t now_ns, rs_account_ticket *t)
{
    fake_account *f = self;
    f->now = now_ns;
    if (f->answer != RS_OK) {
        return f->answer;
    }
    f->reserved += estimate;
    *t = (rs_account_ticket){ estimate, now_ns, 42 };
    return RS_OK;
}

static void account_commit(void *self, const rs_account_ticket *t, uint64_t actual)
{
    fake_account *f = self;
    assert_int_equal(t->backend, 42);
    f->committed += actual;
    f->commits++;
}

static void account_cancel(void *self, const rs_account_ticket *t)
{
    fake_account *f = self;
    assert_int_equal(t->backend, 42);
    f->cancels++;
}

static const rs_account_ops account_ops = { account_reserve, account_commit, account_cancel,
                                            "fake", NULL };

static void accounts_are_charged_like_budgets(void **state)
{
    (void)state;
    fake_account f;
    memset(&f, 0, sizeof f);
    rs_policy_config cfg = plain_config();
    cfg.account = (rs_account){ &account_ops, &f };
    cfg.token_estimate = 300;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    s.tokens_used = 120;
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(f.reserved, 300);
    assert_int_equal(f.committed, 120);
    assert_int_equal(f.commits, 1);
    assert_int_equal(f.now, rs_manual_clock_now(&clock_));

    /* A refusing or failing backend: fn never runs, the status says why. */
    f.answer = RS_E_BUDGET;
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_BUDGET);
    assert_int_equal(r.reason, RS_STOP_BUDGET);
    f.answer = RS_E_IO;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_IO);
    assert_int_equal(r.reason, RS_STOP_BUDGET);
    assert_int_equal(s.calls, 1);

    /* A per-call account wins over the policy's. */
    fake_account mine;
    memset(&mine, 0, sizeof mine);
    rs_call_options opts = { .token_estimate = 10, .timeout_ns = 0,
                             .account = { &account_ops, &mine } };
    f.answer = RS_E_BUDGET;
    assert_int_equal(rs_call_with(p, &opts, scripted, &s, NULL), RS_OK);
    assert_int_equal(mine.reserved, 10);
    assert_int_equal(mine.committed, 120);
    rs_policy_free(p);

    /* An account without a reserve operation cannot charge anything. */
    static const rs_account_ops no_reserve = { NULL, account_commit, account_cancel, "broken",
                                               NULL };
    cfg.account = (rs_account){ &no_reserve, &f };
    p = (rs_policy *)0x1;
    assert_int_equal(rs_policy_new(&cfg, NULL, &p), RS_E_INVAL);
    assert_ptr_equal(p, (rs_policy *)0x1);
    assert_string_equal(rs_last_error(),
                        "rs_policy_config.account: the account has no reserve operation");
}

/* A limiter refusal after the budget reserved must give the tokens back. */
static void refusals_cancel_the_budget_reservation(void **state)
{
    (void)state;
    rs_budget *b = make_budget(1000, 1000);
    rs_breaker *br = make_breaker(1, 30 * SEC);
    rs_breaker_force(br, RS_BREAKER_FORCED_OPEN);
    rs_policy_config cfg = plain_config();
    cfg.account = rs_budget_account(b);
    cfg.breaker = br;
    cfg.token_estimate = 300;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    assert_int_equal(rs_call(p, scripted, &s), RS_E_OPEN);
    assert_int_equal(rs_budget_remaining(b), 1000);
    rs_policy_free(p);
    rs_breaker_free(br);
    rs_budget_free(b);
}

/* Under a total outage the retry budget cuts load amplification to about 1x;
 * successes refill it. */
static void retry_budget_drains_and_refills(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.retry.max_attempts = 3;
    cfg.retry.budget_ratio = 0.5;
    cfg.retry.budget_max_tokens = 10;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    int withheld = 0;
    for (int i = 0; i < 100; i++) {
        rs_call_report r;
        /* A withheld retry is the service's failure, not our throttling. */
        assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_EXHAUSTED);
        if (r.reason == RS_STOP_RETRY_BUDGET) {
            assert_false(rs_stop_reason_is_local(r.reason));
            withheld++;
        } else {
            assert_int_equal(r.reason, RS_STOP_EXHAUSTED);
        }
    }
    /* Without the budget: 300 attempts. With it (10 tokens, retry while
     * above 5 after the failure's -1): call 1 fails at 9, 8 and 7 (retried
     * twice, then out of attempts), call 2 at 6 (retried) and 5 (refused),
     * and every later call gets its first try only. */
    assert_true(s.calls <= 110);
    assert_int_equal(s.calls, 3 + 2 + 98);
    rs_policy_stats st;
    rs_policy_stats_get(p, &st);
    assert_int_equal(st.rejected_retry_budget, (uint64_t)withheld);
    assert_int_equal(withheld, 99);
    assert_int_equal(st.exhausted, 100);
    assert_int_equal(st.retries, 3);
    assert_true(st.retry_tokens < 1.0);

    /* Recovery: each success adds 0.5; a retry is allowed again once a
     * failure leaves more than 5 tokens. */
    s = always(RS_SUCCESS);
    for (int i = 0; i < 13; i++) {
        assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    }
    rs_policy_stats_get(p, &st);
    assert_true(st.retry_tokens >= 6.4999 && st.retry_tokens <= 6.5001);
    s = always(RS_RETRY);
    s.verdicts[1] = RS_SUCCESS;
    s.count = 2;
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(s.calls, 2);
    rs_policy_free(p);

    /* Off: every call gets all its attempts. */
    cfg.retry.budget_ratio = 0;
    p = make_policy(&cfg);
    s = always(RS_RETRY);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(rs_call(p, scripted, &s), RS_E_EXHAUSTED);
    }
    assert_int_equal(s.calls, 60);
    rs_policy_free(p);
}

/* A 429 (caller_fault: over quota, the service is healthy) neither spends
 * the retry budget nor is refused by it: it waits for its Retry-After and
 * gets every attempt the policy promises. */
static void retry_budget_leaves_caller_faults_alone(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.retry.max_attempts = 4;
    cfg.retry.budget_ratio = 0.1;
    cfg.retry.budget_max_tokens = 2; /* one failure away from withholding */
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    s.caller_fault = true;
    s.retry_after_ns = 1 * SEC;
    for (int i = 0; i < 10; i++) {
        rs_call_report r;
        assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_EXHAUSTED);
        assert_int_equal(r.reason, RS_STOP_EXHAUSTED);
        assert_int_equal(r.attempts, 4);
        assert_int_equal(r.retries, 3);
    }
    rs_policy_stats st;
    rs_policy_stats_get(p, &st);
    assert_true(st.retry_tokens == 2.0);
    assert_int_equal(st.rejected_retry_budget, 0);

    /* The service's own failures still spend it: the first retry of a 503
     * is withheld once the budget is at half. */
    s.caller_fault = false;
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_EXHAUSTED);
    assert_int_equal(r.reason, RS_STOP_RETRY_BUDGET);
    assert_int_equal(r.attempts, 1);
    rs_policy_free(p);
}

/* A small ratio still refills: the budget counts millionths of a token. */
static void small_retry_ratios_refill(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.retry.max_attempts = 2;
    cfg.retry.budget_ratio = 0.0005;
    cfg.retry.budget_max_tokens = 10;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    for (int i = 0; i < 10; i++) {
        (void)rs_call(p, scripted, &s);
    }
    rs_policy_stats st;
    rs_policy_stats_get(p, &st);
    assert_true(st.retry_tokens == 0.0);
    s = always(RS_SUCCESS);
    for (int i = 0; i < 12000; i++) {
        assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    }
    rs_policy_stats_get(p, &st);
    assert_true(st.retry_tokens > 5.999999 && st.retry_tokens < 6.000001);
    rs_policy_free(p);
}

typedef struct delay_log {
    uint64_t delays[8];
    int count;
} delay_log;

static void log_delay(void *ctx, const rs_attempt *a, uint64_t delay_ns)
{
    (void)a;
    delay_log *log = ctx;
    if (log->count < 8) {
        log->delays[log->count++] = delay_ns;
    }
}

static delay_log jittered_delays(uint64_t seed)
{
    delay_log log;
    memset(&log, 0, sizeof log);
    rs_policy_config cfg = plain_config();
    cfg.retry.backoff.jitter = RS_JITTER_FULL;
    cfg.retry.backoff.seed = seed;
    cfg.retry.max_attempts = 6;
    cfg.hooks.on_retry = log_delay;
    cfg.hooks.ctx = &log;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    assert_int_equal(rs_call(p, scripted, &s), RS_E_EXHAUSTED);
    rs_policy_free(p);
    return log;
}

/* With a fixed seed the jittered schedule of a call is reproducible, and
 * every delay stays within full jitter's range. */
static void jitter_is_seeded(void **state)
{
    (void)state;
    delay_log a = jittered_delays(77), b = jittered_delays(77), c = jittered_delays(78);
    assert_int_equal(a.count, 5);
    int differences = 0;
    for (int i = 0; i < a.count; i++) {
        assert_int_equal(a.delays[i], b.delays[i]);
        assert_true(a.delays[i] <= (100 * MS) << i);
        differences += a.delays[i] != c.delays[i];
    }
    assert_true(differences >= 4);
}

typedef struct hook_log {
    uint32_t retry_numbers[8];
    uint64_t retry_delays[8];
    int retries;
    int give_ups;
    int last_status;
    rs_call_report last;
} hook_log;

static void on_retry(void *ctx, const rs_attempt *a, uint64_t delay_ns)
{
    hook_log *log = ctx;
    if (log->retries < 8) {
        log->retry_numbers[log->retries] = a->number;
        log->retry_delays[log->retries] = delay_ns;
    }
    log->retries++;
}

static void on_give_up(void *ctx, const rs_call_report *r)
{
    hook_log *log = ctx;
    log->give_ups++;
    log->last_status = r->status;
    log->last = *r;
}

static void hooks_see_the_right_numbers(void **state)
{
    (void)state;
    hook_log log;
    memset(&log, 0, sizeof log);
    rs_policy_config cfg = plain_config();
    cfg.retry.max_attempts = 4;
    cfg.hooks.on_retry = on_retry;
    cfg.hooks.on_give_up = on_give_up;
    cfg.hooks.ctx = &log;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    assert_int_equal(rs_call(p, scripted, &s), RS_E_EXHAUSTED);
    assert_int_equal(log.retries, 3);
    assert_int_equal(log.retry_numbers[0], 1);
    assert_int_equal(log.retry_numbers[2], 3);
    assert_int_equal(log.retry_delays[0], 100 * MS);
    assert_int_equal(log.retry_delays[1], 200 * MS);
    assert_int_equal(log.retry_delays[2], 400 * MS);
    assert_int_equal(log.give_ups, 1);
    assert_int_equal(log.last.status, RS_E_EXHAUSTED);
    assert_int_equal(log.last.attempts, 4);

    s = always(RS_SUCCESS);
    assert_int_equal(rs_call(p, scripted, &s), RS_OK);
    assert_int_equal(log.give_ups, 1); /* not for a success */
    rs_policy_free(p);
}

static void step_api_drives_the_same_logic(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    rs_policy *p = make_policy(&cfg);
    rs_call_state *c = NULL;
    uint64_t now = rs_manual_clock_now(&clock_) + 5 * SEC; /* an event loop's own time */
    assert_int_equal(rs_call_begin_at(p, NULL, &c, now), RS_OK);

    rs_step st = rs_call_next_at(c, now);
    assert_int_equal(st.action, RS_STEP_RUN);
    assert_int_equal(rs_call_attempt(c)->number, 1);
    /* Asking again while fn runs changes nothing. */
    assert_int_equal(rs_call_next_at(c, now).action, RS_STEP_RUN);

    rs_call_attempt(c)->error = 503;
    st = rs_call_complete_at(c, RS_RETRY, now);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_int_equal(st.wait_ns, 100 * MS);
    /* A completion without a running attempt is ignored. */
    st = rs_call_complete_at(c, RS_SUCCESS, now);
    assert_int_equal(st.action, RS_STEP_WAIT);
    /* A timer that fires early gets the remainder. */
    st = rs_call_next_at(c, now + 40 * MS);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_int_equal(st.wait_ns, 60 * MS);
    st = rs_call_next_at(c, now + 100 * MS);
    assert_int_equal(st.action, RS_STEP_RUN);
    assert_int_equal(rs_call_attempt(c)->number, 2);
    assert_int_equal(rs_call_attempt(c)->error, 0); /* out fields reset */
    st = rs_call_complete_at(c, RS_SUCCESS, now + 150 * MS);
    assert_int_equal(st.action, RS_STEP_DONE);
    assert_int_equal(st.status, RS_OK);
    assert_int_equal(rs_call_next_at(c, now + 200 * MS).status, RS_OK);

    rs_call_report r;
    rs_call_end_at(c, &r, now + 300 * MS);
    assert_int_equal(r.status, RS_OK);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.waited_ns, 100 * MS);
    assert_int_equal(r.elapsed_ns, 150 * MS);
    assert_int_equal(rs_manual_clock_sleep_count(&clock_), 0); /* the step API never sleeps */
    rs_policy_free(p);
}

static void abandoning_settles_what_the_attempt_held(void **state)
{
    (void)state;
    rs_budget *b = make_budget(1000, 1000);
    rs_breaker *br = make_breaker(2, 1 * SEC);
    rs_token_bucket *tb = make_bucket(1.0, 1);
    rs_policy_config cfg = plain_config();
    cfg.account = rs_budget_account(b);
    cfg.breaker = br;
    cfg.limits[0] = bucket_limit(tb);
    cfg.token_estimate = 400;
    cfg.max_limiter_wait_ns = 5 * SEC;
    rs_policy *p = make_policy(&cfg);

    /* Abandoned while fn runs (an event loop's own timeout): the request
     * went out, so the budget keeps the estimate (or what fn reported, if
     * more) and the breaker counts a failure. */
    rs_call_state *c = NULL;
    assert_int_equal(rs_call_begin(p, NULL, &c), RS_OK);
    assert_int_equal(rs_call_next(c).action, RS_STEP_RUN);
    assert_int_equal(rs_budget_remaining(b), 600);
    rs_call_report r;
    rs_call_end(c, &r);
    assert_int_equal(r.reason, RS_STOP_ABANDONED);
    assert_int_equal(r.status, RS_E_TIMEOUT);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(rs_budget_remaining(b), 600);
    rs_breaker_snapshot m;
    assert_int_equal(rs_breaker_metrics(br, &m), RS_OK);
    assert_int_equal(m.failures, 1);

    /* Abandoned while waiting for the limiter: nothing was sent, so the
     * reservation is given back and the breaker hears nothing. */
    assert_int_equal(rs_call_begin(p, NULL, &c), RS_OK);
    rs_step st = rs_call_next(c);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_int_equal(rs_budget_remaining(b), 200);
    rs_call_end(c, &r);
    assert_int_equal(r.attempts, 0);
    assert_int_equal(rs_budget_remaining(b), 600);
    assert_int_equal(rs_breaker_metrics(br, &m), RS_OK);
    assert_int_equal(m.failures, 1);
    assert_int_equal(rs_breaker_state_get(br), RS_BREAKER_CLOSED);
    rs_call_end(NULL, NULL);
    rs_policy_free(p);
    rs_token_bucket_free(tb);
    rs_breaker_free(br);
    rs_budget_free(b);
}

static void invalid_arguments(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    const rs_clock *manual = rs_manual_clock_get(&clock_);
    rs_policy *p = (rs_policy *)0x1;
    assert_int_equal(rs_policy_new(NULL, NULL, &p), RS_E_INVAL);
    assert_string_equal(rs_last_error(), "rs_policy_config: NULL");
    assert_int_equal(rs_policy_new(&cfg, NULL, NULL), RS_E_INVAL);
    assert_string_equal(rs_last_error(), "rs_policy_new: out is NULL");

    rs_budget *budget = make_budget(100, 100);
    rs_token_bucket *bucket = make_bucket(100, 100);
    rs_breaker *breaker = make_breaker(5, 30 * SEC);
    static const rs_limiter_ops no_acquire = { NULL, "broken", NULL, false, NULL };
    /* Each mistake is refused, nothing is created, and rs_last_error()
     * names the field (the start of the text is checked). */
    for (int i = 0; i < 12; i++) {
        rs_policy_config bad = cfg;
        const rs_clock *clock = manual;
        const char *field = NULL;
        switch (i) {
        case 0: bad.retry.max_attempts = 0; field = "rs_policy_config.retry.max_attempts: 0"; break;
        case 1: bad.retry.backoff.base_ns = 0; field = "rs_policy_config.retry.backoff"; break;
        case 2: bad.retry.budget_ratio = -1; field = "rs_policy_config.retry.budget_ratio: -1"; break;
        case 3:
            bad.retry.budget_ratio = 0.5;
            bad.retry.budget_max_tokens = 0;
            field = "rs_policy_config.retry.budget_max_tokens: 0";
            break;
        case 4: /* below one millionth of a token: would never refill */
            bad.retry.budget_ratio = 1e-7;
            field = "rs_policy_config.retry.budget_ratio: 1e-07";
            break;
        case 5: /* a budget needs an estimate */
            bad.account = rs_budget_account(budget);
            field = "rs_policy_config.token_estimate: 0 while an account";
            break;
        case 6: /* so does a limit counting tokens */
            bad.limits[3] = tokens(rs_token_bucket_limiter(bucket));
            field = "rs_policy_config.token_estimate: 0 while an account or a token limit";
            break;
        case 7:
            bad.limits[2] = requests((rs_limiter){ &no_acquire, NULL });
            field = "rs_policy_config.limits[2]: the limiter has no acquire operation";
            break;
        case 8:
            bad.limits[1] = (rs_limit){ rs_token_bucket_limiter(bucket), (rs_units)7 };
            field = "rs_policy_config.limits[1].units: 7 is not an rs_units";
            break;
        /* Modules on another clock than the policy's: they would be given
         * the policy's time and report nonsense. */
        case 9:
            bad.limits[4] = bucket_limit(bucket);
            clock = NULL;
            field = "rs_policy_config.limits[4]: the token_bucket runs on another clock";
            break;
        case 10:
            bad.breaker = breaker;
            clock = NULL;
            field = "rs_policy_config.breaker: runs on another clock";
            break;
        case 11:
            bad.account = rs_budget_account(budget);
            bad.token_estimate = 10;
            clock = rs_clock_system();
            field = "rs_policy_config.account: runs on another clock";
            break;
        default: break;
        }
        assert_int_equal(rs_policy_config_validate(&bad, clock), RS_E_INVAL);
        assert_int_equal(strncmp(rs_last_error(), field, strlen(field)), 0);
        assert_int_equal(rs_policy_new(&bad, clock, &p), RS_E_INVAL);
        assert_int_equal(strncmp(rs_last_error(), field, strlen(field)), 0);
    }
    /* The same modules on the policy's clock are fine. */
    rs_policy_config good = cfg;
    good.limits[0] = bucket_limit(bucket);
    good.breaker = breaker;
    good.account = rs_budget_account(budget);
    good.token_estimate = 10;
    assert_int_equal(rs_policy_config_validate(&good, manual), RS_OK);
    rs_breaker_free(breaker);
    rs_token_bucket_free(bucket);
    rs_budget_free(budget);
    assert_ptr_equal(p, (rs_policy *)0x1);

    p = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    rs_call_report r;
    memset(&r, 0xff, sizeof r);
    assert_int_equal(rs_call_with(p, NULL, NULL, &s, &r), RS_E_INVAL);
    assert_int_equal(r.status, RS_E_INVAL); /* the report is filled all the same */
    assert_int_equal(r.attempts, 0);
    assert_int_equal(rs_call(NULL, scripted, &s), RS_E_INVAL);
    assert_int_equal(rs_call(p, NULL, &s), RS_E_INVAL);
    rs_call_state *c = NULL;
    assert_int_equal(rs_call_begin(NULL, NULL, &c), RS_E_INVAL);
    assert_int_equal(rs_call_begin(p, NULL, NULL), RS_E_INVAL);
    assert_int_equal(rs_call_next(NULL).status, RS_E_INVAL);
    assert_int_equal(rs_call_complete(NULL, RS_SUCCESS).status, RS_E_INVAL);
    assert_null(rs_call_attempt(NULL));
    rs_policy_stats_get(NULL, NULL);
    rs_policy_free(NULL);
    rs_policy_free(p);
    assert_string_equal(rs_stop_reason_name(RS_STOP_RETRY_BUDGET), "RS_STOP_RETRY_BUDGET");
    assert_string_equal(rs_stop_reason_name((rs_stop_reason)99), "RS_STOP_UNKNOWN");
    assert_false(rs_stop_reason_is_local(RS_STOP_TIMEOUT));
    assert_false(rs_stop_reason_is_local(RS_STOP_RETRY_AFTER));
}

/* The step machine in the caller's memory: no allocation per call, the
 * same logic, and rs_call_end leaves the memory to its owner. */
static void call_state_in_caller_memory(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    rs_policy *p = make_policy(&cfg);
    size_t size = rs_call_state_size();
    assert_true(size > 0 && size <= 512);
    _Alignas(max_align_t) unsigned char memory[512];
    rs_call_state *c = NULL;
    assert_int_equal(rs_call_begin_in(p, NULL, memory, size - 1, &c), RS_E_INVAL);
    assert_non_null(strstr(rs_last_error(), "size"));
    assert_int_equal(rs_call_begin_in(p, NULL, memory + 1, size, &c), RS_E_INVAL);
    assert_non_null(strstr(rs_last_error(), "aligned"));
    assert_int_equal(rs_call_begin_in(p, NULL, NULL, size, &c), RS_E_INVAL);
    assert_null(c);

    fault_alloc_install();
    script s = always(RS_RETRY);
    s.verdicts[1] = RS_SUCCESS;
    s.count = 2;
    uint64_t t0 = rs_manual_clock_now(&clock_);
    assert_int_equal(rs_call_begin_in_at(p, NULL, memory, size, &c, t0), RS_OK);
    assert_ptr_equal(c, (rs_call_state *)(void *)memory);
    rs_step st = rs_call_next_at(c, t0);
    assert_int_equal(st.action, RS_STEP_RUN);
    st = rs_call_complete_at(c, scripted(&s, rs_call_attempt(c)), t0);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_int_equal(st.wait_ns, 100 * MS);
    st = rs_call_next_at(c, t0 + st.wait_ns);
    assert_int_equal(st.action, RS_STEP_RUN);
    st = rs_call_complete_at(c, scripted(&s, rs_call_attempt(c)), t0 + 100 * MS);
    assert_int_equal(st.action, RS_STEP_DONE);
    assert_int_equal(st.status, RS_OK);
    rs_call_report r;
    rs_call_end_at(c, &r, t0 + 100 * MS);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(fault_alloc_total(), 0); /* nothing allocated, nothing freed */
    fault_alloc_uninstall();
    rs_policy_free(p);
}

/* A per-call account runs on the policy's clock too: a user's budget made
 * on another clock is refused before anything is charged. */
static void per_call_account_on_another_clock_is_refused(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    rs_policy *p = make_policy(&cfg);
    rs_budget_config bc = RS_BUDGET_CONFIG_DEFAULT;
    rs_budget *system_budget = NULL;
    assert_int_equal(rs_budget_new(&bc, NULL, &system_budget), RS_OK);
    rs_call_options opts = { .token_estimate = 10, .timeout_ns = 0,
                             .account = rs_budget_account(system_budget) };
    script s = always(RS_SUCCESS);
    rs_call_report r;
    assert_int_equal(rs_call_with(p, &opts, scripted, &s, &r), RS_E_INVAL);
    assert_int_equal(r.status, RS_E_INVAL);
    assert_int_equal(s.calls, 0);
    assert_string_equal(rs_last_error(),
                        "rs_call_options.account: runs on another clock than the policy's");
    rs_call_state *c = (rs_call_state *)0x1;
    assert_int_equal(rs_call_begin(p, &opts, &c), RS_E_INVAL);
    assert_ptr_equal(c, (rs_call_state *)0x1);
    assert_int_equal(rs_budget_remaining(system_budget), bc.max_per_window);
    rs_budget_free(system_budget);
    rs_policy_free(p);
}

static int create_policy(void *ctx, void **object)
{
    (void)ctx;
    rs_policy_config cfg = plain_config();
    return rs_policy_new(&cfg, NULL, (rs_policy **)object);
}

static void destroy_policy(void *object) { rs_policy_free(object); }

static int create_call(void *ctx, void **object)
{
    return rs_call_begin(ctx, NULL, (rs_call_state **)object);
}

static void destroy_call(void *object) { rs_call_end(object, NULL); }

static const rs_budget_config client_budget = { 10000u, 3600000000000u, 10000u, 0u };

static rs_client_config full_client_config(void)
{
    static rs_breaker_config client_breaker;
    client_breaker = RS_BREAKER_CONFIG_DEFAULT;
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.retry.backoff.seed = 3;
    cfg.requests_per_second = 10;
    cfg.requests_per_minute = 100;
    cfg.breaker = &client_breaker;
    cfg.budget = &client_budget;
    cfg.token_estimate = 100;
    return cfg;
}

static int create_client(void *ctx, void **object)
{
    (void)ctx;
    rs_client_config cfg = full_client_config();
    return rs_client_new(&cfg, rs_manual_clock_get(&clock_), (rs_client **)object);
}

static void destroy_client(void *object) { rs_client_free(object); }

static void allocation_failures_are_clean(void **state)
{
    (void)state;
    assert_int_equal(fault_alloc_sweep(create_policy, destroy_policy, NULL), 1);
    rs_policy_config cfg = plain_config();
    rs_policy *p = make_policy(&cfg);
    assert_int_equal(fault_alloc_sweep(create_call, destroy_call, p), 1);
    rs_policy_free(p);
    /* client, bucket, window and its log, breaker, budget, policy */
    size_t client_allocations = fault_alloc_sweep(create_client, destroy_client, NULL);
    assert_true(client_allocations >= 7);
}

static void client_builds_and_owns_its_modules(void **state)
{
    (void)state;
    rs_client_config cfg = full_client_config();
    rs_breaker_config breaker = RS_BREAKER_CONFIG_DEFAULT;
    breaker.failure_threshold = 2;
    cfg.breaker = &breaker;
    cfg.retry.backoff.base_ns = 10 * MS;
    cfg.retry.max_attempts = 6;
    cfg.retry.budget_ratio = 0;
    rs_client *c = NULL;
    assert_int_equal(rs_client_new(&cfg, rs_manual_clock_get(&clock_), &c), RS_OK);
    breaker.failure_threshold = 99; /* the client copied its config */
    assert_non_null(rs_client_policy(c));
    assert_non_null(rs_client_breaker(c));
    assert_non_null(rs_client_bucket(c));
    assert_non_null(rs_client_window(c));
    assert_non_null(rs_client_budget(c));
    assert_null(rs_client_token_bucket(c));
    script s = always(RS_SUCCESS);
    s.tokens_used = 50;
    assert_int_equal(rs_client_call(c, scripted, &s), RS_OK);
    assert_int_equal(rs_budget_remaining(rs_client_budget(c)), 10000 - 50);
    assert_int_equal(rs_sliding_window_count(rs_client_window(c)), 1);
    s = always(RS_RETRY);
    rs_call_report r;
    assert_int_equal(rs_call_with(rs_client_policy(c), NULL, scripted, &s, &r), RS_E_OPEN);
    assert_int_equal(s.calls, 2); /* the breaker (threshold 2) stopped the retries */
    assert_int_equal(rs_breaker_state_get(rs_client_breaker(c)), RS_BREAKER_OPEN);
    rs_client_free(c);

    /* No modules at all: a plain retry loop with the policy's defaults. */
    cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.retry.backoff.seed = 1;
    assert_int_equal(rs_client_new(&cfg, rs_manual_clock_get(&clock_), &c), RS_OK);
    assert_null(rs_client_breaker(c));
    assert_null(rs_client_bucket(c));
    s = always(RS_RETRY);
    assert_int_equal(rs_client_call(c, scripted, &s), RS_E_EXHAUSTED);
    assert_int_equal(s.calls, 3);
    rs_client_free(c);

    /* Tokens per second: each attempt takes its estimate from that bucket. */
    cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.retry.backoff.seed = 1;
    cfg.tokens_per_second = 1000;
    cfg.token_burst = 2000;
    cfg.token_estimate = 800;
    cfg.max_limiter_wait_ns = 0;
    assert_int_equal(rs_client_new(&cfg, rs_manual_clock_get(&clock_), &c), RS_OK);
    s = always(RS_SUCCESS);
    assert_int_equal(rs_client_call(c, scripted, &s), RS_OK);
    assert_int_equal(rs_client_call(c, scripted, &s), RS_OK);
    assert_int_equal(rs_client_call(c, scripted, &s), RS_E_LIMITED); /* 2400 > 2000 */
    rs_manual_clock_advance(&clock_, 400 * MS);
    assert_int_equal(rs_client_call(c, scripted, &s), RS_OK);
    rs_client_free(c);
}

/* A client can be given what a policy can hold: limits behind the
 * interface (asked after its own), an account, hooks. */
static void client_takes_what_a_policy_takes(void **state)
{
    (void)state;
    fake_limiter shared = fake(RS_OK, 0);
    fake_account account;
    memset(&account, 0, sizeof account);
    hook_log hooks;
    memset(&hooks, 0, sizeof hooks);
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.retry.backoff.seed = 1;
    cfg.retry.backoff.jitter = RS_JITTER_NONE;
    cfg.requests_per_second = 1;
    cfg.burst = 1;
    cfg.max_limiter_wait_ns = 0;
    cfg.limits[1] = tokens((rs_limiter){ &fake_ops, &shared });
    cfg.account = (rs_account){ &account_ops, &account };
    cfg.token_estimate = 30;
    cfg.hooks = (rs_policy_hooks){ on_retry, on_give_up, &hooks };
    rs_client *c = NULL;
    assert_int_equal(rs_client_new(&cfg, rs_manual_clock_get(&clock_), &c), RS_OK);
    script s = always(RS_RETRY);
    s.verdicts[1] = RS_SUCCESS;
    s.count = 2;
    s.tokens_used = 25;
    /* The own bucket (1/s) is asked first: the retry waits for its token. */
    cfg.max_limiter_wait_ns = 0;
    assert_int_equal(rs_client_call(c, scripted, &s), RS_E_LIMITED);
    assert_int_equal(shared.asked, 1);  /* the first attempt passed both limits */
    assert_int_equal(shared.last_units, 30);
    assert_int_equal(account.reserved, 60); /* two attempts reserved */
    assert_int_equal(account.committed, 25);
    assert_int_equal(account.cancels, 1);   /* the refused retry gave its estimate back */
    assert_int_equal(hooks.retries, 1);
    assert_int_equal(hooks.give_ups, 1);
    assert_int_equal(hooks.last_status, RS_E_LIMITED);
    rs_client_free(c);
}

static void client_refuses_mistakes_naming_the_field(void **state)
{
    (void)state;
    rs_budget_config budget = client_budget;
    rs_breaker_config breaker = RS_BREAKER_CONFIG_DEFAULT;
    fake_account account;
    memset(&account, 0, sizeof account);
    static const rs_limiter_ops no_acquire = { NULL, "broken", NULL, false, NULL };
    const rs_clock *manual = rs_manual_clock_get(&clock_);
    rs_client *none = (rs_client *)0x1;
    fault_alloc_install(); /* nothing may be allocated for a refused config */
    for (int i = 0; i < 11; i++) {
        rs_client_config cfg = full_client_config();
        const char *field = NULL;
        switch (i) {
        case 0: cfg.retry.backoff.base_ns = 0; field = "rs_client_config.retry.backoff"; break;
        case 1: cfg.token_estimate = 0; field = "rs_client_config.token_estimate: 0"; break;
        case 2: cfg.retry.budget_ratio = NAN; field = "rs_client_config.retry.budget_ratio"; break;
        case 3:
            budget.window_ns = 0;
            cfg.budget = &budget;
            field = "rs_client_config.budget";
            break;
        case 4: /* finer than the bucket supports */
            cfg.requests_per_second = 2e9;
            field = "rs_client_config (requests_per_second, burst)";
            break;
        case 5: cfg.retry.max_attempts = 0; field = "rs_client_config.retry.max_attempts"; break;
        case 6: /* above the budget's 10,000 per window: never fits */
            cfg.token_estimate = 20000;
            field = "rs_client_config.token_estimate: above the budget";
            break;
        case 7: /* a bucket smaller than the estimate: every call refused */
            cfg.tokens_per_second = 100;
            cfg.token_burst = 50;
            field = "rs_client_config.token_estimate: above token_burst";
            break;
        case 8:
            cfg.account = (rs_account){ &account_ops, &account };
            field = "rs_client_config.account: set together with budget";
            break;
        case 9:
            breaker.window_size = 0;
            cfg.breaker = &breaker;
            field = "rs_client_config.breaker";
            break;
        case 10:
            cfg.limits[4] = requests((rs_limiter){ &no_acquire, NULL });
            field = "rs_client_config.limits[4]: the limiter has no acquire operation";
            break;
        default: break;
        }
        assert_int_equal(rs_client_new(&cfg, manual, &none), RS_E_INVAL);
        assert_int_equal(strncmp(rs_last_error(), field, strlen(field)), 0);
    }
    assert_int_equal(fault_alloc_total(), 0);
    fault_alloc_uninstall();
    assert_int_equal(rs_client_new(NULL, NULL, &none), RS_E_INVAL);
    assert_string_equal(rs_last_error(), "rs_client_new: cfg is NULL");
    assert_ptr_equal(none, (rs_client *)0x1);
    script s = always(RS_SUCCESS);
    assert_int_equal(rs_client_call(NULL, scripted, &s), RS_E_INVAL);
    assert_null(rs_client_policy(NULL));
    assert_null(rs_client_budget(NULL));
    rs_client_free(NULL);
}

/* rs_client_config and rs_policy_config share their defaults. */
static void client_and_policy_defaults_agree(void **state)
{
    (void)state;
    rs_policy_config p = RS_POLICY_CONFIG_DEFAULT;
    rs_client_config c = RS_CLIENT_CONFIG_DEFAULT;
    assert_memory_equal(&p.retry, &c.retry, sizeof p.retry);
    assert_int_equal(p.timeout_ns, c.timeout_ns);
    assert_int_equal(p.max_limiter_wait_ns, c.max_limiter_wait_ns);
    assert_int_equal(p.token_estimate, c.token_estimate);
    /* The defaults are safe for a fleet: the retry budget is on. */
    assert_true(p.retry.budget_ratio > 0.0);
    assert_int_equal(p.retry.max_attempts, 3);
    /* The brace initializers are the same values, usable in static data. */
    static const rs_policy_config static_policy = RS_POLICY_CONFIG_INIT;
    static const rs_client_config static_client = RS_CLIENT_CONFIG_INIT;
    static const rs_retry_config static_retry = RS_RETRY_CONFIG_INIT;
    assert_memory_equal(&static_retry, &p.retry, sizeof p.retry);
    assert_memory_equal(&static_policy.retry, &p.retry, sizeof p.retry);
    assert_int_equal(static_policy.max_limiter_wait_ns, p.max_limiter_wait_ns);
    assert_memory_equal(&static_client.retry, &c.retry, sizeof c.retry);
    assert_null(static_client.breaker);
}

/* ---- the bulkhead, the adaptive rate, the fallback ------------------------ */

static rs_bulkhead *make_bulkhead(uint32_t max_concurrent, uint32_t max_queue)
{
    rs_bulkhead_config bc = RS_BULKHEAD_CONFIG_DEFAULT;
    bc.max_concurrent = max_concurrent;
    bc.max_queue = max_queue;
    rs_bulkhead *b = NULL;
    assert_int_equal(rs_bulkhead_new(&bc, rs_manual_clock_get(&clock_), &b), RS_OK);
    return b;
}

typedef struct nested {
    rs_policy *p;
    rs_bulkhead *b;
    int inner_status;
    rs_call_report inner;
    uint32_t in_flight_inside;
} nested;

static rs_verdict call_inside(void *ctx, rs_attempt *a)
{
    (void)a;
    nested *n = ctx;
    n->in_flight_inside = rs_bulkhead_in_flight(n->b);
    script s = always(RS_SUCCESS);
    n->inner_status = rs_call_with(n->p, NULL, scripted, &s, &n->inner);
    return RS_SUCCESS;
}

static void bulkhead_slot_is_held_while_fn_runs(void **state)
{
    (void)state;
    rs_bulkhead *b = make_bulkhead(1, 0);
    rs_policy_config cfg = plain_config();
    cfg.bulkhead = b;
    rs_policy *p = make_policy(&cfg);
    nested n = { p, b, 0, { 0 }, 0 };
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, call_inside, &n, &r), RS_OK);
    assert_int_equal(n.in_flight_inside, 1);
    /* The only slot is the outer call's: the inner one is refused at once. */
    assert_int_equal(n.inner_status, RS_E_LIMITED);
    assert_int_equal(n.inner.reason, RS_STOP_BULKHEAD);
    assert_int_equal(n.inner.attempts, 0);
    assert_true(rs_stop_reason_is_local(RS_STOP_BULKHEAD));
    assert_string_equal(rs_stop_reason_name(RS_STOP_BULKHEAD), "RS_STOP_BULKHEAD");
    assert_int_equal(rs_bulkhead_in_flight(b), 0);
    rs_policy_stats st;
    rs_policy_stats_get(p, &st);
    assert_int_equal(st.rejected_bulkhead, 1);
    assert_int_equal(st.successes, 1);
    /* A limit that refuses takes no slot: the bulkhead comes after it. */
    rs_token_bucket *tb = make_bucket(1.0, 1);
    assert_true(rs_token_bucket_try_acquire(tb, 1));
    cfg.limits[0] = bucket_limit(tb);
    cfg.max_limiter_wait_ns = 0;
    rs_policy *limited = make_policy(&cfg);
    script s = always(RS_SUCCESS);
    assert_int_equal(rs_call_with(limited, NULL, scripted, &s, &r), RS_E_LIMITED);
    assert_int_equal(r.reason, RS_STOP_LIMITER);
    assert_int_equal(rs_bulkhead_in_flight(b), 0);
    rs_policy_free(limited);
    rs_token_bucket_free(tb);
    rs_policy_free(p);
    rs_bulkhead_free(b);
}

static int wakes_seen;
static void note_wake(void *context)
{
    (void)context;
    wakes_seen++;
}

static void step_api_queues_for_a_slot(void **state)
{
    (void)state;
    rs_bulkhead *b = make_bulkhead(1, 4);
    rs_policy_config cfg = plain_config();
    cfg.bulkhead = b;
    cfg.max_limiter_wait_ns = 2 * SEC;
    rs_policy *p = make_policy(&cfg);
    uint64_t now = rs_manual_clock_now(&clock_);
    rs_call_state *first = NULL, *second = NULL, *third = NULL;
    assert_int_equal(rs_call_begin_at(p, NULL, &first, now), RS_OK);
    assert_int_equal(rs_call_next_at(first, now).action, RS_STEP_RUN);

    /* With a wake function: the call waits its whole patience, and is
     * woken when the slot is its. */
    wakes_seen = 0;
    rs_call_options opts = { .context = &wakes_seen, .wake = note_wake };
    assert_int_equal(rs_call_begin_at(p, &opts, &second, now), RS_OK);
    rs_step st = rs_call_next_at(second, now);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_int_equal(st.wait_ns, 2 * SEC);
    assert_int_equal(rs_bulkhead_queued(b), 1);
    /* Without one it polls. */
    assert_int_equal(rs_call_begin_at(p, NULL, &third, now), RS_OK);
    st = rs_call_next_at(third, now);
    assert_int_equal(st.action, RS_STEP_WAIT);
    assert_int_equal(st.wait_ns, 1 * MS);
    st = rs_call_next_at(third, now + 1 * MS);
    assert_int_equal(st.action, RS_STEP_WAIT); /* still second in line */
    assert_int_equal(rs_bulkhead_queued(b), 2);

    /* The first call's end hands the slot to the second, which is woken
     * and goes on at once, long before its timer. */
    st = rs_call_complete_at(first, RS_SUCCESS, now + 10 * MS);
    assert_int_equal(st.action, RS_STEP_DONE);
    assert_int_equal(wakes_seen, 1);
    assert_int_equal(rs_call_next_at(second, now + 10 * MS).action, RS_STEP_RUN);
    st = rs_call_complete_at(second, RS_SUCCESS, now + 20 * MS);
    assert_int_equal(st.action, RS_STEP_DONE);
    rs_call_report r;
    rs_call_end_at(second, &r, now + 20 * MS);
    assert_int_equal(r.limiter_wait_ns, 10 * MS);
    /* The third found its slot at its next poll. */
    assert_int_equal(rs_call_next_at(third, now + 21 * MS).action, RS_STEP_RUN);
    /* Abandoned while running: the slot comes back. */
    rs_call_end_at(third, &r, now + 30 * MS);
    assert_int_equal(r.reason, RS_STOP_ABANDONED);
    assert_int_equal(rs_bulkhead_in_flight(b), 0);
    rs_call_end_at(first, NULL, now + 30 * MS);

    /* Patience runs out in the queue: refused, its place given back. */
    assert_true(rs_bulkhead_try_enter(b));
    assert_int_equal(rs_call_begin_at(p, NULL, &first, now), RS_OK);
    st = rs_call_next_at(first, now);
    uint64_t t = now;
    while (st.action == RS_STEP_WAIT) {
        t += st.wait_ns;
        st = rs_call_next_at(first, t);
    }
    assert_int_equal(st.action, RS_STEP_DONE);
    assert_int_equal(st.status, RS_E_LIMITED);
    assert_int_equal(t - now, 2 * SEC);
    rs_call_end_at(first, &r, t);
    assert_int_equal(r.reason, RS_STOP_BULKHEAD);
    assert_int_equal(rs_bulkhead_queued(b), 0);
    /* Abandoned in the queue: its place too. */
    assert_int_equal(rs_call_begin_at(p, NULL, &first, t), RS_OK);
    assert_int_equal(rs_call_next_at(first, t).action, RS_STEP_WAIT);
    assert_int_equal(rs_bulkhead_queued(b), 1);
    rs_call_end_at(first, &r, t);
    assert_int_equal(rs_bulkhead_queued(b), 0);
    assert_int_equal(rs_bulkhead_in_flight(b), 1);
    rs_bulkhead_leave(b);
    rs_policy_free(p);
    rs_bulkhead_free(b);
}

static void attempts_feed_the_adaptive_limit(void **state)
{
    (void)state;
    rs_adaptive_limit_config lc = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    lc.algorithm = RS_ADAPTIVE_AIMD;
    lc.initial_limit = 10;
    lc.window_samples = 1;
    rs_adaptive_limit *l = NULL;
    assert_int_equal(rs_adaptive_limit_new(&lc, rs_manual_clock_get(&clock_), &l), RS_OK);
    rs_bulkhead *b = make_bulkhead(1, 0);
    assert_int_equal(rs_bulkhead_set_adaptive(b, l), RS_OK);
    rs_policy_config cfg = plain_config();
    cfg.bulkhead = b;
    cfg.retry.max_attempts = 1;
    rs_policy *p = make_policy(&cfg);
    /* Ten 429s (retryable, the caller's fault: too much was sent) make one
     * window of ten: times 0.9. */
    script s = always(RS_RETRY);
    s.duration_ns = 5 * MS;
    s.caller_fault = true;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(rs_call(p, scripted, &s), RS_E_EXHAUSTED);
    }
    assert_int_equal(rs_adaptive_limit_get(l), 9);
    assert_int_equal(rs_bulkhead_max_concurrent(b), 9);
    rs_adaptive_limit_snapshot ls;
    assert_int_equal(rs_adaptive_limit_metrics(l, &ls), RS_OK);
    assert_int_equal(ls.samples, 10);
    assert_int_equal(ls.throttled_windows, 1);
    /* A 503 or a permanent failure says nothing about load: the next
     * windows (of nine) hold, in use but with no latency to judge. */
    script failing = always(RS_RETRY);
    failing.duration_ns = 5 * MS;
    for (int i = 0; i < 9; i++) {
        assert_int_equal(rs_call(p, scripted, &failing), RS_E_EXHAUSTED);
    }
    script permanent = always(RS_FAIL);
    for (int i = 0; i < 9; i++) {
        assert_int_equal(rs_call(p, scripted, &permanent), RS_E_FAILED);
    }
    assert_int_equal(rs_adaptive_limit_metrics(l, &ls), RS_OK);
    assert_int_equal(ls.throttled_windows, 1);
    assert_int_equal(ls.windows, 3);
    assert_int_equal(rs_adaptive_limit_get(l), 9);
    rs_policy_free(p);
    rs_bulkhead_free(b);
    rs_adaptive_limit_free(l);
}

/* A server that admits 5 requests a second with a burst of 6 (nginx's
 * limit_req with burst=5) and answers the rest 429 with a Retry-After;
 * each request takes 10 ms. */
typedef struct rate_server {
    rs_token_bucket *bucket;
    uint64_t retry_after_ns;
    int ok, refused;
} rate_server;

static rs_verdict rate_limited(void *ctx, rs_attempt *a)
{
    rate_server *s = ctx;
    bool admitted = rs_token_bucket_try_acquire(s->bucket, 1);
    rs_manual_clock_advance(&clock_, 10 * MS);
    if (admitted) {
        s->ok++;
        return RS_SUCCESS;
    }
    s->refused++;
    a->error = 429;
    a->caller_fault = true;
    a->retry_after_ns = s->retry_after_ns;
    return RS_RETRY;
}

/* A policy of one attempt with a default adaptive rate, patient enough to
 * queue for it, and the server above. */
typedef struct rated_policy {
    rs_adaptive_rate *rate;
    rs_policy *policy;
    rate_server server;
} rated_policy;

static void make_rated_policy(rated_policy *rp)
{
    rp->server = (rate_server){ make_bucket(5.0, 6), 1 * SEC, 0, 0 };
    rs_adaptive_rate_config rc = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rp->rate = NULL;
    assert_int_equal(rs_adaptive_rate_new(&rc, rs_manual_clock_get(&clock_), &rp->rate), RS_OK);
    rs_policy_config cfg = plain_config();
    cfg.adaptive_rate = rp->rate;
    cfg.retry.max_attempts = 1;
    cfg.max_limiter_wait_ns = 10 * SEC;
    rp->policy = make_policy(&cfg);
}

static void free_rated_policy(rated_policy *rp)
{
    rs_policy_free(rp->policy);
    rs_adaptive_rate_free(rp->rate);
    rs_token_bucket_free(rp->server.bucket);
}

static void adaptive_rate_learns_from_throttles(void **state)
{
    (void)state;
    rated_policy rp;
    make_rated_policy(&rp);
    /* No rate until the server says so: back to back, its burst gets
     * through, the next is refused and asks for a second's pause. */
    for (int i = 0; i < 6; i++) {
        assert_int_equal(rs_call(rp.policy, rate_limited, &rp.server), RS_OK);
    }
    assert_true(rs_adaptive_rate_get(rp.rate) == 0.0);
    assert_int_equal(rs_call(rp.policy, rate_limited, &rp.server), RS_E_EXHAUSTED);
    assert_true(rs_adaptive_rate_get(rp.rate) == 0.0); /* decided after the pause */
    /* The next call waits out the pause, and a rate applies: beta (0.8) of
     * what got through in the second before the 429 (six requests). */
    uint64_t t0 = rs_manual_clock_now(&clock_);
    assert_int_equal(rs_call(rp.policy, rate_limited, &rp.server), RS_OK);
    assert_true(rs_manual_clock_now(&clock_) - t0 >= 1 * SEC);
    assert_true(fabs(rs_adaptive_rate_get(rp.rate) - 4.8) < 1e-9);
    rs_adaptive_rate_snapshot st;
    assert_int_equal(rs_adaptive_rate_metrics(rp.rate, &st), RS_OK);
    assert_int_equal(st.throttles, 1);
    assert_int_equal(st.reductions, 1);
    assert_true(fabs(st.last_good_rate - 6.0) < 1e-9);
    /* From then on it probes upwards, and a 429 brings it back under the
     * server's rate: over two minutes it gets nearly all the server gives,
     * and few requests are refused. */
    t0 = rs_manual_clock_now(&clock_);
    int refused = rp.server.refused, ok = rp.server.ok;
    while (rs_manual_clock_now(&clock_) - t0 < 120 * SEC) {
        int rc2 = rs_call(rp.policy, rate_limited, &rp.server);
        assert_true(rc2 == RS_OK || rc2 == RS_E_EXHAUSTED);
    }
    refused = rp.server.refused - refused;
    ok = rp.server.ok - ok;
    assert_true(ok >= 540); /* 90% of the server's 5 a second */
    assert_true(ok <= 606);
    assert_true(refused * 20 < ok + refused); /* under 5% refused */
    assert_int_equal(rs_adaptive_rate_metrics(rp.rate, &st), RS_OK);
    assert_true(st.rate > 3.0 && st.rate < 10.0);
    free_rated_policy(&rp);
}

/* The same server, saying its rate in every answer as its RateLimit-Policy
 * header, read the way a user function reads a response's headers. */
static rs_verdict advertising(void *ctx, rs_attempt *a)
{
    rs_verdict verdict = rate_limited(ctx, a);
    static const char name[] = "RateLimit-Policy", value[] = "\"default\";q=5;w=1";
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    assert_int_equal(rs_http_feedback_header(&f, name, sizeof name - 1, value, sizeof value - 1, 0),
                     RS_OK);
    rs_http_feedback_apply(&f, a);
    return verdict;
}

/* A function that writes a value of its own into advertised_rate. */
static rs_verdict claims_rate(void *ctx, rs_attempt *a)
{
    a->advertised_rate = *(const double *)ctx;
    return RS_SUCCESS;
}

static void adaptive_rate_starts_at_the_advertised_rate(void **state)
{
    (void)state;
    rated_policy rp;
    make_rated_policy(&rp);
    /* The first answer says 5 a second: the rate starts there instead of
     * unlimited, and no request is ever refused (where one learnt from
     * throttles costs a 429 and a pause each time it probes). */
    assert_int_equal(rs_call(rp.policy, advertising, &rp.server), RS_OK);
    assert_true(fabs(rs_adaptive_rate_get(rp.rate) - 5.0) < 1e-9);
    uint64_t t0 = rs_manual_clock_now(&clock_);
    while (rs_manual_clock_now(&clock_) - t0 < 60 * SEC) {
        assert_int_equal(rs_call(rp.policy, advertising, &rp.server), RS_OK);
    }
    assert_int_equal(rp.server.refused, 0);
    assert_true(rp.server.ok >= 295 && rp.server.ok <= 302);
    rs_adaptive_rate_snapshot st;
    assert_int_equal(rs_adaptive_rate_metrics(rp.rate, &st), RS_OK);
    assert_int_equal(st.throttles, 0);
    assert_true(fabs(st.rate - 5.0) < 1e-9);
    /* Values that are no rate change nothing; a lower one lowers it. */
    static const double claims[] = { NAN, -1.0, 0.0, INFINITY, 2.0 };
    static const double after[] = { 5.0, 5.0, 5.0, 5.0, 2.0 };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(claims); i++) {
        double claim = claims[i];
        assert_int_equal(rs_call(rp.policy, claims_rate, &claim), RS_OK);
        assert_true(fabs(rs_adaptive_rate_get(rp.rate) - after[i]) < 1e-9);
    }
    free_rated_policy(&rp);
}

typedef struct cache {
    int asked;
    bool serve;
    void *last_call_ctx;
    rs_call_report last;
} cache;

static bool from_cache(void *ctx, void *call_ctx, const rs_call_report *report)
{
    cache *c = ctx;
    c->asked++;
    c->last_call_ctx = call_ctx;
    c->last = *report;
    return c->serve;
}

static int gave_up;
static void count_give_up(void *ctx, const rs_call_report *report)
{
    (void)ctx;
    (void)report;
    gave_up++;
}

static void fallback_serves_refusals_and_failures(void **state)
{
    (void)state;
    rs_breaker *br = make_breaker(1, 30 * SEC);
    rs_policy_config cfg = plain_config();
    cache c = { 0, true, NULL, { 0 } };
    cfg.breaker = br;
    cfg.fallback = from_cache;
    cfg.fallback_ctx = &c;
    cfg.hooks.on_give_up = count_give_up;
    cfg.retry.max_attempts = 2;
    rs_policy *p = make_policy(&cfg);
    gave_up = 0;
    /* Retries used up: the fallback's result, and the report says why. */
    script s = always(RS_RETRY);
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    assert_int_equal(c.asked, 1);
    assert_ptr_equal(c.last_call_ctx, &s);
    assert_int_equal(c.last.status, RS_E_OPEN); /* the first failure tripped it */
    assert_true(r.fallback);
    assert_int_equal(r.status, RS_OK);
    assert_int_equal(r.failed_status, RS_E_OPEN);
    assert_int_equal(r.reason, RS_STOP_BREAKER);
    assert_int_equal(gave_up, 0);
    /* An open breaker: served again, fn never ran. */
    size_t calls = s.calls;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    assert_int_equal(s.calls, calls);
    assert_int_equal(r.failed_status, RS_E_OPEN);
    assert_int_equal(r.attempts, 0);
    /* Declined: the failure stands. */
    c.serve = false;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_E_OPEN);
    assert_false(r.fallback);
    assert_int_equal(r.failed_status, 0);
    assert_int_equal(gave_up, 1);
    rs_policy_stats st;
    rs_policy_stats_get(p, &st);
    assert_int_equal(st.fallbacks, 2);
    assert_int_equal(st.rejected_breaker, 3);
    assert_int_equal(st.successes, 0);
    rs_policy_free(p);

    /* Never for a permanent failure, or a request that can never go. */
    c.serve = true;
    c.asked = 0;
    cfg = plain_config();
    cfg.fallback = from_cache;
    cfg.fallback_ctx = &c;
    rs_token_bucket *tb = make_bucket(1.0, 1);
    cfg.limits[0] = (rs_limit){ rs_token_bucket_limiter(tb), RS_UNITS_TOKENS };
    cfg.token_estimate = 5;
    p = make_policy(&cfg);
    script fail = always(RS_FAIL);
    assert_int_equal(rs_call_with(p, NULL, scripted, &fail, &r), RS_E_INVAL);
    assert_int_equal(c.asked, 0);
    rs_policy_free(p);
    cfg.limits[0] = (rs_limit){ { NULL, NULL }, RS_UNITS_REQUESTS };
    p = make_policy(&cfg);
    assert_int_equal(rs_call_with(p, NULL, scripted, &fail, &r), RS_E_FAILED);
    assert_int_equal(c.asked, 0);
    /* The step API hands the fallback the options' context; an abandoned
     * call is not the fallback's. */
    int mine = 0;
    rs_call_options opts = { .context = &mine, .timeout_ns = 1 * SEC };
    rs_call_state *call = NULL;
    uint64_t now = rs_manual_clock_now(&clock_);
    assert_int_equal(rs_call_begin_at(p, &opts, &call, now), RS_OK);
    assert_int_equal(rs_call_next_at(call, now).action, RS_STEP_RUN);
    rs_step step = rs_call_complete_at(call, RS_RETRY, now + 2 * SEC);
    assert_int_equal(step.action, RS_STEP_DONE);
    assert_int_equal(step.status, RS_OK);
    assert_ptr_equal(c.last_call_ctx, &mine);
    assert_int_equal(c.last.status, RS_E_TIMEOUT);
    rs_call_end_at(call, &r, now + 2 * SEC);
    assert_true(r.fallback);
    assert_int_equal(r.failed_status, RS_E_TIMEOUT);
    assert_int_equal(rs_call_begin_at(p, &opts, &call, now), RS_OK);
    rs_call_end_at(call, &r, now);
    assert_int_equal(r.reason, RS_STOP_ABANDONED);
    assert_false(r.fallback);
    assert_int_equal(c.asked, 1);
    rs_policy_free(p);
    rs_token_bucket_free(tb);
    rs_breaker_free(br);
}

static void new_modules_must_share_the_clock(void **state)
{
    (void)state;
    rs_bulkhead_config bc = RS_BULKHEAD_CONFIG_DEFAULT;
    rs_bulkhead *b = NULL;
    assert_int_equal(rs_bulkhead_new(&bc, NULL, &b), RS_OK); /* system clock */
    rs_adaptive_rate_config rc = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_adaptive_rate *ar = NULL;
    assert_int_equal(rs_adaptive_rate_new(&rc, NULL, &ar), RS_OK);
    rs_policy_config cfg = plain_config();
    const rs_clock *manual = rs_manual_clock_get(&clock_);
    rs_policy *p = NULL;
    cfg.bulkhead = b;
    RS_TEST_EXPECT_INVALID(rs_policy_new(&cfg, manual, &p), "rs_policy_config.bulkhead");
    cfg.bulkhead = NULL;
    cfg.adaptive_rate = ar;
    RS_TEST_EXPECT_INVALID(rs_policy_new(&cfg, manual, &p), "rs_policy_config.adaptive_rate");
    assert_int_equal(rs_policy_new(&cfg, NULL, &p), RS_OK);
    rs_policy_free(p);
    rs_adaptive_rate_free(ar);
    rs_bulkhead_free(b);
}

static void client_makes_the_adaptive_modules(void **state)
{
    (void)state;
    const rs_clock *clock = rs_manual_clock_get(&clock_);
    rs_adaptive_limit_config lc = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    lc.initial_limit = 7;
    rs_adaptive_rate_config rc = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.concurrency_limit = &lc;
    cfg.adaptive_rate = &rc;
    rs_client *c = NULL;
    assert_int_equal(rs_client_new(&cfg, clock, &c), RS_OK);
    assert_non_null(rs_client_bulkhead(c));
    assert_non_null(rs_client_adaptive_rate(c));
    assert_ptr_equal(rs_bulkhead_clock(rs_client_bulkhead(c)), clock);
    assert_int_equal(rs_bulkhead_max_concurrent(rs_client_bulkhead(c)), 7);
    assert_int_equal(rs_adaptive_limit_get(rs_client_concurrency_limit(c)), 7);
    script s = always(RS_SUCCESS);
    assert_int_equal(rs_client_call(c, scripted, &s), RS_OK);
    rs_adaptive_limit_snapshot ls;
    assert_int_equal(rs_adaptive_limit_metrics(rs_client_concurrency_limit(c), &ls), RS_OK);
    assert_int_equal(ls.samples, 1);
    rs_client_free(c);
    assert_null(rs_client_bulkhead(NULL));
    assert_null(rs_client_concurrency_limit(NULL));
    assert_null(rs_client_adaptive_rate(NULL));

    /* A bulkhead alone, and mistakes named by the client's field. */
    rs_bulkhead_config bc = RS_BULKHEAD_CONFIG_DEFAULT;
    bc.max_concurrent = 3;
    cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.bulkhead = &bc;
    assert_int_equal(rs_client_new(&cfg, clock, &c), RS_OK);
    assert_int_equal(rs_bulkhead_max_concurrent(rs_client_bulkhead(c)), 3);
    assert_null(rs_client_concurrency_limit(c));
    rs_client_free(c);
    bc.max_concurrent = 0;
    RS_TEST_EXPECT_INVALID(rs_client_new(&cfg, clock, &c), "rs_client_config.bulkhead.max_concurrent");
    cfg.bulkhead = NULL;
    lc.min_limit = 0;
    cfg.concurrency_limit = &lc;
    RS_TEST_EXPECT_INVALID(rs_client_new(&cfg, clock, &c),
                           "rs_client_config.concurrency_limit.min_limit");
    cfg.concurrency_limit = NULL;
    rc.beta = 1.5;
    cfg.adaptive_rate = &rc;
    RS_TEST_EXPECT_INVALID(rs_client_new(&cfg, clock, &c), "rs_client_config.adaptive_rate.beta");
}

#if RS_TEST_THREADS
/* A driver's wake that lingers until the call's owner is ending the call
 * on another thread, and notes whether rs_call_end() returned meanwhile. */
typedef struct lingering_wake {
    atomic_int stage; /* 1: in the wake; 2: the owner is ending the call */
    atomic_bool ended, ended_during_wake;
    rs_call_state *call;
    uint64_t now_ns;
} lingering_wake;

static void linger_in_wake(void *context)
{
    lingering_wake *l = context;
    atomic_store(&l->stage, 1);
    while (atomic_load(&l->stage) != 2) {
        (void)sched_yield();
    }
    for (int i = 0; i < 2000; i++) {
        if (atomic_load(&l->ended)) {
            atomic_store(&l->ended_during_wake, true);
        }
        (void)sched_yield();
    }
}

static void *end_the_call(void *arg)
{
    lingering_wake *l = arg;
    while (atomic_load(&l->stage) != 1) {
        (void)sched_yield();
    }
    atomic_store(&l->stage, 2);
    rs_call_end_at(l->call, NULL, l->now_ns); /* abandons it: frees the state */
    atomic_store(&l->ended, true);
    return NULL;
}

static void *leave_bulkhead(void *arg)
{
    rs_bulkhead_leave(arg);
    return NULL;
}

/* A call queued for a bulkhead slot and ended by its owner while another
 * thread's leave is running its wake: rs_call_end() returns only after the
 * wake has (the owner may free the wake's context then), and the wake
 * never touches the freed call state (ASan and TSan run this). */
static void a_wake_never_outlives_its_call(void **state)
{
    (void)state;
    rs_bulkhead *b = make_bulkhead(1, 4);
    rs_policy_config cfg = plain_config();
    cfg.bulkhead = b;
    rs_policy *p = make_policy(&cfg);
    static lingering_wake l;
    memset(&l, 0, sizeof l);
    l.now_ns = rs_manual_clock_now(&clock_);
    assert_true(rs_bulkhead_try_enter(b)); /* the slot is taken */
    rs_call_options opts = { .context = &l, .wake = linger_in_wake };
    assert_int_equal(rs_call_begin_at(p, &opts, &l.call, l.now_ns), RS_OK);
    assert_int_equal(rs_call_next_at(l.call, l.now_ns).action, RS_STEP_WAIT);
    pthread_t owner, leaver;
    assert_int_equal(pthread_create(&owner, NULL, end_the_call, &l), 0);
    assert_int_equal(pthread_create(&leaver, NULL, leave_bulkhead, b), 0);
    pthread_join(leaver, NULL);
    pthread_join(owner, NULL);
    assert_false(atomic_load(&l.ended_during_wake));
    assert_int_equal(rs_bulkhead_in_flight(b), 0); /* the slot went on, and back */
    assert_int_equal(rs_bulkhead_queued(b), 0);
    rs_policy_free(p);
    rs_bulkhead_free(b);
}

static rs_policy *shared_policy;
static _Atomic uint64_t shared_fn_calls;

static rs_verdict flaky(void *ctx, rs_attempt *a)
{
    (void)ctx;
    uint64_t n = atomic_fetch_add(&shared_fn_calls, 1);
    a->tokens_used = 1;
    if (n % 3 != 0) {
        return RS_SUCCESS;
    }
    a->retry_after_ns = n % 2 == 0 ? 1000 : 0; /* the shared pause, under contention */
    return RS_RETRY;
}

static void *call_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        int rc = rs_call(shared_policy, flaky, NULL);
        if (rc != RS_OK && rc != RS_E_EXHAUSTED && rc != RS_E_LIMITED && rc != RS_E_OPEN) {
            return (void *)1;
        }
    }
    return NULL;
}

/* Many threads on one policy (with every module): counters add up exactly. */
static void many_threads_share_one_policy(void **state)
{
    (void)state;
    rs_breaker *br = make_breaker(1000, 1 * MS);
    rs_budget *b = make_budget(UINT64_MAX / 4, 100);
    rs_token_bucket *tb = make_bucket(1e9, 1000000);
    rs_policy_config cfg = plain_config();
    cfg.retry.backoff.base_ns = 1000;
    cfg.breaker = br;
    cfg.account = rs_budget_account(b);
    cfg.limits[0] = bucket_limit(tb);
    cfg.token_estimate = 10;
    cfg.retry.budget_ratio = 0.1;
    shared_policy = make_policy(&cfg);
    atomic_store(&shared_fn_calls, 0);
    rs_test_run_threads(4, call_many, NULL);
    rs_policy_stats st;
    rs_policy_stats_get(shared_policy, &st);
    assert_int_equal(st.calls, 8000);
    assert_int_equal(st.attempts, atomic_load(&shared_fn_calls));
    /* Every call ends once; a withheld retry ends it as exhausted. */
    assert_int_equal(st.successes + st.failures + st.exhausted + st.timeouts +
                         st.rejected_limiter + st.rejected_breaker + st.rejected_budget +
                         st.rejected_server_pause,
                     8000);
    assert_true(st.rejected_retry_budget <= st.exhausted);
    assert_int_equal(st.attempts, st.calls + st.retries -
                                      (st.rejected_limiter + st.rejected_breaker +
                                       st.rejected_budget + st.rejected_server_pause));
    rs_policy_free(shared_policy);
    rs_token_bucket_free(tb);
    rs_budget_free(b);
    rs_breaker_free(br);
}
#endif

/* ---- the policy's snapshot ---------------------------------------------------------- */

/* Times add up over the calls that ended; a call in progress shows; the
 * pause left and the retry budget's size are the state now. */
static void metrics_add_up_the_calls(void **state)
{
    (void)state;
    rs_policy_config cfg = plain_config();
    cfg.retry.budget_ratio = 0.5;
    cfg.retry.budget_max_tokens = 8;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    s.verdicts[1] = RS_SUCCESS;
    s.count = 2;
    s.duration_ns = 10 * MS;
    s.retry_after_ns = 300 * MS; /* longer than the 100 ms backoff: a shared pause */
    rs_call_report r;
    assert_int_equal(rs_call_with(p, NULL, scripted, &s, &r), RS_OK);
    rs_policy_snapshot m;
    assert_int_equal(rs_policy_metrics(p, &m), RS_OK);
    assert_int_equal(m.calls, 1);
    assert_int_equal(m.successes, 1);
    assert_int_equal(m.attempts, 2);
    assert_int_equal(m.retries, 1);
    assert_int_equal(m.server_pauses, 2); /* both answers carried a Retry-After */
    assert_int_equal(m.elapsed_ns, r.elapsed_ns);
    assert_int_equal(m.elapsed_ns, 320 * MS);
    assert_int_equal(m.waited_ns, r.waited_ns);
    assert_int_equal(m.waited_ns, 300 * MS);
    assert_int_equal(m.limiter_wait_ns, r.limiter_wait_ns);
    assert_int_equal(m.in_progress, 0);
    assert_true(m.retry_max_tokens == 8.0);
    assert_true(m.retry_tokens == 7.5); /* -1 for the failure, +0.5 for the success */
    assert_int_equal(m.pause_remaining_ns, 300 * MS); /* the success's Retry-After */
    rs_manual_clock_advance(&clock_, 300 * MS);

    /* A call in progress, and the pause its answer started. */
    rs_call_state *c = NULL;
    assert_int_equal(rs_call_begin(p, NULL, &c), RS_OK);
    assert_int_equal(rs_call_next(c).action, RS_STEP_RUN);
    rs_attempt *a = rs_call_attempt(c);
    a->pause_ns = 2 * SEC;
    assert_int_equal(rs_call_complete(c, RS_RETRY).action, RS_STEP_WAIT);
    assert_int_equal(rs_policy_metrics(p, &m), RS_OK);
    assert_int_equal(m.calls, 2);
    assert_int_equal(m.in_progress, 1);
    assert_int_equal(m.pause_remaining_ns, 2 * SEC);
    assert_int_equal(rs_policy_metrics_at(p, &m, rs_manual_clock_now(&clock_) + SEC), RS_OK);
    assert_int_equal(m.pause_remaining_ns, SEC);
    rs_call_end(c, NULL);
    assert_int_equal(rs_policy_metrics(p, &m), RS_OK);
    assert_int_equal(m.in_progress, 0);
    assert_int_equal(m.timeouts, 1); /* abandoned */

    /* The 0.1 name fills the same. */
    rs_policy_stats old;
    rs_policy_stats_get(p, &old);
    assert_int_equal(old.calls, m.calls);
    assert_int_equal(old.elapsed_ns, m.elapsed_ns);
    rs_policy_stats_get(NULL, &old);
    rs_policy_stats_get(p, NULL);
    assert_int_equal(rs_policy_metrics(NULL, &m), RS_E_INVAL);
    assert_int_equal(rs_policy_metrics(p, NULL), RS_E_INVAL);
    rs_policy_free(p);
}

/* Every call the policy refuses because the breaker is open counts once in
 * the breaker's rejected too: failing fast at the start, before a retry
 * that would find it open, and when allow itself refuses. */
static void breaker_refusals_agree_across_layers(void **state)
{
    (void)state;
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    bc.failure_threshold = 1;
    bc.open_ns = 10 * SEC;
    bc.half_open_max_calls = 1;
    rs_breaker *b = NULL;
    assert_int_equal(rs_breaker_new(&bc, rs_manual_clock_get(&clock_), &b), RS_OK);
    rs_policy_config cfg = plain_config();
    cfg.breaker = b;
    rs_policy *p = make_policy(&cfg);
    script s = always(RS_RETRY);
    /* The failure trips it; the retry would find it open: refused now. */
    assert_int_equal(rs_call(p, scripted, &s), RS_E_OPEN);
    /* Open: failing fast. */
    assert_int_equal(rs_call(p, scripted, &s), RS_E_OPEN);
    assert_int_equal(rs_call(p, scripted, &s), RS_E_OPEN);
    /* Half-open with its one probe slot taken: allow refuses. */
    rs_manual_clock_advance(&clock_, 10 * SEC);
    rs_permit probe;
    assert_int_equal(rs_breaker_allow(b, &probe), RS_OK);
    assert_int_equal(rs_call(p, scripted, &s), RS_E_OPEN);
    rs_breaker_snapshot bm;
    rs_policy_snapshot pm;
    assert_int_equal(rs_breaker_metrics(b, &bm), RS_OK);
    assert_int_equal(rs_policy_metrics(p, &pm), RS_OK);
    assert_int_equal(pm.rejected_breaker, 4);
    assert_int_equal(bm.rejected, pm.rejected_breaker);
    rs_breaker_release(b, &probe);
    rs_policy_free(p);
    rs_breaker_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(success_first_try, setup),
        cmocka_unit_test_setup(retry_then_success_waits_the_backoff, setup),
        cmocka_unit_test_setup(exhausted_after_max_attempts, setup),
        cmocka_unit_test_setup(permanent_failure_is_not_retried, setup),
        cmocka_unit_test_setup(breaker_trip_mid_call_stops_at_once, setup),
        cmocka_unit_test_setup(caller_faults_do_not_trip_the_breaker, setup),
        cmocka_unit_test_setup(retry_after_overrides_a_shorter_backoff, setup),
        cmocka_unit_test_setup(retry_after_beyond_the_cap_ends_the_call, setup),
        cmocka_unit_test_setup(deadline_is_never_overslept, setup),
        cmocka_unit_test_setup(limiter_wait_is_bounded, setup),
        cmocka_unit_test_setup(sliding_window_is_waited_for, setup),
        cmocka_unit_test_setup(late_wake_does_not_run_past_the_deadline, setup),
        cmocka_unit_test_setup(contending_calls_queue_on_the_bucket, setup),
        cmocka_unit_test_setup(breaker_tripped_by_an_attempt_stops_the_retry, setup),
        cmocka_unit_test_setup(fn_cannot_reset_the_attempt_count, setup),
        cmocka_unit_test_setup(open_breaker_fails_fast_before_limiters, setup),
        cmocka_unit_test_setup(one_limiter_refusing_wastes_no_other, setup),
        cmocka_unit_test_setup(limits_are_asked_in_order, setup),
        cmocka_unit_test_setup(limit_refusals, setup),
        cmocka_unit_test_setup(budget_refusal_never_calls_fn, setup),
        cmocka_unit_test_setup(tokens_used_are_committed, setup),
        cmocka_unit_test_setup(refusals_cancel_the_budget_reservation, setup),
        cmocka_unit_test_setup(accounts_are_charged_like_budgets, setup),
        cmocka_unit_test_setup(retry_budget_drains_and_refills, setup),
        cmocka_unit_test_setup(small_retry_ratios_refill, setup),
        cmocka_unit_test_setup(jitter_is_seeded, setup),
        cmocka_unit_test_setup(hooks_see_the_right_numbers, setup),
        cmocka_unit_test_setup(step_api_drives_the_same_logic, setup),
        cmocka_unit_test_setup(abandoning_settles_what_the_attempt_held, setup),
        cmocka_unit_test_setup(invalid_arguments, setup),
        cmocka_unit_test_setup(allocation_failures_are_clean, setup),
        cmocka_unit_test_setup(call_state_in_caller_memory, setup),
        cmocka_unit_test_setup(server_pause_holds_every_call, setup),
        cmocka_unit_test_setup(server_pause_can_be_per_call, setup),
        cmocka_unit_test_setup(retry_after_jitter_spreads_the_return, setup),
        cmocka_unit_test_setup(server_pause_holds_calls_waiting_for_limits, setup),
        cmocka_unit_test_setup(per_call_account_on_another_clock_is_refused, setup),
        cmocka_unit_test_setup(retry_budget_leaves_caller_faults_alone, setup),
        cmocka_unit_test_setup(client_builds_and_owns_its_modules, setup),
        cmocka_unit_test_setup(client_takes_what_a_policy_takes, setup),
        cmocka_unit_test_setup(client_refuses_mistakes_naming_the_field, setup),
        cmocka_unit_test_setup(client_and_policy_defaults_agree, setup),
        cmocka_unit_test_setup(bulkhead_slot_is_held_while_fn_runs, setup),
        cmocka_unit_test_setup(step_api_queues_for_a_slot, setup),
        cmocka_unit_test_setup(attempts_feed_the_adaptive_limit, setup),
        cmocka_unit_test_setup(adaptive_rate_learns_from_throttles, setup),
        cmocka_unit_test_setup(adaptive_rate_starts_at_the_advertised_rate, setup),
        cmocka_unit_test_setup(fallback_serves_refusals_and_failures, setup),
        cmocka_unit_test_setup(new_modules_must_share_the_clock, setup),
        cmocka_unit_test_setup(client_makes_the_adaptive_modules, setup),
        cmocka_unit_test_setup(metrics_add_up_the_calls, setup),
        cmocka_unit_test_setup(breaker_refusals_agree_across_layers, setup),
#if RS_TEST_THREADS
        cmocka_unit_test_setup(a_wake_never_outlives_its_call, setup),
        cmocka_unit_test_setup(many_threads_share_one_policy, setup),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
