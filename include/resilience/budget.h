/**
 * @file budget.h
 * @brief Token budgets for LLM (and other metered) APIs: a cap per request
 *        and per rolling window, per user, organisation or tier.
 *
 * One request to an LLM API may use 100 tokens or 100,000, so counting
 * requests does not protect a bill. A budget counts tokens:
 *
 *  1. rs_budget_reserve() takes an *estimate* out of the budget before the
 *     call, or refuses with #RS_E_BUDGET (the estimate is over
 *     `max_per_request`, or more than what is left in the window; then
 *     nothing is taken);
 *  2. after the call rs_budget_commit() replaces the estimate by what the
 *     response really used: the difference is refunded, or the excess
 *     charged even past the limit (it was spent); rs_budget_cancel() refunds
 *     everything (the call never happened).
 *
 * **Rolling window with bounded memory.** The window is a ring of
 * `sub_buckets` counters (default 60) of `width = ceil(window_ns /
 * sub_buckets)` nanoseconds each, plus one for the sub-bucket in progress:
 * memory is fixed at creation and never grows with traffic. The tokens of a
 * request are attributed to the sub-bucket of the instant it was reserved
 * and come back to the budget when that sub-bucket leaves the window.
 *
 * **Accuracy.** Tokens reserved at time t count until a moment in
 * `(t + window_ns, t + window_ns + width]` (when sub_buckets divides
 * window_ns, as with 1 h / 60 = 1 min; otherwise up to `sub_buckets - 1` ns
 * later still). So the budget is never more generous than an exact rolling
 * window — over *any* interval of length window_ns the reserved and not
 * refunded tokens never exceed max_per_window — and at most one sub-bucket
 * stricter: a token returns at most one sub-bucket later than it would in
 * an exact window.
 *
 * Every call that reads the clock has an explicit-time twin with the suffix
 * `_at` and a trailing `now_ns`, for simulations and for callers that
 * already hold a timestamp. A time before the newest sub-bucket the budget
 * has seen counts as the start of that sub-bucket: the window never moves
 * back, so callers whose timestamps arrive slightly out of order are safe.
 *
 * See docs/token-budget.md.
 */
#ifndef RESILIENCE_BUDGET_H
#define RESILIENCE_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resilience/account.h"
#include "resilience/clock.h"
#include "resilience/common.h"
#include "resilience/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most sub-buckets a budget may have. @since 0.1.0 */
#define RS_BUDGET_MAX_SUB_BUCKETS 65536u

/** Budget configuration; start from #RS_BUDGET_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_budget_config {
    uint64_t max_per_window;  /**< tokens per rolling window, >= 1 */
    uint64_t window_ns;       /**< the window, >= 1 ns */
    uint64_t max_per_request; /**< largest single reservation, >= 1 (may exceed max_per_window,
                                   but a reservation never does) */
    /** ring size, the window's resolution: 0 = the default 60; at most
     *  #RS_BUDGET_MAX_SUB_BUCKETS. Windows shorter than this many ns use one
     *  sub-bucket per ns. Memory: 4 bytes per sub-bucket (8 when
     *  max_per_window >= 2^31) plus the sub-bucket in progress. */
    uint32_t sub_buckets;
} rs_budget_config;

/**
 * Defaults as a brace initializer, for static initializers and C++ (the
 * fields in declaration order): the free tier of docs/token-budget.md —
 * 50,000 tokens per hour, 4,000 per request, 60 one-minute sub-buckets.
 * @since 0.2.0
 */
#define RS_BUDGET_CONFIG_INIT                                                        \
    {                                                                               \
        50000u,          /* max_per_window */                                       \
        3600000000000u,  /* window_ns: 1 h */                                       \
        4000u,           /* max_per_request */                                      \
        60u              /* sub_buckets */                                          \
    }

/** Defaults: a compound literal of #RS_BUDGET_CONFIG_INIT. @since 0.1.0 */
#define RS_BUDGET_CONFIG_DEFAULT ((rs_budget_config)RS_BUDGET_CONFIG_INIT)

/**
 * A reservation, to commit or cancel exactly once.
 * @since 0.1.0
 */
typedef struct rs_budget_ticket {
    uint64_t reserved; /**< tokens taken by the reservation */
    uint64_t at_ns;    /**< when they were charged: tells which sub-bucket holds them */
} rs_budget_ticket;

