/* team.c — members of shared mailboxes, assignment rules, conversation assignment, status,
 * collision marks and the unassigned alert; see team.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/store.h"
#include "store/team.h"

static void member_from_row(db_stmt *st, mf_member *m)
{
    memset(m, 0, sizeof(*m));
    store_copy(m->user_id, sizeof(m->user_id), st, 0);
    store_copy(m->access, sizeof(m->access), st, 1);
    m->available = (int)db_col_int64(st, 2);
    store_copy(m->created_at, sizeof(m->created_at), st, 3);
}

int members_list(db *d, const char *mailbox_id, void (*each)(const mf_member *, void *),
                 void *ctx, mf_error *err)
{
    db_stmt *st = db_prepare(d,
                             "SELECT mm.user_id, mm.access, mm.available, mm.created_at, u.email, "
                             "u.name FROM mailbox_members mm JOIN users u ON u.id = mm.user_id "
                             "WHERE mm.mailbox_id = ? ORDER BY mm.user_id",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        mf_member m;
        member_from_row(st, &m);
        store_copy(m.email, sizeof(m.email), st, 4);
        store_copy(m.name, sizeof(m.name), st, 5);
        each(&m, ctx);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}

int members_get(db *d, const char *mailbox_id, const char *user_id, mf_member *m, mf_error *err)
{
    db_stmt *st = db_prepare(d,
                             "SELECT user_id, access, available, created_at FROM mailbox_members "
                             "WHERE mailbox_id = ? AND user_id = ?",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    db_bind_text(st, 2, user_id);
    int rc = db_step(st);
    if (rc == DB_ROW) member_from_row(st, m);
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

int members_add(db *d, const char *mailbox_id, const char *user_id, const char *access,
                int available, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    return db_exec(d, err,
                   "INSERT INTO mailbox_members (mailbox_id, user_id, access, available, "
                   "created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (mailbox_id, user_id) "
                   "DO UPDATE SET access = excluded.access, available = excluded.available",
                   mailbox_id, user_id, access, available ? "1" : "0", now, DB_END) < 0
               ? -1
               : 0;
}

int members_remove(db *d, const char *mailbox_id, const char *user_id, mf_error *err)
{
    return db_exec(d, err, "DELETE FROM mailbox_members WHERE mailbox_id = ? AND user_id = ?",
                   mailbox_id, user_id, DB_END) < 0
               ? -1
               : 0;
}

int assignment_get(db *d, const char *mailbox_id, mf_assignment *a, mf_error *err)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->mailbox_id, sizeof(a->mailbox_id), "%s", mailbox_id);
    snprintf(a->mode, sizeof(a->mode), "manual");
    a->cap = -1;
    a->alert_minutes = -1;
    db_stmt *st = db_prepare(d,
                             "SELECT mode, cap, unassigned_alert_minutes, cursor_user_id, "
                             "updated_at FROM mailbox_assignment WHERE mailbox_id = ?",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        store_copy(a->mode, sizeof(a->mode), st, 0);
        a->cap = db_col_is_null(st, 1) ? -1 : (int)db_col_int64(st, 1);
        a->alert_minutes = db_col_is_null(st, 2) ? -1 : (int)db_col_int64(st, 2);
        store_copy(a->cursor, sizeof(a->cursor), st, 3);
        store_copy(a->updated_at, sizeof(a->updated_at), st, 4);
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : 0;
}

int assignment_put(db *d, const mf_assignment *a, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    char cap[16], alert[16];
    snprintf(cap, sizeof(cap), "%d", a->cap);
    snprintf(alert, sizeof(alert), "%d", a->alert_minutes);
    return db_exec(d, err,
                   "INSERT INTO mailbox_assignment (mailbox_id, mode, cap, "
                   "unassigned_alert_minutes, updated_at) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (mailbox_id) DO UPDATE SET mode = excluded.mode, "
                   "cap = excluded.cap, unassigned_alert_minutes = "
                   "excluded.unassigned_alert_minutes, updated_at = excluded.updated_at",
                   a->mailbox_id, a->mode, a->cap < 0 ? NULL : cap,
                   a->alert_minutes < 0 ? NULL : alert, now, DB_END) < 0
               ? -1
               : 0;
}

int assignment_set_cursor(db *d, const char *mailbox_id, const char *user_id, mf_error *err)
{
    return db_exec(d, err, "UPDATE mailbox_assignment SET cursor_user_id = ? WHERE mailbox_id = ?",
                   user_id, mailbox_id, DB_END) < 0
               ? -1
               : 0;
}

int members_candidates(db *d, const char *mailbox_id, void (*each)(const mf_member *, void *),
                       void *ctx, mf_error *err)
{
    db_stmt *st = db_prepare(
        d,
        /* a locked seat (R2) cannot answer: it counts as unavailable */
        "SELECT mm.user_id, mm.access, CASE WHEN u.seat = 'locked' THEN 0 ELSE mm.available END, "
        "mm.created_at FROM mailbox_members mm JOIN users u ON u.id = mm.user_id "
        "WHERE mm.mailbox_id = ? ORDER BY mm.user_id",
        err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        mf_member m;
        member_from_row(st, &m);
        each(&m, ctx);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}

