#include "spans.h"

#include <stdlib.h>

static int by_before(const void *a, const void *b)
{
    const rs_test_span *x = a, *y = b;
    return (x->before > y->before) - (x->before < y->before);
}

void rs_test_spans_sort(rs_test_span *spans, size_t len)
{
    qsort(spans, len, sizeof spans[0], by_before);
}

uint64_t rs_test_spans_most_within(const rs_test_span *sorted, size_t len, uint64_t length)
{
    uint64_t most = 0;
    for (size_t i = 0; i < len; i++) {
        uint64_t inside = 0;
        for (size_t j = i; j < len && sorted[j].before < sorted[i].before + length; j++) {
            inside += sorted[j].after < sorted[i].before + length;
        }
        most = inside > most ? inside : most;
    }
    return most;
}

uint64_t rs_test_spans_most_in_a_fixed_window(const rs_test_span *sorted, size_t len,
                                              uint64_t length)
{
    uint64_t most = 0, run = 0, index = UINT64_MAX;
    for (size_t i = 0; i < len; i++) {
        if (sorted[i].before / length != sorted[i].after / length) {
            continue;
        }
        run = sorted[i].before / length == index ? run + 1 : 1;
        index = sorted[i].before / length;
        most = run > most ? run : most;
    }
    return most;
}
