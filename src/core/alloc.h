/* The library's only way to get memory: every allocation goes through the
 * hook installed with rs_set_allocator(). */
#ifndef RS_CORE_ALLOC_H
#define RS_CORE_ALLOC_H

#include <stddef.h>

void *rs__malloc(size_t size);
/* Zero-filled array of count elements; NULL on overflow or failure. */
void *rs__calloc(size_t count, size_t size);
void rs__free(void *ptr);

#endif /* RS_CORE_ALLOC_H */
