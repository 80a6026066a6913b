/* fuzz_api_input.c — libFuzzer target for the HTTP input checks that need neither a database
 * nor a network: the route matcher (src/api/router.c) and the body validation of
 * src/api/json_in.c (jin_body, jin_body_any, jin_str, jin_int, jin_bool, jin_ids,
 * jin_reject_unknown_type).
 *
 * Input layout (so that seed files stay readable):
 *     METHOD SP PATH LF BODY          e.g. "POST /api/v1/users\n{\"email\":\"a@b.c\"}"
 * The first line is split at its first space; a line without a space is a GET of that path.
 * Everything after the first LF is the body, handed over as (pointer, length) without a
 * terminating NUL, exactly as http.c does with the bytes from libmicrohttpd.
 *
 * Aborts when a promise of api.h / router.h is broken:
 *   - every refusal is a 400 "invalid_request" whose message names the field;
 *   - jin_str gives a string of at most maxlen bytes with no NUL inside (or NULL when absent
 *     and not required), jin_int a number in [lo, hi], jin_ids 1..max valid ids;
 *   - router_match: ROUTE_FOUND only with a route of that method, one valid id per "{}";
 *     paths that do not start with '/' never match; the answer does not change when asked
 *     twice. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "api/router.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_api_input: invariant broken at line %d: %s\n", __LINE__,       \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_refusal(api_req *r, int rc, const char *field)
{
    CHECK(rc == -1);
    CHECK(r->err.status == 400);
    CHECK(strcmp(r->err.code, "invalid_request") == 0);
    CHECK(memchr(r->err.message, '\0', sizeof(r->err.message)) != NULL);
    /* "<field>: <what>", possibly truncated when the field name is very long */
    size_t fl = strlen(field), ml = strlen(r->err.message);
    size_t cmp = fl < ml ? fl : ml;
    CHECK(strncmp(r->err.message, field, cmp) == 0);
    memset(&r->err, 0, sizeof(r->err));
}

static void check_str(api_req *r, json_t *o, const char *key, int required, size_t maxlen)
{
    const char *s = (const char *)1;
    int rc = jin_str(r, o, key, required, maxlen, &s);
    if (rc < 0) {
        check_refusal(r, rc, key);
        return;
    }
    CHECK(rc == 0);
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        CHECK(!required && s == NULL);
        return;
    }
    CHECK(s != NULL && json_is_string(v));
    CHECK(s == json_string_value(v));
    CHECK(strlen(s) <= maxlen);
    CHECK(strlen(s) == json_string_length(v));
    if (required) CHECK(*s != '\0');
}

static void check_int(api_req *r, json_t *o, const char *key, int required, long lo, long hi)
{
    int out = 12345678, present = -1;
    int rc = jin_int(r, o, key, required, lo, hi, &out, &present);
    if (rc < 0) {
        check_refusal(r, rc, key);
        return;
    }
    CHECK(rc == 0);
    CHECK(present == 0 || present == 1);
    if (present) {
        CHECK(out >= lo && out <= hi);
        CHECK(json_is_integer(json_object_get(o, key)));
        CHECK(json_integer_value(json_object_get(o, key)) == out);
    } else {
        CHECK(!required && out == 12345678);
    }
    /* present may be NULL */
    rc = jin_int(r, o, key, required, lo, hi, &out, NULL);
    if (rc < 0) check_refusal(r, rc, key);
}

static void check_bool(api_req *r, json_t *o, const char *key)
{
    int out = 7, present = -1;
    int rc = jin_bool(r, o, key, &out, &present);
    if (rc < 0) {
        check_refusal(r, rc, key);
        return;
    }
    CHECK(present == 0 || present == 1);
    if (present) CHECK(out == 0 || out == 1);
    else CHECK(out == 7);
}

static void check_ids(api_req *r, json_t *o, const char *key, int max)
{
    char **ids = (char **)1;
    int n = -1;
    int rc = jin_ids(r, o, key, max, &ids, &n);
    if (rc < 0) {
        CHECK(ids == NULL && n == 0);
        check_refusal(r, rc, key);
        return;
    }
    CHECK(rc == 0);
    CHECK(n >= 1 && n <= max && ids != NULL);
    for (int i = 0; i < n; i++) {
        CHECK(ids[i] != NULL);
        CHECK(strlen(ids[i]) > 0 && strlen(ids[i]) < MF_ID_LEN);
        CHECK(mf_id_valid(ids[i]));
    }
    free(ids);
}

static void check_type(api_req *r, json_t *o, const char *key, json_type want)
{
    int rc = jin_reject_unknown_type(r, o, key, want);
    if (rc < 0) check_refusal(r, rc, key);
    else CHECK(rc == 0);
}

