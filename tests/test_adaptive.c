/* rs_adaptive_limit (AIMD, gradient) and rs_adaptive_rate (CUBIC), sample
 * by sample on the manual clock: every rule of docs/adaptive.md. The
 * closed-loop simulations are in test_simulation.c. */
#include <math.h>
#include <string.h>

#include <resilience.h>

#include "support/fault_alloc.h"
#include "support/testing.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

static rs_manual_clock clock_;

static int setup(void **state)
{
    (void)state;
    rs_manual_clock_init(&clock_, 100 * SEC);
    return 0;
}

static rs_adaptive_limit *make_limit(const rs_adaptive_limit_config *cfg)
{
    rs_adaptive_limit *l = NULL;
    assert_int_equal(rs_adaptive_limit_new(cfg, rs_manual_clock_get(&clock_), &l), RS_OK);
    return l;
}

/* `count` answers of `rtt_ns` with `in_flight` in flight: calls sent now,
 * answered rtt_ns later (so never before the last reduction). */
static uint32_t window(rs_adaptive_limit *l, uint32_t count, uint64_t rtt_ns, uint32_t in_flight,
                       rs_outcome outcome)
{
    rs_manual_clock_advance(&clock_, rtt_ns);
    uint32_t limit = 0;
    for (uint32_t i = 0; i < count; i++) {
        limit = rs_adaptive_limit_sample_at(l, rtt_ns, in_flight, outcome,
                                            rs_manual_clock_now(&clock_));
    }
    return limit;
}

static void limit_rejects_invalid_configs(void **state)
{
    (void)state;
    rs_adaptive_limit *l = (rs_adaptive_limit *)0x1;
    rs_adaptive_limit_config c = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    RS_TEST_EXPECT_INVALID(rs_adaptive_limit_new(NULL, NULL, &l), "rs_adaptive_limit_config");
    RS_TEST_EXPECT_INVALID(rs_adaptive_limit_new(&c, NULL, NULL), "out");
#define BAD(field, value)                                                                  \
    do {                                                                                   \
        c = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;                                              \
        c.field = value;                                                                   \
        RS_TEST_EXPECT_INVALID(rs_adaptive_limit_new(&c, NULL, &l), #field);              \
    } while (0)
    BAD(algorithm, (rs_adaptive_algorithm)7);
    BAD(min_limit, 0);
    BAD(max_limit, 0);
    BAD(max_limit, RS_ADAPTIVE_MAX_LIMIT + 1);
    BAD(initial_limit, 0);
    BAD(initial_limit, 1001);
    BAD(backoff, 0.0);
    BAD(backoff, 1.0);
    BAD(backoff, NAN);
    BAD(increase, 0.0);
    BAD(increase, 1e9);
    BAD(growth, 0.0);
    BAD(growth, 1.5);
    BAD(tolerance, 0.9);
    BAD(tolerance, INFINITY);
    BAD(window_samples, 0);
    BAD(max_window_ns, 0);
#undef BAD
    assert_ptr_equal(l, (rs_adaptive_limit *)0x1);
    static const rs_adaptive_limit_config init = RS_ADAPTIVE_LIMIT_CONFIG_INIT;
    assert_int_equal(rs_adaptive_limit_config_validate(&init), RS_OK);
    assert_int_equal(init.algorithm, RS_ADAPTIVE_GRADIENT);
    assert_int_equal(init.initial_limit, 20);
    assert_int_equal(init.min_limit, 1);
    assert_int_equal(init.max_limit, 1000);
    /* (Within a hair: i386's x87 compares a literal in extended precision.) */
    assert_true(fabs(init.backoff - 0.9) < 1e-12 && init.increase == 1.0);
    assert_true(fabs(init.growth - 0.1) < 1e-12 && fabs(init.tolerance - 1.1) < 1e-12);
    assert_int_equal(init.window_samples, 20);
    assert_int_equal(init.max_window_ns, SEC);
    /* NULL is harmless. */
    assert_int_equal(rs_adaptive_limit_sample(NULL, 1, 1, RS_OUTCOME_SUCCESS), 0);
    assert_int_equal(rs_adaptive_limit_get(NULL), 0);
    assert_null(rs_adaptive_limit_clock(NULL));
    assert_int_equal(rs_adaptive_limit_metrics(NULL, NULL), RS_E_INVAL);
    rs_adaptive_limit_free(NULL);
}

static void aimd_adds_and_multiplies(void **state)
{
    (void)state;
    rs_adaptive_limit_config c = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    c.algorithm = RS_ADAPTIVE_AIMD;
    c.initial_limit = 10;
    c.min_limit = 5;
    c.max_limit = 12;
    c.window_samples = 4;
    c.timeout_ns = 500 * MS;
    rs_adaptive_limit *l = make_limit(&c);
    /* A window is max(4, limit) answers: 10 here. */
    assert_int_equal(window(l, 9, 10 * MS, 10, RS_OUTCOME_SUCCESS), 10);
    assert_int_equal(window(l, 1, 10 * MS, 10, RS_OUTCOME_SUCCESS), 11);
    /* Most of it unused: no growth. */
    assert_int_equal(window(l, 11, 10 * MS, 5, RS_OUTCOME_SUCCESS), 11);
    /* Capped at max_limit. */
    assert_int_equal(window(l, 11, 10 * MS, 11, RS_OUTCOME_SUCCESS), 12);
    assert_int_equal(window(l, 12, 10 * MS, 12, RS_OUTCOME_SUCCESS), 12);
    /* One throttled answer in a window: times 0.9, once. */
    assert_int_equal(window(l, 1, 10 * MS, 12, RS_OUTCOME_THROTTLED), 12);
    assert_int_equal(window(l, 11, 10 * MS, 12, RS_OUTCOME_THROTTLED), 10); /* 10.8 */
    /* A call slower than timeout_ns counts as throttled. */
    assert_int_equal(window(l, 10, 600 * MS, 10, RS_OUTCOME_SUCCESS), 9); /* 9.72 */
    /* Calls sent before that reduction change nothing. */
    for (int i = 0; i < 20; i++) {
        (void)rs_adaptive_limit_sample_at(l, 700 * MS, 10, RS_OUTCOME_THROTTLED,
                                          rs_manual_clock_now(&clock_));
    }
    assert_int_equal(rs_adaptive_limit_get(l), 9);
    rs_adaptive_limit_snapshot st;
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_int_equal(st.floor_ns, 0); /* AIMD does not look at latency */
    assert_int_equal(st.throttled_windows, 2);
    assert_int_equal(st.windows, 6);
    rs_adaptive_limit_free(l);
    /* Never below min_limit; ignored answers count for the window only. */
    c.initial_limit = 5;
    l = make_limit(&c);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(window(l, 5, 10 * MS, 5, RS_OUTCOME_THROTTLED), 5);
    }
    assert_int_equal(window(l, 5, 10 * MS, 5, RS_OUTCOME_IGNORED), 6);
    rs_adaptive_limit_free(l);
}

