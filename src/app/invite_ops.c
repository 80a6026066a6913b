/* invite_ops.c — invites (R14) and contributors; see invite_ops.h.
 *
 * Who owns what: a personal invite's mailbox is owned by the contributor (the inbox's owner,
 * who has no login, R14); a shared invite's mailbox is owned by the invite's owner_id (the
 * inviting admin unless another admin or user of the org was named, R20) and the contributor is
 * linked to it through the accepted invite row (invites.contributor_id, invites.mailbox_id). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "app/invite_ops.h"
#include "core/invite.h"
#include "core/limits.h"
#include "app/system_mail.h"
#include "util/log.h"
#include "util/strbuf.h"


/* R1: the organisation an admin-level actor invites for. */
static int acting_org(db *d, const mf_actor *a, const char *org_id, mf_org *org, mf_error *err)
{
    if (a->role != ROLE_ADMIN && a->role != ROLE_OPERATOR)
        return mf_fail(err, 403, "forbidden", "R1", "only admins manage invites and contributors");
    if (a->role == ROLE_OPERATOR && (!org_id || !*org_id))
        return mf_fail(err, 400, "invalid_request", NULL,
                       "org_id: an operator names the organisation");
    const char *id = org_id && *org_id ? org_id : a->org_id;
    if (!roles_can_access_org(a, id)) return store_not_found(err, "organisation");
    return orgs_get(d, id, org, err);
}

/* An address that is already somebody's login cannot become a contributor: only a
 * contributor of the same organisation (a reconnect after "delete and invite again", R12) is
 * reused. *existing (may be NULL) gets that contributor. */
static int member_check(db *d, const char *org_id, const char *norm, mf_user *existing,
                        int *found, mf_error *err)
{
    mf_user u;
    mf_error sub;
    *found = 0;
    if (users_get_by_email(d, norm, &u, &sub) < 0) {
        if (sub.status == 404) return 0;
        if (err) *err = sub;
        return -1;
    }
    if (u.role == ROLE_CONTRIBUTOR && strcmp(u.org_id, org_id) == 0) {
        *found = 1;
        if (existing) *existing = u;
        return 0;
    }
    return mf_fail(err, 409, "address_is_member", "R14",
                   "%s is the login of a member of mailfleet; a member connects their own "
                   "mailbox with POST /mailboxes (or a mailbox request)",
                   norm);
}

/* R5, R2, R7, R6 through the same pure checks as a direct add (src/core/mailbox_policy): the
 * seat is the shared mailbox's owner, or for a personal invite the contributor-to-be, who has
 * room for exactly this connection (a contributor has no seat limit of their own, R14). */
static int invite_policy(mf_app *app, db *d, const mf_actor *a, const mf_org *org,
                         const mf_user *owner, const char *norm, int shared, mf_error *err)
{
    mf_seat_facts seat = {.user_id = owner ? owner->id : "",
                          .org_id = org->id,
                          .locked = owner ? owner->locked : 0,
                          .used = 0,
                          .limit = 1};
    mf_address_facts e;
    mf_mailbox existing;
    mf_user holder;
    memset(&existing, 0, sizeof(existing));
    if (ops_address_facts(d, norm, &e, &existing, &holder, err) < 0) return -1;
    mf_add_facts f = {.actor = a,
                      .target = seat,
                      .address_norm = norm,
                      .shared = shared,
                      .is_generic = address_is_generic(norm, app->cfg.generic_local_parts,
                                                       app->cfg.generic_count),
                      .allow_generic = org->allow_generic,
                      .existing = e,
                      .permission = 0};
    mf_check checks[MF_CHECK_MAX];
    int n = mailbox_policy_checks(&f, checks);
    int bad = mailbox_policy_first_failure(checks, n);
    int rc = bad >= 0 ? ops_check_error(&checks[bad], &seat, &e, err) : 0;
    mf_mailbox_clear(&existing);
    return rc;
}

