/* Token bucket: validation, exact refill and rounding, reserve/acquire
 * semantics, set_rate accounting, a reference model on random sequences,
 * allocation failure, and exactness under concurrent callers. */
#include "support/fault_alloc.h"
#include "support/testing.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "resilience/token_bucket.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

static rs_token_bucket *make(double rate, uint64_t burst, rs_manual_clock *clock)
{
    rs_token_bucket_config c = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    c.rate = rate;
    c.burst = burst;
    rs_token_bucket *tb = NULL;
    assert_int_equal(rs_token_bucket_new(&c, clock ? rs_manual_clock_get(clock) : NULL, &tb),
                     RS_OK);
    assert_non_null(tb);
    return tb;
}

/* Takes tokens one at a time until refused; returns how many it got. */
static uint64_t drain(rs_token_bucket *tb, uint64_t now)
{
    uint64_t got = 0;
    while (rs_token_bucket_try_acquire_at(tb, 1, now)) {
        got++;
    }
    return got;
}

static void rejects_invalid_configs(void **state)
{
    (void)state;
    rs_token_bucket *tb = (rs_token_bucket *)0x1;
    const struct {
        rs_token_bucket_config cfg;
        const char *names; /* what rs_last_error() must say */
    } bad[] = {
        { { 0.0, 1 }, "rs_token_bucket_config.rate: 0, must be finite and > 0" },
        { { -1.0, 1 }, "rs_token_bucket_config.rate: -1" },
        { { NAN, 1 }, "rs_token_bucket_config.rate: " },
        { { INFINITY, 1 }, "rs_token_bucket_config.rate: inf" },
        { { -INFINITY, 1 }, "rs_token_bucket_config.rate: -inf" },
        { { 1.0, 0 }, "rs_token_bucket_config.burst: 0, must be >= 1" },
        { { 1e9 * 1.000001, 1 }, /* finer than 1 ns per token */
          "rs_token_bucket_config.rate: 1e+09, must be <= 1e9" },
        { { 5e-11, 1 }, /* interval beyond 2^64 ns */
          "rs_token_bucket_config.rate: 5e-11, too low" },
        { { 1e-10, 2 }, /* 1e19 ns per token: capacity overflows */
          "rs_token_bucket_config.burst: 2, too large" },
        { { 0.1, UINT64_C(1) << 32 }, /* 2^32 * 1e10 ns > 2^64 */
          "rs_token_bucket_config.burst: 4294967296, too large" },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        RS_TEST_EXPECT_INVALID(rs_token_bucket_config_validate(&bad[i].cfg), bad[i].names);
        RS_TEST_EXPECT_INVALID(rs_token_bucket_new(&bad[i].cfg, NULL, &tb), bad[i].names);
        assert_ptr_equal(tb, (rs_token_bucket *)0x1); /* out untouched on error */
    }
    rs_token_bucket_config good = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    RS_TEST_EXPECT_INVALID(rs_token_bucket_config_validate(NULL), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_token_bucket_new(NULL, NULL, &tb), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_token_bucket_new(&good, NULL, NULL), "out: NULL");
    const rs_token_bucket_config edges[] = {
        { 1e9, 1 },
        { 1e-10, 1 },
        { 1.0, UINT64_C(1) << 32 },
        { 1e6, UINT64_C(1) << 44 },
        { 1e9, UINT64_MAX }, /* UINT64_MAX tokens of 1 ns still fit */
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(edges); i++) {
        assert_int_equal(rs_token_bucket_config_validate(&edges[i]), RS_OK);
    }
    /* set_rate names its arguments. */
    tb = make(1.0, 1, NULL);
    RS_TEST_EXPECT_INVALID(rs_token_bucket_set_rate(tb, 0.0, 1), "rate: 0");
    RS_TEST_EXPECT_INVALID(rs_token_bucket_set_rate(tb, 1.0, 0), "burst: 0");
    RS_TEST_EXPECT_INVALID(rs_token_bucket_set_rate(NULL, 1.0, 1), "tb: NULL");
    rs_token_bucket_free(tb);
}

/* The brace initializer works where a compound literal cannot: a static. */
static const rs_token_bucket_config static_defaults = RS_TOKEN_BUCKET_CONFIG_INIT;

static void defaults_are_documented_values(void **state)
{
    (void)state;
    rs_token_bucket_config c = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    assert_true(c.rate == 10.0);
    assert_int_equal(c.burst, 10);
    assert_true(static_defaults.rate == 10.0);
    assert_int_equal(static_defaults.burst, 10);
}

static void starts_full_and_refills_exactly(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 1000 * SEC);
    rs_token_bucket *tb = make(10.0, 5, &clock); /* 100 ms per token */
    assert_true(rs_token_bucket_available(tb) == 5.0);
    assert_int_equal(drain(tb, rs_manual_clock_now(&clock)), 5);
    assert_false(rs_token_bucket_try_acquire(tb, 1));
    rs_manual_clock_advance(&clock, 100 * MS - 1);
    assert_false(rs_token_bucket_try_acquire(tb, 1));
    assert_true(fabs(rs_token_bucket_available(tb) - 0.99999999) < 1e-12);
    rs_manual_clock_advance(&clock, 1);
    assert_true(rs_token_bucket_try_acquire(tb, 1));
    assert_false(rs_token_bucket_try_acquire(tb, 1));
    /* A long idle period refills to the burst, never beyond. */
    rs_manual_clock_advance(&clock, 3600 * SEC);
    assert_true(rs_token_bucket_available(tb) == 5.0);
    assert_false(rs_token_bucket_try_acquire(tb, 6));
    assert_true(rs_token_bucket_try_acquire(tb, 5));
    /* Partial refill: 250 ms gives 2 whole tokens and half of the third. */
    rs_manual_clock_advance(&clock, 250 * MS);
    assert_true(rs_token_bucket_available(tb) == 2.5);
    assert_false(rs_token_bucket_try_acquire(tb, 3));
    assert_true(rs_token_bucket_try_acquire(tb, 2));
    assert_true(rs_token_bucket_available(tb) == 0.5);
    rs_token_bucket_free(tb);
}

