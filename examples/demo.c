/* The libresilience demonstration: 50 clients call a simulated LLM-style API
 * for 100 simulated seconds, once through rs_client and once with the naive
 * "retry 3 times at once" loop, and compare what the server went through.
 *
 * The provider (all on the manual clock, so the run takes milliseconds):
 *   - rate limit: 40 requests/s; beyond it, 429 with a Retry-After;
 *   - t=20-23 s: a burst where 30% of requests fail with 503;
 *   - t=40-70 s: a 30-second outage, every request gets 503;
 *   - after the outage it comes back cold: it can serve 10 requests/s and
 *     doubles that each second in which it is not swamped (load at most
 *     twice what it can serve), up to 40/s. Requests beyond what it can
 *     serve get 503. A retry storm keeps it swamped, and so down.
 * Each client sends one logical request at a time with ~1.5 s of think time
 * between requests (about 33 requests/s offered in total).
 *
 * The resilient clients share one rs_client (a process with 50 workers):
 * token bucket at 38/s, breaker (10 consecutive failures, 5 s recovery),
 * retry budget 0.2, 3 retries with full-jitter backoff, Retry-After honoured.
 * They run on the step API: each logical call is a state machine driven by
 * this simulation's event queue, as an event loop would drive it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resilience.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)
#define CLIENTS 50
#define SECONDS 100
#define LATENCY_NS (50 * MS)
#define THINK_NS (1500 * MS)

/* ---- the simulated provider ---------------------------------------------- */

typedef struct second_stats {
    unsigned offered;   /* logical requests started */
    unsigned load;      /* requests that reached the server */
    unsigned ok;        /* successful responses */
    unsigned limited;   /* 429s */
    unsigned failed;    /* 503s */
    unsigned retries;   /* retries the clients sent */
    unsigned completed; /* logical requests that ended in success */
    unsigned local;     /* logical requests refused locally (breaker, limiter, ...) */
    char breaker;       /* breaker state at the end of the second */
} second_stats;

typedef struct provider {
    uint64_t second;        /* the second being served */
    unsigned passed_limit;  /* requests this second that got past the rate limit */
    unsigned capacity;      /* requests/s it can serve right now */
    uint64_t rng;
    second_stats seconds[SECONDS + 1];
} provider;

typedef enum response { RESPONSE_OK, RESPONSE_429, RESPONSE_503 } response;

#define RATE_LIMIT 40
#define FULL_CAPACITY 40
#define COLD_CAPACITY 10

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = (*state += 0x9E3779B97F4A7C15u);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

static second_stats *stats_at(provider *p, uint64_t now_ns)
{
    uint64_t s = now_ns / SEC;
    return &p->seconds[s < SECONDS ? s : SECONDS];
}

static bool in_outage(uint64_t second) { return second >= 40 && second < 70; }

/* Moves the provider's clock to `second`, warming it up on the way. */
static void roll_to(provider *p, uint64_t second)
{
    while (p->second < second) {
        if (in_outage(p->second)) {
            p->capacity = COLD_CAPACITY;
        } else if (p->passed_limit <= 2 * p->capacity && p->capacity < FULL_CAPACITY) {
            p->capacity = p->capacity * 2 < FULL_CAPACITY ? p->capacity * 2 : FULL_CAPACITY;
        }
        p->second++;
        p->passed_limit = 0;
    }
}

static response serve(provider *p, uint64_t now_ns, uint64_t *retry_after_ns)
{
    second_stats *st = stats_at(p, now_ns);
    uint64_t second = now_ns / SEC;
    roll_to(p, second);
    st->load++;
    if (in_outage(second)) {
        st->failed++;
        return RESPONSE_503;
    }
    if (p->passed_limit >= RATE_LIMIT) {
        st->limited++;
        *retry_after_ns = (second + 1) * SEC - now_ns;
        return RESPONSE_429;
    }
    p->passed_limit++;
    bool overloaded = p->passed_limit > p->capacity;
    bool flaky = second >= 20 && second < 23 && next_random(&p->rng) % 10 < 3;
    if (overloaded || flaky) {
        st->failed++;
        return RESPONSE_503;
    }
    st->ok++;
    return RESPONSE_OK;
}

/* ---- a tiny discrete-event queue ------------------------------------------ */

