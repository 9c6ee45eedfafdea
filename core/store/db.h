/*
 * db.h: the worker's MariaDB connection and the statement API that every
 * store module (core/store/<area>.c) is written against.
 *
 * One struct kg_db per process (worker, tool run, test), never shared
 * between processes or threads.  It connects lazily on first use with the
 * configured connect/read/write timeouts, utf8mb4, session time zone UTC
 * and strict SQL mode.
 *
 * Statements are named constants in the store module that owns them:
 *
 *	static struct kg_sql S_NONCE_CONSUME = KG_SQL("nonce_consume",
 *	    "UPDATE nonces SET used_at = UTC_TIMESTAMP(6) WHERE nonce = ? "
 *	    "AND wallet = ? AND namespace = ? AND used_at IS NULL "
 *	    "AND expires_at > UTC_TIMESTAMP(6)", 0);
 *
 *	struct kg_db_param p[] = { KG_P_TEXT(nonce), KG_P_TEXT(wallet),
 *	    KG_P_TEXT(ns) };
 *	unsigned long long n;
 *	if ((r = kg_db_exec(db, &S_NONCE_CONSUME, KG_DB_ARGS(p), &n)) != KG_OK)
 *		goto out;
 *	if (n != 1) { r = KG_ERR_NOT_FOUND; goto out; }
 *
 * Each statement is prepared once per connection, on first use, and reused:
 * executing it again binds and runs without re-preparing or allocating.
 * Rows come back through a callback that reads typed columns:
 *
 *	static enum kg_err
 *	key_row(const struct kg_db_row *row, void *arg)
 *	{
 *		struct kg_key *k = arg;
 *		k->id = kg_db_row_int(row, 0);
 *		return kg_db_row_text_copy(row, 1, k->name, sizeof(k->name));
 *	}
 *	r = kg_db_query_one(db, &S_KEY_GET, KG_DB_ARGS(p), key_row, k);
 *
 * Errors are enum kg_err only; MariaDB error numbers never leave db.c:
 *   KG_ERR_DB_RETRY   deadlock (1213, also Galera certification failure),
 *                     lock wait timeout (1205), node not primary (1047);
 *                     kg_db_txn retries these by itself
 *   KG_ERR_DB_LOST    the connection died (2006, 2013, 2055, killed,
 *                     server shutdown); the handle reconnects on next use
 *   KG_ERR_CONFLICT   a UNIQUE or PRIMARY KEY violation (1062): an expected
 *                     outcome for the caller to handle, not a failure
 *   KG_ERR_DB         anything else, including "cannot connect"
 * Every failure is logged with the statement's name and MariaDB's message
 * (never a bound value); the router turns DB errors into 503.
 *
 * A lost connection is re-established once and the statement re-run only
 * when it is flagged KG_SQL_IDEMPOTENT and no transaction is open (and, for
 * queries, before any row was passed to the callback).  A statement whose
 * prepare failed with a lost connection never ran, so it is re-run whatever
 * its flags (outside a transaction).  Outside a transaction a statement
 * that hit a deadlock or lock wait timeout was rolled back whole, so it is
 * re-run too, up to cfg->db_retries times.  Inside kg_db_txn nothing is
 * re-run statement by statement: the whole transaction is.
 *
 * Processes: connect after fork.  A handle used in a process other than
 * the one that connected it drops the inherited connection without
 * touching the parent's session and connects anew.
 */
#ifndef KG_DB_H
#define KG_DB_H

#include <stddef.h>
#include "core/base/config.h"
#include "core/base/err.h"

struct kg_db;
struct kg_db_row;

/* ---------------------------------------------------------------- statements */

/* Flags of a statement. */
#define KG_SQL_IDEMPOTENT	0x01	/* re-running it after a lost connection is harmless */
/*
 * It can end a credential's validity (revoked_at, a jti or subject
 * logout).  When it matches rows, kg_db_exec adds one to the revocation
 * epoch in the same transaction (running it in one of its own outside
 * kg_db_txn) and, after COMMIT, tells this host's credential caches
 * (core/store/revocation.h).  Every statement that can turn a credential
 * that validated into one that does not must carry it.
 */
#define KG_SQL_REVOKES		0x02

/*
 * A statement: a name for logs, its text with `?` placeholders, its flags,
 * and its slot in every handle's statement cache (assigned on first use;
 * 0 = not yet).  Declare them static and non-const in store modules.
 */
struct kg_sql {
	const char	*sql_name;
	const char	*sql_text;
	unsigned int	 sql_flags;
	unsigned int	 sql_slot;
};

#define KG_SQL(name, text, flags)	{ (name), (text), (flags), 0 }

/* ---------------------------------------------------------------- parameters */

enum kg_db_type {
	KG_DB_NULL = 0,	/* SQL NULL */
	KG_DB_INT,	/* p_int */
	KG_DB_DOUBLE,	/* p_double */
	KG_DB_TEXT,	/* p_ptr, p_len (KG_DB_NTS = NUL-terminated); NULL p_ptr = SQL NULL */
	KG_DB_BLOB,	/* p_ptr, p_len bytes; NULL p_ptr = SQL NULL */
	KG_DB_TIME,	/* p_int: microseconds since the epoch, UTC -> DATETIME(6) */
	KG_DB__MAX
};

