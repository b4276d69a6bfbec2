/* libresilience-curl, against real servers.
 *
 * Without servers: the default classification, bad arguments. With the
 * servers tools/test starts on 127.0.0.1 (RS_TEST_BACKEND_URL: the scripted
 * backend of tests/http/backend.py; RS_TEST_HTTP_URL: nginx in front of it,
 * limit_req 5 r/s answering 429 + Retry-After: 1) and the api_gateway
 * example (its path is this program's first argument): no retry before a
 * Retry-After, the shared pause honoured by every transfer of an event
 * loop, every rate-limit dialect read back, an advertised rate reaching
 * the policy's adaptive rate, the breaker's trip and recovery, the multi
 * interface's bookkeeping, and the server example's headers read back by
 * rs_http_feedback. Cases that need a server are skipped without one.
 *
 * Only what is deterministic is asserted: the order of events in one
 * thread, lower bounds on waits, and outcomes reached within generous
 * limits. */
#include "support/testing.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "resilience/curl.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

static const char *backend_url; /* NULL without servers */
static const char *nginx_url;
static const char *gateway_path;

#define NEED_SERVERS()                                                                      \
    do {                                                                                    \
        if (backend_url == NULL || nginx_url == NULL) {                                     \
            skip();                                                                         \
        }                                                                                   \
    } while (0)

static size_t discard(char *data, size_t size, size_t count, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * count;
}

static CURL *easy_for(const char *base, const char *path)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *e = curl_easy_init();
    assert_non_null(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    return e;
}

/* POST to one of the backend's control endpoints. */
static void control(const char *path)
{
    CURL *e = easy_for(backend_url, path);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    curl_easy_cleanup(e);
}

/* The backend's request log: arrival times (its CLOCK_MONOTONIC, which this
 * process shares) and statuses, in order. */
typedef struct request_log {
    uint64_t at_ns[256];
    int status[256];
    size_t count;
} request_log;

typedef struct text {
    char data[64 * 1024];
    size_t len;
} text;

static size_t keep(char *data, size_t size, size_t count, void *ctx)
{
    text *t = ctx;
    size_t n = size * count, room = sizeof t->data - 1 - t->len;
    memcpy(t->data + t->len, data, n < room ? n : room);
    t->len += n < room ? n : room;
    t->data[t->len] = '\0';
    return n;
}

static void read_log(request_log *log, const char *path_prefix)
{
    static text body;
    body.len = 0;
    CURL *e = easy_for(backend_url, "/control/log");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    curl_easy_cleanup(e);
    log->count = 0;
    for (char *line = strtok(body.data, "\n"); line != NULL && log->count < 256;
         line = strtok(NULL, "\n")) {
        unsigned long long at;
        int status;
        char path[256];
        if (sscanf(line, "%llu %d %255s", &at, &status, path) == 3 &&
            strncmp(path, path_prefix, strlen(path_prefix)) == 0) {
            log->at_ns[log->count] = at;
            log->status[log->count] = status;
            log->count++;
        }
    }
}

static rs_policy *policy_for(uint32_t attempts, double jitter, bool share_pause)
{
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;
    cfg.retry.max_attempts = attempts;
    cfg.retry.retry_after_jitter = jitter;
    cfg.retry.backoff.base_ns = 10 * MS;
    cfg.retry.backoff.seed = 7;
    cfg.share_server_pause = share_pause;
    cfg.max_limiter_wait_ns = 10 * SEC;
    rs_policy *p = NULL;
    assert_int_equal(rs_policy_new(&cfg, NULL, &p), RS_OK);
    return p;
}

/* ---- without servers ---------------------------------------------------- */

