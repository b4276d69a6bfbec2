/* libFuzzer harness for rs_http_retry_after() (src/http/retry_after.c and
 * date.c, through the static library). The first 8 bytes choose the
 * caller's clock, so two-digit years meet every century; the rest is the
 * value, in libFuzzer's own buffer of exactly that size (a read past the
 * length is an ASan report). Any bytes must give RS_OK with a delay that
 * behaves like one, or RS_E_INVAL with the output untouched: never a
 * crash, a hang or undefined behaviour. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "resilience/http.h"

#define SEC UINT64_C(1000000000)
#define UNTOUCHED UINT64_C(0xA5A5A5A5A5A5A5A5)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t now = 0;
    if (size >= 8) {
        uint64_t bits;
        memcpy(&bits, data, 8);
        now = (int64_t)bits;
        data += 8;
        size -= 8;
    }
    const char *value = (const char *)data;
    uint64_t delay = UNTOUCHED;
    int rc = rs_http_retry_after(value, size, now, &delay);
    if (rc != RS_OK) {
        if (rc != RS_E_INVAL || delay != UNTOUCHED) {
            abort();
        }
        return 0;
    }
    /* A clock one second later: a delta does not move, a date comes one
     * second closer (or stays at 0), unless the later clock enters another
     * year and a two-digit year changes century. */
    uint64_t later = UNTOUCHED;
    if (now < INT64_MAX && rs_http_retry_after(value, size, now + 1, &later) != RS_OK) {
        abort();
    }
    const char *v = value;
    size_t n = size;
    rs__http_trim(&v, &n);
    bool delta = n > 0 && v[0] >= '0' && v[0] <= '9';
    if (now < INT64_MAX) {
        if (delta && later != delay) {
            abort();
        }
        bool same_year = rs__http_year_of(now) == rs__http_year_of(now + 1);
        if (!delta && same_year && delay != UINT64_MAX &&
            !(later == (delay >= SEC ? delay - SEC : 0))) {
            abort();
        }
    }
    /* Whole seconds: the clock is in seconds and so are the values. */
    if (delay != UINT64_MAX && delay % SEC != 0) {
        abort();
    }
    return 0;
}
