/* What every distributed object shares: its key and clock, what it does
 * when Redis fails (the failure policies) and the small in-process GCRA
 * behind RS_REDIS_FAIL_LOCAL: one atomic TAT word over core/gcra.h's
 * arithmetic, used only while Redis is failing. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "internal.h"

int rs__redis_failure_validate(const char *config, rs_redis_failure mode, double share)
{
    switch (mode) {
    case RS_REDIS_FAIL_CLOSED:
    case RS_REDIS_FAIL_OPEN:
        return RS_OK;
    case RS_REDIS_FAIL_LOCAL:
        if (rs__is_finite_positive(share) && share <= 1.0) {
            return RS_OK;
        }
        return rs_set_last_error(RS_E_INVAL, "%s.local_share: %g is not in (0, 1] (needed by "
                                             "RS_REDIS_FAIL_LOCAL)", config, share);
    }
    return rs_set_last_error(RS_E_INVAL, "%s.on_failure: %d is not an rs_redis_failure", config,
                             (int)mode);
}

int rs__redis_check_args(const char *function, const void *cfg, const void *out)
{
    if (cfg != NULL && out != NULL) {
        return RS_OK;
    }
    return rs_set_last_error(RS_E_INVAL, "%s: %s is NULL", function, cfg == NULL ? "cfg" : "out");
}

int rs__redis_object_new(size_t size, const char *config, rs_redis *redis, const char *name,
                         const char *suffix, rs_redis_failure mode, double share,
                         const rs_clock *clock, void **out)
{
    if (redis == NULL) {
        return rs_set_last_error(RS_E_INVAL, "%s.redis: NULL, the pool is required", config);
    }
    if (name == NULL || name[0] == '\0') {
        return rs_set_last_error(RS_E_INVAL, "%s.name: %s, a name is required", config,
                                 name == NULL ? "NULL" : "empty");
    }
    int rc = rs__redis_failure_validate(config, mode, share);
    if (rc == RS_OK) {
        rc = rs__redis_check_name(redis, config, name);
    }
    if (rc != RS_OK) {
        return rc;
    }
    /* Aligned: the decision counters are shards of a cache line each. */
    rs__redis_object *object = rs__malloc_aligned(size, _Alignof(rs__redis_object));
    if (object == NULL) {
        return RS_E_NOMEM;
    }
    memset(object, 0, size);
    object->key = rs__redis_key(redis, name, suffix, &object->key_len);
    if (object->key == NULL) {
        rs__free_aligned(object);
        return RS_E_NOMEM;
    }
    object->redis = redis;
    object->clock = clock != NULL ? clock : rs_clock_system();
    object->on_failure = mode;
    object->local_share = mode == RS_REDIS_FAIL_LOCAL ? share : 1.0;
    object->size = size;
    *out = object;
    return RS_OK;
}

void rs__redis_object_free(void *object)
{
    if (object != NULL) {
        rs__redis_object *o = object;
        rs__forget_writes_within(o, o->size);
        rs__free(o->key);
        rs__free_aligned(o);
    }
}

const rs_clock *rs__redis_object_clock(void *object)
{
    const rs__redis_object *o = object;
    return o->on_failure == RS_REDIS_FAIL_LOCAL ? o->clock : NULL;
}

int rs__redis_count(rs__redis_object *o, int rc, rs__redis_by by)
{
    bool refused = rc == RS_E_LIMITED || rc == RS_E_BUDGET || rc == RS_E_OPEN;
    if (rc != RS_OK && rc != RS_E_IO && !refused) {
        return rc;
    }
    unsigned slot = rs__tally_slot();
    rs__redis_counts *mine = &o->counts[slot];
    rs__tally_add(rc == RS_OK ? &mine->granted : refused ? &mine->refused : &mine->failed, 1,
                  slot);
    if (by == RS__BY_FALLBACK) {
        rs__tally_add(&mine->fallback, 1, slot);
    } else if (by == RS__BY_LEASE) {
        rs__tally_add(&mine->leased, 1, slot);
    }
    return rc;
}

