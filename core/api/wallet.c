/*
 * wallet.c: wallet sign-in (SPEC 4).  Each handler checks in the order
 * SPEC gives: body, wallet, rate buckets (SPEC 12: as soon as the body
 * names a valid wallet), the remaining fields, the signature, and only
 * then the database state, in one transaction.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/api/authn.h"
#include "core/api/nsgate.h"
#include "core/api/ratelimit.h"
#include "core/api/session.h"
#include "core/api/wallet.h"
#include "core/base/hex.h"
#include "core/base/names.h"
#include "core/base/log.h"
#include "core/base/timefmt.h"
#include "core/crypto/eth.h"
#include "core/crypto/siwe.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/store/wallet.h"

#define KG_SIWE_MESSAGE_MAX	4096	/* SPEC 4: at most 4 KiB */
/* Length bound of string members at the JSON layer (see the tables). */
#define KG_WALLET_STR_LOOSE	4096

/* ---------------------------------------------------------------- helpers */

/* Is id in the space-separated siwe_chain_ids?  *first gets the first. */
static int
chain_allowed(const struct kg_config *cfg, uint64_t id, uint64_t *first)
{
	const char		*p = cfg->siwe_chain_ids;
	char			*end;
	unsigned long long	 v;
	int			 n = 0, ok = 0;

	if (first != NULL)
		*first = 0;
	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		v = strtoull(p, &end, 10);
		if (end == p)
			break;
		if (n++ == 0 && first != NULL)
			*first = v;
		if (v == id)
			ok = 1;
		p = end;
	}
	return ok;
}

