/* Sliding-window limiter: validation, exact window boundaries, wait_ns and
 * count, reference models for both kinds on random sequences, the counter's
 * worst-case over-admission, allocation failure, and concurrency. */
#include "support/fault_alloc.h"
#include "support/spans.h"
#include "support/testing.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/limiter.h"
#include "resilience/sliding_window.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

static rs_sliding_window *make(rs_window_kind kind, uint64_t limit, uint64_t window_ns,
                               rs_manual_clock *clock)
{
    rs_sliding_window_config c = RS_SLIDING_WINDOW_CONFIG_DEFAULT;
    c.kind = kind;
    c.limit = limit;
    c.window_ns = window_ns;
    rs_sliding_window *w = NULL;
    assert_int_equal(rs_sliding_window_new(&c, clock ? rs_manual_clock_get(clock) : NULL, &w),
                     RS_OK);
    assert_non_null(w);
    return w;
}

static const rs_window_kind kinds[] = { RS_WINDOW_LOG, RS_WINDOW_COUNTER };

static void rejects_invalid_configs(void **state)
{
    (void)state;
    rs_sliding_window *w = (rs_sliding_window *)0x1;
    const struct {
        rs_sliding_window_config cfg;
        const char *names; /* what rs_last_error() must say */
    } bad[] = {
        { { 0, SEC, RS_WINDOW_LOG }, "rs_sliding_window_config.limit: 0, must be >= 1" },
        { { 0, SEC, RS_WINDOW_COUNTER }, "rs_sliding_window_config.limit: 0" },
        { { 10, 0, RS_WINDOW_LOG }, "rs_sliding_window_config.window_ns: 0, must be >= 1" },
        { { 10, 0, RS_WINDOW_COUNTER }, "rs_sliding_window_config.window_ns: 0" },
        { { 10, SEC, (rs_window_kind)2 }, "rs_sliding_window_config.kind: 2" },
        { { 10, SEC, (rs_window_kind)-1 }, "rs_sliding_window_config.kind: -1" },
        { { RS_SLIDING_WINDOW_LOG_MAX_LIMIT + 1, SEC, RS_WINDOW_LOG },
          "rs_sliding_window_config.limit: 1048577, must be <= 1048576 for RS_WINDOW_LOG" },
        { { UINT64_MAX, SEC, RS_WINDOW_LOG },
          "rs_sliding_window_config.limit: 18446744073709551615" },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        RS_TEST_EXPECT_INVALID(rs_sliding_window_config_validate(&bad[i].cfg), bad[i].names);
        RS_TEST_EXPECT_INVALID(rs_sliding_window_new(&bad[i].cfg, NULL, &w), bad[i].names);
        assert_ptr_equal(w, (rs_sliding_window *)0x1); /* out untouched on error */
    }
    rs_sliding_window_config good = RS_SLIDING_WINDOW_CONFIG_DEFAULT;
    RS_TEST_EXPECT_INVALID(rs_sliding_window_config_validate(NULL), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_sliding_window_new(NULL, NULL, &w), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_sliding_window_new(&good, NULL, NULL), "out: NULL");
    const rs_sliding_window_config edges[] = {
        { 1, 1, RS_WINDOW_LOG },
        { RS_SLIDING_WINDOW_LOG_MAX_LIMIT, UINT64_MAX, RS_WINDOW_LOG },
        { UINT64_MAX, UINT64_MAX, RS_WINDOW_COUNTER },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(edges); i++) {
        assert_int_equal(rs_sliding_window_config_validate(&edges[i]), RS_OK);
        assert_int_equal(rs_sliding_window_new(&edges[i], NULL, &w), RS_OK);
        rs_sliding_window_free(w);
    }
}

static void check_documented_defaults(const rs_sliding_window_config *c)
{
    assert_int_equal(c->limit, 100);
    assert_int_equal(c->window_ns, SEC);
    assert_int_equal(c->kind, RS_WINDOW_LOG);
}

/* The brace initializer works where a compound literal cannot: a static. */
static const rs_sliding_window_config static_defaults = RS_SLIDING_WINDOW_CONFIG_INIT;

static void defaults_are_documented_values(void **state)
{
    (void)state;
    rs_sliding_window_config c = RS_SLIDING_WINDOW_CONFIG_DEFAULT;
    check_documented_defaults(&c);
    check_documented_defaults(&static_defaults);
}

