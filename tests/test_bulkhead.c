/* rs_bulkhead: slots, the FIFO queue (tickets and blocked threads), limit
 * changes, the adaptive limit attached, per-key bulkheads through the
 * registry, and the two promises under threads: never more than
 * max_concurrent holders, waiters served in arrival order. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <resilience.h>

#include "support/fault_alloc.h"
#include "support/testing.h"

#if RS_TEST_THREADS
#include <pthread.h>
#include <sched.h>
#endif

static rs_bulkhead *make(uint32_t max_concurrent, uint32_t max_queue, const rs_clock *clock)
{
    rs_bulkhead_config cfg = RS_BULKHEAD_CONFIG_DEFAULT;
    cfg.max_concurrent = max_concurrent;
    cfg.max_queue = max_queue;
    rs_bulkhead *b = NULL;
    assert_int_equal(rs_bulkhead_new(&cfg, clock, &b), RS_OK);
    return b;
}

static void rejects_invalid_configs(void **state)
{
    (void)state;
    rs_bulkhead *b = (rs_bulkhead *)0x1;
    rs_bulkhead_config cfg = RS_BULKHEAD_CONFIG_DEFAULT;
    RS_TEST_EXPECT_INVALID(rs_bulkhead_new(NULL, NULL, &b), "rs_bulkhead_config");
    RS_TEST_EXPECT_INVALID(rs_bulkhead_new(&cfg, NULL, NULL), "out");
    cfg.max_concurrent = 0;
    RS_TEST_EXPECT_INVALID(rs_bulkhead_new(&cfg, NULL, &b), "max_concurrent");
    cfg.max_concurrent = RS_BULKHEAD_MAX_CONCURRENT + 1;
    RS_TEST_EXPECT_INVALID(rs_bulkhead_config_validate(&cfg), "max_concurrent");
    cfg = RS_BULKHEAD_CONFIG_DEFAULT;
    cfg.max_queue = RS_BULKHEAD_MAX_QUEUE + 1;
    RS_TEST_EXPECT_INVALID(rs_bulkhead_new(&cfg, NULL, &b), "max_queue");
    assert_ptr_equal(b, (rs_bulkhead *)0x1); /* untouched on error */

    b = make(1, 0, NULL);
    RS_TEST_EXPECT_INVALID(rs_bulkhead_set_max_concurrent(b, 0), "max_concurrent");
    RS_TEST_EXPECT_INVALID(rs_bulkhead_set_max_concurrent(NULL, 3), "b");
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    rs_adaptive_limit *l = NULL;
    rs_adaptive_limit_config lc = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    assert_int_equal(rs_adaptive_limit_new(&lc, rs_manual_clock_get(&m), &l), RS_OK);
    RS_TEST_EXPECT_INVALID(rs_bulkhead_set_adaptive(b, l), "clock");
    assert_int_equal(rs_bulkhead_max_concurrent(b), 1);
    rs_adaptive_limit_free(l);
    rs_bulkhead_free(b);

    /* NULL is harmless everywhere. */
    assert_false(rs_bulkhead_try_enter(NULL));
    RS_TEST_EXPECT_INVALID(rs_bulkhead_enter(NULL, 0), "rs_bulkhead_enter: b");
    rs_bulkhead_ticket *t = NULL;
    RS_TEST_EXPECT_INVALID(rs_bulkhead_enter_async(NULL, NULL, NULL, &t), "b is NULL");
    assert_false(rs_bulkhead_ticket_ready(NULL, NULL));
    rs_bulkhead_ticket_cancel(NULL, NULL);
    rs_bulkhead_leave(NULL);
    rs_bulkhead_leave_sample(NULL, 0, RS_OUTCOME_SUCCESS);
    assert_int_equal(rs_bulkhead_in_flight(NULL), 0);
    assert_int_equal(rs_bulkhead_queued(NULL), 0);
    assert_null(rs_bulkhead_clock(NULL));
    rs_bulkhead_free(NULL);
}

static void defaults_are_documented_values(void **state)
{
    (void)state;
    static const rs_bulkhead_config init = RS_BULKHEAD_CONFIG_INIT;
    assert_int_equal(init.max_concurrent, 10);
    assert_int_equal(init.max_queue, 100);
    assert_int_equal(rs_bulkhead_config_validate(&init), RS_OK);
}

static void slots_up_to_the_limit(void **state)
{
    (void)state;
    rs_bulkhead *b = make(3, 0, NULL);
    for (int i = 0; i < 3; i++) {
        assert_true(rs_bulkhead_try_enter(b));
    }
    assert_false(rs_bulkhead_try_enter(b));
    assert_int_equal(rs_bulkhead_enter(b, RS_SEC(1)), RS_E_LIMITED); /* no queue: at once */
    rs_bulkhead_ticket *t = (rs_bulkhead_ticket *)0x1;
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t), RS_E_LIMITED);
    assert_int_equal(rs_bulkhead_in_flight(b), 3);
    rs_bulkhead_leave(b);
    assert_int_equal(rs_bulkhead_in_flight(b), 2);
    assert_int_equal(rs_bulkhead_enter(b, 0), RS_OK);
    for (int i = 0; i < 5; i++) { /* more leaves than enters are ignored */
        rs_bulkhead_leave(b);
    }
    assert_int_equal(rs_bulkhead_in_flight(b), 0);
    assert_true(rs_bulkhead_try_enter(b));
    rs_bulkhead_leave(b);
    rs_bulkhead_free(b);
}

