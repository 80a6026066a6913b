/* test_invites.c — unit tests of the pure invite rules (R14, src/core/invite.c): states and
 * expiry, the 410 code of a link that no longer works, token shape, the link itself, the
 * contributor's default name; the R6 rule as invites use it (mailbox_policy: generic addresses
 * allowed when shared); and the helpers of the public connect page: form bodies
 * (src/api/form_in.c) and HTML escaping (strbuf_add_html). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "api/form_in.h"
#include "core/address.h"
#include "core/invite.h"
#include "core/mailbox_policy.h"
#include "util/strbuf.h"

#define UNUSED_STATE (void)state
#define T0 ((time_t)1795600000) /* 2026-11-25 */

/* ---- states and expiry (R14) ------------------------------------------------------------- */

static void test_R14_pending_until_expiry_then_expired(void **state)
{
    UNUSED_STATE;
    time_t exp = invite_expiry(T0, 7);
    assert_int_equal(exp - T0, 7 * 86400);
    assert_int_equal(invite_state_of("pending", exp, T0), INVITE_PENDING);
    assert_int_equal(invite_state_of("pending", exp, exp - 1), INVITE_PENDING);
    /* the expiry instant itself no longer works */
    assert_int_equal(invite_state_of("pending", exp, exp), INVITE_EXPIRED);
    assert_int_equal(invite_state_of("pending", exp, exp + 86400), INVITE_EXPIRED);
}

static void test_R14_accepted_and_revoked_stay_so_after_expiry(void **state)
{
    UNUSED_STATE;
    time_t exp = invite_expiry(T0, 1);
    assert_int_equal(invite_state_of("accepted", exp, T0), INVITE_ACCEPTED);
    assert_int_equal(invite_state_of("accepted", exp, exp + 10), INVITE_ACCEPTED);
    assert_int_equal(invite_state_of("revoked", exp, T0), INVITE_REVOKED);
    assert_int_equal(invite_state_of("revoked", exp, exp + 10), INVITE_REVOKED);
}

static void test_R14_unknown_status_is_an_error(void **state)
{
    UNUSED_STATE;
    assert_int_equal(invite_state_of("expired", T0, T0), -1); /* never stored */
    assert_int_equal(invite_state_of("", T0, T0), -1);
    assert_int_equal(invite_state_of(NULL, T0, T0), -1);
}

static void test_R14_ttl_is_clamped_to_1_to_365_days(void **state)
{
    UNUSED_STATE;
    assert_int_equal(invite_expiry(T0, 0) - T0, 86400);
    assert_int_equal(invite_expiry(T0, -5) - T0, 86400);
    assert_int_equal(invite_expiry(T0, 365) - T0, 365 * 86400);
    assert_int_equal(invite_expiry(T0, 10000) - T0, 365 * 86400);
    assert_int_equal(INVITE_TTL_DAYS_DEFAULT, 7);
}

static void test_R14_state_names_round_trip(void **state)
{
    UNUSED_STATE;
    const char *names[] = {"pending", "accepted", "revoked", "expired"};
    for (int i = 0; i < 4; i++) {
        enum invite_state s;
        assert_string_equal(invite_state_name(i), names[i]);
        assert_int_equal(invite_state_parse(names[i], &s), 0);
        assert_int_equal((int)s, i);
    }
    enum invite_state s;
    assert_int_equal(invite_state_parse("used", &s), -1);
    assert_int_equal(invite_state_parse(NULL, &s), -1);
    assert_null(invite_state_name(-1));
    assert_null(invite_state_name(4));
}

static void test_R14_link_error_codes(void **state)
{
    UNUSED_STATE;
    assert_null(invite_link_error(INVITE_PENDING));
    assert_string_equal(invite_link_error(INVITE_ACCEPTED), "invite_used");
    assert_string_equal(invite_link_error(INVITE_REVOKED), "invite_revoked");
    assert_string_equal(invite_link_error(INVITE_EXPIRED), "invite_expired");
    assert_non_null(strstr(invite_link_error_text(INVITE_ACCEPTED), "already been used"));
    assert_non_null(strstr(invite_link_error_text(INVITE_REVOKED), "withdrawn"));
    assert_non_null(strstr(invite_link_error_text(INVITE_EXPIRED), "expired"));
}

static void test_R14_kinds(void **state)
{
    UNUSED_STATE;
    assert_true(invite_kind_valid("shared"));
    assert_true(invite_kind_valid("personal"));
    assert_false(invite_kind_valid("Shared"));
    assert_false(invite_kind_valid(""));
    assert_false(invite_kind_valid(NULL));
}

/* ---- tokens and links -------------------------------------------------------------------- */

