/* assign.h — assignment in the engine (R21): what a stored inbound message does to its
 * conversation (reopen, round-robin assignment of a new conversation of a shared mailbox),
 * and the periodic check that alerts a shared mailbox's owner, once, about conversations left
 * unassigned longer than the mailbox's unassigned_alert_minutes. */
#ifndef MF_ENGINE_ASSIGN_H
#define MF_ENGINE_ASSIGN_H
#include "store/db.h"

/* Inside the caller's transaction, after inbound message msg_id was stored:
 *   - a pending or closed conversation is reopened by mail from a person (R21);
 *   - the first inbound message of a conversation opens its alert clock, and in a shared
 *     mailbox with the round_robin rule the conversation goes to the next available member
 *     with reply access under the cap (src/core/team.c), the cursor moving on.
 * backfill: the message came with the first import of the mailbox's history (R13): nothing
 * is assigned and no alert clock starts for the past. Errors are logged, not returned. */
void assign_on_inbound(db *d, const char *msg_id, const char *classification, int backfill);

/* The unassigned-alert check on the engine loop, every assignment_check_seconds. */
typedef struct assign_alerts assign_alerts;
struct engine;
assign_alerts *assign_alerts_start(struct engine *e);
/* One pass now (also used by the timer): returns how many owners were notified. */
int assign_alerts_run(db *d);
void assign_alerts_free(assign_alerts **a);
#endif
