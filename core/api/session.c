/*
 * session.c: sessions of SPEC 5: minting access and refresh tokens,
 * refresh-token and access-token rotation, logout, RFC 7009 revocation,
 * whoami and the JWKS.  The SQL lives in core/store/session.c.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/api/authn.h"
#include "core/api/ratelimit.h"
#include "core/api/session.h"
#include "core/base/log.h"
#include "core/base/timefmt.h"
#include "core/crypto/jwt.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/store/session.h"

/* How often a freshly minted refresh token may collide before giving up. */
#define MINT_TRIES	3

long
kg_session_access_ttl(const struct kg_config *cfg, int track)
{
	long	ttl = cfg->access_ttl;

	if (track >= 1 && track <= KG_TRACKS && cfg->track_ttl[track - 1] > 0 &&
	    cfg->track_ttl[track - 1] < ttl)
		ttl = cfg->track_ttl[track - 1];
	return ttl;
}

/*
 * Signs a new access token (fresh jti) into out (reset first) and fills
 * *ttl and *exp; cap (> 0) is the session family's time left.  Returns
 * KG_OK, KG_ERR_NOMEM, or KG_ERR_INTERNAL when the claims cannot be
 * signed (logged): never the caller's input, so a 500.  Callers sign
 * inside the transaction that consumed the old credential, so such a
 * failure rolls the consumption back and the client may simply retry.
 */
static enum kg_err
sign_access(struct kg_ctx *ctx, const char *ns, const char *subject,
    int track, const char *scope, const char *sid, long cap,
    struct kg_buf *out, long *ttl, int64_t *exp)
{
	struct kg_jwt_claims	c;
	enum kg_err		r;

	memset(&c, 0, sizeof(c));
	kg_buf_reset(out);
	if (strlen(subject) >= sizeof(c.jc_sub) || strlen(ns) >= sizeof(c.jc_ns) ||
	    strlen(scope) >= sizeof(c.jc_scope) || strlen(sid) >= sizeof(c.jc_sid)) {
		kg_log_error("access token claims too long to sign");
		return KG_ERR_INTERNAL;
	}
	strcpy(c.jc_sub, subject);
	strcpy(c.jc_ns, ns);
	strcpy(c.jc_scope, scope);
	strcpy(c.jc_sid, sid);
	c.jc_track = track;
	if ((r = kg_jwt_new_jti(c.jc_jti)) != KG_OK)
		return r;
	*ttl = kg_session_access_ttl(ctx->cfg, track);
	if (cap > 0 && cap < *ttl)
		*ttl = cap;
	c.jc_iat = c.jc_nbf = kg_ctx_now_sec(ctx);
	c.jc_exp = c.jc_iat + *ttl;
	*exp = c.jc_exp;
	if ((r = kg_jwt_sign(ctx->jwt, &c, out)) != KG_OK &&
	    r != KG_ERR_NOMEM) {
		kg_log_error("access token not signed: %s", kg_strerror(r));
		r = KG_ERR_INTERNAL;
	}
	return r;
}

enum kg_err
kg_session_sign_key(struct kg_ctx *ctx, const char *ns, const char *subject,
    const char *scope, long cap, struct kg_buf *out, long *ttl, int64_t *exp)
{
	return sign_access(ctx, ns, subject, 0, scope, "", cap, out, ttl, exp);
}

static const char *
track_scope(const struct kg_config *cfg, int track)
{
	if (track < 1 || track > KG_TRACKS || cfg->track_scopes[track - 1] == NULL)
		return "";
	return cfg->track_scopes[track - 1];
}

enum kg_err
kg_session_start(struct kg_ctx *ctx, struct kg_db *db, uint64_t ns_id,
    const char *ns, const char *subject, int track,
    struct kg_session_tokens *out)
{
	char		sid[KG_SESSION_SID_LEN + 1], id8[KG_TOKEN_ID_LEN + 1];
	int64_t		exp;
	long		left = 0;
	enum kg_err	r;
	int		i;

