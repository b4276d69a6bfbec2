/* 20 threads against nginx (limit_req 5 r/s, 429 + Retry-After: 1) for 15 s
 * per configuration, through libresilience-curl: how many requests are
 * answered 429 (over the run and after its first 2 s), how many get
 * through, and whether any request ever left before a Retry-After was
 * over. The figures of docs/http.md and docs/adaptive.md come from it.
 *
 *     bench_nginx URL [SECONDS [THREADS [ONLY]]]   (tools/bench-http starts nginx)
 *
 * ONLY runs the configurations whose name contains it ("adaptive").
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <resilience.h>
#include <resilience/curl.h>

#include "bench.h"

#define MAX_EVENTS 100000

typedef struct scenario {
    const char *name;
    double rate;             /* the client's bucket, requests per second; 0 = none */
    uint64_t burst;
    bool share_pause;
    bool adaptive;           /* an adaptive rate (RS_ADAPTIVE_RATE_CONFIG_DEFAULT) too */
} scenario;

static const scenario scenarios[] = {
    { "8 r/s burst 4, each call waits its own", 8.0, 4, false, false },
    { "8 r/s burst 4, shared server pause", 8.0, 4, true, false },
    { "8 r/s burst 4, shared pause, adaptive rate", 8.0, 4, true, true },
    { "5 r/s burst 4, shared server pause", 5.0, 4, true, false },
    { "5 r/s burst 1, shared server pause", 5.0, 1, true, false },
    { "no rate, shared server pause", 0.0, 0, true, false },
    { "no rate, shared pause, adaptive rate", 0.0, 0, true, true },
};

/* Every attempt's start and every 429's arrival, on one clock. */
typedef struct events {
    pthread_mutex_t lock;
    uint64_t starts[MAX_EVENTS];
    size_t start_count;
    uint64_t refusals[MAX_EVENTS];    /* when a 429 was read */
    uint64_t refusal_wait[MAX_EVENTS];
    size_t refusal_count;
    uint64_t ok, answered_429, other, local_refusals;
    uint64_t late_answers, late_429; /* answers to attempts started after the first 2 s */
} events;

static events ev;
static rs_client *client;
static const char *url;
static uint64_t run_until_ns, late_from_ns;
static _Thread_local uint64_t attempt_started_ns;

static size_t discard(char *data, size_t size, size_t count, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * count;
}

static void note_start(void *ctx, CURL *easy, const rs_attempt *attempt)
{
    (void)ctx;
    (void)easy;
    (void)attempt;
    attempt_started_ns = bench_now_ns();
    pthread_mutex_lock(&ev.lock);
    if (ev.start_count < MAX_EVENTS) {
        ev.starts[ev.start_count++] = attempt_started_ns;
    }
    pthread_mutex_unlock(&ev.lock);
}

static rs_verdict note_answer(void *ctx, CURLcode code, long status,
                              const rs_http_feedback *feedback, bool *caller_fault)
{
    (void)ctx;
    pthread_mutex_lock(&ev.lock);
    if (attempt_started_ns >= late_from_ns) {
        ev.late_answers++;
        ev.late_429 += status == 429 ? 1u : 0u;
    }
    if (status == 429) {
        ev.answered_429++;
        if (ev.refusal_count < MAX_EVENTS) {
            ev.refusals[ev.refusal_count] = bench_now_ns();
            ev.refusal_wait[ev.refusal_count++] = feedback->retry_after_ns;
        }
    } else if (status == 200) {
        ev.ok++;
    } else {
        ev.other++;
    }
    pthread_mutex_unlock(&ev.lock);
    return rs_curl_classify(code, status, caller_fault);
}

static void *worker(void *arg)
{
    (void)arg;
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    rs_curl_options opts = RS_CURL_OPTIONS_DEFAULT;
    opts.before_attempt = note_start;
    opts.classify = note_answer;
    while (bench_now_ns() < run_until_ns) {
        rs_call_report report;
        int rc = rs_curl_perform(rs_client_policy(client), easy, &opts, &report);
        if (rc == RS_E_LIMITED || rc == RS_E_OPEN) {
            pthread_mutex_lock(&ev.lock);
            ev.local_refusals++;
            pthread_mutex_unlock(&ev.lock);
            /* As an application would: a refused caller tries again a
             * little later, not in a tight loop. */
            struct timespec pause = { 0, 50000000 };
            nanosleep(&pause, NULL);
        }
    }
    curl_easy_cleanup(easy);
    return NULL;
}

