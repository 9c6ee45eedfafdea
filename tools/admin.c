/*
 * keygate-admin: operator commands over the same core as the service.
 *
 *	keygate-admin [-c FILE] [--json] COMMAND [ARGS]
 *
 * Exit status: 0 success, 1 "not as it should be" (status: schema behind),
 * 2 error (usage, configuration, database, schema directory).
 *
 * Commands are rows of cmds[]: a name, a handler, its usage line and
 * whether it needs the database.  A new command is a handler and a row.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "core/base/log.h"
#include "core/crypto/token.h"
#include "core/store/db.h"
#include "core/store/migrate.h"

#define EXIT_OK		0
#define EXIT_BEHIND	1
#define EXIT_ERROR	2

/*
 * Migrations may run DDL on big tables, which can take longer than the
 * service's read timeout; the admin tool waits this long instead.
 */
#define ADMIN_DDL_TIMEOUT	3600	/* seconds */

struct admin {
	struct kg_config	 a_cfg;
	const char		*a_cfgpath;	/* NULL = defaults and environment */
	int			 a_json;
	struct kg_db		*a_db;
};

/* Flags of a command. */
#define CMD_DB		0x01	/* connects to the database before running */
#define CMD_DDL		0x02	/* may run long DDL: wait ADMIN_DDL_TIMEOUT */

struct admin_cmd {
	const char	*c_name;
	int		(*c_fn)(struct admin *, int, char **);
	unsigned int	 c_flags;
	const char	*c_usage;	/* the arguments after the name */
	const char	*c_help;
};

static int	cmd_migrate(struct admin *, int, char **);
static int	cmd_status(struct admin *, int, char **);
static int	cmd_gen_admin_key(struct admin *, int, char **);

