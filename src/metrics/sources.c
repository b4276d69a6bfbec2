/* The library's own kinds of objects as metric sources: each module's
 * families, and a collect function that reads its rs_X_metrics() snapshot
 * into them. The names are the table of docs/observability.md. A module
 * of the library adds its metrics here: its families, a collect that
 * reads its snapshot, and an rs_exporter_add_X() (see that page). */

#include <math.h>

#include "internal.h"

/* Fills values[0..n) in order; the collect functions list their values in
 * the order of their source's families and label values. */
typedef struct filler {
    double *values;
    size_t count, next;
} filler;

static void put(filler *f, double value)
{
    if (f->next < f->count) {
        f->values[f->next] = value;
    }
    f->next++;
}

/* RS_OK when the collect function filled exactly what its source declares. */
static int done(const filler *f)
{
    return f->next == f->count ? RS_OK : RS_E_INVAL;
}

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- token bucket (in-process and shared-memory) ------------------------------ */

static const char *const granted_refused[] = { "granted", "refused", NULL };

static const rs_metric_desc token_bucket_metrics[] = {
    { "token_bucket_rate_per_second", "Tokens the bucket refills per second.",
      RS_METRIC_GAUGE, NULL, NULL },
    { "token_bucket_burst_tokens", "The bucket's capacity.", RS_METRIC_GAUGE, NULL, NULL },
    { "token_bucket_available_tokens",
      "Tokens available now; negative while reservations are owed.", RS_METRIC_GAUGE, NULL,
      NULL },
    { "token_bucket_requests_total", "Requests for tokens, by outcome.", RS_METRIC_COUNTER,
      "outcome", granted_refused },
    { "token_bucket_granted_tokens_total", "Tokens the granted requests took.",
      RS_METRIC_COUNTER, NULL, NULL },
};

static void fill_token_bucket(filler *f, const rs_token_bucket_snapshot *m)
{
    put(f, m->rate);
    put(f, (double)m->burst);
    put(f, m->available);
    put(f, (double)m->granted);
    put(f, (double)m->refused);
    put(f, (double)m->granted_tokens);
}

static int collect_token_bucket(void *object, double *values, size_t count)
{
    rs_token_bucket_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_token_bucket_metrics(object, &m);
    if (rc == RS_OK) {
        fill_token_bucket(&f, &m);
    }
    return rc == RS_OK ? done(&f) : rc;
}

static int collect_shm_token_bucket(void *object, double *values, size_t count)
{
    rs_token_bucket_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_shm_token_bucket_metrics(object, &m);
    if (rc == RS_OK) {
        fill_token_bucket(&f, &m);
    }
    return rc == RS_OK ? done(&f) : rc;
}

static const rs_metrics_source token_bucket_source = {
    "token_bucket", token_bucket_metrics, COUNT_OF(token_bucket_metrics), collect_token_bucket
};
static const rs_metrics_source shm_token_bucket_source = {
    "shm_token_bucket", token_bucket_metrics, COUNT_OF(token_bucket_metrics),
    collect_shm_token_bucket
};

/* ---- sliding window (in-process and shared-memory) ---------------------------- */

static const char *const admitted_refused[] = { "admitted", "refused", NULL };

static const rs_metric_desc sliding_window_metrics[] = {
    { "sliding_window_limit", "Units the window admits per window length.", RS_METRIC_GAUGE,
      NULL, NULL },
    { "sliding_window_length_seconds", "The window's length.", RS_METRIC_GAUGE, NULL, NULL },
    { "sliding_window_used", "Units counted against the window now.", RS_METRIC_GAUGE, NULL,
      NULL },
    { "sliding_window_requests_total", "Requests, by outcome.", RS_METRIC_COUNTER, "outcome",
      admitted_refused },
    { "sliding_window_admitted_units_total", "Units the admitted requests took.",
      RS_METRIC_COUNTER, NULL, NULL },
};

static void fill_sliding_window(filler *f, const rs_sliding_window_snapshot *m)
{
    put(f, (double)m->limit);
    put(f, rs__metrics_seconds(m->window_ns));
    put(f, (double)m->count);
    put(f, (double)m->admitted);
    put(f, (double)m->refused);
    put(f, (double)m->admitted_units);
}

static int collect_sliding_window(void *object, double *values, size_t count)
{
    rs_sliding_window_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_sliding_window_metrics(object, &m);
    if (rc == RS_OK) {
        fill_sliding_window(&f, &m);
    }
    return rc == RS_OK ? done(&f) : rc;
}

