/**
 * @file limiter.h
 * @brief One small interface for every admission check the composition can
 *        hold: the local token bucket and sliding window, and remote or
 *        shared ones (Redis, shared memory).
 *
 * rs_policy asks each configured limiter through this interface, so
 * policy.c never needs to know where a limiter keeps its state. A backend
 * provides an #rs_limiter_ops table and hands out #rs_limiter values.
 */
#ifndef RESILIENCE_LIMITER_H
#define RESILIENCE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "resilience/clock.h"
#include "resilience/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Operations of a limiter backend.
 * @since 0.1.0
 */
typedef struct rs_limiter_ops {
    /**
     * Asks for @p n units (requests, or tokens) at @p now_ns on the caller's
     * clock, willing to wait up to @p max_wait_ns. A backend with its own
     * time source (Redis TIME) may ignore @p now_ns.
     *
     * - #RS_OK and `*wait_ns == 0`: granted now.
     * - #RS_OK and `*wait_ns > 0` (never above @p max_wait_ns): reserved; the
     *   units are the caller's after `*wait_ns` ns. Do not ask again.
     * - #RS_E_LIMITED: nothing taken; `*wait_ns` is the whole time from now
     *   until the request could be granted if nothing else took capacity
     *   meanwhile, at least 1; UINT64_MAX = unknown or never. A caller whose
     *   patience covers it may wait that long and ask again.
     * - #RS_E_OPEN: a shared circuit is open (e.g. another instance tripped
     *   its breaker): refuse the call as an open breaker would.
     * - #RS_E_INVAL: @p n can never be granted (more than the capacity).
     * - #RS_E_IO: the backend failed and its failure policy is to refuse;
     *   `*wait_ns` is UINT64_MAX, or the time until the backend will be
     *   tried again; rs_last_error() says why.
     *
     * Must be thread-safe and must not block longer than the backend's own
     * I/O timeout; it never sleeps for the wait itself.
     */
    int (*acquire)(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                   uint64_t *wait_ns);
    /** Short name for reports and logs, e.g. "token_bucket". */
    const char *name;
    /**
     * Optional (NULL = not offered): how long from @p now_ns until @p n
     * units could be granted (0 = now, UINT64_MAX = never or unknown),
     * taking nothing. A caller holding several limiters asks all of them
     * first, so that one limiter's refusal does not waste another's
     * capacity. Informative only: it promises nothing.
     */
    uint64_t (*wait_ns)(void *self, uint64_t n, uint64_t now_ns);
    /**
     * True when acquire can reserve future capacity (answer #RS_OK with a
     * wait), as a token bucket does: such a limiter queues its callers
     * itself, so a caller should ask it at once rather than wait first.
     * False for limiters that only admit now or refuse (windows, flags).
     */
    bool reserves;
    /**
     * Optional (NULL = none): the clock whose time this limiter expects as
     * `now_ns`, so that rs_policy_new() can refuse a limiter on another
     * clock than the policy's. Answers NULL when the limiter keeps its own
     * time (a remote server's) and accepts any caller's `now_ns`.
     * @since 0.2.0
     */
    const rs_clock *(*clock)(void *self);
} rs_limiter_ops;

/**
 * A limiter: an operations table and the object it acts on. A value type;
 * `{NULL, NULL}` means "no limiter". The object must outlive every copy.
 * @since 0.1.0
 */
typedef struct rs_limiter {
    const rs_limiter_ops *ops;
    void *self;
} rs_limiter;

/**
 * Calls `l->ops->wait_ns`: 0 for a NULL or empty limiter, UINT64_MAX when
 * the backend does not offer it.
 * @since 0.1.0
 */
RS_API uint64_t rs_limiter_wait_ns(const rs_limiter *l, uint64_t n, uint64_t now_ns);

/**
 * Calls `l->ops->clock`: the clock the limiter runs on, or NULL when it
 * keeps its own time, does not say, or @p l is NULL or empty.
 * @since 0.2.0
 */
RS_API const rs_clock *rs_limiter_clock(const rs_limiter *l);

/**
 * Calls `l->ops->acquire`. A NULL or empty limiter grants everything
 * (#RS_OK, `*wait_ns = 0`).
 *
 * @param wait_ns  receives the wait as described in #rs_limiter_ops; must
 *                 not be NULL (#RS_E_INVAL).
 * @note Thread-safe if the backend is.
 * @since 0.1.0
 */
RS_API int rs_limiter_acquire(const rs_limiter *l, uint64_t n, uint64_t max_wait_ns,
                              uint64_t now_ns, uint64_t *wait_ns);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_LIMITER_H */
