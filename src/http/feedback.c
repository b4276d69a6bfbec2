/* rs_http_feedback: response headers, one at a time, into one quota slot per
 * header family, and the summary the policy acts on. A value is read in
 * full before anything is written, so a malformed header changes nothing. */
#include "resilience/http.h"

#include <string.h>

#include "core/arith.h"
#include "http/internal.h"

#define NS_PER_SEC UINT64_C(1000000000)
#define NS_PER_MS UINT64_C(1000000)
/* X-RateLimit-Reset: below this many seconds (2001-09-09 as a Unix time,
 * 31 years as a delay) a delay, from it on a Unix time. */
#define UNIX_TIME_FROM UINT64_C(1000000000)

typedef enum syntax {
    RETRY_AFTER,     /* rs_http_retry_after() */
    RETRY_AFTER_MS,  /* milliseconds, fraction allowed */
    LIMIT,           /* a count */
    REMAINING,       /* a count */
    RESET_DURATION,  /* Go duration (OpenAI) */
    RESET_RFC3339,   /* RFC 3339 instant (Anthropic) */
    RESET_SECONDS_OR_UNIX_TIME, /* X-RateLimit-Reset */
    IETF_RATELIMIT,
    IETF_POLICY,
    IETF_LIMIT,
    IETF_REMAINING,
    IETF_RESET
} syntax;

typedef struct known_header {
    const char *name; /* lowercase */
    uint8_t len;
    uint8_t syntax;
    uint8_t source; /* rs_http_quota_source; unused for Retry-After */
} known_header;

#define HEADER(name, syntax, source) { name, (uint8_t)(sizeof name - 1), syntax, source }
/* The three headers of a family: <prefix>limit<suffix>, remaining, reset. */
#define TRIPLE(prefix, suffix, limit_syntax, remaining_syntax, reset_syntax, source)          \
    HEADER(prefix "limit" suffix, limit_syntax, source),                                     \
    HEADER(prefix "remaining" suffix, remaining_syntax, source),                             \
    HEADER(prefix "reset" suffix, reset_syntax, source)
/* ... whose limit and remaining are plain counts. */
#define COUNTS(prefix, suffix, reset_syntax, source)                                         \
    TRIPLE(prefix, suffix, LIMIT, REMAINING, reset_syntax, source)

/* Grouped by first letter, so the name of another response header (most
 * of them) is passed over after one comparison. */
static const known_header r_headers[] = {
    HEADER("retry-after", RETRY_AFTER, 0),
    HEADER("retry-after-ms", RETRY_AFTER_MS, 0),
    HEADER("ratelimit", IETF_RATELIMIT, RS_HTTP_QUOTA_IETF),
    HEADER("ratelimit-policy", IETF_POLICY, RS_HTTP_QUOTA_IETF),
    TRIPLE("ratelimit-", "", IETF_LIMIT, IETF_REMAINING, IETF_RESET, RS_HTTP_QUOTA_IETF_FIELDS),
};

static const known_header x_headers[] = {
    COUNTS("x-ratelimit-", "-requests", RESET_DURATION, RS_HTTP_QUOTA_OPENAI_REQUESTS),
    COUNTS("x-ratelimit-", "-tokens", RESET_DURATION, RS_HTTP_QUOTA_OPENAI_TOKENS),
    COUNTS("x-ratelimit-", "", RESET_SECONDS_OR_UNIX_TIME, RS_HTTP_QUOTA_X_RATELIMIT),
    COUNTS("x-rate-limit-", "", RESET_SECONDS_OR_UNIX_TIME, RS_HTTP_QUOTA_X_RATELIMIT),
};

static const known_header a_headers[] = {
    COUNTS("anthropic-ratelimit-requests-", "", RESET_RFC3339, RS_HTTP_QUOTA_ANTHROPIC_REQUESTS),
    COUNTS("anthropic-ratelimit-tokens-", "", RESET_RFC3339, RS_HTTP_QUOTA_ANTHROPIC_TOKENS),
    COUNTS("anthropic-ratelimit-input-tokens-", "", RESET_RFC3339,
           RS_HTTP_QUOTA_ANTHROPIC_INPUT_TOKENS),
    COUNTS("anthropic-ratelimit-output-tokens-", "", RESET_RFC3339,
           RS_HTTP_QUOTA_ANTHROPIC_OUTPUT_TOKENS),
};

