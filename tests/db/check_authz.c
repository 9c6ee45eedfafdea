/*
 * check_authz.c: SPEC 10 against a real MariaDB, through kg_dispatch:
 * GET /v1/auth/check (204 and its X-Keygate-* headers, 401 without or
 * with a bad or revoked credential, 403 for a missing scope, another
 * namespace, 400 for a bad query) and the FastCGI Authorizer role (the
 * same decisions from KEYGATE_REQUIRE_*, 200, the application's query
 * string and X-Keygate-Namespace header ignored, a bad or empty
 * requirement never granting and logged), both failing closed with 503
 * when the database cannot be reached; for session JWTs, the admin key
 * and real kg_sk_ API keys made through POST /v1/keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "core/api/authn.h"
#include "core/api/ctx.h"
#include "core/api/router.h"
#include "core/api/session.h"
#include "core/crypto/token.h"
#include "core/store/db.h"
#include "tests/db/dbtest.h"
#include "core/store/revocation.h"
#include "tests/db/httptest.h"

#define WALLET	"0x52908400098527886e0f7030069857d2e4169ee7"
#define WALLET2	"0x8617e340b3d01fa5f11f306f4090fd50e238070d"
#define ADMIN	KG_HT_ADMIN
#define TRACK2_SCOPES	"projects:read projects:execute keys:read keys:write"

static unsigned long long	hns;

static void
hsetup(void)
{
	static const struct kg_ht_opts	o = { 1, 0, NULL };

	kg_ht_setup(&o);
	hns = kg_ht_make_ns(&hcfg, "acme");
	/* WALLET at track 2, WALLET2 at track 1. */
	kg_ht_add_member(&hcfg, hns, WALLET, 2, 0);
	kg_ht_add_member(&hcfg, hns, WALLET2, 1, 0);
}

/* GET /v1/auth/check?query with Authorization auth (NULL: none). */
static int
check(const char *query, const char *auth)
{
	return kg_ht_call("GET", "/v1/auth/check", query, auth, NULL, NULL,
	    NULL);
}

/* What the web server sends an Authorizer for the original request. */
struct authz {
	const char	*path;
	const char	*query;
	const char	*auth;
	const char	*x_api_key;
	const char	*x_ns;		/* X-Keygate-Namespace */
	const char	*scope;
	const char	*project;
	const char	*ns;
};

static int
authorize(const struct authz *a)
{
	struct kg_request	req;

	kg_ht_request(&req, "GET", a->path != NULL ? a->path :
	    "/protected/secret.txt", a->query, a->auth, a->x_ns, NULL, NULL);
	req.x_api_key = a->x_api_key;
	req.role = KG_ROLE_AUTHORIZER;
	req.require_scope = a->scope;
	req.require_project = a->project;
	req.require_namespace = a->ns;
	return kg_ht_dispatch(&req);
}

static const char *
header(const char *name)
{
	const char	*v = kg_resp_header_get(&hresp, name);

	return v != NULL ? v : "(absent)";
}

/* A grant: no body, not cacheable, and the caller described. */
static void
assert_grant(const char *subject, const char *ns, const char *scopes,
    const char *method)
{
	ck_assert_ptr_null(hresp.content_type);
	ck_assert_uint_eq(hresp.body.b_len, 0);
	ck_assert_int_eq(hresp.no_store, 1);
	ck_assert_str_eq(header("X-Keygate-Subject"), subject);
	ck_assert_str_eq(header("X-Keygate-Namespace"), ns);
	ck_assert_str_eq(header("X-Keygate-Scopes"), scopes);
	ck_assert_str_eq(header("X-Keygate-Method"), method);
}

/* A refusal describes nobody. */
static void
assert_refusal(int status, const char *code)
{
	ck_assert_int_eq(hresp.status, status);
	ck_assert_str_eq(kg_ht_error(), code);
	ck_assert_ptr_null(kg_resp_header_get(&hresp, "X-Keygate-Subject"));
	ck_assert_ptr_null(kg_resp_header_get(&hresp, "X-Keygate-Scopes"));
	if (status == 401)
		ck_assert_str_eq(header("WWW-Authenticate"), "Bearer");
}

