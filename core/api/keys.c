/*
 * keys.c: API keys (SPEC 6), the wallet-minted key (SPEC 4), token
 * exchange and introspection (SPEC 5).  The SQL lives in
 * core/store/apikey.c.
 *
 * A key's "id" in responses and URLs is its numeric row id: every query
 * carries the caller's namespace id, so guessing another namespace's id
 * finds nothing (404, like an id that does not exist).  Its public name
 * in subjects, logs and audit rows is the id8 prefix ("key:<id8>").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "core/api/authn.h"
#include "core/api/enroll.h"
#include "core/api/keys.h"
#include "core/api/nsgate.h"
#include "core/api/orgtokens.h"
#include "core/api/session.h"
#include "core/api/wallet.h"
#include "core/base/log.h"
#include "core/base/names.h"
#include "core/crypto/jwt.h"
#include "core/crypto/token.h"
#include "core/store/apikey.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/store/enroll.h"
#include "core/store/orgtoken.h"
#include "core/store/session.h"

/* How often a freshly minted key may collide before giving up. */
#define MINT_TRIES	3
/* Default lifetime when a mint request names none. */
#define DEFAULT_EXPIRY	"90d"
#define SCOPE_MAX	64	/* bytes of one scope */

/* Scopes every namespace knows (SPEC 2), beside config "scopes". */
static const char *const builtin_scopes[] = {
	"keys:read", "keys:write", "admin", "introspect", NULL
};

static const struct {
	const char	*name;
	long		 seconds;
} presets[] = {
	{ "30d", 30L * 86400 },
	{ "60d", 60L * 86400 },
	{ "90d", 90L * 86400 },
	{ "1y", 365L * 86400 },
	{ "never", 0 },
	{ NULL, 0 }
};

/* ---------------------------------------------------------------- helpers */

/* Appends the space-separated words of list as a JSON array. */
static enum kg_err
json_words(struct kg_buf *b, const char *list)
{
	const char	*p = list;
	size_t		 w;
	enum kg_err	 r;
	int		 first = 1;

	if ((r = kg_buf_puts(b, "[")) != KG_OK)
		return r;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		w = strcspn(p, " ");
		if ((r = kg_buf_printf(b, "%s\"%.*s\"", first ? "" : ",",
		    (int)w, p)) != KG_OK)
			return r;
		first = 0;
		p += w;
	}
	return kg_buf_puts(b, "]");
}

/* Is w[0..n) one of the space-separated words of list? */
static int
word_in(const char *list, const char *w, size_t n)
{
	const char	*p = list;
	size_t		 l;

	while (list != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		l = strcspn(p, " ");
		if (l == n && n > 0 && memcmp(p, w, n) == 0)
			return 1;
		p += l;
	}
	return 0;
}

/* Appends word to the space-separated list out (size len); 0 if full. */
static int
word_add(char *out, size_t len, const char *word)
{
	size_t	n = strlen(out), w = strlen(word);

	if (n + (n > 0) + w + 1 > len)
		return 0;
	if (n > 0)
		out[n++] = ' ';
	memcpy(out + n, word, w + 1);
	return 1;
}

/* The key object of SPEC 6 (never its secret). */
static enum kg_err
key_json(struct kg_buf *b, const struct kg_apikey *k)
{
	enum kg_err	r;

	if ((r = kg_buf_printf(b, "{\"id\":%" PRIu64 ",\"name\":",
	    k->ak_id)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, k->ak_name)) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"prefix\":\"%s\",\"namespace\":",
	    k->ak_id8)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, k->ak_ns)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"scopes\":")) != KG_OK ||
	    (r = json_words(b, k->ak_scopes)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"project_ids\":")) != KG_OK)
		return r;
	if (k->ak_all_projects)
		r = kg_buf_puts(b, "null");
	else
		r = json_words(b, k->ak_projects);
	if (r != KG_OK ||
	    (r = kg_buf_puts(b, ",\"created_at\":")) != KG_OK ||
	    (r = kg_json_time(b, k->ak_created_us)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"expires_at\":")) != KG_OK ||
	    (r = kg_json_time(b, k->ak_expires_us)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"created_by\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, k->ak_created_by)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"last_used_at\":")) != KG_OK ||
	    (r = kg_json_time(b, k->ak_last_used_us)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"revoked_at\":")) != KG_OK ||
	    (r = kg_json_time(b, k->ak_revoked_us)) != KG_OK)
		return r;
	if (k->ak_wallet[0] != '\0' &&
	    (r = kg_buf_printf(b, ",\"wallet\":\"%s\"", k->ak_wallet)) != KG_OK)
		return r;
	return kg_buf_puts(b, "}");
}

/* ---------------------------------------------------------------- validation */

int
kg_keys_scope_known(const struct kg_config *cfg, const char *scope)
{
	size_t	n = strlen(scope);
	int	j;

	if (n == 0 || n > SCOPE_MAX || strcmp(scope, "operator.write") == 0)
		return 0;
	for (j = 0; builtin_scopes[j] != NULL; j++)
		if (strcmp(builtin_scopes[j], scope) == 0)
			return 1;
	return word_in(cfg->scopes, scope, n);
}

