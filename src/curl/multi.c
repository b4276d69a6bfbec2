/* rs_curl_multi: transfers through policies on curl's multi interface.
 * Each transfer is a step-API call whose state lives in the transfer; an
 * attempt is the easy handle added to the multi handle, a wait is a wake
 * time the loop's timeout honours. Nothing here sleeps. */
#include "resilience/curl.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "transfer.h"

typedef enum transfer_phase {
    PHASE_WAITING,   /* until wake_ns, then the call's next step */
    PHASE_IN_FLIGHT, /* the easy handle is in the multi handle */
    PHASE_FINISHED   /* done runs at the end of the next perform */
} transfer_phase;

typedef struct multi_transfer {
    rs__curl_transfer transfer;
    rs_policy *policy;
    const rs_clock *clock;
    rs_curl_done_fn done;
    void *done_ctx;
    rs_call_state *call;
    transfer_phase phase;
    uint64_t wake_ns;
    int status;
    struct multi_transfer *next;
    max_align_t call_memory[]; /* rs_call_state_size() bytes */
} multi_transfer;

struct rs_curl_multi {
    CURLM *multi;
    multi_transfer *transfers; /* in no particular order */
};

int rs_curl_multi_new(CURLM *multi, rs_curl_multi **out)
{
    if (multi == NULL || out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_curl_multi_new: %s is NULL",
                                 multi == NULL ? "multi" : "out");
    }
    rs_curl_multi *m = rs__calloc(1, sizeof *m);
    if (m == NULL) {
        return RS_E_NOMEM;
    }
    m->multi = multi;
    *out = m;
    return RS_OK;
}

/* Follows the call's instructions until it must wait for something: a
 * response (the handle is in flight), a timer, or nothing (finished). */
static void follow(rs_curl_multi *m, multi_transfer *t, rs_step step)
{
    for (;;) {
        uint64_t now = rs_clock_now(t->clock);
        if (step.action == RS_STEP_DONE) {
            t->phase = PHASE_FINISHED;
            t->status = step.status;
            return;
        }
        if (step.action == RS_STEP_WAIT) {
            t->phase = PHASE_WAITING;
            t->wake_ns = rs__sat_add(now, step.wait_ns);
            return;
        }
        rs_attempt *attempt = rs_call_attempt(t->call);
        CURLcode code = rs__curl_attempt_prepare(&t->transfer, attempt, now);
        if (code == CURLE_OK) {
            if (curl_multi_add_handle(m->multi, t->transfer.easy) == CURLM_OK) {
                t->phase = PHASE_IN_FLIGHT;
                return;
            }
            code = CURLE_FAILED_INIT;
        }
        step = rs_call_complete(t->call, rs__curl_attempt_finish(&t->transfer, attempt, code));
    }
}

int rs_curl_multi_add(rs_curl_multi *m, rs_policy *p, CURL *easy, const rs_curl_options *opts,
                      rs_curl_done_fn done, void *done_ctx)
{
    if (m == NULL || p == NULL || easy == NULL || done == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_curl_multi_add: %s is NULL",
                                 m == NULL ? "m" : p == NULL ? "p" : easy == NULL ? "easy" : "done");
    }
    size_t state_size = rs_call_state_size();
    multi_transfer *t = rs__malloc(sizeof *t + state_size);
    if (t == NULL) {
        return RS_E_NOMEM;
    }
    memset(t, 0, sizeof *t);
    rs__curl_transfer_init(&t->transfer, easy, opts);
    t->policy = p;
    t->clock = rs_policy_clock(p);
    t->done = done;
    t->done_ctx = done_ctx;
    int rc = rs_call_begin_in(p, t->transfer.opts.call, t->call_memory, state_size, &t->call);
    if (rc != RS_OK) {
        rs__free(t);
        return rc;
    }
    t->next = m->transfers;
    m->transfers = t;
    follow(m, t, rs_call_next(t->call));
    return RS_OK;
}