/* Signs subject in at track; "Bearer <access token>" into auth. */
static void
start(const char *subject, int track, char *auth, size_t len)
{
	struct kg_session_tokens st;

	kg_ht_start(hns, "acme", subject, track, &st);
	ck_assert_int_lt(snprintf(auth, len, "Bearer %s",
	    kg_buf_str(&st.st_access)), (int)len);
	kg_buf_free(&st.st_access);
}

/*
 * Creates an API key in acme through POST /v1/keys as the global admin:
 * "Bearer <secret>" into auth, "key:<id8>" into subject.
 */
static void
mint_key(const char *body, char *auth, size_t len, char *subject,
    size_t slen)
{
	json_object		*doc, *v;
	const char		*sec;

	kg_ht_call("POST", "/v1/keys", NULL, "Bearer " ADMIN, "acme",
	    "application/json", body);
	ck_assert_msg(hresp.status == 201, "%d %s", hresp.status,
	    kg_buf_str(&hresp.body));
	doc = json_tokener_parse(kg_buf_str(&hresp.body));
	ck_assert_ptr_nonnull(doc);
	ck_assert(json_object_object_get_ex(doc, "secret", &v));
	sec = json_object_get_string(v);
	ck_assert_int_eq(strncmp(sec, "kg_sk_", 6), 0);
	ck_assert_int_lt(snprintf(auth, len, "Bearer %s", sec), (int)len);
	ck_assert_int_lt(snprintf(subject, slen, "key:%.8s", sec + 6),
	    (int)slen);
	json_object_put(doc);
}

/* ------------------------------------------------------ /v1/auth/check */

START_TEST(check_grants_with_headers)
{
	char	auth[4200];

	start(WALLET, 2, auth, sizeof(auth));
	ck_assert_int_eq(check("scope=keys:read", auth), 204);
	assert_grant(WALLET, "acme", TRACK2_SCOPES, "jwt");
	/* No requirement: any valid credential. */
	ck_assert_int_eq(check("", auth), 204);
	assert_grant(WALLET, "acme", TRACK2_SCOPES, "jwt");
	/* A session holds every project; percent-encoding is decoded. */
	ck_assert_int_eq(check("scope=projects%3Aexecute&project=p-1.x:y",
	    auth), 204);
	ck_assert_int_eq(check("project=p1&namespace=acme", auth), 204);
	assert_grant(WALLET, "acme", TRACK2_SCOPES, "jwt");
	/* "bearer": the scheme is case-insensitive. */
	auth[0] = 'b';
	ck_assert_int_eq(check("scope=keys:write", auth), 204);
}
END_TEST

START_TEST(check_refuses_without_valid_credential)
{
	char	auth[4200];

	ck_assert_int_eq(check("scope=keys:read", NULL), 401);
	assert_refusal(401, "unauthenticated");
	ck_assert_int_eq(check("", "Bearer a.b.c"), 401);
	assert_refusal(401, "invalid_token");
	ck_assert_int_eq(check("", "Basic dXNlcjpwYXNz"), 401);
	assert_refusal(401, "invalid_token");
	ck_assert_int_eq(check("", "Bearer kg_sk_nothing"), 401);
	assert_refusal(401, "invalid_token");
	/* 401 comes before 400: a bad query tells nothing without one. */
	ck_assert_int_eq(check("scope=", NULL), 401);
	/* A token signed with another key. */
	start(WALLET, 2, auth, sizeof(auth));
	auth[strlen(auth) - 2] = auth[strlen(auth) - 2] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(check("", auth), 401);
	assert_refusal(401, "invalid_token");
}
END_TEST

