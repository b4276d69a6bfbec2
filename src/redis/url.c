/* Redis URLs: redis://[[user]:password@]host[:port][/db],
 * unix://[[user]:password@]/path[?db=N][&password=P] and
 * redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]
 * [?sentinel_password=P] (the sentinels' addresses, default port 26379; the
 * user and password are the master's).
 *
 * Strict on purpose: a typo in a URL should be an error at start-up, not a
 * connection to the wrong place. Every part accepts exactly one spelling
 * (two hex digits after '%', digits only in numbers, each query item at
 * most once), so two readers of a URL can never disagree about where it
 * points. Reasons never quote the password. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "core/alloc.h"
#include "internal.h"

/* The longest socket path connect() can take: hiredis would silently cut a
 * longer one and so talk to another socket. */
#define MAX_SOCKET_PATH (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static int fail(char *why, size_t why_len, const char *reason)
{
    if (why != NULL && why_len > 0) {
        (void)snprintf(why, why_len, "bad Redis URL: %s", reason);
    }
    return RS_E_INVAL;
}

/* 0..15 for a hex digit, -1 otherwise (no sign, no space: strtol would
 * take "-1" or " f" as a number). */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* A copy of [begin, end) with %XX escapes decoded; *bad on a broken escape
 * or an embedded NUL. NULL with *bad false means out of memory. */
static char *decode(const char *begin, const char *end, bool *bad)
{
    *bad = false;
    char *copy = rs__malloc((size_t)(end - begin) + 1);
    if (copy == NULL) {
        return NULL;
    }
    size_t n = 0;
    for (const char *p = begin; p < end; p++) {
        if (*p != '%') {
            copy[n++] = *p;
            continue;
        }
        int high = end - p >= 3 ? hex_value(p[1]) : -1;
        int low = high >= 0 ? hex_value(p[2]) : -1;
        if (low < 0 || (high | low) == 0) {
            *bad = true;
            rs__free(copy);
            return NULL;
        }
        copy[n++] = (char)(high * 16 + low);
        p += 2;
    }
    copy[n] = '\0';
    return copy;
}

/* Decimal digits only (no sign, no spaces), at most `max`. */
static bool parse_number(const char *begin, const char *end, unsigned long max,
                         unsigned long *out)
{
    if (begin == end || end - begin > 10) {
        return false;
    }
    unsigned long value = 0;
    for (const char *p = begin; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        value = value * 10 + (unsigned long)(*p - '0');
    }
    if (value > max) {
        return false;
    }
    *out = value;
    return true;
}

/* A decoded password into *out, refusing a second one. */
static int take_password(const char *begin, const char *end, char **out, char *why,
                         size_t why_len)
{
    if (*out != NULL) {
        return fail(why, why_len, "the password is given twice");
    }
    if (begin == end) {
        return fail(why, why_len, "empty password");
    }
    bool bad = false;
    *out = decode(begin, end, &bad);
    if (*out == NULL) {
        return bad ? fail(why, why_len, "broken %-escape in the password") : RS_E_NOMEM;
    }
    return RS_OK;
}

/* user:password before '@'. RS_OK, RS_E_INVAL or RS_E_NOMEM. */
static int parse_userinfo(const char *begin, const char *end, rs__redis_url *out, char *why,
                          size_t why_len)
{
    const char *colon = memchr(begin, ':', (size_t)(end - begin));
    if (colon == NULL) {
        return fail(why, why_len, "a user name needs a password (user:password@)");
    }
    if (colon > begin) {
        bool bad = false;
        out->username = decode(begin, colon, &bad);
        if (out->username == NULL) {
            return bad ? fail(why, why_len, "broken %-escape in the user name") : RS_E_NOMEM;
        }
    }
    return take_password(colon + 1, end, &out->password, why, why_len);
}

