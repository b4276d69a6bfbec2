/* A checkout calls a payment service through a circuit breaker. The service
 * goes down for 25 seconds and comes back. While the breaker is open, checkouts
 * fail fast and fall back to "accept the order, charge later" instead of
 * hanging on a dead service; probes notice the recovery and close the
 * breaker. Everything runs on a manual clock, so the 90 simulated seconds take
 * a few milliseconds and the output is the same on every run.
 *
 * Prints the breaker's state timeline and a summary; exits non-zero if the
 * expected transitions did not happen. */
#include <stdio.h>
#include <stdbool.h>

#include "resilience.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

#define OUTAGE_START (20 * SEC)
#define OUTAGE_END (45 * SEC)
#define RUN_FOR (90 * SEC)
#define REQUEST_EVERY (250 * MS)

typedef enum { PAID, DECLINED, UNAVAILABLE } payment_result;

typedef struct service {
    rs_manual_clock *clock;
    unsigned calls;           /* requests that reached the service */
    unsigned calls_in_outage; /* ... while it was down */
} service;

/* The simulated payment service: 40 ms when healthy; while down, every call
 * hangs until the client's 1 s timeout. Every 9th card is invalid (a 4xx: the
 * client's fault, not the service's). */
static payment_result charge(service *s, unsigned order)
{
    uint64_t now = rs_manual_clock_now(s->clock);
    s->calls++;
    if (now >= OUTAGE_START && now < OUTAGE_END) {
        s->calls_in_outage++;
        rs_manual_clock_advance(s->clock, 1 * SEC);
        return UNAVAILABLE;
    }
    rs_manual_clock_advance(s->clock, 40 * MS);
    return order % 9 == 0 ? DECLINED : PAID;
}

/* The state timeline, as the breaker reports it. */
typedef struct timeline {
    rs_manual_clock *clock;
    rs_breaker_state from[32];
    rs_breaker_state to[32];
    uint64_t at_ns[32];
    size_t count;
} timeline;

static void on_state_change(void *ctx, rs_breaker_state from, rs_breaker_state to)
{
    timeline *t = ctx;
    uint64_t now = rs_manual_clock_now(t->clock);
    printf("  t=%5.1fs  %-9s -> %s\n", (double)now / SEC, rs_breaker_state_name(from),
           rs_breaker_state_name(to));
    if (t->count < sizeof t->from / sizeof t->from[0]) {
        t->from[t->count] = from;
        t->to[t->count] = to;
        t->at_ns[t->count] = now;
    }
    t->count++;
}

/* Expected: CLOSED -> OPEN, then probing that fails while the service is down
 * (OPEN -> HALF_OPEN -> OPEN, at least once), then OPEN -> HALF_OPEN ->
 * CLOSED once it is back. */
static int check_timeline(const timeline *t)
{
    size_t n = t->count;
    if (n < 5 || n > sizeof t->from / sizeof t->from[0]) {
        return 0;
    }
    if (t->from[0] != RS_BREAKER_CLOSED || t->to[0] != RS_BREAKER_OPEN) {
        return 0;
    }
    for (size_t i = 1; i + 2 < n; i += 2) {
        if (t->to[i] != RS_BREAKER_HALF_OPEN || t->to[i + 1] != RS_BREAKER_OPEN) {
            return 0;
        }
    }
    return (n - 1) % 2 == 0 && t->to[n - 2] == RS_BREAKER_HALF_OPEN &&
           t->to[n - 1] == RS_BREAKER_CLOSED;
}

int main(void)
{
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    service payments = { &clock, 0, 0 };
    timeline states = { .clock = &clock };

    rs_breaker_config cfg = RS_BREAKER_CONFIG_DEFAULT;
    cfg.failure_threshold = 5;          /* 5 timeouts in a row: it is down */
    cfg.failure_rate = 0.5;             /* or half of the last 20 calls */
    cfg.window_size = 20;
    cfg.minimum_calls = 10;
    /* Open times that grow while the service stays down: 5 s before the
     * first probe, then 10 s, then 15 s (the cap); no jitter, so the run is
     * the same every time (a fleet would keep the default full jitter). */
    cfg.open_backoff = RS_BACKOFF_CONFIG_DEFAULT;
    cfg.open_backoff.base_ns = 5 * SEC;
    cfg.open_backoff.max_ns = 15 * SEC;
    cfg.open_backoff.multiplier = 2.0;
    cfg.open_backoff.jitter = RS_JITTER_NONE;
    cfg.half_open_max_calls = 1;        /* one probe at a time */
    cfg.success_threshold = 3;          /* three good probes to trust it again */
    cfg.half_open_max_wait_ns = 5 * SEC;
    cfg.on_state_change = on_state_change;
    cfg.ctx = &states;
    rs_breaker *breaker;
    int rc = rs_breaker_new(&cfg, rs_manual_clock_get(&clock), &breaker);
    if (rc != RS_OK) {
        fprintf(stderr, "rs_breaker_new: %s: %s\n", rs_strerror(rc), rs_last_error());
        return 1;
    }

    printf("Payment service down from t=%.0fs to t=%.0fs; one checkout every %.0f ms.\n\n",
           (double)OUTAGE_START / SEC, (double)OUTAGE_END / SEC, (double)REQUEST_EVERY / MS);
    printf("Breaker state timeline:\n");

    unsigned orders = 0, paid = 0, declined = 0, failed = 0, deferred = 0;
    uint64_t next_order = 0;
    while (next_order < RUN_FOR) {
        rs_manual_clock_set(&clock, next_order);
        next_order += REQUEST_EVERY;
        unsigned order = ++orders;
        rs_permit permit;
        if (rs_breaker_allow(breaker, &permit) == RS_E_OPEN) {
            /* The fallback: take the order now, charge the card later. */
            deferred++;
            continue;
        }
        switch (charge(&payments, order)) {
        case PAID:
            paid++;
            rs_breaker_record(breaker, &permit, true);
            break;
        case DECLINED:
            /* The service answered correctly; the card was bad. That says
             * nothing about the service's health either way. */
            declined++;
            rs_breaker_release(breaker, &permit);
            break;
        case UNAVAILABLE:
            failed++;
            rs_breaker_record(breaker, &permit, false);
            break;
        }
    }

    rs_breaker_snapshot m;
    (void)rs_breaker_metrics(breaker, &m);
    rs_breaker_free(breaker);

    printf("\n%u checkouts: %u paid, %u declined (card), %u failed after a 1 s timeout,\n"
           "%u deferred by the fallback while the breaker was open (%llu refusals).\n",
           orders, paid, declined, failed, deferred, (unsigned long long)m.rejected);
    printf("The service saw %u of the checkouts made during its outage.\n",
           payments.calls_in_outage);
    printf("Final state: %s\n", rs_breaker_state_name(m.state));
    bool ok = check_timeline(&states);
    if (ok) {
        printf("\nThe service was back at t=%.0fs; the breaker's next probe found out at "
               "t=%.1fs.\nThe growing open time (5 s, 10 s, 15 s) is the price of not "
               "hammering a service\nthat stays down.\n",
               (double)OUTAGE_END / SEC, (double)states.at_ns[states.count - 2] / SEC);
    }

    ok = ok && m.state == RS_BREAKER_CLOSED && deferred > 0 &&
              deferred == m.rejected && payments.calls_in_outage < 15 && failed < 15;
    if (!ok) {
        fprintf(stderr, "unexpected breaker behaviour\n");
        return 1;
    }
    return 0;
}
