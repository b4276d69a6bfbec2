/* Status classes: the defaults, and tables that override them. */
#include "resilience/http.h"

#include "resilience/common.h"

#define VERDICT_BITS 0x03u

static bool in_table(int status)
{
    return status >= RS_HTTP_STATUS_MIN && status <= RS_HTTP_STATUS_MAX;
}

/* The defaults as one rule byte; see the table in http.h. */
static uint8_t default_rule(int status)
{
    if (!in_table(status)) {
        return RS_FAIL;
    }
    if (status < 400) {
        return RS_SUCCESS;
    }
    if (status < 500) {
        switch (status) {
        case 408: /* the server gave up waiting for the request: not about its content */
            return RS_RETRY;
        case 425: /* too early: the same request is fine once the handshake is done */
        case 429:
            return RS_RETRY | RS_HTTP_CALLER_FAULT;
        default:
            return RS_FAIL | RS_HTTP_CALLER_FAULT;
        }
    }
    switch (status) {
    case 501: case 505: case 506: case 508: case 510: case 511:
        return RS_FAIL; /* the server's setup: a retry meets the same answer */
    default:
        return RS_RETRY;
    }
}

static rs_verdict apply_rule(uint8_t rule, bool *caller_fault)
{
    if (caller_fault != NULL) {
        *caller_fault = (rule & RS_HTTP_CALLER_FAULT) != 0;
    }
    switch (rule & VERDICT_BITS) {
    case RS_SUCCESS:
        return RS_SUCCESS;
    case RS_RETRY:
        return RS_RETRY;
    default:
        return RS_FAIL;
    }
}

rs_verdict rs_http_classify(int status, bool *caller_fault)
{
    return apply_rule(default_rule(status), caller_fault);
}

void rs_http_classifier_init(rs_http_classifier *c)
{
    if (c == NULL) {
        return;
    }
    for (int status = RS_HTTP_STATUS_MIN; status <= RS_HTTP_STATUS_MAX; status++) {
        c->rules[status - RS_HTTP_STATUS_MIN] = default_rule(status);
    }
}

int rs_http_classifier_set(rs_http_classifier *c, int first_status, int last_status,
                           rs_verdict verdict, bool caller_fault)
{
    if (c == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_http_classifier_set: classifier is NULL");
    }
    if (!in_table(first_status) || !in_table(last_status) || first_status > last_status) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_http_classifier_set: statuses %d..%d, must lie within %d..%d "
                                 "with first <= last",
                                 first_status, last_status, RS_HTTP_STATUS_MIN, RS_HTTP_STATUS_MAX);
    }
    if (verdict != RS_SUCCESS && verdict != RS_RETRY && verdict != RS_FAIL) {
        return rs_set_last_error(RS_E_INVAL, "rs_http_classifier_set: verdict %d is not an rs_verdict",
                                 (int)verdict);
    }
    uint8_t rule = (uint8_t)((unsigned)verdict | (caller_fault ? RS_HTTP_CALLER_FAULT : 0u));
    for (int status = first_status; status <= last_status; status++) {
        c->rules[status - RS_HTTP_STATUS_MIN] = rule;
    }
    return RS_OK;
}

rs_verdict rs_http_classify_with(const rs_http_classifier *c, int status, bool *caller_fault)
{
    if (c == NULL) {
        return rs_http_classify(status, caller_fault);
    }
    uint8_t rule = in_table(status) ? c->rules[status - RS_HTTP_STATUS_MIN] : (uint8_t)RS_FAIL;
    return apply_rule(rule, caller_fault);
}
