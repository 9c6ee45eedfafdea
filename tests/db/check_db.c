/*
 * check_db.c: core/store/db.c and core/store/migrate.c against a real
 * MariaDB, plus the keygate-admin binary.  See dbtest.h for the server.
 *
 * Failure modes first: concurrent migrations, refused schema directories,
 * deadlocks, killed connections, an unreachable server.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "core/base/buf.h"
#include "core/base/config.h"
#include "core/base/log.h"
#include "core/base/metrics.h"
#include "core/store/db.h"
#include "core/store/migrate.h"
#include "tests/db/dbtest.h"

/* Every table the migrations of schema/ create. */
static const char *const init_tables[] = {
	"schema_migrations", "namespaces", "members", "nonces",
	"session_families", "refresh_tokens", "jwt_revocations",
	"subject_logouts", "api_keys", "apps", "install_tokens",
	"daemon_tokens", "org_tokens", "audit_events", "rate_buckets",
	"serial_locks", "revocation_epoch", NULL
};

/* ------------------------------------------------------------ helpers */

static struct kg_db *
open_db(const struct kg_config *cfg)
{
	struct kg_db	*db = NULL;

	ck_assert_int_eq(kg_db_open(&db, cfg), KG_OK);
	ck_assert_ptr_nonnull(db);
	return db;
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long
count_tables(const struct kg_config *cfg)
{
	return kg_test_db_scalar(cfg, "SELECT COUNT(*) FROM "
	    "information_schema.TABLES WHERE TABLE_SCHEMA = '%s'", cfg->db_name);
}

struct counts {
	int	ev[KG_MIGRATE__MAX];
	int	last;
};

static void
count_cb(const struct kg_migration *m, enum kg_migrate_event ev, void *arg)
{
	struct counts	*c = arg;

	ck_assert_int_lt(ev, KG_MIGRATE__MAX);
	c->ev[ev]++;
	c->last = m->m_version;
}

/* A scratch schema directory. */
static char *
tmpdir_new(void)
{
	char	*d = strdup("/tmp/kgmigrate.XXXXXX");

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void
tmpdir_put(const char *dir, const char *file, const char *text)
{
	char	 path[1024];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static void
tmpdir_rm(const char *dir, const char *file)
{
	char	path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ck_assert_int_eq(unlink(path), 0);
}

static void
tmpdir_free(char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[1024];

	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
	free(dir);
}

static struct kg_sql S_CONNID = KG_SQL("test_connection_id",
    "SELECT CONNECTION_ID()", KG_SQL_IDEMPOTENT);

static enum kg_err
int_row(const struct kg_db_row *row, void *arg)
{
	*(long long *)arg = kg_db_row_int(row, 0);
	return KG_OK;
}

static long long
connection_id(struct kg_db *db)
{
	long long	id = -1;

	ck_assert_int_eq(kg_db_query_one(db, &S_CONNID, KG_DB_NOARGS, int_row,
	    &id), KG_OK);
	ck_assert_int_gt(id, 0);
	return id;
}

/* Kills connection id from a separate session and waits until it is gone. */
static void
kill_connection(const struct kg_config *cfg, long long id)
{
	MYSQL	*m = kg_test_conn(cfg);
	int	 i;

	kg_test_sql(m, "KILL CONNECTION %lld", id);
	for (i = 0; i < 100; i++) {
		if (kg_test_scalar(m, "SELECT COUNT(*) FROM "
		    "information_schema.PROCESSLIST WHERE ID = %lld", id) == 0)
			break;
		usleep(50000);
	}
	ck_assert_int_lt(i, 100);
	mysql_close(m);
}

/* ------------------------------------------------------------ migrations */

START_TEST(migrate_twice_is_noop)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct counts		 c;
	char			 err[512] = "";
	int			 v = -1, i;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);

	ck_assert_int_eq(kg_migrate_current(db, &v), KG_OK);
	ck_assert_int_eq(v, 0);

	memset(&c, 0, sizeof(c));
	ck_assert_msg(kg_migrate_run(db, kg_test_schema_dir(), 0, count_cb, &c,
	    err, sizeof(err)) == KG_OK, "%s", err);
	ck_assert_int_eq(c.ev[KG_MIGRATE_APPLYING], KG_SCHEMA_VERSION);
	ck_assert_int_eq(c.ev[KG_MIGRATE_APPLIED], KG_SCHEMA_VERSION);
	ck_assert_int_eq(c.last, KG_SCHEMA_VERSION);
	ck_assert_int_eq(kg_migrate_current(db, &v), KG_OK);
	ck_assert_int_eq(v, KG_SCHEMA_VERSION);

	memset(&c, 0, sizeof(c));
	ck_assert_msg(kg_migrate_run(db, kg_test_schema_dir(), 0, count_cb, &c,
	    err, sizeof(err)) == KG_OK, "%s", err);
	ck_assert_int_eq(c.ev[KG_MIGRATE_APPLYING], 0);
	ck_assert_int_eq(c.ev[KG_MIGRATE_APPLIED], 0);
	ck_assert_int_eq(kg_migrate_current(db, &v), KG_OK);
	ck_assert_int_eq(v, KG_SCHEMA_VERSION);

	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "schema_migrations"), KG_SCHEMA_VERSION);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "schema_migrations WHERE version = 1 AND name = 'init' AND "
	    "applied_at <= UTC_TIMESTAMP(6)"), 1);
	for (i = 0; init_tables[i] != NULL; i++)
		ck_assert_msg(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
		    "information_schema.TABLES WHERE TABLE_SCHEMA = '%s' AND "
		    "TABLE_NAME = '%s' AND ENGINE = 'InnoDB'", cfg.db_name,
		    init_tables[i]) == 1, "table %s missing", init_tables[i]);
	ck_assert_int_eq(count_tables(&cfg), i);

	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(migrate_dry_run_applies_nothing)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct counts		 c;
	char			 err[512] = "";
	int			 v = -1;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	memset(&c, 0, sizeof(c));
	ck_assert_msg(kg_migrate_run(db, kg_test_schema_dir(), 1, count_cb, &c,
	    err, sizeof(err)) == KG_OK, "%s", err);
	ck_assert_int_eq(c.ev[KG_MIGRATE_PENDING], KG_SCHEMA_VERSION);
	ck_assert_int_eq(c.ev[KG_MIGRATE_APPLYING], 0);
	ck_assert_int_eq(c.ev[KG_MIGRATE_APPLIED], 0);
	ck_assert_int_eq(kg_migrate_current(db, &v), KG_OK);
	ck_assert_int_eq(v, 0);
	/* Not even the bookkeeping table. */
	ck_assert_int_eq(count_tables(&cfg), 0);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(migrate_status_reports_pending)
{
	struct kg_config	 cfg;
	struct kg_migrate_status st;
	struct kg_db		*db;
	struct counts		 c;
	char			 err[512] = "";

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	memset(&c, 0, sizeof(c));
	ck_assert_msg(kg_migrate_pending(db, kg_test_schema_dir(), &st,
	    count_cb, &c, err, sizeof(err)) == KG_OK, "%s", err);
	ck_assert_int_eq(st.ms_current, 0);
	ck_assert_int_eq(st.ms_expected, KG_SCHEMA_VERSION);
	ck_assert_int_eq(st.ms_available, KG_SCHEMA_VERSION);
	ck_assert_int_eq(st.ms_pending, KG_SCHEMA_VERSION);
	ck_assert_int_eq(c.ev[KG_MIGRATE_PENDING], KG_SCHEMA_VERSION);
	ck_assert_int_eq(count_tables(&cfg), 0);

	ck_assert_msg(kg_migrate_run(db, kg_test_schema_dir(), 0, NULL, NULL,
	    err, sizeof(err)) == KG_OK, "%s", err);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(kg_migrate_pending(db, kg_test_schema_dir(), &st,
	    count_cb, &c, err, sizeof(err)), KG_OK);
	ck_assert_int_eq(st.ms_current, KG_SCHEMA_VERSION);
	ck_assert_int_eq(st.ms_pending, 0);
	ck_assert_int_eq(c.ev[KG_MIGRATE_PENDING], 0);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

#define NMIGRATORS	6

START_TEST(migrate_concurrent_processes)
{
	struct kg_config	 cfg;
	pid_t			 pids[NMIGRATORS];
	int			 gate[2], i, status, applied = 0;
	char			 b;

	kg_test_db_config_empty(&cfg);
	ck_assert_int_eq(pipe(gate), 0);
	for (i = 0; i < NMIGRATORS; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0) {
			struct kg_db	*db = NULL;
			struct counts	 c;
			char		 err[512] = "";
			enum kg_err	 r;

			/* Start together: wait until the parent closes the pipe. */
			close(gate[1]);
			while (read(gate[0], &b, 1) < 0 && errno == EINTR)
				continue;
			memset(&c, 0, sizeof(c));
			if (kg_db_open(&db, &cfg) != KG_OK)
				_exit(100);
			r = kg_migrate_run(db, kg_test_schema_dir(), 0, count_cb,
			    &c, err, sizeof(err));
			if (r != KG_OK)
				fprintf(stderr, "child %d: %s\n", i, err);
			kg_db_close(db);
			_exit(r == KG_OK ? c.ev[KG_MIGRATE_APPLIED] : 100);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (i = 0; i < NMIGRATORS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_lt(WEXITSTATUS(status), 100);
		applied += WEXITSTATUS(status);
	}
	/* Each file applied by exactly one of them, recorded once. */
	ck_assert_int_eq(applied, KG_SCHEMA_VERSION);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "schema_migrations"), KG_SCHEMA_VERSION);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(migrate_refuses_bad_directories)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_migration	*list = NULL;
	size_t			 n = 99;
	char			*dir, err[512];
	int			 v = -1;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	dir = tmpdir_new();

	/* A gap. */
	tmpdir_put(dir, "001_a.sql", "CREATE TABLE IF NOT EXISTS a (id INT PRIMARY KEY);\n");
	tmpdir_put(dir, "003_c.sql", "CREATE TABLE IF NOT EXISTS c (id INT PRIMARY KEY);\n");
	err[0] = '\0';
	ck_assert_int_eq(kg_migrate_list(dir, &list, &n, err, sizeof(err)),
	    KG_ERR_INVALID);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n, 0);
	ck_assert_msg(strstr(err, "003_c.sql") != NULL &&
	    strstr(err, "missing") != NULL, "%s", err);
	err[0] = '\0';
	ck_assert_int_eq(kg_migrate_run(db, dir, 0, NULL, NULL, err,
	    sizeof(err)), KG_ERR_INVALID);
	ck_assert_str_ne(err, "");
	ck_assert_int_eq(count_tables(&cfg), 0);

	/* A duplicate. */
	tmpdir_rm(dir, "003_c.sql");
	tmpdir_put(dir, "001_b.sql", "CREATE TABLE IF NOT EXISTS b (id INT PRIMARY KEY);\n");
	err[0] = '\0';
	ck_assert_int_eq(kg_migrate_run(db, dir, 0, NULL, NULL, err,
	    sizeof(err)), KG_ERR_INVALID);
	ck_assert_msg(strstr(err, "same version") != NULL, "%s", err);
	tmpdir_rm(dir, "001_b.sql");

	/* Badly named .sql files. */
	tmpdir_put(dir, "002_Upper.sql", "SELECT 1;\n");
	ck_assert_int_eq(kg_migrate_list(dir, &list, &n, err, sizeof(err)),
	    KG_ERR_INVALID);
	tmpdir_rm(dir, "002_Upper.sql");
	tmpdir_put(dir, "2.sql", "SELECT 1;\n");
	ck_assert_int_eq(kg_migrate_list(dir, &list, &n, err, sizeof(err)),
	    KG_ERR_INVALID);
	tmpdir_rm(dir, "2.sql");
	tmpdir_put(dir, "000_zero.sql", "SELECT 1;\n");
	ck_assert_int_eq(kg_migrate_list(dir, &list, &n, err, sizeof(err)),
	    KG_ERR_INVALID);
	tmpdir_rm(dir, "000_zero.sql");

	/* Files that are not migrations are ignored. */
	tmpdir_put(dir, "README", "not sql\n");
	tmpdir_put(dir, "001_a.sql~", "backup\n");
	tmpdir_put(dir, ".002_hidden.sql", "hidden\n");
	ck_assert_int_eq(kg_migrate_list(dir, &list, &n, err, sizeof(err)),
	    KG_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(list[0].m_version, 1);
	ck_assert_str_eq(list[0].m_name, "a");
	kg_migrate_list_free(list, n);

	/* A statement without its ';': the file is refused before it runs. */
	/* Up to this binary's version. */
	tmpdir_put(dir, "002_b.sql", "SELECT 1;\n");
	tmpdir_put(dir, "003_b.sql", "SELECT 1;\n");
	tmpdir_put(dir, "001_a.sql",
	    "CREATE TABLE IF NOT EXISTS a (id INT PRIMARY KEY);\n"
	    "CREATE TABLE IF NOT EXISTS a2 (id INT PRIMARY KEY)\n");
	err[0] = '\0';
	ck_assert_int_eq(kg_migrate_run(db, dir, 0, NULL, NULL, err,
	    sizeof(err)), KG_ERR_INVALID);
	ck_assert_msg(strstr(err, "001_a.sql:2") != NULL, "%s", err);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "information_schema.TABLES WHERE TABLE_SCHEMA = '%s' AND "
	    "TABLE_NAME LIKE 'a%%'", cfg.db_name), 0);
	ck_assert_int_eq(kg_migrate_current(db, &v), KG_OK);
	ck_assert_int_eq(v, 0);

	/* An empty directory is below what the binary needs. */
	tmpdir_rm(dir, "001_a.sql");
	ck_assert_int_eq(kg_migrate_run(db, dir, 0, NULL, NULL, err,
	    sizeof(err)), KG_ERR_INVALID);

	/* No directory at all. */
	ck_assert_int_eq(kg_migrate_run(db, "/nonexistent/kg-schema", 0, NULL,
	    NULL, err, sizeof(err)), KG_ERR_IO);

	tmpdir_free(dir);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(migrate_splits_statements)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct counts		 c;
	char			*dir, err[512] = "";
	int			 v = -1;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	dir = tmpdir_new();
	tmpdir_put(dir, "001_first.sql",
	    "-- a comment line ending with a semicolon;\n"
	    "\n"
	    "CREATE TABLE IF NOT EXISTS t (\n"
	    "  id INT NOT NULL,\n"
	    "  -- a comment inside a statement\n"
	    "  v VARCHAR(20) NOT NULL DEFAULT 'x;y',\n"
	    "  PRIMARY KEY (id)\n"
	    ") ENGINE=InnoDB;   \n"
	    "   INSERT IGNORE INTO t (id) VALUES (1);\r\n"
	    "INSERT IGNORE INTO t (id, v)\r\n  VALUES (2, 'two');\r\n");
	tmpdir_put(dir, "002_second.sql",
	    "ALTER TABLE t ADD COLUMN IF NOT EXISTS w INT NULL;\n"
	    "UPDATE t SET w = id * 10;\n");
	tmpdir_put(dir, "003_third.sql", "SELECT 1;\n");
	ck_assert_msg(kg_migrate_run(db, dir, 0, NULL, NULL, err,
	    sizeof(err)) == KG_OK, "%s", err);
	ck_assert_int_eq(kg_migrate_current(db, &v), KG_OK);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM t"), 2);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT SUM(w) FROM t"), 30);
	ck_assert_int_eq(kg_test_db_scalar(&cfg,
	    "SELECT COUNT(*) FROM t WHERE v = 'x;y'"), 1);

	/* A failing statement: error, version unchanged. */
	tmpdir_put(dir, "004_broken.sql", "CREATE TABLOO nonsense;\n");
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	ck_assert_int_eq(kg_migrate_run(db, dir, 0, count_cb, &c, err,
	    sizeof(err)), KG_ERR_DB);
	ck_assert_msg(strstr(err, "004_broken.sql") != NULL, "%s", err);
	ck_assert_int_eq(c.ev[KG_MIGRATE_APPLYING], 1);
	ck_assert_int_eq(c.ev[KG_MIGRATE_APPLIED], 0);
	ck_assert_int_eq(kg_migrate_current(db, &v), KG_OK);
	ck_assert_int_eq(v, 3);
	/* The lock was released: another session can take it at once. */
	ck_assert_int_eq(kg_test_db_scalar(&cfg,
	    "SELECT GET_LOCK(CONCAT('keygate_migrate:', DATABASE()), 0)"),
	    1);

	tmpdir_free(dir);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* ------------------------------------------------------------ statements */

