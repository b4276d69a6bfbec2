/**
 * @file metrics.h
 * @brief Prometheus and OpenMetrics exposition of the library's objects.
 *
 * Every module reports a snapshot of its own: `rs_X_metrics(x, &snapshot)`
 * fills an `rs_X_snapshot` (rs_token_bucket_metrics(),
 * rs_sliding_window_metrics(), rs_breaker_metrics(), rs_budget_metrics(),
 * rs_registry_metrics(), rs_policy_metrics(), rs_bulkhead_metrics(),
 * rs_adaptive_limit_metrics(), rs_adaptive_rate_metrics(), the
 * shared-memory and Redis twins). An #rs_exporter turns the snapshots of a set of named objects
 * into the Prometheus text exposition format (version 0.0.4) or
 * OpenMetrics 1.0, through a write callback or into a buffer:
 *
 *     rs_exporter *e;
 *     rs_exporter_new(NULL, &e);
 *     rs_exporter_add_client(e, "openai", client);
 *     rs_exporter_add_breaker(e, "db", db_breaker);
 *     ...
 *     rs_exporter_write(e, RS_METRICS_PROMETHEUS, write_to_socket, &conn);
 *
 * Every sample carries the label `name` with the name the object was added
 * under, so one family holds every object of a kind:
 * `resilience_breaker_state{name="db",state="open"} 1`. The families, their
 * units and labels are listed in docs/observability.md.
 *
 * **Other kinds of objects** (the Redis backend's, your own) plug in
 * through an #rs_metrics_source: a table of metric families and a collect
 * function that fills one value per sample. The exporter knows nothing
 * else about them, so the core library does not depend on the backends.
 */
#ifndef RESILIENCE_METRICS_H
#define RESILIENCE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "resilience/adaptive.h"
#include "resilience/breaker.h"
#include "resilience/budget.h"
#include "resilience/bulkhead.h"
#include "resilience/common.h"
#include "resilience/policy.h"
#include "resilience/registry.h"
#include "resilience/shm.h"
#include "resilience/sliding_window.h"
#include "resilience/token_bucket.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Exposition formats. @since 0.2.0 */
typedef enum rs_metrics_format {
    /** The Prometheus text format, version 0.0.4: HELP and TYPE lines, counters
        named `..._total`. Serve it as rs_metrics_content_type() says. */
    RS_METRICS_PROMETHEUS = 0,
    /** OpenMetrics 1.0 text: counter families named without `_total`, their
        samples with it, `# EOF` at the end. For a scraper that asks for it
        (`Accept: application/openmetrics-text`). */
    RS_METRICS_OPENMETRICS = 1
} rs_metrics_format;

/**
 * The HTTP Content-Type of a format: `"text/plain; version=0.0.4;
 * charset=utf-8"` or `"application/openmetrics-text; version=1.0.0;
 * charset=utf-8"`; NULL for an unknown format.
 * @note Thread-safe.
 * @since 0.2.0
 */
RS_API const char *rs_metrics_content_type(rs_metrics_format format);

/* ---- Metric sources: how a kind of object describes its metrics ---------- */

/** Metric types. @since 0.2.0 */
typedef enum rs_metric_type {
    RS_METRIC_GAUGE = 0,  /**< a value now (tokens available, state) */
    RS_METRIC_COUNTER = 1 /**< a total since creation that only grows; named `..._total` */
} rs_metric_type;

/**
 * One metric family of a kind of object. Static data: the exporter keeps
 * the pointers (the source must outlive the exporter).
 * @since 0.2.0
 */
typedef struct rs_metric_desc {
    /** The name after the exporter's prefix and `_`, e.g.
        `"token_bucket_available_tokens"`: letters, digits and `_`, not
        starting with a digit; with its unit (`_seconds`, `_tokens`) as
        Prometheus names go; a counter's ends in `_total`, and no name ends
        in `_count`, `_sum`, `_bucket`, `_created` or `_info` (the formats
        reserve them). */
    const char *name;
    const char *help;        /**< one line of English; required */
    rs_metric_type type;     /**< gauge or counter */
    /** NULL, or the name of a label that tells the family's samples of one
        object apart (`"state"`, `"outcome"`); not `name` (the exporter's),
        not starting with `__` */
    const char *label;
    /** with `label`: its values, one sample each, NULL-terminated (at
        least one, no duplicates); NULL without `label` */
    const char *const *label_values;
} rs_metric_desc;

/**
 * Fills the values of one object's samples: one per label value of each
 * family in the order of the source's `metrics` (one for a family without
 * a label), @p count in all. A value may be NaN: that sample is left out
 * of this exposition. Called by the exporter's writes, with the exporter's
 * lock held: it must not call the exporter; it may call anything else.
 * @return #RS_OK; anything else leaves the object out of this exposition.
 * @since 0.2.0
 */
typedef int (*rs_metrics_collect_fn)(void *object, double *values, size_t count);

/**
 * A kind of object the exporter can export: its families and how to read
 * one object. Static data that must outlive every exporter it is added to.
 * Several sources may declare the same family (the same name, type and
 * label): the exporter writes it once, with the samples of all.
 * @since 0.2.0
 */
