/*
 * members.c: namespaces and their members (SPEC 2, 9).
 *
 * The route table cannot say who may act here, since that depends on the
 * namespace in the path: each handler decides, in the gate's order.
 * First who the caller is (403, before anything about the namespace is
 * read, so that a caller bound elsewhere never learns whether it
 * exists), then the input (400), then the namespace's state (404, 409)
 * under its serial lock.  Every change is audited in the transaction
 * that makes it; every refused attempt is audited too, best effort.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api/authn.h"
#include "core/api/members.h"
#include "core/api/nsgate.h"
#include "core/base/names.h"
#include "core/base/timefmt.h"
#include "core/crypto/eth.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/store/member.h"

/*
 * Length bound of string members at the JSON layer: the real rules run
 * afterwards with their own codes (invalid_namespace, invalid_wallet).
 */
#define KG_STR_LOOSE		4096

/* ---------------------------------------------------------------- who */

/*
 * May pr touch track 4?  SPEC 9: "needs track 4"; SPEC 2: operator.write.
 * Only wallet sessions and the global admin can hold either: a key or
 * token listing operator.write anyway does not count.
 */
static int
may_operate(const struct kg_principal *pr)
{
	if (pr->pr_method == KG_METHOD_ADMIN)
		return 1;
	return pr->pr_method == KG_METHOD_JWT && (pr->pr_track >= 4 ||
	    kg_principal_has_scope(pr, "operator.write"));
}

/* ---------------------------------------------------------------- audit */

/*
 * 403 forbidden, audited under the namespace named in the request (by
 * name: it may not exist), so that its admins see attempts from outside.
 */
static enum kg_err
forbid(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_principal *pr, const char *ns, const char *action,
    const char *target, struct kg_response *resp)
{
	kg_audit_refusal(ctx, req, pr, ns, action, target, "denied");
	kg_resp_error(resp, 403, "forbidden",
	    "The credential does not grant this operation.");
	return KG_OK;
}

/* ---------------------------------------------------------------- input */

static enum kg_err
bad_namespace(struct kg_response *resp)
{
	kg_resp_error(resp, 400, "invalid_namespace",
	    "namespace must match ^[a-z0-9][a-z0-9._-]{0,62}$.");
	return KG_OK;
}

static enum kg_err
bad_wallet(struct kg_response *resp)
{
	kg_resp_error(resp, 400, "invalid_wallet",
	    "wallet must be 0x and 40 hex digits (EIP-55 when mixed case).");
	return KG_OK;
}

static enum kg_err
no_namespace(struct kg_response *resp)
{
	kg_resp_error(resp, 404, "namespace_not_found", "No such namespace.");
	return KG_OK;
}

/*
 * Parses a wallet (SPEC 1) into its lower-case form.  Returns 1, or 0
 * when s is not one (lower is then "").
 */
static int
wallet_lower(const char *s, char lower[KG_ETH_ADDR_STRLEN])
{
	uint8_t	addr[KG_ETH_ADDR_LEN];

	lower[0] = '\0';
	if (s == NULL || kg_eth_address_parse(s, addr) != KG_OK)
		return 0;
	kg_eth_address_lower(addr, lower);
	return 1;
}

/*
 * The members list cursor: "<created_at in microseconds>_<wallet's 40
 * hex digits>", the last member of the page before.  Opaque to clients;
 * parsed strictly.  Returns 1 and fills *c, or 0.
 */
static int
cursor_parse(const char *s, struct kg_member_cursor *c)
{
	const char	*u;
	size_t		 i;
	long long	 us = 0;

	memset(c, 0, sizeof(*c));
	if ((u = strchr(s, '_')) == NULL || u == s || u - s > 18 ||
	    strlen(u + 1) != 40)
		return 0;
	for (i = 0; s + i < u; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		us = us * 10 + (s[i] - '0');
	}
	for (i = 1; i <= 40; i++)
		if (strchr("0123456789abcdef", u[i]) == NULL)
			return 0;
	c->mc_created_us = us;
	(void)snprintf(c->mc_wallet, sizeof(c->mc_wallet), "0x%s", u + 1);
	return 1;
}

