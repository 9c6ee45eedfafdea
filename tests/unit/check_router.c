/*
 * check_router.c: path matching, the gate's order (404, 405 + Allow, 413,
 * authorizer fail-closed), the decisions of /v1/auth/check for principal
 * kinds made by hand, and that the route table and the OpenAPI
 * document describe the same set of operations.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>
#include <json-c/json.h>

#include "core/api/authn.h"
#include "core/api/check.h"
#include "core/api/ops.h"
#include "core/api/router.h"

static struct kg_ctx		ctx;
static struct kg_response	resp;

static void
setup(void)
{
	memset(&ctx, 0, sizeof(ctx));
	memset(&resp, 0, sizeof(resp));
}

static void
teardown(void)
{
	kg_ctx_free(&ctx);
	kg_resp_free(&resp);
}

static void
run(const char *method, const char *path)
{
	struct kg_request req;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.query = "";
	req.body = "";
	kg_dispatch(&ctx, &req, &resp);
}

START_TEST(match_literal_and_params)
{
	struct kg_params p;

	ck_assert_int_eq(kg_route_match("/health", "/health", &p), 1);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_int_eq(kg_route_match("/health", "/health/", &p), 0);
	ck_assert_int_eq(kg_route_match("/health", "/healthz", &p), 0);
	ck_assert_int_eq(kg_route_match("/health", "/", &p), 0);
	ck_assert_int_eq(kg_route_match("/v1/keys/{id}", "/v1/keys/42", &p), 1);
	ck_assert_str_eq(kg_param(&p, "id"), "42");
	ck_assert_ptr_null(kg_param(&p, "i"));
	ck_assert_int_eq(kg_route_match("/v1/keys/{id}", "/v1/keys/", &p), 0);
	ck_assert_int_eq(kg_route_match("/v1/keys/{id}", "/v1/keys/4/2", &p), 0);
	ck_assert_int_eq(kg_route_match(
	    "/v1/namespaces/{ns}/members/{wallet}",
	    "/v1/namespaces/acme/members/0xabc", &p), 1);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_str_eq(kg_param(&p, "ns"), "acme");
	ck_assert_str_eq(kg_param(&p, "wallet"), "0xabc");
}
END_TEST

START_TEST(match_refuses_overlong_param)
{
	struct kg_params	 p;
	char			 path[KG_ROUTE_PARAM_MAX + 16];

	strcpy(path, "/v1/keys/");
	memset(path + 9, 'a', KG_ROUTE_PARAM_MAX);
	path[9 + KG_ROUTE_PARAM_MAX] = '\0';
	ck_assert_int_eq(kg_route_match("/v1/keys/{id}", path, &p), 0);
	path[9 + KG_ROUTE_PARAM_MAX - 1] = '\0';
	ck_assert_int_eq(kg_route_match("/v1/keys/{id}", path, &p), 1);
}
END_TEST

START_TEST(unknown_path_is_404)
{
	run("GET", "/nope");
	ck_assert_int_eq(resp.status, 404);
	ck_assert_str_eq(kg_buf_str(&resp.body),
	    "{\"error\":\"not_found\",\"message\":\"No such endpoint.\"}");
	run("GET", "/");
	ck_assert_int_eq(resp.status, 404);
	run("GET", "/health/extra");
	ck_assert_int_eq(resp.status, 404);
}
END_TEST

START_TEST(other_method_is_405_with_allow)
{
	run("POST", "/health");
	ck_assert_int_eq(resp.status, 405);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body),
	    "\"method_not_allowed\""));
	ck_assert_str_eq(kg_resp_header_get(&resp, "Allow"), "GET");
	run("DELETE", "/docs");
	ck_assert_int_eq(resp.status, 405);
}
END_TEST

START_TEST(health_ok)
{
	run("GET", "/health");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, KG_CT_JSON);
	ck_assert_str_eq(kg_buf_str(&resp.body), "{\"status\":\"ok\"}");
}
END_TEST

START_TEST(body_too_large_is_413_after_404_405)
{
	struct kg_request req;

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/health";
	req.query = "";
	req.body = "";
	req.body_too_large = 1;
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 413);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body),
	    "\"body_too_large\""));
	req.path = "/nope";
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 404);
	req.path = "/health";
	req.method = "POST";
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 405);
}
END_TEST

START_TEST(authorizer_role_fails_closed)
{
	struct kg_request req;

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/health";
	req.query = "";
	req.body = "";
	req.role = KG_ROLE_AUTHORIZER;
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 401);
	ck_assert_str_eq(kg_resp_header_get(&resp, "WWW-Authenticate"), "Bearer");
}
END_TEST

START_TEST(openapi_served_as_is_and_docs_render)
{
	run("GET", "/openapi.json");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_uint_eq(resp.body.b_len, kg_openapi_json_len);
	ck_assert(memcmp(kg_buf_str(&resp.body), kg_openapi_json,
	    kg_openapi_json_len) == 0);
	run("GET", "/docs");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, KG_CT_HTML);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body), "<code>/ready</code>"));
	/* Second call is served from the worker's cached page. */
	run("GET", "/docs");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_nonnull(ctx.docs_html);
}
END_TEST

