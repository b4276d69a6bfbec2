/* Private to the Redis backend (src/redis/): the connection pool's script
 * runner, the URL parser, the Lua scripts and the local fallback. Never
 * included outside the backend. */
#ifndef RS_REDIS_INTERNAL_H
#define RS_REDIS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "core/alloc.h"
#include "core/atomics.h"
#include "core/gcra.h"
#include "core/lock.h"
#include "core/tally.h"
#include "resilience/redis.h"

/* ---- URL (url.c) ---- */

#define RS__REDIS_MAX_SENTINELS 16
#define RS__REDIS_SENTINEL_PORT 26379

typedef struct rs__redis_endpoint {
    char *host;      /* without brackets */
    unsigned port;
} rs__redis_endpoint;

typedef struct rs__redis_url {
    char *host;      /* TCP host without brackets; NULL for a Unix socket or sentinels */
    char *path;      /* Unix socket path; NULL otherwise */
    char *username;  /* NULL: AUTH with the password only */
    char *password;  /* NULL: no AUTH */
    unsigned port;
    unsigned long db;
    /* redis-sentinel://: where to ask for the master `master_name` */
    rs__redis_endpoint *sentinels;
    size_t sentinel_count; /* 0: not a sentinel URL */
    char *master_name;
    char *sentinel_password; /* NULL: the sentinels need none */
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
    RS__SCRIPT_GCRA_LEASE,
    RS__SCRIPT_LOG,
    RS__SCRIPT_LOG_LEASE,
    RS__SCRIPT_COUNTER,
    RS__SCRIPT_COUNTER_LEASE,
    RS__SCRIPT_BUDGET,
    RS__SCRIPT_BREAKER,
    RS__SCRIPT_COUNT
} rs__redis_script;

const char *rs__redis_script_source(rs__redis_script script);
const char *rs__redis_script_name(rs__redis_script script);

/* ---- Connection pool (conn.c) ---- */

#define RS__REDIS_MAX_ARGS 10
#define RS__REDIS_MAX_RESULTS 6
#define RS__REDIS_MAX_KEYS 2

/* A script's reply: a flat array of integers. */
typedef struct rs__redis_result {
    int64_t v[RS__REDIS_MAX_RESULTS];
} rs__redis_result;

/* The keys a script touches (KEYS[1], KEYS[2]): always keys of one object,
 * which share its hash tag (keys.c). */
typedef struct rs__redis_keys {
    size_t count; /* 1..RS__REDIS_MAX_KEYS */
    const char *name[RS__REDIS_MAX_KEYS];
    size_t len[RS__REDIS_MAX_KEYS];
} rs__redis_keys;

/* Runs `script` on `keys` with argc string arguments (argc <=
 * RS__REDIS_MAX_ARGS) and expects at least `min_results` integers back.
 * RS_OK, RS_E_INVAL (a key of another type: WRONGTYPE), or RS_E_IO after
 * reporting why through on_error (transport errors also start the
 * reconnect schedule; calls that fail fast are not reported). */
int rs__redis_eval_keys(rs_redis *r, rs__redis_script script, const rs__redis_keys *keys,
                        size_t argc, const char *const *argv, size_t min_results,
                        rs__redis_result *out);
/* rs__redis_eval_keys on one key. */
int rs__redis_eval(rs_redis *r, rs__redis_script script, const char *key, size_t key_len,
                   size_t argc, const char *const *argv, size_t min_results,
                   rs__redis_result *out);

/* Sends one command on a hiredis context (socket timeouts set) and reads
 * its reply, never raising SIGPIPE. NULL on a transport failure, with what
 * happened in `why` (timeout_ns names the timeout in the message). */
struct redisContext;
struct redisReply;
struct redisReply *rs__redis_exchange(struct redisContext *ctx, int argc, const char **argv,
                                      const size_t *lens, uint64_t timeout_ns, char *why,
                                      size_t why_len);

/* A socket timeout for hiredis (at least 1 us: 0 would mean none). */
struct timeval rs__redis_timeval(uint64_t ns);

