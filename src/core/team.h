/* team.h — the pure rules of shared mailboxes and assignment (R20, R21): who may see, send
 * from, manage, assign and type in a mailbox's conversations, the round-robin choice of the
 * next assignee under a per-member cap, and collision detection. No I/O: the caller gathers
 * the facts (membership, counts, times) and applies the answer. */
#ifndef MF_CORE_TEAM_H
#define MF_CORE_TEAM_H
#include <stddef.h>
#include <time.h>
#include "core/roles.h"

/* The actor's membership of a mailbox (R20). */
enum team_access { TEAM_NONE = 0, TEAM_READ, TEAM_REPLY };

const char *team_access_name(enum team_access a); /* "none" | "read" | "reply" */
int team_access_parse(const char *s, enum team_access *out); /* "read" | "reply"; -1 else */

/* What the rules need to know about the actor and one mailbox. */
typedef struct team_facts {
    const mf_actor *actor;
    const char *org_id;   /* the mailbox's organisation */
    const char *owner_id; /* its one owner */
    int shared;           /* kind "shared" */
    enum team_access access; /* the actor's membership (shared mailboxes only) */
} team_facts;

/* Answers of the permission rules: TEAM_OK, or why not. */
enum team_verdict {
    TEAM_OK = 0,
    TEAM_DENY_OTHER_ORG,     /* nothing crosses organisations (R1): answer 404 */
    TEAM_DENY_NOT_MEMBER,    /* not owner, admin or member (R1, R20) */
    TEAM_DENY_READ_ONLY,     /* a `read` member may not send or act (R20) */
    TEAM_DENY_NOT_OWNER,     /* only the owner may (R20) */
    TEAM_DENY_NOT_ADMIN,     /* only an admin may (R20 ownership transfer) */
    TEAM_DENY_NOT_SHARED,    /* members and assignment exist for shared mailboxes only */
    TEAM_DENY_OTHERS_ONLY_BY_OWNER, /* a reply member assigns or unassigns only themselves (R21) */
};

int team_is_owner(const team_facts *f);
/* R1/R20: read the mailbox, its conversations and its members: owner, admins, members. */
enum team_verdict team_may_view(const team_facts *f);
/* R18/R20: send from the mailbox (compose, replies): personal — its owner; shared — its owner
 * and `reply` members. Admins who are neither may not (they act through the owner). */
enum team_verdict team_may_send(const team_facts *f);
/* R20: change the members, the assignment rule and the settings of a shared mailbox: the
 * owner alone. */
enum team_verdict team_may_manage(const team_facts *f);
/* R20: give a shared mailbox another owner: admins of its organisation (and operators). */
enum team_verdict team_may_transfer(const team_facts *f);
/* R21: set a conversation's status (open, pending, closed): owner, admins, `reply` members. */
enum team_verdict team_may_set_status(const team_facts *f);
/* R21: assign a conversation whose current assignee is `current` ("" or NULL = none) to
 * `target` (NULL = unassign). Owner and admins: anyone (the target's eligibility is checked
 * with team_can_be_assignee). `reply` members: only themselves, and only a conversation that
 * is unassigned or already theirs; they unassign only themselves. */
enum team_verdict team_may_assign(const team_facts *f, const char *current, const char *target);
/* R21: may this user hold conversations of the mailbox? Its owner or a `reply` member. */
int team_can_be_assignee(int is_owner, enum team_access access);
/* R21 collision detection: may the actor mark the conversation as taken (typing)? The owner
 * and `reply` members of a shared mailbox. */
enum team_verdict team_may_type(const team_facts *f);

/* R21 collision: is the conversation taken by someone other than actor_id at `now`?
 * taken_by "" = nobody; taken_until is when the mark ends. A forced compose ignores it. */
int team_taken_by_other(const char *taken_by, time_t taken_until, const char *actor_id,
                        time_t now);
#define TEAM_TAKEN_SECONDS 120 /* a typing mark lasts two minutes (R21) */

/* R21 round-robin. One candidate member of a shared mailbox. */
typedef struct team_candidate {
    const char *user_id;
    enum team_access access;
    int available;  /* marked available by the owner */
    int open_count; /* conversations of this mailbox assigned to them with status open */
} team_candidate;
#define TEAM_NO_CAP (-1)
/* The next assignee: among `reply` members marked available and under the cap (cap < 0: no
 * cap), the one whose user id comes first after `cursor` (the id of the last member given a
 * conversation; NULL or "" = from the start), wrapping around. Ids are compared as strings,
 * so the order is fixed whatever the order of the array, and a member removed or added
 * between two choices does not upset the turn of the others. Returns the index into c, or -1
 * when nobody is eligible (every one away or at the cap). */
int team_round_robin(const team_candidate *c, size_t n, const char *cursor, int cap);

/* R21 status of a conversation. */
int team_status_valid(const char *s); /* "open" | "pending" | "closed" */
/* R21: does an inbound message of this classification reopen a pending or closed
 * conversation? A message from a person does (human, reply); auto-replies and bounces do not. */
int team_inbound_reopens(const char *classification);
#endif
