/* The half-open state's probes in flight, private to the breaker: the
 * admission time of each, so that probes that never come back can be written
 * off after half_open_max_wait_ns.
 *
 * A probe is identified by its permit's start time. Probes admitted at the
 * same instant are interchangeable (they would be written off together), so
 * removing any one with that time is exact. O(capacity) per operation; the
 * capacity is half_open_max_calls, a handful. Not thread-safe: the breaker
 * calls these under its lock. */
#ifndef RS_BREAKER_PROBES_H
#define RS_BREAKER_PROBES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rs__breaker_probes {
    uint64_t *start_ns; /* unordered; the first `count` are in flight */
    uint32_t count;
} rs__breaker_probes;

/* RS_OK or RS_E_NOMEM (nothing allocated then). */
int rs__breaker_probes_init(rs__breaker_probes *p, uint32_t capacity);
void rs__breaker_probes_destroy(rs__breaker_probes *p);
/* Records a probe admitted at start_ns; the caller checked that count is
 * below the capacity it gave to init. */
void rs__breaker_probes_add(rs__breaker_probes *p, uint64_t start_ns);
/* Removes one probe admitted at start_ns; false if there is none (it was
 * written off, or the permit was already recorded). */
bool rs__breaker_probes_remove(rs__breaker_probes *p, uint64_t start_ns);
/* Forgets every probe in flight (they belong to an old generation now). */
static inline void rs__breaker_probes_clear(rs__breaker_probes *p) { p->count = 0; }
/* Removes every probe in flight for max_wait_ns or longer at now_ns and
 * returns how many. */
uint32_t rs__breaker_probes_expire(rs__breaker_probes *p, uint64_t now_ns, uint64_t max_wait_ns);

#endif /* RS_BREAKER_PROBES_H */
