/* messages.h — the engine's side of the store: synced messages and their conversations (R13,
 * R22, R23), per-folder sync state (UIDVALIDITY, last UID), mailbox health and sync progress
 * (R12), and the list of mailboxes the engine runs. */
#ifndef MF_STORE_MESSAGES_H
#define MF_STORE_MESSAGES_H
#include <stdint.h>
#include "store/db.h"
#include "util/ids.h"

typedef struct mf_message_in {
    const char *mailbox_id;
    const char *folder;
    const char *direction; /* "in" | "out" */
    int64_t uidvalidity, uid;
    const char *message_id; /* without <>, may be NULL */
    const char *content_hash; /* hex hash of the raw message: the dedupe key when no id */
    const char *in_reply_to;
    const char *const *references;
    size_t n_references;
    const char *from_addr, *from_name, *to_addrs, *cc_addrs, *subject;
    time_t date;
    const char *snippet, *body;
    int64_t size;
    const char *classification, *classification_reason;
    const char *outbound_id, *outbound_message_id; /* NULL when none */
    /* (outbound_id is also the thread of last resort: a reply matched only by our tracking id
     * joins the conversation of the message it answers) */
    const char *bounce_kind, *bounce_status, *bounce_recipient;
    time_t return_date; /* 0 = none */
    int unread;
} mf_message_in;

/* Store one message unless the mailbox already has it (same Message-ID, or the same content
 * when it has none — so a UIDVALIDITY resync cannot duplicate it): threads it into a conversation by In-Reply-To and
 * References (else starts one). *stored is 1 when new, 0 for a duplicate. Runs in the
 * caller's transaction, if any. The caller counts stored messages in the mailbox's progress
 * (mailboxes_add_imported), once per batch. */
int messages_store(db *d, const mf_message_in *m, char out_id[MF_ID_LEN], int *stored,
                   mf_error *err);
/* messages_imported += n (R13 progress). */
int mailboxes_add_imported(db *d, const char *mailbox_id, int64_t n, mf_error *err);
/* Row id of a message with this Message-ID sent (direction out) by the mailbox or by another
 * mailbox of the same owner — a reply may arrive at the master inbox (R19): 1 found, 0 not,
 * -1 error. */
int messages_find_outbound(db *d, const char *mailbox_id, const char *message_id,
                           char out_id[MF_ID_LEN], mf_error *err);

typedef struct mf_folder_state {
    char folder[256];
    char role[8];
    int64_t uidvalidity;
    int64_t last_uid;
    int backfill_done;
} mf_folder_state;
/* 0 and *s filled (zeros when the folder was never synced), -1 error. */
int folder_state_get(db *d, const char *mailbox_id, const char *folder, const char *role,
                     mf_folder_state *s, mf_error *err);
int folder_state_put(db *d, const char *mailbox_id, const mf_folder_state *s, mf_error *err);

/* R12: set the health state; when it changed, log it and return 1 (0 when unchanged). */
int mailboxes_set_status(db *d, const char *id, const char *status, const char *reason,
                         mf_error *err);
int mailboxes_set_sync(db *d, const char *id, int backfill_done, mf_error *err);

typedef struct mf_engine_mailbox {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char owner_id[MF_ID_LEN];
    char address[256];
    char status[16];
    int64_t config_version;
    char *imap_sealed; /* owned */
} mf_engine_mailbox;
/* Every mailbox with IMAP settings (any status), for the engine to reconcile its sessions. */
int mailboxes_for_engine(db *d, void (*each)(const mf_engine_mailbox *, void *), void *ctx,
                         mf_error *err);
#endif
