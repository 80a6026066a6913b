/* json_out.c — a small JSON text writer; see json_out.h. */
#include <stdio.h>
#include <string.h>
#include "api/json_out.h"

/* Bytes of the valid UTF-8 sequence starting at p, or 0. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n;
    unsigned cp;
    if ((*p & 0xe0) == 0xc0) n = 1, cp = *p & 0x1f;
    else if ((*p & 0xf0) == 0xe0) n = 2, cp = *p & 0x0f;
    else if ((*p & 0xf8) == 0xf0) n = 3, cp = *p & 0x07;
    else return 0;
    for (size_t i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n + 1;
}

/* Bytes that go into a JSON string as they are: printable ASCII except '"' and '\\'. */
static int plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Length of s when every byte is plain, else (size_t)-1. */
static size_t plain_len(const unsigned char *s)
{
    size_t n = 0;
    while (plain(s[n])) n++;
    return s[n] ? (size_t)-1 : n;
}

void jw_string(strbuf *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = plain_len(p);
    if (n != (size_t)-1) { /* the common case (ids, times, addresses): one copy */
        char *w = strbuf_reserve(sb, n + 2);
        if (!w) return;
        w[0] = '"';
        memcpy(w + 1, p, n);
        w[n + 1] = '"';
        strbuf_commit(sb, n + 2);
        return;
    }
    strbuf_add(sb, "\"", 1);
    const unsigned char *run = p;
    while (*p) {
        if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
            p++;
            continue;
        }
        strbuf_add(sb, run, (size_t)(p - run));
        if (*p >= 0x80) {
            size_t n = utf8_len(p);
            if (n) {
                strbuf_add(sb, p, n);
                p += n;
            } else {
                strbuf_addstr(sb, "\xef\xbf\xbd"); /* U+FFFD */
                p++;
            }
        } else {
            char esc[8];
            switch (*p) {
            case '"': strbuf_addstr(sb, "\\\""); break;
            case '\\': strbuf_addstr(sb, "\\\\"); break;
            case '\n': strbuf_addstr(sb, "\\n"); break;
            case '\r': strbuf_addstr(sb, "\\r"); break;
            case '\t': strbuf_addstr(sb, "\\t"); break;
            default:
                snprintf(esc, sizeof(esc), "\\u%04x", *p);
                strbuf_addstr(sb, esc);
            }
            p++;
        }
        run = p;
    }
    strbuf_add(sb, run, (size_t)(p - run));
    strbuf_add(sb, "\"", 1);
}

void jw_key(strbuf *sb, int *first, const char *key)
{
    size_t n = plain_len((const unsigned char *)key);
    if (n != (size_t)-1) { /* ,"key": in one copy */
        char *w = strbuf_reserve(sb, n + 4);
        if (!w) return;
        size_t k = 0;
        if (!*first) w[k++] = ',';
        w[k++] = '"';
        memcpy(w + k, key, n);
        k += n;
        w[k++] = '"';
        w[k++] = ':';
        strbuf_commit(sb, k);
        *first = 0;
        return;
    }
    if (!*first) strbuf_add(sb, ",", 1);
    *first = 0;
    jw_string(sb, key);
    strbuf_add(sb, ":", 1);
}

void jw_kv_str(strbuf *sb, int *first, const char *key, const char *v)
{
    jw_key(sb, first, key);
    jw_string(sb, v);
}

void jw_kv_str_or_null(strbuf *sb, int *first, const char *key, const char *v)
{
    jw_key(sb, first, key);
    if (v && *v) jw_string(sb, v);
    else strbuf_addstr(sb, "null");
}

void jw_kv_int(strbuf *sb, int *first, const char *key, int64_t v)
{
    jw_key(sb, first, key);
    char digits[24];
    size_t i = sizeof(digits);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) digits[--i] = '-';
    strbuf_add(sb, digits + i, sizeof(digits) - i);
}

void jw_kv_bool(strbuf *sb, int *first, const char *key, int v)
{
    jw_key(sb, first, key);
    strbuf_addstr(sb, v ? "true" : "false");
}