/* The interval is ceil(1e9 / rate) ns: exact rates stay exact, others never
 * run faster than configured. */
static void fractional_rates_are_exact_or_rounded_up(void **state)
{
    (void)state;
    const struct {
        double rate;
        uint64_t interval;
    } cases[] = {
        { 0.5, 2 * SEC },       { 1.0, SEC },          { 0.1, 10 * SEC },
        { 1e6, 1000 },          { 1e9, 1 },            { 3.0, 333333334 },
        { 3000.0, 333334 },     { 7e8, 2 },            { 1e-9, UINT64_C(1000000000000000000) },
        { 1e9 / 7.0, 7 },       { 1e9 / 333333334.0, 333333334 },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        rs_manual_clock clock;
        rs_manual_clock_init(&clock, 0);
        rs_token_bucket *tb = make(cases[i].rate, 1, &clock);
        uint64_t t = 0;
        assert_true(rs_token_bucket_try_acquire_at(tb, 1, t));
        for (int round = 0; round < 3; round++) {
            assert_false(rs_token_bucket_try_acquire_at(tb, 1, t + cases[i].interval - 1));
            t += cases[i].interval;
            assert_true(rs_token_bucket_try_acquire_at(tb, 1, t));
        }
        rs_token_bucket_free(tb);
    }
}

