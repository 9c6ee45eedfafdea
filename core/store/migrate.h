/*
 * migrate.h: schema migrations.  Written with core/store/migrate.c.
 *
 * A schema directory holds files `NNN_name.sql` (NNN: the version, decimal,
 * any number of digits; name: [a-z0-9_-]).  Versions must run 1, 2, 3, ...
 * without a gap or a duplicate, else the directory is refused.  Other files
 * (README, editor backups) are ignored; a `.sql` file not named that way is
 * refused.
 *
 * A file holds SQL statements, each ending with `;` at the end of a line.
 * Lines starting with `--` (after blanks) and blank lines are skipped
 * whole, wherever they are; a statement may span lines; a `;` at the end of
 * any other line ends a statement (so a comment trailing SQL on the same
 * line must not end with one).  No stored procedures, no DELIMITER.  Every statement must be idempotent (`CREATE TABLE IF NOT
 * EXISTS`, `ADD COLUMN IF NOT EXISTS`, ...): a crash between a statement
 * and the record of its file re-runs the whole file next time.
 *
 * Applied files are recorded in schema_migrations(version, name,
 * applied_at).  kg_migrate_run holds the named lock
 * `keygate_migrate:<database>` while it works, so concurrent runs are
 * serialised and the later ones find nothing to do.
 */
#ifndef KG_MIGRATE_H
#define KG_MIGRATE_H

#include <stddef.h>
#include "core/base/err.h"

struct kg_db;

/* The schema version this binary needs (the highest schema/NNN_*.sql). */
#define KG_SCHEMA_VERSION	3

/* One migration file. */
struct kg_migration {
	int	 m_version;
	char	*m_name;	/* "init" for 001_init.sql */
	char	*m_path;	/* dir + "/" + file name */
};

enum kg_migrate_event {
	KG_MIGRATE_PENDING = 0,	/* not applied (status, dry run) */
	KG_MIGRATE_APPLYING,	/* about to run its statements */
	KG_MIGRATE_APPLIED,	/* run and recorded */
	KG_MIGRATE__MAX
};

/* Progress callback: called once per migration and event, in order. */
typedef void (*kg_migrate_fn)(const struct kg_migration *m,
    enum kg_migrate_event ev, void *arg);

/* What kg_migrate_pending found. */
struct kg_migrate_status {
	int	ms_current;	/* highest version applied in the database */
	int	ms_expected;	/* KG_SCHEMA_VERSION */
	int	ms_available;	/* highest version in the schema directory */
	int	ms_pending;	/* files in the directory above ms_current */
};

/*
 * The schema directory to use: override if not NULL, else the environment
 * variable KEYGATE_SCHEMA_DIR if set and not empty, else the compile-time
 * KG_SCHEMA_DIR.  Never NULL; the string is static or the caller's.
 */
const char	*kg_migrate_dir(const char *override);

/*
 * Reads dir and returns its migrations sorted by version in *list (*n of
 * them; free with kg_migrate_list_free).  Returns KG_ERR_IO if dir cannot
 * be read, KG_ERR_INVALID for a gap, a duplicate or a badly named .sql
 * file, KG_ERR_NOMEM; the reason is written to errbuf.
 */
enum kg_err	kg_migrate_list(const char *dir, struct kg_migration **list,
		    size_t *n, char *errbuf, size_t errlen);
void		kg_migrate_list_free(struct kg_migration *list, size_t n);

/*
 * Sets *version to the highest applied migration (0 when none, also when
 * schema_migrations does not exist yet).  Returns KG_OK or a DB error.
 */
enum kg_err	kg_migrate_current(struct kg_db *db, int *version);

/*
 * Compares the database with dir: fills *st and calls report (may be NULL)
 * with KG_MIGRATE_PENDING for every file not yet applied.  Changes nothing.
 * Errors as kg_migrate_list or a DB error; the reason is in errbuf.
 */
enum kg_err	kg_migrate_pending(struct kg_db *db, const char *dir,
		    struct kg_migrate_status *st, kg_migrate_fn report,
		    void *arg, char *errbuf, size_t errlen);

/*
 * Applies the files of dir above the database's version, in order, each
 * recorded in schema_migrations as it completes.  With dry_run, only
 * reports them (KG_MIGRATE_PENDING) and changes nothing.  Refuses a dir
 * whose highest version is below KG_SCHEMA_VERSION (KG_ERR_INVALID).
 * Returns KG_OK (also when there was nothing to do), or an error with the
 * reason in errbuf; files applied before the error stay applied.
 */
enum kg_err	kg_migrate_run(struct kg_db *db, const char *dir, int dry_run,
		    kg_migrate_fn report, void *arg, char *errbuf, size_t errlen);

#endif