static multi_transfer *find(rs_curl_multi *m, CURL *easy)
{
    for (multi_transfer *t = m->transfers; t != NULL; t = t->next) {
        if (t->transfer.easy == easy && t->phase == PHASE_IN_FLIGHT) {
            return t;
        }
    }
    return NULL;
}

/* Attempts that curl finished: classify them and move their calls on. */
static void read_messages(rs_curl_multi *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        multi_transfer *t = find(m, msg->easy_handle);
        if (t == NULL) {
            continue;
        }
        (void)curl_multi_remove_handle(m->multi, t->transfer.easy);
        rs_attempt *attempt = rs_call_attempt(t->call);
        rs_verdict verdict = rs__curl_attempt_finish(&t->transfer, attempt, msg->data.result);
        follow(m, t, rs_call_complete(t->call, verdict));
    }
}

/* Ends a transfer: its call's report to the caller's callback, then its
 * memory. It is already out of the list, so the callback may add new
 * transfers. */
static void finish(multi_transfer *t)
{
    rs_call_report report;
    rs_call_end(t->call, &report);
    int status = t->phase == PHASE_FINISHED ? t->status : report.status;
    t->done(t->done_ctx, t->transfer.easy, status, &report);
    rs__free(t);
}

int rs_curl_multi_perform(rs_curl_multi *m, int *running)
{
    if (m == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_curl_multi_perform: m is NULL");
    }
    int handles = 0;
    CURLMcode mc = curl_multi_perform(m->multi, &handles);
    if (mc != CURLM_OK) {
        return rs_set_last_error(RS_E_IO, "curl_multi_perform: %s", curl_multi_strerror(mc));
    }
    read_messages(m);
    /* Waits that are over start their next attempt. */
    for (multi_transfer *t = m->transfers; t != NULL; t = t->next) {
        if (t->phase == PHASE_WAITING && rs_clock_now(t->clock) >= t->wake_ns) {
            follow(m, t, rs_call_next(t->call));
        }
    }
    /* Unlink the finished ones before any callback runs. */
    multi_transfer *finished = NULL;
    for (multi_transfer **link = &m->transfers; *link != NULL;) {
        multi_transfer *t = *link;
        if (t->phase == PHASE_FINISHED) {
            *link = t->next;
            t->next = finished;
            finished = t;
        } else {
            link = &t->next;
        }
    }
    while (finished != NULL) {
        multi_transfer *t = finished;
        finished = t->next;
        finish(t);
    }
    if (running != NULL) { /* transfers the callbacks added count too */
        *running = 0;
        for (multi_transfer *t = m->transfers; t != NULL; t = t->next) {
            (*running)++;
        }
    }
    return RS_OK;
}

long rs_curl_multi_timeout_ms(rs_curl_multi *m)
{
    if (m == NULL) {
        return -1;
    }
    long timeout = -1;
    if (curl_multi_timeout(m->multi, &timeout) != CURLM_OK) {
        timeout = -1;
    }
    for (multi_transfer *t = m->transfers; t != NULL; t = t->next) {
        long ms;
        if (t->phase == PHASE_FINISHED) {
            ms = 0;
        } else if (t->phase == PHASE_WAITING) {
            uint64_t left = rs__sat_sub(t->wake_ns, rs_clock_now(t->clock));
            /* Round up: waking early only costs a turn, but never early is
             * what the policy promises. */
            ms = (long)rs__min_u64(left / 1000000 + (left % 1000000 != 0), (uint64_t)LONG_MAX);
        } else {
            continue;
        }
        if (timeout < 0 || ms < timeout) {
            timeout = ms;
        }
    }
    return timeout;
}

void rs_curl_multi_free(rs_curl_multi *m)
{
    if (m == NULL) {
        return;
    }
    while (m->transfers != NULL) {
        multi_transfer *t = m->transfers;
        m->transfers = t->next;
        if (t->phase == PHASE_IN_FLIGHT) {
            (void)curl_multi_remove_handle(m->multi, t->transfer.easy);
        }
        finish(t);
    }
    rs__free(m);
}
