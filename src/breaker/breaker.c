/* The circuit breaker's state machine and public API.
 *
 * Concurrency: the state and its generation live in one atomic word that
 * rs_breaker_allow() reads without locking, so CLOSED and DISABLED admit
 * with a single load. Everything else (the window, the probes, every
 * transition) is guarded by one per-breaker spinlock, held for a few dozen
 * instructions; transitions queue their callbacks, which run after the lock
 * is released (breaker_events.h). */
#include "resilience/breaker.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "events.h"
#include "probes.h"
#include "window.h"
#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/tally.h"

/* One call makes at most two transitions: HALF_OPEN -> OPEN (probes written
 * off) -> HALF_OPEN (an open time of 0). */
#define MAX_TRANSITIONS_PER_CALL 2u

/* Laid out by who writes what, so that two threads using one breaker move as
 * few cache lines between them as possible. */
struct rs_breaker {
    /* Read by every call; written only by transitions. */
    rs__atomic_u64 status;        /* generation << 32 | state */
    rs__atomic_u64 open_until_ns; /* end of the current OPEN period */
    const rs_clock *clock;
    uint32_t minimum_calls; /* effective: >= 1, <= window_size when COUNT_BASED */
    bool record_needs_time; /* a CLOSED-state record uses the time */
    rs_breaker_config cfg;

    /* Written by every refusal, and nothing else. */
    _Alignas(RS__CACHE_LINE) rs__atomic_u64 rejected;

    /* Written by every CLOSED-state record: the lock and all a COUNT_BASED
     * record touches share one line. Guarded by the lock, as is the rest. */
    _Alignas(RS__CACHE_LINE) rs__spinlock lock;
    uint32_t consecutive_failures;
    rs__breaker_window window;

    rs__breaker_events events;
    uint64_t open_duration_ns; /* of the current or last OPEN period */
    /* open_backoff: the openings since the breaker last closed (k), and the
     * random bits the next opening's jitter will use, drawn in advance so
     * that metrics can tell the next open time without drawing. */
    uint32_t openings;
    uint64_t open_random;
    rs__rng open_rng;
    rs__breaker_probes probes;
    /* Finished probes of the current HALF_OPEN period; "bad" = failed, or
     * slow while the slow-call rule is on. */
    uint32_t probe_calls;
    uint32_t probe_failures;
    uint32_t probe_slow;
    uint32_t probe_bad;
    /* Since creation, for metrics; rare, so under the lock. */
    uint64_t total_released, total_transitions;
    /* Judged outcomes since creation, a cache line per thread
     * (core/tally.h): counted under the lock, but on the lock's line they
     * would not fit, and on a shared line they would move it between the
     * cores of two recording threads with every record. */
    struct outcome_counts {
        _Alignas(RS__CACHE_LINE) rs__atomic_u64 successes; /* the shard, not each field */
        rs__atomic_u64 failures, slow;
    } outcomes[RS__TALLY_SHARDS];
    char name[]; /* the configured name, "" for none */
};

_Static_assert(offsetof(struct rs_breaker, window) + sizeof(rs__breaker_window) <=
                   offsetof(struct rs_breaker, lock) + RS__CACHE_LINE,
               "the lock and the window share one cache line");

static rs_breaker_state state_of(uint64_t status) { return (rs_breaker_state)(status & 0xffu); }
static uint32_t generation_of(uint64_t status) { return (uint32_t)(status >> 32); }

static uint64_t load_status(rs_breaker *b)
{
    return atomic_load_explicit(&b->status, memory_order_acquire);
}

static uint64_t clock_now(const rs_breaker *b) { return b->clock->now_ns(b->clock->ctx); }

static bool is_rate(double rate) { return rate >= 0.0 && rate <= 1.0; } /* false for NaN */

static int refuse_rate(const char *field, double rate)
{
    return rs_set_last_error(RS_E_INVAL, "rs_breaker_config.%s: %g is outside [0, 1]", field,
                             rate);
}

static int refuse_range(const char *field, uint32_t value, uint32_t max)
{
    return rs_set_last_error(RS_E_INVAL, "rs_breaker_config.%s: %" PRIu32
                             ", must be in [1, %" PRIu32 "]", field, value, max);
}

