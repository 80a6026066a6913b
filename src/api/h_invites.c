/* h_invites.c — /invites and /contributors (R14): admins invite an address (the link goes by
 * email only, never in an answer), list, resend and revoke invites, list, rename and remove
 * contributors; the invitee's JSON route POST /invites/{token}/accept connects the mailbox. */
#include <stdlib.h>
#include <string.h>
#include "api/h_invites.h"
#include "core/invite.h"

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *render_invite(const mf_invite *i)
{
    const char *state = invite_state_name(mf_invite_state(i, mf_now()));
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:i,s:s,s:o,s:o,s:o,s:o,s:o,s:s}",
                          "id", i->id, "org_id", i->org_id, "address", i->address, "kind",
                          i->kind, "status", state ? state : "pending", "note", i->note,
                          "invited_by", str_or_null(i->invited_by), "owner_id",
                          str_or_null(i->owner_id), "expires_at", i->expires_at, "sent_count",
                          i->sent_count, "last_sent_at", i->last_sent_at, "email_id",
                          str_or_null(i->outbox_id), "accepted_at", str_or_null(i->accepted_at),
                          "revoked_at", str_or_null(i->revoked_at), "contributor_id",
                          str_or_null(i->contributor_id), "mailbox_id",
                          str_or_null(i->mailbox_id), "created_at", i->created_at);
    return o ? o : json_pack("{s:s}", "id", i->id);
}

static void collect_invite(const mf_invite *i, void *ctx)
{
    json_array_append_new((json_t *)ctx, render_invite(i));
}

int h_invites_create(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_invite_input in = {0};
    int rc = jin_str(r, b, "address", 1, 1000, &in.address);
    if (rc == 0) rc = jin_str(r, b, "kind", 1, 16, &in.kind);
    if (rc == 0 && !invite_kind_valid(in.kind)) rc = api_bad(r, "kind", "must be shared or personal");
    if (rc == 0) rc = jin_str(r, b, "note", 0, INVITE_NOTE_MAX, &in.note);
    if (rc == 0) rc = jin_str(r, b, "org_id", 0, MF_ID_LEN - 1, &in.org_id);
    if (rc == 0) rc = jin_str(r, b, "owner_id", 0, MF_ID_LEN - 1, &in.owner_id);
    mf_invite inv;
    if (rc == 0) rc = ops_invite_create(r->app, r->d, &r->actor, &in, &inv, &r->err);
    json_decref(b);
    if (rc < 0) return -1;
    app_wake_engine(r->app); /* the email is in the outbox */
    return api_ok(r, 201, render_invite(&inv));
}

