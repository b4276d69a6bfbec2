/* Token budget: validation, reserve/commit/cancel arithmetic, the rolling
 * window's exact edges and documented accuracy (against a reference model on
 * seeded random sequences), wait times, explicit times, saturation,
 * allocation failure, concurrent reservations; and the budget registry
 * (one budget per key, LRU eviction, tiers, references across eviction). */
#include "support/fault_alloc.h"
#include "support/testing.h"

#include <stdlib.h>
#include <string.h>

#include "resilience/budget.h"
#include "resilience/registry.h"

#define SEC UINT64_C(1000000000)
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)

static rs_budget_config config(uint64_t per_window, uint64_t window_ns, uint64_t per_request,
                               uint32_t sub_buckets)
{
    rs_budget_config c = RS_BUDGET_CONFIG_DEFAULT;
    c.max_per_window = per_window;
    c.window_ns = window_ns;
    c.max_per_request = per_request;
    c.sub_buckets = sub_buckets;
    return c;
}

static rs_budget *make(rs_budget_config c, rs_manual_clock *m)
{
    rs_budget *b = NULL;
    assert_int_equal(rs_budget_new(&c, rs_manual_clock_get(m), &b), RS_OK);
    assert_non_null(b);
    return b;
}

/* 1,000 tokens per minute in 60 one-second sub-buckets, 400 per request. */
static rs_budget *per_minute(rs_manual_clock *m)
{
    return make(config(1000, MINUTE, 400, 60), m);
}

static uint64_t reserve_ok(rs_budget *b, uint64_t estimate, uint64_t now_ns)
{
    rs_budget_ticket t;
    assert_int_equal(rs_budget_reserve_at(b, estimate, &t, now_ns), RS_OK);
    assert_int_equal(t.reserved, estimate);
    return t.at_ns;
}

static void rejects_invalid_configs(void **state)
{
    (void)state;
    const struct {
        rs_budget_config cfg;
        const char *names; /* what rs_last_error() must say */
    } bad[] = {
        { config(0, HOUR, 10, 60), "rs_budget_config.max_per_window: 0, must be >= 1" },
        { config(100, 0, 10, 60), "rs_budget_config.window_ns: 0, must be >= 1" },
        { config(100, HOUR, 0, 60), "rs_budget_config.max_per_request: 0, must be >= 1" },
        { config(100, HOUR, 10, RS_BUDGET_MAX_SUB_BUCKETS + 1),
          "rs_budget_config.sub_buckets: 65537, must be <= 65536" },
        { config(100, HOUR, 10, UINT32_MAX), "rs_budget_config.sub_buckets: 4294967295" },
    };
    fault_alloc_install();
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        rs_budget *b = (rs_budget *)0x1;
        RS_TEST_EXPECT_INVALID(rs_budget_config_validate(&bad[i].cfg), bad[i].names);
        RS_TEST_EXPECT_INVALID(rs_budget_new(&bad[i].cfg, NULL, &b), bad[i].names);
        assert_ptr_equal(b, (rs_budget *)0x1); /* out untouched on error */
    }
    assert_int_equal(fault_alloc_total(), 0); /* nothing allocated */
    fault_alloc_uninstall();

    rs_budget *b = (rs_budget *)0x1;
    rs_budget_config good = RS_BUDGET_CONFIG_DEFAULT;
    RS_TEST_EXPECT_INVALID(rs_budget_config_validate(NULL), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_budget_new(NULL, NULL, &b), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_budget_new(&good, NULL, NULL), "out: NULL");
    assert_ptr_equal(b, (rs_budget *)0x1);
    /* Edges that are valid: default sub-bucket count, the maximum, a
     * per-request cap above the window's, a 1 ns window. */
    rs_budget_config ok[] = {
        config(100, HOUR, 10, 0),
        config(100, HOUR, 10, RS_BUDGET_MAX_SUB_BUCKETS),
        config(100, HOUR, 1000, 60),
        config(1, 1, 1, 60),
        config(UINT64_MAX, UINT64_MAX, UINT64_MAX, 1),
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(ok); i++) {
        assert_int_equal(rs_budget_config_validate(&ok[i]), RS_OK);
        assert_int_equal(rs_budget_new(&ok[i], NULL, &b), RS_OK);
        assert_int_equal(rs_budget_remaining(b), ok[i].max_per_window);
        rs_budget_free(b);
    }
}

static void check_documented_defaults(const rs_budget_config *c)
{
    assert_int_equal(c->max_per_window, 50000);
    assert_int_equal(c->window_ns, HOUR);
    assert_int_equal(c->max_per_request, 4000);
    assert_int_equal(c->sub_buckets, 60);
}

static void check_documented_registry_defaults(const rs_budget_registry_config *r)
{
    check_documented_defaults(&r->budget);
    assert_int_equal(r->max_keys, 10000);
    assert_null(r->config_for_key);
    assert_null(r->ctx);
    assert_int_equal(r->seed, 0);
}

/* The brace initializers work where a compound literal cannot: statics. */
static const rs_budget_config static_defaults = RS_BUDGET_CONFIG_INIT;
static const rs_budget_registry_config static_registry_defaults = RS_BUDGET_REGISTRY_CONFIG_INIT;

static void defaults_are_documented_values(void **state)
{
    (void)state;
    rs_budget_config c = RS_BUDGET_CONFIG_DEFAULT;
    check_documented_defaults(&c);
    check_documented_defaults(&static_defaults);
    rs_budget_registry_config r = RS_BUDGET_REGISTRY_CONFIG_DEFAULT;
    check_documented_registry_defaults(&r);
    check_documented_registry_defaults(&static_registry_defaults);
}

static void reserve_takes_the_estimate_or_nothing(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 5 * SEC);
    rs_budget *b = per_minute(&m);
    rs_budget_ticket t = { 77, 88 };

    assert_int_equal(rs_budget_remaining(b), 1000);
    assert_int_equal(rs_budget_reserve(b, 300, &t), RS_OK);
    assert_int_equal(t.reserved, 300);
    assert_int_equal(t.at_ns, 5 * SEC);
    assert_int_equal(rs_budget_remaining(b), 700);
    assert_int_equal(rs_budget_reserve(b, 400, &t), RS_OK);
    assert_int_equal(rs_budget_remaining(b), 300);

    /* Not enough left: refused, nothing taken, ticket untouched. */
    t = (rs_budget_ticket){ 77, 88 };
    assert_int_equal(rs_budget_reserve(b, 301, &t), RS_E_BUDGET);
    assert_int_equal(t.reserved, 77);
    assert_int_equal(t.at_ns, 88);
    assert_int_equal(rs_budget_remaining(b), 300);
    assert_int_equal(rs_budget_reserve(b, 300, &t), RS_OK);
    assert_int_equal(rs_budget_remaining(b), 0);
    assert_int_equal(rs_budget_reserve(b, 1, &t), RS_E_BUDGET);
    /* A zero estimate always fits and takes nothing. */
    assert_int_equal(rs_budget_reserve(b, 0, &t), RS_OK);
    assert_int_equal(t.reserved, 0);
    assert_int_equal(rs_budget_remaining(b), 0);
    rs_budget_free(b);

    /* Over the per-request cap: refused even with the window full. */
    b = per_minute(&m);
    assert_int_equal(rs_budget_reserve(b, 401, &t), RS_E_BUDGET);
    assert_int_equal(rs_budget_remaining(b), 1000);
    assert_int_equal(rs_budget_reserve(b, 400, &t), RS_OK);
    assert_int_equal(rs_budget_remaining(b), 600);

    assert_int_equal(rs_budget_reserve(NULL, 1, &t), RS_E_INVAL);
    assert_int_equal(rs_budget_reserve(b, 1, NULL), RS_E_INVAL);
    assert_int_equal(rs_budget_reserve_at(NULL, 1, &t, 0), RS_E_INVAL);
    assert_int_equal(rs_budget_reserve_at(b, 1, NULL, 0), RS_E_INVAL);
    assert_int_equal(rs_budget_remaining(NULL), 0);
    assert_int_equal(rs_budget_remaining_at(NULL, 0), 0);
    rs_budget_commit(NULL, &t, 5);
    rs_budget_commit(b, NULL, 5);
    rs_budget_cancel(NULL, &t);
    rs_budget_cancel(b, NULL);
    assert_int_equal(rs_budget_remaining(b), 600);
    rs_budget_free(b);
    rs_budget_free(NULL);
}

