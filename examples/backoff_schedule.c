/* Prints the delay schedule of the four jitter modes side by side, and shows
 * why jitter matters: how many of 1,000 clients that failed together retry
 * in the same 10 ms slot. */
#include <stdio.h>
#include <stdlib.h>

#include "resilience.h"

#define MS 1000000.0
#define ATTEMPTS 8
#define CLIENTS 1000

static const rs_jitter modes[] = { RS_JITTER_NONE, RS_JITTER_FULL, RS_JITTER_EQUAL,
                                   RS_JITTER_DECORRELATED };
static const char *const names[] = { "none", "full", "equal", "decorrelated" };
#define MODES (sizeof modes / sizeof modes[0])

static rs_backoff_config config_for(rs_jitter jitter, uint64_t seed)
{
    rs_backoff_config cfg = RS_BACKOFF_CONFIG_DEFAULT; /* 100 ms base, 20 s cap, x2 */
    cfg.jitter = jitter;
    cfg.seed = seed;
    return cfg;
}

static int print_schedules(void)
{
    rs_backoff *b[MODES];
    for (size_t m = 0; m < MODES; m++) {
        rs_backoff_config cfg = config_for(modes[m], 2024); /* fixed seed: same output every run */
        int rc = rs_backoff_new(&cfg, &b[m]);
        if (rc != RS_OK) {
            fprintf(stderr, "rs_backoff_new: %s\n", rs_strerror(rc));
            while (m-- > 0) {
                rs_backoff_free(b[m]);
            }
            return 1;
        }
    }
    printf("Delay before each retry (ms), base 100 ms, cap 20 s, multiplier 2:\n\n");
    printf("%-8s", "retry");
    for (size_t m = 0; m < MODES; m++) {
        printf("%14s", names[m]);
    }
    printf("\n");
    for (uint32_t attempt = 1; attempt <= ATTEMPTS; attempt++) {
        printf("%-8u", attempt);
        for (size_t m = 0; m < MODES; m++) {
            printf("%14.1f", (double)rs_backoff_next(b[m], attempt) / MS);
        }
        printf("\n");
    }
    for (size_t m = 0; m < MODES; m++) {
        rs_backoff_free(b[m]);
    }
    return 0;
}

/* Each simulated client's own random stream (a client would seed from the OS). */
static uint64_t client_random(uint64_t client, uint32_t attempt)
{
    uint64_t x = client * 0x9E3779B97F4A7C15u + attempt;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

/* 1,000 clients fail at the same instant and each computes its first three
 * retry times; count the busiest 10 ms slot the server sees. */
static void print_herd(void)
{
    printf("\n%d clients failing together: largest number of retries landing in one 10 ms slot\n\n",
           CLIENTS);
    static unsigned slots[MODES][4096];
    for (size_t m = 0; m < MODES; m++) {
        rs_backoff_config cfg = config_for(modes[m], 0);
        unsigned busiest = 0;
        for (uint64_t client = 0; client < CLIENTS; client++) {
            uint64_t at = 0, prev = 0;
            for (uint32_t attempt = 1; attempt <= 3; attempt++) {
                /* Each client keeps its own sequence; rs_backoff_delay takes
                 * the random bits from the caller. */
                prev = rs_backoff_delay(&cfg, attempt, prev, client_random(client, attempt));
                at += prev;
                size_t slot = (size_t)(at / 10000000u);
                if (slot < 4096 && ++slots[m][slot] > busiest) {
                    busiest = slots[m][slot];
                }
            }
        }
        printf("  %-13s %5u retries in one slot\n", names[m], busiest);
    }
}

int main(void)
{
    printf("libresilience %s: exponential backoff with jitter\n\n", rs_version_string());
    if (print_schedules() != 0) {
        return EXIT_FAILURE;
    }
    print_herd();
    printf("\nWithout jitter every client retries at the same instant (a retry storm);\n"
           "full jitter spreads them across the whole window. See docs/backoff.md.\n");
    return EXIT_SUCCESS;
}
