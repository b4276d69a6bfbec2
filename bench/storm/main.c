/* storm: the retry-storm simulator (docs/retry-storms.md).
 *
 * 1,000 clients, each with its own library objects as 1,000 processes
 * would have, call one server through the step API on a manual clock; the
 * server has a capacity, an outage and a cold start after it. Strategies
 * run side by side on the same seeds. Everything is deterministic.
 *
 *   storm [options]          the outage and burst scenarios, and the
 *                            contention race (a few seconds)
 *   storm --sweep            also every outage length (about a minute)
 *   storm --tune             also the breaker open-time candidates (minutes)
 *   storm --tune-jitter      also the jitters after a Retry-After (seconds)
 *
 * Run `storm --help` for the options. CSV goes to --out (default
 * storm-out); tools/storm turns it into the plots of docs/img/storm. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../progress.h"
#include "analysis.h"
#include "contention.h"
#include "fleet.h"
#include "output.h"
#include "strategies.h"

typedef struct options {
    const char *out_dir;
    const char *only;      /* comma-separated strategy keys; NULL = all */
    bool sweep, tune, tune_jitter, quiet, contention;
    uint32_t sweep_from_s, sweep_to_s, sweep_step_s;
    scenario base;
} options;

/* ---- progress over many runs --------------------------------------------- */

typedef struct progress_job {
    bench_progress display;
    uint64_t done_before_ns; /* simulated time of the runs already finished */
} progress_job;

static void on_run_progress(void *ctx, uint64_t now_ns)
{
    progress_job *job = ctx;
    bench_progress_update(&job->display, (job->done_before_ns + now_ns) / RS_MS(1));
}

static void job_start(progress_job *job, const options *o, const char *label, uint64_t sim_ns)
{
    job->done_before_ns = 0;
    bench_progress_start(&job->display, label, sim_ns / RS_MS(1), o->quiet);
}

static void job_run_done(progress_job *job, const scenario *sc)
{
    job->done_before_ns += sc->end_ns;
    bench_progress_update(&job->display, job->done_before_ns / RS_MS(1));
}

/* ---- choosing strategies --------------------------------------------------- */

static bool selected(const options *o, const strategy *st)
{
    if (st->configure == NULL) {
        return false;
    }
    if (o->only == NULL || strcmp(st->key, "none") == 0) { /* the baseline always runs */
        return true;
    }
    size_t len = strlen(st->key);
    for (const char *p = o->only; (p = strstr(p, st->key)) != NULL; p += len) {
        bool starts = p == o->only || p[-1] == ',';
        bool ends = p[len] == '\0' || p[len] == ',';
        if (starts && ends) {
            return true;
        }
    }
    return false;
}

static size_t selected_count(const options *o)
{
    size_t n = 0;
    for (size_t i = 0; i < storm_strategy_count; i++) {
        n += selected(o, &storm_strategies[i]) ? 1u : 0u;
    }
    return n;
}

/* One run of one strategy, summarised. */
static void run_one(const scenario *sc, const client_setup *setup, progress_job *job,
                    run_result *result, run_summary *summary)
{
    fleet_run(sc, setup, result, on_run_progress, job);
    summarise(sc, result, summary);
    job_run_done(job, sc);
}

static double delay_between(const run_summary *s, const run_summary *baseline)
{
    return s->recovery_s < 0 || baseline->recovery_s < 0 ? NAN
                                                         : s->recovery_s - baseline->recovery_s;
}

/* ---- the scenarios --------------------------------------------------------- */

/* Sees one finished run before its counters are freed. */
typedef void (*run_seen)(const options *o, const char *name, const strategy *st,
                         const scenario *sc, const run_result *r);

/* Every selected strategy on `sc`: rows[i] and delays[i] (recovery against
 * no retries) for storm_strategies[i]. "none" is the table's first entry,
 * so the baseline is known before any delay is taken against it. */
static void run_strategies(const options *o, const scenario *sc, const char *name,
                           progress_job *job, run_summary *rows, double *delays, run_seen seen)
{
    run_summary baseline;
    memset(&baseline, 0, sizeof baseline);
    for (size_t i = 0; i < storm_strategy_count; i++) {
        const strategy *st = &storm_strategies[i];
        if (!selected(o, st)) {
            continue;
        }
        client_setup setup = strategy_setup(st);
        run_result result;
        run_one(sc, &setup, job, &result, &rows[i]);
        if (seen != NULL) {
            seen(o, name, st, sc, &result);
        }
        timeline_free(&result.counts);
        if (strcmp(st->key, "none") == 0) {
            baseline = rows[i];
        }
        delays[i] = delay_between(&rows[i], &baseline);
    }
}

