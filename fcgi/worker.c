/*
 * worker.c: the worker loop (FastCGI) and the plain-CGI single request.
 *
 * Signals.  SIGTERM, SIGINT (and libfcgi's SIGUSR1) only set a flag and
 * tell libfcgi through FCGX_ShutdownPending(); they are installed without
 * SA_RESTART.  They are kept blocked except while the worker waits for a
 * connection in ppoll(), which unblocks them atomically.  So:
 *   - an idle worker wakes at once (ppoll returns EINTR) and exits;
 *   - a worker in the middle of a request never sees EINTR in a read or
 *     write of the FastCGI connection (libfcgi treats EINTR there as a
 *     stream error and would lose the request): it finishes, answers, and
 *     exits at the top of the loop;
 *   - there is no window between "check the flag" and "block in accept()"
 *     in which a SIGTERM is lost (libfcgi's own accept loop has one).
 * Because several workers wait on the same socket, the master makes it
 * non-blocking: the workers that lose the race for a connection get EAGAIN
 * from libfcgi's accept and go back to ppoll() instead of blocking in
 * accept() with SIGTERM blocked.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/api/ctx.h"
#include "core/api/http.h"
#include "core/api/router.h"
#include "core/base/buf.h"
#include "core/base/log.h"
#include "fcgi/marshal.h"
#include "fcgi/worker.h"

static volatile sig_atomic_t	 worker_stop;

static void
worker_on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
	/* Only sets a flag inside libfcgi: safe in a handler. */
	FCGX_ShutdownPending();
}

/* Per-worker state kept across requests. */
struct kg_wstate {
	const struct kg_config	*ws_cfg;
	struct kg_ctx		 ws_ctx;
	struct kg_marshal	 ws_m;
	struct kg_response	 ws_resp;
	struct kg_buf		 ws_head;
	pid_t			 ws_pid;
	/* What the access line needs once the request (and with it the
	 * FastCGI parameters) is gone. */
	char			 ws_method[32];
	const char		*ws_path;	/* static, or into ws_m */
};

static long long
elapsed_us(const struct timespec *t0)
{
	struct timespec	t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long long)(t1.tv_sec - t0->tv_sec) * 1000000LL +
	    (t1.tv_nsec - t0->tv_nsec) / 1000;
}

/*
 * Turns a marshalled request into a response: dispatch when marshalling
 * succeeded, else the error it stands for.  One renderer for both.
 */
static void
worker_answer(struct kg_wstate *ws, enum kg_err e, const struct kg_request *req)
{
	struct kg_response	*resp = &ws->ws_resp;

	if (e == KG_OK) {
		kg_dispatch(&ws->ws_ctx, req, resp);
		return;
	}
	kg_resp_reset(resp);
	if (e == KG_ERR_INVALID || e == KG_ERR_IO)
		kg_resp_error(resp, 400, "invalid_request",
		    ws->ws_m.m_reason != NULL ? ws->ws_m.m_reason :
		    "The request is invalid.");
	else
		kg_resp_from_err(resp, e);
}

/* ------------------------------------------------------------ FastCGI */

static ssize_t
fcgx_read(void *arg, char *buf, size_t len)
{
	FCGX_Stream	*in = arg;
	int		 n, want = len > INT_MAX ? INT_MAX : (int)len;

	n = FCGX_GetStr(buf, want, in);
	if (n < 0 || (n < want && FCGX_GetError(in) != 0))
		return -1;
	return n;
}

/*
 * Serves the accepted request fr up to the last byte written; the caller
 * finishes it.  Leaves in ws what the access line needs.
 */
static void
worker_serve(struct kg_wstate *ws, FCGX_Request *fr)
{
	const struct kg_config	*cfg = ws->ws_cfg;
	struct kg_request	 req;
	enum kg_err		 e;
	int			 with_body = 0;

	e = kg_marshal_request(&ws->ws_m, fr->envp, fcgx_read, fr->in,
	    cfg->base_path, cfg->max_body, &req);
	snprintf(ws->ws_method, sizeof(ws->ws_method), "%s", req.method);
	ws->ws_path = req.path;
	worker_answer(ws, e, &req);

	if (kg_marshal_response(&ws->ws_resp, req.role, &ws->ws_head,
	    &with_body) != KG_OK) {
		/* Out of memory for a few hundred bytes: a bare 500. */
		FCGX_PutS("Status: 500 Internal Server Error\r\n"
		    "X-Content-Type-Options: nosniff\r\n\r\n", fr->out);
		ws->ws_resp.status = 500;
	} else if (FCGX_PutStr(ws->ws_head.b_data, (int)ws->ws_head.b_len,
	    fr->out) < 0 || (with_body && FCGX_PutStr(ws->ws_resp.body.b_data,
	    (int)ws->ws_resp.body.b_len, fr->out) < 0))
		kg_log_debug("client went away before the response was written");

	/*
	 * The body was not read to its end: send the answer, then read and
	 * drop (bounded) what the web server still sends, so the close does
	 * not reset the connection under the answer.
	 */
	if (req.role != KG_ROLE_AUTHORIZER && (e != KG_OK ||
	    req.body_too_large)) {
		FCGX_FFlush(fr->out);
		kg_marshal_drain(fcgx_read, fr->in, KG_WORKER_DRAIN_MAX);
	}
}