static void zero_and_oversized_requests(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_token_bucket *tb = make(1.0, 3, &clock);
    uint64_t wait = 7;
    assert_int_equal(drain(tb, 0), 3);
    /* n = 0 always succeeds, even on an empty bucket, and takes nothing. */
    assert_true(rs_token_bucket_try_acquire(tb, 0));
    assert_true(rs_token_bucket_try_acquire_at(tb, 0, 0));
    assert_int_equal(rs_token_bucket_reserve(tb, 0, 0, &wait), RS_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(rs_token_bucket_acquire(tb, 0, 0), RS_OK);
    assert_true(rs_token_bucket_available_at(tb, 0) == 0.0);
    /* n > burst can never be granted: false / RS_E_INVAL, nothing taken. */
    rs_manual_clock_advance(&clock, 100 * SEC);
    assert_false(rs_token_bucket_try_acquire(tb, 4));
    assert_false(rs_token_bucket_try_acquire_at(tb, UINT64_MAX, 100 * SEC));
    assert_int_equal(rs_token_bucket_reserve(tb, 4, UINT64_MAX, &wait), RS_E_INVAL);
    assert_int_equal(wait, UINT64_MAX);
    assert_int_equal(rs_token_bucket_reserve_at(tb, UINT64_MAX, UINT64_MAX, &wait, 0),
                     RS_E_INVAL);
    assert_int_equal(rs_token_bucket_acquire(tb, 4, UINT64_MAX), RS_E_INVAL);
    assert_int_equal(rs_manual_clock_sleep_count(&clock), 0);
    assert_true(rs_token_bucket_available(tb) == 3.0);
    rs_token_bucket_free(tb);
}

static void null_arguments(void **state)
{
    (void)state;
    uint64_t wait = 7;
    assert_false(rs_token_bucket_try_acquire(NULL, 1));
    assert_false(rs_token_bucket_try_acquire(NULL, 0));
    assert_false(rs_token_bucket_try_acquire_at(NULL, 0, 0));
    assert_int_equal(rs_token_bucket_reserve(NULL, 1, 0, &wait), RS_E_INVAL);
    assert_int_equal(wait, UINT64_MAX);
    assert_int_equal(rs_token_bucket_reserve_at(NULL, 1, 0, &wait, 0), RS_E_INVAL);
    assert_int_equal(rs_token_bucket_acquire(NULL, 1, 0), RS_E_INVAL);
    assert_int_equal(rs_token_bucket_set_rate(NULL, 1.0, 1), RS_E_INVAL);
    assert_int_equal(rs_token_bucket_set_rate_at(NULL, 1.0, 1, 0), RS_E_INVAL);
    assert_true(rs_token_bucket_available(NULL) == 0.0);
    assert_true(rs_token_bucket_available_at(NULL, 0) == 0.0);
    rs_token_bucket_free(NULL);
    rs_token_bucket *tb = make(1.0, 1, NULL);
    assert_int_equal(rs_token_bucket_reserve(tb, 1, 0, NULL), RS_E_INVAL);
    assert_int_equal(rs_token_bucket_reserve_at(tb, 1, 0, NULL, 0), RS_E_INVAL);
    assert_true(rs_token_bucket_available(tb) == 1.0); /* nothing taken */
    rs_token_bucket_free(tb);
}

/* The system clock is the default: a fresh bucket on it is full. */
static void system_clock_by_default(void **state)
{
    (void)state;
    rs_token_bucket *tb = make(1e-3, 2, NULL);
    assert_true(rs_token_bucket_try_acquire(tb, 2));
    assert_false(rs_token_bucket_try_acquire(tb, 1));
    uint64_t wait = 0;
    assert_int_equal(rs_token_bucket_reserve(tb, 1, 0, &wait), RS_E_LIMITED);
    assert_true(wait > 999 * SEC && wait <= 1000 * SEC);
    assert_int_equal(rs_token_bucket_acquire(tb, 1, SEC), RS_E_LIMITED);
    assert_true(rs_token_bucket_available(tb) < 0.01);
    assert_int_equal(rs_token_bucket_set_rate(tb, 2e-3, 2), RS_OK);
    rs_token_bucket_free(tb);
}

/* golang.org/x/time/rate ReserveN: tokens are taken now and usable after
 * the wait; later callers queue behind; a refused reservation takes nothing
 * and says how long it would have waited. */
static void reserve_queues_callers(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_token_bucket *tb = make(1.0, 2, &clock);
    uint64_t wait = 7;
    assert_int_equal(rs_token_bucket_reserve(tb, 2, 0, &wait), RS_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(rs_token_bucket_reserve(tb, 1, 0, &wait), RS_E_LIMITED);
    assert_int_equal(wait, SEC);
    assert_int_equal(rs_token_bucket_reserve(tb, 1, SEC - 1, &wait), RS_E_LIMITED);
    assert_int_equal(wait, SEC);
    assert_true(rs_token_bucket_available(tb) == 0.0); /* refusals took nothing */
    assert_int_equal(rs_token_bucket_reserve(tb, 1, SEC, &wait), RS_OK);
    assert_int_equal(wait, SEC);
    assert_true(rs_token_bucket_available(tb) == -1.0);
    assert_int_equal(rs_token_bucket_reserve(tb, 2, UINT64_MAX, &wait), RS_OK);
    assert_int_equal(wait, 3 * SEC);
    assert_true(rs_token_bucket_available(tb) == -3.0);
    assert_false(rs_token_bucket_try_acquire(tb, 1));
    /* 3.5 s later the owed tokens are refilled and half of the next. */
    rs_manual_clock_advance(&clock, 3500 * MS);
    assert_true(rs_token_bucket_available(tb) == 0.5);
    assert_int_equal(rs_token_bucket_reserve(tb, 1, 0, &wait), RS_E_LIMITED);
    assert_int_equal(wait, 500 * MS);
    /* _at: the wait is measured from the instant given. */
    assert_int_equal(rs_token_bucket_reserve_at(tb, 1, 0, &wait, 4000 * MS), RS_OK);
    assert_int_equal(wait, 0);
    rs_token_bucket_free(tb);
}

/* acquire decides before sleeping: it sleeps exactly the wait, or fails at
 * once without sleeping. */
static void acquire_sleeps_on_the_bucket_clock(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 5 * SEC);
    rs_token_bucket *tb = make(4.0, 1, &clock); /* 250 ms per token */
    assert_int_equal(rs_token_bucket_acquire(tb, 1, 0), RS_OK);
    assert_int_equal(rs_manual_clock_sleep_count(&clock), 0);
    assert_int_equal(rs_token_bucket_acquire(tb, 1, 0), RS_E_LIMITED);
    assert_int_equal(rs_token_bucket_acquire(tb, 1, 250 * MS - 1), RS_E_LIMITED);
    assert_int_equal(rs_manual_clock_sleep_count(&clock), 0);
    assert_int_equal(rs_manual_clock_now(&clock), 5 * SEC);
    assert_int_equal(rs_token_bucket_acquire(tb, 1, 250 * MS), RS_OK);
    assert_int_equal(rs_manual_clock_sleep_count(&clock), 1);
    assert_int_equal(rs_manual_clock_now(&clock), 5 * SEC + 250 * MS);
    assert_int_equal(rs_token_bucket_acquire(tb, 1, UINT64_MAX), RS_OK);
    assert_int_equal(rs_manual_clock_now(&clock), 5 * SEC + 500 * MS);
    assert_true(rs_token_bucket_available(tb) == 0.0);
    rs_token_bucket_free(tb);
}

/* Bursts of 2^32 and beyond: whole amounts, no precision lost. */
static void huge_bursts_keep_every_token(void **state)
{
    (void)state;
    const uint64_t big = UINT64_C(1) << 32;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_token_bucket *tb = make(1.0, big, &clock);
    assert_true(rs_token_bucket_available(tb) == (double)big);
    assert_false(rs_token_bucket_try_acquire(tb, big + 1));
    assert_true(rs_token_bucket_try_acquire(tb, big - 1));
    assert_true(rs_token_bucket_available(tb) == 1.0);
    assert_true(rs_token_bucket_try_acquire(tb, 1));
    assert_false(rs_token_bucket_try_acquire(tb, 1));
    rs_manual_clock_advance(&clock, 5 * SEC);
    assert_true(rs_token_bucket_available(tb) == 5.0);
    assert_false(rs_token_bucket_try_acquire(tb, 6));
    assert_true(rs_token_bucket_try_acquire(tb, 5));
    uint64_t wait = 0;
    assert_int_equal(rs_token_bucket_reserve(tb, big, UINT64_MAX, &wait), RS_OK);
    assert_int_equal(wait, big * SEC);
    rs_token_bucket_free(tb);

    /* 2^44 tokens at 1e6/s, and 2^62 at 1e9/s: still exact. */
    const uint64_t bigger = UINT64_C(1) << 44, biggest = UINT64_C(1) << 62;
    tb = make(1e6, bigger, &clock);
    assert_true(rs_token_bucket_try_acquire(tb, bigger - 3));
    assert_true(rs_token_bucket_available(tb) == 3.0);
    rs_token_bucket_free(tb);
    tb = make(1e9, biggest, &clock);
    assert_true(rs_token_bucket_try_acquire(tb, biggest - 1));
    assert_false(rs_token_bucket_try_acquire(tb, 2));
    assert_true(rs_token_bucket_try_acquire(tb, 1));
    rs_token_bucket_free(tb);
}

/* Near the end of 64-bit time the bucket refuses rather than wrapping. */
static void end_of_time_saturates(void **state)
{
    (void)state;
    rs_token_bucket *tb = make(1e8, 1, NULL); /* 10 ns per token */
    uint64_t wait = 0;
    const uint64_t t = UINT64_MAX - 25;
    assert_true(rs_token_bucket_try_acquire_at(tb, 1, t));           /* TAT = MAX - 15 */
    assert_false(rs_token_bucket_try_acquire_at(tb, 1, t));
    assert_int_equal(rs_token_bucket_reserve_at(tb, 1, UINT64_MAX, &wait, t), RS_OK);
    assert_int_equal(wait, 10);                                       /* TAT = MAX - 5 */
    assert_int_equal(rs_token_bucket_reserve_at(tb, 1, UINT64_MAX, &wait, t), RS_E_LIMITED);
    assert_int_equal(wait, UINT64_MAX);
    assert_false(rs_token_bucket_try_acquire_at(tb, 1, UINT64_MAX));
    assert_true(rs_token_bucket_available_at(tb, UINT64_MAX - 10) == 0.5);
    rs_token_bucket_free(tb);
}

/* Issue 12 item 9: near the end of 64-bit time a full bucket refused 5
 * tokens (their TAT would pass UINT64_MAX) while available() said 10. Every
 * answer agrees with the grant decision now: available() counts the tokens
 * that would be granted, wait_ns() is 0 exactly for them and UINT64_MAX
 * exactly when no wait would do, and a finite wait is honoured. */
static void end_of_time_answers_agree(void **state)
{
    (void)state;
    const uint64_t before_end[] = { 0, 1, 9, 10, 11, 25, 49, 50, 51, 99, 100, 101, 1000 };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(before_end); i++) {
        const uint64_t now = UINT64_MAX - before_end[i];
        rs_token_bucket *tb = make(1e8, 10, NULL); /* 10 ns per token, full */
        double available = rs_token_bucket_available_at(tb, now);
        assert_true(available >= 0.0 && available <= 10.0);
        for (uint64_t n = 1; n <= 10; n++) {
            uint64_t wait = rs_token_bucket_wait_ns_at(tb, n, now);
            assert_int_equal(wait == 0, (double)n <= available);
            /* Nothing refills past the end of time: never, not "later". */
            assert_int_equal(wait, wait == 0 ? 0 : UINT64_MAX);
        }
        uint64_t granted = 0;
        while (rs_token_bucket_try_acquire_at(tb, 1, now)) {
            granted++;
        }
        assert_int_equal(granted, (uint64_t)available);
        rs_token_bucket_free(tb);

        /* Reservations queue up to the end of time, and no further. */
        tb = make(1e8, 10, NULL);
        const uint64_t earlier = now - 1000;
        for (int taken = 0;; taken++) {
            uint64_t promised = rs_token_bucket_wait_ns_at(tb, 3, earlier), wait = 0;
            int status = rs_token_bucket_reserve_at(tb, 3, UINT64_MAX, &wait, earlier);
            assert_int_equal(wait, promised);
            if (status != RS_OK) {
                assert_int_equal(status, RS_E_LIMITED);
                assert_int_equal(wait, UINT64_MAX);
                assert_true(rs_token_bucket_available_at(tb, earlier) < 3.0);
                break;
            }
            assert_true(taken < 200);
        }
        rs_token_bucket_free(tb);
    }
}

