/* The default verdict on one libcurl attempt: the HTTP status when a
 * response came, else what the transport error says about retrying. */
#include "resilience/curl.h"

#include <stddef.h>

/* Errors where the request may not have reached the service, or the
 * connection broke: another attempt may well succeed. */
static bool transient(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

rs_verdict rs_curl_classify(CURLcode code, long http_status, bool *caller_fault)
{
    bool fault = false;
    rs_verdict verdict;
    if (code == CURLE_OK) {
        int status = http_status > 0 && http_status < 1000 ? (int)http_status : 0;
        verdict = rs_http_classify(status, &fault);
    } else if (transient(code)) {
        verdict = RS_RETRY;
    } else {
        /* TLS verification, a bad URL, our own callbacks: retrying cannot
         * help, and the service is not to blame. */
        verdict = RS_FAIL;
        fault = true;
    }
    if (caller_fault != NULL) {
        *caller_fault = fault;
    }
    return verdict;
}
