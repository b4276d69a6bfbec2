/* Token bucket in a shared mapping: core/gcra.h's algorithm, the one the
 * in-process bucket runs, on a state word that every process maps. The
 * configuration is fixed when the file is created, so the word is TAT
 * itself (offset 0) and a grant is one compare-exchange; a process that
 * dies at any instant leaves either the old TAT or the new one.
 *
 * Configuration words in the file: interval_ns, burst (these two identify
 * the limit), the rate as the bits of a double (to report it back), 0. */
#include "resilience/shm.h"

#include <inttypes.h>
#include <string.h>

#include "core/alloc.h"
#include "core/contention.h"
#include "core/gcra.h"
#include "core/limiter.h"
#include "internal.h"

struct rs_shm_token_bucket {
    rs__shm_file *file;
    rs__atomic_u64 *tat; /* TAT in ns on CLOCK_MONOTONIC */
    rs__gcra config;
    double rate;
    /* This process's grants and refusals through this handle, a cache line
     * per thread (core/tally.h): the file holds only the shared state. */
    rs__gcra_counts counts[RS__TALLY_SHARDS];
};

static uint64_t bits_of(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

/* The configuration a file holds, checked as a new one would be: a file
 * whose words do not describe a valid bucket is refused, never used. */
static int config_from_words(const uint64_t words[RS__SHM_CONFIG_WORDS], rs__gcra *config,
                             double *rate)
{
    double stored;
    memcpy(&stored, &words[2], sizeof stored);
    if (rs__gcra_init(config, stored, words[1]) != RS_OK || config->interval_ns != words[0]) {
        return RS_E_INVAL;
    }
    *rate = stored;
    return RS_OK;
}

static bool words_valid(const uint64_t words[RS__SHM_CONFIG_WORDS])
{
    rs__gcra config;
    double rate;
    return config_from_words(words, &config, &rate) == RS_OK;
}

static const rs__shm_kind bucket_kind = { RS__SHM_KIND_TOKEN_BUCKET, "rs_shm_token_bucket_open",
                                          { "interval_ns", "burst" }, words_valid };

int rs_shm_token_bucket_open(const char *name, const rs_token_bucket_config *cfg, unsigned flags,
                             rs_shm_token_bucket **out)
{
    rs__gcra wanted;
    uint64_t words[RS__SHM_CONFIG_WORDS] = { 0 };
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "%s: out is NULL", bucket_kind.opener);
    }
    if (cfg != NULL) {
        rs_set_last_error(RS_OK, NULL);
        if (rs_token_bucket_config_validate(cfg) != RS_OK ||
            rs__gcra_init(&wanted, cfg->rate, cfg->burst) != RS_OK) {
            return rs__shm_refuse_config("%s: cfg: invalid rs_token_bucket_config (rate %g, "
                                         "burst %" PRIu64 ")",
                                         bucket_kind.opener, cfg->rate, cfg->burst);
        }
        words[0] = wanted.interval_ns;
        words[1] = wanted.burst;
        words[2] = bits_of(cfg->rate);
    }
    rs_shm_token_bucket *tb = rs__malloc_aligned(sizeof *tb, _Alignof(rs_shm_token_bucket));
    if (tb == NULL) {
        return RS_E_NOMEM;
    }
    rs__tally_init(tb->counts, sizeof tb->counts[0]);
    uint64_t in_force[RS__SHM_CONFIG_WORDS];
    int status = rs__shm_map(name, &bucket_kind, cfg != NULL ? words : NULL, flags, in_force,
                             &tb->file);
    if (status != RS_OK) {
        rs__free_aligned(tb);
        return status;
    }
    (void)config_from_words(in_force, &tb->config, &tb->rate); /* valid: rs__shm_map checked */
    tb->tat = &tb->file->state[0];
    *out = tb;
    return RS_OK;
}

void rs_shm_token_bucket_close(rs_shm_token_bucket *tb)
{
    if (tb != NULL) {
        rs__forget_writes_within(tb->tat, sizeof *tb->tat); /* may be mapped again */
        rs__shm_unmap(tb->file);
        rs__free_aligned(tb);
    }
}

int rs_shm_token_bucket_config_get(const rs_shm_token_bucket *tb, rs_token_bucket_config *cfg)
{
    if (tb == NULL || cfg == NULL) {
        return RS_E_INVAL;
    }
    *cfg = (rs_token_bucket_config){ .rate = tb->rate, .burst = tb->config.burst };
    return RS_OK;
}

/* Takes n >= 1 tokens if the wait they need is at most max_wait_ns. */
static rs__gcra_verdict take(void *bucket, uint64_t n, uint64_t max_wait_ns, uint64_t now)
{
    rs_shm_token_bucket *tb = bucket;
    rs__gcra_verdict v = rs__gcra_take_fixed(tb->tat, &tb->config, n, max_wait_ns, now);
    rs__gcra_count(tb->counts, &v, n);
    return v;
}

