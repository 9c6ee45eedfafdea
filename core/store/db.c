/*
 * db.c: the worker's MariaDB connection, prepared-statement cache,
 * error mapping, reconnect and transaction retry.  See db.h for the API.
 *
 * The cache: every struct kg_sql gets a process-wide slot number on first
 * use; each handle keeps an array of prepared statements indexed by slot,
 * filled lazily and emptied when the connection is dropped.  Parameter and
 * result bind arrays and result buffers are allocated once per prepare and
 * reused, so executing a cached statement allocates nothing here.
 *
 * Results are read unbuffered (mysql_stmt_fetch row by row), which is why
 * a row callback must not issue statements: the connection is busy until
 * the last row is read.  db_busy turns that mistake into KG_ERR_INTERNAL.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/un.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>

#include "core/base/log.h"
#include "core/base/metrics.h"
#include "core/store/db.h"
#include "core/store/revocation.h"

/* Result buffers start at the column's declared size, up to this. */
#define KG_DB_COLBUF_MAX	1024

/*
 * Session settings.  UTC so that DATETIME values and NOW() agree with
 * UTC_TIMESTAMP() on every host; strict mode so that a too-long value is
 * an error instead of silently truncated; NO_ENGINE_SUBSTITUTION so that a
 * server without InnoDB cannot quietly create MyISAM tables.
 */
#define KG_DB_SESSION_SQL \
	"SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES," \
	"ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE," \
	"NO_ENGINE_SUBSTITUTION'"

struct kg_db_col {
	enum kg_db_type	 c_type;	/* INT, DOUBLE, TIME or TEXT (bytes) */
	long long	 c_int;
	double		 c_double;
	MYSQL_TIME	 c_time;
	char		*c_buf;		/* TEXT: NUL-terminated after a fetch */
	unsigned long	 c_cap;		/* bytes of c_buf, room for the NUL included */
	unsigned long	 c_len;		/* bytes of the value (as sent by the server) */
	my_bool		 c_null;
	my_bool		 c_err;		/* truncated */
};

struct kg_db_stmt {
	MYSQL_STMT		*st_stmt;	/* NULL: not prepared on this connection */
	const struct kg_sql	*st_sql;
	unsigned int		 st_nparams;
	MYSQL_BIND		*st_pbind;	/* [st_nparams] */
	MYSQL_TIME		*st_ptime;	/* [st_nparams], storage for KG_DB_TIME */
	unsigned int		 st_ncols;
	MYSQL_BIND		*st_rbind;	/* [st_ncols] */
	struct kg_db_col	*st_cols;	/* [st_ncols] */
};

struct kg_db_row {
	const struct kg_db_stmt	*r_st;
};

struct kg_db {
	const struct kg_config	*db_cfg;
	MYSQL			*db_conn;	/* NULL: not connected */
	struct kg_db_stmt	*db_stmts;	/* [db_nstmts], indexed by slot - 1 */
	size_t			 db_nstmts;
	int			 db_in_txn;
	/*
	 * The error that ended the open transaction server-side (a deadlock
	 * rolls it back, a lost connection discards it).  Until kg_db_txn
	 * ends, every statement fails with it: running on would execute in
	 * autocommit mode, outside the transaction fn believes it is in.
	 */
	enum kg_err		 db_txn_abort;
	int			 db_busy;	/* reading a result */
	int			 db_txn_revokes; /* a revocation: bump the epoch */
	/*
	 * keygate_db_errors_total{kind="statement"} counts failures that
	 * reach the caller.  A retryable one (deadlock, lock wait, lost
	 * connection) is only pending until the retry policy gives up;
	 * db_in_policy: inside kg_db_txn, which decides for its statements.
	 */
	int			 db_fail_pending;
	int			 db_in_policy;
	pid_t			 db_pid;	/* the process that connected */
	unsigned long long	 db_insert_id;
	struct kg_db_stats	 db_stats;
};

/* How far one statement attempt got, to decide whether re-running is safe. */
enum kg_db_stage {
	KG_STAGE_NONE = 0,	/* nothing sent for execution yet */
	KG_STAGE_SENT,		/* the statement may have run */
	KG_STAGE_ROWS		/* rows were handed to the caller */
};

/* Slots handed out so far, process-wide (handles are single-threaded). */
static unsigned int	kg_sql_nslots;

/* ---------------------------------------------------------------- errors */

/* The only place MariaDB error numbers are interpreted. */
static enum kg_err
kg_db_errmap(unsigned int e)
{
	switch (e) {
	case ER_LOCK_DEADLOCK:		/* also Galera certification failure */
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_UNKNOWN_COM_ERROR:	/* WSREP: node not (yet) primary */
		return KG_ERR_DB_RETRY;
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
		return KG_ERR_DB_LOST;
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
		return KG_ERR_CONFLICT;
	default:
		return KG_ERR_DB;
	}
}

/*
 * Maps and logs one failure of statement `name`.  MariaDB's message is
 * logged except for the errors whose message quotes the offending value,
 * which could be a bound parameter (a hash, a wallet, a name).
 */
static enum kg_err
kg_db_fail(struct kg_db *db, const char *name, unsigned int e, const char *msg)
{
	enum kg_err	r = kg_db_errmap(e);

	if (r == KG_ERR_CONFLICT) {
		kg_log_debug("%s: duplicate key", name);
		return r;
	}
	db->db_stats.ds_errors++;
	if (r == KG_ERR_DB_RETRY || r == KG_ERR_DB_LOST)
		db->db_fail_pending = 1;	/* see kg_db_settle */
	else
		kg_metrics_db_error(KG_METRICS_DB_STATEMENT);
	switch (e) {
	case ER_TRUNCATED_WRONG_VALUE:
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
	case ER_WRONG_VALUE_FOR_TYPE:
	case ER_WRONG_VALUE:
		kg_log_error("%s: invalid value for a column (MariaDB error %u)",
		    name, e);
		break;
	default:
		if (r == KG_ERR_DB_RETRY)
			kg_log_warn("%s: %s (MariaDB error %u)", name, msg, e);
		else
			kg_log_error("%s: %s (MariaDB error %u)", name, msg, e);
		break;
	}
	return r;
}