START_TEST(check_revoked_token_refused)
{
	char	auth[4200];

	start(WALLET, 2, auth, sizeof(auth));
	ck_assert_int_eq(check("scope=keys:read", auth), 204);
	{
		struct kg_request req;

		memset(&req, 0, sizeof(req));
		req.method = "POST";
		req.path = "/v1/auth/logout";
		req.query = "";
		req.authorization = auth;
		req.body = "";
		req.remote_addr = "192.0.2.7";
		kg_dispatch(&hctx, &req, &hresp);
		ck_assert_int_eq(hresp.status / 100, 2);
	}
	ck_assert_int_eq(check("scope=keys:read", auth), 401);
	assert_refusal(401, "token_revoked");
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth }), 401);
	assert_refusal(401, "token_revoked");
}
END_TEST

START_TEST(check_missing_scope_is_403)
{
	char	auth[4200], auth2[4200];

	start(WALLET2, 1, auth, sizeof(auth));
	ck_assert_int_eq(check("scope=projects:read", auth), 204);
	assert_grant(WALLET2, "acme", "projects:read", "jwt");
	ck_assert_int_eq(check("scope=keys:read", auth), 403);
	assert_refusal(403, "forbidden");
	ck_assert_int_eq(check("scope=projects:execute&project=p1", auth), 403);
	assert_refusal(403, "forbidden");
	/* A scope nobody configured is held by nobody but the admin. */
	ck_assert_int_eq(check("scope=billing:read", auth), 403);
	/* No prefix or substring matches. */
	ck_assert_int_eq(check("scope=projects", auth), 403);
	ck_assert_int_eq(check("scope=projects:rea", auth), 403);
	start(WALLET, 2, auth2, sizeof(auth2));
	ck_assert_int_eq(check("scope=operator.write", auth2), 403);
	ck_assert_int_eq(check("scope=admin", auth2), 403);
}
END_TEST

START_TEST(check_other_namespace_is_403)
{
	char	auth[4200];

	start(WALLET, 2, auth, sizeof(auth));
	ck_assert_int_eq(check("namespace=acme&scope=keys:read", auth), 204);
	ck_assert_int_eq(check("namespace=globex&scope=keys:read", auth), 403);
	assert_refusal(403, "forbidden");
	ck_assert_int_eq(check("namespace=acm", auth), 403);
}
END_TEST

START_TEST(check_admin_holds_everything)
{
	const char	*admin = "Bearer " ADMIN;

	ck_assert_int_eq(check("scope=operator.write&project=any", admin), 204);
	assert_grant("admin", "", "admin operator.write", "admin");
	ck_assert_int_eq(check("scope=billing:read", admin), 204);
	/* The admin's namespace selection is reported. */
	ck_assert_int_eq(check("namespace=globex&scope=keys:read", admin), 204);
	assert_grant("admin", "globex", "admin operator.write", "admin");
	/* Through X-API-Key too. */
	{
		struct kg_request req;

		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.path = "/v1/auth/check";
		req.query = "scope=keys:write";
		req.x_api_key = ADMIN;
		req.body = "";
		req.remote_addr = "192.0.2.7";
		kg_dispatch(&hctx, &req, &hresp);
		ck_assert_int_eq(hresp.status, 204);
		assert_grant("admin", "", "admin operator.write", "admin");
	}
	/* One character off is not the admin key. */
	ck_assert_int_eq(check("", "Bearer " ADMIN "x"), 401);
}
END_TEST

