/*
 * check_marshal.c: fcgi/marshal.c, the CGI/FastCGI -> struct kg_request
 * step, driven by environment arrays and a scripted body reader.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "fcgi/marshal.h"

/* A body reader that serves data in chunks of at most `chunk` bytes. */
struct fake_body {
	const char	*data;
	size_t		 len;
	size_t		 pos;
	size_t		 chunk;		/* 0 = as much as asked */
	int		 calls;
	int		 fail;		/* return -1 on the first call */
};

static ssize_t
fake_read(void *arg, char *buf, size_t len)
{
	struct fake_body	*fb = arg;
	size_t			 n;

	fb->calls++;
	if (fb->fail)
		return -1;
	n = fb->len - fb->pos;
	if (n > len)
		n = len;
	if (fb->chunk != 0 && n > fb->chunk)
		n = fb->chunk;
	memcpy(buf, fb->data + fb->pos, n);
	fb->pos += n;
	return (ssize_t)n;
}

/* A reader that is never expected to be called. */
static ssize_t
forbidden_read(void *arg, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	(*(int *)arg)++;
	return -1;
}

static struct kg_marshal	 m;
static struct kg_request	 req;

static void
setup(void)
{
	struct kg_marshal init = KG_MARSHAL_INIT;

	m = init;
	memset(&req, 0, sizeof(req));
}

static void
teardown(void)
{
	kg_marshal_free(&m);
}

/* Marshals envp with an empty body. */
static enum kg_err
run(char **envp, const char *base)
{
	struct fake_body fb = { "", 0, 0, 0, 0, 0 };

	return kg_marshal_request(&m, envp, fake_read, &fb, base, 1024, &req);
}

/* ------------------------------------------------------------ path table */

static const struct path_case {
	const char	*base;
	const char	*path_info;	/* NULL = not set */
	const char	*script_name;
	const char	*request_uri;
	const char	*want;
} path_cases[] = {
	/* PATH_INFO wins when the server's split is relative to our mount. */
	{ "", "/health", NULL, "/other?x=1", "/health" },
	{ "", "/v1/keys", "", "/v1/keys", "/v1/keys" },
	{ "/auth", "/v1/x", "/auth", "/auth/v1/x?q=2", "/v1/x" },
	{ "", "v1/x", NULL, NULL, "/v1/x" },
	/* An empty PATH_INFO is no PATH_INFO. */
	{ "", "", "/health", "/health", "/health" },
	/* REQUEST_URI with the query removed. */
	{ "", NULL, NULL, "/v1/keys?limit=5&cursor=x", "/v1/keys" },
	{ "", NULL, NULL, "/v1/keys?", "/v1/keys" },
	{ "", NULL, NULL, "/?a=b", "/" },
	{ "", NULL, NULL, "health", "/health" },
	/* base_path is removed only at a segment boundary. */
	{ "/auth", NULL, NULL, "/auth/v1/x", "/v1/x" },
	{ "/auth", NULL, NULL, "/auth/v1/x?q=1", "/v1/x" },
	{ "/auth", NULL, NULL, "/auth", "/" },
	{ "/auth", NULL, NULL, "/auth?x=1", "/" },
	{ "/auth", NULL, NULL, "/auth/", "/" },
	{ "/auth", NULL, NULL, "/authx/y", "/authx/y" },
	{ "/auth", NULL, NULL, "/other", "/other" },
	{ "/auth", NULL, NULL, "/", "/" },
	{ "/auth/", NULL, NULL, "/auth/v1/x", "/v1/x" },
	{ "/", NULL, NULL, "/v1/x", "/v1/x" },
	{ "/a/b", NULL, NULL, "/a/b/health", "/health" },
	{ "/a/b", NULL, NULL, "/a/bc/health", "/a/bc/health" },
	/* base_path "" strips nothing. */
	{ "", NULL, NULL, "/auth/v1/x", "/auth/v1/x" },
	/* lighttpd, "/" mounted with check-local disabled: it splits at the
	 * first segment. */
	{ "", "/keys/abc", "/v1", "/v1/keys/abc?q=1", "/v1/keys/abc" },
	{ "", NULL, "/health", "/health", "/health" },
	/* ... the same with fix-root-scriptname: SCRIPT_NAME is "". */
	{ "", "/v1/keys/abc", "", "/v1/keys/abc?q=1", "/v1/keys/abc" },
	/* lighttpd "/auth" mount also serves /authx/y, split at /authx. */
	{ "/auth", "/y", "/authx", "/authx/y", "/authx/y" },
	/* lighttpd "/auth/" mount: SCRIPT_NAME=/auth/v1 PATH_INFO=/x. */
	{ "/auth", "/x", "/auth/v1", "/auth/v1/x", "/v1/x" },
	/* Apache mod_fcgid / CGI with the script as mount point. */
	{ "/cgi-bin/kg.fcgi", "/v1/x", "/cgi-bin/kg.fcgi",
	    "/cgi-bin/kg.fcgi/v1/x?a", "/v1/x" },
	/* A RewriteRule into the script: REQUEST_URI keeps the original. */
	{ "/auth", "/v1/x", "/kg.fcgi", "/auth/v1/x", "/v1/x" },
	/* No REQUEST_URI (RFC 3875 does not define it): PATH_INFO even
	 * when SCRIPT_NAME differs, then SCRIPT_NAME. */
	{ "", "/v1/x", "/cgi-bin/kg.cgi", NULL, "/v1/x" },
	{ "/auth", NULL, "/auth/health", NULL, "/health" },
	{ "/auth", NULL, "/auth", NULL, "/" },
	{ "", NULL, "/health", NULL, "/health" },
	/* Missing everything. */
	{ "", NULL, NULL, NULL, "/" },
	{ "/auth", NULL, NULL, NULL, "/" },
	{ "", NULL, "", "", "/" },
};

