/* sequences.h — sequences, their steps, and enrollments (R18, with R8, R19, R22, R23, R25
 * pausing and stopping them). */
#ifndef MF_STORE_SEQUENCES_H
#define MF_STORE_SEQUENCES_H
#include "store/model.h"
#include "store/db.h"

typedef struct mf_sequence {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char owner_id[MF_ID_LEN];
    char mailbox_id[MF_ID_LEN];
    char name[MF_NAME_MAX];
    char state[16];
    int window_days, window_start, window_end;
    char time_zone[128];
    char created_at[MF_TIME_LEN];
} mf_sequence;

typedef struct mf_step {
    int idx, delay_minutes;
    char *subject, *text, *html; /* owned; html may be NULL */
} mf_step;

typedef struct mf_enrollment {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char sequence_id[MF_ID_LEN];
    char prospect_id[MF_ID_LEN];
    char mailbox_id[MF_ID_LEN];
    char state[16];
    char pause_reason[64];
    int step;
    char next_at[MF_TIME_LEN];
    char resume_at[MF_TIME_LEN];
    char token[96];
    char created_at[MF_TIME_LEN];
    char updated_at[MF_TIME_LEN];
} mf_enrollment;

int sequences_insert(db *d, mf_sequence *s, const mf_step *steps, int n, mf_error *err);
int sequences_get(db *d, const char *id, mf_sequence *s, mf_error *err);
int sequences_list(db *d, const char *org_id, const char *owner_id, mf_page *pg,
                   void (*each)(const mf_sequence *, void *), void *ctx, mf_error *err);
/* Steps in order; *out owned by the caller (steps_free). */
int sequence_steps(db *d, const char *sequence_id, mf_step **out, int *n, mf_error *err);
void steps_free(mf_step **steps, int n);

/* Enrol once: an existing enrollment of that prospect is returned (*created 0). */
int enrollments_insert(db *d, mf_enrollment *e, int *created, mf_error *err);
int enrollments_get(db *d, const char *id, mf_enrollment *e, mf_error *err);
int enrollments_get_by_token(db *d, const char *token, mf_enrollment *e, mf_error *err);
typedef struct mf_enrollment_filter {
    const char *org_id, *sequence_id, *state, *owner_id;
} mf_enrollment_filter;
int enrollments_list(db *d, mf_enrollment_filter f, mf_page *pg,
                     void (*each)(const mf_enrollment *, void *), void *ctx, mf_error *err);
/* Active enrollments due at now whose sequence is active (collected before each is called). */
int enrollments_due(db *d, time_t now, int limit, void (*each)(const mf_enrollment *, void *),
                    void *ctx, mf_error *err);
/* Set state (and pause reason / resume time, NULL for none). */
int enrollments_set_state(db *d, const char *id, const char *state, const char *reason,
                          const char *resume_at, mf_error *err);
int enrollments_advance(db *d, const char *id, int step, time_t next_at, int finished,
                        mf_error *err);
#endif
