/* Leases (issue 16): batches of a Redis object's capacity handed out in the
 * process.
 *
 * Against the shared server of tools/test (RS_TEST_REDIS_URL); the objects
 * run on manual clocks, so lease lifetimes, refusals and sizes move only
 * when a test moves them. Limits are slow enough (a token per thousand
 * seconds) that the server's own clock changes nothing during a test, so
 * every count below is exact, not a timing bound. The over-admission bound
 * is shown the way it arises: the server's state moves on (here: it is
 * reset, as a refill or a slid window would) while a lease still holds
 * units.
 *
 * Without a server only the configuration checks run; the others skip. */
#include "support/fault_alloc.h"
#include "test_redis_common.h"

#include "resilience/policy.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if RS_TEST_THREADS
#include <pthread.h>
#include <stdatomic.h>
#endif

/* Seconds per token of the slow limits: nothing refills during a test. */
#define SLOW_RATE 0.001

/* What most cases start from: the shared server's pool and a manual clock
 * for the objects (their lease lifetimes and remembered refusals). */
typedef struct fixture {
    rs_manual_clock m;
    rs_redis *r;
} fixture;

static int fixture_setup(void **state)
{
    static fixture f;
    rs_manual_clock_init(&f.m, SEC);
    f.r = url != NULL ? make_pool(pool_config(url, NULL), NULL) : NULL;
    *state = &f;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *f = *state;
    rs_redis_free(f->r);
    return 0;
}

#define WITH_FIXTURE(test) cmocka_unit_test_setup_teardown(test, fixture_setup, fixture_teardown)

static rs_redis_lease_config lease(uint32_t instances, uint64_t max_units, uint64_t ttl_ns)
{
    rs_redis_lease_config l = RS_REDIS_LEASE_CONFIG_DEFAULT;
    l.instances = instances;
    l.max_units = max_units;
    l.ttl_ns = ttl_ns;
    return l;
}

/* An object's lease statistics, read through its rs_redis_*_lease_stats()
 * into `scratch` (the argument is evaluated before stats_ok runs). */
static rs_redis_lease_stats scratch;

static rs_redis_lease_stats stats_ok(int status)
{
    assert_int_equal(status, RS_OK);
    return scratch;
}

#define bucket_stats(tb) stats_ok(rs_redis_token_bucket_lease_stats((tb), &scratch))
#define window_stats(w) stats_ok(rs_redis_sliding_window_lease_stats((w), &scratch))
#define budget_stats(b) stats_ok(rs_redis_budget_lease_stats((b), &scratch))

/* Tokens the bucket `name` owes on the server now: (TAT - now) / interval,
 * rounded to the nearest token (the server's clock moves a few
 * milliseconds during a test: a millionth of a token at SLOW_RATE). */
static long long bucket_debt(redisContext *raw, const char *name, double rate)
{
    char key[160];
    full_key(key, sizeof key, name, "tb");
    redisReply *reply = redisCommand(raw, "GET %s", key);
    assert_non_null(reply);
    double tat = reply->type == REDIS_REPLY_STRING ? atof(reply->str) : 0;
    freeReplyObject(reply);
    reply = redisCommand(raw, "TIME");
    assert_non_null(reply);
    double now = (atof(reply->element[0]->str) - 1577836800.0) * 1e6 + atof(reply->element[1]->str);
    freeReplyObject(reply);
    double debt = tat > now ? (tat - now) * rate / 1e6 : 0;
    return llround(debt);
}

/* ------------------------------------------------------------------ */
/* configuration (no server)                                           */
/* ------------------------------------------------------------------ */

static void lease_configs_are_validated(void **state)
{
    (void)state;
    rs_redis *r = make_pool(pool_config("redis://127.0.0.1:1", NULL), NULL);
    rs_redis_token_bucket_config tc = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
    tc.redis = r;
    tc.name = "cfg";
    tc.burst = 100;
    rs_redis_token_bucket *tb = (rs_redis_token_bucket *)0x1;
    /* Off by default: the lease settings are not even looked at. */
    tc.lease.ttl_ns = 0;
    assert_int_equal(rs_redis_token_bucket_new(&tc, NULL, &tb), RS_OK);
    rs_redis_lease_stats s = bucket_stats(tb);
    assert_int_equal(s.max_units, 0);
    assert_int_equal(s.round_trips, 0);
    rs_redis_token_bucket_free(tb);
    tb = (rs_redis_token_bucket *)0x1;
    tc.lease = lease(2, 0, MS - 1);
    RS_TEST_EXPECT_INVALID(rs_redis_token_bucket_new(&tc, NULL, &tb),
                           "rs_redis_token_bucket_config.lease.ttl_ns");
    tc.lease = lease(2, 0, 3601 * SEC);
    RS_TEST_EXPECT_INVALID(rs_redis_token_bucket_new(&tc, NULL, &tb),
                           "rs_redis_token_bucket_config.lease.ttl_ns");
    tc.lease = lease(2, 101, SEC); /* more than the burst */
    RS_TEST_EXPECT_INVALID(rs_redis_token_bucket_new(&tc, NULL, &tb),
                           "rs_redis_token_bucket_config.lease.max_units");
    assert_ptr_equal(tb, (rs_redis_token_bucket *)0x1);
    tc.rate = 1e9;
    tc.burst = UINT64_C(1) << 40;
    tc.lease = lease(1, UINT64_C(1) << 32, SEC); /* more than a lease word holds */
    RS_TEST_EXPECT_INVALID(rs_redis_token_bucket_new(&tc, NULL, &tb),
                           "rs_redis_token_bucket_config.lease.max_units");
    tc.lease = lease(1, 0, 3600 * SEC); /* derived: capped by the lease word */
    assert_int_equal(rs_redis_token_bucket_new(&tc, NULL, &tb), RS_OK);
    assert_int_equal(bucket_stats(tb).max_units, UINT64_C(0xffffffff));
    rs_redis_token_bucket_free(tb);

    /* Derived sizes: the capacity one lifetime brings, never more than the
     * burst, split between the instances, at least 1. */
    static const struct {
        double rate;
        uint64_t burst;
        uint32_t instances;
        uint64_t ttl_ns;
        uint64_t expect;
    } sizes[] = {
        { 1000, 1000, 1, 100 * MS, 100 }, /* 1000/s over 100 ms */
        { 1000, 1000, 4, 100 * MS, 25 },
        { 1000, 50, 1, 100 * MS, 50 },    /* the burst caps it */
        { 1000, 50, 4, 100 * MS, 12 },
        { 1, 10, 4, 100 * MS, 1 },        /* a tenth of a token: at least 1 */
        { 100000, 1000000, 3, SEC, 33333 },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(sizes); i++) {
        tc.rate = sizes[i].rate;
        tc.burst = sizes[i].burst;
        tc.lease = lease(sizes[i].instances, 0, sizes[i].ttl_ns);
        assert_int_equal(rs_redis_token_bucket_new(&tc, NULL, &tb), RS_OK);
        assert_int_equal(bucket_stats(tb).max_units, sizes[i].expect);
        rs_redis_token_bucket_free(tb);
    }

    rs_redis_sliding_window_config wc = RS_REDIS_SLIDING_WINDOW_CONFIG_DEFAULT;
    wc.redis = r;
    wc.name = "cfg";
    wc.limit = 10;
    wc.lease = lease(1, 11, SEC);
    rs_redis_sliding_window *w = (rs_redis_sliding_window *)0x1;
    RS_TEST_EXPECT_INVALID(rs_redis_sliding_window_new(&wc, NULL, &w),
                           "rs_redis_sliding_window_config.lease.max_units");
    wc.lease = lease(1, 0, 0);
    RS_TEST_EXPECT_INVALID(rs_redis_sliding_window_new(&wc, NULL, &w),
                           "rs_redis_sliding_window_config.lease.ttl_ns");
    assert_ptr_equal(w, (rs_redis_sliding_window *)0x1);
    rs_redis_budget_config bc = RS_REDIS_BUDGET_CONFIG_DEFAULT;
    bc.redis = r;
    bc.name = "cfg";
    bc.lease = lease(1, bc.max_per_window + 1, SEC);
    rs_redis_budget *b = (rs_redis_budget *)0x1;
    RS_TEST_EXPECT_INVALID(rs_redis_budget_new(&bc, NULL, &b),
                           "rs_redis_budget_config.lease.max_units");
    assert_ptr_equal(b, (rs_redis_budget *)0x1);

    rs_redis_lease_stats none;
    RS_TEST_EXPECT_INVALID(rs_redis_token_bucket_lease_stats(NULL, &none),
                           "rs_redis_token_bucket_lease_stats");
    rs_redis_free(r);
}

