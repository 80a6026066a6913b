/* form_in.c — application/x-www-form-urlencoded → JSON object of strings; see form_in.h. */
#include <stdlib.h>
#include <string.h>
#include "api/form_in.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode s[0..n) into a new NUL-terminated string; NULL on a bad escape or a NUL byte. */
static char *decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *w = out;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n) {
                free(out);
                return NULL;
            }
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) {
                free(out);
                return NULL;
            }
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (c == '\0') {
            free(out);
            return NULL;
        }
        *w++ = c;
    }
    *w = '\0';
    return out;
}

int form_parse(const char *body, size_t len, json_t **out, mf_error *err)
{
    json_t *o = json_object();
    size_t pos = 0;
    int fields = 0;
    while (body && pos < len) {
        const char *start = body + pos;
        const char *amp = memchr(start, '&', len - pos);
        size_t plen = amp ? (size_t)(amp - start) : len - pos;
        pos += plen + 1;
        if (plen == 0) continue;
        if (++fields > FORM_MAX_FIELDS) {
            json_decref(o);
            return mf_fail(err, 400, "invalid_request", NULL, "body: more than %d form fields",
                           FORM_MAX_FIELDS);
        }
        const char *eq = memchr(start, '=', plen);
        size_t nlen = eq ? (size_t)(eq - start) : plen;
        char *name = decode(start, nlen);
        char *value = eq ? decode(eq + 1, plen - nlen - 1) : xstrdup("");
        json_t *k = name ? json_string(name) : NULL; /* NULL for invalid UTF-8 */
        json_t *v = value ? json_string(value) : NULL;
        if (!k || !v) {
            mf_fail(err, 400, "invalid_request", NULL,
                    "%s: not a valid form value (bad %%-escape, NUL or invalid UTF-8)",
                    k ? name : "body");
            json_decref(k);
            json_decref(v);
            free(name);
            free(value);
            json_decref(o);
            return -1;
        }
        json_decref(k);
        if (!json_object_get(o, name)) json_object_set_new(o, name, v);
        else json_decref(v);
        free(name);
        free(value);
    }
    *out = o;
    return 0;
}
