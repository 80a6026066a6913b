/* fuzz_address.c — libFuzzer target for src/core/address.c: address_normalize (R7) and
 * address_is_generic (R6) on arbitrary bytes. Besides ASan/UBSan it checks the contract of
 * address.h and aborts when it is broken:
 *   - success: the output is lower-case, has exactly one '@', is shorter than MF_ADDR_MAX, has
 *     the documented shape (local 1..64 atext/dots without misplaced dots, domain of
 *     letters/digits/hyphens in non-empty dot-separated labels, at least one dot), and
 *     normalising it again gives the same output (idempotent);
 *   - failure: a reason is given and the output is the empty string;
 *   - address_is_generic agrees with a plain re-implementation of R6 on the output. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/address.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_address: invariant broken at line %d: %s\n", __LINE__, #cond);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char *const generic_names[] = {"info", "sales",  "support", "no-reply", "a",
                                      "",     "hr+x",   "admin",   "x.y",      "help"};
static const int generic_count = (int)(sizeof(generic_names) / sizeof(generic_names[0]));

static int atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* The shape that address.h promises for a normalised address. */
static void check_shape(const char *s)
{
    size_t n = strlen(s);
    CHECK(n > 0 && n < MF_ADDR_MAX);
    const char *at = strchr(s, '@');
    CHECK(at != NULL);
    CHECK(strchr(at + 1, '@') == NULL);
    for (size_t i = 0; i < n; i++) CHECK(!isupper((unsigned char)s[i]) && !isspace((unsigned char)s[i]));
    size_t local = (size_t)(at - s);
    CHECK(local >= 1 && local <= 64);
    CHECK(s[0] != '.' && s[local - 1] != '.');
    for (size_t i = 0; i < local; i++) {
        if (s[i] == '.') CHECK(s[i + 1] != '.');
        else CHECK(atext((unsigned char)s[i]));
    }
    const char *dom = at + 1;
    int dots = 0;
    size_t label = 0;
    for (const char *p = dom;; p++) {
        if (*p == '.' || *p == '\0') {
            CHECK(label > 0 && label <= 63);
            if (*p == '\0') break;
            dots++;
            label = 0;
        } else {
            CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
            label++;
        }
    }
    CHECK(dots >= 1);
}

/* R6 as written in address.h: the local part before any "+tag" equals one of the names. */
static int generic_ref(const char *norm)
{
    const char *at = strchr(norm, '@');
    size_t len = (size_t)(at - norm);
    for (size_t i = 0; i < len; i++)
        if (norm[i] == '+') {
            len = i;
            break;
        }
    for (int i = 0; i < generic_count; i++)
        if (strlen(generic_names[i]) == len && memcmp(generic_names[i], norm, len) == 0) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    if (!in) return 0;
    memcpy(in, data, size);
    in[size] = '\0';

    char out[MF_ADDR_MAX];
    const char *why = NULL;
    memset(out, 'X', sizeof(out));
    int rc = address_normalize(in, out, &why);
    CHECK(rc == 0 || rc == -1);
    if (rc < 0) {
        CHECK(why != NULL && *why != '\0');
        CHECK(out[0] == '\0');
    } else {
        check_shape(out);
        char again[MF_ADDR_MAX];
        const char *why2 = NULL;
        CHECK(address_normalize(out, again, &why2) == 0);
        CHECK(strcmp(out, again) == 0);
        int g = address_is_generic(out, generic_names, generic_count);
        CHECK(g == generic_ref(out));
        CHECK(address_is_generic(out, generic_names, 0) == 0);
    }
    /* why may be NULL */
    (void)address_normalize(in, out, NULL);
    /* address_is_generic must not read past the string on anything that lacks an '@' */
    if (!strchr(in, '@')) CHECK(address_is_generic(in, generic_names, generic_count) == 0);
    free(in);
    return 0;
}
