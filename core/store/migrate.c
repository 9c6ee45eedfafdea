/*
 * migrate.c: applies schema/NNN_name.sql files in order and records them in
 * schema_migrations.  See migrate.h for the file format and the rules.
 */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/buf.h"
#include "core/base/log.h"
#include "core/store/db.h"
#include "core/store/migrate.h"

#ifndef KG_SCHEMA_DIR
#define KG_SCHEMA_DIR	"/usr/local/share/keygate/schema"
#endif

/*
 * How long a run waits for another run's lock, in polls of one second.
 * Polling rather than one GET_LOCK(name, 60): a single long wait would
 * outlast the connection's read timeout and look like a dead server.
 */
#define KG_MIGRATE_LOCK_WAIT	60

/* The runner's own bookkeeping; 001_init.sql declares the same table. */
#define KG_MIGRATE_TABLE_SQL \
	"CREATE TABLE IF NOT EXISTS schema_migrations (\n" \
	"  version INT NOT NULL,\n" \
	"  name VARCHAR(255) NOT NULL,\n" \
	"  applied_at DATETIME(6) NOT NULL,\n" \
	"  PRIMARY KEY (version)\n" \
	") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"

/* Asked before reading the version: a fresh database has no table yet. */
static struct kg_sql S_MIGRATE_HAS_TABLE = KG_SQL("migrate_has_table",
    "SELECT COUNT(*) FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'schema_migrations'",
    KG_SQL_IDEMPOTENT);
static struct kg_sql S_MIGRATE_CURRENT = KG_SQL("migrate_current",
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
    KG_SQL_IDEMPOTENT);
/*
 * Not idempotent: a named lock belongs to the connection that took it.
 * Named locks are server-wide, so the name carries the database: two
 * keygate databases on one server migrate independently.
 */
static struct kg_sql S_MIGRATE_LOCK = KG_SQL("migrate_lock",
    "SELECT GET_LOCK(CONCAT('keygate_migrate:', DATABASE()), 1)", 0);
static struct kg_sql S_MIGRATE_UNLOCK = KG_SQL("migrate_unlock",
    "SELECT RELEASE_LOCK(CONCAT('keygate_migrate:', DATABASE()))", 0);
static struct kg_sql S_MIGRATE_RECORD = KG_SQL("migrate_record",
    "INSERT INTO schema_migrations (version, name, applied_at) "
    "VALUES (?, ?, UTC_TIMESTAMP(6))", 0);

static void
kg_migrate_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
kg_migrate_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

const char *
kg_migrate_dir(const char *override)
{
	const char	*env;

	if (override != NULL)
		return override;
	if ((env = getenv("KEYGATE_SCHEMA_DIR")) != NULL && env[0] != '\0')
		return env;
	return KG_SCHEMA_DIR;
}

/* ---------------------------------------------------------------- the directory */

/*
 * Parses "NNN_name.sql".  Returns 1 and sets *version and the name's span,
 * 0 if the file is not a .sql file (ignored), -1 if it is one but badly
 * named.
 */
static int
kg_migrate_parse_name(const char *file, int *version, size_t *name_off,
    size_t *name_len)
{
	size_t	len = strlen(file), i, digits;
	long	v = 0;

	if (file[0] == '.' || len < 4 || strcmp(file + len - 4, ".sql") != 0)
		return 0;
	len -= 4;
	for (digits = 0; digits < len && file[digits] >= '0' &&
	    file[digits] <= '9'; digits++)
		v = v * 10 + (file[digits] - '0');
	if (digits == 0 || digits > 9 || digits + 1 >= len ||
	    file[digits] != '_')
		return -1;
	for (i = digits + 1; i < len; i++)
		if (!((file[i] >= 'a' && file[i] <= 'z') ||
		    (file[i] >= '0' && file[i] <= '9') ||
		    file[i] == '_' || file[i] == '-'))
			return -1;
	*version = (int)v;
	*name_off = digits + 1;
	*name_len = len - digits - 1;
	return 1;
}

static int
kg_migrate_cmp(const void *a, const void *b)
{
	const struct kg_migration	*x = a, *y = b;

	return (x->m_version > y->m_version) - (x->m_version < y->m_version);
}

