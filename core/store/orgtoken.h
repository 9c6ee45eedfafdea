/*
 * orgtoken.h: org_tokens rows (SPEC 8).
 *
 * Only SHA-256(token) is stored (kg_store_token_hash).  Every management
 * call names the caller's namespace id: a token of another namespace is
 * KG_ERR_NOT_FOUND, exactly like one that does not exist, so ids cannot
 * be probed across namespaces.
 */
#ifndef KG_STORE_ORGTOKEN_H
#define KG_STORE_ORGTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

struct kg_db;
struct kg_audit;

#define KG_ORGTOKEN_NAME_MAX		255	/* characters (VARCHAR(255)) */
#define KG_ORGTOKEN_NAME_BYTES		(4 * KG_ORGTOKEN_NAME_MAX)
#define KG_ORGTOKEN_CREATED_BY_MAX	128
/* last_used_at is written at most this often per token (as API keys). */
#define KG_ORGTOKEN_TOUCH_INTERVAL	30

/* A token as stored (never its secret). */
struct kg_orgtoken {
	uint64_t	ot_id;
	uint64_t	ot_ns_id;
	char		ot_ns[64];		/* namespace name */
	char		ot_id8[9];		/* the "prefix" of responses */
	int		ot_has_name;		/* name is not NULL */
	char		ot_name[KG_ORGTOKEN_NAME_BYTES + 1];
	char		ot_created_by[KG_ORGTOKEN_CREATED_BY_MAX + 1];
	int64_t		ot_created_us;		/* microseconds since the epoch */
	int64_t		ot_revoked_us;		/* 0 = live */
	int64_t		ot_last_used_us;	/* 0 = never used */
	/* Decided by the database clock when the row was read: */
	int		ot_touch_due;		/* last_used_at older than
						 * KG_ORGTOKEN_TOUCH_INTERVAL */
};

/*
 * Inserts a token of namespace ns_id (id8, hash[32] = SHA-256 of the
 * token, name NULL or checked, created_by "admin", "org:<id8>", ...)
 * inside the caller's transaction or alone, and reads it back into
 * *out.  KG_ERR_CONFLICT when id8 or the hash collides (the caller
 * mints again), else KG_OK or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_orgtoken_create(struct kg_db *, uint64_t ns_id,
		    const char *id8, const unsigned char hash[32],
		    const char *name, const char *created_by,
		    struct kg_orgtoken *out);

/*
 * Live tokens of namespace ns_id, newest first, with id < before (0:
 * from the newest), at most limit.  fn (may be NULL: count only) is
 * called per token; *n gets the count.
 */
enum kg_err	kg_store_orgtoken_list(struct kg_db *, uint64_t ns_id,
		    uint64_t before, size_t limit,
		    enum kg_err (*fn)(const struct kg_orgtoken *, void *),
		    void *arg, size_t *n);

/*
 * Revokes token id of namespace ns_id if it is live.  KG_OK with the
 * row (revoked_at set) in *out, KG_ERR_NOT_FOUND when absent, of
 * another namespace or already revoked, or a KG_ERR_DB* status
 * (nothing revoked).  by (may be NULL) names who revoked it: its
 * "org_token_revoke" audit event, target "org:<id8>", commits with
 * the change.
 */
enum kg_err	kg_store_orgtoken_revoke(struct kg_db *, uint64_t ns_id,
		    uint64_t id, const struct kg_audit *by,
		    struct kg_orgtoken *out);

/*
 * The token whose secret hashes to hash[32], whatever its state (one
 * indexed read joining the namespace name): authentication and
 * introspection both start here.  KG_OK, KG_ERR_NOT_FOUND, or DB
 * status.
 */
enum kg_err	kg_store_orgtoken_lookup(struct kg_db *,
		    const unsigned char hash[32], struct kg_orgtoken *out);

/*
 * Sets last_used_at to now when it is older than
 * KG_ORGTOKEN_TOUCH_INTERVAL (one conditional UPDATE; callers skip it
 * unless ot_touch_due).
 */
enum kg_err	kg_store_orgtoken_touch(struct kg_db *, uint64_t id);

#endif
