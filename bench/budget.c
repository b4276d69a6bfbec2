/* Benchmarks the token budget and the budget registry:
 *  - reserve + commit on one budget (clock read, explicit time, 2 threads);
 *  - registry get + reserve + commit + release with 1,000,000 distinct keys
 *    resident (max_keys 1,000,000), visited in a scattered order, and with
 *    a hot set of 100 keys;
 *  - memory per key, measured with a counting allocator installed with
 *    rs_set_allocator() (requested bytes), and the process's resident-set
 *    growth (which adds malloc's own overhead). */
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "progress.h"
#include "resilience.h"

#define MILLION 1000000u
#define HOT_KEYS 100u
#define KEY_SIZE 16

/* ---- counting allocator --------------------------------------------------- */

typedef union header {
    max_align_t align;
    size_t size;
} header;

static atomic_size_t live_bytes;
static atomic_size_t live_blocks;

static void *counting_malloc(size_t size)
{
    header *h = malloc(sizeof *h + size);
    if (h == NULL) {
        return NULL;
    }
    h->size = size;
    atomic_fetch_add_explicit(&live_bytes, size, memory_order_relaxed);
    atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    return h + 1;
}

static void counting_free(void *p)
{
    if (p == NULL) {
        return;
    }
    header *h = (header *)p - 1;
    atomic_fetch_sub_explicit(&live_bytes, h->size, memory_order_relaxed);
    atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    free(h);
}

static size_t resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
            resident = 0;
        }
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- keys ------------------------------------------------------------------ */

static char (*keys)[KEY_SIZE];
static size_t key_len[MILLION];

