/* Circuit breaker: validation, every trip rule at and one below its
 * threshold, both windows, open time and its growth, half-open probing
 * (limit, success threshold, ratio mode, lost probes, release), generations,
 * forced states, callbacks (order, count, re-entrancy), metrics, allocation
 * failure, and concurrent use. Time moves only on the manual clock. */
#include "support/fault_alloc.h"
#include "support/testing.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "resilience/breaker.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

/* ---- Helpers ---- */

/* Every transition the callback saw, in order. */
typedef struct transition_log {
    rs_breaker_state from[512];
    rs_breaker_state to[512];
    size_t count;
} transition_log;

static transition_log log_;

static void log_transition(void *ctx, rs_breaker_state from, rs_breaker_state to)
{
    transition_log *log = ctx;
    assert_true(log->count < RS_TEST_ARRAY_LEN(log->from));
    log->from[log->count] = from;
    log->to[log->count] = to;
    log->count++;
}

/* Whether two doubles are equal as stored: passing them rounds each to
 * double, so a literal such as 0.6 cannot keep the extra precision x87
 * evaluates it in (FLT_EVAL_METHOD 2). */
static bool same_double(double a, double b) { return a == b; }

static void log_reset(void) { memset(&log_, 0, sizeof log_); }

/* Asserts the log holds exactly the transitions whose target states are
 * listed, each one starting where the previous one ended. */
static void expect_log(rs_breaker_state first_from, const rs_breaker_state *to, size_t n)
{
    assert_int_equal(log_.count, n);
    rs_breaker_state from = first_from;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(log_.from[i], from);
        assert_int_equal(log_.to[i], to[i]);
        from = to[i];
    }
}

#define EXPECT_LOG(first, ...)                                                               \
    do {                                                                                     \
        const rs_breaker_state expected_[] = { __VA_ARGS__ };                                \
        expect_log(first, expected_, RS_TEST_ARRAY_LEN(expected_));                          \
    } while (0)

/* Every rule off, tiny numbers: each test turns on what it exercises. */
static rs_breaker_config quiet_config(void)
{
    rs_breaker_config c = RS_BREAKER_CONFIG_DEFAULT;
    c.failure_threshold = 0;
    c.failure_rate = 0.0;
    c.slow_call_rate = 0.0;
    c.slow_call_ns = 0;
    c.window_type = RS_WINDOW_COUNT_BASED;
    c.window_size = 10;
    c.minimum_calls = 1;
    c.open_ns = 10 * SEC;
    c.half_open_max_calls = 1;
    c.success_threshold = 1;
    c.half_open_max_wait_ns = 0;
    c.on_state_change = log_transition;
    c.ctx = &log_;
    return c;
}

static rs_manual_clock clock_;

static rs_breaker *make(rs_breaker_config c)
{
    log_reset();
    rs_manual_clock_init(&clock_, 1000 * SEC);
    rs_breaker *b = NULL;
    assert_int_equal(rs_breaker_new(&c, rs_manual_clock_get(&clock_), &b), RS_OK);
    assert_non_null(b);
    assert_int_equal(rs_breaker_state_get(b), RS_BREAKER_CLOSED);
    return b;
}

static void advance(uint64_t ns) { rs_manual_clock_advance(&clock_, ns); }

static rs_permit admit(rs_breaker *b)
{
    rs_permit p = { 0, 0 };
    assert_int_equal(rs_breaker_allow(b, &p), RS_OK);
    return p;
}

static void refused(rs_breaker *b)
{
    rs_permit p = { 12345, 67890 };
    assert_int_equal(rs_breaker_allow(b, &p), RS_E_OPEN);
    assert_int_equal(p.start_ns, 12345); /* untouched */
    assert_int_equal(p.generation, 67890);
}

/* One call that lasts `duration` ns. */
static void call_lasting(rs_breaker *b, bool success, uint64_t duration)
{
    rs_permit p = admit(b);
    advance(duration);
    rs_breaker_record(b, &p, success);
}

static void call(rs_breaker *b, bool success) { call_lasting(b, success, 0); }

static void calls(rs_breaker *b, bool success, int n)
{
    for (int i = 0; i < n; i++) {
        call(b, success);
    }
}

static rs_breaker_snapshot metrics(rs_breaker *b)
{
    rs_breaker_snapshot m;
    memset(&m, 0xab, sizeof m);
    assert_int_equal(rs_breaker_metrics(b, &m), RS_OK);
    return m;
}

static void expect_state(rs_breaker *b, rs_breaker_state s)
{
    assert_int_equal(rs_breaker_state_get(b), s);
    assert_int_equal(metrics(b).state, s);
}

/* Asserts the breaker is still closed and that one more failure trips it:
 * the rule fires exactly here, not one call earlier or later. */
static void next_failure_trips(rs_breaker *b)
{
    expect_state(b, RS_BREAKER_CLOSED);
    call(b, false);
    expect_state(b, RS_BREAKER_OPEN);
}

/* Trips a breaker whose failure_threshold is 1, and waits out the open time. */
static void trip_and_wait(rs_breaker *b, uint64_t open_ns)
{
    call(b, false);
    expect_state(b, RS_BREAKER_OPEN);
    advance(open_ns);
}

/* A breaker whose first allow will probe: tripped by one failure, open time
 * passed. */
static rs_breaker *make_ready_to_probe(rs_breaker_config c)
{
    c.failure_threshold = 1;
    rs_breaker *b = make(c);
    trip_and_wait(b, c.open_ns);
    return b;
}

/* ---- Configuration ---- */

/* One invalid configuration and the field rs_last_error() must name. */
typedef struct bad_config {
    rs_breaker_config cfg;
    const char *names;
} bad_config;

static size_t add_bad(bad_config *bad, size_t n, rs_breaker_config c, const char *names)
{
    bad[n] = (bad_config){ c, names };
    return n + 1;
}

static void rejects_invalid_configs(void **state)
{
    (void)state;
    const double bad_rates[] = { -0.01, 1.01, -1.0, 2.0, NAN, INFINITY, -INFINITY };
    size_t cases = 0;
    bad_config bad[64];
    rs_breaker_config c;
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad_rates); i++) {
        c = quiet_config();
        c.failure_rate = bad_rates[i];
        cases = add_bad(bad, cases, c, "rs_breaker_config.failure_rate: ");
        c = quiet_config();
        c.slow_call_ns = MS;
        c.slow_call_rate = bad_rates[i];
        cases = add_bad(bad, cases, c, "rs_breaker_config.slow_call_rate: ");
        c = quiet_config();
        c.half_open_success_rate = bad_rates[i];
        cases = add_bad(bad, cases, c, "rs_breaker_config.half_open_success_rate: ");
    }
    c = quiet_config();
    c.failure_rate = 1.5;
    cases = add_bad(bad, cases, c, "rs_breaker_config.failure_rate: 1.5 is outside [0, 1]");
    c = quiet_config();
    c.slow_call_rate = 0.5; /* with slow_call_ns 0 */
    cases = add_bad(bad, cases, c, "rs_breaker_config.slow_call_ns: 0");
    c = quiet_config();
    c.window_type = (rs_breaker_window)2;
    cases = add_bad(bad, cases, c, "rs_breaker_config.window_type: 2");
    c = quiet_config();
    c.window_type = (rs_breaker_window)-1;
    cases = add_bad(bad, cases, c, "rs_breaker_config.window_type: -1");
    c = quiet_config();
    c.window_size = 0;
    cases = add_bad(bad, cases, c, "rs_breaker_config.window_size: 0");
    c = quiet_config();
    c.window_type = RS_WINDOW_TIME_BASED;
    c.window_size = 0;
    cases = add_bad(bad, cases, c, "rs_breaker_config.window_size: 0");
    c = quiet_config();
    c.window_size = RS_BREAKER_MAX_WINDOW_SIZE + 1;
    cases = add_bad(bad, cases, c, "rs_breaker_config.window_size: 1048577");
    c = quiet_config();
    c.window_type = RS_WINDOW_TIME_BASED;
    c.window_size = UINT32_MAX; /* would be 96 GiB: refused, not RS_E_NOMEM */
    cases = add_bad(bad, cases, c, "rs_breaker_config.window_size: 4294967295");
    c = quiet_config();
    c.half_open_max_calls = 0;
    cases = add_bad(bad, cases, c, "rs_breaker_config.half_open_max_calls: 0");
    c = quiet_config();
    c.success_threshold = 0;
    cases = add_bad(bad, cases, c, "rs_breaker_config.success_threshold: 0");
    /* open_backoff, checked as a backoff when open_ns is 0 (it is used). */
    c = quiet_config();
    c.open_ns = 0;
    c.open_backoff.base_ns = 0;
    cases = add_bad(bad, cases, c, "rs_breaker_config.open_ns: 0 while open_backoff.base_ns");
    const double bad_multipliers[] = { 0.99, 0.0, -2.0, NAN, INFINITY };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad_multipliers); i++) {
        c = quiet_config();
        c.open_ns = 0;
        c.open_backoff = RS_BACKOFF_CONFIG_DEFAULT;
        c.open_backoff.multiplier = bad_multipliers[i];
        cases = add_bad(bad, cases, c, "rs_breaker_config.open_backoff.multiplier: ");
    }
    c = quiet_config();
    c.open_ns = 0;
    c.open_backoff = RS_BACKOFF_CONFIG_DEFAULT;
    c.open_backoff.max_ns = c.open_backoff.base_ns - 1;
    cases = add_bad(bad, cases, c, "rs_breaker_config.open_backoff.max_ns: 99999999");
    c = quiet_config();
    c.open_ns = 0;
    c.open_backoff = RS_BACKOFF_CONFIG_DEFAULT;
    c.open_backoff.jitter = (rs_jitter)9;
    cases = add_bad(bad, cases, c, "rs_breaker_config.open_backoff.jitter: 9");
    assert_true(cases <= RS_TEST_ARRAY_LEN(bad));
    rs_breaker_config largest = quiet_config();
    largest.window_size = RS_BREAKER_MAX_WINDOW_SIZE;
    assert_int_equal(rs_breaker_config_validate(&largest), RS_OK);

    fault_alloc_install();
    for (size_t i = 0; i < cases; i++) {
        rs_breaker *b = (rs_breaker *)0x1;
        RS_TEST_EXPECT_INVALID(rs_breaker_config_validate(&bad[i].cfg), bad[i].names);
        RS_TEST_EXPECT_INVALID(rs_breaker_new(&bad[i].cfg, NULL, &b), bad[i].names);
        assert_ptr_equal(b, (rs_breaker *)0x1); /* out untouched */
    }
    assert_int_equal(fault_alloc_total(), 0); /* nothing was even allocated */
    fault_alloc_uninstall();

    rs_breaker *b = (rs_breaker *)0x1;
    rs_breaker_config good = quiet_config();
    RS_TEST_EXPECT_INVALID(rs_breaker_config_validate(NULL), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_breaker_new(NULL, NULL, &b), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_breaker_new(&good, NULL, NULL), "out: NULL");
    assert_ptr_equal(b, (rs_breaker *)0x1);

    /* The edges of every range are valid. */
    good.failure_rate = 1.0;
    good.slow_call_rate = 1.0;
    good.slow_call_ns = 1;
    good.half_open_success_rate = 1.0;
    good.window_size = 1;
    good.minimum_calls = 0;
    good.open_ns = 1;
    good.half_open_max_calls = RS_BREAKER_MAX_HALF_OPEN_CALLS;
    assert_int_equal(rs_breaker_config_validate(&good), RS_OK);
    good.window_type = RS_WINDOW_TIME_BASED;
    assert_int_equal(rs_breaker_config_validate(&good), RS_OK);
    /* An open_backoff that is not used (open_ns is set) is not looked at. */
    good.open_backoff.multiplier = NAN;
    good.open_backoff.jitter = (rs_jitter)9;
    assert_int_equal(rs_breaker_config_validate(&good), RS_OK);
    rs_breaker_config defaults = RS_BREAKER_CONFIG_DEFAULT;
    assert_int_equal(rs_breaker_config_validate(&defaults), RS_OK);
}

