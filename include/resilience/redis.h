/**
 * @file redis.h
 * @brief Limits, budgets and breaker state shared by many processes through
 *        Redis: a GCRA token bucket, a sliding-window limiter (exact log or
 *        two-window counter), a per-key token budget and a shared "breaker
 *        open" flag.
 *
 * The library libresilience-redis (`pkg-config resilience-redis`), built
 * only when the meson feature `redis` finds hiredis (the default, `auto`);
 * this header is installed only then, and the umbrella header resilience.h
 * does not include it: include it yourself. See docs/distributed.md.
 *
 * Every decision is one atomic Lua script run with EVALSHA on the server, on
 * the server's clock (Redis TIME), so clients' clocks need not agree and
 * concurrent clients can never overspend. Keys expire on their own. The
 * keys of one object share a Redis Cluster hash tag, `{<name>}`, so every
 * script touches one cluster slot (since 0.2.0).
 *
 * Leases (since 0.2.0, off by default; #rs_redis_lease_config) let the
 * token bucket, the windows and the budget take a batch of capacity per
 * round trip and decide locally, lock-free, at the price of a stated
 * excess: at most the units the leases hold.
 *
 * The pool reaches one server (`redis://`, `unix://`) or, through Redis
 * Sentinel (`redis-sentinel://`, since 0.2.0), whichever server the
 * sentinels name the master, following failovers.
 *
 * One #rs_redis is a small pool of connections (hiredis contexts are not
 * thread-safe: each connection has its own lock). Create the pool first,
 * then any number of limiters, budgets and breaker states on it; free them
 * before the pool.
 *
 * When Redis cannot be reached or a script fails, every object applies its
 * own #rs_redis_failure policy: refuse (#RS_E_IO), allow, or decide with a
 * local in-process limiter at a share of the rate. No call ever waits longer
 * than the pool's connect plus command timeout.
 *
 * Conventions shared with the local and shared-memory twins: every
 * fallible call returns an `int` status and gives values through
 * out-parameters; a duration that is "never" or "unknown" is UINT64_MAX,
 * never 0 (0 always means "now"). Every #RS_E_INVAL from a `_new` and
 * every #RS_E_IO sets rs_last_error(): the config field (`"rs_redis_config.
 * pool_size: 65 is not in 1..64"`) or the backend's cause (`"redis
 * 127.0.0.1:6379: cannot connect: Connection refused; ..."`), never the
 * password. A call whose failure policy answered for a failed Redis sets it
 * too, though it returns #RS_OK or #RS_E_LIMITED.
 *
 * A reply lost to a timeout is never read as a grant: the call answers by
 * its failure policy, while the server may have counted the request. The
 * caller therefore never gets more than the server granted, and the limit
 * errs on the strict side until those units leave the window (see
 * docs/distributed.md, "Exactness under faults").
 *
 * Counts and amounts the scripts keep are at most 2^53 (Lua's numbers are
 * doubles): larger configurations are #RS_E_INVAL, larger amounts are
 * capped at 2^53, which exceeds every window.
 *
 * Unlike the local modules, a decision here is a network round trip, and
 * hiredis allocates its command buffer and reply with malloc (not through
 * rs_set_allocator()).
 */
#ifndef RESILIENCE_REDIS_H
#define RESILIENCE_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resilience/account.h"
#include "resilience/backoff.h"
#include "resilience/clock.h"
#include "resilience/common.h"
#include "resilience/limiter.h"
#include "resilience/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Connection pool                                                          */
/* ------------------------------------------------------------------------ */

/**
 * Receives a description of a backend problem: a malformed URL (#RS_E_INVAL,
 * from rs_redis_new()), a key holding a foreign type (#RS_E_INVAL: a naming
 * mistake, returned as is whatever the failure policy), a failed
 * connection, a wrong password, a timeout or another server error
 * (#RS_E_IO). The message never contains the password.
 *
 * Called from the thread that met the problem, with no internal lock held;
 * it must not free the pool. While Redis is down, calls that fail fast
 * without trying (see rs_redis_config::reconnect) are not reported (their
 * rs_last_error() says why they did not try), so the rate of messages is
 * bounded by the reconnect schedule.
 * @since 0.1.0
 */
typedef void (*rs_redis_error_fn)(void *ctx, int status, const char *message);

