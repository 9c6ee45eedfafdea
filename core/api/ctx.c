/* ctx.c: the per-worker context. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/api/ctx.h"
#include "core/base/buf.h"
#include "core/store/db.h"

static void
kg_clock_realtime(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

enum kg_err
kg_ctx_init(struct kg_ctx *ctx, const struct kg_config *cfg)
{
	enum kg_err	r;

	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->now = kg_clock_realtime;
	ctx->pid = (int)getpid();
	if ((r = kg_db_open(&ctx->db, cfg)) != KG_OK)
		return r;
	return KG_OK;
}

void
kg_ctx_free(struct kg_ctx *ctx)
{
	struct kg_buf	*docs = ctx->docs_html;

	kg_db_close(ctx->db);
	ctx->db = NULL;
	if (docs != NULL) {
		kg_buf_free(docs);
		free(docs);
	}
	ctx->docs_html = NULL;
}
