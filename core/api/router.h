/*
 * router.h: the one route table and the gate in front of every handler.
 *
 * kg_dispatch applies, in this order: 404 (no route for the path), 405 (path
 * known, method not; with an Allow header), 413 (body too large), 401 (the
 * route needs a credential and has none, or the credential is refused),
 * 403 (the route's scope is not held), then calls the handler.  Public
 * routes never read a credential; optional and required ones refuse a bad
 * credential rather than ignore it.
 */
#ifndef KG_ROUTER_H
#define KG_ROUTER_H

#include <stddef.h>
#include "core/api/ctx.h"
#include "core/api/http.h"

#define KG_ROUTE_MAX_PARAMS	4
#define KG_ROUTE_PARAM_MAX	256

struct kg_params {
	size_t	 n;
	struct {
		const char	*name;	/* points into the pattern, not NUL-terminated */
		size_t		 namelen;
		char		 value[KG_ROUTE_PARAM_MAX];	/* NUL-terminated */
	} p[KG_ROUTE_MAX_PARAMS];
};

/* Returns the value of path parameter name, or NULL. */
const char	*kg_param(const struct kg_params *, const char *name);

struct kg_principal;

/*
 * A handler fills resp and returns KG_OK, or returns another status that the
 * gate renders with kg_resp_from_err (a database failure becomes 503).  The
 * principal is the authenticated caller (method NONE on public routes
 * without a credential); the gate has already applied the route's
 * authentication requirement and scope.
 */
typedef enum kg_err (*kg_handler)(struct kg_ctx *, const struct kg_request *,
    const struct kg_params *, const struct kg_principal *,
    struct kg_response *);

enum kg_auth {
	KG_AUTH_PUBLIC = 0,	/* no credential needed */
	KG_AUTH_OPTIONAL,	/* a credential is used when given */
	KG_AUTH_REQUIRED,	/* 401 without a valid credential; daemon
				 * tokens get 403 (SPEC 2: daemon routes and
				 * whoami only) */
	KG_AUTH_DAEMON,		/* the daemon routes: a daemon token only (401
				 * without one, 403 for any other kind) */
	KG_AUTH__MAX
};

struct kg_route {
	const char	*method;
	const char	*pattern;	/* "/v1/keys/{id}": {name} matches one segment */
	kg_handler	 handler;
	enum kg_auth	 auth;
	const char	*scope;		/* required scope or NULL */
};

/* The table, terminated by an entry with method == NULL. */
extern const struct kg_route kg_routes[];

/*
 * Matches path against pattern, filling params.  Returns 1 on a match,
 * 0 otherwise (including a parameter longer than KG_ROUTE_PARAM_MAX - 1).
 */
int		 kg_route_match(const char *pattern, const char *path,
		    struct kg_params *);

/* What kg_dispatch returns when no route answered. */
#define KG_ROUTE_NONE	((size_t)-1)

/*
 * Routes req and fills resp; never fails: every outcome is a response.
 * Returns the index in kg_routes of the route that answered (the gate's
 * 401/403/413 included), or KG_ROUTE_NONE (404, 405, the Authorizer
 * role), for the metrics.
 */
size_t		 kg_dispatch(struct kg_ctx *, const struct kg_request *,
		    struct kg_response *);

#endif
