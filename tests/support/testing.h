/* Common includes and helpers for the cmocka test programs. */
#ifndef RS_TESTS_TESTING_H
#define RS_TESTS_TESTING_H

/* cmocka.h needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>

#define RS_TEST_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Multi-threaded test cases are wrapped in `#if RS_TEST_THREADS`: a
 * -Dthreads=disabled build makes no thread-safety promise, so it leaves them
 * out (cmocka 1.1's skip() prints "not ok # SKIP", which meson counts as a
 * failure). */

/* Runs fn(arg) on `count` threads at once (count <= 16) and joins them. The
 * threads start together behind a barrier so they really contend. Fails the
 * test if a thread cannot be created or returns non-NULL (the way a thread
 * reports a failed check). */
void rs_test_run_threads(unsigned count, void *(*fn)(void *arg), void *arg);

/* Real monotonic time, for the concurrency tests that run on the system clock. */
uint64_t rs_test_now_ns(void);

/* splitmix64: a reproducible random stream from a seed, for the randomized
 * tests that compare a module with a reference model. */
static inline uint64_t rs_test_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Asserts that rs_last_error() names `needle` (the field or argument an
 * RS_E_INVAL must name), printing the text when it does not. */
#define RS_TEST_EXPECT_LAST_ERROR(needle) rs_test_expect_last_error((needle), __FILE__, __LINE__)
void rs_test_expect_last_error(const char *needle, const char *file, int line);

/* Asserts that `status` is RS_E_INVAL and rs_last_error() names `needle`,
 * then clears the text, so that each refusal is seen to set it anew. */
#define RS_TEST_EXPECT_INVALID(status, needle)                                                 \
    rs_test_expect_invalid((status), (needle), __FILE__, __LINE__)
void rs_test_expect_invalid(int status, const char *needle, const char *file, int line);

/* Asserts that `text` contains every string of the array `lines` (each
 * usually a whole exposition line with its "\n"), naming the first one it
 * lacks and printing the text. */
#define RS_TEST_EXPECT_LINES(text, lines)                                                      \
    rs_test_expect_lines((text), (lines), RS_TEST_ARRAY_LEN(lines), __FILE__, __LINE__)
void rs_test_expect_lines(const char *text, const char *const *lines, size_t count,
                          const char *file, int line);

#endif /* RS_TESTS_TESTING_H */