/* A new attempt: what failed before it was retried, not an error. */
static void
kg_db_attempt_begin(struct kg_db *db)
{
	if (!db->db_in_policy)
		db->db_fail_pending = 0;
}

/*
 * The retry policy is done and r goes to the caller: a retryable failure
 * still pending is counted now (non-retryable ones were counted at once).
 * Returns r.
 */
static enum kg_err
kg_db_settle(struct kg_db *db, enum kg_err r)
{
	if (db->db_in_policy)
		return r;
	if (r != KG_OK && db->db_fail_pending)
		kg_metrics_db_error(KG_METRICS_DB_STATEMENT);
	db->db_fail_pending = 0;
	return r;
}

static enum kg_err	kg_db_fail_conn(struct kg_db *, const char *);

static enum kg_err
kg_db_fail_stmt(struct kg_db *db, const char *name, MYSQL_STMT *s)
{
	/*
	 * A row fetch that fails server-side (a locking read chosen as the
	 * deadlock victim) leaves the statement's errno at 0 and the error on
	 * the connection; without this fallback a retryable deadlock would
	 * surface as a plain database failure (503).
	 */
	if (mysql_stmt_errno(s) == 0 && db->db_conn != NULL &&
	    mysql_errno(db->db_conn) != 0)
		return kg_db_fail_conn(db, name);
	return kg_db_fail(db, name, mysql_stmt_errno(s), mysql_stmt_error(s));
}

static enum kg_err
kg_db_fail_conn(struct kg_db *db, const char *name)
{
	return kg_db_fail(db, name, mysql_errno(db->db_conn),
	    mysql_error(db->db_conn));
}

/* ---------------------------------------------------------------- time */

/* Microseconds since the epoch to a UTC DATETIME. */
static void
kg_db_us_to_time(long long us, MYSQL_TIME *t)
{
	long long	 sec = us / 1000000, frac = us % 1000000;
	time_t		 tt;
	struct tm	 tm;

	if (frac < 0) {
		frac += 1000000;
		sec--;
	}
	tt = (time_t)sec;
	memset(t, 0, sizeof(*t));
	memset(&tm, 0, sizeof(tm));
	if (gmtime_r(&tt, &tm) == NULL)
		return;
	t->year = (unsigned int)tm.tm_year + 1900;
	t->month = (unsigned int)tm.tm_mon + 1;
	t->day = (unsigned int)tm.tm_mday;
	t->hour = (unsigned int)tm.tm_hour;
	t->minute = (unsigned int)tm.tm_min;
	t->second = (unsigned int)tm.tm_sec;
	t->second_part = (unsigned long)frac;
	t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

/* A DATETIME read as UTC to microseconds since the epoch; 0 for a zero date. */
static long long
kg_db_time_to_us(const MYSQL_TIME *t)
{
	struct tm	tm;

	if (t->year == 0 && t->month == 0 && t->day == 0)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)t->year - 1900;
	tm.tm_mon = (int)t->month - 1;
	tm.tm_mday = (int)t->day;
	tm.tm_hour = (int)t->hour;
	tm.tm_min = (int)t->minute;
	tm.tm_sec = (int)t->second;
	return (long long)timegm(&tm) * 1000000 + (long long)t->second_part;
}

/* ---------------------------------------------------------------- connection */

static void
kg_db_stmt_free(struct kg_db_stmt *st)
{
	unsigned int	i;

	if (st->st_stmt != NULL)
		mysql_stmt_close(st->st_stmt);
	for (i = 0; st->st_cols != NULL && i < st->st_ncols; i++)
		free(st->st_cols[i].c_buf);
	free(st->st_cols);
	free(st->st_rbind);
	free(st->st_pbind);
	free(st->st_ptime);
	memset(st, 0, sizeof(*st));
}

/*
 * Makes an inherited connection harmless before closing it: its socket is
 * shared with the parent, and mysql_close would send the parent's session
 * a COM_QUIT.  Pointing our descriptor at /dev/null keeps the parent's
 * socket open and silences what mysql_close writes.
 */
static void
kg_db_detach(MYSQL *m)
{
	int	fd, null;

	if ((fd = (int)mysql_get_socket(m)) < 0)
		return;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		close(fd);
		return;
	}
	if (null != fd) {
		dup2(null, fd);
		close(null);
	}
}

/*
 * Closes the connection, then frees the statements.  In that order: once
 * mysql_close has detached them, closing a statement sends nothing, which
 * matters when the link is already dead.
 */
static void
kg_db_drop(struct kg_db *db)
{
	size_t	i;

	if (db->db_conn != NULL) {
		if (db->db_pid != getpid())
			kg_db_detach(db->db_conn);
		mysql_close(db->db_conn);
	}
	db->db_conn = NULL;
	for (i = 0; i < db->db_nstmts; i++)
		kg_db_stmt_free(&db->db_stmts[i]);
}

