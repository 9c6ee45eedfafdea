/*
 * http.c: response helpers and the one place where a core status becomes
 * an HTTP status and error code.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/api/http.h"
#include "core/base/hex.h"
#include "core/base/timefmt.h"

void
kg_resp_reset(struct kg_response *resp)
{
	resp->status = 0;
	resp->content_type = NULL;
	/* The last body may have carried a freshly minted secret. */
	if (resp->body.b_data != NULL)
		OPENSSL_cleanse(resp->body.b_data, resp->body.b_len);
	kg_buf_reset(&resp->body);
	resp->nheaders = 0;
	resp->no_store = 0;
}

void
kg_resp_free(struct kg_response *resp)
{
	kg_buf_free(&resp->body);
	resp->nheaders = 0;
}

enum kg_err
kg_resp_header(struct kg_response *resp, const char *name, const char *fmt, ...)
{
	struct kg_header	*h = NULL;
	va_list			 ap;
	size_t			 i;

	/* Setting a header twice replaces it: one value per name. */
	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].h_name, name) == 0)
			h = &resp->headers[i];
	if (h == NULL) {
		if (resp->nheaders >= KG_RESP_MAX_HEADERS)
			return KG_ERR_TOO_LARGE;
		h = &resp->headers[resp->nheaders++];
	}
	h->h_name = name;
	va_start(ap, fmt);
	vsnprintf(h->h_value, sizeof(h->h_value), fmt, ap);
	va_end(ap);
	/* A header value never carries a line break (response splitting). */
	h->h_value[strcspn(h->h_value, "\r\n")] = '\0';
	return KG_OK;
}

const char *
kg_resp_header_get(const struct kg_response *resp, const char *name)
{
	size_t	i;

	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].h_name, name) == 0)
			return resp->headers[i].h_value;
	return NULL;
}

void
kg_resp_error(struct kg_response *resp, int status, const char *code,
    const char *message)
{
	struct kg_buf	*b = &resp->body;

	resp->status = status;
	resp->content_type = KG_CT_JSON;
	kg_buf_reset(b);
	/* Allocation failure leaves a truncated body; status still tells. */
	if (kg_buf_puts(b, "{\"error\":\"") != KG_OK ||
	    kg_buf_json_str(b, code) != KG_OK ||
	    kg_buf_puts(b, "\",\"message\":\"") != KG_OK ||
	    kg_buf_json_str(b, message) != KG_OK ||
	    kg_buf_puts(b, "\"}") != KG_OK)
		kg_buf_reset(b);
	if (status == 401)
		kg_resp_header(resp, "WWW-Authenticate", "Bearer");
	if (status == 429 || status == 503)
		kg_resp_header(resp, "Retry-After", "%d", status == 503 ? 5 : 1);
}

/*
 * How many bytes of s, at most max, end on a character boundary: s is
 * UTF-8 (a member name of a checked body), and a sequence cut in two
 * would make the answer that quotes it invalid JSON.
 */
static int
utf8_cut(const char *s, size_t max)
{
	size_t	n = strlen(s);

	if (n <= max)
		return (int)n;
	/* s[n] is a continuation byte: the character straddles the cut. */
	for (n = max; n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80; n--)
		;
	return (int)n;
}

enum kg_err
kg_resp_json_refused(struct kg_response *resp, enum kg_json_status st,
    const char *bad)
{
	char	msg[160];

	if (st == KG_JSON_NOMEM)
		return KG_ERR_NOMEM;
	if (st == KG_JSON_BAD_JSON) {
		kg_resp_error(resp, 400, "invalid_json",
		    "The request body is not a valid JSON object.");
		return KG_OK;
	}
	/* The member name is bounded and JSON-escaped by kg_resp_error. */
	if (bad == NULL)
		bad = "?";
	snprintf(msg, sizeof(msg), "Invalid, missing or unknown member: %.*s.",
	    utf8_cut(bad, 64), bad);
	kg_resp_error(resp, 400, "invalid_request", msg);
	return KG_OK;
}

enum kg_err
kg_resp_json(struct kg_response *resp, int status, const char *json)
{
	resp->status = status;
	resp->content_type = KG_CT_JSON;
	kg_buf_reset(&resp->body);
	return kg_buf_puts(&resp->body, json);
}

void
kg_resp_json_begin(struct kg_response *resp, int status)
{
	resp->status = status;
	resp->content_type = KG_CT_JSON;
	kg_buf_reset(&resp->body);
}

void
kg_resp_from_err(struct kg_response *resp, enum kg_err e)
{
	switch (e) {
	case KG_ERR_DB:
	case KG_ERR_DB_RETRY:
	case KG_ERR_DB_LOST:
		kg_resp_error(resp, 503, "unavailable",
		    "The service is temporarily unavailable; retry later.");
		break;
	case KG_ERR_INVALID:
		kg_resp_error(resp, 400, "invalid_request",
		    "The request is invalid.");
		break;
	case KG_ERR_NOT_FOUND:
		kg_resp_error(resp, 404, "not_found", "Not found.");
		break;
	case KG_ERR_CONFLICT:
		kg_resp_error(resp, 409, "conflict",
		    "The request conflicts with the current state.");
		break;
	case KG_ERR_TOO_LARGE:
		kg_resp_error(resp, 413, "body_too_large",
		    "The request body is too large.");
		break;
	default:
		kg_resp_error(resp, 500, "internal", "Internal error.");
		break;
	}
}

