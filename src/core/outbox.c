/* outbox.c — the outbox state machine (R26); see outbox.h. */
#include <string.h>
#include "core/outbox.h"

static const char *names[] = {"queued", "sending", "sent", "failed", "unknown"};

const char *outbox_state_name(enum outbox_state s)
{
    return (unsigned)s < 5 ? names[s] : "invalid";
}

int outbox_state_parse(const char *s, enum outbox_state *out)
{
    for (int i = 0; i < 5; i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *out = (enum outbox_state)i;
            return 0;
        }
    }
    return -1;
}

bool outbox_transition_allowed(enum outbox_state from, enum outbox_state to)
{
    switch (from) {
    case OUTBOX_QUEUED: return to == OUTBOX_SENDING;
    case OUTBOX_SENDING:
        return to == OUTBOX_SENT || to == OUTBOX_FAILED || to == OUTBOX_QUEUED ||
               to == OUTBOX_UNKNOWN;
    default: return false; /* sent, failed and unknown are final */
    }
}

bool outbox_state_final(enum outbox_state s)
{
    return s == OUTBOX_SENT || s == OUTBOX_FAILED || s == OUTBOX_UNKNOWN;
}

enum outbox_state outbox_after_attempt(enum outbox_outcome o, int attempts, int max_attempts,
                                       time_t now, time_t *retry_at)
{
    switch (o) {
    case OUTBOX_ACCEPTED: return OUTBOX_SENT;
    case OUTBOX_REFUSED: return OUTBOX_FAILED;
    case OUTBOX_LOST_AFTER_DATA: return OUTBOX_UNKNOWN;
    case OUTBOX_DEFERRED:
        break;
    }
    if (attempts >= max_attempts) return OUTBOX_FAILED;
    long delay = 60;
    for (int i = 1; i < attempts && delay < 3600; i++) delay *= 2;
    if (delay > 3600) delay = 3600;
    if (retry_at) *retry_at = now + delay;
    return OUTBOX_QUEUED;
}

enum outbox_state outbox_recover(enum outbox_state s)
{
    return s == OUTBOX_SENDING ? OUTBOX_UNKNOWN : s;
}

int outbox_claimable(int connections, int inflight, int daily_limit, int sent_today,
                     int min_gap_seconds, time_t last_send, time_t now, int overall_free)
{
    if (connections < 1) connections = 1;
    int k = connections - inflight;
    if (daily_limit - sent_today < k) k = daily_limit - sent_today;
    if (overall_free < k) k = overall_free;
    if (min_gap_seconds > 0) {
        /* the gap is between two sends: never two at once, and not before it has passed */
        if (inflight > 0 || (last_send && now < last_send + min_gap_seconds)) return 0;
        if (k > 1) k = 1;
    }
    return k > 0 ? k : 0;
}
