/* ratelimit.c: SPEC 12 rate limits for the handlers. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/api/ratelimit.h"
#include "core/store/ratelimit.h"

enum kg_err
kg_rate_take(struct kg_ctx *ctx, enum kg_rate_kind kind, const char *key,
    int *allowed, long *retry_after)
{
	char	bkey[160];
	long	rate, burst;

	*allowed = 1;
	*retry_after = 0;
	switch (kind) {
	case KG_RATE_ADDR:
		rate = ctx->cfg->rate_ip_rate;
		burst = ctx->cfg->rate_ip_burst;
		break;
	case KG_RATE_WALLET:
		rate = ctx->cfg->rate_wallet_rate;
		burst = ctx->cfg->rate_wallet_burst;
		break;
	default:
		return KG_ERR_INTERNAL;
	}
	if (rate <= 0)
		return KG_OK;
	if (burst < 1)
		burst = 1;
	/* An address is at most 45 bytes (IPv6 text); cut anything longer. */
	snprintf(bkey, sizeof(bkey), "%c:%.100s",
	    kind == KG_RATE_ADDR ? 'a' : 'w', key != NULL ? key : "");
	return kg_store_rate_take(ctx->db, bkey, rate, burst, allowed,
	    retry_after);
}

void
kg_rate_refuse(struct kg_response *resp, long retry_after)
{
	size_t	i;

	kg_resp_error(resp, 429, "rate_limited",
	    "Too many requests; retry later.");
	/* kg_resp_error set a generic Retry-After: give the real wait. */
	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].h_name, "Retry-After") == 0) {
			snprintf(resp->headers[i].h_value,
			    sizeof(resp->headers[i].h_value), "%ld",
			    retry_after < 1 ? 1 : retry_after);
			return;
		}
	kg_resp_header(resp, "Retry-After", "%ld",
	    retry_after < 1 ? 1 : retry_after);
}

enum kg_err
kg_rate_check_wallet(struct kg_ctx *ctx, const struct kg_request *req,
    const char *wallet, struct kg_response *resp, int *limited)
{
	enum kg_err	r;
	int		allowed;
	long		retry;

	*limited = 0;
	if ((r = kg_rate_take(ctx, KG_RATE_ADDR, req->remote_addr, &allowed,
	    &retry)) != KG_OK)
		return r;
	if (allowed && (r = kg_rate_take(ctx, KG_RATE_WALLET, wallet,
	    &allowed, &retry)) != KG_OK)
		return r;
	if (!allowed) {
		kg_rate_refuse(resp, retry);
		*limited = 1;
	}
	return KG_OK;
}
