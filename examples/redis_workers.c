/* Several worker processes share one provider quota through Redis.
 *
 * The provider allows 40 requests per second with bursts of 10, for all of
 * our workers together. Each worker (a fork()ed process with its own
 * connection pool, as separate machines would have) calls it through its
 * own rs_policy: a local circuit breaker, and two external limiters kept in
 * Redis, the shared breaker flag and then the shared token bucket. Halfway
 * through, worker 1 starts seeing failures; its breaker trips, its
 * on_state_change callback publishes the open state, and every worker's
 * policy refuses calls (RS_E_OPEN) until the flag expires.
 *
 * The provider's quota is a hard contract, so its bucket decides exactly:
 * one round trip per call. The workers also emit events (log lines to a
 * shared collector) under a fleet-wide soft limit of 2000 a second, a
 * hundred decisions per provider call: that bucket uses leases, batches of
 * tokens taken in one round trip and handed out in the process, so a few
 * dozen round trips serve thousands of decisions, and the fleet may exceed
 * that limit by at most what the leases held (4 x max_units).
 *
 * Usage: redis_workers [redis://host:port/db]   (or RS_REDIS_URL)
 * Exits 77 (skipped) without a URL, 1 if the workers together exceeded a
 * limit or the shared state did not reach them. */
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
#define EVENT_RATE 2000.0
#define EVENT_BURST 200
#define EVENTS_PER_CALL 100

typedef struct tally {
    unsigned long calls;        /* provider calls made (admitted by the quota) */
    unsigned long refused_open; /* refused by the shared breaker flag */
    unsigned long errors;       /* Redis failed (the policy here: fail closed) */
    unsigned long events;       /* events admitted by the leased bucket */
    unsigned long event_decisions;
    unsigned long event_round_trips;
    unsigned long lease_max;    /* the largest lease a worker takes */
} tally;

static void report(void *ctx, int status, const char *message)
{
    (void)ctx;
    fprintf(stderr, "  redis: %s: %s\n", rs_status_name(status), message);
}

/* The local breaker tells the fleet when it opens (and when it closes). */
static void share_breaker_state(void *ctx, rs_breaker_state from, rs_breaker_state to)
{
    rs_redis_breaker_state *shared = ctx;
    (void)from;
    int rc = RS_OK;
    if (to == RS_BREAKER_OPEN) {
        rc = rs_redis_breaker_state_publish_open(shared, OPEN_NS);
    } else if (to == RS_BREAKER_CLOSED) {
        rc = rs_redis_breaker_state_clear(shared);
    }
    if (rc != RS_OK) {
        fprintf(stderr, "  could not share the breaker state: %s\n", rs_strerror(rc));
    }
}

typedef struct provider_call {
    int worker;
    uint64_t start_ns;
    tally *t;
} provider_call;

/* The provider call. Worker 1's path to the provider breaks halfway through
 * the run (the others' paths are fine). */
