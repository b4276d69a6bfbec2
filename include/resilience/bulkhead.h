/**
 * @file bulkhead.h
 * @brief Bulkhead: at most `max_concurrent` calls in flight at once, and a
 *        bounded queue of callers waiting for a slot, served in arrival
 *        order.
 *
 * A bulkhead keeps one dependency from taking every thread (or every
 * connection) of a program: calls beyond its limit wait in a FIFO queue of
 * at most `max_queue` callers, and a caller beyond that, or one whose wait
 * would be too long, is refused at once with #RS_E_LIMITED.
 *
 * - rs_bulkhead_try_enter() takes a free slot or fails; it never queues.
 *   Lock-free: one compare-exchange.
 * - rs_bulkhead_enter() waits, blocking the thread on a condition
 *   variable, until a slot is handed to it or its wait is over.
 * - rs_bulkhead_enter_async() is the same for event loops: it answers at
 *   once with a slot or a *ticket* (a place in the queue); the loop learns
 *   that the ticket got its slot from a wake-up callback or by asking
 *   rs_bulkhead_ticket_ready(), and gives up with
 *   rs_bulkhead_ticket_cancel().
 * - rs_bulkhead_leave() gives a slot back: to the first waiter when one is
 *   queued (the slot passes straight to it, so no newcomer can overtake the
 *   queue), else to everyone. Lock-free when nobody waits.
 *
 * **Adaptive.** rs_bulkhead_set_adaptive() attaches an
 * #rs_adaptive_limit: `max_concurrent` then follows it, and each
 * rs_bulkhead_leave_sample() feeds it one call's latency and outcome. In a
 * policy (`rs_policy_config.bulkhead`) this happens on every attempt.
 *
 * **Metrics.** rs_bulkhead_metrics() fills an #rs_bulkhead_snapshot: the
 * limit, the calls in flight and queued, and how the requests for a slot
 * ended (entered at once or after queueing, refused, timed out,
 * cancelled) with the time spent queued; rs_exporter_add_bulkhead()
 * (metrics.h) exports it.
 *
 * **Per key.** One bulkhead per tenant or endpoint, through an
 * #rs_registry whose `create` callback makes the bulkhead, isolates them:
 * a tenant that fills its own slots cannot take another's
 * (docs/bulkhead.md).
 *
 * **Time.** Blocking waits use a condition variable with a deadline on the
 * bulkhead's clock: on the system clock it is exact; on another clock the
 * thread wakes at least every 10 ms of real time to read it, so on a
 * manual clock a blocking wait ends when another thread moves the clock
 * past it or leaves. Tests on a manual clock drive waits through the
 * tickets. With `-Dthreads=disabled` no other thread can leave while one
 * waits, so rs_bulkhead_enter() never blocks: it is rs_bulkhead_try_enter()
 * with a status (tickets still work, their slots come from leaves on the
 * same thread).
 */
#ifndef RESILIENCE_BULKHEAD_H
#define RESILIENCE_BULKHEAD_H

#include <stdbool.h>
#include <stdint.h>

#include "resilience/adaptive.h"
#include "resilience/clock.h"
#include "resilience/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest `max_concurrent`. @since 0.2.0 */
#define RS_BULKHEAD_MAX_CONCURRENT 1000000u

/** Largest `max_queue`: 2^20 waiters (each place costs about 48 bytes, taken at creation). @since 0.2.0 */
#define RS_BULKHEAD_MAX_QUEUE (1u << 20)

/**
 * Bulkhead configuration; start from #RS_BULKHEAD_CONFIG_DEFAULT.
 * @since 0.2.0
 */
typedef struct rs_bulkhead_config {
    /** calls in flight at once, 1 to #RS_BULKHEAD_MAX_CONCURRENT (default 10) */
    uint32_t max_concurrent;
    /** callers that may wait for a slot, 0 to #RS_BULKHEAD_MAX_QUEUE; 0 =
        none wait: a full bulkhead refuses at once (default 100) */
    uint32_t max_queue;
} rs_bulkhead_config;

/** #RS_BULKHEAD_CONFIG_DEFAULT as a brace initializer (static initializers, C++). @since 0.2.0 */
#define RS_BULKHEAD_CONFIG_INIT { 10u /* max_concurrent */, 100u /* max_queue */ }

