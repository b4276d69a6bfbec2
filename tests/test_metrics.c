/* The exporter: exact Prometheus and OpenMetrics text (golden), escaping of
 * label values and HELP text, values, families shared between objects and
 * kinds, the buffer and callback forms, adding and removing objects, every
 * refusal, allocation failure, and every module's families. */
#include "support/fault_alloc.h"
#include "support/testing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resilience.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

/* ---- helpers ------------------------------------------------------------------ */

/* The whole exposition as a malloc'd string (the buffer form). */
static char *expose(rs_exporter *e, rs_metrics_format format)
{
    size_t needed = 0; /* no room: not even the NUL fits */
    assert_int_equal(rs_exporter_write_buffer(e, format, NULL, 0, &needed), RS_E_NOMEM);
    char *text = malloc(needed);
    assert_non_null(text);
    size_t again = 0;
    assert_int_equal(rs_exporter_write_buffer(e, format, text, needed, &again), RS_OK);
    assert_int_equal(again, needed);
    assert_int_equal(strlen(text) + 1, needed);
    return text;
}

static void expect_text(const char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        print_error("got:\n%s\nwant:\n%s\n", got, want);
        fail();
    }
}

static bool contains(const char *text, const char *line)
{
    return strstr(text, line) != NULL;
}

/* A kind of object of the test's own: a value per sample, set by the test. */
typedef struct fake {
    double values[8];
    int status;
} fake;

static int collect_fake(void *object, double *values, size_t count)
{
    fake *f = object;
    for (size_t i = 0; i < count; i++) {
        values[i] = f->values[i];
    }
    return f->status;
}

static const char *const value_kinds[] = { "int", "frac", "neg", "inf", "nan", "big", NULL };

static const rs_metric_desc fake_metrics[] = {
    { "test_value", "Values of every shape.", RS_METRIC_GAUGE, "kind", value_kinds },
    { "test_events_total", "Help with a back\\slash, a \"quote\"\nand a newline.",
      RS_METRIC_COUNTER, NULL, NULL },
};

static const rs_metrics_source fake_source = { "fake", fake_metrics, 2, collect_fake };

static fake shapes(void)
{
    return (fake){ { 42, 0.1, -2.5, INFINITY, NAN, 1e20, 7 }, RS_OK };
}

static rs_token_bucket *bucket(rs_manual_clock *clock, double rate, uint64_t burst)
{
    rs_token_bucket_config cfg = { rate, burst };
    rs_token_bucket *tb = NULL;
    assert_int_equal(rs_token_bucket_new(&cfg, rs_manual_clock_get(clock), &tb), RS_OK);
    return tb;
}

static rs_exporter *exporter(void)
{
    rs_exporter *e = NULL;
    assert_int_equal(rs_exporter_new(NULL, &e), RS_OK);
    return e;
}

/* ---- golden text ------------------------------------------------------------------ */

static void prometheus_text_is_exact(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, SEC);
    rs_token_bucket *api = bucket(&clock, 2, 4);
    rs_token_bucket *other = bucket(&clock, 0.5, 1);
    assert_true(rs_token_bucket_try_acquire(api, 3));
    assert_true(rs_token_bucket_try_acquire(api, 1));
    assert_false(rs_token_bucket_try_acquire(api, 1)); /* refused */
    assert_false(rs_token_bucket_try_acquire(api, 5)); /* above the burst: not counted */
    assert_true(rs_token_bucket_try_acquire(api, 0));  /* nothing asked: not counted */
    rs_manual_clock_advance(&clock, 250 * MS);         /* half a token back */
    fake f = shapes();

    rs_exporter *e = exporter();
    assert_int_equal(rs_exporter_add_token_bucket(e, "api", api), RS_OK);
    assert_int_equal(rs_exporter_add(e, "we\"ird\\name\n", &fake_source, &f), RS_OK);
    assert_int_equal(rs_exporter_add_token_bucket(e, "other", other), RS_OK);
    char *text = expose(e, RS_METRICS_PROMETHEUS);
    expect_text(text,
        "# HELP resilience_token_bucket_rate_per_second Tokens the bucket refills per second.\n"
        "# TYPE resilience_token_bucket_rate_per_second gauge\n"
        "resilience_token_bucket_rate_per_second{name=\"api\"} 2\n"
        "resilience_token_bucket_rate_per_second{name=\"other\"} 0.5\n"
        "# HELP resilience_token_bucket_burst_tokens The bucket's capacity.\n"
        "# TYPE resilience_token_bucket_burst_tokens gauge\n"
        "resilience_token_bucket_burst_tokens{name=\"api\"} 4\n"
        "resilience_token_bucket_burst_tokens{name=\"other\"} 1\n"
        "# HELP resilience_token_bucket_available_tokens Tokens available now; negative while "
        "reservations are owed.\n"
        "# TYPE resilience_token_bucket_available_tokens gauge\n"
        "resilience_token_bucket_available_tokens{name=\"api\"} 0.5\n"
        "resilience_token_bucket_available_tokens{name=\"other\"} 1\n"
        "# HELP resilience_token_bucket_requests_total Requests for tokens, by outcome.\n"
        "# TYPE resilience_token_bucket_requests_total counter\n"
        "resilience_token_bucket_requests_total{name=\"api\",outcome=\"granted\"} 2\n"
        "resilience_token_bucket_requests_total{name=\"api\",outcome=\"refused\"} 1\n"
        "resilience_token_bucket_requests_total{name=\"other\",outcome=\"granted\"} 0\n"
        "resilience_token_bucket_requests_total{name=\"other\",outcome=\"refused\"} 0\n"
        "# HELP resilience_token_bucket_granted_tokens_total Tokens the granted requests took.\n"
        "# TYPE resilience_token_bucket_granted_tokens_total counter\n"
        "resilience_token_bucket_granted_tokens_total{name=\"api\"} 4\n"
        "resilience_token_bucket_granted_tokens_total{name=\"other\"} 0\n"
        "# HELP resilience_test_value Values of every shape.\n"
        "# TYPE resilience_test_value gauge\n"
        "resilience_test_value{name=\"we\\\"ird\\\\name\\n\",kind=\"int\"} 42\n"
        "resilience_test_value{name=\"we\\\"ird\\\\name\\n\",kind=\"frac\"} 0.1\n"
        "resilience_test_value{name=\"we\\\"ird\\\\name\\n\",kind=\"neg\"} -2.5\n"
        "resilience_test_value{name=\"we\\\"ird\\\\name\\n\",kind=\"inf\"} +Inf\n"
        "resilience_test_value{name=\"we\\\"ird\\\\name\\n\",kind=\"big\"} 1e+20\n"
        "# HELP resilience_test_events_total Help with a back\\\\slash, a \"quote\"\\nand a "
        "newline.\n"
        "# TYPE resilience_test_events_total counter\n"
        "resilience_test_events_total{name=\"we\\\"ird\\\\name\\n\"} 7\n");
    free(text);
    rs_exporter_free(e);
    rs_token_bucket_free(api);
    rs_token_bucket_free(other);
}

