/* The bulkhead: a count of calls in flight and a FIFO queue of waiters.
 *
 * The hot state is one 64-bit word: calls in flight in the low half, queued
 * waiters in the high half. Entering and leaving while nobody waits is one
 * compare-exchange on it. Once somebody waits, every change of the word
 * happens under the lock that guards the queue: a lock-free enter refuses
 * (it would overtake the queue) and a lock-free leave sees the queue and
 * takes the slow path, which passes its slot straight to the first waiter.
 * Because "queued > 0" and "in flight" live in one word, a leave that
 * decrements just as a waiter queues cannot be lost: one of the two
 * compare-exchanges fails and its owner looks again.
 *
 * The queue's places are allocated at creation (max_queue of them, a free
 * list), so a full free list is the queue's bound and waiting never
 * allocates. A blocked thread waits on a condition variable of its own
 * (on its stack), so a leave wakes exactly the waiter it serves.
 *
 * A ticket's wake-up callback runs after the lock is released, on the
 * thread that granted the slot. Until it has returned, its place is
 * "waking": the owner that claims or cancels the ticket meanwhile waits
 * for it, so that once rs_bulkhead_ticket_ready() or _cancel() returns no
 * wake-up of that ticket is still running (the owner may free what the
 * callback's context points to). */
#include "resilience/bulkhead.h"

#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/lock.h"
#include "core/tally.h"

#if RS_HAVE_THREADS
#include <time.h>
#endif

#define IN_FLIGHT(word) ((uint32_t)((word) & UINT32_MAX))
#define QUEUED(word) ((uint32_t)((word) >> 32))
#define ONE_QUEUED (UINT64_C(1) << 32)

/* Longest real time a blocked thread sleeps before it reads a clock other
 * than the system clock again: such a clock cannot wake it. */
#define FOREIGN_CLOCK_POLL_NS RS_MS(10)

/* Wake-up callbacks gathered under the lock and run after it, this many at
 * a time: only a limit that grows by more hands out more slots at once. */
#define WAKE_BATCH 16u

enum { PLACE_FREE = 0, PLACE_QUEUED = 1, PLACE_GRANTED = 2 };

/* A place in the queue: a ticket, or a blocked thread's place. */
struct rs_bulkhead_ticket {
    struct rs_bulkhead_ticket *prev, *next; /* the queue; `next` links the free list */
    rs__atomic_u32 state;
    uint64_t queued_ns; /* when it joined the queue, on the bulkhead's clock */
    rs_bulkhead_wake_fn wake;
    void *ctx;
    /* Under the lock: its wake-up is running on the thread `waker`; a
     * place given back meanwhile by that thread itself goes to the free
     * list when the wake-up is over (`free_after_wake`). */
    bool waking, free_after_wake;
    const void *waker;
#if RS_HAVE_THREADS
    pthread_cond_t *cond; /* a blocked thread's, or NULL for a ticket */
#endif
};

/* Totals since creation, a cache line per thread (core/tally.h): the
 * lock-free enter counts without a locked instruction. */
typedef struct counts {
    _Alignas(RS__CACHE_LINE) rs__atomic_u64 entered; /* slots taken at once */
    rs__atomic_u64 entered_queued;                   /* slots taken after queueing */
    rs__atomic_u64 refused;
    rs__atomic_u64 timed_out;
    rs__atomic_u64 cancelled;
    rs__atomic_u64 queue_wait_ns;
} counts;

struct rs_bulkhead {
    /* Read and written by every enter and leave. */
    _Alignas(RS__CACHE_LINE) rs__atomic_u64 word; /* in flight | queued << 32 */
    rs__atomic_u32 max_concurrent;
    _Atomic(rs_adaptive_limit *) limit;
    /* The slow path's. */
    _Alignas(RS__CACHE_LINE) rs__mutex lock; /* guards the queue and the free list */
    rs_bulkhead_ticket *head, *tail, *free_places;
    rs_bulkhead_ticket *places;
    const rs_clock *clock;
    uint32_t max_queue;
#if RS_HAVE_THREADS
    pthread_cond_t wakes_done; /* signalled when wake-ups have returned */
#endif
    counts counts[RS__TALLY_SHARDS];
};