/* Issue 12 item 13: half_open_max_calls = UINT32_MAX passed validation and
 * then allocated 32 GiB of probe slots. It is bounded now, and the largest
 * allowed costs 8 bytes a probe. */
static void half_open_max_calls_is_bounded(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    const uint32_t too_many[] = { RS_BREAKER_MAX_HALF_OPEN_CALLS + 1, UINT32_MAX };
    fault_alloc_install();
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(too_many); i++) {
        c.half_open_max_calls = too_many[i];
        rs_breaker *b = (rs_breaker *)0x1;
        RS_TEST_EXPECT_INVALID(rs_breaker_config_validate(&c),
                               "rs_breaker_config.half_open_max_calls: ");
        RS_TEST_EXPECT_INVALID(rs_breaker_new(&c, NULL, &b), "half_open_max_calls");
        assert_ptr_equal(b, (rs_breaker *)0x1);
    }
    assert_int_equal(fault_alloc_total(), 0);
    fault_alloc_uninstall();

    /* The largest admits that many probes at once, and no more. */
    c.half_open_max_calls = RS_BREAKER_MAX_HALF_OPEN_CALLS;
    c.success_threshold = RS_BREAKER_MAX_HALF_OPEN_CALLS + 1;
    rs_breaker *b = make_ready_to_probe(c);
    for (uint32_t i = 0; i < RS_BREAKER_MAX_HALF_OPEN_CALLS; i++) {
        (void)admit(b);
    }
    assert_int_equal(metrics(b).probes_in_flight, RS_BREAKER_MAX_HALF_OPEN_CALLS);
    refused(b);
    rs_breaker_free(b);
}

static void check_documented_defaults(const rs_breaker_config *c)
{
    assert_int_equal(c->failure_threshold, 5);
    assert_true(c->failure_rate == 0.5);
    assert_true(c->slow_call_rate == 0.0);
    assert_int_equal(c->slow_call_ns, 0);
    assert_int_equal(c->window_type, RS_WINDOW_COUNT_BASED);
    assert_int_equal(c->window_size, 100);
    assert_int_equal(c->minimum_calls, 20);
    assert_int_equal(c->open_ns, 0); /* grows, as open_backoff says */
    assert_int_equal(c->half_open_max_calls, 3);
    assert_int_equal(c->success_threshold, 3);
    assert_int_equal(c->half_open_max_wait_ns, 60 * SEC);
    assert_null(c->on_state_change);
    assert_null(c->ctx);
    assert_int_equal(c->open_backoff.base_ns, 1 * SEC); /* 0.5-1 s, then 1-2 s */
    assert_int_equal(c->open_backoff.max_ns, 2 * SEC);
    assert_true(c->open_backoff.multiplier == 2.0);
    assert_int_equal(c->open_backoff.jitter, RS_JITTER_EQUAL);
    assert_int_equal(c->open_backoff.seed, 0);
    assert_true(c->half_open_success_rate == 0.0);
}

/* The brace initializer works where a compound literal cannot: a static. */
static const rs_breaker_config static_defaults = RS_BREAKER_CONFIG_INIT;

static void defaults_are_documented_values(void **state)
{
    (void)state;
    rs_breaker_config c = RS_BREAKER_CONFIG_DEFAULT;
    check_documented_defaults(&c);
    check_documented_defaults(&static_defaults);
}

static void null_arguments_are_safe(void **state)
{
    (void)state;
    rs_breaker *b = make(quiet_config());
    rs_permit p = { 0, 0 };
    rs_breaker_snapshot m;
    assert_int_equal(rs_breaker_allow(NULL, &p), RS_E_INVAL);
    assert_int_equal(rs_breaker_allow(b, NULL), RS_E_INVAL);
    assert_int_equal(rs_breaker_allow_at(NULL, &p, 0), RS_E_INVAL);
    assert_int_equal(rs_breaker_allow_at(b, NULL, 0), RS_E_INVAL);
    rs_breaker_record(NULL, &p, false);
    rs_breaker_record(b, NULL, false);
    rs_breaker_record_at(NULL, &p, false, 0);
    rs_breaker_record_at(b, NULL, false, 0);
    rs_breaker_release(NULL, &p);
    rs_breaker_release(b, NULL);
    rs_breaker_force(NULL, RS_BREAKER_OPEN);
    rs_breaker_force_at(NULL, RS_BREAKER_OPEN, 0);
    assert_int_equal(rs_breaker_state_get(NULL), RS_BREAKER_DISABLED);
    assert_int_equal(rs_breaker_metrics(NULL, &m), RS_E_INVAL);
    assert_int_equal(rs_breaker_metrics(b, NULL), RS_E_INVAL);
    assert_int_equal(rs_breaker_metrics_at(NULL, &m, 0), RS_E_INVAL);
    assert_int_equal(rs_breaker_metrics_at(b, NULL, 0), RS_E_INVAL);
    rs_breaker_free(NULL);
    assert_int_equal(metrics(b).calls, 0);
    assert_int_equal(log_.count, 0);
    rs_breaker_free(b);

    assert_string_equal(rs_breaker_state_name(RS_BREAKER_CLOSED), "CLOSED");
    assert_string_equal(rs_breaker_state_name(RS_BREAKER_OPEN), "OPEN");
    assert_string_equal(rs_breaker_state_name(RS_BREAKER_HALF_OPEN), "HALF_OPEN");
    assert_string_equal(rs_breaker_state_name(RS_BREAKER_FORCED_OPEN), "FORCED_OPEN");
    assert_string_equal(rs_breaker_state_name(RS_BREAKER_DISABLED), "DISABLED");
    assert_string_equal(rs_breaker_state_name((rs_breaker_state)5), "UNKNOWN");
    assert_string_equal(rs_breaker_state_name((rs_breaker_state)-1), "UNKNOWN");
}

/* A NULL clock is the system clock: permits carry real monotonic time when
 * the breaker needs it (here: slow-call tracking on). */
static void null_clock_is_the_system_clock(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.on_state_change = NULL;
    c.slow_call_ns = SEC;
    rs_breaker *b = NULL;
    assert_int_equal(rs_breaker_new(&c, NULL, &b), RS_OK);
    uint64_t before = rs_test_now_ns();
    rs_permit p;
    assert_int_equal(rs_breaker_allow(b, &p), RS_OK);
    uint64_t after = rs_test_now_ns();
    assert_true(p.start_ns >= before && p.start_ns <= after);
    rs_breaker_record(b, &p, true);
    assert_int_equal(metrics(b).calls, 1);
    rs_breaker_free(b);
}

