/* seat_ops.c — organisations, users and seats, tokens, limits and slots (R1–R4, R27). */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "app/ops.h"
#include "core/limits.h"
#include "util/log.h"

const mf_actor ops_cli_actor = {.id = "", .org_id = "", .role = ROLE_OPERATOR, .locked = 0};

int ops_actor_from_user(const mf_user *u, mf_actor *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->id, sizeof(a->id), "%s", u->id);
    snprintf(a->org_id, sizeof(a->org_id), "%s", u->org_id);
    a->role = u->role;
    a->locked = u->locked;
    return 0;
}

int ops_audit(db *d, const mf_actor *a, const char *org_id, const char *action,
              const char *target_type, const char *target_id, const char *detail_json)
{
    mf_error err;
    if (audit_record(d, org_id, a, action, target_type, target_id, detail_json, &err) < 0) {
        log_errorx("audit: cannot record %s: %s", action, err.message);
        return -1;
    }
    return 0;
}

int ops_audit_json(db *d, const mf_actor *a, const char *org_id, const char *action,
                   const char *target_type, const char *target_id, json_t *detail)
{
    char *dj = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    int rc = ops_audit(d, a, org_id, action, target_type, target_id, dj);
    free(dj);
    json_decref(detail);
    return rc;
}

int ops_finish(db *d, int rc, mf_error *err)
{
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    return db_commit(d, err);
}

int ops_user_visible(db *d, const mf_actor *a, const char *user_id, mf_user *u, mf_error *err)
{
    if (users_get(d, user_id, u, err) < 0) return -1;
    if (!roles_can_access_org(a, u->org_id) || (a->role != ROLE_OPERATOR && !u->org_id[0]))
        return store_not_found(err, "user");
    return 0;
}

int ops_org_create(db *d, const mf_actor *a, mf_org *o, mf_error *err)
{
    if (a->role != ROLE_OPERATOR)
        return mf_fail(err, 403, "forbidden", "R1", "only operators create organisations");
    if (db_begin(d, err) < 0) return -1;
    int rc = orgs_insert(d, o, err);
    if (rc == 0) {
        json_t *j = json_pack("{s:s}", "name", o->name);
        char *dj = json_dumps(j, JSON_COMPACT);
        rc = ops_audit(d, a, o->id, "org.create", "org", o->id, dj);
        free(dj);
        json_decref(j);
    }
    return ops_finish(d, rc, err);
}

int ops_user_create_check(const mf_actor *a, mf_user *u, mf_error *err)
{
    if (u->role == ROLE_OPERATOR) {
        if (a->role != ROLE_OPERATOR)
            return mf_fail(err, 403, "forbidden", "R1", "only operators create operators");
        u->org_id[0] = '\0';
    } else {
        if (!u->org_id[0]) snprintf(u->org_id, sizeof(u->org_id), "%s", a->org_id);
        if (!u->org_id[0])
            return mf_fail(err, 400, "invalid_request", NULL,
                           "org_id: an organisation is needed for admins and users");
        if (!roles_can_access_org(a, u->org_id)) return store_not_found(err, "organisation");
        if (!roles_is_admin_of(a, u->org_id))
            return mf_fail(err, 403, "forbidden", "R1", "only admins add members");
    }
    return 0;
}

int ops_user_create_in_tx(db *d, const mf_actor *a, mf_user *u, mf_error *err)
{
    int rc = 0;
    if (u->org_id[0]) {
        mf_org o;
        rc = orgs_get(d, u->org_id, &o, err);
    }
    if (rc == 0) rc = users_insert(d, u, err);
    if (rc == 0) {
        json_t *j = json_pack("{s:s,s:s}", "email", u->email, "role", mf_role_name(u->role));
        char *dj = json_dumps(j, JSON_COMPACT);
        rc = ops_audit(d, a, u->org_id, "user.create", "user", u->id, dj);
        free(dj);
        json_decref(j);
    }
    return rc;
}

