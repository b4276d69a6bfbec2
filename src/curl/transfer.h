/* One transfer's attempts, shared by the blocking and the multi driver:
 * what is set on the easy handle before an attempt, and how its end is
 * read into the rs_attempt. Not installed. */
#ifndef RS_CURL_TRANSFER_H
#define RS_CURL_TRANSFER_H

#include <stdint.h>

#include "resilience/curl.h"

typedef struct rs__curl_transfer {
    CURL *easy;
    rs_curl_options opts;          /* the caller's, copied */
    rs_http_feedback feedback;     /* what the current response's headers said */
    int64_t response_unix_s;       /* wall clock when its status line came */
} rs__curl_transfer;

void rs__curl_transfer_init(rs__curl_transfer *t, CURL *easy, const rs_curl_options *opts);

/* Before an attempt: fresh feedback, our header reader, the time left
 * before the deadline as curl's timeout, the caller's hook. A failure to
 * set an option is the attempt's result. */
CURLcode rs__curl_attempt_prepare(rs__curl_transfer *t, rs_attempt *attempt,
                                  uint64_t now_ns);

/* After an attempt that ended with `code`: the verdict, with the attempt's
 * out fields (Retry-After, pause, tokens, error) and the caller's result
 * filled in. */
rs_verdict rs__curl_attempt_finish(rs__curl_transfer *t, rs_attempt *attempt, CURLcode code);

#endif /* RS_CURL_TRANSFER_H */