int rs_breaker_config_validate(const rs_breaker_config *cfg)
{
    if (cfg == NULL) {
        return rs_set_last_error(RS_E_INVAL, "cfg: NULL");
    }
    if (!is_rate(cfg->failure_rate)) {
        return refuse_rate("failure_rate", cfg->failure_rate);
    }
    if (!is_rate(cfg->slow_call_rate)) {
        return refuse_rate("slow_call_rate", cfg->slow_call_rate);
    }
    if (!is_rate(cfg->half_open_success_rate)) {
        return refuse_rate("half_open_success_rate", cfg->half_open_success_rate);
    }
    if (cfg->slow_call_rate > 0.0 && cfg->slow_call_ns == 0) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_breaker_config.slow_call_ns: 0 while slow_call_rate is %g, "
                                 "must be > 0 (the duration that makes a call slow)",
                                 cfg->slow_call_rate);
    }
    if (cfg->window_type != RS_WINDOW_COUNT_BASED && cfg->window_type != RS_WINDOW_TIME_BASED) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_breaker_config.window_type: %d, not an rs_breaker_window",
                                 (int)cfg->window_type);
    }
    if (cfg->window_size == 0 || cfg->window_size > RS_BREAKER_MAX_WINDOW_SIZE) {
        return refuse_range("window_size", cfg->window_size, RS_BREAKER_MAX_WINDOW_SIZE);
    }
    if (cfg->half_open_max_calls == 0 ||
        cfg->half_open_max_calls > RS_BREAKER_MAX_HALF_OPEN_CALLS) {
        return refuse_range("half_open_max_calls", cfg->half_open_max_calls,
                            RS_BREAKER_MAX_HALF_OPEN_CALLS);
    }
    if (cfg->success_threshold == 0) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_breaker_config.success_threshold: 0, must be >= 1");
    }
    if (cfg->open_ns == 0) { /* the open time grows: open_backoff says how */
        if (cfg->open_backoff.base_ns == 0) {
            return rs_set_last_error(RS_E_INVAL,
                                     "rs_breaker_config.open_ns: 0 while open_backoff.base_ns is "
                                     "0: no open time");
        }
        int status = rs_backoff_config_validate(&cfg->open_backoff);
        if (status != RS_OK) {
            return rs__error_nest(status, "rs_breaker_config.open_backoff");
        }
    }
    return RS_OK;
}

int rs_breaker_new(const rs_breaker_config *cfg, const rs_clock *clock, rs_breaker **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "out: NULL");
    }
    int status = rs_breaker_config_validate(cfg);
    if (status != RS_OK) {
        return status;
    }
    /* The layout above needs the breaker on a cache-line boundary. */
    size_t name_size = cfg->name != NULL ? strlen(cfg->name) + 1 : 1;
    rs_breaker *b = rs__malloc_aligned(sizeof *b + name_size, _Alignof(rs_breaker));
    if (b == NULL) {
        return RS_E_NOMEM;
    }
    memset(b, 0, sizeof *b); /* the counters of `outcomes` included */
    memcpy(b->name, cfg->name != NULL ? cfg->name : "", name_size);
    if (rs__breaker_window_init(&b->window, cfg->window_type, cfg->window_size) != RS_OK) {
        rs__free_aligned(b);
        return RS_E_NOMEM;
    }
    if (rs__breaker_probes_init(&b->probes, cfg->half_open_max_calls) != RS_OK) {
        rs__breaker_window_destroy(&b->window);
        rs__free_aligned(b);
        return RS_E_NOMEM;
    }
    b->cfg = *cfg;
    b->clock = clock != NULL ? clock : rs_clock_system();
    b->minimum_calls = cfg->minimum_calls > 0 ? cfg->minimum_calls : 1;
    if (cfg->window_type == RS_WINDOW_COUNT_BASED && b->minimum_calls > cfg->window_size) {
        b->minimum_calls = cfg->window_size;
    }
    b->record_needs_time = cfg->slow_call_ns > 0 || cfg->window_type == RS_WINDOW_TIME_BASED;
    b->open_duration_ns = cfg->open_ns != 0 ? cfg->open_ns : cfg->open_backoff.base_ns;
    if (cfg->open_ns == 0) {
        rs__rng_seed(&b->open_rng, cfg->open_backoff.seed);
        b->open_random = rs__rng_next(&b->open_rng);
    }
    rs__spin_init(&b->lock);
    rs__breaker_events_init(&b->events, &b->lock, cfg->on_state_change, cfg->ctx, cfg->events, b,
                            b->name);
    b->cfg.name = b->name; /* the caller's string need not outlive the breaker */
    atomic_init(&b->status, (uint64_t)RS_BREAKER_CLOSED);
    atomic_init(&b->open_until_ns, 0);
    atomic_init(&b->rejected, 0);
    *out = b;
    return RS_OK;
}

