/* The seeds' queue-and-threads program, without hand-tuned numbers: 32
 * worker threads drain a queue of jobs against a provider whose capacity
 * nobody told them, and which changes halfway through.
 *
 * The provider (simulated in-process, in real time) serves 16 requests at
 * once, then only 4; past that a request waits in its queue of 16 (so its
 * latency grows), and past the queue it is refused with 429. The workers
 * share one rs_client with an adaptive concurrency limit and an adaptive
 * rate, and nothing else: no max_concurrent, no requests_per_second. The
 * limit finds the capacity from the latency it sees (and backs off on
 * 429s), and follows it down when it drops.
 *
 * Prints the limit as it moves and what each phase achieved. Exits
 * non-zero if most jobs failed or the limit did not follow the drop. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "resilience.h"

#define WORKERS 32
#define PHASE_NS RS_MS(1500)      /* each capacity lasts this long */
#define WORK_NS RS_MS(5)          /* one request's work at the provider */
#define PROVIDER_QUEUE 16

/* ---- the provider: a capacity, a queue in front of it, 429 past that -------- */

typedef struct provider {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    unsigned busy, queued;
    uint64_t start_ns;
} provider;

static unsigned capacity_at(const provider *p, uint64_t now_ns)
{
    return now_ns - p->start_ns < PHASE_NS ? 16u : 4u;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / RS_SEC(1)), (long)(ns % RS_SEC(1)) };
    nanosleep(&ts, NULL);
}

/* One request: 200 after its work, or 429 at once when the queue is full. */
static int provider_call(provider *p)
{
    pthread_mutex_lock(&p->lock);
    if (p->busy >= capacity_at(p, rs_clock_now(NULL))) {
        if (p->queued >= PROVIDER_QUEUE) {
            pthread_mutex_unlock(&p->lock);
            return 429;
        }
        p->queued++;
        while (p->busy >= capacity_at(p, rs_clock_now(NULL))) {
            pthread_cond_wait(&p->freed, &p->lock);
        }
        p->queued--;
    }
    p->busy++;
    pthread_mutex_unlock(&p->lock);
    sleep_ns(WORK_NS);
    pthread_mutex_lock(&p->lock);
    p->busy--;
    pthread_cond_broadcast(&p->freed);
    pthread_mutex_unlock(&p->lock);
    return 200;
}

/* ---- the workers ---------------------------------------------------------------- */

typedef struct pool {
    rs_client *client;
    provider provider;
    atomic_uint done[2], refused[2], failed[2]; /* per phase */
    atomic_bool stop;
} pool;

static rs_verdict call_provider(void *ctx, rs_attempt *attempt)
{
    pool *p = ctx;
    int status = provider_call(&p->provider);
    attempt->error = status;
    if (status == 429) {
        attempt->caller_fault = true; /* too much sent: not the provider's failure */
        return RS_RETRY;
    }
    return RS_SUCCESS;
}

static void *worker(void *arg)
{
    pool *p = arg;
    while (!atomic_load(&p->stop)) {
        uint64_t now = rs_clock_now(NULL);
        int phase = now - p->provider.start_ns < PHASE_NS ? 0 : 1;
        rs_call_report report;
        int rc = rs_call_with(rs_client_policy(p->client), NULL, call_provider, p, &report);
        if (rc == RS_OK) {
            atomic_fetch_add(&p->done[phase], 1);
        } else {
            atomic_fetch_add(&p->failed[phase], 1);
        }
        atomic_fetch_add(&p->refused[phase], report.attempts - (rc == RS_OK ? 1u : 0u));
    }
    return NULL;
}

int main(void)
{
    static pool p = { .provider = { .lock = PTHREAD_MUTEX_INITIALIZER,
                                    .freed = PTHREAD_COND_INITIALIZER } };
    /* The whole configuration: adapt, with the library's defaults. */
    rs_adaptive_limit_config concurrency = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    rs_adaptive_rate_config rate = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.concurrency_limit = &concurrency;
    cfg.adaptive_rate = &rate;
    int rc = rs_client_new(&cfg, NULL, &p.client);
    if (rc != RS_OK) {
        fprintf(stderr, "rs_client_new: %s (%s)\n", rs_strerror(rc), rs_last_error());
        return EXIT_FAILURE;
    }
    rs_bulkhead *bulkhead = rs_client_bulkhead(p.client);
    printf("libresilience %s: %d workers, a provider serving 16 at once, then 4\n\n",
           rs_version_string(), WORKERS);

    p.provider.start_ns = rs_clock_now(NULL);
    pthread_t threads[WORKERS];
    int started = 0;
    for (; started < WORKERS; started++) {
        if (pthread_create(&threads[started], NULL, worker, &p) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            break;
        }
    }
    /* Watch the limit move. */
    uint32_t limit_before_drop = 0, limit_at_end = 0;
    printf("  time   capacity  limit  in flight\n");
    for (uint64_t t = RS_MS(250); t <= 2 * PHASE_NS; t += RS_MS(250)) {
        sleep_ns(RS_MS(250));
        uint32_t limit = rs_bulkhead_max_concurrent(bulkhead);
        printf("  %4.2f s  %8u  %5u  %9u\n", (double)t / 1e9,
               capacity_at(&p.provider, p.provider.start_ns + t), limit,
               rs_bulkhead_in_flight(bulkhead));
        if (t == PHASE_NS) {
            limit_before_drop = limit;
        }
        limit_at_end = limit;
    }
    atomic_store(&p.stop, true);
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
    unsigned done = 0, failed = 0;
    for (int phase = 0; phase < 2; phase++) {
        unsigned capacity = phase == 0 ? 16u : 4u;
        double per_s = (double)atomic_load(&p.done[phase]) / ((double)PHASE_NS / 1e9);
        printf("\ncapacity %2u: %5u jobs done (%.0f/s of the %.0f/s it can serve), %u answered "
               "429, %u failed",
               capacity, atomic_load(&p.done[phase]), per_s,
               capacity * (double)RS_SEC(1) / (double)WORK_NS, atomic_load(&p.refused[phase]),
               atomic_load(&p.failed[phase]));
        done += atomic_load(&p.done[phase]);
        failed += atomic_load(&p.failed[phase]);
    }
    printf("\n");
    rs_client_free(p.client);

    if (done == 0 || failed * 5 > done + failed) {
        fprintf(stderr, "adaptive_worker_pool: most jobs failed\n");
        return EXIT_FAILURE;
    }
    if (limit_at_end >= limit_before_drop) {
        fprintf(stderr, "adaptive_worker_pool: the limit did not follow the drop (%u -> %u)\n",
                limit_before_drop, limit_at_end);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
