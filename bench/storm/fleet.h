/* The fleet: N clients, each with its own library objects, issuing logical
 * requests to the server through the step API, on one manual clock driven
 * by the event queue. */
#ifndef STORM_FLEET_H
#define STORM_FLEET_H

#include <stdint.h>

#include "scenario.h"
#include "strategies.h"

typedef struct run_result {
    timeline counts;
    uint32_t clients_tripped;   /* clients whose breaker opened at least once */
    uint64_t breaker_openings;  /* open periods, all clients together */
    uint64_t events;            /* events processed, for the progress estimate */
} run_result;

/* Called about once a simulated second with the simulated time. */
typedef void (*run_progress)(void *ctx, uint64_t now_ns);

/* Runs `sc` with every client set up by `setup`; the caller frees
 * out->counts with timeline_free(). Ends the program if the library
 * refuses the setup (a bug in a strategy). */
void fleet_run(const scenario *sc, const client_setup *setup, run_result *out,
               run_progress progress, void *progress_ctx);

#endif /* STORM_FLEET_H */