static enum kg_err
kg_db_connect(struct kg_db *db)
{
	const struct kg_config	*cfg = db->db_cfg;
	enum kg_err		 r = KG_ERR_DB;
	MYSQL			*m = NULL;
	unsigned int		 u, proto, lockwait;
	my_bool			 no = 0;
	const char		*host, *sock, *name;
	char			 sql[64];

	if ((m = mysql_init(NULL)) == NULL) {
		kg_log_error("mysql_init failed");
		r = KG_ERR_NOMEM;
		goto out;
	}
	sock = cfg->db_socket != NULL && cfg->db_socket[0] != '\0' ?
	    cfg->db_socket : NULL;
	if (sock != NULL && strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		kg_log_error("db_socket path is too long for a unix socket");
		goto out;
	}
	host = sock != NULL ? "localhost" :
	    (cfg->db_host != NULL && cfg->db_host[0] != '\0' ?
	    cfg->db_host : "127.0.0.1");
	/* Say which transport: "localhost" must not silently mean a socket. */
	proto = sock != NULL ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
	name = cfg->db_name != NULL && cfg->db_name[0] != '\0' ?
	    cfg->db_name : NULL;

	u = cfg->db_connect_timeout;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &u);
	u = cfg->db_read_timeout;
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &u);
	u = cfg->db_write_timeout;
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &u);
	mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* We reconnect ourselves: a silent reconnect would lose statements. */
	mysql_options(m, MYSQL_OPT_RECONNECT, &no);
	u = 0;
	mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &u);

	if (mysql_real_connect(m, host, cfg->db_user, cfg->db_password, name,
	    sock != NULL ? 0 : cfg->db_port, sock, CLIENT_FOUND_ROWS) == NULL) {
		db->db_stats.ds_errors++;
		kg_metrics_db_error(KG_METRICS_DB_CONNECT);
		kg_log_error("connect to %s%s%s: %s", sock != NULL ? sock : host,
		    name != NULL ? " database " : "", name != NULL ? name : "",
		    mysql_error(m));
		goto out;
	}
	if (mysql_real_query(m, KG_DB_SESSION_SQL, strlen(KG_DB_SESSION_SQL)) != 0) {
		db->db_stats.ds_errors++;
		kg_metrics_db_error(KG_METRICS_DB_CONNECT);
		kg_log_error("session setup: %s", mysql_error(m));
		goto out;
	}
	/*
	 * A lock wait must end as a lock-wait error (retried) before the read
	 * timeout ends it as a dead connection (not retried, and the server
	 * keeps the wait going).
	 */
	if (cfg->db_read_timeout > 0) {
		lockwait = cfg->db_read_timeout > 1 ? cfg->db_read_timeout - 1 : 1;
		if (lockwait > 50)
			lockwait = 50;
		snprintf(sql, sizeof(sql),
		    "SET innodb_lock_wait_timeout = %u", lockwait);
		if (mysql_real_query(m, sql, strlen(sql)) != 0) {
			db->db_stats.ds_errors++;
			kg_metrics_db_error(KG_METRICS_DB_CONNECT);
			kg_log_error("session setup: %s", mysql_error(m));
			goto out;
		}
	}
	db->db_conn = m;
	m = NULL;
	db->db_pid = getpid();
	db->db_stats.ds_connects++;
	r = KG_OK;
out:
	if (m != NULL)
		mysql_close(m);
	return r;
}

enum kg_err
kg_db_open(struct kg_db **out, const struct kg_config *cfg)
{
	struct kg_db	*db;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return KG_ERR_NOMEM;
	db->db_cfg = cfg;
	*out = db;
	return KG_OK;
}

void
kg_db_close(struct kg_db *db)
{
	if (db == NULL)
		return;
	kg_db_drop(db);
	free(db->db_stmts);
	free(db);
}

void
kg_db_disconnect(struct kg_db *db)
{
	if (db != NULL)
		kg_db_drop(db);
}

/*
 * Refuses misuse that would desynchronise the connection, and drops a
 * connection inherited across fork (see kg_db_detach).
 */
static enum kg_err
kg_db_usable(struct kg_db *db, const char *name)
{
	if (db->db_conn != NULL && db->db_pid != getpid()) {
		kg_log_warn("%s: connection inherited from process %ld, "
		    "reconnecting", name, (long)db->db_pid);
		kg_db_drop(db);
		if (db->db_in_txn)
			db->db_txn_abort = KG_ERR_DB_LOST;
	}
	if (db->db_busy) {
		kg_log_error("%s: issued while a result is being read", name);
		return KG_ERR_INTERNAL;
	}
	if (db->db_in_txn && db->db_txn_abort != KG_OK)
		return db->db_txn_abort;
	if (db->db_in_txn && db->db_conn == NULL)
		return KG_ERR_DB_LOST;
	return KG_OK;
}

enum kg_err
kg_db_ping(struct kg_db *db)
{
	enum kg_err	r;

	if ((r = kg_db_usable(db, "ping")) != KG_OK)
		return r;
	if (db->db_conn == NULL)
		return kg_db_connect(db);
	kg_db_attempt_begin(db);
	if (mysql_ping(db->db_conn) == 0)
		return kg_db_settle(db, KG_OK);
	r = kg_db_fail_conn(db, "ping");
	kg_db_drop(db);
	if (db->db_in_txn) {
		db->db_txn_abort = KG_ERR_DB_LOST;
		return kg_db_settle(db, KG_ERR_DB_LOST);
	}
	if (r != KG_ERR_DB_LOST)
		return kg_db_settle(db, KG_ERR_DB);
	db->db_stats.ds_reconnects++;
	kg_db_attempt_begin(db);	/* the reconnect retries the ping */
	return kg_db_connect(db);
}

/* ---------------------------------------------------------------- statements */