/* ------------------------------------------------------------------ */
/* token bucket                                                        */
/* ------------------------------------------------------------------ */

/* Sizes adapt to demand; every token handed out was granted by the server
 * once; what a lease did not use goes back when it expires and at free. */
static void bucket_leases_grow_and_give_back(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    redisContext *raw = raw_connect();
    rs_redis_token_bucket *tb = make_bucket_with(r, "lease-tb", SLOW_RATE, 1000,
                                                 RS_REDIS_FAIL_CLOSED, 1, lease(1, 8, SEC),
                                                 rs_manual_clock_get(&f->m));
    /* The first lease is the request itself; then 2, 4, 8, 8: each runs
     * out before it expires, so the next doubles, up to max_units. */
    static const uint64_t leases_after[] = { 1, 2, 2, 3, 3, 3, 3, 4 };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(leases_after); i++) {
        assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), RS_OK);
        rs_redis_lease_stats s = bucket_stats(tb);
        assert_int_equal(s.leases, leases_after[i]);
    }
    rs_redis_lease_stats s = bucket_stats(tb);
    assert_int_equal(s.leased_units, 1 + 2 + 4 + 8);
    assert_int_equal(s.held_units, 1 + 2 + 4 + 8 - 8);
    assert_int_equal(s.round_trips, 4);
    /* The server counted every leased token, used or not. */
    assert_int_equal(bucket_debt(raw, "lease-tb", SLOW_RATE), 15);
    /* An expired lease is not drawn on: the next call gives its 7 tokens
     * back and takes a new one, halved (it expired more than half unused). */
    rs_manual_clock_advance(&f->m, SEC);
    assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), RS_OK);
    s = bucket_stats(tb);
    assert_int_equal(s.returned_units, 7);
    assert_int_equal(s.leases, 5);
    assert_int_equal(s.leased_units, 15 + 4);
    assert_int_equal(s.held_units, 3);
    assert_int_equal(bucket_debt(raw, "lease-tb", SLOW_RATE), 15 - 7 + 4);
    /* Freeing gives the rest back: the server owes exactly what was used. */
    rs_redis_token_bucket_free(tb);
    assert_int_equal(bucket_debt(raw, "lease-tb", SLOW_RATE), 9);
    redisFree(raw);
}

/* A bucket with leases and one without share the same tokens. */
static void bucket_leases_and_exact_clients_share_tokens(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    rs_redis_token_bucket *leased = make_bucket_with(r, "lease-mix", SLOW_RATE, 20,
                                                     RS_REDIS_FAIL_CLOSED, 1, lease(2, 10, SEC),
                                                     rs_manual_clock_get(&f->m));
    rs_redis_token_bucket *exact = make_bucket(r, "lease-mix", SLOW_RATE, 20,
                                               RS_REDIS_FAIL_CLOSED, 1, NULL);
    int granted = 0;
    for (int i = 0; i < 40; i++) {
        granted += rs_redis_token_bucket_try_acquire(leased, 1) == RS_OK;
        granted += rs_redis_token_bucket_try_acquire(exact, 1) == RS_OK;
    }
    /* The leased bucket's held tokens are counted but not handed out. */
    rs_redis_lease_stats s = bucket_stats(leased);
    assert_int_equal((uint64_t)granted + s.held_units, 20);
    /* A request larger than what is left is refused, and the wait says when. */
    uint64_t wait = 0;
    assert_int_equal(rs_redis_token_bucket_reserve(exact, 1, 0, &wait), RS_E_LIMITED);
    assert_true(wait > 900 * SEC && wait <= 1000 * SEC);
    rs_redis_token_bucket_free(exact);
    rs_redis_token_bucket_free(leased);
}

/* A refusal is remembered for the wait the server gave: the same request
 * is refused again without a round trip until then (on the bucket's
 * clock), then asked again. */
