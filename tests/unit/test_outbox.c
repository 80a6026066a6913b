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

/* issue 4 + R15: how many of a mailbox's messages may be claimed now, with several SMTP
 * connections: free connections, the day's allowance with in-flight sends counted, the gap. */
static void test_R15_claimable_with_parallel_connections(void **state)
{
    (void)state;
    time_t now = 1000000;
    /* connections: 3 free of 3, 1 of 3 when 2 are in flight, none when all are */
    assert_int_equal(outbox_claimable(3, 0, 500, 0, 0, 0, now, 32), 3);
    assert_int_equal(outbox_claimable(3, 2, 500, 2, 0, now, now, 32), 1);
    assert_int_equal(outbox_claimable(3, 3, 500, 3, 0, now, now, 32), 0);
    /* 0 or less is taken as 1 (the default) */
    assert_int_equal(outbox_claimable(0, 0, 500, 0, 0, 0, now, 32), 1);
    /* the daily limit: 7 with 6 counted (in flight included) leaves 1, never more */
    assert_int_equal(outbox_claimable(3, 0, 7, 6, 0, now, now, 32), 1);
    assert_int_equal(outbox_claimable(3, 1, 7, 7, 0, now, now, 32), 0);
    assert_int_equal(outbox_claimable(3, 0, 7, 9, 0, now, now, 32), 0); /* over: none */
    /* the overall cap */
    assert_int_equal(outbox_claimable(10, 0, 500, 0, 0, 0, now, 4), 4);
    assert_int_equal(outbox_claimable(10, 0, 500, 0, 0, 0, now, 0), 0);
    /* the minimum gap: one at a time, and not before it has passed */
    assert_int_equal(outbox_claimable(3, 0, 500, 0, 30, 0, now, 32), 1);         /* never sent */
    assert_int_equal(outbox_claimable(3, 0, 500, 1, 30, now - 10, now, 32), 0);  /* too soon */
    assert_int_equal(outbox_claimable(3, 0, 500, 1, 30, now - 30, now, 32), 1);  /* passed */
    assert_int_equal(outbox_claimable(3, 1, 500, 1, 30, now - 60, now, 32), 0);  /* one in flight */
    assert_int_equal(outbox_claimable(3, 0, 1, 1, 30, now - 60, now, 32), 0);    /* and the limit */
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
        cmocka_unit_test(test_R15_claimable_with_parallel_connections),
    };
    return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