/** Opaque token budget. */
typedef struct rs_budget rs_budget;

/**
 * Checks a budget configuration without creating anything.
 * @return #RS_OK, or #RS_E_INVAL when @p cfg is NULL, max_per_window,
 *         window_ns or max_per_request is 0, or sub_buckets is above
 *         #RS_BUDGET_MAX_SUB_BUCKETS; rs_last_error() names the field
 *         (`"rs_budget_config.window_ns: 0, must be >= 1"`).
 * @since 0.1.0
 */
RS_API int rs_budget_config_validate(const rs_budget_config *cfg);

/**
 * Creates a budget with a full window.
 *
 * @param cfg    validated as rs_budget_config_validate(); copied.
 * @param clock  the time source; NULL = rs_clock_system(). Must outlive the
 *               budget.
 * @param out    receives the budget; untouched on error.
 * @return #RS_OK, #RS_E_INVAL (bad @p cfg or NULL @p out; rs_last_error()
 *         names which), #RS_E_NOMEM.
 * @since 0.1.0
 */
RS_API int rs_budget_new(const rs_budget_config *cfg, const rs_clock *clock, rs_budget **out);

/** Frees @p b; NULL is ignored. Outstanding tickets just become void. @since 0.1.0 */
RS_API void rs_budget_free(rs_budget *b);

/**
 * Reserves @p estimate tokens before a call.
 *
 * @param b         the budget.
 * @param estimate  tokens the call is expected to use (0 always succeeds).
 * @param t         receives the ticket; untouched unless #RS_OK.
 * @return #RS_OK (the tokens are taken); #RS_E_BUDGET when @p estimate is
 *         above max_per_request or above what is left in the window
 *         (nothing is taken: ask rs_budget_wait_ns() when to come back);
 *         #RS_E_INVAL when @p b or @p t is NULL.
 * @note Thread-safe: concurrent reservations never take more than the
 *       window holds. No allocation; one clock read and one short critical
 *       section.
 * @since 0.1.0
 */
RS_API int rs_budget_reserve(rs_budget *b, uint64_t estimate, rs_budget_ticket *t);

/** rs_budget_reserve() at @p now_ns instead of the clock's time. @since 0.1.0 */
RS_API int rs_budget_reserve_at(rs_budget *b, uint64_t estimate, rs_budget_ticket *t,
                                uint64_t now_ns);

/**
 * Settles a reservation with what the call really used: refunds
 * `reserved - actual`, or charges `actual - reserved` even past the limit.
 * The adjustment goes to the sub-bucket the ticket charged; if that has
 * already left the window (the call outlived the window) nothing changes.
 *
 * Call it once per ticket (a second commit or cancel adjusts again; refunds
 * are capped so the counts never go negative). A sub-bucket charged past its
 * counter's range (2^32 - 1, or 2^64 - 1 when max_per_window >= 2^31)
 * saturates and keeps that count, refunds included, until it leaves the
 * window: the budget never admits past max_per_window, however large the
 * charges (since 0.2.0; 0.1 could forget such a sub-bucket, or refund it
 * below what it held, and admit again). NULL @p b or @p t is ignored.
 * @note Thread-safe; does not read the clock.
 * @since 0.1.0
 */
RS_API void rs_budget_commit(rs_budget *b, const rs_budget_ticket *t, uint64_t actual);

/**
 * Refunds a whole reservation (the call was never made): the same as
 * rs_budget_commit() with actual 0.
 * @since 0.1.0
 */
RS_API void rs_budget_cancel(rs_budget *b, const rs_budget_ticket *t);

/**
 * @p b behind the rs_account interface (account.h), for rs_policy and other
 * code that charges any kind of budget. Reserve uses the @p now_ns it is
 * given (rs_budget_reserve_at); the ticket's first two fields are an
 * rs_budget_ticket. @p b must outlive the returned value; NULL gives an
 * empty account.
 * @note Thread-safe, like the budget.
 * @since 0.1.0
 */
RS_API rs_account rs_budget_account(rs_budget *b);

/**
 * Tokens left in the current window: max_per_window minus what the window
 * holds, 0 when it holds more (after charged excess). NULL gives 0.
 * @note Thread-safe; a snapshot that other threads may change at once.
 * @since 0.1.0
 */
