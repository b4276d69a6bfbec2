/* Generic registry: validation, one value per key, exact LRU eviction with
 * one shard and the max_keys bound with many, references that outlive
 * eviction and removal, callbacks that re-enter the registry, allocation
 * failure, growth to many keys, holding budgets, and a stress test where
 * threads use entries while others force evictions (run under ASan and
 * TSan by tools/test). */
#include "support/fault_alloc.h"
#include "support/testing.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/budget.h"
#include "resilience/registry.h"

#define ALIVE UINT64_C(0xA11CE)
#define DEAD UINT64_C(0xDEAD)

/* The values in these tests: the key they were made for, and a canary. */
typedef struct value {
    uint64_t magic;
    atomic_uint_fast64_t uses;
    size_t len;
    char key[32];
    unsigned serial;
} value;

typedef struct counts {
    atomic_uint created;
    atomic_uint destroyed;
    rs_registry *registry; /* for callbacks that re-enter it */
    int reenter;           /* create calls get() for the same key once */
    atomic_uint destroy_saw_count;
    atomic_uint bad_destroys; /* destroyed twice, or something never created */
} counts;

static int create_value(void *ctx, const void *key, size_t len, void **out)
{
    counts *c = ctx;
    if (len >= 3 && memcmp(key, "bad", 3) == 0) {
        return RS_E_INVAL;
    }
    if (len >= 3 && memcmp(key, "pos", 3) == 0) {
        return 5; /* not a status: treated as RS_E_INVAL */
    }
    value *v = calloc(1, sizeof *v);
    if (v == NULL || len > sizeof v->key) {
        free(v);
        return RS_E_NOMEM;
    }
    v->magic = ALIVE;
    atomic_init(&v->uses, 0);
    v->len = len;
    if (len > 0) {
        memcpy(v->key, key, len);
    }
    v->serial = atomic_fetch_add(&c->created, 1) + 1;
    if (c->reenter > 0) {
        /* Another "thread" creates the same key while we are creating it. */
        c->reenter--;
        rs_registry_entry *inner = NULL;
        assert_int_equal(rs_registry_get(c->registry, key, len, &inner), RS_OK);
        rs_registry_release(c->registry, inner);
    }
    *out = v;
    return RS_OK;
}

static void destroy_value(void *ctx, void *p)
{
    counts *c = ctx;
    value *v = p;
    /* No cmocka assertion here: destroy may run on any thread. */
    if (v->magic != ALIVE) {
        atomic_fetch_add(&c->bad_destroys, 1);
    }
    v->magic = DEAD;
    if (c->registry != NULL) {
        atomic_store(&c->destroy_saw_count, (unsigned)rs_registry_count(c->registry));
    }
    atomic_fetch_add(&c->destroyed, 1);
    free(v);
}

static void reset(counts *c)
{
    memset(c, 0, sizeof *c);
    atomic_init(&c->created, 0);
    atomic_init(&c->destroyed, 0);
    atomic_init(&c->destroy_saw_count, UINT32_MAX);
    atomic_init(&c->bad_destroys, 0);
}

/* The defaults with the counting callbacks of `c`. */
static rs_registry_config counting_config(counts *c)
{
    rs_registry_config cfg = RS_REGISTRY_CONFIG_DEFAULT;
    cfg.create = create_value;
    cfg.destroy = destroy_value;
    cfg.ctx = c;
    return cfg;
}

static rs_registry *make(counts *c, size_t max_keys, uint32_t shards)
{
    rs_registry_config cfg = counting_config(c);
    cfg.max_keys = max_keys;
    cfg.shards = shards;
    cfg.seed = 42;
    rs_registry *r = NULL;
    assert_int_equal(rs_registry_new(&cfg, &r), RS_OK);
    assert_non_null(r);
    c->registry = r;
    return r;
}

static value *get(rs_registry *r, const char *key, rs_registry_entry **e)
{
    assert_int_equal(rs_registry_get(r, key, strlen(key), e), RS_OK);
    value *v = rs_registry_entry_value(*e);
    assert_non_null(v);
    assert_int_equal(v->magic, ALIVE);
    assert_int_equal(v->len, strlen(key));
    assert_memory_equal(v->key, key, v->len);
    return v;
}

