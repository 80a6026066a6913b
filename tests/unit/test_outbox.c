/* test_outbox.c — R26: the outbox state machine, transition by transition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "core/outbox.h"

static void test_R26_only_queued_can_be_claimed(void **state)
{
    (void)state;
    assert_true(outbox_transition_allowed(OUTBOX_QUEUED, OUTBOX_SENDING));
    assert_false(outbox_transition_allowed(OUTBOX_QUEUED, OUTBOX_SENT));
    assert_false(outbox_transition_allowed(OUTBOX_QUEUED, OUTBOX_UNKNOWN));
}

static void test_R26_final_states_never_move(void **state)
{
    (void)state;
    enum outbox_state finals[] = {OUTBOX_SENT, OUTBOX_FAILED, OUTBOX_UNKNOWN};
    for (int i = 0; i < 3; i++) {
        assert_true(outbox_state_final(finals[i]));
        for (int to = 0; to < 5; to++)
            assert_false(outbox_transition_allowed(finals[i], (enum outbox_state)to));
    }
    assert_false(outbox_state_final(OUTBOX_QUEUED));
    assert_false(outbox_state_final(OUTBOX_SENDING));
}

static void test_R26_sending_outcomes(void **state)
{
    (void)state;
    time_t retry = 0;
    assert_int_equal(outbox_after_attempt(OUTBOX_ACCEPTED, 1, 5, 1000, &retry), OUTBOX_SENT);
    assert_int_equal(outbox_after_attempt(OUTBOX_REFUSED, 1, 5, 1000, &retry), OUTBOX_FAILED);
    assert_int_equal(outbox_after_attempt(OUTBOX_LOST_AFTER_DATA, 1, 5, 1000, &retry),
                     OUTBOX_UNKNOWN);
    assert_int_equal(outbox_after_attempt(OUTBOX_DEFERRED, 1, 5, 1000, &retry), OUTBOX_QUEUED);
    assert_int_equal(retry, 1060);
}

static void test_R26_deferred_backs_off_then_fails(void **state)
{
    (void)state;
    time_t retry = 0;
    outbox_after_attempt(OUTBOX_DEFERRED, 2, 10, 0, &retry);
    assert_int_equal(retry, 120);
    outbox_after_attempt(OUTBOX_DEFERRED, 3, 10, 0, &retry);
    assert_int_equal(retry, 240);
    outbox_after_attempt(OUTBOX_DEFERRED, 9, 10, 0, &retry);
    assert_int_equal(retry, 3600); /* capped at an hour */
    assert_int_equal(outbox_after_attempt(OUTBOX_DEFERRED, 10, 10, 0, &retry), OUTBOX_FAILED);
}

static void test_R26_crash_while_sending_is_unknown_not_resent(void **state)
{
    (void)state;
    assert_int_equal(outbox_recover(OUTBOX_SENDING), OUTBOX_UNKNOWN);
    assert_int_equal(outbox_recover(OUTBOX_QUEUED), OUTBOX_QUEUED);
    assert_int_equal(outbox_recover(OUTBOX_SENT), OUTBOX_SENT);
    assert_false(outbox_transition_allowed(OUTBOX_UNKNOWN, OUTBOX_QUEUED));
}

static void test_R26_state_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++) {
        enum outbox_state s;
        assert_int_equal(outbox_state_parse(outbox_state_name((enum outbox_state)i), &s), 0);
        assert_int_equal(s, i);
    }
    enum outbox_state s;
    assert_int_equal(outbox_state_parse("delivered", &s), -1);
    assert_int_equal(outbox_state_parse(NULL, &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R26_only_queued_can_be_claimed),
        cmocka_unit_test(test_R26_final_states_never_move),
        cmocka_unit_test(test_R26_sending_outcomes),
        cmocka_unit_test(test_R26_deferred_backs_off_then_fails),
        cmocka_unit_test(test_R26_crash_while_sending_is_unknown_not_resent),
        cmocka_unit_test(test_R26_state_names_round_trip),
    };
    return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
