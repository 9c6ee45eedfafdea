/*
 * enroll.c: install tokens and daemon tokens (SPEC 7).  The SQL lives in
 * core/store/enroll.c.
 *
 * Decisions where SPEC is silent:
 * - A daemon principal's subject is "daemon:<token id>" (the row id of
 *   its daemon token): daemon ids are free text up to 128 characters
 *   and need not be unique, the token id is both.  GET /v1/daemon/whoami
 *   names the daemon_id.  Audit rows name daemon tokens the same way.
 * - Daemon tokens "do not expire": expires_at is 9999-12-31T00:00:00Z.
 * - An install token that was used answers install_token_already_used
 *   even after its expiry, for as long as its row is kept (cleanup keeps
 *   rows KG_INSTALL_CLEANUP_GRACE past expiry).
 * - daemon_id: 1 to 128 printable ASCII characters (0x20-0x7e), not
 *   only spaces; absent, null, "" or otherwise is daemon_id_required,
 *   but a daemon_id that is not a string (a number, an object) makes
 *   the body malformed: invalid_install_token.
 * - The daemon-token list shows revoked tokens too (revoked_at set).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/api/enroll.h"
#include "core/api/nsgate.h"
#include "core/api/ratelimit.h"
#include "core/base/log.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/store/enroll.h"
#include "core/store/session.h"
#include "core/store/wallet.h"

#define MINT_TRIES	3
#define TOKEN_HEX	40			/* SPEC 3: 160 bits */
#define TOKEN_LEN	KG_ENROLL_TOKEN_LEN	/* "mit_"/"mdt_" + 40 hex */

/* ---------------------------------------------------------------- helpers */

/* tag ("mit_" or "mdt_") + 40 lower-case hex from the CSPRNG. */
static enum kg_err
token_new(const char *tag, char out[TOKEN_LEN + 1])
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		rnd[TOKEN_HEX / 2];
	size_t			i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return KG_ERR_INTERNAL;
	memcpy(out, tag, 4);
	for (i = 0; i < sizeof(rnd); i++) {
		out[4 + 2 * i] = hex[rnd[i] >> 4];
		out[5 + 2 * i] = hex[rnd[i] & 0x0f];
	}
	out[TOKEN_LEN] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return KG_OK;
}

/* Is t[0..len) tag + exactly 40 lower-case hex digits? */
static int
token_shape(const char *tag, const char *t, size_t len)
{
	size_t	i;

	if (len != TOKEN_LEN || memcmp(t, tag, 4) != 0)
		return 0;
	for (i = 4; i < len; i++)
		if (!((t[i] >= '0' && t[i] <= '9') ||
		    (t[i] >= 'a' && t[i] <= 'f')))
			return 0;
	return 1;
}

