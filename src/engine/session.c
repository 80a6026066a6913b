/* session.c — the state machine of one connected mailbox (R12, R13, R24).
 *
 *   start ──> CONNECTING ──ready──> LIST (find Sent by SPECIAL-USE, else by name)
 *                 │                   │
 *                 │                   v
 *                 │   ┌──────> ROUND: for Sent then INBOX:
 *                 │   │          EXAMINE (read-only, R24) → UIDVALIDITY changed? resync
 *                 │   │          first time: UID SEARCH SINCE <backfill_days ago> → UID FETCH
 *                 │   │                      in batches (BODY.PEEK, R24)
 *                 │   │          later:      UID FETCH <last_uid+1>:<UIDNEXT-1> in batches;
 *                 │   │                      an EXISTS during the round: another round
 *                 │   │        then EXAMINE INBOX and WATCH:
 *                 │   │          IDLE (re-issued every imap_idle_seconds; "* n EXISTS" ends it)
 *                 │   └───────── or, without IDLE, a poll timer of imap_poll_seconds
 *                 │
 *   auth refused ─┴──> failing (stopped until new credentials: config_version changes)
 *   network error, timeout, TLS, protocol ──> error, retry after backoff with jitter
 *
 * The connection never changes the mailbox: EXAMINE and BODY.PEEK only, no STORE, EXPUNGE,
 * COPY or flag changes (R24). One connection per mailbox.
 *
 * A fetched batch is parsed on the engine's parse pool (GMime is most of an import's CPU) while
 * the next UID FETCH is already on the wire; parsed batches are then stored by the engine's
 * store thread (its own database connection), strictly in the order they were fetched, each in
 * one transaction together with the folder's sync state (its highest UID), so what is stored and
 * what the state says never disagree. The loop thread only reads and hands on: it keeps reading
 * the server while earlier batches are parsed and stored (bench/sync: with the store on the
 * loop, the server waited while a batch was written and the parse thread waited for the next).
 * At most MAX_BATCHES_AHEAD fetched batches, and about imap_fetch_bytes of mail, wait to be
 * stored (memory stays bounded when parsing or the database is slower than the network); a
 * batch is sized from the last one's average message size (fetch_count). */
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
#include "engine/work_pool.h"
#include "mail/message_parse.h"
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
    SS_WAIT_SLOT, /* waits for one of the engine's connect slots (engine_connect_slot) */
    SS_STOPPED, /* failing: waits for new credentials */
};

enum timer_purpose { T_NONE, T_RETRY, T_IDLE, T_POLL };

#define MAX_FOLDERS 2
/* Fetched batches not yet stored: one per parse thread, one being stored and a few waiting
 * for either (the byte bound of pump() holds their memory). */
#define MAX_BATCHES_AHEAD(e) ((size_t)((e)->app->cfg.parse_threads > 0 ? (e)->app->cfg.parse_threads + 4 : 2))

struct sync_batch;

