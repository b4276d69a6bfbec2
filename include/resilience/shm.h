/**
 * @file shm.h
 * @brief Rate limiters shared by the processes of one host through a
 *        file-backed shared mapping: pre-fork workers (or any cooperating
 *        processes) spend one limit together, with no server.
 *
 * Two limiters, each the in-process one with its state moved into a small
 * file that every process maps:
 * - #rs_shm_token_bucket: the GCRA token bucket of token_bucket.h, with
 *   exactly the same grants for the same instants. The state is one 64-bit
 *   word updated by compare-exchange: lock-free.
 * - #rs_shm_sliding_window: the two-bucket sliding counter of
 *   sliding_window.h (#RS_WINDOW_COUNTER), with the same admissions for the
 *   same instants. Its state is three 64-bit words, each changed by one
 *   compare-exchange: lock-free as well.
 *
 * **Answers.** As the Redis twins in redis.h, and unlike the in-process
 * limiters' `bool` and `uint64_t` returns, every call returns a status and
 * gives its value through an out-parameter: #RS_OK, #RS_E_LIMITED (refused
 * now), or #RS_E_INVAL (a NULL argument, or a request that can never be
 * granted: more than the burst or the limit). A "how long" answer agrees
 * with the grant decision at the same instant: 0 exactly when the request
 * would be granted, UINT64_MAX when it never will be (never 0). Since
 * 0.2.0 the sliding counter keeps that promise also for a file whose count
 * exceeds the limit (it said 0 while refusing) and at the end of 64-bit time
 * (it said 0, or a wait after which it still refused).
 *
 * **Names.** A name with exactly one '/', at the start ("/api-quota"), is a
 * shared-memory object: the file /dev/shm/api-quota, where shm_open(3)
 * keeps it on Linux (the library opens it itself, so it needs a system with
 * /dev/shm). Anything else is a filesystem path ("/run/myapp/quota",
 * "quota.shm"). The file is 128 bytes; see docs/shared-memory.md for its
 * layout.
 *
 * **Trust.** A limit is only as safe as its file: whoever can write the
 * file can raise the limit. So an open (since 0.2.0):
 * - never follows a symbolic link at the name (#RS_E_IO);
 * - joins an existing file only when it is a regular file owned by this
 *   process's effective user or by root, not writable by others, and not
 *   writable by its group unless #RS_SHM_SHARED_GROUP is given (and, for a
 *   file this process does not own, the group is one of its); otherwise
 *   #RS_E_IO, and rs_last_error() says which rule failed
 *   (`"/dev/shm/quota: owned by uid 1001, not by us (uid 0)"`);
 * - creates a file completely (header, configuration, state, its blocks
 *   reserved) under a temporary name in the same directory, with `O_EXCL`,
 *   and publishes it under the name with link(2), which never replaces
 *   anything. So the name only ever shows a complete file: one that is not
 *   (empty, zeros, half-written, another program's) was not made by this
 *   library and is refused (#RS_E_INVAL), never initialised or changed
 *   (0.1 initialised an empty or zeroed file: pre-create none now, use
 *   #RS_SHM_SHARED_GROUP for a file shared with a group);
 * - reserves the file's blocks before mapping it, so a full filesystem is
 *   #RS_E_IO ("No space left on device") at open, never a SIGBUS later.
 * Only the last component of a path is checked: choose the directory (one
 * that only trusted users can write to, or a sticky one such as /dev/shm).
 * docs/shared-memory.md states the whole trust model, and what it cannot
 * protect against.
 *
 * **Time.** Every process reads the system monotonic clock (CLOCK_MONOTONIC,
 * which all processes of a host share); there is no clock parameter. The
 * `_at` twins take an instant that must come from that same clock
 * (rs_clock_now(NULL)): a manual clock cannot be shared between processes.
 * For the same reason the #rs_limiter adapters have no `clock` operation
 * (#rs_limiter_ops.clock is NULL): they keep their own time, ignore the
 * `now_ns` the caller passes, and fit in a policy on any clock.
 *
 * **Which process does what.** Any number of processes may open the same
 * name at once: exactly one file is published under it, and every opener
 * joins that one. A process may die at any instant, also in the middle of a
 * call: the state stays consistent (every change is one compare-exchange).
 * A handle opened before fork(2) works in the parent and in every child;
 * each process closes its own copy.
 *
 * **Errors.** #RS_E_INVAL means the arguments or the file are wrong: the
 * file is not one of ours (not a regular file, wrong size, magic or phase
 * word), has another layout version or kind, or holds a different
 * configuration than the one asked for (unless #RS_SHM_ADOPT). Nothing in
 * such a file is changed. #RS_E_IO means the system refused (the name does
 * not exist without #RS_SHM_CREATE, a symbolic link, permissions, a file
 * this process may not trust, no space, mmap failed), or a reset after a
 * reboot did not finish within the bounded wait. Every #RS_E_INVAL and
 * #RS_E_IO from an open or rs_shm_unlink() sets rs_last_error(), naming the
 * argument, the configuration field or the cause. After open, nothing can
 * fail with #RS_E_IO.
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

/**
 * Open flag: create the file if the name does not exist, with mode 0600
 * (0660 with #RS_SHM_SHARED_GROUP) whatever the umask, owned by this
 * process's effective user and group (or the directory's group where the
 * directory is set-group-ID).
 * @since 0.1.0
 */
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
 * Open flag: the limit is deliberately shared with a group. A file this
 * opener creates gets mode 0660; an existing file may be writable by its
 * group (mode 0660 or 0620) if that group is this process's effective group
 * or one of its supplementary groups (a file this process owns may have
 * any group: it, or its set-group-ID directory, chose it). Every member of
 * the group can then change the limit: give it only to a group of users
 * you trust as much as yourself. The other rules stay: the owner is this
 * process's user or root, and others may never write.
 * @since 0.2.0
 */
