/*
 * enroll.c: install_tokens and daemon_tokens rows (SPEC 7).
 *
 * The exchange and its races.  The install token's row id is read
 * first without locking (through its unique hash); then one UPDATE,
 * through the primary key (and the hash again), consumes it only while
 * it is live and unused.  Concurrent exchanges of one token all queue
 * on that one primary-key record, which locks the record alone: the
 * first takes it, inserts the daemon token (another table), sets
 * install_tokens columns that no index covers, and commits; each waiter
 * then re-reads the latest row, matches nothing and, still holding the
 * record, reads it to tell "used" from "unknown/expired".  A consume
 * through the hash index would be a range scan taking next-key locks,
 * and the racers queued on those deadlocked (the same lesson as
 * rotate_txn in session.c).
 *
 * Cleanup deletes by expires_at alone, and only long-expired rows
 * (KG_INSTALL_CLEANUP_GRACE): a token being exchanged is live, so a
 * cleanup run neither holds its row nor deletes it from under a loser.
 */
#include <stdio.h>
#include <string.h>

#include "core/store/audit.h"
#include "core/store/cleanup.h"
#include "core/store/db.h"
#include "core/store/enroll.h"

#define INSTALL_COLS \
    "i.id, i.namespace_id, n.name, i.created_by, i.created_at, " \
    "i.expires_at, i.used_at, i.daemon_token_id " \
    "FROM install_tokens i JOIN namespaces n ON n.id = i.namespace_id "

#define DAEMON_COLS \
    "d.id, d.namespace_id, n.name, d.daemon_id, d.install_token_id, " \
    "d.created_at, d.expires_at, d.revoked_at, d.last_seen_at, " \
    "d.last_used_at, d.revoked_at IS NULL AND " \
    "d.expires_at > UTC_TIMESTAMP(6), d.last_used_at IS NULL OR " \
    "d.last_used_at < UTC_TIMESTAMP(6) - INTERVAL 30 SECOND " \
    "FROM daemon_tokens d JOIN namespaces n ON n.id = d.namespace_id "

static struct kg_sql S_INSTALL_INSERT = KG_SQL("install_insert",
    "INSERT INTO install_tokens (namespace_id, token_hash, created_by, "
    "created_at, expires_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6), "
    "UTC_TIMESTAMP(6) + INTERVAL ? SECOND)", 0);

static struct kg_sql S_INSTALL_GET = KG_SQL("install_get",
    "SELECT " INSTALL_COLS "WHERE i.id = ?", KG_SQL_IDEMPOTENT);

static struct kg_sql S_INSTALL_LOOKUP = KG_SQL("install_lookup",
    "SELECT " INSTALL_COLS "WHERE i.token_hash = ?", KG_SQL_IDEMPOTENT);

/* The token's row id, read without locking (see the top). */
static struct kg_sql S_INSTALL_ID = KG_SQL("install_id",
    "SELECT id FROM install_tokens WHERE token_hash = ?", 0);

/* The one statement that spends an install token (SPEC 7). */
static struct kg_sql S_INSTALL_CONSUME = KG_SQL("install_consume",
    "UPDATE install_tokens SET used_at = UTC_TIMESTAMP(6) "
    "WHERE id = ? AND token_hash = ? AND used_at IS NULL AND "
    "expires_at > UTC_TIMESTAMP(6)", 0);

/*
 * After a consume that matched nothing: a locking read, so it sees the
 * latest committed row (the winner's used_at) whatever the snapshot.
 * The consume already holds this record, so it waits for no one.
 */
static struct kg_sql S_INSTALL_STATE = KG_SQL("install_state",
    "SELECT id, used_at IS NOT NULL FROM install_tokens "
    "WHERE id = ? LOCK IN SHARE MODE", 0);

static struct kg_sql S_INSTALL_LINK = KG_SQL("install_link",
    "UPDATE install_tokens SET daemon_token_id = ? WHERE id = ?", 0);

/* Daemon tokens do not expire (SPEC 7): the schema's far future. */
static struct kg_sql S_DAEMON_INSERT = KG_SQL("daemon_insert",
    "INSERT INTO daemon_tokens (namespace_id, daemon_id, token_hash, "
    "install_token_id, created_at, expires_at) SELECT namespace_id, ?, ?, "
    "id, UTC_TIMESTAMP(6), '9999-12-31 00:00:00' FROM install_tokens "
    "WHERE id = ?", 0);

