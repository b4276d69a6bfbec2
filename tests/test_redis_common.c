/* Helpers shared by the Redis test programs: see test_redis_common.h. */
#include "test_redis_common.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char prefix[64];
const char *url;
char server_host[64];
unsigned server_port;

void record_error(void *ctx, int status, const char *message)
{
    errors *e = ctx;
    e->count++;
    e->last_status = status;
    (void)snprintf(e->last, sizeof e->last, "%s", message);
}

rs_redis_config pool_config(const char *where, errors *e)
{
    rs_redis_config c = RS_REDIS_CONFIG_DEFAULT;
    c.url = where;
    c.key_prefix = prefix;
    c.connect_timeout_ns = 500 * MS;
    c.command_timeout_ns = 500 * MS;
    c.reconnect.seed = 7;
    if (e != NULL) {
        c.on_error = record_error;
        c.ctx = e;
    }
    return c;
}

rs_redis *make_pool(rs_redis_config c, const rs_clock *clock)
{
    rs_redis *r = NULL;
    assert_int_equal(rs_redis_new(&c, clock, &r), RS_OK);
    assert_non_null(r);
    return r;
}

rs_redis_token_bucket *make_bucket_with(rs_redis *r, const char *name, double rate,
                                        uint64_t burst, rs_redis_failure mode, double share,
                                        rs_redis_lease_config lease, const rs_clock *clock)
{
    rs_redis_token_bucket_config c = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
    c.redis = r;
    c.name = name;
    c.rate = rate;
    c.burst = burst;
    c.on_failure = mode;
    c.local_share = share;
    c.lease = lease;
    rs_redis_token_bucket *tb = NULL;
    assert_int_equal(rs_redis_token_bucket_new(&c, clock, &tb), RS_OK);
    return tb;
}

rs_redis_token_bucket *make_bucket(rs_redis *r, const char *name, double rate,
                                   uint64_t burst, rs_redis_failure mode, double share,
                                   const rs_clock *clock)
{
    return make_bucket_with(r, name, rate, burst, mode, share, RS_REDIS_LEASE_CONFIG_DEFAULT,
                            clock);
}

rs_redis_sliding_window *make_window_with(rs_redis *r, const char *name, uint64_t limit,
                                          uint64_t window_ns, rs_redis_window_kind kind,
                                          rs_redis_failure mode, rs_redis_lease_config lease,
                                          const rs_clock *clock)
{
    rs_redis_sliding_window_config c = RS_REDIS_SLIDING_WINDOW_CONFIG_DEFAULT;
    c.redis = r;
    c.name = name;
    c.limit = limit;
    c.window_ns = window_ns;
    c.kind = kind;
    c.on_failure = mode;
    c.lease = lease;
    rs_redis_sliding_window *w = NULL;
    assert_int_equal(rs_redis_sliding_window_new(&c, clock, &w), RS_OK);
    return w;
}

rs_redis_sliding_window *make_window(rs_redis *r, const char *name, uint64_t limit,
                                     uint64_t window_ns, rs_redis_window_kind kind,
                                     rs_redis_failure mode)
{
    return make_window_with(r, name, limit, window_ns, kind, mode,
                            RS_REDIS_LEASE_CONFIG_DEFAULT, NULL);
}

rs_redis_budget *make_budget_with(rs_redis *r, const char *name, uint64_t max,
                                  uint64_t per_request, uint64_t window_ns,
                                  rs_redis_failure mode, double share,
                                  rs_redis_lease_config lease, const rs_clock *clock)
{
    rs_redis_budget_config c = RS_REDIS_BUDGET_CONFIG_DEFAULT;
    c.redis = r;
    c.name = name;
    c.max_per_window = max;
    c.max_per_request = per_request;
    c.window_ns = window_ns;
    c.on_failure = mode;
    c.local_share = share;
    c.seed = 1; /* the cells' keys: fixed, so which keys share a cell is too */
    c.lease = lease;
    rs_redis_budget *b = NULL;
    assert_int_equal(rs_redis_budget_new(&c, clock, &b), RS_OK);
    return b;
}

rs_redis_budget *make_budget(rs_redis *r, const char *name, uint64_t max,
                             uint64_t per_request, uint64_t window_ns,
                             rs_redis_failure mode, double share, const rs_clock *clock)
{
    return make_budget_with(r, name, max, per_request, window_ns, mode, share,
                            RS_REDIS_LEASE_CONFIG_DEFAULT, clock);
}

rs_redis_breaker_state *make_flag(rs_redis *r, const char *name, rs_redis_failure mode,
                                  const rs_clock *clock)
{
    rs_redis_breaker_state_config c = RS_REDIS_BREAKER_STATE_CONFIG_DEFAULT;
    c.redis = r;
    c.name = name;
    c.on_failure = mode;
    rs_redis_breaker_state *s = NULL;
    assert_int_equal(rs_redis_breaker_state_new(&c, clock, &s), RS_OK);
    return s;
}

/* A TCP port nobody listens on right now. */
const char *exposition_of(rs_exporter *e)
{
    static char text[16384];
    size_t needed = 0;
    assert_int_equal(rs_exporter_write_buffer(e, RS_METRICS_PROMETHEUS, text, sizeof text, &needed),
                     RS_OK);
    return text;
}

unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    (void)close(fd);
    return ntohs(a.sin_port);
}

