/*
 * wallet.h: wallet sign-in handlers (SPEC 4): challenge, verify, apps.
 */
#ifndef KG_API_WALLET_H
#define KG_API_WALLET_H

#include <stdint.h>

#include "core/api/router.h"
#include "core/base/json.h"

struct kg_db;

/* POST /v1/auth/challenge (public). */
enum kg_err	kg_wallet_challenge(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* POST /v1/auth/verify (public). */
enum kg_err	kg_wallet_verify(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* POST /v1/apps (public, wallet-signed). */
enum kg_err	kg_wallet_app_create(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* GET /v1/apps (scope admin: track 3/4 sessions, org tokens, admin). */
enum kg_err	kg_wallet_app_list(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);

/* What a signed body proved, for the callback of kg_wallet_signed_run. */
struct kg_wallet_signed {
	const char		*ws_ns;		/* namespace name */
	uint64_t		 ws_ns_id;
	const char		*ws_wallet;	/* lower-case 0x... */
	int			 ws_track;	/* the wallet's track there */
	const struct kg_jval	*ws_extra;	/* the caller's own members */
};

typedef enum kg_err (*kg_wallet_signed_fn)(struct kg_db *,
    const struct kg_wallet_signed *, void *arg);

/* Members a caller may add after verify's five. */
#define KG_WALLET_EXTRA_MAX	8

/*
 * A body signed like verify's (SPEC 4) for another module's route
 * (POST /v1/auth/api-key).  fields starts with verify's members in its
 * order (wallet, nonce, signature, namespace, message; the same flags),
 * then at most KG_WALLET_EXTRA_MAX of the caller's own.  Checks the body
 * and signature as verify does (the client address's rate bucket), then
 * in one transaction consumes the nonce, enrols the wallet as verify
 * does (auto-created namespace, first member track 4) and runs fn, whose
 * ws_extra holds the caller's members' values.  fn failing rolls all of
 * it back, the nonce included (kg_db_txn may also run fn again: keep
 * its effects in the database).  Returns KG_OK with *done 1 when resp
 * holds a refusal of this layer (invalid_nonce, invalid_signature, ...),
 * KG_OK with *done 0 when fn committed, or fn's (or the database's)
 * status with *done 0.
 */
enum kg_err	kg_wallet_signed_run(struct kg_ctx *, const struct kg_request *,
		    const struct kg_jfield *fields, kg_wallet_signed_fn fn,
		    void *arg, struct kg_response *resp, int *done);

#endif
