#include "analysis.h"

#include <string.h>

#define TICKS_PER_S (RS_SEC(1) / STORM_TICK_NS)
/* Calls issued this close to the end may still be running when it comes:
 * their fate is unknown, so recovery is judged before. */
#define UNSETTLED_NS RS_SEC(10)
/* How long after the event the fleet has had to settle before `pulse`
 * judges whether its load is steady. */
#define SETTLING_NS RS_SEC(10)

uint64_t event_end_ns(const scenario *sc)
{
    /* With neither, the whole run is "after". */
    return sc->outage_ns != 0 ? sc->outage_start_ns + sc->outage_ns
                              : sc->burst_start_ns + sc->burst_ns;
}

static size_t tick_of(uint64_t ns) { return (size_t)(ns / STORM_TICK_NS); }

/* The first tick from which every one-second window of issued requests
 * reaches the share; SIZE_MAX if the last window does not. Judged
 * backwards, so a lucky second in the middle of a storm is not recovery. */
static size_t recovered_from(const timeline *t, size_t from, size_t last, double share)
{
    size_t found = SIZE_MAX;
    for (size_t i = last + 1; i-- > from;) {
        uint64_t issued = 0, succeeded = 0;
        for (size_t k = i; k < i + TICKS_PER_S && k < t->count; k++) {
            issued += t->ticks[k].issued;
            succeeded += t->ticks[k].succeeded;
        }
        if (issued > 0 && (double)succeeded < share * (double)issued) {
            break;
        }
        found = i;
    }
    return found;
}

/* The busiest tick of server requests over the mean tick in [from, to). */
static double pulse(const timeline *t, size_t from, size_t to)
{
    uint64_t sum = 0, peak = 0;
    for (size_t i = from; i < to && i < t->count; i++) {
        sum += t->ticks[i].requests;
        peak = t->ticks[i].requests > peak ? t->ticks[i].requests : peak;
    }
    return sum > 0 ? (double)peak * (double)(to - from) / (double)sum : 0;
}

void summarise(const scenario *sc, const run_result *r, run_summary *out)
{
    memset(out, 0, sizeof *out);
    const timeline *t = &r->counts;
    size_t end = tick_of(event_end_ns(sc));
    size_t settled = tick_of(sc->end_ns - UNSETTLED_NS);
    uint64_t issued = 0, succeeded = 0, requests = 0, issued_after = 0, succeeded_after = 0;
    uint64_t latency_after_us = 0;
    uint64_t outage_issued = 0, outage_requests = 0, first_second = 0;
    size_t outage_from = tick_of(sc->outage_start_ns);
    for (size_t i = 0; i < t->count; i++) {
        const tick *k = &t->ticks[i];
        issued += k->issued;
        succeeded += k->succeeded;
        requests += k->requests;
        out->shed += k->rejected;
        if (sc->outage_ns != 0 && i >= outage_from && i < end) {
            outage_issued += k->issued;
            outage_requests += k->requests;
            first_second += i < outage_from + TICKS_PER_S ? k->requests : 0;
        }
        if (i >= end && i < settled) {
            issued_after += k->issued;
            succeeded_after += k->succeeded;
            latency_after_us += k->latency_us;
        }
        if (i >= end) {
            out->refused_after += k->refused;
            if (k->breakers_open > 0) {
                out->breakers_open_until_s = (double)((i + 1 - end) * STORM_TICK_NS) / 1e9;
            }
        }
    }
    out->amplification = outage_issued > 0 ? (double)outage_requests / (double)outage_issued : 0;
    out->first_second_x_capacity = (double)first_second / sc->capacity_per_s;
    out->goodput = issued > 0 ? (double)succeeded / (double)issued : 0;
    out->goodput_after = issued_after > 0 ? (double)succeeded_after / (double)issued_after : 0;
    out->latency_after_s =
        succeeded_after > 0 ? (double)latency_after_us / (double)succeeded_after / 1e6 : 0;
    out->load_per_request = issued > 0 ? (double)requests / (double)issued : 0;
    for (size_t i = end; i + TICKS_PER_S <= t->count && i + TICKS_PER_S <= settled; i++) {
        uint64_t second = 0;
        for (size_t k = i; k < i + TICKS_PER_S; k++) {
            second += t->ticks[k].requests;
        }
        double x = (double)second / sc->capacity_per_s;
        out->peak_after_x_capacity = x > out->peak_after_x_capacity ? x : out->peak_after_x_capacity;
    }
    out->pulse = pulse(t, tick_of(event_end_ns(sc) + SETTLING_NS), settled);
    size_t from = recovered_from(t, end, settled - TICKS_PER_S, sc->recovered_share);
    out->recovery_s = from == SIZE_MAX ? -1.0 : (double)((from - end) * STORM_TICK_NS) / 1e9;
    out->tripped_share = (double)r->clients_tripped / (double)sc->clients;
}
