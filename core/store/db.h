/*
 * db.h: the worker's MariaDB connection.  Written with core/store/db.c.
 */
#ifndef KG_DB_H
#define KG_DB_H

#include "core/base/config.h"
#include "core/base/err.h"

struct kg_db;

/* Allocates a handle for cfg (which must outlive it); does not connect. */
enum kg_err	kg_db_open(struct kg_db **out, const struct kg_config *cfg);
/* Closes the connection and its statements; NULL is allowed. */
void		kg_db_close(struct kg_db *);

#endif
