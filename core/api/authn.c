/*
 * authn.c: one authentication step for every route and for the
 * Authorizer role.  The credential's kind comes from its shape; a
 * malformed credential is refused before any query.
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/api/authcache.h"
#include "core/api/authn.h"
#include "core/api/enroll.h"
#include "core/api/orgtokens.h"
#include "core/base/names.h"
#include "core/api/session.h"
#include "core/base/log.h"
#include "core/crypto/token.h"
#include "core/store/apikey.h"
#include "core/store/enroll.h"
#include "core/store/orgtoken.h"
#include "core/store/session.h"

static const char *const kg_method_names[KG_METHOD__MAX] = {
	[KG_METHOD_NONE] = "",
	[KG_METHOD_ADMIN] = "admin",
	[KG_METHOD_JWT] = "jwt",
	[KG_METHOD_API_KEY] = "api_key",
	[KG_METHOD_ORG_TOKEN] = "org_token",
	[KG_METHOD_DAEMON_TOKEN] = "daemon_token",
};

const char *
kg_method_name(enum kg_method m)
{
	return (unsigned)m < KG_METHOD__MAX ? kg_method_names[m] : "";
}

const char *
kg_authn_credential(const struct kg_request *req, size_t *len, int *bad)
{
	const char	*h = req->authorization, *t;

	*bad = 0;
	if (h != NULL && *h != '\0') {
		if (strncasecmp(h, "Bearer ", 7) == 0)
			t = h + 7;
		else if (strncasecmp(h, "ApiKey ", 7) == 0)
			t = h + 7;
		else {
			*bad = 1;
			return NULL;
		}
		while (*t == ' ')
			t++;
		*len = strlen(t);
		if (*len == 0 || strpbrk(t, " \t") != NULL) {
			*bad = 1;
			return NULL;
		}
		return t;
	}
	if (req->x_api_key != NULL && *req->x_api_key != '\0') {
		*len = strlen(req->x_api_key);
		return req->x_api_key;
	}
	return NULL;
}

int
kg_authn_jwt_shape(const char *t, size_t len)
{
	size_t	i, dots = 0;

	for (i = 0; i < len; i++)
		if (t[i] == '.')
			dots++;
	return dots == 2;
}

/* The global admin key, compared in constant time (lengths are public). */
static int
is_admin_key(const struct kg_config *cfg, const char *t, size_t len)
{
	size_t	klen;

	if (cfg->admin_key == NULL || (klen = strlen(cfg->admin_key)) == 0 ||
	    klen != len)
		return 0;
	return CRYPTO_memcmp(cfg->admin_key, t, len) == 0;
}


/*
 * The admin selects a namespace with X-Keygate-Namespace or ?namespace=;
 * both given and different, or a bad name, is refused.
 */
static enum kg_authn_result
admin_principal(const struct kg_request *req, struct kg_principal *pr,
    struct kg_response *resp)
{
	char	q[64];
	int	got;

	pr->pr_method = KG_METHOD_ADMIN;
	strcpy(pr->pr_subject, "admin");
	strcpy(pr->pr_scopes, "admin operator.write");
	got = kg_query_get(req->query, "namespace", q, sizeof(q));
	if (got < 0 || (got == 1 && !kg_namespace_valid(q)) ||
	    (req->x_namespace != NULL && !kg_namespace_valid(req->x_namespace)) ||
	    (got == 1 && req->x_namespace != NULL &&
	    strcmp(q, req->x_namespace) != 0)) {
		kg_resp_error(resp, 400, "invalid_namespace",
		    "The selected namespace is not a valid namespace name.");
		return KG_AUTHN_REFUSED;
	}
	if (got == 1)
		strcpy(pr->pr_ns, q);
	else if (req->x_namespace != NULL)
		strcpy(pr->pr_ns, req->x_namespace);
	return KG_AUTHN_OK;
}

/*
 * A key's stored scopes into out, without operator.write: it is never an
 * API-key scope (SPEC 2), whatever a row says.  A scope that does not fit
 * whole is dropped, never cut.
 */
static void
key_scopes(const char *list, char *out, size_t len)
{
	size_t	n = 0, w;

	out[0] = '\0';
	for (; *list != '\0'; list += w) {
		while (*list == ' ')
			list++;
		if ((w = strcspn(list, " ")) == 0)
			break;
		if ((w == 14 && memcmp(list, "operator.write", 14) == 0) ||
		    n + (n > 0) + w + 1 > len)
			continue;
		if (n > 0)
			out[n++] = ' ';
		memcpy(out + n, list, w);
		n += w;
		out[n] = '\0';
	}
}

/*
 * last_used_at of a credential served from the cache (the validation
 * that filled the entry touched it when due).  Best effort: a lost touch
 * is no refusal.
 */