/* Is (method, path) an operation of the OpenAPI document? */
static int
documented(json_object *paths, const char *method, const char *pattern)
{
	json_object	*item, *op;
	char		 lower[8];
	size_t		 i;

	if (!json_object_object_get_ex(paths, pattern, &item))
		return 0;
	for (i = 0; method[i] != '\0' && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)method[i]);
	lower[i] = '\0';
	return json_object_object_get_ex(item, lower, &op);
}

/* Is (method, path) in the route table? */
static int
routed(const char *method, const char *path)
{
	const struct kg_route *rt;

	for (rt = kg_routes; rt->method != NULL; rt++)
		if (strcmp(rt->pattern, path) == 0 &&
		    strcasecmp(rt->method, method) == 0)
			return 1;
	return 0;
}

START_TEST(openapi_matches_route_table)
{
	static const char *const methods[] = {
		"get", "put", "post", "delete", "patch", "head", "options",
		"trace", NULL
	};
	const struct kg_route	*rt;
	const char *const	*m;
	json_object		*doc, *paths, *op;
	int			 nops = 0, nroutes = 0;

	doc = json_tokener_parse(kg_openapi_json);
	ck_assert_ptr_nonnull(doc);
	ck_assert(json_object_object_get_ex(doc, "paths", &paths));
	for (rt = kg_routes; rt->method != NULL; rt++) {
		nroutes++;
		ck_assert_msg(documented(paths, rt->method, rt->pattern),
		    "route %s %s is not in openapi.json", rt->method,
		    rt->pattern);
	}
	json_object_object_foreach(paths, path, item) {
		for (m = methods; *m != NULL; m++) {
			if (!json_object_object_get_ex(item, *m, &op))
				continue;
			nops++;
			ck_assert_msg(routed(*m, path),
			    "openapi.json documents %s %s, which is not routed",
			    *m, path);
		}
	}
	ck_assert_int_eq(nops, nroutes);
	json_object_put(doc);
}
END_TEST

/* ------------------------------------------------ check (SPEC 10) */

/*
 * kg_check_route with a principal made by hand, so the decision is tested
 * on its own, without a database: API-key principals here stand for the
 * real kg_sk_ keys (tests/db/check_authz.c creates those through
 * POST /v1/keys); daemon tokens, which kg_authn does not produce yet,
 * are tested only here.
 */
static int
check_as(const struct kg_principal *pr, const char *query)
{
	struct kg_request	req;
	struct kg_params	params;
	enum kg_err		r;

	memset(&req, 0, sizeof(req));
	memset(&params, 0, sizeof(params));
	req.method = "GET";
	req.path = "/v1/auth/check";
	req.query = query;
	req.body = "";
	kg_resp_reset(&resp);
	r = kg_check_route(&ctx, &req, &params, pr, &resp);
	ck_assert_int_eq(r, KG_OK);
	return resp.status;
}

static void
api_key(struct kg_principal *pr, const char *scopes, const char *projects)
{
	memset(pr, 0, sizeof(*pr));
	pr->pr_method = KG_METHOD_API_KEY;
	strcpy(pr->pr_subject, "key:3f9a2c1b");
	strcpy(pr->pr_ns, "acme");
	snprintf(pr->pr_scopes, sizeof(pr->pr_scopes), "%s", scopes);
	snprintf(pr->pr_projects, sizeof(pr->pr_projects), "%s", projects);
	strcpy(pr->pr_key_prefix, "3f9a2c1b");
}

START_TEST(check_project_restricted_key)
{
	struct kg_principal pr;

	api_key(&pr, "projects:read", "alpha beta-2");
	ck_assert_int_eq(check_as(&pr, "project=alpha"), 204);
	ck_assert_str_eq(kg_resp_header_get(&resp, "X-Keygate-Subject"),
	    "key:3f9a2c1b");
	ck_assert_str_eq(kg_resp_header_get(&resp, "X-Keygate-Method"),
	    "api_key");
	ck_assert_str_eq(kg_resp_header_get(&resp, "X-Keygate-Scopes"),
	    "projects:read");
	ck_assert_int_eq(check_as(&pr, "project=beta-2&scope=projects:read"),
	    204);
	ck_assert_int_eq(check_as(&pr, "project=gamma"), 403);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body), "\"forbidden\""));
	ck_assert_ptr_null(kg_resp_header_get(&resp, "X-Keygate-Subject"));
	/* Whole words only: no prefix or suffix of a listed project. */
	ck_assert_int_eq(check_as(&pr, "project=beta"), 403);
	ck_assert_int_eq(check_as(&pr, "project=alph"), 403);
	ck_assert_int_eq(check_as(&pr, "project=lpha"), 403);
	ck_assert_int_eq(check_as(&pr, "project=alpha&scope=keys:read"), 403);
	/* No project list: every project. */
	api_key(&pr, "projects:read keys:read", "");
	ck_assert_int_eq(check_as(&pr, "project=gamma&scope=keys:read"), 204);
	/* admin implies every scope but operator.write. */
	api_key(&pr, "admin", "");
	ck_assert_int_eq(check_as(&pr, "scope=keys:write"), 204);
	ck_assert_int_eq(check_as(&pr, "scope=operator.write"), 403);
}
END_TEST

