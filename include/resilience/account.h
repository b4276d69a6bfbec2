/**
 * @file account.h
 * @brief One small interface for every token budget the composition can
 *        charge: the local rs_budget and remote ones (a Redis budget for one
 *        user or tenant).
 *
 * The counterpart of limiter.h for budgets: rs_policy reserves, commits and
 * cancels through an #rs_account, so policy.c never needs to know where the
 * budget is kept. A backend provides an #rs_account_ops table and hands out
 * #rs_account values (rs_budget_account(), rs_redis_budget_account()).
 */
#ifndef RESILIENCE_ACCOUNT_H
#define RESILIENCE_ACCOUNT_H

#include <stdint.h>

#include "resilience/clock.h"
#include "resilience/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A reservation held by an account, to hand back to commit or cancel. Plain
 * data: copy it freely. The first two fields mirror rs_budget_ticket;
 * `backend` is the account's own bookkeeping.
 * @since 0.1.0
 */
typedef struct rs_account_ticket {
    uint64_t reserved; /**< tokens held */
    uint64_t at_ns;    /**< when they were reserved, on the backend's clock */
    uint64_t backend;  /**< private to the backend */
} rs_account_ticket;

/**
 * Operations of a budget backend. All must be thread-safe.
 * @since 0.1.0
 */
typedef struct rs_account_ops {
    /**
     * Reserves @p estimate tokens at @p now_ns (a backend with its own time
     * source may ignore it) and fills @p ticket.
     * @return #RS_OK; #RS_E_BUDGET (not enough left, or over the
     *         per-request cap: nothing held); #RS_E_IO (the backend failed
     *         and its failure policy is to refuse; rs_last_error() says
     *         why); #RS_E_NOMEM (the backend
     *         needed memory for this request and had none); #RS_E_INVAL.
     *         rs_call returns any of these as they are.
     */
    int (*reserve)(void *self, uint64_t estimate, uint64_t now_ns, rs_account_ticket *ticket);
    /** Replaces the ticket's estimate with what was really used. */
    void (*commit)(void *self, const rs_account_ticket *ticket, uint64_t actual);
    /** Gives the whole reservation back (the call never happened). */
    void (*cancel)(void *self, const rs_account_ticket *ticket);
    /** Short name for logs, e.g. "budget". */
    const char *name;
    /**
     * Optional (NULL = none): the clock whose time this account expects as
     * `now_ns` (see rs_limiter_ops.clock); answers NULL when it keeps its
     * own time.
     * @since 0.2.0
     */
    const rs_clock *(*clock)(void *self);
} rs_account_ops;

/**
 * An account: an operations table and the object it acts on. A value type;
 * `{NULL, NULL}` means "no account". The object must outlive every copy.
 * @since 0.1.0
 */
typedef struct rs_account {
    const rs_account_ops *ops;
    void *self;
} rs_account;

/**
 * Calls `a->ops->clock`: the clock the account runs on, or NULL when it
 * keeps its own time, does not say, or @p a is NULL or empty.
 * @since 0.2.0
 */
RS_API const rs_clock *rs_account_clock(const rs_account *a);

/**
 * Calls `a->ops->reserve`. A NULL or empty account grants everything
 * (#RS_OK, and a ticket of 0 tokens).
 * @return as #rs_account_ops reserve; #RS_E_INVAL when @p ticket is NULL.
 * @since 0.1.0
 */
RS_API int rs_account_reserve(const rs_account *a, uint64_t estimate, uint64_t now_ns,
                              rs_account_ticket *ticket);

/** Calls `a->ops->commit`; NULL or empty accounts and tickets are ignored. @since 0.1.0 */
RS_API void rs_account_commit(const rs_account *a, const rs_account_ticket *ticket,
                              uint64_t actual);

/** Calls `a->ops->cancel`; NULL or empty accounts and tickets are ignored. @since 0.1.0 */
RS_API void rs_account_cancel(const rs_account *a, const rs_account_ticket *ticket);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_ACCOUNT_H */
