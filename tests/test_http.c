/* HTTP: status classes and their overrides, Retry-After (RFC 9110's three
 * date forms, two-digit years, leap years, saturation, a long table of
 * garbage), every header dialect the feedback reads, with real-world
 * samples, apply(), and the server side's formatting read back.
 *
 * Every value handed to a parser lives in a heap block of exactly its
 * length, so ASan catches a read past the length (values are not
 * NUL-terminated). */
#include "support/testing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/http.h"

#define SEC UINT64_C(1000000000)
#define MS UINT64_C(1000000)
#define UNTOUCHED UINT64_C(0xDEADBEEF)

/* 1994-11-06 08:49:37 UTC, the instant of RFC 9110's examples. */
#define RFC_EXAMPLE_S INT64_C(784111777)
/* 2024-01-01 00:00:00 UTC */
#define NEW_YEAR_2024_S INT64_C(1704067200)
/* 2026-06-01 00:00:00 UTC */
#define JUNE_2026_S INT64_C(1780272000)

/* A copy of s without its NUL, in a block of exactly strlen(s) bytes. */
static char *exact(const char *s)
{
    size_t len = strlen(s);
    char *copy = malloc(len == 0 ? 1 : len);
    assert_non_null(copy);
    memcpy(copy, s, len);
    return copy;
}

static int retry_after(const char *value, int64_t now, uint64_t *delay_ns)
{
    char *copy = exact(value);
    int rc = rs_http_retry_after(copy, strlen(value), now, delay_ns);
    free(copy);
    return rc;
}

static int feed(rs_http_feedback *f, const char *name, const char *value, int64_t now)
{
    char *name_copy = exact(name);
    char *value_copy = exact(value);
    int rc = rs_http_feedback_header(f, name_copy, strlen(name), value_copy, strlen(value), now);
    free(name_copy);
    free(value_copy);
    return rc;
}

static void feed_ok(rs_http_feedback *f, const char *name, const char *value, int64_t now)
{
    int rc = feed(f, name, value, now);
    if (rc != RS_OK) {
        fail_msg("%s: %s gave %d", name, value, rc);
    }
}

typedef struct field {
    const char *name, *value;
} field;

/* A response's headers, each of which must be read. */
static void feed_all(rs_http_feedback *f, const field *fields, size_t count, int64_t now)
{
    for (size_t i = 0; i < count; i++) {
        feed_ok(f, fields[i].name, fields[i].value, now);
    }
}

#define FEED_ALL(f, fields, now) feed_all(f, fields, RS_TEST_ARRAY_LEN(fields), now)

/* ---- status classes ------------------------------------------------------ */

/* The documented defaults, written the obvious way. */
static rs_verdict reference_verdict(int status, bool *caller_fault)
{
    *caller_fault = status >= 400 && status <= 499 && status != 408;
    if (status >= 100 && status <= 399) {
        return RS_SUCCESS;
    }
    if (status == 408 || status == 425 || status == 429) {
        return RS_RETRY;
    }
    if (status >= 500 && status <= 599) {
        bool final = status == 501 || status == 505 || status == 506 || status == 508 ||
                     status == 510 || status == 511;
        return final ? RS_FAIL : RS_RETRY;
    }
    return RS_FAIL;
}

static void classify_defaults_match_the_documented_table(void **state)
{
    (void)state;
    rs_http_classifier table;
    rs_http_classifier_init(&table);
    for (int status = -1000; status <= 1000; status++) {
        bool expected_fault, fault = !false, table_fault = true;
        rs_verdict expected = reference_verdict(status, &expected_fault);
        assert_int_equal(rs_http_classify(status, &fault), expected);
        assert_int_equal(fault, expected_fault);
        assert_int_equal(rs_http_classify(status, NULL), expected);
        assert_int_equal(rs_http_classify_with(&table, status, &table_fault), expected);
        assert_int_equal(table_fault, expected_fault);
        assert_int_equal(rs_http_classify_with(NULL, status, &table_fault), expected);
    }
    static const struct {
        int status;
        rs_verdict verdict;
        bool caller_fault;
    } spot[] = {
        { 100, RS_SUCCESS, false }, { 200, RS_SUCCESS, false }, { 204, RS_SUCCESS, false },
        { 304, RS_SUCCESS, false }, { 399, RS_SUCCESS, false }, { 400, RS_FAIL, true },
        { 401, RS_FAIL, true },     { 404, RS_FAIL, true },     { 408, RS_RETRY, false },
        { 409, RS_FAIL, true },     { 425, RS_RETRY, true },    { 429, RS_RETRY, true },
        { 499, RS_FAIL, true },     { 500, RS_RETRY, false },   { 501, RS_FAIL, false },
        { 502, RS_RETRY, false },   { 503, RS_RETRY, false },   { 504, RS_RETRY, false },
        { 505, RS_FAIL, false },    { 506, RS_FAIL, false },    { 507, RS_RETRY, false },
        { 508, RS_FAIL, false },    { 509, RS_RETRY, false },   { 510, RS_FAIL, false },
        { 511, RS_FAIL, false },    { 599, RS_RETRY, false },   { 0, RS_FAIL, false },
        { 99, RS_FAIL, false },     { 600, RS_FAIL, false },    { -429, RS_FAIL, false },
        { INT32_MIN, RS_FAIL, false }, { INT32_MAX, RS_FAIL, false },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(spot); i++) {
        bool fault = !spot[i].caller_fault;
        assert_int_equal(rs_http_classify(spot[i].status, &fault), spot[i].verdict);
        assert_int_equal(fault, spot[i].caller_fault);
    }
}

static void a_classifier_overrides_ranges(void **state)
{
    (void)state;
    rs_http_classifier c;
    rs_http_classifier_init(&c);
    assert_int_equal(rs_http_classifier_set(&c, 409, 409, RS_RETRY, false), RS_OK);
    assert_int_equal(rs_http_classifier_set(&c, 503, 503, RS_FAIL, false), RS_OK);
    assert_int_equal(rs_http_classifier_set(&c, 300, 399, RS_FAIL, true), RS_OK);
    bool fault = true;
    assert_int_equal(rs_http_classify_with(&c, 409, &fault), RS_RETRY);
    assert_false(fault);
    assert_int_equal(rs_http_classify_with(&c, 503, &fault), RS_FAIL);
    assert_int_equal(rs_http_classify_with(&c, 302, &fault), RS_FAIL);
    assert_true(fault);
    /* The rest keeps its defaults; outside the table is always RS_FAIL. */
    for (int status = -10; status <= 700; status++) {
        if (status == 409 || status == 503 || (status >= 300 && status <= 399)) {
            continue;
        }
        bool expected_fault;
        rs_verdict expected = reference_verdict(status, &expected_fault);
        assert_int_equal(rs_http_classify_with(&c, status, &fault), expected);
        assert_int_equal(fault, expected_fault);
    }
    /* The edges of the table. */
    assert_int_equal(rs_http_classifier_set(&c, 100, 100, RS_RETRY, false), RS_OK);
    assert_int_equal(rs_http_classifier_set(&c, 599, 599, RS_SUCCESS, false), RS_OK);
    assert_int_equal(rs_http_classify_with(&c, 100, NULL), RS_RETRY);
    assert_int_equal(rs_http_classify_with(&c, 599, NULL), RS_SUCCESS);
    /* A rule written by hand with no verdict in it reads as RS_FAIL. */
    c.rules[200 - RS_HTTP_STATUS_MIN] = 0x03 | RS_HTTP_CALLER_FAULT;
    assert_int_equal(rs_http_classify_with(&c, 200, &fault), RS_FAIL);
    assert_true(fault);
}

static void a_classifier_refuses_bad_ranges_and_verdicts(void **state)
{
    (void)state;
    rs_http_classifier c, before;
    rs_http_classifier_init(&c);
    before = c;
    static const struct {
        int first, last;
        int verdict;
    } bad[] = {
        { 99, 200, RS_RETRY },  { 200, 600, RS_RETRY }, { 300, 299, RS_RETRY },
        { -5, -1, RS_RETRY },   { 600, 700, RS_RETRY }, { 200, 200, 3 },
        { 200, 200, -1 },       { INT32_MIN, INT32_MAX, RS_FAIL },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        rs_set_last_error(RS_OK, NULL);
        assert_int_equal(rs_http_classifier_set(&c, bad[i].first, bad[i].last,
                                                (rs_verdict)bad[i].verdict, false),
                         RS_E_INVAL);
        assert_true(strstr(rs_last_error(), "rs_http_classifier_set") != NULL);
        assert_memory_equal(&c, &before, sizeof c);
    }
    assert_int_equal(rs_http_classifier_set(NULL, 200, 200, RS_FAIL, false), RS_E_INVAL);
    rs_http_classifier_init(NULL);
}

/* ---- Retry-After --------------------------------------------------------- */

typedef struct delay_case {
    const char *value;
    int64_t now;
    uint64_t delay_ns;
} delay_case;

static void check_delays(const delay_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint64_t delay = UNTOUCHED;
        int rc = retry_after(cases[i].value, cases[i].now, &delay);
        if (rc != RS_OK || delay != cases[i].delay_ns) {
            fail_msg("Retry-After \"%s\" (now %lld): rc %d, delay %llu, expected %llu",
                     cases[i].value, (long long)cases[i].now, rc, (unsigned long long)delay,
                     (unsigned long long)cases[i].delay_ns);
        }
    }
}

static void retry_after_reads_delta_seconds(void **state)
{
    (void)state;
    static const delay_case cases[] = {
        { "120", 0, 120 * SEC },  /* RFC 9110's example */
        { "0", 0, 0 },
        { "1", 0, SEC },
        { "007", 0, 7 * SEC },
        { " 5", 0, 5 * SEC },
        { "5 ", 0, 5 * SEC },
        { "\t 5 \t", 0, 5 * SEC },
        { "18446744073", 0, UINT64_C(18446744073) * SEC },
        /* Past 64-bit nanoseconds: saturates, never wraps. */
        { "18446744074", 0, UINT64_MAX },
        { "99999999999999999999999999999999999999", 0, UINT64_MAX },
        { "120", INT64_MIN, 120 * SEC }, /* a delta ignores the clock */
    };
    check_delays(cases, RS_TEST_ARRAY_LEN(cases));
}