typedef struct wake_list {
    struct {
        rs_bulkhead_wake_fn fn;
        void *ctx;
        rs_bulkhead_ticket *place;
    } calls[WAKE_BATCH];
    unsigned count;
} wake_list;

/* Who runs a wake-up: the address is unique to each thread. */
static _Thread_local char this_thread;

int rs_bulkhead_config_validate(const rs_bulkhead_config *cfg)
{
    if (cfg == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_bulkhead_config: NULL");
    }
    if (cfg->max_concurrent == 0 || cfg->max_concurrent > RS_BULKHEAD_MAX_CONCURRENT) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_bulkhead_config.max_concurrent: %u, must be in [1, %u]",
                                 cfg->max_concurrent, RS_BULKHEAD_MAX_CONCURRENT);
    }
    if (cfg->max_queue > RS_BULKHEAD_MAX_QUEUE) {
        return rs_set_last_error(RS_E_INVAL, "rs_bulkhead_config.max_queue: %u, must be <= %u",
                                 cfg->max_queue, RS_BULKHEAD_MAX_QUEUE);
    }
    return RS_OK;
}

int rs_bulkhead_new(const rs_bulkhead_config *cfg, const rs_clock *clock, rs_bulkhead **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_bulkhead_new: out is NULL");
    }
    int rc = rs_bulkhead_config_validate(cfg);
    if (rc != RS_OK) {
        return rc;
    }
    rs_bulkhead *b = rs__malloc_aligned(sizeof *b, _Alignof(rs_bulkhead));
    if (b == NULL) {
        return RS_E_NOMEM;
    }
    memset(b, 0, sizeof *b);
    b->places = cfg->max_queue != 0 ? rs__calloc(cfg->max_queue, sizeof *b->places) : NULL;
    if ((cfg->max_queue != 0 && b->places == NULL) || rs__mutex_init(&b->lock) != 0) {
        rs__free(b->places);
        rs__free_aligned(b);
        return RS_E_NOMEM;
    }
#if RS_HAVE_THREADS
    if (pthread_cond_init(&b->wakes_done, NULL) != 0) {
        rs__mutex_destroy(&b->lock);
        rs__free(b->places);
        rs__free_aligned(b);
        return RS_E_NOMEM;
    }
#endif
    for (uint32_t i = cfg->max_queue; i-- > 0;) {
        b->places[i].next = b->free_places;
        b->free_places = &b->places[i];
    }
    atomic_init(&b->word, 0);
    atomic_init(&b->max_concurrent, cfg->max_concurrent);
    atomic_init(&b->limit, NULL);
    rs__tally_init(b->counts, sizeof b->counts[0]);
    b->max_queue = cfg->max_queue;
    b->clock = clock != NULL ? clock : rs_clock_system();
    *out = b;
    return RS_OK;
}

void rs_bulkhead_free(rs_bulkhead *b)
{
    if (b != NULL) {
#if RS_HAVE_THREADS
        (void)pthread_cond_destroy(&b->wakes_done);
#endif
        rs__mutex_destroy(&b->lock);
        rs__free(b->places);
        rs__free_aligned(b);
    }
}

static uint32_t max_of(rs_bulkhead *b)
{
    return atomic_load_explicit(&b->max_concurrent, memory_order_relaxed);
}

/* Takes a free slot if nobody is queued; counts nothing (the callers that
 * queue next must not count a refusal). */
static bool take_free_slot(rs_bulkhead *b)
{
    uint64_t word = atomic_load_explicit(&b->word, memory_order_relaxed);
    for (;;) {
        /* A queued caller was here first: taking a slot now would overtake it. */
        if (QUEUED(word) != 0 || IN_FLIGHT(word) >= max_of(b)) {
            return false;
        }
        if (atomic_compare_exchange_weak_explicit(&b->word, &word, word + 1, memory_order_acquire,
                                                  memory_order_relaxed)) {
            return true;
        }
    }
}

