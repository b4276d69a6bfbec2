/* The adaptive rate: CUBIC over a token bucket, as the AWS SDKs' adaptive
 * retry mode, with three changes that a shared server pause needs (the
 * reasons are in docs/adaptive.md):
 *
 *  - the curve starts growing back when the server's pause ends, not when
 *    the throttle came: a rate that grew while nothing could be sent would
 *    be back at the rate that was throttled the moment the pause ends;
 *  - the rate is reduced at most once a second, the window a server's
 *    limiter needs to show a new rate (answers to a full queue arrive
 *    milliseconds apart and would multiply it by beta again and again);
 *  - the first throttle of a rate that was not limited yet reduces from the
 *    successes of the second before it and of the answers still arriving
 *    after it, counted when the first attempt after the pause asks to go:
 *    the burst that earned the 429 was sent at no meaningful rate, but the
 *    server's answers to it say how much it accepted.
 *
 * A rate the server advertises (its rate-limit headers) is a ceiling, as
 * max_rate is, and the place to start when no rate applies yet.
 *
 * The hot path (the limiter's acquire) is lock-free: a flag word and the
 * token bucket. Outcomes take a spinlock around a few dozen instructions. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/limiter.h"
#include "core/lock.h"
#include "resilience/adaptive.h"
#include "resilience/token_bucket.h"

#define FLAG_LIMITING 1u /* a rate applies: acquire asks the bucket */
#define FLAG_PENDING 2u  /* a throttle waits for its reduction */

/* The sent rate is measured in spans of at least this long... */
#define SENT_SPAN_NS RS_MS(500)
/* ... of which at least this much was not paused, else the span is dropped. */
#define SENT_MIN_ACTIVE_NS RS_MS(100)

/* Successes of the last second, in slots of 100 ms. */
#define OK_SLOTS 10u
#define OK_SLOT_NS RS_MS(100)

/* At most one reduction in this long (see rs_adaptive_rate_record_at). */
#define REDUCTION_SPACING_NS RS_SEC(1)

/* The bucket's rate changes only when the curve moved by more than this
 * share: set_rate is a seqlock write, for occasional changes. */
#define APPLY_STEP 0.01

struct rs_adaptive_rate {
    rs__atomic_u32 flags;
    rs__spinlock lock;
    rs_adaptive_rate_config cfg;
    const rs_clock *clock;
    rs_token_bucket *bucket;
    /* Under the lock. */
    double applied;       /* the bucket's rate while limiting */
    double advertised;    /* the server's rate, within [min_rate, max_rate]; 0 = none */
    bool following;       /* the rate is the advertised one: no throttle since it started */
    double last_good;     /* CUBIC's w_max: the rate the last throttle came at */
    uint64_t epoch_ns;    /* the curve's origin: the end of the reduction's pause */
    uint64_t last_reduction_ns;
    uint64_t pending_ns;  /* when the throttle awaiting its reduction (FLAG_PENDING) came */
    uint32_t ok_before;   /* successes in the second before it */
    uint64_t active_before_ns; /* the part of that second not paused */
    uint32_t ok_after;    /* successes since */
    uint64_t pause_from_ns, pause_until_ns;
    uint64_t span_start_ns;
    uint32_t span_sent;
    double sent_rate;     /* attempts per second not paused; 0 = not measured yet */
    uint32_t ok_counts[OK_SLOTS];
    uint64_t ok_newest;   /* the absolute slot number of the newest count */
    uint64_t throttles, reductions;
};

static int invalid_rate(const char *field, double value, const char *why)
{
    return rs_set_last_error(RS_E_INVAL, "rs_adaptive_rate_config.%s: %g, %s", field, value, why);
}

/* Whether `flag` is set in r->flags (read relaxed: under the lock, which
 * orders every change of the flags, or where the answer is checked again). */
static bool has_flag(rs_adaptive_rate *r, uint32_t flag)
{
    return (atomic_load_explicit(&r->flags, memory_order_relaxed) & flag) != 0;
}

/* The token bucket's fastest rate: a token a nanosecond. */
#define MAX_RATE 1e9

/* A rate the token bucket accepts. */
static bool bucket_rate(double rate)
{
    return rs__is_finite_positive(rate) && rate <= MAX_RATE;
}

/* 0 (unset) or a rate the token bucket accepts. */
static bool rate_or_zero(double rate)
{
    return rate == 0.0 || bucket_rate(rate);
}