/** Connection pool configuration; start from #RS_REDIS_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_redis_config {
    /**
     * Where Redis is, required:
     * - `redis://[[username]:password@]host[:port][/db]`: TCP; host is a
     *   name, an IPv4 address or `[an IPv6 address]`; port defaults to 6379
     *   and db to 0. `%XX` escapes are decoded in the username and password.
     * - `unix:///path/to/socket[?db=N][&password=P]` (also
     *   `unix://[[username]:password@]/path`): a Unix-domain socket.
     * - `redis-sentinel://[[username]:password@]host[:port][,host[:port]...]/master[/db][?sentinel_password=P]`
     *   (since 0.2.0): Redis Sentinel. The hosts are 1 to 16 sentinels
     *   (port 26379 by default), `master` the name they monitor (letters,
     *   digits, `-`, `.`, `_`); the user name, password and database are
     *   the master's, `sentinel_password` the sentinels' own. The pool asks
     *   the sentinels (`SENTINEL get-master-addr-by-name`, in turn, each
     *   with an equal share of half the connect timeout) for the master's
     *   address whenever it (re)connects after a failure, checks that the
     *   server it reaches is the master (ROLE), and treats a READONLY
     *   answer (a demoted master) as a failure: the pool backs off and
     *   asks again, so it follows a failover within its reconnect
     *   schedule. Calls keep the bound below: the sentinels are asked
     *   within the connect timeout.
     *
     * Strict: a host name is letters, digits, `-`, `.` and `_`; brackets
     * hold only an IPv6 address; `%` is followed by exactly two hex digits
     * (not `%00`); numbers are digits only; `db=` and the password are
     * given at most once; a socket path fits a Unix socket address (107
     * bytes on Linux; hiredis would silently cut a longer one); sentinel
     * addresses are separated by single commas. Bytes outside printable
     * ASCII must be %-escaped (in the passwords). Anything else
     * (`rediss://` TLS included, which hiredis 0.14 lacks) is
     * #RS_E_INVAL (since 0.2.0; 0.1 let some of it through). Host names are
     * resolved by getaddrinfo(), which no timeout bounds: use an address or
     * /etc/hosts where that matters.
     */
    const char *url;
    /** Overrides the URL's password when not NULL ("" = no password): keeps
     *  secrets out of URLs. */
    const char *password;
    /**
     * Prepended to every key this library writes, default `"rs:"`; NULL is
     * no prefix. Keys are `<prefix>{<name>}:<kind>` (see each object and
     * legacy_key_names). A prefix may hold a hash tag of its own
     * (`"{app}:"`: every object on one cluster slot), but not an empty one
     * (`"{}"`, #RS_E_INVAL since 0.2.0).
     */
    const char *key_prefix;
    /** Connect timeout, ns, > 0 (default 200 ms). */
    uint64_t connect_timeout_ns;
    /**
     * Time for all commands of one call, ns, > 0 (default 200 ms): the
     * handshake (AUTH, SELECT) and script load after a (re)connect share it
     * with the call's script. One call therefore returns within
     * connect_timeout_ns + command_timeout_ns (plus the wait for a free
     * connection, see pool_size).
     */
    uint64_t command_timeout_ns;
    /**
     * Connections, 1..64 (default 4). A call takes the next connection in
     * turn and holds it for one round trip; with fewer connections than
     * concurrent callers, callers queue behind each other's round trips.
     */
    uint32_t pool_size;
    /**
     * Reconnect schedule (default: 50 ms base, 2 s cap, full jitter). After
     * a connection or command fails, the whole pool fails fast (no I/O) until
     * the delay for the n-th consecutive failure has passed; then one call
     * probes the server. Every connection that predates the failure is
     * replaced before its next use. Validated like rs_backoff_new().
     */
    rs_backoff_config reconnect;
    /** Problem reports, may be NULL. */
    rs_redis_error_fn on_error;
    /** Passed to on_error (named `error_ctx` before 0.2.0). */
    void *ctx;
    /**
     * Password of the sentinels of a `redis-sentinel://` URL when they
     * require one (their own `requirepass`, not the master's): overrides
     * the URL's `sentinel_password=` when not NULL ("" = none). Ignored for
     * other URLs.
     * @since 0.2.0
     */
    const char *sentinel_password;
    /**
     * Keep the key names of 0.2 and earlier, `<prefix><name>:<suffix>`,
     * instead of `<prefix>{<name>}:<suffix>` (default false). The braces
     * are a Redis Cluster hash tag: every key of one object then lives on
     * one cluster slot, as its scripts need. Set this only while a fleet
     * upgrades from 0.2, so that old and new instances share the same keys
     * (see docs/distributed.md, "Key names and Redis Cluster"); legacy
     * names are not cluster-safe.
     * @since 0.2.0
     */
    bool legacy_key_names;
} rs_redis_config;

/**
 * Defaults as documented on each field, as a brace initializer (in field
 * order) for static initializers and C++.
 * @since 0.2.0
 */
#define RS_REDIS_CONFIG_INIT                                                          \
    { NULL, NULL, "rs:", 200000000u, 200000000u, 4,                                  \
      { 50000000u, 2000000000u, 2.0, RS_JITTER_FULL, 0 }, NULL, NULL, NULL, false }

/** Defaults as documented on each field. @since 0.1.0 */
#define RS_REDIS_CONFIG_DEFAULT ((rs_redis_config)RS_REDIS_CONFIG_INIT)

/** Opaque connection pool. */
typedef struct rs_redis rs_redis;

/**
 * Creates a connection pool. Does no I/O: connections are opened on first
 * use (so a program can start while Redis is down); call rs_redis_ping() to
 * check the server, password and database at start-up.
 *
 * @param cfg    validated and copied (the strings too).
 * @param clock  drives the reconnect schedule; NULL = system clock. Socket
 *               timeouts are always real time.
 * @param out    receives the pool; untouched on error.
 * @return #RS_OK; #RS_E_INVAL when @p cfg or @p out is NULL, the URL is
 *         missing or malformed (on_error hears it too), a timeout is 0,
 *         pool_size is not in 1..64 or reconnect is invalid: rs_last_error()
 *         names the field; #RS_E_NOMEM.
 * @note Thread-safe (creates a new object).
 * @since 0.1.0
 */
RS_API int rs_redis_new(const rs_redis_config *cfg, const rs_clock *clock, rs_redis **out);

/**
 * Closes every connection and frees the pool. Free every object created on
 * it first. NULL is ignored.
 * @since 0.1.0
 */
RS_API void rs_redis_free(rs_redis *r);

/**
 * Checks the server end to end now (connect, AUTH, SELECT, PING), ignoring
 * the reconnect schedule.
 *
 * @param detail      receives a description of the problem (or "PONG"),
 *                    truncated to @p detail_len; may be NULL. The same text
 *                    as rs_last_error() on failure.
 * @return #RS_OK; #RS_E_IO (unreachable, wrong password, bad database
 *         number, timeout: see @p detail); #RS_E_INVAL when @p r is NULL.
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API int rs_redis_ping(rs_redis *r, char *detail, size_t detail_len);

/**
 * What an object does when Redis fails (unreachable, timed out, wrong
 * password, or a server error). A key holding a foreign type is not a
 * failure of Redis but a naming mistake: every object answers it with
 * #RS_E_INVAL whatever its policy (failing open would drop the limit for
 * good).
 * @since 0.1.0
 */
typedef enum rs_redis_failure {
    /** Refuse: the call returns #RS_E_IO. Never overspends; Redis becomes a
     *  dependency of every call. */
    RS_REDIS_FAIL_CLOSED = 0,
    /** Allow as if Redis had said yes. Stays available; nothing limits. */
    RS_REDIS_FAIL_OPEN = 1,
    /** Decide locally with an in-process GCRA at `local_share` of the
     *  configured rate (set it to about 1 / number of instances). The
     *  fallback runs on the object's clock: through #rs_limiter and
     *  #rs_account it decides at the caller's `now_ns`, so the object's
     *  limiter and account answer that clock to rs_limiter_clock() and
     *  rs_account_clock() (and rs_policy_new() refuses a policy on another
     *  clock). Under the other policies they answer NULL: Redis's TIME
     *  decides and `now_ns` is ignored. */
    RS_REDIS_FAIL_LOCAL = 2
} rs_redis_failure;

