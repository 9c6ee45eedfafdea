/*
 * marshal.c: CGI/FastCGI parameters and body -> struct kg_request.
 *
 * The rules are documented in marshal.h.  Nothing here logs: the values
 * are the client's, and the worker decides what may be logged.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "fcgi/marshal.h"

/* The variables marshalling reads; one pass over envp fills all of them. */
enum kg_mvar {
	MV_METHOD = 0,
	MV_PATH_INFO,
	MV_REQUEST_URI,
	MV_SCRIPT_NAME,
	MV_QUERY,
	MV_AUTHORIZATION,
	MV_REDIRECT_AUTHORIZATION,
	MV_X_API_KEY,
	MV_CONTENT_TYPE,
	MV_CONTENT_LENGTH,
	MV_NAMESPACE,
	MV_REMOTE_ADDR,
	MV_ROLE,
	MV_REQUIRE_SCOPE,
	MV_REQUIRE_PROJECT,
	MV_REQUIRE_NAMESPACE,
	MV__MAX
};

static const struct {
	const char	*name;
	size_t		 len;
} kg_mvars[MV__MAX] = {
#define MV(x)	{ x, sizeof(x) - 1 }
	[MV_METHOD] = MV("REQUEST_METHOD"),
	[MV_PATH_INFO] = MV("PATH_INFO"),
	[MV_REQUEST_URI] = MV("REQUEST_URI"),
	[MV_SCRIPT_NAME] = MV("SCRIPT_NAME"),
	[MV_QUERY] = MV("QUERY_STRING"),
	[MV_AUTHORIZATION] = MV("HTTP_AUTHORIZATION"),
	[MV_REDIRECT_AUTHORIZATION] = MV("REDIRECT_HTTP_AUTHORIZATION"),
	[MV_X_API_KEY] = MV("HTTP_X_API_KEY"),
	[MV_CONTENT_TYPE] = MV("CONTENT_TYPE"),
	[MV_CONTENT_LENGTH] = MV("CONTENT_LENGTH"),
	[MV_NAMESPACE] = MV("HTTP_X_KEYGATE_NAMESPACE"),
	[MV_REMOTE_ADDR] = MV("REMOTE_ADDR"),
	[MV_ROLE] = MV("FCGI_ROLE"),
	[MV_REQUIRE_SCOPE] = MV("KEYGATE_REQUIRE_SCOPE"),
	[MV_REQUIRE_PROJECT] = MV("KEYGATE_REQUIRE_PROJECT"),
	[MV_REQUIRE_NAMESPACE] = MV("KEYGATE_REQUIRE_NAMESPACE"),
#undef MV
};

/* Read granularity: bounded stack use in drain, bounded over-reserve. */
#define KG_MARSHAL_CHUNK	16384

/* Longest method token accepted (the longest registered one is 17). */
#define KG_MARSHAL_METHOD_MAX	32

/* Collects the first value of every variable of interest. */
static void
marshal_scan(char **envp, const char *v[MV__MAX])
{
	const char	*e, *eq;
	size_t		 i, n;

	memset(v, 0, sizeof(*v) * MV__MAX);
	if (envp == NULL)
		return;
	for (; *envp != NULL; envp++) {
		e = *envp;
		if ((eq = strchr(e, '=')) == NULL)
			continue;
		n = (size_t)(eq - e);
		for (i = 0; i < MV__MAX; i++) {
			/* The first occurrence wins. */
			if (v[i] == NULL && kg_mvars[i].len == n &&
			    memcmp(kg_mvars[i].name, e, n) == 0) {
				v[i] = eq + 1;
				break;
			}
		}
	}
}

static const char *
nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* RFC 9110 tchar. */
static int
is_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
valid_method(const char *s)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= KG_MARSHAL_METHOD_MAX || !is_tchar((unsigned char)s[n]))
			return 0;
	return n > 0;
}

/*
 * Parses a CONTENT_LENGTH: decimal digits only (no sign, no blanks).
 * Returns 0 and sets *out, or -1.
 */
static int
parse_clen(const char *s, long long *out)
{
	unsigned long long	v = 0;
	const unsigned long long max = (unsigned long long)(~0ULL >> 1);

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (unsigned)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = (long long)v;
	return 0;
}

/*
 * Length of base_path without trailing slashes: "/" and "" both mean
 * mounted at the root.
 */