/*
 * Installs the worker's signal dispositions and mask: SIGTERM, SIGINT and
 * SIGUSR1 blocked, everything unblocked in *waitmask (the mask ppoll waits
 * with).
 * The master forks with its signals blocked, so nothing that arrived
 * since the fork ran a handler of the master's.
 */
static int
worker_signals(sigset_t *waitmask)
{
	struct sigaction	sa;
	sigset_t		term;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigaddset(&term, SIGUSR1);

	memset(&sa, 0, sizeof(sa));
	sa.sa_mask = term;
	sa.sa_flags = 0;	/* no SA_RESTART: ppoll must return EINTR */
	sa.sa_handler = worker_on_term;
	/*
	 * SIGUSR1 is libfcgi's "graceful shutdown"; handled here like
	 * SIGTERM, because libfcgi's own handler would make every later
	 * accept fail without telling the loop why.
	 */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGUSR1, &sa, NULL) == -1)
		return -1;

	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	/* The master reloads on SIGHUP; a terminal hangup reaches the whole
	 * process group, and workers carry on until the master decides. */
	if (sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    sigaction(SIGALRM, &sa, NULL) == -1)
		return -1;

	sigemptyset(waitmask);
	return sigprocmask(SIG_SETMASK, &term, NULL);
}

int
kg_worker_run(const struct kg_config *cfg, int listen_fd, pid_t master_pid)
{
	struct kg_wstate	 ws;
	FCGX_Request		 fr;
	struct pollfd		 pfd;
	struct timespec		 t0;
	sigset_t		 waitmask;
	long			 served = 0;
	int			 r = KG_WORKER_EXIT_FAIL, ctx_ok = 0, fr_ok = 0;
	int			 rc;

	memset(&ws, 0, sizeof(ws));
	ws.ws_cfg = cfg;
	ws.ws_m = (struct kg_marshal)KG_MARSHAL_INIT;
	ws.ws_pid = getpid();
	memset(&fr, 0, sizeof(fr));

	if (worker_signals(&waitmask) == -1) {
		kg_log_error("signal setup: %s", strerror(errno));
		goto out;
	}
	/* No execve() here can ever gain privileges (STYLE 9). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		kg_log_error("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		goto out;
	}
	/* A worker never outlives its master: it drains and exits. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == -1) {
		kg_log_error("PR_SET_PDEATHSIG: %s", strerror(errno));
		goto out;
	}
	if (getppid() != master_pid) {
		r = KG_WORKER_EXIT_OK;
		goto out;
	}
	if ((rc = FCGX_Init()) != 0 ||
	    (rc = FCGX_InitRequest(&fr, listen_fd, 0)) != 0) {
		kg_log_error("libfcgi initialisation failed (%d)", rc);
		goto out;
	}
	fr_ok = 1;
	/* After fork: the database connection is this process's own. */
	if (kg_ctx_init(&ws.ws_ctx, cfg) != KG_OK) {
		kg_log_error("worker context could not be created");
		goto out;
	}
	ctx_ok = 1;
	kg_log_debug("worker ready");

	while (!worker_stop) {
		if (cfg->max_requests_per_worker > 0 &&
		    served >= cfg->max_requests_per_worker) {
			kg_log_info("recycling after %ld requests", served);
			break;
		}
		/*
		 * When the web server asked to keep the connection
		 * (FCGI_KEEP_CONN: nginx fastcgi_keep_conn, Apache
		 * enablereuse), libfcgi reads the next request from it
		 * instead of accepting: wait on that connection then.
		 * ipcFd is outside libfcgi's documented fields, read only.
		 */
		pfd.fd = fr.ipcFd >= 0 ? fr.ipcFd : listen_fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (ppoll(&pfd, 1, NULL, &waitmask) == -1) {
			if (errno == EINTR)
				continue;
			kg_log_error("poll on the listening socket: %s",
			    strerror(errno));
			goto out;
		}
		if (worker_stop)
			break;
		if (pfd.fd == listen_fd &&
		    (pfd.revents & (POLLERR | POLLNVAL)) != 0) {
			kg_log_error("the listening socket is not usable");
			goto out;
		}
		/* The request's time includes reading its parameters. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* libfcgi reports some failures with a stale errno. */
		errno = 0;
		rc = FCGX_Accept_r(&fr);
		if (rc < 0) {
			/* A sibling took the connection, or the web server
			 * gave up on it: wait for the next one. */
			if (rc == -EAGAIN || rc == -EWOULDBLOCK ||
			    rc == -EINTR || rc == -ECONNABORTED)
				continue;
			kg_log_error("accept failed: %s", rc > -4096 ?
			    strerror(-rc) : "libfcgi error");
			goto out;
		}
		worker_serve(&ws, &fr);
		/* Flushes the answer and ends the request while SIGTERM is
		 * still blocked; the log line waits until the answer left. */
		FCGX_Finish_r(&fr);
		served++;
		if (cfg->access_log)
			kg_log_access(ws.ws_method, ws.ws_path,
			    ws.ws_resp.status, elapsed_us(&t0), (int)ws.ws_pid);
	}
	if (worker_stop)
		kg_log_debug("stopping after %ld requests", served);
	r = KG_WORKER_EXIT_OK;
 out:
	/* Every request was finished (and its connection closed) above. */
	if (fr_ok)
		FCGX_Free(&fr, 0);
	if (ctx_ok)
		kg_ctx_free(&ws.ws_ctx);
	kg_marshal_free(&ws.ws_m);
	kg_resp_free(&ws.ws_resp);
	kg_buf_free(&ws.ws_head);
	return r;
}

