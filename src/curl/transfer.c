#include "transfer.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "core/arith.h"

void rs__curl_transfer_init(rs__curl_transfer *t, CURL *easy, const rs_curl_options *opts)
{
    memset(t, 0, sizeof *t);
    t->easy = easy;
    t->opts = opts != NULL ? *opts : RS_CURL_OPTIONS_DEFAULT;
    rs_http_feedback_init(&t->feedback);
}

static int64_t wall_clock_s(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* One header line, "Name: value\r\n", or a status line "HTTP/1.1 429 ...",
 * which starts a response: redirects and 1xx answers come first, and only
 * the last response's headers describe the quota. */
static void read_header(rs__curl_transfer *t, const char *line, size_t len)
{
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        rs_http_feedback_init(&t->feedback);
        t->response_unix_s = wall_clock_s();
        return;
    }
    const char *colon = memchr(line, ':', len);
    if (colon == NULL) {
        return; /* the blank line that ends the headers */
    }
    size_t name_len = (size_t)(colon - line);
    const char *value = colon + 1;
    const char *end = line + len;
    while (value < end && is_space(*value)) {
        value++;
    }
    while (end > value && is_space(end[-1])) {
        end--;
    }
    /* A malformed value of a known header is ignored: the other headers
     * still count. */
    (void)rs_http_feedback_header(&t->feedback, line, name_len, value, (size_t)(end - value),
                                  t->response_unix_s);
}

static size_t on_header(char *buffer, size_t size, size_t count, void *userdata)
{
    rs__curl_transfer *t = userdata;
    size_t len = size * count;
    read_header(t, buffer, len);
    if (t->opts.on_header != NULL) {
        return t->opts.on_header(t->opts.ctx, buffer, len);
    }
    return len;
}

CURLcode rs__curl_attempt_prepare(rs__curl_transfer *t, rs_attempt *attempt, uint64_t now_ns)
{
    rs_http_feedback_init(&t->feedback);
    t->response_unix_s = wall_clock_s();
    CURLcode rc = curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, on_header);
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
    }
    if (rc == CURLE_OK && attempt->deadline_ns != 0) {
        /* Round up: curl reads 0 as "no timeout", and the policy never
         * starts an attempt at or past its deadline. */
        uint64_t left_ns = rs__sat_sub(attempt->deadline_ns, now_ns);
        uint64_t left_ms = rs__max_u64(1, left_ns / 1000000 + (left_ns % 1000000 != 0));
        rc = curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)rs__min_u64(left_ms, (uint64_t)LONG_MAX));
    }
    if (t->opts.before_attempt != NULL) {
        t->opts.before_attempt(t->opts.ctx, t->easy, attempt);
    }
    return rc;
}

rs_verdict rs__curl_attempt_finish(rs__curl_transfer *t, rs_attempt *attempt, CURLcode code)
{
    long status = 0;
    if (code == CURLE_OK && curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
        status = 0;
    }
    bool caller_fault = false;
    rs_verdict verdict =
        t->opts.classify != NULL
            ? t->opts.classify(t->opts.ctx, code, status, &t->feedback, &caller_fault)
            : rs_curl_classify(code, status, &caller_fault);
    attempt->caller_fault = caller_fault;
    attempt->error = status != 0 ? (int)status : -(int)code;
    rs_http_feedback_apply(&t->feedback, attempt);
    if (status != 0 && t->opts.tokens_used != NULL) {
        attempt->tokens_used = t->opts.tokens_used(t->opts.ctx, t->easy);
    }
    if (t->opts.result != NULL) {
        t->opts.result->code = code;
        t->opts.result->http_status = status;
        t->opts.result->feedback = t->feedback;
    }
    return verdict;
}