/*
 * Reads the cursor (SPEC 1).  Returns 1, or 0 with resp filled (400
 * invalid_request).
 */
static int
list_cursor(const struct kg_request *req, struct kg_member_cursor *c,
    struct kg_response *resp)
{
	char	val[128];
	int	q;

	memset(c, 0, sizeof(*c));
	if ((q = kg_query_get(req->query, "cursor", val, sizeof(val))) < 0 ||
	    (q == 1 && !cursor_parse(val, c))) {
		kg_resp_error(resp, 400, "invalid_request",
		    "cursor is not one this endpoint returned.");
		return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------- output */

/* Renders {name, created_at, member_count} with status. */
static enum kg_err
ns_render(struct kg_response *resp, int status, const struct kg_ns_info *ni)
{
	struct kg_buf	*b = &resp->body;
	char		 at[KG_TIME_RFC3339_MAX];
	enum kg_err	 r;

	if ((r = kg_time_format_rfc3339(ni->ni_created_us, at, 0)) != KG_OK)
		return r;
	kg_buf_reset(b);
	/* Names are [a-z0-9._-]: nothing to escape. */
	if ((r = kg_buf_printf(b, "{\"name\":\"%s\",\"created_at\":\"%s\","
	    "\"member_count\":%lld}", ni->ni_name, at,
	    ni->ni_members)) != KG_OK)
		return r;
	resp->status = status;
	resp->content_type = KG_CT_JSON;
	return KG_OK;
}

/* Appends {wallet, track, created_at, updated_at}. */
static enum kg_err
member_put(struct kg_buf *b, const struct kg_member *m)
{
	char		created[KG_TIME_RFC3339_MAX];
	char		updated[KG_TIME_RFC3339_MAX];
	enum kg_err	r;

	if ((r = kg_time_format_rfc3339(m->me_created_us, created,
	    0)) != KG_OK ||
	    (r = kg_time_format_rfc3339(m->me_updated_us, updated,
	    0)) != KG_OK)
		return r;
	return kg_buf_printf(b, "{\"wallet\":\"%s\",\"track\":%d,"
	    "\"created_at\":\"%s\",\"updated_at\":\"%s\"}", m->me_wallet,
	    m->me_track, created, updated);
}

/* ---------------------------------------------------------------- create */

enum { NC_NAME, NC_OWNER, NC__MAX };

static const struct kg_jfield ns_create_fields[] = {
	{ "name",	KG_JT_STRING,	KG_JF_REQUIRED, 0, KG_STR_LOOSE },
	{ "owner",	KG_JT_STRING,	KG_JF_NULLABLE, 0, KG_STR_LOOSE },
	{ NULL,		KG_JT__MAX,	0, 0, 0 },
};

struct ns_create_txn {
	const struct kg_request		*nt_req;
	const struct kg_principal	*nt_pr;
	const char			*nt_name;
	const char			*nt_owner;	/* NULL: none */
	struct kg_ns_info		 nt_info;
};

static enum kg_err
ns_create_txn_fn(struct kg_db *db, void *arg)
{
	struct ns_create_txn	*t = arg;
	struct kg_audit		 au;
	enum kg_err		 r;

	if ((r = kg_store_ns_create(db, t->nt_name, t->nt_owner,
	    &t->nt_info)) != KG_OK)
		return r;
	kg_audit_event(&au, t->nt_req, t->nt_pr, t->nt_name, "namespace_create",
	    t->nt_owner, "ok");
	return kg_store_audit(db, &au);
}

enum kg_err
kg_ns_create(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_jval		v[NC__MAX];
	struct ns_create_txn	t;
	const char		*bad = NULL;
	enum kg_json_status	st;
	char			owner[KG_ETH_ADDR_STRLEN];
	enum kg_err		r;

	(void)params;
	if (pr->pr_method != KG_METHOD_ADMIN)
		return forbid(ctx, req, pr, pr->pr_ns[0] != '\0' ? pr->pr_ns :
		    NULL, "namespace_create", NULL, resp);
	st = kg_json_parse(&ctx->json, req->body, req->body_len,
	    ns_create_fields, v, &bad);
	if (st != KG_JSON_OK)
		return kg_resp_json_refused(resp, st, bad);
	if (!kg_namespace_valid(v[NC_NAME].jv_str))
		return bad_namespace(resp);
	if (v[NC_OWNER].jv_present &&
	    !wallet_lower(v[NC_OWNER].jv_str, owner)) {
		kg_resp_error(resp, 400, "invalid_wallet",
		    "owner must be 0x and 40 hex digits (EIP-55 when mixed "
		    "case).");
		return KG_OK;
	}
	memset(&t, 0, sizeof(t));
	t.nt_req = req;
	t.nt_pr = pr;
	t.nt_name = v[NC_NAME].jv_str;
	t.nt_owner = v[NC_OWNER].jv_present ? owner : NULL;
	r = kg_db_txn(ctx->db, ns_create_txn_fn, &t);
	if (r == KG_ERR_CONFLICT) {
		kg_audit_refusal(ctx, req, pr, t.nt_name, "namespace_create",
		    t.nt_owner, "failed");
		kg_resp_error(resp, 409, "conflict",
		    "A namespace with this name already exists.");
		return KG_OK;
	}
	if (r != KG_OK)
		return r;
	return ns_render(resp, 201, &t.nt_info);
}

/* ---------------------------------------------------------------- get */

enum kg_err
kg_ns_get(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	const char		*ns = kg_param(params, "ns");
	struct kg_ns_info	 ni;
	enum kg_err		 r;
	int			 done;

	/* Reading is not administering: a refusal here is not audited. */
	if ((r = kg_ns_gate(ctx, req, pr, ns, KG_NS_MEMBER, NULL, NULL,
	    resp, NULL, &done)) != KG_OK || done)
		return r;
	r = kg_store_ns_info(ctx->db, ns, &ni);
	if (r == KG_ERR_NOT_FOUND)
		return no_namespace(resp);
	if (r != KG_OK)
		return r;
	return ns_render(resp, 200, &ni);
}

/* ---------------------------------------------------------------- list */

struct member_out {
	struct kg_buf		*mo_b;
	size_t			 mo_n;
	struct kg_member	 mo_last;
};

static enum kg_err
member_item(const struct kg_member *m, void *arg)
{
	struct member_out	*o = arg;
	enum kg_err		 r;

	if (o->mo_n > 0 && (r = kg_buf_puts(o->mo_b, ",")) != KG_OK)
		return r;
	if ((r = member_put(o->mo_b, m)) != KG_OK)
		return r;
	o->mo_n++;
	o->mo_last = *m;
	return KG_OK;
}

enum kg_err
kg_members_list(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	const char		*ns = kg_param(params, "ns");
	struct kg_member_cursor	 cur;
	struct kg_ns_info	 ni;
	struct member_out	 o;
	size_t			 limit = 0, n = 0;
	enum kg_err		 r;
	int			 done;

	if ((r = kg_ns_gate(ctx, req, pr, ns, KG_NS_ADMIN, "member_list",
	    NULL, resp, NULL, &done)) != KG_OK || done)
		return r;
	if ((r = kg_list_limit(req, &limit, resp)) != KG_OK || limit == 0 ||
	    !list_cursor(req, &cur, resp))
		return r;
	r = kg_store_ns_info(ctx->db, ns, &ni);
	if (r == KG_ERR_NOT_FOUND)
		return no_namespace(resp);
	if (r != KG_OK)
		return r;
	memset(&o, 0, sizeof(o));
	o.mo_b = &resp->body;
	kg_buf_reset(o.mo_b);
	if ((r = kg_buf_puts(o.mo_b, "{\"items\":[")) != KG_OK ||
	    (r = kg_store_member_list(ctx->db, ni.ni_id, &cur, limit,
	    member_item, &o, &n)) != KG_OK)
		return r;
	if (n == limit && n > 0)
		r = kg_buf_printf(o.mo_b, "],\"next_cursor\":\"%" PRId64
		    "_%s\"}", o.mo_last.me_created_us,
		    o.mo_last.me_wallet + 2);
	else
		r = kg_buf_puts(o.mo_b, "],\"next_cursor\":null}");
	if (r != KG_OK)
		return r;
	resp->status = 200;
	resp->content_type = KG_CT_JSON;
	return KG_OK;
}

/* ---------------------------------------------------------------- change */

/* One membership change: set (track 1-4) or remove (track 0). */
struct member_txn {
	struct kg_ctx			*mt_ctx;
	const struct kg_request		*mt_req;
	const struct kg_principal	*mt_pr;
	const char			*mt_ns;
	const char			*mt_wallet;
	int				 mt_track;
	int				 mt_operate;
	/* outputs, reset at every run */
	enum kg_member_res		 mt_res;
	struct kg_member		 mt_member;
	int				 mt_old;
};

/*
 * The change and its audit event, or the refusal and its: a refused
 * change writes nothing else, so its event commits alone.
 */
static enum kg_err
member_txn_fn(struct kg_db *db, void *arg)
{
	struct member_txn	*t = arg;
	struct kg_audit		 au;
	const char		*action, *outcome;
	enum kg_err		 r;

	t->mt_old = 0;
	if (t->mt_track == 0) {
		action = "member_remove";
		r = kg_store_member_remove(db, t->mt_ns, t->mt_wallet,
		    t->mt_operate, &t->mt_res, &t->mt_old);
	} else {
		action = "member_set";
		r = kg_store_member_set(db, t->mt_ns, t->mt_wallet,
		    t->mt_track, t->mt_operate, &t->mt_res, &t->mt_member,
		    &t->mt_old);
	}
	if (r != KG_OK)
		return r;
	switch (t->mt_res) {
	case KG_MEMBER_OK:
		outcome = "ok";
		break;
	case KG_MEMBER_OPERATOR:
		outcome = "denied";
		break;
	case KG_MEMBER_LAST_OPERATOR:
		outcome = "failed";
		break;
	default:
		/* No namespace or no such member: nothing to record. */
		return KG_OK;
	}
	kg_audit_event(&au, t->mt_req, t->mt_pr, t->mt_ns, action, t->mt_wallet,
	    outcome);
	return kg_store_audit(db, &au);
}

/*
 * Checks and runs a change of path ns / wallet to track (0 = remove).
 * Returns KG_OK with resp filled when refused, with *done 0 when the
 * change was made (t holds it), or a status for the router.
 */
static enum kg_err
member_change(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_principal *pr, struct member_txn *t,
    struct kg_response *resp, int *done)
{
	enum kg_err	r;

	*done = 1;
	t->mt_ctx = ctx;
	t->mt_req = req;
	t->mt_pr = pr;
	t->mt_operate = may_operate(pr);
	/* Track 4 is the operators' whatever the state: refused up front. */
	if (t->mt_track == KG_TRACK_OPERATOR && !t->mt_operate)
		return forbid(ctx, req, pr, t->mt_ns, "member_set",
		    t->mt_wallet, resp);
	if ((r = kg_db_txn(ctx->db, member_txn_fn, t)) != KG_OK)
		return r;
	switch (t->mt_res) {
	case KG_MEMBER_OK:
		*done = 0;
		return KG_OK;
	case KG_MEMBER_NO_NAMESPACE:
		return no_namespace(resp);
	case KG_MEMBER_UNKNOWN:
		kg_resp_error(resp, 404, "not_found",
		    "This wallet is not a member of the namespace.");
		return KG_OK;
	case KG_MEMBER_OPERATOR:
		kg_resp_error(resp, 403, "forbidden",
		    "Changing a track-4 member needs track 4.");
		return KG_OK;
	case KG_MEMBER_LAST_OPERATOR:
		kg_resp_error(resp, 409, "conflict",
		    "The namespace's last track-4 member cannot be removed or "
		    "demoted.");
		return KG_OK;
	default:
		return KG_ERR_INTERNAL;
	}
}

/*
 * The checks shared by PUT and DELETE, up to the body: the caller's
 * rights in ns, then ns and the wallet.  Returns 1 to go on (lower
 * holds the wallet), or 0 with resp filled.
 */
static int
member_route(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    const char *action, const char **nsp, char lower[KG_ETH_ADDR_STRLEN],
    struct kg_response *resp)
{
	const char	*ns = kg_param(params, "ns");
	enum kg_err	 r;
	int		 ok, done = 1;

	*nsp = ns;
	ok = wallet_lower(kg_param(params, "wallet"), lower);
	/* Record the target only when it is a wallet. */
	r = kg_ns_gate(ctx, req, pr, ns, KG_NS_ADMIN, action,
	    ok ? lower : NULL, resp, NULL, &done);
	if (r != KG_OK)
		kg_resp_from_err(resp, r);
	if (r != KG_OK || done)
		return 0;
	if (!ok) {
		(void)bad_wallet(resp);
		return 0;
	}
	return 1;
}

static const struct kg_jfield member_put_fields[] = {
	{ "track",	KG_JT_INT,	KG_JF_REQUIRED, KG_TRACK_MIN,
	    KG_TRACK_OPERATOR },
	{ NULL,		KG_JT__MAX,	0, 0, 0 },
};

enum kg_err
kg_members_put(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct member_txn	 t;
	struct kg_jval		 v[1];
	const char		*ns, *bad = NULL;
	enum kg_json_status	 st;
	char			 lower[KG_ETH_ADDR_STRLEN];
	enum kg_err		 r;
	int			 done;

	if (!member_route(ctx, req, params, pr, "member_set", &ns, lower,
	    resp))
		return KG_OK;
	st = kg_json_parse(&ctx->json, req->body, req->body_len,
	    member_put_fields, v, &bad);
	if (st != KG_JSON_OK)
		return kg_resp_json_refused(resp, st, bad);
	memset(&t, 0, sizeof(t));
	t.mt_ns = ns;
	t.mt_wallet = lower;
	t.mt_track = (int)v[0].jv_int;
	if ((r = member_change(ctx, req, pr, &t, resp, &done)) != KG_OK ||
	    done)
		return r;
	kg_buf_reset(&resp->body);
	if ((r = member_put(&resp->body, &t.mt_member)) != KG_OK)
		return r;
	/* A wallet added is a new resource: 201; a track changed: 200. */
	resp->status = t.mt_old == 0 ? 201 : 200;
	resp->content_type = KG_CT_JSON;
	return KG_OK;
}

enum kg_err
kg_members_delete(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct member_txn	 t;
	const char		*ns;
	char			 lower[KG_ETH_ADDR_STRLEN];
	enum kg_err		 r;
	int			 done;

	if (!member_route(ctx, req, params, pr, "member_remove", &ns, lower,
	    resp))
		return KG_OK;
	memset(&t, 0, sizeof(t));
	t.mt_ns = ns;
	t.mt_wallet = lower;
	t.mt_track = 0;
	if ((r = member_change(ctx, req, pr, &t, resp, &done)) != KG_OK ||
	    done)
		return r;
	kg_buf_reset(&resp->body);
	resp->status = 204;
	resp->content_type = NULL;
	return KG_OK;
}
