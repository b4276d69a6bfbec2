#include "probes.h"

#include "core/alloc.h"
#include "core/arith.h"
#include "resilience/common.h"

int rs__breaker_probes_init(rs__breaker_probes *p, uint32_t capacity)
{
    p->start_ns = rs__calloc(capacity, sizeof *p->start_ns);
    p->count = 0;
    return p->start_ns != NULL ? RS_OK : RS_E_NOMEM;
}

void rs__breaker_probes_destroy(rs__breaker_probes *p)
{
    rs__free(p->start_ns);
}

void rs__breaker_probes_add(rs__breaker_probes *p, uint64_t start_ns)
{
    p->start_ns[p->count++] = start_ns;
}

static void remove_at(rs__breaker_probes *p, uint32_t i)
{
    p->start_ns[i] = p->start_ns[--p->count];
}

bool rs__breaker_probes_remove(rs__breaker_probes *p, uint64_t start_ns)
{
    for (uint32_t i = 0; i < p->count; i++) {
        if (p->start_ns[i] == start_ns) {
            remove_at(p, i);
            return true;
        }
    }
    return false;
}

uint32_t rs__breaker_probes_expire(rs__breaker_probes *p, uint64_t now_ns, uint64_t max_wait_ns)
{
    uint32_t expired = 0;
    for (uint32_t i = 0; i < p->count;) {
        if (rs__sat_sub(now_ns, p->start_ns[i]) >= max_wait_ns) {
            remove_at(p, i);
            expired++;
        } else {
            i++;
        }
    }
    return expired;
}
