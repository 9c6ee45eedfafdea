/*
 * ops.c: operational endpoints (SPEC 11).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/api/ops.h"
#include "core/base/log.h"
#include "core/base/metrics.h"
#include "core/store/migrate.h"

enum kg_err
kg_ops_health(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	return kg_resp_json(resp, 200, "{\"status\":\"ok\"}");
}

/* 503 in the shape SPEC 11 gives /ready: status plus the error pair. */
static enum kg_err
ready_unavailable(struct kg_response *resp, const char *reason)
{
	struct kg_buf	*b = &resp->body;
	enum kg_err	 r;

	kg_resp_error(resp, 503, "unavailable", reason);
	kg_buf_reset(b);
	if ((r = kg_buf_puts(b, "{\"status\":\"unavailable\","
	    "\"error\":\"unavailable\",\"message\":\"")) != KG_OK ||
	    (r = kg_buf_json_str(b, reason)) != KG_OK ||
	    (r = kg_buf_puts(b, "\"}")) != KG_OK)
		return r;
	return KG_OK;
}

enum kg_err
kg_ops_ready(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	char	msg[128];
	int	version = 0;

	if (kg_migrate_current(ctx->db, &version) != KG_OK)
		return ready_unavailable(resp, "database unreachable");
	/*
	 * Migrations are forward-only and additive, so a database ahead of
	 * this binary (a rolling upgrade in progress) still serves it.
	 */
	if (version < KG_SCHEMA_VERSION) {
		snprintf(msg, sizeof(msg), "schema version %d, expected %d: "
		    "run keygate-admin migrate", version, KG_SCHEMA_VERSION);
		return ready_unavailable(resp, msg);
	}
	resp->status = 200;
	resp->content_type = KG_CT_JSON;
	kg_buf_reset(&resp->body);
	return kg_buf_printf(&resp->body,
	    "{\"status\":\"ready\",\"schema_version\":%d}", version);
}

enum kg_err
kg_ops_openapi(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	resp->status = 200;
	resp->content_type = KG_CT_JSON;
	kg_buf_reset(&resp->body);
	return kg_buf_append(&resp->body, kg_openapi_json, kg_openapi_json_len);
}

/* The labels of route slot i: its method and pattern (metrics.h). */
static int
metrics_label(size_t i, const char **method, const char **route, void *arg)
{
	const size_t	*nroutes = arg;

	if (i >= *nroutes)
		return 0;
	*method = kg_routes[i].method;
	*route = kg_routes[i].pattern;
	return 1;
}

enum kg_err
kg_ops_metrics(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	size_t	n = 0;

	/* The list is parsed once per worker, not per request. */
	if (!kg_metrics_allowed(ctx->cfg != NULL ? ctx->cfg->metrics_allow :
	    NULL, req->remote_addr)) {
		kg_resp_error(resp, 403, "forbidden",
		    "This address may not read the metrics.");
		return KG_OK;
	}
	while (kg_routes[n].method != NULL)
		n++;
	resp->status = 200;
	resp->content_type = KG_CT_METRICS;
	kg_buf_reset(&resp->body);
	return kg_metrics_render(&resp->body, metrics_label, &n);
}

/* Appends s to b with the five HTML metacharacters escaped. */
static enum kg_err
html_escape(struct kg_buf *b, const char *s)
{
	enum kg_err	r = KG_OK;

	for (; *s != '\0' && r == KG_OK; s++) {
		switch (*s) {
		case '<':  r = kg_buf_puts(b, "&lt;"); break;
		case '>':  r = kg_buf_puts(b, "&gt;"); break;
		case '&':  r = kg_buf_puts(b, "&amp;"); break;
		case '"':  r = kg_buf_puts(b, "&quot;"); break;
		case '\'': r = kg_buf_puts(b, "&#39;"); break;
		default:   r = kg_buf_append(b, s, 1); break;
		}
	}
	return r;
}

