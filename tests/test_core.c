/* The shared core's internal helpers (saturating arithmetic, RNG, locks).
 * This is the one test that reaches past the public API: it links the static
 * library, where the rs__ helpers are visible. */
#include "support/testing.h"

#include <math.h>
#include <string.h>

#if RS_TEST_THREADS
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "core/alloc.h"
#include "core/arith.h"
#include "core/atomics.h"
#include "core/contention.h"
#include "core/gcra.h"
#include "core/lock.h"
#include "core/rng.h"
#include "core/tally.h"
#include "resilience/shm.h"
#include "resilience/token_bucket.h"

static void saturating_add_sub_mul(void **state)
{
    (void)state;
    assert_int_equal(rs__sat_add(1, 2), 3);
    assert_int_equal(rs__sat_add(UINT64_MAX - 1, 1), UINT64_MAX);
    assert_int_equal(rs__sat_add(UINT64_MAX - 1, 2), UINT64_MAX);
    assert_int_equal(rs__sat_add(UINT64_MAX, UINT64_MAX), UINT64_MAX);
    assert_int_equal(rs__sat_sub(5, 3), 2);
    assert_int_equal(rs__sat_sub(3, 5), 0);
    assert_int_equal(rs__sat_sub(0, UINT64_MAX), 0);
    assert_int_equal(rs__sat_mul(1u << 31, 1u << 31), UINT64_C(1) << 62);
    assert_int_equal(rs__sat_mul(UINT64_C(1) << 32, UINT64_C(1) << 32), UINT64_MAX);
    assert_int_equal(rs__sat_mul(0, UINT64_MAX), 0);
}

static void doubles_convert_without_undefined_behaviour(void **state)
{
    (void)state;
    assert_int_equal(rs__sat_from_double(NAN), 0);
    assert_int_equal(rs__sat_from_double(-1.0), 0);
    assert_int_equal(rs__sat_from_double(-INFINITY), 0);
    assert_int_equal(rs__sat_from_double(INFINITY), UINT64_MAX);
    assert_int_equal(rs__sat_from_double(1e300), UINT64_MAX);
    assert_int_equal(rs__sat_from_double(18446744073709551616.0), UINT64_MAX);
    assert_int_equal(rs__sat_from_double(12345.9), 12345);
    assert_true(rs__is_finite_positive(0.5));
    assert_false(rs__is_finite_positive(0.0));
    assert_false(rs__is_finite_positive(NAN));
    assert_false(rs__is_finite_positive(INFINITY));
}

static void mul_div_is_exact_in_128_bits(void **state)
{
    (void)state;
    assert_int_equal(rs__mul_div(UINT64_MAX, UINT64_MAX, UINT64_MAX), UINT64_MAX);
    assert_int_equal(rs__mul_div(UINT64_MAX, 3, 4), UINT64_C(0xBFFFFFFFFFFFFFFF));
    assert_int_equal(rs__mul_div(UINT64_MAX, 2, 1), UINT64_MAX);
    assert_int_equal(rs__mul_div(7, 3, 2), 10);
    assert_int_equal(rs__mul_div_ceil(7, 3, 2), 11);
    assert_int_equal(rs__mul_div_ceil(8, 3, 2), 12);
    assert_int_equal(rs__mul_div_ceil(0, 3, 2), 0);
    assert_int_equal(rs__mul_div_ceil(UINT64_MAX, 1, 1), UINT64_MAX);
    assert_int_equal(rs__mul_div_ceil(UINT64_MAX, 2, 3), UINT64_C(0xAAAAAAAAAAAAAAAA));
    assert_int_equal(rs__mul_div_ceil(UINT64_MAX, 2, 2), UINT64_MAX);
    assert_int_equal(rs__mul_div(UINT64_C(1) << 63, 4, 2), UINT64_MAX); /* quotient 2^64 */
    assert_int_equal(rs__mul_div(UINT64_C(1) << 63, 4, 3), UINT64_C(0xAAAAAAAAAAAAAAAA));
    assert_int_equal(rs__mul_div_ceil(UINT64_MAX, UINT64_MAX, 2), UINT64_MAX);
}

/* q * d + r == w, with r < d: the division undone with the multiplication. */
static void assert_division_undone(rs__wide w, uint64_t d, uint64_t q, uint64_t r)
{
    assert_true(r < d);
    rs__wide back = rs__wide_mul_portable(q, d);
    uint64_t lo = back.lo + r;
    assert_int_equal(back.hi + (lo < r), w.hi);
    assert_int_equal(lo, w.lo);
}

