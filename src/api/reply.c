/* reply.c — answers: success bodies, the error object of API.md, lists with cursors, and the
 * JSON shape of each resource (never credentials, R29). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/json_out.h"
#include "api/resp_cache.h"
#include "util/strbuf.h"
#include "api/api.h"
#include "core/limits.h"

int api_ok(api_req *r, int status, json_t *body)
{
    r->status = status;
    json_decref(r->resp);
    r->resp = body;
    return 0;
}

int api_text(api_req *r, int status, const char *type, char *text)
{
    r->status = status;
    json_decref(r->resp);
    r->resp = NULL;
    free(r->resp_text);
    r->resp_text = text;
    r->resp_type = type;
    return 0;
}

int api_from_cache(api_req *r, const char *key)
{
    if (!r->version_ok) return 0;
    resp_body *b = resp_cache_get(key, r->version);
    if (!b) return 0;
    resp_body_unref(r->cached);
    r->cached = b;
    r->status = 200;
    return 1;
}

int api_json_cacheable(api_req *r, const char *key, char *text, size_t len)
{
    resp_body *b = resp_body_new(text, len);
    if (r->version_ok) resp_cache_put(key, r->version, b);
    resp_body_unref(r->cached);
    r->cached = b;
    r->status = 200;
    json_decref(r->resp);
    r->resp = NULL;
    return 0;
}

int api_no_content(api_req *r)
{
    return api_ok(r, 204, NULL);
}

int api_fail_from(api_req *r, const mf_error *e)
{
    int status = e->status ? e->status : 500;
    /* Messages may quote input (a path, a parser's complaint): keep the JSON valid UTF-8. */
    char message[sizeof(e->message)];
    snprintf(message, sizeof(message), "%s",
             status >= 500 && !e->message[0] ? "internal error" : e->message);
    mf_utf8_sanitize(message);
    json_t *err = json_pack("{s:s,s:s}", "code", e->code[0] ? e->code : "internal", "message",
                            message);
    if (!err) err = json_pack("{s:s,s:s}", "code", "internal", "message", "unprintable error");
    if (e->rule[0]) json_object_set_new(err, "rule", json_string(e->rule));
    if (e->extra[0]) {
        json_t *x = json_loads(e->extra, 0, NULL);
        if (json_is_object(x)) json_object_update(err, x);
        json_decref(x);
    }
    r->status = status;
    json_decref(r->resp);
    r->resp = json_pack("{s:o}", "error", err);
    return -1;
}

json_t *api_list(json_t *items, const mf_page *pg)
{
    return json_pack("{s:o,s:o}", "items", items, "next_cursor",
                     pg->more ? json_string(pg->last_id) : json_null());
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *limit_or_null(int v)
{
    return v == LIMIT_UNSET ? json_null() : json_integer(v);
}

static json_t *raw_json(const char *text, const char *fallback)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    return j ? j : json_loads(fallback, 0, NULL);
}

json_t *render_org(const mf_org *o)
{
    return json_pack("{s:s,s:s,s:o,s:b,s:b,s:i,s:s}", "id", o->id, "name", o->name,
                     "mailbox_limit", limit_or_null(o->mailbox_limit), "allow_generic",
                     o->allow_generic, "admin_self_approve", o->admin_self_approve,
                     "max_daily_limit", o->max_daily_limit, "created_at", o->created_at);
}

json_t *render_user(const mf_user *u)
{
    return json_pack("{s:s,s:o,s:s,s:s,s:s,s:s,s:o,s:s}", "id", u->id, "org_id",
                     str_or_null(u->org_id), "email", u->email, "name", u->name, "role",
                     mf_role_name(u->role), "seat", u->locked ? "locked" : "active",
                     "mailbox_limit", limit_or_null(u->mailbox_limit), "created_at",
                     u->created_at);
}

/* The one shape of a mailbox (API.md; never credentials, R29), written as JSON text. */
void write_mailbox(strbuf *sb, const mf_mailbox *m)
{
    int f = 1;
    strbuf_add(sb, "{", 1);
    jw_kv_str(sb, &f, "id", m->id);
    jw_kv_str(sb, &f, "org_id", m->org_id);
    jw_kv_str(sb, &f, "owner_id", m->owner_id);
    jw_kv_str(sb, &f, "address", m->address);
    jw_kv_str(sb, &f, "kind", m->kind);
    jw_kv_str(sb, &f, "status", m->status);
    jw_kv_str_or_null(sb, &f, "status_reason", m->status_reason);
    jw_kv_str(sb, &f, "status_since", m->status_since);
    jw_kv_bool(sb, &f, "is_default", m->is_default);
    jw_kv_str(sb, &f, "sender_name", m->sender_name);
    jw_kv_str(sb, &f, "signature", m->signature ? m->signature : "");
    jw_kv_int(sb, &f, "daily_limit", m->daily_limit);
    jw_kv_int(sb, &f, "sent_today", m->sent_today);
    jw_kv_str_or_null(sb, &f, "master_id", m->master_id);
    jw_kv_str(sb, &f, "created_at", m->created_at);
    jw_kv_str(sb, &f, "time_zone", m->time_zone[0] ? m->time_zone : "UTC");
    jw_kv_int(sb, &f, "min_gap_seconds", m->min_gap_seconds);
    jw_kv_int(sb, &f, "smtp_connections", m->smtp_connections > 0 ? m->smtp_connections : 1);
    jw_key(sb, &f, "sync");
    int g = 1;
    strbuf_add(sb, "{", 1);
    jw_kv_int(sb, &g, "messages_imported", m->messages_imported);
    jw_kv_bool(sb, &g, "backfill_done", m->backfill_done);
    jw_kv_str_or_null(sb, &g, "last_sync_at", m->last_sync_at);
    strbuf_add(sb, "}}", 2);
}