static rs_verdict call_provider(void *ctx, rs_attempt *attempt)
{
    provider_call *c = ctx;
    c->t->calls++;
    uint64_t now = rs_clock_now(NULL);
    if (c->worker == 1 && now >= c->start_ns + RUN_NS / 2) {
        attempt->error = 503;
        return RS_RETRY;
    }
    return RS_SUCCESS;
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
    rs_breaker *breaker = NULL;
    rs_policy *policy = NULL;
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
    if (status == RS_OK) {
        rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
        bc.failure_threshold = 3;
        bc.failure_rate = 0.0;
        bc.open_ns = OPEN_NS;
        bc.on_state_change = share_breaker_state;
        bc.ctx = shared;
        status = rs_breaker_new(&bc, NULL, &breaker);
    }
    if (status == RS_OK) {
        rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
        pc.retry.max_attempts = 1; /* one try per request keeps the counts readable */
        pc.breaker = breaker;
        pc.max_limiter_wait_ns = 100 * MS;
        /* Is the dependency open fleet-wide? Then the shared quota. */
        pc.limits[0] = (rs_limit){ rs_redis_breaker_state_limiter(shared), RS_UNITS_REQUESTS };
        pc.limits[1] = (rs_limit){ rs_redis_token_bucket_limiter(quota), RS_UNITS_REQUESTS };
        status = rs_policy_new(&pc, NULL, &policy);
    }
    if (status != RS_OK) {
        fprintf(stderr, "worker %d: set-up failed: %s\n", id, rs_strerror(status));
        return 1;
    }
    /* The soft limit on events: leases of tokens, sized for 4 workers. */
    rs_redis_token_bucket *events = NULL;
    rs_redis_token_bucket_config ec = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
    ec.redis = redis;
    char events_name[96];
    (void)snprintf(events_name, sizeof events_name, "%s-events", name);
    ec.name = events_name;
    ec.rate = EVENT_RATE;
    ec.burst = EVENT_BURST;
    ec.lease.instances = WORKERS;
    if ((status = rs_redis_token_bucket_new(&ec, NULL, &events)) != RS_OK) {
        fprintf(stderr, "worker %d: %s\n", id, rs_last_error());
        return 1;
    }
    provider_call call = { id, rs_clock_now(NULL), t };
    while (rs_clock_now(NULL) < call.start_ns + RUN_NS) {
        for (int e = 0; e < EVENTS_PER_CALL; e++) {
            int answer = rs_redis_token_bucket_try_acquire(events, 1);
            t->event_decisions++;
            t->events += answer == RS_OK;
            t->errors += answer != RS_OK && answer != RS_E_LIMITED;
        }
        switch (rs_call(policy, call_provider, &call)) {
        case RS_OK:
        case RS_E_EXHAUSTED: /* worker 1's failures */
        case RS_E_LIMITED:   /* the shared quota: come back shortly */
            break;
        case RS_E_OPEN:      /* our breaker, or another worker's through Redis */
            t->refused_open++;
            rs_clock_sleep(NULL, 20 * MS);
            break;
        default:
            t->errors++;
            rs_clock_sleep(NULL, 10 * MS);
            break;
        }
    }
    rs_redis_lease_stats stats;
    if (rs_redis_token_bucket_lease_stats(events, &stats) == RS_OK) {
        t->event_round_trips = stats.round_trips;
        t->lease_max = stats.max_units;
    }
    rs_redis_token_bucket_free(events); /* gives back what its lease held */
    rs_policy_free(policy);
    rs_breaker_free(breaker);
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
            tally t = { 0, 0, 0, 0, 0, 0, 0 };
            int rc = worker(i, url, name, &t);
            ssize_t n = write(p[1], &t, sizeof t);
            _exit(rc != 0 || n != (ssize_t)sizeof t);
        }
        close(p[1]);
        fds[i] = p[0];
    }
    tally total = { 0, 0, 0, 0, 0, 0, 0 };
    int failed = 0, paused = 0;
    for (int i = 0; i < WORKERS; i++) {
        tally t = { 0, 0, 0, 0, 0, 0, 0 };
        int status = 0;
        bool got = read(fds[i], &t, sizeof t) == (ssize_t)sizeof t;
        close(fds[i]);
        waitpid(pids[i], &status, 0);
        if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "worker %d failed\n", i);
            failed = 1;
        }
        printf("  worker %d: %3lu calls, %3lu refused while the breaker was open, %lu errors; "
               "%lu events of %lu asked in %lu round trips\n",
               i, t.calls, t.refused_open, t.errors, t.events, t.event_decisions,
               t.event_round_trips);
        paused += t.refused_open > 0;
        total.calls += t.calls;
        total.refused_open += t.refused_open;
        total.errors += t.errors;
        total.events += t.events;
        total.lease_max = t.lease_max;
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
    /* Leases: the exact bound plus what the 4 leases may have held. */
    double event_limit = EVENT_BURST + EVENT_RATE * elapsed;
    double lease_bound = (double)(WORKERS * total.lease_max);
    printf("events: %lu in %.2f s, limit %.0f, leases may add %.0f (4 x %lu)\n", total.events,
           elapsed, event_limit, lease_bound, total.lease_max);
    if ((double)total.events > event_limit + lease_bound) {
        fprintf(stderr, "FAILED: the workers exceeded the events limit beyond the leases\n");
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
    printf("ok: within the quota and the events limit; every worker paused while the breaker "
           "was open\n");
    return 0;
}
