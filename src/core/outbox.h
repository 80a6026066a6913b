/* outbox.h — R26: the life of one outgoing message, at most once.
 *
 *     queued ──claim (committed before any network step)──> sending
 *     sending ──server accepted DATA──────────────────────> sent
 *     sending ──5xx, or attempts exhausted────────────────> failed
 *     sending ──4xx / network before DATA was sent─────────> queued (retry after backoff)
 *     sending ──crash, kill, or connection lost after DATA─> unknown   (reported, never resent)
 *
 * "unknown" is final: a message whose DATA may have reached the server is never sent again
 * automatically. Pure functions; the store applies them. */
#ifndef MF_OUTBOX_H
#define MF_OUTBOX_H
#include <stdbool.h>
#include <time.h>

enum outbox_state { OUTBOX_QUEUED = 0, OUTBOX_SENDING, OUTBOX_SENT, OUTBOX_FAILED, OUTBOX_UNKNOWN };

/* What the SMTP attempt came to. */
enum outbox_outcome {
    OUTBOX_ACCEPTED,       /* DATA accepted (at least one recipient) */
    OUTBOX_REFUSED,        /* permanent refusal (5xx) */
    OUTBOX_DEFERRED,       /* temporary refusal (4xx) or network failure before DATA */
    OUTBOX_LOST_AFTER_DATA /* the connection died after DATA was sent: outcome unknown */
};

const char *outbox_state_name(enum outbox_state s);
int outbox_state_parse(const char *s, enum outbox_state *out);
bool outbox_transition_allowed(enum outbox_state from, enum outbox_state to);
bool outbox_state_final(enum outbox_state s);
/* The state after an attempt; *retry_at is set for a retry (queued again): backoff of
 * 60·2^(attempts-1) seconds, capped at 1 hour. attempts counts this one. After max_attempts
 * deferrals the message fails. */
enum outbox_state outbox_after_attempt(enum outbox_outcome o, int attempts, int max_attempts,
                                       time_t now, time_t *retry_at);
/* On start-up: a message found "sending" was in flight when the process died. */
enum outbox_state outbox_recover(enum outbox_state s);
#endif
