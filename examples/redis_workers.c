/* Several worker processes share one provider quota through Redis.
 *
 * The provider allows 40 requests per second with bursts of 10, for all of
 * our workers together. Each worker (a fork()ed process with its own
 * connection pool, as separate machines would have) asks two limiters before
 * every call, the way rs_policy does: the shared breaker flag, then the
 * shared token bucket. Halfway through, worker 1's own circuit breaker
 * trips; its on_state_change callback publishes the open state, and every
 * worker stops calling the provider until it expires.
 *
 * Usage: redis_workers [redis://host:port/db]   (or RS_REDIS_URL)
 * Exits 77 (skipped) without a URL, 1 if the workers together exceeded the
 * quota or the shared state did not reach them. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <resilience.h>
#include <resilience/redis.h>

#define WORKERS 4
#define RATE 40.0
#define BURST 10
#define RUN_NS UINT64_C(1200000000)
#define OPEN_NS UINT64_C(300000000)
#define MS UINT64_C(1000000)

typedef struct tally {
    unsigned long calls;        /* provider calls made */
    unsigned long refused_open; /* refused by the shared breaker flag */
    unsigned long errors;       /* Redis failed (the policy here: fail closed) */
} tally;

static void report(void *ctx, int status, const char *message)
{
    (void)ctx;
    fprintf(stderr, "  redis: %s: %s\n", rs_status_name(status), message);
}

/* What a local rs_breaker's on_state_change callback does on its way to
 * OPEN (see docs/distributed.md for the callback itself). */
static void breaker_opened(rs_redis_breaker_state *shared, uint64_t open_ns)
{
    int rc = rs_redis_breaker_state_publish_open(shared, open_ns);
    if (rc != RS_OK) {
        fprintf(stderr, "  could not share the open breaker: %s\n", rs_strerror(rc));
    }
}