static int collect_shm_sliding_window(void *object, double *values, size_t count)
{
    rs_sliding_window_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_shm_sliding_window_metrics(object, &m);
    if (rc == RS_OK) {
        fill_sliding_window(&f, &m);
    }
    return rc == RS_OK ? done(&f) : rc;
}

static const rs_metrics_source sliding_window_source = {
    "sliding_window", sliding_window_metrics, COUNT_OF(sliding_window_metrics),
    collect_sliding_window
};
static const rs_metrics_source shm_sliding_window_source = {
    "shm_sliding_window", sliding_window_metrics, COUNT_OF(sliding_window_metrics),
    collect_shm_sliding_window
};

/* ---- breaker -------------------------------------------------------------------- */

static const char *const breaker_states[] = { "closed", "open", "half_open", "forced_open",
                                              "disabled", NULL };
static const char *const successful_failed[] = { "successful", "failed", NULL };
static const char *const call_kinds[] = { "successful", "failed", "ignored", NULL };

static const rs_metric_desc breaker_metrics[] = {
    { "breaker_state", "1 for the state the breaker is in, 0 for the others.",
      RS_METRIC_GAUGE, "state", breaker_states },
    { "breaker_failure_ratio", "Failed calls / calls in the window (the probes in half-open).",
      RS_METRIC_GAUGE, NULL, NULL },
    { "breaker_slow_call_ratio", "Slow calls / calls in the window (the probes in half-open).",
      RS_METRIC_GAUGE, NULL, NULL },
    { "breaker_buffered_calls", "Calls in the window (the probes in half-open), by outcome.",
      RS_METRIC_GAUGE, "kind", successful_failed },
    { "breaker_buffered_slow_calls", "Slow calls in the window (the probes in half-open).",
      RS_METRIC_GAUGE, NULL, NULL },
    { "breaker_consecutive_failures", "The current run of failures in the closed state.",
      RS_METRIC_GAUGE, NULL, NULL },
    { "breaker_probes_in_flight", "Half-open probes admitted and not finished.",
      RS_METRIC_GAUGE, NULL, NULL },
    { "breaker_open_remaining_seconds",
      "Until an open breaker lets probes through; +Inf when forced open, 0 otherwise.",
      RS_METRIC_GAUGE, NULL, NULL },
    { "breaker_open_duration_seconds", "The current (or next) open period.", RS_METRIC_GAUGE,
      NULL, NULL },
    { "breaker_calls_total",
      "Outcomes the breaker judged, and permits given back unjudged (ignored).",
      RS_METRIC_COUNTER, "kind", call_kinds },
    { "breaker_slow_calls_total", "Judged outcomes that were slow.", RS_METRIC_COUNTER, NULL,
      NULL },
    { "breaker_not_permitted_calls_total", "Calls refused because the breaker was open.",
      RS_METRIC_COUNTER, NULL, NULL },
    { "breaker_transitions_total", "State changes.", RS_METRIC_COUNTER, NULL, NULL },
};

static int collect_breaker(void *object, double *values, size_t count)
{
    rs_breaker_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_breaker_metrics(object, &m);
    if (rc != RS_OK) {
        return rc;
    }
    for (int state = RS_BREAKER_CLOSED; state <= RS_BREAKER_DISABLED; state++) {
        put(&f, (int)m.state == state ? 1.0 : 0.0);
    }
    put(&f, m.failure_rate);
    put(&f, m.slow_call_rate);
    put(&f, (double)m.successes);
    put(&f, (double)m.failures);
    put(&f, (double)m.slow_calls);
    put(&f, (double)m.consecutive_failures);
    put(&f, (double)m.probes_in_flight);
    put(&f, rs__metrics_seconds(m.until_half_open_ns));
    put(&f, rs__metrics_seconds(m.open_duration_ns));
    put(&f, (double)m.total_successes);
    put(&f, (double)m.total_failures);
    put(&f, (double)m.total_released);
    put(&f, (double)m.total_slow_calls);
    put(&f, (double)m.rejected);
    put(&f, (double)m.total_transitions);
    return done(&f);
}

static const rs_metrics_source breaker_source = { "breaker", breaker_metrics,
                                                  COUNT_OF(breaker_metrics), collect_breaker };

/* ---- budget ---------------------------------------------------------------------- */

