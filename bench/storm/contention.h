/* The shape of the AWS Architecture Blog's "Exponential Backoff And Jitter"
 * (Marc Brooker, 2015): N clients start at the same instant to update one
 * record under optimistic concurrency. An update reads the record's version,
 * works for `op_ns` and writes only if the version is unchanged; a client
 * whose write lost retries through its own rs_policy until it wins. Per
 * backoff kind: the calls made by all clients together, and when the last
 * one finished. */
#ifndef STORM_CONTENTION_H
#define STORM_CONTENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <resilience.h>

typedef struct contention_kind {
    const char *key;
    const char *label;
    rs_jitter jitter;
    bool backoff; /* false: retry at once */
} contention_kind;

extern const contention_kind contention_kinds[];
extern const size_t contention_kind_count;

typedef struct contention_config {
    uint32_t max_clients, step; /* N = 1, step, 2*step, ..., max_clients */
    uint32_t repetitions;       /* seeds averaged per point */
    uint64_t op_ns;             /* read to conditional write */
    rs_backoff_config backoff;  /* base and cap of every kind */
    uint64_t seed;
} contention_config;

contention_config contention_default(void);

/* The number of single races contention_sweep() runs (for progress). */
uint64_t contention_runs(const contention_config *cfg);

/* Runs every N and kind, writing rows "clients,calls,completion_ms" (means
 * over the repetitions) to `dir`/contention-`kind`.csv; `progress` is
 * called after each race with the number run so far. */
void contention_sweep(const contention_config *cfg, const char *dir,
                      void (*progress)(void *ctx, uint64_t runs_done), void *ctx);

#endif /* STORM_CONTENTION_H */