/* ------------------------------------------------------------------------ */
/* Leases                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * Leases: an option of the token bucket, the sliding window and the budget
 * to take a batch of capacity from Redis in one round trip and hand it out
 * in the process, lock-free and without I/O, until it is used up or
 * expires; then the next round trip gives back what was left and takes a
 * new batch. Off by default (`instances` 0): every decision is then one
 * exact round trip, as before.
 *
 * Contract:
 * - **Never granted twice.** Each unit of a lease goes either to exactly
 *   one caller or back to the server, never both: units leave the lease by
 *   one atomic exchange, and closing a lease empties it in one exchange.
 *   A round trip whose reply is lost drops what it carried (back to the
 *   server, or from it): the strict side, as in the exact mode.
 * - **Over-admission is at most the units held in leases.** The server
 *   counted a lease's units when it granted them. Over any interval, the
 *   fleet admits at most what the exact mode allows plus the units that
 *   leases held, unused, at the interval's start: at most `max_units` per
 *   lease cell and process (one cell per object; for a budget, one per key
 *   a process uses, at most 64 at once). A token bucket therefore grants
 *   at most `burst + rate·T + P·max_units` over T with P processes, a
 *   window at most `limit + P·max_units` per window, a budget at most
 *   `max_per_window + P·max_units` per key and window.
 * - **Units held are not lost.** What a lease still holds goes back with
 *   the next round trip of its cell (one that takes a new lease), or when
 *   the object is freed; until then it is simply not used (the strict
 *   side). A bucket only gets back what has not refilled since, a sliding
 *   log frees a returned entry's units once every older entry has left the
 *   window, and a budget or counter gets them back in the sub-window or
 *   window they were taken in.
 * - **Sizing.** A lease is at most `max_units`: by default the capacity one
 *   lease lifetime brings (rate × ttl_ns, never more than the burst, limit
 *   or window's maximum), divided by `instances`, at least 1. Within that,
 *   each cell adapts to demand: the first lease is the request itself;
 *   while leases run out before they expire, the next is twice the larger
 *   of the last size and the request; it halves when one expires more
 *   than half unused.
 * - **Requests from many threads share round trips.** One refill per cell
 *   is in flight at a time; other callers wait for it (at most the pool's
 *   connect plus command timeout) and take from the new lease. A caller
 *   that waited once and finds yet another refill under way decides with
 *   an exact round trip of its own, so a call waits for at most one other
 *   round trip besides its own.
 * - **Refusals are remembered.** A refused request of n units is refused
 *   again without I/O until the wait the server gave has passed (buckets
 *   and windows; budgets ask each time).
 * - **Clocks.** Lease lifetimes run on the object's clock; the server's
 *   TIME still decides every grant.
 * - **Failures.** A refill that fails applies the object's failure policy
 *   to the request; units already leased stay usable until they expire.
 * - **Metrics.** A decision from a lease counts as any other in the
 *   object's metrics (rs_redis_token_bucket_metrics() and twins), and in
 *   rs_redis_object_snapshot.leased when it made no round trip of its
 *   own; counted in the calling thread's counter shard, without a lock.
 *
 * @since 0.2.0
 */
typedef struct rs_redis_lease_config {
    /** How many processes share the object's name: 0 (the default) = no
     *  leases, every decision one exact round trip; otherwise sizes
     *  `max_units`. */
    uint32_t instances;
    /** The largest lease in units; 0 (the default) = derived as above.
     *  At most the object's capacity (burst, limit, max_per_window) and
     *  2^32 - 1. */
    uint64_t max_units;
    /** How long a lease may be drawn on, 1 ms .. 1 h (default 100 ms):
     *  shorter leases hold less for less long; longer ones cost fewer
     *  round trips. */
    uint64_t ttl_ns;
} rs_redis_lease_config;

/** Leases off, 100 ms lifetime, as a brace initializer for static
 *  initializers and C++. @since 0.2.0 */
#define RS_REDIS_LEASE_CONFIG_INIT { 0, 0, 100000000u }

/** Leases off, 100 ms lifetime. @since 0.2.0 */
#define RS_REDIS_LEASE_CONFIG_DEFAULT ((rs_redis_lease_config)RS_REDIS_LEASE_CONFIG_INIT)

/**
 * What an object's leases have done so far (all zero without leases).
 * @since 0.2.0
 */
typedef struct rs_redis_lease_stats {
    uint64_t round_trips;    /**< lease round trips: refills, refusals, failures */
    uint64_t leases;         /**< leases taken */
    uint64_t leased_units;   /**< units they held when taken (each refill's own
                                  request included) */
    uint64_t returned_units; /**< unused units sent back */
    uint64_t held_units;     /**< units in this process's leases now: the most
                                  they can still add to what the exact mode
                                  would admit */
    uint64_t max_units;      /**< the largest lease (configured or derived) */
} rs_redis_lease_stats;

/* ------------------------------------------------------------------------ */
/* Distributed token bucket (GCRA)                                          */
/* ------------------------------------------------------------------------ */

/** Token bucket configuration; start from #RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_redis_token_bucket_config {
    rs_redis *redis;          /**< the pool, required; must outlive the bucket */
    const char *name;         /**< required, non-empty, not starting with '}'; key
                                   `<prefix>{<name>}:tb` (since 0.2.0) */
    /** tokens per second, within the local bucket's limits: finite, > 0,
     *  at most 1e9, and 1/rate and burst/rate below 2^64 ns (about 584
     *  years: slower rates would need expiry times Redis refuses) */
    double rate;
    uint64_t burst;           /**< bucket capacity, >= 1 */
    rs_redis_failure on_failure; /**< default #RS_REDIS_FAIL_CLOSED */
    double local_share;       /**< for #RS_REDIS_FAIL_LOCAL: share of rate and burst, (0, 1] */
    /** Leases of tokens (default: off; see #rs_redis_lease_config). A lease
     *  is a GCRA reservation of up to max_units tokens; the refund key
     *  `<prefix>{<name>}:tb:r` keeps what came back. @since 0.2.0 */
    rs_redis_lease_config lease;
} rs_redis_token_bucket_config;

/** Defaults: 10 tokens/s, burst 10, fail closed, local share 1, no leases,
 *  as a brace initializer for static initializers and C++. @since 0.2.0 */
#define RS_REDIS_TOKEN_BUCKET_CONFIG_INIT                                              \
    { NULL, NULL, 10.0, 10, RS_REDIS_FAIL_CLOSED, 1.0, RS_REDIS_LEASE_CONFIG_INIT }