static struct kg_sql S_DAEMON_GET = KG_SQL("daemon_get",
    "SELECT " DAEMON_COLS "WHERE d.namespace_id = ? AND d.id = ?",
    KG_SQL_IDEMPOTENT);

static struct kg_sql S_DAEMON_BY_ID = KG_SQL("daemon_by_id",
    "SELECT " DAEMON_COLS "WHERE d.id = ?", KG_SQL_IDEMPOTENT);

static struct kg_sql S_DAEMON_LOOKUP = KG_SQL("daemon_lookup",
    "SELECT " DAEMON_COLS "WHERE d.token_hash = ?", KG_SQL_IDEMPOTENT);

static struct kg_sql S_DAEMON_LIST = KG_SQL("daemon_list",
    "SELECT " DAEMON_COLS "WHERE d.namespace_id = ? AND d.id < ? "
    "ORDER BY d.id DESC LIMIT ?", KG_SQL_IDEMPOTENT);

static struct kg_sql S_DAEMON_REVOKE = KG_SQL("daemon_revoke",
    "UPDATE daemon_tokens SET revoked_at = UTC_TIMESTAMP(6) "
    "WHERE namespace_id = ? AND id = ? AND revoked_at IS NULL", KG_SQL_REVOKES);

static struct kg_sql S_DAEMON_TOUCH = KG_SQL("daemon_touch",
    "UPDATE daemon_tokens SET last_used_at = UTC_TIMESTAMP(6) WHERE id = ? "
    "AND (last_used_at IS NULL OR "
    "last_used_at < UTC_TIMESTAMP(6) - INTERVAL 30 SECOND)",
    KG_SQL_IDEMPOTENT);

static struct kg_sql S_DAEMON_SEEN = KG_SQL("daemon_seen",
    "UPDATE daemon_tokens SET last_seen_at = UTC_TIMESTAMP(6) "
    "WHERE id = ? AND revoked_at IS NULL", KG_SQL_IDEMPOTENT);

static int64_t
time_or_0(const struct kg_db_row *row, size_t col)
{
	return kg_db_row_isnull(row, col) ? 0 : kg_db_row_time_us(row, col);
}

static enum kg_err
install_row(const struct kg_db_row *row, void *arg)
{
	struct kg_install_token	*t = arg;
	enum kg_err		 r;

	memset(t, 0, sizeof(*t));
	t->it_id = (uint64_t)kg_db_row_int(row, 0);
	t->it_ns_id = (uint64_t)kg_db_row_int(row, 1);
	if ((r = kg_db_row_text_copy(row, 2, t->it_ns, sizeof(t->it_ns))) !=
	    KG_OK ||
	    (r = kg_db_row_text_copy(row, 3, t->it_created_by,
	    sizeof(t->it_created_by))) != KG_OK)
		return r;
	t->it_created_us = kg_db_row_time_us(row, 4);
	t->it_expires_us = kg_db_row_time_us(row, 5);
	t->it_used_us = time_or_0(row, 6);
	t->it_daemon_token_id = kg_db_row_isnull(row, 7) ? 0 :
	    (uint64_t)kg_db_row_int(row, 7);
	return KG_OK;
}

static enum kg_err
daemon_row(const struct kg_db_row *row, void *arg)
{
	struct kg_daemon_token	*t = arg;
	enum kg_err		 r;

	memset(t, 0, sizeof(*t));
	t->dt_id = (uint64_t)kg_db_row_int(row, 0);
	t->dt_ns_id = (uint64_t)kg_db_row_int(row, 1);
	if ((r = kg_db_row_text_copy(row, 2, t->dt_ns, sizeof(t->dt_ns))) !=
	    KG_OK ||
	    (r = kg_db_row_text_copy(row, 3, t->dt_daemon_id,
	    sizeof(t->dt_daemon_id))) != KG_OK)
		return r;
	t->dt_install_token_id = kg_db_row_isnull(row, 4) ? 0 :
	    (uint64_t)kg_db_row_int(row, 4);
	t->dt_created_us = kg_db_row_time_us(row, 5);
	t->dt_expires_us = kg_db_row_time_us(row, 6);
	t->dt_revoked_us = time_or_0(row, 7);
	t->dt_last_seen_us = time_or_0(row, 8);
	t->dt_last_used_us = time_or_0(row, 9);
	t->dt_valid = kg_db_row_int(row, 10) != 0;
	t->dt_touch_due = kg_db_row_int(row, 11) != 0;
	return KG_OK;
}

