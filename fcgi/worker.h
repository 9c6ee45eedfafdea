/*
 * worker.h: one worker process, and the plain-CGI single request.
 *
 * A worker owns one struct kg_ctx (so one database connection), one
 * FCGX_Request over the listening socket it shares with its siblings, and
 * buffers reused across requests.  It is only ever started by the master
 * (fcgi/master.c) in a freshly forked child.
 */
#ifndef KG_WORKER_H
#define KG_WORKER_H

#include <sys/types.h>

#include "core/base/config.h"

/* Exit statuses of a worker, read by the master. */
#define KG_WORKER_EXIT_OK	0	/* drained after SIGTERM, or recycled */
#define KG_WORKER_EXIT_FAIL	1	/* could not start, or accept failed */

/*
 * Bytes of an unread request body a worker reads and discards after its
 * answer, so that closing the connection does not reset the answer away.
 */
#define KG_WORKER_DRAIN_MAX	(1024 * 1024)

/*
 * Runs the worker loop in a child of the master: sets PR_SET_NO_NEW_PRIVS
 * and a parent-death signal, creates the context, then accepts and serves
 * requests on listen_fd (which the master made non-blocking) until
 * SIGTERM/SIGINT (the request in progress is finished and answered first),
 * until cfg->max_requests_per_worker requests were served, or until the
 * master (master_pid) is gone.
 *
 * Returns the process exit status (KG_WORKER_EXIT_*); the caller _exit()s
 * with it.  cfg must stay valid for the whole call.
 */
int	kg_worker_run(const struct kg_config *cfg, int listen_fd,
	    pid_t master_pid);

/*
 * Serves exactly one CGI/1.1 request: parameters from environ, the body
 * from stdin (at most CONTENT_LENGTH bytes, as RFC 3875 requires), the
 * response to stdout as "Status:" + headers + body.  Returns the process
 * exit status: 0 when a response was written (whatever its HTTP status),
 * 1 when it could not be.
 */
int	kg_worker_cgi(const struct kg_config *cfg);

#endif
