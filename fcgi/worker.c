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
 *
 * One request per connection.  A web server that asks to keep the
 * connection (FCGI_KEEP_CONN: nginx fastcgi_keep_conn, Apache
 * mod_proxy_fcgi) still has it closed right after the answer.  A worker
 * serves one connection at a time, so a connection it kept would pin it:
 * either it waits on that connection alone and a new one is never
 * accepted (with fewer workers than the web server's connections, requests
 * hang until the web server gives up), or it has to close the idle
 * connection whenever another arrives, which is the same close at a worse
 * moment: later, under load, when the web server may be sending on it.
 * Closed right behind the FCGI_END_REQUEST (worker_conn_close), the web
 * server sees the end of the connection before it could reuse it (nginx
 * checks a connection it caches for a pending close) and connects again,
 * as it does for every request without FCGI_KEEP_CONN.
 *
 * Timeouts.  No read or write of a connection may block a worker for good
 * (a web server or a local client that connects and sends nothing, or
 * stops halfway, would take the worker out of service, and SIGTERM could
 * not drain it):
 *   - from the accept to the last parameter, inside FCGX_Accept_r, the
 *     connection is libfcgi's and its descriptor out of reach: a periodic
 *     ITIMER_REAL interrupts a read that blocks longer than the I/O
 *     timeout (SIGALRM has a handler without SA_RESTART and is never
 *     blocked), libfcgi closes that connection and returns, and the worker
 *     goes back to waiting.  But parameters cut short between two of them
 *     (by the alarm, or by a connection closed early) look complete to
 *     libfcgi: the worker finds the error left on the input stream and
 *     closes the connection unanswered, never deciding on the part that
 *     arrived (an authorizer whose KEYGATE_REQUIRE_SCOPE never came would
 *     grant without it);
 *   - from then on, SO_RCVTIMEO and SO_SNDTIMEO on the connection bound
 *     each read of the body and each write of the answer; a read that
 *     times out fails the request like a client that went away, and the
 *     connection is closed;
 *   - and the body as a whole must arrive within KG_WORKER_BODY_TIMEOUTS
 *     I/O timeouts (a one-shot ITIMER_REAL): a slow but steady upload is
 *     fine, one byte at a time just within each read's timeout (what a
 *     web server that streams bodies passes on from a slow client) is
 *     not.  The drain after an early answer gets one I/O timeout in all.
 * (Setting the options on the listening socket would not do: Linux copies
 * them to accepted TCP sockets, but not to accepted unix sockets.)
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
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
#include "core/base/metrics.h"
#include "fcgi/marshal.h"
#include "fcgi/worker.h"

static volatile sig_atomic_t	 worker_stop;
static volatile sig_atomic_t	 worker_alarm;

/* Seconds; set before the workers are forked (kg_worker_io_timeout_init). */
static int			 worker_io_timeout = KG_WORKER_IO_TIMEOUT;

static void
worker_on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
	/* Only sets a flag inside libfcgi: safe in a handler. */
	FCGX_ShutdownPending();
}

/* Its only job is to interrupt a read that blocks too long (EINTR). */
static void
worker_on_alarm(int sig)
{
	(void)sig;
	worker_alarm = 1;
}

enum kg_err
kg_worker_io_timeout_init(int *secs)
{
	const char	*env = getenv(KG_WORKER_IO_TIMEOUT_ENV);
	char		*end;
	long		 v;

	if (env != NULL) {
		errno = 0;
		v = strtol(env, &end, 10);
		if (env[0] < '0' || env[0] > '9' || *end != '\0' ||
		    errno != 0 || v < 1 || v > KG_WORKER_IO_TIMEOUT_MAX) {
			kg_log_error("%s: expected whole seconds from 1 to %d, "
			    "got \"%s\"", KG_WORKER_IO_TIMEOUT_ENV,
			    KG_WORKER_IO_TIMEOUT_MAX, env);
			return KG_ERR_INVALID;
		}
		worker_io_timeout = (int)v;
	} else
		worker_io_timeout = KG_WORKER_IO_TIMEOUT;
	if (secs != NULL)
		*secs = worker_io_timeout;
	return KG_OK;
}

