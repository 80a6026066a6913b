/* test_team.c — unit tests of src/core/team.c, the pure rules of shared mailboxes (R20) and
 * assignment (R21): who may see, send from, manage, transfer, assign, set the status of and
 * type in a mailbox's conversations; the round-robin choice under a cap with its cursor; the
 * collision mark; status names and what reopens a conversation. Every test names its rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "core/team.h"

#define UNUSED_STATE (void)state

static mf_actor actor(enum mf_role role, const char *id, const char *org)
{
    mf_actor a;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    snprintf(a.org_id, sizeof(a.org_id), "%s", org);
    a.role = role;
    return a;
}

/* A shared mailbox of org_a owned by usr_owner; the actor with the given membership. */
static team_facts shared_facts(const mf_actor *a, enum team_access access)
{
    return (team_facts){.actor = a, .org_id = "org_a", .owner_id = "usr_owner", .shared = 1,
                        .access = access};
}

static team_facts personal_facts(const mf_actor *a)
{
    return (team_facts){.actor = a, .org_id = "org_a", .owner_id = "usr_owner", .shared = 0,
                        .access = TEAM_NONE};
}

/* ---- R20 visibility and sending ---------------------------------------------------------- */

static void test_R20_members_of_both_levels_see_the_shared_mailbox(void **state)
{
    UNUSED_STATE;
    mf_actor r = actor(ROLE_USER, "usr_r", "org_a"), w = actor(ROLE_USER, "usr_w", "org_a");
    team_facts fr = shared_facts(&r, TEAM_READ), fw = shared_facts(&w, TEAM_REPLY);
    assert_int_equal(team_may_view(&fr), TEAM_OK);
    assert_int_equal(team_may_view(&fw), TEAM_OK);
}

static void test_R20_non_member_user_does_not_see_it(void **state)
{
    UNUSED_STATE;
    mf_actor u = actor(ROLE_USER, "usr_x", "org_a");
    team_facts f = shared_facts(&u, TEAM_NONE);
    assert_int_equal(team_may_view(&f), TEAM_DENY_NOT_MEMBER);
}

static void test_R1_other_org_sees_nothing_even_as_admin(void **state)
{
    UNUSED_STATE;
    mf_actor adm = actor(ROLE_ADMIN, "usr_adm", "org_b");
    team_facts f = shared_facts(&adm, TEAM_REPLY); /* even a stale membership row */
    assert_int_equal(team_may_view(&f), TEAM_DENY_OTHER_ORG);
    assert_int_equal(team_may_send(&f), TEAM_DENY_OTHER_ORG);
    assert_int_equal(team_may_assign(&f, NULL, "usr_adm"), TEAM_DENY_OTHER_ORG);
    assert_int_equal(team_may_transfer(&f), TEAM_DENY_OTHER_ORG);
}

static void test_R20_admin_and_owner_see_it(void **state)
{
    UNUSED_STATE;
    mf_actor adm = actor(ROLE_ADMIN, "usr_adm", "org_a"), own = actor(ROLE_USER, "usr_owner", "org_a");
    team_facts fa = shared_facts(&adm, TEAM_NONE), fo = shared_facts(&own, TEAM_NONE);
    assert_int_equal(team_may_view(&fa), TEAM_OK);
    assert_int_equal(team_may_view(&fo), TEAM_OK);
}

static void test_R20_reply_member_sends_read_member_does_not(void **state)
{
    UNUSED_STATE;
    mf_actor r = actor(ROLE_USER, "usr_r", "org_a"), w = actor(ROLE_USER, "usr_w", "org_a");
    team_facts fr = shared_facts(&r, TEAM_READ), fw = shared_facts(&w, TEAM_REPLY);
    assert_int_equal(team_may_send(&fw), TEAM_OK);
    assert_int_equal(team_may_send(&fr), TEAM_DENY_READ_ONLY);
}

static void test_R20_owner_sends_admin_who_is_no_member_does_not(void **state)
{
    UNUSED_STATE;
    mf_actor own = actor(ROLE_USER, "usr_owner", "org_a"), adm = actor(ROLE_ADMIN, "usr_adm", "org_a");
    team_facts fo = shared_facts(&own, TEAM_NONE), fa = shared_facts(&adm, TEAM_NONE);
    assert_int_equal(team_may_send(&fo), TEAM_OK);
    assert_int_equal(team_may_send(&fa), TEAM_DENY_NOT_MEMBER);
}

