/* The generic per-key registry: hash table + LRU list per shard, reference
 * counted entries.
 *
 * Lifetime rule: a resident entry holds one reference on behalf of the
 * registry, and every get adds one for its caller. References are only ever
 * added under the shard lock while the entry is linked (so its count is >= 1
 * and it cannot be destroyed meanwhile); unlinking (eviction, removal) drops
 * the registry's reference after the lock is released, and whoever drops the
 * last reference destroys the entry. A holder therefore never sees its entry
 * freed, whatever other threads evict.
 *
 * The max_keys bound is one signed atomic count shared by the shards: an
 * insertion that takes it past max_keys claims one eviction (a decrement) and
 * then unlinks the least recently used entry of its own shard, or of the next
 * non-empty one. */
#include "resilience/registry.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "core/atomics.h"
#include "core/hash.h"
#include "core/lock.h"

#define MAX_SHARDS 256u
#define AUTO_MAX_SHARDS 64u
#define KEYS_PER_AUTO_SHARD 4096u
#define INITIAL_BUCKETS 16u

struct rs_registry_entry {
    rs_registry_entry *chain; /* next in the hash bucket */
    rs_registry_entry *newer; /* LRU list of the shard, toward the newest */
    rs_registry_entry *older;
    void *value;
    uint64_t hash;
    rs__atomic_u32 refs; /* the registry's (while linked) + one per holder */
    uint32_t len;
    unsigned char key[];
};

typedef struct shard {
    rs__mutex lock;
    rs_registry_entry **buckets; /* power-of-two count; NULL until the first key */
    size_t bucket_count;
    size_t count;
    rs_registry_entry *newest;
    rs_registry_entry *oldest;
    /* Written under the lock (rs__counter_bump()), read without it. */
    rs__atomic_u64 hits, misses, removals;
} shard;

struct rs_registry {
    rs_registry_config cfg;
    rs__hash_key hash_key;
    uint32_t shard_count;
    _Atomic int64_t resident; /* linked entries minus evictions claimed; may dip below 0 */
    rs__atomic_u64 evictions;
    shard shards[];
};

static uint32_t automatic_shards(size_t max_keys)
{
    uint32_t shards = 1;
    while (shards < AUTO_MAX_SHARDS && (size_t)shards * 2 * KEYS_PER_AUTO_SHARD <= max_keys) {
        shards *= 2;
    }
    return shards;
}

int rs_registry_config_validate(const rs_registry_config *cfg)
{
    if (cfg == NULL) {
        return rs_set_last_error(RS_E_INVAL, "cfg: NULL");
    }
    /* The resident count is a signed 64-bit word that concurrent inserters
     * may push past max_keys for a moment. Every size_t of a 32-bit target
     * is below the bound (and comparing would be always false there). */
    bool too_many = false;
#if SIZE_MAX > RS_REGISTRY_MAX_KEYS
    too_many = cfg->max_keys > RS_REGISTRY_MAX_KEYS;
#endif
    if (cfg->max_keys == 0 || too_many) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_registry_config.max_keys: %zu, must be in [1, %" PRIu64 "]",
                                 cfg->max_keys, (uint64_t)RS_REGISTRY_MAX_KEYS);
    }
    if (cfg->create == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_registry_config.create: NULL, required");
    }
    if (cfg->shards > MAX_SHARDS || (cfg->shards & (cfg->shards - 1)) != 0) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_registry_config.shards: %" PRIu32
                                 ", must be 0 or a power of two <= %u",
                                 cfg->shards, MAX_SHARDS);
    }
    return RS_OK;
}

int rs_registry_new(const rs_registry_config *cfg, rs_registry **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "out: NULL");
    }
    int status = rs_registry_config_validate(cfg);
    if (status != RS_OK) {
        return status;
    }
    uint32_t shard_count = cfg->shards != 0 ? cfg->shards : automatic_shards(cfg->max_keys);
    rs_registry *r = rs__calloc(1, sizeof *r + shard_count * sizeof(shard));
    if (r == NULL) {
        return RS_E_NOMEM;
    }
    for (uint32_t i = 0; i < shard_count; i++) {
        if (rs__mutex_init(&r->shards[i].lock) != 0) {
            while (i-- > 0) {
                rs__mutex_destroy(&r->shards[i].lock);
            }
            rs__free(r);
            return RS_E_NOMEM;
        }
    }
    r->cfg = *cfg;
    r->hash_key = rs__hash_key_from_seed(cfg->seed);
    r->shard_count = shard_count;
    atomic_init(&r->resident, 0);
    atomic_init(&r->evictions, 0);
    *out = r;
    return RS_OK;
}

