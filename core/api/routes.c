/*
 * routes.c: the one route table.  Every route is documented in
 * core/api/openapi.json; tests/unit/check_router.c fails when the two
 * disagree.
 */
#include <stddef.h>

#include "core/api/auditlog.h"
#include "core/api/check.h"
#include "core/api/enroll.h"
#include "core/api/keys.h"
#include "core/api/members.h"
#include "core/api/ops.h"
#include "core/api/orgtokens.h"
#include "core/api/router.h"
#include "core/api/session.h"
#include "core/api/wallet.h"

const struct kg_route kg_routes[] = {
	{ "GET",  "/health",		kg_ops_health,	KG_AUTH_PUBLIC, NULL },
	{ "GET",  "/ready",		kg_ops_ready,	KG_AUTH_PUBLIC, NULL },
	{ "GET",  "/openapi.json",	kg_ops_openapi,	KG_AUTH_PUBLIC, NULL },
	{ "GET",  "/docs",		kg_ops_docs,	KG_AUTH_PUBLIC, NULL },
	/* metrics_allow decides, in the handler (SPEC 11). */
	{ "GET",  "/metrics",		kg_ops_metrics,	KG_AUTH_PUBLIC, NULL },
	{ "POST", "/v1/auth/challenge",	kg_wallet_challenge, KG_AUTH_PUBLIC, NULL },
	{ "POST", "/v1/auth/verify",	kg_wallet_verify, KG_AUTH_PUBLIC, NULL },
	{ "POST", "/v1/apps",		kg_wallet_app_create, KG_AUTH_PUBLIC, NULL },
	/* track >= 3 or admin (SPEC 4): no one scope says it; the handler does. */
	{ "GET",  "/v1/apps",		kg_wallet_app_list, KG_AUTH_REQUIRED, NULL },
	{ "GET",  "/.well-known/jwks.json", kg_session_jwks, KG_AUTH_PUBLIC, NULL },
	/* refresh and logout read the credential themselves (session.c). */
	{ "POST", "/v1/auth/refresh",	kg_session_refresh, KG_AUTH_PUBLIC, NULL },
	{ "POST", "/v1/auth/logout",	kg_session_logout, KG_AUTH_PUBLIC, NULL },
	{ "POST", "/v1/auth/revoke",	kg_session_revoke, KG_AUTH_PUBLIC, NULL },
	{ "GET",  "/v1/auth/whoami",	kg_session_whoami, KG_AUTH_OPTIONAL, NULL },
	/* token and introspect check the credential's kind themselves. */
	{ "POST", "/v1/auth/token",	kg_keys_token,	KG_AUTH_REQUIRED, NULL },
	{ "POST", "/v1/auth/introspect", kg_keys_introspect, KG_AUTH_REQUIRED,
	    "introspect" },
	{ "POST", "/v1/auth/api-key",	kg_keys_wallet_mint, KG_AUTH_PUBLIC, NULL },
	{ "GET",  "/v1/auth/check",	kg_check_route,	KG_AUTH_REQUIRED, NULL },
	{ "POST", "/v1/keys",		kg_keys_create,	KG_AUTH_REQUIRED, "keys:write" },
	{ "GET",  "/v1/keys",		kg_keys_list,	KG_AUTH_REQUIRED, "keys:read" },
	{ "GET",  "/v1/keys/{id}",	kg_keys_get,	KG_AUTH_REQUIRED, "keys:read" },
	{ "DELETE", "/v1/keys/{id}",	kg_keys_revoke,	KG_AUTH_REQUIRED, "keys:write" },
	/* SPEC 9 rights depend on the namespace named: the handlers decide. */
	{ "POST", "/v1/namespaces",	kg_ns_create,	KG_AUTH_REQUIRED, NULL },
	{ "GET",  "/v1/namespaces/{ns}", kg_ns_get,	KG_AUTH_REQUIRED, NULL },
	{ "GET",  "/v1/namespaces/{ns}/members", kg_members_list,
	    KG_AUTH_REQUIRED, NULL },
	{ "PUT",  "/v1/namespaces/{ns}/members/{wallet}", kg_members_put,
	    KG_AUTH_REQUIRED, NULL },
	{ "DELETE", "/v1/namespaces/{ns}/members/{wallet}", kg_members_delete,
	    KG_AUTH_REQUIRED, NULL },
	/* SPEC 7, 8, 9 (audit): namespace admin, decided by the handlers. */
	{ "POST", "/v1/namespaces/{ns}/install-tokens", kg_enroll_install_create,
	    KG_AUTH_REQUIRED, NULL },
	{ "POST", "/v1/install-tokens/exchange", kg_enroll_exchange,
	    KG_AUTH_PUBLIC, NULL },
	{ "GET",  "/v1/namespaces/{ns}/daemon-tokens", kg_enroll_daemon_list,
	    KG_AUTH_REQUIRED, NULL },
	{ "DELETE", "/v1/namespaces/{ns}/daemon-tokens/{id}",
	    kg_enroll_daemon_revoke, KG_AUTH_REQUIRED, NULL },
	{ "GET",  "/v1/daemon/whoami",	kg_enroll_daemon_whoami, KG_AUTH_DAEMON,
	    NULL },
	{ "POST", "/v1/daemon/heartbeat", kg_enroll_daemon_heartbeat,
	    KG_AUTH_DAEMON, NULL },
	{ "POST", "/v1/namespaces/{ns}/org-tokens", kg_orgtokens_create,
	    KG_AUTH_REQUIRED, NULL },
	{ "GET",  "/v1/namespaces/{ns}/org-tokens", kg_orgtokens_list,
	    KG_AUTH_REQUIRED, NULL },
	{ "DELETE", "/v1/namespaces/{ns}/org-tokens/{id}", kg_orgtokens_revoke,
	    KG_AUTH_REQUIRED, NULL },
	{ "GET",  "/v1/namespaces/{ns}/audit", kg_auditlog_list,
	    KG_AUTH_REQUIRED, NULL },
	{ NULL,   NULL,			NULL,		KG_AUTH_PUBLIC, NULL },
};