typedef struct event {
    uint64_t at_ns;
    uint64_t seq; /* ties break in insertion order: deterministic */
    int client;
} event;

typedef struct event_queue {
    event items[CLIENTS * 4];
    size_t len;
    uint64_t seq;
} event_queue;

static int earlier(const event *a, const event *b)
{
    return a->at_ns < b->at_ns || (a->at_ns == b->at_ns && a->seq < b->seq);
}

static void push(event_queue *q, uint64_t at_ns, int client)
{
    size_t i = q->len++;
    q->items[i] = (event){ at_ns, q->seq++, client };
    while (i > 0 && earlier(&q->items[i], &q->items[(i - 1) / 2])) {
        event t = q->items[i];
        q->items[i] = q->items[(i - 1) / 2];
        q->items[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static event pop(event_queue *q)
{
    event top = q->items[0];
    q->items[0] = q->items[--q->len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->len && earlier(&q->items[l], &q->items[m])) m = l;
        if (r < q->len && earlier(&q->items[r], &q->items[m])) m = r;
        if (m == i) break;
        event t = q->items[i];
        q->items[i] = q->items[m];
        q->items[m] = t;
        i = m;
    }
    return top;
}

/* ---- the clients ---------------------------------------------------------- */

typedef enum client_phase { IDLE, IN_CALL, RESPONDING } client_phase;

typedef struct client {
    client_phase phase;
    rs_call_state *call; /* resilient mode */
    unsigned attempts;   /* naive mode: attempts in this logical request */
    response pending;    /* the response on its way back */
    uint64_t retry_after_ns;
} client;

typedef struct simulation {
    provider server;
    event_queue queue;
    client clients[CLIENTS];
    rs_manual_clock clock;
    rs_client *rc;
    uint64_t rng;
} simulation;

static char breaker_letter(rs_breaker *b)
{
    switch (b != NULL ? rs_breaker_state_get(b) : RS_BREAKER_DISABLED) {
    case RS_BREAKER_CLOSED: return 'C';
    case RS_BREAKER_OPEN: return 'O';
    case RS_BREAKER_HALF_OPEN: return 'H';
    default: return '-';
    }
}

static void think_then_request(simulation *sim, int id, uint64_t now_ns)
{
    sim->clients[id].phase = IDLE;
    uint64_t think = THINK_NS / 2 + next_random(&sim->rng) % THINK_NS;
    push(&sim->queue, now_ns + think, id);
}

/* Resilient mode: act on one instruction of the call's step machine. */
static void follow(simulation *sim, int id, rs_step step, uint64_t now_ns)
{
    client *c = &sim->clients[id];
    switch (step.action) {
    case RS_STEP_RUN: {
        /* The request goes out now; its response arrives after the latency. */
        c->retry_after_ns = 0;
        c->pending = serve(&sim->server, now_ns, &c->retry_after_ns);
        c->phase = RESPONDING;
        if (rs_call_attempt(c->call)->number > 1) {
            stats_at(&sim->server, now_ns)->retries++;
        }
        push(&sim->queue, now_ns + LATENCY_NS, id);
        break;
    }
    case RS_STEP_WAIT:
        c->phase = IN_CALL;
        push(&sim->queue, now_ns + step.wait_ns, id);
        break;
    case RS_STEP_DONE: {
        rs_call_report report;
        rs_call_end(c->call, &report);
        c->call = NULL;
        second_stats *st = stats_at(&sim->server, now_ns);
        if (report.status == RS_OK) {
            st->completed++;
        } else if (rs_stop_reason_is_local(report.reason)) {
            st->local++;
        }
        think_then_request(sim, id, now_ns);
        break;
    }
    }
}

static void resilient_event(simulation *sim, int id, uint64_t now_ns)
{
    client *c = &sim->clients[id];
    rs_policy *policy = rs_client_policy(sim->rc);
    switch (c->phase) {
    case IDLE:
        stats_at(&sim->server, now_ns)->offered++;
        if (rs_call_begin(policy, NULL, &c->call) != RS_OK) {
            fprintf(stderr, "rs_call_begin failed\n");
            exit(EXIT_FAILURE);
        }
        follow(sim, id, rs_call_next_at(c->call, now_ns), now_ns);
        break;
    case IN_CALL:
        follow(sim, id, rs_call_next_at(c->call, now_ns), now_ns);
        break;
    case RESPONDING: {
        rs_attempt *a = rs_call_attempt(c->call);
        rs_verdict v = RS_SUCCESS;
        if (c->pending != RESPONSE_OK) {
            a->error = c->pending == RESPONSE_429 ? 429 : 503;
            a->retry_after_ns = c->retry_after_ns;
            /* A 429 says we sent too much, not that the service is sick:
             * retry it, but keep it out of the breaker's judgement. */
            a->caller_fault = c->pending == RESPONSE_429;
            v = RS_RETRY;
        }
        follow(sim, id, rs_call_complete_at(c->call, v, now_ns), now_ns);
        break;
    }
    }
}

/* Naive mode: up to 3 immediate retries, nothing else. */
static void naive_event(simulation *sim, int id, uint64_t now_ns)
{
    client *c = &sim->clients[id];
    if (c->phase == IDLE) {
        stats_at(&sim->server, now_ns)->offered++;
        c->attempts = 0;
    }
    if (c->phase == IDLE || c->phase == IN_CALL) {
        if (c->attempts > 0) {
            stats_at(&sim->server, now_ns)->retries++;
        }
        c->attempts++;
        c->pending = serve(&sim->server, now_ns, &c->retry_after_ns);
        c->phase = RESPONDING;
        push(&sim->queue, now_ns + LATENCY_NS, id);
        return;
    }
    if (c->pending == RESPONSE_OK) {
        stats_at(&sim->server, now_ns)->completed++;
        think_then_request(sim, id, now_ns);
    } else if (c->attempts < 4) {
        c->phase = IN_CALL;
        push(&sim->queue, now_ns, id); /* retry at once */
    } else {
        think_then_request(sim, id, now_ns);
    }
}

static int run(simulation *sim, bool resilient)
{
    memset(sim, 0, sizeof *sim);
    sim->rng = 42;
    sim->server.rng = 7;
    sim->server.capacity = FULL_CAPACITY;
    rs_manual_clock_init(&sim->clock, 0);
    if (resilient) {
        rs_breaker_config breaker = RS_BREAKER_CONFIG_DEFAULT;
        breaker.failure_threshold = 10;
        breaker.open_ns = RS_SEC(5);
        rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
        cfg.retry.max_attempts = 4;
        cfg.retry.backoff.base_ns = RS_MS(200);
        cfg.retry.backoff.max_ns = RS_SEC(5);
        cfg.retry.backoff.seed = 2026;
        cfg.retry.budget_ratio = 0.2;
        cfg.requests_per_second = 38;
        cfg.burst = 10;
        cfg.max_limiter_wait_ns = RS_SEC(2);
        cfg.breaker = &breaker;
        cfg.timeout_ns = RS_SEC(30);
        int rc = rs_client_new(&cfg, rs_manual_clock_get(&sim->clock), &sim->rc);
        if (rc != RS_OK) {
            fprintf(stderr, "rs_client_new: %s\n", rs_strerror(rc));
            return -1;
        }
    }
    for (int id = 0; id < CLIENTS; id++) {
        push(&sim->queue, next_random(&sim->rng) % SEC, id);
    }
    uint64_t second_marked = 0;
    while (sim->queue.len > 0) {
        event e = pop(&sim->queue);
        if (e.at_ns >= SECONDS * SEC) {
            break;
        }
        while (second_marked < e.at_ns / SEC) {
            sim->server.seconds[second_marked++].breaker = breaker_letter(rs_client_breaker(sim->rc));
        }
        rs_manual_clock_set(&sim->clock, e.at_ns);
        if (resilient) {
            resilient_event(sim, e.client, e.at_ns);
        } else {
            naive_event(sim, e.client, e.at_ns);
        }
    }
    while (second_marked < SECONDS) {
        sim->server.seconds[second_marked++].breaker = breaker_letter(rs_client_breaker(sim->rc));
    }
    for (int id = 0; id < CLIENTS; id++) {
        rs_call_end(sim->clients[id].call, NULL);
    }
    return 0;
}

typedef struct summary {
    unsigned outage_offered, outage_load, completed, load, limited;
    int recovered_after; /* seconds after the outage until 90% of offered succeed */
} summary;

static summary summarise(const simulation *sim)
{
    summary s;
    memset(&s, 0, sizeof s);
    s.recovered_after = -1;
    for (int t = 0; t < SECONDS; t++) {
        const second_stats *st = &sim->server.seconds[t];
        s.completed += st->completed;
        s.load += st->load;
        s.limited += st->limited;
        if (t >= 40 && t < 70) {
            s.outage_offered += st->offered;
            s.outage_load += st->load;
        }
        if (t >= 70 && s.recovered_after < 0 && st->offered > 0 &&
            st->completed * 10 >= st->offered * 9) {
            s.recovered_after = t - 70;
        }
    }
    return s;
}

static void print_timeline(const simulation *resilient, const simulation *naive)
{
    printf("%4s | %-46s | %-38s\n", "", "rs_client (limiter, breaker, retry budget)",
           "naive: 3 immediate retries");
    printf("%4s | %5s %5s %4s %4s %4s %5s %5s %2s | %5s %5s %4s %4s %4s %5s\n", "t(s)", "offer",
           "load", "ok", "429", "503", "retry", "local", "br", "offer", "load", "ok", "429", "503",
           "retry");
    for (int t = 0; t < SECONDS; t++) {
        const second_stats *a = &resilient->server.seconds[t];
        const second_stats *b = &naive->server.seconds[t];
        printf("%4d | %5u %5u %4u %4u %4u %5u %5u %2c | %5u %5u %4u %4u %4u %5u%s\n", t,
               a->offered, a->load, a->ok, a->limited, a->failed, a->retries, a->local,
               a->breaker, b->offered, b->load, b->ok, b->limited, b->failed, b->retries,
               t == 20 ? "  <- 503 burst" : t == 40 ? "  <- outage starts"
               : t == 70 ? "  <- outage ends, server cold" : "");
    }
}

int main(void)
{
    static simulation resilient, naive;
    printf("libresilience %s demo: 50 clients, a flaky LLM-style API, 100 simulated seconds\n\n",
           rs_version_string());
    if (run(&resilient, true) != 0 || run(&naive, false) != 0) {
        return EXIT_FAILURE;
    }
    print_timeline(&resilient, &naive);

    summary r = summarise(&resilient), n = summarise(&naive);
    double amp_r = r.outage_offered ? (double)r.outage_load / r.outage_offered : 0;
    double amp_n = n.outage_offered ? (double)n.outage_load / n.outage_offered : 0;
    printf("\nsummary                                   rs_client      naive\n");
    printf("load amplification during the outage   %9.2fx %9.2fx   (server requests per logical request)\n",
           amp_r, amp_n);
    printf("server requests during the outage      %10u %10u\n", r.outage_load, n.outage_load);
    printf("logical requests completed             %10u %10u\n", r.completed, n.completed);
    printf("total server load                      %10u %10u\n", r.load, n.load);
    printf("429s received                          %10u %10u\n", r.limited, n.limited);
    char recovered_r[16] = "never", recovered_n[16] = "never";
    if (r.recovered_after >= 0) {
        snprintf(recovered_r, sizeof recovered_r, "%d", r.recovered_after);
    }
    if (n.recovered_after >= 0) {
        snprintf(recovered_n, sizeof recovered_n, "%d", n.recovered_after);
    }
    printf("seconds to recover after the outage    %10s %10s   (90%% of requests succeed again)\n",
           recovered_r, recovered_n);

    rs_policy_stats st;
    rs_policy_stats_get(rs_client_policy(resilient.rc), &st);
    printf("\nrs_client counters: %" PRIu64 " calls, %" PRIu64 " ok, %" PRIu64 " retries, %" PRIu64
           " refused by the breaker, %" PRIu64 " by the limiter, %" PRIu64
           " retries refused by the retry budget\n\n",
           st.calls, st.successes, st.retries, st.rejected_breaker, st.rejected_limiter,
           st.rejected_retry_budget);
    rs_client_free(resilient.rc);
    printf("The naive clients quadruple the load during the outage and keep the cold server\n"
           "swamped afterwards, so it never warms up; rs_client backs off, fails fast while\n"
           "the breaker is open, probes, and lets the server recover.\n");

    /* The demo is also a test: fail loudly if the story stopped being true. */
    if (!(amp_r <= 1.1 && amp_n >= 3.5 && r.completed >= n.completed && r.limited < n.limited &&
          r.recovered_after >= 0 && r.recovered_after <= 10)) {
        fprintf(stderr, "demo: the resilient client did not behave as expected\n");
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