static void test_R18_personal_mailbox_sends_for_its_owner_only(void **state)
{
    UNUSED_STATE;
    mf_actor own = actor(ROLE_USER, "usr_owner", "org_a"), adm = actor(ROLE_ADMIN, "usr_adm", "org_a");
    mf_actor other = actor(ROLE_USER, "usr_x", "org_a");
    team_facts fo = personal_facts(&own), fa = personal_facts(&adm), fx = personal_facts(&other);
    fx.access = TEAM_REPLY; /* memberships mean nothing on a personal mailbox */
    assert_int_equal(team_may_send(&fo), TEAM_OK);
    assert_int_equal(team_may_send(&fa), TEAM_DENY_NOT_OWNER);
    assert_int_equal(team_may_send(&fx), TEAM_DENY_NOT_OWNER);
    assert_int_equal(team_may_view(&fx), TEAM_DENY_NOT_MEMBER);
}

/* ---- R20 management and ownership --------------------------------------------------------- */

static void test_R20_only_the_owner_manages_members_and_rules(void **state)
{
    UNUSED_STATE;
    mf_actor own = actor(ROLE_USER, "usr_owner", "org_a"), adm = actor(ROLE_ADMIN, "usr_adm", "org_a");
    mf_actor op = actor(ROLE_OPERATOR, "usr_op", ""), w = actor(ROLE_USER, "usr_w", "org_a");
    team_facts fo = shared_facts(&own, TEAM_NONE), fa = shared_facts(&adm, TEAM_NONE);
    team_facts fop = shared_facts(&op, TEAM_NONE), fw = shared_facts(&w, TEAM_REPLY);
    assert_int_equal(team_may_manage(&fo), TEAM_OK);
    assert_int_equal(team_may_manage(&fa), TEAM_DENY_NOT_OWNER);
    assert_int_equal(team_may_manage(&fop), TEAM_DENY_NOT_OWNER);
    assert_int_equal(team_may_manage(&fw), TEAM_DENY_NOT_OWNER);
}

static void test_R20_members_belong_to_shared_mailboxes_only(void **state)
{
    UNUSED_STATE;
    mf_actor own = actor(ROLE_USER, "usr_owner", "org_a");
    team_facts f = personal_facts(&own);
    assert_int_equal(team_may_manage(&f), TEAM_DENY_NOT_SHARED);
    assert_int_equal(team_may_assign(&f, NULL, "usr_owner"), TEAM_DENY_NOT_SHARED);
    assert_int_equal(team_may_type(&f), TEAM_DENY_NOT_SHARED);
}

static void test_R20_admins_transfer_ownership_owner_cannot(void **state)
{
    UNUSED_STATE;
    mf_actor own = actor(ROLE_USER, "usr_owner", "org_a"), adm = actor(ROLE_ADMIN, "usr_adm", "org_a");
    mf_actor op = actor(ROLE_OPERATOR, "usr_op", "");
    team_facts fo = shared_facts(&own, TEAM_NONE), fa = shared_facts(&adm, TEAM_NONE);
    team_facts fop = shared_facts(&op, TEAM_NONE), fp = personal_facts(&adm);
    assert_int_equal(team_may_transfer(&fa), TEAM_OK);
    assert_int_equal(team_may_transfer(&fop), TEAM_OK);
    assert_int_equal(team_may_transfer(&fo), TEAM_DENY_NOT_ADMIN);
    assert_int_equal(team_may_transfer(&fp), TEAM_DENY_NOT_SHARED); /* R8 keeps personal ones */
}

/* ---- R21 assignment permissions ----------------------------------------------------------- */

