#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../storm/events.h"
#include "../storm/random.h"

enum {
    EV_START,   /* who: worker; it begins a call */
    EV_TIMER,   /* who: worker; tag: its generation; a RS_STEP_WAIT is over */
    EV_WAKE,    /* who: worker; the library says its slot is free */
    EV_ANSWER,  /* who: worker; the server's answer reaches it (tag 1: 429) */
    EV_DONE,    /* who: worker; the server finished its request */
    EV_PHASE,   /* the server's capacity changes */
    EV_TICK     /* a counter tick begins */
};

typedef struct worker {
    rs_call_state *call;
    void *memory;
    uint64_t generation; /* of its pending timer */
    bool waiting;        /* between a RS_STEP_WAIT and the next step */
    uint64_t sent_ns;    /* its running attempt reached the server */
    uint32_t next_queued; /* the server's FIFO, linked through the workers */
    struct sim *sim;
    uint32_t id;
} worker;

#define NONE UINT32_MAX

typedef struct sim {
    const sim_config *cfg;
    rs_manual_clock clock;
    event_queue events;
    uint64_t now_ns;
    worker *workers;
    rs_policy *policy;
    rs_bulkhead *bulkhead;
    rs_token_bucket *fixed_rate;
    rs_adaptive_limit *limit;
    rs_adaptive_rate *rate;
    /* The server. */
    sim_phase phase;
    uint32_t busy;
    uint32_t queued, queue_head, queue_tail;
    double tokens;
    uint64_t tokens_at_ns;
    uint64_t random;
    sim_result *out;
    size_t state_size;
} sim;

sim_config sim_default(void)
{
    sim_config c;
    memset(&c, 0, sizeof c);
    c.phases[0] = (sim_phase){ 0, 100, 0.0 };
    c.phases[1] = (sim_phase){ RS_SEC(20), 20, 0.0 };
    c.phases[2] = (sim_phase){ RS_SEC(40), 100, 0.0 };
    c.phase_count = 3;
    c.queue = 50;
    c.burst = 1;
    c.service_ns = RS_MS(50);
    c.service_spread = 0.2;
    c.reject_ns = RS_MS(1);
    c.retry_after_ns = 0;
    c.clients = 300;
    c.think_ns = 0;
    c.refused_think_ns = RS_MS(100);
    c.kind = SIM_ADAPTIVE;
    c.fixed_limit = 100;
    c.limit = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    c.rate = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    c.with_rate = true;
    c.end_ns = RS_SEC(60);
    c.seed = 2026;
    return c;
}

sim_phase sim_phase_at(const sim_config *cfg, uint64_t now_ns)
{
    sim_phase p = { 0, 0, 0.0 };
    for (unsigned i = 0; i < cfg->phase_count; i++) {
        if (cfg->phases[i].at_ns <= now_ns) {
            p = cfg->phases[i];
        }
    }
    return p;
}

static sim_tick *tick_at(sim *s, uint64_t now_ns)
{
    size_t i = (size_t)(now_ns / SIM_TICK_NS);
    return &s->out->ticks[i < s->out->count ? i : s->out->count - 1];
}

/* ---- the server -------------------------------------------------------------- */

static bool take_token(sim *s)
{
    double rate = s->phase.rate;
    if (rate == 0.0) {
        return true;
    }
    double burst = (double)s->cfg->burst;
    s->tokens += rate * (double)(s->now_ns - s->tokens_at_ns) / 1e9;
    s->tokens = s->tokens > burst ? burst : s->tokens;
    s->tokens_at_ns = s->now_ns;
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
        return true;
    }
    return false;
}

static void serve(sim *s, uint32_t who)
{
    const sim_config *cfg = s->cfg;
    s->busy++;
    double spread = cfg->service_spread * (2.0 * random_unit(&s->random) - 1.0);
    uint64_t work = (uint64_t)((double)cfg->service_ns * (1.0 + spread));
    event_push(&s->events, s->now_ns + work, EV_DONE, who, 0);
}

static bool has_free_worker(const sim *s)
{
    return s->phase.workers == 0 || s->busy < s->phase.workers;
}

static void start_queued(sim *s)
{
    while (s->queued > 0 && has_free_worker(s)) {
        uint32_t who = s->queue_head;
        s->queue_head = s->workers[who].next_queued;
        s->queued--;
        serve(s, who);
    }
}

/* A request arrives: admitted by the rate, then served, queued or refused. */
static void arrive(sim *s, uint32_t who)
{
    sim_tick *t = tick_at(s, s->now_ns);
    t->requests++;
    s->workers[who].sent_ns = s->now_ns;
    if (!take_token(s)) {
        event_push(&s->events, s->now_ns + s->cfg->reject_ns, EV_ANSWER, who, 1);
        return;
    }
    if (has_free_worker(s) && s->queued == 0) {
        serve(s, who);
    } else if (s->queued < s->cfg->queue) {
        s->workers[who].next_queued = NONE;
        if (s->queued == 0) {
            s->queue_head = who;
        } else {
            s->workers[s->queue_tail].next_queued = who;
        }
        s->queue_tail = who;
        s->queued++;
    } else {
        event_push(&s->events, s->now_ns + s->cfg->reject_ns, EV_ANSWER, who, 2);
    }
}