static void test_R14_token_shape(void **state)
{
    UNUSED_STATE;
    assert_true(invite_token_shape_ok("inv_dA8g_3bYSYfXNmKW0DTHOLLkevQxozOAb-1FGo6pWN4"));
    assert_false(invite_token_shape_ok(""));
    assert_false(invite_token_shape_ok(NULL));
    assert_false(invite_token_shape_ok("inv.abc"));
    assert_false(invite_token_shape_ok("inv abc"));
    assert_false(invite_token_shape_ok("inv/abc"));
    assert_false(invite_token_shape_ok("inv%41"));
    char longer[INVITE_TOKEN_MAX + 2];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_false(invite_token_shape_ok(longer));
    longer[INVITE_TOKEN_MAX] = '\0';
    assert_true(invite_token_shape_ok(longer));
}

static void test_R14_link_uses_public_url_without_trailing_slash(void **state)
{
    UNUSED_STATE;
    char out[INVITE_LINK_MAX];
    assert_int_equal(invite_link("https://mail.example.com", "127.0.0.1:8025", "inv_abc", out,
                                 sizeof(out)),
                     0);
    assert_string_equal(out, "https://mail.example.com/connect/inv_abc");
    assert_int_equal(invite_link("https://mail.example.com/mf//", NULL, "inv_abc", out, sizeof(out)),
                     0);
    assert_string_equal(out, "https://mail.example.com/mf/connect/inv_abc");
}

static void test_R14_link_defaults_to_listen_address(void **state)
{
    UNUSED_STATE;
    char out[INVITE_LINK_MAX];
    assert_int_equal(invite_link("", "127.0.0.1:8025", "inv_abc", out, sizeof(out)), 0);
    assert_string_equal(out, "http://127.0.0.1:8025/connect/inv_abc");
    assert_int_equal(invite_link(NULL, "[::1]:9000", "t", out, sizeof(out)), 0);
    assert_string_equal(out, "http://[::1]:9000/connect/t");
}

static void test_R14_link_refuses_bad_token_and_small_buffer(void **state)
{
    UNUSED_STATE;
    char out[32];
    assert_int_equal(invite_link("https://x.test", NULL, "a/b", out, sizeof(out)), -1);
    assert_int_equal(invite_link("https://a-rather-long-host.example.com", NULL, "inv_abc", out,
                                 sizeof(out)),
                     -1);
    assert_string_equal(out, "");
}

static void test_R14_default_contributor_name_is_local_part(void **state)
{
    UNUSED_STATE;
    char out[16];
    invite_default_name("support@example.test", out, sizeof(out));
    assert_string_equal(out, "support");
    invite_default_name("a-very-long-local-part@example.test", out, sizeof(out));
    assert_string_equal(out, "a-very-long-loc");
    invite_default_name("nodomain", out, sizeof(out));
    assert_string_equal(out, "nodomain");
}

/* ---- R6 as invites apply it (through mailbox_policy) ------------------------------------- */

static const mf_check *check_of(const mf_check *c, int n, const char *rule)
{
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].rule, rule) == 0) return &c[i];
    fail_msg("no check %s", rule);
    return NULL;
}

static void test_R6_generic_address_allowed_for_shared_invite_not_personal(void **state)
{
    UNUSED_STATE;
    char *generic[] = {"support", "info"};
    char norm[MF_ADDR_MAX];
    assert_int_equal(address_normalize(" Support@Example.TEST ", norm, NULL), 0);
    assert_true(address_is_generic(norm, generic, 2));
    mf_actor admin = {.id = "usr_a", .org_id = "org_1", .role = ROLE_ADMIN};
    mf_add_facts f = {.actor = &admin,
                      .target = {.user_id = "", .org_id = "org_1", .used = 0, .limit = 1},
                      .address_norm = norm,
                      .shared = 1,
                      .is_generic = 1};
    mf_check c[MF_CHECK_MAX];
    int n = mailbox_policy_checks(&f, c);
    assert_true(check_of(c, n, "R6")->ok);
    assert_int_equal(mailbox_policy_first_failure(c, n), -1);
    f.shared = 0; /* a personal invite obeys R6 */
    n = mailbox_policy_checks(&f, c);
    assert_false(check_of(c, n, "R6")->ok);
    assert_string_equal(c[mailbox_policy_first_failure(c, n)].code, "generic_address_not_allowed");
    f.allow_generic = 1; /* unless the contract allows it */
    n = mailbox_policy_checks(&f, c);
    assert_int_equal(mailbox_policy_first_failure(c, n), -1);
}

static void test_R7_invited_address_already_connected_is_refused(void **state)
{
    UNUSED_STATE;
    mf_actor admin = {.id = "usr_a", .org_id = "org_1", .role = ROLE_ADMIN};
    mf_add_facts f = {.actor = &admin,
                      .target = {.user_id = "", .org_id = "org_1", .used = 0, .limit = 1},
                      .address_norm = "bob@example.test",
                      .shared = 0,
                      .existing = {.in_use = 1, .owner_id = "usr_b", .org_id = "org_1"}};
    mf_check c[MF_CHECK_MAX];
    int n = mailbox_policy_checks(&f, c);
    int bad = mailbox_policy_first_failure(c, n);
    assert_true(bad >= 0);
    assert_string_equal(c[bad].rule, "R7");
    assert_string_equal(c[bad].code, "address_in_use");
}