/* SHA-256 of t[0..len) (a checked token shape, so no NUL inside). */
static enum kg_err
token_hash(const char *t, size_t len, unsigned char h[32])
{
	char		buf[TOKEN_LEN + 1];
	enum kg_err	r;

	if (len != TOKEN_LEN)
		return KG_ERR_INVALID;
	memcpy(buf, t, len);
	buf[len] = '\0';
	r = kg_store_token_hash(buf, h);
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

/* The numeric row id of "daemon:<id>"; 0 when pr is not a daemon. */
static uint64_t
daemon_of(const struct kg_principal *pr)
{
	const char	*s = pr->pr_subject + 7;
	char		*end;
	unsigned long long v;

	if (pr->pr_method != KG_METHOD_DAEMON_TOKEN ||
	    strncmp(pr->pr_subject, "daemon:", 7) != 0 || *s < '1' ||
	    *s > '9')
		return 0;
	v = strtoull(s, &end, 10);
	return *end == '\0' ? v : 0;
}

/* ---------------------------------------------------------------- mint */

struct install_mint {
	uint64_t		 im_ns_id;
	const char		*im_by;
	long			 im_ttl;
	const struct kg_audit	*im_audit;
	char			*im_token;
	struct kg_install_token	*im_tok;
};

/* Token and its audit row, in one transaction.  Safe to re-run. */
static enum kg_err
install_mint_txn(struct kg_db *db, void *arg)
{
	struct install_mint	*m = arg;
	struct kg_audit		 au;
	unsigned char		 h[32];
	char			 target[40];
	enum kg_err		 r = KG_ERR_CONFLICT;
	int			 i;

	for (i = 0; i < MINT_TRIES && r == KG_ERR_CONFLICT; i++) {
		if ((r = token_new("mit_", m->im_token)) != KG_OK ||
		    (r = token_hash(m->im_token, TOKEN_LEN, h)) != KG_OK)
			break;
		r = kg_store_install_create(db, m->im_ns_id, h, m->im_by,
		    m->im_ttl, m->im_tok);
	}
	OPENSSL_cleanse(h, sizeof(h));
	if (r != KG_OK || m->im_audit == NULL)
		return r;
	(void)snprintf(target, sizeof(target), "install_token:%" PRIu64,
	    m->im_tok->it_id);
	au = *m->im_audit;
	au.au_namespace = m->im_tok->it_ns;
	au.au_action = "install_token_create";
	au.au_target = target;
	au.au_outcome = "ok";
	return kg_store_audit(db, &au);
}

enum kg_err
kg_enroll_install_mint(struct kg_db *db, uint64_t ns_id,
    const char *created_by, long ttl, const struct kg_audit *by,
    char token[KG_ENROLL_TOKEN_LEN + 1], struct kg_install_token *out)
{
	struct install_mint	m = { ns_id, created_by, ttl, by, token, out };
	enum kg_err		r;

	if (kg_db_in_txn(db))
		r = install_mint_txn(db, &m);
	else
		r = kg_db_txn(db, install_mint_txn, &m);
	if (r != KG_OK)
		OPENSSL_cleanse(token, KG_ENROLL_TOKEN_LEN + 1);
	return r;
}

enum kg_err
kg_enroll_install_create(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	static const struct kg_jfield	none[] = {
		{ NULL, KG_JT__MAX, 0, 0, 0 } };
	struct kg_install_token	 t;
	struct kg_audit		 au;
	struct kg_jval		 v[1];
	char			 by[KG_ENROLL_BY_MAX + 1];
	char			 tok[TOKEN_LEN + 1];
	const char		*ns = kg_param(params, "ns"), *bad = NULL;
	uint64_t		 ns_id = 0;
	enum kg_json_status	 js;
	enum kg_err		 r;
	int			 done;

	if ((r = kg_ns_gate(ctx, req, pr, ns, KG_NS_ADMIN,
	    "install_token_create", NULL, resp, &ns_id, &done)) != KG_OK ||
	    done)
		return r;
	/* An empty body or {}: the request names nothing else. */
	if (req->body_len > 0 && (js = kg_json_parse(&ctx->json, req->body,
	    req->body_len, none, v, &bad)) != KG_JSON_OK)
		return kg_resp_json_refused(resp, js, bad);
	kg_principal_created_by(pr, by, sizeof(by));
	kg_audit_event(&au, req, pr, ns, NULL, NULL, NULL);
	if ((r = kg_enroll_install_mint(ctx->db, ns_id, by,
	    ctx->cfg->install_token_ttl, &au, tok, &t)) != KG_OK)
		return r;
	kg_resp_json_begin(resp, 201);
	resp->no_store = 1;
	if ((r = kg_buf_printf(&resp->body, "{\"id\":%" PRIu64
	    ",\"token\":\"%s\",\"namespace\":", t.it_id, tok)) != KG_OK ||
	    (r = kg_buf_json_qstr(&resp->body, t.it_ns)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, ",\"expires_at\":")) != KG_OK ||
	    (r = kg_json_time(&resp->body, t.it_expires_us)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, ",\"created_at\":")) != KG_OK ||
	    (r = kg_json_time(&resp->body, t.it_created_us)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, "}")) != KG_OK)
		goto out;
	kg_log_info("install token %" PRIu64 " created in %s by %s", t.it_id,
	    ns, by);
out:
	OPENSSL_cleanse(tok, sizeof(tok));
	return r;
}

/* ---------------------------------------------------------------- exchange */

enum { EX_TOKEN, EX_DAEMON, EX__MAX };

