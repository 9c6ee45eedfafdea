/* wallet.c: nonces, namespaces and members, apps (SPEC 2, 4). */
#include <stdio.h>
#include <string.h>

#include "core/base/random.h"
#include "core/store/db.h"
#include "core/store/wallet.h"

static const char base62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/*
 * The wallet's pending nonces, counted under the wallet's serial lock
 * (kg_db_serialize): a plain read, whose snapshot starts after the lock,
 * sees every nonce committed by the challenges that held it before.
 */
static struct kg_sql S_NONCE_PENDING = KG_SQL("nonce_pending",
    "SELECT COUNT(*) FROM nonces WHERE wallet = ? "
    "AND used_at IS NULL AND expires_at > UTC_TIMESTAMP(6)", 0);

static struct kg_sql S_NOW = KG_SQL("db_now",
    "SELECT UTC_TIMESTAMP()", KG_SQL_IDEMPOTENT);

static struct kg_sql S_NONCE_INSERT = KG_SQL("nonce_insert",
    "INSERT INTO nonces (nonce, wallet, namespace, purpose, chain_id, "
    "issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)", 0);

static struct kg_sql S_NONCE_CONSUME = KG_SQL("nonce_consume",
    "UPDATE nonces SET used_at = UTC_TIMESTAMP(6) WHERE nonce = ? "
    "AND wallet = ? AND namespace = ? AND used_at IS NULL "
    "AND expires_at > UTC_TIMESTAMP(6)", 0);

static struct kg_sql S_NS_GET = KG_SQL("namespace_get",
    "SELECT id FROM namespaces WHERE name = ?", KG_SQL_IDEMPOTENT);

static struct kg_sql S_NS_INSERT = KG_SQL("namespace_insert",
    "INSERT INTO namespaces (name, created_at) "
    "VALUES (?, UTC_TIMESTAMP(6))", 0);

static struct kg_sql S_MEMBER_TRACK = KG_SQL("member_track",
    "SELECT track FROM members WHERE namespace_id = ? AND wallet = ?", 0);

static struct kg_sql S_MEMBER_ANY = KG_SQL("member_any",
    "SELECT 1 FROM members WHERE namespace_id = ? LIMIT 1", 0);

static struct kg_sql S_MEMBER_INSERT = KG_SQL("member_insert",
    "INSERT INTO members (namespace_id, wallet, track, created_at, "
    "updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))", 0);

static struct kg_sql S_APP_INSERT = KG_SQL("app_insert",
    "INSERT INTO apps (namespace_id, app_id, name, public_key, wallet, "
    "created_at) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))", 0);

static struct kg_sql S_APP_LIST = KG_SQL("app_list",
    "SELECT id, app_id, name, public_key, wallet, created_at FROM apps "
    "WHERE namespace_id = ? AND revoked_at IS NULL AND id < ? "
    "ORDER BY id DESC LIMIT ?", KG_SQL_IDEMPOTENT);

/* ---------------------------------------------------------------- nonces */

struct nonce_create {
	const char	*nc_wallet, *nc_ns, *nc_purpose;
	uint64_t	 nc_chain_id;
	long		 nc_ttl, nc_max;
	struct kg_nonce	*nc_out;
	long long	 nc_now;	/* seconds, database clock */
};

static enum kg_err
now_row(const struct kg_db_row *row, void *arg)
{
	*(long long *)arg = kg_db_row_time(row, 0);
	return KG_OK;
}

static enum kg_err
count_row(const struct kg_db_row *row, void *arg)
{
	*(long long *)arg = kg_db_row_int(row, 0);
	return KG_OK;
}

