/* Redis Sentinel discovery: which server is the master now.
 *
 * hiredis 0.14 has no Sentinel client, so the pool asks the sentinels of a
 * redis-sentinel:// URL itself, over plain hiredis connections:
 * `SENTINEL get-master-addr-by-name <name>` answers the address the
 * sentinels agree on. The pool asks when it (re)connects after a failure
 * (the epoch of conn.c moved on), so a master that stopped answering, or
 * that answers READONLY because it was demoted, sends the pool back here,
 * and ROLE on the new connection refuses a server that is not the master
 * (the sentinels' answer lags a failover by a moment).
 *
 * Sentinels are asked in turn, starting with the one that answered last;
 * each gets an equal share of what is left of the time budget, so one that
 * hangs cannot use up the whole connect timeout. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "core/arith.h"
#include "internal.h"

/* One command within what is left until deadline_ns (real time), so that a
 * sentinel's connection and commands together keep its share. */
static redisReply *exchange_by(redisContext *ctx, uint64_t deadline_ns, int argc,
                               const char **argv, const size_t *lens, char *why,
                               size_t why_len)
{
    uint64_t left = rs__sat_sub(deadline_ns, rs_clock_now(NULL));
    if (left == 0 || redisSetTimeout(ctx, rs__redis_timeval(left)) != REDIS_OK) {
        (void)snprintf(why, why_len, "no time left for %s", argv[0]);
        return NULL;
    }
    return rs__redis_exchange(ctx, argc, argv, lens, left, why, why_len);
}

/* One sentinel's answer (within timeout_ns): true with the master's
 * address. */
static bool ask_one(const rs__redis_url *url, const rs__redis_endpoint *sentinel,
                    uint64_t timeout_ns, char *host, size_t host_len, unsigned *port,
                    char *why, size_t why_len)
{
    bool v6 = strchr(sentinel->host, ':') != NULL;
    char where[280];
    (void)snprintf(where, sizeof where, "sentinel %s%s%s:%u", v6 ? "[" : "", sentinel->host,
                   v6 ? "]" : "", sentinel->port);
    uint64_t deadline = rs__sat_add(rs_clock_now(NULL), timeout_ns);
    redisContext *ctx = redisConnectWithTimeout(sentinel->host, (int)sentinel->port,
                                                rs__redis_timeval(timeout_ns));
    if (ctx == NULL || ctx->err != 0) {
        (void)snprintf(why, why_len, "%s: cannot connect: %s", where,
                       ctx != NULL ? ctx->errstr : "out of memory");
        redisFree(ctx);
        return false;
    }
    char problem[200];
    bool ok = true;
    if (url->sentinel_password != NULL) {
        const char *argv[2] = { "AUTH", url->sentinel_password };
        size_t lens[2] = { 4, strlen(url->sentinel_password) };
        redisReply *reply = exchange_by(ctx, deadline, 2, argv, lens, problem, sizeof problem);
        ok = reply != NULL && reply->type == REDIS_REPLY_STATUS;
        if (!ok) {
            (void)snprintf(why, why_len, "%s: AUTH (check sentinel_password) failed: %.*s",
                           where, reply != NULL ? (int)reply->len : (int)strlen(problem),
                           reply != NULL ? reply->str : problem);
        }
        freeReplyObject(reply);
    }
    if (ok) {
        const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", url->master_name };
        size_t lens[3] = { 8, 23, strlen(url->master_name) };
        redisReply *reply = exchange_by(ctx, deadline, 3, argv, lens, problem, sizeof problem);
        unsigned long value = 0;
        ok = reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
             reply->element[0]->type == REDIS_REPLY_STRING &&
             reply->element[1]->type == REDIS_REPLY_STRING && reply->element[0]->len > 0 &&
             reply->element[0]->len < host_len &&
             memchr(reply->element[0]->str, '\0', reply->element[0]->len) == NULL &&
             sscanf(reply->element[1]->str, "%5lu", &value) == 1 && value >= 1 &&
             value <= 65535;
        if (ok) {
            memcpy(host, reply->element[0]->str, reply->element[0]->len);
            host[reply->element[0]->len] = '\0';
            *port = (unsigned)value;
        } else if (reply == NULL) {
            (void)snprintf(why, why_len, "%s: %s", where, problem);
        } else if (reply->type == REDIS_REPLY_NIL) {
            (void)snprintf(why, why_len, "%s knows no master named \"%s\"", where,
                           url->master_name);
        } else if (reply->type == REDIS_REPLY_ERROR) {
            (void)snprintf(why, why_len, "%s: %.*s", where, (int)reply->len, reply->str);
        } else {
            (void)snprintf(why, why_len, "%s: unexpected answer to SENTINEL "
                                         "get-master-addr-by-name", where);
        }
        freeReplyObject(reply);
    }
    redisFree(ctx);
    return ok;
}

bool rs__sentinel_master(const rs__redis_url *url, size_t *next, uint64_t budget_ns, char *host,
                         size_t host_len, unsigned *port, char *why, size_t why_len)
{
    uint64_t deadline = rs__sat_add(rs_clock_now(NULL), budget_ns);
    char last[640] = "no time left to ask";
    size_t count = url->sentinel_count;
    for (size_t i = 0; i < count; i++) {
        uint64_t left = rs__sat_sub(deadline, rs_clock_now(NULL));
        if (left == 0) {
            break;
        }
        size_t k = (*next + i) % count;
        if (ask_one(url, &url->sentinels[k], left / (count - i), host, host_len, port, last,
                    sizeof last)) {
            *next = k;
            return true;
        }
    }
    (void)snprintf(why, why_len, "no sentinel gave the address of master \"%s\" (last: %s)",
                   url->master_name, last);
    return false;
}
