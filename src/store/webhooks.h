/* webhooks.h (store) — an organisation's webhook endpoints and the durable outbox of their
 * deliveries. webhook_emit is called by whatever makes an event happen (ingest, health,
 * enrollment pauses, assignment), inside ITS transaction, so an event is recorded exactly
 * when the change is (outbox pattern); the engine's webhook worker (engine/webhook_worker.c)
 * delivers the rows. */
#ifndef MF_STORE_WEBHOOKS_H
#define MF_STORE_WEBHOOKS_H
#include <stdint.h>
#include <time.h>
#include "store/db.h"
#include "store/model.h"
#include "util/clock.h"
#include "util/ids.h"

#define WEBHOOK_URL_MAX 2049 /* 2048 bytes + NUL */

typedef struct mf_webhook {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char url[WEBHOOK_URL_MAX];
    char *events_json; /* heap: JSON array of event names */
    int active;
    char created_at[MF_TIME_LEN];
    char updated_at[MF_TIME_LEN];
} mf_webhook;
void mf_webhook_clear(mf_webhook *w);

/* Fills id and the times. */
int webhooks_insert(db *d, mf_webhook *w, const char *secret_sealed, const char *created_by,
                    mf_error *err);
int webhooks_get(db *d, const char *id, mf_webhook *w, mf_error *err); /* 404 not_found */
/* url, events_json, active; and the secret when secret_sealed is not NULL. */
int webhooks_update(db *d, mf_webhook *w, const char *secret_sealed, mf_error *err);
int webhooks_delete(db *d, const char *id, mf_error *err); /* its deliveries too */
int webhooks_list(db *d, const char *org_id, mf_page *pg,
                  void (*each)(const mf_webhook *, void *), void *ctx, mf_error *err);

typedef struct mf_webhook_delivery {
    char id[MF_ID_LEN];
    char webhook_id[MF_ID_LEN];
    char event[40];
    char event_id[MF_ID_LEN];
    char status[16]; /* pending | delivered | failed */
    int attempts;
    int64_t last_status_code; /* 0: no HTTP answer (yet) */
    char last_error[300];
    char next_attempt_at[MF_TIME_LEN]; /* "" unless pending */
    char last_attempt_at[MF_TIME_LEN];
    char delivered_at[MF_TIME_LEN];
    char created_at[MF_TIME_LEN];
} mf_webhook_delivery;
/* status may be NULL (all). */
int webhook_deliveries_list(db *d, const char *webhook_id, const char *status, mf_page *pg,
                            void (*each)(const mf_webhook_delivery *, void *), void *ctx,
                            mf_error *err);

/* The event `event` of organisation org_id happened, with data payload_json (a JSON value):
 * one pending delivery per active webhook of the organisation subscribed to it, with the body
 * {id, event, created_at, org_id, data} fixed now (every attempt sends the same bytes). Call
 * it inside the transaction of the change. Returns the number of deliveries written (0 when
 * no endpoint wants it), or -1 (logged) when the store fails or the payload is not JSON. */
int webhook_emit(db *d, const char *org_id, const char *event, const char *payload_json);

/* conversation.assigned for conversation conv_id of mailbox mailbox_id (its organisation is
 * looked up): data {conversation_id, mailbox_id, assignee_id (null when unassigned),
 * previous_assignee_id, by: "hand"|"round_robin"}. Same transaction rules as webhook_emit. */
int webhook_emit_conversation_assigned(db *d, const char *mailbox_id, const char *conv_id,
                                       const char *assignee_id, const char *previous_id,
                                       const char *by);

/* enrollment.paused for each enrollment "SELECT ... FROM enrollments e WHERE <where>" finds
 * (where may use one `?`, bound to arg when arg is not NULL); call it just BEFORE the UPDATE
 * that pauses them, with the same condition, inside the same transaction. reason: the
 * pause_reason being set. Returns the number of events, or -1. */
int webhook_emit_enrollments_paused(db *d, const char *where, const char *arg,
                                    const char *reason);

/* ---- the worker's side ---- */
typedef struct mf_webhook_job {
    char id[MF_ID_LEN];
    char webhook_id[MF_ID_LEN];
    char event[40];
    char next_attempt_at[MF_TIME_LEN]; /* as read: the claim compares it */
    int attempts;                      /* before this attempt */
    char url[WEBHOOK_URL_MAX];
    char *payload;       /* heap */
    char *secret_sealed; /* heap */
} mf_webhook_job;
/* Pending deliveries of active webhooks due at `now`, oldest due first; each(job) — the job's
 * heap strings are freed after each returns unless it takes them (sets them to NULL). */
int webhook_deliveries_due(db *d, time_t now, int limit, void (*each)(mf_webhook_job *, void *),
                           void *ctx, mf_error *err);
/* Take a due delivery for one attempt: attempts + 1, next_attempt_at = lease_until (so a
 * crash lets it come back after the lease). 1 taken, 0 someone else took it, -1 error. */
int webhook_delivery_claim(db *d, const mf_webhook_job *j, time_t now, time_t lease_until,
                           mf_error *err);
/* Record an attempt's outcome: status pending (next_at = the retry), delivered or failed;
 * http_status 0 when no answer came; error NULL when none. */
int webhook_delivery_finish(db *d, const char *id, const char *status, time_t next_at,
                            long http_status, const char *error, mf_error *err);
#endif