static void destroy_value(const rs_registry *r, void *value)
{
    if (r->cfg.destroy != NULL) {
        r->cfg.destroy(r->cfg.ctx, value);
    }
}

static void drop_reference(const rs_registry *r, rs_registry_entry *e)
{
    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
        destroy_value(r, e->value);
        rs__free(e);
    }
}

void rs_registry_free(rs_registry *r)
{
    if (r == NULL) {
        return;
    }
    for (uint32_t i = 0; i < r->shard_count; i++) {
        shard *s = &r->shards[i];
        rs_registry_entry *e = s->oldest;
        while (e != NULL) {
            rs_registry_entry *next = e->newer;
            drop_reference(r, e);
            e = next;
        }
        rs__free(s->buckets);
        rs__mutex_destroy(&s->lock);
    }
    rs__free(r);
}

/* Shards take the hash's top byte, buckets its low bits: independent. */
static shard *shard_of(rs_registry *r, uint64_t hash)
{
    return &r->shards[(uint32_t)(hash >> 56) & (r->shard_count - 1)];
}

static rs_registry_entry **bucket_of(const shard *s, uint64_t hash)
{
    return &s->buckets[hash & (s->bucket_count - 1)];
}

static bool same_key(const rs_registry_entry *e, uint64_t hash, const void *key, size_t len)
{
    /* memcmp with a NULL pointer is undefined even for length 0. */
    return e->hash == hash && e->len == len && (len == 0 || memcmp(e->key, key, len) == 0);
}

static rs_registry_entry *find(const shard *s, uint64_t hash, const void *key, size_t len)
{
    if (s->buckets == NULL) {
        return NULL;
    }
    for (rs_registry_entry *e = *bucket_of(s, hash); e != NULL; e = e->chain) {
        if (same_key(e, hash, key, len)) {
            return e;
        }
    }
    return NULL;
}

static void lru_unlink(shard *s, rs_registry_entry *e)
{
    if (e->newer != NULL) {
        e->newer->older = e->older;
    } else {
        s->newest = e->older;
    }
    if (e->older != NULL) {
        e->older->newer = e->newer;
    } else {
        s->oldest = e->newer;
    }
}

static void lru_push_newest(shard *s, rs_registry_entry *e)
{
    e->newer = NULL;
    e->older = s->newest;
    if (s->newest != NULL) {
        s->newest->newer = e;
    } else {
        s->oldest = e;
    }
    s->newest = e;
}

/* Under the shard lock: the caller's reference, and the entry becomes the
 * shard's most recently used. */
static void hold_and_touch(shard *s, rs_registry_entry *e)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    if (s->newest != e) {
        lru_unlink(s, e);
        lru_push_newest(s, e);
    }
}

/* Doubles the bucket array. Failing to is harmless: chains just get longer. */
static void grow(shard *s)
{
    size_t count = s->bucket_count * 2;
    rs_registry_entry **buckets = rs__calloc(count, sizeof *buckets);
    if (buckets == NULL) {
        return;
    }
    for (size_t i = 0; i < s->bucket_count; i++) {
        rs_registry_entry *e = s->buckets[i];
        while (e != NULL) {
            rs_registry_entry *next = e->chain;
            rs_registry_entry **head = &buckets[e->hash & (count - 1)];
            e->chain = *head;
            *head = e;
            e = next;
        }
    }
    rs__free(s->buckets);
    s->buckets = buckets;
    s->bucket_count = count;
}

/* Under the shard lock. False only when the shard's first bucket array
 * cannot be allocated. */
