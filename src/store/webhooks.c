/* webhooks.c — webhook endpoints and their deliveries (the outbox of webhook calls); see
 * store/webhooks.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "core/webhook.h"
#include "store/store.h"
#include "store/webhooks.h"
#include "util/log.h"

void mf_webhook_clear(mf_webhook *w)
{
    if (!w) return;
    free(w->events_json);
    w->events_json = NULL;
}

#define WEBHOOK_COLS "id, org_id, url, events, active, created_at, updated_at"

static void fill_webhook(db_stmt *st, void *out)
{
    mf_webhook *w = out;
    store_copy(w->id, sizeof(w->id), st, 0);
    store_copy(w->org_id, sizeof(w->org_id), st, 1);
    store_copy(w->url, sizeof(w->url), st, 2);
    free(w->events_json);
    w->events_json = store_dup(st, 3, "[]");
    w->active = (int)db_col_int64(st, 4);
    store_copy(w->created_at, sizeof(w->created_at), st, 5);
    store_copy(w->updated_at, sizeof(w->updated_at), st, 6);
}

int webhooks_insert(db *d, mf_webhook *w, const char *secret_sealed, const char *created_by,
                    mf_error *err)
{
    mf_id_new("whk", w->id);
    mf_time_format(mf_now(), w->created_at);
    memcpy(w->updated_at, w->created_at, sizeof(w->updated_at));
    return db_exec(d, err,
                   "INSERT INTO webhooks (id, org_id, url, events, secret_sealed, active, "
                   "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
                   "CAST(? AS INTEGER), ?, ?, ?)",
                   w->id, w->org_id, w->url, w->events_json, secret_sealed,
                   w->active ? "1" : "0", store_nullable(created_by), w->created_at,
                   w->updated_at, DB_END) < 0
               ? -1
               : 0;
}

int webhooks_get(db *d, const char *id, mf_webhook *w, mf_error *err)
{
    return store_get_one(d, "SELECT " WEBHOOK_COLS " FROM webhooks WHERE id = ?", id,
                         fill_webhook, w, "webhook", err);
}

int webhooks_update(db *d, mf_webhook *w, const char *secret_sealed, mf_error *err)
{
    mf_time_format(mf_now(), w->updated_at);
    int64_t n = db_exec(d, err,
                        "UPDATE webhooks SET url = ?, events = ?, active = CAST(? AS INTEGER), "
                        "secret_sealed = COALESCE(?, secret_sealed), updated_at = ? WHERE id = ?",
                        w->url, w->events_json, w->active ? "1" : "0", secret_sealed,
                        w->updated_at, w->id, DB_END);
    if (n < 0) return -1;
    return n == 0 ? store_not_found(err, "webhook") : 0;
}

int webhooks_delete(db *d, const char *id, mf_error *err)
{
    if (db_exec(d, err, "DELETE FROM webhook_deliveries WHERE webhook_id = ?", id, DB_END) < 0)
        return -1;
    int64_t n = db_exec(d, err, "DELETE FROM webhooks WHERE id = ?", id, DB_END);
    if (n < 0) return -1;
    return n == 0 ? store_not_found(err, "webhook") : 0;
}

int webhooks_list(db *d, const char *org_id, mf_page *pg,
                  void (*each)(const mf_webhook *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT " WEBHOOK_COLS " FROM webhooks WHERE 1=1");
    qb_and(&q, "org_id = ?", org_id);
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    mf_webhook w;
    memset(&w, 0, sizeof(w));
    while ((rc = qb_next(st, pg, &n)) == 1) {
        fill_webhook(st, &w);
        each(&w, ctx);
    }
    mf_webhook_clear(&w);
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}

int webhook_deliveries_list(db *d, const char *webhook_id, const char *status, mf_page *pg,
                            void (*each)(const mf_webhook_delivery *, void *), void *ctx,
                            mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT id, webhook_id, event, event_id, status, attempts, last_status_code, "
                "last_error, next_attempt_at, last_attempt_at, delivered_at, created_at "
                "FROM webhook_deliveries WHERE 1=1");
    qb_and(&q, "webhook_id = ?", webhook_id);
    qb_and(&q, "status = ?", status);
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_webhook_delivery x;
        store_copy(x.id, sizeof(x.id), st, 0);
        store_copy(x.webhook_id, sizeof(x.webhook_id), st, 1);
        store_copy(x.event, sizeof(x.event), st, 2);
        store_copy(x.event_id, sizeof(x.event_id), st, 3);
        store_copy(x.status, sizeof(x.status), st, 4);
        x.attempts = (int)db_col_int64(st, 5);
        x.last_status_code = db_col_int64(st, 6);
        store_copy(x.last_error, sizeof(x.last_error), st, 7);
        store_copy(x.next_attempt_at, sizeof(x.next_attempt_at), st, 8);
        store_copy(x.last_attempt_at, sizeof(x.last_attempt_at), st, 9);
        store_copy(x.delivered_at, sizeof(x.delivered_at), st, 10);
        store_copy(x.created_at, sizeof(x.created_at), st, 11);
        each(&x, ctx);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}

int webhook_emit(db *d, const char *org_id, const char *event, const char *payload_json)
{
    mf_error err;
    if (!d || !org_id || !*org_id || !webhook_event_valid(event)) {
        log_warnx("webhooks: not an event to emit: %s", event ? event : "(null)");
        return -1;
    }
    /* Which endpoints want it: the events column is a JSON array of plain names, so the
     * quoted name is found as text. */
    char quoted[48];
    snprintf(quoted, sizeof(quoted), "\"%s\"", event);
    db_stmt *st = db_prepare(d, "SELECT id, events FROM webhooks WHERE org_id = ? AND active = 1",
                             &err);
    if (!st) {
        log_warnx("webhooks: cannot read the endpoints of %s: %s", org_id, err.message);
        return -1;
    }
    db_bind_text(st, 1, org_id);
    char (*hooks)[MF_ID_LEN] = NULL;
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *events = db_col_text(st, 1);
        if (!events || !strstr(events, quoted)) continue;
        hooks = xrealloc(hooks, (size_t)(n + 1) * sizeof(*hooks));
        store_copy(hooks[n++], MF_ID_LEN, st, 0);
    }
    db_finalize(&st);
    if (rc == DB_ERROR || n == 0) {
        free(hooks);
        return rc == DB_ERROR ? -1 : 0;
    }
    json_t *data = json_loads(payload_json ? payload_json : "{}", JSON_DECODE_ANY, NULL);
    if (!data) {
        free(hooks);
        log_warnx("webhooks: the %s payload is not JSON", event);
        return -1;
    }
    char event_id[MF_ID_LEN], now[MF_TIME_LEN];
    mf_id_new("evt", event_id);
    mf_time_format(mf_now(), now);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", event_id, "event", event,
                             "created_at", now, "org_id", org_id, "data", data);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int written = 0;
    for (int i = 0; text && i < n; i++) {
        char id[MF_ID_LEN];
        mf_id_new("whd", id);
        if (db_exec(d, &err,
                    "INSERT INTO webhook_deliveries (id, webhook_id, org_id, event, event_id, "
                    "payload, status, attempts, next_attempt_at, created_at, updated_at) VALUES "
                    "(?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
                    id, hooks[i], org_id, event, event_id, text, now, now, now, DB_END) < 0) {
            log_warnx("webhooks: cannot record %s for %s: %s", event, hooks[i], err.message);
            written = -1;
            break;
        }
        written++;
    }
    if (!text) written = -1;
    free(text);
    free(hooks);
    return written;
}