#define RS_SHM_SHARED_GROUP 4u

/**
 * Removes the name: unlink(2) of the path (of /dev/shm/name for a
 * shared-memory object name). Processes that have it open keep using it;
 * the next open with #RS_SHM_CREATE starts a fresh limiter. A symbolic link
 * at the name is removed itself, never its target.
 *
 * @return #RS_OK, #RS_E_INVAL (@p name NULL or empty), #RS_E_IO (it does
 *         not exist, or the system refused); both set rs_last_error().
 * @note Thread-safe.
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
 * @param flags  #RS_SHM_CREATE, #RS_SHM_ADOPT, #RS_SHM_SHARED_GROUP, or 0.
 * @param out    receives the handle; untouched on error.
 * @return #RS_OK; #RS_E_INVAL (bad arguments, invalid @p cfg, unknown
 *         flags, or a foreign or mismatching file: see the file comment;
 *         nothing created); #RS_E_NOMEM; #RS_E_IO (see the file comment).
 *         rs_last_error() says why on #RS_E_INVAL and #RS_E_IO.
 * @note Thread-safe. Waits (up to 1 s) only when another process is
 *       resetting the file after a reboot.
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
 * @note Thread-safe; reads only this process's handle.
 * @since 0.1.0
 */
RS_API int rs_shm_token_bucket_config_get(const rs_shm_token_bucket *tb,
                                          rs_token_bucket_config *cfg);

/**
 * rs_token_bucket_try_acquire() on the shared bucket: takes @p n tokens if
 * they are available now, for all processes together; never waits.
 *
 * @param n  tokens; 0 always succeeds and takes nothing.
 * @return #RS_OK (taken); #RS_E_LIMITED (nothing taken; see
 *         rs_shm_token_bucket_wait_ns() for when to come back); #RS_E_INVAL
 *         (@p tb NULL, or @p n above the burst: never). Since 0.2.0 a
 *         status, where 0.1 returned a bool.
 * @note Thread- and process-safe, lock-free: one clock read and one
 *       compare-exchange in the shared mapping (under back-to-back
 *       contention, preceded by one bounded spin, as token_bucket.h's
 *       "Contention" describes).
 * @since 0.1.0
 */
RS_API int rs_shm_token_bucket_try_acquire(rs_shm_token_bucket *tb, uint64_t n);

/** rs_shm_token_bucket_try_acquire() at @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API int rs_shm_token_bucket_try_acquire_at(rs_shm_token_bucket *tb, uint64_t n,
                                              uint64_t now_ns);

/**
 * rs_token_bucket_reserve() on the shared bucket: reserves @p n tokens now,
 * usable after `*wait_ns`, if that is at most @p max_wait_ns.
 *
 * @param wait_ns  required. On #RS_OK: the wait (0 = now). On #RS_E_LIMITED:
 *                 the whole wait the tokens would need (> @p max_wait_ns),
 *                 UINT64_MAX when that lies beyond 64-bit time. On
 *                 #RS_E_INVAL: UINT64_MAX (never).
 * @return #RS_OK; #RS_E_LIMITED (nothing taken); #RS_E_INVAL (@p tb or
 *         @p wait_ns NULL, or @p n above the burst).
 * @note Thread- and process-safe, lock-free, like try_acquire.
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
 * @return #RS_OK, #RS_E_LIMITED, #RS_E_INVAL (@p tb NULL or @p n above the
 *         burst).
 * @note Thread- and process-safe; blocks the calling thread.
 * @since 0.1.0
 */