/* The fields the handlers read today, with the limits they use. */
static void known_fields(api_req *r, json_t *b)
{
    check_str(r, b, "email", 1, MF_ADDR_MAX - 1);
    check_str(r, b, "address", 1, 1000);
    check_str(r, b, "name", 0, 199);
    check_str(r, b, "name", 1, 199);
    check_str(r, b, "kind", 0, 16);
    check_str(r, b, "role", 1, 16);
    check_str(r, b, "mailbox_id", 1, MF_ID_LEN - 1);
    check_str(r, b, "owner_id", 0, MF_ID_LEN - 1);
    check_str(r, b, "signature", 0, 64 * 1024);
    check_str(r, b, "reason", 1, 500);
    check_str(r, b, "host", 1, 253);
    check_str(r, b, "password", 1, 4096);
    check_str(r, b, "", 0, 10);
    check_int(r, b, "count", 1, 1, 100);
    check_int(r, b, "daily_limit", 0, 1, 1000000);
    check_int(r, b, "mailbox_limit", 0, 0, 10000);
    check_int(r, b, "port", 1, 1, 65535);
    check_int(r, b, "wide", 0, -2147483647L - 1, 2147483647L);
    check_bool(r, b, "allow_generic");
    check_bool(r, b, "remove_from_other_seat");
    check_ids(r, b, "mailbox_ids", 500);
    check_ids(r, b, "ids", 2);
    check_type(r, b, "imap", JSON_OBJECT);
    check_type(r, b, "smtp", JSON_OBJECT);
}

/* Every field actually present, with every reader, and nested objects (imap/smtp settings). */
static void all_fields(api_req *r, json_t *o, int depth)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        check_str(r, o, key, 1, 8);
        check_str(r, o, key, 0, 100000);
        check_int(r, o, key, 1, 0, 100);
        check_int(r, o, key, 0, -100, 1000000);
        check_bool(r, o, key);
        check_ids(r, o, key, 3);
        check_type(r, o, key, JSON_STRING);
        check_type(r, o, key, JSON_ARRAY);
        if (json_is_object(v) && depth < 3) all_fields(r, v, depth + 1);
    }
}

static void fuzz_body(api_req *r)
{
    json_t *b = (json_t *)1;
    int rc = jin_body(r, &b);
    if (rc < 0) {
        CHECK(b == NULL);
        check_refusal(r, rc, "body");
    } else {
        CHECK(rc == 0 && json_is_object(b));
        known_fields(r, b);
        all_fields(r, b, 0);
        json_decref(b);
    }

    json_t *any = (json_t *)1;
    rc = jin_body_any(r, &any);
    if (rc < 0) {
        CHECK(any == NULL);
        check_refusal(r, rc, "body");
        return;
    }
    CHECK(rc == 0 && (json_is_object(any) || json_is_array(any)));
    if (json_is_array(any)) { /* bulk routes: an array of objects */
        size_t i;
        json_t *e;
        json_array_foreach(any, i, e)
        {
            if (i >= 16) break;
            if (json_is_object(e)) {
                known_fields(r, e);
                all_fields(r, e, 1);
            }
        }
    }
    json_decref(any);
}

static int count_params(const char *pattern)
{
    int n = 0;
    for (const char *p = strstr(pattern, "{}"); p; p = strstr(p + 2, "{}")) n++;
    return n;
}

static void fuzz_route(api_req *r, const char *method, const char *path)
{
    const route *rt = NULL;
    memset(r->params, 0, sizeof(r->params));
    enum route_match m = router_match(method, path, r, &rt);
    CHECK(m == ROUTE_FOUND || m == ROUTE_NO_PATH || m == ROUTE_NO_METHOD);
    if (path[0] != '/') CHECK(m == ROUTE_NO_PATH);
    if (m == ROUTE_FOUND) {
        CHECK(rt != NULL && rt->handler != NULL && rt->pattern != NULL);
        CHECK(strcmp(rt->method, method) == 0);
        CHECK(rt->auth == ROUTE_PUBLIC || rt->auth == ROUTE_AUTH);
        int np = count_params(rt->pattern);
        CHECK(np <= API_MAX_PARAMS);
        for (int i = 0; i < np; i++) {
            CHECK(memchr(r->params[i], '\0', sizeof(r->params[i])) != NULL);
            CHECK(mf_id_valid(r->params[i]));
            CHECK(strstr(path, r->params[i]) != NULL);
        }
    }
    const route *rt2 = NULL;
    api_req again;
    memset(&again, 0, sizeof(again));
    enum route_match m2 = router_match(method, path, &again, &rt2);
    CHECK(m2 == m);
    if (m == ROUTE_FOUND) {
        CHECK(rt2 == rt);
        CHECK(memcmp(again.params, r->params, sizeof(r->params)) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *lf = memchr(data, '\n', size);
    size_t line_len = lf ? (size_t)(lf - data) : size;
    char *line = malloc(line_len + 1);
    if (!line) return 0;
    memcpy(line, data, line_len);
    line[line_len] = '\0';
    const char *method = "GET", *path = line;
    char *sp = strchr(line, ' ');
    if (sp) {
        *sp = '\0';
        method = line;
        path = sp + 1;
    }

    api_req *r = calloc(1, sizeof(*r));
    if (!r) {
        free(line);
        return 0;
    }
    r->method = method;
    r->path = path;
    r->body = lf ? (const char *)lf + 1 : NULL;
    r->body_len = lf ? size - line_len - 1 : 0;

    fuzz_route(r, method, path);
    fuzz_body(r);

    free(r);
    free(line);
    return 0;
}