/*
 * Arms the timer that interrupts, secs seconds from now, the read then
 * blocked (secs 0: disarms it); periodic: again every secs seconds.
 * FCGX_Accept_r runs under a periodic one: libfcgi may go on to accept
 * the next waiting connection in the same call, and that one is bounded
 * by the next tick.
 */
static void
worker_timer(int secs, int periodic)
{
	struct itimerval	it;

	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = secs;
	if (periodic)
		it.it_interval.tv_sec = secs;
	/* Cannot fail with these values. */
	(void)setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * Bounds every later read and write of the accepted connection fd.
 * Returns 0, or -1 (logged) when the socket refused the options.
 */
static int
worker_conn_timeouts(int fd)
{
	struct timeval	tv;

	memset(&tv, 0, sizeof(tv));
	tv.tv_sec = worker_io_timeout;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		kg_log_warn("connection timeouts: %s", strerror(errno));
		return -1;
	}
	return 0;
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
	size_t			 ws_slot;	/* metrics slot (metrics.h) */
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
 * Leaves in ws_slot what the request counts as in the metrics.
 */
static void
worker_answer(struct kg_wstate *ws, enum kg_err e, const struct kg_request *req)
{
	struct kg_response	*resp = &ws->ws_resp;
	size_t			 rt;

	ws->ws_slot = KG_METRICS_SLOT_UNMATCHED;
	if (e == KG_OK) {
		rt = kg_dispatch(&ws->ws_ctx, req, resp);
		if (req->role == KG_ROLE_AUTHORIZER)
			ws->ws_slot = KG_METRICS_SLOT_AUTHORIZER;
		else if (rt != KG_ROUTE_NONE)
			ws->ws_slot = rt < KG_METRICS_ROUTES ? rt :
			    KG_METRICS_SLOT_OTHER;
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

	/* The body in all (see the top of this file); off before core runs. */
	worker_alarm = 0;
	worker_timer(worker_io_timeout * KG_WORKER_BODY_TIMEOUTS, 0);
	e = kg_marshal_request(&ws->ws_m, fr->envp, fcgx_read, fr->in,
	    cfg->base_path, cfg->max_body, &req);
	worker_timer(0, 0);
	if (e == KG_ERR_IO && worker_alarm)
		kg_log_info("closed a request whose body took longer than %d s",
		    worker_io_timeout * KG_WORKER_BODY_TIMEOUTS);
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
		worker_timer(worker_io_timeout, 0);
		kg_marshal_drain(fcgx_read, fr->in, KG_WORKER_DRAIN_MAX);
		worker_timer(0, 0);
	}
}

/*
 * Closes the connection of the finished request fr that libfcgi kept open
 * because the web server asked to keep it (see the top of this file).
 * libfcgi's own close lingers: it shuts down its sending side and reads
 * until the web server closes too, for up to 2 s, so that unread input
 * cannot reset the connection under the answer.  A web server that keeps
 * connections need not close them promptly (a pooled idle connection is
 * not watched), which would stall the worker 2 s per request.  So when all
 * of the input was read (input_done), nothing is left to cause a reset and
 * the connection is closed at once; otherwise libfcgi closes it,
 * lingering.  Either way fr is ready for the next FCGX_Accept_r on
 * listen_fd.
 */
static void
worker_conn_close(FCGX_Request *fr, int listen_fd, int input_done)
{
	if (!input_done) {
		FCGX_Free(fr, 1);
		return;
	}
	if (close(fr->ipcFd) == -1)
		kg_log_debug("close: %s", strerror(errno));
	/* Forgets the descriptor; streams and parameters are freed. */
	(void)FCGX_InitRequest(fr, listen_fd, 0);
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
	if (sigaction(SIGCHLD, &sa, NULL) == -1)
		return -1;
	/* Never blocked; no SA_RESTART, so that it interrupts a read. */
	sa.sa_handler = worker_on_alarm;
	if (sigaction(SIGALRM, &sa, NULL) == -1)
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
	long long		 us;
	long			 served = 0;
	int			 r = KG_WORKER_EXIT_FAIL, ctx_ok = 0, fr_ok = 0;
	int			 rc, input_done;

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
		/* Every connection was closed after its request. */
		pfd.fd = listen_fd;
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
		if ((pfd.revents & (POLLERR | POLLNVAL)) != 0) {
			kg_log_error("the listening socket is not usable");
			goto out;
		}
		/* The request's time includes reading its parameters. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* libfcgi reports some failures with a stale errno. */
		errno = 0;
		worker_alarm = 0;
		worker_timer(worker_io_timeout, 1);
		rc = FCGX_Accept_r(&fr);
		worker_timer(0, 0);
		/* Almost surely: the alarm interrupted a read.  (Logged on
		 * success too: libfcgi then went on to the next connection
		 * within the same call.) */
		if (worker_alarm)
			kg_log_info("closed a connection that sent no "
			    "complete request within %d s", worker_io_timeout);
		if (rc < 0) {
			/* A sibling took the connection, or the web server
			 * gave up on it, or it timed out: wait for the next
			 * one. */
			if (rc == -EAGAIN || rc == -EWOULDBLOCK ||
			    rc == -EINTR || rc == -ECONNABORTED)
				continue;
			kg_log_error("accept failed: %s", rc > -4096 ?
			    strerror(-rc) : "libfcgi error");
			goto out;
		}
		/* Parameters cut short (see the top of this file): nothing
		 * was decided, nothing is answered. */
		if (FCGX_GetError(fr.in) != 0) {
			kg_log_info("closed a connection whose parameters were "
			    "cut short");
			FCGX_Free(&fr, 0);
			worker_conn_close(&fr, listen_fd, 1);
			continue;
		}
		/* ipcFd is outside libfcgi's documented fields: read only.
		 * Without the options the request is still served. */
		(void)worker_conn_timeouts(fr.ipcFd);
		worker_serve(&ws, &fr);
		input_done = FCGX_HasSeenEOF(fr.in) != 0;
		/* Flushes the answer and ends the request while SIGTERM is
		 * still blocked; the log line waits until the answer left.
		 * libfcgi closes the connection, unless the web server
		 * asked to keep it (and nothing failed). */
		FCGX_Finish_r(&fr);
		if (fr.ipcFd >= 0)
			worker_conn_close(&fr, listen_fd, input_done);
		served++;
		us = elapsed_us(&t0);
		kg_metrics_request(ws.ws_slot, ws.ws_resp.status, us);
		if (cfg->access_log)
			kg_log_access(ws.ws_method, ws.ws_path,
			    ws.ws_resp.status, us, (int)ws.ws_pid);
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
	long long		 us;
	int			 r = 1, ctx_ok = 0, with_body = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&ws, 0, sizeof(ws));
	ws.ws_cfg = cfg;
	ws.ws_m = (struct kg_marshal)KG_MARSHAL_INIT;
	ws.ws_pid = getpid();
	ws.ws_slot = KG_METRICS_SLOT_UNMATCHED;
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
	/* Without a master the counters are this process's own and end
	 * with it; counted all the same, so both paths stay alike. */
	us = elapsed_us(&t0);
	kg_metrics_request(ws.ws_slot, ws.ws_resp.status, us);
	if (cfg->access_log)
		kg_log_access(req.method, req.path, ws.ws_resp.status, us,
		    (int)ws.ws_pid);
	r = 0;
 out:
	if (ctx_ok)
		kg_ctx_free(&ws.ws_ctx);
	kg_marshal_free(&ws.ws_m);
	kg_resp_free(&ws.ws_resp);
	kg_buf_free(&ws.ws_head);
	return r;
}