/* The shared mailbox's owner: an admin or user of the org (R20). */
static int load_owner(db *d, const char *org_id, const char *owner_id, mf_user *owner,
                      mf_error *err)
{
    mf_error sub;
    memset(&sub, 0, sizeof(sub));
    if (users_get(d, owner_id, owner, &sub) < 0) {
        if (sub.status != 404) {
            if (err) *err = sub;
            return -1;
        }
    } else if (strcmp(owner->org_id, org_id) == 0) {
        if (owner->role == ROLE_ADMIN || owner->role == ROLE_USER) return 0;
        return mf_fail(err, 422, "invalid_request", "R20",
                       "owner_id: a shared mailbox is owned by an admin or a user of the "
                       "organisation");
    }
    return mf_fail(err, 422, "invalid_request", "R20",
                   "owner_id: no admin or user of this organisation has that id");
}

/* ---- the invite email -------------------------------------------------------------------- */

static void add_text_html(strbuf *sb, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\n') strbuf_addstr(sb, "<br>\n");
        else {
            char one[2] = {*p, 0};
            strbuf_add_html(sb, one);
        }
    }
}

/* Queue the invite email with its link (system mail, R14/R28); out_id gets the outbox id. */
static int queue_invite_mail(mf_app *app, db *d, const mf_invite *inv, const char *token,
                             const mf_org *org, const mf_user *inviter, char out_id[MF_ID_LEN],
                             mf_error *err)
{
    char link[INVITE_LINK_MAX];
    if (invite_link(app->cfg.public_url, app->cfg.listen, token, link, sizeof(link)) < 0)
        return mf_fail(err, 500, "bad_config", NULL, "public_url is too long for an invite link");
    const char *who = inviter && inviter->name[0] ? inviter->name : "An administrator";
    int shared = strcmp(inv->kind, "shared") == 0;
    char when[64];
    snprintf(when, sizeof(when), "%.10s %.5s UTC", inv->expires_at, inv->expires_at + 11);

    strbuf text, html;
    strbuf_init(&text, 64 * 1024);
    strbuf_init(&html, 128 * 1024);
    strbuf_addf(&text,
                "Hello,\n\n%s of %s invites you to connect the mailbox %s to mailfleet%s.\n\n", who,
                org->name, inv->address, shared ? " as a shared team mailbox" : "");
    if (inv->note[0]) strbuf_addf(&text, "Note from %s:\n%s\n\n", who, inv->note);
    strbuf_addf(&text,
                "Open this link and enter the mailbox's IMAP and SMTP settings (server, user "
                "name, password):\n\n%s\n\n"
                "The link works once and expires on %s. You do not need an account: the "
                "connection is managed by %s, and you appear as a contributor, with no access "
                "to the application. Ask them to remove it at any time.\n\n"
                "If you did not expect this invitation, ignore this message.\n",
                link, when, org->name);

    strbuf_addstr(&html, "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Hello,</p><p>");
    strbuf_add_html(&html, who);
    strbuf_addstr(&html, " of ");
    strbuf_add_html(&html, org->name);
    strbuf_addstr(&html, " invites you to connect the mailbox <b>");
    strbuf_add_html(&html, inv->address);
    strbuf_addf(&html, "</b> to mailfleet%s.</p>", shared ? " as a shared team mailbox" : "");
    if (inv->note[0]) {
        strbuf_addstr(&html, "<p>Note from ");
        strbuf_add_html(&html, who);
        strbuf_addstr(&html, ":<br>");
        add_text_html(&html, inv->note);
        strbuf_addstr(&html, "</p>");
    }
    strbuf_addstr(&html, "<p><a href=\"");
    strbuf_add_html(&html, link);
    strbuf_addstr(&html, "\">Connect the mailbox</a></p><p>or open ");
    strbuf_add_html(&html, link);
    strbuf_addf(&html, "</p><p>The link works once and expires on %s. You do not need an "
                       "account: the connection is managed by ", when);
    strbuf_add_html(&html, org->name);
    strbuf_addstr(&html, ", and you appear as a contributor, with no access to the "
                         "application.</p><p>If you did not expect this invitation, ignore "
                         "this message.</p></body></html>\n");

    char subject[MF_NAME_MAX + MF_ADDR_MAX + 64];
    snprintf(subject, sizeof(subject), "%s invites you to connect %s", org->name, inv->address);
    char key[MF_ID_LEN + 32];
    snprintf(key, sizeof(key), "invite:%s:%d", inv->id, inv->sent_count);
    system_mail m = {.org_id = inv->org_id, .to = inv->address, .subject = subject,
                     .text = text.buf ? text.buf : "", .html = html.buf ? html.buf : "",
                     .unique_key = key, .created_by = store_nullable(inv->invited_by),
                     .what = "invite"};
    int rc = system_mail_queue(app, d, &m, out_id, err);
    if (rc == 0) rc = invites_set_outbox(d, inv->id, out_id, err);
    strbuf_release(&text);
    strbuf_release(&html);
    return rc;
}

