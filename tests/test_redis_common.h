/* Helpers shared by the Redis test programs (test_redis.c and the
 * test_redis_*.c beside it): the shared server of tools/test
 * (RS_TEST_REDIS_URL), pools and objects on it with this run's key prefix,
 * and direct hiredis access to set up or inspect server state. */
#ifndef RS_TEST_REDIS_COMMON_H
#define RS_TEST_REDIS_COMMON_H

#include "support/testing.h"

#include <hiredis/hiredis.h>
#include <sys/types.h>

#include "resilience/redis.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

extern char prefix[64];      /* keys of this run: "rs-test:<pid>:" */
extern const char *url;      /* the shared server, NULL when not given */
extern char server_host[64];
extern unsigned server_port;

/* Reads RS_TEST_REDIS_URL and sets the globals above; false (after saying
 * why on stderr) when the variable holds something else than a redis://
 * URL. `program` names the key prefix ("rs-test" for test_redis). */
bool redis_test_init(const char *program);

typedef struct errors {
    int count;
    int last_status;
    char last[512];
} errors;

/* An on_error that counts reports in an `errors`. */
void record_error(void *ctx, int status, const char *message);
/* A pool config for `where` with this run's prefix, 500 ms timeouts, a
 * fixed reconnect seed and `e` (may be NULL) hearing the reports. */
rs_redis_config pool_config(const char *where, errors *e);
rs_redis *make_pool(rs_redis_config c, const rs_clock *clock);
rs_redis_token_bucket *make_bucket(rs_redis *r, const char *name, double rate, uint64_t burst,
                                   rs_redis_failure mode, double share, const rs_clock *clock);
rs_redis_sliding_window *make_window(rs_redis *r, const char *name, uint64_t limit,
                                     uint64_t window_ns, rs_redis_window_kind kind,
                                     rs_redis_failure mode);
rs_redis_budget *make_budget(rs_redis *r, const char *name, uint64_t max, uint64_t per_request,
                             uint64_t window_ns, rs_redis_failure mode, double share,
                             const rs_clock *clock);
rs_redis_breaker_state *make_flag(rs_redis *r, const char *name, rs_redis_failure mode,
                                  const rs_clock *clock);
/* The same with leases (and, for the window, a clock). */
rs_redis_token_bucket *make_bucket_with(rs_redis *r, const char *name, double rate,
                                        uint64_t burst, rs_redis_failure mode, double share,
                                        rs_redis_lease_config lease, const rs_clock *clock);
rs_redis_sliding_window *make_window_with(rs_redis *r, const char *name, uint64_t limit,
                                          uint64_t window_ns, rs_redis_window_kind kind,
                                          rs_redis_failure mode, rs_redis_lease_config lease,
                                          const rs_clock *clock);
rs_redis_budget *make_budget_with(rs_redis *r, const char *name, uint64_t max,
                                  uint64_t per_request, uint64_t window_ns,
                                  rs_redis_failure mode, double share,
                                  rs_redis_lease_config lease, const rs_clock *clock);

/* The Prometheus text of `e`, asserted written whole (a static buffer,
 * overwritten by the next call). */
const char *exposition_of(rs_exporter *e);

/* A TCP port nobody listens on right now. */
unsigned free_port(void);
/* CLOCK_REALTIME in microseconds: the clock Redis's TIME reads. */
uint64_t wall_us(void);

/* A direct hiredis connection to the shared server, for set-up and checks. */
redisContext *raw_connect(void);
long long raw_integer(redisContext *c, const char *fmt, const char *key);
void raw_ok(redisContext *c, const char *fmt, const char *key);
/* The key of object `name`: this run's prefix, the name as a hash tag
 * (since 0.3), the module's suffix. */
void full_key(char *out, size_t len, const char *name, const char *suffix);
/* raw_integer and raw_ok on the key the library uses for object `name`. */
long long key_integer(redisContext *c, const char *fmt, const char *name, const char *suffix);
void key_ok(redisContext *c, const char *fmt, const char *name, const char *suffix);

/* Cases that need something show as skipped without it, never as passed. */
#define SKIP_UNLESS(condition)                                                           \
    do {                                                                                 \
        if (!(condition)) {                                                              \
            skip();                                                                      \
        }                                                                                \
    } while (0)
#define NEED_SERVER() SKIP_UNLESS(url != NULL)


/* A redis-server of the test's own, with the password "s3cret" and a Unix
 * socket, that a test may kill, freeze and restart (RS_TEST_REDIS_SERVER or
 * redis-server from PATH). Only with a shared server too (tools/test). */
typedef struct own_server {
    pid_t pid;
    unsigned port;
    char socket[96];
    char tcp_url[128];
} own_server;
extern own_server own;

/* Starts it on own.port and waits until it answers; false when
 * redis-server cannot run here. `extra` (NULL-terminated, may be NULL):
 * more arguments for redis-server. */
bool own_server_start(void);
bool own_server_start_with(const char *const *extra);
/* Starts redis-server (RS_TEST_REDIS_SERVER or from PATH) with `args`
 * (NULL-terminated) and waits until 127.0.0.1:port answers (AUTH with
 * `password` when not NULL); its pid, or -1 when it exited. It dies with
 * the test. */
pid_t spawn_redis(const char *const *args, unsigned port, const char *password);
/* Sends sig to it (SIGKILL also reaps it). */
void own_server_signal(int sig);
/* cmocka set-up and tear-down: a fresh server on a free port per case. */
int own_server_setup(void **state);
int own_server_teardown(void **state);
/* A pool on it that notices an outage quickly: 100 ms timeouts and a
 * reconnect schedule of 10..50 ms, so a restart is seen within a test. */
rs_redis_config own_pool_config(errors *e);

#define NEED_OWN_SERVER() SKIP_UNLESS(own.pid > 0)

#endif /* RS_TEST_REDIS_COMMON_H */