static struct kg_sql S_REUSE_INSERT = KG_SQL("test_reuse_insert",
    "INSERT INTO r (id, v) VALUES (?, ?)", 0);
static struct kg_sql S_COM_PREPARE = KG_SQL("test_com_stmt_prepare",
    "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'", KG_SQL_IDEMPOTENT);

static enum kg_err
status_row(const struct kg_db_row *row, void *arg)
{
	ck_assert_str_eq(kg_db_row_text(row, 0, NULL), "Com_stmt_prepare");
	*(long long *)arg = kg_db_row_int(row, 1);
	return KG_OK;
}

START_TEST(statement_prepared_once)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_db_stats	 s0, s1;
	unsigned long long	 affected;
	long long		 p0 = -1, p1 = -1, i;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	ck_assert_int_eq(kg_db_run_sql(db,
	    "CREATE TABLE r (id INT PRIMARY KEY, v INT NOT NULL)"), KG_OK);
	ck_assert_int_eq(kg_db_query_one(db, &S_COM_PREPARE, KG_DB_NOARGS,
	    status_row, &p0), KG_OK);
	kg_db_stats(db, &s0);
	for (i = 0; i < 200; i++) {
		struct kg_db_param p[] = { KG_P_INT(i), KG_P_INT(i * 2) };

		ck_assert_int_eq(kg_db_exec(db, &S_REUSE_INSERT, KG_DB_ARGS(p),
		    &affected), KG_OK);
		ck_assert_uint_eq(affected, 1);
	}
	kg_db_stats(db, &s1);
	ck_assert_uint_eq(s1.ds_prepares - s0.ds_prepares, 1);
	ck_assert_uint_eq(s1.ds_executions - s0.ds_executions, 200);
	ck_assert_uint_eq(s1.ds_connects, 1);
	/* The server agrees: one prepare in this session since p0. */
	ck_assert_int_eq(kg_db_query_one(db, &S_COM_PREPARE, KG_DB_NOARGS,
	    status_row, &p1), KG_OK);
	ck_assert_int_eq(p1 - p0, 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM r"), 200);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT SUM(v) FROM r"),
	    199 * 200);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