static size_t
base_len(const char *base)
{
	size_t	n = base != NULL ? strlen(base) : 0;

	while (n > 0 && base[n - 1] == '/')
		n--;
	return n;
}

/*
 * Appends [p, p + n) to the path buffer as the routed path: base_path
 * removed when it is a whole-segment prefix, a leading '/' ensured.
 */
static enum kg_err
path_build(struct kg_buf *out, const char *p, size_t n, const char *base,
    size_t bl)
{
	enum kg_err	r;

	if (bl > 0 && n >= bl && memcmp(p, base, bl) == 0 &&
	    (n == bl || p[bl] == '/')) {
		p += bl;
		n -= bl;
	}
	kg_buf_reset(out);
	if (n == 0 || p[0] != '/')
		if ((r = kg_buf_append(out, "/", 1)) != KG_OK)
			return r;
	return kg_buf_append(out, p, n);
}

/* The path rule of marshal.h. */
static enum kg_err
marshal_path(struct kg_marshal *m, const char *v[MV__MAX], const char *base)
{
	const char	*pi = nonempty(v[MV_PATH_INFO]);
	const char	*uri = nonempty(v[MV_REQUEST_URI]);
	const char	*sn = v[MV_SCRIPT_NAME] != NULL ? v[MV_SCRIPT_NAME] : "";
	size_t		 bl = base_len(base);

	/* The server's split is trusted only relative to our mount point. */
	if (pi != NULL && strlen(sn) == bl && memcmp(sn, base, bl) == 0)
		return path_build(&m->m_path, pi, strlen(pi), "", 0);
	if (uri != NULL)
		return path_build(&m->m_path, uri, strcspn(uri, "?#"), base, bl);
	if (pi != NULL)
		return path_build(&m->m_path, pi, strlen(pi), "", 0);
	return path_build(&m->m_path, sn, strlen(sn), base, bl);
}

/*
 * Reads the body: at most max_body + 1 bytes, so that one byte too many
 * is seen without buffering an unbounded body.
 */
static enum kg_err
marshal_body(struct kg_marshal *m, kg_marshal_read_fn rd, void *arg,
    size_t max_body, size_t *total)
{
	struct kg_buf	*b = &m->m_body;
	size_t		 limit, want;
	ssize_t		 n;
	enum kg_err	 r;

	limit = max_body < SIZE_MAX - 1 ? max_body + 1 : SIZE_MAX - 1;
	/* CONTENT_LENGTH is a hint for one allocation instead of several. */
	if (m->m_clen > 0 && (unsigned long long)m->m_clen < limit)
		if ((r = kg_buf_reserve(b, (size_t)m->m_clen)) != KG_OK)
			return r;
	while (b->b_len < limit) {
		want = limit - b->b_len;
		if (want > KG_MARSHAL_CHUNK)
			want = KG_MARSHAL_CHUNK;
		if ((r = kg_buf_reserve(b, want)) != KG_OK)
			return r;
		n = rd(arg, b->b_data + b->b_len, want);
		if (n < 0 || (size_t)n > want) {
			b->b_data[b->b_len] = '\0';
			return KG_ERR_IO;
		}
		if (n == 0)
			break;
		b->b_len += (size_t)n;
	}
	if (b->b_data != NULL)
		b->b_data[b->b_len] = '\0';
	*total = b->b_len;
	return KG_OK;
}

/* Forgets the previous request's body; it may have held a credential. */
static void
marshal_wipe(struct kg_marshal *m)
{
	if (m->m_body.b_data != NULL && m->m_body.b_len > 0)
		explicit_bzero(m->m_body.b_data, m->m_body.b_len);
	kg_buf_reset(&m->m_body);
	kg_buf_reset(&m->m_path);
	m->m_reason = NULL;
	m->m_clen = -1;
}