static void commit_refunds_or_charges_and_cancel_refunds(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget *b = per_minute(&m);
    rs_budget_ticket t;

    assert_int_equal(rs_budget_reserve(b, 400, &t), RS_OK);
    rs_manual_clock_advance(&m, 10 * SEC); /* the call takes a while */
    rs_budget_commit(b, &t, 150);          /* used less: 250 back */
    assert_int_equal(rs_budget_remaining(b), 850);

    assert_int_equal(rs_budget_reserve(b, 400, &t), RS_OK);
    assert_int_equal(rs_budget_remaining(b), 450);
    rs_budget_commit(b, &t, 400); /* exactly the estimate */
    assert_int_equal(rs_budget_remaining(b), 450);

    assert_int_equal(rs_budget_reserve(b, 400, &t), RS_OK);
    rs_budget_commit(b, &t, 1000); /* used more: charged past the limit */
    assert_int_equal(rs_budget_remaining(b), 0);
    assert_int_equal(rs_budget_reserve(b, 1, &t), RS_E_BUDGET);
    /* 150 + 400 + 1000 = 1550 held: the 400-token request needs 950 to
     * leave, which happens when the 10 s sub-bucket leaves at 71 s. */
    assert_int_equal(rs_budget_wait_ns(b, 400), 61 * SEC);
    assert_int_equal(rs_budget_wait_ns(b, 1), 61 * SEC);
    rs_budget_free(b);

    b = per_minute(&m);
    assert_int_equal(rs_budget_reserve(b, 400, &t), RS_OK);
    rs_budget_cancel(b, &t);
    assert_int_equal(rs_budget_remaining(b), 1000);
    rs_budget_free(b);
}

/* The rs_account view charges the same budget, at the time it is given. */
static void account_adapter_is_the_same_budget(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget *b = per_minute(&m);
    rs_account a = rs_budget_account(b);
    assert_non_null(a.ops);
    assert_ptr_equal(a.self, b);
    rs_account_ticket t;
    assert_int_equal(rs_account_reserve(&a, 400, 5 * SEC, &t), RS_OK);
    assert_int_equal(t.reserved, 400);
    assert_int_equal(t.at_ns, 5 * SEC);
    assert_int_equal(rs_budget_remaining_at(b, 5 * SEC), 600);
    assert_int_equal(rs_account_reserve(&a, 401, 5 * SEC, &t), RS_E_BUDGET); /* per request */
    t = (rs_account_ticket){ 400, 5 * SEC, 0 };
    rs_account_commit(&a, &t, 100);
    assert_int_equal(rs_budget_remaining_at(b, 6 * SEC), 900);
    assert_int_equal(rs_account_reserve(&a, 300, 7 * SEC, &t), RS_OK);
    rs_account_cancel(&a, &t);
    assert_int_equal(rs_budget_remaining_at(b, 7 * SEC), 900);
    /* The 100 spent at 5 s leave the window one minute later. */
    assert_int_equal(rs_budget_remaining_at(b, 66 * SEC), 1000);
    rs_account none = rs_budget_account(NULL);
    assert_null(none.ops);
    rs_budget_free(b);
}

/* Tokens come back when their sub-bucket leaves the window: never earlier
 * than an exact window would return them, at most one sub-bucket later. */
static void window_edges_are_exact(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    const struct {
        uint64_t at_ns;
        uint64_t back_ns;
    } cases[] = {
        { 10 * SEC, 71 * SEC },           /* start of a sub-bucket: the full extra second */
        { 10 * SEC + SEC / 2, 71 * SEC }, /* half a sub-bucket late */
        { 11 * SEC - 1, 71 * SEC },       /* 1 ns later than exact */
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        rs_budget *b = make(config(1000, MINUTE, 1000, 60), &m);
        assert_int_equal(reserve_ok(b, 1000, cases[i].at_ns), cases[i].at_ns);
        /* Exact window: counted in (at, at + 60 s]. */
        assert_int_equal(rs_budget_remaining_at(b, cases[i].at_ns + MINUTE - 1), 0);
        assert_int_equal(rs_budget_remaining_at(b, cases[i].back_ns - 1), 0);
        assert_int_equal(rs_budget_wait_ns_at(b, 1, cases[i].back_ns - 1), 1);
        assert_int_equal(rs_budget_remaining_at(b, cases[i].back_ns), 1000);
        assert_true(cases[i].back_ns > cases[i].at_ns + MINUTE);
        assert_true(cases[i].back_ns <= cases[i].at_ns + MINUTE + SEC);
        rs_budget_free(b);
    }
}

static void wait_ns_counts_down_to_the_sub_bucket_that_frees_enough(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget *b = per_minute(&m);
    rs_budget_ticket t;

    reserve_ok(b, 400, 0);
    reserve_ok(b, 300, 20 * SEC);
    reserve_ok(b, 300, 40 * SEC);
    const uint64_t now = 40 * SEC;
    assert_int_equal(rs_budget_wait_ns_at(b, 0, now), 0);
    assert_int_equal(rs_budget_wait_ns_at(b, 100, now), 21 * SEC); /* the 0 s bucket, at 61 s */
    assert_int_equal(rs_budget_wait_ns_at(b, 400, now), 21 * SEC);
    assert_int_equal(rs_budget_wait_ns_at(b, 401, now), UINT64_MAX); /* over per-request */
    rs_budget_free(b);

    b = make(config(1000, MINUTE, 1000, 60), &m);
    reserve_ok(b, 400, 0);
    reserve_ok(b, 300, 20 * SEC);
    reserve_ok(b, 300, 40 * SEC);
    assert_int_equal(rs_budget_wait_ns_at(b, 401, now), 41 * SEC);  /* the 20 s one, at 81 s */
    assert_int_equal(rs_budget_wait_ns_at(b, 700, now), 41 * SEC);
    assert_int_equal(rs_budget_wait_ns_at(b, 701, now), 61 * SEC);  /* all three, at 101 s */
    assert_int_equal(rs_budget_wait_ns_at(b, 1000, now), 61 * SEC);
    assert_int_equal(rs_budget_wait_ns_at(b, 1001, now), UINT64_MAX);
    /* The wait is exact: 1 ns earlier the reservation is still refused. */
    assert_int_equal(rs_budget_reserve_at(b, 401, &t, 81 * SEC - 1), RS_E_BUDGET);
    assert_int_equal(rs_budget_wait_ns_at(b, 401, 81 * SEC - 1), 1);
    assert_int_equal(rs_budget_reserve_at(b, 401, &t, 81 * SEC), RS_OK);
    rs_budget_free(b);

    /* Above max_per_window never fits, whatever max_per_request says. */
    b = make(config(1000, MINUTE, 5000, 60), &m);
    assert_int_equal(rs_budget_wait_ns(b, 1000), 0);
    assert_int_equal(rs_budget_wait_ns(b, 1001), UINT64_MAX);
    assert_int_equal(rs_budget_reserve(b, 1001, &t), RS_E_BUDGET);
    assert_int_equal(rs_budget_wait_ns(NULL, 1), UINT64_MAX);
    assert_int_equal(rs_budget_wait_ns_at(NULL, 1, 0), UINT64_MAX);
    rs_budget_free(b);
}