static int64_t
now_us(struct kg_ctx *ctx)
{
	struct timespec	ts;

	ctx->now(&ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sets *ns to the body's namespace or the default; 0 when invalid. */
static int
pick_namespace(const struct kg_ctx *ctx, const struct kg_jval *v,
    const char **ns)
{
	*ns = v->jv_present ? v->jv_str : ctx->cfg->default_namespace;
	return *ns != NULL && kg_namespace_valid(*ns);
}

/* ---------------------------------------------------------------- challenge */

enum { CH_WALLET, CH_NAMESPACE, CH_PURPOSE, CH_CHAIN_ID, CH__MAX };

/*
 * The JSON layer checks types only, with generous length bounds: the
 * real rules of namespace, purpose and chain_id run after the rate
 * buckets (SPEC 12) and answer with their own codes (SPEC 4).  chain_id
 * is last on purpose: see kg_wallet_challenge.
 */
static const struct kg_jfield challenge_fields[] = {
	{ "wallet",	KG_JT_STRING,	KG_JF_REQUIRED, 0, KG_WALLET_STR_LOOSE },
	{ "namespace",	KG_JT_STRING,	KG_JF_NULLABLE, 0, KG_WALLET_STR_LOOSE },
	{ "purpose",	KG_JT_STRING,	KG_JF_NULLABLE, 0, KG_WALLET_STR_LOOSE },
	{ "chain_id",	KG_JT_INT,	KG_JF_NULLABLE, INT64_MIN, INT64_MAX },
	{ NULL,		KG_JT__MAX,	0, 0, 0 },
};

enum kg_err
kg_wallet_challenge(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	const struct kg_config	*cfg = ctx->cfg;
	struct kg_jval		 v[CH__MAX];
	const char		*bad = NULL, *ns, *purpose;
	enum kg_json_status	 st;
	uint8_t			 addr[KG_ETH_ADDR_LEN];
	char			 lower[KG_ETH_ADDR_STRLEN];
	char			 cksum[KG_ETH_ADDR_STRLEN];
	char			 iat[KG_TIME_RFC3339_MAX];
	char			 exp[KG_TIME_RFC3339_MAX];
	uint64_t		 chain_id, ns_id;
	struct kg_nonce		 nonce;
	struct kg_siwe		 sw;
	struct kg_buf		 msg;
	struct kg_buf		*b = &resp->body;
	enum kg_err		 r = KG_ERR_INTERNAL;
	size_t			 i;
	int			 limited, chain_bad = 0;

	memset(&msg, 0, sizeof(msg));
	st = kg_json_parse(&ctx->json, req->body, req->body_len,
	    challenge_fields, v, &bad);
	/*
	 * chain_id of another JSON type ("1", 1.5, true) is invalid_chain_id
	 * (SPEC 4), decided after the buckets like any other chain id.
	 * kg_json_parse refuses unknown members first, then checks the
	 * fields in table order and names a field by its table pointer; so
	 * when it names chain_id, the last field, every other member was
	 * known and every other field was filled.
	 */
	if (st == KG_JSON_BAD_FIELD &&
	    bad == challenge_fields[CH_CHAIN_ID].jf_name) {
		chain_bad = 1;
		memset(&v[CH_CHAIN_ID], 0, sizeof(v[CH_CHAIN_ID]));
		st = KG_JSON_OK;
	}
	if (st != KG_JSON_OK) {
		/* KG_ERR_NOMEM is the router's 500. */
		r = kg_resp_json_refused(resp, st, bad);
		goto out;
	}
	if (kg_eth_address_parse(v[CH_WALLET].jv_str, addr) != KG_OK) {
		kg_resp_error(resp, 400, "invalid_wallet",
		    "wallet must be 0x and 40 hex digits (EIP-55 when mixed case).");
		r = KG_OK;
		goto out;
	}
	kg_eth_address_lower(addr, lower);
	kg_eth_address_checksum(addr, cksum);
	if ((r = kg_rate_check_wallet(ctx, req, lower, resp, &limited)) != KG_OK)
		goto out;
	if (limited)
		goto out;
	if (!pick_namespace(ctx, &v[CH_NAMESPACE], &ns)) {
		kg_resp_error(resp, 400, "invalid_namespace",
		    "namespace must match ^[a-z0-9][a-z0-9._-]{0,62}$.");
		goto out;
	}
	if (!chain_bad && !v[CH_CHAIN_ID].jv_present) {
		chain_allowed(cfg, 0, &chain_id);
	} else if (chain_bad || v[CH_CHAIN_ID].jv_int < 1 ||
	    !chain_allowed(cfg, (uint64_t)v[CH_CHAIN_ID].jv_int, NULL)) {
		kg_resp_error(resp, 400, "invalid_chain_id",
		    "chain_id is not one this service accepts.");
		goto out;
	} else
		chain_id = (uint64_t)v[CH_CHAIN_ID].jv_int;
	purpose = v[CH_PURPOSE].jv_present ? v[CH_PURPOSE].jv_str : "login";
	for (i = 0; purpose[i] != '\0'; i++)
		if (purpose[i] < 0x20 || purpose[i] > 0x7e)
			break;
	if (i == 0 || i > 64 || purpose[i] != '\0') {
		kg_resp_error(resp, 400, "invalid_request",
		    "purpose must be 1 to 64 printable ASCII characters.");
		goto out;
	}
	/* A challenge never creates a namespace (SPEC 2, 4). */
	if (!cfg->auto_create_namespaces) {
		int	missing;

		if ((r = kg_ns_lookup(ctx, ns, resp, &ns_id, &missing)) !=
		    KG_OK || missing)
			goto out;
	}
	r = kg_store_nonce_create(ctx->db, lower, ns, purpose, chain_id,
	    cfg->nonce_ttl, cfg->max_pending_nonces, &nonce);
	if (r == KG_ERR_TOO_LARGE) {
		kg_resp_error(resp, 429, "too_many_challenges",
		    "Too many pending challenges for this wallet.");
		r = KG_OK;
		goto out;
	}
	if (r != KG_OK)
		goto out;
	if ((r = kg_time_format_rfc3339(nonce.no_issued_us, iat, 0)) != KG_OK ||
	    (r = kg_time_format_rfc3339(nonce.no_expires_us, exp, 0)) != KG_OK)
		goto out;
	memset(&sw, 0, sizeof(sw));
	kg_siwe_str_set(&sw.sw_domain, cfg->siwe_domain);
	kg_siwe_str_set(&sw.sw_address, cksum);
	if (cfg->siwe_statement != NULL && cfg->siwe_statement[0] != '\0')
		kg_siwe_str_set(&sw.sw_statement, cfg->siwe_statement);
	kg_siwe_str_set(&sw.sw_uri, cfg->siwe_uri);
	sw.sw_version = KG_SIWE_VERSION;
	sw.sw_chain_id = chain_id;
	kg_siwe_str_set(&sw.sw_nonce, nonce.no_nonce);
	kg_siwe_str_set(&sw.sw_issued_at, iat);
	kg_siwe_str_set(&sw.sw_expiration_time, exp);
	if ((r = kg_siwe_format(&sw, &msg)) != KG_OK) {
		kg_log_error("cannot format the SIWE message (check siwe_domain,"
		    " siwe_uri, siwe_statement)");
		r = KG_ERR_INTERNAL;
		goto out;
	}
	kg_buf_reset(b);
	if ((r = kg_buf_puts(b, "{\"wallet\":\"")) != KG_OK ||
	    (r = kg_buf_puts(b, lower)) != KG_OK ||
	    (r = kg_buf_puts(b, "\",\"namespace\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, ns)) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"nonce\":\"%s\",\"purpose\":",
	    nonce.no_nonce)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, purpose)) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"issued_at\":\"%s\","
	    "\"expires_at\":\"%s\",\"message\":", iat, exp)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, kg_buf_str(&msg))) != KG_OK ||
	    (r = kg_buf_puts(b, "}")) != KG_OK)
		goto out;
	resp->status = 200;
	resp->content_type = KG_CT_JSON;
	r = KG_OK;
 out:
	kg_buf_free(&msg);
	return r;
}