static void retry_after_reads_the_three_date_forms(void **state)
{
    (void)state;
    const int64_t before = RFC_EXAMPLE_S - 100;
    static const char *const forms[] = {
        "Sun, 06 Nov 1994 08:49:37 GMT",  /* IMF-fixdate */
        "Sunday, 06-Nov-94 08:49:37 GMT", /* obsolete RFC 850 */
        "Sun Nov  6 08:49:37 1994",       /* ANSI C asctime() */
        "sun, 06 nov 1994 08:49:37 gmt",  /* names in any case */
        "SUNDAY, 06-NOV-94 08:49:37 GMT",
        "SUN NOV  6 08:49:37 1994",
        "  Sun, 06 Nov 1994 08:49:37 GMT\t",
        "Mon, 06 Nov 1994 08:49:37 GMT", /* the day name is not checked against the date */
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(forms); i++) {
        delay_case cases[] = {
            { forms[i], before, 100 * SEC },
            { forms[i], RFC_EXAMPLE_S - 1, SEC },
            { forms[i], RFC_EXAMPLE_S, 0 },      /* now: no wait */
            { forms[i], RFC_EXAMPLE_S + 1, 0 },  /* the past: no wait */
            { forms[i], INT64_MAX, 0 },
        };
        check_delays(cases, RS_TEST_ARRAY_LEN(cases));
    }
    static const delay_case more[] = {
        { "Sun Nov 16 08:49:37 1994", RFC_EXAMPLE_S, 10 * 86400 * SEC },
        { "Wed, 16 Nov 1994 08:49:37 GMT", RFC_EXAMPLE_S, 10 * 86400 * SEC },
        { "Thu, 01 Jan 1970 00:00:00 GMT", -5, 5 * SEC },
        { "Thu, 01 Jan 1970 00:00:10 GMT", 0, 10 * SEC },
        /* 584 years of nanoseconds is all a uint64_t holds. */
        { "Fri, 31 Dec 9999 23:59:59 GMT", 0, UINT64_MAX },
        { "Fri, 31 Dec 9999 23:59:59 GMT", INT64_C(253402300799) - 7, 7 * SEC },
        { "Fri, 31 Dec 9999 23:59:59 GMT", INT64_MIN, UINT64_MAX }, /* saturates */
        { "Sat, 01 Jan 0000 00:00:00 GMT", INT64_MIN, UINT64_MAX },
        { "Mon, 01 Jan 0001 00:00:00 GMT", INT64_C(-62135596800) - 1, SEC },
        /* A leap second counts as the next minute's second 0. */
        { "Sat, 31 Dec 2016 23:59:60 GMT", INT64_C(1483228800) - 1, SEC },
        { "Sat, 31 Dec 2016 23:59:59 GMT", INT64_C(1483228800) - 1, 0 },
        /* Leap years: 2024 and 2000 have 29 February, 1900 does not. */
        { "Thu, 29 Feb 2024 00:00:00 GMT", INT64_C(1709164800) - 2, 2 * SEC },
        { "Tue, 29 Feb 2000 12:00:00 GMT", INT64_C(951825600) - 1, SEC },
        { "Tuesday, 29-Feb-00 12:00:00 GMT", INT64_C(951825600) - 1, SEC },
        { "Tue Feb 29 12:00:00 2000", INT64_C(951825600) - 1, SEC },
    };
    check_delays(more, RS_TEST_ARRAY_LEN(more));
}

/* RFC 9110 section 5.6.7: a two-digit year more than 50 years in the future
 * is the most recent past year with those digits. */
static void retry_after_resolves_two_digit_years(void **state)
{
    (void)state;
    /* Now is 2026: 76 is 2076 (50 years ahead), 77 is 1977. */
    static const delay_case cases[] = {
        { "Friday, 06-Nov-76 08:49:37 GMT", JUNE_2026_S,
          (uint64_t)(INT64_C(3371878177) - JUNE_2026_S) * SEC },
        { "Sunday, 06-Nov-77 08:49:37 GMT", JUNE_2026_S, 0 },
        { "Sunday, 06-Nov-77 08:49:37 GMT", INT64_C(247654177) - 3, 3 * SEC },
        { "Sunday, 06-Nov-94 08:49:37 GMT", JUNE_2026_S, 0 },
        /* Just before 2100: "00" is 2100, one year ahead, not 2000. */
        { "Friday, 01-Jan-00 00:00:00 GMT", INT64_C(4102444800) - 7, 7 * SEC },
        /* In 1990, "40" is 2040 (50 years ahead, not more) and "41" is 1941. */
        { "Sunday, 01-Jan-40 00:00:00 GMT", INT64_C(631152000),
          (uint64_t)(INT64_C(2208988800) - INT64_C(631152000)) * SEC },
        { "Wednesday, 01-Jan-41 00:00:00 GMT", INT64_C(631152000), 0 },
    };
    check_delays(cases, RS_TEST_ARRAY_LEN(cases));
    /* 1990-01-01 + the seconds to 2039-01-01. */
    uint64_t delay = 0;
    assert_int_equal(retry_after("Saturday, 01-Jan-39 00:00:00 GMT", INT64_C(631152000), &delay),
                     RS_OK);
    assert_int_equal(delay, (uint64_t)(INT64_C(2177452800) - INT64_C(631152000)) * SEC);
}

static void retry_after_rejects_garbage(void **state)
{
    (void)state;
    static const char *const garbage[] = {
        "", " ", "\t", "  \t ",
        "-1", "+1", "-0", "1.5", "1.", ".5", "1e3", "0x10", "1,000", "1 000", "12abc", "abc",
        "5s", "\xef\xbc\x95", /* fullwidth 5 */
        "1\r\n", "\n1", "\x7f\x35",
        /* IMF-fixdate broken in every part. */
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 GMT+1",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 November 1994 08:49:37 GMT",
        "Sun, 06 Nox 1994 08:49:37 GMT",
        "Sunny, 06 Nov 1994 08:49:37 GMT",
        "Snu, 06 Nov 1994 08:49:37 GMT",
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Sun,06 Nov 1994 08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun, 06  Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994  08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37  GMT",
        "Sun, 06-Nov-1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT x",
        "Sun, 06 Nov 1994 08:49:37 GMTGMT",
        "x Sun, 06 Nov 1994 08:49:37 GMT",
        ", 06 Nov 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT", /* November has 30 days */
        "Sun, 31 Apr 1994 08:49:37 GMT",
        "Sun, 31 Jun 1994 08:49:37 GMT",
        "Sun, 31 Sep 1994 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 2023 08:49:37 GMT", /* not a leap year */
        "Sun, 29 Feb 1900 08:49:37 GMT", /* nor is 1900 */
        "Sun, 30 Feb 2024 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", /* hour 24 */
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 08:49:99 GMT",
        "Sun, 06 Nov 1994 -8:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:3a GMT",
        "Sun, 06 Nov 199a 08:49:37 GMT",
        "Sun, 06 Nov 1994 08.49.37 GMT",
        /* RFC 850 broken. */
        "Sunday, 06-Nov-94 08:49:37",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06 Nov 94 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",     /* short name with the obsolete date */
        "Sundays, 06-Nov-94 08:49:37 GMT",
        "Sunday 06-Nov-94 08:49:37 GMT",
        "Sunday, 31-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-9 08:49:37 GMT",
        /* asctime broken. */
        "Sun Nov 6 08:49:37 1994",  /* a single-digit day needs its padding space */
        "Sun Nov   6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun Nov  6 08:49:37",
        "Sun Nov 31 08:49:37 1994",
        "Sun Nov  0 08:49:37 1994",
        "Sunday Nov  6 08:49:37 1994",
        "Sun  Nov  6 08:49:37 1994",
        /* Neither a number nor a date. */
        "now", "tomorrow", "GMT", "Sun", "Sunday,", "2024-01-01T00:00:30Z", "@1700000000",
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(garbage); i++) {
        uint64_t delay = UNTOUCHED;
        if (retry_after(garbage[i], RFC_EXAMPLE_S - 100, &delay) != RS_E_INVAL ||
            delay != UNTOUCHED) {
            fail_msg("accepted Retry-After \"%s\"", garbage[i]);
        }
    }
    /* An embedded NUL is a byte like any other, not an end. */
    uint64_t delay = UNTOUCHED;
    assert_int_equal(rs_http_retry_after("12\0" "3", 4, 0, &delay), RS_E_INVAL);
    assert_int_equal(delay, UNTOUCHED);
}

static void retry_after_reads_no_further_than_len(void **state)
{
    (void)state;
    uint64_t delay = 0;
    assert_int_equal(rs_http_retry_after("12345", 2, 0, &delay), RS_OK);
    assert_int_equal(delay, 12 * SEC);
    /* The date is cut short by len: what remains is not a date. */
    assert_int_equal(rs_http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 28, 0, &delay),
                     RS_E_INVAL);
    assert_int_equal(rs_http_retry_after("5", 0, 0, &delay), RS_E_INVAL);
    assert_int_equal(rs_http_retry_after(NULL, 0, 0, &delay), RS_E_INVAL);
    assert_int_equal(rs_http_retry_after(NULL, 3, 0, &delay), RS_E_INVAL);
    assert_int_equal(rs_http_retry_after("5", 1, 0, NULL), RS_E_INVAL);
}

/* Every date form on every day of a few leap and common years, against the
 * count of days done by hand. */