bool rs_bulkhead_try_enter(rs_bulkhead *b)
{
    if (b == NULL) {
        return false;
    }
    if (take_free_slot(b)) {
        RS__TALLY_ADD(b->counts, entered, 1);
        return true;
    }
    RS__TALLY_ADD(b->counts, refused, 1);
    return false;
}

/* How a queued caller's wait ended. */
typedef enum queue_end { END_ENTERED, END_TIMED_OUT, END_CANCELLED } queue_end;

/* Counts a queued caller's end and the time it spent queued. */
static void count_queue_end(rs_bulkhead *b, queue_end end, uint64_t waited_ns)
{
    unsigned slot = rs__tally_slot();
    counts *mine = &b->counts[slot];
    rs__atomic_u64 *outcome = end == END_ENTERED     ? &mine->entered_queued
                              : end == END_TIMED_OUT ? &mine->timed_out
                                                     : &mine->cancelled;
    rs__tally_add(outcome, 1, slot);
    rs__tally_add(&mine->queue_wait_ns, waited_ns, slot);
}

/* ---- the queue (all under b->lock) ------------------------------------------ */

static void unlink_place(rs_bulkhead *b, rs_bulkhead_ticket *p)
{
    if (p->prev != NULL) {
        p->prev->next = p->next;
    } else {
        b->head = p->next;
    }
    if (p->next != NULL) {
        p->next->prev = p->prev;
    } else {
        b->tail = p->prev;
    }
}

static void link_free(rs_bulkhead *b, rs_bulkhead_ticket *p)
{
    p->next = b->free_places;
    b->free_places = p;
}

/* The owner is done with place p (claimed or cancelled): it goes back to
 * the free list once no wake-up of it runs. One running on another thread
 * is waited for; one running on this thread (its callback called back,
 * against the contract) hands the place back itself when it returns. */
static void put_place(rs_bulkhead *b, rs_bulkhead_ticket *p)
{
    atomic_store_explicit(&p->state, PLACE_FREE, memory_order_relaxed);
    while (p->waking) {
        if (p->waker == &this_thread) {
            p->free_after_wake = true;
            return;
        }
#if RS_HAVE_THREADS
        (void)pthread_cond_wait(&b->wakes_done, &b->lock.handle);
#endif
    }
    link_free(b, p);
}

/* What a caller gets when it asks for a slot under the lock. */
typedef enum place_answer { GOT_SLOT, GOT_PLACE, QUEUE_FULL } place_answer;

/* A free slot if nobody is queued, else a place at the end of the queue,
 * queued since now_ns. */
