/* What the simulator writes: CSV files for the plots (tools/storm renders
 * them with gnuplot) and a table on stdout for people. */
#ifndef STORM_OUTPUT_H
#define STORM_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "analysis.h"
#include "scenario.h"
#include "strategies.h"

/* Opens `dir`/`name` for writing (creating `dir`); ends the program on
 * failure. */
FILE *output_open(const char *dir, const char *name);

/* The counts of one run: per second in `dir`/timeline-`scenario_name`-`key`.csv,
 * per tick in ticks-`scenario_name`-`key`.csv. */
void output_timeline(const char *dir, const char *scenario_name, const strategy *st,
                     const scenario *sc, const timeline *t);

void output_summary_header(FILE *csv);
/* `delay_s`: recovery minus that of no retries; NAN when either did not
 * recover within the run. */
void output_summary_row(FILE *csv, const strategy *st, const run_summary *s, double delay_s);

/* The same rows, for a terminal. */
void print_summary_header(const char *title);
/* `outage`: the run had one (else the outage columns say "-"). */
void print_summary_row(const strategy *st, const run_summary *s, double delay_s, bool outage);

#endif /* STORM_OUTPUT_H */
