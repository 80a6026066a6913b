/* h_connect.c — the invitee's public connect page (R14), outside /api/v1 and without an
 * account: GET /connect/{token} shows a small self-contained HTML form (IMAP and SMTP settings,
 * sender name); POST /connect/{token} takes that form (application/x-www-form-urlencoded) or
 * the JSON body of POST /api/v1/invites/{token}/accept, runs the real connection test, and
 * answers with the result: the connected mailbox, or the form again with what failed. A link
 * that is unknown (404), used, revoked or expired (410 invite_used | invite_revoked |
 * invite_expired) says so and does nothing. Passwords are never written into a page. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <microhttpd.h>
#include "api/form_in.h"
#include "api/h_invites.h"
#include "core/invite.h"
#include "util/strbuf.h"

#define PAGE_MAX (256 * 1024)

static const char *style =
    "body{font-family:system-ui,sans-serif;max-width:38em;margin:2em auto;padding:0 1em;"
    "line-height:1.4;color:#222}h1{font-size:1.5em}fieldset{margin:1em 0;border:1px solid #ccc;"
    "border-radius:4px}label{display:block;margin:.5em 0}input,select{display:block;width:100%;"
    "box-sizing:border-box;padding:.35em;margin-top:.15em}button{padding:.5em 1.2em;"
    "font-size:1em}.err{background:#fdecea;border:1px solid #c62828;padding:.6em;border-radius:"
    "4px}.ok{background:#e8f5e9;border:1px solid #2e7d32;padding:.6em;border-radius:4px}"
    ".code{font-family:monospace;color:#666}small{color:#555}";

static void page_start(strbuf *sb, const char *title)
{
    strbuf_addstr(sb, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width\">"
                      "<meta name=\"robots\" content=\"noindex\"><title>");
    strbuf_add_html(sb, title);
    strbuf_addf(sb, "</title><style>%s</style></head><body><h1>", style);
    strbuf_add_html(sb, title);
    strbuf_addstr(sb, "</h1>");
}

static int page_end(api_req *r, strbuf *sb, int status)
{
    strbuf_addstr(sb, "<p><small>mailfleet</small></p></body></html>\n");
    if (sb->len == 0) return mf_fail_internal(&r->err, "page too large");
    return api_text(r, status, "text/html; charset=utf-8", strbuf_detach(sb, NULL));
}

/* A page for a link that does not work (404 unknown, 410 used/revoked/expired). */
static int link_error_page(api_req *r, const mf_invite *inv)
{
    strbuf sb;
    strbuf_init(&sb, PAGE_MAX);
    if (r->err.status == 404) {
        page_start(&sb, "Invitation link not valid");
        strbuf_addstr(&sb, "<p class=\"err\">This invitation link is not valid: it may have been "
                           "replaced by a newer invitation, or mistyped. Nothing was "
                           "connected.</p><p class=\"code\">not_found</p>");
        return page_end(r, &sb, 404);
    }
    enum invite_state st = INVITE_PENDING;
    const char *code = r->err.code;
    for (int s = INVITE_ACCEPTED; s <= INVITE_EXPIRED; s++)
        if (invite_link_error(s) && strcmp(invite_link_error(s), code) == 0) st = (enum invite_state)s;
    page_start(&sb, st == INVITE_ACCEPTED  ? "Invitation already used"
                    : st == INVITE_REVOKED ? "Invitation withdrawn"
                                           : "Invitation expired");
    strbuf_addstr(&sb, "<p class=\"err\">");
    strbuf_add_html(&sb, invite_link_error_text(st));
    strbuf_addstr(&sb, "</p>");
    if (inv && inv->address[0]) {
        strbuf_addstr(&sb, "<p>Mailbox: ");
        strbuf_add_html(&sb, inv->address);
        strbuf_addstr(&sb, "</p>");
    }
    strbuf_addstr(&sb, "<p class=\"code\">");
    strbuf_add_html(&sb, code);
    strbuf_addstr(&sb, "</p>");
    return page_end(r, &sb, 410);
}

/* The value a form field had (for re-display); "" when none. */
static const char *field(json_t *form, const char *name, const char *dflt)
{
    const char *v = json_string_value(json_object_get(form, name));
    return v ? v : dflt;
}

static void input(strbuf *sb, const char *label, const char *type, const char *name,
                  const char *value, const char *extra)
{
    strbuf_addf(sb, "<label>%s <input type=\"%s\" name=\"%s\" value=\"", label, type, name);
    strbuf_add_html(sb, value);
    strbuf_addf(sb, "\" %s></label>", extra);
}

