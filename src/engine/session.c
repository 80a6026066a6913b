/* session.c — the state machine of one connected mailbox (R12, R13, R24).
 *
 *   start ──> CONNECTING ──ready──> LIST (find Sent by SPECIAL-USE, else by name)
 *                 │                   │
 *                 │                   v
 *                 │   ┌──────> ROUND: for Sent then INBOX:
 *                 │   │          EXAMINE (read-only, R24) → UIDVALIDITY changed? resync
 *                 │   │          first time: UID SEARCH SINCE <backfill_days ago> → UID FETCH
 *                 │   │                      in batches (BODY.PEEK, R24)
 *                 │   │          later:      UID FETCH <last_uid+1>:*
 *                 │   │        then EXAMINE INBOX and WATCH:
 *                 │   │          IDLE (re-issued every imap_idle_seconds; "* n EXISTS" ends it)
 *                 │   └───────── or, without IDLE, a poll timer of imap_poll_seconds
 *                 │
 *   auth refused ─┴──> failing (stopped until new credentials: config_version changes)
 *   network error, timeout, TLS, protocol ──> error, retry after backoff with jitter
 *
 * The connection never changes the mailbox: EXAMINE and BODY.PEEK only, no STORE, EXPUNGE,
 * COPY or flag changes (R24). One connection per mailbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>
#include "engine/engine_internal.h"
#include "engine/health.h"
#include "engine/ingest.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/strbuf.h"

enum session_state {
    SS_NEW,
    SS_CONNECTING,
    SS_LISTING,
    SS_SYNCING,
    SS_WATCHING,
    SS_WAIT_RETRY,
    SS_STOPPED, /* failing: waits for new credentials */
};

enum timer_purpose { T_NONE, T_RETRY, T_IDLE, T_POLL };

#define MAX_FOLDERS 2

struct session {
    engine *e;
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char owner_id[MF_ID_LEN];
    char address[256];
    int64_t config_version;
    char *imap_sealed;
    imap_client *client;
    enum session_state state;
    int failures;
    struct event *timer;
    enum timer_purpose timer_purpose;
    /* folders of a round */
    struct {
        char name[256];
        char role[8];
    } folders[MAX_FOLDERS];
    int nfolders, fi;
    char sent_guess[256];
    int sent_rank; /* 0 none, higher is better */
    char selected[256];
    /* the folder being synced */
    mf_folder_state fs;
    uint32_t exists, uidvalidity, uidnext;
    uint32_t *uids;
    size_t nuids, upos;
    /* new mail: UIDs range_from..range_to (last seen + 1 .. UIDNEXT - 1) still to fetch */
    uint32_t range_from, range_to;
    uint32_t max_uid;
    struct pending_msg *pending;
    size_t npending;
    bool incremental;
    bool new_mail;
    /* Mail that arrives during a round is announced by an EXISTS inside the round's commands,
     * too late for the UID FETCH that was already running; the IDLE that follows would not
     * announce it again. `opened`: the folder's EXAMINE is done (an EXISTS now means new mail);
     * `more_mail`: such an EXISTS came, so the round is run again before watching. */
    bool opened;
    bool more_mail;
    int stored_round;
};

static void begin_round(session *s);
static void sync_folder(session *s);
static void watch(session *s);

const char *session_mailbox_id(const session *s)
{
    return s->id;
}

int64_t session_config_version(const session *s)
{
    return s->config_version;
}

bool session_stopped(const session *s)
{
    return s->state == SS_STOPPED;
}

static void set_health(session *s, const char *status, const char *reason)
{
    db *d = engine_db(s->e);
    if (!d) return;
    health_target t = {s->id, s->org_id, s->owner_id, s->address};
    health_set(d, &t, status, reason);
}

