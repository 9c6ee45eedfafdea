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
#include "core/store/session.h"

/* How often a freshly minted refresh token may collide before giving up. */
#define MINT_TRIES	3

static int64_t
now_sec(struct kg_ctx *ctx)
{
	struct timespec	ts;

	ctx->now(&ts);
	return (int64_t)ts.tv_sec;
}

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
 * *ttl and *exp.
 */
static enum kg_err
sign_access(struct kg_ctx *ctx, const char *ns, const char *subject,
    int track, const char *scope, const char *sid, long cap,
    struct kg_buf *out, long *ttl, int64_t *exp)
{
	struct kg_jwt_claims	c;
	enum kg_err		r;

	memset(&c, 0, sizeof(c));
	if (strlen(subject) >= sizeof(c.jc_sub) || strlen(ns) >= sizeof(c.jc_ns) ||
	    strlen(scope) >= sizeof(c.jc_scope) || strlen(sid) >= sizeof(c.jc_sid))
		return KG_ERR_INVALID;
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
	c.jc_iat = c.jc_nbf = now_sec(ctx);
	c.jc_exp = c.jc_iat + *ttl;
	*exp = c.jc_exp;
	kg_buf_reset(out);
	return kg_jwt_sign(ctx->jwt, &c, out);
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
		    ctx->cfg->refresh_ttl, &out->st_refresh_expires_in);
	}
	if (r != KG_OK)
		goto out;
	/*
	 * The refresh token already ends no later than the family (SPEC 5:
	 * session_max_age); the access token must not outlive it either.
	 */
	r = sign_access(ctx, ns, subject, track, track_scope(ctx->cfg, track),
	    sid, out->st_refresh_expires_in, &out->st_access,
	    &out->st_expires_in, &exp);
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
	if ((r = kg_jwt_verify(ctx->jwt, token, len, now_sec(ctx),
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

static void
json_begin(struct kg_response *resp, int status)
{
	resp->status = status;
	resp->content_type = KG_CT_JSON;
	kg_buf_reset(&resp->body);
}

static enum kg_err
status_ok(struct kg_response *resp)
{
	return kg_resp_json(resp, 200, "{\"status\":\"ok\"}");
}

/* A JWT has exactly two dots. */
static int
is_jwt(const char *t)
{
	const char	*d;

	return (d = strchr(t, '.')) != NULL && (d = strchr(d + 1, '.')) != NULL &&
	    strchr(d + 1, '.') == NULL;
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

/* Renders a kg_json_parse failure (400 invalid_json / invalid_request). */
static enum kg_err
json_fail(struct kg_response *resp, enum kg_json_status js, const char *bad)
{
	return kg_resp_json_refused(resp, js, bad);
}

static void
session_audit(struct kg_ctx *ctx, const struct kg_request *req,
    const char *ns, const char *subject, const char *action,
    const char *target)
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
	a.au_outcome = "ok";
	/* The revocation took effect; a lost audit row is logged, not fatal. */
	if (kg_store_audit(ctx->db, &a) != KG_OK)
		kg_log_warn("audit event %s not recorded", action);
}

/* Puts the principal's jti on the revocation list with reason. */
static enum kg_err
revoke_jti(struct kg_ctx *ctx, const struct kg_principal *pr,
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
	return kg_store_jti_revoke(ctx->db, &jr, inserted);
}

/* ------------------------------------------------------------ refresh */

static enum kg_err
refresh_rotation(struct kg_ctx *ctx, const struct kg_request *req,
    const char *token, struct kg_response *resp)
{
	struct kg_session_family fam;
	struct kg_buf		 at = KG_BUF_INIT;
	char			 next[KG_TOKEN_MAX], id8[KG_TOKEN_ID_LEN + 1];
	enum kg_rotate		 res = KG_ROTATE_INVALID;
	long			 rexp = 0, ttl = 0;
	int64_t			 exp;
	enum kg_err		 r;
	int			 i;

	memset(next, 0, sizeof(next));
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
		r = kg_store_refresh_rotate(ctx->db, token, next, id8,
		    ctx->cfg->refresh_ttl, req->remote_addr, &res, &fam, &rexp);
	}
	if (r != KG_OK)
		goto out;
	if (res == KG_ROTATE_REUSED) {
		kg_log_warn("refresh token reuse: family %.8s revoked",
		    fam.sf_id);
		kg_resp_error(resp, 401, "refresh_token_reused",
		    "The refresh token was already used; the session is "
		    "revoked.");
		goto out;
	}
	if (res != KG_ROTATE_OK) {
		kg_resp_error(resp, 401, "invalid_refresh_token",
		    "The refresh token is not valid.");
		goto out;
	}
	/* Capped like at sign-in: never past the new refresh token (and so
	 * never past the family's session_max_age). */
	if ((r = sign_access(ctx, fam.sf_ns, fam.sf_subject, fam.sf_track,
	    track_scope(ctx->cfg, fam.sf_track), fam.sf_id, rexp, &at, &ttl,
	    &exp)) != KG_OK)
		goto out;
	json_begin(resp, 200);
	resp->no_store = 1;
	if ((r = kg_buf_puts(&resp->body, "{\"access_token\":\"")) != KG_OK ||
	    (r = kg_buf_json_str(&resp->body, kg_buf_str(&at))) != KG_OK ||
	    (r = kg_buf_printf(&resp->body, "\",\"token_type\":\"Bearer\","
	    "\"expires_in\":%ld,\"refresh_token\":\"", ttl)) != KG_OK ||
	    (r = kg_buf_json_str(&resp->body, next)) != KG_OK ||
	    (r = kg_buf_printf(&resp->body, "\",\"refresh_expires_in\":%ld}",
	    rexp)) != KG_OK)
		goto out;
out:
	OPENSSL_cleanse(next, sizeof(next));
	kg_buf_free(&at);
	return r;
}

static enum kg_err
access_rotation(struct kg_ctx *ctx, const struct kg_request *req,
    struct kg_response *resp)
{
	struct kg_principal	 pr;
	struct kg_buf		 at = KG_BUF_INIT;
	long			 ttl = 0, left = 0;
	int64_t			 exp;
	int			 inserted = 0;
	enum kg_err		 r = KG_OK;

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
	 * A session's access tokens cannot carry it past session_max_age
	 * either: the new token ends with its family at the latest.
	 */
	if (pr.pr_sid[0] != '\0') {
		r = kg_store_family_left(ctx->db, pr.pr_sid, &left);
		if (r == KG_ERR_NOT_FOUND) {
			kg_resp_error(resp, 401, "invalid_token",
			    "The session has ended; sign in again.");
			r = KG_OK;
			goto out;
		}
		if (r != KG_OK)
			goto out;
	}
	/* The insert decides a race between two rotations of one token. */
	if ((r = revoke_jti(ctx, &pr, "refresh", &inserted)) != KG_OK)
		goto out;
	if (!inserted) {
		kg_resp_error(resp, 401, "token_revoked",
		    "The access token has been revoked.");
		goto out;
	}
	if ((r = sign_access(ctx, pr.pr_ns, pr.pr_subject, pr.pr_track,
	    pr.pr_scopes, pr.pr_sid, left, &at, &ttl, &exp)) != KG_OK)
		goto out;
	json_begin(resp, 200);
	resp->no_store = 1;
	if ((r = kg_buf_puts(&resp->body, "{\"access_token\":\"")) != KG_OK ||
	    (r = kg_buf_json_str(&resp->body, kg_buf_str(&at))) != KG_OK ||
	    (r = kg_buf_printf(&resp->body, "\",\"token_type\":\"Bearer\","
	    "\"expires_in\":%ld}", ttl)) != KG_OK)
		goto out;
	session_audit(ctx, req, pr.pr_ns, pr.pr_subject, "token_refresh",
	    pr.pr_sid[0] != '\0' ? pr.pr_sid : NULL);
out:
	kg_buf_free(&at);
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
		return json_fail(resp, js, bad);
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
			return json_fail(resp, js, bad);
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
		if (!is_jwt(tok)) {
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
		    fam.sf_id);
	}
	if (tok != NULL) {
		if ((r = revoke_jti(ctx, &pr, "logout", NULL)) != KG_OK)
			return r;
		if (all) {
			if ((r = kg_store_subject_logout(ctx->db, pr.pr_ns,
			    pr.pr_subject, NULL)) != KG_OK)
				return r;
			session_audit(ctx, req, pr.pr_ns, pr.pr_subject,
			    "logout_all", NULL);
		} else
			session_audit(ctx, req, pr.pr_ns, pr.pr_subject,
			    "logout", pr.pr_sid[0] != '\0' ? pr.pr_sid : NULL);
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

enum kg_err
kg_session_revoke(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *unused,
    struct kg_response *resp)
{
	static const struct kg_jfield fields[] = {
		{ "token", KG_JT_STRING, KG_JF_REQUIRED, 1, KG_JWT_MAX },
		{ "token_type_hint", KG_JT_STRING, KG_JF_NULLABLE, 0, 64 },
		{ NULL, KG_JT__MAX, 0, 0, 0 }
	};
	struct kg_jval		 v[2];
	struct kg_principal	 pr;
	char			 form[KG_JWT_MAX + 1], hint[65];
	const char		*bad = NULL, *tok;
	enum kg_json_status	 js;
	enum kg_err		 r = KG_OK;
	int			 revoked, got;

	memset(v, 0, sizeof(v));
	form[0] = '\0';
	if (is_form(req->content_type)) {
		/* RFC 7009 clients also send client_id and the like: ignored. */
		got = kg_query_get(req->body, "token", form, sizeof(form));
		if (got != 1 || form[0] == '\0' ||
		    kg_query_get(req->body, "token_type_hint", hint,
		    sizeof(hint)) < 0) {
			kg_resp_error(resp, 400, "invalid_request",
			    "token is required.");
			goto out;
		}
		tok = form;
	} else {
		if ((js = kg_json_parse(&ctx->json, req->body, req->body_len,
		    fields, v, &bad)) != KG_JSON_OK) {
			/* Too long to be ours: nothing to revoke. */
			if (js == KG_JSON_BAD_FIELD && bad != NULL &&
			    strcmp(bad, "token") == 0 && v[0].jv_present &&
			    v[0].jv_len > 0) {
				r = status_ok(resp);
				goto out;
			}
			r = json_fail(resp, js, bad);
			goto out;
		}
		tok = v[0].jv_str;
	}
	/* The hint is only a hint (RFC 7009 2.1): the shape decides. */
	if (is_refresh(ctx->cfg, tok)) {
		r = kg_store_family_revoke_by_refresh(ctx->db, tok, "revoke",
		    NULL);
		if (r == KG_ERR_NOT_FOUND)
			r = KG_OK;
	} else if (is_jwt(tok)) {
		r = kg_session_jwt_check(ctx, tok, strlen(tok), &pr, &revoked);
		if (r == KG_OK && !revoked)
			r = revoke_jti(ctx, &pr, "revoke", NULL);
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

	json_begin(resp, 200);
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
	else if ((r = kg_buf_puts(b, "\"")) == KG_OK &&
	    (r = kg_buf_json_str(b, pr->pr_ns)) == KG_OK)
		r = kg_buf_puts(b, "\"");
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
		if ((r = kg_buf_puts(b, first ? "\"" : ",\"")) != KG_OK ||
		    (r = kg_buf_json_str(b, word)) != KG_OK ||
		    (r = kg_buf_puts(b, "\"")) != KG_OK)
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
	json_begin(resp, 200);
	return kg_jwt_jwks(ctx->jwt, &resp->body);
}