/* A caller whose clock reading is older than the last grant's is judged at
 * its own time: it may be refused, never granted extra. */
static void stale_instants_are_conservative(void **state)
{
    (void)state;
    rs_token_bucket *tb = make(1.0, 2, NULL);
    assert_true(rs_token_bucket_try_acquire_at(tb, 2, 10 * SEC));
    assert_true(rs_token_bucket_try_acquire_at(tb, 1, 11 * SEC));
    assert_false(rs_token_bucket_try_acquire_at(tb, 1, 10 * SEC));
    assert_true(rs_token_bucket_available_at(tb, 10 * SEC) == -1.0);
    assert_false(rs_token_bucket_try_acquire_at(tb, 1, 11 * SEC));
    assert_true(rs_token_bucket_try_acquire_at(tb, 1, 12 * SEC));
    rs_token_bucket_free(tb);
}

static void set_rate_keeps_consumed_tokens(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_token_bucket *tb = make(10.0, 10, &clock); /* 100 ms per token */
    assert_true(rs_token_bucket_try_acquire(tb, 3));
    /* Faster rate: still 3 consumed, now refilled at 20/s. */
    assert_int_equal(rs_token_bucket_set_rate(tb, 20.0, 10), RS_OK);
    assert_true(rs_token_bucket_available(tb) == 7.0);
    rs_manual_clock_advance(&clock, 50 * MS);
    assert_true(rs_token_bucket_available(tb) == 8.0);
    /* Slower rate: 2 consumed stay 2, refilled at 1/s. */
    assert_int_equal(rs_token_bucket_set_rate(tb, 1.0, 10), RS_OK);
    assert_true(rs_token_bucket_available(tb) == 8.0);
    rs_manual_clock_advance(&clock, 999 * MS);
    assert_false(rs_token_bucket_try_acquire(tb, 9));
    rs_manual_clock_advance(&clock, 1 * MS);
    assert_true(rs_token_bucket_available(tb) == 9.0);
    /* Smaller burst: consumed 1 of 4. */
    assert_int_equal(rs_token_bucket_set_rate(tb, 1.0, 4), RS_OK);
    assert_true(rs_token_bucket_available(tb) == 3.0);
    /* Larger burst: consumed 1 of 100, the new capacity is there at once. */
    assert_int_equal(rs_token_bucket_set_rate(tb, 1.0, 100), RS_OK);
    assert_true(rs_token_bucket_available(tb) == 99.0);
    /* Shrinking below the debt leaves it empty until the debt is repaid. */
    assert_true(rs_token_bucket_try_acquire(tb, 99));
    assert_int_equal(rs_token_bucket_set_rate(tb, 10.0, 40), RS_OK);
    assert_true(rs_token_bucket_available(tb) == -60.0);
    rs_manual_clock_advance(&clock, 6 * SEC);
    assert_true(rs_token_bucket_available(tb) == 0.0);
    /* 40 consumed, burst 10: 30 owed. */
    assert_int_equal(rs_token_bucket_set_rate(tb, 10.0, 10), RS_OK);
    assert_true(rs_token_bucket_available(tb) == -30.0);
    rs_manual_clock_advance(&clock, 3 * SEC);
    assert_true(rs_token_bucket_available(tb) == 0.0);
    /* Fractional debt is rescaled exactly: 2.5 tokens at 100 ms become 2.5
     * tokens at 30 ms. */
    rs_manual_clock_advance(&clock, 750 * MS);
    assert_true(rs_token_bucket_available(tb) == 7.5);
    assert_int_equal(rs_token_bucket_set_rate(tb, 1e9 / 3e7, 10), RS_OK);
    assert_true(rs_token_bucket_available(tb) == 7.5);
    /* Outstanding reservations stay owed across a change. */
    uint64_t wait = 0;
    assert_int_equal(rs_token_bucket_reserve(tb, 10, UINT64_MAX, &wait), RS_OK);
    assert_int_equal(wait, 75 * MS); /* 2.5 tokens at 30 ms */
    assert_int_equal(rs_token_bucket_set_rate(tb, 1.0, 10), RS_OK);
    assert_true(rs_token_bucket_available(tb) == -2.5);
    rs_manual_clock_advance(&clock, 2500 * MS);
    assert_true(rs_token_bucket_available(tb) == 0.0);
    rs_manual_clock_advance(&clock, SEC);
    assert_true(rs_token_bucket_try_acquire(tb, 1));
    /* Invalid changes are refused and change nothing. */
    assert_int_equal(rs_token_bucket_set_rate(tb, 0.0, 10), RS_E_INVAL);
    assert_int_equal(rs_token_bucket_set_rate(tb, NAN, 10), RS_E_INVAL);
    assert_int_equal(rs_token_bucket_set_rate(tb, 1.0, 0), RS_E_INVAL);
    assert_int_equal(rs_token_bucket_set_rate(tb, 0.1, UINT64_C(1) << 32), RS_E_INVAL);
    assert_true(rs_token_bucket_available(tb) == 0.0);
    rs_manual_clock_advance(&clock, SEC - 1);
    assert_false(rs_token_bucket_try_acquire(tb, 1));
    rs_token_bucket_free(tb);
}

