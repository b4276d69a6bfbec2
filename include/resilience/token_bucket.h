/**
 * @file token_bucket.h
 * @brief Lock-free token bucket (GCRA): a rate in tokens per second and a
 *        burst capacity, enforced exactly, also under concurrent callers.
 *
 * The bucket holds at most `burst` tokens and refills continuously at `rate`
 * tokens per second; it starts full. Taking n tokens succeeds when n are
 * available. It is implemented as the Generic Cell Rate Algorithm: the whole
 * state is one 64-bit "theoretical arrival time" (TAT, the instant at which
 * the bucket would be full again) updated with a compare-exchange, so the
 * hot path takes no lock, makes no syscall beyond one clock read and never
 * allocates.
 *
 * **Integer time.** The rate is kept as a whole number of nanoseconds per
 * token, the *interval*: `interval = ceil(1e9 / rate)` (a quotient within
 * 1e-12 of a whole number counts as that number, so floating-point noise as
 * in 1e9 / 0.1 does not add a nanosecond). Rates whose interval is a whole
 * number of nanoseconds are exact: 0.5/s (2 s), 10/s, 1e6/s (1,000 ns),
 * 1e9/s (1 ns). Others are rounded up, so the effective rate
 * `1e9 / interval` never exceeds the configured one: 3/s becomes
 * 333,333,334 ns (2.999999994/s), 3000/s becomes 333,334 ns (2999.994/s). The
 * relative error is below `rate / 1e9`: under 1e-6 up to 1000/s.
 * - finest: 1e9 tokens per second (interval 1 ns); larger rates are
 *   #RS_E_INVAL — count in larger units (KiB rather than bytes).
 * - coarsest: the interval must fit in 64 bits (rate > 5.43e-11/s, one
 *   token per 584 years).
 * - burst: 1 up to any value whose capacity `burst * interval` fits in 64-bit
 *   nanoseconds (about 584 years of refill): 2^32 at 1/s, 2^44 at 1e6/s.
 *   Amounts are multiplied in 128 bits, so nothing loses precision.
 *
 * **Exactness.** Over any interval of length T that starts with a full
 * bucket, at most `burst + rate * T` tokens are granted (reservations count
 * from the instant they may be used), also under any number of concurrent
 * callers. A caller whose clock reading is older than another's is judged at
 * its own, earlier, time: that can only make it wait longer, never grant
 * more.
 *
 * **Contention.** Threads that take from one bucket back to back would move
 * its cache line between their cores on every grant, which costs more than
 * the grant. So a caller that finds its own grant of a moment ago (under
 * 4 us, in the time base it passes: the bucket's clock, or `now_ns` for the
 * `_at` functions) overwritten by another thread first spins for about 1 us
 * (pause instructions, counted once per process against the system clock),
 * once per call, before its compare-exchange, so that
 * the other thread's next grants find the line in their cache: threads
 * hammering one bucket then grant in runs instead of moving the line on
 * every grant (the measurements are in docs/performance.md). No
 * caller ever waits for another (the spin is bounded and the last writer
 * never spins), so the bucket stays lock-free; refusals, a thread's own
 * set_rate(), and callers that use a bucket now and then never spin. See
 * docs/threading.md.
 *
 * **Explicit time.** Every function that reads the clock has an `_at` twin
 * taking the instant as a trailing `now_ns` argument, as
 * golang.org/x/time/rate's `AllowN(t, n)`: for simulations and callers that
 * already hold a timestamp. Mixing the two on one bucket is fine when the
 * `now_ns` values come from the bucket's clock.
 *
 * See docs/rate-limiting.md for choosing between this and the sliding
 * windows.
 */
#ifndef RESILIENCE_TOKEN_BUCKET_H
#define RESILIENCE_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

#include "resilience/clock.h"
#include "resilience/common.h"
#include "resilience/limiter.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Token bucket configuration; start from #RS_TOKEN_BUCKET_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_token_bucket_config {
    double rate;    /**< tokens per second: finite, > 0, <= 1e9 */
    uint64_t burst; /**< bucket capacity in tokens, >= 1 */
} rs_token_bucket_config;

