/* docs/circuit-breaker.md's code, compiled and run by the test suite on a
 * manual clock: a service that fails, a breaker that opens, a fallback. */
#include <stdbool.h>
#include <stdio.h>

#include <resilience.h>

static int cached, served, failures_to_go = 5;

static int serve_from_cache(void) { return ++cached, 0; }

static int call_the_service(void)
{
    served++;
    return failures_to_go-- > 0 ? 503 : 0;
}

static bool is_callers_fault(int status) { return status >= 400 && status < 500; }

static int handle_request(rs_breaker *breaker)
{
    /* snippet: call */
    rs_permit permit;
    if (rs_breaker_allow(breaker, &permit) == RS_E_OPEN) {
        return serve_from_cache();                    /* fail fast: the fallback */
    }
    int status = call_the_service();
    if (status == 0) {
        rs_breaker_record(breaker, &permit, true);
    } else if (is_callers_fault(status)) {            /* e.g. a 400 for bad input */
        rs_breaker_release(breaker, &permit);         /* says nothing about health */
    } else {
        rs_breaker_record(breaker, &permit, false);
    }
    /* end snippet */
    return status;
}

int main(void)
{
    rs_manual_clock manual;
    rs_manual_clock_init(&manual, 0);
    const rs_clock *clock = rs_manual_clock_get(&manual);
    bool opened, closed;
    {
        /* snippet: new */
        rs_breaker_config cfg = RS_BREAKER_CONFIG_DEFAULT;
        cfg.open_ns = RS_SEC(10);
        rs_breaker *breaker;
        if (rs_breaker_new(&cfg, clock, &breaker) != RS_OK) {
            fprintf(stderr, "rs_breaker_new: %s\n", rs_last_error());
            return 1;
        }
        /* end snippet */
        /* Five failures open it (the default consecutive rule): the sixth
         * request is served from the cache; ten seconds later a probe finds
         * the service back. */
        for (int i = 0; i < 6; i++) {
            (void)handle_request(breaker);
        }
        opened = rs_breaker_state_get(breaker) == RS_BREAKER_OPEN && cached == 1;
        rs_manual_clock_advance(&manual, RS_SEC(10));
        for (int i = 0; i < 3; i++) {
            (void)handle_request(breaker);
        }
        closed = rs_breaker_state_get(breaker) == RS_BREAKER_CLOSED;
        rs_breaker_free(breaker);
    }

    /* snippet: open_backoff */
    rs_breaker_config cfg = RS_BREAKER_CONFIG_DEFAULT;
    cfg.open_backoff = RS_BACKOFF_CONFIG_DEFAULT;   /* full jitter, doubling */
    cfg.open_backoff.base_ns = RS_SEC(5);
    cfg.open_backoff.max_ns = RS_MIN(5);
    /* end snippet */
    rs_breaker *growing;
    if (rs_breaker_new(&cfg, clock, &growing) != RS_OK) {
        fprintf(stderr, "rs_breaker_new: %s\n", rs_last_error());
        return 1;
    }
    rs_breaker_force(growing, RS_BREAKER_OPEN);
    rs_breaker_snapshot m;
    (void)rs_breaker_metrics(growing, &m);
    rs_breaker_free(growing);
    if (!opened || !closed || m.open_duration_ns > RS_SEC(5)) {
        fprintf(stderr, "unexpected breaker behaviour\n");
        return 1;
    }
    return 0;
}
