/* Benchmarks try_acquire of the token bucket and both sliding windows, on
 * the allow path and the deny path, from 1 and 2 threads on one object,
 * beside the textbook alternative: a token bucket of doubles behind a
 * pthread mutex. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "resilience.h"

/* ---- the textbook alternative ---------------------------------------------- */

typedef struct mutex_bucket {
    pthread_mutex_t lock;
    double tokens;
    double rate;  /* per second */
    double burst;
    uint64_t last_ns;
} mutex_bucket;

static bool mutex_bucket_try_acquire(mutex_bucket *b, double n)
{
    uint64_t now = rs_clock_now(NULL); /* the same clock read as the library's */
    pthread_mutex_lock(&b->lock);
    if (now > b->last_ns) {
        b->tokens += (double)(now - b->last_ns) * b->rate / 1e9;
        if (b->tokens > b->burst) {
            b->tokens = b->burst;
        }
        b->last_ns = now;
    }
    bool granted = b->tokens >= n;
    if (granted) {
        b->tokens -= n;
    }
    pthread_mutex_unlock(&b->lock);
    return granted;
}

static void mutex_bucket_op(void *ctx) { bench_consume(mutex_bucket_try_acquire(ctx, 1.0)); }

/* ---- the library ------------------------------------------------------------- */

static void bucket_op(void *ctx) { bench_consume(rs_token_bucket_try_acquire(ctx, 1)); }

static void window_op(void *ctx) { bench_consume(rs_sliding_window_try_acquire(ctx, 1)); }

static rs_token_bucket *bucket(double rate, uint64_t burst, bool drained)
{
    rs_token_bucket_config cfg = { .rate = rate, .burst = burst };
    rs_token_bucket *tb = NULL;
    bench_check(rs_token_bucket_new(&cfg, NULL, &tb), "rs_token_bucket_new");
    if (drained && !rs_token_bucket_try_acquire(tb, burst)) {
        exit(1);
    }
    return tb;
}

static rs_sliding_window *window(rs_window_kind kind, uint64_t limit, uint64_t window_ns,
                                 bool drained)
{
    rs_sliding_window_config cfg = { .limit = limit, .window_ns = window_ns, .kind = kind };
    rs_sliding_window *w = NULL;
    bench_check(rs_sliding_window_new(&cfg, NULL, &w), "rs_sliding_window_new");
    if (drained && !rs_sliding_window_try_acquire(w, limit)) {
        exit(1);
    }
    return w;
}

int main(void)
{
    double reference = bench_baselines(2);
    double bucket_allow[3] = { 0 }, mutex_allow[3] = { 0 };

    /* Allow path: 1e9 tokens/s with a burst of 1e9 never runs dry at the
     * rate a few threads can ask. Deny path: one token per ~32 years, spent. */
    bench_section("token bucket try_acquire (GCRA, one compare-exchange)");
    for (unsigned threads = 1; threads <= 2; threads++) {
        rs_token_bucket *allow = bucket(1e9, 1000000000u, false);
        rs_token_bucket *deny = bucket(1e-9, 1, true);
        bucket_allow[threads] = bench_run("allow", threads, bucket_op, allow).ns_per_op;
        bench_run("deny", threads, bucket_op, deny);
        rs_token_bucket_free(allow);
        rs_token_bucket_free(deny);
    }

    bench_section("mutex-protected naive token bucket (doubles, pthread mutex)");
    for (unsigned threads = 1; threads <= 2; threads++) {
        mutex_bucket allow = { PTHREAD_MUTEX_INITIALIZER, 1e9, 1e9, 1e9, 0 };
        mutex_bucket deny = { PTHREAD_MUTEX_INITIALIZER, 0.0, 1e-9, 1.0, rs_clock_now(NULL) };
        mutex_allow[threads] = bench_run("allow", threads, mutex_bucket_op, &allow).ns_per_op;
        bench_run("deny", threads, mutex_bucket_op, &deny);
    }

    /* More threads than this VM's 2 vCPUs: the contention hand-off must not
     * turn preempted threads into idle time. */
    bench_section("token bucket vs mutex bucket, allow path, 3 and 4 threads");
    for (unsigned threads = 3; threads <= 4; threads++) {
        rs_token_bucket *allow = bucket(1e9, 1000000000u, false);
        mutex_bucket m = { PTHREAD_MUTEX_INITIALIZER, 1e9, 1e9, 1e9, 0 };
        bench_run("token bucket allow", threads, bucket_op, allow);
        bench_run("mutex bucket allow", threads, mutex_bucket_op, &m);
        rs_token_bucket_free(allow);
    }

    static const struct {
        rs_window_kind kind;
        const char *title;
    } kinds[] = {
        { RS_WINDOW_LOG, "sliding window try_acquire, RS_WINDOW_LOG (spinlock, ring of slots)" },
        { RS_WINDOW_COUNTER, "sliding window try_acquire, RS_WINDOW_COUNTER (spinlock, counters)" },
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        bench_section(kinds[k].title);
        for (unsigned threads = 1; threads <= 2; threads++) {
            /* Allow: a 1 us window holds a few dozen admissions, far below
             * the limit, so every call also evicts. Deny: spent for a year. */
            rs_sliding_window *allow =
                window(kinds[k].kind, RS_SLIDING_WINDOW_LOG_MAX_LIMIT, 1000, false);
            rs_sliding_window *deny = window(kinds[k].kind, 1, UINT64_C(31536000000000000), true);
            bench_run("allow", threads, window_op, allow);
            bench_run("deny", threads, window_op, deny);
            rs_sliding_window_free(allow);
            rs_sliding_window_free(deny);
        }
    }

    printf("\ntargets\n");
    printf("  token bucket allow, 1 thread / (clock read + compare-exchange): %.2fx "
           "(target <= 1.5x)\n",
           bucket_allow[1] / reference);
    printf("  token bucket allow, 2 threads: %.1f ns/op vs mutex bucket %.1f ns/op: %.2fx faster\n",
           bucket_allow[2], mutex_allow[2], mutex_allow[2] / bucket_allow[2]);
    return 0;
}
