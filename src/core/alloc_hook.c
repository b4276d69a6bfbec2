/* The allocator hook: the one place that knows which malloc and free the
 * library uses (rs_set_allocator), and its public face rs_alloc/rs_free. */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "resilience/common.h"

/* Both hooks live in one struct swapped through a single atomic pointer, so a
 * reader can never pair one allocator's malloc with another's free. */
typedef struct allocator {
    rs_malloc_fn malloc_fn;
    rs_free_fn free_fn;
} allocator;

static const allocator system_allocator = { malloc, free };
static allocator user_allocator;
static _Atomic(const allocator *) current = &system_allocator;

int rs_set_allocator(rs_malloc_fn malloc_fn, rs_free_fn free_fn)
{
    if ((malloc_fn == NULL) != (free_fn == NULL)) {
        return rs_set_last_error(RS_E_INVAL, "%s: NULL while %s is set: give both or neither",
                                 malloc_fn == NULL ? "malloc_fn" : "free_fn",
                                 malloc_fn == NULL ? "free_fn" : "malloc_fn");
    }
    if (malloc_fn == NULL) {
        atomic_store_explicit(&current, &system_allocator, memory_order_release);
        return RS_OK;
    }
    /* Point away from user_allocator while it is rewritten. */
    atomic_store_explicit(&current, &system_allocator, memory_order_release);
    user_allocator.malloc_fn = malloc_fn;
    user_allocator.free_fn = free_fn;
    atomic_store_explicit(&current, &user_allocator, memory_order_release);
    return RS_OK;
}

void *rs__malloc(size_t size)
{
    const allocator *a = atomic_load_explicit(&current, memory_order_acquire);
    return a->malloc_fn(size == 0 ? 1 : size);
}

void rs__free(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    const allocator *a = atomic_load_explicit(&current, memory_order_acquire);
    a->free_fn(ptr);
}

void *rs_alloc(size_t size)
{
    return rs__malloc(size);
}

void rs_free(void *ptr)
{
    rs__free(ptr);
}
