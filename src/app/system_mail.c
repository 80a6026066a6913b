/* system_mail.c — compose and queue one system email; see system_mail.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "app/system_mail.h"
#include "mail/compose.h"
#include "store/outbox.h"
#include "util/clock.h"
#include "util/log.h"

#define DEFAULT_SYSTEM_FROM "mailfleet@localhost.localdomain"

int system_mail_queue(mf_app *app, db *d, system_mail *m, char out_id[MF_ID_LEN], mf_error *err)
{
    const char *from = app->cfg.system_from[0] ? app->cfg.system_from : DEFAULT_SYSTEM_FROM;
    for (char *c = m->subject; *c; c++) /* a header line: no control characters from names */
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';
    compose_address to = {.name = NULL, .addr = m->to};
    compose_input ci = {.from = {.name = "mailfleet", .addr = from},
                        .to = &to,
                        .n_to = 1,
                        .subject = m->subject,
                        .date = mf_now(),
                        .text = m->text,
                        .html = m->html};
    compose_message *msg = NULL;
    if (!m->text[0] || !m->html[0])
        return mf_fail_internal(err, "%s email too large", m->what);
    if (compose_build(&ci, &msg, err) < 0) {
        /* a system_from the composer refuses is a configuration problem, not the caller's */
        log_errorx("%s: the email cannot be composed: %s", m->what, err ? err->message : "");
        return mf_fail(err, 500, "bad_config", NULL,
                       "the %s email cannot be composed (check system_from): %s", m->what,
                       err ? err->message : "");
    }
    json_t *rj = json_pack("[s]", m->to);
    char *rtext = json_dumps(rj, JSON_COMPACT);
    json_decref(rj);
    int created = 0;
    mf_outbox_new o = {.org_id = m->org_id,
                       .mailbox_id = NULL,
                       .kind = "system",
                       .unique_key = m->unique_key,
                       .mail_from = from,
                       .rcpts_json = rtext,
                       .raw = msg->data,
                       .message_id = msg->message_id,
                       .created_by = m->created_by};
    int rc = outbox_enqueue(d, &o, out_id, &created, err);
    free(rtext);
    compose_message_free(&msg);
    return rc;
}