static enum kg_err
nonce_create_txn(struct kg_db *db, void *arg)
{
	struct nonce_create	*c = arg;
	struct kg_nonce		*o = c->nc_out;
	long long		 pending = 0;
	char			 lock[KG_DB_SERIAL_MAX + 1];
	enum kg_err		 r;

	c->nc_now = 0;
	(void)snprintf(lock, sizeof(lock), "nonce:%s", c->nc_wallet);
	if ((r = kg_db_serialize(db, lock)) != KG_OK)
		return r;
	{
		struct kg_db_param p[] = { KG_P_TEXT(c->nc_wallet) };

		if ((r = kg_db_query_one(db, &S_NONCE_PENDING, KG_DB_ARGS(p),
		    count_row, &pending)) != KG_OK)
			return r;
	}
	if (pending >= c->nc_max)
		return KG_ERR_TOO_LARGE;
	if ((r = kg_db_query_one(db, &S_NOW, KG_DB_NOARGS, now_row,
	    &c->nc_now)) != KG_OK)
		return r;
	if ((r = kg_random_chars(o->no_nonce, KG_NONCE_LEN, base62,
	    sizeof(base62) - 1)) != KG_OK)
		return r;
	o->no_issued_us = c->nc_now * 1000000LL;
	o->no_expires_us = (c->nc_now + c->nc_ttl) * 1000000LL;
	{
		struct kg_db_param p[] = { KG_P_TEXT(o->no_nonce),
		    KG_P_TEXT(c->nc_wallet), KG_P_TEXT(c->nc_ns),
		    KG_P_TEXT(c->nc_purpose), KG_P_INT(c->nc_chain_id),
		    KG_P_TIME_US(o->no_issued_us),
		    KG_P_TIME_US(o->no_expires_us) };

		r = kg_db_exec(db, &S_NONCE_INSERT, KG_DB_ARGS(p), NULL);
	}
	/* 190 random bits colliding: draw again. */
	return r == KG_ERR_CONFLICT ? KG_ERR_DB_RETRY : r;
}

enum kg_err
kg_store_nonce_create(struct kg_db *db, const char *wallet, const char *ns,
    const char *purpose, uint64_t chain_id, long ttl, long max_pending,
    struct kg_nonce *out)
{
	struct nonce_create	c;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.nc_wallet = wallet;
	c.nc_ns = ns;
	c.nc_purpose = purpose;
	c.nc_chain_id = chain_id;
	c.nc_ttl = ttl;
	c.nc_max = max_pending;
	c.nc_out = out;
	return kg_db_txn(db, nonce_create_txn, &c);
}

enum kg_err
kg_store_nonce_consume(struct kg_db *db, const char *nonce,
    const char *wallet, const char *ns)
{
	struct kg_db_param	 p[] = { KG_P_TEXT(nonce), KG_P_TEXT(wallet),
	    KG_P_TEXT(ns) };
	unsigned long long	 n = 0;
	enum kg_err		 r;

	if ((r = kg_db_exec(db, &S_NONCE_CONSUME, KG_DB_ARGS(p), &n)) != KG_OK)
		return r;
	return n == 1 ? KG_OK : KG_ERR_NOT_FOUND;
}

/* ---------------------------------------------------------------- namespaces */

static enum kg_err
id_row(const struct kg_db_row *row, void *arg)
{
	*(uint64_t *)arg = (uint64_t)kg_db_row_int(row, 0);
	return KG_OK;
}

static enum kg_err
int_row(const struct kg_db_row *row, void *arg)
{
	*(int *)arg = (int)kg_db_row_int(row, 0);
	return KG_OK;
}

enum kg_err
kg_store_namespace_get(struct kg_db *db, const char *ns, uint64_t *id)
{
	struct kg_db_param	p[] = { KG_P_TEXT(ns) };

	*id = 0;
	return kg_db_query_one(db, &S_NS_GET, KG_DB_ARGS(p), id_row, id);
}

