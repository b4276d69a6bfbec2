/**
 * @file sliding_window.h
 * @brief Sliding-window rate limiter: at most `limit` requests per
 *        `window_ns`, either exactly (a log of timestamps) or estimated in
 *        O(1) memory (two weighted counters).
 *
 * A request admitted at instant t counts against every window that contains
 * t: at instant `now` the window is the half-open interval
 * `(now - window_ns, now]`, so an admission stops counting exactly
 * `window_ns` after it was made. A request for n units (n requests, or n
 * tokens when limiting tokens per minute) is admitted whole or not at all.
 *
 * **#RS_WINDOW_LOG** is exact: in every interval of length `window_ns`, at
 * most `limit` units are admitted, and a request is admitted whenever it
 * fits. It keeps one ring-buffer slot (16 bytes) per admitted request still
 * in the window, sized for `limit` slots at creation, so `limit` is bounded
 * by #RS_SLIDING_WINDOW_LOG_MAX_LIMIT (16 MiB of slots). O(1) amortised per
 * call.
 *
 * **#RS_WINDOW_COUNTER** is the two-bucket estimate popularised by
 * Cloudflare: time is cut into fixed windows `[k*window_ns, (k+1)*window_ns)`;
 * with P units admitted in the previous fixed window, C in the current one
 * and a fraction f of the current window elapsed, the estimate is
 * `P*(1-f) + C`, and n units are admitted when `P*(1-f) + C + n <= limit`
 * (compared exactly in integers, no floating point). O(1) memory and time.
 * It assumes the previous window's traffic was spread evenly; its
 * worst-case over-admission:
 *  - every fixed window admits at most `limit` (the estimate is >= C);
 *  - a sliding window ending a fraction f into fixed window k holds at most
 *    `limit + P*f` units (when all P came at the very end of window k-1);
 *    so any interval of length `window_ns` holds fewer than `2 * limit`,
 *    and that bound is approached by a burst at the end of one window
 *    followed by a steady stream through the next.
 *  On traffic that is roughly uniform the error is small (docs/rate-limiting.md).
 *
 * **Time.** An instant earlier than the latest one the limiter has seen (a
 * thread whose clock reading is older than another's, or an `_at` caller
 * going back) counts as that latest instant: time never runs backwards in a
 * window. Every function that reads the clock has an `_at` twin taking the
 * instant as a trailing `now_ns` argument.
 *
 * **Threads.** Every function is thread-safe; each call runs a short
 * critical section under a spinlock (eviction of expired log slots is
 * amortised O(1)). Clock reads happen outside it.
 *
 * See docs/rate-limiting.md for choosing between this and the token bucket.
 */
#ifndef RESILIENCE_SLIDING_WINDOW_H
#define RESILIENCE_SLIDING_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "resilience/clock.h"
#include "resilience/common.h"
#include "resilience/limiter.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest `limit` accepted for #RS_WINDOW_LOG (2^20 slots, 16 MiB). @since 0.1.0 */
#define RS_SLIDING_WINDOW_LOG_MAX_LIMIT (UINT64_C(1) << 20)

/** Sliding-window algorithm. @since 0.1.0 */
typedef enum rs_window_kind {
    RS_WINDOW_LOG = 0,    /**< exact; O(limit) memory */
    RS_WINDOW_COUNTER = 1 /**< two-bucket weighted estimate; O(1) memory */
} rs_window_kind;

/** Sliding-window configuration; start from #RS_SLIDING_WINDOW_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_sliding_window_config {
    uint64_t limit;      /**< units per window, >= 1; LOG: <= #RS_SLIDING_WINDOW_LOG_MAX_LIMIT */
    uint64_t window_ns;  /**< window length in ns, >= 1 */
    rs_window_kind kind; /**< default #RS_WINDOW_LOG */
} rs_sliding_window_config;

/**
 * Defaults as a brace initializer, for static initializers and C++ (the
 * fields in declaration order): 100 requests per second, exact log.
 * @since 0.2.0
 */
#define RS_SLIDING_WINDOW_CONFIG_INIT                                                 \
    {                                                                               \
        100u,          /* limit */                                                  \
        1000000000u,   /* window_ns: 1 s */                                         \
        RS_WINDOW_LOG  /* kind */                                                   \
    }

/** Defaults: a compound literal of #RS_SLIDING_WINDOW_CONFIG_INIT. @since 0.1.0 */
#define RS_SLIDING_WINDOW_CONFIG_DEFAULT                                              \
    ((rs_sliding_window_config)RS_SLIDING_WINDOW_CONFIG_INIT)

/** Opaque sliding-window limiter. */
typedef struct rs_sliding_window rs_sliding_window;

/**
 * Checks a sliding-window configuration without creating anything.
 *
 * @return #RS_OK, or #RS_E_INVAL when @p cfg is NULL, limit or window_ns is
 *         0, kind is not one of #rs_window_kind, or kind is #RS_WINDOW_LOG
 *         and limit exceeds #RS_SLIDING_WINDOW_LOG_MAX_LIMIT; rs_last_error()
 *         names the field (`"rs_sliding_window_config.limit: 0, must be >= 1"`).
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API int rs_sliding_window_config_validate(const rs_sliding_window_config *cfg);

/**
 * Creates a sliding-window limiter with nothing admitted yet. A log
 * allocates its `limit` slots here, never later.
 *
 * @param cfg    validated as rs_sliding_window_config_validate(); copied.
 * @param clock  the clock it reads; NULL = the system monotonic clock. Must
 *               outlive the limiter.
 * @param out    receives the new limiter; untouched on error.
 * @return #RS_OK, #RS_E_INVAL (bad @p cfg, or @p out NULL; nothing
 *         allocated; rs_last_error() names which), #RS_E_NOMEM.
 * @since 0.1.0
 */