static void windows_close_by_time(void **state)
{
    (void)state;
    rs_adaptive_limit_config c = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    c.algorithm = RS_ADAPTIVE_AIMD;
    c.initial_limit = 100;
    c.max_window_ns = 1 * SEC;
    rs_adaptive_limit *l = make_limit(&c);
    /* Three throttled answers spread over more than a second: the window
     * closes with the third, though it holds far fewer than 100. */
    uint64_t t = rs_manual_clock_now(&clock_);
    assert_int_equal(rs_adaptive_limit_sample_at(l, MS, 60, RS_OUTCOME_THROTTLED, t), 100);
    assert_int_equal(rs_adaptive_limit_sample_at(l, MS, 60, RS_OUTCOME_SUCCESS, t + 500 * MS), 100);
    assert_int_equal(rs_adaptive_limit_sample_at(l, MS, 60, RS_OUTCOME_SUCCESS, t + SEC), 90);
    rs_adaptive_limit_snapshot st;
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_int_equal(st.windows, 1);
    assert_int_equal(st.samples, 3);
    rs_adaptive_limit_free(l);
}

/* One whole window: max(window_samples, limit) answers. */
static uint32_t full_window(rs_adaptive_limit *l, uint32_t window_samples, uint64_t rtt_ns,
                            uint32_t in_flight, rs_outcome outcome)
{
    uint32_t limit = rs_adaptive_limit_get(l);
    return window(l, limit > window_samples ? limit : window_samples, rtt_ns, in_flight, outcome);
}

