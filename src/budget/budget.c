/* The token budget: a ring of sub-bucket counters and their sum.
 *
 * Sub-bucket j (an absolute index, time / width) holds the tokens of the
 * reservations made during [j*width, (j+1)*width). The ring keeps the newest
 * `sub_buckets + 1` of them: at time t in sub-bucket s, sub-buckets s-n..s
 * are counted (n = sub_buckets), which covers (t - n*width, t] and so at
 * least the exact window (t - window_ns, t]. That extra, partly expired,
 * sub-bucket is what makes the budget never more generous than an exact
 * window, at the price of returning tokens up to one sub-bucket late.
 *
 * Checking what is left and charging must be one atomic step over several
 * words, so each budget has a spinlock around a few dozen instructions
 * (amortised: advancing the ring clears at most n + 1 counters, once per
 * sub-bucket of time).
 *
 * Counters are 32-bit when max_per_window < 2^31 (halving the memory of a
 * per-user budget), 64-bit otherwise. Reservations never push a counter
 * past max_per_window; only a charged excess can reach the counter's
 * maximum, where it saturates and then stays, refunds included, until its
 * sub-bucket leaves the window. A saturated counter holds at least
 * max_per_window, so the budget stays at 0 remaining while it is counted,
 * as with the true count; a refund could have taken it below
 * max_per_window while it truly held more (with 64-bit counters and
 * max_per_window >= 2^63). wait_ns only asks when such a sub-bucket leaves,
 * not how much it holds. `used` is the exact sum of the (saturated)
 * counters in two words: up to 65,537 counters of 2^64 - 1 do not fit in
 * one, and a saturated sum would forget a sub-bucket that is still counted
 * once another leaves. */
#include "resilience/budget.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "internal.h"
#include "core/account.h"
#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/lock.h"

#define DEFAULT_SUB_BUCKETS 60u
#define NARROW_MAX_PER_WINDOW (UINT64_C(1) << 31)

struct rs_budget {
    rs__spinlock lock;
    uint64_t max_per_window;
    uint64_t max_per_request;
    uint64_t width_ns;      /* of one sub-bucket */
    uint32_t ring_len;      /* sub_buckets + 1 */
    uint32_t head_pos;      /* ring position of the newest sub-bucket */
    uint64_t head;          /* absolute index of the newest sub-bucket */
    rs__wide used;          /* sum of the ring, exact */
    const rs_clock *clock;
    _Atomic(void *) owner;  /* see budget_internal.h */
    /* Since creation, written under the lock (rs__counter_bump()). */
    rs__atomic_u64 granted, refused, granted_tokens, spent_tokens;
    bool narrow;            /* ring of uint32_t rather than uint64_t */
    uint64_t ring[];        /* ring_len counters, of either width */
};

static uint64_t counter_max(const rs_budget *b)
{
    return b->narrow ? UINT32_MAX : UINT64_MAX;
}

static uint64_t bucket_get(const rs_budget *b, uint32_t pos)
{
    return b->narrow ? ((const uint32_t *)(const void *)b->ring)[pos] : b->ring[pos];
}

static void bucket_set(rs_budget *b, uint32_t pos, uint64_t value)
{
    if (b->narrow) {
        ((uint32_t *)(void *)b->ring)[pos] = (uint32_t)value;
    } else {
        b->ring[pos] = value;
    }
}

static void wide_add(rs__wide *w, uint64_t n)
{
    w->lo += n;
    w->hi += w->lo < n;
}

static void wide_sub(rs__wide *w, uint64_t n)
{
    w->hi -= w->lo < n;
    w->lo -= n;
}

/* Adds n to a sub-bucket, saturating at the counter's width, and the same
 * amount to the sum. */
static void bucket_add(rs_budget *b, uint32_t pos, uint64_t n)
{
    uint64_t old = bucket_get(b, pos);
    uint64_t next = rs__min_u64(rs__sat_add(old, n), counter_max(b));
    bucket_set(b, pos, next);
    wide_add(&b->used, next - old);
}

/* Refunds min(n, what it holds) from a sub-bucket and the sum; nothing from
 * a saturated one, whose true count is unknown (see the top). */
