/* rs_curl_perform: the blocking driver, one curl_easy_perform() per
 * attempt of rs_call_with(). */
#include "resilience/curl.h"

#include "transfer.h"

typedef struct blocking_transfer {
    rs__curl_transfer transfer;
    const rs_clock *clock;
} blocking_transfer;

static rs_verdict one_attempt(void *ctx, rs_attempt *attempt)
{
    blocking_transfer *b = ctx;
    CURLcode code = rs__curl_attempt_prepare(&b->transfer, attempt, rs_clock_now(b->clock));
    if (code == CURLE_OK) {
        code = curl_easy_perform(b->transfer.easy);
    }
    return rs__curl_attempt_finish(&b->transfer, attempt, code);
}

int rs_curl_perform(rs_policy *p, CURL *easy, const rs_curl_options *opts,
                    rs_call_report *report)
{
    if (p == NULL || easy == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_curl_perform: %s is NULL",
                                 p == NULL ? "p" : "easy");
    }
    blocking_transfer b;
    rs__curl_transfer_init(&b.transfer, easy, opts);
    b.clock = rs_policy_clock(p);
    return rs_call_with(p, b.transfer.opts.call, one_attempt, &b, report);
}