/* The two-word arithmetic that 32-bit targets use is compiled everywhere:
 * known answers on every target, and on those with a native 128-bit type
 * agreement with it on seeded random operands, including the divisors
 * whose digit estimates need correcting. */
static void portable_wide_arithmetic_is_exact(void **state)
{
    (void)state;
    rs__wide w = rs__wide_mul_portable(UINT64_MAX, UINT64_MAX); /* 2^128 - 2^65 + 1 */
    assert_int_equal(w.hi, UINT64_MAX - 1);
    assert_int_equal(w.lo, 1);
    w = rs__wide_mul_portable(UINT64_C(0x123456789ABCDEF0), UINT64_C(0xFEDCBA9876543210));
    assert_int_equal(w.hi, UINT64_C(0x121FA00AD77D7422));
    assert_int_equal(w.lo, UINT64_C(0x236D88FE5618CF00));
    uint64_t r;
    assert_int_equal(rs__wide_divmod_portable((rs__wide){ UINT64_MAX - 1, 1 }, UINT64_MAX, &r),
                     UINT64_MAX);
    assert_int_equal(r, 0);
    assert_int_equal(rs__wide_divmod_portable((rs__wide){ 0, 7 }, 2, &r), 3);
    assert_int_equal(r, 1);
    assert_int_equal(rs__wide_divmod_portable((rs__wide){ 1, 0 }, 3, &r),
                     UINT64_C(0x5555555555555555));
    assert_int_equal(r, 1);

    uint64_t rng = 2024;
    for (int i = 0; i < 200000; i++) {
        /* Operands of every size, from a few bits to all 64. */
        uint64_t a = rs_test_random(&rng) >> (rs_test_random(&rng) % 64);
        uint64_t b = rs_test_random(&rng) >> (rs_test_random(&rng) % 64);
        uint64_t d = rs_test_random(&rng) >> (rs_test_random(&rng) % 64);
        d += d == 0;
        w = rs__wide_mul_portable(a, b);
        rs__wide native = rs__wide_mul(a, b);
        assert_int_equal(w.hi, native.hi);
        assert_int_equal(w.lo, native.lo);
        if (w.hi >= d) {
            w.hi %= d; /* a dividend whose quotient fits */
        }
        uint64_t q = rs__wide_divmod_portable(w, d, &r);
        assert_division_undone(w, d, q, r);
        uint64_t native_r;
        assert_int_equal(q, rs__wide_divmod(w, d, &native_r));
        assert_int_equal(r, native_r);
#ifdef __SIZEOF_INT128__
        rs__native_u128 product = (rs__native_u128)a * b;
        assert_true(native.hi == (uint64_t)(product >> 64) && native.lo == (uint64_t)product);
        rs__native_u128 n = (rs__native_u128)w.hi << 64 | w.lo;
        assert_true(q == (uint64_t)(n / d) && r == (uint64_t)(n % d));
#endif
    }
}

static void random_scaling_covers_the_range(void **state)
{
    (void)state;
    assert_int_equal(rs__scale_random(0, 100), 0);
    assert_int_equal(rs__scale_random(UINT64_MAX, 100), 100);
    assert_int_equal(rs__scale_random(UINT64_MAX, 0), 0);
    assert_int_equal(rs__scale_random(12345, UINT64_MAX), 12345);
    assert_int_equal(rs__scale_random(UINT64_MAX, UINT64_MAX), UINT64_MAX);
}

static void rng_is_reproducible_and_uniform(void **state)
{
    (void)state;
    rs__rng a, b, c;
    rs__rng_seed(&a, 42);
    rs__rng_seed(&b, 42);
    rs__rng_seed(&c, 43);
    int same_as_other_seed = 0;
    double sum = 0;
    unsigned buckets[16] = { 0 };
    const int n = 160000;
    for (int i = 0; i < n; i++) {
        uint64_t x = rs__rng_next(&a);
        assert_int_equal(x, rs__rng_next(&b));
        same_as_other_seed += x == rs__rng_next(&c);
        sum += (double)(x >> 11) * 0x1p-53;
        buckets[x >> 60]++;
    }
    assert_true(same_as_other_seed < 2);
    assert_true(fabs(sum / n - 0.5) < 0.005);
    for (int i = 0; i < 16; i++) {
        assert_true(buckets[i] > 9500 && buckets[i] < 10500);
    }
}