struct session {
    engine *e;
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char owner_id[MF_ID_LEN];
    char *address;
    int64_t config_version;
    char *imap_sealed;
    imap_client *client;
    enum session_state state;
    int failures;
    struct event *timer;
    enum timer_purpose timer_purpose;
    /* folders of a round */
    /* (names are allocated to their length: thousands of idle sessions hold them) */
    struct {
        char *name;
        char role[8];
    } folders[MAX_FOLDERS];
    int nfolders, fi;
    char *sent_guess; /* the best Sent candidate of the LIST so far; NULL none */
    int sent_rank;    /* 0 none, higher is better */
    bool inbox_selected;
    /* the folder being synced (allocated during a round only) */
    mf_folder_state *fs;
    uint32_t exists, uidvalidity, uidnext;
    uint32_t *uids;
    size_t nuids, upos, uids_cap;
    uint32_t max_uid;
    /* new mail: UIDs range_from..range_to (last seen + 1 .. UIDNEXT - 1) still to fetch, in
     * batches of fetch_count(); range_from 0 = none */
    uint32_t range_from, range_to;
    struct pending_msg *pending; /* of the UID FETCH in flight */
    size_t npending, pending_cap;
    uint8_t fetches;             /* UID FETCHes in flight: 0, 1 or 2 (the next is pipelined) */
    uint32_t fetch_tops[2];      /* the highest UID each of them asks for, in sending order */
    uint32_t fetch_n;            /* messages per UID FETCH now (adapted to their size) */
    uint64_t held_bytes;         /* of the batches fetched and not stored yet */
    struct sync_batch *batches; /* fetched, being parsed or waiting to be stored, in order */
    struct sync_batch **batches_tail;
    size_t nbatches;
    bool incremental;
    bool new_mail;
    /* Mail that arrives during a round is announced by an EXISTS inside the round's commands,
     * too late for the UID FETCH already running, and the IDLE that follows would not announce
     * it again. `opened`: the folder's EXAMINE is done (an EXISTS now means new mail);
     * `more_mail`: such an EXISTS came, so the round is run again before watching. */
    bool opened;
    bool more_mail;
    bool holds_slot; /* one of the engine's connect slots, from connect to ready */
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
static void drop_batches(session *s);

static void release_slot(session *s)
{
    if (!s->holds_slot) return;
    s->holds_slot = false;
    engine_connect_done(s->e);
}

static void drop_client(session *s)
{
    release_slot(s);
    drop_pending(s);
    drop_batches(s);
    s->fetches = 0;
    imap_client_free(&s->client);
    free(s->uids);
    s->uids = NULL;
    s->nuids = s->upos = s->uids_cap = 0;
    s->inbox_selected = false;
    free(s->fs);
    s->fs = NULL;
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
    message_parsed *parsed; /* by the work pool; NULL with parse_error set when it failed */
    char *parse_error;
} pending_msg;

/* Where a batch is: in the parse pool, back from it, or in the store pool. */
enum batch_stage { B_PARSING, B_PARSED, B_STORING };

/* A completed UID FETCH's messages on their way through the parse pool and the store thread.
 * What the store needs is the batch's own (the session may go away while it is stored). */
typedef struct sync_batch {
    work_job job; /* first: the pools hand back &job */
    session *s;   /* NULL once the session let go of it (the batch is then only freed) */
    engine *e;
    struct sync_batch *next;
    pending_msg *msgs;
    size_t n;
    uint64_t bytes; /* raw message bytes */
    enum batch_stage stage;
    char mailbox_id[MF_ID_LEN];
    char *address;
    mf_folder_state fs; /* the folder's state when fetched; the store moves its last_uid */
    /* the store's outcome, read by the loop thread in batch_stored() */
    bool store_ok;
    int stored;
} sync_batch;

static void free_msgs(pending_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].raw);
        message_parsed_free(&msgs[i].parsed);
        free(msgs[i].parse_error);
    }
    free(msgs);
}

static void free_batch(sync_batch *b)
{
    free_msgs(b->msgs, b->n);
    free(b->address);
    free(b);
}

static void on_fetch(session *s, const imap_arg *list)
{
    uint32_t uid = 0;
    if (!s->fetches || !s->fs) return; /* unsolicited (flag changes): not ours to store */
    if (imap_arg_as_u32(imap_fetch_item(list, "UID"), &uid) < 0) return;
    if (s->incremental && uid <= s->fs->last_uid) return; /* "n:*" names the last one anyway */
    size_t len = 0;
    const char *raw = imap_arg_str(imap_fetch_item(list, "BODY[]<0>"), &len);
    if (!raw) raw = imap_arg_str(imap_fetch_item(list, "BODY[]"), &len);
    if (!raw) return;
    uint32_t full = 0; /* a message longer than imap_max_message_bytes comes cut: say its size */
    if (imap_arg_as_u32(imap_fetch_item(list, "RFC822.SIZE"), &full) < 0 || full <= len) full = 0;
    if (full)
        log_warnx("sync: %s: uid %u in %s is %u bytes; stored from its first %zu (the text and "
                  "headers are at the start; imap_max_message_bytes)",
                  s->address, uid, s->folders[s->fi].name, full, len);
    int seen = 0;
    size_t nflags = 0;
    const imap_arg *flags = imap_arg_list(imap_fetch_item(list, "FLAGS"), &nflags);
    for (size_t i = 0; i < nflags; i++) seen |= imap_arg_is_atom(&flags[i], "\\Seen");
    const char *idate = imap_arg_str(imap_fetch_item(list, "INTERNALDATE"), NULL);
    if (s->npending == s->pending_cap) {
        s->pending_cap = s->pending_cap ? s->pending_cap * 2 : 64;
        s->pending = xrealloc(s->pending, s->pending_cap * sizeof(*s->pending));
    }
    pending_msg *p = &s->pending[s->npending++];
    memset(p, 0, sizeof(*p));
    p->src = (ingest_source){.mailbox_id = s->id,
                             .mailbox_address = s->address,
                             .folder = s->folders[s->fi].name,
                             .role = s->folders[s->fi].role,
                             .uidvalidity = s->uidvalidity,
                             .uid = uid,
                             .internaldate = parse_internaldate(idate),
                             .seen = seen,
                             .backfill = !s->incremental,
                             .size = full};
    p->raw = xmalloc(len + 1);
    memcpy(p->raw, raw, len);
    p->raw[len] = '\0';
    p->len = len;
    if (uid > s->max_uid) s->max_uid = uid;
}

