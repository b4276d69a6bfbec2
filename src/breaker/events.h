/* The breaker's lock, and the state-change callbacks it defers until the
 * lock is released, private to the breaker: `on_state_change` and the
 * event hook (#RS_EVENT_STATE_CHANGE), both for each transition.
 *
 * Transitions happen under the lock and queue their (from, to) here; the
 * callback must never run under the lock (it may call back into the
 * breaker). One thread at a time, the "deliverer", runs the queued callbacks
 * after unlocking, oldest first: so each transition is reported exactly once,
 * one callback at a time, in transition order. A callback that itself causes
 * a transition only queues it; the deliverer runs it when the callback
 * returns.
 *
 * The queue is bounded. When it is nearly full (a callback is taking very
 * long while other threads keep causing transitions), a thread that wants
 * the lock to make a transition first waits for the deliverer; the deliverer
 * itself (a callback causing many transitions) runs the oldest callback in
 * place instead, still in order. */
#ifndef RS_BREAKER_EVENTS_H
#define RS_BREAKER_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/build_config.h"
#include "core/lock.h"
#include "resilience/breaker.h"
#include "resilience/events.h"

#define RS__BREAKER_EVENTS_CAPACITY 64u

typedef void (*rs__breaker_callback)(void *ctx, rs_breaker_state from, rs_breaker_state to);

typedef struct rs__breaker_events {
    rs__spinlock *lock;  /* the breaker's lock: guards the breaker and the queue */
    rs__breaker_callback callback;
    void *ctx;
    rs_event_hook hook;  /* hears each transition after `callback` */
    const void *object;  /* the breaker, and its name, for the events */
    const char *name;
    uint32_t head;       /* oldest queued event */
    uint32_t count;      /* queued events; > 0 implies delivering */
    bool delivering;
#if RS_HAVE_THREADS
    pthread_t deliverer; /* valid while delivering */
#endif
    uint8_t from[RS__BREAKER_EVENTS_CAPACITY];
    uint8_t to[RS__BREAKER_EVENTS_CAPACITY];
    uint64_t at_ns[RS__BREAKER_EVENTS_CAPACITY];
} rs__breaker_events;

/* `lock` lives with the data it guards (the breaker keeps it on the cache line
 * its hot path writes); the queue borrows it. */
void rs__breaker_events_init(rs__breaker_events *e, rs__spinlock *lock,
                             rs__breaker_callback callback, void *ctx, rs_event_hook hook,
                             const void *object, const char *name);

/* The slow halves of the two calls below. */
void rs__breaker_events_wait_for_room(rs__breaker_events *e, uint32_t room);
void rs__breaker_events_deliver(rs__breaker_events *e);

/* Takes the lock with room for `room` more events (room <= 8). Inline: every
 * record pays it. */
static inline void rs__breaker_events_lock(rs__breaker_events *e, uint32_t room)
{
    rs__spin_lock(e->lock);
    if (e->count + room > RS__BREAKER_EVENTS_CAPACITY) {
        rs__breaker_events_wait_for_room(e, room);
    }
}

/* Releases the lock, then runs the queued callbacks if no other thread is
 * running them already. */
static inline void rs__breaker_events_unlock(rs__breaker_events *e)
{
    if (e->count == 0 || e->delivering) {
        rs__spin_unlock(e->lock);
    } else {
        rs__breaker_events_deliver(e);
    }
}

/* Under the lock: queues a transition made at at_ns (nothing when there is
 * neither a callback nor a hook). */
void rs__breaker_events_push(rs__breaker_events *e, rs_breaker_state from, rs_breaker_state to,
                             uint64_t at_ns);

#endif /* RS_BREAKER_EVENTS_H */