static void os_seeds_differ(void **state)
{
    (void)state;
    rs__rng a, b;
    rs__rng_seed(&a, 0);
    rs__rng_seed(&b, 0);
    assert_int_not_equal(rs__rng_next(&a), rs__rng_next(&b));
    assert_int_not_equal(rs__os_seed(), 0);
}

static void atomic_helpers(void **state)
{
    (void)state;
    rs__atomic_u64 word;
    atomic_init(&word, 10);
    assert_int_equal(rs__atomic_max(&word, 5), 10);
    assert_int_equal(rs__atomic_max(&word, 50), 50);
    rs__counter_add(&word, 2);
    assert_int_equal(rs__counter_get(&word), 52);
}

/* rs__contended: only a recent write of our own, overwritten by someone
 * else, is contention. */
static void contention_is_a_foreign_write_over_our_recent_one(void **state)
{
    (void)state;
    static rs__atomic_u64 word, other_word;
    const uint64_t t = 1000000;
    rs__note_write(&word, 5, t);
    assert_false(rs__contended(&word, 5, t + 10));           /* still ours */
    assert_true(rs__contended(&word, 6, t + 10));            /* overwritten */
    assert_true(rs__contended(&word, 6, t + RS__CONTENTION_WINDOW_NS - 1));
    assert_false(rs__contended(&word, 6, t + RS__CONTENTION_WINDOW_NS)); /* not recent */
    assert_false(rs__contended(&word, 6, t - 1));            /* time went backwards */
    assert_false(rs__contended(&other_word, 6, t + 10));     /* not the word we wrote */
    rs__note_write(&other_word, 6, t + 20);
    assert_false(rs__contended(&word, 6, t + 30));           /* we moved on */
}

#if RS_TEST_THREADS
static void *contended_from_a_fresh_thread(void *arg)
{
    /* The memory is per thread: this thread has written nothing. */
    return rs__contended(arg, 6, 1000010) ? arg : NULL;
}

static void contention_memory_is_per_thread(void **state)
{
    (void)state;
    static rs__atomic_u64 word;
    rs__note_write(&word, 5, 1000000);
    assert_true(rs__contended(&word, 6, 1000010));
    rs_test_run_threads(1, contended_from_a_fresh_thread, &word);
}
#endif

/* The GCRA of the hand-off tests: 1 ms per token, a burst of 10. */
static rs__gcra ten_tokens_a_ms_apart(void)
{
    rs__gcra g;
    assert_int_equal(rs__gcra_init(&g, 1000.0, 10), RS_OK);
    return g;
}

/* A GCRA attempt that finds its own recent write overwritten hands the line
 * off once (no grant, the word reloaded), then takes as usual. */
static void gcra_attempt_hands_off_once_under_contention(void **state)
{
    (void)state;
    static rs__atomic_u64 word;
    const rs__gcra g = ten_tokens_a_ms_apart();
    const uint64_t now = UINT64_C(5000000000);
    atomic_store(&word, now);           /* TAT = now: full bucket */
    rs__note_write(&word, now - 1, now - 100); /* ours, since overwritten */

    bool handed_off = false;
    uint64_t seen = now;
    rs__gcra_verdict v;
    assert_false(rs__gcra_attempt(&word, &seen, 0, &g, 2, 0, now, &handed_off, &v));
    assert_true(handed_off);
    assert_int_equal(seen, now);
    assert_int_equal(atomic_load(&word), now); /* nothing taken */

    assert_true(rs__gcra_attempt(&word, &seen, 0, &g, 2, 0, now, &handed_off, &v));
    assert_true(v.taken);
    assert_int_equal(atomic_load(&word), now + 2000000);
    assert_false(rs__contended(&word, now + 2000000, now)); /* remembered as ours */

    /* Refusals never hand off: they write nothing. 2 + 9 tokens > 10. */
    rs__note_write(&word, 0, now);
    handed_off = false;
    seen = atomic_load(&word);
    assert_true(rs__gcra_attempt(&word, &seen, 0, &g, 9, 0, now, &handed_off, &v));
    assert_false(v.taken);
    assert_int_equal(v.wait_ns, 1000000);
    assert_false(handed_off);
}

/* The word changes while we hand the line off (the other thread drains the
 * bucket): the attempt after the spin must judge the new value, not take
 * on the strength of the verdict made before it. */