/**
 * Defaults as a brace initializer, for static initializers and C++ (the
 * fields in declaration order): 10 tokens per second, burst 10.
 * @since 0.2.0
 */
#define RS_TOKEN_BUCKET_CONFIG_INIT { 10.0 /* rate */, 10u /* burst */ }

/** Defaults: a compound literal of #RS_TOKEN_BUCKET_CONFIG_INIT. @since 0.1.0 */
#define RS_TOKEN_BUCKET_CONFIG_DEFAULT ((rs_token_bucket_config)RS_TOKEN_BUCKET_CONFIG_INIT)

/** Opaque token bucket. */
typedef struct rs_token_bucket rs_token_bucket;

/**
 * Checks a token bucket configuration without creating anything.
 *
 * @return #RS_OK, or #RS_E_INVAL when @p cfg is NULL, rate is not finite, is
 *         <= 0 or > 1e9, its interval (ceil(1e9 / rate) ns) does not fit in
 *         64 bits, burst is 0, or `burst * interval` overflows 64 bits;
 *         rs_last_error() names the field
 *         (`"rs_token_bucket_config.burst: 0, must be >= 1"`).
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API int rs_token_bucket_config_validate(const rs_token_bucket_config *cfg);

/**
 * Creates a token bucket, full.
 *
 * @param cfg    validated as rs_token_bucket_config_validate(); copied.
 * @param clock  the clock it reads and acquire() sleeps on; NULL = the system
 *               monotonic clock. Must outlive the bucket.
 * @param out    receives the new bucket; untouched on error.
 * @return #RS_OK, #RS_E_INVAL (bad @p cfg, or @p out NULL; nothing
 *         allocated; rs_last_error() names which), #RS_E_NOMEM.
 * @since 0.1.0
 */
RS_API int rs_token_bucket_new(const rs_token_bucket_config *cfg, const rs_clock *clock,
                               rs_token_bucket **out);

/** Frees @p tb; NULL is ignored. Not concurrent with other use. @since 0.1.0 */
RS_API void rs_token_bucket_free(rs_token_bucket *tb);

/**
 * Takes @p n tokens if they are available now; never waits.
 *
 * @param tb  the bucket; NULL gives false.
 * @param n   tokens; 0 always succeeds (and changes nothing); more than the
 *            burst can never be granted and gives false.
 * @return true if the tokens were taken, false if nothing was taken.
 * @note Thread-safe and lock-free: one clock read and one compare-exchange
 *       (retried only when another thread changed the bucket meanwhile;
 *       under back-to-back contention, preceded by one bounded spin, see
 *       "Contention" above).
 * @since 0.1.0
 */
RS_API bool rs_token_bucket_try_acquire(rs_token_bucket *tb, uint64_t n);

/**
 * rs_token_bucket_try_acquire() at the instant @p now_ns (on the bucket's
 * clock) instead of reading the clock.
 * @since 0.1.0
 */
RS_API bool rs_token_bucket_try_acquire_at(rs_token_bucket *tb, uint64_t n, uint64_t now_ns);

/**
 * Reserves @p n tokens now, to be used after a wait: golang.org/x/time/rate's
 * `ReserveN` semantics. On #RS_OK the tokens are taken *now* and the caller
 * owns them from `now + *wait_ns` on (0 = at once): it must wait that long
 * before using them, and later callers queue behind it. A reservation that
 * would have to wait longer than @p max_wait_ns takes nothing.
 *
 * `max_wait_ns = 0` is a try_acquire() that also says when to come back;
 * `max_wait_ns = UINT64_MAX` always reserves (as far as 64-bit time reaches).
 *
 * @param tb           the bucket.
 * @param n            tokens; 0 gives #RS_OK with a wait of 0 and takes
 *                     nothing.
 * @param max_wait_ns  longest acceptable wait.
 * @param wait_ns      required. Receives, on #RS_OK, the wait before the
 *                     tokens may be used; on #RS_E_LIMITED, the wait they
 *                     would have needed (> @p max_wait_ns: the earliest time
 *                     to ask again, if nobody else takes tokens meanwhile),
 *                     or UINT64_MAX when that lies beyond 64-bit time; on
 *                     #RS_E_INVAL, UINT64_MAX (never).
 * @return #RS_OK; #RS_E_LIMITED (nothing taken); #RS_E_INVAL when @p tb or
 *         @p wait_ns is NULL or @p n exceeds the burst (nothing taken).
 * @note Thread-safe and lock-free, like try_acquire().
 * @since 0.1.0
 */