long
kg_keys_expiry(const char *preset)
{
	int	i;

	for (i = 0; presets[i].name != NULL; i++)
		if (strcmp(presets[i].name, preset) == 0)
			return presets[i].seconds;
	return -1;
}

/* A checked mint request. */
struct key_req {
	const char	*kq_name;
	char		 kq_scopes[KG_KEY_SCOPES_MAX + 1];
	char		 kq_projects[KG_KEY_PROJECTS_BYTES];
	int		 kq_all_projects;
	long		 kq_expires_in;
	/* a refusal: status 0 when none */
	int		 kq_status;
	const char	*kq_code, *kq_msg;
};

static int
refuse(struct key_req *q, int status, const char *code, const char *msg)
{
	q->kq_status = status;
	q->kq_code = code;
	q->kq_msg = msg;
	return 0;
}

/* 1 to 255 characters (UTF-8 is checked by the JSON layer), no controls. */
static int
check_name(struct key_req *q, const struct kg_jval *v)
{
	const unsigned char	*p;
	size_t			 chars = 0;

	q->kq_name = v->jv_str;
	for (p = (const unsigned char *)v->jv_str; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			break;
		if ((*p & 0xc0) != 0x80)
			chars++;
	}
	if (*p != '\0' || chars < 1 || chars > KG_KEY_NAME_MAX ||
	    v->jv_len > KG_KEY_NAME_BYTES)
		return refuse(q, 400, "invalid_request",
		    "name must be 1 to 255 characters, without control "
		    "characters.");
	return 1;
}

/*
 * Every scope known (config "scopes" and the built-ins), never
 * operator.write (SPEC 2), at least one; duplicates are dropped.
 * v absent: the space-separated defaults dflt (wallet keys).
 */
static int
check_scopes(const struct kg_config *cfg, struct key_req *q,
    const struct kg_jval *v, const char *dflt)
{
	const char	*s;
	char		 one[SCOPE_MAX + 1];
	size_t		 i, w;

	q->kq_scopes[0] = '\0';
	if (!v->jv_present) {
		for (s = dflt != NULL ? dflt : ""; *s != '\0'; s += w) {
			while (*s == ' ')
				s++;
			if ((w = strcspn(s, " ")) == 0)
				break;
			if (w > SCOPE_MAX)
				return refuse(q, 400, "invalid_scopes",
				    "A default scope is too long.");
			memcpy(one, s, w);
			one[w] = '\0';
			if (!kg_keys_scope_known(cfg, one))
				return refuse(q, 400, "invalid_scopes",
				    "A default scope (wallet_key_scopes) is not "
				    "one this service accepts.");
			if (!word_in(q->kq_scopes, one, w) &&
			    !word_add(q->kq_scopes, sizeof(q->kq_scopes), one))
				return refuse(q, 400, "invalid_scopes",
				    "Too many scopes.");
		}
		if (q->kq_scopes[0] == '\0')
			return refuse(q, 400, "invalid_scopes",
			    "At least one scope is required.");
		return 1;
	}
	if (v->jv_len == 0)
		return refuse(q, 400, "invalid_scopes",
		    "At least one scope is required.");
	for (i = 0; i < v->jv_len; i++) {
		s = kg_json_item(v, i);
		if (!kg_keys_scope_known(cfg, s))
			return refuse(q, 400, "invalid_scopes",
			    "A scope is not one this service accepts.");
		if (!word_in(q->kq_scopes, s, strlen(s)) &&
		    !word_add(q->kq_scopes, sizeof(q->kq_scopes), s))
			return refuse(q, 400, "invalid_scopes",
			    "Too many scopes.");
	}
	return 1;
}

static int
check_expiry(struct key_req *q, const struct kg_jval *v)
{
	const char	*s = v->jv_present ? v->jv_str : DEFAULT_EXPIRY;

	if ((q->kq_expires_in = kg_keys_expiry(s)) >= 0)
		return 1;
	return refuse(q, 400, "invalid_expiry",
	    "expires_in must be one of 30d, 60d, 90d, 1y, never.");
}

/* Absent or null: every project; else 1 to 15 valid ids (an empty list
 * would mean "no project", a key good for nothing: refused). */
static int
check_projects(struct key_req *q, const struct kg_jval *v)
{
	const char	*s;
	size_t		 i;

	q->kq_projects[0] = '\0';
	q->kq_all_projects = !v->jv_present;
	if (!v->jv_present)
		return 1;
	if (v->jv_len == 0 || v->jv_len > KG_KEY_PROJECTS_MAX)
		return refuse(q, 400, "invalid_request",
		    "project_ids must list 1 to 15 projects, or be null.");
	for (i = 0; i < v->jv_len; i++) {
		s = kg_json_item(v, i);
		if (!kg_project_id_valid(s))
			return refuse(q, 400, "invalid_request",
			    "project_ids: each must match ^[A-Za-z0-9._:-]{1,64}$.");
		if (!word_in(q->kq_projects, s, strlen(s)))
			(void)word_add(q->kq_projects, sizeof(q->kq_projects),
			    s);
	}
	return 1;
}

