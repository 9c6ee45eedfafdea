/*
 * store/session.h: the SQL of SPEC 5: session families, refresh tokens
 * (only their SHA-256 stored), rotation with reuse detection, the jti
 * revocation list, logout of a family and of every family of a subject,
 * and the one revocation check every access-token validation runs.
 *
 * Every expiry comparison happens in SQL against UTC_TIMESTAMP(6).
 * Plaintext refresh tokens are passed in and hashed here; they are never
 * stored, logged or kept.
 */
#ifndef KG_STORE_SESSION_H
#define KG_STORE_SESSION_H

#include <stdint.h>

#include "core/base/err.h"

struct kg_db;

/* A session family id: 128 random bits as 32 lower-case hex. */
#define KG_SESSION_SID_LEN	32

/* What rotation and the family lookups tell the caller about a family. */
struct kg_session_family {
	char		sf_id[KG_SESSION_SID_LEN + 1];
	uint64_t	sf_ns_id;
	char		sf_ns[64];		/* namespace name */
	char		sf_subject[128];
	int		sf_track;		/* see kg_store_refresh_rotate */
};

enum kg_rotate {
	KG_ROTATE_OK = 0,	/* consumed; the new token is stored */
	KG_ROTATE_INVALID,	/* unknown, expired, or family not live */
	KG_ROTATE_REUSED,	/* already used, family was live: now revoked */
	KG_ROTATE__MAX
};

/*
 * SHA-256 of token (NUL-terminated) into out.  The digest is fetched
 * once per process and reused.  Returns KG_OK or KG_ERR_INTERNAL.
 */
enum kg_err	kg_store_token_hash(const char *token, unsigned char out[32]);
/* The same for len bytes that need not end in a NUL. */
enum kg_err	kg_store_hash(const void *data, size_t len, unsigned char out[32]);

/*
 * Creates a live family for subject in namespace ns_id at track, expiring
 * max_age seconds from now (session_max_age), and writes its new random
 * id into sid.  Run it inside the caller's transaction with the first
 * refresh token.  Returns KG_OK or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_family_create(struct kg_db *, uint64_t ns_id,
		    const char *subject, int track, long max_age,
		    char sid[KG_SESSION_SID_LEN + 1]);

/*
 * Stores refresh token (plaintext, hashed here; id8 its id) in family
 * sid, expiring at min(now + ttl, the family's expiry); *expires_in gets
 * the seconds it has left (0 or more) and *family_left (may be NULL) the
 * family's (at least 1), which is what caps an access token of the
 * family (SPEC 5: session_max_age).  Returns KG_OK; KG_ERR_NOT_FOUND
 * when the family does not exist; KG_ERR_CONFLICT when id8 or the hash
 * is already taken (mint again); or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_refresh_insert(struct kg_db *, const char *sid,
		    const char *token, const char *id8, long ttl,
		    long *expires_in, long *family_left);

/*
 * Rotation, in one transaction of its own: consumes presented atomically
 * (unused, unexpired, family live) and stores next (id8 next_id8, ttl as
 * kg_store_refresh_insert) in the same family.  fam->sf_track is the
 * subject's current track in the namespace (members); a subject that is
 * no longer a member gets KG_ROTATE_INVALID and the family is revoked
 * (reason "member_removed").  A presented token that
 * was already used while its family is live is reuse: the family is
 * revoked (reason "reuse"), which also stops its access tokens.  The
 * outcome is in *res; on KG_ROTATE_OK *fam describes the family and
 * *expires_in the new token's lifetime; on KG_ROTATE_REUSED *fam too.
 * Audit events (refresh, refresh_reuse) are written in the same
 * transaction, with remote_addr (may be NULL).  Returns KG_OK (whatever
 * *res), KG_ERR_CONFLICT when next collides (mint again), or a KG_ERR_DB*
 * status: the caller then answers 503 and nothing changed.
 */
enum kg_err	kg_store_refresh_rotate(struct kg_db *, const char *presented,
		    const char *next, const char *next_id8, long ttl,
		    const char *remote_addr, enum kg_rotate *res,
		    struct kg_session_family *fam, long *expires_in);

