/* GCRA (the Generic Cell Rate Algorithm) arithmetic, shared by the
 * in-process token bucket and the shared-memory one, so that both grant
 * exactly the same tokens for the same instants.
 *
 * The state is TAT, the theoretical arrival time: the instant at which the
 * bucket will be full again. `debt = max(TAT, now) - now` is the time the
 * consumed tokens still need to refill (debt / interval tokens); n tokens fit
 * when `debt + n * interval <= tau`, where tau = burst * interval is the
 * capacity in time, and taking them moves TAT to `max(TAT, now) + n *
 * interval`. An idle bucket needs no update: a TAT in the past simply means
 * "full".
 *
 * A bucket keeps TAT in one atomic 64-bit word as `TAT - offset` (mod 2^64);
 * the offset lets the in-process bucket change its rate (see token_bucket.c);
 * a bucket whose configuration never changes uses offset 0. */
#ifndef RS_CORE_GCRA_H
#define RS_CORE_GCRA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/contention.h"
#include "core/tally.h"
#include "resilience/common.h"
#include "resilience/token_bucket.h"

/* A validated configuration in integer time. */
typedef struct rs__gcra {
    uint64_t interval_ns; /* ns per token, >= 1 */
    uint64_t tau_ns;      /* burst * interval_ns: the capacity as time */
    uint64_t burst;
} rs__gcra;

/* The outcome of asking for n tokens at `now`. */
typedef struct rs__gcra_verdict {
    uint64_t wait_ns;    /* until the tokens may be used; UINT64_MAX = never */
    uint64_t new_tat_ns; /* TAT if they are taken */
    bool oversized;      /* n > burst: never */
    bool taken;
} rs__gcra_verdict;

/* What a bucket counts, per thread (core/tally.h): requests granted (with
 * or without a wait), the tokens they took, requests refused. A request
 * above the burst is an error, not a refusal, and is not counted. */
typedef struct rs__gcra_counts {
    _Alignas(RS__CACHE_LINE) rs__atomic_u64 granted; /* the shard, not each field */
    rs__atomic_u64 granted_tokens, refused;
} rs__gcra_counts;

/* Counts the outcome of asking for n >= 1 tokens: the plain stores of this
 * thread's shard, no locked instruction on the grant path. */
static inline void rs__gcra_count(rs__gcra_counts *shards, const rs__gcra_verdict *v, uint64_t n)
{
    unsigned slot = rs__tally_slot();
    rs__gcra_counts *mine = &shards[slot];
    if (v->taken) {
        rs__tally_add(&mine->granted, 1, slot);
        rs__tally_add(&mine->granted_tokens, n, slot);
    } else if (!v->oversized) {
        rs__tally_add(&mine->refused, 1, slot);
    }
}

/* Fills the counters of a snapshot with the totals of `shards`. */
static inline void rs__gcra_counts_sum(const rs__gcra_counts *shards, rs_token_bucket_snapshot *m)
{
    RS__TALLY_SUM(m->granted, shards, granted);
    RS__TALLY_SUM(m->granted_tokens, shards, granted_tokens);
    RS__TALLY_SUM(m->refused, shards, refused);
}

/* Validates a rate (tokens per second) and burst and derives the integer
 * configuration: interval = ceil(1e9 / rate), where a quotient within 1e-12
 * of a whole number counts as that number. Returns RS_OK, or RS_E_INVAL
 * (leaving *g untouched) when the rate is not finite, <= 0 or > 1e9, the
 * interval does not fit in 64 bits, burst is 0 or tau overflows. */
int rs__gcra_init(rs__gcra *g, double rate, uint64_t burst);

/* rs__gcra_init, and on RS_E_INVAL an rs_last_error() naming the field as
 * the caller's API spells it (`rate_name` "rs_token_bucket_config.rate", or
 * the argument "rate"): for creation and reconfiguration, never for a path
 * that must not touch thread-local storage. */
int rs__gcra_init_named(rs__gcra *g, double rate, uint64_t burst, const char *rate_name,
                        const char *burst_name);

/* Tokens available at `now` for a bucket whose TAT is tat_ns, with the
 * fraction refilled so far; negative while reservations are owed. Only
 * tokens that rs__gcra_judge would grant count: near the end of 64-bit time
 * fewer than the refill says. */
double rs__gcra_available(const rs__gcra *g, uint64_t tat_ns, uint64_t now);

/* GCRA for n >= 1 tokens at `now`. A wait of UINT64_MAX means never: n
 * exceeds the burst, or the new TAT would lie beyond 64-bit time. */
