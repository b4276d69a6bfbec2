/* Status codes, strerror, version and the allocator hook. */
#include "support/fault_alloc.h"
#include "support/testing.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resilience.h"

static const int all_statuses[] = {
    RS_OK, RS_E_INVAL, RS_E_NOMEM, RS_E_LIMITED, RS_E_OPEN,
    RS_E_BUDGET, RS_E_EXHAUSTED, RS_E_FAILED, RS_E_TIMEOUT, RS_E_IO,
};

static void status_values_are_stable(void **state)
{
    (void)state;
    /* These numbers are ABI: they may never change. */
    assert_int_equal(RS_OK, 0);
    assert_int_equal(RS_E_INVAL, -1);
    assert_int_equal(RS_E_NOMEM, -2);
    assert_int_equal(RS_E_LIMITED, -3);
    assert_int_equal(RS_E_OPEN, -4);
    assert_int_equal(RS_E_BUDGET, -5);
    assert_int_equal(RS_E_EXHAUSTED, -6);
    assert_int_equal(RS_E_FAILED, -7);
    assert_int_equal(RS_E_TIMEOUT, -8);
    assert_int_equal(RS_E_IO, -9);
}

static void every_status_has_distinct_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(all_statuses); i++) {
        const char *text = rs_strerror(all_statuses[i]);
        const char *name = rs_status_name(all_statuses[i]);
        assert_non_null(text);
        assert_non_null(name);
        assert_string_not_equal(text, "unknown status");
        assert_true(strncmp(name, "RS_", 3) == 0);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(text, rs_strerror(all_statuses[j]));
            assert_string_not_equal(name, rs_status_name(all_statuses[j]));
        }
    }
    assert_string_equal(rs_status_name(RS_E_LIMITED), "RS_E_LIMITED");
    assert_string_equal(rs_strerror(RS_E_OPEN), "circuit breaker is open");
}

static void unknown_status_is_never_null(void **state)
{
    (void)state;
    const int unknown[] = { 1, -10, -1000, INT_MIN, INT_MAX };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(unknown); i++) {
        assert_string_equal(rs_strerror(unknown[i]), "unknown status");
        assert_string_equal(rs_status_name(unknown[i]), "RS_E_UNKNOWN");
    }
}

static void version_matches_headers(void **state)
{
    (void)state;
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", RS_VERSION_MAJOR, RS_VERSION_MINOR,
             RS_VERSION_PATCH);
    assert_string_equal(rs_version_string(), expected);
    assert_string_equal(rs_version_string(), RS_VERSION_STRING);
    assert_int_equal(rs_version_hex(), RS_VERSION_HEX);
    assert_int_equal(RS_VERSION_HEX,
                     (RS_VERSION_MAJOR << 16) | (RS_VERSION_MINOR << 8) | RS_VERSION_PATCH);
}

static void allocator_needs_both_functions(void **state)
{
    (void)state;
    RS_TEST_EXPECT_INVALID(rs_set_allocator(malloc, NULL), "free_fn: NULL while malloc_fn is set");
    RS_TEST_EXPECT_INVALID(rs_set_allocator(NULL, free), "malloc_fn: NULL while free_fn is set");
    assert_int_equal(rs_set_allocator(NULL, NULL), RS_OK);
}

/* ---- rs_last_error / rs_set_last_error --------------------------------- */

/* Runs first (see main): nothing has failed on this thread yet. */
static void last_error_starts_empty(void **state)
{
    (void)state;
    assert_non_null(rs_last_error());
    assert_string_equal(rs_last_error(), "");
}