static struct kg_sql S_TYPES_INSERT = KG_SQL("test_types_insert",
    "INSERT INTO ty (id, i, u, d, s, b, vb, txt, dt, dec_) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 0);
static struct kg_sql S_TYPES_SELECT = KG_SQL("test_types_select",
    "SELECT id, i, u, d, s, b, vb, txt, dt, dec_ FROM ty ORDER BY id", 0);

static const unsigned char hash32[32] = {
	0x00, 0x01, 0x02, 0x00, 0xff, 0xfe, 0x10, 0x20,
	0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0,
	0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0x00, 0x00, 0x00,
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x00
};
#define UTF8_TEXT	"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80"
#define T_US		1700000000123456LL

struct types_seen {
	int	 rows;
	size_t	 txtlen[8];
};

static char *
long_text(size_t n, char c)
{
	char	*s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static enum kg_err
types_row(const struct kg_db_row *row, void *arg)
{
	struct types_seen	*t = arg;
	unsigned char		 h[32];
	char			 small[4], big[64];
	const char		*s;
	size_t			 len;
	long long		 id = kg_db_row_int(row, 0);

	ck_assert_uint_eq(kg_db_row_ncols(row), 10);
	if (id == 1) {
		ck_assert_int_eq(kg_db_row_int(row, 1), -5000000000LL);
		ck_assert_int_eq(kg_db_row_int(row, 2), 42);
		ck_assert_double_eq(kg_db_row_double(row, 3), 2.5);
		ck_assert_str_eq(kg_db_row_text(row, 4, &len), UTF8_TEXT);
		ck_assert_uint_eq(len, strlen(UTF8_TEXT));
		ck_assert_int_eq(kg_db_row_blob_copy(row, 5, h, sizeof(h)), KG_OK);
		ck_assert_int_eq(memcmp(h, hash32, 32), 0);
		ck_assert_int_eq(kg_db_row_blob_copy(row, 5, h, 31),
		    KG_ERR_INTERNAL);
		s = kg_db_row_blob(row, 6, &len);
		ck_assert_uint_eq(len, 5);
		ck_assert_int_eq(memcmp(s, "a\0b\0c", 5), 0);
		ck_assert_int_eq(kg_db_row_time_us(row, 8), T_US);
		ck_assert_int_eq(kg_db_row_time(row, 8), T_US / 1000000);
		ck_assert_str_eq(kg_db_row_text(row, 9, NULL), "12.345");
		ck_assert_double_eq_tol(kg_db_row_double(row, 9), 12.345, 1e-9);
		ck_assert_int_eq(kg_db_row_text_copy(row, 4, small,
		    sizeof(small)), KG_ERR_TOO_LARGE);
		ck_assert_str_eq(small, "");
		ck_assert_int_eq(kg_db_row_text_copy(row, 4, big, sizeof(big)),
		    KG_OK);
		ck_assert_str_eq(big, UTF8_TEXT);
		ck_assert(!kg_db_row_isnull(row, 7));
	} else if (id == 2) {
		for (size_t c = 1; c < 10; c++)
			ck_assert_msg(kg_db_row_isnull(row, c), "col %zu", c);
		ck_assert_int_eq(kg_db_row_int(row, 1), 0);
		ck_assert_ptr_null(kg_db_row_text(row, 4, &len));
		ck_assert_uint_eq(len, 0);
		ck_assert_int_eq(kg_db_row_text_copy(row, 4, big, sizeof(big)),
		    KG_ERR_NOT_FOUND);
		ck_assert_int_eq(kg_db_row_blob_copy(row, 5, h, sizeof(h)),
		    KG_ERR_NOT_FOUND);
		ck_assert_int_eq(kg_db_row_time_us(row, 8), 0);
	}
	/* Out of range: logged, read as NULL. */
	ck_assert(kg_db_row_isnull(row, 10));
	if ((s = kg_db_row_text(row, 7, &len)) != NULL) {
		ck_assert_uint_eq(strlen(s), len);
		ck_assert(len == 0 || (s[0] == s[len - 1] && s[0] >= 'a'));
	}
	ck_assert_int_lt(t->rows, 8);
	t->txtlen[t->rows++] = len;
	return KG_OK;
}

START_TEST(statement_types_round_trip)
{
	static const size_t	 lens[] = { 5000, 100, 70000, 3 };
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct types_seen	 t;
	size_t			 nrows, i;
	char			*txt;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	ck_assert_int_eq(kg_db_run_sql(db, "CREATE TABLE ty (id INT PRIMARY KEY, "
	    "i BIGINT NULL, u BIGINT UNSIGNED NULL, d DOUBLE NULL, "
	    "s VARCHAR(255) NULL, b BINARY(32) NULL, vb VARBINARY(64) NULL, "
	    "txt MEDIUMTEXT NULL, dt DATETIME(6) NULL, dec_ DECIMAL(10,3) NULL)"),
	    KG_OK);
	txt = long_text(lens[0], 'a');
	{
		struct kg_db_param p[] = { KG_P_INT(1), KG_P_INT(-5000000000LL),
		    KG_P_INT(42), KG_P_DOUBLE(2.5), KG_P_TEXT(UTF8_TEXT),
		    KG_P_BLOB(hash32, sizeof(hash32)), KG_P_BLOB("a\0b\0c", 5),
		    KG_P_TEXT(txt), KG_P_TIME_US(T_US), KG_P_TEXTN("12.345xx", 6) };

		ck_assert_int_eq(kg_db_exec(db, &S_TYPES_INSERT, KG_DB_ARGS(p),
		    NULL), KG_OK);
	}
	free(txt);
	{
		struct kg_db_param p[] = { KG_P_INT(2), KG_P_NULL(), KG_P_NULL(),
		    KG_P_NULL(), KG_P_TEXT(NULL), KG_P_BLOB(NULL, 0),
		    KG_P_BLOB(NULL, 0), KG_P_TEXT(NULL), KG_P_NULL(), KG_P_NULL() };

		ck_assert_int_eq(kg_db_exec(db, &S_TYPES_INSERT, KG_DB_ARGS(p),
		    NULL), KG_OK);
	}
	/* Text longer, shorter, much longer than the buffers grown so far. */
	for (i = 1; i < 4; i++) {
		txt = long_text(lens[i], (char)('a' + i));
		struct kg_db_param p[] = { KG_P_INT(10 + i), KG_P_NULL(),
		    KG_P_NULL(), KG_P_NULL(), KG_P_NULL(), KG_P_NULL(),
		    KG_P_NULL(), KG_P_TEXT(txt), KG_P_NULL(), KG_P_NULL() };

		ck_assert_int_eq(kg_db_exec(db, &S_TYPES_INSERT, KG_DB_ARGS(p),
		    NULL), KG_OK);
		free(txt);
	}
	for (i = 0; i < 2; i++) {
		memset(&t, 0, sizeof(t));
		ck_assert_int_eq(kg_db_query(db, &S_TYPES_SELECT, KG_DB_NOARGS,
		    types_row, &t, &nrows), KG_OK);
		ck_assert_uint_eq(nrows, 5);
		ck_assert_int_eq(t.rows, 5);
		ck_assert_uint_eq(t.txtlen[0], lens[0]);
		ck_assert_uint_eq(t.txtlen[1], 0);
		ck_assert_uint_eq(t.txtlen[2], lens[1]);
		ck_assert_uint_eq(t.txtlen[3], lens[2]);
		ck_assert_uint_eq(t.txtlen[4], lens[3]);
	}
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

static struct kg_sql S_SESSION = KG_SQL("test_session",
    "SELECT @@session.time_zone, UNIX_TIMESTAMP(UTC_TIMESTAMP(6)) - "
    "UNIX_TIMESTAMP(NOW(6)), UTC_TIMESTAMP(6), @@session.sql_mode, "
    "@@character_set_connection", KG_SQL_IDEMPOTENT);

static enum kg_err
session_row(const struct kg_db_row *row, void *arg)
{
	long long	t = kg_db_row_time(row, 2);

	(void)arg;
	ck_assert_str_eq(kg_db_row_text(row, 0, NULL), "+00:00");
	ck_assert_double_eq(kg_db_row_double(row, 1), 0);
	ck_assert_int_lt(llabs(t - (long long)time(NULL)), 5);
	ck_assert_ptr_nonnull(strstr(kg_db_row_text(row, 3, NULL),
	    "STRICT_ALL_TABLES"));
	ck_assert_str_eq(kg_db_row_text(row, 4, NULL), "utf8mb4");
	return KG_OK;
}

START_TEST(session_is_utc_strict_utf8mb4)
{
	struct kg_config	 cfg;
	struct kg_db		*db;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	ck_assert_int_eq(kg_db_query_one(db, &S_SESSION, KG_DB_NOARGS,
	    session_row, NULL), KG_OK);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

static struct kg_sql S_Q_INSERT = KG_SQL("test_q_insert",
    "INSERT INTO q (id, v) VALUES (?, ?)", 0);
static struct kg_sql S_Q_BY_ID = KG_SQL("test_q_by_id",
    "SELECT id, v FROM q WHERE id = ?", KG_SQL_IDEMPOTENT);
static struct kg_sql S_Q_ALL = KG_SQL("test_q_all",
    "SELECT id, v FROM q ORDER BY id", KG_SQL_IDEMPOTENT);
static struct kg_sql S_Q_BAD_SYNTAX = KG_SQL("test_q_bad_syntax",
    "SELEKT nothing", 0);
static struct kg_sql S_Q_NO_TABLE = KG_SQL("test_q_no_table",
    "SELECT id FROM no_such_table", 0);

static enum kg_err
stop_row(const struct kg_db_row *row, void *arg)
{
	(void)row;
	(void)arg;
	return KG_ERR_INVALID;
}

/* A row callback that (wrongly) uses the connection. */
static enum kg_err
nested_row(const struct kg_db_row *row, void *arg)
{
	struct kg_db		*db = arg;
	struct kg_db_param	 p[] = { KG_P_INT(100), KG_P_INT(0) };

	(void)row;
	ck_assert_int_eq(kg_db_exec(db, &S_Q_INSERT, KG_DB_ARGS(p), NULL),
	    KG_ERR_INTERNAL);
	return KG_OK;
}

START_TEST(statement_errors_and_callbacks)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	unsigned long long	 affected = 99;
	size_t			 nrows = 99;
	long long		 v = -1;
	int			 i;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	ck_assert_int_eq(kg_db_run_sql(db,
	    "CREATE TABLE q (id INT PRIMARY KEY, v INT NOT NULL)"), KG_OK);
	for (i = 1; i <= 3; i++) {
		struct kg_db_param p[] = { KG_P_INT(i), KG_P_INT(i * 10) };

		ck_assert_int_eq(kg_db_exec(db, &S_Q_INSERT, KG_DB_ARGS(p),
		    &affected), KG_OK);
		ck_assert_uint_eq(affected, 1);
		ck_assert_uint_eq(kg_db_insert_id(db), 0);
	}
	{
		/* Duplicate key: a conflict, not a database failure. */
		struct kg_db_param p[] = { KG_P_INT(1), KG_P_INT(0) };

		ck_assert_int_eq(kg_db_exec(db, &S_Q_INSERT, KG_DB_ARGS(p),
		    &affected), KG_ERR_CONFLICT);
		ck_assert_uint_eq(affected, 0);
	}
	{
		struct kg_db_param p[] = { KG_P_INT(2) };
		struct kg_db_param none[] = { KG_P_INT(99) };
		struct kg_db_param two[] = { KG_P_INT(2), KG_P_INT(3) };

		ck_assert_int_eq(kg_db_query_one(db, &S_Q_BY_ID, KG_DB_ARGS(p),
		    int_row, &v), KG_OK);
		ck_assert_int_eq(v, 2);
		ck_assert_int_eq(kg_db_query_one(db, &S_Q_BY_ID,
		    KG_DB_ARGS(none), int_row, &v), KG_ERR_NOT_FOUND);
		/* Wrong number of parameters. */
		ck_assert_int_eq(kg_db_query_one(db, &S_Q_BY_ID,
		    KG_DB_ARGS(two), int_row, &v), KG_ERR_INTERNAL);
		ck_assert_int_eq(kg_db_query_one(db, &S_Q_BY_ID, KG_DB_NOARGS,
		    int_row, &v), KG_ERR_INTERNAL);
	}
	/* Several rows where one was expected. */
	ck_assert_int_eq(kg_db_query_one(db, &S_Q_ALL, KG_DB_NOARGS, int_row,
	    &v), KG_ERR_INTERNAL);
	/* The callback stops the iteration with its own error. */
	ck_assert_int_eq(kg_db_query(db, &S_Q_ALL, KG_DB_NOARGS, stop_row, NULL,
	    &nrows), KG_ERR_INVALID);
	ck_assert_uint_eq(nrows, 1);
	/* Counting only. */
	ck_assert_int_eq(kg_db_query(db, &S_Q_ALL, KG_DB_NOARGS, NULL, NULL,
	    &nrows), KG_OK);
	ck_assert_uint_eq(nrows, 3);
	/* Issuing a statement from a row callback is refused. */
	ck_assert_int_eq(kg_db_query(db, &S_Q_ALL, KG_DB_NOARGS, nested_row, db,
	    &nrows), KG_OK);
	ck_assert_uint_eq(nrows, 3);
	/* Bad SQL. */
	ck_assert_int_eq(kg_db_exec(db, &S_Q_BAD_SYNTAX, KG_DB_NOARGS, NULL),
	    KG_ERR_DB);
	ck_assert_int_eq(kg_db_query(db, &S_Q_NO_TABLE, KG_DB_NOARGS, NULL,
	    NULL, NULL), KG_ERR_DB);
	ck_assert_int_eq(kg_db_run_sql(db, "DROP TABLE no_such_table"),
	    KG_ERR_DB);
	/* The connection is still fine after all that. */
	ck_assert_int_eq(kg_db_query(db, &S_Q_ALL, KG_DB_NOARGS, NULL, NULL,
	    &nrows), KG_OK);
	ck_assert_uint_eq(nrows, 3);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM q"), 3);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

static struct kg_sql S_AI_INSERT = KG_SQL("test_ai_insert",
    "INSERT INTO ai (v) VALUES (?)", 0);

START_TEST(statement_insert_id)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_db_param	 p[] = { KG_P_TEXT("x") };

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	ck_assert_int_eq(kg_db_run_sql(db, "CREATE TABLE ai (id BIGINT UNSIGNED "
	    "AUTO_INCREMENT PRIMARY KEY, v VARCHAR(8)) AUTO_INCREMENT = 41"),
	    KG_OK);
	ck_assert_int_eq(kg_db_exec(db, &S_AI_INSERT, KG_DB_ARGS(p), NULL),
	    KG_OK);
	ck_assert_uint_eq(kg_db_insert_id(db), 41);
	ck_assert_int_eq(kg_db_exec(db, &S_AI_INSERT, KG_DB_ARGS(p), NULL),
	    KG_OK);
	ck_assert_uint_eq(kg_db_insert_id(db), 42);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

static struct kg_sql S_Q_SET = KG_SQL("test_q_set",
    "UPDATE q SET v = ? WHERE id = ?", KG_SQL_IDEMPOTENT);

START_TEST(statement_affected_counts_matched_rows)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	unsigned long long	 affected = 99;
	struct kg_db_param	 same[] = { KG_P_INT(10), KG_P_INT(1) };
	struct kg_db_param	 none[] = { KG_P_INT(10), KG_P_INT(99) };

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	ck_assert_int_eq(kg_db_run_sql(db, "CREATE TABLE q (id INT PRIMARY KEY, "
	    "v INT NOT NULL)"), KG_OK);
	ck_assert_int_eq(kg_db_run_sql(db, "INSERT INTO q VALUES (1, 10)"), KG_OK);
	/* Setting the value it already has still matches the row. */
	ck_assert_int_eq(kg_db_exec(db, &S_Q_SET, KG_DB_ARGS(same), &affected),
	    KG_OK);
	ck_assert_uint_eq(affected, 1);
	ck_assert_int_eq(kg_db_exec(db, &S_Q_SET, KG_DB_ARGS(none), &affected),
	    KG_OK);
	ck_assert_uint_eq(affected, 0);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(handle_inherited_across_fork)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_db_stats	 st;
	long long		 id;
	pid_t			 pid;
	int			 status;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	id = connection_id(db);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		long long	cid = -1;
		enum kg_err	r;

		/* The child gets a session of its own ... */
		r = kg_db_query_one(db, &S_CONNID, KG_DB_NOARGS, int_row, &cid);
		kg_db_close(db);
		_exit(r == KG_OK && cid > 0 && cid != id ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* ... and closing it left the parent's session alone. */
	ck_assert_int_eq(connection_id(db), id);
	kg_db_stats(db, &st);
	ck_assert_uint_eq(st.ds_connects, 1);
	ck_assert_uint_eq(st.ds_errors, 0);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* ------------------------------------------------------------ transactions */

struct txn_arg {
	int		 runs;
	enum kg_err	 ret;		/* what fn returns after its work */
	int		 id;
	int		 kill_first;	/* kill own connection in run 1 */
	int		 swallow;	/* ... and hide the error from kg_db_txn */
	const struct kg_config *cfg;
};

static enum kg_err
txn_insert(struct kg_db *db, void *arg)
{
	struct txn_arg		*a = arg;
	struct kg_db_param	 p[] = { KG_P_INT(a->id), KG_P_INT(a->runs) };
	enum kg_err		 r;

	a->runs++;
	ck_assert(kg_db_in_txn(db));
	if ((r = kg_db_exec(db, &S_Q_INSERT, KG_DB_ARGS(p), NULL)) != KG_OK)
		return r;
	return a->ret;
}

static enum kg_err
txn_nested(struct kg_db *db, void *arg)
{
	return kg_db_txn(db, txn_insert, arg);
}

START_TEST(txn_commit_rollback_nesting)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct txn_arg		 a;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	ck_assert_int_eq(kg_db_run_sql(db,
	    "CREATE TABLE q (id INT PRIMARY KEY, v INT NOT NULL)"), KG_OK);
	ck_assert(!kg_db_in_txn(db));

	memset(&a, 0, sizeof(a));
	a.id = 1;
	ck_assert_int_eq(kg_db_txn(db, txn_insert, &a), KG_OK);
	ck_assert_int_eq(a.runs, 1);
	ck_assert(!kg_db_in_txn(db));
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM q "
	    "WHERE id = 1"), 1);

	/* fn fails after its insert: rolled back, its error returned. */
	memset(&a, 0, sizeof(a));
	a.id = 2;
	a.ret = KG_ERR_NOT_FOUND;
	ck_assert_int_eq(kg_db_txn(db, txn_insert, &a), KG_ERR_NOT_FOUND);
	ck_assert_int_eq(a.runs, 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM q "
	    "WHERE id = 2"), 0);

	/* A conflict inside: rolled back, not retried. */
	memset(&a, 0, sizeof(a));
	a.id = 1;
	ck_assert_int_eq(kg_db_txn(db, txn_insert, &a), KG_ERR_CONFLICT);
	ck_assert_int_eq(a.runs, 1);

	/* No nesting. */
	memset(&a, 0, sizeof(a));
	a.id = 3;
	ck_assert_int_eq(kg_db_txn(db, txn_nested, &a), KG_ERR_INTERNAL);
	ck_assert_int_eq(a.runs, 0);
	ck_assert(!kg_db_in_txn(db));
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM q"), 1);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* keygate_db_errors_total{kind="statement"} as /metrics renders it. */
static unsigned long long
statement_errors(void)
{
	static const char	 series[] =
	    "keygate_db_errors_total{kind=\"statement\"} ";
	struct kg_buf		 b;
	const char		*p;
	unsigned long long	 n;

	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(kg_metrics_render(&b, NULL, NULL), KG_OK);
	ck_assert_ptr_nonnull(p = strstr(b.b_data, series));
	n = strtoull(p + sizeof(series) - 1, NULL, 10);
	kg_buf_free(&b);
	return n;
}

static struct kg_sql S_NO_TABLE = KG_SQL("test_no_table",
    "SELECT id FROM no_such_table", 0);

static enum kg_err
txn_no_table(struct kg_db *db, void *arg)
{
	(void)arg;
	return kg_db_exec(db, &S_NO_TABLE, NULL, 0, NULL);
}

/* A failure that reaches the caller counts once, in or out of kg_db_txn. */
START_TEST(statement_error_counted)
{
	struct kg_config	 cfg;
	struct kg_db		*db;

	kg_test_db_config_empty(&cfg);
	db = open_db(&cfg);
	kg_metrics_reset();
	ck_assert_int_eq(kg_db_exec(db, &S_NO_TABLE, NULL, 0, NULL), KG_ERR_DB);
	ck_assert_uint_eq(statement_errors(), 1);
	ck_assert_int_eq(kg_db_txn(db, txn_no_table, NULL), KG_ERR_DB);
	ck_assert_uint_eq(statement_errors(), 2);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

static enum kg_err
txn_always_retry(struct kg_db *db, void *arg)
{
	(void)db;
	(*(int *)arg)++;
	return KG_ERR_DB_RETRY;
}

START_TEST(txn_retry_is_bounded)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_db_stats	 st;
	int			 runs = 0;

	kg_test_db_config_empty(&cfg);
	cfg.db_retries = 2;
	db = open_db(&cfg);
	ck_assert_int_eq(kg_db_txn(db, txn_always_retry, &runs),
	    KG_ERR_DB_RETRY);
	ck_assert_int_eq(runs, 3);
	kg_db_stats(db, &st);
	ck_assert_uint_eq(st.ds_txn_retries, 2);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

static struct kg_sql S_DL_UPDATE = KG_SQL("test_deadlock_update",
    "UPDATE dl SET v = v + 1 WHERE id = ?", 0);

struct deadlock_arg {
	int	runs;
	int	go_fd;		/* tells the other party we hold row 1 */
};

/*
 * The victim: locks row 1, lets the other party (which holds row 2 and
 * many more) ask for row 1, then asks for row 2.  InnoDB rolls back the
 * smaller transaction, this one; kg_db_txn must run it again.
 */
static enum kg_err
txn_deadlock_victim(struct kg_db *db, void *arg)
{
	struct deadlock_arg	*a = arg;
	struct kg_db_param	 p1[] = { KG_P_INT(1) }, p2[] = { KG_P_INT(2) };
	enum kg_err		 r;

	a->runs++;
	if ((r = kg_db_exec(db, &S_DL_UPDATE, KG_DB_ARGS(p1), NULL)) != KG_OK)
		return r;
	if (a->runs == 1) {
		ck_assert_int_eq(write(a->go_fd, "g", 1), 1);
		/* Let the other party block on row 1 first. */
		usleep(200000);
	}
	return kg_db_exec(db, &S_DL_UPDATE, KG_DB_ARGS(p2), NULL);
}

START_TEST(txn_retried_after_deadlock)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct deadlock_arg	 a;
	MYSQL			*m;
	pid_t			 pid;
	int			 ready[2], go[2], status, i;
	char			 b;

	kg_test_db_config_empty(&cfg);
	m = kg_test_conn(&cfg);
	kg_test_sql(m, "CREATE TABLE dl (id INT PRIMARY KEY, v INT NOT NULL) "
	    "ENGINE=InnoDB");
	for (i = 1; i <= 60; i++)
		kg_test_sql(m, "INSERT INTO dl VALUES (%d, 0)", i);
	mysql_close(m);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);

	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		/* The other party: a heavy transaction holding rows 2..60. */
		MYSQL	*c = kg_test_conn(&cfg);

		if (kg_test_sql_errno(c, "START TRANSACTION") != 0 ||
		    kg_test_sql_errno(c, "UPDATE dl SET v = v + 1 "
		    "WHERE id BETWEEN 2 AND 60") != 0)
			_exit(10);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &b, 1) != 1)
			_exit(11);
		/* Blocks on the victim's row 1 until the victim is rolled back. */
		if (kg_test_sql_errno(c, "UPDATE dl SET v = v + 1 WHERE id = 1") != 0)
			_exit(12);
		if (kg_test_sql_errno(c, "COMMIT") != 0)
			_exit(13);
		mysql_close(c);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	ck_assert_int_eq(read(ready[0], &b, 1), 1);

	db = open_db(&cfg);
	memset(&a, 0, sizeof(a));
	a.go_fd = go[1];
	kg_metrics_reset();
	ck_assert_int_eq(kg_db_txn(db, txn_deadlock_victim, &a), KG_OK);
	ck_assert_int_ge(a.runs, 2);
	/* The deadlock was retried into success: not a database error. */
	ck_assert_uint_eq(statement_errors(), 0);

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* Both committed once: the victim's first run left no trace. */
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT v FROM dl WHERE id = 1"), 2);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT v FROM dl WHERE id = 2"), 2);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT v FROM dl WHERE id = 3"), 1);
	close(ready[0]);
	close(go[1]);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* ------------------------------------------------------------ lost connections */

