/* Backoff: validation, every jitter formula's range, reproducibility,
 * statistical means, saturation, allocation failure and shared use. */
#include "support/fault_alloc.h"
#include "support/testing.h"

#include <math.h>

#include "resilience/backoff.h"

#define MS UINT64_C(1000000)

static rs_backoff_config config(rs_jitter jitter, uint64_t base, uint64_t max, double mult,
                                uint64_t seed)
{
    rs_backoff_config c = RS_BACKOFF_CONFIG_DEFAULT;
    c.jitter = jitter;
    c.base_ns = base;
    c.max_ns = max;
    c.multiplier = mult;
    c.seed = seed;
    return c;
}

static rs_backoff *make(rs_backoff_config c)
{
    rs_backoff *b = NULL;
    assert_int_equal(rs_backoff_new(&c, &b), RS_OK);
    assert_non_null(b);
    return b;
}

/* The un-jittered exp(n) for a multiplier num / den, exactly: base *
 * num^k / den^k in integers, rounded to the nearest (halves up). False
 * when an intermediate does not fit in 64 bits. */
static bool exact_growth(uint64_t base, uint64_t num, uint64_t den, uint32_t k, uint64_t *out)
{
    uint64_t top = base, bottom = 1;
    for (uint32_t i = 0; i < k; i++) {
        if (__builtin_mul_overflow(top, num, &top) ||
            __builtin_mul_overflow(bottom, den, &bottom)) {
            return false;
        }
    }
    uint64_t rest = top % bottom;
    *out = top / bottom + (rest >= bottom - rest);
    return true;
}

static void rejects_invalid_configs(void **state)
{
    (void)state;
    rs_backoff *b = (rs_backoff *)0x1;
    const struct {
        rs_backoff_config cfg;
        const char *names; /* what rs_last_error() must say */
    } bad[] = {
        { config(RS_JITTER_FULL, 0, 100, 2.0, 1), "rs_backoff_config.base_ns: 0, must be > 0" },
        { config(RS_JITTER_FULL, 200, 100, 2.0, 1),
          "rs_backoff_config.max_ns: 100, must be >= base_ns (200)" },
        { config(RS_JITTER_FULL, 1, 100, 0.99, 1), "rs_backoff_config.multiplier: 0.99" },
        { config(RS_JITTER_FULL, 1, 100, -2.0, 1), "rs_backoff_config.multiplier: -2" },
        { config(RS_JITTER_FULL, 1, 100, NAN, 1), "rs_backoff_config.multiplier: " },
        { config(RS_JITTER_FULL, 1, 100, INFINITY, 1), "rs_backoff_config.multiplier: inf" },
        { config((rs_jitter)4, 1, 100, 2.0, 1), "rs_backoff_config.jitter: 4" },
        { config((rs_jitter)-1, 1, 100, 2.0, 1), "rs_backoff_config.jitter: -1" },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        RS_TEST_EXPECT_INVALID(rs_backoff_config_validate(&bad[i].cfg), bad[i].names);
        RS_TEST_EXPECT_INVALID(rs_backoff_new(&bad[i].cfg, &b), bad[i].names);
        assert_ptr_equal(b, (rs_backoff *)0x1); /* out untouched on error */
        /* The pure form refuses with 0 and says nothing. */
        assert_int_equal(rs_backoff_delay(&bad[i].cfg, 1, 0, 0), 0);
        assert_string_equal(rs_last_error(), "");
    }
    rs_backoff_config good = RS_BACKOFF_CONFIG_DEFAULT;
    RS_TEST_EXPECT_INVALID(rs_backoff_config_validate(NULL), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_backoff_new(NULL, &b), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_backoff_new(&good, NULL), "out: NULL");
    assert_int_equal(rs_backoff_config_validate(&good), RS_OK);
    good.base_ns = good.max_ns; /* base == max is allowed */
    assert_int_equal(rs_backoff_config_validate(&good), RS_OK);
}

static void check_documented_defaults(const rs_backoff_config *c)
{
    assert_int_equal(c->base_ns, 100 * MS);
    assert_int_equal(c->max_ns, 20000 * MS);
    assert_true(c->multiplier == 2.0);
    assert_int_equal(c->jitter, RS_JITTER_FULL);
    assert_int_equal(c->seed, 0);
}

