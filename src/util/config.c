/* config.c — defaults, config-file parser and environment overrides; see config.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "util/config.h"
#include "util/strbuf.h"

static const char *default_generic =
    "info,sales,marketing,hello,support,contact,team,office,hr,jobs,billing,noreply,no-reply,"
    "admin,help";

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

static void clear_generic(mf_config *c)
{
    for (int i = 0; i < c->generic_count; i++) free(c->generic_local_parts[i]);
    c->generic_count = 0;
}

static int set_generic(mf_config *c, const char *list, mf_error *err)
{
    clear_generic(c);
    const char *p = list;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        const char *start = p;
        while (*p && *p != ',') p++;
        const char *end = p;
        while (end > start && isspace((unsigned char)end[-1])) end--;
        if (end == start) continue;
        if (c->generic_count == MF_MAX_GENERIC)
            return mf_fail(err, 400, "bad_config", NULL, "generic_local_parts: at most %d entries",
                           MF_MAX_GENERIC);
        char *w = xstrndup(start, (size_t)(end - start));
        for (char *q = w; *q; q++) *q = (char)tolower((unsigned char)*q);
        c->generic_local_parts[c->generic_count++] = w;
    }
    return 0;
}

void mf_config_defaults(mf_config *c)
{
    memset(c, 0, sizeof(*c));
    c->db = xstrdup("sqlite:./mailfleet.db");
    c->listen = xstrdup("127.0.0.1:8025");
    c->key_file = xstrdup("./mailfleet.key");
    c->public_url = xstrdup("");
    c->log_level = xstrdup("info");
    c->ca_file = xstrdup("");
    c->system_smtp = xstrdup("");
    c->system_from = xstrdup("");
    c->http_threads = 8;
    c->max_body_bytes = 1024 * 1024;
    c->default_mailbox_limit = 2;
    c->default_daily_limit = 500;
    c->backfill_days = 30;
    c->imap_idle_seconds = 1500;
    c->imap_poll_seconds = 60;
    c->imap_timeout_seconds = 60;
    c->imap_fetch_batch = 200;
    c->imap_fetch_bytes = 32L * 1024 * 1024;
    c->imap_max_message_bytes = 48L * 1024 * 1024;
    c->parse_threads = 1;
    c->engine_tick_seconds = 10;
    c->retry_max_seconds = 900;
    c->session_idle_seconds = 12 * 3600;
    c->login_max_failures = 5;
    c->webhook_max_attempts = 8;
    c->webhook_retry_base_seconds = 30;
    c->webhook_retry_max_seconds = 3600;
    c->webhook_timeout_seconds = 10;
    c->invite_ttl_days = 7;
    c->assignment_check_seconds = 60;
    c->api_cache = 1;
    c->api_batch = 1;
    c->smtp_max_connections = 32;
    c->lease_seconds = 30;
    c->lease_batch = 100;
    set_generic(c, default_generic, NULL);
}

static int parse_int(const char *key, const char *v, long lo, long hi, long *out, mf_error *err)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return mf_fail(err, 400, "bad_config", NULL, "%s: expected a whole number from %ld to %ld",
                       key, lo, hi);
    *out = n;
    return 0;
}

static int parse_bool(const char *key, const char *v, int *out, mf_error *err)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = 1, 0;
        if (strcasecmp(v, no[i]) == 0) return *out = 0, 0;
    }
    return mf_fail(err, 400, "bad_config", NULL, "%s: expected true or false", key);
}

int mf_config_set(mf_config *c, const char *key, const char *v, mf_error *err)
{
    long n = 0; /* set by parse_int before use; initialised for gcc -O3 (maybe-uninitialized) */
    if (strcmp(key, "db") == 0) set_str(&c->db, v);
    else if (strcmp(key, "listen") == 0) set_str(&c->listen, v);
    else if (strcmp(key, "key_file") == 0) set_str(&c->key_file, v);
    else if (strcmp(key, "public_url") == 0) set_str(&c->public_url, v);
    else if (strcmp(key, "ca_file") == 0) set_str(&c->ca_file, v);
    else if (strcmp(key, "system_smtp") == 0) set_str(&c->system_smtp, v);
    else if (strcmp(key, "system_from") == 0) set_str(&c->system_from, v);
    else if (strcmp(key, "log_level") == 0) {
        if (strcmp(v, "debug") && strcmp(v, "info") && strcmp(v, "warn") && strcmp(v, "error"))
            return mf_fail(err, 400, "bad_config", NULL,
                           "log_level: expected debug, info, warn or error");
        set_str(&c->log_level, v);
    } else if (strcmp(key, "http_threads") == 0) {
        if (parse_int(key, v, 1, 256, &n, err) < 0) return -1;
        c->http_threads = (int)n;
    } else if (strcmp(key, "max_body_bytes") == 0) {
        if (parse_int(key, v, 1024, 64L * 1024 * 1024, &n, err) < 0) return -1;
        c->max_body_bytes = n;
    } else if (strcmp(key, "default_mailbox_limit") == 0) {
        if (parse_int(key, v, 0, 10000, &n, err) < 0) return -1;
        c->default_mailbox_limit = (int)n;
    } else if (strcmp(key, "default_daily_limit") == 0) {
        if (parse_int(key, v, 1, 1000000, &n, err) < 0) return -1;
        c->default_daily_limit = (int)n;
    } else if (strcmp(key, "backfill_days") == 0) {
        if (parse_int(key, v, 0, 3650, &n, err) < 0) return -1;
        c->backfill_days = (int)n;
    } else if (strcmp(key, "imap_idle_seconds") == 0) {
        if (parse_int(key, v, 1, 1740, &n, err) < 0) return -1;
        c->imap_idle_seconds = (int)n;
    } else if (strcmp(key, "imap_poll_seconds") == 0) {
        if (parse_int(key, v, 1, 86400, &n, err) < 0) return -1;
        c->imap_poll_seconds = (int)n;
    } else if (strcmp(key, "imap_timeout_seconds") == 0) {
        if (parse_int(key, v, 1, 3600, &n, err) < 0) return -1;
        c->imap_timeout_seconds = (int)n;
    } else if (strcmp(key, "imap_max_message_bytes") == 0) {
        /* at most 60 MiB: the IMAP parser refuses literals over 64 MiB (src/mail/imap_parser.h) */
        if (parse_int(key, v, 64L * 1024, 60L * 1024 * 1024, &n, err) < 0) return -1;
        c->imap_max_message_bytes = n;
    } else if (strcmp(key, "imap_fetch_bytes") == 0) {
        if (parse_int(key, v, 64L * 1024, 4096L * 1024 * 1024, &n, err) < 0) return -1;
        c->imap_fetch_bytes = n;
    } else if (strcmp(key, "imap_fetch_batch") == 0) {
        if (parse_int(key, v, 1, 1000, &n, err) < 0) return -1;
        c->imap_fetch_batch = (int)n;
    } else if (strcmp(key, "parse_threads") == 0) {
        if (parse_int(key, v, 0, 16, &n, err) < 0) return -1;
        c->parse_threads = (int)n;
    } else if (strcmp(key, "engine_tick_seconds") == 0) {
        if (parse_int(key, v, 1, 3600, &n, err) < 0) return -1;
        c->engine_tick_seconds = (int)n;
    } else if (strcmp(key, "lease_seconds") == 0) {
        if (parse_int(key, v, 3, 3600, &n, err) < 0) return -1;
        c->lease_seconds = (int)n;
    } else if (strcmp(key, "lease_batch") == 0) {
        if (parse_int(key, v, 1, 100000, &n, err) < 0) return -1;
        c->lease_batch = (int)n;
    } else if (strcmp(key, "retry_max_seconds") == 0) {
        if (parse_int(key, v, 1, 86400, &n, err) < 0) return -1;
        c->retry_max_seconds = (int)n;
    } else if (strcmp(key, "session_idle_seconds") == 0) {
        if (parse_int(key, v, 1, 30L * 86400, &n, err) < 0) return -1;
        c->session_idle_seconds = (int)n;
    } else if (strcmp(key, "login_max_failures") == 0) {
        if (parse_int(key, v, 1, 1000, &n, err) < 0) return -1;
        c->login_max_failures = (int)n;
    } else if (strcmp(key, "webhook_max_attempts") == 0) {
        if (parse_int(key, v, 1, 100, &n, err) < 0) return -1;
        c->webhook_max_attempts = (int)n;
    } else if (strcmp(key, "webhook_retry_base_seconds") == 0) {
        if (parse_int(key, v, 1, 86400, &n, err) < 0) return -1;
        c->webhook_retry_base_seconds = (int)n;
    } else if (strcmp(key, "webhook_retry_max_seconds") == 0) {
        if (parse_int(key, v, 1, 7 * 86400, &n, err) < 0) return -1;
        c->webhook_retry_max_seconds = (int)n;
    } else if (strcmp(key, "webhook_timeout_seconds") == 0) {
        if (parse_int(key, v, 1, 300, &n, err) < 0) return -1;
        c->webhook_timeout_seconds = (int)n;
    } else if (strcmp(key, "webhook_allow_private") == 0) {
        return parse_bool(key, v, &c->webhook_allow_private, err);
    } else if (strcmp(key, "invite_ttl_days") == 0) {
        if (parse_int(key, v, 1, 365, &n, err) < 0) return -1;
        c->invite_ttl_days = (int)n;
    } else if (strcmp(key, "assignment_check_seconds") == 0) {
        if (parse_int(key, v, 1, 3600, &n, err) < 0) return -1;
        c->assignment_check_seconds = (int)n;
    } else if (strcmp(key, "api_cache") == 0) {
        if (parse_int(key, v, 0, 1, &n, err) < 0) return -1;
        c->api_cache = (int)n;
    } else if (strcmp(key, "api_batch") == 0) {
        if (parse_int(key, v, 0, 1, &n, err) < 0) return -1;
        c->api_batch = (int)n;
    } else if (strcmp(key, "smtp_max_connections") == 0) {
        if (parse_int(key, v, 1, 1000, &n, err) < 0) return -1;
        c->smtp_max_connections = (int)n;
    } else if (strcmp(key, "generic_local_parts") == 0) {
        return set_generic(c, v, err);
    } else {
        return mf_fail(err, 400, "bad_config", NULL, "unknown configuration key '%s'", key);
    }
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