static void arm_timer(session *s, enum timer_purpose why, double seconds)
{
    evtimer_del(s->timer);
    s->timer_purpose = why;
    struct timeval tv = {.tv_sec = (time_t)seconds,
                         .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    evtimer_add(s->timer, &tv);
}

/* R12: error → retry with exponential backoff and ±20% jitter, capped. */
static void schedule_retry(session *s)
{
    int cap = s->e->app->cfg.retry_max_seconds;
    double base = 2.0;
    for (int i = 0; i < s->failures && base < cap; i++) base *= 2;
    if (base > cap) base = cap;
    double jitter = 0.8 + 0.4 * (double)randombytes_uniform(1000) / 1000.0;
    s->failures++;
    s->state = SS_WAIT_RETRY;
    arm_timer(s, T_RETRY, base * jitter);
}

static void drop_pending(session *s);

static void drop_client(session *s)
{
    drop_pending(s);
    imap_client_free(&s->client);
    free(s->uids);
    s->uids = NULL;
    s->nuids = s->upos = 0;
    s->selected[0] = '\0';
}

static void on_client_error(imap_client *c, enum imap_client_error kind, const char *reason,
                            void *arg)
{
    (void)c;
    session *s = arg;
    drop_client(s);
    if (kind == IMAP_CLIENT_ERR_AUTH) {
        set_health(s, "failing", reason);
        s->state = SS_STOPPED;
        evtimer_del(s->timer);
        return;
    }
    set_health(s, "error", reason);
    schedule_retry(s);
}

/* Any command that fails unexpectedly ends the connection and goes through the error path. */
static void protocol_failure(session *s, const char *what, const imap_response *r)
{
    char reason[512];
    snprintf(reason, sizeof(reason), "%s failed: %s", what, r && r->text ? r->text : "no answer");
    drop_client(s);
    set_health(s, "error", reason);
    schedule_retry(s);
}

static int send_or_fail(session *s, const char *cmd, imap_done_cb done)
{
    if (imap_client_command(s->client, cmd, done, s) < 0) {
        protocol_failure(s, cmd, NULL);
        return -1;
    }
    return 0;
}

/* ---- untagged responses ------------------------------------------------------------------ */

static time_t parse_internaldate(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    while (s && *s == ' ') s++;
    if (!s || !strptime(s, "%d-%b-%Y %H:%M:%S %z", &tm)) return 0;
    long off = tm.tm_gmtoff;
    return timegm(&tm) - off;
}

/* A fetched message waits here until its FETCH command completes; the batch is then stored in
 * one short transaction (never a transaction open across network waits). */
typedef struct pending_msg {
    ingest_source src;
    char *raw;
    size_t len;
} pending_msg;

static void on_fetch(session *s, const imap_arg *list)
{
    uint32_t uid = 0;
    if (imap_arg_as_u32(imap_fetch_item(list, "UID"), &uid) < 0) return;
    if (s->incremental && uid <= s->fs.last_uid) return; /* "n:*" names the last one anyway */
    size_t len = 0;
    const char *raw = imap_arg_str(imap_fetch_item(list, "BODY[]"), &len);
    if (!raw) return;
    int seen = 0;
    size_t nflags = 0;
    const imap_arg *flags = imap_arg_list(imap_fetch_item(list, "FLAGS"), &nflags);
    for (size_t i = 0; i < nflags; i++) seen |= imap_arg_is_atom(&flags[i], "\\Seen");
    const char *idate = imap_arg_str(imap_fetch_item(list, "INTERNALDATE"), NULL);
    s->pending = xrealloc(s->pending, (s->npending + 1) * sizeof(*s->pending));
    pending_msg *p = &s->pending[s->npending++];
    p->src = (ingest_source){.mailbox_id = s->id,
                             .mailbox_address = s->address,
                             .folder = s->folders[s->fi].name,
                             .role = s->folders[s->fi].role,
                             .uidvalidity = s->uidvalidity,
                             .uid = uid,
                             .internaldate = parse_internaldate(idate),
                             .seen = seen,
                             .backfill = !s->incremental};
    p->raw = xmalloc(len + 1);
    memcpy(p->raw, raw, len);
    p->raw[len] = '\0';
    p->len = len;
    if (uid > s->max_uid) s->max_uid = uid;
}

static void drop_pending(session *s)
{
    for (size_t i = 0; i < s->npending; i++) free(s->pending[i].raw);
    free(s->pending);
    s->pending = NULL;
    s->npending = 0;
}

/* Store the fetched batch: parse, classify, thread, in one transaction. */
static void store_pending(session *s)
{
    db *d = engine_db(s->e);
    mf_error err;
    if (d && s->npending && db_begin(d, &err) == 0) {
        for (size_t i = 0; i < s->npending; i++) {
            if (ingest_message(d, &s->pending[i].src, s->pending[i].raw, s->pending[i].len) == 1)
                s->stored_round++;
        }
        if (db_commit(d, &err) < 0)
            log_errorx("sync: %s: cannot store a batch: %s", s->address, err.message);
    }
    drop_pending(s);
}

static void on_list(session *s, const imap_response *r)
{
    if (r->nargs < 4) return;
    size_t nflags = 0;
    const imap_arg *flags = imap_arg_list(&r->args[1], &nflags);
    const char *name = imap_arg_str(&r->args[3], NULL);
    if (!name || strlen(name) >= sizeof(s->sent_guess)) return;
    int rank = 0;
    for (size_t i = 0; i < nflags; i++) {
        if (imap_arg_is_atom(&flags[i], "\\Sent")) rank = 100; /* RFC 6154 SPECIAL-USE */
        if (imap_arg_is_atom(&flags[i], "\\Noselect") || imap_arg_is_atom(&flags[i], "\\NonExistent"))
            return;
    }
    static const char *fallbacks[] = {"INBOX.Sent", "[Google Mail]/Sent Mail", "[Gmail]/Sent Mail",
                                      "Sent Messages", "Sent Items", "Sent"};
    for (size_t i = 0; rank == 0 && i < sizeof(fallbacks) / sizeof(fallbacks[0]); i++) {
        if (strcasecmp(name, fallbacks[i]) == 0) rank = (int)i + 1;
    }
    if (rank > s->sent_rank) {
        s->sent_rank = rank;
        snprintf(s->sent_guess, sizeof(s->sent_guess), "%s", name);
    }
}

static void on_untagged(imap_client *c, const imap_response *r, void *arg)
{
    (void)c;
    session *s = arg;
    uint32_t n;
    if (imap_response_is_numbered(r, "FETCH", &n) && r->nargs >= 3) {
        on_fetch(s, &r->args[2]);
    } else if (imap_response_is_numbered(r, "EXISTS", &n)) {
        if (s->state == SS_WATCHING && n > s->exists && imap_client_is_idling(s->client) &&
            !s->new_mail) {
            s->new_mail = true;
            imap_client_idle_done(s->client); /* new mail: leave IDLE and fetch it */
        } else if (s->state == SS_SYNCING && s->opened && n > s->exists) {
            s->more_mail = true; /* arrived during the round: fetched by the next one */
        }
        s->exists = n;
    } else if (imap_response_is_data(r, "SEARCH")) {
        for (size_t i = 1; i < r->nargs; i++) {
            uint32_t uid;
            if (imap_arg_as_u32(&r->args[i], &uid) < 0) continue;
            s->uids = xrealloc(s->uids, (s->nuids + 1) * sizeof(*s->uids));
            s->uids[s->nuids++] = uid;
        }
    } else if (imap_response_is_data(r, "LIST")) {
        on_list(s, r);
    } else if (r->status == IMAP_STATUS_OK && r->ncode >= 2) {
        uint32_t v;
        if (imap_response_code_is(r, "UIDVALIDITY") && imap_arg_as_u32(&r->code[1], &v) == 0)
            s->uidvalidity = v;
        if (imap_response_code_is(r, "UIDNEXT") && imap_arg_as_u32(&r->code[1], &v) == 0)
            s->uidnext = v;
    }
}

/* ---- the sync round ---------------------------------------------------------------------- */

static void save_folder(session *s)
{
    db *d = engine_db(s->e);
    mf_error err;
    if (d && folder_state_put(d, s->id, &s->fs, &err) < 0)
        log_warnx("sync: cannot save the state of %s in %s: %s", s->fs.folder, s->address,
                  err.message);
}

static void next_folder(session *s)
{
    s->fi++;
    sync_folder(s);
}

static void fetch_batch(session *s);
static void fetch_range(session *s);

static void fetch_done(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)c;
    session *s = arg;
    if (st != IMAP_STATUS_OK) {
        protocol_failure(s, "UID FETCH", r);
        return;
    }
    store_pending(s);
    if (s->upos < s->nuids) {
        fetch_batch(s);
        return;
    }
    if (s->range_from && s->range_from <= s->range_to) {
        fetch_range(s);
        return;
    }
    /* Every message there now is seen: new ones start after UIDNEXT-1. */
    uint32_t last = s->max_uid;
    if (s->uidnext > 1 && s->uidnext - 1 > last) last = s->uidnext - 1;
    if (last > s->fs.last_uid) s->fs.last_uid = last;
    s->fs.backfill_done = 1;
    save_folder(s);
    next_folder(s);
}