typedef struct wakes {
    int count[8];
    int order[8];
    int seen;
} wakes;

typedef struct waker {
    wakes *w;
    int id;
} waker;

static void on_wake(void *ctx)
{
    waker *k = ctx;
    k->w->count[k->id]++;
    k->w->order[k->w->seen++] = k->id;
}

static void tickets_are_served_in_order(void **state)
{
    (void)state;
    rs_bulkhead *b = make(2, 3, NULL);
    wakes w;
    memset(&w, 0, sizeof w);
    waker k[4] = { { &w, 0 }, { &w, 1 }, { &w, 2 }, { &w, 3 } };
    rs_bulkhead_ticket *t[4] = { NULL, NULL, NULL, NULL };
    assert_true(rs_bulkhead_try_enter(b));
    assert_int_equal(rs_bulkhead_enter_async(b, on_wake, &k[0], &t[0]), RS_OK);
    assert_null(t[0]); /* a free slot: no ticket */
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(rs_bulkhead_enter_async(b, on_wake, &k[i], &t[i]), RS_OK);
        assert_non_null(t[i]);
        assert_false(rs_bulkhead_ticket_ready(b, t[i]));
    }
    assert_int_equal(rs_bulkhead_queued(b), 3);
    rs_bulkhead_ticket *extra = NULL;
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &extra), RS_E_LIMITED); /* full */
    /* A free slot goes to the queue's head, never to a newcomer. */
    rs_bulkhead_leave(b);
    assert_int_equal(rs_bulkhead_in_flight(b), 2);
    assert_int_equal(rs_bulkhead_queued(b), 2);
    assert_false(rs_bulkhead_try_enter(b));
    assert_int_equal(w.count[1], 1);
    assert_false(rs_bulkhead_ticket_ready(b, t[2]));
    assert_true(rs_bulkhead_ticket_ready(b, t[1]));
    rs_bulkhead_leave(b);
    rs_bulkhead_leave(b);
    assert_int_equal(w.seen, 3);
    assert_int_equal(w.order[0], 1);
    assert_int_equal(w.order[1], 2);
    assert_int_equal(w.order[2], 3);
    assert_true(rs_bulkhead_ticket_ready(b, t[2]));
    assert_true(rs_bulkhead_ticket_ready(b, t[3]));
    assert_int_equal(rs_bulkhead_in_flight(b), 2);
    assert_int_equal(rs_bulkhead_queued(b), 0);
    rs_bulkhead_leave(b);
    rs_bulkhead_leave(b);
    assert_int_equal(rs_bulkhead_in_flight(b), 0);
    /* The places came back: the queue holds three again. */
    assert_int_equal(rs_bulkhead_set_max_concurrent(b, 1), RS_OK);
    assert_true(rs_bulkhead_try_enter(b));
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t[i]), RS_OK);
        assert_non_null(t[i]);
    }
    for (int i = 1; i <= 3; i++) {
        rs_bulkhead_ticket_cancel(b, t[i]);
    }
    rs_bulkhead_leave(b);
    rs_bulkhead_free(b);
}

static void cancelled_tickets_pass_their_slot_on(void **state)
{
    (void)state;
    rs_bulkhead *b = make(1, 4, NULL);
    wakes w;
    memset(&w, 0, sizeof w);
    waker k[3] = { { &w, 0 }, { &w, 1 }, { &w, 2 } };
    rs_bulkhead_ticket *t[3];
    assert_true(rs_bulkhead_try_enter(b));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rs_bulkhead_enter_async(b, on_wake, &k[i], &t[i]), RS_OK);
    }
    /* A place given up in the middle: the others keep their order. */
    rs_bulkhead_ticket_cancel(b, t[1]);
    assert_int_equal(rs_bulkhead_queued(b), 2);
    rs_bulkhead_leave(b);
    assert_int_equal(w.order[0], 0);
    /* Granted but never claimed: cancelling passes the slot to the next. */
    rs_bulkhead_ticket_cancel(b, t[0]);
    assert_int_equal(w.order[1], 2);
    assert_int_equal(w.count[1], 0);
    assert_true(rs_bulkhead_ticket_ready(b, t[2]));
    assert_int_equal(rs_bulkhead_in_flight(b), 1);
    rs_bulkhead_leave(b);
    assert_int_equal(rs_bulkhead_in_flight(b), 0);
    assert_int_equal(rs_bulkhead_queued(b), 0);
    rs_bulkhead_free(b);
}

/* A spent ticket (cancelled, or claimed) passed again changes nothing: the
 * queue keeps its count and order, and no slot is given twice. */
