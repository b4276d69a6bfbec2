/**
 * @file http.h
 * @brief HTTP without a dependency: status classes, Retry-After, the
 *        rate-limit headers of HTTP and LLM APIs, and the server side's
 *        Retry-After and RateLimit fields.
 *
 * Everything here is pure computation on bytes the caller hands over: no
 * allocation, no locale, no system call, no global state. Every function
 * is thread-safe (an object passed in is only read, or only written by the
 * calling thread). Values are `(pointer, length)` pairs and need no NUL
 * terminator; nothing is read past the length.
 *
 * A client's user function (#rs_fn) typically classifies the status with
 * rs_http_classify(), feeds each response header to
 * rs_http_feedback_header() and hands the result to the policy with
 * rs_http_feedback_apply(). A server that answers 429 itself formats its
 * headers with rs_http_format_retry_after(), rs_http_format_ratelimit() and
 * rs_http_format_ratelimit_policy(). See docs/http.md.
 */
#ifndef RESILIENCE_HTTP_H
#define RESILIENCE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resilience/common.h"
#include "resilience/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status classes ------------------------------------------------------ */

/**
 * Classifies an HTTP status code with the library's defaults:
 *
 * | status                                  | verdict      | caller_fault |
 * |-----------------------------------------|--------------|--------------|
 * | 100-399                                 | #RS_SUCCESS  | false        |
 * | 408 Request Timeout                     | #RS_RETRY    | false        |
 * | 425 Too Early, 429 Too Many Requests    | #RS_RETRY    | true         |
 * | every other 4xx                         | #RS_FAIL     | true         |
 * | 5xx but the six below                   | #RS_RETRY    | false        |
 * | 501, 505, 506, 508, 510, 511            | #RS_FAIL     | false        |
 * | anything outside 100-599 (0, 99, 600, negative) | #RS_FAIL | false   |
 *
 * The six 5xx that fail are the ones a retry cannot fix (Not Implemented,
 * HTTP Version Not Supported, Variant Also Negotiates, Loop Detected, Not
 * Extended, Network Authentication Required). `caller_fault` marks an
 * answer about the request or the caller's quota rather than the service's
 * health: the policy's breaker and retry budget do not count it. To change
 * any of this, see #rs_http_classifier.
 *
 * @param status        the response's status code.
 * @param caller_fault  receives the caller_fault column; may be NULL.
 * @return the verdict column.
 * @note Pure; thread-safe.
 * @since 0.2.0
 */
RS_API rs_verdict rs_http_classify(int status, bool *caller_fault);

/** Lowest status a classifier has a rule for. @since 0.2.0 */
#define RS_HTTP_STATUS_MIN 100
/** Highest status a classifier has a rule for. @since 0.2.0 */
#define RS_HTTP_STATUS_MAX 599
/** Flag of a classifier rule: the status is the caller's fault. @since 0.2.0 */
#define RS_HTTP_CALLER_FAULT 0x04u

/**
 * A classification table: one rule per status from #RS_HTTP_STATUS_MIN to
 * #RS_HTTP_STATUS_MAX. Start from the defaults with
 * rs_http_classifier_init(), override ranges with rs_http_classifier_set(),
 * then classify with rs_http_classify_with():
 *
 *     rs_http_classifier c;
 *     rs_http_classifier_init(&c);
 *     rs_http_classifier_set(&c, 409, 409, RS_RETRY, false); // a conflict resolves itself
 *     rs_http_classifier_set(&c, 503, 503, RS_FAIL, false);  // this service's 503 is final
 *
 * Plain data, 500 bytes, no allocation: it can live on the stack, in a
 * static, or be copied. Statuses outside the table are always #RS_FAIL
 * without caller fault. Set it up before sharing it: reads from any number
 * of threads are safe, writes concurrent with reads are not.
 * @since 0.2.0
 */
typedef struct rs_http_classifier {
    /** rule for status RS_HTTP_STATUS_MIN + i: an #rs_verdict, OR'ed with
        #RS_HTTP_CALLER_FAULT for a caller's fault. Write it through
        rs_http_classifier_set(); a rule whose verdict bits hold no
        #rs_verdict reads as #RS_FAIL. */
    uint8_t rules[RS_HTTP_STATUS_MAX - RS_HTTP_STATUS_MIN + 1];
} rs_http_classifier;