/* The side-effect-free question: refuses while open, not otherwise, and
 * asking changes nothing (no rejection counted, no half-open transition). */
static void would_refuse_answers_without_effects(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 1;
    rs_breaker *b = make(c);
    uint64_t now = rs_manual_clock_now(&clock_);
    assert_false(rs_breaker_would_refuse_at(b, now));
    calls(b, false, 1);
    expect_state(b, RS_BREAKER_OPEN);
    now = rs_manual_clock_now(&clock_);
    assert_true(rs_breaker_would_refuse_at(b, now));
    assert_true(rs_breaker_would_refuse_at(b, now + 10 * SEC - 1));
    assert_false(rs_breaker_would_refuse_at(b, now + 10 * SEC)); /* a probe would go */
    expect_state(b, RS_BREAKER_OPEN);                            /* ...but none went */
    assert_int_equal(metrics(b).rejected, 0);
    rs_breaker_force(b, RS_BREAKER_FORCED_OPEN);
    assert_true(rs_breaker_would_refuse_at(b, now + 100 * SEC));
    rs_breaker_force(b, RS_BREAKER_DISABLED);
    assert_false(rs_breaker_would_refuse_at(b, now));
    assert_false(rs_breaker_would_refuse_at(NULL, now));
    rs_breaker_free(b);
}

/* Without slow calls or a time window, a CLOSED allow does not read the
 * clock (nothing depends on the time) and the permit says so with 0; the
 * outcome still counts. */
static void closed_allow_skips_the_clock_when_time_is_unused(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    rs_breaker *b = make(c);
    rs_permit p;
    assert_int_equal(rs_breaker_allow(b, &p), RS_OK);
    assert_int_equal(p.start_ns, 0);
    rs_breaker_record(b, &p, false);
    assert_int_equal(metrics(b).failures, 1);
    c.window_type = RS_WINDOW_TIME_BASED; /* time now matters */
    rs_breaker_free(b);
    b = make(c);
    assert_int_equal(rs_breaker_allow(b, &p), RS_OK);
    assert_int_equal(p.start_ns, rs_manual_clock_now(&clock_));
    rs_breaker_free(b);
}

/* ---- Trip rules ---- */

static void consecutive_failures_trip_at_the_threshold(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 3;
    rs_breaker *b = make(c);
    calls(b, false, 2); /* one below */
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(metrics(b).consecutive_failures, 2);
    call(b, true); /* a success ends the run */
    assert_int_equal(metrics(b).consecutive_failures, 0);
    calls(b, false, 2);
    next_failure_trips(b); /* exactly the threshold */
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    /* A threshold of 1 trips on the first failure. */
    c.failure_threshold = 1;
    b = make(c);
    call(b, false);
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);
}

static void failure_rate_trips_at_the_threshold(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_rate = 0.3; /* 3 of 10 must trip, although 0.3 is not exact in binary */
    c.window_size = 10;
    c.minimum_calls = 10;
    rs_breaker *b = make(c);
    calls(b, false, 2);
    calls(b, true, 8); /* 2 of 10: one below */
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(metrics(b).calls, 10);
    assert_int_equal(metrics(b).failures, 2);
    /* The ring evicts the oldest outcome, a failure: still 2 of 10. */
    call(b, false);
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(metrics(b).failures, 2);
    call(b, true); /* evicts the other old failure: 1 of 10 */
    assert_int_equal(metrics(b).failures, 1);
    calls(b, false, 1); /* 2 of 10 */
    next_failure_trips(b); /* 3 of 10 = 0.3 exactly */
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    /* 0.5 over 4: 2 failures trip, and a success can complete the minimum. */
    c.failure_rate = 0.5;
    c.window_size = 4;
    c.minimum_calls = 4;
    b = make(c);
    calls(b, false, 2);
    call(b, true);
    expect_state(b, RS_BREAKER_CLOSED); /* 3 calls: not judged yet */
    call(b, true);                      /* 2 of 4 */
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    /* A rate of 1.0 needs every call in the window to fail. */
    c.failure_rate = 1.0;
    b = make(c);
    calls(b, false, 3);
    call(b, true);
    calls(b, false, 3);
    next_failure_trips(b); /* from 3 of 4 failed to 4 of 4 */
    rs_breaker_free(b);
}

static void minimum_calls_gate_the_rates(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_rate = 0.5;
    c.window_size = 100;
    c.minimum_calls = 5;
    rs_breaker *b = make(c);
    calls(b, false, 4); /* 100% failures, but only 4 calls */
    next_failure_trips(b);
    rs_breaker_free(b);

    /* 0 counts as 1: the very first failure is a 100% rate. */
    c.minimum_calls = 0;
    b = make(c);
    call(b, true);
    next_failure_trips(b); /* 1 of 2 */
    rs_breaker_free(b);
    b = make(c);
    call(b, false);
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    /* A count window caps the minimum at its size. */
    c.window_size = 4;
    c.minimum_calls = 1000;
    b = make(c);
    calls(b, false, 3);
    next_failure_trips(b);
    rs_breaker_free(b);
}

static void slow_call_rate_trips_at_the_threshold(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.slow_call_ns = 100 * MS;
    c.slow_call_rate = 0.5;
    c.window_size = 4;
    c.minimum_calls = 4;
    rs_breaker *b = make(c);
    call_lasting(b, true, 100 * MS);     /* exactly slow_call_ns: not slow */
    call_lasting(b, true, 100 * MS + 1); /* slow, although it succeeded */
    call_lasting(b, true, 0);
    call_lasting(b, true, 50 * MS);
    expect_state(b, RS_BREAKER_CLOSED); /* 1 of 4: one below */
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.calls, 4);
    assert_int_equal(m.slow_calls, 1);
    assert_int_equal(m.failures, 0);
    assert_true(m.slow_call_rate == 0.25);
    call_lasting(b, false, 1 * SEC); /* a slow failure is slow too: 2 of 4 */
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    /* Tracking without the rule: slow calls are counted but never trip. */
    c.slow_call_rate = 0.0;
    b = make(c);
    for (int i = 0; i < 8; i++) {
        call_lasting(b, true, SEC);
    }
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(metrics(b).slow_calls, 4);
    assert_true(metrics(b).slow_call_rate == 1.0);
    rs_breaker_free(b);

    /* The explicit-time twins measure from the permit's start. */
    c.slow_call_rate = 1.0;
    c.window_size = 1;
    c.minimum_calls = 1;
    b = make(c);
    rs_permit p;
    assert_int_equal(rs_breaker_allow_at(b, &p, 5 * SEC), RS_OK);
    assert_int_equal(p.start_ns, 5 * SEC);
    rs_breaker_record_at(b, &p, true, 5 * SEC + 100 * MS);
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(rs_breaker_allow_at(b, &p, 5 * SEC), RS_OK);
    rs_breaker_record_at(b, &p, true, 5 * SEC + 100 * MS + 1);
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);
}

/* Every rule can be on at once; whichever fires first trips. */
static void rules_combine(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 3;
    c.failure_rate = 0.5;
    c.slow_call_ns = 10 * MS;
    c.slow_call_rate = 0.75;
    c.window_size = 8;
    c.minimum_calls = 8;
    rs_breaker *b = make(c);
    for (int i = 0; i < 4; i++) {
        call(b, false);
        call(b, true);
    }
    /* 4 of 8 failed, never 3 in a row: the rate rule trips. */
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    b = make(c);
    calls(b, false, 3); /* consecutive rule, long before minimum_calls */
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    b = make(c);
    for (int i = 0; i < 6; i++) {
        call_lasting(b, true, 11 * MS);
    }
    call(b, true);
    expect_state(b, RS_BREAKER_CLOSED);
    call(b, true); /* 6 of 8 slow = 0.75 */
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);
}

/* With no rule on, nothing trips the breaker. */
static void no_rules_never_trip(void **state)
{
    (void)state;
    rs_breaker *b = make(quiet_config());
    calls(b, false, 100);
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(metrics(b).calls, 10);
    assert_int_equal(metrics(b).failures, 10);
    assert_int_equal(metrics(b).consecutive_failures, 100);
    assert_int_equal(log_.count, 0);
    rs_breaker_free(b);
}

/* ---- Time-based window ---- */

