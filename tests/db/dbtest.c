/* dbtest.c: the DB test harness; see dbtest.h. */
#include "config.h"

#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>

#include "core/base/config.h"
#include "core/store/db.h"
#include "core/store/migrate.h"
#include "tests/db/dbtest.h"

#define DBTEST_PREFIX	"kgtest_"

static int	dbtest_counter;

static const char *
dbtest_socket(void)
{
	const char	*s = getenv("KEYGATE_TEST_DB_SOCKET");

	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Connects as root to the test server, to database db (NULL: none). */
static MYSQL *
dbtest_connect(const char *db, char *err, size_t errlen)
{
	MYSQL		*m;
	unsigned int	 timeout = 5, proto = MYSQL_PROTOCOL_SOCKET;

	if ((m = mysql_init(NULL)) == NULL) {
		snprintf(err, errlen, "mysql_init failed");
		return NULL;
	}
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	timeout = 60;
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(m, "localhost", "root", "", db, 0,
	    dbtest_socket(), 0) == NULL) {
		snprintf(err, errlen, "%s", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

void
kg_test_db_require(void)
{
	const char	*req = getenv("KEYGATE_TEST_REQUIRE_DB");
	int		 required = req != NULL && strcmp(req, "1") == 0;
	MYSQL		*m;
	char		 err[256];

	if (dbtest_socket() == NULL) {
		if (required) {
			fprintf(stderr, "KEYGATE_TEST_REQUIRE_DB=1 but "
			    "KEYGATE_TEST_DB_SOCKET is not set: start a server "
			    "with tools/dbctl start DIR and export "
			    "KEYGATE_TEST_DB_SOCKET=DIR/mysqld.sock\n");
			exit(KG_TEST_EXIT_HARD);
		}
		fprintf(stderr, "KEYGATE_TEST_DB_SOCKET not set: skipping "
		    "the DB tests\n");
		exit(KG_TEST_EXIT_SKIP);
	}
	if ((m = dbtest_connect(NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "cannot connect to the test server at %s: "
		    "%s\n", dbtest_socket(), err);
		exit(KG_TEST_EXIT_HARD);
	}
	mysql_close(m);
}

const char *
kg_test_schema_dir(void)
{
	static char	 dir[4096];
	const char	*top = getenv("top_srcdir"), *suffix = "tests/db/dbtest.c";
	const char	*self = __FILE__;
	size_t		 len;

	if (dir[0] != '\0')
		return dir;
	if (top != NULL && top[0] != '\0')
		snprintf(dir, sizeof(dir), "%s/schema", top);
	else {
		/* Run by hand: the source tree this file was compiled from. */
		len = strlen(self);
		if (len >= strlen(suffix) &&
		    strcmp(&self[len - strlen(suffix)], suffix) == 0)
			snprintf(dir, sizeof(dir), "%.*sschema",
			    (int)(len - strlen(suffix)), self);
		else
			snprintf(dir, sizeof(dir), "schema");
	}
	return dir;
}

static void
dbtest_set(char **field, const char *value)
{
	char	*p;

	if ((p = strdup(value)) == NULL)
		ck_abort_msg("out of memory");
	free(*field);
	*field = p;
}

void
kg_test_db_config_empty(struct kg_config *cfg)
{
	MYSQL	*m;
	char	 err[512], name[64];

	memset(cfg, 0, sizeof(*cfg));
	if (kg_config_load(cfg, NULL, err, sizeof(err)) != KG_OK)
		ck_abort_msg("kg_config_load: %s", err);
	snprintf(name, sizeof(name), DBTEST_PREFIX "%ld_%d", (long)getpid(),
	    ++dbtest_counter);
	if ((m = dbtest_connect(NULL, err, sizeof(err))) == NULL)
		ck_abort_msg("connect: %s", err);
	kg_test_sql(m, "DROP DATABASE IF EXISTS %s", name);
	kg_test_sql(m, "CREATE DATABASE %s CHARACTER SET utf8mb4", name);
	mysql_close(m);

	dbtest_set(&cfg->db_socket, dbtest_socket());
	dbtest_set(&cfg->db_name, name);
	dbtest_set(&cfg->db_user, "root");
	dbtest_set(&cfg->db_password, "");
	cfg->db_connect_timeout = 2;
	cfg->db_read_timeout = 10;
	cfg->db_write_timeout = 10;
	cfg->db_retries = 5;
}

void
kg_test_db_config(struct kg_config *cfg)
{
	struct kg_db	*db = NULL;
	char		 err[512];
	enum kg_err	 r;

	kg_test_db_config_empty(cfg);
	if (kg_db_open(&db, cfg) != KG_OK)
		ck_abort_msg("kg_db_open failed");
	err[0] = '\0';
	r = kg_migrate_run(db, kg_test_schema_dir(), 0, NULL, NULL, err,
	    sizeof(err));
	kg_db_close(db);
	if (r != KG_OK)
		ck_abort_msg("migrate %s: %s", kg_test_schema_dir(), err);
}

void
kg_test_db_teardown(struct kg_config *cfg)
{
	MYSQL	*m;
	char	 err[256];

	if (cfg->db_name != NULL &&
	    strncmp(cfg->db_name, DBTEST_PREFIX, strlen(DBTEST_PREFIX)) == 0 &&
	    (m = dbtest_connect(NULL, err, sizeof(err))) != NULL) {
		kg_test_sql(m, "DROP DATABASE IF EXISTS %s", cfg->db_name);
		mysql_close(m);
	}
	kg_config_free(cfg);
}

MYSQL *
kg_test_conn(const struct kg_config *cfg)
{
	MYSQL	*m;
	char	 err[256];

	if ((m = dbtest_connect(cfg->db_name, err, sizeof(err))) == NULL)
		ck_abort_msg("connect to %s: %s", cfg->db_name, err);
	return m;
}

static void
dbtest_vformat(char *buf, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
dbtest_vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	int	n = vsnprintf(buf, len, fmt, ap);

	if (n < 0 || (size_t)n >= len)
		ck_abort_msg("test SQL too long");
}

void
kg_test_sql(MYSQL *m, const char *fmt, ...)
{
	char		 sql[8192];
	va_list		 ap;
	MYSQL_RES	*res;

	va_start(ap, fmt);
	dbtest_vformat(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (mysql_real_query(m, sql, strlen(sql)) != 0)
		ck_abort_msg("%s: %s (%u)", sql, mysql_error(m), mysql_errno(m));
	if ((res = mysql_store_result(m)) != NULL)
		mysql_free_result(res);
}

unsigned int
kg_test_sql_errno(MYSQL *m, const char *sql)
{
	MYSQL_RES	*res;

	if (mysql_real_query(m, sql, strlen(sql)) != 0)
		return mysql_errno(m);
	if ((res = mysql_store_result(m)) != NULL)
		mysql_free_result(res);
	return 0;
}

static long long
dbtest_vscalar(MYSQL *m, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static long long
dbtest_vscalar(MYSQL *m, const char *fmt, va_list ap)
{
	char		 sql[8192];
	MYSQL_RES	*res;
	MYSQL_ROW	 row;
	long long	 v = -1;

	dbtest_vformat(sql, sizeof(sql), fmt, ap);
	if (mysql_real_query(m, sql, strlen(sql)) != 0)
		ck_abort_msg("%s: %s (%u)", sql, mysql_error(m), mysql_errno(m));
	if ((res = mysql_store_result(m)) == NULL)
		ck_abort_msg("%s: no result: %s", sql, mysql_error(m));
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
		v = strtoll(row[0], NULL, 10);
	mysql_free_result(res);
	return v;
}

long long
kg_test_scalar(MYSQL *m, const char *fmt, ...)
{
	va_list		ap;
	long long	v;

	va_start(ap, fmt);
	v = dbtest_vscalar(m, fmt, ap);
	va_end(ap);
	return v;
}

long long
kg_test_db_scalar(const struct kg_config *cfg, const char *fmt, ...)
{
	va_list		 ap;
	long long	 v;
	MYSQL		*m = kg_test_conn(cfg);

	va_start(ap, fmt);
	v = dbtest_vscalar(m, fmt, ap);
	va_end(ap);
	mysql_close(m);
	return v;
}

struct kg_db *
kg_test_db_open(const struct kg_config *cfg)
{
	struct kg_db	*db = NULL;

	ck_assert_int_eq(kg_db_open(&db, cfg), KG_OK);
	return db;
}

void
kg_test_race(const struct kg_config *cfg, int n,
    int (*fn)(struct kg_db *, int, void *), void *arg, int *codes)
{
	pid_t	pids[64];
	int	gate[2], i, status;
	char	b;

	ck_assert_int_le(n, 64);
	ck_assert_int_eq(pipe(gate), 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0) {
			struct kg_db	*db = NULL;
			ssize_t		 got;
			int		 rc;

			/* Start together: wait until the parent closes the pipe. */
			close(gate[1]);
			do
				got = read(gate[0], &b, 1);
			while (got < 0 && errno == EINTR);
			if (kg_db_open(&db, cfg) != KG_OK)
				_exit(100);
			rc = fn(db, i, arg);
			kg_db_close(db);
			_exit(rc);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		codes[i] = WEXITSTATUS(status);
	}
}

int
kg_test_run(Suite *s)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
