/* Allocation helpers built on rs__malloc/rs__free, in every library of the
 * project (the hook itself is in alloc_hook.c or alloc_forward.c). */
#include "core/alloc.h"

#include <stdint.h>
#include <string.h>

void *rs__calloc(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        return NULL;
    }
    void *p = rs__malloc(total);
    if (p != NULL) {
        memset(p, 0, total);
    }
    return p;
}

char *rs__copy_string(const char *s, size_t len)
{
    char *copy = len < SIZE_MAX ? rs__malloc(len + 1) : NULL;
    if (copy != NULL) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

/* The hook's block is larger by align - 1 plus one pointer; the pointer just
 * below the aligned address remembers where the block starts. */
void *rs__malloc_aligned(size_t size, size_t align)
{
    size_t total;
    if (align < sizeof(void *) || (align & (align - 1)) != 0 ||
        __builtin_add_overflow(size, align - 1 + sizeof(void *), &total)) {
        return NULL;
    }
    unsigned char *block = rs__malloc(total);
    if (block == NULL) {
        return NULL;
    }
    uintptr_t first = (uintptr_t)(block + sizeof(void *));
    unsigned char *aligned = block + sizeof(void *) + ((align - first % align) % align);
    memcpy(aligned - sizeof(void *), &block, sizeof block);
    return aligned;
}

void rs__free_aligned(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    void *block;
    memcpy(&block, (unsigned char *)ptr - sizeof(void *), sizeof block);
    rs__free(block);
}
