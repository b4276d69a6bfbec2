/* simulation: the adaptive limits against a server whose capacity changes
 * (docs/adaptive.md). Deterministic: a manual clock and fixed seeds.
 *
 *   simulation [--out DIR] [--seed N]
 *
 * Two scenarios, each with the adaptive client and a fixed one:
 *  - concurrency: 100 workers, 20 from 20 s, 100 again from 40 s; a queue of
 *    50 in front of them (429 past it), 50 ms of work, 300 closed-loop
 *    clients; fixed: a bulkhead of 100, set for the old capacity;
 * *  - rate: a limit of 400 requests a second (a burst of 100), 100 from
 *    20 s, 400 again from 40 s, answered 429 + Retry-After: 1 past it; 10 ms
 *    of work, 300 clients, 90 s; fixed: a bucket of 400 a second.
 * Prints the figures the docs quote and writes one CSV per run (per 100 ms:
 * the limit, the capacity, the rate, requests, served, 429s) for
 * tools/simulation's plots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"

typedef struct run {
    const char *name;  /* file name */
    const char *label; /* table */
    sim_config cfg;
} run;

static void write_csv(const char *dir, const run *r, const sim_result *res)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.csv", dir, r->name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "simulation: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fprintf(f, "t_s,limit,capacity,rate,server_rate,requests_per_s,served_per_s,throttled_per_s,"
               "latency_ms\n");
    for (size_t i = 0; i + 1 < res->count; i++) {
        const sim_tick *t = &res->ticks[i];
        double per_s = 1e9 / (double)SIM_TICK_NS;
        fprintf(f, "%.1f,%.0f,%.0f,%.2f,%.0f,%.0f,%.0f,%.0f,%.1f\n", (double)i * 0.1, t->limit,
                t->workers, t->rate, t->server_rate, t->requests * per_s, t->served * per_s,
                t->throttled * per_s,
                t->served != 0 ? (double)t->latency_us / t->served / 1000.0 : 0.0);
    }
    fclose(f);
}

/* Capacity of a phase in requests per second: workers / work, or the rate. */
static double capacity_per_s(const sim_config *cfg, const sim_phase *p)
{
    double by_workers = p->workers != 0 ? p->workers * 1e9 / (double)cfg->service_ns : 1e18;
    double by_rate = p->rate != 0.0 ? p->rate : 1e18;
    return by_workers < by_rate ? by_workers : by_rate;
}

/* The figures after the phase change at `at_ns` until `until_ns`. For the
 * limit: when every one-second mean of it is within 20% of the capacity
 * from then on, and goodput and 429s from then. For the rate, which a
 * server with a burst allowance and a Retry-After paces in rounds of
 * pause, burst and 429 rather than holds, goodput and 429s from 2 s after
 * the change. */
static void report(const run *r, const sim_result *res, sim_series series, uint64_t at_ns,
                   uint64_t until_ns, double target)
{
    const sim_config *cfg = &r->cfg;
    sim_phase p = sim_phase_at(cfg, at_ns);
    double cap = capacity_per_s(cfg, &p);
    char when[48] = "";
    uint64_t from = at_ns + RS_SEC(2);
    if (series == SIM_LIMIT) {
        uint64_t settled = sim_settled_at(res, series, at_ns, until_ns, 0.8 * target, 1.2 * target);
        if (settled == UINT64_MAX) {
            snprintf(when, sizeof when, "limit within 20%%: never,");
        } else {
            snprintf(when, sizeof when, "limit within 20%% after %.1f s,",
                     (double)(settled - at_ns) / 1e9);
            from = settled;
        }
    }
    sim_totals t = sim_sum(res, from, until_ns);
    double goodput = (double)t.served / t.seconds;
    printf("  %-30s %5.0f at %2.0f s: %-32s goodput %6.0f/s (%5.1f%% of %5.0f), 429s %5.1f%%, "
           "latency %3.0f ms\n",
           r->label, target, (double)at_ns / 1e9, when, goodput, 100.0 * goodput / cap, cap,
           t.requests != 0 ? 100.0 * (double)t.throttled / (double)t.requests : 0.0,
           t.served != 0 ? (double)t.latency_us / (double)t.served / 1000.0 : 0.0);
}

int main(int argc, char **argv)
{
    const char *out = "simulation-out";
    uint64_t seed = 2026;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--out DIR] [--seed N]\n", argv[0]);
            return 2;
        }
    }
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "simulation: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }
    run runs[4];
    runs[0] = (run){ "concurrency-adaptive", "adaptive (gradient)", sim_default() };
    runs[1] = (run){ "concurrency-fixed", "fixed limit of 100", sim_default() };
    runs[1].cfg.kind = SIM_FIXED;
    runs[2] = (run){ "rate-adaptive", "adaptive rate", sim_default() };
    runs[3] = (run){ "rate-fixed", "fixed rate of 400/s", sim_default() };
    for (int i = 2; i < 4; i++) {
        sim_config *c = &runs[i].cfg;
        c->phases[0] = (sim_phase){ 0, 0, 400.0 };
        c->phases[1] = (sim_phase){ RS_SEC(20), 0, 100.0 };
        c->phases[2] = (sim_phase){ RS_SEC(40), 0, 400.0 };
        c->burst = 100;
        c->service_ns = RS_MS(10);
        c->retry_after_ns = RS_SEC(1);
        c->end_ns = RS_SEC(90);
    }
    runs[3].cfg.kind = SIM_FIXED;
    runs[3].cfg.fixed_limit = 300;
    runs[3].cfg.fixed_rate = 400.0;
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        runs[i].cfg.seed = seed;
        sim_result res;
        sim_run(&runs[i].cfg, &res);
        write_csv(out, &runs[i], &res);
        bool rate = runs[i].cfg.phases[0].rate != 0.0;
        printf("%s (%llu events)\n", runs[i].name, (unsigned long long)res.events);
        if (rate) {
            report(&runs[i], &res, SIM_RATE, RS_SEC(2), RS_SEC(20), 400.0);
            report(&runs[i], &res, SIM_RATE, RS_SEC(20), RS_SEC(40), 100.0);
            report(&runs[i], &res, SIM_RATE, RS_SEC(40), RS_SEC(90), 400.0);
        } else {
            report(&runs[i], &res, SIM_LIMIT, RS_SEC(20), RS_SEC(40), 20.0);
            report(&runs[i], &res, SIM_LIMIT, RS_SEC(40), RS_SEC(60), 100.0);
        }
        sim_result_free(&res);
    }
    return 0;
}