/* A fresh link: token (returned, caller frees with mf_secret_free), its hash, the expiry. */
static char *new_link(mf_app *app, char hash[65], char expires_at[MF_TIME_LEN])
{
    char *token = mf_token_new("inv_");
    mf_token_hash(token, hash);
    mf_time_format(invite_expiry(mf_now(), app->cfg.invite_ttl_days), expires_at);
    return token;
}

/* ---- admin side -------------------------------------------------------------------------- */

int ops_invite_create(mf_app *app, db *d, const mf_actor *a, const mf_invite_input *in,
                      mf_invite *out, mf_error *err)
{
    memset(out, 0, sizeof(*out));
    char norm[MF_ADDR_MAX];
    const char *why;
    if (!in->address || address_normalize(in->address, norm, &why) < 0)
        return mf_fail(err, 400, "invalid_request", NULL, "address: %s",
                       in->address ? why : "is required");
    if (!invite_kind_valid(in->kind))
        return mf_fail(err, 400, "invalid_request", NULL, "kind: must be shared or personal");
    int shared = strcmp(in->kind, "shared") == 0;
    if (in->note && strlen(in->note) > INVITE_NOTE_MAX)
        return mf_fail(err, 400, "invalid_request", NULL, "note: longer than %d bytes",
                       INVITE_NOTE_MAX);
    if (!shared && in->owner_id)
        return mf_fail(err, 400, "invalid_request", NULL,
                       "owner_id: only a shared invite has an owner; a personal mailbox belongs "
                       "to the contributor");
    if (shared && !in->owner_id && a->role == ROLE_OPERATOR)
        return mf_fail(err, 400, "invalid_request", NULL,
                       "owner_id: an operator names the shared mailbox's owner");

    if (db_begin(d, err) < 0) return -1;
    mf_org org;
    mf_user owner, inviter;
    mf_invite pending;
    int have_inviter = 0, found = 0;
    int rc = acting_org(d, a, in->org_id, &org, err);
    if (rc == 0 && a->id[0] && users_get(d, a->id, &inviter, NULL) == 0) have_inviter = 1;
    if (rc == 0 && shared) rc = load_owner(d, org.id, in->owner_id ? in->owner_id : a->id, &owner, err);
    if (rc == 0) rc = member_check(d, org.id, norm, NULL, &found, err);
    if (rc == 0 && invites_find_pending(d, org.id, norm, mf_now(), &pending, NULL) == 0) {
        rc = mf_fail(err, 409, "invite_pending", "R14",
                     "an invite to %s is already pending; resend it with POST "
                     "/invites/%s/resend, or revoke it first",
                     norm, pending.id);
        if (err) snprintf(err->extra, sizeof(err->extra), "{\"invite_id\":\"%s\"}", pending.id);
    }
    if (rc == 0) rc = invite_policy(app, d, a, &org, shared ? &owner : NULL, norm, shared, err);
    char hash[65], *token = NULL;
    if (rc == 0) {
        snprintf(out->org_id, sizeof(out->org_id), "%s", org.id);
        snprintf(out->address, sizeof(out->address), "%s", norm);
        snprintf(out->address_norm, sizeof(out->address_norm), "%s", norm);
        snprintf(out->kind, sizeof(out->kind), "%s", in->kind);
        snprintf(out->note, sizeof(out->note), "%s", in->note ? in->note : "");
        mf_utf8_sanitize(out->note); /* the CLI's argv may be anything */
        snprintf(out->invited_by, sizeof(out->invited_by), "%s", a->id);
        if (shared) snprintf(out->owner_id, sizeof(out->owner_id), "%s", owner.id);
        token = new_link(app, hash, out->expires_at);
        rc = invites_insert(d, out, hash, err);
    }
    if (rc == 0)
        rc = queue_invite_mail(app, d, out, token, &org, have_inviter ? &inviter : NULL,
                               out->outbox_id, err);
    mf_secret_free(&token);
    if (rc == 0)
        rc = ops_audit_json(d, a, org.id, "invite.create", "invite", out->id,
                            json_pack("{s:s,s:s,s:s?}", "address", norm, "kind", in->kind,
                                      "owner_id", shared ? owner.id : NULL));
    if (ops_finish(d, rc, err) < 0) return -1;
    char id[MF_ID_LEN];
    snprintf(id, sizeof(id), "%s", out->id);
    return invites_get(d, id, out, err);
}

