/* assign.c — round-robin assignment on ingest and the unassigned alert (R21); see assign.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <jansson.h>
#include "core/team.h"
#include "engine/assign.h"
#include "engine/engine_internal.h"
#include "store/store.h"
#include "store/team.h"
#include "store/webhooks.h"
#include "util/log.h"

struct assign_alerts {
    engine *e;
    struct event *tick;
};

/* The members of a shared mailbox as round-robin candidates. */
typedef struct candidates {
    mf_member *m; /* owns the ids the candidates point at */
    team_candidate *c;
    size_t n, cap;
} candidates;

static void add_candidate(const mf_member *m, void *arg)
{
    candidates *cs = arg;
    if (cs->n == cs->cap) {
        cs->cap = cs->cap ? cs->cap * 2 : 16;
        cs->m = xrealloc(cs->m, cs->cap * sizeof(*cs->m));
        cs->c = xrealloc(cs->c, cs->cap * sizeof(*cs->c));
    }
    cs->m[cs->n] = *m;
    enum team_access acc = TEAM_NONE;
    if (team_access_parse(m->access, &acc) < 0) acc = TEAM_NONE;
    cs->c[cs->n] = (team_candidate){.access = acc, .available = m->available, .open_count = 0};
    cs->n++;
}

/* The member team_round_robin picks with every member's true count: counts are read lazily,
 * in turn order. Whoever comes next is asked their count (up to the cap); one at the cap is
 * marked so and the choice made again; the first one under it is the answer, exactly the one a
 * choice over all counts gives. Without a cap no count matters. -2 on a store error. */
static int pick_under_cap(db *d, const mf_assignment *rule, candidates *cs, mf_error *err)
{
    for (size_t tries = 0; tries <= cs->n; tries++) {
        int pick = team_round_robin(cs->c, cs->n, rule->cursor, rule->cap);
        if (pick < 0 || rule->cap < 0) return pick;
        int open = member_open_count(d, rule->mailbox_id, cs->m[pick].user_id, rule->cap, err);
        if (open < 0) return -2;
        if (open < rule->cap) return pick;
        cs->c[pick].open_count = open; /* at the cap: out of this turn */
    }
    return -1;
}

/* R21 round-robin: give conversation conv to the next eligible member and move the cursor.
 * 1 assigned, 0 nobody eligible (all away or at the cap: it stays unassigned), -1 error. */
static int round_robin(db *d, const mf_assignment *rule, const char *conv, mf_error *err)
{
    candidates cs = {0};
    int rc = members_candidates(d, rule->mailbox_id, add_candidate, &cs, err) < 0 ? -1 : 0;
    for (size_t i = 0; i < cs.n; i++) cs.c[i].user_id = cs.m[i].user_id; /* after any realloc */
    int pick = rc == 0 ? pick_under_cap(d, rule, &cs, err) : -1;
    if (pick == -2) rc = -1;
    if (pick >= 0) {
        const char *who = cs.m[pick].user_id;
        rc = conversation_set_assignee(d, conv, who, err);
        if (rc == 0) rc = assignment_set_cursor(d, rule->mailbox_id, who, err);
        if (rc == 0 && webhook_emit_conversation_assigned(d, rule->mailbox_id, conv, who, NULL,
                                                          "round_robin") < 0)
            rc = mf_fail(err, 500, "internal", NULL, "cannot record the conversation.assigned event");
        if (rc == 0) {
            log_info("assign: conversation %s of %s to %s (round-robin)", conv,
                     rule->mailbox_id, who);
            rc = 1;
        }
    }
    free(cs.m);
    free(cs.c);
    return rc;
}

void assign_on_inbound(db *d, const char *msg_id, const char *classification, int backfill)
{
    if (backfill) return; /* history: no reopening, no assignment, no alert clock (and no
                           * query for facts that would not be used: bench/sync) */
    mf_error err;
    mf_conv_facts f;
    if (conversation_facts_of_message(d, msg_id, &f, &err) < 0) {
        log_warnx("assign: message %s: %s", msg_id, err.message);
        return;
    }
    int first_inbound = f.inbound_count == 1;
    int rc = 0;
    if (first_inbound) {
        rc = conversation_mark_opened(d, f.id, &err); /* the alert clock starts (R21) */
    } else if (strcmp(f.status, "open") != 0 && team_inbound_reopens(classification)) {
        rc = conversation_mark_opened(d, f.id, &err); /* a reply from outside reopens it */
        if (rc == 0) log_info("assign: conversation %s reopened by a reply", f.id);
    }
    if (rc == 0 && first_inbound && !f.assignee_id[0] && strcmp(f.kind, "shared") == 0) {
        mf_assignment rule;
        rc = assignment_get(d, f.mailbox_id, &rule, &err);
        if (rc == 0 && strcmp(rule.mode, "round_robin") == 0)
            rc = round_robin(d, &rule, f.id, &err) < 0 ? -1 : 0;
    }
    if (rc < 0) log_warnx("assign: conversation %s: %s", f.id, err.message);
}

