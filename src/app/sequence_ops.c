/* sequence_ops.c — sequences and enrollments (R18): a sequence sends from exactly one mailbox
 * (the owner's default when none is given, R16) within a send window; prospects are enrolled
 * once; pause and resume keep their place; unsubscribing (R25) stops the enrollment and puts
 * the address on the organisation's suppression list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "app/ops.h"
#include "core/sendday.h"
#include "core/template.h"
#include "store/sequences.h"

static int default_mailbox(db *d, const char *owner_id, char out[MF_ID_LEN], mf_error *err)
{
    db_stmt *st = db_prepare(d, "SELECT id FROM mailboxes WHERE owner_id = ? AND is_default = 1",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, owner_id);
    int rc = db_step(st);
    if (rc == DB_ROW) store_copy(out, MF_ID_LEN, st, 0);
    db_finalize(&st);
    if (rc == DB_ERROR) return -1;
    if (rc != DB_ROW)
        return mf_fail(err, 422, "invalid_request", "R16",
                       "mailbox_id: you have no default mailbox; connect one or give mailbox_id");
    return 0;
}

int ops_sequence_create(db *d, const mf_actor *a, mf_sequence *s, const mf_step *steps, int n,
                        mf_error *err)
{
    if (!a->org_id[0])
        return mf_fail(err, 403, "forbidden", "R1", "sequences belong to an organisation");
    if (n < 1 || n > 50) return mf_fail(err, 400, "invalid_request", NULL, "steps: give 1 to 50");
    for (int i = 0; i < n; i++) {
        mf_error sub;
        if (template_check(steps[i].subject, strlen(steps[i].subject), TEMPLATE_LINE, &sub) < 0 ||
            template_check(steps[i].text, strlen(steps[i].text), TEMPLATE_TEXT, &sub) < 0 ||
            (steps[i].html &&
             template_check(steps[i].html, strlen(steps[i].html), TEMPLATE_HTML, &sub) < 0))
            return mf_fail(err, 400, "invalid_request", NULL, "steps[%d]: %s", i, sub.message);
    }
    snprintf(s->org_id, sizeof(s->org_id), "%s", a->org_id);
    snprintf(s->owner_id, sizeof(s->owner_id), "%s", a->id);
    if (db_begin(d, err) < 0) return -1;
    int rc = 0;
    if (!s->mailbox_id[0]) rc = default_mailbox(d, a->id, s->mailbox_id, err); /* R16 */
    mf_mailbox m;
    memset(&m, 0, sizeof(m));
    if (rc == 0) rc = ops_mailbox_visible(d, a, s->mailbox_id, &m, err);
    if (rc == 0 && strcmp(m.owner_id, a->id) != 0)
        rc = mf_fail(err, 403, "forbidden", "R18", "a sequence sends from one of your own mailboxes");
    mf_mailbox_clear(&m);
    if (rc == 0) rc = sequences_insert(d, s, steps, n, err);
    if (rc == 0) {
        json_t *j = json_pack("{s:s,s:s,s:i}", "name", s->name, "mailbox_id", s->mailbox_id,
                              "steps", n);
        char *dj = json_dumps(j, JSON_COMPACT);
        rc = ops_audit(d, a, s->org_id, "sequence.create", "sequence", s->id, dj);
        free(dj);
        json_decref(j);
    }
    return ops_finish(d, rc, err);
}

int ops_sequence_visible(db *d, const mf_actor *a, const char *id, mf_sequence *s, mf_error *err)
{
    if (sequences_get(d, id, s, err) < 0) return -1;
    if (!roles_can_access_org(a, s->org_id) ||
        (strcmp(s->owner_id, a->id) != 0 && !roles_is_admin_of(a, s->org_id)))
        return store_not_found(err, "sequence");
    return 0;
}