/* Issue 12 item 9: near the end of 64-bit time a full window said "wait 0"
 * (its refill instant saturated at UINT64_MAX) while try_acquire refused.
 * Every wait now agrees with the grant decision: 0 exactly when admitted,
 * UINT64_MAX when not before the end of time, otherwise admitted at
 * now + wait and not at now + wait - 1. */
static void end_of_time_waits_agree_with_admission(void **state)
{
    (void)state;
    const uint64_t windows[] = { 7, 100, 1000 };
    const uint64_t starts[] = { 0, 1, 3, 49, 99, 100, 150, 999, 1500 };
    const uint64_t probes[] = { 0, 1, 2, 6, 7, 50, 99, 100, 101, 999, 1000, 1001, 2000 };
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        for (size_t i = 0; i < RS_TEST_ARRAY_LEN(windows); i++) {
            for (size_t j = 0; j < RS_TEST_ARRAY_LEN(starts); j++) {
                for (size_t p = 0; p < RS_TEST_ARRAY_LEN(probes); p++) {
                    /* Full at UINT64_MAX - starts[j], asked again
                     * probes[p] ns later (never past the end). */
                    const uint64_t first = UINT64_MAX - starts[j];
                    if (probes[p] > starts[j]) {
                        continue;
                    }
                    const uint64_t now = first + probes[p];
                    rs_sliding_window *w = make(kinds[k], 2, windows[i], NULL);
                    assert_true(rs_sliding_window_try_acquire_at(w, 2, first));
                    uint64_t wait = rs_sliding_window_wait_ns_at(w, 1, now);
                    rs_limiter l = rs_sliding_window_limiter(w);
                    uint64_t limiter_wait = 0;
                    int status = rs_limiter_acquire(&l, 1, 0, now, &limiter_wait);
                    assert_int_equal(status, wait == 0 ? RS_OK : RS_E_LIMITED);
                    assert_int_equal(limiter_wait, wait);
                    if (wait == UINT64_MAX) {
                        assert_false(rs_sliding_window_try_acquire_at(w, 1, UINT64_MAX));
                    }
                    if (wait == 0 || wait == UINT64_MAX) {
                        rs_sliding_window_free(w);
                        continue;
                    }
                    /* A real wait ends within 64-bit time, and is exact. */
                    assert_true(wait <= UINT64_MAX - now);
                    assert_false(rs_sliding_window_try_acquire_at(w, 1, now + wait - 1));
                    assert_true(rs_sliding_window_try_acquire_at(w, 1, now + wait));
                    rs_sliding_window_free(w);
                }
            }
        }
    }
    /* The reported case: full at UINT64_MAX - 50, asked at UINT64_MAX. */
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        rs_sliding_window *w = make(kinds[k], 2, 100, NULL);
        assert_true(rs_sliding_window_try_acquire_at(w, 2, UINT64_MAX - 50));
        assert_false(rs_sliding_window_try_acquire_at(w, 1, UINT64_MAX));
        assert_int_equal(rs_sliding_window_wait_ns_at(w, 1, UINT64_MAX), UINT64_MAX);
        rs_sliding_window_free(w);
    }
}

static void null_zero_and_oversized(void **state)
{
    (void)state;
    assert_false(rs_sliding_window_try_acquire(NULL, 1));
    assert_false(rs_sliding_window_try_acquire(NULL, 0));
    assert_false(rs_sliding_window_try_acquire_at(NULL, 1, 0));
    assert_int_equal(rs_sliding_window_wait_ns(NULL, 1), UINT64_MAX);
    assert_int_equal(rs_sliding_window_wait_ns_at(NULL, 0, 0), UINT64_MAX);
    assert_int_equal(rs_sliding_window_count(NULL), 0);
    assert_int_equal(rs_sliding_window_count_at(NULL, 0), 0);
    rs_sliding_window_free(NULL);
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        rs_manual_clock clock;
        rs_manual_clock_init(&clock, 0);
        rs_sliding_window *w = make(kinds[k], 3, SEC, &clock);
        assert_true(rs_sliding_window_try_acquire(w, 3));
        /* n = 0 always succeeds and records nothing; n > limit never. */
        assert_true(rs_sliding_window_try_acquire(w, 0));
        assert_true(rs_sliding_window_try_acquire_at(w, 0, 0));
        assert_int_equal(rs_sliding_window_wait_ns(w, 0), 0);
        assert_int_equal(rs_sliding_window_count(w), 3);
        rs_manual_clock_advance(&clock, 10 * SEC);
        assert_false(rs_sliding_window_try_acquire(w, 4));
        assert_false(rs_sliding_window_try_acquire_at(w, UINT64_MAX, 10 * SEC));
        assert_int_equal(rs_sliding_window_wait_ns(w, 4), UINT64_MAX);
        assert_int_equal(rs_sliding_window_wait_ns_at(w, UINT64_MAX, 10 * SEC), UINT64_MAX);
        assert_int_equal(rs_sliding_window_count(w), 0);
        rs_sliding_window_free(w);
    }
}

