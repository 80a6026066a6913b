/* login_invite_ops.c — console passwords set through an emailed invite; see login_invite_ops.h.
 * The email is system mail in the durable outbox, composed like the mailbox invites' email
 * (text + HTML through app/system_mail.c, a unique outbox key per invite). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>
#include "app/login_invite_ops.h"
#include "core/invite.h"
#include "core/login_invite.h"
#include "app/system_mail.h"
#include "util/log.h"
#include "util/strbuf.h"


/* ---- the password ------------------------------------------------------------------------ */

int ops_password_prepare(const char *password, char hash[128], mf_error *err)
{
    const char *why;
    hash[0] = '\0';
    if (login_password_check(password, &why) < 0)
        return mf_fail(err, 400, "invalid_request", NULL, "password: %s", why);
    if (mf_password_hash(password, hash) != 0) return mf_fail_internal(err, "hashing failed");
    return 0;
}

int ops_user_password_set_in_tx(db *d, const mf_actor *a, const mf_user *u, const char *hash,
                                const char *detail_json, mf_error *err)
{
    if (u->role == ROLE_CONTRIBUTOR)
        return mf_fail(err, 403, "forbidden", "R14",
                       "contributors do not sign in to the console; they connect through invites");
    int rc = users_set_password(d, u->id, hash, err);
    if (rc == 0) rc = sessions_delete_user(d, u->id, err); /* a new password signs out */
    if (rc == 0) rc = ops_audit(d, a, u->org_id, "user.passwd", "user", u->id, detail_json);
    return rc;
}

/* ---- who may be invited ------------------------------------------------------------------ */

/* R1: an admin of the member's organisation, or an operator; R14: contributors have no login;
 * R2: a locked seat cannot sign in, so it gets no link. */
static int invitable(const mf_actor *a, const mf_user *u, mf_error *err)
{
    if (!roles_is_admin_of(a, u->org_id))
        return mf_fail(err, 403, "forbidden", "R1",
                       "only an admin of the member's organisation (or an operator) sends login "
                       "invites");
    if (u->role == ROLE_CONTRIBUTOR)
        return mf_fail(err, 422, "contributor_no_login", "R14",
                       "%s is a contributor: contributors have no console login (they connect "
                       "their inbox through a mailbox invite)",
                       u->email);
    if (u->role == ROLE_OPERATOR || !u->org_id[0])
        return mf_fail(err, 422, "invalid_request", NULL,
                       "user_id: an operator's password is set with `mailfleet user passwd`");
    if (u->locked)
        return mf_fail(err, 409, "seat_locked", "R2",
                       "%s's seat is locked: a locked seat cannot sign in; unlock it first",
                       u->email);
    return 0;
}

/* ---- the email --------------------------------------------------------------------------- */

