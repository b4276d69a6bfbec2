/* The connection pool: connect, authenticate, run scripts with EVALSHA,
 * bound every call in time and back off when the server fails.
 *
 * hiredis contexts are not thread-safe, so each connection (slot) has its
 * own mutex and a call holds one slot for its round trip. Slots are taken
 * in turn; a caller only queues when every slot is busy.
 *
 * Failures are pool-wide: when a connection or command fails, the epoch
 * moves on (every connection opened before it is replaced before its next
 * use: the server probably restarted or went away) and the pool fails fast,
 * without I/O, until the reconnect backoff has passed; then exactly one call
 * claims the probe, and its success reopens the pool for everyone.
 *
 * Every RS_E_IO and RS_E_INVAL a call meets is explained twice: to the
 * caller's thread through rs_last_error() (a call that failed fast without
 * I/O says why the pool is backing off, with the failure that started it)
 * and to on_error (only when I/O was attempted, so that a dead server gives
 * one message per reconnect attempt, not one per call). */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/error.h"
#include "core/atomics.h"
#include "core/lock.h"
#include "core/rng.h"
#include "internal.h"

#define SHA_LEN 40
#define MAX_POOL 64
#define WHY_LEN 320

#define HOST_LEN 256             /* a master's address as a sentinel gives it */

typedef struct slot {
    rs__mutex lock;
    redisContext *ctx;           /* NULL: not connected */
    char peer[HOST_LEN + 8];     /* the master it is connected to (sentinel URLs) */
    uint64_t epoch;              /* the pool's failure epoch when ctx connected */
    bool timeout_shortened;      /* socket timeout below command_timeout_ns */
    bool have_sha[RS__SCRIPT_COUNT];
    char sha[RS__SCRIPT_COUNT][SHA_LEN + 1];
} slot;

struct rs_redis {
    rs__redis_url url;
    char *where;                 /* "host:port" or the socket path, for messages */
    char *prefix;
    size_t prefix_len;
    bool legacy_keys;            /* 0.2's key names, without a hash tag */
    uint64_t connect_timeout_ns;
    uint64_t command_timeout_ns;
    rs_backoff_config reconnect;
    const rs_clock *clock;
    rs_redis_error_fn on_error;
    void *ctx;
    rs__mutex cause_lock;        /* guards cause */
    char cause[WHY_LEN / 2];     /* the failure that started the backoff */
    /* redis-sentinel:// URLs: the master the sentinels named in an epoch */
    rs__mutex master_lock;       /* guards the four below */
    bool master_known;
    uint64_t master_epoch;
    char master_host[HOST_LEN];
    unsigned master_port;
    size_t sentinel_next;        /* the sentinel to ask first */
    rs__rng rng;
    rs__atomic_u64 down_until_ns; /* 0: not backing off */
    rs__atomic_u64 failures;      /* consecutive failures, the backoff attempt */
    rs__atomic_u64 prev_delay_ns; /* for decorrelated jitter */
    rs__atomic_u64 epoch;         /* moves on at every failure */
    rs__atomic_u32 next_slot;
    uint32_t pool_size;
    /* For rs_redis_metrics(): every call pays a round trip, so plain
     * atomic adds cost nothing that shows. */
    rs__atomic_u64 commands, command_ns, call_failures, skipped, connects;
    slot slots[];
};

/* One call's state while it holds a slot. */
typedef struct call {
    rs_redis *r;
    slot *s;
    uint64_t deadline_ns;        /* real time by which the commands must be done */
    bool started;                /* a command already ran in this call */
    bool report;                 /* why holds a message for on_error too */
    bool skipped;                /* failed fast, without trying: the pool backs off */
    char why[WHY_LEN];           /* the problem, for rs_last_error(); "" = none */
} call;

void rs__redis_report(const rs_redis *r, int status, const char *fmt, ...)
{
    if (r->on_error == NULL) {
        return;
    }
    char message[WHY_LEN + 64];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    r->on_error(r->ctx, status, message);
}

