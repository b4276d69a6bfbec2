/**
 * @file breaker.h
 * @brief Circuit breaker: stop calling a service that is failing, probe it
 *        carefully, and resume when it has recovered.
 *
 * A breaker watches the outcomes of calls and moves between five states:
 *
 * | state                       | rs_breaker_allow()                           |
 * |-----------------------------|----------------------------------------------|
 * | #RS_BREAKER_CLOSED          | #RS_OK: calls flow, outcomes are judged      |
 * | #RS_BREAKER_OPEN            | #RS_E_OPEN until the open time has passed    |
 * | #RS_BREAKER_HALF_OPEN       | #RS_OK for a few probes, #RS_E_OPEN for rest |
 * | #RS_BREAKER_FORCED_OPEN     | #RS_E_OPEN until rs_breaker_force() again    |
 * | #RS_BREAKER_DISABLED        | #RS_OK always; outcomes are ignored          |
 *
 * CLOSED trips to OPEN when any enabled rule fires: `failure_threshold`
 * consecutive failures; a failure rate `>= failure_rate` over the window; a
 * slow-call rate `>= slow_call_rate` over the window (a call is slow when it
 * lasts longer than `slow_call_ns`, whether it succeeded or failed). Rates are
 * judged only once the window holds `minimum_calls` outcomes. When the open
 * time has passed, the next rs_breaker_allow() moves to HALF_OPEN (there is
 * no timer or thread): at most `half_open_max_calls` probes are in flight at
 * once; `success_threshold` probe successes close the breaker, any probe
 * failure reopens it (or, with `half_open_success_rate`, the success ratio of
 * `half_open_max_calls` probes decides). Each open period lasts `open_ns`
 * when it is set; by default (`open_ns` 0) it starts short and grows from
 * one reopening to the next as `open_backoff`, a jittered backoff, says.
 *
 * Every transition starts a new *generation*: a permit issued before it is
 * ignored when recorded after it, so a slow call from before a trip neither
 * closes nor reopens anything. Every transition to CLOSED or OPEN starts a
 * fresh window.
 *
 * Usage: `rs_breaker_allow()` before the call; if it returns #RS_OK, make the
 * call and report it with `rs_breaker_record()` (or give the permit back
 * unjudged with `rs_breaker_release()`). See docs/circuit-breaker.md.
 */
#ifndef RESILIENCE_BREAKER_H
#define RESILIENCE_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "resilience/backoff.h"
#include "resilience/clock.h"
#include "resilience/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Breaker state. The values are stable. @since 0.1.0 */
typedef enum rs_breaker_state {
    RS_BREAKER_CLOSED = 0,      /**< normal operation: calls flow and are judged */
    RS_BREAKER_OPEN = 1,        /**< tripped: calls fail fast until the open time passes */
    RS_BREAKER_HALF_OPEN = 2,   /**< probing: a few calls test whether the service is back */
    RS_BREAKER_FORCED_OPEN = 3, /**< held open by rs_breaker_force() */
    RS_BREAKER_DISABLED = 4     /**< held closed by rs_breaker_force(): nothing is judged */
} rs_breaker_state;

/** How the closed state's outcome window is measured. @since 0.1.0 */
typedef enum rs_breaker_window {
    RS_WINDOW_COUNT_BASED = 0, /**< the last `window_size` outcomes */
    RS_WINDOW_TIME_BASED = 1   /**< the outcomes of the last `window_size` seconds */
} rs_breaker_window;

/** Largest `window_size`: 2^20 outcomes (1 MiB) or seconds (12 days, 24 MiB). @since 0.1.0 */
#define RS_BREAKER_MAX_WINDOW_SIZE (1u << 20)

/** Largest `half_open_max_calls`: 1,024 probes (8 KiB of probe slots). @since 0.2.0 */
#define RS_BREAKER_MAX_HALF_OPEN_CALLS 1024u

/**
 * Breaker configuration; start from #RS_BREAKER_CONFIG_DEFAULT and change
 * what you need. Validated by rs_breaker_config_validate().
 * @since 0.1.0
 */
