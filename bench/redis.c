/* Decisions per second through Redis: the GCRA script and the sliding-log
 * script against the naive 4-command pipeline (ZADD, ZREMRANGEBYSCORE,
 * ZCARD, EXPIRE) that is not atomic, each from one connection and from 4
 * processes with a connection each. A PING round trip is the baseline.
 *
 * Then the same objects with leases (issue 16): decisions from batches
 * taken in one round trip, from one connection, from 4 threads sharing one
 * connection, and from 4 processes; each row says how many decisions a
 * round trip served and what was admitted against the exact mode's bound
 * (burst + rate x T for the bucket, limit x ceil(T / window) for the
 * windows) and the leases' (plus what leases held: at most max_units per
 * process). Two regimes: demand far above the limit (most decisions are
 * refusals, which leases remember), and a limit above the demand (every
 * decision is a grant).
 *
 * Usage: bench_redis [redis://host:port/db [seconds]]
 * Without a URL it starts its own redis-server (from PATH) on a free port
 * and stops it at the end. */
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <math.h>
#include <pthread.h>

#include "bench.h"
#include "resilience.h"
#include "resilience/redis.h"

#define PROCS 4
#define THREADS 4
#define LIMIT 1000
#define WINDOW_NS UINT64_C(1000000000)
/* The second regime: limits no run reaches (the bucket's fastest rate; a
 * counter of 1e9 a second). */
#define HIGH_RATE 1e9
#define HIGH_BURST 10000000
#define HIGH_LIMIT 1000000000

typedef enum op_kind { OP_PING, OP_GCRA, OP_LOG, OP_COUNTER, OP_NAIVE } op_kind;

/* One row: what runs, how, against which limit. */
typedef struct row {
    const char *label;
    op_kind op;
    unsigned procs;
    unsigned threads;  /* per process, sharing its one connection */
    bool leased;
    double rate;       /* the bucket's tokens per second */
    uint64_t burst;    /* the bucket's burst; the windows' limit per second */
} row;

static char host[64] = "127.0.0.1";
static unsigned port;
static const char *url;
static double seconds = 1.0;

static uint64_t now_ns(void)
{
    return rs_clock_now(NULL);
}

/* Connects hiredis directly (PING and the naive pipeline). */
static redisContext *raw_connect(void)
{
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout(host, (int)port, tv);
    if (c == NULL || c->err != 0) {
        fprintf(stderr, "cannot connect to %s:%u\n", host, port);
        exit(1);
    }
    return c;
}

/* The naive sliding log: add, trim, count, expire in one pipeline. It is
 * not atomic (concurrent clients interleave between the count and their
 * own add) and it records refused requests too. Returns true if admitted. */
static bool naive_decision(redisContext *c, const char *key, unsigned long seq)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    char member[64], score[32], cut[32];
    (void)snprintf(member, sizeof member, "%ld-%lu", (long)getpid(), seq);
    (void)snprintf(score, sizeof score, "%lld", now_us);
    (void)snprintf(cut, sizeof cut, "%lld", now_us - (long long)(WINDOW_NS / 1000));
    redisAppendCommand(c, "ZADD %s %s %s", key, score, member);
    redisAppendCommand(c, "ZREMRANGEBYSCORE %s 0 %s", key, cut);
    redisAppendCommand(c, "ZCARD %s", key);
    redisAppendCommand(c, "EXPIRE %s 2", key);
    long long count = 0;
    for (int i = 0; i < 4; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) {
            fprintf(stderr, "naive pipeline: %s\n", c->errstr);
            exit(1);
        }
        if (i == 2) {
            count = ((redisReply *)reply)->integer;
        }
        freeReplyObject(reply);
    }
    return count <= LIMIT;
}

typedef struct counts {
    unsigned long decisions;
    unsigned long admitted;
    unsigned long round_trips; /* with leases: lease round trips; else one per decision */
    unsigned long held;        /* units leases still held at the end */
    unsigned long max_units;   /* the largest lease */
} counts;

/* The object of one process, shared by its threads. */
typedef struct worker {
    rs_redis_token_bucket *tb;
    rs_redis_sliding_window *w;
    uint64_t deadline;
    counts n; /* this thread's */
} worker;

