#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "random.h"
#include "server.h"

enum {
    EV_ARRIVAL,  /* who: client; tag 1: issue a request, 0: only draw the next arrival */
    EV_TIMER,    /* who: call slot; a RS_STEP_WAIT is over */
    EV_RESPONSE, /* who: call slot; the server's answer arrives */
    EV_TICK      /* the start of a tick: sample the breakers */
};

/* A policy's adaptive modules, when the setup asks for them. */
typedef struct learning {
    rs_adaptive_rate *rate;
    rs_adaptive_limit *limit;
    rs_bulkhead *bulkhead;
} learning;

typedef struct client {
    rs_policy *policy; /* its own, or the fleet's shared one */
    rs_breaker *breaker;
    learning learning; /* with an adaptive setup and a policy of its own */
    uint64_t random;   /* its arrivals */
    bool tripped;
    struct fleet *fleet;
    uint32_t id;
} client;

/* One logical request in progress; its call state lives in `memory`. */
typedef struct call_slot {
    rs_call_state *call;
    void *memory;
    uint32_t client;
    uint64_t issued_ns;
    server_reply reply;
    uint32_t next_free;
} call_slot;

#define NO_SLOT UINT32_MAX

typedef struct fleet {
    const scenario *sc;
    rs_manual_clock clock;
    event_queue queue;
    server server;
    client *clients;
    rs_policy *shared_policy;
    learning shared_learning;
    /* Slots never move (the library holds pointers into their memory):
     * the array of pointers grows, the slots stay where they were made. */
    call_slot **slots;
    uint32_t slot_count, slot_cap, free_slot;
    size_t state_size;
    uint64_t now_ns;
    bool over;         /* the run ended: what tearing down does is not counted */
    run_result *out;
} fleet;

static uint32_t slot_take(fleet *f)
{
    if (f->free_slot != NO_SLOT) {
        uint32_t i = f->free_slot;
        f->free_slot = f->slots[i]->next_free;
        return i;
    }
    if (f->slot_count == f->slot_cap) {
        uint32_t cap = f->slot_cap != 0 ? f->slot_cap * 2 : 1024;
        call_slot **grown = realloc(f->slots, cap * sizeof *grown);
        if (grown == NULL) {
            fprintf(stderr, "storm: out of memory for calls\n");
            exit(1);
        }
        f->slots = grown;
        f->slot_cap = cap;
    }
    call_slot *s = sim_alloc(sizeof *s);
    s->memory = sim_alloc(f->state_size); /* calloc: aligned for any object */
    f->slots[f->slot_count] = s;
    return f->slot_count++;
}

static void slot_give_back(fleet *f, uint32_t i)
{
    f->slots[i]->call = NULL;
    f->slots[i]->next_free = f->free_slot;
    f->free_slot = i;
}

static void on_breaker_change(void *ctx, rs_breaker_state from, rs_breaker_state to)
{
    (void)from;
    client *c = ctx;
    fleet *f = c->fleet;
    if (f->over) {
        return;
    }
    if (to == RS_BREAKER_OPEN) {
        c->tripped = true;
        f->out->breaker_openings++;
    }
}

/* ---- offered load --------------------------------------------------------- */

static bool in_burst(const scenario *sc, uint64_t now_ns)
{
    return sc->burst_ns != 0 && now_ns >= sc->burst_start_ns &&
           now_ns - sc->burst_start_ns < sc->burst_ns;
}

/* The next instant after now_ns at which the offered rate changes. */
static uint64_t next_rate_change(const scenario *sc, uint64_t now_ns)
{
    if (sc->burst_ns == 0) {
        return UINT64_MAX;
    }
    if (now_ns < sc->burst_start_ns) {
        return sc->burst_start_ns;
    }
    uint64_t end = sc->burst_start_ns + sc->burst_ns;
    return now_ns < end ? end : UINT64_MAX;
}

/* Poisson arrivals whose rate changes at the burst's edges: an arrival
 * drawn past an edge is not kept; a fresh draw starts at the edge (the
 * process has no memory, so this is exact). */
static void schedule_arrival(fleet *f, client *c, uint64_t now_ns)
{
    const scenario *sc = f->sc;
    double rate = sc->rate_per_client * (in_burst(sc, now_ns) ? sc->burst_factor : 1.0);
    uint64_t at = now_ns + random_gap_ns(&c->random, rate);
    uint64_t edge = next_rate_change(sc, now_ns);
    if (at >= edge) {
        event_push(&f->queue, edge, EV_ARRIVAL, c->id, 0);
    } else {
        event_push(&f->queue, at, EV_ARRIVAL, c->id, 1);
    }
}

