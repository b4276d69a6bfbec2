#include "core/contention.h"

#include "resilience/clock.h"

_Thread_local rs__last_write rs__my_last_write RS__TLS_MODEL;

_Atomic uint32_t rs__hand_off_pauses;

/* Pauses timed to find the count, and the bounds of the count: a timing
 * stretched by preemption gives a short spin, and neither it nor a clock
 * too coarse to see the sample (which gets the sample's count) can make a
 * long one. */
#define SAMPLE_PAUSES 64u
#define MIN_PAUSES 8u
#define MAX_PAUSES 1024u

uint32_t rs__calibrate_hand_off(void)
{
    uint64_t start = rs_clock_now(NULL);
    for (uint32_t i = 0; i < SAMPLE_PAUSES; i++) {
        rs__cpu_relax();
    }
    uint64_t took = rs_clock_now(NULL) - start;
    uint64_t pauses = took == 0 ? SAMPLE_PAUSES
                                : (uint64_t)SAMPLE_PAUSES * RS__CONTENTION_SPIN_NS / took;
    pauses = rs__min_u64(rs__max_u64(pauses, MIN_PAUSES), MAX_PAUSES);
    /* Racing first hand-offs each store their own measurement: any is fine. */
    atomic_store_explicit(&rs__hand_off_pauses, (uint32_t)pauses, memory_order_relaxed);
    return (uint32_t)pauses;
}
