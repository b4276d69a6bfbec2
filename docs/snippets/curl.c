/* docs/http.md's libresilience-curl code, compiled and run by the test
 * suite against the scripted backend tools/test starts
 * (RS_TEST_BACKEND_URL); without it, it exits 77 (skipped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <resilience.h>
#include <resilience/curl.h>

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

/* After each answer: the tokens it says it used, charged to the budget. */
static uint64_t tokens_used(void *ctx, CURL *easy)
{
    (void)easy;
    const char *at = strstr(((response *)ctx)->body, "\"total_tokens\":");
    return at != NULL ? strtoull(at + 15, NULL, 10) : 0;
}
/* end snippet */

static int done_count;
static void on_done(void *ctx, CURL *easy, int status, const rs_call_report *report)
{
    (void)ctx;
    (void)easy;
    printf("transfer done: %s after %u attempts\n", rs_status_name(status), report->attempts);
    done_count += status == RS_OK;
}

static int blocking(rs_policy *policy, const char *url)
{
    response r = { .len = 0 };
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "{\"messages\": []}");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &r);
    /* snippet: perform */
    rs_curl_result result;                        /* what the last attempt saw */
    rs_curl_options opts = RS_CURL_OPTIONS_DEFAULT;
    opts.before_attempt = empty_body;
    opts.tokens_used = tokens_used;
    opts.ctx = &r;
    opts.result = &result;
    rs_call_report report;
    int rc = rs_curl_perform(policy, easy, &opts, &report);
    if (rc != RS_OK) {
        fprintf(stderr, "%s after %u attempts: HTTP %ld, curl: %s\n", rs_strerror(rc),
                report.attempts, result.http_status, curl_easy_strerror(result.code));
    }
    /* end snippet */
    curl_easy_cleanup(easy);
    return rc;
}

static int event_loop(rs_policy *policy, const char *url)
{
    enum { N = 3 };
    CURL *easy[N];
    for (int i = 0; i < N; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, url);
    }
    /* snippet: multi */
    CURLM *multi = curl_multi_init();
    rs_curl_multi *transfers;
    if (rs_curl_multi_new(multi, &transfers) != RS_OK) {
        return 1;
    }
    for (int i = 0; i < N; i++) {                 /* on_done runs once for each */
        rs_curl_multi_add(transfers, policy, easy[i], NULL, on_done, NULL);
    }
    int running = N;
    while (running > 0) {
        rs_curl_multi_perform(transfers, &running);    /* attempts, retries, waits */
        long timeout_ms = rs_curl_multi_timeout_ms(transfers);
        curl_multi_poll(multi, NULL, 0, timeout_ms < 0 ? 1000 : (int)timeout_ms, NULL);
    }
    rs_curl_multi_free(transfers);
    curl_multi_cleanup(multi);
    /* end snippet */
    for (int i = 0; i < N; i++) {
        curl_easy_cleanup(easy[i]);
    }
    return done_count == N ? 0 : 1;
}

int main(void)
{
    const char *base = getenv("RS_TEST_BACKEND_URL");
    if (base == NULL || base[0] == '\0') {
        puts("no RS_TEST_BACKEND_URL: skipped");
        return 77;
    }
    char url[512];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;
    rs_policy *policy;
    if (rs_policy_new(&cfg, NULL, &policy) != RS_OK) {
        return 1;
    }
    snprintf(url, sizeof url, "%s/v1/chat/completions", base);
    int rc = blocking(policy, url);
    snprintf(url, sizeof url, "%s/ok", base);
    int loop_rc = event_loop(policy, url);
    rs_policy_free(policy);
    curl_global_cleanup();
    return rc == RS_OK && loop_rc == 0 ? 0 : 1;
}
