/*
 * nsgate.c: the namespace gate and the refusal audit rows of the
 * routes whose rights depend on {ns} (see nsgate.h).
 *
 * Decision: a refusal whose {ns} is not safe to record is audited
 * under the caller's own namespace (its admins see the attempt), or
 * with namespace NULL (the global admin's view) when it has none; the
 * text itself is dropped.
 */
#include <string.h>

#include "core/api/nsgate.h"
#include "core/base/log.h"
#include "core/base/names.h"
#include "core/store/wallet.h"

/* Hex runs at least this long look like a secret (40 hex: SPEC 3). */
#define SECRET_HEX_RUN	32

/* Does s start with 2 to 8 lower-case letters, "_", 2 letters, "_"? */
static int
opaque_shaped(const char *s)
{
	size_t	n = strspn(s, "abcdefghijklmnopqrstuvwxyz");

	return n >= 2 && n <= 8 && s[n] == '_' &&
	    strspn(s + n + 1, "abcdefghijklmnopqrstuvwxyz") >= 2 &&
	    s[n + 3] == '_';
}

/* Has s a run of SECRET_HEX_RUN or more hex digits? */
static int
has_hex_run(const char *s)
{
	size_t	n;

	for (; *s != '\0'; s += n > 0 ? n : 1)
		if ((n = strspn(s, "0123456789abcdef")) >= SECRET_HEX_RUN)
			return 1;
	return 0;
}

int
kg_audit_ns_safe(const struct kg_config *cfg, const char *ns)
{
	if (ns == NULL || !kg_namespace_valid(ns))
		return 0;
	if (strncmp(ns, "mit_", 4) == 0 || strncmp(ns, "mdt_", 4) == 0 ||
	    opaque_shaped(ns) || has_hex_run(ns))
		return 0;
	/* An admin key that could be a name: no name of its length. */
	if (cfg != NULL && cfg->admin_key != NULL &&
	    cfg->admin_key[0] != '\0' && kg_namespace_valid(cfg->admin_key) &&
	    strlen(ns) == strlen(cfg->admin_key))
		return 0;
	return 1;
}

void
kg_audit_event(struct kg_audit *au, const struct kg_request *req,
    const struct kg_principal *pr, const char *ns, const char *action,
    const char *target, const char *outcome)
{
	memset(au, 0, sizeof(*au));
	au->au_namespace = ns;
	au->au_action = action;
	au->au_target = target;
	au->au_remote_addr = req->remote_addr;
	au->au_outcome = outcome;
	kg_principal_actor(pr, &au->au_actor, &au->au_actor_type);
}

void
kg_audit_refusal(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_principal *pr, const char *ns, const char *action,
    const char *target, const char *outcome)
{
	struct kg_audit	au;

	if (!kg_audit_ns_safe(ctx->cfg, ns))
		ns = pr->pr_ns[0] != '\0' ? pr->pr_ns : NULL;
	kg_audit_event(&au, req, pr, ns, action, target, outcome);
	if (kg_store_audit(ctx->db, &au) != KG_OK)
		kg_log_warn("audit event %s (%s) not recorded", action,
		    outcome);
}

enum kg_err
kg_ns_gate(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_principal *pr, const char *ns, enum kg_ns_need need,
    const char *action, const char *target, struct kg_response *resp,
    uint64_t *ns_id, int *done)
{
	int	ok;

	*done = 1;
	if (ns == NULL)
		return KG_ERR_INTERNAL;
	ok = need == KG_NS_ADMIN ? kg_principal_may_admin(pr, ns) :
	    kg_principal_in_namespace(pr, ns);
	if (!ok) {
		if (action != NULL)
			kg_audit_refusal(ctx, req, pr, ns, action, target,
			    "denied");
		kg_resp_error(resp, 403, "forbidden",
		    "The credential does not grant this operation.");
		return KG_OK;
	}
	if (!kg_namespace_valid(ns)) {
		kg_resp_error(resp, 400, "invalid_namespace",
		    "namespace must match ^[a-z0-9][a-z0-9._-]{0,62}$.");
		return KG_OK;
	}
	if (ns_id == NULL) {
		*done = 0;
		return KG_OK;
	}
	return kg_ns_lookup(ctx, ns, resp, ns_id, done);
}

enum kg_err
kg_ns_lookup(struct kg_ctx *ctx, const char *ns, struct kg_response *resp,
    uint64_t *ns_id, int *done)
{
	enum kg_err	r;

	*done = 1;
	r = kg_store_namespace_get(ctx->db, ns, ns_id);
	if (r == KG_ERR_NOT_FOUND) {
		kg_resp_error(resp, 404, "namespace_not_found",
		    "No such namespace.");
		return KG_OK;
	}
	if (r == KG_OK)
		*done = 0;
	return r;
}