static void expired_tickets_adjust_nothing(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget *b = per_minute(&m);
    rs_budget_ticket old, mid, fresh;

    assert_int_equal(rs_budget_reserve_at(b, 300, &old, 0), RS_OK);
    assert_int_equal(rs_budget_reserve_at(b, 300, &mid, 30 * SEC), RS_OK);
    /* At 61 s the 0 s sub-bucket has left; the 30 s one is still counted. */
    assert_int_equal(rs_budget_remaining_at(b, 61 * SEC), 700);
    rs_budget_cancel(b, &old); /* nothing of it is in the window */
    assert_int_equal(rs_budget_remaining_at(b, 61 * SEC), 700);
    rs_budget_commit(b, &old, 100000); /* nor is its excess charged */
    assert_int_equal(rs_budget_remaining_at(b, 61 * SEC), 700);
    rs_budget_cancel(b, &mid);
    assert_int_equal(rs_budget_remaining_at(b, 61 * SEC), 1000);

    /* A ticket from a whole window ago does not touch the new window's
     * sub-bucket at the same ring position. */
    assert_int_equal(rs_budget_reserve_at(b, 400, &fresh, 122 * SEC), RS_OK);
    assert_int_equal(fresh.at_ns, 122 * SEC);
    rs_budget_ticket ghost = { 400, 0 }; /* 0 s and 122 s share ring position 0 */
    rs_budget_cancel(b, &ghost);
    rs_budget_commit(b, &ghost, 5000);
    assert_int_equal(rs_budget_remaining_at(b, 122 * SEC), 600);
    /* A ticket from the future (another budget's) is ignored too. */
    rs_budget_ticket future = { 400, 500 * SEC };
    rs_budget_cancel(b, &future);
    assert_int_equal(rs_budget_remaining_at(b, 122 * SEC), 600);
    /* Cancelling twice cannot refund more than the sub-bucket holds. */
    rs_budget_cancel(b, &fresh);
    rs_budget_cancel(b, &fresh);
    assert_int_equal(rs_budget_remaining_at(b, 122 * SEC), 1000);
    assert_int_equal(reserve_ok(b, 400, 122 * SEC), 122 * SEC);
    assert_int_equal(rs_budget_remaining_at(b, 122 * SEC), 600);
    rs_budget_free(b);
}

static void sub_bucket_count_sets_the_resolution(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    const struct {
        uint64_t window_ns;
        uint32_t sub_buckets;
        uint64_t back_ns; /* when tokens reserved at 0 come back */
    } cases[] = {
        { MINUTE, 1, 2 * MINUTE },           /* one sub-bucket: up to a whole window late */
        { MINUTE, 0, 61 * SEC },             /* default 60 */
        { MINUTE, 60, 61 * SEC },
        { MINUTE, 600, MINUTE + SEC / 10 },  /* finer: 100 ms late at most */
        { 10, 4, 15 },                       /* width ceil(10 / 4) = 3 ns, 5 in the ring */
        { 5, 60, 6 },                        /* shorter than 60 ns: 5 sub-buckets of 1 ns */
        { 1, 60, 2 },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        rs_budget *b = make(config(10, cases[i].window_ns, 10, cases[i].sub_buckets), &m);
        reserve_ok(b, 10, 0);
        assert_int_equal(rs_budget_remaining_at(b, cases[i].back_ns - 1), 0);
        assert_int_equal(rs_budget_wait_ns_at(b, 10, 0), cases[i].back_ns);
        assert_int_equal(rs_budget_remaining_at(b, cases[i].back_ns), 10);
        rs_budget_free(b);
    }
}

static void explicit_times_never_move_the_window_back(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget *b = make(config(1000, MINUTE, 1000, 60), &m);
    rs_budget_ticket late, early, same;

    assert_int_equal(rs_budget_reserve_at(b, 100, &late, 100 * SEC + SEC / 2), RS_OK);
    /* Same sub-bucket, slightly earlier timestamp: kept as given. */
    assert_int_equal(rs_budget_reserve_at(b, 100, &same, 100 * SEC + SEC / 5), RS_OK);
    assert_int_equal(same.at_ns, 100 * SEC + SEC / 5);
    /* An older sub-bucket: charged to the newest one, and the ticket says so. */
    assert_int_equal(rs_budget_reserve_at(b, 100, &early, 50 * SEC), RS_OK);
    assert_int_equal(early.at_ns, 100 * SEC);
    assert_int_equal(rs_budget_remaining_at(b, 50 * SEC), 700);
    assert_int_equal(rs_budget_remaining_at(b, 100 * SEC), 700);
    assert_int_equal(rs_budget_wait_ns_at(b, 800, 50 * SEC), 111 * SEC);
    rs_budget_cancel(b, &early);
    assert_int_equal(rs_budget_remaining_at(b, 100 * SEC), 800);
    assert_int_equal(rs_budget_remaining_at(b, 161 * SEC - 1), 800);
    assert_int_equal(rs_budget_remaining_at(b, 161 * SEC), 1000);
    rs_budget_free(b);
}

static void clock_versions_read_the_clock(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 1000 * SEC);
    rs_budget *b = per_minute(&m);
    rs_budget_ticket t;
    assert_int_equal(rs_budget_reserve(b, 400, &t), RS_OK);
    assert_int_equal(t.at_ns, 1000 * SEC);
    assert_int_equal(rs_budget_reserve(b, 400, &t), RS_OK);
    rs_manual_clock_advance(&m, 30 * SEC);
    assert_int_equal(rs_budget_reserve(b, 400, &t), RS_E_BUDGET);
    assert_int_equal(rs_budget_wait_ns(b, 400), 31 * SEC);
    rs_manual_clock_advance(&m, 31 * SEC - 1);
    assert_int_equal(rs_budget_remaining(b), 200);
    assert_int_equal(rs_budget_wait_ns(b, 400), 1);
    rs_manual_clock_advance(&m, 1);
    assert_int_equal(rs_budget_remaining(b), 1000);
    assert_int_equal(rs_budget_wait_ns(b, 400), 0);
    rs_budget_free(b);

    /* NULL clock: the system clock, which this cannot tell from any other,
     * but it must work. */
    rs_budget_config c = config(1000, MINUTE, 400, 60);
    assert_int_equal(rs_budget_new(&c, NULL, &b), RS_OK);
    assert_int_equal(rs_budget_reserve(b, 400, &t), RS_OK);
    assert_true(t.at_ns > 0);
    assert_int_equal(rs_budget_remaining(b), 600);
    rs_budget_free(b);
}

