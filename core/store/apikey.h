/*
 * apikey.h: api_keys rows (SPEC 6, and the wallet-minted keys of SPEC 4).
 *
 * Only SHA-256(secret) is stored (kg_store_token_hash).  Every management
 * call names the caller's namespace id: a key of another namespace is
 * KG_ERR_NOT_FOUND, exactly like a key that does not exist, so ids cannot
 * be probed across namespaces.
 */
#ifndef KG_STORE_APIKEY_H
#define KG_STORE_APIKEY_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/base/names.h"	/* KG_PROJECT_ID_MAX */

struct kg_db;

#define KG_KEY_NAME_MAX		255	/* characters (VARCHAR(255) utf8mb4) */
#define KG_KEY_NAME_BYTES	(4 * KG_KEY_NAME_MAX)
#define KG_KEY_SCOPES_MAX	1023	/* bytes, space-separated */
#define KG_KEY_PROJECTS_MAX	15	/* project ids per key (fits pr_projects) */
#define KG_KEY_PROJECTS_BYTES	(KG_KEY_PROJECTS_MAX * (KG_PROJECT_ID_MAX + 1))
#define KG_KEY_CREATED_BY_MAX	128
/*
 * last_used_at is written at most this often per key.  SPEC 6 allows it
 * to lag 60 s: half of that, because a worker's credential cache only
 * offers a touch every KG_AUTHCACHE_TOUCH (30 s) seconds.
 */
#define KG_KEY_TOUCH_INTERVAL	30

/* A key as stored (never its secret). */
struct kg_apikey {
	uint64_t	ak_id;
	uint64_t	ak_ns_id;
	char		ak_ns[64];		/* namespace name */
	char		ak_id8[9];		/* the "prefix" of responses */
	char		ak_name[KG_KEY_NAME_BYTES + 1];
	char		ak_scopes[KG_KEY_SCOPES_MAX + 1];	/* space-separated */
	int		ak_all_projects;	/* project_ids NULL: every project */
	char		ak_projects[KG_KEY_PROJECTS_BYTES];	/* space-separated */
	char		ak_wallet[43];		/* "" unless wallet-minted */
	char		ak_created_by[KG_KEY_CREATED_BY_MAX + 1];
	int64_t		ak_created_us;		/* microseconds since the epoch */
	int64_t		ak_expires_us;		/* 0 = never */
	int64_t		ak_revoked_us;		/* 0 = not revoked */
	int64_t		ak_last_used_us;	/* 0 = never used */
	/* Decided by the database clock when the row was read: */
	int		ak_expired;		/* expires_at has passed */
	long long	ak_expires_in;		/* whole seconds left by the
						 * database's clock; -1 never */
	int		ak_touch_due;		/* last_used_at older than
						 * KG_KEY_TOUCH_INTERVAL */
};

/* What a new key is made of; the caller minted the secret. */
struct kg_apikey_new {
	uint64_t	 kn_ns_id;
	const char	*kn_id8;
	const unsigned char *kn_hash;		/* SHA-256 of the secret, 32 bytes */
	const char	*kn_name;
	const char	*kn_scopes;		/* space-separated, validated */
	const char	*kn_projects;		/* space-separated ids; NULL = all */
	const char	*kn_wallet;		/* NULL unless wallet-minted */
	const char	*kn_created_by;		/* "admin", "wallet:0x..", "key:<id8>" ... */
	long		 kn_expires_in;		/* seconds; 0 = never */
	long		 kn_wallet_max;		/* wallet keys: live keys allowed per
						 * (namespace, wallet); 0 = no cap */
};

/*
 * Inserts a key (inside the caller's transaction, or alone) and reads it
 * back into *out.  For a wallet key with kn_wallet_max > 0 the count of
 * the wallet's live keys in the namespace is taken under a serial lock
 * (kg_db_serialize), so concurrent mints cannot pass the cap: at the cap,
 * KG_ERR_TOO_LARGE (409 too_many_keys).  KG_ERR_CONFLICT when id8 or the
 * hash collides (the caller mints again).  Else a KG_ERR_DB* status.
 */
enum kg_err	kg_store_apikey_create(struct kg_db *, const struct kg_apikey_new *,
		    struct kg_apikey *out);

/* One key of namespace ns_id: KG_OK, KG_ERR_NOT_FOUND, or DB status. */
enum kg_err	kg_store_apikey_get(struct kg_db *, uint64_t ns_id, uint64_t id,
		    struct kg_apikey *out);

/*
 * Keys of namespace ns_id, newest first, with id < before (0: from the
 * newest), at most limit; live ones only (not revoked, not expired)
 * unless include_revoked (then expired ones too).  fn (may be NULL:
 * count only) is called per key; *n gets the count.
 */
enum kg_err	kg_store_apikey_list(struct kg_db *, uint64_t ns_id,
		    int include_revoked, uint64_t before, size_t limit,
		    enum kg_err (*fn)(const struct kg_apikey *, void *), void *arg,
		    size_t *n);

/*
 * Revokes key id of namespace ns_id if it is live (not revoked; an
 * expired key can still be revoked) and, in the same transaction, logs
 * its subject "key:<id8>" out of the namespace
 * (kg_store_subject_logout_in), so the access tokens minted from it stop
 * validating at once: both commit or neither does.  KG_OK and
 * *revoked_us, KG_ERR_NOT_FOUND when absent, of another namespace, or
 * already revoked, or a KG_ERR_DB* status (nothing revoked).  by (may
 * be NULL) names who revoked it (actor, actor type, remote address): the
 * "key_revoke" audit event, target "key:<id8>", commits with the change.
 */
struct kg_audit;
enum kg_err	kg_store_apikey_revoke(struct kg_db *, uint64_t ns_id, uint64_t id,
		    const struct kg_audit *by, int64_t *revoked_us);

/*
 * The key whose secret hashes to hash[32] (the authentication path: one
 * indexed read joining the namespace name), whatever its state: the
 * caller tells revoked and expired apart (SPEC 6 gives each its 401).
 * KG_OK, KG_ERR_NOT_FOUND, or DB status.
 */
enum kg_err	kg_store_apikey_lookup(struct kg_db *, const unsigned char hash[32],
		    struct kg_apikey *out);

/*
 * Sets last_used_at to now when it is older than KG_KEY_TOUCH_INTERVAL
 * (one conditional UPDATE; the caller skips the call unless the looked-up
 * ak_touch_due is set, so a busy key costs no write per request).
 */
enum kg_err	kg_store_apikey_touch(struct kg_db *, uint64_t id);

#endif