static void default_classification(void **state)
{
    (void)state;
    static const struct {
        CURLcode code;
        long status;
        rs_verdict verdict;
        bool caller_fault;
    } cases[] = {
        { CURLE_OK, 200, RS_SUCCESS, false },
        { CURLE_OK, 204, RS_SUCCESS, false },
        { CURLE_OK, 429, RS_RETRY, true },
        { CURLE_OK, 503, RS_RETRY, false },
        { CURLE_OK, 501, RS_FAIL, false },
        { CURLE_OK, 400, RS_FAIL, true },
        { CURLE_OK, 408, RS_RETRY, false },
        { CURLE_OK, 0, RS_FAIL, false },        /* no status at all */
        { CURLE_OK, 100000, RS_FAIL, false },   /* nonsense */
        { CURLE_COULDNT_CONNECT, 0, RS_RETRY, false },
        { CURLE_COULDNT_RESOLVE_HOST, 0, RS_RETRY, false },
        { CURLE_OPERATION_TIMEDOUT, 0, RS_RETRY, false },
        { CURLE_RECV_ERROR, 0, RS_RETRY, false },
        { CURLE_SEND_ERROR, 0, RS_RETRY, false },
        { CURLE_GOT_NOTHING, 0, RS_RETRY, false },
        { CURLE_PARTIAL_FILE, 0, RS_RETRY, false },
        { CURLE_HTTP2_STREAM, 0, RS_RETRY, false },
        { CURLE_PEER_FAILED_VERIFICATION, 0, RS_FAIL, true }, /* TLS: never retried */
        { CURLE_SSL_CACERT_BADFILE, 0, RS_FAIL, true },
        { CURLE_URL_MALFORMAT, 0, RS_FAIL, true },
        { CURLE_UNSUPPORTED_PROTOCOL, 0, RS_FAIL, true },
        { CURLE_ABORTED_BY_CALLBACK, 0, RS_FAIL, true },
        { CURLE_WRITE_ERROR, 0, RS_FAIL, true },
        { CURLE_OUT_OF_MEMORY, 0, RS_FAIL, true },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        bool fault = !cases[i].caller_fault;
        assert_int_equal(rs_curl_classify(cases[i].code, cases[i].status, &fault),
                         cases[i].verdict);
        assert_int_equal(fault, cases[i].caller_fault);
        assert_int_equal(rs_curl_classify(cases[i].code, cases[i].status, NULL),
                         cases[i].verdict);
    }
}

static void bad_arguments(void **state)
{
    (void)state;
    rs_policy *p = policy_for(1, 0.0, true);
    CURL *e = curl_easy_init();
    rs_call_report r;
    assert_int_equal(rs_curl_perform(NULL, e, NULL, &r), RS_E_INVAL);
    assert_non_null(strstr(rs_last_error(), "p is NULL"));
    assert_int_equal(rs_curl_perform(p, NULL, NULL, &r), RS_E_INVAL);
    rs_curl_multi *m = (rs_curl_multi *)0x1;
    assert_int_equal(rs_curl_multi_new(NULL, &m), RS_E_INVAL);
    assert_ptr_equal(m, (rs_curl_multi *)0x1);
    CURLM *multi = curl_multi_init();
    assert_int_equal(rs_curl_multi_new(multi, &m), RS_OK);
    assert_int_equal(rs_curl_multi_add(m, p, e, NULL, NULL, NULL), RS_E_INVAL);
    assert_int_equal(rs_curl_multi_perform(NULL, NULL), RS_E_INVAL);
    assert_int_equal(rs_curl_multi_timeout_ms(NULL), -1);
    assert_int_equal(rs_curl_multi_timeout_ms(m), -1); /* nothing pending */
    rs_curl_multi_free(m);
    rs_curl_multi_free(NULL);
    curl_multi_cleanup(multi);
    curl_easy_cleanup(e);
    rs_policy_free(p);
}

/* A port nobody listens on: a transport error, retried, then exhausted;
 * the result says what curl said. */
