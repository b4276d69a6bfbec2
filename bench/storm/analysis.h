/* What a run's counters say: the figures the targets are stated
 * in. */
#ifndef STORM_ANALYSIS_H
#define STORM_ANALYSIS_H

#include "fleet.h"
#include "scenario.h"

typedef struct run_summary {
    /* server requests / logical requests issued, both over the outage */
    double amplification;
    /* server requests in the outage's first second, over the warm capacity */
    double first_second_x_capacity;
    /* from the end of the event (outage or burst) until `recovered_share`
     * of the requests issued in every later second succeed; < 0: not
     * within the run */
    double recovery_s;
    /* logical requests that succeeded, over those issued: whole run, and
     * from the end of the event on */
    double goodput, goodput_after;
    /* server requests over the run, over logical requests issued */
    double load_per_request;
    /* the busiest second after the event, over the warm capacity */
    double peak_after_x_capacity;
    /* logical requests refused locally (never sent) after the event */
    uint64_t refused_after;
    /* requests the server refused for overload (429, or 503 when it sheds
     * with 503) over the whole run */
    uint64_t shed;
    /* mean time from issue to success of the requests issued after the
     * event that succeeded: what waiting costs a user */
    double latency_after_s;
    /* the busiest 100 ms of server requests over the mean 100 ms, from
     * 10 s after the event to the end: ~1.5 for a steady fleet, far more
     * for one locked into pulses */
    double pulse;
    /* the last instant, after the event, at which a breaker still refused,
     * counted from the event's end; 0 when none did */
    double breakers_open_until_s;
    double tripped_share;    /* clients whose breaker opened at least once */
} run_summary;

/* Where the run's event ends: the outage, or else the burst. */
uint64_t event_end_ns(const scenario *sc);

void summarise(const scenario *sc, const run_result *r, run_summary *out);

#endif /* STORM_ANALYSIS_H */
