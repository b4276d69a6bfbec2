#include "resilience/account.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static bool usable(const rs_account *a)
{
    return a != NULL && a->ops != NULL;
}

int rs_account_reserve(const rs_account *a, uint64_t estimate, uint64_t now_ns,
                       rs_account_ticket *ticket)
{
    if (ticket == NULL) {
        return RS_E_INVAL;
    }
    if (!usable(a) || a->ops->reserve == NULL) {
        memset(ticket, 0, sizeof *ticket);
        return RS_OK;
    }
    return a->ops->reserve(a->self, estimate, now_ns, ticket);
}

void rs_account_commit(const rs_account *a, const rs_account_ticket *ticket, uint64_t actual)
{
    if (usable(a) && ticket != NULL && a->ops->commit != NULL) {
        a->ops->commit(a->self, ticket, actual);
    }
}

void rs_account_cancel(const rs_account *a, const rs_account_ticket *ticket)
{
    if (usable(a) && ticket != NULL && a->ops->cancel != NULL) {
        a->ops->cancel(a->self, ticket);
    }
}

const rs_clock *rs_account_clock(const rs_account *a)
{
    if (!usable(a) || a->ops->clock == NULL) {
        return NULL;
    }
    return a->ops->clock(a->self);
}
