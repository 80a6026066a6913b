/* fuzz_form.c — libFuzzer target for src/api/form_in.c (the connect page's form bodies, R14).
 * The input is the raw body. Besides ASan/UBSan it checks the contract of form_in.h:
 *   - success gives an object of at most FORM_MAX_FIELDS string members, none longer than the
 *     input; failure gives 400 invalid_request with a message and no object;
 *   - percent-encoding every name and value again and parsing that gives the same object. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/form_in.h"
#include "util/strbuf.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_form: invariant broken at line %d: %s\n", __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void encode(strbuf *sb, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            strbuf_add(sb, s, 1);
        else
            strbuf_addf(sb, "%%%02X", c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *o = NULL;
    mf_error err;
    memset(&err, 0, sizeof(err));
    if (form_parse((const char *)data, size, &o, &err) < 0) {
        CHECK(o == NULL);
        CHECK(err.status == 400 && strcmp(err.code, "invalid_request") == 0 && err.message[0]);
        return 0;
    }
    CHECK(json_is_object(o) && json_object_size(o) <= FORM_MAX_FIELDS);
    strbuf sb;
    strbuf_init(&sb, 64u << 20);
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach(o, k, v)
    {
        CHECK(json_is_string(v));
        CHECK(strlen(k) <= size && json_string_length(v) <= size);
        if (!first) strbuf_addstr(&sb, "&");
        first = 0;
        encode(&sb, k);
        strbuf_addstr(&sb, "=");
        encode(&sb, json_string_value(v));
    }
    json_t *again = NULL;
    CHECK(form_parse(sb.buf, sb.len, &again, NULL) == 0);
    CHECK(json_equal(o, again));
    json_decref(again);
    json_decref(o);
    strbuf_release(&sb);
    return 0;
}
