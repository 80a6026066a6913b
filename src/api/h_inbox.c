/* h_inbox.c — reading synced mail: GET /inbox (the unified inbox across the caller's
 * mailboxes and the shared ones they are a member of (R20), newest first, with the
 * assignment filters of R21), GET /conversations/{id} (with its messages), and
 * GET /mailboxes/{id}/events (new messages, long-polling). R13, R22, R23. */
#include <string.h>
#include <time.h>
#include "api/api.h"
#include "core/classify.h"
#include "store/conversations.h"

static json_t *nullable(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *render_conversation(const mf_conversation *c)
{
    /* R21: the typing mark shows while it runs */
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    int taken = c->taken_by[0] && c->taken_until[0] && strcmp(c->taken_until, now) > 0;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:o,s:s,s:o,s:s}", "id", c->id,
                          "mailbox_id", c->mailbox_id, "subject", c->subject, "last_message_at",
                          c->last_message_at, "message_count", (json_int_t)c->message_count,
                          "unread_count", (json_int_t)c->unread_count, "classification",
                          c->classification, "assignee_id", nullable(c->assignee_id), "status",
                          c->status[0] ? c->status : "open", "taken_by",
                          taken ? json_string(c->taken_by) : json_null(), "created_at",
                          c->created_at);
    json_object_set_new(o, "assigned_at", nullable(c->assigned_at));
    json_object_set_new(o, "taken_until", taken ? json_string(c->taken_until) : json_null());
    return o;
}

static json_t *render_message(const mf_message_row *m)
{
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:o,s:o,s:{s:s,s:s},s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:b}", "id",
        m->id, "mailbox_id", m->mailbox_id, "conversation_id", m->conversation_id, "message_id",
        nullable(m->message_id), "in_reply_to", nullable(m->in_reply_to), "from", "address",
        m->from_addr, "name", m->from_name, "to", m->to_addrs, "cc", m->cc_addrs, "subject",
        m->subject, "date", m->date, "direction", m->direction, "folder", m->folder,
        "classification", m->classification, "snippet", m->snippet, "size", (json_int_t)m->size,
        "outbound_id", nullable(m->outbound_id), "outbound_message_id",
        nullable(m->outbound_message_id), "unread", m->unread);
    json_object_set_new(o, "classification_reason", json_string(m->classification_reason));
    if (m->bounce_kind[0])
        json_object_set_new(o, "bounce",
                            json_pack("{s:s,s:o,s:o}", "kind", m->bounce_kind, "status",
                                      nullable(m->bounce_status), "recipient",
                                      nullable(m->bounce_recipient)));
    if (m->return_date[0]) json_object_set_new(o, "return_date", json_string(m->return_date));
    if (m->body_text) json_object_set_new(o, "text", json_string(m->body_text));
    return o;
}

static void collect_conversation(const mf_conversation *c, void *ctx)
{
    json_array_append_new((json_t *)ctx, render_conversation(c));
}

static void collect_message(const mf_message_row *m, void *ctx)
{
    json_array_append_new((json_t *)ctx, render_message(m));
}

