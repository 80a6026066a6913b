/* team.c — shared mailbox and assignment rules (R20, R21); see team.h. */
#include <string.h>
#include "core/team.h"

const char *team_access_name(enum team_access a)
{
    switch (a) {
    case TEAM_READ:
        return "read";
    case TEAM_REPLY:
        return "reply";
    default:
        return "none";
    }
}

int team_access_parse(const char *s, enum team_access *out)
{
    if (s && strcmp(s, "read") == 0) *out = TEAM_READ;
    else if (s && strcmp(s, "reply") == 0) *out = TEAM_REPLY;
    else return -1;
    return 0;
}

static int same(const char *a, const char *b)
{
    return a && b && *a && strcmp(a, b) == 0;
}

int team_is_owner(const team_facts *f)
{
    return same(f->actor->id, f->owner_id);
}

static int is_admin(const team_facts *f)
{
    return roles_is_admin_of(f->actor, f->org_id);
}

static enum team_verdict org_gate(const team_facts *f)
{
    return roles_can_access_org(f->actor, f->org_id) ? TEAM_OK : TEAM_DENY_OTHER_ORG;
}

enum team_verdict team_may_view(const team_facts *f)
{
    if (org_gate(f)) return TEAM_DENY_OTHER_ORG;
    if (team_is_owner(f) || is_admin(f)) return TEAM_OK;
    if (f->shared && f->access != TEAM_NONE) return TEAM_OK;
    return TEAM_DENY_NOT_MEMBER;
}

enum team_verdict team_may_send(const team_facts *f)
{
    if (org_gate(f)) return TEAM_DENY_OTHER_ORG;
    if (team_is_owner(f)) return TEAM_OK;
    if (!f->shared) return TEAM_DENY_NOT_OWNER;
    if (f->access == TEAM_REPLY) return TEAM_OK;
    return f->access == TEAM_READ ? TEAM_DENY_READ_ONLY : TEAM_DENY_NOT_MEMBER;
}

enum team_verdict team_may_manage(const team_facts *f)
{
    if (org_gate(f)) return TEAM_DENY_OTHER_ORG;
    if (!f->shared) return TEAM_DENY_NOT_SHARED;
    return team_is_owner(f) ? TEAM_OK : TEAM_DENY_NOT_OWNER;
}

enum team_verdict team_may_transfer(const team_facts *f)
{
    if (org_gate(f)) return TEAM_DENY_OTHER_ORG;
    if (!is_admin(f)) return TEAM_DENY_NOT_ADMIN;
    return f->shared ? TEAM_OK : TEAM_DENY_NOT_SHARED;
}

enum team_verdict team_may_set_status(const team_facts *f)
{
    if (org_gate(f)) return TEAM_DENY_OTHER_ORG;
    if (team_is_owner(f) || is_admin(f)) return TEAM_OK;
    if (!f->shared || f->access == TEAM_NONE) return TEAM_DENY_NOT_MEMBER;
    return f->access == TEAM_REPLY ? TEAM_OK : TEAM_DENY_READ_ONLY;
}

enum team_verdict team_may_assign(const team_facts *f, const char *current, const char *target)
{
    if (org_gate(f)) return TEAM_DENY_OTHER_ORG;
    if (!f->shared) return TEAM_DENY_NOT_SHARED;
    if (team_is_owner(f) || is_admin(f)) return TEAM_OK;
    if (f->access == TEAM_NONE) return TEAM_DENY_NOT_MEMBER;
    if (f->access != TEAM_REPLY) return TEAM_DENY_READ_ONLY;
    const char *me = f->actor->id;
    int unassigned = !current || !*current;
    if (target == NULL) /* unassign: only their own */
        return same(current, me) ? TEAM_OK : TEAM_DENY_OTHERS_ONLY_BY_OWNER;
    if (!same(target, me)) return TEAM_DENY_OTHERS_ONLY_BY_OWNER;
    return unassigned || same(current, me) ? TEAM_OK : TEAM_DENY_OTHERS_ONLY_BY_OWNER;
}

int team_can_be_assignee(int is_owner, enum team_access access)
{
    return is_owner || access == TEAM_REPLY;
}

enum team_verdict team_may_type(const team_facts *f)
{
    if (org_gate(f)) return TEAM_DENY_OTHER_ORG;
    if (!f->shared) return TEAM_DENY_NOT_SHARED;
    if (team_is_owner(f) || f->access == TEAM_REPLY) return TEAM_OK;
    return f->access == TEAM_READ ? TEAM_DENY_READ_ONLY : TEAM_DENY_NOT_MEMBER;
}

int team_taken_by_other(const char *taken_by, time_t taken_until, const char *actor_id,
                        time_t now)
{
    if (!taken_by || !*taken_by) return 0;
    if (taken_until <= now) return 0; /* the mark ran out */
    return !same(taken_by, actor_id);
}

static int eligible(const team_candidate *c, int cap)
{
    return c->user_id && *c->user_id && c->access == TEAM_REPLY && c->available &&
           (cap < 0 || c->open_count < cap);
}

int team_round_robin(const team_candidate *c, size_t n, const char *cursor, int cap)
{
    int after = -1, first = -1; /* the smallest id after the cursor; the smallest overall */
    for (size_t i = 0; i < n; i++) {
        if (!eligible(&c[i], cap)) continue;
        if (first < 0 || strcmp(c[i].user_id, c[first].user_id) < 0) first = (int)i;
        if (cursor && *cursor && strcmp(c[i].user_id, cursor) <= 0) continue;
        if (after < 0 || strcmp(c[i].user_id, c[after].user_id) < 0) after = (int)i;
    }
    return after >= 0 ? after : first;
}

int team_status_valid(const char *s)
{
    return s && (strcmp(s, "open") == 0 || strcmp(s, "pending") == 0 || strcmp(s, "closed") == 0);
}

int team_inbound_reopens(const char *classification)
{
    return classification &&
           (strcmp(classification, "human") == 0 || strcmp(classification, "reply") == 0);
}