static void test_R21_owner_and_admin_assign_anyone_and_unassign(void **state)
{
    UNUSED_STATE;
    mf_actor own = actor(ROLE_USER, "usr_owner", "org_a"), adm = actor(ROLE_ADMIN, "usr_adm", "org_a");
    team_facts fo = shared_facts(&own, TEAM_NONE), fa = shared_facts(&adm, TEAM_NONE);
    assert_int_equal(team_may_assign(&fo, NULL, "usr_w"), TEAM_OK);
    assert_int_equal(team_may_assign(&fo, "usr_w", "usr_v"), TEAM_OK); /* reassign */
    assert_int_equal(team_may_assign(&fa, "usr_w", NULL), TEAM_OK);
}

static void test_R21_reply_member_assigns_only_themselves(void **state)
{
    UNUSED_STATE;
    mf_actor w = actor(ROLE_USER, "usr_w", "org_a");
    team_facts f = shared_facts(&w, TEAM_REPLY);
    assert_int_equal(team_may_assign(&f, NULL, "usr_w"), TEAM_OK);
    assert_int_equal(team_may_assign(&f, "", "usr_w"), TEAM_OK);
    assert_int_equal(team_may_assign(&f, "usr_w", "usr_w"), TEAM_OK);
    assert_int_equal(team_may_assign(&f, NULL, "usr_v"), TEAM_DENY_OTHERS_ONLY_BY_OWNER);
}

static void test_R21_reply_member_does_not_take_a_colleagues_conversation(void **state)
{
    UNUSED_STATE;
    mf_actor w = actor(ROLE_USER, "usr_w", "org_a");
    team_facts f = shared_facts(&w, TEAM_REPLY);
    assert_int_equal(team_may_assign(&f, "usr_v", "usr_w"), TEAM_DENY_OTHERS_ONLY_BY_OWNER);
}

static void test_R21_reply_member_unassigns_only_themselves(void **state)
{
    UNUSED_STATE;
    mf_actor w = actor(ROLE_USER, "usr_w", "org_a");
    team_facts f = shared_facts(&w, TEAM_REPLY);
    assert_int_equal(team_may_assign(&f, "usr_w", NULL), TEAM_OK);
    assert_int_equal(team_may_assign(&f, "usr_v", NULL), TEAM_DENY_OTHERS_ONLY_BY_OWNER);
    assert_int_equal(team_may_assign(&f, NULL, NULL), TEAM_DENY_OTHERS_ONLY_BY_OWNER);
}

static void test_R21_read_member_and_outsider_do_not_assign(void **state)
{
    UNUSED_STATE;
    mf_actor r = actor(ROLE_USER, "usr_r", "org_a"), x = actor(ROLE_USER, "usr_x", "org_a");
    team_facts fr = shared_facts(&r, TEAM_READ), fx = shared_facts(&x, TEAM_NONE);
    assert_int_equal(team_may_assign(&fr, NULL, "usr_r"), TEAM_DENY_READ_ONLY);
    assert_int_equal(team_may_assign(&fx, NULL, "usr_x"), TEAM_DENY_NOT_MEMBER);
}

static void test_R21_assignee_is_owner_or_reply_member(void **state)
{
    UNUSED_STATE;
    assert_true(team_can_be_assignee(1, TEAM_NONE));
    assert_true(team_can_be_assignee(0, TEAM_REPLY));
    assert_false(team_can_be_assignee(0, TEAM_READ));
    assert_false(team_can_be_assignee(0, TEAM_NONE));
}

static void test_R21_status_is_set_by_owner_admin_reply_members(void **state)
{
    UNUSED_STATE;
    mf_actor own = actor(ROLE_USER, "usr_owner", "org_a"), adm = actor(ROLE_ADMIN, "usr_adm", "org_a");
    mf_actor w = actor(ROLE_USER, "usr_w", "org_a"), r = actor(ROLE_USER, "usr_r", "org_a");
    mf_actor x = actor(ROLE_USER, "usr_x", "org_a");
    team_facts fo = shared_facts(&own, TEAM_NONE), fa = shared_facts(&adm, TEAM_NONE);
    team_facts fw = shared_facts(&w, TEAM_REPLY), fr = shared_facts(&r, TEAM_READ);
    team_facts fx = shared_facts(&x, TEAM_NONE), fp = personal_facts(&own);
    assert_int_equal(team_may_set_status(&fo), TEAM_OK);
    assert_int_equal(team_may_set_status(&fa), TEAM_OK);
    assert_int_equal(team_may_set_status(&fw), TEAM_OK);
    assert_int_equal(team_may_set_status(&fp), TEAM_OK); /* personal: its owner */
    assert_int_equal(team_may_set_status(&fr), TEAM_DENY_READ_ONLY);
    assert_int_equal(team_may_set_status(&fx), TEAM_DENY_NOT_MEMBER);
}

