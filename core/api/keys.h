/*
 * keys.h: API keys (SPEC 6), the wallet-minted key (SPEC 4), token
 * exchange and introspection (SPEC 5).
 */
#ifndef KG_API_KEYS_H
#define KG_API_KEYS_H

#include "core/api/router.h"
#include "core/base/config.h"
#include "core/crypto/token.h"
#include "core/store/apikey.h"

/*
 * 1 when scope may be held by an API key: one of config "scopes" or the
 * built-ins (keys:read keys:write admin introspect); never
 * operator.write (SPEC 2).  Shared with keygate-admin.
 */
int		kg_keys_scope_known(const struct kg_config *, const char *scope);

/*
 * Seconds of an expiry preset ("30d", "60d", "90d", "1y"; "never" is 0),
 * or -1 for anything else.
 */
long		kg_keys_expiry(const char *preset);

/*
 * Mints a key of kn (its kn_id8 and kn_hash are ignored) with a fresh
 * "<prefix>_sk_" secret, minting again when it collides, and reads it
 * back into *out.  The secret is left in secret, which the caller wipes.
 * Returns KG_OK, or kg_store_apikey_create's status (KG_ERR_CONFLICT
 * after MINT_TRIES collisions), or the minting's.  Shared with
 * keygate-admin.
 */
enum kg_err	kg_keys_mint(struct kg_db *, const char *prefix,
		    const struct kg_apikey_new *kn, char secret[KG_TOKEN_MAX],
		    struct kg_apikey *out);

/* POST /v1/keys (keys:write). */
enum kg_err	kg_keys_create(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* GET /v1/keys (keys:read). */
enum kg_err	kg_keys_list(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* GET /v1/keys/{id} (keys:read). */
enum kg_err	kg_keys_get(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* DELETE /v1/keys/{id} (keys:write). */
enum kg_err	kg_keys_revoke(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* POST /v1/auth/api-key (public, wallet-signed). */
enum kg_err	kg_keys_wallet_mint(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* POST /v1/auth/token (an API key). */
enum kg_err	kg_keys_token(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* POST /v1/auth/introspect (introspect or admin). */
enum kg_err	kg_keys_introspect(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);

#endif
