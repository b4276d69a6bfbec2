/* Sliding-window limiter: an exact log of admissions, or the two-bucket
 * weighted counter. Both keep their state under one spinlock: the
 * algorithms update several words together, and each critical section is a
 * few dozen instructions (log eviction is amortised O(1): every slot is
 * written once and evicted once). */
#include "resilience/sliding_window.h"

#include <inttypes.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/limiter.h"
#include "core/lock.h"
#include "core/window_counter.h"

/* One log entry: `count` units admitted at `at_ns` (consecutive admissions
 * at the same instant share a slot). Every slot holds >= 1 unit and at most
 * `limit` units are in the log, so `limit` slots always suffice. */
typedef struct slot {
    uint64_t at_ns;
    uint64_t count;
} slot;

struct rs_sliding_window {
    rs__spinlock lock;
    uint64_t limit;
    uint64_t window_ns;
    rs_window_kind kind;
    const rs_clock *clock;
    uint64_t latest_ns; /* the latest instant seen: time never goes back */
    /* Written under the lock, read by metrics: see rs__counter_bump(). */
    rs__atomic_u64 admitted, admitted_units, refused;
    /* RS_WINDOW_COUNTER */
    uint64_t fixed_index; /* which fixed window `current` counts: now / window_ns */
    uint64_t previous;    /* units admitted in fixed window fixed_index - 1 */
    uint64_t current;     /* units admitted in fixed window fixed_index */
    /* RS_WINDOW_LOG: a ring of `limit` slots, oldest at `head` */
    uint64_t head;
    uint64_t used;  /* slots in use */
    uint64_t total; /* units in the used slots */
    slot ring[];
};

int rs_sliding_window_config_validate(const rs_sliding_window_config *cfg)
{
    if (cfg == NULL) {
        return rs_set_last_error(RS_E_INVAL, "cfg: NULL");
    }
    if (cfg->limit == 0) {
        return rs_set_last_error(RS_E_INVAL, "rs_sliding_window_config.limit: 0, must be >= 1");
    }
    if (cfg->window_ns == 0) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_sliding_window_config.window_ns: 0, must be >= 1");
    }
    switch (cfg->kind) {
    case RS_WINDOW_LOG:
        if (cfg->limit > RS_SLIDING_WINDOW_LOG_MAX_LIMIT) {
            return rs_set_last_error(RS_E_INVAL,
                                     "rs_sliding_window_config.limit: %" PRIu64
                                     ", must be <= %" PRIu64 " for RS_WINDOW_LOG",
                                     cfg->limit, RS_SLIDING_WINDOW_LOG_MAX_LIMIT);
        }
        return RS_OK;
    case RS_WINDOW_COUNTER:
        return RS_OK;
    }
    return rs_set_last_error(RS_E_INVAL,
                             "rs_sliding_window_config.kind: %d, not an rs_window_kind",
                             (int)cfg->kind);
}

int rs_sliding_window_new(const rs_sliding_window_config *cfg, const rs_clock *clock,
                          rs_sliding_window **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "out: NULL");
    }
    int status = rs_sliding_window_config_validate(cfg);
    if (status != RS_OK) {
        return status;
    }
    /* limit <= 2^20 for a log, so the size cannot overflow. */
    size_t slots = cfg->kind == RS_WINDOW_LOG ? (size_t)cfg->limit : 0;
    rs_sliding_window *w = rs__calloc(1, sizeof *w + slots * sizeof(slot));
    if (w == NULL) {
        return RS_E_NOMEM;
    }
    rs__spin_init(&w->lock);
    w->limit = cfg->limit;
    w->window_ns = cfg->window_ns;
    w->kind = cfg->kind;
    w->clock = clock != NULL ? clock : rs_clock_system();
    *out = w;
    return RS_OK;
}

void rs_sliding_window_free(rs_sliding_window *w)
{
    rs__free(w);
}

/* The window's time; 0 for NULL, which every caller refuses anyway. */
static uint64_t now_of(const rs_sliding_window *w)
{
    return w != NULL ? w->clock->now_ns(w->clock->ctx) : 0;
}

/* An instant, with its fixed window and the time elapsed in it (the counter
 * needs them; the divisions are done before taking the lock). */
typedef struct instant {
    uint64_t ns;
    uint64_t index;   /* ns / window_ns */
    uint64_t elapsed; /* ns % window_ns */
} instant;

static instant instant_of(const rs_sliding_window *w, uint64_t ns)
{
    if (w->kind != RS_WINDOW_COUNTER) {
        return (instant){ ns, 0, 0 };
    }
    return (instant){ ns, ns / w->window_ns, ns % w->window_ns };
}

/* The instant a call under the lock works at: never before the latest one. */
static instant advance(rs_sliding_window *w, instant now)
{
    if (now.ns < w->latest_ns) {
        return instant_of(w, w->latest_ns);
    }
    w->latest_ns = now.ns;
    return now;
}

