/* Calendar arithmetic and the two instant syntaxes servers send: RFC 9110's
 * HTTP-date (three forms) and RFC 3339's date-time. Pure integer code on
 * the proleptic Gregorian calendar: no timegm, no mktime, no time zone
 * database, no locale, so it is thread-safe and the same everywhere. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arith.h"
#include "http/internal.h"

#define SECONDS_PER_DAY INT64_C(86400)
#define NS_PER_SEC UINT64_C(1000000000)
/* Days from 0000-03-01 to 1970-01-01, and in one 400-year cycle. */
#define EPOCH_SHIFT_DAYS INT64_C(719468)
#define DAYS_PER_ERA INT64_C(146097)

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Counting years from March makes February the last month, so its leap day
 * needs no special case: the day of the year is a linear formula of the
 * month. */
int64_t rs__http_days_from_civil(int64_t year, unsigned month, unsigned day)
{
    int64_t y = month <= 2 ? year - 1 : year;
    int64_t era = floor_div(y, 400);
    int64_t year_of_era = y - era * 400;
    int64_t month_from_march = month > 2 ? (int64_t)month - 3 : (int64_t)month + 9;
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + (int64_t)day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT_DAYS;
}

int64_t rs__http_year_of(int64_t unix_s)
{
    int64_t days = floor_div(unix_s, SECONDS_PER_DAY) + EPOCH_SHIFT_DAYS;
    int64_t era = floor_div(days, DAYS_PER_ERA);
    int64_t day_of_era = days - era * DAYS_PER_ERA;
    /* Undo the leap days of the era to find the year inside it. */
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;
    /* January and February belong to the next calendar year. */
    return era * 400 + year_of_era + (month_from_march >= 10 ? 1 : 0);
}

