/* Benchmarks the HTTP readers on the headers a client sees on every
 * response: Retry-After as delta-seconds and as an IMF-fixdate, one OpenAI
 * rate-limit header and one structured IETF RateLimit header, each fed
 * through rs_http_feedback_header() as a client would (name lookup
 * included), beside the raw rs_http_retry_after(). */
#include <string.h>

#include "bench.h"
#include "resilience.h"

#define NOW INT64_C(784111677) /* 100 s before RFC 9110's example date */

typedef struct header_case {
    const char *name;
    const char *value;
    size_t name_len, value_len;
    rs_http_feedback feedback;
} header_case;

static void retry_after_only(void *p)
{
    header_case *c = p;
    uint64_t delay = 0;
    bench_check(rs_http_retry_after(c->value, c->value_len, NOW, &delay), "rs_http_retry_after");
    bench_consume(delay);
}

static void feed_header(void *p)
{
    header_case *c = p;
    bench_check(rs_http_feedback_header(&c->feedback, c->name, c->name_len, c->value,
                                        c->value_len, NOW),
                c->name);
    bench_consume(c->feedback.retry_after_ns ^ (uint64_t)c->feedback.remaining_requests);
}

static void classify(void *p)
{
    int *status = p;
    *status = *status == 599 ? 100 : *status + 1;
    bool fault;
    bench_consume((uint64_t)rs_http_classify(*status, &fault) + fault);
}

static void format_ratelimit(void *p)
{
    const rs_http_ratelimit *rl = p;
    char buf[64];
    bench_consume((uint64_t)rs_http_format_ratelimit(buf, sizeof buf, rl));
}

int main(void)
{
    bench_baselines(1);
    bench_section("rs_http_retry_after");
    header_case delta = { "Retry-After", "120", 11, 3, { 0 } };
    header_case date = { "Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT", 11, 29, { 0 } };
    bench_run("delta-seconds \"120\"", 1, retry_after_only, &delta);
    bench_run("IMF-fixdate", 1, retry_after_only, &date);

    bench_section("rs_http_feedback_header (name lookup + value + summary)");
    header_case cases[] = {
        { "Retry-After", "120", 0, 0, { 0 } },
        { "Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT", 0, 0, { 0 } },
        { "x-ratelimit-reset-tokens", "6m0s", 0, 0, { 0 } },
        { "x-ratelimit-remaining-requests", "4999", 0, 0, { 0 } },
        { "anthropic-ratelimit-tokens-reset", "1994-11-06T08:49:37Z", 0, 0, { 0 } },
        { "RateLimit", "\"default\";r=50;t=30", 0, 0, { 0 } },
        { "RateLimit-Policy", "\"burst\";q=100;w=60,\"daily\";q=1000;w=86400", 0, 0, { 0 } },
        { "content-type", "application/json", 0, 0, { 0 } },
    };
    const char *labels[] = {
        "Retry-After: 120",
        "Retry-After: IMF-fixdate",
        "x-ratelimit-reset-tokens: 6m0s (OpenAI)",
        "x-ratelimit-remaining-requests: 4999",
        "anthropic-ratelimit-tokens-reset: RFC 3339",
        "RateLimit: \"default\";r=50;t=30",
        "RateLimit-Policy: two policies",
        "content-type (unknown name)",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cases[i].name_len = strlen(cases[i].name);
        cases[i].value_len = strlen(cases[i].value);
        rs_http_feedback_init(&cases[i].feedback);
        bench_run(labels[i], 1, feed_header, &cases[i]);
    }

    bench_section("status classes and the server side");
    int status = 100;
    bench_run("rs_http_classify (statuses cycling 100..599)", 1, classify, &status);
    rs_http_ratelimit rl = { "default", 100, RS_SEC(60), 0, RS_MS(2500) };
    bench_run("rs_http_format_ratelimit", 1, format_ratelimit, &rl);
    return 0;
}
