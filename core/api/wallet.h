/*
 * wallet.h: wallet sign-in handlers (SPEC 4): challenge, verify, apps.
 */
#ifndef KG_API_WALLET_H
#define KG_API_WALLET_H

#include "core/api/router.h"

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

#endif
