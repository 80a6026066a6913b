/* team_ops.c — shared mailboxes (R20) and assignment (R21) from the API: members, the
 * assignment rule, ownership transfer by an admin, assigning and unassigning conversations,
 * their status, and collision detection (typing marks). The permission rules are the pure
 * functions of src/core/team.c; every change is one transaction with its audit entry (R27). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "app/ops.h"
#include "store/webhooks.h"

int ops_team_facts(db *d, const mf_actor *a, const char *id, mf_mailbox *m, team_facts *f,
                   mf_error *err)
{
    memset(f, 0, sizeof(*f));
    if (mailboxes_get(d, id, m, err) < 0) return -1;
    f->actor = a;
    f->org_id = m->org_id;
    f->owner_id = m->owner_id;
    f->shared = strcmp(m->kind, "shared") == 0;
    f->access = TEAM_NONE;
    if (!roles_can_access_org(a, m->org_id)) {
        mf_mailbox_clear(m);
        return store_not_found(err, "mailbox");
    }
    if (f->shared && a->id[0]) {
        mf_member mm;
        int r = members_get(d, m->id, a->id, &mm, err);
        if (r < 0) {
            mf_mailbox_clear(m);
            return -1;
        }
        if (r == 1 && team_access_parse(mm.access, &f->access) < 0) f->access = TEAM_NONE;
    }
    return 0;
}

int ops_team_denied(enum team_verdict v, const char *action, mf_error *err)
{
    switch (v) {
    case TEAM_OK:
        MF_BUG("ops_team_denied without a refusal");
    case TEAM_DENY_OTHER_ORG:
        return store_not_found(err, "mailbox");
    case TEAM_DENY_NOT_MEMBER:
        return mf_fail(err, 403, "forbidden", "R20",
                       "only the mailbox's owner, an admin or a member of the shared mailbox may "
                       "%s",
                       action);
    case TEAM_DENY_READ_ONLY:
        return mf_fail(err, 403, "reply_access_required", "R20",
                       "you have read access to this shared mailbox; to %s you need reply "
                       "access (ask its owner)",
                       action);
    case TEAM_DENY_NOT_OWNER:
        return mf_fail(err, 403, "forbidden", "R20", "only the mailbox's owner may %s", action);
    case TEAM_DENY_NOT_ADMIN:
        return mf_fail(err, 403, "forbidden", "R20", "only an admin may %s", action);
    case TEAM_DENY_NOT_SHARED:
        return mf_fail(err, 422, "not_shared", "R20",
                       "this is a personal mailbox: members, assignment and collision detection "
                       "belong to shared mailboxes");
    case TEAM_DENY_OTHERS_ONLY_BY_OWNER:
        return mf_fail(err, 403, "forbidden", "R21",
                       "a member assigns only themselves, to a conversation nobody else holds, "
                       "and unassigns only themselves; the owner or an admin can %s",
                       action);
    }
    return mf_fail_internal(err, "unknown team verdict %d", (int)v);
}

int ops_mailbox_readable(db *d, const mf_actor *a, const char *id, mf_mailbox *m, mf_error *err)
{
    team_facts f;
    if (ops_team_facts(d, a, id, m, &f, err) < 0) return -1;
    enum team_verdict v = team_may_view(&f);
    if (v == TEAM_OK) return 0;
    mf_mailbox_clear(m);
    if (v == TEAM_DENY_NOT_MEMBER)
        return mf_fail(err, 403, "forbidden", "R1",
                       "only the mailbox's owner, an admin or a member of a shared mailbox may "
                       "do this");
    return ops_team_denied(v, "read it", err);
}

int ops_conversation_readable(db *d, const mf_actor *a, const char *id, mf_conversation *c,
                              mf_error *err)
{
    if (conversations_get(d, id, c, err) < 0) return -1;
    mf_mailbox m;
    if (ops_mailbox_readable(d, a, c->mailbox_id, &m, err) < 0) {
        if (err && err->status == 403) return store_not_found(err, "conversation");
        return -1;
    }
    mf_mailbox_clear(&m);
    return 0;
}

/* Load a conversation and its mailbox's facts inside the caller's transaction; 404 for anyone
 * who may not read it. */
static int load_conversation(db *d, const mf_actor *a, const char *id, mf_conversation *c,
                             mf_mailbox *m, team_facts *f, mf_error *err)
{
    if (conversations_get(d, id, c, err) < 0) return -1;
    if (ops_team_facts(d, a, c->mailbox_id, m, f, err) < 0) return -1;
    if (team_may_view(f) != TEAM_OK) {
        mf_mailbox_clear(m);
        return store_not_found(err, "conversation");
    }
    return 0;
}