#define GROUP(array) array, sizeof array / sizeof array[0]

static const known_header *find_in(const known_header *headers, size_t count, const char *name,
                                   size_t len)
{
    for (size_t i = 0; i < count; i++) {
        if (headers[i].len == len && rs__http_lower_equals(name, headers[i].name, len)) {
            return &headers[i];
        }
    }
    return NULL;
}

static const known_header *find_header(const char *name, size_t len)
{
    if (len == 0) {
        return NULL;
    }
    switch (name[0]) {
    case 'r': case 'R':
        return find_in(GROUP(r_headers), name, len);
    case 'x': case 'X':
        return find_in(GROUP(x_headers), name, len);
    case 'a': case 'A':
        return find_in(GROUP(a_headers), name, len);
    default:
        return NULL;
    }
}

/* The slots of each family. */
static const uint8_t request_slots[] = {
    RS_HTTP_QUOTA_OPENAI_REQUESTS, RS_HTTP_QUOTA_ANTHROPIC_REQUESTS, RS_HTTP_QUOTA_IETF,
    RS_HTTP_QUOTA_IETF_FIELDS, RS_HTTP_QUOTA_X_RATELIMIT,
};
static const uint8_t token_slots[] = {
    RS_HTTP_QUOTA_OPENAI_TOKENS, RS_HTTP_QUOTA_ANTHROPIC_TOKENS,
    RS_HTTP_QUOTA_ANTHROPIC_INPUT_TOKENS, RS_HTTP_QUOTA_ANTHROPIC_OUTPUT_TOKENS,
};

static bool counts_tokens(rs_http_quota_source source)
{
    return memchr(token_slots, (int)source, sizeof token_slots) != NULL;
}

void rs_http_feedback_init(rs_http_feedback *f)
{
    if (f == NULL) {
        return;
    }
    *f = (rs_http_feedback){ .limit_requests = -1,
                             .remaining_requests = -1,
                             .limit_tokens = -1,
                             .remaining_tokens = -1 };
    for (size_t i = 0; i < RS_HTTP_QUOTA_SOURCES; i++) {
        f->quotas[i] = (rs_http_quota){ -1, -1, 0, 0, 0.0 };
    }
}

/* X-RateLimit-Reset: GitHub sends a Unix time, others a delay, Discord a
 * Unix time with a fraction; the size of the number tells them apart. */
static bool reset_seconds_or_unix_time(const char *s, size_t len, int64_t now_unix_s,
                                       uint64_t *reset_ns)
{
    rs__http_decimal d;
    if (!rs__http_number(s, len, true, &d)) {
        return false;
    }
    if (d.whole < UNIX_TIME_FROM) {
        *reset_ns = rs__http_decimal_ns(&d, NS_PER_SEC);
        return true;
    }
    int64_t at_unix_s = d.whole > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d.whole;
    d.whole = 0;
    *reset_ns = rs__http_delay_until(at_unix_s, (uint32_t)rs__http_decimal_ns(&d, NS_PER_SEC),
                                     now_unix_s);
    return true;
}

static bool reset_rfc3339(const char *s, size_t len, int64_t now_unix_s, uint64_t *reset_ns)
{
    int64_t at_unix_s;
    uint32_t nanos;
    rs__http_trim(&s, &len);
    if (!rs__http_rfc3339(s, len, &at_unix_s, &nanos)) {
        return false;
    }
    *reset_ns = rs__http_delay_until(at_unix_s, nanos, now_unix_s);
    return true;
}

