/* docs/bulkhead.md's code, compiled and run by the test suite: a bulkhead
 * around calls, one per tenant through the registry, the event-loop form,
 * a bulkhead in a policy, and its metrics. */
#include <stdio.h>
#include <string.h>

#include <resilience.h>

static int do_request(void) { return 200; }

static int queued_wakes;

/* An event loop's side of a ticket: schedule the request's next step. */
static void wake_request(void *request)
{
    (void)request;
    queued_wakes++; /* a real loop would write to an eventfd or uv_async_send() */
}

static rs_verdict my_request(void *ctx, rs_attempt *a)
{
    (void)ctx;
    (void)a;
    return RS_SUCCESS;
}

/* snippet: tenants */
static int make_bulkhead(void *ctx, const void *tenant, size_t len, void **out)
{
    (void)ctx;
    rs_bulkhead_config cfg = RS_BULKHEAD_CONFIG_DEFAULT;
    cfg.max_concurrent = len > 5 && memcmp(tenant, "paid:", 5) == 0 ? 50 : 5;
    cfg.max_queue = 20;
    return rs_bulkhead_new(&cfg, NULL, (rs_bulkhead **)out);
}
static void free_bulkhead(void *ctx, void *b) { (void)ctx; rs_bulkhead_free(b); }
/* end snippet */

int main(void)
{
    /* snippet: enter */
    rs_bulkhead_config cfg = RS_BULKHEAD_CONFIG_DEFAULT;
    cfg.max_concurrent = 10;                  /* calls in flight at once */
    cfg.max_queue = 100;                      /* callers that may wait for a slot */
    rs_bulkhead *bulkhead;
    if (rs_bulkhead_new(&cfg, NULL, &bulkhead) != RS_OK) {
        fprintf(stderr, "rs_bulkhead_new: %s\n", rs_last_error());
        return 1;
    }
    if (rs_bulkhead_enter(bulkhead, RS_MS(200)) == RS_OK) {   /* waits its turn, FIFO */
        int status = do_request();
        rs_bulkhead_leave(bulkhead);
        printf("status %d\n", status);
    } else {
        printf("busy: no slot within 200 ms\n");             /* RS_E_LIMITED */
    }
    /* end snippet */

    /* snippet: tenants_use */
    rs_registry_config rc = RS_REGISTRY_CONFIG_DEFAULT;
    rc.create = make_bulkhead;
    rc.destroy = free_bulkhead;
    rs_registry *tenants;
    if (rs_registry_new(&rc, &tenants) != RS_OK) {
        return 1;
    }
    const char *tenant = "free:alice";
    rs_registry_entry *e;
    if (rs_registry_get(tenants, tenant, strlen(tenant), &e) == RS_OK) {
        rs_bulkhead *mine = rs_registry_entry_value(e);
        if (rs_bulkhead_try_enter(mine)) {    /* alice's 5 slots, nobody else's */
            do_request();
            rs_bulkhead_leave(mine);
        }
        rs_registry_release(tenants, e);
    }
    rs_registry_free(tenants);
    /* end snippet */

    /* Fill the bulkhead, so the event loop's request has to queue. */
    for (int i = 0; i < 10; i++) {
        (void)rs_bulkhead_try_enter(bulkhead);
    }
    int request = 42;
    /* snippet: event_loop */
    rs_bulkhead_ticket *ticket;
    int rc2 = rs_bulkhead_enter_async(bulkhead, wake_request, &request, &ticket);
    if (rc2 == RS_E_LIMITED) {
        printf("queue full\n");
    } else if (ticket == NULL) {
        printf("slot now\n");                 /* send, then rs_bulkhead_leave() */
    } else {
        /* queued: wake_request(&request) runs when the slot is ours; then */
        if (rs_bulkhead_ticket_ready(bulkhead, ticket)) {
            /* send, then rs_bulkhead_leave() */
        }
        /* ... or, when the request's own deadline passes first: */
        /* rs_bulkhead_ticket_cancel(bulkhead, ticket); */
    }
    /* end snippet */
    rs_bulkhead_leave(bulkhead); /* one of the ten: the ticket's now */
    if (queued_wakes != 1 || !rs_bulkhead_ticket_ready(bulkhead, ticket)) {
        fprintf(stderr, "the queued ticket was not served\n");
        return 1;
    }
    for (int i = 0; i < 10; i++) {
        rs_bulkhead_leave(bulkhead);
    }

    /* snippet: policy */
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.bulkhead = bulkhead;                   /* after the limits, around fn */
    pc.max_limiter_wait_ns = RS_MS(500);      /* the queue's wait counts here too */
    rs_policy *policy;
    if (rs_policy_new(&pc, NULL, &policy) != RS_OK) {
        return 1;
    }
    rs_call_report report;
    int status = rs_call_with(policy, NULL, my_request, NULL, &report);
    if (status == RS_E_LIMITED && report.reason == RS_STOP_BULKHEAD) {
        printf("no slot\n");
    }
    rs_policy_free(policy);
    /* end snippet */

    /* snippet: metrics */
    rs_bulkhead_snapshot m;
    if (rs_bulkhead_metrics(bulkhead, &m) == RS_OK) {
        printf("%u/%u in flight, %u queued; %llu entered (%llu after queueing), "
               "%llu refused, %llu timed out, %.3f s queued in all\n",
               m.in_flight, m.max_concurrent, m.queued, (unsigned long long)m.entered,
               (unsigned long long)m.entered_queued, (unsigned long long)m.refused,
               (unsigned long long)m.timed_out, (double)m.queue_wait_ns / 1e9);
    }
    /* end snippet */
    rs_bulkhead_free(bulkhead);
    return status == RS_OK ? 0 : 1;
}
