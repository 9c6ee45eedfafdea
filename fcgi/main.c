/*
 * main.c: keygate-fcgi [-c FILE] [-t] [-v] [-h]
 *
 * Finds out how it was started and runs accordingly:
 *   spawned     fd 0 is a listening socket (mod_fcgid, lighttpd bin-path,
 *               spawn-fcgi): supervise workers on it, 1 by default;
 *   plain CGI   fd 0 is not a listening socket and GATEWAY_INTERFACE is set:
 *               serve exactly one request and exit;
 *   standalone  anything else: bind `listen` and supervise workers on it,
 *               2 by default.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/api/ctx.h"
#include "core/base/config.h"
#include "core/base/log.h"
#include "fcgi/master.h"
#include "fcgi/worker.h"

#ifndef KG_SYSCONFDIR
#define KG_SYSCONFDIR	"/etc"
#endif

#define KG_PROGNAME		"keygate-fcgi"
#define KG_DEFAULT_CONFIG	KG_SYSCONFDIR "/keygate.conf"
#define KG_LISTEN_BACKLOG	1024

/* What the standalone listener created, to clean up at exit. */
struct kg_listener {
	int	 l_fd;
	char	*l_unix_path;	/* NULL unless a unix socket we bound */
	dev_t	 l_dev;
	ino_t	 l_ino;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-c file] [-t] [-v] [-h]\n"
	    "  -c file  configuration file (default: $KEYGATE_CONFIG, else "
	    "%s)\n"
	    "  -t       check the configuration and exit (0 valid, 1 not)\n"
	    "  -v       verbose: debug logging; with -t, print the effective "
	    "configuration\n"
	    "  -h       this help\n"
	    "environment:\n"
	    "  %s  seconds (1-%d, default %d) a worker waits for\n"
	    "                           each read or write on a FastCGI "
	    "connection, and\n"
	    "                           for a new connection's parameters, "
	    "before it\n"
	    "                           closes the connection (for tests)\n",
	    KG_PROGNAME, KG_DEFAULT_CONFIG, KG_WORKER_IO_TIMEOUT_ENV,
	    KG_WORKER_IO_TIMEOUT_MAX, KG_WORKER_IO_TIMEOUT);
}

/*
 * Makes sure fds 0-2 are open, so that no socket or database connection
 * opened later becomes fd 1 or 2 and receives log lines.
 */
static int
fds_sanitize(void)
{
	int	fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			return -1;
	}
	return 0;
}

/* Returns 1 when fd 0 is a listening socket handed over by a web server. */
static int
fd0_is_listener(void)
{
	int		on = 0;
	socklen_t	len = sizeof(on);

	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0)
		return on != 0;
	/* Without SO_ACCEPTCONN, libfcgi's own test (an unconnected socket). */
	if (errno == ENOPROTOOPT)
		return !FCGX_IsCGI();
	return 0;
}

static int
listen_unix(const char *path, struct kg_listener *l)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;
	int			 fd = -1, probe = -1, r = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		kg_log_error("unix socket path too long: %s", path);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			kg_log_error("%s exists and is not a socket", path);
			goto out;
		}
		/* A socket nobody answers on is left over: remove it. */
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1) {
			kg_log_error("socket: %s", strerror(errno));
			goto out;
		}
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			kg_log_error("%s is in use by a running server", path);
			goto out;
		}
		if (errno != ECONNREFUSED && errno != ENOENT) {
			kg_log_error("%s: %s", path, strerror(errno));
			goto out;
		}
		if (unlink(path) == -1 && errno != ENOENT) {
			kg_log_error("removing stale %s: %s", path,
			    strerror(errno));
			goto out;
		}
		kg_log_info("removed stale socket %s", path);
	}

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		kg_log_error("socket: %s", strerror(errno));
		goto out;
	}
	/* Never world-accessible, not even between bind and chmod. */
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		kg_log_error("bind %s: %s", path, strerror(errno));
		goto out;
	}
	umask(old);
	if (chmod(path, 0660) == -1 || stat(path, &st) == -1) {
		kg_log_error("%s: %s", path, strerror(errno));
		goto out;
	}
	if (listen(fd, KG_LISTEN_BACKLOG) == -1) {
		kg_log_error("listen %s: %s", path, strerror(errno));
		goto out;
	}
	if ((l->l_unix_path = strdup(path)) == NULL) {
		kg_log_error("out of memory");
		goto out;
	}
	l->l_dev = st.st_dev;
	l->l_ino = st.st_ino;
	l->l_fd = fd;
	fd = -1;
	r = 0;
 out:
	if (probe != -1)
		close(probe);
	if (fd != -1) {
		close(fd);
		unlink(path);
	}
	return r;
}

