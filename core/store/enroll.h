/*
 * enroll.h: install_tokens and daemon_tokens rows (SPEC 7).
 *
 * Only SHA-256(token) is stored (kg_store_token_hash).  Every management
 * call names the caller's namespace id: a daemon token of another
 * namespace is KG_ERR_NOT_FOUND, exactly like one that does not exist.
 * Every time decision is taken in SQL against UTC_TIMESTAMP(6), so all
 * hosts sharing the database agree on it.
 */
#ifndef KG_STORE_ENROLL_H
#define KG_STORE_ENROLL_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

struct kg_db;
struct kg_audit;

#define KG_DAEMON_ID_MAX	128	/* bytes (printable ASCII) */
#define KG_ENROLL_BY_MAX	128	/* created_by */
/* last_used_at of a daemon token is written at most this often. */
#define KG_DAEMON_TOUCH_INTERVAL	30
/*
 * What kg_store_install_cleanup keeps by default: an install token is
 * deleted only once its expiry lies this far in the past, used or not.
 * A token that can still be presented in good faith (live, or just
 * spent by a racing exchange) is never deleted, so a losing exchange
 * keeps its answer install_token_already_used (SPEC 7).
 */
#define KG_INSTALL_CLEANUP_GRACE	3600	/* seconds */

struct kg_install_token {
	uint64_t	it_id;
	uint64_t	it_ns_id;
	char		it_ns[64];
	char		it_created_by[KG_ENROLL_BY_MAX + 1];
	int64_t		it_created_us;
	int64_t		it_expires_us;
	int64_t		it_used_us;		/* 0 = not used */
	uint64_t	it_daemon_token_id;	/* 0 = none */
};

struct kg_daemon_token {
	uint64_t	dt_id;
	uint64_t	dt_ns_id;
	char		dt_ns[64];
	char		dt_daemon_id[KG_DAEMON_ID_MAX + 1];
	uint64_t	dt_install_token_id;	/* 0 = none */
	int64_t		dt_created_us;
	int64_t		dt_expires_us;		/* far future: 9999-12-31 */
	int64_t		dt_revoked_us;		/* 0 = live */
	int64_t		dt_last_seen_us;	/* 0 = no heartbeat yet */
	int64_t		dt_last_used_us;	/* 0 = never used */
	/* Decided by the database clock when the row was read: */
	int		dt_valid;		/* not revoked, not expired */
	int		dt_touch_due;		/* last_used_at older than
						 * KG_DAEMON_TOUCH_INTERVAL */
};

/*
 * Inserts an install token of namespace ns_id (hash of the mit_ token)
 * valid ttl seconds, and reads it back into *out.  In the caller's
 * transaction when one is open.  KG_ERR_CONFLICT when the hash collides
 * (the caller mints again), else KG_OK or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_install_create(struct kg_db *, uint64_t ns_id,
		    const unsigned char hash[32], const char *created_by,
		    long ttl, struct kg_install_token *out);

/*
 * The exchange of SPEC 7, in one transaction: one conditional UPDATE
 * consumes the install token whose hash is ihash (live and unused);
 * the daemon token (dhash, daemon_id) is inserted, the install token
 * linked to it, and the "install_token_exchange" audit event (by, may
 * be NULL; namespace, target and outcome are filled here) written, all
 * committing together.  KG_OK and *out; KG_ERR_CONFLICT when the token
 * exists and was used (even if it has expired since); KG_ERR_NOT_FOUND
 * when it is unknown or expired unused; else a KG_ERR_DB* status
 * (nothing consumed).  Of N concurrent exchanges of one token exactly
 * one gets KG_OK, the others KG_ERR_CONFLICT.
 */
enum kg_err	kg_store_install_exchange(struct kg_db *,
		    const unsigned char ihash[32], const unsigned char dhash[32],
		    const char *daemon_id, const struct kg_audit *by,
		    struct kg_daemon_token *out);

/* The install token whose hash is hash: KG_OK, NOT_FOUND, or DB status. */
enum kg_err	kg_store_install_lookup(struct kg_db *,
		    const unsigned char hash[32], struct kg_install_token *out);

/*
 * What keygate-cleanup runs: deletes install tokens whose expires_at is
 * more than grace seconds in the past (used or not; see
 * KG_INSTALL_CLEANUP_GRACE).  Daemon tokens never depend on their
 * install token row (no foreign key), so deleting it loses nothing.
 * *deleted (may be NULL) gets the count.
 */
enum kg_err	kg_store_install_cleanup(struct kg_db *, long grace,
		    unsigned long long *deleted);

/*
 * The daemon token whose hash is hash, whatever its state (the
 * authentication and introspection path: one indexed read): KG_OK,
 * KG_ERR_NOT_FOUND, or DB status.  The caller checks dt_valid.
 */
enum kg_err	kg_store_daemon_lookup(struct kg_db *,
		    const unsigned char hash[32], struct kg_daemon_token *out);

/*
 * Daemon tokens of namespace ns_id, revoked ones included, newest
 * first, with id < before (0: from the newest), at most limit; fn (may
 * be NULL) per token; *n the count.
 */
enum kg_err	kg_store_daemon_list(struct kg_db *, uint64_t ns_id,
		    uint64_t before, size_t limit,
		    enum kg_err (*fn)(const struct kg_daemon_token *, void *),
		    void *arg, size_t *n);

/*
 * Revokes daemon token id of ns_id if live, with the "daemon_token_revoke"
 * audit event of by (may be NULL) in the same transaction.  KG_OK and
 * *revoked_us (revoked_us may be NULL; it is 0 on any failure);
 * KG_ERR_NOT_FOUND when absent, of another namespace or already revoked;
 * else DB status (nothing revoked).
 */
enum kg_err	kg_store_daemon_revoke(struct kg_db *, uint64_t ns_id,
		    uint64_t id, const struct kg_audit *by, int64_t *revoked_us);

/*
 * Daemon token id, whatever its namespace and state (the daemon's own
 * token, its id from authentication): KG_OK, NOT_FOUND, or DB status.
 */
enum kg_err	kg_store_daemon_by_id(struct kg_db *, uint64_t id,
		    struct kg_daemon_token *out);

/* last_used_at = now when older than KG_DAEMON_TOUCH_INTERVAL. */
enum kg_err	kg_store_daemon_touch(struct kg_db *, uint64_t id);

/*
 * Heartbeat: last_seen_at = now for live daemon token id, then the row
 * into *out.  KG_ERR_NOT_FOUND when it was revoked meanwhile.
 */
enum kg_err	kg_store_daemon_heartbeat(struct kg_db *, uint64_t id,
		    struct kg_daemon_token *out);

#endif