void rs_breaker_free(rs_breaker *b)
{
    if (b == NULL) {
        return;
    }
    rs__breaker_probes_destroy(&b->probes);
    rs__breaker_window_destroy(&b->window);
    rs__free_aligned(b);
}

const char *rs_breaker_state_name(rs_breaker_state s)
{
    switch (s) {
    case RS_BREAKER_CLOSED:
        return "CLOSED";
    case RS_BREAKER_OPEN:
        return "OPEN";
    case RS_BREAKER_HALF_OPEN:
        return "HALF_OPEN";
    case RS_BREAKER_FORCED_OPEN:
        return "FORCED_OPEN";
    case RS_BREAKER_DISABLED:
        return "DISABLED";
    }
    return "UNKNOWN";
}

/* ---- Under the lock from here on, unless a function says otherwise. ---- */

/* Which consecutive opening one entered from `from` is: the next while
 * probing keeps failing, the first otherwise. */
static uint32_t opening_from(const rs_breaker *b, rs_breaker_state from)
{
    if (from != RS_BREAKER_HALF_OPEN) {
        return 1;
    }
    return b->openings < UINT32_MAX ? b->openings + 1 : UINT32_MAX;
}

/* The length of an OPEN period entered from `from`: open_ns, or the
 * open_backoff delay of its place in the run of openings. */
static uint64_t open_duration_from(const rs_breaker *b, rs_breaker_state from)
{
    if (b->cfg.open_ns != 0) {
        return b->cfg.open_ns;
    }
    uint32_t k = opening_from(b, from);
    return rs_backoff_delay(&b->cfg.open_backoff, k, k > 1 ? b->open_duration_ns : 0,
                            b->open_random);
}

static void transition(rs_breaker *b, rs_breaker_state to, uint64_t now_ns)
{
    uint64_t status = atomic_load_explicit(&b->status, memory_order_relaxed);
    rs_breaker_state from = state_of(status);
    rs__breaker_probes_clear(&b->probes);
    b->probe_calls = b->probe_failures = b->probe_slow = b->probe_bad = 0;
    if (to == RS_BREAKER_CLOSED || to == RS_BREAKER_OPEN) {
        rs__breaker_window_reset(&b->window);
        b->consecutive_failures = 0;
    }
    if (to == RS_BREAKER_OPEN) {
        b->open_duration_ns = open_duration_from(b, from);
        b->openings = opening_from(b, from);
        if (b->cfg.open_ns == 0) {
            b->open_random = rs__rng_next(&b->open_rng);
        }
        atomic_store_explicit(&b->open_until_ns, rs__sat_add(now_ns, b->open_duration_ns),
                              memory_order_relaxed);
    } else if (to == RS_BREAKER_CLOSED) {
        b->openings = 0;
    }
    uint64_t generation = (uint64_t)(generation_of(status) + 1u);
    /* Release: a thread that sees the new state also sees open_until_ns. */
    atomic_store_explicit(&b->status, generation << 32 | (uint64_t)to, memory_order_release);
    b->total_transitions++;
    rs__breaker_events_push(&b->events, from, to, now_ns);
}

static bool is_slow(const rs_breaker *b, const rs_permit *p, uint64_t now_ns)
{
    return b->cfg.slow_call_ns > 0 && rs__sat_sub(now_ns, p->start_ns) > b->cfg.slow_call_ns;
}

/* rate threshold reached: part / whole >= threshold, with whole > 0. Division
 * (correctly rounded) makes exact thresholds exact: 3 of 10 meets 0.3. */
static bool reaches(uint64_t part, uint64_t whole, double threshold)
{
    return threshold > 0.0 && part > 0 && (double)part / (double)whole >= threshold;
}

static bool closed_should_trip(const rs_breaker *b)
{
    if (b->cfg.failure_threshold > 0 && b->consecutive_failures >= b->cfg.failure_threshold) {
        return true;
    }
    const rs__breaker_totals *t = &b->window.totals;
    if (t->calls < b->minimum_calls) {
        return false;
    }
    return reaches(t->failures, t->calls, b->cfg.failure_rate) ||
           reaches(t->slow, t->calls, b->cfg.slow_call_rate);
}

