/* The fields of draft-ietf-httpapi-ratelimit-headers, in the shapes its
 * revisions gave them:
 *   00-02  RateLimit-Limit: 10, 10;w=1   RateLimit-Remaining: 5   RateLimit-Reset: 7
 *   03-07  RateLimit: limit=10, remaining=5, reset=7   RateLimit-Policy: 10;w=1
 *   08-    RateLimit: "default";r=5;t=7   RateLimit-Policy: "default";q=10;w=1
 * The draft says a malformed field must be ignored: any value that is not
 * valid Structured Field syntax, or lacks a required parameter, fails as a
 * whole, and the caller leaves its feedback untouched. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arith.h"
#include "http/internal.h"

#define NS_PER_SEC UINT64_C(1000000000)

static bool non_negative(const rs__sf_value *v, int64_t *out)
{
    if (v->kind != RS__SF_INTEGER || v->integer < 0) {
        return false;
    }
    *out = v->integer;
    return true;
}

static bool names_a_policy(const rs__sf_value *v)
{
    return v->kind == RS__SF_STRING || v->kind == RS__SF_TOKEN;
}

/* qu names a policy's unit; only requests count here (the draft's text
 * says "requests", its registry table "request"). */
static bool counts_requests(const rs__sf_value *unit)
{
    return unit->kind == RS__SF_STRING &&
           ((unit->text_len == 8 && memcmp(unit->text, "requests", 8) == 0) ||
            (unit->text_len == 7 && memcmp(unit->text, "request", 7) == 0));
}

/* The parameters the drafts define for an Item, checked by type; others
 * pass as comments. */
typedef struct item_params {
    int64_t r, t, q;      /* non-negative Integers; -1 = absent */
    uint64_t window_ns;   /* w, a positive Integer of seconds; 0 = absent */
    bool counts_requests; /* qu absent, or "requests" */
} item_params;

static bool read_params(rs__sf_cursor *c, item_params *p)
{
    *p = (item_params){ -1, -1, -1, 0, true };
    const char *key;
    size_t key_len;
    rs__sf_value v;
    int more;
    while ((more = rs__sf_next_param(c, &key, &key_len, &v)) == 1) {
        if (key_len == 1 && (key[0] == 'r' || key[0] == 't' || key[0] == 'q' || key[0] == 'w')) {
            int64_t number;
            if (!non_negative(&v, &number) || (key[0] == 'w' && number == 0)) {
                return false;
            }
            switch (key[0]) {
            case 'r': p->r = number; break;
            case 't': p->t = number; break;
            case 'q': p->q = number; break;
            default: p->window_ns = rs__sat_mul((uint64_t)number, NS_PER_SEC); break;
            }
        } else if (rs__sf_key_is(key, key_len, "qu")) {
            if (v.kind != RS__SF_STRING) {
                return false;
            }
            p->counts_requests = counts_requests(&v);
        }
    }
    return more == 0;
}

/* Folds a policy's (limit, window) into the update: the more restrictive
 * limit, and the lowest rate. */
static void keep_limit(rs__http_quota_update *u, int64_t limit, uint64_t window_ns)
{
    if (rs__http_tighter_limit(limit, window_ns, u->has_limit ? u->limit : -1, u->window_ns)) {
        u->limit = limit;
        u->window_ns = window_ns;
        u->has_limit = true;
    }
    rs__http_keep_least_rate(&u->rate, rs__http_rate(limit, window_ns));
}

/* One Item of the draft-08 RateLimit List: `"name";r=N;t=S`. */
static bool service_limit_item(rs__sf_cursor *c, rs__http_quota_update *u)
{
    rs__sf_value value;
    item_params p;
    if (!rs__sf_member_value(c, &value) || !names_a_policy(&value) || !read_params(c, &p) ||
        p.r < 0) {
        return false;
    }
    uint64_t reset_ns = p.t < 0 ? 0 : rs__sat_mul((uint64_t)p.t, NS_PER_SEC);
    if (rs__http_tighter_quota(p.r, reset_ns, u->has_remaining ? u->remaining : -1, u->reset_ns)) {
        u->remaining = p.r;
        u->has_remaining = true;
        u->reset_ns = reset_ns;
        u->has_reset = p.t >= 0;
    }
    return true;
}

/* One member of the drafts-03-to-07 RateLimit Dictionary. As RFC 9651 says
 * of dictionaries, a key given twice keeps its last value. */