static void bucket_refund(rs_budget *b, uint32_t pos, uint64_t n)
{
    uint64_t old = bucket_get(b, pos);
    if (old == counter_max(b)) {
        return;
    }
    uint64_t taken = rs__min_u64(n, old);
    bucket_set(b, pos, old - taken);
    wide_sub(&b->used, taken);
}

/* Empties a sub-bucket that leaves the window. */
static void bucket_clear(rs_budget *b, uint32_t pos)
{
    wide_sub(&b->used, bucket_get(b, pos));
    bucket_set(b, pos, 0);
}

int rs_budget_config_validate(const rs_budget_config *cfg)
{
    if (cfg == NULL) {
        return rs_set_last_error(RS_E_INVAL, "cfg: NULL");
    }
    const char *zero = cfg->max_per_window == 0    ? "max_per_window"
                       : cfg->window_ns == 0       ? "window_ns"
                       : cfg->max_per_request == 0 ? "max_per_request"
                                                   : NULL;
    if (zero != NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_budget_config.%s: 0, must be >= 1", zero);
    }
    if (cfg->sub_buckets > RS_BUDGET_MAX_SUB_BUCKETS) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_budget_config.sub_buckets: %" PRIu32 ", must be <= %u",
                                 cfg->sub_buckets, RS_BUDGET_MAX_SUB_BUCKETS);
    }
    return RS_OK;
}

int rs_budget_new(const rs_budget_config *cfg, const rs_clock *clock, rs_budget **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "out: NULL");
    }
    int status = rs_budget_config_validate(cfg);
    if (status != RS_OK) {
        return status;
    }
    uint64_t n = cfg->sub_buckets != 0 ? cfg->sub_buckets : DEFAULT_SUB_BUCKETS;
    n = rs__min_u64(n, cfg->window_ns); /* sub-buckets of at least 1 ns */
    bool narrow = cfg->max_per_window < NARROW_MAX_PER_WINDOW;
    size_t counter_size = narrow ? sizeof(uint32_t) : sizeof(uint64_t);
    rs_budget *b = rs__calloc(1, sizeof *b + (size_t)(n + 1) * counter_size);
    if (b == NULL) {
        return RS_E_NOMEM;
    }
    rs__spin_init(&b->lock);
    b->narrow = narrow;
    b->max_per_window = cfg->max_per_window;
    b->max_per_request = cfg->max_per_request;
    b->width_ns = cfg->window_ns / n + (cfg->window_ns % n != 0);
    b->ring_len = (uint32_t)(n + 1);
    /* Starting at sub-bucket 0 with an empty ring accepts any first time. */
    b->head = 0;
    b->head_pos = 0;
    b->used = (rs__wide){ 0, 0 };
    b->clock = clock != NULL ? clock : rs_clock_system();
    atomic_init(&b->owner, NULL);
    *out = b;
    return RS_OK;
}

void rs_budget_free(rs_budget *b)
{
    rs__free(b);
}

/* The budget's time; 0 for NULL, which every caller refuses anyway. */
static uint64_t now_of(const rs_budget *b)
{
    return b != NULL ? b->clock->now_ns(b->clock->ctx) : 0;
}

/* The sub-bucket number of an instant; computed before taking the lock,
 * since width_ns never changes and a division is no small part of the
 * critical sections. */
static uint64_t slot_of(const rs_budget *b, uint64_t ns)
{
    return ns / b->width_ns;
}

/* Under the lock: moves the newest sub-bucket up to `slot`, the one holding
 * now_ns, emptying those that leave the ring. Returns the time to charge
 * at: now_ns, or the newest sub-bucket's start if now_ns is older than
 * that. */
static uint64_t advance(rs_budget *b, uint64_t now_ns, uint64_t slot)
{
    if (slot <= b->head) {
        return rs__max_u64(now_ns, b->head * b->width_ns);
    }
    uint64_t steps = slot - b->head;
    if (steps >= b->ring_len) {
        memset(b->ring, 0, b->ring_len * (b->narrow ? sizeof(uint32_t) : sizeof(uint64_t)));
        b->used = (rs__wide){ 0, 0 };
        b->head_pos = (uint32_t)(slot % b->ring_len);
    } else {
        uint32_t pos = b->head_pos;
        for (uint64_t i = 0; i < steps; i++) {
            pos = pos + 1 == b->ring_len ? 0 : pos + 1;
            bucket_clear(b, pos);
        }
        b->head_pos = pos;
    }
    b->head = slot;
    return now_ns;
}