/* An admission counts for exactly window_ns: (now - window, now]. */
static void log_window_boundaries_are_exact(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 500 * SEC);
    rs_sliding_window *w = make(RS_WINDOW_LOG, 3, SEC, &clock);
    const uint64_t t0 = 500 * SEC;
    assert_true(rs_sliding_window_try_acquire(w, 1));            /* t0 */
    assert_true(rs_sliding_window_try_acquire_at(w, 2, t0 + 10)); /* t0 + 10 */
    assert_false(rs_sliding_window_try_acquire_at(w, 1, t0 + 20));
    assert_int_equal(rs_sliding_window_count_at(w, t0 + 20), 3);
    assert_int_equal(rs_sliding_window_wait_ns_at(w, 1, t0 + 20), SEC - 20);
    assert_int_equal(rs_sliding_window_wait_ns_at(w, 2, t0 + 20), SEC - 10);
    assert_int_equal(rs_sliding_window_wait_ns_at(w, 3, t0 + 20), SEC - 10);
    assert_false(rs_sliding_window_try_acquire_at(w, 1, t0 + SEC - 1));
    assert_int_equal(rs_sliding_window_count_at(w, t0 + SEC - 1), 3);
    assert_int_equal(rs_sliding_window_count_at(w, t0 + SEC), 2);
    assert_false(rs_sliding_window_try_acquire_at(w, 2, t0 + SEC));
    assert_true(rs_sliding_window_try_acquire_at(w, 1, t0 + SEC));
    assert_false(rs_sliding_window_try_acquire_at(w, 1, t0 + SEC + 9));
    assert_true(rs_sliding_window_try_acquire_at(w, 2, t0 + SEC + 10));
    assert_int_equal(rs_sliding_window_count_at(w, t0 + SEC + 10), 3);
    /* A long pause empties it. */
    rs_manual_clock_advance(&clock, 100 * SEC);
    assert_int_equal(rs_sliding_window_count(w), 0);
    assert_int_equal(rs_sliding_window_wait_ns(w, 3), 0);
    assert_true(rs_sliding_window_try_acquire(w, 3));
    rs_sliding_window_free(w);
}

/* wait_ns is exact for both kinds: admitted at now + wait, refused one ns
 * before. */
static void wait_ns_is_exact(void **state)
{
    (void)state;
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        for (uint64_t seed = 1; seed <= 40; seed++) {
            uint64_t rng = seed;
            uint64_t limit = 1 + rs_test_random(&rng) % 8, window = 1 + rs_test_random(&rng) % 5000;
            rs_sliding_window *w = make(kinds[k], limit, window, NULL);
            uint64_t now = rs_test_random(&rng) % (1000 * window);
            for (int step = 0; step < 400; step++) {
                now += rs_test_random(&rng) % (window / 2 + 1);
                (void)rs_sliding_window_try_acquire_at(w, 1 + rs_test_random(&rng) % limit, now);
                uint64_t n = 1 + rs_test_random(&rng) % limit;
                uint64_t wait = rs_sliding_window_wait_ns_at(w, n, now);
                assert_true(wait <= 2 * window);
                if (wait > 0) {
                    assert_false(rs_sliding_window_try_acquire_at(w, n, now + wait - 1));
                    now += wait - 1;
                }
                now++;
                assert_int_equal(rs_sliding_window_wait_ns_at(w, n, now), 0);
            }
            rs_sliding_window_free(w);
        }
    }
}