int webhook_emit_enrollments_paused(db *d, const char *where, const char *arg,
                                    const char *reason)
{
    char *sql = xasprintf("SELECT id, org_id, sequence_id, prospect_id, mailbox_id FROM "
                          "enrollments WHERE %s",
                          where);
    mf_error err;
    db_stmt *st = db_prepare(d, sql, &err);
    free(sql);
    if (!st) {
        log_warnx("webhooks: cannot read paused enrollments: %s", err.message);
        return -1;
    }
    if (arg) db_bind_text(st, 1, arg);
    struct row {
        char id[MF_ID_LEN], org[MF_ID_LEN], seq[MF_ID_LEN], prospect[MF_ID_LEN], mbx[MF_ID_LEN];
    } *rows = NULL;
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        rows = xrealloc(rows, (size_t)(n + 1) * sizeof(*rows));
        store_copy(rows[n].id, MF_ID_LEN, st, 0);
        store_copy(rows[n].org, MF_ID_LEN, st, 1);
        store_copy(rows[n].seq, MF_ID_LEN, st, 2);
        store_copy(rows[n].prospect, MF_ID_LEN, st, 3);
        store_copy(rows[n].mbx, MF_ID_LEN, st, 4);
        n++;
    }
    db_finalize(&st);
    int out = rc == DB_ERROR ? -1 : 0;
    for (int i = 0; out >= 0 && i < n; i++) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "enrollment_id", rows[i].id,
                              "sequence_id", rows[i].seq, "prospect_id", rows[i].prospect,
                              "mailbox_id", rows[i].mbx[0] ? rows[i].mbx : NULL, "reason", reason);
        char *pj = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (webhook_emit(d, rows[i].org, "enrollment.paused", pj) < 0) out = -1;
        else out++;
        free(pj);
    }
    free(rows);
    return out;
}