static void retry_after_dates_match_a_day_count(void **state)
{
    (void)state;
    static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    static const char *const day_names[7] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
    static const int years[] = { 1970, 1999, 2000, 2023, 2024, 2100, 2400, 2999 };
    int64_t days = 0;
    int year_index = 0;
    for (int year = 1970; year <= 2999 && year_index < (int)RS_TEST_ARRAY_LEN(years); year++) {
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        int month_days[12] = { 31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool check = year == years[year_index];
        for (int m = 0; m < 12; m++) {
            for (int d = 1; d <= month_days[m]; d++, days++) {
                if (!check) {
                    continue;
                }
                char value[64];
                int64_t at = days * 86400 + 13 * 3600 + 7 * 60 + 9;
                snprintf(value, sizeof value, "%s, %02d %s %04d 13:07:09 GMT",
                         day_names[days % 7], d, month_names[m], year);
                uint64_t delay = 0;
                assert_int_equal(retry_after(value, at - 1, &delay), RS_OK);
                assert_int_equal(delay, SEC);
                snprintf(value, sizeof value, "%s %s %2d 13:07:09 %04d", day_names[days % 7],
                         month_names[m], d, year);
                assert_int_equal(retry_after(value, at - 2, &delay), RS_OK);
                assert_int_equal(delay, 2 * SEC);
            }
            if (check) {
                /* The day after the month's last is refused. */
                char value[64];
                snprintf(value, sizeof value, "Mon, %02d %s %04d 00:00:00 GMT",
                         month_days[m] + 1, month_names[m], year);
                uint64_t delay = UNTOUCHED;
                assert_int_equal(retry_after(value, 0, &delay), RS_E_INVAL);
            }
        }
        if (check) {
            year_index++;
        }
    }
}

/* ---- feedback ------------------------------------------------------------ */

static void assert_fresh(const rs_http_feedback *f)
{
    assert_int_equal(f->retry_after_ns, 0);
    assert_int_equal(f->limit_requests, -1);
    assert_int_equal(f->remaining_requests, -1);
    assert_int_equal(f->limit_tokens, -1);
    assert_int_equal(f->remaining_tokens, -1);
    assert_int_equal(f->reset_requests_ns, 0);
    assert_int_equal(f->reset_tokens_ns, 0);
    for (size_t i = 0; i < RS_HTTP_QUOTA_SOURCES; i++) {
        assert_int_equal(f->quotas[i].limit, -1);
        assert_int_equal(f->quotas[i].remaining, -1);
        assert_int_equal(f->quotas[i].reset_ns, 0);
        assert_int_equal(f->quotas[i].window_ns, 0);
        assert_true(f->quotas[i].rate == 0.0);
    }
}

static void feedback_starts_empty_and_ignores_unknown_names(void **state)
{
    (void)state;
    rs_http_feedback f;
    memset(&f, 0x5a, sizeof f);
    rs_http_feedback_init(&f);
    assert_fresh(&f);
    rs_http_feedback_init(NULL);
    static const char *const unknown[] = {
        "content-type", "date", "x-request-id", "x-ratelimit-used",
        "x-ratelimit-resource", "x-ratelimit-limit-tokens_usage_based",
        "x-ratelimit-remaining-tokens_usage_based", "x-ratelimit-limit-minute",
        "retry-after-s", "retry-afte", "retry-after ", " retry-after", "retry-after:",
        "ratelimits", "anthropic-ratelimit-unified-reset", "x-ratelimit-reset-after", "",
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(unknown); i++) {
        assert_int_equal(feed(&f, unknown[i], "garbage ;;; \x01", 0), RS_OK);
    }
    assert_fresh(&f);
}

static void feedback_reads_openai_headers(void **state)
{
    (void)state;
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    /* A chat completion's headers, as OpenAI documents them. */
    static const field chat_completion[] = {
        { "x-ratelimit-limit-requests", "60" },
        { "x-ratelimit-limit-tokens", "150000" },
        { "x-ratelimit-remaining-requests", "59" },
        { "x-ratelimit-remaining-tokens", "149984" },
        { "x-ratelimit-reset-requests", "1s" },
        { "x-ratelimit-reset-tokens", "6m0s" },
    };
    FEED_ALL(&f, chat_completion, 0);
    assert_int_equal(f.limit_requests, 60);
    assert_int_equal(f.remaining_requests, 59);
    assert_int_equal(f.reset_requests_ns, SEC);
    assert_int_equal(f.limit_tokens, 150000);
    assert_int_equal(f.remaining_tokens, 149984);
    assert_int_equal(f.reset_tokens_ns, 360 * SEC);
    const rs_http_quota *r = &f.quotas[RS_HTTP_QUOTA_OPENAI_REQUESTS];
    const rs_http_quota *t = &f.quotas[RS_HTTP_QUOTA_OPENAI_TOKENS];
    assert_int_equal(r->limit, 60);
    assert_int_equal(r->remaining, 59);
    assert_int_equal(r->reset_ns, SEC);
    assert_int_equal(t->limit, 150000);
    assert_int_equal(t->reset_ns, 360 * SEC);
    assert_int_equal(rs_http_feedback_pause_ns(&f), 0);
    assert_int_equal(f.retry_after_ns, 0);

    /* A 429: the tokens are spent until the reset. */
    rs_http_feedback_init(&f);
    static const field tokens_spent[] = {
        { "X-RateLimit-Remaining-Tokens", "0" },
        { "X-RateLimit-Reset-Tokens", "17.124s" },
        { "x-ratelimit-remaining-requests", "4999" },
        { "x-ratelimit-reset-requests", "12ms" },
    };
    FEED_ALL(&f, tokens_spent, 0);
    assert_int_equal(f.remaining_tokens, 0);
    assert_int_equal(f.reset_tokens_ns, 17124 * MS);
    assert_int_equal(rs_http_feedback_pause_ns(&f), 17124 * MS);
}

static void openai_resets_read_go_durations(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        uint64_t ns;
    } good[] = {
        { "1s", SEC },
        { "6m0s", 360 * SEC },
        { "250ms", 250 * MS },
        { "20ms", 20 * MS },
        { "1h2m3.5s", 3723 * SEC + 500 * MS },
        { "0.5s", 500 * MS },
        { "0", 0 },
        { "0s", 0 },
        { "17.124s", 17124 * MS },
        { "2us", 2000 },
        { "1.5\xc2\xb5s", 1500 }, /* U+00B5, as Go writes it */
        { "1.5\xce\xbcs", 1500 }, /* U+03BC */
        { "3ns", 3 },
        { ".5s", 500 * MS },
        { "5.s", 5 * SEC },
        { "1m1m", 120 * SEC },
        { "1s1h", 3601 * SEC },
        { "0.0000000001s", 1 },   /* rounded up, never down */
        { "1.0000000001s", SEC + 1 },
        { "0.1234567891234567891234s", 123456790 },
        { "2562047h47m16.854775807s", UINT64_C(9223372036854775807) },
        { "99999999999999999999h", UINT64_MAX },
        { "5124095576030431h", UINT64_MAX },
        { " 1s ", SEC },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(good); i++) {
        rs_http_feedback f;
        rs_http_feedback_init(&f);
        feed_ok(&f, "x-ratelimit-reset-requests", good[i].value, 0);
        if (f.quotas[RS_HTTP_QUOTA_OPENAI_REQUESTS].reset_ns != good[i].ns) {
            fail_msg("\"%s\" gave %llu ns, expected %llu", good[i].value,
                     (unsigned long long)f.quotas[RS_HTTP_QUOTA_OPENAI_REQUESTS].reset_ns,
                     (unsigned long long)good[i].ns);
        }
    }
    static const char *const bad[] = {
        "", " ", "1", "s", "-1s", "+1s", "1S", "1M", "1H", "1Ms", "1 s", "1s 2m", "1.s.5",
        "..5s", ".s", "1min", "1d", "1e3s", "1ss", "1s2", "\xc2\xb5s", "1\xc2s", "1\xb5s",
        "1sec", "1h-1m", "1,5s", "1_000s", "00", "0.0", "1s\r\n",
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        rs_http_feedback f;
        rs_http_feedback_init(&f);
        if (feed(&f, "x-ratelimit-reset-tokens", bad[i], 0) != RS_E_INVAL) {
            fail_msg("accepted the duration \"%s\"", bad[i]);
        }
        assert_fresh(&f);
    }
}

static void feedback_reads_anthropic_headers(void **state)
{
    (void)state;
    const int64_t now = NEW_YEAR_2024_S;
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    static const field messages[] = {
        { "anthropic-ratelimit-requests-limit", "50" },
        { "anthropic-ratelimit-requests-remaining", "49" },
        { "anthropic-ratelimit-requests-reset", "2024-01-01T00:00:30Z" },
        { "anthropic-ratelimit-tokens-limit", "80000" },
        { "anthropic-ratelimit-tokens-remaining", "79000" },
        { "anthropic-ratelimit-tokens-reset", "2024-01-01T00:00:01.5Z" },
        { "anthropic-ratelimit-input-tokens-limit", "40000" },
        { "anthropic-ratelimit-input-tokens-remaining", "39500" },
        { "anthropic-ratelimit-input-tokens-reset", "2024-01-01T00:00:01Z" },
        { "anthropic-ratelimit-output-tokens-limit", "8000" },
        { "anthropic-ratelimit-output-tokens-remaining", "7500" },
        { "anthropic-ratelimit-output-tokens-reset", "2024-01-01T00:00:02Z" },
    };
    FEED_ALL(&f, messages, now);
    assert_int_equal(f.limit_requests, 50);
    assert_int_equal(f.remaining_requests, 49);
    assert_int_equal(f.reset_requests_ns, 30 * SEC);
    /* The tokens' summary is the most restrictive slot: the output tokens. */
    assert_int_equal(f.limit_tokens, 8000);
    assert_int_equal(f.remaining_tokens, 7500);
    assert_int_equal(f.reset_tokens_ns, 2 * SEC);
    assert_int_equal(f.quotas[RS_HTTP_QUOTA_ANTHROPIC_TOKENS].reset_ns, 1500 * MS);
    assert_int_equal(f.quotas[RS_HTTP_QUOTA_ANTHROPIC_INPUT_TOKENS].limit, 40000);
    assert_int_equal(f.quotas[RS_HTTP_QUOTA_ANTHROPIC_OUTPUT_TOKENS].remaining, 7500);
    assert_int_equal(rs_http_feedback_pause_ns(&f), 0);

    /* A 429: the input tokens are spent for 5 s, the output tokens are not
     * (their reset is later): the pause is the spent quota's reset. */
    rs_http_feedback_init(&f);
    static const field input_spent[] = {
        { "retry-after", "5" },
        { "anthropic-ratelimit-input-tokens-remaining", "0" },
        { "anthropic-ratelimit-output-tokens-reset", "2024-01-01T00:00:30Z" },
        { "anthropic-ratelimit-input-tokens-reset", "2024-01-01T00:00:05Z" },
        { "anthropic-ratelimit-output-tokens-remaining", "1000" },
    };
    FEED_ALL(&f, input_spent, now);
    assert_int_equal(f.retry_after_ns, 5 * SEC);
    assert_int_equal(f.remaining_tokens, 0);
    assert_int_equal(f.reset_tokens_ns, 5 * SEC);
    assert_int_equal(rs_http_feedback_pause_ns(&f), 5 * SEC);
}

