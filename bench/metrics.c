/* What reading metrics costs: every snapshot of a client (its policy and
 * every module it owns), the policy's alone, an exposition written into a
 * buffer; and what an event hook costs a call that fires one. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "resilience.h"

static rs_verdict do_nothing(void *ctx, rs_attempt *a)
{
    (void)ctx;
    a->tokens_used = 1;
    return RS_SUCCESS;
}

static void policy_metrics(void *ctx)
{
    rs_policy_snapshot m;
    bench_check(rs_policy_metrics(ctx, &m), "rs_policy_metrics");
    bench_consume(m.calls);
}

/* Every metric of a client: the snapshot of each object. */
static void client_metrics(void *ctx)
{
    rs_client *c = ctx;
    rs_policy_snapshot p;
    rs_token_bucket_snapshot tb;
    rs_sliding_window_snapshot w;
    rs_breaker_snapshot b;
    rs_budget_snapshot u;
    bench_check(rs_policy_metrics(rs_client_policy(c), &p), "rs_policy_metrics");
    bench_check(rs_token_bucket_metrics(rs_client_bucket(c), &tb), "rs_token_bucket_metrics");
    bench_check(rs_sliding_window_metrics(rs_client_window(c), &w), "rs_sliding_window_metrics");
    bench_check(rs_breaker_metrics(rs_client_breaker(c), &b), "rs_breaker_metrics");
    bench_check(rs_budget_metrics(rs_client_budget(c), &u), "rs_budget_metrics");
    bench_consume(p.calls + tb.granted + w.admitted + b.rejected + u.granted);
}

typedef struct exposition {
    rs_exporter *exporter;
    rs_metrics_format format;
    char text[32768];
} exposition;

static void write_exposition(void *ctx)
{
    exposition *x = ctx;
    size_t needed;
    bench_check(rs_exporter_write_buffer(x->exporter, x->format, x->text, sizeof x->text,
                                         &needed),
                "rs_exporter_write_buffer");
    bench_consume(needed);
}

static void count_event(void *ctx, const rs_event *e)
{
    (void)e;
    ++*(uint64_t *)ctx;
}

static void refused_call(void *ctx)
{
    bench_consume((uint64_t)rs_call(ctx, do_nothing, NULL));
}

int main(void)
{
    bench_baselines(2);

    /* A client with every module, busy enough that its counters are not 0. */
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    rs_budget_config uc = RS_BUDGET_CONFIG_DEFAULT;
    uc.max_per_window = UINT64_MAX / 4;
    uc.max_per_request = 1000;
    rs_client_config cc = RS_CLIENT_CONFIG_DEFAULT;
    cc.requests_per_second = 1e9;
    cc.burst = UINT64_C(1) << 40;
    cc.requests_per_minute = 1000;
    cc.breaker = &bc;
    cc.budget = &uc;
    cc.token_estimate = 10;
    cc.retry.backoff.seed = 1;
    rs_client *client;
    bench_check(rs_client_new(&cc, NULL, &client), "rs_client_new");
    for (int i = 0; i < 1000; i++) {
        (void)rs_client_call(client, do_nothing, NULL);
    }

    bench_section("reading metrics");
    bench_run("rs_policy_metrics (the policy's snapshot)", 1, policy_metrics,
              rs_client_policy(client));
    bench_run("every snapshot of a client (policy and 4 modules)", 1, client_metrics, client);

    static exposition x;
    bench_check(rs_exporter_new(NULL, &x.exporter), "rs_exporter_new");
    bench_check(rs_exporter_add_client(x.exporter, "api", client), "rs_exporter_add_client");
    x.format = RS_METRICS_PROMETHEUS;
    size_t bytes = 0;
    (void)rs_exporter_write_buffer(x.exporter, x.format, NULL, 0, &bytes);
    printf("  (a client's exposition: %zu bytes)\n", bytes);
    bench_run("exposition of a client, Prometheus text, into a buffer", 1, write_exposition, &x);
    x.format = RS_METRICS_OPENMETRICS;
    bench_run("exposition of a client, OpenMetrics, into a buffer", 1, write_exposition, &x);

    /* A call refused by its limit fires one event: with and without a hook. */
    rs_sliding_window_config wc = { 1, RS_SEC(3600), RS_WINDOW_COUNTER };
    rs_sliding_window *spent;
    bench_check(rs_sliding_window_new(&wc, NULL, &spent), "rs_sliding_window_new");
    (void)rs_sliding_window_try_acquire(spent, 1);
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.limits[0] = (rs_limit){ rs_sliding_window_limiter(spent), RS_UNITS_REQUESTS };
    pc.max_limiter_wait_ns = 0;
    pc.retry.backoff.seed = 1;
    rs_policy *quiet, *heard;
    bench_check(rs_policy_new(&pc, NULL, &quiet), "rs_policy_new");
    static uint64_t events;
    pc.events = (rs_event_hook){ count_event, &events };
    bench_check(rs_policy_new(&pc, NULL, &heard), "rs_policy_new");
    bench_section("a refused call (one event)");
    bench_run("no event hook", 1, refused_call, quiet);
    bench_run("an event hook that counts", 1, refused_call, heard);

    rs_policy_free(heard);
    rs_policy_free(quiet);
    rs_sliding_window_free(spent);
    rs_exporter_free(x.exporter);
    rs_client_free(client);
    return 0;
}