static void time_window_forgets_old_seconds(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.window_type = RS_WINDOW_TIME_BASED;
    c.window_size = 10; /* the current second and the 9 before it */
    c.failure_rate = 1.0;
    c.minimum_calls = 4;
    rs_breaker *b = make(c); /* the clock starts at second 1000 exactly */
    calls(b, false, 3);
    advance(9 * SEC + 999 * MS); /* second 1009: second 1000 is still in */
    assert_int_equal(metrics(b).calls, 3);
    call(b, false); /* 4 failures in the window */
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    b = make(c);
    calls(b, false, 3);
    advance(10 * SEC); /* second 1010: second 1000 has left */
    assert_int_equal(metrics(b).calls, 0);
    call(b, false);
    expect_state(b, RS_BREAKER_CLOSED); /* 1 failure, not 4 */
    assert_int_equal(metrics(b).calls, 1);
    rs_breaker_free(b);

    /* Buckets leave one second at a time. */
    c.failure_rate = 0.0;
    b = make(c);
    calls(b, true, 2);  /* second 1000 */
    advance(5 * SEC);
    calls(b, false, 3); /* second 1005 */
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.calls, 5);
    assert_int_equal(m.failures, 3);
    assert_int_equal(m.successes, 2);
    assert_true(same_double(m.failure_rate, 0.6));
    advance(5 * SEC - 1); /* 1009.999...: both seconds in */
    assert_int_equal(metrics(b).calls, 5);
    advance(1); /* 1010 */
    m = metrics(b);
    assert_int_equal(m.calls, 3);
    assert_int_equal(m.failures, 3);
    advance(5 * SEC); /* 1015 */
    assert_int_equal(metrics(b).calls, 0);
    calls(b, false, 1);
    advance(1000 * SEC); /* a jump past the whole window */
    assert_int_equal(metrics(b).calls, 0);
    calls(b, true, 2);
    assert_int_equal(metrics(b).calls, 2);

    /* A lagging timestamp counts while its second is in the window. */
    uint64_t now = rs_manual_clock_now(&clock_);
    rs_permit p;
    assert_int_equal(rs_breaker_allow_at(b, &p, now - 9 * SEC), RS_OK);
    rs_breaker_record_at(b, &p, false, now - 9 * SEC);
    assert_int_equal(metrics(b).calls, 3);
    assert_int_equal(rs_breaker_allow_at(b, &p, now - 10 * SEC), RS_OK);
    rs_breaker_record_at(b, &p, false, now - 10 * SEC); /* too old: ignored */
    assert_int_equal(metrics(b).calls, 3);
    assert_int_equal(metrics(b).failures, 1);
    rs_breaker_free(b);
}

/* The memory of a time window does not depend on the call rate. */
static void time_window_memory_is_per_second(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.window_type = RS_WINDOW_TIME_BASED;
    c.window_size = 60;
    fault_alloc_install();
    rs_breaker *b = make(c);
    size_t allocations = fault_alloc_total();
    for (int i = 0; i < 100000; i++) {
        call(b, i % 3 == 0);
    }
    assert_int_equal(fault_alloc_total(), allocations); /* nothing allocated per call */
    assert_int_equal(metrics(b).calls, 100000);
    assert_int_equal(metrics(b).failures, 66666);
    rs_breaker_free(b);
    assert_int_equal(fault_alloc_live(), 0);
    fault_alloc_uninstall();
}

/* ---- OPEN and its duration ---- */

static void open_fails_fast_until_open_ns(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 1;
    c.open_ns = 10 * SEC;
    rs_breaker *b = make(c);
    call(b, false);
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.until_half_open_ns, 10 * SEC);
    assert_int_equal(m.open_duration_ns, 10 * SEC);
    assert_int_equal(m.calls, 0);
    refused(b);
    advance(10 * SEC - 1); /* one below */
    refused(b);
    assert_int_equal(metrics(b).until_half_open_ns, 1);
    assert_int_equal(metrics(b).rejected, 2);
    expect_state(b, RS_BREAKER_OPEN);
    advance(1); /* exactly open_ns: the state only moves on the next allow */
    assert_int_equal(metrics(b).until_half_open_ns, 0);
    expect_state(b, RS_BREAKER_OPEN);
    rs_permit p = admit(b);
    expect_state(b, RS_BREAKER_HALF_OPEN);
    assert_int_equal(metrics(b).probes_in_flight, 1);
    rs_breaker_record(b, &p, true);
    expect_state(b, RS_BREAKER_CLOSED);
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN, RS_BREAKER_HALF_OPEN, RS_BREAKER_CLOSED);
    rs_breaker_free(b);

    /* The shortest open time, 1 ns, probes a nanosecond later (0 is not a
     * fixed open time: it selects open_backoff). */
    c.open_ns = 1;
    b = make(c);
    call(b, false);
    expect_state(b, RS_BREAKER_OPEN);
    refused(b);
    advance(1);
    (void)admit(b);
    expect_state(b, RS_BREAKER_HALF_OPEN);
    rs_breaker_free(b);
}

/* Asserts the breaker is open for exactly `ns` and waits it out (refused
 * one below), so the next allow probes. */
static void expect_open_for(rs_breaker *b, uint64_t ns)
{
    expect_state(b, RS_BREAKER_OPEN);
    assert_int_equal(metrics(b).open_duration_ns, ns);
    assert_int_equal(metrics(b).until_half_open_ns, ns);
    advance(ns - 1);
    refused(b);
    advance(1);
}

/* Trips a fresh breaker (failure_threshold 1) and fails three probes in a
 * row: each reopening lasts c.open_ns again, never longer. */
static void expect_open_time_never_grows(rs_breaker_config c, uint64_t open_ns)
{
    rs_breaker *b = make(c);
    call(b, false);
    for (int i = 0; i < 3; i++) {
        expect_open_for(b, open_ns);
        rs_permit p = admit(b);
        rs_breaker_record(b, &p, false);
    }
    rs_breaker_free(b);
}

/* An open_backoff without jitter: base 1 s doubling up to 5 s. */
static rs_breaker_config growing_config(void)
{
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 1;
    c.open_ns = 0; /* the open time grows, as open_backoff says */
    c.open_backoff = RS_BACKOFF_CONFIG_DEFAULT;
    c.open_backoff.base_ns = 1 * SEC;
    c.open_backoff.max_ns = 5 * SEC;
    c.open_backoff.multiplier = 2.0;
    c.open_backoff.jitter = RS_JITTER_NONE;
    return c;
}

static void open_time_grows_on_repeated_trips(void **state)
{
    (void)state;
    rs_breaker_config c = growing_config();
    rs_breaker *b = make(c);
    assert_int_equal(metrics(b).open_duration_ns, 1 * SEC); /* the next one */
    call(b, false);
    const uint64_t expected[] = { 1 * SEC, 2 * SEC, 4 * SEC, 5 * SEC, 5 * SEC };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(expected); i++) {
        expect_open_for(b, expected[i]);
        rs_permit p = admit(b);
        expect_state(b, RS_BREAKER_HALF_OPEN);
        if (i + 1 < RS_TEST_ARRAY_LEN(expected)) {
            assert_int_equal(metrics(b).open_duration_ns, expected[i + 1]);
        }
        rs_breaker_record(b, &p, i + 1 == RS_TEST_ARRAY_LEN(expected));
    }
    /* The last probe succeeded: closing resets the growth. */
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(metrics(b).open_duration_ns, 1 * SEC);
    call(b, false);
    expect_open_for(b, 1 * SEC);
    rs_breaker_free(b);

    /* A fixed open_ns: open_backoff is not used. */
    c = growing_config();
    c.open_ns = 10 * SEC;
    expect_open_time_never_grows(c, 10 * SEC);
    /* A multiplier of 1 keeps the base. */
    c = growing_config();
    c.open_backoff.multiplier = 1.0;
    expect_open_time_never_grows(c, c.open_backoff.base_ns);

    /* Growth saturates instead of overflowing. */
    c = growing_config();
    c.open_backoff.base_ns = UINT64_MAX / 2;
    c.open_backoff.max_ns = UINT64_MAX;
    c.open_backoff.multiplier = 1e300;
    b = make(c);
    rs_breaker_force(b, RS_BREAKER_OPEN); /* the first opening: base_ns */
    assert_int_equal(metrics(b).open_duration_ns, UINT64_MAX / 2);
    rs_breaker_force(b, RS_BREAKER_HALF_OPEN);
    rs_breaker_force(b, RS_BREAKER_OPEN); /* the second */
    assert_int_equal(metrics(b).open_duration_ns, UINT64_MAX);
    assert_int_equal(metrics(b).until_half_open_ns, UINT64_MAX - rs_manual_clock_now(&clock_));
    advance(1000 * SEC);
    refused(b);
    rs_breaker_free(b);
}

/* Runs a breaker through `rounds` failed probes and records each open
 * period (checking that metrics announced it beforehand). */
static void record_open_times(rs_breaker_config c, uint64_t *open_ns, size_t rounds)
{
    rs_breaker *b = make(c);
    uint64_t announced = metrics(b).open_duration_ns;
    call(b, false);
    for (size_t i = 0; i < rounds; i++) {
        open_ns[i] = metrics(b).open_duration_ns;
        assert_int_equal(open_ns[i], announced);
        expect_open_for(b, open_ns[i]);
        rs_permit p = admit(b);
        announced = metrics(b).open_duration_ns;
        rs_breaker_record(b, &p, false);
    }
    rs_breaker_free(b);
}

/* With jitter, each open period is the backoff's delay for its place in the
 * run of openings: random within the jitter's range, the same sequence for
 * the same seed, another for another seed. */
static void open_backoff_jitter_is_seeded(void **state)
{
    (void)state;
    enum { ROUNDS = 12 };
    rs_breaker_config c = growing_config();
    c.open_backoff.max_ns = 60 * SEC;
    c.open_backoff.jitter = RS_JITTER_FULL;
    c.open_backoff.seed = 42;
    uint64_t first[ROUNDS], again[ROUNDS], other[ROUNDS];
    record_open_times(c, first, ROUNDS);
    record_open_times(c, again, ROUNDS);
    c.open_backoff.seed = 43;
    record_open_times(c, other, ROUNDS);
    bool differs = false;
    rs_backoff_config plain = c.open_backoff;
    plain.jitter = RS_JITTER_NONE;
    for (uint32_t k = 1; k <= ROUNDS; k++) {
        assert_int_equal(first[k - 1], again[k - 1]);
        assert_true(first[k - 1] <= rs_backoff_delay(&plain, k, 0, 0));
        differs = differs || first[k - 1] != other[k - 1];
    }
    assert_true(differs);

    /* Decorrelated jitter grows from the previous open period. */
    c.open_backoff.jitter = RS_JITTER_DECORRELATED;
    record_open_times(c, first, ROUNDS);
    uint64_t previous = c.open_backoff.base_ns;
    for (size_t i = 0; i < ROUNDS; i++) {
        assert_true(first[i] >= c.open_backoff.base_ns);
        assert_true(first[i] <= 3 * previous && first[i] <= c.open_backoff.max_ns);
        previous = first[i];
    }
}