/* Returns the cache entry of sql's slot, growing the cache if needed. */
static struct kg_db_stmt *
kg_db_slot(struct kg_db *db, struct kg_sql *sql)
{
	struct kg_db_stmt	*p;
	size_t			 n;

	if (sql->sql_slot == 0)
		sql->sql_slot = ++kg_sql_nslots;
	if (sql->sql_slot > db->db_nstmts) {
		n = db->db_nstmts < 16 ? 16 : db->db_nstmts * 2;
		if (n < sql->sql_slot)
			n = sql->sql_slot;
		if ((p = reallocarray(db->db_stmts, n, sizeof(*p))) == NULL)
			return NULL;
		memset(p + db->db_nstmts, 0, (n - db->db_nstmts) * sizeof(*p));
		db->db_stmts = p;
		db->db_nstmts = n;
	}
	return &db->db_stmts[sql->sql_slot - 1];
}

/* Sets up the result binding of one column from its metadata. */
static enum kg_err
kg_db_col_init(struct kg_db_col *c, MYSQL_BIND *b, const MYSQL_FIELD *f)
{
	unsigned long	want;

	memset(b, 0, sizeof(*b));
	switch (f->type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR:
		c->c_type = KG_DB_INT;
		b->buffer_type = MYSQL_TYPE_LONGLONG;
		b->buffer = &c->c_int;
		b->is_unsigned = (f->flags & UNSIGNED_FLAG) != 0;
		break;
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
		c->c_type = KG_DB_DOUBLE;
		b->buffer_type = MYSQL_TYPE_DOUBLE;
		b->buffer = &c->c_double;
		break;
	case MYSQL_TYPE_DATE:
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
		c->c_type = KG_DB_TIME;
		b->buffer_type = MYSQL_TYPE_DATETIME;
		b->buffer = &c->c_time;
		break;
	default:
		/* Strings, binary strings, DECIMAL, JSON: bytes as sent. */
		c->c_type = KG_DB_TEXT;
		want = f->length;
		if (want == 0 || want > KG_DB_COLBUF_MAX)
			want = KG_DB_COLBUF_MAX;
		if ((c->c_buf = malloc(want + 1)) == NULL)
			return KG_ERR_NOMEM;
		c->c_cap = want + 1;
		c->c_buf[0] = '\0';
		b->buffer_type = MYSQL_TYPE_STRING;
		b->buffer = c->c_buf;
		b->buffer_length = c->c_cap - 1;	/* keep room for our NUL */
		break;
	}
	b->is_null = &c->c_null;
	b->length = &c->c_len;
	b->error = &c->c_err;
	return KG_OK;
}

/* Prepares sql on the current connection into st. */
static enum kg_err
kg_db_prepare(struct kg_db *db, struct kg_db_stmt *st, const struct kg_sql *sql)
{
	enum kg_err		 r = KG_ERR_INTERNAL;
	struct kg_db_stmt	 tmp;
	MYSQL_RES		*meta = NULL;
	unsigned int		 i;

	memset(&tmp, 0, sizeof(tmp));
	tmp.st_sql = sql;
	if ((tmp.st_stmt = mysql_stmt_init(db->db_conn)) == NULL) {
		kg_log_error("%s: mysql_stmt_init failed", sql->sql_name);
		r = KG_ERR_NOMEM;
		goto out;
	}
	if (mysql_stmt_prepare(tmp.st_stmt, sql->sql_text,
	    strlen(sql->sql_text)) != 0) {
		r = kg_db_fail_stmt(db, sql->sql_name, tmp.st_stmt);
		goto out;
	}
	tmp.st_nparams = (unsigned int)mysql_stmt_param_count(tmp.st_stmt);
	tmp.st_ncols = mysql_stmt_field_count(tmp.st_stmt);
	if (tmp.st_nparams > 0 &&
	    ((tmp.st_pbind = calloc(tmp.st_nparams, sizeof(*tmp.st_pbind))) == NULL ||
	    (tmp.st_ptime = calloc(tmp.st_nparams, sizeof(*tmp.st_ptime))) == NULL)) {
		r = KG_ERR_NOMEM;
		goto out;
	}
	if (tmp.st_ncols > 0) {
		if ((tmp.st_rbind = calloc(tmp.st_ncols, sizeof(*tmp.st_rbind))) == NULL ||
		    (tmp.st_cols = calloc(tmp.st_ncols, sizeof(*tmp.st_cols))) == NULL) {
			r = KG_ERR_NOMEM;
			goto out;
		}
		if ((meta = mysql_stmt_result_metadata(tmp.st_stmt)) == NULL) {
			r = kg_db_fail_stmt(db, sql->sql_name, tmp.st_stmt);
			goto out;
		}
		for (i = 0; i < tmp.st_ncols; i++) {
			r = kg_db_col_init(&tmp.st_cols[i], &tmp.st_rbind[i],
			    mysql_fetch_field_direct(meta, i));
			if (r != KG_OK)
				goto out;
		}
	}
	db->db_stats.ds_prepares++;
	*st = tmp;
	memset(&tmp, 0, sizeof(tmp));
	r = KG_OK;
out:
	if (meta != NULL)
		mysql_free_result(meta);
	kg_db_stmt_free(&tmp);
	return r;
}

