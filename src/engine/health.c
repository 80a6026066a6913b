/* health.c — R12 transitions: store, history, audit (R27), notifications (R28), and the
 * webhook event mailbox.status, all in one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "engine/health.h"
#include "store/messages.h"
#include "store/store.h"
#include "store/webhooks.h"
#include "util/log.h"

static void notify_owner_and_admins(db *d, const health_target *t, const char *kind,
                                    const char *data)
{
    mf_error err;
    if (notifications_add(d, t->owner_id, kind, data, &err) < 0)
        log_warnx("health: cannot notify the owner of %s: %s", t->address, err.message);
    db_stmt *st = db_prepare(d,
                             "SELECT id FROM users WHERE org_id = ? AND role = 'admin' AND id <> ?",
                             &err);
    if (!st) return;
    db_bind_text(st, 1, t->org_id);
    db_bind_text(st, 2, t->owner_id);
    char ids[64][MF_ID_LEN];
    int n = 0;
    while (n < 64 && db_step(st) == DB_ROW) store_copy(ids[n++], MF_ID_LEN, st, 0);
    db_finalize(&st);
    for (int i = 0; i < n; i++) notifications_add(d, ids[i], kind, data, NULL);
}

/* Was the state logged before the newest one failing or error? (The newest is the change
 * just written.) */
static int last_logged_down(db *d, const char *mailbox_id)
{
    db_stmt *st = db_prepare(d,
                             "SELECT status FROM mailbox_status_log WHERE mailbox_id = ? "
                             "ORDER BY id DESC LIMIT 1 OFFSET 1",
                             NULL);
    if (!st) return 0;
    db_bind_text(st, 1, mailbox_id);
    int down = 0;
    if (db_step(st) == DB_ROW) {
        const char *s = db_col_text(st, 0);
        down = s && (strcmp(s, "failing") == 0 || strcmp(s, "error") == 0);
    }
    db_finalize(&st);
    return down;
}

int health_set(db *d, const health_target *t, const char *status, const char *reason)
{
    mf_error err;
    mf_mailbox before;
    memset(&before, 0, sizeof(before));
    if (db_begin(d, &err) < 0) return -1;
    int rc = mailboxes_get(d, t->mailbox_id, &before, &err);
    int changed = rc == 0 ? mailboxes_set_status(d, t->mailbox_id, status, reason, &err) : -1;
    if (changed > 0) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s?}", "mailbox_id", t->mailbox_id, "address",
                              t->address, "from", before.status, "to", status, "reason", reason);
        char *dj = json_dumps(j, JSON_COMPACT);
        rc = audit_record(d, t->org_id, NULL, "mailbox.status", "mailbox", t->mailbox_id, dj,
                          &err);
        /* New credentials put a failing mailbox back to "connecting" first; what counts is
         * the last state the engine saw. */
        int was_down = strcmp(before.status, "failing") == 0 || strcmp(before.status, "error") == 0 ||
                       (strcmp(before.status, "connecting") == 0 && last_logged_down(d, t->mailbox_id));
        if (rc == 0 && webhook_emit(d, t->org_id, "mailbox.status", dj) < 0) rc = -1;
        if (rc == 0 && strcmp(status, "failing") == 0 && strcmp(before.status, "failing") != 0)
            notify_owner_and_admins(d, t, "mailbox_failing", dj);
        if (rc == 0 && strcmp(status, "good") == 0 && was_down)
            notify_owner_and_admins(d, t, "mailbox_recovered", dj);
        free(dj);
        json_decref(j);
    }
    mf_mailbox_clear(&before);
    if (rc < 0 || changed < 0) {
        db_rollback(d);
        log_errorx("health: cannot record %s for %s", status, t->address);
        return -1;
    }
    if (db_commit(d, &err) < 0) return -1;
    if (changed > 0)
        log_info("mailbox %s is %s%s%s", t->address, status, reason ? ": " : "",
                 reason ? reason : "");
    return 0;
}