void
kg_migrate_list_free(struct kg_migration *list, size_t n)
{
	size_t	i;

	for (i = 0; list != NULL && i < n; i++) {
		free(list[i].m_name);
		free(list[i].m_path);
	}
	free(list);
}

enum kg_err
kg_migrate_list(const char *dir, struct kg_migration **listp, size_t *np,
    char *errbuf, size_t errlen)
{
	enum kg_err		 r = KG_ERR_INTERNAL;
	DIR			*d = NULL;
	struct dirent		*de;
	struct kg_migration	*list = NULL, *p, *m;
	size_t			 n = 0, cap = 0, off, len, i;
	int			 version, rc;

	*listp = NULL;
	*np = 0;
	if ((d = opendir(dir)) == NULL) {
		kg_migrate_err(errbuf, errlen, "%s: cannot read: %m", dir);
		r = KG_ERR_IO;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		rc = kg_migrate_parse_name(de->d_name, &version, &off, &len);
		if (rc == 0)
			continue;
		if (rc < 0) {
			kg_migrate_err(errbuf, errlen, "%s/%s: not a migration "
			    "name (NNN_name.sql, name of [a-z0-9_-])", dir,
			    de->d_name);
			r = KG_ERR_INVALID;
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((p = reallocarray(list, cap, sizeof(*p))) == NULL) {
				r = KG_ERR_NOMEM;
				goto out;
			}
			list = p;
		}
		m = &list[n];
		memset(m, 0, sizeof(*m));
		n++;
		m->m_version = version;
		if ((m->m_name = strndup(de->d_name + off, len)) == NULL ||
		    asprintf(&m->m_path, "%s/%s", dir, de->d_name) < 0) {
			m->m_path = NULL;
			r = KG_ERR_NOMEM;
			goto out;
		}
	}
	if (n > 0)
		qsort(list, n, sizeof(*list), kg_migrate_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && list[i].m_version == list[i - 1].m_version) {
			kg_migrate_err(errbuf, errlen, "%s and %s have the same "
			    "version", list[i - 1].m_path, list[i].m_path);
			r = KG_ERR_INVALID;
			goto out;
		}
		if (list[i].m_version != (int)i + 1) {
			kg_migrate_err(errbuf, errlen, "%s: version %zu is "
			    "missing before it (versions run 1, 2, 3, ...)",
			    list[i].m_path, i + 1);
			r = KG_ERR_INVALID;
			goto out;
		}
	}
	*listp = list;
	*np = n;
	list = NULL;
	n = 0;
	r = KG_OK;
out:
	if (d != NULL)
		closedir(d);
	kg_migrate_list_free(list, n);
	return r;
}

/*
 * Splits the file at m->m_path into statements, stored one after another
 * in *out, each NUL-terminated; *count of them.  Checks the whole file
 * before anything runs, so a malformed file applies nothing.
 */
static enum kg_err
kg_migrate_split(const struct kg_migration *m, struct kg_buf *out,
    size_t *count, char *errbuf, size_t errlen)
{
	enum kg_err	 r = KG_ERR_INTERNAL;
	FILE		*f = NULL;
	char		*line = NULL, *p;
	size_t		 cap = 0, len, start = 0;
	ssize_t		 got;
	int		 lineno = 0, stmtline = 0, open = 0;

	*count = 0;
	kg_buf_reset(out);
	if ((f = fopen(m->m_path, "r")) == NULL) {
		kg_migrate_err(errbuf, errlen, "%s: %m", m->m_path);
		r = KG_ERR_IO;
		goto out;
	}
	while ((got = getline(&line, &cap, f)) != -1) {
		lineno++;
		len = (size_t)got;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
		    line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			continue;
		if (*p == '\0' || (p[0] == '-' && p[1] == '-'))
			continue;
		if (!open) {
			start = out->b_len;
			stmtline = lineno;
			open = 1;
		} else if ((r = kg_buf_append(out, "\n", 1)) != KG_OK)
			goto out;
		if ((r = kg_buf_append(out, line, len)) != KG_OK)
			goto out;
		if (line[len - 1] != ';')
			continue;
		/* Replace the ';' by the statement's terminating NUL. */
		out->b_data[--out->b_len] = '\0';
		if (out->b_len == start) {
			kg_migrate_err(errbuf, errlen, "%s:%d: empty statement",
			    m->m_path, lineno);
			r = KG_ERR_INVALID;
			goto out;
		}
		if ((r = kg_buf_append(out, "", 1)) != KG_OK)
			goto out;
		(*count)++;
		open = 0;
	}
	if (ferror(f)) {
		kg_migrate_err(errbuf, errlen, "%s: read error", m->m_path);
		r = KG_ERR_IO;
		goto out;
	}
	if (open) {
		kg_migrate_err(errbuf, errlen, "%s:%d: statement does not end "
		    "with ';' at the end of a line", m->m_path, stmtline);
		r = KG_ERR_INVALID;
		goto out;
	}
	r = KG_OK;
out:
	free(line);
	if (f != NULL)
		fclose(f);
	return r;
}

