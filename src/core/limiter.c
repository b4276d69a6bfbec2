#include "resilience/limiter.h"

#include "core/limiter.h"

#include <stddef.h>

int rs_limiter_acquire(const rs_limiter *l, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                       uint64_t *wait_ns)
{
    if (wait_ns == NULL) {
        return RS_E_INVAL;
    }
    if (l == NULL || l->ops == NULL || l->ops->acquire == NULL) {
        *wait_ns = 0;
        return RS_OK;
    }
    return l->ops->acquire(l->self, n, max_wait_ns, now_ns, wait_ns);
}

uint64_t rs_limiter_wait_ns(const rs_limiter *l, uint64_t n, uint64_t now_ns)
{
    if (l == NULL || l->ops == NULL) {
        return 0;
    }
    return l->ops->wait_ns != NULL ? l->ops->wait_ns(l->self, n, now_ns) : UINT64_MAX;
}

const rs_clock *rs_limiter_clock(const rs_limiter *l)
{
    if (l == NULL || l->ops == NULL || l->ops->clock == NULL) {
        return NULL;
    }
    return l->ops->clock(l->self);
}