/* ---------------------------------------------------------------- install */

struct install_create {
	uint64_t		 ic_ns_id;
	const unsigned char	*ic_hash;
	const char		*ic_by;
	long			 ic_ttl;
	struct kg_install_token	*ic_out;
};

static enum kg_err
install_create_in(struct kg_db *db, void *arg)
{
	struct install_create	*c = arg;
	struct kg_db_param	 p[] = { KG_P_INT(c->ic_ns_id),
	    KG_P_BLOB(c->ic_hash, 32), KG_P_TEXT(c->ic_by),
	    KG_P_INT(c->ic_ttl) };
	enum kg_err		 r;

	if ((r = kg_db_exec(db, &S_INSTALL_INSERT, KG_DB_ARGS(p), NULL)) !=
	    KG_OK)
		return r;
	{
		struct kg_db_param	g[] = {
		    KG_P_INT(kg_db_insert_id(db)) };

		return kg_db_query_one(db, &S_INSTALL_GET, KG_DB_ARGS(g),
		    install_row, c->ic_out);
	}
}

enum kg_err
kg_store_install_create(struct kg_db *db, uint64_t ns_id,
    const unsigned char hash[32], const char *created_by, long ttl,
    struct kg_install_token *out)
{
	struct install_create	c;
	enum kg_err		r;

