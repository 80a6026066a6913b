/* test_template.c — core/template.c: merge fields with defaults, missing-field reports, the
 * "{{{{" escape, HTML escaping of values (and only of values), one-line mode for subjects (a
 * prospect's data must never break a header line), syntax errors, and bounds on input and
 * output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/template.h"
#include "util/error.h"

static const template_field prospect[] = {
    {"first_name", "Ada"},
    {"last_name", "Lovelace"},
    {"company", "Analytical Engines"},
    {"email", "ada@example.com"},
    {"city", "London"},
};
#define N_PROSPECT (sizeof(prospect) / sizeof(prospect[0]))

/* Render s with fields in mode, expect success and return the result (caller frees). */
static template_result *render_ok(const char *s, template_mode mode, const template_field *f,
                                  size_t n)
{
    template_result *r = NULL;
    mf_error err;
    mf_error_clear(&err);
    int rc = template_render(s, strlen(s), mode, f, n, 0, &r, &err);
    if (rc != 0) fail_msg("template_render(\"%s\") failed: %s %s", s, err.code, err.message);
    assert_non_null(r);
    assert_int_equal(r->len, strlen(r->text));
    return r;
}

static void expect(const char *s, template_mode mode, const char *want)
{
    template_result *r = render_ok(s, mode, prospect, N_PROSPECT);
    assert_string_equal(r->text, want);
    template_result_free(&r);
    assert_null(r);
}

/* Expect an error with this code whose message contains `part`. */
static void expect_error(const char *s, size_t len, template_mode mode, const char *code,
                         const char *part)
{
    template_result *r = (template_result *)0x1;
    mf_error err;
    mf_error_clear(&err);
    assert_int_equal(template_render(s, len, mode, prospect, N_PROSPECT, 0, &r, &err), -1);
    assert_null(r);
    assert_string_equal(err.code, code);
    if (part && !strstr(err.message, part))
        fail_msg("error message \"%s\" lacks \"%s\"", err.message, part);
    /* template_check agrees on syntax errors */
    if (strcmp(code, "invalid_template") == 0)
        assert_int_equal(template_check(s, len, mode, NULL), -1);
}

static void test_template_fields_substituted(void **state)
{
    (void)state;
    expect("Hi {{first_name}} {{last_name}} of {{company}} <{{email}}> in {{city}}!",
           TEMPLATE_TEXT,
           "Hi Ada Lovelace of Analytical Engines <ada@example.com> in London!");
    expect("", TEMPLATE_TEXT, "");
    expect("no tags at all", TEMPLATE_TEXT, "no tags at all");
    expect("{{first_name}}", TEMPLATE_TEXT, "Ada");
    expect("{{first_name}}{{first_name}}", TEMPLATE_TEXT, "AdaAda");
}

static void test_template_whitespace_and_case_in_braces(void **state)
{
    (void)state;
    expect("Hi {{ first_name }}!", TEMPLATE_TEXT, "Hi Ada!");
    expect("Hi {{\tFirst_Name\t}}!", TEMPLATE_TEXT, "Hi Ada!");
    expect("Hi {{  FIRST_NAME  |  there  }}!", TEMPLATE_TEXT, "Hi Ada!");
    expect("Hi {{ nickname | my friend }}!", TEMPLATE_TEXT, "Hi my friend!");
}

static void test_template_default_when_missing_empty_or_blank(void **state)
{
    (void)state;
    const template_field f[] = {{"first_name", ""}, {"company", " \t\r\n"}, {"last_name", NULL}};
    template_result *r =
        render_ok("Hi {{first_name|there}}, {{company|your team}}{{last_name|}}.{{title}}",
                  TEMPLATE_TEXT, f, 3);
    assert_string_equal(r->text, "Hi there, your team.");
    assert_int_equal(r->n_missing, 4);
    assert_string_equal(r->missing[0].name, "first_name");
    assert_true(r->missing[0].has_default);
    assert_true(r->missing[0].known);
    assert_string_equal(r->missing[1].name, "company");
    assert_string_equal(r->missing[2].name, "last_name");
    assert_true(r->missing[2].has_default); /* explicit empty default */
    assert_string_equal(r->missing[3].name, "title");
    assert_false(r->missing[3].has_default);
    assert_false(r->missing[3].known); /* not standard, not given: a typo? */
    assert_false(r->missing_truncated);
    template_result_free(&r);
}