static place_answer take_place(rs_bulkhead *b, uint64_t now_ns, rs_bulkhead_ticket **place)
{
    uint64_t word = atomic_load_explicit(&b->word, memory_order_relaxed);
    for (;;) {
        if (QUEUED(word) == 0 && IN_FLIGHT(word) < max_of(b)) {
            if (atomic_compare_exchange_weak_explicit(&b->word, &word, word + 1,
                                                      memory_order_acquire, memory_order_relaxed)) {
                return GOT_SLOT;
            }
            continue;
        }
        if (b->free_places == NULL) {
            return QUEUE_FULL;
        }
        if (atomic_compare_exchange_weak_explicit(&b->word, &word, word + ONE_QUEUED,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            break;
        }
    }
    rs_bulkhead_ticket *p = b->free_places;
    b->free_places = p->next;
    p->next = NULL;
    p->prev = b->tail;
    if (b->tail != NULL) {
        b->tail->next = p;
    } else {
        b->head = p;
    }
    b->tail = p;
    p->queued_ns = now_ns;
    p->wake = NULL;
    p->ctx = NULL;
    p->waking = false;
    p->free_after_wake = false;
#if RS_HAVE_THREADS
    p->cond = NULL;
#endif
    atomic_store_explicit(&p->state, PLACE_QUEUED, memory_order_relaxed);
    *place = p;
    return GOT_PLACE;
}

/* Hands free slots to the queue's head, in order, while the limit allows.
 * Each slot moves from "queued" to "in flight" in one step, so no lock-free
 * caller can take it on the way. Returns false when `wakes` filled up
 * before the queue was served: the caller runs them and comes back. */
static bool grant(rs_bulkhead *b, wake_list *wakes)
{
    while (b->head != NULL) {
        if (wakes->count == WAKE_BATCH) {
            return false;
        }
        uint64_t word = atomic_load_explicit(&b->word, memory_order_relaxed);
        do {
            if (IN_FLIGHT(word) >= max_of(b)) {
                return true;
            }
        } while (!atomic_compare_exchange_weak_explicit(&b->word, &word, word + 1 - ONE_QUEUED,
                                                        memory_order_acq_rel,
                                                        memory_order_relaxed));
        rs_bulkhead_ticket *p = b->head;
        unlink_place(b, p);
        atomic_store_explicit(&p->state, PLACE_GRANTED, memory_order_release);
#if RS_HAVE_THREADS
        if (p->cond != NULL) {
            (void)pthread_cond_signal(p->cond);
            continue;
        }
#endif
        if (p->wake != NULL) {
            p->waking = true;
            p->waker = &this_thread;
            wakes->calls[wakes->count].fn = p->wake;
            wakes->calls[wakes->count].ctx = p->ctx;
            wakes->calls[wakes->count].place = p;
            wakes->count++;
        }
    }
    return true;
}

/* Runs the wake-ups gathered by grant() (with the lock released), then
 * lets the owners that wait for them recycle their places. */
static void run_wakes(rs_bulkhead *b, wake_list *wakes)
{
    if (wakes->count == 0) {
        return;
    }
    for (unsigned i = 0; i < wakes->count; i++) {
        wakes->calls[i].fn(wakes->calls[i].ctx);
    }
    rs__mutex_lock(&b->lock);
    for (unsigned i = 0; i < wakes->count; i++) {
        rs_bulkhead_ticket *p = wakes->calls[i].place;
        p->waking = false;
        if (p->free_after_wake) {
            p->free_after_wake = false;
            link_free(b, p);
        }
    }
#if RS_HAVE_THREADS
    (void)pthread_cond_broadcast(&b->wakes_done);
#endif
    rs__mutex_unlock(&b->lock);
    wakes->count = 0;
}

/* Gives one slot back (when `release`) and serves the queue; callbacks run
 * with the lock released. */
static void release_and_grant(rs_bulkhead *b, bool release)
{
    wake_list wakes = { .count = 0 };
    bool served;
    do {
        rs__mutex_lock(&b->lock);
        if (release) {
            uint64_t word = atomic_load_explicit(&b->word, memory_order_relaxed);
            while (IN_FLIGHT(word) != 0 &&
                   !atomic_compare_exchange_weak_explicit(&b->word, &word, word - 1,
                                                          memory_order_release,
                                                          memory_order_relaxed)) {
            }
            release = false;
        }
        served = grant(b, &wakes);
        rs__mutex_unlock(&b->lock);
        run_wakes(b, &wakes);
    } while (!served);
}

void rs_bulkhead_leave(rs_bulkhead *b)
{
    if (b == NULL) {
        return;
    }
    uint64_t word = atomic_load_explicit(&b->word, memory_order_relaxed);
    while (QUEUED(word) == 0) {
        if (IN_FLIGHT(word) == 0) {
            return; /* more leaves than enters: nothing to give back */
        }
        if (atomic_compare_exchange_weak_explicit(&b->word, &word, word - 1, memory_order_release,
                                                  memory_order_relaxed)) {
            return;
        }
    }
    release_and_grant(b, true);
}

int rs_bulkhead_enter_async(rs_bulkhead *b, rs_bulkhead_wake_fn wake, void *ctx,
                            rs_bulkhead_ticket **ticket)
{
    if (b == NULL || ticket == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_bulkhead_enter_async: %s is NULL",
                                 b == NULL ? "b" : "ticket");
    }
    if (take_free_slot(b)) {
        RS__TALLY_ADD(b->counts, entered, 1);
        *ticket = NULL;
        return RS_OK;
    }
    /* The slow path: the time a ticket joins the queue, for its wait. */
    uint64_t now = rs_clock_now(b->clock);
    rs_bulkhead_ticket *p = NULL;
    rs__mutex_lock(&b->lock);
    place_answer answer = take_place(b, now, &p);
    if (answer == GOT_PLACE) {
        p->wake = wake;
        p->ctx = ctx;
    }
    if (answer != QUEUE_FULL) {
        /* Before the lock goes: a wake-up may run as soon as it does. */
        *ticket = p; /* NULL when a slot came free meanwhile */
    }
    rs__mutex_unlock(&b->lock);
    if (answer == QUEUE_FULL) {
        RS__TALLY_ADD(b->counts, refused, 1);
        return RS_E_LIMITED;
    }
    if (answer == GOT_SLOT) {
        RS__TALLY_ADD(b->counts, entered, 1);
    }
    return RS_OK;
}

