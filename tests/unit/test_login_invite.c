/* test_login_invite.c — unit tests of the pure rules of login invites (src/core/login_invite.c):
 * the console password rule shared by `mailfleet user passwd` and /welcome/{token}, the link
 * "<base>/welcome/<token>", and the 410 codes and sentences of a link that no longer works
 * (expiry and states are core/invite.c's, tested in test_invites.c; here as login links). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "core/login_invite.h"

#define UNUSED_STATE (void)state
#define T0 ((time_t)1795600000) /* 2026-11-25 */
#define TOKEN "wel_AbC-_0123456789abcdefghijklmnopqrstuvwxyzABC"

static void test_password_needs_8_to_1000_bytes_on_one_line(void **state)
{
    UNUSED_STATE;
    const char *why = "unset";
    assert_int_equal(login_password_check("12345678", &why), 0);
    assert_null(why);
    assert_int_equal(login_password_check("1234567", &why), -1);
    assert_string_equal(why, "needs at least 8 characters");
    assert_int_equal(login_password_check("", &why), -1);
    assert_string_equal(why, "is required");
    assert_int_equal(login_password_check(NULL, &why), -1);
    char big[LOGIN_PASSWORD_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[LOGIN_PASSWORD_MAX] = '\0';
    assert_int_equal(login_password_check(big, &why), 0); /* exactly the maximum */
    big[LOGIN_PASSWORD_MAX] = 'x';
    big[LOGIN_PASSWORD_MAX + 1] = '\0';
    assert_int_equal(login_password_check(big, &why), -1);
    assert_string_equal(why, "is longer than 1000 bytes");
    /* the CLI reads one line: a password with a line break could never be typed there */
    assert_int_equal(login_password_check("line one\nline two", &why), -1);
    assert_string_equal(why, "must be one line");
    assert_int_equal(login_password_check("spaces are fine", NULL), 0);
}

static void test_link_is_welcome_under_public_url_or_listen(void **state)
{
    UNUSED_STATE;
    char out[256];
    assert_int_equal(login_invite_link("https://mail.example.com//", "0.0.0.0:1", TOKEN, out,
                                       sizeof(out)),
                     0);
    assert_string_equal(out, "https://mail.example.com/welcome/" TOKEN);
    assert_int_equal(login_invite_link("", "127.0.0.1:9000", TOKEN, out, sizeof(out)), 0);
    assert_string_equal(out, "http://127.0.0.1:9000/welcome/" TOKEN);
    assert_int_equal(login_invite_link(NULL, NULL, TOKEN, out, sizeof(out)), 0);
    assert_string_equal(out, "http://127.0.0.1:8025/welcome/" TOKEN);
}

static void test_link_refuses_bad_token_and_small_buffer(void **state)
{
    UNUSED_STATE;
    char out[40];
    assert_int_equal(login_invite_link("https://x.test", NULL, "wel_/../x", out, sizeof(out)), -1);
    assert_string_equal(out, "");
    assert_int_equal(login_invite_link("https://x.test", NULL, TOKEN, out, sizeof(out)), -1);
    assert_string_equal(out, ""); /* never a cut link */
    assert_int_equal(login_invite_link("https://x.test", NULL, TOKEN, out, 0), -1);
}

static void test_used_revoked_expired_links_answer_410_codes(void **state)
{
    UNUSED_STATE;
    time_t exp = invite_expiry(T0, 7);
    assert_null(login_invite_link_error(invite_state_of("pending", exp, T0)));
    assert_string_equal(login_invite_link_error(invite_state_of("pending", exp, exp)),
                        "invite_expired");
    assert_string_equal(login_invite_link_error(invite_state_of("accepted", exp, T0)),
                        "invite_used");
    assert_string_equal(login_invite_link_error(invite_state_of("revoked", exp, T0)),
                        "invite_revoked");
    /* sentences about passwords, not mailboxes */
    assert_non_null(strstr(login_invite_link_error_text(INVITE_ACCEPTED), "password is set"));
    assert_non_null(strstr(login_invite_link_error_text(INVITE_REVOKED), "newer"));
    assert_non_null(strstr(login_invite_link_error_text(INVITE_EXPIRED), "expired"));
    assert_null(strstr(login_invite_link_error_text(INVITE_ACCEPTED), "mailbox"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_needs_8_to_1000_bytes_on_one_line),
        cmocka_unit_test(test_link_is_welcome_under_public_url_or_listen),
        cmocka_unit_test(test_link_refuses_bad_token_and_small_buffer),
        cmocka_unit_test(test_used_revoked_expired_links_answer_410_codes),
    };
    return cmocka_run_group_tests_name("login_invite", tests, NULL, NULL);
}
