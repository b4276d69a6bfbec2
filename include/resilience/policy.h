/**
 * @file policy.h
 * @brief The composition: one call through limiter → breaker → retry.
 *
 * An #rs_policy points at modules you created (any may be NULL) and runs a
 * user function through them. Each attempt goes:
 *
 *     budget reserve → sliding window → token bucket → token-counting bucket
 *         → external limiters → breaker allow → fn → breaker record
 *         → budget commit
 *
 * and a retryable failure waits (backoff, or the server's Retry-After) and
 * starts the next attempt, until success, a permanent failure, the attempt
 * limit, the deadline, or a local refusal. See docs/composition.md.
 *
 * Two drivers share one retry logic: rs_call() blocks, sleeping on the
 * policy's clock; the step API (rs_call_begin() / rs_call_next() /
 * rs_call_complete() / rs_call_end()) never sleeps and lets an event loop
 * run the waits on its own timers. rs_call() is implemented on the step
 * machine.
 *
 * An #rs_client owns a complete set of modules built from one flat config.
 */
#ifndef RESILIENCE_POLICY_H
#define RESILIENCE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "resilience/backoff.h"
#include "resilience/breaker.h"
#include "resilience/budget.h"
#include "resilience/clock.h"
#include "resilience/account.h"
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
    /** out: the failure was the caller's fault (e.g. a 400 for bad input), not
        the service's: the breaker neither counts it as a failure nor as a
        success (its permit is released). */
    bool caller_fault;
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
    RS_STOP_LIMITER = 5,     /**< local: a limiter (bucket, window, external) refused or failed */
    RS_STOP_BREAKER = 6,     /**< local: the circuit breaker is open */
    RS_STOP_BUDGET = 7,      /**< local: the token budget is spent */
    RS_STOP_RETRY_BUDGET = 8,/**< local: the policy's retry budget forbade a retry */
    RS_STOP_RETRY_AFTER = 9, /**< the server asked to wait longer than max_retry_after_ns */
    RS_STOP_ABANDONED = 10   /**< the driver ended the call early (rs_call_end) */
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
} rs_call_report;

/** Room for external limiters in a policy. @since 0.1.0 */
#define RS_POLICY_MAX_EXTERNAL_LIMITERS 4

/** Policy configuration; start from #RS_POLICY_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_policy_config {
    rs_token_bucket *limiter;   /**< may be NULL; not owned */
    /* (token_limiter, below, is a second bucket that counts tokens) */
    rs_sliding_window *window;  /**< may be NULL; not owned */
    rs_breaker *breaker;        /**< may be NULL; not owned */
    rs_budget *budget;          /**< may be NULL; not owned */
    uint64_t token_estimate;    /**< tokens reserved from the budget per attempt */
    rs_backoff_config backoff;  /**< delays between attempts */
    uint32_t max_attempts;      /**< total tries, >= 1 (default 3) */
    uint64_t timeout_ns;        /**< whole call including waits, 0 = none */
    uint64_t max_limiter_wait_ns; /**< longest wait for a limiter per attempt (0 = do not wait) */
    bool honor_retry_after;     /**< a server Retry-After overrides a shorter backoff */
    /** retry budget, shared by every call on the policy (gRPC retry
        throttling): tokens added per successful call; 0 = off */
    double retry_ratio;
    void (*on_retry)(void *ctx, const rs_attempt *a, uint64_t delay_ns); /**< may be NULL */
    void *hook_ctx;             /**< passed to the hooks */
    /* Extensions beyond the original design: */
    uint64_t max_retry_after_ns; /**< longest Retry-After honoured; longer ends the call (0 = no cap) */
    double retry_max_tokens;    /**< retry budget size, > 0 when retry_ratio > 0 (default 10) */
    /** acquire token_estimate units from the token bucket and the external
        limiter per attempt instead of 1 (they then limit tokens per second,
        not requests); the sliding window always counts requests */
    bool limiter_counts_tokens;
    /** further limiters behind the rs_limiter interface (Redis, shared
        memory, a shared breaker flag), asked in this order after the token
        bucket; empty slots (`.ops == NULL`) are skipped */
    rs_limiter external_limiters[RS_POLICY_MAX_EXTERNAL_LIMITERS];
    /** a token bucket charged token_estimate per attempt (an LLM provider's
        tokens per second or minute), asked after `limiter`; NULL = none;
        needs token_estimate > 0 */
    rs_token_bucket *token_limiter;
    /** a budget behind the rs_account interface (e.g. a Redis budget for one
        tenant), charged instead of `budget`; `.ops == NULL` = none. Setting
        both is #RS_E_INVAL. */
    rs_account account;
    void (*on_give_up)(void *ctx, const rs_call_report *report); /**< any non-OK end; may be NULL */
} rs_policy_config;