/* ---- reference model ----------------------------------------------------- */

/* The textbook bucket: a level of stored refill time, in ns, capped at the
 * capacity, drained by n * interval per grant; negative while reservations
 * are owed. Plain integers; it only moves forward in time. */
typedef struct model {
    uint64_t interval;
    uint64_t burst;
    int64_t level;
    uint64_t last;
} model;

static int64_t model_capacity(const model *m) { return (int64_t)(m->burst * m->interval); }

static void model_advance(model *m, uint64_t now)
{
    m->level += (int64_t)(now - m->last);
    if (m->level > model_capacity(m)) {
        m->level = model_capacity(m);
    }
    m->last = now;
}

static bool model_try(model *m, uint64_t n)
{
    if (n > m->burst) {
        return false;
    }
    if (m->level < (int64_t)(n * m->interval)) {
        return false;
    }
    m->level -= (int64_t)(n * m->interval);
    return true;
}

static int model_reserve(model *m, uint64_t n, uint64_t max_wait, uint64_t *wait)
{
    if (n > m->burst) {
        *wait = UINT64_MAX;
        return RS_E_INVAL;
    }
    int64_t need = (int64_t)(n * m->interval) - m->level;
    *wait = need > 0 ? (uint64_t)need : 0;
    if (*wait > max_wait) {
        return RS_E_LIMITED;
    }
    m->level -= (int64_t)(n * m->interval);
    return RS_OK;
}