RS_API int rs_shm_token_bucket_acquire(rs_shm_token_bucket *tb, uint64_t n,
                                       uint64_t timeout_ns);

/**
 * How long until @p n tokens could be taken, taking nothing: the wait a
 * reserve would answer now (rs_token_bucket_wait_ns() on the shared
 * bucket). Informative: other processes may take tokens first.
 *
 * @param wait_ns  required; receives ns from now: 0 = now (exactly when
 *                 try_acquire would grant them), UINT64_MAX = never (beyond
 *                 64-bit time, or @p n above the burst).
 * @return #RS_OK; #RS_E_INVAL (@p tb or @p wait_ns NULL, or @p n above the
 *         burst, with `*wait_ns` = UINT64_MAX).
 * @note Thread- and process-safe; reads only.
 * @since 0.2.0
 */
RS_API int rs_shm_token_bucket_wait_ns(rs_shm_token_bucket *tb, uint64_t n,
                                       uint64_t *wait_ns);

/** rs_shm_token_bucket_wait_ns() at @p now_ns (CLOCK_MONOTONIC). @since 0.2.0 */
RS_API int rs_shm_token_bucket_wait_ns_at(rs_shm_token_bucket *tb, uint64_t n,
                                          uint64_t *wait_ns, uint64_t now_ns);

/**
 * rs_token_bucket_available() on the shared bucket: tokens available now,
 * with the fraction refilled so far, negative while reservations are owed
 * (informative: other processes may take tokens before you act on it).
 *
 * @param tokens  required; receives the count, at most the burst.
 * @return #RS_OK, or #RS_E_INVAL when an argument is NULL (since 0.2.0; 0.1
 *         returned the count, and 0 for a NULL bucket).
 * @note Thread- and process-safe; reads only.
 * @since 0.1.0
 */
RS_API int rs_shm_token_bucket_available(rs_shm_token_bucket *tb, double *tokens);

/** rs_shm_token_bucket_available() at @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API int rs_shm_token_bucket_available_at(rs_shm_token_bucket *tb, double *tokens,
                                            uint64_t now_ns);

/**
 * The bucket as an #rs_limiter for rs_policy: acquire is
 * rs_shm_token_bucket_reserve() and wait_ns rs_shm_token_bucket_wait_ns(),
 * both on the system clock (the @p now_ns the policy passes is ignored: the
 * bucket's time base is CLOCK_MONOTONIC, shared with the other processes,
 * and its `clock` operation is NULL). @p tb must outlive every copy; NULL
 * gives an empty limiter.
 * @since 0.1.0
 */
RS_API rs_limiter rs_shm_token_bucket_limiter(rs_shm_token_bucket *tb);

/**
 * rs_token_bucket_metrics() for the shared bucket: its configuration and
 * the tokens available now come from the shared file, so every process
 * sees the same; the counters are this process's requests through
 * @p tb (each process counts its own, as a Prometheus target per process
 * would report it; sum them across processes in the query).
 *
 * @param m  receives the snapshot; untouched on error.
 * @return #RS_OK, or #RS_E_INVAL when an argument is NULL.
 * @note Thread-safe and lock-free: loads only.
 * @since 0.2.0
 */
RS_API int rs_shm_token_bucket_metrics(rs_shm_token_bucket *tb, rs_token_bucket_snapshot *m);

/** rs_shm_token_bucket_metrics() at @p now_ns (CLOCK_MONOTONIC). @since 0.2.0 */
RS_API int rs_shm_token_bucket_metrics_at(rs_shm_token_bucket *tb, rs_token_bucket_snapshot *m,
                                          uint64_t now_ns);

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
 * @note Thread-safe; reads only this process's handle.
 * @since 0.1.0
 */
RS_API int rs_shm_sliding_window_config_get(const rs_shm_sliding_window *w,
                                            rs_sliding_window_config *cfg);