/* May user u hold a membership (or an ownership) of a mailbox of org_id? */
static int member_user_ok(const mf_user *u, const char *org_id, const char *field, mf_error *err)
{
    if (strcmp(u->org_id, org_id) != 0) return store_not_found(err, "user");
    if (u->role != ROLE_ADMIN && u->role != ROLE_USER)
        return mf_fail(err, 422, "invalid_request", "R20",
                       "%s: %s is a%s %s; shared mailboxes are for admins and users of the "
                       "organisation",
                       field, u->email, u->role == ROLE_OPERATOR ? "n" : "",
                       mf_role_name(u->role));
    return 0;
}

int ops_members_set(db *d, const mf_actor *a, const char *mailbox_id, const mf_member *list,
                    int n, mf_error *err)
{
    if (n < 0 || n > 500)
        return mf_fail(err, 400, "invalid_request", NULL, "members: give 0 to 500 members");
    if (db_begin(d, err) < 0) return -1;
    mf_mailbox m;
    team_facts f;
    int rc = ops_team_facts(d, a, mailbox_id, &m, &f, err);
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    enum team_verdict v = team_may_manage(&f);
    if (v != TEAM_OK) rc = ops_team_denied(v, "change its members", err);
    for (int i = 0; rc == 0 && i < n; i++) {
        char field[48];
        snprintf(field, sizeof(field), "members[%d].user_id", i);
        for (int j = 0; rc == 0 && j < i; j++) {
            if (strcmp(list[i].user_id, list[j].user_id) == 0)
                rc = mf_fail(err, 400, "invalid_request", NULL, "%s: %s is listed twice", field,
                             list[i].user_id);
        }
        if (rc == 0 && strcmp(list[i].user_id, m.owner_id) == 0)
            rc = mf_fail(err, 422, "invalid_request", "R20",
                         "%s: that is the mailbox's owner, who has every right already; list "
                         "only the other members",
                         field);
        mf_user u;
        if (rc == 0 && users_get(d, list[i].user_id, &u, err) < 0) rc = -1;
        if (rc == 0) rc = member_user_ok(&u, m.org_id, field, err);
        if (rc < 0 && err && err->status == 404) mf_error_prefix(err, "%s: ", field);
    }
    /* who leaves, or keeps only `read`, gives back the conversations they held (R21) */
    typedef struct {
        mf_member *v;
        int n, cap;
    } mlist;
    mlist cur = {0};
    if (rc == 0) {
        db_stmt *st = db_prepare(d, "SELECT user_id, access FROM mailbox_members WHERE mailbox_id "
                                    "= ?", err);
        if (!st) rc = -1;
        else {
            db_bind_text(st, 1, m.id);
            int s;
            while ((s = db_step(st)) == DB_ROW) {
                if (cur.n == cur.cap) {
                    cur.cap = cur.cap ? cur.cap * 2 : 16;
                    cur.v = xrealloc(cur.v, (size_t)cur.cap * sizeof(*cur.v));
                }
                memset(&cur.v[cur.n], 0, sizeof(cur.v[0]));
                store_copy(cur.v[cur.n].user_id, sizeof(cur.v[0].user_id), st, 0);
                store_copy(cur.v[cur.n].access, sizeof(cur.v[0].access), st, 1);
                cur.n++;
            }
            db_finalize(&st);
            if (s == DB_ERROR) rc = -1;
        }
    }
    int released = 0;
    for (int i = 0; rc == 0 && i < cur.n; i++) {
        int keeps_reply = 0, stays = 0;
        for (int j = 0; j < n; j++) {
            if (strcmp(list[j].user_id, cur.v[i].user_id) != 0) continue;
            stays = 1;
            keeps_reply = strcmp(list[j].access, "reply") == 0;
        }
        if (!stays) rc = members_remove(d, m.id, cur.v[i].user_id, err);
        if (rc == 0 && !keeps_reply) {
            int r = conversations_release_member(d, m.id, cur.v[i].user_id, err);
            if (r < 0) rc = -1;
            else released += r;
        }
    }
    free(cur.v);
    for (int i = 0; rc == 0 && i < n; i++)
        rc = members_add(d, m.id, list[i].user_id, list[i].access, list[i].available, err);
    if (rc == 0) {
        json_t *ids = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(ids, json_pack("{s:s,s:s,s:b}", "user_id", list[i].user_id,
                                                 "access", list[i].access, "available",
                                                 list[i].available));
        rc = ops_audit_json(d, a, m.org_id, "mailbox.members.set", "mailbox", m.id,
                            json_pack("{s:s,s:o,s:i}", "address", m.address, "members", ids,
                                      "conversations_unassigned", released));
    }
    mf_mailbox_clear(&m);
    return ops_finish(d, rc, err);
}

