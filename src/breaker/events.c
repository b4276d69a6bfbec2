#include "events.h"

#include <string.h>

void rs__breaker_events_init(rs__breaker_events *e, rs__spinlock *lock,
                             rs__breaker_callback callback, void *ctx, rs_event_hook hook,
                             const void *object, const char *name)
{
    memset(e, 0, sizeof *e);
    e->lock = lock;
    e->callback = callback;
    e->ctx = ctx;
    e->hook = hook;
    e->object = object;
    e->name = name;
}

static bool is_deliverer(const rs__breaker_events *e)
{
#if RS_HAVE_THREADS
    return e->delivering && pthread_equal(e->deliverer, pthread_self());
#else
    return e->delivering; /* one thread: a nested call from the callback */
#endif
}

/* Under the lock: removes the oldest event, releases the lock and runs it. */
static void run_oldest_and_unlock(rs__breaker_events *e)
{
    rs_breaker_state from = (rs_breaker_state)e->from[e->head];
    rs_breaker_state to = (rs_breaker_state)e->to[e->head];
    uint64_t at_ns = e->at_ns[e->head];
    e->head = (e->head + 1) % RS__BREAKER_EVENTS_CAPACITY;
    e->count--;
    rs__spin_unlock(e->lock);
    if (e->callback != NULL) {
        e->callback(e->ctx, from, to);
    }
    if (e->hook.fn != NULL) {
        rs_event event = { 0 };
        event.kind = RS_EVENT_STATE_CHANGE;
        event.source = RS_EVENT_SOURCE_BREAKER;
        event.name = e->name;
        event.object = e->object;
        event.at_ns = at_ns;
        event.from = from;
        event.to = to;
        e->hook.fn(e->hook.ctx, &event);
    }
}

/* Called with the lock held and the queue too full; returns with the lock
 * held and room made. */
void rs__breaker_events_wait_for_room(rs__breaker_events *e, uint32_t room)
{
    while (e->count + room > RS__BREAKER_EVENTS_CAPACITY) {
        /* Full, so someone is delivering (count > 0 implies it). */
        if (is_deliverer(e)) {
            run_oldest_and_unlock(e);
        } else {
            rs__spin_unlock(e->lock);
#if RS_HAVE_THREADS
            (void)sched_yield();
#endif
        }
        rs__spin_lock(e->lock);
    }
}

void rs__breaker_events_push(rs__breaker_events *e, rs_breaker_state from, rs_breaker_state to,
                             uint64_t at_ns)
{
    if (e->callback == NULL && e->hook.fn == NULL) {
        return;
    }
    uint32_t tail = (e->head + e->count) % RS__BREAKER_EVENTS_CAPACITY;
    e->from[tail] = (uint8_t)from;
    e->to[tail] = (uint8_t)to;
    e->at_ns[tail] = at_ns;
    e->count++;
}

/* Called with the lock held, events queued and nobody delivering: this
 * thread becomes the deliverer until the queue is empty. */
void rs__breaker_events_deliver(rs__breaker_events *e)
{
    e->delivering = true;
#if RS_HAVE_THREADS
    e->deliverer = pthread_self();
#endif
    do {
        run_oldest_and_unlock(e);
        rs__spin_lock(e->lock);
    } while (e->count > 0);
    e->delivering = false;
    rs__spin_unlock(e->lock);
}
