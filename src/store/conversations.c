/* conversations.c — the unified inbox, conversations and their messages; see conversations.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/conversations.h"
#include "store/store.h"

#define CONV_COLS                                                                                  \
    "c.id, c.mailbox_id, c.subject, c.last_message_at, c.message_count, c.unread_count, "          \
    "c.classification, c.created_at, c.assignee_id, c.assigned_at, c.status, c.taken_by, "      \
    "c.taken_until"
#define MSG_COLS                                                                                   \
    "id, mailbox_id, conversation_id, message_id, in_reply_to, from_addr, from_name, to_addrs, "   \
    "cc_addrs, subject, snippet, direction, folder, date, size, classification, "                  \
    "classification_reason, outbound_id, outbound_message_id, bounce_kind, bounce_status, "        \
    "bounce_recipient, return_date, unread, created_at"

static void conv_from_row(db_stmt *st, void *out)
{
    mf_conversation *c = out;
    store_copy(c->id, sizeof(c->id), st, 0);
    store_copy(c->mailbox_id, sizeof(c->mailbox_id), st, 1);
    store_copy(c->subject, sizeof(c->subject), st, 2);
    store_copy(c->last_message_at, sizeof(c->last_message_at), st, 3);
    c->message_count = db_col_int64(st, 4);
    c->unread_count = db_col_int64(st, 5);
    store_copy(c->classification, sizeof(c->classification), st, 6);
    store_copy(c->created_at, sizeof(c->created_at), st, 7);
    store_copy(c->assignee_id, sizeof(c->assignee_id), st, 8);
    store_copy(c->assigned_at, sizeof(c->assigned_at), st, 9);
    store_copy(c->status, sizeof(c->status), st, 10);
    store_copy(c->taken_by, sizeof(c->taken_by), st, 11);
    store_copy(c->taken_until, sizeof(c->taken_until), st, 12);
}

void mf_message_row_clear(mf_message_row *m)
{
    char **owned[] = {&m->message_id, &m->in_reply_to, &m->from_addr, &m->from_name,
                      &m->to_addrs,   &m->cc_addrs,    &m->subject,   &m->snippet,
                      &m->body_text,  &m->outbound_message_id, &m->bounce_recipient};
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        free(*owned[i]);
        *owned[i] = NULL;
    }
}

static void msg_from_row(db_stmt *st, mf_message_row *m, int with_body)
{
    memset(m, 0, sizeof(*m));
    store_copy(m->id, sizeof(m->id), st, 0);
    store_copy(m->mailbox_id, sizeof(m->mailbox_id), st, 1);
    store_copy(m->conversation_id, sizeof(m->conversation_id), st, 2);
    m->message_id = store_dup(st, 3, "");
    m->in_reply_to = store_dup(st, 4, "");
    m->from_addr = store_dup(st, 5, "");
    m->from_name = store_dup(st, 6, "");
    m->to_addrs = store_dup(st, 7, "");
    m->cc_addrs = store_dup(st, 8, "");
    m->subject = store_dup(st, 9, "");
    m->snippet = store_dup(st, 10, "");
    store_copy(m->direction, sizeof(m->direction), st, 11);
    store_copy(m->folder, sizeof(m->folder), st, 12);
    store_copy(m->date, sizeof(m->date), st, 13);
    m->size = db_col_int64(st, 14);
    store_copy(m->classification, sizeof(m->classification), st, 15);
    store_copy(m->classification_reason, sizeof(m->classification_reason), st, 16);
    store_copy(m->outbound_id, sizeof(m->outbound_id), st, 17);
    m->outbound_message_id = store_dup(st, 18, "");
    store_copy(m->bounce_kind, sizeof(m->bounce_kind), st, 19);
    store_copy(m->bounce_status, sizeof(m->bounce_status), st, 20);
    m->bounce_recipient = store_dup(st, 21, "");
    store_copy(m->return_date, sizeof(m->return_date), st, 22);
    m->unread = (int)db_col_int64(st, 23);
    store_copy(m->created_at, sizeof(m->created_at), st, 24);
    if (with_body) m->body_text = store_dup(st, 25, "");
}

int conversations_list(db *d, const mf_inbox_filter *f, int *more,
                       void (*each)(const mf_conversation *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT " CONV_COLS " FROM conversations c JOIN mailboxes m ON m.id = "
                "c.mailbox_id WHERE 1=1");
    qb_and(&q, "m.org_id = ?", f->org_id);
    qb_and(&q, "m.owner_id = ?", f->owner_id);
    if (f->member_id) { /* R20: owned, or shared with the user */
        qb_and(&q, "(m.owner_id = ? OR c.mailbox_id IN (SELECT mailbox_id FROM mailbox_members "
                   "WHERE user_id = ?))",
               f->member_id);
        q.args[q.n++] = f->member_id;
    }
    qb_and(&q, "c.mailbox_id = ?", f->mailbox_id);
    qb_and(&q, "c.assignee_id = ?", f->assignee_id);
    if (f->unassigned) strbuf_addstr(&q.sql, " AND c.assignee_id IS NULL");
    qb_and(&q, "c.status = ?", f->status);
    qb_and(&q, "c.classification = ?", f->classification);
    if (f->unread_only) strbuf_addstr(&q.sql, " AND c.unread_count > 0");
    if (f->after_time && f->after_id) {
        /* (t, id) < (after_time, after_id), written so that the first part is a range on the
         * index the rows are read in (0014_inbox_indexes): deep pages do not rescan the top */
        qb_and(&q, "c.last_message_at <= ?", f->after_time);
        qb_and(&q, "(c.last_message_at < ?", f->after_time);
        strbuf_addstr(&q.sql, " OR c.id < ?)");
        q.args[q.n++] = f->after_id;
    }
    strbuf_addf(&q.sql, " ORDER BY c.last_message_at DESC, c.id DESC LIMIT %d", f->limit + 1);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    *more = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (n == f->limit) {
            *more = 1;
            break;
        }
        mf_conversation c;
        conv_from_row(st, &c);
        each(&c, ctx);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}

int conversations_get(db *d, const char *id, mf_conversation *c, mf_error *err)
{
    return store_get_one(d, "SELECT " CONV_COLS " FROM conversations c WHERE c.id = ?", id,
                         conv_from_row, c, "conversation", err);
}

static int message_query(db *d, const char *sql, const char *a, const char *b, int with_body,
                         void (*each)(const mf_message_row *, void *), void *ctx, mf_error *err)
{
    db_stmt *st = db_prepare(d, sql, err);
    if (!st) return -1;
    db_bind_text(st, 1, a);
    if (b) db_bind_text(st, 2, b);
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        mf_message_row m;
        msg_from_row(st, &m, with_body);
        each(&m, ctx);
        mf_message_row_clear(&m);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}

int conversation_messages(db *d, const char *conversation_id,
                          void (*each)(const mf_message_row *, void *), void *ctx, mf_error *err)
{
    return message_query(d,
                         "SELECT " MSG_COLS ", body_text FROM messages WHERE conversation_id = ? "
                         "ORDER BY date, id LIMIT 1000",
                         conversation_id, NULL, 1, each, ctx, err);
}

int messages_since(db *d, const char *mailbox_id, const char *after, int limit,
                   void (*each)(const mf_message_row *, void *), void *ctx, mf_error *err)
{
    char *sql = xasprintf("SELECT " MSG_COLS " FROM messages WHERE mailbox_id = ? AND id > ? "
                          "ORDER BY id LIMIT %d",
                          limit);
    int n = message_query(d, sql, mailbox_id, after ? after : "", 0, each, ctx, err);
    free(sql);
    return n;
}