static void
touch(struct kg_ctx *ctx, const struct kg_principal *pr, uint64_t id)
{
	enum kg_err	r;

	switch (pr->pr_method) {
	case KG_METHOD_API_KEY:
		r = kg_store_apikey_touch(ctx->db, id);
		break;
	case KG_METHOD_ORG_TOKEN:
		r = kg_store_orgtoken_touch(ctx->db, id);
		break;
	case KG_METHOD_DAEMON_TOKEN:
		r = kg_store_daemon_touch(ctx->db, id);
		break;
	default:
		return;
	}
	if (r != KG_OK)
		kg_log_warn("last_used_at of %s not updated", pr->pr_subject);
}

/*
 * A repeat of a credential this worker validated (authcache.h).  On a
 * miss, *epoch is the revocation epoch to file the result under, read
 * before the validation that follows.
 */
static int
from_cache(struct kg_ctx *ctx, const unsigned char h[32],
    struct kg_principal *pr, struct kg_rev_epoch *epoch)
{
	uint64_t	id;

	if (kg_authcache_get(ctx->authcache, ctx->db, h, kg_ctx_now_ms(ctx),
	    pr, &id)) {
		if (id != 0)
			touch(ctx, pr, id);
		return 1;
	}
	memset(pr, 0, sizeof(*pr));
	kg_revocation_peek(epoch);
	return 0;
}

static void
to_cache(struct kg_ctx *ctx, const unsigned char h[32],
    const struct kg_rev_epoch *epoch, const struct kg_principal *pr,
    int64_t until)
{
	kg_authcache_put(ctx->authcache, h, epoch, kg_ctx_now_ms(ctx), pr,
	    until, pr->pr_row_id);
}

/*
 * An API key (SPEC 6): shape, checksum, prefix and type first, with no
 * query; then one indexed read by SHA-256.  The hash is the lookup key,
 * so no secret is compared in C.  A database failure never grants.
 */
static enum kg_authn_result
apikey_principal(struct kg_ctx *ctx, const char *t, size_t len,
    struct kg_principal *pr, struct kg_response *resp)
{
	struct kg_token		 tk;
	struct kg_apikey	 k;
	struct kg_rev_epoch	 epoch;
	unsigned char		 h[32];
	char			 tok[KG_TOKEN_MAX];
	int64_t			 asked;
	enum kg_err		 r;

	if (len >= sizeof(tok))
		goto invalid;
	memcpy(tok, t, len);
	tok[len] = '\0';
	if (kg_token_parse(tok, &tk) != KG_OK ||
	    strcmp(tk.tk_type, "sk") != 0 ||
	    strcmp(tk.tk_prefix, ctx->cfg->token_prefix) != 0)
		goto invalid;
	r = kg_store_token_hash(tok, h);
	OPENSSL_cleanse(tok, sizeof(tok));
	if (r != KG_OK) {
		kg_resp_from_err(resp, KG_ERR_INTERNAL);
		return KG_AUTHN_REFUSED;
	}
	if (from_cache(ctx, h, pr, &epoch))
		return KG_AUTHN_OK;
	/* Before the lookup: the key's time left is counted from there. */
	asked = kg_ctx_now_sec(ctx);
	r = kg_store_apikey_lookup(ctx->db, h, &k);
	if (r == KG_ERR_NOT_FOUND)
		goto invalid;
	if (r != KG_OK) {
		kg_resp_from_err(resp, r == KG_ERR_INTERNAL ||
		    r == KG_ERR_NOMEM ? r : KG_ERR_DB);
		return KG_AUTHN_REFUSED;
	}
	if (k.ak_revoked_us != 0) {
		kg_resp_error(resp, 401, "key_revoked",
		    "The API key has been revoked.");
		return KG_AUTHN_REFUSED;
	}
	if (k.ak_expired) {
		kg_resp_error(resp, 401, "key_expired",
		    "The API key has expired.");
		return KG_AUTHN_REFUSED;
	}
	/*
	 * A restricted key with an empty project list would read as "every
	 * project" (pr_projects ""): keys.c never mints one, so such a row
	 * is damage, and it grants nothing.
	 */
	if (!k.ak_all_projects && k.ak_projects[0] == '\0') {
		kg_log_error("key %s: empty project_ids, refused", k.ak_id8);
		goto invalid;
	}
	/* Within 60 s without a write per request; a lost touch is no refusal. */
	if (k.ak_touch_due && kg_store_apikey_touch(ctx->db, k.ak_id) != KG_OK)
		kg_log_warn("last_used_at of key %s not updated", k.ak_id8);
	pr->pr_method = KG_METHOD_API_KEY;
	/* The id8 is the key's public id everywhere (SPEC 3: "prefix"). */
	(void)snprintf(pr->pr_subject, sizeof(pr->pr_subject), "key:%s",
	    k.ak_id8);
	(void)snprintf(pr->pr_ns, sizeof(pr->pr_ns), "%s", k.ak_ns);
	key_scopes(k.ak_scopes, pr->pr_scopes, sizeof(pr->pr_scopes));
	(void)snprintf(pr->pr_projects, sizeof(pr->pr_projects), "%s",
	    k.ak_all_projects ? "" : k.ak_projects);
	(void)snprintf(pr->pr_key_prefix, sizeof(pr->pr_key_prefix), "%s",
	    k.ak_id8);
	pr->pr_expires_at = k.ak_expires_us / 1000000;
	pr->pr_row_id = k.ak_id;
	/* Its end by the database's clock, as every expiry decision. */
	to_cache(ctx, h, &epoch, pr, k.ak_expires_in < 0 ? 0 :
	    asked + k.ak_expires_in);
	return KG_AUTHN_OK;
invalid:
	OPENSSL_cleanse(tok, sizeof(tok));
	kg_resp_error(resp, 401, "invalid_token", "The credential is not valid.");
	return KG_AUTHN_REFUSED;
}

