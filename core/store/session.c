/*
 * store/session.c: session families, refresh tokens, revocation (SPEC 5).
 * The only SQL of sessions; see session.h for the contracts.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/base/log.h"
#include "core/base/random.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/base/hex.h"
#include "core/store/session.h"

static struct kg_sql S_FAMILY_INSERT = KG_SQL("session_family_insert",
    "INSERT INTO session_families (id, namespace_id, subject, track, "
    "created_at, expires_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6), "
    "UTC_TIMESTAMP(6) + INTERVAL ? SECOND)", 0);

/* Never past the family's own expiry (session_max_age from sign-in). */
static struct kg_sql S_REFRESH_INSERT = KG_SQL("refresh_insert",
    "INSERT INTO refresh_tokens (id8, token_hash, family_id, created_at, "
    "expires_at) SELECT ?, ?, id, UTC_TIMESTAMP(6), "
    "LEAST(UTC_TIMESTAMP(6) + INTERVAL ? SECOND, expires_at) "
    "FROM session_families WHERE id = ?", 0);

/*
 * The new token's lifetime and its family's (at least 1 s: the family was
 * live when the token went in): access tokens are capped by the latter.
 */
static struct kg_sql S_REFRESH_TTL = KG_SQL("refresh_ttl",
    "SELECT GREATEST(0, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6), "
    "rt.expires_at)), GREATEST(1, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6), "
    "f.expires_at)) FROM refresh_tokens rt JOIN session_families f "
    "ON f.id = rt.family_id WHERE rt.id = ?", KG_SQL_IDEMPOTENT);

/*
 * The presented token's row id, read without locking.  Racers for one
 * token then queue on its primary key, which locks the record alone; a
 * locking read through the hash index takes a next-key lock, and the
 * winner's insert of its new token, whose hash may fall in that gap,
 * then deadlocked with the queued racers.
 */
static struct kg_sql S_REFRESH_ID = KG_SQL("refresh_id",
    "SELECT id FROM refresh_tokens WHERE token_hash = ?", 0);

/*
 * The token and its family, locked before anything changes: the state
 * the rotation acts on is the latest committed one.
 */
static struct kg_sql S_REFRESH_STATE = KG_SQL("refresh_state",
    "SELECT rt.id, f.id, f.namespace_id, f.subject, "
    "rt.used_at IS NOT NULL, "
    "f.revoked_at IS NULL AND f.expires_at > UTC_TIMESTAMP(6) "
    "FROM refresh_tokens rt JOIN session_families f ON f.id = rt.family_id "
    "WHERE rt.id = ? FOR UPDATE", 0);

/* The consumption, under that lock: unused and unexpired. */
static struct kg_sql S_REFRESH_CONSUME = KG_SQL("refresh_consume",
    "UPDATE refresh_tokens SET used_at = UTC_TIMESTAMP(6) "
    "WHERE id = ? AND used_at IS NULL AND expires_at > UTC_TIMESTAMP(6)", 0);

/*
 * The namespace's name and the subject's current track (0: no longer a
 * member), so a demotion or removal reaches the next refresh, not only
 * the next sign-in.  A plain read: its snapshot may predate the wait
 * for the token's lock by that wait, which no demotion can tell apart
 * from one committed just after the rotation.
 */
static struct kg_sql S_REFRESH_WHO = KG_SQL("refresh_who",
    "SELECT n.name, COALESCE(m.track, 0) FROM namespaces n "
    "LEFT JOIN members m ON m.namespace_id = n.id AND m.wallet = ? "
    "WHERE n.id = ?", 0);

static struct kg_sql S_REFRESH_LINK = KG_SQL("refresh_link",
    "UPDATE refresh_tokens SET replaced_by = ? WHERE id = ?", 0);

static struct kg_sql S_FAMILY_REVOKE = KG_SQL("session_family_revoke",
    "UPDATE session_families SET revoked_at = UTC_TIMESTAMP(6), "
    "revoked_reason = ? WHERE id = ? AND revoked_at IS NULL", KG_SQL_REVOKES);

