/*
 * jwt.h: keygate's access tokens, compact JWS (RFC 7515/7519) profiled as
 * RFC 9068 (typ "at+jwt"), signed with HS256, EdDSA (Ed25519, RFC 8037) or
 * RS256 (RFC 7518), as SPEC 5 describes.
 *
 * A worker loads its key set once (kg_jwt_keys_load) and keeps it: the
 * HMAC context, the fetched SHA-256 and one initialised signing/verifying
 * context per key are prepared there, so signing and verifying do no
 * EVP fetch and no key set-up per call.  A key set holds scratch contexts
 * and is therefore not for concurrent use by several threads (keygate's
 * workers are processes; give each thread its own key set if that changes).
 *
 * Verification is strict and pinned (RFC 8725): exactly three base64url
 * segments without padding, canonical encoding, the configured alg only,
 * typ at+jwt, a known kid for asymmetric keys, no header member other
 * than alg/typ/kid, and the claims checked only after the signature.
 */
#ifndef KG_JWT_H
#define KG_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/config.h"
#include "core/base/err.h"

/* Longest token accepted by kg_jwt_verify (and produced by kg_jwt_sign). */
#define KG_JWT_MAX		8192
/* Longest jwt_issuer / jwt_audience accepted at load, in bytes. */
#define KG_JWT_NAME_MAX		512
/* Most keys in jwt_key_file. */
#define KG_JWT_KEYS_MAX		16
/* A kid: base64url of a SHA-256 JWK thumbprint (RFC 7638). */
#define KG_JWT_KID_LEN		43
/* jti: 128 random bits as lower-case hex (SPEC 5). */
#define KG_JWT_JTI_LEN		32
/* Latest iat/nbf/exp accepted: 9999-12-31T23:59:59Z (RFC 3339's range). */
#define KG_JWT_TIME_MAX		INT64_C(253402300799)

/*
 * The claims keygate reads and writes.  iss and aud are not here: they
 * come from the configuration when signing and are checked, not stored,
 * when verifying.  Strings are NUL-terminated within their buffers; a
 * value that does not fit is refused, never truncated.
 */
struct kg_jwt_claims {
	char	jc_sub[128];	/* wallet address or "key:<id>"; not empty */
	char	jc_ns[64];	/* namespace; not empty */
	int	jc_track;	/* 1..4; 0 = none (not a wallet session) */
	char	jc_scope[1024];	/* space-separated scopes; may be empty */
	char	jc_jti[KG_JWT_JTI_LEN + 1];	/* 32 lower-case hex */
	char	jc_sid[64];	/* session family id; "" = none */
	int64_t	jc_iat;
	int64_t	jc_nbf;
	int64_t	jc_exp;
};

/* Why kg_jwt_verify refused a token.  All of them are 401 invalid_token. */
enum kg_jwt_fail {
	KG_JWT_MALFORMED = 0,	/* not three canonical base64url segments of JSON */
	KG_JWT_BAD_HEADER,	/* a header member other than alg, typ, kid */
	KG_JWT_BAD_ALG,		/* alg missing, "none", or not the configured one */
	KG_JWT_BAD_TYP,		/* typ missing or not at+jwt */
	KG_JWT_UNKNOWN_KID,	/* kid missing/unknown (asymmetric), present (HS256) */
	KG_JWT_BAD_SIGNATURE,
	KG_JWT_EXPIRED,		/* exp <= now - leeway */
	KG_JWT_NOT_YET_VALID,	/* nbf or iat > now + leeway */
	KG_JWT_BAD_ISS,
	KG_JWT_BAD_AUD,		/* not a string equal to jwt_audience */
	KG_JWT_BAD_CLAIMS,	/* payload not JSON, a claim missing or ill-typed */
	KG_JWT_FAIL__MAX	/* none: the token is valid */
};

struct kg_jwt_keys;

