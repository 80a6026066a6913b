/* h_messages.c — POST /messages (one-off compose, R18) and GET /messages/{id} (its outbox
 * state: queued | sending | sent | failed | unknown, R26). */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "api/batch.h"
#include "store/outbox.h"

/* An array of 0..max address strings (required: at least one). */
static int read_addrs(api_req *r, json_t *b, const char *key, int required, const char ***out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    json_t *v = json_object_get(b, key);
    if (!v || json_is_null(v)) return required ? api_bad(r, key, "is required") : 0;
    if (!json_is_array(v)) return api_bad(r, key, "expected an array of addresses");
    size_t len = json_array_size(v);
    if ((required && len == 0) || len > 100) return api_bad(r, key, "give 1 to 100 addresses");
    const char **list = xcalloc(len + 1, sizeof(*list));
    for (size_t i = 0; i < len; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        char norm[MF_ADDR_MAX];
        const char *why;
        if (!s || address_normalize(s, norm, &why) < 0) {
            free(list);
            return api_bad(r, key, "item %zu is not an address%s%s", i, s ? ": " : "",
                           s ? why : "");
        }
        list[i] = s;
    }
    *out = list;
    *n = len;
    return 0;
}

typedef struct queue_job {
    const mf_message_prepared *p;
    char *id;
} queue_job;

static int queue_write(api_req *r, void *arg)
{
    queue_job *j = arg;
    return ops_message_queue(r->d, &r->actor, j->p, j->id, &r->err);
}

int h_messages_send(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_message_input in = {0};
    const char **to = NULL, **cc = NULL;
    int rc = jin_str(r, b, "from_mailbox_id", 1, MF_ID_LEN - 1, &in.from_mailbox_id);
    if (rc == 0 && !mf_id_valid(in.from_mailbox_id)) rc = store_not_found(&r->err, "mailbox");
    if (rc == 0) rc = read_addrs(r, b, "to", 1, &to, &in.n_to);
    if (rc == 0) rc = read_addrs(r, b, "cc", 0, &cc, &in.n_cc);
    if (rc == 0) rc = jin_str(r, b, "subject", 1, 998, &in.subject);
    if (rc == 0) rc = jin_str(r, b, "text", 1, 2 * 1024 * 1024, &in.text);
    if (rc == 0) rc = jin_str(r, b, "html", 0, 4 * 1024 * 1024, &in.html);
    if (rc == 0)
        rc = jin_str(r, b, "in_reply_to_conversation_id", 0, MF_ID_LEN - 1,
                     &in.in_reply_to_conversation_id);
    if (rc == 0 && in.in_reply_to_conversation_id && !mf_id_valid(in.in_reply_to_conversation_id))
        rc = store_not_found(&r->err, "conversation");
    if (rc == 0) rc = jin_bool(r, b, "force", &in.force, NULL); /* R21 collision override */
    in.to = to;
    in.cc = cc;
    char id[MF_ID_LEN];
    mf_message_prepared *p = NULL;
    if (rc == 0) rc = ops_message_prepare(r->app, r->d, &r->actor, &in, &p, &r->err);
    /* the checks and the compose run here; the writes join the next group commit */
    queue_job job = {.p = p, .id = id};
    if (rc == 0) rc = r->batch ? batch_call(r->batch, r, queue_write, &job) : queue_write(r, &job);
    ops_message_prepared_free(&p);
    free(to);
    free(cc);
    json_decref(b);
    if (rc < 0) return -1;
    app_wake_outbox(r->app);
    return api_ok(r, 202, json_pack("{s:s,s:s}", "id", id, "status", "queued"));
}

int h_messages_get(api_req *r)
{
    mf_outbox_row o;
    if (outbox_get(r->d, r->params[0], &o, &r->err) < 0) return -1;
    int ok = roles_can_access_org(&r->actor, o.org_id) &&
             (strcmp(o.created_by, r->actor.id) == 0 || roles_is_admin_of(&r->actor, o.org_id));
    if (!ok && o.mailbox_id[0] && roles_can_access_org(&r->actor, o.org_id)) {
        /* the sending mailbox's owner sees its mail, sequence steps included */
        mf_mailbox m;
        memset(&m, 0, sizeof(m));
        if (mailboxes_get(r->d, o.mailbox_id, &m, NULL) == 0)
            ok = strcmp(m.owner_id, r->actor.id) == 0;
        mf_mailbox_clear(&m);
    }
    if (!ok) {
        mf_outbox_row_clear(&o);
        return store_not_found(&r->err, "message");
    }
    json_t *out = json_pack("{s:s,s:s,s:s,s:o,s:s,s:i,s:s,s:o}", "id", o.id, "status", o.status,
                            "message_id", o.message_id, "from_mailbox_id",
                            o.mailbox_id[0] ? json_string(o.mailbox_id) : json_null(), "kind",
                            o.kind, "attempts", o.attempts, "created_at", o.created_at,
                            "sent_at", o.sent_at[0] ? json_string(o.sent_at) : json_null());
    json_object_set_new(out, "to", json_loads(o.rcpts_json, 0, NULL));
    if (o.error && *o.error) json_object_set_new(out, "error", json_string(o.error));
    if (o.conversation_id[0])
        json_object_set_new(out, "conversation_id", json_string(o.conversation_id));
    json_t *rec = o.recipients_json && *o.recipients_json ? json_loads(o.recipients_json, 0, NULL)
                                                          : NULL;
    if (rec) json_object_set_new(out, "recipients", rec);
    mf_outbox_row_clear(&o);
    return api_ok(r, 200, out);
}