int rs__redis_object_metrics(const void *object, rs_redis_object_snapshot *m)
{
    if (object == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    const rs__redis_object *o = object;
    rs_redis_object_snapshot snap;
    RS__TALLY_SUM(snap.granted, o->counts, granted);
    RS__TALLY_SUM(snap.refused, o->counts, refused);
    RS__TALLY_SUM(snap.failed, o->counts, failed);
    RS__TALLY_SUM(snap.fallback, o->counts, fallback);
    RS__TALLY_SUM(snap.leased, o->counts, leased);
    *m = snap;
    return RS_OK;
}

int rs__redis_failed(rs_redis *r, rs_redis_failure mode, uint64_t *wait_ns)
{
    if (mode == RS_REDIS_FAIL_OPEN) {
        *wait_ns = 0;
        return RS_OK;
    }
    /* Not backing off (a server error, not an outage): when it will work
     * again is unknown, which is never 0. */
    uint64_t retry_in = rs__redis_retry_in_ns(r);
    *wait_ns = retry_in != 0 ? retry_in : UINT64_MAX;
    return RS_E_IO;
}

uint64_t rs__redis_us_to_ns(int64_t us)
{
    return us <= 0 ? 0 : rs__sat_mul((uint64_t)us, 1000);
}

void rs__redis_local_init(rs__redis_local *l, double rate, uint64_t burst, double share)
{
    /* The local share errs towards the rate: the burst rounds up, and a rate
     * beyond the finest the GCRA supports is capped there. */
    double local_rate = rate * share;
    uint64_t local_burst = rs__max_u64(rs__sat_from_double(ceil((double)burst * share)), 1);
    if (!(local_rate <= 1e9)) {
        local_rate = 1e9;
    }
    while (rs__gcra_init(&l->config, local_rate, local_burst) != RS_OK && local_burst > 1) {
        local_burst /= 2; /* burst x interval past 64-bit time: only absurd configs */
    }
    atomic_init(&l->tat_ns, 0);
}

int rs__redis_local_reserve(rs__redis_local *l, uint64_t n, uint64_t max_wait_ns,
                            uint64_t now_ns, uint64_t *wait_ns)
{
    rs__gcra_verdict v = rs__gcra_take_fixed(&l->tat_ns, &l->config, n, max_wait_ns, now_ns);
    *wait_ns = v.wait_ns;
    return v.taken ? RS_OK : RS_E_LIMITED;
}

uint64_t rs__redis_local_wait_ns(rs__redis_local *l, uint64_t n, uint64_t now_ns)
{
    return rs__gcra_wait_fixed(&l->tat_ns, &l->config, n, now_ns);
}

void rs__redis_local_charge(rs__redis_local *l, uint64_t n, uint64_t now_ns)
{
    uint64_t cost = rs__sat_mul(n, l->config.interval_ns);
    uint64_t tat = atomic_load_explicit(&l->tat_ns, memory_order_acquire);
    uint64_t next;
    do {
        next = rs__sat_add(rs__max_u64(tat, now_ns), cost);
    } while (!atomic_compare_exchange_weak_explicit(&l->tat_ns, &tat, next, memory_order_acq_rel,
                                                    memory_order_acquire));
    rs__note_write(&l->tat_ns, next, now_ns);
}

void rs__redis_local_refund(rs__redis_local *l, uint64_t n, uint64_t reserved, uint64_t at_ns,
                            uint64_t now_ns)
{
    /* The reservation moved TAT to at least at_ns + reserved intervals, and
     * its tokens are the last to refill of what was owed then: whatever of
     * that has refilled by now is back in the bucket already, and giving it
     * back again would grant it twice (a late cancel after a whole window). */
    uint64_t interval = l->config.interval_ns;
    uint64_t unrefilled = rs__sat_sub(rs__sat_add(at_ns, rs__sat_mul(reserved, interval)), now_ns);
    uint64_t cost = rs__min_u64(rs__sat_mul(n, interval), unrefilled);
    if (cost == 0) {
        return;
    }
    uint64_t tat = atomic_load_explicit(&l->tat_ns, memory_order_acquire);
    while (!atomic_compare_exchange_weak_explicit(&l->tat_ns, &tat, rs__sat_sub(tat, cost),
                                                  memory_order_acq_rel, memory_order_acquire)) {
    }
    rs__note_rewrite(&l->tat_ns, rs__sat_sub(tat, cost));
}