/* ---------------------------------------------------------------- CGI */

/* stdin of a CGI request: never more than CONTENT_LENGTH bytes. */
struct cgi_in {
	const struct kg_marshal	*ci_m;
	unsigned long long	 ci_done;
};

static ssize_t
cgi_read(void *arg, char *buf, size_t len)
{
	struct cgi_in		*ci = arg;
	unsigned long long	 left;
	ssize_t			 n;

	/* m_clen is parsed before the first read; without a
	 * CONTENT_LENGTH a CGI request has no body (RFC 3875 4.2). */
	if (ci->ci_m->m_clen < 0)
		return 0;
	left = (unsigned long long)ci->ci_m->m_clen - ci->ci_done;
	if (left == 0)
		return 0;
	if (len > left)
		len = (size_t)left;
	do
		n = read(STDIN_FILENO, buf, len);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		ci->ci_done += (unsigned long long)n;
	return n;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

extern char	**environ;

int
kg_worker_cgi(const struct kg_config *cfg)
{
	struct kg_wstate	 ws;
	struct kg_request	 req;
	struct cgi_in		 ci;
	struct timespec		 t0;
	struct sigaction	 sa;
	enum kg_err		 e;
	int			 r = 1, ctx_ok = 0, with_body = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&ws, 0, sizeof(ws));
	ws.ws_cfg = cfg;
	ws.ws_m = (struct kg_marshal)KG_MARSHAL_INIT;
	ws.ws_pid = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		kg_log_error("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		goto out;
	}
	if (kg_ctx_init(&ws.ws_ctx, cfg) == KG_OK) {
		ctx_ok = 1;
		ci.ci_m = &ws.ws_m;
		ci.ci_done = 0;
		e = kg_marshal_request(&ws.ws_m, environ, cgi_read, &ci,
		    cfg->base_path, cfg->max_body, &req);
		worker_answer(&ws, e, &req);
	} else {
		/* Still answer, so the web server shows a clean 500. */
		kg_log_error("context could not be created");
		memset(&req, 0, sizeof(req));
		req.method = "-";
		req.path = "/";
		req.role = KG_ROLE_RESPONDER;
		kg_resp_reset(&ws.ws_resp);
		kg_resp_from_err(&ws.ws_resp, KG_ERR_INTERNAL);
	}

	if (kg_marshal_response(&ws.ws_resp, req.role, &ws.ws_head,
	    &with_body) != KG_OK)
		goto out;
	if (write_all(STDOUT_FILENO, ws.ws_head.b_data, ws.ws_head.b_len) ==
	    -1 || (with_body && write_all(STDOUT_FILENO,
	    ws.ws_resp.body.b_data, ws.ws_resp.body.b_len) == -1)) {
		kg_log_warn("the response could not be written: %s",
		    strerror(errno));
		goto out;
	}
	if (cfg->access_log)
		kg_log_access(req.method, req.path, ws.ws_resp.status,
		    elapsed_us(&t0), (int)ws.ws_pid);
	r = 0;
 out:
	if (ctx_ok)
		kg_ctx_free(&ws.ws_ctx);
	kg_marshal_free(&ws.ws_m);
	kg_resp_free(&ws.ws_resp);
	kg_buf_free(&ws.ws_head);
	return r;
}
