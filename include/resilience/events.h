/**
 * @file events.h
 * @brief One event type for the whole library: what a policy, a client or
 *        a breaker did, delivered to one hook.
 *
 * A hook (#rs_event_hook, declared in common.h) is given where an object is
 * configured:
 *
 * | where                             | what it hears                                  |
 * |-----------------------------------|------------------------------------------------|
 * | `rs_policy_config.events`         | the policy's calls: retries, refusals, server  |
 * |                                   | pauses, give-ups (#RS_EVENT_SOURCE_POLICY)      |
 * | `rs_client_config.events`         | the same, and the client's own breaker's state |
 * |                                   | changes                                        |
 * | `rs_breaker_config.events`        | that breaker's state changes                   |
 * |                                   | (#RS_EVENT_SOURCE_BREAKER)                     |
 *
 * A policy built on a breaker of yours does not hear the breaker's
 * changes (the breaker was configured before the policy existed): give the
 * same hook to both, `bcfg.events = hook; pcfg.events = hook;`, and
 * tell the sources apart by #rs_event.source and #rs_event.name.
 *
 * The callbacks that came before stay: a breaker's `on_state_change`, a
 * policy's `on_retry` and `on_give_up` run as they did, each before the
 * event of the same occurrence. The event hook is the one channel that
 * hears everything.
 *
 * **Delivery.** Every event is delivered once per occurrence, with no
 * library lock held (the hook may call back into the library, not free
 * the object that emits the event), and in order per object:
 * - a breaker delivers its state changes one at a time, in transition
 *   order, on the thread that made the change or on the one already
 *   delivering (as `on_state_change`);
 * - a policy delivers the events of a call on the thread that drives the
 *   call, in the order they happen, before the step or rs_call() that
 *   caused them returns. Calls that run at the same time on several
 *   threads deliver at the same time: a hook shared between threads must
 *   be thread-safe, and orders them by `at_ns` where it matters.
 *
 * Each call that does not succeed ends with exactly one event: a local
 * refusal (#RS_EVENT_CALL_REFUSED), a budget's refusal
 * (#RS_EVENT_BUDGET_REFUSED) or #RS_EVENT_GIVE_UP for the rest (a
 * permanent failure, retries used up, the deadline...), or
 * #RS_EVENT_FALLBACK in their place when the policy's fallback answered
 * it. A call that succeeds ends without one.
 *
 * See docs/observability.md.
 */
#ifndef RESILIENCE_EVENTS_H
#define RESILIENCE_EVENTS_H

#include <stdint.h>

#include "resilience/breaker.h"
#include "resilience/common.h"
#include "resilience/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What emitted an event. Values are stable; new sources are appended. @since 0.2.0 */
typedef enum rs_event_source {
    RS_EVENT_SOURCE_POLICY = 0, /**< an #rs_policy (also an #rs_client's): call events */
    RS_EVENT_SOURCE_BREAKER = 1 /**< an #rs_breaker: its state changes */
} rs_event_source;

/** What happened. Values are stable; new kinds are appended. @since 0.2.0 */
typedef enum rs_event_kind {
    /** A breaker changed state: `from`, `to`. Source: the breaker. */
    RS_EVENT_STATE_CHANGE = 1,
    /** A retry is scheduled: `attempt` (the attempt that failed retryably)
        will be followed by another in `wait_ns`. Fires where `on_retry`
        does, after it. */
    RS_EVENT_RETRY = 2,
    /** A call was refused locally before (or between) attempts: `reason`
        says why (#RS_STOP_LIMITER: a limit refused or failed;
        #RS_STOP_BULKHEAD: no bulkhead slot in time;
        #RS_STOP_BREAKER: the breaker, or a shared breaker flag, is open;
        #RS_STOP_SERVER_PAUSE: the shared server pause outlasts the call's
        patience); `status` is what the call returns. Ends the call. */
    RS_EVENT_CALL_REFUSED = 3,
    /** A budget refused: the token budget (the account) refused the
        reservation (`reason` #RS_STOP_BUDGET, `status` what it answered,
        usually #RS_E_BUDGET), or the retry budget withheld a retry
        (`reason` #RS_STOP_RETRY_BUDGET, `status` #RS_E_EXHAUSTED). Ends
        the call. */
    RS_EVENT_BUDGET_REFUSED = 4,
    /** A server's Retry-After (or `pause_ns`) started or lengthened the
        policy's shared pause: no attempt starts on the policy for `wait_ns`
        from `at_ns`. `attempt` is the attempt whose answer asked for it.
        Only with `share_server_pause`. */
    RS_EVENT_SERVER_PAUSE = 5,
    /** A call that failed was answered by the policy's fallback hook
        (rs_policy_config.fallback): `reason` and `status` say how it had
        failed. It replaces the CALL_REFUSED, BUDGET_REFUSED or GIVE_UP
        event the call would have ended with (as `on_give_up` is not
        called for it). */
    RS_EVENT_FALLBACK = 6,
    /** A call ended without success for any other reason: `reason` is
        #RS_STOP_FAILED, #RS_STOP_EXHAUSTED, #RS_STOP_RETRY_AFTER,
        #RS_STOP_TIMEOUT or #RS_STOP_ABANDONED; `status` what it returns.
        Fires where `on_give_up` does, after it. */
    RS_EVENT_GIVE_UP = 7
} rs_event_kind;

/**
 * One event. Fields that do not apply to a kind are 0 (NULL for
 * pointers). Valid during the hook's call only: copy what you keep.
 * @since 0.2.0
 */
struct rs_event {
    rs_event_kind kind;       /**< what happened */
    rs_event_source source;   /**< what kind of object emitted it */
    /** the object's name (`rs_policy_config.name`, `rs_client_config.name`,
        `rs_breaker_config.name`); "" when it has none; never NULL */
    const char *name;
    const void *object;       /**< the #rs_policy or #rs_breaker that emitted it */
    uint64_t at_ns;           /**< when, on the object's clock */
    rs_breaker_state from;    /**< #RS_EVENT_STATE_CHANGE: the state left */
    rs_breaker_state to;      /**< #RS_EVENT_STATE_CHANGE: the state entered */
    /** call events: the attempt the event is about (#RS_EVENT_RETRY: the
        one that failed; #RS_EVENT_SERVER_PAUSE: the one whose answer
        paused), or, for the events that end a call, the attempts fn made */
    uint32_t attempt;
    /** #RS_EVENT_RETRY: the delay before the next attempt;
        #RS_EVENT_SERVER_PAUSE: the pause from `at_ns` */
    uint64_t wait_ns;
    /** the events that end a call: why it stopped */
    rs_stop_reason reason;
    /** the events that end a call: what rs_call() returns */
    int status;
    /** #RS_EVENT_RETRY, #RS_EVENT_SERVER_PAUSE: the attempt as fn left it
        (its error, Retry-After, pause) */
    const rs_attempt *last_attempt;
    /** the events that end a call: the call's report */
    const rs_call_report *report;
};

/**
 * "RS_EVENT_RETRY" etc.; "RS_EVENT_UNKNOWN" for other values. Never NULL.
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API const char *rs_event_kind_name(rs_event_kind kind);

/**
 * "policy", "breaker"; "unknown" for other values. Never NULL.
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API const char *rs_event_source_name(rs_event_source source);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_EVENTS_H */
