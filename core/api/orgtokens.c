/*
 * orgtokens.c: org tokens (SPEC 8).  The SQL lives in
 * core/store/orgtoken.c.
 *
 * Who may act depends on the namespace in the path, so each handler
 * decides, in the order of members.c: first who the caller is (403
 * before anything about the namespace is read, so a caller bound
 * elsewhere never learns whether it exists), then the input (400), then
 * the namespace (404 namespace_not_found).  A token's "id" in responses
 * and URLs is its numeric row id (every query also carries the
 * namespace id: another namespace's id is 404); its public name in
 * subjects, created_by and audit rows is "org:<id8>".  Every mint and
 * revocation is audited in its transaction; refusals best effort.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/api/nsgate.h"
#include "core/api/orgtokens.h"
#include "core/base/log.h"
#include "core/crypto/token.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/store/orgtoken.h"
#include "core/store/session.h"
#include "core/store/wallet.h"

/* How often a freshly minted token may collide before giving up. */
#define MINT_TRIES	3

/* ---------------------------------------------------------------- helpers */

/* Appends the name, or null. */
static enum kg_err
json_name(struct kg_buf *b, const struct kg_orgtoken *t)
{
	return t->ot_has_name ? kg_buf_json_qstr(b, t->ot_name) :
	    kg_buf_puts(b, "null");
}

/* A list item: {id, prefix, name, created_by, created_at, last_used_at}. */
static enum kg_err
item_json(struct kg_buf *b, const struct kg_orgtoken *t)
{
	enum kg_err	r;

	if ((r = kg_buf_printf(b, "{\"id\":%" PRIu64 ",\"prefix\":\"%s\","
	    "\"name\":", t->ot_id, t->ot_id8)) != KG_OK ||
	    (r = json_name(b, t)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"created_by\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, t->ot_created_by)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"created_at\":")) != KG_OK ||
	    (r = kg_json_time(b, t->ot_created_us)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"last_used_at\":")) != KG_OK ||
	    (r = kg_json_time(b, t->ot_last_used_us)) != KG_OK)
		return r;
	return kg_buf_puts(b, "}");
}

/* ---------------------------------------------------------------- POST */

enum { OC_NAME, OC__MAX };

static const struct kg_jfield create_fields[] = {
	{ "name",	KG_JT_STRING,	KG_JF_NULLABLE, 0, 4096 },
	{ NULL,		KG_JT__MAX,	0, 0, 0 },
};

/* 1 to 255 characters (UTF-8 is checked by the JSON layer), no controls. */
static int
name_ok(const struct kg_jval *v)
{
	const unsigned char	*p;
	size_t			 chars = 0;

	for (p = (const unsigned char *)v->jv_str; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if ((*p & 0xc0) != 0x80)
			chars++;
	}
	return chars >= 1 && chars <= KG_ORGTOKEN_NAME_MAX &&
	    v->jv_len <= KG_ORGTOKEN_NAME_BYTES;
}

struct mint {
	const struct kg_request		*mt_req;
	const struct kg_principal	*mt_pr;
	const char			*mt_prefix;	/* token_prefix */
	const char			*mt_ns;
	uint64_t			 mt_ns_id;
	const char			*mt_name;	/* NULL: none */
	const char			*mt_by;
	char				 mt_secret[KG_TOKEN_MAX];
	struct kg_orgtoken		 mt_tok;
};