int ops_assignment_set(db *d, const mf_actor *a, const mf_assignment *in, mf_assignment *out,
                       mf_error *err)
{
    if (strcmp(in->mode, "manual") != 0 && strcmp(in->mode, "round_robin") != 0)
        return mf_fail(err, 400, "invalid_request", NULL, "mode: must be manual or round_robin");
    if (db_begin(d, err) < 0) return -1;
    mf_mailbox m;
    team_facts f;
    int rc = ops_team_facts(d, a, in->mailbox_id, &m, &f, err);
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    enum team_verdict v = team_may_manage(&f);
    if (v != TEAM_OK) rc = ops_team_denied(v, "change its assignment rule", err);
    if (rc == 0) rc = assignment_put(d, in, err);
    if (rc == 0)
        rc = ops_audit_json(
            d, a, m.org_id, "mailbox.assignment.set", "mailbox", m.id,
            json_pack("{s:s,s:s,s:o,s:o}", "address", m.address, "mode", in->mode, "cap",
                      in->cap < 0 ? json_null() : json_integer(in->cap), "unassigned_alert_minutes",
                      in->alert_minutes < 0 ? json_null() : json_integer(in->alert_minutes)));
    mf_mailbox_clear(&m);
    if (ops_finish(d, rc, err) < 0) return -1;
    return assignment_get(d, in->mailbox_id, out, err);
}

int ops_mailbox_transfer(db *d, const mf_actor *a, const char *mailbox_id, const char *user_id,
                         const char *previous_access, mf_mailbox *out, mf_error *err)
{
    memset(out, 0, sizeof(*out));
    if (db_begin(d, err) < 0) return -1;
    mf_mailbox m;
    team_facts f;
    int rc = ops_team_facts(d, a, mailbox_id, &m, &f, err);
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    enum team_verdict v = team_may_transfer(&f);
    if (v == TEAM_DENY_NOT_SHARED)
        rc = mf_fail(err, 422, "not_shared", "R8",
                     "a personal mailbox changes owner through a mailbox request (POST "
                     "/mailbox-requests with kind change_owner, R8)");
    else if (v != TEAM_OK)
        rc = ops_team_denied(v, "give a shared mailbox another owner", err);
    mf_user u;
    if (rc == 0 && users_get(d, user_id, &u, err) < 0) {
        if (err) mf_error_prefix(err, "user_id: ");
        rc = -1;
    }
    if (rc == 0) rc = member_user_ok(&u, m.org_id, "user_id", err);
    if (rc == 0 && u.locked)
        rc = mf_fail(err, 403, "seat_locked", "R2",
                     "user_id: %s's seat is locked; unlock it first", u.email);
    char previous[MF_ID_LEN];
    snprintf(previous, sizeof(previous), "%s", m.owner_id);
    int changes = rc == 0 && strcmp(previous, u.id) != 0;
    if (changes) rc = mailboxes_set_owner(d, m.id, u.id, err);
    if (changes && rc == 0) rc = members_remove(d, m.id, u.id, err); /* the owner is no member */
    if (changes && rc == 0 && previous_access)
        rc = members_add(d, m.id, previous, previous_access, 1, err);
    if (changes && rc == 0 && (!previous_access || strcmp(previous_access, "reply") != 0))
        rc = conversations_release_member(d, m.id, previous, err) < 0 ? -1 : 0;
    if (changes && rc == 0)
        rc = ops_audit_json(d, a, m.org_id, "mailbox.transfer_owner", "mailbox", m.id,
                            json_pack("{s:s,s:s,s:s,s:s}", "address", m.address, "from_user_id",
                                      previous, "to_user_id", u.id, "previous_owner_access",
                                      previous_access ? previous_access : "none"));
    mf_mailbox_clear(&m);
    if (ops_finish(d, rc, err) < 0) return -1;
    return mailboxes_get(d, mailbox_id, out, err);
}