/* ---- R21 collision detection -------------------------------------------------------------- */

static void test_R21_typing_by_reply_members_and_owner(void **state)
{
    UNUSED_STATE;
    mf_actor own = actor(ROLE_USER, "usr_owner", "org_a"), w = actor(ROLE_USER, "usr_w", "org_a");
    mf_actor r = actor(ROLE_USER, "usr_r", "org_a"), adm = actor(ROLE_ADMIN, "usr_adm", "org_a");
    team_facts fo = shared_facts(&own, TEAM_NONE), fw = shared_facts(&w, TEAM_REPLY);
    team_facts fr = shared_facts(&r, TEAM_READ), fa = shared_facts(&adm, TEAM_NONE);
    assert_int_equal(team_may_type(&fo), TEAM_OK);
    assert_int_equal(team_may_type(&fw), TEAM_OK);
    assert_int_equal(team_may_type(&fr), TEAM_DENY_READ_ONLY);
    assert_int_equal(team_may_type(&fa), TEAM_DENY_NOT_MEMBER);
}

static void test_R21_taken_by_another_member_until_the_mark_ends(void **state)
{
    UNUSED_STATE;
    time_t now = 1800000000;
    assert_true(team_taken_by_other("usr_a", now + 1, "usr_b", now));
    assert_false(team_taken_by_other("usr_a", now, "usr_b", now)); /* ends at taken_until */
    assert_false(team_taken_by_other("usr_a", now - 5, "usr_b", now));
}

static void test_R21_own_mark_and_no_mark_are_not_a_collision(void **state)
{
    UNUSED_STATE;
    time_t now = 1800000000;
    assert_false(team_taken_by_other("usr_a", now + 60, "usr_a", now));
    assert_false(team_taken_by_other("", now + 60, "usr_a", now));
    assert_false(team_taken_by_other(NULL, now + 60, "usr_a", now));
}

static void test_R21_typing_mark_lasts_two_minutes(void **state)
{
    UNUSED_STATE;
    assert_int_equal(TEAM_TAKEN_SECONDS, 120);
}

/* ---- R21 round-robin ---------------------------------------------------------------------- */

#define C(id, acc, avail, open) ((team_candidate){(id), (acc), (avail), (open)})

static void test_R21_round_robin_starts_with_the_smallest_id(void **state)
{
    UNUSED_STATE;
    team_candidate c[] = {C("usr_c", TEAM_REPLY, 1, 0), C("usr_a", TEAM_REPLY, 1, 0),
                          C("usr_b", TEAM_REPLY, 1, 0)};
    assert_int_equal(team_round_robin(c, 3, NULL, TEAM_NO_CAP), 1);
    assert_int_equal(team_round_robin(c, 3, "", TEAM_NO_CAP), 1);
}

static void test_R21_round_robin_six_conversations_go_two_each(void **state)
{
    UNUSED_STATE;
    team_candidate c[] = {C("usr_b", TEAM_REPLY, 1, 0), C("usr_a", TEAM_REPLY, 1, 0),
                          C("usr_c", TEAM_REPLY, 1, 0)};
    char cursor[16] = "";
    int got[3] = {0};
    const char *order[6];
    for (int i = 0; i < 6; i++) {
        int k = team_round_robin(c, 3, cursor, TEAM_NO_CAP);
        assert_true(k >= 0);
        got[k]++;
        c[k].open_count++;
        order[i] = c[k].user_id;
        snprintf(cursor, sizeof(cursor), "%s", c[k].user_id);
    }
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], 2);
    assert_int_equal(got[2], 2);
    /* deterministic: a, b, c, a, b, c */
    assert_string_equal(order[0], "usr_a");
    assert_string_equal(order[1], "usr_b");
    assert_string_equal(order[2], "usr_c");
    assert_string_equal(order[3], "usr_a");
}

