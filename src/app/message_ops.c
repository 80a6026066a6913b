/* message_ops.c — one-off compose (R18): check the caller may send from the mailbox, build the
 * message (src/mail/compose: From with the sender name R17, Reply-To the master inbox R19,
 * signature, our tracking id in References R22, threading for replies), honour the
 * suppression list (R25), and queue it in the durable outbox (R26). The engine sends it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "app/ops.h"
#include "mail/compose.h"
#include "store/conversations.h"
#include "store/outbox.h"
#include "util/log.h"

/* The newest message of a conversation with a Message-ID: the one a reply answers. */
typedef struct parent_ctx {
    char *message_id;
    char conversation_id[MF_ID_LEN];
} parent_ctx;

/* The parent's References (space-separated ids), to carry the thread (RFC 5322 3.6.4). */
static char *parent_references(db *d, const char *conversation_id, const char *message_id)
{
    db_stmt *st = db_prepare(d, "SELECT references_ids FROM messages WHERE conversation_id = ? "
                                "AND message_id = ? LIMIT 1", NULL);
    if (!st) return NULL;
    db_bind_text(st, 1, conversation_id);
    db_bind_text(st, 2, message_id);
    char *refs = db_step(st) == DB_ROW ? store_dup(st, 0, "") : NULL;
    db_finalize(&st);
    return refs;
}

static void pick_parent(const mf_message_row *m, void *arg)
{
    parent_ctx *p = arg;
    if (!m->message_id || !*m->message_id) return;
    free(p->message_id);
    p->message_id = xstrdup(m->message_id);
}