static void bucket_refusals_are_remembered(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    rs_redis_token_bucket *tb = make_bucket_with(r, "lease-refused", SLOW_RATE, 3,
                                                 RS_REDIS_FAIL_CLOSED, 1, lease(1, 3, 3600 * SEC),
                                                 rs_manual_clock_get(&f->m));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), RS_OK);
    }
    uint64_t trips = bucket_stats(tb).round_trips;
    uint64_t wait = 0;
    assert_int_equal(rs_redis_token_bucket_reserve(tb, 1, 0, &wait), RS_E_LIMITED);
    assert_int_equal(bucket_stats(tb).round_trips, trips + 1);
    assert_true(wait > 990 * SEC && wait <= 1000 * SEC);
    uint64_t first = wait;
    rs_manual_clock_advance(&f->m, 100 * SEC);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(rs_redis_token_bucket_reserve(tb, 1, 0, &wait), RS_E_LIMITED);
    }
    assert_int_equal(wait, first - 100 * SEC); /* the same wait, 100 s on */
    assert_int_equal(bucket_stats(tb).round_trips, trips + 1);
    /* Another size, or a caller willing to wait that long, asks the server. */
    assert_int_equal(rs_redis_token_bucket_reserve(tb, 2, 0, &wait), RS_E_LIMITED);
    assert_int_equal(bucket_stats(tb).round_trips, trips + 2);
    assert_int_equal(rs_redis_token_bucket_reserve(tb, 1, 2000 * SEC, &wait), RS_OK);
    assert_true(wait > 990 * SEC && wait <= 1000 * SEC); /* reserved ahead, not leased */
    assert_int_equal(bucket_stats(tb).round_trips, trips + 3);
    assert_int_equal(bucket_stats(tb).held_units, 0);
    rs_redis_token_bucket_free(tb);
}

/* The over-admission bound, as it arises: a lease holds units while the
 * server's state moves on (a bucket that refilled completely: here its key
 * is deleted). The lease's holder then hands out what it holds on top of a
 * full burst that others take: at most its held units, never more, and
 * nothing once it has run out. */
static void bucket_over_admission_is_at_most_the_held_units(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    redisContext *raw = raw_connect();
    enum { BURST = 50, CAP = 16 };
    rs_redis_token_bucket *a = make_bucket_with(r, "lease-bound", SLOW_RATE, BURST,
                                                RS_REDIS_FAIL_CLOSED, 1, lease(2, CAP, 3600 * SEC),
                                                rs_manual_clock_get(&f->m));
    /* A's lease grows to CAP: 1 + 2 + 4 + 8 + 16 tokens taken, 1 + 2 + 4 +
     * 8 + 1 used. */
    int used = 0;
    while (bucket_stats(a).leased_units < 31) {
        assert_int_equal(rs_redis_token_bucket_try_acquire(a, 1), RS_OK);
        used++;
    }
    uint64_t held = bucket_stats(a).held_units;
    assert_int_equal(held, CAP - 1);
    assert_int_equal(used, 16);
    /* The bucket refills completely (the server forgets it). */
    key_ok(raw, "DEL %s", "lease-bound", "tb");
    key_ok(raw, "DEL %s", "lease-bound", "tb:r");
    rs_redis_token_bucket *b = make_bucket(r, "lease-bound", SLOW_RATE, BURST,
                                           RS_REDIS_FAIL_CLOSED, 1, NULL);
    int after = 0;
    for (int i = 0; i < 2 * BURST; i++) {
        after += rs_redis_token_bucket_try_acquire(b, 1) == RS_OK;
        after += rs_redis_token_bucket_try_acquire(a, 1) == RS_OK;
    }
    print_message("# after the reset: %d granted of a burst of %d; held before: %llu\n", after,
                  BURST, (unsigned long long)held);
    /* The exact mode would grant BURST; leases add at most what they held. */
    assert_true(after <= BURST + (int)held);
    assert_true(after >= BURST);
    assert_int_equal(bucket_stats(a).held_units, 0);
    rs_redis_token_bucket_free(b);
    rs_redis_token_bucket_free(a);
    redisFree(raw);
}

/* A refund only gives back what the lease still holds on the TAT line.
 * Leases are segments of that line; when an earlier lease gives tokens
 * back, a later one's segment moves earlier and starts to refill sooner,
 * so after a while it holds less than its unused tokens: giving those all
 * back would erase tokens others took since. Here a's unused tokens go
 * back first, time passes, c takes 10 tokens, then b gives its unused
 * tokens back: c's 10 must stay owed, however long the pause was. */
static void bucket_refunds_never_exceed_what_a_lease_holds(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    redisContext *raw = raw_connect();
    /* 100 tokens a second: a token every 10 ms of the server's clock. */
    const double rate = 100;
    rs_redis_token_bucket *a = make_bucket_with(r, "lease-shift", rate, 100, RS_REDIS_FAIL_CLOSED,
                                                1, lease(2, 8, 3600 * SEC),
                                                rs_manual_clock_get(&f->m));
    rs_redis_token_bucket *b = make_bucket_with(r, "lease-shift", rate, 100, RS_REDIS_FAIL_CLOSED,
                                                1, lease(2, 8, 3600 * SEC),
                                                rs_manual_clock_get(&f->m));
    rs_redis_token_bucket *c = make_bucket(r, "lease-shift", rate, 100, RS_REDIS_FAIL_CLOSED, 1,
                                           NULL);
    /* Both grow to a lease of 8 with 7 unused; b's is the last segment. */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(rs_redis_token_bucket_try_acquire(a, 1), RS_OK);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(rs_redis_token_bucket_try_acquire(b, 1), RS_OK);
    }
    assert_int_equal(bucket_stats(a).held_units, 7);
    assert_int_equal(bucket_stats(b).held_units, 7);
    rs_redis_token_bucket_free(a);     /* b's segment moves 70 ms earlier */
    rs_clock_sleep(NULL, 200 * MS);    /* and most of it refills */
    uint64_t t0 = wall_us();           /* before c's take: counts all refill since */
    assert_int_equal(rs_redis_token_bucket_try_acquire(c, 10), RS_OK);
    rs_redis_token_bucket_free(b);
    long long debt = bucket_debt(raw, "lease-shift", rate);
    double refilled = rate * (double)(wall_us() - t0) / 1e6;
    print_message("# after b's refund the bucket owes %lld tokens (c took 10, %.1f refilled "
                  "since)\n", debt, refilled);
    assert_true((double)debt >= 10 - refilled - 1);
    rs_redis_token_bucket_free(c);
    redisFree(raw);
}

/* ------------------------------------------------------------------ */
/* sliding windows                                                     */
/* ------------------------------------------------------------------ */

static uint64_t window_count(rs_redis_sliding_window *w)
{
    uint64_t count = 0;
    assert_int_equal(rs_redis_sliding_window_count(w, &count), RS_OK);
    return count;
}

/* A log lease is one entry of several units. Given back while it is the
 * newest entry, it shrinks at once; an older one gives back its first units,
 * which the count stops covering once every older entry has left. */
