#include "window.h"

#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"

int rs__breaker_window_init(rs__breaker_window *w, rs_breaker_window kind, uint32_t size)
{
    memset(w, 0, sizeof *w);
    w->size = size;
    if (kind == RS_WINDOW_COUNT_BASED) {
        w->outcomes = rs__calloc(size, sizeof *w->outcomes);
        return w->outcomes != NULL ? RS_OK : RS_E_NOMEM;
    }
    w->buckets = rs__calloc(size, sizeof *w->buckets);
    return w->buckets != NULL ? RS_OK : RS_E_NOMEM;
}

void rs__breaker_window_destroy(rs__breaker_window *w)
{
    rs__free(w->outcomes);
    rs__free(w->buckets);
}

void rs__breaker_window_reset(rs__breaker_window *w)
{
    memset(&w->totals, 0, sizeof w->totals);
    /* A count ring needs no clearing: slots past totals.calls are never read
     * before they are written again. */
    w->head = 0;
    if (w->buckets != NULL) {
        memset(w->buckets, 0, (size_t)w->size * sizeof *w->buckets);
    }
}

static void subtract(rs__breaker_totals *from, const rs__breaker_totals *what)
{
    from->calls -= what->calls;
    from->failures -= what->failures;
    from->slow -= what->slow;
}

void rs__breaker_window_advance(rs__breaker_window *w, uint64_t now_ns)
{
    uint64_t second = now_ns / RS__NS_PER_SEC;
    if (w->buckets == NULL || second <= w->newest_second) {
        return;
    }
    if (second - w->newest_second >= w->size) {
        rs__breaker_window_reset(w);
    } else {
        /* Each second entering the window evicts the one `size` seconds older
         * that shared its bucket. */
        for (uint64_t s = w->newest_second + 1; s <= second; s++) {
            rs__breaker_totals *bucket = &w->buckets[s % w->size];
            subtract(&w->totals, bucket);
            memset(bucket, 0, sizeof *bucket);
        }
    }
    w->newest_second = second;
}

static void add_to(rs__breaker_totals *t, bool failure, bool slow)
{
    t->calls++;
    t->failures += failure;
    t->slow += slow;
}

void rs__breaker_window_add_timed(rs__breaker_window *w, bool failure, bool slow,
                                  uint64_t now_ns)
{
    rs__breaker_window_advance(w, now_ns);
    uint64_t second = now_ns / RS__NS_PER_SEC;
    /* A caller's timestamp may lag the newest one slightly (threads passing
     * their own times); it still counts while its second is in the window. */
    if (second + w->size <= w->newest_second) {
        return;
    }
    add_to(&w->buckets[second % w->size], failure, slow);
    add_to(&w->totals, failure, slow);
}
