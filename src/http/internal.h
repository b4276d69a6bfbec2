/* Shared by the files of src/http/: the lexical helpers, the date and
 * duration readers and the Structured Field Values (RFC 9651) reader. Not
 * installed. Every reader takes (pointer, length), never reads past it, and
 * reports failure without writing its outputs. */
#ifndef RS_HTTP_INTERNAL_H
#define RS_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- lex.c: bytes, numbers ---- */

/* Drops optional whitespace (SP, HTAB) from both ends of [*s, *s + *len). */
void rs__http_trim(const char **s, size_t *len);

/* ASCII case-insensitive equality of s[0..len) and `lower`, of the same
 * length, made of lowercase letters, digits and '-' only. */
bool rs__http_lower_equals(const char *s, const char *lower, size_t len);

/* A decimal number as read, before it is scaled to a unit: the integer part
 * (saturating), the first 18 fraction digits and whether a non-zero digit
 * came after them. Enough to scale to nanoseconds rounding up exactly. */
typedef struct rs__http_decimal {
    uint64_t whole;        /* saturates at UINT64_MAX */
    uint64_t fraction;     /* the first `fraction_digits` digits after the point */
    uint32_t fraction_digits;
    bool fraction_rest;    /* a non-zero digit beyond those */
    bool has_whole;        /* at least one digit before the point */
    bool has_point;
} rs__http_decimal;

/* Reads the longest `*DIGIT ["." *DIGIT]` at the start of s[0..len);
 * returns the bytes used (0 when s does not start with a digit or a point). */
size_t rs__http_scan_decimal(const char *s, size_t len, rs__http_decimal *out);

/* value * unit_ns, rounded up to a whole nanosecond, saturating. */
uint64_t rs__http_decimal_ns(const rs__http_decimal *d, uint64_t unit_ns);

/* The whole of s[0..len) is 1*DIGIT: its value, saturating at UINT64_MAX. */
bool rs__http_digits(const char *s, size_t len, uint64_t *out);

/* The whole of s[0..len), whitespace around allowed, is 1*DIGIT ["." 1*DIGIT]
 * (with_fraction) or 1*DIGIT: the number as read. */
bool rs__http_number(const char *s, size_t len, bool with_fraction, rs__http_decimal *out);

/* rs__http_number() times unit_ns, rounded up. */
bool rs__http_number_ns(const char *s, size_t len, uint64_t unit_ns, bool with_fraction,
                        uint64_t *out_ns);

/* The whole of s[0..len), whitespace around allowed, is 1*DIGIT: a count,
 * saturating at INT64_MAX. */
bool rs__http_count(const char *s, size_t len, int64_t *out);

/* ---- date.c: calendar, HTTP-date, RFC 3339 ---- */

/* Days from 1970-01-01 to year-month-day of the proleptic Gregorian
 * calendar; month 1-12, day 1-31, |year| below 2^40. */
int64_t rs__http_days_from_civil(int64_t year, unsigned month, unsigned day);

/* The Gregorian year that Unix time t falls in (any int64). */
int64_t rs__http_year_of(int64_t unix_s);

/* Days in the month (1-12) of the year. */
unsigned rs__http_days_in_month(int64_t year, unsigned month);

/* An HTTP-date of any of RFC 9110's three forms, whole: the Unix time it
 * names (a two-digit year resolved against now_unix_s's year). */
bool rs__http_date(const char *s, size_t len, int64_t now_unix_s, int64_t *unix_s);

/* An RFC 3339 date-time, whole: the Unix time in seconds and the fraction
 * in nanoseconds, rounded up (it may reach 1e9 when a fraction of more than
 * nine digits rounds up to the next second). */
bool rs__http_rfc3339(const char *s, size_t len, int64_t *unix_s, uint32_t *nanos);

/* The delay from now_unix_s until at_unix_s + at_nanos: 0 when that is not
 * later, saturating at UINT64_MAX. */
uint64_t rs__http_delay_until(int64_t at_unix_s, uint32_t at_nanos, int64_t now_unix_s);

/* ---- duration.c ---- */

/* A Go time.Duration string as OpenAI's reset headers send it, whole:
 * `6m0s`, `250ms`, `1h2m3.5s`, `0`. Rounded up, saturating; no sign. */
bool rs__http_duration(const char *s, size_t len, uint64_t *out_ns);

/* ---- structured.c: Structured Field Values (RFC 9651) ---- */

typedef enum rs__sf_kind {
    RS__SF_INTEGER,
    RS__SF_DECIMAL,
    RS__SF_STRING,
    RS__SF_TOKEN,
    RS__SF_BINARY,
    RS__SF_BOOLEAN,
    RS__SF_DATE,
    RS__SF_DISPLAY_STRING,
    RS__SF_INNER_LIST
} rs__sf_kind;

/* A bare item (or an inner list, whose members are checked and skipped). */
typedef struct rs__sf_value {
    rs__sf_kind kind;
    int64_t integer;   /* INTEGER, DATE, BOOLEAN (0 or 1) */
    const char *text;  /* STRING: the bytes between the quotes, escapes
                          included; TOKEN: the token */
    size_t text_len;
} rs__sf_value;