/* ---- HALF_OPEN ---- */

static void half_open_admits_at_most_max_calls(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.half_open_max_calls = 3;
    c.success_threshold = 5;
    rs_breaker *b = make_ready_to_probe(c);
    rs_permit p[5];
    for (int i = 0; i < 3; i++) {
        p[i] = admit(b);
        assert_int_equal(metrics(b).probes_in_flight, (uint32_t)(i + 1));
    }
    refused(b);
    refused(b);
    assert_int_equal(metrics(b).rejected, 2);
    rs_breaker_record(b, &p[0], true); /* a slot frees up */
    assert_int_equal(metrics(b).probes_in_flight, 2);
    p[3] = admit(b);
    refused(b);
    rs_breaker_record(b, &p[1], true);
    rs_breaker_record(b, &p[2], true);
    p[4] = admit(b);
    rs_breaker_record(b, &p[3], true);
    expect_state(b, RS_BREAKER_HALF_OPEN); /* 4 successes: one below */
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.calls, 4);
    assert_int_equal(m.successes, 4);
    assert_int_equal(m.probes_in_flight, 1);
    rs_breaker_record(b, &p[4], true);
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(metrics(b).probes_in_flight, 0);
    rs_breaker_free(b);
}

static void success_threshold_closes(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.success_threshold = 3;
    rs_breaker *b = make_ready_to_probe(c);
    call(b, true);
    call(b, true);
    expect_state(b, RS_BREAKER_HALF_OPEN); /* one below */
    call(b, true);
    expect_state(b, RS_BREAKER_CLOSED);
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN, RS_BREAKER_HALF_OPEN, RS_BREAKER_CLOSED);
    rs_breaker_free(b);
}

static void any_probe_failure_reopens(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.half_open_max_calls = 3;
    c.success_threshold = 3;
    rs_breaker *b = make_ready_to_probe(c);
    rs_permit p0 = admit(b), p1 = admit(b), p2 = admit(b);
    rs_breaker_record(b, &p0, true);
    rs_breaker_record(b, &p1, false);
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_record(b, &p2, true); /* from the old half-open: ignored */
    expect_state(b, RS_BREAKER_OPEN);
    assert_int_equal(metrics(b).until_half_open_ns, c.open_ns);
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN, RS_BREAKER_HALF_OPEN, RS_BREAKER_OPEN);
    rs_breaker_free(b);
}

static void slow_probe_reopens_only_with_the_slow_rule(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.slow_call_ns = 100 * MS;
    c.slow_call_rate = 0.9;
    c.minimum_calls = 10;
    rs_breaker *b = make_ready_to_probe(c);
    call_lasting(b, true, 100 * MS + 1); /* slow success */
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    c.slow_call_rate = 0.0; /* slow calls tracked, but not a trip rule */
    b = make_ready_to_probe(c);
    rs_permit p = admit(b);
    advance(SEC);
    assert_int_equal(metrics(b).probes_in_flight, 1);
    rs_breaker_record(b, &p, true);
    expect_state(b, RS_BREAKER_CLOSED);
    rs_breaker_free(b);
}

static void ratio_mode_judges_max_calls_probes(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.half_open_max_calls = 5;
    c.half_open_success_rate = 0.6;
    c.success_threshold = 1; /* ignored in ratio mode */
    rs_breaker *b = make_ready_to_probe(c);
    rs_permit p[5];
    for (int i = 0; i < 5; i++) {
        p[i] = admit(b);
    }
    refused(b);
    rs_breaker_record(b, &p[0], false); /* a failure does not reopen yet */
    rs_breaker_record(b, &p[1], true);
    expect_state(b, RS_BREAKER_HALF_OPEN);
    refused(b); /* 2 judged + 3 in flight: no room for a sixth probe */
    rs_breaker_record(b, &p[2], false);
    rs_breaker_record(b, &p[3], true);
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.state, RS_BREAKER_HALF_OPEN);
    assert_int_equal(m.calls, 4);
    assert_int_equal(m.failures, 2);
    assert_true(m.failure_rate == 0.5);
    rs_breaker_record(b, &p[4], true); /* 3 of 5 = 0.6 exactly */
    expect_state(b, RS_BREAKER_CLOSED);

    /* 2 of 5 (one probe below) reopens. */
    trip_and_wait(b, c.open_ns);
    for (int i = 0; i < 5; i++) {
        call(b, i < 2);
        if (i < 4) {
            expect_state(b, RS_BREAKER_HALF_OPEN);
        }
    }
    expect_state(b, RS_BREAKER_OPEN);
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN, RS_BREAKER_HALF_OPEN, RS_BREAKER_CLOSED,
               RS_BREAKER_OPEN, RS_BREAKER_HALF_OPEN, RS_BREAKER_OPEN);
    rs_breaker_free(b);
}

static void lost_probes_are_written_off(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.half_open_max_calls = 2;
    c.success_threshold = 1;
    c.half_open_max_wait_ns = 10 * SEC;
    rs_breaker *b = make_ready_to_probe(c);
    rs_permit lost = admit(b);
    advance(5 * SEC);
    rs_permit late = admit(b);
    advance(5 * SEC - 1); /* the first probe has been out 10 s - 1 */
    refused(b);
    expect_state(b, RS_BREAKER_HALF_OPEN);
    advance(1); /* 10 s exactly: written off as a failure, which reopens */
    refused(b);
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_record(b, &lost, true);
    rs_breaker_record(b, &late, true);
    expect_state(b, RS_BREAKER_OPEN);
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN, RS_BREAKER_HALF_OPEN, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    /* A record also writes off the others first, and its own probe if it
     * comes back too late. */
    b = make_ready_to_probe(c);
    lost = admit(b);
    advance(5 * SEC);
    late = admit(b);
    advance(5 * SEC);
    rs_breaker_record(b, &late, true); /* would close, but `lost` reopens first */
    expect_state(b, RS_BREAKER_OPEN);
    advance(c.open_ns);
    rs_permit p = admit(b);
    advance(10 * SEC - 1);
    rs_breaker_record(b, &p, true); /* just in time */
    expect_state(b, RS_BREAKER_CLOSED);
    trip_and_wait(b, c.open_ns);
    p = admit(b);
    advance(10 * SEC);
    rs_breaker_record(b, &p, true); /* too late: written off */
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_free(b);

    /* Ratio mode counts written-off probes as failed probes. */
    c.half_open_success_rate = 0.5;
    b = make_ready_to_probe(c);
    lost = admit(b);
    advance(5 * SEC);
    late = admit(b);
    advance(5 * SEC);
    refused(b); /* lost is written off: 1 judged + 1 in flight */
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.state, RS_BREAKER_HALF_OPEN);
    assert_int_equal(m.failures, 1);
    assert_int_equal(m.probes_in_flight, 1);
    rs_breaker_record(b, &lost, true); /* already written off: ignored */
    assert_int_equal(metrics(b).calls, 1);
    rs_breaker_record(b, &late, true); /* 1 of 2 = 0.5 */
    expect_state(b, RS_BREAKER_CLOSED);
    rs_breaker_free(b);

    /* 0 never writes off: without answers, HALF_OPEN waits forever. */
    c.half_open_success_rate = 0.0;
    c.half_open_max_wait_ns = 0;
    b = make_ready_to_probe(c);
    (void)admit(b);
    (void)admit(b);
    advance(1000000 * SEC);
    refused(b);
    expect_state(b, RS_BREAKER_HALF_OPEN);
    rs_breaker_free(b);
}

/* A write-off that reopens with an open time of 0 probes again at once. */
static void write_off_with_zero_open_time(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 1;
    c.open_ns = 1; /* the shortest open time */
    c.half_open_max_wait_ns = SEC;
    rs_breaker *b = make(c);
    call(b, false);
    advance(1);
    rs_permit lost = admit(b);
    advance(SEC);
    refused(b); /* the lost probe is written off: HALF_OPEN -> OPEN for 1 ns */
    advance(1);
    rs_permit p = admit(b);
    expect_state(b, RS_BREAKER_HALF_OPEN);
    assert_int_not_equal(p.generation, lost.generation);
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN, RS_BREAKER_HALF_OPEN, RS_BREAKER_OPEN,
               RS_BREAKER_HALF_OPEN);
    rs_breaker_record(b, &p, true);
    expect_state(b, RS_BREAKER_CLOSED);
    rs_breaker_free(b);
}

