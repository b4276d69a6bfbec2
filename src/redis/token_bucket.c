/* Distributed token bucket: the GCRA script (scripts.c) on one key, with
 * the local GCRA as the optional fallback, and optionally leases of tokens
 * (lease.c) taken with the GCRA lease script, which keeps what leases gave
 * back in a second key, `<key>:r`. */
#include "core/alloc.h"
#include "core/arith.h"
#include "core/limiter.h"
#include "internal.h"

struct rs_redis_token_bucket {
    rs__redis_object base; /* first: see rs__redis_object_new() */
    uint64_t burst;
    char interval_us[RS__REDIS_NUM_LEN]; /* script arguments, formatted once */
    char burst_arg[RS__REDIS_NUM_LEN];
    rs__redis_local local;
    rs__lease_set *leases; /* NULL: every decision one exact round trip */
    char *refund_key;      /* <key>:r, with leases */
    size_t refund_key_len;
};

#define CONFIG "rs_redis_token_bucket_config"

/* The local bucket's limits (core/gcra.h), which keep every time the script
 * stores within what Redis accepts as an expiry and a double holds to the
 * microsecond: RS_OK, or RS_E_INVAL naming the field. */
static int validate_rate(const rs_redis_token_bucket_config *cfg)
{
    rs__gcra gcra;
    if (rs__gcra_init(&gcra, cfg->rate, cfg->burst) == RS_OK) {
        return RS_OK;
    }
    if (cfg->burst == 0) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".burst: 0, must be at least 1");
    }
    if (!rs__is_finite_positive(cfg->rate)) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".rate: %g is not a finite number above 0",
                                 cfg->rate);
    }
    if (cfg->rate > 1e9) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".rate: %g is above 1e9 tokens per second, "
                                             "the fastest the bucket can serve", cfg->rate);
    }
    if (rs__gcra_init(&gcra, cfg->rate, 1) != RS_OK) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".rate: %g is below the slowest rate the "
                                             "script can serve", cfg->rate);
    }
    return rs_set_last_error(RS_E_INVAL, CONFIG ".burst: %llu tokens at %g per second take "
                                         "longer than 2^64 ns to refill",
                             (unsigned long long)cfg->burst, cfg->rate);
}

static void lease_trip(void *object, const rs__lease_trip_in *in, rs__lease_trip_out *out);

int rs_redis_token_bucket_new(const rs_redis_token_bucket_config *cfg, const rs_clock *clock,
                              rs_redis_token_bucket **out)
{
    int rc = rs__redis_check_args("rs_redis_token_bucket_new", cfg, out);
    if (rc == RS_OK) {
        rc = validate_rate(cfg);
    }
    if (rc != RS_OK) {
        return rc;
    }
    void *object = NULL;
    rc = rs__redis_object_new(sizeof(rs_redis_token_bucket), CONFIG, cfg->redis, cfg->name,
                              "tb", cfg->on_failure, cfg->local_share, clock, &object);
    if (rc != RS_OK) {
        return rc;
    }
    rs_redis_token_bucket *tb = object;
    tb->burst = cfg->burst;
    (void)rs__redis_fmt_double(tb->interval_us, 1e6 / cfg->rate);
    (void)rs__redis_fmt_u64(tb->burst_arg, cfg->burst);
    rs__redis_local_init(&tb->local, cfg->rate, cfg->burst, tb->base.local_share);
    rc = rs__lease_set_new(&cfg->lease, CONFIG, cfg->burst, cfg->rate, 1, cfg->redis,
                           tb->base.clock, tb, lease_trip, &tb->leases);
    if (rc == RS_OK && tb->leases != NULL) {
        tb->refund_key = rs__redis_subkey(&tb->base, "r", &tb->refund_key_len);
        rc = tb->refund_key != NULL ? RS_OK : RS_E_NOMEM;
    }
    if (rc != RS_OK) {
        rs_redis_token_bucket_free(tb);
        return rc;
    }
    *out = tb;
    return RS_OK;
}

void rs_redis_token_bucket_free(rs_redis_token_bucket *tb)
{
    if (tb != NULL) {
        rs__lease_set_free(tb->leases);
        rs__free(tb->refund_key);
    }
    rs__redis_object_free(tb);
}

/* One lease round trip: give back, then take a batch (lease.c). */
static void lease_trip(void *object, const rs__lease_trip_in *in, rs__lease_trip_out *out)
{
    rs_redis_token_bucket *tb = object;
    char arg[7][RS__REDIS_NUM_LEN];
    const char *argv[9] = { tb->interval_us,
                            tb->burst_arg,
                            rs__redis_fmt_u64(arg[0], in->want_min),
                            rs__redis_fmt_u64(arg[1], in->want_max),
                            rs__redis_fmt_double(arg[2], (double)in->max_wait_ns / 1000.0),
                            rs__redis_fmt_u64(arg[3], in->give_back),
                            rs__redis_fmt_u64(arg[4], in->back_id[0]),
                            rs__redis_fmt_u64(arg[5], in->back_id[1]),
                            rs__redis_fmt_u64(arg[6], in->back_id[2]) };
    const rs__redis_object *o = &tb->base;
    rs__redis_keys keys = { 2, { o->key, tb->refund_key }, { o->key_len, tb->refund_key_len } };
    rs__redis_result res;
    out->status = rs__redis_eval_keys(o->redis, RS__SCRIPT_GCRA_LEASE, &keys, 9, argv, 6, &res);
    rs__redis_lease_result(&res, in, RS_E_LIMITED, out);
}

