/* Shared by the exporter (exporter.c), its text output (format.c) and the
 * library's own metric sources (sources.c). Not installed. */
#ifndef RS_METRICS_INTERNAL_H
#define RS_METRICS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "resilience/metrics.h"

/* Where an exposition goes: a caller's callback, in chunks of a stack
 * buffer, or a caller's buffer, as much as fits (the rest only counted). */
typedef struct rs__metrics_out {
    rs_metrics_write_fn fn; /* callback mode when not NULL */
    void *ctx;
    char *buf;              /* buffer mode: `size` bytes, the last for the NUL */
    size_t size;
    size_t total;           /* bytes of exposition produced so far */
    size_t pending;         /* callback mode: bytes waiting in `chunk` */
    int status;             /* RS_E_IO once the callback asked to stop */
    char chunk[4096];
} rs__metrics_out;

void rs__metrics_out_callback(rs__metrics_out *o, rs_metrics_write_fn fn, void *ctx);
void rs__metrics_out_buffer(rs__metrics_out *o, char *buf, size_t size);
/* Hands what is pending to the callback, or NUL-terminates the buffer. */
void rs__metrics_out_finish(rs__metrics_out *o);

void rs__metrics_put(rs__metrics_out *o, const char *s, size_t n);
void rs__metrics_puts(rs__metrics_out *o, const char *s);
/* s with `\` and newlines escaped (and `"` too when `quote`): the escaping
 * of label values (quote) and of HELP text (quote in OpenMetrics only). */
void rs__metrics_put_escaped(rs__metrics_out *o, const char *s, bool quote);
/* A sample value as both formats read it: integers exactly, other finite
 * values in the shortest of %.15g and %.17g that reads back the same,
 * whatever the C locale's decimal point; +Inf, -Inf, NaN. */
void rs__metrics_put_value(rs__metrics_out *o, double value);

/* One object to add: its name is `name` followed by `suffix`. */
typedef struct rs__metrics_part {
    const char *name;
    const char *suffix;
    const rs_metrics_source *source;
    void *object;
} rs__metrics_part;

/* Adds every part, all or none, under the key rs_exporter_remove() will
 * match (a client's modules go with the client). e and every part's name,
 * source and object must be non-NULL. */
int rs__exporter_add_parts(rs_exporter *e, const void *key, const rs__metrics_part *parts,
                           size_t count);

/* [a-zA-Z_:][a-zA-Z0-9_:]*, without ':' when !colons (label names). */
bool rs__metrics_valid_name(const char *s, bool colons);

/* Whether s is valid UTF-8 (no overlong forms, surrogates or code points
 * beyond U+10FFFF): label values must be. */
bool rs__metrics_valid_utf8(const char *s);

/* Nanoseconds as seconds; UINT64_MAX ("never") as +Inf. */
double rs__metrics_seconds(uint64_t ns);

#endif /* RS_METRICS_INTERNAL_H */