static bool is_leap(int64_t year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

unsigned rs__http_days_in_month(int64_t year, unsigned month)
{
    static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month < 1 || month > 12) {
        return 0;
    }
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

uint64_t rs__http_delay_until(int64_t at_unix_s, uint32_t at_nanos, int64_t now_unix_s)
{
    /* A fraction is at most one second: an earlier second is never later. */
    if (at_unix_s < now_unix_s) {
        return 0;
    }
    /* The difference fits 64 bits unsigned; modular subtraction gives it. */
    uint64_t seconds = (uint64_t)at_unix_s - (uint64_t)now_unix_s;
    return rs__sat_add(rs__sat_mul(seconds, NS_PER_SEC), at_nanos);
}

/* ---- a small reader over [at, end) ---- */

typedef struct reader {
    const char *at;
    const char *end;
} reader;

static bool take(reader *r, char c)
{
    if (r->at < r->end && *r->at == c) {
        r->at++;
        return true;
    }
    return false;
}

static bool take_digits(reader *r, size_t count, unsigned *out)
{
    if ((size_t)(r->end - r->at) < count) {
        return false;
    }
    unsigned value = 0;
    for (size_t i = 0; i < count; i++) {
        char c = r->at[i];
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + (unsigned)(c - '0');
    }
    r->at += count;
    *out = value;
    return true;
}

/* Three bytes as one key, letters lowercased. OR-ing 0x20 maps exactly an
 * upper- and a lowercase letter to the same value, so comparing with a key
 * made of lowercase letters matches those letters in any case and nothing
 * else. */
#define KEY3(a, b, c) (((uint32_t)(a) << 16) | ((uint32_t)(b) << 8) | (uint32_t)(c))

static bool take_key3(reader *r, uint32_t *key)
{
    if (r->end - r->at < 3) {
        return false;
    }
    *key = KEY3(r->at[0] | 0x20, r->at[1] | 0x20, r->at[2] | 0x20);
    r->at += 3;
    return true;
}

/* The rest of a lowercase name, in any case. */
static bool take_letters(reader *r, const char *lower, size_t len)
{
    if ((size_t)(r->end - r->at) < len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((r->at[i] | 0x20) != lower[i]) {
            return false;
        }
    }
    r->at += len;
    return true;
}

/* Monday is 0; -1 for no day name. */
static int take_day(reader *r)
{
    uint32_t key;
    if (!take_key3(r, &key)) {
        return -1;
    }
    switch (key) {
    case KEY3('m', 'o', 'n'): return 0;
    case KEY3('t', 'u', 'e'): return 1;
    case KEY3('w', 'e', 'd'): return 2;
    case KEY3('t', 'h', 'u'): return 3;
    case KEY3('f', 'r', 'i'): return 4;
    case KEY3('s', 'a', 't'): return 5;
    case KEY3('s', 'u', 'n'): return 6;
    default: return -1;
    }
}

/* What follows the three letters in the full name of each day. */
static const char *const day_name_rest[7] = { "day", "sday", "nesday", "rsday", "day", "urday", "day" };

static bool take_month(reader *r, unsigned *month)
{
    uint32_t key;
    if (!take_key3(r, &key)) {
        return false;
    }
    switch (key) {
    case KEY3('j', 'a', 'n'): *month = 1; return true;
    case KEY3('f', 'e', 'b'): *month = 2; return true;
    case KEY3('m', 'a', 'r'): *month = 3; return true;
    case KEY3('a', 'p', 'r'): *month = 4; return true;
    case KEY3('m', 'a', 'y'): *month = 5; return true;
    case KEY3('j', 'u', 'n'): *month = 6; return true;
    case KEY3('j', 'u', 'l'): *month = 7; return true;
    case KEY3('a', 'u', 'g'): *month = 8; return true;
    case KEY3('s', 'e', 'p'): *month = 9; return true;
    case KEY3('o', 'c', 't'): *month = 10; return true;
    case KEY3('n', 'o', 'v'): *month = 11; return true;
    case KEY3('d', 'e', 'c'): *month = 12; return true;
    default: return false;
    }
}

typedef struct civil_time {
    int64_t year;
    unsigned month, day, hour, minute, second;
} civil_time;

/* time-of-day = hour ":" minute ":" second, two digits each. */
static bool take_time_of_day(reader *r, civil_time *t)
{
    return take_digits(r, 2, &t->hour) && take(r, ':') && take_digits(r, 2, &t->minute) &&
           take(r, ':') && take_digits(r, 2, &t->second);
}

static bool take_gmt(reader *r)
{
    return take_letters(r, "gmt", 3);
}

/* Second 60 is a leap second, which Unix time folds into the next minute. */
static bool valid_time(const civil_time *t)
{
    return t->month >= 1 && t->month <= 12 && t->day >= 1 &&
           t->day <= rs__http_days_in_month(t->year, t->month) && t->hour <= 23 &&
           t->minute <= 59 && t->second <= 60;
}

static int64_t unix_time(const civil_time *t)
{
    return rs__http_days_from_civil(t->year, t->month, t->day) * SECONDS_PER_DAY +
           (int64_t)t->hour * 3600 + (int64_t)t->minute * 60 + (int64_t)t->second;
}

/* RFC 9110 section 5.6.7: a two-digit year that would be more than 50 years
 * in the future is the most recent past year with those digits; so the
 * year lies in (now - 50, now + 50]. */
static int64_t full_year(unsigned two_digits, int64_t now_unix_s)
{
    int64_t now_year = rs__http_year_of(now_unix_s);
    int64_t year = now_year - (now_year % 100 + 100) % 100 + (int64_t)two_digits;
    if (year > now_year + 50) {
        year -= 100;
    } else if (year <= now_year - 50) {
        year += 100;
    }
    return year;
}

/* IMF-fixdate after the day name: ", 06 Nov 1994 08:49:37 GMT". */
static bool imf_fixdate(reader *r, civil_time *t)
{
    unsigned year;
    if (!(take(r, ',') && take(r, ' ') && take_digits(r, 2, &t->day) && take(r, ' ') &&
          take_month(r, &t->month) && take(r, ' ') && take_digits(r, 4, &year) &&
          take(r, ' ') && take_time_of_day(r, t) && take(r, ' ') && take_gmt(r))) {
        return false;
    }
    t->year = year;
    return true;
}

/* rfc850-date after the day name: ", 06-Nov-94 08:49:37 GMT". */
static bool rfc850_date(reader *r, int64_t now_unix_s, civil_time *t)
{
    unsigned year;
    if (!(take(r, ',') && take(r, ' ') && take_digits(r, 2, &t->day) && take(r, '-') &&
          take_month(r, &t->month) && take(r, '-') && take_digits(r, 2, &year) &&
          take(r, ' ') && take_time_of_day(r, t) && take(r, ' ') && take_gmt(r))) {
        return false;
    }
    t->year = full_year(year, now_unix_s);
    return true;
}

/* asctime-date after the day name: " Nov  6 08:49:37 1994"; the day is two
 * digits or a space and one digit. */
static bool asctime_date(reader *r, civil_time *t)
{
    unsigned year;
    if (!(take(r, ' ') && take_month(r, &t->month) && take(r, ' '))) {
        return false;
    }
    bool day_ok = take(r, ' ') ? take_digits(r, 1, &t->day) : take_digits(r, 2, &t->day);
    if (!(day_ok && take(r, ' ') && take_time_of_day(r, t) && take(r, ' ') &&
          take_digits(r, 4, &year))) {
        return false;
    }
    t->year = year;
    return true;
}

bool rs__http_date(const char *s, size_t len, int64_t now_unix_s, int64_t *unix_s)
{
    reader r = { s, s + len };
    civil_time t = { 0, 0, 0, 0, 0, 0 };
    int day = take_day(&r);
    if (day < 0 || r.at == r.end) {
        return false;
    }
    bool parsed;
    if (*r.at == ',') {
        parsed = imf_fixdate(&r, &t);
    } else if (*r.at == ' ') {
        parsed = asctime_date(&r, &t);
    } else {
        const char *rest = day_name_rest[day];
        parsed = take_letters(&r, rest, strlen(rest)) && rfc850_date(&r, now_unix_s, &t);
    }
    if (!parsed || r.at != r.end || !valid_time(&t)) {
        return false;
    }
    *unix_s = unix_time(&t);
    return true;
}

static bool take_either(reader *r, char a, char b)
{
    return take(r, a) || take(r, b);
}

bool rs__http_rfc3339(const char *s, size_t len, int64_t *unix_s, uint32_t *nanos)
{
    reader r = { s, s + len };
    civil_time t = { 0, 0, 0, 0, 0, 0 };
    unsigned year;
    /* RFC 3339 section 5.6 allows a space for the T, and either case. */
    if (!(take_digits(&r, 4, &year) && take(&r, '-') && take_digits(&r, 2, &t.month) &&
          take(&r, '-') && take_digits(&r, 2, &t.day) &&
          (take_either(&r, 'T', 't') || take(&r, ' ')) && take_time_of_day(&r, &t))) {
        return false;
    }
    t.year = year;
    uint64_t fraction_ns = 0;
    if (r.at < r.end && *r.at == '.') {
        rs__http_decimal d;
        size_t used = rs__http_scan_decimal(r.at, (size_t)(r.end - r.at), &d);
        if (used < 2) { /* the point needs a digit after it */
            return false;
        }
        r.at += used;
        fraction_ns = rs__http_decimal_ns(&d, 1000000000);
    }
    int64_t offset_s = 0;
    if (!take_either(&r, 'Z', 'z')) {
        bool east = take(&r, '+');
        if (!east && !take(&r, '-')) {
            return false;
        }
        unsigned hours, minutes;
        if (!(take_digits(&r, 2, &hours) && take(&r, ':') && take_digits(&r, 2, &minutes)) ||
            hours > 23 || minutes > 59) {
            return false;
        }
        offset_s = (int64_t)hours * 3600 + (int64_t)minutes * 60;
        offset_s = east ? offset_s : -offset_s;
    }
    if (r.at != r.end || !valid_time(&t)) {
        return false;
    }
    *unix_s = unix_time(&t) - offset_s;
    *nanos = (uint32_t)fraction_ns;
    return true;
}
