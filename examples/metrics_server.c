/* Serves the library's metrics over HTTP for Prometheus to scrape.
 *
 * A client (a token bucket, a sliding window, a breaker and a token budget
 * of its own) calls a flaky simulated service from a background thread.
 * An exporter holds the client, and libmicrohttpd answers GET /metrics with
 * the exposition: OpenMetrics when the scraper asks for it (Accept:
 * application/openmetrics-text, as Prometheus does), the Prometheus text
 * format otherwise. One event hook hears the client and its breaker; it
 * logs each state change and counts every event by kind, and those counts
 * are exported too, through a metric source of this program's own.
 *
 *     metrics_server PORT [SECONDS]
 *
 * PORT 0 picks a free one (printed on the first line). It serves for
 * SECONDS (0 or none = until SIGINT or SIGTERM), and before it stops it
 * scrapes itself once and checks the answer, so the test suite can run it
 * for a second. Point Prometheus at it with the scrape configuration of
 * docs/observability.md. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <resilience.h>

static volatile sig_atomic_t stopping; /* by a signal, for the main thread */
static void on_signal(int sig) { (void)sig; stopping = 1; }
static atomic_bool done; /* for the worker thread */

/* ---- the work the metrics describe ---------------------------------------- */

typedef struct service {
    unsigned calls; /* the worker's own, to vary the answers */
} service;

/* One attempt at a simulated remote call: mostly fine, now and then a 503
 * or a 429 that asks for a short pause, and a long outage every 30 s. */
static rs_verdict call_service(void *ctx, rs_attempt *a)
{
    service *s = ctx;
    unsigned n = ++s->calls;
    a->tokens_used = 40 + n % 30;
    if ((n / 500) % 6 == 5) { /* an outage: 500 calls in every 3000 fail */
        return RS_RETRY;
    }
    if (n % 17 == 0) {
        a->caller_fault = true;        /* 429: over our quota */
        a->retry_after_ns = RS_MS(50); /* Retry-After: 0.05 */
        return RS_RETRY;
    }
    return n % 9 == 0 ? RS_RETRY : RS_SUCCESS;
}

static void *work(void *arg)
{
    rs_client *client = arg;
    service s = { 0 };
    while (!atomic_load(&done)) {
        (void)rs_client_call(client, call_service, &s);
        usleep(2000);
    }
    return NULL;
}

/* ---- the event hook, and its counts as metrics of our own ---------------------- */

#define EVENT_KINDS 7 /* RS_EVENT_STATE_CHANGE (1) .. RS_EVENT_GIVE_UP (7) */

typedef struct event_counts {
    _Atomic unsigned long long by_kind[EVENT_KINDS];
} event_counts;

/* Runs on the calling thread with no library lock held: atomics only. */
static void on_event(void *ctx, const rs_event *e)
{
    event_counts *counts = ctx;
    if (e->kind >= 1 && e->kind <= EVENT_KINDS) {
        atomic_fetch_add(&counts->by_kind[e->kind - 1], 1);
    }
    if (e->kind == RS_EVENT_STATE_CHANGE) {
        printf("%s %s: %s -> %s\n", rs_event_source_name(e->source), e->name,
               rs_breaker_state_name(e->from), rs_breaker_state_name(e->to));
        fflush(stdout);
    }
}

static const char *const event_kind_labels[] = {
    "state_change", "retry", "call_refused", "budget_refused", "server_pause", "fallback",
    "give_up", NULL,
};

static const rs_metric_desc event_metrics[] = {
    { "example_events_total", "Events the client's hook heard, by kind.", RS_METRIC_COUNTER,
      "kind", event_kind_labels },
};

static int collect_events(void *object, double *values, size_t count)
{
    event_counts *counts = object;
    for (size_t i = 0; i < count && i < EVENT_KINDS; i++) {
        values[i] = (double)atomic_load(&counts->by_kind[i]);
    }
    return RS_OK;
}

static const rs_metrics_source event_source = { "example_events", event_metrics, 1,
                                                collect_events };

/* ---- HTTP ------------------------------------------------------------------------ */

/* The exposition in a buffer of malloc: asks the size, then writes (again
 * if the counters grew meanwhile). */
