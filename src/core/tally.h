/* Counters that many threads bump on a hot path without a locked
 * instruction: "counter shards".
 *
 * A relaxed atomic add is a locked read-modify-write: on the token
 * bucket's grant, which is one compare-exchange and a clock read, a second
 * one costs a quarter of the whole call (measured in docs/performance.md).
 * So an object keeps its counters in RS__TALLY_SHARDS shards, each on a
 * cache line of its own, and every thread writes one shard only:
 *
 *  - the first RS__TALLY_SLOTS threads that count anything each own a slot
 *    (process-wide, claimed at their first count and given back when they
 *    exit), and the shard of their slot in every object is theirs alone:
 *    they bump it with a plain load and store;
 *  - the threads beyond share the last shard, with atomic adds.
 *
 * A reader sums the shards with relaxed loads: each total is exact once
 * the writers are done, never counts anything twice, and never goes back
 * between two reads of the same thread (each shard only grows).
 *
 * A module declares its shard type with the counters it needs, its first
 * field aligned to a cache line (only the first: _Alignas on a declaration
 * of several fields would give each a line), and an array of
 * RS__TALLY_SHARDS of them:
 *
 *     typedef struct counts {
 *         _Alignas(RS__CACHE_LINE) rs__atomic_u64 granted;
 *         rs__atomic_u64 refused;
 *     } counts;
 *     counts shards[RS__TALLY_SHARDS];
 *     RS__TALLY_ADD(obj->shards, granted, 1);
 *     uint64_t granted; RS__TALLY_SUM(granted, obj->shards, granted);
 *
 * An operation that adds to several counters takes the slot once and adds
 * with rs__tally_add() to its own shard.
 */
#ifndef RS_CORE_TALLY_H
#define RS_CORE_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "core/atomics.h"
#include "core/tls.h"

/* Threads with a shard of their own in every object; the others share one. */
#define RS__TALLY_SLOTS 4u
#define RS__TALLY_SHARDS (RS__TALLY_SLOTS + 1u)

/* This thread's slot + 1: 0 until its first count. */
extern _Thread_local unsigned rs__tally_my_slot RS__TLS_MODEL;

/* The first count of a thread: claims a free slot (RS__TALLY_SLOTS, the
 * shared shard, when none is free) and remembers it. */
unsigned rs__tally_claim_slot(void);

/* The shard this thread writes: < RS__TALLY_SLOTS its own, else shared. */
static inline unsigned rs__tally_slot(void)
{
    unsigned slot = rs__tally_my_slot;
    return slot != 0 ? slot - 1 : rs__tally_claim_slot();
}

/* Adds n to a counter of shard `slot`. */
static inline void rs__tally_add(rs__atomic_u64 *counter, uint64_t n, unsigned slot)
{
    if (slot < RS__TALLY_SLOTS) {
        rs__counter_bump(counter, n);
    } else {
        rs__counter_add(counter, n);
    }
}

/* Adds n to `field` of this thread's shard of `shards`. */
#define RS__TALLY_ADD(shards, field, n)                                                       \
    do {                                                                                      \
        unsigned rs__slot_ = rs__tally_slot();                                                \
        rs__tally_add(&(shards)[rs__slot_].field, (n), rs__slot_);                            \
    } while (0)

/* out = the sum of `field` over every shard of `shards`. */
#define RS__TALLY_SUM(out, shards, field)                                                     \
    do {                                                                                      \
        (out) = 0;                                                                            \
        for (unsigned rs__i_ = 0; rs__i_ < RS__TALLY_SHARDS; rs__i_++) {                      \
            (out) += rs__counter_get(&(shards)[rs__i_].field);                                \
        }                                                                                     \
    } while (0)

/* How many slots live threads hold now: for tests. */
unsigned rs__tally_slots_taken(void);

/* Every counter of `shards` (an array of RS__TALLY_SHARDS shard structs of
 * `shard_size` bytes, each field an rs__atomic_u64) starts at 0. */
void rs__tally_init(void *shards, size_t shard_size);

#endif /* RS_CORE_TALLY_H */