/* get + release; returns the value's serial (which creation made it). */
static unsigned touch(rs_registry *r, const char *key)
{
    rs_registry_entry *e;
    unsigned serial = get(r, key, &e)->serial;
    rs_registry_release(r, e);
    return serial;
}

static void rejects_invalid_configs(void **state)
{
    (void)state;
    counts c;
    reset(&c);
    rs_registry_config base = counting_config(&c);
    struct {
        rs_registry_config cfg;
        const char *names; /* what rs_last_error() must say */
    } bad[5];
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        bad[i].cfg = base;
    }
    bad[0].cfg.max_keys = 0;
    bad[0].names = "rs_registry_config.max_keys: 0, must be in [1, 4611686018427387903]";
    bad[1].cfg.create = NULL;
    bad[1].names = "rs_registry_config.create: NULL";
    bad[2].cfg.shards = 3;
    bad[2].names = "rs_registry_config.shards: 3, must be 0 or a power of two <= 256";
    bad[3].cfg.shards = 512;
    bad[3].names = "rs_registry_config.shards: 512";
    bad[4].cfg.shards = 6;
    bad[4].names = "rs_registry_config.shards: 6";
    fault_alloc_install();
    rs_registry *r = (rs_registry *)0x1;
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        RS_TEST_EXPECT_INVALID(rs_registry_config_validate(&bad[i].cfg), bad[i].names);
        RS_TEST_EXPECT_INVALID(rs_registry_new(&bad[i].cfg, &r), bad[i].names);
    }
    RS_TEST_EXPECT_INVALID(rs_registry_config_validate(NULL), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_registry_new(NULL, &r), "cfg: NULL");
    RS_TEST_EXPECT_INVALID(rs_registry_new(&base, NULL), "out: NULL");
    assert_ptr_equal(r, (rs_registry *)0x1);
    assert_int_equal(fault_alloc_total(), 0);
    fault_alloc_uninstall();

    const uint32_t good_shards[] = { 0, 1, 2, 64, 256 };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(good_shards); i++) {
        rs_registry_config ok = base;
        ok.shards = good_shards[i];
        assert_int_equal(rs_registry_config_validate(&ok), RS_OK);
        assert_int_equal(rs_registry_new(&ok, &r), RS_OK);
        rs_registry_free(r);
    }
}

/* Issue 12 items 14 and 17: max_keys above INT64_MAX / 2 was refused with
 * an RS_E_INVAL registry.h did not list, and the test took SIZE_MAX for
 * invalid, which is valid on 32-bit targets. The bound is
 * RS_REGISTRY_MAX_KEYS now, documented and named in rs_last_error(). */
static void max_keys_bound_is_documented(void **state)
{
    (void)state;
    counts c;
    reset(&c);
    rs_registry_config cfg = counting_config(&c);
    assert_true(RS_REGISTRY_MAX_KEYS == (uint64_t)INT64_MAX / 2);
#if SIZE_MAX > RS_REGISTRY_MAX_KEYS
    /* 64-bit targets: the bound and one past it. */
    rs_registry *r = (rs_registry *)0x1;
    const size_t too_many[] = { (size_t)RS_REGISTRY_MAX_KEYS + 1, SIZE_MAX };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(too_many); i++) {
        cfg.max_keys = too_many[i];
        RS_TEST_EXPECT_INVALID(rs_registry_new(&cfg, &r), "rs_registry_config.max_keys: ");
        assert_ptr_equal(r, (rs_registry *)0x1);
    }
    cfg.max_keys = (size_t)RS_REGISTRY_MAX_KEYS;
#else
    /* 32-bit targets: every size_t is below the bound. */
    cfg.max_keys = SIZE_MAX;
#endif
    rs_registry *big = NULL;
    assert_int_equal(rs_registry_new(&cfg, &big), RS_OK);
    assert_int_equal(touch(big, "k"), 1);
    assert_int_equal(rs_registry_count(big), 1);
    rs_registry_free(big);
}

static void check_documented_defaults(const rs_registry_config *d)
{
    assert_int_equal(d->max_keys, 10000);
    assert_null(d->create);
    assert_null(d->destroy);
    assert_null(d->ctx);
    assert_int_equal(d->shards, 0);
    assert_int_equal(d->seed, 0);
}