	kg_buf_reset(&out->st_access);
	OPENSSL_cleanse(out->st_refresh, sizeof(out->st_refresh));
	out->st_expires_in = out->st_refresh_expires_in = 0;
	if (track < 1 || track > KG_TRACKS)
		return KG_ERR_INVALID;
	if ((r = kg_store_family_create(db, ns_id, subject, track,
	    ctx->cfg->session_max_age, sid)) != KG_OK)
		goto out;
	for (i = 0, r = KG_ERR_CONFLICT; i < MINT_TRIES &&
	    r == KG_ERR_CONFLICT; i++) {
		if ((r = kg_token_mint(ctx->cfg->token_prefix, "rt",
		    out->st_refresh, id8)) != KG_OK)
			goto out;
		r = kg_store_refresh_insert(db, sid, out->st_refresh, id8,
		    ctx->cfg->refresh_ttl, &out->st_refresh_expires_in, &left);
	}
	if (r != KG_OK)
		goto out;
	/*
	 * The access token must not outlive its family (SPEC 5:
	 * session_max_age).  The family, not the refresh token, is the
	 * bound: refresh_ttl below access_ttl must not shorten access tokens
	 * below min(access_ttl, track ceiling).
	 */
	r = sign_access(ctx, ns, subject, track, track_scope(ctx->cfg, track),
	    sid, left, &out->st_access, &out->st_expires_in, &exp);
out:
	if (r != KG_OK) {
		kg_buf_reset(&out->st_access);
		OPENSSL_cleanse(out->st_refresh, sizeof(out->st_refresh));
	}
	return r;
}

enum kg_err
kg_session_jwt_check(struct kg_ctx *ctx, const char *token, size_t len,
    struct kg_principal *pr, int *revoked)
{
	struct kg_jwt_claims	c;
	enum kg_jwt_fail	why;
	enum kg_err		r;

	memset(pr, 0, sizeof(*pr));
	*revoked = 1;
	/* No key set (a context without one): no token can be valid. */
	if (ctx->jwt == NULL)
		return KG_ERR_INVALID;
	if ((r = kg_jwt_verify(ctx->jwt, token, len, kg_ctx_now_sec(ctx),
	    ctx->cfg->clock_leeway, &c, &why)) != KG_OK) {
		if (r == KG_ERR_INVALID)
			kg_log_debug("access token refused: %s",
			    kg_jwt_fail_str(why));
		return r;
	}
	pr->pr_method = KG_METHOD_JWT;
	/* The claim buffers are the principal's sizes (both from SPEC 5). */
	memcpy(pr->pr_subject, c.jc_sub, sizeof(pr->pr_subject));
	memcpy(pr->pr_ns, c.jc_ns, sizeof(pr->pr_ns));
	memcpy(pr->pr_scopes, c.jc_scope, sizeof(pr->pr_scopes));
	memcpy(pr->pr_jti, c.jc_jti, sizeof(pr->pr_jti));
	memcpy(pr->pr_sid, c.jc_sid, sizeof(pr->pr_sid));
	pr->pr_track = c.jc_track;
	pr->pr_expires_at = c.jc_exp;
	pr->pr_iat = c.jc_iat;
	return kg_store_token_revoked(ctx->db, c.jc_jti, c.jc_sid, c.jc_ns,
	    c.jc_sub, c.jc_iat, revoked);
}

/* ------------------------------------------------------------ helpers */

static enum kg_err
status_ok(struct kg_response *resp)
{
	return kg_resp_json(resp, 200, "{\"status\":\"ok\"}");
}

/* A refresh token of this service: right shape, checksum, prefix, type. */
static int
is_refresh(const struct kg_config *cfg, const char *t)
{
	struct kg_token	tk;

	return kg_token_parse(t, &tk) == KG_OK &&
	    strcmp(tk.tk_type, "rt") == 0 &&
	    strcmp(tk.tk_prefix, cfg->token_prefix) == 0;
}