static void refused_connections_are_retried(void **state)
{
    (void)state;
    rs_policy *p = policy_for(3, 0.0, true);
    CURL *e = easy_for("http://127.0.0.1:1", "/");
    rs_curl_result result;
    rs_curl_options opts = RS_CURL_OPTIONS_DEFAULT;
    opts.result = &result;
    rs_call_report r;
    assert_int_equal(rs_curl_perform(p, e, &opts, &r), RS_E_EXHAUSTED);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(result.code, CURLE_COULDNT_CONNECT);
    assert_int_equal(result.http_status, 0);
    assert_int_equal(r.last_error, -(int)CURLE_COULDNT_CONNECT);
    curl_easy_cleanup(e);
    rs_policy_free(p);
}

/* ---- against the servers --------------------------------------------------- */

/* A 503 with Retry-After: 1: the retry comes after the second, never
 * before; the report carries the server's value. */
static void retry_after_is_never_early(void **state)
{
    (void)state;
    NEED_SERVERS();
    control("/control/reset");
    control("/control/outage?seconds=0.5&retry_after=1");
    rs_policy *p = policy_for(3, 0.0, true);
    CURL *e = easy_for(backend_url, "/flaky");
    rs_call_report r;
    assert_int_equal(rs_curl_perform(p, e, NULL, &r), RS_OK);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.retry_after_ns, 1 * SEC);
    request_log log;
    read_log(&log, "/flaky");
    assert_int_equal(log.count, 2);
    assert_int_equal(log.status[0], 503);
    assert_int_equal(log.status[1], 200);
    assert_true(log.at_ns[1] - log.at_ns[0] >= 1 * SEC);
    curl_easy_cleanup(e);
    rs_policy_free(p);
}

/* Every dialect's spent quota reaches the attempt: the feedback holds the
 * numbers sent, and the policy sees a pause or a Retry-After, and the
 * request rate the dialects with a window advertise. */
static void rate_limit_dialects_are_read(void **state)
{
    (void)state;
    NEED_SERVERS();
    static const struct {
        const char *name;
        int64_t limit, remaining; /* requests; -1 = not in this dialect */
        uint64_t least_wait_ns;   /* Retry-After or pause, at least */
        double rate;              /* advertised, requests per second; 0 = none */
    } dialects[] = {
        { "retry-after-seconds", -1, -1, 2 * SEC, 0.0 },
        { "retry-after-date", -1, -1, 1 * SEC, 0.0 }, /* a date 3 s ahead, whole seconds */
        { "retry-after-ms", -1, -1, 1500 * MS, 0.0 },
        { "openai", 60, 0, 1 * SEC, 1.0 },            /* per minute */
        { "anthropic", 50, 0, 1 * SEC, 50.0 / 60 },
        { "ietf", 100, 0, 2 * SEC, 100.0 / 60 },      /* q=100;w=60 */
        { "ietf-old", 100, 0, 2 * SEC, 0.0 },         /* no window */
        { "github", 5000, 0, 1 * SEC, 0.0 },          /* no window */
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(dialects); i++) {
        char path[128];
        snprintf(path, sizeof path, "/dialect/%s?spent=1", dialects[i].name);
        rs_policy *p = policy_for(1, 0.0, false);
        CURL *e = easy_for(backend_url, path);
        rs_curl_result result;
        rs_curl_options opts = RS_CURL_OPTIONS_DEFAULT;
        opts.result = &result;
        rs_call_report r;
        assert_int_equal(rs_curl_perform(p, e, &opts, &r), RS_E_EXHAUSTED);
        assert_int_equal(result.http_status, 429);
        assert_int_equal(result.feedback.limit_requests, dialects[i].limit);
        assert_int_equal(result.feedback.remaining_requests, dialects[i].remaining);
        rs_attempt attempt;
        memset(&attempt, 0, sizeof attempt);
        rs_http_feedback_apply(&result.feedback, &attempt);
        uint64_t wait = attempt.retry_after_ns > attempt.pause_ns ? attempt.retry_after_ns
                                                                  : attempt.pause_ns;
        if (wait < dialects[i].least_wait_ns) {
            fail_msg("%s: waits %llu ns", dialects[i].name, (unsigned long long)wait);
        }
        if (fabs(attempt.advertised_rate - dialects[i].rate) > 1e-9) {
            fail_msg("%s: advertises %g/s", dialects[i].name, attempt.advertised_rate);
        }
        curl_easy_cleanup(e);
        rs_policy_free(p);
    }
}

