/* docs/observability.md's code, compiled and run by the test suite on a
 * manual clock: one hook for a policy and its breaker, the snapshots, an
 * exporter writing Prometheus text, and a metric source of our own. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <resilience.h>

/* snippet: hook */
static void log_event(void *ctx, const rs_event *e)
{
    FILE *log = ctx;
    switch (e->kind) {
    case RS_EVENT_STATE_CHANGE:
        fprintf(log, "%s %s: %s -> %s\n", rs_event_source_name(e->source), e->name,
                rs_breaker_state_name(e->from), rs_breaker_state_name(e->to));
        break;
    case RS_EVENT_RETRY:
        fprintf(log, "%s: attempt %u failed, retry in %llu ms\n", e->name, e->attempt,
                (unsigned long long)(e->wait_ns / 1000000));
        break;
    case RS_EVENT_CALL_REFUSED:
    case RS_EVENT_BUDGET_REFUSED:
    case RS_EVENT_GIVE_UP:
        fprintf(log, "%s: %s (%s)\n", e->name, rs_event_kind_name(e->kind),
                rs_stop_reason_name(e->reason));
        break;
    default:
        break;
    }
}
/* end snippet */

static rs_verdict failing(void *ctx, rs_attempt *a)
{
    (void)ctx;
    (void)a;
    return RS_RETRY; /* a 503, say */
}

/* snippet: source */
/* A counter of our own, exported beside the library's: one family, one
 * sample per object. */
static const rs_metric_desc cache_metrics[] = {
    { "cache_hits_total", "Answers served from the cache.", RS_METRIC_COUNTER, NULL, NULL },
};

static int collect_cache(void *object, double *values, size_t count)
{
    (void)count; /* 1: one family, no label */
    values[0] = (double)atomic_load((_Atomic unsigned long *)object);
    return RS_OK;
}

static const rs_metrics_source cache_source = { "cache", cache_metrics, 1, collect_cache };
/* end snippet */

static int to_file(void *ctx, const char *data, size_t len)
{
    return fwrite(data, 1, len, ctx) == len ? 0 : -1;
}

int main(void)
{
    rs_manual_clock manual;
    rs_manual_clock_init(&manual, 0);
    const rs_clock *clock = rs_manual_clock_get(&manual);
    char *logged = NULL;
    size_t logged_size = 0;
    FILE *log = open_memstream(&logged, &logged_size);
    if (log == NULL) {
        return 1;
    }

    /* snippet: route */
    rs_event_hook hook = { log_event, log };

    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    bc.failure_threshold = 3;
    bc.name = "payments-db";
    bc.events = hook;                 /* the breaker's state changes */
    rs_breaker *breaker;
    if (rs_breaker_new(&bc, clock, &breaker) != RS_OK) {
        fprintf(stderr, "rs_breaker_new: %s\n", rs_last_error());
        return 1;
    }
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.breaker = breaker;
    pc.name = "payments";
    pc.events = hook;                 /* the policy's retries, refusals, give-ups */
    rs_policy *policy;
    if (rs_policy_new(&pc, clock, &policy) != RS_OK) {
        fprintf(stderr, "rs_policy_new: %s\n", rs_last_error());
        return 1;
    }
    /* end snippet */

    /* Three failed attempts open the breaker; the next call fails fast. */
    (void)rs_call(policy, failing, NULL);
    (void)rs_call(policy, failing, NULL);

    /* snippet: snapshot */
    rs_breaker_snapshot b;
    rs_policy_snapshot p;
    rs_breaker_metrics(breaker, &b);
    rs_policy_metrics(policy, &p);
    printf("breaker %s, %llu calls refused; policy: %llu calls, %llu refused by the breaker\n",
           rs_breaker_state_name(b.state), (unsigned long long)b.rejected,
           (unsigned long long)p.calls, (unsigned long long)p.rejected_breaker);
    /* end snippet */
    fclose(log);
    bool heard = strstr(logged, "breaker payments-db: CLOSED -> OPEN\n") != NULL &&
                 strstr(logged, "payments: RS_EVENT_GIVE_UP (RS_STOP_EXHAUSTED)\n") != NULL &&
                 strstr(logged, "payments: RS_EVENT_CALL_REFUSED (RS_STOP_BREAKER)\n") != NULL;
    free(logged);
    if (!heard || b.state != RS_BREAKER_OPEN || b.rejected != p.rejected_breaker ||
        p.rejected_breaker != 1) {
        fprintf(stderr, "observability: unexpected events or counts\n");
        return 1;
    }

    static _Atomic unsigned long cache_hits = 5;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL) {
        return 1;
    }
    /* snippet: exporter */
    rs_exporter *exporter;
    if (rs_exporter_new(NULL, &exporter) != RS_OK ||
        rs_exporter_add_policy(exporter, "payments", policy) != RS_OK ||
        rs_exporter_add_breaker(exporter, "payments", breaker) != RS_OK ||
        rs_exporter_add(exporter, "payments", &cache_source, &cache_hits) != RS_OK) {
        fprintf(stderr, "exporter: %s\n", rs_last_error());
        return 1;
    }
    /* on each scrape: */
    if (rs_exporter_write(exporter, RS_METRICS_PROMETHEUS, to_file, out) != RS_OK) {
        fprintf(stderr, "the scrape's connection failed\n");
    }
    /* end snippet */
    fclose(out);
    bool ok = strstr(text, "resilience_breaker_state{name=\"payments\",state=\"open\"} 1\n") &&
              strstr(text, "resilience_breaker_not_permitted_calls_total{name=\"payments\"} 1\n") &&
              strstr(text, "resilience_cache_hits_total{name=\"payments\"} 5\n");
    free(text);
    rs_exporter_free(exporter);
    rs_policy_free(policy);
    rs_breaker_free(breaker);
    if (!ok) {
        fprintf(stderr, "observability: the exposition lacks a line\n");
        return 1;
    }
    return 0;
}