/**
 * Defaults: no modules, 3 attempts, default backoff (100 ms base, 20 s cap,
 * full jitter), no timeout, limiters waited for up to 1 s, Retry-After
 * honoured up to 60 s, no retry budget.
 * @since 0.1.0
 */
#define RS_POLICY_CONFIG_DEFAULT                                                      \
    ((rs_policy_config){ .limiter = NULL, .window = NULL, .breaker = NULL,            \
                         .budget = NULL, .token_estimate = 0,                        \
                         .backoff = RS_BACKOFF_CONFIG_DEFAULT, .max_attempts = 3,    \
                         .timeout_ns = 0, .max_limiter_wait_ns = 1000000000u,        \
                         .honor_retry_after = true, .retry_ratio = 0.0,              \
                         .on_retry = NULL, .hook_ctx = NULL,                         \
                         .max_retry_after_ns = 60000000000u, .retry_max_tokens = 10.0, \
                         .limiter_counts_tokens = false, .on_give_up = NULL })

/** Opaque policy. */
typedef struct rs_policy rs_policy;

/**
 * Creates a policy.
 *
 * @param cfg    copied; the modules it points to are not owned and must
 *               outlive the policy. Give them the same clock as the policy:
 *               the policy passes its own time to them.
 * @param clock  time source for deadlines and waits; NULL = system clock.
 * @param out    receives the policy; untouched on error.
 * @return #RS_OK; #RS_E_INVAL when @p cfg or @p out is NULL, max_attempts
 *         is 0, the backoff config is invalid (rs_backoff_config_validate),
 *         retry_ratio is negative, NaN or infinite, or positive but below
 *         1e-6 or above 1e9, retry_ratio > 0 with retry_max_tokens not in
 *         [1, 1e9], both `budget` and `account` are set, token_estimate is 0
 *         while a budget, an account, `token_limiter` or
 *         `limiter_counts_tokens` would charge it, or an external limiter or
 *         the account has no operations; #RS_E_NOMEM.
 * @since 0.1.0
 */
RS_API int rs_policy_new(const rs_policy_config *cfg, const rs_clock *clock, rs_policy **out);

/** Frees @p p (not the modules it points to); NULL is ignored. @since 0.1.0 */
RS_API void rs_policy_free(rs_policy *p);

/**
 * Runs @p fn through the policy, blocking (on the policy's clock) for
 * backoff and limiter waits.
 *
 * @return #RS_OK (fn succeeded); #RS_E_FAILED (fn said RS_FAIL);
 *         #RS_E_EXHAUSTED (every attempt failed retryably, or the server's
 *         Retry-After exceeded max_retry_after_ns); #RS_E_TIMEOUT (the
 *         deadline passed, or the next wait would cross it: returned at once,
 *         never after sleeping in vain); local refusals, where fn did not run
 *         (again): #RS_E_LIMITED (a limiter would need to wait longer than
 *         max_limiter_wait_ns, or the retry budget forbade a retry),
 *         #RS_E_OPEN (the breaker, or a shared breaker flag, is open; never
 *         retried), #RS_E_BUDGET (the token budget refused); #RS_E_IO (a
 *         remote limiter or budget failed and its failure policy is to
 *         refuse); #RS_E_INVAL (NULL @p p or @p fn, or a
 *         request that can never be granted, e.g. more tokens than the
 *         bucket's burst).
 * @note Thread-safe: one policy serves many threads at once. Does not
 *       allocate.
 * @since 0.1.0
 */
RS_API int rs_call(rs_policy *p, rs_fn fn, void *ctx);

/**
 * rs_call() that also fills @p report (may be NULL): attempts, waits, the
 * last `attempt->error`, why the call stopped. Returns what rs_call()
 * returns (and the report is filled for every status, #RS_E_INVAL too).
 * @note Thread-safe, like rs_call().
 * @since 0.1.0
 */
RS_API int rs_call_ex(rs_policy *p, rs_fn fn, void *ctx, rs_call_report *report);