static void security_select(strbuf *sb, const char *name, const char *value)
{
    static const char *vals[] = {"tls", "starttls", "none"};
    static const char *labels[] = {"TLS (implicit, e.g. IMAP 993, SMTP 465)",
                                   "STARTTLS (e.g. IMAP 143, SMTP 587)",
                                   "None (servers on this machine only)"};
    strbuf_addf(sb, "<label>Security <select name=\"%s\">", name);
    for (int i = 0; i < 3; i++)
        strbuf_addf(sb, "<option value=\"%s\"%s>%s</option>", vals[i],
                    strcmp(value, vals[i]) == 0 ? " selected" : "", labels[i]);
    strbuf_addstr(sb, "</select></label>");
}

static void server_fieldset(strbuf *sb, json_t *form, const char *p, const char *legend,
                            const char *port, const char *security, const char *address)
{
    char name[32], extra[128];
    strbuf_addf(sb, "<fieldset><legend>%s</legend>", legend);
    snprintf(name, sizeof(name), "%s_host", p);
    snprintf(extra, sizeof(extra), "required autocomplete=\"off\" placeholder=\"%s.example.com\"",
             p);
    input(sb, "Server", "text", name, field(form, name, ""), extra);
    snprintf(name, sizeof(name), "%s_port", p);
    input(sb, "Port", "text", name, field(form, name, port), "required inputmode=\"numeric\"");
    snprintf(name, sizeof(name), "%s_security", p);
    security_select(sb, name, field(form, name, security));
    snprintf(name, sizeof(name), "%s_username", p);
    input(sb, "User name", "text", name, field(form, name, address),
          "required autocomplete=\"username\"");
    snprintf(name, sizeof(name), "%s_password", p);
    input(sb, "Password (or app password)", "password", name, "",
          "required autocomplete=\"current-password\"");
    strbuf_addstr(sb, "</fieldset>");
}

static void result_line(strbuf *sb, const char *what, const conn_test_result *res)
{
    strbuf_addf(sb, "<li>%s: %s", what, res->ok ? "works" : "failed — ");
    if (!res->ok) strbuf_add_html(sb, res->reason);
    strbuf_addstr(sb, "</li>");
}

/* The form, with an error box (problem may be NULL) and the test results (rep may be NULL). */
static int form_page(api_req *r, const mf_invite *inv, json_t *form, int status,
                     const char *problem, const mf_connect_report *rep)
{
    strbuf sb;
    strbuf_init(&sb, PAGE_MAX);
    char title[MF_ADDR_MAX + 16];
    snprintf(title, sizeof(title), "Connect %s", inv->address);
    page_start(&sb, title);
    mf_org org;
    int have_org = orgs_get(r->d, inv->org_id, &org, NULL) == 0;
    strbuf_addstr(&sb, "<p>");
    strbuf_add_html(&sb, have_org ? org.name : "An organisation");
    strbuf_addstr(&sb, " invites you to connect <b>");
    strbuf_add_html(&sb, inv->address);
    strbuf_addf(&sb, "</b>%s to mailfleet. You need no account: enter the mailbox's IMAP "
                     "(incoming) and SMTP (outgoing) settings. They are tested before anything "
                     "is connected, and the passwords are stored encrypted and never shown "
                     "again. This link works once and expires on %.10s %.5s UTC.</p>",
                strcmp(inv->kind, "shared") == 0 ? " as a shared team mailbox" : "",
                inv->expires_at, inv->expires_at + 11);
    if (problem) {
        strbuf_addstr(&sb, "<div class=\"err\"><p>");
        strbuf_add_html(&sb, problem);
        strbuf_addstr(&sb, "</p>");
        if (rep && rep->tested) {
            strbuf_addstr(&sb, "<ul>");
            result_line(&sb, "IMAP login", &rep->imap);
            result_line(&sb, "SMTP authentication", &rep->smtp);
            strbuf_addstr(&sb, "</ul>");
        }
        strbuf_addstr(&sb, "</div>");
    }
    strbuf_addstr(&sb, "<form method=\"post\">"); /* posts back to this very URL */
    server_fieldset(&sb, form, "imap", "Incoming mail (IMAP)", "993", "tls", inv->address);
    server_fieldset(&sb, form, "smtp", "Outgoing mail (SMTP)", "587", "starttls", inv->address);
    input(&sb, "Sender name (shown in From; optional)", "text", "sender_name",
          field(form, "sender_name", ""), "autocomplete=\"name\"");
    strbuf_addstr(&sb, "<p><button type=\"submit\">Test and connect</button></p></form>");
    return page_end(r, &sb, status);
}