/** Defaults: 10 tokens/s, burst 10, fail closed, local share 1, no leases.
 *  @since 0.1.0 */
#define RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT                                           \
    ((rs_redis_token_bucket_config)RS_REDIS_TOKEN_BUCKET_CONFIG_INIT)

/** Opaque distributed token bucket. */
typedef struct rs_redis_token_bucket rs_redis_token_bucket;

/**
 * Creates a token bucket whose state (one GCRA theoretical arrival time)
 * lives in Redis under `<prefix>{<name>}:tb`. Every client using the same name
 * shares it; they should use the same rate and burst. No I/O.
 *
 * @param clock  for blocking waits and the local fallback; NULL = system.
 * @return #RS_OK; #RS_E_INVAL (NULL @p cfg, @p out or redis, empty name, a
 *         rate outside the limits above (since 0.2.0; 0.1 accepted rates
 *         whose every call then failed), burst 0, unknown on_failure,
 *         local_share not in (0, 1] for #RS_REDIS_FAIL_LOCAL; rs_last_error()
 *         names the field); #RS_E_NOMEM.
 * @note Thread-safe (creates a new object).
 * @since 0.1.0
 */
RS_API int rs_redis_token_bucket_new(const rs_redis_token_bucket_config *cfg,
                                     const rs_clock *clock, rs_redis_token_bucket **out);

/**
 * Frees @p tb (the key in Redis expires on its own); NULL is ignored. With
 * leases, first gives back what the bucket's lease holds: one round trip,
 * bounded by the pool's timeouts; if it fails the tokens simply refill.
 * @since 0.1.0
 */
RS_API void rs_redis_token_bucket_free(rs_redis_token_bucket *tb);

/**
 * Takes @p n tokens if they are available now. Unlike the local bucket's
 * bool, a status: a remote decision has more outcomes.
 *
 * @return #RS_OK (taken; n == 0 always succeeds without I/O);
 *         #RS_E_LIMITED (nothing taken, also when n > burst);
 *         #RS_E_IO (Redis failed and the policy is #RS_REDIS_FAIL_CLOSED);
 *         #RS_E_INVAL (@p tb NULL, or the key holds something that is not
 *         a bucket: another type, or a number no bucket stores, such as
 *         `inf`; since 0.2.0 the latter is no longer a refusal forever).
 * @note Thread-safe; one round trip, or with leases none while the lease
 *       holds @p n tokens (or a refusal of @p n is remembered).
 * @since 0.1.0
 */
RS_API int rs_redis_token_bucket_try_acquire(rs_redis_token_bucket *tb, uint64_t n);

/**
 * Reserves @p n tokens, as golang.org/x/time/rate's ReserveN with a maximum
 * wait: if they are available within @p max_wait_ns, they are taken now (the
 * bucket's debt grows) and `*wait_ns` says how long to wait before using
 * them; otherwise nothing is taken.
 *
 * @param wait_ns  required. On #RS_OK: the wait, <= max_wait_ns (0 = now).
 *                 On #RS_E_LIMITED: the whole wait the tokens would need
 *                 (> max_wait_ns; as rs_token_bucket_reserve() reports it).
 *                 On #RS_E_INVAL for n > burst or a key that is not a
 *                 bucket: UINT64_MAX (never). On #RS_E_IO: the time until
 *                 the pool's next reconnect attempt, or UINT64_MAX when
 *                 unknown (a server error, not an outage); never 0 (0 meant
 *                 "unknown" before 0.2.0).
 * @return #RS_OK, #RS_E_LIMITED, #RS_E_IO (policy closed), #RS_E_INVAL
 *         (@p tb or @p wait_ns NULL, or n > burst: never, as the local
 *         bucket answers it, or a key that is not a bucket).
 * @note Thread-safe; one round trip (with leases: none while the lease holds
 *       the tokens, or a refusal of @p n outlasts @p max_wait_ns).
 * @since 0.1.0
 */
RS_API int rs_redis_token_bucket_reserve(rs_redis_token_bucket *tb, uint64_t n,
                                         uint64_t max_wait_ns, uint64_t *wait_ns);

/**
 * Blocking form: reserves with max_wait = @p timeout_ns, then sleeps the
 * returned wait on the bucket's clock.
 *
 * @return #RS_OK after the wait; #RS_E_LIMITED (the wait would exceed
 *         @p timeout_ns; nothing taken, nothing slept); #RS_E_IO; #RS_E_INVAL.
 * @since 0.1.0
 */
RS_API int rs_redis_token_bucket_acquire(rs_redis_token_bucket *tb, uint64_t n,
                                         uint64_t timeout_ns);

/**
 * How long until @p n tokens would be available, without taking any.
 *
 * @param wait_ns  required; 0 = now, UINT64_MAX when n > burst. On
 *                 #RS_E_IO and #RS_E_INVAL as rs_redis_token_bucket_reserve().
 * @return #RS_OK, #RS_E_IO (policy closed), #RS_E_INVAL.
 * @note Thread-safe; one round trip.
 * @since 0.1.0
 */
RS_API int rs_redis_token_bucket_wait_ns(rs_redis_token_bucket *tb, uint64_t n,
                                         uint64_t *wait_ns);

/**
 * The bucket as an #rs_limiter for rs_policy. Its acquire is
 * rs_redis_token_bucket_reserve() (so #RS_OK with a wait means reserved),
 * except that n > burst gives #RS_E_INVAL, as limiter.h asks; now_ns is
 * used only by the local fallback, and its clock is the bucket's under
 * #RS_REDIS_FAIL_LOCAL, NULL otherwise. @p tb must outlive every copy;
 * NULL gives the empty limiter.
 * @since 0.1.0
 */
RS_API rs_limiter rs_redis_token_bucket_limiter(rs_redis_token_bucket *tb);

/**
 * What the bucket's leases have done (#rs_redis_lease_stats; all zero
 * without leases).
 * @return #RS_OK; #RS_E_INVAL when @p tb or @p stats is NULL.
 * @note Thread-safe; no I/O.
 * @since 0.2.0
 */
RS_API int rs_redis_token_bucket_lease_stats(rs_redis_token_bucket *tb,
                                             rs_redis_lease_stats *stats);

/* ------------------------------------------------------------------------ */
/* Distributed sliding window                                               */
/* ------------------------------------------------------------------------ */

/**
 * Sliding-window algorithm; the values match the local module's
 * rs_window_kind (LOG = 0, COUNTER = 1).
 * @since 0.1.0
 */
