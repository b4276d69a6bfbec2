/**
 * @file adaptive.h
 * @brief Limits that find the server's capacity instead of being told it:
 *        an adaptive concurrency limit (AIMD or gradient, as Netflix's
 *        concurrency-limits) and an adaptive request rate (CUBIC, as the
 *        AWS SDKs' adaptive retry mode).
 *
 * **rs_adaptive_limit** is a number of calls allowed in flight that moves
 * with what the calls see: it grows while their latency stays near its
 * floor and shrinks when latency shows queueing or the server throttles.
 * Feed it one sample per finished call (rs_adaptive_limit_sample()); the
 * usual way is to attach it to an #rs_bulkhead (rs_bulkhead_set_adaptive()),
 * whose `max_concurrent` then follows it, and let the policy feed it.
 *
 * **rs_adaptive_rate** is a request rate that backs off multiplicatively
 * when the server throttles (a 429, a Retry-After, a spent quota) and grows
 * back smoothly along a cubic curve, driving a token bucket's rate. It
 * starts unlimited unless given an initial rate, so a client configured
 * with no rate at all learns the server's from its answers. Give it to a
 * policy (`rs_policy_config.adaptive_rate`), which asks it before every
 * attempt and tells it every attempt's outcome.
 *
 * The algorithms, their parameters and why they are what they are:
 * docs/adaptive.md.
 */
#ifndef RESILIENCE_ADAPTIVE_H
#define RESILIENCE_ADAPTIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "resilience/clock.h"
#include "resilience/common.h"
#include "resilience/limiter.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * What one finished call says about the server's load.
 * @since 0.2.0
 */
typedef enum rs_outcome {
    /** answered normally: its latency is a measurement of the server */
    RS_OUTCOME_SUCCESS = 0,
    /** the server refused it for load (a 429; for a caller reporting
        outcomes itself, also a 503 it knows to mean overload), or it timed
        out: too much is being sent. A policy reports only retryable
        answers the caller marked `caller_fault` (429s) as throttled: other
        failures are the breaker's business */
    RS_OUTCOME_THROTTLED = 1,
    /** says nothing about the load (a bad request, a call cancelled by its
        caller): counted as finished, not measured */
    RS_OUTCOME_IGNORED = 2
} rs_outcome;

/* ---- Adaptive concurrency limit -------------------------------------------- */

/** How an #rs_adaptive_limit moves. @since 0.2.0 */
typedef enum rs_adaptive_algorithm {
    /**
     * Compares each window's mean latency (short term) with the latency
     * floor (long term: the lowest window mean, creeping up slowly) and
     * moves the limit by their gradient, `tolerance * floor / latency`: a
     * server that is full answers later in proportion to the calls queued
     * (Little's law), so the limit heads for where latency would be
     * `tolerance` times its floor, a small queue and no idle server. It
     * shrinks by at most half a window, grows by at most `growth` (and at
     * least one call) while the limit is in use; a throttled window
     * multiplies it by `backoff`. Calls sent before a reduction do not
     * count after it (one reduction per round trip). The default.
     */
    RS_ADAPTIVE_GRADIENT = 0,
    /**
     * Additive increase, multiplicative decrease: `increase` more per
     * window without a throttled call, times `backoff` after a window with
     * one. Reacts to throttling only (and to calls slower than
     * `timeout_ns`), not to latency: for servers that refuse (429) rather
     * than queue.
     */
    RS_ADAPTIVE_AIMD = 1
} rs_adaptive_algorithm;

/** Largest `max_limit` of an adaptive limit. @since 0.2.0 */
#define RS_ADAPTIVE_MAX_LIMIT 1000000u

/**
 * Adaptive limit configuration; start from #RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT.
 *
 * Samples are gathered in *windows* of about one round trip: a window
 * closes after `max(window_samples, limit)` samples, or after
 * `max_window_ns` with at least one; the limit moves once per window.
 * @since 0.2.0
 */