/* ---- Sentinel discovery (sentinel.c) ---- */

/* Asks the sentinels of `url` (starting with *next, each with an equal
 * share of what is left of budget_ns) for the address of its master: true
 * with host (host_len bytes at most) and port, *next then naming the
 * sentinel that answered; false with the last sentinel's problem in why. */
bool rs__sentinel_master(const rs__redis_url *url, size_t *next, uint64_t budget_ns, char *host,
                         size_t host_len, unsigned *port, char *why, size_t why_len);

/* The pool's key prefix (its length in *len) and whether it keeps 0.2's
 * key names. */
const char *rs__redis_prefix(const rs_redis *r, size_t *len);
bool rs__redis_legacy_keys(const rs_redis *r);
/* The longest one call can take: connect plus command timeout. */
uint64_t rs__redis_call_time_ns(const rs_redis *r);

/* ---- Key names (keys.c) ---- */

/* `<prefix>{<name>}:<suffix>`, or `<prefix><name>:<suffix>` for a pool with
 * legacy key names (rs__malloc'd, NUL-terminated; *len without the NUL);
 * NULL when out of memory. */
char *rs__redis_key(const rs_redis *r, const char *name, const char *suffix, size_t *len);
/* `<object's key>:<suffix>` (rs__malloc'd), NULL when out of memory. */
struct rs__redis_object;
char *rs__redis_subkey(const struct rs__redis_object *o, const char *suffix, size_t *len);
/* RS_OK, or RS_E_INVAL naming rs_redis_config.key_prefix when its first
 * '{' opens an empty tag (every key would then hash whole). */
int rs__redis_check_prefix(const char *prefix);
/* RS_OK when every key of an object called `name` shares one hash tag;
 * RS_E_INVAL naming `<config>.name` otherwise. */
int rs__redis_check_name(const rs_redis *r, const char *config, const char *name);

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

/* Who answered a decision, for the object's metrics (rs__redis_count()). */
typedef enum rs__redis_by {
    RS__BY_REDIS,   /* a script, in a round trip of the decision's own */
    RS__BY_LEASE,   /* this process, from a lease's units or the refusal it
                     * remembers: no round trip of its own */
    RS__BY_FALLBACK /* the failure policy, because Redis failed */
} rs__redis_by;

/* ---- Leases (lease.c) ----
 *
 * A lease is a batch of an object's capacity taken from Redis in one round
 * trip and handed out here, lock-free, until it is used up or expires; what
 * is left goes back with the next round trip (or at free). Its units were
 * counted by the server when it was taken, so units are never granted
 * twice; what a lease holds when the server's state moves on is the only
 * excess over the exact mode, and no process holds more than one lease per
 * cell (docs/distributed.md, "Leases"). */

/* A lease word: generation (high 32 bits) and units left (low 32 bits).
 * Every change of lease moves the generation, so a compare-exchange that
 * read one lease can never take from another (up to 2^32 changes of lease
 * while one thread is stalled between its load and its exchange). */
#define RS__LEASE_MAX_UNITS UINT64_C(0xffffffff)
/* Server-side identity of a lease, as many numbers as a script needs to
 * take it back (the bucket: segment end, refund epoch, refund total). */
#define RS__LEASE_IDS 3
/* The longest budget key a lease cell remembers; longer keys are decided
 * exactly, one round trip each. */
#define RS__LEASE_KEY_MAX 64

typedef struct rs__lease_key {
    const void *bytes; /* NULL with len 0: no key (the object's own) */
    size_t len;        /* <= RS__LEASE_KEY_MAX */
} rs__lease_key;

