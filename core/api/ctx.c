/* ctx.c: the per-worker context. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/api/authcache.h"
#include "core/api/ctx.h"
#include "core/base/buf.h"
#include "core/base/log.h"
#include "core/crypto/eth.h"
#include "core/crypto/jwt.h"
#include "core/store/db.h"

static void
kg_clock_realtime(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

enum kg_err
kg_ctx_check(const struct kg_config *cfg, char *why, size_t len)
{
	struct kg_jwt_keys	*keys = NULL;
	enum kg_err		 r;

	r = kg_jwt_keys_load(cfg, &keys, why, len);
	kg_jwt_keys_free(keys);
	return r;
}

enum kg_err
kg_ctx_init(struct kg_ctx *ctx, const struct kg_config *cfg)
{
	char		why[256];
	enum kg_err	r;

	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->now = kg_clock_realtime;
	ctx->pid = (int)getpid();
	why[0] = '\0';
	if ((r = kg_jwt_keys_load(cfg, &ctx->jwt, why, sizeof(why))) != KG_OK) {
		kg_log_error("%s", why[0] != '\0' ? why : kg_strerror(r));
		goto fail;
	}
	if ((r = kg_eth_new(&ctx->eth)) != KG_OK ||
	    (r = kg_db_open(&ctx->db, cfg)) != KG_OK ||
	    (r = kg_authcache_new(&ctx->authcache, cfg->auth_cache_size)) !=
	    KG_OK)
		goto fail;
	return KG_OK;
fail:
	kg_ctx_free(ctx);
	return r;
}

void
kg_ctx_free(struct kg_ctx *ctx)
{
	struct kg_buf	*docs = ctx->docs_html;

	kg_authcache_free(ctx->authcache);
	ctx->authcache = NULL;
	kg_db_close(ctx->db);
	ctx->db = NULL;
	kg_jwt_keys_free(ctx->jwt);
	ctx->jwt = NULL;
	kg_eth_free(ctx->eth);
	ctx->eth = NULL;
	kg_json_free(&ctx->json);
	if (docs != NULL) {
		kg_buf_free(docs);
		free(docs);
	}
	ctx->docs_html = NULL;
}

int64_t
kg_ctx_now_sec(struct kg_ctx *ctx)
{
	struct timespec	ts;

	ctx->now(&ts);
	return (int64_t)ts.tv_sec;
}

int64_t
kg_ctx_now_ms(struct kg_ctx *ctx)
{
	struct timespec	ts;

	ctx->now(&ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
