/*
 * ops.h: operational endpoints (SPEC 11): /health, /ready, /openapi.json,
 * /docs, /metrics.
 */
#ifndef KG_OPS_H
#define KG_OPS_H

#include "core/api/router.h"

enum kg_err	kg_ops_health(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
enum kg_err	kg_ops_ready(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
enum kg_err	kg_ops_openapi(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/*
 * GET /metrics: the Prometheus text of every worker's counters
 * (core/base/metrics.h); 403 forbidden unless REMOTE_ADDR is in
 * metrics_allow.
 */
enum kg_err	kg_ops_metrics(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
enum kg_err	kg_ops_docs(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);

/* The OpenAPI document compiled from core/api/openapi.json. */
extern const char	kg_openapi_json[];
extern const size_t	kg_openapi_json_len;

#endif
