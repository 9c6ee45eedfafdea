/*
 * check.c: one decision for GET /v1/auth/check (nginx auth_request) and
 * for the FastCGI Authorizer role (Apache mod_authnz_fcgi, lighttpd
 * "mode" => "authorizer"), SPEC 10.
 *
 * The credential is authenticated by kg_authn like on every route, so
 * every kind it knows (admin key, JWT, API key, ...) is checked the same
 * way; the requirements are then tested with kg_principal_has_scope and
 * kg_principal_allows_project only.
 */
#include <string.h>

#include "core/api/authn.h"
#include "core/api/check.h"
#include "core/base/log.h"
#include "core/base/names.h"

/* What the web server requires; NULL = no requirement. */
struct check_req {
	const char	*cr_scope;
	const char	*cr_project;
	const char	*cr_ns;
};

/* Query keys the route accepts: anything else is a 400 (STYLE). */
static const char *const check_keys[] = { "scope", "project", "namespace",
    NULL };

/* Letters, digits and the characters of extra; 1 to 64 of them. */
static int
chars_valid(const char *s, const char *extra)
{
	size_t	i;
	int	c;

	for (i = 0; (c = (unsigned char)s[i]) != '\0'; i++) {
		if (i >= KG_CHECK_VALUE_MAX)
			return 0;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(extra, c) != NULL)
			continue;
		return 0;
	}
	return i > 0;
}

int
kg_check_scope_valid(const char *s)
{
	/* The scope syntax the configuration accepts (config.c). */
	return chars_valid(s, ":._/-");
}

int
kg_check_project_valid(const char *s)
{
	/* The project id syntax API keys are created with. */
	return kg_project_id_valid(s);
}

/*
 * Returns 1 when every key of the form-encoded query is one of
 * check_keys (compared as sent, like kg_query_get does), else 0.
 */
static int
check_query_keys(const char *query)
{
	const char	*p = query, *eq;
	size_t		 i, n;

	while (*p != '\0') {
		const char	*end = p + strcspn(p, "&");

		if (end > p) {
			eq = memchr(p, '=', (size_t)(end - p));
			n = (size_t)((eq != NULL ? eq : end) - p);
			for (i = 0; check_keys[i] != NULL; i++)
				if (strlen(check_keys[i]) == n &&
				    memcmp(check_keys[i], p, n) == 0)
					break;
			if (check_keys[i] == NULL)
				return 0;
		}
		p = *end == '&' ? end + 1 : end;
	}
	return 1;
}

/*
 * Reads query key into out (outlen bytes) and checks it with valid.
 * Returns 1 when present and valid, 0 when absent, -1 when empty,
 * malformed, repeated, too long or invalid.
 */
static int
check_query_value(const char *query, const char *key, char *out,
    size_t outlen, int (*valid)(const char *))
{
	int	got;

	if ((got = kg_query_get(query, key, out, outlen)) != 1)
		return got;
	return valid(out) ? 1 : -1;
}

static int
ns_valid(const char *s)
{
	return kg_namespace_valid(s);
}

/*
 * The namespace pr acts in for the answer: its own, or, for the global
 * admin without a selected one, the namespace required (it holds all).
 */
static const char *
check_ns(const struct kg_principal *pr, const struct check_req *cr)
{
	if (pr->pr_ns[0] == '\0' && pr->pr_method == KG_METHOD_ADMIN &&
	    cr->cr_ns != NULL)
		return cr->cr_ns;
	return pr->pr_ns;
}

/*
 * Returns 1 when pr meets every requirement of cr, else 0.  A daemon
 * token may only use the daemon routes and whoami (SPEC 2): never granted.
 */
static int
check_allows(const struct kg_principal *pr, const struct check_req *cr)
{
	if (pr->pr_method == KG_METHOD_NONE ||
	    pr->pr_method == KG_METHOD_DAEMON_TOKEN)
		return 0;
	if (cr->cr_scope != NULL && !kg_principal_has_scope(pr, cr->cr_scope))
		return 0;
	if (cr->cr_project != NULL &&
	    !kg_principal_allows_project(pr, cr->cr_project))
		return 0;
	if (cr->cr_ns != NULL && strcmp(check_ns(pr, cr), cr->cr_ns) != 0)
		return 0;
	return 1;
}

/* Every scope a principal holds fits one header value, never cut. */
_Static_assert(sizeof(((struct kg_response *)0)->headers[0].h_value) >=
    sizeof(((struct kg_principal *)0)->pr_scopes),
    "X-Keygate-Scopes must hold every scope of a principal");

/* Answers a grant: status and the X-Keygate-* headers, no body. */
static enum kg_err
check_grant(const struct kg_principal *pr, const struct check_req *cr,
    int status, struct kg_response *resp)
{
	resp->status = status;
	resp->content_type = NULL;
	/* The answer depends on the credential: no cache may keep it. */
	resp->no_store = 1;
	if (kg_resp_header(resp, "X-Keygate-Subject", "%s",
	    pr->pr_subject) != KG_OK ||
	    kg_resp_header(resp, "X-Keygate-Namespace", "%s",
	    check_ns(pr, cr)) != KG_OK ||
	    kg_resp_header(resp, "X-Keygate-Scopes", "%s",
	    pr->pr_scopes) != KG_OK ||
	    kg_resp_header(resp, "X-Keygate-Method", "%s",
	    kg_method_name(pr->pr_method)) != KG_OK) {
		/* Never a grant with part of the description missing. */
		kg_resp_reset(resp);
		return KG_ERR_INTERNAL;
	}
	return KG_OK;
}

