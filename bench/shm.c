/* Benchmarks the shared-memory limiters against their in-process
 * counterparts in the same run: try_acquire(1) on the token bucket and the
 * sliding counter, allow path and deny path, from 1 and 2 threads on one
 * object. Threads on one mapping contend exactly as processes do (the same
 * cache line), so the 2-thread rows stand for 2 worker processes. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "resilience.h"

static void bucket_op(void *ctx) { bench_consume(rs_token_bucket_try_acquire(ctx, 1)); }

static void shm_bucket_op(void *ctx) { bench_consume(rs_shm_token_bucket_try_acquire(ctx, 1)); }

static void window_op(void *ctx) { bench_consume(rs_sliding_window_try_acquire(ctx, 1)); }

static void shm_window_op(void *ctx)
{
    bench_consume(rs_shm_sliding_window_try_acquire(ctx, 1));
}

static void check(int status, const char *what)
{
    if (status != RS_OK) {
        fprintf(stderr, "%s: %s\n", what, rs_strerror(status));
        exit(1);
    }
}

/* A fresh shared-memory name for this run; unlinked at once, so nothing is
 * left behind even if the program is interrupted (the handles keep the
 * mapping). */
static const char *name_for(const char *what)
{
    static char name[64];
    snprintf(name, sizeof name, "/rs-bench-%ld-%s", (long)getpid(), what);
    (void)rs_shm_unlink(name);
    return name;
}

static rs_shm_token_bucket *shm_bucket(double rate, uint64_t burst, bool drained)
{
    rs_token_bucket_config cfg = { .rate = rate, .burst = burst };
    rs_shm_token_bucket *tb = NULL;
    const char *name = name_for("bucket");
    check(rs_shm_token_bucket_open(name, &cfg, RS_SHM_CREATE, &tb), "rs_shm_token_bucket_open");
    check(rs_shm_unlink(name), "rs_shm_unlink");
    if (drained && !rs_shm_token_bucket_try_acquire(tb, burst)) {
        exit(1);
    }
    return tb;
}

static rs_token_bucket *bucket(double rate, uint64_t burst, bool drained)
{
    rs_token_bucket_config cfg = { .rate = rate, .burst = burst };
    rs_token_bucket *tb = NULL;
    check(rs_token_bucket_new(&cfg, NULL, &tb), "rs_token_bucket_new");
    if (drained && !rs_token_bucket_try_acquire(tb, burst)) {
        exit(1);
    }
    return tb;
}

static rs_shm_sliding_window *shm_window(uint64_t limit, uint64_t window_ns, bool drained)
{
    rs_sliding_window_config cfg = { limit, window_ns, RS_WINDOW_COUNTER };
    rs_shm_sliding_window *w = NULL;
    const char *name = name_for("window");
    check(rs_shm_sliding_window_open(name, &cfg, RS_SHM_CREATE, &w), "rs_shm_sliding_window_open");
    check(rs_shm_unlink(name), "rs_shm_unlink");
    if (drained && !rs_shm_sliding_window_try_acquire(w, limit)) {
        exit(1);
    }
    return w;
}

static rs_sliding_window *window(uint64_t limit, uint64_t window_ns, bool drained)
{
    rs_sliding_window_config cfg = { limit, window_ns, RS_WINDOW_COUNTER };
    rs_sliding_window *w = NULL;
    check(rs_sliding_window_new(&cfg, NULL, &w), "rs_sliding_window_new");
    if (drained && !rs_sliding_window_try_acquire(w, limit)) {
        exit(1);
    }
    return w;
}

int main(void)
{
    double reference = bench_baselines(2);
    double local_allow[3] = { 0 }, shared_allow[3] = { 0 };

    /* Allow: 1e9 tokens/s, burst 1e9, never runs dry. Deny: one token per
     * ~32 years, spent. */
    bench_section("in-process token bucket try_acquire (rs_token_bucket)");
    for (unsigned threads = 1; threads <= 2; threads++) {
        rs_token_bucket *allow = bucket(1e9, 1000000000u, false);
        rs_token_bucket *deny = bucket(1e-9, 1, true);
        local_allow[threads] = bench_run("allow", threads, bucket_op, allow).ns_per_op;
        bench_run("deny", threads, bucket_op, deny);
        rs_token_bucket_free(allow);
        rs_token_bucket_free(deny);
    }
    bench_section("shared-memory token bucket try_acquire (rs_shm_token_bucket)");
    for (unsigned threads = 1; threads <= 2; threads++) {
        rs_shm_token_bucket *allow = shm_bucket(1e9, 1000000000u, false);
        rs_shm_token_bucket *deny = shm_bucket(1e-9, 1, true);
        shared_allow[threads] = bench_run("allow", threads, shm_bucket_op, allow).ns_per_op;
        bench_run("deny", threads, shm_bucket_op, deny);
        rs_shm_token_bucket_close(allow);
        rs_shm_token_bucket_close(deny);
    }

    /* Allow: a limit far above what the threads can ask in a 1 ms window;
     * deny: spent for a year. */
    const uint64_t ms = 1000000u, year = UINT64_C(31536000000000000);
    bench_section("in-process sliding counter try_acquire (rs_sliding_window, COUNTER)");
    for (unsigned threads = 1; threads <= 2; threads++) {
        rs_sliding_window *allow = window(4000000000u, ms, false);
        rs_sliding_window *deny = window(1, year, true);
        bench_run("allow", threads, window_op, allow);
        bench_run("deny", threads, window_op, deny);
        rs_sliding_window_free(allow);
        rs_sliding_window_free(deny);
    }
    bench_section("shared-memory sliding counter try_acquire (rs_shm_sliding_window)");
    for (unsigned threads = 1; threads <= 2; threads++) {
        rs_shm_sliding_window *allow = shm_window(4000000000u, ms, false);
        rs_shm_sliding_window *deny = shm_window(1, year, true);
        bench_run("allow", threads, shm_window_op, allow);
        bench_run("deny", threads, shm_window_op, deny);
        rs_shm_sliding_window_close(allow);
        rs_shm_sliding_window_close(deny);
    }

    printf("\ncomparisons\n");
    printf("  shared / in-process token bucket, allow, 1 thread: %.2fx\n",
           shared_allow[1] / local_allow[1]);
    printf("  shared / in-process token bucket, allow, 2 threads: %.2fx\n",
           shared_allow[2] / local_allow[2]);
    printf("  shared token bucket allow, 1 thread / (clock read + compare-exchange): %.2fx\n",
           shared_allow[1] / reference);
    return 0;
}