/* ---- the clients ------------------------------------------------------------- */

static void on_wake(void *context)
{
    worker *w = context;
    event_push(&w->sim->events, w->sim->now_ns, EV_WAKE, w->id, 0);
}

static void begin(sim *s, worker *w)
{
    rs_call_options opts;
    memset(&opts, 0, sizeof opts);
    opts.context = w;
    opts.wake = on_wake;
    sim_check(rs_call_begin_in_at(s->policy, &opts, w->memory, s->state_size, &w->call, s->now_ns),
          "rs_call_begin_in_at");
}

static void follow(sim *s, worker *w, rs_step step)
{
    w->waiting = false;
    switch (step.action) {
    case RS_STEP_RUN:
        arrive(s, w->id);
        break;
    case RS_STEP_WAIT:
        w->waiting = true;
        w->generation++;
        event_push(&s->events, s->now_ns + step.wait_ns, EV_TIMER, w->id, w->generation);
        break;
    case RS_STEP_DONE: {
        rs_call_report report;
        rs_call_end_at(w->call, &report, s->now_ns);
        w->call = NULL;
        uint64_t think = s->cfg->think_ns;
        if (report.attempts == 0) {
            tick_at(s, s->now_ns)->refused++;
            think = s->cfg->refused_think_ns;
        }
        event_push(&s->events, s->now_ns + think, EV_START, w->id, 0);
        break;
    }
    }
}

/* What a user function would make of the server's answer. */
static void answer(sim *s, worker *w, uint64_t kind)
{
    rs_attempt *a = rs_call_attempt(w->call);
    rs_verdict verdict = RS_SUCCESS;
    sim_tick *t = tick_at(s, s->now_ns);
    if (kind == 0) {
        t->served++;
        t->latency_us += (s->now_ns - w->sent_ns) / RS_US(1);
    } else {
        t->throttled++;
        a->error = 429;
        a->caller_fault = true;
        a->retry_after_ns = kind == 1 ? s->cfg->retry_after_ns : 0;
        verdict = RS_RETRY;
    }
    follow(s, w, rs_call_complete_at(w->call, verdict, s->now_ns));
}

static void build(sim *s)
{
    const sim_config *cfg = s->cfg;
    const rs_clock *clock = rs_manual_clock_get(&s->clock);
    rs_bulkhead_config bc = RS_BULKHEAD_CONFIG_DEFAULT;
    bc.max_concurrent = cfg->kind == SIM_FIXED ? cfg->fixed_limit : cfg->limit.initial_limit;
    bc.max_queue = cfg->clients;
    sim_check(rs_bulkhead_new(&bc, clock, &s->bulkhead), "rs_bulkhead_new");
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.bulkhead = s->bulkhead;
    pc.retry.backoff.seed = random_stream_seed(cfg->seed, 1);
    pc.max_limiter_wait_ns = RS_SEC(60); /* a worker waits in the local queue, not refused */
    if (cfg->kind == SIM_ADAPTIVE) {
        sim_check(rs_adaptive_limit_new(&cfg->limit, clock, &s->limit), "rs_adaptive_limit_new");
        sim_check(rs_bulkhead_set_adaptive(s->bulkhead, s->limit), "rs_bulkhead_set_adaptive");
        if (cfg->with_rate) {
            sim_check(rs_adaptive_rate_new(&cfg->rate, clock, &s->rate), "rs_adaptive_rate_new");
            pc.adaptive_rate = s->rate;
        }
    }
    if (cfg->kind == SIM_FIXED && cfg->fixed_rate != 0.0) {
        rs_token_bucket_config tc = { cfg->fixed_rate, 1 };
        sim_check(rs_token_bucket_new(&tc, clock, &s->fixed_rate), "rs_token_bucket_new");
        pc.limits[0] = (rs_limit){ rs_token_bucket_limiter(s->fixed_rate), RS_UNITS_REQUESTS };
    }
    sim_check(rs_policy_new(&pc, clock, &s->policy), "rs_policy_new");
    s->state_size = rs_call_state_size();
    s->workers = sim_alloc(cfg->clients * sizeof *s->workers);
    for (uint32_t i = 0; i < cfg->clients; i++) {
        worker *w = &s->workers[i];
        w->sim = s;
        w->id = i;
        w->memory = sim_alloc(s->state_size);
    }
}