int h_inbox(api_req *r)
{
    mf_inbox_filter f = {0};
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    f.limit = pg.limit;
    f.mailbox_id = api_query(r, "mailbox_id");
    f.classification = api_query(r, "classification");
    const char *unread = api_query(r, "unread");
    f.unread_only = unread && strcmp(unread, "true") == 0;
    classify_kind k;
    if (f.classification && classify_kind_parse(f.classification, &k) < 0)
        return api_bad(r, "classification", "must be human, reply, auto_reply or bounce");
    /* R21: ?status=, ?assignee=me|none|<user id>, ?assignee_id=<user id>, ?unassigned=true */
    f.status = api_query(r, "status");
    if (f.status && !team_status_valid(f.status))
        return api_bad(r, "status", "must be open, pending or closed");
    const char *assignee = api_query(r, "assignee");
    if (assignee) {
        if (strcmp(assignee, "me") == 0) f.assignee_id = r->actor.id;
        else if (strcmp(assignee, "none") == 0) f.unassigned = 1;
        else if (mf_id_valid(assignee)) f.assignee_id = assignee;
        else return api_bad(r, "assignee", "must be me, none or a user id");
    }
    const char *assignee_id = api_query(r, "assignee_id");
    if (assignee_id) {
        if (!mf_id_valid(assignee_id)) return api_bad(r, "assignee_id", "must be a user id");
        if (f.assignee_id && strcmp(f.assignee_id, assignee_id) != 0)
            return api_bad(r, "assignee_id", "names another user than assignee");
        f.assignee_id = assignee_id;
    }
    const char *unassigned = api_query(r, "unassigned");
    if (unassigned && strcmp(unassigned, "true") == 0) f.unassigned = 1;
    if (f.unassigned && f.assignee_id)
        return api_bad(r, "unassigned", "cannot be combined with an assignee");
    mf_user u; /* f.member_id may point into it */
    if (f.mailbox_id) {
        mf_mailbox m;
        if (!mf_id_valid(f.mailbox_id)) return store_not_found(&r->err, "mailbox");
        if (ops_mailbox_readable(r->d, &r->actor, f.mailbox_id, &m, &r->err) < 0) return -1;
        mf_mailbox_clear(&m);
    } else {
        /* the caller's own mailboxes and the shared ones they are a member of (R20); admins
         * may look at a member's with ?owner_id= */
        const char *owner = api_query(r, "owner_id");
        f.member_id = r->actor.id;
        if (owner && strcmp(owner, r->actor.id) != 0) {
            if (!mf_id_valid(owner) || ops_user_visible(r->d, &r->actor, owner, &u, &r->err) < 0)
                return store_not_found(&r->err, "user");
            if (!roles_is_admin_of(&r->actor, u.org_id))
                return mf_fail(&r->err, 403, "forbidden", "R1",
                               "only admins read another member's inbox");
            f.member_id = u.id;
        }
    }
    mf_conversation after;
    if (pg.cursor) {
        if (conversations_get(r->d, pg.cursor, &after, &r->err) < 0)
            return api_bad(r, "cursor", "is not a cursor this API gave");
        f.after_time = after.last_message_at;
        f.after_id = after.id;
    }
    json_t *items = json_array();
    int more = 0;
    int n = conversations_list(r->d, &f, &more, collect_conversation, items, &r->err);
    if (n < 0) {
        json_decref(items);
        return -1;
    }
    json_t *last = n > 0 ? json_array_get(items, (size_t)n - 1) : NULL;
    return api_ok(r, 200,
                  json_pack("{s:o,s:o}", "items", items, "next_cursor",
                            more && last ? json_copy(json_object_get(last, "id")) : json_null()));
}

int h_conversations_get(api_req *r)
{
    mf_conversation c;
    if (ops_conversation_readable(r->d, &r->actor, r->params[0], &c, &r->err) < 0) return -1;
    json_t *out = render_conversation(&c);
    json_t *msgs = json_array();
    if (conversation_messages(r->d, c.id, collect_message, msgs, &r->err) < 0) {
        json_decref(msgs);
        json_decref(out);
        return -1;
    }
    json_object_set_new(out, "messages", msgs);
    return api_ok(r, 200, out);
}

int h_mailbox_events(api_req *r)
{
    mf_mailbox m;
    if (ops_mailbox_readable(r->d, &r->actor, r->params[0], &m, &r->err) < 0) return -1;
    mf_mailbox_clear(&m);
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    int wait = 0;
    const char *w = api_query(r, "wait");
    if (w) {
        char *end;
        long v = strtol(w, &end, 10);
        if (*end || end == w || v < 0 || v > 25)
            return api_bad(r, "wait", "seconds to wait for new mail, 0 to 25");
        wait = (int)v;
    }
    const char *after = pg.cursor ? pg.cursor : "";
    /* A waiting long-poll holds an HTTP thread: at most half of them may wait, the others
     * answer at once, so the API never stalls behind long-polls. */
    int waiting = 0;
    if (wait > 0) {
        int now_waiting = __atomic_add_fetch(&r->app->long_polls, 1, __ATOMIC_SEQ_CST);
        waiting = 1;
        if (now_waiting > r->app->cfg.http_threads / 2) wait = 0;
    }
    time_t deadline = time(NULL) + wait;
    json_t *items = json_array();
    for (;;) {
        uint64_t seq = app_mail_seq(r->app);
        if (messages_since(r->d, r->params[0], after, pg.limit, collect_message, items, &r->err) < 0) {
            if (waiting) __atomic_sub_fetch(&r->app->long_polls, 1, __ATOMIC_SEQ_CST);
            json_decref(items);
            return -1;
        }
        time_t now = time(NULL);
        if (json_array_size(items) > 0 || now >= deadline) break;
        /* long-poll: woken by the engine of this process; a second's poll catches a worker's */
        int ms = (int)(deadline - now) * 1000;
        app_wait_mail(r->app, seq, ms < 1000 ? ms : 1000);
    }
    if (waiting) __atomic_sub_fetch(&r->app->long_polls, 1, __ATOMIC_SEQ_CST);
    size_t n = json_array_size(items);
    const char *next = n ? json_string_value(json_object_get(json_array_get(items, n - 1), "id"))
                         : after;
    json_t *cursor = next && *next ? json_string(next) : json_null();
    return api_ok(r, 200, json_pack("{s:o,s:o}", "items", items, "next_cursor", cursor));
}
