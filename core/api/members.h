/*
 * members.h: namespaces and members management (SPEC 9).
 */
#ifndef KG_API_MEMBERS_H
#define KG_API_MEMBERS_H

#include "core/api/router.h"

/* POST /v1/namespaces (global admin). */
enum kg_err	kg_ns_create(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* GET /v1/namespaces/{ns} (member). */
enum kg_err	kg_ns_get(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* GET /v1/namespaces/{ns}/members (track >= 3). */
enum kg_err	kg_members_list(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* PUT /v1/namespaces/{ns}/members/{wallet} (track >= 3). */
enum kg_err	kg_members_put(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* DELETE /v1/namespaces/{ns}/members/{wallet} (track >= 3). */
enum kg_err	kg_members_delete(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);

#endif