/* The brace initializer works where a compound literal cannot: a static. */
static const rs_registry_config static_defaults = RS_REGISTRY_CONFIG_INIT;

static void defaults_are_documented_values(void **state)
{
    (void)state;
    rs_registry_config d = RS_REGISTRY_CONFIG_DEFAULT;
    check_documented_defaults(&d);
    check_documented_defaults(&static_defaults);
}

static void one_value_per_key(void **state)
{
    (void)state;
    counts c;
    reset(&c);
    rs_registry *r = make(&c, 100, 0);
    rs_registry_entry *e1, *e2, *e3;
    value *v1 = get(r, "user-1", &e1);
    value *v2 = get(r, "user-1", &e2);
    value *v3 = get(r, "user-2", &e3);
    assert_ptr_equal(e1, e2);
    assert_ptr_equal(v1, v2);
    assert_true(v3 != v1);
    assert_int_equal(atomic_load(&c.created), 2);
    assert_int_equal(rs_registry_count(r), 2);
    rs_registry_release(r, e1);
    rs_registry_release(r, e2);
    rs_registry_release(r, e3);
    assert_int_equal(atomic_load(&c.destroyed), 0); /* still resident */

    /* Keys are bytes: NULs inside, prefixes and the empty key are distinct. */
    const char k1[] = { 'x', '\0', 'y' };
    const char k2[] = { 'x', '\0', 'z' };
    rs_registry_entry *a, *b, *p, *empty, *empty2;
    assert_int_equal(rs_registry_get(r, k1, 3, &a), RS_OK);
    assert_int_equal(rs_registry_get(r, k2, 3, &b), RS_OK);
    assert_int_equal(rs_registry_get(r, k1, 1, &p), RS_OK);
    assert_int_equal(rs_registry_get(r, NULL, 0, &empty), RS_OK);
    assert_int_equal(rs_registry_get(r, "", 0, &empty2), RS_OK);
    assert_true(a != b && a != p && b != p && empty != a);
    assert_ptr_equal(empty, empty2);
    rs_registry_release(r, a);
    rs_registry_release(r, b);
    rs_registry_release(r, p);
    rs_registry_release(r, empty);
    rs_registry_release(r, empty2);
    assert_int_equal(rs_registry_count(r), 6);

    rs_registry_entry *untouched = (rs_registry_entry *)0x1;
    RS_TEST_EXPECT_INVALID(rs_registry_get(r, NULL, 1, &untouched), "key: NULL with len 1");
    RS_TEST_EXPECT_INVALID(rs_registry_get(NULL, "a", 1, &untouched), "r: NULL");
    RS_TEST_EXPECT_INVALID(rs_registry_get(r, "a", 1, NULL), "entry: NULL");
#if SIZE_MAX > UINT32_MAX
    RS_TEST_EXPECT_INVALID(rs_registry_get(r, "a", (size_t)UINT32_MAX + 1, &untouched),
                           "len: 4294967296, must be <= 4294967295");
    assert_false(rs_registry_remove(r, "a", (size_t)UINT32_MAX + 1));
#endif
    assert_ptr_equal(untouched, (rs_registry_entry *)0x1);
    assert_null(rs_registry_entry_value(NULL));
    rs_registry_release(NULL, e1);
    rs_registry_release(r, NULL);
    assert_false(rs_registry_remove(NULL, "a", 1));
    assert_false(rs_registry_remove(r, NULL, 1));
    assert_int_equal(rs_registry_count(NULL), 0);
    assert_int_equal(rs_registry_evictions(NULL), 0);
    assert_int_equal(atomic_load(&c.created), 6);
    rs_registry_free(r);
    assert_int_equal(atomic_load(&c.destroyed), 6); /* free destroys the resident */
    rs_registry_free(NULL);
}