static void gcra_hand_off_rejudges_what_changed_meanwhile(void **state)
{
    (void)state;
    static rs__atomic_u64 word;
    const rs__gcra g = ten_tokens_a_ms_apart();
    const uint64_t now = UINT64_C(5000000000);
    uint64_t seen = now;                          /* we read a full bucket */
    atomic_store(&word, now + g.tau_ns);          /* ...another thread then drained it */
    rs__note_write(&word, now - 1, now - 100);    /* over our recent write */
    bool handed_off = false;
    rs__gcra_verdict v;
    while (!rs__gcra_attempt(&word, &seen, 0, &g, 1, 0, now, &handed_off, &v)) {
    }
    assert_true(handed_off);
    assert_false(v.taken);                        /* refused: nothing left */
    assert_int_equal(atomic_load(&word), now + g.tau_ns);
}

/* The spin's count from the fastest timed sample of 64 pauses: scaled to
 * RS__CONTENTION_SPIN_NS, bounded both ways, the sample's own count when the
 * clock could not see it; calibrating stores what it returns. */
static void hand_off_calibrates_its_spin(void **state)
{
    (void)state;
    assert_int_equal(RS__CONTENTION_SPIN_NS, 1000);
    assert_int_equal(rs__hand_off_pauses_for(640), 100);   /* 10 ns per pause */
    assert_int_equal(rs__hand_off_pauses_for(3200), 20);   /* 50 ns per pause */
    assert_int_equal(rs__hand_off_pauses_for(0), 64);      /* clock too coarse */
    assert_int_equal(rs__hand_off_pauses_for(64000), 8);   /* preempted: floor */
    assert_int_equal(rs__hand_off_pauses_for(1), 8192);    /* next to free: cap */

    uint32_t pauses = rs__calibrate_hand_off();
    assert_int_equal(atomic_load(&rs__hand_off_pauses), pauses);
    uint64_t before = rs__my_last_write.hand_offs;
    rs__hand_off_line();
    assert_int_equal(rs__my_last_write.hand_offs, before + 1);
}

static void aligned_allocation(void **state)
{
    (void)state;
    for (size_t size = 1; size <= 200; size += 37) {
        unsigned char *p = rs__malloc_aligned(size, 64);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        memset(p, 0xab, size); /* the whole size is ours (ASan checks) */
        rs__free_aligned(p);
    }
    assert_null(rs__malloc_aligned(8, 48));                   /* not a power of two */
    assert_null(rs__malloc_aligned(8, 2));                    /* below a pointer */
    assert_null(rs__malloc_aligned(SIZE_MAX - 8, 64));        /* overflow */
    rs__free_aligned(NULL);
}

/* Rewrites and frees keep a thread's own writes recognisable as its own. */
static void contention_memory_follows_our_own_changes(void **state)
{
    (void)state;
    static rs__atomic_u64 word, other;
    rs__note_write(&word, 5, 1000);
    rs__note_rewrite(&word, 9);                 /* e.g. a refund */
    assert_false(rs__contended(&word, 9, 1010));
    assert_true(rs__contended(&word, 5, 1010));
    rs__note_rewrite(&other, 1);                /* not our last word: ignored */
    assert_false(rs__contended(&word, 9, 1010));
    rs__forget_writes_within(&other, sizeof other); /* not ours: kept */
    assert_true(rs__contended(&word, 5, 1010));
    static rs__atomic_u64 object[4]; /* an object whose third word we wrote */
    rs__note_write(&object[2], 5, 1000);
    rs__forget_writes_within(object, 2 * sizeof object[0]); /* ends before it */
    assert_true(rs__contended(&object[2], 6, 1010));
    rs__forget_writes_within(&object[3], sizeof object[3]); /* starts after it */
    assert_true(rs__contended(&object[2], 6, 1010));
    rs__forget_writes_within(object, sizeof object);
    assert_false(rs__contended(&object[2], 6, 1010));
}

#if RS_TEST_THREADS
typedef struct bucket_at {
    rs_token_bucket *tb;
    uint64_t now;
} bucket_at;

static void *grant_once(void *arg)
{
    bucket_at *b = arg;
    return rs_token_bucket_try_acquire_at(b->tb, 1, b->now) ? NULL : arg;
}

/* Through the public API: only another thread's grant over ours makes us
 * spin, once; our own rate changes and a new bucket at a freed one's
 * address never do. */
