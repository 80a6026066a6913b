/* db_fixture.h — a fresh, empty database for the store tests on either backend: SQLite in a
 * temporary folder, or PostgreSQL (MAILFLEET_TEST_PG_URL) in a schema of its own; closed with
 * everything it made removed. Include after cmocka.h; used by test_db.c and test_leases.c. */
#ifndef MF_TEST_DB_FIXTURE_H
#define MF_TEST_DB_FIXTURE_H
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "store/db.h"

struct fixture {
    db *d;
    char *dir;    /* SQLite: the temporary folder */
    char *path;   /* SQLite: the database file in it */
    char *schema; /* PostgreSQL: this fixture's schema */
};

/* A new fixture (name: a prefix for the folder or schema): 0, or -1 with the reason on
 * stderr (f then holds what was made, for fixture_close). */
static int fixture_open(struct fixture *f, int pg, const char *name)
{
    mf_error err = {0};
    if (pg) {
        if (db_open(getenv("MAILFLEET_TEST_PG_URL"), &f->d, &err) < 0) {
            fprintf(stderr, "cannot open PostgreSQL: %s\n", err.message);
            return -1;
        }
        static int seq;
        f->schema = xasprintf("%s_%ld_%ld_%d", name, (long)getpid(), (long)time(NULL), seq++);
        char *sql = xasprintf("CREATE SCHEMA %s; SET search_path TO %s", f->schema, f->schema);
        int rc = db_exec_script(f->d, sql, &err);
        free(sql);
        if (rc < 0) {
            fprintf(stderr, "cannot create schema: %s\n", err.message);
            return -1;
        }
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    f->dir = xasprintf("%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(f->dir)) {
        perror("mkdtemp");
        free(f->dir);
        f->dir = NULL;
        return -1;
    }
    f->path = xasprintf("%s/test.db", f->dir);
    char *url = xasprintf("sqlite:%s", f->path);
    int rc = db_open(url, &f->d, &err);
    free(url);
    if (rc < 0) fprintf(stderr, "cannot open SQLite: %s\n", err.message);
    return rc < 0 ? -1 : 0;
}

/* Drop the schema or remove the files, close the connection, free the fields (not f). */
static void fixture_close(struct fixture *f)
{
    if (f->schema && f->d) {
        char *sql = xasprintf("DROP SCHEMA %s CASCADE", f->schema);
        mf_error err = {0};
        if (db_exec_script(f->d, sql, &err) < 0)
            fprintf(stderr, "cannot drop schema %s: %s\n", f->schema, err.message);
        free(sql);
    }
    db_close(&f->d);
    if (f->path) {
        const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
            char *p = xasprintf("%s%s", f->path, suffixes[i]);
            unlink(p);
            free(p);
        }
    }
    if (f->dir) rmdir(f->dir);
    free(f->schema);
    free(f->path);
    free(f->dir);
}
#endif