START_TEST(path_table)
{
	const struct path_case	*c = &path_cases[_i];
	char			 pi[256], sn[256], uri[256];
	char			*envp[5];
	size_t			 n = 0;

	envp[n++] = (char *)"REQUEST_METHOD=GET";
	if (c->path_info != NULL) {
		snprintf(pi, sizeof(pi), "PATH_INFO=%s", c->path_info);
		envp[n++] = pi;
	}
	if (c->script_name != NULL) {
		snprintf(sn, sizeof(sn), "SCRIPT_NAME=%s", c->script_name);
		envp[n++] = sn;
	}
	if (c->request_uri != NULL) {
		snprintf(uri, sizeof(uri), "REQUEST_URI=%s", c->request_uri);
		envp[n++] = uri;
	}
	envp[n] = NULL;
	ck_assert_int_eq(run(envp, c->base), KG_OK);
	ck_assert_msg(strcmp(req.path, c->want) == 0,
	    "case %d: base=%s PATH_INFO=%s SCRIPT_NAME=%s REQUEST_URI=%s: "
	    "got %s, want %s", _i, c->base,
	    c->path_info ? c->path_info : "(unset)",
	    c->script_name ? c->script_name : "(unset)",
	    c->request_uri ? c->request_uri : "(unset)", req.path, c->want);
}
END_TEST