static bool link_entry(rs_registry *r, shard *s, rs_registry_entry *e)
{
    if (s->buckets == NULL) {
        s->buckets = rs__calloc(INITIAL_BUCKETS, sizeof *s->buckets);
        if (s->buckets == NULL) {
            return false;
        }
        s->bucket_count = INITIAL_BUCKETS;
    } else if (s->count >= s->bucket_count) {
        grow(s);
    }
    rs_registry_entry **head = bucket_of(s, e->hash);
    e->chain = *head;
    *head = e;
    lru_push_newest(s, e);
    s->count++;
    /* Counted before the lock is released, so no one can unlink (and
     * uncount) it first. */
    atomic_fetch_add_explicit(&r->resident, 1, memory_order_relaxed);
    return true;
}

/* Under the shard lock. */
static void unlink_entry(shard *s, rs_registry_entry *e)
{
    rs_registry_entry **p = bucket_of(s, e->hash);
    while (*p != e) {
        p = &(*p)->chain;
    }
    *p = e->chain;
    lru_unlink(s, e);
    s->count--;
}

/* Unlinks the least recently used entry of the first non-empty shard from
 * `home` on, other than `keep`; NULL if there is none. */
static rs_registry_entry *take_victim(rs_registry *r, const shard *home,
                                      const rs_registry_entry *keep)
{
    uint32_t start = (uint32_t)(home - r->shards);
    for (uint32_t i = 0; i < r->shard_count; i++) {
        shard *s = &r->shards[(start + i) & (r->shard_count - 1)];
        rs__mutex_lock(&s->lock);
        rs_registry_entry *victim = s->oldest;
        if (victim == keep) {
            victim = victim->newer;
        }
        if (victim != NULL) {
            unlink_entry(s, victim);
        }
        rs__mutex_unlock(&s->lock);
        if (victim != NULL) {
            return victim;
        }
    }
    return NULL;
}

/* Evicts until the resident count is back within max_keys. Each eviction is
 * claimed first (a decrement from above max_keys), so concurrent inserters
 * never evict more keys than there are in excess. */
static void evict_excess(rs_registry *r, const shard *home, const rs_registry_entry *fresh)
{
    const int64_t max = (int64_t)r->cfg.max_keys;
    int64_t n = atomic_load_explicit(&r->resident, memory_order_relaxed);
    while (n > max) {
        if (!atomic_compare_exchange_weak_explicit(&r->resident, &n, n - 1, memory_order_relaxed,
                                                   memory_order_relaxed)) {
            continue;
        }
        rs_registry_entry *victim = take_victim(r, home, fresh);
        if (victim == NULL) {
            atomic_fetch_add_explicit(&r->resident, 1, memory_order_relaxed);
            return;
        }
        rs__counter_add(&r->evictions, 1);
        drop_reference(r, victim);
        n = atomic_load_explicit(&r->resident, memory_order_relaxed);
    }
}

static int insert(rs_registry *r, shard *s, uint64_t hash, const void *key, size_t len,
                  rs_registry_entry **out)
{
    /* The value is made with no lock held: create may be slow or call back
     * into the registry. */
    void *value = NULL;
    int rc = r->cfg.create(r->cfg.ctx, key, len, &value);
    if (rc > 0) {
        return rs_set_last_error(RS_E_INVAL, "rs_registry_config.create: returned %d, not a status",
                                 rc);
    }
    if (rc != RS_OK) {
        return rc;
    }
    rs_registry_entry *fresh = rs__malloc(sizeof *fresh + len);
    if (fresh == NULL) {
        destroy_value(r, value);
        return RS_E_NOMEM;
    }
    fresh->value = value;
    fresh->hash = hash;
    fresh->len = (uint32_t)len;
    atomic_init(&fresh->refs, 2); /* the registry's and the caller's */
    if (len != 0) {
        memcpy(fresh->key, key, len);
    }

    rs__mutex_lock(&s->lock);
    rs_registry_entry *e = find(s, hash, key, len);
    if (e != NULL) { /* another thread created it meanwhile: use theirs */
        hold_and_touch(s, e);
        rs__mutex_unlock(&s->lock);
        destroy_value(r, value);
        rs__free(fresh);
        *out = e;
        return RS_OK;
    }
    bool linked = link_entry(r, s, fresh);
    rs__mutex_unlock(&s->lock);
    if (!linked) {
        destroy_value(r, value);
        rs__free(fresh);
        return RS_E_NOMEM;
    }
    evict_excess(r, s, fresh);
    *out = fresh;
    return RS_OK;
}

