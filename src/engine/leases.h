/* leases.h (engine) — which mailboxes this engine runs when several workers share one
 * PostgreSQL database (DESIGN.md, store/leases.h). The lease keeper has the worker's id
 * ("host:pid:random") and a heartbeat timer on the engine's loop, every lease_seconds/3:
 *
 *   heartbeat (one transaction): renew the worker row and its leases; messages left "sending"
 *     by dead workers → "unknown" (R26); fair share = ceil(mailboxes / live workers), at most
 *     one more held: take free or expired leases up to the share (at most lease_batch a time),
 *     give back what is above share + 1; read back the held set.
 *   after the commit, when the held set changed: the engine reconciles (sessions of mailboxes
 *     no longer held stop, new ones start) and the outbox runner looks for due mail.
 *   a heartbeat that cannot commit: the held set stays until its leases would have expired,
 *     then this engine stops every session (another worker may run them now).
 *
 * On SQLite there is one engine per database: no keeper (NULL), every mailbox is its own, and
 * every function below answers as if it held every lease. Everything runs on the loop thread. */
#ifndef MF_ENGINE_LEASES_H
#define MF_ENGINE_LEASES_H
#include <stdbool.h>
#include "engine/engine_internal.h"

typedef struct lease_keeper lease_keeper;

/* PostgreSQL: a keeper, already set as e->leases, that has run its first heartbeat (and
 * reconciled the sessions). SQLite: NULL. */
lease_keeper *lease_keeper_start(engine *e);
/* Clean stop: the leases are given back at once (other workers take them at their next
 * heartbeat) and the worker row removed. Call after the sessions and the sender stopped. */
void lease_keeper_free(lease_keeper **lk);
/* Does this engine run that mailbox? (true without a keeper) */
bool lease_keeper_holds(const lease_keeper *lk, const char *mailbox_id);
/* The worker id to record on claimed outbox rows; NULL without a keeper. */
const char *lease_keeper_worker_id(const lease_keeper *lk);
/* Inside a transaction on d, before claiming a mailbox's outbox messages: 1 when the lease is
 * still this worker's (and, on PostgreSQL, locked until the commit so no takeover can slip
 * in), 0 when not, -1 on error. 1 without a keeper. */
int lease_keeper_check(lease_keeper *lk, db *d, const char *mailbox_id, mf_error *err);
#endif