static void evicts_the_least_recently_used(void **state)
{
    (void)state;
    counts c;
    reset(&c);
    rs_registry *r = make(&c, 3, 1);
    unsigned a = touch(r, "a"), b = touch(r, "b");
    unsigned k = touch(r, "c");
    assert_int_equal(touch(r, "a"), a); /* order now b, c, a */
    unsigned d = touch(r, "d");         /* evicts b */
    assert_int_equal(rs_registry_count(r), 3);
    assert_int_equal(rs_registry_evictions(r), 1);
    assert_int_equal(atomic_load(&c.destroyed), 1);
    assert_int_equal(touch(r, "c"), k);
    assert_int_equal(touch(r, "a"), a);
    assert_int_equal(touch(r, "d"), d);
    unsigned b2 = touch(r, "b"); /* made again; evicts c */
    assert_true(b2 != b);
    assert_int_equal(touch(r, "a"), a);
    assert_int_equal(touch(r, "d"), d);
    assert_true(touch(r, "c") != k); /* evicts b2 */
    assert_int_equal(rs_registry_evictions(r), 3);
    assert_int_equal(atomic_load(&c.created), 6);
    assert_int_equal(atomic_load(&c.destroyed), 3);
    rs_registry_free(r);
    assert_int_equal(atomic_load(&c.destroyed), 6);
}

static void held_entries_outlive_eviction_and_removal(void **state)
{
    (void)state;
    counts c;
    reset(&c);
    rs_registry *r = make(&c, 1, 0);
    rs_registry_entry *ea, *eb, *ea2;
    value *a = get(r, "a", &ea);
    get(r, "b", &eb); /* evicts a, which is held */
    assert_int_equal(rs_registry_evictions(r), 1);
    assert_int_equal(atomic_load(&c.destroyed), 0);
    atomic_fetch_add(&a->uses, 1); /* still ours */
    assert_int_equal(a->magic, ALIVE);
    value *a2 = get(r, "a", &ea2); /* a new value for the key; evicts b */
    assert_true(a2 != a);
    assert_int_equal(rs_registry_count(r), 1);
    rs_registry_release(r, ea);
    assert_int_equal(atomic_load(&c.destroyed), 1); /* the last reference to the old a */
    rs_registry_release(r, eb);
    assert_int_equal(atomic_load(&c.destroyed), 2);
    /* Removal: the holder keeps its value; the next get makes a new one. */
    assert_true(rs_registry_remove(r, "a", 1));
    assert_false(rs_registry_remove(r, "a", 1));
    assert_int_equal(rs_registry_count(r), 0);
    assert_int_equal(atomic_load(&c.destroyed), 2);
    assert_int_equal(a2->magic, ALIVE);
    rs_registry_release(r, ea2);
    assert_int_equal(atomic_load(&c.destroyed), 3);
    touch(r, "a");
    assert_int_equal(atomic_load(&c.created), 4);
    assert_int_equal(rs_registry_evictions(r), 2); /* removals are not evictions */
    assert_false(rs_registry_remove(r, "zzz", 3));
    rs_registry_free(r);
    assert_int_equal(atomic_load(&c.destroyed), 4);
}

static void create_errors_add_nothing(void **state)
{
    (void)state;
    counts c;
    reset(&c);
    rs_registry *r = make(&c, 10, 0);
    rs_registry_entry *e = (rs_registry_entry *)0x1;
    assert_int_equal(rs_registry_get(r, "bad-key", 7, &e), RS_E_INVAL);
    RS_TEST_EXPECT_INVALID(rs_registry_get(r, "pos", 3, &e),
                           "rs_registry_config.create: returned 5");
    assert_ptr_equal(e, (rs_registry_entry *)0x1);
    assert_int_equal(rs_registry_count(r), 0);
    assert_int_equal(atomic_load(&c.created), 0);
    rs_registry_free(r);
}

/* The create callback runs with no lock held: here it re-enters get() for
 * the key it is creating, which is what a concurrent creator looks like.
 * The registry keeps the first value linked and destroys the other. */