static void fetch_batch(session *s)
{
    strbuf set;
    strbuf_init(&set, 64 * 1024);
    int batch = s->e->app->cfg.imap_fetch_batch;
    for (int i = 0; i < batch && s->upos < s->nuids; i++, s->upos++)
        strbuf_addf(&set, "%s%u", i ? "," : "", s->uids[s->upos]);
    char *cmd = xasprintf("UID FETCH %s (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])", set.buf);
    strbuf_release(&set);
    send_or_fail(s, cmd, fetch_done);
    free(cmd);
}

/* New mail, imap_fetch_batch UIDs at a time like the backfill: a burst of thousands of new
 * messages is stored in short transactions, and the other sessions are served in between
 * (one FETCH of all of them held the engine's thread until every one was stored, long enough
 * for the other connections' timeouts to fire under load). */
static void fetch_range(session *s)
{
    uint32_t from = s->range_from, batch = (uint32_t)s->e->app->cfg.imap_fetch_batch;
    uint32_t to = s->range_to - from >= batch ? from + batch - 1 : s->range_to;
    s->range_from = to + 1;
    if (to == UINT32_MAX) s->range_from = 0; /* nothing after the last possible UID */
    char *cmd = xasprintf("UID FETCH %u:%u (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])", from, to);
    send_or_fail(s, cmd, fetch_done);
    free(cmd);
}