typedef struct rs_breaker_config {
    /** Consecutive failures that trip the breaker; 0 = rule off. Default 5. */
    uint32_t failure_threshold;
    /** Failure rate in [0, 1] over the window that trips it (at `>=`); 0 = rule off.
     *  Default 0.5. */
    double failure_rate;
    /** Slow-call rate in [0, 1] over the window that trips it (at `>=`); 0 = rule
     *  off. Needs `slow_call_ns` > 0. Default 0 (off). */
    double slow_call_rate;
    /** A call lasting longer than this (ns, from rs_breaker_allow() to
     *  rs_breaker_record()) is slow, whether it succeeded or failed; 0 = no call
     *  is slow (slow calls are not even counted). Default 0. */
    uint64_t slow_call_ns;
    /** Window kind. Default #RS_WINDOW_COUNT_BASED. */
    rs_breaker_window window_type;
    /** Window length: outcomes (COUNT_BASED) or seconds (TIME_BASED), 1 to
     *  #RS_BREAKER_MAX_WINDOW_SIZE. Memory is one byte per outcome, or 24
     *  bytes per second. Default 100. */
    uint32_t window_size;
    /** Outcomes the window must hold before rates are judged; 0 counts as 1, and
     *  a COUNT_BASED window caps it at `window_size`. Default 20. */
    uint32_t minimum_calls;
    /** How long the breaker stays OPEN after a trip (ns) before it lets probes
     *  through: a fixed time; 0 = a time that starts short and grows while
     *  probes keep failing, as `open_backoff` says. Default 0 (growing:
     *  0.5-1 s, then 1-2 s). @since 0.2.0: 0 selects open_backoff */
    uint64_t open_ns;
    /** Probes allowed in flight at once in HALF_OPEN, 1 to
     *  #RS_BREAKER_MAX_HALF_OPEN_CALLS. Memory: 8 bytes per probe slot,
     *  allocated at creation; allow and record in HALF_OPEN look through the
     *  probes in flight, so keep it to a handful. Default 3. */
    uint32_t half_open_max_calls;
    /** Probe successes that close the breaker, >= 1 (ignored when
     *  `half_open_success_rate` is set). Default 3. */
    uint32_t success_threshold;
    /** A probe still unfinished this long (ns) after it was admitted is written
     *  off as a failure, so lost probes cannot wedge HALF_OPEN; 0 = never.
     *  Default 60 s. */
    uint64_t half_open_max_wait_ns;
    /** Called once per transition, in transition order, with no internal lock
     *  held (it may call back into the breaker); NULL = none. Default NULL. */
    void (*on_state_change)(void *ctx, rs_breaker_state from, rs_breaker_state to);
    /** Passed to `on_state_change`. */
    void *ctx;

    /* Beyond the design contract: */

    /** Open times that grow while the service stays down (Resilience4j's
     *  `waitIntervalFunctionInOpenState`), used when `open_ns` is 0: the
     *  k-th consecutive open period lasts
     *  `rs_backoff_delay(&open_backoff, k, previous, random)`,
     *  jitter included: k = 1 after a trip from CLOSED (or a forced open from
     *  any state but HALF_OPEN), k + 1 each time the breaker reopens from
     *  HALF_OPEN, back to 1 once it has closed; `previous` is the last open
     *  period (for #RS_JITTER_DECORRELATED); the random bits come from a
     *  generator seeded with `open_backoff.seed` (0 = from the operating
     *  system). Validated as rs_backoff_config_validate() when `open_ns` is
     *  0, ignored otherwise. Default: 1 s base, 2 s cap, doubling, equal
     *  jitter: the first open period lasts 0.5-1 s, the next ones 1-2 s. A
     *  short, jittered open time never delays recovery by more than a
     *  probe's round, and jitter keeps a fleet's probes from arriving
     *  together; docs/retry-storms.md has the simulation that chose it.
     *  @since 0.2.0 */
    rs_backoff_config open_backoff;
    /** When > 0, HALF_OPEN is judged by ratio instead of "any failure reopens":
     *  once `half_open_max_calls` probes have finished, the breaker closes if
     *  their success ratio is `>=` this, and reopens otherwise. In [0, 1];
     *  0 = off. Default 0. */
    double half_open_success_rate;
    /** The breaker's name in its events (#rs_event.name); copied. NULL (the
     *  default) = none. @since 0.2.0 */
    const char *name;
    /** Hears every state change as an #RS_EVENT_STATE_CHANGE event
     *  (resilience/events.h), after `on_state_change` and under the same
     *  rules: once per transition, in transition order, one at a time, no
     *  lock held. Give a policy's `events` the same hook to hear the
     *  breaker and the policy in one place. Default none. @since 0.2.0 */
    rs_event_hook events;
} rs_breaker_config;

/**
 * Defaults as a brace initializer, for static initializers and C++:
 * `static rs_breaker_config cfg = RS_BREAKER_CONFIG_INIT;`. The fields in
 * declaration order; #RS_BREAKER_CONFIG_DEFAULT is the same values.
 * @since 0.2.0
 */
