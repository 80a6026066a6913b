/* h_login_invites.c — login invites: the admin route, the member's JSON accept route, the
 * public welcome page, and the org directory; see h_login_invites.h. The link travels by
 * email only: answers carry the invite's id and expiry, never its token. Passwords are never
 * written into a page or an answer, and are wiped from the parsed bodies. */
#include <string.h>
#include <strings.h>
#include <microhttpd.h>
#include "api/form_in.h"
#include "api/h_invites.h"
#include "api/h_login_invites.h"
#include "core/invite.h"
#include "core/login_invite.h"
#include "util/strbuf.h"

#define PAGE_MAX (64 * 1024)

json_t *render_login_invite(const mf_login_invite *i)
{
    return json_pack("{s:s,s:s,s:s}", "id", i->id, "user_id", i->user_id, "expires_at",
                     i->expires_at);
}

int h_login_invite_create(api_req *r)
{
    mf_login_invite inv;
    if (ops_login_invite_create(r->app, r->d, &r->actor, r->params[0], &inv, NULL, &r->err) < 0)
        return -1;
    app_wake_engine(r->app); /* the email is in the outbox */
    return api_ok(r, 201, render_login_invite(&inv));
}

/* Zero a string field of a parsed body before jansson frees it. */
static void wipe_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v)) {
        char *p = (char *)json_string_value(v);
        memset(p, 0, strlen(p));
    }
}

int h_login_invite_accept(api_req *r)
{
    mf_login_invite inv;
    mf_user u;
    /* an unknown, used, revoked or expired link answers before the body is looked at */
    if (ops_login_invite_open(r->d, r->params[0], &inv, &u, &r->err) < 0) return -1;
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    const char *pw = NULL;
    int rc = jin_str(r, b, "password", 1, LOGIN_PASSWORD_MAX + 1, &pw);
    if (rc == 0) rc = ops_login_invite_accept(r->d, r->params[0], pw, &u, &r->err);
    wipe_field(b, "password");
    json_decref(b);
    if (rc < 0) return -1;
    return api_ok(r, 200, json_pack("{s:s,s:s,s:s}", "user_id", u.id, "email", u.email,
                                    "sign_in", "/"));
}

/* ---- the welcome page -------------------------------------------------------------------- */

static int link_error_page(api_req *r)
{
    strbuf sb;
    strbuf_init(&sb, PAGE_MAX);
    if (r->err.status == 404) {
        public_page_start(&sb, "Link not valid");
        strbuf_addstr(&sb, "<p class=\"err\">This link is not valid: it may be mistyped, or "
                           "from an old email. Nothing was changed.</p>"
                           "<p class=\"code\">not_found</p>");
        return public_page_end(r, &sb, 404);
    }
    if (r->err.status != 410) return -1;
    int st = INVITE_EXPIRED;
    for (int s = INVITE_ACCEPTED; s <= INVITE_EXPIRED; s++)
        if (strcmp(login_invite_link_error(s), r->err.code) == 0) st = s;
    public_page_start(&sb, st == INVITE_ACCEPTED  ? "Link already used"
                           : st == INVITE_REVOKED ? "Link replaced or withdrawn"
                                                  : "Link expired");
    strbuf_addstr(&sb, "<p class=\"err\">");
    strbuf_add_html(&sb, login_invite_link_error_text(st));
    strbuf_addstr(&sb, " Nothing was changed.</p><p><a href=\"/\">Go to the sign-in page</a></p>"
                       "<p class=\"code\">");
    strbuf_add_html(&sb, r->err.code);
    strbuf_addstr(&sb, "</p>");
    return public_page_end(r, &sb, 410);
}

static int form_page(api_req *r, const mf_login_invite *inv, const mf_user *u, int status,
                     const char *problem)
{
    strbuf sb;
    strbuf_init(&sb, PAGE_MAX);
    public_page_start(&sb, "Welcome to mailfleet");
    mf_org org;
    int have_org = orgs_get(r->d, u->org_id, &org, NULL) == 0;
    strbuf_addstr(&sb, "<p>Hello ");
    strbuf_add_html(&sb, u->name);
    strbuf_addstr(&sb, ", you have been added to <b>");
    strbuf_add_html(&sb, have_org ? org.name : "your organisation");
    strbuf_addstr(&sb, "</b> on mailfleet. Choose the password you will sign in with, together "
                       "with your email address <b>");
    strbuf_add_html(&sb, u->email);
    strbuf_addf(&sb, "</b>. This link works once and expires on %.10s %.5s UTC.</p>",
                inv->expires_at, inv->expires_at + 11);
    if (problem) {
        strbuf_addstr(&sb, "<p class=\"err\" role=\"alert\">");
        strbuf_add_html(&sb, problem);
        strbuf_addstr(&sb, "</p>");
    }
    /* posts back to this very URL; a hidden username helps password managers */
    strbuf_addstr(&sb, "<form method=\"post\"><input type=\"hidden\" name=\"username\" "
                       "autocomplete=\"username\" value=\"");
    strbuf_add_html(&sb, u->email);
    strbuf_addf(&sb, "\"><label>New password <input type=\"password\" name=\"password\" "
                     "required minlength=\"%d\" autocomplete=\"new-password\"></label>"
                     "<small>At least %d characters.</small>"
                     "<label>Confirm the password <input type=\"password\" name=\"confirm\" "
                     "required minlength=\"%d\" autocomplete=\"new-password\"></label>"
                     "<p><button type=\"submit\">Set password</button></p></form>",
                LOGIN_PASSWORD_MIN, LOGIN_PASSWORD_MIN, LOGIN_PASSWORD_MIN);
    return public_page_end(r, &sb, status);
}

