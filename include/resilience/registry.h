/**
 * @file registry.h
 * @brief A bounded, thread-safe map from byte-string keys (user id, API key,
 *        host name) to objects the caller creates: one budget, token bucket,
 *        sliding window or circuit breaker per key.
 *
 * - Lookup is O(1) on average: a hash table keyed with SipHash-1-3 under a
 *   secret key, so keys chosen by an attacker cannot be made to collide
 *   (see docs/registry.md on hash flooding).
 * - Memory is bounded: past `max_keys` resident keys the least recently used
 *   key is evicted.
 * - Values are opaque `void *`: the registry calls your `create` callback the
 *   first time it sees a key (with the key, so the callback can pick a
 *   per-key configuration: free or paid tier) and your `destroy` callback
 *   when an evicted or removed entry is no longer in use.
 * - rs_registry_get() returns a held reference; an entry is never destroyed
 *   while a reference to it is held, even if it is evicted meanwhile
 *   (reference counting). Release each reference once with
 *   rs_registry_release().
 *
 * See rs_budget_registry in budget.h for the budget-typed form.
 */
#ifndef RESILIENCE_REGISTRY_H
#define RESILIENCE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resilience/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque registry. @since 0.1.0 */
typedef struct rs_registry rs_registry;

/** Opaque reference to one key's entry, held between get and release. @since 0.1.0 */
typedef struct rs_registry_entry rs_registry_entry;

/**
 * Creates the value for a key seen for the first time (or again after its
 * eviction).
 *
 * @param ctx    the config's `ctx`.
 * @param key    the key's bytes (@p len of them; not NUL-terminated). Only
 *               valid during the call: copy what you keep.
 * @param value  receives the new value (NULL is a valid value).
 * @return #RS_OK, or any negative status, which rs_registry_get() returns
 *         (e.g. #RS_E_NOMEM, or #RS_E_INVAL to refuse the key).
 * @note Runs with no registry lock held: it may call into the registry. Two
 *       threads getting the same new key at once may both create a value;
 *       the registry keeps one and destroys the other before either get
 *       returns.
 * @since 0.1.0
 */
typedef int (*rs_registry_create_fn)(void *ctx, const void *key, size_t len, void **value);

/**
 * Destroys a value: called once per created value, when it is evicted or
 * removed and its last reference is released, or at rs_registry_free().
 * Runs with no registry lock held, on whichever thread dropped the last
 * reference.
 * @since 0.1.0
 */
typedef void (*rs_registry_destroy_fn)(void *ctx, void *value);

/**
 * Largest `max_keys`: 2^62 - 1. The resident count is a signed 64-bit word
 * that concurrent inserters may push past max_keys for a moment; on 32-bit
 * targets every size_t is below this.
 * @since 0.2.0
 */
#define RS_REGISTRY_MAX_KEYS UINT64_C(0x3FFFFFFFFFFFFFFF)

/** Registry configuration; start from #RS_REGISTRY_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_registry_config {
    size_t max_keys;                /**< resident keys at most, 1 to #RS_REGISTRY_MAX_KEYS
                                         (default 10,000) */
    rs_registry_create_fn create;   /**< required */
    rs_registry_destroy_fn destroy; /**< NULL = values need no destruction */
    void *ctx;                      /**< passed to both callbacks */
    /** lock stripes ("shards"), a power of two <= 256; 0 = automatic: one
     *  per 4,096 keys, rounded down to a power of two, from 1 to 64. With 1
     *  the eviction order is exactly least recently used; with more, each
     *  shard keeps its own order (see docs/registry.md). */
    uint32_t shards;
    uint64_t seed;                  /**< hash key; 0 = secret key from the OS */
} rs_registry_config;

/**
 * Defaults as a brace initializer, for static initializers and C++ (the
 * fields in declaration order): 10,000 keys, automatic shards, OS-seeded
 * hash; set `create`.
 * @since 0.2.0
 */
#define RS_REGISTRY_CONFIG_INIT                                                     \
    {                                                                              \
        10000u, /* max_keys */                                                     \
        0,      /* create: required */                                             \
        0,      /* destroy */                                                      \
        0,      /* ctx */                                                          \
        0u,     /* shards: automatic */                                            \
        0u      /* seed: from the OS */                                            \
    }

/** Defaults: a compound literal of #RS_REGISTRY_CONFIG_INIT. @since 0.1.0 */
#define RS_REGISTRY_CONFIG_DEFAULT ((rs_registry_config)RS_REGISTRY_CONFIG_INIT)

