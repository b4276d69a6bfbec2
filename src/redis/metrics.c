/* The backend's objects as metric sources for an exporter (metrics.h):
 * the core's exporter knows nothing of Redis; these plug in through
 * rs_metrics_source like any kind of object of a user's. */
#include <math.h>
#include <stdbool.h>

#include "internal.h"

int rs_redis_token_bucket_metrics(rs_redis_token_bucket *tb, rs_redis_object_snapshot *m)
{
    return rs__redis_object_metrics(tb, m);
}

int rs_redis_sliding_window_metrics(rs_redis_sliding_window *w, rs_redis_object_snapshot *m)
{
    return rs__redis_object_metrics(w, m);
}

int rs_redis_budget_metrics(rs_redis_budget *b, rs_redis_object_snapshot *m)
{
    return rs__redis_object_metrics(b, m);
}

int rs_redis_breaker_state_metrics(rs_redis_breaker_state *s, rs_redis_object_snapshot *m)
{
    return rs__redis_object_metrics(s, m);
}

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the pool ----------------------------------------------------------------- */

static const rs_metric_desc pool_metrics[] = {
    { "redis_pool_size", "Connections the pool may hold.", RS_METRIC_GAUGE, NULL, NULL },
    { "redis_pool_commands_total", "Calls that sent their script to Redis.", RS_METRIC_COUNTER,
      NULL, NULL },
    { "redis_pool_command_seconds_total", "Real time those calls took.", RS_METRIC_COUNTER, NULL,
      NULL },
    { "redis_pool_failures_total", "Calls that tried and failed (connection, timeout, error).",
      RS_METRIC_COUNTER, NULL, NULL },
    { "redis_pool_skipped_total", "Calls that failed fast while the pool waited to reconnect.",
      RS_METRIC_COUNTER, NULL, NULL },
    { "redis_pool_connects_total", "Connections opened.", RS_METRIC_COUNTER, NULL, NULL },
    { "redis_pool_consecutive_failures", "Failures in a row now (0 when healthy).",
      RS_METRIC_GAUGE, NULL, NULL },
    { "redis_pool_reconnect_remaining_seconds", "Until the next connection attempt.",
      RS_METRIC_GAUGE, NULL, NULL },
};

static int collect_pool(void *object, double *values, size_t count)
{
    rs_redis_snapshot m;
    int rc = rs_redis_metrics(object, &m);
    if (rc != RS_OK || count != COUNT_OF(pool_metrics)) {
        return rc != RS_OK ? rc : RS_E_INVAL;
    }
    const double filled[] = {
        (double)m.pool_size,         (double)m.commands,  (double)m.command_ns / 1e9,
        (double)m.failures,          (double)m.skipped,   (double)m.connects,
        (double)m.consecutive_failures, (double)m.retry_in_ns / 1e9,
    };
    for (size_t i = 0; i < count; i++) {
        values[i] = filled[i];
    }
    return RS_OK;
}

static const rs_metrics_source pool_source = { "redis", pool_metrics, COUNT_OF(pool_metrics),
                                               collect_pool };

int rs_exporter_add_redis(rs_exporter *e, const char *name, rs_redis *r)
{
    return rs_exporter_add(e, name, &pool_source, r);
}

/* ---- the distributed objects ---------------------------------------------------- */

static const char *const answers[] = { "granted", "refused", "failed", NULL };

/* Every kind's families first; the kinds with leases (all but the breaker
 * state) add the rest. */
#define DECISION_FAMILIES 2
#define DECISION_VALUES 4