static struct kg_sql S_LOST_IDEMPOTENT = KG_SQL("test_lost_idempotent",
    "UPDATE q SET v = ? WHERE id = 1", KG_SQL_IDEMPOTENT);
static struct kg_sql S_LOST_INSERT = KG_SQL("test_lost_insert",
    "INSERT INTO q (id, v) VALUES (?, 0)", 0);
static struct kg_sql S_LOST_FRESH = KG_SQL("test_lost_fresh_insert",
    "INSERT INTO q (id, v) VALUES (?, 1)", 0);

static struct kg_db *
lost_setup(struct kg_config *cfg)
{
	struct kg_db	*db;

	kg_test_db_config_empty(cfg);
	db = open_db(cfg);
	ck_assert_int_eq(kg_db_run_sql(db, "CREATE TABLE q (id INT PRIMARY KEY, "
	    "v INT NOT NULL)"), KG_OK);
	ck_assert_int_eq(kg_db_run_sql(db, "INSERT INTO q VALUES (1, 0)"), KG_OK);
	return db;
}

START_TEST(lost_connection_idempotent_reconnects)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_db_stats	 st;
	struct kg_db_param	 p[] = { KG_P_INT(7) };
	long long		 id1, id2;
	size_t			 nrows;

	db = lost_setup(&cfg);
	id1 = connection_id(db);
	kill_connection(&cfg, id1);
	ck_assert_int_eq(kg_db_exec(db, &S_LOST_IDEMPOTENT, KG_DB_ARGS(p), NULL),
	    KG_OK);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT v FROM q WHERE id = 1"), 7);
	kg_db_stats(db, &st);
	ck_assert_uint_eq(st.ds_connects, 2);
	ck_assert_uint_eq(st.ds_reconnects, 1);
	id2 = connection_id(db);
	ck_assert_int_ne(id1, id2);

	/* Queries too. */
	kill_connection(&cfg, id2);
	ck_assert_int_eq(kg_db_query(db, &S_Q_ALL, KG_DB_NOARGS, NULL, NULL,
	    &nrows), KG_OK);
	ck_assert_uint_eq(nrows, 1);
	kg_db_stats(db, &st);
	ck_assert_uint_eq(st.ds_reconnects, 2);

	/* And the ping of /ready. */
	kill_connection(&cfg, connection_id(db));
	ck_assert_int_eq(kg_db_ping(db), KG_OK);
	ck_assert_int_ne(connection_id(db), id2);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(lost_connection_not_idempotent_fails)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_db_stats	 st;
	struct kg_db_param	 p2[] = { KG_P_INT(2) }, p3[] = { KG_P_INT(3) };

	db = lost_setup(&cfg);
	/* Prepared on this connection, so the next failure is at execute. */
	ck_assert_int_eq(kg_db_exec(db, &S_LOST_INSERT, KG_DB_ARGS(p2), NULL),
	    KG_OK);
	kill_connection(&cfg, connection_id(db));
	ck_assert_int_eq(kg_db_exec(db, &S_LOST_INSERT, KG_DB_ARGS(p3), NULL),
	    KG_ERR_DB_LOST);
	kg_db_stats(db, &st);
	ck_assert_uint_eq(st.ds_reconnects, 0);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM q"), 2);
	/* The next call connects again. */
	ck_assert_int_eq(kg_db_exec(db, &S_LOST_INSERT, KG_DB_ARGS(p3), NULL),
	    KG_OK);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM q"), 3);
	kg_db_stats(db, &st);
	ck_assert_uint_eq(st.ds_connects, 2);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(lost_connection_before_prepare_is_rerun)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_db_stats	 st;
	struct kg_db_param	 p[] = { KG_P_INT(5) };

	/* Never prepared: the failure is at prepare, so nothing ran. */
	db = lost_setup(&cfg);
	kill_connection(&cfg, connection_id(db));
	ck_assert_int_eq(kg_db_exec(db, &S_LOST_FRESH, KG_DB_ARGS(p), NULL),
	    KG_OK);
	kg_db_stats(db, &st);
	ck_assert_uint_eq(st.ds_reconnects, 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM q "
	    "WHERE id = 5"), 1);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