static int queue_login_mail(mf_app *app, db *d, const mf_login_invite *inv, const char *link,
                            const mf_user *u, const mf_org *org, const mf_user *inviter,
                            char out_id[MF_ID_LEN], mf_error *err)
{
    const char *who = inviter && inviter->name[0] ? inviter->name : "An administrator";
    char when[64];
    snprintf(when, sizeof(when), "%.10s %.5s UTC", inv->expires_at, inv->expires_at + 11);
    strbuf text, html;
    strbuf_init(&text, 64 * 1024);
    strbuf_init(&html, 128 * 1024);
    strbuf_addf(&text,
                "Hello %s,\n\n%s added you to %s on mailfleet, the team's shared mail console.\n\n"
                "Set your password here:\n\n%s\n\n"
                "Then sign in with your email address (%s) and that password. The link works "
                "once and expires on %s; ask %s for a new one if it has expired.\n\n"
                "If you did not expect this email, ignore it: nothing changes until the link is "
                "used.\n",
                u->name, who, org->name, link, u->email, when, who);
    strbuf_addstr(&html, "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Hello ");
    strbuf_add_html(&html, u->name);
    strbuf_addstr(&html, ",</p><p>");
    strbuf_add_html(&html, who);
    strbuf_addstr(&html, " added you to <b>");
    strbuf_add_html(&html, org->name);
    strbuf_addstr(&html, "</b> on mailfleet, the team's shared mail console.</p><p><a href=\"");
    strbuf_add_html(&html, link);
    strbuf_addstr(&html, "\">Set your password</a></p><p>or open ");
    strbuf_add_html(&html, link);
    strbuf_addstr(&html, "</p><p>Then sign in with your email address (");
    strbuf_add_html(&html, u->email);
    strbuf_addf(&html, ") and that password. The link works once and expires on %s.</p><p>If "
                       "you did not expect this email, ignore it: nothing changes until the "
                       "link is used.</p></body></html>\n",
                when);

    char subject[MF_NAME_MAX + 96];
    snprintf(subject, sizeof(subject), "You've been added to %s on mailfleet: set your password",
             org->name);
    char key[MF_ID_LEN + 32];
    snprintf(key, sizeof(key), "login-invite:%s", inv->id);
    system_mail m = {.org_id = inv->org_id, .to = u->email, .subject = subject,
                     .text = text.buf ? text.buf : "", .html = html.buf ? html.buf : "",
                     .unique_key = key, .created_by = store_nullable(inv->invited_by),
                     .what = "login invite"};
    int rc = system_mail_queue(app, d, &m, out_id, err);
    if (rc == 0) rc = login_invites_set_outbox(d, inv->id, out_id, err);
    if (text.buf) sodium_memzero(text.buf, text.len); /* the link is in both */
    if (html.buf) sodium_memzero(html.buf, html.len);
    strbuf_release(&text);
    strbuf_release(&html);
    return rc;
}

/* ---- sending an invite ------------------------------------------------------------------- */

/* Inside the caller's transaction: revoke u's older links, make a new one, queue the email,
 * audit. *link_out (may be NULL) gets the link. */
static int invite_in_tx(mf_app *app, db *d, const mf_actor *a, const mf_user *u,
                        mf_login_invite *out, char **link_out, mf_error *err)
{
    memset(out, 0, sizeof(*out));
    mf_org org;
    mf_user inviter;
    int have_inviter = a->id[0] && users_get(d, a->id, &inviter, NULL) == 0;
    int rc = orgs_get(d, u->org_id, &org, err);
    int revoked = 0;
    if (rc == 0 && (revoked = login_invites_revoke_user(d, u->id, err)) < 0) rc = -1;
    char *token = NULL, hash[65], link[INVITE_LINK_MAX];
    if (rc == 0) {
        snprintf(out->org_id, sizeof(out->org_id), "%s", u->org_id);
        snprintf(out->user_id, sizeof(out->user_id), "%s", u->id);
        snprintf(out->invited_by, sizeof(out->invited_by), "%s", a->id);
        mf_time_format(invite_expiry(mf_now(), app->cfg.invite_ttl_days), out->expires_at);
        token = mf_token_new("wel_");
        mf_token_hash(token, hash);
        if (login_invite_link(app->cfg.public_url, app->cfg.listen, token, link, sizeof(link)) < 0)
            rc = mf_fail(err, 500, "bad_config", NULL, "public_url is too long for a link");
    }
    mf_secret_free(&token);
    if (rc == 0) rc = login_invites_insert(d, out, hash, err);
    if (rc == 0)
        rc = queue_login_mail(app, d, out, link, u, &org, have_inviter ? &inviter : NULL,
                              out->outbox_id, err);
    if (rc == 0)
        rc = ops_audit_json(d, a, u->org_id, "login_invite.create", "user", u->id,
                            json_pack("{s:s,s:s,s:s,s:i}", "email", u->email, "invite_id", out->id,
                                      "expires_at", out->expires_at, "revoked_older", revoked));
    if (rc == 0 && link_out) *link_out = xasprintf("%s", link);
    sodium_memzero(link, sizeof(link));
    return rc;
}

