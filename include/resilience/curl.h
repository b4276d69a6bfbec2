/**
 * @file curl.h
 * @brief libresilience-curl: libcurl transfers through an rs_policy.
 *
 * One call to rs_curl_perform() makes a libcurl easy handle go through the
 * policy's limits, breaker, retry and budget: each attempt is one
 * curl_easy_perform() bounded by the call's deadline; its outcome is
 * classified from the CURLcode and the HTTP status (rs_http_classify());
 * the response headers feed an #rs_http_feedback, so a Retry-After or a
 * spent rate-limit quota is honoured (and, with the policy's
 * `share_server_pause`, holds every call on the policy), and an advertised
 * request rate caps the policy's adaptive rate. The event-loop
 * form, #rs_curl_multi, drives curl's multi interface with the policy's
 * step API and never sleeps.
 *
 * A library of its own (`pkg-config --cflags --libs resilience-curl`, meson
 * feature `curl`), built when libcurl is found. This header includes
 * <curl/curl.h>: resilience-curl.pc requires libcurl publicly. The policy
 * must run on the system clock (the default): curl's timeouts are real
 * time.
 */
#ifndef RESILIENCE_CURL_H
#define RESILIENCE_CURL_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "resilience/common.h"
#include "resilience/http.h"
#include "resilience/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What the last attempt of a transfer saw. @since 0.2.0 */
typedef struct rs_curl_result {
    CURLcode code;              /**< its curl result; CURLE_OK when a response came */
    long http_status;           /**< its HTTP status; 0 when no response came */
    rs_http_feedback feedback;  /**< what its response headers said about the quota */
} rs_curl_result;

/**
 * Classifies one attempt. @p code is the attempt's CURLcode and
 * @p http_status its HTTP status (0 without a response). Sets
 * `*caller_fault` (never NULL) for failures that are not the service's.
 * @since 0.2.0
 */
typedef rs_verdict (*rs_curl_classify_fn)(void *ctx, CURLcode code, long http_status,
                                          const rs_http_feedback *feedback, bool *caller_fault);

/**
 * Options of one transfer; zero = defaults. Start from
 * #RS_CURL_OPTIONS_DEFAULT.
 * @since 0.2.0
 */
typedef struct rs_curl_options {
    /** per-call token estimate, timeout and account; NULL = the policy's */
    const rs_call_options *call;
    /** before each attempt, e.g. to empty the buffer the write callback
        fills (a failed attempt's body must not stay in front of the next
        one's) or to rewind an upload; NULL = nothing */
    void (*before_attempt)(void *ctx, CURL *easy, const rs_attempt *attempt);
    /** after each attempt that got a response: the tokens it used (an LLM
        API's usage), charged to the policy's account; NULL = 0 */
    uint64_t (*tokens_used)(void *ctx, CURL *easy);
    /** the caller's own header callback, called with every header line as
        CURLOPT_HEADERFUNCTION would be (the transfer installs its own);
        NULL = none */
    size_t (*on_header)(void *ctx, const char *line, size_t len);
    /** replaces rs_curl_classify(); NULL = the default */
    rs_curl_classify_fn classify;
    void *ctx;                  /**< passed to every callback above */
    /** receives what the last attempt saw; may be NULL */
    rs_curl_result *result;
} rs_curl_options;

/** #RS_CURL_OPTIONS_DEFAULT as a brace initializer. @since 0.2.0 */
#define RS_CURL_OPTIONS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/** Defaults: the policy's call options, no callbacks, the default
    classification. @since 0.2.0 */
#define RS_CURL_OPTIONS_DEFAULT ((rs_curl_options)RS_CURL_OPTIONS_INIT)

/**
 * The default classification of an attempt:
 * - CURLE_OK: rs_http_classify(@p http_status) (a 429 is the caller's
 *   fault, a 503 is retried, a 400 fails).
 * - Transient transport errors are retried (#RS_RETRY): the connection
 *   could not be made or broke (CURLE_COULDNT_CONNECT,
 *   CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY,
 *   CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
 *   CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM,
 *   CURLE_HTTP3, CURLE_QUIC_CONNECT_ERROR).
 * - Everything else fails for good (#RS_FAIL, `caller_fault` true): TLS
 *   certificate and verification errors, a malformed URL, an unsupported
 *   protocol, a callback that aborted (CURLE_ABORTED_BY_CALLBACK,
 *   CURLE_WRITE_ERROR, CURLE_READ_ERROR), out of memory: retrying cannot
 *   help and the service is not to blame.
 * @param caller_fault  may be NULL.
 * @note Thread-safe; pure.
 * @since 0.2.0
 */
RS_API rs_verdict rs_curl_classify(CURLcode code, long http_status, bool *caller_fault);

