#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>

scenario scenario_default(void)
{
    return (scenario){
        .clients = 1000,
        .rate_per_client = 1.0,
        .seed = 2026,
        .end_ns = RS_SEC(20 + 67 + 60),
        .burst_factor = 1.0,
        .capacity_per_s = 1200.0,
        .outage_start_ns = RS_SEC(20),
        .outage_ns = RS_SEC(67),
        .outage_failure = OUTAGE_503,
        .cold_fraction = 0.25,
        .warmup_ns = RS_SEC(15),
        .reject_cost = 0.2,
        .burst_tolerance_s = 0.05,
        .overload = OVERLOAD_503,
        .overload_retry_after_ns = 0,
        .ok_latency_ns = RS_MS(50),
        .error_latency_ns = RS_MS(10),
        .attempt_timeout_ns = RS_SEC(1),
        .latency_spread = 0.2,
        .recovered_share = 0.9,
    };
}

void timeline_init(timeline *t, const scenario *sc)
{
    t->count = (size_t)(sc->end_ns / STORM_TICK_NS) + 1;
    t->ticks = calloc(t->count, sizeof *t->ticks);
    if (t->ticks == NULL) {
        fprintf(stderr, "storm: out of memory for the timeline\n");
        exit(1);
    }
}

void timeline_free(timeline *t)
{
    free(t->ticks);
    t->ticks = NULL;
    t->count = 0;
}

tick *timeline_at(timeline *t, uint64_t now_ns)
{
    size_t i = (size_t)(now_ns / STORM_TICK_NS);
    return &t->ticks[i < t->count ? i : t->count - 1];
}
