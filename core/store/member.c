/* member.c: namespaces and members rows (SPEC 2, 9). */
#include <stdio.h>
#include <string.h>

#include "core/store/db.h"
#include "core/store/member.h"
#include "core/store/session.h"

/*
 * Plain reads: every caller that changes membership holds the
 * namespace's serial lock first, so its snapshot starts after the last
 * change committed under that lock.
 */
static struct kg_sql S_NS_FIND = KG_SQL("ns_find",
    "SELECT id FROM namespaces WHERE name = ?", 0);

static struct kg_sql S_NS_ADD = KG_SQL("ns_add",
    "INSERT INTO namespaces (name, created_at) "
    "VALUES (?, UTC_TIMESTAMP(6))", 0);

static struct kg_sql S_NS_INFO = KG_SQL("ns_info",
    "SELECT n.id, n.name, n.created_at, "
    "(SELECT COUNT(*) FROM members m WHERE m.namespace_id = n.id) "
    "FROM namespaces n WHERE n.name = ?", KG_SQL_IDEMPOTENT);

/* For keygate-admin: every namespace, by name, with its member count. */
static struct kg_sql S_NS_LIST = KG_SQL("ns_list",
    "SELECT n.id, n.name, n.created_at, "
    "(SELECT COUNT(*) FROM members m WHERE m.namespace_id = n.id) "
    "FROM namespaces n ORDER BY n.name", KG_SQL_IDEMPOTENT);

static struct kg_sql S_MEMBER_GET = KG_SQL("member_get",
    "SELECT wallet, track, created_at, updated_at FROM members "
    "WHERE namespace_id = ? AND wallet = ?", 0);

/* members_track (namespace_id, track) answers this from the index. */
static struct kg_sql S_MEMBER_COUNT_TRACK = KG_SQL("member_count_track",
    "SELECT COUNT(*) FROM members WHERE namespace_id = ? AND track = ?", 0);

static struct kg_sql S_MEMBER_ADD = KG_SQL("member_add",
    "INSERT INTO members (namespace_id, wallet, track, created_at, "
    "updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))", 0);

static struct kg_sql S_MEMBER_UPDATE = KG_SQL("member_update",
    "UPDATE members SET track = ?, updated_at = UTC_TIMESTAMP(6) "
    "WHERE namespace_id = ? AND wallet = ?", 0);

static struct kg_sql S_MEMBER_DELETE = KG_SQL("member_delete",
    "DELETE FROM members WHERE namespace_id = ? AND wallet = ?", 0);

static struct kg_sql S_MEMBER_LIST = KG_SQL("member_list",
    "SELECT wallet, track, created_at, updated_at FROM members "
    "WHERE namespace_id = ? "
    "ORDER BY created_at DESC, wallet DESC LIMIT ?", KG_SQL_IDEMPOTENT);

static struct kg_sql S_MEMBER_LIST_AFTER = KG_SQL("member_list_after",
    "SELECT wallet, track, created_at, updated_at FROM members "
    "WHERE namespace_id = ? AND (created_at < ? OR "
    "(created_at = ? AND wallet < ?)) "
    "ORDER BY created_at DESC, wallet DESC LIMIT ?", KG_SQL_IDEMPOTENT);

/* ---------------------------------------------------------------- rows */

static enum kg_err
id_row(const struct kg_db_row *row, void *arg)
{
	*(uint64_t *)arg = (uint64_t)kg_db_row_int(row, 0);
	return KG_OK;
}

static enum kg_err
count_row(const struct kg_db_row *row, void *arg)
{
	*(long long *)arg = kg_db_row_int(row, 0);
	return KG_OK;
}

static enum kg_err
info_row(const struct kg_db_row *row, void *arg)
{
	struct kg_ns_info	*ni = arg;

	ni->ni_id = (uint64_t)kg_db_row_int(row, 0);
	ni->ni_created_us = kg_db_row_time_us(row, 2);
	ni->ni_members = kg_db_row_int(row, 3);
	return kg_db_row_text_copy(row, 1, ni->ni_name, sizeof(ni->ni_name));
}

