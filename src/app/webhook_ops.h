/* webhook_ops.h — managing an organisation's webhooks (admins of the organisation, and
 * operators): validation, the signing secret (generated when not given, sealed with the
 * master key, R29, and handed back to the caller only at creation or rotation), one
 * transaction per change, audited (R27). Delivery is engine/webhook_worker.c. */
#ifndef MF_WEBHOOK_OPS_H
#define MF_WEBHOOK_OPS_H
#include "app/ops.h"
#include "store/webhooks.h"

typedef struct mf_webhook_input {
    const char *org_id;        /* create: the organisation (an admin's own when NULL) */
    const char *url;           /* NULL = unchanged (update) */
    const char *const *events; /* with n_events >= 1; n_events < 0 = unchanged (update) */
    int n_events;
    const char *secret;        /* NULL: generated (create) / unchanged (update) */
    int rotate_secret;         /* update: make a new secret (given back once) */
    int active;                /* -1 = unchanged (update); create: 1 when -1 */
} mf_webhook_input;

/* *secret_out (caller frees with mf_secret_free) gets the secret, shown this once. */
int ops_webhook_create(mf_app *app, db *d, const mf_actor *a, const mf_webhook_input *in,
                       mf_webhook *out, char **secret_out, mf_error *err);
/* A webhook of an organisation the actor administers; 404 otherwise; 403 for users. */
int ops_webhook_visible(db *d, const mf_actor *a, const char *id, mf_webhook *out,
                        mf_error *err);
/* *secret_out is set only when a new secret was made (rotate_secret). */
int ops_webhook_update(mf_app *app, db *d, const mf_actor *a, const char *id,
                       const mf_webhook_input *in, mf_webhook *out, char **secret_out,
                       mf_error *err);
int ops_webhook_delete(db *d, const mf_actor *a, const char *id, mf_error *err);
/* Which organisation's webhooks the actor lists: the admin's own; an operator's org_id
 * filter (NULL = all). 403 for users. */
int ops_webhook_list_org(const mf_actor *a, const char *org_query, const char **org_out,
                         mf_error *err);
#endif
