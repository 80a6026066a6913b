/* fuzz_api_input.c — libFuzzer target for the HTTP input checks that need neither a database
 * nor a network: the route matcher (src/api/router.c) and the input validation of
 * src/api/json_in.c (jin_body, jin_body_any, jin_str, jin_int, jin_bool, jin_ids,
 * jin_reject_unknown_type, and api_page/api_query on the query string).
 *
 * Input layout (so that seed files stay readable):
 *     METHOD SP PATH [? QUERY] LF BODY     e.g. "POST /api/v1/users\n{\"email\":\"a@b.c\"}"
 * The first line is split at its first space; a line without a space is a GET of that path.
 * PATH goes to router_match; QUERY ("k=v&k2=v2", taken as already URL-decoded) is what
 * api_query sees. Everything after the first LF is the body, handed over as (pointer, length)
 * without a terminating NUL, exactly as http.c does with the bytes from libmicrohttpd.
 *
 * api_query asks libmicrohttpd (MHD_lookup_connection_value) for GET arguments; this file
 * defines that function itself, answering from the fuzzed QUERY, so no HTTP server is needed.
 * The definition in the executable takes precedence over the one in libmicrohttpd.so.
 *
 * Aborts when a promise of api.h / router.h is broken:
 *   - every refusal is a 400 "invalid_request" whose message names the field, and (for the
 *     fixed field names the handlers use) api_fail_from turns it into the documented
 *     {"error":{"code","message"}} object — a message that is not valid UTF-8 would make that
 *     fail and the client would get an empty body;
 *   - jin_str gives a string of at most maxlen bytes with no NUL inside (or NULL when absent
 *     and not required), jin_int a number in [lo, hi], jin_ids 1..max valid ids;
 *   - router_match: ROUTE_FOUND only with a route of that method, one valid id per "{}";
 *     paths that do not start with '/' never match; the answer does not change when asked
 *     twice;
 *   - api_page: a limit in 1..500 (50 when absent), a cursor that is NULL or a valid id, or a
 *     400 naming "limit" / "cursor". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
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

/* ---- stand-in for libmicrohttpd's GET-argument lookup ---- */
#define MAX_QUERY_ARGS 16
struct fake_query {
    int n;
    const char *key[MAX_QUERY_ARGS];
    const char *value[MAX_QUERY_ARGS]; /* NULL for "?key" without '=' (as libmicrohttpd) */
};

const char *MHD_lookup_connection_value(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                                        const char *key)
{
    const struct fake_query *q = (const struct fake_query *)(void *)connection;
    CHECK(q != NULL && key != NULL);
    if (kind != MHD_GET_ARGUMENT_KIND) return NULL;
    for (int i = 0; i < q->n; i++)
        if (strcmp(q->key[i], key) == 0) return q->value[i];
    return NULL;
}

/* Split "a=1&b&c=3" in place. */
static void parse_query(char *s, struct fake_query *q)
{
    q->n = 0;
    while (s && *s && q->n < MAX_QUERY_ARGS) {
        char *amp = strchr(s, '&');
        if (amp) *amp = '\0';
        char *eq = strchr(s, '=');
        if (eq) *eq = '\0';
        q->key[q->n] = s;
        q->value[q->n] = eq ? eq + 1 : NULL;
        q->n++;
        s = amp ? amp + 1 : NULL;
    }
}

/* Set while the keys come from the fuzz input rather than from the handlers' fixed names: a
 * very long key can be cut inside a UTF-8 sequence by the fixed-size message buffer, which
 * the handlers never risk (their keys are short constants). */
static int arbitrary_keys;

static void check_rendered(api_req *r)
{
    api_req out;
    memset(&out, 0, sizeof(out));
    CHECK(api_fail_from(&out, &r->err) == -1);
    CHECK(out.status == r->err.status);
    if (!out.resp) {
        fprintf(stderr, "fuzz_api_input: api_fail_from gave no body for this error (json_pack "
                        "refuses a message that is not valid UTF-8): \"");
        for (const unsigned char *p = (const unsigned char *)r->err.message; *p; p++)
            fprintf(stderr, *p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x", *p);
        fprintf(stderr, "\"\n");
    }
    CHECK(out.resp != NULL);
    json_t *e = json_object_get(out.resp, "error");
    CHECK(json_is_object(e));
    CHECK(json_is_string(json_object_get(e, "code")));
    json_t *msg = json_object_get(e, "message");
    CHECK(json_is_string(msg));
    json_t *valid = json_string(r->err.message); /* NULL when not valid UTF-8 */
    if (valid) CHECK(json_equal(valid, msg)); /* a fix may instead replace invalid bytes */
    json_decref(valid);
    json_decref(out.resp);
}

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
    if (!arbitrary_keys) check_rendered(r);
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
    arbitrary_keys = 1;
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
    arbitrary_keys = 0;
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

static void fuzz_query(api_req *r)
{
    mf_page pg;
    memset(&pg, 0x5a, sizeof(pg));
    int rc = api_page(r, &pg);
    if (rc < 0) {
        CHECK(rc == -1 && r->err.status == 400);
        CHECK(strcmp(r->err.code, "invalid_request") == 0);
        CHECK(strncmp(r->err.message, "limit: ", 7) == 0 || strncmp(r->err.message, "cursor: ", 8) == 0);
        check_rendered(r);
        memset(&r->err, 0, sizeof(r->err));
        return;
    }
    CHECK(rc == 0);
    CHECK(pg.limit >= 1 && pg.limit <= 500);
    if (!api_query(r, "limit")) CHECK(pg.limit == 50);
    if (pg.cursor) {
        CHECK(pg.cursor == api_query(r, "cursor"));
        CHECK(mf_id_valid(pg.cursor));
    }
    CHECK(pg.more == 0);
    const char *v = api_query(r, "owner_id"); /* any other key is just looked up */
    (void)v;
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
        CHECK(rt->auth == ROUTE_PUBLIC || rt->auth == ROUTE_AUTH ||
              rt->auth == ROUTE_AUTH_BATCHED);
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
    const char *method = "GET";
    char *path = line;
    char *sp = strchr(line, ' ');
    if (sp) {
        *sp = '\0';
        method = line;
        path = sp + 1;
    }
    struct fake_query query = {0};
    char *qm = strchr(path, '?');
    if (qm) {
        *qm = '\0';
        parse_query(qm + 1, &query);
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
    r->conn = (struct MHD_Connection *)(void *)&query;

    fuzz_route(r, method, path);
    fuzz_query(r);
    fuzz_body(r);

    free(r);
    free(line);
    return 0;
}
