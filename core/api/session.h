/*
 * session.h: sessions of SPEC 5: minting access and refresh tokens,
 * rotation, logout, revocation, whoami, JWKS.
 */
#ifndef KG_SESSION_H
#define KG_SESSION_H

#include <stdint.h>

#include "core/api/router.h"
#include "core/base/buf.h"
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
 * ceiling); refresh: refresh_ttl, never past session_max_age).  The caller
 * frees st_access with kg_buf_free and wipes st_refresh.
 */
enum kg_err	kg_session_start(struct kg_ctx *, struct kg_db *db,
		    uint64_t ns_id, const char *ns, const char *subject,
		    int track, struct kg_session_tokens *out);

#endif