static int copy_span(const char *begin, const char *end, char **out)
{
    *out = rs__copy_string(begin, (size_t)(end - begin));
    return *out != NULL ? RS_OK : RS_E_NOMEM;
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A host name or IPv4 address: letters, digits, '-', '.', '_'. */
static bool valid_name(const char *begin, const char *end)
{
    for (const char *c = begin; c < end; c++) {
        if (!is_alnum(*c) && *c != '-' && *c != '.' && *c != '_') {
            return false;
        }
    }
    return true;
}

/* What may stand between '[' and ']': an IPv6 address (hex digits and
 * colons, an IPv4 tail), nothing that belongs to another part of a URL. */
static bool valid_ipv6(const char *begin, const char *end)
{
    if (memchr(begin, ':', (size_t)(end - begin)) == NULL) {
        return false;
    }
    for (const char *c = begin; c < end; c++) {
        if (hex_value(*c) < 0 && *c != ':' && *c != '.') {
            return false;
        }
    }
    return true;
}

/* host[:port] in [begin, end): a host name, an IPv4 address or [an IPv6
 * address], copied into *host, and the port (default_port when absent). */
static int parse_endpoint(const char *begin, const char *end, unsigned long default_port,
                          char **host, unsigned *port, char *why, size_t why_len)
{
    const char *host_begin = begin, *host_end, *p;
    if (begin < end && *begin == '[') {
        host_begin = begin + 1;
        host_end = memchr(host_begin, ']', (size_t)(end - host_begin));
        if (host_end == NULL) {
            return fail(why, why_len, "'[' without ']' around an IPv6 address");
        }
        if (!valid_ipv6(host_begin, host_end)) {
            return fail(why, why_len, "only an IPv6 address may stand in [brackets]");
        }
        p = host_end + 1;
    } else {
        host_end = memchr(begin, ':', (size_t)(end - begin));
        if (host_end == NULL) {
            host_end = end;
        }
        p = host_end;
        if (!valid_name(host_begin, host_end)) {
            return fail(why, why_len, "invalid character in the host name");
        }
    }
    if (host_end == host_begin) {
        return fail(why, why_len, "no host name");
    }
    unsigned long value = default_port;
    if (p < end && *p == ':') {
        if (!parse_number(p + 1, end, 65535, &value) || value == 0) {
            return fail(why, why_len, "the port must be a number in 1..65535");
        }
        p = end;
    }
    if (p != end) {
        return fail(why, why_len, "unexpected text after the host");
    }
    *port = (unsigned)value;
    return copy_span(host_begin, host_end, host);
}

/* "/db" at p (or nothing) up to the first of `stops`: the database number,
 * or an empty one (0). Returns where it ended, NULL when it is no number. */
static const char *parse_db(const char *p, const char *stops, unsigned long *db)
{
    if (*p != '/') {
        return p;
    }
    const char *db_end = p + 1 + strcspn(p + 1, stops);
    if (db_end > p + 1 && !parse_number(p + 1, db_end, INT_MAX, db)) {
        return NULL;
    }
    return db_end;
}

/* host[:port][/db] */
static int parse_tcp(const char *p, rs__redis_url *out, char *why, size_t why_len)
{
    const char *end = p + strcspn(p, "/?#");
    int rc = parse_endpoint(p, end, 6379, &out->host, &out->port, why, why_len);
    if (rc != RS_OK) {
        return rc;
    }
    p = parse_db(end, "", &out->db);
    if (p == NULL) {
        return fail(why, why_len, "the database (after '/') must be a number");
    }
    if (*p != '\0') {
        return fail(why, why_len, "unexpected text after the host (query strings are "
                                  "only for unix:// and redis-sentinel:// URLs)");
    }
    return RS_OK;
}

/* The query of a unix:// URL (db=N and password=P) or of a
 * redis-sentinel:// URL (sentinel_password=P), each item at most once. */
static int parse_query(const char *q, bool sentinel, rs__redis_url *out, char *why,
                       size_t why_len)
{
    bool have_db = false;
    for (;;) {
        const char *item_end = q + strcspn(q, "&");
        const char *eq = memchr(q, '=', (size_t)(item_end - q));
        if (eq == NULL) {
            return fail(why, why_len, "query items must be name=value");
        }
        size_t name_len = (size_t)(eq - q);
        int rc = RS_OK;
        if (!sentinel && name_len == 2 && memcmp(q, "db", 2) == 0) {
            if (have_db) {
                return fail(why, why_len, "db= is given twice");
            }
            if (!parse_number(eq + 1, item_end, INT_MAX, &out->db)) {
                return fail(why, why_len, "db= must be a number");
            }
            have_db = true;
        } else if (!sentinel && name_len == 8 && memcmp(q, "password", 8) == 0) {
            rc = take_password(eq + 1, item_end, &out->password, why, why_len);
        } else if (sentinel && name_len == 17 && memcmp(q, "sentinel_password", 17) == 0) {
            rc = take_password(eq + 1, item_end, &out->sentinel_password, why, why_len);
        } else {
            return fail(why, why_len, sentinel ? "unknown query item (sentinel_password= is "
                                                 "understood)"
                                               : "unknown query item (db= and password= "
                                                 "are understood)");
        }
        if (rc != RS_OK || *item_end == '\0') {
            return rc;
        }
        q = item_end + 1; /* after '&': another item must follow */
    }
}

/* /path[?db=N&password=P] */
static int parse_unix(const char *p, rs__redis_url *out, char *why, size_t why_len)
{
    if (*p != '/') {
        return fail(why, why_len, "unix:// needs an absolute socket path (unix:///path)");
    }
    const char *path_end = p + strcspn(p, "?#");
    if (path_end - p < 2) {
        return fail(why, why_len, "empty socket path");
    }
    if ((size_t)(path_end - p) > MAX_SOCKET_PATH) {
        return fail(why, why_len, "the socket path is longer than a Unix socket address "
                                  "can hold (107 bytes on Linux)");
    }
    if (*path_end == '#') {
        return fail(why, why_len, "unexpected '#' in a unix:// URL");
    }
    int rc = copy_span(p, path_end, &out->path);
    if (rc == RS_OK && *path_end == '?') {
        rc = parse_query(path_end + 1, false, out, why, why_len);
    }
    return rc;
}

/* host[:port][,host[:port]...]/master[/db][?sentinel_password=P] */
static int parse_sentinel(const char *p, rs__redis_url *out, char *why, size_t why_len)
{
    const char *list_end = p + strcspn(p, "/?#");
    size_t count = 1;
    for (const char *c = p; c < list_end; c++) {
        count += *c == ',';
    }
    if (count > RS__REDIS_MAX_SENTINELS) {
        return fail(why, why_len, "more than 16 sentinels");
    }
    out->sentinels = rs__calloc(count, sizeof *out->sentinels);
    if (out->sentinels == NULL) {
        return RS_E_NOMEM;
    }
    for (const char *item = p; out->sentinel_count < count;) {
        const char *item_end = memchr(item, ',', (size_t)(list_end - item));
        if (item_end == NULL) {
            item_end = list_end;
        }
        if (item_end == item) {
            return fail(why, why_len, item == p && count == 1
                                          ? "no sentinel address"
                                          : "empty sentinel address (',' at an end or twice)");
        }
        rs__redis_endpoint *e = &out->sentinels[out->sentinel_count];
        int rc = parse_endpoint(item, item_end, RS__REDIS_SENTINEL_PORT, &e->host, &e->port,
                                why, why_len);
        if (rc != RS_OK) {
            return rc;
        }
        out->sentinel_count++;
        item = item_end + 1;
    }
    if (*list_end != '/' || list_end[1] == '\0' || strchr("/?#", list_end[1]) != NULL) {
        return fail(why, why_len, "the master's name must follow the sentinels "
                                  "(redis-sentinel://host:26379/mymaster)");
    }
    const char *name = list_end + 1, *name_end = name + strcspn(name, "/?#");
    if (!valid_name(name, name_end)) {
        return fail(why, why_len, "invalid character in the master's name");
    }
    int rc = copy_span(name, name_end, &out->master_name);
    if (rc != RS_OK) {
        return rc;
    }
    p = parse_db(name_end, "?#", &out->db);
    if (p == NULL) {
        return fail(why, why_len, "the database (after the master's name) must be a number");
    }
    if (*p == '?') {
        return parse_query(p + 1, true, out, why, why_len);
    }
    if (*p != '\0') {
        return fail(why, why_len, "unexpected '#' in a redis-sentinel:// URL");
    }
    return RS_OK;
}

int rs__redis_url_parse(const char *url, rs__redis_url *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    if (url == NULL || *url == '\0') {
        return fail(why, why_len, "no URL given");
    }
    enum { TCP, UNIX, SENTINEL } kind;
    const char *p;
    if (strncmp(url, "redis://", 8) == 0) {
        kind = TCP;
        p = url + 8;
    } else if (strncmp(url, "unix://", 7) == 0) {
        kind = UNIX;
        p = url + 7;
    } else if (strncmp(url, "redis-sentinel://", 17) == 0) {
        kind = SENTINEL;
        p = url + 17;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        return fail(why, why_len, "TLS (rediss://) is not supported: hiredis 0.14 has no TLS");
    } else {
        return fail(why, why_len, "the scheme must be redis://, unix:// or redis-sentinel://");
    }
    bool is_unix = kind == UNIX;
    for (const char *c = p; *c != '\0'; c++) {
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f) {
            return fail(why, why_len, "spaces, control characters and non-ASCII bytes are "
                                      "not allowed (escape them in the password as %XX)");
        }
    }
    /* userinfo ends at the last '@' before the path, so a password may even
     * contain an unescaped '@'. */
    const char *rest_end = p + strcspn(p, is_unix ? "/" : "/?#");
    const char *at = NULL;
    for (const char *c = p; c < rest_end; c++) {
        if (*c == '@') {
            at = c;
        }
    }
    int rc = RS_OK;
    if (at != NULL) {
        rc = parse_userinfo(p, at, out, why, why_len);
        p = at + 1;
    }
    if (rc == RS_OK) {
        rc = kind == UNIX    ? parse_unix(p, out, why, why_len)
             : kind == TCP   ? parse_tcp(p, out, why, why_len)
                             : parse_sentinel(p, out, why, why_len);
    }
    if (rc != RS_OK) {
        rs__redis_url_clear(out);
    }
    return rc;
}

/* Not a security boundary, but no reason to leave a secret in freed memory. */
static void free_secret(char *secret)
{
    if (secret != NULL) {
        memset(secret, 0, strlen(secret));
        rs__free(secret);
    }
}

void rs__redis_url_clear(rs__redis_url *u)
{
    rs__free(u->host);
    rs__free(u->path);
    rs__free(u->username);
    free_secret(u->password);
    for (size_t i = 0; i < u->sentinel_count; i++) {
        rs__free(u->sentinels[i].host);
    }
    rs__free(u->sentinels);
    rs__free(u->master_name);
    free_secret(u->sentinel_password);
    memset(u, 0, sizeof *u);
}