static void gradient_follows_latency(void **state)
{
    (void)state;
    rs_adaptive_limit_config c = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    c.initial_limit = 20;
    rs_adaptive_limit *l = make_limit(&c);
    rs_adaptive_limit_snapshot st;
    /* The first window sets the floor; latency at it grows the limit by
     * growth (10%) a window. */
    assert_int_equal(full_window(l, 20, 50 * MS, 20, RS_OUTCOME_SUCCESS), 22);
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_int_equal(st.floor_ns, 50 * MS);
    /* Below tolerance * floor it grows by the gradient, at least one call. */
    assert_int_equal(full_window(l, 20, 54 * MS, 22, RS_OUTCOME_SUCCESS), 23);
    /* Above it, it shrinks by it: 1.1 * 50 / 60 of 23. */
    (void)full_window(l, 20, 60 * MS, 23, RS_OUTCOME_SUCCESS);
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_true(fabs(st.estimate - 23.0 * 1.1 * 50.0 / 60.0) < 1e-9);
    /* Calls sent before a reduction do not count after it: their answers,
     * however slow, change nothing. */
    double estimate = st.estimate;
    for (int i = 0; i < 40; i++) {
        (void)rs_adaptive_limit_sample_at(l, 500 * MS, 20, RS_OUTCOME_THROTTLED,
                                          rs_manual_clock_now(&clock_) + 1);
    }
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_true(st.estimate == estimate);
    /* Twice the floor: 0.55 of it in one window. */
    (void)full_window(l, 20, 100 * MS, 21, RS_OUTCOME_SUCCESS);
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_true(fabs(st.estimate - estimate * 0.55) < 1e-9);
    /* Never more than half in one window. */
    estimate = st.estimate;
    (void)full_window(l, 20, 400 * MS, 20, RS_OUTCOME_SUCCESS);
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_true(fabs(st.estimate - estimate * 0.5) < 1e-9);
    /* A lower latency lowers the floor at once. */
    (void)full_window(l, 20, 40 * MS, 20, RS_OUTCOME_SUCCESS);
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_int_equal(st.floor_ns, 40 * MS);
    assert_int_equal(st.latency_ns, 40 * MS);
    /* Unused, it does not grow. */
    uint32_t before = rs_adaptive_limit_get(l);
    assert_int_equal(full_window(l, 20, 40 * MS, 2, RS_OUTCOME_SUCCESS), before);
    /* No latency to judge (every answer ignored): hold. */
    (void)full_window(l, 20, 40 * MS, 20, RS_OUTCOME_IGNORED);
    assert_int_equal(rs_adaptive_limit_get(l), before);
    /* Throttled: times backoff, whatever the latency. */
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    estimate = st.estimate;
    (void)full_window(l, 20, 40 * MS, 20, RS_OUTCOME_THROTTLED);
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_true(fabs(st.estimate - estimate * 0.9) < 1e-9);
    rs_adaptive_limit_free(l);
}

static void gradient_probes_the_floor(void **state)
{
    (void)state;
    rs_adaptive_limit_config c = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    c.initial_limit = 40;
    rs_adaptive_limit *l = make_limit(&c);
    (void)full_window(l, 20, 50 * MS, 40, RS_OUTCOME_SUCCESS);
    /* A standing queue: latency 1.1 times the floor, so the limit holds;
     * after 5 s with no window near the floor, one window drops it to
     * three quarters, and the next window's latency is the new floor. */
    rs_adaptive_limit_snapshot st;
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    double held = st.estimate;
    int windows = 0;
    do {
        (void)full_window(l, 20, 55 * MS, 44, RS_OUTCOME_SUCCESS);
        assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
        windows++;
    } while (st.estimate >= held && windows < 1000);
    assert_true(fabs(st.estimate - held * 0.75) < 1e-9);
    assert_true((double)windows * 55.0 >= 5000.0 - 55.0);
    /* The probe's window shows a slower server (70 ms): that is the floor
     * now, and the limit grows from it. */
    (void)full_window(l, 20, 70 * MS, 44, RS_OUTCOME_SUCCESS);
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_int_equal(st.floor_ns, 70 * MS);
    assert_true(st.estimate > held * 0.75);
    rs_adaptive_limit_free(l);
}

static void gradient_floor_follows_a_slower_server(void **state)
{
    (void)state;
    rs_adaptive_limit_config c = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    c.initial_limit = 40;
    rs_adaptive_limit *l = make_limit(&c);
    (void)window(l, 40, 50 * MS, 40, RS_OUTCOME_SUCCESS);
    /* The server becomes twice as slow for good, not from load: the limit
     * first shrinks, then the floor catches up and it grows again. */
    for (int i = 0; i < 600; i++) {
        uint32_t limit = rs_adaptive_limit_get(l);
        (void)window(l, limit, 100 * MS, limit, RS_OUTCOME_SUCCESS);
    }
    rs_adaptive_limit_snapshot st;
    assert_int_equal(rs_adaptive_limit_metrics(l, &st), RS_OK);
    assert_true(st.floor_ns > 90 * MS);
    assert_true(st.limit >= 40);
    rs_adaptive_limit_free(l);
}

