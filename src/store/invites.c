/* invites.c — invite rows (R14) and contributors; see invites.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/invites.h"
#include "store/store.h"

#define INVITE_COLS                                                                                \
    "id, org_id, address, address_norm, kind, note, status, invited_by, owner_id, expires_at, "    \
    "sent_count, last_sent_at, outbox_id, accepted_at, revoked_at, contributor_id, mailbox_id, "   \
    "created_at"

static void invite_from_row(db_stmt *st, void *out)
{
    mf_invite *i = out;
    store_copy(i->id, sizeof(i->id), st, 0);
    store_copy(i->org_id, sizeof(i->org_id), st, 1);
    store_copy(i->address, sizeof(i->address), st, 2);
    store_copy(i->address_norm, sizeof(i->address_norm), st, 3);
    store_copy(i->kind, sizeof(i->kind), st, 4);
    store_copy(i->note, sizeof(i->note), st, 5);
    store_copy(i->status, sizeof(i->status), st, 6);
    store_copy(i->invited_by, sizeof(i->invited_by), st, 7);
    store_copy(i->owner_id, sizeof(i->owner_id), st, 8);
    store_copy(i->expires_at, sizeof(i->expires_at), st, 9);
    i->sent_count = (int)db_col_int64(st, 10);
    store_copy(i->last_sent_at, sizeof(i->last_sent_at), st, 11);
    store_copy(i->outbox_id, sizeof(i->outbox_id), st, 12);
    store_copy(i->accepted_at, sizeof(i->accepted_at), st, 13);
    store_copy(i->revoked_at, sizeof(i->revoked_at), st, 14);
    store_copy(i->contributor_id, sizeof(i->contributor_id), st, 15);
    store_copy(i->mailbox_id, sizeof(i->mailbox_id), st, 16);
    store_copy(i->created_at, sizeof(i->created_at), st, 17);
}

int mf_invite_state(const mf_invite *i, time_t now)
{
    time_t exp = 0;
    if (mf_time_parse(i->expires_at, &exp) < 0) exp = 0; /* unreadable: treat as expired */
    return invite_state_of(i->status, exp, now);
}

int invites_insert(db *d, mf_invite *i, const char *token_hash, mf_error *err)
{
    mf_id_new("inv", i->id);
    mf_time_format(mf_now(), i->created_at);
    snprintf(i->last_sent_at, sizeof(i->last_sent_at), "%s", i->created_at);
    snprintf(i->status, sizeof(i->status), "pending");
    i->sent_count = 1;
    return db_exec(d, err,
                   "INSERT INTO invites (id, org_id, address, address_norm, kind, note, status, "
                   "token_hash, invited_by, owner_id, expires_at, sent_count, last_sent_at, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, 1, ?, ?)",
                   i->id, i->org_id, i->address, i->address_norm, i->kind, i->note, token_hash,
                   store_nullable(i->invited_by), store_nullable(i->owner_id), i->expires_at,
                   i->last_sent_at, i->created_at, DB_END) < 0
               ? -1
               : 0;
}

int invites_get(db *d, const char *id, mf_invite *i, mf_error *err)
{
    return store_get_one(d, "SELECT " INVITE_COLS " FROM invites WHERE id = ?", id,
                         invite_from_row, i, "invite", err);
}

int invites_get_by_token_hash(db *d, const char *token_hash, mf_invite *i, mf_error *err)
{
    return store_get_one(d, "SELECT " INVITE_COLS " FROM invites WHERE token_hash = ?",
                         token_hash, invite_from_row, i, "invitation link", err);
}

int invites_find_pending(db *d, const char *org_id, const char *address_norm, time_t now,
                         mf_invite *i, mf_error *err)
{
    char ts[MF_TIME_LEN];
    mf_time_format(now, ts);
    db_stmt *st = db_prepare(d,
                             "SELECT " INVITE_COLS " FROM invites WHERE org_id = ? AND "
                             "address_norm = ? AND status = 'pending' AND expires_at > ? "
                             "ORDER BY id LIMIT 1",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, org_id);
    db_bind_text(st, 2, address_norm);
    db_bind_text(st, 3, ts);
    int rc = db_step(st);
    if (rc == DB_ROW) invite_from_row(st, i);
    db_finalize(&st);
    if (rc == DB_ROW) return 0;
    return rc == DB_DONE ? store_not_found(err, "invite") : -1;
}