static double model_available(const model *m)
{
    int64_t whole = m->level / (int64_t)m->interval;
    int64_t part = m->level % (int64_t)m->interval;
    /* The fraction is a double of its own, as token_bucket.h describes it:
     * x87 (FLT_EVAL_METHOD 2) would otherwise add it to the whole tokens
     * with extra precision and round once, 1 ulp off the bucket's answer. */
    double fraction = (double)part / (double)m->interval;
    return (double)whole + fraction;
}

static void model_set_rate(model *m, uint64_t interval, uint64_t burst)
{
    /* The consumed tokens carry over: consumed ns * new / old, rounded up,
     * taken as whole old intervals and a rest so no product overflows. */
    uint64_t consumed = (uint64_t)(model_capacity(m) - m->level);
    uint64_t whole = consumed / m->interval, rest = consumed % m->interval;
    uint64_t scaled = whole * interval + (rest * interval + m->interval - 1) / m->interval;
    m->interval = interval;
    m->burst = burst;
    m->level = model_capacity(m) - (int64_t)scaled;
}

static uint64_t pick_interval(uint64_t *rng)
{
    static const uint64_t intervals[] = { 1, 7, 1000, 999983, 100 * MS, 333333334, 2 * SEC };
    return intervals[rs_test_random(rng) % RS_TEST_ARRAY_LEN(intervals)];
}

static uint64_t pick_advance(uint64_t *rng, uint64_t interval)
{
    switch (rs_test_random(rng) % 5) {
    case 0:
        return 0;
    case 1:
        return rs_test_random(rng) % 3;
    case 2:
        return interval - 1 + rs_test_random(rng) % 3;
    case 3:
        return rs_test_random(rng) % (interval * 4);
    default:
        return rs_test_random(rng) % (interval * 40);
    }
}

/* Seeded random (advance, acquire n / reserve / set_rate) sequences: every
 * answer of the bucket equals the model's exactly. */
static void matches_the_reference_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        uint64_t rng = seed;
        model m = { pick_interval(&rng), 1 + rs_test_random(&rng) % 20, 0, 0 };
        m.level = model_capacity(&m);
        m.last = rs_test_random(&rng) % (1000 * SEC);
        rs_manual_clock clock;
        rs_manual_clock_init(&clock, m.last);
        rs_token_bucket *tb = make(1e9 / (double)m.interval, m.burst, &clock);
        for (int step = 0; step < 3000; step++) {
            rs_manual_clock_advance(&clock, pick_advance(&rng, m.interval));
            uint64_t now = rs_manual_clock_now(&clock);
            model_advance(&m, now);
            uint64_t n = rs_test_random(&rng) % (m.burst + 2);
            bool explicit_time = rs_test_random(&rng) & 1;
            uint64_t op = rs_test_random(&rng) % 20;
            if (op < 10) {
                bool expected = n == 0 || model_try(&m, n);
                bool got = explicit_time ? rs_token_bucket_try_acquire_at(tb, n, now)
                                         : rs_token_bucket_try_acquire(tb, n);
                assert_int_equal(got, expected);
            } else if (op < 18) {
                static const uint64_t waits[] = { 0, 1, 999, 100 * MS, 5 * SEC, UINT64_MAX };
                uint64_t max_wait = waits[rs_test_random(&rng) % RS_TEST_ARRAY_LEN(waits)];
                uint64_t expected_wait = 0, wait = 1;
                int expected = n == 0 ? RS_OK : model_reserve(&m, n, max_wait, &expected_wait);
                int got = explicit_time ? rs_token_bucket_reserve_at(tb, n, max_wait, &wait, now)
                                        : rs_token_bucket_reserve(tb, n, max_wait, &wait);
                assert_int_equal(got, expected);
                assert_int_equal(wait, expected_wait);
            } else if (op == 18) {
                uint64_t interval = pick_interval(&rng), burst = 1 + rs_test_random(&rng) % 20;
                model_set_rate(&m, interval, burst);
                assert_int_equal(explicit_time
                                     ? rs_token_bucket_set_rate_at(tb, 1e9 / (double)interval,
                                                                   burst, now)
                                     : rs_token_bucket_set_rate(tb, 1e9 / (double)interval,
                                                                burst),
                                 RS_OK);
            }
            assert_true(rs_token_bucket_available(tb) == model_available(&m));
            assert_true(rs_token_bucket_available_at(tb, now) == model_available(&m));
        }
        rs_token_bucket_free(tb);
    }
}

static int create_bucket(void *ctx, void **object)
{
    (void)ctx;
    rs_token_bucket_config c = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    return rs_token_bucket_new(&c, NULL, (rs_token_bucket **)object);
}

static void destroy_bucket(void *object) { rs_token_bucket_free(object); }

static void allocation_failure_is_clean(void **state)
{
    (void)state;
    assert_int_equal(fault_alloc_sweep(create_bucket, destroy_bucket, NULL), 1);
}

#if RS_TEST_THREADS

/* ---- concurrency on a frozen manual clock: exact counts ------------------- */

typedef struct frozen {
    rs_token_bucket *tb;
    atomic_uint_fast64_t granted;
    uint64_t waits[4][2000];
    atomic_uint next_thread;
} frozen;