/* ---- driving the step API ------------------------------------------------- */

static void follow(fleet *f, uint32_t i, rs_step step)
{
    call_slot *s = f->slots[i];
    uint64_t now = f->now_ns;
    switch (step.action) {
    case RS_STEP_RUN:
        s->reply = server_handle(&f->server, now, rs_call_attempt(s->call)->number > 1);
        event_push(&f->queue, now + s->reply.latency_ns, EV_RESPONSE, i, 0);
        break;
    case RS_STEP_WAIT:
        event_push(&f->queue, now + step.wait_ns, EV_TIMER, i, 0);
        break;
    case RS_STEP_DONE: {
        rs_call_report report;
        rs_call_end_at(s->call, &report, now);
        tick *issued = timeline_at(&f->out->counts, s->issued_ns);
        if (report.status == RS_OK) {
            issued->succeeded++;
            issued->latency_us += (now - s->issued_ns) / RS_US(1);
            timeline_at(&f->out->counts, now)->goodput++;
        } else if (report.attempts == 0) {
            issued->refused++;
        }
        slot_give_back(f, i);
        break;
    }
    }
}

static void issue(fleet *f, client *c)
{
    uint32_t i = slot_take(f);
    call_slot *s = f->slots[i];
    s->client = c->id;
    s->issued_ns = f->now_ns;
    timeline_at(&f->out->counts, f->now_ns)->issued++;
    sim_check(rs_call_begin_in_at(c->policy, NULL, s->memory, f->state_size, &s->call, f->now_ns),
          "rs_call_begin_in_at");
    follow(f, i, rs_call_next_at(s->call, f->now_ns));
}

/* The answer reaches the client: what a user function would say about it. */
static void answer(fleet *f, uint32_t i)
{
    call_slot *s = f->slots[i];
    rs_attempt *a = rs_call_attempt(s->call);
    rs_verdict verdict = RS_RETRY;
    switch (s->reply.kind) {
    case REPLY_OK:
        verdict = RS_SUCCESS;
        break;
    case REPLY_UNAVAILABLE:
        a->error = 503;
        a->retry_after_ns = s->reply.retry_after_ns;
        break;
    case REPLY_TOO_MANY:
        /* Over quota: the service is up, the caller sent too much. */
        a->error = 429;
        a->retry_after_ns = s->reply.retry_after_ns;
        a->caller_fault = true;
        break;
    case REPLY_TIMEOUT:
        a->error = 504;
        break;
    }
    follow(f, i, rs_call_complete_at(s->call, verdict, f->now_ns));
}

static void sample_breakers(fleet *f)
{
    uint32_t open = 0;
    for (uint32_t id = 0; id < f->sc->clients; id++) {
        rs_breaker *b = f->clients[id].breaker;
        open += b != NULL && rs_breaker_would_refuse_at(b, f->now_ns) ? 1u : 0u;
    }
    timeline_at(&f->out->counts, f->now_ns)->breakers_open = open;
}

/* ---- setting up and tearing down ------------------------------------------ */

/* Gives a policy config the adaptive modules the setup asks for. */
static void learn(const client_setup *setup, const rs_clock *clock, learning *l,
                  rs_policy_config *pc)
{
    if (!setup->adaptive) {
        return;
    }
    sim_check(rs_adaptive_rate_new(&setup->rate, clock, &l->rate), "rs_adaptive_rate_new");
    sim_check(rs_adaptive_limit_new(&setup->limit, clock, &l->limit), "rs_adaptive_limit_new");
    sim_check(rs_bulkhead_new(&setup->bulkhead, clock, &l->bulkhead), "rs_bulkhead_new");
    sim_check(rs_bulkhead_set_adaptive(l->bulkhead, l->limit), "rs_bulkhead_set_adaptive");
    pc->adaptive_rate = l->rate;
    pc->bulkhead = l->bulkhead;
}

static void forget(learning *l)
{
    rs_bulkhead_free(l->bulkhead);
    rs_adaptive_limit_free(l->limit);
    rs_adaptive_rate_free(l->rate);
}

