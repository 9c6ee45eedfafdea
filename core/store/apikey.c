/*
 * apikey.c: api_keys rows (SPEC 6, and the wallet-minted keys of SPEC 4).
 * Every expiry decision is taken in SQL against UTC_TIMESTAMP(6), so all
 * hosts sharing the database agree on it.
 */
#include <stdio.h>
#include <string.h>

#include "core/store/apikey.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/store/session.h"

/*
 * project_ids is a JSON array written here as ["a","b"]: project ids are
 * ^[A-Za-z0-9._:-]{1,64}$ (checked by the callers), so no escaping.
 */
#define KEY_COLS \
    "k.id, k.namespace_id, n.name, k.id8, k.name, k.scopes, k.project_ids, " \
    "k.wallet, k.created_by, k.created_at, k.expires_at, k.revoked_at, " \
    "k.last_used_at, k.expires_at IS NOT NULL AND " \
    "k.expires_at <= UTC_TIMESTAMP(6), k.last_used_at IS NULL OR " \
    "k.last_used_at < UTC_TIMESTAMP(6) - INTERVAL 30 SECOND, " \
    "TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6), k.expires_at) " \
    "FROM api_keys k JOIN namespaces n ON n.id = k.namespace_id "

static struct kg_sql S_KEY_INSERT = KG_SQL("apikey_insert",
    "INSERT INTO api_keys (namespace_id, id8, token_hash, name, scopes, "
    "project_ids, wallet, created_by, created_at, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), "
    "IF(? > 0, UTC_TIMESTAMP(6) + INTERVAL ? SECOND, NULL))", 0);

static struct kg_sql S_KEY_GET = KG_SQL("apikey_get",
    "SELECT " KEY_COLS "WHERE k.namespace_id = ? AND k.id = ?",
    KG_SQL_IDEMPOTENT);

static struct kg_sql S_KEY_LOOKUP = KG_SQL("apikey_lookup",
    "SELECT " KEY_COLS "WHERE k.token_hash = ?", KG_SQL_IDEMPOTENT);

static struct kg_sql S_KEY_LIST = KG_SQL("apikey_list",
    "SELECT " KEY_COLS "WHERE k.namespace_id = ? AND k.id < ? AND "
    "(? = 1 OR (k.revoked_at IS NULL AND (k.expires_at IS NULL OR "
    "k.expires_at > UTC_TIMESTAMP(6)))) ORDER BY k.id DESC LIMIT ?",
    KG_SQL_IDEMPOTENT);

static struct kg_sql S_KEY_REVOKE = KG_SQL("apikey_revoke",
    "UPDATE api_keys SET revoked_at = UTC_TIMESTAMP(6) "
    "WHERE namespace_id = ? AND id = ? AND revoked_at IS NULL", KG_SQL_REVOKES);

static struct kg_sql S_KEY_TOUCH = KG_SQL("apikey_touch",
    "UPDATE api_keys SET last_used_at = UTC_TIMESTAMP(6) WHERE id = ? AND "
    "(last_used_at IS NULL OR "
    "last_used_at < UTC_TIMESTAMP(6) - INTERVAL 30 SECOND)",
    KG_SQL_IDEMPOTENT);

/*
 * The wallet's live keys in the namespace.  A locking read, as
 * kg_db_serialize asks of a count in a transaction that already read
 * rows (the wallet mint: kg_store_signin_member read before): it sees
 * the latest committed rows though the snapshot may predate the lock.
 */
static struct kg_sql S_KEY_WALLET_LIVE = KG_SQL("apikey_wallet_live",
    "SELECT COUNT(*) FROM api_keys WHERE namespace_id = ? AND wallet = ? "
    "AND revoked_at IS NULL AND (expires_at IS NULL OR "
    "expires_at > UTC_TIMESTAMP(6)) LOCK IN SHARE MODE", 0);