static void *grab_all(void *arg)
{
    frozen *f = arg;
    uint64_t got = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t n = 1 + (uint64_t)(i % 2);
        got += rs_token_bucket_try_acquire(f->tb, n) ? n : 0;
    }
    atomic_fetch_add(&f->granted, got);
    return NULL;
}

/* With time frozen, four threads racing for tokens get exactly what the
 * bucket holds, then exactly what each advance refills. */
static void racing_threads_get_exactly_the_tokens(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    static frozen f;
    f.tb = make(1000.0, 1000, &clock);
    atomic_store(&f.granted, 0);
    rs_test_run_threads(4, grab_all, &f);
    /* Every thread ends with 1-token requests, so nothing is left over. */
    assert_int_equal(atomic_load(&f.granted), 1000);
    for (uint64_t round = 1; round <= 5; round++) {
        rs_manual_clock_advance(&clock, 100 * MS); /* 100 tokens */
        rs_test_run_threads(4, grab_all, &f);
        assert_int_equal(atomic_load(&f.granted), 1000 + 100 * round);
    }
    rs_token_bucket_free(f.tb);
}

static void *reserve_many(void *arg)
{
    frozen *f = arg;
    unsigned id = atomic_fetch_add(&f->next_thread, 1);
    for (int i = 0; i < 2000; i++) {
        uint64_t wait = UINT64_MAX;
        if (rs_token_bucket_reserve(f->tb, 1, UINT64_MAX, &wait) != RS_OK) {
            return (void *)1;
        }
        f->waits[id][i] = wait;
    }
    return NULL;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Concurrent reservations form one exact queue: the burst at once, then one
 * token per interval, no slot given twice and none skipped. */
static void concurrent_reservations_form_one_queue(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 42);
    static frozen f;
    f.tb = make(1e6, 10, &clock); /* 1 us per token */
    atomic_store(&f.next_thread, 0);
    rs_test_run_threads(4, reserve_many, &f);
    uint64_t *all = &f.waits[0][0];
    qsort(all, 8000, sizeof *all, compare_u64);
    for (uint64_t i = 0; i < 8000; i++) {
        assert_int_equal(all[i], i < 10 ? 0 : (i - 9) * 1000);
    }
    rs_token_bucket_free(f.tb);
}

/* ---- concurrency on the real clock ---------------------------------------- */

typedef struct stress {
    rs_token_bucket *tb;
    uint64_t deadline;
    bool flip; /* one thread keeps changing the rate */
    double rate;
    uint64_t burst;
    atomic_uint next_thread;
    atomic_uint_fast64_t granted;
    atomic_bool failed;
} stress;

static void *hammer(void *arg)
{
    stress *s = arg;
    unsigned id = atomic_fetch_add(&s->next_thread, 1);
    uint64_t rng = id + 1, granted = 0, changes = 0;
    while (rs_test_now_ns() < s->deadline) {
        uint64_t n = 1 + rs_test_random(&rng) % 3;
        if (s->flip && id == 0 && rs_test_random(&rng) % 64 == 0) {
            bool slow = ++changes & 1;
            if (rs_token_bucket_set_rate(s->tb, slow ? s->rate / 2 : s->rate,
                                         slow ? s->burst / 2 : s->burst) != RS_OK) {
                atomic_store(&s->failed, true);
            }
        }
        if (id % 2 == 0) {
            granted += rs_token_bucket_try_acquire(s->tb, n) ? n : 0;
        } else {
            /* Reservations count from the instant they may be used. */
            uint64_t now = rs_test_now_ns(), wait = 0;
            if (rs_token_bucket_reserve_at(s->tb, n, 200000, &wait, now) == RS_OK &&
                now + wait <= s->deadline) {
                granted += n;
            }
        }
    }
    atomic_fetch_add(&s->granted, granted);
    return NULL;
}

static void run_stress(stress *s, uint64_t duration_ns)
{
    uint64_t start = rs_test_now_ns();
    s->tb = make(s->rate, s->burst, NULL);
    s->deadline = start + duration_ns;
    atomic_store(&s->next_thread, 0);
    atomic_store(&s->granted, 0);
    atomic_store(&s->failed, false);
    rs_test_run_threads(4, hammer, s);
    assert_false(atomic_load(&s->failed));
    double elapsed = (double)(rs_test_now_ns() - start) / 1e9;
    double granted = (double)atomic_load(&s->granted);
    double bound = (double)s->burst + s->rate * elapsed;
    print_message("# %.0f tokens granted in %.3f s; bound %.0f\n", granted, elapsed, bound);
    assert_true(granted <= bound);
    /* Liveness, loosely: the rate is far below what four threads ask for. */
    assert_true(granted >= s->rate * elapsed / 10);
    rs_token_bucket_free(s->tb);
}

/* Four threads (try_acquire and reserve) on the real clock: never more than
 * burst + rate * elapsed. */
static void real_clock_stress_stays_within_the_bound(void **state)
{
    (void)state;
    static stress s = { .rate = 50000.0, .burst = 500 };
    run_stress(&s, SEC);
}

/* The same while one thread keeps switching between two rates: within the
 * larger burst plus the larger rate. */
static void real_clock_stress_with_rate_changes(void **state)
{
    (void)state;
    static stress s = { .rate = 40000.0, .burst = 400, .flip = true };
    run_stress(&s, 300 * MS);
}

#endif /* RS_TEST_THREADS */

/* ---- metrics ---------------------------------------------------------------------- */