/**
 * Fills @p c with the defaults of rs_http_classify(). NULL is ignored.
 * @note Thread-safe for distinct @p c.
 * @since 0.2.0
 */
RS_API void rs_http_classifier_init(rs_http_classifier *c);

/**
 * Sets the rule of every status from @p first_status to @p last_status
 * (inclusive) to @p verdict and @p caller_fault.
 *
 * @return #RS_OK; #RS_E_INVAL (nothing changed, rs_last_error() says why)
 *         when @p c is NULL, the range is empty or reaches outside
 *         #RS_HTTP_STATUS_MIN..#RS_HTTP_STATUS_MAX, or @p verdict is not
 *         an #rs_verdict.
 * @note Not safe concurrently with readers of @p c: configure, then share.
 * @since 0.2.0
 */
RS_API int rs_http_classifier_set(rs_http_classifier *c, int first_status, int last_status,
                                  rs_verdict verdict, bool caller_fault);

/**
 * rs_http_classify() through a table.
 *
 * @param c             the table; NULL = the defaults (as rs_http_classify()).
 * @param status        any int; outside the table: #RS_FAIL, no caller fault.
 * @param caller_fault  receives the rule's caller fault; may be NULL.
 * @note Reads @p c only; thread-safe. Does not allocate.
 * @since 0.2.0
 */
RS_API rs_verdict rs_http_classify_with(const rs_http_classifier *c, int status,
                                        bool *caller_fault);

/* ---- Retry-After --------------------------------------------------------- */

/**
 * Reads a Retry-After field value (RFC 9110 section 10.2.3) as a delay.
 *
 * Accepted, with optional whitespace (SP, HTAB) before and after:
 * - delta-seconds: `1*DIGIT` (`120`, `007`); a number too large for
 *   64-bit nanoseconds saturates to UINT64_MAX, never wraps;
 * - an HTTP-date (RFC 9110 section 5.6.7) in any of its three forms:
 *   IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850
 *   form `Sunday, 06-Nov-94 08:49:37 GMT` and asctime's
 *   `Sun Nov  6 08:49:37 1994`. Day and month names and `GMT` match
 *   without regard to case; the day name must be a real one but need not
 *   agree with the date. A two-digit year is the year with those last two
 *   digits that is at most 50 years after the year of @p now_unix_s and
 *   less than 50 before it (RFC 9110's rule: a date that appears more than
 *   50 years in the future is in the past century). Second 60 (a leap
 *   second) is allowed and counts as the next minute's second 0.
 *
 * The delay until a date is counted from @p now_unix_s; a date at or before
 * it gives 0. The result is never earlier than the value says.
 *
 * Rejected (#RS_E_INVAL): an empty or blank value, signs, decimals, other
 * text before or after the value, a day or month name that does not exist,
 * a day the month does not have (31 in a 30-day month, 29 February outside
 * a leap year), hour 24 or above, minute 60 or above, second 61 or above,
 * a time zone other than GMT, missing or doubled separators, a
 * single-digit day written without asctime's padding space.
 *
 * @param value       the field value, not NUL-terminated; NULL is #RS_E_INVAL.
 * @param len         its length in bytes.
 * @param now_unix_s  the caller's wall clock, seconds since 1970-01-01 UTC.
 * @param delay_ns    receives the delay in ns; untouched on error.
 * @return #RS_OK or #RS_E_INVAL (rs_last_error() is not set: the function
 *         is pure).
 * @note Pure (no locale, no timegm): thread-safe; does not allocate.
 * @since 0.2.0
 */
RS_API int rs_http_retry_after(const char *value, size_t len, int64_t now_unix_s,
                               uint64_t *delay_ns);

/* ---- Feedback: what the response's headers say --------------------------- */

/**
 * Where a quota was read from: one slot of rs_http_feedback.quotas per
 * header family. The first six count what their names say; the IETF and
 * X-RateLimit families count requests.
 * @since 0.2.0
 */