static const rs_metric_desc budget_metrics[] = {
    { "budget_limit_tokens", "Tokens per rolling window.", RS_METRIC_GAUGE, NULL, NULL },
    { "budget_request_limit_tokens", "The largest single reservation.", RS_METRIC_GAUGE, NULL,
      NULL },
    { "budget_used_tokens", "Tokens the window holds now (may exceed the limit).",
      RS_METRIC_GAUGE, NULL, NULL },
    { "budget_remaining_tokens", "Tokens left in the window now.", RS_METRIC_GAUGE, NULL,
      NULL },
    { "budget_reservations_total", "Reservations, by outcome.", RS_METRIC_COUNTER, "outcome",
      granted_refused },
    { "budget_granted_tokens_total", "Tokens the granted reservations took (estimates).",
      RS_METRIC_COUNTER, NULL, NULL },
    { "budget_spent_tokens_total", "Tokens the calls reported as used.", RS_METRIC_COUNTER,
      NULL, NULL },
};

static int collect_budget(void *object, double *values, size_t count)
{
    rs_budget_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_budget_metrics(object, &m);
    if (rc != RS_OK) {
        return rc;
    }
    put(&f, (double)m.max_per_window);
    put(&f, (double)m.max_per_request);
    put(&f, (double)m.used);
    put(&f, (double)m.remaining);
    put(&f, (double)m.granted);
    put(&f, (double)m.refused);
    put(&f, (double)m.granted_tokens);
    put(&f, (double)m.spent_tokens);
    return done(&f);
}

static const rs_metrics_source budget_source = { "budget", budget_metrics,
                                                 COUNT_OF(budget_metrics), collect_budget };

/* ---- registries (generic and of budgets) ------------------------------------------ */

static const char *const hit_miss[] = { "hit", "miss", NULL };

static const rs_metric_desc registry_metrics[] = {
    { "registry_keys", "Keys resident now.", RS_METRIC_GAUGE, NULL, NULL },
    { "registry_max_keys", "The most keys kept; the least recently used go beyond.",
      RS_METRIC_GAUGE, NULL, NULL },
    { "registry_lookups_total", "Lookups, by whether the key was resident.", RS_METRIC_COUNTER,
      "outcome", hit_miss },
    { "registry_evictions_total", "Keys evicted to stay within the bound.", RS_METRIC_COUNTER,
      NULL, NULL },
    { "registry_removals_total", "Keys removed.", RS_METRIC_COUNTER, NULL, NULL },
};

static void fill_registry(filler *f, const rs_registry_snapshot *m)
{
    put(f, (double)m->keys);
    put(f, (double)m->max_keys);
    put(f, (double)m->hits);
    put(f, (double)m->misses);
    put(f, (double)m->evictions);
    put(f, (double)m->removals);
}

static int collect_registry(void *object, double *values, size_t count)
{
    rs_registry_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_registry_metrics(object, &m);
    if (rc == RS_OK) {
        fill_registry(&f, &m);
    }
    return rc == RS_OK ? done(&f) : rc;
}

static int collect_budget_registry(void *object, double *values, size_t count)
{
    rs_registry_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_budget_registry_metrics(object, &m);
    if (rc == RS_OK) {
        fill_registry(&f, &m);
    }
    return rc == RS_OK ? done(&f) : rc;
}

static const rs_metrics_source registry_source = {
    "registry", registry_metrics, COUNT_OF(registry_metrics), collect_registry
};
static const rs_metrics_source budget_registry_source = {
    "budget_registry", registry_metrics, COUNT_OF(registry_metrics), collect_budget_registry
};

/* ---- policy ------------------------------------------------------------------------ */

static const char *const call_outcomes[] = {
    "success",          "failed",           "exhausted",
    "timeout",          "rejected_limiter", "rejected_bulkhead",
    "rejected_breaker", "rejected_budget",  "rejected_server_pause",
    NULL,
};