json_t *render_mailbox(const mf_mailbox *m)
{
    strbuf sb;
    strbuf_init(&sb, 1 << 20);
    write_mailbox(&sb, m);
    json_t *j = json_loadb(sb.buf, sb.len, 0, NULL);
    strbuf_release(&sb);
    return j ? j : json_object();
}

json_t *render_slot(const mf_slot *s)
{
    return json_pack("{s:s,s:s,s:o,s:s,s:s,s:s,s:o,s:o}", "id", s->id, "org_id", s->org_id,
                     "user_id", str_or_null(s->user_id), "state", s->state, "purchased_at",
                     s->purchased_at, "renews_at", s->renews_at, "cancelled_at",
                     str_or_null(s->cancelled_at), "ends_at", str_or_null(s->ends_at));
}

/* The shape of render_request as JSON text; checks_json is copied as it is, so only for checks
 * this process has just made (render_request parses stored ones). */
void write_request(strbuf *sb, const mf_request *q)
{
    int f = 1;
    strbuf_add(sb, "{", 1);
    jw_kv_str(sb, &f, "id", q->id);
    jw_kv_str(sb, &f, "org_id", q->org_id);
    jw_kv_str(sb, &f, "kind", q->kind);
    jw_kv_str(sb, &f, "address", q->address);
    jw_kv_str(sb, &f, "target_user_id", q->target_user_id);
    jw_kv_str(sb, &f, "requester_id", q->requester_id);
    jw_kv_bool(sb, &f, "remove_from_other_seat", q->remove_from_other_seat);
    jw_kv_str(sb, &f, "status", q->status);
    jw_key(sb, &f, "checks");
    strbuf_addstr(sb, q->checks_json ? q->checks_json : "[]");
    jw_kv_str_or_null(sb, &f, "reason", q->reason);
    jw_kv_str_or_null(sb, &f, "decided_by", q->decided_by);
    jw_kv_str_or_null(sb, &f, "decided_at", q->decided_at);
    jw_kv_str_or_null(sb, &f, "mailbox_id", q->mailbox_id);
    jw_kv_str_or_null(sb, &f, "continuity_tag", q->continuity_tag);
    jw_kv_str(sb, &f, "created_at", q->created_at);
    strbuf_add(sb, "}", 1);
}

json_t *render_request(const mf_request *q)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "id", q->id,
                     "org_id", q->org_id, "kind", q->kind, "address", q->address,
                     "target_user_id", q->target_user_id, "requester_id", q->requester_id,
                     "remove_from_other_seat", q->remove_from_other_seat, "status", q->status,
                     "checks", raw_json(q->checks_json, "[]"), "reason", str_or_null(q->reason),
                     "decided_by", str_or_null(q->decided_by), "decided_at",
                     str_or_null(q->decided_at), "mailbox_id", str_or_null(q->mailbox_id),
                     "continuity_tag", str_or_null(q->continuity_tag), "created_at",
                     q->created_at);
}

json_t *render_prospect(const mf_prospect *p)
{
    return json_pack("{s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:s}", "id", p->id, "owner_id",
                     p->owner_id, "mailbox_id", str_or_null(p->mailbox_id), "email", p->email,
                     "first_name", str_or_null(p->first_name), "last_name",
                     str_or_null(p->last_name), "company", str_or_null(p->company), "fields",
                     raw_json(p->fields_json, "{}"), "tags", raw_json(p->tags_json, "[]"),
                     "state", p->state, "pause_reason", str_or_null(p->pause_reason),
                     "created_at", p->created_at);
}

json_t *render_connections(const mf_user *u, const mf_connections *c)
{
    char display[32];
    limits_display(c->used, c->available, display, sizeof(display));
    return json_pack("{s:s,s:s,s:i,s:i,s:s,s:i,s:i}", "user_id", u->id, "email", u->email, "used",
                     c->used, "available", c->available, "display", display, "base", c->base,
                     "assigned_slots", c->slots);
}

#define COLLECTOR(name, type, render)                                                              \
    void name(const type *x, void *ctx)                                                            \
    {                                                                                              \
        json_array_append_new((json_t *)ctx, render(x));                                           \
    }
COLLECTOR(collect_org, mf_org, render_org)
COLLECTOR(collect_user, mf_user, render_user)
COLLECTOR(collect_mailbox, mf_mailbox, render_mailbox)
COLLECTOR(collect_slot, mf_slot, render_slot)
COLLECTOR(collect_request, mf_request, render_request)
COLLECTOR(collect_prospect, mf_prospect, render_prospect)