static void drop_pending(session *s)
{
    free_msgs(s->pending, s->npending);
    s->pending = NULL;
    s->npending = s->pending_cap = 0;
}

/* The session lets go of its batches: those still in a pool are freed when they come back
 * (batch_parsed, batch_stored), the others now. A batch being stored is still committed: its
 * messages are stored once whatever the session does next (dedupe_key). */
static void drop_batches(session *s)
{
    sync_batch *b = s->batches;
    while (b) {
        sync_batch *next = b->next;
        b->s = NULL;
        b->next = NULL;
        if (b->stage == B_PARSED) free_batch(b);
        b = next;
    }
    s->batches = NULL;
    s->batches_tail = &s->batches;
    s->nbatches = 0;
    s->held_bytes = 0;
}

/* On a pool thread: parse every message of the batch (GMime; no database, no session). */
static void batch_parse(work_job *j)
{
    sync_batch *b = (sync_batch *)j;
    for (size_t i = 0; i < b->n; i++) {
        mf_error err;
        if (message_parse(b->msgs[i].raw, b->msgs[i].len, &b->msgs[i].parsed, &err) < 0)
            b->msgs[i].parse_error = xstrdup(err.message);
    }
}

/* On the store thread (its own database connection): classify, thread and store every message
 * of the batch, count them in the mailbox's progress and move the folder's last UID, all in one
 * transaction. No session state: the batch holds what it needs. */
static void batch_store(work_job *j)
{
    sync_batch *b = (sync_batch *)j;
    b->store_ok = false;
    b->stored = 0;
    db *d = engine_db(b->e);
    mf_error err;
    if (!d || db_begin(d, &err) < 0) return;
    int stored = 0;
    int64_t top = b->fs.last_uid;
    for (size_t i = 0; i < b->n; i++) {
        pending_msg *m = &b->msgs[i];
        if (m->src.uid > top) top = m->src.uid;
        if (!m->parsed) {
            log_warnx("ingest: %s uid %lld in %s: %s", m->src.mailbox_address,
                      (long long)m->src.uid, m->src.folder,
                      m->parse_error ? m->parse_error : "not parsed");
            continue;
        }
        if (ingest_parsed(d, &m->src, m->raw, m->len, m->parsed) == 1) stored++;
    }
    b->fs.last_uid = top; /* UIDs are fetched in ascending order: every one up to top is in */
    int rc = mailboxes_add_imported(d, b->mailbox_id, stored, &err);
    if (rc == 0) rc = folder_state_put(d, b->mailbox_id, &b->fs, &err);
    if (rc < 0 || db_commit(d, &err) < 0) {
        db_rollback(d);
        log_errorx("sync: %s: cannot store a batch: %s", b->address, err.message);
        return;
    }
    b->store_ok = true;
    b->stored = stored;
}

static void pump(session *s);

/* Loop thread: a batch is stored (or its store was skipped: the engine stops). */
static void batch_stored(work_job *j)
{
    sync_batch *b = (sync_batch *)j;
    session *s = b->s;
    if (!s) { /* the session went away */
        free_batch(b);
        return;
    }
    sync_batch **pp = &s->batches; /* the head: the store thread keeps the fetch order */
    while (*pp && *pp != b) pp = &(*pp)->next;
    if (*pp) {
        *pp = b->next;
        if (!b->next) s->batches_tail = pp;
    }
    s->nbatches--;
    s->held_bytes -= b->bytes;
    if (b->store_ok && !j->skipped) {
        if (b->fs.last_uid > s->fs->last_uid) s->fs->last_uid = b->fs.last_uid;
        s->stored_round += b->stored;
    }
    free_batch(b);
    pump(s);
}

/* Loop thread: a batch is back from the parse pool. Hand the parsed ones at the head to the
 * store thread, in fetch order. */
