/*
 * cleanup.c: the SQL of keygate-cleanup (see cleanup.h for the rules).
 *
 * Each table has a DELETE of at most ? rows and a COUNT of the same rows,
 * both taking the grace in seconds.  The DELETEs order by the time column
 * (then the primary key, which that index carries anyway): the range scan
 * of its index then reads the oldest rows and stops after ? of them.
 * ORDER BY the primary key instead made the server sort every dead row
 * at each batch (EXPLAIN: "Using filesort"), a full pass over a million
 * rows a thousand times.
 */
#include <time.h>

#include "core/store/cleanup.h"
#include "core/store/db.h"
#include "core/store/enroll.h"

#define AGO	"UTC_TIMESTAMP(6) - INTERVAL ? SECOND"

#define CLEANUP_SQL(tab, where, order) \
	static struct kg_sql S_DEL_##tab = KG_SQL("cleanup_" #tab, \
	    "DELETE FROM " #tab " WHERE " where " ORDER BY " order \
	    " LIMIT ?", 0); \
	static struct kg_sql S_CNT_##tab = KG_SQL("cleanup_count_" #tab, \
	    "SELECT COUNT(*) FROM " #tab " WHERE " where, KG_SQL_IDEMPOTENT)

CLEANUP_SQL(nonces, "expires_at < " AGO, "expires_at, nonce");
CLEANUP_SQL(install_tokens, "expires_at < " AGO, "expires_at, id");
/*
 * A refresh token stays, expired or not, used or not, while its family is
 * live (not revoked, expires_at within the grace): session.c looks tokens
 * up by hash and decides from the FAMILY alone.  Rotation of a used one
 * is reuse and revokes the family (SPEC 5: "reuse detection applies
 * while the family is live"), even past the token's own expiry; logout
 * and revoke by any of them revoke the family.  Deleted, the token
 * would answer invalid_refresh_token and the family live on.  This
 * matters whenever refresh_ttl < session_max_age.  The range scan still
 * walks the expires_at index; a kept row costs one primary-key probe of
 * session_families per batch that passes it.  Two graces (both ?).
 */
CLEANUP_SQL(refresh_tokens, "expires_at < " AGO " AND NOT EXISTS "
    "(SELECT 1 FROM session_families f "
    "WHERE f.id = refresh_tokens.family_id AND f.revoked_at IS NULL "
    "AND f.expires_at > " AGO ")", "expires_at, id");
/*
 * A family's refresh tokens expire with it at the latest (refresh_insert
 * caps them), so the previous step has deleted them by now; one left
 * (that step failed or ran out of time) keeps its family for the next
 * run rather than have the cascade delete an unbounded number of rows.
 */
CLEANUP_SQL(session_families, "expires_at < " AGO " AND NOT EXISTS "
    "(SELECT 1 FROM refresh_tokens rt "
    "WHERE rt.family_id = session_families.id)", "expires_at, id");
CLEANUP_SQL(jwt_revocations, "token_expires_at < " AGO,
    "token_expires_at, jti");
CLEANUP_SQL(subject_logouts, "logged_out_at < " AGO,
    "logged_out_at, namespace, subject");
CLEANUP_SQL(rate_buckets, "updated_at < " AGO, "updated_at, bucket_key");
CLEANUP_SQL(serial_locks, "touched_at < " AGO, "touched_at, name");
CLEANUP_SQL(audit_events, "at < " AGO, "at, id");

/*
 * Named locks are server-wide: the name carries the database, so two
 * keygate databases on one server clean up independently.  Not
 * idempotent: the lock belongs to the connection that took it.
 */
static struct kg_sql S_LOCK = KG_SQL("cleanup_lock",
    "SELECT GET_LOCK(CONCAT('keygate_cleanup:', DATABASE()), 0)", 0);
/*
 * Taking it again after a reconnection waits a little: the server may
 * not have torn down the old session, which still holds it, yet.
 */
static struct kg_sql S_RELOCK = KG_SQL("cleanup_relock",
    "SELECT GET_LOCK(CONCAT('keygate_cleanup:', DATABASE()), "
    KG_CLEANUP_RELOCK_WAIT_S ")", 0);
static struct kg_sql S_UNLOCK = KG_SQL("cleanup_unlock",
    "SELECT RELEASE_LOCK(CONCAT('keygate_cleanup:', DATABASE()))", 0);

