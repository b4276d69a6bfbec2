/* Helpers for backends implementing the public rs_account interface. */
#ifndef RS_CORE_ACCOUNT_H
#define RS_CORE_ACCOUNT_H

#include <stddef.h>

#include "resilience/account.h"

/* The rs_account of a backend object: the empty account (charges nothing)
 * for a NULL object, as every *_account() constructor documents. */
static inline rs_account rs__account_of(const rs_account_ops *ops, void *self)
{
    return (rs_account){ self != NULL ? ops : NULL, self };
}

#endif /* RS_CORE_ACCOUNT_H */