/* ---------------------------------------------------------------- signed body */

/* Fields shared by verify and apps; apps adds "name". */
enum { SB_WALLET, SB_NONCE, SB_SIGNATURE, SB_NAMESPACE, SB_MESSAGE, SB_NAME,
    SB__MAX };

/*
 * Types only at the JSON layer, as for the challenge: every length rule
 * runs after the buckets with its own code (an over-long nonce cannot
 * match a stored one: invalid_nonce; message over 4 KiB: invalid_message;
 * name outside 1-255 bytes: invalid_request).  message may be as long as
 * max_body; its 4 KiB rule is checked after the buckets.
 */
static const struct kg_jfield verify_fields[] = {
	{ "wallet",	KG_JT_STRING,	KG_JF_REQUIRED, 0, KG_WALLET_STR_LOOSE },
	{ "nonce",	KG_JT_STRING,	KG_JF_REQUIRED, 0, KG_WALLET_STR_LOOSE },
	{ "signature",	KG_JT_STRING,	KG_JF_REQUIRED, 0, KG_WALLET_STR_LOOSE },
	{ "namespace",	KG_JT_STRING,	KG_JF_NULLABLE, 0, KG_WALLET_STR_LOOSE },
	{ "message",	KG_JT_STRING,	KG_JF_NULLABLE, 0, INT32_MAX },
	{ NULL,		KG_JT__MAX,	0, 0, 0 },
};

static const struct kg_jfield app_fields[] = {
	{ "wallet",	KG_JT_STRING,	KG_JF_REQUIRED, 0, KG_WALLET_STR_LOOSE },
	{ "nonce",	KG_JT_STRING,	KG_JF_REQUIRED, 0, KG_WALLET_STR_LOOSE },
	{ "signature",	KG_JT_STRING,	KG_JF_REQUIRED, 0, KG_WALLET_STR_LOOSE },
	{ "namespace",	KG_JT_STRING,	KG_JF_NULLABLE, 0, KG_WALLET_STR_LOOSE },
	{ "message",	KG_JT_STRING,	KG_JF_NULLABLE, 0, INT32_MAX },
	{ "name",	KG_JT_STRING,	KG_JF_REQUIRED, 0, KG_WALLET_STR_LOOSE },
	{ NULL,		KG_JT__MAX,	0, 0, 0 },
};

#define KG_APP_NAME_MAX	255	/* bytes, as before; the column holds it */

/* What a checked signed body proved. */
struct signed_body {
	/* verify's members, then the callers' own (kg_wallet_signed_run) */
	struct kg_jval	sb_v[SB_NAME + KG_WALLET_EXTRA_MAX];
	const char	*sb_ns;
	char		 sb_wallet[KG_ETH_ADDR_STRLEN];	/* lower-case */
	uint8_t		 sb_pub[KG_ETH_PUB_LEN];	/* the signer's key */
};

/*
 * Checks a signed body (SPEC 4, verify) up to and including the signature;
 * nothing is written but the rate buckets: the client address's, and the
 * wallet's when wallet_bucket is set (SPEC 12: challenge and verify only).  Returns KG_OK with *done 0
 * when the caller goes on, KG_OK with *done 1 when resp holds the refusal,
 * or a status for the router (database: 503).
 */