static void write_timelines(const options *o, const char *name, const strategy *st,
                            const scenario *sc, const run_result *r)
{
    output_timeline(o->out_dir, name, st, sc, &r->counts);
}

/* Every selected strategy on one scenario: timelines, a summary file, a
 * table. */
static void run_scenario(const options *o, const scenario *sc, const char *name,
                         const char *title)
{
    progress_job job;
    job_start(&job, o, name, sc->end_ns * selected_count(o));
    run_summary *rows = calloc(storm_strategy_count, sizeof *rows);
    double *delays = calloc(storm_strategy_count, sizeof *delays);
    run_strategies(o, sc, name, &job, rows, delays, write_timelines);
    bench_progress_finish(&job.display);
    char file[128];
    snprintf(file, sizeof file, "summary-%s.csv", name);
    FILE *csv = output_open(o->out_dir, file);
    output_summary_header(csv);
    print_summary_header(title);
    for (size_t i = 0; i < storm_strategy_count; i++) {
        if (selected(o, &storm_strategies[i])) {
            output_summary_row(csv, &storm_strategies[i], &rows[i], delays[i]);
            print_summary_row(&storm_strategies[i], &rows[i], delays[i], sc->outage_ns != 0);
        }
    }
    fclose(csv);
    free(delays);
    free(rows);
}

static scenario with_outage(const scenario *base, uint32_t outage_s)
{
    scenario sc = *base;
    sc.outage_ns = RS_SEC(outage_s);
    sc.end_ns = sc.outage_start_ns + sc.outage_ns + RS_SEC(60);
    return sc;
}

static scenario burst_scenario(const scenario *base)
{
    scenario sc = *base;
    sc.outage_ns = 0;
    sc.burst_start_ns = RS_SEC(20);
    sc.burst_ns = RS_SEC(2);
    sc.burst_factor = 2.0;
    sc.end_ns = sc.burst_start_ns + sc.burst_ns + RS_SEC(60);
    return sc;
}

/* No outage, no burst: a server within capacity that fails a share of
 * requests at random. Where retries are for. */
static scenario flaky_scenario(const scenario *base, double share)
{
    scenario sc = *base;
    sc.outage_ns = 0;
    sc.flaky_share = share;
    sc.end_ns = RS_SEC(60);
    return sc;
}

static uint32_t sweep_points(const options *o)
{
    return (o->sweep_to_s - o->sweep_from_s) / o->sweep_step_s + 1;
}

/* The longest outage swept: the range's end need not be on a step. */
static uint32_t sweep_last_s(const options *o)
{
    return o->sweep_from_s + (sweep_points(o) - 1) * o->sweep_step_s;
}

static uint64_t sweep_sim_ns(const options *o, const scenario *base)
{
    uint64_t ns = 0;
    for (uint32_t s = o->sweep_from_s; s <= o->sweep_to_s; s += o->sweep_step_s) {
        ns += with_outage(base, s).end_ns;
    }
    return ns;
}

