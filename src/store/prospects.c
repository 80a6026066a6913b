/* prospects.c — prospects (the people sequences write to): owner, sending mailbox, tags and
 * state, so an owner change can pause and tag them and a bulk reassignment resume them (R8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/store.h"
#include "store/webhooks.h"

/* tags are gathered as a JSON array by a sub-select that works on both backends */
#define PROSPECT_COLS                                                                              \
    "p.id, p.org_id, p.owner_id, p.mailbox_id, p.email, p.first_name, p.last_name, p.company, "    \
    "p.fields, p.state, p.pause_reason, p.created_at"

void mf_prospect_clear(mf_prospect *p)
{
    free(p->fields_json);
    free(p->tags_json);
    p->fields_json = p->tags_json = NULL;
}

static char *load_tags(db *d, const char *prospect_id)
{
    strbuf sb;
    strbuf_init(&sb, 1024 * 1024);
    strbuf_addstr(&sb, "[");
    db_stmt *st = db_prepare(d, "SELECT tag FROM prospect_tags WHERE prospect_id = ? ORDER BY tag",
                             NULL);
    if (st) {
        db_bind_text(st, 1, prospect_id);
        int first = 1;
        while (db_step(st) == DB_ROW) {
            const char *t = db_col_text(st, 0);
            if (!first) strbuf_addstr(&sb, ",");
            first = 0;
            strbuf_addstr(&sb, "\"");
            for (const char *c = t ? t : ""; *c; c++) {
                if (*c == '"' || *c == '\\') strbuf_addf(&sb, "\\%c", *c);
                else if ((unsigned char)*c < 0x20) strbuf_addf(&sb, "\\u%04x", *c);
                else strbuf_add(&sb, c, 1);
            }
            strbuf_addstr(&sb, "\"");
        }
        db_finalize(&st);
    }
    strbuf_addstr(&sb, "]");
    return strbuf_detach(&sb, NULL);
}

static void prospect_from_row(db_stmt *st, void *out)
{
    mf_prospect *p = out;
    store_copy(p->id, sizeof(p->id), st, 0);
    store_copy(p->org_id, sizeof(p->org_id), st, 1);
    store_copy(p->owner_id, sizeof(p->owner_id), st, 2);
    store_copy(p->mailbox_id, sizeof(p->mailbox_id), st, 3);
    store_copy(p->email, sizeof(p->email), st, 4);
    store_copy(p->first_name, sizeof(p->first_name), st, 5);
    store_copy(p->last_name, sizeof(p->last_name), st, 6);
    store_copy(p->company, sizeof(p->company), st, 7);
    p->fields_json = store_dup(st, 8, "{}");
    store_copy(p->state, sizeof(p->state), st, 9);
    store_copy(p->pause_reason, sizeof(p->pause_reason), st, 10);
    store_copy(p->created_at, sizeof(p->created_at), st, 11);
    p->tags_json = NULL;
}

static int add_tag(db *d, const char *prospect_id, const char *tag, mf_error *err)
{
    return db_exec(d, err,
                   "INSERT INTO prospect_tags (prospect_id, tag) VALUES (?, ?) "
                   "ON CONFLICT (prospect_id, tag) DO NOTHING",
                   prospect_id, tag, DB_END) < 0
               ? -1
               : 0;
}

int prospects_insert(db *d, mf_prospect *p, char *const *tags, int ntags, mf_error *err)
{
    mf_id_new("prs", p->id);
    mf_time_format(mf_now(), p->created_at);
    if (!p->state[0]) snprintf(p->state, sizeof(p->state), "active");
    if (db_exec(d, err,
                "INSERT INTO prospects (id, org_id, owner_id, mailbox_id, email, first_name, "
                "last_name, company, fields, state, pause_reason, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                p->id, p->org_id, p->owner_id, store_nullable(p->mailbox_id), p->email,
                store_nullable(p->first_name), store_nullable(p->last_name),
                store_nullable(p->company), p->fields_json ? p->fields_json : "{}", p->state,
                store_nullable(p->pause_reason), p->created_at, DB_END) < 0)
        return -1;
    for (int i = 0; i < ntags; i++) {
        if (add_tag(d, p->id, tags[i], err) < 0) return -1;
    }
    return 0;
}

int prospects_get(db *d, const char *id, mf_prospect *p, mf_error *err)
{
    if (store_get_one(d, "SELECT " PROSPECT_COLS " FROM prospects p WHERE p.id = ?", id,
                      prospect_from_row, p, "prospect", err) < 0)
        return -1;
    p->tags_json = load_tags(d, p->id);
    return 0;
}