/*
 * kg_store_refresh_rotate inside the caller's transaction (so the caller
 * can sign the access token before it commits, and roll everything back
 * when that fails).  Also *family_left (may be NULL): on KG_ROTATE_OK the
 * seconds the family has left, as kg_store_refresh_insert.  The caller
 * must commit on KG_OK whatever *res (a reuse revokes the family), and
 * roll back on any other status (KG_ERR_CONFLICT: mint again).
 */
enum kg_err	kg_store_refresh_rotate_in(struct kg_db *,
		    const char *presented, const char *next,
		    const char *next_id8, long ttl, const char *remote_addr,
		    enum kg_rotate *res, struct kg_session_family *fam,
		    long *expires_in, long *family_left);

/*
 * Revokes the family of refresh token (any state) with reason; already
 * revoked stays as it was.  *fam is filled when found (fam may be NULL).
 * Returns KG_OK, KG_ERR_NOT_FOUND for an unknown token, or KG_ERR_DB*.
 */
enum kg_err	kg_store_family_revoke_by_refresh(struct kg_db *,
		    const char *token, const char *reason,
		    struct kg_session_family *fam);

/*
 * Revokes family sid with reason (idempotent).  Returns KG_OK (also when
 * there is no such family or it was already revoked) or KG_ERR_DB*.
 */
enum kg_err	kg_store_family_revoke(struct kg_db *, const char *sid,
		    const char *reason);

/*
 * Seconds family sid has left before session_max_age (at least 1) into
 * *seconds, and into *track (may be NULL) its subject's current track in
 * the family's namespace (members), 0 when the subject is no longer a
 * member: one query, so access-token rotation sees removals and
 * demotions.  Returns KG_OK; KG_ERR_NOT_FOUND when the family is unknown,
 * revoked or past its maximum age; or KG_ERR_DB*.
 */
enum kg_err	kg_store_family_left(struct kg_db *, const char *sid,
		    long *seconds, int *track);

/* One access token to put on the revocation list. */
struct kg_jti_revocation {
	const char	*jr_jti;	/* 32 hex */
	const char	*jr_subject;
	const char	*jr_ns;		/* namespace name */
	int		 jr_track;	/* 0 = none (stored NULL) */
	int64_t		 jr_expires_at;	/* the token's exp, seconds */
	const char	*jr_reason;	/* "logout", "refresh", "revoke", ... */
};

/*
 * Puts a jti on the revocation list.  Idempotent: *inserted (may be NULL)
 * is 1 when this call revoked it, 0 when it already was.  Returns KG_OK
 * or KG_ERR_DB*.
 */
enum kg_err	kg_store_jti_revoke(struct kg_db *,
		    const struct kg_jti_revocation *, int *inserted);

/*
 * Logout everywhere, inside the caller's transaction: records that every
 * access token of subject in namespace ns with iat at or before this
 * second stops validating (but for those of a family started after it),
 * and revokes every live family of subject in ns, with reason (at most
 * 32 characters: "logout_all", "member_demoted", ...).  *families (may
 * be NULL) gets how many were revoked.  Returns KG_OK or KG_ERR_DB*.
 */
enum kg_err	kg_store_subject_logout_in(struct kg_db *, const char *ns,
		    const char *subject, const char *reason,
		    unsigned long long *families);

/*
 * kg_store_subject_logout_in in one transaction of its own, with reason
 * "logout_all".
 */
enum kg_err	kg_store_subject_logout(struct kg_db *, const char *ns,
		    const char *subject, unsigned long long *families);

/*
 * The revocation check of every access-token validation, one query:
 * *revoked = 1 when jti is on the list, or family sid ("" = none) is
 * revoked, or subject was logged out of ns at or after second iat and
 * family sid was not created after that logout.
 * Returns KG_OK, or a KG_ERR_DB* status: the caller must then refuse the
 * token (503), never accept it.
 */
enum kg_err	kg_store_token_revoked(struct kg_db *, const char *jti,
		    const char *sid, const char *ns, const char *subject,
		    int64_t iat, int *revoked);

#endif
