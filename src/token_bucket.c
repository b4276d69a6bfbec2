/* Token bucket as GCRA; the algorithm and its arithmetic are in
 * core/gcra.h, shared with the shared-memory bucket.
 *
 * Concurrency. The hot path is a compare-exchange on one 64-bit word. The
 * configuration (interval, tau, burst) changes only in set_rate(), which
 * must also rewrite TAT (the debt is rescaled to the new interval), and a
 * double-word compare-exchange is not portable. So:
 *  - the configuration is read under a seqlock (`version`, odd while
 *    set_rate() writes), so a reader always sees one consistent
 *    configuration together with the state word it read;
 *  - the state word is not TAT itself but `TAT - offset` (mod 2^64), with
 *    the offset part of the configuration. Every grant increases TAT and the
 *    word with it; set_rate() writes `old word + 1` and picks the offset that
 *    makes it decode to the rescaled TAT. The word therefore only ever
 *    increases, so a compare-exchange that succeeds proves that nothing —
 *    no grant, no set_rate() — happened since the word was read: a reader
 *    cannot apply a decision made under the old configuration to a state
 *    already converted to the new one (no ABA short of 2^64 ns of progress
 *    while one thread is stalled between two instructions). */
#include "resilience/token_bucket.h"

#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/contention.h"
#include "core/gcra.h"
#include "core/limiter.h"

struct rs_token_bucket {
    /* Read on every call, written only by set_rate(): shared by all cores. */
    rs__atomic_u64 version;     /* seqlock over these and `word`; odd while written */
    rs__atomic_u64 offset;
    rs__atomic_u64 interval_ns; /* ns per token, >= 1 */
    rs__atomic_u64 tau_ns;      /* burst * interval_ns: the capacity as time */
    rs__atomic_u64 burst;
    /* The configured rate, a double's bits, for metrics only: read apart
     * from the seqlock, so that the grant path does not pay for it. */
    rs__atomic_u64 rate_bits;
    const rs_clock *clock;
    /* Written by every grant: a cache line of its own (the bucket is
     * allocated line-aligned), so the line that moves between granting
     * cores carries neither the configuration nor a neighbour's data. */
    _Alignas(RS__CACHE_LINE) rs__atomic_u64 word; /* TAT - offset, mod 2^64; strictly increasing */
    /* Grants and refusals, a cache line per thread (core/tally.h). */
    rs__gcra_counts counts[RS__TALLY_SHARDS];
};

/* One consistent view: the state word and the configuration it belongs to. */
typedef struct snapshot {
    uint64_t word;
    uint64_t tat_ns;
    uint64_t offset;
    rs__gcra config;
} snapshot;

static uint64_t bits_of(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static double double_of(uint64_t bits)
{
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* The integer configuration of cfg, or RS_E_INVAL naming the field. */
static int derive_config(const rs_token_bucket_config *cfg, rs__gcra *config)
{
    if (cfg == NULL) {
        return rs_set_last_error(RS_E_INVAL, "cfg: NULL");
    }
    return rs__gcra_init_named(config, cfg->rate, cfg->burst, "rs_token_bucket_config.rate",
                               "rs_token_bucket_config.burst");
}

int rs_token_bucket_config_validate(const rs_token_bucket_config *cfg)
{
    rs__gcra config;
    return derive_config(cfg, &config);
}

int rs_token_bucket_new(const rs_token_bucket_config *cfg, const rs_clock *clock,
                        rs_token_bucket **out)
{
    rs__gcra config;
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "out: NULL");
    }
    int status = derive_config(cfg, &config);
    if (status != RS_OK) {
        return status;
    }
    rs_token_bucket *tb = rs__malloc_aligned(sizeof *tb, _Alignof(rs_token_bucket));
    if (tb == NULL) {
        return RS_E_NOMEM;
    }
    atomic_init(&tb->version, 0);
    atomic_init(&tb->word, 0); /* TAT 0: full at any instant */
    atomic_init(&tb->offset, 0);
    atomic_init(&tb->interval_ns, config.interval_ns);
    atomic_init(&tb->tau_ns, config.tau_ns);
    atomic_init(&tb->burst, config.burst);
    atomic_init(&tb->rate_bits, bits_of(cfg->rate));
    rs__tally_init(tb->counts, sizeof tb->counts[0]);
    tb->clock = clock != NULL ? clock : rs_clock_system();
    *out = tb;
    return RS_OK;
}