int ops_user_create(db *d, const mf_actor *a, mf_user *u, mf_error *err)
{
    if (ops_user_create_check(a, u, err) < 0) return -1;
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_user_create_in_tx(d, a, u, err);
    return ops_finish(d, rc, err);
}

int ops_user_update(db *d, const mf_actor *a, const char *user_id, const mf_user_patch *p,
                    mf_user *out, mf_error *err)
{
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_user_visible(d, a, user_id, out, err);
    if (rc == 0 && !roles_is_admin_of(a, out->org_id))
        rc = mf_fail(err, 403, "forbidden", "R1", "only admins change seats and limits");
    if (rc == 0 && out->role == ROLE_OPERATOR && a->role != ROLE_OPERATOR)
        rc = mf_fail(err, 403, "forbidden", "R1", "only operators change operators");
    if (rc == 0) {
        json_t *j = json_object();
        if (p->name) {
            snprintf(out->name, sizeof(out->name), "%s", p->name);
            json_object_set_new(j, "name", json_string(p->name));
        }
        if (p->seat >= 0) {
            out->locked = p->seat;
            json_object_set_new(j, "seat", json_string(p->seat ? "locked" : "active"));
        }
        if (p->set_limit) {
            out->mailbox_limit = p->mailbox_limit;
            json_object_set_new(j, "mailbox_limit",
                                p->mailbox_limit == LIMIT_UNSET ? json_null()
                                                                : json_integer(p->mailbox_limit));
        }
        rc = users_update(d, out, err);
        /* R2: a locked seat is signed out of the console at once (an unlock does not bring
         * old sessions back) */
        if (rc == 0 && p->seat == 1) rc = sessions_delete_user(d, out->id, err);
        char *dj = json_dumps(j, JSON_COMPACT);
        const char *action = p->seat == 1 ? "user.lock" : p->seat == 0 ? "user.unlock" : "user.update";
        if (rc == 0) rc = ops_audit(d, a, out->org_id, action, "user", out->id, dj);
        free(dj);
        json_decref(j);
    }
    return ops_finish(d, rc, err);
}

int ops_seat_facts(mf_app *app, db *d, const mf_user *u, int *used, int *limit, mf_error *err)
{
    mf_connections c;
    if (ops_connections(app, d, u, &c, err) < 0) return -1;
    *used = c.used;
    *limit = c.available;
    return 0;
}

int ops_connections(mf_app *app, db *d, const mf_user *u, mf_connections *c, mf_error *err)
{
    memset(c, 0, sizeof(*c));
    int org_limit = LIMIT_UNSET;
    if (u->org_id[0]) {
        mf_org o;
        if (orgs_get(d, u->org_id, &o, err) < 0) return -1;
        org_limit = o.mailbox_limit;
    }
    c->base = limits_base(app->cfg.default_mailbox_limit, org_limit, u->mailbox_limit);
    c->slots = slots_assigned_count(d, u->id, err);
    c->used = mailboxes_count_owned(d, u->id, err);
    if (c->slots < 0 || c->used < 0) return -1;
    c->available = limits_user_limit(c->base, c->slots);
    return 0;
}

int ops_slots_buy(db *d, const mf_actor *a, const char *org_id, int count,
                  void (*each)(const mf_slot *, void *), void *ctx, mf_error *err)
{
    if (!roles_is_admin_of(a, org_id))
        return mf_fail(err, 403, "forbidden", "R1", "only admins buy connection slots");
    if (db_begin(d, err) < 0) return -1;
    mf_org o;
    int rc = orgs_get(d, org_id, &o, err);
    if (rc == 0) rc = slots_buy(d, org_id, count, each, ctx, err) < 0 ? -1 : 0;
    if (rc == 0) {
        char detail[64];
        snprintf(detail, sizeof(detail), "{\"count\":%d}", count);
        rc = ops_audit(d, a, org_id, "slots.buy", "org", org_id, detail);
    }
    return ops_finish(d, rc, err);
}

