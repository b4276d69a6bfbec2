#include "core/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
        return RS_E_INVAL;
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

void rs__free(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    const allocator *a = atomic_load_explicit(&current, memory_order_acquire);
    a->free_fn(ptr);
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