int ops_login_invite_create(mf_app *app, db *d, const mf_actor *a, const char *user_id,
                            mf_login_invite *out, char **link_out, mf_error *err)
{
    if (link_out) *link_out = NULL;
    memset(out, 0, sizeof(*out));
    if (db_begin(d, err) < 0) return -1;
    mf_user u;
    int rc = ops_user_visible(d, a, user_id, &u, err);
    if (rc == 0) rc = invitable(a, &u, err);
    if (rc == 0) rc = invite_in_tx(app, d, a, &u, out, link_out, err);
    if (ops_finish(d, rc, err) < 0) {
        if (link_out) mf_secret_free(link_out);
        return -1;
    }
    return 0;
}

int ops_user_create_with_login_invite(mf_app *app, db *d, const mf_actor *a, mf_user *u,
                                      mf_login_invite *out, mf_error *err)
{
    memset(out, 0, sizeof(*out));
    if (ops_user_create_check(a, u, err) < 0) return -1;
    if (u->role == ROLE_OPERATOR)
        return mf_fail(err, 422, "invalid_request", NULL,
                       "send_login_invite: an operator's password is set with `mailfleet user "
                       "passwd`");
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_user_create_in_tx(d, a, u, err);
    if (rc == 0) rc = invite_in_tx(app, d, a, u, out, NULL, err);
    return ops_finish(d, rc, err);
}

/* ---- the member's link ------------------------------------------------------------------- */

static int link_state_error(int state, mf_error *err)
{
    return mf_fail(err, 410, login_invite_link_error(state), NULL, "%s",
                   login_invite_link_error_text(state));
}

int ops_login_invite_open(db *d, const char *token, mf_login_invite *out, mf_user *u,
                          mf_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(u, 0, sizeof(*u));
    if (!invite_token_shape_ok(token)) return store_not_found(err, "link");
    char hash[65];
    mf_token_hash(token, hash);
    if (login_invites_get_by_token_hash(d, hash, out, err) < 0) return -1;
    if (users_get(d, out->user_id, u, err) < 0) return -1;
    int state = mf_login_invite_state(out, mf_now());
    if (state != INVITE_PENDING) return link_state_error(state, err);
    return 0;
}

int ops_login_invite_accept(db *d, const char *token, const char *password, mf_user *u,
                            mf_error *err)
{
    mf_login_invite inv;
    if (ops_login_invite_open(d, token, &inv, u, err) < 0) return -1;
    char hash[128];
    if (ops_password_prepare(password, hash, err) < 0) return -1; /* outside the transaction */
    if (db_begin(d, err) < 0) {
        sodium_memzero(hash, sizeof(hash));
        return -1;
    }
    time_t now = mf_now();
    /* the link may have been used, revoked or replaced while the password was hashed */
    int rc = login_invites_get(d, inv.id, &inv, err);
    int state = rc == 0 ? mf_login_invite_state(&inv, now) : -1;
    if (rc == 0 && state != INVITE_PENDING) rc = link_state_error(state, err);
    if (rc == 0) rc = users_get(d, inv.user_id, u, err);
    if (rc == 0 && u->locked)
        rc = mf_fail(err, 409, "seat_locked", "R2",
                     "this seat is locked; an admin can unlock it, then the link works again");
    if (rc == 0) {
        int n = login_invites_accept(d, inv.id, now, err);
        if (n < 0) rc = -1;
        else if (n == 0) rc = link_state_error(INVITE_ACCEPTED, err);
    }
    mf_actor self; /* the member acts for the audit */
    ops_actor_from_user(u, &self);
    if (rc == 0) {
        json_t *dj = json_pack("{s:s,s:s}", "via", "login_invite", "invite_id", inv.id);
        char *ds = json_dumps(dj, JSON_COMPACT);
        json_decref(dj);
        rc = ops_user_password_set_in_tx(d, &self, u, hash, ds, err);
        free(ds);
    }
    if (rc == 0)
        rc = ops_audit_json(d, &self, u->org_id, "login_invite.accept", "user", u->id,
                            json_pack("{s:s,s:s}", "email", u->email, "invite_id", inv.id));
    sodium_memzero(hash, sizeof(hash));
    return ops_finish(d, rc, err);
}