typedef enum rs_http_quota_source {
    RS_HTTP_QUOTA_OPENAI_REQUESTS = 0,          /**< x-ratelimit-{limit,remaining,reset}-requests */
    RS_HTTP_QUOTA_OPENAI_TOKENS = 1,            /**< x-ratelimit-{limit,remaining,reset}-tokens */
    RS_HTTP_QUOTA_ANTHROPIC_REQUESTS = 2,       /**< anthropic-ratelimit-requests-* */
    RS_HTTP_QUOTA_ANTHROPIC_TOKENS = 3,         /**< anthropic-ratelimit-tokens-* */
    RS_HTTP_QUOTA_ANTHROPIC_INPUT_TOKENS = 4,   /**< anthropic-ratelimit-input-tokens-* */
    RS_HTTP_QUOTA_ANTHROPIC_OUTPUT_TOKENS = 5,  /**< anthropic-ratelimit-output-tokens-* */
    RS_HTTP_QUOTA_IETF = 6,                     /**< structured RateLimit and RateLimit-Policy */
    RS_HTTP_QUOTA_IETF_FIELDS = 7,              /**< RateLimit-Limit, -Remaining, -Reset */
    RS_HTTP_QUOTA_X_RATELIMIT = 8               /**< X-RateLimit-* and X-Rate-Limit-* */
} rs_http_quota_source;

/** Number of #rs_http_quota_source values: the size of rs_http_feedback.quotas. @since 0.2.0 */
#define RS_HTTP_QUOTA_SOURCES 9

/**
 * One quota as one header family described it.
 * @since 0.2.0
 */
typedef struct rs_http_quota {
    int64_t limit;      /**< units per window; -1 = not given */
    int64_t remaining;  /**< units left in the window; -1 = not given */
    uint64_t reset_ns;  /**< until the quota resets (or, IETF, the effective window ends); 0 = not given */
    uint64_t window_ns; /**< the policy's window (IETF `w` only); 0 = not given */
    /** requests per second the slot's policies allow on average: the least
        `q / w` (or `limit;w=`) among every request policy with a window
        that its fields named, also the ones `limit` and `window_ns` do not
        keep (a burst policy keeps `limit`, a daily one may set this);
        0 = no policy with a window, or a quota of 0 (IETF slots only).
        @since 0.2.0 */
    double rate;
} rs_http_quota;

