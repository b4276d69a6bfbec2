/* Leases: batches of a distributed object's capacity, taken in one round
 * trip and handed out locally.
 *
 * A cell holds at most one lease. Its units live in one atomic word with a
 * generation (lease.h's layout in internal.h), so handing out is one
 * compare-exchange: no lock, no allocation, no I/O, one clock read for the
 * expiry; the object then counts the decision in its counter shards
 * (core/tally.h: plain stores for the first threads, never a lock). A
 * unit leaves the word exactly once, either to a caller or, when the
 * lease is closed (exchanged for an empty word of the next generation),
 * back to the server: it can never be both. The server counted the units
 * when it granted the lease, so what the fleet hands out is what the
 * servers granted minus what was given back, and the only excess over the
 * exact mode is what leases still hold when the server's state moves on
 * (units granted long ago, counted in a window that has since slid; a
 * bucket that refilled meanwhile): at most the units held in leases, at
 * most max_units per cell and process.
 *
 * Refills: the first caller that finds the lease short claims the cell's
 * refill and makes the round trip: it closes the lease, gives back what was
 * left, takes its own units and a new batch, and publishes the rest. Other
 * callers meanwhile wait for that refill (at most the pool's call time) and
 * then try the new lease, so requests from many threads share round trips.
 * A caller that already waited once and finds yet another refill under way
 * decides exactly instead, so no caller waits for more than one other
 * round trip besides its own.
 *
 * Sizing: a refill asks for `size` units (at least the caller's n), never
 * more than the cap, which is derived from the rate and the number of
 * instances: the fleet's capacity over one lease lifetime, split between
 * the instances. `size` starts at 1; whenever a lease runs out before it
 * expires (demand exceeds it) the next is twice the larger of `size` and
 * the request, and whenever one expires with more than half unused `size`
 * halves, so an idle instance holds little and a busy one makes a round
 * trip per lease lifetime or so. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/build_config.h"
#include "internal.h"

#if RS_HAVE_THREADS
#include <errno.h>
#include <pthread.h>
#include <time.h>
#endif

#define GENERATION_SHIFT 32
#define UNITS_MASK RS__LEASE_MAX_UNITS
#define MIN_TTL_NS UINT64_C(1000000)
#define MAX_TTL_NS (UINT64_C(3600) * 1000000000u)

static uint32_t generation_of(uint64_t word)
{
    return (uint32_t)(word >> GENERATION_SHIFT);
}

static uint64_t units_of(uint64_t word)
{
    return word & UNITS_MASK;
}

static uint64_t make_word(uint32_t generation, uint64_t units)
{
    return ((uint64_t)generation << GENERATION_SHIFT) | units;
}

/* ---- the condition variable waiters sleep on (threads only) ---- */

#if RS_HAVE_THREADS
static int cond_new(void **out)
{
    pthread_cond_t *c = rs__malloc(sizeof *c);
    pthread_condattr_t attr;
    if (c == NULL) {
        return RS_E_NOMEM;
    }
    /* Waits end on CLOCK_MONOTONIC, the clock the pool's timeouts use. */
    if (pthread_condattr_init(&attr) != 0) {
        rs__free(c);
        return RS_E_NOMEM;
    }
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0) {
        rc = pthread_cond_init(c, &attr);
    }
    (void)pthread_condattr_destroy(&attr);
    if (rc != 0) {
        rs__free(c);
        return RS_E_NOMEM;
    }
    *out = c;
    return RS_OK;
}

static void cond_free(void *c)
{
    if (c != NULL) {
        (void)pthread_cond_destroy(c);
        rs__free(c);
    }
}

/* Waits on the set's condition with its lock held, until deadline_ns of
 * CLOCK_MONOTONIC at the latest. */
