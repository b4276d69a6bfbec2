/* A minimal application of libresilience-curl, built against an installed
 * copy (pkg-config resilience-curl, shared, and with the project's archives
 * static) and as a meson subproject. It needs no server: nothing listens
 * on 127.0.0.1:1, so every attempt is a refused connection, retried. */
#include <stdio.h>

#include <resilience.h>
#include <resilience/curl.h>

static const rs_curl_options option_defaults = RS_CURL_OPTIONS_INIT;

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;
    cfg.retry.backoff.base_ns = RS_MS(1);
    rs_policy *policy = NULL;
    int rc = rs_policy_new(&cfg, NULL, &policy);
    CURL *easy = curl_easy_init();
    if (rc != RS_OK || easy == NULL) {
        fprintf(stderr, "set-up failed: %s\n", rs_last_error());
        return 1;
    }
    curl_easy_setopt(easy, CURLOPT_URL, "http://127.0.0.1:1/");
    rs_curl_result result;
    rs_curl_options opts = option_defaults;
    opts.result = &result;
    rs_call_report report;
    rc = rs_curl_perform(policy, easy, &opts, &report);
    curl_easy_cleanup(easy);
    rs_policy_free(policy);
    curl_global_cleanup();
    if (rc != RS_E_EXHAUSTED || result.code != CURLE_COULDNT_CONNECT || report.attempts != 3) {
        fprintf(stderr, "unexpected: %s, curl %d, %u attempts\n", rs_status_name(rc),
                (int)result.code, report.attempts);
        return 1;
    }
    printf("consumer: libresilience-curl retried a refused connection %u times\n",
           report.attempts);
    return 0;
}
