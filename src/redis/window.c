/* Distributed sliding window: the sliding-log or sliding-counter script
 * (scripts.c) on one key, with the local GCRA as the optional fallback
 * (limit per window as a rate, the limit as its burst), and optionally
 * leases (lease.c): a log entry, or an addition to the counter, of several
 * requests at once. */
#include "core/arith.h"
#include "core/limiter.h"
#include "internal.h"

#define MAX_LOG_LIMIT UINT64_C(1000000)
#define MIN_WINDOW_NS UINT64_C(1000000)

struct rs_redis_sliding_window {
    rs__redis_object base; /* first: see rs__redis_object_new() */
    uint64_t limit;
    rs__redis_script script;
    char window_us[RS__REDIS_NUM_LEN];
    char limit_arg[RS__REDIS_NUM_LEN];
    rs__redis_local local;
    rs__lease_set *leases; /* NULL: every decision one exact round trip */
};

#define CONFIG "rs_redis_sliding_window_config"

static int validate(const rs_redis_sliding_window_config *cfg)
{
    if (cfg->kind != RS_REDIS_WINDOW_LOG && cfg->kind != RS_REDIS_WINDOW_COUNTER) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".kind: %d is not an rs_redis_window_kind",
                                 (int)cfg->kind);
    }
    uint64_t max = cfg->kind == RS_REDIS_WINDOW_LOG ? MAX_LOG_LIMIT : RS__REDIS_MAX_COUNT;
    if (cfg->limit == 0 || cfg->limit > max) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".limit: %llu is not in 1..%llu (%s)",
                                 (unsigned long long)cfg->limit, (unsigned long long)max,
                                 cfg->kind == RS_REDIS_WINDOW_LOG
                                     ? "the log keeps an entry per request"
                                     : "2^53, the largest count the script holds exactly");
    }
    if (cfg->window_ns < MIN_WINDOW_NS) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".window_ns: %llu is below 1 ms",
                                 (unsigned long long)cfg->window_ns);
    }
    return RS_OK;
}

static void lease_trip(void *object, const rs__lease_trip_in *in, rs__lease_trip_out *out);

int rs_redis_sliding_window_new(const rs_redis_sliding_window_config *cfg,
                                const rs_clock *clock, rs_redis_sliding_window **out)
{
    int rc = rs__redis_check_args("rs_redis_sliding_window_new", cfg, out);
    if (rc == RS_OK) {
        rc = validate(cfg);
    }
    if (rc != RS_OK) {
        return rc;
    }
    bool log = cfg->kind == RS_REDIS_WINDOW_LOG;
    void *object = NULL;
    rc = rs__redis_object_new(sizeof(rs_redis_sliding_window), CONFIG, cfg->redis, cfg->name,
                              log ? "log" : "cnt", cfg->on_failure, cfg->local_share, clock,
                              &object);
    if (rc != RS_OK) {
        return rc;
    }
    rs_redis_sliding_window *w = object;
    w->limit = cfg->limit;
    w->script = log ? RS__SCRIPT_LOG : RS__SCRIPT_COUNTER;
    (void)rs__redis_fmt_u64(w->window_us, cfg->window_ns / 1000);
    (void)rs__redis_fmt_u64(w->limit_arg, cfg->limit);
    double rate = (double)cfg->limit * 1e9 / (double)cfg->window_ns;
    rs__redis_local_init(&w->local, rate, cfg->limit, w->base.local_share);
    rc = rs__lease_set_new(&cfg->lease, CONFIG, cfg->limit, rate, 1, cfg->redis, w->base.clock,
                           w, lease_trip, &w->leases);
    if (rc != RS_OK) {
        rs_redis_sliding_window_free(w);
        return rc;
    }
    *out = w;
    return RS_OK;
}

void rs_redis_sliding_window_free(rs_redis_sliding_window *w)
{
    if (w != NULL) {
        rs__lease_set_free(w->leases);
    }
    rs__redis_object_free(w);
}

/* One lease round trip: give back, then take a batch (lease.c). A log
 * lease is named by its entry's first unit and size, a counter lease by
 * its fixed window. */
static void lease_trip(void *object, const rs__lease_trip_in *in, rs__lease_trip_out *out)
{
    rs_redis_sliding_window *w = object;
    bool log = w->script == RS__SCRIPT_LOG;
    char arg[5][RS__REDIS_NUM_LEN];
    const char *argv[7] = { w->window_us,
                            w->limit_arg,
                            rs__redis_fmt_u64(arg[0], in->want_min),
                            rs__redis_fmt_u64(arg[1], in->want_max),
                            rs__redis_fmt_u64(arg[2], in->give_back),
                            rs__redis_fmt_u64(arg[3], in->back_id[0]),
                            rs__redis_fmt_u64(arg[4], in->back_granted) };
    const rs__redis_object *o = &w->base;
    rs__redis_result res;
    out->status = rs__redis_eval(o->redis, log ? RS__SCRIPT_LOG_LEASE : RS__SCRIPT_COUNTER_LEASE,
                                 o->key, o->key_len, log ? 7 : 6, argv, 6, &res);
    rs__redis_lease_result(&res, in, RS_E_LIMITED, out);
}