/* Fills the parameter binds of st from params. */
static enum kg_err
kg_db_bind(struct kg_db_stmt *st, const struct kg_db_param *params,
    size_t nparams)
{
	const struct kg_db_param	*p;
	MYSQL_BIND			*b;
	size_t				 i;

	if (nparams != st->st_nparams || (nparams > 0 && params == NULL)) {
		kg_log_error("%s: %zu parameters given, %u expected",
		    st->st_sql->sql_name, nparams, st->st_nparams);
		return KG_ERR_INTERNAL;
	}
	for (i = 0; i < nparams; i++) {
		p = &params[i];
		b = &st->st_pbind[i];
		memset(b, 0, sizeof(*b));
		switch (p->p_type) {
		case KG_DB_NULL:
			b->buffer_type = MYSQL_TYPE_NULL;
			break;
		case KG_DB_INT:
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = (void *)&p->p_int;
			break;
		case KG_DB_DOUBLE:
			b->buffer_type = MYSQL_TYPE_DOUBLE;
			b->buffer = (void *)&p->p_double;
			break;
		case KG_DB_TEXT:
		case KG_DB_BLOB:
			if (p->p_ptr == NULL) {
				b->buffer_type = MYSQL_TYPE_NULL;
				break;
			}
			if (p->p_len == KG_DB_NTS && p->p_type == KG_DB_BLOB)
				goto bad;
			b->buffer_type = p->p_type == KG_DB_TEXT ?
			    MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
			b->buffer = (void *)p->p_ptr;
			b->buffer_length = p->p_len == KG_DB_NTS ?
			    strlen(p->p_ptr) : p->p_len;
			break;
		case KG_DB_TIME:
			kg_db_us_to_time(p->p_int, &st->st_ptime[i]);
			b->buffer_type = MYSQL_TYPE_DATETIME;
			b->buffer = &st->st_ptime[i];
			break;
		default:
			goto bad;
		}
	}
	return KG_OK;
bad:
	kg_log_error("%s: parameter %zu is malformed", st->st_sql->sql_name, i);
	return KG_ERR_INTERNAL;
}

/*
 * After MYSQL_DATA_TRUNCATED: grows the buffers of the truncated columns,
 * fetches those columns again whole, and rebinds so later rows use the
 * bigger buffers.  Buffers only grow, so a warm statement stops allocating.
 */
static enum kg_err
kg_db_refetch(struct kg_db *db, struct kg_db_stmt *st)
{
	struct kg_db_col	*c;
	MYSQL_BIND		*b;
	char			*p;
	unsigned int		 i;

	for (i = 0; i < st->st_ncols; i++) {
		c = &st->st_cols[i];
		if (c->c_type != KG_DB_TEXT || !c->c_err || c->c_null)
			continue;
		if (c->c_len >= ULONG_MAX - 1 ||
		    (p = realloc(c->c_buf, c->c_len + 1)) == NULL)
			return KG_ERR_NOMEM;
		c->c_buf = p;
		c->c_cap = c->c_len + 1;
		b = &st->st_rbind[i];
		b->buffer = c->c_buf;
		b->buffer_length = c->c_cap - 1;
		if (mysql_stmt_fetch_column(st->st_stmt, b, i, 0) != 0)
			return kg_db_fail_stmt(db, st->st_sql->sql_name,
			    st->st_stmt);
		c->c_err = 0;
	}
	if (mysql_stmt_bind_result(st->st_stmt, st->st_rbind) != 0)
		return kg_db_fail_stmt(db, st->st_sql->sql_name, st->st_stmt);
	return KG_OK;
}

/*
 * One attempt at running sql: connect and prepare if needed, bind,
 * execute, and read the rows.  *stage tells the caller how far it got.
 */
static enum kg_err
kg_db_attempt(struct kg_db *db, struct kg_sql *sql,
    const struct kg_db_param *params, size_t nparams, kg_db_row_fn fn,
    void *arg, size_t *nrows, unsigned long long *affected,
    enum kg_db_stage *stage)
{
	enum kg_err		 r;
	struct kg_db_stmt	*st;
	struct kg_db_col	*c;
	struct kg_db_row	 row;
	unsigned int		 i;
	int			 rc, reading = 0;

	*stage = KG_STAGE_NONE;
	if (db->db_conn == NULL && (r = kg_db_connect(db)) != KG_OK)
		return r;
	if ((st = kg_db_slot(db, sql)) == NULL)
		return KG_ERR_NOMEM;
	if (st->st_stmt == NULL && (r = kg_db_prepare(db, st, sql)) != KG_OK)
		return r;
	if ((r = kg_db_bind(st, params, nparams)) != KG_OK)
		return r;
	if (mysql_stmt_bind_param(st->st_stmt, st->st_pbind) != 0)
		return kg_db_fail_stmt(db, sql->sql_name, st->st_stmt);

	*stage = KG_STAGE_SENT;
	db->db_stats.ds_executions++;
	if (mysql_stmt_execute(st->st_stmt) != 0)
		return kg_db_fail_stmt(db, sql->sql_name, st->st_stmt);
	if (st->st_ncols == 0) {
		if (affected != NULL)
			*affected = mysql_stmt_affected_rows(st->st_stmt);
		db->db_insert_id = mysql_stmt_insert_id(st->st_stmt);
		return KG_OK;
	}

	reading = 1;
	db->db_busy = 1;
	if (mysql_stmt_bind_result(st->st_stmt, st->st_rbind) != 0) {
		r = kg_db_fail_stmt(db, sql->sql_name, st->st_stmt);
		goto out;
	}
	for (;;) {
		rc = mysql_stmt_fetch(st->st_stmt);
		if (rc == MYSQL_NO_DATA)
			break;
		if (rc == 1) {
			r = kg_db_fail_stmt(db, sql->sql_name, st->st_stmt);
			goto out;
		}
		if (rc == MYSQL_DATA_TRUNCATED &&
		    (r = kg_db_refetch(db, st)) != KG_OK)
			goto out;
		for (i = 0; i < st->st_ncols; i++) {
			c = &st->st_cols[i];
			if (c->c_type == KG_DB_TEXT)
				c->c_buf[c->c_null ? 0 :
				    (c->c_len < c->c_cap ? c->c_len : c->c_cap - 1)] = '\0';
		}
		if (nrows != NULL)
			(*nrows)++;
		if (fn != NULL) {
			*stage = KG_STAGE_ROWS;
			row.r_st = st;
			if ((r = fn(&row, arg)) != KG_OK)
				goto out;
		}
	}
	if (affected != NULL)
		*affected = 0;
	r = KG_OK;
out:
	/* Discards unread rows; a dead link is dropped by the caller instead. */
	if (reading && r != KG_ERR_DB_LOST)
		mysql_stmt_free_result(st->st_stmt);
	db->db_busy = 0;
	return r;
}