START_TEST(path_null_base)
{
	char *envp[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x?y", NULL };
	struct fake_body fb = { "", 0, 0, 0, 0, 0 };

	ck_assert_int_eq(kg_marshal_request(&m, envp, fake_read, &fb, NULL,
	    16, &req), KG_OK);
	ck_assert_str_eq(req.path, "/x");
}
END_TEST

/* ------------------------------------------------------- method, query */

START_TEST(query_and_method)
{
	char *envp[] = { "REQUEST_METHOD=DELETE", "QUERY_STRING=a=1&b=%20",
	    "REQUEST_URI=/v1/keys/k1?a=1&b=%20", NULL };

	ck_assert_int_eq(run(envp, ""), KG_OK);
	ck_assert_str_eq(req.method, "DELETE");
	ck_assert_str_eq(req.query, "a=1&b=%20");
	ck_assert_str_eq(req.path, "/v1/keys/k1");
}
END_TEST

START_TEST(query_absent_is_empty)
{
	char *envp[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/health", NULL };

	ck_assert_int_eq(run(envp, ""), KG_OK);
	ck_assert_ptr_nonnull(req.query);
	ck_assert_str_eq(req.query, "");
	ck_assert_str_eq(req.remote_addr, "");
	ck_assert_ptr_null(req.authorization);
	ck_assert_ptr_null(req.x_api_key);
	ck_assert_ptr_null(req.content_type);
	ck_assert_ptr_null(req.x_namespace);
	ck_assert_int_eq(req.role, KG_ROLE_RESPONDER);
	ck_assert_ptr_null(req.require_scope);
	ck_assert_str_eq(req.body, "");
	ck_assert_uint_eq(req.body_len, 0);
	ck_assert_int_eq(req.body_too_large, 0);
}
END_TEST

static const char *const bad_methods[] = {
	NULL,			/* missing */
	"",			/* empty */
	"GE T",
	"GET\r\nX: y",
	"G(T",
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* 33 characters */
};

START_TEST(method_bad)
{
	char	 me[128];
	char	*envp[] = { "REQUEST_URI=/health?x", "REMOTE_ADDR=192.0.2.1",
	    NULL, NULL };
	int	 calls = 0;

	if (bad_methods[_i] != NULL) {
		snprintf(me, sizeof(me), "REQUEST_METHOD=%s", bad_methods[_i]);
		envp[2] = me;
	}
	ck_assert_int_eq(kg_marshal_request(&m, envp, forbidden_read, &calls,
	    "", 1024, &req), KG_ERR_INVALID);
	ck_assert_ptr_nonnull(m.m_reason);
	ck_assert_int_eq(calls, 0);
	/* Still loggable, and no attacker bytes in the method. */
	ck_assert_str_eq(req.method, "-");
	ck_assert_str_eq(req.path, "/health");
	ck_assert_str_eq(req.remote_addr, "192.0.2.1");
	ck_assert_str_eq(req.body, "");
}
END_TEST

/* -------------------------------------------------------------- headers */

START_TEST(headers_picked)
{
	char *envp[] = {
		"REQUEST_METHOD=POST",
		"HTTP_AUTHORIZATIONX=wrong",
		"XHTTP_AUTHORIZATION=wrong",
		"HTTP_AUTHORIZATION=Bearer abc",
		"HTTP_AUTHORIZATION=Bearer second",
		"HTTP_X_API_KEY=kg_key",
		"CONTENT_TYPE=application/json",
		"HTTP_X_KEYGATE_NAMESPACE=acme",
		"REMOTE_ADDR=2001:db8::1",
		"HTTP_COOKIE=ignored",
		"NOEQUALSIGN",
		"=empty-name",
		NULL
	};

	ck_assert_int_eq(run(envp, ""), KG_OK);
	ck_assert_str_eq(req.authorization, "Bearer abc");
	ck_assert_str_eq(req.x_api_key, "kg_key");
	ck_assert_str_eq(req.content_type, "application/json");
	ck_assert_str_eq(req.x_namespace, "acme");
	ck_assert_str_eq(req.remote_addr, "2001:db8::1");
}
END_TEST

START_TEST(headers_empty_are_absent)
{
	/* nginx's fastcgi_params send these empty when the client did not. */
	char *envp[] = { "REQUEST_METHOD=GET", "CONTENT_TYPE=",
	    "CONTENT_LENGTH=", "HTTP_AUTHORIZATION=", "HTTP_X_API_KEY=",
	    "HTTP_X_KEYGATE_NAMESPACE=", NULL };

	ck_assert_int_eq(run(envp, ""), KG_OK);
	ck_assert_ptr_null(req.content_type);
	ck_assert_ptr_null(req.authorization);
	ck_assert_ptr_null(req.x_api_key);
	ck_assert_ptr_null(req.x_namespace);
	ck_assert_uint_eq(req.body_len, 0);
}
END_TEST

START_TEST(headers_redirect_authorization)
{
	char *only[] = { "REQUEST_METHOD=GET",
	    "REDIRECT_HTTP_AUTHORIZATION=Bearer r", NULL };
	char *both[] = { "REQUEST_METHOD=GET",
	    "REDIRECT_HTTP_AUTHORIZATION=Bearer r",
	    "HTTP_AUTHORIZATION=Bearer h", NULL };

	ck_assert_int_eq(run(only, ""), KG_OK);
	ck_assert_str_eq(req.authorization, "Bearer r");
	ck_assert_int_eq(run(both, ""), KG_OK);
	ck_assert_str_eq(req.authorization, "Bearer h");
}
END_TEST

/* ----------------------------------------------------------------- role */

START_TEST(role_authorizer)
{
	char *envp[] = { "FCGI_ROLE=AUTHORIZER", "REQUEST_METHOD=GET",
	    "REQUEST_URI=/app/index.php?x=1", "HTTP_AUTHORIZATION=Bearer t",
	    "KEYGATE_REQUIRE_SCOPE=keys:read",
	    "KEYGATE_REQUIRE_PROJECT=proj-1", "CONTENT_LENGTH=99999999", NULL };
	int calls = 0;

	ck_assert_int_eq(kg_marshal_request(&m, envp, forbidden_read, &calls,
	    "", 16, &req), KG_OK);
	ck_assert_int_eq(req.role, KG_ROLE_AUTHORIZER);
	ck_assert_str_eq(req.require_scope, "keys:read");
	ck_assert_str_eq(req.require_project, "proj-1");
	ck_assert_str_eq(req.authorization, "Bearer t");
	ck_assert_str_eq(req.path, "/app/index.php");
	/* An authorizer gets no body: nothing read, nothing refused. */
	ck_assert_int_eq(calls, 0);
	ck_assert_int_eq(req.body_too_large, 0);
	ck_assert_str_eq(req.body, "");
}
END_TEST

START_TEST(role_authorizer_namespace_requirement)
{
	char *envp[] = { "FCGI_ROLE=AUTHORIZER", "REQUEST_METHOD=GET",
	    "KEYGATE_REQUIRE_NAMESPACE=acme", NULL };
	char *empty[] = { "FCGI_ROLE=AUTHORIZER", "REQUEST_METHOD=GET",
	    "KEYGATE_REQUIRE_NAMESPACE=", "KEYGATE_REQUIRE_PROJECT=", NULL };
	char *responder[] = { "REQUEST_METHOD=GET",
	    "KEYGATE_REQUIRE_NAMESPACE=acme", NULL };
	/* A client header arrives as HTTP_*: it never sets a requirement. */
	char *header[] = { "FCGI_ROLE=AUTHORIZER", "REQUEST_METHOD=GET",
	    "HTTP_KEYGATE_REQUIRE_SCOPE=x", "HTTP_KEYGATE_REQUIRE_NAMESPACE=x",
	    NULL };

	ck_assert_int_eq(run(envp, ""), KG_OK);
	ck_assert_str_eq(req.require_namespace, "acme");
	ck_assert_ptr_null(req.require_scope);
	ck_assert_ptr_null(req.require_project);
	/* Present but empty is kept as "", for the decision to refuse. */
	ck_assert_int_eq(run(empty, ""), KG_OK);
	ck_assert_ptr_nonnull(req.require_namespace);
	ck_assert_str_eq(req.require_namespace, "");
	ck_assert_ptr_nonnull(req.require_project);
	ck_assert_str_eq(req.require_project, "");
	ck_assert_ptr_null(req.require_scope);
	ck_assert_int_eq(run(responder, ""), KG_OK);
	ck_assert_ptr_null(req.require_namespace);
	ck_assert_int_eq(run(header, ""), KG_OK);
	ck_assert_ptr_null(req.require_scope);
	ck_assert_ptr_null(req.require_namespace);
}
END_TEST

START_TEST(role_authorizer_empty_requirements)
{
	/* An empty requirement is not "no requirement" (fail closed): it
	 * reaches the decision as "", which refuses it as malformed. */
	char *envp[] = { "FCGI_ROLE=AUTHORIZER", "REQUEST_METHOD=GET",
	    "KEYGATE_REQUIRE_SCOPE=", NULL };
	/* The first occurrence counts even when it is the empty one. */
	char *twice[] = { "FCGI_ROLE=AUTHORIZER", "REQUEST_METHOD=GET",
	    "KEYGATE_REQUIRE_SCOPE=", "KEYGATE_REQUIRE_SCOPE=keys:read", NULL };

	ck_assert_int_eq(run(envp, ""), KG_OK);
	ck_assert_int_eq(req.role, KG_ROLE_AUTHORIZER);
	ck_assert_ptr_nonnull(req.require_scope);
	ck_assert_str_eq(req.require_scope, "");
	ck_assert_ptr_null(req.require_project);
	ck_assert_ptr_null(req.require_namespace);
	ck_assert_int_eq(run(twice, ""), KG_OK);
	ck_assert_ptr_nonnull(req.require_scope);
	ck_assert_str_eq(req.require_scope, "");
}
END_TEST

START_TEST(role_responder_ignores_requirements)
{
	char *envp[] = { "FCGI_ROLE=RESPONDER", "REQUEST_METHOD=GET",
	    "KEYGATE_REQUIRE_SCOPE=admin", "KEYGATE_REQUIRE_PROJECT=p", NULL };

	ck_assert_int_eq(run(envp, ""), KG_OK);
	ck_assert_int_eq(req.role, KG_ROLE_RESPONDER);
	ck_assert_ptr_null(req.require_scope);
	ck_assert_ptr_null(req.require_project);
}
END_TEST

START_TEST(role_first_wins)
{
	/* libfcgi puts the role of the BEGIN_REQUEST record first; a later
	 * parameter of the same name changes nothing. */
	char *envp[] = { "FCGI_ROLE=RESPONDER", "REQUEST_METHOD=GET",
	    "FCGI_ROLE=AUTHORIZER", "KEYGATE_REQUIRE_SCOPE=admin", NULL };

	ck_assert_int_eq(run(envp, ""), KG_OK);
	ck_assert_int_eq(req.role, KG_ROLE_RESPONDER);
	ck_assert_ptr_null(req.require_scope);
}
END_TEST

START_TEST(role_bad)
{
	char *filter[] = { "FCGI_ROLE=FILTER", "REQUEST_METHOD=GET", NULL };
	char *lower[] = { "FCGI_ROLE=authorizer", "REQUEST_METHOD=GET", NULL };

	ck_assert_int_eq(run(filter, ""), KG_ERR_INVALID);
	ck_assert_ptr_nonnull(m.m_reason);
	ck_assert_int_eq(run(lower, ""), KG_ERR_INVALID);
}
END_TEST

/* ----------------------------------------------------------------- body */

START_TEST(body_too_large_by_content_length)
{
	char *envp[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=11", NULL };
	int calls = 0;

	ck_assert_int_eq(kg_marshal_request(&m, envp, forbidden_read, &calls,
	    "", 10, &req), KG_OK);
	ck_assert_int_eq(req.body_too_large, 1);
	ck_assert_int_eq(calls, 0);
	ck_assert_str_eq(req.body, "");
	ck_assert_uint_eq(req.body_len, 0);
}
END_TEST

START_TEST(body_too_large_huge_content_length)
{
	char *envp[] = { "REQUEST_METHOD=POST",
	    "CONTENT_LENGTH=9223372036854775807", NULL };
	int calls = 0;

	ck_assert_int_eq(kg_marshal_request(&m, envp, forbidden_read, &calls,
	    "", 65536, &req), KG_OK);
	ck_assert_int_eq(req.body_too_large, 1);
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(body_too_large_when_content_length_lies)
{
	static char big[1000];
	char *envp[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=5", NULL };
	struct fake_body fb = { big, sizeof(big), 0, 0, 0, 0 };

	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(kg_marshal_request(&m, envp, fake_read, &fb, "", 10,
	    &req), KG_OK);
	ck_assert_int_eq(req.body_too_large, 1);
	/* It stopped reading one byte past the limit. */
	ck_assert_uint_eq(fb.pos, 11);
	ck_assert_str_eq(req.body, "");
	ck_assert_uint_eq(req.body_len, 0);
}
END_TEST

START_TEST(body_too_large_without_content_length)
{
	char *envp[] = { "REQUEST_METHOD=POST", NULL };
	struct fake_body fb = { "0123456789ABC", 13, 0, 3, 0, 0 };

	ck_assert_int_eq(kg_marshal_request(&m, envp, fake_read, &fb, "", 10,
	    &req), KG_OK);
	ck_assert_int_eq(req.body_too_large, 1);
	ck_assert_uint_le(fb.pos, 11);
}
END_TEST

START_TEST(body_exact_max_accepted)
{
	char *with[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=10", NULL };
	char *without[] = { "REQUEST_METHOD=POST", NULL };
	struct fake_body fb = { "0123456789", 10, 0, 0, 0, 0 };

	ck_assert_int_eq(kg_marshal_request(&m, with, fake_read, &fb, "", 10,
	    &req), KG_OK);
	ck_assert_int_eq(req.body_too_large, 0);
	ck_assert_uint_eq(req.body_len, 10);
	ck_assert_str_eq(req.body, "0123456789");

	fb.pos = 0;
	ck_assert_int_eq(kg_marshal_request(&m, without, fake_read, &fb, "", 10,
	    &req), KG_OK);
	ck_assert_int_eq(req.body_too_large, 0);
	ck_assert_uint_eq(req.body_len, 10);
	ck_assert_str_eq(req.body, "0123456789");
}
END_TEST

START_TEST(body_max_zero)
{
	char *envp[] = { "REQUEST_METHOD=POST", NULL };
	struct fake_body empty = { "", 0, 0, 0, 0, 0 };
	struct fake_body one = { "x", 1, 0, 0, 0, 0 };

	ck_assert_int_eq(kg_marshal_request(&m, envp, fake_read, &empty, "", 0,
	    &req), KG_OK);
	ck_assert_int_eq(req.body_too_large, 0);
	ck_assert_int_eq(kg_marshal_request(&m, envp, fake_read, &one, "", 0,
	    &req), KG_OK);
	ck_assert_int_eq(req.body_too_large, 1);
}
END_TEST

static const char *const bad_lengths[] = {
	"abc", "-1", "+5", " 5", "5 ", "1e3", "0x10", "5\n",
	"99999999999999999999999", "9223372036854775808",
};

START_TEST(body_bad_content_length)
{
	char	 cl[128];
	char	*envp[] = { "REQUEST_METHOD=POST", cl, NULL };
	int	 calls = 0;

	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%s", bad_lengths[_i]);
	ck_assert_int_eq(kg_marshal_request(&m, envp, forbidden_read, &calls,
	    "", 1024, &req), KG_ERR_INVALID);
	ck_assert_ptr_nonnull(m.m_reason);
	ck_assert_int_eq(calls, 0);
	/* A bad length is a 400, never a 413. */
	ck_assert_int_eq(req.body_too_large, 0);
}
END_TEST

START_TEST(body_length_mismatch)
{
	char *longer[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=10", NULL };
	char *shorter[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=0", NULL };
	struct fake_body fb = { "abcde", 5, 0, 0, 0, 0 };

	ck_assert_int_eq(kg_marshal_request(&m, longer, fake_read, &fb, "", 64,
	    &req), KG_ERR_INVALID);
	ck_assert_ptr_nonnull(m.m_reason);
	fb.pos = 0;
	ck_assert_int_eq(kg_marshal_request(&m, shorter, fake_read, &fb, "", 64,
	    &req), KG_ERR_INVALID);
}
END_TEST

START_TEST(body_leading_zeros)
{
	char *envp[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=0005", NULL };
	struct fake_body fb = { "abcde", 5, 0, 0, 0, 0 };

	ck_assert_int_eq(kg_marshal_request(&m, envp, fake_read, &fb, "", 64,
	    &req), KG_OK);
	ck_assert_uint_eq(req.body_len, 5);
}
END_TEST

START_TEST(body_nul_terminated_in_chunks)
{
	char *envp[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=7",
	    "CONTENT_TYPE=application/json", NULL };
	struct fake_body fb = { "{\"a\":1}", 7, 0, 1, 0, 0 };

	ck_assert_int_eq(kg_marshal_request(&m, envp, fake_read, &fb, "", 64,
	    &req), KG_OK);
	ck_assert_uint_eq(req.body_len, 7);
	ck_assert_int_eq(req.body[7], '\0');
	ck_assert_str_eq(req.body, "{\"a\":1}");
	/* One byte per call, then the end. */
	ck_assert_int_eq(fb.calls, 8);
}
END_TEST

START_TEST(body_read_error)
{
	char *envp[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=5", NULL };
	struct fake_body fb = { "abcde", 5, 0, 0, 0, 1 };

	ck_assert_int_eq(kg_marshal_request(&m, envp, fake_read, &fb, "", 64,
	    &req), KG_ERR_IO);
	ck_assert_ptr_nonnull(m.m_reason);
	ck_assert_str_eq(req.body, "");
}
END_TEST

/* A reader that claims more than it was asked for is an error, not an
 * overflow. */
static ssize_t
liar_read(void *arg, char *buf, size_t len)
{
	(void)arg;
	(void)buf;
	return (ssize_t)len + 1;
}

START_TEST(body_reader_overclaims)
{
	char *envp[] = { "REQUEST_METHOD=POST", NULL };

	ck_assert_int_eq(kg_marshal_request(&m, envp, liar_read, NULL, "", 64,
	    &req), KG_ERR_IO);
}
END_TEST

/* ------------------------------------------------------- reuse, drain */

START_TEST(buffers_reused)
{
	char *envp[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/v1/keys?x=1",
	    NULL };
	struct fake_body first = { "secret-secret-secret", 20, 0, 0, 0, 0 };
	struct fake_body second = { "ab", 2, 0, 0, 0, 0 };
	const char	*body_data, *path_data;
	size_t		 body_cap, path_cap, i;

	ck_assert_int_eq(kg_marshal_request(&m, envp, fake_read, &first, "",
	    64, &req), KG_OK);
	ck_assert_str_eq(req.body, "secret-secret-secret");
	body_data = m.m_body.b_data;
	body_cap = m.m_body.b_cap;
	path_data = m.m_path.b_data;
	path_cap = m.m_path.b_cap;

	ck_assert_int_eq(kg_marshal_request(&m, envp, fake_read, &second, "",
	    64, &req), KG_OK);
	ck_assert_str_eq(req.body, "ab");
	ck_assert_str_eq(req.path, "/v1/keys");
	/* Same allocations: no malloc once warm. */
	ck_assert_ptr_eq(m.m_body.b_data, body_data);
	ck_assert_uint_eq(m.m_body.b_cap, body_cap);
	ck_assert_ptr_eq(m.m_path.b_data, path_data);
	ck_assert_uint_eq(m.m_path.b_cap, path_cap);
	ck_assert_ptr_eq(req.body, body_data);
	/* The first body does not linger behind the second. */
	for (i = 3; i < 20; i++)
		ck_assert_int_eq(m.m_body.b_data[i], '\0');
}
END_TEST

START_TEST(drain_bounded)
{
	static char big[10000];
	struct fake_body fb = { big, sizeof(big), 0, 0, 0, 0 };
	struct fake_body small = { "abc", 3, 0, 0, 0, 0 };
	struct fake_body broken = { "abc", 3, 0, 0, 0, 1 };

	ck_assert_uint_eq(kg_marshal_drain(fake_read, &fb, 5000), 5000);
	ck_assert_uint_eq(fb.pos, 5000);
	ck_assert_uint_eq(kg_marshal_drain(fake_read, &fb, 100000), 5000);
	ck_assert_uint_eq(kg_marshal_drain(fake_read, &small, 100), 3);
	ck_assert_uint_eq(kg_marshal_drain(fake_read, &broken, 100), 0);
	ck_assert_uint_eq(kg_marshal_drain(fake_read, &small, 0), 0);
}
END_TEST

START_TEST(getenv_exact)
{
	char *envp[] = { "AB=1", "A=2", "ABC=3", NULL };

	ck_assert_str_eq(kg_marshal_getenv(envp, "A"), "2");
	ck_assert_str_eq(kg_marshal_getenv(envp, "AB"), "1");
	ck_assert_ptr_null(kg_marshal_getenv(envp, "B"));
	ck_assert_ptr_null(kg_marshal_getenv(NULL, "A"));
}
END_TEST

START_TEST(empty_environment)
{
	char *envp[] = { NULL };

	ck_assert_int_eq(run(envp, ""), KG_ERR_INVALID);
	ck_assert_int_eq(run(NULL, ""), KG_ERR_INVALID);
	ck_assert_str_eq(req.path, "/");
}
END_TEST

/* ------------------------------------------------------------ response */

static struct kg_response	 resp;
static struct kg_buf		 head = KG_BUF_INIT;

static void
resp_setup(void)
{
	memset(&resp, 0, sizeof(resp));
	kg_buf_reset(&head);
}

static void
resp_teardown(void)
{
	kg_resp_free(&resp);
	kg_buf_free(&head);
}

/* Adds a header without kg_resp_header's own sanitising. */
static void
raw_header(const char *name, const char *value)
{
	struct kg_header *h = &resp.headers[resp.nheaders++];

	h->h_name = name;
	snprintf(h->h_value, sizeof(h->h_value), "%s", value);
}

START_TEST(response_json)
{
	int with_body = -1;

	resp.status = 200;
	resp.content_type = KG_CT_JSON;
	kg_buf_puts(&resp.body, "{\"status\":\"ok\"}");
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_RESPONDER, &head,
	    &with_body), KG_OK);
	ck_assert_str_eq(kg_buf_str(&head),
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: 15\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "\r\n");
	ck_assert_int_eq(with_body, 1);
}
END_TEST

START_TEST(response_headers_and_no_store)
{
	int with_body = -1;

	resp.status = 401;
	resp.content_type = KG_CT_JSON;
	resp.no_store = 1;
	kg_buf_puts(&resp.body, "{}");
	raw_header("WWW-Authenticate", "Bearer");
	raw_header("Bad Name", "dropped");
	raw_header("X-Split", "a\r\nSet-Cookie: evil=1");
	raw_header("X-Lf", "b\nc");
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_RESPONDER, &head,
	    &with_body), KG_OK);
	ck_assert_str_eq(kg_buf_str(&head),
	    "Status: 401 Unauthorized\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: 2\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Cache-Control: no-store\r\n"
	    "WWW-Authenticate: Bearer\r\n"
	    "X-Split: a\r\n"
	    "X-Lf: b\r\n"
	    "\r\n");
}
END_TEST

START_TEST(response_no_body)
{
	int with_body = -1;

	/* A 204 never carries a body, even if one was set by mistake. */
	resp.status = 204;
	resp.content_type = KG_CT_JSON;
	kg_buf_puts(&resp.body, "{}");
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_RESPONDER, &head,
	    &with_body), KG_OK);
	ck_assert_str_eq(kg_buf_str(&head),
	    "Status: 204 No Content\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "\r\n");
	ck_assert_int_eq(with_body, 0);

	/* No content type: no body. */
	resp.status = 200;
	resp.content_type = NULL;
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_RESPONDER, &head,
	    &with_body), KG_OK);
	ck_assert_int_eq(with_body, 0);
	ck_assert_ptr_null(strstr(kg_buf_str(&head), "\r\nContent-"));
}
END_TEST

START_TEST(response_bad_status)
{
	int with_body;

	resp.status = 0;
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_RESPONDER, &head,
	    &with_body), KG_OK);
	ck_assert_int_eq(strncmp(kg_buf_str(&head),
	    "Status: 500 Internal Server Error\r\n", 35), 0);
	resp.status = 1000;
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_RESPONDER, &head,
	    &with_body), KG_OK);
	ck_assert_int_eq(strncmp(kg_buf_str(&head), "Status: 500 ", 12), 0);
	resp.status = 418;
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_RESPONDER, &head,
	    &with_body), KG_OK);
	ck_assert_int_eq(strncmp(kg_buf_str(&head),
	    "Status: 418 Client Error\r\n", 26), 0);
	ck_assert_str_eq(kg_marshal_reason(413), "Content Too Large");
	ck_assert_str_eq(kg_marshal_reason(599), "Server Error");
}
END_TEST

