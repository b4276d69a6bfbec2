#include "fault_alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "resilience/common.h"
#include "testing.h"

/* A header in front of each block records nothing but keeps the user pointer
 * max-aligned; the counts are what the tests check. */
typedef union block_header {
    max_align_t align;
    size_t size;
} block_header;

static atomic_size_t live;
static atomic_size_t total;
static atomic_size_t fail_at; /* absolute allocation number to fail, 0 = never */

static void *counting_malloc(size_t size)
{
    size_t number = atomic_fetch_add(&total, 1) + 1;
    size_t target = atomic_load(&fail_at);
    if (target != 0 && number == target) {
        return NULL;
    }
    block_header *h = malloc(sizeof *h + size);
    if (h == NULL) {
        return NULL;
    }
    h->size = size;
    atomic_fetch_add(&live, 1);
    return h + 1;
}

static void counting_free(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    atomic_fetch_sub(&live, 1);
    free((block_header *)ptr - 1);
}

void fault_alloc_install(void)
{
    atomic_store(&live, 0);
    atomic_store(&total, 0);
    atomic_store(&fail_at, 0);
    assert_int_equal(rs_set_allocator(counting_malloc, counting_free), RS_OK);
}

void fault_alloc_uninstall(void)
{
    assert_int_equal(rs_set_allocator(NULL, NULL), RS_OK);
}

void fault_alloc_fail_at(size_t n)
{
    atomic_store(&fail_at, n == 0 ? 0 : atomic_load(&total) + n);
}

size_t fault_alloc_live(void) { return atomic_load(&live); }

size_t fault_alloc_total(void) { return atomic_load(&total); }

size_t fault_alloc_sweep(int (*create)(void *ctx, void **object), void (*destroy)(void *object),
                         void *ctx)
{
    fault_alloc_install();
    for (size_t n = 1; n < 10000; n++) {
        void *object = NULL;
        size_t before = fault_alloc_total();
        fault_alloc_fail_at(n);
        int status = create(ctx, &object);
        size_t used = fault_alloc_total() - before;
        fault_alloc_fail_at(0);
        if (status == RS_OK) {
            assert_non_null(object);
            assert_true(used < n); /* the failure point was never reached */
            destroy(object);
            assert_int_equal(fault_alloc_live(), 0);
            fault_alloc_uninstall();
            return n - 1;
        }
        assert_int_equal(status, RS_E_NOMEM);
        assert_null(object);
        assert_int_equal(fault_alloc_live(), 0);
    }
    fail_msg("constructor never succeeded");
    return 0;
}
