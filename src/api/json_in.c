/* json_in.c — validation of request bodies and query strings: every problem is a 400
 * invalid_request that names the field. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include "api/api.h"

int api_bad(api_req *r, const char *field, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return mf_fail(&r->err, 400, "invalid_request", NULL, "%s: %s", field, what);
}

static int parse(api_req *r, json_t **out)
{
    *out = NULL;
    if (!r->body || r->body_len == 0) return api_bad(r, "body", "a JSON body is required");
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!j) return api_bad(r, "body", "not valid JSON (line %d, column %d: %s)", je.line, je.column, je.text);
    *out = j;
    return 0;
}

int jin_body(api_req *r, json_t **out)
{
    if (parse(r, out) < 0) return -1;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return api_bad(r, "body", "expected a JSON object");
    }
    return 0;
}

int jin_body_any(api_req *r, json_t **out)
{
    if (parse(r, out) < 0) return -1;
    if (!json_is_object(*out) && !json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return api_bad(r, "body", "expected a JSON object or array");
    }
    return 0;
}

int jin_str(api_req *r, json_t *o, const char *key, int required, size_t maxlen, const char **out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = NULL;
        return required ? api_bad(r, key, "is required") : 0;
    }
    if (!json_is_string(v)) return api_bad(r, key, "expected a string");
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) return api_bad(r, key, "must not contain NUL");
    if (required && !*s) return api_bad(r, key, "must not be empty");
    if (strlen(s) > maxlen) return api_bad(r, key, "longer than %zu characters", maxlen);
    *out = s;
    return 0;
}

int jin_int(api_req *r, json_t *o, const char *key, int required, long lo, long hi, int *out,
            int *present)
{
    json_t *v = json_object_get(o, key);
    if (present) *present = 0;
    if (!v || json_is_null(v)) return required ? api_bad(r, key, "is required") : 0;
    if (!json_is_integer(v)) return api_bad(r, key, "expected a whole number");
    json_int_t n = json_integer_value(v);
    if (n < lo || n > hi) return api_bad(r, key, "must be from %ld to %ld", lo, hi);
    *out = (int)n;
    if (present) *present = 1;
    return 0;
}

int jin_bool(api_req *r, json_t *o, const char *key, int *out, int *present)
{
    json_t *v = json_object_get(o, key);
    if (present) *present = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v)) return api_bad(r, key, "expected true or false");
    *out = json_is_true(v);
    if (present) *present = 1;
    return 0;
}

int jin_ids(api_req *r, json_t *o, const char *key, int max, char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return api_bad(r, key, "is required");
    if (!json_is_array(v)) return api_bad(r, key, "expected an array of ids");
    size_t len = json_array_size(v);
    if (len == 0 || len > (size_t)max) return api_bad(r, key, "give 1 to %d ids", max);
    char **ids = xcalloc(len, sizeof(*ids));
    for (size_t i = 0; i < len; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || !mf_id_valid(json_string_value(e))) {
            free(ids);
            return api_bad(r, key, "item %zu is not an id", i);
        }
        ids[i] = (char *)json_string_value(e);
    }
    *out = ids;
    *n = (int)len;
    return 0;
}

int jin_reject_unknown_type(api_req *r, json_t *o, const char *key, json_type want)
{
    json_t *v = json_object_get(o, key);
    if (v && !json_is_null(v) && json_typeof(v) != want)
        return api_bad(r, key, "has the wrong type");
    return 0;
}

const char *api_query(api_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

int api_page(api_req *r, mf_page *pg)
{
    memset(pg, 0, sizeof(*pg));
    pg->limit = 50;
    const char *l = api_query(r, "limit");
    if (l) {
        char *end;
        errno = 0;
        long n = strtol(l, &end, 10);
        if (errno || end == l || *end || n < 1 || n > 500)
            return api_bad(r, "limit", "must be a whole number from 1 to 500");
        pg->limit = (int)n;
    }
    const char *c = api_query(r, "cursor");
    if (c && *c) {
        if (!mf_id_valid(c)) return api_bad(r, "cursor", "is not a cursor this API gave");
        pg->cursor = c;
    }
    return 0;
}