static void anthropic_resets_read_rfc3339(void **state)
{
    (void)state;
    const int64_t now = NEW_YEAR_2024_S;
    static const struct {
        const char *value;
        uint64_t ns;
    } good[] = {
        { "2024-01-01T00:00:30Z", 30 * SEC },
        { "2024-01-01T00:00:30.5Z", 30 * SEC + 500 * MS },
        { "2024-01-01T00:00:30.000000001Z", 30 * SEC + 1 },
        { "2024-01-01T00:00:30.0000000001Z", 30 * SEC + 1 }, /* rounded up */
        { "2024-01-01T00:00:30.9999999999Z", 31 * SEC },
        { "2024-01-01T00:00:30.000Z", 30 * SEC },
        { "2024-01-01T01:00:30+01:00", 30 * SEC },
        { "2023-12-31T23:00:30-01:00", 30 * SEC },
        { "2024-01-01T05:30:30+05:30", 30 * SEC },
        { "2024-01-01T00:00:30-00:00", 30 * SEC },
        { "2024-01-01t00:00:30z", 30 * SEC },
        { "2024-01-01 00:00:30Z", 30 * SEC },
        { " 2024-01-01T00:00:30Z ", 30 * SEC },
        { "2024-01-01T00:00:00Z", 0 },
        { "2023-12-31T23:59:59Z", 0 },         /* past */
        { "2023-12-31T23:59:59.999Z", 0 },
        { "2023-12-31T23:59:60Z", 0 },          /* a leap second: 00:00:00 */
        { "2024-02-29T00:00:00Z", 59 * 86400 * SEC },
        { "9999-12-31T23:59:59Z", UINT64_MAX }, /* saturates */
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(good); i++) {
        rs_http_feedback f;
        rs_http_feedback_init(&f);
        feed_ok(&f, "anthropic-ratelimit-requests-reset", good[i].value, now);
        if (f.reset_requests_ns != good[i].ns) {
            fail_msg("\"%s\" gave %llu ns, expected %llu", good[i].value,
                     (unsigned long long)f.reset_requests_ns, (unsigned long long)good[i].ns);
        }
    }
    static const char *const bad[] = {
        "", "2024-01-01T00:00:30", "2024-01-01", "2024-1-01T00:00:30Z", "24-01-01T00:00:30Z",
        "2024-01-01T0:00:30Z", "2024-02-30T00:00:30Z", "2023-02-29T00:00:30Z",
        "2024-13-01T00:00:30Z", "2024-00-01T00:00:30Z", "2024-01-00T00:00:30Z",
        "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:61Z",
        "2024-01-01T00:00:30+24:00", "2024-01-01T00:00:30+01:60", "2024-01-01T00:00:30+0100",
        "2024-01-01T00:00:30+01", "2024-01-01T00:00:30.Z", "2024-01-01T00:00:30ZZ",
        "2024-01-01T00:00:30 Z", "2024-01-01X00:00:30Z", "2024-01-01T00:00:30,5Z",
        "1704067230", "Mon, 01 Jan 2024 00:00:30 GMT", "+2024-01-01T00:00:30Z",
        "2024-01-01T00:00:30Z\r\n", "2024-01-01T00:00:30UTC",
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        rs_http_feedback f;
        rs_http_feedback_init(&f);
        if (feed(&f, "anthropic-ratelimit-tokens-reset", bad[i], now) != RS_E_INVAL) {
            fail_msg("accepted the RFC 3339 time \"%s\"", bad[i]);
        }
        assert_fresh(&f);
    }
}

static void feedback_reads_github_style_headers(void **state)
{
    (void)state;
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    const int64_t now = INT64_C(1372700873) - 600;
    /* GitHub's REST API. */
    static const field github[] = {
        { "X-RateLimit-Limit", "5000" },
        { "X-RateLimit-Remaining", "4999" },
        { "X-RateLimit-Reset", "1372700873" },
        { "X-RateLimit-Used", "1" },
        { "X-RateLimit-Resource", "core" },
    };
    FEED_ALL(&f, github, now);
    assert_int_equal(f.limit_requests, 5000);
    assert_int_equal(f.remaining_requests, 4999);
    assert_int_equal(f.reset_requests_ns, 600 * SEC);
    assert_int_equal(f.limit_tokens, -1);

    static const struct {
        const char *value;
        int64_t now;
        uint64_t ns;
    } resets[] = {
        { "60", 0, 60 * SEC },                      /* small: a delay */
        { "999999999", 0, UINT64_C(999999999) * SEC },
        { "1000000000", 999999990, 10 * SEC },       /* from 10^9 on: a Unix time */
        { "1372700873", 1372700873 + 5, 0 },         /* in the past */
        { "1470173023.123", 1470173022, 1123 * MS }, /* Discord's fraction */
        { "1.5", 0, 1500 * MS },
        { "99999999999999999999", 0, UINT64_MAX },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(resets); i++) {
        rs_http_feedback_init(&f);
        feed_ok(&f, "x-rate-limit-reset", resets[i].value, resets[i].now);
        assert_int_equal(f.quotas[RS_HTTP_QUOTA_X_RATELIMIT].reset_ns, resets[i].ns);
    }
    static const char *const bad[] = { "", "-1", "1.", ".5", "1e9", "soon", "1 2", "0x10" };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        rs_http_feedback_init(&f);
        assert_int_equal(feed(&f, "X-RateLimit-Reset", bad[i], 0), RS_E_INVAL);
        assert_int_equal(feed(&f, "X-RateLimit-Remaining", bad[i], 0), RS_E_INVAL);
        assert_int_equal(feed(&f, "X-Rate-Limit-Limit", bad[i], 0), RS_E_INVAL);
        assert_fresh(&f);
    }
}

typedef struct ietf_case {
    const char *name;
    const char *value;
    rs_http_quota quota; /* the slot it fills */
} ietf_case;

/* Equal within rounding (a quotient computed in another order). */
static bool same_rate(double got, double expected)
{
    return fabs(got - expected) <= 1e-12 * fabs(expected);
}

static void check_ietf(const ietf_case *cases, size_t count, rs_http_quota_source source)
{
    for (size_t i = 0; i < count; i++) {
        rs_http_feedback f;
        rs_http_feedback_init(&f);
        feed_ok(&f, cases[i].name, cases[i].value, 0);
        const rs_http_quota *q = &f.quotas[source];
        const rs_http_quota *e = &cases[i].quota;
        if (q->limit != e->limit || q->remaining != e->remaining || q->reset_ns != e->reset_ns ||
            q->window_ns != e->window_ns || !same_rate(q->rate, e->rate)) {
            fail_msg("%s: %s gave limit %lld remaining %lld reset %llu window %llu rate %g",
                     cases[i].name, cases[i].value, (long long)q->limit, (long long)q->remaining,
                     (unsigned long long)q->reset_ns, (unsigned long long)q->window_ns, q->rate);
        }
    }
}

