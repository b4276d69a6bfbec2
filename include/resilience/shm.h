/**
 * @file shm.h
 * @brief Rate limiters shared by the processes of one host through a
 *        file-backed shared mapping: pre-fork workers (or any cooperating
 *        processes) spend one limit together, with no server.
 *
 * Two limiters, each the in-process one with its state moved into a small
 * file that every process maps:
 * - #rs_shm_token_bucket: the GCRA token bucket of token_bucket.h, with the
 *   same statuses and exactly the same grants for the same instants. The
 *   state is one 64-bit word updated by compare-exchange: lock-free.
 * - #rs_shm_sliding_window: the two-bucket sliding counter of
 *   sliding_window.h (#RS_WINDOW_COUNTER), with the same admissions for the
 *   same instants. Its state is three 64-bit words, each changed by one
 *   compare-exchange: lock-free as well.
 *
 * **Names.** A name with exactly one '/', at the start ("/api-quota"), is a
 * POSIX shared-memory object (shm_open(3); on Linux a file in /dev/shm);
 * anything else is a filesystem path ("/run/myapp/quota", "quota.shm"). The
 * file is 128 bytes; see docs/shared-memory.md for its layout.
 *
 * **Time.** Every process reads the system monotonic clock (CLOCK_MONOTONIC,
 * which all processes of a host share); there is no clock parameter. The
 * `_at` twins take an instant that must come from that same clock
 * (rs_clock_now(NULL)): a manual clock cannot be shared between processes.
 *
 * **Which process does what.** Any number of processes may open the same
 * name at once: exactly one initialises it, the others wait (at most
 * 1 s) until it is ready. A process may die at any instant, also in the
 * middle of a call: the state stays consistent (every change is one
 * compare-exchange), and a file left half-initialised by a dying process is
 * initialised again by the next opener. A handle opened before fork(2) works
 * in the parent and in every child; each process closes its own copy.
 *
 * **Errors.** #RS_E_INVAL means the arguments or the file are wrong: the
 * file is not one of ours (wrong magic or phase word), has another layout
 * version, size or kind, or holds a different configuration than the one
 * asked for (unless #RS_SHM_ADOPT). Nothing in such a file is changed.
 * #RS_E_IO means the system refused (the name does not exist without
 * #RS_SHM_CREATE, permissions, no space, mmap failed), or the file stayed
 * uninitialised for the whole bounded wait.
 */
#ifndef RESILIENCE_SHM_H
#define RESILIENCE_SHM_H

#include <stdbool.h>
#include <stdint.h>

#include "resilience/common.h"
#include "resilience/limiter.h"
#include "resilience/sliding_window.h"
#include "resilience/token_bucket.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Open flag: create the file (mode 0600) if it does not exist. @since 0.1.0 */
#define RS_SHM_CREATE 1u

/**
 * Open flag: an existing file whose configuration differs from the one
 * given is joined anyway, with its own configuration (see the
 * `_config_get` functions); without it that is #RS_E_INVAL. With this flag the
 * configuration may be NULL: join whatever the file holds.
 * @since 0.1.0
 */
#define RS_SHM_ADOPT 2u

/**
 * Removes the name: shm_unlink(3) for a shared-memory object, unlink(2) for
 * a path. Processes that have it open keep using it; the next open with
 * #RS_SHM_CREATE starts a fresh limiter.
 *
 * @return #RS_OK, #RS_E_INVAL (@p name NULL or empty), #RS_E_IO (it does
 *         not exist, or the system refused).
 * @since 0.1.0
 */
RS_API int rs_shm_unlink(const char *name);

/* ---- token bucket ------------------------------------------------------------ */

/** Opaque handle on a shared-memory token bucket. */
typedef struct rs_shm_token_bucket rs_shm_token_bucket;