static void token_bucket_hands_off_only_to_other_threads(void **state)
{
    (void)state;
    rs_token_bucket_config cfg = { .rate = 1e6, .burst = 1000000 };
    static bucket_at b;
    b.now = UINT64_C(1000000000000);
    assert_int_equal(rs_token_bucket_new(&cfg, NULL, &b.tb), RS_OK);
    const uint64_t before = rs__my_last_write.hand_offs;

    assert_true(rs_token_bucket_try_acquire_at(b.tb, 1, b.now));
    assert_int_equal(rs_token_bucket_set_rate_at(b.tb, 2e6, 1000000, b.now), RS_OK);
    assert_true(rs_token_bucket_try_acquire_at(b.tb, 1, b.now));
    assert_int_equal(rs__my_last_write.hand_offs, before);

    rs_test_run_threads(1, grant_once, &b); /* over our grant of a moment ago */
    assert_true(rs_token_bucket_try_acquire_at(b.tb, 1, b.now)); /* a second spin: hangs */
    assert_int_equal(rs__my_last_write.hand_offs, before + 1);
    assert_true(rs_token_bucket_try_acquire_at(b.tb, 1, b.now)); /* we wrote last */
    assert_int_equal(rs__my_last_write.hand_offs, before + 1);
    /* Exact throughout: 5 tokens taken at one instant. */
    assert_true(rs_token_bucket_available_at(b.tb, b.now) == 1000000.0 - 5.0);
    /* Refusals never spin. */
    rs_test_run_threads(1, grant_once, &b);
    assert_false(rs_token_bucket_try_acquire_at(b.tb, 2000000, b.now));
    assert_int_equal(rs__my_last_write.hand_offs, before + 1);

    /* ...but the refused thread's earlier grant still counts. */
    assert_true(rs_token_bucket_try_acquire_at(b.tb, 1, b.now));
    assert_int_equal(rs__my_last_write.hand_offs, before + 2);

    /* Re-created where the freed one was (glibc reuses the block): a new
     * bucket's word is not the one we wrote. */
    void *old_address = b.tb;
    rs_token_bucket_free(b.tb);
    assert_int_equal(rs_token_bucket_new(&cfg, NULL, &b.tb), RS_OK);
    if ((void *)b.tb == old_address) {
        assert_true(rs_token_bucket_try_acquire_at(b.tb, 1, b.now));
        assert_int_equal(rs__my_last_write.hand_offs, before + 2);
    }
    rs_token_bucket_free(b.tb);
}
#endif

#if RS_TEST_THREADS
static rs__spinlock spin;
static rs__mutex mutex;
static uint64_t guarded_by_spin;
static uint64_t guarded_by_mutex;

static void *increment_under_locks(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50000; i++) {
        rs__spin_lock(&spin);
        guarded_by_spin++;
        rs__spin_unlock(&spin);
        rs__mutex_lock(&mutex);
        guarded_by_mutex++;
        rs__mutex_unlock(&mutex);
    }
    return NULL;
}

static void locks_exclude(void **state)
{
    (void)state;
    rs__spin_init(&spin);
    assert_int_equal(rs__mutex_init(&mutex), 0);
    rs_test_run_threads(4, increment_under_locks, NULL);
    assert_int_equal(guarded_by_spin, 200000);
    assert_int_equal(guarded_by_mutex, 200000);
    rs__mutex_destroy(&mutex);
}
#endif

/* ---- counter shards ------------------------------------------------------------------ */

typedef struct shard {
    _Alignas(RS__CACHE_LINE) rs__atomic_u64 n;
    rs__atomic_u64 m;
} shard;

/* One thread: its own shard, plain stores, summed by the reader. */
static void tally_counts_and_sums(void **state)
{
    (void)state;
    shard shards[RS__TALLY_SHARDS];
    rs__tally_init(shards, sizeof shards[0]);
    for (int i = 0; i < 10; i++) {
        RS__TALLY_ADD(shards, n, 2);
    }
    RS__TALLY_ADD(shards, m, 7);
    uint64_t n = 99, m = 99;
    RS__TALLY_SUM(n, shards, n);
    RS__TALLY_SUM(m, shards, m);
    assert_int_equal(n, 20);
    assert_int_equal(m, 7);
    unsigned slot = rs__tally_slot();
    assert_true(slot < RS__TALLY_SLOTS); /* a thread of its own */
    assert_int_equal(rs__tally_slot(), slot); /* and it keeps it */
    assert_int_equal(rs__counter_get(&shards[slot].n), 20);
}