static void concurrent_creation_keeps_one_value(void **state)
{
    (void)state;
    counts c;
    reset(&c);
    rs_registry *r = make(&c, 10, 1);
    c.reenter = 1;
    rs_registry_entry *e;
    value *v = get(r, "k", &e);
    assert_int_equal(atomic_load(&c.created), 2);
    assert_int_equal(atomic_load(&c.destroyed), 1); /* the outer one, never linked */
    assert_int_equal(v->serial, 2);                 /* the inner creation won */
    assert_int_equal(rs_registry_count(r), 1);
    rs_registry_release(r, e);
    assert_int_equal(touch(r, "k"), 2);
    /* Destroy also runs with no lock held: it could read the count. */
    assert_true(rs_registry_remove(r, "k", 1));
    assert_int_equal(atomic_load(&c.destroy_saw_count), 0);
    rs_registry_free(r);
}

static void many_shards_stay_within_max_keys(void **state)
{
    (void)state;
    counts c;
    reset(&c);
    rs_registry *r = make(&c, 5, 16);
    char key[16];
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%u", i);
        unsigned serial = touch(r, key);
        assert_int_equal(touch(r, key), serial); /* the newest key stays */
        assert_true(rs_registry_count(r) <= 5);
    }
    assert_int_equal(rs_registry_count(r), 5);
    assert_int_equal(rs_registry_evictions(r), 995);
    assert_int_equal(atomic_load(&c.destroyed), 995);
    rs_registry_free(r);
    assert_int_equal(atomic_load(&c.destroyed), 1000);
}

static void grows_to_many_keys(void **state)
{
    (void)state;
    counts c;
    reset(&c);
    enum { KEYS = 20000 };
    rs_registry *r = make(&c, KEYS, 0);
    char key[16];
    static unsigned serials[KEYS];
    for (unsigned i = 0; i < KEYS; i++) {
        snprintf(key, sizeof key, "user-%u", i);
        serials[i] = touch(r, key);
    }
    assert_int_equal(rs_registry_count(r), KEYS);
    for (unsigned i = 0; i < KEYS; i++) {
        snprintf(key, sizeof key, "user-%u", i);
        assert_int_equal(touch(r, key), serials[i]);
    }
    assert_int_equal(rs_registry_evictions(r), 0);
    assert_int_equal(atomic_load(&c.created), KEYS);
    rs_registry_free(r);
    assert_int_equal(atomic_load(&c.destroyed), KEYS);
}

static counts sweep_counts;

static int create_registry(void *ctx, void **object)
{
    (void)ctx;
    rs_registry_config cfg = counting_config(&sweep_counts);
    cfg.shards = 4;
    return rs_registry_new(&cfg, (rs_registry **)object);
}

static void destroy_registry(void *object) { rs_registry_free(object); }

static void allocation_failure_is_clean(void **state)
{
    (void)state;
    reset(&sweep_counts);
    assert_int_equal(fault_alloc_sweep(create_registry, destroy_registry, NULL), 1);

    /* get: the entry, then the shard's first bucket array. The value made
     * by create is destroyed when the entry cannot be added. */
    rs_registry *r = NULL;
    fault_alloc_install();
    assert_int_equal(create_registry(NULL, (void **)&r), RS_OK);
    size_t live = fault_alloc_live();
    rs_registry_entry *e = (rs_registry_entry *)0x1;
    for (size_t n = 1; n <= 2; n++) {
        fault_alloc_fail_at(n);
        assert_int_equal(rs_registry_get(r, "key", 3, &e), RS_E_NOMEM);
        fault_alloc_fail_at(0);
        assert_ptr_equal(e, (rs_registry_entry *)0x1);
        assert_int_equal(fault_alloc_live(), live);
        assert_int_equal(atomic_load(&sweep_counts.destroyed), n);
    }
    assert_int_equal(rs_registry_get(r, "key", 3, &e), RS_OK);
    rs_registry_release(r, e);
    assert_int_equal(rs_registry_count(r), 1);
    /* A failed growth of the bucket array is harmless: chains get longer. */
    char key[16];
    for (unsigned i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%u", i);
        fault_alloc_fail_at(i % 2 + 1);
        int rc = rs_registry_get(r, key, strlen(key), &e);
        fault_alloc_fail_at(0);
        if (rc == RS_OK) {
            rs_registry_release(r, e);
        } else {
            assert_int_equal(rc, RS_E_NOMEM);
        }
    }
    for (unsigned i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%u", i);
        assert_int_equal(rs_registry_get(r, key, strlen(key), &e), RS_OK);
        assert_int_equal(((value *)rs_registry_entry_value(e))->magic, ALIVE);
        rs_registry_release(r, e);
    }
    assert_int_equal(rs_registry_count(r), 201);
    rs_registry_free(r);
    assert_int_equal(fault_alloc_live(), 0);
    fault_alloc_uninstall();
    assert_int_equal(atomic_load(&sweep_counts.created), atomic_load(&sweep_counts.destroyed));
}