START_TEST(check_bad_query_is_400)
{
	static const char *const bad[] = {
		"scope=",			/* empty */
		"scope",			/* no value */
		"scope=keys:read&scope=keys:read", /* repeated */
		"scope=keys:read&scope=admin",
		"scope=keys%20read",		/* a space: two scopes */
		"scope=keys+read",
		"scope=keys%3Aread%00",		/* NUL */
		"scope=%zz",			/* bad escape */
		"scope=k%C3%A9ys",		/* not ASCII */
		"scope=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaa",		/* 65 */
		"project=",
		"project=a/b",			/* '/' is for scopes only */
		"project=p1&project=p2",
		"project=a%0Ab",
		"namespace=",
		"namespace=ACME",
		"namespace=-acme",
		"scopes=keys:read",		/* unknown key */
		"scope=keys:read&x=1",
		"Scope=keys:read",
		NULL
	};
	char	auth[4200];
	size_t	i;

	start(WALLET, 2, auth, sizeof(auth));
	for (i = 0; bad[i] != NULL; i++) {
		ck_assert_msg(check(bad[i], auth) == 400, "%s: %d", bad[i],
		    hresp.status);
		assert_refusal(400, "invalid_request");
	}
	/* 64 characters is the limit, not an error. */
	ck_assert_int_eq(check("scope=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaa", auth), 403);
	ck_assert_int_eq(check("project=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa", auth), 204);
	/* Empty pieces are not keys. */
	ck_assert_int_eq(check("&scope=keys:read&", auth), 204);
}
END_TEST

START_TEST(check_only_get)
{
	struct kg_request	req;

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/v1/auth/check";
	req.query = "";
	req.authorization = "Bearer " ADMIN;
	req.body = "";
	kg_dispatch(&hctx, &req, &hresp);
	ck_assert_int_eq(hresp.status, 405);
	ck_assert_str_eq(header("Allow"), "GET");
}
END_TEST

/* ---------------------------------------------------- Authorizer role */

START_TEST(authorizer_grants_with_headers)
{
	char	auth[4200];

	start(WALLET, 2, auth, sizeof(auth));
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "keys:read" }), 200);
	assert_grant(WALLET, "acme", TRACK2_SCOPES, "jwt");
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "projects:execute", .project = "p1", .ns = "acme" }), 200);
	assert_grant(WALLET, "acme", TRACK2_SCOPES, "jwt");
	/* No requirement: any valid credential; whatever the path. */
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .path = "/v1/auth/check" }), 200);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .path = "/health" }), 200);
	assert_grant(WALLET, "acme", TRACK2_SCOPES, "jwt");
}
END_TEST

START_TEST(authorizer_refusals)
{
	char	auth[4200];

	ck_assert_int_eq(authorize(&(struct authz){ .scope = "keys:read" }),
	    401);
	assert_refusal(401, "unauthenticated");
	/* No path is public to an authorizer. */
	ck_assert_int_eq(authorize(&(struct authz){ .path = "/health" }), 401);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = "Bearer x.y.z" }),
	    401);
	assert_refusal(401, "invalid_token");
	ck_assert_int_eq(authorize(&(struct authz){ .x_api_key = "nope" }),
	    401);
	assert_refusal(401, "invalid_token");

	start(WALLET2, 1, auth, sizeof(auth));
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "projects:read" }), 200);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "keys:read" }), 403);
	assert_refusal(403, "forbidden");
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "projects:read", .ns = "globex" }), 403);
	assert_refusal(403, "forbidden");
}
END_TEST

START_TEST(authorizer_ignores_application_query)
{
	char	auth[4200];

	/* ?namespace= belongs to the protected application: it neither
	 * selects the admin's namespace nor refuses the request. */
	ck_assert_int_eq(authorize(&(struct authz){ .auth = "Bearer " ADMIN,
	    .query = "namespace=NOT%20VALID&namespace=x",
	    .scope = "operator.write" }), 200);
	assert_grant("admin", "", "admin operator.write", "admin");
	/* The admin acts in the namespace a location requires. */
	ck_assert_int_eq(authorize(&(struct authz){ .auth = "Bearer " ADMIN,
	    .query = "namespace=globex", .ns = "acme" }), 200);
	assert_grant("admin", "acme", "admin operator.write", "admin");
	/* Nor can a scope in the query loosen or tighten anything. */
	start(WALLET2, 1, auth, sizeof(auth));
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .query = "scope=projects:read", .scope = "keys:read" }), 403);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .query = "scope=keys:read&scope=", .scope = "projects:read" }),
	    200);
}
END_TEST