/* Does t look like <prefix>_<type>_...? (the full parse comes next) */
static int
is_opaque_shape(const struct kg_config *cfg, const char *type, const char *t,
    size_t len)
{
	size_t	plen;

	/* A hand-made config (tests, tools) may have no prefix: no keys then. */
	if (cfg->token_prefix == NULL)
		return 0;
	plen = strlen(cfg->token_prefix);
	return len > plen + 4 && strncmp(t, cfg->token_prefix, plen) == 0 &&
	    t[plen] == '_' && strncmp(t + plen + 1, type, 2) == 0 &&
	    t[plen + 3] == '_';
}

/* An access token: signature, claims, then its revocation state. */
static enum kg_authn_result
jwt_principal(struct kg_ctx *ctx, const char *t, size_t len,
    struct kg_principal *pr, struct kg_response *resp)
{
	int		revoked = 1;
	enum kg_err	r;

	r = kg_session_jwt_check(ctx, t, len, pr, &revoked);
	if (r == KG_OK && !revoked)
		return KG_AUTHN_OK;
	memset(pr, 0, sizeof(*pr));
	if (r == KG_OK)
		kg_resp_error(resp, 401, "token_revoked",
		    "The access token has been revoked.");
	else if (r == KG_ERR_INVALID)
		kg_resp_error(resp, 401, "invalid_token",
		    "The credential is not valid.");
	else	/* never grant when the revocation state is unknown */
		kg_resp_from_err(resp, r == KG_ERR_INTERNAL ||
		    r == KG_ERR_NOMEM ? r : KG_ERR_DB);
	return KG_AUTHN_REFUSED;
}

typedef enum kg_authn_result (*validate_fn)(struct kg_ctx *, const char *,
    size_t, struct kg_principal *, struct kg_response *);

/*
 * validate behind the worker's cache: a repeat of a credential it granted
 * costs no query and no signature check.  An access token lives to
 * exp + leeway, as kg_jwt_verify counts; org and daemon tokens have no
 * end of their own.
 */
static enum kg_authn_result
cached(struct kg_ctx *ctx, const char *t, size_t len, struct kg_principal *pr,
    struct kg_response *resp, validate_fn validate)
{
	struct kg_rev_epoch	epoch;
	unsigned char		h[32];
	enum kg_authn_result	a;

	if (ctx->authcache == NULL)
		return validate(ctx, t, len, pr, resp);
	if (kg_store_hash(t, len, h) != KG_OK) {
		kg_resp_from_err(resp, KG_ERR_INTERNAL);
		return KG_AUTHN_REFUSED;
	}
	if (from_cache(ctx, h, pr, &epoch))
		return KG_AUTHN_OK;
	if ((a = validate(ctx, t, len, pr, resp)) == KG_AUTHN_OK)
		to_cache(ctx, h, &epoch, pr, pr->pr_method == KG_METHOD_JWT ?
		    pr->pr_expires_at + ctx->cfg->clock_leeway : 0);
	return a;
}

enum kg_authn_result
kg_authn(struct kg_ctx *ctx, const struct kg_request *req,
    struct kg_principal *pr, struct kg_response *resp)
{
	const char	*t;
	size_t		 len;
	int		 bad;