static void log_leases_are_entries_given_back(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    redisContext *raw = raw_connect();
    rs_redis_sliding_window *a = make_window_with(r, "lease-log", 100, 600 * SEC,
                                                  RS_REDIS_WINDOW_LOG, RS_REDIS_FAIL_CLOSED,
                                                  lease(2, 8, SEC), rs_manual_clock_get(&f->m));
    for (int i = 0; i < 8; i++) { /* leases of 1, 2, 4, 8 */
        assert_int_equal(rs_redis_sliding_window_try_acquire(a, 1), RS_OK);
    }
    assert_int_equal(key_integer(raw, "ZCARD %s", "lease-log", "log"), 4);
    assert_int_equal(window_count(a), 15);
    assert_int_equal(window_stats(a).held_units, 7);
    /* Expired while newest: the 7 go back exactly, and a new lease of 4
     * (halved) is a fifth entry. */
    rs_manual_clock_advance(&f->m, SEC);
    assert_int_equal(rs_redis_sliding_window_try_acquire(a, 1), RS_OK);
    assert_int_equal(window_count(a), 15 - 7 + 4);
    assert_int_equal(key_integer(raw, "ZCARD %s", "lease-log", "log"), 5);
    /* Another instance's lease comes after a's: a's is no longer the newest
     * when it goes back at free. */
    rs_redis_sliding_window *b = make_window_with(r, "lease-log", 100, 600 * SEC,
                                                  RS_REDIS_WINDOW_LOG, RS_REDIS_FAIL_CLOSED,
                                                  lease(2, 8, SEC), rs_manual_clock_get(&f->m));
    assert_int_equal(rs_redis_sliding_window_try_acquire(b, 1), RS_OK);
    assert_int_equal(window_count(a), 13);
    rs_redis_sliding_window_free(a); /* 3 units back, from the entry's start */
    assert_int_equal(window_count(b), 13); /* still spanned by older entries */
    char key[128];
    full_key(key, sizeof key, "lease-log", "log");
    redisReply *reply = redisCommand(raw, "ZRANGE %s 0 -1", key);
    assert_non_null(reply);
    assert_int_equal(reply->elements, 6);
    /* Entries: 0:1 1:2 3:4 7:8->7:1 8:4->11:1 12:1 (b's). */
    assert_string_equal(reply->element[3]->str, "000000000000007:1");
    assert_string_equal(reply->element[4]->str, "000000000000011:1");
    assert_string_equal(reply->element[5]->str, "000000000000012:1");
    /* Once the entries before it have left, the gap is not counted. */
    for (size_t i = 0; i < 4; i++) {
        redisReply *rem = redisCommand(raw, "ZREM %s %s", key, reply->element[i]->str);
        freeReplyObject(rem);
    }
    freeReplyObject(reply);
    assert_int_equal(window_count(b), 2); /* 11:1 and 12:1 */
    rs_redis_sliding_window_free(b);
    redisFree(raw);
}

/* The counter: a lease is an addition to the current fixed window, and
 * what it did not use goes back to that window. */
static void counter_leases_give_back_to_their_window(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    rs_redis_sliding_window *w = make_window_with(r, "lease-cnt", 100, 3600 * SEC,
                                                  RS_REDIS_WINDOW_COUNTER, RS_REDIS_FAIL_CLOSED,
                                                  lease(1, 8, SEC), rs_manual_clock_get(&f->m));
    for (int i = 0; i < 8; i++) {
        assert_int_equal(rs_redis_sliding_window_try_acquire(w, 1), RS_OK);
    }
    assert_int_equal(window_count(w), 15);
    rs_manual_clock_advance(&f->m, SEC);
    assert_int_equal(rs_redis_sliding_window_try_acquire(w, 1), RS_OK);
    assert_int_equal(window_count(w), 15 - 7 + 4);
    rs_redis_sliding_window_free(w);
    rs_redis_sliding_window *exact = make_window(r, "lease-cnt", 100, 3600 * SEC,
                                                 RS_REDIS_WINDOW_COUNTER, RS_REDIS_FAIL_CLOSED);
    assert_int_equal(window_count(exact), 9); /* what was used */
    rs_redis_sliding_window_free(exact);
}

/* The bound for windows: units held in a lease taken before the window
 * slid (here: its key is deleted) come on top of the limit, never more. */
static void window_over_admission_is_at_most_the_held_units(void **state)
{
    (void)state;
    NEED_SERVER();
    static const rs_redis_window_kind kinds[] = { RS_REDIS_WINDOW_LOG, RS_REDIS_WINDOW_COUNTER };
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(kinds); k++) {
        rs_manual_clock m;
        rs_manual_clock_init(&m, SEC);
        rs_redis *r = make_pool(pool_config(url, NULL), NULL);
        redisContext *raw = raw_connect();
        const char *name = kinds[k] == RS_REDIS_WINDOW_LOG ? "lease-wbound-log"
                                                           : "lease-wbound-cnt";
        enum { LIMIT = 40, CAP = 8 };
        rs_redis_sliding_window *a = make_window_with(r, name, LIMIT, 3600 * SEC, kinds[k],
                                                      RS_REDIS_FAIL_CLOSED,
                                                      lease(2, CAP, 3600 * SEC),
                                                      rs_manual_clock_get(&m));
        for (int i = 0; i < 8; i++) {
            assert_int_equal(rs_redis_sliding_window_try_acquire(a, 1), RS_OK);
        }
        uint64_t held = window_stats(a).held_units;
        assert_int_equal(held, CAP - 1);
        key_ok(raw, "DEL %s", name, kinds[k] == RS_REDIS_WINDOW_LOG ? "log" : "cnt");
        rs_redis_sliding_window *b = make_window(r, name, LIMIT, 3600 * SEC, kinds[k],
                                                 RS_REDIS_FAIL_CLOSED);
        int after = 0;
        for (int i = 0; i < 2 * LIMIT; i++) {
            after += rs_redis_sliding_window_try_acquire(b, 1) == RS_OK;
            after += rs_redis_sliding_window_try_acquire(a, 1) == RS_OK;
        }
        print_message("# %s: %d admitted after the window slid, limit %d, %llu held\n", name,
                      after, LIMIT, (unsigned long long)held);
        assert_true(after <= LIMIT + (int)held);
        assert_true(after >= LIMIT);
        rs_redis_sliding_window_free(b);
        rs_redis_sliding_window_free(a);
        redisFree(raw);
        rs_redis_free(r);
    }
}

/* ------------------------------------------------------------------ */
/* budgets                                                             */
/* ------------------------------------------------------------------ */

static uint64_t remaining(rs_redis_budget *b, const char *key)
{
    uint64_t left = 0;
    assert_int_equal(rs_redis_budget_remaining(b, key, key != NULL ? strlen(key) : 0, &left),
                     RS_OK);
    return left;
}

/* A key's lease serves reservations; commits settle the difference with the
 * lease while it is open and with the server after; free gives the rest
 * back, so the server ends up charging exactly what was used. */