static void limit_allocation_failure_is_clean(void **state)
{
    (void)state;
    rs_adaptive_limit_config c = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    rs_adaptive_limit *l = NULL;
    fault_alloc_install();
    fault_alloc_fail_at(1);
    assert_int_equal(rs_adaptive_limit_new(&c, NULL, &l), RS_E_NOMEM);
    fault_alloc_fail_at(0);
    assert_int_equal(fault_alloc_live(), 0);
    fault_alloc_uninstall();
    rs_adaptive_rate_config rc = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_adaptive_rate *r = NULL;
    for (size_t n = 1; n <= 2; n++) {
        fault_alloc_install();
        fault_alloc_fail_at(n);
        assert_int_equal(rs_adaptive_rate_new(&rc, NULL, &r), RS_E_NOMEM);
        fault_alloc_fail_at(0);
        assert_int_equal(fault_alloc_live(), 0);
        fault_alloc_uninstall();
    }
}

/* ---- the adaptive rate ----------------------------------------------------- */

static rs_adaptive_rate *make_rate(const rs_adaptive_rate_config *cfg)
{
    rs_adaptive_rate *r = NULL;
    assert_int_equal(rs_adaptive_rate_new(cfg, rs_manual_clock_get(&clock_), &r), RS_OK);
    return r;
}

