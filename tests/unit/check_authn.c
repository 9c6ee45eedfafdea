/*
 * check_authn.c: credential extraction, the global admin key, namespace
 * selection and the scope algebra of SPEC 2.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/api/authn.h"

#define ADMIN	"kg_ad_0nnnhaiy_zvWPFv3fOhHWkBq233KsefAyTaDnYYT65fja1FhU40u3hV"

static struct kg_config		cfg;
static struct kg_ctx		ctx;
static struct kg_response	resp;
static struct kg_request	req;
static struct kg_principal	pr;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.admin_key = (char *)ADMIN;
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	memset(&resp, 0, sizeof(resp));
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/v1/auth/whoami";
	req.query = "";
	req.body = "";
}

static void
teardown(void)
{
	kg_resp_free(&resp);
}

START_TEST(no_credential_is_none)
{
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_NONE);
	ck_assert_int_eq(pr.pr_method, KG_METHOD_NONE);
	req.authorization = "";
	req.x_api_key = "";
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_NONE);
}
END_TEST

START_TEST(admin_key_in_every_presentation)
{
	/* Parenthesised: clang warns on concatenation inside an array. */
	static const char *const auth[] = {
		("Bearer " ADMIN), ("bearer " ADMIN), ("ApiKey " ADMIN),
		("APIKEY  " ADMIN),
	};
	size_t i;

	for (i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
		req.authorization = auth[i];
		ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_OK);
		ck_assert_int_eq(pr.pr_method, KG_METHOD_ADMIN);
		ck_assert_str_eq(kg_method_name(pr.pr_method), "admin");
		ck_assert_str_eq(pr.pr_ns, "");
	}
	req.authorization = NULL;
	req.x_api_key = ADMIN;
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_OK);
	ck_assert_int_eq(pr.pr_method, KG_METHOD_ADMIN);
}
END_TEST

START_TEST(bad_credentials_are_401)
{
	static const char *const auth[] = {
		"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", ("Bearer " ADMIN "x"),
		("Bearer " ADMIN " x"), ("Token " ADMIN), ADMIN,
		/* one character off, same length */
		"Bearer kg_ad_0nnnhaiy_zvWPFv3fOhHWkBq233KsefAyTaDnYYT65fja1FhU40u3hW",
	};
	size_t i;

	for (i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
		req.authorization = auth[i];
		ck_assert_msg(kg_authn(&ctx, &req, &pr, &resp) ==
		    KG_AUTHN_REFUSED, "accepted auth[%zu]", i);
		ck_assert_int_eq(resp.status, 401);
		ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body),
		    "\"invalid_token\""));
		ck_assert_str_eq(kg_resp_header_get(&resp, "WWW-Authenticate"),
		    "Bearer");
		/* Nothing of the credential is echoed. */
		ck_assert_ptr_null(strstr(kg_buf_str(&resp.body), "kg_ad_"));
	}
}
END_TEST

START_TEST(no_admin_key_configured_refuses_everything)
{
	cfg.admin_key = (char *)"";
	req.authorization = "Bearer ";
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_REFUSED);
	req.x_api_key = "x";
	req.authorization = NULL;
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_REFUSED);
}
END_TEST

START_TEST(admin_selects_namespace)
{
	req.authorization = "Bearer " ADMIN;
	req.x_namespace = "acme";
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_OK);
	ck_assert_str_eq(pr.pr_ns, "acme");
	req.x_namespace = NULL;
	req.query = "a=1&namespace=beta.2";
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_OK);
	ck_assert_str_eq(pr.pr_ns, "beta.2");
	req.x_namespace = "beta.2";
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_OK);
	/* Conflicting, malformed or duplicated selections are refused. */
	req.x_namespace = "acme";
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_REFUSED);
	ck_assert_int_eq(resp.status, 400);
	req.x_namespace = "Acme";
	req.query = "";
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_REFUSED);
	req.x_namespace = NULL;
	req.query = "namespace=a&namespace=a";
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_REFUSED);
	req.query = "namespace=-x";
	ck_assert_int_eq(kg_authn(&ctx, &req, &pr, &resp), KG_AUTHN_REFUSED);
}
END_TEST

START_TEST(scope_algebra)
{
	struct kg_principal p;

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(kg_principal_has_scope(&p, "keys:read"), 0);
	p.pr_method = KG_METHOD_API_KEY;
	strcpy(p.pr_scopes, "projects:read keys:read");
	ck_assert_int_eq(kg_principal_has_scope(&p, "keys:read"), 1);
	ck_assert_int_eq(kg_principal_has_scope(&p, "projects:read"), 1);
	ck_assert_int_eq(kg_principal_has_scope(&p, "keys:write"), 0);
	ck_assert_int_eq(kg_principal_has_scope(&p, "keys"), 0);
	ck_assert_int_eq(kg_principal_has_scope(&p, "read"), 0);
	ck_assert_int_eq(kg_principal_has_scope(&p, ""), 0);
	strcpy(p.pr_scopes, "admin");
	ck_assert_int_eq(kg_principal_has_scope(&p, "keys:write"), 1);
	ck_assert_int_eq(kg_principal_has_scope(&p, "introspect"), 1);
	ck_assert_int_eq(kg_principal_has_scope(&p, "operator.write"), 0);
	/* operator.write is never a key's, whatever it lists (SPEC 2)... */
	strcpy(p.pr_scopes, "admin operator.write");
	ck_assert_int_eq(kg_principal_has_scope(&p, "operator.write"), 0);
	p.pr_method = KG_METHOD_ORG_TOKEN;
	ck_assert_int_eq(kg_principal_has_scope(&p, "operator.write"), 0);
	/* ...nor a key-derived JWT's (no track); a wallet session's it is. */
	p.pr_method = KG_METHOD_JWT;
	ck_assert_int_eq(kg_principal_has_scope(&p, "operator.write"), 0);
	p.pr_track = 4;
	ck_assert_int_eq(kg_principal_has_scope(&p, "operator.write"), 1);
	strcpy(p.pr_scopes, "admin");
	ck_assert_int_eq(kg_principal_has_scope(&p, "operator.write"), 0);
	p.pr_method = KG_METHOD_API_KEY;
	p.pr_track = 0;
	strcpy(p.pr_scopes, "administrator");
	ck_assert_int_eq(kg_principal_has_scope(&p, "keys:read"), 0);
	p.pr_method = KG_METHOD_ADMIN;
	p.pr_scopes[0] = '\0';
	ck_assert_int_eq(kg_principal_has_scope(&p, "operator.write"), 1);
}
END_TEST

static Suite *
authn_suite(void)
{
	Suite	*s = suite_create("authn");
	TCase	*tc = tcase_create("gate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, no_credential_is_none);
	tcase_add_test(tc, admin_key_in_every_presentation);
	tcase_add_test(tc, bad_credentials_are_401);
	tcase_add_test(tc, no_admin_key_configured_refuses_everything);
	tcase_add_test(tc, admin_selects_namespace);
	tcase_add_test(tc, scope_algebra);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(authn_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