/**
 * What one response's headers say about the caller's quota. Initialise with
 * rs_http_feedback_init() for each response, feed every header to
 * rs_http_feedback_header(), then read the fields or hand them to the
 * policy with rs_http_feedback_apply().
 *
 * Headers understood (names without regard to case; every value may have
 * whitespace around it; counts are `1*DIGIT`, saturating at INT64_MAX):
 *
 * | header | value | fills |
 * |---|---|---|
 * | `Retry-After` (also Anthropic's `retry-after`) | as rs_http_retry_after() | retry_after_header_ns |
 * | `retry-after-ms` (OpenAI, Azure OpenAI) | milliseconds, `1*DIGIT ["." 1*DIGIT]` (`548`, `1500.5`) | retry_after_ms_header_ns |
 * | `x-ratelimit-limit-requests`, `-tokens` (OpenAI) | count | OPENAI_* limit |
 * | `x-ratelimit-remaining-requests`, `-tokens` | count | OPENAI_* remaining |
 * | `x-ratelimit-reset-requests`, `-tokens` | Go duration: `1s`, `6m0s`, `250ms`, `1h2m3.5s`, `0.5s`, `0`; units h m s ms us µs μs ns | OPENAI_* reset_ns |
 * | `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-limit` | count | ANTHROPIC_* limit |
 * | `anthropic-ratelimit-...-remaining` | count | ANTHROPIC_* remaining |
 * | `anthropic-ratelimit-...-reset` | RFC 3339 date-time (`2024-01-01T00:00:30Z`, `...30.25Z`, `...30+01:00`), turned into a delay from now | ANTHROPIC_* reset_ns |
 * | `RateLimit` (draft-ietf-httpapi-ratelimit-headers-08 and later) | structured List of Items `"name";r=N;t=S` (`"default";r=50;t=30`) | IETF remaining, reset_ns |
 * | `RateLimit` (drafts 03 to 07) | structured Dictionary `limit=100, remaining=50, reset=5` | IETF limit, remaining, reset_ns |
 * | `RateLimit-Policy` (08 and later) | List of Items `"name";q=N;w=S` with optional `qu`, `pk` | IETF limit, window_ns, rate |
 * | `RateLimit-Policy` (03 to 07) | List of Items `N;w=S` (`100;w=60`) | IETF limit, window_ns, rate |
 * | `RateLimit-Limit` (drafts 00 to 02) | List whose first Item is an Integer, with an optional `w` (`100`, `10, 10;w=1`); every Item with a `w` counts for the rate | IETF_FIELDS limit, window_ns, rate |
 * | `RateLimit-Remaining`, `RateLimit-Reset` | structured Integer: count, delta-seconds | IETF_FIELDS remaining, reset_ns |
 * | `X-RateLimit-Limit`, `-Remaining` (GitHub and many more; also `X-Rate-Limit-*`) | count | X_RATELIMIT limit, remaining |
 * | `X-RateLimit-Reset`, `X-Rate-Limit-Reset` | seconds `1*DIGIT ["." 1*DIGIT]`: below 10^9 a delay, from 10^9 on (2001-09-09) a Unix time turned into a delay from now | X_RATELIMIT reset_ns |
 *
 * Structured values follow RFC 9651 (Structured Field Values): a value
 * that is not a valid List, Dictionary or Item, a `r`, `q`, `t` or `w` that
 * is not a non-negative Integer (`w` must be positive), an Item without its
 * required `r` (RateLimit) or `q` (RateLimit-Policy), or a member of
 * another type (an inner list) makes the whole field malformed. In a List,
 * the Item with the least `r` describes the quota (among equals, the one
 * with the longest `t`), so a list split over several RateLimit fields
 * reads the same. A policy whose `qu` is present and not `"requests"` is
 * not counted; RateLimit Items carry no unit and count as requests.
 *
 * Several values for one slot (a header repeated, several policies) keep
 * the most restrictive: the smallest limit (with its window; among equal
 * limits the longest window), the smallest remaining, the longest reset,
 * the lowest rate.
 * In the IETF slot a RateLimit value describes a whole quota, so its
 * remaining and reset stay together: the value with the least remaining
 * wins (among equals the longest reset; one without a remaining ranks as
 * unlimited by count). No result depends on the order of the headers.
 *
 * The summary fields (the first seven) are derived after every header,
 * per family: requests from OPENAI_REQUESTS, ANTHROPIC_REQUESTS, IETF,
 * IETF_FIELDS and X_RATELIMIT; tokens from the four token slots.
 * `remaining_X` is the smallest remaining given, `reset_X_ns` the longest
 * reset among the slots with that smallest remaining (or, when no
 * remaining was given, the longest reset), `limit_X` the smallest limit.
 * `retry_after_ns` is retry_after_ms_header_ns when that is non-zero (the
 * finer value of the same instruction), else retry_after_header_ns.
 *
 * Not understood (ignored like any unknown name): OpenAI's
 * `x-ratelimit-*-tokens_usage_based`, GitHub's `X-RateLimit-Used` and
 * `-Resource`, per-window names such as `x-ratelimit-limit-minute`,
 * reset values in epoch milliseconds, durations without a unit.
 *
 * Plain data: copy it, keep it on the stack. Not synchronised: one thread
 * feeds one feedback.
 * @since 0.2.0
 */
typedef struct rs_http_feedback {
    uint64_t retry_after_ns;                     /**< Retry-After, retry-after-ms; 0 = none */
    int64_t limit_requests, remaining_requests;  /**< -1 = not given */
    int64_t limit_tokens, remaining_tokens;      /**< -1 = not given */
    uint64_t reset_requests_ns, reset_tokens_ns; /**< until reset; 0 = not given */
    /** Retry-After alone (the longest when repeated); 0 = none. */
    uint64_t retry_after_header_ns;
    /** retry-after-ms alone (the longest when repeated); 0 = none. */
    uint64_t retry_after_ms_header_ns;
    /** each header family's quota, indexed by #rs_http_quota_source */
    rs_http_quota quotas[RS_HTTP_QUOTA_SOURCES];
} rs_http_feedback;