/**
 * Performs @p easy through @p p, blocking: one curl_easy_perform() per
 * attempt, until success, a permanent failure, the policy's attempt
 * limit, retry budget or deadline, or a local refusal.
 *
 * Each attempt sets CURLOPT_TIMEOUT_MS to the time left before the call's
 * deadline (when the call has one), and CURLOPT_HEADERFUNCTION and
 * CURLOPT_HEADERDATA to its own header reader (forwarding to
 * `opts->on_header`); they stay set on @p easy afterwards. The headers of
 * each response (the last one, after redirects and 1xx) feed an
 * #rs_http_feedback read against the wall clock; rs_http_feedback_apply()
 * turns it into the attempt's `retry_after_ns`, `pause_ns` and
 * `advertised_rate`. The HTTP
 * status goes to `attempt->error` (the report's `last_error`), or the
 * negated CURLcode when no response came.
 *
 * @param p       the policy, on the system clock.
 * @param easy    a configured easy handle (URL, body, write callback...).
 * @param opts    may be NULL (defaults).
 * @param report  may be NULL.
 * @return what rs_call_with() returns: #RS_OK (a 2xx, or what
 *         `opts->classify` accepted), #RS_E_FAILED, #RS_E_EXHAUSTED,
 *         #RS_E_TIMEOUT, #RS_E_LIMITED, #RS_E_OPEN, #RS_E_BUDGET, #RS_E_IO;
 *         #RS_E_INVAL for a NULL @p p or @p easy.
 * @note Thread-safe for distinct easy handles (libcurl's rule: one handle
 *       per thread at a time).
 * @since 0.2.0
 */
RS_API int rs_curl_perform(rs_policy *p, CURL *easy, const rs_curl_options *opts,
                           rs_call_report *report);

/* ---- Event loops: curl's multi interface ----------------------------------- */

/** Opaque set of transfers on one CURLM. */
typedef struct rs_curl_multi rs_curl_multi;

/**
 * Called once when a transfer finishes, from rs_curl_multi_perform(), with
 * its status (as rs_curl_perform() returns it) and report. The easy handle
 * is no longer in the multi handle: the callback may free it or add it
 * again.
 * @since 0.2.0
 */
typedef void (*rs_curl_done_fn)(void *ctx, CURL *easy, int status, const rs_call_report *report);

/**
 * Wraps @p multi for transfers through policies. The caller keeps owning
 * @p multi, but must add easy handles to it only through
 * rs_curl_multi_add(): rs_curl_multi_perform() reads every message of it.
 * @return #RS_OK; #RS_E_INVAL (NULL argument); #RS_E_NOMEM.
 * @since 0.2.0
 */
RS_API int rs_curl_multi_new(CURLM *multi, rs_curl_multi **out);

/**
 * Starts a transfer of @p easy through @p p: as rs_curl_perform(), but the
 * attempts are added to the multi handle and the waits between them are
 * timers the loop honours through rs_curl_multi_timeout_ms(). @p opts is
 * copied (the pointers in it must stay valid until @p done runs);
 * `opts->result` is filled before @p done runs.
 *
 * @return #RS_OK (the transfer is under way; @p done will run), or
 *         #RS_E_INVAL / #RS_E_NOMEM (nothing started, @p done will not
 *         run). A transfer refused at once (an open breaker) is not an
 *         error here: @p done reports it from the next
 *         rs_curl_multi_perform().
 * @note Not thread-safe: one rs_curl_multi belongs to one loop thread, as
 *       its CURLM does.
 * @since 0.2.0
 */
RS_API int rs_curl_multi_add(rs_curl_multi *m, rs_policy *p, CURL *easy,
                             const rs_curl_options *opts, rs_curl_done_fn done, void *done_ctx);

/**
 * One turn of the loop: curl_multi_perform(), then every finished attempt
 * is classified and its transfer moved on (retried now, or after a wait,
 * or finished: @p done runs), and every transfer whose wait is over
 * starts its next attempt.
 *
 * @param running  receives the number of transfers not yet done (may be
 *                 NULL).
 * @return #RS_OK, or #RS_E_IO when curl_multi_perform() failed
 *         (rs_last_error() says why).
 * @since 0.2.0
 */
RS_API int rs_curl_multi_perform(rs_curl_multi *m, int *running);

/**
 * How long the loop may wait for socket activity before calling
 * rs_curl_multi_perform() again, in ms: the earlier of curl's own timeout
 * and the end of the next retry wait. -1 when nothing is pending. Pass it
 * to curl_multi_poll() / curl_multi_wait().
 * @since 0.2.0
 */
RS_API long rs_curl_multi_timeout_ms(rs_curl_multi *m);

/**
 * Abandons every unfinished transfer (each @p done runs with
 * #RS_E_TIMEOUT, as rs_call_end() abandons a call), removes their easy
 * handles from the multi handle, and frees @p m. NULL is ignored.
 * @since 0.2.0
 */
RS_API void rs_curl_multi_free(rs_curl_multi *m);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_CURL_H */