static void a_spent_ticket_is_ignored(void **state)
{
    (void)state;
    rs_bulkhead *b = make(1, 4, NULL);
    wakes w;
    memset(&w, 0, sizeof w);
    waker k[2] = { { &w, 0 }, { &w, 1 } };
    rs_bulkhead_ticket *t[2];
    assert_true(rs_bulkhead_try_enter(b));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rs_bulkhead_enter_async(b, on_wake, &k[i], &t[i]), RS_OK);
    }
    rs_bulkhead_ticket_cancel(b, t[0]);
    rs_bulkhead_ticket_cancel(b, t[0]);
    assert_false(rs_bulkhead_ticket_ready(b, t[0]));
    assert_int_equal(rs_bulkhead_queued(b), 1);
    rs_bulkhead_leave(b); /* to t[1], still queued */
    assert_int_equal(w.order[0], 1);
    assert_true(rs_bulkhead_ticket_ready(b, t[1]));
    assert_false(rs_bulkhead_ticket_ready(b, t[1]));
    rs_bulkhead_ticket_cancel(b, t[1]); /* claimed: the slot stays its owner's */
    assert_int_equal(rs_bulkhead_in_flight(b), 1);
    rs_bulkhead_leave(b);
    assert_int_equal(rs_bulkhead_in_flight(b), 0);
    rs_bulkhead_snapshot m;
    assert_int_equal(rs_bulkhead_metrics(b, &m), RS_OK);
    assert_int_equal(m.cancelled, 1);
    assert_int_equal(m.entered_queued, 1);
    rs_bulkhead_free(b);
}

static rs_bulkhead_snapshot metrics_of(rs_bulkhead *b)
{
    rs_bulkhead_snapshot m;
    assert_int_equal(rs_bulkhead_metrics(b, &m), RS_OK);
    return m;
}

/* Every way a request for a slot ends, counted once, and the time queued
 * on the bulkhead's clock. */
static void metrics_count_every_outcome(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, RS_SEC(1));
    rs_bulkhead *b = make(2, 2, rs_manual_clock_get(&clock));
    rs_bulkhead_snapshot m = metrics_of(b);
    assert_int_equal(m.max_concurrent, 2);
    assert_int_equal(m.max_queue, 2);
    assert_int_equal(m.in_flight + m.queued, 0);
    assert_int_equal(m.entered + m.entered_queued + m.refused + m.timed_out + m.cancelled, 0);
    assert_int_equal(m.queue_wait_ns, 0);

    rs_bulkhead_ticket *t[3] = { NULL, NULL, NULL };
    assert_true(rs_bulkhead_try_enter(b));                                  /* entered */
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t[0]), RS_OK); /* entered */
    assert_null(t[0]);
    assert_false(rs_bulkhead_try_enter(b));                                 /* refused */
    assert_int_equal(rs_bulkhead_enter(b, 0), RS_E_LIMITED);                /* refused */
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t[0]), RS_OK); /* queued at 1 s */
    rs_manual_clock_advance(&clock, RS_MS(100));
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t[1]), RS_OK); /* queued at 1.1 s */
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t[2]), RS_E_LIMITED); /* refused */
    m = metrics_of(b);
    assert_int_equal(m.in_flight, 2);
    assert_int_equal(m.queued, 2);
    assert_int_equal(m.entered, 2);
    assert_int_equal(m.entered_queued, 0);
    assert_int_equal(m.refused, 3);

    rs_manual_clock_advance(&clock, RS_MS(200));
    rs_bulkhead_leave(b);                       /* the slot goes to t[0], unclaimed */
    assert_int_equal(metrics_of(b).entered, 2); /* not until claimed */
    rs_manual_clock_advance(&clock, RS_MS(100));
    assert_true(rs_bulkhead_ticket_ready(b, t[0])); /* 0.4 s queued */
    rs_bulkhead_leave(b);                           /* the slot goes to t[1], unclaimed */
    rs_manual_clock_advance(&clock, RS_MS(100));
    rs_bulkhead_ticket_cancel(b, t[1]);             /* 0.4 s queued; its slot goes back */
    m = metrics_of(b);
    assert_int_equal(m.in_flight, 1);
    assert_int_equal(m.queued, 0);
    assert_int_equal(m.entered, 3);
    assert_int_equal(m.entered_queued, 1);
    assert_int_equal(m.refused, 3);
    assert_int_equal(m.timed_out, 0);
    assert_int_equal(m.cancelled, 1);
    assert_int_equal(m.queue_wait_ns, RS_MS(800));

    /* A place given up while still queued counts as cancelled too. */
    assert_true(rs_bulkhead_try_enter(b));
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t[2]), RS_OK);
    rs_manual_clock_advance(&clock, RS_MS(50));
    rs_bulkhead_ticket_cancel(b, t[2]);
    m = metrics_of(b);
    assert_int_equal(m.entered, 4);
    assert_int_equal(m.cancelled, 2);
    assert_int_equal(m.queue_wait_ns, RS_MS(850));
    /* The limit follows set_max_concurrent. */
    assert_int_equal(rs_bulkhead_set_max_concurrent(b, 5), RS_OK);
    assert_int_equal(metrics_of(b).max_concurrent, 5);

    /* NULL: refused, the output untouched. */
    rs_bulkhead_snapshot before;
    memset(&before, 0x5a, sizeof before);
    m = before;
    RS_TEST_EXPECT_INVALID(rs_bulkhead_metrics(NULL, &m), "b");
    RS_TEST_EXPECT_INVALID(rs_bulkhead_metrics(b, NULL), "m");
    assert_memory_equal(&m, &before, sizeof m);
    rs_bulkhead_leave(b);
    rs_bulkhead_leave(b);
    rs_bulkhead_free(b);
}