static void explain(call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Says why the call failed after trying: for the caller and for on_error. */
static void explain(call *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    c->report = true;
}

const char *rs__redis_fmt_u64(char *buf, uint64_t value)
{
    (void)snprintf(buf, RS__REDIS_NUM_LEN, "%llu", (unsigned long long)value);
    return buf;
}

const char *rs__redis_fmt_double(char *buf, double value)
{
    (void)snprintf(buf, RS__REDIS_NUM_LEN, "%.17g", value);
    return buf;
}

struct timeval rs__redis_timeval(uint64_t ns)
{
    uint64_t us = rs__max_u64(ns / 1000, 1); /* 0 would mean "no timeout" */
    struct timeval tv;
    tv.tv_sec = (time_t)rs__min_u64(us / 1000000, INT32_MAX);
    tv.tv_usec = (suseconds_t)(us % 1000000);
    return tv;
}

static uint64_t real_now_ns(void)
{
    return rs_clock_now(NULL);
}

static void drop(slot *s)
{
    if (s->ctx != NULL) {
        redisFree(s->ctx);
        s->ctx = NULL;
    }
}

/* The pool saw the server fail: replace every older connection and back
 * off. Appends the retry delay to the call's message. */
static void record_failure(call *c)
{
    rs_redis *r = c->r;
    atomic_fetch_add_explicit(&r->epoch, 1, memory_order_acq_rel);
    uint64_t attempt = atomic_fetch_add_explicit(&r->failures, 1, memory_order_acq_rel) + 1;
    uint64_t prev = atomic_load_explicit(&r->prev_delay_ns, memory_order_relaxed);
    uint64_t delay = rs_backoff_delay(&r->reconnect, (uint32_t)rs__min_u64(attempt, UINT32_MAX),
                                      prev, rs__rng_next(&r->rng));
    atomic_store_explicit(&r->prev_delay_ns, delay, memory_order_relaxed);
    uint64_t until = rs__max_u64(rs__sat_add(rs_clock_now(r->clock), delay), 1);
    atomic_store_explicit(&r->down_until_ns, until, memory_order_release);
    size_t used = strlen(c->why);
    (void)snprintf(c->why + used, sizeof c->why - used,
                   "; failure %llu in a row, next connection attempt in %llu ms",
                   (unsigned long long)attempt, (unsigned long long)(delay / 1000000));
    rs__mutex_lock(&r->cause_lock);
    (void)snprintf(r->cause, sizeof r->cause, "%.*s", (int)used, c->why);
    rs__mutex_unlock(&r->cause_lock);
}

/* Why a call that did not even try failed: the pool is backing off. Not
 * for on_error (it heard about the failure that started the backoff). */
static void explain_fast_failure(call *c, uint64_t until, uint64_t now)
{
    rs_redis *r = c->r;
    c->skipped = true;
    rs__mutex_lock(&r->cause_lock);
    (void)snprintf(c->why, sizeof c->why,
                   "redis %s: not tried, next connection attempt in %llu ms (after: %s)",
                   r->where, (unsigned long long)(rs__sat_sub(until, now) / 1000000),
                   r->cause[0] != '\0' ? r->cause : "another call is probing the server");
    rs__mutex_unlock(&r->cause_lock);
}

static void record_success(rs_redis *r)
{
    /* Both words: a failure racing with a success may leave either set. */
    if (atomic_load_explicit(&r->down_until_ns, memory_order_relaxed) != 0 ||
        atomic_load_explicit(&r->failures, memory_order_relaxed) != 0) {
        atomic_store_explicit(&r->failures, 0, memory_order_relaxed);
        atomic_store_explicit(&r->prev_delay_ns, 0, memory_order_relaxed);
        atomic_store_explicit(&r->down_until_ns, 0, memory_order_release);
    }
}

uint64_t rs__redis_retry_in_ns(rs_redis *r)
{
    uint64_t until = atomic_load_explicit(&r->down_until_ns, memory_order_acquire);
    return until == 0 ? 0 : rs__sat_sub(until, rs_clock_now(r->clock));
}

static bool set_timeout(redisContext *ctx, uint64_t ns)
{
    return redisSetTimeout(ctx, rs__redis_timeval(ns)) == REDIS_OK;
}

static bool starts_with(const redisReply *reply, const char *prefix)
{
    size_t n = strlen(prefix);
    return reply->type == REDIS_REPLY_ERROR && reply->len >= n &&
           memcmp(reply->str, prefix, n) == 0;
}

redisReply *rs__redis_exchange(redisContext *ctx, int argc, const char **argv,
                               const size_t *lens, uint64_t timeout_ns, char *why,
                               size_t why_len)
{
    char *text = NULL;
    int len = redisFormatCommandArgv(&text, argc, argv, lens);
    if (len < 0) {
        (void)snprintf(why, why_len, "out of memory formatting %s", argv[0]);
        return NULL;
    }
    /* send() with MSG_NOSIGNAL rather than hiredis's write(): a server that
     * went away must give an error, not a SIGPIPE that kills the program. */
    size_t off = 0;
    while (off < (size_t)len) {
        ssize_t n = send(ctx->fd, text + off, (size_t)len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK) {
                (void)snprintf(why, why_len, "timed out sending %s", argv[0]);
            } else {
                (void)snprintf(why, why_len, "sending %s failed: %s", argv[0], strerror(err));
            }
            redisFreeCommand(text);
            return NULL;
        }
        off += (size_t)n;
    }
    redisFreeCommand(text);
    void *reply = NULL;
    if (redisGetReply(ctx, &reply) != REDIS_OK || reply == NULL) {
        int err = errno;
        if (ctx->err == REDIS_ERR_IO && (err == EAGAIN || err == EWOULDBLOCK)) {
            (void)snprintf(why, why_len, "no reply to %s within %llu ms", argv[0],
                           (unsigned long long)(timeout_ns / 1000000));
        } else {
            (void)snprintf(why, why_len, "%s failed: %s", argv[0],
                           ctx->errstr[0] != '\0' ? ctx->errstr : "no reply");
        }
        return NULL;
    }
    return reply;
}