START_TEST(authorizer_ignores_namespace_header)
{
	/* X-Keygate-Namespace is the client's too: it neither selects
	 * the admin's namespace nor refuses the request. */
	ck_assert_int_eq(authorize(&(struct authz){ .auth = "Bearer " ADMIN,
	    .x_ns = "globex" }), 200);
	assert_grant("admin", "", "admin operator.write", "admin");
	ck_assert_int_eq(authorize(&(struct authz){ .auth = "Bearer " ADMIN,
	    .x_ns = "NOT VALID" }), 200);
	assert_grant("admin", "", "admin operator.write", "admin");
	/* It cannot move the admin out of the namespace required... */
	ck_assert_int_eq(authorize(&(struct authz){ .auth = "Bearer " ADMIN,
	    .x_ns = "globex", .ns = "acme" }), 200);
	assert_grant("admin", "acme", "admin operator.write", "admin");
	/* ...nor, with the query, into one. */
	ck_assert_int_eq(authorize(&(struct authz){ .x_api_key = ADMIN,
	    .x_ns = "globex", .query = "namespace=globex" }), 200);
	assert_grant("admin", "", "admin operator.write", "admin");
	/* On keygate's own route the header does select it (contrast). */
	{
		struct kg_request req;

		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.path = "/v1/auth/check";
		req.query = "";
		req.authorization = "Bearer " ADMIN;
		req.x_namespace = "globex";
		req.body = "";
		req.remote_addr = "192.0.2.7";
		kg_dispatch(&hctx, &req, &hresp);
		ck_assert_int_eq(hresp.status, 204);
		assert_grant("admin", "globex", "admin operator.write",
		    "admin");
	}
}
END_TEST

START_TEST(authorizer_bad_requirement_never_grants)
{
	static const struct authz bad[] = {
		/* Present but empty: never "no requirement". */
		{ .scope = "" },
		{ .project = "" },
		{ .ns = "" },
		{ .scope = "keys:read", .ns = "" },
		{ .scope = "keys read" },
		{ .scope = "keys:read\n" },
		{ .project = "a/b" },
		{ .ns = "Acme" },
		{ .scope = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaa" },
	};
	struct authz	a;
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = bad[i];
		a.auth = "Bearer " ADMIN;
		ck_assert_int_eq(authorize(&a), 500);
		assert_refusal(500, "internal");
	}
}
END_TEST

/* The operator is told which requirement is broken, in the log. */
START_TEST(authorizer_empty_requirement_logged)
{
	static const struct {
		struct authz	 a;
		const char	*name;
	} cases[] = {
		{ { .scope = "" }, "KEYGATE_REQUIRE_SCOPE is not a valid" },
		{ { .project = "" }, "KEYGATE_REQUIRE_PROJECT is not a valid" },
		{ { .ns = "" }, "KEYGATE_REQUIRE_NAMESPACE is not a valid" },
	};
	char	 logbuf[4096];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct authz	 a = cases[i].a;
		FILE		*f;
		size_t		 n;
		int		 saved;

		a.auth = "Bearer " ADMIN;
		ck_assert_ptr_nonnull(f = tmpfile());
		ck_assert_int_ge(saved = dup(STDERR_FILENO), 0);
		ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
		ck_assert_int_eq(authorize(&a), 500);
		ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
		close(saved);
		rewind(f);
		n = fread(logbuf, 1, sizeof(logbuf) - 1, f);
		logbuf[n] = '\0';
		fclose(f);
		ck_assert_msg(strstr(logbuf, cases[i].name) != NULL,
		    "log: %s", logbuf);
		/* Nothing of the credential is logged. */
		ck_assert_ptr_null(strstr(logbuf, ADMIN));
		assert_refusal(500, "internal");
	}
}
END_TEST

/* ------------------------------------------------- real kg_sk_ API keys */