/** Per-call overrides of the policy's settings. @since 0.1.0 */
typedef struct rs_call_options {
    uint64_t token_estimate; /**< tokens to reserve per attempt; 0 = the policy's */
    uint64_t timeout_ns;     /**< this call's timeout; 0 = the policy's */
    /** this call's budget instead of the policy's (e.g. the caller's own from
        rs_budget_registry_get(), held until the call ends); NULL = the policy's */
    rs_budget *budget;
    /** this call's budget behind the rs_account interface (e.g.
        rs_redis_budget_account() for the calling user); wins over `budget`;
        `.ops == NULL` = none */
    rs_account account;
} rs_call_options;

/**
 * rs_call_ex() with per-call options (@p opts may be NULL): this call's
 * token estimate, timeout and budget. Same statuses as rs_call().
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
 * @return #RS_OK, #RS_E_INVAL (NULL @p p or @p out), #RS_E_NOMEM.
 * @note Each state belongs to one driver at a time: the functions taking an
 *       rs_call_state must not run concurrently on the same state. Many
 *       states may run on one policy concurrently.
 * @since 0.1.0
 */
RS_API int rs_call_begin(rs_policy *p, const rs_call_options *opts, rs_call_state **out);

/**
 * rs_call_begin() at an explicit time on the policy's clock (for example an
 * event loop's cached time): the deadline counts from @p now_ns.
 * @since 0.1.0
 */
RS_API int rs_call_begin_at(rs_policy *p, const rs_call_options *opts, uint64_t now_ns,
                            rs_call_state **out);

/**
 * What to do now: at the start, and after a RS_STEP_WAIT timer fired. A
 * call made before the wait is over answers RS_STEP_WAIT with the
 * remainder; a call while fn is running answers RS_STEP_RUN again.
 * Reads the policy's clock once.
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
 * Finishes a call and frees its state; fills @p report (may be NULL). A call
 * not yet done is abandoned: a running attempt's breaker permit is released
 * and its budget reservation cancelled, and the report says
 * RS_STOP_ABANDONED with status #RS_E_TIMEOUT. NULL is ignored.
 * @since 0.1.0
 */
RS_API void rs_call_end(rs_call_state *c, rs_call_report *report);

/** rs_call_end() at an explicit time on the policy's clock. @since 0.1.0 */
RS_API void rs_call_end_at(rs_call_state *c, rs_call_report *report, uint64_t now_ns);

/* ---- Introspection -------------------------------------------------------- */

/** Counters of a policy since creation. @since 0.1.0 */
typedef struct rs_policy_stats {
    uint64_t calls;                 /**< calls started */
    uint64_t successes;             /**< calls that returned RS_OK */
    uint64_t failures;              /**< calls that returned RS_E_FAILED */
    uint64_t exhausted;             /**< calls that returned RS_E_EXHAUSTED */
    uint64_t timeouts;              /**< calls that returned RS_E_TIMEOUT */
    uint64_t attempts;              /**< times fn ran */
    uint64_t retries;               /**< retries scheduled (the wait before another attempt began) */
    uint64_t rejected_limiter;      /**< calls stopped by the token bucket or window */
    uint64_t rejected_breaker;      /**< calls stopped by an open breaker */
    uint64_t rejected_budget;       /**< calls stopped by the token budget */
    uint64_t rejected_retry_budget; /**< retries the retry budget forbade */
    double retry_tokens;            /**< retry budget tokens now (0 when off) */
} rs_policy_stats;

/**
 * Reads the counters. Lock-free; each counter is exact, the set is not a
 * single atomic snapshot. NULL arguments are ignored.
 * @since 0.1.0
 */
RS_API void rs_policy_stats_get(rs_policy *p, rs_policy_stats *out);

/** "RS_STOP_LIMITER" etc.; never NULL. @since 0.1.0 */
RS_API const char *rs_stop_reason_name(rs_stop_reason reason);

/**
 * True when the call was stopped by this process's own protection (limiter,
 * breaker, budget, retry budget), not by the remote service.
 * @since 0.1.0
 */
RS_API bool rs_stop_reason_is_local(rs_stop_reason reason);

/* ---- rs_client: a policy that owns its modules ----------------------------- */

/**
 * Flat configuration of an #rs_client; every module is optional (0
 * disables it). Start from #RS_CLIENT_CONFIG_DEFAULT.
 * @since 0.1.0
 */
