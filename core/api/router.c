/*
 * router.c: path matching and the gate that every request passes, in a
 * fixed order (STYLE.md): 404 -> 405 -> 413 -> 401 -> 403 -> handler.
 * A handler never re-checks what the table already guaranteed.
 */
#include <stdio.h>
#include <string.h>

#include "core/api/authn.h"
#include "core/api/check.h"
#include "core/api/nsgate.h"
#include "core/api/router.h"
#include "core/base/log.h"
#include "core/store/audit.h"

const char *
kg_param(const struct kg_params *params, const char *name)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < params->n; i++)
		if (params->p[i].namelen == len &&
		    memcmp(params->p[i].name, name, len) == 0)
			return params->p[i].value;
	return NULL;
}

int
kg_route_match(const char *pattern, const char *path, struct kg_params *params)
{
	const char	*pp = pattern, *sp = path, *close, *seg_end;
	size_t		 len;

	params->n = 0;
	while (*pp != '\0') {
		if (*pp != '{') {
			if (*pp != *sp)
				return 0;
			pp++;
			sp++;
			continue;
		}
		/* {name}: one non-empty path segment. */
		if ((close = strchr(pp, '}')) == NULL ||
		    params->n >= KG_ROUTE_MAX_PARAMS)
			return 0;
		seg_end = sp + strcspn(sp, "/");
		len = (size_t)(seg_end - sp);
		if (len == 0 || len >= KG_ROUTE_PARAM_MAX)
			return 0;
		params->p[params->n].name = pp + 1;
		params->p[params->n].namelen = (size_t)(close - pp - 1);
		memcpy(params->p[params->n].value, sp, len);
		params->p[params->n].value[len] = '\0';
		params->n++;
		pp = close + 1;
		sp = seg_end;
	}
	return *sp == '\0';
}

/*
 * Appends method to the Allow list in buf unless already there.
 */
static void
allow_add(char *buf, size_t len, const char *method)
{
	size_t	mlen = strlen(method);
	char	*p = buf;

	while ((p = strstr(p, method)) != NULL) {
		if ((p == buf || p[-1] == ' ') &&
		    (p[mlen] == ',' || p[mlen] == '\0'))
			return;
		p += mlen;
	}
	if (buf[0] != '\0')
		strncat(buf, ", ", len - strlen(buf) - 1);
	strncat(buf, method, len - strlen(buf) - 1);
}

/*
 * Returns 1 when path parameter name = v may be written to the audit
 * trail.  An allow-list by name, since a confused client may put any
 * credential in a path: {ns} a namespace name not shaped like a
 * credential (kg_audit_ns_safe), {id} digits only, {wallet} 0x and 40
 * hex digits; any other parameter is never recorded.
 */
static int
audit_param_safe(const struct kg_config *cfg, const char *name,
    size_t namelen, const char *v)
{
	size_t	n = strlen(v);

	if (namelen == 2 && memcmp(name, "ns", 2) == 0)
		return kg_audit_ns_safe(cfg, v);
	if (namelen == 2 && memcmp(name, "id", 2) == 0)
		return n > 0 && n <= 20 && strspn(v, "0123456789") == n;
	if (namelen == 6 && memcmp(name, "wallet", 6) == 0)
		return n == 42 && v[0] == '0' && v[1] == 'x' &&
		    strspn(v + 2, "0123456789abcdefABCDEF") == 40;
	return 0;
}

/*
 * The gate's 403 is a failed admin attempt (SPEC 9) when the caller is
 * bound to a namespace: recorded there, as "<METHOD> <pattern>", with
 * the path parameters that are safe to keep as its target.  Best
 * effort: a lost row is logged and the answer stays the same.
 */