typedef struct rs_adaptive_limit_config {
    rs_adaptive_algorithm algorithm; /**< default #RS_ADAPTIVE_GRADIENT */
    uint32_t initial_limit;          /**< where it starts, in [min_limit, max_limit] (default 20) */
    uint32_t min_limit;              /**< never below, >= 1 (default 1) */
    uint32_t max_limit;              /**< never above, <= #RS_ADAPTIVE_MAX_LIMIT (default 1000) */
    /** after a window with a throttled call the limit is multiplied by
        this, in (0, 1) (default 0.9) */
    double backoff;
    /** AIMD: calls added per window without a throttled call, in
        (0, max_limit] (default 1) */
    double increase;
    /** GRADIENT: share the limit grows by per window whose latency stays
        within `tolerance` of the floor, in (0, 1] (default 0.1); at least one
        call a window */
    double growth;
    /** GRADIENT: the latency the limit aims at, as a multiple of the floor,
        >= 1 (default 1.1: window means spread by a few percent and the
        floor is their lowest, so 1 would read noise as queueing; much more
        is a standing queue) */
    double tolerance;
    /** a call slower than this counts as throttled (a timeout); 0 = none */
    uint64_t timeout_ns;
    /** fewest samples in a window, >= 1 (default 20: enough for its mean
        latency to be steady within a few percent) */
    uint32_t window_samples;
    /** a window closes after this long even with fewer samples, when it
        has one; > 0 (default 1 s) */
    uint64_t max_window_ns;
} rs_adaptive_limit_config;

/** #RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT as a brace initializer (static initializers, C++). @since 0.2.0 */
#define RS_ADAPTIVE_LIMIT_CONFIG_INIT                                                     \
    {                                                                                      \
        RS_ADAPTIVE_GRADIENT, 20u /* initial */, 1u /* min */, 1000u /* max */,            \
            0.9 /* backoff */, 1.0 /* increase */, 0.1 /* growth */, 1.1 /* tolerance */,  \
            0u /* timeout_ns */, 20u /* window_samples */, 1000000000u /* max_window_ns */ \
    }

/** Defaults: gradient, from 20 within [1, 1000], the parameters above. @since 0.2.0 */
#define RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT ((rs_adaptive_limit_config)RS_ADAPTIVE_LIMIT_CONFIG_INIT)

/** Opaque adaptive concurrency limit. */
typedef struct rs_adaptive_limit rs_adaptive_limit;

/**
 * Checks an adaptive limit configuration without creating anything.
 * @return #RS_OK, or #RS_E_INVAL with rs_last_error() naming the field:
 *         @p cfg NULL, an unknown algorithm, `min_limit` 0, `max_limit`
 *         below `min_limit` or above #RS_ADAPTIVE_MAX_LIMIT,
 *         `initial_limit` outside [min_limit, max_limit], `backoff` outside
 *         (0, 1), `increase` outside (0, max_limit], `growth` outside
 *         (0, 1], `tolerance` below 1 or not finite, `window_samples` 0,
 *         `max_window_ns` 0.
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API int rs_adaptive_limit_config_validate(const rs_adaptive_limit_config *cfg);

/**
 * Creates an adaptive limit at `initial_limit`.
 * @param cfg    validated as rs_adaptive_limit_config_validate(); copied.
 * @param clock  the clock whose time windows are measured on (and a
 *               policy's must match); NULL = the system clock.
 * @param out    receives the limit; untouched on error.
 * @return #RS_OK; #RS_E_INVAL (as validate, or @p out NULL); #RS_E_NOMEM.
 * @since 0.2.0
 */
RS_API int rs_adaptive_limit_new(const rs_adaptive_limit_config *cfg, const rs_clock *clock,
                                 rs_adaptive_limit **out);

/** Frees @p l; NULL is ignored. Not concurrent with other use. @since 0.2.0 */
RS_API void rs_adaptive_limit_free(rs_adaptive_limit *l);

/**
 * Reports one finished call.
 *
 * @param l          the limit; NULL does nothing (and gives 0).
 * @param rtt_ns     how long the call took, from when it was let through
 *                   (not counting a wait for the slot) to its answer.
 * @param in_flight  calls in flight when it finished, itself included:
 *                   the limit does not grow while most of it goes unused.
 * @param outcome    what the answer said (an unknown value counts as
 *                   #RS_OUTCOME_IGNORED).
 * @return the limit after this sample.
 * @note Thread-safe: a short critical section (a spinlock around a few
 *       dozen instructions, the window's sums and the limit change
 *       together); no allocation, no system call.
 * @since 0.2.0
 */