static void huge_values_saturate(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget_ticket t;
    rs_budget *b = make(config(UINT64_MAX, UINT64_MAX, UINT64_MAX, 60), &m);
    assert_int_equal(rs_budget_reserve_at(b, UINT64_MAX - 1, &t, UINT64_MAX - 5), RS_OK);
    assert_int_equal(rs_budget_remaining_at(b, UINT64_MAX), 1);
    rs_budget_commit(b, &t, UINT64_MAX);
    assert_int_equal(rs_budget_remaining_at(b, UINT64_MAX), 0);
    rs_budget_commit(b, &t, UINT64_MAX); /* would wrap without saturation */
    assert_int_equal(rs_budget_remaining_at(b, UINT64_MAX), 0);
    /* The tokens never leave in representable time. */
    assert_int_equal(rs_budget_wait_ns_at(b, 1, UINT64_MAX), UINT64_MAX);
    rs_budget_free(b);

    b = make(config(100, SEC, 100, 60), &m);
    reserve_ok(b, 100, 0);
    rs_budget_ticket big;
    assert_int_equal(rs_budget_reserve_at(b, 0, &big, 0), RS_OK);
    rs_budget_commit(b, &big, UINT64_MAX);
    assert_int_equal(rs_budget_remaining_at(b, 0), 0);
    assert_int_equal(rs_budget_wait_ns_at(b, 100, 0), 61 * ((SEC + 59) / 60)); /* width rounded up */
    /* Time jumping to the end of the representable range clears the ring. */
    assert_int_equal(rs_budget_remaining_at(b, UINT64_MAX), 100);
    assert_int_equal(reserve_ok(b, 100, UINT64_MAX), UINT64_MAX);
    assert_int_equal(rs_budget_remaining_at(b, UINT64_MAX), 0);
    rs_budget_free(b);
}

/* Issue 12 item 8: with 64-bit counters (max_per_window >= 2^31) two
 * sub-buckets charged UINT64_MAX each saturated the running total; when the
 * first left the window the total fell to 0 while the second still held
 * 2^64 - 1, and a reservation succeeded. A saturated sub-bucket could also
 * be refunded below max_per_window while it truly held far more. The budget
 * never admits past max_per_window now. */
static void saturated_sub_buckets_are_never_forgotten(void **state)
{
    (void)state;
    const uint64_t maxes[] = { UINT64_C(1) << 31, UINT64_C(1) << 40, (UINT64_C(1) << 63) + 5,
                               UINT64_MAX - 1, UINT64_MAX };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(maxes); i++) {
        const uint64_t max = maxes[i];
        rs_manual_clock m;
        rs_manual_clock_init(&m, 0);
        /* 60 sub-buckets of 1 s: sub-bucket k counts until 61 + k s. */
        rs_budget *b = make(config(max, MINUTE, max, 60), &m);
        rs_budget_ticket first, second, held;
        assert_int_equal(rs_budget_reserve_at(b, max, &held, 0), RS_OK);
        assert_int_equal(rs_budget_reserve_at(b, 0, &first, 0), RS_OK);
        rs_budget_commit(b, &first, UINT64_MAX); /* saturates sub-bucket 0 */
        /* The refund of a held reservation cannot bring a saturated
         * sub-bucket below what it truly holds. */
        rs_budget_cancel(b, &held);
        assert_int_equal(rs_budget_remaining_at(b, 0), 0);
        assert_int_equal(rs_budget_reserve_at(b, 1, &held, 0), RS_E_BUDGET);
        assert_int_equal(rs_budget_reserve_at(b, 0, &second, 10 * SEC), RS_OK);
        rs_budget_commit(b, &second, UINT64_MAX); /* and sub-bucket 10 */
        /* Sub-bucket 0 leaves; sub-bucket 10 still holds 2^64 - 1. */
        assert_int_equal(rs_budget_remaining_at(b, 61 * SEC), 0);
        assert_int_equal(rs_budget_reserve_at(b, 1, &held, 61 * SEC), RS_E_BUDGET);
        assert_int_equal(rs_budget_wait_ns_at(b, 1, 61 * SEC), 10 * SEC);
        assert_int_equal(rs_budget_wait_ns_at(b, max, 61 * SEC), 10 * SEC);
        /* Then it leaves too, and the whole window is free again. */
        assert_int_equal(rs_budget_remaining_at(b, 71 * SEC), max);
        assert_int_equal(rs_budget_reserve_at(b, max, &held, 71 * SEC), RS_OK);
        assert_int_equal(rs_budget_remaining_at(b, 71 * SEC), 0);
        rs_budget_free(b);
    }
}

/* ---- reference model ------------------------------------------------------ */

typedef struct model_ticket {
    rs_budget_ticket t;
    uint64_t net; /* what the budget holds for it now */
    bool open;
} model_ticket;

static uint64_t lcg_state;

static uint64_t draw(uint64_t bound) /* uniform in [0, bound) */
{
    lcg_state = lcg_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (lcg_state >> 11) % bound;
}

/* The ring as the header describes it: a ticket is counted while the
 * current sub-bucket is below its own + sub_buckets + 1. */
static bool counted(uint64_t at_ns, uint64_t now_ns, uint64_t width, uint64_t n)
{
    return now_ns / width < at_ns / width + n + 1;
}

/* The model's wait for n tokens: the time until the sub-bucket whose
 * leaving frees enough leaves. */
static uint64_t model_wait(const model_ticket *tickets, size_t first, size_t count, uint64_t now,
                           uint64_t width, uint64_t n_sub, uint64_t max, uint64_t held, uint64_t n)
{
    if (n <= (held >= max ? 0 : max - held)) {
        return 0; /* fits (0 always does) */
    }
    uint64_t deficit = held - (max - n), freed = 0;
    for (size_t i = first; i < count; i++) {
        if (counted(tickets[i].t.at_ns, now, width, n_sub)) {
            freed += tickets[i].net;
            if (freed >= deficit) {
                return (tickets[i].t.at_ns / width + n_sub + 1) * width - now;
            }
        }
    }
    fail_msg("the model never frees enough");
    return 0;
}

/* Random reserve / commit / cancel sequences against that model, for
 * several configurations (divisible or not, coarse and fine, 32-bit
 * counters that saturate under charged excess and 64-bit ones). Checks
 * every decision, remaining() and wait_ns() exactly, and the documented
 * accuracy bounds against exact rolling windows directly. */