void rs_token_bucket_free(rs_token_bucket *tb)
{
    if (tb != NULL) {
        rs__forget_writes_within(tb, sizeof *tb);
        rs__free_aligned(tb);
    }
}

/* The bucket's time; 0 for NULL, which every caller refuses anyway. */
static uint64_t now_of(const rs_token_bucket *tb)
{
    return tb != NULL ? tb->clock->now_ns(tb->clock->ctx) : 0;
}

/* Reads the state word and its configuration consistently (the seqlock
 * reader: data loads between two reads of an even, unchanged version). */
static inline snapshot read_snapshot(rs_token_bucket *tb)
{
    snapshot s;
    for (;;) {
        uint64_t before = atomic_load_explicit(&tb->version, memory_order_acquire);
        if (before & 1) {
            rs__cpu_relax();
            continue;
        }
        s.word = atomic_load_explicit(&tb->word, memory_order_relaxed);
        s.offset = atomic_load_explicit(&tb->offset, memory_order_relaxed);
        s.config.interval_ns = atomic_load_explicit(&tb->interval_ns, memory_order_relaxed);
        s.config.tau_ns = atomic_load_explicit(&tb->tau_ns, memory_order_relaxed);
        s.config.burst = atomic_load_explicit(&tb->burst, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&tb->version, memory_order_relaxed) == before) {
            s.tat_ns = s.word + s.offset; /* wraps by design: the offset is mod 2^64 */
            return s;
        }
    }
}

/* Takes n >= 1 tokens if the wait they need is at most max_wait_ns. */
static rs__gcra_verdict take(void *bucket, uint64_t n, uint64_t max_wait_ns, uint64_t now)
{
    rs_token_bucket *tb = bucket;
    rs__gcra_verdict v;
    bool handed_off = false;
    for (;;) {
        snapshot s = read_snapshot(tb);
        if (rs__gcra_attempt(&tb->word, &s.word, s.offset, &s.config, n, max_wait_ns, now,
                             &handed_off, &v)) {
            rs__gcra_count(tb->counts, &v, n);
            return v;
        }
    }
}

bool rs_token_bucket_try_acquire_at(rs_token_bucket *tb, uint64_t n, uint64_t now_ns)
{
    return rs__gcra_try_acquire(tb, take, n, now_ns);
}

bool rs_token_bucket_try_acquire(rs_token_bucket *tb, uint64_t n)
{
    /* No clock read when the answer does not depend on the time. */
    return rs__gcra_try_acquire(tb, take, n, n != 0 ? now_of(tb) : 0);
}

int rs_token_bucket_reserve_at(rs_token_bucket *tb, uint64_t n, uint64_t max_wait_ns,
                               uint64_t *wait_ns, uint64_t now_ns)
{
    return rs__gcra_reserve(tb, take, n, max_wait_ns, wait_ns, now_ns);
}

int rs_token_bucket_reserve(rs_token_bucket *tb, uint64_t n, uint64_t max_wait_ns,
                            uint64_t *wait_ns)
{
    return rs_token_bucket_reserve_at(tb, n, max_wait_ns, wait_ns, now_of(tb));
}

int rs_token_bucket_acquire(rs_token_bucket *tb, uint64_t n, uint64_t timeout_ns)
{
    uint64_t wait_ns;
    int status = rs_token_bucket_reserve(tb, n, timeout_ns, &wait_ns);
    if (status == RS_OK && wait_ns > 0) {
        tb->clock->sleep_ns(tb->clock->ctx, wait_ns);
    }
    return status;
}

