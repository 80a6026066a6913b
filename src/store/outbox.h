/* outbox.h (store) — the durable outbox (R26) and per-mailbox daily send counting (R15).
 * Each transition is committed before the next network step; see src/core/outbox.h for the
 * states. */
#ifndef MF_STORE_OUTBOX_H
#define MF_STORE_OUTBOX_H
#include <stdint.h>
#include <time.h>
#include "store/db.h"
#include "util/clock.h"
#include "util/ids.h"

typedef struct mf_outbox_new {
    const char *id; /* NULL: a new one; else an id made with mf_id_new("out") beforehand */
    const char *org_id;
    const char *mailbox_id; /* NULL: system mail */
    const char *kind;       /* one_off | sequence | system */
    const char *unique_key; /* NULL, or e.g. "enrollment:<id>:step:<n>" */
    const char *mail_from;
    const char *rcpts_json; /* JSON array of addresses */
    const char *raw;
    const char *copy_json; /* NULL, or compose_message.copy of raw (0013) */
    const char *message_id;
    const char *conversation_id; /* NULL */
    const char *created_by;      /* NULL */
    time_t not_before;           /* 0 = now */
} mf_outbox_new;

typedef struct mf_outbox_row {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char mailbox_id[MF_ID_LEN];
    char kind[16];
    char status[16];
    char *mail_from, *rcpts_json, *raw, *message_id, *error, *recipients_json;
    char *copy_json; /* NULL when none (0013) */
    char conversation_id[MF_ID_LEN];
    char created_by[MF_ID_LEN];
    int attempts;
    char next_attempt_at[MF_TIME_LEN];
    char created_at[MF_TIME_LEN];
    char updated_at[MF_TIME_LEN];
    char sent_at[MF_TIME_LEN];
} mf_outbox_row;
void mf_outbox_row_clear(mf_outbox_row *r);

/* Queue a message; with a unique_key already queued, nothing new is made: *created 0 and
 * out_id names the existing one (R26: a step is enqueued once per prospect). */
int outbox_enqueue(db *d, const mf_outbox_new *m, char out_id[MF_ID_LEN], int *created,
                   mf_error *err);
int outbox_get(db *d, const char *id, mf_outbox_row *r, mf_error *err);
/* Start-up: every message left "sending" becomes "unknown" (never re-sent); returns how many. */
int outbox_recover_sending(db *d, mf_error *err);
/* Queued messages due at now: the oldest one of each mailbox (so one busy mailbox never holds
 * up the others), at most limit; the row is valid during each. */
int outbox_due(db *d, time_t now, int limit, void (*each)(const mf_outbox_row *, void *),
               void *ctx, mf_error *err);
/* The mailboxes with queued messages due at now, each once ("" for system mail); for the
 * parallel runner, which then reads each mailbox's queue with outbox_due_rows. */
int outbox_due_mailboxes(db *d, time_t now, void (*each)(const char *mailbox_id, void *),
                         void *ctx, mf_error *err);
/* The oldest (at most limit) queued messages of one mailbox (NULL: system mail) due at now, in
 * id order (the outbox_mailbox_queue index); *rows is an array of *n (outbox_rows_free). */
int outbox_due_rows(db *d, const char *mailbox_id, time_t now, int limit, mf_outbox_row **rows,
                    int *n, mf_error *err);
void outbox_rows_free(mf_outbox_row **rows, int n);
/* queued → sending (attempts + 1): 1 when claimed, 0 when someone else did, -1 error. */
int outbox_claim(db *d, const char *id, mf_error *err);
/* The same, naming the engine worker that claims it (store/leases.h: if that worker dies, the
 * message becomes "unknown"); worker_id NULL: no leases (SQLite, one process). */
int outbox_claim_by(db *d, const char *id, const char *worker_id, mf_error *err);
/* sending → state, with the error text and per-recipient JSON; retry_at for "queued". */
int outbox_finish(db *d, const char *id, const char *state, const char *error,
                  const char *recipients_json, time_t retry_at, mf_error *err);

/* Sent messages whose stored copy is still to be written (0013): added in the transaction that
 * records "sent", done in the one that stores the copy. outbox_copies_pending calls each for
 * every one left (a restart after a crash), with the row as outbox_get gives it. */
int outbox_copy_pending_add(db *d, const char *id, mf_error *err);
int outbox_copy_pending_done(db *d, const char *id, mf_error *err);
int outbox_copies_pending(db *d, void (*each)(const mf_outbox_row *, void *), void *ctx,
                          mf_error *err);

/* R15: mails counted for the mailbox on local day `day` ("YYYY-MM-DD"). */
int mailbox_sent_on(db *d, const char *mailbox_id, const char *day, mf_error *err);
/* R15: count one more send on day (a new day starts at 1); delta -1 takes one back. */
int mailbox_count_send(db *d, const char *mailbox_id, const char *day, int delta, mf_error *err);
#endif