bool rs_bulkhead_ticket_ready(rs_bulkhead *b, rs_bulkhead_ticket *ticket)
{
    if (b == NULL || ticket == NULL ||
        atomic_load_explicit(&ticket->state, memory_order_acquire) != PLACE_GRANTED) {
        return false;
    }
    rs__mutex_lock(&b->lock);
    if (atomic_load_explicit(&ticket->state, memory_order_relaxed) != PLACE_GRANTED) {
        rs__mutex_unlock(&b->lock); /* claimed or cancelled by a racing call */
        return false;
    }
    uint64_t queued_ns = ticket->queued_ns;
    put_place(b, ticket);
    rs__mutex_unlock(&b->lock);
    count_queue_end(b, END_ENTERED, rs__sat_sub(rs_clock_now(b->clock), queued_ns));
    return true;
}

/* Takes a waiter out of the queue (under the lock). True when it had been
 * granted its slot meanwhile: the slot is then the caller's. */
static bool withdraw(rs_bulkhead *b, rs_bulkhead_ticket *p)
{
    bool granted = atomic_load_explicit(&p->state, memory_order_acquire) == PLACE_GRANTED;
    if (!granted) {
        unlink_place(b, p);
        (void)atomic_fetch_sub_explicit(&b->word, ONE_QUEUED, memory_order_relaxed);
    }
    put_place(b, p);
    return granted;
}

void rs_bulkhead_ticket_cancel(rs_bulkhead *b, rs_bulkhead_ticket *ticket)
{
    if (b == NULL || ticket == NULL) {
        return;
    }
    rs__mutex_lock(&b->lock);
    if (atomic_load_explicit(&ticket->state, memory_order_relaxed) == PLACE_FREE) {
        rs__mutex_unlock(&b->lock); /* spent already: claimed or cancelled */
        return;
    }
    uint64_t queued_ns = ticket->queued_ns;
    bool granted = withdraw(b, ticket);
    rs__mutex_unlock(&b->lock);
    count_queue_end(b, END_CANCELLED, rs__sat_sub(rs_clock_now(b->clock), queued_ns));
    if (granted) {
        rs_bulkhead_leave(b); /* the slot it was handed goes on to the next */
    }
}

#if RS_HAVE_THREADS
static struct timespec timespec_of(uint64_t ns)
{
    struct timespec ts;
    uint64_t max_seconds = (uint64_t)(((time_t)1 << (sizeof(time_t) * 8 - 2)) - 1);
    ts.tv_sec = (time_t)rs__min_u64(ns / RS__NS_PER_SEC, max_seconds);
    ts.tv_nsec = (long)(ns % RS__NS_PER_SEC);
    return ts;
}

static uint64_t monotonic_now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return rs__sat_add(rs__sat_mul((uint64_t)ts.tv_sec, RS__NS_PER_SEC), (uint64_t)ts.tv_nsec);
}

/* Sleeps on `cond` (with b->lock held) until it is signalled or until the
 * bulkhead's clock may have reached deadline_ns. The condition variable
 * runs on CLOCK_MONOTONIC, which is the system clock's time: its deadline
 * is exact. Any other clock is read again every FOREIGN_CLOCK_POLL_NS. */