static void a_larger_limit_serves_the_queue(void **state)
{
    (void)state;
    enum { WAITERS = 40 }; /* more than one batch of wake-ups */
    rs_bulkhead *b = make(1, WAITERS, NULL);
    rs_bulkhead_ticket *t[WAITERS];
    assert_true(rs_bulkhead_try_enter(b));
    for (int i = 0; i < WAITERS; i++) {
        assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t[i]), RS_OK);
    }
    assert_int_equal(rs_bulkhead_set_max_concurrent(b, 31), RS_OK);
    assert_int_equal(rs_bulkhead_in_flight(b), 31);
    assert_int_equal(rs_bulkhead_queued(b), WAITERS - 30);
    for (int i = 0; i < WAITERS; i++) {
        assert_int_equal(rs_bulkhead_ticket_ready(b, t[i]), i < 30);
    }
    /* A smaller one takes nothing away: no newcomer until below it. */
    assert_int_equal(rs_bulkhead_set_max_concurrent(b, 2), RS_OK);
    for (int i = 0; i < 28; i++) {
        rs_bulkhead_leave(b);
    }
    assert_int_equal(rs_bulkhead_in_flight(b), 3);
    assert_false(rs_bulkhead_ticket_ready(b, t[30]));
    rs_bulkhead_leave(b); /* 2 in flight: at the limit, still nobody new */
    assert_false(rs_bulkhead_ticket_ready(b, t[30]));
    rs_bulkhead_leave(b); /* 1: the head gets the slot */
    assert_true(rs_bulkhead_ticket_ready(b, t[30]));
    for (int i = 31; i < WAITERS; i++) {
        rs_bulkhead_ticket_cancel(b, t[i]);
    }
    rs_bulkhead_leave(b);
    rs_bulkhead_leave(b);
    assert_int_equal(rs_bulkhead_in_flight(b), 0);
    rs_bulkhead_free(b);
}

static int count_wakes;
static void counting_wake(void *ctx)
{
    (void)ctx;
    count_wakes++;
}

static void wakes_come_for_every_grant(void **state)
{
    (void)state;
    enum { WAITERS = 50 };
    rs_bulkhead *b = make(1, WAITERS, NULL);
    rs_bulkhead_ticket *t[WAITERS];
    count_wakes = 0;
    assert_true(rs_bulkhead_try_enter(b));
    for (int i = 0; i < WAITERS; i++) {
        assert_int_equal(rs_bulkhead_enter_async(b, counting_wake, NULL, &t[i]), RS_OK);
    }
    assert_int_equal(rs_bulkhead_set_max_concurrent(b, 100), RS_OK);
    assert_int_equal(count_wakes, WAITERS);
    for (int i = 0; i < WAITERS; i++) {
        assert_true(rs_bulkhead_ticket_ready(b, t[i]));
        rs_bulkhead_leave(b);
    }
    rs_bulkhead_leave(b);
    rs_bulkhead_free(b);
}