/** Defaults: 10 calls in flight, 100 waiting. @since 0.2.0 */
#define RS_BULKHEAD_CONFIG_DEFAULT ((rs_bulkhead_config)RS_BULKHEAD_CONFIG_INIT)

/** Opaque bulkhead. */
typedef struct rs_bulkhead rs_bulkhead;

/** A place in a bulkhead's queue, from rs_bulkhead_enter_async(). Opaque. @since 0.2.0 */
typedef struct rs_bulkhead_ticket rs_bulkhead_ticket;

/**
 * Called once when a queued ticket got its slot, on the thread whose leave
 * (or limit change) freed it, with no library lock held; possibly before
 * rs_bulkhead_enter_async() has returned on the owner's thread. Keep it
 * short: wake the loop that owns the ticket (write to an eventfd,
 * uv_async_send, schedule an immediate timer) and let that loop claim the
 * slot with rs_bulkhead_ticket_ready(). It may run inside another call
 * into the library on that thread, so it must not call into the bulkhead
 * itself, nor wait for anything another ticket's owner does. Once the
 * owner's rs_bulkhead_ticket_ready() has answered true, or its
 * rs_bulkhead_ticket_cancel() has returned, the wake-up has returned too
 * (those two wait for a wake-up still running): the owner may then free
 * what @p ctx points to.
 * @since 0.2.0
 */
typedef void (*rs_bulkhead_wake_fn)(void *ctx);

/**
 * Checks a bulkhead configuration without creating anything.
 * @return #RS_OK, or #RS_E_INVAL with rs_last_error() naming the field
 *         (@p cfg NULL, `max_concurrent` 0 or above
 *         #RS_BULKHEAD_MAX_CONCURRENT, `max_queue` above #RS_BULKHEAD_MAX_QUEUE).
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API int rs_bulkhead_config_validate(const rs_bulkhead_config *cfg);

/**
 * Creates a bulkhead with every slot free. Its queue's places are
 * allocated here, so waiting never allocates.
 * @param cfg    validated as rs_bulkhead_config_validate(); copied.
 * @param clock  the clock blocking waits measure their deadline on (and a
 *               policy's must match); NULL = the system clock.
 * @param out    receives the bulkhead; untouched on error.
 * @return #RS_OK; #RS_E_INVAL (as validate, or @p out NULL); #RS_E_NOMEM
 *         (nothing leaks).
 * @since 0.2.0
 */
RS_API int rs_bulkhead_new(const rs_bulkhead_config *cfg, const rs_clock *clock,
                           rs_bulkhead **out);

/**
 * Frees @p b; NULL is ignored. No call may be in flight or waiting, and
 * no ticket outstanding.
 * @since 0.2.0
 */
RS_API void rs_bulkhead_free(rs_bulkhead *b);

/**
 * Takes a slot if one is free and nobody is queued for it; never waits.
 * @return true: the slot is the caller's (give it back once with
 *         rs_bulkhead_leave()); false (also for NULL): nothing taken.
 * @note Thread-safe and lock-free: one compare-exchange; no clock read.
 * @since 0.2.0
 */
RS_API bool rs_bulkhead_try_enter(rs_bulkhead *b);

/**
 * Takes a slot, waiting for one up to @p max_wait_ns (on the bulkhead's
 * clock) in the queue, behind the callers who came before.
 * @param max_wait_ns  0 = only a free slot (as try_enter); UINT64_MAX =
 *                     as long as it takes.
 * @return #RS_OK: the slot is the caller's; #RS_E_LIMITED: no slot within
 *         the wait, or the queue is full (refused at once); nothing held.
 *         #RS_E_INVAL for NULL @p b.
 * @note Thread-safe. Blocks the thread (see "Time" above); allocates
 *       nothing.
 * @since 0.2.0
 */
RS_API int rs_bulkhead_enter(rs_bulkhead *b, uint64_t max_wait_ns);