/* "[\"a\",\"b\"]" into "a b" (see the note on project_ids above). */
static enum kg_err
projects_from_json(const char *j, char *out, size_t outlen)
{
	size_t	n = 0;
	int	sep = 0;

	for (; *j != '\0'; j++) {
		if (*j == '[' || *j == ']' || *j == '"' || *j == ',' ||
		    *j == ' ') {
			sep = n > 0;
			continue;
		}
		if (n + 2 >= outlen)
			return KG_ERR_TOO_LARGE;
		if (sep) {
			out[n++] = ' ';
			sep = 0;
		}
		out[n++] = *j;
	}
	out[n] = '\0';
	return KG_OK;
}

/* "a b" into "[\"a\",\"b\"]". */
static enum kg_err
projects_to_json(const char *s, char *out, size_t outlen)
{
	size_t	n = 0, w;
	int	first = 1;

	out[n++] = '[';
	while (*s != '\0') {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		w = strcspn(s, " ");
		if (n + w + 5 >= outlen)
			return KG_ERR_TOO_LARGE;
		if (!first)
			out[n++] = ',';
		out[n++] = '"';
		memcpy(out + n, s, w);
		n += w;
		out[n++] = '"';
		first = 0;
		s += w;
	}
	out[n++] = ']';
	out[n] = '\0';
	return KG_OK;
}

static enum kg_err
key_row(const struct kg_db_row *row, void *arg)
{
	struct kg_apikey	*k = arg;
	const char		*pj;
	enum kg_err		 r;

	memset(k, 0, sizeof(*k));
	k->ak_id = (uint64_t)kg_db_row_int(row, 0);
	k->ak_ns_id = (uint64_t)kg_db_row_int(row, 1);
	if ((r = kg_db_row_text_copy(row, 2, k->ak_ns, sizeof(k->ak_ns))) !=
	    KG_OK ||
	    (r = kg_db_row_text_copy(row, 3, k->ak_id8, sizeof(k->ak_id8))) !=
	    KG_OK ||
	    (r = kg_db_row_text_copy(row, 4, k->ak_name, sizeof(k->ak_name))) !=
	    KG_OK ||
	    (r = kg_db_row_text_copy(row, 5, k->ak_scopes,
	    sizeof(k->ak_scopes))) != KG_OK)
		return r;
	if (kg_db_row_isnull(row, 6))
		k->ak_all_projects = 1;
	else if ((pj = kg_db_row_text(row, 6, NULL)) == NULL ||
	    (r = projects_from_json(pj, k->ak_projects,
	    sizeof(k->ak_projects))) != KG_OK)
		return KG_ERR_INTERNAL;
	if (!kg_db_row_isnull(row, 7) &&
	    (r = kg_db_row_text_copy(row, 7, k->ak_wallet,
	    sizeof(k->ak_wallet))) != KG_OK)
		return r;
	if ((r = kg_db_row_text_copy(row, 8, k->ak_created_by,
	    sizeof(k->ak_created_by))) != KG_OK)
		return r;
	k->ak_created_us = kg_db_row_time_us(row, 9);
	k->ak_expires_us = kg_db_row_isnull(row, 10) ? 0 :
	    kg_db_row_time_us(row, 10);
	k->ak_revoked_us = kg_db_row_isnull(row, 11) ? 0 :
	    kg_db_row_time_us(row, 11);
	k->ak_last_used_us = kg_db_row_isnull(row, 12) ? 0 :
	    kg_db_row_time_us(row, 12);
	k->ak_expired = kg_db_row_int(row, 13) != 0;
	k->ak_touch_due = kg_db_row_int(row, 14) != 0;
	k->ak_expires_in = kg_db_row_isnull(row, 15) ? -1 :
	    kg_db_row_int(row, 15);
	return KG_OK;
}

static enum kg_err
count_row(const struct kg_db_row *row, void *arg)
{
	*(long long *)arg = kg_db_row_int(row, 0);
	return KG_OK;
}