/* Every outage length, every strategy: sweep-`name`.csv. */
static void run_sweep(const options *o, const scenario *base, const char *name)
{
    char label[64], file[128];
    snprintf(label, sizeof label, "sweep %s", name);
    snprintf(file, sizeof file, "sweep-%s.csv", name);
    progress_job job;
    job_start(&job, o, label, sweep_sim_ns(o, base) * selected_count(o));
    FILE *csv = output_open(o->out_dir, file);
    const char *columns = "outage_s,key,amplification,first_second_x_capacity,recovery_s,"
                          "recovery_delay_s,goodput_after,tripped_share\n";
    fprintf(csv, "%s", columns);
    /* The same rows again, a file per strategy: what a plot draws a line of. */
    FILE **per_strategy = calloc(storm_strategy_count, sizeof *per_strategy);
    for (size_t i = 0; i < storm_strategy_count; i++) {
        if (selected(o, &storm_strategies[i])) {
            snprintf(file, sizeof file, "sweep-%s-%s.csv", name, storm_strategies[i].key);
            per_strategy[i] = output_open(o->out_dir, file);
            fprintf(per_strategy[i], "%s", columns);
        }
    }
    printf("\nsweep over outage lengths (%s): amplification / recovery delay vs no retries\n",
           name);
    printf("  %-45s", "outage (s)");
    for (uint32_t s = o->sweep_from_s; s <= o->sweep_to_s; s += o->sweep_step_s) {
        printf(" %11u", s);
    }
    printf("\n");
    uint32_t points = sweep_points(o);
    size_t cells = (size_t)points * storm_strategy_count;
    run_summary *rows = calloc(cells, sizeof *rows);
    double *delays = calloc(cells, sizeof *delays);
    for (uint32_t p = 0; p < points; p++) {
        uint32_t outage_s = o->sweep_from_s + p * o->sweep_step_s;
        scenario sc = with_outage(base, outage_s);
        size_t first = (size_t)p * storm_strategy_count;
        run_strategies(o, &sc, name, &job, &rows[first], &delays[first], NULL);
        for (size_t i = 0; i < storm_strategy_count; i++) {
            if (!selected(o, &storm_strategies[i])) {
                continue;
            }
            const run_summary *row = &rows[first + i];
            for (FILE *to = csv; to != NULL; to = to == csv ? per_strategy[i] : NULL) {
                fprintf(to, "%u,%s,%.3f,%.3f,%.1f,%.1f,%.4f,%.3f\n", outage_s,
                        storm_strategies[i].key, row->amplification,
                        row->first_second_x_capacity, row->recovery_s, delays[first + i],
                        row->goodput_after, row->tripped_share);
            }
        }
    }
    fclose(csv);
    for (size_t i = 0; i < storm_strategy_count; i++) {
        if (per_strategy[i] != NULL) {
            fclose(per_strategy[i]);
        }
    }
    free(per_strategy);
    bench_progress_finish(&job.display);
    for (size_t i = 0; i < storm_strategy_count; i++) {
        const strategy *st = &storm_strategies[i];
        if (!selected(o, st)) {
            continue;
        }
        printf("  %-45s", st->label);
        for (uint32_t p = 0; p < points; p++) {
            size_t cell = (size_t)p * storm_strategy_count + i;
            char text[32];
            if (isnan(delays[cell])) {
                snprintf(text, sizeof text, "%.2fx/-", rows[cell].amplification);
            } else {
                snprintf(text, sizeof text, "%.2fx/%+.0f", rows[cell].amplification, delays[cell]);
            }
            printf(" %11s", text);
        }
        printf("\n");
    }
    free(delays);
    free(rows);
}

/* ---- choosing the breaker's open time --------------------------------------- */

typedef struct candidate {
    rs_backoff_config open;
    double worst_amplification, mean_amplification;
    double worst_delay_s[2], mean_delay_s[2]; /* after a cold start, and a warm restart */
    double burst_tripped, burst_refused_share;
} candidate;

static const char *jitter_name(rs_jitter j)
{
    static const char *const names[] = { "none", "full", "equal", "decorrelated" };
    return (size_t)j < sizeof names / sizeof names[0] ? names[j] : "?";
}

/* Fixed open times, then growing ones from every base to every larger cap
 * with every jitter. */
static size_t make_candidates(candidate *out, size_t room)
{
    static const uint64_t fixed_s[] = { 1, 2, 5, 10, 30 };
    static const uint64_t base_ms[] = { 500, 1000, 2000 };
    static const uint64_t cap_s[] = { 2, 3, 4, 5, 10, 30 };
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed_s / sizeof fixed_s[0] && n < room; i++) {
        uint64_t ns = RS_SEC(fixed_s[i]);
        out[n++] = (candidate){ .open = { ns, ns, 1.0, RS_JITTER_NONE, 0 } };
    }
    for (size_t b = 0; b < sizeof base_ms / sizeof base_ms[0]; b++) {
        for (size_t c = 0; c < sizeof cap_s / sizeof cap_s[0]; c++) {
            for (int j = RS_JITTER_NONE; j <= RS_JITTER_DECORRELATED && n < room; j++) {
                if (RS_MS(base_ms[b]) < RS_SEC(cap_s[c])) {
                    out[n++] = (candidate){ .open = { RS_MS(base_ms[b]), RS_SEC(cap_s[c]), 2.0,
                                                      (rs_jitter)j, 0 } };
                }
            }
        }
    }
    return n;
}

/* The recovery delay of one run against no retries; a run that did not
 * recover is infinitely late. */
static double delay_or_infinite(const run_summary *s, const run_summary *baseline)
{
    double delay = delay_between(s, baseline);
    return isnan(delay) ? INFINITY : delay;
}

/* Every candidate open time on the breaker strategy, over every outage
 * length, after a cold start and after a warm restart (a server that comes
 * back at full capacity hides nothing behind its warm-up), and in the
 * burst: tune.csv. */