/*
 * Decodes the form-encoded value [p, end) into out.  Returns 0 or -1 when
 * malformed (bad escape, NUL byte) or too long.
 */
static int
form_decode(const char *p, const char *end, char *out, size_t outlen)
{
	size_t	n = 0;
	int	hi, lo, c;

	for (; p < end; p++) {
		c = (unsigned char)*p;
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (end - p < 3 || (hi = kg_hex_value(p[1])) < 0 ||
			    (lo = kg_hex_value(p[2])) < 0)
				return -1;
			c = hi << 4 | lo;
			p += 2;
		}
		if (c == 0 || n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

int
kg_query_get(const char *query, const char *key, char *out, size_t outlen)
{
	const char	*p = query, *amp, *eq, *vstart;
	size_t		 klen = strlen(key);
	int		 found = 0;

	if (outlen == 0)
		return -1;
	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		vstart = eq != NULL ? eq + 1 : amp;
		if ((size_t)((eq != NULL ? eq : amp) - p) == klen &&
		    strncmp(p, key, klen) == 0) {
			/* A duplicated key is ambiguous: refuse it. */
			if (found)
				return -1;
			if (form_decode(vstart, amp, out, outlen) == -1)
				return -1;
			found = 1;
		}
		p = *amp == '&' ? amp + 1 : NULL;
	}
	return found;
}

enum kg_err
kg_list_limit(const struct kg_request *req, size_t *limit,
    struct kg_response *resp)
{
	const char	*query = req->query != NULL ? req->query : "";
	char		*val;
	size_t		 n, cap = strlen(query) + 1;
	int		 q;

	*limit = KG_LIST_LIMIT_DEFAULT;
	/* The value is no longer than the query: never cut, so never refused
	 * for its length alone. */
	if ((val = malloc(cap)) == NULL)
		return KG_ERR_NOMEM;
	q = kg_query_get(query, "limit", val, cap);
	n = q == 1 ? strlen(val) : 0;
	if (q < 0 || (q == 1 && (n == 0 || val[0] < '1' || val[0] > '9' ||
	    strspn(val, "0123456789") != n))) {
		*limit = 0;
		kg_resp_error(resp, 400, "invalid_request",
		    "limit must be a positive integer.");
	} else if (q == 1)	/* four digits or more: above the cap */
		*limit = n > 3 ? KG_LIST_LIMIT_MAX : strtoul(val, NULL, 10);
	if (*limit > KG_LIST_LIMIT_MAX)
		*limit = KG_LIST_LIMIT_MAX;
	free(val);
	return KG_OK;
}

uint64_t
kg_id_parse(const char *s)
{
	char			*end;
	unsigned long long	 v;
	size_t			 n = strlen(s);

	if (n == 0 || n > 19 || s[0] < '1' || s[0] > '9' ||
	    strspn(s, "0123456789") != n)
		return 0;
	v = strtoull(s, &end, 10);
	return *end == '\0' && v <= (unsigned long long)INT64_MAX ? v : 0;
}

enum kg_err
kg_json_time(struct kg_buf *b, int64_t us)
{
	char		ts[KG_TIME_RFC3339_MAX];
	enum kg_err	r;

	if (us == 0)
		return kg_buf_puts(b, "null");
	if ((r = kg_time_format_rfc3339(us, ts, 0)) != KG_OK)
		return r;
	return kg_buf_printf(b, "\"%s\"", ts);
}

enum kg_err
kg_page_cursor(const struct kg_request *req, uint64_t *before,
    struct kg_response *resp, int *done)
{
	char	val[32];
	int	q;

	*before = 0;
	*done = 0;
	if ((q = kg_query_get(req->query != NULL ? req->query : "", "cursor",
	    val, sizeof(val))) < 0 ||
	    (q == 1 && (*before = kg_id_parse(val)) == 0)) {
		*done = 1;
		kg_resp_error(resp, 400, "invalid_request",
		    "cursor is not one this endpoint returned.");
	}
	return KG_OK;
}

enum kg_err
kg_page_begin(struct kg_page *pg, struct kg_response *resp, size_t limit)
{
	memset(pg, 0, sizeof(*pg));
	kg_resp_json_begin(resp, 200);
	pg->pg_b = &resp->body;
	pg->pg_limit = limit;
	return kg_buf_puts(pg->pg_b, "{\"items\":[");
}

int
kg_page_item(struct kg_page *pg, uint64_t id, enum kg_err *r)
{
	*r = KG_OK;
	if (pg->pg_n++ >= pg->pg_limit)
		return 0;
	if (pg->pg_n > 1 && (*r = kg_buf_puts(pg->pg_b, ",")) != KG_OK)
		return 0;
	pg->pg_last = id;
	return 1;
}

enum kg_err
kg_page_end(struct kg_page *pg)
{
	if (pg->pg_n > pg->pg_limit)
		return kg_buf_printf(pg->pg_b, "],\"next_cursor\":\"%" PRIu64
		    "\"}", pg->pg_last);
	return kg_buf_puts(pg->pg_b, "],\"next_cursor\":null}");
}