/* An instant older than the latest seen counts as the latest. */
static void time_never_runs_backwards(void **state)
{
    (void)state;
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        rs_sliding_window *w = make(kinds[k], 2, 1000, NULL);
        assert_true(rs_sliding_window_try_acquire_at(w, 2, 10000));
        assert_int_equal(rs_sliding_window_count_at(w, 12000), 0);
        /* 10500 would still see the two admissions; it counts as 12000. */
        assert_int_equal(rs_sliding_window_count_at(w, 10500), 0);
        assert_true(rs_sliding_window_try_acquire_at(w, 2, 10500));
        assert_int_equal(rs_sliding_window_count_at(w, 12000), 2);
        assert_false(rs_sliding_window_try_acquire_at(w, 1, 0));
        /* The wait is measured from the instant given. */
        assert_int_equal(rs_sliding_window_wait_ns_at(w, 1, 11000),
                         rs_sliding_window_wait_ns_at(w, 1, 12000) + 1000);
        rs_sliding_window_free(w);
    }
}

/* The system clock is the default. */
static void system_clock_by_default(void **state)
{
    (void)state;
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        rs_sliding_window *w = make(kinds[k], 2, 3600 * SEC, NULL);
        assert_true(rs_sliding_window_try_acquire(w, 2));
        assert_false(rs_sliding_window_try_acquire(w, 1));
        assert_int_equal(rs_sliding_window_count(w), 2);
        uint64_t wait = rs_sliding_window_wait_ns(w, 1);
        assert_true(wait > 0 && wait <= 2 * 3600 * SEC);
        rs_sliding_window_free(w);
    }
}

/* ---- reference models ------------------------------------------------------ */

typedef struct admission {
    uint64_t at;
    uint64_t n;
} admission;

typedef struct history {
    admission *items;
    size_t len;
} history;

static void record(history *h, uint64_t at, uint64_t n)
{
    h->items[h->len++] = (admission){ at, n };
}

/* The admissions (in time order) that may still be in the window at now or
 * later: everything from the first one less than a window old. */
static size_t log_model_first_live(const history *h, uint64_t window, uint64_t now)
{
    size_t first = h->len;
    while (first > 0 && now - h->items[first - 1].at < window) {
        first--;
    }
    return first;
}

/* Units admitted in (now - window, now], by counting them. */
static uint64_t log_model_count(const history *h, uint64_t window, uint64_t now)
{
    uint64_t count = 0;
    for (size_t i = log_model_first_live(h, window, now); i < h->len; i++) {
        if (h->items[i].at <= now && now - h->items[i].at < window) {
            count += h->items[i].n;
        }
    }
    return count;
}

/* The first instant >= now with room for n: the room can only appear when an
 * admission leaves the window, so try those instants in order. */
static uint64_t log_model_wait(const history *h, uint64_t limit, uint64_t window, uint64_t n,
                               uint64_t now)
{
    if (log_model_count(h, window, now) + n <= limit) {
        return 0;
    }
    for (size_t i = log_model_first_live(h, window, now); i < h->len; i++) {
        uint64_t leaves = h->items[i].at + window;
        if (leaves > now && log_model_count(h, window, leaves) + n <= limit) {
            return leaves - now;
        }
    }
    fail_msg("no room ever");
    return 0;
}

/* In every window of length `window`, at most `bound` units: the windows
 * that start at an admission are the fullest. */
static uint64_t max_in_any_window(const history *h, uint64_t window)
{
    uint64_t most = 0;
    for (size_t i = 0; i < h->len; i++) {
        uint64_t sum = 0;
        for (size_t j = i; j < h->len && h->items[j].at - h->items[i].at < window; j++) {
            sum += h->items[j].n;
        }
        most = sum > most ? sum : most;
    }
    return most;
}

/* Seeded random (advance, acquire n) sequences against the plain count of
 * every past admission: the log admits exactly when the model has room,
 * waits exactly as long, and never exceeds the limit in any window. */
