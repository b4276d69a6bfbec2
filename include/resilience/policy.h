/**
 * @file policy.h
 * @brief The composition: one call through limits → breaker → retry.
 *
 * An #rs_policy points at modules you created and runs a user function
 * through them. Each attempt goes:
 *
 *     open breaker fails fast → shared server pause → account reserve
 *         → adaptive rate → limits, in array order → bulkhead enter
 *         → breaker allow → fn → breaker record → bulkhead leave
 *         → account commit
 *
 * and a retryable failure waits (backoff, or the server's Retry-After) and
 * starts the next attempt, until success, a permanent failure, the attempt
 * limit, the retry budget, the deadline, or a local refusal; an optional
 * fallback hook may turn a refusal or a failed call into a degraded
 * result. See docs/composition.md.
 *
 * The limits are one ordered list of #rs_limit: any limiter behind the
 * rs_limiter interface (a local token bucket or sliding window, a
 * shared-memory or Redis one, your own), each charged one unit per attempt
 * or the attempt's token estimate. Budgets plug in as one #rs_account.
 *
 * Two blocking calls on a policy: rs_call() and rs_call_with() (per-call
 * options and a report). They run the non-blocking step machine
 * (rs_call_begin() / rs_call_next() / rs_call_complete() / rs_call_end()),
 * which never sleeps and lets an event loop run the waits on its own
 * timers; its call state can live in memory the caller provides.
 *
 * An #rs_client owns a complete set of modules built from one flat config,
 * with the policy's defaults, and can be given everything a policy can
 * hold.
 */
#ifndef RESILIENCE_POLICY_H
#define RESILIENCE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resilience/account.h"
#include "resilience/backoff.h"
#include "resilience/adaptive.h"
#include "resilience/breaker.h"
#include "resilience/budget.h"
#include "resilience/bulkhead.h"
#include "resilience/clock.h"
#include "resilience/common.h"
#include "resilience/limiter.h"
#include "resilience/sliding_window.h"
#include "resilience/token_bucket.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What the user function says about one attempt. @since 0.1.0 */
typedef enum rs_verdict {
    RS_SUCCESS = 0, /**< done; the call succeeded */
    RS_RETRY = 1,   /**< transient failure (429, 5xx, timeout): may be retried */
    RS_FAIL = 2     /**< permanent failure (bad request): never retried */
} rs_verdict;

/**
 * One attempt, as seen by the user function. The policy fills the "in"
 * fields and resets the "out" fields to 0/false before every attempt.
 * @since 0.1.0
 */
typedef struct rs_attempt {
    uint32_t number;         /**< in: 1-based attempt number */
    uint64_t deadline_ns;    /**< in: absolute deadline on the policy's clock, 0 = none */
    uint64_t retry_after_ns; /**< out: the server's Retry-After as a duration, 0 = none */
    uint64_t tokens_used;    /**< out: tokens really consumed, committed to the budget */
    int error;               /**< out: the caller's own error code, reported back */
    /** out: the failure was the caller's fault, not the service's: over
        quota (429) or a bad request (400). The breaker neither counts it as
        a failure nor as a success (its permit is released), and the retry
        budget neither spends on it nor withholds its retry. */
    bool caller_fault;
    /** out: the server asked every caller to wait this long (a Retry-After,
        or rate-limit headers saying the quota is spent until a reset;
        rs_http_feedback_apply() fills it); 0 = none. With the policy's
        `share_server_pause` it holds every call on the policy. @since 0.2.0 */
    uint64_t pause_ns;
    /** out: the request rate the server advertised, requests per second
        (rate-limit headers naming a quota over a window;
        rs_http_feedback_apply() fills it); 0 = none. With an
        `adaptive_rate` the policy hands it to
        rs_adaptive_rate_advertise(): the rate never goes above it, and
        starts at it when no rate applied yet. Without one it is only
        reported (the hooks and events see the attempt). NaN, infinite or
        negative values are ignored. @since 0.2.0 */
    double advertised_rate;
} rs_attempt;

/**
 * The user function: performs one attempt and classifies it.
 * It runs with no library lock held and may block; it should respect
 * `attempt->deadline_ns`.
 */
typedef rs_verdict (*rs_fn)(void *ctx, rs_attempt *attempt);

/** Why a call ended. @since 0.1.0 */
typedef enum rs_stop_reason {
    RS_STOP_NONE = 0,        /**< not ended yet */
    RS_STOP_SUCCESS = 1,     /**< fn succeeded */
    RS_STOP_FAILED = 2,      /**< fn failed permanently (RS_FAIL) */
    RS_STOP_EXHAUSTED = 3,   /**< max_attempts used, the last one retryable */
    RS_STOP_TIMEOUT = 4,     /**< the deadline passed, or the next wait would cross it */
    RS_STOP_LIMITER = 5,     /**< local: a limit refused, or failed (RS_E_IO, RS_E_INVAL) */
    RS_STOP_BREAKER = 6,     /**< local: the circuit breaker is open */
    RS_STOP_BUDGET = 7,      /**< local: the token budget is spent */
    RS_STOP_RETRY_BUDGET = 8,/**< the retry budget withheld a retry: the service kept
                                  failing across the policy's calls (RS_E_EXHAUSTED) */
    RS_STOP_RETRY_AFTER = 9, /**< the server asked to wait longer than max_retry_after_ns */
    RS_STOP_ABANDONED = 10,  /**< the driver ended the call early (rs_call_end) */
    /** local: the server asked every caller of the policy to wait (a shared
        Retry-After or spent quota) longer than this call's patience
        (RS_E_LIMITED). @since 0.2.0 */
    RS_STOP_SERVER_PAUSE = 11,
    /** local: the bulkhead had no slot, and no place in its queue or not
        within this call's patience (RS_E_LIMITED). @since 0.2.0 */
    RS_STOP_BULKHEAD = 12
} rs_stop_reason;

