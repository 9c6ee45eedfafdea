/*
 * migrate.h: schema migrations.  Written with core/store/migrate.c.
 */
#ifndef KG_MIGRATE_H
#define KG_MIGRATE_H

#include "core/base/err.h"

struct kg_db;

/* The schema version this binary needs (the highest schema/NNN_*.sql). */
#define KG_SCHEMA_VERSION	1

/* Sets *version to the highest applied migration (0 when none). */
enum kg_err	kg_migrate_current(struct kg_db *, int *version);

#endif
