/* The library's only way to get memory: every allocation goes through the
 * hook installed with rs_set_allocator(). */
#ifndef RS_CORE_ALLOC_H
#define RS_CORE_ALLOC_H

#include <stddef.h>

void *rs__malloc(size_t size);
/* Zero-filled array of count elements; NULL on overflow or failure. */
void *rs__calloc(size_t count, size_t size);
void rs__free(void *ptr);

/* A NUL-terminated copy of the len bytes at s; NULL on failure. */
char *rs__copy_string(const char *s, size_t len);

/* The cache line size that objects with hot words lay themselves out for. */
#define RS__CACHE_LINE 64

/* size bytes at an address that is a multiple of `align` (a power of two),
 * for objects that keep a hot word on a cache line of its own; NULL on
 * overflow or failure. Free with rs__free_aligned(). */
void *rs__malloc_aligned(size_t size, size_t align);
void rs__free_aligned(void *ptr);

#endif /* RS_CORE_ALLOC_H */