typedef struct rs_metrics_source {
    const char *kind;              /**< for messages, e.g. "redis_token_bucket" */
    const rs_metric_desc *metrics; /**< its families */
    size_t metric_count;           /**< how many, >= 1 */
    rs_metrics_collect_fn collect; /**< required */
} rs_metrics_source;

/* ---- The exporter --------------------------------------------------------- */

/** Exporter configuration; start from #RS_EXPORTER_CONFIG_DEFAULT. @since 0.2.0 */
typedef struct rs_exporter_config {
    /** Prepended with `_` to every family name: an application's namespace
        (`"myapp_resilience"`). Letters, digits, `_` and `:`, not starting
        with a digit; "" = none. NULL = the default, `"resilience"`. Copied. */
    const char *prefix;
} rs_exporter_config;

/** #RS_EXPORTER_CONFIG_DEFAULT as a brace initializer. @since 0.2.0 */
#define RS_EXPORTER_CONFIG_INIT { "resilience" }

/** Defaults: the prefix `resilience`. @since 0.2.0 */
#define RS_EXPORTER_CONFIG_DEFAULT ((rs_exporter_config)RS_EXPORTER_CONFIG_INIT)

/** Opaque exporter: a set of named objects. */
typedef struct rs_exporter rs_exporter;

/**
 * Creates an exporter with no objects.
 *
 * @param cfg  NULL = #RS_EXPORTER_CONFIG_DEFAULT; copied.
 * @param out  receives the exporter; untouched on error.
 * @return #RS_OK; #RS_E_INVAL (@p out NULL, or a prefix that is not a
 *         metric name; rs_last_error() names it); #RS_E_NOMEM.
 * @since 0.2.0
 */
RS_API int rs_exporter_new(const rs_exporter_config *cfg, rs_exporter **out);

/**
 * Frees the exporter (not the objects added to it). NULL is ignored.
 * @note Not concurrent with other calls on @p e.
 * @since 0.2.0
 */
RS_API void rs_exporter_free(rs_exporter *e);

/**
 * Adds @p object, of the kind @p source describes, under @p name.
 *
 * @param name    the value of the `name` label of its samples: any valid
 *                UTF-8 (escaped as the formats require); copied. Two
 *                objects whose families overlap need different names.
 * @param source  static; checked: the names, types and labels of its
 *                families, and that a family another source declared has
 *                the same type and label there.
 * @param object  passed to `source->collect`; must stay valid until
 *                removed (rs_exporter_remove()) or the exporter is freed.
 * @return #RS_OK; #RS_E_INVAL (NULL argument, a name that is not UTF-8, an
 *         invalid source, a family
 *         declared differently by another source, or a series of the same
 *         family and name already added; rs_last_error() says which);
 *         #RS_E_NOMEM (nothing added).
 * @note Thread-safe; waits for a write in progress.
 * @since 0.2.0
 */
RS_API int rs_exporter_add(rs_exporter *e, const char *name, const rs_metrics_source *source,
                           void *object);

/**
 * Removes every object added with @p object as its key (the object given to
 * rs_exporter_add() or an `rs_exporter_add_X()`, the client for
 * rs_exporter_add_client()). When it returns, no write uses them any more:
 * they may be freed.
 * @return #RS_OK, or #RS_E_INVAL when @p e or @p object is NULL or nothing
 *         was added under @p object.
 * @note Thread-safe; waits for a write in progress.
 * @since 0.2.0
 */
RS_API int rs_exporter_remove(rs_exporter *e, const void *object);

/**
 * Receives the exposition in pieces, in order.
 * @return 0 to go on; anything else stops the write (#RS_E_IO).
 * @since 0.2.0
 */
typedef int (*rs_metrics_write_fn)(void *ctx, const char *data, size_t len);

/**
 * Reads every object (each through its own snapshot, as consistent as its
 * module's rs_X_metrics() is) and writes the exposition through @p fn, in
 * pieces of up to a few kilobytes. Families come in the order their first
 * object was added, each with its HELP and TYPE lines and the samples of
 * every object that has it; a family without a sample is left out.
 *
 * @return #RS_OK; #RS_E_INVAL (@p e or @p fn NULL, an unknown format);
 *         #RS_E_IO (@p fn asked to stop).
 * @note Thread-safe. Writes are serialised and hold the exporter's lock
 *       while they run, so that a removed object is never read after
 *       rs_exporter_remove() returns: @p fn must not call this exporter
 *       (it may block, e.g. on a socket). Allocates nothing.
 * @since 0.2.0
 */
RS_API int rs_exporter_write(rs_exporter *e, rs_metrics_format format, rs_metrics_write_fn fn,
                             void *ctx);

/**
 * rs_exporter_write() into @p buf, as snprintf() does: writes as much of
 * the exposition as fits in @p size bytes, always NUL-terminated when
 * @p size > 0.
 *
 * @param buf     may be NULL when @p size is 0 (to ask for the size).
 * @param needed  required: receives the bytes the whole exposition needs,
 *                its NUL included. Counters grow, so a later exposition may
 *                need more: leave some room.
 * @return #RS_OK when it all fit; #RS_E_NOMEM when it did not (@p buf holds
 *         the part that fit); #RS_E_INVAL (@p e or @p needed NULL, @p buf
 *         NULL with @p size > 0, an unknown format).
 * @note Thread-safe; allocates nothing.
 * @since 0.2.0
 */
