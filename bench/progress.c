#include "progress.h"

#include <unistd.h>

#include "bench.h"

#define NS_PER_S 1000000000.0
#define IN_PLACE_EVERY_NS UINT64_C(200000000)

/* "1:05" or "1:02:05": short enough that the line never wraps. */
static void format_duration(char *buf, size_t size, double seconds)
{
    if (seconds < 0 || seconds > 360000) {
        snprintf(buf, size, "--:--");
        return;
    }
    unsigned s = (unsigned)(seconds + 0.5);
    if (s >= 3600) {
        snprintf(buf, size, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    } else {
        snprintf(buf, size, "%u:%02u", s / 60, s % 60);
    }
}

static void print_line(bench_progress *p, uint64_t now_ns, bool last)
{
    double elapsed = (double)(now_ns - p->started_ns) / NS_PER_S;
    double share = p->total > 0 ? (double)p->done / (double)p->total : 1.0;
    /* Until some work is done there is nothing to extrapolate from. */
    double left = share > 0 ? elapsed * (1.0 - share) / share : -1.0;
    char elapsed_text[16], left_text[16];
    /* Whatever the program printed before comes first, even when its
     * stdout is a pipe and stderr is not. */
    fflush(stdout);
    format_duration(elapsed_text, sizeof elapsed_text, elapsed);
    format_duration(left_text, sizeof left_text, last ? 0.0 : left);
    if (p->in_place) {
        int width = fprintf(p->out, "\r%s %5.1f%%  elapsed %s  ETA %s", p->label, 100.0 * share,
                            elapsed_text, left_text);
        /* A shorter line than the last leaves its tail on screen. */
        if (width < p->width) {
            fprintf(p->out, "%*s", p->width - width, "");
        }
        p->width = width;
        if (last) {
            fputc('\n', p->out);
        }
    } else {
        fprintf(p->out, "%s: %.0f%% done, %s elapsed, %s left\n", p->label, 100.0 * share,
                elapsed_text, left_text);
    }
    fflush(p->out);
    p->printed_ns = now_ns;
}

void bench_progress_start(bench_progress *p, const char *label, uint64_t total, bool quiet)
{
    p->label = label;
    p->total = total;
    p->done = 0;
    p->out = stderr;
    p->in_place = isatty(fileno(stderr)) != 0;
    p->quiet = quiet;
    p->width = 0;
    p->started_ns = p->printed_ns = bench_now_ns();
    if (!quiet && p->in_place) {
        print_line(p, p->started_ns, false);
    }
}

void bench_progress_update(bench_progress *p, uint64_t done)
{
    p->done = done < p->total ? done : p->total;
    if (p->quiet) {
        return;
    }
    uint64_t now = bench_now_ns();
    uint64_t every = p->in_place ? IN_PLACE_EVERY_NS
                                 : (uint64_t)BENCH_PROGRESS_LOG_EVERY_S * UINT64_C(1000000000);
    if (now - p->printed_ns >= every) {
        print_line(p, now, false);
    }
}

void bench_progress_finish(bench_progress *p)
{
    p->done = p->total;
    if (!p->quiet) {
        print_line(p, bench_now_ns(), true);
    }
}