/* ---------------------------------------------------------------- the database */

static enum kg_err
kg_migrate_int_row(const struct kg_db_row *row, void *arg)
{
	long long	*v = arg;

	*v = kg_db_row_isnull(row, 0) ? -1 : kg_db_row_int(row, 0);
	return KG_OK;
}

enum kg_err
kg_migrate_current(struct kg_db *db, int *version)
{
	enum kg_err	r;
	long long	v = 0;

	*version = 0;
	if ((r = kg_db_query_one(db, &S_MIGRATE_HAS_TABLE, KG_DB_NOARGS,
	    kg_migrate_int_row, &v)) != KG_OK)
		return r;
	if (v <= 0)
		return KG_OK;
	if ((r = kg_db_query_one(db, &S_MIGRATE_CURRENT, KG_DB_NOARGS,
	    kg_migrate_int_row, &v)) != KG_OK)
		return r;
	*version = (int)v;
	return KG_OK;
}

static enum kg_err
kg_migrate_lock(struct kg_db *db, char *errbuf, size_t errlen)
{
	enum kg_err	r;
	long long	got;
	int		i;

	for (i = 0; i < KG_MIGRATE_LOCK_WAIT; i++) {
		got = -1;
		if ((r = kg_db_query_one(db, &S_MIGRATE_LOCK, KG_DB_NOARGS,
		    kg_migrate_int_row, &got)) != KG_OK) {
			kg_migrate_err(errbuf, errlen, "cannot take the "
			    "migration lock: %s", kg_strerror(r));
			return r;
		}
		if (got == 1)
			return KG_OK;
		if (got != 0) {
			kg_migrate_err(errbuf, errlen, "GET_LOCK failed");
			return KG_ERR_DB;
		}
		if (i == 0)
			kg_log_info("waiting for another migration to finish");
	}
	kg_migrate_err(errbuf, errlen, "another migration held the lock "
	    "for %d seconds", KG_MIGRATE_LOCK_WAIT);
	return KG_ERR_DB;
}

/* Loads the directory and the database's version, shared by the entry points. */
static enum kg_err
kg_migrate_prepare(struct kg_db *db, const char *dir,
    struct kg_migration **list, size_t *n, int *current, char *errbuf,
    size_t errlen)
{
	enum kg_err	r;

	if ((r = kg_migrate_list(dir, list, n, errbuf, errlen)) != KG_OK)
		return r;
	if ((r = kg_migrate_current(db, current)) != KG_OK) {
		kg_migrate_err(errbuf, errlen, "cannot read the schema "
		    "version: %s", kg_strerror(r));
		kg_migrate_list_free(*list, *n);
		*list = NULL;
		*n = 0;
	}
	return r;
}

enum kg_err
kg_migrate_pending(struct kg_db *db, const char *dir,
    struct kg_migrate_status *st, kg_migrate_fn report, void *arg,
    char *errbuf, size_t errlen)
{
	enum kg_err		 r;
	struct kg_migration	*list = NULL;
	size_t			 n = 0, i;
	int			 current = 0;

	memset(st, 0, sizeof(*st));
	st->ms_expected = KG_SCHEMA_VERSION;
	if ((r = kg_migrate_prepare(db, dir, &list, &n, &current, errbuf,
	    errlen)) != KG_OK)
		return r;
	st->ms_current = current;
	st->ms_available = (int)n;
	for (i = 0; i < n; i++) {
		if (list[i].m_version <= current)
			continue;
		st->ms_pending++;
		if (report != NULL)
			report(&list[i], KG_MIGRATE_PENDING, arg);
	}
	kg_migrate_list_free(list, n);
	return KG_OK;
}