static void last_error_is_set_formatted_and_cleared(void **state)
{
    (void)state;
    /* Returns the status it is given, unchanged, whatever it is. */
    assert_int_equal(rs_set_last_error(RS_E_IO, "mydb %s:%d: %s", "db1", 5432, "refused"),
                     RS_E_IO);
    assert_string_equal(rs_last_error(), "mydb db1:5432: refused");
    assert_int_equal(rs_set_last_error(42, "x"), 42);
    assert_string_equal(rs_last_error(), "x");
    /* The same pointer every time on one thread, and never NULL. */
    assert_ptr_equal(rs_last_error(), rs_last_error());
    /* NULL clears. */
    assert_int_equal(rs_set_last_error(RS_OK, NULL), RS_OK);
    assert_string_equal(rs_last_error(), "");
    /* Success does not clear it: read it right after the failing call. */
    (void)rs_set_last_error(RS_E_INVAL, "from before");
    rs_backoff_config c = RS_BACKOFF_CONFIG_DEFAULT;
    assert_int_equal(rs_backoff_config_validate(&c), RS_OK);
    assert_string_equal(rs_last_error(), "from before");
    (void)rs_set_last_error(RS_OK, NULL);
}

static void last_error_truncates_long_text(void **state)
{
    (void)state;
    char long_text[1000];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    long_text[0] = 'Z';
    (void)rs_set_last_error(RS_E_IO, "%s", long_text);
    assert_int_equal(strlen(rs_last_error()), 255);
    assert_true(strncmp(rs_last_error(), long_text, 255) == 0);
    (void)rs_set_last_error(RS_E_IO, "%.*s|%d", 3, "abcdef", -7);
    assert_string_equal(rs_last_error(), "abc|-7");
    /* The text itself may be an argument: context added to a cause. */
    (void)rs_set_last_error(RS_E_IO, "tenant %s: %s", "acme", rs_last_error());
    assert_string_equal(rs_last_error(), "tenant acme: abc|-7");
    (void)rs_set_last_error(RS_E_IO, "%s", long_text);
    (void)rs_set_last_error(RS_E_IO, "outer: %s", rs_last_error());
    assert_int_equal(strlen(rs_last_error()), 255);
    assert_true(strncmp(rs_last_error(), "outer: Zaaa", 11) == 0);
    (void)rs_set_last_error(RS_OK, NULL);
}

/* Refusals on the hot paths leave the text alone (they do not touch
 * thread-local storage at all; what a test can see is that they do not
 * write it). */
static void refusals_leave_last_error_alone(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_token_bucket_config tc = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    rs_token_bucket *tb = NULL;
    assert_int_equal(rs_token_bucket_new(&tc, rs_manual_clock_get(&clock), &tb), RS_OK);
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    rs_breaker *b = NULL;
    assert_int_equal(rs_breaker_new(&bc, rs_manual_clock_get(&clock), &b), RS_OK);
    rs_budget_config gc = RS_BUDGET_CONFIG_DEFAULT;
    rs_budget *g = NULL;
    assert_int_equal(rs_budget_new(&gc, rs_manual_clock_get(&clock), &g), RS_OK);

    (void)rs_set_last_error(RS_E_IO, "marker");
    uint64_t wait = 0;
    assert_true(rs_token_bucket_try_acquire(tb, 10));
    assert_false(rs_token_bucket_try_acquire(tb, 1));
    assert_int_equal(rs_token_bucket_reserve(tb, 1, 0, &wait), RS_E_LIMITED);
    rs_breaker_force(b, RS_BREAKER_FORCED_OPEN);
    rs_permit p;
    assert_int_equal(rs_breaker_allow(b, &p), RS_E_OPEN);
    rs_budget_ticket t;
    assert_int_equal(rs_budget_reserve(g, gc.max_per_request + 1, &t), RS_E_BUDGET);
    assert_string_equal(rs_last_error(), "marker");
    (void)rs_set_last_error(RS_OK, NULL);
    rs_budget_free(g);
    rs_breaker_free(b);
    rs_token_bucket_free(tb);
}

#if RS_TEST_THREADS
static void *set_own_last_error(void *arg)
{
    atomic_uint *mismatches = arg;
    /* A new thread starts empty, whatever the others (and main) hold. */
    if (rs_last_error()[0] != '\0') {
        atomic_fetch_add(mismatches, 1);
    }
    /* Each thread's text names something of its own: its stack. */
    char expected[64];
    const void *self = &expected;
    for (int i = 0; i < 2000; i++) {
        snprintf(expected, sizeof expected, "thread %p round %d", self, i);
        (void)rs_set_last_error(RS_E_IO, "thread %p round %d", self, i);
        if (strcmp(rs_last_error(), expected) != 0) {
            atomic_fetch_add(mismatches, 1);
        }
    }
    return NULL;
}

