/* docs/http.md's event loop on curl's multi interface, compiled and run by
 * the test suite against the scripted backend tools/test starts
 * (RS_TEST_BACKEND_URL); without it, it exits 77 (skipped). The blocking
 * form's code in docs/http.md comes from examples/curl_client.c. */
#include <stdio.h>
#include <stdlib.h>

#include <resilience.h>
#include <resilience/curl.h>

static int done_count;
static void on_done(void *ctx, CURL *easy, int status, const rs_call_report *report)
{
    (void)ctx;
    (void)easy;
    printf("transfer done: %s after %u attempts\n", rs_status_name(status), report->attempts);
    done_count += status == RS_OK;
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
    snprintf(url, sizeof url, "%s/ok", base);
    int rc = event_loop(policy, url);
    rs_policy_free(policy);
    curl_global_cleanup();
    return rc;
}
