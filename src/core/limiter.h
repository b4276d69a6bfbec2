/* Helpers for backends implementing the public rs_limiter interface. */
#ifndef RS_CORE_LIMITER_H
#define RS_CORE_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resilience/limiter.h"

/* The rs_limiter of a backend object: the empty limiter (admits everything)
 * for a NULL object, as every *_limiter() constructor documents. */
static inline rs_limiter rs__limiter_of(const rs_limiter_ops *ops, void *self)
{
    return (rs_limiter){ self != NULL ? ops : NULL, self };
}

/* The rs_limiter answer of a limiter that cannot reserve the future (a
 * sliding window): RS_OK when `admitted`, else RS_E_LIMITED with
 * `wait_if_refused`, taken from the state that refused (so it is at least
 * 1 ns), or RS_E_INVAL when that wait is UINT64_MAX (never). */
static inline int rs__limiter_window_answer(bool admitted, uint64_t wait_if_refused,
                                            uint64_t *wait_ns)
{
    if (admitted) {
        *wait_ns = 0;
        return RS_OK;
    }
    *wait_ns = wait_if_refused;
    return wait_if_refused == UINT64_MAX ? RS_E_INVAL : RS_E_LIMITED;
}

#endif /* RS_CORE_LIMITER_H */