static void budget_leases_settle_commits(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    rs_redis_budget *b = make_budget_with(r, "lease-budget", 1000, 100, 3600 * SEC,
                                          RS_REDIS_FAIL_CLOSED, 1, lease(1, 200, SEC),
                                          rs_manual_clock_get(&f->m));
    rs_redis_budget_ticket t1, t2, t3, t4;
    assert_int_equal(rs_redis_budget_reserve(b, "alice", 5, 10, &t1), RS_OK);
    assert_int_equal(t1.source, RS_REDIS_TICKET_LEASE);
    assert_int_equal(t1.reserved, 10);
    assert_int_equal(remaining(b, "alice"), 990); /* the first lease is the request */
    /* Less used than reserved: back into the open lease, no round trip. */
    assert_int_equal(rs_redis_budget_commit(b, "alice", 5, &t1, 4), RS_OK);
    assert_int_equal(budget_stats(b).held_units, 6);
    assert_int_equal(rs_redis_budget_reserve(b, "alice", 5, 5, &t2), RS_OK);
    assert_int_equal(t2.lease, t1.lease);
    assert_int_equal(budget_stats(b).round_trips, 1);
    /* Short again: the next lease is twice the larger of 1 and 10. */
    assert_int_equal(rs_redis_budget_reserve(b, "alice", 5, 10, &t3), RS_OK);
    assert_true(t3.lease != t1.lease);
    rs_redis_lease_stats s = budget_stats(b);
    assert_int_equal(s.leases, 2);
    assert_int_equal(s.leased_units, 10 + 20);
    assert_int_equal(s.held_units, 10);
    assert_int_equal(s.returned_units, 1);
    assert_int_equal(remaining(b, "alice"), 1000 - 10 - 20 + 1);
    /* t2's lease is closed: its 5 tokens, 2 used, go back to the server. */
    assert_int_equal(rs_redis_budget_commit(b, "alice", 5, &t2, 2), RS_OK);
    assert_int_equal(remaining(b, "alice"), 1000 - 30 + 1 + 3);
    /* More than reserved: from the lease while it has them... */
    assert_int_equal(rs_redis_budget_commit(b, "alice", 5, &t3, 15), RS_OK);
    assert_int_equal(budget_stats(b).held_units, 5);
    /* ...else charged on the server, as a ticket from it would be. */
    assert_int_equal(rs_redis_budget_reserve(b, "alice", 5, 5, &t4), RS_OK);
    assert_int_equal(budget_stats(b).held_units, 0);
    assert_int_equal(rs_redis_budget_commit(b, "alice", 5, &t4, 25), RS_OK);
    uint64_t used = 4 + 2 + 15 + 25;
    rs_redis_budget_free(b);
    rs_redis_budget *exact = make_budget(r, "lease-budget", 1000, 100, 3600 * SEC,
                                         RS_REDIS_FAIL_CLOSED, 1, NULL);
    assert_int_equal(remaining(exact, "alice"), 1000 - used);
    rs_redis_budget_free(exact);
}

/* Two keys on one lease cell: the second takes it over, and the first's
 * unused tokens go back to the first's key in the same round trip. */
static void budget_lease_cells_change_hands(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    rs_redis_budget *b = make_budget_with(r, "lease-cells", 1000, 100, 3600 * SEC,
                                          RS_REDIS_FAIL_CLOSED, 1, lease(1, 100, 3600 * SEC),
                                          rs_manual_clock_get(&f->m));
    rs_redis_budget_ticket t;
    /* "first" holds a lease of 20 with 10 unused. */
    assert_int_equal(rs_redis_budget_reserve(b, "first", 5, 10, &t), RS_OK);
    assert_int_equal(rs_redis_budget_reserve(b, "first", 5, 10, &t), RS_OK);
    assert_int_equal(budget_stats(b).held_units, 10);
    /* Keys until one lands in first's cell (the cells' secret is fixed);
     * its first lease is its request: another key's demand is not its own. */
    char other[32] = "";
    for (int i = 0; i < 1000 && budget_stats(b).returned_units == 0; i++) {
        (void)snprintf(other, sizeof other, "other-%d", i);
        assert_int_equal(rs_redis_budget_reserve(b, other, strlen(other), 1, &t), RS_OK);
    }
    assert_int_equal(budget_stats(b).returned_units, 10);
    assert_int_equal(remaining(b, "first"), 1000 - 20);
    assert_int_equal(remaining(b, other), 1000 - 1);
    rs_redis_budget_free(b);
}

/* The budget's bound: a lease held while the server forgot the key's usage
 * (here: the key is deleted, as a rolled window would) adds at most what it
 * held. Keys too long for a cell and reservations of 0 are exact. */
static void budget_over_admission_is_at_most_the_held_units(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    redisContext *raw = raw_connect();
    enum { MAX = 100, CAP = 32 };
    rs_redis_budget *a = make_budget_with(r, "lease-bbound", MAX, 4, 3600 * SEC,
                                          RS_REDIS_FAIL_CLOSED, 1, lease(2, CAP, 3600 * SEC),
                                          rs_manual_clock_get(&f->m));
    rs_redis_budget_ticket t;
    while (budget_stats(a).leased_units < 1 + 2 + 4 + 8 + 16 + 32) {
        assert_int_equal(rs_redis_budget_reserve(a, NULL, 0, 1, &t), RS_OK);
    }
    uint64_t held = budget_stats(a).held_units;
    assert_int_equal(held, CAP - 1);
    key_ok(raw, "DEL %s", "lease-bbound", "budget");
    rs_redis_budget *b = make_budget(r, "lease-bbound", MAX, 4, 3600 * SEC,
                                     RS_REDIS_FAIL_CLOSED, 1, NULL);
    uint64_t after = 0;
    for (int i = 0; i < 2 * MAX; i++) {
        after += rs_redis_budget_reserve(b, NULL, 0, 1, &t) == RS_OK;
        after += rs_redis_budget_reserve(a, NULL, 0, 1, &t) == RS_OK;
    }
    print_message("# budget: %llu reserved after the window rolled, max %d, %llu held\n",
                  (unsigned long long)after, MAX, (unsigned long long)held);
    assert_true(after <= MAX + held);
    assert_true(after >= MAX);
    /* Exact: a reservation of 0, and a key longer than a cell holds. */
    uint64_t trips = budget_stats(a).round_trips;
    assert_int_equal(rs_redis_budget_reserve(a, NULL, 0, 0, &t), RS_OK);
    assert_int_equal(t.source, RS_REDIS_TICKET_REDIS);
    char longkey[RS_TEST_ARRAY_LEN("0123456789") * 7];
    memset(longkey, 'k', sizeof longkey);
    assert_int_equal(rs_redis_budget_reserve(a, longkey, sizeof longkey, 4, &t), RS_OK);
    assert_int_equal(t.source, RS_REDIS_TICKET_REDIS);
    assert_int_equal(budget_stats(a).round_trips, trips);
    rs_redis_budget_free(b);
    rs_redis_budget_free(a);
    redisFree(raw);
}