START_TEST(response_authorizer_variables)
{
	int with_body;

	resp.status = 204;
	raw_header("X-Keygate-Subject", "0xabc");
	raw_header("x-keygate-namespace", "acme");
	raw_header("X-Keygate-Scopes", "keys:read keys:write");
	raw_header("X-Keygate-Auth-Method", "api_key");
	raw_header("X-Keygate-", "empty suffix stays as it is");
	raw_header("X-Other", "kept");
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_AUTHORIZER, &head,
	    &with_body), KG_OK);
	ck_assert_str_eq(kg_buf_str(&head),
	    "Status: 200 OK\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Variable-KEYGATE_SUBJECT: 0xabc\r\n"
	    "Variable-KEYGATE_NAMESPACE: acme\r\n"
	    "Variable-KEYGATE_SCOPES: keys:read keys:write\r\n"
	    "Variable-KEYGATE_AUTH_METHOD: api_key\r\n"
	    "X-Keygate-: empty suffix stays as it is\r\n"
	    "X-Other: kept\r\n"
	    "\r\n");
}
END_TEST

START_TEST(response_authorizer_denial)
{
	int with_body;

	resp.status = 403;
	resp.content_type = KG_CT_JSON;
	kg_buf_puts(&resp.body, "{\"error\":\"forbidden\"}");
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_AUTHORIZER, &head,
	    &with_body), KG_OK);
	ck_assert_int_eq(strncmp(kg_buf_str(&head),
	    "Status: 403 Forbidden\r\n", 23), 0);
	ck_assert_int_eq(with_body, 1);
}
END_TEST

