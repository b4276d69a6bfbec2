/* Progress of a long run, for the bench programs and the storm simulator.
 *
 * On a terminal it is one line on stderr rewritten in place ("\r"): the
 * share done, the time elapsed and an estimate of the time left. When
 * stderr is not a terminal (a log file, CI), carriage returns would pile
 * up into one unreadable line, so it prints a plain line every
 * `BENCH_PROGRESS_LOG_EVERY_S` seconds instead, and a last one at the end.
 *
 * Times are wall-clock: they describe the program, not the simulation. */
#ifndef RS_BENCH_PROGRESS_H
#define RS_BENCH_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_PROGRESS_LOG_EVERY_S 10

typedef struct bench_progress {
    const char *label;
    uint64_t total;          /* units of work in the whole run, > 0 */
    uint64_t done;
    uint64_t started_ns;
    uint64_t printed_ns;     /* when the last line was written */
    FILE *out;
    bool in_place;           /* a terminal: rewrite one line */
    bool quiet;              /* print nothing at all */
    int width;               /* of the last in-place line, to blank what it leaves */
} bench_progress;

/* Starts a display of `total` units of work on stderr. `quiet` silences it
 * (for runs whose stderr is read by a script). */
void bench_progress_start(bench_progress *p, const char *label, uint64_t total, bool quiet);

/* `done` units are finished (not more than total). Cheap to call often: it
 * prints at most five times a second on a terminal. */
void bench_progress_update(bench_progress *p, uint64_t done);

/* Everything is done: prints the final line (with its newline on a
 * terminal, so later output starts on a line of its own). */
void bench_progress_finish(bench_progress *p);

#endif /* RS_BENCH_PROGRESS_H */