static void matches_the_reference_model(void **state)
{
    (void)state;
    const struct {
        uint64_t per_window, window_ns, per_request;
        uint32_t sub_buckets;
    } cfgs[] = {
        { 1000, 1000, 300, 10 }, { 1000, 1000, 300, 7 }, { 500, 997, 600, 3 },
        { 50, 100, 20, 1 },      { 5000, 6000, 900, 60 },
        { (UINT64_C(1) << 31) - 1, 1000, UINT64_C(1) << 30, 10 }, /* narrow, saturating */
        { UINT64_C(1) << 31, 1000, UINT64_C(1) << 30, 10 },       /* the first wide one */
        { UINT64_C(1) << 40, 1000, UINT64_C(1) << 39, 10 },
    };
    enum { STEPS = 6000 };
    static model_ticket tickets[STEPS];
    for (size_t c = 0; c < RS_TEST_ARRAY_LEN(cfgs); c++) {
        lcg_state = 12345 + c;
        rs_manual_clock m;
        rs_manual_clock_init(&m, 0);
        rs_budget *b = make(config(cfgs[c].per_window, cfgs[c].window_ns, cfgs[c].per_request,
                                   cfgs[c].sub_buckets),
                            &m);
        const uint64_t n = cfgs[c].sub_buckets;
        const uint64_t width = cfgs[c].window_ns / n + (cfgs[c].window_ns % n != 0);
        const uint64_t max = cfgs[c].per_window;
        const uint64_t horizon = (n + 1) * width; /* >= window_ns */
        size_t first = 0, count = 0; /* tickets before `first` count nowhere any more */
        uint64_t now = 0, accepted = 0, refused = 0, fullest_bucket = 0;
        for (int step = 0; step < STEPS; step++) {
            now += draw(4) == 0 ? draw(cfgs[c].window_ns * 2) : draw(width);
            while (first < count && now - tickets[first].t.at_ns >= horizon) {
                first++;
            }
            uint64_t held = 0, exact = 0, widest = 0, bucket = 0;
            for (size_t i = first; i < count; i++) {
                uint64_t at = tickets[i].t.at_ns;
                if (i == first || at / width != tickets[i - 1].t.at_ns / width) {
                    bucket = 0;
                }
                bucket += tickets[i].net;
                fullest_bucket = bucket > fullest_bucket ? bucket : fullest_bucket;
                if (counted(at, now, width, n)) {
                    held += tickets[i].net;
                }
                if (now - at < cfgs[c].window_ns) {
                    exact += tickets[i].net;
                }
                if (now - at < horizon) {
                    widest += tickets[i].net;
                }
            }
            uint64_t remaining = rs_budget_remaining_at(b, now);
            assert_int_equal(remaining, held >= max ? 0 : max - held);
            /* Never more generous than the exact window, never stricter
             * than one sub-bucket more. */
            assert_true(remaining <= (exact >= max ? 0 : max - exact));
            assert_true(remaining >= (widest >= max ? 0 : max - widest));
            uint64_t want = draw(cfgs[c].per_request + 1);
            want = want > max ? max : want;
            assert_int_equal(rs_budget_wait_ns_at(b, want, now),
                             model_wait(tickets, first, count, now, width, n, max, held, want));

            uint64_t op = draw(10);
            if (op < 5 || first == count) {
                uint64_t estimate = draw(cfgs[c].per_request + 50);
                rs_budget_ticket t;
                int rc = rs_budget_reserve_at(b, estimate, &t, now);
                bool fits = estimate <= cfgs[c].per_request && estimate <= remaining;
                assert_int_equal(rc, fits ? RS_OK : RS_E_BUDGET);
                if (rc == RS_OK) {
                    accepted++;
                    assert_int_equal(t.at_ns, now);
                    tickets[count++] = (model_ticket){ t, estimate, true };
                } else {
                    refused++;
                }
            } else {
                model_ticket *mt = &tickets[first + draw(count - first)];
                if (!mt->open) {
                    continue;
                }
                uint64_t actual = op < 7    ? draw(mt->t.reserved * 2 + 1)
                                  : op == 7 ? mt->t.reserved + draw(max * 4 + 1) /* a big excess */
                                            : 0;
                if (op < 8) {
                    rs_budget_commit(b, &mt->t, actual);
                } else {
                    rs_budget_cancel(b, &mt->t);
                }
                /* Only what is still in the window changes. */
                if (counted(mt->t.at_ns, now, width, n)) {
                    mt->net = actual;
                }
                mt->open = false;
            }
        }
        assert_true(accepted > STEPS / 10 && refused > STEPS / 50);
        if (max == (UINT64_C(1) << 31) - 1) {
            assert_true(fullest_bucket > UINT32_MAX); /* the 32-bit counters did saturate */
        }
        rs_budget_free(b);
    }
}

static int create_budget(void *ctx, void **object)
{
    (void)ctx;
    rs_budget_config c = RS_BUDGET_CONFIG_DEFAULT;
    return rs_budget_new(&c, NULL, (rs_budget **)object);
}

static void destroy_budget(void *object) { rs_budget_free(object); }

static void allocation_failure_is_clean(void **state)
{
    (void)state;
    assert_true(fault_alloc_sweep(create_budget, destroy_budget, NULL) >= 1);
}

#if RS_TEST_THREADS
/* Concurrent reservations never overspend: every thread logs the tickets it
 * got and what it finally left charged (commits here never exceed the
 * estimate); afterwards no interval of length window_ns holds more than
 * max_per_window of them. Time is a shared manual clock that the threads
 * move forward themselves, so windows roll hundreds of times. */
enum { THREADS = 4, OPS = 12000, HELD = 4 };
#define PROP_WINDOW_NS UINT64_C(1000000) /* 1 ms in 10 sub-buckets */
#define PROP_MAX 1000u

typedef struct charge {
    uint64_t at_ns;
    uint64_t net;
} charge;

typedef struct worker {
    rs_budget *b;
    rs_manual_clock *clock;
    uint64_t seed;
    charge log[OPS];
    size_t logged;
    uint64_t refused;
} worker;

static uint64_t worker_draw(worker *w, uint64_t bound)
{
    w->seed = w->seed * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (w->seed >> 11) % bound;
}

static void settle(worker *w, const rs_budget_ticket *t)
{
    uint64_t actual = worker_draw(w, 3) == 0 ? 0 : worker_draw(w, t->reserved + 1);
    rs_budget_commit(w->b, t, actual);
    w->log[w->logged++] = (charge){ t->at_ns, actual };
}

static void *reserve_concurrently(void *arg)
{
    worker *w = arg;
    rs_budget_ticket held[HELD];
    size_t holding = 0;
    for (int i = 0; i < OPS; i++) {
        if (worker_draw(w, 2) == 0) {
            rs_manual_clock_advance(w->clock, worker_draw(w, 20000));
        }
        rs_budget_ticket t;
        if (rs_budget_reserve(w->b, 1 + worker_draw(w, 200), &t) == RS_OK) {
            if (holding == HELD) {
                settle(w, &held[0]);
                memmove(held, held + 1, (HELD - 1) * sizeof held[0]);
                holding--;
            }
            held[holding++] = t;
        } else {
            w->refused++;
        }
    }
    while (holding > 0) {
        settle(w, &held[--holding]);
    }
    return NULL;
}

static int by_time(const void *a, const void *b)
{
    uint64_t x = ((const charge *)a)->at_ns, y = ((const charge *)b)->at_ns;
    return (x > y) - (x < y);
}