static void log_matches_the_reference_model(void **state)
{
    (void)state;
    static admission items[4000];
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint64_t rng = seed * 7919;
        uint64_t limit = 1 + rs_test_random(&rng) % 12, window = 1 + rs_test_random(&rng) % 10000;
        history h = { items, 0 };
        rs_manual_clock clock;
        rs_manual_clock_init(&clock, rs_test_random(&rng) % (100 * window));
        rs_sliding_window *w = make(RS_WINDOW_LOG, limit, window, &clock);
        for (int step = 0; step < 4000; step++) {
            switch (rs_test_random(&rng) % 4) {
            case 0:
                break;
            case 1:
                rs_manual_clock_advance(&clock, rs_test_random(&rng) % 4);
                break;
            case 2:
                rs_manual_clock_advance(&clock, rs_test_random(&rng) % (window / 4 + 1));
                break;
            default:
                rs_manual_clock_advance(&clock, rs_test_random(&rng) % (2 * window));
            }
            uint64_t now = rs_manual_clock_now(&clock);
            uint64_t n = 1 + rs_test_random(&rng) % (limit + 1);
            bool room = n <= limit && log_model_count(&h, window, now) + n <= limit;
            bool explicit_time = rs_test_random(&rng) & 1;
            if (n <= limit) {
                assert_int_equal(rs_sliding_window_wait_ns_at(w, n, now),
                                 log_model_wait(&h, limit, window, n, now));
            }
            bool got = explicit_time ? rs_sliding_window_try_acquire_at(w, n, now)
                                     : rs_sliding_window_try_acquire(w, n);
            assert_int_equal(got, room);
            if (got) {
                record(&h, now, n);
            }
            assert_int_equal(rs_sliding_window_count(w), log_model_count(&h, window, now));
        }
        assert_true(max_in_any_window(&h, window) <= limit);
        assert_true(h.len > 100); /* the sequence did admit things */
        rs_sliding_window_free(w);
    }
}

/* The counter's model: a count for every fixed window ever, and the
 * estimate computed from scratch. Its limits and windows are small enough
 * (limit <= 50, window <= 3000 ns) for every product to fit in 64 bits. */
typedef struct counter_model {
    uint64_t limit, window;
    uint64_t base;       /* first fixed window index */
    uint64_t counts[4096];
} counter_model;

static uint64_t *count_of(counter_model *m, uint64_t index)
{
    static uint64_t zero;
    zero = 0;
    return index < m->base ? &zero : &m->counts[index - m->base];
}

static bool counter_model_fits(counter_model *m, uint64_t n, uint64_t now)
{
    uint64_t k = now / m->window, elapsed = now % m->window;
    uint64_t estimate = *count_of(m, k - 1) * (m->window - elapsed) +
                        (*count_of(m, k) + n) * m->window;
    return estimate <= m->limit * m->window;
}

/* The first instant with room, by bisection: room only grows with time when
 * nothing is admitted, and it is certain two windows later. */
static uint64_t counter_model_wait(counter_model *m, uint64_t n, uint64_t now)
{
    uint64_t lo = 0, hi = 2 * m->window;
    assert_true(counter_model_fits(m, n, now + hi));
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (counter_model_fits(m, n, now + mid)) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

static uint64_t counter_model_count(counter_model *m, uint64_t now)
{
    uint64_t k = now / m->window, elapsed = now % m->window;
    uint64_t weighted = *count_of(m, k - 1) * (m->window - elapsed);
    return (weighted + m->window - 1) / m->window + *count_of(m, k);
}

static void counter_matches_the_reference_model(void **state)
{
    (void)state;
    static counter_model m;
    static admission items[6000];
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint64_t rng = seed * 104729;
        m.limit = 1 + rs_test_random(&rng) % 50;
        m.window = 1 + rs_test_random(&rng) % 3000;
        memset(m.counts, 0, sizeof m.counts);
        history h = { items, 0 };
        uint64_t start = m.window * (1 + rs_test_random(&rng) % 50);
        start += rs_test_random(&rng) % m.window;
        m.base = start / m.window;
        rs_manual_clock clock;
        rs_manual_clock_init(&clock, start);
        rs_sliding_window *w = make(RS_WINDOW_COUNTER, m.limit, m.window, &clock);
        for (int step = 0; step < 6000; step++) {
            uint64_t limit_of_time = (m.base + 4000) * m.window;
            uint64_t advance = rs_test_random(&rng) % 3 == 0 ? rs_test_random(&rng) % (3 * m.window)
                                                       : rs_test_random(&rng) % (m.window / 8 + 2);
            if (rs_manual_clock_now(&clock) + advance >= limit_of_time) {
                break;
            }
            rs_manual_clock_advance(&clock, advance);
            uint64_t now = rs_manual_clock_now(&clock);
            uint64_t n = 1 + rs_test_random(&rng) % (m.limit / 4 + 1);
            assert_int_equal(rs_sliding_window_wait_ns_at(w, n, now),
                             counter_model_wait(&m, n, now));
            bool room = counter_model_fits(&m, n, now);
            bool got = rs_test_random(&rng) & 1 ? rs_sliding_window_try_acquire_at(w, n, now)
                                          : rs_sliding_window_try_acquire(w, n);
            assert_int_equal(got, room);
            if (got) {
                *count_of(&m, now / m.window) += n;
                record(&h, now, n);
            }
            assert_int_equal(rs_sliding_window_count(w), counter_model_count(&m, now));
        }
        /* The documented bounds: every fixed window within the limit, any
         * sliding window below twice the limit. */
        for (size_t i = 0; i < RS_TEST_ARRAY_LEN(m.counts); i++) {
            assert_true(m.counts[i] <= m.limit);
        }
        assert_true(max_in_any_window(&h, m.window) <= 2 * m.limit - 1);
        assert_true(h.len > 100);
        rs_sliding_window_free(w);
    }
}

