/* The server side: an HTTP API (libmicrohttpd) that limits each API key
 * (or, without one, each client address) to 2 requests per second with a
 * burst of 5, and answers the rest 429 with Retry-After and the IETF
 * RateLimit / RateLimit-Policy fields, so that well-behaved clients (this
 * library's rs_http_feedback among them) know when to come back. Every
 * answer carries the RateLimit fields.
 *
 *     api_gateway PORT [SECONDS [REDIS_URL]]
 *
 * PORT 0 picks a free one (printed on the first line). It serves for
 * SECONDS (0 or none = until SIGINT or SIGTERM). With REDIS_URL the limits
 * are shared by every gateway process through Redis; without it they live
 * in this process, one token bucket per key in an LRU-bounded registry.
 * tools/test starts it and reads its headers back with rs_http_feedback. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <resilience.h>
#ifdef HAVE_REDIS
#include <resilience/redis.h>
#endif

#define RATE 2.0             /* requests per second per key */
#define BURST 5
#define WINDOW_NS RS_MS(2500) /* the time a full burst takes to refill */

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

/* One key's limit: a local bucket, or a Redis one shared by the fleet. */
typedef struct key_limit {
    rs_token_bucket *local;
#ifdef HAVE_REDIS
    rs_redis_token_bucket *shared;
#endif
} key_limit;

typedef struct gateway {
    rs_registry *keys;
#ifdef HAVE_REDIS
    rs_redis *redis;
#endif
} gateway;

static int create_limit(void *ctx, const void *key, size_t len, void **value)
{
    gateway *g = ctx;
    key_limit *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return RS_E_NOMEM;
    }
    int rc;
#ifdef HAVE_REDIS
    if (g->redis != NULL) {
        char name[160];
        snprintf(name, sizeof name, "gateway:%.*s", (int)(len < 128 ? len : 128), (const char *)key);
        rs_redis_token_bucket_config cfg = RS_REDIS_TOKEN_BUCKET_CONFIG_DEFAULT;
        cfg.redis = g->redis;
        cfg.name = name;
        cfg.rate = RATE;
        cfg.burst = BURST;
        cfg.on_failure = RS_REDIS_FAIL_LOCAL; /* Redis down: this process's share */
        rc = rs_redis_token_bucket_new(&cfg, NULL, &l->shared);
    } else
#endif
    {
        (void)g;
        (void)key;
        (void)len;
        rs_token_bucket_config cfg = { .rate = RATE, .burst = BURST };
        rc = rs_token_bucket_new(&cfg, NULL, &l->local);
    }
    if (rc != RS_OK) {
        free(l);
        return rc;
    }
    *value = l;
    return RS_OK;
}

static void destroy_limit(void *ctx, void *value)
{
    (void)ctx;
    key_limit *l = value;
    rs_token_bucket_free(l->local);
#ifdef HAVE_REDIS
    rs_redis_token_bucket_free(l->shared);
#endif
    free(l);
}

/* Takes one request from the key's limit: RS_OK, or RS_E_LIMITED with the
 * wait until it would be admitted. `remaining` is what is left, or
 * UINT64_MAX when the backend cannot say (Redis). */
static int take(key_limit *l, uint64_t *wait_ns, uint64_t *remaining)
{
    *remaining = UINT64_MAX;
#ifdef HAVE_REDIS
    if (l->shared != NULL) {
        return rs_redis_token_bucket_reserve(l->shared, 1, 0, wait_ns);
    }
#endif
    int rc = rs_token_bucket_reserve(l->local, 1, 0, wait_ns);
    double left = rs_token_bucket_available(l->local);
    *remaining = left > 0 ? (uint64_t)left : 0;
    return rc;
}

static void add_header(struct MHD_Response *r, const char *name, const char *value)
{
    (void)MHD_add_response_header(r, name, value);
}

/* The RateLimit fields of an answer: the policy always, the state when the
 * limiter could tell it. */
