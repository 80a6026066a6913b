/* requests.c — mailbox requests (add, change owner) with their stored rule checks and the
 * operator's decision (R10). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/store.h"

#define REQUEST_COLS                                                                               \
    "id, org_id, requester_id, kind, address, address_norm, target_user_id, "                     \
    "remove_from_other_seat, status, checks, reason, decided_by, decided_at, mailbox_id, "         \
    "continuity_tag, created_at"

void mf_request_clear(mf_request *r)
{
    free(r->checks_json);
    r->checks_json = NULL;
}

static void request_from_row(db_stmt *st, void *out)
{
    mf_request *r = out;
    store_copy(r->id, sizeof(r->id), st, 0);
    store_copy(r->org_id, sizeof(r->org_id), st, 1);
    store_copy(r->requester_id, sizeof(r->requester_id), st, 2);
    store_copy(r->kind, sizeof(r->kind), st, 3);
    store_copy(r->address, sizeof(r->address), st, 4);
    store_copy(r->address_norm, sizeof(r->address_norm), st, 5);
    store_copy(r->target_user_id, sizeof(r->target_user_id), st, 6);
    r->remove_from_other_seat = (int)db_col_int64(st, 7);
    store_copy(r->status, sizeof(r->status), st, 8);
    r->checks_json = store_dup(st, 9, "[]");
    store_copy(r->reason, sizeof(r->reason), st, 10);
    store_copy(r->decided_by, sizeof(r->decided_by), st, 11);
    store_copy(r->decided_at, sizeof(r->decided_at), st, 12);
    store_copy(r->mailbox_id, sizeof(r->mailbox_id), st, 13);
    store_copy(r->continuity_tag, sizeof(r->continuity_tag), st, 14);
    store_copy(r->created_at, sizeof(r->created_at), st, 15);
}

int requests_insert(db *d, mf_request *r, mf_error *err)
{
    mf_id_new("req", r->id);
    mf_time_format(mf_now(), r->created_at);
    db_stmt *st = db_prepare(d,
                             "INSERT INTO mailbox_requests (" REQUEST_COLS ") VALUES "
                             "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?)",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, r->id);
    db_bind_text(st, 2, r->org_id);
    db_bind_text(st, 3, r->requester_id);
    db_bind_text(st, 4, r->kind);
    db_bind_text(st, 5, r->address);
    db_bind_text(st, 6, r->address_norm);
    db_bind_text(st, 7, r->target_user_id);
    db_bind_int64(st, 8, r->remove_from_other_seat);
    db_bind_text(st, 9, r->status);
    db_bind_text(st, 10, r->checks_json ? r->checks_json : "[]");
    db_bind_text(st, 11, store_nullable(r->reason));
    db_bind_text(st, 12, store_nullable(r->continuity_tag));
    db_bind_text(st, 13, r->created_at);
    int rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    return rc;
}

int requests_get(db *d, const char *id, mf_request *r, mf_error *err)
{
    return store_get_one(d, "SELECT " REQUEST_COLS " FROM mailbox_requests WHERE id = ?", id,
                         request_from_row, r, "mailbox request", err);
}

int requests_decide(db *d, const mf_request *r, mf_error *err)
{
    return db_exec(d, err,
                   "UPDATE mailbox_requests SET status = ?, reason = ?, decided_by = ?, "
                   "decided_at = ?, mailbox_id = ?, continuity_tag = ?, checks = ? WHERE id = ?",
                   r->status, store_nullable(r->reason), store_nullable(r->decided_by),
                   store_nullable(r->decided_at), store_nullable(r->mailbox_id),
                   store_nullable(r->continuity_tag), r->checks_json ? r->checks_json : "[]",
                   r->id, DB_END) < 0
               ? -1
               : 0;
}

int requests_list(db *d, const char *org_id, const char *requester_id, const char *status,
                  mf_page *pg, void (*each)(const mf_request *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT " REQUEST_COLS " FROM mailbox_requests WHERE 1=1");
    qb_and(&q, "org_id = ?", org_id);
    qb_and(&q, "requester_id = ?", requester_id);
    qb_and(&q, "status = ?", status);
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_request r;
        request_from_row(st, &r);
        each(&r, ctx);
        mf_request_clear(&r);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}