/* The rate a real server's headers advertise reaches the policy's adaptive
 * rate through rs_curl_perform, with no code of the caller's: it starts at
 * the IETF policy's 100 a minute, then follows OpenAI's 60 a minute (no
 * throttle came in between). */
static void advertised_rate_reaches_the_adaptive_rate(void **state)
{
    (void)state;
    NEED_SERVERS();
    rs_adaptive_rate_config rc = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_adaptive_rate *ar = NULL;
    assert_int_equal(rs_adaptive_rate_new(&rc, NULL, &ar), RS_OK);
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;
    cfg.adaptive_rate = ar;
    cfg.max_limiter_wait_ns = 10 * SEC;
    rs_policy *p = NULL;
    assert_int_equal(rs_policy_new(&cfg, NULL, &p), RS_OK);
    assert_true(rs_adaptive_rate_get(ar) == 0.0);
    static const struct {
        const char *path;
        double rate;
    } steps[] = { { "/dialect/ietf", 100.0 / 60 }, { "/dialect/openai", 1.0 } };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(steps); i++) {
        CURL *e = easy_for(backend_url, steps[i].path);
        rs_call_report r;
        assert_int_equal(rs_curl_perform(p, e, NULL, &r), RS_OK);
        assert_int_equal(r.attempts, 1);
        if (fabs(rs_adaptive_rate_get(ar) - steps[i].rate) > 1e-9) {
            fail_msg("%s: rate %g/s", steps[i].path, rs_adaptive_rate_get(ar));
        }
        curl_easy_cleanup(e);
    }
    rs_policy_free(p);
    rs_adaptive_rate_free(ar);
}

/* ---- the shared pause on an event loop ----------------------------------- */

typedef struct loop_record {
    uint64_t started_ns[256];  /* each attempt's start */
    size_t starts;
    uint64_t refused_ns[256];  /* when each 429 was read */
    uint64_t refused_wait_ns[256];
    size_t refusals;
    int done, succeeded;
} loop_record;

static void note_start(void *ctx, CURL *easy, const rs_attempt *attempt)
{
    (void)easy;
    (void)attempt;
    loop_record *rec = ctx;
    if (rec->starts < 256) {
        rec->started_ns[rec->starts++] = rs_clock_now(NULL);
    }
}

static rs_verdict note_refusal(void *ctx, CURLcode code, long status,
                               const rs_http_feedback *feedback, bool *caller_fault)
{
    loop_record *rec = ctx;
    if (status == 429 && rec->refusals < 256) {
        rec->refused_ns[rec->refusals] = rs_clock_now(NULL);
        rec->refused_wait_ns[rec->refusals++] = feedback->retry_after_ns;
    }
    return rs_curl_classify(code, status, caller_fault);
}

static void note_done(void *ctx, CURL *easy, int status, const rs_call_report *report)
{
    (void)easy;
    (void)report;
    loop_record *rec = ctx;
    rec->done++;
    rec->succeeded += status == RS_OK;
}

/* Eight transfers at once through nginx's 5 r/s: it admits one and answers
 * the others 429 + Retry-After: 1. One thread drives them all, so the
 * order of events is exact: once a 429 is read, no transfer's attempt
 * starts before its Retry-After is over. */
