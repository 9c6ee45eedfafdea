/*
 * ctx.h: the per-worker context.
 *
 * One struct kg_ctx per worker process (and one per tool run): the config,
 * the worker's database connection (opened lazily), the clock.  Everything
 * that can be set up once per worker lives here, never per request.
 */
#ifndef KG_CTX_H
#define KG_CTX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "core/base/config.h"
#include "core/base/err.h"
#include "core/base/json.h"

struct kg_authcache;
struct kg_db;
struct kg_eth;
struct kg_jwt_keys;

struct kg_ctx {
	const struct kg_config	*cfg;
	struct kg_db		*db;		/* owned; connects on first use */
	/* The clock; tests replace it.  Returns CLOCK_REALTIME. */
	void			(*now)(struct timespec *);
	void			*docs_html;	/* cached /docs page (struct kg_buf *) */
	int			 pid;
	struct kg_eth		*eth;		/* secp256k1 context, randomised */
	struct kg_jwt_keys	*jwt;		/* signing and verification keys */
	struct kg_json		 json;		/* request body parser, reused */
	struct kg_authcache	*authcache;	/* validated credentials, or
						 * NULL (auth_cache_size 0) */
};

/*
 * Checks what the service needs beyond a parsed configuration (the JWT keys
 * load: HS256 needs jwt_secret of 32 bytes or more, EdDSA/RS256 readable
 * keys of the right type).  For start-up, `-t` and SIGHUP.  Returns KG_OK
 * or KG_ERR_CONFIG with the reason in why.
 */
enum kg_err	kg_ctx_check(const struct kg_config *cfg, char *why, size_t len);

/*
 * Sets up ctx for cfg (which must outlive ctx): crypto contexts and keys
 * are made here, once per worker; the database is not connected yet.
 * Fails with KG_ERR_CONFIG (logged) when kg_ctx_check would.
 */
enum kg_err	kg_ctx_init(struct kg_ctx *ctx, const struct kg_config *cfg);
/* Releases everything kg_ctx_init and later use acquired. */
void		kg_ctx_free(struct kg_ctx *ctx);

/* ctx's clock in whole seconds since the epoch (JWT times, key expiry). */
int64_t		kg_ctx_now_sec(struct kg_ctx *ctx);
/* The same in milliseconds. */
int64_t		kg_ctx_now_ms(struct kg_ctx *ctx);

#endif