/* ---- log ---------------------------------------------------------------- */

/* The slot `age` places after the oldest (age < limit). */
static slot *slot_at(rs_sliding_window *w, uint64_t age)
{
    uint64_t i = w->head + age; /* < 2 * limit: no division needed */
    return &w->ring[i < w->limit ? i : i - w->limit];
}

/* Drops the slots that have left the window (now - at_ns >= window_ns). */
static void log_evict(rs_sliding_window *w, uint64_t now)
{
    while (w->used > 0 && now - w->ring[w->head].at_ns >= w->window_ns) {
        w->total -= w->ring[w->head].count;
        w->head = w->head + 1 < w->limit ? w->head + 1 : 0;
        w->used--;
    }
}

static bool log_admit(rs_sliding_window *w, uint64_t n, uint64_t now)
{
    log_evict(w, now);
    if (w->total + n > w->limit) {
        return false;
    }
    slot *newest = w->used > 0 ? slot_at(w, w->used - 1) : NULL;
    if (newest != NULL && newest->at_ns == now) {
        newest->count += n;
    } else {
        *slot_at(w, w->used) = (slot){ now, n };
        w->used++;
    }
    w->total += n;
    return true;
}

/* The instant at which n units fit, with nothing admitted meanwhile: when
 * enough of the oldest slots have expired. False when that lies beyond
 * 64-bit time. */
static bool log_fit_at(rs_sliding_window *w, uint64_t n, uint64_t now, uint64_t *at_ns)
{
    log_evict(w, now);
    if (w->total + n <= w->limit) {
        *at_ns = now;
        return true;
    }
    uint64_t excess = w->total + n - w->limit;
    uint64_t freed = 0;
    for (uint64_t age = 0;; age++) {
        const slot *s = slot_at(w, age);
        freed += s->count;
        if (freed >= excess) { /* reached: total >= excess since n <= limit */
            return !__builtin_add_overflow(s->at_ns, w->window_ns, at_ns);
        }
    }
}

/* ---- counter ------------------------------------------------------------- */

/* Moves the two counters to the fixed window that contains now. */
static void counter_rotate(rs_sliding_window *w, instant now)
{
    if (now.index == w->fixed_index) {
        return;
    }
    w->previous = now.index == w->fixed_index + 1 ? w->current : 0;
    w->current = 0;
    w->fixed_index = now.index;
}

static rs__window_counter counter_of(const rs_sliding_window *w)
{
    return (rs__window_counter){ w->limit, w->window_ns };
}

static bool counter_admit(rs_sliding_window *w, uint64_t n, instant now)
{
    rs__window_counter c = counter_of(w);
    counter_rotate(w, now);
    if (!rs__window_counter_fits(&c, w->previous, w->current, n, now.elapsed)) {
        return false;
    }
    w->current += n; /* <= limit after the check */
    return true;
}

static bool counter_fit_at(rs_sliding_window *w, uint64_t n, instant now, uint64_t *at_ns)
{
    rs__window_counter c = counter_of(w);
    counter_rotate(w, now);
    return rs__window_counter_fit_time(&c, w->previous, w->current, n, now.ns, now.elapsed,
                                       at_ns);
}

static uint64_t counter_estimate(rs_sliding_window *w, instant now)
{
    rs__window_counter c = counter_of(w);
    counter_rotate(w, now);
    return rs__window_counter_estimate(&c, w->previous, w->current, now.elapsed);
}

/* Under the lock: the wait from the caller's `from_ns` until 1 <= n <=
 * limit units fit at the instant `at` the window works at (>= from_ns), if
 * nothing else is admitted meanwhile; UINT64_MAX when not before the end of
 * 64-bit time, so that a refusal there never reads as "now". */
static uint64_t wait_locked(rs_sliding_window *w, uint64_t n, instant at, uint64_t from_ns)
{
    uint64_t fit_ns;
    bool fits = w->kind == RS_WINDOW_LOG ? log_fit_at(w, n, at.ns, &fit_ns)
                                         : counter_fit_at(w, n, at, &fit_ns);
    return fits ? rs__sat_sub(fit_ns, from_ns) : UINT64_MAX;
}

/* Under one lock: admits 1 <= n <= limit at now_ns, or, when wait_ns is
 * given, says how long until they would fit, so that a refusal and its
 * wait come from the same state (the wait is then at least 1). */
