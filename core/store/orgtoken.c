/*
 * orgtoken.c: org_tokens rows (SPEC 8).  Time decisions (touch due) are
 * taken in SQL against UTC_TIMESTAMP(6), so all hosts agree on them.
 */
#include <stdio.h>
#include <string.h>

#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/store/orgtoken.h"

#define OT_COLS \
    "t.id, t.namespace_id, n.name, t.id8, t.name, t.created_by, " \
    "t.created_at, t.revoked_at, t.last_used_at, " \
    "t.last_used_at IS NULL OR " \
    "t.last_used_at < UTC_TIMESTAMP(6) - INTERVAL 30 SECOND " \
    "FROM org_tokens t JOIN namespaces n ON n.id = t.namespace_id "

static struct kg_sql S_OT_INSERT = KG_SQL("orgtoken_insert",
    "INSERT INTO org_tokens (namespace_id, id8, token_hash, name, "
    "created_by, created_at) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))", 0);

static struct kg_sql S_OT_GET = KG_SQL("orgtoken_get",
    "SELECT " OT_COLS "WHERE t.namespace_id = ? AND t.id = ?",
    KG_SQL_IDEMPOTENT);

static struct kg_sql S_OT_LOOKUP = KG_SQL("orgtoken_lookup",
    "SELECT " OT_COLS "WHERE t.token_hash = ?", KG_SQL_IDEMPOTENT);

static struct kg_sql S_OT_LIST = KG_SQL("orgtoken_list",
    "SELECT " OT_COLS "WHERE t.namespace_id = ? AND t.id < ? AND "
    "t.revoked_at IS NULL ORDER BY t.id DESC LIMIT ?", KG_SQL_IDEMPOTENT);

static struct kg_sql S_OT_REVOKE = KG_SQL("orgtoken_revoke",
    "UPDATE org_tokens SET revoked_at = UTC_TIMESTAMP(6) "
    "WHERE namespace_id = ? AND id = ? AND revoked_at IS NULL", KG_SQL_REVOKES);

static struct kg_sql S_OT_TOUCH = KG_SQL("orgtoken_touch",
    "UPDATE org_tokens SET last_used_at = UTC_TIMESTAMP(6) WHERE id = ? AND "
    "(last_used_at IS NULL OR "
    "last_used_at < UTC_TIMESTAMP(6) - INTERVAL 30 SECOND)",
    KG_SQL_IDEMPOTENT);

static enum kg_err
ot_row(const struct kg_db_row *row, void *arg)
{
	struct kg_orgtoken	*t = arg;
	enum kg_err		 r;

	memset(t, 0, sizeof(*t));
	t->ot_id = (uint64_t)kg_db_row_int(row, 0);
	t->ot_ns_id = (uint64_t)kg_db_row_int(row, 1);
	if ((r = kg_db_row_text_copy(row, 2, t->ot_ns,
	    sizeof(t->ot_ns))) != KG_OK ||
	    (r = kg_db_row_text_copy(row, 3, t->ot_id8,
	    sizeof(t->ot_id8))) != KG_OK)
		return r;
	if (!kg_db_row_isnull(row, 4)) {
		t->ot_has_name = 1;
		if ((r = kg_db_row_text_copy(row, 4, t->ot_name,
		    sizeof(t->ot_name))) != KG_OK)
			return r;
	}
	if ((r = kg_db_row_text_copy(row, 5, t->ot_created_by,
	    sizeof(t->ot_created_by))) != KG_OK)
		return r;
	t->ot_created_us = kg_db_row_time_us(row, 6);
	t->ot_revoked_us = kg_db_row_isnull(row, 7) ? 0 :
	    kg_db_row_time_us(row, 7);
	t->ot_last_used_us = kg_db_row_isnull(row, 8) ? 0 :
	    kg_db_row_time_us(row, 8);
	t->ot_touch_due = kg_db_row_int(row, 9) != 0;
	return KG_OK;
}

struct ot_create {
	uint64_t		 oc_ns_id;
	const char		*oc_id8, *oc_name, *oc_by;
	const unsigned char	*oc_hash;
	struct kg_orgtoken	*oc_out;
};

/* Insert, read back.  Safe to re-run (kg_db_txn). */
static enum kg_err
ot_create_in(struct kg_db *db, void *arg)
{
	struct ot_create	*c = arg;
	uint64_t		 id;

	memset(c->oc_out, 0, sizeof(*c->oc_out));
	{
		struct kg_db_param p[] = { KG_P_INT(c->oc_ns_id),
		    KG_P_TEXT(c->oc_id8), KG_P_BLOB(c->oc_hash, 32),
		    KG_P_TEXT(c->oc_name), KG_P_TEXT(c->oc_by) };
		enum kg_err	r;

		if ((r = kg_db_exec(db, &S_OT_INSERT, KG_DB_ARGS(p),
		    NULL)) != KG_OK)
			return r;
	}
	id = kg_db_insert_id(db);
	{
		struct kg_db_param p[] = { KG_P_INT(c->oc_ns_id),
		    KG_P_INT(id) };

		return kg_db_query_one(db, &S_OT_GET, KG_DB_ARGS(p), ot_row,
		    c->oc_out);
	}
}