static enum kg_err
signed_body_check(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_jfield *fields, int wallet_bucket, struct signed_body *sb,
    struct kg_response *resp, int *done)
{
	const struct kg_config	*cfg = ctx->cfg;
	const char		*bad = NULL, *msg;
	enum kg_json_status	 st;
	uint8_t			 addr[KG_ETH_ADDR_LEN];
	struct kg_eth_sig	 sig;
	struct kg_siwe		 sw;
	size_t			 len;
	enum kg_err		 r;
	long			 retry;
	int			 limited, allowed;

	*done = 1;
	memset(sb, 0, sizeof(*sb));
	st = kg_json_parse(&ctx->json, req->body, req->body_len, fields,
	    sb->sb_v, &bad);
	if (st != KG_JSON_OK)
		return kg_resp_json_refused(resp, st, bad);
	if (kg_eth_address_parse(sb->sb_v[SB_WALLET].jv_str, addr) != KG_OK) {
		kg_resp_error(resp, 400, "invalid_wallet",
		    "wallet must be 0x and 40 hex digits (EIP-55 when mixed case).");
		return KG_OK;
	}
	kg_eth_address_lower(addr, sb->sb_wallet);
	if (wallet_bucket) {
		if ((r = kg_rate_check_wallet(ctx, req, sb->sb_wallet, resp,
		    &limited)) != KG_OK || limited)
			return r;
	} else {
		if ((r = kg_rate_take(ctx, KG_RATE_ADDR, req->remote_addr,
		    &allowed, &retry)) != KG_OK)
			return r;
		if (!allowed) {
			kg_rate_refuse(resp, retry);
			return KG_OK;
		}
	}
	if (!pick_namespace(ctx, &sb->sb_v[SB_NAMESPACE], &sb->sb_ns)) {
		kg_resp_error(resp, 400, "invalid_namespace",
		    "namespace must match ^[a-z0-9][a-z0-9._-]{0,62}$.");
		return KG_OK;
	}
	if (fields == app_fields && (sb->sb_v[SB_NAME].jv_len < 1 ||
	    sb->sb_v[SB_NAME].jv_len > KG_APP_NAME_MAX)) {
		kg_resp_error(resp, 400, "invalid_request",
		    "name must be 1 to 255 bytes.");
		return KG_OK;
	}
	if (kg_eth_sig_parse(sb->sb_v[SB_SIGNATURE].jv_str, &sig) != KG_OK) {
		kg_resp_error(resp, 400, "invalid_signature",
		    "signature must be 65 bytes of hex (r, low s, v in 0, 1, 27, 28).");
		return KG_OK;
	}
	if (sb->sb_v[SB_MESSAGE].jv_present) {
		msg = sb->sb_v[SB_MESSAGE].jv_str;
		len = sb->sb_v[SB_MESSAGE].jv_len;
		if (len > KG_SIWE_MESSAGE_MAX ||
		    kg_siwe_parse(msg, len, &sw) != KG_OK) {
			kg_resp_error(resp, 400, "invalid_message",
			    "message is not an EIP-4361 message of at most 4 KiB.");
			return KG_OK;
		}
		if (memcmp(sw.sw_addr, addr, sizeof(addr)) != 0 ||
		    !kg_siwe_str_eq(&sw.sw_nonce, sb->sb_v[SB_NONCE].jv_str) ||
		    !kg_siwe_str_eq(&sw.sw_domain, cfg->siwe_domain) ||
		    !kg_siwe_str_eq(&sw.sw_uri, cfg->siwe_uri) ||
		    !chain_allowed(cfg, sw.sw_chain_id, NULL)) {
			kg_resp_error(resp, 401, "message_mismatch",
			    "The message does not match this sign-in.");
			return KG_OK;
		}
		switch (kg_siwe_check_time(&sw, now_us(ctx),
		    (int64_t)cfg->clock_leeway * 1000000)) {
		case KG_SIWE_TIME_OK:
			break;
		case KG_SIWE_TIME_EXPIRED:
			kg_resp_error(resp, 401, "message_expired",
			    "The message has expired.");
			return KG_OK;
		default:
			kg_resp_error(resp, 401, "message_not_yet_valid",
			    "The message is not valid yet.");
			return KG_OK;
		}
	} else if (!cfg->allow_raw_nonce) {
		kg_resp_error(resp, 400, "invalid_message",
		    "message is required: raw nonce signatures are disabled.");
		return KG_OK;
	} else {
		msg = sb->sb_v[SB_NONCE].jv_str;
		len = sb->sb_v[SB_NONCE].jv_len;
	}
	if (kg_eth_verify_personal(ctx->eth, msg, len, &sig, addr,
	    sb->sb_pub) != KG_ETH_MATCH) {
		kg_resp_error(resp, 401, "signature_mismatch",
		    "The signature is not the wallet's.");
		return KG_OK;
	}
	*done = 0;
	return KG_OK;
}