static const rs_metric_desc object_metrics[] = {
    { "redis_decisions_total", "Decisions of a distributed object, by answer.",
      RS_METRIC_COUNTER, "outcome", answers },
    { "redis_fallback_decisions_total",
      "Decisions the failure policy answered because Redis failed.", RS_METRIC_COUNTER, NULL,
      NULL },
    { "redis_lease_decisions_total",
      "Decisions answered in this process from a lease, without a round trip.",
      RS_METRIC_COUNTER, NULL, NULL },
    { "redis_lease_round_trips_total", "Lease round trips: refills, refusals, failures.",
      RS_METRIC_COUNTER, NULL, NULL },
    { "redis_lease_taken_total", "Leases taken.", RS_METRIC_COUNTER, NULL, NULL },
    { "redis_lease_units_total", "Units the leases held when taken.", RS_METRIC_COUNTER, NULL,
      NULL },
    { "redis_lease_returned_units_total", "Unused units of leases sent back to Redis.",
      RS_METRIC_COUNTER, NULL, NULL },
    { "redis_lease_held_units", "Units in this process's leases now.", RS_METRIC_GAUGE, NULL,
      NULL },
    { "redis_lease_max_units", "The largest lease.", RS_METRIC_GAUGE, NULL, NULL },
};

/* The object's values: its decisions, then (`leases` given, count larger)
 * its leases', NaN (left out of the exposition) when it has none. */
static int fill(void *object, const rs_redis_lease_stats *leases, double *values, size_t count)
{
    rs_redis_object_snapshot m;
    int rc = rs__redis_object_metrics(object, &m);
    if (rc != RS_OK) {
        return rc;
    }
    bool on = leases != NULL && leases->max_units > 0;
    const double all[] = {
        (double)m.granted,
        (double)m.refused,
        (double)m.failed,
        (double)m.fallback,
        on ? (double)m.leased : NAN,
        on ? (double)leases->round_trips : NAN,
        on ? (double)leases->leases : NAN,
        on ? (double)leases->leased_units : NAN,
        on ? (double)leases->returned_units : NAN,
        on ? (double)leases->held_units : NAN,
        on ? (double)leases->max_units : NAN,
    };
    if (count != (leases != NULL ? COUNT_OF(all) : DECISION_VALUES)) {
        return RS_E_INVAL;
    }
    for (size_t i = 0; i < count; i++) {
        values[i] = all[i];
    }
    return RS_OK;
}

static int collect_token_bucket(void *tb, double *values, size_t count)
{
    rs_redis_lease_stats leases;
    int rc = rs_redis_token_bucket_lease_stats(tb, &leases);
    return rc != RS_OK ? rc : fill(tb, &leases, values, count);
}

static int collect_sliding_window(void *w, double *values, size_t count)
{
    rs_redis_lease_stats leases;
    int rc = rs_redis_sliding_window_lease_stats(w, &leases);
    return rc != RS_OK ? rc : fill(w, &leases, values, count);
}

static int collect_budget(void *b, double *values, size_t count)
{
    rs_redis_lease_stats leases;
    int rc = rs_redis_budget_lease_stats(b, &leases);
    return rc != RS_OK ? rc : fill(b, &leases, values, count);
}

static int collect_breaker_state(void *s, double *values, size_t count)
{
    return fill(s, NULL, values, count);
}

static const rs_metrics_source token_bucket_source = {
    "redis_token_bucket", object_metrics, COUNT_OF(object_metrics), collect_token_bucket
};
static const rs_metrics_source sliding_window_source = {
    "redis_sliding_window", object_metrics, COUNT_OF(object_metrics), collect_sliding_window
};
static const rs_metrics_source budget_source = { "redis_budget", object_metrics,
                                                 COUNT_OF(object_metrics), collect_budget };
static const rs_metrics_source breaker_state_source = {
    "redis_breaker_state", object_metrics, DECISION_FAMILIES, collect_breaker_state
};

int rs_exporter_add_redis_token_bucket(rs_exporter *e, const char *name,
                                       rs_redis_token_bucket *tb)
{
    return rs_exporter_add(e, name, &token_bucket_source, tb);
}

int rs_exporter_add_redis_sliding_window(rs_exporter *e, const char *name,
                                         rs_redis_sliding_window *w)
{
    return rs_exporter_add(e, name, &sliding_window_source, w);
}

int rs_exporter_add_redis_budget(rs_exporter *e, const char *name, rs_redis_budget *b)
{
    return rs_exporter_add(e, name, &budget_source, b);
}

int rs_exporter_add_redis_breaker_state(rs_exporter *e, const char *name,
                                        rs_redis_breaker_state *s)
{
    return rs_exporter_add(e, name, &breaker_state_source, s);
}