int rs_adaptive_rate_config_validate(const rs_adaptive_rate_config *cfg)
{
    if (cfg == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_adaptive_rate_config: NULL");
    }
    if (!bucket_rate(cfg->min_rate)) {
        return invalid_rate("min_rate", cfg->min_rate, "must be in (0, 1e9]");
    }
    if (!rate_or_zero(cfg->max_rate) || (cfg->max_rate != 0.0 && cfg->max_rate < cfg->min_rate)) {
        return invalid_rate("max_rate", cfg->max_rate, "must be 0 (none) or in [min_rate, 1e9]");
    }
    if (!rate_or_zero(cfg->initial_rate) ||
        (cfg->initial_rate != 0.0 &&
         (cfg->initial_rate < cfg->min_rate ||
          (cfg->max_rate != 0.0 && cfg->initial_rate > cfg->max_rate)))) {
        return invalid_rate("initial_rate", cfg->initial_rate,
                            "must be 0 (none) or in [min_rate, max_rate]");
    }
    if (!(cfg->beta > 0.0 && cfg->beta < 1.0)) {
        return invalid_rate("beta", cfg->beta, "must be in (0, 1)");
    }
    if (cfg->recovery_ns == 0) {
        return rs_set_last_error(RS_E_INVAL, "rs_adaptive_rate_config.recovery_ns: 0, must be > 0");
    }
    if (cfg->burst == 0) {
        return rs_set_last_error(RS_E_INVAL, "rs_adaptive_rate_config.burst: 0, must be >= 1");
    }
    /* The bucket must take the burst at the slowest rate it will run at. */
    rs_token_bucket_config bucket = { cfg->min_rate, cfg->burst };
    if (rs_token_bucket_config_validate(&bucket) != RS_OK) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_adaptive_rate_config.min_rate and burst: a burst of %llu "
                                 "at %g per second overflows the bucket's 64-bit capacity "
                                 "(raise min_rate or lower burst)",
                                 (unsigned long long)cfg->burst, cfg->min_rate);
    }
    return RS_OK;
}

/* Within [min_rate, max_rate]. */
static double clamp_to_config(const rs_adaptive_rate_config *cfg, double rate)
{
    if (cfg->max_rate != 0.0 && rate > cfg->max_rate) {
        rate = cfg->max_rate;
    }
    return rate < cfg->min_rate ? cfg->min_rate : rate;
}

/* The ceiling: the advertised rate (already within max_rate), else
 * max_rate; 0 = none. */
static double ceiling(const rs_adaptive_rate *r)
{
    return r->advertised != 0.0 ? r->advertised : r->cfg.max_rate;
}

static double clamp_rate(const rs_adaptive_rate *r, double rate)
{
    double top = ceiling(r);
    return clamp_to_config(&r->cfg, top != 0.0 && rate > top ? top : rate);
}

/* Sets the bucket to `rate` when it moved enough, or no rate applied.
 * Small moves wait, but not at the ceiling: the bucket never runs above it,
 * and reaches it exactly. */
static void apply(rs_adaptive_rate *r, double rate, uint64_t now_ns)
{
    rate = clamp_rate(r, rate);
    bool limiting = has_flag(r, FLAG_LIMITING);
    if (limiting && rate == r->applied) {
        return;
    }
    double top = ceiling(r);
    bool at_ceiling = top != 0.0 && (rate == top || r->applied > top);
    if (limiting && !at_ceiling && fabs(rate - r->applied) <= APPLY_STEP * r->applied) {
        return;
    }
    /* Valid by construction: within [min_rate, 1e9], burst checked at new. */
    (void)rs_token_bucket_set_rate_at(r->bucket, rate, r->cfg.burst, now_ns);
    r->applied = rate;
    atomic_fetch_or_explicit(&r->flags, FLAG_LIMITING, memory_order_release);
}