static void rate_rejects_invalid_configs(void **state)
{
    (void)state;
    rs_adaptive_rate *r = (rs_adaptive_rate *)0x1;
    rs_adaptive_rate_config c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    RS_TEST_EXPECT_INVALID(rs_adaptive_rate_new(NULL, NULL, &r), "rs_adaptive_rate_config");
    RS_TEST_EXPECT_INVALID(rs_adaptive_rate_new(&c, NULL, NULL), "out");
#define BAD(field, value)                                                                  \
    do {                                                                                   \
        c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;                                               \
        c.field = value;                                                                   \
        RS_TEST_EXPECT_INVALID(rs_adaptive_rate_new(&c, NULL, &r), #field);               \
    } while (0)
    BAD(min_rate, 0.0);
    BAD(min_rate, 2e9);
    BAD(min_rate, NAN);
    BAD(max_rate, -1.0);
    BAD(max_rate, 0.1); /* below min_rate */
    BAD(max_rate, INFINITY);
    BAD(initial_rate, 0.1);
    BAD(initial_rate, -3.0);
    BAD(beta, 0.0);
    BAD(beta, 1.0);
    BAD(recovery_ns, 0);
    BAD(burst, 0);
    c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    c.max_rate = 5;
    c.initial_rate = 6;
    RS_TEST_EXPECT_INVALID(rs_adaptive_rate_new(&c, NULL, &r), "initial_rate");
    c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    c.min_rate = 1e-10;
    c.burst = UINT64_MAX / 2;
    RS_TEST_EXPECT_INVALID(rs_adaptive_rate_new(&c, NULL, &r), "burst");
    c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    c.min_rate = 1e-300; /* a burst of 1 at that rate overflows too */
    RS_TEST_EXPECT_INVALID(rs_adaptive_rate_new(&c, NULL, &r), "min_rate");
#undef BAD
    assert_ptr_equal(r, (rs_adaptive_rate *)0x1);
    static const rs_adaptive_rate_config init = RS_ADAPTIVE_RATE_CONFIG_INIT;
    assert_int_equal(rs_adaptive_rate_config_validate(&init), RS_OK);
    assert_true(init.initial_rate == 0.0 && init.min_rate == 0.5 && init.max_rate == 0.0);
    assert_true(fabs(init.beta - 0.8) < 1e-12);
    assert_int_equal(init.recovery_ns, 3 * SEC);
    assert_int_equal(init.burst, 1);
    /* NULL is harmless. */
    rs_adaptive_rate_record(NULL, RS_OUTCOME_THROTTLED, 0, 0);
    assert_true(rs_adaptive_rate_get(NULL) == 0.0);
    assert_null(rs_adaptive_rate_limiter(NULL).ops);
    assert_null(rs_adaptive_rate_clock(NULL));
    assert_int_equal(rs_adaptive_rate_metrics(NULL, NULL), RS_E_INVAL);
    rs_adaptive_rate_free(NULL);
}

/* Asks the rate's limiter for one request now, without waiting. */
static bool admitted(rs_adaptive_rate *r)
{
    rs_limiter l = rs_adaptive_rate_limiter(r);
    uint64_t wait = 0;
    return rs_limiter_acquire(&l, 1, 0, rs_manual_clock_now(&clock_), &wait) == RS_OK;
}

static void record(rs_adaptive_rate *r, rs_outcome outcome, uint64_t sent_ns, uint64_t wait_ns)
{
    rs_adaptive_rate_record_at(r, outcome, sent_ns, wait_ns, rs_manual_clock_now(&clock_));
}

static void rate_is_unlimited_until_the_first_throttle(void **state)
{
    (void)state;
    rs_adaptive_rate_config c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_adaptive_rate *r = make_rate(&c);
    assert_ptr_equal(rs_adaptive_rate_clock(r), rs_manual_clock_get(&clock_));
    for (int i = 0; i < 1000; i++) {
        assert_true(admitted(r));
    }
    assert_true(rs_adaptive_rate_get(r) == 0.0);
    rs_limiter l = rs_adaptive_rate_limiter(r);
    assert_int_equal(rs_limiter_wait_ns(&l, 1, rs_manual_clock_now(&clock_)), 0);
    assert_ptr_equal(rs_limiter_clock(&l), rs_manual_clock_get(&clock_));
    /* Eight successes, then a burst of 429s asking for a second's wait:
     * one reduction, decided once the pause is over, from the successes of
     * the second before (8) and those still arriving (2): beta (0.8) * 10. */
    uint64_t sent = rs_manual_clock_now(&clock_);
    for (int i = 0; i < 8; i++) {
        record(r, RS_OUTCOME_SUCCESS, sent, 0);
    }
    for (int i = 0; i < 5; i++) {
        record(r, RS_OUTCOME_THROTTLED, sent, 1 * SEC);
    }
    record(r, RS_OUTCOME_SUCCESS, sent, 0);
    record(r, RS_OUTCOME_SUCCESS, sent, 0);
    rs_manual_clock_advance(&clock_, 500 * MS);
    assert_true(admitted(r)); /* still none: the pause is not over */
    assert_true(rs_adaptive_rate_get(r) == 0.0);
    rs_manual_clock_advance(&clock_, 500 * MS);
    assert_true(admitted(r));
    assert_true(fabs(rs_adaptive_rate_get(r) - 8.0) < 1e-9);
    assert_false(admitted(r)); /* a burst of 1 */
    rs_adaptive_rate_snapshot st;
    assert_int_equal(rs_adaptive_rate_metrics(r, &st), RS_OK);
    assert_int_equal(st.throttles, 5);
    assert_int_equal(st.reductions, 1);
    assert_true(fabs(st.last_good_rate - 10.0) < 1e-9);
    /* Answers to attempts sent before the reduction reduce nothing; nor do
     * throttles within a second of it. */
    record(r, RS_OUTCOME_THROTTLED, sent, 0);
    rs_manual_clock_advance(&clock_, 500 * MS);
    record(r, RS_OUTCOME_THROTTLED, rs_manual_clock_now(&clock_), 0);
    (void)admitted(r);
    assert_int_equal(rs_adaptive_rate_metrics(r, &st), RS_OK);
    assert_int_equal(st.reductions, 1);
    /* A throttle before the curve is back at the last good rate: the last
     * good rate becomes (1 + beta) / 2 of the rate it came at. */
    rs_manual_clock_advance(&clock_, 600 * MS);
    uint64_t at = rs_manual_clock_now(&clock_);
    record(r, RS_OUTCOME_THROTTLED, at, 0);
    (void)admitted(r);
    assert_int_equal(rs_adaptive_rate_metrics(r, &st), RS_OK);
    assert_int_equal(st.reductions, 2);
    double x = 1.1 / 3.0 - 1.0; /* 1.1 s into a 3 s recovery */
    double came_at = 10.0 * (1.0 + 0.2 * x * x * x);
    assert_true(fabs(st.last_good_rate - came_at * 0.9) < 1e-9);
    assert_true(fabs(st.rate - came_at * 0.9 * 0.8) < 1e-9);
    rs_adaptive_rate_free(r);
}

static void rate_grows_back_along_the_curve(void **state)
{
    (void)state;
    rs_adaptive_rate_config c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    c.initial_rate = 10;
    c.beta = 0.7;
    c.recovery_ns = 3 * SEC;
    rs_adaptive_rate *r = make_rate(&c);
    assert_true(fabs(rs_adaptive_rate_get(r) - 10.0) < 1e-9); /* at its plateau */
    /* A throttle with a 2 s pause: 7 from when the pause ends, back to 10
     * after recovery_ns (3 s), then above. */
    uint64_t sent = rs_manual_clock_now(&clock_);
    record(r, RS_OUTCOME_THROTTLED, sent, 2 * SEC);
    rs_manual_clock_advance(&clock_, 2 * SEC);
    (void)admitted(r);
    assert_true(fabs(rs_adaptive_rate_get(r) - 7.0) < 1e-9);
    uint64_t origin = rs_manual_clock_now(&clock_);
    double expected[] = { 7.0, 9.1111, 9.8889, 10.0, 10.1111, 10.8889, 17.1111 };
    double at_s[] = { 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0 };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(expected); i++) {
        rs_manual_clock_set(&clock_, origin + (uint64_t)(at_s[i] * 1e9));
        /* A success moves the bucket along the curve (when it moved 1%);
         * attempts are recorded often enough to measure a sent rate that
         * does not cap it. */
        for (int k = 0; k < 40; k++) {
            record(r, RS_OUTCOME_SUCCESS, rs_manual_clock_now(&clock_), 0);
        }
        double rate = rs_adaptive_rate_get(r);
        assert_true(fabs(rate - expected[i]) <= 0.01 * expected[i] + 1e-3);
    }
    rs_adaptive_rate_free(r);
}