static void run_tune(const options *o, const scenario *base)
{
    candidate candidates[96];
    size_t count = make_candidates(candidates, sizeof candidates / sizeof candidates[0]);
    uint32_t points = sweep_points(o);
    scenario servers[2] = { *base, *base };
    servers[1].cold_fraction = 1.0;
    scenario burst = burst_scenario(base);
    progress_job job;
    job_start(&job, o, "tune",
              2 * sweep_sim_ns(o, base) * (count + 1) + burst.end_ns * count);
    run_summary *baselines = calloc(2 * (size_t)points, sizeof *baselines);
    client_setup plain = strategy_setup(strategy_find("none"));
    for (size_t v = 0; v < 2; v++) {
        for (uint32_t p = 0; p < points; p++) {
            scenario sc = with_outage(&servers[v], o->sweep_from_s + p * o->sweep_step_s);
            run_result result;
            run_one(&sc, &plain, &job, &result, &baselines[v * points + p]);
            timeline_free(&result.counts);
        }
    }
    FILE *csv = output_open(o->out_dir, "tune.csv");
    fprintf(csv, "base_ms,max_ms,multiplier,jitter,worst_amplification,mean_amplification,"
                 "worst_delay_cold_s,mean_delay_cold_s,worst_delay_warm_s,mean_delay_warm_s,"
                 "burst_tripped_share,burst_refused_share\n");
    const strategy *breaker = strategy_find("breaker");
    for (size_t c = 0; c < count; c++) {
        candidate *k = &candidates[c];
        client_setup setup = strategy_setup(breaker);
        setup.breaker.open_backoff = k->open;
        for (size_t v = 0; v < 2; v++) {
            for (uint32_t p = 0; p < points; p++) {
                scenario sc = with_outage(&servers[v], o->sweep_from_s + p * o->sweep_step_s);
                run_result result;
                run_summary s;
                run_one(&sc, &setup, &job, &result, &s);
                timeline_free(&result.counts);
                double delay = delay_or_infinite(&s, &baselines[v * points + p]);
                k->worst_delay_s[v] = fmax(k->worst_delay_s[v], delay);
                k->mean_delay_s[v] += delay / points;
                if (v == 0) {
                    k->worst_amplification = fmax(k->worst_amplification, s.amplification);
                    k->mean_amplification += s.amplification / points;
                }
            }
        }
        run_result result;
        run_summary s;
        run_one(&burst, &setup, &job, &result, &s);
        uint64_t issued_after = 0;
        for (size_t i = (size_t)(event_end_ns(&burst) / STORM_TICK_NS); i < result.counts.count;
             i++) {
            issued_after += result.counts.ticks[i].issued;
        }
        timeline_free(&result.counts);
        k->burst_tripped = s.tripped_share;
        k->burst_refused_share =
            issued_after > 0 ? (double)s.refused_after / (double)issued_after : 0;
        fprintf(csv, "%.0f,%.0f,%.1f,%s,%.3f,%.3f,%.1f,%.2f,%.1f,%.2f,%.3f,%.4f\n",
                (double)k->open.base_ns / 1e6, (double)k->open.max_ns / 1e6, k->open.multiplier,
                jitter_name(k->open.jitter), k->worst_amplification, k->mean_amplification,
                k->worst_delay_s[0], k->mean_delay_s[0], k->worst_delay_s[1], k->mean_delay_s[1],
                k->burst_tripped, k->burst_refused_share);
    }
    fclose(csv);
    bench_progress_finish(&job.display);
    printf("\nbreaker open-time candidates over outages of %u-%u s (and the burst)\n",
           o->sweep_from_s, sweep_last_s(o));
    printf("  %8s %8s %4s %-12s %9s %9s %17s %17s %8s %8s\n", "base", "cap", "mult", "jitter",
           "worst amp", "mean amp", "delay cold: worst", "warm: worst/mean", "tripped",
           "refused");
    for (size_t c = 0; c < count; c++) {
        const candidate *k = &candidates[c];
        printf("  %6.1f s %6.1f s %4.1f %-12s %8.3fx %8.3fx %8.1f/%5.2f s %8.1f/%5.2f s %7.0f%% "
               "%7.2f%%\n",
               (double)k->open.base_ns / 1e9, (double)k->open.max_ns / 1e9, k->open.multiplier,
               jitter_name(k->open.jitter), k->worst_amplification, k->mean_amplification,
               k->worst_delay_s[0], k->mean_delay_s[0], k->worst_delay_s[1], k->mean_delay_s[1],
               100 * k->burst_tripped, 100 * k->burst_refused_share);
    }
    free(baselines);
}