#define RS_BREAKER_CONFIG_INIT                                                              \
    {                                                                                      \
        5u,                          /* failure_threshold */                               \
        0.5,                         /* failure_rate */                                    \
        0.0,                         /* slow_call_rate */                                  \
        0u,                          /* slow_call_ns */                                    \
        RS_WINDOW_COUNT_BASED,       /* window_type */                                     \
        100u,                        /* window_size */                                     \
        20u,                         /* minimum_calls */                                   \
        0u,                          /* open_ns: 0 = grows as open_backoff says */         \
        3u,                          /* half_open_max_calls */                             \
        3u,                          /* success_threshold */                               \
        60000000000u,                /* half_open_max_wait_ns: 60 s */                     \
        0,                           /* on_state_change */                                 \
        0,                           /* ctx */                                             \
        { 1000000000u, 2000000000u, 2.0, RS_JITTER_EQUAL, 0u }, /* open_backoff */       \
        0.0,                         /* half_open_success_rate */                          \
        0,                           /* name */                                            \
        { 0, 0 }                     /* events */                                          \
    }

/**
 * Defaults: consecutive-failure rule at 5, failure-rate rule at 50% over the
 * last 100 calls once 20 are in, slow calls not tracked, an open time that
 * starts at 0.5-1 s and grows to 1-2 s while probes keep failing (equal
 * jitter), 3 probes at once and 3 successes to close, probes written off
 * after 60 s, no callback. A compound literal of #RS_BREAKER_CONFIG_INIT.
 * @since 0.1.0
 */
#define RS_BREAKER_CONFIG_DEFAULT ((rs_breaker_config)RS_BREAKER_CONFIG_INIT)

/** Opaque circuit breaker. */
typedef struct rs_breaker rs_breaker;

/**
 * A permission to make one call, from rs_breaker_allow(). Plain data owned by
 * the caller (usually on the stack); pass it unchanged to rs_breaker_record()
 * or rs_breaker_release(), once.
 * @since 0.1.0
 */
typedef struct rs_permit {
    /** breaker-clock time the permit was issued (slow-call start). 0 when
        rs_breaker_allow() had no use for it (CLOSED or DISABLED, slow calls
        not tracked, count-based window): that saves its clock read. The
        _at form always records the time it is given. */
    uint64_t start_ns;
    uint32_t generation; /**< breaker generation it belongs to */
} rs_permit;

/**
 * What rs_breaker_metrics() reports: a consistent snapshot. In CLOSED the
 * counts from `calls` to `slow_calls` describe the window; in HALF_OPEN
 * they describe the probes of the current half-open period; in the other
 * states they are 0 (their windows are empty). The fields from `rejected`
 * on, and the totals added in 0.2.0, count since creation.
 * @since 0.1.0
 */
typedef struct rs_breaker_snapshot {
    rs_breaker_state state;         /**< current state */
    double failure_rate;            /**< failures / calls; 0 when calls is 0 */
    double slow_call_rate;          /**< slow_calls / calls; 0 when calls is 0 */
    uint64_t calls;                 /**< outcomes counted */
    uint64_t successes;             /**< calls - failures */
    uint64_t failures;              /**< failed outcomes (probes written off included) */
    uint64_t slow_calls;            /**< outcomes slower than slow_call_ns */
    /** calls refused because the breaker was open, since creation: allows
        refused with #RS_E_OPEN, and (since 0.2.0) calls a composition
        refused on the breaker's behalf (rs_breaker_fail_fast_at()), such as
        the calls an rs_policy fails fast while the breaker is open */
    uint64_t rejected;
    uint64_t until_half_open_ns;    /**< OPEN: ns until the next allow probes (0 = now);
                                         FORCED_OPEN: UINT64_MAX; otherwise 0 */
    uint64_t open_duration_ns;      /**< length of the current (or, if not OPEN, the
                                         next) open period */
    uint32_t consecutive_failures;  /**< CLOSED: the current run of failures */
    uint32_t probes_in_flight;      /**< HALF_OPEN: probes admitted and not finished */
    /* Since creation, @since 0.2.0: */
    uint64_t total_successes;       /**< outcomes judged successful (in CLOSED or as probes) */
    uint64_t total_failures;        /**< outcomes judged failed, probes written off included */
    uint64_t total_slow_calls;      /**< judged outcomes that were slow (either kind) */
    uint64_t total_released;        /**< permits given back unjudged (rs_breaker_release()) */
    uint64_t total_transitions;     /**< state changes */
} rs_breaker_snapshot;

