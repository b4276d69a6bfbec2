/* What one simulated run is made of: the fleet's offered load, the server
 * and what happens to it, and the counters a run fills in. */
#ifndef STORM_SCENARIO_H
#define STORM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include <resilience.h>

/* The resolution of every counter: fine enough to place a recovery to a
 * tenth of a second, coarse enough that a tick holds ~100 requests. */
#define STORM_TICK_NS RS_MS(100)

typedef enum outage_failure {
    OUTAGE_503,    /* a load balancer answers 503 at once */
    OUTAGE_TIMEOUT /* requests hang until the client's attempt timeout */
} outage_failure;

typedef enum overload_reply {
    OVERLOAD_503, /* load shedding: 503, judged by breakers and retry budgets */
    OVERLOAD_429  /* 429 with a Retry-After: the caller's fault, as the library reads it */
} overload_reply;

typedef struct scenario {
    /* The fleet: one library object set per client, as N processes. */
    uint32_t clients;
    double rate_per_client; /* logical requests per second, Poisson */
    uint64_t seed;
    uint64_t end_ns;        /* the run stops here */
    /* A surge of offered load (none when burst_ns is 0). */
    uint64_t burst_start_ns, burst_ns;
    double burst_factor;    /* offered load times this during the surge */

    /* The server. */
    double capacity_per_s;  /* requests per second it serves when warm */
    uint64_t outage_start_ns, outage_ns; /* none when outage_ns is 0 */
    outage_failure outage_failure;
    uint64_t outage_retry_after_ns; /* sent with the outage's 503s; 0 = none */
    double cold_fraction;   /* capacity right after the outage, as a share of the warm one */
    uint64_t warmup_ns;     /* from cold to warm, linearly */
    double reject_cost;     /* work a refused request costs, as a share of a served one */
    /* Work the server can bank while idle, in seconds of capacity: how
     * large a burst arriving at one instant it serves (its queue). */
    double burst_tolerance_s;
    /* Share of requests that fail with a 503 at random while the server is
     * up and within capacity: a flaky dependency, where retries pay. */
    double flaky_share;
    overload_reply overload;
    uint64_t overload_retry_after_ns; /* with OVERLOAD_429, or a 503's Retry-After; 0 = none */
    uint64_t ok_latency_ns;
    uint64_t error_latency_ns;
    uint64_t attempt_timeout_ns; /* the client gives up on a request after this */
    /* Every answer's latency is uniform within this share of its nominal
     * value: networks vary, and a model where they do not lines clients up
     * more exactly than any real fleet. */
    double latency_spread;

    /* Analysis. */
    double recovered_share; /* "recovered": this share of requests succeeds, and stays so */
} scenario;

/* The defaults every mode starts from (see docs/retry-storms.md for why). */
scenario scenario_default(void);

/* What happened in one tick. Logical requests are counted in the tick
 * they were issued in (their fate is known later), except `goodput`. */
typedef struct tick {
    uint32_t issued;        /* logical requests started */
    uint32_t succeeded;     /* ... of which ended in success */
    uint32_t refused;       /* ... of which were refused locally before the server saw them */
    uint32_t goodput;       /* logical requests that succeeded in this tick */
    uint32_t requests;      /* requests that reached the server */
    uint32_t retries;       /* ... of which were retries */
    uint32_t served;        /* ... of which it served */
    uint32_t rejected;      /* ... of which it refused for overload */
    uint32_t breakers_open; /* clients whose breaker refused calls as the tick began */
    uint64_t latency_us;    /* issue to success, summed over `succeeded` */
} tick;

typedef struct timeline {
    tick *ticks;
    size_t count;
} timeline;

/* Zeroed counters for the whole run; ends the program without memory. */
void timeline_init(timeline *t, const scenario *sc);
void timeline_free(timeline *t);

/* The tick an instant falls in (the last one for instants past the end). */
tick *timeline_at(timeline *t, uint64_t now_ns);

#endif /* STORM_SCENARIO_H */
