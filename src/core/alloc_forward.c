/* The allocator of the optional backends' libraries (libresilience-redis,
 * ...): they share the core library's hook through its public face, so one
 * rs_set_allocator() call serves every library of the project. */
#include "core/alloc.h"

#include "resilience/common.h"

void *rs__malloc(size_t size)
{
    return rs_alloc(size);
}

void rs__free(void *ptr)
{
    rs_free(ptr);
}