static worker workers[THREADS];
static unsigned next_worker;

static void *run_worker(void *arg)
{
    (void)arg;
    return reserve_concurrently(&workers[__atomic_fetch_add(&next_worker, 1, __ATOMIC_RELAXED)]);
}

static void concurrent_reservations_never_overspend(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget *b = make(config(PROP_MAX, PROP_WINDOW_NS, 200, 10), &m);
    memset(workers, 0, sizeof workers);
    for (unsigned i = 0; i < THREADS; i++) {
        workers[i].b = b;
        workers[i].clock = &m;
        workers[i].seed = 99 + i;
    }
    next_worker = 0;
    rs_test_run_threads(THREADS, run_worker, NULL);

    static charge all[THREADS * OPS];
    size_t total = 0;
    uint64_t refused = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        memcpy(all + total, workers[i].log, workers[i].logged * sizeof all[0]);
        total += workers[i].logged;
        refused += workers[i].refused;
    }
    qsort(all, total, sizeof all[0], by_time);
    uint64_t in_window = 0, fullest = 0;
    size_t oldest = 0;
    for (size_t i = 0; i < total; i++) {
        in_window += all[i].net;
        while (all[oldest].at_ns + PROP_WINDOW_NS <= all[i].at_ns) {
            in_window -= all[oldest++].net;
        }
        fullest = in_window > fullest ? in_window : fullest;
    }
    assert_true(fullest <= PROP_MAX);
    /* The test did contend: windows filled up and reservations were refused. */
    assert_true(fullest > PROP_MAX / 2);
    assert_true(refused > 100);
    assert_true(total > 1000);
    assert_true(rs_manual_clock_now(&m) > 100 * PROP_WINDOW_NS);
    rs_budget_free(b);
}
#endif

/* ---- budget registry ------------------------------------------------------ */

static rs_budget_registry *make_registry(size_t max_keys, rs_manual_clock *m)
{
    rs_budget_config c = config(1000, MINUTE, 400, 60);
    rs_budget_registry *r = NULL;
    assert_int_equal(rs_budget_registry_new(&c, max_keys, rs_manual_clock_get(m), &r), RS_OK);
    assert_non_null(r);
    return r;
}

/* Spends `n` from key's budget and releases it. */
static void spend(rs_budget_registry *r, const char *key, uint64_t n)
{
    rs_budget *b = rs_budget_registry_get(r, key, strlen(key));
    assert_non_null(b);
    rs_budget_ticket t;
    assert_int_equal(rs_budget_reserve(b, n, &t), RS_OK);
    rs_budget_registry_release(r, b);
}

static uint64_t left_for(rs_budget_registry *r, const void *key, size_t len)
{
    rs_budget *b = rs_budget_registry_get(r, key, len);
    assert_non_null(b);
    uint64_t left = rs_budget_remaining(b);
    rs_budget_registry_release(r, b);
    return left;
}

static void registry_rejects_invalid_configs(void **state)
{
    (void)state;
    rs_budget_registry *r = (rs_budget_registry *)0x1;
    rs_budget_config good = RS_BUDGET_CONFIG_DEFAULT;
    rs_budget_config bad = config(0, MINUTE, 1, 60);
    fault_alloc_install();
    /* Named as rs_budget_registry_new's arguments... */
    assert_int_equal(rs_budget_registry_new(&good, 0, NULL, &r), RS_E_INVAL);
    assert_true(strncmp(rs_last_error(), "max_keys: 0, must be in [1, ", 28) == 0);
    RS_TEST_EXPECT_INVALID(rs_budget_registry_new(&bad, 10, NULL, &r),
                           "rs_budget_config.max_per_window: 0");
    RS_TEST_EXPECT_INVALID(rs_budget_registry_new(NULL, 10, NULL, &r), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_budget_registry_new(&good, 10, NULL, NULL), "out: NULL");
    /* ...and as the _ex configuration's fields. */
    rs_budget_registry_config rc = RS_BUDGET_REGISTRY_CONFIG_DEFAULT;
    rc.budget.window_ns = 0;
    RS_TEST_EXPECT_INVALID(rs_budget_registry_new_ex(&rc, NULL, &r),
                           "rs_budget_registry_config.budget.window_ns: 0");
    rc = RS_BUDGET_REGISTRY_CONFIG_DEFAULT;
    rc.max_keys = 0;
    RS_TEST_EXPECT_INVALID(rs_budget_registry_new_ex(&rc, NULL, &r),
                           "rs_budget_registry_config.max_keys: 0");
#if SIZE_MAX > RS_REGISTRY_MAX_KEYS
    rc.max_keys = (size_t)RS_REGISTRY_MAX_KEYS + 1;
    RS_TEST_EXPECT_INVALID(rs_budget_registry_new_ex(&rc, NULL, &r),
                           "rs_budget_registry_config.max_keys: 4611686018427387904");
#endif
    RS_TEST_EXPECT_INVALID(rs_budget_registry_new_ex(NULL, NULL, &r), "cfg: NULL");
    rc = RS_BUDGET_REGISTRY_CONFIG_DEFAULT;
    RS_TEST_EXPECT_INVALID(rs_budget_registry_new_ex(&rc, NULL, NULL), "out: NULL");
    assert_ptr_equal(r, (rs_budget_registry *)0x1);
    assert_int_equal(fault_alloc_total(), 0);
    fault_alloc_uninstall();
}

static void registry_gives_each_key_its_own_budget(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget_registry *r = make_registry(100, &m);
    rs_budget *alice = rs_budget_registry_get(r, "alice", 5);
    rs_budget *alice2 = rs_budget_registry_get(r, "alice", 5);
    rs_budget *bob = rs_budget_registry_get(r, "bob", 3);
    assert_non_null(alice);
    assert_ptr_equal(alice, alice2);
    assert_true(bob != alice);
    rs_budget_ticket t;
    assert_int_equal(rs_budget_reserve(alice, 400, &t), RS_OK);
    assert_int_equal(rs_budget_remaining(alice2), 600);
    assert_int_equal(rs_budget_remaining(bob), 1000);
    rs_budget_registry_release(r, alice);
    rs_budget_registry_release(r, alice2);
    rs_budget_registry_release(r, bob);

    /* Keys are bytes: embedded NULs, prefixes and the empty key differ. */
    const char k1[] = { 'a', '\0', 'b' };
    const char k2[] = { 'a', '\0', 'c' };
    spend(r, "", 10);
    assert_int_equal(left_for(r, NULL, 0), 990);
    assert_int_equal(left_for(r, k1, 3), 1000);
    rs_budget *x = rs_budget_registry_get(r, k1, 3);
    assert_int_equal(rs_budget_reserve(x, 1, &t), RS_OK);
    rs_budget_registry_release(r, x);
    assert_int_equal(left_for(r, k1, 3), 999);
    assert_int_equal(left_for(r, k2, 3), 1000);
    assert_int_equal(left_for(r, k1, 1), 1000); /* "a" */
    assert_int_equal(left_for(r, "alice", 4), 1000);

    /* NULL says why through rs_last_error(), the signature has no status. */
    assert_null(rs_budget_registry_get(NULL, "a", 1));
    RS_TEST_EXPECT_LAST_ERROR("r: NULL");
    assert_null(rs_budget_registry_get(r, NULL, 1));
    RS_TEST_EXPECT_LAST_ERROR("key: NULL with len 1");
#if SIZE_MAX > UINT32_MAX
    assert_null(rs_budget_registry_get(r, "a", (size_t)UINT32_MAX + 1));
    RS_TEST_EXPECT_LAST_ERROR("len: 4294967296, must be <= 4294967295");
#endif
    rs_budget_registry_release(NULL, x);
    rs_budget_registry_release(r, NULL);
    /* A budget that is not from a registry is ignored. */
    rs_budget *own = NULL;
    rs_budget_config c = RS_BUDGET_CONFIG_DEFAULT;
    assert_int_equal(rs_budget_new(&c, NULL, &own), RS_OK);
    rs_budget_registry_release(r, own);
    rs_budget_free(own);
    rs_budget_registry_free(r);
    rs_budget_registry_free(NULL);
}

