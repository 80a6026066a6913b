/* fuzz_webhook_url.c — libFuzzer target for src/core/webhook.c on admin input: the endpoint
 * URL check, the secret check, and signing (any secret, timestamp and body). Besides
 * ASan/UBSan it aborts when webhook.h's promises are broken:
 *   - an accepted URL starts with http:// or https:// (any case), is at most 2048 bytes of
 *     printable ASCII without spaces, has no '#', no '@' before the path, a non-empty host,
 *     and a port (when given) of 1..65535 digits; a refused one comes with a reason;
 *   - an accepted secret is 16..128 printable ASCII characters without spaces;
 *   - a signature is "sha256=" + 64 lower-case hex digits and the same twice. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/webhook.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_webhook_url: invariant broken at line %d: %s\n", __LINE__,      \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_url(const char *u)
{
    char why[200] = "";
    int rc = webhook_url_check(u, why, sizeof(why));
    CHECK(rc == 0 || rc == -1);
    if (rc < 0) {
        CHECK(why[0] != '\0');
        return;
    }
    size_t n = strlen(u);
    CHECK(n <= 2048);
    for (size_t i = 0; i < n; i++) CHECK(u[i] > 0x20 && u[i] < 0x7f);
    CHECK(!strchr(u, '#'));
    const char *p = strncasecmp(u, "https://", 8) == 0   ? u + 8
                    : strncasecmp(u, "http://", 7) == 0 ? u + 7
                                                        : NULL;
    CHECK(p != NULL);
    size_t alen = strcspn(p, "/?");
    CHECK(alen > 0);
    CHECK(!memchr(p, '@', alen));
    const char *close = memchr(p, ']', alen);
    const char *colon = NULL;
    for (const char *q = close ? close : p; q < p + alen; q++)
        if (*q == ':') colon = q;
    if (*p == '[') CHECK(close != NULL && close > p + 1);
    else CHECK(colon != p);
    if (colon && (*p != '[' || colon > close)) {
        long port = 0;
        CHECK(colon + 1 < p + alen);
        for (const char *q = colon + 1; q < p + alen; q++) {
            CHECK(isdigit((unsigned char)*q));
            if (port <= 65535) port = port * 10 + (*q - '0');
        }
        CHECK(port >= 1 && port <= 65535);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_url(s);

    char why[200];
    if (webhook_secret_check(s, why, sizeof(why)) == 0) {
        size_t n = strlen(s);
        CHECK(n >= 16 && n <= 128);
        for (size_t i = 0; i < n; i++) CHECK(s[i] > 0x20 && s[i] < 0x7f);
    }

    /* sign: the first line is the secret, the second is ignored (it was a timestamp before the
     * signature became the HMAC of the body alone; the seeds keep it), the rest the body */
    char *nl = strchr(s, '\n');
    const char *secret = s, *body = "";
    size_t blen = 0;
    if (nl) {
        *nl = '\0';
        char *nl2 = strchr(nl + 1, '\n');
        if (nl2) {
            *nl2 = '\0';
            body = nl2 + 1;
            blen = size - (size_t)(body - s);
        }
    }
    char a[WEBHOOK_SIGNATURE_LEN], b[WEBHOOK_SIGNATURE_LEN];
    webhook_sign(secret, body, blen, a);
    webhook_sign(secret, body, blen, b);
    CHECK(strcmp(a, b) == 0 && strlen(a) == 71 && memcmp(a, "sha256=", 7) == 0);
    for (int i = 7; i < 71; i++) CHECK(isdigit((unsigned char)a[i]) || (a[i] >= 'a' && a[i] <= 'f'));
    free(s);
    return 0;
}
