/* Sliding counter in a shared mapping: core/window_counter.h's estimate, the
 * one the in-process RS_WINDOW_COUNTER computes, over state that every
 * process maps and that no lock protects, so a process dying at any instant
 * leaves nothing held and nothing half-written.
 *
 * State words: `latest`, the latest instant any call has used (time never
 * runs backwards, as in the in-process window), and two slots; fixed window
 * k counts in slot k & 1. A slot is one word: a seal bit, the low 31 bits of
 * its window's index (the tag) and a 32-bit count. The count of window k is
 * the slot's count if the slot carries k's tag, else 0; so window k+2 reuses
 * k's slot without anyone clearing it.
 *
 * A call at instant t in window k = t / W (after t = max(t, latest)):
 *  1. seals slot k-1: sets its seal bit, with tag k-1 and the count of
 *     window k-1 (0 if the slot held an older window). A sealed slot never
 *     changes again until window k+1 reuses it, so P, the previous window's
 *     count, is final: a straggler still working in window k-1 sees its
 *     compare-exchange fail and starts over in window k;
 *  2. reads slot k: C, the current window's count;
 *  3. admits n if the estimate allows it, with one compare-exchange of slot
 *     k from C to C + n; if that fails because another call admitted, it
 *     judges again with the new C.
 * After reading a slot a call checks that `latest` is still in window k; if
 * not, time has moved to a later window under it (the slot may already
 * belong to k+2), and it starts over there. Every write to a slot is a
 * compare-exchange from the value the call judged, so no decision is ever
 * applied to a state other than the one it was made on.
 *
 * Tags are 31 bits: a slot untouched for a multiple of 2^31 windows (and no
 * call in the window before) is taken for the current window's and its old
 * count refuses requests for up to two windows. That errs on the safe side
 * and needs 24 idle days with 1 ms windows.
 *
 * Configuration words in the file: limit, window_ns, 0, 0. */
#include "resilience/shm.h"

#include <inttypes.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/limiter.h"
#include "core/tally.h"
#include "core/window_counter.h"
#include "internal.h"

#define SEALED (UINT64_C(1) << 63)
#define TAG_MASK ((UINT64_C(1) << 31) - 1)
#define COUNT_MASK UINT64_C(0xFFFFFFFF)

struct rs_shm_sliding_window {
    rs__shm_file *file;
    rs__atomic_u64 *latest; /* ns on CLOCK_MONOTONIC */
    rs__atomic_u64 *slots;  /* [2] */
    rs__window_counter counter;
    /* This process's admissions through this handle, a cache line per
     * thread (core/tally.h): the file holds only the shared state. */
    struct counts {
        _Alignas(RS__CACHE_LINE) rs__atomic_u64 admitted; /* the shard, not each field */
        rs__atomic_u64 admitted_units, refused;
    } counts[RS__TALLY_SHARDS];
};

static uint64_t slot_word(uint64_t index, uint64_t count, bool sealed)
{
    return (sealed ? SEALED : 0) | (index & TAG_MASK) << 32 | count;
}

static uint64_t count_in(uint64_t word, uint64_t index)
{
    return ((word >> 32) & TAG_MASK) == (index & TAG_MASK) ? word & COUNT_MASK : 0;
}

static bool words_valid(const uint64_t words[RS__SHM_CONFIG_WORDS])
{
    return words[0] != 0 && words[0] <= RS_SHM_SLIDING_WINDOW_MAX_LIMIT && words[1] != 0;
}

static const rs__shm_kind window_kind = { RS__SHM_KIND_SLIDING_WINDOW,
                                          "rs_shm_sliding_window_open",
                                          { "limit", "window_ns" }, words_valid };