static const struct admin_cmd cmds[] = {
	{ "migrate", cmd_migrate, CMD_DB | CMD_DDL,
	    "[--dry-run] [--schema-dir DIR]",
	    "apply pending schema migrations" },
	{ "status", cmd_status, CMD_DB, "[--schema-dir DIR]",
	    "show the schema version; exit 1 if migrations are pending" },
	{ "gen-admin-key", cmd_gen_admin_key, 0, "",
	    "print a new global admin key (kg_ad_...) for admin_key" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const char	*progname = "keygate-admin";

static void
usage(void)
{
	const struct admin_cmd	*c;

	fprintf(stderr, "usage: %s [-c FILE] [--json] COMMAND [ARGS]\n",
	    progname);
	fprintf(stderr, "commands:\n");
	for (c = cmds; c->c_name != NULL; c++)
		fprintf(stderr, "  %s %s\n      %s\n", c->c_name, c->c_usage,
		    c->c_help);
	fprintf(stderr, "The schema directory is --schema-dir, else "
	    "$KEYGATE_SCHEMA_DIR, else %s.\n", KG_SCHEMA_DIR);
}

static int
cmd_usage(const struct admin_cmd *c)
{
	fprintf(stderr, "usage: %s [-c FILE] [--json] %s %s\n", progname,
	    c->c_name, c->c_usage);
	return EXIT_ERROR;
}

/*
 * Reports a failure: on stderr, and with --json also as
 * {"error": code, "message": ...} on stdout so scripts parse one stream.
 */
static int
fail(struct admin *a, const char *code, const char *msg)
{
	struct json_object	*o;

	fprintf(stderr, "%s: %s\n", progname, msg);
	if (a->a_json && (o = json_object_new_object()) != NULL) {
		json_object_object_add(o, "error", json_object_new_string(code));
		json_object_object_add(o, "message", json_object_new_string(msg));
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	return EXIT_ERROR;
}

static struct json_object *
migration_json(const struct kg_migration *m)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "version", json_object_new_int(m->m_version));
	json_object_object_add(o, "name", json_object_new_string(m->m_name));
	return o;
}

/* Collects the migrations reported by the store, printing them unless --json. */
struct report {
	struct admin		*r_admin;
	struct json_object	*r_list;	/* array, --json only */
	int			 r_dry_run;
};

static void
report_cb(const struct kg_migration *m, enum kg_migrate_event ev, void *arg)
{
	struct report	*r = arg;

	if (r->r_admin->a_json) {
		if (ev != KG_MIGRATE_APPLYING && r->r_list != NULL)
			json_object_array_add(r->r_list, migration_json(m));
		return;
	}
	switch (ev) {
	case KG_MIGRATE_PENDING:
		printf("%s %03d_%s\n", r->r_dry_run ? "would apply" : "pending",
		    m->m_version, m->m_name);
		break;
	case KG_MIGRATE_APPLYING:
		printf("applying %03d_%s ... ", m->m_version, m->m_name);
		fflush(stdout);
		break;
	case KG_MIGRATE_APPLIED:
		printf("done\n");
		break;
	default:
		break;
	}
}

/* Parses the options shared by migrate and status. */
static int
schema_opts(int argc, char **argv, const char **dir, int *dry_run)
{
	static const struct option	 opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "schema-dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	*dir = NULL;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (dry_run == NULL)
				return -1;
			*dry_run = 1;
			break;
		case 'd':
			*dir = optarg;
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

static int
cmd_migrate(struct admin *a, int argc, char **argv)
{
	struct report		 rep;
	const char		*dir;
	struct json_object	*o = NULL;
	char			 err[512];
	enum kg_err		 r;
	int			 dry_run = 0, version = 0, rc = EXIT_ERROR;

	if (schema_opts(argc, argv, &dir, &dry_run) != 0)
		return cmd_usage(&cmds[0]);
	dir = kg_migrate_dir(dir);

	memset(&rep, 0, sizeof(rep));
	rep.r_admin = a;
	rep.r_dry_run = dry_run;
	if (a->a_json && (rep.r_list = json_object_new_array()) == NULL)
		return fail(a, "internal", "out of memory");
	err[0] = '\0';
	if ((r = kg_migrate_run(a->a_db, dir, dry_run, report_cb, &rep,
	    err, sizeof(err))) != KG_OK) {
		if (!a->a_json)
			printf("\n");
		rc = fail(a, "migrate_failed", err[0] != '\0' ? err :
		    kg_strerror(r));
		goto out;
	}
	if ((r = kg_migrate_current(a->a_db, &version)) != KG_OK) {
		rc = fail(a, "database", kg_strerror(r));
		goto out;
	}
	if (a->a_json) {
		if ((o = json_object_new_object()) == NULL) {
			rc = fail(a, "internal", "out of memory");
			goto out;
		}
		json_object_object_add(o, "dry_run",
		    json_object_new_boolean(dry_run));
		json_object_object_add(o, dry_run ? "pending" : "applied",
		    rep.r_list);
		rep.r_list = NULL;
		json_object_object_add(o, "schema_version",
		    json_object_new_int(version));
		json_object_object_add(o, "expected_version",
		    json_object_new_int(KG_SCHEMA_VERSION));
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN));
	} else
		printf("schema version %d%s\n", version,
		    dry_run ? " (dry run: nothing applied)" : "");
	rc = EXIT_OK;
out:
	json_object_put(rep.r_list);
	json_object_put(o);
	return rc;
}

static int
cmd_status(struct admin *a, int argc, char **argv)
{
	struct kg_migrate_status st;
	struct report		 rep;
	const char		*dir;
	struct json_object	*o = NULL;
	char			 err[512];
	enum kg_err		 r;
	int			 rc = EXIT_ERROR, behind;

	if (schema_opts(argc, argv, &dir, NULL) != 0)
		return cmd_usage(&cmds[1]);
	dir = kg_migrate_dir(dir);

	memset(&rep, 0, sizeof(rep));
	rep.r_admin = a;
	if (a->a_json && (rep.r_list = json_object_new_array()) == NULL)
		return fail(a, "internal", "out of memory");
	if (!a->a_json)
		printf("schema directory: %s\n", dir);
	err[0] = '\0';
	if ((r = kg_migrate_pending(a->a_db, dir, &st, report_cb, &rep,
	    err, sizeof(err))) != KG_OK) {
		rc = fail(a, "status_failed", err[0] != '\0' ? err :
		    kg_strerror(r));
		goto out;
	}
	if (st.ms_available < st.ms_expected) {
		snprintf(err, sizeof(err), "%s holds versions up to %d, this "
		    "program needs %d: incomplete installation", dir,
		    st.ms_available, st.ms_expected);
		rc = fail(a, "schema_dir_incomplete", err);
		goto out;
	}
	behind = st.ms_current < st.ms_expected || st.ms_pending > 0;
	if (a->a_json) {
		if ((o = json_object_new_object()) == NULL) {
			rc = fail(a, "internal", "out of memory");
			goto out;
		}
		json_object_object_add(o, "schema_version",
		    json_object_new_int(st.ms_current));
		json_object_object_add(o, "expected_version",
		    json_object_new_int(st.ms_expected));
		json_object_object_add(o, "available_version",
		    json_object_new_int(st.ms_available));
		json_object_object_add(o, "schema_dir",
		    json_object_new_string(dir));
		json_object_object_add(o, "pending", rep.r_list);
		rep.r_list = NULL;
		json_object_object_add(o, "up_to_date",
		    json_object_new_boolean(!behind));
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN));
	} else {
		printf("schema version: %d (this program needs %d)\n",
		    st.ms_current, st.ms_expected);
		printf("%s\n", behind ? "behind: run keygate-admin migrate" :
		    "up to date");
	}
	rc = behind ? EXIT_BEHIND : EXIT_OK;
