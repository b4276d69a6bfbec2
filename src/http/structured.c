/* A reader for Structured Field Values (RFC 9651), the syntax of the IETF
 * RateLimit and RateLimit-Policy fields. It is a pull reader over the
 * caller's bytes: the field readers in feedback.c walk members and
 * parameters themselves, keep what they need and never copy. Every bare
 * item type is recognised and checked, so an unknown parameter of any type
 * is skipped and a malformed one fails the field, as RFC 9651 requires. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/internal.h"

static bool at_end(const rs__sf_cursor *c) { return c->at >= c->end; }
static char peek(const rs__sf_cursor *c) { return at_end(c) ? '\0' : *c->at; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_lcalpha(char ch) { return ch >= 'a' && ch <= 'z'; }
static bool is_alpha(char ch) { return is_lcalpha(ch) || (ch >= 'A' && ch <= 'Z'); }

static bool is_tchar(char ch)
{
    if (is_alpha(ch) || is_digit(ch)) {
        return true;
    }
    switch (ch) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

static void skip_sp(rs__sf_cursor *c)
{
    while (!at_end(c) && *c->at == ' ') {
        c->at++;
    }
}

void rs__sf_start(rs__sf_cursor *c, const char *s, size_t len)
{
    rs__http_trim(&s, &len);
    c->at = s;
    c->end = s + len;
}

/* sf-integer = ["-"] 1*15DIGIT; sf-decimal = ["-"] 1*12DIGIT "." 1*3DIGIT. */
static bool number(rs__sf_cursor *c, rs__sf_value *out)
{
    const char *p = c->at, *end = c->end;
    bool negative = p < end && *p == '-';
    p += negative;
    const char *first = p;
    int64_t value = 0;
    for (; p < end && is_digit(*p); p++) {
        if (p - first == 15) {
            return false;
        }
        value = value * 10 + (*p - '0');
    }
    ptrdiff_t digits = p - first;
    if (digits == 0) {
        return false;
    }
    out->integer = negative ? -value : value; /* a decimal's whole part; nothing reads decimals */
    if (p == end || *p != '.') {
        out->kind = RS__SF_INTEGER;
        c->at = p;
        return true;
    }
    if (digits > 12) {
        return false;
    }
    const char *fraction = ++p;
    while (p < end && is_digit(*p) && p - fraction < 4) {
        p++;
    }
    if (p == fraction || p - fraction > 3) {
        return false;
    }
    out->kind = RS__SF_DECIMAL;
    c->at = p;
    return true;
}
static bool string(rs__sf_cursor *c, rs__sf_value *out)
{
    const char *start = c->at + 1; /* after the opening quote */
    const char *end = c->end;
    for (const char *p = start; p < end; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            out->kind = RS__SF_STRING;
            out->text = start;
            out->text_len = (size_t)(p - start);
            c->at = p + 1;
            return true;
        }
        if (ch == '\\') {
            if (++p == end || (*p != '"' && *p != '\\')) {
                return false;
            }
        } else if (ch < 0x20 || ch > 0x7e) {
            return false;
        }
    }
    return false; /* no closing quote */
}
static bool token(rs__sf_cursor *c, rs__sf_value *out)
{
    const char *start = c->at++;
    while (!at_end(c) && (is_tchar(*c->at) || *c->at == ':' || *c->at == '/')) {
        c->at++;
    }
    out->kind = RS__SF_TOKEN;
    out->text = start;
    out->text_len = (size_t)(c->at - start);
    return true;
}

static bool binary(rs__sf_cursor *c, rs__sf_value *out)
{
    c->at++;
    while (!at_end(c) && *c->at != ':') {
        char ch = *c->at++;
        if (!(is_alpha(ch) || is_digit(ch) || ch == '+' || ch == '/' || ch == '=')) {
            return false;
        }
    }
    if (at_end(c)) {
        return false;
    }
    c->at++;
    out->kind = RS__SF_BINARY;
    return true;
}

static bool is_lchex(char ch) { return is_digit(ch) || (ch >= 'a' && ch <= 'f'); }