RS_API uint64_t rs_budget_remaining(rs_budget *b);

/** rs_budget_remaining() at @p now_ns. @since 0.1.0 */
RS_API uint64_t rs_budget_remaining_at(rs_budget *b, uint64_t now_ns);

/**
 * How long until a reservation of @p n tokens would succeed, if nothing
 * else is reserved meanwhile: the time until enough of the oldest
 * sub-buckets leave the window. This is what to tell a refused user
 * ("retry in 12 minutes").
 *
 * @return 0 if @p n fits now; #UINT64_MAX if it never will (@p n is above
 *         max_per_request or max_per_window) or @p b is NULL; otherwise ns.
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API uint64_t rs_budget_wait_ns(rs_budget *b, uint64_t n);

/** rs_budget_wait_ns() at @p now_ns. @since 0.1.0 */
RS_API uint64_t rs_budget_wait_ns_at(rs_budget *b, uint64_t n, uint64_t now_ns);

/**
 * What rs_budget_metrics() reports: one consistent snapshot. The counters
 * count since the budget was created.
 * @since 0.2.0
 */
typedef struct rs_budget_snapshot {
    uint64_t max_per_window;  /**< tokens per rolling window */
    uint64_t max_per_request; /**< largest single reservation */
    /** tokens the window holds now: reserved and not refunded, charged
        excess included, so it may exceed max_per_window (UINT64_MAX when it
        holds more than 64 bits count) */
    uint64_t used;
    uint64_t remaining;       /**< as rs_budget_remaining() */
    uint64_t granted;         /**< reservations granted */
    uint64_t refused;         /**< reservations refused with #RS_E_BUDGET */
    uint64_t granted_tokens;  /**< tokens the granted reservations took (their estimates) */
    /** tokens the calls really used, as rs_budget_commit() reported them (a
        cancel reports 0), saturating at UINT64_MAX */
    uint64_t spent_tokens;
} rs_budget_snapshot;

/**
 * Fills @p m with the budget's limits, its window now and its counters,
 * as one consistent snapshot (reads the clock once; one critical
 * section). The counters cost reserve and commit a store or two inside the
 * critical section they take anyway.
 *
 * @return #RS_OK, or #RS_E_INVAL when @p b or @p m is NULL (@p m untouched).
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API int rs_budget_metrics(rs_budget *b, rs_budget_snapshot *m);

/** rs_budget_metrics() at @p now_ns. @since 0.2.0 */
RS_API int rs_budget_metrics_at(rs_budget *b, rs_budget_snapshot *m, uint64_t now_ns);

/* ---- per-key budgets ------------------------------------------------------ */

/** Opaque registry of budgets keyed by bytes (user id, API key, ...). */
typedef struct rs_budget_registry rs_budget_registry;

/**
 * Chooses the configuration of a key's budget, e.g. the free or the paid
 * tier: called once each time a budget is created for a key (first use, or
 * first use after eviction), with no registry lock held.
 *
 * @return the configuration to use (read during the call only), or NULL for
 *         the registry's default one. An invalid configuration makes that
 *         rs_budget_registry_get() fail.
 * @since 0.1.0
 */
typedef const rs_budget_config *(*rs_budget_config_fn)(void *ctx, const void *key, size_t len);

/** Registry configuration for rs_budget_registry_new_ex(). @since 0.1.0 */
typedef struct rs_budget_registry_config {
    rs_budget_config budget;            /**< default configuration of every key's budget */
    size_t max_keys;                    /**< resident keys at most, 1 to
                                             #RS_REGISTRY_MAX_KEYS; LRU eviction */
    rs_budget_config_fn config_for_key; /**< per-key configuration; NULL = `budget` for all */
    void *ctx;                          /**< passed to config_for_key */
    uint64_t seed;                      /**< hash key; 0 = secret key from the OS */
} rs_budget_registry_config;

/**
 * Defaults as a brace initializer, for static initializers and C++ (the
 * fields in declaration order): #RS_BUDGET_CONFIG_INIT for every key,
 * 10,000 keys, no per-key hook, an OS-seeded hash.
 * @since 0.2.0
 */