/* Each thread has its own text: four threads write theirs at once and
 * always read back their own, and main's is untouched. */
static void last_error_is_per_thread(void **state)
{
    (void)state;
    static atomic_uint mismatches;
    atomic_store(&mismatches, 0);
    (void)rs_set_last_error(RS_E_INVAL, "main");
    rs_test_run_threads(4, set_own_last_error, &mismatches);
    assert_int_equal(atomic_load(&mismatches), 0);
    assert_string_equal(rs_last_error(), "main");
    (void)rs_set_last_error(RS_OK, NULL);
}
#endif

static void objects_allocate_through_the_hook(void **state)
{
    (void)state;
    fault_alloc_install();
    rs_backoff_config c = RS_BACKOFF_CONFIG_DEFAULT;
    rs_backoff *b = NULL;
    assert_int_equal(rs_backoff_new(&c, &b), RS_OK);
    assert_true(fault_alloc_total() >= 1);
    assert_int_equal(fault_alloc_live(), fault_alloc_total());
    rs_backoff_free(b);
    assert_int_equal(fault_alloc_live(), 0);

    fault_alloc_fail_at(1);
    b = NULL;
    assert_int_equal(rs_backoff_new(&c, &b), RS_E_NOMEM);
    assert_null(b);
    fault_alloc_uninstall();

    /* Back on malloc: creation works again. */
    assert_int_equal(rs_backoff_new(&c, &b), RS_OK);
    rs_backoff_free(b);
}

/* A fake backend: grants up to `capacity` units, then asks to wait. */
typedef struct fake_limiter {
    uint64_t capacity;
    uint64_t last_now;
} fake_limiter;

static int fake_acquire(void *self, uint64_t n, uint64_t max_wait_ns, uint64_t now_ns,
                        uint64_t *wait_ns)
{
    fake_limiter *f = self;
    f->last_now = now_ns;
    if (n > f->capacity) {
        *wait_ns = 500;
        return max_wait_ns >= 500 ? RS_OK : RS_E_LIMITED;
    }
    f->capacity -= n;
    *wait_ns = 0;
    return RS_OK;
}

static uint64_t fake_wait_ns(void *self, uint64_t n, uint64_t now_ns)
{
    fake_limiter *f = self;
    f->last_now = now_ns;
    return n > f->capacity ? 500 : 0;
}

static const rs_limiter_ops fake_ops = { fake_acquire, "fake", fake_wait_ns, false, NULL };
static const rs_limiter_ops fake_ops_no_peek = { fake_acquire, "fake", NULL, false, NULL };