typedef struct rs_client_config {
    /* retry */
    uint32_t max_retries;         /**< retries after the first try (default 3) */
    uint64_t base_delay_ns;       /**< first backoff delay (default 100 ms) */
    uint64_t max_delay_ns;        /**< backoff cap (default 20 s) */
    rs_jitter jitter;             /**< default RS_JITTER_FULL */
    uint64_t seed;                /**< jitter seed, 0 = from the OS */
    uint64_t timeout_ns;          /**< whole call, 0 = none */
    bool honor_retry_after;       /**< default true */
    uint64_t max_retry_after_ns;  /**< default 60 s */
    double retry_ratio;           /**< retry budget: retries per success (default 0.1), 0 = off */
    /* rate limits */
    double requests_per_second;   /**< token bucket, 0 = none */
    uint64_t burst;               /**< token bucket capacity (0 = max(1, requests_per_second)) */
    double tokens_per_second;     /**< a bucket of LLM tokens charged token_estimate per attempt, 0 = none */
    uint64_t token_burst;         /**< its capacity (0 = max(1, tokens_per_second)) */
    uint64_t requests_per_minute; /**< exact sliding-window log over 60 s, 0 = none */
    uint64_t max_limiter_wait_ns; /**< default 1 s */
    /* circuit breaker */
    uint32_t failure_threshold;   /**< consecutive failures that open, 0 = no breaker */
    uint64_t recovery_timeout_ns; /**< open duration before a probe (default 30 s) */
    /* token budget */
    uint64_t budget_per_window;   /**< tokens per window, 0 = no budget */
    uint64_t budget_window_ns;    /**< default 1 hour */
    uint64_t budget_max_per_request; /**< 0 = budget_per_window */
    uint64_t token_estimate;      /**< tokens reserved per attempt */
} rs_client_config;

/** Defaults: 3 retries, full-jitter backoff 100 ms..20 s, Retry-After up to
    60 s, retry budget 0.1, no limiter, no breaker, no budget. @since 0.1.0 */
#define RS_CLIENT_CONFIG_DEFAULT                                                       \
    ((rs_client_config){ .max_retries = 3, .base_delay_ns = 100000000u,                \
                         .max_delay_ns = 20000000000u, .jitter = RS_JITTER_FULL,       \
                         .seed = 0, .timeout_ns = 0, .honor_retry_after = true,        \
                         .max_retry_after_ns = 60000000000u, .retry_ratio = 0.1,       \
                         .requests_per_second = 0.0, .burst = 0,                       \
                         .tokens_per_second = 0.0, .token_burst = 0,                   \
                         .requests_per_minute = 0, .max_limiter_wait_ns = 1000000000u, \
                         .failure_threshold = 0, .recovery_timeout_ns = 30000000000u,  \
                         .budget_per_window = 0, .budget_window_ns = 3600000000000u,   \
                         .budget_max_per_request = 0, .token_estimate = 0 })

/** Opaque client. */
typedef struct rs_client rs_client;

/**
 * Creates a client and the modules its config enables, all on @p clock.
 *
 * @return #RS_OK; #RS_E_INVAL when @p cfg or @p out is NULL, max_retries
 *         is UINT32_MAX, a budget or tokens_per_second is configured with
 *         token_estimate 0, token_estimate exceeds token_burst or the
 *         budget's per-request or per-window maximum (every call would be
 *         refused), rs_policy_new() would refuse the derived policy, or any
 *         derived module config is invalid (e.g. base_delay_ns 0, base >
 *         max, a negative or too fine rate), all checked before anything is
 *         allocated; #RS_E_NOMEM (nothing leaks).
 * @since 0.1.0
 */
RS_API int rs_client_new(const rs_client_config *cfg, const rs_clock *clock, rs_client **out);

/**
 * rs_call() on the client's policy: the same statuses (#RS_E_INVAL for a
 * NULL @p c or @p fn).
 * @note Thread-safe: one client serves many threads.
 * @since 0.1.0
 */
RS_API int rs_client_call(rs_client *c, rs_fn fn, void *ctx);

/** rs_call_ex() on the client's policy. Thread-safe. @since 0.1.0 */
RS_API int rs_client_call_ex(rs_client *c, rs_fn fn, void *ctx, rs_call_report *report);

/**
 * The client's policy, for the step API, rs_call_with() and statistics.
 * Owned by the client. NULL for NULL.
 * @since 0.1.0
 */
RS_API rs_policy *rs_client_policy(rs_client *c);

/** The client's breaker, or NULL if it has none. @since 0.1.0 */
RS_API rs_breaker *rs_client_breaker(rs_client *c);

/** Frees the client and every module it owns; NULL is ignored. @since 0.1.0 */
RS_API void rs_client_free(rs_client *c);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_POLICY_H */