static uint64_t left(const rs_budget *b)
{
    return b->used.hi != 0 ? 0 : rs__sat_sub(b->max_per_window, b->used.lo);
}

int rs_budget_reserve_at(rs_budget *b, uint64_t estimate, rs_budget_ticket *t, uint64_t now_ns)
{
    if (b == NULL || t == NULL) {
        return RS_E_INVAL;
    }
    if (estimate > b->max_per_request) {
        rs__spin_lock(&b->lock); /* the counters are written under it */
        rs__counter_bump(&b->refused, 1);
        rs__spin_unlock(&b->lock);
        return RS_E_BUDGET;
    }
    uint64_t slot = slot_of(b, now_ns);
    rs__spin_lock(&b->lock);
    uint64_t at_ns = advance(b, now_ns, slot);
    if (estimate > left(b)) {
        rs__counter_bump(&b->refused, 1);
        rs__spin_unlock(&b->lock);
        return RS_E_BUDGET;
    }
    /* Never saturates: the counter is at most used + estimate <= max_per_window. */
    bucket_add(b, b->head_pos, estimate);
    rs__counter_bump(&b->granted, 1);
    rs__counter_bump(&b->granted_tokens, estimate);
    rs__spin_unlock(&b->lock);
    t->reserved = estimate;
    t->at_ns = at_ns;
    return RS_OK;
}

int rs_budget_reserve(rs_budget *b, uint64_t estimate, rs_budget_ticket *t)
{
    if (b == NULL || t == NULL) {
        return RS_E_INVAL;
    }
    return rs_budget_reserve_at(b, estimate, t, now_of(b));
}

/* The ring position of the sub-bucket `age` sub-buckets older than the
 * newest (age < ring_len). */
static uint32_t pos_of_age(const rs_budget *b, uint32_t age)
{
    return b->head_pos >= age ? b->head_pos - age : b->head_pos + b->ring_len - age;
}

/* Under the lock: finds the sub-bucket of a ticket's `slot`; false when it
 * has left the ring (or never was in it: a ticket from another budget). */
static bool ticket_pos(const rs_budget *b, uint64_t slot, uint32_t *pos)
{
    if (slot > b->head || b->head - slot >= b->ring_len) {
        return false;
    }
    *pos = pos_of_age(b, (uint32_t)(b->head - slot));
    return true;
}

void rs_budget_commit(rs_budget *b, const rs_budget_ticket *t, uint64_t actual)
{
    if (b == NULL || t == NULL) {
        return;
    }
    uint64_t slot = slot_of(b, t->at_ns);
    rs__spin_lock(&b->lock);
    /* Saturates: commits may report any amount. */
    atomic_store_explicit(&b->spent_tokens, rs__sat_add(rs__counter_get(&b->spent_tokens), actual),
                          memory_order_relaxed);
    uint32_t pos;
    if (ticket_pos(b, slot, &pos)) {
        if (actual < t->reserved) {
            bucket_refund(b, pos, t->reserved - actual);
        } else {
            bucket_add(b, pos, actual - t->reserved);
        }
    }
    rs__spin_unlock(&b->lock);
}

void rs_budget_cancel(rs_budget *b, const rs_budget_ticket *t)
{
    rs_budget_commit(b, t, 0);
}

uint64_t rs_budget_remaining_at(rs_budget *b, uint64_t now_ns)
{
    if (b == NULL) {
        return 0;
    }
    uint64_t slot = slot_of(b, now_ns);
    rs__spin_lock(&b->lock);
    (void)advance(b, now_ns, slot);
    uint64_t remaining = left(b);
    rs__spin_unlock(&b->lock);
    return remaining;
}

uint64_t rs_budget_remaining(rs_budget *b)
{
    return rs_budget_remaining_at(b, now_of(b));
}

