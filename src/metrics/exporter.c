/* The exporter: a set of named objects, each read through its source, and
 * the families they share, written family by family (both formats want
 * every sample of a family together).
 *
 * Everything a write needs is allocated when objects are added: the
 * values of each object's samples and where its metrics sit in the family
 * table. A write collects every object into its values, then writes each
 * family's lines from them, all under the exporter's lock, so a write
 * allocates nothing and a removed object is never read again. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/lock.h"
#include "internal.h"

#define DEFAULT_PREFIX "resilience"
#define TOTAL "_total"
#define TOTAL_LEN (sizeof TOTAL - 1)

/* One family: the first description of it that was added. */
typedef struct family {
    const rs_metric_desc *desc;
} family;

/* One object. `block` holds its values, its metrics' family indices and
 * its name. */
typedef struct entry {
    const rs_metrics_source *source;
    void *object;
    const void *key;      /* what rs_exporter_remove() matches */
    const char *name;
    double *values;       /* one per sample, filled by each write */
    uint32_t *families;   /* per metric of the source: index in the family table */
    size_t value_count;
    bool collected;       /* by the current write */
    void *block;
} entry;

struct rs_exporter {
    rs__mutex lock;
    char *prefix;          /* "" or the prefix and '_' */
    entry *entries;
    size_t entry_count, entry_cap;
    family *families;
    size_t family_count, family_cap;
};

int rs_exporter_new(const rs_exporter_config *cfg, rs_exporter **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_exporter_new: out is NULL");
    }
    const char *prefix = cfg != NULL && cfg->prefix != NULL ? cfg->prefix : DEFAULT_PREFIX;
    size_t len = strlen(prefix);
    if (len > 0 && !rs__metrics_valid_name(prefix, true)) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_exporter_config.prefix: \"%s\" is not a metric name "
                                 "(letters, digits, '_' and ':', not first a digit)",
                                 prefix);
    }
    rs_exporter *e = rs__calloc(1, sizeof *e);
    if (e == NULL) {
        return RS_E_NOMEM;
    }
    e->prefix = rs__malloc(len + 2);
    if (e->prefix == NULL || rs__mutex_init(&e->lock) != 0) {
        rs__free(e->prefix);
        rs__free(e);
        return RS_E_NOMEM;
    }
    memcpy(e->prefix, prefix, len);
    memcpy(e->prefix + len, len > 0 ? "_" : "", len > 0 ? 2 : 1);
    *out = e;
    return RS_OK;
}

void rs_exporter_free(rs_exporter *e)
{
    if (e == NULL) {
        return;
    }
    for (size_t i = 0; i < e->entry_count; i++) {
        rs__free(e->entries[i].block);
    }
    rs__free(e->entries);
    rs__free(e->families);
    rs__free(e->prefix);
    rs__mutex_destroy(&e->lock);
    rs__free(e);
}

/* ---- checking a source ------------------------------------------------------ */

static bool ends_with_total(const char *name)
{
    size_t len = strlen(name);
    return len > TOTAL_LEN && strcmp(name + len - TOTAL_LEN, TOTAL) == 0;
}

/* Suffixes the formats give a meaning of their own (summaries, histograms,
 * OpenMetrics' creation times and info metrics): a family named with one
 * would be read as something else. */
static bool has_reserved_suffix(const char *name)
{
    static const char *const reserved[] = { "_count", "_sum", "_bucket", "_created", "_info" };
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        size_t n = strlen(reserved[i]);
        if (len > n && strcmp(name + len - n, reserved[i]) == 0) {
            return true;
        }
    }
    return false;
}

static size_t label_value_count(const rs_metric_desc *d)
{
    size_t n = 0;
    if (d->label != NULL) {
        while (d->label_values[n] != NULL) {
            n++;
        }
    }
    return n;
}

/* Samples of one object in a family: one per label value, or one. */
static size_t samples_of(const rs_metric_desc *d)
{
    return d->label != NULL ? label_value_count(d) : 1;
}

