/*
 * check_router.c: path matching, the gate's order (404, 405 + Allow, 413,
 * authorizer fail-closed), and that the route table and the OpenAPI
 * document describe the same set of operations.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>
#include <json-c/json.h>

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