	memset(out, 0, sizeof(*out));
	c.ic_ns_id = ns_id;
	c.ic_hash = hash;
	c.ic_by = created_by;
	c.ic_ttl = ttl;
	c.ic_out = out;
	if (ttl <= 0)
		return KG_ERR_INVALID;
	if (kg_db_in_txn(db))
		r = install_create_in(db, &c);
	else
		r = kg_db_txn(db, install_create_in, &c);
	if (r != KG_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

enum kg_err
kg_store_install_lookup(struct kg_db *db, const unsigned char hash[32],
    struct kg_install_token *out)
{
	struct kg_db_param	p[] = { KG_P_BLOB(hash, 32) };

	memset(out, 0, sizeof(*out));
	return kg_db_query_one(db, &S_INSTALL_LOOKUP, KG_DB_ARGS(p),
	    install_row, out);
}

struct exchange {
	const unsigned char	*ex_ihash, *ex_dhash;
	const char		*ex_daemon_id;
	const struct kg_audit	*ex_by;
	struct kg_daemon_token	*ex_out;
};

struct install_state {
	uint64_t	is_id;
	int		is_used;
};

static enum kg_err
state_row(const struct kg_db_row *row, void *arg)
{
	struct install_state	*s = arg;

	s->is_id = (uint64_t)kg_db_row_int(row, 0);
	s->is_used = kg_db_row_int(row, 1) != 0;
	return KG_OK;
}

static enum kg_err
id_row(const struct kg_db_row *row, void *arg)
{
	*(uint64_t *)arg = (uint64_t)kg_db_row_int(row, 0);
	return KG_OK;
}

/*
 * Why the consume of row id matched nothing: used, or expired (or
 * deleted meanwhile: unknown).
 */
static enum kg_err
exchange_refusal(struct kg_db *db, uint64_t id)
{
	struct kg_db_param	p[] = { KG_P_INT(id) };
	struct install_state	s = { 0, 0 };
	enum kg_err		r;

	r = kg_db_query_one(db, &S_INSTALL_STATE, KG_DB_ARGS(p), state_row,
	    &s);
	if (r != KG_OK)
		return r;
	return s.is_used ? KG_ERR_CONFLICT : KG_ERR_NOT_FOUND;
}

/* Consume, insert, link, audit, read back.  Safe to re-run (kg_db_txn). */
static enum kg_err
exchange_txn(struct kg_db *db, void *arg)
{
	struct exchange		*e = arg;
	struct install_state	 s = { 0, 0 };
	unsigned long long	 n = 0;
	uint64_t		 did;
	char			 target[32], actor[40];
	enum kg_err		 r;

	memset(e->ex_out, 0, sizeof(*e->ex_out));
	{
		struct kg_db_param	p[] = { KG_P_BLOB(e->ex_ihash, 32) };

		if ((r = kg_db_query_one(db, &S_INSTALL_ID, KG_DB_ARGS(p),
		    id_row, &s.is_id)) != KG_OK)
			return r;	/* KG_ERR_NOT_FOUND: unknown */
	}
	{
		struct kg_db_param	p[] = { KG_P_INT(s.is_id),
		    KG_P_BLOB(e->ex_ihash, 32) };

		if ((r = kg_db_exec(db, &S_INSTALL_CONSUME, KG_DB_ARGS(p),
		    &n)) != KG_OK)
			return r;
		if (n != 1)
			return exchange_refusal(db, s.is_id);
	}
	{
		struct kg_db_param	p[] = { KG_P_TEXT(e->ex_daemon_id),
		    KG_P_BLOB(e->ex_dhash, 32), KG_P_INT(s.is_id) };

		r = kg_db_exec(db, &S_DAEMON_INSERT, KG_DB_ARGS(p), &n);
		/* A colliding 160-bit daemon token is not the caller's
		 * "used": never let it read as one. */
		if (r == KG_ERR_CONFLICT || (r == KG_OK && n != 1))
			return KG_ERR_INTERNAL;
		if (r != KG_OK)
			return r;
	}
	did = kg_db_insert_id(db);
	{
		struct kg_db_param	p[] = { KG_P_INT(did), KG_P_INT(s.is_id) };

		if ((r = kg_db_exec(db, &S_INSTALL_LINK, KG_DB_ARGS(p),
		    NULL)) != KG_OK)
			return r;
	}
	{
		struct kg_db_param	p[] = { KG_P_INT(did) };

		if ((r = kg_db_query_one(db, &S_DAEMON_BY_ID, KG_DB_ARGS(p),
		    daemon_row, e->ex_out)) != KG_OK)
			return r;
	}
	if (e->ex_by != NULL) {
		struct kg_audit	au = *e->ex_by;

		(void)snprintf(target, sizeof(target), "daemon_token:%llu",
		    (unsigned long long)did);
		(void)snprintf(actor, sizeof(actor), "install_token:%llu",
		    (unsigned long long)s.is_id);
		if (au.au_actor == NULL)
			au.au_actor = actor;
		au.au_namespace = e->ex_out->dt_ns;
		au.au_action = "install_token_exchange";
		au.au_target = target;
		au.au_outcome = "ok";
		if ((r = kg_store_audit(db, &au)) != KG_OK)
			return r;
	}
	return KG_OK;
}

enum kg_err
kg_store_install_exchange(struct kg_db *db, const unsigned char ihash[32],
    const unsigned char dhash[32], const char *daemon_id,
    const struct kg_audit *by, struct kg_daemon_token *out)
{
	struct exchange	e;
	enum kg_err	r;

	memset(out, 0, sizeof(*out));
	e.ex_ihash = ihash;
	e.ex_dhash = dhash;
	e.ex_daemon_id = daemon_id;
	e.ex_by = by;
	e.ex_out = out;
	r = kg_db_txn(db, exchange_txn, &e);
	if (r != KG_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

/* keygate-cleanup's step (core/store/cleanup.c), in batches, no limit. */
enum kg_err
kg_store_install_cleanup(struct kg_db *db, long grace,
    unsigned long long *deleted)
{
	struct kg_cleanup	c;
	unsigned long long	n = 0;
	enum kg_err		r;

	memset(&c, 0, sizeof(c));
	c.cl_db = db;
	c.cl_batch = KG_CLEANUP_BATCH_MAX;
	r = kg_cleanup_install_tokens_older(&c, grace, &n, NULL);
	if (deleted != NULL)
		*deleted = r == KG_OK ? n : 0;
	return r;
}

/* ---------------------------------------------------------------- daemon */

enum kg_err
kg_store_daemon_lookup(struct kg_db *db, const unsigned char hash[32],
    struct kg_daemon_token *out)
{
	struct kg_db_param	p[] = { KG_P_BLOB(hash, 32) };

	memset(out, 0, sizeof(*out));
	return kg_db_query_one(db, &S_DAEMON_LOOKUP, KG_DB_ARGS(p), daemon_row,
	    out);
}

struct daemon_list {
	enum kg_err	(*dl_fn)(const struct kg_daemon_token *, void *);
	void		*dl_arg;
	struct kg_daemon_token dl_tok;
};

static enum kg_err
list_row(const struct kg_db_row *row, void *arg)
{
	struct daemon_list	*l = arg;
	enum kg_err		 r;

	if ((r = daemon_row(row, &l->dl_tok)) != KG_OK)
		return r;
	return l->dl_fn != NULL ? l->dl_fn(&l->dl_tok, l->dl_arg) : KG_OK;
}

enum kg_err
kg_store_daemon_list(struct kg_db *db, uint64_t ns_id, uint64_t before,
    size_t limit, enum kg_err (*fn)(const struct kg_daemon_token *, void *),
    void *arg, size_t *n)
{
	struct daemon_list	l;
	struct kg_db_param	p[] = { KG_P_INT(ns_id),
	    KG_P_INT(before == 0 || before > (uint64_t)INT64_MAX ?
	    (uint64_t)INT64_MAX : before), KG_P_INT(limit) };

	memset(&l, 0, sizeof(l));
	l.dl_fn = fn;
	l.dl_arg = arg;
	return kg_db_query(db, &S_DAEMON_LIST, KG_DB_ARGS(p), list_row, &l, n);
}

struct daemon_revoke {
	uint64_t		 dr_ns_id, dr_id;
	const struct kg_audit	*dr_by;
	int64_t			*dr_at;		/* NULL: not wanted */
	struct kg_daemon_token	 dr_tok;
};

static enum kg_err
daemon_revoke_txn(struct kg_db *db, void *arg)
{
	struct daemon_revoke	*d = arg;
	struct kg_db_param	 p[] = { KG_P_INT(d->dr_ns_id),
	    KG_P_INT(d->dr_id) };
	char			 target[32];
	unsigned long long	 n = 0;
	enum kg_err		 r;

	if ((r = kg_db_exec(db, &S_DAEMON_REVOKE, KG_DB_ARGS(p), &n)) != KG_OK)
		return r;
	if (n != 1)
		return KG_ERR_NOT_FOUND;
	if ((r = kg_db_query_one(db, &S_DAEMON_GET, KG_DB_ARGS(p), daemon_row,
	    &d->dr_tok)) != KG_OK)
		return r;
	if (d->dr_by != NULL) {
		struct kg_audit	au = *d->dr_by;

		(void)snprintf(target, sizeof(target), "daemon_token:%llu",
		    (unsigned long long)d->dr_id);
		au.au_namespace = d->dr_tok.dt_ns;
		au.au_action = "daemon_token_revoke";
		au.au_target = target;
		au.au_outcome = "ok";
		if ((r = kg_store_audit(db, &au)) != KG_OK)
			return r;
	}
	if (d->dr_at != NULL)
		*d->dr_at = d->dr_tok.dt_revoked_us;
	return KG_OK;
}

enum kg_err
kg_store_daemon_revoke(struct kg_db *db, uint64_t ns_id, uint64_t id,
    const struct kg_audit *by, int64_t *revoked_us)
{
	struct daemon_revoke	d;

	if (revoked_us != NULL)
		*revoked_us = 0;
	memset(&d, 0, sizeof(d));
	d.dr_ns_id = ns_id;
	d.dr_id = id;
	d.dr_by = by;
	d.dr_at = revoked_us;
	return kg_db_txn(db, daemon_revoke_txn, &d);
}

enum kg_err
kg_store_daemon_by_id(struct kg_db *db, uint64_t id,
    struct kg_daemon_token *out)
{
	struct kg_db_param	p[] = { KG_P_INT(id) };

	memset(out, 0, sizeof(*out));
	return kg_db_query_one(db, &S_DAEMON_BY_ID, KG_DB_ARGS(p), daemon_row,
	    out);
}

enum kg_err
kg_store_daemon_touch(struct kg_db *db, uint64_t id)
{
	struct kg_db_param	p[] = { KG_P_INT(id) };

	return kg_db_exec(db, &S_DAEMON_TOUCH, KG_DB_ARGS(p), NULL);
}

enum kg_err
kg_store_daemon_heartbeat(struct kg_db *db, uint64_t id,
    struct kg_daemon_token *out)
{
	struct kg_db_param	p[] = { KG_P_INT(id) };
	unsigned long long	n = 0;
	enum kg_err		r;

	memset(out, 0, sizeof(*out));
	if ((r = kg_db_exec(db, &S_DAEMON_SEEN, KG_DB_ARGS(p), &n)) != KG_OK)
		return r;
	if (n != 1)
		return KG_ERR_NOT_FOUND;
	return kg_db_query_one(db, &S_DAEMON_BY_ID, KG_DB_ARGS(p), daemon_row,
	    out);
}
