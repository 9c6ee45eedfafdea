/*
 * ctx.h: the per-worker context.
 *
 * One struct kg_ctx per worker process (and one per tool run): the config,
 * the worker's database connection (opened lazily), the clock.  Everything
 * that can be set up once per worker lives here, never per request.
 */
#ifndef KG_CTX_H
#define KG_CTX_H

#include <time.h>
#include "core/base/config.h"
#include "core/base/err.h"

struct kg_db;

struct kg_ctx {
	const struct kg_config	*cfg;
	struct kg_db		*db;		/* owned; connects on first use */
	/* The clock; tests replace it.  Returns CLOCK_REALTIME. */
	void			(*now)(struct timespec *);
	void			*docs_html;	/* cached /docs page (struct kg_buf *) */
	int			 pid;
};

/* Sets up ctx for cfg (which must outlive ctx); does not connect. */
enum kg_err	kg_ctx_init(struct kg_ctx *ctx, const struct kg_config *cfg);
/* Releases everything kg_ctx_init and later use acquired. */
void		kg_ctx_free(struct kg_ctx *ctx);

#endif