enum kg_err
kg_orgtoken_mint(struct kg_db *db, const char *prefix, uint64_t ns_id,
    const char *name, const char *by, char *token, struct kg_orgtoken *out)
{
	unsigned char	h[32];
	char		id8[KG_TOKEN_ID_LEN + 1];
	enum kg_err	r = KG_ERR_CONFLICT;
	int		i;

	for (i = 0; i < MINT_TRIES && r == KG_ERR_CONFLICT; i++) {
		if ((r = kg_token_mint(prefix, "ot", token, id8)) != KG_OK ||
		    (r = kg_store_token_hash(token, h)) != KG_OK)
			break;
		r = kg_store_orgtoken_create(db, ns_id, id8, h, name, by, out);
	}
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

/* The token, then its audit row, in one transaction.  Safe to re-run. */
static enum kg_err
mint_txn(struct kg_db *db, void *arg)
{
	struct mint	*m = arg;
	struct kg_audit	 au;
	char		 target[16];
	enum kg_err	 r;

	if ((r = kg_orgtoken_mint(db, m->mt_prefix, m->mt_ns_id, m->mt_name,
	    m->mt_by, m->mt_secret, &m->mt_tok)) != KG_OK)
		return r;
	(void)snprintf(target, sizeof(target), "org:%s", m->mt_tok.ot_id8);
	kg_audit_event(&au, m->mt_req, m->mt_pr, m->mt_ns, "org_token_create",
	    target, "ok");
	return kg_store_audit(db, &au);
}

enum kg_err
kg_orgtokens_create(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	const char		*ns = kg_param(params, "ns");
	struct kg_jval		 v[OC__MAX];
	struct mint		 m;
	char			 by[KG_ORGTOKEN_CREATED_BY_MAX + 1];
	const char		*bad = NULL, *body = req->body;
	size_t			 blen = req->body_len;
	enum kg_json_status	 js;
	enum kg_err		 r;
	int			 done;

	memset(&m, 0, sizeof(m));
	if ((r = kg_ns_gate(ctx, req, pr, ns, KG_NS_ADMIN,
	    "org_token_create", NULL, resp, &m.mt_ns_id, &done)) != KG_OK || done)
		return r;
	/* The body is optional: none (or blanks) reads as {}. */
	if (blen == 0 || strspn(body, " \t\r\n") == blen) {
		body = "{}";
		blen = 2;
	}
	if ((js = kg_json_parse(&ctx->json, body, blen, create_fields, v,
	    &bad)) != KG_JSON_OK)
		return kg_resp_json_refused(resp, js, bad);
	if (v[OC_NAME].jv_present && !name_ok(&v[OC_NAME])) {
		kg_resp_error(resp, 400, "invalid_request",
		    "name must be 1 to 255 characters, without control "
		    "characters.");
		return KG_OK;
	}
	kg_principal_created_by(pr, by, sizeof(by));
	m.mt_req = req;
	m.mt_pr = pr;
	m.mt_prefix = ctx->cfg->token_prefix;
	m.mt_ns = ns;
	m.mt_name = v[OC_NAME].jv_present ? v[OC_NAME].jv_str : NULL;
	m.mt_by = by;
	if ((r = kg_db_txn(ctx->db, mint_txn, &m)) != KG_OK)
		goto out;
	kg_resp_json_begin(resp, 201);
	resp->no_store = 1;
	if ((r = kg_buf_printf(&resp->body, "{\"id\":%" PRIu64 ",\"token\":",
	    m.mt_tok.ot_id)) != KG_OK ||
	    (r = kg_buf_json_qstr(&resp->body, m.mt_secret)) != KG_OK ||
	    (r = kg_buf_printf(&resp->body, ",\"prefix\":\"%s\",\"name\":",
	    m.mt_tok.ot_id8)) != KG_OK ||
	    (r = json_name(&resp->body, &m.mt_tok)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, ",\"created_at\":")) != KG_OK ||
	    (r = kg_json_time(&resp->body, m.mt_tok.ot_created_us)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, "}")) != KG_OK)
		goto out;
	kg_log_info("org token %s created in %s by %s", m.mt_tok.ot_id8, ns,
	    by);
out:
	OPENSSL_cleanse(m.mt_secret, sizeof(m.mt_secret));
	return r;
}

/* ---------------------------------------------------------------- GET */

static enum kg_err
list_item(const struct kg_orgtoken *t, void *arg)
{
	struct kg_page	*pg = arg;
	enum kg_err	 r;

	if (!kg_page_item(pg, t->ot_id, &r))
		return r;
	return item_json(pg->pg_b, t);
}

/*
 * SPEC 8: at most list_max per answer, and SPEC 1: never more than
 * KG_LIST_LIMIT_MAX, whatever the config says.  Without ?limit the
 * answer is all live tokens up to that; ?limit (SPEC 1 rules) asks for
 * fewer, never more; next_cursor pages on.
 */
static enum kg_err
list_limit(struct kg_ctx *ctx, const struct kg_request *req, size_t *limit,
    struct kg_response *resp)
{
	size_t		max = ctx->cfg->list_max > 0 &&
	    (size_t)ctx->cfg->list_max < KG_LIST_LIMIT_MAX ?
	    (size_t)ctx->cfg->list_max : KG_LIST_LIMIT_MAX;
	char		one[2];
	enum kg_err	r;

	if (kg_query_get(req->query, "limit", one, sizeof(one)) == 0) {
		*limit = max;
		return KG_OK;
	}
	if ((r = kg_list_limit(req, limit, resp)) != KG_OK || *limit == 0)
		return r;
	if (*limit > max)
		*limit = max;
	return KG_OK;
}

enum kg_err
kg_orgtokens_list(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	const char	*ns = kg_param(params, "ns");
	struct kg_page	 pg;
	uint64_t	 before = 0, ns_id = 0;
	size_t		 limit = 0, n = 0;
	enum kg_err	 r;
	int		 done;

	if ((r = kg_ns_gate(ctx, req, pr, ns, KG_NS_ADMIN,
	    "org_token_list", NULL, resp, &ns_id, &done)) != KG_OK || done)
		return r;
	if ((r = list_limit(ctx, req, &limit, resp)) != KG_OK || limit == 0 ||
	    (r = kg_page_cursor(req, &before, resp, &done)) != KG_OK || done)
		return r;
	if ((r = kg_page_begin(&pg, resp, limit)) != KG_OK ||
	    (r = kg_store_orgtoken_list(ctx->db, ns_id, before, limit + 1,
	    list_item, &pg, &n)) != KG_OK)
		return r;
	return kg_page_end(&pg);
}

/* ---------------------------------------------------------------- DELETE */

/*
 * 200 when the token went from live to revoked (its next use is 401 at
 * once: authentication reads the row on every request), else 404 (absent,
 * of another namespace, already revoked), audited as failed.
 */