/* ---------------------------------------------------------------- verify */

struct verify_txn {
	struct kg_ctx			*vt_ctx;
	const struct kg_request		*vt_req;
	struct signed_body		*vt_sb;
	const char			*vt_app_name;	/* apps only */
	kg_wallet_signed_fn		 vt_fn;		/* other modules */
	void				*vt_arg;
	/* outputs, reset at every run */
	enum { VT_OK, VT_BAD_NONCE, VT_NO_NAMESPACE } vt_outcome;
	uint64_t			 vt_ns_id;
	int				 vt_track;
	struct kg_session_tokens	 vt_tok;
	char				 vt_app_id[KG_APP_ID_MAX + 1];
};

static void
verify_txn_reset(struct verify_txn *t)
{
	kg_buf_free(&t->vt_tok.st_access);
	explicit_bzero(t->vt_tok.st_refresh, sizeof(t->vt_tok.st_refresh));
	memset(&t->vt_tok, 0, sizeof(t->vt_tok));
	t->vt_outcome = VT_OK;
	t->vt_ns_id = 0;
	t->vt_track = 0;
	t->vt_app_id[0] = '\0';
}

/* Consume, membership, audit, then the session or the app: all or nothing. */
static enum kg_err
verify_txn_fn(struct kg_db *db, void *arg)
{
	struct verify_txn	*t = arg;
	struct signed_body	*sb = t->vt_sb;
	struct kg_audit		 au;
	enum kg_err		 r;
	int			 joined;

	verify_txn_reset(t);
	r = kg_store_nonce_consume(db, sb->sb_v[SB_NONCE].jv_str,
	    sb->sb_wallet, sb->sb_ns);
	if (r == KG_ERR_NOT_FOUND) {
		t->vt_outcome = VT_BAD_NONCE;
		return KG_ERR_NOT_FOUND;	/* rolls back */
	}
	if (r != KG_OK)
		return r;
	r = kg_store_signin_member(db, sb->sb_ns,
	    t->vt_ctx->cfg->auto_create_namespaces, sb->sb_wallet,
	    &t->vt_ns_id, &t->vt_track, &joined);
	if (r == KG_ERR_NOT_FOUND) {
		t->vt_outcome = VT_NO_NAMESPACE;
		return KG_ERR_NOT_FOUND;
	}
	if (r != KG_OK)
		return r;
	memset(&au, 0, sizeof(au));
	au.au_namespace = sb->sb_ns;
	au.au_actor_type = "wallet";
	au.au_actor = sb->sb_wallet;
	au.au_remote_addr = t->vt_req->remote_addr;
	au.au_outcome = "ok";
	if (t->vt_fn != NULL) {
		struct kg_wallet_signed	ws;

		/* A new member is audited as a sign-in, as for apps. */
		if (joined) {
			au.au_action = "signin";
			if ((r = kg_store_audit(db, &au)) != KG_OK)
				return r;
		}
		memset(&ws, 0, sizeof(ws));
		ws.ws_ns = sb->sb_ns;
		ws.ws_ns_id = t->vt_ns_id;
		ws.ws_wallet = sb->sb_wallet;
		ws.ws_track = t->vt_track;
		ws.ws_extra = &sb->sb_v[SB_NAME];
		return t->vt_fn(db, &ws, t->vt_arg);
	}
	if (t->vt_app_name != NULL) {
		/*
		 * Registering is a signed sign-in to the namespace: a wallet
		 * it made a member (perhaps the new namespace's track-4
		 * owner) is audited as a sign-in too, as verify would have
		 * (kept rather than refusing unknown namespaces: SPEC 2 lets
		 * a signed sign-in create one).
		 */
		if (joined) {
			au.au_action = "signin";
			if ((r = kg_store_audit(db, &au)) != KG_OK)
				return r;
		}
		if ((r = kg_store_app_create(db, t->vt_ns_id, t->vt_app_name,
		    sb->sb_pub, sb->sb_wallet, t->vt_app_id)) != KG_OK)
			return r;
		au.au_action = "app_register";
		au.au_target = t->vt_app_id;
		return kg_store_audit(db, &au);
	}
	au.au_action = "signin";
	if ((r = kg_store_audit(db, &au)) != KG_OK)
		return r;
	return kg_session_start(t->vt_ctx, db, t->vt_ns_id, sb->sb_ns,
	    sb->sb_wallet, t->vt_track, &t->vt_tok);
}