int rs_shm_sliding_window_open(const char *name, const rs_sliding_window_config *cfg,
                               unsigned flags, rs_shm_sliding_window **out)
{
    uint64_t words[RS__SHM_CONFIG_WORDS] = { 0 };
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "%s: out is NULL", window_kind.opener);
    }
    if (cfg != NULL) {
        rs_set_last_error(RS_OK, NULL);
        if (rs_sliding_window_config_validate(cfg) != RS_OK) {
            return rs__shm_refuse_config("%s: cfg: invalid rs_sliding_window_config (limit %" PRIu64
                                         ", window_ns %" PRIu64 ", kind %d)",
                                         window_kind.opener, cfg->limit, cfg->window_ns,
                                         (int)cfg->kind);
        }
        if (cfg->kind != RS_WINDOW_COUNTER) {
            return rs_set_last_error(RS_E_INVAL,
                                     "%s: rs_sliding_window_config.kind: RS_WINDOW_LOG cannot "
                                     "be shared (only RS_WINDOW_COUNTER)",
                                     window_kind.opener);
        }
        if (cfg->limit > RS_SHM_SLIDING_WINDOW_MAX_LIMIT) {
            return rs_set_last_error(RS_E_INVAL,
                                     "%s: rs_sliding_window_config.limit: %" PRIu64
                                     " above RS_SHM_SLIDING_WINDOW_MAX_LIMIT",
                                     window_kind.opener, cfg->limit);
        }
        words[0] = cfg->limit;
        words[1] = cfg->window_ns;
    }
    rs_shm_sliding_window *w = rs__malloc_aligned(sizeof *w, _Alignof(rs_shm_sliding_window));
    if (w == NULL) {
        return RS_E_NOMEM;
    }
    rs__tally_init(w->counts, sizeof w->counts[0]);
    uint64_t in_force[RS__SHM_CONFIG_WORDS];
    int status = rs__shm_map(name, &window_kind, cfg != NULL ? words : NULL, flags, in_force,
                             &w->file);
    if (status != RS_OK) {
        rs__free_aligned(w);
        return status;
    }
    w->latest = &w->file->state[0];
    w->slots = &w->file->state[1];
    w->counter = (rs__window_counter){ in_force[0], in_force[1] };
    *out = w;
    return RS_OK;
}

void rs_shm_sliding_window_close(rs_shm_sliding_window *w)
{
    if (w != NULL) {
        rs__shm_unmap(w->file);
        rs__free_aligned(w);
    }
}

int rs_shm_sliding_window_config_get(const rs_shm_sliding_window *w,
                                     rs_sliding_window_config *cfg)
{
    if (w == NULL || cfg == NULL) {
        return RS_E_INVAL;
    }
    *cfg = (rs_sliding_window_config){ .limit = w->counter.limit,
                                       .window_ns = w->counter.window_ns,
                                       .kind = RS_WINDOW_COUNTER };
    return RS_OK;
}

/* What a call works on: its instant and the two counts there. */
typedef struct view {
    uint64_t now_ns;
    uint64_t index;   /* now_ns / W */
    uint64_t elapsed; /* now_ns % W */
    uint64_t previous;
    uint64_t current;
    uint64_t current_word; /* slot index & 1 as read */
} view;

static bool still_in(const rs_shm_sliding_window *w, uint64_t index)
{
    return atomic_load_explicit(w->latest, memory_order_acquire) / w->counter.window_ns == index;
}

/* Step 1: freezes window index-1's count into v->previous. False when time
 * has moved past window `index` meanwhile. */