static void openmetrics_text_is_exact(void **state)
{
    (void)state;
    fake f = shapes();
    rs_exporter_config cfg = RS_EXPORTER_CONFIG_DEFAULT;
    cfg.prefix = "app:rs";
    rs_exporter *e = NULL;
    assert_int_equal(rs_exporter_new(&cfg, &e), RS_OK);
    assert_int_equal(rs_exporter_add(e, "x", &fake_source, &f), RS_OK);
    char *text = expose(e, RS_METRICS_OPENMETRICS);
    expect_text(text,
        "# TYPE app:rs_test_value gauge\n"
        "# HELP app:rs_test_value Values of every shape.\n"
        "app:rs_test_value{name=\"x\",kind=\"int\"} 42\n"
        "app:rs_test_value{name=\"x\",kind=\"frac\"} 0.1\n"
        "app:rs_test_value{name=\"x\",kind=\"neg\"} -2.5\n"
        "app:rs_test_value{name=\"x\",kind=\"inf\"} +Inf\n"
        "app:rs_test_value{name=\"x\",kind=\"big\"} 1e+20\n"
        "# TYPE app:rs_test_events counter\n"
        "# HELP app:rs_test_events Help with a back\\\\slash, a \\\"quote\\\"\\nand a newline.\n"
        "app:rs_test_events_total{name=\"x\"} 7\n"
        "# EOF\n");
    free(text);
    rs_exporter_free(e);

    /* No prefix at all. */
    cfg.prefix = "";
    assert_int_equal(rs_exporter_new(&cfg, &e), RS_OK);
    assert_int_equal(rs_exporter_add(e, "x", &fake_source, &f), RS_OK);
    text = expose(e, RS_METRICS_PROMETHEUS);
    assert_true(contains(text, "\ntest_events_total{name=\"x\"} 7\n"));
    free(text);
    rs_exporter_free(e);
}

/* The bulkhead's, the adaptive limit's and the adaptive rate's families,
 * every outcome counted once, on a manual clock. */