static bool valid_key(const void *key, size_t len)
{
    return (key != NULL || len == 0) && len <= UINT32_MAX;
}

/* rs_registry_get's RS_E_INVAL, naming the argument. */
static int refuse_get(const rs_registry *r, const void *key, size_t len, bool has_entry)
{
    if (r == NULL) {
        return rs_set_last_error(RS_E_INVAL, "r: NULL");
    }
    if (!has_entry) {
        return rs_set_last_error(RS_E_INVAL, "entry: NULL");
    }
    if (key == NULL && len != 0) {
        return rs_set_last_error(RS_E_INVAL, "key: NULL with len %zu", len);
    }
    return rs_set_last_error(RS_E_INVAL, "len: %zu, must be <= %" PRIu32, len, UINT32_MAX);
}

/* Locks the key's shard and looks the key up there; the caller unlocks. */
static rs_registry_entry *lock_and_find(rs_registry *r, const void *key, size_t len,
                                        uint64_t *hash, shard **s)
{
    *hash = rs__siphash13(&r->hash_key, key, len);
    *s = shard_of(r, *hash);
    rs__mutex_lock(&(*s)->lock);
    return find(*s, *hash, key, len);
}

int rs_registry_get(rs_registry *r, const void *key, size_t len, rs_registry_entry **entry)
{
    if (r == NULL || entry == NULL || !valid_key(key, len)) {
        return refuse_get(r, key, len, entry != NULL);
    }
    uint64_t hash;
    shard *s;
    rs_registry_entry *e = lock_and_find(r, key, len, &hash, &s);
    if (e != NULL) {
        hold_and_touch(s, e);
        rs__counter_bump(&s->hits, 1);
        rs__mutex_unlock(&s->lock);
        *entry = e;
        return RS_OK;
    }
    rs__counter_bump(&s->misses, 1);
    rs__mutex_unlock(&s->lock);
    return insert(r, s, hash, key, len, entry);
}

void *rs_registry_entry_value(const rs_registry_entry *entry)
{
    return entry != NULL ? entry->value : NULL;
}

void rs_registry_release(rs_registry *r, rs_registry_entry *entry)
{
    if (r != NULL && entry != NULL) {
        drop_reference(r, entry);
    }
}

bool rs_registry_remove(rs_registry *r, const void *key, size_t len)
{
    if (r == NULL || !valid_key(key, len)) {
        return false;
    }
    uint64_t hash;
    shard *s;
    rs_registry_entry *e = lock_and_find(r, key, len, &hash, &s);
    if (e != NULL) {
        unlink_entry(s, e);
        atomic_fetch_sub_explicit(&r->resident, 1, memory_order_relaxed);
        rs__counter_bump(&s->removals, 1);
    }
    rs__mutex_unlock(&s->lock);
    if (e == NULL) {
        return false;
    }
    drop_reference(r, e);
    return true;
}

size_t rs_registry_count(rs_registry *r)
{
    if (r == NULL) {
        return 0;
    }
    int64_t n = atomic_load_explicit(&r->resident, memory_order_relaxed);
    return n > 0 ? (size_t)n : 0;
}

uint64_t rs_registry_evictions(rs_registry *r)
{
    return r != NULL ? rs__counter_get(&r->evictions) : 0;
}

int rs_registry_metrics(rs_registry *r, rs_registry_snapshot *m)
{
    if (r == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    rs_registry_snapshot snap = { rs_registry_count(r), r->cfg.max_keys, 0, 0,
                                  rs_registry_evictions(r), 0 };
    for (uint32_t i = 0; i < r->shard_count; i++) {
        const shard *s = &r->shards[i];
        snap.hits += rs__counter_get(&s->hits);
        snap.misses += rs__counter_get(&s->misses);
        snap.removals += rs__counter_get(&s->removals);
    }
    *m = snap;
    return RS_OK;
}
