/* test_webhook.c — the pure rules of webhooks (src/core/webhook.c): the signature a receiver
 * checks, the retry schedule (exponential, capped, jittered), the outcome of an attempt, and
 * the validation of endpoint URLs, secrets and event names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "core/webhook.h"

/* Vectors computed independently with Python: hmac.new(key, body, sha256) (API.md: the HMAC
 * of the raw body, keyed with the secret). */
static void test_signature_is_hmac_sha256_of_the_raw_body(void **state)
{
    (void)state;
    char sig[WEBHOOK_SIGNATURE_LEN];
    const char *body = "{\"id\":\"evt_1\",\"event\":\"message.received\"}";
    webhook_sign("whsec_test_secret_0123456789", body, strlen(body), sig);
    assert_string_equal(sig, "sha256=90f1a95a9998465f15cb5a25210a935d58eaef5b01cb79c07bc2aed0f55dc282");
    /* a key longer than SHA-256's block (64 bytes) is hashed first, as RFC 2104 says */
    char key[101];
    memset(key, 'k', 100);
    key[100] = '\0';
    webhook_sign(key, "", 0, sig);
    assert_string_equal(sig, "sha256=d46761768ee3c864fc76c08b3d73c8092853ae3fefa01b990963dfa2d56e7334");
}

static void test_signature_changes_with_every_input(void **state)
{
    (void)state;
    char a[WEBHOOK_SIGNATURE_LEN], b[WEBHOOK_SIGNATURE_LEN];
    const char *body = "{\"data\":{}}";
    webhook_sign("secret-one-0123456789", body, strlen(body), a);
    webhook_sign("secret-two-0123456789", body, strlen(body), b); /* another secret */
    assert_string_not_equal(a, b);
    webhook_sign("secret-one-0123456789", "{\"data\":{ }}", 12, b); /* body changed */
    assert_string_not_equal(a, b);
    webhook_sign("secret-one-0123456789", body, strlen(body), b); /* deterministic */
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 7 + 64);
    assert_memory_equal(a, "sha256=", 7);
}

static void test_backoff_doubles_from_base_up_to_the_cap(void **state)
{
    (void)state;
    /* with rnd = UINT32_MAX % (span) at its top the jitter gives the full step; check the
     * bounds for every attempt and many random numbers */
    long base = 30, max = 3600;
    long expect_step[] = {30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600};
    for (int n = 1; n <= 10; n++) {
        long step = expect_step[n - 1], lo = (step + 1) / 2, seen_lo = step, seen_hi = 0;
        for (uint32_t r = 0; r < 5000; r++) {
            long d = webhook_backoff_seconds(n, base, max, r * 2654435761u);
            assert_true(d >= lo && d <= step);
            if (d < seen_lo) seen_lo = d;
            if (d > seen_hi) seen_hi = d;
        }
        /* the jitter really spreads over [ceil(step/2), step] */
        assert_int_equal(seen_lo, lo);
        assert_int_equal(seen_hi, step);
    }
}

static void test_backoff_for_tests_and_odd_input(void **state)
{
    (void)state;
    /* the fast settings the integration test uses: 1 s base, 2 s cap */
    assert_int_equal(webhook_backoff_seconds(1, 1, 2, 0), 1);
    assert_int_equal(webhook_backoff_seconds(1, 1, 2, 12345), 1);
    for (uint32_t r = 0; r < 100; r++) {
        long d = webhook_backoff_seconds(5, 1, 2, r);
        assert_true(d >= 1 && d <= 2);
    }
    /* huge attempt counts do not overflow; max below base is raised to base */
    assert_true(webhook_backoff_seconds(1000, 30, 3600, 7) <= 3600);
    assert_true(webhook_backoff_seconds(1000, 30, 3600, 7) >= 1800);
    assert_int_equal(webhook_backoff_seconds(3, 10, 5, 0), 5);
    assert_int_equal(webhook_backoff_seconds(0, 0, 0, 99), 1);
}

static void test_outcome_of_an_attempt(void **state)
{
    (void)state;
    assert_int_equal(webhook_after_attempt(200, 1, 8), WEBHOOK_DELIVERED);
    assert_int_equal(webhook_after_attempt(204, 8, 8), WEBHOOK_DELIVERED);
    assert_int_equal(webhook_after_attempt(299, 3, 8), WEBHOOK_DELIVERED);
    assert_int_equal(webhook_after_attempt(500, 1, 8), WEBHOOK_RETRY);
    assert_int_equal(webhook_after_attempt(301, 1, 8), WEBHOOK_RETRY); /* no redirects */
    assert_int_equal(webhook_after_attempt(404, 7, 8), WEBHOOK_RETRY);
    assert_int_equal(webhook_after_attempt(0, 7, 8), WEBHOOK_RETRY); /* no answer */
    assert_int_equal(webhook_after_attempt(0, 8, 8), WEBHOOK_FAILED);
    assert_int_equal(webhook_after_attempt(503, 9, 8), WEBHOOK_FAILED);
    assert_int_equal(webhook_after_attempt(100, 1, 1), WEBHOOK_FAILED);
}