struct key_create {
	const struct kg_apikey_new	*kc_new;
	struct kg_apikey		*kc_out;
};

/* Cap (wallet keys), insert, read back.  Safe to re-run (kg_db_txn). */
static enum kg_err
key_create_in(struct kg_db *db, void *arg)
{
	struct key_create		*c = arg;
	const struct kg_apikey_new	*kn = c->kc_new;
	char				 pj[KG_KEY_PROJECTS_BYTES * 2 + 8];
	char				 lock[KG_DB_SERIAL_MAX + 1];
	long long			 live = 0;
	uint64_t			 id;
	enum kg_err			 r;

	memset(c->kc_out, 0, sizeof(*c->kc_out));
	if (kn->kn_projects != NULL &&
	    (r = projects_to_json(kn->kn_projects, pj, sizeof(pj))) != KG_OK)
		return KG_ERR_INVALID;
	if (kn->kn_wallet != NULL && kn->kn_wallet_max > 0) {
		(void)snprintf(lock, sizeof(lock), "apikey:%llu:%s",
		    (unsigned long long)kn->kn_ns_id, kn->kn_wallet);
		if ((r = kg_db_serialize(db, lock)) != KG_OK)
			return r;
		{
			struct kg_db_param p[] = { KG_P_INT(kn->kn_ns_id),
			    KG_P_TEXT(kn->kn_wallet) };

			if ((r = kg_db_query_one(db, &S_KEY_WALLET_LIVE,
			    KG_DB_ARGS(p), count_row, &live)) != KG_OK)
				return r;
		}
		if (live >= kn->kn_wallet_max)
			return KG_ERR_TOO_LARGE;
	}
	{
		struct kg_db_param p[] = { KG_P_INT(kn->kn_ns_id),
		    KG_P_TEXT(kn->kn_id8), KG_P_BLOB(kn->kn_hash, 32),
		    KG_P_TEXT(kn->kn_name), KG_P_TEXT(kn->kn_scopes),
		    KG_P_TEXT(kn->kn_projects != NULL ? pj : NULL),
		    KG_P_TEXT(kn->kn_wallet), KG_P_TEXT(kn->kn_created_by),
		    KG_P_INT(kn->kn_expires_in), KG_P_INT(kn->kn_expires_in) };

		if ((r = kg_db_exec(db, &S_KEY_INSERT, KG_DB_ARGS(p),
		    NULL)) != KG_OK)
			return r;
	}
	id = kg_db_insert_id(db);
	{
		struct kg_db_param p[] = { KG_P_INT(kn->kn_ns_id),
		    KG_P_INT(id) };

		return kg_db_query_one(db, &S_KEY_GET, KG_DB_ARGS(p), key_row,
		    c->kc_out);
	}
}

enum kg_err
kg_store_apikey_create(struct kg_db *db, const struct kg_apikey_new *kn,
    struct kg_apikey *out)
{
	struct key_create	c = { kn, out };
	enum kg_err		r;