/**
 * Everything about one call. @since 0.1.0
 */
typedef struct rs_call_report {
    int status;               /**< what rs_call returned */
    rs_stop_reason reason;    /**< why it stopped */
    uint32_t attempts;        /**< times fn ran */
    uint32_t retries;         /**< waits between attempts that were taken */
    uint64_t waited_ns;       /**< total time waited (backoff + limiter) */
    uint64_t limiter_wait_ns; /**< the part of waited_ns spent waiting for limiters */
    uint64_t elapsed_ns;      /**< begin to end, on the policy's clock */
    int last_error;           /**< attempt->error of the last attempt, 0 if fn never ran */
    uint64_t retry_after_ns;  /**< the last Retry-After the server gave, 0 = none */
    /** the policy's fallback hook served a degraded result: `status` is
        #RS_OK, `reason` says why the call itself failed. @since 0.2.0 */
    bool fallback;
    /** with `fallback`: the status the fallback replaced (#RS_E_OPEN,
        #RS_E_LIMITED, ...); 0 otherwise. @since 0.2.0 */
    int failed_status;
} rs_call_report;

/** What a limit charges per attempt. @since 0.2.0 */
typedef enum rs_units {
    RS_UNITS_REQUESTS = 0, /**< one unit per attempt */
    RS_UNITS_TOKENS = 1    /**< the attempt's token estimate (LLM tokens per second or minute) */
} rs_units;

/**
 * One admission check of the chain: a limiter and what it counts.
 * `{0}` (`limiter.ops == NULL`) is an unused slot.
 * @since 0.2.0
 */
typedef struct rs_limit {
    /** rs_token_bucket_limiter(tb), rs_sliding_window_limiter(w), a
        shared-memory or Redis limiter, a shared breaker flag, your own */
    rs_limiter limiter;
    rs_units units; /**< charge 1 per attempt, or the token estimate */
} rs_limit;

/** Room for limits in a policy. @since 0.2.0 */
#define RS_POLICY_MAX_LIMITS 8

/**
 * When and how often to retry. Start from #RS_RETRY_CONFIG_DEFAULT.
 * @since 0.2.0
 */
typedef struct rs_retry_config {
    uint32_t max_attempts;       /**< total tries, >= 1 (default 3: two retries) */
    rs_backoff_config backoff;   /**< delays between attempts (default #RS_BACKOFF_CONFIG_DEFAULT) */
    /** never retry before the server's Retry-After (default true); a longer
        Retry-After than the backoff delay replaces it */
    bool honor_retry_after;
    /** longest Retry-After honoured (default 60 s); a longer one ends the
        call (#RS_STOP_RETRY_AFTER) rather than retry early; 0 = no cap */
    uint64_t max_retry_after_ns;
    /**
     * Jitter after a server-requested wait (a Retry-After, or the shared
     * pause): each call comes back at a random instant up to this fraction
     * of the wait after its end, never before it, so the calls one 429 held
     * do not all return in the same instant and earn the next 429 together
     * (a fleet locked into pulses, in the retry-storm simulation). For the
     * shared pause the jitter is cut to the call's patience, so it never
     * turns a call that could wait out the pause into a refusal. In [0, 10];
     * 0 = exactly at the end. Default 1.0, from the retry-storm simulation
     * (docs/retry-storms.md): less left the fleet recovering seconds late
     * from a 429 burst, more bought nothing. @since 0.2.0
     */
    double retry_after_jitter;
    /**
     * Retry budget (gRPC A6 retry throttling), shared by every call on the
     * policy: a token bucket of `budget_max_tokens` that starts full, loses
     * one token per failed attempt and gains `budget_ratio` per successful
     * call; retries are allowed only while it holds more than half. So an
     * outage costs at most about `budget_max_tokens / 2` retries, and in
     * steady state retries stay under `budget_ratio` per success. Attempts
     * marked `caller_fault` (a 429: the service is healthy, we are over
     * quota) neither spend it nor are refused by it. Default 0.1; 0 = off;
     * else in [1e-6, 1e9].
     */
    double budget_ratio;
    double budget_max_tokens;    /**< the retry budget's size, in [1, 1e9] (default 10) */
} rs_retry_config;

/** #RS_RETRY_CONFIG_DEFAULT as a brace initializer (static initializers, C++). @since 0.2.0 */
#define RS_RETRY_CONFIG_INIT                                                              \
    { 3u, RS_BACKOFF_CONFIG_INIT, true, 60000000000u, 1.0, 0.1, 10.0 }