/* ---- the unassigned alert ---- */

typedef struct alert_ctx {
    db *d;
    const mf_alert_rule *rule;
    mf_unassigned *due;
    size_t n, cap;
    int notified;
} alert_ctx;

static void collect_due(const mf_unassigned *u, void *arg)
{
    alert_ctx *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->due = xrealloc(a->due, a->cap * sizeof(*a->due));
    }
    a->due[a->n++] = *u;
}

/* One conversation: mark it alerted and notify the owner in one transaction; the conditional
 * mark makes it once, also with several workers on one database. */
static void alert_one(alert_ctx *a, const mf_unassigned *u)
{
    mf_error err;
    if (db_begin(a->d, &err) < 0) return;
    int marked = conversation_mark_alerted(a->d, u->id, &err);
    int rc = marked < 0 ? -1 : 0;
    if (marked == 1) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:i}", "conversation_id", u->id, "mailbox_id",
                              a->rule->mailbox_id, "address", a->rule->address, "subject",
                              u->subject, "minutes", a->rule->minutes);
        json_object_set_new(j, "opened_at", json_string(u->opened_at));
        char *dj = json_dumps(j, JSON_COMPACT);
        rc = notifications_add(a->d, a->rule->owner_id, "conversation_unassigned", dj, &err);
        free(dj);
        json_decref(j);
    }
    if (rc < 0 || db_commit(a->d, &err) < 0) {
        db_rollback(a->d);
        log_warnx("assign: cannot alert about conversation %s: %s", u->id, err.message);
        return;
    }
    if (marked == 1) {
        a->notified++;
        log_info("assign: conversation %s of %s unassigned for %d minute(s): owner notified",
                 u->id, a->rule->address, a->rule->minutes);
    }
}

typedef struct rules_ctx {
    mf_alert_rule *r;
    size_t n, cap;
} rules_ctx;

static void collect_rule(const mf_alert_rule *r, void *arg)
{
    rules_ctx *rc = arg;
    if (rc->n == rc->cap) {
        rc->cap = rc->cap ? rc->cap * 2 : 16;
        rc->r = xrealloc(rc->r, rc->cap * sizeof(*rc->r));
    }
    rc->r[rc->n++] = *r;
}

int assign_alerts_run(db *d)
{
    mf_error err;
    rules_ctx rules = {0};
    if (assignment_alert_rules(d, collect_rule, &rules, &err) < 0) {
        log_warnx("assign: cannot read the alert rules: %s", err.message);
        free(rules.r);
        return 0;
    }
    int notified = 0;
    time_t now = mf_now();
    for (size_t i = 0; i < rules.n; i++) {
        char cutoff[MF_TIME_LEN];
        mf_time_format(now - (time_t)rules.r[i].minutes * 60, cutoff);
        alert_ctx a = {.d = d, .rule = &rules.r[i]};
        if (conversations_unassigned_due(d, rules.r[i].mailbox_id, cutoff, 200, collect_due, &a,
                                         &err) < 0)
            log_warnx("assign: %s: %s", rules.r[i].address, err.message);
        for (size_t k = 0; k < a.n; k++) alert_one(&a, &a.due[k]);
        notified += a.notified;
        free(a.due);
    }
    free(rules.r);
    return notified;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    assign_alerts *a = arg;
    db *d = engine_db(a->e);
    if (d) assign_alerts_run(d);
}

assign_alerts *assign_alerts_start(engine *e)
{
    assign_alerts *a = xcalloc(1, sizeof(*a));
    a->e = e;
    a->tick = event_new(e->base, -1, EV_PERSIST, on_tick, a);
    struct timeval tv = {.tv_sec = e->app->cfg.assignment_check_seconds, .tv_usec = 0};
    event_add(a->tick, &tv);
    return a;
}

void assign_alerts_free(assign_alerts **ap)
{
    if (!ap || !*ap) return;
    if ((*ap)->tick) event_free((*ap)->tick);
    free(*ap);
    *ap = NULL;
}
