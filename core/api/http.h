/*
 * http.h: the plain request and response structs that core/ works on.
 *
 * fcgi/ fills a struct kg_request from FastCGI parameters; core/ never sees
 * FastCGI.  Strings point into storage owned by the caller (the worker's
 * per-request buffers) and stay valid for the whole request.
 */
#ifndef KG_HTTP_H
#define KG_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/json.h"

enum kg_role {
	KG_ROLE_RESPONDER = 0,
	KG_ROLE_AUTHORIZER,
	KG_ROLE__MAX
};

struct kg_request {
	const char	*method;	/* "GET", "POST", ...; never NULL */
	const char	*path;		/* routed path, starts with '/'; never NULL */
	const char	*query;		/* raw query string, no '?'; "" if none */
	const char	*authorization;	/* HTTP_AUTHORIZATION or NULL */
	const char	*x_api_key;	/* HTTP_X_API_KEY or NULL */
	const char	*content_type;	/* CONTENT_TYPE or NULL */
	const char	*x_namespace;	/* HTTP_X_KEYGATE_NAMESPACE or NULL */
	const char	*remote_addr;	/* REMOTE_ADDR or "" */
	enum kg_role	 role;
	/*
	 * Authorizer requirements: KEYGATE_REQUIRE_SCOPE, _PROJECT,
	 * _NAMESPACE as given (NULL when absent; "" when set but empty,
	 * which refuses every request rather than requiring nothing).
	 */
	const char	*require_scope;
	const char	*require_project;
	const char	*require_namespace;
	const char	*body;		/* NUL-terminated copy; "" if none */
	size_t		 body_len;
	int		 body_too_large; /* set by the front: answer 413 */
};

#define KG_RESP_MAX_HEADERS	12

struct kg_header {
	const char	*h_name;	/* static string */
	char		 h_value[1024];	/* fits every pr_scopes */
};

struct kg_response {
	int		 status;	/* HTTP status; 0 = not yet set */
	const char	*content_type;	/* static string, NULL = no body */
	struct kg_buf	 body;		/* kept across requests by the worker */
	struct kg_header headers[KG_RESP_MAX_HEADERS];
	size_t		 nheaders;
	int		 no_store;	/* adds Cache-Control: no-store */
};

#define KG_CT_JSON	"application/json; charset=utf-8"
#define KG_CT_HTML	"text/html; charset=utf-8"
#define KG_CT_METRICS	"text/plain; version=0.0.4; charset=utf-8"

/* Prepares resp for a new request, keeping the body's allocation. */
void		 kg_resp_reset(struct kg_response *);
void		 kg_resp_free(struct kg_response *);

/* Adds a header; the value is truncated to fit.  Returns KG_ERR_TOO_LARGE
 * when the header table is full. */
enum kg_err	 kg_resp_header(struct kg_response *, const char *name,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Looks up a header set on resp, or NULL. */
const char	*kg_resp_header_get(const struct kg_response *, const char *name);

/*
 * Sets status and a JSON body {"error": code, "message": message}, plus the
 * headers the generic codes need (WWW-Authenticate on 401, Retry-After on
 * 429/503).  Replaces any body already set.
 */
void		 kg_resp_error(struct kg_response *, int status,
		    const char *code, const char *message);

/*
 * Renders a refused request body (SPEC 1): KG_JSON_BAD_JSON is 400
 * invalid_json, KG_JSON_BAD_FIELD 400 invalid_request naming the member
 * bad.  Returns KG_OK with resp filled, or KG_ERR_NOMEM for KG_JSON_NOMEM.
 */
enum kg_err	 kg_resp_json_refused(struct kg_response *,
		    enum kg_json_status, const char *bad);

/* Sets status and a JSON body copied from json (already serialised). */
enum kg_err	 kg_resp_json(struct kg_response *, int status, const char *json);

/* Sets status and the JSON content type, and empties the body to fill. */
void		 kg_resp_json_begin(struct kg_response *, int status);

/*
 * Renders a core status that a handler did not turn into a response itself:
 * KG_ERR_DB* -> 503 unavailable, KG_ERR_INVALID -> 400 invalid_request,
 * KG_ERR_NOT_FOUND -> 404, KG_ERR_CONFLICT -> 409, KG_ERR_TOO_LARGE -> 413,
 * everything else -> 500 internal (no internals in the message).
 */
void		 kg_resp_from_err(struct kg_response *, enum kg_err);

/*
 * Looks up key in an application/x-www-form-urlencoded string (a query
 * string), percent-decoding the value into out.  Returns 1 when found and
 * decoded, 0 when absent, -1 when malformed, duplicated or too long.
 */
int		 kg_query_get(const char *query, const char *key,
		    char *out, size_t outlen);

/*
 * A positive decimal without leading zeros, at most INT64_MAX (a row id
 * in a path or a cursor).  Returns it, or 0 for anything else.
 */
uint64_t	 kg_id_parse(const char *s);

/* Appends an RFC 3339 UTC time in quotes, or null for 0. */
enum kg_err	 kg_json_time(struct kg_buf *b, int64_t us);

/*
 * One page of a list answer, {"items":[...],"next_cursor":...}, whose
 * cursor is the id of the last item (rows come in descending id).  The
 * store is asked for pg_limit + 1 rows: the extra row, never rendered,
 * says that another page follows, so a last page that happens to be
 * full gets no cursor to an empty one.
 */
struct kg_page {
	struct kg_buf	*pg_b;
	size_t		 pg_limit;	/* items to render */
	size_t		 pg_n;		/* rows seen */
	uint64_t	 pg_last;	/* id of the last item rendered */
};

/*
 * Reads ?cursor= (0 when absent) into *before.  Returns KG_OK, with
 * *done 1 and resp filled (400 invalid_request) when it is not an id.
 */
enum kg_err	 kg_page_cursor(const struct kg_request *req, uint64_t *before,
		    struct kg_response *resp, int *done);
/* Starts a 200 list answer of at most limit items in resp. */
enum kg_err	 kg_page_begin(struct kg_page *, struct kg_response *resp,
		    size_t limit);
/*
 * For each row, in order: returns 1 when the row with this id is to be
 * rendered next (its separator written), 0 when it is not (the extra
 * row, or *r set to an error).
 */
int		 kg_page_item(struct kg_page *, uint64_t id, enum kg_err *r);
/* Closes the list: next_cursor when a row beyond the page was seen. */
enum kg_err	 kg_page_end(struct kg_page *);

#define KG_LIST_LIMIT_DEFAULT	100
#define KG_LIST_LIMIT_MAX	500

/*
 * Reads the limit of a list endpoint from req's query (SPEC 1): absent,
 * KG_LIST_LIMIT_DEFAULT; a positive integer without leading zeros,
 * however many digits, at most KG_LIST_LIMIT_MAX.  Returns KG_OK with
 * *limit set; KG_OK with *limit 0 and resp filled (400 invalid_request)
 * when it is anything else; KG_ERR_NOMEM.
 */
enum kg_err	 kg_list_limit(const struct kg_request *req, size_t *limit,
		    struct kg_response *resp);

#endif