static void test_R21_round_robin_wraps_after_the_last_id(void **state)
{
    UNUSED_STATE;
    team_candidate c[] = {C("usr_a", TEAM_REPLY, 1, 0), C("usr_b", TEAM_REPLY, 1, 0)};
    assert_int_equal(team_round_robin(c, 2, "usr_b", TEAM_NO_CAP), 0);
    assert_int_equal(team_round_robin(c, 2, "usr_z", TEAM_NO_CAP), 0); /* cursor left */
}

static void test_R21_round_robin_cursor_of_a_removed_member_keeps_the_turn(void **state)
{
    UNUSED_STATE;
    /* usr_b got the last one and left: the turn goes on with the next id, usr_c */
    team_candidate c[] = {C("usr_a", TEAM_REPLY, 1, 0), C("usr_c", TEAM_REPLY, 1, 0)};
    assert_int_equal(team_round_robin(c, 2, "usr_b", TEAM_NO_CAP), 1);
}

static void test_R21_round_robin_skips_unavailable_members(void **state)
{
    UNUSED_STATE;
    team_candidate c[] = {C("usr_a", TEAM_REPLY, 1, 0), C("usr_b", TEAM_REPLY, 0, 0),
                          C("usr_c", TEAM_REPLY, 1, 0)};
    assert_int_equal(team_round_robin(c, 3, "usr_a", TEAM_NO_CAP), 2);
}

static void test_R21_round_robin_skips_read_members(void **state)
{
    UNUSED_STATE;
    team_candidate c[] = {C("usr_a", TEAM_READ, 1, 0), C("usr_b", TEAM_REPLY, 1, 0)};
    assert_int_equal(team_round_robin(c, 2, NULL, TEAM_NO_CAP), 1);
    assert_int_equal(team_round_robin(c, 2, "usr_b", TEAM_NO_CAP), 1);
}

static void test_R21_round_robin_respects_the_cap(void **state)
{
    UNUSED_STATE;
    team_candidate c[] = {C("usr_a", TEAM_REPLY, 1, 1), C("usr_b", TEAM_REPLY, 1, 0),
                          C("usr_c", TEAM_REPLY, 1, 1)};
    /* cap 1: only usr_b is under it, whoever's turn it is */
    assert_int_equal(team_round_robin(c, 3, NULL, 1), 1);
    assert_int_equal(team_round_robin(c, 3, "usr_b", 1), 1);
    c[1].open_count = 1;
    assert_int_equal(team_round_robin(c, 3, "usr_b", 1), -1); /* all at the cap */
    assert_int_equal(team_round_robin(c, 3, "usr_b", 2), 2);
}

static void test_R21_round_robin_with_nobody_eligible(void **state)
{
    UNUSED_STATE;
    team_candidate c[] = {C("usr_a", TEAM_REPLY, 0, 0), C("usr_b", TEAM_READ, 1, 0)};
    assert_int_equal(team_round_robin(c, 2, NULL, TEAM_NO_CAP), -1);
    assert_int_equal(team_round_robin(NULL, 0, NULL, TEAM_NO_CAP), -1);
}

static void test_R21_round_robin_ignores_the_array_order(void **state)
{
    UNUSED_STATE;
    team_candidate x[] = {C("usr_a", TEAM_REPLY, 1, 0), C("usr_b", TEAM_REPLY, 1, 0),
                          C("usr_c", TEAM_REPLY, 1, 0)};
    team_candidate y[] = {C("usr_c", TEAM_REPLY, 1, 0), C("usr_a", TEAM_REPLY, 1, 0),
                          C("usr_b", TEAM_REPLY, 1, 0)};
    assert_string_equal(x[team_round_robin(x, 3, "usr_a", TEAM_NO_CAP)].user_id, "usr_b");
    assert_string_equal(y[team_round_robin(y, 3, "usr_a", TEAM_NO_CAP)].user_id, "usr_b");
}

/* ---- R20/R21 names ------------------------------------------------------------------------ */