static void batch_parsed(work_job *j)
{
    sync_batch *b = (sync_batch *)j;
    session *s = b->s;
    b->stage = B_PARSED;
    if (!s) { /* the session went away */
        free_batch(b);
        return;
    }
    for (sync_batch *h = s->batches; h && h->stage != B_PARSING; h = h->next) {
        if (h->stage == B_STORING) continue;
        h->stage = B_STORING;
        h->job.work = batch_store;
        h->job.done = batch_stored;
        h->job.skipped = false;
        work_pool_submit(s->e->store_pool, &h->job);
    }
    pump(s);
}

/* The completed UID FETCH's messages go to the work pool: those up to top, the highest UID it
 * asked for. Answers to the FETCH pipelined behind it (higher UIDs) stay pending for its batch,
 * should a server interleave the two: a batch then never holds a UID above one still to come,
 * and its last_uid never skips a message. */
static void submit_pending(session *s, uint32_t top)
{
    size_t n = 0, keep = 0;
    for (size_t i = 0; i < s->npending; i++) /* stable partition: UID <= top first */
        if (s->pending[i].src.uid <= top) n++;
    if (n == 0) return;
    pending_msg *mine = xmalloc(n * sizeof(*mine)), *rest = s->pending;
    for (size_t i = 0, k = 0; i < s->npending; i++) {
        if (s->pending[i].src.uid <= top) mine[k++] = s->pending[i];
        else rest[keep++] = s->pending[i];
    }
    sync_batch *b = xcalloc(1, sizeof(*b));
    b->job.work = batch_parse;
    b->job.done = batch_parsed;
    b->s = s;
    b->e = s->e;
    b->stage = B_PARSING;
    b->msgs = mine;
    b->n = n;
    snprintf(b->mailbox_id, sizeof(b->mailbox_id), "%s", s->id);
    b->address = xstrdup(s->address);
    b->fs = *s->fs;
    for (size_t i = 0; i < b->n; i++) {
        b->bytes += b->msgs[i].len;
        b->msgs[i].src.mailbox_id = b->mailbox_id; /* the batch's own: see sync_batch */
        b->msgs[i].src.mailbox_address = b->address;
        b->msgs[i].src.folder = b->fs.folder;
        b->msgs[i].src.role = b->fs.role;
    }
    s->held_bytes += b->bytes;
    /* the next FETCH holds about imap_fetch_bytes at this batch's average message size */
    uint64_t avg = b->bytes / b->n + 1, cap = (uint64_t)s->e->app->cfg.imap_fetch_bytes;
    uint64_t want = cap / avg, most = (uint64_t)s->e->app->cfg.imap_fetch_batch;
    s->fetch_n = (uint32_t)(want < 1 ? 1 : want > most ? most : want);
    s->npending = keep; /* rest is s->pending, compacted */
    if (keep == 0) {
        free(s->pending);
        s->pending = NULL;
        s->pending_cap = 0;
    }
    *s->batches_tail = b;
    s->batches_tail = &b->next;
    s->nbatches++;
    work_pool_submit(s->e->parse_pool, &b->job);
}

static void on_list(session *s, const imap_response *r)
{
    if (r->nargs < 4) return;
    size_t nflags = 0;
    const imap_arg *flags = imap_arg_list(&r->args[1], &nflags);
    const char *name = imap_arg_str(&r->args[3], NULL);
    if (!name || strlen(name) >= 256) return;
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
        free(s->sent_guess);
        s->sent_guess = xstrdup(name);
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
            if (s->nuids == s->uids_cap) {
                s->uids_cap = s->uids_cap ? s->uids_cap * 2 : 1024;
                s->uids = xrealloc(s->uids, s->uids_cap * sizeof(*s->uids));
            }
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
    if (d && folder_state_put(d, s->id, s->fs, &err) < 0)
        log_warnx("sync: cannot save the state of %s in %s: %s", s->fs->folder, s->address,
                  err.message);
}

static void next_folder(session *s)
{
    s->fi++;
    sync_folder(s);
}

static void fetch_batch(session *s);
static void fetch_range(session *s);

static bool range_left(const session *s)
{
    return s->range_from != 0 && s->range_from <= s->range_to;
}

/* Messages for the next UID FETCH: a few (FIRST_FETCH) until a batch shows how big this
 * mailbox's messages are, then as many as make about imap_fetch_bytes, at most
 * imap_fetch_batch. */
#define FIRST_FETCH 16u
static uint32_t fetch_count(const session *s)
{
    uint32_t most = (uint32_t)s->e->app->cfg.imap_fetch_batch;
    uint32_t n = s->fetch_n ? s->fetch_n : (most < FIRST_FETCH ? most : FIRST_FETCH);
    return n ? n : 1;
}