/* The brace initializer works where a compound literal cannot: a static. */
static const rs_backoff_config static_defaults = RS_BACKOFF_CONFIG_INIT;

static void defaults_are_documented_values(void **state)
{
    (void)state;
    rs_backoff_config c = RS_BACKOFF_CONFIG_DEFAULT;
    check_documented_defaults(&c);
    check_documented_defaults(&static_defaults);
}

static void no_jitter_is_the_exact_exponential(void **state)
{
    (void)state;
    rs_backoff *b = make(config(RS_JITTER_NONE, 100, 1000, 2.0, 1));
    const uint64_t expected[] = { 100, 200, 400, 800, 1000, 1000, 1000 };
    for (uint32_t i = 0; i < RS_TEST_ARRAY_LEN(expected); i++) {
        assert_int_equal(rs_backoff_next(b, i + 1), expected[i]);
    }
    rs_backoff_free(b);

    b = make(config(RS_JITTER_NONE, 1000, 100000, 1.5, 1));
    for (uint32_t n = 1; n <= 20; n++) {
        uint64_t exact = 0;
        assert_true(exact_growth(1000, 3, 2, n - 1, &exact));
        assert_int_equal(rs_backoff_next(b, n), exact < 100000 ? exact : 100000);
    }
    rs_backoff_free(b);

    b = make(config(RS_JITTER_NONE, 7, 7, 1.0, 1));
    assert_int_equal(rs_backoff_next(b, 1), 7);
    assert_int_equal(rs_backoff_next(b, UINT32_MAX), 7);
    rs_backoff_free(b);
}

/* Issue 12 item 10: the un-jittered delay is base_ns * multiplier^(n-1)
 * rounded to the nearest ns whatever the base, also beyond 2^53 where a
 * double cannot hold it: the first delay is exactly base_ns, multipliers
 * that are ratios of small integers give the exact rounding, and no delay is
 * below base_ns or below the one before. */
static void no_jitter_is_exact_beyond_double_precision(void **state)
{
    (void)state;
    const uint64_t bases[] = { 1,
                               7,
                               999,
                               123456789,
                               (UINT64_C(1) << 53) - 1,
                               (UINT64_C(1) << 53) + 1,
                               (UINT64_C(1) << 55) + 1,
                               (UINT64_C(1) << 62) - 1, /* a double rounds it up */
                               (UINT64_C(1) << 63) + 1023, /* a double rounds it down */
                               UINT64_MAX - 1 };
    const double multipliers[] = { 1.0, 1.0000001, 1.01, 1.1, 1.25, 1.5, 1.75, 1.9999999,
                                   2.0, 2.5, 3.0, 10.0, 1e10 };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bases); i++) {
        for (size_t j = 0; j < RS_TEST_ARRAY_LEN(multipliers); j++) {
            rs_backoff_config c = config(RS_JITTER_NONE, bases[i], UINT64_MAX, multipliers[j], 1);
            uint64_t previous = rs_backoff_delay(&c, 1, 0, 0);
            assert_int_equal(previous, bases[i]);
            for (uint32_t n = 2; n <= 200; n++) {
                uint64_t d = rs_backoff_delay(&c, n, 0, 0);
                assert_true(d >= previous);
                previous = d;
            }
            assert_int_equal(rs_backoff_delay(&c, UINT32_MAX, 0, 0),
                             multipliers[j] == 1.0 ? bases[i] : UINT64_MAX);
        }
    }
    /* Multipliers num / den: every delay that fits the exact reference. */
    const uint64_t ratios[][2] = { { 3, 2 }, { 5, 4 }, { 7, 4 }, { 5, 2 }, { 3, 1 }, { 10, 1 } };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bases); i++) {
        for (size_t j = 0; j < RS_TEST_ARRAY_LEN(ratios); j++) {
            double m = (double)ratios[j][0] / (double)ratios[j][1];
            rs_backoff_config c = config(RS_JITTER_NONE, bases[i], UINT64_MAX, m, 1);
            uint64_t expected;
            for (uint32_t k = 0; exact_growth(bases[i], ratios[j][0], ratios[j][1], k, &expected);
                 k++) {
                assert_int_equal(rs_backoff_delay(&c, k + 1, 0, 0), expected);
            }
        }
    }
}

