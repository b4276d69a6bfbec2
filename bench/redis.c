/* Decisions per second through Redis: the GCRA script and the sliding-log
 * script against the naive 4-command pipeline (ZADD, ZREMRANGEBYSCORE,
 * ZCARD, EXPIRE) that is not atomic, each from one connection and from 4
 * processes with a connection each. A PING round trip is the baseline.
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

#include "bench.h"
#include "resilience.h"
#include "resilience/redis.h"

#define PROCS 4
#define LIMIT 1000
#define WINDOW_NS UINT64_C(1000000000)

typedef enum op_kind { OP_PING, OP_GCRA, OP_LOG, OP_COUNTER, OP_NAIVE } op_kind;

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
} counts;

/* One process: decisions until the deadline. */
static counts run_one(op_kind op, const char *name, uint64_t deadline)
{
    unsigned long done = 0, admitted = 0;
    if (op == OP_PING || op == OP_NAIVE) {
        redisContext *c = raw_connect();
        char key[96];
        (void)snprintf(key, sizeof key, "bench:%s:naive", name);
        while (now_ns() < deadline) {
            if (op == OP_PING) {
                freeReplyObject(redisCommand(c, "PING"));
            } else {
                admitted += naive_decision(c, key, done);
            }
            done++;
        }
        redisFree(c);
        return (counts){ done, admitted };
    }
    rs_redis_config rc = RS_REDIS_CONFIG_DEFAULT;
    rc.url = url;
    rc.key_prefix = "bench:";
    rc.pool_size = 1;
    rc.command_timeout_ns = 2000000000u;
    rs_redis *r = NULL;
    bench_check(rs_redis_new(&rc, NULL, &r), "rs_redis_new");
    rs_redis_token_bucket *tb = NULL;
    rs_redis_sliding_window *w = NULL;
    int status;
    if (op == OP_GCRA) {
        rs_redis_token_bucket_config c = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
        c.redis = r;
        c.name = name;
        c.rate = LIMIT;
        c.burst = LIMIT;
        status = rs_redis_token_bucket_new(&c, NULL, &tb);
    } else {
        rs_redis_sliding_window_config c = RS_REDIS_SLIDING_WINDOW_CONFIG_DEFAULT;
        c.redis = r;
        c.name = name;
        c.limit = LIMIT;
        c.window_ns = WINDOW_NS;
        c.kind = op == OP_LOG ? RS_REDIS_WINDOW_LOG : RS_REDIS_WINDOW_COUNTER;
        status = rs_redis_sliding_window_new(&c, NULL, &w);
    }
    bench_check(status, "creating the limiter");
    while (now_ns() < deadline) {
        int rc_op = tb != NULL ? rs_redis_token_bucket_try_acquire(tb, 1)
                               : rs_redis_sliding_window_try_acquire(w, 1);
        if (rc_op != RS_OK && rc_op != RS_E_LIMITED) {
            fprintf(stderr, "decision failed: %s\n", rs_strerror(rc_op));
            exit(1);
        }
        admitted += rc_op == RS_OK;
        done++;
    }
    rs_redis_token_bucket_free(tb);
    rs_redis_sliding_window_free(w);
    rs_redis_free(r);
    return (counts){ done, admitted };
}

/* Runs `procs` processes at once for `seconds` and prints one row. */
static void run_case(const char *label, op_kind op, unsigned procs)
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
    for (unsigned i = 0; i < procs; i++) {
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
            counts n = run_one(op, name, deadline);
            _exit(write(p[1], &n, sizeof n) == (ssize_t)sizeof n ? 0 : 1);
        }
        close(p[1]);
        out[i] = p[0];
    }
    close(go[0]);
    char bytes[PROCS] = { 0 };
    uint64_t start = now_ns();
    if (write(go[1], bytes, procs) != (ssize_t)procs) {
        perror("write");
        exit(1);
    }
    close(go[1]);
    counts total = { 0, 0 };
    for (unsigned i = 0; i < procs; i++) {
        counts n = { 0, 0 };
        if (read(out[i], &n, sizeof n) != (ssize_t)sizeof n) {
            fprintf(stderr, "a benchmark process failed\n");
            exit(1);
        }
        close(out[i]);
        waitpid(pids[i], NULL, 0);
        total.decisions += n.decisions;
        total.admitted += n.admitted;
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    double per_sec = (double)total.decisions / elapsed;
    printf("  %-30s %u proc %9.0f decisions/s %7.1f us/decision/conn", label, procs, per_sec,
           1e6 * procs / per_sec);
    if (op != OP_PING) {
        printf("  admitted %lu", total.admitted);
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
    bench_section("baseline: PING round trip (hiredis, no script)");
    run_case("PING", OP_PING, 1);
    run_case("PING", OP_PING, PROCS);
    bench_section("atomic scripts (EVALSHA), one decision per round trip");
    run_case("GCRA token bucket", OP_GCRA, 1);
    run_case("GCRA token bucket", OP_GCRA, PROCS);
    run_case("sliding log (sorted set)", OP_LOG, 1);
    run_case("sliding log (sorted set)", OP_LOG, PROCS);
    run_case("sliding counter (hash)", OP_COUNTER, 1);
    run_case("sliding counter (hash)", OP_COUNTER, PROCS);
    bench_section("naive pipeline ZADD+ZREMRANGEBYSCORE+ZCARD+EXPIRE (not atomic)");
    run_case("naive sliding log", OP_NAIVE, 1);
    run_case("naive sliding log", OP_NAIVE, PROCS);
    if (own_server > 0) {
        kill(own_server, SIGTERM);
        waitpid(own_server, NULL, 0);
    }
    return 0;
}