int ops_invite_visible(db *d, const mf_actor *a, const char *id, mf_invite *out, mf_error *err)
{
    if (invites_get(d, id, out, err) < 0) return -1;
    if (!roles_can_access_org(a, out->org_id)) return store_not_found(err, "invite");
    if (!roles_is_admin_of(a, out->org_id))
        return mf_fail(err, 403, "forbidden", "R1", "only admins manage invites");
    return 0;
}

int ops_invites_list(db *d, const mf_actor *a, const char *org_id, const char *state,
                     mf_page *pg, void (*each)(const mf_invite *, void *), void *ctx,
                     mf_error *err)
{
    enum invite_state st;
    if (state && invite_state_parse(state, &st) < 0)
        return mf_fail(err, 400, "invalid_request", NULL,
                       "status: must be pending, accepted, revoked or expired");
    if (a->role != ROLE_ADMIN && a->role != ROLE_OPERATOR)
        return mf_fail(err, 403, "forbidden", "R1", "only admins manage invites");
    const char *org = a->role == ROLE_OPERATOR ? (org_id && *org_id ? org_id : NULL) : a->org_id;
    if (a->role != ROLE_OPERATOR && org_id && *org_id && strcmp(org_id, a->org_id) != 0)
        return store_not_found(err, "organisation");
    return invites_list(d, org, state, mf_now(), pg, each, ctx, err);
}

/* The 409 of an admin action on an invite that is no longer open. */
static int closed_invite(const mf_invite *i, int state, mf_error *err)
{
    if (state == INVITE_ACCEPTED)
        return mf_fail(err, 409, "invite_used", "R14",
                       "the invite to %s was accepted: its link was used", i->address);
    return mf_fail(err, 409, "invite_revoked", "R14",
                   "the invite to %s was revoked; create a new one", i->address);
}

