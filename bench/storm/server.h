/* The server every client calls: a capacity, an outage, a cold start after
 * it, and overload that costs work.
 *
 * Work is a fluid: the server earns `capacity` units a second (at most
 * `burst_tolerance_s` seconds' worth banked); serving a request costs 1 unit,
 * refusing one costs `reject_cost`. With no unit left a request is
 * refused, and the refusal is paid for even so, out of the next units (a
 * debt of at most a tenth of a second's worth: what a listen queue holds).
 * So under an offered load A above capacity C the server serves
 * (C - reject_cost * A) / (1 - reject_cost) a second: a storm of retries
 * does not just fail, it pushes goodput down. */
#ifndef STORM_SERVER_H
#define STORM_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "scenario.h"

typedef enum reply_kind {
    REPLY_OK,
    REPLY_UNAVAILABLE,      /* 503 */
    REPLY_TOO_MANY,         /* 429 */
    REPLY_TIMEOUT           /* no answer: the client's attempt timeout fires */
} reply_kind;

typedef struct server_reply {
    reply_kind kind;
    uint64_t latency_ns;     /* until the client knows */
    uint64_t retry_after_ns; /* 0 = none */
} server_reply;

typedef struct server {
    const scenario *sc;
    timeline *counts;
    double work;             /* units available; negative: refusals still to pay for */
    uint64_t work_at_ns;     /* when `work` was last brought up to date */
    uint64_t random;         /* the latencies' spread */
} server;

void server_init(server *s, const scenario *sc, timeline *counts);

/* Serving capacity (requests per second) at an instant: 0 during the
 * outage, a ramp from cold to warm after it. */
double server_capacity_at(const scenario *sc, uint64_t now_ns);

bool server_down_at(const scenario *sc, uint64_t now_ns);

/* A request arrives now; `retry` says whether it is a retry (for the
 * counts). */
server_reply server_handle(server *s, uint64_t now_ns, bool retry);

#endif /* STORM_SERVER_H */