static void
session_audit(struct kg_ctx *ctx, const struct kg_request *req,
    const char *ns, const char *subject, const char *action,
    const char *target, const char *outcome)
{
	struct kg_audit	a;

	memset(&a, 0, sizeof(a));
	a.au_namespace = ns;
	a.au_actor_type = strncmp(subject, "key:", 4) == 0 ? "api_key" :
	    "wallet";
	a.au_actor = subject;
	a.au_action = action;
	a.au_target = target;
	a.au_remote_addr = req->remote_addr;
	a.au_outcome = outcome;
	/* The revocation took effect; a lost audit row is logged, not fatal. */
	if (kg_store_audit(ctx->db, &a) != KG_OK)
		kg_log_warn("audit event %s not recorded", action);
}

/* Puts the principal's jti on the revocation list with reason. */
static enum kg_err
revoke_jti(struct kg_db *db, const struct kg_principal *pr,
    const char *reason, int *inserted)
{
	struct kg_jti_revocation	jr;

	memset(&jr, 0, sizeof(jr));
	jr.jr_jti = pr->pr_jti;
	jr.jr_subject = pr->pr_subject;
	jr.jr_ns = pr->pr_ns;
	jr.jr_track = pr->pr_track;
	jr.jr_expires_at = pr->pr_expires_at;
	jr.jr_reason = reason;
	return kg_store_jti_revoke(db, &jr, inserted);
}

/* ------------------------------------------------------------ refresh */

/* Refresh-token rotation: the store's step and the signing, one txn. */
struct refresh_txn {
	struct kg_ctx			*rt_ctx;
	const char			*rt_presented;
	const char			*rt_next;
	const char			*rt_next_id8;
	const char			*rt_remote;
	enum kg_rotate			 rt_res;
	struct kg_session_family	 rt_fam;
	long				 rt_rexp;	/* new refresh token */
	struct kg_buf			 rt_at;		/* new access token */
	long				 rt_ttl;
};

/*
 * Signing happens before COMMIT: if it fails the rollback leaves the
 * presented refresh token unused, so the client's retry is not reuse
 * (which would revoke the family).  Safe to re-run (kg_db_txn).
 */
static enum kg_err
refresh_txn_fn(struct kg_db *db, void *arg)
{
	struct refresh_txn	*t = arg;
	long			 left = 0;
	int64_t			 exp;
	enum kg_err		 r;

	kg_buf_reset(&t->rt_at);
	t->rt_ttl = 0;
	if ((r = kg_store_refresh_rotate_in(db, t->rt_presented, t->rt_next,
	    t->rt_next_id8, t->rt_ctx->cfg->refresh_ttl, t->rt_remote,
	    &t->rt_res, &t->rt_fam, &t->rt_rexp, &left)) != KG_OK)
		return r;
	/* Reuse (the family revoked) and invalid tokens commit as they are. */
	if (t->rt_res != KG_ROTATE_OK)
		return KG_OK;
	/*
	 * Capped like at sign-in: never past the family's session_max_age
	 * (the family's time left, not the new refresh token's: SPEC 5).
	 */
	return sign_access(t->rt_ctx, t->rt_fam.sf_ns, t->rt_fam.sf_subject,
	    t->rt_fam.sf_track, track_scope(t->rt_ctx->cfg, t->rt_fam.sf_track),
	    t->rt_fam.sf_id, left, &t->rt_at, &t->rt_ttl, &exp);
}