static const struct kg_jfield exchange_fields[] = {
	{ "token",	KG_JT_STRING,	KG_JF_REQUIRED, 0, 4096 },
	/* Longer than 128 is daemon_id_required, not a malformed body. */
	{ "daemon_id",	KG_JT_STRING,	KG_JF_NULLABLE,	0, 1 << 20 },
	{ NULL,		KG_JT__MAX,	0, 0, 0 },
};

/* 1 to 128 printable ASCII characters, not only spaces. */
static int
daemon_id_valid(const struct kg_jval *v)
{
	size_t	i;
	int	blank = 1;

	if (!v->jv_present || v->jv_len == 0 || v->jv_len > KG_DAEMON_ID_MAX)
		return 0;
	for (i = 0; i < v->jv_len; i++) {
		if (v->jv_str[i] < 0x20 || v->jv_str[i] > 0x7e)
			return 0;
		if (v->jv_str[i] != ' ')
			blank = 0;
	}
	return !blank;
}

static void
bad_install(struct kg_response *resp, int status)
{
	kg_resp_error(resp, status, "invalid_install_token",
	    "The install token is not valid.");
}

/*
 * The error contract of SPEC 7, in its order: 400 invalid_install_token
 * (any malformed body, the token missing or not mit_ + 40 hex), 400
 * daemon_id_required, 401 invalid_install_token (unknown or expired),
 * 401 install_token_already_used.  The address bucket (SPEC 12) is
 * taken before any of it.
 */
enum kg_err
kg_enroll_exchange(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_jval		 v[EX__MAX];
	struct kg_daemon_token	 dt;
	struct kg_audit		 au;
	unsigned char		 ih[32], dh[32];
	char			 dtok[TOKEN_LEN + 1];
	const char		*bad = NULL;
	long			 retry = 0;
	enum kg_err		 r;
	int			 allowed = 0;

	if ((r = kg_rate_take(ctx, KG_RATE_ADDR, req->remote_addr, &allowed,
	    &retry)) != KG_OK)
		return r;
	if (!allowed) {
		kg_rate_refuse(resp, retry);
		return KG_OK;
	}
	switch (kg_json_parse(&ctx->json, req->body, req->body_len,
	    exchange_fields, v, &bad)) {
	case KG_JSON_OK:
		break;
	case KG_JSON_NOMEM:
		return KG_ERR_NOMEM;
	default:
		bad_install(resp, 400);
		return KG_OK;
	}
	if (!token_shape("mit_", v[EX_TOKEN].jv_str, v[EX_TOKEN].jv_len)) {
		bad_install(resp, 400);
		return KG_OK;
	}
	if (!daemon_id_valid(&v[EX_DAEMON])) {
		kg_resp_error(resp, 400, "daemon_id_required",
		    "daemon_id must be 1 to 128 printable characters.");
		return KG_OK;
	}
	if ((r = token_hash(v[EX_TOKEN].jv_str, v[EX_TOKEN].jv_len, ih)) !=
	    KG_OK || (r = token_new("mdt_", dtok)) != KG_OK ||
	    (r = token_hash(dtok, TOKEN_LEN, dh)) != KG_OK)
		goto out;
	memset(&au, 0, sizeof(au));
	au.au_actor_type = "install_token";	/* actor: set by the store */
	au.au_remote_addr = req->remote_addr;
	r = kg_store_install_exchange(ctx->db, ih, dh, v[EX_DAEMON].jv_str,
	    &au, &dt);
	if (r == KG_ERR_NOT_FOUND || r == KG_ERR_CONFLICT) {
		if (r == KG_ERR_NOT_FOUND)
			bad_install(resp, 401);
		else
			kg_resp_error(resp, 401, "install_token_already_used",
			    "The install token has already been used.");
		r = KG_OK;
		goto out;
	}
	if (r != KG_OK)
		goto out;
	kg_resp_json_begin(resp, 200);
	resp->no_store = 1;
	if ((r = kg_buf_printf(&resp->body, "{\"token\":\"%s\",\"namespace\":",
	    dtok)) != KG_OK ||
	    (r = kg_buf_json_qstr(&resp->body, dt.dt_ns)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, ",\"daemon_id\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(&resp->body, dt.dt_daemon_id)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, ",\"expires_at\":")) != KG_OK ||
	    (r = kg_json_time(&resp->body, dt.dt_expires_us)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, "}")) != KG_OK)
		goto out;
	kg_log_info("daemon token %" PRIu64 " enrolled in %s", dt.dt_id,
	    dt.dt_ns);