/*
 * Loads the key set cfg describes: for HS256 jwt_secret (at least 32
 * bytes); for EdDSA and RS256 every PEM key in jwt_key_file
 * (space-separated paths; the first must be a private key and signs, any
 * later one may be a private or a public key and only verifies).  A key
 * whose type does not match jwt_alg, an RSA key below 2048 or above 8192
 * bits, an encrypted key, a private key file others can read or write,
 * the same key twice, or an over-long jwt_issuer/jwt_audience is refused.
 * Returns KG_OK and a key set the caller frees with kg_jwt_keys_free, or
 * KG_ERR_CONFIG (KG_ERR_NOMEM, KG_ERR_INTERNAL) with a reason in err that
 * never contains key material; *out is then NULL.
 */
enum kg_err	 kg_jwt_keys_load(const struct kg_config *cfg,
		    struct kg_jwt_keys **out, char *err, size_t errlen);

/* Frees a key set, wiping the secret.  NULL is accepted. */
void		 kg_jwt_keys_free(struct kg_jwt_keys *);

/* Number of keys (0 for HS256) and the kid of key i (NULL if none). */
size_t		 kg_jwt_keys_count(const struct kg_jwt_keys *);
const char	*kg_jwt_keys_kid(const struct kg_jwt_keys *, size_t i);

/*
 * Signs c with the first key and appends the compact token to out:
 * header {"alg","typ":"at+jwt","kid"?}, claims iss, aud (a string), sub,
 * ns, track (when > 0), scope, jti, sid (when not empty), iat, nbf, exp.
 * Returns KG_OK; KG_ERR_INVALID when c breaks the rules kg_jwt_verify
 * applies (so keygate never mints a token it would refuse);
 * KG_ERR_TOO_LARGE past KG_JWT_MAX; KG_ERR_NOMEM or KG_ERR_INTERNAL.
 * On failure out is left as it was.  Allocates nothing but out's growth.
 */
enum kg_err	 kg_jwt_sign(struct kg_jwt_keys *, const struct kg_jwt_claims *c,
		    struct kg_buf *out);

/*
 * Verifies token[0..len) at time now (seconds since the epoch) with
 * leeway seconds of clock skew (negative counts as 0, more than an hour
 * as an hour): valid while
 * now < exp + leeway, nbf <= now + leeway and iat <= now + leeway.
 * Returns KG_OK and fills *out (and *why = KG_JWT_FAIL__MAX);
 * KG_ERR_INVALID with the reason in *why (why may be NULL) and *out
 * zeroed; or KG_ERR_INTERNAL/KG_ERR_NOMEM when the crypto library fails,
 * which is not the token's fault.  Does not allocate (OpenSSL's context
 * copy aside) and does not look at the revocation list: that is the
 * caller's next step.
 */
enum kg_err	 kg_jwt_verify(struct kg_jwt_keys *, const char *token,
		    size_t len, int64_t now, long leeway,
		    struct kg_jwt_claims *out, enum kg_jwt_fail *why);

/*
 * Appends the JSON Web Key Set of the public keys to out:
 * {"keys":[{"kty","crv"|"n","x"|"e","kid","alg","use":"sig"},...]};
 * {"keys":[]} for HS256.  Returns KG_OK or KG_ERR_NOMEM.
 */
enum kg_err	 kg_jwt_jwks(const struct kg_jwt_keys *, struct kg_buf *out);

/* Writes a fresh jti (32 lower-case hex + NUL).  KG_OK or KG_ERR_INTERNAL. */
enum kg_err	 kg_jwt_new_jti(char out[KG_JWT_JTI_LEN + 1]);

/* "malformed", "bad_alg", ... ("valid" for KG_JWT_FAIL__MAX); never NULL. */
const char	*kg_jwt_fail_str(enum kg_jwt_fail);

/* "HS256", "EdDSA", "RS256"; never NULL. */
const char	*kg_jwt_alg_name(enum kg_jwt_alg);

#endif