static inline rs__gcra_verdict rs__gcra_judge(const rs__gcra *g, uint64_t tat_ns, uint64_t n,
                                              uint64_t now)
{
    rs__gcra_verdict v = { UINT64_MAX, 0, n > g->burst, false };
    if (v.oversized) {
        return v;
    }
    uint64_t start = rs__max_u64(tat_ns, now);
    uint64_t cost = n * g->interval_ns; /* <= tau, so it cannot overflow */
    if (__builtin_add_overflow(start, cost, &v.new_tat_ns)) {
        return v;
    }
    /* The tokens may be used once the new TAT is within tau of the clock;
     * new TAT - now - tau < UINT64_MAX, so a real wait is never "never". */
    v.wait_ns = rs__sat_sub(v.new_tat_ns - now, g->tau_ns);
    return v;
}

/* One lock-free attempt to take n >= 1 tokens whose wait is at most
 * max_wait_ns from the state word `*word`, which held `*seen` (= TAT -
 * offset) when the caller read it together with *g and offset. Returns true
 * when decided (*v says whether the tokens were taken), false when the word
 * changed meanwhile (*seen then holds its new value): the caller retries,
 * after reading the configuration again if that can change.
 *
 * *handed_off starts false for each operation: the first attempt that finds
 * another thread writing the word back to back with this one first hands
 * it the cache line (core/contention.h), sets it and returns false. */
static inline bool rs__gcra_attempt(rs__atomic_u64 *word, uint64_t *seen, uint64_t offset,
                                    const rs__gcra *g, uint64_t n, uint64_t max_wait_ns,
                                    uint64_t now, bool *handed_off, rs__gcra_verdict *v)
{
    uint64_t tat = *seen + offset; /* wraps by design: the offset is mod 2^64 */
    *v = rs__gcra_judge(g, tat, n, now);
    if (v->wait_ns == UINT64_MAX || v->wait_ns > max_wait_ns) {
        return true;
    }
    if (!*handed_off && rs__contended(word, *seen, now)) {
        *handed_off = true;
        rs__hand_off_line();
        *seen = atomic_load_explicit(word, memory_order_relaxed);
        return false;
    }
    /* The word moves exactly as TAT does under this offset. */
    uint64_t next = *seen + (v->new_tat_ns - tat);
    if (!atomic_compare_exchange_weak_explicit(word, seen, next, memory_order_acq_rel,
                                               memory_order_relaxed)) {
        return false;
    }
    rs__note_write(word, next, now);
    v->taken = true;
    return true;
}

/* Takes n >= 1 tokens whose wait is at most max_wait_ns from a bucket whose
 * configuration never changes (offset 0): the whole lock-free loop. */
static inline rs__gcra_verdict rs__gcra_take_fixed(rs__atomic_u64 *word, const rs__gcra *g,
                                                   uint64_t n, uint64_t max_wait_ns,
                                                   uint64_t now)
{
    uint64_t seen = atomic_load_explicit(word, memory_order_relaxed);
    bool handed_off = false;
    rs__gcra_verdict v;
    while (!rs__gcra_attempt(word, &seen, 0, g, n, max_wait_ns, now, &handed_off, &v)) {
    }
    return v;
}

/* The wait n >= 1 tokens would need at `now` from a bucket whose
 * configuration never changes; informative, takes nothing. */
static inline uint64_t rs__gcra_wait_fixed(rs__atomic_u64 *word, const rs__gcra *g, uint64_t n,
                                           uint64_t now)
{
    return rs__gcra_judge(g, atomic_load_explicit(word, memory_order_acquire), n, now).wait_ns;
}

/* A bucket's way to take n >= 1 tokens at `now` if their wait is at most
 * max_wait_ns (a loop of rs__gcra_attempt over its own state word). */
typedef rs__gcra_verdict (*rs__gcra_take)(void *bucket, uint64_t n, uint64_t max_wait_ns,
                                          uint64_t now);

/* try_acquire as token_bucket.h documents it, for any bucket: NULL gives
 * false, 0 tokens true without taking anything. */
static inline bool rs__gcra_try_acquire(void *bucket, rs__gcra_take take, uint64_t n,
                                        uint64_t now)
{
    return bucket != NULL && (n == 0 || take(bucket, n, 0, now).taken);
}

/* reserve as token_bucket.h documents it, for any bucket: RS_OK with the
 * wait, RS_E_LIMITED with the wait it would have needed, RS_E_INVAL with
 * UINT64_MAX for a NULL bucket or n > burst, RS_E_INVAL for a NULL wait_ns. */
static inline int rs__gcra_reserve(void *bucket, rs__gcra_take take, uint64_t n,
                                   uint64_t max_wait_ns, uint64_t *wait_ns, uint64_t now)
{
    if (wait_ns == NULL) {
        return RS_E_INVAL;
    }
    if (bucket == NULL || n == 0) {
        *wait_ns = bucket == NULL ? UINT64_MAX : 0;
        return bucket == NULL ? RS_E_INVAL : RS_OK;
    }
    rs__gcra_verdict v = take(bucket, n, max_wait_ns, now);
    *wait_ns = v.oversized ? UINT64_MAX : v.wait_ns;
    return v.oversized ? RS_E_INVAL : v.taken ? RS_OK : RS_E_LIMITED;
}

#endif /* RS_CORE_GCRA_H */