typedef enum rs_redis_window_kind {
    /** Exact: a sorted set of admitted requests, one entry per request
     *  whatever its n (since 0.2.0; one per unit before); memory O(requests
     *  in the window) per key, at most O(limit). */
    RS_REDIS_WINDOW_LOG = 0,
    /** Two fixed windows weighted by overlap: one small hash per key; an
     *  estimate that assumes the previous window's requests were spread
     *  evenly. */
    RS_REDIS_WINDOW_COUNTER = 1
} rs_redis_window_kind;

/** Sliding window configuration; start from #RS_REDIS_SLIDING_WINDOW_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_redis_sliding_window_config {
    rs_redis *redis;          /**< the pool, required */
    const char *name;         /**< required; key `<prefix>{<name>}:log` or `:cnt` */
    uint64_t limit;           /**< requests per window, >= 1 (LOG: at most 1000000;
                                   COUNTER: at most 2^53) */
    uint64_t window_ns;       /**< >= 1 ms (the server clock has 1 us resolution) */
    rs_redis_window_kind kind; /**< default #RS_REDIS_WINDOW_LOG */
    rs_redis_failure on_failure; /**< default #RS_REDIS_FAIL_CLOSED */
    double local_share;       /**< for #RS_REDIS_FAIL_LOCAL, (0, 1]: a local GCRA at
                                   share*limit per window, burst share*limit */
    /** Leases of requests (default: off; see #rs_redis_lease_config). A
     *  lease is one log entry, or one addition to the counter, of up to
     *  max_units requests. @since 0.2.0 */
    rs_redis_lease_config lease;
} rs_redis_sliding_window_config;

/** Defaults: 100 per second, exact log, fail closed, local share 1, no
 *  leases, as a brace initializer for static initializers and C++.
 *  @since 0.2.0 */
#define RS_REDIS_SLIDING_WINDOW_CONFIG_INIT                                            \
    { NULL, NULL, 100, 1000000000u, RS_REDIS_WINDOW_LOG, RS_REDIS_FAIL_CLOSED, 1.0,    \
      RS_REDIS_LEASE_CONFIG_INIT }

/** Defaults: 100 per second, exact log, fail closed, local share 1, no
 *  leases. @since 0.1.0 */
#define RS_REDIS_SLIDING_WINDOW_CONFIG_DEFAULT                                         \
    ((rs_redis_sliding_window_config)RS_REDIS_SLIDING_WINDOW_CONFIG_INIT)

/** Opaque distributed sliding window. */
typedef struct rs_redis_sliding_window rs_redis_sliding_window;

/**
 * Creates a sliding-window limiter shared through Redis. No I/O.
 *
 * @return #RS_OK; #RS_E_INVAL (NULL @p cfg, @p out or redis, empty name,
 *         limit 0 or above 1000000 for LOG or 2^53 for COUNTER, window
 *         below 1 ms, unknown kind or on_failure, local_share not in (0, 1]
 *         for LOCAL; rs_last_error() names the field); #RS_E_NOMEM.
 * @note Thread-safe (creates a new object).
 * @since 0.1.0
 */
RS_API int rs_redis_sliding_window_new(const rs_redis_sliding_window_config *cfg,
                                       const rs_clock *clock, rs_redis_sliding_window **out);

/** Frees @p w; NULL is ignored. With leases, first gives back what the
 *  window's lease holds (one round trip, bounded by the pool's timeouts).
 *  @since 0.1.0 */
RS_API void rs_redis_sliding_window_free(rs_redis_sliding_window *w);

/**
 * Admits @p n requests if the window has room for all of them. A refused
 * request is not recorded (it uses none of the limit). Any n costs the
 * server the same: one entry (LOG) or one counter (COUNTER).
 *
 * @return #RS_OK (n == 0 always, without I/O); #RS_E_LIMITED (also n >
 *         limit); #RS_E_IO (policy closed); #RS_E_INVAL (@p w NULL, or the
 *         key holds something that is not this window).
 * @note Thread-safe; one round trip (with leases: none while the lease holds
 *       @p n units, or a refusal of @p n is remembered).
 * @since 0.1.0
 */
RS_API int rs_redis_sliding_window_try_acquire(rs_redis_sliding_window *w, uint64_t n);

/**
 * How long until @p n requests would be admitted (0 = now; UINT64_MAX when
 * n > limit), without recording anything. On #RS_E_IO `*wait_ns` is the
 * time until the pool's next reconnect attempt or UINT64_MAX (unknown); on
 * #RS_E_INVAL for a foreign key, UINT64_MAX.
 * @return #RS_OK, #RS_E_IO (policy closed), #RS_E_INVAL.
 * @note Thread-safe; one round trip.
 * @since 0.1.0
 */
RS_API int rs_redis_sliding_window_wait_ns(rs_redis_sliding_window *w, uint64_t n,
                                           uint64_t *wait_ns);

/**
 * Requests counted in the window now (LOG: exact; COUNTER: the weighted
 * estimate, rounded down); with leases, the units leases hold count too.
 * @param count  required; written on #RS_OK only.
 * @return #RS_OK, #RS_E_IO (whatever the failure policy: there is no local
 *         count to give), #RS_E_INVAL.
 * @note Thread-safe; one round trip.
 * @since 0.1.0
 */
RS_API int rs_redis_sliding_window_count(rs_redis_sliding_window *w, uint64_t *count);

/**
 * The window as an #rs_limiter: acquire is try_acquire (a window cannot
 * reserve the future): #RS_OK with wait 0, or #RS_E_LIMITED with the wait
 * until it may succeed; n > limit gives #RS_E_INVAL. Its clock is the
 * window's under #RS_REDIS_FAIL_LOCAL, NULL otherwise. @p w must outlive
 * every copy; NULL gives the empty limiter. @since 0.1.0
 */
RS_API rs_limiter rs_redis_sliding_window_limiter(rs_redis_sliding_window *w);

/**
 * What the window's leases have done (#rs_redis_lease_stats; all zero
 * without leases).
 * @return #RS_OK; #RS_E_INVAL when @p w or @p stats is NULL.
 * @note Thread-safe; no I/O.
 * @since 0.2.0
 */
RS_API int rs_redis_sliding_window_lease_stats(rs_redis_sliding_window *w,
                                               rs_redis_lease_stats *stats);