static bool dictionary_member(rs__sf_cursor *c, rs__http_quota_update *u)
{
    const char *key;
    size_t key_len;
    rs__sf_value value = { RS__SF_BOOLEAN, 1, NULL, 0 };
    if (!rs__sf_key(c, &key, &key_len)) {
        return false;
    }
    if (c->at < c->end && *c->at == '=') {
        c->at++;
        if (!rs__sf_member_value(c, &value)) {
            return false;
        }
    }
    int64_t number = -1;
    bool known = rs__sf_key_is(key, key_len, "limit") || rs__sf_key_is(key, key_len, "remaining") ||
                 rs__sf_key_is(key, key_len, "reset");
    if (known && !non_negative(&value, &number)) {
        return false;
    }
    if (rs__sf_key_is(key, key_len, "limit")) {
        u->limit = number;
        u->has_limit = true;
    } else if (rs__sf_key_is(key, key_len, "remaining")) {
        u->remaining = number;
        u->has_remaining = true;
    } else if (rs__sf_key_is(key, key_len, "reset")) {
        u->reset_ns = rs__sat_mul((uint64_t)number, NS_PER_SEC);
        u->has_reset = true;
    }
    return rs__sf_skip_params(c);
}

/* The dictionary form starts with a key and "=": a List Item cannot (a
 * token name is followed by ";" or ","). */
static bool is_dictionary(const rs__sf_cursor *c)
{
    rs__sf_cursor probe = *c;
    const char *key;
    size_t key_len;
    return rs__sf_key(&probe, &key, &key_len) && probe.at < probe.end && *probe.at == '=';
}

typedef bool (*member_reader)(rs__sf_cursor *c, rs__http_quota_update *u);

/* Reads every member of a non-empty List or Dictionary with `read`, which
 * folds it into one update. */
static bool read_members(rs__sf_cursor c, member_reader read, rs__http_quota_update *out)
{
    if (c.at == c.end) {
        return false;
    }
    rs__http_quota_update u = RS__HTTP_NO_UPDATE;
    int more;
    do {
        if (!read(&c, &u)) {
            return false;
        }
    } while ((more = rs__sf_next_member(&c)) == 1);
    if (more < 0) {
        return false;
    }
    *out = u;
    return true;
}

bool rs__http_ietf_ratelimit(const char *s, size_t len, rs__http_quota_update *out)
{
    rs__sf_cursor c;
    rs__sf_start(&c, s, len);
    rs__http_quota_update u;
    if (!read_members(c, is_dictionary(&c) ? dictionary_member : service_limit_item, &u) ||
        !(u.has_limit || u.has_remaining || u.has_reset)) {
        return false;
    }
    u.whole_quota = true;
    *out = u;
    return true;
}

/* One quota policy: `"name";q=N;qu="unit";w=S` (08 on) or `N;w=S` (03-07). */
static bool policy_item(rs__sf_cursor *c, rs__http_quota_update *u)
{
    rs__sf_value value;
    item_params p;
    if (!rs__sf_member_value(c, &value) || !read_params(c, &p)) {
        return false;
    }
    int64_t quota = p.q;
    if (!names_a_policy(&value) && !non_negative(&value, &quota)) {
        return false;
    }
    if (quota < 0) {
        return false;
    }
    if (p.counts_requests) {
        keep_limit(u, quota, p.window_ns);
    }
    return true;
}

bool rs__http_ietf_policy(const char *s, size_t len, rs__http_quota_update *out)
{
    rs__sf_cursor c;
    rs__sf_start(&c, s, len);
    return read_members(c, policy_item, out);
}

/* One member of the drafts-00-to-02 RateLimit-Limit List: an Integer with
 * an optional window. The first member is the limit that expires first;
 * the rest are the policies behind it, which count only for the rate. */
static bool limit_member(rs__sf_cursor *c, rs__http_quota_update *u)
{
    rs__sf_value value;
    int64_t quota;
    item_params p;
    if (!rs__sf_member_value(c, &value) || !non_negative(&value, &quota) || !read_params(c, &p)) {
        return false;
    }
    if (!u->has_limit) {
        u->limit = quota;
        u->window_ns = p.window_ns;
        u->has_limit = true;
    }
    rs__http_keep_least_rate(&u->rate, rs__http_rate(quota, p.window_ns));
    return true;
}

bool rs__http_ietf_limit(const char *s, size_t len, rs__http_quota_update *out)
{
    rs__sf_cursor c;
    rs__sf_start(&c, s, len);
    return read_members(c, limit_member, out);
}

bool rs__http_ietf_integer(const char *s, size_t len, int64_t *out)
{
    rs__sf_cursor c;
    rs__sf_start(&c, s, len);
    rs__sf_value value;
    int64_t number;
    if (!rs__sf_member_value(&c, &value) || !non_negative(&value, &number)) {
        return false;
    }
    if (!rs__sf_skip_params(&c) || c.at != c.end) {
        return false;
    }
    *out = number;
    return true;
}
