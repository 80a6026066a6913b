/* model.h — the rows of the store as C structs, shared by the store (which fills them) and its
 * users (app, api, cli). Strings are fixed buffers sized for their validated maximum, except
 * free text (signature, JSON) which is heap-owned and released by the matching *_clear(). */
#ifndef MF_MODEL_H
#define MF_MODEL_H
#include <stdint.h>
#include "core/address.h"
#include "core/roles.h"
#include "util/clock.h"
#include "util/ids.h"

#define MF_NAME_MAX 256
#define MF_SMTP_CONNECTIONS_MAX 10 /* a mailbox's parallel SMTP connections: 1..this */

typedef struct mf_org {
    char id[MF_ID_LEN];
    char name[MF_NAME_MAX];
    int mailbox_limit; /* LIMIT_UNSET when no contract override */
    int allow_generic;
    int admin_self_approve;
    int max_daily_limit;
    char created_at[MF_TIME_LEN];
} mf_org;

typedef struct mf_user {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char email[MF_ADDR_MAX];
    char name[MF_NAME_MAX];
    enum mf_role role;
    int locked;
    int mailbox_limit; /* LIMIT_UNSET when no override */
    char created_at[MF_TIME_LEN];
} mf_user;

typedef struct mf_mailbox {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char owner_id[MF_ID_LEN];
    char address[MF_ADDR_MAX];
    char address_norm[MF_ADDR_MAX];
    char kind[16];
    char status[16];
    char status_reason[MF_NAME_MAX];
    char status_since[MF_TIME_LEN];
    int is_default;
    char sender_name[MF_NAME_MAX];
    char *signature; /* owned */
    int daily_limit;
    int sent_today;
    char master_id[MF_ID_LEN]; /* "" when none */
    char created_at[MF_TIME_LEN];
    char time_zone[128];     /* R15: the day sent_today counts is local to this zone */
    int min_gap_seconds;     /* R15: at least this long between two sends */
    int smtp_connections;    /* outbox messages of this mailbox in flight at once (1-10) */
    /* sync progress (R13) */
    int64_t messages_imported;
    int backfill_done;
    char last_sync_at[MF_TIME_LEN];
} mf_mailbox;

typedef struct mf_slot {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char user_id[MF_ID_LEN]; /* "" when unassigned */
    char state[16];
    char purchased_at[MF_TIME_LEN];
    char renews_at[MF_TIME_LEN];
    char cancelled_at[MF_TIME_LEN];
    char ends_at[MF_TIME_LEN];
} mf_slot;

typedef struct mf_request {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char requester_id[MF_ID_LEN];
    char kind[16];
    char address[MF_ADDR_MAX];
    char address_norm[MF_ADDR_MAX];
    char target_user_id[MF_ID_LEN];
    int remove_from_other_seat;
    char status[16];
    char *checks_json; /* owned */
    char reason[512];
    char decided_by[MF_ID_LEN];
    char decided_at[MF_TIME_LEN];
    char mailbox_id[MF_ID_LEN];
    char continuity_tag[MF_ADDR_MAX + 32];
    char created_at[MF_TIME_LEN];
} mf_request;

typedef struct mf_prospect {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char owner_id[MF_ID_LEN];
    char mailbox_id[MF_ID_LEN];
    char email[MF_ADDR_MAX];
    char first_name[MF_NAME_MAX];
    char last_name[MF_NAME_MAX];
    char company[MF_NAME_MAX];
    char *fields_json; /* owned */
    char *tags_json;   /* owned: JSON array of strings */
    char state[16];
    char pause_reason[64];
    char created_at[MF_TIME_LEN];
} mf_prospect;

void mf_mailbox_clear(mf_mailbox *m);
void mf_request_clear(mf_request *r);
void mf_prospect_clear(mf_prospect *p);

/* Paging of list queries: items after `cursor` (an id, "" = from the start), at most `limit`. */
typedef struct mf_page {
    const char *cursor; /* in */
    int limit;          /* in */
    int more;           /* out: 1 when rows remain after the last one delivered */
    char last_id[MF_ID_LEN]; /* out: id of the last row delivered */
} mf_page;
#endif
