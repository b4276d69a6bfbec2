/* Writes the exposition of one object of every kind the exporter knows,
 * with some traffic behind each, in both formats, for tools/test's metrics
 * stage to check with promtool (Prometheus text) and the prometheus_client
 * OpenMetrics parser:
 *
 *     metrics_exposition OUT.prom OUT.om
 *
 * Object names hold the characters the formats must escape. With
 * libresilience-redis it adds a pool and its objects too, against a port
 * nobody listens on (their failure policies answer; no server needed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <resilience.h>
#ifdef HAVE_REDIS
#include <resilience/redis.h>
#endif

#define CHECK(call)                                                                         \
    do {                                                                                    \
        if ((call) != RS_OK) {                                                              \
            fprintf(stderr, "metrics_exposition: %s failed: %s\n", #call, rs_last_error()); \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

static rs_verdict flaky(void *ctx, rs_attempt *a)
{
    unsigned *calls = ctx;
    a->tokens_used = 12;
    ++*calls;
    if (*calls % 7 == 0) {
        a->caller_fault = true;
        a->retry_after_ns = RS_MS(100);
        return RS_RETRY;
    }
    return *calls % 3 == 0 ? RS_RETRY : *calls % 11 == 0 ? RS_FAIL : RS_SUCCESS;
}

static bool serve_fallback(void *ctx, void *call_ctx, const rs_call_report *report)
{
    (void)ctx;
    (void)call_ctx;
    return report->reason == RS_STOP_BULKHEAD;
}

static int create_nothing(void *ctx, const void *key, size_t len, void **value)
{
    (void)ctx;
    (void)key;
    (void)len;
    *value = NULL;
    return RS_OK;
}

/* The buffer form, with room for counters that grow between the size
 * query and the write. */
static void write_file(rs_exporter *e, rs_metrics_format format, const char *path)
{
    size_t needed = 0;
    (void)rs_exporter_write_buffer(e, format, NULL, 0, &needed);
    char *text = NULL;
    int rc = RS_E_NOMEM;
    while (rc == RS_E_NOMEM) {
        free(text);
        size_t size = needed + 256;
        text = malloc(size);
        if (text == NULL) {
            exit(1);
        }
        rc = rs_exporter_write_buffer(e, format, text, size, &needed);
    }
    CHECK(rc);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
        fprintf(stderr, "metrics_exposition: cannot write %s\n", path);
        exit(1);
    }
    free(text);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s OUT.prom OUT.om\n", argv[0]);
        return 2;
    }
    rs_manual_clock m;
    rs_manual_clock_init(&m, RS_SEC(100));
    const rs_clock *clock = rs_manual_clock_get(&m);
    rs_exporter *e = NULL;
    CHECK(rs_exporter_new(NULL, &e));

    /* A client: its policy, buckets, window, breaker and budget. */
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    bc.failure_threshold = 3;
    rs_budget_config budget = RS_BUDGET_CONFIG_DEFAULT;
    rs_client_config cc = RS_CLIENT_CONFIG_DEFAULT;
    cc.requests_per_second = 50;
    cc.tokens_per_second = 1000;
    cc.requests_per_minute = 600;
    cc.breaker = &bc;
    cc.budget = &budget;
    cc.token_estimate = 20;
    cc.retry.backoff.seed = 3;
    rs_client *client = NULL;
    CHECK(rs_client_new(&cc, clock, &client));
    unsigned calls = 0;
    for (int i = 0; i < 200; i++) {
        (void)rs_client_call(client, flaky, &calls);
        rs_manual_clock_advance(&m, RS_MS(7));
    }
    CHECK(rs_exporter_add_client(e, "openai \"gpt\"\\prod\nus", client));

    /* A client with a bulkhead, a concurrency limit, an adaptive rate and a
     * fallback: their families, and the policy's rejected_bulkhead and
     * fallbacks. */
    rs_bulkhead_config hc = { 2, 0 };
    rs_adaptive_limit_config lc = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    lc.initial_limit = 2;
    lc.window_samples = 4;
    rs_adaptive_rate_config ac = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_client_config ec = RS_CLIENT_CONFIG_DEFAULT;
    ec.bulkhead = &hc;
    ec.concurrency_limit = &lc;
    ec.adaptive_rate = &ac;
    ec.fallback = serve_fallback;
    ec.retry.backoff.seed = 5;
    rs_client *adaptive = NULL;
    CHECK(rs_client_new(&ec, clock, &adaptive));
    for (int i = 0; i < 60; i++) {
        (void)rs_client_call(adaptive, flaky, &calls);
        rs_manual_clock_advance(&m, RS_MS(3));
    }
    rs_bulkhead *held = rs_client_bulkhead(adaptive);
    while (rs_bulkhead_try_enter(held)) {
    }
    (void)rs_client_call(adaptive, flaky, &calls); /* refused: the fallback answers */
    rs_bulkhead_set_adaptive(held, NULL);
    while (rs_bulkhead_in_flight(held) > 0) {
        rs_bulkhead_leave(held);
    }
    CHECK(rs_exporter_add_client(e, "adaptive", adaptive));

    /* A bulkhead of its own, with a queue: every outcome. */
    rs_bulkhead_config pc = { 1, 2 };
    rs_bulkhead *pool = NULL;
    CHECK(rs_bulkhead_new(&pc, clock, &pool));
    rs_bulkhead_ticket *first = NULL, *second = NULL, *third = NULL;
    (void)rs_bulkhead_try_enter(pool);
    (void)rs_bulkhead_try_enter(pool);
    CHECK(rs_bulkhead_enter_async(pool, NULL, NULL, &first));
    CHECK(rs_bulkhead_enter_async(pool, NULL, NULL, &second));
    (void)rs_bulkhead_enter_async(pool, NULL, NULL, &third);
    rs_manual_clock_advance(&m, RS_MS(120));
    rs_bulkhead_ticket_cancel(pool, first);
    CHECK(rs_exporter_add_bulkhead(e, "pool", pool));

    /* A breaker forced open, a counter window, a registry, a budget registry. */
    rs_breaker *forced = NULL;
    CHECK(rs_breaker_new(&bc, clock, &forced));
    rs_breaker_force(forced, RS_BREAKER_FORCED_OPEN);
    rs_permit p;
    (void)rs_breaker_allow(forced, &p);
    CHECK(rs_exporter_add_breaker(e, "db", forced));
    rs_sliding_window_config wc = { 10, RS_SEC(1), RS_WINDOW_COUNTER };
    rs_sliding_window *w = NULL;
    CHECK(rs_sliding_window_new(&wc, clock, &w));
    for (int i = 0; i < 12; i++) {
        (void)rs_sliding_window_try_acquire(w, 1);
    }
    CHECK(rs_exporter_add_sliding_window(e, "search", w));
    rs_registry_config rc = RS_REGISTRY_CONFIG_DEFAULT;
    rc.create = create_nothing;
    rc.max_keys = 2;
    rs_registry *reg = NULL;
    CHECK(rs_registry_new(&rc, &reg));
    for (int i = 0; i < 5; i++) {
        rs_registry_entry *entry = NULL;
        CHECK(rs_registry_get(reg, &"abcde"[i % 3], 1, &entry));
        rs_registry_release(reg, entry);
    }
    CHECK(rs_exporter_add_registry(e, "hosts", reg));
    rs_budget_registry *users = NULL;
    CHECK(rs_budget_registry_new(&budget, 100, clock, &users));
    rs_budget *alice = rs_budget_registry_get(users, "alice", 5);
    rs_budget_registry_release(users, alice);
    CHECK(rs_exporter_add_budget_registry(e, "users", users));

    /* Shared-memory limiters, in a directory of our own. */
    char dir[] = "/tmp/rs-exposition-XXXXXX", bucket_path[64], window_path[64];
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    snprintf(bucket_path, sizeof bucket_path, "%s/bucket", dir);
    snprintf(window_path, sizeof window_path, "%s/window", dir);
    rs_token_bucket_config tc = { 100, 10 };
    rs_shm_token_bucket *stb = NULL;
    CHECK(rs_shm_token_bucket_open(bucket_path, &tc, RS_SHM_CREATE, &stb));
    (void)rs_shm_token_bucket_try_acquire(stb, 4);
    CHECK(rs_exporter_add_shm_token_bucket(e, "workers", stb));
    rs_shm_sliding_window *ssw = NULL;
    CHECK(rs_shm_sliding_window_open(window_path, &wc, RS_SHM_CREATE, &ssw));
    (void)rs_shm_sliding_window_try_acquire(ssw, 3);
    CHECK(rs_exporter_add_shm_sliding_window(e, "workers", ssw));

