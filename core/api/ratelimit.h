/*
 * ratelimit.h: the rate limits of SPEC 12 as the handlers use them.
 *
 * One bucket per client address (REMOTE_ADDR), shared by challenge,
 * verify, apps (and later api-key, exchange, refresh); one per wallet,
 * shared by challenge and verify.  Rates and bursts come from the config
 * (rate_ip_rate/_burst, rate_wallet_rate/_burst); a rate of 0 disables
 * that limit.
 */
#ifndef KG_API_RATELIMIT_H
#define KG_API_RATELIMIT_H

#include "core/api/ctx.h"
#include "core/api/http.h"

enum kg_rate_kind {
	KG_RATE_ADDR = 0,	/* key: the client address */
	KG_RATE_WALLET,		/* key: the lower-case wallet */
	KG_RATE__MAX
};

/*
 * Takes a token from the kind's bucket for key.  Sets *allowed (1 also
 * when the limit is disabled) and, when refused, *retry_after in seconds.
 * Returns KG_OK or a KG_ERR_DB* status (fail closed: the caller answers
 * 503, never grants).
 */
enum kg_err	kg_rate_take(struct kg_ctx *, enum kg_rate_kind,
		    const char *key, int *allowed, long *retry_after);

/* Fills resp with 429 rate_limited and Retry-After: retry_after. */
void		kg_rate_refuse(struct kg_response *, long retry_after);

/*
 * Takes the address bucket of req and the wallet's bucket, in that order.
 * Returns KG_OK with *limited 0 to go on; KG_OK with *limited 1 when resp
 * holds the 429; or a database status.
 */
enum kg_err	kg_rate_check_wallet(struct kg_ctx *, const struct kg_request *,
		    const char *wallet, struct kg_response *, int *limited);

#endif