static void bulkhead_and_adaptive_text_is_exact(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, SEC);
    const rs_clock *clk = rs_manual_clock_get(&clock);
    rs_bulkhead_config bc = { 1, 2 };
    rs_bulkhead *b = NULL;
    assert_int_equal(rs_bulkhead_new(&bc, clk, &b), RS_OK);
    assert_true(rs_bulkhead_try_enter(b));                         /* entered at once */
    assert_false(rs_bulkhead_try_enter(b));                        /* refused */
    rs_bulkhead_ticket *first = NULL, *second = NULL, *third = NULL;
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &first), RS_OK);
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &second), RS_OK);
    assert_int_equal(rs_bulkhead_enter_async(b, NULL, NULL, &third), RS_E_LIMITED); /* full */
    assert_int_equal(rs_bulkhead_enter(b, 0), RS_E_LIMITED);       /* refused */
    rs_manual_clock_advance(&clock, 250 * MS);
    rs_bulkhead_leave(b); /* the slot goes to the first ticket */
    assert_true(rs_bulkhead_ticket_ready(b, first)); /* entered after 0.25 s queued */
    rs_manual_clock_advance(&clock, 250 * MS);
    rs_bulkhead_ticket_cancel(b, second); /* cancelled after 0.5 s queued */

    rs_adaptive_limit_config lc = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    lc.initial_limit = 2;
    lc.min_limit = 2;
    lc.max_limit = 50;
    lc.window_samples = 2;
    rs_adaptive_limit *l = NULL;
    assert_int_equal(rs_adaptive_limit_new(&lc, clk, &l), RS_OK);
    uint64_t now = rs_manual_clock_now(&clock);
    /* A window (max(2, limit) samples) at the floor, in use: 2 * 1.1, at
     * least one more: 3. */
    assert_int_equal(rs_adaptive_limit_sample_at(l, 10 * MS, 2, RS_OUTCOME_SUCCESS, now), 2);
    assert_int_equal(rs_adaptive_limit_sample_at(l, 10 * MS, 2, RS_OUTCOME_SUCCESS, now), 3);
    /* A throttled window: times 0.9, 2.7. */
    rs_manual_clock_advance(&clock, 100 * MS);
    now = rs_manual_clock_now(&clock);
    assert_int_equal(rs_adaptive_limit_sample_at(l, 10 * MS, 3, RS_OUTCOME_THROTTLED, now), 3);
    assert_int_equal(rs_adaptive_limit_sample_at(l, 10 * MS, 3, RS_OUTCOME_SUCCESS, now), 3);
    assert_int_equal(rs_adaptive_limit_sample_at(l, 10 * MS, 3, RS_OUTCOME_SUCCESS, now), 2);

    rs_adaptive_rate_config rc = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_adaptive_rate *unlimited = NULL;
    assert_int_equal(rs_adaptive_rate_new(&rc, clk, &unlimited), RS_OK);
    rc.initial_rate = 20;
    rc.min_rate = 2;
    rc.max_rate = 40;
    rs_adaptive_rate *paced = NULL;
    assert_int_equal(rs_adaptive_rate_new(&rc, clk, &paced), RS_OK);
    rs_adaptive_rate_record(paced, RS_OUTCOME_THROTTLED, rs_manual_clock_now(&clock), 0);
    rs_adaptive_rate_advertise(paced, 30); /* a ceiling above the rate: it stays */

    /* One exporter per kind: each golden text within C's 4095 characters. */
    rs_exporter *e = exporter();
    assert_int_equal(rs_exporter_add_bulkhead(e, "db", b), RS_OK);
    RS_TEST_EXPECT_INVALID(rs_exporter_add_bulkhead(e, "db", b), "named \"db\"");
    char *text = expose(e, RS_METRICS_PROMETHEUS);
    expect_text(text,
        "# HELP resilience_bulkhead_max_concurrent_calls Calls allowed in flight at once now.\n"
        "# TYPE resilience_bulkhead_max_concurrent_calls gauge\n"
        "resilience_bulkhead_max_concurrent_calls{name=\"db\"} 1\n"
        "# HELP resilience_bulkhead_max_queued_calls Callers that may wait for a slot.\n"
        "# TYPE resilience_bulkhead_max_queued_calls gauge\n"
        "resilience_bulkhead_max_queued_calls{name=\"db\"} 2\n"
        "# HELP resilience_bulkhead_calls_in_flight Calls holding a slot now.\n"
        "# TYPE resilience_bulkhead_calls_in_flight gauge\n"
        "resilience_bulkhead_calls_in_flight{name=\"db\"} 1\n"
        "# HELP resilience_bulkhead_queued_calls Callers waiting for a slot now.\n"
        "# TYPE resilience_bulkhead_queued_calls gauge\n"
        "resilience_bulkhead_queued_calls{name=\"db\"} 0\n"
        "# HELP resilience_bulkhead_calls_total Requests for a slot that ended, by how.\n"
        "# TYPE resilience_bulkhead_calls_total counter\n"
        "resilience_bulkhead_calls_total{name=\"db\",outcome=\"entered_at_once\"} 1\n"
        "resilience_bulkhead_calls_total{name=\"db\",outcome=\"entered_after_queueing\"} 1\n"
        "resilience_bulkhead_calls_total{name=\"db\",outcome=\"refused\"} 3\n"
        "resilience_bulkhead_calls_total{name=\"db\",outcome=\"timed_out\"} 0\n"
        "resilience_bulkhead_calls_total{name=\"db\",outcome=\"cancelled\"} 1\n"
        "# HELP resilience_bulkhead_queue_wait_seconds_total Time the callers that left the "
        "queue spent in it (slot taken or given up).\n"
        "# TYPE resilience_bulkhead_queue_wait_seconds_total counter\n"
        "resilience_bulkhead_queue_wait_seconds_total{name=\"db\"} 0.75\n");
    free(text);
    /* OpenMetrics: the counters' families without `_total`, their samples with it. */
    text = expose(e, RS_METRICS_OPENMETRICS);
    assert_true(contains(text, "# TYPE resilience_bulkhead_calls counter\n"));
    assert_true(contains(text, "\nresilience_bulkhead_calls_total{name=\"db\",outcome=\"refused\"} 3\n"));
    assert_true(contains(text, "# TYPE resilience_bulkhead_queue_wait_seconds counter\n"));
    free(text);
    assert_int_equal(rs_exporter_remove(e, b), RS_OK);

    assert_int_equal(rs_exporter_add_adaptive_limit(e, "db", l), RS_OK);
    text = expose(e, RS_METRICS_PROMETHEUS);
    expect_text(text,
        "# HELP resilience_adaptive_limit_calls The limit now: calls allowed in flight.\n"
        "# TYPE resilience_adaptive_limit_calls gauge\n"
        "resilience_adaptive_limit_calls{name=\"db\"} 2\n"
        "# HELP resilience_adaptive_limit_min_calls The lowest the limit goes.\n"
        "# TYPE resilience_adaptive_limit_min_calls gauge\n"
        "resilience_adaptive_limit_min_calls{name=\"db\"} 2\n"
        "# HELP resilience_adaptive_limit_max_calls The highest the limit goes.\n"
        "# TYPE resilience_adaptive_limit_max_calls gauge\n"
        "resilience_adaptive_limit_max_calls{name=\"db\"} 50\n"
        "# HELP resilience_adaptive_limit_latency_floor_seconds The latency floor (long term); 0 "
        "before the first window.\n"
        "# TYPE resilience_adaptive_limit_latency_floor_seconds gauge\n"
        "resilience_adaptive_limit_latency_floor_seconds{name=\"db\"} 0.01\n"
        "# HELP resilience_adaptive_limit_latency_seconds The last closed window's mean latency; "
        "0 before.\n"
        "# TYPE resilience_adaptive_limit_latency_seconds gauge\n"
        "resilience_adaptive_limit_latency_seconds{name=\"db\"} 0.01\n"
        "# HELP resilience_adaptive_limit_samples_total Finished calls reported.\n"
        "# TYPE resilience_adaptive_limit_samples_total counter\n"
        "resilience_adaptive_limit_samples_total{name=\"db\"} 5\n"
        "# HELP resilience_adaptive_limit_throttles_total Reported calls that were throttled or "
        "slower than the timeout.\n"
        "# TYPE resilience_adaptive_limit_throttles_total counter\n"
        "resilience_adaptive_limit_throttles_total{name=\"db\"} 1\n"
        "# HELP resilience_adaptive_limit_windows_total Windows closed (the limit moves once per "
        "window).\n"
        "# TYPE resilience_adaptive_limit_windows_total counter\n"
        "resilience_adaptive_limit_windows_total{name=\"db\"} 2\n"
        "# HELP resilience_adaptive_limit_throttled_windows_total Windows with a throttled call "
        "(each backed the limit off).\n"
        "# TYPE resilience_adaptive_limit_throttled_windows_total counter\n"
        "resilience_adaptive_limit_throttled_windows_total{name=\"db\"} 1\n");
    free(text);
    text = expose(e, RS_METRICS_OPENMETRICS);
    assert_true(contains(text, "# TYPE resilience_adaptive_limit_throttles counter\n"));
    free(text);
    assert_int_equal(rs_exporter_remove(e, l), RS_OK);

    assert_int_equal(rs_exporter_add_adaptive_rate(e, "new", unlimited), RS_OK);
    assert_int_equal(rs_exporter_add_adaptive_rate(e, "api", paced), RS_OK);
    text = expose(e, RS_METRICS_PROMETHEUS);
    expect_text(text,
        "# HELP resilience_adaptive_rate_requests_per_second The rate now; +Inf while none "
        "applies (no throttle or advertised rate yet).\n"
        "# TYPE resilience_adaptive_rate_requests_per_second gauge\n"
        "resilience_adaptive_rate_requests_per_second{name=\"new\"} +Inf\n"
        "resilience_adaptive_rate_requests_per_second{name=\"api\"} 20\n"
        "# HELP resilience_adaptive_rate_min_requests_per_second The lowest the rate goes.\n"
        "# TYPE resilience_adaptive_rate_min_requests_per_second gauge\n"
        "resilience_adaptive_rate_min_requests_per_second{name=\"new\"} 0.5\n"
        "resilience_adaptive_rate_min_requests_per_second{name=\"api\"} 2\n"
        "# HELP resilience_adaptive_rate_max_requests_per_second The highest the rate goes; +Inf "
        "for none.\n"
        "# TYPE resilience_adaptive_rate_max_requests_per_second gauge\n"
        "resilience_adaptive_rate_max_requests_per_second{name=\"new\"} +Inf\n"
        "resilience_adaptive_rate_max_requests_per_second{name=\"api\"} 40\n"
        "# HELP resilience_adaptive_rate_last_good_requests_per_second The rate the last "
        "throttle came at; 0 before the first.\n"
        "# TYPE resilience_adaptive_rate_last_good_requests_per_second gauge\n"
        "resilience_adaptive_rate_last_good_requests_per_second{name=\"new\"} 0\n"
        "resilience_adaptive_rate_last_good_requests_per_second{name=\"api\"} 20\n"
        "# HELP resilience_adaptive_rate_sent_requests_per_second The measured rate of "
        "attempts, per second not paused; 0 before the first measure.\n"
        "# TYPE resilience_adaptive_rate_sent_requests_per_second gauge\n"
        "resilience_adaptive_rate_sent_requests_per_second{name=\"new\"} 0\n"
        "resilience_adaptive_rate_sent_requests_per_second{name=\"api\"} 0\n"
        "# HELP resilience_adaptive_rate_throttles_total Throttled answers recorded.\n"
        "# TYPE resilience_adaptive_rate_throttles_total counter\n"
        "resilience_adaptive_rate_throttles_total{name=\"new\"} 0\n"
        "resilience_adaptive_rate_throttles_total{name=\"api\"} 1\n"
        "# HELP resilience_adaptive_rate_reductions_total Times the rate was reduced.\n"
        "# TYPE resilience_adaptive_rate_reductions_total counter\n"
        "resilience_adaptive_rate_reductions_total{name=\"new\"} 0\n"
        "resilience_adaptive_rate_reductions_total{name=\"api\"} 0\n"
        "# HELP resilience_adaptive_rate_advertised_requests_per_second The rate the server's "
        "headers advertise, a ceiling; +Inf for none.\n"
        "# TYPE resilience_adaptive_rate_advertised_requests_per_second gauge\n"
        "resilience_adaptive_rate_advertised_requests_per_second{name=\"new\"} +Inf\n"
        "resilience_adaptive_rate_advertised_requests_per_second{name=\"api\"} 30\n");
    free(text);
    text = expose(e, RS_METRICS_OPENMETRICS);
    assert_true(contains(text, "# TYPE resilience_adaptive_rate_throttles counter\n"));
    assert_true(contains(text, "\nresilience_adaptive_rate_requests_per_second{name=\"new\"} +Inf\n"));
    free(text);
    assert_int_equal(rs_exporter_remove(e, unlimited), RS_OK);
    assert_int_equal(rs_exporter_remove(e, paced), RS_OK);
    rs_exporter_free(e);
    rs_bulkhead_leave(b);
    rs_bulkhead_free(b);
    rs_adaptive_limit_free(l);
    rs_adaptive_rate_free(unlimited);
    rs_adaptive_rate_free(paced);
}

