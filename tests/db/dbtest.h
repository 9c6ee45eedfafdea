/*
 * dbtest.h: the harness of every DB test (tests/db/check_*.c).
 *
 * The tests run against a private MariaDB server (tools/dbctl start DIR)
 * reached through the unix socket in KEYGATE_TEST_DB_SOCKET, as root
 * without a password.  Each test gets a database of its own,
 * kgtest_<pid>_<n>, created empty or with the schema of $top_srcdir/schema
 * applied, and dropped at teardown.
 *
 * Without KEYGATE_TEST_DB_SOCKET the test program exits 77 (automake's
 * SKIP), unless KEYGATE_TEST_REQUIRE_DB=1 (CI, tools/dev test), where a
 * missing or unreachable server is a hard error (exit 99).
 *
 * Set-up and inspection go through a separate raw connection (kg_test_sql
 * and friends), never through the code under test.
 */
#ifndef KG_DBTEST_H
#define KG_DBTEST_H

#include <check.h>
#include <mysql.h>

#include "core/base/config.h"

struct kg_db;

#define KG_TEST_EXIT_SKIP	77
#define KG_TEST_EXIT_HARD	99

/*
 * Call first in main().  Exits 77 or 99 as described above; also 99 when
 * the socket is set but the server does not answer.
 */
void		 kg_test_db_require(void);

/* The directory of migrations under test: $top_srcdir/schema. */
const char	*kg_test_schema_dir(void);

/*
 * Creates a fresh, empty database and fills *cfg for it: kg_config_load
 * defaults (and environment), then the socket, root, no password, short
 * timeouts.  Aborts the test on failure.  Release with
 * kg_test_db_teardown.
 */
void		 kg_test_db_config_empty(struct kg_config *cfg);

/* The same, with every migration of kg_test_schema_dir() applied. */
void		 kg_test_db_config(struct kg_config *cfg);

/* Drops cfg's database (if it is a kgtest_ one) and frees cfg. */
void		 kg_test_db_teardown(struct kg_config *cfg);

/* kg_db_open on cfg; aborts the test on failure.  Close with kg_db_close. */
struct kg_db	*kg_test_db_open(const struct kg_config *cfg);

/*
 * A new raw connection to cfg's database, for set-up, inspection and
 * playing the other party in concurrency tests.  Aborts on failure.
 * Close with mysql_close.
 */
MYSQL		*kg_test_conn(const struct kg_config *cfg);

/* Runs SQL on m; aborts the test with MariaDB's message on failure. */
void		 kg_test_sql(MYSQL *m, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Runs SQL on m; returns 0 or MariaDB's error number.  No abort. */
unsigned int	 kg_test_sql_errno(MYSQL *m, const char *sql);

/*
 * The first column of the first row as an integer (-1 for NULL or no
 * row).  Aborts on an SQL error.
 */
long long	 kg_test_scalar(MYSQL *m, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* kg_test_scalar on a connection of its own to cfg's database. */
long long	 kg_test_db_scalar(const struct kg_config *cfg,
		    const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * Forks n (at most 64) children that start together, each opening its own
 * connection to cfg's database and exiting with fn(db, i, arg) (100 when
 * it cannot connect); their exit codes into codes[0..n-1].
 */
void		 kg_test_race(const struct kg_config *cfg, int n,
		    int (*fn)(struct kg_db *, int, void *), void *arg,
		    int *codes);

/* Runs suite s; EXIT_SUCCESS when no test failed, else EXIT_FAILURE. */
int		 kg_test_run(Suite *s);

#endif
