/*
 * marshal.h: CGI/FastCGI parameters and body -> struct kg_request.
 *
 * Pure code: no libfcgi, no globals, no I/O except through the caller's
 * reader, so the unit tests drive it with an environment array and a fake
 * reader, and the worker and the plain-CGI path share it.
 *
 * Which variables, and why (see kg_marshal_request for the exact rules):
 *   method   REQUEST_METHOD (missing, empty or not an HTTP token: 400)
 *   path     PATH_INFO only when the server's SCRIPT_NAME equals base_path,
 *            otherwise REQUEST_URI (raw, not percent-decoded) minus
 *            '?query' minus base_path at a segment boundary, else
 *            PATH_INFO, else SCRIPT_NAME minus base_path, else "/".
 *            lighttpd splits SCRIPT_NAME/PATH_INFO at the first path
 *            segment when a prefix mount has check-local disabled ("/" mount:
 *            /v1/keys/x -> SCRIPT_NAME=/v1 PATH_INFO=/keys/x; "/auth" mount
 *            also serves /authx/y as SCRIPT_NAME=/authx PATH_INFO=/y), so a
 *            PATH_INFO is only trusted when it is relative to the mount
 *            point the operator configured.
 *   query    QUERY_STRING or ""
 *   headers  HTTP_AUTHORIZATION (else REDIRECT_HTTP_AUTHORIZATION, which
 *            Apache produces from the usual SetEnvIf/RewriteRule work-around
 *            for stripping Authorization), HTTP_X_API_KEY, CONTENT_TYPE,
 *            HTTP_X_KEYGATE_NAMESPACE, REMOTE_ADDR.  Empty values count as
 *            absent (nginx sends CONTENT_TYPE and CONTENT_LENGTH empty).
 *   role     FCGI_ROLE: RESPONDER (or unset: CGI) / AUTHORIZER; FILTER and
 *            anything else is refused.  In the authorizer role
 *            KEYGATE_REQUIRE_SCOPE / KEYGATE_REQUIRE_PROJECT /
 *            KEYGATE_REQUIRE_NAMESPACE are picked up as they are: an
 *            empty one is kept as "" (never "no requirement"), so the
 *            decision refuses it as malformed; and no body is read (the
 *            FastCGI spec sends none).
 *   body     CONTENT_LENGTH (digits only; empty = absent).
 * When a name occurs twice the first one counts: libfcgi puts FCGI_ROLE,
 * taken from the FastCGI record that begins the request, first, so a
 * parameter named FCGI_ROLE cannot change the role.
 */
#ifndef KG_MARSHAL_H
#define KG_MARSHAL_H

#include <stddef.h>
#include <sys/types.h>

#include "core/api/http.h"
#include "core/base/buf.h"
#include "core/base/err.h"

/*
 * Reads up to len bytes of the request body into buf.  Returns the number
 * of bytes read (at most len), 0 at the end of the body, -1 on error.
 */
typedef ssize_t	(*kg_marshal_read_fn)(void *arg, char *buf, size_t len);

/*
 * Per-worker storage the request's strings point into.  Allocations are
 * kept across requests, so a warm worker marshals without malloc.
 */
struct kg_marshal {
	struct kg_buf	 m_path;	/* derived path when it is not a param */
	struct kg_buf	 m_body;	/* the body, NUL-terminated */
	const char	*m_reason;	/* static: why the last request was refused */
	long long	 m_clen;	/* CONTENT_LENGTH, -1 when absent; set
					 * before the reader is first called,
					 * so a CGI reader can stop there */
};

#define KG_MARSHAL_INIT	{ KG_BUF_INIT, KG_BUF_INIT, NULL, -1 }

/*
 * Fills *req from envp (a NULL-terminated "NAME=value" array) and, unless
 * the role is authorizer or CONTENT_LENGTH alone already exceeds max_body,
 * from the body reader.  base_path is "" or "/prefix" without a trailing
 * slash.
 *
 * Returns:
 *   KG_OK           req is complete; req->body_too_large is set when the body
 *                   exceeds max_body (by CONTENT_LENGTH, then without calling
 *                   the reader; or by the bytes actually read, then after
 *                   reading at most max_body + 1 bytes).  The router answers
 *                   413 for it.
 *   KG_ERR_INVALID  the request is malformed (no REQUEST_METHOD, a
 *                   CONTENT_LENGTH that is not a decimal number or
 *                   overflows, a body shorter or longer than CONTENT_LENGTH,
 *                   an unsupported FastCGI role): the caller answers 400
 *                   without dispatching; m->m_reason says why.
 *   KG_ERR_IO       the reader failed (the client went away): answer 400.
 *   KG_ERR_NOMEM    allocation failed: answer 500.
 * Whatever it returns, every string field of *req is non-NULL where
 * http.h promises so, so the caller can log the request.
 *
 * The strings of *req point into envp and into m; they stay valid until
 * the next call with m, kg_marshal_free(m), or until envp is freed.
 */
enum kg_err	 kg_marshal_request(struct kg_marshal *m, char **envp,
		    kg_marshal_read_fn rd, void *arg, const char *base_path,
		    size_t max_body, struct kg_request *req);

/*
 * Reads and discards what is left of the body, at most limit bytes, so
 * that closing the connection does not reset it under an answer the web
 * server is still reading.  Returns the number of bytes discarded; stops
 * early at end of body or on error.  Uses no heap.
 */
size_t		 kg_marshal_drain(kg_marshal_read_fn rd, void *arg, size_t limit);

/*
 * Looks name up in envp.  Returns its value (pointing into envp) or NULL.
 */
const char	*kg_marshal_getenv(char **envp, const char *name);

/*
 * Renders the CGI response head of resp into out (reset first, its
 * allocation kept): "Status: N reason", Content-Type and Content-Length
 * when there is a body, X-Content-Type-Options: nosniff always,
 * Cache-Control: no-store when resp->no_store, every header of resp, and
 * the blank line.  In the authorizer role a 2xx becomes 200 (the only
 * status that grants, FastCGI 1.0 6.3) and each X-Keygate-Foo-Bar header
 * is written as Variable-KEYGATE_FOO_BAR.  A status outside 100..599 is
 * written as 500.  Header names that are not HTTP tokens are skipped and
 * values end at the first CR or LF.
 *
 * Sets *with_body to 1 when the caller must write resp->body after the
 * head (never for 204 and 304).  Returns KG_OK or KG_ERR_NOMEM.
 */
enum kg_err	 kg_marshal_response(const struct kg_response *resp,
		    enum kg_role role, struct kg_buf *out, int *with_body);

/* Returns the reason phrase of an HTTP status; never NULL. */
const char	*kg_marshal_reason(int status);

/* Wipes and frees m's buffers; m may be reused afterwards. */
void		 kg_marshal_free(struct kg_marshal *m);

#endif