int member_open_count(db *d, const char *mailbox_id, const char *user_id, int limit,
                      mf_error *err)
{
    /* one range of conversations_assignee (mailbox_id, assignee_id, status), read no further
     * than `limit` entries: a new conversation costs O(cap), not O(the mailbox's history) */
    db_stmt *st = db_prepare(d,
                             "SELECT COUNT(*) FROM (SELECT 1 FROM conversations WHERE mailbox_id "
                             "= ? AND assignee_id = ? AND status = 'open' LIMIT ?) AS open_ones",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    db_bind_text(st, 2, user_id);
    db_bind_int64(st, 3, limit);
    int rc = db_step(st);
    int n = rc == DB_ROW ? (int)db_col_int64(st, 0) : -1;
    db_finalize(&st);
    if (n < 0 && rc != DB_ERROR) mf_fail(err, 500, "internal", NULL, "no count of open conversations");
    return n;
}

int conversation_set_assignee(db *d, const char *id, const char *user_id, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    return db_exec(d, err, "UPDATE conversations SET assignee_id = ?, assigned_at = ? WHERE id = ?",
                   user_id, user_id ? now : NULL, id, DB_END) < 0
               ? -1
               : 0;
}

int conversation_set_status(db *d, const char *id, const char *status, mf_error *err)
{
    if (strcmp(status, "open") == 0) {
        char now[MF_TIME_LEN];
        mf_time_format(mf_now(), now);
        /* a reopening restarts the alert clock; open stays open with its clock */
        return db_exec(d, err,
                       "UPDATE conversations SET opened_at = ?, alerted_at = NULL, status = "
                       "'open' WHERE id = ? AND status <> 'open'",
                       now, id, DB_END) < 0
                   ? -1
                   : 0;
    }
    return db_exec(d, err, "UPDATE conversations SET status = ? WHERE id = ?", status, id,
                   DB_END) < 0
               ? -1
               : 0;
}

int conversation_set_taken(db *d, const char *id, const char *user_id, const char *until,
                           mf_error *err)
{
    return db_exec(d, err, "UPDATE conversations SET taken_by = ?, taken_until = ? WHERE id = ?",
                   user_id, until, id, DB_END) < 0
               ? -1
               : 0;
}

int conversations_release_member(db *d, const char *mailbox_id, const char *user_id,
                                 mf_error *err)
{
    if (db_exec(d, err,
                "UPDATE conversations SET taken_by = NULL, taken_until = NULL WHERE mailbox_id = "
                "? AND taken_by = ?",
                mailbox_id, user_id, DB_END) < 0)
        return -1;
    int64_t n = db_exec(d, err,
                        "UPDATE conversations SET assignee_id = NULL, assigned_at = NULL WHERE "
                        "mailbox_id = ? AND assignee_id = ?",
                        mailbox_id, user_id, DB_END);
    return n < 0 ? -1 : (int)n;
}

int conversation_facts_of_message(db *d, const char *msg_id, mf_conv_facts *f, mf_error *err)
{
    memset(f, 0, sizeof(*f));
    db_stmt *st = db_prepare(
        d,
        "SELECT c.id, c.mailbox_id, c.status, c.assignee_id, (SELECT COUNT(*) FROM messages x "
        "WHERE x.conversation_id = c.id AND x.direction = 'in'), mb.kind FROM messages m JOIN "
        "conversations c ON c.id = m.conversation_id JOIN mailboxes mb ON mb.id = c.mailbox_id "
        "WHERE m.id = ?",
        err);
    if (!st) return -1;
    db_bind_text(st, 1, msg_id);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        store_copy(f->id, sizeof(f->id), st, 0);
        store_copy(f->mailbox_id, sizeof(f->mailbox_id), st, 1);
        store_copy(f->status, sizeof(f->status), st, 2);
        store_copy(f->assignee_id, sizeof(f->assignee_id), st, 3);
        f->inbound_count = db_col_int64(st, 4);
        store_copy(f->kind, sizeof(f->kind), st, 5);
    }
    db_finalize(&st);
    if (rc == DB_ROW) return 0;
    return rc == DB_DONE ? store_not_found(err, "message") : -1;
}