static void cond_wait_until(rs__lease_set *set, uint64_t deadline_ns)
{
    struct timespec until;
    until.tv_sec = (time_t)(deadline_ns / 1000000000u);
    until.tv_nsec = (long)(deadline_ns % 1000000000u);
    (void)pthread_cond_timedwait(set->cond, &set->lock.handle, &until);
}

static void cond_wake_all(rs__lease_set *set)
{
    (void)pthread_cond_broadcast(set->cond);
}
#else
/* One thread: nobody else can be refilling, so nobody ever waits. */
static int cond_new(void **out)
{
    *out = NULL;
    return RS_OK;
}
static void cond_free(void *c) { (void)c; }
static void cond_wait_until(rs__lease_set *set, uint64_t deadline_ns)
{
    (void)set;
    (void)deadline_ns;
}
static void cond_wake_all(rs__lease_set *set) { (void)set; }
#endif

/* ---- configuration ---- */

static int validate(const rs_redis_lease_config *cfg, const char *config, uint64_t capacity)
{
    if (cfg->ttl_ns < MIN_TTL_NS || cfg->ttl_ns > MAX_TTL_NS) {
        return rs_set_last_error(RS_E_INVAL, "%s.lease.ttl_ns: %llu is not in 1 ms..1 h", config,
                                 (unsigned long long)cfg->ttl_ns);
    }
    uint64_t most = rs__min_u64(capacity, RS__LEASE_MAX_UNITS);
    if (cfg->max_units > most) {
        return rs_set_last_error(RS_E_INVAL, "%s.lease.max_units: %llu is above %llu (the "
                                             "object's capacity, at most 2^32 - 1)",
                                 config, (unsigned long long)cfg->max_units,
                                 (unsigned long long)most);
    }
    return RS_OK;
}

/* The largest lease: the capacity one lease lifetime brings (never more
 * than the whole capacity), split between the instances, at least 1. */
static uint64_t derived_cap(const rs_redis_lease_config *cfg, uint64_t capacity,
                            double units_per_second)
{
    double per_ttl = units_per_second * ((double)cfg->ttl_ns / 1e9);
    double fleet = fmin((double)capacity, per_ttl);
    uint64_t cap = rs__sat_from_double(floor(fleet / (double)cfg->instances));
    return rs__max_u64(rs__min_u64(cap, RS__LEASE_MAX_UNITS), 1);
}

int rs__lease_set_new(const rs_redis_lease_config *cfg, const char *config, uint64_t capacity,
                      double units_per_second, size_t cells, rs_redis *redis,
                      const rs_clock *clock, void *object, rs__lease_trip trip,
                      rs__lease_set **out)
{
    *out = NULL;
    if (cfg->instances == 0) {
        return RS_OK; /* exact mode: every decision one round trip */
    }
    int rc = validate(cfg, config, capacity);
    if (rc != RS_OK) {
        return rc;
    }
    rs__lease_set *set = rs__calloc(1, sizeof *set + cells * sizeof(rs__lease));
    if (set == NULL) {
        return RS_E_NOMEM;
    }
    if (rs__mutex_init(&set->lock) != 0) {
        rs__free(set);
        return RS_E_NOMEM;
    }
    rc = cond_new(&set->cond);
    if (rc != RS_OK) {
        rs__mutex_destroy(&set->lock);
        rs__free(set);
        return rc;
    }
    set->cap = cfg->max_units != 0 ? cfg->max_units
                                   : derived_cap(cfg, capacity, units_per_second);
    set->ttl_ns = cfg->ttl_ns;
    set->wait_limit_ns = rs__redis_call_time_ns(redis);
    set->clock = clock;
    set->object = object;
    set->trip = trip;
    set->count = cells;
    for (size_t i = 0; i < cells; i++) {
        set->cells[i].size = 1;
    }
    *out = set;
    return RS_OK;
}

/* ---- keys (budgets) ---- */

