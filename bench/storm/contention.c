#include "contention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "output.h"
#include "random.h"

const contention_kind contention_kinds[] = {
    { "immediate", "no backoff", RS_JITTER_NONE, false },
    { "exponential", "exponential, no jitter", RS_JITTER_NONE, true },
    { "full", "full jitter", RS_JITTER_FULL, true },
    { "equal", "equal jitter", RS_JITTER_EQUAL, true },
    { "decorrelated", "decorrelated jitter", RS_JITTER_DECORRELATED, true },
};
const size_t contention_kind_count = sizeof contention_kinds / sizeof contention_kinds[0];

contention_config contention_default(void)
{
    return (contention_config){
        .max_clients = 100,
        .step = 5,
        .repetitions = 20,
        .op_ns = RS_MS(10),
        .backoff = { RS_MS(10), RS_SEC(10), 2.0, RS_JITTER_FULL, 0 },
        .seed = 2015,
    };
}

/* N = 1, then the multiples of step. */
static uint32_t next_clients(const contention_config *cfg, uint32_t n)
{
    return n == 1 && cfg->step > 1 ? cfg->step : n + cfg->step;
}

uint64_t contention_runs(const contention_config *cfg)
{
    uint64_t points = 0;
    for (uint32_t n = 1; n <= cfg->max_clients; n = next_clients(cfg, n)) {
        points++;
    }
    return points * contention_kind_count * cfg->repetitions;
}

enum { EV_WAKE, EV_WRITE };

typedef struct racer {
    rs_policy *policy;
    rs_call_state *call;
    uint64_t read_version;
} racer;

typedef struct race {
    event_queue queue;
    racer *racers;
    uint64_t version; /* of the contended record */
    uint64_t calls, last_done_ns;
} race;

static void must(int status, const char *what)
{
    if (status != RS_OK) {
        fprintf(stderr, "storm: %s: %s (%s)\n", what, rs_strerror(status), rs_last_error());
        exit(1);
    }
}

/* Acts on the policy's instruction for racer `id`: start an update (read
 * the version now, write when the work is done), wait, or finish. */
static void act(race *r, uint32_t id, rs_step step, uint64_t now_ns, uint64_t op_ns)
{
    racer *x = &r->racers[id];
    if (step.action == RS_STEP_RUN) {
        x->read_version = r->version;
        event_push(&r->queue, now_ns + op_ns, EV_WRITE, id, 0);
    } else if (step.action == RS_STEP_WAIT) {
        event_push(&r->queue, now_ns + step.wait_ns, EV_WAKE, id, 0);
    } else {
        rs_call_report report;
        rs_call_end_at(x->call, &report, now_ns);
        x->call = NULL;
        r->calls += report.attempts;
        r->last_done_ns = now_ns;
    }
}

static void run_race(const contention_config *cfg, const contention_kind *kind, uint32_t clients,
                     uint64_t seed, uint64_t *calls, uint64_t *done_ns)
{
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    race r;
    memset(&r, 0, sizeof r);
    event_queue_init(&r.queue);
    r.racers = calloc(clients, sizeof *r.racers);
    if (r.racers == NULL) {
        fprintf(stderr, "storm: out of memory\n");
        exit(1);
    }
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.retry.max_attempts = UINT32_MAX; /* every client wins in the end */
    pc.retry.budget_ratio = 0;
    pc.share_server_pause = false;
    pc.retry.backoff = cfg->backoff;
    pc.retry.backoff.jitter = kind->jitter;
    if (!kind->backoff) {
        pc.retry.backoff.base_ns = pc.retry.backoff.max_ns = 1;
    }
    for (uint32_t id = 0; id < clients; id++) {
        pc.retry.backoff.seed = random_stream_seed(seed, id);
        must(rs_policy_new(&pc, rs_manual_clock_get(&clock), &r.racers[id].policy),
             "rs_policy_new");
        must(rs_call_begin_at(r.racers[id].policy, NULL, &r.racers[id].call, 0),
             "rs_call_begin_at");
        event_push(&r.queue, 0, EV_WAKE, id, 0);
    }
    sim_event e;
    while (event_pop(&r.queue, &e)) {
        rs_manual_clock_set(&clock, e.at_ns);
        racer *x = &r.racers[e.who];
        rs_step step;
        if (e.kind == EV_WRITE) {
            /* The first writer since this racer's read wins; the rest conflict. */
            bool won = r.version == x->read_version;
            r.version += won ? 1u : 0u;
            step = rs_call_complete_at(x->call, won ? RS_SUCCESS : RS_RETRY, e.at_ns);
        } else {
            step = rs_call_next_at(x->call, e.at_ns);
        }
        act(&r, e.who, step, e.at_ns, cfg->op_ns);
    }
    for (uint32_t id = 0; id < clients; id++) {
        rs_policy_free(r.racers[id].policy);
    }
    free(r.racers);
    event_queue_free(&r.queue);
    *calls = r.calls;
    *done_ns = r.last_done_ns;
}

void contention_sweep(const contention_config *cfg, const char *dir,
                      void (*progress)(void *ctx, uint64_t runs_done), void *ctx)
{
    uint64_t runs = 0;
    for (size_t k = 0; k < contention_kind_count; k++) {
        char name[128];
        snprintf(name, sizeof name, "contention-%s.csv", contention_kinds[k].key);
        FILE *csv = output_open(dir, name);
        fprintf(csv, "clients,calls,completion_ms\n");
        for (uint32_t n = 1; n <= cfg->max_clients; n = next_clients(cfg, n)) {
            double calls = 0, done_ms = 0;
            for (uint32_t rep = 0; rep < cfg->repetitions; rep++) {
                uint64_t c, ns;
                run_race(cfg, &contention_kinds[k], n,
                         random_stream_seed(cfg->seed, (uint64_t)n << 32 | rep), &c, &ns);
                calls += (double)c;
                done_ms += (double)ns / 1e6;
                if (progress != NULL) {
                    progress(ctx, ++runs);
                }
            }
            fprintf(csv, "%u,%.1f,%.1f\n", n, calls / cfg->repetitions,
                    done_ms / cfg->repetitions);
        }
        fclose(csv);
    }
}