static void test_url_check(void **state)
{
    (void)state;
    char why[200];
    const char *good[] = {
        "https://hooks.example.com/mailfleet",
        "http://127.0.0.1:8080/hook?x=1&y=%20z",
        "HTTPS://Example.COM",
        "https://[::1]:9000/h",
        "http://receiver.internal:65535/",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(webhook_url_check(good[i], why, sizeof(why)), 0);
    const char *bad[] = {
        "",
        "ftp://example.com/",
        "https://",
        "https:///path",
        "https://user:pw@example.com/",
        "https://example.com/a b",
        "https://example.com/#frag",
        "https://example.com:0/",
        "https://example.com:70000/",
        "https://example.com:/",
        "https://exa_mple.com/",
        "https://[zz::1]/",
        "https://[]/",
        "javascript:alert(1)",
        "https://example.com/\x01",
        "https://examplé.com/",
        "//example.com/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(webhook_url_check(bad[i], why, sizeof(why)), -1);
        assert_true(why[0] != '\0');
    }
    char longurl[2100];
    memcpy(longurl, "https://e.com/", 14);
    memset(longurl + 14, 'a', sizeof(longurl) - 15);
    longurl[sizeof(longurl) - 1] = '\0';
    assert_int_equal(webhook_url_check(longurl, why, sizeof(why)), -1);
}

static void test_secret_and_event_names(void **state)
{
    (void)state;
    char why[200];
    assert_int_equal(webhook_secret_check("0123456789abcdef", why, sizeof(why)), 0);
    assert_int_equal(webhook_secret_check("short", why, sizeof(why)), -1);
    assert_int_equal(webhook_secret_check("has a space in it!!", why, sizeof(why)), -1);
    assert_int_equal(webhook_secret_check(NULL, why, sizeof(why)), -1);
    const char *names[] = {"message.received", "message.reply", "message.bounce",
                           "mailbox.status", "conversation.assigned", "enrollment.paused"};
    for (int i = 0; i < 6; i++) {
        assert_true(webhook_event_valid(names[i]));
        assert_string_equal(webhook_events[i], names[i]);
    }
    assert_false(webhook_event_valid("message.*"));
    assert_false(webhook_event_valid("Message.Received"));
    assert_false(webhook_event_valid(""));
    assert_false(webhook_event_valid(NULL));
}

/* The host the API judges for internal addresses (webhook_allow_private off). */
static void test_url_host(void **state)
{
    (void)state;
    char h[64];
    assert_int_equal(webhook_url_host("https://hooks.example.com/in?x=1", h, sizeof(h)), 0);
    assert_string_equal(h, "hooks.example.com");
    assert_int_equal(webhook_url_host("http://127.0.0.1:8080/x", h, sizeof(h)), 0);
    assert_string_equal(h, "127.0.0.1");
    assert_int_equal(webhook_url_host("http://[::1]:9/x", h, sizeof(h)), 0);
    assert_string_equal(h, "[::1]");
    assert_int_equal(webhook_url_host("http://example.com", h, sizeof(h)), 0);
    assert_string_equal(h, "example.com");
    assert_int_equal(webhook_url_host("http://example.com?q", h, sizeof(h)), 0);
    assert_string_equal(h, "example.com");
    assert_int_equal(webhook_url_host("example.com/x", h, sizeof(h)), -1);
    assert_int_equal(webhook_url_host("http://[::1/x", h, sizeof(h)), -1);
    assert_int_equal(webhook_url_host("http:///x", h, sizeof(h)), -1);
    char tiny[4];
    assert_int_equal(webhook_url_host("http://example.com/", tiny, sizeof(tiny)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_is_hmac_sha256_of_the_raw_body),
        cmocka_unit_test(test_signature_changes_with_every_input),
        cmocka_unit_test(test_backoff_doubles_from_base_up_to_the_cap),
        cmocka_unit_test(test_backoff_for_tests_and_odd_input),
        cmocka_unit_test(test_outcome_of_an_attempt),
        cmocka_unit_test(test_url_check),
        cmocka_unit_test(test_secret_and_event_names),
        cmocka_unit_test(test_url_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