static void release_frees_a_probe_slot(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 1;
    rs_breaker *b = make(c);
    rs_permit closed = admit(b);
    rs_breaker_release(b, &closed); /* CLOSED: nothing to give back */
    assert_int_equal(metrics(b).calls, 0);
    trip_and_wait(b, c.open_ns);
    rs_permit p = admit(b);
    refused(b);
    rs_breaker_release(b, &p);
    expect_state(b, RS_BREAKER_HALF_OPEN);
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.calls, 0); /* nothing was judged */
    assert_int_equal(m.probes_in_flight, 0);
    rs_breaker_record(b, &p, false); /* already released: ignored */
    expect_state(b, RS_BREAKER_HALF_OPEN);
    rs_permit q = admit(b);
    rs_breaker_release(b, &closed); /* stale */
    assert_int_equal(metrics(b).probes_in_flight, 1);
    rs_breaker_record(b, &q, true);
    expect_state(b, RS_BREAKER_CLOSED);
    rs_breaker_free(b);
}

/* ---- Generations and fresh windows ---- */

static void stale_permits_move_nothing(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 2;
    c.success_threshold = 1;
    rs_breaker *b = make(c);
    rs_permit slow_before_trip = admit(b);
    rs_permit other_before_trip = admit(b);
    calls(b, false, 2);
    expect_state(b, RS_BREAKER_OPEN);
    rs_breaker_record(b, &other_before_trip, false);
    advance(c.open_ns);
    rs_permit probe = admit(b);
    expect_state(b, RS_BREAKER_HALF_OPEN);
    /* A success from before the trip must not close it. */
    rs_breaker_record(b, &slow_before_trip, true);
    expect_state(b, RS_BREAKER_HALF_OPEN);
    assert_int_equal(metrics(b).calls, 0);
    rs_breaker_record(b, &probe, true);
    expect_state(b, RS_BREAKER_CLOSED);
    /* Nor may an old failure count in the new window. */
    rs_breaker_record(b, &other_before_trip, false);
    rs_breaker_record(b, &probe, false);
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.calls, 0);
    assert_int_equal(m.consecutive_failures, 0);
    rs_permit old_probe = probe;
    call(b, false);
    rs_breaker_record(b, &old_probe, false);
    expect_state(b, RS_BREAKER_CLOSED); /* one real failure, not two */
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN, RS_BREAKER_HALF_OPEN, RS_BREAKER_CLOSED);
    rs_breaker_free(b);
}

/* Each transition starts exactly one new generation. */
static void every_transition_is_a_new_generation(void **state)
{
    (void)state;
    rs_breaker *b = make(quiet_config());
    rs_permit p = admit(b);
    uint32_t generation = p.generation;
    const rs_breaker_state path[] = { RS_BREAKER_DISABLED, RS_BREAKER_CLOSED,
                                      RS_BREAKER_DISABLED, RS_BREAKER_CLOSED };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(path); i++) {
        rs_breaker_force(b, path[i]);
        p = admit(b);
        assert_int_equal(p.generation, generation + i + 1);
    }
    rs_breaker_force(b, RS_BREAKER_CLOSED); /* no transition, same generation */
    assert_int_equal(admit(b).generation, generation + 4);
    rs_breaker_free(b);
}

static void closing_starts_a_fresh_window(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_rate = 0.5;
    c.window_size = 10;
    c.minimum_calls = 4;
    rs_breaker *b = make(c);
    calls(b, true, 2);
    calls(b, false, 2);
    expect_state(b, RS_BREAKER_OPEN);
    assert_int_equal(metrics(b).calls, 0); /* OPEN started a fresh window too */
    advance(c.open_ns);
    call(b, true);
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(metrics(b).calls, 0);
    /* The failures that tripped it are gone: 3 more do not reach 4 calls. */
    calls(b, false, 3);
    next_failure_trips(b);
    rs_breaker_free(b);

    /* The same for a time window. */
    c.window_type = RS_WINDOW_TIME_BASED;
    b = make(c);
    calls(b, false, 4);
    expect_state(b, RS_BREAKER_OPEN);
    advance(c.open_ns);
    call(b, true);
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(metrics(b).calls, 0);
    calls(b, false, 3);
    expect_state(b, RS_BREAKER_CLOSED);
    rs_breaker_free(b);
}

/* ---- Forced states ---- */

static void forced_open_and_disabled(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 1;
    rs_breaker *b = make(c);
    rs_breaker_force(b, RS_BREAKER_FORCED_OPEN);
    expect_state(b, RS_BREAKER_FORCED_OPEN);
    refused(b);
    advance(1000000 * SEC); /* no open time ends it */
    refused(b);
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.until_half_open_ns, UINT64_MAX);
    assert_int_equal(m.rejected, 2);
    rs_breaker_force(b, RS_BREAKER_CLOSED);
    expect_state(b, RS_BREAKER_CLOSED);
    call(b, true);

    rs_breaker_force(b, RS_BREAKER_DISABLED);
    expect_state(b, RS_BREAKER_DISABLED);
    calls(b, false, 100); /* admitted, and not judged */
    expect_state(b, RS_BREAKER_DISABLED);
    m = metrics(b);
    assert_int_equal(m.calls, 0);
    assert_int_equal(m.until_half_open_ns, 0);
    rs_breaker_force(b, RS_BREAKER_CLOSED);
    assert_int_equal(metrics(b).calls, 0); /* a fresh window */
    call(b, false);
    expect_state(b, RS_BREAKER_OPEN);

    /* Forcing the current state or an unknown one changes nothing. */
    rs_breaker_force(b, RS_BREAKER_OPEN);
    rs_breaker_force(b, (rs_breaker_state)5);
    rs_breaker_force(b, (rs_breaker_state)-1);
    expect_state(b, RS_BREAKER_OPEN);
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_FORCED_OPEN, RS_BREAKER_CLOSED,
               RS_BREAKER_DISABLED, RS_BREAKER_CLOSED, RS_BREAKER_OPEN);
    rs_breaker_free(b);
}

/* Every state can be forced into every other, with exactly one callback. */
static void force_between_every_pair_of_states(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 1;
    for (int from = RS_BREAKER_CLOSED; from <= RS_BREAKER_DISABLED; from++) {
        for (int to = RS_BREAKER_CLOSED; to <= RS_BREAKER_DISABLED; to++) {
            rs_breaker *b = make(c);
            rs_breaker_force(b, (rs_breaker_state)from);
            expect_state(b, (rs_breaker_state)from);
            size_t before = log_.count;
            rs_breaker_force(b, (rs_breaker_state)to);
            expect_state(b, (rs_breaker_state)to);
            if (from == to) {
                assert_int_equal(log_.count, before);
            } else {
                assert_int_equal(log_.count, before + 1);
                assert_int_equal(log_.from[before], from);
                assert_int_equal(log_.to[before], to);
            }
            /* And each behaves as its state says. */
            rs_permit p;
            int rc = rs_breaker_allow(b, &p);
            bool admits = to == RS_BREAKER_CLOSED || to == RS_BREAKER_DISABLED ||
                          to == RS_BREAKER_HALF_OPEN;
            assert_int_equal(rc, admits ? RS_OK : RS_E_OPEN);
            rs_breaker_free(b);
        }
    }
}

static void force_open_starts_an_open_period(void **state)
{
    (void)state;
    rs_breaker_config c = growing_config();
    c.open_backoff.base_ns = 3 * SEC;
    c.open_backoff.multiplier = 3.0;
    c.open_backoff.max_ns = 100 * SEC;
    rs_breaker *b = make(c);
    rs_breaker_force(b, RS_BREAKER_OPEN);
    expect_open_for(b, 3 * SEC);
    rs_permit p = admit(b);
    expect_state(b, RS_BREAKER_HALF_OPEN);
    rs_breaker_force(b, RS_BREAKER_OPEN); /* from HALF_OPEN: grows like a failed probe */
    rs_breaker_record(b, &p, true);       /* stale */
    expect_open_for(b, 9 * SEC);
    rs_breaker_force_at(b, RS_BREAKER_CLOSED, 0);
    rs_breaker_force_at(b, RS_BREAKER_OPEN, rs_manual_clock_now(&clock_) + SEC);
    assert_int_equal(metrics(b).until_half_open_ns, 4 * SEC);
    rs_breaker_free(b);
}

/* ---- Callbacks ---- */

static void callbacks_report_every_transition_once_in_order(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 1;
    c.success_threshold = 1;
    rs_breaker *b = make(c);
    call(b, false);
    advance(c.open_ns);
    call(b, false);
    advance(c.open_ns);
    call(b, true);
    rs_breaker_force(b, RS_BREAKER_FORCED_OPEN);
    rs_breaker_force(b, RS_BREAKER_CLOSED);
    rs_breaker_force(b, RS_BREAKER_DISABLED);
    rs_breaker_force(b, RS_BREAKER_DISABLED);
    rs_breaker_force(b, RS_BREAKER_CLOSED);
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN, RS_BREAKER_HALF_OPEN, RS_BREAKER_OPEN,
               RS_BREAKER_HALF_OPEN, RS_BREAKER_CLOSED, RS_BREAKER_FORCED_OPEN,
               RS_BREAKER_CLOSED, RS_BREAKER_DISABLED, RS_BREAKER_CLOSED);
    rs_breaker_free(b);

    /* No callback: the same transitions, nothing reported. */
    c.on_state_change = NULL;
    b = make(c);
    call(b, false);
    advance(c.open_ns);
    call(b, true);
    expect_state(b, RS_BREAKER_CLOSED);
    assert_int_equal(log_.count, 0);
    rs_breaker_free(b);
}

