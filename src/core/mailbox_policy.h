/* mailbox_policy.h — the checks that decide whether an address may be put on a seat (R2, R3,
 * R5, R6, R7) and whether a mailbox may change owner (R8). Used for direct adds (first failure
 * becomes the API error) and for mailbox requests (every check's result is stored, R10).
 * Pure: callers gather the facts from the store. */
#ifndef MF_MAILBOX_POLICY_H
#define MF_MAILBOX_POLICY_H
#include "core/roles.h"
#include "util/error.h"

typedef struct mf_seat_facts {
    const char *user_id;
    const char *org_id;
    int locked;
    int used;  /* mailboxes on the seat now */
    int limit; /* R3 limit */
} mf_seat_facts;

/* Where the address already lives, if anywhere (R7). */
typedef struct mf_address_facts {
    int in_use;
    const char *owner_id; /* seat that has it */
    const char *org_id;
    int owner_locked;
} mf_address_facts;

typedef struct mf_add_facts {
    const mf_actor *actor;
    mf_seat_facts target;
    const char *address_norm;
    int shared;        /* kind "shared" allows generic addresses (R6, R20) */
    int is_generic;    /* address_is_generic() */
    int allow_generic; /* organisation contract (R6) */
    mf_address_facts existing;
    int permission; /* requester allows removal from the other seat (R7) */
    int change_owner; /* moving an existing mailbox to the target (R8) */
} mf_add_facts;

#define MF_CHECK_MAX 6
typedef struct mf_check {
    char rule[4];
    int ok;
    char message[240];
    /* for the API error of a failed check: */
    int status;
    char code[48];
} mf_check;

/* Run every check (R2, R3, R5, R6, R7 — the R7 check also covers permission), fill out[] and
 * return how many were written. */
int mailbox_policy_checks(const mf_add_facts *f, mf_check out[MF_CHECK_MAX]);
/* Index of the first failed check in API order (R5, R2, R7, R6, R3), or -1 when all pass. */
int mailbox_policy_first_failure(const mf_check *checks, int n);
/* Turn a failed check into the API error (status, code, rule, message). */
int mailbox_policy_error(const mf_check *c, mf_error *err);
#endif
