/* Token bucket as GCRA (the Generic Cell Rate Algorithm).
 *
 * The state is TAT, the theoretical arrival time: the instant at which the
 * bucket will be full again. `debt = max(TAT, now) - now` is the time the
 * consumed tokens still need to refill (debt / interval tokens); n tokens fit
 * when `debt + n * interval <= tau`, where tau = burst * interval is the
 * capacity in time, and taking them moves TAT to `max(TAT, now) + n *
 * interval`. An idle bucket needs no update: a TAT in the past simply means
 * "full".
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

#include <math.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"

struct rs_token_bucket {
    rs__atomic_u64 version;     /* seqlock over the four words below; odd while written */
    rs__atomic_u64 word;        /* TAT - offset, mod 2^64; strictly increasing */
    rs__atomic_u64 offset;
    rs__atomic_u64 interval_ns; /* ns per token, >= 1 */
    rs__atomic_u64 tau_ns;      /* burst * interval_ns: the capacity as time */
    rs__atomic_u64 burst;
    const rs_clock *clock;
};

/* One consistent view: the state word and the configuration it belongs to. */
typedef struct snapshot {
    uint64_t word;
    uint64_t tat_ns;
    uint64_t offset;
    uint64_t interval_ns;
    uint64_t tau_ns;
    uint64_t burst;
} snapshot;

/* The outcome of asking for n tokens at `now` against a snapshot. */
typedef struct verdict {
    uint64_t wait_ns;    /* until the tokens may be used; UINT64_MAX = never */
    uint64_t new_tat_ns; /* TAT if they are taken */
    bool oversized;      /* n > burst: never */
    bool taken;
} verdict;

/* ceil(1e9 / rate) as a whole number of ns, or 0 when out of range. */
static uint64_t interval_from_rate(double rate)
{
    if (!rs__is_finite_positive(rate) || rate > 1e9) {
        return 0;
    }
    double exact = 1e9 / rate;
    if (!(exact < 18446744073709551616.0)) { /* 2^64 */
        return 0;
    }
    double nearest = floor(exact + 0.5);
    double interval = fabs(exact - nearest) <= exact * 1e-12 ? nearest : ceil(exact);
    return interval >= 18446744073709551616.0 ? 0 : rs__sat_from_double(interval);
}

/* Validates rate and burst; fills interval and tau on success. */
static int derive(double rate, uint64_t burst, uint64_t *interval_ns, uint64_t *tau_ns)
{
    uint64_t interval = interval_from_rate(rate);
    uint64_t tau;
    if (interval == 0 || burst == 0 || __builtin_mul_overflow(burst, interval, &tau)) {
        return RS_E_INVAL;
    }
    *interval_ns = interval;
    *tau_ns = tau;
    return RS_OK;
}

int rs_token_bucket_config_validate(const rs_token_bucket_config *cfg)
{
    uint64_t interval, tau;
    return cfg == NULL ? RS_E_INVAL : derive(cfg->rate, cfg->burst, &interval, &tau);
}

int rs_token_bucket_new(const rs_token_bucket_config *cfg, const rs_clock *clock,
                        rs_token_bucket **out)
{
    uint64_t interval, tau;
    if (out == NULL || cfg == NULL || derive(cfg->rate, cfg->burst, &interval, &tau) != RS_OK) {
        return RS_E_INVAL;
    }
    rs_token_bucket *tb = rs__malloc(sizeof *tb);
    if (tb == NULL) {
        return RS_E_NOMEM;
    }
    atomic_init(&tb->version, 0);
    atomic_init(&tb->word, 0); /* TAT 0: full at any instant */
    atomic_init(&tb->offset, 0);
    atomic_init(&tb->interval_ns, interval);
    atomic_init(&tb->tau_ns, tau);
    atomic_init(&tb->burst, cfg->burst);
    tb->clock = clock != NULL ? clock : rs_clock_system();
    *out = tb;
    return RS_OK;
}

void rs_token_bucket_free(rs_token_bucket *tb)
{
    rs__free(tb);
}

static uint64_t now_of(const rs_token_bucket *tb)
{
    return tb->clock->now_ns(tb->clock->ctx);
}

/* Reads the state word and its configuration consistently (the seqlock
 * reader: data loads between two reads of an even, unchanged version). */
static snapshot read_snapshot(rs_token_bucket *tb)
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
        s.interval_ns = atomic_load_explicit(&tb->interval_ns, memory_order_relaxed);
        s.tau_ns = atomic_load_explicit(&tb->tau_ns, memory_order_relaxed);
        s.burst = atomic_load_explicit(&tb->burst, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&tb->version, memory_order_relaxed) == before) {
            s.tat_ns = s.word + s.offset; /* wraps by design: the offset is mod 2^64 */
            return s;
        }
    }
}

/* GCRA for n >= 1 tokens at `now`. A wait of UINT64_MAX means never: n
 * exceeds the burst, or the new TAT would lie beyond 64-bit time. */