/* The worst case is reachable: a full burst at the very end of one fixed
 * window, then admitting whenever the estimate allows through the next,
 * puts 2 * limit - 1 in one sliding window; the exact log never does. */
static void counter_worst_case_over_admission(void **state)
{
    (void)state;
    const uint64_t limit = 100, window = 1000;
    static admission items[400];
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        rs_sliding_window *w = make(kinds[k], limit, window, NULL);
        history h = { items, 0 };
        const uint64_t burst_at = 10 * window - 1; /* last ns of fixed window 9 */
        assert_true(rs_sliding_window_try_acquire_at(w, limit, burst_at));
        record(&h, burst_at, limit);
        for (uint64_t t = burst_at + 1; t < burst_at + window; t++) {
            if (rs_sliding_window_try_acquire_at(w, 1, t)) {
                record(&h, t, 1);
            }
        }
        uint64_t most = max_in_any_window(&h, window);
        if (kinds[k] == RS_WINDOW_COUNTER) {
            assert_int_equal(most, 2 * limit - 1);
        } else {
            assert_int_equal(most, limit);
        }
        rs_sliding_window_free(w);
    }
}

/* A limit of UINT64_MAX units in the counter: no overflow anywhere. */
static void counter_handles_the_largest_limit(void **state)
{
    (void)state;
    rs_sliding_window *w = make(RS_WINDOW_COUNTER, UINT64_MAX, 1000, NULL);
    assert_true(rs_sliding_window_try_acquire_at(w, UINT64_MAX, 5000));
    assert_false(rs_sliding_window_try_acquire_at(w, 1, 5000));
    assert_int_equal(rs_sliding_window_count_at(w, 5000), UINT64_MAX);
    /* Next window: the previous weight must fade by one unit's worth. */
    assert_int_equal(rs_sliding_window_wait_ns_at(w, 1, 5000), 1001);
    assert_false(rs_sliding_window_try_acquire_at(w, 1, 6000));
    assert_true(rs_sliding_window_try_acquire_at(w, 1, 6001));
    assert_int_equal(rs_sliding_window_count_at(w, 6500), UINT64_MAX / 2 + 2);
    rs_sliding_window_free(w);
}

static int create_window(void *ctx, void **object)
{
    rs_sliding_window_config c = RS_SLIDING_WINDOW_CONFIG_DEFAULT;
    c.kind = *(const rs_window_kind *)ctx;
    return rs_sliding_window_new(&c, NULL, (rs_sliding_window **)object);
}

static void destroy_window(void *object) { rs_sliding_window_free(object); }

static void allocation_failure_is_clean(void **state)
{
    (void)state;
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        rs_window_kind kind = kinds[k];
        assert_int_equal(fault_alloc_sweep(create_window, destroy_window, &kind), 1);
    }
}

#if RS_TEST_THREADS

/* ---- concurrency on a frozen manual clock: exact counts ------------------- */

typedef struct frozen {
    rs_sliding_window *w;
    atomic_uint_fast64_t admitted;
} frozen;