static void the_adaptive_limit_drives_the_slots(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, RS_SEC(1));
    const rs_clock *clock = rs_manual_clock_get(&m);
    rs_adaptive_limit_config lc = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    lc.algorithm = RS_ADAPTIVE_AIMD;
    lc.initial_limit = 4;
    lc.window_samples = 1;
    rs_adaptive_limit *l = NULL;
    assert_int_equal(rs_adaptive_limit_new(&lc, clock, &l), RS_OK);
    rs_bulkhead *b = make(1, 8, clock);
    assert_int_equal(rs_bulkhead_set_adaptive(b, l), RS_OK);
    assert_int_equal(rs_bulkhead_max_concurrent(b), 4);
    for (int i = 0; i < 4; i++) {
        assert_true(rs_bulkhead_try_enter(b));
    }
    rs_bulkhead_ticket *t = NULL;
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t), RS_OK);
    assert_non_null(t);
    /* A window is max(window_samples, limit) = 4 answers. The first leave
     * passes its slot to the queued ticket... */
    uint64_t start = rs_manual_clock_now(&m);
    rs_manual_clock_advance(&m, RS_MS(10));
    rs_bulkhead_leave_sample(b, start, RS_OUTCOME_SUCCESS);
    assert_true(rs_bulkhead_ticket_ready(b, t));
    assert_int_equal(rs_bulkhead_in_flight(b), 4);
    assert_int_equal(rs_bulkhead_max_concurrent(b), 4);
    /* ... and the fourth closes the window: successes with the limit in use
     * grow it by one. */
    for (int i = 0; i < 3; i++) {
        rs_bulkhead_leave_sample(b, start, RS_OUTCOME_SUCCESS);
    }
    assert_int_equal(rs_bulkhead_max_concurrent(b), 5);
    assert_int_equal(rs_bulkhead_in_flight(b), 1);
    for (int i = 0; i < 4; i++) {
        assert_true(rs_bulkhead_try_enter(b));
    }
    assert_false(rs_bulkhead_try_enter(b));
    /* A window of 5 with a throttled call: times 0.9, rounded down. */
    rs_bulkhead_leave_sample(b, start, RS_OUTCOME_THROTTLED);
    for (int i = 0; i < 3; i++) {
        rs_bulkhead_leave_sample(b, start, RS_OUTCOME_SUCCESS);
    }
    assert_int_equal(rs_bulkhead_max_concurrent(b), 5);
    rs_bulkhead_leave_sample(b, start, RS_OUTCOME_SUCCESS);
    assert_int_equal(rs_bulkhead_max_concurrent(b), 4);
    assert_int_equal(rs_bulkhead_in_flight(b), 0);
    for (int i = 0; i < 4; i++) {
        assert_true(rs_bulkhead_try_enter(b));
    }
    assert_false(rs_bulkhead_try_enter(b));
    /* Detached, it stays where it was and samples change nothing. */
    assert_int_equal(rs_bulkhead_set_adaptive(b, NULL), RS_OK);
    for (int i = 0; i < 4; i++) {
        rs_bulkhead_leave_sample(b, start, RS_OUTCOME_THROTTLED);
    }
    assert_int_equal(rs_bulkhead_max_concurrent(b), 4);
    assert_int_equal(rs_bulkhead_in_flight(b), 0);
    rs_bulkhead_free(b);
    rs_adaptive_limit_free(l);
}

static int create_bulkhead(void *ctx, void **object)
{
    (void)ctx;
    rs_bulkhead_config cfg = RS_BULKHEAD_CONFIG_DEFAULT;
    cfg.max_queue = 16;
    return rs_bulkhead_new(&cfg, NULL, (rs_bulkhead **)object);
}

static void destroy_bulkhead(void *object)
{
    rs_bulkhead_free(object);
}

static void allocation_failure_is_clean(void **state)
{
    (void)state;
    assert_int_equal(fault_alloc_sweep(create_bulkhead, destroy_bulkhead, NULL), 2);
}

/* ---- per key: one bulkhead per tenant through the registry ------------------ */

typedef struct tenant_limits {
    uint32_t free_tier, paid_tier;
} tenant_limits;

static int tenant_create(void *ctx, const void *key, size_t len, void **value)
{
    const tenant_limits *limits = ctx;
    rs_bulkhead_config cfg = RS_BULKHEAD_CONFIG_DEFAULT;
    cfg.max_concurrent = len >= 5 && memcmp(key, "paid-", 5) == 0 ? limits->paid_tier
                                                                    : limits->free_tier;
    cfg.max_queue = 0;
    return rs_bulkhead_new(&cfg, NULL, (rs_bulkhead **)value);
}

static void tenant_destroy(void *ctx, void *value)
{
    (void)ctx;
    rs_bulkhead_free(value);
}

static void per_key_bulkheads_isolate_tenants(void **state)
{
    (void)state;
    tenant_limits limits = { 2, 5 };
    rs_registry_config rc = RS_REGISTRY_CONFIG_DEFAULT;
    rc.create = tenant_create;
    rc.destroy = tenant_destroy;
    rc.ctx = &limits;
    rc.seed = 1;
    rs_registry *r = NULL;
    assert_int_equal(rs_registry_new(&rc, &r), RS_OK);
    rs_registry_entry *noisy = NULL, *quiet = NULL, *paid = NULL;
    assert_int_equal(rs_registry_get(r, "free-noisy", 10, &noisy), RS_OK);
    assert_int_equal(rs_registry_get(r, "free-quiet", 10, &quiet), RS_OK);
    assert_int_equal(rs_registry_get(r, "paid-acme", 9, &paid), RS_OK);
    rs_bulkhead *n = rs_registry_entry_value(noisy);
    rs_bulkhead *q = rs_registry_entry_value(quiet);
    rs_bulkhead *p = rs_registry_entry_value(paid);
    /* The noisy tenant fills its own slots... */
    int taken = 0;
    while (rs_bulkhead_try_enter(n)) {
        taken++;
    }
    assert_int_equal(taken, 2);
    /* ... and the others still get theirs. */
    assert_true(rs_bulkhead_try_enter(q));
    for (int i = 0; i < 5; i++) {
        assert_true(rs_bulkhead_try_enter(p));
    }
    assert_false(rs_bulkhead_try_enter(p));
    rs_bulkhead_leave(q);
    for (int i = 0; i < 5; i++) {
        rs_bulkhead_leave(p);
    }
    rs_bulkhead_leave(n);
    rs_bulkhead_leave(n);
    rs_registry_release(r, noisy);
    rs_registry_release(r, quiet);
    rs_registry_release(r, paid);
    rs_registry_free(r);
}

