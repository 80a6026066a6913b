/* ingest.c — parse, classify, store one message; see ingest.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <jansson.h>
#include "core/classify.h"
#include "engine/assign.h"
#include "engine/ingest.h"
#include "mail/compose.h"
#include "mail/message_parse.h"
#include "store/messages.h"
#include "store/store.h"
#include "store/webhooks.h"
#include "util/log.h"
#include "util/clock.h"
#include "util/strbuf.h"

typedef struct ours_ctx {
    db *d;
    const char *mailbox_id;
} ours_ctx;

/* R22: is this Message-ID one this mailbox sent? */
static int is_ours(const char *message_id, void *arg)
{
    ours_ctx *c = arg;
    char id[MF_ID_LEN];
    return messages_find_outbound(c->d, c->mailbox_id, message_id, id, NULL) == 1;
}

static char *join_addrs(const msg_address *a, size_t n)
{
    strbuf sb;
    strbuf_init(&sb, 64 * 1024);
    for (size_t i = 0; i < n; i++) {
        if (!a[i].addr || !*a[i].addr) continue;
        if (sb.len) strbuf_addstr(&sb, ", ");
        strbuf_addstr(&sb, a[i].addr);
    }
    return strbuf_detach(&sb, NULL);
}

/* R22/R23: what an answer to sequence mail does to its enrollment — a reply stops it, a hard
 * bounce stops it and marks the prospect bounced, an out-of-office pauses it until the stated
 * return date (else 7 days). */
static void apply_to_enrollment(db *d, const classify_result *cr)
{
    char enrollment[MF_ID_LEN] = "";
    if (cr->match == CLASSIFY_MATCH_TRACKING_ID) {
        /* sequence mail's tracking id is "<enrollment id>-<step>" */
        const char *dash = strrchr(cr->tracking_id, '-');
        if (strncmp(cr->tracking_id, "enr_", 4) == 0 && dash &&
            (size_t)(dash - cr->tracking_id) < sizeof(enrollment))
            snprintf(enrollment, sizeof(enrollment), "%.*s", (int)(dash - cr->tracking_id),
                     cr->tracking_id);
    } else if (cr->outbound_id[0]) {
        db_stmt *st = db_prepare(d, "SELECT enrollment_id FROM outbox WHERE message_id = ? AND "
                                    "enrollment_id IS NOT NULL LIMIT 1", NULL);
        if (st) {
            db_bind_text(st, 1, cr->outbound_id);
            if (db_step(st) == DB_ROW) {
                const char *v = db_col_text(st, 0);
                snprintf(enrollment, sizeof(enrollment), "%s", v ? v : "");
            }
            db_finalize(&st);
        }
    }
    if (!enrollment[0]) return;
    char when[MF_TIME_LEN];
    switch (cr->kind) {
    case CLASSIFY_REPLY:
        db_exec(d, NULL, "UPDATE enrollments SET state = 'replied', pause_reason = NULL WHERE id "
                         "= ? AND state IN ('active','paused')", enrollment, DB_END);
        break;
    case CLASSIFY_BOUNCE:
        if (cr->bounce != CLASSIFY_BOUNCE_HARD) break;
        db_exec(d, NULL, "UPDATE enrollments SET state = 'bounced', pause_reason = NULL WHERE id "
                         "= ? AND state IN ('active','paused')", enrollment, DB_END);
        db_exec(d, NULL, "UPDATE prospects SET bounced = 1 WHERE id = (SELECT prospect_id FROM "
                         "enrollments WHERE id = ?)", enrollment, DB_END);
        break;
    case CLASSIFY_AUTO_REPLY:
        mf_time_format(cr->return_date > mf_now() ? cr->return_date : mf_now() + 7 * 86400, when);
        webhook_emit_enrollments_paused(d, "id = ? AND state = 'active'", enrollment,
                                        "out_of_office");
        db_exec(d, NULL, "UPDATE enrollments SET state = 'paused', pause_reason = "
                         "'out_of_office', resume_at = ? WHERE id = ? AND state = 'active'",
                when, enrollment, DB_END);
        break;
    default:
        break;
    }
}

/* Webhook events of a new inbound message: message.received always, and message.reply or
 * message.bounce by its classification, each with the same data. */