uint64_t wall_us(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A direct hiredis connection to the shared server, for set-up and checks. */
redisContext *raw_connect(void)
{
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout(server_host, (int)server_port, tv);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    return c;
}

long long raw_integer(redisContext *c, const char *fmt, const char *key)
{
    redisReply *reply = redisCommand(c, fmt, key);
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
    long long v = reply->integer;
    freeReplyObject(reply);
    return v;
}

void raw_ok(redisContext *c, const char *fmt, const char *key)
{
    redisReply *reply = redisCommand(c, fmt, key);
    assert_non_null(reply);
    assert_int_not_equal(reply->type, REDIS_REPLY_ERROR);
    freeReplyObject(reply);
}

void full_key(char *out, size_t len, const char *name, const char *suffix)
{
    (void)snprintf(out, len, "%s{%s}:%s", prefix, name, suffix);
}

/* raw_integer and raw_ok on the key the library uses for object `name`
 * (this run's prefix, the name, the module's suffix). */
long long key_integer(redisContext *c, const char *fmt, const char *name,
                      const char *suffix)
{
    char key[128];
    full_key(key, sizeof key, name, suffix);
    return raw_integer(c, fmt, key);
}

void key_ok(redisContext *c, const char *fmt, const char *name, const char *suffix)
{
    char key[128];
    full_key(key, sizeof key, name, suffix);
    raw_ok(c, fmt, key);
}

own_server own;

static const char *server_binary(void)
{
    const char *bin = getenv("RS_TEST_REDIS_SERVER");
    return bin != NULL && *bin != '\0' ? bin : "redis-server";
}

/* The server on `port` answers (AUTH with `password` when not NULL). */
static bool server_ready(unsigned port, const char *password)
{
    struct timeval tv = { 0, 200000 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", (int)port, tv);
    bool ok = false;
    if (c != NULL && c->err == 0) {
        redisReply *reply = password != NULL ? redisCommand(c, "AUTH %s", password)
                                             : redisCommand(c, "PING");
        ok = reply != NULL && reply->type == REDIS_REPLY_STATUS;
        freeReplyObject(reply);
    }
    redisFree(c);
    return ok;
}

pid_t spawn_redis(const char *const *args, unsigned port, const char *password)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Dies with the test even if the test crashes. */
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (freopen("/dev/null", "w", stdout) == NULL ||
            freopen("/dev/null", "w", stderr) == NULL) {
            _exit(126);
        }
        const char *argv[40] = { "redis-server" };
        size_t argc = 1;
        for (size_t i = 0; args[i] != NULL && argc < 39; i++) {
            argv[argc++] = args[i];
        }
        argv[argc] = NULL;
        execvp(server_binary(), (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 250; i++) {
        if (server_ready(port, password)) {
            return pid;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            return -1;
        }
        rs_clock_sleep(NULL, 20 * MS);
    }
    (void)kill(pid, SIGKILL);
    (void)waitpid(pid, NULL, 0);
    fail_msg("redis-server on port %u never became ready", port);
    return -1;
}

bool own_server_start(void)
{
    return own_server_start_with(NULL);
}

bool own_server_start_with(const char *const *extra)
{
    char port[16];
    (void)snprintf(port, sizeof port, "%u", own.port);
    const char *args[32] = { "--port", port, "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--daemonize", "no", "--requirepass",
                             "s3cret", "--unixsocket", own.socket, "--unixsocketperm", "700" };
    size_t argc = 16;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && argc < 31; i++) {
        args[argc++] = extra[i];
    }
    args[argc] = NULL;
    own.pid = spawn_redis(args, own.port, "s3cret");
    if (own.pid < 0) {
        own.pid = 0;
        return false;
    }
    return true;
}

void own_server_signal(int sig)
{
    if (own.pid > 0) {
        (void)kill(own.pid, sig);
        if (sig == SIGKILL) {
            (void)waitpid(own.pid, NULL, 0);
            own.pid = 0;
        }
    }
}

int own_server_setup(void **state)
{
    (void)state;
    memset(&own, 0, sizeof own);
    if (url == NULL) {
        return 0;
    }
    own.port = free_port();
    (void)snprintf(own.socket, sizeof own.socket, "/tmp/rs-test-redis-%ld.sock", (long)getpid());
    (void)snprintf(own.tcp_url, sizeof own.tcp_url, "redis://:s3cret@127.0.0.1:%u", own.port);
    if (!own_server_start()) {
        print_message("# redis-server could not be started: own-server tests skipped\n");
    }
    return 0;
}

int own_server_teardown(void **state)
{
    (void)state;
    if (own.pid > 0) {
        (void)kill(own.pid, SIGCONT);
    }
    own_server_signal(SIGKILL);
    (void)unlink(own.socket);
    return 0;
}

rs_redis_config own_pool_config(errors *e)
{
    rs_redis_config c = pool_config(own.tcp_url, e);
    c.connect_timeout_ns = 100 * MS;
    c.command_timeout_ns = 100 * MS;
    c.reconnect.base_ns = 10 * MS;
    c.reconnect.max_ns = 50 * MS;
    return c;
}

bool redis_test_init(const char *program)
{
    const char *given = getenv("RS_TEST_REDIS_URL");
    url = given != NULL && *given != '\0' ? given : NULL;
    if (url != NULL && sscanf(url, "redis://%63[^:/]:%u", server_host, &server_port) != 2) {
        fprintf(stderr, "RS_TEST_REDIS_URL must look like redis://127.0.0.1:6379/0\n");
        return false;
    }
    (void)snprintf(prefix, sizeof prefix, "%s:%ld:", program, (long)getpid());
    if (url == NULL) {
        printf("# RS_TEST_REDIS_URL not set: the cases that need a Redis server are "
               "skipped\n");
    }
    return true;
}