/** Defaults: 3 attempts, #RS_BACKOFF_CONFIG_DEFAULT, Retry-After honoured up
    to 60 s with up to as much again as jitter, retry budget 0.1 per
    success over 10 tokens. @since 0.2.0 */
#define RS_RETRY_CONFIG_DEFAULT ((rs_retry_config)RS_RETRY_CONFIG_INIT)

/**
 * A fallback: turns a call that failed into a degraded result (cached
 * data, a default) written wherever the caller expects its answer.
 *
 * Asked when a call ends with a local refusal (#RS_E_OPEN, #RS_E_LIMITED
 * from a limit, the bulkhead or the server pause, #RS_E_BUDGET), retries
 * used up (#RS_E_EXHAUSTED), the deadline (#RS_E_TIMEOUT) or a backend's
 * failure (#RS_E_IO); never for #RS_E_INVAL (a mistake to fix, not to
 * hide), #RS_E_FAILED (the service answered: the request itself is wrong)
 * or a call its driver abandoned (rs_call_end() before it was done).
 *
 * @param ctx       the policy's `fallback_ctx` (a cache, say).
 * @param call_ctx  the call's own context: rs_call()'s and rs_call_with()'s
 *                  `ctx` (what fn writes its answer into), or
 *                  `rs_call_options.context` for the step API.
 * @param report    the call as it failed: `status`, `reason`, attempts.
 * @return true when it served a result: the call then returns #RS_OK and
 *         its report says `fallback` and `failed_status`; false to let the
 *         failure stand.
 * @since 0.2.0
 */
typedef bool (*rs_fallback_fn)(void *ctx, void *call_ctx, const rs_call_report *report);

/**
 * Callbacks of a policy; any may be NULL. They run on the calling thread
 * with no library lock held, and may call into the library (not free the
 * policy).
 * @since 0.2.0
 */
typedef struct rs_policy_hooks {
    /** a retry is scheduled after attempt @p a, in @p delay_ns */
    void (*on_retry)(void *ctx, const rs_attempt *a, uint64_t delay_ns);
    /** a call ends with any status but #RS_OK (a fallback's result is #RS_OK) */
    void (*on_give_up)(void *ctx, const rs_call_report *report);
    void *ctx; /**< passed to both */
} rs_policy_hooks;

/**
 * Policy configuration; start from #RS_POLICY_CONFIG_DEFAULT. The modules
 * it points to are not owned, must outlive the policy and must run on the
 * policy's clock.
 * @since 0.1.0
 */
typedef struct rs_policy_config {
    /** admission checks, asked in array order; empty slots are skipped */
    rs_limit limits[RS_POLICY_MAX_LIMITS];
    /**
     * Concurrency limit, entered after the limits and left after the
     * breaker records: an attempt holds one of its slots while fn runs, and
     * waits for one in its queue within the attempt's limiter patience
     * (`max_limiter_wait_ns` and the deadline, shared with the limits and
     * the pause); no slot in time is #RS_E_LIMITED (#RS_STOP_BULKHEAD). With
     * an #rs_adaptive_limit attached (rs_bulkhead_set_adaptive()) every
     * attempt reports its latency and outcome to it. The blocking calls wait
     * on the bulkhead's condition variable (on a manual clock that wait ends
     * only when another thread leaves or moves the clock: drive such tests
     * through the step API); the step API answers #RS_STEP_WAIT and either
     * polls (every 1 ms) or, with `rs_call_options.wake`, is woken when the
     * slot is its. NULL = none.
     * @since 0.2.0
     */
    rs_bulkhead *bulkhead;
    rs_breaker *breaker;         /**< NULL = none */
    /** the budget every attempt reserves its token estimate from:
        rs_budget_account(b), a Redis budget, your own; `{0}` = none */
    rs_account account;
    /** tokens per attempt: reserved from the account, charged to
        #RS_UNITS_TOKENS limits; required (> 0) when either is set */
    uint64_t token_estimate;
    rs_retry_config retry;       /**< default #RS_RETRY_CONFIG_DEFAULT */
    uint64_t timeout_ns;         /**< whole call, waits included; 0 = none */
    /** longest wait per attempt for the limits and the server pause, all
        together (default 1 s); 0 = do not wait. Size it for the queue you
        accept: N threads sharing a bucket of rate r wait up to about N / r. */
    uint64_t max_limiter_wait_ns;
    /**
     * Default true: a server's Retry-After (or `pause_ns`, e.g. rate-limit
     * headers saying the quota is spent until a reset) on any attempt
     * pauses every call on the policy, not only the one that received it:
     * no attempt of any call starts before the pause ends. A call waits for
     * the pause first in each attempt, before the account, as limiter wait:
     * a call whose patience (`max_limiter_wait_ns`, the deadline) is
     * shorter is refused at once with #RS_E_LIMITED
     * (#RS_STOP_SERVER_PAUSE). The call that received the Retry-After waits
     * for its retry under `retry.max_retry_after_ns`, which also caps the
     * pause. A pause belongs to one policy: give each tenant its own policy
     * where one tenant's 429 must not pause another. false = only the
     * receiving call waits. @since 0.2.0
     */
    bool share_server_pause;
    rs_policy_hooks hooks;       /**< default none */
    /**
     * A request rate learnt from the server's answers: asked before the
     * limits (it queues callers as a token bucket does, within the same
     * patience), and told every attempt's outcome. A 429, a Retry-After or
     * a spent quota (`pause_ns`) on an attempt counts as a throttle, which
     * reduces the rate; other answers let it grow back. An attempt's
     * `advertised_rate` (the server's rate-limit headers) goes to
     * rs_adaptive_rate_advertise(): a ceiling the rate never goes above,
     * and where it starts when none applied yet. With no `initial_rate`
     * and no advertised rate it applies no rate until the first throttle:
     * a policy with no configured rate then learns the server's. NULL =
     * none.
     * @since 0.2.0
     */
    rs_adaptive_rate *adaptive_rate;
    /** serves a degraded result for a call that failed (#rs_fallback_fn);
        NULL = none. @since 0.2.0 */
    rs_fallback_fn fallback;
    void *fallback_ctx;           /**< passed to `fallback` as its `ctx` */
    /** Hears every event of the policy's calls (resilience/events.h):
        retries, refusals and why, budget refusals, server pauses,
        give-ups; each after the hook above of the same occurrence. Default
        none. @since 0.2.0 */
    rs_event_hook events;
    /** The policy's name in its events (#rs_event.name); copied. NULL (the
        default) = none. @since 0.2.0 */
    const char *name;
} rs_policy_config;