static void limiter_interface_dispatches(void **state)
{
    (void)state;
    fake_limiter f = { 3, 0 };
    rs_limiter l = { &fake_ops, &f };
    uint64_t wait = 99;
    assert_int_equal(rs_limiter_acquire(&l, 2, 0, 1234, &wait), RS_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(f.last_now, 1234);
    assert_int_equal(rs_limiter_acquire(&l, 2, 0, 1235, &wait), RS_E_LIMITED);
    assert_int_equal(wait, 500);
    assert_int_equal(rs_limiter_acquire(&l, 2, 1000, 1236, &wait), RS_OK);
    assert_int_equal(wait, 500);
    assert_int_equal(rs_limiter_acquire(&l, 1, 0, 1, NULL), RS_E_INVAL);
    assert_int_equal(rs_limiter_wait_ns(&l, 1, 1237), 0);
    assert_int_equal(f.last_now, 1237);
    assert_int_equal(rs_limiter_wait_ns(&l, 2, 1238), 500);
    rs_limiter blind = { &fake_ops_no_peek, &f };
    assert_int_equal(rs_limiter_wait_ns(&blind, 1, 1239), UINT64_MAX); /* unknown */

    /* No limiter admits everything. */
    rs_limiter none = { NULL, NULL };
    wait = 99;
    assert_int_equal(rs_limiter_acquire(&none, 1000000, 0, 0, &wait), RS_OK);
    assert_int_equal(wait, 0);
    wait = 99;
    assert_int_equal(rs_limiter_acquire(NULL, 1, 0, 0, &wait), RS_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(rs_limiter_wait_ns(&none, 5, 0), 0);
    assert_int_equal(rs_limiter_wait_ns(NULL, 5, 0), 0);
}

/* A fake account: holds up to `left` tokens and records settlements. */
typedef struct fake_account {
    uint64_t left;
    uint64_t committed;
    int cancels;
} fake_account;

static int fake_reserve(void *self, uint64_t estimate, uint64_t now_ns, rs_account_ticket *t)
{
    fake_account *f = self;
    if (estimate > f->left) {
        return RS_E_BUDGET;
    }
    f->left -= estimate;
    *t = (rs_account_ticket){ estimate, now_ns, 7 };
    return RS_OK;
}

static void fake_commit(void *self, const rs_account_ticket *t, uint64_t actual)
{
    fake_account *f = self;
    f->left += t->reserved;
    f->left -= actual;
    f->committed += actual;
}

static void fake_cancel(void *self, const rs_account_ticket *t)
{
    fake_account *f = self;
    f->left += t->reserved;
    f->cancels++;
}

static const rs_account_ops fake_account_ops = { fake_reserve, fake_commit, fake_cancel, "fake",
                                                 NULL };

static void account_interface_dispatches(void **state)
{
    (void)state;
    fake_account f = { 100, 0, 0 };
    rs_account a = { &fake_account_ops, &f };
    rs_account_ticket t;
    assert_int_equal(rs_account_reserve(&a, 60, 555, &t), RS_OK);
    assert_int_equal(t.reserved, 60);
    assert_int_equal(t.at_ns, 555);
    assert_int_equal(t.backend, 7);
    assert_int_equal(rs_account_reserve(&a, 60, 556, &t), RS_E_BUDGET);
    t = (rs_account_ticket){ 60, 555, 7 };
    rs_account_commit(&a, &t, 25);
    assert_int_equal(f.left, 75);
    assert_int_equal(f.committed, 25);
    assert_int_equal(rs_account_reserve(&a, 70, 557, &t), RS_OK);
    rs_account_cancel(&a, &t);
    assert_int_equal(f.left, 75);
    assert_int_equal(f.cancels, 1);
    assert_int_equal(rs_account_reserve(&a, 1, 1, NULL), RS_E_INVAL);
    rs_account_commit(&a, NULL, 5);
    rs_account_cancel(&a, NULL);
    assert_int_equal(f.left, 75);

    /* No account grants everything and settles nothing. */
    rs_account none = { NULL, NULL };
    t.reserved = 99;
    assert_int_equal(rs_account_reserve(&none, 1000000, 0, &t), RS_OK);
    assert_int_equal(t.reserved, 0);
    assert_int_equal(rs_account_reserve(NULL, 5, 0, &t), RS_OK);
    rs_account_commit(NULL, &t, 5);
    rs_account_cancel(&none, &t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(last_error_starts_empty), /* first: nothing failed yet */
        cmocka_unit_test(status_values_are_stable),
        cmocka_unit_test(every_status_has_distinct_text),
        cmocka_unit_test(unknown_status_is_never_null),
        cmocka_unit_test(version_matches_headers),
        cmocka_unit_test(allocator_needs_both_functions),
        cmocka_unit_test(last_error_is_set_formatted_and_cleared),
        cmocka_unit_test(last_error_truncates_long_text),
        cmocka_unit_test(refusals_leave_last_error_alone),
#if RS_TEST_THREADS
        cmocka_unit_test(last_error_is_per_thread),
#endif
        cmocka_unit_test(objects_allocate_through_the_hook),
        cmocka_unit_test(limiter_interface_dispatches),
        cmocka_unit_test(account_interface_dispatches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
