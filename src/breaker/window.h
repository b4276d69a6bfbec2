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

/* What a COUNT_BASED record touches comes first (48 bytes), so that the
 * breaker can keep it on one cache line with its lock. */
typedef struct rs__breaker_window {
    rs__breaker_totals totals;
    uint8_t *outcomes;           /* COUNT_BASED: RS__OUTCOME_* bits per slot */
    uint32_t head;               /* COUNT_BASED: the slot the next outcome goes to */
    uint32_t size;               /* outcomes or seconds */
    uint64_t newest_second;      /* TIME_BASED: buckets hold seconds (newest - size, newest] */
    rs__breaker_totals *buckets; /* TIME_BASED: second s lives at s % size */
} rs__breaker_window;

/* Allocates the ring; RS_OK or RS_E_NOMEM (nothing allocated then). */
int rs__breaker_window_init(rs__breaker_window *w, rs_breaker_window kind, uint32_t size);
void rs__breaker_window_destroy(rs__breaker_window *w);
/* Forgets every outcome. */
void rs__breaker_window_reset(rs__breaker_window *w);
#define RS__OUTCOME_FAILURE 1u
#define RS__OUTCOME_SLOW 2u

/* TIME_BASED half of rs__breaker_window_add(). */
void rs__breaker_window_add_timed(rs__breaker_window *w, bool failure, bool slow,
                                  uint64_t now_ns);

/* Adds one outcome that finished at now_ns (only TIME_BASED uses the time).
 * Inline: every record in CLOSED pays it. */
static inline void rs__breaker_window_add(rs__breaker_window *w, bool failure, bool slow,
                                          uint64_t now_ns)
{
    if (w->outcomes == NULL) {
        rs__breaker_window_add_timed(w, failure, slow, now_ns);
        return;
    }
    if (w->totals.calls == w->size) {
        w->totals.calls--;
        /* A window of successes only (the usual case) need not look at the
         * outcome it evicts. */
        if ((w->totals.failures | w->totals.slow) != 0) {
            unsigned oldest = w->outcomes[w->head];
            w->totals.failures -= (oldest & RS__OUTCOME_FAILURE) != 0;
            w->totals.slow -= (oldest & RS__OUTCOME_SLOW) != 0;
        }
    }
    w->outcomes[w->head] =
        (uint8_t)((failure ? RS__OUTCOME_FAILURE : 0u) | (slow ? RS__OUTCOME_SLOW : 0u));
    w->head = w->head + 1 == w->size ? 0 : w->head + 1;
    w->totals.calls++;
    w->totals.failures += failure;
    w->totals.slow += slow;
}
/* TIME_BASED: forgets the seconds that have left the window by now_ns. */
void rs__breaker_window_advance(rs__breaker_window *w, uint64_t now_ns);

#endif /* RS_BREAKER_WINDOW_H */