static void sleep_until(rs_bulkhead *b, pthread_cond_t *cond, uint64_t deadline_ns, uint64_t now_ns)
{
    uint64_t until = b->clock == rs_clock_system()
                         ? deadline_ns
                         : rs__sat_add(monotonic_now_ns(),
                                       rs__min_u64(deadline_ns - now_ns, FOREIGN_CLOCK_POLL_NS));
    struct timespec ts = timespec_of(until);
    (void)pthread_cond_timedwait(cond, &b->lock.handle, &ts);
}

/* The blocking wait, from now_ns: a place in the queue and this thread's
 * condition variable, until granted or past deadline_ns on the bulkhead's
 * clock. Counts its outcome. */
static int wait_for_slot(rs_bulkhead *b, uint64_t now_ns, uint64_t deadline_ns)
{
    pthread_condattr_t attr;
    pthread_cond_t cond;
    int failed = pthread_condattr_init(&attr);
    if (failed == 0) {
        (void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        failed = pthread_cond_init(&cond, &attr);
        (void)pthread_condattr_destroy(&attr);
    }
    if (failed != 0) {
        RS__TALLY_ADD(b->counts, refused, 1);
        return RS_E_LIMITED;
    }
    rs_bulkhead_ticket *p = NULL;
    rs__mutex_lock(&b->lock);
    place_answer answer = take_place(b, now_ns, &p);
    bool granted = answer == GOT_SLOT;
    if (answer == GOT_PLACE) {
        p->cond = &cond;
        for (;;) {
            if (atomic_load_explicit(&p->state, memory_order_acquire) == PLACE_GRANTED) {
                break;
            }
            uint64_t now = rs_clock_now(b->clock);
            if (now >= deadline_ns) {
                break;
            }
            sleep_until(b, &cond, deadline_ns, now);
        }
        granted = withdraw(b, p);
    }
    rs__mutex_unlock(&b->lock);
    (void)pthread_cond_destroy(&cond);
    if (answer == GOT_PLACE) {
        count_queue_end(b, granted ? END_ENTERED : END_TIMED_OUT,
                        rs__sat_sub(rs_clock_now(b->clock), now_ns));
    } else if (granted) {
        RS__TALLY_ADD(b->counts, entered, 1);
    } else {
        RS__TALLY_ADD(b->counts, refused, 1);
    }
    return granted ? RS_OK : RS_E_LIMITED;
}
#endif

int rs_bulkhead_enter(rs_bulkhead *b, uint64_t max_wait_ns)
{
    if (b == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_bulkhead_enter: b is NULL");
    }
    if (take_free_slot(b)) {
        RS__TALLY_ADD(b->counts, entered, 1);
        return RS_OK;
    }
#if RS_HAVE_THREADS
    if (max_wait_ns != 0) {
        uint64_t now = rs_clock_now(b->clock);
        return wait_for_slot(b, now, rs__sat_add(now, max_wait_ns));
    }
#else
    (void)max_wait_ns; /* no other thread can leave while this one waits */
#endif
    RS__TALLY_ADD(b->counts, refused, 1);
    return RS_E_LIMITED;
}

/* Moves the limit; a larger one serves the queue at once. Always under
 * the lock: a caller queueing right now may have compared the word with
 * the old limit, and only the lock orders its place before our look at
 * the queue. */
static void move_limit(rs_bulkhead *b, uint32_t max_concurrent)
{
    uint32_t old = atomic_exchange_explicit(&b->max_concurrent, max_concurrent,
                                            memory_order_relaxed);
    if (max_concurrent > old) {
        release_and_grant(b, false);
    }
}

int rs_bulkhead_set_max_concurrent(rs_bulkhead *b, uint32_t max_concurrent)
{
    if (b == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_bulkhead_set_max_concurrent: b is NULL");
    }
    if (max_concurrent == 0 || max_concurrent > RS_BULKHEAD_MAX_CONCURRENT) {
        return rs_set_last_error(RS_E_INVAL, "max_concurrent: %u, must be in [1, %u]",
                                 max_concurrent, RS_BULKHEAD_MAX_CONCURRENT);
    }
    move_limit(b, max_concurrent);
    return RS_OK;
}

/* An adaptive limit's answer as a bulkhead limit. */
static uint32_t clamp_limit(uint32_t limit)
{
    return limit == 0 ? 1u : limit > RS_BULKHEAD_MAX_CONCURRENT ? RS_BULKHEAD_MAX_CONCURRENT : limit;
}

int rs_bulkhead_set_adaptive(rs_bulkhead *b, rs_adaptive_limit *limit)
{
    if (b == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_bulkhead_set_adaptive: b is NULL");
    }
    if (limit != NULL && rs_adaptive_limit_clock(limit) != b->clock) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_bulkhead_set_adaptive: the limit runs on another clock "
                                 "than the bulkhead's");
    }
    atomic_store_explicit(&b->limit, limit, memory_order_release);
    if (limit != NULL) {
        move_limit(b, clamp_limit(rs_adaptive_limit_get(limit)));
    }
    return RS_OK;
}

