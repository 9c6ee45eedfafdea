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
#include "core/base/err.h"

/* Exit statuses of a worker, read by the master. */
#define KG_WORKER_EXIT_OK	0	/* drained after SIGTERM, or recycled */
#define KG_WORKER_EXIT_FAIL	1	/* could not start, or accept failed */

/*
 * Bytes of an unread request body a worker reads and discards after its
 * answer, so that closing the connection does not reset the answer away.
 */
#define KG_WORKER_DRAIN_MAX	(1024 * 1024)

/*
 * Seconds a worker waits for the web server on a FastCGI connection: for
 * each read of the request body and each write of the answer, and from
 * the accept to the last parameter.  Then the request fails (like one
 * whose client went away), the connection is closed, and the worker takes
 * the next one.  Not a configuration key: every web server sends the
 * parameters at once and passes the body on as it arrives, so 30 s between
 * two reads only ends connections that are stuck.  The environment
 * variable KG_WORKER_IO_TIMEOUT_ENV (whole seconds, 1 to
 * KG_WORKER_IO_TIMEOUT_MAX), read once at start, overrides it, for tests.
 */
#define KG_WORKER_IO_TIMEOUT		30
#define KG_WORKER_IO_TIMEOUT_MAX	3600
#define KG_WORKER_IO_TIMEOUT_ENV	"KEYGATE_FCGI_IO_TIMEOUT"

/*
 * The whole request body must arrive within this many I/O timeouts (2
 * minutes by default: at least 546 bytes/s for a 64 KiB body), not only
 * each read within one: else a client that sends a byte just before each
 * read times out holds a worker for days, through any web server that
 * streams bodies to the application.
 */
#define KG_WORKER_BODY_TIMEOUTS		4

/*
 * Sets the I/O timeout of the workers forked from now on: the value of the
 * environment variable KG_WORKER_IO_TIMEOUT_ENV when it is set, else
 * KG_WORKER_IO_TIMEOUT.  Returns KG_OK and the timeout in *secs (when
 * secs is not NULL), or KG_ERR_INVALID (logged, nothing changed) when the
 * variable is not a whole number of seconds in range.
 */
enum kg_err	kg_worker_io_timeout_init(int *secs);

/*
 * Runs the worker loop in a child of the master: sets PR_SET_NO_NEW_PRIVS
 * and a parent-death signal, creates the context, then accepts and serves
 * requests on listen_fd (which the master made non-blocking), one request
 * per connection and each read and write bounded by the I/O timeout, until
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