/**
 * Checks a breaker configuration without creating anything.
 *
 * @return #RS_OK, or #RS_E_INVAL when @p cfg is NULL; `failure_rate`,
 *         `slow_call_rate` or `half_open_success_rate` is NaN or outside
 *         [0, 1]; `slow_call_rate` > 0 with `slow_call_ns` 0; `window_type` is
 *         not one of #rs_breaker_window; `window_size`, `half_open_max_calls`
 *         or `success_threshold` is 0; `window_size` exceeds
 *         #RS_BREAKER_MAX_WINDOW_SIZE; `half_open_max_calls` exceeds
 *         #RS_BREAKER_MAX_HALF_OPEN_CALLS; `open_ns` is 0 and
 *         rs_backoff_config_validate() refuses `open_backoff` (its `base_ns`
 *         0 included).
 *         rs_last_error() names the field
 *         (`"rs_breaker_config.failure_rate: 1.5 is outside [0, 1]"`,
 *         `"rs_breaker_config.open_backoff.max_ns: ..."`).
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API int rs_breaker_config_validate(const rs_breaker_config *cfg);

/**
 * Creates a breaker in #RS_BREAKER_CLOSED.
 *
 * @param cfg    validated as rs_breaker_config_validate(); copied.
 * @param clock  time source; NULL = rs_clock_system(). Must outlive the breaker.
 * @param out    receives the new breaker; untouched on error.
 * @return #RS_OK, #RS_E_INVAL (bad @p cfg, or @p out NULL; nothing allocated;
 *         rs_last_error() names the field or argument), #RS_E_NOMEM.
 * @since 0.1.0
 */
RS_API int rs_breaker_new(const rs_breaker_config *cfg, const rs_clock *clock,
                          rs_breaker **out);

/**
 * Frees @p b; NULL is ignored. No other call on @p b may be running or follow.
 * @since 0.1.0
 */
RS_API void rs_breaker_free(rs_breaker *b);

/**
 * Asks to make one call now (reads the breaker's clock at most once: not at
 * all in CLOSED and DISABLED when slow calls are not tracked and the window
 * is count-based, the default, since nothing then depends on the time).
 *
 * CLOSED and DISABLED always admit. OPEN refuses until its open time has
 * passed; the first allow after that moves to HALF_OPEN and is the first
 * probe. HALF_OPEN admits while fewer than `half_open_max_calls` probes are
 * in flight (first writing off probes older than `half_open_max_wait_ns`).
 * FORCED_OPEN refuses.
 *
 * @param b  the breaker.
 * @param p  receives the permit on #RS_OK; untouched otherwise.
 * @return #RS_OK (make the call, then record or release @p p),
 *         #RS_E_OPEN (do not make the call), #RS_E_INVAL (@p b or @p p NULL).
 * @note Thread-safe. In CLOSED and DISABLED it is lock-free: one atomic load.
 *       May run `on_state_change` before returning.
 * @since 0.1.0
 */
RS_API int rs_breaker_allow(rs_breaker *b, rs_permit *p);

/**
 * rs_breaker_allow() at an explicit time @p now_ns on the breaker's clock
 * (no clock read), for callers that already hold a timestamp and for
 * simulations. Times should not go backwards; small inversions between
 * threads are tolerated.
 * @since 0.1.0
 */
RS_API int rs_breaker_allow_at(rs_breaker *b, rs_permit *p, uint64_t now_ns);

/**
 * Whether rs_breaker_allow_at() would refuse at @p now_ns because the
 * breaker is OPEN (its open time not over) or FORCED_OPEN, found without
 * taking a permit, counting a rejection or changing state. Lets a caller
 * skip work it would do before asking (rs_policy uses it so that an open
 * breaker fails fast instead of first waiting for a rate limiter). `false`
 * is no promise: allow may still refuse (every half-open probe slot taken,
 * or a trip in between). NULL gives false.
 * @note Thread-safe and lock-free.
 * @since 0.1.0
 */
RS_API bool rs_breaker_would_refuse_at(rs_breaker *b, uint64_t now_ns);

/**
 * rs_breaker_would_refuse_at() for a caller that refuses the call itself
 * when the answer is true: the refusal then counts in the breaker's
 * `rejected`, as a refused rs_breaker_allow() does, so that the breaker's
 * count agrees with the caller's. rs_policy fails fast with it; a
 * composition of your own should too. Takes no permit, changes no state.
 *
 * @return true when the breaker is OPEN (its open time not over at
 *         @p now_ns) or FORCED_OPEN: do not make the call; false otherwise
 *         (no promise: ask rs_breaker_allow()). NULL gives false.
 * @note Thread-safe and lock-free (a refusal is one relaxed atomic add,
 *       as in allow).
 * @since 0.2.0
 */