static enum kg_err
refresh_rotation(struct kg_ctx *ctx, const struct kg_request *req,
    const char *token, struct kg_response *resp)
{
	struct refresh_txn	 t;
	char			 next[KG_TOKEN_MAX], id8[KG_TOKEN_ID_LEN + 1];
	enum kg_err		 r;
	int			 i;

	memset(next, 0, sizeof(next));
	memset(&t, 0, sizeof(t));
	t.rt_ctx = ctx;
	t.rt_presented = token;
	t.rt_next = next;
	t.rt_next_id8 = id8;
	t.rt_remote = req->remote_addr;
	t.rt_res = KG_ROTATE_INVALID;
	/* A malformed token is refused without any query (SPEC 3). */
	if (!is_refresh(ctx->cfg, token)) {
		kg_resp_error(resp, 401, "invalid_refresh_token",
		    "The refresh token is not valid.");
		r = KG_OK;
		goto out;
	}
	for (i = 0, r = KG_ERR_CONFLICT; i < MINT_TRIES &&
	    r == KG_ERR_CONFLICT; i++) {
		if ((r = kg_token_mint(ctx->cfg->token_prefix, "rt", next,
		    id8)) != KG_OK)
			goto out;
		r = kg_db_txn(ctx->db, refresh_txn_fn, &t);
	}
	if (r != KG_OK)
		goto out;
	if (t.rt_res == KG_ROTATE_REUSED) {
		kg_log_warn("refresh token reuse: family %.8s revoked",
		    t.rt_fam.sf_id);
		kg_resp_error(resp, 401, "refresh_token_reused",
		    "The refresh token was already used; the session is "
		    "revoked.");
		goto out;
	}
	if (t.rt_res != KG_ROTATE_OK) {
		kg_resp_error(resp, 401, "invalid_refresh_token",
		    "The refresh token is not valid.");
		goto out;
	}
	kg_resp_json_begin(resp, 200);
	resp->no_store = 1;
	if ((r = kg_buf_puts(&resp->body, "{\"access_token\":\"")) != KG_OK ||
	    (r = kg_buf_json_str(&resp->body, kg_buf_str(&t.rt_at))) != KG_OK ||
	    (r = kg_buf_printf(&resp->body, "\",\"token_type\":\"Bearer\","
	    "\"expires_in\":%ld,\"refresh_token\":\"", t.rt_ttl)) != KG_OK ||
	    (r = kg_buf_json_str(&resp->body, next)) != KG_OK ||
	    (r = kg_buf_printf(&resp->body, "\",\"refresh_expires_in\":%ld}",
	    t.rt_rexp)) != KG_OK)
		goto out;
out:
	OPENSSL_cleanse(next, sizeof(next));
	kg_buf_free(&t.rt_at);
	return r;
}

/* What access-token rotation decided inside its transaction. */
enum access_outcome {
	AO_OK = 0,	/* rotated: at_at holds the new token */
	AO_ENDED,	/* the family is revoked or past session_max_age */
	AO_REMOVED,	/* the subject left the namespace: family revoked now */
	AO_REVOKED,	/* a concurrent rotation revoked the jti first */
	AO__MAX
};

struct access_txn {
	struct kg_ctx			*at_ctx;
	const struct kg_principal	*at_pr;
	enum access_outcome		 at_out;
	struct kg_buf			 at_at;
	long				 at_ttl;
	int				 at_track;	/* of the new token */
};

/*
 * Family check (time left and the member's current track, one query),
 * the old jti's revocation and the signing, all or nothing: a signing
 * failure rolls the revocation back.  Safe to re-run (kg_db_txn).
 */