static void *grab_all(void *arg)
{
    frozen *f = arg;
    uint64_t got = 0;
    for (int i = 0; i < 5000; i++) {
        uint64_t n = 1 + (uint64_t)(i % 2);
        got += rs_sliding_window_try_acquire(f->w, n) ? n : 0;
    }
    atomic_fetch_add(&f->admitted, got);
    return NULL;
}

/* Four threads racing with time frozen admit exactly the limit, and exactly
 * the limit again once the window has passed. */
static void racing_threads_get_exactly_the_limit(void **state)
{
    (void)state;
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        rs_manual_clock clock;
        rs_manual_clock_init(&clock, 0);
        static frozen f;
        f.w = make(kinds[k], 777, SEC, &clock);
        atomic_store(&f.admitted, 0);
        for (uint64_t round = 1; round <= 4; round++) {
            rs_test_run_threads(4, grab_all, &f);
            assert_int_equal(atomic_load(&f.admitted), 777 * round);
            assert_int_equal(rs_sliding_window_count(f.w), 777);
            rs_manual_clock_advance(&clock, 2 * SEC);
        }
        rs_sliding_window_free(f.w);
    }
}

/* ---- concurrency on the real clock ---------------------------------------- */

#define STRESS_MAX 60000

typedef struct stress {
    rs_sliding_window *w;
    uint64_t deadline;
    rs_test_span spans[4][STRESS_MAX];
    size_t counts[4];
    atomic_uint next_thread;
} stress;

static void *hammer(void *arg)
{
    stress *s = arg;
    unsigned id = atomic_fetch_add(&s->next_thread, 1);
    size_t count = 0;
    for (uint64_t i = 0;; i++) {
        uint64_t before = rs_test_now_ns();
        if (before >= s->deadline || count == STRESS_MAX) {
            break;
        }
        bool admitted = rs_sliding_window_try_acquire(s->w, 1);
        if (i % 16 == 0) {
            (void)rs_sliding_window_wait_ns(s->w, 2);
            (void)rs_sliding_window_count(s->w);
        }
        if (admitted) {
            s->spans[id][count++] = (rs_test_span){ before, rs_test_now_ns() };
        }
    }
    s->counts[id] = count;
    return NULL;
}

static void run_stress(rs_window_kind kind, uint64_t duration_ns)
{
    static stress s;
    static rs_test_span all[4 * STRESS_MAX];
    const uint64_t limit = 40, window = 10 * MS;
    s.w = make(kind, limit, window, NULL);
    uint64_t start = rs_test_now_ns();
    s.deadline = start + duration_ns;
    atomic_store(&s.next_thread, 0);
    rs_test_run_threads(4, hammer, &s);
    double elapsed = (double)(rs_test_now_ns() - start);
    size_t len = 0;
    for (int t = 0; t < 4; t++) {
        assert_true(s.counts[t] < STRESS_MAX);
        memcpy(&all[len], s.spans[t], s.counts[t] * sizeof(rs_test_span));
        len += s.counts[t];
    }
    rs_test_spans_sort(all, len);
    uint64_t most = rs_test_spans_most_within(all, len, window);
    print_message("# %zu admitted in %.3f s, at most %llu in one window\n", len, elapsed / 1e9,
                  (unsigned long long)most);
    if (kind == RS_WINDOW_LOG) {
        assert_true(most <= limit);
    } else {
        /* Below twice the limit in any window, within it in each fixed one. */
        assert_true(most <= 2 * limit - 1);
        assert_true(rs_test_spans_most_in_a_fixed_window(all, len, window) <= limit);
    }
    double windows = elapsed / (double)window;
    assert_true((double)len <= (double)limit * (windows + 1));
    assert_true((double)len >= (double)limit * windows / 10); /* liveness, loosely */
    rs_sliding_window_free(s.w);
}

/* Four threads on the real clock: the log never admits more than the limit
 * in any window of its length. */
static void real_clock_stress_log(void **state)
{
    (void)state;
    run_stress(RS_WINDOW_LOG, SEC);
}

static void real_clock_stress_counter(void **state)
{
    (void)state;
    run_stress(RS_WINDOW_COUNTER, 300 * MS);
}

#endif /* RS_TEST_THREADS */

/* The rs_limiter adapter: admits as try_acquire does, and a refusal carries
 * the wait of the state that refused (never 0: ask again when it is over);
 * more than the limit can never be admitted. */