RS_API bool rs_breaker_fail_fast_at(rs_breaker *b, uint64_t now_ns);

/**
 * The clock @p b runs on (the one given to rs_breaker_new(), or
 * rs_clock_system() for NULL), so that a composition can check that its
 * modules share one time base. NULL for NULL.
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API const rs_clock *rs_breaker_clock(const rs_breaker *b);

/**
 * Reports the outcome of a call made under permit @p p.
 *
 * A permit from an earlier generation (issued before any transition since)
 * is ignored, as is any record in OPEN, FORCED_OPEN or DISABLED. In CLOSED
 * the outcome enters the window and may trip the breaker. In HALF_OPEN it
 * finishes a probe: a failure (or a slow call, when `slow_call_rate` is on)
 * reopens, enough successes close; a probe already written off is ignored.
 * Whether @p success is a failure of the *service* is the caller's call: for
 * an outcome that says nothing about the service's health (bad input, a
 * cancelled request) use rs_breaker_release() instead.
 *
 * Reads the clock only when the outcome needs a time (slow-call tracking, a
 * TIME_BASED window, HALF_OPEN).
 *
 * @param b  the breaker; NULL is ignored.
 * @param p  the permit from rs_breaker_allow(); NULL is ignored. Record or
 *           release each permit once.
 * @note Thread-safe: a short per-breaker critical section. May run
 *       `on_state_change` before returning.
 * @since 0.1.0
 */
RS_API void rs_breaker_record(rs_breaker *b, const rs_permit *p, bool success);

/**
 * rs_breaker_record() at an explicit time @p now_ns (no clock read); the call
 * lasted `now_ns - p->start_ns`.
 * @since 0.1.0
 */
RS_API void rs_breaker_record_at(rs_breaker *b, const rs_permit *p, bool success,
                                 uint64_t now_ns);

/**
 * Gives a permit back without judging the call: in HALF_OPEN its probe slot
 * is freed for another probe; in other states nothing happens. Use it for
 * outcomes that are not the service's fault (a 4xx caused by bad input, a
 * call cancelled by the caller). Does not read the clock.
 *
 * @param b  the breaker; NULL is ignored.
 * @param p  the permit; NULL is ignored. Stale permits are ignored.
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API void rs_breaker_release(rs_breaker *b, const rs_permit *p);

/**
 * The current state, without side effects: an OPEN breaker whose open time
 * has passed still reports OPEN until the next allow moves it on.
 *
 * @param b  the breaker; NULL gives #RS_BREAKER_DISABLED (no breaker, nothing
 *           is refused).
 * @note Thread-safe and lock-free.
 * @since 0.1.0
 */
RS_API rs_breaker_state rs_breaker_state_get(rs_breaker *b);

/**
 * Moves the breaker to state @p s by hand (reads the clock once).
 *
 * #RS_BREAKER_FORCED_OPEN refuses every call and #RS_BREAKER_DISABLED admits
 * every call without judging, both until the next force; #RS_BREAKER_CLOSED
 * resumes normal operation with a fresh window and the open time reset;
 * #RS_BREAKER_OPEN starts an open period now (grown if it comes from
 * HALF_OPEN); #RS_BREAKER_HALF_OPEN starts probing now. Forcing the current
 * state, or a value outside #rs_breaker_state, changes nothing. A transition
 * starts a new generation and runs `on_state_change` once.
 *
 * @param b  the breaker; NULL is ignored.
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API void rs_breaker_force(rs_breaker *b, rs_breaker_state s);

/** rs_breaker_force() at an explicit time @p now_ns. @since 0.1.0 */
RS_API void rs_breaker_force_at(rs_breaker *b, rs_breaker_state s, uint64_t now_ns);

/**
 * Fills @p m with a consistent snapshot of the breaker (reads the clock
 * once; a TIME_BASED window first forgets seconds that have left it).
 *
 * @return #RS_OK, or #RS_E_INVAL when @p b or @p m is NULL (@p m untouched).
 * @note Thread-safe: a short per-breaker critical section. Never changes the
 *       state or runs the callback.
 * @since 0.1.0
 */
RS_API int rs_breaker_metrics(rs_breaker *b, rs_breaker_snapshot *m);

/** rs_breaker_metrics() at an explicit time @p now_ns. @since 0.1.0 */
RS_API int rs_breaker_metrics_at(rs_breaker *b, rs_breaker_snapshot *m, uint64_t now_ns);

/**
 * Name of a state: "CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED",
 * or "UNKNOWN" for other values.
 * @return a static string; never NULL.
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API const char *rs_breaker_state_name(rs_breaker_state s);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_BREAKER_H */