/* The registry holds any object: here budgets, with the tier chosen from
 * the key, as it would hold token buckets or breakers. */
static int create_budget(void *ctx, const void *key, size_t len, void **out)
{
    (void)ctx;
    rs_budget_config cfg = RS_BUDGET_CONFIG_DEFAULT;
    if (len > 5 && memcmp(key, "paid:", 5) == 0) {
        cfg.max_per_window = 1000000;
    }
    return rs_budget_new(&cfg, NULL, (rs_budget **)out);
}

static void free_budget(void *ctx, void *b)
{
    (void)ctx;
    rs_budget_free(b);
}

static void holds_any_object(void **state)
{
    (void)state;
    rs_registry_config cfg = RS_REGISTRY_CONFIG_DEFAULT;
    cfg.create = create_budget;
    cfg.destroy = free_budget;
    rs_registry *r = NULL;
    assert_int_equal(rs_registry_new(&cfg, &r), RS_OK);
    rs_registry_entry *paid, *free_user;
    assert_int_equal(rs_registry_get(r, "paid:ada", 8, &paid), RS_OK);
    assert_int_equal(rs_registry_get(r, "free:bob", 8, &free_user), RS_OK);
    assert_int_equal(rs_budget_remaining(rs_registry_entry_value(paid)), 1000000);
    assert_int_equal(rs_budget_remaining(rs_registry_entry_value(free_user)), 50000);
    rs_registry_release(r, paid);
    rs_registry_release(r, free_user);
    rs_registry_free(r);
}

#if RS_TEST_THREADS
/* Stress: user threads get entries from a small hot set, keep them while
 * they work (checking the canary before and after), sometimes two at once;
 * evictor threads meanwhile insert keys from a large space and remove hot
 * keys, so a held entry is evicted under its holder all the time. ASan
 * reports any use after free, TSan any race; the counts prove every value
 * was destroyed exactly once. */
enum { STRESS_OPS = 40000 };

typedef struct stress {
    rs_registry *r;
    counts *c;
    atomic_uint next_thread;
    atomic_uint_fast64_t failures;
} stress;

static stress the_stress;

static uint64_t next_random(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s >> 17;
}

/* rs_registry_get from a stress thread: a failure is counted (the test
 * asserts none happened) and the caller skips its work. */
static bool stress_get(stress *s, const char *key, rs_registry_entry **e)
{
    if (rs_registry_get(s->r, key, strlen(key), e) != RS_OK) {
        atomic_fetch_add(&s->failures, 1);
        return false;
    }
    return true;
}

static void use_hot_key(stress *s, uint64_t *seed)
{
    char key[8];
    snprintf(key, sizeof key, "hot%u", (unsigned)(next_random(seed) % 8));
    rs_registry_entry *e;
    if (!stress_get(s, key, &e)) {
        return;
    }
    value *v = rs_registry_entry_value(e);
    bool ok = v->magic == ALIVE && v->len == strlen(key) && memcmp(v->key, key, v->len) == 0;
    for (unsigned spin = 0; spin < next_random(seed) % 64; spin++) {
        atomic_fetch_add_explicit(&v->uses, 1, memory_order_relaxed);
    }
    ok = ok && v->magic == ALIVE;
    if (!ok) {
        atomic_fetch_add(&s->failures, 1);
    }
    rs_registry_release(s->r, e);
}

static void churn(stress *s, uint64_t *seed)
{
    uint64_t x = next_random(seed);
    char key[16];
    if (x % 16 == 0) {
        snprintf(key, sizeof key, "hot%u", (unsigned)(x / 16 % 8));
        (void)rs_registry_remove(s->r, key, strlen(key));
        return;
    }
    snprintf(key, sizeof key, "cold%u", (unsigned)(x % 100000));
    rs_registry_entry *e;
    if (!stress_get(s, key, &e)) {
        return;
    }
    rs_registry_release(s->r, e);
}

