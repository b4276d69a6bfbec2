/* The simulators' event queue: a binary min-heap of timed events, and how
 * they stop on what they cannot carry on from (bench/storm and
 * bench/simulation share both).
 *
 * Events at the same instant come out in the order they were pushed, so a
 * run depends only on its seeds, never on how the heap happens to break
 * ties. */
#ifndef STORM_EVENTS_H
#define STORM_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_event {
    uint64_t at_ns;
    uint64_t seq;  /* push order: breaks ties between events at one instant */
    uint32_t kind; /* what to do; the owner of the queue gives the meaning */
    uint32_t who;  /* e.g. a client or a call slot */
    uint64_t tag;  /* e.g. a generation, to recognise an event gone stale */
} sim_event;

typedef struct event_queue {
    sim_event *heap;
    size_t len, cap;
    uint64_t pushed;
} event_queue;

void event_queue_init(event_queue *q);
void event_queue_free(event_queue *q);

/* Schedules an event; ends the program if memory runs out. */
void event_push(event_queue *q, uint64_t at_ns, uint32_t kind, uint32_t who, uint64_t tag);

/* Takes the earliest event into *out; false when the queue is empty. */
bool event_pop(event_queue *q, sim_event *out);

/* Ends the program, saying what failed and why, unless status is RS_OK:
 * for the set-up calls into the library (`what` names the call). */
void sim_check(int status, const char *what);

/* calloc(1, size), or the end of the program. */
void *sim_alloc(size_t size);

#endif /* STORM_EVENTS_H */