/* Runs the transaction; *done 1 when resp holds a refusal. */
static enum kg_err
verify_commit(struct kg_ctx *ctx, struct verify_txn *t,
    struct kg_response *resp, int *done)
{
	enum kg_err	r;

	*done = 1;
	r = kg_db_txn(ctx->db, verify_txn_fn, t);
	if (r == KG_ERR_NOT_FOUND && t->vt_outcome == VT_BAD_NONCE) {
		kg_resp_error(resp, 400, "invalid_nonce",
		    "The nonce is unknown, expired, used, or not this wallet's.");
		return KG_OK;
	}
	if (r == KG_ERR_NOT_FOUND && t->vt_outcome == VT_NO_NAMESPACE) {
		kg_resp_error(resp, 404, "namespace_not_found",
		    "No such namespace.");
		return KG_OK;
	}
	if (r == KG_OK)
		*done = 0;
	return r;
}

enum kg_err
kg_wallet_verify(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct signed_body	 sb;
	struct verify_txn	 t;
	struct kg_buf		*b = &resp->body;
	enum kg_err		 r;
	int			 done;

	memset(&t, 0, sizeof(t));
	if ((r = signed_body_check(ctx, req, verify_fields, 1, &sb, resp,
	    &done)) != KG_OK || done)
		goto out;
	t.vt_ctx = ctx;
	t.vt_req = req;
	t.vt_sb = &sb;
	if ((r = verify_commit(ctx, &t, resp, &done)) != KG_OK || done)
		goto out;
	resp->no_store = 1;
	kg_buf_reset(b);
	if ((r = kg_buf_puts(b, "{\"access_token\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, kg_buf_str(&t.vt_tok.st_access))) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"token_type\":\"Bearer\",\"expires_in\":%ld,"
	    "\"refresh_token\":", t.vt_tok.st_expires_in)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, t.vt_tok.st_refresh)) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"refresh_expires_in\":%ld,\"subject\":\"%s\","
	    "\"namespace\":", t.vt_tok.st_refresh_expires_in,
	    sb.sb_wallet)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, sb.sb_ns)) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"track\":%d,\"signature_verified\":true}",
	    t.vt_track)) != KG_OK)
		goto out;
	resp->status = 200;
	resp->content_type = KG_CT_JSON;
 out:
	verify_txn_reset(&t);
	return r;
}

/* ---------------------------------------------------------------- other modules */

enum kg_err
kg_wallet_signed_run(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_jfield *fields, kg_wallet_signed_fn fn, void *arg,
    struct kg_response *resp, int *done)
{
	struct signed_body	 sb;
	struct verify_txn	 t;
	enum kg_err		 r;
	size_t			 n;

	*done = 0;
	/* sb_v holds verify's members and KG_WALLET_EXTRA_MAX more. */
	n = 0;
	while (fields[n].jf_name != NULL)
		n++;
	if (n > SB_NAME + KG_WALLET_EXTRA_MAX) {
		kg_log_error("%zu fields, at most %d",
		    n, SB_NAME + KG_WALLET_EXTRA_MAX);
		return KG_ERR_INTERNAL;
	}
	memset(&t, 0, sizeof(t));
	if ((r = signed_body_check(ctx, req, fields, 0, &sb, resp,
	    done)) != KG_OK || *done)
		goto out;
	t.vt_ctx = ctx;
	t.vt_req = req;
	t.vt_sb = &sb;
	t.vt_fn = fn;
	t.vt_arg = arg;
	/* verify_commit leaves *done 1 on a failure it did not render. */
	if ((r = verify_commit(ctx, &t, resp, done)) != KG_OK)
		*done = 0;
 out:
	verify_txn_reset(&t);
	return r;
}

/* ---------------------------------------------------------------- apps */


