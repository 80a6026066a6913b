/* config.h — mailfleet's configuration: built-in defaults, then the config file (`key = value`
 * lines, `#` comments; see docs/operations.md), then environment variables, then command-line
 * flags. Every key and its default is listed in mailfleet.conf.example. */
#ifndef MF_CONFIG_H
#define MF_CONFIG_H
#include "util/error.h"

#define MF_MAX_GENERIC 64

typedef struct mf_config {
    char *db;                   /* "sqlite:./mailfleet.db" | path | "postgres://..." */
    char *listen;               /* "127.0.0.1:8025" */
    char *key_file;             /* "./mailfleet.key" */
    char *public_url;           /* "" = http://<listen> */
    char *log_level;            /* "info" */
    char *ca_file;              /* "" */
    char *system_smtp;          /* "": smtp[s]://[user:pass@]host:port of the system mailer */
    char *system_from;          /* "": From of system mail (mailfleet@localhost.localdomain) */
    int http_threads;           /* 8 */
    long max_body_bytes;        /* 1 MiB */
    int default_mailbox_limit;  /* 2 (R3) */
    int default_daily_limit;    /* 500 (R15) */
    int backfill_days;          /* 30 (R13) */
    int imap_idle_seconds;      /* 1500: IDLE is re-issued before servers drop it (29 min) */
    int imap_poll_seconds;      /* 60: new-mail check when the server has no IDLE */
    int imap_timeout_seconds;   /* 60: connect and command timeout */
    int imap_fetch_batch;       /* 200 messages per UID FETCH */
    long imap_fetch_bytes;      /* 32 MiB: fetched bytes a session holds before the next FETCH */
    long imap_max_message_bytes; /* 48 MiB: a longer message is fetched and stored cut to this */
    int parse_threads;          /* 1: threads parsing fetched messages beside the engine loop */
    int engine_tick_seconds;    /* 10: how often the engine re-reads its mailboxes */
    int retry_max_seconds;      /* 900: cap of the reconnect backoff (R12) */
    int webhook_max_attempts;       /* 8: attempts of one delivery before it is failed */
    int webhook_retry_base_seconds; /* 30: first retry step, doubled each time (jittered) */
    int webhook_retry_max_seconds;  /* 3600: cap of the retry step */
    int webhook_timeout_seconds;    /* 10: a whole request (connect included) */
    int webhook_allow_private;      /* 0: webhooks may not reach loopback/private addresses */
    int invite_ttl_days;        /* 7: an invitation link expires this long after it is sent (R14) */
    int assignment_check_seconds; /* 60: how often unassigned conversations are checked (R21) */
    int api_cache;              /* 1: keep GET answers and token lookups per HTTP thread */
    int api_batch;              /* 1: group-commit the batched write routes (SQLite) */
    int smtp_max_connections;   /* 32: SMTP connections of the outbox at once, all mailboxes */
    int generic_count;          /* R6 */
    char *generic_local_parts[MF_MAX_GENERIC];
    int session_idle_seconds;   /* 43200: a console session ends after this long unused */
    int login_max_failures;     /* 5 failed sign-ins of one address per 15 minutes, then 429 */
    int lease_seconds;          /* 30: a worker's mailbox leases expire this long after its last
                                 * heartbeat (PostgreSQL; renewed every lease_seconds/3) */
    int lease_batch;            /* 100: at most this many new leases taken per heartbeat */
} mf_config;

void mf_config_defaults(mf_config *c);
/* Read FILE (when path is NULL: $MAILFLEET_CONFIG, else ./mailfleet.conf if present), then
 * apply MAILFLEET_* environment overrides. */
int mf_config_load(mf_config *c, const char *path, mf_error *err);
/* Parse config text (used by mf_config_load and the fuzz target). */
int mf_config_parse(mf_config *c, const char *text, const char *origin, mf_error *err);
int mf_config_set(mf_config *c, const char *key, const char *value, mf_error *err);
void mf_config_free(mf_config *c);
#endif