int mf_config_parse(mf_config *c, const char *text, const char *origin, mf_error *err)
{
    char *copy = xstrdup(text);
    int lineno = 0, rc = 0;
    char *next = copy;
    while (next) {
        char *line = strsep(&next, "\n"); /* strsep, not strtok: empty lines count too */
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = mf_fail(err, 400, "bad_config", NULL, "%s:%d: expected 'key = value'", origin,
                         lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = '\0';
            val++;
        }
        mf_error sub;
        if (mf_config_set(c, key, val, &sub) < 0) {
            rc = mf_fail(err, 400, "bad_config", NULL, "%s:%d: %s", origin, lineno, sub.message);
            break;
        }
    }
    free(copy);
    return rc;
}

static int read_file(const char *path, char **out, mf_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return mf_fail(err, 400, "bad_config", NULL, "cannot open %s: %s", path, strerror(errno));
    strbuf sb;
    strbuf_init(&sb, 1024 * 1024);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (strbuf_add(&sb, chunk, n) < 0) {
            fclose(f);
            strbuf_release(&sb);
            return mf_fail(err, 400, "bad_config", NULL, "%s is larger than 1 MiB", path);
        }
    }
    fclose(f);
    *out = strbuf_detach(&sb, NULL);
    return 0;
}

int mf_config_load(mf_config *c, const char *path, mf_error *err)
{
    if (!path) path = getenv("MAILFLEET_CONFIG");
    if (!path && access("./mailfleet.conf", R_OK) == 0) path = "./mailfleet.conf";
    if (path && *path) {
        char *text = NULL;
        if (read_file(path, &text, err) < 0) return -1;
        int rc = mf_config_parse(c, text, path, err);
        free(text);
        if (rc < 0) return -1;
    }
    static const struct {
        const char *env, *key;
    } envmap[] = {
        {"MAILFLEET_DB", "db"},
        {"MAILFLEET_LISTEN", "listen"},
        {"MAILFLEET_KEY_FILE", "key_file"},
        {"MAILFLEET_PUBLIC_URL", "public_url"},
        {"MAILFLEET_CA_FILE", "ca_file"},
        {"MAILFLEET_SYSTEM_SMTP", "system_smtp"},
        {"MAILFLEET_SYSTEM_FROM", "system_from"},
        {"MAILFLEET_LOG_LEVEL", "log_level"},
        {"MAILFLEET_HTTP_THREADS", "http_threads"},
        {"MAILFLEET_GENERIC_LOCAL_PARTS", "generic_local_parts"},
        {"MAILFLEET_BACKFILL_DAYS", "backfill_days"},
        {"MAILFLEET_IMAP_IDLE_SECONDS", "imap_idle_seconds"},
        {"MAILFLEET_IMAP_POLL_SECONDS", "imap_poll_seconds"},
        {"MAILFLEET_IMAP_TIMEOUT_SECONDS", "imap_timeout_seconds"},
        {"MAILFLEET_IMAP_FETCH_BYTES", "imap_fetch_bytes"},
        {"MAILFLEET_IMAP_MAX_MESSAGE_BYTES", "imap_max_message_bytes"},
        {"MAILFLEET_ENGINE_TICK_SECONDS", "engine_tick_seconds"},
        {"MAILFLEET_RETRY_MAX_SECONDS", "retry_max_seconds"},
        {"MAILFLEET_SESSION_IDLE_SECONDS", "session_idle_seconds"},
        {"MAILFLEET_LOGIN_MAX_FAILURES", "login_max_failures"},
        {"MAILFLEET_WEBHOOK_MAX_ATTEMPTS", "webhook_max_attempts"},
        {"MAILFLEET_WEBHOOK_ALLOW_PRIVATE", "webhook_allow_private"},
        {"MAILFLEET_WEBHOOK_RETRY_BASE_SECONDS", "webhook_retry_base_seconds"},
        {"MAILFLEET_WEBHOOK_RETRY_MAX_SECONDS", "webhook_retry_max_seconds"},
        {"MAILFLEET_WEBHOOK_TIMEOUT_SECONDS", "webhook_timeout_seconds"},
        {"MAILFLEET_INVITE_TTL_DAYS", "invite_ttl_days"},
        {"MAILFLEET_ASSIGNMENT_CHECK_SECONDS", "assignment_check_seconds"},
        {"MAILFLEET_API_CACHE", "api_cache"},
        {"MAILFLEET_API_BATCH", "api_batch"},
        {"MAILFLEET_SMTP_MAX_CONNECTIONS", "smtp_max_connections"},
        {"MAILFLEET_LEASE_SECONDS", "lease_seconds"},
        {"MAILFLEET_LEASE_BATCH", "lease_batch"},
    };
    for (size_t i = 0; i < sizeof(envmap) / sizeof(envmap[0]); i++) {
        const char *v = getenv(envmap[i].env);
        if (!v || !*v) continue;
        mf_error sub;
        if (mf_config_set(c, envmap[i].key, v, &sub) < 0)
            return mf_fail(err, 400, "bad_config", NULL, "%s: %s", envmap[i].env, sub.message);
    }
    return 0;
}

void mf_config_free(mf_config *c)
{
    free(c->db);
    free(c->listen);
    free(c->key_file);
    free(c->public_url);
    free(c->log_level);
    free(c->ca_file);
    free(c->system_smtp);
    free(c->system_from);
    clear_generic(c);
    memset(c, 0, sizeof(*c));
}