static void add_ratelimit(struct MHD_Response *r, uint64_t remaining, uint64_t reset_ns)
{
    rs_http_ratelimit rl = { .policy = "per-key", .quota = BURST, .window_ns = WINDOW_NS,
                             .remaining = remaining, .reset_ns = reset_ns };
    char value[128];
    if (rs_http_format_ratelimit_policy(value, sizeof value, &rl) > 0) {
        add_header(r, "RateLimit-Policy", value);
    }
    if (remaining != UINT64_MAX && rs_http_format_ratelimit(value, sizeof value, &rl) > 0) {
        add_header(r, "RateLimit", value);
    }
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)state;
    gateway *g = cls;
    const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-API-Key");
    char address[INET6_ADDRSTRLEN] = "unknown";
    if (key == NULL) { /* no key: the client's address is the key */
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (info != NULL && info->client_addr->sa_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)info->client_addr;
            inet_ntop(AF_INET, &in->sin_addr, address, sizeof address);
        }
        key = address;
    }
    rs_registry_entry *entry;
    if (rs_registry_get(g->keys, key, strlen(key), &entry) != RS_OK) {
        return MHD_NO;
    }
    uint64_t wait_ns = 0, remaining;
    int rc = take(rs_registry_entry_value(entry), &wait_ns, &remaining);
    rs_registry_release(g->keys, entry);

    static const char ok[] = "{\"ok\": true}\n", limited[] = "{\"error\": \"rate limited\"}\n";
    bool admitted = rc == RS_OK || rc == RS_E_IO; /* a failing backend fails open here */
    struct MHD_Response *r = MHD_create_response_from_buffer(
        admitted ? sizeof ok - 1 : sizeof limited - 1, (void *)(admitted ? ok : limited),
        MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        return MHD_NO;
    }
    if (admitted) {
        add_ratelimit(r, remaining, remaining == 0 ? wait_ns : UINT64_MAX);
    } else {
        char retry_after[24];
        if (rs_http_format_retry_after(retry_after, sizeof retry_after, wait_ns) > 0) {
            add_header(r, "Retry-After", retry_after);
        }
        add_ratelimit(r, 0, wait_ns);
    }
    enum MHD_Result result = MHD_queue_response(conn, admitted ? MHD_HTTP_OK : 429, r);
    MHD_destroy_response(r);
    return result;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [SECONDS [REDIS_URL]]\n", argv[0]);
        return 2;
    }
    unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
    unsigned seconds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 0;
    gateway g = { 0 };
#ifdef HAVE_REDIS
    if (argc > 3) {
        rs_redis_config rc = RS_REDIS_CONFIG_DEFAULT;
        rc.url = argv[3];
        if (rs_redis_new(&rc, NULL, &g.redis) != RS_OK) {
            fprintf(stderr, "api_gateway: %s\n", rs_last_error());
            return 1;
        }
    }
#else
    if (argc > 3) {
        fprintf(stderr, "api_gateway: built without libresilience-redis\n");
        return 2;
    }
#endif
    rs_registry_config rc = RS_REGISTRY_CONFIG_DEFAULT;
    rc.max_keys = 10000; /* least recently used keys beyond this are forgotten */
    rc.create = create_limit;
    rc.destroy = destroy_limit;
    rc.ctx = &g;
    if (rs_registry_new(&rc, &g.keys) != RS_OK) {
        fprintf(stderr, "api_gateway: %s\n", rs_last_error());
        return 1;
    }
    struct sockaddr_in bind_to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    bind_to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                            0, NULL, NULL, answer, &g, MHD_OPTION_SOCK_ADDR,
                                            &bind_to, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "api_gateway: cannot listen on 127.0.0.1:%u\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("api_gateway: listening on 127.0.0.1:%u\n", info != NULL ? info->port : port);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    for (unsigned waited = 0; !stopping && (seconds == 0 || waited < seconds * 10); waited++) {
        usleep(100000);
    }
    MHD_stop_daemon(d);
    rs_registry_free(g.keys);
#ifdef HAVE_REDIS
    rs_redis_free(g.redis);
#endif
    return 0;
}