static void rate_stays_put_when_unused(void **state)
{
    (void)state;
    rs_adaptive_rate_config c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    c.initial_rate = 10;
    c.max_rate = 50;
    rs_adaptive_rate *r = make_rate(&c);
    /* One request a second, for a minute: the curve would be far above
     * 10 by now, but a rate nobody sends at proves nothing. */
    for (int i = 0; i < 60; i++) {
        rs_manual_clock_advance(&clock_, 1 * SEC);
        record(r, RS_OUTCOME_SUCCESS, rs_manual_clock_now(&clock_), 0);
    }
    assert_true(fabs(rs_adaptive_rate_get(r) - 10.0) < 1e-9);
    /* Sending flat out, it may grow, up to max_rate. */
    for (int i = 0; i < 6000; i++) {
        rs_manual_clock_advance(&clock_, 10 * MS);
        record(r, RS_OUTCOME_SUCCESS, rs_manual_clock_now(&clock_), 0);
    }
    assert_true(fabs(rs_adaptive_rate_get(r) - 50.0) < 1e-9);
    /* And never below min_rate, however many throttles. */
    for (int i = 0; i < 60; i++) {
        record(r, RS_OUTCOME_THROTTLED, rs_manual_clock_now(&clock_), 0);
        (void)admitted(r);
        rs_manual_clock_advance(&clock_, 1100 * MS);
    }
    /* (The bucket follows the curve in steps of 1%.) */
    assert_true(fabs(rs_adaptive_rate_get(r) - 0.5) <= 0.01 * 0.5);
    rs_adaptive_rate_free(r);
}

static void advertise(rs_adaptive_rate *r, double rate_per_s)
{
    rs_adaptive_rate_advertise_at(r, rate_per_s, rs_manual_clock_now(&clock_));
}

static bool rate_is(rs_adaptive_rate *r, double expected)
{
    return fabs(rs_adaptive_rate_get(r) - expected) <= 1e-9 * expected;
}

/* Records a success every 10 ms for the given time: flat out, so the
 * curve is never capped by a rate nobody sends at. */
static void send_flat_out(rs_adaptive_rate *r, uint64_t for_ns)
{
    for (uint64_t t = 0; t < for_ns; t += 10 * MS) {
        rs_manual_clock_advance(&clock_, 10 * MS);
        record(r, RS_OUTCOME_SUCCESS, rs_manual_clock_now(&clock_), 0);
    }
}