RS_API uint32_t rs_adaptive_limit_sample(rs_adaptive_limit *l, uint64_t rtt_ns,
                                         uint32_t in_flight, rs_outcome outcome);

/** rs_adaptive_limit_sample() at the instant @p now_ns on the limit's clock. @since 0.2.0 */
RS_API uint32_t rs_adaptive_limit_sample_at(rs_adaptive_limit *l, uint64_t rtt_ns,
                                            uint32_t in_flight, rs_outcome outcome,
                                            uint64_t now_ns);

/** The limit now; 0 for NULL. Lock-free. @since 0.2.0 */
RS_API uint32_t rs_adaptive_limit_get(const rs_adaptive_limit *l);

/**
 * An adaptive limit's state and what it has seen since creation, for
 * dashboards and plots; filled by rs_adaptive_limit_metrics().
 * @since 0.2.0
 */
typedef struct rs_adaptive_limit_snapshot {
    uint32_t limit;          /**< the limit now, calls in flight */
    uint32_t min_limit;      /**< its floor, as configured */
    uint32_t max_limit;      /**< its ceiling, as configured */
    double estimate;         /**< the limit before rounding down (it moves in fractions) */
    uint64_t floor_ns;       /**< the latency floor (long term); 0 before the first window */
    uint64_t latency_ns;     /**< the last closed window's mean latency; 0 before */
    uint64_t samples;        /**< samples reported */
    uint64_t throttled;      /**< ... of which throttled (#RS_OUTCOME_THROTTLED, or slower
                                  than `timeout_ns`) */
    uint64_t windows;        /**< windows closed */
    uint64_t throttled_windows; /**< ... of which had a throttled call (each multiplied the
                                     limit by `backoff`) */
} rs_adaptive_limit_snapshot;

/**
 * Fills @p m with the limit's state and totals, all read together under
 * the limit's lock.
 * @return #RS_OK, or #RS_E_INVAL when @p l or @p m is NULL (@p m untouched).
 * @note Thread-safe: the same short critical section as a sample; no clock
 *       read.
 * @since 0.2.0
 */
RS_API int rs_adaptive_limit_metrics(rs_adaptive_limit *l, rs_adaptive_limit_snapshot *m);

/**
 * The clock @p l runs on (for a composition's one-clock check); NULL for NULL.
 * @since 0.2.0
 */
RS_API const rs_clock *rs_adaptive_limit_clock(const rs_adaptive_limit *l);

/* ---- Adaptive rate --------------------------------------------------------- */

/**
 * Adaptive rate configuration; start from #RS_ADAPTIVE_RATE_CONFIG_DEFAULT.
 *
 * After a throttle the rate becomes `beta` times the rate it was sending
 * at (the *last good rate*, w), and from the end of the server's pause it
 * grows back along CUBIC's curve `w * (1 + (1 - beta) * (t / recovery - 1)^3)`:
 * fast at first, flat near w (where the last throttle came), then faster
 * again as it probes above. A throttle that comes before the curve is back
 * at w sets w lower still, to (1 + beta) / 2 of the rate it came at
 * (CUBIC's fast convergence). A throttle reduces the rate at most once per
 * round trip and once a second: answers to attempts sent before the last
 * reduction are not counted again. The first throttle of a rate that was
 * not limited yet reduces from the successes of the second before it.
 * @since 0.2.0
 */
typedef struct rs_adaptive_rate_config {
    /** requests per second before the first throttle; 0 = no limit until
        the server throttles or advertises a rate (default 0) */
    double initial_rate;
    /** never below this, requests per second, > 0 (default 0.5: one
        request every 2 s still probes a server that came back) */
    double min_rate;
    /** never above this; 0 = no ceiling (default 0). A rate the server
        advertises (rs_adaptive_rate_advertise()) is a ceiling too; the
        lower one holds */
    double max_rate;
    /** after a throttle, the rate is this share of the last good rate,
        in (0, 1) (default 0.8: gentler than the AWS SDKs' 0.7, since the
        shared server pause already stops every call for the Retry-After;
        docs/adaptive.md has the measurements) */
    double beta;
    /** time from a reduction (or the end of the server's pause) until the
        rate is back at the last good rate, > 0 (default 3 s: longer makes
        the probes above the server's rate, each of which costs a 429 and a
        pause, rarer, but finds a higher rate and recovers from an overload
        more slowly; docs/adaptive.md has the measurements) */
    uint64_t recovery_ns;
    /** the bucket's burst while the rate is limited, >= 1 (default 1: calls
        are spaced evenly, which is what a server's limiter counts) */
    uint64_t burst;
} rs_adaptive_rate_config;

