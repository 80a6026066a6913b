/* h_team.c — shared mailboxes and assignment over HTTP (R20, R21): GET/PUT
 * /mailboxes/{id}/members, GET/PUT /mailboxes/{id}/assignment, POST /mailboxes/{id}/owner
 * (ownership transfer by an admin), POST /conversations/{id}/assign and /unassign, PATCH
 * /conversations/{id} (status) and POST /conversations/{id}/typing (collision detection). */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"

static json_t *render_assignment(const mf_assignment *a)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "mailbox_id", a->mailbox_id, "mode", a->mode,
                     "cap", a->cap < 0 ? json_null() : json_integer(a->cap),
                     "unassigned_alert_minutes",
                     a->alert_minutes < 0 ? json_null() : json_integer(a->alert_minutes),
                     "last_assigned_user_id", a->cursor[0] ? json_string(a->cursor) : json_null(),
                     "updated_at", a->updated_at[0] ? json_string(a->updated_at) : json_null());
}

static void collect_member(const mf_member *m, void *ctx)
{
    json_array_append_new((json_t *)ctx,
                          json_pack("{s:s,s:s,s:s,s:s,s:b}", "user_id", m->user_id, "email",
                                    m->email, "name", m->name, "access", m->access, "available",
                                    m->available));
}

/* A shared mailbox the caller may read; 422 not_shared for a personal one. */
static int readable_shared(api_req *r, mf_mailbox *m)
{
    if (ops_mailbox_readable(r->d, &r->actor, r->params[0], m, &r->err) < 0) return -1;
    if (strcmp(m->kind, "shared") != 0) {
        mf_mailbox_clear(m);
        return ops_team_denied(TEAM_DENY_NOT_SHARED, "", &r->err);
    }
    return 0;
}

static int answer_members(api_req *r, const char *mailbox_id)
{
    mf_mailbox m;
    if (mailboxes_get(r->d, mailbox_id, &m, &r->err) < 0) return -1;
    json_t *items = json_array();
    int rc = members_list(r->d, m.id, collect_member, items, &r->err);
    json_t *out = json_pack("{s:s,s:s,s:o}", "mailbox_id", m.id, "owner_id", m.owner_id,
                            "members", items);
    mf_mailbox_clear(&m);
    if (rc < 0) {
        json_decref(out);
        return -1;
    }
    return api_ok(r, 200, out);
}

int h_members_get(api_req *r)
{
    mf_mailbox m;
    if (readable_shared(r, &m) < 0) return -1;
    mf_mailbox_clear(&m);
    return answer_members(r, r->params[0]);
}

int h_members_put(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    json_t *arr = json_object_get(b, "members");
    int rc = 0;
    if (!arr || json_is_null(arr)) rc = api_bad(r, "members", "is required (an array, [] for none)");
    else if (!json_is_array(arr)) rc = api_bad(r, "members", "expected an array of {user_id, access}");
    else if (json_array_size(arr) > 500) rc = api_bad(r, "members", "at most 500 members");
    size_t n = rc == 0 ? json_array_size(arr) : 0;
    mf_member *list = xcalloc(n + 1, sizeof(*list));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *o = json_array_get(arr, i);
        char field[48];
        snprintf(field, sizeof(field), "members[%zu]", i);
        if (!json_is_object(o)) {
            rc = api_bad(r, field, "expected an object {user_id, access, available?}");
            break;
        }
        const char *uid = NULL, *access = NULL;
        int available = 1;
        enum team_access acc;
        rc = jin_str(r, o, "user_id", 1, MF_ID_LEN - 1, &uid);
        if (rc == 0 && !mf_id_valid(uid)) rc = api_bad(r, "user_id", "is not an id");
        if (rc == 0) rc = jin_str(r, o, "access", 1, 8, &access);
        if (rc == 0 && team_access_parse(access, &acc) < 0)
            rc = api_bad(r, "access", "must be read or reply");
        if (rc == 0) rc = jin_bool(r, o, "available", &available, NULL);
        if (rc < 0) {
            mf_error_prefix(&r->err, "%s.", field); /* "members[1].access: ..." */
            break;
        }
        snprintf(list[i].user_id, sizeof(list[i].user_id), "%s", uid);
        snprintf(list[i].access, sizeof(list[i].access), "%s", team_access_name(acc));
        list[i].available = available;
    }
    if (rc == 0) rc = ops_members_set(r->d, &r->actor, r->params[0], list, (int)n, &r->err);
    free(list);
    json_decref(b);
    if (rc < 0) return -1;
    return answer_members(r, r->params[0]);
}

int h_assignment_get(api_req *r)
{
    mf_mailbox m;
    if (readable_shared(r, &m) < 0) return -1;
    mf_mailbox_clear(&m);
    mf_assignment a;
    if (assignment_get(r->d, r->params[0], &a, &r->err) < 0) return -1;
    return api_ok(r, 200, render_assignment(&a));
}