enum kg_err
kg_marshal_request(struct kg_marshal *m, char **envp, kg_marshal_read_fn rd,
    void *arg, const char *base_path, size_t max_body, struct kg_request *req)
{
	const char	*v[MV__MAX], *role, *clen;
	size_t		 total = 0;
	enum kg_err	 r = KG_ERR_INTERNAL;

	marshal_wipe(m);
	memset(req, 0, sizeof(*req));
	req->method = "-";
	req->path = "/";
	req->query = "";
	req->remote_addr = "";
	req->body = "";
	req->role = KG_ROLE_RESPONDER;
	if (base_path == NULL)
		base_path = "";

	marshal_scan(envp, v);

	/* Fields that cannot be malformed first, so a refusal can be logged. */
	if (v[MV_REMOTE_ADDR] != NULL)
		req->remote_addr = v[MV_REMOTE_ADDR];
	if ((r = marshal_path(m, v, base_path)) != KG_OK)
		goto out;
	req->path = kg_buf_str(&m->m_path);
	if (v[MV_QUERY] != NULL)
		req->query = v[MV_QUERY];

	if (v[MV_METHOD] == NULL || !valid_method(v[MV_METHOD])) {
		m->m_reason = "The request has no valid method.";
		r = KG_ERR_INVALID;
		goto out;
	}
	req->method = v[MV_METHOD];

	role = nonempty(v[MV_ROLE]);
	if (role == NULL || strcmp(role, "RESPONDER") == 0)
		req->role = KG_ROLE_RESPONDER;
	else if (strcmp(role, "AUTHORIZER") == 0)
		req->role = KG_ROLE_AUTHORIZER;
	else {
		m->m_reason = "This FastCGI role is not supported.";
		r = KG_ERR_INVALID;
		goto out;
	}

	req->authorization = nonempty(v[MV_AUTHORIZATION]);
	if (req->authorization == NULL)
		req->authorization = nonempty(v[MV_REDIRECT_AUTHORIZATION]);
	req->x_api_key = nonempty(v[MV_X_API_KEY]);
	req->content_type = nonempty(v[MV_CONTENT_TYPE]);
	req->x_namespace = nonempty(v[MV_NAMESPACE]);

	if (req->role == KG_ROLE_AUTHORIZER) {
		/*
		 * The web server sends an authorizer neither CONTENT_LENGTH
		 * nor a body (FastCGI 1.0, 6.3); the original request's body
		 * belongs to the application behind it.
		 *
		 * A requirement set to "" is kept as "", not dropped: an
		 * empty value is a broken configuration (a template variable
		 * that expanded to nothing), and the decision refuses it
		 * rather than granting any credential.
		 */
		req->require_scope = v[MV_REQUIRE_SCOPE];
		req->require_project = v[MV_REQUIRE_PROJECT];
		req->require_namespace = v[MV_REQUIRE_NAMESPACE];
		r = KG_OK;
		goto out;
	}

	clen = nonempty(v[MV_CONTENT_LENGTH]);
	if (clen != NULL && parse_clen(clen, &m->m_clen) == -1) {
		m->m_reason = "The Content-Length is not a valid number.";
		r = KG_ERR_INVALID;
		goto out;
	}
	if (m->m_clen >= 0 && (unsigned long long)m->m_clen > max_body) {
		/* Refused on the declaration alone: nothing is read. */
		req->body_too_large = 1;
		r = KG_OK;
		goto out;
	}

	if ((r = marshal_body(m, rd, arg, max_body, &total)) != KG_OK) {
		if (r == KG_ERR_IO)
			m->m_reason = "The request body could not be read.";
		goto out;
	}
	if (total > max_body) {
		/* The declaration lied, or there was none: what was read
		 * is not handed to core. */
		req->body_too_large = 1;
		r = KG_OK;
		goto out;
	}
	if (m->m_clen >= 0 && (unsigned long long)m->m_clen != total) {
		m->m_reason = "The request body does not match its Content-Length.";
		r = KG_ERR_INVALID;
		goto out;
	}
	req->body = kg_buf_str(&m->m_body);
	req->body_len = total;
	r = KG_OK;
 out:
	return r;
}

size_t
kg_marshal_drain(kg_marshal_read_fn rd, void *arg, size_t limit)
{
	char	buf[4096];
	size_t	done = 0, want;
	ssize_t	n;

	while (done < limit) {
		want = limit - done < sizeof(buf) ? limit - done : sizeof(buf);
		if ((n = rd(arg, buf, want)) <= 0 || (size_t)n > want)
			break;
		done += (size_t)n;
	}
	explicit_bzero(buf, sizeof(buf));
	return done;
}

const char *
kg_marshal_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	}
	switch (status / 100) {
	case 1: return "Informational";
	case 2: return "Success";
	case 3: return "Redirection";
	case 4: return "Client Error";
	default: return "Server Error";
	}
}

static int
valid_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* A header value's length up to the first NUL, CR or LF: a value never
 * carries a line break (response splitting). */