int rs_shm_token_bucket_try_acquire_at(rs_shm_token_bucket *tb, uint64_t n, uint64_t now_ns)
{
    uint64_t wait_ns; /* a reservation that may not wait is a try_acquire */
    return rs__gcra_reserve(tb, take, n, 0, &wait_ns, now_ns);
}

int rs_shm_token_bucket_try_acquire(rs_shm_token_bucket *tb, uint64_t n)
{
    return rs_shm_token_bucket_try_acquire_at(tb, n, rs_clock_now(NULL));
}

int rs_shm_token_bucket_reserve_at(rs_shm_token_bucket *tb, uint64_t n, uint64_t max_wait_ns,
                                   uint64_t *wait_ns, uint64_t now_ns)
{
    return rs__gcra_reserve(tb, take, n, max_wait_ns, wait_ns, now_ns);
}

int rs_shm_token_bucket_reserve(rs_shm_token_bucket *tb, uint64_t n, uint64_t max_wait_ns,
                                uint64_t *wait_ns)
{
    return rs_shm_token_bucket_reserve_at(tb, n, max_wait_ns, wait_ns, rs_clock_now(NULL));
}

int rs_shm_token_bucket_acquire(rs_shm_token_bucket *tb, uint64_t n, uint64_t timeout_ns)
{
    uint64_t wait_ns;
    int status = rs_shm_token_bucket_reserve(tb, n, timeout_ns, &wait_ns);
    if (status == RS_OK && wait_ns > 0) {
        rs_clock_sleep(NULL, wait_ns);
    }
    return status;
}

int rs_shm_token_bucket_wait_ns_at(rs_shm_token_bucket *tb, uint64_t n, uint64_t *wait_ns,
                                   uint64_t now_ns)
{
    int status;
    if (rs__shm_wait_answered(tb, n, tb != NULL ? tb->config.burst : 0, wait_ns, &status)) {
        return status;
    }
    *wait_ns = rs__gcra_wait_fixed(tb->tat, &tb->config, n, now_ns);
    return RS_OK;
}

int rs_shm_token_bucket_wait_ns(rs_shm_token_bucket *tb, uint64_t n, uint64_t *wait_ns)
{
    return rs_shm_token_bucket_wait_ns_at(tb, n, wait_ns, rs_clock_now(NULL));
}

int rs_shm_token_bucket_available_at(rs_shm_token_bucket *tb, double *tokens, uint64_t now_ns)
{
    if (tb == NULL || tokens == NULL) {
        return RS_E_INVAL;
    }
    *tokens = rs__gcra_available(&tb->config, atomic_load_explicit(tb->tat, memory_order_relaxed),
                                 now_ns);
    return RS_OK;
}

int rs_shm_token_bucket_available(rs_shm_token_bucket *tb, double *tokens)
{
    return rs_shm_token_bucket_available_at(tb, tokens, rs_clock_now(NULL));
}

int rs_shm_token_bucket_metrics_at(rs_shm_token_bucket *tb, rs_token_bucket_snapshot *m,
                                   uint64_t now_ns)
{
    if (tb == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    rs_token_bucket_snapshot snap = { 0 };
    snap.rate = tb->rate;
    snap.burst = tb->config.burst;
    (void)rs_shm_token_bucket_available_at(tb, &snap.available, now_ns);
    rs__gcra_counts_sum(tb->counts, &snap);
    *m = snap;
    return RS_OK;
}

int rs_shm_token_bucket_metrics(rs_shm_token_bucket *tb, rs_token_bucket_snapshot *m)
{
    return rs_shm_token_bucket_metrics_at(tb, m, rs_clock_now(NULL));
}

/* The policy's now_ns is ignored: this bucket's instants are CLOCK_MONOTONIC
 * readings shared with other processes, and the policy may run on another
 * clock. */
static int limiter_acquire(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                           uint64_t *wait_ns)
{
    (void)now_ns;
    return rs_shm_token_bucket_reserve(self, n, max_wait_ns, wait_ns);
}

static uint64_t limiter_wait_ns(void *self, uint64_t n, uint64_t now_ns)
{
    (void)now_ns;
    uint64_t wait_ns;
    (void)rs_shm_token_bucket_wait_ns(self, n, &wait_ns); /* UINT64_MAX when refused */
    return wait_ns;
}

/* No clock operation: the bucket keeps its own time (see above), so a
 * policy on any clock may hold it. */
static const rs_limiter_ops limiter_ops = { limiter_acquire, "shm_token_bucket",
                                            limiter_wait_ns, true, NULL };

rs_limiter rs_shm_token_bucket_limiter(rs_shm_token_bucket *tb)
{
    return rs__limiter_of(&limiter_ops, tb);
}