/* ------------------------------------------------------------------------ */
/* Distributed token budget                                                 */
/* ------------------------------------------------------------------------ */

/** Budget configuration; start from #RS_REDIS_BUDGET_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_redis_budget_config {
    rs_redis *redis;          /**< the pool, required */
    const char *name;         /**< required; keys `<prefix>{<name>}:budget[:<key>]` */
    uint64_t max_per_window;  /**< tokens per window, 1..2^53 */
    uint64_t window_ns;       /**< rolling window, >= sub_windows microseconds */
    uint64_t max_per_request; /**< largest single reservation, 1..max_per_window */
    uint32_t sub_windows;     /**< the window rolls in this many steps, 1..1000 (default 60) */
    rs_redis_failure on_failure; /**< default #RS_REDIS_FAIL_CLOSED */
    double local_share;       /**< for #RS_REDIS_FAIL_LOCAL, (0, 1] of max_per_window */
    /**
     * Secret of the keyed hash that puts keys on the local fallback's cells
     * (#RS_REDIS_FAIL_LOCAL): 0 (default) = from the operating system, so
     * that a client choosing its own keys cannot aim at another key's cell;
     * any other value gives a reproducible placement for tests.
     * @since 0.2.0
     */
    uint64_t seed;
    /**
     * Leases of tokens per key (default: off; see #rs_redis_lease_config):
     * each process keeps up to 64 keys' leases at once, one per cell that
     * keys hash onto (with the secret above). A key that finds another
     * key's lease in its cell takes the cell over, giving the other key's
     * unused tokens back in the same round trip; keys longer than 64 bytes
     * and reservations of 0 are decided exactly.
     * @since 0.2.0
     */
    rs_redis_lease_config lease;
} rs_redis_budget_config;

/** Defaults: 100000 tokens per hour in 60 steps, 10000 per request, fail
 *  closed, no leases, as a brace initializer for static initializers and
 *  C++. @since 0.2.0 */
#define RS_REDIS_BUDGET_CONFIG_INIT                                                    \
    { NULL, NULL, 100000, UINT64_C(3600000000000), 10000, 60, RS_REDIS_FAIL_CLOSED,    \
      1.0, 0, RS_REDIS_LEASE_CONFIG_INIT }

/** Defaults: 100000 tokens per hour in 60 steps, 10000 per request, fail
 *  closed, no leases. @since 0.1.0 */
#define RS_REDIS_BUDGET_CONFIG_DEFAULT ((rs_redis_budget_config)RS_REDIS_BUDGET_CONFIG_INIT)

/** Where a budget reservation is held. @since 0.1.0 */
typedef enum rs_redis_ticket_source {
    RS_REDIS_TICKET_REDIS = 0,     /**< in Redis */
    RS_REDIS_TICKET_LOCAL = 1,     /**< in the local fallback (Redis was failing) */
    RS_REDIS_TICKET_UNTRACKED = 2, /**< nowhere: granted by #RS_REDIS_FAIL_OPEN */
    /** in Redis, through a lease of this process (since 0.2.0) */
    RS_REDIS_TICKET_LEASE = 3
} rs_redis_ticket_source;

/**
 * A reservation, to hand back to commit or cancel. Plain data: copy it
 * freely; the first two fields mirror rs_budget_ticket.
 * @since 0.1.0
 */
typedef struct rs_redis_budget_ticket {
    uint64_t reserved;   /**< tokens held */
    uint64_t at_ns;      /**< when: the server's Unix time in ns (REDIS, LEASE: when
                              the lease was taken), or the object's clock (LOCAL) */
    rs_redis_ticket_source source; /**< where the tokens are held */
    /** Which lease of this process the tokens came from (#RS_REDIS_TICKET_LEASE);
     *  0 otherwise. @since 0.2.0 */
    uint64_t lease;
} rs_redis_budget_ticket;

/** Opaque distributed budget (one budget per key, created on first use). */
typedef struct rs_redis_budget rs_redis_budget;

/**
 * Creates a per-key token budget over a rolling window kept in Redis: each
 * key's usage is a hash of sub_windows buckets that expires on its own. No
 * I/O.
 *
 * @return #RS_OK; #RS_E_INVAL (NULL @p cfg, @p out or redis, empty name, a
 *         zero max, max_per_window above 2^53 (since 0.2.0), window_ns below
 *         sub_windows microseconds, sub_windows not in 1..1000,
 *         max_per_request > max_per_window, bad failure policy;
 *         rs_last_error() names the field); #RS_E_NOMEM.
 * @note Thread-safe (creates a new object).
 * @since 0.1.0
 */
RS_API int rs_redis_budget_new(const rs_redis_budget_config *cfg, const rs_clock *clock,
                               rs_redis_budget **out);

/** Frees @p b; NULL is ignored. With leases, first gives back what each
 *  key's lease holds (one round trip per key holding tokens, each bounded
 *  by the pool's timeouts). @since 0.1.0 */
RS_API void rs_redis_budget_free(rs_redis_budget *b);

/**
 * Reserves @p estimate tokens of @p key's budget before a call.
 *
 * @param key, key_len  which budget (user, organisation, endpoint; any
 *                      bytes); NULL or 0 = the object's single budget.
 * @param ticket        required; filled on #RS_OK.
 * @return #RS_OK (reserved); #RS_E_BUDGET (the window's remaining budget is
 *         below @p estimate, or estimate > max_per_request; nothing held);
 *         #RS_E_IO (policy closed); #RS_E_INVAL (@p b or @p ticket NULL,
 *         or the key holds something that is not a budget); #RS_E_NOMEM (a
 *         key too long for the stack, over ~200 bytes, and no memory for it).
 * @note Thread-safe; one round trip (with leases: none while the key's lease
 *       holds @p estimate tokens; then the ticket's source is
 *       #RS_REDIS_TICKET_LEASE).
 * @since 0.1.0
 */
RS_API int rs_redis_budget_reserve(rs_redis_budget *b, const void *key, size_t key_len,
                                   uint64_t estimate, rs_redis_budget_ticket *ticket);