/*
 * Does pr pass ok for every space-separated word of list?  The lists
 * were checked already (check_scopes, check_projects): a word longer
 * than max cannot be there, and ends the walk.
 */
static int
words_all(const struct kg_principal *pr, const char *list, size_t max,
    int (*ok)(const struct kg_principal *, const char *))
{
	const char	*p;
	char		 one[KG_KEY_SCOPES_MAX + 1];
	size_t		 w;

	for (p = list; *p != '\0'; p += w) {
		while (*p == ' ')
			p++;
		if ((w = strcspn(p, " ")) == 0 || w > max || w >= sizeof(one))
			break;
		memcpy(one, p, w);
		one[w] = '\0';
		if (!ok(pr, one))
			return 0;
	}
	return 1;
}

/*
 * No escalation (SPEC 2): every scope held by the caller (admin implies
 * all but operator.write; the global admin holds everything), and a
 * caller restricted to projects mints only within them.
 */
static int
check_escalation(const struct kg_principal *pr, struct key_req *q)
{
	if (!words_all(pr, q->kq_scopes, SCOPE_MAX, kg_principal_has_scope))
		return refuse(q, 403, "scope_escalation",
		    "A key cannot hold a scope its creator lacks.");
	if (pr->pr_projects[0] == '\0')
		return 1;
	if (q->kq_all_projects)
		return refuse(q, 403, "scope_escalation",
		    "A project-restricted caller cannot mint a key for every "
		    "project.");
	if (!words_all(pr, q->kq_projects, KG_PROJECT_ID_MAX,
	    kg_principal_allows_project))
		return refuse(q, 403, "scope_escalation",
		    "A key cannot reach a project its creator cannot.");
	return 1;
}

/*
 * The caller's namespace id: 400 invalid_namespace for the global admin
 * without a selected one, 404 namespace_not_found.  *done 1 when resp
 * holds the refusal.
 */
static enum kg_err
caller_ns(struct kg_ctx *ctx, const struct kg_principal *pr,
    struct kg_response *resp, uint64_t *ns_id, int *done)
{
	*done = 1;
	if (pr->pr_ns[0] == '\0') {
		kg_resp_error(resp, 400, "invalid_namespace",
		    "Choose a namespace with X-Keygate-Namespace or "
		    "?namespace=.");
		return KG_OK;
	}
	return kg_ns_lookup(ctx, pr->pr_ns, resp, ns_id, done);
}

/*
 * A refused mint (403: SPEC 9 audits every failed attempt), best effort
 * and outside any transaction: the refusal rolled its own back.  The
 * target is the refusal's code (the key was never made).
 */
static void
audit_denied(struct kg_db *db, const char *remote, const char *ns,
    const char *actor_type, const char *actor, const char *code)
{
	struct kg_audit	au;

	memset(&au, 0, sizeof(au));
	au.au_namespace = ns;
	au.au_actor_type = actor_type;
	au.au_actor = actor;
	au.au_action = "key_create";
	au.au_target = code;
	au.au_remote_addr = remote;
	au.au_outcome = "denied";
	if (kg_store_audit(db, &au) != KG_OK)
		kg_log_warn("audit event key_create (denied) not recorded");
}

/* ---------------------------------------------------------------- minting */

struct mint {
	struct kg_ctx		*mt_ctx;
	const char		*mt_remote;
	uint64_t		 mt_ns_id;
	const char		*mt_ns;
	const struct key_req	*mt_q;
	const char		*mt_wallet;	/* wallet keys */
	const char		*mt_by;		/* created_by */
	const char		*mt_actor, *mt_actor_type;
	char			 mt_secret[KG_TOKEN_MAX];
	struct kg_apikey	 mt_key;
};

enum kg_err
kg_keys_mint(struct kg_db *db, const char *prefix,
    const struct kg_apikey_new *kn, char secret[KG_TOKEN_MAX],
    struct kg_apikey *out)
{
	struct kg_apikey_new	n = *kn;
	unsigned char		h[32];
	char			id8[KG_TOKEN_ID_LEN + 1];
	enum kg_err		r = KG_ERR_CONFLICT;
	int			i;