/* Sends one command and reads its reply within the call's deadline. NULL
 * on a transport failure: the connection is dropped and `why` says what
 * happened. An error reply is a reply (the connection stays usable). */
static redisReply *command(call *c, int argc, const char **argv, const size_t *lens)
{
    slot *s = c->s;
    const rs_redis *r = c->r;
    uint64_t now = real_now_ns();
    if (!c->started) {
        c->started = true;
        c->deadline_ns = rs__sat_add(now, r->command_timeout_ns);
        if (s->timeout_shortened) {
            s->timeout_shortened = !set_timeout(s->ctx, r->command_timeout_ns);
        }
    } else {
        /* Later commands of the same call get what is left of its time. */
        uint64_t left = rs__sat_sub(c->deadline_ns, now);
        if (left == 0) {
            explain(c, "redis %s: %s timed out (%llu ms for the whole call)", r->where,
                    argv[0], (unsigned long long)(r->command_timeout_ns / 1000000));
            drop(s);
            return NULL;
        }
        if (left < r->command_timeout_ns) {
            (void)set_timeout(s->ctx, left);
            s->timeout_shortened = true;
        }
    }
    char problem[WHY_LEN / 2];
    redisReply *reply = rs__redis_exchange(s->ctx, argc, argv, lens, r->command_timeout_ns,
                                           problem, sizeof problem);
    if (reply == NULL) {
        explain(c, "redis %s: %s", r->where, problem);
        drop(s);
        return NULL;
    }
    if (starts_with(reply, "NOAUTH")) {
        /* Not this command's fault: the connection is useless without AUTH. */
        explain(c, "redis %s: the server requires a password (NOAUTH): give one in the URL "
                   "or in rs_redis_config.password", r->where);
        freeReplyObject(reply);
        drop(s);
        return NULL;
    }
    return reply;
}

/* A command whose error reply means the connection is unusable (AUTH,
 * SELECT): true when it succeeded. */
static bool handshake_step(call *c, int argc, const char **argv, const char *what)
{
    size_t lens[3];
    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    redisReply *reply = command(c, argc, argv, lens);
    if (reply == NULL) {
        return false;
    }
    bool ok = reply->type != REDIS_REPLY_ERROR;
    if (!ok) {
        explain(c, "redis %s: %s failed: %.*s", c->r->where, what, (int)reply->len,
                reply->str);
        drop(c->s);
    }
    freeReplyObject(reply);
    return ok;
}

/* The master's address for a connection opened in `epoch`: the one the
 * sentinels named in this epoch, or theirs now (asked within half the
 * connect timeout, leaving the other half for the connection itself). */