static void *decide_until(void *arg)
{
    worker *k = arg;
    unsigned long done = 0, admitted = 0;
    while (now_ns() < k->deadline) {
        /* 64 decisions per clock read: a leased decision costs little more. */
        for (int i = 0; i < 64; i++) {
            int rc = k->tb != NULL ? rs_redis_token_bucket_try_acquire(k->tb, 1)
                                   : rs_redis_sliding_window_try_acquire(k->w, 1);
            if (rc != RS_OK && rc != RS_E_LIMITED) {
                fprintf(stderr, "decision failed: %s (%s)\n", rs_strerror(rc), rs_last_error());
                exit(1);
            }
            admitted += rc == RS_OK;
            done++;
        }
    }
    k->n.decisions = done;
    k->n.admitted = admitted;
    return NULL;
}

/* One process: decisions until the deadline, from `threads` threads. */
static counts run_one(const row *rw, const char *name, uint64_t deadline)
{
    unsigned long done = 0, admitted = 0;
    if (rw->op == OP_PING || rw->op == OP_NAIVE) {
        redisContext *c = raw_connect();
        char key[96];
        (void)snprintf(key, sizeof key, "bench:%s:naive", name);
        while (now_ns() < deadline) {
            if (rw->op == OP_PING) {
                freeReplyObject(redisCommand(c, "PING"));
            } else {
                admitted += naive_decision(c, key, done);
            }
            done++;
        }
        redisFree(c);
        return (counts){ done, admitted, done, 0, 0 };
    }
    rs_redis_config rc = RS_REDIS_CONFIG_DEFAULT;
    rc.url = url;
    rc.key_prefix = "bench:";
    rc.pool_size = 1;
    rc.command_timeout_ns = 2000000000u;
    rs_redis *r = NULL;
    bench_check(rs_redis_new(&rc, NULL, &r), "rs_redis_new");
    rs_redis_lease_config lease = RS_REDIS_LEASE_CONFIG_DEFAULT;
    lease.instances = rw->leased ? rw->procs : 0;
    worker k = { NULL, NULL, deadline, { 0, 0, 0, 0, 0 } };
    int status;
    if (rw->op == OP_GCRA) {
        rs_redis_token_bucket_config c = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
        c.redis = r;
        c.name = name;
        c.rate = rw->rate;
        c.burst = rw->burst;
        c.lease = lease;
        status = rs_redis_token_bucket_new(&c, NULL, &k.tb);
    } else {
        rs_redis_sliding_window_config c = RS_REDIS_SLIDING_WINDOW_CONFIG_DEFAULT;
        c.redis = r;
        c.name = name;
        c.limit = rw->burst;
        c.window_ns = WINDOW_NS;
        c.kind = rw->op == OP_LOG ? RS_REDIS_WINDOW_LOG : RS_REDIS_WINDOW_COUNTER;
        c.lease = lease;
        status = rs_redis_sliding_window_new(&c, NULL, &k.w);
    }
    bench_check(status, "creating the limiter");
    worker threads[THREADS];
    pthread_t ids[THREADS];
    for (unsigned i = 0; i < rw->threads; i++) {
        threads[i] = k;
        if (i > 0 && pthread_create(&ids[i], NULL, decide_until, &threads[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    decide_until(&threads[0]);
    counts total = { 0, 0, 0, 0, 0 };
    for (unsigned i = 0; i < rw->threads; i++) {
        if (i > 0) {
            pthread_join(ids[i], NULL);
        }
        total.decisions += threads[i].n.decisions;
        total.admitted += threads[i].n.admitted;
    }
    rs_redis_lease_stats st;
    if (k.tb != NULL) {
        bench_check(rs_redis_token_bucket_lease_stats(k.tb, &st), "lease stats");
    } else {
        bench_check(rs_redis_sliding_window_lease_stats(k.w, &st), "lease stats");
    }
    total.round_trips = rw->leased ? st.round_trips : total.decisions;
    total.held = st.held_units;
    total.max_units = st.max_units;
    rs_redis_token_bucket_free(k.tb);
    rs_redis_sliding_window_free(k.w);
    rs_redis_free(r);
    return total;
}

/* Runs a row's processes at once for `seconds` and prints it. */
static void run_case(const row *rw)
{
    static unsigned serial;
    char name[64];
    (void)snprintf(name, sizeof name, "%ld-%u", (long)getpid(), ++serial);
    int go[2];
    if (pipe(go) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pids[PROCS];
    int out[PROCS];
    for (unsigned i = 0; i < rw->procs; i++) {
        int p[2];
        if (pipe(p) != 0 || (pids[i] = fork()) < 0) {
            perror("fork");
            exit(1);
        }
        if (pids[i] == 0) {
            char byte;
            close(p[0]);
            close(go[1]);
            if (read(go[0], &byte, 1) != 1) {
                _exit(1);
            }
            uint64_t deadline = now_ns() + (uint64_t)(seconds * 1e9);
            counts n = run_one(rw, name, deadline);
            _exit(write(p[1], &n, sizeof n) == (ssize_t)sizeof n ? 0 : 1);
        }
        close(p[1]);
        out[i] = p[0];
    }
    close(go[0]);
    char bytes[PROCS] = { 0 };
    uint64_t start = now_ns();
    if (write(go[1], bytes, rw->procs) != (ssize_t)rw->procs) {
        perror("write");
        exit(1);
    }
    close(go[1]);
    counts total = { 0, 0, 0, 0, 0 };
    for (unsigned i = 0; i < rw->procs; i++) {
        counts n = { 0, 0, 0, 0, 0 };
        if (read(out[i], &n, sizeof n) != (ssize_t)sizeof n) {
            fprintf(stderr, "a benchmark process failed\n");
            exit(1);
        }
        close(out[i]);
        waitpid(pids[i], NULL, 0);
        total.decisions += n.decisions;
        total.admitted += n.admitted;
        total.round_trips += n.round_trips;
        total.held += n.held;
        total.max_units = n.max_units;
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    double per_sec = (double)total.decisions / elapsed;
    char how[32];
    (void)snprintf(how, sizeof how, "%u proc%s", rw->procs,
                   rw->threads > 1 ? " x 4 thr" : "");
    printf("  %-26s %-13s %9.0f decisions/s %7.0f round trips/s", rw->label, how, per_sec,
           (double)total.round_trips / elapsed);
    if (rw->op != OP_PING) {
        /* The exact mode's bound over this run, and what leases may add. */
        double exact = rw->op == OP_GCRA ? (double)rw->burst + rw->rate * elapsed
                                         : (double)rw->burst * ceil(elapsed * 1e9 /
                                                                    (double)WINDOW_NS);
        printf("  admitted %lu", total.admitted);
        if (rw->op != OP_NAIVE) {
            printf(" (exact bound %.0f", exact);
            if (rw->leased) {
                printf(", over it %.0f, leases may add %lu: %s; %.0f decisions a round trip",
                       fmax(0, (double)total.admitted - exact), total.max_units * rw->procs,
                       (double)total.admitted <= exact + (double)(total.max_units * rw->procs)
                           ? "within"
                           : "BEYOND",
                       (double)total.decisions / (double)total.round_trips);
            }
            printf(")");
        }
    }
    printf("\n");
}

static pid_t own_server;

static unsigned pick_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("socket");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void start_own_server(void)
{
    port = pick_free_port();
    char port_arg[16];
    (void)snprintf(port_arg, sizeof port_arg, "%u", port);
    own_server = fork();
    if (own_server == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL) {
            _exit(126);
        }
        execlp("redis-server", "redis-server", "--port", port_arg, "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--daemonize", "no", (char *)NULL);
        perror("redis-server");
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        struct timeval tv = { 0, 100000 };
        redisContext *c = redisConnectWithTimeout(host, (int)port, tv);
        bool up = c != NULL && c->err == 0;
        redisFree(c);
        if (up) {
            return;
        }
        if (waitpid(own_server, NULL, WNOHANG) == own_server) {
            break;
        }
        rs_clock_sleep(NULL, 25000000u);
    }
    fprintf(stderr, "could not start redis-server: give a URL instead\n");
    exit(1);
}

int main(int argc, char **argv)
{
    static char own_url[96];
    if (argc > 1) {
        url = argv[1];
        if (sscanf(url, "redis://%63[^:/]:%u", host, &port) != 2) {
            fprintf(stderr, "usage: %s [redis://host:port/db [seconds]]\n", argv[0]);
            return 2;
        }
        if (argc > 2) {
            seconds = atof(argv[2]);
        }
    } else {
        start_own_server();
        (void)snprintf(own_url, sizeof own_url, "redis://127.0.0.1:%u/0", port);
        url = own_url;
    }
    printf("Redis at %s, %.1f s per row; every limiter allows %d per second (the token\n"
           "bucket also a burst of %d), so \"admitted\" should be about %d x seconds\n",
           url, seconds, LIMIT, LIMIT, LIMIT);
    static const row rows[] = {
        { "PING", OP_PING, 1, 1, false, 0, 0 },
        { "PING", OP_PING, PROCS, 1, false, 0, 0 },
        { "GCRA token bucket", OP_GCRA, 1, 1, false, LIMIT, LIMIT },
        { "GCRA token bucket", OP_GCRA, PROCS, 1, false, LIMIT, LIMIT },
        { "sliding log (sorted set)", OP_LOG, 1, 1, false, LIMIT, LIMIT },
        { "sliding log (sorted set)", OP_LOG, PROCS, 1, false, LIMIT, LIMIT },
        { "sliding counter (hash)", OP_COUNTER, 1, 1, false, LIMIT, LIMIT },
        { "sliding counter (hash)", OP_COUNTER, PROCS, 1, false, LIMIT, LIMIT },
        { "naive sliding log", OP_NAIVE, 1, 1, false, LIMIT, LIMIT },
        { "naive sliding log", OP_NAIVE, PROCS, 1, false, LIMIT, LIMIT },
        { "GCRA token bucket, leased", OP_GCRA, 1, 1, true, LIMIT, LIMIT },
        { "GCRA token bucket, leased", OP_GCRA, 1, THREADS, true, LIMIT, LIMIT },
        { "GCRA token bucket, leased", OP_GCRA, PROCS, 1, true, LIMIT, LIMIT },
        { "sliding log, leased", OP_LOG, 1, 1, true, LIMIT, LIMIT },
        { "sliding log, leased", OP_LOG, PROCS, 1, true, LIMIT, LIMIT },
        { "sliding counter, leased", OP_COUNTER, 1, 1, true, LIMIT, LIMIT },
        { "sliding counter, leased", OP_COUNTER, PROCS, 1, true, LIMIT, LIMIT },
        { "GCRA token bucket", OP_GCRA, 1, 1, false, HIGH_RATE, HIGH_BURST },
        { "GCRA token bucket, leased", OP_GCRA, 1, 1, true, HIGH_RATE, HIGH_BURST },
        { "GCRA token bucket, leased", OP_GCRA, 1, THREADS, true, HIGH_RATE, HIGH_BURST },
        { "GCRA token bucket, leased", OP_GCRA, PROCS, 1, true, HIGH_RATE, HIGH_BURST },
        { "sliding counter", OP_COUNTER, 1, 1, false, 0, HIGH_LIMIT },
        { "sliding counter, leased", OP_COUNTER, 1, 1, true, 0, HIGH_LIMIT },
    };
    static const struct {
        size_t first;
        const char *title;
    } sections[] = {
        { 0, "baseline: PING round trip (hiredis, no script)" },
        { 2, "atomic scripts (EVALSHA), one decision per round trip" },
        { 8, "naive pipeline ZADD+ZREMRANGEBYSCORE+ZCARD+EXPIRE (not atomic)" },
        { 10, "leases (lease.instances = processes; max_units derived), demand far above "
              "the limit" },
        { 17, "limits above the demand (bucket: 1e9/s, burst 1e7; counter: 1e9 a second): "
              "exact, then leased" },
    };
    size_t next_section = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (next_section < sizeof sections / sizeof sections[0] &&
            sections[next_section].first == i) {
            bench_section(sections[next_section++].title);
        }
        run_case(&rows[i]);
    }
    if (own_server > 0) {
        kill(own_server, SIGTERM);
        waitpid(own_server, NULL, 0);
    }
    return 0;
}