static void limiter_adapter_answers_with_the_refusing_state(void **state)
{
    (void)state;
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        rs_sliding_window *w = make(kinds[k], 3, SEC, NULL);
        rs_limiter l = rs_sliding_window_limiter(w);
        const uint64_t t = 100 * SEC + 250 * MS; /* a quarter into a fixed window */
        uint64_t wait = 7;
        assert_int_equal(rs_limiter_acquire(&l, 0, 0, t, &wait), RS_OK);
        assert_int_equal(wait, 0);
        assert_int_equal(rs_limiter_acquire(&l, 3, 0, t, &wait), RS_OK);
        assert_int_equal(wait, 0);
        assert_int_equal(rs_limiter_acquire(&l, 1, UINT64_MAX, t + MS, &wait), RS_E_LIMITED);
        assert_true(wait > 0);
        assert_int_equal(wait, rs_sliding_window_wait_ns_at(w, 1, t + MS));
        assert_int_equal(rs_limiter_acquire(&l, 4, UINT64_MAX, t, &wait), RS_E_INVAL);
        assert_int_equal(wait, UINT64_MAX);
        rs_sliding_window_free(w);
    }
}

/* ---- metrics ---------------------------------------------------------------------- */

/* Admissions, their units and refusals, in both kinds; requests above the
 * limit and for nothing are not counted; the count is the window's now. */
static void metrics_count_every_request(void **state)
{
    (void)state;
    const rs_window_kind both[] = { RS_WINDOW_LOG, RS_WINDOW_COUNTER };
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(both); k++) {
        rs_manual_clock clock;
        rs_manual_clock_init(&clock, 10 * SEC);
        rs_sliding_window *w = make(both[k], 5, SEC, &clock);
        assert_true(rs_sliding_window_try_acquire(w, 2));
        assert_true(rs_sliding_window_try_acquire(w, 3));
        assert_false(rs_sliding_window_try_acquire(w, 1));
        assert_false(rs_sliding_window_try_acquire(w, 6)); /* never: not counted */
        assert_true(rs_sliding_window_try_acquire(w, 0));
        rs_limiter l = rs_sliding_window_limiter(w);
        uint64_t wait = 0;
        assert_int_equal(rs_limiter_acquire(&l, 1, 0, rs_manual_clock_now(&clock), &wait),
                         RS_E_LIMITED);
        rs_sliding_window_snapshot m;
        assert_int_equal(rs_sliding_window_metrics(w, &m), RS_OK);
        assert_int_equal(m.limit, 5);
        assert_int_equal(m.window_ns, SEC);
        assert_int_equal(m.kind, both[k]);
        assert_int_equal(m.count, 5);
        assert_int_equal(m.admitted, 2);
        assert_int_equal(m.admitted_units, 5);
        assert_int_equal(m.refused, 2);
        rs_manual_clock_advance(&clock, 2 * SEC);
        assert_int_equal(rs_sliding_window_metrics(w, &m), RS_OK);
        assert_int_equal(m.count, 0);
        assert_int_equal(m.admitted, 2);
        assert_int_equal(rs_sliding_window_metrics_at(w, NULL, 0), RS_E_INVAL);
        assert_int_equal(rs_sliding_window_metrics(NULL, &m), RS_E_INVAL);
        rs_sliding_window_free(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_invalid_configs),
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test(null_zero_and_oversized),
        cmocka_unit_test(log_window_boundaries_are_exact),
        cmocka_unit_test(wait_ns_is_exact),
        cmocka_unit_test(end_of_time_waits_agree_with_admission),
        cmocka_unit_test(limiter_adapter_answers_with_the_refusing_state),
        cmocka_unit_test(time_never_runs_backwards),
        cmocka_unit_test(system_clock_by_default),
        cmocka_unit_test(log_matches_the_reference_model),
        cmocka_unit_test(counter_matches_the_reference_model),
        cmocka_unit_test(counter_worst_case_over_admission),
        cmocka_unit_test(counter_handles_the_largest_limit),
        cmocka_unit_test(allocation_failure_is_clean),
        cmocka_unit_test(metrics_count_every_request),
#if RS_TEST_THREADS
        cmocka_unit_test(racing_threads_get_exactly_the_limit),
        cmocka_unit_test(real_clock_stress_log),
        cmocka_unit_test(real_clock_stress_counter),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