static void search_done(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)c;
    session *s = arg;
    if (st != IMAP_STATUS_OK) {
        protocol_failure(s, "UID SEARCH", r);
        return;
    }
    if (s->nuids == 0) {
        fetch_done(c, IMAP_STATUS_OK, r, s);
        return;
    }
    fetch_batch(s);
}

static void examine_done(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)c;
    session *s = arg;
    const char *folder = s->folders[s->fi].name;
    if (st != IMAP_STATUS_OK) {
        log_warnx("sync: %s: cannot open %s: %s", s->address, folder, r && r->text ? r->text : "");
        next_folder(s);
        return;
    }
    snprintf(s->selected, sizeof(s->selected), "%s", folder);
    s->opened = true;
    db *d = engine_db(s->e);
    mf_error err;
    if (!d || folder_state_get(d, s->id, folder, s->folders[s->fi].role, &s->fs, &err) < 0) {
        protocol_failure(s, "reading the sync state", NULL);
        return;
    }
    if (s->fs.uidvalidity && s->fs.uidvalidity != s->uidvalidity) {
        /* UIDVALIDITY changed: our UIDs mean nothing now. Read the window again; messages
         * already stored are recognised by Message-ID and not stored twice. */
        log_info("sync: %s: UIDVALIDITY of %s changed (%lld -> %u), resyncing", s->address,
                 folder, (long long)s->fs.uidvalidity, s->uidvalidity);
        s->fs.last_uid = 0;
        s->fs.backfill_done = 0;
    }
    s->fs.uidvalidity = s->uidvalidity;
    free(s->uids);
    s->uids = NULL;
    s->nuids = s->upos = 0;
    s->max_uid = 0;
    s->range_from = s->range_to = 0;
    if (s->exists == 0) {
        fetch_done(c, IMAP_STATUS_OK, r, s);
        return;
    }
    if (!s->fs.backfill_done) {
        s->incremental = false;
        char since[32];
        time_t from = mf_now() - (time_t)s->e->app->cfg.backfill_days * 86400;
        struct tm tm;
        gmtime_r(&from, &tm);
        strftime(since, sizeof(since), "%d-%b-%Y", &tm);
        char *cmd = xasprintf("UID SEARCH SINCE %s", since);
        send_or_fail(s, cmd, search_done);
        free(cmd);
        return;
    }
    s->incremental = true;
    if (s->uidnext > 0 && s->fs.last_uid >= 0 && s->fs.last_uid < UINT32_MAX) {
        /* the new UIDs are last_uid+1 .. UIDNEXT-1; mail arriving later has higher UIDs and
         * is announced (EXISTS) for the next round */
        if ((int64_t)s->uidnext - 1 <= s->fs.last_uid) {
            fetch_done(c, IMAP_STATUS_OK, r, s); /* nothing new */
            return;
        }
        s->range_from = (uint32_t)s->fs.last_uid + 1;
        s->range_to = s->uidnext - 1;
        fetch_range(s);
        return;
    }
    /* no UIDNEXT from the server: everything after the last seen UID in one FETCH */
    char *cmd = xasprintf("UID FETCH %lld:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])",
                          (long long)s->fs.last_uid + 1);
    send_or_fail(s, cmd, fetch_done);
    free(cmd);
}

