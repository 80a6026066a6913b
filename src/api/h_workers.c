/* h_workers.c — GET /api/v1/workers: operators see which engine worker runs which mailbox
 * (PostgreSQL scale-out; on SQLite the one engine holds no leases and the list is empty). */
#include <string.h>
#include "api/h_workers.h"
#include "store/leases.h"

static void collect_worker(const mf_engine_worker *w, void *ctx)
{
    json_t *o =
        json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:[],s:i}", "id", w->id, "host", w->host, "pid",
                  (json_int_t)w->pid, "started_at", w->started_at, "heartbeat_at", w->heartbeat_at,
                  "expires_at", w->expires_at, "mailboxes", "mailbox_count", 0);
    json_object_set_new((json_t *)ctx, w->id, o);
}

static void collect_lease(const char *worker_id, const char *mailbox_id, void *ctx)
{
    json_t *w = json_object_get((json_t *)ctx, worker_id);
    if (!w) return; /* a lease of a worker that just died: nobody runs it */
    json_array_append_new(json_object_get(w, "mailboxes"), json_string(mailbox_id));
    json_object_set_new(w, "mailbox_count",
                        json_integer((json_int_t)json_array_size(json_object_get(w, "mailboxes"))));
}

int h_workers_list(api_req *r)
{
    if (r->actor.role != ROLE_OPERATOR)
        return mf_fail(&r->err, 403, "forbidden", NULL, "only operators see the engine workers");
    time_t now = mf_now();
    json_t *by_id = json_object();
    if (leases_workers(r->d, now, collect_worker, by_id, &r->err) < 0 ||
        leases_list(r->d, now, collect_lease, by_id, &r->err) < 0) {
        json_decref(by_id);
        return -1;
    }
    json_t *items = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(by_id, k, v) json_array_append(items, v);
    json_decref(by_id);
    return api_ok(r, 200, json_pack("{s:o,s:n}", "items", items, "next_cursor"));
}