static int suppressed(db *d, const char *org_id, const char *addr, mf_error *err)
{
    char norm[MF_ADDR_MAX];
    if (address_normalize(addr, norm, NULL) < 0) return 0;
    db_stmt *st = db_prepare(d, "SELECT 1 FROM suppressions WHERE org_id = ? AND address_norm = ?",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, org_id);
    db_bind_text(st, 2, norm);
    int rc = db_step(st);
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

struct mf_message_prepared {
    char tracking[MF_ID_LEN]; /* the outbox id */
    char org_id[MF_ID_LEN], mailbox_id[MF_ID_LEN], conversation_id[MF_ID_LEN];
    char *address; /* the sending mailbox */
    char *rcpts_json;
    size_t n_rcpts;
    compose_message *msg;
};

void ops_message_prepared_free(mf_message_prepared **pp)
{
    if (!pp || !*pp) return;
    mf_message_prepared *p = *pp;
    free(p->address);
    free(p->rcpts_json);
    compose_message_free(&p->msg);
    free(p);
    *pp = NULL;
}

int ops_message_queue(db *d, const mf_actor *a, const mf_message_prepared *p,
                      char out_id[MF_ID_LEN], mf_error *err)
{
    mf_outbox_new o = {.id = p->tracking,
                       .org_id = p->org_id,
                       .mailbox_id = p->mailbox_id,
                       .kind = "one_off",
                       .mail_from = p->address,
                       .rcpts_json = p->rcpts_json,
                       .raw = p->msg->data,
                       .copy_json = p->msg->copy,
                       .message_id = p->msg->message_id,
                       .conversation_id = p->conversation_id[0] ? p->conversation_id : NULL,
                       .created_by = a->id};
    int created = 0;
    int rc = db_begin(d, err);
    if (rc == 0) rc = outbox_enqueue(d, &o, out_id, &created, err);
    if (rc == 0) {
        json_t *j = json_pack("{s:s,s:s,s:I}", "from", p->address, "message_id",
                              p->msg->message_id, "recipients", (json_int_t)p->n_rcpts);
        char *dj = json_dumps(j, JSON_COMPACT);
        rc = ops_audit(d, a, p->org_id, "message.queue", "message", out_id, dj);
        free(dj);
        json_decref(j);
    }
    return ops_finish(d, rc, err);
}

int ops_message_send(mf_app *app, db *d, const mf_actor *a, const mf_message_input *in,
                     char out_id[MF_ID_LEN], mf_error *err)
{
    mf_message_prepared *p = NULL;
    int rc = ops_message_prepare(app, d, a, in, &p, err);
    if (rc == 0) rc = ops_message_queue(d, a, p, out_id, err);
    ops_message_prepared_free(&p);
    return rc;
}

int ops_message_prepare(mf_app *app, db *d, const mf_actor *a, const mf_message_input *in,
                        mf_message_prepared **out, mf_error *err)
{
    *out = NULL;
    (void)app; /* public_url for unsubscribe links comes with sequences */
    mf_mailbox m, master;
    memset(&m, 0, sizeof(m));
    memset(&master, 0, sizeof(master));
    team_facts tf;
    if (ops_team_facts(d, a, in->from_mailbox_id, &m, &tf, err) < 0) return -1;
    int rc = 0;
    /* R18/R20: one-off mail goes from a mailbox the caller may send from: their own, or a
     * shared one where they have reply access */
    enum team_verdict tv = team_may_send(&tf);
    if (tv == TEAM_DENY_NOT_OWNER || tv == TEAM_DENY_NOT_MEMBER)
        rc = mf_fail(err, 403, "forbidden", "R18",
                     "you may send only from your own mailboxes and from shared mailboxes where "
                     "you have reply access");
    else if (tv != TEAM_OK)
        rc = ops_team_denied(tv, "send from it", err);
    if (rc == 0 && (strcmp(m.status, "failing") == 0 || strcmp(m.status, "disconnected") == 0))
        rc = mf_fail(err, 422, "mailbox_not_connected", "R12",
                     "%s is %s (%s); reconnect it before sending", m.address, m.status,
                     m.status_reason[0] ? m.status_reason : "no reason given");
    if (rc == 0 && m.master_id[0]) rc = mailboxes_get(d, m.master_id, &master, err);
    /* R25: the organisation's suppression list */
    for (size_t i = 0; rc == 0 && i < in->n_to + in->n_cc; i++) {
        const char *addr = i < in->n_to ? in->to[i] : in->cc[i - in->n_to];
        int s = suppressed(d, m.org_id, addr, err);
        if (s < 0) rc = -1;
        else if (s) rc = mf_fail(err, 422, "recipient_suppressed", "R25",
                                 "%s is on the organisation's suppression list", addr);
    }
    parent_ctx parent = {0};
    char conv_id[MF_ID_LEN] = "";
    if (rc == 0 && in->in_reply_to_conversation_id) {
        mf_conversation c;
        rc = conversations_get(d, in->in_reply_to_conversation_id, &c, err);
        if (rc == 0 && strcmp(c.mailbox_id, m.id) != 0)
            rc = mf_fail(err, 422, "invalid_request", "R18",
                         "in_reply_to_conversation_id: that conversation is not of %s", m.address);
        /* R21 collision: another member marked it taken (typing) and the mark still runs */
        time_t until = 0;
        if (rc == 0 && tf.shared && !in->force && c.taken_until[0] &&
            mf_time_parse(c.taken_until, &until) == 0 &&
            team_taken_by_other(c.taken_by, until, a->id, mf_now()))
            rc = ops_conversation_taken(&c, err);
        if (rc == 0) {
            snprintf(conv_id, sizeof(conv_id), "%s", c.id);
            rc = conversation_messages(d, c.id, pick_parent, &parent, err) < 0 ? -1 : 0;
        }
    }
    compose_address *to = xcalloc(in->n_to + 1, sizeof(*to));
    compose_address *cc = xcalloc(in->n_cc + 1, sizeof(*cc));
    for (size_t i = 0; i < in->n_to; i++) to[i].addr = in->to[i];
    for (size_t i = 0; i < in->n_cc; i++) cc[i].addr = in->cc[i];
    /* the outbox id is our tracking id (R22): made now, before the message is composed */
    char tracking[MF_ID_LEN];
    mf_id_new("out", tracking);
    char *parent_refs = parent.message_id ? parent_references(d, conv_id, parent.message_id) : NULL;
    const char *refs[COMPOSE_REFS_IN_MAX];
    size_t nrefs = 0;
    for (char *save = NULL, *tok = parent_refs ? strtok_r(parent_refs, " ", &save) : NULL;
         tok && nrefs < COMPOSE_REFS_IN_MAX - 1; tok = strtok_r(NULL, " ", &save))
        refs[nrefs++] = tok;
    if (parent.message_id) refs[nrefs++] = parent.message_id;
    compose_input ci = {
        .from = {.name = m.sender_name, .addr = m.address},
        .to = to,
        .n_to = in->n_to,
        .cc = cc,
        .n_cc = in->n_cc,
        .reply_to = {.name = NULL, .addr = master.address[0] ? master.address : NULL},
        .subject = in->subject,
        .date = mf_now(),
        .in_reply_to = parent.message_id,
        .references = nrefs ? refs : NULL,
        .n_references = nrefs,
        .tracking_id = tracking,
        .text = in->text,
        .html = in->html,
        .signature = m.signature,
    };
    compose_message *msg = NULL;
    compose_rcpts *rcpts = NULL;
    if (rc == 0) rc = compose_build(&ci, &msg, err);
    if (rc == 0) rc = compose_envelope(&ci, &rcpts, err);
    if (rc == 0) {
        json_t *rj = json_array();
        for (size_t i = 0; i < rcpts->n; i++) json_array_append_new(rj, json_string(rcpts->addrs[i]));
        mf_message_prepared *p = xcalloc(1, sizeof(*p));
        p->rcpts_json = json_dumps(rj, JSON_COMPACT);
        json_decref(rj);
        p->n_rcpts = rcpts->n;
        snprintf(p->tracking, sizeof(p->tracking), "%s", tracking);
        snprintf(p->org_id, sizeof(p->org_id), "%s", m.org_id);
        snprintf(p->mailbox_id, sizeof(p->mailbox_id), "%s", m.id);
        snprintf(p->conversation_id, sizeof(p->conversation_id), "%s", conv_id);
        p->address = xstrdup(m.address);
        p->msg = msg;
        msg = NULL;
        *out = p;
    }
    compose_message_free(&msg);
    compose_rcpts_free(&rcpts);
    free(to);
    free(cc);
    free(parent.message_id);
    free(parent_refs);
    mf_mailbox_clear(&m);
    mf_mailbox_clear(&master);
    return rc;
}