static enum kg_err
access_txn_fn(struct kg_db *db, void *arg)
{
	struct access_txn		*t = arg;
	const struct kg_principal	*pr = t->at_pr;
	const char			*scope = pr->pr_scopes;
	long				 left = 0;
	int64_t				 exp;
	int				 cur = 0, inserted = 0;
	enum kg_err			 r;

	kg_buf_reset(&t->at_at);
	t->at_ttl = 0;
	t->at_out = AO__MAX;
	t->at_track = pr->pr_track;
	r = kg_store_family_left(db, pr->pr_sid, &left, &cur);
	if (r == KG_ERR_NOT_FOUND) {
		t->at_out = AO_ENDED;
		return KG_OK;
	}
	if (r != KG_OK)
		return r;
	if (cur < 1) {
		/* As refresh-token rotation does: the session ends here. */
		t->at_out = AO_REMOVED;
		return kg_store_family_revoke(db, pr->pr_sid, "member_removed");
	}
	/*
	 * SPEC 5 says "same subject/namespace/track", but a rotation never
	 * keeps a privilege the member has lost, nor grants one: the new
	 * token carries min(token's track, current track), and after a
	 * demotion the current track's scopes.  (A promotion takes effect
	 * at the next sign-in.)
	 */
	if (cur < pr->pr_track) {
		t->at_track = cur;
		scope = track_scope(t->at_ctx->cfg, cur);
	}
	/* The insert decides a race between two rotations of one token. */
	if ((r = revoke_jti(db, pr, "refresh", &inserted)) != KG_OK)
		return r;
	if (!inserted) {
		t->at_out = AO_REVOKED;
		return KG_OK;
	}
	/* The new token ends with its family at the latest. */
	if ((r = sign_access(t->at_ctx, pr->pr_ns, pr->pr_subject, t->at_track,
	    scope, pr->pr_sid, left, &t->at_at, &t->at_ttl, &exp)) != KG_OK)
		return r;
	t->at_out = AO_OK;
	return KG_OK;
}

static enum kg_err
access_rotation(struct kg_ctx *ctx, const struct kg_request *req,
    struct kg_response *resp)
{
	struct kg_principal	 pr;
	struct access_txn	 t;
	enum kg_err		 r = KG_OK;

	memset(&t, 0, sizeof(t));
	switch (kg_authn(ctx, req, &pr, resp)) {
	case KG_AUTHN_REFUSED:
		goto out;
	case KG_AUTHN_NONE:
		kg_resp_error(resp, 400, "invalid_request",
		    "refresh_token is required (or a Bearer access token).");
		goto out;
	case KG_AUTHN_OK:
		break;
	}
	if (pr.pr_method != KG_METHOD_JWT) {
		kg_resp_error(resp, 401, "invalid_token",
		    "Only an access token can be rotated.");
		goto out;
	}
	/*
	 * Without a session family nothing bounds the chain (no
	 * session_max_age, no membership check): such a token (e.g. one
	 * minted from an API key) is not rotated; its holder gets a new
	 * one from where it got this one.
	 */
	if (pr.pr_sid[0] == '\0') {
		kg_resp_error(resp, 401, "invalid_token",
		    "This access token has no session and cannot be rotated.");
		goto out;
	}
	t.at_ctx = ctx;
	t.at_pr = &pr;
	if ((r = kg_db_txn(ctx->db, access_txn_fn, &t)) != KG_OK)
		goto out;
	switch (t.at_out) {
	case AO_OK:
		break;
	case AO_REMOVED:
		session_audit(ctx, req, pr.pr_ns, pr.pr_subject,
		    "token_refresh", pr.pr_sid, "denied");
		/* FALLTHROUGH */
	case AO_ENDED:
		kg_resp_error(resp, 401, "invalid_token",
		    "The session has ended; sign in again.");
		goto out;
	case AO_REVOKED:
		kg_resp_error(resp, 401, "token_revoked",
		    "The access token has been revoked.");
		goto out;
	case AO__MAX:
		r = KG_ERR_INTERNAL;
		goto out;
	}
	kg_resp_json_begin(resp, 200);
	resp->no_store = 1;
	if ((r = kg_buf_puts(&resp->body, "{\"access_token\":\"")) != KG_OK ||
	    (r = kg_buf_json_str(&resp->body, kg_buf_str(&t.at_at))) != KG_OK ||
	    (r = kg_buf_printf(&resp->body, "\",\"token_type\":\"Bearer\","
	    "\"expires_in\":%ld}", t.at_ttl)) != KG_OK)
		goto out;
	session_audit(ctx, req, pr.pr_ns, pr.pr_subject, "token_refresh",
	    pr.pr_sid, "ok");
out:
	kg_buf_free(&t.at_at);
	return r;
}