static void make_keys(void)
{
    keys = malloc(sizeof(*keys) * MILLION);
    if (keys == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (unsigned i = 0; i < MILLION; i++) {
        key_len[i] = (size_t)snprintf(keys[i], KEY_SIZE, "user-%07u", i);
    }
}

/* ---- operations -------------------------------------------------------------- */

static void reserve_commit(void *ctx)
{
    rs_budget *b = ctx;
    rs_budget_ticket t;
    if (rs_budget_reserve(b, 100, &t) == RS_OK) {
        rs_budget_commit(b, &t, 60);
    }
}

static _Atomic uint64_t fake_now;

static void reserve_commit_at(void *ctx)
{
    rs_budget *b = ctx;
    rs_budget_ticket t;
    uint64_t now = atomic_load_explicit(&fake_now, memory_order_relaxed) + 1000;
    atomic_store_explicit(&fake_now, now, memory_order_relaxed);
    if (rs_budget_reserve_at(b, 100, &t, now) == RS_OK) {
        rs_budget_commit(b, &t, 60);
    }
}

typedef struct registry_ctx {
    rs_budget_registry *r;
    unsigned key_count;
} registry_ctx;

/* Each thread draws keys uniformly at random from its own xorshift stream,
 * so the big table is visited without locality, as a million users would. */
static _Thread_local uint64_t rng_state;

static unsigned random_key(unsigned key_count)
{
    if (rng_state == 0) {
        rng_state = (uint64_t)(uintptr_t)&rng_state | 1;
    }
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(((rng_state >> 32) * key_count) >> 32);
}

static void get_reserve_commit(void *p)
{
    registry_ctx *c = p;
    unsigned cursor = random_key(c->key_count);
    rs_budget *b = rs_budget_registry_get(c->r, keys[cursor], key_len[cursor]);
    if (b == NULL) {
        fprintf(stderr, "rs_budget_registry_get failed\n");
        exit(1);
    }
    rs_budget_ticket t;
    if (rs_budget_reserve(b, 100, &t) == RS_OK) {
        rs_budget_commit(b, &t, 60);
    }
    rs_budget_registry_release(c->r, b);
}

/* Filling a million keys takes seconds: long enough to show progress. */
#define PROGRESS_EVERY 65536u

static rs_budget_registry *registry_with(const rs_budget_config *cfg, size_t max_keys,
                                         unsigned populate)
{
    rs_budget_registry *r = NULL;
    bench_check(rs_budget_registry_new(cfg, max_keys, NULL, &r), "rs_budget_registry_new");
    bench_progress progress;
    bool quick = populate < MILLION; /* the hot set fills in no time: nothing to show */
    bench_progress_start(&progress, "  filling the registry", populate, quick);
    for (unsigned i = 0; i < populate; i++) {
        rs_budget *b = rs_budget_registry_get(r, keys[i], key_len[i]);
        if (b == NULL) {
            bench_check(RS_E_NOMEM, "rs_budget_registry_get");
        }
        rs_budget_registry_release(r, b);
        if (i % PROGRESS_EVERY == 0) {
            bench_progress_update(&progress, i);
        }
    }
    bench_progress_finish(&progress);
    return r;
}

static int create_nothing(void *ctx, const void *key, size_t len, void **value)
{
    (void)ctx;
    (void)key;
    (void)len;
    *value = NULL;
    return RS_OK;
}

/* What the process holds at one instant: through the counting allocator,
 * and as resident memory. */
typedef struct usage {
    size_t bytes, blocks, rss;
} usage;

static usage usage_now(void)
{
    return (usage){ atomic_load(&live_bytes), atomic_load(&live_blocks), resident_bytes() };
}

/* One row: what grew between two instants, per key. */
static void print_memory(const char *what, usage before, usage after, unsigned count)
{
    printf("  %-52s %8.1f B/key requested, %4.2f allocations/key, %8.1f B/key resident\n", what,
           (double)(after.bytes - before.bytes) / count,
           (double)(after.blocks - before.blocks) / count,
           after.rss > before.rss ? (double)(after.rss - before.rss) / count : 0.0);
}

int main(void)
{
    if (rs_set_allocator(counting_malloc, counting_free) != RS_OK) {
        return 1;
    }
    make_keys();
    bench_baselines(2);

    bench_section("rs_budget: reserve + commit on one budget (60 sub-buckets)");
    rs_budget_config cfg = RS_BUDGET_CONFIG_DEFAULT;
    cfg.max_per_window = UINT64_C(1) << 50;
    rs_budget *b = NULL;
    bench_check(rs_budget_new(&cfg, NULL, &b), "rs_budget_new");
    bench_run("reserve + commit (system clock)", 1, reserve_commit, b);
    bench_run("reserve_at + commit (explicit time, 1 us apart)", 1, reserve_commit_at, b);
    bench_run("reserve + commit, one shared budget", 2, reserve_commit, b);
    rs_budget_free(b);

    bench_section("rs_budget_registry: get + reserve + commit + release");
    usage before_big = usage_now();
    /* A million users on the default free tier (50,000 tokens an hour, 60
     * sub-buckets): each gets a few operations, far from its limit. */
    rs_budget_config free_tier = RS_BUDGET_CONFIG_DEFAULT;
    registry_ctx big = { registry_with(&free_tier, MILLION, MILLION), MILLION };
    usage big_resident = usage_now();
    bench_run("1,000,000 keys resident, random order", 1, get_reserve_commit, &big);
    bench_run("1,000,000 keys resident, random order", 2, get_reserve_commit, &big);
    /* The hot keys get millions of operations each: a tier they never
     * exhaust, so this measures the bookkeeping rather than refusals. */
    rs_budget_config unlimited = RS_BUDGET_CONFIG_DEFAULT;
    unlimited.max_per_window = UINT64_C(1) << 50;
    registry_ctx hot = { registry_with(&unlimited, MILLION, HOT_KEYS), HOT_KEYS };
    bench_run("hot set of 100 keys", 1, get_reserve_commit, &hot);
    bench_run("hot set of 100 keys", 2, get_reserve_commit, &hot);
    rs_budget_registry_free(hot.r);

    bench_section("memory per key (counting allocator; resident = RSS growth)");
    print_memory("budget registry, free tier, 1,000,000 keys", before_big, big_resident, MILLION);
    rs_budget_registry_free(big.r);
    malloc_trim(0); /* so that the next RSS growth is not memory reused */

    const struct {
        uint32_t sub_buckets;
        uint64_t per_window;
    } shapes[] = { { 60, 50000 }, { 10, 50000 }, { 60, UINT64_C(1) << 31 } };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        rs_budget_config one = RS_BUDGET_CONFIG_DEFAULT;
        one.sub_buckets = shapes[i].sub_buckets;
        one.max_per_window = shapes[i].per_window;
        size_t before = atomic_load(&live_bytes);
        bench_check(rs_budget_new(&one, NULL, &b), "rs_budget_new");
        char name[64];
        snprintf(name, sizeof name, "one rs_budget, %u sub-buckets, %s counters",
                 (unsigned)shapes[i].sub_buckets,
                 shapes[i].per_window < (UINT64_C(1) << 31) ? "32-bit" : "64-bit");
        printf("  %-52s %8zu B\n", name, atomic_load(&live_bytes) - before);
        rs_budget_free(b);
    }

    rs_registry_config gc = RS_REGISTRY_CONFIG_DEFAULT;
    gc.max_keys = MILLION;
    gc.create = create_nothing;
    rs_registry *g = NULL;
    usage before_generic = usage_now();
    bench_check(rs_registry_new(&gc, &g), "rs_registry_new");
    bench_progress progress;
    bench_progress_start(&progress, "  filling the generic registry", MILLION, false);
    for (unsigned i = 0; i < MILLION; i++) {
        rs_registry_entry *e;
        bench_check(rs_registry_get(g, keys[i], key_len[i], &e), "rs_registry_get");
        rs_registry_release(g, e);
        if (i % PROGRESS_EVERY == 0) {
            bench_progress_update(&progress, i);
        }
    }
    bench_progress_finish(&progress);
    print_memory("generic registry entry alone, 12-byte keys", before_generic, usage_now(),
                 MILLION);
    rs_registry_free(g);
    free(keys);
    return 0;
}