#if RS_TEST_THREADS
/* ---- a wake-up and its ticket's owner ---------------------------------------- */

/* A wake-up that lingers until the owner is claiming or cancelling the
 * ticket on another thread, and notes whether that returned meanwhile. */
typedef struct lingering {
    rs_bulkhead *b;
    rs_bulkhead_ticket *ticket;
    bool cancel; /* the owner cancels, else claims */
    atomic_int stage; /* 1: in the wake-up; 2: the owner is at it */
    atomic_bool owner_returned;
    atomic_bool returned_during_wake;
    atomic_bool claimed;
} lingering;

static void linger(void *ctx)
{
    lingering *l = ctx;
    atomic_store(&l->stage, 1);
    while (atomic_load(&l->stage) != 2) {
        (void)sched_yield();
    }
    for (int i = 0; i < 2000; i++) {
        if (atomic_load(&l->owner_returned)) {
            atomic_store(&l->returned_during_wake, true);
        }
        (void)sched_yield();
    }
}

static void *owner(void *arg)
{
    lingering *l = arg;
    while (atomic_load(&l->stage) != 1) {
        (void)sched_yield();
    }
    atomic_store(&l->stage, 2);
    if (l->cancel) {
        rs_bulkhead_ticket_cancel(l->b, l->ticket);
    } else {
        while (!rs_bulkhead_ticket_ready(l->b, l->ticket)) {
            (void)sched_yield();
        }
        atomic_store(&l->claimed, true);
    }
    atomic_store(&l->owner_returned, true);
    return NULL;
}

static void *leaver(void *arg)
{
    rs_bulkhead_leave(arg);
    return NULL;
}

/* Once ticket_cancel() or a true ticket_ready() returns, no wake-up of
 * the ticket is still running: its owner may free what the wake-up's
 * context points to (a call state, an event-loop handle). */
static void no_wake_up_outlives_its_ticket(void **state)
{
    (void)state;
    for (int cancel = 0; cancel <= 1; cancel++) {
        rs_bulkhead *b = make(1, 2, NULL);
        static lingering l;
        memset(&l, 0, sizeof l);
        l.b = b;
        l.cancel = cancel != 0;
        assert_true(rs_bulkhead_try_enter(b));
        assert_int_equal(rs_bulkhead_enter_async(b, linger, &l, &l.ticket), RS_OK);
        assert_non_null(l.ticket);
        pthread_t o, g;
        assert_int_equal(pthread_create(&o, NULL, owner, &l), 0);
        assert_int_equal(pthread_create(&g, NULL, leaver, b), 0);
        pthread_join(g, NULL);
        pthread_join(o, NULL);
        assert_false(atomic_load(&l.returned_during_wake));
        if (!l.cancel) {
            assert_true(atomic_load(&l.claimed));
            rs_bulkhead_leave(b);
        }
        /* The place went back: the queue holds two again. */
        assert_int_equal(rs_bulkhead_in_flight(b), 0);
        assert_int_equal(rs_bulkhead_queued(b), 0);
        assert_true(rs_bulkhead_try_enter(b));
        rs_bulkhead_ticket *t[3];
        assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t[0]), RS_OK);
        assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t[1]), RS_OK);
        assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &t[2]), RS_E_LIMITED);
        rs_bulkhead_ticket_cancel(b, t[0]);
        rs_bulkhead_ticket_cancel(b, t[1]);
        rs_bulkhead_leave(b);
        rs_bulkhead_free(b);
    }
}

/* ---- blocking waits ---------------------------------------------------------- */

typedef struct blocked {
    rs_bulkhead *b;
    uint64_t max_wait_ns;
    atomic_int status;
    atomic_int done;
} blocked;

static void *enter_and_report(void *arg)
{
    blocked *x = arg;
    atomic_store(&x->status, rs_bulkhead_enter(x->b, x->max_wait_ns));
    atomic_store(&x->done, 1);
    return NULL;
}

static void wait_until_queued(rs_bulkhead *b, uint32_t n)
{
    while (rs_bulkhead_queued(b) < n) {
        (void)sched_yield();
    }
}

static void a_blocked_caller_gets_the_slot_a_leave_frees(void **state)
{
    (void)state;
    rs_bulkhead *b = make(1, 2, NULL);
    assert_true(rs_bulkhead_try_enter(b));
    blocked x = { b, RS_SEC(30), 0, 0 };
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, enter_and_report, &x), 0);
    wait_until_queued(b, 1);
    assert_int_equal(atomic_load(&x.done), 0);
    rs_bulkhead_leave(b);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(atomic_load(&x.status), RS_OK);
    assert_int_equal(rs_bulkhead_in_flight(b), 1);
    rs_bulkhead_snapshot m = metrics_of(b);
    assert_int_equal(m.entered, 2);
    assert_int_equal(m.entered_queued, 1);
    assert_int_equal(m.refused + m.timed_out + m.cancelled, 0);
    rs_bulkhead_leave(b);
    rs_bulkhead_free(b);
}