static size_t
value_len(const char *v, size_t max)
{
	size_t	n;

	for (n = 0; n < max && v[n] != '\0' && v[n] != '\r' && v[n] != '\n';
	    n++)
		;
	return n;
}

/* "X-Keygate-Foo-Bar" -> "Variable-KEYGATE_FOO_BAR" */
static enum kg_err
put_variable_name(struct kg_buf *out, const char *suffix)
{
	enum kg_err	r;
	char		c;

	if ((r = kg_buf_puts(out, "Variable-KEYGATE_")) != KG_OK)
		return r;
	for (; *suffix != '\0'; suffix++) {
		c = *suffix;
		if (c == '-')
			c = '_';
		else if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if ((r = kg_buf_append(out, &c, 1)) != KG_OK)
			return r;
	}
	return KG_OK;
}

#define KG_VARIABLE_PREFIX	"X-Keygate-"

enum kg_err
kg_marshal_response(const struct kg_response *resp, enum kg_role role,
    struct kg_buf *out, int *with_body)
{
	const struct kg_header	*h;
	const size_t		 plen = sizeof(KG_VARIABLE_PREFIX) - 1;
	int			 status = resp->status;
	size_t			 i;
	enum kg_err		 r = KG_ERR_INTERNAL;

	*with_body = 0;
	kg_buf_reset(out);
	if (status < 100 || status > 599)
		status = 500;
	if (role == KG_ROLE_AUTHORIZER && status / 100 == 2)
		status = 200;
	/* Appends, not printf: this runs for every request (callgrind:
	 * two kg_buf_printf calls were a quarter of a /health). */
	if ((r = kg_buf_puts(out, "Status: ")) != KG_OK ||
	    (r = kg_buf_put_uint(out, (unsigned)status)) != KG_OK ||
	    (r = kg_buf_puts(out, " ")) != KG_OK ||
	    (r = kg_buf_puts(out, kg_marshal_reason(status))) != KG_OK ||
	    (r = kg_buf_puts(out, "\r\n")) != KG_OK)
		goto out;
	if (resp->content_type != NULL && status != 204 && status != 304) {
		if ((r = kg_buf_puts(out, "Content-Type: ")) != KG_OK ||
		    (r = kg_buf_puts(out, resp->content_type)) != KG_OK ||
		    (r = kg_buf_puts(out, "\r\nContent-Length: ")) != KG_OK ||
		    (r = kg_buf_put_uint(out, resp->body.b_len)) != KG_OK ||
		    (r = kg_buf_puts(out, "\r\n")) != KG_OK)
			goto out;
		*with_body = resp->body.b_len > 0;
	}
	if ((r = kg_buf_puts(out, "X-Content-Type-Options: nosniff\r\n")) !=
	    KG_OK)
		goto out;
	if (resp->no_store &&
	    (r = kg_buf_puts(out, "Cache-Control: no-store\r\n")) != KG_OK)
		goto out;
	for (i = 0; i < resp->nheaders && i < KG_RESP_MAX_HEADERS; i++) {
		h = &resp->headers[i];
		if (h->h_name == NULL || !valid_token(h->h_name))
			continue;
		if (role == KG_ROLE_AUTHORIZER &&
		    strncasecmp(h->h_name, KG_VARIABLE_PREFIX, plen) == 0 &&
		    h->h_name[plen] != '\0')
			r = put_variable_name(out, h->h_name + plen);
		else
			r = kg_buf_puts(out, h->h_name);
		if (r != KG_OK ||
		    (r = kg_buf_puts(out, ": ")) != KG_OK ||
		    (r = kg_buf_append(out, h->h_value,
		    value_len(h->h_value, sizeof(h->h_value)))) != KG_OK ||
		    (r = kg_buf_puts(out, "\r\n")) != KG_OK)
			goto out;
	}
	r = kg_buf_puts(out, "\r\n");
 out:
	if (r != KG_OK) {
		kg_buf_reset(out);
		*with_body = 0;
	}
	return r;
}

const char *
kg_marshal_getenv(char **envp, const char *name)
{
	size_t	n = strlen(name);

	if (envp == NULL)
		return NULL;
	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

void
kg_marshal_free(struct kg_marshal *m)
{
	kg_buf_free(&m->m_body);
	kg_buf_free(&m->m_path);
	m->m_reason = NULL;
	m->m_clen = -1;
}