static void values_take_the_shortest_exact_form(void **state)
{
    (void)state;
    static const char *const one[] = { "v", NULL };
    static const rs_metric_desc desc[] = { { "v", "v", RS_METRIC_GAUGE, "k", one } };
    static const rs_metrics_source source = { "v", desc, 1, collect_fake };
    const struct {
        double value;
        const char *text;
    } cases[] = {
        { 0, "0" },
        { -0.0, "0" },
        { 3, "3" },
        { -3, "-3" },
        { 9007199254740993.0, "9007199254740992" }, /* the double nearest 2^53 + 1 */
        { 1.5e-9, "1.5e-09" },
        { 1.0 / 3.0, "0.33333333333333331" }, /* 15 digits would not read back */
        { 0.25, "0.25" },
        { 123.456, "123.456" },
        { -INFINITY, "-Inf" },
        { 1e300, "1e+300" },
        { 9.5e18, "9.5e+18" }, /* beyond int64: %g */
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        fake f = { { cases[i].value }, RS_OK };
        rs_exporter *e = exporter();
        assert_int_equal(rs_exporter_add(e, "n", &source, &f), RS_OK);
        char *text = expose(e, RS_METRICS_PROMETHEUS);
        char want[128];
        snprintf(want, sizeof want, "resilience_v{name=\"n\",k=\"v\"} %s\n", cases[i].text);
        if (!contains(text, want)) {
            print_error("%g: want %s in\n%s", cases[i].value, want, text);
            fail();
        }
        free(text);
        rs_exporter_free(e);
    }
}

/* A family whose every sample is NaN, or whose objects failed to collect,
 * is left out with its HELP and TYPE. */