int h_invites_list(api_req *r)
{
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    json_t *items = json_array();
    if (ops_invites_list(r->d, &r->actor, api_query(r, "org_id"), api_query(r, "status"), &pg,
                         collect_invite, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

int h_invites_get(api_req *r)
{
    mf_invite inv;
    if (ops_invite_visible(r->d, &r->actor, r->params[0], &inv, &r->err) < 0) return -1;
    return api_ok(r, 200, render_invite(&inv));
}

int h_invites_resend(api_req *r)
{
    mf_invite inv;
    if (ops_invite_resend(r->app, r->d, &r->actor, r->params[0], &inv, &r->err) < 0) return -1;
    app_wake_engine(r->app);
    return api_ok(r, 200, render_invite(&inv));
}

int h_invites_revoke_post(api_req *r)
{
    mf_invite inv;
    if (ops_invite_revoke(r->d, &r->actor, r->params[0], &inv, &r->err) < 0) return -1;
    return api_ok(r, 200, render_invite(&inv));
}

int h_invites_delete(api_req *r)
{
    mf_invite inv;
    if (ops_invite_revoke(r->d, &r->actor, r->params[0], &inv, &r->err) < 0) return -1;
    return api_no_content(r);
}

void invite_body_wipe(json_t *b)
{
    static const char *keys[] = {"imap", "smtp"};
    for (size_t k = 0; k < 2; k++) {
        json_t *pw = json_object_get(json_object_get(b, keys[k]), "password");
        if (json_is_string(pw)) {
            char *p = (char *)json_string_value(pw);
            memset(p, 0, strlen(p));
        }
    }
}

int invite_accept_body(api_req *r, json_t *b, mf_connect_report *rep, mf_mailbox *m,
                       char contributor_id[MF_ID_LEN])
{
    memset(rep, 0, sizeof(*rep));
    mf_connect_input in = {0};
    char *imap = NULL, *smtp = NULL;
    int rc = jin_str(r, b, "sender_name", 0, MF_NAME_MAX - 1, &in.sender_name);
    if (rc == 0) rc = api_read_server(r, b, "imap", 1, &imap);
    if (rc == 0) rc = api_read_server(r, b, "smtp", 1, &smtp);
    in.imap_json = imap;
    in.smtp_json = smtp;
    if (rc == 0)
        rc = ops_invite_accept(r->app, r->d, r->params[0], &in, rep, m, contributor_id, &r->err);
    mf_secret_free(&imap);
    mf_secret_free(&smtp);
    if (rc == 0) app_wake_engine(r->app); /* the backfill starts now (R13) */
    return rc;
}

int h_invite_accept(api_req *r)
{
    mf_invite inv;
    /* an unknown, used, revoked or expired link answers before the body is looked at */
    if (ops_invite_open(r->d, r->params[0], &inv, &r->err) < 0) return -1;
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_connect_report rep;
    mf_mailbox m;
    char cid[MF_ID_LEN];
    memset(&m, 0, sizeof(m));
    int rc = invite_accept_body(r, b, &rep, &m, cid);
    invite_body_wipe(b);
    json_decref(b);
    if (rc < 0) return -1;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "mailbox_id", m.id, "status", m.status,
                          "address", m.address, "kind", m.kind, "owner_id", m.owner_id,
                          "contributor_id", cid);
    mf_mailbox_clear(&m);
    return api_ok(r, 201, o);
}

/* ---- contributors ---- */

typedef struct contrib_ctx {
    db *d;
    json_t *items;
} contrib_ctx;

static void collect_mb(const mf_contributor_mailbox *m, void *arg)
{
    json_array_append_new((json_t *)arg,
                          json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", m->id, "address", m->address,
                                    "kind", m->kind, "status", m->status, "owner_id",
                                    m->owner_id));
}

static json_t *render_contributor(db *d, const mf_user *u)
{
    json_t *mbs = json_array();
    contributor_mailboxes(d, u->id, collect_mb, mbs, NULL);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", u->id, "org_id", u->org_id, "email",
                     u->email, "name", u->name, "role", "contributor", "created_at",
                     u->created_at, "mailboxes", mbs);
}

static void collect_contributor(const mf_user *u, void *arg)
{
    contrib_ctx *c = arg;
    json_array_append_new(c->items, render_contributor(c->d, u));
}

int h_contributors_list(api_req *r)
{
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    /* contributors_list delivers the rows after its query is finished: each may read more */
    contrib_ctx c = {.d = r->d, .items = json_array()};
    if (ops_contributors_list(r->d, &r->actor, api_query(r, "org_id"), &pg, collect_contributor,
                              &c, &r->err) < 0) {
        json_decref(c.items);
        return -1;
    }
    return api_ok(r, 200, api_list(c.items, &pg));
}

int h_contributors_get(api_req *r)
{
    mf_user u;
    if (ops_contributor_visible(r->d, &r->actor, r->params[0], &u, &r->err) < 0) return -1;
    return api_ok(r, 200, render_contributor(r->d, &u));
}

int h_contributors_patch(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    const char *name;
    mf_user u;
    int rc = jin_str(r, b, "name", 1, MF_NAME_MAX - 1, &name);
    if (rc == 0) rc = ops_contributor_rename(r->d, &r->actor, r->params[0], name, &u, &r->err);
    json_decref(b);
    if (rc < 0) return -1;
    return api_ok(r, 200, render_contributor(r->d, &u));
}

int h_contributors_delete(api_req *r)
{
    const char *c = api_query(r, "confirm");
    int confirm = c && strcmp(c, "true") == 0;
    if (ops_contributor_delete(r->d, &r->actor, r->params[0], confirm, &r->err) < 0) return -1;
    return api_no_content(r);
}