static void *stress_thread(void *arg)
{
    stress *s = arg;
    unsigned id = atomic_fetch_add(&s->next_thread, 1);
    uint64_t seed = 1000 + id;
    for (int i = 0; i < STRESS_OPS; i++) {
        if (id % 2 == 0) {
            /* A user, sometimes holding one entry across another's use. */
            if (i % 5 == 0) {
                rs_registry_entry *held;
                if (!stress_get(s, "hot0", &held)) {
                    continue;
                }
                use_hot_key(s, &seed);
                if (((value *)rs_registry_entry_value(held))->magic != ALIVE) {
                    atomic_fetch_add(&s->failures, 1);
                }
                rs_registry_release(s->r, held);
            } else {
                use_hot_key(s, &seed);
            }
        } else {
            churn(s, &seed);
        }
    }
    return NULL;
}

static void stress_with(uint32_t shards, size_t max_keys)
{
    counts c;
    reset(&c);
    the_stress.r = make(&c, max_keys, shards);
    the_stress.c = &c;
    atomic_store(&the_stress.next_thread, 0);
    atomic_store(&the_stress.failures, 0);
    rs_test_run_threads(4, stress_thread, &the_stress);
    assert_int_equal(atomic_load(&the_stress.failures), 0);
    assert_true(rs_registry_count(the_stress.r) <= max_keys);
    assert_true(rs_registry_evictions(the_stress.r) > STRESS_OPS / 2);
    assert_int_equal(atomic_load(&c.created) - atomic_load(&c.destroyed),
                     rs_registry_count(the_stress.r));
    c.registry = NULL;
    rs_registry_free(the_stress.r);
    assert_int_equal(atomic_load(&c.created), atomic_load(&c.destroyed));
    assert_int_equal(atomic_load(&c.bad_destroys), 0);
}

static void eviction_under_concurrent_use(void **state)
{
    (void)state;
    stress_with(1, 4);  /* one lock: exact LRU */
    stress_with(4, 6);  /* evictions that cross shards */
}
#endif

/* Hits, misses, evictions and removals, summed over the shards. */
static void metrics_sum_the_shards(void **state)
{
    (void)state;
    counts c = { 0 };
    rs_registry *r = make(&c, 100, 8);
    char key[8];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 150; i++) { /* 50 evicted in the first round */
            snprintf(key, sizeof key, "k%d", i);
            rs_registry_entry *e = NULL;
            assert_int_equal(rs_registry_get(r, key, strlen(key), &e), RS_OK);
            rs_registry_release(r, e);
        }
    }
    assert_true(rs_registry_remove(r, "k149", 4));
    rs_registry_snapshot s;
    assert_int_equal(rs_registry_metrics(r, &s), RS_OK);
    assert_int_equal(s.keys, rs_registry_count(r));
    assert_int_equal(s.max_keys, 100);
    assert_int_equal(s.hits + s.misses, 300);
    assert_int_equal(s.misses, atomic_load(&c.created));
    assert_int_equal(s.evictions, rs_registry_evictions(r));
    assert_true(s.evictions >= 50);
    assert_int_equal(s.removals, 1);
    assert_int_equal(rs_registry_metrics(NULL, &s), RS_E_INVAL);
    assert_int_equal(rs_registry_metrics(r, NULL), RS_E_INVAL);
    rs_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_invalid_configs),
        cmocka_unit_test(max_keys_bound_is_documented),
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test(one_value_per_key),
        cmocka_unit_test(evicts_the_least_recently_used),
        cmocka_unit_test(held_entries_outlive_eviction_and_removal),
        cmocka_unit_test(create_errors_add_nothing),
        cmocka_unit_test(concurrent_creation_keeps_one_value),
        cmocka_unit_test(many_shards_stay_within_max_keys),
        cmocka_unit_test(grows_to_many_keys),
        cmocka_unit_test(allocation_failure_is_clean),
        cmocka_unit_test(holds_any_object),
        cmocka_unit_test(metrics_sum_the_shards),
#if RS_TEST_THREADS
        cmocka_unit_test(eviction_under_concurrent_use),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
