/* The backend's objects as metric sources for an exporter (metrics.h):
 * the core's exporter knows nothing of Redis; these plug in through
 * rs_metrics_source like any kind of object of a user's. */

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

static const rs_metric_desc object_metrics[] = {
    { "redis_decisions_total", "Decisions of a distributed object, by answer.",
      RS_METRIC_COUNTER, "outcome", answers },
    { "redis_fallback_decisions_total",
      "Decisions the failure policy answered because Redis failed.", RS_METRIC_COUNTER, NULL,
      NULL },
};

static int collect_object(void *object, double *values, size_t count)
{
    rs_redis_object_snapshot m;
    int rc = rs__redis_object_metrics(object, &m);
    if (rc != RS_OK || count != 4) {
        return rc != RS_OK ? rc : RS_E_INVAL;
    }
    values[0] = (double)m.granted;
    values[1] = (double)m.refused;
    values[2] = (double)m.failed;
    values[3] = (double)m.fallback;
    return RS_OK;
}

static const rs_metrics_source object_source = { "redis_object", object_metrics,
                                                 COUNT_OF(object_metrics), collect_object };

int rs_exporter_add_redis_token_bucket(rs_exporter *e, const char *name,
                                       rs_redis_token_bucket *tb)
{
    return rs_exporter_add(e, name, &object_source, tb);
}

int rs_exporter_add_redis_sliding_window(rs_exporter *e, const char *name,
                                         rs_redis_sliding_window *w)
{
    return rs_exporter_add(e, name, &object_source, w);
}

int rs_exporter_add_redis_budget(rs_exporter *e, const char *name, rs_redis_budget *b)
{
    return rs_exporter_add(e, name, &object_source, b);
}

int rs_exporter_add_redis_breaker_state(rs_exporter *e, const char *name,
                                        rs_redis_breaker_state *s)
{
    return rs_exporter_add(e, name, &object_source, s);
}