static void attempt_zero_and_null_give_zero(void **state)
{
    (void)state;
    rs_backoff *b = make(config(RS_JITTER_NONE, 100, 1000, 2.0, 1));
    assert_int_equal(rs_backoff_next(b, 0), 0);
    assert_int_equal(rs_backoff_next(NULL, 3), 0);
    rs_backoff_reset(NULL);
    rs_backoff_free(NULL);
    rs_backoff_free(b);
}

/* Each mode's delays stay within its formula's range for many seeds and
 * attempts, including attempts far past the cap. */
static void every_delay_is_within_its_formula(void **state)
{
    (void)state;
    const uint64_t base = 3 * MS, max = 10000 * MS;
    const double mults[] = { 1.0, 1.75, 2.0, 3.0 };
    const uint64_t ratios[][2] = { { 1, 1 }, { 7, 4 }, { 2, 1 }, { 3, 1 } };
    for (size_t m = 0; m < RS_TEST_ARRAY_LEN(mults); m++) {
        for (uint64_t seed = 1; seed <= 20; seed++) {
            rs_backoff *full = make(config(RS_JITTER_FULL, base, max, mults[m], seed));
            rs_backoff *equal = make(config(RS_JITTER_EQUAL, base, max, mults[m], seed));
            rs_backoff *decor = make(config(RS_JITTER_DECORRELATED, base, max, mults[m], seed));
            uint64_t prev = base;
            for (uint32_t n = 1; n <= 40; n++) {
                rs_backoff_config plain = config(RS_JITTER_NONE, base, max, mults[m], seed);
                uint64_t e = rs_backoff_delay(&plain, n, 0, 0);
                uint64_t r = max; /* past 64 bits, long past the cap */
                if (exact_growth(base, ratios[m][0], ratios[m][1], n - 1, &r) && r > max) {
                    r = max;
                }
                assert_int_equal(e, r);
                uint64_t f = rs_backoff_next(full, n);
                uint64_t q = rs_backoff_next(equal, n);
                uint64_t d = rs_backoff_next(decor, n);
                assert_true(f <= e);
                assert_true(q >= e - e / 2 && q <= e);
                uint64_t hi = prev * 3 < max ? prev * 3 : max;
                assert_true(d >= base && d <= hi);
                prev = d;
            }
            rs_backoff_free(full);
            rs_backoff_free(equal);
            rs_backoff_free(decor);
        }
    }
}

static void decorrelated_never_leaves_base_to_cap(void **state)
{
    (void)state;
    rs_backoff *b = make(config(RS_JITTER_DECORRELATED, 50, 5000, 2.0, 42));
    uint64_t lowest = UINT64_MAX, highest = 0;
    for (uint32_t i = 0; i < 200000; i++) {
        uint64_t d = rs_backoff_next(b, 2 + i % 50);
        assert_true(d >= 50 && d <= 5000);
        lowest = d < lowest ? d : lowest;
        highest = d > highest ? d : highest;
    }
    /* It actually explores the range rather than sticking to one end. */
    assert_true(lowest < 60);
    assert_true(highest == 5000);
    rs_backoff_free(b);
}

static void fixed_seed_reproduces_the_sequence(void **state)
{
    (void)state;
    const rs_jitter modes[] = { RS_JITTER_FULL, RS_JITTER_EQUAL, RS_JITTER_DECORRELATED };
    for (size_t m = 0; m < RS_TEST_ARRAY_LEN(modes); m++) {
        rs_backoff *a = make(config(modes[m], MS, 60000 * MS, 2.0, 1234));
        rs_backoff *b = make(config(modes[m], MS, 60000 * MS, 2.0, 1234));
        rs_backoff *c = make(config(modes[m], MS, 60000 * MS, 2.0, 4321));
        int differences = 0;
        for (uint32_t n = 1; n <= 64; n++) {
            uint64_t x = rs_backoff_next(a, n);
            assert_int_equal(x, rs_backoff_next(b, n));
            differences += x != rs_backoff_next(c, n);
        }
        assert_true(differences > 32);
        rs_backoff_free(a);
        rs_backoff_free(b);
        rs_backoff_free(c);
    }
}