/**
 * Opens the token bucket stored under @p name, creating it (full) if
 * needed. Openers agree when their configurations give the same interval
 * (ceil(1e9 / rate) ns) and burst.
 *
 * @param name   a shared-memory object name or a path (see the file
 *               comment).
 * @param cfg    as for rs_token_bucket_new(); NULL only with #RS_SHM_ADOPT
 *               and without #RS_SHM_CREATE.
 * @param flags  #RS_SHM_CREATE, #RS_SHM_ADOPT, or 0.
 * @param out    receives the handle; untouched on error.
 * @return #RS_OK; #RS_E_INVAL (bad arguments, invalid @p cfg, unknown
 *         flags, or a foreign or mismatching file: see the file comment;
 *         nothing created); #RS_E_NOMEM; #RS_E_IO.
 * @note Thread-safe; may wait up to 1 s for another process to finish
 *       initialising the file.
 * @since 0.1.0
 */
RS_API int rs_shm_token_bucket_open(const char *name, const rs_token_bucket_config *cfg,
                                    unsigned flags, rs_shm_token_bucket **out);

/**
 * Unmaps and frees this process's handle; the shared bucket and the file
 * stay (see rs_shm_unlink()). NULL is ignored. Not concurrent with other
 * use of the handle.
 * @since 0.1.0
 */
RS_API void rs_shm_token_bucket_close(rs_shm_token_bucket *tb);

/**
 * The configuration in force: the rate and burst the file was created with.
 * @return #RS_OK, or #RS_E_INVAL when an argument is NULL.
 * @since 0.1.0
 */
RS_API int rs_shm_token_bucket_config_get(const rs_shm_token_bucket *tb,
                                          rs_token_bucket_config *cfg);

/**
 * rs_token_bucket_try_acquire() on the shared bucket: takes @p n tokens if
 * they are available now, for all processes together.
 * @note Thread- and process-safe, lock-free: one clock read and one
 *       compare-exchange in the shared mapping (under back-to-back
 *       contention, preceded by one bounded spin, as token_bucket.h's
 *       "Contention" describes).
 * @since 0.1.0
 */
RS_API bool rs_shm_token_bucket_try_acquire(rs_shm_token_bucket *tb, uint64_t n);

/** rs_shm_token_bucket_try_acquire() at @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API bool rs_shm_token_bucket_try_acquire_at(rs_shm_token_bucket *tb, uint64_t n,
                                               uint64_t now_ns);

/**
 * rs_token_bucket_reserve() on the shared bucket: reserves @p n tokens now,
 * usable after `*wait_ns`, if that is at most @p max_wait_ns. Same statuses
 * and wait values.
 * @since 0.1.0
 */
RS_API int rs_shm_token_bucket_reserve(rs_shm_token_bucket *tb, uint64_t n,
                                       uint64_t max_wait_ns, uint64_t *wait_ns);

/** rs_shm_token_bucket_reserve() at @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API int rs_shm_token_bucket_reserve_at(rs_shm_token_bucket *tb, uint64_t n,
                                          uint64_t max_wait_ns, uint64_t *wait_ns,
                                          uint64_t now_ns);

/**
 * rs_token_bucket_acquire() on the shared bucket: reserves, then sleeps on
 * the system clock until the tokens may be used, if that is at most
 * @p timeout_ns away; otherwise #RS_E_LIMITED at once, nothing taken.
 * @since 0.1.0
 */
RS_API int rs_shm_token_bucket_acquire(rs_shm_token_bucket *tb, uint64_t n,
                                       uint64_t timeout_ns);

/**
 * rs_token_bucket_available() on the shared bucket (informative: other
 * processes may take tokens before you act on it). NULL gives 0.
 * @since 0.1.0
 */
RS_API double rs_shm_token_bucket_available(rs_shm_token_bucket *tb);

/** rs_shm_token_bucket_available() at @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API double rs_shm_token_bucket_available_at(rs_shm_token_bucket *tb, uint64_t now_ns);

/**
 * The bucket as an #rs_limiter for rs_policy: acquire is
 * rs_shm_token_bucket_reserve() on the system clock (the @p now_ns the
 * policy passes is ignored: the bucket's time base is CLOCK_MONOTONIC,
 * shared with the other processes). @p tb must outlive every copy.
 * @since 0.1.0
 */