static void rate_starts_at_an_advertised_rate_and_stays_below_it(void **state)
{
    (void)state;
    rs_adaptive_rate_config c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_adaptive_rate *r = make_rate(&c);
    /* No rate, and advertisements that are none: still unlimited. */
    advertise(r, 0.0);
    advertise(r, -3.0);
    advertise(r, NAN);
    advertise(r, INFINITY);
    advertise(r, -INFINITY);
    assert_true(rs_adaptive_rate_get(r) == 0.0);
    for (int i = 0; i < 100; i++) {
        assert_true(admitted(r));
    }
    /* The server says 10/s: it starts there instead of unlimited. */
    advertise(r, 10.0);
    assert_true(rate_is(r, 10.0));
    assert_true(admitted(r));
    assert_false(admitted(r)); /* a burst of 1, then one every 100 ms */
    rs_limiter l = rs_adaptive_rate_limiter(r);
    assert_int_equal(rs_limiter_wait_ns(&l, 1, rs_manual_clock_now(&clock_)), 100 * MS);
    /* Until the first throttle, it follows the server's word both ways. */
    advertise(r, 20.0);
    assert_true(rate_is(r, 20.0));
    advertise(r, 5.0);
    assert_true(rate_is(r, 5.0));
    /* Successes, flat out for a minute: the curve would probe far above,
     * the ceiling holds it. */
    send_flat_out(r, 60 * SEC);
    assert_true(rate_is(r, 5.0));
    rs_adaptive_rate_snapshot st;
    assert_int_equal(rs_adaptive_rate_metrics(r, &st), RS_OK);
    assert_int_equal(st.reductions, 0);
    /* A throttle reduces from there, as from an initial rate. */
    record(r, RS_OUTCOME_THROTTLED, rs_manual_clock_now(&clock_), 1 * SEC);
    rs_manual_clock_advance(&clock_, 1 * SEC);
    (void)admitted(r);
    assert_true(rate_is(r, 0.8 * 5.0));
    /* From now on the rate is learnt: a higher advertisement lifts only the
     * ceiling, and the curve climbs to it as it probes. */
    advertise(r, 50.0);
    assert_true(rate_is(r, 4.0));
    send_flat_out(r, 10 * SEC);
    double grown = rs_adaptive_rate_get(r);
    assert_true(grown > 5.0 && grown < 50.0);
    send_flat_out(r, 30 * SEC);
    assert_true(rate_is(r, 50.0));
    /* A lower one takes effect at once (not in the curve's 1% steps). */
    advertise(r, 49.9);
    assert_true(rate_is(r, 49.9));
    advertise(r, 3.0);
    assert_true(rate_is(r, 3.0));
    /* An infinity is no rate; a huge one lifts the ceiling to the largest
     * rate, and the rate stays where it is. */
    advertise(r, INFINITY);
    assert_true(rate_is(r, 3.0));
    send_flat_out(r, 60 * SEC);
    assert_true(rate_is(r, 3.0));
    advertise(r, 1e300);
    assert_true(rate_is(r, 3.0));
    send_flat_out(r, 60 * SEC);
    assert_true(rs_adaptive_rate_get(r) > 50.0);
    rs_adaptive_rate_free(r);
}

static void advertised_rate_stays_within_the_config(void **state)
{
    (void)state;
    rs_adaptive_rate_config c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    c.min_rate = 1.0;
    c.max_rate = 20.0;
    rs_adaptive_rate *r = make_rate(&c);
    advertise(r, 100.0); /* max_rate stays a hard ceiling */
    assert_true(rate_is(r, 20.0));
    advertise(r, 0.1); /* min_rate a floor */
    assert_true(rate_is(r, 1.0));
    advertise(r, 1e300);
    assert_true(rate_is(r, 20.0));
    rs_adaptive_rate_free(r);

    /* With an initial rate, the configured start stands: the advertisement
     * is a ceiling only. */
    c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    c.initial_rate = 10.0;
    r = make_rate(&c);
    advertise(r, 100.0);
    assert_true(rate_is(r, 10.0));
    advertise(r, 4.0);
    assert_true(rate_is(r, 4.0));
    advertise(r, 100.0);
    assert_true(rate_is(r, 4.0));
    record(r, RS_OUTCOME_SUCCESS, rs_manual_clock_now(&clock_), 0); /* back on the curve */
    assert_true(rate_is(r, 10.0));
    rs_adaptive_rate_free(r);

    /* A throttle that came before any rate applied: its reduction, from
     * what the server accepted (8/s), keeps within the advertisement. */
    c = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    r = make_rate(&c);
    uint64_t sent = rs_manual_clock_now(&clock_);
    for (int i = 0; i < 8; i++) {
        record(r, RS_OUTCOME_SUCCESS, sent, 0);
    }
    record(r, RS_OUTCOME_THROTTLED, sent, 1 * SEC);
    advertise(r, 3.0);
    assert_true(rs_adaptive_rate_get(r) == 0.0); /* the reduction is due first */
    rs_manual_clock_advance(&clock_, 1 * SEC);
    (void)admitted(r);
    assert_true(rate_is(r, 0.8 * 3.0));
    rs_adaptive_rate_snapshot st;
    assert_int_equal(rs_adaptive_rate_metrics(r, &st), RS_OK);
    assert_true(fabs(st.last_good_rate - 3.0) < 1e-9);
    assert_true(fabs(st.advertised_rate - 3.0) < 1e-9); /* the ceiling in force */
    /* NULL is harmless. */
    rs_adaptive_rate_advertise(NULL, 5.0);
    rs_adaptive_rate_advertise_at(NULL, 5.0, 0);
    rs_adaptive_rate_advertise(r, 2.0); /* on its own clock */
    assert_true(rate_is(r, 2.0));
    rs_adaptive_rate_free(r);
}

