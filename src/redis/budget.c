/* Distributed per-key token budget: the rolling-window budget script
 * (scripts.c), one hash per key, with a small table of local GCRAs as the
 * optional fallback. Keys hash onto its cells with a keyed hash under a
 * secret of the object's own: two keys sharing a cell share its budget
 * (the strict side), and without the secret a client that picks its own
 * keys cannot aim at another key's cell to spend its fallback budget.
 *
 * With leases (lease.c), the same keyed hash puts each key on one of as
 * many lease cells; a cell holds one key's lease at a time, and a key that
 * finds another key's lease in its cell takes the cell over (the other
 * key's unused tokens go back in the same round trip, which therefore
 * touches two keys of the budget, on its one hash tag). A ticket from a
 * lease names the lease's generation: a commit gives unused tokens back to
 * that lease while it is open, and to the server after. */
#include <string.h>

#include "core/account.h"
#include "core/alloc.h"
#include "core/arith.h"
#include "core/hash.h"
#include "internal.h"

#define LOCAL_CELLS 64
#define MAX_SUB_WINDOWS 1000
#define KEY_ON_STACK 256

struct rs_redis_budget {
    rs__redis_object base; /* first; its key is <prefix><name>:budget */
    uint64_t max_per_request;
    uint64_t sub_us;      /* length of a sub-window in server microseconds */
    char sub_arg[RS__REDIS_NUM_LEN];
    char slots_arg[RS__REDIS_NUM_LEN];
    char max_arg[RS__REDIS_NUM_LEN];
    rs__hash_key cell_secret;
    rs__redis_local local[LOCAL_CELLS];
    rs__lease_set *leases; /* NULL: every decision one exact round trip */
};

#define CONFIG "rs_redis_budget_config"

static int validate(const rs_redis_budget_config *cfg)
{
    if (cfg->max_per_window == 0 || cfg->max_per_window > RS__REDIS_MAX_COUNT) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".max_per_window: %llu is not in 1..2^53 "
                                             "(the largest count the script holds exactly)",
                                 (unsigned long long)cfg->max_per_window);
    }
    if (cfg->max_per_request == 0 || cfg->max_per_request > cfg->max_per_window) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".max_per_request: %llu is not in "
                                             "1..max_per_window (%llu)",
                                 (unsigned long long)cfg->max_per_request,
                                 (unsigned long long)cfg->max_per_window);
    }
    if (cfg->sub_windows == 0 || cfg->sub_windows > MAX_SUB_WINDOWS) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".sub_windows: %lu is not in 1..%d",
                                 (unsigned long)cfg->sub_windows, MAX_SUB_WINDOWS);
    }
    if (cfg->window_ns / 1000 < cfg->sub_windows) {
        return rs_set_last_error(RS_E_INVAL, CONFIG ".window_ns: %llu is below sub_windows "
                                             "(%lu) microseconds",
                                 (unsigned long long)cfg->window_ns,
                                 (unsigned long)cfg->sub_windows);
    }
    return RS_OK;
}

static void lease_trip(void *object, const rs__lease_trip_in *in, rs__lease_trip_out *out);

int rs_redis_budget_new(const rs_redis_budget_config *cfg, const rs_clock *clock,
                        rs_redis_budget **out)
{
    int rc = rs__redis_check_args("rs_redis_budget_new", cfg, out);
    if (rc == RS_OK) {
        rc = validate(cfg);
    }
    if (rc != RS_OK) {
        return rc;
    }
    void *object = NULL;
    rc = rs__redis_object_new(sizeof(rs_redis_budget), CONFIG, cfg->redis, cfg->name, "budget",
                              cfg->on_failure, cfg->local_share, clock, &object);
    if (rc != RS_OK) {
        return rc;
    }
    rs_redis_budget *b = object;
    b->max_per_request = cfg->max_per_request;
    b->cell_secret = rs__hash_key_from_seed(cfg->seed);
    b->sub_us = cfg->window_ns / 1000 / cfg->sub_windows;
    (void)rs__redis_fmt_u64(b->sub_arg, b->sub_us);
    (void)rs__redis_fmt_u64(b->slots_arg, cfg->sub_windows);
    (void)rs__redis_fmt_u64(b->max_arg, cfg->max_per_window);
    double per_second = (double)cfg->max_per_window * 1e9 / (double)cfg->window_ns;
    for (size_t i = 0; i < LOCAL_CELLS; i++) {
        rs__redis_local_init(&b->local[i], per_second, cfg->max_per_window,
                             b->base.local_share);
    }
    rc = rs__lease_set_new(&cfg->lease, CONFIG, cfg->max_per_window, per_second, LOCAL_CELLS,
                           cfg->redis, b->base.clock, b, lease_trip, &b->leases);
    if (rc != RS_OK) {
        rs_redis_budget_free(b);
        return rc;
    }
    *out = b;
    return RS_OK;
}

