/*
 * auditlog.c: the audit listing of SPEC 9, GET /v1/namespaces/{ns}/audit.
 *
 * The route table cannot say who may read it, since that depends on the
 * namespace in the path: the handler decides, in the gate's order, as
 * members.c does.  First who the caller is (403, audited as a failed
 * admin attempt, before anything about the namespace is read), then the
 * query (400), then whether the namespace exists (404), then the page.
 * Rows hold no secret (core/store/audit.h), so they are rendered as
 * stored.
 */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "core/api/auditlog.h"
#include "core/api/nsgate.h"
#include "core/base/timefmt.h"
#include "core/store/audit.h"
#include "core/store/db.h"

/*
 * The query keys this endpoint reads; "namespace" is the global admin's
 * selector, read by the gate (authn.c).  Any other key is refused rather
 * than ignored: a mistyped filter must not list everything.
 */
static const char *const audit_keys[] = {
	"limit", "cursor", "action", "namespace", NULL
};

/* ---------------------------------------------------------------- query */

static enum kg_err
bad_query(struct kg_response *resp, const char *message)
{
	kg_resp_error(resp, 400, "invalid_request", message);
	return KG_OK;
}

/* Returns 1 when every key of the form-encoded query is in audit_keys. */
static int
query_keys_known(const char *query)
{
	const char	*p = query, *end, *eq;
	size_t		 i, n;

	for (; *p != '\0'; p = *end == '&' ? end + 1 : end) {
		end = p + strcspn(p, "&");
		if (end == p)
			continue;
		eq = memchr(p, '=', (size_t)(end - p));
		n = (size_t)((eq != NULL ? eq : end) - p);
		for (i = 0; audit_keys[i] != NULL; i++)
			if (strlen(audit_keys[i]) == n &&
			    memcmp(audit_keys[i], p, n) == 0)
				break;
		if (audit_keys[i] == NULL)
			return 0;
	}
	return 1;
}

/*
 * Reads ?action= into out (NULL when absent): 1 to 64 printable ASCII
 * characters, the form actions are written in.  Returns 1, or 0.
 */
static int
action_get(const char *query, char out[KG_AUDIT_ACTION_MAX + 1],
    const char **action)
{
	size_t	i;
	int	q;

	*action = NULL;
	if ((q = kg_query_get(query, "action", out,
	    KG_AUDIT_ACTION_MAX + 1)) == 0)
		return 1;
	if (q < 0 || out[0] == '\0')
		return 0;
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			return 0;
	*action = out;
	return 1;
}

/* ---------------------------------------------------------------- output */

/* Appends ,"name":"s" (JSON-escaped), or ,"name":null. */
static enum kg_err
put_str(struct kg_buf *b, const char *name, const char *s)
{
	enum kg_err	r;

	if ((r = kg_buf_printf(b, ",\"%s\":", name)) != KG_OK)
		return r;
	return s != NULL ? kg_buf_json_qstr(b, s) : kg_buf_puts(b, "null");
}

/*
 * Appends {id, at, namespace, actor_type, actor, action, target,
 * remote_addr, outcome}, the first limit rows only.
 */
static enum kg_err
audit_item(const struct kg_audit_event *ev, void *arg)
{
	struct kg_page		*pg = arg;
	struct kg_buf		*b = pg->pg_b;
	char			 at[KG_TIME_RFC3339_MAX];
	enum kg_err		 r;

	if (!kg_page_item(pg, ev->ae_id, &r))
		return r;
	/* UTC_TIMESTAMP(6) is always within the years it can format. */
	if (kg_time_format_rfc3339(ev->ae_at_us, at, 0) != KG_OK)
		return KG_ERR_INTERNAL;
	if ((r = kg_buf_printf(b, "{\"id\":%" PRIu64 ",\"at\":\"%s\"",
	    ev->ae_id, at)) != KG_OK ||
	    (r = put_str(b, "namespace", ev->ae.au_namespace)) != KG_OK ||
	    (r = put_str(b, "actor_type",
	    ev->ae.au_actor_type)) != KG_OK ||
	    (r = put_str(b, "actor", ev->ae.au_actor)) != KG_OK ||
	    (r = put_str(b, "action", ev->ae.au_action)) != KG_OK ||
	    (r = put_str(b, "target", ev->ae.au_target)) != KG_OK ||
	    (r = put_str(b, "remote_addr",
	    ev->ae.au_remote_addr)) != KG_OK ||
	    (r = put_str(b, "outcome", ev->ae.au_outcome)) != KG_OK)
		return r;
	return kg_buf_puts(b, "}");
}


/* ---------------------------------------------------------------- list */

enum kg_err
kg_auditlog_list(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	const char		*ns = kg_param(params, "ns");
	const char		*query = req->query != NULL ? req->query : "";
	const char		*action;
	char			 actbuf[KG_AUDIT_ACTION_MAX + 1];
	uint64_t		 ns_id;
	struct kg_page		 pg;
	uint64_t		 before;
	size_t			 limit = 0;
	enum kg_err		 r;
	int			 done;

	/* 404 comes after the query checks: the gate stops at 400. */
	if ((r = kg_ns_gate(ctx, req, pr, ns, KG_NS_ADMIN, "audit_list",
	    NULL, resp, NULL, &done)) != KG_OK || done)
		return r;
	if (!query_keys_known(query))
		return bad_query(resp, "Unknown query parameter: only limit, "
		    "cursor and action are accepted.");
	if ((r = kg_list_limit(req, &limit, resp)) != KG_OK || limit == 0)
		return r;
	if ((r = kg_page_cursor(req, &before, resp, &done)) != KG_OK || done)
		return r;
	if (!action_get(query, actbuf, &action))
		return bad_query(resp,
		    "action must be 1 to 64 printable ASCII characters.");
	if ((r = kg_ns_lookup(ctx, ns, resp, &ns_id, &done)) != KG_OK || done)
		return r;

	/* One row beyond the page says whether another page follows. */
	if ((r = kg_page_begin(&pg, resp, limit)) != KG_OK ||
	    (r = kg_store_audit_list(ctx->db, ns, before, action, limit + 1,
	    audit_item, &pg, NULL)) != KG_OK)
		return r;
	return kg_page_end(&pg);
}