static int refuse_metric(const rs_metrics_source *s, size_t i, const char *why)
{
    return rs_set_last_error(RS_E_INVAL, "rs_metrics_source \"%s\": metrics[%zu] (%s): %s",
                             s->kind != NULL ? s->kind : "?", i,
                             s->metrics[i].name != NULL ? s->metrics[i].name : "NULL", why);
}

static int check_desc(const rs_metrics_source *s, size_t i)
{
    const rs_metric_desc *d = &s->metrics[i];
    if (!rs__metrics_valid_name(d->name, false)) {
        return refuse_metric(s, i, "the name is not letters, digits and '_' (not first a digit)");
    }
    if (has_reserved_suffix(d->name)) {
        return refuse_metric(s, i, "the name ends in _count, _sum, _bucket, _created or _info, "
                                   "which the formats reserve");
    }
    if (d->help == NULL) {
        return refuse_metric(s, i, "help is NULL");
    }
    if (d->type != RS_METRIC_GAUGE && d->type != RS_METRIC_COUNTER) {
        return refuse_metric(s, i, "type is not an rs_metric_type");
    }
    if ((d->type == RS_METRIC_COUNTER) != ends_with_total(d->name)) {
        return refuse_metric(s, i, "a counter's name, and only a counter's, ends in _total");
    }
    if (d->label == NULL) {
        return d->label_values == NULL ? RS_OK : refuse_metric(s, i, "label values without a label");
    }
    if (!rs__metrics_valid_name(d->label, false) || strcmp(d->label, "name") == 0 ||
        strncmp(d->label, "__", 2) == 0) {
        return refuse_metric(s, i, "the label is not a label name, or is reserved (name, __*)");
    }
    if (d->label_values == NULL || d->label_values[0] == NULL) {
        return refuse_metric(s, i, "a label needs at least one value");
    }
    for (size_t a = 0; d->label_values[a] != NULL; a++) {
        for (size_t b = 0; b < a; b++) {
            if (strcmp(d->label_values[a], d->label_values[b]) == 0) {
                return refuse_metric(s, i, "a label value is listed twice");
            }
        }
    }
    return RS_OK;
}

static bool same_family_name(const rs_metric_desc *a, const rs_metric_desc *b);

static int check_source(const rs_metrics_source *s)
{
    if (s->metrics == NULL || s->metric_count == 0 || s->collect == NULL) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_metrics_source \"%s\": needs metrics and a collect function",
                                 s->kind != NULL ? s->kind : "?");
    }
    for (size_t i = 0; i < s->metric_count; i++) {
        int rc = check_desc(s, i);
        for (size_t j = 0; rc == RS_OK && j < i; j++) {
            if (same_family_name(&s->metrics[j], &s->metrics[i])) {
                rc = refuse_metric(s, i, "the family is declared twice");
            }
        }
        if (rc != RS_OK) {
            return rc;
        }
    }
    return RS_OK;
}

/* ---- the family table --------------------------------------------------------- */

/* The name a family goes by in OpenMetrics, without a counter's _total:
 * its length in `name`. */
static size_t family_name_len(const rs_metric_desc *d)
{
    size_t len = strlen(d->name);
    return d->type == RS_METRIC_COUNTER ? len - TOTAL_LEN : len;
}

static bool same_family_name(const rs_metric_desc *a, const rs_metric_desc *b)
{
    size_t len = family_name_len(a);
    return len == family_name_len(b) && strncmp(a->name, b->name, len) == 0;
}