/* A callback that calls back into the breaker: no deadlock, and its own
 * transitions are reported after it returns, in order. */
typedef struct reentrant {
    rs_breaker *b;
    rs_breaker_state seen_state[16];
    rs_breaker_snapshot seen_metrics[16];
    int calls;
    int depth;
    int max_depth;
} reentrant;

static void reentrant_callback(void *ctx, rs_breaker_state from, rs_breaker_state to)
{
    reentrant *r = ctx;
    log_transition(&log_, from, to);
    r->depth++;
    r->max_depth = r->depth > r->max_depth ? r->depth : r->max_depth;
    int n = r->calls++;
    r->seen_state[n] = rs_breaker_state_get(r->b);
    assert_int_equal(rs_breaker_metrics(r->b, &r->seen_metrics[n]), RS_OK);
    if (to == RS_BREAKER_OPEN) {
        /* An operator's hook: hold it open and flag it. */
        rs_breaker_force(r->b, RS_BREAKER_FORCED_OPEN);
        rs_permit p;
        assert_int_equal(rs_breaker_allow(r->b, &p), RS_E_OPEN);
    } else if (to == RS_BREAKER_FORCED_OPEN) {
        rs_breaker_force(r->b, RS_BREAKER_DISABLED);
        rs_permit p;
        assert_int_equal(rs_breaker_allow(r->b, &p), RS_OK);
        rs_breaker_record(r->b, &p, false);
        rs_breaker_release(r->b, &p);
    }
    r->depth--;
}

static void callback_may_call_back_into_the_breaker(void **state)
{
    (void)state;
    static reentrant r;
    memset(&r, 0, sizeof r);
    rs_breaker_config c = quiet_config();
    c.failure_threshold = 1;
    c.on_state_change = reentrant_callback;
    c.ctx = &r;
    r.b = make(c);
    call(r.b, false);
    /* Each nested transition ran after the callback that caused it. */
    EXPECT_LOG(RS_BREAKER_CLOSED, RS_BREAKER_OPEN, RS_BREAKER_FORCED_OPEN, RS_BREAKER_DISABLED);
    assert_int_equal(r.max_depth, 1);
    assert_int_equal(r.calls, 3);
    /* The first callback saw its own effects: the breaker had moved on by
     * the time it looked. */
    assert_int_equal(r.seen_state[0], RS_BREAKER_OPEN);
    assert_int_equal(r.seen_metrics[0].state, RS_BREAKER_OPEN);
    assert_int_equal(r.seen_state[1], RS_BREAKER_FORCED_OPEN);
    assert_int_equal(r.seen_state[2], RS_BREAKER_DISABLED);
    expect_state(r.b, RS_BREAKER_DISABLED);
    rs_breaker_free(r.b);
}

/* A callback that causes more transitions than the pending queue holds: the
 * excess runs in place, still in order, each exactly once. */
typedef struct flood {
    rs_breaker *b;
    int forced;
    int depth;
    int max_depth;
} flood;

static void flood_callback(void *ctx, rs_breaker_state from, rs_breaker_state to)
{
    flood *f = ctx;
    log_transition(&log_, from, to);
    f->depth++;
    f->max_depth = f->depth > f->max_depth ? f->depth : f->max_depth;
    if (f->forced == 0) {
        for (f->forced = 1; f->forced <= 200; f->forced++) {
            rs_breaker_force(f->b, f->forced % 2 ? RS_BREAKER_DISABLED : RS_BREAKER_CLOSED);
        }
    }
    f->depth--;
}

static void callback_flood_keeps_order(void **state)
{
    (void)state;
    static flood f;
    memset(&f, 0, sizeof f);
    rs_breaker_config c = quiet_config();
    c.on_state_change = flood_callback;
    c.ctx = &f;
    f.b = make(c);
    rs_breaker_force(f.b, RS_BREAKER_FORCED_OPEN);
    assert_int_equal(log_.count, 201);
    assert_int_equal(log_.from[0], RS_BREAKER_CLOSED);
    assert_int_equal(log_.to[0], RS_BREAKER_FORCED_OPEN);
    for (size_t i = 1; i < log_.count; i++) {
        assert_int_equal(log_.from[i], log_.to[i - 1]);
        assert_int_equal(log_.to[i], i % 2 ? RS_BREAKER_DISABLED : RS_BREAKER_CLOSED);
    }
    assert_int_equal(f.max_depth, 2); /* the overflow ran nested, one level deep */
    expect_state(f.b, RS_BREAKER_CLOSED);
    rs_breaker_free(f.b);
}

/* ---- Metrics ---- */

static void metrics_describe_the_window(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.window_size = 5;
    c.slow_call_ns = 10 * MS;
    rs_breaker *b = make(c);
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.state, RS_BREAKER_CLOSED);
    assert_int_equal(m.calls, 0);
    assert_true(m.failure_rate == 0.0);
    assert_true(m.slow_call_rate == 0.0);
    assert_int_equal(m.successes, 0);
    assert_int_equal(m.failures, 0);
    assert_int_equal(m.slow_calls, 0);
    assert_int_equal(m.rejected, 0);
    assert_int_equal(m.until_half_open_ns, 0);
    assert_int_equal(m.open_duration_ns, c.open_ns);
    assert_int_equal(m.consecutive_failures, 0);
    assert_int_equal(m.probes_in_flight, 0);
    call(b, true);
    call_lasting(b, false, 11 * MS);
    call(b, false);
    call_lasting(b, true, 20 * MS);
    m = metrics(b);
    assert_int_equal(m.calls, 4);
    assert_int_equal(m.successes, 2);
    assert_int_equal(m.failures, 2);
    assert_int_equal(m.slow_calls, 2);
    assert_true(m.failure_rate == 0.5);
    assert_true(m.slow_call_rate == 0.5);
    assert_int_equal(m.consecutive_failures, 0);
    calls(b, false, 3); /* window of 5: the oldest two leave */
    m = metrics(b);
    assert_int_equal(m.calls, 5);
    assert_int_equal(m.failures, 4);
    assert_int_equal(m.slow_calls, 1);
    assert_int_equal(m.consecutive_failures, 3);
    assert_true(same_double(m.failure_rate, 0.8));
    rs_breaker_free(b);
}

/* ---- Allocation failure ---- */

static int create_breaker(void *ctx, void **object)
{
    rs_breaker_config *c = ctx;
    return rs_breaker_new(c, NULL, (rs_breaker **)object);
}

static void destroy_breaker(void *object) { rs_breaker_free(object); }

static void allocation_failure_is_clean(void **state)
{
    (void)state;
    rs_breaker_config c = RS_BREAKER_CONFIG_DEFAULT;
    assert_int_equal(fault_alloc_sweep(create_breaker, destroy_breaker, &c), 3);
    c.window_type = RS_WINDOW_TIME_BASED;
    c.window_size = 60;
    assert_int_equal(fault_alloc_sweep(create_breaker, destroy_breaker, &c), 3);
}

/* ---- Concurrency ---- */

#if RS_TEST_THREADS
#define STRESS_THREADS 8
#define STRESS_MAX_PROBES 3
#define GENERATIONS 65536

typedef struct stress {
    rs_breaker *b;
    rs_manual_clock *clock;
    uint64_t deadline_ns;
    bool churn; /* probes may fail, get lost and reopen; the clock moves */
    /* Probes of each generation in flight, as the test counts them. */
    atomic_uint in_flight[GENERATIONS];
    atomic_uint worst;
    atomic_ulong admitted;
    atomic_ulong refused;
    /* Written by the callback without atomics: callbacks never overlap, so
     * TSan would catch two at once. */
    unsigned long transitions;
    unsigned long broken_chain; /* a transition not starting where the last ended */
    rs_breaker_state last_to;
} stress;

static void stress_callback(void *ctx, rs_breaker_state from, rs_breaker_state to)
{
    stress *s = ctx;
    s->broken_chain += from != s->last_to;
    s->last_to = to;
    s->transitions++;
    /* A slow callback, so that transitions pile up behind it. */
    for (volatile int spin = 0; spin < 200; spin++) {
    }
}