static rs_verdict spend(void *ctx, rs_attempt *attempt)
{
    (void)ctx;
    attempt->tokens_used = 7;
    return RS_SUCCESS;
}

/* Through rs_account (rs_policy): the lease ticket travels in the
 * account's ticket and its commit finds the lease again. */
static void budget_lease_tickets_pass_through_a_policy(void **state)
{
    (void)state;
    NEED_SERVER();
    rs_redis *r = make_pool(pool_config(url, NULL), NULL);
    rs_redis_budget *b = make_budget_with(r, "lease-policy", 1000, 100, 3600 * SEC,
                                          RS_REDIS_FAIL_CLOSED, 1, lease(1, 100, 3600 * SEC), NULL);
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.token_estimate = 20;
    rs_policy *p = NULL;
    assert_int_equal(rs_policy_new(&pc, NULL, &p), RS_OK);
    rs_redis_budget_key user = { b, "carol", 5 };
    rs_call_options opts = { .account = rs_redis_budget_account(&user) };
    for (int i = 0; i < 10; i++) {
        assert_int_equal(rs_call_with(p, &opts, spend, NULL, NULL), RS_OK);
    }
    rs_redis_lease_stats s = budget_stats(b);
    print_message("# 10 calls: %llu lease round trips\n", (unsigned long long)s.round_trips);
    assert_true(s.round_trips < 10);
    rs_policy_free(p);
    rs_redis_budget_free(b);
    rs_redis_budget *exact = make_budget(r, "lease-policy", 1000, 100, 3600 * SEC,
                                         RS_REDIS_FAIL_CLOSED, 1, NULL);
    assert_int_equal(remaining(exact, "carol"), 1000 - 10 * 7);
    rs_redis_budget_free(exact);
    rs_redis_free(r);
}

/* ------------------------------------------------------------------ */
/* failures                                                            */
/* ------------------------------------------------------------------ */

/* One leased object of each kind, for the allocation-failure sweeps. */
typedef enum leased_kind { LEASED_BUCKET, LEASED_WINDOW, LEASED_BUDGET } leased_kind;
static leased_kind sweep_kind; /* which kind create_leased and destroy_leased make */

static int create_leased(void *ctx, void **object)
{
    rs_redis_lease_config l = lease(4, 0, SEC);
    if (sweep_kind == LEASED_BUCKET) {
        rs_redis_token_bucket_config c = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
        c.redis = ctx;
        c.name = "sweep";
        c.lease = l;
        return rs_redis_token_bucket_new(&c, NULL, (rs_redis_token_bucket **)object);
    }
    if (sweep_kind == LEASED_WINDOW) {
        rs_redis_sliding_window_config c = RS_REDIS_SLIDING_WINDOW_CONFIG_DEFAULT;
        c.redis = ctx;
        c.name = "sweep";
        c.lease = l;
        return rs_redis_sliding_window_new(&c, NULL, (rs_redis_sliding_window **)object);
    }
    rs_redis_budget_config c = RS_REDIS_BUDGET_CONFIG_DEFAULT;
    c.redis = ctx;
    c.name = "sweep";
    c.lease = l;
    return rs_redis_budget_new(&c, NULL, (rs_redis_budget **)object);
}

static void destroy_leased(void *object)
{
    switch (sweep_kind) {
    case LEASED_BUCKET:
        rs_redis_token_bucket_free(object);
        break;
    case LEASED_WINDOW:
        rs_redis_sliding_window_free(object);
        break;
    case LEASED_BUDGET:
        rs_redis_budget_free(object);
        break;
    }
}

/* Every allocation a leased object makes can fail cleanly. */
static void leased_objects_survive_allocation_failures(void **state)
{
    (void)state;
    rs_redis *r = make_pool(pool_config("redis://127.0.0.1:1", NULL), NULL);
    /* object, key, lease cells, their condition variable; the refund key */
    size_t expect_cond = RS_TEST_THREADS ? 1 : 0;
    static const size_t allocations[] = { 4, 3, 3 };
    for (int kind = LEASED_BUCKET; kind <= LEASED_BUDGET; kind++) {
        sweep_kind = (leased_kind)kind;
        assert_int_equal(fault_alloc_sweep(create_leased, destroy_leased, r),
                         allocations[kind] + expect_cond);
    }
    rs_redis_free(r);
}

/* Redis unreachable: a refill fails and the failure policy answers, as
 * without leases; nothing is leased. */
static void failed_refills_apply_the_failure_policy(void **state)
{
    (void)state;
    rs_manual_clock pm, m;
    rs_manual_clock_init(&pm, SEC);
    rs_manual_clock_init(&m, SEC);
    char where[64];
    (void)snprintf(where, sizeof where, "redis://127.0.0.1:%u", free_port());
    rs_redis *r = make_pool(pool_config(where, NULL), rs_manual_clock_get(&pm));
    static const rs_redis_failure modes[] = { RS_REDIS_FAIL_CLOSED, RS_REDIS_FAIL_OPEN,
                                              RS_REDIS_FAIL_LOCAL };
    static const int expect[] = { RS_E_IO, RS_OK, RS_OK };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(modes); i++) {
        rs_redis_token_bucket_config c = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
        c.redis = r;
        c.name = "down";
        c.on_failure = modes[i];
        c.lease = lease(2, 5, SEC);
        rs_redis_token_bucket *tb = NULL;
        assert_int_equal(rs_redis_token_bucket_new(&c, rs_manual_clock_get(&m), &tb), RS_OK);
        (void)rs_set_last_error(RS_OK, NULL);
        assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), expect[i]);
        assert_non_null(strstr(rs_last_error(), "redis 127.0.0.1"));
        rs_redis_lease_stats s = bucket_stats(tb);
        assert_int_equal(s.leases, 0);
        assert_int_equal(s.held_units, 0);
        rs_redis_token_bucket_free(tb);
    }
    rs_redis_free(r);
}

/* A lease taken before the server went away is still drawn on (the server
 * granted it); the next refill meets the outage and the policy answers,
 * within the pool's timeouts; after a restart leases work again. */
