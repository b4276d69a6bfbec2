/* A server whose capacity changes while N clients call it through one
 * policy with an adaptive bulkhead and an adaptive rate, on a manual clock.
 * The model of docs/adaptive.md, shared by bench/simulation (its tables
 * and plots) and tests/test_simulation.c (its assertions).
 *
 * The server has `capacity` workers (a concurrency limit) and a FIFO queue
 * of `queue` requests in front of them: a request waits in the queue, so
 * latency grows with the queue, and one arriving at a full queue is
 * answered 429 at once. It may also (or instead) admit at most `rate`
 * requests a second (a token bucket of `burst`), answering the rest 429
 * with a Retry-After. Both change at given instants.
 *
 * The clients are `clients` workers in a closed loop: each calls, waits for
 * the answer (retries included), thinks, and calls again: more demand than
 * any capacity here, as a worker pool with a backlog has. They share one
 * rs_policy, driven through the step API: a call waiting for a bulkhead
 * slot is woken by the library (rs_call_options.wake), as an event loop
 * would be. Everything is seeded: a run depends only on its config. */
#ifndef SIM_MODEL_H
#define SIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <resilience.h>

#define SIM_MAX_PHASES 8

/* The resolution of the counters. */
#define SIM_TICK_NS RS_MS(100)

/* From `at_ns` on, the server has this capacity. */
typedef struct sim_phase {
    uint64_t at_ns;
    uint32_t workers;     /* requests served at once; 0 = unlimited */
    double rate;          /* requests admitted per second; 0 = unlimited */
} sim_phase;

/* How the clients limit themselves. */
typedef enum sim_client_kind {
    SIM_FIXED,    /* a bulkhead of `fixed_limit` (and a bucket of `fixed_rate`), nothing adaptive */
    SIM_ADAPTIVE  /* the adaptive limit on the bulkhead, and the adaptive rate */
} sim_client_kind;

typedef struct sim_config {
    /* The server. */
    sim_phase phases[SIM_MAX_PHASES];
    unsigned phase_count;
    uint32_t queue;             /* FIFO places in front of the workers */
    uint64_t burst;             /* the rate's bucket */
    uint64_t service_ns;        /* a request's work, uniform within service_spread */
    double service_spread;
    uint64_t reject_ns;         /* until a 429 reaches the client */
    uint64_t retry_after_ns;    /* sent with rate-limit 429s; 0 = none */
    /* The clients. */
    uint32_t clients;
    uint64_t think_ns;          /* between one worker's calls */
    uint64_t refused_think_ns;  /* after a call refused locally: a worker's backoff */
    sim_client_kind kind;
    uint32_t fixed_limit;
    double fixed_rate;          /* SIM_FIXED: requests per second, burst 1; 0 = none */
    rs_adaptive_limit_config limit;
    rs_adaptive_rate_config rate;
    bool with_rate;             /* SIM_ADAPTIVE: the adaptive rate too */
    /* The run. */
    uint64_t end_ns;
    uint64_t seed;
} sim_config;

/* Defaults: the concurrency scenario (100 -> 20 -> 100 workers at 20 s and
 * 40 s, a queue of 50, 50 ms of work +-20%), 300 workers, adaptive, 60 s. */
sim_config sim_default(void);

/* One tick's counts. */
typedef struct sim_tick {
    double limit;           /* the bulkhead's max_concurrent as the tick began */
    double rate;            /* the adaptive rate as the tick began; 0 = none */
    double workers;         /* the server's capacity then (0 = unlimited) */
    double server_rate;     /* its rate limit then (0 = unlimited) */
    uint32_t requests;      /* attempts that reached the server */
    uint32_t served;        /* ... that it served */
    uint32_t throttled;     /* ... that it answered 429 */
    uint32_t refused;       /* calls refused locally (nothing sent) */
    uint64_t latency_us;    /* the served ones' server latency, summed */
} sim_tick;

typedef struct sim_result {
    sim_tick *ticks;
    size_t count;
    uint64_t events;
} sim_result;

/* Runs one simulation; ends the program if memory runs out. */
void sim_run(const sim_config *cfg, sim_result *out);
void sim_result_free(sim_result *r);

/* The capacity in force at an instant. */
sim_phase sim_phase_at(const sim_config *cfg, uint64_t now_ns);

/* Sums over the ticks of [from_ns, to_ns). */
typedef struct sim_totals {
    uint64_t requests, served, throttled, refused;
    uint64_t latency_us; /* of the served ones, summed */
    double seconds;
} sim_totals;
sim_totals sim_sum(const sim_result *r, uint64_t from_ns, uint64_t to_ns);

/* What sim_settled_at judges. */
typedef enum sim_series { SIM_LIMIT, SIM_RATE } sim_series;

/* The first instant from `from_ns` on after which the mean of `series`
 * (the bulkhead's limit, or the adaptive rate) over every second (every
 * window of 10 ticks starting at a tick) stays within [low, high] until
 * `to_ns`; UINT64_MAX if there is none. */
uint64_t sim_settled_at(const sim_result *r, sim_series series, uint64_t from_ns, uint64_t to_ns,
                        double low, double high);

#endif /* SIM_MODEL_H */