/* One lease at a time, its refill and what the last refusal said. */
typedef struct rs__lease {
    rs__atomic_u64 word;       /* generation << 32 | units left */
    rs__atomic_u64 expires_ns; /* on the object's clock: not used from then on */
    rs__atomic_u64 id[RS__LEASE_IDS];
    /* The key (budgets): written only between a close and a publish. */
    rs__atomic_u64 key_len;
    rs__atomic_u64 key_words[RS__LEASE_KEY_MAX / 8];
    /* The last refusal (a seqlock: odd while being written): n units were
     * refused, and may not be granted before until_ns. */
    rs__atomic_u64 refusal_seq;
    rs__atomic_u64 refusal_n;
    rs__atomic_u64 refusal_until_ns;
    /* The refill owner's, guarded by the set's lock only for `refilling`. */
    bool refilling;
    uint64_t refills;  /* refills finished, so that waiters see one end */
    uint64_t granted;  /* units the current lease started with */
    uint64_t size;     /* units to ask for next time (adapts to demand) */
} rs__lease;

/* What a round trip is asked to do: give back what a closed lease still
 * holds and take between want_min and want_max units (0: give back only). */
typedef struct rs__lease_trip_in {
    uint64_t give_back;              /* units of the closed lease, 0 = none */
    uint64_t back_granted;           /* that lease's size when taken */
    uint64_t back_id[RS__LEASE_IDS]; /* its identity on the server */
    rs__lease_key back_key;          /* its key (budgets) */
    uint64_t want_min, want_max;
    uint64_t max_wait_ns;            /* the bucket may reserve want_min ahead */
    rs__lease_key key;               /* the key to take for (budgets) */
} rs__lease_trip_in;

typedef struct rs__lease_trip_out {
    int status;        /* RS_OK (granted >= want_min), a refusal (RS_E_LIMITED,
                        * RS_E_BUDGET), RS_E_IO or RS_E_INVAL */
    uint64_t granted;  /* units taken */
    uint64_t wait_ns;  /* RS_OK: before they may be used (then nothing is
                        * leased: granted == want_min); RS_E_LIMITED: the
                        * whole wait want_min needs (UINT64_MAX = never) */
    uint64_t id[RS__LEASE_IDS];
} rs__lease_trip_out;

/* The object's round trip (its lease script). */
typedef void (*rs__lease_trip)(void *object, const rs__lease_trip_in *in,
                               rs__lease_trip_out *out);

/* Validated lease configuration of an object, and its statistics. */
typedef struct rs__lease_set {
    uint64_t cap;          /* largest lease, 1..RS__LEASE_MAX_UNITS */
    uint64_t ttl_ns;
    uint64_t wait_limit_ns; /* how long a caller waits for another's refill */
    const rs_clock *clock;  /* the object's */
    void *object;
    rs__lease_trip trip;
    rs__atomic_u64 round_trips, leases, leased_units, returned_units;
    size_t count;
    rs__mutex lock;        /* guards the cells' `refilling` and `refills` */
    void *cond;            /* a condition variable (threads only) */
    rs__lease cells[];
} rs__lease_set;

/* How a decision through a lease went. */
typedef struct rs__lease_answer {
    int status;             /* as the object's exact decision would answer */
    uint64_t wait_ns;
    uint32_t generation;    /* of the lease the units came from */
    uint64_t id[RS__LEASE_IDS];
    bool leased;            /* the units came from a lease (else: reserved
                             * ahead, refused or failed) */
    rs__redis_by by;        /* RS__BY_LEASE when answered without a round
                             * trip of its own, else RS__BY_REDIS */
} rs__lease_answer;

/* Validates `cfg` of the object whose config type is `config` (for
 * rs_last_error()) and whose capacity (burst, limit, window's maximum) and
 * rate per second size the leases; creates `cells` lease cells, or sets
 * *out to NULL when leases are off (cfg->instances 0). RS_E_INVAL naming
 * the field, or RS_E_NOMEM. */
int rs__lease_set_new(const rs_redis_lease_config *cfg, const char *config, uint64_t capacity,
                      double units_per_second, size_t cells, rs_redis *redis,
                      const rs_clock *clock, void *object, rs__lease_trip trip,
                      rs__lease_set **out);
/* Gives back every lease (one round trip per cell holding units; errors
 * ignored: the units then come back as the window slides or the bucket
 * refills) and frees the set; NULL is ignored. */