START_TEST(apikey_scope_decides)
{
	char	with[200], without[200], sub1[16], sub2[16];

	mint_key("{\"name\":\"ci\",\"scopes\":[\"keys:read\"]}", with,
	    sizeof(with), sub1, sizeof(sub1));
	mint_key("{\"name\":\"ro\",\"scopes\":[\"projects:read\"]}",
	    without, sizeof(without), sub2, sizeof(sub2));
	ck_assert_str_ne(sub1, sub2);

	ck_assert_int_eq(check("scope=keys:read", with), 204);
	assert_grant(sub1, "acme", "keys:read", "api_key");
	ck_assert_int_eq(check("scope=keys:read&namespace=acme", with), 204);
	ck_assert_int_eq(check("scope=keys:write", with), 403);
	assert_refusal(403, "forbidden");
	ck_assert_int_eq(check("namespace=globex", with), 403);
	ck_assert_int_eq(check("scope=keys:read", without), 403);
	assert_refusal(403, "forbidden");
	ck_assert_int_eq(check("scope=projects:read", without), 204);
	assert_grant(sub2, "acme", "projects:read", "api_key");

	ck_assert_int_eq(authorize(&(struct authz){ .auth = with,
	    .scope = "keys:read" }), 200);
	assert_grant(sub1, "acme", "keys:read", "api_key");
	ck_assert_int_eq(authorize(&(struct authz){ .auth = without,
	    .scope = "keys:read" }), 403);
	assert_refusal(403, "forbidden");
	/* X-API-Key carries the same key. */
	ck_assert_int_eq(authorize(&(struct authz){ .x_api_key = with + 7,
	    .scope = "keys:read", .ns = "acme" }), 200);
	assert_grant(sub1, "acme", "keys:read", "api_key");
	ck_assert_int_eq(authorize(&(struct authz){ .x_api_key = with + 7,
	    .scope = "keys:read", .ns = "globex" }), 403);
	/* The client's namespace header changes nothing for a key either. */
	ck_assert_int_eq(authorize(&(struct authz){ .auth = with,
	    .x_ns = "globex", .scope = "keys:read", .ns = "acme" }), 200);
	assert_grant(sub1, "acme", "keys:read", "api_key");
	/* One character off is no key. */
	with[strlen(with) - 1] = with[strlen(with) - 1] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(check("scope=keys:read", with), 401);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = with }), 401);
}
END_TEST

START_TEST(apikey_project_restriction)
{
	char	auth[200], sub[16];

	mint_key("{\"name\":\"p\",\"scopes\":[\"projects:read\"],"
	    "\"project_ids\":[\"alpha\",\"beta-2\"]}", auth, sizeof(auth),
	    sub, sizeof(sub));
	ck_assert_int_eq(check("project=alpha&scope=projects:read", auth),
	    204);
	assert_grant(sub, "acme", "projects:read", "api_key");
	ck_assert_int_eq(check("project=beta-2", auth), 204);
	ck_assert_int_eq(check("project=gamma&scope=projects:read", auth),
	    403);
	assert_refusal(403, "forbidden");
	ck_assert_int_eq(check("project=beta", auth), 403);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "projects:read", .project = "alpha" }), 200);
	assert_grant(sub, "acme", "projects:read", "api_key");
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "projects:read", .project = "gamma" }), 403);
	assert_refusal(403, "forbidden");
	/* The application's query cannot name another project. */
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .query = "project=gamma", .project = "alpha" }), 200);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .query = "project=alpha", .project = "gamma" }), 403);
}
END_TEST

