/* fuzz_config.c — libFuzzer target for src/util/config.c: mf_config_parse on arbitrary text,
 * starting from mf_config_defaults and freed with mf_config_free (LeakSanitizer checks that
 * nothing is left behind). Aborts when the result breaks config.h's promises:
 *   - failure: the error is a 400 "bad_config" with a message;
 *   - success or failure: every string field is set, numbers stay in their documented ranges,
 *     log_level is one of debug/info/warn/error, generic_local_parts holds 0..MF_MAX_GENERIC
 *     non-empty lower-case names without commas or surrounding white space. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/config.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_config: invariant broken at line %d: %s\n", __LINE__, #cond);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_config(const mf_config *c)
{
    CHECK(c->db && c->listen && c->key_file && c->public_url && c->log_level && c->ca_file);
    CHECK(!strcmp(c->log_level, "debug") || !strcmp(c->log_level, "info") ||
          !strcmp(c->log_level, "warn") || !strcmp(c->log_level, "error"));
    CHECK(c->http_threads >= 1 && c->http_threads <= 256);
    CHECK(c->max_body_bytes >= 1024 && c->max_body_bytes <= 64L * 1024 * 1024);
    CHECK(c->default_mailbox_limit >= 0 && c->default_mailbox_limit <= 10000);
    CHECK(c->default_daily_limit >= 1 && c->default_daily_limit <= 1000000);
    CHECK(c->backfill_days >= 0 && c->backfill_days <= 3650);
    CHECK(c->generic_count >= 0 && c->generic_count <= MF_MAX_GENERIC);
    for (int i = 0; i < c->generic_count; i++) {
        const char *w = c->generic_local_parts[i];
        size_t n = strlen(w);
        CHECK(n > 0);
        CHECK(!isspace((unsigned char)w[0]) && !isspace((unsigned char)w[n - 1]));
        for (size_t k = 0; k < n; k++) {
            CHECK(w[k] != ',');
            CHECK(!isupper((unsigned char)w[k]));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    mf_config c;
    mf_config_defaults(&c);
    check_config(&c);
    mf_error err;
    memset(&err, 0, sizeof(err));
    int rc = mf_config_parse(&c, text, "fuzz.conf", &err);
    CHECK(rc == 0 || rc == -1);
    if (rc < 0) {
        CHECK(err.status == 400);
        CHECK(strcmp(err.code, "bad_config") == 0);
        CHECK(err.message[0] != '\0');
        CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
    }
    /* A failed parse may leave earlier lines applied; the config must still be whole. */
    check_config(&c);
    /* Parsing on top of a parsed config must not leak what it replaces. */
    mf_error err2;
    (void)mf_config_parse(&c, text, "fuzz.conf", &err2);
    check_config(&c);
    mf_config_free(&c);
    free(text);
    return 0;
}