int ops_invite_resend(mf_app *app, db *d, const mf_actor *a, const char *id, mf_invite *out,
                      mf_error *err)
{
    if (db_begin(d, err) < 0) return -1;
    mf_org org;
    mf_user owner, inviter;
    int found = 0, have_inviter = 0;
    int rc = ops_invite_visible(d, a, id, out, err);
    int state = rc == 0 ? mf_invite_state(out, mf_now()) : -1;
    int shared = rc == 0 && strcmp(out->kind, "shared") == 0;
    if (rc == 0 && state != INVITE_PENDING && state != INVITE_EXPIRED)
        rc = closed_invite(out, state, err);
    if (rc == 0) rc = orgs_get(d, out->org_id, &org, err);
    if (rc == 0 && shared) rc = load_owner(d, org.id, out->owner_id, &owner, err);
    if (rc == 0) rc = member_check(d, org.id, out->address_norm, NULL, &found, err);
    if (rc == 0) rc = invite_policy(app, d, a, &org, shared ? &owner : NULL, out->address_norm,
                                    shared, err);
    if (rc == 0 && out->invited_by[0] && users_get(d, out->invited_by, &inviter, NULL) == 0)
        have_inviter = 1;
    char hash[65], *token = NULL;
    if (rc == 0) {
        token = new_link(app, hash, out->expires_at);
        rc = invites_renew(d, out->id, hash, out->expires_at, err);
        out->sent_count++;
    }
    if (rc == 0)
        rc = queue_invite_mail(app, d, out, token, &org, have_inviter ? &inviter : NULL,
                               out->outbox_id, err);
    mf_secret_free(&token);
    if (rc == 0)
        rc = ops_audit_json(
            d, a, out->org_id, "invite.resend", "invite", out->id,
            json_pack("{s:s,s:i}", "address", out->address, "sent_count", out->sent_count));
    if (ops_finish(d, rc, err) < 0) return -1;
    return invites_get(d, id, out, err);
}

int ops_invite_revoke(db *d, const mf_actor *a, const char *id, mf_invite *out, mf_error *err)
{
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_invite_visible(d, a, id, out, err);
    int state = rc == 0 ? mf_invite_state(out, mf_now()) : -1;
    if (rc == 0 && state == INVITE_ACCEPTED) rc = closed_invite(out, state, err);
    if (rc == 0 && state != INVITE_REVOKED) {
        int n = invites_revoke(d, out->id, err);
        if (n < 0) rc = -1;
        if (rc == 0)
            rc = ops_audit_json(d, a, out->org_id, "invite.revoke", "invite", out->id,
                                json_pack("{s:s}", "address", out->address));
    }
    if (ops_finish(d, rc, err) < 0) return -1;
    return invites_get(d, id, out, err);
}

/* ---- the invitee's link ------------------------------------------------------------------ */

static int link_state_error(int state, mf_error *err)
{
    return mf_fail(err, 410, invite_link_error(state), "R14", "%s", invite_link_error_text(state));
}

int ops_invite_open(db *d, const char *token, mf_invite *out, mf_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!invite_token_shape_ok(token)) return store_not_found(err, "invitation link");
    char hash[65];
    mf_token_hash(token, hash);
    if (invites_get_by_token_hash(d, hash, out, err) < 0) return -1;
    int state = mf_invite_state(out, mf_now());
    if (state != INVITE_PENDING) return link_state_error(state, err);
    return 0;
}

/* The settings JSON the API validated → a server to test; strings point into *j. */
static int parse_server(const char *json, json_t **j, conn_test_server *s)
{
    *j = json ? json_loads(json, 0, NULL) : NULL;
    int port = 0;
    if (!*j || json_unpack(*j, "{s:s,s:i,s:s,s:s,s:s}", "host", &s->host, "port", &port,
                           "security", &s->security, "username", &s->username, "password",
                           &s->password) != 0 ||
        port < 1 || port > 65535)
        return -1;
    s->port = (uint16_t)port;
    return 0;
}

static void free_settings(json_t **j)
{
    if (!*j) return;
    json_t *pw = json_object_get(*j, "password");
    if (json_is_string(pw)) { /* zero the password's copy before jansson frees it */
        char *p = (char *)json_string_value(pw);
        memset(p, 0, strlen(p));
    }
    json_decref(*j);
    *j = NULL;
}