out:
	OPENSSL_cleanse(ih, sizeof(ih));
	OPENSSL_cleanse(dh, sizeof(dh));
	OPENSSL_cleanse(dtok, sizeof(dtok));
	return r;
}

/* ---------------------------------------------------------------- list, revoke */

/* A daemon token as the admins see it (never its secret). */
static enum kg_err
daemon_json(struct kg_buf *b, const struct kg_daemon_token *t)
{
	enum kg_err	r;

	if ((r = kg_buf_printf(b, "{\"id\":%" PRIu64 ",\"daemon_id\":",
	    t->dt_id)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, t->dt_daemon_id)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"namespace\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, t->dt_ns)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"created_at\":")) != KG_OK ||
	    (r = kg_json_time(b, t->dt_created_us)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"expires_at\":")) != KG_OK ||
	    (r = kg_json_time(b, t->dt_expires_us)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"last_used_at\":")) != KG_OK ||
	    (r = kg_json_time(b, t->dt_last_used_us)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"last_seen_at\":")) != KG_OK ||
	    (r = kg_json_time(b, t->dt_last_seen_us)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"revoked_at\":")) != KG_OK ||
	    (r = kg_json_time(b, t->dt_revoked_us)) != KG_OK)
		return r;
	return kg_buf_puts(b, "}");
}

static enum kg_err
list_item(const struct kg_daemon_token *t, void *arg)
{
	struct kg_page	*pg = arg;
	enum kg_err	 r;

	if (!kg_page_item(pg, t->dt_id, &r))
		return r;
	return daemon_json(pg->pg_b, t);
}

enum kg_err
kg_enroll_daemon_list(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_page	 pg;
	const char	*ns = kg_param(params, "ns");
	uint64_t	 before = 0, ns_id = 0;
	size_t		 limit = 0, n = 0;
	enum kg_err	 r;
	int		 done;

	if ((r = kg_ns_gate(ctx, req, pr, ns, KG_NS_ADMIN,
	    "daemon_token_list", NULL, resp, &ns_id, &done)) != KG_OK || done)
		return r;
	if ((r = kg_list_limit(req, &limit, resp)) != KG_OK || limit == 0 ||
	    (r = kg_page_cursor(req, &before, resp, &done)) != KG_OK || done)
		return r;
	if ((r = kg_page_begin(&pg, resp, limit)) != KG_OK ||
	    (r = kg_store_daemon_list(ctx->db, ns_id, before, limit + 1,
	    list_item, &pg, &n)) != KG_OK)
		return r;
	return kg_page_end(&pg);
}

enum kg_err
kg_enroll_daemon_revoke(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_audit	 au;
	const char	*ns = kg_param(params, "ns");
	const char	*id = kg_param(params, "id");
	uint64_t	 ns_id = 0, tid;
	int64_t		 at = 0;
	enum kg_err	 r;
	int		 done;

	if ((r = kg_ns_gate(ctx, req, pr, ns, KG_NS_ADMIN,
	    "daemon_token_revoke", NULL, resp, &ns_id, &done)) != KG_OK || done)
		return r;
	tid = id != NULL ? kg_id_parse(id) : 0;
	if (tid != 0) {
		kg_audit_event(&au, req, pr, ns, NULL, NULL, NULL);
		r = kg_store_daemon_revoke(ctx->db, ns_id, tid, &au, &at);
	} else
		r = KG_ERR_NOT_FOUND;
	if (r == KG_ERR_NOT_FOUND) {
		char	target[40];

		/* Allowed, but nothing to revoke: failed (as org tokens). */
		(void)snprintf(target, sizeof(target), "daemon_token:%" PRIu64,
		    tid);
		kg_audit_refusal(ctx, req, pr, ns, "daemon_token_revoke",
		    tid != 0 ? target : NULL, "failed");
		kg_resp_error(resp, 404, "not_found",
		    "No such daemon token in this namespace.");
		return KG_OK;
	}
	if (r != KG_OK)
		return r;
	kg_log_info("daemon token %" PRIu64 " revoked in %s", tid, ns);
	kg_resp_json_begin(resp, 200);
	if ((r = kg_buf_printf(&resp->body, "{\"id\":%" PRIu64
	    ",\"revoked_at\":", tid)) != KG_OK ||
	    (r = kg_json_time(&resp->body, at)) != KG_OK)
		return r;
	return kg_buf_puts(&resp->body, "}");
}

