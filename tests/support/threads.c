#include "testing.h"

#include <time.h>

#if RS_TEST_THREADS
#include <pthread.h>

typedef struct thread_start {
    pthread_barrier_t *barrier;
    void *(*fn)(void *);
    void *arg;
} thread_start;

static void *start_together(void *p)
{
    thread_start *s = p;
    (void)pthread_barrier_wait(s->barrier);
    return s->fn(s->arg);
}

void rs_test_run_threads(unsigned count, void *(*fn)(void *arg), void *arg)
{
    pthread_t threads[16];
    thread_start start;
    pthread_barrier_t barrier;
    assert_true(count >= 1 && count <= 16);
    assert_int_equal(pthread_barrier_init(&barrier, NULL, count), 0);
    start.barrier = &barrier;
    start.fn = fn;
    start.arg = arg;
    for (unsigned i = 0; i < count; i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, start_together, &start), 0);
    }
    /* A thread reports a failed check by returning non-NULL (cmocka's
     * asserts only work on the test's own thread). */
    void *failures[16];
    for (unsigned i = 0; i < count; i++) {
        assert_int_equal(pthread_join(threads[i], &failures[i]), 0);
    }
    for (unsigned i = 0; i < count; i++) {
        assert_null(failures[i]);
    }
    (void)pthread_barrier_destroy(&barrier);
}

#else
void rs_test_run_threads(unsigned count, void *(*fn)(void *arg), void *arg)
{
    (void)count;
    (void)fn;
    (void)arg;
    fail_msg("threaded test in a build without threads");
}
#endif

uint64_t rs_test_now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}