int prospects_pause_for_mailbox(db *d, const char *mailbox_id, const char *reason,
                                const char *tag, mf_error *err)
{
    if (db_exec(d, err,
                "INSERT INTO prospect_tags (prospect_id, tag) SELECT id, ? FROM prospects "
                "WHERE (mailbox_id = ? AND state = 'active') OR id IN (SELECT prospect_id FROM "
                "enrollments WHERE mailbox_id = ? AND state = 'active') "
                "ON CONFLICT (prospect_id, tag) DO NOTHING",
                tag, mailbox_id, mailbox_id, DB_END) < 0)
        return -1;
    int64_t n = db_exec(d, err,
                        "UPDATE prospects SET state = 'paused', pause_reason = ? "
                        "WHERE mailbox_id = ? AND state = 'active'",
                        reason, mailbox_id, DB_END);
    if (n < 0) return -1;
    /* their sequences stop where they are (R8: "resuming where they stopped") */
    if (webhook_emit_enrollments_paused(d, "mailbox_id = ? AND state = 'active'", mailbox_id,
                                        reason) < 0)
        return mf_fail_internal(err, "cannot record the enrollment.paused events");
    if (db_exec(d, err,
                "UPDATE enrollments SET state = 'paused', pause_reason = ? WHERE mailbox_id = ? "
                "AND state = 'active'",
                reason, mailbox_id, DB_END) < 0)
        return -1;
    return (int)n;
}

/* R8: the tagged prospects' enrollments send from the new mailbox and resume. */
static int resume_enrollments(db *d, const char *org_id, const char *tag, const char *mailbox_id,
                              const char *only_for, mf_error *err)
{
    const char *sql =
        only_for
            ? "UPDATE enrollments SET mailbox_id = ?, state = CASE WHEN state = 'paused' AND "
              "pause_reason IN ('owner_change','mailbox_removed') THEN 'active' ELSE state END, "
              "pause_reason = CASE WHEN pause_reason IN ('owner_change','mailbox_removed') THEN "
              "NULL ELSE pause_reason END WHERE org_id = ? AND prospect_id IN (SELECT prospect_id "
              "FROM prospect_tags WHERE tag = ?) AND prospect_id IN (SELECT id FROM prospects "
              "WHERE owner_id = ? OR mailbox_id IN (SELECT id FROM mailboxes WHERE owner_id = ?))"
            : "UPDATE enrollments SET mailbox_id = ?, state = CASE WHEN state = 'paused' AND "
              "pause_reason IN ('owner_change','mailbox_removed') THEN 'active' ELSE state END, "
              "pause_reason = CASE WHEN pause_reason IN ('owner_change','mailbox_removed') THEN "
              "NULL ELSE pause_reason END WHERE org_id = ? AND prospect_id IN (SELECT prospect_id "
              "FROM prospect_tags WHERE tag = ?)";
    int64_t n = only_for ? db_exec(d, err, sql, mailbox_id, org_id, tag, only_for, only_for, DB_END)
                         : db_exec(d, err, sql, mailbox_id, org_id, tag, DB_END);
    return n < 0 ? -1 : 0;
}

int prospects_reassign(db *d, const char *org_id, const char *tag, const char *mailbox_id,
                       const char *owner_id, const char *only_for, mf_error *err)
{
    static const char *base =
        "UPDATE prospects SET mailbox_id = ?, owner_id = ?, "
        "state = CASE WHEN state = 'paused' THEN 'active' ELSE state END, "
        "pause_reason = NULL WHERE org_id = ? AND id IN "
        "(SELECT prospect_id FROM prospect_tags WHERE tag = ?)";
    int64_t n;
    if (!only_for) {
        n = db_exec(d, err, base, mailbox_id, owner_id, org_id, tag, DB_END);
        if (n >= 0 && resume_enrollments(d, org_id, tag, mailbox_id, NULL, err) < 0) return -1;
    } else {
        char *sql = xasprintf("%s AND (owner_id = ? OR mailbox_id IN "
                              "(SELECT id FROM mailboxes WHERE owner_id = ?))",
                              base);
        /* enrollments first: the prospects' owner changes below */
        if (resume_enrollments(d, org_id, tag, mailbox_id, only_for, err) < 0) {
            free(sql);
            return -1;
        }
        n = db_exec(d, err, sql, mailbox_id, owner_id, org_id, tag, only_for, only_for, DB_END);
        free(sql);
    }
    return n < 0 ? -1 : (int)n;
}

int prospects_list(db *d, mf_prospect_filter f, mf_page *pg,
                   void (*each)(const mf_prospect *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT " PROSPECT_COLS " FROM prospects p WHERE 1=1");
    qb_and(&q, "p.org_id = ?", f.org_id);
    qb_and(&q, "p.owner_id = ?", f.owner_id);
    qb_and(&q, "p.mailbox_id = ?", f.mailbox_id);
    qb_and(&q, "p.id IN (SELECT prospect_id FROM prospect_tags WHERE tag = ?)", f.tag);
    qb_page(&q, "p.id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    /* Collect first: the tags query needs the connection while the list is open. */
    int n = 0, rc, cap = 0;
    mf_prospect *rows = NULL;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        if (n > cap) {
            cap = cap ? cap * 2 : 16;
            rows = xrealloc(rows, (size_t)cap * sizeof(*rows));
        }
        prospect_from_row(st, &rows[n - 1]);
    }
    db_finalize(&st);
    for (int i = 0; i < n; i++) {
        if (rc >= 0) {
            rows[i].tags_json = load_tags(d, rows[i].id);
            each(&rows[i], ctx);
        }
        mf_prospect_clear(&rows[i]);
    }
    free(rows);
    return rc < 0 ? -1 : n;
}