static void feedback_reads_the_ietf_structured_fields(void **state)
{
    (void)state;
    /* The examples of draft-ietf-httpapi-ratelimit-headers-11, then those of
     * drafts 03 to 07. */
    static const ietf_case cases[] = {
        { "RateLimit", "\"default\";r=50;t=30", { -1, 50, 30 * SEC, 0, 0.0 } },
        { "RateLimit", "\"default\";r=999;pk=:dHJpYWwxMjEzMjM=:", { -1, 999, 0, 0, 0.0 } },
        { "RateLimit", "\"default\";r=300000000;t=60;pk=:QXBwLTk5OQ==:",
          { -1, 300000000, 60 * SEC, 0, 0.0 } },
        { "RateLimit", "\"problemPolicy\";r=0;t=10", { -1, 0, 10 * SEC, 0, 0.0 } },
        { "RateLimit", "\"dayLimit\";r=100;t=36000", { -1, 100, 36000 * SEC, 0, 0.0 } },
        { "RateLimit", "\"sliding\";q=12;r=6;t=1", { -1, 6, SEC, 0, 0.0 } },
        { "RateLimit", "\"default\";r=50;t=60", { -1, 50, 60 * SEC, 0, 0.0 } },
        { "ratelimit", "default;r=5;t=7", { -1, 5, 7 * SEC, 0, 0.0 } }, /* a token name */
        { "RateLimit", "\"burst\";r=0;t=5, \"daily\";r=900;t=36000", { -1, 0, 5 * SEC, 0, 0.0 } },
        { "RateLimit", "\"daily\";r=900;t=36000,\"burst\";r=0;t=5", { -1, 0, 5 * SEC, 0, 0.0 } },
        { "RateLimit", "\"a\";r=0;t=5, \"b\";r=0;t=50", { -1, 0, 50 * SEC, 0, 0.0 } },
        { "RateLimit", "\"a\";r=1;acme-burst=5;acme-x=?1;acme-y=\"z\";acme-d=1.5;acme-t=tok",
          { -1, 1, 0, 0, 0.0 } },
        { "RateLimit", "\"a\";r=1;t=2;acme-d=@1700000000;acme-s=%\"caf%c3%a9\"",
          { -1, 1, 2 * SEC, 0, 0.0 } },
        { "RateLimit", "\"esc\\\"aped\\\\\";r=3", { -1, 3, 0, 0, 0.0 } },
        { "RateLimit", "\"a\";r=999999999999999;t=999999999999999",
          { -1, INT64_C(999999999999999), UINT64_MAX, 0, 0.0 } }, /* saturates */
        { "RateLimit", "\"a\";r=1;t=2;r=3", { -1, 3, 2 * SEC, 0, 0.0 } }, /* last parameter wins */
        { "RateLimit", "\"a\";r=1,\t\"b\";r=2", { -1, 1, 0, 0, 0.0 } },
        /* drafts 03 to 07: a Dictionary */
        { "RateLimit", "limit=100, remaining=50, reset=5", { 100, 50, 5 * SEC, 0, 0.0 } },
        { "RateLimit", "limit=10, remaining=0, reset=10", { 10, 0, 10 * SEC, 0, 0.0 } },
        { "RateLimit", "limit=1, remaining=1, reset=36000", { 1, 1, 36000 * SEC, 0, 0.0 } },
        { "RateLimit", "reset=5,limit=100", { 100, -1, 5 * SEC, 0, 0.0 } },
        { "RateLimit", "limit=100;x=1, remaining=5, foo=(1 2), bar", { 100, 5, 0, 0, 0.0 } },
        { "RateLimit", "remaining=5, remaining=7", { -1, 7, 0, 0, 0.0 } },
        /* RateLimit-Policy */
        { "RateLimit-Policy", "\"default\";q=100;w=10", { 100, -1, 0, 10 * SEC, 10.0 } },
        { "RateLimit-Policy", "\"burst\";q=100;w=60,\"daily\";q=1000;w=86400",
          { 100, -1, 0, 60 * SEC, 1000.0 / 86400 } },
        { "RateLimit-Policy", "\"permin\";q=50;w=60,\"perhr\";q=1000;w=3600",
          { 50, -1, 0, 60 * SEC, 1000.0 / 3600 } },
        { "RateLimit-Policy", "\"peruser\";q=100;w=60;pk=:cHsdsRa894==:",
          { 100, -1, 0, 60 * SEC, 100.0 / 60 } },
        { "RateLimit-Policy", "\"peruser\";q=65535;qu=\"content-bytes\";w=10;pk=:sdfjLJUOUH==:",
          { -1, -1, 0, 0, 0.0 } },
        { "RateLimit-Policy", "\"a\";q=5;qu=\"requests\", \"b\";q=1;qu=\"concurrent-requests\"",
          { 5, -1, 0, 0, 0.0 } },
        { "RateLimit-Policy", "\"a\";q=5;qu=\"request\"", { 5, -1, 0, 0, 0.0 } },
        { "RateLimit-Policy", "\"hour\";q=1000;w=3600, \"day\";q=5000;w=86400",
          { 1000, -1, 0, 3600 * SEC, 5000.0 / 86400 } },
        { "RateLimit-Policy", "\"a\";q=10;w=1, \"b\";q=10;w=60", { 10, -1, 0, 60 * SEC, 10.0 / 60 } },
        { "RateLimit-Policy", "\"sliding\";q=100;w=60;burst=1000", { 100, -1, 0, 60 * SEC, 100.0 / 60 } },
        { "RateLimit-Policy", "\"d\";q=0", { 0, -1, 0, 0, 0.0 } },
        /* drafts 03 to 07: Integer items */
        { "RateLimit-Policy", "100;w=10", { 100, -1, 0, 10 * SEC, 10.0 } },
        { "RateLimit-Policy", "10;w=1, 50;w=60, 1000;w=3600, 5000;w=86400",
          { 10, -1, 0, SEC, 5000.0 / 86400 } },
        { "RateLimit-Policy", "10;w=1;burst=1000, 1000;w=3600", { 10, -1, 0, SEC, 1000.0 / 3600 } },
        { "RateLimit-Policy", "100;w=60;comment=\"fixed window\"", { 100, -1, 0, 60 * SEC, 100.0 / 60 } },
        { "RateLimit-Policy", "12;w=1;burst=1000;policy=\"leaky bucket\"", { 12, -1, 0, SEC, 12.0 } },
    };
    check_ietf(cases, RS_TEST_ARRAY_LEN(cases), RS_HTTP_QUOTA_IETF);

    /* Drafts 00 to 02: three fields of their own. */
    static const ietf_case fields[] = {
        { "RateLimit-Limit", "100", { 100, -1, 0, 0, 0.0 } },
        { "RateLimit-Limit", "10, 10;w=1, 50;w=60", { 10, -1, 0, 0, 50.0 / 60 } },
        { "RateLimit-Limit", "100;w=60", { 100, -1, 0, 60 * SEC, 100.0 / 60 } },
        { "RateLimit-Remaining", "50", { -1, 50, 0, 0, 0.0 } },
        { "RateLimit-Remaining", " 0 ", { -1, 0, 0, 0, 0.0 } },
        { "RateLimit-Reset", "50", { -1, -1, 50 * SEC, 0, 0.0 } },
        { "RateLimit-Reset", "7;x=1", { -1, -1, 7 * SEC, 0, 0.0 } },
    };
    check_ietf(fields, RS_TEST_ARRAY_LEN(fields), RS_HTTP_QUOTA_IETF_FIELDS);

    /* Together, as a response of draft 11's appendix carries them. */
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    feed_ok(&f, "RateLimit-Policy", "\"basic\";q=100;w=60", 0);
    feed_ok(&f, "RateLimit", "\"basic\";r=0;t=58", 0);
    assert_int_equal(f.limit_requests, 100);
    assert_int_equal(f.remaining_requests, 0);
    assert_int_equal(f.reset_requests_ns, 58 * SEC);
    assert_int_equal(rs_http_feedback_pause_ns(&f), 58 * SEC);
    assert_int_equal(f.quotas[RS_HTTP_QUOTA_IETF].window_ns, 60 * SEC);

    /* A list split over several fields reads as the whole list, in any order. */
    rs_http_feedback a, b;
    rs_http_feedback_init(&a);
    rs_http_feedback_init(&b);
    feed_ok(&a, "RateLimit", "\"burst\";r=0;t=5", 0);
    feed_ok(&a, "RateLimit", "\"daily\";r=900;t=36000", 0);
    feed_ok(&b, "RateLimit", "\"daily\";r=900;t=36000", 0);
    feed_ok(&b, "RateLimit", "\"burst\";r=0;t=5", 0);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(rs_http_feedback_pause_ns(&a), 5 * SEC);

    /* Every form of the slot together, in both orders: the same result. */
    static const struct {
        const char *name, *value;
    } mixed[] = {
        { "RateLimit", "\"a\";r=3" },
        { "RateLimit", "limit=10, reset=20" },
        { "RateLimit", "limit=100, remaining=5, reset=10" },
        { "RateLimit-Policy", "\"a\";q=10;w=60" },
        { "RateLimit", "\"b\";r=3;t=4" },
    };
    rs_http_feedback_init(&a);
    rs_http_feedback_init(&b);
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(mixed); i++) {
        feed_ok(&a, mixed[i].name, mixed[i].value, 0);
        feed_ok(&b, mixed[RS_TEST_ARRAY_LEN(mixed) - 1 - i].name,
                mixed[RS_TEST_ARRAY_LEN(mixed) - 1 - i].value, 0);
    }
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(a.quotas[RS_HTTP_QUOTA_IETF].remaining, 3);
    assert_int_equal(a.quotas[RS_HTTP_QUOTA_IETF].reset_ns, 4 * SEC);
    assert_int_equal(a.quotas[RS_HTTP_QUOTA_IETF].limit, 10);
    assert_int_equal(a.quotas[RS_HTTP_QUOTA_IETF].window_ns, 60 * SEC);
}

static void malformed_ietf_fields_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *value;
    } bad[] = {
        { "RateLimit", "" },
        { "RateLimit", " " },
        { "RateLimit", "\"default\";t=30" },          /* r is required */
        { "RateLimit", "\"default\"" },
        { "RateLimit", "\"default\";r=-1" },
        { "RateLimit", "\"default\";r=1.5" },
        { "RateLimit", "\"default\";r=\"5\"" },
        { "RateLimit", "\"default\";r" },             /* r=?1 is not an Integer */
        { "RateLimit", "\"default\";r=5;t=-1" },
        { "RateLimit", "\"default\";r=5;t=1.0" },
        { "RateLimit", "\"default\";r=50;t=30," },    /* trailing comma */
        { "RateLimit", ",\"default\";r=50" },
        { "RateLimit", "\"default\";r=50,,\"b\";r=1" },
        { "RateLimit", "\"default\" ;r=1" },
        { "RateLimit", "\"default\";R=1" },
        { "RateLimit", "\"default\";;r=1" },
        { "RateLimit", "\"default\";r=1;" },
        { "RateLimit", "\"default\";r=1234567890123456" }, /* 16 digits */
        { "RateLimit", "\"unterminated;r=1" },
        { "RateLimit", "\"bad\\escape\";r=1" },
        { "RateLimit", "\"ctl\x01\";r=1" },
        { "RateLimit", "\"nonascii\xc3\xa9\";r=1" },
        { "RateLimit", "(a b);r=1" },                 /* an inner list names no policy */
        { "RateLimit", "5;r=1" },
        { "RateLimit", "?1;r=1" },
        { "RateLimit", ":YWJj:;r=1" },
        { "RateLimit", "\"a\";r=1 \"b\";r=2" },
        { "RateLimit", "\"a\";r=1;x=:ab$:" },
        { "RateLimit", "\"a\";r=1;x=:abc" },
        { "RateLimit", "\"a\";r=1;x=?2" },
        { "RateLimit", "\"a\";r=1;x=@1.5" },
        { "RateLimit", "\"a\";r=1;x=%\"%C3\"" },
        { "RateLimit", "\"a\";r=1;x=%nope" },
        { "RateLimit", "\"a\";r=1;x=1.2345" },
        { "RateLimit", "\"a\";r=1;x=1234567890123.5" },
        { "RateLimit", "\"a\";r=1;x=-" },
        { "RateLimit", "\"a\";r=1;x=1." },
        { "RateLimit", "\"a\";r=1;x=(1)" },           /* a parameter is never a list */
        { "RateLimit", "\"a\";r=1;x=" },
        { "RateLimit", "limit=100, remaining=abc" },  /* dictionary values */
        { "RateLimit", "limit=-1" },
        { "RateLimit", "limit=100, reset=1.5" },
        { "RateLimit", "foo=1" },                     /* nothing known in it */
        { "RateLimit", "limit=100," },
        { "RateLimit", "limit=(1 2" },
        { "RateLimit", "limit=(1 2)x" },
        { "RateLimit", "Limit=100" },
        { "RateLimit-Policy", "" },
        { "RateLimit-Policy", "\"default\";w=60" },   /* q is required */
        { "RateLimit-Policy", "\"default\";q=-1" },
        { "RateLimit-Policy", "\"default\";q=10;w=0" }, /* a window is positive */
        { "RateLimit-Policy", "\"default\";q=10;w=1.5" },
        { "RateLimit-Policy", "\"default\";q=10;qu=requests" }, /* qu is a String */
        { "RateLimit-Policy", "-5;w=1" },
        { "RateLimit-Policy", "1.5;w=1" },
        { "RateLimit-Policy", "100;w=10," },
        { "RateLimit-Policy", "(100);w=10" },
        { "RateLimit-Limit", "" },
        { "RateLimit-Limit", "\"a\"" },
        { "RateLimit-Limit", "-1" },
        { "RateLimit-Limit", "10, x" },
        { "RateLimit-Limit", "10;w=0" },
        { "RateLimit-Remaining", "" },
        { "RateLimit-Remaining", "5, 6" },
        { "RateLimit-Remaining", "-5" },
        { "RateLimit-Remaining", "five" },
        { "RateLimit-Reset", "1.5" },
        { "RateLimit-Reset", "Sun, 06 Nov 1994 08:49:37 GMT" },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        rs_http_feedback f;
        rs_http_feedback_init(&f);
        if (feed(&f, bad[i].name, bad[i].value, 0) != RS_E_INVAL) {
            fail_msg("accepted %s: %s", bad[i].name, bad[i].value);
        }
        assert_fresh(&f);
    }
}