static void test_template_missing_reported_once_lowercased(void **state)
{
    (void)state;
    template_result *r =
        render_ok("{{Frist_Name|x}} {{frist_name}} {{FRIST_NAME|y}} {{email}}", TEMPLATE_TEXT,
                  NULL, 0);
    assert_string_equal(r->text, "x  y ");
    assert_int_equal(r->n_missing, 2);
    assert_string_equal(r->missing[0].name, "frist_name");
    assert_false(r->missing[0].has_default); /* one use had no default: the API must warn */
    assert_false(r->missing[0].known);
    assert_string_equal(r->missing[1].name, "email");
    assert_true(r->missing[1].known); /* a standard field this prospect lacks */
    template_result_free(&r);
}

static void test_template_missing_report_bounded(void **state)
{
    (void)state;
    char tpl[4096] = "";
    size_t n = 0;
    for (int i = 0; i < TEMPLATE_MISSING_MAX + 5; i++)
        n += (size_t)snprintf(tpl + n, sizeof(tpl) - n, "{{f%d}}", i);
    template_result *r = render_ok(tpl, TEMPLATE_TEXT, NULL, 0);
    assert_string_equal(r->text, "");
    assert_int_equal(r->n_missing, TEMPLATE_MISSING_MAX);
    assert_true(r->missing_truncated);
    assert_string_equal(r->missing[TEMPLATE_MISSING_MAX - 1].name, "f31");
    template_result_free(&r);
}

static void test_template_default_may_hold_pipe_and_utf8(void **state)
{
    (void)state;
    expect("{{title|Dr. | Prof.}}", TEMPLATE_TEXT, "Dr. | Prof.");
    expect("Grüße, {{nickname|Zoë}} — {{city}}", TEMPLATE_TEXT, "Grüße, Zoë — London");
    const template_field f[] = {{"first_name", "日本語"}};
    template_result *r = render_ok("こんにちは {{first_name}}さん", TEMPLATE_TEXT, f, 1);
    assert_string_equal(r->text, "こんにちは 日本語さん");
    template_result_free(&r);
}

static void test_template_quadruple_brace_escape(void **state)
{
    (void)state;
    expect("{{{{first_name}}", TEMPLATE_TEXT, "{{first_name}}");
    expect("write {{{{ and }} as text", TEMPLATE_TEXT, "write {{ and }} as text");
    expect("{{{{{{first_name}}", TEMPLATE_TEXT, "{{Ada");
    expect("a { b } c }} d {x}", TEMPLATE_TEXT, "a { b } c }} d {x}");
    expect("{", TEMPLATE_TEXT, "{");
    expect("}}}}", TEMPLATE_TEXT, "}}}}");
    expect("{{first_name}}}", TEMPLATE_TEXT, "Ada}");
    expect("{{{{{{{{", TEMPLATE_TEXT, "{{{{");
}