void rs_redis_budget_free(rs_redis_budget *b)
{
    if (b != NULL) {
        rs__lease_set_free(b->leases);
    }
    rs__redis_object_free(b);
}

/* The Redis key of `key`'s budget (NULL/0 = the base key): in `buf` when
 * it fits, else in *heap (the caller frees it); NULL when out of memory. */
static const char *key_name(const rs_redis_budget *b, const void *key, size_t key_len,
                            char buf[KEY_ON_STACK], char **heap, size_t *len)
{
    const rs__redis_object *o = &b->base;
    *heap = NULL;
    if (key == NULL || key_len == 0) {
        *len = o->key_len;
        return o->key;
    }
    *len = o->key_len + 1 + key_len;
    char *name = *len < KEY_ON_STACK ? buf : (*heap = rs__malloc(*len));
    if (name != NULL) {
        memcpy(name, o->key, o->key_len);
        name[o->key_len] = ':';
        memcpy(name + o->key_len + 1, key, key_len);
    }
    return name;
}

/* Runs the budget script for `key` (NULL/0 = the base key). */
static int run(rs_redis_budget *b, const void *key, size_t key_len, const char *op,
               uint64_t amount, const rs_redis_budget_ticket *t, rs__redis_result *res)
{
    char buf[KEY_ON_STACK]; /* long keys go to the heap */
    char *heap;
    size_t name_len;
    const char *name = key_name(b, key, key_len, buf, &heap, &name_len);
    if (name == NULL) {
        return RS_E_NOMEM;
    }
    char amount_arg[RS__REDIS_NUM_LEN], at_arg[RS__REDIS_NUM_LEN], reserved_arg[RS__REDIS_NUM_LEN];
    uint64_t at_us = t != NULL ? rs__sat_sub(t->at_ns / 1000,
                                             (uint64_t)RS__REDIS_EPOCH_S * 1000000)
                               : 0;
    /* Amounts beyond 2^53 mean "more than any window holds" (max_per_window
     * is at most that): capped, they stay exact numbers in Lua. */
    uint64_t reserved = t != NULL ? rs__min_u64(t->reserved, RS__REDIS_MAX_COUNT) : 0;
    const char *argv[7] = { op, b->sub_arg, b->slots_arg, b->max_arg,
                            rs__redis_fmt_u64(amount_arg,
                                              rs__min_u64(amount, RS__REDIS_MAX_COUNT)),
                            rs__redis_fmt_u64(at_arg, at_us),
                            rs__redis_fmt_u64(reserved_arg, reserved) };
    int rc = rs__redis_eval(b->base.redis, RS__SCRIPT_BUDGET, name, name_len, 7, argv, 3, res);
    rs__free(heap);
    return rc;
}

/* One lease round trip (lease.c): give the closed lease's tokens back to
 * its key, then take a batch for the asking key (both keys of this
 * budget); a give-back alone, or a take with nothing to give back, names
 * one key twice. */
static void lease_trip(void *object, const rs__lease_trip_in *in, rs__lease_trip_out *out)
{
    rs_redis_budget *b = object;
    rs__lease_key take = in->want_max > 0 ? in->key : in->back_key;
    rs__lease_key back = in->give_back > 0 ? in->back_key : take;
    char take_buf[KEY_ON_STACK], back_buf[KEY_ON_STACK];
    char *take_heap, *back_heap;
    rs__redis_keys keys = { 2, { NULL, NULL }, { 0, 0 } };
    keys.name[0] = key_name(b, take.bytes, take.len, take_buf, &take_heap, &keys.len[0]);
    keys.name[1] = key_name(b, back.bytes, back.len, back_buf, &back_heap, &keys.len[1]);
    if (keys.name[0] == NULL || keys.name[1] == NULL) {
        out->status = RS_E_NOMEM;
    } else {
        char arg[4][RS__REDIS_NUM_LEN];
        const char *argv[8] = { "l",
                                b->sub_arg,
                                b->slots_arg,
                                b->max_arg,
                                rs__redis_fmt_u64(arg[0], in->want_min),
                                rs__redis_fmt_u64(arg[1], in->back_id[0]),
                                rs__redis_fmt_u64(arg[2], in->give_back),
                                rs__redis_fmt_u64(arg[3], in->want_max) };
        rs__redis_result res;
        out->status = rs__redis_eval_keys(b->base.redis, RS__SCRIPT_BUDGET, &keys, 8, argv, 6,
                                          &res);
        rs__redis_lease_result(&res, in, RS_E_BUDGET, out);
    }
    rs__free(take_heap);
    rs__free(back_heap);
}