/** #RS_POLICY_CONFIG_DEFAULT as a brace initializer (static initializers, C++). @since 0.2.0 */
#define RS_POLICY_CONFIG_INIT                                                            \
    { { { { NULL, NULL }, RS_UNITS_REQUESTS } }, NULL, NULL, { NULL, NULL }, 0u,         \
      RS_RETRY_CONFIG_INIT, 0u, 1000000000u, true, { NULL, NULL, NULL }, NULL, NULL, NULL, \
      { NULL, NULL }, NULL }

/**
 * Defaults: no limits, no bulkhead, no breaker, no account, no adaptive
 * rate, #RS_RETRY_CONFIG_DEFAULT (3 attempts, full-jitter backoff,
 * Retry-After up to 60 s, retry budget 0.1), no timeout, limits and the
 * server pause waited for up to 1 s, the server pause shared by every
 * call, no hooks, no fallback.
 * @since 0.1.0
 */
#define RS_POLICY_CONFIG_DEFAULT ((rs_policy_config)RS_POLICY_CONFIG_INIT)

/** Opaque policy. */
typedef struct rs_policy rs_policy;

/**
 * Checks a policy configuration for a policy on @p clock, without creating
 * anything.
 *
 * @param clock  the clock the policy would run on; NULL = the system clock.
 * @return #RS_OK, or #RS_E_INVAL, with rs_last_error() naming the field:
 *         @p cfg NULL; `retry.max_attempts` 0; `retry.backoff` invalid
 *         (rs_backoff_config_validate()); `retry.budget_ratio` negative,
 *         not finite, or positive but outside [1e-6, 1e9];
 *         `retry.budget_max_tokens` outside [1, 1e9] while the budget is on;
 *         a limit whose limiter has no acquire operation or whose units are
 *         not an #rs_units; an account without a reserve operation;
 *         `token_estimate` 0 while an account or a #RS_UNITS_TOKENS limit is
 *         set; the breaker, a limit, the account, the bulkhead or the
 *         adaptive rate running on another clock than @p clock
 *         (rs_breaker_clock(), rs_limiter_clock(), rs_account_clock(),
 *         rs_bulkhead_clock(), rs_adaptive_rate_clock()).
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API int rs_policy_config_validate(const rs_policy_config *cfg, const rs_clock *clock);

/**
 * Creates a policy.
 *
 * @param cfg    validated as rs_policy_config_validate(); copied. The
 *               modules it points to are not owned and must outlive the
 *               policy.
 * @param clock  time source for deadlines, waits and the modules (they must
 *               run on it); NULL = system clock.
 * @param out    receives the policy; untouched on error.
 * @return #RS_OK; #RS_E_INVAL (as rs_policy_config_validate(), or @p out
 *         NULL); #RS_E_NOMEM.
 * @since 0.1.0
 */
RS_API int rs_policy_new(const rs_policy_config *cfg, const rs_clock *clock, rs_policy **out);

/** Frees @p p (not the modules it points to); NULL is ignored. @since 0.1.0 */
RS_API void rs_policy_free(rs_policy *p);