START_TEST(response_responder_keeps_keygate_headers)
{
	int with_body;

	resp.status = 204;
	raw_header("X-Keygate-Subject", "0xabc");
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_RESPONDER, &head,
	    &with_body), KG_OK);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&head),
	    "\r\nX-Keygate-Subject: 0xabc\r\n"));
	ck_assert_ptr_null(strstr(kg_buf_str(&head), "Variable-"));
}
END_TEST

START_TEST(response_head_reused)
{
	const char	*data;
	size_t		 cap;
	int		 with_body;

	resp.status = 200;
	resp.content_type = KG_CT_JSON;
	kg_buf_puts(&resp.body, "{}");
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_RESPONDER, &head,
	    &with_body), KG_OK);
	data = head.b_data;
	cap = head.b_cap;
	ck_assert_int_eq(kg_marshal_response(&resp, KG_ROLE_RESPONDER, &head,
	    &with_body), KG_OK);
	ck_assert_ptr_eq(head.b_data, data);
	ck_assert_uint_eq(head.b_cap, cap);
}
END_TEST

static Suite *
marshal_suite(void)
{
	Suite	*s = suite_create("marshal");
	TCase	*tc;

	tc = tcase_create("path");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, path_table, 0,
	    (int)(sizeof(path_cases) / sizeof(path_cases[0])));
	tcase_add_test(tc, path_null_base);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, query_and_method);
	tcase_add_test(tc, query_absent_is_empty);
	tcase_add_loop_test(tc, method_bad, 0,
	    (int)(sizeof(bad_methods) / sizeof(bad_methods[0])));
	tcase_add_test(tc, headers_picked);
	tcase_add_test(tc, headers_empty_are_absent);
	tcase_add_test(tc, headers_redirect_authorization);
	tcase_add_test(tc, role_authorizer);
	tcase_add_test(tc, role_authorizer_empty_requirements);
	tcase_add_test(tc, role_authorizer_namespace_requirement);
	tcase_add_test(tc, role_responder_ignores_requirements);
	tcase_add_test(tc, role_first_wins);
	tcase_add_test(tc, role_bad);
	tcase_add_test(tc, empty_environment);
	tcase_add_test(tc, getenv_exact);
	suite_add_tcase(s, tc);

	tc = tcase_create("body");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, body_too_large_by_content_length);
	tcase_add_test(tc, body_too_large_huge_content_length);
	tcase_add_test(tc, body_too_large_when_content_length_lies);
	tcase_add_test(tc, body_too_large_without_content_length);
	tcase_add_test(tc, body_exact_max_accepted);
	tcase_add_test(tc, body_max_zero);
	tcase_add_loop_test(tc, body_bad_content_length, 0,
	    (int)(sizeof(bad_lengths) / sizeof(bad_lengths[0])));
	tcase_add_test(tc, body_length_mismatch);
	tcase_add_test(tc, body_leading_zeros);
	tcase_add_test(tc, body_nul_terminated_in_chunks);
	tcase_add_test(tc, body_read_error);
	tcase_add_test(tc, body_reader_overclaims);
	tcase_add_test(tc, buffers_reused);
	tcase_add_test(tc, drain_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_checked_fixture(tc, resp_setup, resp_teardown);
	tcase_add_test(tc, response_json);
	tcase_add_test(tc, response_headers_and_no_store);
	tcase_add_test(tc, response_no_body);
	tcase_add_test(tc, response_bad_status);
	tcase_add_test(tc, response_authorizer_variables);
	tcase_add_test(tc, response_authorizer_denial);
	tcase_add_test(tc, response_responder_keeps_keygate_headers);
	tcase_add_test(tc, response_head_reused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(marshal_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
