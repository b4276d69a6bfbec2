/* The closed state's outcome window, private to the breaker.
 *
 * COUNT_BASED keeps the last `size` outcomes, one byte each, in a ring.
 * TIME_BASED keeps one bucket of sums per second for the last `size`
 * seconds, so its memory does not grow with the call rate. Both keep running
 * totals, so judging the window is O(1). Not thread-safe: the breaker calls
 * these under its lock. */
#ifndef RS_BREAKER_WINDOW_H
#define RS_BREAKER_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "resilience/breaker.h"

typedef struct rs__breaker_totals {
    uint64_t calls;
    uint64_t failures;
    uint64_t slow;
} rs__breaker_totals;

typedef struct rs__breaker_window {
    rs_breaker_window kind;
    uint32_t size;          /* outcomes or seconds */
    uint32_t head;          /* COUNT_BASED: the slot the next outcome goes to */
    uint64_t newest_second; /* TIME_BASED: buckets hold seconds (newest - size, newest] */
    rs__breaker_totals totals;
    uint8_t *outcomes;               /* COUNT_BASED: RS__OUTCOME_* bits per slot */
    rs__breaker_totals *buckets;     /* TIME_BASED: second s lives at s % size */
} rs__breaker_window;

/* Allocates the ring; RS_OK or RS_E_NOMEM (nothing allocated then). */
int rs__breaker_window_init(rs__breaker_window *w, rs_breaker_window kind, uint32_t size);
void rs__breaker_window_destroy(rs__breaker_window *w);
/* Forgets every outcome. */
void rs__breaker_window_reset(rs__breaker_window *w);
/* Adds one outcome that finished at now_ns (TIME_BASED uses the time). */
void rs__breaker_window_add(rs__breaker_window *w, bool failure, bool slow, uint64_t now_ns);
/* TIME_BASED: forgets the seconds that have left the window by now_ns. */
void rs__breaker_window_advance(rs__breaker_window *w, uint64_t now_ns);

#endif /* RS_BREAKER_WINDOW_H */