/* The snapshots: bounds, totals, and NULL refused with the output untouched. */
static void metrics_snapshots(void **state)
{
    (void)state;
    rs_adaptive_limit_config c = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    c.algorithm = RS_ADAPTIVE_AIMD;
    c.initial_limit = 8;
    c.min_limit = 2;
    c.max_limit = 50;
    c.window_samples = 100;
    c.timeout_ns = 500 * MS;
    rs_adaptive_limit *l = make_limit(&c);
    uint64_t now = rs_manual_clock_now(&clock_);
    (void)rs_adaptive_limit_sample_at(l, 10 * MS, 4, RS_OUTCOME_SUCCESS, now);
    (void)rs_adaptive_limit_sample_at(l, 10 * MS, 4, RS_OUTCOME_THROTTLED, now);
    (void)rs_adaptive_limit_sample_at(l, 600 * MS, 4, RS_OUTCOME_SUCCESS, now); /* a timeout */
    (void)rs_adaptive_limit_sample_at(l, 10 * MS, 4, RS_OUTCOME_IGNORED, now);
    rs_adaptive_limit_snapshot lm;
    memset(&lm, 0xab, sizeof lm);
    rs_adaptive_limit_snapshot untouched = lm;
    assert_int_equal(rs_adaptive_limit_metrics(NULL, &lm), RS_E_INVAL);
    assert_int_equal(rs_adaptive_limit_metrics(l, NULL), RS_E_INVAL);
    assert_memory_equal(&lm, &untouched, sizeof lm);
    assert_int_equal(rs_adaptive_limit_metrics(l, &lm), RS_OK);
    assert_int_equal(lm.limit, 8);
    assert_true(lm.estimate == 8.0);
    assert_int_equal(lm.min_limit, 2);
    assert_int_equal(lm.max_limit, 50);
    assert_int_equal(lm.samples, 4);
    assert_int_equal(lm.throttled, 2);
    assert_int_equal(lm.windows, 0);
    assert_int_equal(lm.throttled_windows, 0);
    rs_adaptive_limit_free(l);

    rs_adaptive_rate_config rc = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rc.initial_rate = 20.0;
    rc.min_rate = 2.0;
    rc.max_rate = 40.0;
    rs_adaptive_rate *r = make_rate(&rc);
    rs_adaptive_rate_snapshot rm;
    memset(&rm, 0xab, sizeof rm);
    rs_adaptive_rate_snapshot untouched_rate = rm;
    assert_int_equal(rs_adaptive_rate_metrics(NULL, &rm), RS_E_INVAL);
    assert_int_equal(rs_adaptive_rate_metrics(r, NULL), RS_E_INVAL);
    assert_memory_equal(&rm, &untouched_rate, sizeof rm);
    record(r, RS_OUTCOME_THROTTLED, rs_manual_clock_now(&clock_), 0);
    assert_int_equal(rs_adaptive_rate_metrics(r, &rm), RS_OK);
    assert_true(rm.rate == 20.0);
    assert_true(rm.min_rate == 2.0 && rm.max_rate == 40.0);
    assert_int_equal(rm.throttles, 1);
    assert_int_equal(rm.reductions, 0); /* pending until the next attempt asks */
    rs_adaptive_rate_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(limit_rejects_invalid_configs, setup),
        cmocka_unit_test_setup(aimd_adds_and_multiplies, setup),
        cmocka_unit_test_setup(windows_close_by_time, setup),
        cmocka_unit_test_setup(gradient_follows_latency, setup),
        cmocka_unit_test_setup(gradient_probes_the_floor, setup),
        cmocka_unit_test_setup(gradient_floor_follows_a_slower_server, setup),
        cmocka_unit_test_setup(limit_allocation_failure_is_clean, setup),
        cmocka_unit_test_setup(rate_rejects_invalid_configs, setup),
        cmocka_unit_test_setup(rate_is_unlimited_until_the_first_throttle, setup),
        cmocka_unit_test_setup(rate_grows_back_along_the_curve, setup),
        cmocka_unit_test_setup(rate_stays_put_when_unused, setup),
        cmocka_unit_test_setup(rate_starts_at_an_advertised_rate_and_stays_below_it, setup),
        cmocka_unit_test_setup(advertised_rate_stays_within_the_config, setup),
        cmocka_unit_test_setup(metrics_snapshots, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
