/*
 * routes.c: the one route table.  Every route is documented in
 * core/api/openapi.json; tests/unit/check_router.c fails when the two
 * disagree.
 */
#include <stddef.h>

#include "core/api/ops.h"
#include "core/api/router.h"

const struct kg_route kg_routes[] = {
	{ "GET",  "/health",		kg_ops_health,	KG_AUTH_PUBLIC, NULL },
	{ "GET",  "/ready",		kg_ops_ready,	KG_AUTH_PUBLIC, NULL },
	{ "GET",  "/openapi.json",	kg_ops_openapi,	KG_AUTH_PUBLIC, NULL },
	{ "GET",  "/docs",		kg_ops_docs,	KG_AUTH_PUBLIC, NULL },
	{ NULL,   NULL,			NULL,		KG_AUTH_PUBLIC, NULL },
};
