#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "resilience/common.h"

#define ROUNDS 5
#define TARGET_ROUND_NS 100000000.0 /* 0.1 s per round */

static volatile uint64_t sink;

void bench_consume(uint64_t value) { sink = value; }

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct worker {
    bench_op op;
    void *ctx;
    uint64_t iterations;
    pthread_barrier_t *start;
    uint64_t elapsed_ns;
} worker;

static void *run_worker(void *p)
{
    worker *w = p;
    if (w->start != NULL) {
        pthread_barrier_wait(w->start);
    }
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < w->iterations; i++) {
        w->op(w->ctx);
    }
    w->elapsed_ns = bench_now_ns() - t0;
    return NULL;
}

/* Wall time of `threads` threads each doing `iterations` operations. */
static uint64_t timed_round(unsigned threads, bench_op op, void *ctx, uint64_t iterations)
{
    worker workers[64];
    pthread_t ids[64];
    if (threads == 1) {
        workers[0] = (worker){ op, ctx, iterations, NULL, 0 };
        run_worker(&workers[0]);
        return workers[0].elapsed_ns;
    }
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, threads);
    for (unsigned t = 0; t < threads; t++) {
        workers[t] = (worker){ op, ctx, iterations, &start, 0 };
        if (pthread_create(&ids[t], NULL, run_worker, &workers[t]) != 0) {
            fprintf(stderr, "bench: cannot start thread\n");
            exit(1);
        }
    }
    uint64_t slowest = 0;
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        slowest = workers[t].elapsed_ns > slowest ? workers[t].elapsed_ns : slowest;
    }
    pthread_barrier_destroy(&start);
    return slowest;
}

bench_result bench_run(const char *name, unsigned threads, bench_op op, void *ctx)
{
    if (threads < 1 || threads > 64) {
        threads = 1;
    }
    /* Calibrate: grow the loop until one round takes a measurable time. */
    uint64_t iterations = 1000;
    uint64_t elapsed = timed_round(threads, op, ctx, iterations);
    while ((double)elapsed < TARGET_ROUND_NS / 10 && iterations < (UINT64_C(1) << 40)) {
        iterations *= 10;
        elapsed = timed_round(threads, op, ctx, iterations);
    }
    iterations = (uint64_t)((double)iterations * TARGET_ROUND_NS / (double)(elapsed + 1)) + 1;

    double best = 1e300;
    for (int r = 0; r < ROUNDS; r++) {
        double ns = (double)timed_round(threads, op, ctx, iterations) / (double)iterations;
        best = ns < best ? ns : best;
    }
    bench_result result = { best, 1e9 / best * threads };
    printf("  %-52s %2u thr %10.2f ns/op %14.0f ops/s\n", name, threads, result.ns_per_op,
           result.ops_per_sec);
    fflush(stdout);
    return result;
}

void bench_check(int status, const char *what)
{
    if (status != RS_OK) {
        fprintf(stderr, "%s: %s\n", what, rs_strerror(status));
        exit(1);
    }
}

void bench_section(const char *title)
{
    printf("\n%s\n", title);
}

static void clock_read(void *ctx)
{
    (void)ctx;
    bench_consume(bench_now_ns());
}

static void compare_exchange(void *ctx)
{
    _Atomic uint64_t *word = ctx;
    uint64_t old = atomic_load_explicit(word, memory_order_relaxed);
    atomic_compare_exchange_strong(word, &old, old + 1);
}

static void clock_read_and_compare_exchange(void *ctx)
{
    _Atomic uint64_t *word = ctx;
    uint64_t now = bench_now_ns();
    uint64_t old = atomic_load_explicit(word, memory_order_relaxed);
    atomic_compare_exchange_strong(word, &old, old + now);
}

double bench_baselines(unsigned max_threads)
{
    static _Atomic uint64_t word;
    static _Atomic uint64_t shared_word;
    printf("%-54s %6s %16s %20s\n", "benchmark", "", "latency", "throughput");
    bench_section("baselines (this run)");
    bench_run("clock read (CLOCK_MONOTONIC)", 1, clock_read, NULL);
    bench_run("uncontended compare-exchange", 1, compare_exchange, &word);
    bench_result both = bench_run("clock read + compare-exchange", 1,
                                  clock_read_and_compare_exchange, &word);
    if (max_threads > 1) {
        bench_run("contended compare-exchange (one shared word)", max_threads,
                  compare_exchange, &shared_word);
        bench_run("clock read + contended compare-exchange", max_threads,
                  clock_read_and_compare_exchange, &shared_word);
    }
    return both.ns_per_op;
}