static void a_blocked_caller_gives_up_at_its_deadline(void **state)
{
    (void)state;
    /* The system clock: the condition variable's own deadline. */
    rs_bulkhead *b = make(1, 2, NULL);
    assert_true(rs_bulkhead_try_enter(b));
    uint64_t before = rs_test_now_ns();
    assert_int_equal(rs_bulkhead_enter(b, RS_MS(30)), RS_E_LIMITED);
    uint64_t waited = rs_test_now_ns() - before;
    assert_true(waited >= RS_MS(30));
    assert_true(waited < RS_SEC(5));
    assert_int_equal(rs_bulkhead_queued(b), 0);
    assert_int_equal(rs_bulkhead_in_flight(b), 1);
    assert_int_equal(metrics_of(b).timed_out, 1);
    assert_true(metrics_of(b).queue_wait_ns >= RS_MS(30));
    rs_bulkhead_leave(b);
    rs_bulkhead_free(b);

    /* A manual clock: the wait ends when another thread moves it past. */
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    b = make(1, 2, rs_manual_clock_get(&m));
    assert_true(rs_bulkhead_try_enter(b));
    blocked x = { b, RS_SEC(10), 0, 0 };
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, enter_and_report, &x), 0);
    wait_until_queued(b, 1);
    rs_manual_clock_advance(&m, RS_SEC(9));
    struct timespec pause = { 0, 30000000 };
    nanosleep(&pause, NULL);
    assert_int_equal(atomic_load(&x.done), 0); /* 9 s of its 10 */
    rs_manual_clock_advance(&m, RS_SEC(1));
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(atomic_load(&x.status), RS_E_LIMITED);
    assert_int_equal(rs_bulkhead_queued(b), 0);
    /* Timed out after exactly its 10 s in the queue, on the manual clock. */
    rs_bulkhead_snapshot snap = metrics_of(b);
    assert_int_equal(snap.timed_out, 1);
    assert_int_equal(snap.queue_wait_ns, RS_SEC(10));
    assert_int_equal(snap.entered, 1);
    assert_int_equal(snap.entered_queued + snap.refused + snap.cancelled, 0);
    rs_bulkhead_leave(b);
    rs_bulkhead_free(b);
}

/* ---- stress: never more than max_concurrent holders, FIFO order ------------- */

#define STRESS_MAX 3
#define STRESS_ROUNDS 2000

typedef struct stress {
    rs_bulkhead *b;
    atomic_int holders;
    atomic_int most;
    atomic_int violations;
    atomic_int served;
    atomic_uint seed;
    /* What the callers saw, to compare with the bulkhead's totals. */
    atomic_int requests;
    atomic_int refusals;    /* try_enter false, enter_async RS_E_LIMITED */
    atomic_int failed_waits; /* enter RS_E_LIMITED: refused or timed out */
    atomic_int cancels;
} stress;

static void hold(stress *s)
{
    int now = atomic_fetch_add(&s->holders, 1) + 1;
    if (now > STRESS_MAX) {
        atomic_fetch_add(&s->violations, 1);
    }
    int most = atomic_load(&s->most);
    while (now > most && !atomic_compare_exchange_weak(&s->most, &most, now)) {
    }
    for (volatile int spin = 0; spin < 50; spin++) {
    }
    atomic_fetch_sub(&s->holders, 1);
    atomic_fetch_add(&s->served, 1);
}

static void *stress_worker(void *arg)
{
    stress *s = arg;
    uint64_t random = atomic_fetch_add(&s->seed, 1);
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        uint64_t pick = rs_test_random(&random) % 4;
        atomic_fetch_add(&s->requests, 1);
        if (pick == 0) {
            if (rs_bulkhead_try_enter(s->b)) {
                hold(s);
                rs_bulkhead_leave(s->b);
            } else {
                atomic_fetch_add(&s->refusals, 1);
            }
        } else if (pick == 1) {
            rs_bulkhead_ticket *t = NULL;
            if (rs_bulkhead_enter_async(s->b, NULL, NULL, &t) != RS_OK) {
                atomic_fetch_add(&s->refusals, 1);
                continue;
            }
            /* Poll a while, then give up half of the time. */
            bool mine = t == NULL;
            for (int k = 0; !mine && k < 200; k++) {
                mine = rs_bulkhead_ticket_ready(s->b, t);
                (void)sched_yield();
            }
            if (!mine && rs_test_random(&random) % 2 == 0) {
                rs_bulkhead_ticket_cancel(s->b, t);
                atomic_fetch_add(&s->cancels, 1);
                continue;
            }
            while (!mine) {
                mine = rs_bulkhead_ticket_ready(s->b, t);
                (void)sched_yield();
            }
            hold(s);
            rs_bulkhead_leave(s->b);
        } else {
            uint64_t wait = pick == 2 ? RS_US(50) : RS_SEC(30);
            if (rs_bulkhead_enter(s->b, wait) == RS_OK) {
                hold(s);
                rs_bulkhead_leave(s->b);
            } else {
                atomic_fetch_add(&s->failed_waits, 1);
            }
        }
    }
    return NULL;
}

