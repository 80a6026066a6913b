/* audit.c — the audit log: who did what to what, when (R27). Never content or credentials. */
#include <stdlib.h>
#include <string.h>
#include "store/store.h"

int audit_record(db *d, const char *org_id, const mf_actor *actor, const char *action,
                 const char *target_type, const char *target_id, const char *detail_json,
                 mf_error *err)
{
    char id[MF_ID_LEN], now[MF_TIME_LEN];
    mf_id_new("aud", id);
    mf_time_format(mf_now(), now);
    return db_exec(d, err,
                   "INSERT INTO audit_log (id, org_id, actor_id, actor_role, action, target_type, "
                   "target_id, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   id, store_nullable(org_id), actor ? store_nullable(actor->id) : NULL,
                   actor ? mf_role_name(actor->role) : "system", action, target_type,
                   store_nullable(target_id), detail_json ? detail_json : "{}", now, DB_END) < 0
               ? -1
               : 0;
}

int audit_list(db *d, const char *org_id, mf_page *pg,
               void (*each)(const mf_audit_entry *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT id, org_id, actor_id, actor_role, action, target_type, target_id, detail, "
                "created_at FROM audit_log WHERE 1=1");
    qb_and(&q, "org_id = ?", org_id);
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_audit_entry a;
        store_copy(a.id, sizeof(a.id), st, 0);
        store_copy(a.org_id, sizeof(a.org_id), st, 1);
        store_copy(a.actor_id, sizeof(a.actor_id), st, 2);
        store_copy(a.actor_role, sizeof(a.actor_role), st, 3);
        store_copy(a.action, sizeof(a.action), st, 4);
        store_copy(a.target_type, sizeof(a.target_type), st, 5);
        store_copy(a.target_id, sizeof(a.target_id), st, 6);
        a.detail_json = store_dup(st, 7, "{}");
        store_copy(a.created_at, sizeof(a.created_at), st, 8);
        each(&a, ctx);
        free(a.detail_json);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}
