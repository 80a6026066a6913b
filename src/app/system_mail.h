/* system_mail.h — one of mailfleet's own emails (invites, login invites) composed (text + HTML)
 * and queued on the durable outbox in the caller's transaction; the system mailer sends it. */
#ifndef MF_SYSTEM_MAIL_H
#define MF_SYSTEM_MAIL_H
#include "app/app.h"
#include "store/db.h"
#include "util/error.h"
#include "util/ids.h"

typedef struct system_mail {
    const char *org_id;
    const char *to;         /* one address */
    char *subject;          /* control characters are blanked in place */
    const char *text, *html;
    const char *unique_key; /* the outbox's: the same key is queued once */
    const char *created_by; /* user id or NULL */
    const char *what;       /* for messages: "invite", "login invite" */
} system_mail;

/* -> 0 with out_id set, or -1 (500 bad_config when system_from cannot be composed) */
int system_mail_queue(mf_app *app, db *d, system_mail *m, char out_id[MF_ID_LEN], mf_error *err);
#endif