static bool seal_previous(rs_shm_sliding_window *w, view *v)
{
    if (v->index == 0) {
        v->previous = 0;
        return true;
    }
    rs__atomic_u64 *slot = &w->slots[(v->index - 1) & 1];
    uint64_t word = atomic_load_explicit(slot, memory_order_acquire);
    for (;;) {
        if (!still_in(w, v->index)) {
            return false;
        }
        v->previous = count_in(word, v->index - 1);
        uint64_t sealed = slot_word(v->index - 1, v->previous, true);
        if (word == sealed ||
            atomic_compare_exchange_weak_explicit(slot, &word, sealed, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            return true;
        }
    }
}

/* Step 2, or again after a failed compare-exchange left the slot's new value
 * in v->current_word. False when time has moved past window `index`. */
static bool judge_current(const rs_shm_sliding_window *w, view *v)
{
    if (!still_in(w, v->index)) {
        return false;
    }
    v->current = count_in(v->current_word, v->index);
    return true;
}

/* Steps 1 and 2 at max(now, latest). */
static view observe(rs_shm_sliding_window *w, uint64_t now)
{
    view v;
    for (;;) {
        v.now_ns = rs__atomic_max(w->latest, now);
        v.index = v.now_ns / w->counter.window_ns;
        v.elapsed = v.now_ns % w->counter.window_ns;
        if (seal_previous(w, &v)) {
            v.current_word = atomic_load_explicit(&w->slots[v.index & 1], memory_order_acquire);
            if (judge_current(w, &v)) {
                return v;
            }
        }
    }
}

/* Would 1 <= n <= limit units fit at `instant` (>= v->now_ns) if nothing
 * were admitted after view v? The very test that admits, applied to the
 * counts v's windows will have then. */
static bool fits_at(const rs_shm_sliding_window *w, const view *v, uint64_t n, uint64_t instant)
{
    const rs__window_counter *c = &w->counter;
    uint64_t index = instant / c->window_ns, elapsed = instant % c->window_ns;
    if (index == v->index) {
        return rs__window_counter_fits(c, v->previous, v->current, n, elapsed);
    }
    if (index == v->index + 1) {
        return rs__window_counter_fits(c, v->current, 0, n, elapsed);
    }
    return true; /* both counts have left the window */
}

/* The instant after v->now_ns from which 1 <= n <= limit units, refused on
 * view v, would fit if nothing else were admitted; UINT64_MAX for never.
 * Every candidate is checked with fits_at(), so that a wait never disagrees
 * with the admission it predicts: a fit that saturated at the end of 64-bit
 * time, where the last window never ends, is never. */
static uint64_t fit_after(const rs_shm_sliding_window *w, const view *v, uint64_t n)
{
    const rs__window_counter *c = &w->counter;
    uint64_t fit;
    if (v->current > c->limit) {
        /* Only a damaged file holds more than the limit: nothing fits
         * before the next window, where this count is the previous one. */
        uint64_t next_start = rs__sat_add(v->now_ns - v->elapsed, c->window_ns);
        fit = rs__window_counter_fit_at(c, v->current, 0, n, next_start, 0);
    } else {
        fit = rs__window_counter_fit_at(c, v->previous, v->current, n, v->now_ns, v->elapsed);
    }
    return fit > v->now_ns && fits_at(w, v, n, fit) ? fit : UINT64_MAX;
}

/* ns from the caller's `now_ns` (<= v->now_ns) until `fit` (from
 * fit_after()), keeping UINT64_MAX for never. */
static uint64_t wait_until(uint64_t fit, uint64_t now_ns)
{
    return fit == UINT64_MAX ? UINT64_MAX : fit - now_ns;
}

/* admit_or_fit() without counting. */
static bool admit_or_fit_uncounted(rs_shm_sliding_window *w, uint64_t n, uint64_t now_ns,
                                   uint64_t *fit_ns)
{
    for (;;) {
        view v = observe(w, now_ns);
        do {
            if (!rs__window_counter_fits(&w->counter, v.previous, v.current, n, v.elapsed)) {
                if (fit_ns != NULL) {
                    *fit_ns = fit_after(w, &v, n);
                }
                return false;
            }
            uint64_t next = slot_word(v.index, v.current + n, false); /* <= limit < 2^32 */
            if (atomic_compare_exchange_weak_explicit(&w->slots[v.index & 1], &v.current_word,
                                                      next, memory_order_acq_rel,
                                                      memory_order_acquire)) {
                return true;
            }
        } while (judge_current(w, &v));
    }
}

/* Admits 1 <= n <= limit at now_ns, or, when fit_ns is given, says when
 * they would fit (fit_after()), judged on the view that refused them. */
static bool admit_or_fit(rs_shm_sliding_window *w, uint64_t n, uint64_t now_ns, uint64_t *fit_ns)
{
    bool admitted = admit_or_fit_uncounted(w, n, now_ns, fit_ns);
    if (admitted) {
        RS__TALLY_ADD(w->counts, admitted, 1);
        RS__TALLY_ADD(w->counts, admitted_units, n);
    } else {
        RS__TALLY_ADD(w->counts, refused, 1);
    }
    return admitted;
}

int rs_shm_sliding_window_try_acquire_at(rs_shm_sliding_window *w, uint64_t n, uint64_t now_ns)
{
    if (w == NULL || n > w->counter.limit) {
        return RS_E_INVAL;
    }
    return n == 0 || admit_or_fit(w, n, now_ns, NULL) ? RS_OK : RS_E_LIMITED;
}

int rs_shm_sliding_window_try_acquire(rs_shm_sliding_window *w, uint64_t n)
{
    return rs_shm_sliding_window_try_acquire_at(w, n, rs_clock_now(NULL));
}

int rs_shm_sliding_window_wait_ns_at(rs_shm_sliding_window *w, uint64_t n, uint64_t *wait_ns,
                                     uint64_t now_ns)
{
    int status;
    if (rs__shm_wait_answered(w, n, w != NULL ? w->counter.limit : 0, wait_ns, &status)) {
        return status;
    }
    view v = observe(w, now_ns);
    /* 0 exactly when try_acquire would admit them now: also when the
     * caller's instant is older than the latest one, at which it would. */
    bool fits = rs__window_counter_fits(&w->counter, v.previous, v.current, n, v.elapsed);
    *wait_ns = fits ? 0 : wait_until(fit_after(w, &v, n), now_ns);
    return RS_OK;
}

int rs_shm_sliding_window_wait_ns(rs_shm_sliding_window *w, uint64_t n, uint64_t *wait_ns)
{
    return rs_shm_sliding_window_wait_ns_at(w, n, wait_ns, rs_clock_now(NULL));
}

int rs_shm_sliding_window_count_at(rs_shm_sliding_window *w, uint64_t *count, uint64_t now_ns)
{
    if (w == NULL || count == NULL) {
        return RS_E_INVAL;
    }
    view v = observe(w, now_ns);
    *count = rs__window_counter_estimate(&w->counter, v.previous, v.current, v.elapsed);
    return RS_OK;
}

int rs_shm_sliding_window_count(rs_shm_sliding_window *w, uint64_t *count)
{
    return rs_shm_sliding_window_count_at(w, count, rs_clock_now(NULL));
}

int rs_shm_sliding_window_metrics_at(rs_shm_sliding_window *w, rs_sliding_window_snapshot *m,
                                     uint64_t now_ns)
{
    if (w == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    rs_sliding_window_snapshot snap = { w->counter.limit, w->counter.window_ns,
                                        RS_WINDOW_COUNTER, 0, 0, 0, 0 };
    (void)rs_shm_sliding_window_count_at(w, &snap.count, now_ns);
    RS__TALLY_SUM(snap.admitted, w->counts, admitted);
    RS__TALLY_SUM(snap.admitted_units, w->counts, admitted_units);
    RS__TALLY_SUM(snap.refused, w->counts, refused);
    *m = snap;
    return RS_OK;
}

int rs_shm_sliding_window_metrics(rs_shm_sliding_window *w, rs_sliding_window_snapshot *m)
{
    return rs_shm_sliding_window_metrics_at(w, m, rs_clock_now(NULL));
}

/* now_ns is ignored, as for the shared bucket: CLOCK_MONOTONIC is the time
 * base every process shares. */
static int limiter_acquire(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                           uint64_t *wait_ns)
{
    (void)max_wait_ns; /* a window cannot reserve: the caller asks again */
    (void)now_ns;
    rs_shm_sliding_window *w = self;
    if (n > w->counter.limit) {
        return rs__limiter_window_answer(false, UINT64_MAX, wait_ns);
    }
    uint64_t now = rs_clock_now(NULL);
    uint64_t fit_ns = 0;
    bool admitted = n == 0 || admit_or_fit(w, n, now, &fit_ns);
    return rs__limiter_window_answer(admitted, wait_until(fit_ns, now), wait_ns);
}

static uint64_t limiter_wait_ns(void *self, uint64_t n, uint64_t now_ns)
{
    (void)now_ns;
    uint64_t wait_ns;
    (void)rs_shm_sliding_window_wait_ns(self, n, &wait_ns); /* UINT64_MAX when refused */
    return wait_ns;
}

/* No clock operation, as for the shared bucket. */
static const rs_limiter_ops limiter_ops = { limiter_acquire, "shm_sliding_window",
                                            limiter_wait_ns, false, NULL };

rs_limiter rs_shm_sliding_window_limiter(rs_shm_sliding_window *w)
{
    return rs__limiter_of(&limiter_ops, w);
}