static bool find_master(call *c, uint64_t epoch, char *host, unsigned *port)
{
    rs_redis *r = c->r;
    rs__mutex_lock(&r->master_lock);
    bool known = r->master_known && r->master_epoch == epoch;
    if (known) {
        memcpy(host, r->master_host, HOST_LEN);
        *port = r->master_port;
    }
    size_t next = r->sentinel_next;
    rs__mutex_unlock(&r->master_lock);
    if (known) {
        return true;
    }
    char problem[WHY_LEN / 2];
    if (!rs__sentinel_master(&r->url, &next, r->connect_timeout_ns / 2, host, HOST_LEN, port,
                             problem, sizeof problem)) {
        explain(c, "redis %s: %s", r->where, problem);
        return false;
    }
    rs__mutex_lock(&r->master_lock);
    r->master_known = true;
    r->master_epoch = epoch;
    memcpy(r->master_host, host, HOST_LEN);
    r->master_port = *port;
    r->sentinel_next = next;
    rs__mutex_unlock(&r->master_lock);
    return true;
}

/* A sentinel's answer can lag a failover: the server must say it is the
 * master (ROLE) before any script runs on it. */
static bool is_master(call *c)
{
    const char *argv[1] = { "ROLE" };
    size_t lens[1] = { 4 };
    redisReply *reply = command(c, 1, argv, lens);
    if (reply == NULL) {
        return false;
    }
    bool master = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                  reply->element[0]->type == REDIS_REPLY_STRING &&
                  strcmp(reply->element[0]->str, "master") == 0;
    if (!master) {
        explain(c, "redis %s: %s is not the master (ROLE: %s): the sentinels' answer is out "
                   "of date, a failover may be under way",
                c->r->where, c->s->peer,
                reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                        reply->element[0]->type == REDIS_REPLY_STRING
                    ? reply->element[0]->str
                    : "unexpected reply");
        drop(c->s);
    }
    freeReplyObject(reply);
    return master;
}

/* Opens the slot's connection: (ask the sentinels,) connect, AUTH, SELECT
 * (, ROLE). */
static bool connect_slot(call *c)
{
    rs_redis *r = c->r;
    slot *s = c->s;
    uint64_t epoch = atomic_load_explicit(&r->epoch, memory_order_acquire);
    uint64_t connect_ns = r->connect_timeout_ns;
    char master[HOST_LEN];
    const char *host = r->url.host;
    unsigned port = r->url.port;
    bool sentinel = r->url.sentinel_count > 0;
    if (sentinel) {
        uint64_t start = real_now_ns();
        if (!find_master(c, epoch, master, &port)) {
            return false;
        }
        host = master;
        connect_ns = rs__max_u64(rs__sat_sub(connect_ns, real_now_ns() - start),
                                 connect_ns / 2);
        bool v6 = strchr(host, ':') != NULL;
        (void)snprintf(s->peer, sizeof s->peer, "%s%s%s:%u", v6 ? "[" : "", host,
                       v6 ? "]" : "", port);
    }
    struct timeval tv = rs__redis_timeval(connect_ns);
    redisContext *ctx = r->url.path != NULL ? redisConnectUnixWithTimeout(r->url.path, tv)
                                            : redisConnectWithTimeout(host, (int)port, tv);
    if (ctx == NULL) {
        explain(c, "redis %s: out of memory creating a hiredis context", r->where);
        return false;
    }
    if (ctx->err != 0) {
        explain(c, "redis %s: cannot connect%s%s: %s", r->where, sentinel ? " to master " : "",
                sentinel ? s->peer : "", ctx->errstr);
        redisFree(ctx);
        return false;
    }
    rs__counter_add(&r->connects, 1);
    s->ctx = ctx;
    s->epoch = epoch;
    s->timeout_shortened = true; /* the first command sets it */
    if (r->url.password != NULL) {
        const char *argv[3];
        int argc = 0;
        argv[argc++] = "AUTH";
        if (r->url.username != NULL) {
            argv[argc++] = r->url.username; /* Redis 6 ACL user */
        }
        argv[argc++] = r->url.password;
        if (!handshake_step(c, argc, argv, "AUTH (check the password)")) {
            return false;
        }
    }
    if (r->url.db != 0) {
        char db[RS__REDIS_NUM_LEN];
        const char *argv[2] = { "SELECT", rs__redis_fmt_u64(db, r->url.db) };
        if (!handshake_step(c, 2, argv, "SELECT (check the database number)")) {
            return false;
        }
    }
    return !sentinel || is_master(c);
}

