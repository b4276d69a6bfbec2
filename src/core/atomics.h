/* C11 atomics helpers shared by the modules.
 *
 * The modules keep their hot state in `_Atomic` words and use the helpers
 * here for the few read-modify-write patterns that recur (monotonic max,
 * relaxed statistics counters). */
#ifndef RS_CORE_ATOMICS_H
#define RS_CORE_ATOMICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/arith.h"

#if defined(__STDC_NO_ATOMICS__)
#error "libresilience needs C11 atomics"
#endif

typedef _Atomic uint64_t rs__atomic_u64;
typedef _Atomic uint32_t rs__atomic_u32;

/* Tells the CPU we are spinning (cheaper for the sibling hyperthread). */
static inline void rs__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#elif defined(__GNUC__)
    __asm__ __volatile__("" ::: "memory"); /* no hint: keeps the loop a loop */
#endif
}

/* Statistics counters: exact totals, no ordering needed. */
static inline void rs__counter_add(rs__atomic_u64 *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* A statistics counter that one thread at a time writes (under a lock, or
 * owned by the thread): a plain load and store, no locked instruction,
 * while readers may load it at any moment without the lock. */
static inline void rs__counter_bump(rs__atomic_u64 *counter, uint64_t n)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline uint64_t rs__counter_get(const rs__atomic_u64 *counter)
{
    return atomic_load_explicit((rs__atomic_u64 *)counter, memory_order_relaxed);
}

/* *word = max(*word, value), atomically; returns the resulting value. */
static inline uint64_t rs__atomic_max(rs__atomic_u64 *word, uint64_t value)
{
    uint64_t old = atomic_load_explicit(word, memory_order_relaxed);
    while (old < value) {
        if (atomic_compare_exchange_weak_explicit(word, &old, value, memory_order_acq_rel,
                                                  memory_order_relaxed)) {
            return value;
        }
    }
    return old;
}

#endif /* RS_CORE_ATOMICS_H */