static void result_json(json_t *o, const char *key, const conn_test_result *r)
{
    char reason[121];
    snprintf(reason, sizeof(reason), "%.120s", r->reason);
    mf_utf8_sanitize(reason);
    json_object_set_new(o, key,
                        r->ok ? json_pack("{s:b}", "ok", 1)
                              : json_pack("{s:b,s:s,s:s}", "ok", 0, "failure",
                                          conn_test_failure_name(r->failure), "reason", reason));
}

int ops_invite_accept(mf_app *app, db *d, const char *token, const mf_connect_input *in,
                      mf_connect_report *rep, mf_mailbox *out, char contributor_id[MF_ID_LEN],
                      mf_error *err)
{
    memset(rep, 0, sizeof(*rep));
    memset(out, 0, sizeof(*out));
    contributor_id[0] = '\0';
    mf_invite inv;
    if (ops_invite_open(d, token, &inv, err) < 0) return -1;

    /* the real connection test, outside any transaction (it takes seconds) */
    json_t *ij = NULL, *sj = NULL;
    conn_test_server is, ss;
    memset(&is, 0, sizeof(is));
    memset(&ss, 0, sizeof(ss));
    if (parse_server(in->imap_json, &ij, &is) < 0 || parse_server(in->smtp_json, &sj, &ss) < 0) {
        free_settings(&ij);
        free_settings(&sj);
        return mf_fail(err, 400, "invalid_request", NULL, "imap, smtp: settings are incomplete");
    }
    unsigned timeout = (unsigned)app->cfg.imap_timeout_seconds;
    if (timeout > 20) timeout = 20;
    conn_test_imap(&is, app->cfg.ca_file, timeout, &rep->imap);
    conn_test_smtp(&ss, app->cfg.ca_file, timeout, &rep->smtp);
    rep->tested = 1;
    free_settings(&ij);
    free_settings(&sj);
    if (!rep->imap.ok || !rep->smtp.ok) {
        mf_fail(err, 422, "connection_failed", "R11",
                "the connection test failed; nothing was connected. IMAP: %.150s. SMTP: %.150s",
                rep->imap.ok ? "ok" : rep->imap.reason, rep->smtp.ok ? "ok" : rep->smtp.reason);
        json_t *x = json_object();
        result_json(x, "imap", &rep->imap);
        result_json(x, "smtp", &rep->smtp);
        char *xs = json_dumps(x, JSON_COMPACT);
        if (err && xs && strlen(xs) < sizeof(err->extra))
            snprintf(err->extra, sizeof(err->extra), "%s", xs);
        free(xs);
        json_decref(x);
        return -1;
    }

    if (db_begin(d, err) < 0) return -1;
    mf_org org;
    mf_user owner, contributor;
    memset(&contributor, 0, sizeof(contributor));
    int found = 0, shared = strcmp(inv.kind, "shared") == 0;
    time_t now = mf_now();
    /* the link may have been used, revoked or renewed while the test ran */
    int rc = invites_get(d, inv.id, &inv, err);
    int state = rc == 0 ? mf_invite_state(&inv, now) : -1;
    if (rc == 0 && state != INVITE_PENDING) rc = link_state_error(state, err);
    if (rc == 0) {
        char hash[65];
        mf_token_hash(token, hash);
        mf_invite again;
        if (invites_get_by_token_hash(d, hash, &again, NULL) < 0 || strcmp(again.id, inv.id))
            rc = store_not_found(err, "invitation link");
    }
    if (rc == 0) {
        int n = invites_accept(d, inv.id, NULL, NULL, now, err);
        if (n < 0) rc = -1;
        else if (n == 0) rc = link_state_error(INVITE_ACCEPTED, err);
    }
    if (rc == 0) rc = orgs_get(d, inv.org_id, &org, err);
    /* the inviter's rights stand for the checks (R5, R7): an admin of the org */
    mf_actor inviter = {.role = ROLE_ADMIN, .locked = 0};
    snprintf(inviter.id, sizeof(inviter.id), "%s", inv.invited_by);
    snprintf(inviter.org_id, sizeof(inviter.org_id), "%s", inv.org_id);
    if (rc == 0 && shared) {
        if (!inv.owner_id[0])
            rc = mf_fail(err, 409, "invite_owner_gone", "R20",
                         "the shared mailbox's owner no longer exists; ask for a new invitation");
        else
            rc = load_owner(d, org.id, inv.owner_id, &owner, err);
    }
    if (rc == 0) rc = member_check(d, org.id, inv.address_norm, &contributor, &found, err);
    if (rc == 0)
        rc = invite_policy(app, d, &inviter, &org, shared ? &owner : NULL, inv.address_norm,
                           shared, err);
    mf_actor actor; /* the contributor acts for the audit */
    memset(&actor, 0, sizeof(actor));
    if (rc == 0 && !found) {
        snprintf(contributor.org_id, sizeof(contributor.org_id), "%s", org.id);
        snprintf(contributor.email, sizeof(contributor.email), "%s", inv.address_norm);
        if (in->sender_name && *in->sender_name)
            snprintf(contributor.name, sizeof(contributor.name), "%s", in->sender_name);
        else
            invite_default_name(inv.address_norm, contributor.name, sizeof(contributor.name));
        contributor.role = ROLE_CONTRIBUTOR;
        contributor.mailbox_limit = LIMIT_UNSET;
        rc = users_insert(d, &contributor, err);
        ops_actor_from_user(&contributor, &actor);
        if (rc == 0)
            rc = ops_audit_json(
                d, &actor, org.id, "contributor.create", "user", contributor.id,
                json_pack("{s:s,s:s}", "email", contributor.email, "invite_id", inv.id));
    }
    if (rc == 0) {
        ops_actor_from_user(&contributor, &actor);
        const char *sender = in->sender_name && *in->sender_name ? in->sender_name
                                                                  : contributor.name;
        rc = ops_mailbox_insert_in_tx(app, d, &actor, shared ? &owner : &contributor, &org,
                                      inv.address_norm, inv.kind, sender, NULL, LIMIT_UNSET,
                                      in->imap_json, in->smtp_json, out, err);
    }
    if (rc == 0)
        rc = db_exec(d, err, "UPDATE invites SET contributor_id = ?, mailbox_id = ? WHERE id = ?",
                     contributor.id, out->id, inv.id, DB_END) < 0
                 ? -1
                 : 0;
    if (rc == 0)
        rc = ops_audit_json(d, &actor, org.id, "invite.accept", "invite", inv.id,
                            json_pack("{s:s,s:s,s:s,s:s}", "address", inv.address_norm, "kind",
                                      inv.kind, "mailbox_id", out->id, "contributor_id",
                                      contributor.id));
    if (rc == 0 && inv.invited_by[0]) { /* R28: the inviting admin hears of it */
        json_t *nd = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "invite_id", inv.id, "address",
                               inv.address_norm, "kind", inv.kind, "mailbox_id", out->id,
                               "contributor_id", contributor.id, "contributor_name",
                               contributor.name);
        char *nj = json_dumps(nd, JSON_COMPACT);
        rc = notifications_add(d, inv.invited_by, "invite_accepted", nj, err);
        free(nj);
        json_decref(nd);
    }
    char mailbox_id[MF_ID_LEN];
    snprintf(mailbox_id, sizeof(mailbox_id), "%s", out->id);
    mf_mailbox_clear(out);
    if (ops_finish(d, rc, err) < 0) return -1;
    snprintf(contributor_id, MF_ID_LEN, "%s", contributor.id);
    return mailboxes_get(d, mailbox_id, out, err);
}

