/* template.c — merge fields into user-written subjects and bodies; see template.h for the
 * syntax, the modes and the errors. One pass over the template, output into a bounded strbuf. */
#include <stdlib.h>
#include <string.h>
#include "core/template.h"
#include "util/strbuf.h"

_Static_assert(TEMPLATE_TAG_MAX == 512, "update the \"within 512 bytes\" message");

static const char *const standard_fields[] = {"first_name", "last_name", "company", "email"};

static int name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static int name_valid_n(const char *s, size_t n)
{
    if (n == 0 || n > TEMPLATE_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)s[i])) return 0;
    return 1;
}

int template_name_valid(const char *s)
{
    return s && name_valid_n(s, strnlen(s, TEMPLATE_NAME_MAX + 1));
}

/* Does the NUL-terminated field name equal the n bytes at s, ignoring ASCII case? */
static int name_eq(const char *field, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (field[i] == '\0' || lower((unsigned char)field[i]) != lower((unsigned char)s[i]))
            return 0;
    return field[n] == '\0';
}

static int blank(const char *v)
{
    for (; *v; v++)
        if (*v != ' ' && *v != '\t' && *v != '\r' && *v != '\n') return 0;
    return 1;
}

static int is_control(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* ---- output ------------------------------------------------------------------------------ */

struct render {
    template_mode mode;
    strbuf out;
    template_result *res;
    mf_error *err;
};

static int overflow(struct render *r)
{
    return mf_fail(r->err, 413, "template_too_large", NULL,
                   "the rendered text would be longer than %zu bytes", r->out.max);
}

static int emit(struct render *r, const char *s, size_t n)
{
    return strbuf_add(&r->out, s, n) < 0 ? overflow(r) : 0;
}

/* A field value, escaped for the mode. */
static int emit_value(struct render *r, const char *v)
{
    const char *run = v; /* start of the bytes not yet copied */
    for (const char *p = v;; p++) {
        unsigned char c = (unsigned char)*p;
        const char *rep = NULL;
        if (c == '\0') break;
        if (r->mode == TEMPLATE_HTML) {
            switch (c) {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '"': rep = "&quot;"; break;
            case '\'': rep = "&#39;"; break;
            default: break;
            }
        } else if (r->mode == TEMPLATE_LINE && is_control(c)) {
            /* a run of CR, LF and other controls becomes one space */
            rep = " ";
        }
        if (!rep) continue;
        if (emit(r, run, (size_t)(p - run)) < 0) return -1;
        if (emit(r, rep, strlen(rep)) < 0) return -1;
        if (r->mode == TEMPLATE_LINE)
            while (p[1] != '\0' && is_control((unsigned char)p[1])) p++;
        run = p + 1;
    }
    return emit(r, run, strlen(run));
}

/* ---- missing fields ---------------------------------------------------------------------- */

static int known_name(const char *s, size_t n, const template_field *fields, size_t n_fields)
{
    for (size_t i = 0; i < sizeof(standard_fields) / sizeof(standard_fields[0]); i++)
        if (name_eq(standard_fields[i], s, n)) return 1;
    for (size_t i = 0; i < n_fields; i++)
        if (name_eq(fields[i].name, s, n)) return 1;
    return 0;
}

static void note_missing(template_result *res, const char *s, size_t n, int has_default,
                         int known)
{
    for (size_t i = 0; i < res->n_missing; i++) {
        if (name_eq(res->missing[i].name, s, n)) {
            if (!has_default) res->missing[i].has_default = 0;
            return;
        }
    }
    if (res->n_missing == TEMPLATE_MISSING_MAX) {
        res->missing_truncated = 1;
        return;
    }
    template_missing *m = &res->missing[res->n_missing++];
    for (size_t i = 0; i < n; i++) m->name[i] = (char)lower((unsigned char)s[i]);
    m->name[n] = '\0';
    m->has_default = has_default;
    m->known = known;
}

/* ---- parsing ----------------------------------------------------------------------------- */

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t')) (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) (*e)--;
}

static int syntax(mf_error *err, const char *what, size_t at)
{
    return mf_fail(err, 400, "invalid_template", NULL, "%s at byte %zu", what, at);
}