#ifdef HAVE_REDIS
    rs_redis_config redis_cfg = RS_REDIS_CONFIG_DEFAULT;
    redis_cfg.url = "redis://127.0.0.1:1";
    rs_redis *redis = NULL;
    CHECK(rs_redis_new(&redis_cfg, NULL, &redis));
    rs_redis_token_bucket_config rtc = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
    rtc.redis = redis;
    rtc.name = "exposition";
    rtc.on_failure = RS_REDIS_FAIL_OPEN;
    rtc.lease.instances = 4; /* the lease families too */
    rs_redis_token_bucket *rtb = NULL;
    CHECK(rs_redis_token_bucket_new(&rtc, NULL, &rtb));
    for (int i = 0; i < 3; i++) {
        (void)rs_redis_token_bucket_try_acquire(rtb, 1);
    }
    rs_redis_breaker_state_config rsc = RS_REDIS_BREAKER_STATE_CONFIG_DEFAULT;
    rsc.redis = redis;
    rsc.name = "exposition";
    rs_redis_breaker_state *flag = NULL;
    CHECK(rs_redis_breaker_state_new(&rsc, NULL, &flag));
    (void)rs_redis_breaker_state_check(flag, NULL);
    CHECK(rs_exporter_add_redis(e, "cache", redis));
    CHECK(rs_exporter_add_redis_token_bucket(e, "quota", rtb));
    CHECK(rs_exporter_add_redis_breaker_state(e, "db", flag));
#endif

    write_file(e, RS_METRICS_PROMETHEUS, argv[1]);
    write_file(e, RS_METRICS_OPENMETRICS, argv[2]);

    rs_exporter_free(e);
#ifdef HAVE_REDIS
    rs_redis_breaker_state_free(flag);
    rs_redis_token_bucket_free(rtb);
    rs_redis_free(redis);
#endif
    rs_shm_token_bucket_close(stb);
    rs_shm_sliding_window_close(ssw);
    (void)rs_shm_unlink(bucket_path);
    (void)rs_shm_unlink(window_path);
    (void)rmdir(dir);
    rs_budget_registry_free(users);
    rs_registry_free(reg);
    rs_sliding_window_free(w);
    rs_breaker_free(forced);
    rs_bulkhead_ticket_cancel(pool, second);
    rs_bulkhead_leave(pool);
    rs_bulkhead_free(pool);
    rs_client_free(adaptive);
    rs_client_free(client);
    return 0;
}