/* ---------------------------------------------------------------- daemon routes */

/* whoami and heartbeat: the daemon's own token, fresh from the row. */
static enum kg_err
daemon_self(struct kg_ctx *ctx, const struct kg_principal *pr, int beat,
    struct kg_response *resp)
{
	struct kg_daemon_token	t;
	uint64_t		id = daemon_of(pr);
	enum kg_err		r;

	if (id == 0)	/* the gate lets only daemon tokens here */
		return KG_ERR_INTERNAL;
	/* The id came from the row authentication read: one read by id. */
	if (beat)
		r = kg_store_daemon_heartbeat(ctx->db, id, &t);
	else if ((r = kg_store_daemon_by_id(ctx->db, id, &t)) == KG_OK &&
	    !t.dt_valid)
		r = KG_ERR_NOT_FOUND;
	if (r == KG_ERR_NOT_FOUND) {	/* revoked since authentication */
		kg_resp_error(resp, 401, "invalid_token",
		    "The credential is not valid.");
		return KG_OK;
	}
	if (r != KG_OK)
		return r;
	kg_resp_json_begin(resp, 200);
	return daemon_json(&resp->body, &t);
}

enum kg_err
kg_enroll_daemon_whoami(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	return daemon_self(ctx, pr, 0, resp);
}

enum kg_err
kg_enroll_daemon_heartbeat(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	return daemon_self(ctx, pr, 1, resp);
}

/* ---------------------------------------------------------------- authentication */

enum kg_err
kg_daemon_check(struct kg_ctx *ctx, const char *token, size_t len,
    struct kg_daemon_token *out)
{
	unsigned char	h[32];
	enum kg_err	r;

	memset(out, 0, sizeof(*out));
	if (!token_shape("mdt_", token, len))
		return KG_ERR_INVALID;	/* refused without a query (SPEC 3) */
	if ((r = token_hash(token, len, h)) != KG_OK)
		return r;
	r = kg_store_daemon_lookup(ctx->db, h, out);
	OPENSSL_cleanse(h, sizeof(h));
	if (r == KG_ERR_NOT_FOUND || (r == KG_OK && !out->dt_valid))
		r = KG_ERR_INVALID;
	if (r != KG_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

enum kg_authn_result
kg_daemon_authn(struct kg_ctx *ctx, const char *token, size_t len,
    struct kg_principal *pr, struct kg_response *resp)
{
	struct kg_daemon_token	t;
	enum kg_err		r;

	memset(pr, 0, sizeof(*pr));
	r = kg_daemon_check(ctx, token, len, &t);
	if (r == KG_ERR_INVALID) {
		kg_resp_error(resp, 401, "invalid_token",
		    "The credential is not valid.");
		return KG_AUTHN_REFUSED;
	}
	if (r != KG_OK) {	/* never grant when the state is unknown */
		kg_resp_from_err(resp, r == KG_ERR_INTERNAL ||
		    r == KG_ERR_NOMEM ? r : KG_ERR_DB);
		return KG_AUTHN_REFUSED;
	}
	pr->pr_method = KG_METHOD_DAEMON_TOKEN;
	(void)snprintf(pr->pr_subject, sizeof(pr->pr_subject),
	    "daemon:%" PRIu64, t.dt_id);
	(void)snprintf(pr->pr_ns, sizeof(pr->pr_ns), "%s", t.dt_ns);
	pr->pr_row_id = t.dt_id;
	/* Best effort, at most once a minute: never fails the request. */
	if (t.dt_touch_due && kg_store_daemon_touch(ctx->db, t.dt_id) != KG_OK)
		kg_log_warn("daemon token %" PRIu64 ": last_used_at not "
		    "recorded", t.dt_id);
	return KG_AUTHN_OK;
}
