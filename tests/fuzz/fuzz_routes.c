/*
 * fuzz_routes.c: libFuzzer target for the body of every route that takes
 * one (each POST, PUT, PATCH and DELETE of kg_routes), through kg_dispatch
 * with a real context whose database socket does not exist: a handler
 * that gets past its body checks meets a failed connect and must answer
 * 503, never 500.
 *
 * Input: a selector byte, then the body.  The selector's low 6 bits pick
 * the route (modulo their number, in table order: the seeds in
 * corpus/routes/ were made for the table as it is, and only lose their
 * aim, not their use, when it changes); the top 2 bits the rest of the
 * request:
 *   0: the global admin key, X-Keygate-Namespace: acme, JSON;
 *   1: the admin key, no namespace selected, JSON;
 *   2: no credential, JSON;
 *   3: the admin key and namespace, a form content type.
 * Every answer must be a status in 200..599 other than 500, with a body
 * that is strict JSON (an object with a string "error" from 400 on),
 * or no body at all on 204.  KEYGATE_FUZZ_VERBOSE=1 prints each answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/api/router.h"
#include "core/base/config.h"
#include "core/base/json.h"

#define ADMIN	"fuzz-only-admin-key-0123456789abcdef"
#define WALLET	"0x52908400098527886e0f7030069857d2e4169ee7"
#define NROUTES	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct kg_config		cfg;
static struct kg_ctx		ctx;
static struct kg_response	resp;
static const struct kg_route	*body_routes[NROUTES];
static char			 paths[NROUTES][256];
static size_t			 nroutes;
static int			 verbose;

/* A value for a path parameter that passes the route's own checks. */
static const char *
param_value(const char *name, size_t len)
{
	if (len == 2 && strncmp(name, "ns", 2) == 0)
		return "acme";
	if (len == 6 && strncmp(name, "wallet", 6) == 0)
		return WALLET;
	return "1";
}

/* pattern with every {name} replaced by a value, into out. */
static void
expand(const char *pattern, char *out, size_t outlen)
{
	const char	*p = pattern, *end;
	size_t		 o = 0;

	while (*p != '\0') {
		const char	*v = p;
		size_t		 n = 1;

		if (*p == '{' && (end = strchr(p, '}')) != NULL) {
			v = param_value(p + 1, (size_t)(end - p - 1));
			n = strlen(v);
			p = end;
		}
		if (o + n >= outlen)
			abort();
		memcpy(out + o, v, n);
		o += n;
		p++;
	}
	out[o] = '\0';
}

static int
takes_body(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0;
}

static void
setup(void)
{
	const struct kg_route	*rt;
	char			 err[256];

	/* Connecting fails at once: no such socket. */
	setenv("KEYGATE_DB_SOCKET", "/nonexistent/keygate-fuzz.sock", 1);
	setenv("KEYGATE_JWT_SECRET", "fuzz-only-jwt-secret-0123456789abcdef", 1);
	if (kg_config_load(&cfg, NULL, err, sizeof(err)) != KG_OK)
		abort();
	free(cfg.admin_key);
	if ((cfg.admin_key = strdup(ADMIN)) == NULL)
		abort();
	/* The buckets live in the database: they would answer first. */
	cfg.rate_ip_rate = 0;
	cfg.rate_wallet_rate = 0;
	if (kg_ctx_init(&ctx, &cfg) != KG_OK)
		abort();
	for (rt = kg_routes; rt->method != NULL; rt++) {
		if (!takes_body(rt->method))
			continue;
		if (nroutes == NROUTES)
			abort();
		expand(rt->pattern, paths[nroutes], sizeof(paths[0]));
		body_routes[nroutes++] = rt;
	}
	if (nroutes == 0)
		abort();
	verbose = getenv("KEYGATE_FUZZ_VERBOSE") != NULL;
}

/* Is b[0..len) one strict JSON text? Returns the value (to put) or NULL. */
static json_object *
strict_json(const char *b, size_t len)
{
	struct json_tokener	*tok;
	json_object		*doc;

	if (len == 0 || len > INT32_MAX || memchr(b, '\0', len) != NULL ||
	    !kg_utf8_valid(b, len))
		return NULL;
	if ((tok = json_tokener_new()) == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	doc = json_tokener_parse_ex(tok, b, (int)len);
	if (doc != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)) {
		json_object_put(doc);
		doc = NULL;
	}
	json_tokener_free(tok);
	return doc;
}

static void
check_response(void)
{
	json_object	*doc, *e;
	size_t		 len = resp.body.b_len;

	if (resp.status < 200 || resp.status > 599 || resp.status == 500)
		abort();
	if (resp.status == 204) {
		if (len != 0)
			abort();
		return;
	}
	if (resp.content_type == NULL ||
	    strcmp(resp.content_type, KG_CT_JSON) != 0 ||
	    (doc = strict_json(kg_buf_str(&resp.body), len)) == NULL)
		abort();
	if (resp.status >= 400 && (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "error", &e) ||
	    !json_object_is_type(e, json_type_string)))
		abort();
	json_object_put(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct kg_request	 req;
	char			*body;
	unsigned int		 variant;
	size_t			 i;

	if (nroutes == 0)
		setup();
	if (len == 0)
		return 0;
	i = (size_t)(data[0] & 0x3f) % nroutes;
	variant = data[0] >> 6;
	/* As the front hands it over: a NUL-terminated copy. */
	if ((body = malloc(len)) == NULL)
		return 0;
	memcpy(body, data + 1, len - 1);
	body[len - 1] = '\0';

	memset(&req, 0, sizeof(req));
	req.method = body_routes[i]->method;
	req.path = paths[i];
	req.query = "";
	req.remote_addr = "192.0.2.1";
	req.authorization = variant == 2 ? NULL : "Bearer " ADMIN;
	req.x_namespace = variant == 0 || variant == 3 ? "acme" : NULL;
	req.content_type = variant == 3 ?
	    "application/x-www-form-urlencoded" : "application/json";
	req.body = body;
	req.body_len = len - 1;
	req.body_too_large = req.body_len > cfg.max_body;
	kg_dispatch(&ctx, &req, &resp);
	/* KEYGATE_FUZZ_VERBOSE=1: what each input reached (seed upkeep). */
	if (verbose)
		fprintf(stderr, "%s %s -> %d %s\n", req.method, req.path,
		    resp.status, kg_buf_str(&resp.body));
	check_response();
	free(body);
	return 0;
}