static void shared_pause_holds_every_transfer(void **state)
{
    (void)state;
    NEED_SERVERS();
    enum { TRANSFERS = 8 };
    rs_policy *p = policy_for(4, 0.5, true);
    CURLM *multi = curl_multi_init();
    rs_curl_multi *m = NULL;
    assert_int_equal(rs_curl_multi_new(multi, &m), RS_OK);
    static loop_record rec;
    memset(&rec, 0, sizeof rec);
    CURL *easy[TRANSFERS];
    rs_curl_options opts = RS_CURL_OPTIONS_DEFAULT;
    opts.before_attempt = note_start;
    opts.classify = note_refusal;
    opts.ctx = &rec;
    sleep(1); /* nginx's allowance of earlier tests is spent by now */
    for (int i = 0; i < TRANSFERS; i++) {
        easy[i] = easy_for(nginx_url, "/api/x");
        assert_int_equal(rs_curl_multi_add(m, p, easy[i], &opts, note_done, &rec), RS_OK);
    }
    int running = TRANSFERS;
    uint64_t give_up = rs_clock_now(NULL) + 30 * SEC;
    while (running > 0 && rs_clock_now(NULL) < give_up) {
        assert_int_equal(rs_curl_multi_perform(m, &running), RS_OK);
        long ms = rs_curl_multi_timeout_ms(m);
        (void)curl_multi_poll(multi, NULL, 0, (int)(ms < 0 || ms > 100 ? 100 : ms), NULL);
    }
    assert_int_equal(rec.done, TRANSFERS);
    assert_true(rec.refusals >= 1); /* nginx refused some: the pause was exercised */
    for (size_t r = 0; r < rec.refusals; r++) {
        assert_int_equal(rec.refused_wait_ns[r], 1 * SEC);
        for (size_t s = 0; s < rec.starts; s++) {
            bool inside = rec.started_ns[s] > rec.refused_ns[r] &&
                          rec.started_ns[s] < rec.refused_ns[r] + rec.refused_wait_ns[r];
            if (inside) {
                fail_msg("an attempt started %llu ns after a 429 asked for 1 s",
                         (unsigned long long)(rec.started_ns[s] - rec.refused_ns[r]));
            }
        }
    }
    rs_policy_stats stats;
    rs_policy_stats_get(p, &stats);
    assert_true(stats.server_pauses >= 1);
    rs_curl_multi_free(m);
    for (int i = 0; i < TRANSFERS; i++) {
        curl_easy_cleanup(easy[i]);
    }
    curl_multi_cleanup(multi);
    rs_policy_free(p);
}

/* ---- the breaker against an outage -------------------------------------- */

/* The backend fails for 1.5 s: the breaker opens after 3 failures and the
 * calls fail fast without reaching it; once it is back, probes close the
 * breaker and calls succeed again. */
static void breaker_trips_and_recovers(void **state)
{
    (void)state;
    NEED_SERVERS();
    control("/control/reset");
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    bc.failure_threshold = 3;
    bc.open_ns = 300 * MS;
    bc.half_open_max_calls = 1;
    bc.success_threshold = 1;
    rs_breaker *b = NULL;
    assert_int_equal(rs_breaker_new(&bc, NULL, &b), RS_OK);
    rs_policy_config cfg = RS_POLICY_CONFIG_DEFAULT;
    cfg.retry.max_attempts = 1;
    cfg.breaker = b;
    rs_policy *p = NULL;
    assert_int_equal(rs_policy_new(&cfg, NULL, &p), RS_OK);
    CURL *e = easy_for(backend_url, "/flaky");
    control("/control/outage?seconds=1.5");
    int calls = 0, open = 0, recovered = 0;
    uint64_t give_up = rs_clock_now(NULL) + 20 * SEC;
    while (recovered < 3 && rs_clock_now(NULL) < give_up) {
        int rc = rs_curl_perform(p, e, NULL, NULL);
        calls++;
        open += rc == RS_E_OPEN;
        recovered = rc == RS_OK ? recovered + 1 : 0;
        usleep(20000);
    }
    assert_int_equal(recovered, 3);
    assert_true(open > 0);
    assert_int_equal(rs_breaker_state_get(b), RS_BREAKER_CLOSED);
    request_log log;
    read_log(&log, "/flaky");
    /* Calls the open breaker refused never reached the backend. */
    assert_int_equal(log.count, (size_t)(calls - open));
    control("/control/reset");
    curl_easy_cleanup(e);
    rs_policy_free(p);
    rs_breaker_free(b);
}