static void retry_after_ms_is_the_finer_retry_after(void **state)
{
    (void)state;
    rs_http_feedback f;
    /* Azure OpenAI sends both; the milliseconds win, in either order. */
    rs_http_feedback_init(&f);
    feed_ok(&f, "retry-after", "1", 0);
    feed_ok(&f, "retry-after-ms", "548", 0);
    assert_int_equal(f.retry_after_ns, 548 * MS);
    assert_int_equal(f.retry_after_header_ns, SEC);
    assert_int_equal(f.retry_after_ms_header_ns, 548 * MS);
    rs_http_feedback_init(&f);
    feed_ok(&f, "Retry-After-Ms", "548", 0);
    feed_ok(&f, "Retry-After", "1", 0);
    assert_int_equal(f.retry_after_ns, 548 * MS);
    /* Retry-After alone; repeated, the longest. */
    rs_http_feedback_init(&f);
    feed_ok(&f, "Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE_S - 3);
    feed_ok(&f, "retry-after", "2", RFC_EXAMPLE_S - 3);
    assert_int_equal(f.retry_after_ns, 3 * SEC);
    /* "0" ms says nothing to wait for: the Retry-After stands. */
    feed_ok(&f, "retry-after-ms", "0", 0);
    assert_int_equal(f.retry_after_ns, 3 * SEC);

    static const struct {
        const char *value;
        uint64_t ns;
    } good[] = {
        { "548", 548 * MS }, { "1500.5", 1500 * MS + 500000 }, { "0.0001", 100 },
        { "0.0000001", 1 },  { " 20 ", 20 * MS },               { "18446744073709551616", UINT64_MAX },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(good); i++) {
        rs_http_feedback_init(&f);
        feed_ok(&f, "retry-after-ms", good[i].value, 0);
        assert_int_equal(f.retry_after_ns, good[i].ns);
    }
    static const char *const bad[] = { "", "-5", "5ms", "1e3", ".5", "5.", "5.5.5", "five", "+5" };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(bad); i++) {
        rs_http_feedback_init(&f);
        assert_int_equal(feed(&f, "retry-after-ms", bad[i], 0), RS_E_INVAL);
        assert_int_equal(feed(&f, "retry-after", bad[i], 0), RS_E_INVAL);
        assert_fresh(&f);
    }
}

/* Every known name in odd cases, and a malformed value for each that leaves
 * a populated feedback exactly as it was. */
static const char *const every_known_name[] = {
    "retry-after",
    "retry-after-ms",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
    "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-limit",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-limit",
    "anthropic-ratelimit-input-tokens-remaining",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-limit",
    "anthropic-ratelimit-output-tokens-remaining",
    "anthropic-ratelimit-output-tokens-reset",
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
};

static void malformed_known_headers_leave_the_feedback_untouched(void **state)
{
    (void)state;
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    static const field populated[] = {
        { "retry-after", "7" },
        { "x-ratelimit-remaining-tokens", "10" },
        { "x-ratelimit-reset-tokens", "3s" },
        { "RateLimit", "\"d\";r=0;t=9" },
        { "RateLimit-Policy", "\"d\";q=10;w=60" },
        { "anthropic-ratelimit-input-tokens-limit", "1000" },
    };
    FEED_ALL(&f, populated, 0);
    rs_http_feedback before = f;
    static const char *const malformed[] = { "", "  ", "-1", "x", "1 1", "\"", "1;r=", "\x80" };
    for (size_t n = 0; n < RS_TEST_ARRAY_LEN(every_known_name); n++) {
        for (size_t v = 0; v < RS_TEST_ARRAY_LEN(malformed); v++) {
            if (feed(&f, every_known_name[n], malformed[v], 0) != RS_E_INVAL) {
                fail_msg("%s accepted \"%s\"", every_known_name[n], malformed[v]);
            }
            assert_memory_equal(&f, &before, sizeof f);
        }
    }
}

static void header_names_match_in_any_case(void **state)
{
    (void)state;
    for (size_t n = 0; n < RS_TEST_ARRAY_LEN(every_known_name); n++) {
        char upper[64], mixed[64];
        size_t len = strlen(every_known_name[n]);
        for (size_t i = 0; i <= len; i++) {
            char c = every_known_name[n][i];
            upper[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
            mixed[i] = i % 2 ? upper[i] : c;
        }
        /* "5" is malformed for a structured RateLimit and a policy; for the
         * rest a valid or malformed value alike shows that the name was
         * recognised: each is answered the same in every case. */
        rs_http_feedback lower_f, upper_f, mixed_f;
        rs_http_feedback_init(&lower_f);
        rs_http_feedback_init(&upper_f);
        rs_http_feedback_init(&mixed_f);
        int rc = feed(&lower_f, every_known_name[n], "5", INT64_C(2000000000));
        assert_int_equal(feed(&upper_f, upper, "5", INT64_C(2000000000)), rc);
        assert_int_equal(feed(&mixed_f, mixed, "5", INT64_C(2000000000)), rc);
        assert_memory_equal(&lower_f, &upper_f, sizeof lower_f);
        assert_memory_equal(&lower_f, &mixed_f, sizeof lower_f);
        /* Recognised: a garbage value is refused, which an unknown name is not. */
        assert_int_equal(feed(&upper_f, upper, "garbage!", 0), RS_E_INVAL);
    }
}

static void feedback_refuses_null_arguments(void **state)
{
    (void)state;
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    assert_int_equal(rs_http_feedback_header(NULL, "retry-after", 11, "5", 1, 0), RS_E_INVAL);
    assert_int_equal(rs_http_feedback_header(&f, NULL, 11, "5", 1, 0), RS_E_INVAL);
    assert_int_equal(rs_http_feedback_header(&f, "retry-after", 11, NULL, 1, 0), RS_E_INVAL);
    assert_int_equal(rs_http_feedback_header(&f, NULL, 0, NULL, 0, 0), RS_E_INVAL);
    assert_fresh(&f);
    /* A name cut short by its length is another name. */
    assert_int_equal(rs_http_feedback_header(&f, "retry-after-ms", 11, "5", 1, 0), RS_OK);
    assert_int_equal(f.retry_after_ns, 5 * SEC);
    assert_int_equal(rs_http_feedback_pause_ns(NULL), 0);
    rs_http_feedback_apply(NULL, NULL);
    rs_http_feedback_apply(&f, NULL);
    rs_attempt a = { 0 };
    rs_http_feedback_apply(NULL, &a);
    assert_int_equal(a.retry_after_ns, 0);
}

static void families_summarize_the_most_restrictive_slot(void **state)
{
    (void)state;
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    /* Requests from three dialects: the summary takes the least remaining
     * and that slot's reset, and the smallest limit. */
    static const field three_dialects[] = {
        { "x-ratelimit-limit-requests", "100" },
        { "x-ratelimit-remaining-requests", "40" },
        { "x-ratelimit-reset-requests", "1m" },
        { "X-RateLimit-Limit", "5000" },
        { "X-RateLimit-Remaining", "3" },
        { "X-RateLimit-Reset", "20" },
    };
    FEED_ALL(&f, three_dialects, 0);
    feed_ok(&f, "RateLimit-Reset", "90", 0); /* no remaining in this slot */
    assert_int_equal(f.limit_requests, 100);
    assert_int_equal(f.remaining_requests, 3);
    assert_int_equal(f.reset_requests_ns, 20 * SEC);
    /* Two slots spent: the longer reset. */
    feed_ok(&f, "x-ratelimit-remaining-requests", "0", 0);
    feed_ok(&f, "X-RateLimit-Remaining", "0", 0);
    assert_int_equal(f.remaining_requests, 0);
    assert_int_equal(f.reset_requests_ns, 60 * SEC);
    /* Repeats keep the most restrictive: a smaller count, a longer reset. */
    static const field repeats[] = {
        { "x-ratelimit-remaining-requests", "9" },
        { "x-ratelimit-reset-requests", "2m" },
        { "x-ratelimit-reset-requests", "1s" },
        { "x-ratelimit-limit-requests", "500" },
    };
    FEED_ALL(&f, repeats, 0);
    assert_int_equal(f.quotas[RS_HTTP_QUOTA_OPENAI_REQUESTS].remaining, 0);
    assert_int_equal(f.quotas[RS_HTTP_QUOTA_OPENAI_REQUESTS].reset_ns, 120 * SEC);
    assert_int_equal(f.quotas[RS_HTTP_QUOTA_OPENAI_REQUESTS].limit, 100);
    assert_int_equal(f.reset_requests_ns, 120 * SEC);
    /* Only resets given: the longest. */
    rs_http_feedback_init(&f);
    feed_ok(&f, "x-ratelimit-reset-tokens", "3s", 0);
    feed_ok(&f, "anthropic-ratelimit-tokens-reset", "1970-01-01T00:00:07Z", 0);
    assert_int_equal(f.remaining_tokens, -1);
    assert_int_equal(f.reset_tokens_ns, 7 * SEC);
    assert_int_equal(rs_http_feedback_pause_ns(&f), 0); /* nothing said to be spent */
    /* Counts saturate. */
    feed_ok(&f, "x-ratelimit-limit-tokens", "99999999999999999999999", 0);
    assert_int_equal(f.limit_tokens, INT64_MAX);
}

static void apply_raises_the_attempts_waits_and_never_lowers_them(void **state)
{
    (void)state;
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    rs_attempt a = { .number = 1 };
    rs_http_feedback_apply(&f, &a); /* nothing given, nothing changed */
    assert_int_equal(a.retry_after_ns, 0);
    assert_int_equal(a.pause_ns, 0);

    static const field both_spent[] = {
        { "x-ratelimit-remaining-requests", "0" },
        { "x-ratelimit-reset-requests", "10s" },
        { "x-ratelimit-remaining-tokens", "0" },
        { "x-ratelimit-reset-tokens", "20s" },
        { "retry-after", "3" },
    };
    FEED_ALL(&f, both_spent, 0);
    assert_int_equal(rs_http_feedback_pause_ns(&f), 20 * SEC);
    rs_http_feedback_apply(&f, &a);
    assert_int_equal(a.retry_after_ns, 3 * SEC);
    assert_int_equal(a.pause_ns, 20 * SEC);
    assert_int_equal(a.number, 1);
    assert_int_equal(a.tokens_used, 0);
    assert_false(a.caller_fault);
    assert_true(a.advertised_rate == 0.0); /* no limit given, no rate */

    /* The caller already asked for longer: it stays. */
    rs_attempt longer = { .retry_after_ns = 60 * SEC, .pause_ns = 90 * SEC };
    rs_http_feedback_apply(&f, &longer);
    assert_int_equal(longer.retry_after_ns, 60 * SEC);
    assert_int_equal(longer.pause_ns, 90 * SEC);

    /* Only a spent quota pauses; remaining 1 does not. */
    rs_http_feedback_init(&f);
    static const field one_left[] = {
        { "x-ratelimit-remaining-requests", "1" },
        { "x-ratelimit-reset-requests", "10s" },
        { "x-ratelimit-remaining-tokens", "0" },
        { "x-ratelimit-reset-tokens", "250ms" },
    };
    FEED_ALL(&f, one_left, 0);
    rs_attempt b = { 0 };
    rs_http_feedback_apply(&f, &b);
    assert_int_equal(b.pause_ns, 250 * MS);
    assert_int_equal(b.retry_after_ns, 0);
}

/* ---- the advertised request rate ------------------------------------------ */

/* The rate of one response's headers. */
static double rate_of(const field *fields, size_t count)
{
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    feed_all(&f, fields, count, 0);
    return rs_http_feedback_request_rate(&f);
}

#define RATE_OF(fields) rate_of(fields, RS_TEST_ARRAY_LEN(fields))

static void request_rate_reads_each_family(void **state)
{
    (void)state;
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    assert_true(rs_http_feedback_request_rate(&f) == 0.0);
    assert_true(rs_http_feedback_request_rate(NULL) == 0.0);
    static const struct {
        field header;
        double rate;
    } cases[] = {
        /* OpenAI and Anthropic: a limit per minute */
        { { "x-ratelimit-limit-requests", "600" }, 10.0 },
        { { "X-RateLimit-Limit-Requests", "60" }, 1.0 },
        { { "anthropic-ratelimit-requests-limit", "50" }, 50.0 / 60 },
        /* IETF: q / w, the least of every request policy */
        { { "RateLimit-Policy", "\"default\";q=100;w=10" }, 10.0 },
        { { "RateLimit-Policy", "\"burst\";q=100;w=60,\"daily\";q=1000;w=86400" },
          1000.0 / 86400 },
        { { "RateLimit-Policy", "\"a\";q=10;w=1, \"b\";q=10;w=60" }, 10.0 / 60 },
        { { "RateLimit-Policy", "10;w=1, 50;w=60" }, 50.0 / 60 },
        { { "RateLimit-Policy", "\"zero\";q=0;w=1, \"b\";q=10;w=2" }, 5.0 },
        { { "RateLimit-Limit", "10, 10;w=1, 50;w=60" }, 50.0 / 60 },
        { { "RateLimit-Limit", "100;w=60" }, 100.0 / 60 },
        /* no window, or not requests: no rate */
        { { "RateLimit-Policy", "\"default\";q=100" }, 0.0 },
        { { "RateLimit-Policy", "\"b\";q=100;qu=\"content-bytes\";w=1" }, 0.0 },
        { { "RateLimit-Policy", "\"d\";q=0;w=60" }, 0.0 },
        { { "RateLimit-Limit", "100" }, 0.0 },
        { { "RateLimit", "limit=100, remaining=50, reset=5" }, 0.0 },
        { { "RateLimit", "\"default\";r=50;t=30" }, 0.0 },
        { { "RateLimit-Remaining", "5" }, 0.0 },
        { { "X-RateLimit-Limit", "5000" }, 0.0 },     /* GitHub: per hour, unsaid */
        { { "X-Rate-Limit-Limit", "100" }, 0.0 },
        { { "x-ratelimit-limit-tokens", "90000" }, 0.0 },
        { { "anthropic-ratelimit-tokens-limit", "80000" }, 0.0 },
        { { "anthropic-ratelimit-input-tokens-limit", "80000" }, 0.0 },
        { { "anthropic-ratelimit-output-tokens-limit", "16000" }, 0.0 },
        { { "x-ratelimit-limit-requests", "0" }, 0.0 }, /* a pause, not a rate */
        { { "x-ratelimit-remaining-requests", "0" }, 0.0 },
        { { "retry-after", "5" }, 0.0 },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        double rate = rate_of(&cases[i].header, 1);
        if (!same_rate(rate, cases[i].rate)) {
            fail_msg("%s: %s gave %g, not %g", cases[i].header.name, cases[i].header.value, rate,
                     cases[i].rate);
        }
    }

    /* Every family at once: the lowest wins, in any order. */
    static const field all[] = {
        { "x-ratelimit-limit-requests", "600" },        /* 10/s */
        { "anthropic-ratelimit-requests-limit", "1200" }, /* 20/s */
        { "RateLimit-Policy", "\"m\";q=100;w=60" },     /* 1.67/s */
        { "RateLimit-Limit", "5;w=1" },                 /* 5/s */
        { "X-RateLimit-Limit", "1" },                   /* no window: not a rate */
    };
    field reversed[RS_TEST_ARRAY_LEN(all)];
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(all); i++) {
        reversed[i] = all[RS_TEST_ARRAY_LEN(all) - 1 - i];
    }
    assert_true(same_rate(RATE_OF(all), 100.0 / 60));
    assert_true(same_rate(RATE_OF(reversed), 100.0 / 60));
    static const field llm_only[] = {
        { "x-ratelimit-limit-requests", "600" },
        { "anthropic-ratelimit-requests-limit", "300" },
    };
    assert_true(same_rate(RATE_OF(llm_only), 5.0));
    /* A repeated header keeps its most restrictive value; a policy with a
     * lower rate counts even where another keeps the slot's limit. */
    static const field repeated[] = {
        { "x-ratelimit-limit-requests", "600" },
        { "x-ratelimit-limit-requests", "120" },
        { "RateLimit-Policy", "\"burst\";q=10;w=1" },
        { "RateLimit-Policy", "\"hour\";q=3600;w=3600" },
    };
    assert_true(same_rate(RATE_OF(repeated), 1.0));
    rs_http_feedback_init(&f);
    FEED_ALL(&f, repeated, 0);
    assert_int_equal(f.quotas[RS_HTTP_QUOTA_IETF].limit, 10);
    assert_int_equal(f.quotas[RS_HTTP_QUOTA_IETF].window_ns, SEC);
    assert_true(same_rate(f.quotas[RS_HTTP_QUOTA_IETF].rate, 1.0));
    /* A malformed policy changes nothing. */
    assert_int_equal(feed(&f, "RateLimit-Policy", "\"x\";q=1;w=0", 0), RS_E_INVAL);
    assert_int_equal(feed(&f, "RateLimit-Policy", "\"x\";q=1;w=-5", 0), RS_E_INVAL);
    assert_true(same_rate(rs_http_feedback_request_rate(&f), 1.0));
}