static int worker(int id, const char *url, const char *name, tally *t)
{
    rs_redis_config rc = RS_REDIS_CONFIG_DEFAULT;
    rc.url = url;
    rc.key_prefix = "example:";
    rc.pool_size = 1;
    rc.on_error = report;
    rs_redis *redis = NULL;
    rs_redis_token_bucket *quota = NULL;
    rs_redis_breaker_state *shared = NULL;
    int status = rs_redis_new(&rc, NULL, &redis);
    if (status == RS_OK) {
        rs_redis_token_bucket_config qc = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
        qc.redis = redis;
        qc.name = name;
        qc.rate = RATE;
        qc.burst = BURST;
        status = rs_redis_token_bucket_new(&qc, NULL, &quota);
    }
    if (status == RS_OK) {
        rs_redis_breaker_state_config bc = RS_REDIS_BREAKER_STATE_CONFIG_DEFAULT;
        bc.redis = redis;
        bc.name = name;
        bc.on_failure = RS_REDIS_FAIL_CLOSED;
        status = rs_redis_breaker_state_new(&bc, NULL, &shared);
    }
    if (status != RS_OK) {
        fprintf(stderr, "worker %d: set-up failed: %s\n", id, rs_strerror(status));
        return 1;
    }
    /* The order rs_policy uses: is the dependency open? then the quota. */
    rs_limiter limiters[2] = { rs_redis_breaker_state_limiter(shared),
                               rs_redis_token_bucket_limiter(quota) };
    uint64_t start = rs_clock_now(NULL), end = start + RUN_NS;
    bool tripped = false;
    while (rs_clock_now(NULL) < end) {
        uint64_t now = rs_clock_now(NULL);
        if (id == 1 && !tripped && now >= start + RUN_NS / 2) {
            tripped = true;
            breaker_opened(shared, OPEN_NS);
        }
        uint64_t wait = 0;
        int rc_open = rs_limiter_acquire(&limiters[0], 1, 0, now, &wait);
        if (rc_open == RS_E_OPEN) {
            t->refused_open++;
            rs_clock_sleep(NULL, wait < 20 * MS ? wait : 20 * MS);
            continue;
        }
        int rc_quota = rc_open == RS_OK
                           ? rs_limiter_acquire(&limiters[1], 1, 100 * MS, now, &wait)
                           : rc_open;
        if (rc_quota == RS_OK) {
            rs_clock_sleep(NULL, wait); /* reserved: ours after the wait */
            t->calls++;                 /* ...the provider call goes here */
        } else if (rc_quota == RS_E_LIMITED) {
            rs_clock_sleep(NULL, wait < 50 * MS ? wait : 50 * MS);
        } else {
            t->errors++;
            rs_clock_sleep(NULL, 10 * MS);
        }
    }
    rs_redis_breaker_state_free(shared);
    rs_redis_token_bucket_free(quota);
    rs_redis_free(redis);
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : getenv("RS_REDIS_URL");
    if (url == NULL || *url == '\0') {
        url = getenv("RS_TEST_REDIS_URL");
    }
    if (url == NULL || *url == '\0') {
        printf("redis_workers: no Redis URL (argument, RS_REDIS_URL or RS_TEST_REDIS_URL): "
               "skipped\n");
        return 77;
    }
    /* A fresh quota for this run. */
    char name[64];
    (void)snprintf(name, sizeof name, "provider-%ld", (long)getpid());
    printf("%d workers share \"%s\": %.0f requests/s, burst %d, for %.1f s\n", WORKERS, name,
           RATE, BURST, (double)RUN_NS / 1e9);

    pid_t pids[WORKERS];
    int fds[WORKERS];
    uint64_t start = rs_clock_now(NULL);
    for (int i = 0; i < WORKERS; i++) {
        int p[2];
        if (pipe(p) != 0 || (pids[i] = fork()) < 0) {
            perror("fork");
            return 1;
        }
        if (pids[i] == 0) {
            close(p[0]);
            tally t = { 0, 0, 0 };
            int rc = worker(i, url, name, &t);
            ssize_t n = write(p[1], &t, sizeof t);
            _exit(rc != 0 || n != (ssize_t)sizeof t);
        }
        close(p[1]);
        fds[i] = p[0];
    }
    tally total = { 0, 0, 0 };
    int failed = 0, paused = 0;
    for (int i = 0; i < WORKERS; i++) {
        tally t = { 0, 0, 0 };
        int status = 0;
        bool got = read(fds[i], &t, sizeof t) == (ssize_t)sizeof t;
        close(fds[i]);
        waitpid(pids[i], &status, 0);
        if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "worker %d failed\n", i);
            failed = 1;
        }
        printf("  worker %d: %3lu calls, %3lu refused while the breaker was open, %lu errors\n",
               i, t.calls, t.refused_open, t.errors);
        paused += t.refused_open > 0;
        total.calls += t.calls;
        total.refused_open += t.refused_open;
        total.errors += t.errors;
    }
    double elapsed = (double)(rs_clock_now(NULL) - start) / 1e9;
    /* At most the burst plus what refilled, and nothing while open (which
     * this bound does not even subtract). */
    double limit = BURST + RATE * elapsed;
    printf("total: %lu calls in %.2f s, limit %.1f (burst %d + %.0f/s x %.2f s)\n",
           total.calls, elapsed, limit, BURST, RATE, elapsed);
    if ((double)total.calls > limit) {
        fprintf(stderr, "FAILED: the workers exceeded the shared quota\n");
        return 1;
    }
    if (paused != WORKERS) {
        fprintf(stderr, "FAILED: only %d of %d workers saw the shared breaker open\n", paused,
                WORKERS);
        return 1;
    }
    if (total.errors > 0 || failed) {
        fprintf(stderr, "FAILED: Redis errors\n");
        return 1;
    }
    printf("ok: within the quota; every worker paused while the breaker was open\n");
    return 0;
}