enum kg_err
kg_orgtokens_revoke(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	const char		*ns = kg_param(params, "ns");
	const char		*id = kg_param(params, "id");
	struct kg_orgtoken	 t;
	struct kg_audit		 au;
	uint64_t		 ns_id = 0, tid;
	enum kg_err		 r;
	int			 done;

	if ((r = kg_ns_gate(ctx, req, pr, ns, KG_NS_ADMIN,
	    "org_token_revoke", NULL, resp, &ns_id, &done)) != KG_OK || done)
		return r;
	tid = id != NULL ? kg_id_parse(id) : 0;
	if (tid != 0) {
		kg_audit_event(&au, req, pr, ns, "org_token_revoke", NULL,
		    "ok");
		r = kg_store_orgtoken_revoke(ctx->db, ns_id, tid, &au, &t);
	} else
		r = KG_ERR_NOT_FOUND;
	if (r == KG_ERR_NOT_FOUND) {
		char	target[32];

		(void)snprintf(target, sizeof(target), "id:%" PRIu64, tid);
		kg_audit_refusal(ctx, req, pr, ns, "org_token_revoke",
		    tid != 0 ? target : NULL, "failed");
		kg_resp_error(resp, 404, "not_found",
		    "No such live org token in this namespace.");
		return KG_OK;
	}
	if (r != KG_OK)
		return r;
	kg_log_info("org token %s revoked in %s", t.ot_id8, ns);
	kg_resp_json_begin(resp, 200);
	if ((r = kg_buf_printf(&resp->body, "{\"id\":%" PRIu64
	    ",\"revoked_at\":", t.ot_id)) != KG_OK ||
	    (r = kg_json_time(&resp->body, t.ot_revoked_us)) != KG_OK)
		return r;
	return kg_buf_puts(&resp->body, "}");
}

/* ---------------------------------------------------------------- authn */

enum kg_err
kg_orgtoken_find(struct kg_ctx *ctx, const char *token, size_t len,
    struct kg_orgtoken *out)
{
	struct kg_token	 tk;
	unsigned char	 h[32];
	char		 tok[KG_TOKEN_MAX];
	enum kg_err	 r;

	memset(out, 0, sizeof(*out));
	if (len >= sizeof(tok) || ctx->cfg->token_prefix == NULL)
		return KG_ERR_INVALID;
	memcpy(tok, token, len);
	tok[len] = '\0';
	/* Shape and checksum first: a malformed token costs no query. */
	if (strlen(tok) != len || kg_token_parse(tok, &tk) != KG_OK ||
	    strcmp(tk.tk_type, "ot") != 0 ||
	    strcmp(tk.tk_prefix, ctx->cfg->token_prefix) != 0) {
		OPENSSL_cleanse(tok, sizeof(tok));
		return KG_ERR_INVALID;
	}
	r = kg_store_token_hash(tok, h);
	OPENSSL_cleanse(tok, sizeof(tok));
	if (r != KG_OK)
		return KG_ERR_INTERNAL;
	/* The hash is the lookup key: no secret is compared in C. */
	r = kg_store_orgtoken_lookup(ctx->db, h, out);
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

enum kg_authn_result
kg_orgtoken_authn(struct kg_ctx *ctx, const char *token, size_t len,
    struct kg_principal *pr, struct kg_response *resp)
{
	struct kg_orgtoken	t;
	enum kg_err		r;

	r = kg_orgtoken_find(ctx, token, len, &t);
	/* SPEC 8: unknown and revoked answer alike, byte for byte. */
	if (r == KG_ERR_INVALID || r == KG_ERR_NOT_FOUND ||
	    (r == KG_OK && t.ot_revoked_us != 0)) {
		kg_resp_error(resp, 401, "invalid_token",
		    "The credential is not valid.");
		return KG_AUTHN_REFUSED;
	}
	if (r != KG_OK) {	/* never grant when the state is unknown */
		kg_resp_from_err(resp, r == KG_ERR_INTERNAL ||
		    r == KG_ERR_NOMEM ? r : KG_ERR_DB);
		return KG_AUTHN_REFUSED;
	}
	/* Best effort, at most once a minute: a lost touch is no refusal. */
	if (t.ot_touch_due && kg_store_orgtoken_touch(ctx->db, t.ot_id) !=
	    KG_OK)
		kg_log_warn("last_used_at of org token %s not updated",
		    t.ot_id8);
	memset(pr, 0, sizeof(*pr));
	pr->pr_method = KG_METHOD_ORG_TOKEN;
	(void)snprintf(pr->pr_subject, sizeof(pr->pr_subject), "org:%s",
	    t.ot_id8);
	(void)snprintf(pr->pr_ns, sizeof(pr->pr_ns), "%s", t.ot_ns);
	(void)snprintf(pr->pr_scopes, sizeof(pr->pr_scopes), "admin");
	(void)snprintf(pr->pr_key_prefix, sizeof(pr->pr_key_prefix), "%s",
	    t.ot_id8);
	pr->pr_row_id = t.ot_id;
	return KG_AUTHN_OK;
}
