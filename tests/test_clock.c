/* The system clock and the manual clock. */
#include "support/testing.h"

#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "resilience/clock.h"

#define MS UINT64_C(1000000)

static void system_clock_is_monotonic(void **state)
{
    (void)state;
    const rs_clock *c = rs_clock_system();
    assert_non_null(c);
    assert_ptr_equal(c, rs_clock_system());
    uint64_t prev = rs_clock_now(c);
    assert_true(prev > 0);
    for (int i = 0; i < 100000; i++) {
        uint64_t now = rs_clock_now(NULL);
        assert_true(now >= prev);
        prev = now;
    }
}

static void on_alarm(int sig) { (void)sig; }

/* The one place the suite sleeps for real: the system clock's own sleep.
 * A signal arrives mid-sleep; the sleep must still last the full time. */
static void system_sleep_survives_signals(void **state)
{
    (void)state;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: nanosleep sees EINTR */
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval timer = { .it_value = { .tv_sec = 0, .tv_usec = 3000 } };
    assert_int_equal(setitimer(ITIMER_REAL, &timer, NULL), 0);

    uint64_t start = rs_clock_now(NULL);
    rs_clock_sleep(NULL, 20 * MS);
    uint64_t slept = rs_clock_now(NULL) - start;
    assert_true(slept >= 20 * MS);

    start = rs_clock_now(NULL);
    rs_clock_sleep(rs_clock_system(), 0);
    assert_true(rs_clock_now(NULL) - start < 20 * MS);
    signal(SIGALRM, SIG_DFL);
}

static void manual_clock_moves_only_when_told(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 1000);
    const rs_clock *c = rs_manual_clock_get(&m);
    assert_non_null(c);
    assert_int_equal(rs_manual_clock_now(&m), 1000);
    assert_int_equal(rs_clock_now(c), 1000);
    assert_int_equal(rs_clock_now(c), 1000);

    rs_manual_clock_advance(&m, 500);
    assert_int_equal(rs_clock_now(c), 1500);

    rs_manual_clock_set(&m, 1200); /* earlier: ignored */
    assert_int_equal(rs_clock_now(c), 1500);
    rs_manual_clock_set(&m, 9000);
    assert_int_equal(rs_clock_now(c), 9000);
}

static void manual_sleep_advances_instantly(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, 0);
    const rs_clock *c = rs_manual_clock_get(&m);
    uint64_t real_start = rs_test_now_ns();
    rs_clock_sleep(c, 3600 * UINT64_C(1000000000)); /* an hour */
    assert_int_equal(rs_manual_clock_now(&m), 3600 * UINT64_C(1000000000));
    assert_int_equal(rs_manual_clock_sleep_count(&m), 1);
    rs_clock_sleep(c, 0);
    assert_int_equal(rs_manual_clock_sleep_count(&m), 2);
    assert_true(rs_test_now_ns() - real_start < 1000 * MS);
}

static void manual_clock_saturates(void **state)
{
    (void)state;
    rs_manual_clock m;
    rs_manual_clock_init(&m, UINT64_MAX - 10);
    rs_manual_clock_advance(&m, 100);
    assert_int_equal(rs_manual_clock_now(&m), UINT64_MAX);
    rs_clock_sleep(rs_manual_clock_get(&m), UINT64_MAX);
    assert_int_equal(rs_manual_clock_now(&m), UINT64_MAX);
}

static void manual_clock_null_is_harmless(void **state)
{
    (void)state;
    rs_manual_clock_init(NULL, 5);
    rs_manual_clock_advance(NULL, 5);
    rs_manual_clock_set(NULL, 5);
    assert_null(rs_manual_clock_get(NULL));
    assert_int_equal(rs_manual_clock_now(NULL), 0);
    assert_int_equal(rs_manual_clock_sleep_count(NULL), 0);
}

#if RS_TEST_THREADS
static rs_manual_clock shared_clock;

static void *advance_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        rs_manual_clock_advance(&shared_clock, 1);
        rs_clock_sleep(rs_manual_clock_get(&shared_clock), 2);
    }
    return NULL;
}

static void manual_advance_is_thread_safe(void **state)
{
    (void)state;
    rs_manual_clock_init(&shared_clock, 0);
    rs_test_run_threads(4, advance_many, NULL);
    assert_int_equal(rs_manual_clock_now(&shared_clock), 4 * 20000 * 3);
    assert_int_equal(rs_manual_clock_sleep_count(&shared_clock), 4 * 20000);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(system_clock_is_monotonic),
        cmocka_unit_test(system_sleep_survives_signals),
        cmocka_unit_test(manual_clock_moves_only_when_told),
        cmocka_unit_test(manual_sleep_advances_instantly),
        cmocka_unit_test(manual_clock_saturates),
        cmocka_unit_test(manual_clock_null_is_harmless),
#if RS_TEST_THREADS
        cmocka_unit_test(manual_advance_is_thread_safe),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