/* Reads the value of a quota header into an update of its slot. */
static bool read_quota(syntax kind, const char *s, size_t len, int64_t now_unix_s,
                       rs__http_quota_update *u)
{
    *u = RS__HTTP_NO_UPDATE;
    switch (kind) {
    case LIMIT:
        return (u->has_limit = rs__http_count(s, len, &u->limit));
    case REMAINING:
        return (u->has_remaining = rs__http_count(s, len, &u->remaining));
    case RESET_DURATION:
        return (u->has_reset = rs__http_duration(s, len, &u->reset_ns));
    case RESET_RFC3339:
        return (u->has_reset = reset_rfc3339(s, len, now_unix_s, &u->reset_ns));
    case RESET_SECONDS_OR_UNIX_TIME:
        return (u->has_reset = reset_seconds_or_unix_time(s, len, now_unix_s, &u->reset_ns));
    case IETF_RATELIMIT:
        return rs__http_ietf_ratelimit(s, len, u);
    case IETF_POLICY:
        return rs__http_ietf_policy(s, len, u);
    case IETF_LIMIT:
        return rs__http_ietf_limit(s, len, u);
    case IETF_REMAINING:
        return (u->has_remaining = rs__http_ietf_integer(s, len, &u->remaining));
    case IETF_RESET: {
        int64_t seconds;
        if (!rs__http_ietf_integer(s, len, &seconds)) {
            return false;
        }
        u->reset_ns = rs__sat_mul((uint64_t)seconds, NS_PER_SEC);
        return (u->has_reset = true);
    }
    default:
        return false;
    }
}

/* Folds an update into its slot, keeping the more restrictive value. Every
 * rule is a minimum or a maximum, so the order in which a response's
 * headers arrive does not change the result. */
static void merge(rs_http_quota *q, const rs__http_quota_update *u)
{
    if (u->has_limit && rs__http_tighter_limit(u->limit, u->window_ns, q->limit, q->window_ns)) {
        q->limit = u->limit;
        q->window_ns = u->window_ns;
    }
    rs__http_keep_least_rate(&q->rate, u->rate);
    if (u->whole_quota) {
        if ((u->has_remaining || u->has_reset) &&
            rs__http_tighter_quota(u->has_remaining ? u->remaining : -1, u->reset_ns, q->remaining,
                                   q->reset_ns)) {
            q->remaining = u->has_remaining ? u->remaining : -1;
            q->reset_ns = u->reset_ns;
        }
        return;
    }
    if (u->has_remaining && (q->remaining < 0 || u->remaining < q->remaining)) {
        q->remaining = u->remaining;
    }
    if (u->has_reset) {
        q->reset_ns = rs__max_u64(q->reset_ns, u->reset_ns);
    }
}

/* The summary of one family: the smallest limit, the smallest remaining
 * and the longest reset among the slots that have it. */
static void summarize_family(const rs_http_feedback *f, const uint8_t *slots, size_t count,
                             int64_t *limit, int64_t *remaining, uint64_t *reset_ns)
{
    int64_t least_limit = -1, least_remaining = -1;
    uint64_t reset_of_least = 0, longest_reset = 0;
    for (size_t i = 0; i < count; i++) {
        const rs_http_quota *q = &f->quotas[slots[i]];
        if (q->limit >= 0 && (least_limit < 0 || q->limit < least_limit)) {
            least_limit = q->limit;
        }
        longest_reset = rs__max_u64(longest_reset, q->reset_ns);
        if (q->remaining < 0) {
            continue;
        }
        if (least_remaining < 0 || q->remaining < least_remaining) {
            least_remaining = q->remaining;
            reset_of_least = q->reset_ns;
        } else if (q->remaining == least_remaining) {
            reset_of_least = rs__max_u64(reset_of_least, q->reset_ns);
        }
    }
    *limit = least_limit;
    *remaining = least_remaining;
    *reset_ns = least_remaining < 0 ? longest_reset : reset_of_least;
}

/* The summary of the family a slot belongs to. */
static void summarize(rs_http_feedback *f, rs_http_quota_source changed)
{
    if (counts_tokens(changed)) {
        summarize_family(f, GROUP(token_slots), &f->limit_tokens, &f->remaining_tokens,
                         &f->reset_tokens_ns);
    } else {
        summarize_family(f, GROUP(request_slots), &f->limit_requests, &f->remaining_requests,
                         &f->reset_requests_ns);
    }
}

