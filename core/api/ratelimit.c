/* ratelimit.c: SPEC 12 rate limits for the handlers. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/api/ratelimit.h"
#include "core/store/ratelimit.h"

/*
 * The kind's bucket for key into *b, its name into bkey; 0 when the
 * kind's limit is disabled, -1 for an unknown kind.
 */
static int
bucket_for(const struct kg_config *cfg, enum kg_rate_kind kind,
    const char *key, char bkey[160], struct kg_rate_bucket *b)
{
	switch (kind) {
	case KG_RATE_ADDR:
		b->rb_rate = cfg->rate_ip_rate;
		b->rb_burst = cfg->rate_ip_burst;
		break;
	case KG_RATE_WALLET:
		b->rb_rate = cfg->rate_wallet_rate;
		b->rb_burst = cfg->rate_wallet_burst;
		break;
	default:
		return -1;
	}
	if (b->rb_rate <= 0)
		return 0;
	if (b->rb_burst < 1)
		b->rb_burst = 1;
	/* An address is at most 45 bytes (IPv6 text); cut anything longer. */
	snprintf(bkey, 160, "%c:%.100s", kind == KG_RATE_ADDR ? 'a' : 'w',
	    key != NULL ? key : "");
	b->rb_key = bkey;
	return 1;
}

enum kg_err
kg_rate_take(struct kg_ctx *ctx, enum kg_rate_kind kind, const char *key,
    int *allowed, long *retry_after)
{
	struct kg_rate_bucket	b;
	char			bkey[160];
	int			on;

	*allowed = 1;
	*retry_after = 0;
	if ((on = bucket_for(ctx->cfg, kind, key, bkey, &b)) < 0)
		return KG_ERR_INTERNAL;
	if (on == 0)
		return KG_OK;
	return kg_store_rate_take_all(ctx->db, &b, 1, allowed, retry_after);
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
	struct kg_rate_bucket	b[2];
	char			akey[160], wkey[160];
	enum kg_err		r;
	size_t			n = 0;
	long			retry;
	int			allowed;

	*limited = 0;
	/* Address first, then wallet: one transaction, one commit. */
	if (bucket_for(ctx->cfg, KG_RATE_ADDR, req->remote_addr, akey,
	    &b[n]) > 0)
		n++;
	if (bucket_for(ctx->cfg, KG_RATE_WALLET, wallet, wkey, &b[n]) > 0)
		n++;
	if (n == 0)
		return KG_OK;
	if ((r = kg_store_rate_take_all(ctx->db, b, n, &allowed, &retry)) !=
	    KG_OK)
		return r;
	if (!allowed) {
		kg_rate_refuse(resp, retry);
		*limited = 1;
	}
	return KG_OK;
}
