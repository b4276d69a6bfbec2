/* What every distributed object shares: its key and clock, what it does
 * when Redis fails (the failure policies) and the small in-process GCRA
 * behind RS_REDIS_FAIL_LOCAL.
 *
 * The GCRA is one atomic word (the theoretical arrival time, TAT) updated
 * by compare-exchange; it only runs while Redis is failing, so it favours
 * being small over being configurable. */
#include <math.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "redis_internal.h"

int rs__redis_failure_validate(rs_redis_failure mode, double share)
{
    switch (mode) {
    case RS_REDIS_FAIL_CLOSED:
    case RS_REDIS_FAIL_OPEN:
        return RS_OK;
    case RS_REDIS_FAIL_LOCAL:
        return rs__is_finite_positive(share) && share <= 1.0 ? RS_OK : RS_E_INVAL;
    }
    return RS_E_INVAL;
}

int rs__redis_object_new(size_t size, rs_redis *redis, const char *name, const char *suffix,
                         rs_redis_failure mode, double share, const rs_clock *clock,
                         void **out)
{
    if (redis == NULL || name == NULL || name[0] == '\0' ||
        rs__redis_failure_validate(mode, share) != RS_OK) {
        return RS_E_INVAL;
    }
    rs__redis_object *object = rs__calloc(1, size);
    if (object == NULL) {
        return RS_E_NOMEM;
    }
    object->key = rs__redis_key(redis, name, suffix, &object->key_len);
    if (object->key == NULL) {
        rs__free(object);
        return RS_E_NOMEM;
    }
    object->redis = redis;
    object->clock = clock != NULL ? clock : rs_clock_system();
    object->on_failure = mode;
    *out = object;
    return RS_OK;
}

void rs__redis_object_free(void *object)
{
    if (object != NULL) {
        rs__free(((rs__redis_object *)object)->key);
        rs__free(object);
    }
}

int rs__redis_failed(rs_redis *r, rs_redis_failure mode, uint64_t *wait_ns)
{
    if (mode == RS_REDIS_FAIL_OPEN) {
        *wait_ns = 0;
        return RS_OK;
    }
    *wait_ns = rs__redis_retry_in_ns(r);
    return RS_E_IO;
}

uint64_t rs__redis_us_to_ns(int64_t us)
{
    return us <= 0 ? 0 : rs__sat_mul((uint64_t)us, 1000);
}

void rs__gcra_init(rs__gcra *g, double rate, uint64_t burst, double share)
{
    /* Round the interval up and the burst up: the local share errs towards
     * the rate, by at most a nanosecond per token and one token. */
    g->interval_ns = rs__max_u64(rs__sat_from_double(ceil(1e9 / (rate * share))), 1);
    g->burst = rs__max_u64(rs__sat_from_double(ceil((double)burst * share)), 1);
    atomic_init(&g->tat_ns, 0);
}

/* Earliest time n more tokens fit given the TAT `tat`, and the TAT after. */
static uint64_t wait_for(const rs__gcra *g, uint64_t tat, uint64_t n, uint64_t now_ns,
                         uint64_t *new_tat)
{
    *new_tat = rs__sat_add(rs__max_u64(tat, now_ns), rs__sat_mul(n, g->interval_ns));
    uint64_t allowed_at = rs__sat_sub(*new_tat, rs__sat_mul(g->burst, g->interval_ns));
    return rs__sat_sub(allowed_at, now_ns);
}

int rs__gcra_reserve(rs__gcra *g, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                     uint64_t *wait_ns)
{
    if (n > g->burst) {
        *wait_ns = UINT64_MAX;
        return RS_E_LIMITED;
    }
    uint64_t tat = atomic_load_explicit(&g->tat_ns, memory_order_acquire);
    for (;;) {
        uint64_t new_tat;
        uint64_t wait = wait_for(g, tat, n, now_ns, &new_tat);
        if (wait > max_wait_ns) {
            *wait_ns = wait - max_wait_ns;
            return RS_E_LIMITED;
        }
        if (atomic_compare_exchange_weak_explicit(&g->tat_ns, &tat, new_tat,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire)) {
            *wait_ns = wait;
            return RS_OK;
        }
    }
}

uint64_t rs__gcra_wait_ns(rs__gcra *g, uint64_t n, uint64_t now_ns)
{
    if (n > g->burst) {
        return UINT64_MAX;
    }
    uint64_t new_tat;
    return wait_for(g, atomic_load_explicit(&g->tat_ns, memory_order_acquire), n, now_ns,
                    &new_tat);
}

void rs__gcra_charge(rs__gcra *g, uint64_t n, uint64_t now_ns)
{
    uint64_t tat = atomic_load_explicit(&g->tat_ns, memory_order_acquire);
    uint64_t new_tat;
    do {
        (void)wait_for(g, tat, n, now_ns, &new_tat);
    } while (!atomic_compare_exchange_weak_explicit(&g->tat_ns, &tat, new_tat,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire));
}

void rs__gcra_refund(rs__gcra *g, uint64_t n)
{
    uint64_t tat = atomic_load_explicit(&g->tat_ns, memory_order_acquire);
    while (!atomic_compare_exchange_weak_explicit(&g->tat_ns, &tat,
                                                  rs__sat_sub(tat, rs__sat_mul(n, g->interval_ns)),
                                                  memory_order_acq_rel,
                                                  memory_order_acquire)) {
    }
}
