/* A small benchmark harness: runs one operation in a calibrated loop and
 * prints ns/op and ops/s, with the same run's baselines beside it so figures
 * from different machines can be compared as ratios.
 *
 * Each figure is the best of several rounds (the least disturbed one); the
 * loop calls the operation through a function pointer, and the baselines pay
 * the same call, so ratios are fair. */
#ifndef RS_BENCH_H
#define RS_BENCH_H

#include <stdint.h>

typedef void (*bench_op)(void *ctx);

typedef struct bench_result {
    double ns_per_op;   /* per thread: wall time / operations of one thread */
    double ops_per_sec; /* all threads together */
} bench_result;

/* Ends the program with "what: <the status's message>" unless status is
 * RS_OK: for the set-up calls, which must not fail. */
void bench_check(int status, const char *what);

/* Runs op(ctx) on `threads` threads (1 = the calling thread) and prints one
 * row. */
bench_result bench_run(const char *name, unsigned threads, bench_op op, void *ctx);

/* Prints the column header and the baselines of this run: a monotonic clock
 * read and an uncontended compare-exchange (1 thread), and the same
 * compare-exchange on one shared word from `max_threads` threads. Returns
 * the single-thread (clock read + compare-exchange) cost, the reference the
 * limiter targets are stated against. */
double bench_baselines(unsigned max_threads);

/* Prints a section heading. */
void bench_section(const char *title);

/* CLOCK_MONOTONIC in ns: the wall time the measurements and the progress
 * display (progress.h) are taken on. */
uint64_t bench_now_ns(void);

/* Keeps a value alive so the compiler cannot delete the work producing it. */
void bench_consume(uint64_t value);

#endif /* RS_BENCH_H */
