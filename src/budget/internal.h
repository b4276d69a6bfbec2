/* Shared by budget.c and budget_registry.c only.
 *
 * rs_budget_registry_release() gets nothing but the budget, yet must release
 * the registry entry holding it; each budget a registry creates therefore
 * remembers its entry (its "owner"). Budgets made by rs_budget_new() have
 * none. */
#ifndef RS_BUDGET_INTERNAL_H
#define RS_BUDGET_INTERNAL_H

#include "resilience/budget.h"

/* Records the owner the first time; later calls (with the same owner, from
 * other threads getting the same key) change nothing. */
void rs__budget_set_owner(rs_budget *b, void *owner);
/* The owner, or NULL. */
void *rs__budget_owner(rs_budget *b);

#endif /* RS_BUDGET_INTERNAL_H */