static enum kg_err
txn_killed(struct kg_db *db, void *arg)
{
	struct txn_arg		*a = arg;
	struct kg_db_param	 p[] = { KG_P_INT(50) }, u[] = { KG_P_INT(9) };
	enum kg_err		 r;

	a->runs++;
	if ((r = kg_db_exec(db, &S_LOST_INSERT, KG_DB_ARGS(p), NULL)) != KG_OK)
		return r;
	if (a->runs == 1 && a->kill_first) {
		kill_connection(a->cfg, connection_id(db));
		r = kg_db_exec(db, &S_LOST_IDEMPOTENT, KG_DB_ARGS(u), NULL);
		ck_assert_int_eq(r, KG_ERR_DB_LOST);
		/* Whatever follows fails too: the transaction is gone. */
		ck_assert_int_eq(kg_db_exec(db, &S_LOST_IDEMPOTENT,
		    KG_DB_ARGS(u), NULL), KG_ERR_DB_LOST);
		return a->swallow ? KG_OK : r;
	}
	return kg_db_exec(db, &S_LOST_IDEMPOTENT, KG_DB_ARGS(u), NULL);
}

START_TEST(lost_connection_in_txn_reruns_once)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct txn_arg		 a;
	int			 swallow;

	for (swallow = 0; swallow < 2; swallow++) {
		db = lost_setup(&cfg);
		memset(&a, 0, sizeof(a));
		a.kill_first = 1;
		a.swallow = swallow;
		a.cfg = &cfg;
		ck_assert_int_eq(kg_db_txn(db, txn_killed, &a), KG_OK);
		ck_assert_int_eq(a.runs, 2);
		ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM q "
		    "WHERE id = 50"), 1);
		ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT v FROM q "
		    "WHERE id = 1"), 9);
		kg_db_close(db);
		kg_test_db_teardown(&cfg);
	}
}
END_TEST

