/* Private to the Redis backend (src/redis/): the connection pool's script
 * runner, the URL parser, the Lua scripts and the local fallback. Never
 * included outside the backend. */
#ifndef RS_REDIS_INTERNAL_H
#define RS_REDIS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/atomics.h"
#include "core/gcra.h"
#include "resilience/redis.h"

/* ---- URL (url.c) ---- */

typedef struct rs__redis_url {
    char *host;      /* TCP host without brackets; NULL for a Unix socket */
    char *path;      /* Unix socket path; NULL for TCP */
    char *username;  /* NULL: AUTH with the password only */
    char *password;  /* NULL: no AUTH */
    unsigned port;
    unsigned long db;
} rs__redis_url;

/* Parses url into *out (strings allocated with rs__malloc). RS_E_INVAL with
 * a reason in why (never quoting the password), or RS_E_NOMEM; *out is then
 * empty. */
int rs__redis_url_parse(const char *url, rs__redis_url *out, char *why, size_t why_len);
void rs__redis_url_clear(rs__redis_url *u);

/* ---- Scripts (scripts.c) ---- */

/* Scripts count time in microseconds since this Unix time (2020-01-01):
 * smaller numbers keep sub-microsecond resolution in Lua's doubles. */
#define RS__REDIS_EPOCH_S 1577836800

typedef enum rs__redis_script {
    RS__SCRIPT_GCRA,
    RS__SCRIPT_LOG,
    RS__SCRIPT_COUNTER,
    RS__SCRIPT_BUDGET,
    RS__SCRIPT_BREAKER,
    RS__SCRIPT_COUNT
} rs__redis_script;

const char *rs__redis_script_source(rs__redis_script script);
const char *rs__redis_script_name(rs__redis_script script);

/* ---- Connection pool (conn.c) ---- */

#define RS__REDIS_MAX_ARGS 8
#define RS__REDIS_MAX_RESULTS 4

/* A script's reply: a flat array of integers. */
typedef struct rs__redis_result {
    int64_t v[RS__REDIS_MAX_RESULTS];
} rs__redis_result;

/* Runs `script` on one key with argc string arguments (argc <=
 * RS__REDIS_MAX_ARGS) and expects at least `min_results` integers back.
 * RS_OK, or RS_E_IO after reporting why through on_error (transport errors
 * also start the reconnect schedule; calls that fail fast are not
 * reported). */
int rs__redis_eval(rs_redis *r, rs__redis_script script, const char *key, size_t key_len,
                   size_t argc, const char *const *argv, size_t min_results,
                   rs__redis_result *out);

/* `<prefix><name>:<suffix>` (rs__malloc'd, NUL-terminated; *len without
 * the NUL); NULL when out of memory. */
char *rs__redis_key(const rs_redis *r, const char *name, const char *suffix, size_t *len);

/* ns until the pool tries to reconnect (0 when it is not backing off). */
uint64_t rs__redis_retry_in_ns(rs_redis *r);