/* The key as the cell stores it: its bytes in words, zero-padded. */
static void key_to_words(rs__lease_key key, uint64_t words[RS__LEASE_KEY_MAX / 8])
{
    memset(words, 0, RS__LEASE_KEY_MAX);
    if (key.len > 0) {
        memcpy(words, key.bytes, key.len);
    }
}

/* Whether the cell's lease is for `key`. Relaxed loads: the caller's
 * compare-exchange on the word proves that no other lease (and so no other
 * key) was installed since it loaded the word with acquire. */
static bool key_matches(rs__lease *cell, rs__lease_key key)
{
    if (atomic_load_explicit(&cell->key_len, memory_order_relaxed) != key.len) {
        return false;
    }
    uint64_t words[RS__LEASE_KEY_MAX / 8];
    key_to_words(key, words);
    for (size_t i = 0; i < (key.len + 7) / 8; i++) {
        if (atomic_load_explicit(&cell->key_words[i], memory_order_relaxed) != words[i]) {
            return false;
        }
    }
    return true;
}

/* The key of the cell's (closed) lease, for giving it back; the refill
 * owner's buffer. */
static rs__lease_key stored_key(rs__lease *cell, uint64_t words[RS__LEASE_KEY_MAX / 8])
{
    size_t len = (size_t)atomic_load_explicit(&cell->key_len, memory_order_relaxed);
    for (size_t i = 0; i < RS__LEASE_KEY_MAX / 8; i++) {
        words[i] = atomic_load_explicit(&cell->key_words[i], memory_order_relaxed);
    }
    return (rs__lease_key){ len > 0 ? (const void *)words : NULL, len };
}

/* ---- the hot path ---- */

/* Takes n units from the cell's lease for `key` if it has them and has not
 * expired at now_ns. Lock-free: a failed exchange means someone else took
 * units (or the lease changed), and the loop looks again. */
static bool take(rs__lease *cell, rs__lease_key key, uint64_t n, uint64_t now_ns,
                 rs__lease_answer *out)
{
    uint64_t word = atomic_load_explicit(&cell->word, memory_order_acquire);
    for (;;) {
        if (units_of(word) < n) {
            return false;
        }
        /* Loaded after the word: the expiry and identity of this lease or
         * of a later one, and a later one fails the exchange below. */
        if (now_ns >= atomic_load_explicit(&cell->expires_ns, memory_order_relaxed) ||
            !key_matches(cell, key)) {
            return false;
        }
        if (out != NULL) {
            for (size_t i = 0; i < RS__LEASE_IDS; i++) {
                out->id[i] = atomic_load_explicit(&cell->id[i], memory_order_relaxed);
            }
        }
        if (atomic_compare_exchange_weak_explicit(&cell->word, &word, word - n,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire)) {
            if (out != NULL) {
                out->status = RS_OK;
                out->wait_ns = 0;
                out->generation = generation_of(word);
                out->leased = true;
                out->by = RS__BY_LEASE;
            }
            return true;
        }
    }
}

/* The last refusal still stands for n units at now_ns: *wait_ns says how
 * long. A refusal of other n is not applied (its wait would be wrong). */
static bool refused(rs__lease *cell, uint64_t n, uint64_t now_ns, uint64_t *wait_ns)
{
    uint64_t seq = atomic_load_explicit(&cell->refusal_seq, memory_order_acquire);
    if (seq & 1) {
        return false; /* being written */
    }
    uint64_t refused_n = atomic_load_explicit(&cell->refusal_n, memory_order_relaxed);
    uint64_t until = atomic_load_explicit(&cell->refusal_until_ns, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&cell->refusal_seq, memory_order_relaxed) != seq ||
        refused_n != n || now_ns >= until) {
        return false;
    }
    *wait_ns = until - now_ns;
    return true;
}