/* ---- the connect page's helpers ---------------------------------------------------------- */

static void test_form_parse_decodes_plus_and_percent(void **state)
{
    UNUSED_STATE;
    const char *body = "imap_host=mail.example.com&imap_port=993&imap_username=support%40ex.test"
                       "&imap_password=p%26ss+w%3Drd%21&sender_name=Support+Team&&empty=&flag";
    json_t *o = NULL;
    mf_error err;
    assert_int_equal(form_parse(body, strlen(body), &o, &err), 0);
    assert_string_equal(json_string_value(json_object_get(o, "imap_host")), "mail.example.com");
    assert_string_equal(json_string_value(json_object_get(o, "imap_port")), "993");
    assert_string_equal(json_string_value(json_object_get(o, "imap_username")), "support@ex.test");
    assert_string_equal(json_string_value(json_object_get(o, "imap_password")), "p&ss w=rd!");
    assert_string_equal(json_string_value(json_object_get(o, "sender_name")), "Support Team");
    assert_string_equal(json_string_value(json_object_get(o, "empty")), "");
    assert_string_equal(json_string_value(json_object_get(o, "flag")), "");
    json_decref(o);
}

static void test_form_parse_first_value_wins_and_length_is_respected(void **state)
{
    UNUSED_STATE;
    const char *body = "a=1&a=2&b=xyzIGNORED";
    json_t *o = NULL;
    assert_int_equal(form_parse(body, strlen("a=1&a=2&b=xyz"), &o, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(o, "a")), "1");
    assert_string_equal(json_string_value(json_object_get(o, "b")), "xyz");
    json_decref(o);
    assert_int_equal(form_parse(NULL, 0, &o, NULL), 0);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
}

static void test_form_parse_refuses_bad_input(void **state)
{
    UNUSED_STATE;
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=%00", "a=%ff%fe", "%=1", "n%00=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *o = NULL;
        mf_error err;
        memset(&err, 0, sizeof(err));
        assert_int_equal(form_parse(bad[i], strlen(bad[i]), &o, &err), -1);
        assert_int_equal(err.status, 400);
        assert_string_equal(err.code, "invalid_request");
        assert_null(o);
    }
    strbuf many;
    strbuf_init(&many, 1 << 20);
    for (int i = 0; i <= FORM_MAX_FIELDS; i++) strbuf_addf(&many, "f%d=1&", i);
    json_t *o = NULL;
    mf_error err;
    assert_int_equal(form_parse(many.buf, many.len, &o, &err), -1);
    assert_non_null(strstr(err.message, "form fields"));
    strbuf_release(&many);
}

static void test_html_escape(void **state)
{
    UNUSED_STATE;
    strbuf sb;
    strbuf_init(&sb, 1024);
    assert_int_equal(strbuf_add_html(&sb, "<a href=\"x\">Tom & Jerry's</a>"), 0);
    assert_string_equal(sb.buf, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    strbuf_release(&sb);
    strbuf_init(&sb, 8);
    assert_int_equal(strbuf_add_html(&sb, "<<<<"), -1); /* bounded like every strbuf */
    strbuf_release(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R14_pending_until_expiry_then_expired),
        cmocka_unit_test(test_R14_accepted_and_revoked_stay_so_after_expiry),
        cmocka_unit_test(test_R14_unknown_status_is_an_error),
        cmocka_unit_test(test_R14_ttl_is_clamped_to_1_to_365_days),
        cmocka_unit_test(test_R14_state_names_round_trip),
        cmocka_unit_test(test_R14_link_error_codes),
        cmocka_unit_test(test_R14_kinds),
        cmocka_unit_test(test_R14_token_shape),
        cmocka_unit_test(test_R14_link_uses_public_url_without_trailing_slash),
        cmocka_unit_test(test_R14_link_defaults_to_listen_address),
        cmocka_unit_test(test_R14_link_refuses_bad_token_and_small_buffer),
        cmocka_unit_test(test_R14_default_contributor_name_is_local_part),
        cmocka_unit_test(test_R6_generic_address_allowed_for_shared_invite_not_personal),
        cmocka_unit_test(test_R7_invited_address_already_connected_is_refused),
        cmocka_unit_test(test_form_parse_decodes_plus_and_percent),
        cmocka_unit_test(test_form_parse_first_value_wins_and_length_is_respected),
        cmocka_unit_test(test_form_parse_refuses_bad_input),
        cmocka_unit_test(test_html_escape),
    };
    return cmocka_run_group_tests_name("invites", tests, NULL, NULL);
}