int h_assignment_put(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_assignment in;
    memset(&in, 0, sizeof(in));
    snprintf(in.mailbox_id, sizeof(in.mailbox_id), "%.*s", MF_ID_LEN - 1, r->params[0]);
    in.cap = -1;
    in.alert_minutes = -1;
    const char *mode = NULL;
    int rc = jin_str(r, b, "mode", 1, 16, &mode);
    if (rc == 0 && strcmp(mode, "none") == 0) mode = "manual"; /* "no rule" */
    if (rc == 0 && strcmp(mode, "manual") != 0 && strcmp(mode, "round_robin") != 0)
        rc = api_bad(r, "mode", "must be manual or round_robin");
    if (rc == 0) snprintf(in.mode, sizeof(in.mode), "%s", mode);
    if (rc == 0) rc = jin_int(r, b, "cap", 0, 1, 10000, &in.cap, NULL);
    if (rc == 0)
        rc = jin_int(r, b, "unassigned_alert_minutes", 0, 0, 7 * 24 * 60, &in.alert_minutes, NULL);
    mf_assignment out;
    if (rc == 0) rc = ops_assignment_set(r->d, &r->actor, &in, &out, &r->err);
    json_decref(b);
    if (rc < 0) return -1;
    return api_ok(r, 200, render_assignment(&out));
}

int h_mailbox_owner(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    const char *uid = NULL, *prev = NULL;
    int rc = jin_str(r, b, "user_id", 1, MF_ID_LEN - 1, &uid);
    if (rc == 0 && !mf_id_valid(uid)) rc = api_bad(r, "user_id", "is not an id");
    if (rc == 0) rc = jin_str(r, b, "previous_owner_access", 0, 8, &prev);
    if (rc == 0 && !prev) prev = "reply";
    if (rc == 0 && strcmp(prev, "read") && strcmp(prev, "reply") && strcmp(prev, "none"))
        rc = api_bad(r, "previous_owner_access", "must be reply, read or none");
    mf_mailbox m;
    memset(&m, 0, sizeof(m));
    if (rc == 0)
        rc = ops_mailbox_transfer(r->d, &r->actor, r->params[0], uid,
                                  strcmp(prev, "none") == 0 ? NULL : prev, &m, &r->err);
    json_decref(b);
    if (rc < 0) return -1;
    api_ok(r, 200, render_mailbox(&m));
    mf_mailbox_clear(&m);
    return 0;
}

static int answer_conversation(api_req *r, int rc, const mf_conversation *c)
{
    if (rc < 0) return -1;
    return api_ok(r, 200, render_conversation(c));
}

int h_conversation_assign(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    /* {assignee_id: id|null} (API.md), or {user_id: id|null} */
    const char *key = json_object_get(b, "assignee_id") ? "assignee_id" : "user_id";
    json_t *v = json_object_get(b, key);
    const char *uid = NULL;
    int rc = 0;
    if (!v) rc = api_bad(r, "assignee_id", "is required (a user id, or null to unassign)");
    else if (!json_is_null(v) && (!json_is_string(v) || !mf_id_valid(json_string_value(v))))
        rc = api_bad(r, key, "expected a user id or null");
    else if (!json_is_null(v)) uid = json_string_value(v);
    mf_conversation c;
    if (rc == 0) rc = ops_conversation_assign(r->d, &r->actor, r->params[0], uid, &c, &r->err);
    json_decref(b);
    return answer_conversation(r, rc, &c);
}

int h_conversation_unassign(api_req *r)
{
    mf_conversation c;
    int rc = ops_conversation_assign(r->d, &r->actor, r->params[0], NULL, &c, &r->err);
    return answer_conversation(r, rc, &c);
}

int h_conversation_patch(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    const char *status = NULL;
    int rc = jin_str(r, b, "status", 1, 16, &status);
    if (rc == 0 && !team_status_valid(status))
        rc = api_bad(r, "status", "must be open, pending or closed");
    mf_conversation c;
    if (rc == 0) rc = ops_conversation_status(r->d, &r->actor, r->params[0], status, &c, &r->err);
    json_decref(b);
    return answer_conversation(r, rc, &c);
}

int h_conversation_typing(api_req *r)
{
    int force = 0, rc = 0;
    if (r->body && r->body_len) { /* the body is optional: {force?: bool} */
        json_t *b;
        if (jin_body(r, &b) < 0) return -1;
        rc = jin_bool(r, b, "force", &force, NULL);
        json_decref(b);
        if (rc < 0) return -1;
    }
    mf_conversation c;
    if (ops_conversation_typing(r->d, &r->actor, r->params[0], force, &c, &r->err) < 0) return -1;
    json_t *out = render_conversation(&c);
    return api_ok(r, 200, out);
}