#if RS_TEST_THREADS
typedef struct slots_seen {
    _Atomic unsigned next;
    unsigned slot[16];
    pthread_barrier_t all_in;
} slots_seen;

static void *note_slot(void *arg)
{
    slots_seen *s = arg;
    /* Claimed before it is announced: a waiter on `next` sees it taken. */
    unsigned slot = rs__tally_slot();
    s->slot[atomic_fetch_add(&s->next, 1)] = slot;
    return NULL;
}

static void *note_slot_held(void *arg)
{
    slots_seen *s = arg;
    note_slot(arg);
    (void)pthread_barrier_wait(&s->all_in); /* all alive at once */
    return NULL;
}

/* Threads alive at once never share a slot, those beyond the slots share
 * the last shard, and a thread's slot goes back when it exits. */
static void tally_slots_are_exclusive_and_given_back(void **state)
{
    (void)state;
    (void)rs__tally_slot(); /* this thread holds one throughout */
    static slots_seen s;
    for (int round = 0; round < 3; round++) {
        memset(&s, 0, sizeof s);
        assert_int_equal(pthread_barrier_init(&s.all_in, NULL, 8), 0);
        rs_test_run_threads(8, note_slot_held, &s);
        pthread_barrier_destroy(&s.all_in);
        unsigned own = 0, shared = 0;
        for (unsigned i = 0; i < 8; i++) {
            if (s.slot[i] == RS__TALLY_SLOTS) {
                shared++;
                continue;
            }
            assert_true(s.slot[i] < RS__TALLY_SLOTS);
            own++;
            for (unsigned j = 0; j < i; j++) {
                assert_true(s.slot[j] != s.slot[i]);
            }
        }
        /* Every slot but this thread's went to one of them, every round:
         * the last round's threads gave theirs back. */
        assert_int_equal(own, RS__TALLY_SLOTS - 1);
        assert_int_equal(shared, 8 - own);
    }
}

/* After fork() only the forking thread's slot is taken in the child: the
 * parent's other threads do not exist there. */
static void tally_child_gets_the_slots_back(void **state)
{
    (void)state;
    static slots_seen parent;
    memset(&parent, 0, sizeof parent);
    (void)rs__tally_slot();
    assert_int_equal(pthread_barrier_init(&parent.all_in, NULL, 2), 0);
    pthread_t holder;
    /* A parent thread holds a slot while the parent forks. */
    assert_int_equal(pthread_create(&holder, NULL, note_slot_held, &parent), 0);
    while (atomic_load(&parent.next) == 0) {
        sched_yield();
    }
    assert_int_equal(rs__tally_slots_taken(), 2);
    pid_t child = fork();
    if (child == 0) { /* no thread started here: sanitizers allow that */
        _exit(rs__tally_slots_taken() == 1 ? 0 : 1);
    }
    (void)pthread_barrier_wait(&parent.all_in);
    pthread_join(holder, NULL);
    pthread_barrier_destroy(&parent.all_in);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(saturating_add_sub_mul),
        cmocka_unit_test(doubles_convert_without_undefined_behaviour),
        cmocka_unit_test(mul_div_is_exact_in_128_bits),
        cmocka_unit_test(portable_wide_arithmetic_is_exact),
        cmocka_unit_test(random_scaling_covers_the_range),
        cmocka_unit_test(rng_is_reproducible_and_uniform),
        cmocka_unit_test(os_seeds_differ),
        cmocka_unit_test(atomic_helpers),
        cmocka_unit_test(contention_is_a_foreign_write_over_our_recent_one),
        cmocka_unit_test(gcra_attempt_hands_off_once_under_contention),
        cmocka_unit_test(gcra_hand_off_rejudges_what_changed_meanwhile),
        cmocka_unit_test(hand_off_calibrates_its_spin),
        cmocka_unit_test(aligned_allocation),
        cmocka_unit_test(contention_memory_follows_our_own_changes),
        cmocka_unit_test(tally_counts_and_sums),
#if RS_TEST_THREADS
        cmocka_unit_test(tally_slots_are_exclusive_and_given_back),
        cmocka_unit_test(tally_child_gets_the_slots_back),
        cmocka_unit_test(token_bucket_hands_off_only_to_other_threads),
        cmocka_unit_test(contention_memory_is_per_thread),
        cmocka_unit_test(locks_exclude),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