/* A reading position in a field value. */
typedef struct rs__sf_cursor {
    const char *at;
    const char *end;
} rs__sf_cursor;

/* Starts reading s[0..len), whitespace around dropped. */
void rs__sf_start(rs__sf_cursor *c, const char *s, size_t len);

/* A member value: a bare item or an inner list (with its items' parameters). */
bool rs__sf_member_value(rs__sf_cursor *c, rs__sf_value *out);

/* A key: lcalpha or "*", then lcalpha, DIGIT, "_", "-", ".", "*". */
bool rs__sf_key(rs__sf_cursor *c, const char **key, size_t *key_len);

/* The next parameter: 1 and *key, *value when one was read, 0 when the
 * parameters end here, -1 when malformed. A parameter without a value is
 * Boolean true. */
int rs__sf_next_param(rs__sf_cursor *c, const char **key, size_t *key_len,
                      rs__sf_value *value);

/* Checks and passes over the parameters at the reading position. */
bool rs__sf_skip_params(rs__sf_cursor *c);

/* Between members of a List or Dictionary: 1 after a comma (another member
 * must follow), 0 at the end of the value, -1 when malformed. */
int rs__sf_next_member(rs__sf_cursor *c);

/* A key is exactly the lowercase `name` (NUL-terminated). Inline: the
 * field readers ask it of every parameter. */
static inline bool rs__sf_key_is(const char *key, size_t key_len, const char *name)
{
    size_t i = 0;
    for (; i < key_len; i++) {
        if (name[i] == '\0' || name[i] != key[i]) {
            return false;
        }
    }
    return name[i] == '\0';
}

/* ---- ietf.c: the IETF RateLimit fields ---- */

/* What one header says about one quota; feedback.c merges it into a slot.
 * A whole_quota update (the structured RateLimit field) describes one quota
 * completely: its remaining and reset stay together, and an absent remaining
 * means "not limited by count". Other headers each state one fact about
 * their slot's quota. */
typedef struct rs__http_quota_update {
    int64_t limit, remaining;
    uint64_t reset_ns, window_ns; /* window_ns goes with limit */
    double rate; /* the least limit / window among the policies with both; 0 = none */
    bool has_limit, has_remaining, has_reset;
    bool whole_quota;
} rs__http_quota_update;

/* limit per window_ns as requests per second; 0 when either is 0 or the
 * limit is not given (always finite: a window is at least a second here,
 * or else at least a nanosecond and the limit below 2^63). */
static inline double rs__http_rate(int64_t limit, uint64_t window_ns)
{
    return limit > 0 && window_ns > 0 ? (double)limit * 1e9 / (double)window_ns : 0.0;
}

/* Keeps in *least the lower of two rates where 0 means none. */
static inline void rs__http_keep_least_rate(double *least, double rate)
{
    if (rate > 0.0 && (*least == 0.0 || rate < *least)) {
        *least = rate;
    }
}

/* A quota's (remaining, reset) is more restrictive than another's: less
 * remaining, or as much and a later reset. An unknown remaining (-1) ranks
 * as the largest, so "nothing known" is the least restrictive of all. */
static inline bool rs__http_tighter_quota(int64_t remaining, uint64_t reset_ns,
                                          int64_t than_remaining, uint64_t than_reset_ns)
{
    uint64_t mine = remaining < 0 ? UINT64_MAX : (uint64_t)remaining;
    uint64_t theirs = than_remaining < 0 ? UINT64_MAX : (uint64_t)than_remaining;
    return mine < theirs || (mine == theirs && reset_ns > than_reset_ns);
}

/* A (limit, window) is more restrictive than another: the other unknown
 * (-1), a smaller limit, or as large a limit over a longer window. */
static inline bool rs__http_tighter_limit(int64_t limit, uint64_t window_ns, int64_t than_limit,
                                          uint64_t than_window_ns)
{
    return than_limit < 0 || limit < than_limit ||
           (limit == than_limit && window_ns > than_window_ns);
}

#define RS__HTTP_NO_UPDATE                                                               \
    ((rs__http_quota_update){ -1, -1, 0, 0, 0.0, false, false, false, false })

/* RateLimit: a List of `"name";r=N;t=S` (draft 08 on), or a Dictionary
 * `limit=N, remaining=N, reset=S` (drafts 03 to 07). */
bool rs__http_ietf_ratelimit(const char *s, size_t len, rs__http_quota_update *u);

/* RateLimit-Policy: a List of `"name";q=N;w=S` (08 on) or `N;w=S` (03-07). */
bool rs__http_ietf_policy(const char *s, size_t len, rs__http_quota_update *u);

/* RateLimit-Limit (drafts 00-02): a List of Integers, the first one the limit. */
bool rs__http_ietf_limit(const char *s, size_t len, rs__http_quota_update *u);

/* RateLimit-Remaining, RateLimit-Reset: one non-negative Integer Item. */
bool rs__http_ietf_integer(const char *s, size_t len, int64_t *out);

#endif /* RS_HTTP_INTERNAL_H */