enum kg_err
kg_session_refresh(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *unused,
    struct kg_response *resp)
{
	static const struct kg_jfield fields[] = {
		{ "refresh_token", KG_JT_STRING, KG_JF_REQUIRED, 1,
		    KG_TOKEN_MAX - 1 },
		{ NULL, KG_JT__MAX, 0, 0, 0 }
	};
	struct kg_jval		 v[1];
	const char		*bad = NULL;
	enum kg_json_status	 js;
	enum kg_err		 r;
	long			 retry = 0;
	int			 allowed = 0;

	/* SPEC 12: refresh shares the client address's bucket. */
	if ((r = kg_rate_take(ctx, KG_RATE_ADDR, req->remote_addr != NULL ?
	    req->remote_addr : "", &allowed, &retry)) != KG_OK)
		return r;
	if (!allowed) {
		kg_rate_refuse(resp, retry);
		return KG_OK;
	}
	if (req->body_len == 0)
		return access_rotation(ctx, req, resp);
	memset(v, 0, sizeof(v));
	if ((js = kg_json_parse(&ctx->json, req->body, req->body_len, fields,
	    v, &bad)) != KG_JSON_OK) {
		/* An over-long token is just not a valid refresh token. */
		if (js == KG_JSON_BAD_FIELD && bad != NULL &&
		    strcmp(bad, "refresh_token") == 0 && v[0].jv_present) {
			kg_resp_error(resp, 401, "invalid_refresh_token",
			    "The refresh token is not valid.");
			return KG_OK;
		}
		return kg_resp_json_refused(resp, js, bad);
	}
	return refresh_rotation(ctx, req, v[0].jv_str, resp);
}

/* ------------------------------------------------------------ logout */

enum kg_err
kg_session_logout(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *unused,
    struct kg_response *resp)
{
	static const struct kg_jfield fields[] = {
		{ "refresh_token", KG_JT_STRING, KG_JF_NULLABLE, 1, 1024 },
		{ "all", KG_JT_BOOL, KG_JF_NULLABLE, 0, 0 },
		{ NULL, KG_JT__MAX, 0, 0, 0 }
	};
	struct kg_jval			 v[2];
	struct kg_principal		 pr;
	struct kg_session_family	 fam;
	const char			*bad = NULL, *tok, *rt = NULL;
	enum kg_json_status		 js;
	enum kg_err			 r;
	int				 badhdr, revoked = 0, all = 0;
	size_t				 toklen = 0;

	memset(v, 0, sizeof(v));
	memset(&pr, 0, sizeof(pr));
	if (req->body_len > 0) {
		if ((js = kg_json_parse(&ctx->json, req->body, req->body_len,
		    fields, v, &bad)) != KG_JSON_OK)
			return kg_resp_json_refused(resp, js, bad);
		rt = v[0].jv_present ? v[0].jv_str : NULL;
		all = v[1].jv_present && v[1].jv_bool;
	}
	tok = kg_authn_credential(req, &toklen, &badhdr);
	if (badhdr) {
		kg_resp_error(resp, 401, "invalid_token",
		    "The Authorization header is not a supported credential.");
		return KG_OK;
	}
	if (tok == NULL && rt == NULL) {
		kg_resp_error(resp, 401, "unauthenticated",
		    "An access token or a refresh token is required.");
		return KG_OK;
	}
	if (tok == NULL && all) {
		kg_resp_error(resp, 401, "unauthenticated",
		    "Logging out everywhere needs a Bearer access token.");
		return KG_OK;
	}
	if (tok != NULL) {
		/*
		 * Idempotent: an already revoked token logs out again, as
		 * long as its signature and expiry are valid.
		 */
		if (!kg_authn_jwt_shape(tok, toklen)) {
			kg_resp_error(resp, 401, "invalid_token",
			    "Only an access token or a refresh token can be "
			    "logged out.");
			return KG_OK;
		}
		r = kg_session_jwt_check(ctx, tok, toklen, &pr, &revoked);
		if (r == KG_ERR_INVALID) {
			kg_resp_error(resp, 401, "invalid_token",
			    "The access token is not valid.");
			return KG_OK;
		}
		if (r != KG_OK)
			return r;
	}
	if (rt != NULL) {
		if (!is_refresh(ctx->cfg, rt)) {
			kg_resp_error(resp, 401, "invalid_refresh_token",
			    "The refresh token is not valid.");
			return KG_OK;
		}
		r = kg_store_family_revoke_by_refresh(ctx->db, rt, "logout",
		    &fam);
		if (r == KG_ERR_NOT_FOUND) {
			kg_resp_error(resp, 401, "invalid_refresh_token",
			    "The refresh token is not valid.");
			return KG_OK;
		}
		if (r != KG_OK)
			return r;
		session_audit(ctx, req, fam.sf_ns, fam.sf_subject, "logout",
		    fam.sf_id, "ok");
	}
	if (tok != NULL) {
		if ((r = revoke_jti(ctx->db, &pr, "logout", NULL)) != KG_OK)
			return r;
		if (all) {
			if ((r = kg_store_subject_logout(ctx->db, pr.pr_ns,
			    pr.pr_subject, NULL)) != KG_OK)
				return r;
			session_audit(ctx, req, pr.pr_ns, pr.pr_subject,
			    "logout_all", NULL, "ok");
		} else
			session_audit(ctx, req, pr.pr_ns, pr.pr_subject,
			    "logout", pr.pr_sid[0] != '\0' ? pr.pr_sid : NULL,
			    "ok");
	}
	return status_ok(resp);
}