static bool admit_or_wait(rs_sliding_window *w, uint64_t n, uint64_t now_ns, uint64_t *wait_ns)
{
    instant at = instant_of(w, now_ns);
    rs__spin_lock(&w->lock);
    at = advance(w, at);
    bool admitted = w->kind == RS_WINDOW_LOG ? log_admit(w, n, at.ns) : counter_admit(w, n, at);
    if (admitted) {
        rs__counter_bump(&w->admitted, 1);
        rs__counter_bump(&w->admitted_units, n);
    } else {
        rs__counter_bump(&w->refused, 1);
        if (wait_ns != NULL) {
            *wait_ns = wait_locked(w, n, at, now_ns);
        }
    }
    rs__spin_unlock(&w->lock);
    return admitted;
}

/* ---- public API ------------------------------------------------------------ */

bool rs_sliding_window_try_acquire_at(rs_sliding_window *w, uint64_t n, uint64_t now_ns)
{
    if (w == NULL || n > w->limit) {
        return false;
    }
    return n == 0 || admit_or_wait(w, n, now_ns, NULL);
}

bool rs_sliding_window_try_acquire(rs_sliding_window *w, uint64_t n)
{
    if (w == NULL || n == 0 || n > w->limit) {
        return w != NULL && n == 0;
    }
    return rs_sliding_window_try_acquire_at(w, n, now_of(w));
}

uint64_t rs_sliding_window_wait_ns_at(rs_sliding_window *w, uint64_t n, uint64_t now_ns)
{
    if (w == NULL || n > w->limit) {
        return UINT64_MAX;
    }
    if (n == 0) {
        return 0;
    }
    instant at = instant_of(w, now_ns);
    rs__spin_lock(&w->lock);
    at = advance(w, at);
    /* Measured from the caller's instant, which may be older than `at`. */
    uint64_t wait = wait_locked(w, n, at, now_ns);
    rs__spin_unlock(&w->lock);
    return wait;
}

uint64_t rs_sliding_window_wait_ns(rs_sliding_window *w, uint64_t n)
{
    if (w == NULL || n == 0 || n > w->limit) {
        return rs_sliding_window_wait_ns_at(w, n, 0);
    }
    return rs_sliding_window_wait_ns_at(w, n, now_of(w));
}

/* Under the lock: the units counted against the window at `at`. */
static uint64_t count_locked(rs_sliding_window *w, instant at)
{
    if (w->kind == RS_WINDOW_LOG) {
        log_evict(w, at.ns);
        return w->total;
    }
    return counter_estimate(w, at);
}

uint64_t rs_sliding_window_count_at(rs_sliding_window *w, uint64_t now_ns)
{
    if (w == NULL) {
        return 0;
    }
    instant at = instant_of(w, now_ns);
    rs__spin_lock(&w->lock);
    uint64_t count = count_locked(w, advance(w, at));
    rs__spin_unlock(&w->lock);
    return count;
}

uint64_t rs_sliding_window_count(rs_sliding_window *w)
{
    return rs_sliding_window_count_at(w, now_of(w));
}

/* rs_limiter adapter: a window cannot reserve the future, so a refusal
 * reports when to ask again (UINT64_MAX: not before the end of time). */
static int limiter_acquire(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                           uint64_t *wait_ns)
{
    (void)max_wait_ns;
    rs_sliding_window *w = self;
    if (n > w->limit) {
        *wait_ns = UINT64_MAX;
        return RS_E_INVAL;
    }
    uint64_t wait = 0;
    bool admitted = n == 0 || admit_or_wait(w, n, now_ns, &wait);
    *wait_ns = admitted ? 0 : wait;
    return admitted ? RS_OK : RS_E_LIMITED;
}

static uint64_t limiter_wait_ns(void *self, uint64_t n, uint64_t now_ns)
{
    return rs_sliding_window_wait_ns_at(self, n, now_ns);
}

static const rs_clock *limiter_clock(void *self)
{
    return ((rs_sliding_window *)self)->clock;
}

static const rs_limiter_ops limiter_ops = { limiter_acquire, "sliding_window", limiter_wait_ns,
                                            false, limiter_clock };

rs_limiter rs_sliding_window_limiter(rs_sliding_window *w)
{
    return rs__limiter_of(&limiter_ops, w);
}

int rs_sliding_window_metrics_at(rs_sliding_window *w, rs_sliding_window_snapshot *m,
                                 uint64_t now_ns)
{
    if (w == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    rs_sliding_window_snapshot snap = { w->limit, w->window_ns, w->kind, 0, 0, 0, 0 };
    instant at = instant_of(w, now_ns);
    rs__spin_lock(&w->lock);
    snap.count = count_locked(w, advance(w, at));
    snap.admitted = rs__counter_get(&w->admitted);
    snap.admitted_units = rs__counter_get(&w->admitted_units);
    snap.refused = rs__counter_get(&w->refused);
    rs__spin_unlock(&w->lock);
    *m = snap;
    return RS_OK;
}

int rs_sliding_window_metrics(rs_sliding_window *w, rs_sliding_window_snapshot *m)
{
    return rs_sliding_window_metrics_at(w, m, now_of(w));
}