static void families_without_samples_are_left_out(void **state)
{
    (void)state;
    fake f = { { NAN, NAN, NAN, NAN, NAN, NAN, 1 }, RS_OK };
    rs_exporter *e = exporter();
    assert_int_equal(rs_exporter_add(e, "x", &fake_source, &f), RS_OK);
    char *text = expose(e, RS_METRICS_PROMETHEUS);
    expect_text(text, "# HELP resilience_test_events_total Help with a back\\\\slash, a "
                      "\"quote\"\\nand a newline.\n"
                      "# TYPE resilience_test_events_total counter\n"
                      "resilience_test_events_total{name=\"x\"} 1\n");
    free(text);
    f.status = RS_E_IO; /* the object could not be read: nothing of it */
    text = expose(e, RS_METRICS_PROMETHEUS);
    expect_text(text, "");
    free(text);
    text = expose(e, RS_METRICS_OPENMETRICS);
    expect_text(text, "# EOF\n");
    free(text);
    rs_exporter_free(e);
}

/* ---- the two ways out --------------------------------------------------------------- */

typedef struct sink {
    char text[1 << 16];
    size_t len;
    size_t pieces;
    size_t stop_after; /* 0 = never */
} sink;

static int collect_into(void *ctx, const char *data, size_t len)
{
    sink *s = ctx;
    assert_true(s->len + len < sizeof s->text);
    memcpy(s->text + s->len, data, len);
    s->len += len;
    s->text[s->len] = '\0';
    s->pieces++;
    return s->stop_after != 0 && s->pieces >= s->stop_after ? 1 : 0;
}

/* The callback gets the same text as the buffer, in pieces of at most a
 * few kilobytes; asking it to stop is RS_E_IO. */
static void callback_writes_what_the_buffer_holds(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_exporter *e = exporter();
    enum { BUCKETS = 60 };
    rs_token_bucket *tb[BUCKETS];
    for (int i = 0; i < BUCKETS; i++) {
        char name[16];
        snprintf(name, sizeof name, "bucket-%d", i);
        tb[i] = bucket(&clock, 10, 10);
        assert_int_equal(rs_exporter_add_token_bucket(e, name, tb[i]), RS_OK);
    }
    static sink s;
    memset(&s, 0, sizeof s);
    assert_int_equal(rs_exporter_write(e, RS_METRICS_OPENMETRICS, collect_into, &s), RS_OK);
    char *text = expose(e, RS_METRICS_OPENMETRICS);
    expect_text(s.text, text);
    assert_true(s.pieces >= 3); /* more than one chunk's worth */
    free(text);

    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    assert_int_equal(rs_exporter_write(e, RS_METRICS_PROMETHEUS, collect_into, &s), RS_E_IO);
    assert_int_equal(s.pieces, 1);
    rs_exporter_free(e);
    for (int i = 0; i < BUCKETS; i++) {
        rs_token_bucket_free(tb[i]);
    }
}

/* snprintf's contract: a prefix that fits, NUL-terminated, and the size
 * the whole needs. */
static void buffer_too_small_holds_a_prefix(void **state)
{
    (void)state;
    fake f = shapes();
    rs_exporter *e = exporter();
    assert_int_equal(rs_exporter_add(e, "x", &fake_source, &f), RS_OK);
    char *whole = expose(e, RS_METRICS_PROMETHEUS);
    size_t len = strlen(whole);
    char buf[64];
    size_t needed = 0;
    memset(buf, 'z', sizeof buf);
    assert_int_equal(rs_exporter_write_buffer(e, RS_METRICS_PROMETHEUS, buf, sizeof buf, &needed),
                     RS_E_NOMEM);
    assert_int_equal(needed, len + 1);
    assert_int_equal(strlen(buf), sizeof buf - 1);
    assert_memory_equal(buf, whole, sizeof buf - 1);
    assert_int_equal(rs_exporter_write_buffer(e, RS_METRICS_PROMETHEUS, buf, 1, &needed),
                     RS_E_NOMEM);
    assert_int_equal(buf[0], '\0');
    /* Exactly the size: fits; one byte less: the NUL does not. */
    char *exact = malloc(len + 1);
    assert_int_equal(rs_exporter_write_buffer(e, RS_METRICS_PROMETHEUS, exact, len + 1, &needed),
                     RS_OK);
    expect_text(exact, whole);
    assert_int_equal(rs_exporter_write_buffer(e, RS_METRICS_PROMETHEUS, exact, len, &needed),
                     RS_E_NOMEM);
    assert_int_equal(strlen(exact), len - 1);
    free(exact);
    free(whole);
    rs_exporter_free(e);
}