enum kg_err
kg_store_orgtoken_create(struct kg_db *db, uint64_t ns_id, const char *id8,
    const unsigned char hash[32], const char *name, const char *created_by,
    struct kg_orgtoken *out)
{
	struct ot_create	c;
	enum kg_err		r;

	memset(&c, 0, sizeof(c));
	c.oc_ns_id = ns_id;
	c.oc_id8 = id8;
	c.oc_name = name;
	c.oc_by = created_by;
	c.oc_hash = hash;
	c.oc_out = out;
	if (kg_db_in_txn(db))
		r = ot_create_in(db, &c);
	else
		r = kg_db_txn(db, ot_create_in, &c);
	if (r != KG_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

struct ot_list {
	enum kg_err	(*ol_fn)(const struct kg_orgtoken *, void *);
	void		*ol_arg;
	struct kg_orgtoken ol_tok;
};

static enum kg_err
list_row(const struct kg_db_row *row, void *arg)
{
	struct ot_list	*l = arg;
	enum kg_err	 r;

	if ((r = ot_row(row, &l->ol_tok)) != KG_OK)
		return r;
	return l->ol_fn != NULL ? l->ol_fn(&l->ol_tok, l->ol_arg) : KG_OK;
}

enum kg_err
kg_store_orgtoken_list(struct kg_db *db, uint64_t ns_id, uint64_t before,
    size_t limit, enum kg_err (*fn)(const struct kg_orgtoken *, void *),
    void *arg, size_t *n)
{
	struct ot_list		l;
	struct kg_db_param	p[] = { KG_P_INT(ns_id),
	    KG_P_INT(before == 0 || before > (uint64_t)INT64_MAX ?
	    (uint64_t)INT64_MAX : before), KG_P_INT(limit) };

	memset(&l, 0, sizeof(l));
	l.ol_fn = fn;
	l.ol_arg = arg;
	return kg_db_query(db, &S_OT_LIST, KG_DB_ARGS(p), list_row, &l, n);
}

struct ot_revoke {
	uint64_t		 or_ns_id, or_id;
	const struct kg_audit	*or_by;
	struct kg_orgtoken	*or_out;
};

/* The UPDATE decides who revoked it; the audit row commits with it. */
static enum kg_err
ot_revoke_txn(struct kg_db *db, void *arg)
{
	struct ot_revoke	*o = arg;
	struct kg_db_param	 p[] = { KG_P_INT(o->or_ns_id),
	    KG_P_INT(o->or_id) };
	char			 target[16];
	unsigned long long	 n = 0;
	enum kg_err		 r;

	memset(o->or_out, 0, sizeof(*o->or_out));
	if ((r = kg_db_exec(db, &S_OT_REVOKE, KG_DB_ARGS(p), &n)) != KG_OK)
		return r;
	if (n != 1)
		return KG_ERR_NOT_FOUND;
	if ((r = kg_db_query_one(db, &S_OT_GET, KG_DB_ARGS(p), ot_row,
	    o->or_out)) != KG_OK)
		return r;
	if (o->or_by != NULL) {
		struct kg_audit	au = *o->or_by;

		(void)snprintf(target, sizeof(target), "org:%s",
		    o->or_out->ot_id8);
		au.au_namespace = o->or_out->ot_ns;
		au.au_action = "org_token_revoke";
		au.au_target = target;
		au.au_outcome = "ok";
		return kg_store_audit(db, &au);
	}
	return KG_OK;
}

enum kg_err
kg_store_orgtoken_revoke(struct kg_db *db, uint64_t ns_id, uint64_t id,
    const struct kg_audit *by, struct kg_orgtoken *out)
{
	struct ot_revoke	o;
	enum kg_err		r;

	memset(&o, 0, sizeof(o));
	o.or_ns_id = ns_id;
	o.or_id = id;
	o.or_by = by;
	o.or_out = out;
	if ((r = kg_db_txn(db, ot_revoke_txn, &o)) != KG_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

enum kg_err
kg_store_orgtoken_lookup(struct kg_db *db, const unsigned char hash[32],
    struct kg_orgtoken *out)
{
	struct kg_db_param	p[] = { KG_P_BLOB(hash, 32) };

	memset(out, 0, sizeof(*out));
	return kg_db_query_one(db, &S_OT_LOOKUP, KG_DB_ARGS(p), ot_row, out);
}

enum kg_err
kg_store_orgtoken_touch(struct kg_db *db, uint64_t id)
{
	struct kg_db_param	p[] = { KG_P_INT(id) };

	return kg_db_exec(db, &S_OT_TOUCH, KG_DB_ARGS(p), NULL);
}