/* ------------------------------------------------------------ revoke */

static int
is_form(const char *ct)
{
	return ct != NULL && strncasecmp(ct,
	    "application/x-www-form-urlencoded", 33) == 0 &&
	    (ct[33] == '\0' || ct[33] == ';' || ct[33] == ' ');
}

static enum kg_err
token_required(struct kg_response *resp)
{
	kg_resp_error(resp, 400, "invalid_request", "token is required.");
	return KG_OK;
}

enum kg_err
kg_session_token_body(struct kg_ctx *ctx, const struct kg_request *req,
    char form[KG_JWT_MAX + 1], const char **tok, struct kg_response *resp)
{
	static const struct kg_jfield fields[] = {
		{ "token", KG_JT_STRING, KG_JF_REQUIRED, 1, KG_JWT_MAX },
		{ "token_type_hint", KG_JT_STRING, KG_JF_NULLABLE, 0, 64 },
		{ NULL, KG_JT__MAX, 0, 0, 0 }
	};
	struct kg_jval		 v[2];
	char			 hint[65];
	const char		*bad = NULL;
	enum kg_json_status	 js;
	int			 got;

	*tok = NULL;
	form[0] = '\0';
	if (is_form(req->content_type)) {
		/* RFC 7009 clients also send client_id and the like: ignored. */
		got = kg_query_get(req->body, "token", form, KG_JWT_MAX + 1);
		if (got == 0 || (got == 1 && form[0] == '\0') ||
		    kg_query_get(req->body, "token_type_hint", hint,
		    sizeof(hint)) < 0)
			return token_required(resp);
		if (got < 0)
			return KG_ERR_INVALID;
		*tok = form;
		return KG_OK;
	}
	memset(v, 0, sizeof(v));
	if ((js = kg_json_parse(&ctx->json, req->body, req->body_len, fields,
	    v, &bad)) == KG_JSON_OK) {
		*tok = v[0].jv_str;
		return KG_OK;
	}
	/* A string there, only too long: not a token of ours. */
	if (js == KG_JSON_BAD_FIELD && bad != NULL && strcmp(bad, "token") == 0 &&
	    v[0].jv_present && v[0].jv_len > 0)
		return KG_ERR_TOO_LARGE;
	return kg_resp_json_refused(resp, js, bad);
}

enum kg_err
kg_session_revoke(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *unused,
    struct kg_response *resp)
{
	struct kg_principal	 pr;
	char			 form[KG_JWT_MAX + 1];
	const char		*tok;
	enum kg_err		 r;
	int			 revoked;