/* ------------------------------------------------------------ unreachable */

static void
unreachable_config(struct kg_config *cfg, const char *sock, unsigned port)
{
	char	err[512];

	memset(cfg, 0, sizeof(*cfg));
	ck_assert_msg(kg_config_load(cfg, NULL, err, sizeof(err)) == KG_OK,
	    "%s", err);
	free(cfg->db_socket);
	ck_assert_ptr_nonnull(cfg->db_socket = strdup(sock));
	free(cfg->db_host);
	ck_assert_ptr_nonnull(cfg->db_host = strdup("127.0.0.1"));
	cfg->db_port = port;
	cfg->db_connect_timeout = 1;
	cfg->db_read_timeout = 10;
	cfg->db_write_timeout = 10;
}

static void
assert_unreachable(const struct kg_config *cfg, double limit)
{
	struct kg_db		*db = open_db(cfg);
	struct kg_db_param	 p[] = { KG_P_INT(1) };
	double			 t0 = now_s();

	ck_assert_int_eq(kg_db_ping(db), KG_ERR_DB);
	ck_assert_int_eq(kg_db_exec(db, &S_LOST_INSERT, KG_DB_ARGS(p), NULL),
	    KG_ERR_DB);
	ck_assert_int_eq(kg_db_txn(db, txn_always_retry, &(int){ 0 }), KG_ERR_DB);
	ck_assert_msg(now_s() - t0 < limit, "took %.1f s", now_s() - t0);
	kg_db_close(db);
}

