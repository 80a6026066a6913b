/* batch.h — group commit of write requests on SQLite (docs/benchmarks.md, docs/decisions.md).
 *
 * Routes marked ROUTE_AUTH_BATCHED in router.c do not run their handler on the HTTP thread: the
 * request is handed to the process's one writer thread, which takes every request waiting at
 * that moment (at most BATCH_MAX), opens one transaction (db_group_begin), runs each handler
 * in it — each handler's own transaction becomes a savepoint, so a request that fails is
 * undone alone — and commits them all with one COMMIT. Only then does each HTTP thread get its
 * answer: no request is answered before its work is committed, and when that COMMIT fails —
 * or a handler meets a database error (5xx), which may have ended the transaction inside
 * SQLite — every request of the group gets the error instead of its answer.
 *
 * Why: each SQLite commit writes every page it changed to the WAL, and a connection's page
 * cache is emptied whenever another connection commits; one writer connection committing
 * groups writes the hot pages (index leaves, the audit log) once per group and keeps its cache.
 * Handlers run one after the other on the writer thread, so batched routes must not wait on
 * anything slow outside the database. */
#ifndef MF_BATCH_H
#define MF_BATCH_H
#include "api/api.h"

typedef struct batcher batcher;

/* Start the writer thread (SQLite only): NULL, without error, for PostgreSQL, whose writers
 * work side by side (handlers then run on the HTTP thread as usual). */
batcher *batch_start(mf_app *app);
/* Run h(r) in the next group and wait until that group is committed (or failed). r->d is the
 * writer's connection while h runs. Returns h's result, or -1 with r->err when the group's
 * COMMIT failed. */
int batch_run(batcher *b, api_req *r, api_handler h);
/* Like batch_run for the write half of a handler: fn(r, arg) runs in the next group (r->d the
 * writer's connection) while the handler's reads and other work stay on the HTTP thread. */
int batch_call(batcher *b, api_req *r, int (*fn)(api_req *r, void *arg), void *arg);
/* Finish the waiting requests and stop the thread. */
void batch_stop(batcher **b);
#endif
