#include "server.h"

#include "random.h"

#define DEBT_S 0.1

void server_init(server *s, const scenario *sc, timeline *counts)
{
    s->sc = sc;
    s->counts = counts;
    s->work = 0;
    s->work_at_ns = 0;
    s->random = random_stream_seed(sc->seed, UINT64_MAX - 1);
}

bool server_down_at(const scenario *sc, uint64_t now_ns)
{
    return sc->outage_ns != 0 && now_ns >= sc->outage_start_ns &&
           now_ns - sc->outage_start_ns < sc->outage_ns;
}

double server_capacity_at(const scenario *sc, uint64_t now_ns)
{
    if (sc->outage_ns == 0 || now_ns < sc->outage_start_ns) {
        return sc->capacity_per_s;
    }
    if (server_down_at(sc, now_ns)) {
        return 0;
    }
    uint64_t since = now_ns - sc->outage_start_ns - sc->outage_ns;
    if (since >= sc->warmup_ns) {
        return sc->capacity_per_s;
    }
    double warmed = (double)since / (double)sc->warmup_ns;
    return sc->capacity_per_s * (sc->cold_fraction + (1.0 - sc->cold_fraction) * warmed);
}

/* Earns the work of the time since the last request. A restarted server
 * has banked nothing: the time it was down earned no work. */
static void earn(server *s, uint64_t now_ns)
{
    const scenario *sc = s->sc;
    uint64_t from = s->work_at_ns;
    uint64_t outage_end = sc->outage_start_ns + sc->outage_ns;
    if (sc->outage_ns != 0 && from < outage_end && now_ns >= sc->outage_start_ns) {
        s->work = 0;
        from = now_ns > outage_end ? outage_end : now_ns;
    }
    double capacity = server_capacity_at(sc, now_ns);
    s->work += capacity * (double)(now_ns - from) / 1e9;
    if (s->work > capacity * sc->burst_tolerance_s) {
        s->work = capacity * sc->burst_tolerance_s;
    }
    s->work_at_ns = now_ns;
}

static server_reply refusal(const scenario *sc)
{
    return sc->overload == OVERLOAD_429
               ? (server_reply){ REPLY_TOO_MANY, sc->error_latency_ns, sc->overload_retry_after_ns }
               : (server_reply){ REPLY_UNAVAILABLE, sc->error_latency_ns,
                                 sc->overload_retry_after_ns };
}

/* What happens to a request arriving now, before the network's say. */
static server_reply decide(server *s, uint64_t now_ns, tick *t)
{
    const scenario *sc = s->sc;
    if (server_down_at(sc, now_ns)) {
        /* The client's own timeout is not the network's: it is not spread. */
        return sc->outage_failure == OUTAGE_TIMEOUT
                   ? (server_reply){ REPLY_TIMEOUT, sc->attempt_timeout_ns, 0 }
                   : (server_reply){ REPLY_UNAVAILABLE, sc->error_latency_ns,
                                     sc->outage_retry_after_ns };
    }
    earn(s, now_ns);
    if (s->work >= 1.0) {
        s->work -= 1.0;
        t->served++;
        if (sc->flaky_share > 0 && random_unit(&s->random) <= sc->flaky_share) {
            return (server_reply){ REPLY_UNAVAILABLE, sc->ok_latency_ns, 0 };
        }
        return (server_reply){ REPLY_OK, sc->ok_latency_ns, 0 };
    }
    double floor = -server_capacity_at(sc, now_ns) * DEBT_S;
    s->work -= sc->reject_cost;
    if (s->work < floor) {
        s->work = floor;
    }
    t->rejected++;
    return refusal(sc);
}

server_reply server_handle(server *s, uint64_t now_ns, bool retry)
{
    tick *t = timeline_at(s->counts, now_ns);
    t->requests++;
    t->retries += retry ? 1u : 0u;
    server_reply r = decide(s, now_ns, t);
    if (r.kind != REPLY_TIMEOUT) {
        double spread = s->sc->latency_spread * (2.0 * random_unit(&s->random) - 1.0);
        r.latency_ns = (uint64_t)((double)r.latency_ns * (1.0 + spread));
    }
    return r;
}