/** #RS_ADAPTIVE_RATE_CONFIG_DEFAULT as a brace initializer. @since 0.2.0 */
#define RS_ADAPTIVE_RATE_CONFIG_INIT                                                      \
    {                                                                                      \
        0.0 /* initial_rate: none */, 0.5 /* min_rate */, 0.0 /* max_rate: none */,        \
            0.8 /* beta */, 3000000000u /* recovery_ns */, 1u /* burst */                  \
    }

/** Defaults: no rate until the first throttle, then CUBIC with beta 0.8,
    3 s back to the last good rate, at least 0.5 requests per second, burst
    1. @since 0.2.0 */
#define RS_ADAPTIVE_RATE_CONFIG_DEFAULT ((rs_adaptive_rate_config)RS_ADAPTIVE_RATE_CONFIG_INIT)

/** Opaque adaptive rate. */
typedef struct rs_adaptive_rate rs_adaptive_rate;

/**
 * Checks an adaptive rate configuration without creating anything.
 * @return #RS_OK, or #RS_E_INVAL with rs_last_error() naming the field:
 *         @p cfg NULL; `min_rate` not in (0, 1e9]; `initial_rate` or
 *         `max_rate` negative, not finite or above 1e9; a non-zero
 *         `initial_rate` below `min_rate`, or above a non-zero `max_rate`;
 *         a non-zero `max_rate` below `min_rate`; `beta` outside (0, 1);
 *         `recovery_ns` 0; `burst` 0; a `burst` that overflows the
 *         bucket's 64-bit capacity at `min_rate` (a tiny `min_rate`: the
 *         message names both).
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API int rs_adaptive_rate_config_validate(const rs_adaptive_rate_config *cfg);

/**
 * Creates an adaptive rate, with its own token bucket.
 * @param cfg    validated as rs_adaptive_rate_config_validate(); copied.
 * @param clock  the clock it runs on (its bucket too); NULL = the system
 *               clock.
 * @param out    receives it; untouched on error.
 * @return #RS_OK; #RS_E_INVAL; #RS_E_NOMEM (nothing leaks).
 * @since 0.2.0
 */
RS_API int rs_adaptive_rate_new(const rs_adaptive_rate_config *cfg, const rs_clock *clock,
                                rs_adaptive_rate **out);

/** Frees @p r and its bucket; NULL is ignored. Not concurrent with other use. @since 0.2.0 */
RS_API void rs_adaptive_rate_free(rs_adaptive_rate *r);

/**
 * @p r as an admission check (limiter.h): while no rate applies it grants
 * everything at once; then it is its token bucket (it reserves: callers
 * queue for their turn). For a policy, set `rs_policy_config.adaptive_rate`
 * instead: the policy asks it and also tells it the outcomes. @p r must
 * outlive the value; NULL gives the empty limiter.
 * @since 0.2.0
 */
RS_API rs_limiter rs_adaptive_rate_limiter(rs_adaptive_rate *r);

/**
 * Tells @p r what one attempt's answer said.
 *
 * @param r               NULL does nothing.
 * @param outcome         #RS_OUTCOME_THROTTLED for a 429, or any answer that
 *                        asked every caller to wait (a Retry-After, a spent
 *                        quota); #RS_OUTCOME_SUCCESS for a normal answer;
 *                        #RS_OUTCOME_IGNORED for the rest.
 * @param sent_ns         when the attempt was sent, on @p r's clock: a
 *                        throttle of an attempt sent before the last
 *                        reduction does not reduce the rate again.
 * @param server_wait_ns  how long the server asked to wait (Retry-After,
 *                        the time to a quota's reset); 0 = none. The rate
 *                        starts growing back when that wait is over, and
 *                        the time spent waiting does not count as time
 *                        sent at a rate.
 * @note Thread-safe: a short critical section; the bucket's rate changes
 *       (rs_token_bucket_set_rate) only when it moved by more than 1%.
 * @since 0.2.0
 */