static enum kg_err
member_row(const struct kg_db_row *row, void *arg)
{
	struct kg_member	*m = arg;

	m->me_track = (int)kg_db_row_int(row, 1);
	m->me_created_us = kg_db_row_time_us(row, 2);
	m->me_updated_us = kg_db_row_time_us(row, 3);
	return kg_db_row_text_copy(row, 0, m->me_wallet, sizeof(m->me_wallet));
}

/* ---------------------------------------------------------------- namespaces */

/* Takes the serial lock of namespace name ("ns:<name>", as wallet.c). */
static enum kg_err
ns_lock(struct kg_db *db, const char *name)
{
	char	lock[KG_DB_SERIAL_MAX + 1];

	(void)snprintf(lock, sizeof(lock), "ns:%s", name);
	return kg_db_serialize(db, lock);
}

enum kg_err
kg_store_ns_info(struct kg_db *db, const char *name, struct kg_ns_info *out)
{
	struct kg_db_param	p[] = { KG_P_TEXT(name) };

	memset(out, 0, sizeof(*out));
	return kg_db_query_one(db, &S_NS_INFO, KG_DB_ARGS(p), info_row, out);
}

struct ns_list {
	enum kg_err	(*nl_fn)(const struct kg_ns_info *, void *);
	void		*nl_arg;
};

static enum kg_err
ns_list_row(const struct kg_db_row *row, void *arg)
{
	struct ns_list		*l = arg;
	struct kg_ns_info	 ni;
	enum kg_err		 r;

	memset(&ni, 0, sizeof(ni));
	if ((r = info_row(row, &ni)) != KG_OK)
		return r;
	return l->nl_fn(&ni, l->nl_arg);
}

enum kg_err
kg_store_ns_list(struct kg_db *db,
    enum kg_err (*fn)(const struct kg_ns_info *, void *), void *arg,
    size_t *n)
{
	struct ns_list	l;

	l.nl_fn = fn;
	l.nl_arg = arg;
	return kg_db_query(db, &S_NS_LIST, KG_DB_NOARGS, ns_list_row, &l, n);
}

enum kg_err
kg_store_ns_create(struct kg_db *db, const char *name, const char *owner,
    struct kg_ns_info *out)
{
	uint64_t	id = 0;
	enum kg_err	r;

	memset(out, 0, sizeof(*out));
	/*
	 * The lock orders this against a first sign-in to the same name,
	 * which would otherwise create the namespace (and its owner) in
	 * between our check and our insert.
	 */
	if ((r = ns_lock(db, name)) != KG_OK)
		return r;
	{
		struct kg_db_param p[] = { KG_P_TEXT(name) };

		r = kg_db_query_one(db, &S_NS_FIND, KG_DB_ARGS(p), id_row, &id);
		if (r == KG_OK)
			return KG_ERR_CONFLICT;
		if (r != KG_ERR_NOT_FOUND)
			return r;
		/* A writer that skipped the lock: taken (409) all the same. */
		r = kg_db_exec(db, &S_NS_ADD, KG_DB_ARGS(p), NULL);
		if (r != KG_OK)
			return r;
		id = kg_db_insert_id(db);
	}
	if (owner != NULL) {
		struct kg_db_param p[] = { KG_P_INT(id), KG_P_TEXT(owner),
		    KG_P_INT(KG_TRACK_OPERATOR) };

		if ((r = kg_db_exec(db, &S_MEMBER_ADD, KG_DB_ARGS(p), NULL))
		    != KG_OK)
			return r == KG_ERR_CONFLICT ? KG_ERR_INTERNAL : r;
	}
	return kg_store_ns_info(db, name, out);
}

/* ---------------------------------------------------------------- members */

struct member_list {
	enum kg_err	(*ml_fn)(const struct kg_member *, void *);
	void		*ml_arg;
	struct kg_member ml_m;
};

