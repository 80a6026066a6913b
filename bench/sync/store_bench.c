/* store_bench.c — the store half of the bench/sync import on its own: the messages of a Maildir
 * `cur/` (bench/sync/gen.py's INBOX) are parsed in batches (not timed), then each batch is
 * stored the way the engine's store_batch() does it — one transaction, ingest_parsed() per
 * message, mailboxes_add_imported(), folder_state_put(), commit — into a new SQLite database.
 * Prints the CPU seconds of the storing (this thread only) and the bytes written
 * (/proc/self/io wchar: WAL frames, checkpoints), the database's size, and the number stored.
 *
 * Build and run with bench/sync/store_bench.sh (links build-release/libmailfleet.a).
 *   store_bench DB_PATH MAILDIR_CUR [N=100000] [BATCH=200]
 * MF_XPRAGMAS="PRAGMA ...;" runs extra SQL on the connection after it is opened and migrated
 * (settings of the connection only: cache_size, wal_autocheckpoint, mmap_size, ...). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "engine/ingest.h"
#include "mail/message_parse.h"
#include "store/db.h"
#include "store/messages.h"
#include "store/migrate.h"
#include "util/log.h"
#include "util/strbuf.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static double thread_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long long written(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long v = 0;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "wchar:", 6) == 0) v = atoll(line + 6);
    if (f) fclose(f);
    return v;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    strbuf sb;
    strbuf_init(&sb, (size_t)1 << 30);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) strbuf_add(&sb, buf, n);
    fclose(f);
    return strbuf_detach(&sb, len);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: store_bench DB_PATH MAILDIR_CUR [N] [BATCH]\n");
        return 2;
    }
    const char *path = argv[1], *dir = argv[2];
    size_t want = argc > 3 ? (size_t)atol(argv[3]) : 100000, batch = argc > 4 ? (size_t)atol(argv[4]) : 200;
    if (batch == 0) batch = 200;
    log_set_level(MF_LOG_WARN);
    mf_error err = {0};
    db *d = NULL;
    char *url = xasprintf("sqlite:%s", path);
    if (db_open(url, &d, &err) < 0 || migrate_up(d, NULL, &err) < 0) {
        fprintf(stderr, "store_bench: %s\n", err.message);
        return 1;
    }
    free(url);
    const char *now = "2026-11-01T00:00:00Z", *box = "mbx_bench", *addr = "bench@example.test";
    if (db_exec(d, &err, "INSERT INTO orgs (id, name, created_at) VALUES ('org_bench', 'B', ?)",
                now, DB_END) < 0 ||
        db_exec(d, &err,
                "INSERT INTO users (id, org_id, email, email_norm, name, role, created_at) VALUES "
                "('usr_bench', 'org_bench', 'u@bench.test', 'u@bench.test', 'U', 'user', ?)",
                now, DB_END) < 0 ||
        db_exec(d, &err,
                "INSERT INTO mailboxes (id, org_id, owner_id, address, address_norm, "
                "status_since, created_at) VALUES (?, 'org_bench', 'usr_bench', ?, ?, ?, ?)",
                box, addr, addr, now, now, DB_END) < 0) {
        fprintf(stderr, "store_bench: %s\n", err.message);
        return 1;
    }
    if (getenv("MF_XPRAGMAS") && db_exec_script(d, getenv("MF_XPRAGMAS"), &err) < 0) {
        fprintf(stderr, "store_bench: MF_XPRAGMAS: %s\n", err.message);
        return 1;
    }
    DIR *dd = opendir(dir);
    if (!dd) {
        perror(dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(dd));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) names = xrealloc(names, (cap = cap ? cap * 2 : 1024) * sizeof(*names));
        names[n++] = xstrdup(e->d_name);
    }
    closedir(dd);
    qsort(names, n, sizeof(*names), by_name); /* gen.py's names sort in generation order */
    if (want > n) want = n;
    message_parse_init();
    double cpu = 0;
    long long w0 = written();
    int64_t stored_all = 0;
    for (size_t at = 0; at < want; at += batch) {
        size_t k = at + batch > want ? want - at : batch;
        char **raw = xcalloc(k, sizeof(*raw));
        size_t *len = xcalloc(k, sizeof(*len));
        message_parsed **p = xcalloc(k, sizeof(*p));
        for (size_t i = 0; i < k; i++) {
            char *file = xasprintf("%s/%s", dir, names[at + i]);
            raw[i] = read_file(file, &len[i]);
            free(file);
            if (raw[i] && message_parse(raw[i], len[i], &p[i], &err) < 0) p[i] = NULL;
        }
        double t0 = thread_cpu();
        if (db_begin(d, &err) < 0) {
            fprintf(stderr, "store_bench: %s\n", err.message);
            return 1;
        }
        int64_t stored = 0;
        for (size_t i = 0; i < k; i++) {
            if (!p[i]) continue;
            const char *flags = strstr(names[at + i], ":2,");
            ingest_source src = {.mailbox_id = box,
                                 .mailbox_address = addr,
                                 .folder = "INBOX",
                                 .role = "inbox",
                                 .uidvalidity = 1,
                                 .uid = (int64_t)(at + i + 1),
                                 .seen = flags && strchr(flags, 'S'),
                                 .backfill = 1,
                                 .size = (int64_t)len[i]};
            if (ingest_parsed(d, &src, raw[i], len[i], p[i]) == 1) stored++;
        }
        mf_folder_state fs = {.uidvalidity = 1, .last_uid = (int64_t)(at + k)};
        snprintf(fs.folder, sizeof(fs.folder), "INBOX");
        snprintf(fs.role, sizeof(fs.role), "inbox");
        if (mailboxes_add_imported(d, box, stored, &err) < 0 ||
            folder_state_put(d, box, &fs, &err) < 0 || db_commit(d, &err) < 0) {
            fprintf(stderr, "store_bench: %s\n", err.message);
            return 1;
        }
        cpu += thread_cpu() - t0;
        stored_all += stored;
        for (size_t i = 0; i < k; i++) {
            message_parsed_free(&p[i]);
            free(raw[i]);
        }
        free(raw);
        free(len);
        free(p);
    }
    long long w = written() - w0;
    db_close(&d);
    printf("stored %lld of %zu, batch %zu: store CPU %.3f s, written %.1f MB, database %.1f MB\n",
           (long long)stored_all, want, batch, cpu, (double)w / 1e6, (double)file_size(path) / 1e6);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return 0;
}