/**
 * After the call: replaces the ticket's estimate with @p actual. Usage can
 * exceed the window's maximum this way (the tokens were spent); later
 * reservations wait until it rolls off. @p actual above 2^53 counts as 2^53
 * (more than any window holds; since 0.2.0, larger values no longer wrap to
 * a negative usage). If the ticket's sub-window has already rolled out of
 * the window, only an excess is charged, to the current sub-window. A
 * ticket of the local fallback gives back only what its reservation still
 * holds: tokens that have refilled since it was taken are not refunded
 * twice (since 0.2.0). A lease ticket (since 0.2.0) settles with its lease
 * while that is open (unused tokens go back into it; more tokens come from
 * the key's current lease if it has them), else with the server, in the
 * lease's sub-window, as a ticket held in Redis.
 *
 * @return #RS_OK; #RS_E_IO (Redis failed: the estimate stays charged, the
 *         safe side); #RS_E_INVAL (@p b or @p ticket NULL).
 * @note Thread-safe; one round trip for a ticket held in Redis, none for a
 *       lease ticket while its lease is open (or, for a larger @p actual,
 *       while the key's lease has the difference).
 * @since 0.1.0
 */
RS_API int rs_redis_budget_commit(rs_redis_budget *b, const void *key, size_t key_len,
                                  const rs_redis_budget_ticket *ticket, uint64_t actual);

/** Gives the whole reservation back: rs_redis_budget_commit() with 0.
 *  @note Thread-safe. @since 0.1.0 */
RS_API int rs_redis_budget_cancel(rs_redis_budget *b, const void *key, size_t key_len,
                                  const rs_redis_budget_ticket *ticket);

/**
 * Tokens still available in @p key's window now (0 when overspent); with
 * leases, the tokens leases hold are not available.
 * @param remaining  required; written on #RS_OK only.
 * @return #RS_OK, #RS_E_IO (whatever the policy), #RS_E_INVAL.
 * @note Thread-safe; one round trip.
 * @since 0.1.0
 */
RS_API int rs_redis_budget_remaining(rs_redis_budget *b, const void *key, size_t key_len,
                                     uint64_t *remaining);

/**
 * One key of a distributed budget, for rs_redis_budget_account(): plain
 * data the caller owns (for example on the stack for one call).
 * @since 0.1.0
 */
typedef struct rs_redis_budget_key {
    rs_redis_budget *budget; /**< the budget */
    const void *key;         /**< which budget (user, tenant...); NULL = the single one */
    size_t key_len;          /**< bytes of @p key */
} rs_redis_budget_key;

/**
 * @p k's budget behind the rs_account interface (account.h), so that
 * rs_policy can charge it like a local rs_budget (`cfg.account`, or per call
 * `rs_call_options.account`). Reserve decides on the server's clock and
 * uses the `now_ns` it is given only in the local fallback; the account's
 * clock is the budget's under #RS_REDIS_FAIL_LOCAL, NULL otherwise. A commit
 * or cancel that fails leaves the estimate charged (the safe side). @p k
 * (and the key bytes) must outlive every use of the returned value; NULL
 * gives an empty account.
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API rs_account rs_redis_budget_account(rs_redis_budget_key *k);

/**
 * What the budget's leases have done, over all keys (#rs_redis_lease_stats;
 * all zero without leases).
 * @return #RS_OK; #RS_E_INVAL when @p b or @p stats is NULL.
 * @note Thread-safe; no I/O.
 * @since 0.2.0
 */
RS_API int rs_redis_budget_lease_stats(rs_redis_budget *b, rs_redis_lease_stats *stats);

/* ------------------------------------------------------------------------ */
/* Shared breaker state                                                     */
/* ------------------------------------------------------------------------ */

/** Shared breaker state configuration; start from #RS_REDIS_BREAKER_STATE_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_redis_breaker_state_config {
    rs_redis *redis;          /**< the pool, required */
    const char *name;         /**< the dependency, required; key `<prefix>{<name>}:open` */
    /**
     * When Redis fails: #RS_REDIS_FAIL_OPEN (default) ignores the shared
     * state (the local breaker still protects), #RS_REDIS_FAIL_CLOSED refuses
     * with #RS_E_IO, #RS_REDIS_FAIL_LOCAL keeps the last open period this
     * object saw or published.
     */
    rs_redis_failure on_failure;
} rs_redis_breaker_state_config;

/** Defaults: fail open, as a brace initializer for static initializers and
 *  C++. @since 0.2.0 */
#define RS_REDIS_BREAKER_STATE_CONFIG_INIT { NULL, NULL, RS_REDIS_FAIL_OPEN }

/** Defaults: fail open. @since 0.1.0 */
#define RS_REDIS_BREAKER_STATE_CONFIG_DEFAULT                                          \
    ((rs_redis_breaker_state_config)RS_REDIS_BREAKER_STATE_CONFIG_INIT)

/** Opaque shared breaker state. */
typedef struct rs_redis_breaker_state rs_redis_breaker_state;

/**
 * Creates a handle on one dependency's shared "open" flag: a key that
 * exists, with a TTL, while some instance's breaker is open. Each instance
 * keeps its own local breaker (its own windows and half-open probes); only
 * the fact "open for the next T ns" is shared. No I/O.
 * @return #RS_OK; #RS_E_INVAL (NULL @p cfg, @p out or redis, empty name,
 *         unknown on_failure; rs_last_error() names the field); #RS_E_NOMEM.
 * @note Thread-safe (creates a new object).
 * @since 0.1.0
 */
RS_API int rs_redis_breaker_state_new(const rs_redis_breaker_state_config *cfg,
                                      const rs_clock *clock, rs_redis_breaker_state **out);

/** Frees @p s; NULL is ignored. @since 0.1.0 */
RS_API void rs_redis_breaker_state_free(rs_redis_breaker_state *s);

/**
 * Tells every instance that the dependency is open for @p open_ns: call it
 * from the local breaker's on_state_change callback on a transition to OPEN
 * (pass the breaker's open_ns). An existing longer open period is kept.
 *
 * @param open_ns  >= 1 ms (the key's TTL has millisecond resolution).
 * @return #RS_OK; #RS_E_IO (not published; the local breaker is unaffected);
 *         #RS_E_INVAL (@p s NULL, open_ns below 1 ms).
 * @note Thread-safe; one round trip (it blocks the callback for at most the
 *       pool's timeouts).
 * @since 0.1.0
 */
RS_API int rs_redis_breaker_state_publish_open(rs_redis_breaker_state *s, uint64_t open_ns);

/**
 * Removes the shared open flag early, e.g. when the local breaker closes
 * after successful probes. Optional: the flag expires on its own.
 * @return #RS_OK, #RS_E_IO, #RS_E_INVAL.
 * @note Thread-safe; one round trip.
 * @since 0.1.0
 */
