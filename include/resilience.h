/**
 * @file resilience.h
 * @brief libresilience umbrella header: includes every module header.
 *
 * Include this, or only the module headers you use.
 */
#ifndef RESILIENCE_H
#define RESILIENCE_H

#include "resilience/common.h"
#include "resilience/clock.h"
#include "resilience/limiter.h"
#include "resilience/account.h"
#include "resilience/backoff.h"
#include "resilience/policy.h"
#include "resilience/budget.h"
#include "resilience/registry.h"
#include "resilience/token_bucket.h"
#include "resilience/sliding_window.h"
#include "resilience/breaker.h"
#include "resilience/adaptive.h"
#include "resilience/bulkhead.h"
#include "resilience/http.h"
#include "resilience/shm.h"
#include "resilience/events.h"
#include "resilience/metrics.h"

#endif /* RESILIENCE_H */