static double mean_of(rs_backoff *b, uint32_t attempt, int samples)
{
    double sum = 0;
    for (int i = 0; i < samples; i++) {
        sum += (double)rs_backoff_next(b, attempt);
    }
    return sum / samples;
}

/* Over 100,000 samples each mode's mean is within 2% of its theory. */
static void means_match_theory(void **state)
{
    (void)state;
    const int samples = 100000;
    const uint64_t base = 10 * MS, max = 100000 * MS;
    const uint32_t attempt = 5; /* exp = 160 ms, well under the cap */
    const double e = 160.0 * MS;

    rs_backoff *none = make(config(RS_JITTER_NONE, base, max, 2.0, 7));
    rs_backoff *full = make(config(RS_JITTER_FULL, base, max, 2.0, 7));
    rs_backoff *equal = make(config(RS_JITTER_EQUAL, base, max, 2.0, 7));
    rs_backoff *decor = make(config(RS_JITTER_DECORRELATED, base, max, 2.0, 7));

    assert_true(fabs(mean_of(none, attempt, samples) / e - 1.0) < 1e-12);
    assert_true(fabs(mean_of(full, attempt, samples) / (e / 2) - 1.0) < 0.02);
    assert_true(fabs(mean_of(equal, attempt, samples) / (e * 3 / 4) - 1.0) < 0.02);
    /* Attempt 1 of decorrelated draws from [base, 3*base]: mean 2*base. */
    assert_true(fabs(mean_of(decor, 1, samples) / (2.0 * (double)base) - 1.0) < 0.02);

    rs_backoff_free(none);
    rs_backoff_free(full);
    rs_backoff_free(equal);
    rs_backoff_free(decor);
}

/* Attempt numbers up to UINT32_MAX and extreme configs never overflow. */
static void huge_attempts_saturate_at_the_cap(void **state)
{
    (void)state;
    const uint32_t attempts[] = { 63, 64, 65, 1000, UINT32_MAX - 1, UINT32_MAX };
    const double mults[] = { 1.0000001, 2.0, 10.0, 1e300 };
    for (size_t m = 0; m < RS_TEST_ARRAY_LEN(mults); m++) {
        rs_backoff *none = make(config(RS_JITTER_NONE, 1, UINT64_MAX, mults[m], 3));
        rs_backoff *equal = make(config(RS_JITTER_EQUAL, 5, 1000, mults[m], 3));
        rs_backoff *decor = make(config(RS_JITTER_DECORRELATED, UINT64_MAX / 2, UINT64_MAX,
                                        mults[m], 3));
        for (size_t i = 0; i < RS_TEST_ARRAY_LEN(attempts); i++) {
            uint64_t d = rs_backoff_next(none, attempts[i]);
            if (mults[m] >= 2.0 && attempts[i] > 65) {
                assert_int_equal(d, UINT64_MAX);
            }
            if (mults[m] == 2.0 && attempts[i] <= 64) {
                assert_int_equal(d, UINT64_C(1) << (attempts[i] - 1));
            }
            assert_true(d >= 1);
            uint64_t q = rs_backoff_next(equal, attempts[i]);
            assert_true(q >= 3 && q <= 1000);
            if (mults[m] >= 2.0) {
                assert_true(q >= 500);
            }
            uint64_t r = rs_backoff_next(decor, attempts[i]);
            assert_true(r >= UINT64_MAX / 2);
        }
        rs_backoff_free(none);
        rs_backoff_free(equal);
        rs_backoff_free(decor);
    }
    rs_backoff_config top = config(RS_JITTER_FULL, UINT64_MAX, UINT64_MAX, 2.0, 9);
    assert_int_equal(rs_backoff_delay(&top, UINT32_MAX, 0, UINT64_MAX), UINT64_MAX);
    assert_int_equal(rs_backoff_delay(&top, UINT32_MAX, 0, 0), 0);
}