/* Closes or reopens HALF_OPEN once its probes have decided; true if it did. */
static bool judge_probes(rs_breaker *b, uint64_t now_ns)
{
    uint32_t good = b->probe_calls - b->probe_bad;
    if (b->cfg.half_open_success_rate > 0.0) {
        if (b->probe_calls < b->cfg.half_open_max_calls) {
            return false;
        }
        bool healthy = (double)good / (double)b->probe_calls >= b->cfg.half_open_success_rate;
        transition(b, healthy ? RS_BREAKER_CLOSED : RS_BREAKER_OPEN, now_ns);
        return true;
    }
    if (b->probe_bad > 0) {
        transition(b, RS_BREAKER_OPEN, now_ns);
        return true;
    }
    if (good >= b->cfg.success_threshold) {
        transition(b, RS_BREAKER_CLOSED, now_ns);
        return true;
    }
    return false;
}

/* Every judged outcome, for metrics. */
static void count_outcome(rs_breaker *b, bool failure, bool slow)
{
    if (failure) {
        RS__TALLY_ADD(b->outcomes, failures, 1);
    } else {
        RS__TALLY_ADD(b->outcomes, successes, 1);
    }
    if (slow) {
        RS__TALLY_ADD(b->outcomes, slow, 1);
    }
}

static void count_probe(rs_breaker *b, bool failure, bool slow)
{
    count_outcome(b, failure, slow);
    b->probe_calls++;
    b->probe_failures += failure;
    b->probe_slow += slow;
    b->probe_bad += failure || (slow && b->cfg.slow_call_rate > 0.0);
}

/* Writes off probes in flight for half_open_max_wait_ns or longer as
 * failures; true if that decided the half-open period. */
static bool write_off_lost_probes(rs_breaker *b, uint64_t now_ns)
{
    if (b->cfg.half_open_max_wait_ns == 0 || b->probes.count == 0) {
        return false;
    }
    uint32_t lost = rs__breaker_probes_expire(&b->probes, now_ns, b->cfg.half_open_max_wait_ns);
    for (uint32_t i = 0; i < lost; i++) {
        count_probe(b, true, false);
    }
    return lost > 0 && judge_probes(b, now_ns);
}

static bool probe_slot_free(const rs_breaker *b)
{
    uint32_t busy = b->probes.count;
    if (b->cfg.half_open_success_rate > 0.0) {
        /* Ratio mode judges exactly half_open_max_calls probes: admit no more. */
        busy += b->probe_calls;
    }
    return busy < b->cfg.half_open_max_calls;
}

static int refuse(rs_breaker *b)
{
    rs__counter_add(&b->rejected, 1);
    return RS_E_OPEN;
}

static void grant(rs_permit *p, uint64_t status, uint64_t now_ns)
{
    p->start_ns = now_ns;
    p->generation = generation_of(status);
}

/* allow() for everything but the lock-free cases. */
static int allow_locked(rs_breaker *b, rs_permit *p, uint64_t now_ns)
{
    for (;;) {
        uint64_t status = atomic_load_explicit(&b->status, memory_order_relaxed);
        switch (state_of(status)) {
        case RS_BREAKER_CLOSED:
        case RS_BREAKER_DISABLED:
            grant(p, status, now_ns);
            return RS_OK;
        case RS_BREAKER_FORCED_OPEN:
            return refuse(b);
        case RS_BREAKER_OPEN:
            if (now_ns < atomic_load_explicit(&b->open_until_ns, memory_order_relaxed)) {
                return refuse(b);
            }
            transition(b, RS_BREAKER_HALF_OPEN, now_ns);
            continue;
        case RS_BREAKER_HALF_OPEN:
            if (write_off_lost_probes(b, now_ns)) {
                continue;
            }
            if (!probe_slot_free(b)) {
                return refuse(b);
            }
            rs__breaker_probes_add(&b->probes, now_ns);
            grant(p, status, now_ns);
            return RS_OK;
        }
        return RS_E_OPEN; /* unreachable: the state is always one of the above */
    }
}

/* HALF_OPEN: finishes a probe (unless it was written off meanwhile). */
static void record_probe_locked(rs_breaker *b, const rs_permit *p, bool success,
                                uint64_t now_ns)
{
    if (write_off_lost_probes(b, now_ns) || !rs__breaker_probes_remove(&b->probes, p->start_ns)) {
        return;
    }
    count_probe(b, !success, is_slow(b, p, now_ns));
    (void)judge_probes(b, now_ns);
}