enum kg_err
kg_store_signin_member(struct kg_db *db, const char *ns, int auto_create,
    const char *wallet, uint64_t *ns_id, int *track, int *joined)
{
	char		lock[KG_DB_SERIAL_MAX + 1];
	enum kg_err	r;
	int		found = 0;
	size_t		n = 0;

	*ns_id = 0;
	*track = 0;
	*joined = 0;
	/*
	 * Every enrolment in the namespace waits for the one before it, so
	 * "no member yet: this one is track 4" is decided once.  A locking
	 * read of a missing name would gap-lock the name index, and two
	 * first sign-ins that then insert would deadlock.
	 */
	(void)snprintf(lock, sizeof(lock), "ns:%s", ns);
	if ((r = kg_db_serialize(db, lock)) != KG_OK)
		return r;
	{
		struct kg_db_param p[] = { KG_P_TEXT(ns) };

		r = kg_db_query_one(db, &S_NS_GET, KG_DB_ARGS(p), id_row,
		    ns_id);
		if (r == KG_ERR_NOT_FOUND) {
			if (!auto_create)
				return KG_ERR_NOT_FOUND;
			r = kg_db_exec(db, &S_NS_INSERT, KG_DB_ARGS(p), NULL);
			if (r == KG_ERR_CONFLICT)
				return KG_ERR_DB_RETRY;
			if (r != KG_OK)
				return r;
			*ns_id = kg_db_insert_id(db);
		} else if (r != KG_OK)
			return r;
	}
	{
		struct kg_db_param p[] = { KG_P_INT(*ns_id), KG_P_TEXT(wallet) };

		r = kg_db_query_one(db, &S_MEMBER_TRACK, KG_DB_ARGS(p),
		    int_row, track);
		if (r == KG_OK)
			return KG_OK;
		if (r != KG_ERR_NOT_FOUND)
			return r;
	}
	{
		struct kg_db_param p[] = { KG_P_INT(*ns_id) };

		if ((r = kg_db_query(db, &S_MEMBER_ANY, KG_DB_ARGS(p), NULL,
		    NULL, &n)) != KG_OK)
			return r;
		found = n > 0;
	}
	*track = found ? 1 : 4;
	{
		struct kg_db_param p[] = { KG_P_INT(*ns_id), KG_P_TEXT(wallet),
		    KG_P_INT(*track) };

		r = kg_db_exec(db, &S_MEMBER_INSERT, KG_DB_ARGS(p), NULL);
	}
	if (r != KG_OK)
		*track = 0;
	else
		*joined = 1;
	return r;
}

/* ---------------------------------------------------------------- apps */

enum kg_err
kg_store_app_create(struct kg_db *db, uint64_t ns_id, const char *name,
    const uint8_t pub65[65], const char *wallet, char *app_id_out)
{
	char		rnd[25];
	enum kg_err	r;
	int		tries;

	app_id_out[0] = '\0';
	for (tries = 0; tries < 3; tries++) {
		if ((r = kg_random_chars(rnd, 24, base62,
		    sizeof(base62) - 1)) != KG_OK)
			return r;
		memcpy(app_id_out, "app_", 4);
		memcpy(app_id_out + 4, rnd, sizeof(rnd));
		{
			struct kg_db_param p[] = { KG_P_INT(ns_id),
			    KG_P_TEXT(app_id_out), KG_P_TEXT(name),
			    KG_P_BLOB(pub65, 65), KG_P_TEXT(wallet) };

			r = kg_db_exec(db, &S_APP_INSERT, KG_DB_ARGS(p), NULL);
		}
		if (r != KG_ERR_CONFLICT)
			break;
	}
	if (r != KG_OK)
		app_id_out[0] = '\0';
	return r;
}

struct app_list {
	enum kg_err	(*al_fn)(const struct kg_app *, void *);
	void		*al_arg;
	struct kg_app	 al_app;
};

static enum kg_err
app_row(const struct kg_db_row *row, void *arg)
{
	struct app_list	*l = arg;
	struct kg_app	*a = &l->al_app;
	enum kg_err	 r;

	memset(a, 0, sizeof(*a));
	a->ap_id = (uint64_t)kg_db_row_int(row, 0);
	if ((r = kg_db_row_text_copy(row, 1, a->ap_app_id,
	    sizeof(a->ap_app_id))) != KG_OK ||
	    (r = kg_db_row_text_copy(row, 2, a->ap_name,
	    sizeof(a->ap_name))) != KG_OK ||
	    (r = kg_db_row_blob_copy(row, 3, a->ap_public_key, 65)) != KG_OK ||
	    (r = kg_db_row_text_copy(row, 4, a->ap_wallet,
	    sizeof(a->ap_wallet))) != KG_OK)
		return r;
	a->ap_created_us = kg_db_row_time_us(row, 5);
	return l->al_fn(a, l->al_arg);
}

enum kg_err
kg_store_app_list(struct kg_db *db, uint64_t ns_id, uint64_t before,
    size_t limit, enum kg_err (*fn)(const struct kg_app *, void *),
    void *arg, size_t *n)
{
	struct app_list		l;
	struct kg_db_param	p[] = { KG_P_INT(ns_id),
	    KG_P_INT(before == 0 ? (uint64_t)INT64_MAX : before),
	    KG_P_INT(limit) };

	memset(&l, 0, sizeof(l));
	l.al_fn = fn;
	l.al_arg = arg;
	return kg_db_query(db, &S_APP_LIST, KG_DB_ARGS(p), app_row, &l, n);
}