START_TEST(apikey_db_unreachable_fails_closed)
{
	char	auth[200], sub[16];
	char	sock[] = "/nonexistent/keygate-test.sock";
	char	*saved;

	mint_key("{\"name\":\"ci\",\"scopes\":[\"keys:read\"]}", auth,
	    sizeof(auth), sub, sizeof(sub));
	ck_assert_int_eq(check("scope=keys:read", auth), 204);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "keys:read" }), 200);
	/*
	 * The key cannot be looked up: nothing is granted.  The worker's
	 * cache still holds the key, but it serves nothing once its next
	 * revocation epoch reading (due after KG_REV_POLL_MS) has failed
	 * (authcache.h): from then on every answer is 503.
	 */
	saved = hcfg.db_socket;
	hcfg.db_socket = sock;
	kg_db_disconnect(hctx.db);
	kg_ht_advance_ms(KG_REV_POLL_MS);
	ck_assert_int_eq(check("scope=keys:read", auth), 503);
	assert_refusal(503, "unavailable");
	ck_assert_str_eq(header("Retry-After"), "5");
	ck_assert_int_eq(check("", auth), 503);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "keys:read" }), 503);
	assert_refusal(503, "unavailable");
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth }), 503);
	ck_assert_int_eq(authorize(&(struct authz){ .x_api_key = auth + 7 }),
	    503);
	assert_refusal(503, "unavailable");
	hcfg.db_socket = saved;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "keys:read" }), 200);
	ck_assert_int_eq(check("scope=keys:read", auth), 204);
}
END_TEST

START_TEST(db_unreachable_fails_closed)
{
	char	auth[4200];
	char	sock[] = "/nonexistent/keygate-test.sock";
	char	*saved;

	start(WALLET, 2, auth, sizeof(auth));
	ck_assert_int_eq(check("scope=keys:read", auth), 204);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "keys:read" }), 200);
	/* Point the worker's handle at nothing: the revocation state of
	 * the token cannot be read, so nothing is granted (from the cache's
	 * next epoch reading on, as above). */
	saved = hcfg.db_socket;
	hcfg.db_socket = sock;
	kg_db_disconnect(hctx.db);
	kg_ht_advance_ms(KG_REV_POLL_MS);
	ck_assert_int_eq(check("scope=keys:read", auth), 503);
	assert_refusal(503, "unavailable");
	ck_assert_str_eq(header("Retry-After"), "5");
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "keys:read" }), 503);
	assert_refusal(503, "unavailable");
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth }), 503);
	hcfg.db_socket = saved;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(authorize(&(struct authz){ .auth = auth,
	    .scope = "keys:read" }), 200);
	ck_assert_int_eq(check("scope=keys:read", auth), 204);
}
END_TEST

static Suite *
authz_suite(void)
{
	Suite	*s = suite_create("authz");
	TCase	*tc = tcase_create("check");
	TCase	*ta = tcase_create("authorizer");
	TCase	*tk = tcase_create("apikey");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, hsetup, kg_ht_teardown);
	tcase_add_test(tc, check_grants_with_headers);
	tcase_add_test(tc, check_refuses_without_valid_credential);
	tcase_add_test(tc, check_revoked_token_refused);
	tcase_add_test(tc, check_missing_scope_is_403);
	tcase_add_test(tc, check_other_namespace_is_403);
	tcase_add_test(tc, check_admin_holds_everything);
	tcase_add_test(tc, check_bad_query_is_400);
	tcase_add_test(tc, check_only_get);
	suite_add_tcase(s, tc);
	tcase_set_timeout(ta, 60);
	tcase_add_checked_fixture(ta, hsetup, kg_ht_teardown);
	tcase_add_test(ta, authorizer_grants_with_headers);
	tcase_add_test(ta, authorizer_refusals);
	tcase_add_test(ta, authorizer_ignores_application_query);
	tcase_add_test(ta, authorizer_ignores_namespace_header);
	tcase_add_test(ta, authorizer_bad_requirement_never_grants);
	tcase_add_test(ta, authorizer_empty_requirement_logged);
	tcase_add_test(ta, db_unreachable_fails_closed);
	suite_add_tcase(s, ta);
	tcase_set_timeout(tk, 60);
	tcase_add_checked_fixture(tk, hsetup, kg_ht_teardown);
	tcase_add_test(tk, apikey_scope_decides);
	tcase_add_test(tk, apikey_project_restriction);
	tcase_add_test(tk, apikey_db_unreachable_fails_closed);
	suite_add_tcase(s, tk);
	return s;
}

int
main(void)
{
	kg_test_db_require();
	return kg_test_run(authz_suite());
}