static void content_types(void **state)
{
    (void)state;
    assert_string_equal(rs_metrics_content_type(RS_METRICS_PROMETHEUS),
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(rs_metrics_content_type(RS_METRICS_OPENMETRICS),
                        "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_null(rs_metrics_content_type((rs_metrics_format)7));
}

/* ---- adding, removing, refusing ---------------------------------------------------------- */

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    fake f = shapes();
    rs_exporter *e = NULL;
    RS_TEST_EXPECT_INVALID(rs_exporter_new(NULL, NULL), "out");
    rs_exporter_config cfg = { "9lives" };
    RS_TEST_EXPECT_INVALID(rs_exporter_new(&cfg, &e), "rs_exporter_config.prefix");
    cfg.prefix = "has space";
    RS_TEST_EXPECT_INVALID(rs_exporter_new(&cfg, &e), "rs_exporter_config.prefix");
    assert_null(e);
    e = exporter();
    RS_TEST_EXPECT_INVALID(rs_exporter_add(NULL, "x", &fake_source, &f), "exporter");
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, NULL, &fake_source, &f), "name");
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "x", NULL, &f), "source");
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "x", &fake_source, NULL), "object");
    static const char *const not_utf8[] = {
        "\xff", "a\xc3", "\xc0\xaf" /* overlong '/' */, "\xed\xa0\x80" /* a surrogate */,
        "\xf4\x90\x80\x80" /* beyond U+10FFFF */, "\xe2\x82", "\x80",
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(not_utf8); i++) {
        RS_TEST_EXPECT_INVALID(rs_exporter_add(e, not_utf8[i], &fake_source, &f), "UTF-8");
    }
    assert_int_equal(rs_exporter_add(e, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", &fake_source, &f),
                     RS_OK); /* é € and an emoji */
    assert_int_equal(rs_exporter_remove(e, &f), RS_OK);
    RS_TEST_EXPECT_INVALID(rs_exporter_add_token_bucket(e, "x", NULL), "object");
    RS_TEST_EXPECT_INVALID(rs_exporter_add_client(e, "x", NULL), "c");
    RS_TEST_EXPECT_INVALID(rs_exporter_add_bulkhead(e, "x", NULL), "object");
    RS_TEST_EXPECT_INVALID(rs_exporter_add_adaptive_limit(e, "x", NULL), "object");
    RS_TEST_EXPECT_INVALID(rs_exporter_add_adaptive_rate(e, "x", NULL), "object");
    RS_TEST_EXPECT_INVALID(rs_exporter_add_bulkhead(NULL, "x", (rs_bulkhead *)&f), "exporter");
    RS_TEST_EXPECT_INVALID(rs_exporter_add_adaptive_limit(e, NULL, (rs_adaptive_limit *)&f),
                           "name");
    RS_TEST_EXPECT_INVALID(rs_exporter_add_adaptive_rate(NULL, "x", (rs_adaptive_rate *)&f),
                           "exporter");
    RS_TEST_EXPECT_INVALID(rs_exporter_remove(e, &f), "nothing was added");
    RS_TEST_EXPECT_INVALID(rs_exporter_remove(NULL, &f), "exporter");
    size_t needed = 0;
    char buf[8];
    RS_TEST_EXPECT_INVALID(rs_exporter_write(e, RS_METRICS_PROMETHEUS, NULL, NULL), "fn");
    RS_TEST_EXPECT_INVALID(rs_exporter_write(NULL, RS_METRICS_PROMETHEUS, collect_into, NULL),
                           "exporter");
    RS_TEST_EXPECT_INVALID(rs_exporter_write(e, (rs_metrics_format)9, collect_into, NULL),
                           "format");
    RS_TEST_EXPECT_INVALID(rs_exporter_write_buffer(e, RS_METRICS_PROMETHEUS, buf, 8, NULL),
                           "needed");
    RS_TEST_EXPECT_INVALID(rs_exporter_write_buffer(e, RS_METRICS_PROMETHEUS, NULL, 8, &needed),
                           "buf");
    RS_TEST_EXPECT_INVALID(rs_exporter_write_buffer(e, (rs_metrics_format)9, buf, 8, &needed),
                           "format");
    rs_exporter_free(e);
    rs_exporter_free(NULL);
}

/* Every rule of a source, each broken once. */
static void invalid_sources_are_refused(void **state)
{
    (void)state;
    static const char *const ab[] = { "a", "b", NULL };
    static const char *const twice[] = { "a", "a", NULL };
    static const char *const none[] = { NULL };
    static const struct {
        rs_metric_desc desc;
        const char *why;
    } bad[] = {
        { { "9x", "h", RS_METRIC_GAUGE, NULL, NULL }, "the name" },
        { { "a-b", "h", RS_METRIC_GAUGE, NULL, NULL }, "the name" },
        { { "a:b", "h", RS_METRIC_GAUGE, NULL, NULL }, "the name" },
        { { "x_count", "h", RS_METRIC_GAUGE, NULL, NULL }, "reserve" },
        { { "x_bucket", "h", RS_METRIC_GAUGE, NULL, NULL }, "reserve" },
        { { "x_created", "h", RS_METRIC_GAUGE, NULL, NULL }, "reserve" },
        { { "x_info", "h", RS_METRIC_GAUGE, NULL, NULL }, "reserve" },
        { { NULL, "h", RS_METRIC_GAUGE, NULL, NULL }, "the name" },
        { { "x", NULL, RS_METRIC_GAUGE, NULL, NULL }, "help" },
        { { "x", "h", (rs_metric_type)5, NULL, NULL }, "type" },
        { { "x", "h", RS_METRIC_COUNTER, NULL, NULL }, "_total" },
        { { "x_total", "h", RS_METRIC_GAUGE, NULL, NULL }, "_total" },
        { { "x", "h", RS_METRIC_GAUGE, NULL, ab }, "label values without a label" },
        { { "x", "h", RS_METRIC_GAUGE, "name", ab }, "reserved" },
        { { "x", "h", RS_METRIC_GAUGE, "__x", ab }, "reserved" },
        { { "x", "h", RS_METRIC_GAUGE, "a:b", ab }, "not a label name" },
        { { "x", "h", RS_METRIC_GAUGE, "k", NULL }, "at least one value" },
        { { "x", "h", RS_METRIC_GAUGE, "k", none }, "at least one value" },
        { { "x", "h", RS_METRIC_GAUGE, "k", twice }, "listed twice" },
    };
    fake f = shapes();
    rs_exporter *e = exporter();
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        rs_metrics_source source = { "bad", &bad[i].desc, 1, collect_fake };
        RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "x", &source, &f), bad[i].why);
    }
    rs_metrics_source empty = { "empty", fake_metrics, 0, collect_fake };
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "x", &empty, &f), "needs metrics");
    static const rs_metric_desc twice_over[] = {
        { "twice", "h", RS_METRIC_GAUGE, NULL, NULL },
        { "twice_total", "h", RS_METRIC_COUNTER, NULL, NULL }, /* the same in OpenMetrics */
    };
    rs_metrics_source doubled = { "d", twice_over, 2, collect_fake };
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "x", &doubled, &f), "declared twice");
    rs_metrics_source no_collect = { "nc", fake_metrics, 1, NULL };
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "x", &no_collect, &f), "collect");
    /* Nothing was added by any of them. */
    char *text = expose(e, RS_METRICS_PROMETHEUS);
    expect_text(text, "");
    free(text);
    rs_exporter_free(e);
}