/* ---- choosing the jitter after a server-requested wait ------------------------ */

static const double jitter_candidates[] = { 0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5 };
#define JITTER_CANDIDATES (sizeof jitter_candidates / sizeof jitter_candidates[0])

/* A server that sheds overload with 429 + Retry-After: 1 s, at a capacity
 * of `capacity_x` times the offered load. */
static scenario shedding_429(const scenario *base, double capacity_x)
{
    scenario sc = *base;
    sc.overload = OVERLOAD_429;
    sc.overload_retry_after_ns = RS_SEC(1);
    sc.capacity_per_s = capacity_x * sc.rate_per_client * sc.clients;
    return sc;
}

/* One scenario of the jitter comparison and what no retries did in it. */
typedef struct jitter_case {
    scenario sc;
    run_summary baseline;
} jitter_case;

/* The default policy (or `key`) with a return jitter of `j` on `jc`; the
 * delay against no retries in *delay. */
static run_summary run_with_jitter(const char *key, double j, const jitter_case *jc,
                                   progress_job *job, double *delay)
{
    double saved = storm_retry_after_jitter;
    storm_retry_after_jitter = j;
    client_setup setup = strategy_setup(strategy_find(key));
    storm_retry_after_jitter = saved;
    run_result result;
    run_summary s;
    run_one(&jc->sc, &setup, job, &result, &s);
    timeline_free(&result.counts);
    *delay = delay_between(&s, &jc->baseline);
    return s;
}

static void jitter_case_init(jitter_case *jc, const scenario *sc, progress_job *job)
{
    jc->sc = *sc;
    client_setup plain = strategy_setup(strategy_find("none"));
    run_result result;
    run_one(sc, &plain, job, &result, &jc->baseline);
    timeline_free(&result.counts);
}

static void print_seconds(double s)
{
    if (isnan(s)) {
        printf(" %7s", "never");
    } else {
        printf(" %+5.1f s", s);
    }
}

/* A delay for the CSV: -1 for "did not recover within the run". */
static double csv_delay(double s) { return isnan(s) ? -1.0 : s; }

enum { JITTER_BURST, JITTER_OUTAGE, JITTER_TIGHT_BURST, JITTER_TIGHT_OUTAGE, JITTER_CASES };

typedef struct jitter_row {
    double j;
    run_summary r[JITTER_CASES];
    double delay[JITTER_CASES];
    /* over the sweep of 503 + Retry-After outages: [0] default, [1] + breaker */
    double worst_amp[2], worst_delay[2];
} jitter_row;

static void jitter_row_print(const jitter_row *row)
{
    /* A lone client told "Retry-After: 1 s" waits 1 s plus a uniform share
     * of up to j of it: what the jitter costs when nobody else is there to
     * collide with. */
    printf("  %6.2f +%.2f/%.2f s |", row->j, row->j / 2, row->j);
    const run_summary *burst = &row->r[JITTER_BURST], *outage = &row->r[JITTER_OUTAGE];
    print_seconds(row->delay[JITTER_BURST]);
    printf(" %5.1f%% %6llu %7llu %5.1f |", 100 * burst->goodput_after,
           (unsigned long long)burst->shed, (unsigned long long)burst->refused_after,
           burst->pulse);
    print_seconds(row->delay[JITTER_OUTAGE]);
    printf(" %5.1f%% %6llu |", 100 * outage->goodput_after, (unsigned long long)outage->shed);
    print_seconds(row->delay[JITTER_TIGHT_BURST]);
    print_seconds(row->delay[JITTER_TIGHT_OUTAGE]);
    printf(" | %5.2fx %+5.1f s %5.2fx %+5.1f s\n", row->worst_amp[0], row->worst_delay[0],
           row->worst_amp[1], row->worst_delay[1]);
}

static void jitter_row_csv(FILE *csv, const jitter_row *row)
{
    const run_summary *burst = &row->r[JITTER_BURST], *outage = &row->r[JITTER_OUTAGE];
    fprintf(csv, "%.2f,%.3f,%.3f,%.1f,%.4f,%llu,%llu,%.2f,%.1f,%.4f,%llu,%.1f,%.1f,%.3f,%.1f,"
                 "%.3f,%.1f\n",
            row->j, row->j / 2, row->j, csv_delay(row->delay[JITTER_BURST]),
            burst->goodput_after, (unsigned long long)burst->shed,
            (unsigned long long)burst->refused_after, burst->pulse,
            csv_delay(row->delay[JITTER_OUTAGE]), outage->goodput_after,
            (unsigned long long)outage->shed, csv_delay(row->delay[JITTER_TIGHT_BURST]),
            csv_delay(row->delay[JITTER_TIGHT_OUTAGE]), row->worst_amp[0],
            csv_delay(row->worst_delay[0]), row->worst_amp[1], csv_delay(row->worst_delay[1]));
}