/*
 * A live family's time left and its subject's current track in the
 * namespace (0: no longer a member), for access-token rotation.
 */
static struct kg_sql S_FAMILY_LEFT = KG_SQL("session_family_left",
    "SELECT GREATEST(1, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6), "
    "f.expires_at)), COALESCE(m.track, 0) FROM session_families f "
    "LEFT JOIN members m ON m.namespace_id = f.namespace_id "
    "AND m.wallet = f.subject WHERE f.id = ? AND f.revoked_at IS NULL "
    "AND f.expires_at > UTC_TIMESTAMP(6)", KG_SQL_IDEMPOTENT);

static struct kg_sql S_FAMILY_BY_REFRESH = KG_SQL("session_family_by_refresh",
    "SELECT f.id, f.namespace_id, n.name, f.subject, f.track "
    "FROM refresh_tokens rt JOIN session_families f ON f.id = rt.family_id "
    "JOIN namespaces n ON n.id = f.namespace_id WHERE rt.token_hash = ?",
    KG_SQL_IDEMPOTENT);

static struct kg_sql S_JTI_REVOKE = KG_SQL("jti_revoke",
    "INSERT INTO jwt_revocations (jti, subject, namespace, track, "
    "token_expires_at, revoked_at, reason) "
    "VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6), ?)", KG_SQL_REVOKES);

static struct kg_sql S_SUBJECT_LOGOUT = KG_SQL("subject_logout",
    "INSERT INTO subject_logouts (namespace, subject, logged_out_at) "
    "VALUES (?, ?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE "
    "logged_out_at = GREATEST(logged_out_at, VALUES(logged_out_at))",
    KG_SQL_REVOKES);

static struct kg_sql S_SUBJECT_FAMILIES_REVOKE = KG_SQL(
    "subject_families_revoke",
    "UPDATE session_families f JOIN namespaces n ON n.id = f.namespace_id "
    "SET f.revoked_at = UTC_TIMESTAMP(6), f.revoked_reason = ? "
    "WHERE n.name = ? AND f.subject = ? AND f.revoked_at IS NULL",
    KG_SQL_REVOKES);

/*
 * iat has second resolution: a token issued in second T is caught by a
 * logout at T.xxxxxx, i.e. logged_out_at >= T.000000.  That would also
 * catch a session signed in later in the same second (after a demotion,
 * say), so a token whose family (sid) was created after the logout is
 * not caught: every token of such a family was issued after it.
 */
static struct kg_sql S_TOKEN_REVOKED = KG_SQL("token_revoked",
    "SELECT EXISTS (SELECT 1 FROM jwt_revocations WHERE jti = ?) "
    "OR EXISTS (SELECT 1 FROM session_families WHERE id = ? "
    "AND revoked_at IS NOT NULL) "
    "OR EXISTS (SELECT 1 FROM subject_logouts l WHERE l.namespace = ? "
    "AND l.subject = ? AND l.logged_out_at >= ? "
    "AND NOT EXISTS (SELECT 1 FROM session_families f "
    "JOIN namespaces n ON n.id = f.namespace_id WHERE f.id = ? "
    "AND n.name = l.namespace AND f.subject = l.subject "
    "AND f.created_at > l.logged_out_at))", KG_SQL_IDEMPOTENT);

/*
 * Per process: fetched and made on first use, reused by every hash (the
 * one-shot EVP_Digest allocates a context each call), survive fork.
 */
static EVP_MD		*kg_sha256;
static EVP_MD_CTX	*kg_sha256_ctx;

