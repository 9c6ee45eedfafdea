/*
 * check.h: /v1/auth/check and the FastCGI Authorizer role (SPEC 10).
 *
 * Both answer one question about a credential: is it valid, and does it
 * hold a scope, a project and a namespace that the web server requires?
 * The route takes the requirements from its query (nginx auth_request),
 * the Authorizer role from the FastCGI parameters KEYGATE_REQUIRE_SCOPE,
 * KEYGATE_REQUIRE_PROJECT and KEYGATE_REQUIRE_NAMESPACE that the web
 * server sets per location.  On a grant the caller is described in
 * X-Keygate-Subject, -Namespace, -Scopes and -Method headers; in the
 * Authorizer role fcgi/marshal.c writes them as Variable-KEYGATE_*.
 */
#ifndef KG_API_CHECK_H
#define KG_API_CHECK_H

#include "core/api/router.h"

/* Longest scope or project id a requirement may name (config.c, apikey.h). */
#define KG_CHECK_VALUE_MAX	64

/*
 * GET /v1/auth/check?scope=S&project=P&namespace=N (any credential;
 * SPEC 10).  204 with the X-Keygate-* headers on a grant; 403 forbidden
 * when a requirement is not met or the caller is a daemon token; 400
 * invalid_request for a malformed, repeated or unknown query key.
 */
enum kg_err	kg_check_route(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);

/*
 * The Authorizer role: authenticates the original request's credential
 * (its query string and X-Keygate-Namespace header are the protected
 * application's and are not read) and answers 200 with the X-Keygate-*
 * headers, 401, 403, or 503 when the database cannot tell (never a
 * grant).  A requirement the web server set that is empty or is not a
 * valid scope, project id or namespace name is the operator's mistake:
 * 500, logged, never a grant.  Fills resp; never fails.
 */
void		kg_check_authorizer(struct kg_ctx *, const struct kg_request *,
		    struct kg_response *);

/* Syntax of a required scope ([A-Za-z0-9:._/-]{1,64}): 1 when valid. */
int		kg_check_scope_valid(const char *);

/* Syntax of a required project id ([A-Za-z0-9._:-]{1,64}): 1 when valid. */
int		kg_check_project_valid(const char *);

#endif