/**
 * The clock @p p runs on (the one given to rs_policy_new(), or
 * rs_clock_system() for NULL), for drivers of the step API that need its
 * time. NULL for NULL.
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API const rs_clock *rs_policy_clock(const rs_policy *p);

/**
 * Runs @p fn through the policy, blocking (on the policy's clock) for
 * backoff and limiter waits.
 *
 * @return #RS_OK (fn succeeded); #RS_E_FAILED (fn said RS_FAIL);
 *         #RS_E_EXHAUSTED (every attempt failed retryably, the retry budget
 *         withheld a retry, or the server's Retry-After exceeded
 *         `retry.max_retry_after_ns`); #RS_E_TIMEOUT (the deadline passed,
 *         or the next wait would cross it: returned at once, never after
 *         sleeping in vain); local refusals, where fn did not run (again):
 *         #RS_E_LIMITED (a limit, the shared server pause or the bulkhead
 *         would need to wait longer than max_limiter_wait_ns or past the
 *         deadline, or the bulkhead's queue is full), #RS_E_OPEN (the
 *         breaker, or a shared breaker flag, is open; never retried),
 *         #RS_E_BUDGET (the account refused); #RS_E_IO (a remote limit or
 *         account failed and its failure policy is to refuse;
 *         rs_last_error() says why); #RS_E_INVAL (NULL @p p or @p fn, or a
 *         request that can never be granted, e.g. more tokens than a
 *         bucket's burst). A fallback hook that serves a result turns any
 *         of these but #RS_E_FAILED and #RS_E_INVAL into #RS_OK.
 * @note Thread-safe: one policy serves many threads at once. Does not
 *       allocate.
 * @since 0.1.0
 */
RS_API int rs_call(rs_policy *p, rs_fn fn, void *ctx);

/** Per-call overrides of the policy's settings; zero = the policy's. @since 0.1.0 */
typedef struct rs_call_options {
    uint64_t token_estimate; /**< tokens per attempt; 0 = the policy's */
    uint64_t timeout_ns;     /**< this call's timeout; 0 = the policy's */
    /** this call's budget instead of the policy's account (e.g. the
        caller's own: rs_budget_account(rs_budget_registry_get(...)), or
        rs_redis_budget_account() for the calling user); must run on the
        policy's clock; `{0}` = the policy's */
    rs_account account;
    /** this call's own context, for the fallback hook (`call_ctx`) and
        `wake`; NULL = none (rs_call() and rs_call_with() pass fn's `ctx`
        when this is NULL). @since 0.2.0 */
    void *context;
    /**
     * Step API: called, with `context`, when a call that answered
     * #RS_STEP_WAIT may go on before its timer (its bulkhead slot is
     * free): call rs_call_next() for it soon. It runs on the thread whose
     * call left the bulkhead, with no library lock held, possibly inside
     * that call's rs_call_complete(), and possibly before the step that
     * answered #RS_STEP_WAIT has returned: only schedule, do not drive
     * the call from inside it. Once rs_call_end() returns no wake of that
     * call is still running, so `context` may be freed then. NULL = none:
     * a call queued for a bulkhead slot polls every 1 ms. The blocking
     * calls ignore it. @since 0.2.0
     */
    void (*wake)(void *context);
} rs_call_options;

/**
 * rs_call() with per-call options (@p opts may be NULL) and a report of
 * what happened (@p report may be NULL): attempts, waits, the last
 * `attempt->error`, why the call stopped. Same statuses as rs_call();
 * #RS_E_INVAL also for an options account on another clock than the
 * policy's (rs_last_error() says so). The report is filled for every
 * status, #RS_E_INVAL too.
 * @note Thread-safe, like rs_call().
 * @since 0.1.0
 */
RS_API int rs_call_with(rs_policy *p, const rs_call_options *opts, rs_fn fn, void *ctx,
                        rs_call_report *report);

/* ---- Non-blocking step API, for event loops ------------------------------ */

/** What the driver should do next. @since 0.1.0 */
typedef enum rs_step_action {
    RS_STEP_RUN = 0,  /**< run fn now with rs_call_attempt(), then rs_call_complete() */
    RS_STEP_WAIT = 1, /**< start a timer for wait_ns, then call rs_call_next() */
    RS_STEP_DONE = 2  /**< finished with `status`; call rs_call_end() */
} rs_step_action;

/** One instruction of the step machine. @since 0.1.0 */
typedef struct rs_step {
    rs_step_action action;
    uint64_t wait_ns; /**< for RS_STEP_WAIT */
    int status;       /**< for RS_STEP_DONE: what rs_call would return */
} rs_step;

/** One call in progress (opaque). */
typedef struct rs_call_state rs_call_state;

/**
 * Starts a call without running anything yet. Drive it:
 *
 *     rs_step s = rs_call_next(c);
 *     while (s.action != RS_STEP_DONE) {
 *         if (s.action == RS_STEP_RUN)  s = rs_call_complete(c, fn(ctx, rs_call_attempt(c)));
 *         else  (after a timer of s.wait_ns)  s = rs_call_next(c);
 *     }
 *     rs_call_end(c, &report);
 *
 * The function may run asynchronously: call rs_call_complete() whenever
 * its result arrives.
 *
 * @param opts  may be NULL.
 * @param out   receives the state (allocated); release it with rs_call_end().
 * @return #RS_OK; #RS_E_INVAL (NULL @p p or @p out, or an options account
 *         on another clock than the policy's); #RS_E_NOMEM.
 * @note Each state belongs to one driver at a time: the functions taking an
 *       rs_call_state must not run concurrently on the same state. Many
 *       states may run on one policy concurrently.
 * @since 0.1.0
 */
RS_API int rs_call_begin(rs_policy *p, const rs_call_options *opts, rs_call_state **out);

/**
 * rs_call_begin() at an explicit time @p now_ns on the policy's clock (for
 * example an event loop's cached time): the deadline counts from it.
 * @since 0.1.0 (0.2.0: @p now_ns moved last, as in every `_at` function)
 */