enum kg_err
kg_store_hash(const void *data, size_t len, unsigned char out[32])
{
	unsigned int	n = 0;

	if (kg_sha256_ctx == NULL) {
		if (kg_sha256 == NULL &&
		    (kg_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
			kg_log_error("EVP_MD_fetch SHA256 failed");
			return KG_ERR_INTERNAL;
		}
		if ((kg_sha256_ctx = EVP_MD_CTX_new()) == NULL)
			return KG_ERR_NOMEM;
	}
	if (!EVP_DigestInit_ex2(kg_sha256_ctx, kg_sha256, NULL) ||
	    !EVP_DigestUpdate(kg_sha256_ctx, data, len) ||
	    !EVP_DigestFinal_ex(kg_sha256_ctx, out, &n) || n != 32) {
		kg_log_error("SHA-256 failed");
		return KG_ERR_INTERNAL;
	}
	return KG_OK;
}

enum kg_err
kg_store_token_hash(const char *token, unsigned char out[32])
{
	return kg_store_hash(token, strlen(token), out);
}

enum kg_err
kg_store_family_create(struct kg_db *db, uint64_t ns_id, const char *subject,
    int track, long max_age, char sid[KG_SESSION_SID_LEN + 1])
{
	unsigned char		 rnd[KG_SESSION_SID_LEN / 2];
	enum kg_err		 r;

	if ((r = kg_random_bytes(rnd, sizeof(rnd))) != KG_OK)
		return r;
	kg_hex_encode(rnd, sizeof(rnd), sid);
	{
		struct kg_db_param p[] = { KG_P_TEXT(sid), KG_P_INT(ns_id),
		    KG_P_TEXT(subject), KG_P_INT(track), KG_P_INT(max_age) };

		r = kg_db_exec(db, &S_FAMILY_INSERT, KG_DB_ARGS(p), NULL);
	}
	if (r != KG_OK)
		sid[0] = '\0';
	return r;
}

/* Two seconds counts: the refresh token's and its family's. */
struct ttl_pair {
	long	tp_token;
	long	tp_family;
};

static enum kg_err
ttl_row(const struct kg_db_row *row, void *arg)
{
	struct ttl_pair	*tp = arg;

	tp->tp_token = (long)kg_db_row_int(row, 0);
	tp->tp_family = (long)kg_db_row_int(row, 1);
	return KG_OK;
}

/* Inserts and reports the new row's id, its lifetime and its family's. */
static enum kg_err
refresh_insert(struct kg_db *db, const char *sid, const char *token,
    const char *id8, long ttl, unsigned long long *id, long *expires_in,
    long *family_left)
{
	struct ttl_pair		 tp = { 0, 0 };
	unsigned char		 h[32];
	unsigned long long	 n = 0;
	enum kg_err		 r;

	if ((r = kg_store_token_hash(token, h)) != KG_OK)
		goto out;
	{
		struct kg_db_param p[] = { KG_P_TEXT(id8), KG_P_BLOB(h, 32),
		    KG_P_INT(ttl), KG_P_TEXT(sid) };

		if ((r = kg_db_exec(db, &S_REFRESH_INSERT, KG_DB_ARGS(p),
		    &n)) != KG_OK)
			goto out;
	}
	if (n != 1) {
		r = KG_ERR_NOT_FOUND;
		goto out;
	}
	*id = kg_db_insert_id(db);
	{
		struct kg_db_param p[] = { KG_P_INT(*id) };

		if ((r = kg_db_query_one(db, &S_REFRESH_TTL, KG_DB_ARGS(p),
		    ttl_row, &tp)) != KG_OK)
			goto out;
	}
	*expires_in = tp.tp_token;
	if (family_left != NULL)
		*family_left = tp.tp_family;
out:
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

enum kg_err
kg_store_refresh_insert(struct kg_db *db, const char *sid, const char *token,
    const char *id8, long ttl, long *expires_in, long *family_left)
{
	unsigned long long	id;

	return refresh_insert(db, sid, token, id8, ttl, &id, expires_in,
	    family_left);
}

struct refresh_state {
	unsigned long long		 rs_id;
	int				 rs_used;
	int				 rs_live;
	struct kg_session_family	*rs_fam;
};

static enum kg_err
family_cols(const struct kg_db_row *row, size_t c,
    struct kg_session_family *f)
{
	enum kg_err	r;

	memset(f, 0, sizeof(*f));
	if ((r = kg_db_row_text_copy(row, c, f->sf_id,
	    sizeof(f->sf_id))) != KG_OK)
		return r;
	f->sf_ns_id = (uint64_t)kg_db_row_int(row, c + 1);
	if ((r = kg_db_row_text_copy(row, c + 2, f->sf_ns,
	    sizeof(f->sf_ns))) != KG_OK ||
	    (r = kg_db_row_text_copy(row, c + 3, f->sf_subject,
	    sizeof(f->sf_subject))) != KG_OK)
		return r;
	f->sf_track = (int)kg_db_row_int(row, c + 4);
	return KG_OK;
}

static enum kg_err
id_row(const struct kg_db_row *row, void *arg)
{
	*(unsigned long long *)arg = (unsigned long long)kg_db_row_int(row, 0);
	return KG_OK;
}

static enum kg_err
state_row(const struct kg_db_row *row, void *arg)
{
	struct refresh_state		*s = arg;
	struct kg_session_family	*f = s->rs_fam;
	enum kg_err			 r;

	memset(f, 0, sizeof(*f));
	s->rs_id = (unsigned long long)kg_db_row_int(row, 0);
	if ((r = kg_db_row_text_copy(row, 1, f->sf_id,
	    sizeof(f->sf_id))) != KG_OK)
		return r;
	f->sf_ns_id = (uint64_t)kg_db_row_int(row, 2);
	if ((r = kg_db_row_text_copy(row, 3, f->sf_subject,
	    sizeof(f->sf_subject))) != KG_OK)
		return r;
	s->rs_used = kg_db_row_int(row, 4) != 0;
	s->rs_live = kg_db_row_int(row, 5) != 0;
	return KG_OK;
}

static enum kg_err
who_row(const struct kg_db_row *row, void *arg)
{
	struct kg_session_family	*f = arg;

	f->sf_track = (int)kg_db_row_int(row, 1);
	return kg_db_row_text_copy(row, 0, f->sf_ns, sizeof(f->sf_ns));
}

struct rotate_arg {
	const char			*ra_presented;
	const char			*ra_next;
	const char			*ra_next_id8;
	long				 ra_ttl;
	const char			*ra_remote;
	enum kg_rotate			 ra_res;
	struct kg_session_family	*ra_fam;
	long				 ra_expires_in;
	long				 ra_family_left;
};

static enum kg_err
audit(struct kg_db *db, const struct kg_session_family *f,
    const char *action, const char *target, const char *remote,
    const char *outcome)
{
	struct kg_audit	a;

	memset(&a, 0, sizeof(a));
	a.au_namespace = f->sf_ns;
	a.au_actor_type = strncmp(f->sf_subject, "key:", 4) == 0 ?
	    "api_key" : "wallet";
	a.au_actor = f->sf_subject;
	a.au_action = action;
	a.au_target = target;
	a.au_remote_addr = remote;
	a.au_outcome = outcome;
	return kg_store_audit(db, &a);
}

static enum kg_err
rotate_txn(struct kg_db *db, void *arg)
{
	struct rotate_arg	*ra = arg;
	struct refresh_state	 st;
	unsigned char		 h[32];
	unsigned long long	 n = 0, next_id = 0;
	char			 target[64];
	enum kg_err		 r;

	/* kg_db_txn may run us again: start from nothing each time. */
	ra->ra_res = KG_ROTATE_INVALID;
	ra->ra_expires_in = ra->ra_family_left = 0;
	memset(&st, 0, sizeof(st));
	st.rs_fam = ra->ra_fam;
	if ((r = kg_store_token_hash(ra->ra_presented, h)) != KG_OK)
		goto out;
	{
		struct kg_db_param p[] = { KG_P_BLOB(h, 32) };

		r = kg_db_query_one(db, &S_REFRESH_ID, KG_DB_ARGS(p),
		    id_row, &st.rs_id);
	}
	if (r == KG_OK) {
		struct kg_db_param p[] = { KG_P_INT(st.rs_id) };

		r = kg_db_query_one(db, &S_REFRESH_STATE, KG_DB_ARGS(p),
		    state_row, &st);
	}
	if (r == KG_ERR_NOT_FOUND) {
		/* Unknown token: nothing to record. */
		r = KG_OK;
		goto out;
	}
	if (r != KG_OK)
		goto out;
	{
		struct kg_db_param p[] = { KG_P_TEXT(ra->ra_fam->sf_subject),
		    KG_P_INT(ra->ra_fam->sf_ns_id) };

		r = kg_db_query_one(db, &S_REFRESH_WHO, KG_DB_ARGS(p),
		    who_row, ra->ra_fam);
	}
	if (r != KG_OK) {
		/* No namespace: it went, and its families with it. */
		if (r == KG_ERR_NOT_FOUND)
			r = KG_OK;
		goto out;
	}
	if (!st.rs_live) {
		/* Its family is over: nothing to consume, no reuse to see. */
		r = KG_OK;
		goto out;
	}
	{
		struct kg_db_param p[] = { KG_P_INT(st.rs_id) };

		if ((r = kg_db_exec(db, &S_REFRESH_CONSUME, KG_DB_ARGS(p),
		    &n)) != KG_OK)
			goto out;
	}
	snprintf(target, sizeof(target), "family:%s", ra->ra_fam->sf_id);
	if (n != 1) {
		if (st.rs_used) {
			/* Reuse: the family dies, its access tokens too. */
			struct kg_db_param p[] = { KG_P_TEXT("reuse"),
			    KG_P_TEXT(ra->ra_fam->sf_id) };

			if ((r = kg_db_exec(db, &S_FAMILY_REVOKE,
			    KG_DB_ARGS(p), NULL)) != KG_OK ||
			    (r = audit(db, ra->ra_fam, "refresh_reuse", target,
			    ra->ra_remote, "denied")) != KG_OK)
				goto out;
			ra->ra_res = KG_ROTATE_REUSED;
		}
		r = KG_OK;
		goto out;
	}
	if (ra->ra_fam->sf_track < 1) {
		/* Removed from the namespace: the session ends here. */
		struct kg_db_param p[] = { KG_P_TEXT("member_removed"),
		    KG_P_TEXT(ra->ra_fam->sf_id) };

		if ((r = kg_db_exec(db, &S_FAMILY_REVOKE, KG_DB_ARGS(p),
		    NULL)) != KG_OK ||
		    (r = audit(db, ra->ra_fam, "refresh", target, ra->ra_remote,
		    "denied")) != KG_OK)
			goto out;
		r = KG_OK;
		goto out;
	}
	if ((r = refresh_insert(db, ra->ra_fam->sf_id, ra->ra_next,
	    ra->ra_next_id8, ra->ra_ttl, &next_id, &ra->ra_expires_in,
	    &ra->ra_family_left)) != KG_OK)
		goto out;
	{
		struct kg_db_param p[] = { KG_P_INT(next_id),
		    KG_P_INT(st.rs_id) };

		if ((r = kg_db_exec(db, &S_REFRESH_LINK, KG_DB_ARGS(p),
		    NULL)) != KG_OK)
			goto out;
	}
	if ((r = audit(db, ra->ra_fam, "refresh", target, ra->ra_remote,
	    "ok")) != KG_OK)
		goto out;
	ra->ra_res = KG_ROTATE_OK;
	r = KG_OK;
out:
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

enum kg_err
kg_store_refresh_rotate_in(struct kg_db *db, const char *presented,
    const char *next, const char *next_id8, long ttl, const char *remote_addr,
    enum kg_rotate *res, struct kg_session_family *fam, long *expires_in,
    long *family_left)
{
	struct rotate_arg	ra;
	enum kg_err		r;

	memset(&ra, 0, sizeof(ra));
	ra.ra_presented = presented;
	ra.ra_next = next;
	ra.ra_next_id8 = next_id8;
	ra.ra_ttl = ttl;
	ra.ra_remote = remote_addr;
	ra.ra_fam = fam;
	memset(fam, 0, sizeof(*fam));
	*res = KG_ROTATE_INVALID;
	*expires_in = 0;
	if (family_left != NULL)
		*family_left = 0;
	if ((r = rotate_txn(db, &ra)) != KG_OK)
		return r;
	*res = ra.ra_res;
	*expires_in = ra.ra_expires_in;
	if (family_left != NULL)
		*family_left = ra.ra_family_left;
	if (ra.ra_res == KG_ROTATE_INVALID)
		memset(fam, 0, sizeof(*fam));
	return KG_OK;
}

struct rotate_own {
	const char			*ro_presented;
	const char			*ro_next;
	const char			*ro_next_id8;
	long				 ro_ttl;
	const char			*ro_remote;
	enum kg_rotate			*ro_res;
	struct kg_session_family	*ro_fam;
	long				*ro_expires_in;
};

static enum kg_err
rotate_own_txn(struct kg_db *db, void *arg)
{
	struct rotate_own	*ro = arg;

	return kg_store_refresh_rotate_in(db, ro->ro_presented, ro->ro_next,
	    ro->ro_next_id8, ro->ro_ttl, ro->ro_remote, ro->ro_res, ro->ro_fam,
	    ro->ro_expires_in, NULL);
}

enum kg_err
kg_store_refresh_rotate(struct kg_db *db, const char *presented,
    const char *next, const char *next_id8, long ttl, const char *remote_addr,
    enum kg_rotate *res, struct kg_session_family *fam, long *expires_in)
{
	struct rotate_own	ro = { presented, next, next_id8, ttl,
	    remote_addr, res, fam, expires_in };
	enum kg_err		r;

	if ((r = kg_db_txn(db, rotate_own_txn, &ro)) != KG_OK) {
		*res = KG_ROTATE_INVALID;
		*expires_in = 0;
		memset(fam, 0, sizeof(*fam));
	}
	return r;
}

static enum kg_err
family_row(const struct kg_db_row *row, void *arg)
{
	return family_cols(row, 0, arg);
}

enum kg_err
kg_store_family_revoke_by_refresh(struct kg_db *db, const char *token,
    const char *reason, struct kg_session_family *fam)
{
	struct kg_session_family	 f;
	unsigned char			 h[32];
	enum kg_err			 r;

	if ((r = kg_store_token_hash(token, h)) != KG_OK)
		goto out;
	{
		struct kg_db_param p[] = { KG_P_BLOB(h, 32) };

		if ((r = kg_db_query_one(db, &S_FAMILY_BY_REFRESH,
		    KG_DB_ARGS(p), family_row, &f)) != KG_OK)
			goto out;
	}
	if ((r = kg_store_family_revoke(db, f.sf_id, reason)) != KG_OK)
		goto out;
	if (fam != NULL)
		*fam = f;
out:
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

enum kg_err
kg_store_family_revoke(struct kg_db *db, const char *sid, const char *reason)
{
	struct kg_db_param p[] = { KG_P_TEXT(reason), KG_P_TEXT(sid) };

	return kg_db_exec(db, &S_FAMILY_REVOKE, KG_DB_ARGS(p), NULL);
}

struct family_left {
	long	fl_seconds;
	int	fl_track;
};

static enum kg_err
left_row(const struct kg_db_row *row, void *arg)
{
	struct family_left	*fl = arg;

	fl->fl_seconds = (long)kg_db_row_int(row, 0);
	fl->fl_track = (int)kg_db_row_int(row, 1);
	return KG_OK;
}

enum kg_err
kg_store_family_left(struct kg_db *db, const char *sid, long *seconds,
    int *track)
{
	struct kg_db_param	p[] = { KG_P_TEXT(sid) };
	struct family_left	fl = { 0, 0 };
	enum kg_err		r;

	*seconds = 0;
	if (track != NULL)
		*track = 0;
	if ((r = kg_db_query_one(db, &S_FAMILY_LEFT, KG_DB_ARGS(p), left_row,
	    &fl)) != KG_OK)
		return r;
	*seconds = fl.fl_seconds;
	if (track != NULL)
		*track = fl.fl_track;
	return KG_OK;
}

enum kg_err
kg_store_jti_revoke(struct kg_db *db, const struct kg_jti_revocation *jr,
    int *inserted)
{
	struct kg_db_param p[] = { KG_P_TEXT(jr->jr_jti),
	    KG_P_TEXT(jr->jr_subject), KG_P_TEXT(jr->jr_ns), KG_P_NULL(),
	    KG_P_TIME(jr->jr_expires_at), KG_P_TEXT(jr->jr_reason) };
	enum kg_err	r;

	if (jr->jr_track > 0)
		p[3] = (struct kg_db_param)KG_P_INT(jr->jr_track);
	r = kg_db_exec(db, &S_JTI_REVOKE, KG_DB_ARGS(p), NULL);
	if (inserted != NULL)
		*inserted = r == KG_OK;
	/* Already on the list: the outcome the caller wanted. */
	return r == KG_ERR_CONFLICT ? KG_OK : r;
}

enum kg_err
kg_store_subject_logout_in(struct kg_db *db, const char *ns,
    const char *subject, const char *reason, unsigned long long *families)
{
	struct kg_db_param	p[] = { KG_P_TEXT(ns), KG_P_TEXT(subject) };
	struct kg_db_param	f[] = { KG_P_TEXT(reason), KG_P_TEXT(ns),
	    KG_P_TEXT(subject) };
	unsigned long long	n = 0;
	enum kg_err		r;

	if (families != NULL)
		*families = 0;
	if ((r = kg_db_exec(db, &S_SUBJECT_LOGOUT, KG_DB_ARGS(p),
	    NULL)) != KG_OK ||
	    (r = kg_db_exec(db, &S_SUBJECT_FAMILIES_REVOKE, KG_DB_ARGS(f),
	    &n)) != KG_OK)
		return r;
	if (families != NULL)
		*families = n;
	return KG_OK;
}

struct logout_arg {
	const char		*la_ns;
	const char		*la_subject;
	unsigned long long	 la_families;
};

static enum kg_err
logout_txn(struct kg_db *db, void *arg)
{
	struct logout_arg	*la = arg;

	return kg_store_subject_logout_in(db, la->la_ns, la->la_subject,
	    "logout_all", &la->la_families);
}

enum kg_err
kg_store_subject_logout(struct kg_db *db, const char *ns, const char *subject,
    unsigned long long *families)
{
	struct logout_arg	la = { ns, subject, 0 };
	enum kg_err		r;

	r = kg_db_txn(db, logout_txn, &la);
	if (families != NULL)
		*families = r == KG_OK ? la.la_families : 0;
	return r;
}

static enum kg_err
int_row(const struct kg_db_row *row, void *arg)
{
	*(int *)arg = kg_db_row_int(row, 0) != 0;
	return KG_OK;
}

enum kg_err
kg_store_token_revoked(struct kg_db *db, const char *jti, const char *sid,
    const char *ns, const char *subject, int64_t iat, int *revoked)
{
	struct kg_db_param p[] = { KG_P_TEXT(jti), KG_P_TEXT(sid),
	    KG_P_TEXT(ns), KG_P_TEXT(subject), KG_P_TIME(iat),
	    KG_P_TEXT(sid) };
	enum kg_err	r;
	int		v = 1;

	r = kg_db_query_one(db, &S_TOKEN_REVOKED, KG_DB_ARGS(p), int_row, &v);
	/* Fail closed: anything but a clean answer reads as revoked. */
	*revoked = r == KG_OK ? v : 1;
	return r;
}