/* have_now false: the CLOSED-state outcome did not need a time, so the clock
 * is read only if it trips the breaker (the open period starts now). Inline:
 * this is the hot path. */
static inline void record_locked(rs_breaker *b, const rs_permit *p, bool success,
                                 bool have_now, uint64_t now_ns)
{
    uint64_t status = atomic_load_explicit(&b->status, memory_order_relaxed);
    if (generation_of(status) != p->generation) {
        return;
    }
    if (state_of(status) == RS_BREAKER_HALF_OPEN) {
        record_probe_locked(b, p, success, now_ns);
        return;
    }
    if (state_of(status) != RS_BREAKER_CLOSED) {
        return;
    }
    bool slow = is_slow(b, p, now_ns);
    count_outcome(b, !success, slow);
    rs__breaker_window_add(&b->window, !success, slow, now_ns);
    if (!success) {
        b->consecutive_failures++;
    } else if (b->consecutive_failures != 0) {
        b->consecutive_failures = 0;
    }
    if (closed_should_trip(b)) {
        transition(b, RS_BREAKER_OPEN, have_now ? now_ns : clock_now(b));
    }
}

/* ---- Public entry points: no lock held on entry. ---- */

/* Open (or forced open) with its open time not yet over: allow refuses. */
static inline bool refusing(const rs_breaker *b, rs_breaker_state state, uint64_t now_ns)
{
    return state == RS_BREAKER_FORCED_OPEN ||
           (state == RS_BREAKER_OPEN &&
            now_ns < atomic_load_explicit(&((rs_breaker *)b)->open_until_ns,
                                          memory_order_relaxed));
}

/* Shared by both public forms, so neither pays a call through the other's
 * exported (interposable) symbol. Without `have_now` the clock is read only
 * if the decision needs the time: a CLOSED breaker that judges neither
 * durations nor time windows does not (the permit's start_ns is then 0). */
static inline int allow(rs_breaker *b, rs_permit *p, bool have_now, uint64_t now_ns)
{
    uint64_t status = load_status(b);
    rs_breaker_state state = state_of(status);
    if (state == RS_BREAKER_CLOSED || state == RS_BREAKER_DISABLED) {
        grant(p, status, have_now || !b->record_needs_time ? now_ns : clock_now(b));
        return RS_OK;
    }
    if (!have_now) {
        now_ns = clock_now(b);
    }
    /* Failing fast must stay cheap while many callers hit an open breaker. */
    if (refusing(b, state, now_ns)) {
        return refuse(b);
    }
    rs__breaker_events_lock(&b->events, MAX_TRANSITIONS_PER_CALL);
    int rc = allow_locked(b, p, now_ns);
    rs__breaker_events_unlock(&b->events);
    return rc;
}

int rs_breaker_allow_at(rs_breaker *b, rs_permit *p, uint64_t now_ns)
{
    if (b == NULL || p == NULL) {
        return RS_E_INVAL;
    }
    return allow(b, p, true, now_ns);
}

bool rs_breaker_would_refuse_at(rs_breaker *b, uint64_t now_ns)
{
    return b != NULL && refusing(b, state_of(load_status(b)), now_ns);
}

bool rs_breaker_fail_fast_at(rs_breaker *b, uint64_t now_ns)
{
    return rs_breaker_would_refuse_at(b, now_ns) && refuse(b) == RS_E_OPEN;
}

int rs_breaker_allow(rs_breaker *b, rs_permit *p)
{
    if (b == NULL || p == NULL) {
        return RS_E_INVAL;
    }
    return allow(b, p, false, 0);
}

/* have_now false: read the clock only if this outcome needs a time. */
static inline void record(rs_breaker *b, const rs_permit *p, bool success, bool have_now,
                          uint64_t now_ns)
{
    if (b == NULL || p == NULL) {
        return;
    }
    uint64_t status = load_status(b);
    rs_breaker_state state = state_of(status);
    if (generation_of(status) != p->generation ||
        (state != RS_BREAKER_CLOSED && state != RS_BREAKER_HALF_OPEN)) {
        return; /* stale, or a state that judges nothing; rechecked under the lock */
    }
    if (!have_now && (state != RS_BREAKER_CLOSED || b->record_needs_time)) {
        now_ns = clock_now(b);
        have_now = true;
    }
    rs__breaker_events_lock(&b->events, MAX_TRANSITIONS_PER_CALL);
    record_locked(b, p, success, have_now, now_ns);
    rs__breaker_events_unlock(&b->events);
}