/* spec: "HOST:PORT", HOST an address, a name, "[v6]", "*" or empty. */
static int
listen_tcp(const char *spec, struct kg_listener *l)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		*host = NULL, *port, *h;
	int		 fd = -1, on = 1, e, r = -1;

	if ((host = strdup(spec)) == NULL) {
		kg_log_error("out of memory");
		goto out;
	}
	if ((port = strrchr(host, ':')) == NULL) {
		kg_log_error("listen: expected tcp:HOST:PORT");
		goto out;
	}
	*port++ = '\0';
	h = host;
	if (h[0] == '[') {
		size_t n = strlen(h);

		if (n < 2 || h[n - 1] != ']') {
			kg_log_error("listen: bad IPv6 address %s", h);
			goto out;
		}
		h[n - 1] = '\0';
		h++;
	}
	if (h[0] == '\0' || strcmp(h, "*") == 0)
		h = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(h, port, &hints, &res)) != 0) {
		kg_log_error("listen %s: %s", spec, gai_strerror(e));
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, KG_LISTEN_BACKLOG) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	if (fd == -1) {
		kg_log_error("listen %s: %s", spec, strerror(errno));
		goto out;
	}
	l->l_fd = fd;
	r = 0;
 out:
	if (res != NULL)
		freeaddrinfo(res);
	free(host);
	return r;
}

static int
listener_open(const char *spec, struct kg_listener *l)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(spec + 5, l);
	if (strncmp(spec, "tcp:", 4) == 0)
		return listen_tcp(spec + 4, l);
	kg_log_error("listen: expected unix:/path or tcp:HOST:PORT, got %s",
	    spec);
	return -1;
}

/* Removes the unix socket if it is still the one we bound. */
static void
listener_close(struct kg_listener *l)
{
	struct stat	st;

	if (l->l_fd != -1)
		close(l->l_fd);
	if (l->l_unix_path != NULL && lstat(l->l_unix_path, &st) == 0 &&
	    st.st_dev == l->l_dev && st.st_ino == l->l_ino &&
	    unlink(l->l_unix_path) == -1)
		kg_log_debug("unlink %s: %s", l->l_unix_path, strerror(errno));
	free(l->l_unix_path);
	l->l_unix_path = NULL;
	l->l_fd = -1;
}