static void tear_down(sim *s)
{
    for (uint32_t i = 0; i < s->cfg->clients; i++) {
        rs_call_end_at(s->workers[i].call, NULL, s->now_ns);
        free(s->workers[i].memory);
    }
    free(s->workers);
    rs_policy_free(s->policy);
    rs_bulkhead_free(s->bulkhead);
    rs_token_bucket_free(s->fixed_rate);
    rs_adaptive_limit_free(s->limit);
    rs_adaptive_rate_free(s->rate);
    event_queue_free(&s->events);
}

void sim_run(const sim_config *cfg, sim_result *out)
{
    sim s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.out = out;
    out->count = (size_t)(cfg->end_ns / SIM_TICK_NS) + 1;
    out->ticks = sim_alloc(out->count * sizeof *out->ticks);
    out->events = 0;
    rs_manual_clock_init(&s.clock, 0);
    event_queue_init(&s.events);
    s.random = random_stream_seed(cfg->seed, 0);
    s.phase = sim_phase_at(cfg, 0);
    s.tokens = (double)cfg->burst;
    build(&s);
    for (uint32_t i = 0; i < cfg->clients; i++) {
        event_push(&s.events, i, EV_START, i, 0); /* a nanosecond apart: a set order */
    }
    for (unsigned i = 0; i < cfg->phase_count; i++) {
        event_push(&s.events, cfg->phases[i].at_ns, EV_PHASE, i, 0);
    }
    event_push(&s.events, 0, EV_TICK, 0, 0);
    sim_event e;
    while (event_pop(&s.events, &e) && e.at_ns < cfg->end_ns) {
        s.now_ns = e.at_ns;
        rs_manual_clock_set(&s.clock, e.at_ns);
        out->events++;
        worker *w = &s.workers[e.who];
        switch (e.kind) {
        case EV_START:
            begin(&s, w);
            follow(&s, w, rs_call_next_at(w->call, s.now_ns));
            break;
        case EV_TIMER:
            if (w->waiting && e.tag == w->generation) {
                follow(&s, w, rs_call_next_at(w->call, s.now_ns));
            }
            break;
        case EV_WAKE:
            if (w->waiting) {
                follow(&s, w, rs_call_next_at(w->call, s.now_ns));
            }
            break;
        case EV_ANSWER:
            answer(&s, w, e.tag);
            break;
        case EV_DONE:
            s.busy--;
            answer(&s, w, 0);
            start_queued(&s);
            break;
        case EV_PHASE:
            s.phase = cfg->phases[e.who];
            start_queued(&s);
            break;
        case EV_TICK: {
            sim_tick *t = tick_at(&s, s.now_ns);
            t->limit = rs_bulkhead_max_concurrent(s.bulkhead);
            t->rate = rs_adaptive_rate_get(s.rate);
            t->workers = s.phase.workers;
            t->server_rate = s.phase.rate;
            event_push(&s.events, s.now_ns + SIM_TICK_NS, EV_TICK, 0, 0);
            break;
        }
        }
    }
    tear_down(&s);
}

void sim_result_free(sim_result *r)
{
    free(r->ticks);
    r->ticks = NULL;
    r->count = 0;
}

sim_totals sim_sum(const sim_result *r, uint64_t from_ns, uint64_t to_ns)
{
    sim_totals t;
    memset(&t, 0, sizeof t);
    for (size_t i = (size_t)(from_ns / SIM_TICK_NS); i < r->count && i < to_ns / SIM_TICK_NS; i++) {
        t.requests += r->ticks[i].requests;
        t.served += r->ticks[i].served;
        t.throttled += r->ticks[i].throttled;
        t.refused += r->ticks[i].refused;
        t.latency_us += r->ticks[i].latency_us;
        t.seconds += (double)SIM_TICK_NS / 1e9;
    }
    return t;
}

uint64_t sim_settled_at(const sim_result *r, sim_series series, uint64_t from_ns, uint64_t to_ns,
                        double low, double high)
{
    /* Judged on each second's mean limit: a floor probe takes a quarter
     * off for one round trip, and a single tick of it is not unsettled. */
    const size_t per_second = (size_t)(RS_SEC(1) / SIM_TICK_NS);
    uint64_t settled = UINT64_MAX;
    size_t first = (size_t)(from_ns / SIM_TICK_NS), end = (size_t)(to_ns / SIM_TICK_NS);
    for (size_t i = first; i < r->count && i < end; i++) {
        double sum = 0.0;
        size_t n = 0;
        for (size_t k = i; k < i + per_second && k < end && k < r->count; k++, n++) {
            sum += series == SIM_RATE ? r->ticks[k].rate : r->ticks[k].limit;
        }
        double mean = sum / (double)n;
        if (mean < low || mean > high) {
            settled = UINT64_MAX;
        } else if (settled == UINT64_MAX) {
            settled = (uint64_t)i * SIM_TICK_NS;
        }
    }
    return settled;
}