RS_API rs_limiter rs_shm_token_bucket_limiter(rs_shm_token_bucket *tb);

/* ---- sliding counter --------------------------------------------------------- */

/** Largest `limit` of a shared sliding counter (counts are 32-bit in the file). @since 0.1.0 */
#define RS_SHM_SLIDING_WINDOW_MAX_LIMIT UINT64_C(4294967295)

/** Opaque handle on a shared-memory sliding window (counter kind). */
typedef struct rs_shm_sliding_window rs_shm_sliding_window;

/**
 * Opens the sliding window stored under @p name, creating it (empty) if
 * needed. Only #RS_WINDOW_COUNTER is shared (the exact log needs O(limit)
 * memory that no single compare-exchange can update); its semantics and
 * bounds are those of sliding_window.h, with a limit of at most
 * #RS_SHM_SLIDING_WINDOW_MAX_LIMIT. Openers agree when limit and window_ns
 * are equal.
 *
 * @param cfg    kind must be #RS_WINDOW_COUNTER; NULL only with
 *               #RS_SHM_ADOPT and without #RS_SHM_CREATE.
 * @return as rs_shm_token_bucket_open(); #RS_E_INVAL also for
 *         #RS_WINDOW_LOG or a limit above the maximum.
 * @since 0.1.0
 */
RS_API int rs_shm_sliding_window_open(const char *name, const rs_sliding_window_config *cfg,
                                      unsigned flags, rs_shm_sliding_window **out);

/** Unmaps and frees this process's handle, as rs_shm_token_bucket_close(). @since 0.1.0 */
RS_API void rs_shm_sliding_window_close(rs_shm_sliding_window *w);

/**
 * The configuration in force (kind is #RS_WINDOW_COUNTER).
 * @return #RS_OK, or #RS_E_INVAL when an argument is NULL.
 * @since 0.1.0
 */
RS_API int rs_shm_sliding_window_config_get(const rs_shm_sliding_window *w,
                                            rs_sliding_window_config *cfg);

/**
 * rs_sliding_window_try_acquire() on the shared counter: admits @p n units
 * now if they fit, for all processes together.
 * @note Thread- and process-safe, lock-free: one clock read, and a few
 *       loads and compare-exchanges in the shared mapping.
 * @since 0.1.0
 */
RS_API bool rs_shm_sliding_window_try_acquire(rs_shm_sliding_window *w, uint64_t n);

/** rs_shm_sliding_window_try_acquire() at @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API bool rs_shm_sliding_window_try_acquire_at(rs_shm_sliding_window *w, uint64_t n,
                                                 uint64_t now_ns);

/**
 * rs_sliding_window_wait_ns() on the shared counter: ns until @p n units
 * would be admitted if nothing else is; UINT64_MAX for n > limit or NULL.
 * @since 0.1.0
 */
RS_API uint64_t rs_shm_sliding_window_wait_ns(rs_shm_sliding_window *w, uint64_t n);

/** rs_shm_sliding_window_wait_ns() from @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API uint64_t rs_shm_sliding_window_wait_ns_at(rs_shm_sliding_window *w, uint64_t n,
                                                 uint64_t now_ns);

/**
 * rs_sliding_window_count() on the shared counter: the estimate, rounded
 * up. NULL gives 0.
 * @since 0.1.0
 */
RS_API uint64_t rs_shm_sliding_window_count(rs_shm_sliding_window *w);

/** rs_shm_sliding_window_count() at @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API uint64_t rs_shm_sliding_window_count_at(rs_shm_sliding_window *w, uint64_t now_ns);

/**
 * The counter as an #rs_limiter: acquire is try_acquire on the system clock
 * (@p now_ns ignored, as for the bucket): #RS_OK with wait 0, or
 * #RS_E_LIMITED with the wait until it may succeed; n > limit gives
 * #RS_E_INVAL. @p w must outlive every copy.
 * @since 0.1.0
 */
RS_API rs_limiter rs_shm_sliding_window_limiter(rs_shm_sliding_window *w);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_SHM_H */
