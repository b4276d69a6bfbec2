#include "resilience/limiter.h"

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
