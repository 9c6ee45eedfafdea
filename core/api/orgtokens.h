/*
 * orgtokens.h: org tokens (SPEC 8).
 *
 * An org token is a namespace-wide admin bearer token (kg_ot_...).  Its
 * principal: method KG_METHOD_ORG_TOKEN, the token's namespace, scopes
 * "admin" (never operator.write), subject "org:<id8>", pr_key_prefix
 * the id8.  Unknown and revoked tokens are refused alike (SPEC 8, 12).
 */
#ifndef KG_API_ORGTOKENS_H
#define KG_API_ORGTOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "core/api/authn.h"
#include "core/api/router.h"

struct kg_db;
struct kg_orgtoken;

/* POST /v1/namespaces/{ns}/org-tokens (namespace admin). */
enum kg_err	kg_orgtokens_create(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* GET /v1/namespaces/{ns}/org-tokens (namespace admin). */
enum kg_err	kg_orgtokens_list(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* DELETE /v1/namespaces/{ns}/org-tokens/{id} (namespace admin). */
enum kg_err	kg_orgtokens_revoke(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);

/*
 * Mints an org token of namespace ns_id (name NULL or checked, by its
 * created_by) into token (KG_TOKEN_MAX bytes, the caller wipes it) and
 * its row into *out, minting again when id8 or hash collides (inside
 * the caller's transaction or alone).  No audit row: the caller writes
 * it.  KG_OK, or a KG_ERR_* status.
 */
enum kg_err	kg_orgtoken_mint(struct kg_db *, const char *prefix,
		    uint64_t ns_id, const char *name, const char *by,
		    char *token, struct kg_orgtoken *out);

/*
 * Finds the row of org token token[0..len), whatever its state (the
 * one code path of authentication and introspection): KG_OK and *out
 * (ot_revoked_us != 0 when revoked), KG_ERR_INVALID when it is not an
 * org token of this service's token_prefix or its checksum fails (no
 * query is made), KG_ERR_NOT_FOUND, or a KG_ERR_DB* status.
 */
enum kg_err	kg_orgtoken_find(struct kg_ctx *, const char *token,
		    size_t len, struct kg_orgtoken *out);

/*
 * Authenticates an org token (kg_ot_...) token[0..len) into *pr
 * (kg_authn calls it when the shape says <prefix>_ot_): KG_AUTHN_OK, or
 * KG_AUTHN_REFUSED with resp filled (401 invalid_token, the same for
 * unknown and revoked, or 503 when the database cannot tell: never a
 * grant).
 */
enum kg_authn_result	kg_orgtoken_authn(struct kg_ctx *, const char *token,
			    size_t len, struct kg_principal *pr,
			    struct kg_response *resp);

#endif