int h_welcome_page(api_req *r)
{
    mf_login_invite inv;
    mf_user u;
    if (ops_login_invite_open(r->d, r->params[0], &inv, &u, &r->err) < 0)
        return link_error_page(r);
    return form_page(r, &inv, &u, 200, NULL);
}

static int is_json(api_req *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    return ct && strncasecmp(ct, "application/json", 16) == 0;
}

int h_welcome_post(api_req *r)
{
    if (is_json(r)) return h_login_invite_accept(r); /* the JSON route's answers */
    mf_login_invite inv;
    mf_user u;
    if (ops_login_invite_open(r->d, r->params[0], &inv, &u, &r->err) < 0)
        return link_error_page(r);
    json_t *form = NULL;
    if (form_parse(r->body, r->body_len, &form, &r->err) < 0)
        return form_page(r, &inv, &u, 400, "The form could not be read; please try again.");
    const char *pw = json_string_value(json_object_get(form, "password"));
    const char *confirm = json_string_value(json_object_get(form, "confirm"));
    const char *why = NULL;
    int rc = 0;
    if (login_password_check(pw, &why) < 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "The password %s. Nothing was changed.", why);
        rc = form_page(r, &inv, &u, 400, msg);
    } else if (!confirm || strcmp(pw, confirm) != 0) {
        rc = form_page(r, &inv, &u, 400,
                       "The two passwords differ. Type the same password twice.");
    } else if (ops_login_invite_accept(r->d, r->params[0], pw, &u, &r->err) < 0) {
        int st = r->err.status;
        if (st == 404 || st == 410) rc = link_error_page(r);
        else if (st == 400 || st == 409) rc = form_page(r, &inv, &u, st, r->err.message);
        else rc = -1;
    } else {
        /* set: on to the console's sign-in (303: the browser GETs it) */
        strbuf sb;
        strbuf_init(&sb, PAGE_MAX);
        public_page_start(&sb, "Password set");
        strbuf_addstr(&sb, "<p class=\"ok\">Your password is set. <a href=\"/\">Sign in to "
                           "mailfleet</a> with ");
        strbuf_add_html(&sb, u.email);
        strbuf_addstr(&sb, " and that password.</p>");
        r->resp_location = "/";
        rc = public_page_end(r, &sb, 303);
    }
    wipe_field(form, "password");
    wipe_field(form, "confirm");
    json_decref(form);
    return rc;
}

/* ---- the directory ----------------------------------------------------------------------- */

static void collect_directory(const mf_user *u, void *ctx)
{
    if ((u->role != ROLE_ADMIN && u->role != ROLE_USER) || u->locked) return;
    json_array_append_new((json_t *)ctx, json_pack("{s:s,s:s,s:s}", "id", u->id, "name",
                                                   u->name, "email", u->email));
}

int h_directory(api_req *r)
{
    const char *org = api_query(r, "org_id");
    if (r->actor.role == ROLE_OPERATOR) {
        if (!org || !*org) return api_bad(r, "org_id", "is required for operators");
    } else {
        if (!roles_has_app_access(&r->actor))
            return mf_fail(&r->err, 403, "forbidden", "R14", "contributors have no directory");
        if (org && *org && strcmp(org, r->actor.org_id) != 0)
            return mf_fail(&r->err, 403, "forbidden", "R1",
                           "the directory shows your own organisation only");
        org = r->actor.org_id;
    }
    json_t *items = json_array();
    char cursor[MF_ID_LEN] = "";
    mf_page pg = {.cursor = cursor, .limit = 500};
    int rc = 0;
    do { /* the whole organisation in one answer (pickers need every name) */
        pg.more = 0;
        if (users_list(r->d, org, &pg, collect_directory, items, &r->err) < 0) rc = -1;
        snprintf(cursor, sizeof(cursor), "%s", pg.last_id);
    } while (rc == 0 && pg.more);
    if (rc < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, json_pack("{s:o}", "items", items));
}
