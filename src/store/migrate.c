/* migrate.c — applies the embedded numbered migrations; see migrate.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/migrate.h"
#include "util/clock.h"
#include "util/embedded.h"
#include "util/log.h"

static int migration_number(const char *name)
{
    return atoi(name); /* "0001_foundation.sql" -> 1 */
}

int migrate_latest(void)
{
    int latest = 0;
    for (const struct mf_embedded_file *f = mf_migrations; f->name; f++) {
        int n = migration_number(f->name);
        if (n > latest) latest = n;
    }
    return latest;
}

/* 1 when migration n is recorded as applied, 0 when not, -1 on error. Each number is checked
 * on its own (not against the highest applied) so a migration merged below a number that a
 * database already has is still applied. */
static int is_applied(db *d, int n, mf_error *err)
{
    db_stmt *st = db_prepare(d, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", err);
    if (!st) return -1;
    db_bind_int64(st, 1, n);
    int r = -1;
    if (db_step(st) == DB_ROW) r = db_col_int64(st, 0) > 0;
    db_finalize(&st);
    return r;
}

int migrate_up(db *d, int *applied, mf_error *err)
{
    if (applied) *applied = 0;
    if (db_exec_script(d,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                       err) < 0)
        return -1;
    for (const struct mf_embedded_file *f = mf_migrations; f->name; f++) {
        int n = migration_number(f->name);
        if (db_begin(d, err) < 0) return -1;
        if (db_kind(d) == DB_POSTGRES &&
            db_exec_script(d, "SELECT pg_advisory_xact_lock(7263501)", err) < 0)
            goto fail;
        int done = is_applied(d, n, err);
        if (done < 0) goto fail;
        if (done) {
            db_rollback(d);
            continue;
        }
        if (db_exec_script(d, (const char *)f->data, err) < 0) goto fail;
        char now[MF_TIME_LEN], num[16];
        mf_time_format(mf_now(), now);
        snprintf(num, sizeof(num), "%d", n);
        if (db_exec(d, err, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    num, f->name, now, DB_END) < 0)
            goto fail;
        if (db_commit(d, err) < 0) return -1;
        log_info("applied migration %s", f->name);
        if (applied) (*applied)++;
    }
    return 0;
fail:
    db_rollback(d);
    return -1;
}
