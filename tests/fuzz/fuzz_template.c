/* fuzz_template.c — libFuzzer target for src/core/template.c. Input layout:
 *   byte 0      mode (% 3: TEXT, HTML, LINE)
 *   byte 1      out_max: 0 = the default bound, else byte * 7 (small bounds hit the 413 path)
 *   bytes 2..   the template, up to the first 0xFF byte; after it, the value of the fields
 *               "first_name" and "x.custom" (cut at a NUL)
 * Besides ASan/UBSan it checks the contract of template.h and aborts when it is broken:
 *   - failure: *out stays NULL, err names one of the documented codes with its status;
 *     template_check agrees with render on syntax errors;
 *   - success: text is NUL-terminated with len bytes and no NUL inside, len <= out_max; the
 *     missing-field report is bounded, each name valid and lower-case, each once;
 *   - LINE mode: no CR or LF in the result;
 *   - with values free of & < > " ' and controls, HTML and LINE render exactly what TEXT does
 *     (escaping touches values only, never the template text);
 *   - a template without "{{" renders to itself (TEXT). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/template.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_template: invariant broken at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int lower_name(const char *s)
{
    if (!template_name_valid(s)) return 0;
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') return 0;
    return 1;
}

static int has(const char *s, size_t n, const char *chars)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || strchr(chars, s[i])) return 1;
    return 0;
}

/* Render and check the invariants that hold in every case; returns the result or NULL. */
static template_result *render(const char *tpl, size_t len, template_mode mode,
                               const template_field *f, size_t nf, size_t out_max)
{
    template_result *r = (template_result *)0x1;
    mf_error err;
    mf_error_clear(&err);
    int rc = template_render(tpl, len, mode, f, nf, out_max, &r, &err);
    CHECK(rc == 0 || rc == -1);
    if (rc < 0) {
        CHECK(r == NULL);
        int syntax = strcmp(err.code, "invalid_template") == 0;
        CHECK(syntax || strcmp(err.code, "template_too_large") == 0);
        CHECK(err.status == (syntax ? 400 : 413));
        CHECK(err.message[0] != '\0');
        if (syntax) CHECK(template_check(tpl, len, mode, NULL) == -1);
        return NULL;
    }
    CHECK(r != NULL && r->text != NULL);
    CHECK(strlen(r->text) == r->len);
    size_t bound = (out_max == 0 || out_max > TEMPLATE_OUTPUT_MAX) ? TEMPLATE_OUTPUT_MAX : out_max;
    CHECK(r->len <= bound);
    CHECK(r->n_missing <= TEMPLATE_MISSING_MAX);
    CHECK(!r->missing_truncated || r->n_missing == TEMPLATE_MISSING_MAX);
    for (size_t i = 0; i < r->n_missing; i++) {
        CHECK(lower_name(r->missing[i].name));
        CHECK(r->missing[i].has_default == 0 || r->missing[i].has_default == 1);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(r->missing[i].name, r->missing[j].name) != 0);
    }
    if (mode == TEMPLATE_LINE) CHECK(!strchr(r->text, '\r') && !strchr(r->text, '\n'));
    CHECK(template_check(tpl, len, mode, NULL) == 0);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    template_mode mode = (template_mode)(data[0] % 3);
    size_t out_max = (size_t)data[1] * 7;
    const char *tpl = (const char *)data + 2;
    size_t rest = size - 2;
    const char *sep = memchr(tpl, 0xff, rest);
    size_t tlen = sep ? (size_t)(sep - tpl) : rest;
    char *value = NULL;
    if (sep) {
        size_t vlen = rest - tlen - 1;
        value = malloc(vlen + 1);
        if (!value) return 0;
        memcpy(value, sep + 1, vlen);
        value[vlen] = '\0';
    }
    const template_field fields[] = {
        {"first_name", value},      {"last_name", "O'Brien & <Sons>"},
        {"company", "Acme\r\nBcc: x@y"}, {"email", ""},
        {"x.custom", value},        {"blank", " \t "},
    };
    template_result *r = render(tpl, tlen, mode, fields, 6, out_max);
    template_result_free(&r);
    CHECK(r == NULL);

    /* escaping touches values only: with harmless values every mode agrees with TEXT */
    const template_field safe[] = {{"first_name", "Ada"}, {"company", "Analytical Engines"},
                                   {"x.custom", "plain value"}};
    template_result *t = render(tpl, tlen, TEMPLATE_TEXT, safe, 3, 0);
    template_result *h = render(tpl, tlen, TEMPLATE_HTML, safe, 3, 0);
    template_result *l = render(tpl, tlen, TEMPLATE_LINE, safe, 3, 0);
    CHECK((t == NULL) == (h == NULL));
    if (t && h) CHECK(t->len == h->len && memcmp(t->text, h->text, t->len) == 0);
    if (t && l) CHECK(t->len == l->len && memcmp(t->text, l->text, t->len) == 0);
    if (t && !has(tpl, tlen, "")) CHECK(l != NULL); /* no controls: LINE accepts what TEXT does */
    if (t && !memmem(tpl, tlen, "{{", 2)) CHECK(t->len == tlen && memcmp(t->text, tpl, tlen) == 0);
    /* values with specials: HTML output is never shorter, LINE never holds a line break */
    if (t && value && has(value, strlen(value), "&<>\"'")) {
        template_result *hv = render(tpl, tlen, TEMPLATE_HTML, fields, 6, 0);
        template_result *tv = render(tpl, tlen, TEMPLATE_TEXT, fields, 6, 0);
        if (hv && tv) CHECK(hv->len >= tv->len);
        template_result_free(&hv);
        template_result_free(&tv);
    }
    template_result_free(&t);
    template_result_free(&h);
    template_result_free(&l);
    free(value);
    return 0;
}