static void emit_message_events(db *d, const ingest_source *src, const char *id,
                                const mf_message_in *m, const classify_result *cr)
{
    char org[MF_ID_LEN] = "", conv[MF_ID_LEN] = "";
    db_stmt *st = db_prepare(d, "SELECT mb.org_id, m.conversation_id FROM messages m JOIN "
                                "mailboxes mb ON mb.id = m.mailbox_id WHERE m.id = ?", NULL);
    if (!st) return;
    db_bind_text(st, 1, id);
    if (db_step(st) == DB_ROW) {
        store_copy(org, sizeof(org), st, 0);
        store_copy(conv, sizeof(conv), st, 1);
    }
    db_finalize(&st);
    if (!org[0]) return;
    char date[MF_TIME_LEN] = "";
    if (m->date) mf_time_format(m->date, date);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s}", "message_id",
                          id, "mailbox_id", src->mailbox_id, "mailbox_address",
                          src->mailbox_address, "conversation_id", conv[0] ? conv : NULL,
                          "internet_message_id", m->message_id, "from", m->from_addr,
                          "from_name", m->from_name, "to", m->to_addrs, "subject", m->subject,
                          "snippet", m->snippet, "date", date[0] ? date : NULL,
                          "classification", m->classification);
    if (!j) return;
    if (m->outbound_message_id)
        json_object_set_new(j, "in_reply_to_ours", json_string(m->outbound_message_id));
    if (cr->kind == CLASSIFY_BOUNCE)
        json_object_set_new(j, "bounce",
                            json_pack("{s:s?,s:s?,s:s?}", "kind", m->bounce_kind, "status",
                                      m->bounce_status, "recipient", m->bounce_recipient));
    char *pj = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!pj) return;
    webhook_emit(d, org, "message.received", pj);
    if (cr->kind == CLASSIFY_REPLY) webhook_emit(d, org, "message.reply", pj);
    if (cr->kind == CLASSIFY_BOUNCE) webhook_emit(d, org, "message.bounce", pj);
    free(pj);
}

int ingest_message(db *d, const ingest_source *src, const void *raw, size_t len)
{
    message_parsed *p = NULL;
    mf_error err;
    if (message_parse(raw, len, &p, &err) < 0) {
        log_warnx("ingest: %s uid %lld in %s: %s", src->mailbox_address, (long long)src->uid,
                  src->folder, err.message);
        return -1;
    }
    int rc = ingest_parsed(d, src, raw, len, p);
    if (rc == 1 && mailboxes_add_imported(d, src->mailbox_id, 1, &err) < 0) rc = -1;
    message_parsed_free(&p);
    return rc;
}

int ingest_sent(db *d, const ingest_source *src, const char *raw, size_t len, const char *copy)
{
    message_parsed *p = copy ? compose_copy_read(copy, raw, len) : NULL;
    mf_error err;
    if (!p && message_parse(raw, len, &p, &err) < 0) {
        log_warnx("ingest: a message sent from %s: %s", src->mailbox_address, err.message);
        return -1;
    }
    int rc = ingest_parsed(d, src, raw, len, p);
    message_parsed_free(&p);
    return rc;
}