int h_connect_page(api_req *r)
{
    mf_invite inv;
    if (ops_invite_open(r->d, r->params[0], &inv, &r->err) < 0) {
        if (r->err.status == 404 || r->err.status == 410) return link_error_page(r, &inv);
        return -1;
    }
    return form_page(r, &inv, NULL, 200, NULL, NULL);
}

/* Form fields → the JSON body of the accept route. */
static json_t *form_to_body(json_t *form)
{
    json_t *b = json_object();
    static const char *servers[] = {"imap", "smtp"};
    static const char *keys[] = {"host", "port", "security", "username", "password"};
    for (int s = 0; s < 2; s++) {
        json_t *o = json_object();
        for (int k = 0; k < 5; k++) {
            char name[32];
            snprintf(name, sizeof(name), "%s_%s", servers[s], keys[k]);
            const char *v = json_string_value(json_object_get(form, name));
            if (!v || (!*v && k != 4)) continue; /* empty → missing ("is required") */
            if (k == 1) { /* the port as a number when it is one */
                char *end;
                long n = strtol(v, &end, 10);
                if (*v && !*end && n >= 0 && n <= 65535 && strlen(v) <= 5) {
                    json_object_set_new(o, keys[k], json_integer(n));
                    continue;
                }
            }
            json_object_set_new(o, keys[k], json_string(v));
        }
        json_object_set_new(b, servers[s], o);
    }
    const char *sn = json_string_value(json_object_get(form, "sender_name"));
    if (sn && *sn) json_object_set_new(b, "sender_name", json_string(sn));
    return b;
}

static void wipe_form(json_t *form)
{
    static const char *keys[] = {"imap_password", "smtp_password"};
    for (int k = 0; k < 2; k++) {
        json_t *pw = json_object_get(form, keys[k]);
        if (json_is_string(pw)) {
            char *p = (char *)json_string_value(pw);
            memset(p, 0, strlen(p));
        }
    }
}

static int is_json(api_req *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    return ct && strncasecmp(ct, "application/json", 16) == 0;
}

int h_connect_post(api_req *r)
{
    if (is_json(r)) return h_invite_accept(r); /* the JSON route's answers, same semantics */
    mf_invite inv;
    if (ops_invite_open(r->d, r->params[0], &inv, &r->err) < 0) {
        if (r->err.status == 404 || r->err.status == 410) return link_error_page(r, &inv);
        return -1;
    }
    json_t *form = NULL;
    if (form_parse(r->body, r->body_len, &form, &r->err) < 0)
        return form_page(r, &inv, NULL, 400, r->err.message, NULL);
    json_t *b = form_to_body(form);
    mf_connect_report rep;
    mf_mailbox m;
    char cid[MF_ID_LEN];
    memset(&m, 0, sizeof(m));
    int rc = invite_accept_body(r, b, &rep, &m, cid);
    invite_body_wipe(b);
    json_decref(b);
    if (rc < 0) {
        int st = r->err.status;
        if (st == 404 || st == 410) rc = link_error_page(r, &inv);
        else if (st == 400 || st == 422 || st == 409)
            rc = form_page(r, &inv, form, st, r->err.message, &rep);
        wipe_form(form);
        json_decref(form);
        return rc;
    }
    wipe_form(form);
    json_decref(form);
    strbuf sb;
    strbuf_init(&sb, PAGE_MAX);
    page_start(&sb, "Mailbox connected");
    strbuf_addstr(&sb, "<p class=\"ok\"><b>");
    strbuf_add_html(&sb, m.address);
    strbuf_addf(&sb, "</b> is connected. mailfleet is importing the last %d days of its mail "
                     "now; new mail follows within a minute.</p><p>You appear as a contributor: "
                     "you have no access to the application, and the organisation that invited "
                     "you can remove the connection at any time. You can close this page.</p>"
                     "<p class=\"code\">mailbox ",
                r->app->cfg.backfill_days);
    strbuf_add_html(&sb, m.id);
    strbuf_addstr(&sb, "</p>");
    mf_mailbox_clear(&m);
    return page_end(r, &sb, 201);
}

/* The same page frame for the other public pages (h_login_invites.c: /welcome/{token}). */
void public_page_start(strbuf *sb, const char *title)
{
    page_start(sb, title);
}

int public_page_end(api_req *r, strbuf *sb, int status)
{
    return page_end(r, sb, status);
}