RS_API int rs_token_bucket_reserve(rs_token_bucket *tb, uint64_t n, uint64_t max_wait_ns,
                                   uint64_t *wait_ns);

/**
 * rs_token_bucket_reserve() at the instant @p now_ns: on #RS_OK the tokens
 * may be used from `now_ns + *wait_ns`.
 * @since 0.1.0
 */
RS_API int rs_token_bucket_reserve_at(rs_token_bucket *tb, uint64_t n, uint64_t max_wait_ns,
                                      uint64_t *wait_ns, uint64_t now_ns);

/**
 * Takes @p n tokens, sleeping on the bucket's clock until they may be used
 * if that is at most @p timeout_ns away. It decides before sleeping: when the
 * wait would exceed the timeout it returns #RS_E_LIMITED at once, having
 * taken nothing; it never sleeps and then fails.
 *
 * @param tb          the bucket.
 * @param n           tokens; 0 returns #RS_OK at once.
 * @param timeout_ns  longest acceptable wait; 0 = only if available now.
 * @return #RS_OK (the tokens are yours and may be used now),
 *         #RS_E_LIMITED, or #RS_E_INVAL (@p tb NULL or @p n > burst).
 * @note Thread-safe. Blocks the calling thread (on a manual clock the sleep
 *       advances the clock instead).
 * @since 0.1.0
 */
RS_API int rs_token_bucket_acquire(rs_token_bucket *tb, uint64_t n, uint64_t timeout_ns);

/**
 * Changes the rate and burst of a live bucket. The tokens already consumed
 * stay accounted: the bucket's debt — consumed tokens not yet refilled,
 * including tokens reserved by callers still waiting — carries over as a
 * number of tokens (rounded up to the new interval) and is refilled at the new
 * rate. A bucket with 3 tokens consumed still has 3 consumed: it offers
 * `new burst - 3` (so growing the burst makes the extra capacity available
 * at once, and shrinking it below 3 leaves the bucket empty until the debt is
 * refilled); a full bucket stays full; outstanding reservations stay owed.
 * Over any interval of length T the grants stay within
 * `max burst + max rate * T` of the configurations in force.
 *
 * @param tb     the bucket.
 * @param rate   tokens per second, as in #rs_token_bucket_config.
 * @param burst  capacity, as in #rs_token_bucket_config.
 * @return #RS_OK, or #RS_E_INVAL (@p tb NULL, or a configuration
 *         rs_token_bucket_config_validate() rejects; nothing changed;
 *         rs_last_error() names the argument: `"burst: 0, must be >= 1"`).
 * @note Thread-safe. Concurrent acquirers are never blocked by a lock, but
 *       they spin for the few dozen instructions the change takes (a seqlock);
 *       change rates occasionally, not per request.
 * @since 0.1.0
 */
RS_API int rs_token_bucket_set_rate(rs_token_bucket *tb, double rate, uint64_t burst);

/** rs_token_bucket_set_rate() at the instant @p now_ns. @since 0.1.0 */
RS_API int rs_token_bucket_set_rate_at(rs_token_bucket *tb, double rate, uint64_t burst,
                                       uint64_t now_ns);