RS_API int rs_redis_breaker_state_clear(rs_redis_breaker_state *s);

/**
 * Reads the shared flag.
 *
 * @param remaining_ns  may be NULL; receives how long the flag stays: 0 when
 *                      not open, UINT64_MAX for an operator's flag without
 *                      TTL; on #RS_E_IO the time until the pool's next
 *                      reconnect attempt or UINT64_MAX (unknown), on
 *                      #RS_E_INVAL UINT64_MAX (before 0.2.0: 0 on both).
 * @return #RS_OK (not open); #RS_E_OPEN (open); #RS_E_IO or the failure
 *         policy's answer when Redis fails; #RS_E_INVAL.
 * @note Thread-safe; one round trip.
 * @since 0.1.0
 */
RS_API int rs_redis_breaker_state_check(rs_redis_breaker_state *s, uint64_t *remaining_ns);

/**
 * The shared flag as an #rs_limiter: acquire returns #RS_E_OPEN (wait_ns =
 * time left) while the flag exists, so rs_policy refuses the call as an open
 * breaker would, and #RS_OK otherwise; n is ignored; other answers as
 * rs_redis_breaker_state_check(). Its clock is the object's under
 * #RS_REDIS_FAIL_LOCAL, NULL otherwise. @p s must outlive every copy; NULL
 * gives the empty limiter.
 * @since 0.1.0
 */
RS_API rs_limiter rs_redis_breaker_state_limiter(rs_redis_breaker_state *s);

/* ------------------------------------------------------------------------ */
/* Metrics                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * What rs_redis_metrics() reports about a connection pool. The counters
 * count since the pool was created.
 * @since 0.2.0
 */
typedef struct rs_redis_snapshot {
    uint32_t pool_size;            /**< connections the pool may hold */
    uint64_t commands;             /**< calls that sent their script (one round trip or two) */
    uint64_t command_ns;           /**< real time those took, in total */
    uint64_t failures;             /**< calls that tried and failed (#RS_E_IO: a connection,
                                        timeout or server error) */
    uint64_t skipped;              /**< calls that failed fast, untried, while the pool
                                        waited to reconnect */
    uint64_t connects;             /**< connections opened */
    uint64_t consecutive_failures; /**< failures in a row now (0 when healthy) */
    uint64_t retry_in_ns;          /**< until the next connection attempt (0 when not
                                        backing off) */
} rs_redis_snapshot;

/**
 * Fills @p m with the pool's counters and state. No I/O.
 * @return #RS_OK, or #RS_E_INVAL when an argument is NULL.
 * @note Thread-safe and lock-free.
 * @since 0.2.0
 */
RS_API int rs_redis_metrics(rs_redis *r, rs_redis_snapshot *m);

/**
 * What the metrics functions of the distributed objects report: their
 * decisions since creation, by answer. A decision is a limiter's acquire
 * (not a wait query), a budget's reservation, or a check of the breaker
 * flag; requests that can never be granted and foreign keys (#RS_E_INVAL)
 * are not counted. Counted locally, per process: every process reports
 * its own.
 * @since 0.2.0
 */
typedef struct rs_redis_object_snapshot {
    uint64_t granted;  /**< answered #RS_OK (the flag: found closed) */
    uint64_t refused;  /**< answered #RS_E_LIMITED, #RS_E_BUDGET (the flag: #RS_E_OPEN) */
    uint64_t failed;   /**< answered #RS_E_IO: Redis failed and the policy refuses */
    /** answered by the failure policy because Redis failed (the decisions
        above that Redis did not make, those of #RS_E_IO included) */
    uint64_t fallback;
    /** answered in this process from a lease, without a round trip of
        their own: granted from its units, or refused by the refusal a
        refill brought back (counted in granted and refused too; 0 without
        leases) */
    uint64_t leased;
} rs_redis_object_snapshot;

/** The decisions of @p tb. No I/O. #RS_OK, or #RS_E_INVAL for a NULL
 *  argument. @note Thread-safe. @since 0.2.0 */
RS_API int rs_redis_token_bucket_metrics(rs_redis_token_bucket *tb, rs_redis_object_snapshot *m);
/** The decisions of @p w, as rs_redis_token_bucket_metrics(). @since 0.2.0 */
RS_API int rs_redis_sliding_window_metrics(rs_redis_sliding_window *w,
                                           rs_redis_object_snapshot *m);
/** The reservations of @p b (every key), as rs_redis_token_bucket_metrics(). @since 0.2.0 */
RS_API int rs_redis_budget_metrics(rs_redis_budget *b, rs_redis_object_snapshot *m);
/** The checks of @p s, as rs_redis_token_bucket_metrics(). @since 0.2.0 */
RS_API int rs_redis_breaker_state_metrics(rs_redis_breaker_state *s, rs_redis_object_snapshot *m);

/**
 * Adds the pool to an exporter (metrics.h) under @p name: the
 * `redis_pool_*` families of docs/observability.md. Statuses as
 * rs_exporter_add().
 * @since 0.2.0
 */
RS_API int rs_exporter_add_redis(rs_exporter *e, const char *name, rs_redis *r);

/**
 * Adds a distributed object to an exporter under @p name: the
 * `redis_decisions_total` and `redis_fallback_decisions_total` families,
 * which every kind of distributed object shares (so names must differ
 * between them); for a token bucket, sliding window or budget with leases
 * also the `redis_lease_*` families (rs_redis_object_snapshot.leased and
 * #rs_redis_lease_stats; left out of the exposition without leases).
 * Statuses as rs_exporter_add().
 * @since 0.2.0
 */
RS_API int rs_exporter_add_redis_token_bucket(rs_exporter *e, const char *name,
                                              rs_redis_token_bucket *tb);
/** As rs_exporter_add_redis_token_bucket(). @since 0.2.0 */
RS_API int rs_exporter_add_redis_sliding_window(rs_exporter *e, const char *name,
                                                rs_redis_sliding_window *w);
/** As rs_exporter_add_redis_token_bucket(). @since 0.2.0 */
RS_API int rs_exporter_add_redis_budget(rs_exporter *e, const char *name, rs_redis_budget *b);
/** As rs_exporter_add_redis_token_bucket(). @since 0.2.0 */
RS_API int rs_exporter_add_redis_breaker_state(rs_exporter *e, const char *name,
                                               rs_redis_breaker_state *s);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_REDIS_H */