/**
 * rs_bulkhead_enter() for a caller that must not block (an event loop):
 * a free slot now, or a place in the queue.
 *
 * @param wake    called once when the ticket gets its slot (see
 *                #rs_bulkhead_wake_fn); NULL = none: the caller polls
 *                rs_bulkhead_ticket_ready().
 * @param ctx     passed to @p wake.
 * @param ticket  receives NULL when a slot was free (it is the caller's
 *                now), else the ticket: a place in the queue, owned by the
 *                caller until rs_bulkhead_ticket_ready() answers true or
 *                rs_bulkhead_ticket_cancel() gives it up.
 * @return #RS_OK (a slot or a ticket); #RS_E_LIMITED: no slot and the
 *         queue is full, nothing held; #RS_E_INVAL for NULL @p b or
 *         @p ticket.
 * @note Thread-safe; never blocks, never allocates (the queue's places
 *       were allocated by rs_bulkhead_new()); reads the clock only when no
 *       slot is free (the time it joins the queue, for `queue_wait_ns`).
 *       The caller enforces its own deadline: cancel the ticket when it
 *       is over.
 * @since 0.2.0
 */
RS_API int rs_bulkhead_enter_async(rs_bulkhead *b, rs_bulkhead_wake_fn wake, void *ctx,
                                   rs_bulkhead_ticket **ticket);

/**
 * Whether a ticket got its slot. True: the slot is the caller's (give it
 * back with rs_bulkhead_leave()) and the ticket is spent: it answers false
 * and cancelling it does nothing until its place serves another caller,
 * after which it must not be passed again (the places are recycled). False:
 * still queued. A true answer waits for the ticket's wake-up if that is
 * still running on another thread.
 * @note Thread-safe; lock-free while the ticket waits (one atomic load);
 *       the answer true takes the lock and reads the clock once (the wait,
 *       for rs_bulkhead_metrics()). NULL arguments give false.
 * @since 0.2.0
 */
RS_API bool rs_bulkhead_ticket_ready(rs_bulkhead *b, rs_bulkhead_ticket *ticket);

/**
 * Gives up a ticket: its place in the queue, or, when the slot was handed
 * to it meanwhile and not yet claimed, the slot itself (passed on as
 * rs_bulkhead_leave() would). The ticket is spent (see
 * rs_bulkhead_ticket_ready()); a spent ticket is ignored. Returns once
 * the ticket's wake-up, if one was running on another thread, has
 * returned. NULL arguments are ignored.
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API void rs_bulkhead_ticket_cancel(rs_bulkhead *b, rs_bulkhead_ticket *ticket);

/**
 * Gives a slot back (once per successful enter or ready ticket): to the
 * first queued caller if there is one and the limit allows, else to
 * anyone. NULL is ignored.
 * @note Thread-safe; lock-free when nobody is queued; a queued caller's
 *       wake callback runs here, after the lock is released.
 * @since 0.2.0
 */
RS_API void rs_bulkhead_leave(rs_bulkhead *b);

/**
 * rs_bulkhead_leave() that first reports the call to the attached adaptive
 * limit (rs_adaptive_limit_sample(), with the calls in flight now) and
 * moves `max_concurrent` to the limit's answer. Without an attached limit
 * it is rs_bulkhead_leave().
 * @param start_ns  when the call got its slot, on the bulkhead's clock.
 * @param outcome   what the call's answer said about the server's load.
 * @note Thread-safe; NULL @p b is ignored. Reads the clock once; the
 *       limit's sample takes its short spinlock.
 * @since 0.2.0
 */
RS_API void rs_bulkhead_leave_sample(rs_bulkhead *b, uint64_t start_ns, rs_outcome outcome);

/** rs_bulkhead_leave_sample() at the instant @p now_ns on the bulkhead's clock (no
    clock read). @since 0.2.0 */
RS_API void rs_bulkhead_leave_sample_at(rs_bulkhead *b, uint64_t start_ns, rs_outcome outcome,
                                        uint64_t now_ns);

/**
 * Changes `max_concurrent` of a live bulkhead. Growing it hands the new
 * slots to queued callers at once; shrinking it takes nothing from the
 * calls in flight: no new one starts until fewer than the new limit are.
 * @return #RS_OK, or #RS_E_INVAL (NULL @p b; @p max_concurrent 0 or above
 *         #RS_BULKHEAD_MAX_CONCURRENT; rs_last_error() says which).
 * @note Thread-safe. With an adaptive limit attached the limit's next
 *       window overrides it.
 * @since 0.2.0
 */