/* Attempts that started while a Retry-After some earlier 429 asked for was
 * still running. With the shared pause there are none, but for attempts
 * already past the pause check when the 429 was read: those are counted
 * apart (they started within a few ms of it). */
static void count_early(size_t *early, size_t *racing)
{
    *early = *racing = 0;
    for (size_t s = 0; s < ev.start_count; s++) {
        for (size_t r = 0; r < ev.refusal_count; r++) {
            uint64_t from = ev.refusals[r], until = from + ev.refusal_wait[r];
            if (ev.starts[s] > from && ev.starts[s] < until) {
                if (ev.starts[s] - from < 5000000) {
                    (*racing)++;
                } else {
                    (*early)++;
                }
                break;
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [SECONDS [THREADS]]\n", argv[0]);
        return 2;
    }
    url = argv[1];
    unsigned seconds = argc > 2 ? (unsigned)atoi(argv[2]) : 15;
    unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : 20;
    const char *only = argc > 4 ? argv[4] : NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&ev.lock, NULL);
    printf("%u threads, %u s per configuration, against %s\n\n", threads, seconds, url);
    printf("%-46s %8s %8s %7s %9s %5s %8s %6s %9s\n", "configuration", "requests", "answered",
           "429s", "after 2s", "ok", "ok/s", "early", "refused");
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const scenario *sc = &scenarios[i];
        if (only != NULL && strstr(sc->name, only) == NULL) {
            continue;
        }
        memset(ev.starts, 0, sizeof ev.starts);
        ev.start_count = ev.refusal_count = 0;
        ev.ok = ev.answered_429 = ev.other = ev.local_refusals = 0;
        ev.late_answers = ev.late_429 = 0;
        rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
        cfg.requests_per_second = sc->rate;
        cfg.burst = sc->burst;
        cfg.share_server_pause = sc->share_pause;
        cfg.max_limiter_wait_ns = RS_SEC(5);
        cfg.retry.max_attempts = 4;
        rs_adaptive_rate_config adaptive = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
        cfg.adaptive_rate = sc->adaptive ? &adaptive : NULL;
        bench_check(rs_client_new(&cfg, NULL, &client), "rs_client_new");
        run_until_ns = bench_now_ns() + (uint64_t)seconds * RS_SEC(1);
        late_from_ns = run_until_ns - (uint64_t)seconds * RS_SEC(1) + RS_SEC(2);
        pthread_t t[64];
        for (unsigned k = 0; k < threads && k < 64; k++) {
            pthread_create(&t[k], NULL, worker, NULL);
        }
        for (unsigned k = 0; k < threads && k < 64; k++) {
            pthread_join(t[k], NULL);
        }
        size_t early, racing;
        count_early(&early, &racing);
        uint64_t answered = ev.ok + ev.answered_429 + ev.other;
        printf("%-46s %8zu %8llu %6.1f%% %8.1f%% %5llu %8.2f %6zu %9llu\n", sc->name,
               ev.start_count, (unsigned long long)answered,
               answered > 0 ? 100.0 * (double)ev.answered_429 / (double)answered : 0.0,
               ev.late_answers > 0 ? 100.0 * (double)ev.late_429 / (double)ev.late_answers : 0.0,
               (unsigned long long)ev.ok, (double)ev.ok / seconds, early,
               (unsigned long long)ev.local_refusals);
        if (sc->adaptive) {
            rs_adaptive_rate_snapshot st;
            rs_adaptive_rate_metrics(rs_client_adaptive_rate(client), &st);
            printf("%-46s (adaptive rate at the end %.2f r/s, last good %.2f, %llu reductions)\n",
                   "", st.rate, st.last_good_rate, (unsigned long long)st.reductions);
        }
        if (racing > 0) {
            printf("%-46s (%zu attempts were past the pause check when a 429 came)\n", "",
                   racing);
        }
        fflush(stdout);
        rs_client_free(client);
        bench_consume(answered);
        struct timespec gap = { 2, 0 }; /* let nginx's allowance refill */
        nanosleep(&gap, NULL);
    }
    curl_global_cleanup();
    return 0;
}