void rs__lease_set_free(rs__lease_set *set);

/* Decides n >= 1 units through `cell`: from its lease if it holds them
 * (lock-free, no I/O), else by a refill (one caller at a time per cell; the
 * others wait for it, up to the pool's call time, and try the new lease).
 * False when the caller must decide exactly itself (it waited once and
 * another refill is under way, or the key is too long to lease); true with
 * *out otherwise. A refill that fails leaves nothing leased: RS_E_IO in
 * *out, for the object's failure policy. */
bool rs__lease_decide(rs__lease_set *set, rs__lease *cell, rs__lease_key key, uint64_t n,
                      uint64_t max_wait_ns, rs__lease_answer *out);

/* Gives `units` taken from the lease of generation `generation` back to it
 * if it is still the cell's lease: true when done (false: the lease was
 * closed meanwhile, the caller gives them back to the server). */
bool rs__lease_give_back(rs__lease *cell, uint32_t generation, uint64_t units);
/* Takes `units` from the cell's current lease for `key` if it has them and
 * has not expired (a budget's usage beyond its estimate). */
bool rs__lease_take_more(rs__lease_set *set, rs__lease *cell, rs__lease_key key, uint64_t units);

/* rs_redis_*_lease_stats(): RS_E_INVAL naming `function`'s NULL argument
 * (`object_arg` when !have_object), else RS_OK and the statistics of `set`
 * (all zero for NULL: no leases). */
int rs__lease_stats(const char *function, const char *object_arg, bool have_object,
                    rs__lease_set *set, rs_redis_lease_stats *out);

/* Reads the reply every lease script gives, {granted?, units, wait_us
 * (-1 = never), id0, id1, id2}, into *out when out->status is RS_OK (the
 * script ran); a script that took nothing for a request answers `refusal`
 * (RS_E_LIMITED, or RS_E_BUDGET for a budget). */
void rs__redis_lease_result(const rs__redis_result *res, const rs__lease_trip_in *in,
                            int refusal, rs__lease_trip_out *out);

/* ---- What every distributed object starts with (fallback.c) ---- */

/* An object's decisions by answer (one shard of core/tally.h): `fallback`
 * and `leased` count some of the others again, by who answered. */
typedef struct rs__redis_counts {
    _Alignas(RS__CACHE_LINE) rs__atomic_u64 granted; /* the shard, not each field */
    rs__atomic_u64 refused, failed, fallback, leased;
} rs__redis_counts;

struct rs__redis_object {
    rs_redis *redis;
    const rs_clock *clock;       /* never NULL */
    char *key;                   /* <prefix><name>:<suffix> */
    size_t key_len;
    rs_redis_failure on_failure;
    double local_share;          /* what the local cells enforce: the configured
                                  * share under RS_REDIS_FAIL_LOCAL, else all */
    size_t size;                 /* of the whole object, for the free */
    /* Decisions, for metrics (rs__redis_count()): counter shards, since a
     * decision answered from a lease takes no lock and makes no round trip. */
    rs__redis_counts counts[RS__TALLY_SHARDS];
};
typedef struct rs__redis_object rs__redis_object;

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
/* Counts a decision that answered rc, given `by` Redis, a lease or the
 * failure policy; returns rc. Lock-free and without allocation (a counter
 * shard of this thread's), as a lease's hand-out must be. Errors that are
 * not decisions (RS_E_INVAL: a foreign key, a request too large;
 * RS_E_NOMEM) are not counted. */
int rs__redis_count(rs__redis_object *o, int rc, rs__redis_by by);
/* The object's decisions, for the rs_redis_X_metrics() functions. */
int rs__redis_object_metrics(const void *object, rs_redis_object_snapshot *m);

/* Frees such an object (its local cells forgotten by the contention
 * hand-off of this thread); NULL is ignored. */
void rs__redis_object_free(void *object);

#endif /* RS_REDIS_INTERNAL_H */