static void test_template_unterminated_braces_refused(void **state)
{
    (void)state;
    expect_error("Hi {{first_name", 15, TEMPLATE_TEXT, "invalid_template", "unterminated {{ at byte 3");
    expect_error("Hi {{", 5, TEMPLATE_TEXT, "invalid_template", "unterminated");
    expect_error("Hi {{first_name}", 16, TEMPLATE_TEXT, "invalid_template", "unterminated");
    expect_error("Hi {{first_name\n}}", 18, TEMPLATE_TEXT, "invalid_template", "line break");
    expect_error("{{{", 3, TEMPLATE_TEXT, "invalid_template", "unterminated");
    /* a tag that runs on without }} for longer than TEMPLATE_TAG_MAX */
    char big[2048];
    memset(big, 'a', sizeof(big));
    memcpy(big, "{{", 2);
    memcpy(big + sizeof(big) - 2, "}}", 2);
    expect_error(big, sizeof(big), TEMPLATE_TEXT, "invalid_template", "within 512 bytes");
    /* the longest tag accepted: 512 bytes from {{ to }} */
    char ok[TEMPLATE_TAG_MAX + 1];
    memset(ok, ' ', TEMPLATE_TAG_MAX);
    memcpy(ok, "{{x|", 4);
    memcpy(ok + TEMPLATE_TAG_MAX - 3, "d}}", 3);
    ok[TEMPLATE_TAG_MAX] = '\0';
    template_result *r = render_ok(ok, TEMPLATE_TEXT, NULL, 0);
    assert_string_equal(r->text, "d");
    template_result_free(&r);
    ok[TEMPLATE_TAG_MAX - 1] = ' '; /* "d} ": no longer closed */
    expect_error(ok, TEMPLATE_TAG_MAX, TEMPLATE_TEXT, "invalid_template", "unterminated");
}