static const char *
json_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* Appends one table row per operation of the path item. */
static enum kg_err
docs_path(struct kg_buf *b, const char *path, json_object *item)
{
	static const char *const methods[] = {
		"get", "post", "put", "patch", "delete", NULL
	};
	const char *const	*m;
	json_object		*op;
	char			 upper[8];
	size_t			 i;
	enum kg_err		 r = KG_OK;

	for (m = methods; *m != NULL && r == KG_OK; m++) {
		if (!json_object_object_get_ex(item, *m, &op))
			continue;
		for (i = 0; (*m)[i] != '\0' && i < sizeof(upper) - 1; i++)
			upper[i] = (char)((*m)[i] - 'a' + 'A');
		upper[i] = '\0';
		if ((r = kg_buf_printf(b, "<tr><td><code>%s</code></td>"
		    "<td><code>", upper)) != KG_OK ||
		    (r = html_escape(b, path)) != KG_OK ||
		    (r = kg_buf_puts(b, "</code></td><td>")) != KG_OK ||
		    (r = html_escape(b, json_str(op, "summary"))) != KG_OK ||
		    (r = kg_buf_puts(b, "</td><td>")) != KG_OK ||
		    (r = html_escape(b, json_str(op, "description"))) != KG_OK)
			break;
		r = kg_buf_puts(b, "</td></tr>\n");
	}
	return r;
}

/*
 * Renders the /docs page from the compiled OpenAPI document, once per
 * worker: the page can never disagree with the document.
 */
static enum kg_err
docs_render(struct kg_buf *b)
{
	json_object	*doc = NULL, *info, *paths;
	enum kg_err	 r = KG_ERR_INTERNAL;

	if ((doc = json_tokener_parse(kg_openapi_json)) == NULL ||
	    !json_object_object_get_ex(doc, "paths", &paths))
		goto out;
	if (!json_object_object_get_ex(doc, "info", &info))
		info = NULL;
	if ((r = kg_buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>")) != KG_OK ||
	    (r = html_escape(b, json_str(info, "title"))) != KG_OK ||
	    (r = kg_buf_puts(b, "</title><style>body{font-family:sans-serif;"
	    "max-width:60em;margin:2em auto;padding:0 1em}table{border-collapse:"
	    "collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:"
	    ".4em;text-align:left;vertical-align:top}</style></head><body>\n"
	    "<h1>")) != KG_OK ||
	    (r = html_escape(b, json_str(info, "title"))) != KG_OK ||
	    (r = kg_buf_puts(b, "</h1>\n<p>")) != KG_OK ||
	    (r = html_escape(b, json_str(info, "description"))) != KG_OK ||
	    (r = kg_buf_puts(b, "</p>\n<p>Machine-readable: <a href=\"openapi."
	    "json\">openapi.json</a> (OpenAPI 3.1).</p>\n<table><tr><th>Method"
	    "</th><th>Path</th><th>Summary</th><th>Details</th></tr>\n")) != KG_OK)
		goto out;
	json_object_object_foreach(paths, path, item) {
		if ((r = docs_path(b, path, item)) != KG_OK)
			goto out;
	}
	r = kg_buf_puts(b, "</table>\n</body></html>\n");
out:
	json_object_put(doc);
	return r;
}

enum kg_err
kg_ops_docs(struct kg_ctx *ctx, const struct kg_request *req,
    const struct kg_params *params, const struct kg_principal *pr,
    struct kg_response *resp)
{
	struct kg_buf	*page = ctx->docs_html;
	enum kg_err	 r;

	if (page == NULL) {
		if ((page = calloc(1, sizeof(*page))) == NULL)
			return KG_ERR_NOMEM;
		if ((r = docs_render(page)) != KG_OK) {
			kg_log_error("cannot render /docs: %s", kg_strerror(r));
			kg_buf_free(page);
			free(page);
			return r;
		}
		ctx->docs_html = page;
	}
	resp->status = 200;
	resp->content_type = KG_CT_HTML;
	kg_buf_reset(&resp->body);
	return kg_buf_append(&resp->body, page->b_data, page->b_len);
}