/* One family, one declaration; one series, one object. */
static void conflicts_are_refused(void **state)
{
    (void)state;
    static const char *const ab[] = { "a", "b", NULL };
    fake f = shapes(), g = shapes();
    rs_exporter *e = exporter();
    assert_int_equal(rs_exporter_add(e, "x", &fake_source, &f), RS_OK);
    /* The same family as a counter, or with another label. */
    static const rs_metric_desc as_other_label[] = {
        { "test_value", "h", RS_METRIC_GAUGE, "other", ab } };
    rs_metrics_source other_label = { "o", as_other_label, 1, collect_fake };
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "y", &other_label, &g), "test_value");
    static const rs_metric_desc unlabelled[] = { { "test_value", "h", RS_METRIC_GAUGE, NULL,
                                                   NULL } };
    rs_metrics_source no_label = { "u", unlabelled, 1, collect_fake };
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "y", &no_label, &g), "test_value");
    /* A gauge whose OpenMetrics name would be the counter family's. */
    static const rs_metric_desc clash[] = { { "test_events", "h", RS_METRIC_GAUGE, NULL, NULL } };
    rs_metrics_source clashing = { "c", clash, 1, collect_fake };
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "y", &clashing, &g), "test_events");
    /* The same series twice. */
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "x", &fake_source, &g), "named \"x\"");
    /* A new family in a refused object is not kept. */
    static const rs_metric_desc fresh_then_dup[] = {
        { "fresh_gauge", "h", RS_METRIC_GAUGE, NULL, NULL },
        { "test_events_total", "h", RS_METRIC_COUNTER, NULL, NULL } };
    rs_metrics_source mixed = { "m", fresh_then_dup, 2, collect_fake };
    RS_TEST_EXPECT_INVALID(rs_exporter_add(e, "x", &mixed, &g), "test_events_total");
    char *text = expose(e, RS_METRICS_PROMETHEUS);
    assert_false(contains(text, "fresh_gauge"));
    free(text);
    /* Under another name all of that is fine. */
    assert_int_equal(rs_exporter_add(e, "y", &fake_source, &g), RS_OK);
    assert_int_equal(rs_exporter_add(e, "y", &mixed, &g), RS_E_INVAL);
    assert_int_equal(rs_exporter_add(e, "z", &mixed, &g), RS_OK);
    rs_exporter_free(e);
}

static rs_client *client(rs_manual_clock *clock, const char *name)
{
    rs_breaker_config b = RS_BREAKER_CONFIG_DEFAULT;
    rs_budget_config budget = RS_BUDGET_CONFIG_DEFAULT;
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.requests_per_second = 10;
    cfg.tokens_per_second = 1000;
    cfg.requests_per_minute = 100;
    cfg.breaker = &b;
    cfg.budget = &budget;
    cfg.token_estimate = 10;
    cfg.retry.backoff.seed = 1;
    cfg.name = name;
    rs_client *c = NULL;
    assert_int_equal(rs_client_new(&cfg, rs_manual_clock_get(clock), &c), RS_OK);
    return c;
}

/* A client brings its policy and every module it owns; removing the client
 * takes them all, and a removed object is read no more. */
static void clients_come_and_go_whole(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, SEC);
    rs_client *c = client(&clock, "c");
    fake f = shapes();
    rs_exporter *e = exporter();
    assert_int_equal(rs_exporter_add_client(e, "llm", c), RS_OK);
    assert_int_equal(rs_exporter_add(e, "llm", &fake_source, &f), RS_OK);
    char *text = expose(e, RS_METRICS_PROMETHEUS);
    const char *const lines[] = {
        "resilience_policy_calls_in_progress{name=\"llm\"} 0\n",
        "resilience_token_bucket_burst_tokens{name=\"llm\"} 10\n",
        "resilience_token_bucket_burst_tokens{name=\"llm:tokens\"} 1000\n",
        "resilience_sliding_window_limit{name=\"llm\"} 100\n",
        "resilience_breaker_state{name=\"llm\",state=\"closed\"} 1\n",
        "resilience_budget_limit_tokens{name=\"llm\"} 50000\n",
        "resilience_test_events_total{name=\"llm\"} 7\n",
    };
    RS_TEST_EXPECT_LINES(text, lines);
    free(text);
    /* Twice under one name would repeat every series. */
    RS_TEST_EXPECT_INVALID(rs_exporter_add_client(e, "llm", c), "named \"llm\"");
    assert_int_equal(rs_exporter_add_client(e, "again", c), RS_OK);
    assert_int_equal(rs_exporter_remove(e, c), RS_OK); /* both */
    text = expose(e, RS_METRICS_PROMETHEUS);
    expect_text(text, "# HELP resilience_test_value Values of every shape.\n"
                      "# TYPE resilience_test_value gauge\n"
                      "resilience_test_value{name=\"llm\",kind=\"int\"} 42\n"
                      "resilience_test_value{name=\"llm\",kind=\"frac\"} 0.1\n"
                      "resilience_test_value{name=\"llm\",kind=\"neg\"} -2.5\n"
                      "resilience_test_value{name=\"llm\",kind=\"inf\"} +Inf\n"
                      "resilience_test_value{name=\"llm\",kind=\"big\"} 1e+20\n"
                      "# HELP resilience_test_events_total Help with a back\\\\slash, a "
                      "\"quote\"\\nand a newline.\n"
                      "# TYPE resilience_test_events_total counter\n"
                      "resilience_test_events_total{name=\"llm\"} 7\n");
    free(text);
    rs_client_free(c); /* safe: the exporter no longer reads it */
    assert_int_equal(rs_exporter_remove(e, &f), RS_OK);
    text = expose(e, RS_METRICS_PROMETHEUS);
    expect_text(text, "");
    free(text);
    rs_exporter_free(e);
}

static int make_exporter_with_objects(void *ctx, void **object)
{
    rs_client *c = ctx;
    rs_exporter *e = NULL;
    int rc = rs_exporter_new(NULL, &e);
    if (rc != RS_OK) {
        return rc;
    }
    rc = rs_exporter_add_client(e, "x", c);
    for (int i = 0; rc == RS_OK && i < 20; i++) {
        char name[8];
        snprintf(name, sizeof name, "b%d", i);
        rc = rs_exporter_add_breaker(e, name, rs_client_breaker(c));
    }
    if (rc != RS_OK) {
        rs_exporter_free(e);
        return rc;
    }
    *object = e;
    return RS_OK;
}