static int
pid_file_write(const char *path)
{
	char	buf[32];
	int	fd, n, r = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1) {
		kg_log_error("pid file %s: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n)
		kg_log_error("pid file %s: %s", path, strerror(errno));
	else
		r = 0;
	if (close(fd) == -1 && r == 0) {
		kg_log_error("pid file %s: %s", path, strerror(errno));
		r = -1;
	}
	return r;
}

/*
 * Started as root with `user` set: after binding, become that user for
 * good (STYLE 9) and check that root cannot be regained.  The unix socket
 * is handed to the user and its primary group, so that a web server in
 * that group can connect (mode 0660).
 */
static int
privileges_drop(const struct kg_config *cfg, const struct kg_listener *l)
{
	struct passwd	*pw;
	uid_t		 uid;
	gid_t		 gid, groups[2];

	if (cfg->user == NULL || cfg->user[0] == '\0') {
		if (geteuid() == 0)
			kg_log_warn("running as root: set `user` to drop "
			    "privileges");
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		kg_log_error("user %s: %s", cfg->user,
		    errno ? strerror(errno) : "no such user");
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() != 0) {
		if (uid != geteuid())
			kg_log_warn("not started as root: staying uid %ld, "
			    "not user %s", (long)geteuid(), cfg->user);
		return 0;
	}
	if (uid == 0) {
		kg_log_warn("user %s is root: privileges are not dropped",
		    cfg->user);
		return 0;
	}
	if (l->l_unix_path != NULL && chown(l->l_unix_path, uid, gid) == -1) {
		kg_log_error("chown %s: %s", l->l_unix_path, strerror(errno));
		return -1;
	}
	if (setgroups(1, &gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		kg_log_error("switching to user %s: %s", cfg->user,
		    strerror(errno));
		return -1;
	}
	/* Trust, but verify: none of these may work any more. */
	if (setresuid(0, 0, 0) != -1 || seteuid(0) != -1 ||
	    setegid(0) != -1 || getuid() != uid || geteuid() != uid ||
	    getgid() != gid || getegid() != gid ||
	    getgroups(2, groups) != 1 || groups[0] != gid) {
		kg_log_error("privileges could not be dropped for good");
		return -1;
	}
	kg_log_info("running as user %s (uid %ld, gid %ld)", cfg->user,
	    (long)uid, (long)gid);
	return 0;
}

/* The CGI answer when not even the configuration could be loaded. */
static void
cgi_fail(void)
{
	static const char resp[] =
	    "Status: 500 Internal Server Error\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "\r\n"
	    "{\"error\":\"internal\",\"message\":\"Internal error.\"}";

	if (write(STDOUT_FILENO, resp, sizeof(resp) - 1) == -1)
		kg_log_debug("write: %s", strerror(errno));
}

int
main(int argc, char *argv[])
{
	struct kg_config	 cfg;
	struct kg_listener	 l = { -1, NULL, 0, 0 };
	const char		*path = NULL, *env;
	char			*pid_file = NULL, why[512];
	enum kg_mode		 mode;
	enum kg_err		 e;
	int			 ch, test = 0, verbose = 0, cgi, spawned;
	int			 r = 1, fd, io_timeout;

	memset(&cfg, 0, sizeof(cfg));
	while ((ch = getopt(argc, argv, "c:thv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (path == NULL)
		path = (env = getenv("KEYGATE_CONFIG")) != NULL &&
		    env[0] != '\0' ? env : KG_DEFAULT_CONFIG;

	/* Before anything opens a descriptor: what is fd 0? */
	spawned = !test && fd0_is_listener();
	cgi = !test && !spawned && (env = getenv("GATEWAY_INTERFACE")) !=
	    NULL && env[0] != '\0';
	if (fds_sanitize() == -1) {
		fprintf(stderr, "%s: cannot open /dev/null\n", KG_PROGNAME);
		return 1;
	}
	kg_log_init(KG_PROGNAME, verbose ? KG_LOG_DEBUG : KG_LOG_INFO, 0);

	why[0] = '\0';
	if ((e = kg_config_load(&cfg, path, why, sizeof(why))) != KG_OK) {
		fprintf(stderr, "%s\n", why[0] != '\0' ? why :
		    kg_strerror(e));
		if (cgi)
			cgi_fail();
		goto out;
	}
	why[0] = '\0';
	if ((e = kg_ctx_check(&cfg, why, sizeof(why))) != KG_OK) {
		fprintf(stderr, "%s: %s\n", path, why[0] != '\0' ? why :
		    kg_strerror(e));
		if (cgi)
			cgi_fail();
		goto out;
	}
	if (test) {
		if (verbose)
			kg_config_dump(&cfg, STDOUT_FILENO);
		printf("%s: configuration OK\n", path);
		r = 0;
		goto out;
	}
	kg_log_set(verbose ? KG_LOG_DEBUG : cfg.log_level, cfg.log_syslog);

	if (cgi) {
		r = kg_worker_cgi(&cfg);
		goto out;
	}
	/* Before the workers are forked, which inherit it. */
	if (kg_worker_io_timeout_init(&io_timeout) != KG_OK)
		goto out;
	if (io_timeout != KG_WORKER_IO_TIMEOUT)
		kg_log_info("FastCGI I/O timeout %d s (from %s)", io_timeout,
		    KG_WORKER_IO_TIMEOUT_ENV);

	if (spawned) {
		mode = KG_MODE_SPAWNED;
		fd = 0;
	} else {
		mode = KG_MODE_STANDALONE;
		if (listener_open(cfg.listen, &l) == -1)
			goto out;
		fd = l.l_fd;
	}
	if (cfg.pid_file != NULL && cfg.pid_file[0] != '\0') {
		/* A copy: the master replaces cfg on reload. */
		if ((pid_file = strdup(cfg.pid_file)) == NULL) {
			kg_log_error("out of memory");
			goto out;
		}
		if (pid_file_write(pid_file) == -1) {
			free(pid_file);
			pid_file = NULL;
			goto out;
		}
	}
	if (privileges_drop(&cfg, &l) == -1)
		goto out;

	/* Hands cfg over; it comes back freed. */
	r = kg_master_run(&cfg, path, fd, mode);
 out:
	/* After the drop this fails for a root-owned directory; harmless. */
	if (pid_file != NULL && unlink(pid_file) == -1)
		kg_log_debug("unlink %s: %s", pid_file, strerror(errno));
	free(pid_file);
	listener_close(&l);
	kg_config_free(&cfg);
	return r;
}
