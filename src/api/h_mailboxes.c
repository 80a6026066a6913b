/* h_mailboxes.c — /mailboxes and /master-inbox: add (R3, R5–R7), list, read, change (R15,
 * R17), delete (R9), make default (R16), master inbox (R19). Credentials go in, never out
 * (R29). */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "api/json_out.h"
#include "core/limits.h"
#include "core/sendday.h"

/* Validate {host, port, security, username, password} and give back its compact JSON text
 * (caller frees with mf_secret_free). */
int api_read_server(api_req *r, json_t *b, const char *key, int required, char **out)
{
    *out = NULL;
    json_t *o = json_object_get(b, key);
    if (!o || json_is_null(o)) return required ? api_bad(r, key, "is required") : 0;
    if (!json_is_object(o)) return api_bad(r, key, "expected an object {host, port, security, username, password}");
    const char *host, *security, *username, *password;
    int port;
    if (jin_str(r, o, "host", 1, 253, &host) < 0) goto bad;
    if (jin_int(r, o, "port", 1, 1, 65535, &port, NULL) < 0) goto bad;
    if (jin_str(r, o, "security", 1, 16, &security) < 0) goto bad;
    if (strcmp(security, "tls") && strcmp(security, "starttls") && strcmp(security, "none")) {
        api_bad(r, "security", "must be tls, starttls or none");
        goto bad;
    }
    if (jin_str(r, o, "username", 1, 320, &username) < 0) goto bad;
    if (jin_str(r, o, "password", 1, 4096, &password) < 0) goto bad;
    for (const char *c = host; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == '/' || *c == '@') {
            api_bad(r, "host", "is not a host name or address");
            goto bad;
        }
    }
    json_t *clean = json_pack("{s:s,s:i,s:s,s:s,s:s}", "host", host, "port", port, "security",
                              security, "username", username, "password", password);
    *out = json_dumps(clean, JSON_COMPACT);
    json_decref(clean);
    return 0;
bad:
    /* name the nested field: "imap.port: ..." */
    mf_error_prefix(&r->err, "%s.", key);
    return -1;
}

int h_mailboxes_create(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_mailbox_input in = {.daily_limit = LIMIT_UNSET};
    char *imap = NULL, *smtp = NULL;
    int rc = jin_str(r, b, "owner_id", 1, MF_ID_LEN - 1, &in.owner_id);
    if (rc == 0) rc = jin_str(r, b, "address", 1, 1000, &in.address);
    if (rc == 0) rc = jin_str(r, b, "kind", 0, 16, &in.kind);
    if (rc == 0) rc = jin_str(r, b, "sender_name", 0, MF_NAME_MAX - 1, &in.sender_name);
    if (rc == 0) rc = jin_str(r, b, "signature", 0, 64 * 1024, &in.signature);
    if (rc == 0) rc = jin_int(r, b, "daily_limit", 0, 1, 1000000, &in.daily_limit, NULL);
    if (rc == 0) rc = api_read_server(r, b, "imap", 1, &imap);
    if (rc == 0) rc = api_read_server(r, b, "smtp", 1, &smtp);
    in.imap_json = imap;
    in.smtp_json = smtp;
    mf_mailbox m;
    memset(&m, 0, sizeof(m));
    if (rc == 0) rc = ops_mailbox_add(r->app, r->d, &r->actor, &in, &m, &r->err);
    mf_secret_free(&imap);
    mf_secret_free(&smtp);
    json_decref(b);
    if (rc < 0) return -1;
    app_wake_engine(r->app);
    api_ok(r, 201, render_mailbox(&m));
    mf_mailbox_clear(&m);
    return 0;
}

typedef struct list_ctx {
    strbuf sb;
    int n;
} list_ctx;

static void write_one(const mf_mailbox *m, void *arg)
{
    list_ctx *lc = arg;
    if (lc->n++) strbuf_add(&lc->sb, ",", 1);
    write_mailbox(&lc->sb, m);
}

int h_mailboxes_list(api_req *r)
{
    mf_mailbox_filter f = {.org_id = r->actor.org_id,
                           .owner_id = api_query(r, "owner_id"),
                           .status = api_query(r, "status")};
    if (r->actor.role == ROLE_OPERATOR) f.org_id = api_query(r, "org_id");
    /* ?member=me: the caller's own mailboxes and the shared ones they are a member of (R20) */
    const char *member = api_query(r, "member");
    if (member) {
        if (strcmp(member, "me") != 0) return api_bad(r, "member", "must be me");
        f.member_id = r->actor.id;
    }
    if (r->actor.role == ROLE_USER) {
        if (f.owner_id && strcmp(f.owner_id, r->actor.id) != 0)
            return mf_fail(&r->err, 403, "forbidden", "R1", "users list their own mailboxes");
        if (!f.member_id) f.owner_id = r->actor.id;
    }
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    /* The hot route (docs/benchmarks.md): answers are kept per thread while the database does
     * not change (resp_cache.h); the key names the caller and everything the query uses. */
    strbuf key;
    strbuf_init(&key, 4096);
    const char *parts[] = {r->actor.id, f.org_id, f.owner_id, f.member_id, f.status, pg.cursor};
    strbuf_addf(&key, "GET /mailboxes %d", pg.limit);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        strbuf_add(&key, parts[i] ? "|=" : "|-", 2); /* NULL and "" differ */
        if (parts[i]) strbuf_addstr(&key, parts[i]);
    }
    if (api_from_cache(r, key.buf)) {
        strbuf_release(&key);
        return 0;
    }
    /* written as text, row by row */
    list_ctx lc;
    strbuf_init(&lc.sb, 64u << 20);
    lc.n = 0;
    strbuf_addstr(&lc.sb, "{\"items\":[");
    if (mailboxes_list(r->d, f, &pg, write_one, &lc, &r->err) < 0) {
        strbuf_release(&lc.sb);
        strbuf_release(&key);
        return -1;
    }
    strbuf_addstr(&lc.sb, "],\"next_cursor\":");
    if (pg.more) jw_string(&lc.sb, pg.last_id);
    else strbuf_addstr(&lc.sb, "null");
    strbuf_addstr(&lc.sb, "}");
    size_t len;
    char *text = strbuf_detach(&lc.sb, &len);
    api_json_cacheable(r, key.buf, text, len);
    strbuf_release(&key);
    return 0;
}