/* The refill owner records a refusal (n = 0 clears it). */
static void note_refusal(rs__lease *cell, uint64_t n, uint64_t until_ns)
{
    uint64_t seq = atomic_load_explicit(&cell->refusal_seq, memory_order_relaxed);
    atomic_store_explicit(&cell->refusal_seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&cell->refusal_n, n, memory_order_relaxed);
    atomic_store_explicit(&cell->refusal_until_ns, until_ns, memory_order_relaxed);
    atomic_store_explicit(&cell->refusal_seq, seq + 2, memory_order_release);
}

/* ---- refills ---- */

typedef enum claim { CLAIM_OWNER, CLAIM_RETRY, CLAIM_EXACT } claim;

/* Becomes the cell's refill owner, or waits for the refill under way (once
 * per decision: `waited`). */
static claim claim_refill(rs__lease_set *set, rs__lease *cell, bool *waited)
{
    rs__mutex_lock(&set->lock);
    if (!cell->refilling) {
        cell->refilling = true;
        rs__mutex_unlock(&set->lock);
        return CLAIM_OWNER;
    }
    if (*waited) {
        rs__mutex_unlock(&set->lock);
        return CLAIM_EXACT;
    }
    *waited = true;
    /* Real time, as the refill's own socket timeouts: it ends by then. */
    uint64_t deadline = rs__sat_add(rs_clock_now(NULL), set->wait_limit_ns);
    uint64_t seen = cell->refills;
    while (cell->refilling && cell->refills == seen && rs_clock_now(NULL) < deadline) {
        cond_wait_until(set, deadline);
    }
    bool done = cell->refills != seen;
    rs__mutex_unlock(&set->lock);
    return done ? CLAIM_RETRY : CLAIM_EXACT;
}

static void release_refill(rs__lease_set *set, rs__lease *cell)
{
    rs__mutex_lock(&set->lock);
    cell->refilling = false;
    cell->refills++;
    cond_wake_all(set);
    rs__mutex_unlock(&set->lock);
}

/* Closes the cell's lease: no unit can be taken from it any more. Returns
 * the units it still held (the owner gives them back). */
