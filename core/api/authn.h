/*
 * authn.h: the gate's one authentication step (SPEC 2, 3).
 *
 * Every credential, however presented (Authorization: Bearer, Authorization:
 * ApiKey, X-API-Key), is turned into a struct kg_principal here, once per
 * request, before any handler runs; its kind is known from its shape, never
 * by trying every table.  The global admin key is recognised first, by a
 * constant-time comparison.
 */
#ifndef KG_AUTHN_H
#define KG_AUTHN_H

#include <stdint.h>

#include "core/api/ctx.h"
#include "core/api/http.h"

enum kg_method {
	KG_METHOD_NONE = 0,	/* no credential presented */
	KG_METHOD_ADMIN,	/* the global admin key */
	KG_METHOD_JWT,		/* a wallet (or key-derived) access token */
	KG_METHOD_API_KEY,
	KG_METHOD_ORG_TOKEN,
	KG_METHOD_DAEMON_TOKEN,
	KG_METHOD__MAX
};

struct kg_principal {
	enum kg_method	 pr_method;
	char		 pr_subject[128];	/* wallet, key:<id>, ... */
	char		 pr_ns[64];		/* bound namespace; "" for admin
						 * without a selected one */
	int		 pr_track;		/* 1-4 for wallet sessions, else 0 */
	char		 pr_scopes[1024];	/* space-separated */
	char		 pr_projects[1024];	/* space-separated project ids
						 * the credential is limited
						 * to; "" = every project */
	int64_t		 pr_expires_at;		/* seconds since epoch; 0 = none */
	char		 pr_key_prefix[9];	/* id8 of opaque credentials */
	char		 pr_jti[33];		/* JWT only */
	char		 pr_sid[64];		/* JWT only: session family */
	int64_t		 pr_iat;		/* JWT only */
	uint64_t	 pr_row_id;		/* API key, org or daemon token:
						 * its row (last_used_at) */
};

/* The whoami "method" string of m ("jwt", "api_key", ...); "" for NONE. */
const char	*kg_method_name(enum kg_method m);

enum kg_authn_result {
	KG_AUTHN_NONE = 0,	/* no credential: pr_method is NONE */
	KG_AUTHN_OK,		/* *pr describes the caller */
	KG_AUTHN_REFUSED	/* resp is filled (401, or 503 when the
				 * revocation state cannot be read) */
};

/*
 * Finds the presented credential: Authorization "Bearer <t>" or "ApiKey <t>"
 * (scheme case-insensitive, then one space or more), else X-API-Key.
 * Returns the token (pointing into req) and sets *len, returns NULL when
 * none is presented, and sets *bad when an Authorization header is there
 * but is not one of those forms.
 */
const char		*kg_authn_credential(const struct kg_request *req,
			    size_t *len, int *bad);

/*
 * Returns 1 when t[0..len) has the shape of a compact JWS, exactly two
 * dots (SPEC 3: a credential's kind comes from its shape), else 0.
 */
int			kg_authn_jwt_shape(const char *t, size_t len);

/*
 * Authenticates the credential of req into *pr.  Never grants on a failure
 * to read the database: that is KG_AUTHN_REFUSED with 503.
 */
enum kg_authn_result	kg_authn(struct kg_ctx *, const struct kg_request *,
			    struct kg_principal *pr, struct kg_response *resp);

/*
 * Returns 1 when pr holds scope: listed, or implied by "admin" (every scope
 * but operator.write), or pr is the global admin.  Else 0.
 */
int			kg_principal_has_scope(const struct kg_principal *pr,
			    const char *scope);

/*
 * Returns 1 when pr may act on project (pr_projects empty: every project;
 * else project is one of its words), else 0.  NONE holds no project.
 */
int			kg_principal_allows_project(
			    const struct kg_principal *pr, const char *project);

/*
 * The audit actor of pr (SPEC 9: "prefix or wallet").  *type is "admin",
 * "wallet", "api_key", "org_token", "daemon" or "anonymous"; *actor is
 * "admin", the wallet, the credential's id8 prefix, or "".  Both point
 * into pr or at static strings.
 */
void			kg_principal_actor(const struct kg_principal *pr,
			    const char **actor, const char **type);

/*
 * The created_by of what pr creates (API keys, org and install tokens):
 * "admin", "org:<id8>", "key:<id8>" (an API key or an access token
 * exchanged from one), "daemon:<id>", else "wallet:0x...".  Into by,
 * len bytes, cut to fit.
 */
void			kg_principal_created_by(const struct kg_principal *pr,
			    char *by, size_t len);

/*
 * Is pr a member of namespace ns (SPEC 9 "member")?  The global admin is
 * in every namespace; wallet sessions, API keys and org tokens in the one
 * they are bound to; daemon tokens in none (they reach only the daemon
 * routes).  1 or 0.
 */
int			kg_principal_in_namespace(
			    const struct kg_principal *pr, const char *ns);

/*
 * May pr administer namespace ns (SPEC 2, 9: "namespace admin", "track
 * >= 3")?  A member of ns that is a wallet session of track 3 or 4
 * (whatever track3_scopes say) or holds admin there.  1 or 0.
 */
int			kg_principal_may_admin(const struct kg_principal *pr,
			    const char *ns);

#endif