/* The tag whose "{{" is at tpl[at]; sets *next to the byte after its "}}". */
static int render_tag(struct render *r, const char *tpl, size_t len, size_t at,
                      const template_field *fields, size_t n_fields, size_t *next)
{
    size_t limit = len - at < TEMPLATE_TAG_MAX ? len : at + TEMPLATE_TAG_MAX;
    size_t j = at + 2;
    for (;; j++) {
        if (j + 1 >= limit) {
            return syntax(r->err,
                          limit == len ? "unterminated {{" : "{{ without }} within 512 bytes", at);
        }
        char c = tpl[j];
        if (c == '}' && tpl[j + 1] == '}') break;
        if (c == '\n' || c == '\r') return syntax(r->err, "unterminated {{ (line break)", at);
        if (c == '\0') return syntax(r->err, "NUL byte", j);
        if (c == '{' && tpl[j + 1] == '{') return syntax(r->err, "{{ inside a tag", j);
        if (r->mode == TEMPLATE_LINE && is_control((unsigned char)c))
            return syntax(r->err, "control character in a one-line template", j);
    }
    *next = j + 2;

    const char *ns = tpl + at + 2, *ne = tpl + j;
    const char *bar = memchr(ns, '|', (size_t)(ne - ns));
    const char *ds = NULL, *de = NULL;
    if (bar) {
        ds = bar + 1;
        de = ne;
        ne = bar;
        trim(&ds, &de);
    }
    trim(&ns, &ne);
    size_t nlen = (size_t)(ne - ns);
    if (!name_valid_n(ns, nlen)) return syntax(r->err, "invalid field name in {{ }}", at);

    const char *value = NULL;
    for (size_t i = 0; i < n_fields; i++) {
        if (name_eq(fields[i].name, ns, nlen)) {
            value = fields[i].value;
            break;
        }
    }
    if (value && !blank(value)) return emit_value(r, value);
    if (r->res) note_missing(r->res, ns, nlen, bar != NULL, known_name(ns, nlen, fields, n_fields));
    return bar ? emit(r, ds, (size_t)(de - ds)) : 0;
}

static int render(const char *tpl, size_t len, template_mode mode, const template_field *fields,
                  size_t n_fields, size_t out_max, template_result *res, strbuf *out,
                  mf_error *err)
{
    struct render r = {.mode = mode, .res = res, .err = err};
    if (out_max == 0 || out_max > TEMPLATE_OUTPUT_MAX) out_max = TEMPLATE_OUTPUT_MAX;
    strbuf_init(&r.out, out_max);

    if (!tpl && len) return mf_fail(err, 400, "invalid_template", NULL, "no template given");
    if (len > TEMPLATE_INPUT_MAX)
        return mf_fail(err, 413, "template_too_large", NULL,
                       "the template is longer than %d bytes", TEMPLATE_INPUT_MAX);
    if (mode != TEMPLATE_TEXT && mode != TEMPLATE_HTML && mode != TEMPLATE_LINE)
        MF_BUG("template_render: unknown mode");
    if (n_fields > TEMPLATE_FIELDS_MAX)
        return mf_fail(err, 400, "invalid_request", NULL, "fields: more than %d merge fields",
                       TEMPLATE_FIELDS_MAX);
    if (n_fields && !fields) MF_BUG("template_render: fields NULL with n_fields > 0");
    for (size_t i = 0; i < n_fields; i++)
        if (!template_name_valid(fields[i].name))
            return mf_fail(err, 400, "invalid_request", NULL,
                           "fields[%zu].name: must be 1 to %d characters of letters, digits, "
                           "'_', '.' or '-'",
                           i, TEMPLATE_NAME_MAX);

    size_t i = 0, run = 0; /* literal bytes tpl[run..i) not yet copied */
    while (i < len) {
        unsigned char c = (unsigned char)tpl[i];
        if (c == '{' && i + 1 < len && tpl[i + 1] == '{') {
            if (emit(&r, tpl + run, i - run) < 0) goto fail;
            if (i + 3 < len && tpl[i + 2] == '{' && tpl[i + 3] == '{') {
                if (emit(&r, "{{", 2) < 0) goto fail;
                i += 4;
            } else if (render_tag(&r, tpl, len, i, fields, n_fields, &i) < 0) {
                goto fail;
            }
            run = i;
            continue;
        }
        if (c == '\0') {
            syntax(err, "NUL byte", i);
            goto fail;
        }
        if (mode == TEMPLATE_LINE && is_control(c)) {
            syntax(err,
                   c == '\n' || c == '\r' ? "line break in a one-line template"
                                          : "control character in a one-line template",
                   i);
            goto fail;
        }
        i++;
    }
    if (emit(&r, tpl + run, len - run) < 0) goto fail;
    *out = r.out;
    return 0;
fail:
    strbuf_release(&r.out);
    return -1;
}

int template_render(const char *tpl, size_t tpl_len, template_mode mode,
                    const template_field *fields, size_t n_fields, size_t out_max,
                    template_result **out, mf_error *err)
{
    if (!out) MF_BUG("template_render: out is NULL");
    *out = NULL;
    template_result *res = xcalloc(1, sizeof(*res));
    strbuf sb;
    if (render(tpl, tpl_len, mode, fields, n_fields, out_max, res, &sb, err) < 0) {
        free(res);
        return -1;
    }
    res->text = strbuf_detach(&sb, &res->len);
    *out = res;
    return 0;
}

int template_check(const char *tpl, size_t tpl_len, template_mode mode, mf_error *err)
{
    strbuf sb;
    if (render(tpl, tpl_len, mode, NULL, 0, 0, NULL, &sb, err) < 0) return -1;
    strbuf_release(&sb);
    return 0;
}

void template_result_free(template_result **r)
{
    if (!r || !*r) return;
    free((*r)->text);
    free(*r);
    *r = NULL;
}
