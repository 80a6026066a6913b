/* h_users.c — /users, /me, /connections: members, seats (R2), limits (R3), tokens. */
#include <string.h>
#include "api/api.h"
#include "api/h_login_invites.h"
#include "core/limits.h"

int h_users_create(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    const char *email, *name, *role, *org_id;
    mf_user u;
    mf_login_invite inv;
    memset(&u, 0, sizeof(u));
    u.mailbox_limit = LIMIT_UNSET;
    int rc = jin_str(r, b, "email", 1, MF_ADDR_MAX - 1, &email);
    if (rc == 0) rc = jin_str(r, b, "name", 1, MF_NAME_MAX - 1, &name);
    if (rc == 0) rc = jin_str(r, b, "role", 1, 16, &role);
    if (rc == 0) rc = jin_str(r, b, "org_id", 0, MF_ID_LEN - 1, &org_id);
    int send_invite = 0; /* "send_login_invite": true → a login invite in the same transaction */
    if (rc == 0) rc = jin_bool(r, b, "send_login_invite", &send_invite, NULL);
    if (rc == 0 && (mf_role_parse(role, &u.role) < 0 || u.role == ROLE_CONTRIBUTOR))
        rc = api_bad(r, "role", "must be admin or user");
    if (rc == 0 && u.role == ROLE_OPERATOR && r->actor.role != ROLE_OPERATOR)
        rc = api_bad(r, "role", "must be admin or user");
    if (rc == 0 && org_id && r->actor.role != ROLE_OPERATOR && strcmp(org_id, r->actor.org_id))
        rc = store_not_found(&r->err, "organisation");
    if (rc == 0) {
        snprintf(u.email, sizeof(u.email), "%s", email);
        snprintf(u.name, sizeof(u.name), "%s", name);
        if (org_id) snprintf(u.org_id, sizeof(u.org_id), "%s", org_id);
        if (send_invite) rc = ops_user_create_with_login_invite(r->app, r->d, &r->actor, &u, &inv,
                                                                &r->err);
        else rc = ops_user_create(r->d, &r->actor, &u, &r->err);
    }
    json_decref(b);
    if (rc < 0) return -1;
    json_t *out = render_user(&u);
    if (send_invite) {
        json_object_set_new(out, "login_invite", render_login_invite(&inv));
        app_wake_engine(r->app); /* the email is in the outbox */
    }
    return api_ok(r, 201, out);
}