/* Gate and connection for a call. RS_OK when the slot is connected and
 * may be used; RS_E_IO otherwise (reported when I/O was attempted). */
static int begin(call *c, bool force)
{
    rs_redis *r = c->r;
    slot *s = c->s;
    uint64_t until = atomic_load_explicit(&r->down_until_ns, memory_order_acquire);
    if (until != 0 && !force) {
        uint64_t now = rs_clock_now(r->clock);
        if (now < until) {
            explain_fast_failure(c, until, now);
            return RS_E_IO;
        }
        /* Claim the probe: whoever moves the gate tries; the others keep
         * failing fast until it has succeeded or failed. */
        uint64_t probe_end = rs__sat_add(now, rs__sat_add(r->connect_timeout_ns,
                                                          r->command_timeout_ns));
        if (!atomic_compare_exchange_strong_explicit(&r->down_until_ns, &until, probe_end,
                                                     memory_order_acq_rel,
                                                     memory_order_acquire)) {
            explain_fast_failure(c, until, now);
            return RS_E_IO;
        }
    }
    if (s->ctx != NULL && s->epoch != atomic_load_explicit(&r->epoch, memory_order_acquire)) {
        drop(s);
    }
    if (s->ctx == NULL && !connect_slot(c)) {
        drop(s);
        record_failure(c);
        return RS_E_IO;
    }
    return RS_OK;
}

static slot *take_slot(rs_redis *r)
{
    uint32_t i = atomic_fetch_add_explicit(&r->next_slot, 1, memory_order_relaxed);
    slot *s = &r->slots[i % r->pool_size];
    rs__mutex_lock(&s->lock);
    return s;
}