static void
gate_audit(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_route *rt, const struct kg_params *params,
    const struct kg_principal *pr)
{
	struct kg_audit	au;
	char		action[KG_AUDIT_ACTION_MAX + 1], target[256] = "";
	size_t		i, len;

	if (pr->pr_ns[0] == '\0')
		return;
	(void)snprintf(action, sizeof(action), "%s %s", rt->method,
	    rt->pattern);
	for (i = 0; i < params->n; i++) {
		if (!audit_param_safe(ctx->cfg, params->p[i].name,
		    params->p[i].namelen, params->p[i].value))
			continue;
		len = strlen(target);
		(void)snprintf(target + len, sizeof(target) - len, "%s%.*s=%s",
		    len > 0 ? " " : "", (int)params->p[i].namelen,
		    params->p[i].name, params->p[i].value);
	}
	memset(&au, 0, sizeof(au));
	au.au_namespace = pr->pr_ns;
	au.au_action = action;
	au.au_target = target[0] != '\0' ? target : NULL;
	au.au_remote_addr = req->remote_addr;
	au.au_outcome = "denied";
	kg_principal_actor(pr, &au.au_actor, &au.au_actor_type);
	if (kg_store_audit(ctx->db, &au) != KG_OK)
		kg_log_warn("audit event %s (denied) not recorded", action);
}

size_t
kg_dispatch(struct kg_ctx *ctx, const struct kg_request *req,
    struct kg_response *resp)
{
	const struct kg_route	*rt, *found = NULL;
	struct kg_params	 params, scratch;
	struct kg_principal	 pr;
	char			 allow[64] = "";
	int			 path_known = 0;
	enum kg_err		 r;

	kg_resp_reset(resp);

	/*
	 * The Authorizer role authorizes the original request, whatever its
	 * path: no route applies (check.c).
	 */
	if (req->role == KG_ROLE_AUTHORIZER) {
		kg_check_authorizer(ctx, req, resp);
		return KG_ROUTE_NONE;
	}

	for (rt = kg_routes; rt->method != NULL; rt++) {
		if (!kg_route_match(rt->pattern, req->path, &scratch))
			continue;
		path_known = 1;
		if (strcmp(rt->method, req->method) == 0) {
			found = rt;
			params = scratch;
			break;
		}
		allow_add(allow, sizeof(allow), rt->method);
	}
	if (found == NULL) {
		if (!path_known) {
			kg_resp_error(resp, 404, "not_found",
			    "No such endpoint.");
			return KG_ROUTE_NONE;
		}
		kg_resp_error(resp, 405, "method_not_allowed",
		    "This endpoint does not accept that method.");
		kg_resp_header(resp, "Allow", "%s", allow);
		return KG_ROUTE_NONE;
	}
	if (req->body_too_large) {
		kg_resp_error(resp, 413, "body_too_large",
		    "The request body is too large.");
		return (size_t)(found - kg_routes);
	}
	/*
	 * Public routes never read a credential (a site behind HTTP Basic
	 * auth must still reach /health); optional and required ones refuse
	 * a bad credential rather than ignore it.
	 */
	memset(&pr, 0, sizeof(pr));
	switch (found->auth == KG_AUTH_PUBLIC ? KG_AUTHN_NONE :
	    kg_authn(ctx, req, &pr, resp)) {
	case KG_AUTHN_REFUSED:
		return (size_t)(found - kg_routes);
	case KG_AUTHN_NONE:
		if (found->auth == KG_AUTH_REQUIRED ||
		    found->auth == KG_AUTH_DAEMON) {
			kg_resp_error(resp, 401, "unauthenticated",
			    "A valid credential is required.");
			return (size_t)(found - kg_routes);
		}
		break;
	case KG_AUTHN_OK:
		break;
	}
	/* Daemon tokens and the daemon routes belong to each other only. */
	if (found->auth == KG_AUTH_DAEMON ?
	    pr.pr_method != KG_METHOD_DAEMON_TOKEN :
	    found->auth == KG_AUTH_REQUIRED &&
	    pr.pr_method == KG_METHOD_DAEMON_TOKEN) {
		gate_audit(ctx, req, found, &params, &pr);
		kg_resp_error(resp, 403, "forbidden",
		    "The credential does not grant this operation.");
		return (size_t)(found - kg_routes);
	}
	if (found->scope != NULL && !kg_principal_has_scope(&pr, found->scope)) {
		gate_audit(ctx, req, found, &params, &pr);
		kg_resp_error(resp, 403, "forbidden",
		    "The credential does not grant this operation.");
		return (size_t)(found - kg_routes);
	}

	r = found->handler(ctx, req, &params, &pr, resp);
	if (r != KG_OK)
		kg_resp_from_err(resp, r);
	else if (resp->status == 0)
		kg_resp_from_err(resp, KG_ERR_INTERNAL);
	return (size_t)(found - kg_routes);
}
