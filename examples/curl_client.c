/* An LLM-style client over real HTTP with libresilience-curl: four threads
 * share one rs_client (4 requests per second, a breaker, a token budget);
 * every request is a libcurl POST whose 429s and Retry-After, 503s and
 * rate-limit headers the library handles, and whose response's token usage
 * is charged to the budget.
 *
 *     curl_client [URL]    (default: $RS_TEST_HTTP_URL + /v1/chat/completions)
 *
 * tools/test runs it against nginx (limit_req 5 r/s, 429 + Retry-After) in
 * front of the scripted backend; without a URL it exits 77 (skipped). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <resilience.h>
#include <resilience/curl.h>

#define THREADS 4
#define REQUESTS_PER_THREAD 5

typedef struct response {
    char body[4096];
    size_t len;
} response;

static size_t on_body(char *data, size_t size, size_t count, void *ctx)
{
    response *r = ctx;
    size_t n = size * count, room = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, data, n < room ? n : room);
    r->len += n < room ? n : room;
    r->body[r->len] = '\0';
    return n;
}

/* snippet: hooks */
/* Before each attempt: a failed attempt's body must not stay in front of
 * the next one's. */
static void empty_body(void *ctx, CURL *easy, const rs_attempt *attempt)
{
    (void)easy;
    (void)attempt;
    ((response *)ctx)->len = 0;
}

/* After each answer: the tokens it says it used ("total_tokens": N),
 * charged to the budget. */
static uint64_t tokens_used(void *ctx, CURL *easy)
{
    (void)easy;
    const char *at = strstr(((response *)ctx)->body, "\"total_tokens\":");
    return at != NULL ? strtoull(at + 15, NULL, 10) : 0;
}
/* end snippet */

static rs_client *client;
static const char *url;
static int succeeded, failed;
static pthread_mutex_t counts = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
    (void)arg;
    response r;
    CURL *easy = curl_easy_init();
    if (easy == NULL) {
        return NULL;
    }
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &r);
    for (int i = 0; i < REQUESTS_PER_THREAD; i++) {
        /* snippet: perform */
        rs_curl_options opts = RS_CURL_OPTIONS_DEFAULT;
        opts.before_attempt = empty_body;
        opts.tokens_used = tokens_used;
        opts.ctx = &r;
        rs_call_report report;
        int rc = rs_curl_perform(rs_client_policy(client), easy, &opts, &report);
        /* end snippet */
        pthread_mutex_lock(&counts);
        succeeded += rc == RS_OK;
        failed += rc != RS_OK;
        pthread_mutex_unlock(&counts);
        if (rc != RS_OK) {
            fprintf(stderr, "request failed: %s (%s) after %u attempts, HTTP %d\n",
                    rs_status_name(rc), rs_stop_reason_name(report.reason), report.attempts,
                    report.last_error);
        }
    }
    curl_easy_cleanup(easy);
    return NULL;
}

int main(int argc, char **argv)
{
    char default_url[512];
    const char *base = getenv("RS_TEST_HTTP_URL");
    if (argc > 1) {
        url = argv[1];
    } else if (base != NULL && base[0] != '\0') {
        snprintf(default_url, sizeof default_url, "%s/v1/chat/completions", base);
        url = default_url;
    } else {
        puts("curl_client: no URL (argument or RS_TEST_HTTP_URL): skipped");
        return 77;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* The resilience code: a client with its limit, breaker and budget. */
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;       /* retries, jitter, retry budget */
    cfg.requests_per_second = 4;                           /* under the provider's 5 per second */
    cfg.burst = 1;
    cfg.breaker = &RS_BREAKER_CONFIG_DEFAULT;              /* copied by rs_client_new */
    cfg.budget = &RS_BUDGET_CONFIG_DEFAULT;                /* 50,000 tokens per hour */
    cfg.token_estimate = 500;
    cfg.max_limiter_wait_ns = RS_SEC(10);                  /* 4 threads queue for the bucket */
    int rc = rs_client_new(&cfg, NULL, &client);
    if (rc != RS_OK) {
        fprintf(stderr, "rs_client_new: %s: %s\n", rs_strerror(rc), rs_last_error());
        return 1;
    }

    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&threads[i], NULL, worker, NULL);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    rs_policy_stats stats;
    rs_policy_stats_get(rs_client_policy(client), &stats);
    printf("curl_client: %d of %d requests succeeded in %llu attempts (%llu retries, %llu server "
           "pauses); %llu tokens left this hour\n",
           succeeded, THREADS * REQUESTS_PER_THREAD, (unsigned long long)stats.attempts,
           (unsigned long long)stats.retries, (unsigned long long)stats.server_pauses,
           (unsigned long long)rs_budget_remaining(rs_client_budget(client)));
    rs_client_free(client);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}