/* The return jitter (retry_after_jitter) on the default policy where it
 * matters: a short-queued server answering overload with 429 +
 * Retry-After: 1 s, after a burst and after an outage, at 1.2x and at
 * 1.1x the offered load; and where it must do no harm: every outage
 * length when the outage's 503s carry Retry-After: 1 s, with and without
 * the default breaker. jitter.csv. */
static void run_tune_jitter(const options *o, const scenario *base)
{
    uint32_t points = sweep_points(o);
    scenario with_ra = *base;
    with_ra.outage_retry_after_ns = RS_SEC(1);
    scenario loose = shedding_429(base, 1.2), tight = shedding_429(base, 1.1);
    scenario cases[JITTER_CASES] = { burst_scenario(&loose), loose, burst_scenario(&tight),
                                     tight };
    uint64_t case_ns = 0;
    for (size_t c = 0; c < JITTER_CASES; c++) {
        case_ns += cases[c].end_ns;
    }
    uint64_t sweep_ns = sweep_sim_ns(o, &with_ra);
    progress_job job;
    job_start(&job, o, "jitter",
              case_ns + sweep_ns + (case_ns + 2 * sweep_ns) * JITTER_CANDIDATES);
    jitter_case jc[JITTER_CASES];
    for (size_t c = 0; c < JITTER_CASES; c++) {
        jitter_case_init(&jc[c], &cases[c], &job);
    }
    jitter_case *sweep = calloc(points, sizeof *sweep);
    for (uint32_t p = 0; p < points; p++) {
        scenario sc = with_outage(&with_ra, o->sweep_from_s + p * o->sweep_step_s);
        jitter_case_init(&sweep[p], &sc, &job);
    }
    static const char *const sweep_keys[2] = { "default", "breaker" };
    jitter_row rows[JITTER_CANDIDATES];
    for (size_t k = 0; k < JITTER_CANDIDATES; k++) {
        jitter_row *row = &rows[k];
        row->j = jitter_candidates[k];
        for (size_t c = 0; c < JITTER_CASES; c++) {
            row->r[c] = run_with_jitter("default", row->j, &jc[c], &job, &row->delay[c]);
        }
        for (size_t v = 0; v < 2; v++) {
            row->worst_amp[v] = 0;
            row->worst_delay[v] = -INFINITY;
            for (uint32_t p = 0; p < points; p++) {
                double d;
                run_summary s = run_with_jitter(sweep_keys[v], row->j, &sweep[p], &job, &d);
                row->worst_amp[v] = fmax(row->worst_amp[v], s.amplification);
                /* A run that never recovered is the worst of all. */
                row->worst_delay[v] = isnan(d) || isnan(row->worst_delay[v])
                                          ? NAN
                                          : fmax(row->worst_delay[v], d);
            }
        }
    }
    free(sweep);
    bench_progress_finish(&job.display);
    FILE *csv = output_open(o->out_dir, "jitter.csv");
    fprintf(csv, "jitter,single_mean_s,single_worst_s,burst_delay_s,burst_goodput_after,"
                 "burst_shed,burst_refused,burst_pulse,outage_delay_s,outage_goodput_after,"
                 "outage_shed,tight_burst_delay_s,tight_outage_delay_s,ra503_worst_amplification,"
                 "ra503_worst_delay_s,ra503_breaker_worst_amplification,"
                 "ra503_breaker_worst_delay_s\n");
    printf("\nthe jitter after a server-requested wait (retry_after_jitter), default policy:\n"
           "429 + Retry-After: 1 s from a server with a %.0f ms queue (a 2 s burst, a %u s outage)\n"
           "at 1.2x and 1.1x the offered load; 503 + Retry-After: 1 s over outages of %u-%u s.\n"
           "Delays are recovery against no retries; 429s are the server's; refused: locally.\n",
           base->burst_tolerance_s * 1e3, (unsigned)(base->outage_ns / RS_SEC(1)),
           o->sweep_from_s, sweep_last_s(o));
    printf("  %6s %12s | %7s %6s %6s %7s %5s | %7s %6s %6s | %7s %7s | %14s %14s\n", "jitter",
           "lone client", "burst", "after", "429s", "refused", "pulse", "outage", "after",
           "429s", "1.1x: b", "outage", "503+RA: worst", "+ breaker");
    for (size_t k = 0; k < JITTER_CANDIDATES; k++) {
        jitter_row_print(&rows[k]);
        jitter_row_csv(csv, &rows[k]);
    }
    fclose(csv);
}