/* ---- contributors ------------------------------------------------------------------------ */

int ops_contributor_visible(db *d, const mf_actor *a, const char *id, mf_user *out,
                            mf_error *err)
{
    if (users_get(d, id, out, err) < 0) return -1;
    if (out->role != ROLE_CONTRIBUTOR || !roles_can_access_org(a, out->org_id))
        return store_not_found(err, "contributor");
    if (!roles_is_admin_of(a, out->org_id))
        return mf_fail(err, 403, "forbidden", "R1", "only admins manage contributors");
    return 0;
}

int ops_contributors_list(db *d, const mf_actor *a, const char *org_id, mf_page *pg,
                          void (*each)(const mf_user *, void *), void *ctx, mf_error *err)
{
    if (a->role != ROLE_ADMIN && a->role != ROLE_OPERATOR)
        return mf_fail(err, 403, "forbidden", "R1", "only admins manage contributors");
    if (a->role != ROLE_OPERATOR && org_id && *org_id && strcmp(org_id, a->org_id) != 0)
        return store_not_found(err, "organisation");
    const char *org = a->role == ROLE_OPERATOR ? (org_id && *org_id ? org_id : NULL) : a->org_id;
    return contributors_list(d, org, pg, each, ctx, err);
}

int ops_contributor_rename(db *d, const mf_actor *a, const char *id, const char *name,
                           mf_user *out, mf_error *err)
{
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_contributor_visible(d, a, id, out, err);
    if (rc == 0) rc = contributors_set_name(d, id, name, err);
    if (rc == 0)
        rc = ops_audit_json(d, a, out->org_id, "contributor.update", "user", id,
                            json_pack("{s:s}", "name", name));
    if (ops_finish(d, rc, err) < 0) return -1;
    return users_get(d, id, out, err);
}

