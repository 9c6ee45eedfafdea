/*
 * fcgi_select.c: the point-SELECT ceiling of tools/bench/bench.  The hello
 * responder (tests/proc/fcgi_hello.c) plus one prepared point SELECT per
 * request on MariaDB: the API-key row by its unique SHA-256 hash, the
 * lookup a cold API-key validation cannot avoid.  With -U it is the
 * single-use UPDATE ceiling instead: one autocommitted
 *   UPDATE bench_single_use SET used_at = ... WHERE id = ? AND used_at IS NULL
 * per request, each worker spending ids of its own (worker w of n takes
 * w+1, w+1+n, ...; the bench script fills the table), 200 when the row
 * changed, 409 when it was used or missing.  Not part of the build: the
 * bench script compiles it with cc against libfcgi and libmariadb.
 *
 *   fcgi_select -n workers -l host:port -S socket -u user -D db HASHHEX
 *   fcgi_select -U -n workers -l host:port -S socket -u user -D db
 *
 * Every worker forks, then connects and prepares once, then serves.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcgiapp.h>
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEL_MAX_WORKERS	256

static const char sel_query[] =
    "SELECT id, namespace_id, scopes, expires_at, revoked_at "
    "FROM api_keys WHERE token_hash = ?";

static const char upd_query[] =
    "UPDATE bench_single_use SET used_at = UTC_TIMESTAMP(6) "
    "WHERE id = ? AND used_at IS NULL";

static const char *sel_sock, *sel_user, *sel_db;
static unsigned char sel_hash[32];
static int sel_update;
static long sel_nworkers;

static int
sel_hex(const char *s, unsigned char *out, size_t n)
{
	size_t		 i;
	unsigned int	 b;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	return 0;
}

static MYSQL *
sel_connect(void)
{
	MYSQL	*db;

	if ((db = mysql_init(NULL)) == NULL ||
	    mysql_real_connect(db, NULL, sel_user, NULL, sel_db, 0, sel_sock,
	    0) == NULL) {
		fprintf(stderr, "fcgi_select: connect: %s\n",
		    db ? mysql_error(db) : "out of memory");
		return NULL;
	}
	return db;
}

/*
 * A worker's connection and its one statement, prepared once; NULL
 * (reported) on failure.  Also sets up libfcgi for req on fd.
 */
static MYSQL_STMT *
sel_setup(const char *query, size_t len, FCGX_Request *req, int fd)
{
	MYSQL		*db;
	MYSQL_STMT	*st;

	if ((db = sel_connect()) == NULL)
		return NULL;
	if ((st = mysql_stmt_init(db)) == NULL ||
	    mysql_stmt_prepare(st, query, len) != 0) {
		fprintf(stderr, "fcgi_select: prepare: %s\n", mysql_error(db));
		return NULL;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(req, fd, 0) != 0) {
		fprintf(stderr, "fcgi_select: libfcgi initialisation failed\n");
		return NULL;
	}
	return st;
}

/* The single-use UPDATE ceiling, worker w. */
static int
upd_serve(int fd, long w)
{
	FCGX_Request		 req;
	MYSQL_STMT		*st;
	MYSQL_BIND		 in;
	unsigned long long	 id = (unsigned long long)w + 1;

	if ((st = sel_setup(upd_query, sizeof(upd_query) - 1, &req, fd)) == NULL)
		return 1;
	memset(&in, 0, sizeof(in));
	in.buffer_type = MYSQL_TYPE_LONGLONG;
	in.buffer = &id;
	in.is_unsigned = 1;
	if (mysql_stmt_bind_param(st, &in) != 0) {
		fprintf(stderr, "fcgi_select: bind: %s\n", mysql_stmt_error(st));
		return 1;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		if (mysql_stmt_execute(st) != 0)
			FCGX_FPrintF(req.out, "Status: 503 Service Unavailable\r\n"
			    "Content-Type: application/json\r\n\r\n{}");
		else if (mysql_stmt_affected_rows(st) == 1)
			FCGX_FPrintF(req.out, "Status: 200 OK\r\n"
			    "Content-Type: application/json\r\n\r\n{\"id\":%llu}",
			    id);
		else
			FCGX_FPrintF(req.out, "Status: 409 Conflict\r\n"
			    "Content-Type: application/json\r\n\r\n{}");
		id += (unsigned long long)sel_nworkers;
		FCGX_Finish_r(&req);
	}
	return 0;
}