/* Runs the window's script; RS_OK with the result, or RS_E_IO. */
static int run(rs_redis_sliding_window *w, uint64_t n, bool peek, rs__redis_result *res)
{
    char n_arg[RS__REDIS_NUM_LEN];
    const char *argv[4] = { w->window_us, w->limit_arg, rs__redis_fmt_u64(n_arg, n),
                            peek ? "1" : "0" };
    const rs__redis_object *o = &w->base;
    return rs__redis_eval(o->redis, w->script, o->key, o->key_len, 4, argv, 3, res);
}

/* One admission decision, through the window's lease when it has leases
 * (not for a peek, which takes nothing); peek only computes the wait. */
static int decide(rs_redis_sliding_window *w, uint64_t n, uint64_t now_ns, bool peek,
                  uint64_t *wait_ns)
{
    if (n == 0) {
        *wait_ns = 0;
        return RS_OK;
    }
    if (n > w->limit) {
        *wait_ns = UINT64_MAX;
        return peek ? RS_OK : RS_E_LIMITED;
    }
    int rc;
    rs__redis_by by = RS__BY_REDIS;
    rs__lease_answer lease;
    if (!peek && w->leases != NULL &&
        rs__lease_decide(w->leases, &w->leases->cells[0], (rs__lease_key){ NULL, 0 }, n, 0,
                         &lease)) {
        rc = lease.status;
        *wait_ns = lease.wait_ns;
        by = lease.by;
    } else {
        rs__redis_result res;
        rc = run(w, n, peek, &res);
        if (rc == RS_OK) {
            *wait_ns = res.v[0] == 1 ? 0
                       : res.v[1] < 0 ? UINT64_MAX
                                      : rs__redis_us_to_ns(res.v[1]);
            rc = res.v[0] == 1 || peek ? RS_OK : RS_E_LIMITED;
        }
    }
    if (rc == RS_OK || rc == RS_E_LIMITED) {
        return peek ? rc : rs__redis_count(&w->base, rc, by);
    }
    if (rc == RS_E_INVAL) { /* the key holds something else: no policy mends that */
        *wait_ns = UINT64_MAX;
        return rc;
    }
    if (w->base.on_failure != RS_REDIS_FAIL_LOCAL) {
        rc = rs__redis_failed(w->base.redis, w->base.on_failure, wait_ns);
        return peek ? rc : rs__redis_count(&w->base, rc, RS__BY_FALLBACK);
    }
    if (peek) {
        *wait_ns = rs__redis_local_wait_ns(&w->local, n, now_ns);
        return RS_OK;
    }
    return rs__redis_count(&w->base, rs__redis_local_reserve(&w->local, n, 0, now_ns, wait_ns),
                           RS__BY_FALLBACK);
}

int rs_redis_sliding_window_try_acquire(rs_redis_sliding_window *w, uint64_t n)
{
    if (w == NULL) {
        return RS_E_INVAL;
    }
    uint64_t wait;
    return decide(w, n, rs_clock_now(w->base.clock), false, &wait);
}

int rs_redis_sliding_window_wait_ns(rs_redis_sliding_window *w, uint64_t n, uint64_t *wait_ns)
{
    if (w == NULL || wait_ns == NULL) {
        return RS_E_INVAL;
    }
    return decide(w, n, rs_clock_now(w->base.clock), true, wait_ns);
}

int rs_redis_sliding_window_count(rs_redis_sliding_window *w, uint64_t *count)
{
    if (w == NULL || count == NULL) {
        return RS_E_INVAL;
    }
    rs__redis_result res;
    int rc = run(w, 0, true, &res);
    if (rc == RS_OK) {
        *count = res.v[2] < 0 ? 0 : (uint64_t)res.v[2];
    }
    return rc;
}

static int limiter_acquire(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                           uint64_t *wait_ns)
{
    rs_redis_sliding_window *w = self;
    (void)max_wait_ns; /* a window admits now or not at all */
    if (n > w->limit) {
        *wait_ns = UINT64_MAX;
        return RS_E_INVAL;
    }
    return decide(w, n, now_ns, false, wait_ns);
}

/* No wait_ns: a peek would cost a round trip of its own. */
static const rs_limiter_ops limiter_ops = { limiter_acquire, "redis_sliding_window", NULL, false,
                                            rs__redis_object_clock };

rs_limiter rs_redis_sliding_window_limiter(rs_redis_sliding_window *w)
{
    return rs__limiter_of(&limiter_ops, w);
}

int rs_redis_sliding_window_lease_stats(rs_redis_sliding_window *w, rs_redis_lease_stats *stats)
{
    return rs__lease_stats("rs_redis_sliding_window_lease_stats", "w", w != NULL,
                           w != NULL ? w->leases : NULL, stats);
}
