/* A counting allocator for tests: it tracks live allocations and can fail
 * the n-th one on demand, to prove every constructor fails cleanly. */
#ifndef RS_TESTS_FAULT_ALLOC_H
#define RS_TESTS_FAULT_ALLOC_H

#include <stddef.h>

/* Installs the counting allocator with rs_set_allocator() and zeroes counts. */
void fault_alloc_install(void);
/* Restores malloc/free. */
void fault_alloc_uninstall(void);
/* Fail the n-th allocation from now on (1 = the next one); 0 = never fail. */
void fault_alloc_fail_at(size_t n);
/* Allocations currently not freed. */
size_t fault_alloc_live(void);
/* Allocations made since install. */
size_t fault_alloc_total(void);

/* Builds an object with create(ctx) while failing its 1st, 2nd, ...
 * allocation in turn: every failing run must return RS_E_NOMEM and leave no
 * allocation live; the first run that succeeds is destroyed and must leave
 * none either. Returns the number of allocations a successful create made
 * (so a test can also assert the sweep covered something). */
size_t fault_alloc_sweep(int (*create)(void *ctx, void **object), void (*destroy)(void *object),
                         void *ctx);

#endif /* RS_TESTS_FAULT_ALLOC_H */
