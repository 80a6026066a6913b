/* webhook.h — the pure rules of webhooks: the event names an endpoint may subscribe to, the
 * signature of a delivery, and the retry schedule.
 *
 * Signature. A delivery carries X-Mailfleet-Timestamp: T (Unix seconds of this attempt) and
 *     X-Mailfleet-Signature: sha256=<lower-case hex HMAC-SHA256(key = secret, T "." body)>
 * so a receiver that checks it (and that T is recent) knows the body came from mailfleet, was
 * not changed, and is not an old request played again.
 *
 * Retries. After the n-th failed attempt (n = 1, 2, ...) the next one comes after
 *     d = min(max, base * 2^(n-1)) seconds, jittered uniformly in [ceil(d/2), d]
 * ("equal jitter": never sooner than half the step, so a receiver that is down is not
 * hammered, and endpoints that failed together do not retry in lockstep). After max_attempts
 * attempts in all the delivery is failed. */
#ifndef MF_CORE_WEBHOOK_H
#define MF_CORE_WEBHOOK_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define WEBHOOK_EVENT_COUNT 6
/* message.received, message.reply, message.bounce, mailbox.status, conversation.assigned,
 * enrollment.paused — in that order */
extern const char *const webhook_events[WEBHOOK_EVENT_COUNT];
int webhook_event_valid(const char *name); /* 1 when name is one of them */

/* An endpoint URL: http:// or https://, a host (name, IPv4, or [IPv6]), an optional port
 * 1..65535, then an optional path/query of printable ASCII (no spaces: percent-encode); no
 * user:password@ (the signature authenticates mailfleet; credentials would be shown in every
 * GET), no #fragment, at most 2048 bytes. 0 when good, else -1 with why (a sentence). */
int webhook_url_check(const char *url, char *why, size_t why_len);
/* The host of a URL that passed webhook_url_check ("[::1]" keeps its brackets) -> 0, or -1. */
int webhook_url_host(const char *url, char *host, size_t host_len);

/* A secret given by the admin: 16..128 printable ASCII characters, no spaces. */
int webhook_secret_check(const char *secret, char *why, size_t why_len);

/* "sha256=" + 64 hex digits + NUL */
#define WEBHOOK_SIGNATURE_LEN 72
/* The X-Mailfleet-Signature value: HMAC-SHA256 of the raw body keyed with the secret (API.md). */
void webhook_sign(const char *secret, const void *body, size_t len, char out[WEBHOOK_SIGNATURE_LEN]);

/* Seconds to wait after the attempts-th failed attempt (attempts >= 1); rnd is any random
 * number (the jitter). base and max are at least 1. */
long webhook_backoff_seconds(int attempts, long base, long max, uint32_t rnd);

/* The outcome of one attempt: delivered (2xx), retry later, or failed for good (attempts
 * reached max_attempts). http_status is 0 when no response came. */
enum webhook_outcome { WEBHOOK_DELIVERED = 0, WEBHOOK_RETRY, WEBHOOK_FAILED };
enum webhook_outcome webhook_after_attempt(long http_status, int attempts, int max_attempts);
#endif
