/* Benchmarks the circuit breaker's hot path: allow + record in CLOSED, with
 * the clock read (rs_breaker_allow/record) and without it (the _at twins a
 * caller holding a timestamp uses), on 1 and 2 threads sharing one breaker;
 * and failing fast in OPEN. */
#include <stdbool.h>
#include <stdio.h>

#include "bench.h"
#include "resilience.h"

static rs_breaker *breaker;

static void allow_record(void *ctx)
{
    (void)ctx;
    rs_permit p;
    if (rs_breaker_allow(breaker, &p) == RS_OK) {
        rs_breaker_record(breaker, &p, true);
    }
}

static void allow_record_at(void *ctx)
{
    (void)ctx;
    rs_permit p;
    const uint64_t now = 0; /* a timestamp the caller already holds */
    if (rs_breaker_allow_at(breaker, &p, now) == RS_OK) {
        rs_breaker_record_at(breaker, &p, true, now + 1000);
    }
}

static void allow_refused(void *ctx)
{
    (void)ctx;
    rs_permit p;
    bench_consume((uint64_t)rs_breaker_allow(breaker, &p));
}

typedef struct bench_case {
    const char *title;
    rs_breaker_window window;
    uint64_t slow_call_ns;
    bool open;           /* benchmark refusals instead */
    unsigned max_threads;
} bench_case;

static const bench_case cases[] = {
    { "CLOSED allow + record, default config (count window of 100, no slow-call tracking)",
      RS_WINDOW_COUNT_BASED, 0, false, 2 },
    { "CLOSED allow + record, slow-call tracking on (record reads the clock too)",
      RS_WINDOW_COUNT_BASED, 60000000000u, false, 1 },
    { "CLOSED allow + record, time window of 60 s (record reads the clock too)",
      RS_WINDOW_TIME_BASED, 0, false, 1 },
    { "OPEN: failing fast", RS_WINDOW_COUNT_BASED, 0, true, 2 },
};

int main(void)
{
    bench_baselines(2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bench_case *c = &cases[i];
        rs_breaker_config cfg = RS_BREAKER_CONFIG_DEFAULT;
        cfg.window_type = c->window;
        cfg.window_size = c->window == RS_WINDOW_TIME_BASED ? 60 : 100;
        cfg.slow_call_ns = c->slow_call_ns;
        int rc = rs_breaker_new(&cfg, NULL, &breaker);
        if (rc != RS_OK) {
            fprintf(stderr, "rs_breaker_new: %s\n", rs_strerror(rc));
            return 1;
        }
        bench_section(c->title);
        if (c->open) {
            rs_breaker_force(breaker, RS_BREAKER_OPEN);
        }
        for (unsigned threads = 1; threads <= c->max_threads; threads++) {
            if (c->open) {
                bench_run("allow refused (one clock read)", threads, allow_refused, NULL);
                continue;
            }
            bench_run("allow + record (reads the clock if it needs it)", threads, allow_record, NULL);
            bench_run("allow_at + record_at (no clock read)", threads, allow_record_at, NULL);
        }
        rs_breaker_free(breaker);
    }
    return 0;
}
