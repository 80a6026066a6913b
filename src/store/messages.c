/* messages.c — synced messages, conversations, folder sync state, mailbox health and progress;
 * see messages.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/messages.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/strbuf.h"

/* Drop "Re:", "Fwd:", "Fw:", "AW:", "WG:" prefixes (repeatedly) for a conversation's subject. */
static const char *base_subject(const char *s)
{
    static const char *prefixes[] = {"re:", "fwd:", "fw:", "aw:", "wg:", "sv:", "tr:"};
    for (;;) {
        while (*s == ' ' || *s == '\t') s++;
        int again = 0;
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
            size_t n = strlen(prefixes[i]);
            if (strncasecmp(s, prefixes[i], n) == 0) {
                s += n;
                again = 1;
                break;
            }
        }
        if (!again) return s;
    }
}

static int exists_by_key(db *d, const char *mailbox_id, const char *key, mf_error *err)
{
    db_stmt *st = db_prepare(d, "SELECT 1 FROM messages WHERE mailbox_id = ? AND dedupe_key = ?", err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    db_bind_text(st, 2, key);
    int rc = db_step(st);
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

/* The conversation of a message of this mailbox with Message-ID id: 1 found, 0 not, -1. Looked
 * up by its dedupe key "<id>" (UNIQUE (mailbox_id, dedupe_key)): a message with a Message-ID
 * always has that key, and migration 0017 dropped the second index on (mailbox_id, message_id)
 * that every stored message paid for. */
static int conversation_of(db *d, const char *mailbox_id, const char *id, char out[MF_ID_LEN],
                           mf_error *err)
{
    if (!id || !*id) return 0;
    db_stmt *st = db_prepare(
        d, "SELECT conversation_id FROM messages WHERE mailbox_id = ? AND dedupe_key = ?", err);
    if (!st) return -1;
    char *key = xasprintf("<%s>", id);
    db_bind_text(st, 1, mailbox_id);
    db_bind_text(st, 2, key);
    int rc = db_step(st);
    if (rc == DB_ROW) store_copy(out, MF_ID_LEN, st, 0);
    db_finalize(&st);
    free(key);
    return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

/* In-Reply-To first, then References from the newest back. */
static int find_thread(db *d, const mf_message_in *m, char out[MF_ID_LEN], mf_error *err)
{
    int rc = conversation_of(d, m->mailbox_id, m->in_reply_to, out, err);
    for (size_t i = m->n_references; rc == 0 && i > 0; i--)
        rc = conversation_of(d, m->mailbox_id, m->references[i - 1], out, err);
    if (rc == 0 && m->outbound_id && *m->outbound_id) { /* matched by our tracking id */
        db_stmt *st = db_prepare(
            d, "SELECT conversation_id FROM messages WHERE id = ? AND mailbox_id = ?", err);
        if (!st) return -1;
        db_bind_text(st, 1, m->outbound_id);
        db_bind_text(st, 2, m->mailbox_id);
        rc = db_step(st);
        if (rc == DB_ROW) store_copy(out, MF_ID_LEN, st, 0);
        db_finalize(&st);
        rc = rc == DB_ERROR ? -1 : rc == DB_ROW;
    }
    return rc;
}

/* The CHECK constraints of messages (migration 0002), tested here: the INSERTs below are
 * compiled without them on SQLite (db_prepare_unchecked). */
static int message_checks_ok(const mf_message_in *m)
{
    static const char *classes[] = {"human", "reply", "auto_reply", "bounce"};
    if (!m->direction || (strcmp(m->direction, "in") != 0 && strcmp(m->direction, "out") != 0))
        return 0;
    for (size_t i = 0; m->classification && i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strcmp(m->classification, classes[i]) == 0) return 1;
    return 0;
}

int messages_store(db *d, const mf_message_in *m, char out_id[MF_ID_LEN], int *stored,
                   mf_error *err)
{
    *stored = 0;
    out_id[0] = '\0';
    if (!message_checks_ok(m))
        return mf_fail(err, 409, "constraint", NULL, "message: direction %s, classification %s",
                       m->direction ? m->direction : "(none)",
                       m->classification ? m->classification : "(none)");
    char *key = m->message_id && *m->message_id ? xasprintf("<%s>", m->message_id)
                : m->content_hash && *m->content_hash
                    ? xasprintf("hash:%s", m->content_hash)
                    : xasprintf("uid:%s:%lld:%lld", m->folder, (long long)m->uidvalidity,
                                (long long)m->uid);
    int rc = exists_by_key(d, m->mailbox_id, key, err);
    if (rc != 0) {
        free(key);
        return rc < 0 ? -1 : 0;
    }
    char conv[MF_ID_LEN] = "", date[MF_TIME_LEN], now[MF_TIME_LEN], ret[MF_TIME_LEN];
    mf_time_format(m->date ? m->date : mf_now(), date);
    mf_time_format(mf_now(), now);
    if (m->return_date) mf_time_format(m->return_date, ret);
    int inbound = strcmp(m->direction, "in") == 0;
    rc = find_thread(d, m, conv, err);
    if (rc < 0) goto out;
    int new_conversation = rc == 0;
    if (new_conversation) { /* born with this message counted (no UPDATE below) */
        mf_id_new("cnv", conv);
        /* unchecked: the only CHECK of conversations is on status, left at its default */
        db_stmt *cs = db_prepare_unchecked(
            d,
            "INSERT INTO conversations (id, mailbox_id, subject, last_message_at, "
            "message_count, unread_count, classification, created_at) "
            "VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
            err);
        if (!cs) {
            rc = -1;
            goto out;
        }
        db_bind_text_ref(cs, 1, conv);
        db_bind_text_ref(cs, 2, m->mailbox_id);
        db_bind_text_ref(cs, 3, base_subject(m->subject ? m->subject : ""));
        db_bind_text_ref(cs, 4, date);
        db_bind_int64(cs, 5, m->unread && inbound ? 1 : 0);
        db_bind_text_ref(cs, 6, inbound ? m->classification : "human");
        db_bind_text_ref(cs, 7, now);
        rc = db_step(cs) == DB_DONE ? 0 : -1;
        db_finalize(&cs);
        if (rc < 0) goto out;
    }
    strbuf refs;
    strbuf_init(&refs, 256 * 1024);
    for (size_t i = 0; i < m->n_references; i++) {
        if (i) strbuf_addstr(&refs, " ");
        strbuf_addstr(&refs, m->references[i]);
    }
    mf_id_new("msg", out_id);
    db_stmt *st = db_prepare_unchecked( /* message_checks_ok() */
        d,
        "INSERT INTO messages (id, mailbox_id, conversation_id, dedupe_key, message_id, "
        "in_reply_to, references_ids, direction, folder, uidvalidity, uid, from_addr, from_name, "
        "to_addrs, cc_addrs, subject, date, snippet, body_text, size, classification, "
        "classification_reason, outbound_id, outbound_message_id, bounce_kind, bounce_status, "
        "bounce_recipient, return_date, unread, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        err);
    if (!st) {
        strbuf_release(&refs);
        rc = -1;
        goto out;
    }
    /* every value outlives the statement (finalized below): none is copied, the body (up to
     * 256 KB) least of all */
    int i = 1;
    db_bind_text_ref(st, i++, out_id);
    db_bind_text_ref(st, i++, m->mailbox_id);
    db_bind_text_ref(st, i++, conv);
    db_bind_text_ref(st, i++, key);
    db_bind_text_ref(st, i++, store_nullable(m->message_id));
    db_bind_text_ref(st, i++, store_nullable(m->in_reply_to));
    db_bind_text_ref(st, i++, refs.buf);
    db_bind_text_ref(st, i++, m->direction);
    db_bind_text_ref(st, i++, m->folder);
    db_bind_int64(st, i++, m->uidvalidity);
    db_bind_int64(st, i++, m->uid);
    db_bind_text_ref(st, i++, m->from_addr ? m->from_addr : "");
    db_bind_text_ref(st, i++, m->from_name ? m->from_name : "");
    db_bind_text_ref(st, i++, m->to_addrs ? m->to_addrs : "");
    db_bind_text_ref(st, i++, m->cc_addrs ? m->cc_addrs : "");
    db_bind_text_ref(st, i++, m->subject ? m->subject : "");
    db_bind_text_ref(st, i++, date);
    db_bind_text_ref(st, i++, m->snippet ? m->snippet : "");
    db_bind_text_ref(st, i++, m->body ? m->body : "");
    db_bind_int64(st, i++, m->size);
    db_bind_text_ref(st, i++, m->classification);
    db_bind_text_ref(st, i++, m->classification_reason ? m->classification_reason : "");
    db_bind_text_ref(st, i++, store_nullable(m->outbound_id));
    db_bind_text_ref(st, i++, store_nullable(m->outbound_message_id));
    db_bind_text_ref(st, i++, store_nullable(m->bounce_kind));
    db_bind_text_ref(st, i++, store_nullable(m->bounce_status));
    db_bind_text_ref(st, i++, store_nullable(m->bounce_recipient));
    db_bind_text_ref(st, i++, m->return_date ? ret : NULL);
    db_bind_int64(st, i++, m->unread ? 1 : 0);
    db_bind_text_ref(st, i++, now);
    rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    strbuf_release(&refs);
    if (rc < 0) goto out;
    if (new_conversation) {
        *stored = 1;
        goto out;
    }
    /* The conversation's summary: counts, newest time, and the class of its latest inbound. */
    db_stmt *up = db_prepare(
        d,
        "UPDATE conversations SET message_count = message_count + 1, "
        "unread_count = unread_count + ?, "
        "last_message_at = CASE WHEN last_message_at < ? THEN ? ELSE last_message_at END, "
        "classification = CASE WHEN ? = 1 AND last_message_at <= ? THEN ? ELSE classification END "
        "WHERE id = ?",
        err);
    if (!up) {
        rc = -1;
        goto out;
    }
    db_bind_int64(up, 1, m->unread && inbound ? 1 : 0);
    db_bind_text(up, 2, date);
    db_bind_text(up, 3, date);
    db_bind_int64(up, 4, inbound);
    db_bind_text(up, 5, date);
    db_bind_text(up, 6, m->classification);
    db_bind_text(up, 7, conv);
    rc = db_step(up) == DB_DONE ? 0 : -1;
    db_finalize(&up);
    if (rc == 0) *stored = 1;
out:
    free(key);
    return rc;
}

int mailboxes_add_imported(db *d, const char *mailbox_id, int64_t n, mf_error *err)
{
    if (n == 0) return 0;
    db_stmt *st = db_prepare(
        d, "UPDATE mailboxes SET messages_imported = messages_imported + ? WHERE id = ?", err);
    if (!st) return -1;
    db_bind_int64(st, 1, n);
    db_bind_text(st, 2, mailbox_id);
    int rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    return rc;
}

/* Read through the partial index messages_outbound (migration 0017: only sent messages, so a
 * lookup of an id we never sent, the usual case for the References of inbound mail, reads one
 * near-empty index page). Rows of this mailbox win over the owner's other mailboxes: chosen
 * here rather than by ORDER BY, which made SQLite build a sorter for every lookup. */
int messages_find_outbound(db *d, const char *mailbox_id, const char *message_id,
                           char out_id[MF_ID_LEN], mf_error *err)
{
    db_stmt *st = db_prepare(
        d,
        "SELECT m.id, m.mailbox_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
        "WHERE m.message_id = ? AND m.direction = 'out' AND "
        "b.owner_id = (SELECT owner_id FROM mailboxes WHERE id = ?)",
        err);
    if (!st) return -1;
    db_bind_text(st, 1, message_id);
    db_bind_text(st, 2, mailbox_id);
    int rc, found = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *mb = db_col_text(st, 1);
        int own = mb && strcmp(mb, mailbox_id) == 0;
        if (!found || own) store_copy(out_id, MF_ID_LEN, st, 0);
        found = 1;
        if (own) break;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : found;
}

int folder_state_get(db *d, const char *mailbox_id, const char *folder, const char *role,
                     mf_folder_state *s, mf_error *err)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->folder, sizeof(s->folder), "%s", folder);
    snprintf(s->role, sizeof(s->role), "%s", role);
    db_stmt *st = db_prepare(d,
                             "SELECT uidvalidity, last_uid, backfill_done FROM folder_state "
                             "WHERE mailbox_id = ? AND folder = ?",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    db_bind_text(st, 2, folder);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        s->uidvalidity = db_col_int64(st, 0);
        s->last_uid = db_col_int64(st, 1);
        s->backfill_done = (int)db_col_int64(st, 2);
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : 0;
}

int folder_state_put(db *d, const char *mailbox_id, const mf_folder_state *s, mf_error *err)
{
    db_stmt *st = db_prepare(
        d,
        "INSERT INTO folder_state (mailbox_id, folder, role, uidvalidity, last_uid, backfill_done) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (mailbox_id, folder) DO UPDATE SET "
        "role = excluded.role, uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, "
        "backfill_done = excluded.backfill_done",
        err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    db_bind_text(st, 2, s->folder);
    db_bind_text(st, 3, s->role);
    db_bind_int64(st, 4, s->uidvalidity);
    db_bind_int64(st, 5, s->last_uid);
    db_bind_int64(st, 6, s->backfill_done);
    int rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    return rc;
}

int mailboxes_set_status(db *d, const char *id, const char *status, const char *reason,
                         mf_error *err)
{
    char now[MF_TIME_LEN], log_id[MF_ID_LEN];
    mf_time_format(mf_now(), now);
    int64_t n = db_exec(d, err,
                        "UPDATE mailboxes SET status = ?, status_reason = ?, status_since = ? "
                        "WHERE id = ? AND (status <> ? OR COALESCE(status_reason, '') <> ?)",
                        status, reason, now, id, status, reason ? reason : "", DB_END);
    if (n <= 0) return n < 0 ? -1 : 0;
    mf_id_new("mst", log_id);
    if (db_exec(d, err,
                "INSERT INTO mailbox_status_log (id, mailbox_id, status, reason, at) "
                "VALUES (?, ?, ?, ?, ?)",
                log_id, id, status, reason, now, DB_END) < 0)
        return -1;
    return 1;
}

int mailboxes_set_sync(db *d, const char *id, int backfill_done, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    return db_exec(d, err,
                   "UPDATE mailboxes SET backfill_done = CASE WHEN ? = '1' THEN 1 ELSE "
                   "backfill_done END, last_sync_at = ? WHERE id = ?",
                   backfill_done ? "1" : "0", now, id, DB_END) < 0
               ? -1
               : 0;
}

int mailboxes_for_engine(db *d, void (*each)(const mf_engine_mailbox *, void *), void *ctx,
                         mf_error *err)
{
    db_stmt *st = db_prepare(d,
                             "SELECT id, org_id, owner_id, address, status, config_version, "
                             "imap_sealed FROM mailboxes WHERE imap_sealed IS NOT NULL ORDER BY id",
                             err);
    if (!st) return -1;
    int rc, n = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        mf_engine_mailbox m;
        store_copy(m.id, sizeof(m.id), st, 0);
        store_copy(m.org_id, sizeof(m.org_id), st, 1);
        store_copy(m.owner_id, sizeof(m.owner_id), st, 2);
        store_copy(m.address, sizeof(m.address), st, 3);
        store_copy(m.status, sizeof(m.status), st, 4);
        m.config_version = db_col_int64(st, 5);
        m.imap_sealed = store_dup(st, 6, "");
        each(&m, ctx);
        free(m.imap_sealed);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}
