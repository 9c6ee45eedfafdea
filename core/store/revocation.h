/*
 * revocation.h: the revocation epoch, which tells a per-worker credential
 * cache (core/api/authcache.c) when an answer it holds may have gone
 * stale.
 *
 * Two counters make the epoch:
 *   - the local one lives in a shared-memory region the master maps before
 *     forking; a worker that commits a revocation adds one after COMMIT,
 *     so every worker on this host drops its cached answers at once;
 *   - the database one is the row of revocation_epoch, incremented in the
 *     same transaction as every revocation (db.c does it for statements
 *     flagged KG_SQL_REVOKES), so revocations made on other hosts (or by
 *     keygate-admin) are seen when a worker of this host next reads it.
 *     One worker per host reads it at most every KG_REV_POLL_MS; an epoch
 *     whose database reading is older than KG_REV_STALE_MS is not current,
 *     so nothing is served from a cache on older knowledge than that.
 */
#ifndef KG_REVOCATION_H
#define KG_REVOCATION_H

#include <stdint.h>

#include "core/base/err.h"

struct kg_db;

/* The database epoch is read again after this long (one reader a host)... */
#define KG_REV_POLL_MS		500
/* ... and a reading older than this is not used at all (SPEC 7: 1 s). */
#define KG_REV_STALE_MS		1000

struct kg_rev_epoch {
	uint64_t	re_local;
	uint64_t	re_db;
};

/*
 * Maps the shared region; call once in the master before the first fork.
 * Without it (tools, tests) the epoch is this process's own.  When it
 * fails, no cached answer is ever used (each worker would count only
 * its own revocations).
 */
enum kg_err	kg_revocation_share(void);

/* A revocation was committed (or its COMMIT was sent) on this host. */
void		kg_revocation_committed(void);

/*
 * Inside a transaction that revoked: adds one to the database epoch.
 * db.c calls it just before COMMIT of a transaction in which a
 * KG_SQL_REVOKES statement matched rows, so the epoch row is the last
 * lock it takes.
 */
enum kg_err	kg_revocation_note(struct kg_db *db);

/*
 * The epoch as known now, without reading the database: what a cache
 * entry records before the lookup that fills it.
 */
void		kg_revocation_peek(struct kg_rev_epoch *e);

/*
 * The current epoch at now_ms (milliseconds, CLOCK_REALTIME), reading the
 * database when this host's reading is due.  KG_OK with *e, or an error
 * when that read failed or no reading younger than KG_REV_STALE_MS
 * exists: then no cached answer may be used.
 */
enum kg_err	kg_revocation_current(struct kg_db *db, int64_t now_ms,
		    struct kg_rev_epoch *e);

/* Forgets this host's database reading (tests). */
void		kg_revocation_reset(void);

#endif