static const rs_metric_desc policy_metrics[] = {
    { "policy_calls_total", "Calls that ended, by how.", RS_METRIC_COUNTER, "outcome",
      call_outcomes },
    { "policy_calls_in_progress", "Calls started and not ended.", RS_METRIC_GAUGE, NULL, NULL },
    { "policy_attempts_total", "Times the user function ran.", RS_METRIC_COUNTER, NULL, NULL },
    { "policy_retries_total", "Retries scheduled.", RS_METRIC_COUNTER, NULL, NULL },
    { "policy_retries_withheld_total", "Calls whose retry the retry budget withheld.",
      RS_METRIC_COUNTER, NULL, NULL },
    { "policy_server_pauses_total",
      "Times a server's Retry-After started or lengthened the shared pause.", RS_METRIC_COUNTER,
      NULL, NULL },
    { "policy_call_seconds_total", "Time the ended calls took, begin to end.",
      RS_METRIC_COUNTER, NULL, NULL },
    { "policy_wait_seconds_total", "Time the ended calls waited (backoff, limits, pauses).",
      RS_METRIC_COUNTER, NULL, NULL },
    { "policy_limiter_wait_seconds_total", "The part of the waits spent on limits and pauses.",
      RS_METRIC_COUNTER, NULL, NULL },
    { "policy_retry_budget_tokens", "Retry budget tokens now (retries flow above half).",
      RS_METRIC_GAUGE, NULL, NULL },
    { "policy_retry_budget_max_tokens", "The retry budget's size (0 when off).",
      RS_METRIC_GAUGE, NULL, NULL },
    { "policy_server_pause_remaining_seconds", "The shared server pause left now.",
      RS_METRIC_GAUGE, NULL, NULL },
    { "policy_fallbacks_total",
      "Calls the fallback answered (also counted in policy_calls_total under their failure).",
      RS_METRIC_COUNTER, NULL, NULL },
};

static int collect_policy(void *object, double *values, size_t count)
{
    rs_policy_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_policy_metrics(object, &m);
    if (rc != RS_OK) {
        return rc;
    }
    put(&f, (double)m.successes);
    put(&f, (double)m.failures);
    put(&f, (double)m.exhausted);
    put(&f, (double)m.timeouts);
    put(&f, (double)m.rejected_limiter);
    put(&f, (double)m.rejected_bulkhead);
    put(&f, (double)m.rejected_breaker);
    put(&f, (double)m.rejected_budget);
    put(&f, (double)m.rejected_server_pause);
    put(&f, (double)m.in_progress);
    put(&f, (double)m.attempts);
    put(&f, (double)m.retries);
    put(&f, (double)m.rejected_retry_budget);
    put(&f, (double)m.server_pauses);
    put(&f, rs__metrics_seconds(m.elapsed_ns));
    put(&f, rs__metrics_seconds(m.waited_ns));
    put(&f, rs__metrics_seconds(m.limiter_wait_ns));
    put(&f, m.retry_tokens);
    put(&f, m.retry_max_tokens);
    put(&f, rs__metrics_seconds(m.pause_remaining_ns));
    put(&f, (double)m.fallbacks);
    return done(&f);
}

static const rs_metrics_source policy_source = { "policy", policy_metrics,
                                                 COUNT_OF(policy_metrics), collect_policy };

/* ---- bulkhead ------------------------------------------------------------------------ */

static const char *const bulkhead_outcomes[] = { "entered_at_once", "entered_after_queueing",
                                                 "refused",         "timed_out",
                                                 "cancelled",       NULL };

static const rs_metric_desc bulkhead_metrics[] = {
    { "bulkhead_max_concurrent_calls", "Calls allowed in flight at once now.", RS_METRIC_GAUGE,
      NULL, NULL },
    { "bulkhead_max_queued_calls", "Callers that may wait for a slot.", RS_METRIC_GAUGE, NULL,
      NULL },
    { "bulkhead_calls_in_flight", "Calls holding a slot now.", RS_METRIC_GAUGE, NULL, NULL },
    { "bulkhead_queued_calls", "Callers waiting for a slot now.", RS_METRIC_GAUGE, NULL, NULL },
    { "bulkhead_calls_total", "Requests for a slot that ended, by how.", RS_METRIC_COUNTER,
      "outcome", bulkhead_outcomes },
    { "bulkhead_queue_wait_seconds_total",
      "Time the callers that left the queue spent in it (slot taken or given up).",
      RS_METRIC_COUNTER, NULL, NULL },
};

static int collect_bulkhead(void *object, double *values, size_t count)
{
    rs_bulkhead_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_bulkhead_metrics(object, &m);
    if (rc != RS_OK) {
        return rc;
    }
    put(&f, (double)m.max_concurrent);
    put(&f, (double)m.max_queue);
    put(&f, (double)m.in_flight);
    put(&f, (double)m.queued);
    put(&f, (double)(m.entered - m.entered_queued));
    put(&f, (double)m.entered_queued);
    put(&f, (double)m.refused);
    put(&f, (double)m.timed_out);
    put(&f, (double)m.cancelled);
    put(&f, rs__metrics_seconds(m.queue_wait_ns));
    return done(&f);
}