int ops_enroll(db *d, const mf_actor *a, const char *sequence_id, char *const *prospect_ids,
               int n, void (*each)(const mf_enrollment *, void *), void *ctx, mf_error *err)
{
    mf_sequence s;
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_sequence_visible(d, a, sequence_id, &s, err);
    for (int i = 0; rc == 0 && i < n; i++) {
        mf_prospect p;
        memset(&p, 0, sizeof(p));
        rc = prospects_get(d, prospect_ids[i], &p, err);
        if (rc == 0 && strcmp(p.org_id, s.org_id) != 0) rc = store_not_found(err, "prospect");
        if (rc == 0 && strcmp(p.owner_id, a->id) != 0 && !roles_is_admin_of(a, s.org_id))
            rc = mf_fail(err, 403, "forbidden", "R1", "prospect %s belongs to another member",
                         p.id);
        mf_enrollment e;
        memset(&e, 0, sizeof(e));
        int created = 0;
        if (rc == 0) {
            snprintf(e.org_id, sizeof(e.org_id), "%s", s.org_id);
            snprintf(e.sequence_id, sizeof(e.sequence_id), "%s", s.id);
            snprintf(e.prospect_id, sizeof(e.prospect_id), "%s", p.id);
            snprintf(e.mailbox_id, sizeof(e.mailbox_id), "%s", s.mailbox_id);
            rc = enrollments_insert(d, &e, &created, err);
        }
        if (rc == 0 && each) each(&e, ctx);
        mf_prospect_clear(&p);
    }
    if (rc == 0) {
        char detail[64];
        snprintf(detail, sizeof(detail), "{\"prospects\":%d}", n);
        rc = ops_audit(d, a, s.org_id, "sequence.enroll", "sequence", s.id, detail);
    }
    return ops_finish(d, rc, err);
}

int ops_enrollment_set(db *d, const mf_actor *a, const char *id, int pause, mf_enrollment *out,
                       mf_error *err)
{
    mf_sequence s;
    if (db_begin(d, err) < 0) return -1;
    int rc = enrollments_get(d, id, out, err);
    if (rc == 0) rc = ops_sequence_visible(d, a, out->sequence_id, &s, err);
    if (rc == 0 && rc == 0 && pause && strcmp(out->state, "active") != 0)
        rc = mf_fail(err, 409, "invalid_state", NULL, "the enrollment is %s, not active", out->state);
    if (rc == 0 && !pause && strcmp(out->state, "paused") != 0)
        rc = mf_fail(err, 409, "invalid_state", NULL, "the enrollment is %s, not paused", out->state);
    if (rc == 0)
        rc = enrollments_set_state(d, id, pause ? "paused" : "active", pause ? "manual" : NULL,
                                   NULL, err);
    if (rc == 0)
        rc = ops_audit(d, a, s.org_id, pause ? "enrollment.pause" : "enrollment.resume",
                       "enrollment", id, NULL);
    if (ops_finish(d, rc, err) < 0) return -1;
    return enrollments_get(d, id, out, err);
}

int ops_unsubscribe(db *d, const char *token, mf_enrollment *out, mf_error *err)
{
    if (db_begin(d, err) < 0) return -1;
    int rc = enrollments_get_by_token(d, token, out, err);
    mf_prospect p;
    memset(&p, 0, sizeof(p));
    if (rc == 0) rc = prospects_get(d, out->prospect_id, &p, err);
    if (rc == 0 && strcmp(out->state, "unsubscribed") != 0)
        rc = enrollments_set_state(d, out->id, "unsubscribed", NULL, NULL, err);
    if (rc == 0) { /* R25: the whole organisation stops writing to this address */
        char now[MF_TIME_LEN];
        mf_time_format(mf_now(), now);
        rc = db_exec(d, err,
                     "INSERT INTO suppressions (org_id, address_norm, reason, created_at) VALUES "
                     "(?, ?, 'unsubscribe', ?) ON CONFLICT (org_id, address_norm) DO NOTHING",
                     out->org_id, p.email, now, DB_END) < 0
                 ? -1
                 : 0;
        db_exec(d, NULL,
                "UPDATE enrollments SET state = 'unsubscribed' WHERE state IN ('active','paused') "
                "AND prospect_id IN (SELECT id FROM prospects WHERE org_id = ? AND email = ?)",
                out->org_id, p.email, DB_END);
    }
    if (rc == 0) rc = audit_record(d, out->org_id, NULL, "prospect.unsubscribe", "prospect",
                                   out->prospect_id, NULL, err);
    mf_prospect_clear(&p);
    return ops_finish(d, rc, err);
}