static void registry_evicts_the_least_recently_used(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget_registry *r = make_registry(2, &m);
    spend(r, "a", 100);
    spend(r, "b", 200);
    spend(r, "a", 100); /* a is now the more recent */
    spend(r, "c", 300); /* evicts b */
    assert_int_equal(left_for(r, "a", 1), 800);
    assert_int_equal(left_for(r, "c", 1), 700); /* now a is the older */
    /* b starts over with a full budget, evicting a. */
    assert_int_equal(left_for(r, "b", 1), 1000);
    assert_int_equal(left_for(r, "c", 1), 700);
    assert_int_equal(left_for(r, "a", 1), 1000); /* evicts b */
    assert_int_equal(left_for(r, "c", 1), 700);
    rs_budget_registry_free(r);
}

static void held_budget_outlives_its_eviction(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    fault_alloc_install();
    rs_budget_registry *r = make_registry(1, &m);
    rs_budget *a = rs_budget_registry_get(r, "a", 1);
    assert_non_null(a);
    size_t live_with_a = fault_alloc_live();
    rs_budget *b = rs_budget_registry_get(r, "b", 1); /* evicts a, which is held */
    assert_non_null(b);
    rs_budget_ticket t;
    assert_int_equal(rs_budget_reserve(a, 400, &t), RS_OK); /* still usable */
    rs_budget_commit(a, &t, 100);
    assert_int_equal(rs_budget_remaining(a), 900);
    rs_budget *a2 = rs_budget_registry_get(r, "a", 1); /* a new budget; evicts b */
    assert_true(a2 != a);
    assert_int_equal(rs_budget_remaining(a2), 1000);
    size_t before = fault_alloc_live();
    rs_budget_registry_release(r, a);
    assert_int_equal(fault_alloc_live(), before - 2); /* the old a: its entry and budget */
    rs_budget_registry_release(r, b);
    assert_int_equal(fault_alloc_live(), before - 4);
    rs_budget_registry_release(r, a2);
    assert_int_equal(fault_alloc_live(), live_with_a); /* the resident a2 only */
    rs_budget_registry_free(r);
    assert_int_equal(fault_alloc_live(), 0);
    fault_alloc_uninstall();
}

typedef struct tiers {
    rs_budget_config free_tier, paid_tier, broken;
    int calls;
} tiers;

static const rs_budget_config *tier_of(void *ctx, const void *key, size_t len)
{
    tiers *t = ctx;
    t->calls++;
    if (len >= 5 && memcmp(key, "paid:", 5) == 0) {
        return &t->paid_tier;
    }
    if (len >= 7 && memcmp(key, "broken:", 7) == 0) {
        return &t->broken;
    }
    return len >= 5 && memcmp(key, "free:", 5) == 0 ? &t->free_tier : NULL;
}

static void registry_tiers_come_from_the_hook(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    tiers t = {
        .free_tier = config(50000, HOUR, 4000, 60),
        .paid_tier = config(2000000, HOUR, 100000, 60),
        .broken = config(0, HOUR, 1, 60),
        .calls = 0,
    };
    rs_budget_registry_config rc = RS_BUDGET_REGISTRY_CONFIG_DEFAULT;
    rc.budget = config(10, MINUTE, 10, 6);
    rc.max_keys = 100;
    rc.config_for_key = tier_of;
    rc.ctx = &t;
    rc.seed = 7;
    rs_budget_registry *r = NULL;
    assert_int_equal(rs_budget_registry_new_ex(&rc, rs_manual_clock_get(&m), &r), RS_OK);

    rs_budget *f = rs_budget_registry_get(r, "free:ann", 8);
    rs_budget *p = rs_budget_registry_get(r, "paid:bea", 8);
    rs_budget *d = rs_budget_registry_get(r, "guest", 5);
    rs_budget_ticket tk;
    assert_int_equal(rs_budget_remaining(f), 50000);
    assert_int_equal(rs_budget_reserve(f, 4001, &tk), RS_E_BUDGET);
    assert_int_equal(rs_budget_remaining(p), 2000000);
    assert_int_equal(rs_budget_reserve(p, 4001, &tk), RS_OK);
    assert_int_equal(rs_budget_remaining(d), 10); /* NULL from the hook: the default */
    assert_int_equal(t.calls, 3);
    rs_budget *f2 = rs_budget_registry_get(r, "free:ann", 8);
    assert_ptr_equal(f2, f);
    assert_int_equal(t.calls, 3); /* once per creation, not per get */
    /* An invalid configuration from the hook fails that get only, and
     * rs_last_error() names the field. */
    assert_null(rs_budget_registry_get(r, "broken:x", 8));
    RS_TEST_EXPECT_LAST_ERROR("config_for_key returned an invalid configuration: "
                              "rs_budget_config.max_per_window: 0, must be >= 1");
    assert_int_equal(t.calls, 4);
    /* A tier change: remove the key; the next get asks the hook again. */
    assert_true(rs_budget_registry_remove(r, "guest", 5));
    assert_false(rs_budget_registry_remove(r, "guest", 5));
    assert_false(rs_budget_registry_remove(r, "nobody", 6));
    assert_false(rs_budget_registry_remove(NULL, "guest", 5));
    assert_false(rs_budget_registry_remove(r, NULL, 5));
    assert_int_equal(rs_budget_remaining(d), 10); /* the holder keeps the old one */
    rs_budget *d2 = rs_budget_registry_get(r, "guest", 5);
    assert_non_null(d2);
    assert_true(d2 != d);
    assert_int_equal(t.calls, 5);
    rs_budget_registry_release(r, d2);
    rs_budget_registry_release(r, f);
    rs_budget_registry_release(r, f2);
    rs_budget_registry_release(r, p);
    rs_budget_registry_release(r, d);
    rs_budget_registry_free(r);
}

static int create_registry(void *ctx, void **object)
{
    (void)ctx;
    rs_budget_registry_config rc = RS_BUDGET_REGISTRY_CONFIG_DEFAULT;
    rc.seed = 3;
    return rs_budget_registry_new_ex(&rc, NULL, (rs_budget_registry **)object);
}

static void destroy_registry(void *object) { rs_budget_registry_free(object); }