/* Sends a problem to the pool's on_error (printf-style). */
void rs__redis_report(const rs_redis *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The largest count or amount a script keeps: Lua's numbers are doubles,
 * exact up to 2^53, and string.format('%d') must never see more than 2^63. */
#define RS__REDIS_MAX_COUNT (UINT64_C(1) << 53)

/* Formats u64 / double script arguments (buf of RS__REDIS_NUM_LEN). */
#define RS__REDIS_NUM_LEN 32
const char *rs__redis_fmt_u64(char *buf, uint64_t value);
const char *rs__redis_fmt_double(char *buf, double value);

/* ---- Local fallback: an in-process GCRA (fallback.c) ----
 * The arithmetic is core/gcra.h's, shared with the token buckets. */

typedef struct rs__redis_local {
    rs__gcra config;
    rs__atomic_u64 tat_ns; /* theoretical arrival time (offset 0) */
} rs__redis_local;

/* `share` of `rate` tokens/s and of `burst` (rounded up, at least 1). */
void rs__redis_local_init(rs__redis_local *l, double rate, uint64_t burst, double share);
/* As the token bucket's reserve: RS_OK with *wait_ns <= max_wait_ns (taken),
 * or RS_E_LIMITED with the whole wait the tokens would need (UINT64_MAX when
 * n exceeds the local burst). */
int rs__redis_local_reserve(rs__redis_local *l, uint64_t n, uint64_t max_wait_ns,
                            uint64_t now_ns, uint64_t *wait_ns);
/* ns until n tokens are available (UINT64_MAX when n > burst). */
uint64_t rs__redis_local_wait_ns(rs__redis_local *l, uint64_t n, uint64_t now_ns);
/* Takes n tokens unconditionally (usage beyond a reservation). */
void rs__redis_local_charge(rs__redis_local *l, uint64_t n, uint64_t now_ns);
/* Gives back the last n of `reserved` tokens taken at at_ns (a cancelled or
 * smaller reservation), except what has refilled by now_ns: never more than
 * the reservation still holds. */
void rs__redis_local_refund(rs__redis_local *l, uint64_t n, uint64_t reserved, uint64_t at_ns,
                            uint64_t now_ns);

/* The answer of an object whose Redis call failed, for the OPEN and CLOSED
 * policies (LOCAL is the object's own): RS_OK with *wait_ns = 0, or RS_E_IO
 * with *wait_ns = the time until the pool tries to reconnect (UINT64_MAX
 * when it is not backing off: unknown). */
int rs__redis_failed(rs_redis *r, rs_redis_failure mode, uint64_t *wait_ns);

/* Server microseconds (a script result) to ns; negatives are 0. */
uint64_t rs__redis_us_to_ns(int64_t us);

/* RS_OK when `mode` is a valid policy and, for LOCAL, share is in (0, 1];
 * else RS_E_INVAL with rs_last_error() naming the field of `config` (the
 * config struct's type name). */
int rs__redis_failure_validate(const char *config, rs_redis_failure mode, double share);

/* ---- What every distributed object starts with (fallback.c) ---- */

typedef struct rs__redis_object {
    rs_redis *redis;
    const rs_clock *clock;       /* never NULL */
    char *key;                   /* <prefix><name>:<suffix> */
    size_t key_len;
    rs_redis_failure on_failure;
    double local_share;          /* what the local cells enforce: the configured
                                  * share under RS_REDIS_FAIL_LOCAL, else all */
    size_t size;                 /* of the whole object, for the free */
    /* Decisions, for metrics (rs__redis_count()). */
    rs__atomic_u64 granted, refused, failed, fallback;
} rs__redis_object;

/* RS_OK when a _new's cfg and out are both given, else RS_E_INVAL with
 * rs_last_error() saying which is NULL in `function`. */
int rs__redis_check_args(const char *function, const void *cfg, const void *out);
/* Validates the common fields of a `config` (its type name, for
 * rs_last_error(): redis and name set, a valid policy) and allocates a
 * zeroed object of `size` bytes starting with an rs__redis_object, filled
 * in. RS_E_INVAL (explained) or RS_E_NOMEM with nothing allocated. */
int rs__redis_object_new(size_t size, const char *config, rs_redis *redis, const char *name,
                         const char *suffix, rs_redis_failure mode, double share,
                         const rs_clock *clock, void **out);
/* The clock an object's limiter or account answers (rs_limiter_ops.clock):
 * its own under RS_REDIS_FAIL_LOCAL, whose fallback decides at the caller's
 * now_ns; NULL otherwise (Redis's TIME decides, now_ns is ignored). */
const rs_clock *rs__redis_object_clock(void *object);
/* Counts a decision that answered rc, given by the failure policy (not by
 * Redis) when by_fallback; returns rc. Errors that are not decisions
 * (RS_E_INVAL: a foreign key, a request too large) are not counted. */
int rs__redis_count(rs__redis_object *o, int rc, bool by_fallback);
/* The object's decisions, for the rs_redis_X_metrics() functions. */
int rs__redis_object_metrics(const void *object, rs_redis_object_snapshot *m);

/* Frees such an object (its local cells forgotten by the contention
 * hand-off of this thread); NULL is ignored. */
void rs__redis_object_free(void *object);

#endif /* RS_REDIS_INTERNAL_H */
