/* h_workers.h — GET /api/v1/workers (h_workers.c): the live engine workers and the mailboxes
 * each holds a lease on (scale-out on PostgreSQL, store/leases.h). Listed in router.c. */
#ifndef MF_H_WORKERS_H
#define MF_H_WORKERS_H
#include "api/api.h"

int h_workers_list(api_req *r);
#endif
