/* test_json_fast.c — src/api/json_fast.c against jansson: whatever the fast reader returns must
 * equal what json_loadb(JSON_REJECT_DUPLICATES) returns for the same bytes, and it must read
 * the plain bodies of the API itself (else it saves nothing). Fixed cases (escapes, surrogate
 * pairs, UTF-8 edges, numbers, duplicates, trailing bytes) and 20,000 random strings of JSON
 * pieces. DESIGN: no product rule covers this (API.md: request bodies are JSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "api/json_fast.h"

/* 1 when the fast reader read it (and agreed with jansson), 0 when it gave up. */
static int same(const char *s, size_t n)
{
    json_t *f = json_fast_loadb(s, n);
    json_error_t je;
    json_t *j = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
    int read = f != NULL;
    if (f && !j) fail_msg("fast read what jansson refuses (%s): %.*s", je.text, (int)n, s);
    if (f && !json_equal(f, j)) fail_msg("fast and jansson differ: %.*s", (int)n, s);
    json_decref(f);
    json_decref(j);
    return read;
}

static int same_str(const char *s)
{
    return same(s, strlen(s));
}

static void test_json_fast_agrees_with_jansson(void **state)
{
    (void)state;
    /* read by the fast reader */
    const char *plain[] = {
        "{}", "[]", " { } ", "{\"a\":1}", "{\"a\":-0}", "{\"a\":[1,2,3],\"b\":{\"c\":null}}",
        "{\"t\":true,\"f\":false,\"n\":null}", "[\"x\", 123456789012345678, -5]",
        ("{\"from_mailbox_id\":\"mbx_01\",\"to\":[\"a@b.example\"],\"subject\":\"Hi\",\"text\":"
         "\"line one\\nline two\\t\\\"quoted\\\" \\\\ \\/ \\b\\f\\r\"}"),
        "{\"u\":\"\\u00e9\\u20ac\\ud83d\\ude00 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
        "{\"c1\":\"\xc2\x80\xc2\x9f\"}", "\r\n\t[ 1 ,\n2 ]\n",
    };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (!same_str(plain[i])) fail_msg("the fast reader gave up on: %s", plain[i]);
    /* left to jansson: invalid, or not plain */
    const char *other[] = {
        "", "1", "\"s\"", "{", "{\"a\":}", "{\"a\":1,}", "[1,]", "{\"a\":1}x", "{\"a\":1.5}",
        "{\"a\":1e3}", "{\"a\":01}", "{\"a\":1234567890123456789}", "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\x\"}", "{\"a\":\"tab\there\"}",
        "{\"a\":1,\"a\":2}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xff\"}", "{\"a\":tru}", "{a:1}", "[-]",
        "{\"a\":\"unterminated}", "{\"a\":\"esc at end\\", "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        if (same_str(other[i])) fail_msg("the fast reader read: %s", other[i]);
    /* deep nesting: given up past its depth, jansson decides */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    assert_int_equal(same(deep, sizeof(deep)), 0);

    /* random strings of JSON pieces */
    static const char *const bits[] = {"{", "}", "[", "]", ",", ":", "\"k\"", "\"k2\"", "\"v\"",
                                       "1", "-2", "0", "true", "null", " ", "\"\\n\"", "\"\\u00e9\"",
                                       "\"\\ud83d\\ude00\"", "\"\xc3\xa9\"", "\"\\\"\"", "1.5",
                                       "\"\\\\\"", "\"a\\", "\xc3", "\"\\u0041\""};
    unsigned seed = 4242;
    int read = 0;
    for (int round = 0; round < 20000; round++) {
        char buf[400];
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        int pieces = 1 + (int)((seed >> 16) % 24);
        for (int k = 0; k < pieces; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *b = bits[(seed >> 16) % (sizeof(bits) / sizeof(bits[0]))];
            size_t l = strlen(b);
            if (n + l >= sizeof(buf)) break;
            memcpy(buf + n, b, l);
            n += l;
        }
        read += same(buf, n);
    }
    /* and the same pieces as valid objects: {"k0": piece, "k1": [piece, piece], ...} */
    for (int round = 0; round < 5000; round++) {
        char buf[600];
        size_t n = 0;
        buf[n++] = '{';
        seed = seed * 1103515245u + 12345u;
        int fields = (int)((seed >> 16) % 6);
        for (int k = 0; k < fields; k++) {
            static const char *const vals[] = {"1", "-2", "true", "null", "\"\\n\"",
                                               "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\xc3\xa9\"",
                                               "[]", "{}", "[1,\"x\"]", "\"a b\""};
            seed = seed * 1103515245u + 12345u;
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"k%d\": %s", k ? ", " : "", k,
                                  vals[(seed >> 16) % (sizeof(vals) / sizeof(vals[0]))]);
        }
        buf[n++] = '}';
        if (!same(buf, n)) fail_msg("the fast reader gave up on: %.*s", (int)n, buf);
        read++;
    }
    assert_true(read >= 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_fast_agrees_with_jansson),
    };
    return cmocka_run_group_tests_name("json_fast", tests, NULL, NULL);
}