START_TEST(check_daemon_token_forbidden)
{
	struct kg_principal pr;

	api_key(&pr, "projects:read", "");
	pr.pr_method = KG_METHOD_DAEMON_TOKEN;
	ck_assert_int_eq(check_as(&pr, ""), 403);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body), "\"forbidden\""));
	ck_assert_ptr_null(kg_resp_header_get(&resp, "X-Keygate-Subject"));
	ck_assert_int_eq(check_as(&pr, "scope=projects:read"), 403);
	/* 403 before 400: the query is not even read. */
	ck_assert_int_eq(check_as(&pr, "scope="), 403);
	/* Nobody is granted without a credential, whatever is asked. */
	memset(&pr, 0, sizeof(pr));
	ck_assert_int_eq(check_as(&pr, ""), 403);
}
END_TEST

START_TEST(check_scopes_header_whole)
{
	struct kg_principal	 pr;
	char			 scopes[sizeof(pr.pr_scopes)];
	const char		*got;
	size_t			 i, n = 0;

	/* As many scopes as a principal holds: the header carries them all. */
	for (i = 0; n + 12 < sizeof(scopes); i++)
		n += (size_t)snprintf(scopes + n, sizeof(scopes) - n, "%sscope:%04zu",
		    i > 0 ? " " : "", i);
	api_key(&pr, scopes, "");
	ck_assert_int_eq(check_as(&pr, "scope=scope:0001"), 204);
	got = kg_resp_header_get(&resp, "X-Keygate-Scopes");
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, scopes);
}
END_TEST

START_TEST(check_value_syntax)
{
	ck_assert_int_eq(kg_check_scope_valid("projects:read"), 1);
	ck_assert_int_eq(kg_check_scope_valid("a.b/c-d_e:F9"), 1);
	ck_assert_int_eq(kg_check_scope_valid(""), 0);
	ck_assert_int_eq(kg_check_scope_valid("a b"), 0);
	ck_assert_int_eq(kg_check_scope_valid("a\tb"), 0);
	ck_assert_int_eq(kg_check_scope_valid("a,b"), 0);
	ck_assert_int_eq(kg_check_scope_valid("\xc3\xa9"), 0);
	ck_assert_int_eq(kg_check_project_valid("p-1.x:y_Z"), 1);
	ck_assert_int_eq(kg_check_project_valid("a/b"), 0);
	ck_assert_int_eq(kg_check_project_valid(""), 0);
	ck_assert_int_eq(kg_check_project_valid("a b"), 0);
	ck_assert_int_eq(kg_check_project_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    1);
	ck_assert_int_eq(kg_check_project_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    0);
}
END_TEST

START_TEST(authorizer_bad_requirement_is_500)
{
	struct kg_request req;

	/* Refused before any credential is read (ctx has no config). */
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/protected/x";
	req.query = "";
	req.body = "";
	req.role = KG_ROLE_AUTHORIZER;
	req.require_scope = "keys read";
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 500);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body), "\"internal\""));
	req.require_scope = NULL;
	req.require_project = "a/b";
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 500);
	req.require_project = NULL;
	req.require_namespace = "NS";
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 500);
	/* Present but empty (a template that expanded to nothing) is as
	 * broken as malformed: never "no requirement". */
	req.require_namespace = "";
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 500);
	req.require_namespace = NULL;
	req.require_project = "";
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 500);
	req.require_project = NULL;
	req.require_scope = "";
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 500);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body), "\"internal\""));
	req.require_scope = NULL;
	req.require_namespace = "acme";
	kg_dispatch(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 401);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite	*s = suite_create("router");
	TCase	*tc = tcase_create("gate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, match_literal_and_params);
	tcase_add_test(tc, match_refuses_overlong_param);
	tcase_add_test(tc, unknown_path_is_404);
	tcase_add_test(tc, other_method_is_405_with_allow);
	tcase_add_test(tc, health_ok);
	tcase_add_test(tc, body_too_large_is_413_after_404_405);
	tcase_add_test(tc, authorizer_role_fails_closed);
	tcase_add_test(tc, authorizer_bad_requirement_is_500);
	tcase_add_test(tc, check_project_restricted_key);
	tcase_add_test(tc, check_daemon_token_forbidden);
	tcase_add_test(tc, check_scopes_header_whole);
	tcase_add_test(tc, check_value_syntax);
	tcase_add_test(tc, openapi_served_as_is_and_docs_render);
	tcase_add_test(tc, openapi_matches_route_table);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(router_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