out:
	json_object_put(rep.r_list);
	json_object_put(o);
	return rc;
}

/*
 * Prints a fresh global admin key in the opaque format of SPEC 3 with type
 * "ad".  Nothing is stored: the operator puts it in admin_key (or its
 * _file) and this output is the only place it exists.
 */
static int
cmd_gen_admin_key(struct admin *a, int argc, char **argv)
{
	char		tok[KG_TOKEN_MAX], id[KG_TOKEN_ID_LEN + 1];
	struct json_object *o;

	if (argc > 1) {
		fprintf(stderr, "usage: %s gen-admin-key\n", progname);
		return EXIT_ERROR;
	}
	if (kg_token_mint(a->a_cfg.token_prefix, "ad", tok, id) != KG_OK)
		return fail(a, "internal", "cannot generate a key");
	if (a->a_json && (o = json_object_new_object()) != NULL) {
		json_object_object_add(o, "admin_key", json_object_new_string(tok));
		json_object_object_add(o, "prefix", json_object_new_string(id));
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else
		printf("%s\n", tok);
	OPENSSL_cleanse(tok, sizeof(tok));
	return EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct admin			 a;
	const struct admin_cmd		*c;
	char				 err[512];
	enum kg_err			 r;
	int				 ch, rc = EXIT_ERROR;

	memset(&a, 0, sizeof(a));
	/* "+": options end at the command; its own options follow it. */
	while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a.a_cfgpath = optarg;
			break;
		case 'j':
			a.a_json = 1;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage();
			return EXIT_ERROR;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage();
		return EXIT_ERROR;
	}
	for (c = cmds; c->c_name != NULL; c++)
		if (strcmp(c->c_name, argv[0]) == 0)
			break;
	if (c->c_name == NULL) {
		fprintf(stderr, "%s: unknown command: %s\n", progname, argv[0]);
		usage();
		return EXIT_ERROR;
	}

	kg_log_init(progname, KG_LOG_WARN, 0);
	err[0] = '\0';
	if ((r = kg_config_load(&a.a_cfg, a.a_cfgpath, err, sizeof(err))) != KG_OK) {
		rc = fail(&a, "config", err[0] != '\0' ? err : kg_strerror(r));
		goto out;
	}
	/* Tools log to stderr whatever the service's target is. */
	kg_log_set(a.a_cfg.log_level, 0);
	if ((c->c_flags & CMD_DDL) &&
	    a.a_cfg.db_read_timeout < ADMIN_DDL_TIMEOUT)
		a.a_cfg.db_read_timeout = ADMIN_DDL_TIMEOUT;
	if (c->c_flags & CMD_DB) {
		if ((r = kg_db_open(&a.a_db, &a.a_cfg)) != KG_OK) {
			rc = fail(&a, "internal", kg_strerror(r));
			goto out;
		}
		if (kg_db_ping(a.a_db) != KG_OK) {
			rc = fail(&a, "database", "cannot connect to the "
			    "database (details above)");
			goto out;
		}
	}
	rc = c->c_fn(&a, argc, argv);
out:
	kg_db_close(a.a_db);
	kg_config_free(&a.a_cfg);
	return rc;
}