/* ---- the server example's headers --------------------------------------- */

typedef struct gateway {
    pid_t pid;
    char url[64];
} gateway;

static gateway start_gateway(void)
{
    gateway g = { 0 };
    int out[2];
    assert_int_equal(pipe(out), 0);
    g.pid = fork();
    assert_true(g.pid >= 0);
    if (g.pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        execl(gateway_path, gateway_path, "0", "30", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[128] = { 0 };
    FILE *f = fdopen(out[0], "r");
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    unsigned port = 0;
    assert_int_equal(sscanf(line, "api_gateway: listening on 127.0.0.1:%u", &port), 1);
    snprintf(g.url, sizeof g.url, "http://127.0.0.1:%u", port);
    return g;
}

static void stop_gateway(gateway *g)
{
    kill(g->pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(g->pid, &status, 0), g->pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The gateway allows a burst of 5 per key: five answers count the
 * remaining quota down in RateLimit, the sixth is a 429 whose Retry-After
 * and RateLimit rs_http_feedback reads back; another key is not affected. */
static void gateway_headers_read_back(void **state)
{
    (void)state;
    if (gateway_path == NULL) {
        skip();
    }
    gateway g = start_gateway();
    rs_policy *p = policy_for(1, 0.0, false);
    struct curl_slist *alice = curl_slist_append(NULL, "X-API-Key: alice");
    struct curl_slist *bob = curl_slist_append(NULL, "X-API-Key: bob");
    CURL *e = easy_for(g.url, "/v1/anything");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, alice);
    rs_curl_result result;
    rs_curl_options opts = RS_CURL_OPTIONS_DEFAULT;
    opts.result = &result;
    for (int64_t left = 4; left >= 0; left--) {
        assert_int_equal(rs_curl_perform(p, e, &opts, NULL), RS_OK);
        assert_int_equal(result.http_status, 200);
        assert_int_equal(result.feedback.remaining_requests, left);
        assert_int_equal(result.feedback.limit_requests, 5);
    }
    assert_int_equal(rs_curl_perform(p, e, &opts, NULL), RS_E_EXHAUSTED);
    assert_int_equal(result.http_status, 429);
    assert_int_equal(result.feedback.remaining_requests, 0);
    assert_true(result.feedback.retry_after_ns >= 1 * SEC); /* 0.5 s rounded up */
    assert_true(rs_http_feedback_pause_ns(&result.feedback) >= 1 * SEC);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, bob);
    assert_int_equal(rs_curl_perform(p, e, &opts, NULL), RS_OK);
    assert_int_equal(result.feedback.remaining_requests, 4);
    curl_easy_cleanup(e);
    curl_slist_free_all(alice);
    curl_slist_free_all(bob);
    rs_policy_free(p);
    stop_gateway(&g);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    backend_url = getenv("RS_TEST_BACKEND_URL");
    nginx_url = getenv("RS_TEST_HTTP_URL");
    if (backend_url != NULL && backend_url[0] == '\0') {
        backend_url = NULL;
    }
    if (nginx_url != NULL && nginx_url[0] == '\0') {
        nginx_url = NULL;
    }
    gateway_path = argc > 1 ? argv[1] : NULL;
    if (backend_url == NULL || nginx_url == NULL) {
        printf("# RS_TEST_BACKEND_URL / RS_TEST_HTTP_URL not set: the cases that need "
               "servers are skipped\n");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_classification),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(refused_connections_are_retried),
        cmocka_unit_test(retry_after_is_never_early),
        cmocka_unit_test(rate_limit_dialects_are_read),
        cmocka_unit_test(advertised_rate_reaches_the_adaptive_rate),
        cmocka_unit_test(shared_pause_holds_every_transfer),
        cmocka_unit_test(breaker_trips_and_recovers),
        cmocka_unit_test(gateway_headers_read_back),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
