/**
 * @file common.h
 * @brief Status codes, allocator hook, version and the export macro shared by
 *        every libresilience module.
 *
 * Every fallible function of the library returns an `int`: #RS_OK (0) or one
 * of the negative #rs_status values below. Expected refusals (a limiter said
 * no, a circuit is open, a budget is spent) are statuses, not failures.
 */
#ifndef RESILIENCE_COMMON_H
#define RESILIENCE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "resilience/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Lets the compiler check printf-style arguments. */
#if defined(__GNUC__) || defined(__clang__)
#define RS_PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define RS_PRINTF_LIKE(fmt, args)
#endif

/** Marks a function exported from the shared library; everything else is hidden. */
#if defined(_WIN32) && defined(RS_BUILDING_DLL)
#define RS_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define RS_API __attribute__((visibility("default")))
#else
#define RS_API
#endif

/**
 * Status codes. The values are explicit and stable: new codes are only ever
 * appended, existing ones never change meaning.
 * @since 0.1.0
 */
typedef enum rs_status {
    RS_OK = 0,            /**< Success. */
    RS_E_INVAL = -1,      /**< Bad argument or configuration: rs_last_error() names it. */
    RS_E_NOMEM = -2,      /**< An allocation failed; nothing was created or changed. */
    RS_E_LIMITED = -3,    /**< A rate limiter refused, or would need to wait past the deadline. */
    RS_E_OPEN = -4,       /**< A circuit breaker is open: the call was not attempted. */
    RS_E_BUDGET = -5,     /**< A token budget would be exceeded: the call was not attempted. */
    RS_E_EXHAUSTED = -6,  /**< Retries used up; the last attempt failed retryably. */
    RS_E_FAILED = -7,     /**< The call failed with a permanent (non-retryable) error. */
    RS_E_TIMEOUT = -8,    /**< The deadline passed. */
    RS_E_IO = -9          /**< A backend (for example Redis) failed or was unreachable. */
} rs_status;

/**
 * Describes a status code in English.
 *
 * @param status any value, including ones this version does not know.
 * @return a static, NUL-terminated string; never NULL. Unknown values give
 *         "unknown status".
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API const char *rs_strerror(int status);

/**
 * Returns the symbolic name of a status code, e.g. "RS_E_LIMITED".
 *
 * @return a static string; never NULL ("RS_E_UNKNOWN" for unknown values).
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API const char *rs_status_name(int status);

/**
 * Why the last failing call on this thread failed, in one line of English
 * that names the configuration field or argument
 * (`"rs_policy_config.token_estimate: 0 while an account is set"`) or the
 * backend's cause (`"redis 127.0.0.1:6379: connection refused"`).
 *
 * Set by every #RS_E_INVAL from a `_new`, `_open` or `_validate` function
 * and by every #RS_E_IO; refusals on the hot paths (#RS_E_LIMITED,
 * #RS_E_OPEN, #RS_E_BUDGET) do not set it (they touch no thread-local
 * storage), and success does not clear it: read it right after the failing
 * call.
 *
 * @return thread-local text, `""` when nothing was set; never NULL. Valid
 *         until this thread's next call into the library.
 * @note Thread-safe: each thread has its own.
 * @since 0.2.0
 */
RS_API const char *rs_last_error(void);

/**
 * Sets this thread's rs_last_error() text, printf-style (truncated to 255
 * bytes), and returns @p status unchanged, so a backend can write
 * `return rs_set_last_error(RS_E_IO, "mydb %s: %s", host, why);`. For
 * limiters and accounts implemented outside the library, which follow the
 * same rule as the library's own: every #RS_E_INVAL from creation and every
 * #RS_E_IO says why. An argument may be rs_last_error() itself, to add
 * context to what failed beneath (`"tenant %s: %s", name, rs_last_error()`).
 * A NULL @p format clears the text.
 * @note Thread-safe; never allocates.
 * @since 0.2.0
 */
RS_API int rs_set_last_error(int status, const char *format, ...) RS_PRINTF_LIKE(2, 3);

/**
 * Version of the library the program is running against, e.g. "0.1.0".
 * Compare with #RS_VERSION_STRING to detect a header/library mismatch.
 *
 * @return a static string; never NULL.
 * @since 0.1.0
 */
RS_API const char *rs_version_string(void);

/**
 * Version of the running library as #RS_VERSION_HEX: 0xMMmmpp.
 * @since 0.1.0
 */
RS_API unsigned rs_version_hex(void);

/**
 * One event of the library: a breaker's state change, a retry, a refused
 * call... Its fields are declared in resilience/events.h; only the hook
 * type below is needed where a configuration takes a hook.
 * @since 0.2.0
 */
typedef struct rs_event rs_event;

/**
 * Receives events (resilience/events.h). Called on the thread where the
 * event happened, with no library lock held: it may call back into the
 * library (not free the object that emits the event). @p event and
 * everything it points to are valid during the call only.
 * @since 0.2.0
 */
typedef void (*rs_event_fn)(void *ctx, const rs_event *event);

/**
 * An event hook: the function and its context. `{NULL, NULL}` (the
 * default everywhere) means none. One hook may be given to any number of
 * objects (a policy and the breaker it holds, say): every event names its
 * source. @since 0.2.0
 */
typedef struct rs_event_hook {
    rs_event_fn fn; /**< NULL = no hook */
    void *ctx;      /**< passed to `fn` */
} rs_event_hook;

/** Allocation function: same contract as malloc(3). */
typedef void *(*rs_malloc_fn)(size_t size);
/** Release function: same contract as free(3) (must accept NULL). */
typedef void (*rs_free_fn)(void *ptr);

/**
 * Routes every allocation the library makes through @p malloc_fn and
 * @p free_fn. Passing NULL for both restores malloc(3) and free(3).
 *
 * Call it before any object is created: an object must be freed with the
 * allocator that was installed when it was created.
 *
 * @return #RS_OK, or #RS_E_INVAL if exactly one of the two is NULL (nothing
 *         is changed then; rs_last_error() names it).
 * @note The hook itself is stored atomically, but swapping allocators while
 *       objects are alive is the caller's bug.
 * @since 0.1.0
 */
RS_API int rs_set_allocator(rs_malloc_fn malloc_fn, rs_free_fn free_fn);

/**
 * Allocates @p size bytes through the allocator installed with
 * rs_set_allocator() (malloc(3) by default), as the library itself does:
 * for backends and callbacks that hand memory to the library or take it
 * from it. Release with rs_free(). 0 bytes gives a unique pointer.
 * @return the block, or NULL when the allocator fails.
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API void *rs_alloc(size_t size);

/** Frees a block from rs_alloc(); NULL is ignored. @since 0.2.0 */
RS_API void rs_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_COMMON_H */