static const rs_metrics_source bulkhead_source = { "bulkhead", bulkhead_metrics,
                                                   COUNT_OF(bulkhead_metrics), collect_bulkhead };

/* ---- adaptive concurrency limit ------------------------------------------------------ */

static const rs_metric_desc adaptive_limit_metrics[] = {
    { "adaptive_limit_calls", "The limit now: calls allowed in flight.", RS_METRIC_GAUGE, NULL,
      NULL },
    { "adaptive_limit_min_calls", "The lowest the limit goes.", RS_METRIC_GAUGE, NULL, NULL },
    { "adaptive_limit_max_calls", "The highest the limit goes.", RS_METRIC_GAUGE, NULL, NULL },
    { "adaptive_limit_latency_floor_seconds",
      "The latency floor (long term); 0 before the first window.", RS_METRIC_GAUGE, NULL,
      NULL },
    { "adaptive_limit_latency_seconds", "The last closed window's mean latency; 0 before.",
      RS_METRIC_GAUGE, NULL, NULL },
    { "adaptive_limit_samples_total", "Finished calls reported.", RS_METRIC_COUNTER, NULL,
      NULL },
    { "adaptive_limit_throttles_total",
      "Reported calls that were throttled or slower than the timeout.", RS_METRIC_COUNTER,
      NULL, NULL },
    { "adaptive_limit_windows_total", "Windows closed (the limit moves once per window).",
      RS_METRIC_COUNTER, NULL, NULL },
    { "adaptive_limit_throttled_windows_total",
      "Windows with a throttled call (each backed the limit off).", RS_METRIC_COUNTER, NULL,
      NULL },
};

static int collect_adaptive_limit(void *object, double *values, size_t count)
{
    rs_adaptive_limit_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_adaptive_limit_metrics(object, &m);
    if (rc != RS_OK) {
        return rc;
    }
    put(&f, (double)m.limit);
    put(&f, (double)m.min_limit);
    put(&f, (double)m.max_limit);
    put(&f, rs__metrics_seconds(m.floor_ns));
    put(&f, rs__metrics_seconds(m.latency_ns));
    put(&f, (double)m.samples);
    put(&f, (double)m.throttled);
    put(&f, (double)m.windows);
    put(&f, (double)m.throttled_windows);
    return done(&f);
}

static const rs_metrics_source adaptive_limit_source = {
    "adaptive_limit", adaptive_limit_metrics, COUNT_OF(adaptive_limit_metrics),
    collect_adaptive_limit
};

/* ---- adaptive rate --------------------------------------------------------------------- */

static const rs_metric_desc adaptive_rate_metrics[] = {
    { "adaptive_rate_requests_per_second",
      "The rate now; +Inf while none applies (no throttle or advertised rate yet).", RS_METRIC_GAUGE,
      NULL, NULL },
    { "adaptive_rate_min_requests_per_second", "The lowest the rate goes.", RS_METRIC_GAUGE,
      NULL, NULL },
    { "adaptive_rate_max_requests_per_second", "The highest the rate goes; +Inf for none.",
      RS_METRIC_GAUGE, NULL, NULL },
    { "adaptive_rate_last_good_requests_per_second",
      "The rate the last throttle came at; 0 before the first.", RS_METRIC_GAUGE, NULL, NULL },
    { "adaptive_rate_sent_requests_per_second",
      "The measured rate of attempts, per second not paused; 0 before the first measure.",
      RS_METRIC_GAUGE, NULL, NULL },
    { "adaptive_rate_throttles_total", "Throttled answers recorded.", RS_METRIC_COUNTER, NULL,
      NULL },
    { "adaptive_rate_reductions_total", "Times the rate was reduced.", RS_METRIC_COUNTER, NULL,
      NULL },
    { "adaptive_rate_advertised_requests_per_second",
      "The rate the server's headers advertise, a ceiling; +Inf for none.", RS_METRIC_GAUGE,
      NULL, NULL },
};

/* A rate of 0 that means "no limit" as +Inf. */
static double unlimited_if_zero(double rate)
{
    return rate == 0.0 ? INFINITY : rate;
}

