/* Shared breaker state: one string key per dependency that exists, with a
 * TTL, while some instance's breaker is open (the breaker flag script in
 * redis_scripts.c). Only "open until T" is shared: each instance's breaker
 * keeps its own windows, thresholds and half-open probes. */
#include <stdio.h>
#include <unistd.h>

#include "core/arith.h"
#include "core/atomics.h"
#include "core/limiter.h"
#include "internal.h"

#define NS_PER_MS UINT64_C(1000000)

struct rs_redis_breaker_state {
    rs__redis_object base;        /* first: see rs__redis_object_new() */
    char owner[64];               /* the flag's value: who published it */
    rs__atomic_u64 open_until_ns; /* last open period seen, for FAIL_LOCAL */
};

int rs_redis_breaker_state_new(const rs_redis_breaker_state_config *cfg, const rs_clock *clock,
                               rs_redis_breaker_state **out)
{
    int rc = rs__redis_check_args("rs_redis_breaker_state_new", cfg, out);
    if (rc != RS_OK) {
        return rc;
    }
    void *object = NULL;
    rc = rs__redis_object_new(sizeof(rs_redis_breaker_state), "rs_redis_breaker_state_config",
                              cfg->redis, cfg->name, "open", cfg->on_failure, 1.0, clock,
                              &object);
    if (rc != RS_OK) {
        return rc;
    }
    rs_redis_breaker_state *s = object;
    char host[32] = "";
    (void)gethostname(host, sizeof host - 1);
    (void)snprintf(s->owner, sizeof s->owner, "%s pid %ld", host, (long)getpid());
    atomic_init(&s->open_until_ns, 0);
    *out = s;
    return RS_OK;
}

void rs_redis_breaker_state_free(rs_redis_breaker_state *s)
{
    rs__redis_object_free(s);
}

/* Runs the flag script; on RS_OK *ttl_left is -2 (no flag), -1 (open until
 * deleted) or the ms left. */
static int run(rs_redis_breaker_state *s, const char *op, uint64_t ttl_ms, int64_t *ttl_left)
{
    char ttl_arg[RS__REDIS_NUM_LEN];
    const char *argv[3] = { op, rs__redis_fmt_u64(ttl_arg, ttl_ms), s->owner };
    rs__redis_result res;
    const rs__redis_object *o = &s->base;
    int rc = rs__redis_eval(o->redis, RS__SCRIPT_BREAKER, o->key, o->key_len, 3, argv, 2, &res);
    if (rc == RS_OK) {
        *ttl_left = res.v[1];
    }
    return rc;
}

/* Remembers an open period locally for FAIL_LOCAL. */
static void remember(rs_redis_breaker_state *s, int64_t ttl_ms)
{
    uint64_t until = 0;
    if (ttl_ms == -1) {
        until = UINT64_MAX;
    } else if (ttl_ms > 0) {
        until = rs__sat_add(rs_clock_now(s->base.clock),
                            rs__sat_mul((uint64_t)ttl_ms, NS_PER_MS));
    }
    atomic_store_explicit(&s->open_until_ns, until, memory_order_relaxed);
}

int rs_redis_breaker_state_publish_open(rs_redis_breaker_state *s, uint64_t open_ns)
{
    if (s == NULL || open_ns < NS_PER_MS) {
        return RS_E_INVAL;
    }
    int64_t ttl;
    int rc = run(s, "p", open_ns / NS_PER_MS, &ttl);
    if (rc == RS_OK) {
        remember(s, ttl);
    } else {
        /* Not shared, but this instance still knows its breaker opened. */
        remember(s, (int64_t)rs__min_u64(open_ns / NS_PER_MS, INT64_MAX));
    }
    return rc;
}

int rs_redis_breaker_state_clear(rs_redis_breaker_state *s)
{
    if (s == NULL) {
        return RS_E_INVAL;
    }
    int64_t ttl;
    int rc = run(s, "x", 0, &ttl);
    if (rc == RS_OK) {
        remember(s, -2);
    }
    return rc;
}

/* The flag at now_ns (the caller's clock, for FAIL_LOCAL). */
static int check(rs_redis_breaker_state *s, uint64_t now_ns, uint64_t *remaining_ns)
{
    int64_t ttl;
    uint64_t remaining;
    int rc = run(s, "c", 0, &ttl);
    if (rc == RS_OK) {
        remember(s, ttl);
        remaining = ttl == -1 ? UINT64_MAX : ttl > 0 ? (uint64_t)ttl * NS_PER_MS : 0;
        rc = rs__redis_count(&s->base, ttl == -2 ? RS_OK : RS_E_OPEN, RS__BY_REDIS);
    } else if (rc == RS_E_INVAL) { /* the key holds something else: never usable */
        remaining = UINT64_MAX;
    } else if (s->base.on_failure == RS_REDIS_FAIL_LOCAL) {
        uint64_t until = atomic_load_explicit(&s->open_until_ns, memory_order_relaxed);
        remaining = rs__sat_sub(until, now_ns);
        rc = rs__redis_count(&s->base, remaining > 0 ? RS_E_OPEN : RS_OK, RS__BY_FALLBACK);
    } else {
        rc = rs__redis_count(&s->base, rs__redis_failed(s->base.redis, s->base.on_failure,
                                                        &remaining),
                             RS__BY_FALLBACK);
    }
    if (remaining_ns != NULL) {
        *remaining_ns = remaining;
    }
    return rc;
}

int rs_redis_breaker_state_check(rs_redis_breaker_state *s, uint64_t *remaining_ns)
{
    if (s == NULL) {
        return RS_E_INVAL;
    }
    return check(s, rs_clock_now(s->base.clock), remaining_ns);
}

static int limiter_acquire(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                           uint64_t *wait_ns)
{
    (void)n;
    (void)max_wait_ns;
    return check(self, now_ns, wait_ns);
}

/* No wait_ns: a peek would cost a round trip of its own. */
static const rs_limiter_ops limiter_ops = { limiter_acquire, "redis_breaker_state", NULL, false,
                                            rs__redis_object_clock };

rs_limiter rs_redis_breaker_state_limiter(rs_redis_breaker_state *s)
{
    return rs__limiter_of(&limiter_ops, s);
}