static void test_R20_access_names_round_trip(void **state)
{
    UNUSED_STATE;
    enum team_access a;
    assert_int_equal(team_access_parse("read", &a), 0);
    assert_int_equal(a, TEAM_READ);
    assert_string_equal(team_access_name(a), "read");
    assert_int_equal(team_access_parse("reply", &a), 0);
    assert_string_equal(team_access_name(a), "reply");
    assert_int_equal(team_access_parse("write", &a), -1);
    assert_int_equal(team_access_parse(NULL, &a), -1);
    assert_string_equal(team_access_name(TEAM_NONE), "none");
}

static void test_R21_status_names(void **state)
{
    UNUSED_STATE;
    assert_true(team_status_valid("open"));
    assert_true(team_status_valid("pending"));
    assert_true(team_status_valid("closed"));
    assert_false(team_status_valid("done"));
    assert_false(team_status_valid(""));
    assert_false(team_status_valid(NULL));
}

static void test_R21_reply_from_a_person_reopens_auto_reply_and_bounce_do_not(void **state)
{
    UNUSED_STATE;
    assert_true(team_inbound_reopens("human"));
    assert_true(team_inbound_reopens("reply"));
    assert_false(team_inbound_reopens("auto_reply"));
    assert_false(team_inbound_reopens("bounce"));
    assert_false(team_inbound_reopens(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R20_members_of_both_levels_see_the_shared_mailbox),
        cmocka_unit_test(test_R20_non_member_user_does_not_see_it),
        cmocka_unit_test(test_R1_other_org_sees_nothing_even_as_admin),
        cmocka_unit_test(test_R20_admin_and_owner_see_it),
        cmocka_unit_test(test_R20_reply_member_sends_read_member_does_not),
        cmocka_unit_test(test_R20_owner_sends_admin_who_is_no_member_does_not),
        cmocka_unit_test(test_R18_personal_mailbox_sends_for_its_owner_only),
        cmocka_unit_test(test_R20_only_the_owner_manages_members_and_rules),
        cmocka_unit_test(test_R20_members_belong_to_shared_mailboxes_only),
        cmocka_unit_test(test_R20_admins_transfer_ownership_owner_cannot),
        cmocka_unit_test(test_R21_owner_and_admin_assign_anyone_and_unassign),
        cmocka_unit_test(test_R21_reply_member_assigns_only_themselves),
        cmocka_unit_test(test_R21_reply_member_does_not_take_a_colleagues_conversation),
        cmocka_unit_test(test_R21_reply_member_unassigns_only_themselves),
        cmocka_unit_test(test_R21_read_member_and_outsider_do_not_assign),
        cmocka_unit_test(test_R21_assignee_is_owner_or_reply_member),
        cmocka_unit_test(test_R21_status_is_set_by_owner_admin_reply_members),
        cmocka_unit_test(test_R21_typing_by_reply_members_and_owner),
        cmocka_unit_test(test_R21_taken_by_another_member_until_the_mark_ends),
        cmocka_unit_test(test_R21_own_mark_and_no_mark_are_not_a_collision),
        cmocka_unit_test(test_R21_typing_mark_lasts_two_minutes),
        cmocka_unit_test(test_R21_round_robin_starts_with_the_smallest_id),
        cmocka_unit_test(test_R21_round_robin_six_conversations_go_two_each),
        cmocka_unit_test(test_R21_round_robin_wraps_after_the_last_id),
        cmocka_unit_test(test_R21_round_robin_cursor_of_a_removed_member_keeps_the_turn),
        cmocka_unit_test(test_R21_round_robin_skips_unavailable_members),
        cmocka_unit_test(test_R21_round_robin_skips_read_members),
        cmocka_unit_test(test_R21_round_robin_respects_the_cap),
        cmocka_unit_test(test_R21_round_robin_with_nobody_eligible),
        cmocka_unit_test(test_R21_round_robin_ignores_the_array_order),
        cmocka_unit_test(test_R20_access_names_round_trip),
        cmocka_unit_test(test_R21_status_names),
        cmocka_unit_test(test_R21_reply_from_a_person_reopens_auto_reply_and_bounce_do_not),
    };
    return cmocka_run_group_tests_name("team", tests, NULL, NULL);
}