int ops_slots_assign(db *d, const mf_actor *a, const char *user_id, int count, mf_error *err)
{
    mf_user u;
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_user_visible(d, a, user_id, &u, err);
    if (rc == 0 && !roles_is_admin_of(a, u.org_id))
        rc = mf_fail(err, 403, "forbidden", "R1", "only admins assign connection slots");
    if (rc == 0 && (u.role == ROLE_OPERATOR || u.role == ROLE_CONTRIBUTOR))
        rc = mf_fail(err, 422, "invalid_request", "R3", "slots are assigned to admins and users");
    if (rc == 0) rc = slots_assign(d, u.org_id, u.id, count, err);
    if (rc == 0) {
        char detail[64];
        snprintf(detail, sizeof(detail), "{\"count\":%d}", count);
        rc = ops_audit(d, a, u.org_id, "slots.assign", "user", u.id, detail);
    }
    return ops_finish(d, rc, err);
}

int ops_slot_remove(mf_app *app, db *d, const mf_actor *a, const char *user_id,
                    const char *slot_id, mf_error *err)
{
    mf_user u;
    mf_slot s;
    mf_connections c;
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_user_visible(d, a, user_id, &u, err);
    if (rc == 0 && !roles_is_admin_of(a, u.org_id))
        rc = mf_fail(err, 403, "forbidden", "R1", "only admins remove connection slots");
    if (rc == 0) rc = slots_get(d, slot_id, &s, err);
    if (rc == 0 && (strcmp(s.user_id, u.id) != 0 || strcmp(s.state, "active") != 0))
        rc = store_not_found(err, "slot");
    if (rc == 0) rc = ops_connections(app, d, &u, &c, err);
    if (rc == 0 && !limits_slot_removable(c.used, c.available))
        rc = mf_fail(err, 409, "slot_in_use", "R4",
                     "the slot holds a mailbox (%d of %d in use); remove a mailbox first — that "
                     "disconnects its sending and reply recognition",
                     c.used, c.available);
    if (rc == 0) rc = slots_cancel(d, slot_id, err);
    if (rc == 0) {
        mf_slot after;
        rc = slots_get(d, slot_id, &after, err);
        if (rc == 0) {
            char detail[128];
            snprintf(detail, sizeof(detail), "{\"user_id\":\"%s\",\"ends_at\":\"%s\"}", u.id,
                     after.ends_at);
            rc = ops_audit(d, a, u.org_id, "slot.remove", "slot", slot_id, detail);
        }
    }
    return ops_finish(d, rc, err);
}

char *ops_token_create(db *d, const mf_actor *a, const mf_user *u, mf_error *err)
{
    if (strcmp(a->id, u->id) != 0 && !roles_is_admin_of(a, u->org_id)) {
        mf_fail(err, 403, "forbidden", "R1", "only the user or an admin creates tokens");
        return NULL;
    }
    if (u->locked) {
        mf_fail(err, 403, "seat_locked", "R2", "the seat of %s is locked; unlock it first", u->email);
        return NULL;
    }
    if (u->role == ROLE_CONTRIBUTOR) {
        mf_fail(err, 403, "forbidden", "R14", "contributors have no API access");
        return NULL;
    }
    if (u->role == ROLE_OPERATOR && a->role != ROLE_OPERATOR) {
        mf_fail(err, 403, "forbidden", "R1", "only operators create operator tokens");
        return NULL;
    }
    char *token = mf_token_new("mf_");
    char hash[65];
    mf_token_hash(token, hash);
    if (db_begin(d, err) < 0) {
        mf_secret_free(&token);
        return NULL;
    }
    int rc = tokens_insert(d, u->id, hash, err);
    if (rc == 0) rc = ops_audit(d, a, u->org_id, "token.create", "user", u->id, NULL);
    if (ops_finish(d, rc, err) < 0) {
        mf_secret_free(&token);
        return NULL;
    }
    return token;
}