static void examine(session *s, const char *folder, imap_done_cb done)
{
    char q[300];
    if (imap_quote(folder, q, sizeof(q)) < 0) {
        protocol_failure(s, "quoting a folder name", NULL);
        return;
    }
    s->exists = s->uidvalidity = s->uidnext = 0;
    s->opened = false;
    char *cmd = xasprintf("EXAMINE %s", q); /* read-only (R24) */
    send_or_fail(s, cmd, done);
    free(cmd);
}

static void sync_folder(session *s)
{
    if (s->fi >= s->nfolders) {
        db *d = engine_db(s->e);
        if (d) mailboxes_set_sync(d, s->id, 1, NULL);
        if (s->stored_round > 0) {
            log_info("sync: %s: %d new message(s)", s->address, s->stored_round);
            app_mail_arrived(s->e->app);
        }
        watch(s);
        return;
    }
    examine(s, s->folders[s->fi].name, examine_done);
}

static void begin_round(session *s)
{
    evtimer_del(s->timer);
    s->timer_purpose = T_NONE;
    s->state = SS_SYNCING;
    s->fi = 0;
    s->stored_round = 0;
    s->new_mail = false;
    s->more_mail = false;
    sync_folder(s);
}

/* ---- watching for new mail --------------------------------------------------------------- */

static void idle_done(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)c;
    session *s = arg;
    if (st != IMAP_STATUS_OK) {
        protocol_failure(s, "IDLE", r);
        return;
    }
    begin_round(s);
}

static void start_watch(session *s)
{
    if (s->more_mail) { /* announced during the round, not fetched yet: another round */
        begin_round(s);
        return;
    }
    s->state = SS_WATCHING;
    const mf_config *cfg = &s->e->app->cfg;
    if (imap_client_has_capability(s->client, "IDLE")) {
        if (imap_client_idle(s->client, idle_done, s) < 0) {
            protocol_failure(s, "IDLE", NULL);
            return;
        }
        arm_timer(s, T_IDLE, cfg->imap_idle_seconds);
    } else {
        arm_timer(s, T_POLL, cfg->imap_poll_seconds);
    }
}

static void inbox_examined(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)c;
    session *s = arg;
    if (st != IMAP_STATUS_OK) {
        protocol_failure(s, "EXAMINE INBOX", r);
        return;
    }
    snprintf(s->selected, sizeof(s->selected), "INBOX");
    start_watch(s);
}

static void watch(session *s)
{
    if (strcmp(s->selected, "INBOX") == 0) {
        start_watch(s);
        return;
    }
    examine(s, "INBOX", inbox_examined);
}

/* ---- connecting -------------------------------------------------------------------------- */

static void list_done(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)c;
    (void)r;
    session *s = arg;
    /* Sent first: what we sent is known before the replies to it are classified (R13, R22);
     * INBOX last, so the round ends with it selected for IDLE. */
    s->nfolders = 0;
    if (st == IMAP_STATUS_OK && s->sent_rank > 0) {
        snprintf(s->folders[0].name, sizeof(s->folders[0].name), "%s", s->sent_guess);
        snprintf(s->folders[0].role, sizeof(s->folders[0].role), "sent");
        s->nfolders = 1;
    }
    snprintf(s->folders[s->nfolders].name, sizeof(s->folders[0].name), "INBOX");
    snprintf(s->folders[s->nfolders].role, sizeof(s->folders[0].role), "inbox");
    s->nfolders++;
    begin_round(s);
}

