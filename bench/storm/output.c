#include "output.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server.h"

FILE *output_open(const char *dir, const char *name)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "storm: cannot create %s: %s\n", dir, strerror(errno));
        exit(1);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "storm: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

/* One file of `ticks_per_row` ticks a row. */
static void write_timeline(const char *dir, const char *name, const scenario *sc,
                           const timeline *t, size_t ticks_per_row)
{
    FILE *f = output_open(dir, name);
    fprintf(f, "t_s,offered,requests,retries,served,rejected,succeeded,refused,goodput,"
               "breakers_open,capacity\n");
    for (size_t first = 0; first + ticks_per_row <= t->count; first += ticks_per_row) {
        tick sum;
        memset(&sum, 0, sizeof sum);
        for (size_t i = first; i < first + ticks_per_row; i++) {
            const tick *k = &t->ticks[i];
            sum.issued += k->issued;
            sum.requests += k->requests;
            sum.retries += k->retries;
            sum.served += k->served;
            sum.rejected += k->rejected;
            sum.succeeded += k->succeeded;
            sum.refused += k->refused;
            sum.goodput += k->goodput;
            /* A count of clients, not of events: the row's busiest moment. */
            sum.breakers_open = k->breakers_open > sum.breakers_open ? k->breakers_open
                                                                     : sum.breakers_open;
        }
        uint64_t at = (uint64_t)first * STORM_TICK_NS;
        fprintf(f, "%.1f,%u,%u,%u,%u,%u,%u,%u,%u,%u,%.0f\n", (double)at / 1e9, sum.issued,
                sum.requests, sum.retries, sum.served, sum.rejected, sum.succeeded, sum.refused,
                sum.goodput, sum.breakers_open,
                server_capacity_at(sc, at + ticks_per_row * STORM_TICK_NS / 2));
    }
    fclose(f);
}

void output_timeline(const char *dir, const char *scenario_name, const strategy *st,
                     const scenario *sc, const timeline *t)
{
    char name[256];
    snprintf(name, sizeof name, "timeline-%s-%s.csv", scenario_name, st->key);
    write_timeline(dir, name, sc, t, (size_t)(RS_SEC(1) / STORM_TICK_NS));
    snprintf(name, sizeof name, "ticks-%s-%s.csv", scenario_name, st->key);
    write_timeline(dir, name, sc, t, 1);
}

void output_summary_header(FILE *csv)
{
    fprintf(csv, "key,label,amplification,first_second_x_capacity,recovery_s,recovery_delay_s,"
                 "goodput,goodput_after,load_per_request,peak_after_x_capacity,refused_after,"
                 "breakers_open_until_s,tripped_share,shed,latency_after_s,pulse\n");
}

void output_summary_row(FILE *csv, const strategy *st, const run_summary *s, double delay_s)
{
    /* Labels are written unquoted (gnuplot reads them): they hold no comma. */
    fprintf(csv, "%s,%s,%.3f,%.3f,%.1f,%.1f,%.4f,%.4f,%.3f,%.3f,%llu,%.1f,%.3f,%llu,%.3f,%.2f\n",
            st->key, st->label, s->amplification, s->first_second_x_capacity, s->recovery_s,
            delay_s, s->goodput, s->goodput_after, s->load_per_request, s->peak_after_x_capacity,
            (unsigned long long)s->refused_after, s->breakers_open_until_s, s->tripped_share,
            (unsigned long long)s->shed, s->latency_after_s, s->pulse);
}

void print_summary_header(const char *title)
{
    printf("\n%s\n", title);
    printf("  %-45s %7s %6s %8s %7s %7s %7s %7s %7s %7s %6s\n", "strategy", "amplif", "1st s",
           "recovery", "delay", "goodput", "after", "latency", "refused", "shed", "trip");
}

void print_summary_row(const strategy *st, const run_summary *s, double delay_s, bool outage)
{
    char recovery[16], delay[16], amplification[16] = "-", first_second[16] = "-";
    if (outage) {
        snprintf(amplification, sizeof amplification, "%.2fx", s->amplification);
        snprintf(first_second, sizeof first_second, "%.2fx", s->first_second_x_capacity);
    }
    if (s->recovery_s < 0) {
        snprintf(recovery, sizeof recovery, "never");
    } else {
        snprintf(recovery, sizeof recovery, "%.1f s", s->recovery_s);
    }
    if (isnan(delay_s)) {
        snprintf(delay, sizeof delay, "-");
    } else {
        snprintf(delay, sizeof delay, "%+.1f s", delay_s);
    }
    printf("  %-45s %7s %6s %8s %7s %6.1f%% %6.1f%% %5.2f s %7llu %7llu %5.0f%%\n", st->label,
           amplification, first_second, recovery, delay, 100 * s->goodput,
           100 * s->goodput_after, s->latency_after_s, (unsigned long long)s->refused_after,
           (unsigned long long)s->shed, 100 * s->tripped_share);
}