void rs_breaker_record(rs_breaker *b, const rs_permit *p, bool success)
{
    record(b, p, success, false, 0);
}

void rs_breaker_record_at(rs_breaker *b, const rs_permit *p, bool success, uint64_t now_ns)
{
    record(b, p, success, true, now_ns);
}

void rs_breaker_release(rs_breaker *b, const rs_permit *p)
{
    if (b == NULL || p == NULL) {
        return;
    }
    rs__breaker_events_lock(&b->events, 0);
    b->total_released++;
    uint64_t status = atomic_load_explicit(&b->status, memory_order_relaxed);
    if (generation_of(status) == p->generation && state_of(status) == RS_BREAKER_HALF_OPEN) {
        (void)rs__breaker_probes_remove(&b->probes, p->start_ns);
    }
    rs__breaker_events_unlock(&b->events);
}

rs_breaker_state rs_breaker_state_get(rs_breaker *b)
{
    return b != NULL ? state_of(load_status(b)) : RS_BREAKER_DISABLED;
}

void rs_breaker_force_at(rs_breaker *b, rs_breaker_state s, uint64_t now_ns)
{
    if (b == NULL || (unsigned)s > (unsigned)RS_BREAKER_DISABLED) {
        return;
    }
    rs__breaker_events_lock(&b->events, 1);
    if (state_of(atomic_load_explicit(&b->status, memory_order_relaxed)) != s) {
        transition(b, s, now_ns);
    }
    rs__breaker_events_unlock(&b->events);
}

void rs_breaker_force(rs_breaker *b, rs_breaker_state s)
{
    if (b != NULL) {
        rs_breaker_force_at(b, s, clock_now(b));
    }
}

int rs_breaker_metrics_at(rs_breaker *b, rs_breaker_snapshot *m, uint64_t now_ns)
{
    if (b == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    rs_breaker_snapshot snap = { 0 };
    rs__breaker_events_lock(&b->events, 0);
    rs_breaker_state state = state_of(atomic_load_explicit(&b->status, memory_order_relaxed));
    snap.state = state;
    if (state == RS_BREAKER_CLOSED) {
        rs__breaker_window_advance(&b->window, now_ns);
        snap.calls = b->window.totals.calls;
        snap.failures = b->window.totals.failures;
        snap.slow_calls = b->window.totals.slow;
        snap.consecutive_failures = b->consecutive_failures;
    } else if (state == RS_BREAKER_HALF_OPEN) {
        snap.calls = b->probe_calls;
        snap.failures = b->probe_failures;
        snap.slow_calls = b->probe_slow;
        snap.probes_in_flight = b->probes.count;
    }
    if (state == RS_BREAKER_OPEN) {
        snap.until_half_open_ns =
            rs__sat_sub(atomic_load_explicit(&b->open_until_ns, memory_order_relaxed), now_ns);
        snap.open_duration_ns = b->open_duration_ns;
    } else {
        snap.until_half_open_ns = state == RS_BREAKER_FORCED_OPEN ? UINT64_MAX : 0;
        snap.open_duration_ns = open_duration_from(b, state);
    }
    RS__TALLY_SUM(snap.total_successes, b->outcomes, successes);
    RS__TALLY_SUM(snap.total_failures, b->outcomes, failures);
    RS__TALLY_SUM(snap.total_slow_calls, b->outcomes, slow);
    snap.total_released = b->total_released;
    snap.total_transitions = b->total_transitions;
    rs__breaker_events_unlock(&b->events);
    snap.successes = snap.calls - snap.failures;
    if (snap.calls > 0) {
        snap.failure_rate = (double)snap.failures / (double)snap.calls;
        snap.slow_call_rate = (double)snap.slow_calls / (double)snap.calls;
    }
    snap.rejected = rs__counter_get(&b->rejected);
    *m = snap;
    return RS_OK;
}

int rs_breaker_metrics(rs_breaker *b, rs_breaker_snapshot *m)
{
    if (b == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    return rs_breaker_metrics_at(b, m, clock_now(b));
}

const rs_clock *rs_breaker_clock(const rs_breaker *b)
{
    return b != NULL ? b->clock : NULL;
}