static void reset_and_first_attempt_restart_decorrelated(void **state)
{
    (void)state;
    const uint64_t base = 1000;
    rs_backoff *b = make(config(RS_JITTER_DECORRELATED, base, UINT64_MAX / 4, 2.0, 99));
    for (int round = 0; round < 50; round++) {
        uint64_t d = 0;
        for (uint32_t n = 2; n < 60; n++) {
            d = rs_backoff_next(b, n);
        }
        assert_true(d > 3 * base); /* it grew */
        rs_backoff_reset(b);
        assert_true(rs_backoff_next(b, 2) <= 3 * base);
        for (uint32_t n = 2; n < 60; n++) {
            d = rs_backoff_next(b, n);
        }
        assert_true(rs_backoff_next(b, 1) <= 3 * base);
    }
    rs_backoff_free(b);
}

static void stateless_delay_hits_both_ends(void **state)
{
    (void)state;
    rs_backoff_config full = config(RS_JITTER_FULL, 100, 100000, 2.0, 1);
    rs_backoff_config equal = config(RS_JITTER_EQUAL, 100, 100000, 2.0, 1);
    rs_backoff_config decor = config(RS_JITTER_DECORRELATED, 100, 100000, 2.0, 1);
    assert_int_equal(rs_backoff_delay(&full, 3, 0, 0), 0);
    assert_int_equal(rs_backoff_delay(&full, 3, 0, UINT64_MAX), 400);
    assert_int_equal(rs_backoff_delay(&equal, 3, 0, 0), 200);
    assert_int_equal(rs_backoff_delay(&equal, 3, 0, UINT64_MAX), 400);
    assert_int_equal(rs_backoff_delay(&decor, 3, 0, 0), 100);
    assert_int_equal(rs_backoff_delay(&decor, 3, 0, UINT64_MAX), 300);
    assert_int_equal(rs_backoff_delay(&decor, 3, 10000, UINT64_MAX), 30000);
    assert_int_equal(rs_backoff_delay(&decor, 3, 90000, UINT64_MAX), 100000);
    assert_int_equal(rs_backoff_delay(&decor, 0, 90000, UINT64_MAX), 0);
    assert_int_equal(rs_backoff_delay(&decor, 3, 10000, 1u << 31),
                     rs_backoff_delay(&decor, 3, 10000, 1u << 31));
}

static int create_backoff(void *ctx, void **object)
{
    (void)ctx;
    rs_backoff_config c = RS_BACKOFF_CONFIG_DEFAULT;
    c.seed = 5;
    return rs_backoff_new(&c, (rs_backoff **)object);
}

static void destroy_backoff(void *object) { rs_backoff_free(object); }

static void allocation_failure_is_clean(void **state)
{
    (void)state;
    assert_true(fault_alloc_sweep(create_backoff, destroy_backoff, NULL) >= 1);
}

#if RS_TEST_THREADS
static rs_backoff *shared;

static void *hammer_shared(void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < 20000; i++) {
        uint64_t d = rs_backoff_next(shared, 1 + i % 30);
        if (d < 10 || d > 100000) {
            return (void *)1;
        }
    }
    return NULL;
}

/* One generator shared by threads stays in range (and is race-free under
 * TSan). */
static void shared_between_threads(void **state)
{
    (void)state;
    shared = make(config(RS_JITTER_DECORRELATED, 10, 100000, 2.0, 11));
    rs_test_run_threads(4, hammer_shared, NULL);
    for (uint32_t n = 1; n < 100; n++) {
        uint64_t d = rs_backoff_next(shared, n);
        assert_true(d >= 10 && d <= 100000);
    }
    rs_backoff_free(shared);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_invalid_configs),
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test(no_jitter_is_the_exact_exponential),
        cmocka_unit_test(no_jitter_is_exact_beyond_double_precision),
        cmocka_unit_test(attempt_zero_and_null_give_zero),
        cmocka_unit_test(every_delay_is_within_its_formula),
        cmocka_unit_test(decorrelated_never_leaves_base_to_cap),
        cmocka_unit_test(fixed_seed_reproduces_the_sequence),
        cmocka_unit_test(means_match_theory),
        cmocka_unit_test(huge_attempts_saturate_at_the_cap),
        cmocka_unit_test(reset_and_first_attempt_restart_decorrelated),
        cmocka_unit_test(stateless_delay_hits_both_ends),
        cmocka_unit_test(allocation_failure_is_clean),
#if RS_TEST_THREADS
        cmocka_unit_test(shared_between_threads),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