int ops_conversation_assign(db *d, const mf_actor *a, const char *id, const char *user_id,
                            mf_conversation *out, mf_error *err)
{
    if (db_begin(d, err) < 0) return -1;
    mf_mailbox m;
    team_facts f;
    int rc = load_conversation(d, a, id, out, &m, &f, err);
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    enum team_verdict v = team_may_assign(&f, out->assignee_id, user_id);
    if (v != TEAM_OK) rc = ops_team_denied(v, "assign it to someone else", err);
    if (rc == 0 && user_id) {
        int is_owner = strcmp(user_id, m.owner_id) == 0;
        enum team_access acc = TEAM_NONE;
        mf_member mm;
        int r = is_owner ? 0 : members_get(d, m.id, user_id, &mm, err);
        if (r < 0) rc = -1;
        else if (r == 1 && team_access_parse(mm.access, &acc) < 0) acc = TEAM_NONE;
        if (rc == 0 && !team_can_be_assignee(is_owner, acc))
            rc = mf_fail(err, 422, "invalid_assignee", "R21",
                         "assignee_id: %s is not the owner or a member with reply access of %s",
                         user_id, m.address);
    }
    int changes = rc == 0 && strcmp(out->assignee_id, user_id ? user_id : "") != 0;
    if (changes) rc = conversation_set_assignee(d, id, user_id, err);
    if (changes && rc == 0) {
        if (webhook_emit_conversation_assigned(d, m.id, id, user_id, out->assignee_id, "hand") < 0)
            rc = mf_fail(err, 500, "internal", NULL, "cannot record the conversation.assigned event");
        if (rc == 0)
            rc = ops_audit_json(
                d, a, m.org_id, user_id ? "conversation.assign" : "conversation.unassign",
                "conversation", id,
                json_pack("{s:s,s:o,s:o}", "mailbox_id", m.id, "from",
                          out->assignee_id[0] ? json_string(out->assignee_id) : json_null(), "to",
                          user_id ? json_string(user_id) : json_null()));
    }
    mf_mailbox_clear(&m);
    if (ops_finish(d, rc, err) < 0) return -1;
    return conversations_get(d, id, out, err);
}

int ops_conversation_status(db *d, const mf_actor *a, const char *id, const char *status,
                            mf_conversation *out, mf_error *err)
{
    if (!team_status_valid(status))
        return mf_fail(err, 400, "invalid_request", NULL, "status: must be open, pending or closed");
    if (db_begin(d, err) < 0) return -1;
    mf_mailbox m;
    team_facts f;
    int rc = load_conversation(d, a, id, out, &m, &f, err);
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    enum team_verdict v = team_may_set_status(&f);
    if (v != TEAM_OK) rc = ops_team_denied(v, "change its status", err);
    int changes = rc == 0 && strcmp(out->status, status) != 0;
    if (changes) rc = conversation_set_status(d, id, status, err);
    if (changes && rc == 0)
        rc = ops_audit_json(
            d, a, m.org_id, "conversation.status", "conversation", id,
            json_pack("{s:s,s:s,s:s}", "mailbox_id", m.id, "from", out->status, "to", status));
    mf_mailbox_clear(&m);
    if (ops_finish(d, rc, err) < 0) return -1;
    return conversations_get(d, id, out, err);
}

int ops_conversation_taken(const mf_conversation *c, mf_error *err)
{
    mf_fail(err, 409, "conversation_taken", "R21",
            "another member (%s) is answering this conversation until %s; send with "
            "\"force\": true to answer anyway",
            c->taken_by, c->taken_until);
    if (err)
        snprintf(err->extra, sizeof(err->extra), "{\"taken_by\":\"%s\",\"taken_until\":\"%s\"}",
                 c->taken_by, c->taken_until); /* ids and times need no escaping */
    return -1;
}

int ops_conversation_typing(db *d, const mf_actor *a, const char *id, int force,
                            mf_conversation *out, mf_error *err)
{
    if (db_begin(d, err) < 0) return -1;
    mf_mailbox m;
    team_facts f;
    int rc = load_conversation(d, a, id, out, &m, &f, err);
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    enum team_verdict v = team_may_type(&f);
    if (v != TEAM_OK) rc = ops_team_denied(v, "answer it", err);
    time_t now = mf_now(), until = 0;
    if (rc == 0 && out->taken_until[0] && mf_time_parse(out->taken_until, &until) < 0) until = 0;
    if (rc == 0 && !force && team_taken_by_other(out->taken_by, until, a->id, now))
        rc = ops_conversation_taken(out, err);
    char until_s[MF_TIME_LEN];
    mf_time_format(now + TEAM_TAKEN_SECONDS, until_s);
    if (rc == 0) rc = conversation_set_taken(d, id, a->id, until_s, err);
    mf_mailbox_clear(&m);
    if (ops_finish(d, rc, err) < 0) return -1;
    return conversations_get(d, id, out, err);
}
