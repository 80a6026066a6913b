/* slots.c — purchased connection slots of an organisation and their assignment to seats (R3)
 * and cancellation at the next renewal (R4). */
#include <stdio.h>
#include <string.h>
#include "store/store.h"

#define SLOT_COLS "id, org_id, user_id, state, purchased_at, renews_at, cancelled_at, ends_at"

static void slot_from_row(db_stmt *st, void *out)
{
    mf_slot *s = out;
    store_copy(s->id, sizeof(s->id), st, 0);
    store_copy(s->org_id, sizeof(s->org_id), st, 1);
    store_copy(s->user_id, sizeof(s->user_id), st, 2);
    store_copy(s->state, sizeof(s->state), st, 3);
    store_copy(s->purchased_at, sizeof(s->purchased_at), st, 4);
    store_copy(s->renews_at, sizeof(s->renews_at), st, 5);
    store_copy(s->cancelled_at, sizeof(s->cancelled_at), st, 6);
    store_copy(s->ends_at, sizeof(s->ends_at), st, 7);
}

int slots_buy(db *d, const char *org_id, int count, void (*each)(const mf_slot *, void *),
              void *ctx, mf_error *err)
{
    time_t now = mf_now();
    for (int i = 0; i < count; i++) {
        mf_slot s;
        memset(&s, 0, sizeof(s));
        mf_id_new("slt", s.id);
        snprintf(s.org_id, sizeof(s.org_id), "%s", org_id);
        snprintf(s.state, sizeof(s.state), "active");
        mf_time_format(now, s.purchased_at);
        mf_time_format(mf_add_month(now), s.renews_at);
        if (db_exec(d, err,
                    "INSERT INTO slots (id, org_id, state, purchased_at, renews_at) "
                    "VALUES (?, ?, 'active', ?, ?)",
                    s.id, org_id, s.purchased_at, s.renews_at, DB_END) < 0)
            return -1;
        if (each) each(&s, ctx);
    }
    return count;
}

int slots_assigned_count(db *d, const char *user_id, mf_error *err)
{
    return store_count(d, "SELECT COUNT(*) FROM slots WHERE user_id = ? AND state = 'active'",
                       user_id, err);
}

int slots_free_count(db *d, const char *org_id, mf_error *err)
{
    return store_count(
        d, "SELECT COUNT(*) FROM slots WHERE org_id = ? AND state = 'active' AND user_id IS NULL",
        org_id, err);
}

int slots_assign(db *d, const char *org_id, const char *user_id, int count, mf_error *err)
{
    int free_n = slots_free_count(d, org_id, err);
    if (free_n < 0) return -1;
    if (free_n < count)
        return mf_fail(err, 422, "no_free_slots", "R3",
                       "the organisation has %d free slot(s), %d asked; buy more with POST /slots",
                       free_n, count);
    db_stmt *st = db_prepare(d,
                             "UPDATE slots SET user_id = ? WHERE id IN (SELECT id FROM slots "
                             "WHERE org_id = ? AND state = 'active' AND user_id IS NULL "
                             "ORDER BY id LIMIT ?)",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, user_id);
    db_bind_text(st, 2, org_id);
    db_bind_int64(st, 3, count);
    int rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    return rc;
}

int slots_get(db *d, const char *id, mf_slot *s, mf_error *err)
{
    return store_get_one(d, "SELECT " SLOT_COLS " FROM slots WHERE id = ?", id, slot_from_row, s,
                         "slot", err);
}

int slots_cancel(db *d, const char *id, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    return db_exec(d, err,
                   "UPDATE slots SET state = 'cancelled', cancelled_at = ?, ends_at = renews_at "
                   "WHERE id = ? AND state = 'active'",
                   now, id, DB_END) < 0
               ? -1
               : 0;
}

int slots_list(db *d, const char *org_id, const char *user_id, mf_page *pg,
               void (*each)(const mf_slot *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT " SLOT_COLS " FROM slots WHERE 1=1");
    qb_and(&q, "org_id = ?", org_id);
    qb_and(&q, "user_id = ?", user_id);
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_slot s;
        slot_from_row(st, &s);
        each(&s, ctx);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}