	r = kg_session_token_body(ctx, req, form, &tok, resp);
	/*
	 * A JSON token too long to be ours: nothing to revoke.  A
	 * form-encoded one that cannot be read stays a 400 here (where
	 * introspection answers inactive): unchanged behaviour.
	 */
	if (r == KG_ERR_TOO_LARGE)
		r = status_ok(resp);
	else if (r == KG_ERR_INVALID)
		r = token_required(resp);
	if (r != KG_OK || tok == NULL)
		goto out;
	/* The hint is only a hint (RFC 7009 2.1): the shape decides. */
	if (is_refresh(ctx->cfg, tok)) {
		r = kg_store_family_revoke_by_refresh(ctx->db, tok, "revoke",
		    NULL);
		if (r == KG_ERR_NOT_FOUND)
			r = KG_OK;
	} else if (kg_authn_jwt_shape(tok, strlen(tok))) {
		r = kg_session_jwt_check(ctx, tok, strlen(tok), &pr, &revoked);
		if (r == KG_OK && !revoked)
			r = revoke_jti(ctx->db, &pr, "revoke", NULL);
		if (r == KG_ERR_INVALID)
			r = KG_OK;
	}
	if (r == KG_OK)
		r = status_ok(resp);
out:
	OPENSSL_cleanse(form, sizeof(form));
	return r;
}

/* ------------------------------------------------------------ whoami, jwks */

enum kg_err
kg_session_whoami(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_buf	*b = &resp->body;
	const char	*p, *sp;
	char		 ts[KG_TIME_RFC3339_MAX], word[sizeof(pr->pr_scopes)];
	enum kg_err	 r;
	int		 first = 1;

	kg_resp_json_begin(resp, 200);
	if (pr->pr_method == KG_METHOD_NONE)
		return kg_buf_puts(b, "{\"authenticated\":false}");
	if ((r = kg_buf_puts(b, "{\"authenticated\":true,\"method\":\"")) !=
	    KG_OK ||
	    (r = kg_buf_json_str(b, kg_method_name(pr->pr_method))) != KG_OK ||
	    (r = kg_buf_puts(b, "\",\"subject\":\"")) != KG_OK ||
	    (r = kg_buf_json_str(b, pr->pr_subject)) != KG_OK ||
	    (r = kg_buf_puts(b, "\",\"namespace\":")) != KG_OK)
		return r;
	if (pr->pr_ns[0] == '\0')
		r = kg_buf_puts(b, "null");
	else
		r = kg_buf_json_qstr(b, pr->pr_ns);
	if (r != KG_OK || (r = kg_buf_puts(b, ",\"scopes\":[")) != KG_OK)
		return r;
	for (p = pr->pr_scopes; *p != '\0'; p = sp) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		sp = p + strcspn(p, " ");
		memcpy(word, p, (size_t)(sp - p));
		word[sp - p] = '\0';
		if ((!first && (r = kg_buf_puts(b, ",")) != KG_OK) ||
		    (r = kg_buf_json_qstr(b, word)) != KG_OK)
			return r;
		first = 0;
	}
	if ((r = kg_buf_puts(b, "]")) != KG_OK)
		return r;
	if (pr->pr_track > 0 &&
	    (r = kg_buf_printf(b, ",\"track\":%d", pr->pr_track)) != KG_OK)
		return r;
	if (pr->pr_expires_at > 0 &&
	    kg_time_format_rfc3339(pr->pr_expires_at * 1000000LL, ts, 0) ==
	    KG_OK &&
	    (r = kg_buf_printf(b, ",\"expires_at\":\"%s\"", ts)) != KG_OK)
		return r;
	if (pr->pr_key_prefix[0] != '\0' &&
	    (r = kg_buf_printf(b, ",\"key_prefix\":\"%s\"",
	    pr->pr_key_prefix)) != KG_OK)
		return r;
	return kg_buf_puts(b, "}");
}

enum kg_err
kg_session_jwks(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	kg_resp_json_begin(resp, 200);
	return kg_jwt_jwks(ctx->jwt, &resp->body);
}