static int64_t
now_us(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
kg_cleanup_limit(struct kg_cleanup *c, long seconds)
{
	c->cl_deadline_us = seconds > 0 ?
	    now_us() + (int64_t)seconds * 1000000 : 0;
}

int
kg_cleanup_late(const struct kg_cleanup *c)
{
	return c->cl_deadline_us != 0 && now_us() >= c->cl_deadline_us;
}

static enum kg_err
int_row(const struct kg_db_row *row, void *arg)
{
	*(long long *)arg = kg_db_row_isnull(row, 0) ? -1 :
	    kg_db_row_int(row, 0);
	return KG_OK;
}

static enum kg_err
take(struct kg_cleanup *c, struct kg_sql *sql, int *got)
{
	struct kg_db_stats	st;
	long long		v = -1;
	enum kg_err		r;

	*got = 0;
	if ((r = kg_db_query_one(c->cl_db, sql, KG_DB_NOARGS, int_row,
	    &v)) != KG_OK)
		return r;
	/* NULL: the server could not take it (e.g. a bad name). */
	if (v != 0 && v != 1)
		return KG_ERR_DB;
	if (v == 1) {
		kg_db_stats(c->cl_db, &st);
		c->cl_locked = 1;
		c->cl_connects = st.ds_connects;
		*got = 1;
	}
	return KG_OK;
}

enum kg_err
kg_cleanup_lock(struct kg_cleanup *c, int *got)
{
	return take(c, &S_LOCK, got);
}

enum kg_err
kg_cleanup_unlock(struct kg_cleanup *c)
{
	long long	v = -1;

	if (!c->cl_locked)
		return KG_OK;
	c->cl_locked = 0;
	return kg_db_query_one(c->cl_db, &S_UNLOCK, KG_DB_NOARGS, int_row, &v);
}

/*
 * Before each statement: a handle that reconnected since the lock was
 * taken lost it with the old connection; take it again, or stop if
 * another run has it now.  The ping re-establishes a dropped link here,
 * where it shows, rather than inside the next DELETE.  (A link lost
 * during a DELETE may run that one batch unlocked: harmless, the
 * statements are safe to overlap; the lock only keeps runs from
 * doubling the work.)
 */
static enum kg_err
still_locked(struct kg_cleanup *c)
{
	struct kg_db_stats	st;
	enum kg_err		r;
	int			got;

	if (!c->cl_locked)
		return KG_OK;
	if ((r = kg_db_ping(c->cl_db)) != KG_OK)
		return r;
	kg_db_stats(c->cl_db, &st);
	if (st.ds_connects == c->cl_connects)
		return KG_OK;
	/* Not got: cl_connects stays old, so every later step asks again
	 * and none runs while the other run holds it.  Only the first ask
	 * after a reconnection waits for the old session to go: one that
	 * already waited in vain faced another run. */
	r = take(c, st.ds_connects == c->cl_refused ? &S_LOCK : &S_RELOCK,
	    &got);
	if (r != KG_OK)
		return r;
	if (!got) {
		c->cl_refused = st.ds_connects;
		return KG_ERR_CONFLICT;
	}
	return KG_OK;
}

/* The batch loop every step shares (cleanup.h, kg_cleanup_fn). */
static enum kg_err
run2(struct kg_cleanup *c, struct kg_sql *del, struct kg_sql *cnt,
    long grace, size_t ngrace, unsigned long long *count, int *complete)
{
	unsigned long long	n;
	long long		v;
	enum kg_err		r;

	*count = 0;
	if (complete != NULL)
		*complete = 0;
	if (c->cl_batch < 1 || c->cl_batch > KG_CLEANUP_BATCH_MAX)
		return KG_ERR_INVALID;
	if (grace < 0)
		grace = 0;
	if (ngrace < 1 || ngrace > 2)
		return KG_ERR_INTERNAL;
	if (c->cl_dry_run) {
		/* The same WHERE, so the same parameters, as the DELETE. */
		struct kg_db_param	p[] = { KG_P_INT(grace),
		    KG_P_INT(grace) };

		if ((r = still_locked(c)) != KG_OK)
			return r;
		v = 0;
		c->cl_statements++;
		if ((r = kg_db_query_one(c->cl_db, cnt, p, ngrace, int_row,
		    &v)) != KG_OK)
			return r;
		*count = v > 0 ? (unsigned long long)v : 0;
		if (complete != NULL)
			*complete = 1;
		return KG_OK;
	}
	for (;;) {
		/* The graces, then the LIMIT: the last ngrace + 1. */
		struct kg_db_param	p[] = { KG_P_INT(grace),
		    KG_P_INT(grace), KG_P_INT(c->cl_batch) };

		if ((r = still_locked(c)) != KG_OK)
			return r;
		n = 0;
		c->cl_statements++;
		if ((r = kg_db_exec(c->cl_db, del, p + 2 - ngrace, ngrace + 1,
		    &n)) != KG_OK)
			return r;
		*count += n;
		if (n < (unsigned long long)c->cl_batch)
			break;
		if (kg_cleanup_late(c))
			return KG_OK;
	}
	if (complete != NULL)
		*complete = 1;
	return KG_OK;
}

/* The steps whose WHERE takes the grace once. */
static enum kg_err
run(struct kg_cleanup *c, struct kg_sql *del, struct kg_sql *cnt,
    long grace, unsigned long long *count, int *complete)
{
	return run2(c, del, cnt, grace, 1, count, complete);
}

/* ---------------------------------------------------------------- graces */

long
kg_cleanup_rate_grace(const struct kg_config *cfg)
{
	long	fill = 0, t;

	/* Whole seconds, rounded up, for an empty bucket to fill. */
	if (cfg->rate_ip_rate > 0 && cfg->rate_ip_burst > 0) {
		t = (cfg->rate_ip_burst + cfg->rate_ip_rate - 1) /
		    cfg->rate_ip_rate;
		if (t > fill)
			fill = t;
	}
	if (cfg->rate_wallet_rate > 0 && cfg->rate_wallet_burst > 0) {
		t = (cfg->rate_wallet_burst + cfg->rate_wallet_rate - 1) /
		    cfg->rate_wallet_rate;
		if (t > fill)
			fill = t;
	}
	return fill + KG_CLEANUP_MARGIN;
}

long
kg_cleanup_logout_grace(const struct kg_config *cfg)
{
	long	ttl = KG_CLEANUP_ACCESS_TTL_MAX;

	/* The ceiling, not the setting: a lowered access_ttl does not
	 * shorten tokens signed before. */
	if (cfg->access_ttl > ttl)
		ttl = cfg->access_ttl;
	return ttl + KG_CLEANUP_LEEWAY_MAX + KG_CLEANUP_MARGIN + 1;
}

long
kg_cleanup_audit_grace(const struct kg_config *cfg)
{
	return cfg->audit_retention > 0 ? cfg->audit_retention : -1;
}

/* ---------------------------------------------------------------- steps */

enum kg_err
kg_cleanup_nonces(struct kg_cleanup *c, unsigned long long *count,
    int *complete)
{
	return run(c, &S_DEL_nonces, &S_CNT_nonces, KG_CLEANUP_MARGIN, count,
	    complete);
}

enum kg_err
kg_cleanup_install_tokens_older(struct kg_cleanup *c, long grace,
    unsigned long long *count, int *complete)
{
	return run(c, &S_DEL_install_tokens, &S_CNT_install_tokens, grace,
	    count, complete);
}

enum kg_err
kg_cleanup_install_tokens(struct kg_cleanup *c, unsigned long long *count,
    int *complete)
{
	return kg_cleanup_install_tokens_older(c, KG_INSTALL_CLEANUP_GRACE,
	    count, complete);
}

enum kg_err
kg_cleanup_refresh_tokens(struct kg_cleanup *c, unsigned long long *count,
    int *complete)
{
	return run2(c, &S_DEL_refresh_tokens, &S_CNT_refresh_tokens,
	    KG_CLEANUP_MARGIN, 2, count, complete);
}

enum kg_err
kg_cleanup_session_families(struct kg_cleanup *c, unsigned long long *count,
    int *complete)
{
	return run(c, &S_DEL_session_families, &S_CNT_session_families,
	    KG_CLEANUP_MARGIN + KG_CLEANUP_LEEWAY_MAX + 1, count, complete);
}

enum kg_err
kg_cleanup_jwt_revocations(struct kg_cleanup *c, unsigned long long *count,
    int *complete)
{
	return run(c, &S_DEL_jwt_revocations, &S_CNT_jwt_revocations,
	    KG_CLEANUP_MARGIN + KG_CLEANUP_LEEWAY_MAX, count, complete);
}

enum kg_err
kg_cleanup_subject_logouts(struct kg_cleanup *c, unsigned long long *count,
    int *complete)
{
	return run(c, &S_DEL_subject_logouts, &S_CNT_subject_logouts,
	    kg_cleanup_logout_grace(c->cl_cfg), count, complete);
}

enum kg_err
kg_cleanup_rate_buckets(struct kg_cleanup *c, unsigned long long *count,
    int *complete)
{
	return run(c, &S_DEL_rate_buckets, &S_CNT_rate_buckets,
	    kg_cleanup_rate_grace(c->cl_cfg), count, complete);
}

enum kg_err
kg_cleanup_serial_locks(struct kg_cleanup *c, unsigned long long *count,
    int *complete)
{
	return run(c, &S_DEL_serial_locks, &S_CNT_serial_locks,
	    KG_CLEANUP_SERIAL_IDLE, count, complete);
}

enum kg_err
kg_cleanup_audit_events(struct kg_cleanup *c, unsigned long long *count,
    int *complete)
{
	long	grace = kg_cleanup_audit_grace(c->cl_cfg);

	if (grace < 0) {
		/* No retention: every event stays. */
		*count = 0;
		if (complete != NULL)
			*complete = 1;
		return KG_OK;
	}
	return run(c, &S_DEL_audit_events, &S_CNT_audit_events, grace, count,
	    complete);
}