static void leases_outlive_an_outage(void **state)
{
    (void)state;
    NEED_OWN_SERVER();
    rs_manual_clock m;
    rs_manual_clock_init(&m, SEC);
    rs_redis *r = make_pool(own_pool_config(NULL), NULL);
    rs_redis_token_bucket *tb = make_bucket_with(r, "outage", SLOW_RATE, 1000, RS_REDIS_FAIL_CLOSED,
                                                 1, lease(1, 8, 3600 * SEC),
                                                 rs_manual_clock_get(&m));
    for (int i = 0; i < 8; i++) {
        assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), RS_OK);
    }
    assert_int_equal(bucket_stats(tb).held_units, 7);
    own_server_signal(SIGKILL);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), RS_OK);
    }
    uint64_t t0 = rs_test_now_ns();
    assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), RS_E_IO);
    assert_true(rs_test_now_ns() - t0 < 2 * (100 + 100) * MS);
    assert_non_null(strstr(rs_last_error(), "redis 127.0.0.1:"));
    assert_true(own_server_start());
    uint64_t start = rs_test_now_ns();
    int rc;
    do {
        rs_clock_sleep(NULL, 10 * MS);
        rc = rs_redis_token_bucket_try_acquire(tb, 1);
    } while (rc == RS_E_IO && rs_test_now_ns() - start < 3 * SEC);
    assert_int_equal(rc, RS_OK);
    assert_true(bucket_stats(tb).leases >= 5);
    rs_redis_token_bucket_free(tb);
    rs_redis_free(r);
}

/* A refill whose reply is lost (the server froze past the command
 * timeout): the caller gets the failure policy's answer, the leftover it
 * carried is never used again, and whatever the server did with the
 * request once it woke, it never charged less than the callers got. */
static void lost_refills_never_hand_out_more_than_charged(void **state)
{
    (void)state;
    NEED_OWN_SERVER();
    rs_manual_clock m;
    rs_manual_clock_init(&m, SEC);
    rs_redis *r = make_pool(own_pool_config(NULL), NULL);
    rs_redis_token_bucket *tb = make_bucket_with(r, "lost", SLOW_RATE, 1000, RS_REDIS_FAIL_CLOSED,
                                                 1, lease(1, 8, 3600 * SEC),
                                                 rs_manual_clock_get(&m));
    int used = 0;
    for (int i = 0; i < 12; i++) { /* leases 1, 2, 4, 8: 3 held */
        assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), RS_OK);
        used++;
    }
    assert_int_equal(bucket_stats(tb).held_units, 3);
    rs_manual_clock_advance(&m, 3600 * SEC); /* expired: the next call refills */
    own_server_signal(SIGSTOP);
    assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), RS_E_IO);
    assert_int_equal(bucket_stats(tb).held_units, 0); /* the 3 went with the request */
    (void)kill(own.pid, SIGCONT);
    /* Wait for the pool to come back, then read what the server owes. */
    uint64_t start = rs_test_now_ns();
    int rc;
    do {
        rs_clock_sleep(NULL, 10 * MS);
        rc = rs_redis_token_bucket_wait_ns(tb, 1, &(uint64_t){ 0 });
    } while (rc == RS_E_IO && rs_test_now_ns() - start < 3 * SEC);
    assert_int_equal(rc, RS_OK);
    redisContext *raw = redisConnectWithTimeout("127.0.0.1", (int)own.port,
                                                (struct timeval){ 2, 0 });
    assert_non_null(raw);
    redisReply *reply = redisCommand(raw, "AUTH s3cret");
    freeReplyObject(reply);
    char key[160];
    full_key(key, sizeof key, "lost", "tb");
    reply = redisCommand(raw, "GET %s", key);
    double tat = reply != NULL && reply->type == REDIS_REPLY_STRING ? atof(reply->str) : 0;
    freeReplyObject(reply);
    reply = redisCommand(raw, "TIME");
    double now = (atof(reply->element[0]->str) - 1577836800.0) * 1e6 +
                 atof(reply->element[1]->str);
    freeReplyObject(reply);
    long long owed = llround((tat - now) * SLOW_RATE / 1e6);
    print_message("# lost refill: %d used, the server charges %lld\n", used, owed);
    assert_true(owed >= used);
    redisFree(raw);
    rs_redis_token_bucket_free(tb);
    rs_redis_free(r);
}

/* ------------------------------------------------------------------ */
/* metrics                                                            */
/* ------------------------------------------------------------------ */

/* A decision answered from a lease is a decision: counted by its answer,
 * and as leased when it made no round trip of its own, so the leased ones
 * and the pool's commands add up to every decision. The lease statistics
 * are families of the exporter for each kind with leases, left out for an
 * object without. */
static void leased_decisions_are_counted_and_exported(void **state)
{
    NEED_SERVER();
    fixture *f = *state;
    rs_redis *r = f->r;
    const rs_clock *clock = rs_manual_clock_get(&f->m);
    rs_redis_token_bucket *tb = make_bucket_with(r, "lease-metrics", SLOW_RATE, 3,
                                                 RS_REDIS_FAIL_CLOSED, 1, lease(1, 3, 3600 * SEC),
                                                 clock);
    /* Leases of 1 and 2: two round trips, the third token from the lease;
     * then a refusal from the server, remembered for the next four. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), RS_OK);
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(rs_redis_token_bucket_try_acquire(tb, 1), RS_E_LIMITED);
    }
    rs_redis_object_snapshot m;
    assert_int_equal(rs_redis_token_bucket_metrics(tb, &m), RS_OK);
    rs_redis_snapshot p;
    assert_int_equal(rs_redis_metrics(r, &p), RS_OK);
    assert_int_equal(m.granted, 3);
    assert_int_equal(m.refused, 5);
    assert_int_equal(m.failed + m.fallback, 0);
    assert_int_equal(m.leased, 1 + 4);
    assert_int_equal(p.commands, bucket_stats(tb).round_trips);
    assert_int_equal(m.leased + p.commands, 3 + 5);

    rs_redis_sliding_window *w = make_window_with(r, "lease-metrics", 10, 3600 * SEC,
                                                  RS_REDIS_WINDOW_COUNTER, RS_REDIS_FAIL_CLOSED,
                                                  lease(1, 4, 3600 * SEC), clock);
    rs_redis_budget *b = make_budget_with(r, "lease-metrics", 100, 10, 3600 * SEC,
                                          RS_REDIS_FAIL_CLOSED, 1, lease(1, 50, 3600 * SEC),
                                          clock);
    rs_redis_token_bucket *exact = make_bucket(r, "lease-metrics-exact", SLOW_RATE, 3,
                                               RS_REDIS_FAIL_CLOSED, 1, NULL);
    assert_int_equal(rs_redis_sliding_window_try_acquire(w, 1), RS_OK);
    rs_redis_budget_ticket t;
    assert_int_equal(rs_redis_budget_reserve(b, "k", 1, 5, &t), RS_OK);
    assert_int_equal(rs_redis_budget_metrics(b, &m), RS_OK);
    assert_int_equal(m.granted, 1);
    assert_int_equal(m.leased, 0); /* the first lease came with its own round trip */

    rs_exporter *e = NULL;
    assert_int_equal(rs_exporter_new(NULL, &e), RS_OK);
    assert_int_equal(rs_exporter_add_redis_token_bucket(e, "tb", tb), RS_OK);
    assert_int_equal(rs_exporter_add_redis_sliding_window(e, "window", w), RS_OK);
    assert_int_equal(rs_exporter_add_redis_budget(e, "budget", b), RS_OK);
    assert_int_equal(rs_exporter_add_redis_token_bucket(e, "exact", exact), RS_OK);
    const char *text = exposition_of(e);
    static const char *const expected[] = {
        "resilience_redis_decisions_total{name=\"tb\",outcome=\"refused\"} 5\n",
        "resilience_redis_lease_decisions_total{name=\"tb\"} 5\n",
        "resilience_redis_lease_round_trips_total{name=\"tb\"} 3\n",
        "resilience_redis_lease_taken_total{name=\"tb\"} 2\n",
        "resilience_redis_lease_units_total{name=\"tb\"} 3\n",
        "resilience_redis_lease_returned_units_total{name=\"tb\"} 0\n",
        "resilience_redis_lease_held_units{name=\"tb\"} 0\n",
        "resilience_redis_lease_max_units{name=\"tb\"} 3\n",
        "resilience_redis_lease_taken_total{name=\"window\"} 1\n",
        "resilience_redis_lease_max_units{name=\"window\"} 4\n",
        "resilience_redis_lease_taken_total{name=\"budget\"} 1\n",
        "resilience_redis_lease_units_total{name=\"budget\"} 5\n",
        "resilience_redis_decisions_total{name=\"exact\",outcome=\"granted\"} 0\n",
    };
    RS_TEST_EXPECT_LINES(text, expected);
    assert_null(strstr(text, "lease_decisions_total{name=\"exact\""));
    assert_null(strstr(text, "lease_max_units{name=\"exact\""));
    rs_exporter_free(e);
    rs_redis_token_bucket_free(exact);
    rs_redis_budget_free(b);
    rs_redis_sliding_window_free(w);
    rs_redis_token_bucket_free(tb);
}

