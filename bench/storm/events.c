#include "events.h"

#include <stdio.h>
#include <stdlib.h>

#include <resilience.h>

static bool before(const sim_event *a, const sim_event *b)
{
    return a->at_ns != b->at_ns ? a->at_ns < b->at_ns : a->seq < b->seq;
}

void event_queue_init(event_queue *q)
{
    q->heap = NULL;
    q->len = q->cap = 0;
    q->pushed = 0;
}

void event_queue_free(event_queue *q)
{
    free(q->heap);
    event_queue_init(q);
}

void event_push(event_queue *q, uint64_t at_ns, uint32_t kind, uint32_t who, uint64_t tag)
{
    if (q->len == q->cap) {
        size_t cap = q->cap != 0 ? q->cap * 2 : 1024;
        sim_event *grown = realloc(q->heap, cap * sizeof *grown);
        if (grown == NULL) {
            fprintf(stderr, "storm: out of memory for events\n");
            exit(1);
        }
        q->heap = grown;
        q->cap = cap;
    }
    sim_event e = { at_ns, q->pushed++, kind, who, tag };
    /* Move parents down into the hole until e fits, then drop it in: one
     * write per level instead of a swap. */
    size_t hole = q->len++;
    while (hole > 0) {
        size_t parent = (hole - 1) / 2;
        if (!before(&e, &q->heap[parent])) {
            break;
        }
        q->heap[hole] = q->heap[parent];
        hole = parent;
    }
    q->heap[hole] = e;
}

bool event_pop(event_queue *q, sim_event *out)
{
    if (q->len == 0) {
        return false;
    }
    *out = q->heap[0];
    sim_event last = q->heap[--q->len];
    size_t hole = 0;
    for (;;) {
        size_t child = 2 * hole + 1;
        if (child >= q->len) {
            break;
        }
        if (child + 1 < q->len && before(&q->heap[child + 1], &q->heap[child])) {
            child++;
        }
        if (!before(&q->heap[child], &last)) {
            break;
        }
        q->heap[hole] = q->heap[child];
        hole = child;
    }
    if (q->len > 0) {
        q->heap[hole] = last;
    }
    return true;
}

void sim_check(int status, const char *what)
{
    if (status != RS_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, rs_strerror(status), rs_last_error());
        exit(1);
    }
}

void *sim_alloc(size_t size)
{
    void *p = calloc(1, size);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}