static enum kg_err
list_row(const struct kg_db_row *row, void *arg)
{
	struct member_list	*l = arg;
	enum kg_err		 r;

	memset(&l->ml_m, 0, sizeof(l->ml_m));
	if ((r = member_row(row, &l->ml_m)) != KG_OK)
		return r;
	return l->ml_fn(&l->ml_m, l->ml_arg);
}

enum kg_err
kg_store_member_list(struct kg_db *db, uint64_t ns_id,
    const struct kg_member_cursor *cursor, size_t limit,
    enum kg_err (*fn)(const struct kg_member *, void *), void *arg,
    size_t *n)
{
	struct member_list	l;

	memset(&l, 0, sizeof(l));
	l.ml_fn = fn;
	l.ml_arg = arg;
	if (cursor == NULL || cursor->mc_wallet[0] == '\0') {
		struct kg_db_param p[] = { KG_P_INT(ns_id), KG_P_INT(limit) };

		return kg_db_query(db, &S_MEMBER_LIST, KG_DB_ARGS(p), list_row,
		    &l, n);
	} else {
		struct kg_db_param p[] = { KG_P_INT(ns_id),
		    KG_P_TIME_US(cursor->mc_created_us),
		    KG_P_TIME_US(cursor->mc_created_us),
		    KG_P_TEXT(cursor->mc_wallet), KG_P_INT(limit) };

		return kg_db_query(db, &S_MEMBER_LIST_AFTER, KG_DB_ARGS(p),
		    list_row, &l, n);
	}
}

/*
 * Locks namespace ns and reads wallet's membership: *ns_id (0 when the
 * namespace does not exist) and *cur (zeroed, me_track 0, when the wallet
 * is no member).
 */
static enum kg_err
member_locked_get(struct kg_db *db, const char *ns, const char *wallet,
    uint64_t *ns_id, struct kg_member *cur)
{
	enum kg_err	r;

	*ns_id = 0;
	memset(cur, 0, sizeof(*cur));
	if ((r = ns_lock(db, ns)) != KG_OK)
		return r;
	{
		struct kg_db_param p[] = { KG_P_TEXT(ns) };

		r = kg_db_query_one(db, &S_NS_FIND, KG_DB_ARGS(p), id_row,
		    ns_id);
		if (r == KG_ERR_NOT_FOUND) {
			*ns_id = 0;
			return KG_OK;
		}
		if (r != KG_OK)
			return r;
	}
	{
		struct kg_db_param p[] = { KG_P_INT(*ns_id),
		    KG_P_TEXT(wallet) };

		r = kg_db_query_one(db, &S_MEMBER_GET, KG_DB_ARGS(p),
		    member_row, cur);
		if (r == KG_ERR_NOT_FOUND) {
			memset(cur, 0, sizeof(*cur));
			return KG_OK;
		}
	}
	return r;
}

/*
 * The rules of SPEC 9 for turning track old (0: no member) into track
 * new (0: removed).  Returns KG_OK with *res set, or a database status.
 */
static enum kg_err
member_rules(struct kg_db *db, uint64_t ns_id, int old, int new,
    int may_operate, enum kg_member_res *res)
{
	long long	operators = 0;

	*res = KG_MEMBER_OK;
	if ((old == KG_TRACK_OPERATOR || new == KG_TRACK_OPERATOR) &&
	    !may_operate) {
		*res = KG_MEMBER_OPERATOR;
		return KG_OK;
	}
	if (old != KG_TRACK_OPERATOR || new == KG_TRACK_OPERATOR)
		return KG_OK;
	{
		struct kg_db_param p[] = { KG_P_INT(ns_id),
		    KG_P_INT(KG_TRACK_OPERATOR) };
		enum kg_err	r;

		if ((r = kg_db_query_one(db, &S_MEMBER_COUNT_TRACK,
		    KG_DB_ARGS(p), count_row, &operators)) != KG_OK)
			return r;
	}
	if (operators <= 1)
		*res = KG_MEMBER_LAST_OPERATOR;
	return KG_OK;
}

