#include "breaker_events.h"

#include <string.h>

void rs__breaker_events_init(rs__breaker_events *e, rs__breaker_callback callback, void *ctx)
{
    memset(e, 0, sizeof *e);
    rs__spin_init(&e->lock);
    e->callback = callback;
    e->ctx = ctx;
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
    e->head = (e->head + 1) % RS__BREAKER_EVENTS_CAPACITY;
    e->count--;
    rs__spin_unlock(&e->lock);
    e->callback(e->ctx, from, to);
}

void rs__breaker_events_lock(rs__breaker_events *e, uint32_t room)
{
    for (;;) {
        rs__spin_lock(&e->lock);
        if (e->count + room <= RS__BREAKER_EVENTS_CAPACITY) {
            return;
        }
        /* Full, so someone is delivering (count > 0 implies it). */
        if (is_deliverer(e)) {
            run_oldest_and_unlock(e);
        } else {
            rs__spin_unlock(&e->lock);
#if RS_HAVE_THREADS
            (void)sched_yield();
#endif
        }
    }
}

void rs__breaker_events_push(rs__breaker_events *e, rs_breaker_state from, rs_breaker_state to)
{
    if (e->callback == NULL) {
        return;
    }
    uint32_t tail = (e->head + e->count) % RS__BREAKER_EVENTS_CAPACITY;
    e->from[tail] = (uint8_t)from;
    e->to[tail] = (uint8_t)to;
    e->count++;
}

void rs__breaker_events_unlock(rs__breaker_events *e)
{
    if (e->count == 0 || e->delivering) {
        rs__spin_unlock(&e->lock);
        return;
    }
    e->delivering = true;
#if RS_HAVE_THREADS
    e->deliverer = pthread_self();
#endif
    run_oldest_and_unlock(e);
    for (;;) {
        rs__spin_lock(&e->lock);
        if (e->count == 0) {
            e->delivering = false;
            rs__spin_unlock(&e->lock);
            return;
        }
        run_oldest_and_unlock(e);
    }
}
