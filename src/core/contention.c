#include "core/contention.h"

#include "resilience/clock.h"

_Thread_local rs__last_write rs__my_last_write RS__TLS_MODEL;

_Atomic uint32_t rs__hand_off_pauses;

/* Pauses per timed sample, samples per calibration (the fastest counts:
 * preemption only ever stretches one), and the bounds of the count: a
 * stretched timing gives a short spin, and neither it, nor a clock too
 * coarse to see the sample (which gets the sample's count), nor a relax
 * that costs next to nothing can make a long one. */
#define SAMPLE_PAUSES 64u
#define SAMPLES 3
#define MIN_PAUSES 8u
#define MAX_PAUSES 8192u

uint32_t rs__hand_off_pauses_for(uint64_t sample_ns)
{
    uint64_t pauses = sample_ns == 0 ? SAMPLE_PAUSES
                                     : (uint64_t)SAMPLE_PAUSES * RS__CONTENTION_SPIN_NS / sample_ns;
    return (uint32_t)rs__min_u64(rs__max_u64(pauses, MIN_PAUSES), MAX_PAUSES);
}

uint32_t rs__calibrate_hand_off(void)
{
    uint64_t fastest = UINT64_MAX;
    for (int sample = 0; sample < SAMPLES; sample++) {
        uint64_t start = rs_clock_now(NULL);
        for (uint32_t i = 0; i < SAMPLE_PAUSES; i++) {
            rs__cpu_relax();
        }
        fastest = rs__min_u64(fastest, rs_clock_now(NULL) - start);
    }
    uint32_t pauses = rs__hand_off_pauses_for(fastest);
    /* Racing first hand-offs each store their own measurement: any is fine. */
    atomic_store_explicit(&rs__hand_off_pauses, pauses, memory_order_relaxed);
    return pauses;
}