START_TEST(unreachable_server_fails_fast)
{
	struct kg_config	 cfg;
	struct sockaddr_un	 sun;
	char			 path[96], longpath[200];
	int			 fd;

	/* No such socket. */
	unreachable_config(&cfg, "/nonexistent/keygate-test.sock", 0);
	assert_unreachable(&cfg, 3);
	kg_config_free(&cfg);

	/* Nothing listening on the TCP port. */
	unreachable_config(&cfg, "", 1);
	assert_unreachable(&cfg, 3);
	kg_config_free(&cfg);

	/* A socket path too long for sun_path. */
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	unreachable_config(&cfg, longpath, 0);
	assert_unreachable(&cfg, 1);
	kg_config_free(&cfg);

	/*
	 * A server that accepts nothing and says nothing: the connect timeout
	 * (1 s) bounds each attempt, not the read timeout (10 s).
	 */
	snprintf(path, sizeof(path), "/tmp/kg-hung-%ld.sock", (long)getpid());
	unlink(path);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	unreachable_config(&cfg, path, 0);
	assert_unreachable(&cfg, 8);
	kg_config_free(&cfg);
	close(fd);
	unlink(path);
}
END_TEST

/* ------------------------------------------------------------ keygate-admin */

/* Runs keygate-admin against cfg's database; returns its exit status. */
static int
run_admin(const struct kg_config *cfg, const char *args, char *out,
    size_t outlen)
{
	const char	*top = getenv("top_builddir");
	char		 cmd[4096];
	FILE		*p;
	size_t		 n = 0;
	int		 status;

	snprintf(cmd, sizeof(cmd), "KEYGATE_DB_SOCKET='%s' KEYGATE_DB_USER=root "
	    "KEYGATE_DB_PASSWORD= KEYGATE_DB_NAME='%s' '%s/keygate-admin' %s "
	    "2>/dev/null", cfg->db_socket, cfg->db_name, top, args);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	if (out != NULL) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	} else
		while (fread(cmd, 1, sizeof(cmd), p) > 0)
			continue;
	status = pclose(p);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(admin_status_and_migrate)
{
	struct kg_config	 cfg;
	const char		*top = getenv("top_builddir");
	char			 path[1024], args[1100], cmd[1200], out[4096];

	if (top == NULL) {
		fprintf(stderr, "top_builddir not set: keygate-admin not tested\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/keygate-admin", top);
	ck_assert_msg(access(path, X_OK) == 0, "%s not built", path);
	kg_test_db_config_empty(&cfg);
	snprintf(args, sizeof(args), "--schema-dir '%s'", kg_test_schema_dir());

	snprintf(cmd, sizeof(cmd), "status %s", args);
	ck_assert_int_eq(run_admin(&cfg, cmd, NULL, 0), 1);
	snprintf(cmd, sizeof(cmd), "--json migrate --dry-run %s", args);
	ck_assert_int_eq(run_admin(&cfg, cmd, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "\"pending\":[{\"version\":1,\"name\":\"init\"},"
	    "{\"version\":2,\"name\":\"serial_locks\"},"
	    "{\"version\":3,\"name\":\"revocation_epoch\"}]") != NULL, "%s",
	    out);
	ck_assert_int_eq(count_tables(&cfg), 0);
	snprintf(cmd, sizeof(cmd), "migrate %s", args);
	ck_assert_int_eq(run_admin(&cfg, cmd, NULL, 0), 0);
	ck_assert_int_eq(run_admin(&cfg, cmd, NULL, 0), 0);
	snprintf(cmd, sizeof(cmd), "--json status %s", args);
	ck_assert_int_eq(run_admin(&cfg, cmd, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "\"up_to_date\":true") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\"schema_version\":3") != NULL, "%s", out);

	/* Usage errors and a bad schema directory: 2. */
	ck_assert_int_eq(run_admin(&cfg, "frobnicate", NULL, 0), 2);
	ck_assert_int_eq(run_admin(&cfg, "", NULL, 0), 2);
	ck_assert_int_eq(run_admin(&cfg, "migrate --bogus", NULL, 0), 2);
	ck_assert_int_eq(run_admin(&cfg, "status extra", NULL, 0), 2);
	ck_assert_int_eq(run_admin(&cfg, "status --schema-dir /nonexistent",
	    NULL, 0), 2);
	ck_assert_int_eq(run_admin(&cfg, "-c /nonexistent/keygate.conf status",
	    NULL, 0), 2);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* ------------------------------------------------------------ main */

static Suite *
db_suite(void)
{
	Suite	*s = suite_create("db");
	TCase	*tc;

	tc = tcase_create("migrate");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, migrate_twice_is_noop);
	tcase_add_test(tc, migrate_dry_run_applies_nothing);
	tcase_add_test(tc, migrate_status_reports_pending);
	tcase_add_test(tc, migrate_concurrent_processes);
	tcase_add_test(tc, migrate_refuses_bad_directories);
	tcase_add_test(tc, migrate_splits_statements);
	suite_add_tcase(s, tc);

	tc = tcase_create("statements");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, statement_prepared_once);
	tcase_add_test(tc, statement_types_round_trip);
	tcase_add_test(tc, session_is_utc_strict_utf8mb4);
	tcase_add_test(tc, statement_errors_and_callbacks);
	tcase_add_test(tc, statement_insert_id);
	tcase_add_test(tc, statement_affected_counts_matched_rows);
	tcase_add_test(tc, handle_inherited_across_fork);
	suite_add_tcase(s, tc);

	tc = tcase_create("transactions");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, txn_commit_rollback_nesting);
	tcase_add_test(tc, txn_retry_is_bounded);
	tcase_add_test(tc, statement_error_counted);
	tcase_add_test(tc, txn_retried_after_deadlock);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, lost_connection_idempotent_reconnects);
	tcase_add_test(tc, lost_connection_not_idempotent_fails);
	tcase_add_test(tc, lost_connection_before_prepare_is_rerun);
	tcase_add_test(tc, lost_connection_in_txn_reruns_once);
	tcase_add_test(tc, unreachable_server_fails_fast);
	suite_add_tcase(s, tc);

	tc = tcase_create("admin");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, admin_status_and_migrate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int	rc;

	kg_test_db_require();
	/* The failure tests provoke errors on purpose; show them anyway. */
	kg_log_init("check_db", KG_LOG_WARN, 0);
	rc = kg_test_run(db_suite());
	mysql_library_end();
	return rc;
}
