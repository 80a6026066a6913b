/* conversations.h — reading the synced mail: the unified inbox (conversations across a set
 * of mailboxes, newest first), one conversation with its messages, and new-message events. */
#ifndef MF_STORE_CONVERSATIONS_H
#define MF_STORE_CONVERSATIONS_H
#include <stdint.h>
#include "store/db.h"
#include "util/clock.h"
#include "util/ids.h"

typedef struct mf_conversation {
    char id[MF_ID_LEN];
    char mailbox_id[MF_ID_LEN];
    char subject[2048];
    char last_message_at[MF_TIME_LEN];
    int64_t message_count, unread_count;
    char classification[16];
    char created_at[MF_TIME_LEN];
    /* shared mailboxes (R21) */
    char assignee_id[MF_ID_LEN]; /* "" = unassigned */
    char assigned_at[MF_TIME_LEN];
    char status[16];             /* open | pending | closed */
    char taken_by[MF_ID_LEN];    /* collision mark, valid until taken_until; "" = none */
    char taken_until[MF_TIME_LEN];
} mf_conversation;

typedef struct mf_message_row {
    char id[MF_ID_LEN];
    char mailbox_id[MF_ID_LEN];
    char conversation_id[MF_ID_LEN];
    char *message_id, *in_reply_to, *from_addr, *from_name, *to_addrs, *cc_addrs, *subject;
    char *snippet, *body_text; /* body_text only when asked for */
    char direction[4];
    char folder[256];
    char date[MF_TIME_LEN];
    int64_t size;
    char classification[16];
    char classification_reason[128];
    char outbound_id[MF_ID_LEN];
    char *outbound_message_id;
    char bounce_kind[8], bounce_status[16];
    char *bounce_recipient;
    char return_date[MF_TIME_LEN];
    int unread;
    char created_at[MF_TIME_LEN];
} mf_message_row;
void mf_message_row_clear(mf_message_row *m);

typedef struct mf_inbox_filter {
    const char *org_id;   /* NULL = any (operators) */
    const char *owner_id; /* mailboxes of this owner; NULL = any in the org */
    const char *member_id; /* mailboxes this user owns or is a member of (R20); NULL = any */
    const char *mailbox_id;
    const char *assignee_id; /* R21: assigned to this user */
    int unassigned;          /* R21: only conversations without an assignee */
    const char *status;      /* R21: open | pending | closed */
    const char *classification;
    int unread_only;
    /* paging, newest first: after (last_message_at, id) of the previous page's last row */
    const char *after_time, *after_id;
    int limit;
} mf_inbox_filter;
/* Returns rows delivered; *more set when another page exists. */
int conversations_list(db *d, const mf_inbox_filter *f, int *more,
                       void (*each)(const mf_conversation *, void *), void *ctx, mf_error *err);
int conversations_get(db *d, const char *id, mf_conversation *c, mf_error *err);
/* Messages of a conversation, oldest first, with their text bodies. */
int conversation_messages(db *d, const char *conversation_id,
                          void (*each)(const mf_message_row *, void *), void *ctx, mf_error *err);
/* Messages of a mailbox stored after message id `after` ("" = from the start), oldest first,
 * at most limit. */
int messages_since(db *d, const char *mailbox_id, const char *after, int limit,
                   void (*each)(const mf_message_row *, void *), void *ctx, mf_error *err);
#endif