/* The folder is done when nothing is left to fetch, in flight or waiting to be stored. */
static void finish_folder(session *s)
{
    /* Every message there now is seen: new ones start after UIDNEXT-1. */
    uint32_t last = s->max_uid;
    if (s->uidnext > 1 && s->uidnext - 1 > last) last = s->uidnext - 1;
    if (last > s->fs->last_uid) s->fs->last_uid = last;
    s->fs->backfill_done = 1;
    save_folder(s);
    next_folder(s);
}

/* Next step of a folder's sync: fetch more while few batches wait, or finish. */
static void pump(session *s)
{
    /* The next UID FETCH goes out behind the one in flight, so the server never waits for us
     * between two batches (one round trip less per batch on a distant server) — once a batch
     * has shown how big this mailbox's messages are (fetch_n), so that the first FETCH stays
     * small. Its answers only arrive after the first one's, so what is held in memory stays
     * the same: one FETCH being read, and the batches waiting within the bound below. */
    while (s->state == SS_SYNCING && s->client &&
           (s->fetches == 0 || (s->fetches == 1 && s->fetch_n != 0))) {
        /* a few batches ahead of the store (those on the wire count), within the memory bound */
        bool room = s->nbatches + s->fetches < MAX_BATCHES_AHEAD(s->e) &&
                    (s->nbatches == 0 || s->held_bytes < (uint64_t)s->e->app->cfg.imap_fetch_bytes);
        if (s->upos < s->nuids) {
            if (!room) return;
            fetch_batch(s);
        } else if (range_left(s)) {
            if (!room) return;
            fetch_range(s);
        } else {
            if (s->nbatches == 0 && s->fetches == 0) finish_folder(s);
            return;
        }
    }
}

static void fetch_done(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)c;
    session *s = arg;
    uint32_t top = s->fetch_tops[0];
    s->fetch_tops[0] = s->fetch_tops[1];
    s->fetches--;
    if (st != IMAP_STATUS_OK) {
        protocol_failure(s, "UID FETCH", r);
        return;
    }
    submit_pending(s, top);
    pump(s);
}

/* UID FETCH of a UID set: every item a message is stored from, the body cut at
 * imap_max_message_bytes (a longer message is stored from its start, see on_fetch). */
static void send_fetch(session *s, const char *uid_set, uint32_t top)
{
    char *cmd = xasprintf("UID FETCH %s (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]<0.%ld>)",
                          uid_set, s->e->app->cfg.imap_max_message_bytes);
    if (imap_client_command_next(s->client, cmd, fetch_done, s) < 0)
        protocol_failure(s, cmd, NULL);
    else
        s->fetch_tops[s->fetches++] = top;
    free(cmd);
}

static void fetch_batch(session *s)
{
    strbuf set;
    strbuf_init(&set, 64 * 1024);
    uint32_t batch = fetch_count(s), i, top = 0;
    for (i = 0; i < batch && s->upos < s->nuids; i++, s->upos++) {
        strbuf_addf(&set, "%s%u", i ? "," : "", s->uids[s->upos]);
        if (s->uids[s->upos] > top) top = s->uids[s->upos];
    }
    log_debug("sync: %s: fetching %u message(s) of %s", s->address, i, s->folders[s->fi].name);
    send_fetch(s, set.buf, top);
    strbuf_release(&set);
}

/* New mail, in batches like the backfill: a burst of thousands of new messages is stored in
 * short transactions and the other sessions are served in between (one FETCH of all of them
 * held the engine's thread until every one was stored, long enough for other connections'
 * timeouts to fire under load: found by bench/assign). */
static void fetch_range(session *s)
{
    uint32_t from = s->range_from, batch = fetch_count(s);
    uint32_t to = s->range_to - from >= batch ? from + batch - 1 : s->range_to;
    s->range_from = to == UINT32_MAX ? 0 : to + 1;
    log_debug("sync: %s: fetching UIDs %u:%u of %s", s->address, from, to, s->folders[s->fi].name);
    char set[32];
    snprintf(set, sizeof(set), "%u:%u", from, to);
    send_fetch(s, set, to);
}

