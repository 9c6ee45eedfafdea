/*
 * authn.c: one authentication step for every route and for the
 * Authorizer role.  The credential's kind comes from its shape; a
 * malformed credential is refused before any query.
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/api/authn.h"
#include "core/base/names.h"
#include "core/api/session.h"
#include "core/base/log.h"

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

/* A compact JWS: exactly two dots (SPEC 3: the kind comes from the shape). */
static int
is_jwt_shape(const char *t, size_t len)
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
	if (is_jwt_shape(t, len)) {
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
	/*
	 * Every other kind (kg_sk_, kg_ot_, mdt_) is recognised by its
	 * shape and validated by its own module as those land; until then it
	 * is not a credential this service accepts.
	 */
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
	if (pr->pr_method == KG_METHOD_ADMIN || has_word(pr->pr_scopes, scope))
		return 1;
	/* admin implies every scope of the namespace except operator.write. */
	return strcmp(scope, "operator.write") != 0 &&
	    has_word(pr->pr_scopes, "admin");
}