/* Printable, bounded form of a key for messages (keys may be binary). */
static void printable_key(char *out, size_t out_len, const char *key, size_t key_len)
{
    size_t n = 0;
    for (size_t i = 0; i < key_len && n + 4 < out_len; i++) {
        unsigned char ch = (unsigned char)key[i];
        out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (key_len > 0 && n < key_len && n + 4 >= out_len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static bool load_script(call *c, rs__redis_script script)
{
    const char *source = rs__redis_script_source(script);
    const char *argv[3] = { "SCRIPT", "LOAD", source };
    size_t lens[3] = { 6, 4, strlen(source) };
    redisReply *reply = command(c, 3, argv, lens);
    if (reply == NULL) {
        return false;
    }
    bool ok = reply->type == REDIS_REPLY_STRING && reply->len == SHA_LEN;
    if (ok) {
        memcpy(c->s->sha[script], reply->str, SHA_LEN);
        c->s->sha[script][SHA_LEN] = '\0';
        c->s->have_sha[script] = true;
    } else {
        explain(c, "redis %s: SCRIPT LOAD of the %s script failed: %.*s", c->r->where,
                rs__redis_script_name(script),
                reply->type == REDIS_REPLY_ERROR ? (int)reply->len : 16,
                reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
    }
    freeReplyObject(reply);
    return ok;
}

/* Copies an array of integers into out; false if the reply has another shape. */
static bool read_result(const redisReply *reply, size_t min_results, rs__redis_result *out)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < min_results ||
        reply->elements > RS__REDIS_MAX_RESULTS) {
        return false;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
            return false;
        }
        out->v[i] = reply->element[i]->integer;
    }
    return true;
}

/* run_script's answer when the transport failed (the connection is already
 * dropped): positive, so that it cannot be mistaken for any rs_status. */
#define TRANSPORT_FAILED 1

/* EVALSHA, loading the script first if this connection has not yet, and
 * again once if the server forgot it (NOSCRIPT: restarted or flushed). */
static int run_script(call *c, rs__redis_script script, const rs__redis_keys *keys,
                      size_t argc, const char *const *args, size_t min_results,
                      rs__redis_result *out)
{
    const char *argv[RS__REDIS_MAX_ARGS + RS__REDIS_MAX_KEYS + 3];
    size_t lens[RS__REDIS_MAX_ARGS + RS__REDIS_MAX_KEYS + 3];
    static const char *const numkeys[RS__REDIS_MAX_KEYS + 1] = { "0", "1", "2" };
    argv[0] = "EVALSHA";
    argv[2] = numkeys[keys->count];
    lens[0] = 7;
    lens[1] = SHA_LEN;
    lens[2] = 1;
    size_t n = 3;
    for (size_t i = 0; i < keys->count; i++, n++) {
        argv[n] = keys->name[i];
        lens[n] = keys->len[i];
    }
    for (size_t i = 0; i < argc; i++, n++) {
        argv[n] = args[i];
        lens[n] = strlen(args[i]);
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!c->s->have_sha[script] && !load_script(c, script)) {
            return c->s->ctx == NULL ? TRANSPORT_FAILED : RS_E_IO;
        }
        argv[1] = c->s->sha[script];
        redisReply *reply = command(c, (int)n, argv, lens);
        if (reply == NULL) {
            return TRANSPORT_FAILED;
        }
        if (starts_with(reply, "NOSCRIPT") && attempt == 0) {
            c->s->have_sha[script] = false;
            freeReplyObject(reply);
            continue;
        }
        if (c->r->url.sentinel_count > 0 && starts_with(reply, "READONLY")) {
            /* The master was demoted (a failover): like a lost connection,
             * the pool backs off and asks the sentinels again. */
            explain(c, "redis %s: %s answers READONLY: it is no longer the master",
                    c->r->where, c->s->peer);
            freeReplyObject(reply);
            drop(c->s);
            return TRANSPORT_FAILED;
        }
        char shown[80];
        printable_key(shown, sizeof shown, keys->name[0], keys->len[0]);
        int rc = RS_OK;
        if (reply->type == REDIS_REPLY_ERROR) {
            explain(c, "redis %s: the %s script on key \"%s\" failed: %.*s", c->r->where,
                    rs__redis_script_name(script), shown, (int)reply->len, reply->str);
            /* A key holding something else is a naming mistake that no
             * retry or failure policy can mend; other errors (OOM, BUSY,
             * READONLY) are the server's trouble. */
            rc = starts_with(reply, "WRONGTYPE") ? RS_E_INVAL : RS_E_IO;
        } else if (!read_result(reply, min_results, out)) {
            explain(c, "redis %s: the %s script on key \"%s\" gave an unexpected reply",
                    c->r->where, rs__redis_script_name(script), shown);
            rc = RS_E_IO;
        }
        freeReplyObject(reply);
        return rc;
    }
    explain(c, "redis %s: the server keeps forgetting the %s script (NOSCRIPT after "
               "SCRIPT LOAD)",
            c->r->where, rs__redis_script_name(script));
    return RS_E_IO;
}

int rs__redis_eval_keys(rs_redis *r, rs__redis_script script, const rs__redis_keys *keys,
                        size_t argc, const char *const *argv, size_t min_results,
                        rs__redis_result *out)
{
    call c = { .r = r, .s = take_slot(r) };
    int rc = begin(&c, false);
    if (rc == RS_OK) {
        uint64_t start = real_now_ns();
        rc = run_script(&c, script, keys, argc, argv, min_results, out);
        rs__counter_add(&r->commands, 1);
        rs__counter_add(&r->command_ns, real_now_ns() - start);
        if (rc == TRANSPORT_FAILED) {
            record_failure(&c);
            rc = RS_E_IO;
        } else {
            record_success(r);
        }
    }
    rs__mutex_unlock(&c.s->lock);
    if (rc == RS_E_IO) {
        rs__counter_add(c.skipped ? &r->skipped : &r->call_failures, 1);
    }
    if (rc != RS_OK) {
        (void)rs_set_last_error(rc, "%s", c.why);
    }
    if (c.report) {
        rs__redis_report(r, rc, "%s", c.why);
    }
    return rc;
}

int rs__redis_eval(rs_redis *r, rs__redis_script script, const char *key, size_t key_len,
                   size_t argc, const char *const *argv, size_t min_results,
                   rs__redis_result *out)
{
    rs__redis_keys keys = { 1, { key, NULL }, { key_len, 0 } };
    return rs__redis_eval_keys(r, script, &keys, argc, argv, min_results, out);
}