void rs_bulkhead_leave_sample_at(rs_bulkhead *b, uint64_t start_ns, rs_outcome outcome,
                                 uint64_t now_ns)
{
    if (b == NULL) {
        return;
    }
    rs_adaptive_limit *limit = atomic_load_explicit(&b->limit, memory_order_acquire);
    if (limit != NULL) {
        uint32_t in_flight = IN_FLIGHT(atomic_load_explicit(&b->word, memory_order_relaxed));
        uint32_t next = rs_adaptive_limit_sample_at(limit, rs__sat_sub(now_ns, start_ns),
                                                    in_flight, outcome, now_ns);
        /* Set before leaving: the leave hands out slots under the new
         * limit (more of them when it grew and callers are queued). */
        atomic_store_explicit(&b->max_concurrent, clamp_limit(next), memory_order_relaxed);
    }
    rs_bulkhead_leave(b);
}

void rs_bulkhead_leave_sample(rs_bulkhead *b, uint64_t start_ns, rs_outcome outcome)
{
    if (b != NULL) {
        rs_bulkhead_leave_sample_at(b, start_ns, outcome, rs_clock_now(b->clock));
    }
}

uint32_t rs_bulkhead_in_flight(rs_bulkhead *b)
{
    return b != NULL ? IN_FLIGHT(atomic_load_explicit(&b->word, memory_order_relaxed)) : 0;
}

uint32_t rs_bulkhead_queued(rs_bulkhead *b)
{
    return b != NULL ? QUEUED(atomic_load_explicit(&b->word, memory_order_relaxed)) : 0;
}

uint32_t rs_bulkhead_max_concurrent(rs_bulkhead *b)
{
    return b != NULL ? max_of(b) : 0;
}

const rs_clock *rs_bulkhead_clock(const rs_bulkhead *b)
{
    return b != NULL ? b->clock : NULL;
}

int rs_bulkhead_metrics(rs_bulkhead *b, rs_bulkhead_snapshot *m)
{
    if (b == NULL || m == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_bulkhead_metrics: %s is NULL",
                                 b == NULL ? "b" : "m");
    }
    rs_bulkhead_snapshot snap = { 0 };
    uint64_t word = atomic_load_explicit(&b->word, memory_order_relaxed);
    snap.max_concurrent = max_of(b);
    snap.max_queue = b->max_queue;
    snap.in_flight = IN_FLIGHT(word);
    snap.queued = QUEUED(word);
    uint64_t at_once;
    RS__TALLY_SUM(at_once, b->counts, entered);
    RS__TALLY_SUM(snap.entered_queued, b->counts, entered_queued);
    snap.entered = at_once + snap.entered_queued;
    RS__TALLY_SUM(snap.refused, b->counts, refused);
    RS__TALLY_SUM(snap.timed_out, b->counts, timed_out);
    RS__TALLY_SUM(snap.cancelled, b->counts, cancelled);
    RS__TALLY_SUM(snap.queue_wait_ns, b->counts, queue_wait_ns);
    *m = snap;
    return RS_OK;
}