static void *stress_worker(void *arg)
{
    stress *s = arg;
    uint64_t x = (uint64_t)(uintptr_t)&x | 1; /* per-thread xorshift seed */
    for (unsigned long i = 0;; i++) {
        if (i % 256 == 0 && rs_test_now_ns() > s->deadline_ns) {
            break;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (s->churn && x % 61 == 0) {
            rs_manual_clock_advance(s->clock, 2 * MS); /* open times end, probes get lost */
        }
        rs_permit p;
        if (rs_breaker_allow(s->b, &p) != RS_OK) {
            atomic_fetch_add(&s->refused, 1);
            continue;
        }
        atomic_fetch_add(&s->admitted, 1);
        atomic_uint *counter = &s->in_flight[p.generation % GENERATIONS];
        unsigned now_in_flight = atomic_fetch_add(counter, 1) + 1;
        unsigned worst = atomic_load(&s->worst);
        while (now_in_flight > worst &&
               !atomic_compare_exchange_weak(&s->worst, &worst, now_in_flight)) {
        }
        for (volatile unsigned spin = 0; spin < (unsigned)(x % 64); spin++) {
        }
        /* Leave the count before the breaker can admit a successor. */
        atomic_fetch_sub(counter, 1);
        switch (x % 16) {
        case 0:
            rs_breaker_release(s->b, &p);
            break;
        case 1:
            rs_breaker_record(s->b, &p, !s->churn);
            break;
        default:
            rs_breaker_record(s->b, &p, true);
            break;
        }
    }
    return NULL;
}

static void run_half_open_stress(bool churn)
{
    static stress s;
    memset(&s, 0, sizeof s);
    static rs_manual_clock clock;
    rs_manual_clock_init(&clock, SEC);
    rs_breaker_config c = quiet_config();
    c.half_open_max_calls = STRESS_MAX_PROBES;
    c.success_threshold = UINT32_MAX; /* never closes: every admitted call is a probe */
    c.open_ns = churn ? 3 * MS : 0;
    c.half_open_max_wait_ns = churn ? 5 * MS : 0;
    c.on_state_change = stress_callback;
    c.ctx = &s;
    assert_int_equal(rs_breaker_new(&c, rs_manual_clock_get(&clock), &s.b), RS_OK);
    s.clock = &clock;
    s.churn = churn;
    s.last_to = RS_BREAKER_CLOSED;
    rs_breaker_force(s.b, RS_BREAKER_HALF_OPEN);
    s.deadline_ns = rs_test_now_ns() + 400 * MS;
    rs_test_run_threads(STRESS_THREADS, stress_worker, &s);

    assert_true(atomic_load(&s.worst) >= 1);
    assert_true(atomic_load(&s.worst) <= STRESS_MAX_PROBES);
    assert_true(atomic_load(&s.admitted) > 100);
    assert_true(atomic_load(&s.refused) > 0);
    /* Consistent end: every probe was recorded or released. */
    rs_breaker_snapshot m;
    assert_int_equal(rs_breaker_metrics(s.b, &m), RS_OK);
    assert_true(m.state == RS_BREAKER_HALF_OPEN || m.state == RS_BREAKER_OPEN);
    assert_int_equal(m.probes_in_flight, 0);
    assert_int_equal(m.rejected, atomic_load(&s.refused));
    if (churn) {
        assert_true(s.transitions > 2);
    } else {
        assert_int_equal(m.state, RS_BREAKER_HALF_OPEN);
        assert_int_equal(s.transitions, 1);
    }
    /* Every transition reported once, as one unbroken chain to the end. */
    assert_int_equal(s.broken_chain, 0);
    assert_int_equal(s.last_to, m.state);
    /* Once quiet, the breaker still works exactly. */
    rs_breaker_force(s.b, RS_BREAKER_CLOSED);
    rs_permit p;
    assert_int_equal(rs_breaker_allow(s.b, &p), RS_OK);
    assert_int_equal(s.last_to, RS_BREAKER_CLOSED);
    rs_breaker_free(s.b);
}

static void half_open_never_exceeds_max_probes(void **state)
{
    (void)state;
    run_half_open_stress(false);
}

static void half_open_churn_never_exceeds_max_probes(void **state)
{
    (void)state;
    run_half_open_stress(true);
}

static rs_breaker *counted;

static void *record_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        rs_permit p;
        if (rs_breaker_allow(counted, &p) != RS_OK) {
            return (void *)1;
        }
        rs_breaker_record(counted, &p, i % 4 != 0);
    }
    return NULL;
}

/* Concurrent records in CLOSED add up exactly. */
static void closed_records_add_up_under_threads(void **state)
{
    (void)state;
    rs_breaker_config c = quiet_config();
    c.window_size = 200000;
    c.on_state_change = NULL;
    assert_int_equal(rs_breaker_new(&c, NULL, &counted), RS_OK);
    rs_test_run_threads(4, record_many, NULL);
    rs_breaker_snapshot m;
    assert_int_equal(rs_breaker_metrics(counted, &m), RS_OK);
    assert_int_equal(m.calls, 80000);
    assert_int_equal(m.failures, 20000);
    assert_int_equal(m.state, RS_BREAKER_CLOSED);
    rs_breaker_free(counted);
}
#endif

/* ---- metrics since creation ----------------------------------------------------------- */

/* Judged outcomes, slow ones, released permits and transitions add up
 * across states; the window's counts start afresh, the totals do not. */
static void totals_count_since_creation(void **state)
{
    (void)state;
    rs_breaker_config c = RS_BREAKER_CONFIG_DEFAULT;
    c.failure_threshold = 2;
    c.slow_call_ns = 10 * MS;
    c.open_ns = SEC;
    c.success_threshold = 1;
    rs_breaker *b = make(c);
    call(b, true);
    call_lasting(b, true, 20 * MS); /* slow */
    rs_permit p = admit(b);
    rs_breaker_release(b, &p);
    calls(b, false, 2); /* trips */
    refused(b);
    rs_breaker_snapshot m = metrics(b);
    assert_int_equal(m.state, RS_BREAKER_OPEN);
    assert_int_equal(m.calls, 0); /* a fresh window */
    assert_int_equal(m.total_successes, 2);
    assert_int_equal(m.total_failures, 2);
    assert_int_equal(m.total_slow_calls, 1);
    assert_int_equal(m.total_released, 1);
    assert_int_equal(m.total_transitions, 1);
    assert_int_equal(m.rejected, 1);
    advance(SEC);
    call(b, true); /* the probe closes it */
    m = metrics(b);
    assert_int_equal(m.state, RS_BREAKER_CLOSED);
    assert_int_equal(m.total_successes, 3);
    assert_int_equal(m.total_transitions, 3); /* OPEN, HALF_OPEN, CLOSED */
    rs_breaker_free(b);
}

/* A caller that refuses on the breaker's behalf counts in its rejected,
 * exactly when the breaker would have refused. */
static void fail_fast_counts_as_rejected(void **state)
{
    (void)state;
    rs_breaker_config c = RS_BREAKER_CONFIG_DEFAULT;
    c.open_ns = SEC;
    rs_breaker *b = make(c);
    uint64_t now = rs_manual_clock_now(&clock_);
    assert_false(rs_breaker_fail_fast_at(b, now));
    rs_breaker_force(b, RS_BREAKER_OPEN);
    assert_true(rs_breaker_fail_fast_at(b, now));
    assert_true(rs_breaker_would_refuse_at(b, now)); /* counts nothing */
    assert_false(rs_breaker_fail_fast_at(b, now + SEC));
    rs_breaker_force(b, RS_BREAKER_FORCED_OPEN);
    assert_true(rs_breaker_fail_fast_at(b, now + 100 * SEC));
    assert_int_equal(metrics(b).rejected, 2);
    assert_int_equal(metrics(b).state, RS_BREAKER_FORCED_OPEN); /* no state changed */
    assert_false(rs_breaker_fail_fast_at(NULL, now));
    rs_breaker_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_invalid_configs),
        cmocka_unit_test(half_open_max_calls_is_bounded),
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test(null_arguments_are_safe),
        cmocka_unit_test(null_clock_is_the_system_clock),
        cmocka_unit_test(would_refuse_answers_without_effects),
        cmocka_unit_test(closed_allow_skips_the_clock_when_time_is_unused),
        cmocka_unit_test(consecutive_failures_trip_at_the_threshold),
        cmocka_unit_test(failure_rate_trips_at_the_threshold),
        cmocka_unit_test(minimum_calls_gate_the_rates),
        cmocka_unit_test(slow_call_rate_trips_at_the_threshold),
        cmocka_unit_test(rules_combine),
        cmocka_unit_test(no_rules_never_trip),
        cmocka_unit_test(time_window_forgets_old_seconds),
        cmocka_unit_test(time_window_memory_is_per_second),
        cmocka_unit_test(open_fails_fast_until_open_ns),
        cmocka_unit_test(open_time_grows_on_repeated_trips),
        cmocka_unit_test(open_backoff_jitter_is_seeded),
        cmocka_unit_test(half_open_admits_at_most_max_calls),
        cmocka_unit_test(success_threshold_closes),
        cmocka_unit_test(any_probe_failure_reopens),
        cmocka_unit_test(slow_probe_reopens_only_with_the_slow_rule),
        cmocka_unit_test(ratio_mode_judges_max_calls_probes),
        cmocka_unit_test(lost_probes_are_written_off),
        cmocka_unit_test(write_off_with_zero_open_time),
        cmocka_unit_test(release_frees_a_probe_slot),
        cmocka_unit_test(stale_permits_move_nothing),
        cmocka_unit_test(every_transition_is_a_new_generation),
        cmocka_unit_test(closing_starts_a_fresh_window),
        cmocka_unit_test(forced_open_and_disabled),
        cmocka_unit_test(force_between_every_pair_of_states),
        cmocka_unit_test(force_open_starts_an_open_period),
        cmocka_unit_test(callbacks_report_every_transition_once_in_order),
        cmocka_unit_test(callback_may_call_back_into_the_breaker),
        cmocka_unit_test(callback_flood_keeps_order),
        cmocka_unit_test(metrics_describe_the_window),
        cmocka_unit_test(allocation_failure_is_clean),
        cmocka_unit_test(totals_count_since_creation),
        cmocka_unit_test(fail_fast_counts_as_rejected),
#if RS_TEST_THREADS
        cmocka_unit_test(half_open_never_exceeds_max_probes),
        cmocka_unit_test(half_open_churn_never_exceeds_max_probes),
        cmocka_unit_test(closed_records_add_up_under_threads),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