int conversation_mark_opened(db *d, const char *id, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    return db_exec(d, err,
                   "UPDATE conversations SET status = 'open', opened_at = ?, alerted_at = NULL "
                   "WHERE id = ?",
                   now, id, DB_END) < 0
               ? -1
               : 0;
}

int conversations_unassigned_due(db *d, const char *mailbox_id, const char *cutoff, int limit,
                                 void (*each)(const mf_unassigned *, void *), void *ctx,
                                 mf_error *err)
{
    char *sql = xasprintf("SELECT id, subject, opened_at FROM conversations WHERE mailbox_id = ? "
                          "AND status = 'open' AND assignee_id IS NULL AND opened_at IS NOT NULL "
                          "AND opened_at <= ? AND alerted_at IS NULL ORDER BY opened_at, id "
                          "LIMIT %d",
                          limit);
    db_stmt *st = db_prepare(d, sql, err);
    free(sql);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    db_bind_text(st, 2, cutoff);
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        mf_unassigned u;
        store_copy(u.id, sizeof(u.id), st, 0);
        store_copy(u.subject, sizeof(u.subject), st, 1);
        store_copy(u.opened_at, sizeof(u.opened_at), st, 2);
        each(&u, ctx);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}

int conversation_mark_alerted(db *d, const char *id, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    int64_t n = db_exec(d, err,
                        "UPDATE conversations SET alerted_at = ? WHERE id = ? AND alerted_at IS "
                        "NULL AND assignee_id IS NULL AND status = 'open'",
                        now, id, DB_END);
    return n < 0 ? -1 : n > 0;
}

int assignment_alert_rules(db *d, void (*each)(const mf_alert_rule *, void *), void *ctx,
                           mf_error *err)
{
    db_stmt *st = db_prepare(d,
                             "SELECT m.id, m.owner_id, m.address, a.unassigned_alert_minutes FROM "
                             "mailbox_assignment a JOIN mailboxes m ON m.id = a.mailbox_id WHERE "
                             "m.kind = 'shared' AND a.unassigned_alert_minutes IS NOT NULL "
                             "ORDER BY m.id",
                             err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        mf_alert_rule r;
        store_copy(r.mailbox_id, sizeof(r.mailbox_id), st, 0);
        store_copy(r.owner_id, sizeof(r.owner_id), st, 1);
        store_copy(r.address, sizeof(r.address), st, 2);
        r.minutes = (int)db_col_int64(st, 3);
        each(&r, ctx);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}