int rs_redis_ping(rs_redis *r, char *detail, size_t detail_len)
{
    if (r == NULL) {
        return RS_E_INVAL;
    }
    call c = { .r = r, .s = take_slot(r) };
    int rc = begin(&c, true);
    if (rc == RS_OK) {
        const char *argv[1] = { "PING" };
        size_t lens[1] = { 4 };
        redisReply *reply = command(&c, 1, argv, lens);
        if (reply == NULL) {
            record_failure(&c);
            rc = RS_E_IO;
        } else {
            if (reply->type == REDIS_REPLY_ERROR) {
                explain(&c, "redis %s: PING failed: %.*s", r->where, (int)reply->len,
                        reply->str);
                rc = RS_E_IO;
            } else {
                (void)snprintf(c.why, sizeof c.why, "PONG from %s%s%s%s", r->where,
                               r->url.sentinel_count > 0 ? " (master " : "",
                               r->url.sentinel_count > 0 ? c.s->peer : "",
                               r->url.sentinel_count > 0 ? ")" : "");
                record_success(r);
            }
            freeReplyObject(reply);
        }
    }
    rs__mutex_unlock(&c.s->lock);
    if (detail != NULL && detail_len > 0) {
        (void)snprintf(detail, detail_len, "%s", c.why);
    }
    if (rc != RS_OK) {
        (void)rs_set_last_error(rc, "%s", c.why);
    }
    if (c.report) {
        rs__redis_report(r, RS_E_IO, "%s", c.why);
    }
    return rc;
}

const char *rs__redis_prefix(const rs_redis *r, size_t *len)
{
    *len = r->prefix_len;
    return r->prefix;
}

bool rs__redis_legacy_keys(const rs_redis *r)
{
    return r->legacy_keys;
}

uint64_t rs__redis_call_time_ns(const rs_redis *r)
{
    return rs__sat_add(r->connect_timeout_ns, r->command_timeout_ns);
}

static char *copy_string(const char *s)
{
    return rs__copy_string(s, strlen(s));
}

static int validate(const rs_redis_config *cfg)
{
    if (cfg->connect_timeout_ns == 0) {
        return rs_set_last_error(RS_E_INVAL, "rs_redis_config.connect_timeout_ns: 0, must be "
                                             "above 0");
    }
    if (cfg->command_timeout_ns == 0) {
        return rs_set_last_error(RS_E_INVAL, "rs_redis_config.command_timeout_ns: 0, must be "
                                             "above 0");
    }
    if (cfg->pool_size == 0 || cfg->pool_size > MAX_POOL) {
        return rs_set_last_error(RS_E_INVAL, "rs_redis_config.pool_size: %lu is not in 1..%d",
                                 (unsigned long)cfg->pool_size, MAX_POOL);
    }
    if (rs_backoff_config_validate(&cfg->reconnect) != RS_OK) {
        return rs__error_nest(RS_E_INVAL, "rs_redis_config.reconnect");
    }
    return cfg->key_prefix != NULL && !cfg->legacy_key_names
               ? rs__redis_check_prefix(cfg->key_prefix)
               : RS_OK;
}

/* Fills the strings of a new pool; RS_E_INVAL (explained) or RS_E_NOMEM. */
static int init_strings(rs_redis *r, const rs_redis_config *cfg)
{
    char why[WHY_LEN];
    int rc = rs__redis_url_parse(cfg->url, &r->url, why, sizeof why);
    if (rc == RS_E_INVAL) {
        (void)rs_set_last_error(rc, "rs_redis_config.url: %s", why);
        rs__redis_report(r, rc, "%s", rs_last_error());
    }
    if (rc != RS_OK) {
        return rc;
    }
    if (cfg->password != NULL) {
        rs__free(r->url.password);
        r->url.password = NULL;
        if (cfg->password[0] != '\0' && (r->url.password = copy_string(cfg->password)) == NULL) {
            return RS_E_NOMEM;
        }
    }
    r->prefix = copy_string(cfg->key_prefix != NULL ? cfg->key_prefix : "");
    if (r->prefix == NULL) {
        return RS_E_NOMEM;
    }
    r->prefix_len = strlen(r->prefix);
    if (cfg->sentinel_password != NULL && r->url.sentinel_count > 0) {
        rs__free(r->url.sentinel_password);
        r->url.sentinel_password = NULL;
        if (cfg->sentinel_password[0] != '\0' &&
            (r->url.sentinel_password = copy_string(cfg->sentinel_password)) == NULL) {
            return RS_E_NOMEM;
        }
    }
    char where[WHY_LEN];
    if (r->url.path != NULL) {
        (void)snprintf(where, sizeof where, "unix:%s", r->url.path);
    } else if (r->url.sentinel_count > 0) {
        (void)snprintf(where, sizeof where, "%s via sentinel", r->url.master_name);
    } else {
        bool v6 = strchr(r->url.host, ':') != NULL;
        (void)snprintf(where, sizeof where, "%s%s%s:%u", v6 ? "[" : "", r->url.host,
                       v6 ? "]" : "", r->url.port);
    }
    r->where = copy_string(where);
    return r->where == NULL ? RS_E_NOMEM : RS_OK;
}