static void
kg_db_backoff(unsigned int attempt)
{
	struct timespec	ts;
	unsigned int	rnd = 0, max_us;

	/* Jitter only: no secrecy needed, but no weak generator either. */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rnd = (unsigned int)ts.tv_nsec;
	}
	/* 2, 4, 8, 16 ms ceilings, then 16; sleep between half and all of it. */
	max_us = 1000u << (attempt < 4 ? attempt : 4);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(max_us / 2 + rnd % (max_us / 2 + 1)) * 1000L;
	nanosleep(&ts, NULL);
}

/*
 * Runs sql with the reconnect and retry policy of db.h.  Outside a
 * transaction a deadlock or lock wait timeout ended the statement's own
 * implicit transaction, so re-running it is safe whatever its flags.
 */
static enum kg_err
kg_db_run(struct kg_db *db, struct kg_sql *sql,
    const struct kg_db_param *params, size_t nparams, kg_db_row_fn fn,
    void *arg, size_t *nrows, unsigned long long *affected)
{
	enum kg_err		r;
	enum kg_db_stage	stage;
	unsigned int		retries = 0;
	int			reconnected = 0;

	db->db_insert_id = 0;
	if ((r = kg_db_usable(db, sql->sql_name)) != KG_OK)
		return r;
	for (;;) {
		if (nrows != NULL)
			*nrows = 0;
		kg_db_attempt_begin(db);
		r = kg_db_attempt(db, sql, params, nparams, fn, arg, nrows,
		    affected, &stage);
		if (r == KG_ERR_DB_LOST)
			kg_db_drop(db);
		if (db->db_in_txn) {
			if (r == KG_ERR_DB_LOST || r == KG_ERR_DB_RETRY)
				db->db_txn_abort = r;
			return kg_db_settle(db, r);
		}
		if (r == KG_ERR_DB_LOST && !reconnected &&
		    (stage == KG_STAGE_NONE || (stage == KG_STAGE_SENT &&
		    (sql->sql_flags & KG_SQL_IDEMPOTENT)))) {
			kg_log_warn("%s: connection lost, reconnecting",
			    sql->sql_name);
			reconnected = 1;
			db->db_stats.ds_reconnects++;
			continue;
		}
		if (r == KG_ERR_DB_RETRY && stage != KG_STAGE_ROWS &&
		    retries < db->db_cfg->db_retries) {
			kg_db_backoff(++retries);
			continue;
		}
		return kg_db_settle(db, r);
	}
}

/* A KG_SQL_REVOKES statement and its arguments, run as a transaction. */
struct kg_db_revoke {
	struct kg_sql			*rv_sql;
	const struct kg_db_param	*rv_params;
	size_t				 rv_nparams;
	unsigned long long		 rv_affected;
};

static enum kg_err
kg_db_revoke_txn(struct kg_db *db, void *arg)
{
	struct kg_db_revoke	*rv = arg;

	return kg_db_exec(db, rv->rv_sql, rv->rv_params, rv->rv_nparams,
	    &rv->rv_affected);
}

/*
 * A revocation and its epoch bump commit together or not at all: outside
 * a transaction the statement gets one of its own.
 */
static enum kg_err
kg_db_exec_revoking(struct kg_db *db, struct kg_sql *sql,
    const struct kg_db_param *params, size_t nparams,
    unsigned long long *affected)
{
	struct kg_db_revoke	rv = { sql, params, nparams, 0 };
	unsigned long long	n = 0;
	enum kg_err		r;

	if (!db->db_in_txn) {
		r = kg_db_txn(db, kg_db_revoke_txn, &rv);
		if (affected != NULL)
			*affected = r == KG_OK ? rv.rv_affected : 0;
		return r;
	}
	r = kg_db_run(db, sql, params, nparams, NULL, NULL, NULL, &n);
	/* The bump itself waits for COMMIT (kg_db_txn_once). */
	if (r == KG_OK && n > 0)
		db->db_txn_revokes = 1;
	if (affected != NULL)
		*affected = r == KG_OK ? n : 0;
	return r;
}

enum kg_err
kg_db_exec(struct kg_db *db, struct kg_sql *sql,
    const struct kg_db_param *params, size_t nparams,
    unsigned long long *affected)
{
	if (sql->sql_flags & KG_SQL_REVOKES)
		return kg_db_exec_revoking(db, sql, params, nparams, affected);
	if (affected != NULL)
		*affected = 0;
	return kg_db_run(db, sql, params, nparams, NULL, NULL, NULL, affected);
}

unsigned long long
kg_db_insert_id(const struct kg_db *db)
{
	return db->db_insert_id;
}

enum kg_err
kg_db_query(struct kg_db *db, struct kg_sql *sql,
    const struct kg_db_param *params, size_t nparams, kg_db_row_fn fn,
    void *arg, size_t *nrows)
{
	size_t	n = 0;

	if (nrows != NULL)
		*nrows = 0;
	return kg_db_run(db, sql, params, nparams, fn, arg,
	    nrows != NULL ? nrows : &n, NULL);
}

struct kg_db_one {
	kg_db_row_fn	 o_fn;
	void		*o_arg;
	const char	*o_name;
	size_t		 o_rows;
};