int h_mailboxes_get(api_req *r)
{
    mf_mailbox m; /* members of a shared mailbox read it too (R20) */
    if (ops_mailbox_readable(r->d, &r->actor, r->params[0], &m, &r->err) < 0) return -1;
    api_ok(r, 200, render_mailbox(&m));
    mf_mailbox_clear(&m);
    return 0;
}

int h_mailboxes_patch(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_mailbox_patch p = {.daily_limit = LIMIT_UNSET, .min_gap_seconds = -1};
    char *imap = NULL, *smtp = NULL;
    int rc = jin_str(r, b, "sender_name", 0, MF_NAME_MAX - 1, &p.sender_name);
    if (rc == 0) rc = jin_str(r, b, "signature", 0, 64 * 1024, &p.signature);
    if (rc == 0) rc = jin_int(r, b, "daily_limit", 0, 1, 1000000, &p.daily_limit, NULL);
    if (rc == 0) rc = jin_str(r, b, "time_zone", 0, 100, &p.time_zone);
    if (rc == 0 && p.time_zone && !app_zone_known(p.time_zone))
        rc = api_bad(r, "time_zone", "is not a time zone name such as Europe/Paris");
    if (rc == 0) rc = jin_int(r, b, "min_gap_seconds", 0, 0, 86400, &p.min_gap_seconds, NULL);
    if (rc == 0)
        rc = jin_int(r, b, "smtp_connections", 0, 1, MF_SMTP_CONNECTIONS_MAX,
                     &p.smtp_connections, NULL);
    if (rc == 0) rc = api_read_server(r, b, "imap", 0, &imap);
    if (rc == 0) rc = api_read_server(r, b, "smtp", 0, &smtp);
    p.imap_json = imap;
    p.smtp_json = smtp;
    mf_mailbox m;
    memset(&m, 0, sizeof(m));
    if (rc == 0) rc = ops_mailbox_update(r->app, r->d, &r->actor, r->params[0], &p, &m, &r->err);
    mf_secret_free(&imap);
    mf_secret_free(&smtp);
    json_decref(b);
    if (rc < 0) return -1;
    if (p.imap_json || p.smtp_json) app_wake_engine(r->app);
    api_ok(r, 200, render_mailbox(&m));
    mf_mailbox_clear(&m);
    return 0;
}

int h_mailboxes_delete(api_req *r)
{
    const char *c = api_query(r, "confirm");
    int confirm = c && strcmp(c, "true") == 0;
    if (ops_mailbox_delete(r->d, &r->actor, r->params[0], confirm, &r->err) < 0) return -1;
    app_wake_engine(r->app);
    return api_no_content(r);
}

int h_mailboxes_default(api_req *r)
{
    mf_mailbox m;
    if (ops_mailbox_make_default(r->d, &r->actor, r->params[0], &m, &r->err) < 0) return -1;
    api_ok(r, 200, render_mailbox(&m));
    mf_mailbox_clear(&m);
    return 0;
}

int h_master_inbox_put(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    char **ids = NULL;
    int n = 0;
    const char *master = NULL;
    int rc = jin_ids(r, b, "mailbox_ids", 500, &ids, &n);
    if (rc == 0) {
        json_t *mv = json_object_get(b, "master_id");
        if (!mv) rc = api_bad(r, "master_id", "is required (an id, or null to clear)");
        else if (!json_is_null(mv) && (!json_is_string(mv) || !mf_id_valid(json_string_value(mv))))
            rc = api_bad(r, "master_id", "expected an id or null");
        else if (!json_is_null(mv)) master = json_string_value(mv);
    }
    if (rc == 0) rc = ops_master_inbox_set(r->d, &r->actor, ids, n, master, &r->err);
    json_t *items = json_array();
    for (int i = 0; rc == 0 && i < n; i++) {
        mf_mailbox m;
        memset(&m, 0, sizeof(m));
        rc = mailboxes_get(r->d, ids[i], &m, &r->err);
        if (rc == 0) json_array_append_new(items, render_mailbox(&m));
        mf_mailbox_clear(&m);
    }
    free(ids);
    json_decref(b);
    if (rc < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, json_pack("{s:o}", "items", items));
}
