/* webhook_worker.h — delivers webhook events (the rows webhook_emit wrote, store/webhooks.h)
 * on its own thread, so no endpoint, however slow, ever holds up the engine's loop.
 *
 *   every second (and at once after a transfer ends while more are due):
 *     due pending deliveries of active webhooks ──claim (attempts + 1, leased)──>
 *     POST url with libcurl's multi interface (at most 16 at once, each with a timeout)
 *       2xx                         → delivered
 *       anything else, or no answer → pending again after the backoff of core/webhook.h,
 *                                     or failed after webhook_max_attempts attempts
 *
 * A delivery is at least once: one in flight when the process stops is claimed again when
 * its lease (timeout + 60 s) has passed, by this or another process. Receivers dedupe on the
 * body's id (the event) or X-Mailfleet-Delivery.
 *
 * The request: POST with the stored JSON body {id, event, created_at, org_id, data} and
 *   Content-Type: application/json
 *   X-Mailfleet-Event: <event>
 *   X-Mailfleet-Delivery: <delivery id>
 *   X-Mailfleet-Timestamp: <Unix seconds of this attempt>
 *   X-Mailfleet-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>
 * Redirects are not followed (a 3xx is a failed attempt); TLS certificates are verified
 * (the system store plus ca_file). Started and stopped with the engine. */
#ifndef MF_WEBHOOK_WORKER_H
#define MF_WEBHOOK_WORKER_H
#include "app/app.h"

typedef struct webhook_worker webhook_worker;

webhook_worker *webhook_worker_start(mf_app *app, mf_error *err);
/* Stop the thread (transfers in flight are abandoned: retried after their lease). */
void webhook_worker_stop(webhook_worker **w);
#endif