static void test_template_bad_names_and_nesting_refused(void **state)
{
    (void)state;
    const char *bad[] = {"{{}}", "{{ }}", "{{|x}}", "{{first name}}", "{{a/b}}", "{{{x}}}",
                         "{{ä}}", "{{x}y}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(bad[i], strlen(bad[i]), TEMPLATE_TEXT, "invalid_template", NULL);
    expect_error("{{a|{{b}}}}", 11, TEMPLATE_TEXT, "invalid_template", "{{ inside a tag at byte 4");
    char name[TEMPLATE_NAME_MAX + 8];
    memset(name, 'n', sizeof(name));
    memcpy(name, "{{", 2);
    memcpy(name + 2 + TEMPLATE_NAME_MAX + 1, "}}", 2);
    expect_error(name, 2 + TEMPLATE_NAME_MAX + 3, TEMPLATE_TEXT, "invalid_template", "field name");
    /* 64 is fine */
    memcpy(name + 2 + TEMPLATE_NAME_MAX, "}}", 2);
    template_result *r = NULL;
    assert_int_equal(template_render(name, 2 + TEMPLATE_NAME_MAX + 2, TEMPLATE_TEXT, NULL, 0, 0,
                                     &r, NULL),
                     0);
    assert_int_equal(r->n_missing, 1);
    template_result_free(&r);
}

static void test_template_nul_byte_refused(void **state)
{
    (void)state;
    expect_error("Hi\0there", 8, TEMPLATE_TEXT, "invalid_template", "NUL byte at byte 2");
    expect_error("{{x|a\0b}}", 9, TEMPLATE_TEXT, "invalid_template", "NUL byte");
}

static void test_template_html_escapes_values_not_template(void **state)
{
    (void)state;
    const template_field f[] = {{"first_name", "<script>alert('x')</script>"},
                                {"company", "Tom & Jerry \"Ltd\""}};
    template_result *r = render_ok("<p class=\"x\">Hi <b>{{first_name}}</b> at {{company}} &amp; "
                                   "{{city|<i>your city</i>}}</p>",
                                   TEMPLATE_HTML, f, 2);
    assert_string_equal(r->text,
                        "<p class=\"x\">Hi <b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</b> "
                        "at Tom &amp; Jerry &quot;Ltd&quot; &amp; <i>your city</i></p>");
    template_result_free(&r);
    /* the same values are untouched in text mode */
    r = render_ok("{{first_name}} {{company}}", TEMPLATE_TEXT, f, 2);
    assert_string_equal(r->text, "<script>alert('x')</script> Tom & Jerry \"Ltd\"");
    template_result_free(&r);
}

static void test_template_line_mode_values_never_break_the_line(void **state)
{
    (void)state;
    const template_field f[] = {{"company", "Acme\r\nBcc: victim@example.com"},
                                {"first_name", "A\n\n\r\x01\x7f" "B\tC"},
                                {"last_name", "\r\n"}};
    template_result *r =
        render_ok("Re: {{company}} / {{first_name}} / [{{last_name|none}}]", TEMPLATE_LINE, f, 3);
    assert_string_equal(r->text, "Re: Acme Bcc: victim@example.com / A B\tC / [none]");
    assert_null(strchr(r->text, '\r'));
    assert_null(strchr(r->text, '\n'));
    template_result_free(&r);
    /* a value that ends or starts with a line break */
    const template_field g[] = {{"first_name", "\nAda\n"}};
    r = render_ok("[{{first_name}}]", TEMPLATE_LINE, g, 1);
    assert_string_equal(r->text, "[ Ada ]");
    template_result_free(&r);
}

static void test_template_line_mode_template_line_break_refused(void **state)
{
    (void)state;
    expect_error("Hello\r\nBcc: x@y.com", 19, TEMPLATE_LINE, "invalid_template",
                 "line break in a one-line template at byte 5");
    expect_error("Hello\nthere", 11, TEMPLATE_LINE, "invalid_template", "line break");
    expect_error("bell\a", 5, TEMPLATE_LINE, "invalid_template", "control character");
    expect_error("{{x|a\x01}}", 8, TEMPLATE_LINE, "invalid_template", "control character");
    /* TAB is fine in a line; line breaks are fine in text and HTML */
    expect("a\tb {{first_name}}", TEMPLATE_LINE, "a\tb Ada");
    expect("a\r\nb", TEMPLATE_TEXT, "a\r\nb");
    expect("<p>\n{{first_name}}\n</p>", TEMPLATE_HTML, "<p>\nAda\n</p>");
}

static void test_template_output_bounded(void **state)
{
    (void)state;
    template_result *r = NULL;
    mf_error err;
    /* exactly at the bound: fine */
    assert_int_equal(template_render("Hi {{first_name}}", 17, TEMPLATE_TEXT, prospect, 1, 6, &r,
                                     &err),
                     0);
    assert_string_equal(r->text, "Hi Ada");
    template_result_free(&r);
    /* one byte over: refused, never cut */
    assert_int_equal(template_render("Hi {{first_name}}", 17, TEMPLATE_TEXT, prospect, 1, 5, &r,
                                     &err),
                     -1);
    assert_null(r);
    assert_int_equal(err.status, 413);
    assert_string_equal(err.code, "template_too_large");
    /* escaping counts: "<" is 4 bytes in HTML */
    const template_field f[] = {{"first_name", "<<"}};
    assert_int_equal(template_render("{{first_name}}", 14, TEMPLATE_HTML, f, 1, 7, &r, &err), -1);
    assert_int_equal(template_render("{{first_name}}", 14, TEMPLATE_HTML, f, 1, 8, &r, &err), 0);
    assert_string_equal(r->text, "&lt;&lt;");
    template_result_free(&r);
}

static void test_template_huge_input_bounded(void **state)
{
    (void)state;
    /* a template over TEMPLATE_INPUT_MAX is refused before any work */
    size_t big = TEMPLATE_INPUT_MAX + 1;
    char *s = malloc(big);
    memset(s, 'x', big);
    template_result *r = NULL;
    mf_error err;
    assert_int_equal(template_render(s, big, TEMPLATE_TEXT, NULL, 0, 0, &r, &err), -1);
    assert_int_equal(err.status, 413);
    assert_null(r);
    /* 1 MiB of tags, each expanding a 1000-byte value: far over the 4 MiB output bound */
    char *value = malloc(1001);
    memset(value, 'v', 1000);
    value[1000] = '\0';
    const template_field f[] = {{"first_name", value}};
    size_t n = 0;
    while (n + 14 <= TEMPLATE_INPUT_MAX) {
        memcpy(s + n, "{{first_name}}", 14);
        n += 14;
    }
    assert_int_equal(template_render(s, n, TEMPLATE_TEXT, f, 1, 0, &r, &err), -1);
    assert_string_equal(err.code, "template_too_large");
    /* the same template with a short value fits */
    const template_field g[] = {{"first_name", "Al"}};
    assert_int_equal(template_render(s, n, TEMPLATE_TEXT, g, 1, 0, &r, &err), 0);
    assert_int_equal(r->len, n / 14 * 2);
    template_result_free(&r);
    /* and so do many unknown fields: reported once */
    assert_int_equal(template_render(s, n, TEMPLATE_TEXT, NULL, 0, 0, &r, &err), 0);
    assert_int_equal(r->len, 0);
    assert_int_equal(r->n_missing, 1);
    template_result_free(&r);
    free(value);
    free(s);
}

static void test_template_bad_fields_array_refused(void **state)
{
    (void)state;
    template_result *r = NULL;
    mf_error err;
    const template_field f[] = {{"first_name", "Ada"}, {"bad name", "x"}};
    assert_int_equal(template_render("x", 1, TEMPLATE_TEXT, f, 2, 0, &r, &err), -1);
    assert_string_equal(err.code, "invalid_request");
    assert_non_null(strstr(err.message, "fields[1].name"));
    const template_field g[] = {{NULL, "x"}};
    assert_int_equal(template_render("x", 1, TEMPLATE_TEXT, g, 1, 0, &r, &err), -1);
    template_field many[TEMPLATE_FIELDS_MAX + 1];
    for (size_t i = 0; i < TEMPLATE_FIELDS_MAX + 1; i++) many[i] = (template_field){"f", "v"};
    assert_int_equal(template_render("x", 1, TEMPLATE_TEXT, many, TEMPLATE_FIELDS_MAX + 1, 0, &r,
                                     &err),
                     -1);
    assert_int_equal(template_render("x", 1, TEMPLATE_TEXT, many, TEMPLATE_FIELDS_MAX, 0, &r,
                                     &err),
                     0);
    template_result_free(&r);
    /* the first matching field wins */
    const template_field d[] = {{"first_name", "One"}, {"FIRST_NAME", "Two"}};
    r = render_ok("{{first_name}}", TEMPLATE_TEXT, d, 2);
    assert_string_equal(r->text, "One");
    template_result_free(&r);
}

static void test_template_check_and_name_valid(void **state)
{
    (void)state;
    const char *ok = "Hi {{first_name|there}} {{{{";
    assert_int_equal(template_check(ok, strlen(ok), TEMPLATE_LINE, NULL), 0);
    assert_int_equal(template_check(NULL, 0, TEMPLATE_TEXT, NULL), 0);
    mf_error err;
    assert_int_equal(template_check("Hi\n", 3, TEMPLATE_LINE, &err), -1);
    assert_int_equal(err.status, 400);
    assert_true(template_name_valid("first_name"));
    assert_true(template_name_valid("custom.field-2"));
    assert_false(template_name_valid(""));
    assert_false(template_name_valid(NULL));
    assert_false(template_name_valid("a b"));
    template_result_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_fields_substituted),
        cmocka_unit_test(test_template_whitespace_and_case_in_braces),
        cmocka_unit_test(test_template_default_when_missing_empty_or_blank),
        cmocka_unit_test(test_template_missing_reported_once_lowercased),
        cmocka_unit_test(test_template_missing_report_bounded),
        cmocka_unit_test(test_template_default_may_hold_pipe_and_utf8),
        cmocka_unit_test(test_template_quadruple_brace_escape),
        cmocka_unit_test(test_template_unterminated_braces_refused),
        cmocka_unit_test(test_template_bad_names_and_nesting_refused),
        cmocka_unit_test(test_template_nul_byte_refused),
        cmocka_unit_test(test_template_html_escapes_values_not_template),
        cmocka_unit_test(test_template_line_mode_values_never_break_the_line),
        cmocka_unit_test(test_template_line_mode_template_line_break_refused),
        cmocka_unit_test(test_template_output_bounded),
        cmocka_unit_test(test_template_huge_input_bounded),
        cmocka_unit_test(test_template_bad_fields_array_refused),
        cmocka_unit_test(test_template_check_and_name_valid),
    };
    return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