static void
check_forbidden(struct kg_response *resp)
{
	kg_resp_error(resp, 403, "forbidden",
	    "The credential does not grant access to this resource.");
}

enum kg_err
kg_check_route(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	char			 scope[KG_CHECK_VALUE_MAX + 1];
	char			 project[KG_CHECK_VALUE_MAX + 1];
	char			 ns[KG_NAMESPACE_MAX + 1];
	struct check_req	 cr = { NULL, NULL, NULL };
	int			 got;

	(void)ctx;
	(void)params;
	/* Before the query: a daemon token learns nothing more (403 < 400). */
	if (pr->pr_method == KG_METHOD_DAEMON_TOKEN) {
		check_forbidden(resp);
		return KG_OK;
	}
	if (!check_query_keys(req->query)) {
		kg_resp_error(resp, 400, "invalid_request",
		    "Unknown query parameter: only scope, project and "
		    "namespace are accepted.");
		return KG_OK;
	}
	if ((got = check_query_value(req->query, "scope", scope,
	    sizeof(scope), kg_check_scope_valid)) < 0) {
		kg_resp_error(resp, 400, "invalid_request",
		    "scope: one scope name of letters, digits and :._/- "
		    "(at most 64), given once.");
		return KG_OK;
	}
	if (got == 1)
		cr.cr_scope = scope;
	if ((got = check_query_value(req->query, "project", project,
	    sizeof(project), kg_check_project_valid)) < 0) {
		kg_resp_error(resp, 400, "invalid_request",
		    "project: one project id of letters, digits and ._:- "
		    "(at most 64), given once.");
		return KG_OK;
	}
	if (got == 1)
		cr.cr_project = project;
	if ((got = check_query_value(req->query, "namespace", ns, sizeof(ns),
	    ns_valid)) < 0) {
		kg_resp_error(resp, 400, "invalid_request",
		    "namespace: one valid namespace name, given once.");
		return KG_OK;
	}
	if (got == 1)
		cr.cr_ns = ns;

	if (!check_allows(pr, &cr)) {
		check_forbidden(resp);
		return KG_OK;
	}
	return check_grant(pr, &cr, 204, resp);
}

/*
 * The requirements of an Authorizer request.  Returns the name of the
 * first one that is malformed, or NULL when all are usable.
 */
static const char *
check_authorizer_reqs(const struct kg_request *req, struct check_req *cr)
{
	cr->cr_scope = req->require_scope;
	cr->cr_project = req->require_project;
	cr->cr_ns = req->require_namespace;
	if (cr->cr_scope != NULL && !kg_check_scope_valid(cr->cr_scope))
		return "KEYGATE_REQUIRE_SCOPE";
	if (cr->cr_project != NULL && !kg_check_project_valid(cr->cr_project))
		return "KEYGATE_REQUIRE_PROJECT";
	if (cr->cr_ns != NULL && !kg_namespace_valid(cr->cr_ns))
		return "KEYGATE_REQUIRE_NAMESPACE";
	return NULL;
}

void
kg_check_authorizer(struct kg_ctx *ctx, const struct kg_request *req,
    struct kg_response *resp)
{
	struct kg_request	 orig;
	struct kg_principal	 pr;
	struct check_req	 cr;
	const char		*bad;

	kg_resp_reset(resp);
	if ((bad = check_authorizer_reqs(req, &cr)) != NULL) {
		/* The web server's configuration, not the client, is wrong:
		 * tell the operator, never grant. */
		kg_log_error("%s is not a valid requirement; every request "
		    "of that location is refused", bad);
		kg_resp_from_err(resp, KG_ERR_CONFIG);
		return;
	}
	/*
	 * The query string and the X-Keygate-Namespace header are the
	 * protected application's: neither may select the admin's
	 * namespace (or refuse the request) the way they do on keygate's
	 * own routes.  Only the credential and the web server's
	 * requirements decide.
	 */
	orig = *req;
	orig.query = "";
	orig.x_namespace = NULL;
	switch (kg_authn(ctx, &orig, &pr, resp)) {
	case KG_AUTHN_REFUSED:
		return;
	case KG_AUTHN_NONE:
		kg_resp_error(resp, 401, "unauthenticated",
		    "A valid credential is required.");
		return;
	case KG_AUTHN_OK:
		break;
	}
	if (!check_allows(&pr, &cr)) {
		check_forbidden(resp);
		return;
	}
	/* FastCGI 1.0, 6.3: 200 is the only status that grants. */
	if (check_grant(&pr, &cr, 200, resp) != KG_OK)
		kg_resp_from_err(resp, KG_ERR_INTERNAL);
}