/* Frees a pool whose cause lock and first `initialised_slots` slots were
 * set up. */
static void release(rs_redis *r, uint32_t initialised_slots)
{
    for (uint32_t i = 0; i < initialised_slots; i++) {
        drop(&r->slots[i]);
        rs__mutex_destroy(&r->slots[i].lock);
    }
    rs__mutex_destroy(&r->cause_lock);
    rs__mutex_destroy(&r->master_lock);
    rs__redis_url_clear(&r->url);
    rs__free(r->where);
    rs__free(r->prefix);
    rs__free(r);
}

int rs_redis_new(const rs_redis_config *cfg, const rs_clock *clock, rs_redis **out)
{
    int rc = rs__redis_check_args("rs_redis_new", cfg, out);
    if (rc == RS_OK) {
        rc = validate(cfg);
    }
    if (rc != RS_OK) {
        return rc;
    }
    rs_redis *r = rs__calloc(1, sizeof *r + (size_t)cfg->pool_size * sizeof(slot));
    if (r == NULL) {
        return RS_E_NOMEM;
    }
    if (rs__mutex_init(&r->cause_lock) != 0) {
        rs__free(r);
        return RS_E_NOMEM;
    }
    if (rs__mutex_init(&r->master_lock) != 0) {
        rs__mutex_destroy(&r->cause_lock);
        rs__free(r);
        return RS_E_NOMEM;
    }
    r->on_error = cfg->on_error;
    r->ctx = cfg->ctx;
    rc = init_strings(r, cfg);
    uint32_t ready = 0;
    while (rc == RS_OK && ready < cfg->pool_size) {
        if (rs__mutex_init(&r->slots[ready].lock) != 0) {
            rc = RS_E_NOMEM;
            break;
        }
        ready++;
    }
    if (rc != RS_OK) {
        release(r, ready);
        return rc;
    }
    r->connect_timeout_ns = cfg->connect_timeout_ns;
    r->command_timeout_ns = cfg->command_timeout_ns;
    r->reconnect = cfg->reconnect;
    r->legacy_keys = cfg->legacy_key_names;
    r->clock = clock != NULL ? clock : rs_clock_system();
    r->pool_size = cfg->pool_size;
    rs__rng_seed(&r->rng, cfg->reconnect.seed);
    atomic_init(&r->down_until_ns, 0);
    atomic_init(&r->failures, 0);
    atomic_init(&r->prev_delay_ns, 0);
    atomic_init(&r->epoch, 0);
    atomic_init(&r->next_slot, 0);
    *out = r;
    return RS_OK;
}

void rs_redis_free(rs_redis *r)
{
    if (r != NULL) {
        release(r, r->pool_size);
    }
}

int rs_redis_metrics(rs_redis *r, rs_redis_snapshot *m)
{
    if (r == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    rs_redis_snapshot snap = { 0 };
    snap.pool_size = r->pool_size;
    snap.commands = rs__counter_get(&r->commands);
    snap.command_ns = rs__counter_get(&r->command_ns);
    snap.failures = rs__counter_get(&r->call_failures);
    snap.skipped = rs__counter_get(&r->skipped);
    snap.connects = rs__counter_get(&r->connects);
    snap.consecutive_failures = atomic_load_explicit(&r->failures, memory_order_relaxed);
    snap.retry_in_ns = rs__redis_retry_in_ns(r);
    *m = snap;
    return RS_OK;
}