static bool same_label(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The index of d's family, or e->family_count for a new one; RS_E_INVAL
 * when a family of that name is declared otherwise (also a gauge and a
 * counter whose OpenMetrics names would be the same). */
static int find_family(const rs_exporter *e, const rs_metric_desc *d, uint32_t *index)
{
    for (size_t i = 0; i < e->family_count; i++) {
        const rs_metric_desc *f = e->families[i].desc;
        if (!same_family_name(f, d)) {
            continue;
        }
        if (f->type != d->type || strcmp(f->name, d->name) != 0 || !same_label(f->label, d->label)) {
            return rs_set_last_error(RS_E_INVAL,
                                     "rs_exporter_add: the family %s is declared with another "
                                     "type or label by another kind of object",
                                     d->name);
        }
        *index = (uint32_t)i;
        return RS_OK;
    }
    *index = (uint32_t)e->family_count;
    return RS_OK;
}

static bool uses_family(const entry *en, uint32_t family_index)
{
    for (size_t m = 0; m < en->source->metric_count; m++) {
        if (en->families[m] == family_index) {
            return true;
        }
    }
    return false;
}

/* Room for one more entry and `more` more families; false when out of memory. */
static bool reserve(rs_exporter *e, size_t more)
{
    if (e->entry_count == e->entry_cap) {
        size_t cap = e->entry_cap != 0 ? 2 * e->entry_cap : 8;
        entry *grown = rs__calloc(cap, sizeof *grown);
        if (grown == NULL) {
            return false;
        }
        if (e->entry_count > 0) {
            memcpy(grown, e->entries, e->entry_count * sizeof *grown);
        }
        rs__free(e->entries);
        e->entries = grown;
        e->entry_cap = cap;
    }
    if (e->family_count + more > e->family_cap) {
        size_t cap = e->family_cap != 0 ? 2 * e->family_cap : 32;
        while (cap < e->family_count + more) {
            cap *= 2;
        }
        family *grown = rs__calloc(cap, sizeof *grown);
        if (grown == NULL) {
            return false;
        }
        if (e->family_count > 0) {
            memcpy(grown, e->families, e->family_count * sizeof *grown);
        }
        rs__free(e->families);
        e->families = grown;
        e->family_cap = cap;
    }
    return true;
}

/* Under the lock: adds an object whose source was checked. New families
 * are appended as they are met (a source may declare a family its other
 * metrics share) and dropped again if the object is refused. */
static int add_locked(rs_exporter *e, const rs__metrics_part *part, const void *key)
{
    const rs_metrics_source *s = part->source;
    size_t metrics = s->metric_count, values = 0;
    for (size_t m = 0; m < metrics; m++) {
        values += samples_of(&s->metrics[m]);
    }
    size_t name_len = strlen(part->name), suffix_size = strlen(part->suffix) + 1;
    void *block = rs__malloc(values * sizeof(double) + metrics * sizeof(uint32_t) + name_len +
                             suffix_size);
    if (block == NULL || !reserve(e, metrics)) {
        rs__free(block);
        return RS_E_NOMEM;
    }
    entry en = { s, part->object, key, NULL, block, NULL, values, false, block };
    en.families = (uint32_t *)(void *)(en.values + values);
    char *name = (char *)(en.families + metrics);
    memcpy(name, part->name, name_len);
    memcpy(name + name_len, part->suffix, suffix_size);
    en.name = name;

    size_t families_before = e->family_count;
    int rc = RS_OK;
    for (size_t m = 0; m < metrics && rc == RS_OK; m++) {
        rc = find_family(e, &s->metrics[m], &en.families[m]);
        if (rc == RS_OK && en.families[m] == e->family_count) {
            e->families[e->family_count++] = (family){ &s->metrics[m] };
        }
    }
    for (size_t i = 0; i < e->entry_count && rc == RS_OK; i++) {
        const entry *other = &e->entries[i];
        if (strcmp(other->name, name) != 0) {
            continue;
        }
        for (size_t m = 0; m < metrics; m++) {
            if (uses_family(other, en.families[m])) {
                rc = rs_set_last_error(RS_E_INVAL,
                                       "rs_exporter_add: a %s series named \"%s\" is there "
                                       "already: give the object another name",
                                       s->metrics[m].name, name);
                break;
            }
        }
    }
    if (rc != RS_OK) {
        e->family_count = families_before;
        rs__free(block);
        return rc;
    }
    e->entries[e->entry_count++] = en;
    return RS_OK;
}

int rs__exporter_add_parts(rs_exporter *e, const void *key, const rs__metrics_part *parts,
                           size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (!rs__metrics_valid_utf8(parts[i].name)) {
            return rs_set_last_error(RS_E_INVAL, "rs_exporter_add: name: not valid UTF-8, "
                                                 "which label values must be");
        }
        int rc = check_source(parts[i].source);
        if (rc != RS_OK) {
            return rc;
        }
    }
    rs__mutex_lock(&e->lock);
    size_t entries_before = e->entry_count, families_before = e->family_count;
    int rc = RS_OK;
    for (size_t i = 0; i < count && rc == RS_OK; i++) {
        rc = add_locked(e, &parts[i], key);
    }
    if (rc != RS_OK) { /* all or nothing */
        for (size_t i = entries_before; i < e->entry_count; i++) {
            rs__free(e->entries[i].block);
        }
        e->entry_count = entries_before;
        e->family_count = families_before;
    }
    rs__mutex_unlock(&e->lock);
    return rc;
}