/* retry-after-ms is the same instruction as Retry-After, finer. */
static void summarize_retry_after(rs_http_feedback *f)
{
    f->retry_after_ns =
        f->retry_after_ms_header_ns != 0 ? f->retry_after_ms_header_ns : f->retry_after_header_ns;
}

int rs_http_feedback_header(rs_http_feedback *f, const char *name, size_t name_len,
                            const char *value, size_t value_len, int64_t now_unix_s)
{
    if (f == NULL || name == NULL || value == NULL) {
        return RS_E_INVAL;
    }
    const known_header *h = find_header(name, name_len);
    if (h == NULL) {
        return RS_OK;
    }
    uint64_t delay_ns;
    switch (h->syntax) {
    case RETRY_AFTER:
        if (rs_http_retry_after(value, value_len, now_unix_s, &delay_ns) != RS_OK) {
            return RS_E_INVAL;
        }
        f->retry_after_header_ns = rs__max_u64(f->retry_after_header_ns, delay_ns);
        summarize_retry_after(f);
        return RS_OK;
    case RETRY_AFTER_MS:
        if (!rs__http_number_ns(value, value_len, NS_PER_MS, true, &delay_ns)) {
            return RS_E_INVAL;
        }
        f->retry_after_ms_header_ns = rs__max_u64(f->retry_after_ms_header_ns, delay_ns);
        summarize_retry_after(f);
        return RS_OK;
    default: {
        rs__http_quota_update u;
        if (!read_quota((syntax)h->syntax, value, value_len, now_unix_s, &u)) {
            return RS_E_INVAL;
        }
        merge(&f->quotas[h->source], &u);
        summarize(f, (rs_http_quota_source)h->source);
        return RS_OK;
    }
    }
}

uint64_t rs_http_feedback_pause_ns(const rs_http_feedback *f)
{
    if (f == NULL) {
        return 0;
    }
    uint64_t pause = f->remaining_requests == 0 ? f->reset_requests_ns : 0;
    if (f->remaining_tokens == 0) {
        pause = rs__max_u64(pause, f->reset_tokens_ns);
    }
    return pause;
}

/* A slot's value as a rate: 0 unless positive and finite; at most the
 * ceiling. */
static double usable_rate(double rate)
{
    if (!rs__is_finite_positive(rate)) {
        return 0.0;
    }
    return rate < RS_HTTP_MAX_REQUEST_RATE ? rate : RS_HTTP_MAX_REQUEST_RATE;
}

double rs_http_feedback_request_rate(const rs_http_feedback *f)
{
    if (f == NULL) {
        return 0.0;
    }
    double least = 0.0;
    rs__http_keep_least_rate(&least, usable_rate(f->quotas[RS_HTTP_QUOTA_IETF].rate));
    rs__http_keep_least_rate(&least, usable_rate(f->quotas[RS_HTTP_QUOTA_IETF_FIELDS].rate));
    /* Requests per minute, as both providers document them. */
    static const uint8_t per_minute[] = { RS_HTTP_QUOTA_OPENAI_REQUESTS,
                                          RS_HTTP_QUOTA_ANTHROPIC_REQUESTS };
    for (size_t i = 0; i < sizeof per_minute; i++) {
        double rate = rs__http_rate(f->quotas[per_minute[i]].limit, RS_HTTP_LLM_REQUEST_WINDOW_NS);
        rs__http_keep_least_rate(&least, usable_rate(rate));
    }
    return least;
}

void rs_http_feedback_apply(const rs_http_feedback *f, rs_attempt *attempt)
{
    if (f == NULL || attempt == NULL) {
        return;
    }
    attempt->retry_after_ns = rs__max_u64(attempt->retry_after_ns, f->retry_after_ns);
    attempt->pause_ns = rs__max_u64(attempt->pause_ns, rs_http_feedback_pause_ns(f));
    double rate = rs_http_feedback_request_rate(f);
    if (rate > 0.0 && !(attempt->advertised_rate > 0.0 && attempt->advertised_rate <= rate)) {
        attempt->advertised_rate = rate;
    }
}
