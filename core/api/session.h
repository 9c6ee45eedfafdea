/*
 * session.h: sessions of SPEC 5: minting access and refresh tokens,
 * rotation, logout, revocation, whoami, JWKS.
 */
#ifndef KG_SESSION_H
#define KG_SESSION_H

#include <stdint.h>

#include "core/api/authn.h"
#include "core/api/router.h"
#include "core/base/buf.h"
#include "core/crypto/jwt.h"
#include "core/crypto/token.h"

struct kg_db;

struct kg_session_tokens {
	struct kg_buf	st_access;		/* the signed access token */
	char		st_refresh[KG_TOKEN_MAX]; /* kg_rt_..., plaintext once */
	long		st_expires_in;		/* access token, seconds */
	long		st_refresh_expires_in;	/* refresh token, seconds */
};

/*
 * Inside the caller's transaction on db: creates a session family for
 * subject (a lower-case wallet) in namespace ns (id ns_id) at track, its
 * first refresh token (only its SHA-256 stored), and signs an access token
 * with a fresh jti.  TTLs follow SPEC 5 (access: min(access_ttl, track
 * ceiling), never past the family's session_max_age; refresh:
 * refresh_ttl, never past session_max_age either).  The caller
 * frees st_access with kg_buf_free and wipes st_refresh.  out must be
 * zeroed before the first call; calling again with the same out (a
 * retried transaction) replaces its contents without leaking.  Returns
 * KG_OK, KG_ERR_INVALID for a track outside 1-4, or a KG_ERR_DB* status
 * (or KG_ERR_INTERNAL) on which the caller rolls back.
 */
enum kg_err	kg_session_start(struct kg_ctx *, struct kg_db *db,
		    uint64_t ns_id, const char *ns, const char *subject,
		    int track, struct kg_session_tokens *out);

/*
 * Access-token TTL in seconds for track (0 = not a wallet session):
 * min(access_ttl, the track's ceiling).
 */
long		kg_session_access_ttl(const struct kg_config *, int track);

/*
 * Signs an access token without a session family (no sid, no track) for
 * subject "key:<id8>" in namespace ns with scope (POST /v1/auth/token):
 * fresh jti, TTL access_ttl, capped at cap seconds when cap > 0 (the
 * key's time left).  out is reset first; *ttl and *exp are filled.
 * Returns KG_OK, KG_ERR_NOMEM or KG_ERR_INTERNAL (logged).
 */
enum kg_err	kg_session_sign_key(struct kg_ctx *, const char *ns,
		    const char *subject, const char *scope, long cap,
		    struct kg_buf *out, long *ttl, int64_t *exp);

/*
 * Reads the token of an RFC 7009 / RFC 7662 request body, form-encoded
 * (token, token_type_hint; other keys ignored) or JSON ({token,
 * token_type_hint}, nothing else).  A form-encoded token is decoded into
 * form, which the caller wipes.  Returns KG_OK with *tok set (pointing
 * into form or ctx->json); KG_OK with *tok NULL and resp filled (400);
 * KG_ERR_TOO_LARGE when the JSON token is too long to be one of ours;
 * KG_ERR_INVALID when the form-encoded one is malformed, repeated or
 * too long; KG_ERR_NOMEM.
 */
enum kg_err	kg_session_token_body(struct kg_ctx *,
		    const struct kg_request *, char form[KG_JWT_MAX + 1],
		    const char **tok, struct kg_response *);

/*
 * Validates a compact JWT access token token[0..len): signature, iss,
 * aud, typ, nbf/exp with clock_leeway at ctx->now, then the revocation
 * state (jti, family sid, subject logout) in one query.  Returns KG_OK
 * with *pr filled (method JWT) and *revoked 0 or 1 (a revoked token's
 * signature and expiry are valid: logout needs to know that);
 * KG_ERR_INVALID for a token that fails verification (*pr zeroed);
 * a KG_ERR_DB* status when the revocation state cannot be read (fail
 * closed: the caller answers 503, *revoked is 1); KG_ERR_INTERNAL when
 * the crypto library fails.
 */
enum kg_err	kg_session_jwt_check(struct kg_ctx *, const char *token,
		    size_t len, struct kg_principal *pr, int *revoked);

/*
 * POST /v1/auth/refresh (public): refresh-token or access-token rotation.
 * Either way the new access token is signed inside the transaction that
 * consumes the old credential: a signing failure (500) consumes nothing.
 */
enum kg_err	kg_session_refresh(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* POST /v1/auth/logout: authenticates the credential it ends itself. */
enum kg_err	kg_session_logout(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* POST /v1/auth/revoke (public, RFC 7009). */
enum kg_err	kg_session_revoke(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* GET /v1/auth/whoami (optional credential). */
enum kg_err	kg_session_whoami(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* GET /.well-known/jwks.json (public). */
enum kg_err	kg_session_jwks(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);

#endif