	memset(pr, 0, sizeof(*pr));
	if ((t = kg_authn_credential(req, &len, &bad)) == NULL) {
		if (!bad)
			return KG_AUTHN_NONE;
		kg_resp_error(resp, 401, "invalid_token",
		    "The Authorization header is not a supported credential.");
		return KG_AUTHN_REFUSED;
	}
	if (is_admin_key(ctx->cfg, t, len))
		return admin_principal(req, pr, resp);
	if (kg_authn_jwt_shape(t, len))
		return cached(ctx, t, len, pr, resp, jwt_principal);
	if (is_opaque_shape(ctx->cfg, "sk", t, len))
		return apikey_principal(ctx, t, len, pr, resp);
	if (is_opaque_shape(ctx->cfg, "ot", t, len))
		return cached(ctx, t, len, pr, resp, kg_orgtoken_authn);
	if (len > 4 && strncmp(t, "mdt_", 4) == 0)
		return cached(ctx, t, len, pr, resp, kg_daemon_authn);
	/* Install tokens (mit_) are spent only by the exchange: never here. */
	kg_resp_error(resp, 401, "invalid_token",
	    "The credential is not valid.");
	return KG_AUTHN_REFUSED;
}

/* Is scope one of the space-separated words of list? */
static int
has_word(const char *list, const char *scope)
{
	size_t		 n = strlen(scope);
	const char	*p = list;

	if (n == 0)
		return 0;
	while ((p = strstr(p, scope)) != NULL) {
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

int
kg_principal_has_scope(const struct kg_principal *pr, const char *scope)
{
	if (pr->pr_method == KG_METHOD_NONE)
		return 0;
	if (pr->pr_method == KG_METHOD_ADMIN)
		return 1;
	/*
	 * SPEC 2: operator.write is never a key or org-token scope: only a
	 * wallet session whose track grants it holds it, whatever a stored
	 * key, token or key-derived JWT (no track) lists.
	 */
	if (strcmp(scope, "operator.write") == 0)
		return pr->pr_method == KG_METHOD_JWT && pr->pr_track >= 1 &&
		    has_word(pr->pr_scopes, scope);
	if (has_word(pr->pr_scopes, scope))
		return 1;
	/* admin implies every other scope of the namespace. */
	return has_word(pr->pr_scopes, "admin");
}

int
kg_principal_allows_project(const struct kg_principal *pr,
    const char *project)
{
	if (pr->pr_method == KG_METHOD_NONE)
		return 0;
	return pr->pr_projects[0] == '\0' || has_word(pr->pr_projects, project);
}

void
kg_principal_actor(const struct kg_principal *pr, const char **actor,
    const char **type)
{
	*actor = pr->pr_key_prefix[0] != '\0' ? pr->pr_key_prefix :
	    pr->pr_subject;
	switch (pr->pr_method) {
	case KG_METHOD_ADMIN:
		*type = *actor = "admin";
		break;
	case KG_METHOD_JWT:
		/* A key-derived access token (subject key:<id8>) is its key. */
		if (strncmp(pr->pr_subject, "key:", 4) == 0) {
			*type = "api_key";
			*actor = pr->pr_subject + 4;
		} else {
			*type = "wallet";
			*actor = pr->pr_subject;
		}
		break;
	case KG_METHOD_API_KEY:
		*type = "api_key";
		break;
	case KG_METHOD_ORG_TOKEN:
		*type = "org_token";
		break;
	case KG_METHOD_DAEMON_TOKEN:
		*type = "daemon";
		break;
	default:
		*type = "anonymous";
		*actor = "";
		break;
	}
}

void
kg_principal_created_by(const struct kg_principal *pr, char *by, size_t len)
{
	switch (pr->pr_method) {
	case KG_METHOD_ADMIN:
		(void)snprintf(by, len, "admin");
		break;
	case KG_METHOD_ORG_TOKEN:
		(void)snprintf(by, len, "org:%s", pr->pr_key_prefix);
		break;
	case KG_METHOD_API_KEY:
		(void)snprintf(by, len, "key:%s", pr->pr_key_prefix);
		break;
	case KG_METHOD_DAEMON_TOKEN:
		(void)snprintf(by, len, "%s", pr->pr_subject);
		break;
	default:
		/* A key-derived access token (subject key:<id8>) is its key. */
		if (strncmp(pr->pr_subject, "key:", 4) == 0)
			(void)snprintf(by, len, "%s", pr->pr_subject);
		else
			(void)snprintf(by, len, "wallet:%.120s",
			    pr->pr_subject);
		break;
	}
}

int
kg_principal_in_namespace(const struct kg_principal *pr, const char *ns)
{
	switch (pr->pr_method) {
	case KG_METHOD_ADMIN:
		return 1;
	case KG_METHOD_JWT:
	case KG_METHOD_API_KEY:
	case KG_METHOD_ORG_TOKEN:
		return pr->pr_ns[0] != '\0' && strcmp(pr->pr_ns, ns) == 0;
	default:
		return 0;
	}
}

int
kg_principal_may_admin(const struct kg_principal *pr, const char *ns)
{
	return kg_principal_in_namespace(pr, ns) &&
	    ((pr->pr_method == KG_METHOD_JWT && pr->pr_track >= 3) ||
	    kg_principal_has_scope(pr, "admin"));
}