/**
 * Resets @p f to "nothing given": durations 0, counts -1. Call it once per
 * response. NULL is ignored.
 * @since 0.2.0
 */
RS_API void rs_http_feedback_init(rs_http_feedback *f);

/**
 * Feeds one response header to @p f (see #rs_http_feedback for the names
 * and forms understood).
 *
 * @param f           the feedback of this response.
 * @param name        the field name, without the colon; any case.
 * @param name_len    its length.
 * @param value       the field value (without the line's CR LF), not
 *                    NUL-terminated.
 * @param value_len   its length.
 * @param now_unix_s  the caller's wall clock, seconds since 1970-01-01 UTC,
 *                    for the values that are instants (HTTP-dates, RFC 3339,
 *                    Unix times).
 * @return #RS_OK when the header was read, and for every name not
 *         understood (the value is not looked at); #RS_E_INVAL for a NULL
 *         @p f, @p name or @p value, or a known name whose value is
 *         malformed: @p f is then left exactly as it was.
 *         rs_last_error() is not set.
 * @note Thread-safe for distinct @p f. Does not allocate.
 * @since 0.2.0
 */
RS_API int rs_http_feedback_header(rs_http_feedback *f, const char *name, size_t name_len,
                                   const char *value, size_t value_len, int64_t now_unix_s);

/**
 * The pause the feedback asks of every caller: the quota is spent until a
 * reset. It is the longest of `reset_requests_ns` when `remaining_requests`
 * is 0 and `reset_tokens_ns` when `remaining_tokens` is 0; 0 when neither
 * is spent (or @p f is NULL). Retry-After is not part of it (the policy
 * already pauses on attempt->retry_after_ns).
 * @since 0.2.0
 */
RS_API uint64_t rs_http_feedback_pause_ns(const rs_http_feedback *f);

/** The window the request limits of OpenAI (`x-ratelimit-limit-requests`)
    and Anthropic (`anthropic-ratelimit-requests-limit`) are read over by
    rs_http_feedback_request_rate(): one minute. @since 0.2.0 */
#define RS_HTTP_LLM_REQUEST_WINDOW_NS UINT64_C(60000000000)

/** The highest rate rs_http_feedback_request_rate() answers, requests per
    second: the finest a token bucket takes (one per nanosecond). @since 0.2.0 */
#define RS_HTTP_MAX_REQUEST_RATE 1e9

/**
 * The request rate the server advertises, requests per second: what a
 * client may send on average and stay within every request quota the
 * headers described. The lowest of:
 *
 * - each IETF slot's `rate` (#RS_HTTP_QUOTA_IETF, #RS_HTTP_QUOTA_IETF_FIELDS):
 *   `q / w` of every `RateLimit-Policy` item, or `N;w=S` of
 *   `RateLimit-Limit`, that counts requests, the least among them (a
 *   `"burst";q=100;w=60, "daily";q=1000;w=86400` advertises the daily
 *   0.0116/s: sending faster spends the day's quota early, and the rest of
 *   the day is a pause);
 * - `limit / 60 s` of the #RS_HTTP_QUOTA_OPENAI_REQUESTS and
 *   #RS_HTTP_QUOTA_ANTHROPIC_REQUESTS slots (#RS_HTTP_LLM_REQUEST_WINDOW_NS).
 *   Neither header names its window, but both providers document their
 *   request limits as requests per minute (RPM), and Anthropic replenishes
 *   them continuously, as a token bucket at limit / 60 per second. Where
 *   the number is really over a longer window (an account whose binding
 *   limit is per day), the rate read is too high, never too low: a ceiling
 *   that is too loose costs a 429 that the adaptive rate learns from,
 *   where one too tight would slow every call for nothing.
 *
 * Not used: the X-RateLimit-* family (GitHub counts per hour, others per
 * second, minute or day, and nothing in the headers says which), the
 * token slots (tokens per minute say nothing about requests without the
 * size of each), remaining counts and resets (rs_http_feedback_pause_ns()
 * covers a spent quota), and a limit of 0 (a quota of nothing is a pause,
 * which the remaining and reset of the same response express, not a rate).
 *
 * Strict: a slot `rate` that is NaN, infinite, negative or 0 (written by
 * hand: the parser writes none) counts as none; a rate above
 * #RS_HTTP_MAX_REQUEST_RATE (a huge limit over a short window)
 * answers #RS_HTTP_MAX_REQUEST_RATE.
 *
 * @param f  the feedback; NULL gives 0.
 * @return requests per second, in (0, #RS_HTTP_MAX_REQUEST_RATE]; 0 when
 *         no header advertised a request rate.
 * @note Pure: reads @p f only; thread-safe. Does not allocate.
 * @since 0.2.0
 */
