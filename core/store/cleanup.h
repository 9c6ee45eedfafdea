/*
 * cleanup.h: what keygate-cleanup deletes, and when a row is dead enough
 * (ARCHITECTURE "Tools").  All of its SQL is in core/store/cleanup.c.
 *
 * Every step deletes rows of one table whose time column lies further in
 * the past than that table's grace, compared in SQL against
 * UTC_TIMESTAMP(6), in statements of at most cl_batch rows (ordered by
 * the time column, through its index: no statement sorts or locks
 * anything but the rows it deletes and the index entry after them).
 * Each statement is its own autocommit transaction, so no lock lives
 * longer than one batch; a deadlock or lock wait timeout re-runs the
 * statement (kg_db_exec, up to db_retries times).  With cl_dry_run a step
 * counts the same rows instead, in one non-locking read.
 *
 * The graces, and why no row any validation still consults can go:
 *   nonces            expires_at + KG_CLEANUP_MARGIN, used or not: a
 *                     nonce is consumed only while unexpired, and used
 *                     ones go with their expiry (no index on used_at)
 *   install_tokens    expires_at + KG_INSTALL_CLEANUP_GRACE, used or not
 *                     (kg_store_install_cleanup's rule: a used token
 *                     keeps answering install_token_already_used)
 *   refresh_tokens    expires_at + KG_CLEANUP_MARGIN, and only once its
 *                     family is over: revoked, or expires_at +
 *                     KG_CLEANUP_MARGIN past.  Rotation looks a token up
 *                     by hash and asks its family alone whether it is
 *                     live: a used token of a live family is reuse and
 *                     revokes the family even after its own expiry
 *                     (SPEC 5), and logout or revoke by any token of it,
 *                     used or not, expired or not, revokes the family
 *                     (kept rows of live families are re-read, not
 *                     deleted, by each batch's scan)
 *   session_families  expires_at + KG_CLEANUP_MARGIN + KG_CLEANUP_LEEWAY_MAX
 *                     + 1, and no refresh token left: access tokens
 *                     end with their family (capped at its time left,
 *                     whole seconds, at least 1) and validate until exp
 *                     + clock_leeway; revocation checks read revoked_at,
 *                     so revoked families stay until then too
 *   jwt_revocations   token_expires_at + KG_CLEANUP_MARGIN +
 *                     KG_CLEANUP_LEEWAY_MAX: the token is refused as
 *                     expired by then
 *   subject_logouts   logged_out_at + the longest access-token lifetime
 *                     (max(access_ttl, KG_CLEANUP_ACCESS_TTL_MAX)) +
 *                     KG_CLEANUP_LEEWAY_MAX + KG_CLEANUP_MARGIN + 1: every
 *                     token with iat at or before it has expired
 *   rate_buckets      updated_at + the time an empty bucket takes to fill
 *                     (burst / rate, the slower limit) + KG_CLEANUP_MARGIN:
 *                     a new bucket starts full, so deleting a full one
 *                     changes nothing
 *   serial_locks      touched_at + one day
 *   audit_events      at + audit_retention (none when it is 0 or less)
 *
 * KG_CLEANUP_MARGIN also absorbs clock differences between the hosts
 * that sign tokens (iat, exp) and the database's clock.
 */
#ifndef KG_STORE_CLEANUP_H
#define KG_STORE_CLEANUP_H

#include <stdint.h>

#include "core/base/config.h"
#include "core/base/err.h"

struct kg_db;

#define KG_CLEANUP_MARGIN		3600	/* seconds */
/* config.c's ceilings of clock_leeway and access_ttl (SPEC 5). */
#define KG_CLEANUP_LEEWAY_MAX		60
#define KG_CLEANUP_ACCESS_TTL_MAX	86400
#define KG_CLEANUP_SERIAL_IDLE		86400
#define KG_CLEANUP_BATCH_MAX		100000
/* Seconds a re-take of the run lock waits (kg_cleanup_lock), as SQL. */
#define KG_CLEANUP_RELOCK_WAIT_S	"5"

/*
 * One run's settings and counters.  Zero it, then fill cl_db, cl_batch
 * and cl_dry_run; cl_cfg too for the steps whose grace the configuration
 * sets (subject_logouts, rate_buckets, audit_events), which read it; the
 * others never do (it may stay NULL for them).
 */