#define RS_BUDGET_REGISTRY_CONFIG_INIT                                                \
    {                                                                                \
        RS_BUDGET_CONFIG_INIT, /* budget */                                          \
        10000u,                /* max_keys */                                        \
        0,                     /* config_for_key */                                  \
        0,                     /* ctx */                                             \
        0u                     /* seed: from the OS */                               \
    }

/** Defaults: a compound literal of #RS_BUDGET_REGISTRY_CONFIG_INIT. @since 0.1.0 */
#define RS_BUDGET_REGISTRY_CONFIG_DEFAULT                                             \
    ((rs_budget_registry_config)RS_BUDGET_REGISTRY_CONFIG_INIT)

/**
 * Creates a registry giving every key a budget with configuration @p cfg,
 * keeping at most @p max_keys of them (least recently used keys are evicted;
 * an evicted key's next budget starts full).
 *
 * @param clock  shared by every budget; NULL = rs_clock_system().
 * @param out    untouched on error.
 * @return #RS_OK; #RS_E_INVAL (NULL @p cfg or @p out, @p cfg refused by
 *         rs_budget_config_validate(), @p max_keys 0 or above
 *         #RS_REGISTRY_MAX_KEYS; nothing allocated, rs_last_error() names
 *         which); #RS_E_NOMEM.
 * @since 0.1.0
 */
RS_API int rs_budget_registry_new(const rs_budget_config *cfg, size_t max_keys,
                                  const rs_clock *clock, rs_budget_registry **out);

/**
 * Creates a registry with a per-key configuration hook (tiers).
 * @return as rs_budget_registry_new(); rs_last_error() names the field as
 *         `"rs_budget_registry_config.budget.window_ns: ..."` or
 *         `"rs_budget_registry_config.max_keys: ..."`.
 * @since 0.1.0
 */
RS_API int rs_budget_registry_new_ex(const rs_budget_registry_config *cfg,
                                     const rs_clock *clock, rs_budget_registry **out);

/**
 * Frees the registry and its budgets. Every budget from
 * rs_budget_registry_get() must have been released. NULL is ignored.
 * @since 0.1.0
 */
RS_API void rs_budget_registry_free(rs_budget_registry *r);

/**
 * The budget of a key, created on first use, as a held reference: the same
 * budget while the key stays resident, and valid until released even if the
 * key is evicted meanwhile.
 *
 * @param key  @p len arbitrary bytes (NULL only with len 0), at most
 *             UINT32_MAX of them.
 * @return the budget, or NULL on error: NULL @p r, NULL @p key with len > 0,
 *         len > UINT32_MAX, out of memory, or config_for_key returned an
 *         invalid configuration. The signature has no status, so
 *         rs_last_error() says which (`"key: NULL with len 3"`, `"out of
 *         memory for the budget of a new key"`, `"config_for_key returned an
 *         invalid configuration: rs_budget_config.window_ns: 0, must be >=
 *         1"`); a hit touches no thread-local storage.
 * @note Thread-safe; a hit costs a hash and one short critical section.
 * @since 0.1.0
 */
RS_API rs_budget *rs_budget_registry_get(rs_budget_registry *r, const void *key, size_t len);

/**
 * Releases a budget from rs_budget_registry_get(), once per get. NULL is
 * ignored, and so is a budget that did not come from a registry.
 * @note Thread-safe and lock-free.
 * @since 0.1.0
 */
RS_API void rs_budget_registry_release(rs_budget_registry *r, rs_budget *b);

/**
 * Forgets a key's budget, for example when the user changes tier: the next
 * rs_budget_registry_get() creates a new, full budget (asking
 * config_for_key again). Holders of the old budget keep it until they
 * release it.
 *
 * @return true if the key had a budget; false otherwise or on invalid
 *         arguments (NULL @p r, NULL @p key with len > 0).
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API bool rs_budget_registry_remove(rs_budget_registry *r, const void *key, size_t len);

/**
 * The registry's keys and counters (rs_registry_metrics() of the registry
 * that holds the budgets): resident keys, hits, misses, evictions,
 * removals. Each budget reports its own with rs_budget_metrics().
 * @return #RS_OK, or #RS_E_INVAL when @p r or @p m is NULL.
 * @note Thread-safe and lock-free.
 * @since 0.2.0
 */
RS_API int rs_budget_registry_metrics(rs_budget_registry *r, rs_registry_snapshot *m);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_BUDGET_H */