/**
 * How long until @p n tokens could be taken, taking nothing (the wait a
 * reserve() would return now). Informative only: another thread may take
 * tokens first.
 *
 * @return ns from now (0 = at once); UINT64_MAX when @p tb is NULL, @p n
 *         exceeds the burst, or the tokens could not be used before the end
 *         of 64-bit time (never). 0 for @p n = 0.
 * @note Thread-safe; reads only.
 * @since 0.1.0
 */
RS_API uint64_t rs_token_bucket_wait_ns(rs_token_bucket *tb, uint64_t n);

/** rs_token_bucket_wait_ns() at the instant @p now_ns. @since 0.1.0 */
RS_API uint64_t rs_token_bucket_wait_ns_at(rs_token_bucket *tb, uint64_t n, uint64_t now_ns);

/**
 * @p tb behind the rs_limiter interface (limiter.h), for rs_policy's
 * external limiters and other code that holds any kind of limiter: acquire
 * is rs_token_bucket_reserve_at(), wait_ns is rs_token_bucket_wait_ns_at().
 * @p tb must outlive the returned value; NULL gives an empty limiter.
 * @since 0.1.0
 */
RS_API rs_limiter rs_token_bucket_limiter(rs_token_bucket *tb);

/**
 * Tokens available now, with the fraction refilled so far (for example 2.5).
 * Negative when reservations are outstanding: -3.0 means the next token
 * after 3 owed ones have been refilled. Its whole part is what
 * try_acquire() would grant now (since 0.2.0 also near the end of 64-bit
 * time, where tokens that could only be used after UINT64_MAX are not
 * counted). Informative only: another thread may take tokens before you act
 * on it.
 *
 * @param tb  the bucket; NULL gives 0.
 * @return tokens, at most the burst.
 * @note Thread-safe; reads only.
 * @since 0.1.0
 */
RS_API double rs_token_bucket_available(rs_token_bucket *tb);

/** rs_token_bucket_available() at the instant @p now_ns. @since 0.1.0 */
RS_API double rs_token_bucket_available_at(rs_token_bucket *tb, uint64_t now_ns);

/**
 * What rs_token_bucket_metrics() reports. The counters count since the
 * bucket was created; a request above the burst (never grantable, an
 * error) and a request for 0 tokens are not counted. The shared-memory
 * bucket reports the same fields (rs_shm_token_bucket_metrics()).
 * @since 0.2.0
 */
typedef struct rs_token_bucket_snapshot {
    double rate;             /**< tokens per second, as configured (or last set) */
    uint64_t burst;          /**< capacity in tokens */
    double available;        /**< tokens available now, as rs_token_bucket_available() */
    uint64_t granted;        /**< requests granted: try_acquire() true, reserve() and
                                  acquire() #RS_OK (with or without a wait) */
    uint64_t granted_tokens; /**< tokens the granted requests took */
    uint64_t refused;        /**< requests refused: try_acquire() false, reserve() and
                                  acquire() #RS_E_LIMITED */
} rs_token_bucket_snapshot;

/**
 * Fills @p m with the bucket's configuration, its tokens now and its
 * counters (reads the clock once).
 *
 * Counting costs the grant path no locked instruction: each of the first
 * few threads that count keeps its counters on a cache line of its own in
 * every bucket (the rest share one line with atomic adds), and this sums
 * them. Each counter is exact once the callers are done and never goes
 * back between two reads; the fields are not one atomic snapshot (a grant
 * may show in `available` and not yet in `granted`).
 *
 * @param tb  the bucket.
 * @param m   receives the snapshot; untouched on error.
 * @return #RS_OK, or #RS_E_INVAL when @p tb or @p m is NULL.
 * @note Thread-safe and lock-free: loads only, no clock read beyond the
 *       one for `available`.
 * @since 0.2.0
 */
RS_API int rs_token_bucket_metrics(rs_token_bucket *tb, rs_token_bucket_snapshot *m);

/** rs_token_bucket_metrics() at the instant @p now_ns. @since 0.2.0 */
RS_API int rs_token_bucket_metrics_at(rs_token_bucket *tb, rs_token_bucket_snapshot *m,
                                      uint64_t now_ns);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_TOKEN_BUCKET_H */