static void free_exporter(void *object)
{
    rs_exporter_free(object);
}

static void allocation_failures_leak_nothing(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_client *c = client(&clock, NULL);
    fault_alloc_install();
    assert_true(fault_alloc_sweep(make_exporter_with_objects, free_exporter, c) >= 5);
    fault_alloc_uninstall();
    rs_client_free(c);
}

/* ---- every module's families, and promises across layers --------------------------- */

static rs_verdict succeed(void *ctx, rs_attempt *a)
{
    (void)ctx;
    (void)a;
    return RS_SUCCESS;
}

/* Each kind of object appears with its families; the breaker's
 * not-permitted count takes the calls the policy failed fast. */
static void every_module_reports(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, SEC);
    rs_client *c = client(&clock, "c");
    rs_breaker_force(rs_client_breaker(c), RS_BREAKER_FORCED_OPEN);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rs_client_call(c, succeed, NULL), RS_E_OPEN);
    }
    rs_budget_config bc = RS_BUDGET_CONFIG_DEFAULT;
    rs_budget_registry *br = NULL;
    assert_int_equal(rs_budget_registry_new(&bc, 3, rs_manual_clock_get(&clock), &br), RS_OK);
    rs_budget *alice = rs_budget_registry_get(br, "alice", 5);
    rs_budget_registry_release(br, alice);
    alice = rs_budget_registry_get(br, "alice", 5);
    rs_budget_registry_release(br, alice);
    rs_exporter *e = exporter();
    assert_int_equal(rs_exporter_add_client(e, "c", c), RS_OK);
    assert_int_equal(rs_exporter_add_budget_registry(e, "users", br), RS_OK);
    char *text = expose(e, RS_METRICS_PROMETHEUS);
    const char *const lines[] = {
        "resilience_breaker_state{name=\"c\",state=\"forced_open\"} 1\n",
        "resilience_breaker_open_remaining_seconds{name=\"c\"} +Inf\n",
        "resilience_breaker_not_permitted_calls_total{name=\"c\"} 3\n",
        "resilience_policy_calls_total{name=\"c\",outcome=\"rejected_breaker\"} 3\n",
        "resilience_registry_keys{name=\"users\"} 1\n",
        "resilience_registry_max_keys{name=\"users\"} 3\n",
        "resilience_registry_lookups_total{name=\"users\",outcome=\"hit\"} 1\n",
        "resilience_registry_lookups_total{name=\"users\",outcome=\"miss\"} 1\n",
    };
    RS_TEST_EXPECT_LINES(text, lines);
    free(text);
    rs_exporter_free(e);
    rs_budget_registry_free(br);
    rs_client_free(c);
}

static bool serve_cached(void *ctx, void *call_ctx, const rs_call_report *report)
{
    (void)ctx;
    (void)call_ctx;
    (void)report;
    return true;
}

/* A client's bulkhead, concurrency limit and adaptive rate join its
 * exposition; a call its full bulkhead refuses counts as rejected_bulkhead
 * in the policy and as a refusal in the bulkhead, and the fallback that
 * served it in policy_fallbacks_total. */
static void client_with_bulkhead_and_adaptive_reports(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, SEC);
    rs_bulkhead_config bc = { 1, 0 };
    rs_adaptive_limit_config lc = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    lc.initial_limit = 1;
    rs_adaptive_rate_config rc = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.bulkhead = &bc;
    cfg.concurrency_limit = &lc;
    cfg.adaptive_rate = &rc;
    cfg.fallback = serve_cached;
    rs_client *c = NULL;
    assert_int_equal(rs_client_new(&cfg, rs_manual_clock_get(&clock), &c), RS_OK);
    assert_true(rs_bulkhead_try_enter(rs_client_bulkhead(c))); /* the one slot, held */
    assert_int_equal(rs_client_call(c, succeed, NULL), RS_OK); /* the fallback's answer */
    rs_bulkhead_leave(rs_client_bulkhead(c));
    rs_exporter *e = exporter();
    assert_int_equal(rs_exporter_add_client(e, "c", c), RS_OK);
    char *text = expose(e, RS_METRICS_PROMETHEUS);
    const char *const lines[] = {
        "resilience_policy_calls_total{name=\"c\",outcome=\"rejected_bulkhead\"} 1\n",
        "resilience_policy_fallbacks_total{name=\"c\"} 1\n",
        "resilience_bulkhead_max_concurrent_calls{name=\"c\"} 1\n",
        "resilience_bulkhead_calls_total{name=\"c\",outcome=\"entered_at_once\"} 1\n",
        "resilience_bulkhead_calls_total{name=\"c\",outcome=\"refused\"} 1\n",
        "resilience_adaptive_limit_calls{name=\"c\"} 1\n",
        "resilience_adaptive_limit_max_calls{name=\"c\"} 1000\n",
        "resilience_adaptive_rate_requests_per_second{name=\"c\"} +Inf\n",
    };
    RS_TEST_EXPECT_LINES(text, lines);
    free(text);
    assert_int_equal(rs_exporter_remove(e, c), RS_OK);
    rs_exporter_free(e);
    rs_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prometheus_text_is_exact),
        cmocka_unit_test(openmetrics_text_is_exact),
        cmocka_unit_test(bulkhead_and_adaptive_text_is_exact),
        cmocka_unit_test(values_take_the_shortest_exact_form),
        cmocka_unit_test(families_without_samples_are_left_out),
        cmocka_unit_test(callback_writes_what_the_buffer_holds),
        cmocka_unit_test(buffer_too_small_holds_a_prefix),
        cmocka_unit_test(content_types),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(invalid_sources_are_refused),
        cmocka_unit_test(conflicts_are_refused),
        cmocka_unit_test(clients_come_and_go_whole),
        cmocka_unit_test(allocation_failures_leak_nothing),
        cmocka_unit_test(every_module_reports),
        cmocka_unit_test(client_with_bulkhead_and_adaptive_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