	n.kn_id8 = id8;
	n.kn_hash = h;
	for (i = 0; i < MINT_TRIES && r == KG_ERR_CONFLICT; i++) {
		if ((r = kg_token_mint(prefix, "sk", secret, id8)) != KG_OK ||
		    (r = kg_store_token_hash(secret, h)) != KG_OK)
			break;
		r = kg_store_apikey_create(db, &n, out);
	}
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

/*
 * Inside a transaction: the key, then its audit row.  Safe to re-run
 * (kg_db_txn).
 */
static enum kg_err
mint_in(struct kg_db *db, struct mint *m)
{
	struct kg_apikey_new	kn;
	struct kg_audit		au;
	char			target[16];
	enum kg_err		r;

	memset(&kn, 0, sizeof(kn));
	kn.kn_ns_id = m->mt_ns_id;
	kn.kn_name = m->mt_q->kq_name;
	kn.kn_scopes = m->mt_q->kq_scopes;
	kn.kn_projects = m->mt_q->kq_all_projects ? NULL :
	    m->mt_q->kq_projects;
	kn.kn_wallet = m->mt_wallet;
	kn.kn_created_by = m->mt_by;
	kn.kn_expires_in = m->mt_q->kq_expires_in;
	kn.kn_wallet_max = m->mt_wallet != NULL ?
	    m->mt_ctx->cfg->max_keys_per_wallet : 0;
	if ((r = kg_keys_mint(db, m->mt_ctx->cfg->token_prefix, &kn,
	    m->mt_secret, &m->mt_key)) != KG_OK)
		return r;
	(void)snprintf(target, sizeof(target), "key:%s", m->mt_key.ak_id8);
	memset(&au, 0, sizeof(au));
	au.au_namespace = m->mt_ns;
	au.au_actor_type = m->mt_actor_type;
	au.au_actor = m->mt_actor;
	au.au_action = "key_create";
	au.au_target = target;
	au.au_remote_addr = m->mt_remote;
	au.au_outcome = "ok";
	return kg_store_audit(db, &au);
}

static enum kg_err
mint_txn(struct kg_db *db, void *arg)
{
	return mint_in(db, arg);
}

static void
mint_wipe(struct mint *m)
{
	OPENSSL_cleanse(m->mt_secret, sizeof(m->mt_secret));
}

/* ---------------------------------------------------------------- POST /v1/keys */

enum { KC_NAME, KC_SCOPES, KC_PROJECTS, KC_EXPIRES, KC__MAX };

static const struct kg_jfield create_fields[] = {
	{ "name",	 KG_JT_STRING,	KG_JF_REQUIRED, 0, 4096 },
	{ "scopes",	 KG_JT_STRINGS,	KG_JF_REQUIRED, 0, 64 },
	{ "project_ids", KG_JT_STRINGS,	KG_JF_NULLABLE, 0, 64 },
	{ "expires_in",	 KG_JT_STRING,	KG_JF_NULLABLE, 0, 64 },
	{ NULL,		 KG_JT__MAX,	0, 0, 0 },
};

enum kg_err
kg_keys_create(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_jval		 v[KC__MAX];
	struct key_req		 q;
	struct mint		 m;
	char			 by[KG_KEY_CREATED_BY_MAX + 1];
	const char		*bad = NULL;
	enum kg_json_status	 js;
	enum kg_err		 r;
	int			 done;

	memset(&q, 0, sizeof(q));
	memset(&m, 0, sizeof(m));
	if ((js = kg_json_parse(&ctx->json, req->body, req->body_len,
	    create_fields, v, &bad)) != KG_JSON_OK)
		return kg_resp_json_refused(resp, js, bad);
	kg_principal_created_by(pr, by, sizeof(by));
	kg_principal_actor(pr, &m.mt_actor, &m.mt_actor_type);
	if (!check_name(&q, &v[KC_NAME]) ||
	    !check_scopes(ctx->cfg, &q, &v[KC_SCOPES], NULL) ||
	    !check_expiry(&q, &v[KC_EXPIRES]) ||
	    !check_projects(&q, &v[KC_PROJECTS]) ||
	    !check_escalation(pr, &q)) {
		if (q.kq_status == 403)
			audit_denied(ctx->db, req->remote_addr,
			    pr->pr_ns[0] != '\0' ? pr->pr_ns : NULL,
			    m.mt_actor_type, m.mt_actor, q.kq_code);
		kg_resp_error(resp, q.kq_status, q.kq_code, q.kq_msg);
		return KG_OK;
	}
	m.mt_ctx = ctx;
	m.mt_remote = req->remote_addr;
	m.mt_ns = pr->pr_ns;
	m.mt_q = &q;
	m.mt_by = by;
	if ((r = caller_ns(ctx, pr, resp, &m.mt_ns_id, &done)) != KG_OK ||
	    done)
		return r;
	if ((r = kg_db_txn(ctx->db, mint_txn, &m)) != KG_OK)
		goto out;
	kg_resp_json_begin(resp, 201);
	resp->no_store = 1;
	if ((r = kg_buf_puts(&resp->body, "{\"key\":")) != KG_OK ||
	    (r = key_json(&resp->body, &m.mt_key)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, ",\"secret\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(&resp->body, m.mt_secret)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, "}")) != KG_OK)
		goto out;
	kg_log_info("api key %s created in %s by %s", m.mt_key.ak_id8,
	    pr->pr_ns, by);
out:
	mint_wipe(&m);
	return r;
}

/* ---------------------------------------------------------------- GET /v1/keys */

static enum kg_err
list_item(const struct kg_apikey *k, void *arg)
{
	struct kg_page	*pg = arg;
	enum kg_err	 r;

	if (!kg_page_item(pg, k->ak_id, &r))
		return r;
	return key_json(pg->pg_b, k);
}

enum kg_err
kg_keys_list(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_page	 pg;
	char		 val[32];
	uint64_t	 before = 0, ns_id = 0;
	size_t		 limit, n = 0;
	enum kg_err	 r;
	int		 q, all = 0, done;

	if ((r = kg_list_limit(req, &limit, resp)) != KG_OK || limit == 0 ||
	    (r = kg_page_cursor(req, &before, resp, &done)) != KG_OK || done)
		return r;
	if ((q = kg_query_get(req->query, "include_revoked", val,
	    sizeof(val))) < 0 || (q == 1 && strcmp(val, "true") != 0 &&
	    strcmp(val, "false") != 0)) {
		kg_resp_error(resp, 400, "invalid_request",
		    "include_revoked must be true or false.");
		return KG_OK;
	}
	all = q == 1 && strcmp(val, "true") == 0;
	if ((r = caller_ns(ctx, pr, resp, &ns_id, &done)) != KG_OK || done)
		return r;
	if ((r = kg_page_begin(&pg, resp, limit)) != KG_OK ||
	    (r = kg_store_apikey_list(ctx->db, ns_id, all, before,
	    limit + 1, list_item, &pg, &n)) != KG_OK)
		return r;
	return kg_page_end(&pg);
}

/* ---------------------------------------------------------------- /v1/keys/{id} */

static void
not_found(struct kg_response *resp)
{
	kg_resp_error(resp, 404, "not_found", "No such key in this namespace.");
}

/*
 * The key of the path ({id}) and the caller's namespace id, as
 * caller_ns: *done 1 when resp holds the refusal (an id that cannot be
 * one is 404, like a key that does not exist).
 */
static enum kg_err
key_target(struct kg_ctx *ctx, const struct kg_params *params,
    const struct kg_principal *pr, struct kg_response *resp,
    uint64_t *ns_id, uint64_t *kid, int *done)
{
	const char	*id = kg_param(params, "id");

	if (id == NULL || (*kid = kg_id_parse(id)) == 0) {
		*done = 1;
		not_found(resp);
		return KG_OK;
	}
	return caller_ns(ctx, pr, resp, ns_id, done);
}

enum kg_err
kg_keys_get(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_apikey	 k;
	uint64_t		 ns_id = 0, kid = 0;
	enum kg_err		 r;
	int			 done;

	if ((r = key_target(ctx, params, pr, resp, &ns_id, &kid, &done)) !=
	    KG_OK || done)
		return r;
	r = kg_store_apikey_get(ctx->db, ns_id, kid, &k);
	if (r == KG_ERR_NOT_FOUND) {
		not_found(resp);
		return KG_OK;
	}
	if (r != KG_OK)
		return r;
	kg_resp_json_begin(resp, 200);
	return key_json(&resp->body, &k);
}

/*
 * Revoking a key also ends the access tokens minted from it (POST
 * /v1/auth/token): kg_store_apikey_revoke logs their subject "key:<id8>"
 * out of the namespace in the revoking transaction, which every
 * validation checks (SPEC 5).  A database failure revokes nothing: 503.
 * An expired key can still be revoked (200): harmless, and the owner
 * can clean up.
 */
enum kg_err
kg_keys_revoke(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_audit		 au;
	uint64_t		 ns_id = 0, kid = 0;
	int64_t			 at = 0;
	enum kg_err		 r;
	int			 done;

	if ((r = key_target(ctx, params, pr, resp, &ns_id, &kid, &done)) !=
	    KG_OK || done)
		return r;
	memset(&au, 0, sizeof(au));
	kg_principal_actor(pr, &au.au_actor, &au.au_actor_type);
	au.au_remote_addr = req->remote_addr;
	r = kg_store_apikey_revoke(ctx->db, ns_id, kid, &au, &at);
	if (r == KG_ERR_NOT_FOUND) {
		not_found(resp);
		return KG_OK;
	}
	if (r != KG_OK)
		return r;
	kg_resp_json_begin(resp, 200);
	if ((r = kg_buf_printf(&resp->body, "{\"id\":%" PRIu64
	    ",\"revoked_at\":", kid)) != KG_OK ||
	    (r = kg_json_time(&resp->body, at)) != KG_OK)
		return r;
	return kg_buf_puts(&resp->body, "}");
}

/* ---------------------------------------------------------------- POST /v1/auth/api-key */

/* verify's members first, in its order (kg_wallet_signed_run). */
enum { WK_NAME, WK_SCOPES, WK_PROJECTS, WK_EXPIRES, WK__MAX };

static const struct kg_jfield wallet_key_fields[] = {
	{ "wallet",	 KG_JT_STRING,	KG_JF_REQUIRED, 0, 4096 },
	{ "nonce",	 KG_JT_STRING,	KG_JF_REQUIRED, 0, 4096 },
	{ "signature",	 KG_JT_STRING,	KG_JF_REQUIRED, 0, 4096 },
	{ "namespace",	 KG_JT_STRING,	KG_JF_NULLABLE, 0, 4096 },
	{ "message",	 KG_JT_STRING,	KG_JF_NULLABLE, 0, INT32_MAX },
	{ "name",	 KG_JT_STRING,	KG_JF_REQUIRED, 0, 4096 },
	{ "scopes",	 KG_JT_STRINGS,	KG_JF_NULLABLE, 0, 64 },
	{ "project_ids", KG_JT_STRINGS,	KG_JF_NULLABLE, 0, 64 },
	{ "expires_in",	 KG_JT_STRING,	KG_JF_NULLABLE, 0, 64 },
	{ NULL,		 KG_JT__MAX,	0, 0, 0 },
};

struct wallet_mint {
	struct mint	wm_m;
	struct key_req	wm_q;
	char		wm_by[KG_KEY_CREATED_BY_MAX + 1];
	char		wm_ns[64];
	char		wm_wallet[43];
};

/*
 * Inside the signed body's transaction (nonce consumed, wallet
 * enrolled): the request is checked against the wallet's track, then
 * minted.  A refusal returns KG_ERR_INVALID, which rolls the nonce back.
 */
static enum kg_err
wallet_mint_fn(struct kg_db *db, const struct kg_wallet_signed *ws,
    void *arg)
{
	struct wallet_mint	*w = arg;
	struct key_req		*q = &w->wm_q;
	const struct kg_config	*cfg = w->wm_m.mt_ctx->cfg;
	struct kg_principal	 pr;

	memset(q, 0, sizeof(*q));
	mint_wipe(&w->wm_m);
	memset(&pr, 0, sizeof(pr));
	pr.pr_method = KG_METHOD_JWT;
	pr.pr_track = ws->ws_track;
	if (ws->ws_track >= 1 && ws->ws_track <= KG_TRACKS &&
	    cfg->track_scopes[ws->ws_track - 1] != NULL)
		(void)snprintf(pr.pr_scopes, sizeof(pr.pr_scopes), "%s",
		    cfg->track_scopes[ws->ws_track - 1]);
	/* Set first: a refusal is audited under them (after the rollback). */
	(void)snprintf(w->wm_by, sizeof(w->wm_by), "wallet:%s",
	    ws->ws_wallet);
	(void)snprintf(w->wm_ns, sizeof(w->wm_ns), "%s", ws->ws_ns);
	(void)snprintf(w->wm_wallet, sizeof(w->wm_wallet), "%s",
	    ws->ws_wallet);
	if (!check_name(q, &ws->ws_extra[WK_NAME]) ||
	    !check_scopes(cfg, q, &ws->ws_extra[WK_SCOPES],
	    cfg->wallet_key_scopes) ||
	    !check_expiry(q, &ws->ws_extra[WK_EXPIRES]) ||
	    !check_projects(q, &ws->ws_extra[WK_PROJECTS]) ||
	    !check_escalation(&pr, q))
		return KG_ERR_INVALID;
	w->wm_m.mt_ns_id = ws->ws_ns_id;
	w->wm_m.mt_ns = w->wm_ns;
	w->wm_m.mt_q = q;
	w->wm_m.mt_wallet = w->wm_wallet;
	w->wm_m.mt_by = w->wm_by;
	w->wm_m.mt_actor = w->wm_wallet;
	w->wm_m.mt_actor_type = "wallet";
	return mint_in(db, &w->wm_m);
}

enum kg_err
kg_keys_wallet_mint(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct wallet_mint	*w;
	struct kg_buf		*b = &resp->body;
	enum kg_err		 r;
	int			 done = 0;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return KG_ERR_NOMEM;
	w->wm_m.mt_ctx = ctx;
	w->wm_m.mt_remote = req->remote_addr;
	r = kg_wallet_signed_run(ctx, req, wallet_key_fields, wallet_mint_fn,
	    w, resp, &done);
	if (r == KG_OK && done)
		goto out;
	if (r == KG_ERR_INVALID && w->wm_q.kq_status != 0) {
		if (w->wm_q.kq_status == 403)
			audit_denied(ctx->db, req->remote_addr, w->wm_ns,
			    "wallet", w->wm_wallet, w->wm_q.kq_code);
		kg_resp_error(resp, w->wm_q.kq_status, w->wm_q.kq_code,
		    w->wm_q.kq_msg);
		r = KG_OK;
		goto out;
	}
	if (r == KG_ERR_TOO_LARGE) {
		kg_resp_error(resp, 409, "too_many_keys",
		    "This wallet holds the most live keys allowed in this "
		    "namespace.");
		r = KG_OK;
		goto out;
	}
	if (r != KG_OK)
		goto out;
	kg_resp_json_begin(resp, 201);
	resp->no_store = 1;
	if ((r = kg_buf_puts(b, "{\"api_key\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, w->wm_m.mt_secret)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"key\":")) != KG_OK ||
	    (r = key_json(b, &w->wm_m.mt_key)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"namespace\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, w->wm_ns)) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"wallet\":\"%s\"}", w->wm_wallet)) !=
	    KG_OK)
		goto out;
	kg_log_info("api key %s created in %s by wallet %s",
	    w->wm_m.mt_key.ak_id8, w->wm_ns, w->wm_wallet);
out:
	mint_wipe(&w->wm_m);
	free(w);
	return r;
}

/* ---------------------------------------------------------------- POST /v1/auth/token */

/*
 * The token carries no sid (no session family: it cannot be rotated, and
 * nothing but its expiry and the key's revocation ends it) and no
 * project list: JWTs have no such claim, so a project-restricted key is
 * refused here rather than turned into an unrestricted token.  Its
 * scopes are the key's as authn read them: never operator.write (SPEC 2),
 * which apikey_principal drops whatever the row holds.
 */
enum kg_err
kg_keys_token(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_buf	 at;
	struct kg_audit	 au;
	long		 ttl = 0, cap = 0;
	int64_t		 exp = 0, now;
	enum kg_err	 r;

	if (pr->pr_method != KG_METHOD_API_KEY) {
		kg_resp_error(resp, 403, "forbidden",
		    "Only an API key can be exchanged for an access token.");
		return KG_OK;
	}
	if (pr->pr_projects[0] != '\0') {
		kg_resp_error(resp, 403, "forbidden",
		    "A project-restricted key cannot be exchanged: access "
		    "tokens carry no project list.");
		return KG_OK;
	}
	if (req->body_len > 0 && strspn(req->body, " \t\r\n") !=
	    req->body_len && strcmp(req->body, "{}") != 0) {
		kg_resp_error(resp, 400, "invalid_request",
		    "This endpoint takes no body.");
		return KG_OK;
	}
	now = kg_ctx_now_sec(ctx);
	/* Never past the key's own expiry. */
	if (pr->pr_expires_at > 0)
		cap = pr->pr_expires_at > now ? (long)(pr->pr_expires_at - now) :
		    1;
	memset(&at, 0, sizeof(at));
	if ((r = kg_session_sign_key(ctx, pr->pr_ns, pr->pr_subject,
	    pr->pr_scopes, cap, &at, &ttl, &exp)) != KG_OK)
		goto out;
	kg_resp_json_begin(resp, 200);
	resp->no_store = 1;
	if ((r = kg_buf_puts(&resp->body, "{\"access_token\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(&resp->body, kg_buf_str(&at))) != KG_OK ||
	    (r = kg_buf_printf(&resp->body, ",\"token_type\":\"Bearer\","
	    "\"expires_in\":%ld,\"namespace\":", ttl)) != KG_OK ||
	    (r = kg_buf_json_qstr(&resp->body, pr->pr_ns)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, ",\"scope\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(&resp->body, pr->pr_scopes)) != KG_OK ||
	    (r = kg_buf_puts(&resp->body, "}")) != KG_OK)
		goto out;
	memset(&au, 0, sizeof(au));
	au.au_namespace = pr->pr_ns;
	au.au_actor_type = "api_key";
	au.au_actor = pr->pr_key_prefix;
	au.au_action = "token_exchange";
	au.au_target = pr->pr_subject;
	au.au_remote_addr = req->remote_addr;
	au.au_outcome = "ok";
	if (kg_store_audit(ctx->db, &au) != KG_OK)
		kg_log_warn("audit event token_exchange not recorded");
out:
	kg_buf_free(&at);
	return r;
}

/* ---------------------------------------------------------------- introspect */

/* May the caller see a token of namespace ns?  Its own, or any: admin. */
static int
visible(const struct kg_principal *pr, const char *ns)
{
	return pr->pr_method == KG_METHOD_ADMIN || strcmp(pr->pr_ns, ns) == 0;
}

static enum kg_err
inactive(struct kg_response *resp)
{
	return kg_resp_json(resp, 200, "{\"active\":false}");
}

static enum kg_err
introspect_jwt(struct kg_ctx *ctx, const struct kg_principal *caller,
    const char *tok, struct kg_response *resp)
{
	struct kg_principal	 t;
	struct kg_buf		*b = &resp->body;
	enum kg_err		 r;
	int			 revoked = 1;

	r = kg_session_jwt_check(ctx, tok, strlen(tok), &t, &revoked);
	if (r == KG_ERR_INVALID || (r == KG_OK && (revoked ||
	    !visible(caller, t.pr_ns))))
		return inactive(resp);
	if (r != KG_OK)		/* never "active" on an unknown state */
		return r;
	kg_resp_json_begin(resp, 200);
	if ((r = kg_buf_puts(b, "{\"active\":true,\"token_type\":"
	    "\"access_token\",\"sub\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, t.pr_subject)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"ns\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, t.pr_ns)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"scope\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, t.pr_scopes)) != KG_OK ||
	    (r = kg_buf_printf(b, ",\"exp\":%lld,\"iat\":%lld",
	    (long long)t.pr_expires_at, (long long)t.pr_iat)) != KG_OK)
		return r;
	if (t.pr_track > 0 &&
	    (r = kg_buf_printf(b, ",\"track\":%d", t.pr_track)) != KG_OK)
		return r;
	return kg_buf_puts(b, "}");
}

static enum kg_err
introspect_key(struct kg_ctx *ctx, const struct kg_principal *caller,
    const char *tok, struct kg_response *resp)
{
	struct kg_token	 tk;
	struct kg_apikey k;
	struct kg_buf	*b = &resp->body;
	unsigned char	 h[32];
	enum kg_err	 r;

	/* The same checks as authentication: no query for a bad shape. */
	if (kg_token_parse(tok, &tk) != KG_OK ||
	    strcmp(tk.tk_prefix, ctx->cfg->token_prefix) != 0)
		return inactive(resp);
	if ((r = kg_store_token_hash(tok, h)) != KG_OK)
		return r;
	r = kg_store_apikey_lookup(ctx->db, h, &k);
	if (r == KG_ERR_NOT_FOUND || (r == KG_OK && (k.ak_revoked_us != 0 ||
	    k.ak_expired || !visible(caller, k.ak_ns))))
		return inactive(resp);
	if (r != KG_OK)
		return r;
	kg_resp_json_begin(resp, 200);
	if ((r = kg_buf_printf(b, "{\"active\":true,\"token_type\":"
	    "\"api_key\",\"sub\":\"key:%s\",\"ns\":", k.ak_id8)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, k.ak_ns)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"scope\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, k.ak_scopes)) != KG_OK)
		return r;
	if (k.ak_expires_us != 0 && (r = kg_buf_printf(b, ",\"exp\":%lld",
	    (long long)(k.ak_expires_us / 1000000))) != KG_OK)
		return r;
	if ((r = kg_buf_printf(b, ",\"iat\":%lld",
	    (long long)(k.ak_created_us / 1000000))) != KG_OK)
		return r;
	if (!k.ak_all_projects &&
	    ((r = kg_buf_puts(b, ",\"project_ids\":")) != KG_OK ||
	    (r = json_words(b, k.ak_projects)) != KG_OK))
		return r;
	return kg_buf_puts(b, "}");
}

/* An org token (SPEC 8): active while not revoked; it holds admin. */
static enum kg_err
introspect_org(struct kg_ctx *ctx, const struct kg_principal *caller,
    const char *tok, struct kg_response *resp)
{
	struct kg_orgtoken	 o;
	struct kg_buf		*b = &resp->body;
	enum kg_err		 r;

	r = kg_orgtoken_find(ctx, tok, strlen(tok), &o);
	if (r == KG_ERR_INVALID || r == KG_ERR_NOT_FOUND ||
	    (r == KG_OK && (o.ot_revoked_us != 0 || !visible(caller, o.ot_ns))))
		return inactive(resp);
	if (r != KG_OK)
		return r;
	kg_resp_json_begin(resp, 200);
	if ((r = kg_buf_printf(b, "{\"active\":true,\"token_type\":"
	    "\"org_token\",\"sub\":\"org:%s\",\"ns\":", o.ot_id8)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, o.ot_ns)) != KG_OK)
		return r;
	return kg_buf_printf(b, ",\"scope\":\"admin\",\"iat\":%lld}",
	    (long long)(o.ot_created_us / 1000000));
}

/* A daemon token (SPEC 7): active while not revoked; it holds no scope. */
static enum kg_err
introspect_daemon(struct kg_ctx *ctx, const struct kg_principal *caller,
    const char *tok, struct kg_response *resp)
{
	struct kg_daemon_token	 d;
	struct kg_buf		*b = &resp->body;
	enum kg_err		 r;

	r = kg_daemon_check(ctx, tok, strlen(tok), &d);
	if (r == KG_ERR_INVALID || (r == KG_OK && !visible(caller, d.dt_ns)))
		return inactive(resp);
	if (r != KG_OK)
		return r;
	kg_resp_json_begin(resp, 200);
	if ((r = kg_buf_printf(b, "{\"active\":true,\"token_type\":"
	    "\"daemon_token\",\"sub\":\"daemon:%" PRIu64 "\",\"ns\":",
	    d.dt_id)) != KG_OK ||
	    (r = kg_buf_json_qstr(b, d.dt_ns)) != KG_OK ||
	    (r = kg_buf_puts(b, ",\"scope\":\"\",\"daemon_id\":")) != KG_OK ||
	    (r = kg_buf_json_qstr(b, d.dt_daemon_id)) != KG_OK)
		return r;
	return kg_buf_printf(b, ",\"iat\":%lld}",
	    (long long)(d.dt_created_us / 1000000));
}

enum kg_err
kg_keys_introspect(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	char			 form[KG_JWT_MAX + 1], sk[16], ot[16];
	const char		*tok;
	enum kg_err		 r;

	resp->no_store = 1;
	r = kg_session_token_body(ctx, req, form, &tok, resp);
	/* Too long (or, form-encoded, malformed) to be a token of ours. */
	if (r == KG_ERR_TOO_LARGE || r == KG_ERR_INVALID)
		r = inactive(resp);
	if (r != KG_OK || tok == NULL)
		goto out;
	/* The hint is only a hint (RFC 7662 2.1): the shape decides. */
	(void)snprintf(sk, sizeof(sk), "%s_sk_", ctx->cfg->token_prefix);
	(void)snprintf(ot, sizeof(ot), "%s_ot_", ctx->cfg->token_prefix);
	if (kg_authn_jwt_shape(tok, strlen(tok)))
		r = introspect_jwt(ctx, pr, tok, resp);
	else if (strncmp(tok, sk, strlen(sk)) == 0)
		r = introspect_key(ctx, pr, tok, resp);
	else if (strncmp(tok, ot, strlen(ot)) == 0)
		r = introspect_org(ctx, pr, tok, resp);
	else if (strncmp(tok, "mdt_", 4) == 0)
		r = introspect_daemon(ctx, pr, tok, resp);
	else
		r = inactive(resp);
out:
	OPENSSL_cleanse(form, sizeof(form));
	return r;
}
