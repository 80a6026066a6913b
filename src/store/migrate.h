/* migrate.h — numbered schema migrations (src/store/migrations/NNNN_name.sql, embedded in the
 * binary), applied in order, each in its own transaction, recorded in schema_migrations. */
#ifndef MF_MIGRATE_H
#define MF_MIGRATE_H
#include "store/db.h"
/* Apply what is missing; *applied (may be NULL) gets how many ran. */
int migrate_up(db *d, int *applied, mf_error *err);
/* Highest migration number known to this binary. */
int migrate_latest(void);
#endif