typedef struct owned_ctx {
    mf_contributor_mailbox *items;
    int n;
    const char *owner;
} owned_ctx;

static void collect_owned(const mf_contributor_mailbox *m, void *arg)
{
    owned_ctx *c = arg;
    if (strcmp(m->owner_id, c->owner) != 0) return; /* shared ones stay with their owner */
    c->items = xrealloc(c->items, (size_t)(c->n + 1) * sizeof(*c->items));
    c->items[c->n++] = *m;
}

int ops_contributor_delete(db *d, const mf_actor *a, const char *id, int confirm,
                           mf_error *err)
{
    if (db_begin(d, err) < 0) return -1;
    mf_user u;
    owned_ctx owned = {.owner = id};
    int rc = ops_contributor_visible(d, a, id, &u, err);
    if (rc == 0 && contributor_mailboxes(d, id, collect_owned, &owned, err) < 0) rc = -1;
    if (rc == 0 && owned.n > 0 && !confirm)
        rc = mf_fail(err, 428, "confirmation_required", "R9",
                     "%s owns %d connected mailbox%s (first: %s); removing the contributor "
                     "deletes them with their synced messages, conversations and send log for "
                     "good; repeat with ?confirm=true",
                     u.email, owned.n, owned.n == 1 ? "" : "es", owned.items[0].address);
    for (int i = 0; rc == 0 && i < owned.n; i++) {
        mf_mailbox m;
        memset(&m, 0, sizeof(m));
        rc = mailboxes_get(d, owned.items[i].id, &m, err);
        if (rc == 0) rc = ops_mailbox_remove_in_tx(d, a, &m, "mailbox_removed", NULL, 0, err);
        mf_mailbox_clear(&m);
    }
    if (rc == 0 && contributors_delete(d, id, err) < 0) {
        if (err && err->status == 409) /* still referenced (e.g. prospects given to them) */
            mf_fail(err, 409, "contributor_in_use", "R14",
                    "%s is still referenced (prospects or sequences); reassign them first",
                    u.email);
        rc = -1;
    }
    if (rc == 0)
        rc = ops_audit_json(d, a, u.org_id, "contributor.delete", "user", id,
                            json_pack("{s:s,s:i}", "email", u.email, "mailboxes_deleted", owned.n));
    free(owned.items);
    return ops_finish(d, rc, err);
}