int rs_adaptive_rate_new(const rs_adaptive_rate_config *cfg, const rs_clock *clock,
                         rs_adaptive_rate **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_adaptive_rate_new: out is NULL");
    }
    int rc = rs_adaptive_rate_config_validate(cfg);
    if (rc != RS_OK) {
        return rc;
    }
    rs_adaptive_rate *r = rs__calloc(1, sizeof *r);
    if (r == NULL) {
        return RS_E_NOMEM;
    }
    r->cfg = *cfg;
    r->clock = clock != NULL ? clock : rs_clock_system();
    double start = cfg->initial_rate != 0.0 ? cfg->initial_rate : cfg->min_rate;
    rs_token_bucket_config bucket = { start, cfg->burst };
    rc = rs_token_bucket_new(&bucket, r->clock, &r->bucket);
    if (rc != RS_OK) {
        rs__free(r);
        return rc;
    }
    rs__spin_init(&r->lock);
    atomic_init(&r->flags, 0);
    uint64_t now = rs_clock_now(r->clock);
    r->span_start_ns = now;
    r->ok_newest = now / OK_SLOT_NS;
    if (cfg->initial_rate != 0.0) {
        /* The curve placed at its plateau: the initial rate holds, and
         * grows past it only as the curve probes after `recovery_ns`. */
        r->last_good = cfg->initial_rate;
        r->epoch_ns = rs__sat_sub(now, cfg->recovery_ns);
        r->applied = cfg->initial_rate;
        atomic_store_explicit(&r->flags, FLAG_LIMITING, memory_order_relaxed);
    }
    *out = r;
    return RS_OK;
}

void rs_adaptive_rate_free(rs_adaptive_rate *r)
{
    if (r != NULL) {
        rs_token_bucket_free(r->bucket);
        rs__free(r);
    }
}

/* CUBIC's rate at t: beta * w at the curve's origin, w after recovery_ns,
 * then growing ever faster: probing for more. While most of it goes unused
 * (fewer attempts than half of it) it stays at w: a rate nobody sends at
 * proves nothing, and would let a sudden burst through at any speed. */
static double curve_at(const rs_adaptive_rate *r, uint64_t t_ns)
{
    double w = r->last_good;
    double x = t_ns > r->epoch_ns ? (double)(t_ns - r->epoch_ns) / (double)r->cfg.recovery_ns : 0.0;
    double d = x - 1.0;
    double rate = w * (1.0 + (1.0 - r->cfg.beta) * d * d * d);
    if (rate > w && r->sent_rate > 0.0 && rate > 2.0 * r->sent_rate) {
        rate = fmax(w, 2.0 * r->sent_rate);
    }
    return clamp_rate(r, rate);
}

/* Brings the success slots up to now and answers the last second's count. */
static uint32_t ok_last_second(rs_adaptive_rate *r, uint64_t now_ns)
{
    uint64_t slot = now_ns / OK_SLOT_NS;
    if (slot > r->ok_newest) {
        uint64_t gap = slot - r->ok_newest;
        for (uint64_t i = 1; i <= gap && i <= OK_SLOTS; i++) {
            r->ok_counts[(r->ok_newest + i) % OK_SLOTS] = 0;
        }
        r->ok_newest = slot;
    }
    uint32_t sum = 0;
    for (unsigned i = 0; i < OK_SLOTS; i++) {
        sum += r->ok_counts[i];
    }
    return sum;
}

/* The part of [from, to] the server's last pause covered. */
static uint64_t paused_within(const rs_adaptive_rate *r, uint64_t from, uint64_t to)
{
    uint64_t start = rs__max_u64(from, r->pause_from_ns);
    uint64_t end = rs__min_u64(to, r->pause_until_ns);
    return end > start ? end - start : 0;
}

/* Ends a measuring span once it is long enough: attempts over the time in
 * it that was not paused, averaged with the previous measure. */
static void measure_sent(rs_adaptive_rate *r, uint64_t now_ns)
{
    uint64_t length = rs__sat_sub(now_ns, r->span_start_ns);
    if (length < SENT_SPAN_NS) {
        return;
    }
    uint64_t active = length - paused_within(r, r->span_start_ns, now_ns);
    if (active >= SENT_MIN_ACTIVE_NS) {
        double sample = (double)r->span_sent * 1e9 / (double)active;
        r->sent_rate = r->sent_rate == 0.0 ? sample : 0.5 * (r->sent_rate + sample);
    }
    r->span_start_ns = now_ns;
    r->span_sent = 0;
}

