/* team.h — the store of shared mailboxes (R20) and assignment (R21): members with their
 * access, the assignment rule of a mailbox with its round-robin cursor, and the assignee,
 * status, collision mark and alert clock of conversations. Callers own transactions. */
#ifndef MF_STORE_TEAM_H
#define MF_STORE_TEAM_H
#include <stdint.h>
#include "store/db.h"
#include "store/model.h"

typedef struct mf_member {
    char user_id[MF_ID_LEN];
    char access[8]; /* "read" | "reply" */
    int available;
    char email[MF_ADDR_MAX]; /* of the user (lists only) */
    char name[MF_NAME_MAX];
    char created_at[MF_TIME_LEN];
} mf_member;

/* Members of a mailbox, by user id. Returns how many, or -1. */
int members_list(db *d, const char *mailbox_id, void (*each)(const mf_member *, void *),
                 void *ctx, mf_error *err);
/* The user's membership: 1 found (*m filled), 0 not a member, -1 error. */
int members_get(db *d, const char *mailbox_id, const char *user_id, mf_member *m, mf_error *err);
int members_remove(db *d, const char *mailbox_id, const char *user_id, mf_error *err);
/* Add or update one member (access, available). */
int members_add(db *d, const char *mailbox_id, const char *user_id, const char *access,
                int available, mf_error *err);

typedef struct mf_assignment {
    char mailbox_id[MF_ID_LEN];
    char mode[16]; /* "manual" | "round_robin" */
    int cap;       /* -1 = none */
    int alert_minutes; /* -1 = none */
    char cursor[MF_ID_LEN]; /* "" = none yet */
    char updated_at[MF_TIME_LEN]; /* "" when never set */
} mf_assignment;
/* The rule of a mailbox (defaults when never set: manual, no cap, no alert). */
int assignment_get(db *d, const char *mailbox_id, mf_assignment *a, mf_error *err);
int assignment_put(db *d, const mf_assignment *a, mf_error *err); /* mode, cap, alert */
int assignment_set_cursor(db *d, const char *mailbox_id, const char *user_id, mf_error *err);

/* R21 round-robin candidates: every member of the mailbox (a member whose seat is locked, R2,
 * comes as unavailable). Returns how many, or -1. */
int members_candidates(db *d, const char *mailbox_id, void (*each)(const mf_member *, void *),
                       void *ctx, mf_error *err);
/* R21 cap: the number of open conversations of the mailbox assigned to user_id, counted up to
 * `limit` at most (the cap: beyond it the exact number does not matter, and counting stops
 * there). Returns the count, or -1. */
int member_open_count(db *d, const char *mailbox_id, const char *user_id, int limit,
                      mf_error *err);

/* Conversation changes (R21). user_id NULL unassigns; assigned_at is set to now. */
int conversation_set_assignee(db *d, const char *id, const char *user_id, mf_error *err);
/* status "open" also restarts the alert clock (opened_at = now, alerted_at cleared). */
int conversation_set_status(db *d, const char *id, const char *status, mf_error *err);
/* Mark taken by user until `until` (collision detection). */
int conversation_set_taken(db *d, const char *id, const char *user_id, const char *until,
                           mf_error *err);
/* R21: after a member leaves a mailbox or loses `reply`: the conversations they held are
 * unassigned and their typing marks end. Returns how many conversations were unassigned. */
int conversations_release_member(db *d, const char *mailbox_id, const char *user_id,
                                 mf_error *err);

/* Facts for the engine's hook on one stored inbound message. */
typedef struct mf_conv_facts {
    char id[MF_ID_LEN];
    char mailbox_id[MF_ID_LEN];
    char status[16];
    char assignee_id[MF_ID_LEN];
    int64_t inbound_count; /* its inbound messages, this one included */
    char kind[16];         /* the mailbox's kind */
} mf_conv_facts;
/* The conversation of message msg_id with its mailbox's kind. */
int conversation_facts_of_message(db *d, const char *msg_id, mf_conv_facts *f, mf_error *err);
/* Mail from outside opened it now: status open, opened_at now, alerted_at cleared. */
int conversation_mark_opened(db *d, const char *id, mf_error *err);

/* R21 unassigned alert: conversations of shared mailbox_id that are open, unassigned, opened
 * at or before `cutoff` and not alerted yet for that opening (at most limit). */
typedef struct mf_unassigned {
    char id[MF_ID_LEN];
    char subject[512];
    char opened_at[MF_TIME_LEN];
} mf_unassigned;
int conversations_unassigned_due(db *d, const char *mailbox_id, const char *cutoff, int limit,
                                 void (*each)(const mf_unassigned *, void *), void *ctx,
                                 mf_error *err);
/* 1 when this call marked it alerted (so exactly one caller notifies), 0 when someone had. */
int conversation_mark_alerted(db *d, const char *id, mf_error *err);
/* Shared mailboxes whose rule has an alert: id, owner, address, minutes. */
typedef struct mf_alert_rule {
    char mailbox_id[MF_ID_LEN];
    char owner_id[MF_ID_LEN];
    char address[MF_ADDR_MAX];
    int minutes;
} mf_alert_rule;
int assignment_alert_rules(db *d, void (*each)(const mf_alert_rule *, void *), void *ctx,
                           mf_error *err);
#endif