struct kg_cleanup {
	struct kg_db		*cl_db;
	const struct kg_config	*cl_cfg;
	long			 cl_batch;	/* rows per statement, >= 1 */
	int			 cl_dry_run;	/* count, delete nothing */
	/* CLOCK_MONOTONIC microseconds; 0 = no limit (kg_cleanup_limit) */
	int64_t			 cl_deadline_us;
	/* DELETE (or COUNT) statements run, for tests and the summary */
	unsigned long long	 cl_statements;
	/* the run lock: held, and the handle's connect count then */
	int			 cl_locked;
	unsigned long long	 cl_connects;
	/* the connect count at which a waited re-take failed, else 0 */
	unsigned long long	 cl_refused;
};

/*
 * A step: deletes (or counts) its table's dead rows into *count, batch
 * after batch until none is left or the deadline has passed.  The first
 * batch always runs; the deadline is checked between batches.  *complete
 * (may be NULL) is 1 when nothing dead was left, 0 when the deadline
 * stopped the step.  Returns KG_OK or a database error (*count then
 * holds what the earlier batches deleted).
 */
typedef enum kg_err (*kg_cleanup_fn)(struct kg_cleanup *,
    unsigned long long *count, int *complete);

enum kg_err	kg_cleanup_nonces(struct kg_cleanup *, unsigned long long *,
		    int *);
enum kg_err	kg_cleanup_install_tokens(struct kg_cleanup *,
		    unsigned long long *, int *);
enum kg_err	kg_cleanup_refresh_tokens(struct kg_cleanup *,
		    unsigned long long *, int *);
enum kg_err	kg_cleanup_session_families(struct kg_cleanup *,
		    unsigned long long *, int *);
enum kg_err	kg_cleanup_jwt_revocations(struct kg_cleanup *,
		    unsigned long long *, int *);
enum kg_err	kg_cleanup_subject_logouts(struct kg_cleanup *,
		    unsigned long long *, int *);
enum kg_err	kg_cleanup_rate_buckets(struct kg_cleanup *,
		    unsigned long long *, int *);
enum kg_err	kg_cleanup_serial_locks(struct kg_cleanup *,
		    unsigned long long *, int *);
enum kg_err	kg_cleanup_audit_events(struct kg_cleanup *,
		    unsigned long long *, int *);

/*
 * install_tokens with a grace of one's own (kg_store_install_cleanup and
 * tests): expires_at more than grace seconds ago (negative = 0).
 */
enum kg_err	kg_cleanup_install_tokens_older(struct kg_cleanup *,
		    long grace, unsigned long long *, int *);

/*
 * Graces that depend on cfg, in seconds (see the top): rate_buckets'
 * (KG_CLEANUP_MARGIN alone when no limit is enabled), subject_logouts',
 * audit_events' (-1: keep every event).
 */
long		kg_cleanup_rate_grace(const struct kg_config *);
long		kg_cleanup_logout_grace(const struct kg_config *);
long		kg_cleanup_audit_grace(const struct kg_config *);

/* Sets the deadline seconds from now (0 = none). */
void		kg_cleanup_limit(struct kg_cleanup *, long seconds);

/* Non-zero once the deadline has passed. */
int		kg_cleanup_late(const struct kg_cleanup *);

/*
 * Takes the named lock keygate_cleanup:<database> on the handle's
 * connection without waiting: *got = 1 taken, 0 another run holds it.
 * The lock lives as long as that connection; a step that finds the
 * handle reconnected takes it again, waiting up to
 * KG_CLEANUP_RELOCK_WAIT_S seconds for the server to end the old session
 * (later steps after such a wait failed ask without waiting), and fails
 * with KG_ERR_CONFLICT (deleting nothing) while another run has it
 * meanwhile.  Returns KG_OK or a database error.
 */
enum kg_err	kg_cleanup_lock(struct kg_cleanup *, int *got);

/* Releases the lock if held.  Returns KG_OK or a database error. */
enum kg_err	kg_cleanup_unlock(struct kg_cleanup *);

#endif
