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
/* How many more messages a mailbox may claim (queued → sending) right now, so that with
 * several in flight the limits stay exact: at most `connections` of its messages in flight
 * (inflight already are); R15: sends counted at claim, so sent_today (in-flight included) +
 * claimed never passes daily_limit; with a minimum gap, one at a time and only once
 * last_send + min_gap has passed (last_send 0: never sent); at most overall_free over all
 * mailboxes. 0 when none may go now. */
int outbox_claimable(int connections, int inflight, int daily_limit, int sent_today,
                     int min_gap_seconds, time_t last_send, time_t now, int overall_free);
/* On start-up: a message found "sending" was in flight when the process died. */
enum outbox_state outbox_recover(enum outbox_state s);
#endif