/**
 * rs_sliding_window_try_acquire() on the shared counter: admits @p n units
 * now if they fit, for all processes together. A refused request uses none
 * of the limit.
 *
 * @param n  units; 0 always succeeds and records nothing.
 * @return #RS_OK (admitted); #RS_E_LIMITED (see
 *         rs_shm_sliding_window_wait_ns() for when to come back);
 *         #RS_E_INVAL (@p w NULL, or @p n above the limit: never). Since
 *         0.2.0 a status, where 0.1 returned a bool.
 * @note Thread- and process-safe, lock-free: one clock read, and a few
 *       loads and compare-exchanges in the shared mapping.
 * @since 0.1.0
 */
RS_API int rs_shm_sliding_window_try_acquire(rs_shm_sliding_window *w, uint64_t n);

/** rs_shm_sliding_window_try_acquire() at @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API int rs_shm_sliding_window_try_acquire_at(rs_shm_sliding_window *w, uint64_t n,
                                                uint64_t now_ns);

/**
 * rs_sliding_window_wait_ns() on the shared counter: how long until @p n
 * units would be admitted if nothing else is, recording nothing.
 *
 * @param wait_ns  required; receives ns from now: 0 exactly when
 *                 try_acquire would admit them now (also when @p now_ns is
 *                 older than the latest instant another call used, at
 *                 which it would admit them), otherwise at least 1;
 *                 UINT64_MAX = never (beyond 64-bit time, or @p n above
 *                 the limit).
 * @return #RS_OK; #RS_E_INVAL (@p w or @p wait_ns NULL, or @p n above the
 *         limit, with `*wait_ns` = UINT64_MAX). Since 0.2.0 a status, where
 *         0.1 returned the wait.
 * @note Thread- and process-safe; lock-free (it may seal the previous
 *       window's count, as every call does).
 * @since 0.1.0
 */
RS_API int rs_shm_sliding_window_wait_ns(rs_shm_sliding_window *w, uint64_t n,
                                         uint64_t *wait_ns);

/** rs_shm_sliding_window_wait_ns() from @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API int rs_shm_sliding_window_wait_ns_at(rs_shm_sliding_window *w, uint64_t n,
                                            uint64_t *wait_ns, uint64_t now_ns);

/**
 * rs_sliding_window_count() on the shared counter: the estimate, rounded
 * up.
 * @param count  required; receives the estimate.
 * @return #RS_OK, or #RS_E_INVAL when an argument is NULL (since 0.2.0; 0.1
 *         returned the count, and 0 for a NULL window).
 * @note Thread- and process-safe, as wait_ns.
 * @since 0.1.0
 */
RS_API int rs_shm_sliding_window_count(rs_shm_sliding_window *w, uint64_t *count);

/** rs_shm_sliding_window_count() at @p now_ns (CLOCK_MONOTONIC). @since 0.1.0 */
RS_API int rs_shm_sliding_window_count_at(rs_shm_sliding_window *w, uint64_t *count,
                                          uint64_t now_ns);

/**
 * The counter as an #rs_limiter: acquire is try_acquire on the system clock
 * (@p now_ns ignored and no `clock` operation, as for the bucket): #RS_OK
 * with wait 0, or #RS_E_LIMITED with the wait until it may succeed (at least
 * 1); n > limit gives #RS_E_INVAL. wait_ns is rs_shm_sliding_window_wait_ns().
 * @p w must outlive every copy; NULL gives an empty limiter.
 * @since 0.1.0
 */
RS_API rs_limiter rs_shm_sliding_window_limiter(rs_shm_sliding_window *w);

/**
 * rs_sliding_window_metrics() for the shared counter: configuration and
 * count from the shared file (every process sees the same), counters of
 * this process's requests through @p w, as for
 * rs_shm_token_bucket_metrics().
 *
 * @return #RS_OK, or #RS_E_INVAL when an argument is NULL.
 * @note Thread- and process-safe, lock-free (it may seal the previous
 *       window's count, as every call does).
 * @since 0.2.0
 */
RS_API int rs_shm_sliding_window_metrics(rs_shm_sliding_window *w, rs_sliding_window_snapshot *m);

/** rs_shm_sliding_window_metrics() at @p now_ns (CLOCK_MONOTONIC). @since 0.2.0 */
RS_API int rs_shm_sliding_window_metrics_at(rs_shm_sliding_window *w,
                                            rs_sliding_window_snapshot *m, uint64_t now_ns);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_SHM_H */
