/*
 * wallet.h: storage of wallet sign-in (SPEC 2, 4): nonces, namespaces
 * and their members, registered apps.
 */
#ifndef KG_STORE_WALLET_H
#define KG_STORE_WALLET_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

struct kg_db;

#define KG_NONCE_LEN	32	/* base62 characters (SPEC 3) */
#define KG_APP_ID_MAX	64

/* A challenge's nonce as stored. */
struct kg_nonce {
	char		no_nonce[KG_NONCE_LEN + 1];
	int64_t		no_issued_us;	/* database clock, whole seconds */
	int64_t		no_expires_us;
};

/*
 * Creates a nonce for wallet (lower-case), namespace name ns, purpose and
 * chain_id, valid ttl seconds from the database clock, unless wallet
 * already has max_pending unexpired unused nonces: then KG_ERR_TOO_LARGE
 * (429 too_many_challenges).  Count and insert run in one transaction
 * that locks the wallet's index range, so concurrent challenges cannot
 * overshoot the cap.  Not inside another transaction.  Returns KG_OK and
 * fills *out, or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_nonce_create(struct kg_db *db, const char *wallet,
		    const char *ns, const char *purpose, uint64_t chain_id,
		    long ttl, long max_pending, struct kg_nonce *out);

/*
 * Consumes nonce for (wallet, ns) with one UPDATE: still unused,
 * unexpired and bound to the same wallet and namespace.  Returns KG_OK
 * when this call flipped it, KG_ERR_NOT_FOUND otherwise (unknown, used,
 * expired, other wallet or namespace: 400 invalid_nonce), or a
 * KG_ERR_DB* status.  Meant for the caller's transaction.
 */
enum kg_err	kg_store_nonce_consume(struct kg_db *db, const char *nonce,
		    const char *wallet, const char *ns);

/* Looks up namespace ns: KG_OK and *id, KG_ERR_NOT_FOUND, or DB status. */
enum kg_err	kg_store_namespace_get(struct kg_db *db, const char *ns,
		    uint64_t *id);

/*
 * Sign-in membership, inside the caller's transaction, which must not
 * have read rows before (kg_db_serialize): takes the namespace's serial
 * lock ("ns:<name>"), creates the namespace when missing and auto_create
 * is set (else KG_ERR_NOT_FOUND: 404 namespace_not_found); a wallet
 * already a member keeps its track; otherwise it joins at track 4 when
 * the namespace has no member (its owner; the lock serialises first
 * sign-ins) and at track 1 otherwise.  Sets *ns_id and *track, and
 * *joined to 1 when this call made the wallet a member (0 when it
 * already was one).  Returns KG_OK, KG_ERR_NOT_FOUND, or a KG_ERR_DB*
 * status.
 */
enum kg_err	kg_store_signin_member(struct kg_db *db, const char *ns,
		    int auto_create, const char *wallet, uint64_t *ns_id,
		    int *track, int *joined);

/* An app as listed. */
struct kg_app {
	uint64_t	ap_id;			/* row id: list order, cursor */
	char		ap_app_id[KG_APP_ID_MAX + 1];
	char		ap_name[256 * 4 + 1];	/* utf8mb4 */
	uint8_t		ap_public_key[65];
	char		ap_wallet[43];
	int64_t		ap_created_us;
};

/*
 * Registers an app in namespace ns_id: a fresh app_id ("app_" + 24
 * base62) written to app_id_out (KG_APP_ID_MAX + 1 bytes).  Returns KG_OK
 * or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_app_create(struct kg_db *db, uint64_t ns_id,
		    const char *name, const uint8_t pub65[65],
		    const char *wallet, char *app_id_out);

/*
 * Calls fn for up to limit apps of ns_id, newest first, with row ids
 * below before (0 = from the newest).  Returns KG_OK, fn's status, or a
 * KG_ERR_DB* status; *n receives the number of apps passed to fn.
 */
enum kg_err	kg_store_app_list(struct kg_db *db, uint64_t ns_id,
		    uint64_t before, size_t limit,
		    enum kg_err (*fn)(const struct kg_app *, void *), void *arg,
		    size_t *n);

#endif