static int collect_adaptive_rate(void *object, double *values, size_t count)
{
    rs_adaptive_rate_snapshot m;
    filler f = { values, count, 0 };
    int rc = rs_adaptive_rate_metrics(object, &m);
    if (rc != RS_OK) {
        return rc;
    }
    put(&f, unlimited_if_zero(m.rate));
    put(&f, m.min_rate);
    put(&f, unlimited_if_zero(m.max_rate));
    put(&f, m.last_good_rate);
    put(&f, m.sent_rate);
    put(&f, (double)m.throttles);
    put(&f, (double)m.reductions);
    put(&f, unlimited_if_zero(m.advertised_rate));
    return done(&f);
}

static const rs_metrics_source adaptive_rate_source = {
    "adaptive_rate", adaptive_rate_metrics, COUNT_OF(adaptive_rate_metrics),
    collect_adaptive_rate
};

/* ---- rs_exporter_add_X ------------------------------------------------------------- */

int rs_exporter_add_token_bucket(rs_exporter *e, const char *name, rs_token_bucket *tb)
{
    return rs_exporter_add(e, name, &token_bucket_source, tb);
}

int rs_exporter_add_sliding_window(rs_exporter *e, const char *name, rs_sliding_window *w)
{
    return rs_exporter_add(e, name, &sliding_window_source, w);
}

int rs_exporter_add_breaker(rs_exporter *e, const char *name, rs_breaker *b)
{
    return rs_exporter_add(e, name, &breaker_source, b);
}

int rs_exporter_add_budget(rs_exporter *e, const char *name, rs_budget *b)
{
    return rs_exporter_add(e, name, &budget_source, b);
}

int rs_exporter_add_registry(rs_exporter *e, const char *name, rs_registry *r)
{
    return rs_exporter_add(e, name, &registry_source, r);
}

int rs_exporter_add_budget_registry(rs_exporter *e, const char *name, rs_budget_registry *r)
{
    return rs_exporter_add(e, name, &budget_registry_source, r);
}

int rs_exporter_add_policy(rs_exporter *e, const char *name, rs_policy *p)
{
    return rs_exporter_add(e, name, &policy_source, p);
}

int rs_exporter_add_bulkhead(rs_exporter *e, const char *name, rs_bulkhead *b)
{
    return rs_exporter_add(e, name, &bulkhead_source, b);
}

int rs_exporter_add_adaptive_limit(rs_exporter *e, const char *name, rs_adaptive_limit *l)
{
    return rs_exporter_add(e, name, &adaptive_limit_source, l);
}

int rs_exporter_add_adaptive_rate(rs_exporter *e, const char *name, rs_adaptive_rate *r)
{
    return rs_exporter_add(e, name, &adaptive_rate_source, r);
}

int rs_exporter_add_shm_token_bucket(rs_exporter *e, const char *name, rs_shm_token_bucket *tb)
{
    return rs_exporter_add(e, name, &shm_token_bucket_source, tb);
}

int rs_exporter_add_shm_sliding_window(rs_exporter *e, const char *name,
                                       rs_shm_sliding_window *w)
{
    return rs_exporter_add(e, name, &shm_sliding_window_source, w);
}

int rs_exporter_add_client(rs_exporter *e, const char *name, rs_client *c)
{
    if (e == NULL || name == NULL || c == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_exporter_add_client: %s is NULL",
                                 e == NULL ? "the exporter" : name == NULL ? "name" : "c");
    }
    const rs__metrics_part all[] = {
        { name, "", &policy_source, rs_client_policy(c) },
        { name, "", &token_bucket_source, rs_client_bucket(c) },
        { name, ":tokens", &token_bucket_source, rs_client_token_bucket(c) },
        { name, "", &sliding_window_source, rs_client_window(c) },
        { name, "", &breaker_source, rs_client_breaker(c) },
        { name, "", &budget_source, rs_client_budget(c) },
        { name, "", &bulkhead_source, rs_client_bulkhead(c) },
        { name, "", &adaptive_limit_source, rs_client_concurrency_limit(c) },
        { name, "", &adaptive_rate_source, rs_client_adaptive_rate(c) },
    };
    rs__metrics_part owned[COUNT_OF(all)];
    size_t count = 0;
    for (size_t i = 0; i < COUNT_OF(all); i++) {
        if (all[i].object != NULL) {
            owned[count++] = all[i];
        }
    }
    return rs__exporter_add_parts(e, c, owned, count);
}