/* Every way of asking counts once: granted requests and their tokens,
 * refusals; requests above the burst and for nothing are not counted. */
static void metrics_count_every_request(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, SEC);
    rs_token_bucket *tb = make(10, 5, &clock);
    uint64_t wait = 0;
    assert_true(rs_token_bucket_try_acquire(tb, 3));
    assert_int_equal(rs_token_bucket_reserve(tb, 4, SEC, &wait), RS_OK); /* owes 2 */
    assert_int_equal(wait, 200 * MS);
    assert_int_equal(rs_token_bucket_reserve(tb, 5, 0, &wait), RS_E_LIMITED);
    assert_false(rs_token_bucket_try_acquire(tb, 6)); /* above the burst */
    assert_int_equal(rs_token_bucket_reserve(tb, 6, SEC, &wait), RS_E_INVAL);
    assert_true(rs_token_bucket_try_acquire(tb, 0));
    assert_int_equal(rs_token_bucket_acquire(tb, 1, SEC), RS_OK); /* sleeps 300 ms */
    rs_token_bucket_snapshot m;
    assert_int_equal(rs_token_bucket_metrics(tb, &m), RS_OK);
    assert_true(m.rate == 10.0);
    assert_int_equal(m.burst, 5);
    assert_true(m.available == rs_token_bucket_available(tb));
    assert_true(m.available == 0.0);
    assert_int_equal(m.granted, 3);
    assert_int_equal(m.granted_tokens, 8);
    assert_int_equal(m.refused, 1);
    /* A later instant: what has refilled; the configuration as last set. */
    assert_int_equal(rs_token_bucket_set_rate(tb, 3, 7), RS_OK);
    assert_int_equal(rs_token_bucket_metrics_at(tb, &m, rs_manual_clock_now(&clock) + SEC), RS_OK);
    assert_true(m.rate == 3.0);
    assert_int_equal(m.burst, 7);
    assert_true(fabs(m.available - 5.0) < 1e-6); /* 7 - 5 owed + 3 refilled */
    assert_int_equal(m.granted, 3);
    assert_int_equal(rs_token_bucket_metrics(NULL, &m), RS_E_INVAL);
    assert_int_equal(rs_token_bucket_metrics(tb, NULL), RS_E_INVAL);
    rs_token_bucket_free(tb);
}

#if RS_TEST_THREADS
typedef struct counted_bucket {
    rs_token_bucket *plenty; /* never runs dry */
    rs_token_bucket *dry;    /* always refuses */
} counted_bucket;

static void *grant_and_refuse(void *arg)
{
    counted_bucket *b = arg;
    for (int i = 0; i < 20000; i++) {
        if (!rs_token_bucket_try_acquire(b->plenty, 1 + (uint64_t)(i & 1))) {
            return (void *)1;
        }
        if (i % 4 == 0 && rs_token_bucket_try_acquire(b->dry, 1)) {
            return (void *)1;
        }
    }
    return NULL;
}

/* More threads than own counter shards, several rounds of threads that
 * come and go (their slots given back and taken again): every request is
 * counted exactly once. */
static void metrics_exact_under_threads(void **state)
{
    (void)state;
    counted_bucket b = { make(1e9, UINT64_C(1) << 33, NULL), make(1e-9, 1, NULL) };
    assert_true(rs_token_bucket_try_acquire(b.dry, 1));
    for (int round = 0; round < 3; round++) {
        rs_test_run_threads(8, grant_and_refuse, &b);
    }
    rs_token_bucket_snapshot m;
    assert_int_equal(rs_token_bucket_metrics(b.plenty, &m), RS_OK);
    assert_int_equal(m.granted, 3 * 8 * 20000);
    assert_int_equal(m.granted_tokens, 3 * 8 * 30000);
    assert_int_equal(m.refused, 0);
    assert_int_equal(rs_token_bucket_metrics(b.dry, &m), RS_OK);
    assert_int_equal(m.granted, 1);
    assert_int_equal(m.refused, 3 * 8 * 5000);
    rs_token_bucket_free(b.plenty);
    rs_token_bucket_free(b.dry);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_invalid_configs),
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test(starts_full_and_refills_exactly),
        cmocka_unit_test(fractional_rates_are_exact_or_rounded_up),
        cmocka_unit_test(zero_and_oversized_requests),
        cmocka_unit_test(null_arguments),
        cmocka_unit_test(system_clock_by_default),
        cmocka_unit_test(reserve_queues_callers),
        cmocka_unit_test(acquire_sleeps_on_the_bucket_clock),
        cmocka_unit_test(huge_bursts_keep_every_token),
        cmocka_unit_test(end_of_time_saturates),
        cmocka_unit_test(end_of_time_answers_agree),
        cmocka_unit_test(stale_instants_are_conservative),
        cmocka_unit_test(set_rate_keeps_consumed_tokens),
        cmocka_unit_test(matches_the_reference_model),
        cmocka_unit_test(allocation_failure_is_clean),
        cmocka_unit_test(metrics_count_every_request),
#if RS_TEST_THREADS
        cmocka_unit_test(metrics_exact_under_threads),
        cmocka_unit_test(racing_threads_get_exactly_the_tokens),
        cmocka_unit_test(concurrent_reservations_form_one_queue),
        cmocka_unit_test(real_clock_stress_stays_within_the_bound),
        cmocka_unit_test(real_clock_stress_with_rate_changes),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