int rs_exporter_add(rs_exporter *e, const char *name, const rs_metrics_source *source,
                    void *object)
{
    if (e == NULL || name == NULL || source == NULL || object == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_exporter_add: %s is NULL",
                                 e == NULL      ? "the exporter"
                                 : name == NULL ? "name"
                                 : source == NULL ? "source"
                                                  : "object");
    }
    rs__metrics_part part = { name, "", source, object };
    return rs__exporter_add_parts(e, object, &part, 1);
}

int rs_exporter_remove(rs_exporter *e, const void *object)
{
    if (e == NULL || object == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_exporter_remove: %s is NULL",
                                 e == NULL ? "the exporter" : "object");
    }
    rs__mutex_lock(&e->lock);
    size_t kept = 0;
    for (size_t i = 0; i < e->entry_count; i++) {
        if (e->entries[i].key == object) {
            rs__free(e->entries[i].block);
        } else {
            e->entries[kept++] = e->entries[i];
        }
    }
    bool removed = kept < e->entry_count;
    e->entry_count = kept;
    rs__mutex_unlock(&e->lock);
    return removed ? RS_OK
                   : rs_set_last_error(RS_E_INVAL, "rs_exporter_remove: nothing was added under "
                                                   "this object");
}

/* ---- writing ------------------------------------------------------------------- */

/* The first of en's values that belong to its metric m. */
static size_t first_value(const entry *en, size_t m)
{
    size_t first = 0;
    for (size_t i = 0; i < m; i++) {
        first += samples_of(&en->source->metrics[i]);
    }
    return first;
}

/* Whether any object has a sample in family f this time. */
static bool family_has_samples(const rs_exporter *e, uint32_t f)
{
    for (size_t i = 0; i < e->entry_count; i++) {
        const entry *en = &e->entries[i];
        for (size_t m = 0; en->collected && m < en->source->metric_count; m++) {
            if (en->families[m] != f) {
                continue;
            }
            size_t first = first_value(en, m), n = samples_of(&en->source->metrics[m]);
            for (size_t v = first; v < first + n; v++) {
                if (!isnan(en->values[v])) {
                    return true;
                }
            }
        }
    }
    return false;
}

/* `# HELP` and `# TYPE`: in OpenMetrics a counter family is named without
 * _total, TYPE comes first, and HELP escapes quotes too. */
static void write_header(rs__metrics_out *o, const char *prefix, const rs_metric_desc *d,
                         rs_metrics_format format)
{
    bool om = format == RS_METRICS_OPENMETRICS;
    size_t len = om ? family_name_len(d) : strlen(d->name);
    const char *type = d->type == RS_METRIC_COUNTER ? "counter" : "gauge";
    for (int line = 0; line < 2; line++) {
        bool help = (line == 0) != om;
        rs__metrics_puts(o, help ? "# HELP " : "# TYPE ");
        rs__metrics_puts(o, prefix);
        rs__metrics_put(o, d->name, len);
        rs__metrics_put(o, " ", 1);
        if (help) {
            rs__metrics_put_escaped(o, d->help, om);
        } else {
            rs__metrics_puts(o, type);
        }
        rs__metrics_put(o, "\n", 1);
    }
}