RS_API int rs_call_begin_at(rs_policy *p, const rs_call_options *opts, rs_call_state **out,
                            uint64_t now_ns);

/**
 * Bytes of memory a call state needs, for rs_call_begin_in(): an event
 * loop that keeps the state inside its own request object makes no
 * allocation per call.
 * @note Thread-safe; constant for one build of the library.
 * @since 0.2.0
 */
RS_API size_t rs_call_state_size(void);

/**
 * rs_call_begin() in memory the caller provides instead of an allocation:
 * @p memory holds @p size bytes, at least rs_call_state_size(), aligned
 * for any object (as malloc's), and stays untouched by the caller until
 * rs_call_end(), which does not free it.
 *
 * @return #RS_OK; #RS_E_INVAL (NULL @p p, @p memory or @p out, @p size too
 *         small, @p memory misaligned, or an options account on another
 *         clock than the policy's). Never allocates.
 * @since 0.2.0
 */
RS_API int rs_call_begin_in(rs_policy *p, const rs_call_options *opts, void *memory,
                            size_t size, rs_call_state **out);

/** rs_call_begin_in() at an explicit time @p now_ns. @since 0.2.0 */
RS_API int rs_call_begin_in_at(rs_policy *p, const rs_call_options *opts, void *memory,
                               size_t size, rs_call_state **out, uint64_t now_ns);

/**
 * What to do now: at the start, after a RS_STEP_WAIT timer fired, and
 * after `rs_call_options.wake` ran. A call made before the wait is over
 * answers RS_STEP_WAIT with the remainder, except for a call queued for a
 * bulkhead slot, which looks at its place in the queue whenever it is asked
 * (and goes on at once when the slot is its); a call while fn is running
 * answers RS_STEP_RUN again. Reads the policy's clock once.
 * @since 0.1.0
 */
RS_API rs_step rs_call_next(rs_call_state *c);

/** rs_call_next() at an explicit time on the policy's clock. @since 0.1.0 */
RS_API rs_step rs_call_next_at(rs_call_state *c, uint64_t now_ns);

/**
 * The attempt to hand to fn after RS_STEP_RUN; fn writes its out fields
 * into it. Valid until rs_call_end(). NULL for NULL.
 * @since 0.1.0
 */
RS_API rs_attempt *rs_call_attempt(rs_call_state *c);

/**
 * Reports fn's verdict for the attempt of the last RS_STEP_RUN and returns
 * the next instruction (RS_STEP_WAIT before a retry, or RS_STEP_DONE).
 * When no attempt is running the verdict is ignored and the call behaves
 * exactly as rs_call_next() (it may move the machine on if a wait is over).
 * Reads the policy's clock once. NULL gives RS_STEP_DONE with #RS_E_INVAL.
 * @since 0.1.0
 */
RS_API rs_step rs_call_complete(rs_call_state *c, rs_verdict verdict);

/** rs_call_complete() at an explicit time on the policy's clock. @since 0.1.0 */
RS_API rs_step rs_call_complete_at(rs_call_state *c, rs_verdict verdict, uint64_t now_ns);

/**
 * Finishes a call and frees its state (memory given to rs_call_begin_in()
 * is left to its owner); fills @p report (may be NULL). A call not yet
 * done is abandoned: a running attempt's breaker permit is released
 * and its budget reservation cancelled, and the report says
 * RS_STOP_ABANDONED with status #RS_E_TIMEOUT. NULL is ignored.
 * @since 0.1.0
 */
RS_API void rs_call_end(rs_call_state *c, rs_call_report *report);

/** rs_call_end() at an explicit time on the policy's clock. @since 0.1.0 */
RS_API void rs_call_end_at(rs_call_state *c, rs_call_report *report, uint64_t now_ns);

/* ---- Introspection -------------------------------------------------------- */

/**
 * Counters of a policy since creation, and its state now: the policy's
 * snapshot, filled by rs_policy_metrics() (or the older
 * rs_policy_stats_get()). Every call ends in exactly one of `successes`,
 * `failures`, `exhausted`, `timeouts`, `rejected_limiter`,
 * `rejected_bulkhead`, `rejected_breaker`, `rejected_budget` or
 * `rejected_server_pause`; a call the fallback hook served is counted there
 * and in `fallbacks` as well.
 * @since 0.1.0
 */