/* Runs the statements of one file and records it. */
static enum kg_err
kg_migrate_apply(struct kg_db *db, const struct kg_migration *m,
    struct kg_buf *sql, char *errbuf, size_t errlen)
{
	enum kg_err		 r;
	const char		*s;
	size_t			 count, i;
	struct kg_db_param	 p[] = { KG_P_INT(m->m_version),
				    KG_P_TEXT(m->m_name) };

	if ((r = kg_migrate_split(m, sql, &count, errbuf, errlen)) != KG_OK)
		return r;
	for (i = 0, s = sql->b_data; i < count; i++, s += strlen(s) + 1) {
		if ((r = kg_db_run_sql(db, s)) != KG_OK) {
			kg_migrate_err(errbuf, errlen, "%s: statement %zu "
			    "failed: %s (details in the log)", m->m_path,
			    i + 1, kg_strerror(r));
			return r;
		}
	}
	if ((r = kg_db_exec(db, &S_MIGRATE_RECORD, KG_DB_ARGS(p), NULL)) != KG_OK) {
		kg_migrate_err(errbuf, errlen, "%s: cannot record it: %s",
		    m->m_path, kg_strerror(r));
		return r;
	}
	kg_log_debug("applied migration %d (%s)", m->m_version, m->m_name);
	return KG_OK;
}

enum kg_err
kg_migrate_run(struct kg_db *db, const char *dir, int dry_run,
    kg_migrate_fn report, void *arg, char *errbuf, size_t errlen)
{
	enum kg_err		 r;
	struct kg_migration	*list = NULL;
	struct kg_buf		 sql = KG_BUF_INIT;
	size_t			 n = 0, i;
	int			 current = 0, locked = 0;

	if ((r = kg_migrate_prepare(db, dir, &list, &n, &current, errbuf,
	    errlen)) != KG_OK)
		goto out;
	if ((int)n < KG_SCHEMA_VERSION) {
		kg_migrate_err(errbuf, errlen, "%s holds versions up to %zu, "
		    "this program needs %d", dir, n, KG_SCHEMA_VERSION);
		r = KG_ERR_INVALID;
		goto out;
	}
	if (dry_run) {
		for (i = 0; i < n; i++)
			if (list[i].m_version > current && report != NULL)
				report(&list[i], KG_MIGRATE_PENDING, arg);
		r = KG_OK;
		goto out;
	}

	if ((r = kg_migrate_lock(db, errbuf, errlen)) != KG_OK)
		goto out;
	locked = 1;
	if ((r = kg_db_run_sql(db, KG_MIGRATE_TABLE_SQL)) != KG_OK) {
		kg_migrate_err(errbuf, errlen, "cannot create schema_migrations: "
		    "%s", kg_strerror(r));
		goto out;
	}
	/* Another run may have finished while we waited for the lock. */
	if ((r = kg_migrate_current(db, &current)) != KG_OK) {
		kg_migrate_err(errbuf, errlen, "cannot read the schema "
		    "version: %s", kg_strerror(r));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (list[i].m_version <= current)
			continue;
		if (report != NULL)
			report(&list[i], KG_MIGRATE_APPLYING, arg);
		if ((r = kg_migrate_apply(db, &list[i], &sql, errbuf,
		    errlen)) != KG_OK)
			goto out;
		if (report != NULL)
			report(&list[i], KG_MIGRATE_APPLIED, arg);
	}
	r = KG_OK;
out:
	/* Best effort: the lock also ends with the connection. */
	if (locked && kg_db_query(db, &S_MIGRATE_UNLOCK, KG_DB_NOARGS, NULL,
	    NULL, NULL) != KG_OK)
		kg_log_warn("could not release the migration lock");
	kg_buf_free(&sql);
	kg_migrate_list_free(list, n);
	return r;
}