/* The reduction a throttle asked for, once the server's pause is over.
 *
 * It reduces from the rate the curve had when the throttle came. When that
 * is below the last good rate (the throttle came before the curve got back
 * to it), the server's rate is below the last good rate too, and the new
 * last good rate is set halfway between the throttled rate and its
 * reduction, (1 + beta) / 2 of it: CUBIC's fast convergence. Without it a
 * server with a burst (which lets a rate above its own through for a while
 * before it throttles) keeps the last good rate above the server's, and
 * every round of the curve ends in a 429 and a pause.
 *
 * The first throttle, with no rate yet, reduces from what the server
 * accepted: the successes of the second before it and of the answers that
 * came after, per second of that time the server was asked (not paused). */
static void reduce(rs_adaptive_rate *r, uint64_t now_ns)
{
    double from;
    if (has_flag(r, FLAG_LIMITING)) {
        from = curve_at(r, r->pending_ns);
        if (from < r->last_good) {
            from *= (1.0 + r->cfg.beta) / 2.0;
        }
    } else {
        double active_s = (double)rs__max_u64(r->active_before_ns, SENT_MIN_ACTIVE_NS) / 1e9;
        from = ((double)r->ok_before + (double)r->ok_after) / active_s;
    }
    r->last_good = clamp_rate(r, from);
    r->epoch_ns = rs__max_u64(now_ns, r->pause_until_ns);
    r->last_reduction_ns = now_ns;
    r->following = false;
    r->reductions++;
    atomic_fetch_and_explicit(&r->flags, ~FLAG_PENDING, memory_order_relaxed);
    apply(r, r->cfg.beta * r->last_good, now_ns);
}

void rs_adaptive_rate_record_at(rs_adaptive_rate *r, rs_outcome outcome, uint64_t sent_ns,
                                uint64_t server_wait_ns, uint64_t now_ns)
{
    if (r == NULL) {
        return;
    }
    rs__spin_lock(&r->lock);
    measure_sent(r, now_ns);
    r->span_sent++;
    if (server_wait_ns != 0) {
        uint64_t until = rs__sat_add(now_ns, server_wait_ns);
        if (until > r->pause_until_ns) {
            if (r->pause_until_ns < now_ns) {
                r->pause_from_ns = now_ns;
            }
            r->pause_until_ns = until;
        }
    }
    uint32_t ok_recent = ok_last_second(r, now_ns);
    if (outcome == RS_OUTCOME_SUCCESS) {
        r->ok_counts[r->ok_newest % OK_SLOTS]++;
        r->ok_after += has_flag(r, FLAG_PENDING) ? 1u : 0u;
    }
    if (outcome == RS_OUTCOME_THROTTLED) {
        r->throttles++;
        /* An attempt sent before the last reduction was sent at the old
         * rate and says nothing about the new one (once per round trip);
         * and a server's limiter counts over a window, about a second, before
         * it can show a new rate: throttles that come faster (the answers
         * to a full queue, milliseconds apart) would multiply the rate by
         * beta again and again, far below what the server accepts. */
        if (!has_flag(r, FLAG_PENDING) &&
            (r->reductions == 0 || (sent_ns >= r->last_reduction_ns &&
                                    now_ns - r->last_reduction_ns >= REDUCTION_SPACING_NS))) {
            r->pending_ns = now_ns;
            r->ok_before = ok_recent;
            r->active_before_ns =
                RS_SEC(1) - paused_within(r, rs__sat_sub(now_ns, RS_SEC(1)), now_ns);
            r->ok_after = 0;
            atomic_fetch_or_explicit(&r->flags, FLAG_PENDING, memory_order_release);
        }
    } else if (!has_flag(r, FLAG_PENDING) && r->last_good != 0.0) {
        apply(r, curve_at(r, now_ns), now_ns);
    }
    rs__spin_unlock(&r->lock);
}

void rs_adaptive_rate_record(rs_adaptive_rate *r, rs_outcome outcome, uint64_t sent_ns,
                             uint64_t server_wait_ns)
{
    if (r != NULL) {
        rs_adaptive_rate_record_at(r, outcome, sent_ns, server_wait_ns, rs_clock_now(r->clock));
    }
}

/* The rate the server advertises: a ceiling, and where a rate that did not
 * apply yet starts. A rate that started from it follows it until the first
 * throttle; one that was learnt (or configured) only meets the ceiling. A
 * throttle waiting for its reduction keeps the rate where it is: the
 * reduction, from what the server accepted, comes within the ceiling. */