static void request_rate_is_strict_and_saturates(void **state)
{
    (void)state;
    /* Huge limits over short windows: at most a token bucket's finest rate. */
    static const field huge_llm[] = { { "x-ratelimit-limit-requests", "99999999999999999999999" } };
    assert_true(RATE_OF(huge_llm) == RS_HTTP_MAX_REQUEST_RATE);
    static const field huge_ietf[] = { { "RateLimit-Policy", "\"a\";q=999999999999999;w=1" } };
    assert_true(RATE_OF(huge_ietf) == RS_HTTP_MAX_REQUEST_RATE);
    /* A window too long for 64-bit nanoseconds saturates: a tiny rate, not 0. */
    static const field eternal[] = { { "RateLimit-Policy", "\"a\";q=1;w=999999999999999" } };
    double tiny = RATE_OF(eternal);
    assert_true(tiny > 0.0 && tiny < 1e-10);

    /* Plain data written by hand: NaN, infinite, negative and 0 are none,
     * huge values the ceiling; a limit without its window is no rate. */
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    f.quotas[RS_HTTP_QUOTA_IETF].rate = NAN;
    f.quotas[RS_HTTP_QUOTA_IETF_FIELDS].rate = -5.0;
    assert_true(rs_http_feedback_request_rate(&f) == 0.0);
    f.quotas[RS_HTTP_QUOTA_IETF].limit = 100;
    f.quotas[RS_HTTP_QUOTA_IETF].window_ns = 0;
    f.quotas[RS_HTTP_QUOTA_OPENAI_REQUESTS].limit = -7;
    f.quotas[RS_HTTP_QUOTA_ANTHROPIC_REQUESTS].limit = INT64_MIN;
    assert_true(rs_http_feedback_request_rate(&f) == 0.0);
    f.quotas[RS_HTTP_QUOTA_IETF_FIELDS].rate = INFINITY;
    assert_true(rs_http_feedback_request_rate(&f) == 0.0);
    f.quotas[RS_HTTP_QUOTA_IETF_FIELDS].rate = 1e300;
    assert_true(rs_http_feedback_request_rate(&f) == RS_HTTP_MAX_REQUEST_RATE);
    f.quotas[RS_HTTP_QUOTA_OPENAI_REQUESTS].limit = 30;
    assert_true(same_rate(rs_http_feedback_request_rate(&f), 0.5));
    f.quotas[RS_HTTP_QUOTA_IETF].rate = 1e-3;
    assert_true(same_rate(rs_http_feedback_request_rate(&f), 1e-3));
}

static void apply_lowers_the_attempts_advertised_rate(void **state)
{
    (void)state;
    rs_http_feedback f;
    rs_http_feedback_init(&f);
    feed_ok(&f, "x-ratelimit-limit-requests", "600", 0);
    rs_attempt a = { .number = 2 };
    rs_http_feedback_apply(&f, &a);
    assert_true(same_rate(a.advertised_rate, 10.0));
    assert_int_equal(a.retry_after_ns, 0);
    assert_int_equal(a.pause_ns, 0);
    assert_int_equal(a.number, 2);
    /* A lower rate the function set stays; a higher one is lowered. */
    rs_attempt lower = { .advertised_rate = 4.0 };
    rs_http_feedback_apply(&f, &lower);
    assert_true(lower.advertised_rate == 4.0);
    rs_attempt higher = { .advertised_rate = 40.0 };
    rs_http_feedback_apply(&f, &higher);
    assert_true(same_rate(higher.advertised_rate, 10.0));
    /* Values that are no rate give way to the feedback's. */
    static const double garbage[] = { NAN, -1.0, INFINITY };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(garbage); i++) {
        rs_attempt g = { .advertised_rate = garbage[i] };
        rs_http_feedback_apply(&f, &g);
        assert_true(same_rate(g.advertised_rate, 10.0));
    }
    /* No rate advertised: the attempt's stays as it was. */
    rs_http_feedback_init(&f);
    feed_ok(&f, "X-RateLimit-Limit", "5000", 0);
    rs_attempt kept = { .advertised_rate = 7.0 };
    rs_http_feedback_apply(&f, &kept);
    assert_true(kept.advertised_rate == 7.0);
}