static void build_clients(fleet *f, const client_setup *setup)
{
    const scenario *sc = f->sc;
    const rs_clock *clock = rs_manual_clock_get(&f->clock);
    f->clients = sim_alloc(sc->clients * sizeof *f->clients);
    if (setup->shared_policy) {
        rs_policy_config pc = setup->policy;
        pc.retry.backoff.seed = random_stream_seed(sc->seed, UINT64_MAX);
        learn(setup, clock, &f->shared_learning, &pc);
        sim_check(rs_policy_new(&pc, clock, &f->shared_policy), "rs_policy_new (shared)");
    }
    for (uint32_t id = 0; id < sc->clients; id++) {
        client *c = &f->clients[id];
        c->fleet = f;
        c->id = id;
        /* Every process seeds its own generators: jitter that is the same
         * in every client is no jitter at all. */
        uint64_t seed = random_stream_seed(sc->seed, id);
        c->random = seed;
        if (f->shared_policy != NULL) {
            c->policy = f->shared_policy;
            continue;
        }
        rs_policy_config pc = setup->policy;
        pc.retry.backoff.seed = seed;
        if (setup->with_breaker) {
            rs_breaker_config bc = setup->breaker;
            bc.on_state_change = on_breaker_change;
            bc.ctx = c;
            bc.open_backoff.seed = random_stream_seed(seed, 1);
            sim_check(rs_breaker_new(&bc, clock, &c->breaker), "rs_breaker_new");
            pc.breaker = c->breaker;
        }
        learn(setup, clock, &c->learning, &pc);
        sim_check(rs_policy_new(&pc, clock, &c->policy), "rs_policy_new");
    }
}

static void tear_down(fleet *f)
{
    f->over = true;
    for (uint32_t i = 0; i < f->slot_count; i++) {
        rs_call_end_at(f->slots[i]->call, NULL, f->now_ns); /* NULL for free slots */
        free(f->slots[i]->memory);
        free(f->slots[i]);
    }
    free(f->slots);
    for (uint32_t id = 0; id < f->sc->clients; id++) {
        client *c = &f->clients[id];
        if (c->policy != f->shared_policy) {
            rs_policy_free(c->policy);
        }
        rs_breaker_free(c->breaker);
        forget(&c->learning);
        f->out->clients_tripped += c->tripped ? 1u : 0u;
    }
    rs_policy_free(f->shared_policy);
    forget(&f->shared_learning);
    free(f->clients);
    event_queue_free(&f->queue);
}

void fleet_run(const scenario *sc, const client_setup *setup, run_result *out,
               run_progress progress, void *progress_ctx)
{
    fleet f;
    memset(&f, 0, sizeof f);
    memset(out, 0, sizeof *out);
    f.sc = sc;
    f.out = out;
    f.free_slot = NO_SLOT;
    f.state_size = rs_call_state_size();
    timeline_init(&out->counts, sc);
    rs_manual_clock_init(&f.clock, 0);
    event_queue_init(&f.queue);
    server_init(&f.server, sc, &out->counts);
    build_clients(&f, setup);

    for (uint32_t id = 0; id < sc->clients; id++) {
        schedule_arrival(&f, &f.clients[id], 0);
    }
    if (setup->with_breaker) {
        event_push(&f.queue, 0, EV_TICK, 0, 0);
    }
    uint64_t next_report_ns = 0;
    sim_event e;
    while (event_pop(&f.queue, &e) && e.at_ns < sc->end_ns) {
        f.now_ns = e.at_ns;
        rs_manual_clock_set(&f.clock, e.at_ns);
        out->events++;
        switch (e.kind) {
        case EV_ARRIVAL:
            if (e.tag != 0) {
                issue(&f, &f.clients[e.who]);
            }
            schedule_arrival(&f, &f.clients[e.who], f.now_ns);
            break;
        case EV_TIMER:
            follow(&f, e.who, rs_call_next_at(f.slots[e.who]->call, f.now_ns));
            break;
        case EV_RESPONSE:
            answer(&f, e.who);
            break;
        case EV_TICK:
            sample_breakers(&f);
            event_push(&f.queue, f.now_ns + STORM_TICK_NS, EV_TICK, 0, 0);
            break;
        }
        if (progress != NULL && f.now_ns >= next_report_ns) {
            progress(progress_ctx, f.now_ns);
            next_report_ns = f.now_ns + RS_SEC(1);
        }
    }
    tear_down(&f);
}