int h_users_list(api_req *r)
{
    const char *org = api_query(r, "org_id");
    if (r->actor.role != ROLE_OPERATOR) {
        if (r->actor.role != ROLE_ADMIN)
            return mf_fail(&r->err, 403, "forbidden", "R1", "only admins list the members");
        org = r->actor.org_id;
    }
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    json_t *items = json_array();
    if (users_list(r->d, org, &pg, collect_user, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

/* The user named in the path, visible to the caller as self or as an admin of their org. */
static int self_or_admin(api_req *r, mf_user *u)
{
    if (ops_user_visible(r->d, &r->actor, r->params[0], u, &r->err) < 0) return -1;
    if (strcmp(u->id, r->actor.id) != 0 && !roles_is_admin_of(&r->actor, u->org_id))
        return mf_fail(&r->err, 403, "forbidden", "R1", "only the user or an admin may do this");
    return 0;
}

int h_users_get(api_req *r)
{
    mf_user u;
    if (self_or_admin(r, &u) < 0) return -1;
    return api_ok(r, 200, render_user(&u));
}

int h_users_me(api_req *r)
{
    return api_ok(r, 200, render_user(&r->user));
}

int h_users_patch(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_user_patch p = {.name = NULL, .seat = -1, .set_limit = 0, .mailbox_limit = LIMIT_UNSET};
    const char *seat = NULL;
    int rc = jin_str(r, b, "name", 0, MF_NAME_MAX - 1, &p.name);
    if (rc == 0) rc = jin_str(r, b, "seat", 0, 16, &seat);
    if (rc == 0 && seat) {
        if (strcmp(seat, "active") == 0) p.seat = 0;
        else if (strcmp(seat, "locked") == 0) p.seat = 1;
        else rc = api_bad(r, "seat", "must be active or locked");
    }
    if (rc == 0) {
        json_t *ml = json_object_get(b, "mailbox_limit");
        if (ml && json_is_null(ml)) {
            p.set_limit = 1;
        } else {
            rc = jin_int(r, b, "mailbox_limit", 0, 0, 10000, &p.mailbox_limit, &p.set_limit);
        }
    }
    mf_user u;
    if (rc == 0 && p.name && !*p.name) rc = api_bad(r, "name", "must not be empty");
    if (rc == 0) rc = ops_user_update(r->d, &r->actor, r->params[0], &p, &u, &r->err);
    json_decref(b);
    if (rc < 0) return -1;
    return api_ok(r, 200, render_user(&u));
}

int h_users_connections(api_req *r)
{
    mf_user u;
    mf_connections c;
    if (self_or_admin(r, &u) < 0) return -1;
    if (ops_connections(r->app, r->d, &u, &c, &r->err) < 0) return -1;
    json_t *out = render_connections(&u, &c);
    json_t *slots = json_array();
    mf_page pg = {.cursor = NULL, .limit = 500};
    if (slots_list(r->d, u.org_id, u.id, &pg, collect_slot, slots, &r->err) < 0) {
        json_decref(slots);
        json_decref(out);
        return -1;
    }
    json_object_set_new(out, "slots", slots);
    return api_ok(r, 200, out);
}

int h_users_tokens(api_req *r)
{
    mf_user u;
    if (self_or_admin(r, &u) < 0) return -1;
    char *token = ops_token_create(r->d, &r->actor, &u, &r->err);
    if (!token) return -1;
    json_t *out = json_pack("{s:s,s:s}", "token", token, "user_id", u.id);
    mf_secret_free(&token);
    return api_ok(r, 201, out);
}

typedef struct team_ctx {
    api_req *r;
    json_t *members;
    int used, available, failed;
} team_ctx;

static void team_member(const mf_user *u, void *p)
{
    team_ctx *t = p;
    if (u->role != ROLE_ADMIN && u->role != ROLE_USER) return;
    mf_connections c;
    if (ops_connections(t->r->app, t->r->d, u, &c, &t->r->err) < 0) {
        t->failed = 1;
        return;
    }
    t->used += c.used;
    t->available += c.available;
    json_t *m = render_connections(u, &c);
    json_object_set_new(m, "name", json_string(u->name));
    json_object_set_new(m, "seat", json_string(u->locked ? "locked" : "active"));
    json_array_append_new(t->members, m);
}

int h_team_connections(api_req *r)
{
    const char *org = r->actor.org_id;
    if (r->actor.role == ROLE_OPERATOR) org = api_query(r, "org_id");
    if (!org || !*org) return api_bad(r, "org_id", "is required for operators");
    if (!roles_is_admin_of(&r->actor, org))
        return mf_fail(&r->err, 403, "forbidden", "R1", "only admins see the team's connections");
    /* Team pages list every member in one go (both backends allow queries while a list is
     * being read, so ops_connections runs inside the loop). */
    team_ctx t = {.r = r, .members = json_array()};
    char cursor[MF_ID_LEN] = "";
    mf_page pg = {.cursor = cursor, .limit = 500};
    do {
        pg.more = 0;
        if (users_list(r->d, org, &pg, team_member, &t, &r->err) < 0) t.failed = 1;
        snprintf(cursor, sizeof(cursor), "%s", pg.last_id);
    } while (pg.more && !t.failed);
    if (t.failed) {
        json_decref(t.members);
        return -1;
    }
    int free_slots = slots_free_count(r->d, org, &r->err);
    if (free_slots < 0) {
        json_decref(t.members);
        return -1;
    }
    /* R15: the team's sending capacity is the sum of its mailboxes' daily limits */
    int capacity = store_count(r->d, "SELECT COALESCE(SUM(daily_limit), 0) FROM mailboxes WHERE "
                                     "org_id = ?", org, &r->err);
    if (capacity < 0) {
        json_decref(t.members);
        return -1;
    }
    char display[32];
    snprintf(display, sizeof(display), "%d/%d", t.used, t.available);
    return api_ok(r, 200,
                  json_pack("{s:s,s:i,s:i,s:s,s:i,s:i,s:o}", "org_id", org, "used", t.used,
                            "available", t.available, "display", display, "unassigned_slots",
                            free_slots, "daily_capacity", capacity, "members", t.members));
}
