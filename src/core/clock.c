#include "resilience/clock.h"

#include <errno.h>
#include <stddef.h>
#include <time.h>

#include "core/arith.h"

static uint64_t timespec_to_ns(const struct timespec *ts)
{
    return rs__sat_add(rs__sat_mul((uint64_t)ts->tv_sec, RS__NS_PER_SEC), (uint64_t)ts->tv_nsec);
}

static uint64_t system_now_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return timespec_to_ns(&ts);
}

static void system_sleep_ns(void *ctx, uint64_t ns)
{
    (void)ctx;
    if (ns == 0) {
        return;
    }
    /* An absolute deadline makes restarting after EINTR exact: the time
     * already slept is not slept again. */
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t deadline = rs__sat_add(timespec_to_ns(&now), ns);
    uint64_t max_seconds = (uint64_t)(((time_t)1 << (sizeof(time_t) * 8 - 2)) - 1);
    struct timespec until;
    until.tv_sec = (time_t)rs__min_u64(deadline / RS__NS_PER_SEC, max_seconds);
    until.tv_nsec = (long)(deadline % RS__NS_PER_SEC);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
}

static const rs_clock system_clock = { system_now_ns, system_sleep_ns, NULL };

const rs_clock *rs_clock_system(void)
{
    return &system_clock;
}

uint64_t rs_clock_now(const rs_clock *clock)
{
    if (clock == NULL) {
        clock = &system_clock;
    }
    return clock->now_ns(clock->ctx);
}

void rs_clock_sleep(const rs_clock *clock, uint64_t ns)
{
    if (clock == NULL) {
        clock = &system_clock;
    }
    clock->sleep_ns(clock->ctx, ns);
}

/* The manual clock's fields are plain integers in a public struct (so that it
 * can live on the stack in C and C++ alike); the GCC/Clang __atomic builtins
 * give them atomic access. */
static uint64_t manual_load(uint64_t *word)
{
    return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

static void manual_advance(rs_manual_clock *m, uint64_t ns)
{
    uint64_t old = manual_load(&m->now_ns_);
    uint64_t next;
    do {
        next = rs__sat_add(old, ns);
    } while (!__atomic_compare_exchange_n(&m->now_ns_, &old, next, true, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
}

static uint64_t manual_now_ns(void *ctx)
{
    return manual_load(&((rs_manual_clock *)ctx)->now_ns_);
}

static void manual_sleep_ns(void *ctx, uint64_t ns)
{
    rs_manual_clock *m = ctx;
    __atomic_fetch_add(&m->sleep_calls_, 1, __ATOMIC_RELAXED);
    manual_advance(m, ns);
}

void rs_manual_clock_init(rs_manual_clock *m, uint64_t start_ns)
{
    if (m == NULL) {
        return;
    }
    m->clock_.now_ns = manual_now_ns;
    m->clock_.sleep_ns = manual_sleep_ns;
    m->clock_.ctx = m;
    __atomic_store_n(&m->now_ns_, start_ns, __ATOMIC_RELEASE);
    __atomic_store_n(&m->sleep_calls_, 0, __ATOMIC_RELEASE);
}

const rs_clock *rs_manual_clock_get(rs_manual_clock *m)
{
    return m != NULL ? &m->clock_ : NULL;
}

uint64_t rs_manual_clock_now(rs_manual_clock *m)
{
    return m != NULL ? manual_load(&m->now_ns_) : 0;
}

void rs_manual_clock_advance(rs_manual_clock *m, uint64_t ns)
{
    if (m != NULL) {
        manual_advance(m, ns);
    }
}

void rs_manual_clock_set(rs_manual_clock *m, uint64_t now_ns)
{
    if (m == NULL) {
        return;
    }
    uint64_t old = manual_load(&m->now_ns_);
    while (old < now_ns && !__atomic_compare_exchange_n(&m->now_ns_, &old, now_ns, true,
                                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    }
}

uint64_t rs_manual_clock_sleep_count(rs_manual_clock *m)
{
    return m != NULL ? __atomic_load_n(&m->sleep_calls_, __ATOMIC_RELAXED) : 0;
}
