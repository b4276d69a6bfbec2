#include "core/tally.h"

#include <stdbool.h>
#include <string.h>

#include "core/build_config.h"

#if RS_HAVE_THREADS
#include <pthread.h>
#endif

_Thread_local unsigned rs__tally_my_slot RS__TLS_MODEL;

void rs__tally_init(void *shards, size_t shard_size)
{
    memset(shards, 0, RS__TALLY_SHARDS * shard_size);
}

#if RS_HAVE_THREADS

_Static_assert(RS__TALLY_SLOTS <= 32, "the slots are bits of one word");

/* Bit s set: slot s belongs to a live thread. */
static _Atomic uint32_t taken;
static pthread_key_t exit_key;
static bool have_exit_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* At thread exit: the slot goes back. A destructor that runs after this
 * one and still counts uses the shared shard, never the slot another
 * thread may claim meanwhile. The release orders this thread's last plain
 * stores before the next owner's. */
static void give_back(void *value)
{
    unsigned slot = (unsigned)(uintptr_t)value - 1;
    rs__tally_my_slot = RS__TALLY_SLOTS + 1;
    atomic_fetch_and_explicit(&taken, ~(UINT32_C(1) << slot), memory_order_release);
}

/* In a child after fork(): only the forking thread exists, so only its
 * slot is still taken. */
static void after_fork_in_child(void)
{
    unsigned mine = rs__tally_my_slot;
    uint32_t keep = mine != 0 && mine <= RS__TALLY_SLOTS ? UINT32_C(1) << (mine - 1) : 0;
    atomic_store_explicit(&taken, keep, memory_order_relaxed);
}

static void init_once(void)
{
    have_exit_key = pthread_key_create(&exit_key, give_back) == 0;
    (void)pthread_atfork(NULL, NULL, after_fork_in_child);
}

unsigned rs__tally_claim_slot(void)
{
    (void)pthread_once(&once, init_once);
    unsigned slot = RS__TALLY_SLOTS;
    /* Without a way to give a slot back at exit, a thread must not take
     * one: the shared shard is always right. */
    uint32_t seen = atomic_load_explicit(&taken, memory_order_relaxed);
    while (have_exit_key) {
        unsigned free_slot = 0;
        while (free_slot < RS__TALLY_SLOTS && (seen & (UINT32_C(1) << free_slot)) != 0) {
            free_slot++;
        }
        if (free_slot == RS__TALLY_SLOTS) {
            break;
        }
        /* Acquire: the previous owner's counts happen before ours. */
        if (atomic_compare_exchange_weak_explicit(&taken, &seen,
                                                  seen | (UINT32_C(1) << free_slot),
                                                  memory_order_acquire, memory_order_relaxed)) {
            if (pthread_setspecific(exit_key, (void *)(uintptr_t)(free_slot + 1)) != 0) {
                atomic_fetch_and_explicit(&taken, ~(UINT32_C(1) << free_slot),
                                          memory_order_release);
                break;
            }
            slot = free_slot;
            break;
        }
    }
    rs__tally_my_slot = slot + 1;
    return slot;
}

unsigned rs__tally_slots_taken(void)
{
    return (unsigned)__builtin_popcount(atomic_load_explicit(&taken, memory_order_relaxed));
}

#else /* !RS_HAVE_THREADS: one thread, which owns slot 0 */

unsigned rs__tally_claim_slot(void)
{
    rs__tally_my_slot = 1;
    return 0;
}

unsigned rs__tally_slots_taken(void)
{
    return rs__tally_my_slot != 0;
}

#endif