enum kg_err
kg_wallet_app_create(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct signed_body	 sb;
	struct verify_txn	 t;
	struct kg_buf		*b = &resp->body;
	char			 pub[2 + 2 * KG_ETH_PUB_LEN + 1];
	enum kg_err		 r;
	int			 done;

	memset(&t, 0, sizeof(t));
	if ((r = signed_body_check(ctx, req, app_fields, 0, &sb, resp,
	    &done)) != KG_OK || done)
		goto out;
	t.vt_ctx = ctx;
	t.vt_req = req;
	t.vt_sb = &sb;
	t.vt_app_name = sb.sb_v[SB_NAME].jv_str;
	if ((r = verify_commit(ctx, &t, resp, &done)) != KG_OK || done)
		goto out;
	pub[0] = '0';
	pub[1] = 'x';
	kg_hex_encode(sb.sb_pub, KG_ETH_PUB_LEN, pub + 2);
	kg_buf_reset(b);
	if ((r = kg_buf_printf(b, "{\"client_id\":\"%s\",\"app\":{\"app_id\":"
	    "\"%s\",\"name\":", t.vt_app_id, t.vt_app_id)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, t.vt_app_name)) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"public_key\":\"%s\",\"namespace\":",
	    pub)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, sb.sb_ns)) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"wallet\":\"%s\"}}", sb.sb_wallet)) != KG_OK)
		goto out;
	resp->status = 201;
	resp->content_type = KG_CT_JSON;
 out:
	verify_txn_reset(&t);
	return r;
}

/* One app of a list page (the namespace is the list's, in *ns). */
struct app_page {
	struct kg_page	 ap_pg;
	const char	*ap_ns;
};

static enum kg_err
app_item(const struct kg_app *a, void *arg)
{
	struct app_page	*p = arg;
	struct kg_buf	*b = p->ap_pg.pg_b;
	char		 pub[2 + 2 * KG_ETH_PUB_LEN + 1];
	char		 at[KG_TIME_RFC3339_MAX];
	enum kg_err	 r;

	if (!kg_page_item(&p->ap_pg, a->ap_id, &r))
		return r;
	pub[0] = '0';
	pub[1] = 'x';
	kg_hex_encode(a->ap_public_key, KG_ETH_PUB_LEN, pub + 2);
	if ((r = kg_time_format_rfc3339(a->ap_created_us, at, 0)) != KG_OK)
		return r;
	if ((r = kg_buf_printf(b, "{\"app_id\":\"%s\",\"name\":",
	    a->ap_app_id)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, a->ap_name)) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"public_key\":\"%s\",\"namespace\":",
	    pub)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, p->ap_ns)) != KG_OK)
		return r;
	return kg_buf_printf(b, ",\"wallet\":\"%s\",\"created_at\":\"%s\"}",
	    a->ap_wallet, at);
}

enum kg_err
kg_wallet_app_list(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct app_page		 p;
	uint64_t		 before, ns_id;
	const char		*ns = pr->pr_ns;
	size_t			 limit, n = 0;
	enum kg_err		 r;
	int			 done;

	/*
	 * SPEC 4: "track >= 3 or admin".  A track-3 session whose
	 * track3_scopes lack admin still lists apps; any credential with
	 * admin (org token, admin-scoped key, the global admin) does too.
	 * Daemon tokens have neither.
	 */
	if (!(pr->pr_method == KG_METHOD_JWT && pr->pr_track >= 3) &&
	    !kg_principal_has_scope(pr, "admin")) {
		kg_resp_error(resp, 403, "forbidden",
		    "The credential does not grant this operation.");
		return KG_OK;
	}
	if ((r = kg_list_limit(req, &limit, resp)) != KG_OK || limit == 0 ||
	    (r = kg_page_cursor(req, &before, resp, &done)) != KG_OK || done)
		return r;
	if (ns == NULL || ns[0] == '\0') {
		kg_resp_error(resp, 400, "invalid_request",
		    "namespace: choose one with X-Keygate-Namespace.");
		return KG_OK;
	}
	if ((r = kg_ns_lookup(ctx, ns, resp, &ns_id, &done)) != KG_OK || done)
		return r;
	p.ap_ns = ns;
	/* One row beyond the page says whether another page follows. */
	if ((r = kg_page_begin(&p.ap_pg, resp, limit)) != KG_OK ||
	    (r = kg_store_app_list(ctx->db, ns_id, before, limit + 1,
	    app_item, &p, &n)) != KG_OK)
		return r;
	return kg_page_end(&p.ap_pg);
}
