/*
 * auditlog.h: the audit listing of SPEC 9.
 */
#ifndef KG_API_AUDITLOG_H
#define KG_API_AUDITLOG_H

#include <stddef.h>

#include "core/api/authn.h"
#include "core/api/router.h"

/*
 * GET /v1/namespaces/{ns}/audit (namespace admin: kg_principal_may_admin).
 * 403 (audited as a denied audit_list) before the namespace is read; then
 * 400 for a bad name or query (limit, cursor, action, unknown keys); 404
 * namespace_not_found; else 200 {"items": [{id, at, namespace,
 * actor_type, actor, action, target, remote_addr, outcome}],
 * "next_cursor": "<id>"|null}, newest first.  Returns KG_OK with resp
 * filled, or a status for the router (a database failure: 503).
 */
enum kg_err	kg_auditlog_list(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);

#endif
