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
#include "resilience/backoff.h"
#include "resilience/breaker.h"

#endif /* RESILIENCE_H */