#define KG_DB_NTS	((size_t)-1)

/* One bound value.  The pointed-to data must live until the call returns. */
struct kg_db_param {
	enum kg_db_type	 p_type;
	long long	 p_int;
	double		 p_double;
	const void	*p_ptr;
	size_t		 p_len;
};

/* Initialisers for struct kg_db_param arrays; each evaluates its argument once. */
#define KG_P_NULL()		{ .p_type = KG_DB_NULL }
#define KG_P_INT(v)		{ .p_type = KG_DB_INT, .p_int = (long long)(v) }
#define KG_P_DOUBLE(v)		{ .p_type = KG_DB_DOUBLE, .p_double = (double)(v) }
#define KG_P_TEXT(s)		{ .p_type = KG_DB_TEXT, .p_ptr = (s), .p_len = KG_DB_NTS }
#define KG_P_TEXTN(s, n)	{ .p_type = KG_DB_TEXT, .p_ptr = (s), .p_len = (n) }
#define KG_P_BLOB(p, n)		{ .p_type = KG_DB_BLOB, .p_ptr = (p), .p_len = (n) }
#define KG_P_TIME(sec)		{ .p_type = KG_DB_TIME, .p_int = (long long)(sec) * 1000000LL }
#define KG_P_TIME_US(us)	{ .p_type = KG_DB_TIME, .p_int = (long long)(us) }

/* Expands to "array, element count" for the params/nparams arguments. */
#define KG_DB_ARGS(a)		(a), (sizeof(a) / sizeof((a)[0]))
/* For statements without parameters. */
#define KG_DB_NOARGS		NULL, 0

/* ---------------------------------------------------------------- the handle */

/*
 * Allocates a handle for cfg (which must outlive it); does not connect.
 * Returns KG_OK and sets *out, or KG_ERR_NOMEM.  Free with kg_db_close.
 */
enum kg_err	kg_db_open(struct kg_db **out, const struct kg_config *cfg);

/* Closes the connection and its statements and frees db; NULL is allowed. */
void		kg_db_close(struct kg_db *db);

/*
 * Connects if needed and checks that the server answers (for /ready and
 * the tools).  A connection found dead is re-established once.  Returns
 * KG_OK or KG_ERR_DB (logged).
 */
enum kg_err	kg_db_ping(struct kg_db *db);

/*
 * Drops the connection (statements included) without freeing db; the next
 * use reconnects.  For tests, and for callers that know the link is bad.
 */
void		kg_db_disconnect(struct kg_db *db);

/* ---------------------------------------------------------------- statements */

/*
 * Runs a statement that returns no rows (rows of one that does are
 * discarded).  nparams must equal the statement's number of `?`.  If
 * affected is not NULL it receives the number of rows the statement
 * matched (CLIENT_FOUND_ROWS: an UPDATE that sets a column to the value it
 * already has still counts, so "0" always means "no such row").  Returns
 * KG_OK or an error as described above.
 */
enum kg_err	kg_db_exec(struct kg_db *db, struct kg_sql *sql,
		    const struct kg_db_param *params, size_t nparams,
		    unsigned long long *affected);

/* The AUTO_INCREMENT id generated by the last successful kg_db_exec, else 0. */
unsigned long long kg_db_insert_id(const struct kg_db *db);

/*
 * Called once per row.  Return KG_OK to continue; any other value stops the
 * iteration (the remaining rows are discarded) and becomes the result of
 * kg_db_query.  The row and everything read from it are valid only during
 * the call; the callback must not use db.
 */
typedef enum kg_err (*kg_db_row_fn)(const struct kg_db_row *row, void *arg);

/*
 * Runs a statement and calls fn for each row in order.  If nrows is not
 * NULL it receives the number of rows passed to fn.  fn may be NULL (rows
 * are counted only).  Returns KG_OK, fn's first non-KG_OK value, or a
 * database error.
 */
enum kg_err	kg_db_query(struct kg_db *db, struct kg_sql *sql,
		    const struct kg_db_param *params, size_t nparams,
		    kg_db_row_fn fn, void *arg, size_t *nrows);

/*
 * Runs a statement expected to return at most one row (a lookup by a
 * unique key) and calls fn for it.  Returns KG_ERR_NOT_FOUND when there is
 * no row, KG_ERR_INTERNAL (logged) when there are several, else as
 * kg_db_query.
 */
enum kg_err	kg_db_query_one(struct kg_db *db, struct kg_sql *sql,
		    const struct kg_db_param *params, size_t nparams,
		    kg_db_row_fn fn, void *arg);

/* ---------------------------------------------------------------- rows */