RS_API int rs_exporter_write_buffer(rs_exporter *e, rs_metrics_format format, char *buf,
                                    size_t size, size_t *needed);

/* ---- The library's own objects ---------------------------------------------
 * Each adds one object of a module under @p name, as rs_exporter_add() with
 * that module's source: the families of docs/observability.md, read with
 * its rs_X_metrics(). Same statuses as rs_exporter_add(). @since 0.2.0 */

/** A token bucket: `token_bucket_*` families. @since 0.2.0 */
RS_API int rs_exporter_add_token_bucket(rs_exporter *e, const char *name, rs_token_bucket *tb);
/** A sliding window: `sliding_window_*`. @since 0.2.0 */
RS_API int rs_exporter_add_sliding_window(rs_exporter *e, const char *name,
                                          rs_sliding_window *w);
/** A circuit breaker: `breaker_*`. @since 0.2.0 */
RS_API int rs_exporter_add_breaker(rs_exporter *e, const char *name, rs_breaker *b);
/** A token budget: `budget_*`. @since 0.2.0 */
RS_API int rs_exporter_add_budget(rs_exporter *e, const char *name, rs_budget *b);
/** A generic registry: `registry_*`. @since 0.2.0 */
RS_API int rs_exporter_add_registry(rs_exporter *e, const char *name, rs_registry *r);
/** A budget registry: the `registry_*` families of its keys. @since 0.2.0 */
RS_API int rs_exporter_add_budget_registry(rs_exporter *e, const char *name,
                                           rs_budget_registry *r);
/**
 * A bulkhead: `bulkhead_*` families (its limit, calls in flight and
 * queued, requests for a slot by outcome, time spent queued in seconds),
 * read with rs_bulkhead_metrics().
 * @param b  must stay valid until removed (rs_exporter_remove() with @p b)
 *           or the exporter is freed.
 * @return as rs_exporter_add(): #RS_OK; #RS_E_INVAL (a NULL argument, a
 *         name already used for a bulkhead); #RS_E_NOMEM.
 * @note Thread-safe; a write reads the bulkhead lock-free.
 * @since 0.2.0
 */
RS_API int rs_exporter_add_bulkhead(rs_exporter *e, const char *name, rs_bulkhead *b);
/**
 * An adaptive concurrency limit: `adaptive_limit_*` families (the limit
 * and its bounds in calls, the latency floor and last window's latency in
 * seconds, samples, throttles and windows), read with
 * rs_adaptive_limit_metrics().
 * @param l  must stay valid until removed or the exporter is freed.
 * @return as rs_exporter_add(): #RS_OK; #RS_E_INVAL (a NULL argument, a
 *         name already used for an adaptive limit); #RS_E_NOMEM.
 * @note Thread-safe; a write takes the limit's spinlock briefly.
 * @since 0.2.0
 */
RS_API int rs_exporter_add_adaptive_limit(rs_exporter *e, const char *name,
                                          rs_adaptive_limit *l);
/**
 * An adaptive rate: `adaptive_rate_*` families (the rate now and its
 * bounds in requests per second, +Inf for "none"; the last good and the
 * measured sent rate; throttles and reductions), read with
 * rs_adaptive_rate_metrics().
 * @param r  must stay valid until removed or the exporter is freed.
 * @return as rs_exporter_add(): #RS_OK; #RS_E_INVAL (a NULL argument, a
 *         name already used for an adaptive rate); #RS_E_NOMEM.
 * @note Thread-safe; a write takes the rate's spinlock briefly.
 * @since 0.2.0
 */
RS_API int rs_exporter_add_adaptive_rate(rs_exporter *e, const char *name,
                                         rs_adaptive_rate *r);
/** A policy: `policy_*` (not the modules it points to: add them too). @since 0.2.0 */
RS_API int rs_exporter_add_policy(rs_exporter *e, const char *name, rs_policy *p);
/**
 * A client: its policy and every module it owns (its bucket, window,
 * breaker, budget, bulkhead, concurrency limit and adaptive rate, those it
 * has), all under @p name (its bucket of tokens, which would share the token bucket families with its
 * bucket of requests, under `<name>:tokens`). rs_exporter_remove() with
 * the client removes them all.
 * @since 0.2.0
 */
RS_API int rs_exporter_add_client(rs_exporter *e, const char *name, rs_client *c);
/** A shared-memory token bucket: the `token_bucket_*` families (this
 *  process's counters). @since 0.2.0 */
RS_API int rs_exporter_add_shm_token_bucket(rs_exporter *e, const char *name,
                                            rs_shm_token_bucket *tb);
/** A shared-memory sliding window: the `sliding_window_*` families (this
 *  process's counters). @since 0.2.0 */
RS_API int rs_exporter_add_shm_sliding_window(rs_exporter *e, const char *name,
                                              rs_shm_sliding_window *w);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_METRICS_H */