RS_API double rs_http_feedback_request_rate(const rs_http_feedback *f);

/**
 * Hands the feedback to the policy: raises `attempt->retry_after_ns` to
 * `f->retry_after_ns` and `attempt->pause_ns` to
 * rs_http_feedback_pause_ns(), and lowers `attempt->advertised_rate` to
 * rs_http_feedback_request_rate(). Never lowers a wait nor raises a rate
 * (for the rate, 0 on either side means none, and the other stands): a
 * longer wait or a lower rate the user function already set (from the
 * response body, say) stays, so the policy never retries before any of
 * them nor sends faster than any of them allows. Touches nothing else.
 * NULL @p f or @p attempt does nothing.
 * @since 0.2.0
 */
RS_API void rs_http_feedback_apply(const rs_http_feedback *f, rs_attempt *attempt);

/* ---- Server side: formatting the headers of a 429 ------------------------ */

/**
 * Formats a Retry-After value: @p wait_ns as delta-seconds, rounded up (a
 * client that honours it never comes back early); 0 gives `0`.
 *
 * @param buf   receives the value and a NUL; NULL only with @p size 0.
 * @param size  room in @p buf, NUL included (21 bytes hold any value).
 * @return the length written (without the NUL), or #RS_E_INVAL when it
 *         does not fit (then `buf[0]` is NUL when @p size > 0: never a
 *         truncated value).
 * @note Thread-safe; does not allocate.
 * @since 0.2.0
 */
RS_API int rs_http_format_retry_after(char *buf, size_t size, uint64_t wait_ns);

/**
 * One quota policy and its current state, as a server's limiter sees it,
 * for rs_http_format_ratelimit() and rs_http_format_ratelimit_policy().
 * Counts above the largest structured Integer (999,999,999,999,999) are
 * written as that; durations are rounded up to whole seconds.
 * @since 0.2.0
 */
typedef struct rs_http_ratelimit {
    /** the policy's name, a NUL-terminated string of printable ASCII
        (`"` and `\` are escaped); NULL = "default" */
    const char *policy;
    uint64_t quota;     /**< units allowed per window (RateLimit-Policy `q`) */
    uint64_t window_ns; /**< the window (RateLimit-Policy `w`); 0 = not written */
    uint64_t remaining; /**< units left now (RateLimit `r`) */
    /** until the remaining units may be used again in full: with 0
        remaining, the wait the limiter reported (RateLimit `t`);
        UINT64_MAX = not written */
    uint64_t reset_ns;
} rs_http_ratelimit;

/**
 * Formats the IETF RateLimit field value (draft-ietf-httpapi-ratelimit-
 * headers-08 and later): `"default";r=0;t=30`.
 *
 * @return the length written (without the NUL), or #RS_E_INVAL when @p rl
 *         is NULL, the policy name holds a byte outside printable ASCII,
 *         or the value does not fit in @p size bytes with its NUL (then
 *         `buf[0]` is NUL when @p size > 0).
 * @note Thread-safe; does not allocate.
 * @since 0.2.0
 */
RS_API int rs_http_format_ratelimit(char *buf, size_t size, const rs_http_ratelimit *rl);

/**
 * Formats the IETF RateLimit-Policy field value: `"default";q=100;w=60`.
 * Same returns as rs_http_format_ratelimit().
 * @since 0.2.0
 */
RS_API int rs_http_format_ratelimit_policy(char *buf, size_t size, const rs_http_ratelimit *rl);

#ifdef __cplusplus
}
#endif

#endif /* RESILIENCE_HTTP_H */