int webhook_deliveries_due(db *d, time_t now, int limit, void (*each)(mf_webhook_job *, void *),
                           void *ctx, mf_error *err)
{
    char at[MF_TIME_LEN], lim[16];
    mf_time_format(now, at);
    snprintf(lim, sizeof(lim), "%d", limit);
    db_stmt *st = db_prepare(d,
                             "SELECT d.id, d.webhook_id, d.event, d.next_attempt_at, d.attempts, "
                             "w.url, d.payload, w.secret_sealed FROM webhook_deliveries d JOIN "
                             "webhooks w ON w.id = d.webhook_id WHERE d.status = 'pending' AND "
                             "d.next_attempt_at <= ? AND w.active = 1 "
                             "ORDER BY d.next_attempt_at, d.id LIMIT CAST(? AS INTEGER)",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, at);
    db_bind_text(st, 2, lim);
    /* read them all first: each() writes to the same connection */
    mf_webhook_job *jobs = NULL;
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        jobs = xrealloc(jobs, (size_t)(n + 1) * sizeof(*jobs));
        mf_webhook_job *j = &jobs[n++];
        store_copy(j->id, sizeof(j->id), st, 0);
        store_copy(j->webhook_id, sizeof(j->webhook_id), st, 1);
        store_copy(j->event, sizeof(j->event), st, 2);
        store_copy(j->next_attempt_at, sizeof(j->next_attempt_at), st, 3);
        j->attempts = (int)db_col_int64(st, 4);
        store_copy(j->url, sizeof(j->url), st, 5);
        j->payload = store_dup(st, 6, "{}");
        j->secret_sealed = store_dup(st, 7, "");
    }
    db_finalize(&st);
    for (int i = 0; i < n; i++) {
        if (rc != DB_ERROR) each(&jobs[i], ctx);
        free(jobs[i].payload);
        free(jobs[i].secret_sealed);
    }
    free(jobs);
    return rc == DB_ERROR ? -1 : n;
}

int webhook_delivery_claim(db *d, const mf_webhook_job *j, time_t now, time_t lease_until,
                           mf_error *err)
{
    char at[MF_TIME_LEN], lease[MF_TIME_LEN];
    mf_time_format(now, at);
    mf_time_format(lease_until, lease);
    int64_t n = db_exec(d, err,
                        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = "
                        "?, last_attempt_at = ?, updated_at = ? WHERE id = ? AND status = "
                        "'pending' AND next_attempt_at = ?",
                        lease, at, at, j->id, j->next_attempt_at, DB_END);
    return n < 0 ? -1 : n > 0 ? 1 : 0;
}

int webhook_delivery_finish(db *d, const char *id, const char *status, time_t next_at,
                            long http_status, const char *error, mf_error *err)
{
    char now[MF_TIME_LEN], next[MF_TIME_LEN], code[24];
    mf_time_format(mf_now(), now);
    mf_time_format(next_at, next);
    snprintf(code, sizeof(code), "%ld", http_status);
    int pending = strcmp(status, "pending") == 0, delivered = strcmp(status, "delivered") == 0;
    return db_exec(d, err,
                   "UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, "
                   "last_status_code = CAST(? AS BIGINT), last_error = ?, delivered_at = "
                   "COALESCE(?, delivered_at), updated_at = ? WHERE id = ?",
                   status, pending ? next : NULL, http_status > 0 ? code : NULL, error,
                   delivered ? now : NULL, now, id, DB_END) < 0
               ? -1
               : 0;
}

int webhook_emit_conversation_assigned(db *d, const char *mailbox_id, const char *conv_id,
                                       const char *assignee_id, const char *previous_id,
                                       const char *by)
{
    mf_error err;
    db_stmt *st = db_prepare(d, "SELECT org_id FROM mailboxes WHERE id = ?", &err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    char org[MF_ID_LEN] = "";
    if (db_step(st) == DB_ROW) store_copy(org, sizeof(org), st, 0);
    db_finalize(&st);
    if (!org[0]) return -1;
    json_t *data = json_pack("{s:s,s:s,s:o,s:o,s:s}", "conversation_id", conv_id, "mailbox_id",
                             mailbox_id, "assignee_id",
                             assignee_id && *assignee_id ? json_string(assignee_id) : json_null(),
                             "previous_assignee_id",
                             previous_id && *previous_id ? json_string(previous_id) : json_null(),
                             "by", by);
    char *payload = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    int rc = payload ? webhook_emit(d, org, "conversation.assigned", payload) : -1;
    free(payload);
    return rc;
}