enum kg_err
kg_store_member_set(struct kg_db *db, const char *ns, const char *wallet,
    int track, int may_operate, enum kg_member_res *res,
    struct kg_member *out, int *old_track)
{
	struct kg_member	cur;
	uint64_t		ns_id;
	enum kg_err		r;

	*res = KG_MEMBER__MAX;
	*old_track = 0;
	memset(out, 0, sizeof(*out));
	if (track < KG_TRACK_MIN || track > KG_TRACK_OPERATOR)
		return KG_ERR_INVALID;
	if ((r = member_locked_get(db, ns, wallet, &ns_id, &cur)) != KG_OK)
		return r;
	if (ns_id == 0) {
		*res = KG_MEMBER_NO_NAMESPACE;
		return KG_OK;
	}
	if ((r = member_rules(db, ns_id, cur.me_track, track, may_operate,
	    res)) != KG_OK || *res != KG_MEMBER_OK)
		return r;
	if (cur.me_track == 0) {
		struct kg_db_param p[] = { KG_P_INT(ns_id), KG_P_TEXT(wallet),
		    KG_P_INT(track) };

		r = kg_db_exec(db, &S_MEMBER_ADD, KG_DB_ARGS(p), NULL);
		/* Only a writer without the lock could have added it. */
		if (r == KG_ERR_CONFLICT)
			r = KG_ERR_DB_RETRY;
	} else if (cur.me_track != track) {
		struct kg_db_param p[] = { KG_P_INT(track), KG_P_INT(ns_id),
		    KG_P_TEXT(wallet) };

		r = kg_db_exec(db, &S_MEMBER_UPDATE, KG_DB_ARGS(p), NULL);
		/*
		 * Tokens carry the track they were issued with: a demotion
		 * ends the wallet's sessions here, with the change, or its
		 * tokens would keep the old track's rights.
		 */
		if (r == KG_OK && track < cur.me_track)
			r = kg_store_subject_logout_in(db, ns, wallet,
			    "member_demoted", NULL);
	}
	if (r != KG_OK)
		return r;
	*old_track = cur.me_track;
	{
		struct kg_db_param p[] = { KG_P_INT(ns_id), KG_P_TEXT(wallet) };

		r = kg_db_query_one(db, &S_MEMBER_GET, KG_DB_ARGS(p),
		    member_row, out);
	}
	if (r != KG_OK) {
		*old_track = 0;
		*res = KG_MEMBER__MAX;
	}
	return r;
}

enum kg_err
kg_store_member_remove(struct kg_db *db, const char *ns, const char *wallet,
    int may_operate, enum kg_member_res *res, int *old_track)
{
	struct kg_member	 cur;
	uint64_t		 ns_id;
	unsigned long long	 n = 0;
	enum kg_err		 r;

	*res = KG_MEMBER__MAX;
	*old_track = 0;
	if ((r = member_locked_get(db, ns, wallet, &ns_id, &cur)) != KG_OK)
		return r;
	if (ns_id == 0) {
		*res = KG_MEMBER_NO_NAMESPACE;
		return KG_OK;
	}
	if (cur.me_track == 0) {
		*res = KG_MEMBER_UNKNOWN;
		return KG_OK;
	}
	if ((r = member_rules(db, ns_id, cur.me_track, 0, may_operate,
	    res)) != KG_OK || *res != KG_MEMBER_OK)
		return r;
	{
		struct kg_db_param p[] = { KG_P_INT(ns_id), KG_P_TEXT(wallet) };

		if ((r = kg_db_exec(db, &S_MEMBER_DELETE, KG_DB_ARGS(p), &n))
		    != KG_OK)
			return r;
	}
	/* Read under the lock just now: gone means a writer without it. */
	if (n != 1) {
		*res = KG_MEMBER__MAX;
		return KG_ERR_DB_RETRY;
	}
	/* A member removed keeps no rights: its sessions end with it. */
	if ((r = kg_store_subject_logout_in(db, ns, wallet, "member_removed",
	    NULL)) != KG_OK) {
		*res = KG_MEMBER__MAX;
		return r;
	}
	*old_track = cur.me_track;
	return KG_OK;
}