RS_API void rs_adaptive_rate_record(rs_adaptive_rate *r, rs_outcome outcome, uint64_t sent_ns,
                                    uint64_t server_wait_ns);

/** rs_adaptive_rate_record() at the instant @p now_ns on @p r's clock. @since 0.2.0 */
RS_API void rs_adaptive_rate_record_at(rs_adaptive_rate *r, rs_outcome outcome,
                                       uint64_t sent_ns, uint64_t server_wait_ns,
                                       uint64_t now_ns);

/**
 * Tells @p r the request rate the server advertises (rs_http_feedback_request_rate(),
 * `rs_attempt.advertised_rate`): from now on the rate never goes above it,
 * as it never goes above `max_rate`.
 *
 * - No rate applied yet (no `initial_rate`, no throttle): it starts at the
 *   advertised rate instead of unlimited, as it would at an
 *   `initial_rate`; until the first throttle it follows later
 *   advertisements both ways (the server's word is all it knows).
 * - A rate applies: an advertisement below it lowers it at once; one
 *   above lifts only the ceiling, and the rate climbs to it along the
 *   curve as it probes (after a throttle the rate is what the server
 *   accepted, whatever it advertises).
 *
 * The advertisement is clamped to [`min_rate`, `max_rate`] (`max_rate`
 * stays a hard ceiling, `min_rate` a floor even when the server advertises
 * less: a spent quota pauses the policy through its reset instead) and to
 * 1e9. It holds until the next one, lower or higher; answers without one
 * leave it. Ignored: 0, negative, NaN and infinite values.
 *
 * @param r           NULL does nothing.
 * @param rate_per_s  requests per second.
 * @note Thread-safe: a short critical section, as rs_adaptive_rate_record();
 *       the bucket's rate changes only when the rate moves. No allocation.
 * @since 0.2.0
 */
RS_API void rs_adaptive_rate_advertise(rs_adaptive_rate *r, double rate_per_s);

/** rs_adaptive_rate_advertise() at the instant @p now_ns on @p r's clock. @since 0.2.0 */
RS_API void rs_adaptive_rate_advertise_at(rs_adaptive_rate *r, double rate_per_s,
                                          uint64_t now_ns);

/**
 * The rate now, requests per second; 0 while none applies (before the
 * first throttle with no `initial_rate` and no advertised rate), and for
 * NULL.
 * @note Thread-safe: a short critical section; no clock read.
 * @since 0.2.0
 */
RS_API double rs_adaptive_rate_get(rs_adaptive_rate *r);

/**
 * An adaptive rate's state and what it has seen since creation, for
 * dashboards and plots; filled by rs_adaptive_rate_metrics().
 * @since 0.2.0
 */
typedef struct rs_adaptive_rate_snapshot {
    double rate;           /**< requests per second now; 0 = none applies */
    double min_rate;       /**< its floor, requests per second, as configured */
    double max_rate;       /**< its ceiling, requests per second; 0 = none */
    double last_good_rate; /**< the rate at the last throttle (CUBIC's w_max); 0 = none yet */
    double sent_rate;      /**< measured rate of attempts, per second not paused; 0 = not yet */
    uint64_t throttles;    /**< throttled answers recorded */
    uint64_t reductions;   /**< times the rate was reduced */
    /** the server's advertised rate in force (rs_adaptive_rate_advertise()),
        within min_rate and max_rate; 0 = none */
    double advertised_rate;
} rs_adaptive_rate_snapshot;

/**
 * Fills @p m with the rate's state and totals, all read together under its
 * lock.
 * @return #RS_OK, or #RS_E_INVAL when @p r or @p m is NULL (@p m untouched).
 * @note Thread-safe: a short critical section; no clock read.
 * @since 0.2.0
 */
RS_API int rs_adaptive_rate_metrics(rs_adaptive_rate *r, rs_adaptive_rate_snapshot *m);

/** The clock @p r runs on; NULL for NULL. @since 0.2.0 */
RS_API const rs_clock *rs_adaptive_rate_clock(const rs_adaptive_rate *r);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_ADAPTIVE_H */