/**
 * Checks a registry configuration without creating anything.
 *
 * @return #RS_OK, or #RS_E_INVAL when @p cfg is NULL, max_keys is 0 or above
 *         #RS_REGISTRY_MAX_KEYS, create is NULL, or shards is not 0 or a
 *         power of two <= 256; rs_last_error() names the field
 *         (`"rs_registry_config.max_keys: 0, must be in [1, ...]"`).
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API int rs_registry_config_validate(const rs_registry_config *cfg);

/**
 * Creates an empty registry. Needs no clock: it only counts uses.
 *
 * @param cfg  validated as rs_registry_config_validate(); copied.
 * @param out  receives the registry; untouched on error.
 * @return #RS_OK; #RS_E_INVAL when @p out is NULL or rs_registry_config_validate()
 *         refuses @p cfg (nothing allocated; rs_last_error() names the field
 *         or argument); #RS_E_NOMEM.
 * @since 0.1.0
 */
RS_API int rs_registry_new(const rs_registry_config *cfg, rs_registry **out);

/**
 * Destroys every resident value and frees the registry. Every reference
 * from rs_registry_get() must have been released before. NULL is ignored.
 * @note Not concurrent with any other call on @p r.
 * @since 0.1.0
 */
RS_API void rs_registry_free(rs_registry *r);

/**
 * Finds the entry for a key, creating it with the `create` callback if the
 * key is not resident, and takes a reference to it. The entry becomes the
 * most recently used; creating one may evict the least recently used key.
 *
 * @param r      the registry.
 * @param key    @p len bytes; any bytes, NUL included. NULL only with len 0
 *               (the empty key).
 * @param len    key length in bytes, <= UINT32_MAX.
 * @param entry  receives the held entry; untouched on error.
 * @return #RS_OK; #RS_E_INVAL (NULL @p r or @p entry, NULL @p key with
 *         len > 0, len > UINT32_MAX, or `create` returned a positive value;
 *         rs_last_error() names which); #RS_E_NOMEM; or the negative status
 *         `create` returned. On error no entry was added.
 * @note Thread-safe. A hit costs a hash, one short critical section on the
 *       key's stripe and one atomic increment; no allocation.
 * @since 0.1.0
 */
RS_API int rs_registry_get(rs_registry *r, const void *key, size_t len,
                           rs_registry_entry **entry);

/**
 * The value `create` made for @p entry. Valid while the entry is held.
 * NULL entry gives NULL.
 * @since 0.1.0
 */
RS_API void *rs_registry_entry_value(const rs_registry_entry *entry);

/**
 * Drops a reference from rs_registry_get() (exactly once per get). If the
 * entry was evicted or removed meanwhile and this was its last reference,
 * the value is destroyed here. NULL @p r or @p entry is ignored.
 * @note Thread-safe and lock-free.
 * @since 0.1.0
 */
RS_API void rs_registry_release(rs_registry *r, rs_registry_entry *entry);

/**
 * Removes a key (for example a deleted user). Holders keep their reference;
 * the value is destroyed when the last one is released, and the next get of
 * the key creates a new value.
 *
 * @return true if the key was resident and is now removed; false otherwise
 *         (also for invalid arguments, as rs_registry_get()).
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API bool rs_registry_remove(rs_registry *r, const void *key, size_t len);

/**
 * Number of resident keys (exact when no insertion is in flight; never more
 * than max_keys then). NULL gives 0.
 * @since 0.1.0
 */
RS_API size_t rs_registry_count(rs_registry *r);

/**
 * Number of keys evicted to stay within max_keys since creation (removals
 * not included). NULL gives 0.
 * @since 0.1.0
 */
RS_API uint64_t rs_registry_evictions(rs_registry *r);

/**
 * What rs_registry_metrics() reports. The counters count since creation.
 * @since 0.2.0
 */
typedef struct rs_registry_snapshot {
    size_t keys;        /**< resident keys now, as rs_registry_count() */
    size_t max_keys;    /**< the bound */
    uint64_t hits;      /**< gets that found their key resident */
    uint64_t misses;    /**< gets that did not, and called `create` */
    uint64_t evictions; /**< keys evicted to stay within max_keys, as rs_registry_evictions() */
    uint64_t removals;  /**< keys removed by rs_registry_remove() */
} rs_registry_snapshot;

/**
 * Fills @p m with the registry's keys and counters. Each shard counts
 * under the lock its operations take anyway; this sums the shards without
 * locking: each counter is exact once the operations are done, the set is
 * not one atomic snapshot.
 *
 * @return #RS_OK, or #RS_E_INVAL when @p r or @p m is NULL (@p m untouched).
 * @note Thread-safe and lock-free.
 * @since 0.2.0
 */
RS_API int rs_registry_metrics(rs_registry *r, rs_registry_snapshot *m);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_REGISTRY_H */