/* The GCRA script: RS_OK with the wait, RS_E_LIMITED with the whole wait,
 * RS_E_INVAL (a foreign key) or RS_E_IO. `peek` only asks for the wait. */
static int exact(rs_redis_token_bucket *tb, uint64_t n, uint64_t max_wait_ns, bool peek,
                 uint64_t *wait_ns)
{
    char n_arg[RS__REDIS_NUM_LEN], max_wait_arg[RS__REDIS_NUM_LEN];
    const char *argv[5] = { tb->interval_us, tb->burst_arg, rs__redis_fmt_u64(n_arg, n),
                            rs__redis_fmt_double(max_wait_arg, (double)max_wait_ns / 1000.0),
                            peek ? "1" : "0" };
    rs__redis_result res;
    const rs__redis_object *o = &tb->base;
    int rc = rs__redis_eval(o->redis, RS__SCRIPT_GCRA, o->key, o->key_len, 5, argv, 2, &res);
    if (rc == RS_OK) {
        *wait_ns = rs__redis_us_to_ns(res.v[1]);
        rc = res.v[0] == 1 ? RS_OK : RS_E_LIMITED;
    }
    return rc;
}

/* One GCRA decision: through the bucket's lease when it has leases (not
 * for a peek, which takes nothing), else exactly. now_ns is for the local
 * fallback. */
static int decide(rs_redis_token_bucket *tb, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                  bool peek, uint64_t *wait_ns)
{
    if (n == 0) {
        *wait_ns = 0;
        return RS_OK;
    }
    if (n > tb->burst) { /* never: as the local bucket answers it */
        *wait_ns = UINT64_MAX;
        return peek ? RS_OK : RS_E_INVAL;
    }
    int rc;
    rs__redis_by by = RS__BY_REDIS;
    rs__lease_answer lease;
    if (!peek && tb->leases != NULL &&
        rs__lease_decide(tb->leases, &tb->leases->cells[0], (rs__lease_key){ NULL, 0 }, n,
                         max_wait_ns, &lease)) {
        rc = lease.status;
        *wait_ns = lease.wait_ns;
        by = lease.by;
    } else {
        rc = exact(tb, n, max_wait_ns, peek, wait_ns);
    }
    rs__redis_object *o = &tb->base;
    if (rc == RS_OK) {
        /* Rounding to whole microseconds must not break the promise. */
        *wait_ns = peek ? *wait_ns : rs__min_u64(*wait_ns, max_wait_ns);
        return peek ? RS_OK : rs__redis_count(o, RS_OK, by);
    }
    if (rc == RS_E_LIMITED) {
        return peek ? rc : rs__redis_count(o, rc, by);
    }
    if (rc == RS_E_INVAL) { /* the key holds something else: no policy mends that */
        *wait_ns = UINT64_MAX;
        return rc;
    }
    if (o->on_failure != RS_REDIS_FAIL_LOCAL) {
        rc = rs__redis_failed(o->redis, o->on_failure, wait_ns);
        return peek ? rc : rs__redis_count(o, rc, RS__BY_FALLBACK);
    }
    if (peek) {
        *wait_ns = rs__redis_local_wait_ns(&tb->local, n, now_ns);
        return RS_OK;
    }
    return rs__redis_count(o, rs__redis_local_reserve(&tb->local, n, max_wait_ns, now_ns, wait_ns),
                           RS__BY_FALLBACK);
}

int rs_redis_token_bucket_reserve(rs_redis_token_bucket *tb, uint64_t n, uint64_t max_wait_ns,
                                  uint64_t *wait_ns)
{
    if (tb == NULL || wait_ns == NULL) {
        return RS_E_INVAL;
    }
    return decide(tb, n, max_wait_ns, rs_clock_now(tb->base.clock), false, wait_ns);
}

int rs_redis_token_bucket_try_acquire(rs_redis_token_bucket *tb, uint64_t n)
{
    if (tb != NULL && n > tb->burst) {
        return RS_E_LIMITED; /* never: a refusal, as the local bucket's false */
    }
    uint64_t wait;
    return rs_redis_token_bucket_reserve(tb, n, 0, &wait);
}

int rs_redis_token_bucket_acquire(rs_redis_token_bucket *tb, uint64_t n, uint64_t timeout_ns)
{
    uint64_t wait;
    int rc = rs_redis_token_bucket_reserve(tb, n, timeout_ns, &wait);
    if (rc == RS_OK && wait > 0) {
        rs_clock_sleep(tb->base.clock, wait);
    }
    return rc;
}

int rs_redis_token_bucket_wait_ns(rs_redis_token_bucket *tb, uint64_t n, uint64_t *wait_ns)
{
    if (tb == NULL || wait_ns == NULL) {
        return RS_E_INVAL;
    }
    return decide(tb, n, 0, rs_clock_now(tb->base.clock), true, wait_ns);
}

static int limiter_acquire(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                           uint64_t *wait_ns)
{
    return decide(self, n, max_wait_ns, now_ns, false, wait_ns);
}

/* No wait_ns: a peek would cost a round trip of its own. */
static const rs_limiter_ops limiter_ops = { limiter_acquire, "redis_token_bucket", NULL, true,
                                            rs__redis_object_clock };

rs_limiter rs_redis_token_bucket_limiter(rs_redis_token_bucket *tb)
{
    return rs__limiter_of(&limiter_ops, tb);
}

int rs_redis_token_bucket_lease_stats(rs_redis_token_bucket *tb, rs_redis_lease_stats *stats)
{
    return rs__lease_stats("rs_redis_token_bucket_lease_stats", "tb", tb != NULL,
                           tb != NULL ? tb->leases : NULL, stats);
}
