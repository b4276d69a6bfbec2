/* The pre-fork server scenario: a master process creates one rate limit in
 * shared memory and forks 4 workers; every worker opens the limit by name
 * and sends "requests" to a provider that allows 200 per second (burst 20),
 * for one second. No worker knows how busy the others are, and no server
 * coordinates them: the shared token bucket does.
 *
 * Each worker reports how many requests it sent through a pipe; the master
 * prints every worker's share and the total against the limit
 * (burst + rate x elapsed), and exits non-zero if the total exceeded it (or
 * fell far below it: the workers would have idled). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "resilience.h"

#define WORKERS 4
#define RATE 200.0 /* requests per second, all workers together */
#define BURST 20
#define RUN_NS 1000000000u

/* Worker i: sends as fast as the shared limit allows until the deadline,
 * doing (i + 1) ms of "work" after each request, so the workers differ. */
static uint64_t work(const char *name, unsigned i, uint64_t deadline)
{
    rs_token_bucket_config cfg = { .rate = RATE, .burst = BURST };
    rs_shm_token_bucket *limit = NULL;
    int rc = rs_shm_token_bucket_open(name, &cfg, 0, &limit);
    if (rc != RS_OK) {
        fprintf(stderr, "worker %u: rs_shm_token_bucket_open: %s (%s)\n", i, rs_strerror(rc),
                rs_last_error());
        return UINT64_MAX;
    }
    uint64_t sent = 0;
    for (;;) {
        uint64_t now = rs_clock_now(NULL);
        if (now >= deadline) {
            break;
        }
        /* Waits for a token, but never past the deadline. */
        if (rs_shm_token_bucket_acquire(limit, 1, deadline - now) != RS_OK) {
            break;
        }
        sent++;                                   /* send the request here */
        rs_clock_sleep(NULL, (i + 1) * 1000000u); /* and handle its answer */
    }
    rs_shm_token_bucket_close(limit);
    return sent;
}

int main(void)
{
    char name[64];
    snprintf(name, sizeof name, "/prefork-example-%ld", (long)getpid());
    rs_token_bucket_config cfg = { .rate = RATE, .burst = BURST };
    rs_shm_token_bucket *master = NULL;
    int rc = rs_shm_token_bucket_open(name, &cfg, RS_SHM_CREATE, &master);
    if (rc != RS_OK) {
        fprintf(stderr, "rs_shm_token_bucket_open(%s): %s (%s)\n", name, rs_strerror(rc),
                rs_last_error());
        return EXIT_FAILURE;
    }
    printf("libresilience %s: %d worker processes share %.0f requests/s (burst %d) through %s\n\n",
           rs_version_string(), WORKERS, RATE, BURST, name);

    uint64_t start = rs_clock_now(NULL), deadline = start + RUN_NS;
    int pipes[WORKERS][2];
    pid_t pids[WORKERS];
    int started = 0;
    fflush(stdout);
    for (; started < WORKERS; started++) {
        if (pipe(pipes[started]) != 0 || (pids[started] = fork()) < 0) {
            perror("pipe/fork");
            break;
        }
        if (pids[started] == 0) {
            close(pipes[started][0]);
            uint64_t sent = work(name, (unsigned)started, deadline);
            bool ok = write(pipes[started][1], &sent, sizeof sent) == (ssize_t)sizeof sent;
            _exit(ok && sent != UINT64_MAX ? 0 : 1);
        }
        close(pipes[started][1]);
    }

    uint64_t total = 0;
    uint64_t sent[WORKERS] = { 0 };
    bool failed = started < WORKERS;
    for (int i = 0; i < started; i++) {
        int status = 0;
        ssize_t got = read(pipes[i][0], &sent[i], sizeof sent[i]);
        close(pipes[i][0]);
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {
        }
        if (got != (ssize_t)sizeof sent[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "worker %d failed\n", i);
            failed = true;
            continue;
        }
        total += sent[i];
    }
    double elapsed = (double)(rs_clock_now(NULL) - start) / 1e9;
    rs_shm_token_bucket_close(master);
    (void)rs_shm_unlink(name);

    for (int i = 0; i < started; i++) {
        printf("worker %d (%d ms per answer)  %4llu requests  %5.1f%%\n", i, i + 1,
               (unsigned long long)sent[i], total ? 100.0 * (double)sent[i] / (double)total : 0.0);
    }
    double limit = BURST + RATE * elapsed;
    printf("\ntotal             %4llu requests in %.2f s\n", (unsigned long long)total, elapsed);
    printf("limit             %4.0f = burst %d + %.0f/s x %.2f s\n", limit, BURST, RATE, elapsed);
    if (failed || (double)total > limit) {
        fprintf(stderr, "FAILED: %s\n", failed ? "a worker failed" : "the limit was exceeded");
        return EXIT_FAILURE;
    }
    if ((double)total < 0.8 * RATE * elapsed) {
        fprintf(stderr, "FAILED: the workers idled far below the limit\n");
        return EXIT_FAILURE;
    }
    printf("\nFour processes, one limit, no server: never above it.\n");
    return EXIT_SUCCESS;
}