RS_API int rs_sliding_window_new(const rs_sliding_window_config *cfg, const rs_clock *clock,
                                 rs_sliding_window **out);

/** Frees @p w; NULL is ignored. Not concurrent with other use. @since 0.1.0 */
RS_API void rs_sliding_window_free(rs_sliding_window *w);

/**
 * Admits @p n units now if they fit in the window; never waits.
 *
 * @param w  the limiter; NULL gives false.
 * @param n  units; 0 always succeeds (and records nothing); more than the
 *           limit can never be admitted and gives false.
 * @return true if admitted (and recorded), false if nothing was recorded.
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API bool rs_sliding_window_try_acquire(rs_sliding_window *w, uint64_t n);

/** rs_sliding_window_try_acquire() at the instant @p now_ns. @since 0.1.0 */
RS_API bool rs_sliding_window_try_acquire_at(rs_sliding_window *w, uint64_t n, uint64_t now_ns);

/**
 * How long until @p n units would be admitted, if nothing else is admitted
 * meanwhile: try_acquire() at `now + wait` succeeds and, for a wait > 0 and
 * a `now` no older than the latest instant the limiter has seen, at
 * `now + wait - 1` fails. The wait is measured from the caller's `now`. Admits
 * nothing.
 *
 * @param w  the limiter; NULL gives UINT64_MAX.
 * @param n  units; 0 gives 0; more than the limit gives UINT64_MAX (never).
 * @return the wait in ns: 0 exactly when try_acquire() would admit now;
 *         UINT64_MAX when @p n is never admitted, or not before the end of
 *         64-bit time (since 0.2.0: a full window near UINT64_MAX no longer
 *         answers 0 while it refuses).
 * @note Thread-safe. O(1) for the counter; for the log, O(slots that must
 *       expire first).
 * @since 0.1.0
 */
RS_API uint64_t rs_sliding_window_wait_ns(rs_sliding_window *w, uint64_t n);

/** rs_sliding_window_wait_ns() from the instant @p now_ns. @since 0.1.0 */
RS_API uint64_t rs_sliding_window_wait_ns_at(rs_sliding_window *w, uint64_t n, uint64_t now_ns);

/**
 * @p w behind the rs_limiter interface (limiter.h): acquire admits now
 * (RS_OK, wait 0) or refuses with the wait until it may (RS_E_LIMITED; the
 * wait rs_sliding_window_wait_ns_at() gives, UINT64_MAX when not before
 * the end of 64-bit time), or RS_E_INVAL when n exceeds the limit; wait_ns
 * is rs_sliding_window_wait_ns_at(). @p w must outlive the returned value;
 * NULL gives an empty limiter.
 * @since 0.1.0
 */
RS_API rs_limiter rs_sliding_window_limiter(rs_sliding_window *w);

/**
 * Units counted against the window now: for the log, exactly the units
 * admitted in `(now - window_ns, now]`; for the counter, the estimate
 * `P*(1-f) + C`, rounded up. Informative only under concurrency.
 *
 * @param w  the limiter; NULL gives 0.
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API uint64_t rs_sliding_window_count(rs_sliding_window *w);

/** rs_sliding_window_count() at the instant @p now_ns. @since 0.1.0 */
RS_API uint64_t rs_sliding_window_count_at(rs_sliding_window *w, uint64_t now_ns);

/**
 * What rs_sliding_window_metrics() reports. The counters count since the
 * window was created; a request above the limit (never admissible, an
 * error) and a request for 0 units are not counted. The shared-memory
 * window reports the same fields (rs_shm_sliding_window_metrics()).
 * @since 0.2.0
 */
typedef struct rs_sliding_window_snapshot {
    uint64_t limit;          /**< units per window */
    uint64_t window_ns;      /**< the window's length */
    rs_window_kind kind;     /**< the algorithm */
    uint64_t count;          /**< units counted against the window now, as
                                  rs_sliding_window_count() */
    uint64_t admitted;       /**< requests admitted */
    uint64_t admitted_units; /**< units the admitted requests took */
    uint64_t refused;        /**< requests refused (nothing recorded) */
} rs_sliding_window_snapshot;

/**
 * Fills @p m with the window's configuration, its count now and its
 * counters, as one consistent snapshot (one critical section; reads the
 * clock once). The counters cost the admission path two stores inside the
 * critical section it takes anyway.
 *
 * @param w  the limiter.
 * @param m  receives the snapshot; untouched on error.
 * @return #RS_OK, or #RS_E_INVAL when @p w or @p m is NULL.
 * @note Thread-safe: the same short critical section as
 *       rs_sliding_window_count().
 * @since 0.2.0
 */
RS_API int rs_sliding_window_metrics(rs_sliding_window *w, rs_sliding_window_snapshot *m);

/** rs_sliding_window_metrics() at the instant @p now_ns. @since 0.2.0 */
RS_API int rs_sliding_window_metrics_at(rs_sliding_window *w, rs_sliding_window_snapshot *m,
                                        uint64_t now_ns);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_SLIDING_WINDOW_H */