/* Server microseconds since RS__REDIS_EPOCH_S as Unix ns (a ticket's at_ns). */
static uint64_t server_us_to_unix_ns(uint64_t us)
{
    return rs__sat_mul(rs__sat_add(us, (uint64_t)RS__REDIS_EPOCH_S * 1000000), 1000);
}

/* Which cell (of the fallback's and of the leases') a key lands on. */
static size_t cell_of(const rs_redis_budget *b, const void *key, size_t key_len)
{
    uint64_t h = rs__siphash13(&b->cell_secret, key != NULL ? key : "", key != NULL ? key_len : 0);
    return (size_t)(h % LOCAL_CELLS);
}

static rs__redis_local *local_cell(rs_redis_budget *b, const void *key, size_t key_len)
{
    return &b->local[cell_of(b, key, key_len)];
}

static rs__lease *lease_cell(rs_redis_budget *b, const void *key, size_t key_len)
{
    return &b->leases->cells[cell_of(b, key, key_len)];
}

static rs__lease_key lease_key(const void *key, size_t key_len)
{
    return (rs__lease_key){ key_len > 0 ? key : NULL, key != NULL ? key_len : 0 };
}

/* Reserve; the local fallback decides at *now_ns, or at the object's clock
 * when now_ns is NULL (read only if Redis failed). */
static int reserve(rs_redis_budget *b, const void *key, size_t key_len, uint64_t estimate,
                   const uint64_t *now_ns, rs_redis_budget_ticket *ticket)
{
    if (estimate > b->max_per_request) {
        return rs__redis_count(&b->base, RS_E_BUDGET, RS__BY_REDIS);
    }
    int rc;
    rs__redis_by by = RS__BY_REDIS;
    rs__lease_answer lease;
    /* A reservation of 0 asks whether anything is left: the server knows. */
    if (estimate > 0 && b->leases != NULL &&
        rs__lease_decide(b->leases, lease_cell(b, key, key_len), lease_key(key, key_len),
                         estimate, 0, &lease)) {
        rc = lease.status;
        by = lease.by;
        if (rc == RS_OK) {
            *ticket = (rs_redis_budget_ticket){ estimate, server_us_to_unix_ns(lease.id[0]),
                                                RS_REDIS_TICKET_LEASE, lease.generation };
            return rs__redis_count(&b->base, RS_OK, by);
        }
    } else {
        rs__redis_result res;
        rc = run(b, key, key_len, "r", estimate, NULL, &res);
        if (rc == RS_OK) {
            if (res.v[0] != 1) {
                return rs__redis_count(&b->base, RS_E_BUDGET, by);
            }
            *ticket = (rs_redis_budget_ticket){
                estimate, server_us_to_unix_ns(res.v[2] < 0 ? 0 : (uint64_t)res.v[2]),
                RS_REDIS_TICKET_REDIS, 0
            };
            return rs__redis_count(&b->base, RS_OK, by);
        }
    }
    if (rc != RS_E_IO) { /* a lease's refusal, or not a decision (a foreign key) */
        return rs__redis_count(&b->base, rc, by);
    }
    uint64_t now = now_ns != NULL ? *now_ns : rs_clock_now(b->base.clock);
    if (b->base.on_failure == RS_REDIS_FAIL_LOCAL) {
        uint64_t wait;
        if (rs__redis_local_reserve(local_cell(b, key, key_len), estimate, 0, now, &wait) != RS_OK) {
            return rs__redis_count(&b->base, RS_E_BUDGET, RS__BY_FALLBACK);
        }
        ticket->source = RS_REDIS_TICKET_LOCAL;
    } else {
        uint64_t ignored;
        rc = rs__redis_failed(b->base.redis, b->base.on_failure, &ignored);
        if (rc != RS_OK) {
            return rs__redis_count(&b->base, rc, RS__BY_FALLBACK);
        }
        ticket->source = RS_REDIS_TICKET_UNTRACKED;
    }
    ticket->reserved = estimate;
    ticket->at_ns = now;
    ticket->lease = 0;
    return rs__redis_count(&b->base, RS_OK, RS__BY_FALLBACK);
}

int rs_redis_budget_reserve(rs_redis_budget *b, const void *key, size_t key_len,
                            uint64_t estimate, rs_redis_budget_ticket *ticket)
{
    if (b == NULL || ticket == NULL) {
        return RS_E_INVAL;
    }
    return reserve(b, key, key_len, estimate, NULL, ticket);
}

