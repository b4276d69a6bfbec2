/* Benchmarks the circuit breaker's hot path: allow + record in CLOSED, with
 * the clock read (rs_breaker_allow/record) and without it (the _at twins a
 * caller holding a timestamp uses), on 1 and 2 threads sharing one breaker;
 * and failing fast in OPEN. */
#include <stdio.h>

#include "bench.h"
#include "resilience.h"

static rs_breaker *breaker;
static uint64_t fake_now;

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
    uint64_t now = fake_now; /* a caller-held timestamp; racy reads are fine here */
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

static int make(rs_breaker_window window, uint64_t slow_call_ns)
{
    rs_breaker_config cfg = RS_BREAKER_CONFIG_DEFAULT;
    cfg.window_type = window;
    cfg.window_size = window == RS_WINDOW_TIME_BASED ? 60 : 100;
    cfg.slow_call_ns = slow_call_ns;
    int rc = rs_breaker_new(&cfg, NULL, &breaker);
    if (rc != RS_OK) {
        fprintf(stderr, "rs_breaker_new: %s\n", rs_strerror(rc));
    }
    return rc;
}

int main(void)
{
    bench_baselines(2);

    bench_section("CLOSED allow + record, default config (count window of 100, no slow-call tracking)");
    if (make(RS_WINDOW_COUNT_BASED, 0) != RS_OK) {
        return 1;
    }
    bench_run("allow + record (one clock read)", 1, allow_record, NULL);
    bench_run("allow + record (one clock read)", 2, allow_record, NULL);
    bench_run("allow_at + record_at (no clock read)", 1, allow_record_at, NULL);
    bench_run("allow_at + record_at (no clock read)", 2, allow_record_at, NULL);
    rs_breaker_free(breaker);

    bench_section("CLOSED allow + record, slow-call tracking on (two clock reads)");
    if (make(RS_WINDOW_COUNT_BASED, 60000000000u) != RS_OK) {
        return 1;
    }
    bench_run("allow + record", 1, allow_record, NULL);
    bench_run("allow_at + record_at", 1, allow_record_at, NULL);
    rs_breaker_free(breaker);

    bench_section("CLOSED allow + record, time window of 60 s (two clock reads)");
    if (make(RS_WINDOW_TIME_BASED, 0) != RS_OK) {
        return 1;
    }
    bench_run("allow + record", 1, allow_record, NULL);
    bench_run("allow_at + record_at", 1, allow_record_at, NULL);
    rs_breaker_free(breaker);

    bench_section("OPEN: failing fast");
    if (make(RS_WINDOW_COUNT_BASED, 0) != RS_OK) {
        return 1;
    }
    rs_breaker_force(breaker, RS_BREAKER_OPEN);
    bench_run("allow refused (one clock read)", 1, allow_refused, NULL);
    bench_run("allow refused (one clock read)", 2, allow_refused, NULL);
    rs_breaker_free(breaker);
    return 0;
}