int ingest_parsed(db *d, const ingest_source *src, const void *raw, size_t len,
                  const message_parsed *p)
{
    mf_error err;
    int outgoing = strcmp(src->role, "sent") == 0 ||
                   (p->from.addr && strcasecmp(p->from.addr, src->mailbox_address) == 0);

    classify_result cr;
    memset(&cr, 0, sizeof(cr));
    classify_dsn_recipient dsn[MSG_DSN_MAX];
    size_t ndsn = p->n_dsn < MSG_DSN_MAX ? p->n_dsn : MSG_DSN_MAX;
    for (size_t i = 0; i < ndsn; i++) {
        dsn[i] = (classify_dsn_recipient){.final_recipient = p->dsn[i].final_recipient,
                                          .action = p->dsn[i].action,
                                          .status = p->dsn[i].status,
                                          .diagnostic_code = p->dsn[i].diagnostic_code};
    }
    if (!outgoing) {
        classify_input in = {
            .from_addr = p->from.addr,
            .subject = p->subject,
            .in_reply_to = p->in_reply_to,
            .references = (const char *const *)p->references,
            .n_references = p->n_references,
            .auto_submitted = p->markers.auto_submitted,
            .x_autoreply = p->markers.x_autoreply,
            .x_autorespond = p->markers.x_autorespond,
            .precedence = p->markers.precedence,
            .x_auto_response_suppress = p->markers.x_auto_response_suppress,
            .x_ms_inbox_rules_loop = p->markers.x_ms_inbox_rules_loop,
            .x_ms_generated_message_source = p->markers.x_ms_generated_message_source,
            .x_failed_recipients = p->markers.x_failed_recipients,
            .return_path_empty = p->markers.return_path_empty,
            .is_dsn = p->is_dsn,
            .dsn = dsn,
            .n_dsn = ndsn,
            .original_message_id = p->original_message_id,
            .original_references = (const char *const *)p->original_references,
            .n_original_references = p->n_original_references,
            .body = p->body,
            .received = src->internaldate ? src->internaldate : p->date,
        };
        ours_ctx oc = {.d = d, .mailbox_id = src->mailbox_id};
        classify_message(&in, is_ours, &oc, &cr);
    }
    char outbound_row[MF_ID_LEN] = "";
    if (cr.match == CLASSIFY_MATCH_TRACKING_ID) {
        /* our tracking id names the outbox row (one-off "out_...") or the enrollment's step
         * ("enr_...-N"): find the Message-ID we really sent */
        char out_id[MF_ID_LEN] = "";
        const char *dash = strrchr(cr.tracking_id, '-');
        db_stmt *st = NULL;
        if (strncmp(cr.tracking_id, "out_", 4) == 0) {
            st = db_prepare(d, "SELECT message_id FROM outbox WHERE id = ?", NULL);
            if (st) db_bind_text(st, 1, cr.tracking_id);
        } else if (strncmp(cr.tracking_id, "enr_", 4) == 0 && dash) {
            snprintf(out_id, sizeof(out_id), "enrollment:%.*s:step:%s",
                     (int)(dash - cr.tracking_id), cr.tracking_id, dash + 1);
            st = db_prepare(d, "SELECT message_id FROM outbox WHERE unique_key = ?", NULL);
            if (st) db_bind_text(st, 1, out_id);
        }
        if (st && db_step(st) == DB_ROW) {
            const char *mid = db_col_text(st, 0);
            if (mid) snprintf(cr.outbound_id, sizeof(cr.outbound_id), "%s", mid);
        }
        db_finalize(&st);
    }
    if (cr.outbound_id[0] &&
        messages_find_outbound(d, src->mailbox_id, cr.outbound_id, outbound_row, NULL) != 1)
        outbound_row[0] = '\0';

    char *to = join_addrs(p->to, p->n_to), *cc = join_addrs(p->cc, p->n_cc);
    mf_message_in m = {
        .mailbox_id = src->mailbox_id,
        .folder = src->folder,
        .direction = outgoing ? "out" : "in",
        .uidvalidity = src->uidvalidity,
        .uid = src->uid,
        .message_id = p->message_id,
        .in_reply_to = p->in_reply_to,
        .references = (const char *const *)p->references,
        .n_references = p->n_references,
        .from_addr = p->from.addr,
        .from_name = p->from.name,
        .to_addrs = to,
        .cc_addrs = cc,
        .subject = p->subject,
        .date = p->date ? p->date : src->internaldate,
        .snippet = p->snippet,
        .body = p->body,
        .size = src->size > 0 ? src->size : (int64_t)p->size,
        .classification = outgoing ? "human" : classify_kind_name(cr.kind),
        .classification_reason = outgoing ? "sent by this mailbox" : cr.reason,
        .outbound_id = outbound_row[0] ? outbound_row : NULL,
        .outbound_message_id = cr.outbound_id[0] ? cr.outbound_id : NULL,
        .bounce_kind = cr.bounce == CLASSIFY_BOUNCE_NONE ? NULL : classify_bounce_name(cr.bounce),
        .bounce_status = cr.bounce_status[0] ? cr.bounce_status : NULL,
        .bounce_recipient = cr.bounce_recipient[0] ? cr.bounce_recipient : NULL,
        .return_date = cr.return_date,
        .unread = !src->seen && !outgoing,
    };
    char hash[65] = "";
    if (!p->message_id || !*p->message_id) { /* no id: the content identifies it */
        unsigned char h[32];
        crypto_generichash(h, sizeof(h), raw, len, NULL, 0);
        sodium_bin2hex(hash, sizeof(hash), h, sizeof(h));
    }
    m.content_hash = hash;
    char id[MF_ID_LEN];
    int stored = 0;
    int rc = messages_store(d, &m, id, &stored, &err);
    if (rc < 0)
        log_warnx("ingest: cannot store uid %lld of %s: %s", (long long)src->uid,
                  src->mailbox_address, err.message);
    if (rc == 0 && stored && !outgoing) apply_to_enrollment(d, &cr);
    if (rc == 0 && stored && !outgoing && !src->backfill) emit_message_events(d, src, id, &m, &cr);
    /* R21: reopen on a reply from outside; round-robin a new conversation of a shared mailbox */
    if (rc == 0 && stored && !outgoing) assign_on_inbound(d, id, m.classification, src->backfill);
    free(to);
    free(cc);
    return rc < 0 ? -1 : stored;
}
