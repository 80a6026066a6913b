/* template.h — merge fields into a subject or body written by a user: "Hi {{first_name|there}},".
 * Pure: no I/O, no global state (safe on any thread). Bytes in, bytes out: the template and the
 * values are copied whole (never cut), so UTF-8 in gives UTF-8 out.
 *
 * Syntax
 *   {{name}}            the field's value; "" when the field is missing
 *   {{name|default}}    the field's value, or the default text when the field is missing
 *   {{{{                a literal "{{" ("{{{{first_name}}" renders "{{first_name}}")
 *   anything else       literal text, including a lone "{", "}" or "}}"
 * - name: 1..TEMPLATE_NAME_MAX characters of [A-Za-z0-9_.-], matched ASCII case-insensitively
 *   ({{First_Name}} is first_name).
 * - Spaces and tabs around the name, around '|' and around the default are ignored:
 *   "{{ first_name | there }}" is "{{first_name|there}}". The default is everything after the
 *   first '|' (it may contain '|'); "{{name|}}" is an explicit empty default.
 * - A tag ends at the first "}}" and must end within TEMPLATE_TAG_MAX bytes of its "{{", on the
 *   same line; it may not contain "{{".
 * - A field is missing when it is not in the fields array, or its value is NULL, empty or only
 *   white space. Every missing field is reported in the result (so the API can warn before
 *   sending), also when a default covered it (has_default).
 *
 * Modes
 *   TEMPLATE_TEXT  values are inserted as they are (text/plain bodies).
 *   TEMPLATE_HTML  values are HTML-escaped (& < > " ' become &amp; &lt; &gt; &quot; &#39;);
 *                  the template text and the defaults are the author's HTML and are kept as
 *                  written.
 *   TEMPLATE_LINE  one line (subjects, header text): a CR, LF or other control character
 *                  (C0 but TAB, and DEL) in the TEMPLATE text is an error (the author must fix
 *                  it); in a VALUE each run of them becomes one space (prospect data is never a
 *                  reason to refuse a send, and never breaks a header). The result has no CR
 *                  or LF.
 *
 * Errors (mf_error):
 *   400 invalid_template   syntax: unterminated or over-long tag, bad field name, "{{" inside a
 *                          tag, NUL byte, line break in a TEMPLATE_LINE template; the message
 *                          names the byte offset, e.g. "unterminated {{ at byte 12".
 *   413 template_too_large the template is over TEMPLATE_INPUT_MAX bytes, or the result would
 *                          be over out_max bytes (the output is never silently cut).
 *   400 invalid_request    the fields array itself is bad (too many, NULL or invalid name). */
#ifndef MF_TEMPLATE_H
#define MF_TEMPLATE_H
#include <stddef.h>
#include "util/error.h"

#define TEMPLATE_NAME_MAX 64                 /* bytes of a field name */
#define TEMPLATE_TAG_MAX 512                 /* bytes from "{{" to "}}" included */
#define TEMPLATE_INPUT_MAX (1024 * 1024)     /* bytes of a template */
#define TEMPLATE_OUTPUT_MAX (4 * 1024 * 1024) /* out_max is capped to this (0 = this) */
#define TEMPLATE_FIELDS_MAX 256              /* entries of the fields array */
#define TEMPLATE_MISSING_MAX 32              /* missing fields reported (missing_truncated) */

typedef enum template_mode {
    TEMPLATE_TEXT = 0,
    TEMPLATE_HTML,
    TEMPLATE_LINE,
} template_mode;

/* One merge field: the prospect's first_name, last_name, company, email, or a custom field.
 * value NULL = missing. */
typedef struct template_field {
    const char *name;
    const char *value;
} template_field;

typedef struct template_missing {
    char name[TEMPLATE_NAME_MAX + 1]; /* lower-cased */
    int has_default; /* every use of the field had a default (0: some use rendered "") */
    int known;       /* a standard field (first_name, last_name, company, email) or one in the
                      * fields array; 0 hints at a typo such as {{frist_name}} */
} template_missing;

typedef struct template_result {
    char *text; /* NUL-terminated; len bytes (no NUL inside) */
    size_t len;
    template_missing missing[TEMPLATE_MISSING_MAX]; /* in order of first use, each name once */
    size_t n_missing;
    int missing_truncated; /* more than TEMPLATE_MISSING_MAX fields were missing */
} template_result;

/* Render tpl (tpl_len bytes, need not be NUL-terminated) with fields[0..n_fields) in mode.
 * out_max bounds the result's bytes (0 or more than TEMPLATE_OUTPUT_MAX: TEMPLATE_OUTPUT_MAX).
 * 0 and *out owns a new result (free with template_result_free); -1 with err filled and *out
 * NULL. */
int template_render(const char *tpl, size_t tpl_len, template_mode mode,
                    const template_field *fields, size_t n_fields, size_t out_max,
                    template_result **out, mf_error *err);

/* Check the syntax only (when a user saves a template): 0 ok, -1 with err as above. */
int template_check(const char *tpl, size_t tpl_len, template_mode mode, mf_error *err);

/* Free *r and set it to NULL; NULL or *r == NULL is fine. */
void template_result_free(template_result **r);

/* 1 when s is a valid field name (the rule above), else 0. */
int template_name_valid(const char *s);
#endif