static uint64_t close_lease(rs__lease *cell)
{
    uint64_t word = atomic_load_explicit(&cell->word, memory_order_relaxed);
    uint64_t next;
    do {
        next = make_word(generation_of(word) + 1, 0);
    } while (!atomic_compare_exchange_weak_explicit(&cell->word, &word, next,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    return units_of(word);
}

/* Closes the cell's lease and describes it for giving back what it held
 * (the owner's; `back_words` holds its key). */
static void close_for_return(rs__lease *cell, rs__lease_trip_in *in,
                             uint64_t back_words[RS__LEASE_KEY_MAX / 8])
{
    memset(in, 0, sizeof *in);
    in->give_back = close_lease(cell);
    in->back_granted = cell->granted;
    for (size_t i = 0; i < RS__LEASE_IDS; i++) {
        in->back_id[i] = atomic_load_explicit(&cell->id[i], memory_order_relaxed);
    }
    in->back_key = stored_key(cell, back_words);
}

/* Installs a new lease of `units` for `key` (the owner, after a close). */
static void publish(rs__lease *cell, rs__lease_key key, uint64_t units, const uint64_t *id,
                    uint64_t expires_ns)
{
    uint64_t words[RS__LEASE_KEY_MAX / 8];
    key_to_words(key, words);
    atomic_store_explicit(&cell->key_len, key.len, memory_order_relaxed);
    for (size_t i = 0; i < RS__LEASE_KEY_MAX / 8; i++) {
        atomic_store_explicit(&cell->key_words[i], words[i], memory_order_relaxed);
    }
    for (size_t i = 0; i < RS__LEASE_IDS; i++) {
        atomic_store_explicit(&cell->id[i], id[i], memory_order_relaxed);
    }
    atomic_store_explicit(&cell->expires_ns, expires_ns, memory_order_relaxed);
    uint64_t word = atomic_load_explicit(&cell->word, memory_order_relaxed);
    /* Release: whoever loads this word sees the key, identity and expiry. */
    atomic_store_explicit(&cell->word, make_word(generation_of(word) + 1, units),
                          memory_order_release);
}

/* Adapts the next lease's size to how the closed one went. */
static void adapt_size(rs__lease_set *set, rs__lease *cell, uint64_t left, uint64_t n,
                       uint64_t now_ns)
{
    if (cell->granted == 0) {
        return; /* there was no lease: nothing learned */
    }
    bool expired = now_ns >= atomic_load_explicit(&cell->expires_ns, memory_order_relaxed);
    if (!expired && left < n) {
        /* Requests of many units (a budget's estimates) grow it as fast as
         * requests of one grow it from 1. */
        cell->size = rs__min_u64(rs__sat_mul(rs__max_u64(cell->size, n), 2), set->cap);
    } else if (expired && left > cell->granted / 2) {
        cell->size = rs__max_u64(cell->size / 2, 1);
    }
}

/* The refill owner's round trip: close, give back, take, publish. */
static void refill(rs__lease_set *set, rs__lease *cell, rs__lease_key key, uint64_t n,
                   uint64_t max_wait_ns, uint64_t now_ns, rs__lease_answer *out)
{
    uint64_t back_words[RS__LEASE_KEY_MAX / 8];
    rs__lease_trip_in in;
    close_for_return(cell, &in, back_words);
    if (in.back_key.len == key.len &&
        (key.len == 0 || memcmp(in.back_key.bytes, key.bytes, key.len) == 0)) {
        adapt_size(set, cell, in.give_back, n, now_ns);
    } else {
        cell->size = 1; /* another key: its demand is not known yet */
    }
    in.want_min = n;
    in.want_max = rs__max_u64(n, cell->size);
    in.max_wait_ns = max_wait_ns;
    in.key = key;
    rs__lease_trip_out trip;
    memset(&trip, 0, sizeof trip);
    set->trip(set->object, &in, &trip);
    rs__counter_add(&set->round_trips, 1);
    if (trip.status == RS_OK && trip.wait_ns == 0 &&
        (trip.granted < n || trip.granted > in.want_max)) {
        /* Only a server that is not running our script answers this: a
         * lease it never meant must not spill into the generation bits. */
        trip.status = rs_set_last_error(RS_E_IO, "redis: a lease of %llu units answered a "
                                                 "request for %llu..%llu",
                                        (unsigned long long)trip.granted,
                                        (unsigned long long)n,
                                        (unsigned long long)in.want_max);
    }
    /* Sent back whether or not the reply arrived: on a lost reply the
     * server may have taken them back, so they must not be used again. */
    rs__counter_add(&set->returned_units, in.give_back);
    cell->granted = 0;
    out->status = trip.status;
    out->wait_ns = trip.wait_ns;
    out->leased = false;
    out->by = RS__BY_REDIS;
    memcpy(out->id, trip.id, sizeof out->id);
    if (trip.status == RS_OK && trip.wait_ns == 0) {
        /* The caller's n first; the rest is the new lease. */
        uint64_t rest = trip.granted - n;
        cell->granted = trip.granted;
        publish(cell, key, rest, trip.id,
                rs__sat_add(rs_clock_now(set->clock), set->ttl_ns));
        out->generation = generation_of(atomic_load_explicit(&cell->word,
                                                             memory_order_relaxed));
        out->leased = true;
        rs__counter_add(&set->leases, 1);
        rs__counter_add(&set->leased_units, trip.granted);
        note_refusal(cell, 0, 0);
    } else if (trip.status == RS_E_LIMITED && trip.wait_ns != UINT64_MAX) {
        note_refusal(cell, n, rs__sat_add(now_ns, trip.wait_ns));
    }
}

bool rs__lease_decide(rs__lease_set *set, rs__lease *cell, rs__lease_key key, uint64_t n,
                      uint64_t max_wait_ns, rs__lease_answer *out)
{
    if (key.len > RS__LEASE_KEY_MAX) {
        return false;
    }
    bool waited = false;
    for (;;) {
        uint64_t now = rs_clock_now(set->clock);
        if (take(cell, key, n, now, out)) {
            return true;
        }
        uint64_t wait = 0;
        if (refused(cell, n, now, &wait) && wait > max_wait_ns) {
            out->status = RS_E_LIMITED;
            out->wait_ns = wait;
            out->leased = false;
            out->by = RS__BY_LEASE;
            return true;
        }
        switch (claim_refill(set, cell, &waited)) {
        case CLAIM_OWNER:
            refill(set, cell, key, n, max_wait_ns, now, out);
            release_refill(set, cell);
            return true;
        case CLAIM_RETRY:
            continue;
        case CLAIM_EXACT:
            return false;
        }
    }
}

bool rs__lease_give_back(rs__lease *cell, uint32_t generation, uint64_t units)
{
    uint64_t word = atomic_load_explicit(&cell->word, memory_order_relaxed);
    do {
        /* Another lease, or more than a lease can hold (it held them all
         * once, so only a foreign ticket gets here). */
        if (generation_of(word) != generation || units > UNITS_MASK - units_of(word)) {
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(&cell->word, &word, word + units,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    return true;
}

bool rs__lease_take_more(rs__lease_set *set, rs__lease *cell, rs__lease_key key, uint64_t units)
{
    return key.len <= RS__LEASE_KEY_MAX && units <= UNITS_MASK &&
           take(cell, key, units, rs_clock_now(set->clock), NULL);
}

int rs__lease_stats(const char *function, const char *object_arg, bool have_object,
                    rs__lease_set *set, rs_redis_lease_stats *out)
{
    if (!have_object || out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "%s: %s is NULL", function,
                                 !have_object ? object_arg : "stats");
    }
    memset(out, 0, sizeof *out);
    if (set == NULL) {
        return RS_OK;
    }
    out->round_trips = rs__counter_get(&set->round_trips);
    out->leases = rs__counter_get(&set->leases);
    out->leased_units = rs__counter_get(&set->leased_units);
    out->returned_units = rs__counter_get(&set->returned_units);
    out->max_units = set->cap;
    for (size_t i = 0; i < set->count; i++) {
        out->held_units += units_of(atomic_load_explicit(&set->cells[i].word,
                                                         memory_order_relaxed));
    }
    return RS_OK;
}

void rs__lease_set_free(rs__lease_set *set)
{
    if (set == NULL) {
        return;
    }
    for (size_t i = 0; i < set->count; i++) {
        uint64_t back_words[RS__LEASE_KEY_MAX / 8];
        rs__lease_trip_in in;
        close_for_return(&set->cells[i], &in, back_words);
        if (in.give_back > 0) {
            rs__lease_trip_out ignored;
            set->trip(set->object, &in, &ignored);
        }
    }
    cond_free(set->cond);
    rs__mutex_destroy(&set->lock);
    rs__free(set);
}

/* A count or time from a script: negatives (none is meant) are 0. */
static uint64_t non_negative(int64_t v)
{
    return v < 0 ? 0 : (uint64_t)v;
}

void rs__redis_lease_result(const rs__redis_result *res, const rs__lease_trip_in *in,
                            int refusal, rs__lease_trip_out *out)
{
    if (out->status != RS_OK) {
        return;
    }
    if (res->v[0] == 1) {
        out->granted = non_negative(res->v[1]);
        out->wait_ns = rs__redis_us_to_ns(res->v[2]);
        for (size_t i = 0; i < RS__LEASE_IDS; i++) {
            out->id[i] = non_negative(res->v[3 + i]);
        }
    } else if (in->want_max > 0) {
        out->status = refusal;
        out->wait_ns = res->v[2] < 0 ? UINT64_MAX : rs__redis_us_to_ns(res->v[2]);
    }
}