static enum kg_err
kg_db_one_row(const struct kg_db_row *row, void *arg)
{
	struct kg_db_one	*o = arg;

	if (++o->o_rows > 1) {
		kg_log_error("%s: more than one row", o->o_name);
		return KG_ERR_INTERNAL;
	}
	return o->o_fn != NULL ? o->o_fn(row, o->o_arg) : KG_OK;
}

enum kg_err
kg_db_query_one(struct kg_db *db, struct kg_sql *sql,
    const struct kg_db_param *params, size_t nparams, kg_db_row_fn fn,
    void *arg)
{
	struct kg_db_one	o;
	enum kg_err		r;

	o.o_fn = fn;
	o.o_arg = arg;
	o.o_name = sql->sql_name;
	o.o_rows = 0;
	if ((r = kg_db_query(db, sql, params, nparams, kg_db_one_row, &o,
	    NULL)) != KG_OK)
		return r;
	return o.o_rows == 0 ? KG_ERR_NOT_FOUND : KG_OK;
}

/* ---------------------------------------------------------------- rows */

/* Returns column col, or NULL (logged) when out of range. */
static const struct kg_db_col *
kg_db_col(const struct kg_db_row *row, size_t col)
{
	if (col >= row->r_st->st_ncols) {
		kg_log_error("%s: column %zu of %u read",
		    row->r_st->st_sql->sql_name, col, row->r_st->st_ncols);
		return NULL;
	}
	return &row->r_st->st_cols[col];
}

size_t
kg_db_row_ncols(const struct kg_db_row *row)
{
	return row->r_st->st_ncols;
}

int
kg_db_row_isnull(const struct kg_db_row *row, size_t col)
{
	const struct kg_db_col	*c = kg_db_col(row, col);

	return c == NULL || c->c_null;
}

long long
kg_db_row_int(const struct kg_db_row *row, size_t col)
{
	const struct kg_db_col	*c = kg_db_col(row, col);

	if (c == NULL || c->c_null)
		return 0;
	switch (c->c_type) {
	case KG_DB_INT:
		return c->c_int;
	case KG_DB_DOUBLE:
		return (long long)c->c_double;
	case KG_DB_TIME:
		return kg_db_time_to_us(&c->c_time) / 1000000;
	default:
		return strtoll(c->c_buf, NULL, 10);
	}
}

double
kg_db_row_double(const struct kg_db_row *row, size_t col)
{
	const struct kg_db_col	*c = kg_db_col(row, col);

	if (c == NULL || c->c_null)
		return 0;
	switch (c->c_type) {
	case KG_DB_INT:
		return (double)c->c_int;
	case KG_DB_DOUBLE:
		return c->c_double;
	case KG_DB_TIME:
		return (double)kg_db_time_to_us(&c->c_time) / 1e6;
	default:
		return strtod(c->c_buf, NULL);
	}
}

long long
kg_db_row_time_us(const struct kg_db_row *row, size_t col)
{
	const struct kg_db_col	*c = kg_db_col(row, col);

	if (c == NULL || c->c_null || c->c_type != KG_DB_TIME)
		return 0;
	return kg_db_time_to_us(&c->c_time);
}