static int cmp_uid(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void search_done(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)c;
    session *s = arg;
    if (st != IMAP_STATUS_OK) {
        protocol_failure(s, "UID SEARCH", r);
        return;
    }
    /* Ascending, so that each stored batch can move the folder's last UID; an interrupted
     * backfill goes on after the last UID it stored (same UIDVALIDITY). */
    qsort(s->uids, s->nuids, sizeof(*s->uids), cmp_uid);
    while (s->upos < s->nuids && (int64_t)s->uids[s->upos] <= s->fs->last_uid) s->upos++;
    pump(s);
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
    s->inbox_selected = strcmp(folder, "INBOX") == 0;
    s->opened = true;
    db *d = engine_db(s->e);
    mf_error err;
    if (!s->fs) s->fs = xmalloc(sizeof(*s->fs));
    if (!d || folder_state_get(d, s->id, folder, s->folders[s->fi].role, s->fs, &err) < 0) {
        protocol_failure(s, "reading the sync state", NULL);
        return;
    }
    if (s->fs->uidvalidity && s->fs->uidvalidity != s->uidvalidity) {
        /* UIDVALIDITY changed: our UIDs mean nothing now. Read the window again; messages
         * already stored are recognised by Message-ID and not stored twice. */
        log_info("sync: %s: UIDVALIDITY of %s changed (%lld -> %u), resyncing", s->address,
                 folder, (long long)s->fs->uidvalidity, s->uidvalidity);
        s->fs->last_uid = 0;
        s->fs->backfill_done = 0;
    }
    s->fs->uidvalidity = s->uidvalidity;
    free(s->uids);
    s->uids = NULL;
    s->nuids = s->upos = s->uids_cap = 0;
    s->max_uid = 0;
    s->range_from = s->range_to = 0;
    if (s->exists == 0) {
        finish_folder(s);
        return;
    }
    if (!s->fs->backfill_done) {
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
    if (s->uidnext > 0 && s->fs->last_uid >= 0 && s->fs->last_uid < UINT32_MAX) {
        /* the new UIDs are last_uid+1 .. UIDNEXT-1; mail arriving later has higher UIDs and
         * is announced by an EXISTS (more_mail) */
        if ((int64_t)s->uidnext - 1 <= s->fs->last_uid) {
            finish_folder(s); /* nothing new */
            return;
        }
        s->range_from = (uint32_t)s->fs->last_uid + 1;
        s->range_to = s->uidnext - 1;
        pump(s);
        return;
    }
    /* no UIDNEXT from the server: everything after the last seen UID in one FETCH */
    char set[32];
    snprintf(set, sizeof(set), "%lld:*", (long long)s->fs->last_uid + 1);
    send_fetch(s, set, UINT32_MAX);
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
    if (s->state != SS_WATCHING) engine_note_settled(s->e);
    s->state = SS_WATCHING;
    free(s->fs); /* the round is over */
    s->fs = NULL;
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
    s->inbox_selected = true;
    start_watch(s);
}

static void watch(session *s)
{
    if (s->inbox_selected) {
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
        free(s->folders[0].name);
        s->folders[0].name = xstrdup(s->sent_guess);
        snprintf(s->folders[0].role, sizeof(s->folders[0].role), "sent");
        s->nfolders = 1;
    }
    free(s->folders[s->nfolders].name);
    s->folders[s->nfolders].name = xstrdup("INBOX");
    snprintf(s->folders[s->nfolders].role, sizeof(s->folders[0].role), "inbox");
    s->nfolders++;
    begin_round(s);
}

static void on_ready(imap_client *c, void *arg)
{
    (void)c;
    session *s = arg;
    s->failures = 0;
    release_slot(s); /* connected, TLS and login done */
    set_health(s, "good", NULL);
    s->state = SS_LISTING;
    s->sent_rank = 0;
    free(s->sent_guess);
    s->sent_guess = NULL;
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

bool session_waits_for_slot(const session *s)
{
    return s->state == SS_WAIT_SLOT;
}

void session_start(session *s)
{
    drop_client(s);
    evtimer_del(s->timer);
    /* A burst of connects (engine start, thousands of mailboxes) runs a few at a time: TLS
     * handshakes' transient buffers then do not fragment the heap between the sessions'
     * long-lived objects, and the servers are not stormed. */
    if (!engine_connect_slot(s->e)) {
        s->state = SS_WAIT_SLOT;
        return;
    }
    s->holds_slot = true;
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
    cfg.dns = s->e->dns;
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
    s->address = xstrdup(m->address);
    s->config_version = m->config_version;
    s->imap_sealed = xstrdup(m->imap_sealed);
    s->batches_tail = &s->batches;
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
    free(s->address);
    free(s->sent_guess);
    for (int i = 0; i < MAX_FOLDERS; i++) free(s->folders[i].name);
    free(s);
}