/* ---- server side --------------------------------------------------------- */

static void retry_after_is_formatted_in_whole_seconds_rounded_up(void **state)
{
    (void)state;
    static const struct {
        uint64_t wait_ns;
        const char *text;
    } cases[] = {
        { 0, "0" },
        { 1, "1" },
        { SEC - 1, "1" },
        { SEC, "1" },
        { SEC + 1, "2" },
        { 120 * SEC, "120" },
        { UINT64_MAX, "18446744074" },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        char buf[32];
        int len = rs_http_format_retry_after(buf, sizeof buf, cases[i].wait_ns);
        assert_int_equal(len, (int)strlen(cases[i].text));
        assert_string_equal(buf, cases[i].text);
        /* Read back, never earlier than the wait, and within a second of it. */
        uint64_t delay = 0;
        assert_int_equal(rs_http_retry_after(buf, (size_t)len, 0, &delay), RS_OK);
        assert_true(delay >= cases[i].wait_ns);
        assert_true(cases[i].wait_ns == UINT64_MAX || delay - cases[i].wait_ns < SEC);
        /* Exactly the room it needs, and one byte less. */
        char exact_buf[32];
        assert_int_equal(rs_http_format_retry_after(exact_buf, (size_t)len + 1, cases[i].wait_ns),
                         len);
        memset(exact_buf, 'x', sizeof exact_buf);
        assert_int_equal(rs_http_format_retry_after(exact_buf, (size_t)len, cases[i].wait_ns),
                         RS_E_INVAL);
        assert_int_equal(exact_buf[0], '\0');
        assert_int_equal(exact_buf[len], 'x'); /* nothing written past the size */
    }
    assert_int_equal(rs_http_format_retry_after(NULL, 0, 5), RS_E_INVAL);
    assert_int_equal(rs_http_format_retry_after(NULL, 10, 5), RS_E_INVAL);
    char one[1] = { 'x' };
    assert_int_equal(rs_http_format_retry_after(one, 1, 5), RS_E_INVAL);
    assert_int_equal(one[0], '\0');
}

static void ratelimit_fields_are_formatted(void **state)
{
    (void)state;
    static const struct {
        rs_http_ratelimit rl;
        const char *ratelimit;
        const char *policy;
    } cases[] = {
        { { "default", 100, 60 * SEC, 50, 30 * SEC }, "\"default\";r=50;t=30",
          "\"default\";q=100;w=60" },
        { { NULL, 5, SEC, 0, 200 * MS }, "\"default\";r=0;t=1", "\"default\";q=5;w=1" },
        { { "per-ip 10.0.0.1", 10, 0, 10, 0 }, "\"per-ip 10.0.0.1\";r=10;t=0",
          "\"per-ip 10.0.0.1\";q=10" },
        { { "key", 1, 1, 1, UINT64_MAX }, "\"key\";r=1", "\"key\";q=1;w=1" },
        { { "q\"uote\\", 2, 2 * SEC, 1, 1 }, "\"q\\\"uote\\\\\";r=1;t=1",
          "\"q\\\"uote\\\\\";q=2;w=2" },
        { { "", UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX - 1 },
          "\"\";r=999999999999999;t=18446744074", "\"\";q=999999999999999;w=18446744074" },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        char buf[128];
        int len = rs_http_format_ratelimit(buf, sizeof buf, &cases[i].rl);
        assert_string_equal(buf, cases[i].ratelimit);
        assert_int_equal(len, (int)strlen(cases[i].ratelimit));
        for (size_t size = 0; size <= (size_t)len; size++) {
            char small[128];
            memset(small, 'x', sizeof small);
            assert_int_equal(rs_http_format_ratelimit(small, size, &cases[i].rl), RS_E_INVAL);
            assert_true(size == 0 ? small[0] == 'x' : small[0] == '\0');
            assert_int_equal(small[size], 'x');
        }
        len = rs_http_format_ratelimit_policy(buf, sizeof buf, &cases[i].rl);
        assert_string_equal(buf, cases[i].policy);
        assert_int_equal(len, (int)strlen(cases[i].policy));
        char small[4];
        assert_int_equal(rs_http_format_ratelimit_policy(small, sizeof small, &cases[i].rl),
                         RS_E_INVAL);
        assert_int_equal(small[0], '\0');
    }
    char buf[64];
    rs_http_ratelimit bad = { "tab\there", 1, 0, 1, 0 };
    assert_int_equal(rs_http_format_ratelimit(buf, sizeof buf, &bad), RS_E_INVAL);
    assert_int_equal(buf[0], '\0');
    bad.policy = "caf\xc3\xa9";
    assert_int_equal(rs_http_format_ratelimit_policy(buf, sizeof buf, &bad), RS_E_INVAL);
    assert_int_equal(rs_http_format_ratelimit(buf, sizeof buf, NULL), RS_E_INVAL);
    assert_int_equal(rs_http_format_ratelimit_policy(buf, sizeof buf, NULL), RS_E_INVAL);
    assert_int_equal(rs_http_format_ratelimit(NULL, 0, &cases[0].rl), RS_E_INVAL);
}

/* What a server formats, a client's feedback reads back as the same numbers. */
static void formatted_fields_read_back_the_same(void **state)
{
    (void)state;
    uint64_t seed = 13;
    static const char *const names[] = { "default", "per-key", "a\"b", "x\\y", "" };
    for (int round = 0; round < 20000; round++) {
        uint64_t r = rs_test_random(&seed);
        rs_http_ratelimit rl = {
            names[r % RS_TEST_ARRAY_LEN(names)],
            rs_test_random(&seed) >> (rs_test_random(&seed) % 64),
            rs_test_random(&seed) >> (rs_test_random(&seed) % 64),
            rs_test_random(&seed) >> (rs_test_random(&seed) % 64),
            rs_test_random(&seed) >> (rs_test_random(&seed) % 64),
        };
        if (r % 7 == 0) {
            rl.reset_ns = UINT64_MAX;
        }
        if (r % 5 == 0) {
            rl.window_ns = 0;
        }
        uint64_t reset_s = rl.reset_ns / SEC + (rl.reset_ns % SEC != 0);
        uint64_t window_s = rl.window_ns / SEC + (rl.window_ns % SEC != 0);
        /* Whole seconds read back as nanoseconds saturate. */
        uint64_t reset_read = reset_s > UINT64_MAX / SEC ? UINT64_MAX : reset_s * SEC;
        uint64_t window_read = window_s > UINT64_MAX / SEC ? UINT64_MAX : window_s * SEC;
        int64_t max_count = INT64_C(999999999999999);
        char value[128];
        rs_http_feedback f;
        rs_http_feedback_init(&f);

        int len = rs_http_format_ratelimit(value, sizeof value, &rl);
        assert_true(len > 0);
        assert_int_equal(rs_http_feedback_header(&f, "RateLimit", 9, value, (size_t)len, 0), RS_OK);
        len = rs_http_format_ratelimit_policy(value, sizeof value, &rl);
        assert_true(len > 0);
        assert_int_equal(rs_http_feedback_header(&f, "RateLimit-Policy", 16, value, (size_t)len, 0),
                         RS_OK);
        len = rs_http_format_retry_after(value, sizeof value, rl.reset_ns);
        assert_true(len > 0);
        assert_int_equal(rs_http_feedback_header(&f, "Retry-After", 11, value, (size_t)len, 0),
                         RS_OK);

        const rs_http_quota *q = &f.quotas[RS_HTTP_QUOTA_IETF];
        int64_t remaining = rl.remaining > (uint64_t)max_count ? max_count : (int64_t)rl.remaining;
        int64_t limit = rl.quota > (uint64_t)max_count ? max_count : (int64_t)rl.quota;
        assert_int_equal(q->remaining, remaining);
        assert_int_equal(q->limit, limit);
        assert_int_equal(q->window_ns, window_read);
        assert_int_equal(q->reset_ns, rl.reset_ns == UINT64_MAX ? 0 : reset_read);
        assert_int_equal(f.remaining_requests, remaining);
        assert_int_equal(f.limit_requests, limit);
        uint64_t retry_after = f.retry_after_ns;
        assert_true(retry_after >= rl.reset_ns);
        assert_true(rl.reset_ns > UINT64_MAX - SEC || retry_after - rl.reset_ns < SEC);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classify_defaults_match_the_documented_table),
        cmocka_unit_test(a_classifier_overrides_ranges),
        cmocka_unit_test(a_classifier_refuses_bad_ranges_and_verdicts),
        cmocka_unit_test(retry_after_reads_delta_seconds),
        cmocka_unit_test(retry_after_reads_the_three_date_forms),
        cmocka_unit_test(retry_after_resolves_two_digit_years),
        cmocka_unit_test(retry_after_rejects_garbage),
        cmocka_unit_test(retry_after_reads_no_further_than_len),
        cmocka_unit_test(retry_after_dates_match_a_day_count),
        cmocka_unit_test(feedback_starts_empty_and_ignores_unknown_names),
        cmocka_unit_test(feedback_reads_openai_headers),
        cmocka_unit_test(openai_resets_read_go_durations),
        cmocka_unit_test(feedback_reads_anthropic_headers),
        cmocka_unit_test(anthropic_resets_read_rfc3339),
        cmocka_unit_test(feedback_reads_github_style_headers),
        cmocka_unit_test(feedback_reads_the_ietf_structured_fields),
        cmocka_unit_test(malformed_ietf_fields_are_refused),
        cmocka_unit_test(retry_after_ms_is_the_finer_retry_after),
        cmocka_unit_test(malformed_known_headers_leave_the_feedback_untouched),
        cmocka_unit_test(header_names_match_in_any_case),
        cmocka_unit_test(feedback_refuses_null_arguments),
        cmocka_unit_test(families_summarize_the_most_restrictive_slot),
        cmocka_unit_test(apply_raises_the_attempts_waits_and_never_lowers_them),
        cmocka_unit_test(request_rate_reads_each_family),
        cmocka_unit_test(request_rate_is_strict_and_saturates),
        cmocka_unit_test(apply_lowers_the_attempts_advertised_rate),
        cmocka_unit_test(retry_after_is_formatted_in_whole_seconds_rounded_up),
        cmocka_unit_test(ratelimit_fields_are_formatted),
        cmocka_unit_test(formatted_fields_read_back_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
