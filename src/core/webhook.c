/* webhook.c — event names, signatures and the retry schedule of webhooks; see webhook.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include "core/webhook.h"

const char *const webhook_events[WEBHOOK_EVENT_COUNT] = {
    "message.received", "message.reply",         "message.bounce",
    "mailbox.status",   "conversation.assigned", "enrollment.paused",
};

int webhook_event_valid(const char *name)
{
    for (int i = 0; name && i < WEBHOOK_EVENT_COUNT; i++)
        if (strcmp(name, webhook_events[i]) == 0) return 1;
    return 0;
}

void webhook_sign(const char *secret, const void *body, size_t len, char out[WEBHOOK_SIGNATURE_LEN])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, WEBHOOK_SIGNATURE_LEN - 7, mac, sizeof(mac));
    sodium_memzero(&st, sizeof(st));
}

long webhook_backoff_seconds(int attempts, long base, long max, uint32_t rnd)
{
    if (base < 1) base = 1;
    if (max < base) max = base;
    if (attempts < 1) attempts = 1;
    long d = base;
    for (int i = 1; i < attempts && d < max; i++) d = d > max / 2 ? max : d * 2;
    if (d > max) d = max;
    long lo = (d + 1) / 2; /* ceil(d/2) */
    return lo + (long)(rnd % (uint32_t)(d - lo + 1));
}

enum webhook_outcome webhook_after_attempt(long http_status, int attempts, int max_attempts)
{
    if (http_status >= 200 && http_status <= 299) return WEBHOOK_DELIVERED;
    return attempts >= max_attempts ? WEBHOOK_FAILED : WEBHOOK_RETRY;
}

static int bad(char *why, size_t len, const char *msg)
{
    snprintf(why, len, "%s", msg);
    return -1;
}

int webhook_url_check(const char *url, char *why, size_t why_len)
{
    if (!url || !*url) return bad(why, why_len, "is empty");
    size_t n = strlen(url);
    if (n > 2048) return bad(why, why_len, "is longer than 2048 characters");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f)
            return bad(why, why_len, "may hold only printable ASCII without spaces "
                                     "(percent-encode the rest)");
    }
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0) p = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0) p = url + 7;
    else return bad(why, why_len, "must start with https:// or http://");
    if (strchr(url, '#')) return bad(why, why_len, "must not have a #fragment");
    size_t alen = strcspn(p, "/?");
    const char *end = p + alen;
    if (memchr(p, '@', alen))
        return bad(why, why_len, "must not carry user:password@ (the signature authenticates "
                                 "mailfleet to the receiver)");
    const char *host = p, *hend;
    if (*host == '[') { /* [IPv6] */
        hend = memchr(host, ']', alen);
        if (!hend || hend == host + 1) return bad(why, why_len, "has a broken [IPv6] host");
        for (const char *q = host + 1; q < hend; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
                return bad(why, why_len, "has a broken [IPv6] host");
        hend++;
    } else {
        hend = host;
        while (hend < end && *hend != ':') {
            if (!isalnum((unsigned char)*hend) && *hend != '-' && *hend != '.')
                return bad(why, why_len, "has a host name with characters a host name cannot have");
            hend++;
        }
        if (hend == host) return bad(why, why_len, "has no host");
        if (*host == '.' || *host == '-') return bad(why, why_len, "has a broken host name");
    }
    if (hend < end) {
        if (*hend != ':' || hend + 1 == end) return bad(why, why_len, "has a broken port");
        long port = 0;
        for (const char *q = hend + 1; q < end; q++) {
            if (!isdigit((unsigned char)*q) || port > 65535)
                return bad(why, why_len, "has a port that is not 1..65535");
            port = port * 10 + (*q - '0');
        }
        if (port < 1 || port > 65535) return bad(why, why_len, "has a port that is not 1..65535");
    }
    return 0;
}

int webhook_url_host(const char *url, char *host, size_t host_len)
{
    const char *p = strstr(url ? url : "", "://");
    if (!p || host_len == 0) return -1;
    p += 3;
    size_t n = strcspn(p, "/?#");
    if (*p == '[') {
        const char *close = memchr(p, ']', n);
        if (!close) return -1;
        n = (size_t)(close - p) + 1;
    } else {
        const char *colon = memchr(p, ':', n);
        if (colon) n = (size_t)(colon - p);
    }
    if (n == 0 || n >= host_len) return -1;
    memcpy(host, p, n);
    host[n] = '\0';
    return 0;
}

int webhook_secret_check(const char *secret, char *why, size_t why_len)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n < 16 || n > 128) return bad(why, why_len, "must be 16 to 128 characters long");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)secret[i];
        if (c <= 0x20 || c >= 0x7f)
            return bad(why, why_len, "may hold only printable ASCII without spaces");
    }
    return 0;
}