typedef struct rs_policy_stats {
    uint64_t calls;                 /**< calls started */
    uint64_t successes;             /**< calls fn succeeded in (fallbacks are not counted) */
    uint64_t failures;              /**< calls that returned RS_E_FAILED */
    uint64_t exhausted;             /**< calls that returned RS_E_EXHAUSTED (retry budget included) */
    uint64_t timeouts;              /**< calls that returned RS_E_TIMEOUT */
    uint64_t attempts;              /**< times fn ran */
    uint64_t retries;               /**< retries scheduled (the wait before another attempt began) */
    uint64_t rejected_limiter;      /**< calls stopped by a limit */
    uint64_t rejected_breaker;      /**< calls stopped by an open breaker (or shared flag) */
    uint64_t rejected_budget;       /**< calls stopped by the account */
    uint64_t rejected_retry_budget; /**< calls whose retry the retry budget withheld */
    uint64_t rejected_server_pause; /**< calls refused because the shared server pause
                                         outlasted their patience (@since 0.2.0) */
    uint64_t server_pauses;         /**< times a server's Retry-After or spent quota
                                         started or lengthened the shared pause (@since 0.2.0) */
    double retry_tokens;            /**< retry budget tokens now (0 when off) */
    /* @since 0.2.0: */
    uint64_t in_progress;           /**< calls started and not ended yet */
    uint64_t elapsed_ns;            /**< time the ended calls took, begin to end, in total */
    uint64_t waited_ns;             /**< time the ended calls waited (backoff, limits,
                                         pauses), in total */
    uint64_t limiter_wait_ns;       /**< the part of waited_ns spent on limits and pauses */
    uint64_t pause_remaining_ns;    /**< the shared server pause left now (0 = none) */
    double retry_max_tokens;        /**< the retry budget's size (0 when off) */
    uint64_t rejected_bulkhead;     /**< calls refused for want of a bulkhead slot (@since 0.2.0) */
    uint64_t fallbacks;             /**< calls the fallback hook served (also counted under
                                         their failure: rejected_breaker, timeouts...)
                                         (@since 0.2.0) */
} rs_policy_stats;

/** The policy's snapshot, named as every module's (rs_X_metrics() fills an
 *  rs_X_snapshot). @since 0.2.0 */
typedef rs_policy_stats rs_policy_snapshot;

/**
 * Fills @p m with the policy's counters and state (reads the clock once,
 * for the pause). Lock-free: each counter is exact once the calls it counts
 * are done and never goes back between two reads; the set is not one
 * atomic snapshot (a call may show in `calls` before its end shows).
 *
 * @return #RS_OK, or #RS_E_INVAL when @p p or @p m is NULL (@p m untouched).
 * @note Thread-safe; costs a few dozen loads (docs/performance.md).
 * @since 0.2.0
 */
RS_API int rs_policy_metrics(rs_policy *p, rs_policy_snapshot *m);

/** rs_policy_metrics() at the instant @p now_ns on the policy's clock. @since 0.2.0 */
RS_API int rs_policy_metrics_at(rs_policy *p, rs_policy_snapshot *m, uint64_t now_ns);

/**
 * rs_policy_metrics() under its 0.1 name; NULL arguments are ignored.
 * @since 0.1.0
 */
RS_API void rs_policy_stats_get(rs_policy *p, rs_policy_stats *out);

/** "RS_STOP_LIMITER" etc.; never NULL. @since 0.1.0 */
RS_API const char *rs_stop_reason_name(rs_stop_reason reason);

/**
 * True when the call was stopped by this process's own protection before
 * the service was asked (a limit, the breaker, the budget, the shared
 * server pause, the bulkhead), not by the remote service. #RS_STOP_RETRY_BUDGET is not local: the budget withholds
 * retries because the service kept failing.
 * @since 0.1.0
 */
RS_API bool rs_stop_reason_is_local(rs_stop_reason reason);

/* ---- rs_client: a policy that owns its modules ----------------------------- */

/** Room for limits given to a client, asked after its own. @since 0.2.0 */
#define RS_CLIENT_MAX_LIMITS 5

/**
 * Flat configuration of an #rs_client; start from #RS_CLIENT_CONFIG_DEFAULT.
 * The first group names the modules the client creates and owns (each 0 or
 * NULL = none); the second what it is given (not owned, as in a policy);
 * the rest is shared with #rs_policy_config, with the same defaults.
 * @since 0.1.0
 */
typedef struct rs_client_config {
    /* Created and owned by the client, all on its clock: */
    double requests_per_second;      /**< token bucket of requests, 0 = none */
    uint64_t burst;                  /**< its capacity; 0 = max(1, ceil(requests_per_second)) */
    /** token bucket charged `token_estimate` per attempt (a provider's LLM
        tokens per second), 0 = none */
    double tokens_per_second;
    uint64_t token_burst;            /**< its capacity; 0 = max(1, ceil(tokens_per_second)) */
    uint64_t requests_per_minute;    /**< exact sliding-window log over 60 s, 0 = none */
    const rs_breaker_config *breaker; /**< a breaker with this config (copied); NULL = none */
    const rs_budget_config *budget;  /**< a token budget with this config (copied); NULL = none */
    /** a bulkhead with this config (copied); NULL = none, unless
        `concurrency_limit` asks for one. @since 0.2.0 */
    const rs_bulkhead_config *bulkhead;
    /** an adaptive concurrency limit with this config (copied), attached to
        the client's bulkhead (one with #RS_BULKHEAD_CONFIG_DEFAULT when
        `bulkhead` is NULL); NULL = none. @since 0.2.0 */
    const rs_adaptive_limit_config *concurrency_limit;
    /** an adaptive rate with this config (copied), asked before the
        client's own limiters; NULL = none. With `requests_per_second` as
        well, the fixed bucket stays the ceiling. @since 0.2.0 */
    const rs_adaptive_rate_config *adaptive_rate;
    /* Given (not owned), as in rs_policy_config: */
    /** asked after the client's own limiters (window, bucket, token bucket),
        in array order: Redis or shared-memory limits, a shared breaker flag */
    rs_limit limits[RS_CLIENT_MAX_LIMITS];
    /** an account charged instead of an own budget (setting both is
        #RS_E_INVAL); `{0}` = none */
    rs_account account;
    /* Shared with rs_policy_config: */
    uint64_t token_estimate;         /**< tokens per attempt; required with a budget,
                                          an account or token limits */
    rs_retry_config retry;           /**< default #RS_RETRY_CONFIG_DEFAULT */
    uint64_t timeout_ns;             /**< whole call, 0 = none */
    uint64_t max_limiter_wait_ns;    /**< default 1 s */
    bool share_server_pause;         /**< default true */
    rs_policy_hooks hooks;           /**< default none */
    rs_fallback_fn fallback;         /**< default none (@since 0.2.0) */
    void *fallback_ctx;              /**< passed to `fallback` (@since 0.2.0) */
    /** as rs_policy_config.events, and it also hears the client's own
        breaker's state changes, unless the `breaker` config has a hook of
        its own. Default none. @since 0.2.0 */
    rs_event_hook events;
    /** The client's name in events (its policy's and its breaker's, unless
        the breaker config names it); copied. NULL = none. @since 0.2.0 */
    const char *name;
} rs_client_config;