long long
kg_db_row_time(const struct kg_db_row *row, size_t col)
{
	long long	us = kg_db_row_time_us(row, col);

	/* Floor, so that 1969-12-31T23:59:59.5 is -1, not 0. */
	return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

const char *
kg_db_row_text(const struct kg_db_row *row, size_t col, size_t *len)
{
	const struct kg_db_col	*c = kg_db_col(row, col);

	if (len != NULL)
		*len = 0;
	if (c == NULL || c->c_null || c->c_type != KG_DB_TEXT)
		return NULL;
	if (len != NULL)
		*len = c->c_len;
	return c->c_buf;
}

const void *
kg_db_row_blob(const struct kg_db_row *row, size_t col, size_t *len)
{
	return kg_db_row_text(row, col, len);
}

enum kg_err
kg_db_row_text_copy(const struct kg_db_row *row, size_t col, char *dst,
    size_t dstlen)
{
	const char	*s;
	size_t		 len;

	if (dstlen == 0)
		return KG_ERR_TOO_LARGE;
	dst[0] = '\0';
	if ((s = kg_db_row_text(row, col, &len)) == NULL)
		return KG_ERR_NOT_FOUND;
	if (len >= dstlen)
		return KG_ERR_TOO_LARGE;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return KG_OK;
}

enum kg_err
kg_db_row_blob_copy(const struct kg_db_row *row, size_t col, void *dst,
    size_t len)
{
	const void	*p;
	size_t		 n;

	if ((p = kg_db_row_blob(row, col, &n)) == NULL)
		return kg_db_row_isnull(row, col) ? KG_ERR_NOT_FOUND :
		    KG_ERR_INTERNAL;
	if (n != len) {
		kg_log_error("%s: column %zu has %zu bytes, %zu expected",
		    row->r_st->st_sql->sql_name, col, n, len);
		return KG_ERR_INTERNAL;
	}
	memcpy(dst, p, len);
	return KG_OK;
}

/* ---------------------------------------------------------------- text SQL */

/*
 * Runs one text statement on the connection (connecting first when not in
 * a transaction), discarding rows.  `name` is what the log shows.
 */
static enum kg_err
kg_db_text(struct kg_db *db, const char *name, const char *sql)
{
	enum kg_err	 r;
	MYSQL_RES	*res;

	if ((r = kg_db_usable(db, name)) != KG_OK)
		return r;
	if (db->db_conn == NULL && (r = kg_db_connect(db)) != KG_OK)
		return r;
	kg_db_attempt_begin(db);
	db->db_stats.ds_executions++;
	if (mysql_real_query(db->db_conn, sql, strlen(sql)) != 0)
		goto fail;
	if ((res = mysql_store_result(db->db_conn)) != NULL)
		mysql_free_result(res);
	else if (mysql_field_count(db->db_conn) != 0)
		goto fail;
	return kg_db_settle(db, KG_OK);
fail:
	r = kg_db_fail_conn(db, name);
	if (r == KG_ERR_DB_LOST)
		kg_db_drop(db);
	if (db->db_in_txn && (r == KG_ERR_DB_LOST || r == KG_ERR_DB_RETRY))
		db->db_txn_abort = r;
	return kg_db_settle(db, r);
}

enum kg_err
kg_db_run_sql(struct kg_db *db, const char *sql)
{
	char	name[64];
	size_t	i;

	/* Name it by its beginning, on one line: migrations hold no secrets. */
	for (i = 0; i < sizeof(name) - 4 && sql[i] != '\0'; i++)
		name[i] = sql[i] == '\n' || sql[i] == '\t' ? ' ' : sql[i];
	if (sql[i] != '\0') {
		memcpy(name + i, "...", 3);
		i += 3;
	}
	name[i] = '\0';
	return kg_db_text(db, name, sql);
}

/* ---------------------------------------------------------------- transactions */

/* See serial_locks in schema/001_init.sql for why a row and not GET_LOCK. */
static struct kg_sql S_SERIALIZE = KG_SQL("serialize",
    "INSERT INTO serial_locks (name, touched_at) "
    "VALUES (?, UTC_TIMESTAMP(6)) "
    "ON DUPLICATE KEY UPDATE touched_at = UTC_TIMESTAMP(6)", 0);

enum kg_err
kg_db_serialize(struct kg_db *db, const char *name)
{
	struct kg_db_param	p[] = { KG_P_TEXT(name) };

	if (!db->db_in_txn) {
		/* Outside a transaction the lock would end with the statement. */
		kg_log_error("kg_db_serialize outside a transaction");
		return KG_ERR_INTERNAL;
	}
	if (name == NULL || name[0] == '\0' || strlen(name) > KG_DB_SERIAL_MAX)
		return KG_ERR_INVALID;
	return kg_db_exec(db, &S_SERIALIZE, KG_DB_ARGS(p), NULL);
}

int
kg_db_in_txn(const struct kg_db *db)
{
	return db->db_in_txn;
}

/* One START TRANSACTION .. COMMIT round.  *committing: COMMIT was sent. */
static enum kg_err
kg_db_txn_once(struct kg_db *db, kg_db_txn_fn fn, void *arg, int *committing)
{
	enum kg_err	r;

	*committing = 0;
	if ((r = kg_db_text(db, "START TRANSACTION", "START TRANSACTION")) != KG_OK)
		return r;
	db->db_in_txn = 1;
	db->db_txn_abort = KG_OK;
	db->db_txn_revokes = 0;
	r = fn(db, arg);
	/* fn may have swallowed the error that ended the transaction. */
	if (r == KG_OK && db->db_txn_abort != KG_OK)
		r = db->db_txn_abort;
	/*
	 * The epoch row is the last lock a revoking transaction takes, held
	 * only for its COMMIT: taken earlier, every revocation of the
	 * cluster would queue on it behind row locks it does not need, and
	 * lock it in an order that deadlocks with theirs.
	 */
	if (r == KG_OK && db->db_txn_revokes &&
	    (r = kg_revocation_note(db)) == KG_OK && db->db_txn_abort != KG_OK)
		r = db->db_txn_abort;
	if (r == KG_OK) {
		*committing = 1;
		r = kg_db_text(db, "COMMIT", "COMMIT");
		/* Even when COMMIT's fate is unknown: a needless flush is
		 * harmless, a stale cached grant is not. */
		if (db->db_txn_revokes && r != KG_ERR_DB_RETRY)
			kg_revocation_committed();
	}
	db->db_txn_revokes = 0;
	if (r != KG_OK && db->db_conn != NULL) {
		/* Reset the abort mark so ROLLBACK itself may run. */
		db->db_txn_abort = KG_OK;
		if (kg_db_text(db, "ROLLBACK", "ROLLBACK") != KG_OK)
			kg_db_drop(db);
	}
	db->db_in_txn = 0;
	db->db_txn_abort = KG_OK;
	return r;
}

enum kg_err
kg_db_txn(struct kg_db *db, kg_db_txn_fn fn, void *arg)
{
	enum kg_err	r;
	unsigned int	retries = 0;
	int		reconnected = 0, committing;

	if (db->db_in_txn || db->db_busy) {
		kg_log_error("transactions do not nest");
		return KG_ERR_INTERNAL;
	}
	/* Statement failures count once the transaction's fate is known. */
	db->db_in_policy = 1;
	for (;;) {
		db->db_fail_pending = 0;
		r = kg_db_txn_once(db, fn, arg, &committing);
		if (r == KG_ERR_DB_RETRY && retries < db->db_cfg->db_retries) {
			db->db_stats.ds_txn_retries++;
			kg_db_backoff(++retries);
			continue;
		}
		if (r == KG_ERR_DB_LOST && !committing && !reconnected) {
			kg_log_warn("connection lost in a transaction, "
			    "reconnecting to run it again");
			db->db_stats.ds_txn_retries++;
			reconnected = 1;
			continue;
		}
		if (r == KG_ERR_DB_RETRY)
			kg_log_error("transaction failed after %u retries", retries);
		break;
	}
	db->db_in_policy = 0;
	return kg_db_settle(db, r);
}

/* ---------------------------------------------------------------- counters */

void
kg_db_stats(const struct kg_db *db, struct kg_db_stats *out)
{
	*out = db->db_stats;
}