RS_API int rs_bulkhead_set_max_concurrent(rs_bulkhead *b, uint32_t max_concurrent);

/**
 * Makes `max_concurrent` follow @p limit: set to its value now, and after
 * every rs_bulkhead_leave_sample(). NULL detaches (the limit stays where
 * it last was). The limit must run on the bulkhead's clock and must
 * outlive the attachment. One limit serves one bulkhead: attached to two,
 * it would mix their samples (not checked; the limits are then wrong,
 * never unsafe).
 * @return #RS_OK; #RS_E_INVAL (NULL @p b, or @p limit on another clock;
 *         rs_last_error() says which).
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API int rs_bulkhead_set_adaptive(rs_bulkhead *b, rs_adaptive_limit *limit);

/** Calls holding a slot now; 0 for NULL. Lock-free. @since 0.2.0 */
RS_API uint32_t rs_bulkhead_in_flight(rs_bulkhead *b);

/** Callers queued now; 0 for NULL. Lock-free. @since 0.2.0 */
RS_API uint32_t rs_bulkhead_queued(rs_bulkhead *b);

/** The current `max_concurrent`; 0 for NULL. Lock-free. @since 0.2.0 */
RS_API uint32_t rs_bulkhead_max_concurrent(rs_bulkhead *b);

/** The clock @p b runs on; NULL for NULL. @since 0.2.0 */
RS_API const rs_clock *rs_bulkhead_clock(const rs_bulkhead *b);

/**
 * A bulkhead's limits and occupancy now, and what became of the callers
 * who asked it for a slot since it was created; filled by
 * rs_bulkhead_metrics().
 *
 * Every request for a slot (rs_bulkhead_try_enter(), rs_bulkhead_enter(),
 * rs_bulkhead_enter_async()) ends in exactly one of `entered`, `refused`,
 * `timed_out` or `cancelled`, or is still waiting: `queued`, or a ticket
 * whose slot came and that rs_bulkhead_ticket_ready() has not claimed yet.
 * @since 0.2.0
 */
typedef struct rs_bulkhead_snapshot {
    uint32_t max_concurrent;  /**< the limit now (an adaptive limit moves it) */
    uint32_t max_queue;       /**< the most callers that may wait (configured) */
    uint32_t in_flight;       /**< calls holding a slot now */
    uint32_t queued;          /**< callers waiting in the queue now */
    uint64_t entered;         /**< slots given to callers: at once, or after queueing */
    uint64_t entered_queued;  /**< the part of `entered` that waited in the queue first
                                   (a blocking wait that got its slot, a ticket claimed
                                   with rs_bulkhead_ticket_ready()) */
    uint64_t refused;         /**< requests answered "no slot" at once: a failed
                                   rs_bulkhead_try_enter(), rs_bulkhead_enter() with no
                                   wait allowed, or a full queue */
    uint64_t timed_out;       /**< blocking waits in the queue that ended without a slot
                                   (`max_wait_ns` over) */
    uint64_t cancelled;       /**< tickets given up with rs_bulkhead_ticket_cancel()
                                   (a slot that had reached one went on to the next) */
    uint64_t queue_wait_ns;   /**< time the callers who left the queue spent in it, from
                                   joining it to taking their slot or giving up, in
                                   total, on the bulkhead's clock */
} rs_bulkhead_snapshot;

/**
 * Fills @p m with the bulkhead's limits, occupancy and totals.
 *
 * Counting costs the lock-free enter no locked instruction: the totals are
 * kept on a cache line per thread (the first few threads; the rest share
 * one with atomic adds) and summed here. Each total is exact once the
 * callers it counts are done and never goes back between two reads; the
 * fields are not one atomic snapshot (a slot may show in `in_flight`
 * before it shows in `entered`). Only a caller that queues reads the clock
 * for `queue_wait_ns`, when it joins the queue and when it leaves it.
 *
 * @param b  the bulkhead.
 * @param m  receives the snapshot; untouched on error.
 * @return #RS_OK, or #RS_E_INVAL when @p b or @p m is NULL.
 * @note Thread-safe and lock-free: loads only, no clock read.
 * @since 0.2.0
 */
RS_API int rs_bulkhead_metrics(rs_bulkhead *b, rs_bulkhead_snapshot *m);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_BULKHEAD_H */
