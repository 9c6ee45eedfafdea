/*
 * fuzz_request.c: libFuzzer target for a whole request: FastCGI
 * parameters and body marshalled into struct kg_request, then routed.
 * Input: NUL-separated "NAME=value" parameters, then "\0\0", then the body.
 * Every answer must have a status in 200..599, and not 500 unless the
 * web server's own parameters (KEYGATE_REQUIRE_*) are malformed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/api/router.h"
#include "core/base/config.h"
#include "fcgi/marshal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct body {
	const char	*p;
	size_t		 left;
};

static ssize_t
body_read(void *arg, char *buf, size_t len)
{
	struct body	*b = arg;

	if (len > b->left)
		len = b->left;
	memcpy(buf, b->p, len);
	b->p += len;
	b->left -= len;
	return (ssize_t)len;
}

/* Does req carry parameters that only the web server's configuration sets? */
static int
server_config(const struct kg_request *req)
{
	return req->role == KG_ROLE_AUTHORIZER && (req->require_scope != NULL ||
	    req->require_project != NULL || req->require_namespace != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct kg_config		cfg;
	static struct kg_ctx		ctx;
	static struct kg_marshal	m = KG_MARSHAL_INIT;
	static struct kg_response	resp;
	static int			ready;
	struct kg_request		req;
	struct body			b;
	char				*copy, *envp[33], *p, *end;
	size_t				n = 0;
	char				err[256];

	if (!ready) {
		/* No database: /ready must fail closed, fast. */
		setenv("KEYGATE_DB_SOCKET", "/nonexistent/keygate-fuzz.sock", 1);
		setenv("KEYGATE_JWT_SECRET", "fuzz-only-jwt-secret-0123456789abcdef", 1);
		if (kg_config_load(&cfg, NULL, err, sizeof(err)) != KG_OK ||
		    kg_ctx_init(&ctx, &cfg) != KG_OK)
			abort();
		ready = 1;
	}
	if ((copy = malloc(len + 2)) == NULL)
		return 0;
	memcpy(copy, data, len);
	copy[len] = copy[len + 1] = '\0';
	end = copy + len;
	for (p = copy; p < end && *p != '\0' && n < 32; p += strlen(p) + 1)
		envp[n++] = p;
	envp[n] = NULL;
	/* The body starts after the empty string that ends the parameters. */
	while (p < end && *p != '\0')
		p += strlen(p) + 1;
	if (p < end)
		p++;
	b.p = p;
	b.left = p < end ? (size_t)(end - p) : 0;
	if (kg_marshal_request(&m, envp, body_read, &b, "/auth", 4096, &req) ==
	    KG_OK) {
		kg_dispatch(&ctx, &req, &resp);
		/*
		 * Bad input is a 4xx, a missing database a 503: never a 500,
		 * except for what the web server's configuration says (a
		 * malformed KEYGATE_REQUIRE_* refuses as a server error).
		 */
		if (resp.status < 200 || resp.status > 599 ||
		    (resp.status == 500 && !server_config(&req)))
			abort();
	}
	free(copy);
	return 0;
}