/*
 * Column accessors, columns numbered from 0 in SELECT order.  Integer and
 * DOUBLE columns are read natively, DATETIME/TIMESTAMP/DATE as UTC, DECIMAL
 * and strings as text (the numeric accessors parse text; kg_db_row_int of
 * a DATETIME gives seconds since the epoch).  SQL NULL reads as 0, NULL
 * pointers and length 0.  A column number out of range is a programming
 * error: logged, and read as NULL.  Select columns by name, never `*`.
 */
size_t		kg_db_row_ncols(const struct kg_db_row *row);
int		kg_db_row_isnull(const struct kg_db_row *row, size_t col);
long long	kg_db_row_int(const struct kg_db_row *row, size_t col);
double		kg_db_row_double(const struct kg_db_row *row, size_t col);
/* Microseconds / whole seconds since the epoch (a DATETIME read as UTC). */
long long	kg_db_row_time_us(const struct kg_db_row *row, size_t col);
long long	kg_db_row_time(const struct kg_db_row *row, size_t col);
/*
 * The column's bytes, NUL-terminated (binary columns may also contain
 * NULs: use *len).  Valid until the callback returns.  len may be NULL.
 */
const char	*kg_db_row_text(const struct kg_db_row *row, size_t col, size_t *len);
const void	*kg_db_row_blob(const struct kg_db_row *row, size_t col, size_t *len);
/*
 * Copies a text column into dst (NUL-terminated).  Returns KG_OK,
 * KG_ERR_NOT_FOUND for SQL NULL (dst = ""), KG_ERR_TOO_LARGE if it does not
 * fit (dst = "").
 */
enum kg_err	kg_db_row_text_copy(const struct kg_db_row *row, size_t col,
		    char *dst, size_t dstlen);
/*
 * Copies a binary column of exactly len bytes (e.g. a BINARY(32) hash)
 * into dst.  Returns KG_OK, KG_ERR_NOT_FOUND for SQL NULL, or
 * KG_ERR_INTERNAL (logged) when the length differs.
 */
enum kg_err	kg_db_row_blob_copy(const struct kg_db_row *row, size_t col,
		    void *dst, size_t len);

/* ---------------------------------------------------------------- transactions */

typedef enum kg_err (*kg_db_txn_fn)(struct kg_db *db, void *arg);

/*
 * START TRANSACTION, fn(db, arg), COMMIT.  If fn fails, rolls back and
 * returns its error.  On KG_ERR_DB_RETRY (deadlock, lock wait timeout,
 * certification failure, at any point including COMMIT) rolls back and
 * runs fn again, up to cfg->db_retries more times, after a randomized
 * backoff of a few milliseconds; a connection lost before COMMIT was sent
 * is re-established and fn re-run once.  A connection lost during COMMIT
 * returns KG_ERR_DB_LOST: the outcome is unknown, so nothing is retried.
 * fn must therefore be safe to run several times: keep its effects in the
 * database (or reset its outputs at its start).  Transactions do not nest
 * (KG_ERR_INTERNAL).
 */
enum kg_err	kg_db_txn(struct kg_db *db, kg_db_txn_fn fn, void *arg);

/*
 * Inside kg_db_txn: locks the row called name (creating it), so that
 * every other transaction serialising on the same name waits until this
 * one ends, on this host or any node of the cluster.  For checks no
 * unique key can express ("at most N pending nonces for this wallet"):
 * lock, count, insert.  Either lock first, before the transaction reads
 * any row, then count with a plain SELECT (its snapshot starts after the
 * lock); or, in a transaction that already read rows (its snapshot may
 * be older than the lock), count with a locking read (LOCK IN SHARE MODE
 * or FOR UPDATE), which sees the latest committed rows.  A plain SELECT
 * after earlier reads would miss rows committed by the transaction that
 * held the lock before.  KG_ERR_INTERNAL outside a transaction,
 * KG_ERR_INVALID for an empty name or one over KG_DB_SERIAL_MAX bytes.
 */
#define KG_DB_SERIAL_MAX	160
enum kg_err	kg_db_serialize(struct kg_db *db, const char *name);

/* Non-zero while kg_db_txn runs its fn. */
int		kg_db_in_txn(const struct kg_db *db);

/* ---------------------------------------------------------------- raw SQL */

/*
 * Runs one SQL statement as text, unprepared, discarding any rows.  Only
 * for migrations (DDL read from schema/ files); everything else uses
 * struct kg_sql.  No reconnect.  Returns KG_OK or a database error.
 */
enum kg_err	kg_db_run_sql(struct kg_db *db, const char *sql);

/* ---------------------------------------------------------------- counters */

/* Counters of one handle since kg_db_open, for /metrics and tests. */
struct kg_db_stats {
	unsigned long long ds_connects;		/* successful connects */
	unsigned long long ds_prepares;		/* statements prepared */
	unsigned long long ds_executions;	/* statements executed */
	unsigned long long ds_errors;		/* failed statements/connects */
	unsigned long long ds_reconnects;	/* statements re-run after a lost link */
	unsigned long long ds_txn_retries;	/* kg_db_txn re-runs of fn */
};

void		kg_db_stats(const struct kg_db *db, struct kg_db_stats *out);

#endif
