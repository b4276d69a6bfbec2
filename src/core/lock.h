/* Locks for the few critical sections the algorithms need.
 *
 * rs__mutex wraps pthreads; rs__spinlock is for sections of a few dozen
 * instructions on hot paths where a futex round trip would dominate. With
 * `-Dthreads=disabled` both compile to nothing. */
#ifndef RS_CORE_LOCK_H
#define RS_CORE_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>

#include "core/atomics.h"
#include "core/build_config.h"

#if RS_HAVE_THREADS
#include <pthread.h>
#include <sched.h>

typedef struct rs__mutex {
    pthread_mutex_t handle;
} rs__mutex;

/* Returns 0, or non-zero when the system is out of resources. */
static inline int rs__mutex_init(rs__mutex *m) { return pthread_mutex_init(&m->handle, NULL); }
static inline void rs__mutex_destroy(rs__mutex *m) { (void)pthread_mutex_destroy(&m->handle); }
static inline void rs__mutex_lock(rs__mutex *m) { (void)pthread_mutex_lock(&m->handle); }
static inline void rs__mutex_unlock(rs__mutex *m) { (void)pthread_mutex_unlock(&m->handle); }

typedef struct rs__spinlock {
    atomic_bool held;
} rs__spinlock;

static inline void rs__spin_init(rs__spinlock *s) { atomic_init(&s->held, false); }

static inline void rs__spin_lock(rs__spinlock *s)
{
    unsigned spins = 0;
    /* Test-and-test-and-set: spin on a plain load so waiters share the cache
     * line instead of bouncing it; yield if the holder was descheduled. */
    while (atomic_exchange_explicit(&s->held, true, memory_order_acquire)) {
        while (atomic_load_explicit(&s->held, memory_order_relaxed)) {
            if (++spins < 64) {
                rs__cpu_relax();
            } else {
                spins = 0;
                (void)sched_yield();
            }
        }
    }
}

static inline void rs__spin_unlock(rs__spinlock *s)
{
    atomic_store_explicit(&s->held, false, memory_order_release);
}

#else /* !RS_HAVE_THREADS */

typedef struct rs__mutex {
    char unused;
} rs__mutex;
static inline int rs__mutex_init(rs__mutex *m) { (void)m; return 0; }
static inline void rs__mutex_destroy(rs__mutex *m) { (void)m; }
static inline void rs__mutex_lock(rs__mutex *m) { (void)m; }
static inline void rs__mutex_unlock(rs__mutex *m) { (void)m; }

typedef struct rs__spinlock {
    char unused;
} rs__spinlock;
static inline void rs__spin_init(rs__spinlock *s) { (void)s; }
static inline void rs__spin_lock(rs__spinlock *s) { (void)s; }
static inline void rs__spin_unlock(rs__spinlock *s) { (void)s; }

#endif /* RS_HAVE_THREADS */

#endif /* RS_CORE_LOCK_H */