/* sf-displaystring = "%" DQUOTE *( unescaped / "\" / pct-encoded ) DQUOTE */
static bool display_string(rs__sf_cursor *c, rs__sf_value *out)
{
    c->at++;
    if (peek(c) != '"') {
        return false;
    }
    c->at++;
    while (!at_end(c)) {
        char ch = *c->at++;
        if (ch == '"') {
            out->kind = RS__SF_DISPLAY_STRING;
            return true;
        }
        if ((unsigned char)ch < 0x20 || (unsigned char)ch > 0x7e) {
            return false;
        }
        if (ch == '%') {
            if (c->end - c->at < 2 || !is_lchex(c->at[0]) || !is_lchex(c->at[1])) {
                return false;
            }
            c->at += 2;
        }
    }
    return false;
}

static bool bare_item(rs__sf_cursor *c, rs__sf_value *out)
{
    char ch = peek(c);
    if (ch == '-' || is_digit(ch)) {
        return number(c, out);
    }
    if (ch == '"') {
        return string(c, out);
    }
    if (ch == '*' || is_alpha(ch)) {
        return token(c, out);
    }
    if (ch == ':') {
        return binary(c, out);
    }
    if (ch == '?') {
        c->at++;
        char bit = peek(c);
        if (bit != '0' && bit != '1') {
            return false;
        }
        c->at++;
        out->kind = RS__SF_BOOLEAN;
        out->integer = bit - '0';
        return true;
    }
    if (ch == '@') {
        c->at++;
        if (!number(c, out) || out->kind != RS__SF_INTEGER) {
            return false;
        }
        out->kind = RS__SF_DATE;
        return true;
    }
    if (ch == '%') {
        return display_string(c, out);
    }
    return false;
}

bool rs__sf_key(rs__sf_cursor *c, const char **key, size_t *key_len)
{
    const char *start = c->at, *end = c->end;
    if (start == end || !(is_lcalpha(*start) || *start == '*')) {
        return false;
    }
    const char *p = start + 1;
    while (p < end && (is_lcalpha(*p) || is_digit(*p) || *p == '_' || *p == '-' || *p == '.' ||
                       *p == '*')) {
        p++;
    }
    *key = start;
    *key_len = (size_t)(p - start);
    c->at = p;
    return true;
}
int rs__sf_next_param(rs__sf_cursor *c, const char **key, size_t *key_len, rs__sf_value *value)
{
    if (peek(c) != ';') {
        return 0;
    }
    c->at++;
    skip_sp(c);
    if (!rs__sf_key(c, key, key_len)) {
        return -1;
    }
    if (peek(c) != '=') {
        *value = (rs__sf_value){ RS__SF_BOOLEAN, 1, NULL, 0 };
        return 1;
    }
    c->at++;
    return bare_item(c, value) ? 1 : -1;
}

bool rs__sf_skip_params(rs__sf_cursor *c)
{
    const char *key;
    size_t key_len;
    rs__sf_value value;
    int more;
    do {
        more = rs__sf_next_param(c, &key, &key_len, &value);
    } while (more == 1);
    return more == 0;
}

static bool inner_list(rs__sf_cursor *c, rs__sf_value *out)
{
    c->at++;
    for (;;) {
        skip_sp(c);
        if (peek(c) == ')') {
            c->at++;
            *out = (rs__sf_value){ RS__SF_INNER_LIST, 0, NULL, 0 };
            return true;
        }
        rs__sf_value item;
        if (!bare_item(c, &item) || !rs__sf_skip_params(c)) {
            return false;
        }
        char next = peek(c);
        if (next != ' ' && next != ')') {
            return false;
        }
    }
}

bool rs__sf_member_value(rs__sf_cursor *c, rs__sf_value *out)
{
    return peek(c) == '(' ? inner_list(c, out) : bare_item(c, out);
}

int rs__sf_next_member(rs__sf_cursor *c)
{
    while (!at_end(c) && (*c->at == ' ' || *c->at == '\t')) {
        c->at++;
    }
    if (at_end(c)) {
        return 0;
    }
    if (*c->at != ',') {
        return -1;
    }
    c->at++;
    while (!at_end(c) && (*c->at == ' ' || *c->at == '\t')) {
        c->at++;
    }
    return at_end(c) ? -1 : 1; /* a trailing comma is malformed */
}