static char *exposition(rs_exporter *e, rs_metrics_format format, size_t *len)
{
    size_t needed = 0;
    (void)rs_exporter_write_buffer(e, format, NULL, 0, &needed);
    for (;;) {
        size_t size = needed + 256;
        char *buf = malloc(size);
        if (buf == NULL) {
            return NULL;
        }
        int rc = rs_exporter_write_buffer(e, format, buf, size, &needed);
        if (rc == RS_OK) {
            *len = needed - 1;
            return buf;
        }
        free(buf);
        if (rc != RS_E_NOMEM) {
            return NULL;
        }
    }
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **state)
{
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)state;
    rs_exporter *e = cls;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
        static const char not_found[] = "not found: try GET /metrics\n";
        struct MHD_Response *r = MHD_create_response_from_buffer(
            sizeof not_found - 1, (void *)not_found, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result result = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, r);
        MHD_destroy_response(r);
        return result;
    }
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
    rs_metrics_format format = accept != NULL &&
                                       strstr(accept, "application/openmetrics-text") != NULL
                                   ? RS_METRICS_OPENMETRICS
                                   : RS_METRICS_PROMETHEUS;
    size_t len = 0;
    char *body = exposition(e, format, &len);
    if (body == NULL) {
        return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    (void)MHD_add_response_header(r, "Content-Type", rs_metrics_content_type(format));
    enum MHD_Result result = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return result;
}

/* GET /metrics from ourselves over a plain socket; true when the answer is
 * a 200 with the client's call counter in it. */
static bool scrape_self(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const char request[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    bool ok = connect(fd, (struct sockaddr *)&to, sizeof to) == 0 &&
              write(fd, request, sizeof request - 1) == (ssize_t)(sizeof request - 1);
    static char reply[1 << 18];
    size_t got = 0;
    while (ok && got < sizeof reply - 1) {
        ssize_t n = read(fd, reply + got, sizeof reply - 1 - got);
        if (n > 0) {
            got += (size_t)n;
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    close(fd);
    reply[got] = '\0';
    return ok && strncmp(reply, "HTTP/1.", 7) == 0 && strncmp(reply + 8, " 200", 4) == 0 &&
           strstr(reply, "resilience_policy_calls_total{name=\"demo\",outcome=\"success\"}") != NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [SECONDS]\n", argv[0]);
        return 2;
    }
    unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
    unsigned seconds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 0;

    /* The client, its events to one hook (its breaker's too). */
    static event_counts counts;
    rs_breaker_config breaker = RS_BREAKER_CONFIG_DEFAULT;
    rs_budget_config budget = RS_BUDGET_CONFIG_DEFAULT;
    budget.max_per_window = 2000000; /* tokens per hour */
    budget.max_per_request = 1000;
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.requests_per_second = 400;
    cfg.requests_per_minute = 20000;
    cfg.breaker = &breaker;
    cfg.budget = &budget;
    cfg.token_estimate = 60;
    cfg.max_limiter_wait_ns = RS_MS(20);
    cfg.events = (rs_event_hook){ on_event, &counts };
    cfg.name = "demo";
    rs_client *client = NULL;
    rs_exporter *exporter = NULL;
    if (rs_client_new(&cfg, NULL, &client) != RS_OK ||
        rs_exporter_new(NULL, &exporter) != RS_OK ||
        rs_exporter_add_client(exporter, "demo", client) != RS_OK ||
        rs_exporter_add(exporter, "demo", &event_source, &counts) != RS_OK) {
        fprintf(stderr, "metrics_server: %s\n", rs_last_error());
        return 1;
    }

    struct sockaddr_in bind_to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    bind_to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                            0, NULL, NULL, answer, exporter,
                                            MHD_OPTION_SOCK_ADDR, &bind_to, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "metrics_server: cannot listen on 127.0.0.1:%u\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    port = info != NULL ? info->port : port;
    printf("metrics_server: serving http://127.0.0.1:%u/metrics\n", port);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    pthread_t worker;
    if (pthread_create(&worker, NULL, work, client) != 0) {
        fprintf(stderr, "metrics_server: cannot start the worker\n");
        return 1;
    }
    for (unsigned waited = 0; !stopping && (seconds == 0 || waited < seconds * 10); waited++) {
        usleep(100000);
    }
    bool scraped = scrape_self(port);
    atomic_store(&done, true);
    pthread_join(worker, NULL);
    MHD_stop_daemon(d);
    rs_exporter_free(exporter);
    rs_client_free(client);
    if (!scraped) {
        fprintf(stderr, "metrics_server: scraping itself failed\n");
        return 1;
    }
    return 0;
}