void rs_adaptive_rate_advertise_at(rs_adaptive_rate *r, double rate_per_s, uint64_t now_ns)
{
    if (r == NULL || !rs__is_finite_positive(rate_per_s)) {
        return; /* NULL, 0, negative, NaN, infinite */
    }
    double advertised = clamp_to_config(&r->cfg, fmin(rate_per_s, MAX_RATE));
    rs__spin_lock(&r->lock);
    if (advertised != r->advertised) {
        r->advertised = advertised;
        bool limiting = has_flag(r, FLAG_LIMITING);
        if (!has_flag(r, FLAG_PENDING) && (!limiting || r->following)) {
            /* At the curve's plateau, as an initial rate: the ceiling
             * keeps it there. */
            r->last_good = advertised;
            r->epoch_ns = rs__sat_sub(now_ns, r->cfg.recovery_ns);
            r->following = true;
            apply(r, advertised, now_ns);
        } else if (limiting) {
            apply(r, r->applied, now_ns); /* lowered when above the ceiling */
        }
    }
    rs__spin_unlock(&r->lock);
}

void rs_adaptive_rate_advertise(rs_adaptive_rate *r, double rate_per_s)
{
    if (r != NULL) {
        rs_adaptive_rate_advertise_at(r, rate_per_s, rs_clock_now(r->clock));
    }
}

/* ---- the limiter --------------------------------------------------------- */

/* Applies a reduction that is due; answers whether a rate applies. */
static bool limiting_at(rs_adaptive_rate *r, uint64_t now_ns)
{
    uint32_t flags = atomic_load_explicit(&r->flags, memory_order_acquire);
    if ((flags & FLAG_PENDING) != 0) {
        rs__spin_lock(&r->lock);
        if (has_flag(r, FLAG_PENDING) && now_ns >= r->pause_until_ns) {
            reduce(r, now_ns);
        }
        rs__spin_unlock(&r->lock);
        flags = atomic_load_explicit(&r->flags, memory_order_acquire);
    }
    return (flags & FLAG_LIMITING) != 0;
}

static int limiter_acquire(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                           uint64_t *wait_ns)
{
    rs_adaptive_rate *r = self;
    if (!limiting_at(r, now_ns)) {
        *wait_ns = 0;
        return RS_OK;
    }
    return rs_token_bucket_reserve_at(r->bucket, n, max_wait_ns, wait_ns, now_ns);
}

static uint64_t limiter_wait_ns(void *self, uint64_t n, uint64_t now_ns)
{
    rs_adaptive_rate *r = self;
    return limiting_at(r, now_ns) ? rs_token_bucket_wait_ns_at(r->bucket, n, now_ns) : 0;
}

static const rs_clock *limiter_clock(void *self)
{
    return ((rs_adaptive_rate *)self)->clock;
}

static const rs_limiter_ops limiter_ops = { limiter_acquire, "adaptive_rate", limiter_wait_ns,
                                            true, limiter_clock };

rs_limiter rs_adaptive_rate_limiter(rs_adaptive_rate *r)
{
    return rs__limiter_of(&limiter_ops, r);
}

double rs_adaptive_rate_get(rs_adaptive_rate *r)
{
    if (r == NULL) {
        return 0.0;
    }
    rs__spin_lock(&r->lock);
    double rate = has_flag(r, FLAG_LIMITING) ? r->applied : 0.0;
    rs__spin_unlock(&r->lock);
    return rate;
}

int rs_adaptive_rate_metrics(rs_adaptive_rate *r, rs_adaptive_rate_snapshot *m)
{
    if (r == NULL || m == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_adaptive_rate_metrics: %s is NULL",
                                 r == NULL ? "r" : "m");
    }
    rs_adaptive_rate_snapshot snap = { 0 };
    snap.min_rate = r->cfg.min_rate;
    snap.max_rate = r->cfg.max_rate;
    rs__spin_lock(&r->lock);
    snap.rate = has_flag(r, FLAG_LIMITING) ? r->applied : 0.0;
    snap.last_good_rate = r->last_good;
    snap.sent_rate = r->sent_rate;
    snap.throttles = r->throttles;
    snap.reductions = r->reductions;
    snap.advertised_rate = r->advertised;
    rs__spin_unlock(&r->lock);
    *m = snap;
    return RS_OK;
}

const rs_clock *rs_adaptive_rate_clock(const rs_adaptive_rate *r)
{
    return r != NULL ? r->clock : NULL;
}