static void write_sample(rs__metrics_out *o, const char *prefix, const rs_metric_desc *d,
                         const char *object_name, const char *label_value, double value)
{
    rs__metrics_puts(o, prefix);
    rs__metrics_puts(o, d->name);
    rs__metrics_puts(o, "{name=\"");
    rs__metrics_put_escaped(o, object_name, true);
    if (label_value != NULL) {
        rs__metrics_puts(o, "\",");
        rs__metrics_puts(o, d->label);
        rs__metrics_puts(o, "=\"");
        rs__metrics_put_escaped(o, label_value, true);
    }
    rs__metrics_puts(o, "\"} ");
    rs__metrics_put_value(o, value);
    rs__metrics_put(o, "\n", 1);
}

static void write_family(const rs_exporter *e, rs__metrics_out *o, uint32_t f,
                         rs_metrics_format format)
{
    if (!family_has_samples(e, f)) {
        return;
    }
    write_header(o, e->prefix, e->families[f].desc, format);
    for (size_t i = 0; i < e->entry_count; i++) {
        const entry *en = &e->entries[i];
        for (size_t m = 0; en->collected && m < en->source->metric_count; m++) {
            if (en->families[m] != f) {
                continue;
            }
            const rs_metric_desc *d = &en->source->metrics[m];
            size_t first = first_value(en, m), n = samples_of(d);
            for (size_t v = 0; v < n; v++) {
                double value = en->values[first + v];
                if (!isnan(value)) {
                    write_sample(o, e->prefix, d, en->name,
                                 d->label != NULL ? d->label_values[v] : NULL, value);
                }
            }
        }
    }
}

static int write_locked(rs_exporter *e, rs__metrics_out *o, rs_metrics_format format)
{
    for (size_t i = 0; i < e->entry_count; i++) {
        entry *en = &e->entries[i];
        en->collected = en->source->collect(en->object, en->values, en->value_count) == RS_OK;
    }
    for (uint32_t f = 0; f < e->family_count && o->status == RS_OK; f++) {
        write_family(e, o, f, format);
    }
    if (format == RS_METRICS_OPENMETRICS) {
        rs__metrics_puts(o, "# EOF\n");
    }
    rs__metrics_out_finish(o);
    return o->status;
}

static bool known_format(rs_metrics_format format)
{
    return format == RS_METRICS_PROMETHEUS || format == RS_METRICS_OPENMETRICS;
}

int rs_exporter_write(rs_exporter *e, rs_metrics_format format, rs_metrics_write_fn fn,
                      void *ctx)
{
    if (e == NULL || fn == NULL || !known_format(format)) {
        return rs_set_last_error(RS_E_INVAL, "rs_exporter_write: %s",
                                 e == NULL    ? "the exporter is NULL"
                                 : fn == NULL ? "fn is NULL"
                                              : "unknown format");
    }
    rs__metrics_out o; /* its chunk on the stack: nothing allocated */
    rs__metrics_out_callback(&o, fn, ctx);
    rs__mutex_lock(&e->lock);
    int rc = write_locked(e, &o, format);
    rs__mutex_unlock(&e->lock);
    return rc;
}

int rs_exporter_write_buffer(rs_exporter *e, rs_metrics_format format, char *buf, size_t size,
                             size_t *needed)
{
    if (e == NULL || needed == NULL || (buf == NULL && size > 0) || !known_format(format)) {
        return rs_set_last_error(RS_E_INVAL, "rs_exporter_write_buffer: %s",
                                 e == NULL        ? "the exporter is NULL"
                                 : needed == NULL ? "needed is NULL"
                                 : buf == NULL    ? "buf is NULL with a size"
                                                  : "unknown format");
    }
    rs__metrics_out o;
    rs__metrics_out_buffer(&o, buf, size);
    rs__mutex_lock(&e->lock);
    (void)write_locked(e, &o, format);
    rs__mutex_unlock(&e->lock);
    *needed = o.total + 1;
    return o.total < size ? RS_OK : RS_E_NOMEM;
}