static void on_ready(imap_client *c, void *arg)
{
    (void)c;
    session *s = arg;
    s->failures = 0;
    set_health(s, "good", NULL);
    s->state = SS_LISTING;
    s->sent_rank = 0;
    s->sent_guess[0] = '\0';
    send_or_fail(s, "LIST \"\" \"*\"", list_done);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    session *s = arg;
    enum timer_purpose why = s->timer_purpose;
    s->timer_purpose = T_NONE;
    switch (why) {
    case T_RETRY:
        session_start(s);
        break;
    case T_IDLE: /* re-issue IDLE before the server's 29-minute limit; also syncs Sent */
        if (s->client && imap_client_is_idling(s->client) && !s->new_mail) {
            s->new_mail = true;
            imap_client_idle_done(s->client);
        }
        break;
    case T_POLL:
        if (s->client && s->state == SS_WATCHING) begin_round(s);
        break;
    case T_NONE:
        break;
    }
}

static int parse_settings(session *s, imap_client_cfg *cfg, char **json_text, mf_error *err)
{
    *json_text = mf_unseal(&s->e->app->key, s->imap_sealed);
    if (!*json_text)
        return mf_fail(err, 500, "bad_key", NULL,
                       "the stored IMAP settings cannot be read with this master key");
    json_error_t je;
    json_t *j = json_loads(*json_text, 0, &je);
    const char *host = NULL, *sec = NULL, *user = NULL, *pass = NULL;
    int port = 0;
    if (!j || json_unpack(j, "{s:s,s:i,s:s,s:s,s:s}", "host", &host, "port", &port, "security",
                          &sec, "username", &user, "password", &pass) != 0) {
        json_decref(j);
        return mf_fail(err, 500, "bad_settings", NULL, "the stored IMAP settings are incomplete");
    }
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = xstrdup(host);
    cfg->port = (uint16_t)port;
    cfg->security = strcmp(sec, "tls") == 0        ? IMAP_SEC_TLS
                    : strcmp(sec, "starttls") == 0 ? IMAP_SEC_STARTTLS
                                                   : IMAP_SEC_NONE;
    cfg->username = xstrdup(user);
    cfg->password = xstrdup(pass);
    cfg->connect_timeout = cfg->command_timeout = (unsigned)s->e->app->cfg.imap_timeout_seconds;
    json_decref(j);
    return 0;
}

void session_start(session *s)
{
    drop_client(s);
    evtimer_del(s->timer);
    imap_client_cfg cfg;
    char *json_text = NULL;
    mf_error err;
    if (parse_settings(s, &cfg, &json_text, &err) < 0) {
        mf_secret_free(&json_text);
        set_health(s, "error", err.message);
        schedule_retry(s);
        return;
    }
    imap_client_events ev = {.on_ready = on_ready, .on_untagged = on_untagged,
                             .on_error = on_client_error};
    s->client = imap_client_new(s->e->base, s->e->ssl_ctx, &cfg, &ev, s);
    free((char *)cfg.host);
    free((char *)cfg.username);
    char *pw = (char *)cfg.password;
    mf_secret_free(&pw);
    mf_secret_free(&json_text);
    s->state = SS_CONNECTING;
    if (imap_client_connect(s->client) < 0) {
        drop_client(s);
        set_health(s, "error", "cannot start a connection");
        schedule_retry(s);
    }
}

session *session_new(engine *e, const mf_engine_mailbox *m)
{
    session *s = xcalloc(1, sizeof(*s));
    s->e = e;
    snprintf(s->id, sizeof(s->id), "%s", m->id);
    snprintf(s->org_id, sizeof(s->org_id), "%s", m->org_id);
    snprintf(s->owner_id, sizeof(s->owner_id), "%s", m->owner_id);
    snprintf(s->address, sizeof(s->address), "%s", m->address);
    s->config_version = m->config_version;
    s->imap_sealed = xstrdup(m->imap_sealed);
    s->timer = evtimer_new(e->base, on_timer, s);
    s->state = SS_NEW;
    return s;
}

void session_free(session **sp)
{
    if (!sp || !*sp) return;
    session *s = *sp;
    *sp = NULL;
    drop_client(s);
    if (s->timer) event_free(s->timer);
    free(s->imap_sealed);
    free(s);
}