static void never_more_holders_than_the_limit(void **state)
{
    (void)state;
    stress s;
    memset(&s, 0, sizeof s);
    s.b = make(STRESS_MAX, 8, NULL);
    atomic_init(&s.seed, 7);
    rs_test_run_threads(8, stress_worker, &s);
    assert_int_equal(atomic_load(&s.violations), 0);
    assert_true(atomic_load(&s.most) <= STRESS_MAX);
    assert_true(atomic_load(&s.served) > STRESS_ROUNDS);
    assert_int_equal(rs_bulkhead_in_flight(s.b), 0);
    assert_int_equal(rs_bulkhead_queued(s.b), 0);
    /* Once the threads joined, the totals (8 threads: more than own a
     * counter shard, the rest share one) are exact. */
    rs_bulkhead_snapshot m = metrics_of(s.b);
    assert_int_equal(m.entered, atomic_load(&s.served));
    assert_int_equal(m.cancelled, atomic_load(&s.cancels));
    assert_int_equal(m.refused + m.timed_out,
                     atomic_load(&s.refusals) + atomic_load(&s.failed_waits));
    assert_true(m.refused >= (uint64_t)atomic_load(&s.refusals));
    assert_int_equal(m.entered + m.refused + m.timed_out + m.cancelled,
                     atomic_load(&s.requests));
    assert_true(m.entered_queued <= m.entered);
    assert_true(m.entered_queued + m.timed_out + m.cancelled == 0 || m.queue_wait_ns > 0);
    rs_bulkhead_free(s.b);
}

#define FIFO_WAITERS 8

typedef struct fifo {
    rs_bulkhead *b;
    atomic_int next_arrival;
    atomic_int served_order[FIFO_WAITERS];
    atomic_int served;
} fifo;

typedef struct fifo_waiter {
    fifo *f;
    int arrival;
} fifo_waiter;

static void *fifo_enter(void *arg)
{
    fifo_waiter *w = arg;
    if (rs_bulkhead_enter(w->f->b, RS_SEC(60)) != RS_OK) {
        return (void *)1;
    }
    int at = atomic_fetch_add(&w->f->served, 1);
    atomic_store(&w->f->served_order[at], w->arrival);
    rs_bulkhead_leave(w->f->b);
    return NULL;
}

static void blocked_waiters_are_served_in_arrival_order(void **state)
{
    (void)state;
    fifo f;
    memset(&f, 0, sizeof f);
    f.b = make(1, FIFO_WAITERS, NULL);
    assert_true(rs_bulkhead_try_enter(f.b));
    pthread_t threads[FIFO_WAITERS];
    fifo_waiter w[FIFO_WAITERS];
    /* One at a time into the queue, so the arrival order is known. */
    for (int i = 0; i < FIFO_WAITERS; i++) {
        w[i] = (fifo_waiter){ &f, i };
        assert_int_equal(pthread_create(&threads[i], NULL, fifo_enter, &w[i]), 0);
        wait_until_queued(f.b, (uint32_t)i + 1);
    }
    rs_bulkhead_leave(f.b); /* each waiter passes the slot to the next */
    for (int i = 0; i < FIFO_WAITERS; i++) {
        void *failed = NULL;
        assert_int_equal(pthread_join(threads[i], &failed), 0);
        assert_null(failed);
    }
    for (int i = 0; i < FIFO_WAITERS; i++) {
        assert_int_equal(atomic_load(&f.served_order[i]), i);
    }
    assert_int_equal(rs_bulkhead_in_flight(f.b), 0);
    rs_bulkhead_free(f.b);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_invalid_configs),
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test(slots_up_to_the_limit),
        cmocka_unit_test(tickets_are_served_in_order),
        cmocka_unit_test(cancelled_tickets_pass_their_slot_on),
        cmocka_unit_test(a_spent_ticket_is_ignored),
        cmocka_unit_test(metrics_count_every_outcome),
        cmocka_unit_test(a_larger_limit_serves_the_queue),
        cmocka_unit_test(wakes_come_for_every_grant),
        cmocka_unit_test(the_adaptive_limit_drives_the_slots),
        cmocka_unit_test(allocation_failure_is_clean),
        cmocka_unit_test(per_key_bulkheads_isolate_tenants),
#if RS_TEST_THREADS
        cmocka_unit_test(no_wake_up_outlives_its_ticket),
        cmocka_unit_test(a_blocked_caller_gets_the_slot_a_leave_frees),
        cmocka_unit_test(a_blocked_caller_gives_up_at_its_deadline),
        cmocka_unit_test(never_more_holders_than_the_limit),
        cmocka_unit_test(blocked_waiters_are_served_in_arrival_order),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