static verdict judge(const snapshot *s, uint64_t n, uint64_t now)
{
    verdict v = { UINT64_MAX, 0, n > s->burst, false };
    if (v.oversized) {
        return v;
    }
    uint64_t start = rs__max_u64(s->tat_ns, now);
    uint64_t cost = n * s->interval_ns; /* <= tau, so it cannot overflow */
    if (__builtin_add_overflow(start, cost, &v.new_tat_ns)) {
        return v;
    }
    /* The tokens may be used once the new TAT is within tau of the clock;
     * new TAT - now - tau < UINT64_MAX, so a real wait is never "never". */
    v.wait_ns = rs__sat_sub(v.new_tat_ns - now, s->tau_ns);
    return v;
}

/* Takes n >= 1 tokens if the wait they need is at most max_wait_ns. */
static verdict take(rs_token_bucket *tb, uint64_t n, uint64_t max_wait_ns, uint64_t now)
{
    for (;;) {
        snapshot s = read_snapshot(tb);
        verdict v = judge(&s, n, now);
        if (v.wait_ns == UINT64_MAX || v.wait_ns > max_wait_ns) {
            return v;
        }
        /* The word moves exactly as TAT does under this snapshot's offset. */
        uint64_t next = s.word + (v.new_tat_ns - s.tat_ns);
        if (atomic_compare_exchange_weak_explicit(&tb->word, &s.word, next, memory_order_acq_rel,
                                                  memory_order_relaxed)) {
            v.taken = true;
            return v;
        }
    }
}

bool rs_token_bucket_try_acquire_at(rs_token_bucket *tb, uint64_t n, uint64_t now_ns)
{
    if (tb == NULL) {
        return false;
    }
    return n == 0 || take(tb, n, 0, now_ns).taken;
}

bool rs_token_bucket_try_acquire(rs_token_bucket *tb, uint64_t n)
{
    if (tb == NULL || n == 0) {
        return tb != NULL;
    }
    return take(tb, n, 0, now_of(tb)).taken;
}

int rs_token_bucket_reserve_at(rs_token_bucket *tb, uint64_t n, uint64_t max_wait_ns,
                               uint64_t *wait_ns, uint64_t now_ns)
{
    if (wait_ns == NULL) {
        return RS_E_INVAL;
    }
    *wait_ns = UINT64_MAX;
    if (tb == NULL) {
        return RS_E_INVAL;
    }
    if (n == 0) {
        *wait_ns = 0;
        return RS_OK;
    }
    verdict v = take(tb, n, max_wait_ns, now_ns);
    if (v.oversized) {
        return RS_E_INVAL;
    }
    *wait_ns = v.wait_ns;
    return v.taken ? RS_OK : RS_E_LIMITED;
}

int rs_token_bucket_reserve(rs_token_bucket *tb, uint64_t n, uint64_t max_wait_ns,
                            uint64_t *wait_ns)
{
    if (tb == NULL) {
        return rs_token_bucket_reserve_at(tb, n, max_wait_ns, wait_ns, 0);
    }
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
    uint64_t interval, tau;
    if (tb == NULL || derive(rate, burst, &interval, &tau) != RS_OK) {
        return RS_E_INVAL;
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
        uint64_t tat = rs__sat_add(now_ns, rs__mul_div_ceil(debt, interval, old_interval));
        next_offset = tat - (word + 1); /* so that word + 1 decodes to tat */
        if (atomic_compare_exchange_weak_explicit(&tb->word, &word, word + 1,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            break;
        }
    }
    atomic_store_explicit(&tb->offset, next_offset, memory_order_relaxed);
    atomic_store_explicit(&tb->interval_ns, interval, memory_order_relaxed);
    atomic_store_explicit(&tb->tau_ns, tau, memory_order_relaxed);
    atomic_store_explicit(&tb->burst, burst, memory_order_relaxed);
    atomic_store_explicit(&tb->version, version + 2, memory_order_release);
    return RS_OK;
}

int rs_token_bucket_set_rate(rs_token_bucket *tb, double rate, uint64_t burst)
{
    if (tb == NULL) {
        return RS_E_INVAL;
    }
    return rs_token_bucket_set_rate_at(tb, rate, burst, now_of(tb));
}

double rs_token_bucket_available_at(rs_token_bucket *tb, uint64_t now_ns)
{
    if (tb == NULL) {
        return 0.0;
    }
    snapshot s = read_snapshot(tb);
    uint64_t debt = rs__sat_sub(s.tat_ns, now_ns);
    /* Split into whole tokens and a fraction so that large bursts keep every
     * digit a double can hold. */
    double whole, fraction;
    if (debt <= s.tau_ns) {
        uint64_t room = s.tau_ns - debt;
        whole = (double)(room / s.interval_ns);
        fraction = (double)(room % s.interval_ns) / (double)s.interval_ns;
    } else {
        uint64_t owed = debt - s.tau_ns;
        whole = -(double)(owed / s.interval_ns);
        fraction = -(double)(owed % s.interval_ns) / (double)s.interval_ns;
    }
    return whole + fraction;
}

double rs_token_bucket_available(rs_token_bucket *tb)
{
    return tb != NULL ? rs_token_bucket_available_at(tb, now_of(tb)) : 0.0;
}