	if (kg_db_in_txn(db))
		r = key_create_in(db, &c);
	else
		r = kg_db_txn(db, key_create_in, &c);
	if (r != KG_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

enum kg_err
kg_store_apikey_get(struct kg_db *db, uint64_t ns_id, uint64_t id,
    struct kg_apikey *out)
{
	struct kg_db_param	p[] = { KG_P_INT(ns_id), KG_P_INT(id) };

	memset(out, 0, sizeof(*out));
	return kg_db_query_one(db, &S_KEY_GET, KG_DB_ARGS(p), key_row, out);
}

struct key_list {
	enum kg_err	(*kl_fn)(const struct kg_apikey *, void *);
	void		*kl_arg;
	struct kg_apikey kl_key;
};

static enum kg_err
list_row(const struct kg_db_row *row, void *arg)
{
	struct key_list	*l = arg;
	enum kg_err	 r;

	if ((r = key_row(row, &l->kl_key)) != KG_OK)
		return r;
	return l->kl_fn != NULL ? l->kl_fn(&l->kl_key, l->kl_arg) : KG_OK;
}

enum kg_err
kg_store_apikey_list(struct kg_db *db, uint64_t ns_id, int include_revoked,
    uint64_t before, size_t limit,
    enum kg_err (*fn)(const struct kg_apikey *, void *), void *arg,
    size_t *n)
{
	struct key_list		l;
	struct kg_db_param	p[] = { KG_P_INT(ns_id),
	    KG_P_INT(before == 0 || before > (uint64_t)INT64_MAX ?
	    (uint64_t)INT64_MAX : before),
	    KG_P_INT(include_revoked ? 1 : 0), KG_P_INT(limit) };

	memset(&l, 0, sizeof(l));
	l.kl_fn = fn;
	l.kl_arg = arg;
	return kg_db_query(db, &S_KEY_LIST, KG_DB_ARGS(p), list_row, &l, n);
}

struct key_revoke {
	uint64_t		 kr_ns_id, kr_id;
	const struct kg_audit	*kr_by;
	int64_t			*kr_at;
	struct kg_apikey	 kr_key;
};

/*
 * The UPDATE decides who revoked it; the same transaction reads when,
 * and logs the key's subject out of its namespace (SPEC 6: the access
 * tokens minted from it end at once), so both commit or neither does.
 */
static enum kg_err
key_revoke_txn(struct kg_db *db, void *arg)
{
	struct key_revoke	*k = arg;
	struct kg_db_param	 p[] = { KG_P_INT(k->kr_ns_id),
	    KG_P_INT(k->kr_id) };
	char			 subject[16];
	unsigned long long	 n = 0;
	enum kg_err		 r;

	*k->kr_at = 0;
	if ((r = kg_db_exec(db, &S_KEY_REVOKE, KG_DB_ARGS(p), &n)) != KG_OK)
		return r;
	if (n != 1)
		return KG_ERR_NOT_FOUND;
	if ((r = kg_db_query_one(db, &S_KEY_GET, KG_DB_ARGS(p), key_row,
	    &k->kr_key)) != KG_OK)
		return r;
	(void)snprintf(subject, sizeof(subject), "key:%s", k->kr_key.ak_id8);
	if ((r = kg_store_subject_logout_in(db, k->kr_key.ak_ns, subject,
	    "key_revoked", NULL)) != KG_OK)
		return r;
	if (k->kr_by != NULL) {
		struct kg_audit	au = *k->kr_by;

		au.au_namespace = k->kr_key.ak_ns;
		au.au_action = "key_revoke";
		au.au_target = subject;
		au.au_outcome = "ok";
		if ((r = kg_store_audit(db, &au)) != KG_OK)
			return r;
	}
	*k->kr_at = k->kr_key.ak_revoked_us;
	return KG_OK;
}

enum kg_err
kg_store_apikey_revoke(struct kg_db *db, uint64_t ns_id, uint64_t id,
    const struct kg_audit *by, int64_t *revoked_us)
{
	struct key_revoke	k;

	memset(&k, 0, sizeof(k));
	k.kr_ns_id = ns_id;
	k.kr_id = id;
	k.kr_by = by;
	k.kr_at = revoked_us;
	return kg_db_txn(db, key_revoke_txn, &k);
}

enum kg_err
kg_store_apikey_lookup(struct kg_db *db, const unsigned char hash[32],
    struct kg_apikey *out)
{
	struct kg_db_param	p[] = { KG_P_BLOB(hash, 32) };

	memset(out, 0, sizeof(*out));
	return kg_db_query_one(db, &S_KEY_LOOKUP, KG_DB_ARGS(p), key_row, out);
}

enum kg_err
kg_store_apikey_touch(struct kg_db *db, uint64_t id)
{
	struct kg_db_param	p[] = { KG_P_INT(id) };

	return kg_db_exec(db, &S_KEY_TOUCH, KG_DB_ARGS(p), NULL);
}