/* ---- the contention race ---------------------------------------------------- */

static void on_race_done(void *ctx, uint64_t runs_done)
{
    bench_progress_update(ctx, runs_done);
}

static void run_contention(const options *o)
{
    contention_config cfg = contention_default();
    bench_progress display;
    bench_progress_start(&display, "contention", contention_runs(&cfg), o->quiet);
    contention_sweep(&cfg, o->out_dir, on_race_done, &display);
    bench_progress_finish(&display);
    printf("\ncontention race (the AWS blog's shape): %s/contention-*.csv\n", o->out_dir);
}

/* ---- the command line --------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: storm [options]\n"
            "  --out DIR             CSV files go here (default storm-out)\n"
            "  --sweep               also sweep the outage length (about a minute)\n"
            "  --tune                also try breaker open-time candidates (minutes)\n"
            "  --tune-jitter         also compare return jitters after a Retry-After\n"
            "  --no-contention       skip the contention race\n"
            "  --strategies a,b,...  only these (keys below; 'none' always runs)\n"
            "  --clients N           clients (default 1000)\n"
            "  --outage S            outage length in seconds (default 67)\n"
            "  --sweep-range A,B,S   outage lengths A to B in steps of S (default 60,150,7)\n"
            "  --outage-fails 503|timeout   how requests fail during the outage\n"
            "  --overload 503|429    what the server answers beyond capacity\n"
            "  --retry-after-ms N    Retry-After sent with overload answers (0 = none)\n"
            "  --outage-retry-after-ms N  Retry-After sent with the outage's 503s\n"
            "  --capacity N          requests/s the warm server serves (default 1200)\n"
            "  --cold-start F,S      capacity after the outage (share) and seconds to\n"
            "                        full capacity (default 0.25,15; 1,1 = warm restart)\n"
            "  --burst-tolerance-ms N  work the server banks while idle (default 50)\n"
            "  --open-backoff B,C,M,J  the breaker's growing open time instead of the\n"
            "                        library's: base ms, cap ms, multiplier, jitter\n"
            "                        (none|full|equal|decorrelated)\n"
            "  --budget R,T          retry budget ratio and tokens instead of the\n"
            "                        library's, for every strategy that has one\n"
            "  --retry-after-jitter J  jitter after a Retry-After or the shared pause\n"
            "                        instead of the library's, for every strategy that\n"
            "                        has one (0 to 10)\n"
            "  --seed N              (default 2026)\n"
            "  --quiet               no progress display\n"
            "strategies:");
    for (size_t i = 0; i < storm_strategy_count; i++) {
        fprintf(to, " %s%s", storm_strategies[i].key,
                storm_strategies[i].configure == NULL ? " (to come)" : "");
    }
    fprintf(to, "\n");
}

static bool parse_jitter(const char *name, rs_jitter *out)
{
    for (int j = RS_JITTER_NONE; j <= RS_JITTER_DECORRELATED; j++) {
        if (strcmp(name, jitter_name((rs_jitter)j)) == 0) {
            *out = (rs_jitter)j;
            return true;
        }
    }
    return false;
}

static bool parse_open_backoff(const char *text, rs_backoff_config *out)
{
    double base_ms, cap_ms, multiplier;
    char jitter[32];
    if (sscanf(text, "%lf,%lf,%lf,%31s", &base_ms, &cap_ms, &multiplier, jitter) != 4 ||
        !parse_jitter(jitter, &out->jitter)) {
        return false;
    }
    out->base_ns = (uint64_t)(base_ms * 1e6);
    out->max_ns = (uint64_t)(cap_ms * 1e6);
    out->multiplier = multiplier;
    return rs_backoff_config_validate(out) == RS_OK;
}

static bool parse(int argc, char **argv, options *o)
{
    double warmup_s;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "--sweep") == 0) {
            o->sweep = true, takes = false;
        } else if (strcmp(a, "--tune") == 0) {
            o->tune = true, takes = false;
        } else if (strcmp(a, "--tune-jitter") == 0) {
            o->tune_jitter = true, takes = false;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true, takes = false;
        } else if (strcmp(a, "--no-contention") == 0) {
            o->contention = false, takes = false;
        } else if (strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (v == NULL) {
            return false;
        } else if (strcmp(a, "--out") == 0) {
            o->out_dir = v;
        } else if (strcmp(a, "--strategies") == 0) {
            o->only = v;
        } else if (strcmp(a, "--clients") == 0) {
            o->base.clients = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--outage") == 0) {
            o->base = with_outage(&o->base, (uint32_t)strtoul(v, NULL, 10));
        } else if (strcmp(a, "--sweep-range") == 0) {
            if (sscanf(v, "%u,%u,%u", &o->sweep_from_s, &o->sweep_to_s, &o->sweep_step_s) != 3 ||
                o->sweep_step_s == 0 || o->sweep_from_s == 0 || o->sweep_to_s < o->sweep_from_s) {
                return false;
            }
        } else if (strcmp(a, "--outage-fails") == 0) {
            o->base.outage_failure = strcmp(v, "timeout") == 0 ? OUTAGE_TIMEOUT : OUTAGE_503;
        } else if (strcmp(a, "--overload") == 0) {
            o->base.overload = strcmp(v, "429") == 0 ? OVERLOAD_429 : OVERLOAD_503;
        } else if (strcmp(a, "--cold-start") == 0) {
            if (sscanf(v, "%lf,%lf", &o->base.cold_fraction, &warmup_s) != 2 ||
                !(o->base.cold_fraction > 0 && o->base.cold_fraction <= 1) || !(warmup_s > 0)) {
                return false;
            }
            o->base.warmup_ns = (uint64_t)(warmup_s * 1e9);
        } else if (strcmp(a, "--burst-tolerance-ms") == 0) {
            o->base.burst_tolerance_s = strtod(v, NULL) / 1e3;
        } else if (strcmp(a, "--retry-after-ms") == 0) {
            o->base.overload_retry_after_ns = RS_MS(strtoull(v, NULL, 10));
        } else if (strcmp(a, "--outage-retry-after-ms") == 0) {
            o->base.outage_retry_after_ns = RS_MS(strtoull(v, NULL, 10));
        } else if (strcmp(a, "--capacity") == 0) {
            o->base.capacity_per_s = strtod(v, NULL);
            if (!(o->base.capacity_per_s > 0)) {
                return false;
            }
        } else if (strcmp(a, "--open-backoff") == 0) {
            if (!parse_open_backoff(v, &storm_open_backoff)) {
                return false;
            }
        } else if (strcmp(a, "--budget") == 0) {
            if (sscanf(v, "%lf,%lf", &storm_budget_ratio, &storm_budget_tokens) != 2 ||
                !(storm_budget_ratio > 0) || !(storm_budget_tokens >= 1)) {
                return false;
            }
        } else if (strcmp(a, "--retry-after-jitter") == 0) {
            storm_retry_after_jitter = strtod(v, NULL);
            if (!(storm_retry_after_jitter >= 0 && storm_retry_after_jitter <= 10)) {
                return false;
            }
        } else if (strcmp(a, "--seed") == 0) {
            o->base.seed = strtoull(v, NULL, 10);
        } else {
            return false;
        }
        i += takes ? 1 : 0;
    }
    return o->base.clients > 0;
}

int main(int argc, char **argv)
{
    options o = { .out_dir = "storm-out", .contention = true, .sweep_from_s = 60,
                  .sweep_to_s = 150, .sweep_step_s = 7, .base = scenario_default() };
    if (!parse(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    printf("storm: %u clients at %.1f requests/s each, capacity %.0f/s, libresilience %s\n",
           o.base.clients, o.base.rate_per_client, o.base.capacity_per_s, rs_version_string());
    char title[160];
    snprintf(title, sizeof title, "outage of %llu s at t=%llu s, then a cold start",
             (unsigned long long)(o.base.outage_ns / RS_SEC(1)),
             (unsigned long long)(o.base.outage_start_ns / RS_SEC(1)));
    run_scenario(&o, &o.base, "outage", title);
    scenario burst = burst_scenario(&o.base);
    run_scenario(&o, &burst, "burst", "a 2 s burst of twice the offered load, no outage");
    scenario flaky = flaky_scenario(&o.base, 0.05);
    run_scenario(&o, &flaky, "flaky", "no outage, 5% of requests fail at random (goodput is what counts)");
    if (o.contention) {
        run_contention(&o);
    }
    if (o.sweep) {
        run_sweep(&o, &o.base, "outage");
    }
    if (o.tune_jitter) {
        run_tune_jitter(&o, &o.base);
    }
    if (o.tune) {
        run_tune(&o, &o.base);
    }
    return 0;
}
