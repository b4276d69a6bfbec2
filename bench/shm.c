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

static void shm_bucket_op(void *ctx)
{
    bench_consume(rs_shm_token_bucket_try_acquire(ctx, 1) == RS_OK);
}

static void window_op(void *ctx) { bench_consume(rs_sliding_window_try_acquire(ctx, 1)); }

static void shm_window_op(void *ctx)
{
    bench_consume(rs_shm_sliding_window_try_acquire(ctx, 1) == RS_OK);
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

/* Each subject makes an allow case (a limit far above what the threads can
 * ask: 1e9 tokens/s with a burst of 1e9; 4e9 per 1 ms window) or a deny case
 * (a limit of 1, spent, refilled once in ~32 years or per year's window). */
static const uint64_t year_ns = UINT64_C(31536000000000000);

static void *make_bucket(bool deny)
{
    rs_token_bucket_config cfg = { .rate = deny ? 1e-9 : 1e9, .burst = deny ? 1 : 1000000000u };
    rs_token_bucket *tb = NULL;
    bench_check(rs_token_bucket_new(&cfg, NULL, &tb), "rs_token_bucket_new");
    return deny && !rs_token_bucket_try_acquire(tb, 1) ? NULL : tb;
}

static void *make_shm_bucket(bool deny)
{
    rs_token_bucket_config cfg = { .rate = deny ? 1e-9 : 1e9, .burst = deny ? 1 : 1000000000u };
    rs_shm_token_bucket *tb = NULL;
    const char *name = name_for("bucket");
    bench_check(rs_shm_token_bucket_open(name, &cfg, RS_SHM_CREATE, &tb), "rs_shm_token_bucket_open");
    bench_check(rs_shm_unlink(name), "rs_shm_unlink");
    return deny && rs_shm_token_bucket_try_acquire(tb, 1) != RS_OK ? NULL : tb;
}

static void *make_window(bool deny)
{
    rs_sliding_window_config cfg = { deny ? 1 : 4000000000u, deny ? year_ns : 1000000u,
                                     RS_WINDOW_COUNTER };
    rs_sliding_window *w = NULL;
    bench_check(rs_sliding_window_new(&cfg, NULL, &w), "rs_sliding_window_new");
    return deny && !rs_sliding_window_try_acquire(w, 1) ? NULL : w;
}

static void *make_shm_window(bool deny)
{
    rs_sliding_window_config cfg = { deny ? 1 : 4000000000u, deny ? year_ns : 1000000u,
                                     RS_WINDOW_COUNTER };
    rs_shm_sliding_window *w = NULL;
    const char *name = name_for("window");
    bench_check(rs_shm_sliding_window_open(name, &cfg, RS_SHM_CREATE, &w), "rs_shm_sliding_window_open");
    bench_check(rs_shm_unlink(name), "rs_shm_unlink");
    return deny && rs_shm_sliding_window_try_acquire(w, 1) != RS_OK ? NULL : w;
}

static void free_bucket(void *p) { rs_token_bucket_free(p); }
static void free_shm_bucket(void *p) { rs_shm_token_bucket_close(p); }
static void free_window(void *p) { rs_sliding_window_free(p); }
static void free_shm_window(void *p) { rs_shm_sliding_window_close(p); }

static const struct subject {
    const char *title;
    bench_op op;
    void *(*make)(bool deny);
    void (*destroy)(void *);
} subjects[] = {
    { "in-process token bucket try_acquire (rs_token_bucket)", bucket_op, make_bucket,
      free_bucket },
    { "shared-memory token bucket try_acquire (rs_shm_token_bucket)", shm_bucket_op,
      make_shm_bucket, free_shm_bucket },
    { "in-process sliding counter try_acquire (rs_sliding_window, COUNTER)", window_op,
      make_window, free_window },
    { "shared-memory sliding counter try_acquire (rs_shm_sliding_window)", shm_window_op,
      make_shm_window, free_shm_window },
};

int main(void)
{
    double reference = bench_baselines(2);
    double allow_ns[4][3] = { { 0 } }; /* subject, threads */
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++) {
        bench_section(subjects[i].title);
        for (unsigned threads = 1; threads <= 2; threads++) {
            void *allow = subjects[i].make(false), *deny = subjects[i].make(true);
            if (deny == NULL) {
                fprintf(stderr, "could not spend the deny case's only unit\n");
                return 1;
            }
            allow_ns[i][threads] = bench_run("allow", threads, subjects[i].op, allow).ns_per_op;
            bench_run("deny", threads, subjects[i].op, deny);
            subjects[i].destroy(allow);
            subjects[i].destroy(deny);
        }
    }

    printf("\ncomparisons (allow path)\n");
    for (unsigned threads = 1; threads <= 2; threads++) {
        printf("  shared / in-process, %u thread%s: token bucket %.2fx, sliding counter %.2fx\n",
               threads, threads == 1 ? " " : "s", allow_ns[1][threads] / allow_ns[0][threads],
               allow_ns[3][threads] / allow_ns[2][threads]);
    }
    printf("  shared token bucket, 1 thread / (clock read + compare-exchange): %.2fx\n",
           allow_ns[1][1] / reference);
    return 0;
}
