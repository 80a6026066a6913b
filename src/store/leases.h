/* leases.h (store) — mailbox leases of engine workers (scale-out on PostgreSQL, DESIGN.md).
 *
 * Every running worker has a row in engine_workers (id "host:pid:random") with an expiry that
 * its heartbeat pushes forward; a worker whose row expired is dead. Each mailbox has one row
 * in mailbox_leases: free (worker_id '') or held by one worker until expires_at. A worker runs
 * (IMAP sessions, outbox sends) only the mailboxes it holds. One heartbeat, in ONE transaction
 * (the caller's):
 *
 *   leases_heartbeat   upsert the worker's row, renew every lease it still holds
 *   leases_sweep_dead  R26: messages left "sending" by a dead worker → "unknown"; dead rows go
 *   leases_counts      how many mailboxes, how many live workers (the fair share)
 *   leases_claim       up to n free or expired leases (PostgreSQL: FOR UPDATE SKIP LOCKED, so
 *                      two workers never take the same one; SQLite: the transaction is the
 *                      only writer); on each, the mailbox's messages left "sending" by a dead
 *                      worker become "unknown" before this worker can send anything of it
 *   leases_shed        give back n leases (more than the fair share)
 *   leases_held        the mailboxes this worker holds now
 *
 * leases_release (clean stop) frees every lease of the worker and removes its row, so its
 * in-flight messages become "unknown" at the next sweep of any worker. Times are the workers'
 * clocks (RFC 3339 texts): keep them in sync (NTP) well within lease_seconds. */
#ifndef MF_STORE_LEASES_H
#define MF_STORE_LEASES_H
#include <stdint.h>
#include <time.h>
#include "store/db.h"
#include "util/clock.h"
#include "util/ids.h"

#define MF_WORKER_ID_LEN 128

typedef struct mf_engine_worker {
    char id[MF_WORKER_ID_LEN];
    char host[64];
    int64_t pid;
    char started_at[MF_TIME_LEN];
    char heartbeat_at[MF_TIME_LEN];
    char expires_at[MF_TIME_LEN];
} mf_engine_worker;

/* Upsert w (heartbeat now, expiry now + lease_seconds; started_at kept from the first call)
 * and renew every lease held by w->id. Returns the leases renewed, -1 on error. */
int leases_heartbeat(db *d, const mf_engine_worker *w, time_t now, int lease_seconds,
                     mf_error *err);
/* "sending" messages claimed by no live worker (claimed_by NULL or a worker row expired or
 * gone) become "unknown"; expired worker rows are deleted. Returns the messages marked. */
int leases_sweep_dead(db *d, time_t now, mf_error *err);
/* Every mailbox gets its lease row (free) if it has none; *mailboxes = rows, *live = workers
 * whose row has not expired. 0 or -1. */
int leases_counts(db *d, time_t now, int *mailboxes, int *live, mf_error *err);
/* Take up to n leases that are free or expired and not ours, in mailbox id order.
 * taken(mailbox_id, previous holder ("" when it was free), messages made unknown, ctx) for
 * each. Returns how many were taken, -1 on error. Inside a transaction. */
int leases_claim(db *d, const char *worker_id, time_t now, int lease_seconds, int n,
                 void (*taken)(const char *, const char *, int, void *), void *ctx, mf_error *err);
/* Free n of the worker's leases (the highest mailbox ids). Returns how many. */
int leases_shed(db *d, const char *worker_id, int n, mf_error *err);
/* The mailboxes the worker holds (not expired at now), each once. Returns how many. */
int leases_held(db *d, const char *worker_id, time_t now, void (*each)(const char *, void *),
                void *ctx, mf_error *err);
/* Inside the caller's transaction: 1 when worker_id holds mailbox_id's lease at now (on
 * PostgreSQL the lease row is then locked FOR SHARE until the transaction ends, so no other
 * worker can take it over meanwhile), 0 when not, -1 on error. */
int leases_check(db *d, const char *mailbox_id, const char *worker_id, time_t now, mf_error *err);
/* Clean stop: every lease of the worker is freed and its row deleted. 0 or -1. */
int leases_release(db *d, const char *worker_id, mf_error *err);

/* For GET /workers: live workers (id order), then every held lease (worker, mailbox). */
int leases_workers(db *d, time_t now, void (*each)(const mf_engine_worker *, void *), void *ctx,
                   mf_error *err);
int leases_list(db *d, time_t now,
                void (*each)(const char *worker_id, const char *mailbox_id, void *), void *ctx,
                mf_error *err);
#endif