int invites_list(db *d, const char *org_id, const char *state, time_t now, mf_page *pg,
                 void (*each)(const mf_invite *, void *), void *ctx, mf_error *err)
{
    char ts[MF_TIME_LEN];
    mf_time_format(now, ts);
    qb q;
    qb_init(&q, "SELECT " INVITE_COLS " FROM invites WHERE 1=1");
    qb_and(&q, "org_id = ?", org_id);
    if (state && strcmp(state, "pending") == 0) {
        qb_and(&q, "status = 'pending' AND expires_at > ?", ts);
    } else if (state && strcmp(state, "expired") == 0) {
        qb_and(&q, "status = 'pending' AND expires_at <= ?", ts);
    } else if (state) {
        qb_and(&q, "status = ?", state);
    }
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_invite i;
        invite_from_row(st, &i);
        each(&i, ctx);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}

int invites_renew(db *d, const char *id, const char *token_hash, const char *expires_at,
                  mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    int64_t n = db_exec(d, err,
                        "UPDATE invites SET token_hash = ?, expires_at = ?, last_sent_at = ?, "
                        "sent_count = sent_count + 1 WHERE id = ? AND status = 'pending'",
                        token_hash, expires_at, now, id, DB_END);
    if (n < 0) return -1;
    return n == 0 ? store_not_found(err, "pending invite") : 0;
}

int invites_set_outbox(db *d, const char *id, const char *outbox_id, mf_error *err)
{
    return db_exec(d, err, "UPDATE invites SET outbox_id = ? WHERE id = ?", outbox_id, id,
                   DB_END) < 0
               ? -1
               : 0;
}

int invites_revoke(db *d, const char *id, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    int64_t n = db_exec(d, err,
                        "UPDATE invites SET status = 'revoked', revoked_at = ? WHERE id = ? AND "
                        "status = 'pending'",
                        now, id, DB_END);
    return n < 0 ? -1 : (int)n;
}

int invites_accept(db *d, const char *id, const char *contributor_id, const char *mailbox_id,
                   time_t now, mf_error *err)
{
    char ts[MF_TIME_LEN];
    mf_time_format(now, ts);
    int64_t n = db_exec(d, err,
                        "UPDATE invites SET status = 'accepted', accepted_at = ?, "
                        "contributor_id = ?, mailbox_id = ? WHERE id = ? AND status = 'pending' "
                        "AND expires_at > ?",
                        ts, contributor_id, mailbox_id, id, ts, DB_END);
    return n < 0 ? -1 : (int)n;
}

/* ---- contributors ---- */


int contributors_list(db *d, const char *org_id, mf_page *pg,
                      void (*each)(const mf_user *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT id FROM users WHERE role = 'contributor'");
    qb_and(&q, "org_id = ?", org_id);
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    /* ids first, then each user read in full (users.c owns the row shape) */
    char (*ids)[MF_ID_LEN] = NULL;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        ids = xrealloc(ids, (size_t)n * sizeof(*ids));
        store_copy(ids[n - 1], sizeof(ids[n - 1]), st, 0);
    }
    db_finalize(&st);
    for (int k = 0; rc >= 0 && k < n; k++) {
        mf_user u;
        if (users_get(d, ids[k], &u, err) < 0) {
            rc = -1;
            break;
        }
        each(&u, ctx);
    }
    free(ids);
    return rc < 0 ? -1 : n;
}

int contributor_mailboxes(db *d, const char *contributor_id,
                          void (*each)(const mf_contributor_mailbox *, void *), void *ctx,
                          mf_error *err)
{
    db_stmt *st = db_prepare(d,
                             "SELECT id, address, kind, status, owner_id FROM mailboxes WHERE "
                             "owner_id = ? OR id IN (SELECT mailbox_id FROM invites WHERE "
                             "contributor_id = ? AND mailbox_id IS NOT NULL) ORDER BY id",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, contributor_id);
    db_bind_text(st, 2, contributor_id);
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        mf_contributor_mailbox m;
        store_copy(m.id, sizeof(m.id), st, 0);
        store_copy(m.address, sizeof(m.address), st, 1);
        store_copy(m.kind, sizeof(m.kind), st, 2);
        store_copy(m.status, sizeof(m.status), st, 3);
        store_copy(m.owner_id, sizeof(m.owner_id), st, 4);
        each(&m, ctx);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}

int contributor_owned_count(db *d, const char *contributor_id, mf_error *err)
{
    return store_count(d, "SELECT COUNT(*) FROM mailboxes WHERE owner_id = ?", contributor_id,
                       err);
}

int contributors_set_name(db *d, const char *id, const char *name, mf_error *err)
{
    int64_t n = db_exec(d, err, "UPDATE users SET name = ? WHERE id = ? AND role = 'contributor'",
                        name, id, DB_END);
    if (n < 0) return -1;
    return n == 0 ? store_not_found(err, "contributor") : 0;
}

int contributors_delete(db *d, const char *id, mf_error *err)
{
    int64_t n = db_exec(d, err, "DELETE FROM users WHERE id = ? AND role = 'contributor'", id,
                        DB_END);
    if (n < 0) return -1;
    return n == 0 ? store_not_found(err, "contributor") : 0;
}