/** #RS_CLIENT_CONFIG_DEFAULT as a brace initializer (static initializers, C++). @since 0.2.0 */
#define RS_CLIENT_CONFIG_INIT                                                             \
    { 0.0, 0u, 0.0, 0u, 0u, NULL, NULL, NULL, NULL, NULL,                                  \
      { { { NULL, NULL }, RS_UNITS_REQUESTS } }, { NULL, NULL }, 0u, RS_RETRY_CONFIG_INIT,  \
      0u, 1000000000u, true, { NULL, NULL, NULL }, NULL, NULL, { NULL, NULL }, NULL }

/** Defaults: no modules, and what it shares with #RS_POLICY_CONFIG_DEFAULT
    as there (3 attempts, full-jitter backoff, retry budget 0.1, limits
    waited for up to 1 s). @since 0.1.0 */
#define RS_CLIENT_CONFIG_DEFAULT ((rs_client_config)RS_CLIENT_CONFIG_INIT)

/** Opaque client. */
typedef struct rs_client rs_client;

/**
 * Creates a client, the modules its config names and its policy, all on
 * @p clock. Everything is checked before anything is allocated.
 *
 * @return #RS_OK; #RS_E_INVAL, with rs_last_error() naming the field, when
 *         @p cfg or @p out is NULL, a module config is invalid (its
 *         validate function's rule), both `budget` and `account` are set,
 *         `token_estimate` is 0 while a budget, an account or a token limit
 *         would charge it, `token_estimate` exceeds `token_burst` or the
 *         budget's per-request or per-window maximum (every call would be
 *         refused), or the derived policy is invalid
 *         (rs_policy_config_validate()); #RS_E_NOMEM (nothing leaks).
 * @since 0.1.0
 */
RS_API int rs_client_new(const rs_client_config *cfg, const rs_clock *clock, rs_client **out);

/**
 * rs_call() on the client's policy: the same statuses (#RS_E_INVAL for a
 * NULL @p c or @p fn). For options or a report use rs_call_with() on
 * rs_client_policy().
 * @note Thread-safe: one client serves many threads.
 * @since 0.1.0
 */
RS_API int rs_client_call(rs_client *c, rs_fn fn, void *ctx);

/**
 * The client's policy, for rs_call_with(), the step API and statistics.
 * Owned by the client. NULL for NULL.
 * @since 0.1.0
 */
RS_API rs_policy *rs_client_policy(rs_client *c);

/** The client's breaker, or NULL if it has none (or @p c is NULL). @since 0.1.0 */
RS_API rs_breaker *rs_client_breaker(rs_client *c);

/** The client's bucket of requests (`requests_per_second`), or NULL. @since 0.2.0 */
RS_API rs_token_bucket *rs_client_bucket(rs_client *c);

/** The client's bucket of tokens (`tokens_per_second`), or NULL. @since 0.2.0 */
RS_API rs_token_bucket *rs_client_token_bucket(rs_client *c);

/** The client's sliding window (`requests_per_minute`), or NULL. @since 0.2.0 */
RS_API rs_sliding_window *rs_client_window(rs_client *c);

/** The client's budget (`budget`), or NULL. @since 0.2.0 */
RS_API rs_budget *rs_client_budget(rs_client *c);

/** The client's bulkhead (`bulkhead`, or the one `concurrency_limit` made), or NULL. @since 0.2.0 */
RS_API rs_bulkhead *rs_client_bulkhead(rs_client *c);

/** The client's adaptive concurrency limit (`concurrency_limit`), or NULL. @since 0.2.0 */
RS_API rs_adaptive_limit *rs_client_concurrency_limit(rs_client *c);

/** The client's adaptive rate (`adaptive_rate`), or NULL. @since 0.2.0 */
RS_API rs_adaptive_rate *rs_client_adaptive_rate(rs_client *c);

/** Frees the client and every module it owns; NULL is ignored. @since 0.1.0 */
RS_API void rs_client_free(rs_client *c);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_POLICY_H */
