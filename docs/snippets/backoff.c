/* docs/backoff.md's code, compiled and run by the test suite, on a manual
 * clock so that its waits take no time. */
#include <stdio.h>

#include <resilience.h>

enum { OK, FAILED };

static int failures_left = 3;

static int try_the_call(void) { return failures_left-- > 0 ? FAILED : OK; }

int main(void)
{
    rs_manual_clock manual;
    rs_manual_clock_init(&manual, 0);
    const rs_clock *clock = rs_manual_clock_get(&manual);
    /* snippet: usage */
    rs_backoff_config cfg = RS_BACKOFF_CONFIG_DEFAULT;
    cfg.base_ns = RS_MS(50);
    rs_backoff *backoff;
    if (rs_backoff_new(&cfg, &backoff) != RS_OK) {
        fprintf(stderr, "rs_backoff_new: %s\n", rs_last_error());
        return 1;
    }
    for (uint32_t attempt = 1; attempt <= 5; attempt++) {
        if (try_the_call() == OK) {
            break;
        }
        rs_clock_sleep(clock, rs_backoff_next(backoff, attempt)); /* full jitter */
    }
    rs_backoff_free(backoff);
    /* end snippet */
    /* Three failures, three waits, each within its retry's cap. */
    uint64_t waited = rs_manual_clock_now(&manual);
    if (rs_manual_clock_sleep_count(&manual) != 3 || waited > RS_MS(50 + 100 + 200)) {
        fprintf(stderr, "unexpected waits: %llu ns\n", (unsigned long long)waited);
        return 1;
    }
    return 0;
}
