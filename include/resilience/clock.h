/**
 * @file clock.h
 * @brief The monotonic clock every module reads, and a manual clock for tests
 *        and simulations.
 *
 * Time is `uint64_t` nanoseconds everywhere. Objects take a `const rs_clock *`
 * at creation; NULL means rs_clock_system(). The clock must outlive every
 * object that uses it.
 */
#ifndef RESILIENCE_CLOCK_H
#define RESILIENCE_CLOCK_H

#include <stdint.h>

#include "resilience/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @name Durations
 * Whole numbers of a unit as `uint64_t` nanoseconds, so that a timeout
 * reads `RS_SEC(30)` and `1000` is never mistaken for a second. Integer
 * arguments only (a fraction is truncated: write `RS_MS(2500)`, not
 * `RS_SEC(2.5)`); constant expressions, usable in static initializers.
 * @since 0.2.0
 * @{
 */
#define RS_US(n) ((uint64_t)(n) * UINT64_C(1000))                /**< microseconds */
#define RS_MS(n) ((uint64_t)(n) * UINT64_C(1000000))             /**< milliseconds */
#define RS_SEC(n) ((uint64_t)(n) * UINT64_C(1000000000))         /**< seconds */
#define RS_MIN(n) ((uint64_t)(n) * UINT64_C(60000000000))        /**< minutes */
#define RS_HOUR(n) ((uint64_t)(n) * UINT64_C(3600000000000))     /**< hours */
/** @} */

/**
 * A monotonic clock: a time source and a way to wait on it.
 *
 * Supply your own to run the library on an event loop's cached time or on a
 * simulated clock. `now_ns` must never go backwards and must be safe to call
 * from any thread; `sleep_ns` blocks the calling thread for about `ns`
 * nanoseconds of this clock's time (a simulated clock may just advance).
 * @since 0.1.0
 */
typedef struct rs_clock {
    uint64_t (*now_ns)(void *ctx);            /**< monotonic time in ns */
    void (*sleep_ns)(void *ctx, uint64_t ns); /**< wait ns on this clock */
    void *ctx;                                /**< passed to both */
} rs_clock;

/**
 * The system monotonic clock: CLOCK_MONOTONIC; sleep uses clock_nanosleep()
 * with an absolute deadline, restarted when a signal interrupts it.
 *
 * @return a static clock; never NULL.
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API const rs_clock *rs_clock_system(void);

/**
 * Reads a clock: `clock->now_ns(clock->ctx)`, or the system clock when
 * @p clock is NULL.
 * @since 0.1.0
 */
RS_API uint64_t rs_clock_now(const rs_clock *clock);

/**
 * Sleeps @p ns nanoseconds on a clock (the system clock when NULL).
 * @since 0.1.0
 */
RS_API void rs_clock_sleep(const rs_clock *clock, uint64_t ns);

/**
 * A clock that only moves when told to: rs_manual_clock_advance(), or a sleep
 * on it, which advances the time by the requested amount and returns at once.
 * Tests and simulations drive whole compositions with it and never sleep for
 * real.
 *
 * A complete type so that it can live on the stack or inside another object;
 * its fields are private (use the functions below). This is the only public
 * struct with private fields.
 *
 * @note Every function on it is thread-safe: time is one atomic word.
 * @since 0.1.0
 */
typedef struct rs_manual_clock {
    rs_clock clock_;          /**< private: the rs_clock handed out */
    uint64_t now_ns_;         /**< private: accessed atomically */
    uint64_t sleep_calls_;    /**< private: accessed atomically */
} rs_manual_clock;

/**
 * Initialises a manual clock at @p start_ns. Must be called before any other
 * use; NULL is ignored.
 * @since 0.1.0
 */
RS_API void rs_manual_clock_init(rs_manual_clock *m, uint64_t start_ns);

/**
 * The rs_clock view of @p m, to pass to `rs_X_new()`. Valid as long as @p m.
 * @since 0.1.0
 */
RS_API const rs_clock *rs_manual_clock_get(rs_manual_clock *m);

/** Current time of @p m in ns. @since 0.1.0 */
RS_API uint64_t rs_manual_clock_now(rs_manual_clock *m);

/**
 * Moves @p m forward by @p ns nanoseconds; saturates at UINT64_MAX instead of
 * wrapping. Thread-safe.
 * @since 0.1.0
 */
RS_API void rs_manual_clock_advance(rs_manual_clock *m, uint64_t ns);

/**
 * Sets @p m to @p now_ns if that is later than its current time (a monotonic
 * clock never goes back; earlier values are ignored).
 * @since 0.1.0
 */
RS_API void rs_manual_clock_set(rs_manual_clock *m, uint64_t now_ns);

/**
 * How many times something slept on @p m since init: lets a test assert that
 * code waited (or did not) without real time passing.
 * @since 0.1.0
 */
RS_API uint64_t rs_manual_clock_sleep_count(rs_manual_clock *m);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_CLOCK_H */