static int
sel_serve(int fd)
{
	FCGX_Request		 req;
	MYSQL_STMT		*st;
	MYSQL_BIND		 in, out[5];
	MYSQL_TIME		 exp, rev;
	unsigned long		 hlen = sizeof(sel_hash), slen = 0;
	unsigned long long	 id = 0, ns = 0;
	char			 scopes[2049];
	my_bool			 snull = 0, enull = 0, rnull = 0;
	int			 rc, rows;

	if ((st = sel_setup(sel_query, sizeof(sel_query) - 1, &req, fd)) == NULL)
		return 1;
	memset(&in, 0, sizeof(in));
	in.buffer_type = MYSQL_TYPE_BLOB;
	in.buffer = sel_hash;
	in.buffer_length = sizeof(sel_hash);
	in.length = &hlen;
	memset(out, 0, sizeof(out));
	out[0].buffer_type = MYSQL_TYPE_LONGLONG;
	out[0].buffer = &id;
	out[0].is_unsigned = 1;
	out[1].buffer_type = MYSQL_TYPE_LONGLONG;
	out[1].buffer = &ns;
	out[1].is_unsigned = 1;
	out[2].buffer_type = MYSQL_TYPE_STRING;
	out[2].buffer = scopes;
	out[2].buffer_length = sizeof(scopes) - 1;
	out[2].length = &slen;
	out[2].is_null = &snull;
	out[3].buffer_type = MYSQL_TYPE_DATETIME;
	out[3].buffer = &exp;
	out[3].is_null = &enull;
	out[4].buffer_type = MYSQL_TYPE_DATETIME;
	out[4].buffer = &rev;
	out[4].is_null = &rnull;
	if (mysql_stmt_bind_param(st, &in) != 0 ||
	    mysql_stmt_bind_result(st, out) != 0) {
		fprintf(stderr, "fcgi_select: bind: %s\n", mysql_stmt_error(st));
		return 1;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		if (mysql_stmt_execute(st) != 0) {
			FCGX_FPrintF(req.out, "Status: 503 Service Unavailable\r\n"
			    "Content-Type: application/json\r\n\r\n{}");
			FCGX_Finish_r(&req);
			continue;
		}
		rows = 0;
		while ((rc = mysql_stmt_fetch(st)) == 0 ||
		    rc == MYSQL_DATA_TRUNCATED)
			rows++;
		mysql_stmt_free_result(st);
		if (rows == 1)
			FCGX_FPrintF(req.out, "Status: 200 OK\r\n"
			    "Content-Type: application/json\r\n\r\n{\"id\":%llu}",
			    id);
		else
			FCGX_FPrintF(req.out, "Status: 404 Not Found\r\n"
			    "Content-Type: application/json\r\n\r\n{}");
		FCGX_Finish_r(&req);
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fcgi_select -n workers -l host:port "
	    "-S socket -u user -D db HASHHEX\n"
	    "       fcgi_select -U -n workers -l host:port -S socket -u user "
	    "-D db\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	pid_t		 kids[SEL_MAX_WORKERS];
	const char	*bind_addr = NULL;
	long		 n = 1;
	int		 ch, fd, i;

	while ((ch = getopt(argc, argv, "D:l:n:S:Uu:")) != -1) {
		switch (ch) {
		case 'U': sel_update = 1; break;
		case 'D': sel_db = optarg; break;
		case 'l': bind_addr = optarg; break;
		case 'n':
			n = strtol(optarg, NULL, 10);
			if (n < 1 || n > SEL_MAX_WORKERS)
				usage();
			break;
		case 'S': sel_sock = optarg; break;
		case 'u': sel_user = optarg; break;
		default: usage();
		}
	}
	if (optind + !sel_update != argc || bind_addr == NULL ||
	    sel_sock == NULL || sel_user == NULL || sel_db == NULL ||
	    (!sel_update &&
	    sel_hex(argv[optind], sel_hash, sizeof(sel_hash)) != 0))
		usage();
	sel_nworkers = n;
	if ((fd = FCGX_OpenSocket(bind_addr, 1024)) == -1) {
		fprintf(stderr, "fcgi_select: cannot listen on %s\n", bind_addr);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if ((kids[i] = fork()) == -1) {
			perror("fcgi_select: fork");
			break;
		}
		if (kids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
			_exit(sel_update ? upd_serve(fd, i) : sel_serve(fd));
		}
	}
	/* SIGTERM ends this process; the workers follow (PDEATHSIG). */
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
