/**
 * @file backoff.h
 * @brief Exponential backoff with jitter (the AWS "Exponential Backoff And
 *        Jitter" formulas).
 *
 * With `exp(n) = min(max_ns, base_ns * multiplier^(n-1))` for retry number
 * n >= 1 (so the first retry waits around `base_ns`):
 *
 * | jitter                  | delay for retry n                          |
 * |-------------------------|--------------------------------------------|
 * | #RS_JITTER_NONE         | exp(n)                                     |
 * | #RS_JITTER_FULL         | uniform in [0, exp(n)]                     |
 * | #RS_JITTER_EQUAL        | exp(n)/2 + uniform in [0, exp(n)/2]        |
 * | #RS_JITTER_DECORRELATED | min(max_ns, uniform in [base_ns, prev*3])  |
 *
 * where `prev` is the previous decorrelated delay (base_ns at the start).
 * All arithmetic saturates: any attempt number up to UINT32_MAX gives a delay
 * no larger than max_ns.
 *
 * **Precision.** exp(1) is exactly base_ns, and exp(n) is exact for
 * multipliers 1 and 2 and whenever base_ns * multiplier^(n-1) is a whole
 * number of ns; otherwise it is that product rounded to the nearest ns
 * (computed with about 106 bits, so also for bases beyond 2^53 that a
 * double cannot hold). It never falls below base_ns and never decreases
 * with n. (Since 0.2.0; 0.1 rounded through one double, which could put
 * even the first delay off base_ns.)
 *
 * See docs/backoff.md for which one to choose.
 */
#ifndef RESILIENCE_BACKOFF_H
#define RESILIENCE_BACKOFF_H

#include <stdint.h>

#include "resilience/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Jitter mode. @since 0.1.0 */
typedef enum rs_jitter {
    RS_JITTER_NONE = 0,        /**< plain exponential: synchronised clients stay synchronised */
    RS_JITTER_FULL = 1,        /**< uniform in [0, exp]: the best spread, the default */
    RS_JITTER_EQUAL = 2,       /**< at least half of exp, the rest random */
    RS_JITTER_DECORRELATED = 3 /**< grows from the previous delay, not the attempt number */
} rs_jitter;

/** Backoff configuration; start from #RS_BACKOFF_CONFIG_DEFAULT. @since 0.1.0 */
typedef struct rs_backoff_config {
    uint64_t base_ns;   /**< first delay, > 0 */
    uint64_t max_ns;    /**< cap on every delay, >= base_ns */
    double multiplier;  /**< growth per attempt, finite and >= 1 (default 2.0) */
    rs_jitter jitter;   /**< default #RS_JITTER_FULL */
    uint64_t seed;      /**< random seed; 0 = seed from the operating system */
} rs_backoff_config;

/**
 * Defaults as a brace initializer, for static initializers and C++ (the
 * fields in declaration order): 100 ms base, 20 s cap, doubling, full
 * jitter, OS seed.
 * @since 0.2.0
 */
#define RS_BACKOFF_CONFIG_INIT                                                       \
    {                                                                               \
        100000000u,     /* base_ns: 100 ms */                                       \
        20000000000u,   /* max_ns: 20 s */                                          \
        2.0,            /* multiplier */                                            \
        RS_JITTER_FULL, /* jitter */                                                \
        0u              /* seed: from the OS */                                     \
    }

/** Defaults: a compound literal of #RS_BACKOFF_CONFIG_INIT. @since 0.1.0 */
#define RS_BACKOFF_CONFIG_DEFAULT ((rs_backoff_config)RS_BACKOFF_CONFIG_INIT)

/** Opaque backoff generator. */
typedef struct rs_backoff rs_backoff;

/**
 * Checks a backoff configuration without creating anything.
 *
 * @return #RS_OK, or #RS_E_INVAL when @p cfg is NULL, base_ns is 0,
 *         base_ns > max_ns, multiplier is < 1, NaN or infinite, or jitter is
 *         not one of #rs_jitter; rs_last_error() names the field
 *         (`"rs_backoff_config.max_ns: 5, must be >= base_ns (10)"`).
 * @note Thread-safe.
 * @since 0.1.0
 */
RS_API int rs_backoff_config_validate(const rs_backoff_config *cfg);

/**
 * Creates a backoff generator. It needs no clock: it only computes delays.
 *
 * @param cfg  validated as rs_backoff_config_validate(); copied.
 * @param out  receives the new object; untouched on error.
 * @return #RS_OK, #RS_E_INVAL (bad @p cfg, or @p out NULL; rs_last_error()
 *         names which), #RS_E_NOMEM.
 * @since 0.1.0
 */
RS_API int rs_backoff_new(const rs_backoff_config *cfg, rs_backoff **out);

/** Frees @p b; NULL is ignored. @since 0.1.0 */
RS_API void rs_backoff_free(rs_backoff *b);

/**
 * Delay to wait before retry number @p attempt (1 = the first retry), in ns.
 *
 * For #RS_JITTER_DECORRELATED the result also depends on the previous call
 * (that is the algorithm): attempt 1 starts a new sequence from base_ns, as
 * does rs_backoff_reset(); other attempt numbers continue from the previous
 * delay.
 *
 * @param b        the generator; NULL gives 0.
 * @param attempt  1-based retry number; 0 (no retry yet) gives 0.
 * @return a delay in [0, max_ns] as in the table above.
 * @note Thread-safe and lock-free; with several threads sharing one
 *       decorrelated generator they share one sequence, so give each logical
 *       retry loop its own generator (or use rs_backoff_delay()).
 * @since 0.1.0
 */
RS_API uint64_t rs_backoff_next(rs_backoff *b, uint32_t attempt);

/**
 * Restarts the decorrelated sequence at base_ns (the other modes have no
 * state to reset). The random generator is not reseeded. NULL is ignored.
 * @since 0.1.0
 */
RS_API void rs_backoff_reset(rs_backoff *b);

/**
 * Stateless form of rs_backoff_next() for callers that keep each retry
 * loop's state themselves (one policy serving many concurrent calls).
 *
 * @param cfg       a configuration that passes rs_backoff_config_validate()
 *                  (otherwise 0 is returned, and rs_last_error() is not
 *                  touched).
 * @param attempt   1-based retry number; 0 gives 0.
 * @param prev_ns   the previous delay of this loop, for DECORRELATED (0 or
 *                  anything below base_ns counts as base_ns); ignored otherwise.
 * @param random    64 uniformly random bits, used for the jitter.
 * @return the delay in ns, in the range of the table above.
 * @note Pure function; thread-safe.
 * @since 0.1.0
 */
RS_API uint64_t rs_backoff_delay(const rs_backoff_config *cfg, uint32_t attempt,
                                 uint64_t prev_ns, uint64_t random);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_BACKOFF_H */