uint64_t rs_budget_wait_ns_at(rs_budget *b, uint64_t n, uint64_t now_ns)
{
    if (b == NULL || n > b->max_per_request || n > b->max_per_window) {
        return UINT64_MAX;
    }
    uint64_t now_slot = slot_of(b, now_ns);
    rs__spin_lock(&b->lock);
    (void)advance(b, now_ns, now_slot);
    uint64_t wait = 0;
    if (n > left(b)) {
        /* Walk from the oldest sub-bucket until enough has left: until what
         * is still counted after it, used - freed, is at most max - n. It
         * ends at the newest at the latest, where nothing is counted. */
        const uint64_t allowed = b->max_per_window - n;
        rs__wide counted = b->used;
        for (uint32_t age = b->ring_len; age-- > 0;) {
            if (age > b->head) {
                continue; /* before time 0: never charged */
            }
            uint64_t slot = b->head - age;
            wide_sub(&counted, bucket_get(b, pos_of_age(b, age)));
            if (counted.hi == 0 && counted.lo <= allowed) {
                /* Sub-bucket `slot` is counted until the current one is
                 * slot + ring_len. */
                uint64_t leaves_ns = rs__sat_mul(rs__sat_add(slot, b->ring_len), b->width_ns);
                wait = leaves_ns == UINT64_MAX ? UINT64_MAX /* not in representable time */
                                               : rs__max_u64(rs__sat_sub(leaves_ns, now_ns), 1);
                break;
            }
        }
    }
    rs__spin_unlock(&b->lock);
    return wait;
}

uint64_t rs_budget_wait_ns(rs_budget *b, uint64_t n)
{
    return rs_budget_wait_ns_at(b, n, now_of(b));
}

int rs_budget_metrics_at(rs_budget *b, rs_budget_snapshot *m, uint64_t now_ns)
{
    if (b == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    rs_budget_snapshot snap = { 0 };
    snap.max_per_window = b->max_per_window;
    snap.max_per_request = b->max_per_request;
    uint64_t slot = slot_of(b, now_ns);
    rs__spin_lock(&b->lock);
    (void)advance(b, now_ns, slot);
    snap.used = b->used.hi != 0 ? UINT64_MAX : b->used.lo;
    snap.remaining = left(b);
    snap.granted = rs__counter_get(&b->granted);
    snap.refused = rs__counter_get(&b->refused);
    snap.granted_tokens = rs__counter_get(&b->granted_tokens);
    snap.spent_tokens = rs__counter_get(&b->spent_tokens);
    rs__spin_unlock(&b->lock);
    *m = snap;
    return RS_OK;
}

int rs_budget_metrics(rs_budget *b, rs_budget_snapshot *m)
{
    if (b == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    return rs_budget_metrics_at(b, m, now_of(b));
}

void rs__budget_set_owner(rs_budget *b, void *owner)
{
    /* A plain load first: on every get but the first, no write at all. */
    if (atomic_load_explicit(&b->owner, memory_order_relaxed) != NULL) {
        return;
    }
    void *expected = NULL;
    (void)atomic_compare_exchange_strong_explicit(&b->owner, &expected, owner,
                                                  memory_order_relaxed, memory_order_relaxed);
}

void *rs__budget_owner(rs_budget *b)
{
    return atomic_load_explicit(&b->owner, memory_order_relaxed);
}

/* rs_account adapter: the ticket's first two fields are an rs_budget_ticket. */
static int account_reserve(void *self, uint64_t estimate, uint64_t now_ns,
                           rs_account_ticket *ticket)
{
    rs_budget_ticket t = { 0, 0 };
    int rc = rs_budget_reserve_at(self, estimate, &t, now_ns);
    *ticket = (rs_account_ticket){ t.reserved, t.at_ns, 0 };
    return rc;
}

static void account_commit(void *self, const rs_account_ticket *ticket, uint64_t actual)
{
    rs_budget_ticket t = { ticket->reserved, ticket->at_ns };
    rs_budget_commit(self, &t, actual);
}

static void account_cancel(void *self, const rs_account_ticket *ticket)
{
    rs_budget_ticket t = { ticket->reserved, ticket->at_ns };
    rs_budget_cancel(self, &t);
}

static const rs_clock *account_clock(void *self)
{
    return ((rs_budget *)self)->clock;
}

static const rs_account_ops budget_account_ops = { account_reserve, account_commit,
                                                   account_cancel, "budget", account_clock };

rs_account rs_budget_account(rs_budget *b)
{
    return rs__account_of(&budget_account_ops, b);
}