int rs_token_bucket_set_rate_at(rs_token_bucket *tb, double rate, uint64_t burst,
                                uint64_t now_ns)
{
    rs__gcra config;
    if (tb == NULL) {
        return rs_set_last_error(RS_E_INVAL, "tb: NULL");
    }
    int status = rs__gcra_init_named(&config, rate, burst, "rate", "burst");
    if (status != RS_OK) {
        return status;
    }
    /* Writers exclude each other by moving the version from even to odd. */
    uint64_t version = atomic_load_explicit(&tb->version, memory_order_relaxed);
    for (;;) {
        if (!(version & 1) &&
            atomic_compare_exchange_weak_explicit(&tb->version, &version, version + 1,
                                                  memory_order_acquire, memory_order_relaxed)) {
            break;
        }
        rs__cpu_relax();
        version = atomic_load_explicit(&tb->version, memory_order_relaxed);
    }
    /* Orders the odd version before the writes below, for the readers'
     * acquire fence. */
    atomic_thread_fence(memory_order_release);

    uint64_t offset = atomic_load_explicit(&tb->offset, memory_order_relaxed);
    uint64_t old_interval = atomic_load_explicit(&tb->interval_ns, memory_order_relaxed);
    uint64_t word = atomic_load_explicit(&tb->word, memory_order_relaxed);
    uint64_t next_offset;
    for (;;) {
        /* Readers that validated before the version turned odd may still
         * commit a grant; the compare-exchange below then fails and the
         * conversion is redone on their result. */
        uint64_t debt = rs__sat_sub(word + offset, now_ns);
        uint64_t tat = rs__sat_add(now_ns, rs__mul_div_ceil(debt, config.interval_ns, old_interval));
        next_offset = tat - (word + 1); /* so that word + 1 decodes to tat */
        if (atomic_compare_exchange_weak_explicit(&tb->word, &word, word + 1,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            rs__note_rewrite(&tb->word, word + 1);
            break;
        }
    }
    atomic_store_explicit(&tb->offset, next_offset, memory_order_relaxed);
    atomic_store_explicit(&tb->interval_ns, config.interval_ns, memory_order_relaxed);
    atomic_store_explicit(&tb->tau_ns, config.tau_ns, memory_order_relaxed);
    atomic_store_explicit(&tb->burst, config.burst, memory_order_relaxed);
    atomic_store_explicit(&tb->rate_bits, bits_of(rate), memory_order_relaxed);
    atomic_store_explicit(&tb->version, version + 2, memory_order_release);
    return RS_OK;
}

int rs_token_bucket_set_rate(rs_token_bucket *tb, double rate, uint64_t burst)
{
    return rs_token_bucket_set_rate_at(tb, rate, burst, now_of(tb));
}

uint64_t rs_token_bucket_wait_ns_at(rs_token_bucket *tb, uint64_t n, uint64_t now_ns)
{
    if (tb == NULL) {
        return UINT64_MAX;
    }
    if (n == 0) {
        return 0;
    }
    snapshot s = read_snapshot(tb);
    return rs__gcra_judge(&s.config, s.tat_ns, n, now_ns).wait_ns;
}

uint64_t rs_token_bucket_wait_ns(rs_token_bucket *tb, uint64_t n)
{
    return rs_token_bucket_wait_ns_at(tb, n, now_of(tb));
}

static int limiter_acquire(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                           uint64_t *wait_ns)
{
    return rs_token_bucket_reserve_at(self, n, max_wait_ns, wait_ns, now_ns);
}

static uint64_t limiter_wait_ns(void *self, uint64_t n, uint64_t now_ns)
{
    return rs_token_bucket_wait_ns_at(self, n, now_ns);
}

static const rs_clock *limiter_clock(void *self)
{
    return ((rs_token_bucket *)self)->clock;
}

static const rs_limiter_ops limiter_ops = { limiter_acquire, "token_bucket", limiter_wait_ns,
                                            true, limiter_clock };

rs_limiter rs_token_bucket_limiter(rs_token_bucket *tb)
{
    return rs__limiter_of(&limiter_ops, tb);
}

double rs_token_bucket_available_at(rs_token_bucket *tb, uint64_t now_ns)
{
    if (tb == NULL) {
        return 0.0;
    }
    snapshot s = read_snapshot(tb);
    return rs__gcra_available(&s.config, s.tat_ns, now_ns);
}

double rs_token_bucket_available(rs_token_bucket *tb)
{
    return rs_token_bucket_available_at(tb, now_of(tb));
}

int rs_token_bucket_metrics_at(rs_token_bucket *tb, rs_token_bucket_snapshot *m, uint64_t now_ns)
{
    if (tb == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    snapshot s = read_snapshot(tb);
    rs_token_bucket_snapshot snap = { 0 };
    /* A set_rate() racing with this may show its rate with the old burst. */
    snap.rate = double_of(atomic_load_explicit(&tb->rate_bits, memory_order_relaxed));
    snap.burst = s.config.burst;
    snap.available = rs__gcra_available(&s.config, s.tat_ns, now_ns);
    rs__gcra_counts_sum(tb->counts, &snap);
    *m = snap;
    return RS_OK;
}

int rs_token_bucket_metrics(rs_token_bucket *tb, rs_token_bucket_snapshot *m)
{
    return rs_token_bucket_metrics_at(tb, m, now_of(tb));
}
