/* Checking a limiter's admissions observed on the real clock: each one is
 * known only to lie within the span of its call, [before, after]. */
#ifndef RS_TESTS_SPANS_H
#define RS_TESTS_SPANS_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs_test_span {
    uint64_t before, after; /* the admission happened in between */
} rs_test_span;

/* Sorts spans by `before`; the functions below need that order. */
void rs_test_spans_sort(rs_test_span *spans, size_t len);

/* The most admissions certainly inside one interval [from, from + length)
 * (their whole span is). */
uint64_t rs_test_spans_most_within(const rs_test_span *sorted, size_t len, uint64_t length);

/* The most admissions certainly inside one fixed window
 * [k * length, (k+1) * length). */
uint64_t rs_test_spans_most_in_a_fixed_window(const rs_test_span *sorted, size_t len,
                                              uint64_t length);

#endif /* RS_TESTS_SPANS_H */