int rs_redis_budget_commit(rs_redis_budget *b, const void *key, size_t key_len,
                           const rs_redis_budget_ticket *ticket, uint64_t actual)
{
    if (b == NULL || ticket == NULL) {
        return RS_E_INVAL;
    }
    switch (ticket->source) {
    case RS_REDIS_TICKET_LEASE:
        /* The difference stays local while the ticket's lease is open (or,
         * for more tokens, while the key's current lease has them). */
        if (b->leases != NULL && actual != ticket->reserved &&
            (actual < ticket->reserved
                 ? rs__lease_give_back(lease_cell(b, key, key_len), (uint32_t)ticket->lease,
                                       ticket->reserved - actual)
                 : rs__lease_take_more(b->leases, lease_cell(b, key, key_len),
                                       lease_key(key, key_len), actual - ticket->reserved))) {
            return RS_OK;
        }
        if (actual == ticket->reserved) {
            return RS_OK;
        }
        /* Its tokens were charged in the lease's sub-window, as a ticket
         * from the server's: the same commit settles the difference. */
        /* fall through */
    case RS_REDIS_TICKET_REDIS: {
        rs__redis_result res;
        return run(b, key, key_len, "c", actual, ticket, &res);
    }
    case RS_REDIS_TICKET_LOCAL: {
        rs__redis_local *cell = local_cell(b, key, key_len);
        uint64_t now = rs_clock_now(b->base.clock);
        if (actual > ticket->reserved) {
            rs__redis_local_charge(cell, actual - ticket->reserved, now);
        } else {
            rs__redis_local_refund(cell, ticket->reserved - actual, ticket->reserved,
                                   ticket->at_ns, now);
        }
        return RS_OK;
    }
    case RS_REDIS_TICKET_UNTRACKED:
        return RS_OK;
    }
    return RS_E_INVAL;
}

int rs_redis_budget_cancel(rs_redis_budget *b, const void *key, size_t key_len,
                           const rs_redis_budget_ticket *ticket)
{
    return rs_redis_budget_commit(b, key, key_len, ticket, 0);
}

int rs_redis_budget_remaining(rs_redis_budget *b, const void *key, size_t key_len,
                              uint64_t *remaining)
{
    if (b == NULL || remaining == NULL) {
        return RS_E_INVAL;
    }
    rs__redis_result res;
    int rc = run(b, key, key_len, "q", 0, NULL, &res);
    if (rc == RS_OK) {
        *remaining = res.v[1] < 0 ? 0 : (uint64_t)res.v[1];
    }
    return rc;
}

/* rs_account adapter over one key; the ticket's `backend` word holds where
 * the reservation lives (rs_redis_ticket_source). */
static rs_redis_budget_ticket from_account(const rs_account_ticket *t)
{
    return (rs_redis_budget_ticket){ t->reserved, t->at_ns,
                                     (rs_redis_ticket_source)(t->backend & 0xff),
                                     t->backend >> 32 };
}

static int account_reserve(void *self, uint64_t estimate, uint64_t now_ns,
                           rs_account_ticket *ticket)
{
    const rs_redis_budget_key *k = self;
    rs_redis_budget_ticket t = { 0, 0, RS_REDIS_TICKET_UNTRACKED, 0 };
    int rc = k->budget != NULL && ticket != NULL
                 ? reserve(k->budget, k->key, k->key_len, estimate, &now_ns, &t)
                 : RS_E_INVAL;
    /* backend: where the tokens are, and the lease's generation above */
    *ticket = (rs_account_ticket){ t.reserved, t.at_ns, (uint64_t)t.source | (t.lease << 32) };
    return rc;
}

static void account_commit(void *self, const rs_account_ticket *ticket, uint64_t actual)
{
    const rs_redis_budget_key *k = self;
    rs_redis_budget_ticket t = from_account(ticket);
    (void)rs_redis_budget_commit(k->budget, k->key, k->key_len, &t, actual);
}

static void account_cancel(void *self, const rs_account_ticket *ticket)
{
    const rs_redis_budget_key *k = self;
    rs_redis_budget_ticket t = from_account(ticket);
    (void)rs_redis_budget_cancel(k->budget, k->key, k->key_len, &t);
}

static const rs_clock *account_clock(void *self)
{
    const rs_redis_budget_key *k = self;
    return k->budget != NULL ? rs__redis_object_clock(k->budget) : NULL;
}

static const rs_account_ops account_ops = { account_reserve, account_commit, account_cancel,
                                            "redis_budget", account_clock };

rs_account rs_redis_budget_account(rs_redis_budget_key *k)
{
    return rs__account_of(&account_ops, k);
}

int rs_redis_budget_lease_stats(rs_redis_budget *b, rs_redis_lease_stats *stats)
{
    return rs__lease_stats("rs_redis_budget_lease_stats", "b", b != NULL,
                           b != NULL ? b->leases : NULL, stats);
}