#if RS_TEST_THREADS
/* Requests from many threads share round trips, and every token is handed
 * out once: what the threads got is what the server owes after free. */
typedef struct shared_run {
    rs_redis_token_bucket *tb;
    _Atomic uint64_t granted;
    _Atomic uint64_t other;
} shared_run;

static void *take_many(void *arg)
{
    shared_run *run = arg;
    for (int i = 0; i < 5000; i++) {
        int rc = rs_redis_token_bucket_try_acquire(run->tb, 1);
        if (rc == RS_OK) {
            atomic_fetch_add(&run->granted, 1);
        } else if (rc != RS_E_LIMITED) {
            atomic_fetch_add(&run->other, 1);
        }
    }
    return NULL;
}

static void bucket_threads_share_round_trips(void **state)
{
    (void)state;
    NEED_SERVER();
    rs_redis_config c = pool_config(url, NULL);
    c.pool_size = 1;
    rs_redis *r = make_pool(c, NULL);
    redisContext *raw = raw_connect();
    shared_run run;
    memset(&run, 0, sizeof run);
    /* 8 threads x 5000 = 40000 requests for a burst of 30000. */
    run.tb = make_bucket_with(r, "lease-threads", SLOW_RATE, 30000, RS_REDIS_FAIL_CLOSED, 1,
                              lease(1, 500, 3600 * SEC), NULL);
    rs_test_run_threads(8, take_many, &run);
    rs_redis_lease_stats s = bucket_stats(run.tb);
    uint64_t granted = atomic_load(&run.granted);
    print_message("# 8 threads: %llu granted in %llu round trips, %llu held\n",
                  (unsigned long long)granted, (unsigned long long)s.round_trips,
                  (unsigned long long)s.held_units);
    assert_int_equal(atomic_load(&run.other), 0);
    assert_int_equal(granted + s.held_units, 30000); /* all of it, once */
    assert_true(s.round_trips < granted / 20);
    /* Every decision counted once, from whichever thread's counter shard,
     * and each either answered from the lease or sent one command. */
    rs_redis_object_snapshot m;
    assert_int_equal(rs_redis_token_bucket_metrics(run.tb, &m), RS_OK);
    rs_redis_snapshot p;
    assert_int_equal(rs_redis_metrics(r, &p), RS_OK);
    assert_int_equal(m.granted, granted);
    assert_int_equal(m.refused, 8 * 5000 - granted);
    assert_int_equal(m.leased + p.commands, 8 * 5000);
    rs_redis_token_bucket_free(run.tb);
    assert_int_equal(bucket_debt(raw, "lease-threads", SLOW_RATE), (long long)granted);
    redisFree(raw);
    rs_redis_free(r);
}
#endif

/* ------------------------------------------------------------------ */

int main(void)
{
    if (!redis_test_init("rs-lease")) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lease_configs_are_validated),
        WITH_FIXTURE(bucket_leases_grow_and_give_back),
        WITH_FIXTURE(bucket_leases_and_exact_clients_share_tokens),
        WITH_FIXTURE(bucket_refusals_are_remembered),
        WITH_FIXTURE(bucket_over_admission_is_at_most_the_held_units),
        WITH_FIXTURE(bucket_refunds_never_exceed_what_a_lease_holds),
        WITH_FIXTURE(log_leases_are_entries_given_back),
        WITH_FIXTURE(counter_leases_give_back_to_their_window),
        cmocka_unit_test(window_over_admission_is_at_most_the_held_units),
        WITH_FIXTURE(budget_leases_settle_commits),
        WITH_FIXTURE(budget_lease_cells_change_hands),
        WITH_FIXTURE(budget_over_admission_is_at_most_the_held_units),
        cmocka_unit_test(budget_lease_tickets_pass_through_a_policy),
        cmocka_unit_test(leased_objects_survive_allocation_failures),
        cmocka_unit_test(failed_refills_apply_the_failure_policy),
        cmocka_unit_test_setup_teardown(leases_outlive_an_outage, own_server_setup,
                                        own_server_teardown),
        cmocka_unit_test_setup_teardown(lost_refills_never_hand_out_more_than_charged,
                                        own_server_setup, own_server_teardown),
        WITH_FIXTURE(leased_decisions_are_counted_and_exported),
#if RS_TEST_THREADS
        cmocka_unit_test(bucket_threads_share_round_trips),
#endif
    };
    return cmocka_run_group_tests_name("redis_lease", tests, NULL, NULL);
}