static void registry_allocation_failure_is_clean(void **state)
{
    (void)state;
    assert_true(fault_alloc_sweep(create_registry, destroy_registry, NULL) >= 2);

    /* A get that cannot allocate returns NULL and leaves nothing behind. */
    rs_budget_registry *r = NULL;
    fault_alloc_install();
    assert_int_equal(create_registry(NULL, (void **)&r), RS_OK);
    size_t live = fault_alloc_live();
    size_t n = 1;
    for (;; n++) {
        fault_alloc_fail_at(n);
        (void)rs_set_last_error(RS_OK, NULL);
        rs_budget *b = rs_budget_registry_get(r, "key", 3);
        fault_alloc_fail_at(0);
        if (b != NULL) {
            rs_budget_registry_release(r, b);
            break;
        }
        RS_TEST_EXPECT_LAST_ERROR("out of memory");
        assert_int_equal(fault_alloc_live(), live);
    }
    assert_int_equal(n, 4); /* budget, entry, bucket array */
    rs_budget_registry_free(r);
    assert_int_equal(fault_alloc_live(), 0);
    fault_alloc_uninstall();
}

#if RS_TEST_THREADS
static rs_budget_registry *shared_registry;
static unsigned next_seed;

static void *use_budgets(void *arg)
{
    (void)arg;
    uint64_t seed = __atomic_fetch_add(&next_seed, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 4000; i++) {
        seed = seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
        char key[2] = { (char)('a' + (seed >> 40) % 6), 0 };
        rs_budget *b = rs_budget_registry_get(shared_registry, key, 1);
        if (b == NULL) {
            return (void *)1;
        }
        rs_budget_ticket t;
        if (rs_budget_reserve(b, 1, &t) == RS_OK) {
            rs_budget_commit(b, &t, (seed >> 20) % 2);
        }
        rs_budget_registry_release(shared_registry, b);
    }
    return NULL;
}

/* Budgets shared by threads while a 3-key registry evicts constantly:
 * the references and each budget's owner stay consistent (ASan, TSan). */
static void registry_shared_between_threads(void **state)
{
    (void)state;
    rs_budget_config c = config(1000000, MINUTE, 10, 60);
    assert_int_equal(rs_budget_registry_new(&c, 3, NULL, &shared_registry), RS_OK);
    rs_test_run_threads(4, use_budgets, NULL);
    rs_budget_registry_free(shared_registry);
}
#endif

/* ---- metrics ------------------------------------------------------------------------ */

static void metrics_count_reservations(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget *b = per_minute(&m);
    rs_budget_ticket t1, t2, t3;
    assert_int_equal(rs_budget_reserve(b, 300, &t1), RS_OK);
    assert_int_equal(rs_budget_reserve(b, 400, &t2), RS_OK);
    assert_int_equal(rs_budget_reserve(b, 401, &t3), RS_E_BUDGET); /* above per request */
    assert_int_equal(rs_budget_reserve(b, 400, &t3), RS_E_BUDGET); /* 300 left */
    rs_budget_commit(b, &t1, 500);  /* 200 more than reserved */
    rs_budget_cancel(b, &t2);       /* spent nothing */
    rs_budget_snapshot s;
    assert_int_equal(rs_budget_metrics(b, &s), RS_OK);
    assert_int_equal(s.max_per_window, 1000);
    assert_int_equal(s.max_per_request, 400);
    assert_int_equal(s.used, 500);
    assert_int_equal(s.remaining, 500);
    assert_int_equal(s.granted, 2);
    assert_int_equal(s.refused, 2);
    assert_int_equal(s.granted_tokens, 700);
    assert_int_equal(s.spent_tokens, 500);
    /* Over the limit by a charged excess: used says so, remaining is 0. */
    assert_int_equal(rs_budget_reserve(b, 400, &t1), RS_OK);
    rs_budget_commit(b, &t1, 900);
    assert_int_equal(rs_budget_metrics_at(b, &s, 0), RS_OK);
    assert_int_equal(s.used, 1400);
    assert_int_equal(s.remaining, 0);
    /* A window later it has all left. */
    assert_int_equal(rs_budget_metrics_at(b, &s, 2 * MINUTE), RS_OK);
    assert_int_equal(s.used, 0);
    assert_int_equal(s.remaining, 1000);
    assert_int_equal(s.spent_tokens, 1400);
    assert_int_equal(rs_budget_metrics(NULL, &s), RS_E_INVAL);
    assert_int_equal(rs_budget_metrics(b, NULL), RS_E_INVAL);
    rs_budget_free(b);
}

static void registry_metrics_count_keys(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_budget_config c = RS_BUDGET_CONFIG_DEFAULT;
    rs_budget_registry *r = NULL;
    assert_int_equal(rs_budget_registry_new(&c, 2, rs_manual_clock_get(&m), &r), RS_OK);
    const char *keys[] = { "a", "b", "a", "c" }; /* c evicts b */
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(keys); i++) {
        rs_budget *b = rs_budget_registry_get(r, keys[i], 1);
        assert_non_null(b);
        rs_budget_registry_release(r, b);
    }
    assert_true(rs_budget_registry_remove(r, "a", 1));
    rs_registry_snapshot s;
    assert_int_equal(rs_budget_registry_metrics(r, &s), RS_OK);
    assert_int_equal(s.keys, 1);
    assert_int_equal(s.max_keys, 2);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.misses, 3);
    assert_int_equal(s.evictions, 1);
    assert_int_equal(s.removals, 1);
    assert_int_equal(rs_budget_registry_metrics(NULL, &s), RS_E_INVAL);
    assert_int_equal(rs_budget_registry_metrics(r, NULL), RS_E_INVAL);
    rs_budget_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_invalid_configs),
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test(reserve_takes_the_estimate_or_nothing),
        cmocka_unit_test(commit_refunds_or_charges_and_cancel_refunds),
        cmocka_unit_test(account_adapter_is_the_same_budget),
        cmocka_unit_test(window_edges_are_exact),
        cmocka_unit_test(wait_ns_counts_down_to_the_sub_bucket_that_frees_enough),
        cmocka_unit_test(expired_tickets_adjust_nothing),
        cmocka_unit_test(sub_bucket_count_sets_the_resolution),
        cmocka_unit_test(explicit_times_never_move_the_window_back),
        cmocka_unit_test(clock_versions_read_the_clock),
        cmocka_unit_test(huge_values_saturate),
        cmocka_unit_test(saturated_sub_buckets_are_never_forgotten),
        cmocka_unit_test(matches_the_reference_model),
        cmocka_unit_test(allocation_failure_is_clean),
        cmocka_unit_test(metrics_count_reservations),
        cmocka_unit_test(registry_metrics_count_keys),
#if RS_TEST_THREADS
        cmocka_unit_test(concurrent_reservations_never_overspend),
#endif
        cmocka_unit_test(registry_rejects_invalid_configs),
        cmocka_unit_test(registry_gives_each_key_its_own_budget),
        cmocka_unit_test(registry_evicts_the_least_recently_used),
        cmocka_unit_test(held_budget_outlives_its_eviction),
        cmocka_unit_test(registry_tiers_come_from_the_hook),
        cmocka_unit_test(registry_allocation_failure_is_clean),
#if RS_TEST_THREADS
        cmocka_unit_test(registry_shared_between_threads),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
