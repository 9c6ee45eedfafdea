/*
 * nsgate.h: the namespace gate of the management routes whose rights
 * depend on the {ns} path segment (members, org tokens, install and
 * daemon tokens, the audit listing), and the audit rows of their
 * refusals.
 *
 * The {ns} segment is the client's text: a caller may put a credential
 * there.  A refusal is audited under that name only when
 * kg_audit_ns_safe() accepts it; otherwise under the caller's own
 * namespace (NULL when it has none), so no secret ever reaches a row.
 */
#ifndef KG_NSGATE_H
#define KG_NSGATE_H

#include <stdint.h>

#include "core/api/authn.h"
#include "core/api/router.h"
#include "core/base/config.h"
#include "core/store/audit.h"

/* What the gate asks of the caller in the namespace named. */
enum kg_ns_need {
	KG_NS_ADMIN,	/* kg_principal_may_admin */
	KG_NS_MEMBER,	/* kg_principal_in_namespace */
};

/*
 * Is ns safe to write into an audit row?  An allow-list: a valid
 * namespace name that has none of the shapes of a credential keygate
 * knows: "mit_"/"mdt_" anything, <letters>_<two letters>_ (opaque
 * tokens), a run of 32 or more hex digits (install/daemon secrets, hex
 * keys), or the admin key's length when the admin key could itself be
 * a namespace name.  JWTs cannot be valid names (upper case).
 */
int		kg_audit_ns_safe(const struct kg_config *cfg, const char *ns);

/* Fills au: pr acting on ns (as given: for names already verified). */
void		kg_audit_event(struct kg_audit *au,
		    const struct kg_request *req,
		    const struct kg_principal *pr, const char *ns,
		    const char *action, const char *target,
		    const char *outcome);

/*
 * Records a refused or failed attempt, best effort (a lost row is
 * logged).  ns is the client's text: filtered by kg_audit_ns_safe().
 */
void		kg_audit_refusal(struct kg_ctx *ctx,
		    const struct kg_request *req,
		    const struct kg_principal *pr, const char *ns,
		    const char *action, const char *target,
		    const char *outcome);

/*
 * The gate, in SPEC order: 403 forbidden when pr lacks need in ns
 * (audited as a denied action, with target, before anything about ns
 * is read; not audited when action is NULL: reading is not
 * administering),
 * then 400 invalid_namespace, then, when ns_id is not NULL, 404
 * namespace_not_found or *ns_id set.  Returns KG_OK with *done 1 when
 * resp holds the refusal, *done 0 when the handler goes on; any other
 * status is for the router.
 */
/*
 * The id of namespace ns (already authorised and valid): KG_OK with *done
 * 0 and *ns_id set, KG_OK with *done 1 and a 404 namespace_not_found in
 * resp, or a KG_ERR_DB* status.
 */
enum kg_err	kg_ns_lookup(struct kg_ctx *ctx, const char *ns,
		    struct kg_response *resp, uint64_t *ns_id, int *done);

enum kg_err	kg_ns_gate(struct kg_ctx *ctx, const struct kg_request *req,
		    const struct kg_principal *pr, const char *ns,
		    enum kg_ns_need need, const char *action,
		    const char *target, struct kg_response *resp,
		    uint64_t *ns_id, int *done);

#endif /* KG_NSGATE_H */
