/*
 * keygate-admin: operator commands over the same core as the service.
 *
 *	keygate-admin [-c FILE] [--json] COMMAND [ARGS]
 *
 * Without -c, the file named by $KEYGATE_CONFIG, else no file: the
 * defaults and the KEYGATE_<KEY> environment only.
 *
 * Exit status, the same for every command:
 *	0  done
 *	1  not as it should be: the schema is behind (status), the namespace,
 *	   key or token named does not exist, or the namespace to create does
 *	   already
 *	2  usage, configuration, schema directory or any other local error
 *	3  the database is unreachable or failed
 * With --json, a failure is also reported on stdout as {"error", "message"}.
 *
 * Commands are rows of cmds[]: a name, a handler, its usage line and
 * whether it needs the database.  A new command is a handler and a row.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "core/api/keys.h"
#include "core/api/orgtokens.h"
#include "core/api/enroll.h"
#include "core/base/config.h"
#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/names.h"
#include "core/base/timefmt.h"
#include "core/crypto/eth.h"
#include "core/crypto/token.h"
#include "core/store/apikey.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/store/enroll.h"
#include "core/store/member.h"
#include "core/store/migrate.h"
#include "core/store/orgtoken.h"
#include "core/store/wallet.h"

#define EXIT_OK		0
#define EXIT_NO		1	/* behind, not found, already exists */
#define EXIT_USAGE	2	/* usage, configuration, local failure */
#define EXIT_DB		3	/* database unreachable or failed */

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
static int	cmd_key(struct admin *, int, char **);
static int	cmd_org_token(struct admin *, int, char **);
static int	cmd_install_token(struct admin *, int, char **);
static int	cmd_namespace(struct admin *, int, char **);

static const struct admin_cmd cmds[] = {
	{ "migrate", cmd_migrate, CMD_DB | CMD_DDL,
	    "[--dry-run] [--schema-dir DIR]",
	    "apply pending schema migrations" },
	{ "status", cmd_status, CMD_DB, "[--schema-dir DIR]",
	    "show the schema version; exit 1 if migrations are pending" },
	{ "gen-admin-key", cmd_gen_admin_key, 0, "",
	    "print a new global admin key (kg_ad_...) for admin_key" },
	{ "namespace", cmd_namespace, CMD_DB,
	    "create NAME [--owner WALLET] | list",
	    "namespaces: create one (WALLET becomes its track-4 member), "
	    "list all" },
	{ "key", cmd_key, CMD_DB,
	    "create --namespace NS --name NAME --scopes \"A B\" "
	    "[--expires 30d|60d|90d|1y|never] [--project P]... |\n"
	    "      list --namespace NS [--all] | revoke --namespace NS ID",
	    "API keys: mint one (its secret is printed once), list, revoke" },
	{ "org-token", cmd_org_token, CMD_DB,
	    "create --namespace NS [--name NAME] | list --namespace NS |\n"
	    "      revoke --namespace NS ID",
	    "org tokens: mint one (printed once), list live ones, revoke" },
	{ "install-token", cmd_install_token, CMD_DB,
	    "create --namespace NS",
	    "mint an install token (mit_..., printed once) for a daemon to "
	    "exchange" },
	{ NULL, NULL, 0, NULL, NULL }
};

static const char	*progname = "keygate-admin";

static void
usage(FILE *f)
{
	const struct admin_cmd	*c;

	fprintf(f, "usage: %s [-c FILE] [--json] COMMAND [ARGS]\n"
	    "       %s COMMAND --help\n", progname, progname);
	fprintf(f, "commands:\n");
	for (c = cmds; c->c_name != NULL; c++)
		fprintf(f, "  %s %s\n      %s\n", c->c_name, c->c_usage,
		    c->c_help);
	fprintf(f, "The schema directory is --schema-dir, else "
	    "$KEYGATE_SCHEMA_DIR, else %s.\n", KG_SCHEMA_DIR);
	fprintf(f, "Exit status: 0 done, 1 behind or not found or exists, "
	    "2 usage or configuration, 3 database.\n");
}

/* "--help" or "-h" as a command's first or second argument. */
static int
wants_help(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc && i <= 2; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static const struct admin_cmd *
cmd_find(const char *name)
{
	const struct admin_cmd	*c;

	for (c = cmds; c->c_name != NULL; c++)
		if (strcmp(c->c_name, name) == 0)
			return c;
	return NULL;
}

/* A command's usage and help, for --help (stdout) or a usage error. */
static void
cmd_help(FILE *f, const struct admin_cmd *c)
{
	fprintf(f, "usage: %s [-c FILE] [--json] %s %s\n  %s\n", progname,
	    c->c_name, c->c_usage, c->c_help);
}

/*
 * Reports a failure: on stderr, and with --json also as
 * {"error": code, "message": ...} on stdout so scripts parse one stream.
 * Returns rc.
 */
static int
fail(struct admin *a, int rc, const char *code, const char *msg)
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
	return rc;
}

/* Bad arguments to command name: its usage, and exit status 2. */
static int
usage_of(struct admin *a, const char *name)
{
	const struct admin_cmd	*c = cmd_find(name);

	if (c != NULL)
		cmd_help(stderr, c);
	return fail(a, EXIT_USAGE, "usage", "bad arguments (see the usage "
	    "above, or --help)");
}

/* The exit status of a core failure: 3 database, 1 not found, else 2. */
static int
exit_of(enum kg_err r)
{
	switch (r) {
	case KG_ERR_DB:
	case KG_ERR_DB_RETRY:
	case KG_ERR_DB_LOST:
		return EXIT_DB;
	case KG_ERR_NOT_FOUND:
		return EXIT_NO;
	default:
		return EXIT_USAGE;
	}
}

/* Reports a core failure r: "database" (3), "not_found" (1), "internal". */
static int
fail_err(struct admin *a, enum kg_err r)
{
	int	rc = exit_of(r);

	return fail(a, rc, rc == EXIT_DB ? "database" : rc == EXIT_NO ?
	    "not_found" : "internal", kg_strerror(r));
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

/*
 * After a schema directory that could not be read, says where the
 * directory comes from: an uninstalled build finds none at the built-in
 * place.
 */
static void
schema_hint(enum kg_err r, char *err, size_t len)
{
	size_t	n = strlen(err);

	if (r != KG_ERR_IO || n >= len)
		return;
	snprintf(err + n, len - n, " (is keygate installed? Give --schema-dir "
	    "DIR or set KEYGATE_SCHEMA_DIR; in a source tree: schema/)");
}

static int
cmd_migrate(struct admin *a, int argc, char **argv)
{
	struct report		 rep;
	const char		*dir;
	struct json_object	*o = NULL;
	char			 err[512];
	enum kg_err		 r;
	int			 dry_run = 0, version = 0, rc = EXIT_USAGE;

	if (schema_opts(argc, argv, &dir, &dry_run) != 0)
		return usage_of(a, "migrate");
	dir = kg_migrate_dir(dir);

	memset(&rep, 0, sizeof(rep));
	rep.r_admin = a;
	rep.r_dry_run = dry_run;
	if (a->a_json && (rep.r_list = json_object_new_array()) == NULL)
		return fail(a, EXIT_USAGE, "internal", "out of memory");
	if (!a->a_json)
		printf("schema directory: %s\n", dir);
	err[0] = '\0';
	if ((r = kg_migrate_run(a->a_db, dir, dry_run, report_cb, &rep,
	    err, sizeof(err))) != KG_OK) {
		if (!a->a_json)
			printf("\n");
		schema_hint(r, err, sizeof(err));
		rc = fail(a, exit_of(r), "migrate_failed", err[0] != '\0' ? err :
		    kg_strerror(r));
		goto out;
	}
	if ((r = kg_migrate_current(a->a_db, &version)) != KG_OK) {
		rc = fail_err(a, r);
		goto out;
	}
	if (a->a_json) {
		if ((o = json_object_new_object()) == NULL) {
			rc = fail(a, EXIT_USAGE, "internal", "out of memory");
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
		json_object_object_add(o, "schema_dir",
		    json_object_new_string(dir));
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
	int			 rc = EXIT_USAGE, behind;

	if (schema_opts(argc, argv, &dir, NULL) != 0)
		return usage_of(a, "status");
	dir = kg_migrate_dir(dir);

	memset(&rep, 0, sizeof(rep));
	rep.r_admin = a;
	if (a->a_json && (rep.r_list = json_object_new_array()) == NULL)
		return fail(a, EXIT_USAGE, "internal", "out of memory");
	if (!a->a_json)
		printf("schema directory: %s\n", dir);
	err[0] = '\0';
	if ((r = kg_migrate_pending(a->a_db, dir, &st, report_cb, &rep,
	    err, sizeof(err))) != KG_OK) {
		schema_hint(r, err, sizeof(err));
		rc = fail(a, exit_of(r), "status_failed", err[0] != '\0' ? err :
		    kg_strerror(r));
		goto out;
	}
	if (st.ms_available < st.ms_expected) {
		snprintf(err, sizeof(err), "%s holds versions up to %d, this "
		    "program needs %d: incomplete installation", dir,
		    st.ms_available, st.ms_expected);
		rc = fail(a, EXIT_USAGE, "schema_dir_incomplete", err);
		goto out;
	}
	behind = st.ms_current < st.ms_expected || st.ms_pending > 0;
	if (a->a_json) {
		if ((o = json_object_new_object()) == NULL) {
			rc = fail(a, EXIT_USAGE, "internal", "out of memory");
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
	rc = behind ? EXIT_NO : EXIT_OK;
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

	if (argc > 1)
		return usage_of(a, "gen-admin-key");
	if (kg_token_mint(a->a_cfg.token_prefix, "ad", tok, id) != KG_OK)
		return fail(a, EXIT_USAGE, "internal", "cannot generate a key");
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

/* ---------------------------------------------------------------- keys */

/* Options of "key create|list|revoke". */
struct key_opts {
	const char	*ko_ns, *ko_name, *ko_scopes, *ko_expires;
	char		 ko_projects[KG_KEY_PROJECTS_BYTES];
	int		 ko_nprojects, ko_all;
};

static int
key_opts(int argc, char **argv, struct key_opts *o)
{
	static const struct option	 opts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "name", required_argument, NULL, 'N' },
		{ "scopes", required_argument, NULL, 's' },
		{ "expires", required_argument, NULL, 'e' },
		{ "project", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	memset(o, 0, sizeof(*o));
	o->ko_expires = "90d";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o->ko_ns = optarg;
			break;
		case 'N':
			o->ko_name = optarg;
			break;
		case 's':
			o->ko_scopes = optarg;
			break;
		case 'e':
			o->ko_expires = optarg;
			break;
		case 'p':
			if (!kg_project_id_valid(optarg) ||
			    ++o->ko_nprojects > KG_KEY_PROJECTS_MAX)
				return -1;
			if (o->ko_projects[0] != '\0')
				strcat(o->ko_projects, " ");
			strcat(o->ko_projects, optarg);
			break;
		case 'a':
			o->ko_all = 1;
			break;
		default:
			return -1;
		}
	}
	return o->ko_ns != NULL && kg_namespace_valid(o->ko_ns) ? optind : -1;
}

static struct json_object *
key_to_json(const struct kg_apikey *k)
{
	struct json_object	*o, *a;
	char			 ts[KG_TIME_RFC3339_MAX], w[KG_KEY_SCOPES_MAX + 1];
	char			*p, *save = NULL;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64((int64_t)k->ak_id));
	json_object_object_add(o, "prefix", json_object_new_string(k->ak_id8));
	json_object_object_add(o, "name", json_object_new_string(k->ak_name));
	a = json_object_new_array();
	snprintf(w, sizeof(w), "%s", k->ak_scopes);
	for (p = strtok_r(w, " ", &save); p != NULL; p = strtok_r(NULL, " ",
	    &save))
		json_object_array_add(a, json_object_new_string(p));
	json_object_object_add(o, "scopes", a);
	if (k->ak_all_projects)
		a = NULL;
	else {
		a = json_object_new_array();
		snprintf(w, sizeof(w), "%s", k->ak_projects);
		for (p = strtok_r(w, " ", &save); p != NULL;
		    p = strtok_r(NULL, " ", &save))
			json_object_array_add(a, json_object_new_string(p));
	}
	json_object_object_add(o, "project_ids", a);
	json_object_object_add(o, "created_at",
	    kg_time_format_rfc3339(k->ak_created_us, ts, 0) == KG_OK ?
	    json_object_new_string(ts) : NULL);
	json_object_object_add(o, "expires_at", k->ak_expires_us != 0 &&
	    kg_time_format_rfc3339(k->ak_expires_us, ts, 0) == KG_OK ?
	    json_object_new_string(ts) : NULL);
	json_object_object_add(o, "revoked_at", k->ak_revoked_us != 0 &&
	    kg_time_format_rfc3339(k->ak_revoked_us, ts, 0) == KG_OK ?
	    json_object_new_string(ts) : NULL);
	json_object_object_add(o, "created_by",
	    json_object_new_string(k->ak_created_by));
	return o;
}

static void
key_audit(struct admin *a, const char *ns, const char *action,
    const char *id8)
{
	struct kg_audit	au;
	char		target[16];

	snprintf(target, sizeof(target), "key:%s", id8);
	memset(&au, 0, sizeof(au));
	au.au_namespace = ns;
	au.au_actor_type = "admin";
	au.au_actor = "admin";
	au.au_action = action;
	au.au_target = target;
	au.au_outcome = "ok";
	if (kg_store_audit(a->a_db, &au) != KG_OK)
		fprintf(stderr, "%s: audit event %s not recorded\n", progname,
		    action);
}

static int
key_create(struct admin *a, const struct key_opts *o, uint64_t ns_id)
{
	struct kg_apikey_new	 kn;
	struct kg_apikey	 k;
	struct json_object	*j;
	char			 sec[KG_TOKEN_MAX];
	char			 sc[KG_KEY_SCOPES_MAX + 1], w[KG_KEY_SCOPES_MAX + 1];
	char			*p, *save = NULL;
	long			 exp;
	enum kg_err		 r;

	if (o->ko_name == NULL || o->ko_name[0] == '\0' ||
	    strlen(o->ko_name) > KG_KEY_NAME_MAX || o->ko_scopes == NULL ||
	    strlen(o->ko_scopes) > KG_KEY_SCOPES_MAX)
		return usage_of(a, "key");
	if ((exp = kg_keys_expiry(o->ko_expires)) < 0)
		return fail(a, EXIT_USAGE, "invalid_expiry",
		    "--expires must be 30d, 60d, 90d, 1y or never");
	sc[0] = '\0';
	snprintf(w, sizeof(w), "%s", o->ko_scopes);
	for (p = strtok_r(w, " ,", &save); p != NULL;
	    p = strtok_r(NULL, " ,", &save)) {
		if (!kg_keys_scope_known(&a->a_cfg, p))
			return fail(a, EXIT_USAGE, "invalid_scopes", "unknown scope (the "
			    "config's scopes, keys:read, keys:write, admin, "
			    "introspect)");
		if (sc[0] != '\0')
			strcat(sc, " ");
		strcat(sc, p);
	}
	if (sc[0] == '\0')
		return fail(a, EXIT_USAGE, "invalid_scopes", "--scopes names no scope");
	memset(&kn, 0, sizeof(kn));
	kn.kn_ns_id = ns_id;
	kn.kn_name = o->ko_name;
	kn.kn_scopes = sc;
	kn.kn_projects = o->ko_nprojects > 0 ? o->ko_projects : NULL;
	kn.kn_created_by = "admin";
	kn.kn_expires_in = exp;
	r = kg_keys_mint(a->a_db, a->a_cfg.token_prefix, &kn, sec, &k);
	if (r != KG_OK) {
		OPENSSL_cleanse(sec, sizeof(sec));
		return fail_err(a, r);
	}
	key_audit(a, o->ko_ns, "key_create", k.ak_id8);
	if (a->a_json && (j = json_object_new_object()) != NULL) {
		json_object_object_add(j, "key", key_to_json(&k));
		json_object_object_add(j, "secret", json_object_new_string(sec));
		printf("%s\n", json_object_to_json_string_ext(j,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else {
		printf("%s\n", sec);
		fprintf(stderr, "key %" PRIu64 " (prefix %s) created in %s; "
		    "the secret above is shown only once\n", k.ak_id,
		    k.ak_id8, o->ko_ns);
	}
	OPENSSL_cleanse(sec, sizeof(sec));
	return EXIT_OK;
}

struct key_rows {
	struct json_object	*kr_list;	/* --json */
	size_t			 kr_n;
};

static enum kg_err
key_row_print(const struct kg_apikey *k, void *arg)
{
	struct key_rows	*l = arg;
	char		 ts[KG_TIME_RFC3339_MAX];

	if (l->kr_list != NULL) {
		json_object_array_add(l->kr_list, key_to_json(k));
		return KG_OK;
	}
	if (l->kr_n++ == 0)
		printf("%-8s %-8s %-20s %-20s %-8s %s\n", "ID", "PREFIX",
		    "EXPIRES", "NAME", "STATE", "SCOPES");
	if (k->ak_expires_us == 0 ||
	    kg_time_format_rfc3339(k->ak_expires_us, ts, 0) != KG_OK)
		snprintf(ts, sizeof(ts), "never");
	printf("%-8" PRIu64 " %-8s %-20s %-20.20s %-8s %s\n", k->ak_id,
	    k->ak_id8, ts, k->ak_name, k->ak_revoked_us != 0 ? "revoked" :
	    k->ak_expired ? "expired" : "live", k->ak_scopes);
	return KG_OK;
}

static int
key_list(struct admin *a, const struct key_opts *o, uint64_t ns_id)
{
	struct key_rows	 l;
	enum kg_err	 r;
	size_t		 n = 0;

	memset(&l, 0, sizeof(l));
	if (a->a_json && (l.kr_list = json_object_new_array()) == NULL)
		return fail(a, EXIT_USAGE, "internal", "out of memory");
	r = kg_store_apikey_list(a->a_db, ns_id, o->ko_all, 0, 100000,
	    key_row_print, &l, &n);
	if (r != KG_OK) {
		json_object_put(l.kr_list);
		return fail_err(a, r);
	}
	if (l.kr_list != NULL) {
		printf("%s\n", json_object_to_json_string_ext(l.kr_list,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(l.kr_list);
	} else if (n == 0)
		printf("no keys\n");
	return EXIT_OK;
}

static int
key_revoke(struct admin *a, const struct key_opts *o, uint64_t ns_id,
    const char *idstr)
{
	struct kg_audit		 au;
	struct kg_apikey	 k;
	char			*end;
	unsigned long long	 id;
	int64_t			 at = 0;
	enum kg_err		 r;

	id = strtoull(idstr, &end, 10);
	if (idstr[0] < '1' || idstr[0] > '9' || *end != '\0')
		return fail(a, EXIT_NO, "not_found", "ID must be a key id (see key list)");
	memset(&au, 0, sizeof(au));
	au.au_actor_type = "admin";
	au.au_actor = "admin";
	if ((r = kg_store_apikey_get(a->a_db, ns_id, id, &k)) == KG_OK)
		r = kg_store_apikey_revoke(a->a_db, ns_id, id, &au, &at);
	if (r == KG_ERR_NOT_FOUND)
		return fail(a, EXIT_NO, "not_found", "no live key with that id in the "
		    "namespace");
	if (r != KG_OK)
		return fail_err(a, r);
	/* As DELETE /v1/keys/{id}: its access tokens and audit row went with it. */
	if (a->a_json)
		printf("{\"id\":%llu,\"prefix\":\"%s\",\"revoked\":true}\n", id,
		    k.ak_id8);
	else
		printf("revoked key %llu (prefix %s)\n", id, k.ak_id8);
	return EXIT_OK;
}

/* key create|list|revoke: the same store calls as the service. */
static int
cmd_key(struct admin *a, int argc, char **argv)
{
	struct key_opts	 o;
	uint64_t	 ns_id = 0;
	enum kg_err	 r;
	const char	*sub;
	int		 rest;

	if (argc < 2)
		return usage_of(a, "key");
	sub = argv[1];
	if ((rest = key_opts(argc - 1, argv + 1, &o)) < 0)
		return usage_of(a, "key");
	rest++;		/* index in argv */
	if ((strcmp(sub, "revoke") == 0) != (argc - rest == 1) ||
	    (strcmp(sub, "revoke") != 0 && argc != rest))
		return usage_of(a, "key");
	if (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0 &&
	    strcmp(sub, "revoke") != 0)
		return usage_of(a, "key");
	r = kg_store_namespace_get(a->a_db, o.ko_ns, &ns_id);
	if (r == KG_ERR_NOT_FOUND)
		return fail(a, EXIT_NO, "namespace_not_found", "no such namespace");
	if (r != KG_OK)
		return fail_err(a, r);
	if (strcmp(sub, "create") == 0)
		return key_create(a, &o, ns_id);
	if (strcmp(sub, "list") == 0)
		return key_list(a, &o, ns_id);
	return key_revoke(a, &o, ns_id, argv[rest]);
}

/* ---------------------------------------------------------------- org tokens */

/* Options of "org-token create|list|revoke". */
struct ot_opts {
	const char	*oo_ns, *oo_name;
};

static int
ot_opts(int argc, char **argv, struct ot_opts *o)
{
	static const struct option	 opts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "name", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o->oo_ns = optarg;
			break;
		case 'N':
			o->oo_name = optarg;
			break;
		default:
			return -1;
		}
	}
	return o->oo_ns != NULL && kg_namespace_valid(o->oo_ns) ? optind : -1;
}

static struct json_object *
ot_to_json(const struct kg_orgtoken *t)
{
	struct json_object	*o;
	char			 ts[KG_TIME_RFC3339_MAX];

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64((int64_t)t->ot_id));
	json_object_object_add(o, "prefix", json_object_new_string(t->ot_id8));
	json_object_object_add(o, "name", t->ot_has_name ?
	    json_object_new_string(t->ot_name) : NULL);
	json_object_object_add(o, "created_by",
	    json_object_new_string(t->ot_created_by));
	json_object_object_add(o, "created_at",
	    kg_time_format_rfc3339(t->ot_created_us, ts, 0) == KG_OK ?
	    json_object_new_string(ts) : NULL);
	json_object_object_add(o, "last_used_at", t->ot_last_used_us != 0 &&
	    kg_time_format_rfc3339(t->ot_last_used_us, ts, 0) == KG_OK ?
	    json_object_new_string(ts) : NULL);
	return o;
}

/* 1 to 255 characters, no control characters (as the API). */
static int
ot_name_ok(const char *s)
{
	const unsigned char	*p;
	size_t			 chars = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if ((*p & 0xc0) != 0x80)
			chars++;
	}
	return chars >= 1 && chars <= KG_ORGTOKEN_NAME_MAX &&
	    strlen(s) <= KG_ORGTOKEN_NAME_BYTES;
}

struct ot_mint {
	struct admin		*om_a;
	const char		*om_ns, *om_name;
	uint64_t		 om_ns_id;
	char			*om_tok;
	struct kg_orgtoken	*om_out;
};

/* The token and its audit row commit together, as POST does. */
static enum kg_err
ot_mint_txn(struct kg_db *db, void *arg)
{
	struct ot_mint	*m = arg;
	struct kg_audit	 au;
	char		 target[16];
	enum kg_err	 r;

	if ((r = kg_orgtoken_mint(db, m->om_a->a_cfg.token_prefix,
	    m->om_ns_id, m->om_name, "admin", m->om_tok, m->om_out)) != KG_OK)
		return r;
	(void)snprintf(target, sizeof(target), "org:%s", m->om_out->ot_id8);
	memset(&au, 0, sizeof(au));
	au.au_namespace = m->om_ns;
	au.au_actor_type = "admin";
	au.au_actor = "admin";
	au.au_action = "org_token_create";
	au.au_target = target;
	au.au_outcome = "ok";
	return kg_store_audit(db, &au);
}

static int
ot_create(struct admin *a, const struct ot_opts *o, uint64_t ns_id)
{
	struct ot_mint		 m;
	struct kg_orgtoken	 t;
	struct json_object	*j;
	char			 tok[KG_TOKEN_MAX];
	enum kg_err		 r;

	if (o->oo_name != NULL && !ot_name_ok(o->oo_name))
		return fail(a, EXIT_USAGE, "invalid_request", "--name must be 1 to 255 "
		    "characters, without control characters");
	memset(&m, 0, sizeof(m));
	m.om_a = a;
	m.om_ns = o->oo_ns;
	m.om_ns_id = ns_id;
	m.om_name = o->oo_name;
	m.om_tok = tok;
	m.om_out = &t;
	if ((r = kg_db_txn(a->a_db, ot_mint_txn, &m)) != KG_OK) {
		OPENSSL_cleanse(tok, sizeof(tok));
		return fail_err(a, r);
	}
	if (a->a_json && (j = ot_to_json(&t)) != NULL) {
		json_object_object_add(j, "token", json_object_new_string(tok));
		printf("%s\n", json_object_to_json_string_ext(j,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else {
		printf("%s\n", tok);
		fprintf(stderr, "org token %" PRIu64 " (prefix %s) created in "
		    "%s; the token above is shown only once\n", t.ot_id,
		    t.ot_id8, o->oo_ns);
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	return EXIT_OK;
}

struct ot_rows {
	struct json_object	*or_list;	/* --json */
	size_t			 or_n;
};

static enum kg_err
ot_row_print(const struct kg_orgtoken *t, void *arg)
{
	struct ot_rows	*l = arg;
	char		 ts[KG_TIME_RFC3339_MAX];

	if (l->or_list != NULL) {
		json_object_array_add(l->or_list, ot_to_json(t));
		return KG_OK;
	}
	if (l->or_n++ == 0)
		printf("%-8s %-8s %-20s %-20s %s\n", "ID", "PREFIX", "CREATED",
		    "NAME", "CREATED_BY");
	if (kg_time_format_rfc3339(t->ot_created_us, ts, 0) != KG_OK)
		ts[0] = '\0';
	printf("%-8" PRIu64 " %-8s %-20s %-20.20s %s\n", t->ot_id, t->ot_id8,
	    ts, t->ot_has_name ? t->ot_name : "-", t->ot_created_by);
	return KG_OK;
}

/* Live tokens, newest first, at most list_max (as the API). */
static int
ot_list(struct admin *a, uint64_t ns_id)
{
	struct ot_rows	 l;
	enum kg_err	 r;
	size_t		 n = 0;

	memset(&l, 0, sizeof(l));
	if (a->a_json && (l.or_list = json_object_new_array()) == NULL)
		return fail(a, EXIT_USAGE, "internal", "out of memory");
	r = kg_store_orgtoken_list(a->a_db, ns_id, 0,
	    a->a_cfg.list_max > 0 ? (size_t)a->a_cfg.list_max : 500,
	    ot_row_print, &l, &n);
	if (r != KG_OK) {
		json_object_put(l.or_list);
		return fail_err(a, r);
	}
	if (l.or_list != NULL) {
		printf("%s\n", json_object_to_json_string_ext(l.or_list,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(l.or_list);
	} else if (n == 0)
		printf("no org tokens\n");
	return EXIT_OK;
}

static int
ot_revoke(struct admin *a, uint64_t ns_id, const char *idstr)
{
	struct kg_audit		 au;
	struct kg_orgtoken	 t;
	char			*end;
	unsigned long long	 id;
	enum kg_err		 r;

	id = strtoull(idstr, &end, 10);
	if (idstr[0] < '1' || idstr[0] > '9' || *end != '\0')
		return fail(a, EXIT_NO, "not_found",
		    "ID must be an org token id (see org-token list)");
	memset(&au, 0, sizeof(au));
	au.au_actor_type = "admin";
	au.au_actor = "admin";
	r = kg_store_orgtoken_revoke(a->a_db, ns_id, id, &au, &t);
	if (r == KG_ERR_NOT_FOUND)
		return fail(a, EXIT_NO, "not_found", "no live org token with that id "
		    "in the namespace");
	if (r != KG_OK)
		return fail_err(a, r);
	if (a->a_json)
		printf("{\"id\":%llu,\"prefix\":\"%s\",\"revoked\":true}\n", id,
		    t.ot_id8);
	else
		printf("revoked org token %llu (prefix %s)\n", id, t.ot_id8);
	return EXIT_OK;
}

/* org-token create|list|revoke: the same store calls as the service. */
static int
cmd_org_token(struct admin *a, int argc, char **argv)
{
	struct ot_opts	 o;
	uint64_t	 ns_id = 0;
	enum kg_err	 r;
	const char	*sub;
	int		 rest, revoke;

	if (argc < 2)
		return usage_of(a, "org-token");
	sub = argv[1];
	if ((rest = ot_opts(argc - 1, argv + 1, &o)) < 0)
		return usage_of(a, "org-token");
	rest++;		/* index in argv */
	revoke = strcmp(sub, "revoke") == 0;
	if ((revoke && argc - rest != 1) || (!revoke && argc != rest) ||
	    (!revoke && strcmp(sub, "create") != 0 &&
	    strcmp(sub, "list") != 0) ||
	    (o.oo_name != NULL && strcmp(sub, "create") != 0))
		return usage_of(a, "org-token");
	r = kg_store_namespace_get(a->a_db, o.oo_ns, &ns_id);
	if (r == KG_ERR_NOT_FOUND)
		return fail(a, EXIT_NO, "namespace_not_found", "no such namespace");
	if (r != KG_OK)
		return fail_err(a, r);
	if (strcmp(sub, "create") == 0)
		return ot_create(a, &o, ns_id);
	if (strcmp(sub, "list") == 0)
		return ot_list(a, ns_id);
	return ot_revoke(a, ns_id, argv[rest]);
}

/* ---------------------------------------------------------------- install tokens */

/* install-token create --namespace NS: as POST .../install-tokens. */
static int
cmd_install_token(struct admin *a, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct kg_install_token		 t;
	struct kg_audit			 au;
	struct json_object		*j;
	char				 tok[KG_ENROLL_TOKEN_LEN + 1];
	char				 ts[KG_TIME_RFC3339_MAX];
	const char			*ns = NULL;
	uint64_t			 ns_id = 0;
	enum kg_err			 r;
	int				 ch;

	if (argc < 2 || strcmp(argv[1], "create") != 0)
		return usage_of(a, "install-token");
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "+", opts, NULL)) != -1) {
		if (ch != 'n')
			return usage_of(a, "install-token");
		ns = optarg;
	}
	if (ns == NULL || !kg_namespace_valid(ns) || optind != argc - 1)
		return usage_of(a, "install-token");
	r = kg_store_namespace_get(a->a_db, ns, &ns_id);
	if (r == KG_ERR_NOT_FOUND)
		return fail(a, EXIT_NO, "namespace_not_found", "no such namespace");
	if (r != KG_OK)
		return fail_err(a, r);
	memset(&au, 0, sizeof(au));
	au.au_actor_type = "admin";
	au.au_actor = "admin";
	if ((r = kg_enroll_install_mint(a->a_db, ns_id, "admin",
	    a->a_cfg.install_token_ttl, &au, tok, &t)) != KG_OK)
		return fail_err(a, r);
	if (kg_time_format_rfc3339(t.it_expires_us, ts, 0) != KG_OK)
		ts[0] = '\0';
	if (a->a_json && (j = json_object_new_object()) != NULL) {
		json_object_object_add(j, "id",
		    json_object_new_int64((int64_t)t.it_id));
		json_object_object_add(j, "token", json_object_new_string(tok));
		json_object_object_add(j, "namespace",
		    json_object_new_string(t.it_ns));
		json_object_object_add(j, "expires_at",
		    json_object_new_string(ts));
		printf("%s\n", json_object_to_json_string_ext(j,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else {
		printf("%s\n", tok);
		fprintf(stderr, "install token %" PRIu64 " created in %s, "
		    "valid until %s; shown only once\n", t.it_id, ns, ts);
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	return EXIT_OK;
}

/* ---------------------------------------------------------------- namespaces */

/* {name, created_at, member_count}, as GET /v1/namespaces/{ns}. */
static struct json_object *
ns_to_json(const struct kg_ns_info *ni)
{
	struct json_object	*o;
	char			 ts[KG_TIME_RFC3339_MAX];

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(ni->ni_name));
	json_object_object_add(o, "created_at",
	    kg_time_format_rfc3339(ni->ni_created_us, ts, 0) == KG_OK ?
	    json_object_new_string(ts) : NULL);
	json_object_object_add(o, "member_count",
	    json_object_new_int64(ni->ni_members));
	return o;
}

struct ns_create {
	const char		*nc_name;
	const char		*nc_owner;	/* lower case, or NULL */
	struct kg_ns_info	 nc_info;
};

/* The namespace, its owner and the audit row commit together, as POST. */
static enum kg_err
ns_create_txn(struct kg_db *db, void *arg)
{
	struct ns_create	*c = arg;
	struct kg_audit		 au;
	enum kg_err		 r;

	if ((r = kg_store_ns_create(db, c->nc_name, c->nc_owner,
	    &c->nc_info)) != KG_OK)
		return r;
	memset(&au, 0, sizeof(au));
	au.au_namespace = c->nc_name;
	au.au_actor_type = "admin";
	au.au_actor = "admin";
	au.au_action = "namespace_create";
	au.au_target = c->nc_owner;
	au.au_outcome = "ok";
	return kg_store_audit(db, &au);
}

/* namespace create NAME [--owner WALLET]: argv[0] is "create". */
static int
ns_create(struct admin *a, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "owner", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct ns_create		 c;
	char				 owner[KG_ETH_ADDR_STRLEN];
	const char			*wallet = NULL;
	enum kg_err			 r;
	int				 ch;

	if (argc < 2)
		return usage_of(a, "namespace");
	/* NAME first, then its options: argv + 1 starts at NAME. */
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "+", opts, NULL)) != -1) {
		if (ch != 'o')
			return usage_of(a, "namespace");
		wallet = optarg;
	}
	if (optind != argc - 1)
		return usage_of(a, "namespace");
	memset(&c, 0, sizeof(c));
	c.nc_name = argv[1];
	if (!kg_namespace_valid(c.nc_name))
		return fail(a, EXIT_USAGE, "invalid_namespace", "NAME must "
		    "match ^[a-z0-9][a-z0-9._-]{0,62}$");
	if (wallet != NULL) {
		uint8_t	addr[KG_ETH_ADDR_LEN];

		if (kg_eth_address_parse(wallet, addr) != KG_OK)
			return fail(a, EXIT_USAGE, "invalid_wallet", "--owner "
			    "must be 0x and 40 hex digits (EIP-55 when mixed "
			    "case)");
		kg_eth_address_lower(addr, owner);
		c.nc_owner = owner;
	}
	r = kg_db_txn(a->a_db, ns_create_txn, &c);
	if (r == KG_ERR_CONFLICT)
		return fail(a, EXIT_NO, "conflict", "a namespace with this "
		    "name already exists");
	if (r != KG_OK)
		return fail_err(a, r);
	if (a->a_json) {
		struct json_object	*j;

		if ((j = ns_to_json(&c.nc_info)) == NULL)
			return fail(a, EXIT_USAGE, "internal", "out of memory");
		json_object_object_add(j, "owner", c.nc_owner != NULL ?
		    json_object_new_string(c.nc_owner) : NULL);
		printf("%s\n", json_object_to_json_string_ext(j,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else if (c.nc_owner != NULL)
		printf("created namespace %s, owner %s (track 4)\n",
		    c.nc_info.ni_name, c.nc_owner);
	else
		printf("created namespace %s\n", c.nc_info.ni_name);
	return EXIT_OK;
}

struct ns_rows {
	struct json_object	*nr_list;	/* --json */
	size_t			 nr_n;
};

static enum kg_err
ns_row_print(const struct kg_ns_info *ni, void *arg)
{
	struct ns_rows	*l = arg;
	char		 ts[KG_TIME_RFC3339_MAX];

	if (l->nr_list != NULL) {
		json_object_array_add(l->nr_list, ns_to_json(ni));
		return KG_OK;
	}
	if (l->nr_n++ == 0)
		printf("%-40s %-8s %s\n", "NAME", "MEMBERS", "CREATED");
	if (kg_time_format_rfc3339(ni->ni_created_us, ts, 0) != KG_OK)
		ts[0] = '\0';
	printf("%-40s %-8lld %s\n", ni->ni_name, ni->ni_members, ts);
	return KG_OK;
}

static int
ns_list(struct admin *a)
{
	struct ns_rows	 l;
	enum kg_err	 r;
	size_t		 n = 0;

	memset(&l, 0, sizeof(l));
	if (a->a_json && (l.nr_list = json_object_new_array()) == NULL)
		return fail(a, EXIT_USAGE, "internal", "out of memory");
	if ((r = kg_store_ns_list(a->a_db, ns_row_print, &l, &n)) != KG_OK) {
		json_object_put(l.nr_list);
		return fail_err(a, r);
	}
	if (l.nr_list != NULL) {
		printf("%s\n", json_object_to_json_string_ext(l.nr_list,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(l.nr_list);
	} else if (n == 0)
		printf("no namespaces\n");
	return EXIT_OK;
}

/* namespace create|list: as POST /v1/namespaces; list is admin-only. */
static int
cmd_namespace(struct admin *a, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "create") == 0)
		return ns_create(a, argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return ns_list(a);
	return usage_of(a, "namespace");
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
	const char			*env;
	char				 err[512];
	enum kg_err			 r;
	int				 ch, rc = EXIT_USAGE;

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
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return fail(&a, EXIT_USAGE, "usage", "bad option");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return fail(&a, EXIT_USAGE, "usage", "no command");
	}
	if ((c = cmd_find(argv[0])) == NULL) {
		usage(stderr);
		return fail(&a, EXIT_USAGE, "usage", "unknown command");
	}
	if (wants_help(argc, argv)) {
		cmd_help(stdout, c);
		return EXIT_OK;
	}

	kg_log_init(progname, KG_LOG_WARN, 0);
	/* As keygate-fcgi, but no file at all is a valid choice here. */
	if (a.a_cfgpath == NULL && (env = getenv("KEYGATE_CONFIG")) != NULL &&
	    env[0] != '\0')
		a.a_cfgpath = env;
	err[0] = '\0';
	if ((r = kg_config_load(&a.a_cfg, a.a_cfgpath, err, sizeof(err))) != KG_OK) {
		rc = fail(&a, EXIT_USAGE, "config", err[0] != '\0' ? err : kg_strerror(r));
		goto out;
	}
	/* Tools log to stderr whatever the service's target is. */
	kg_log_set(a.a_cfg.log_level, 0);
	if ((c->c_flags & CMD_DDL) &&
	    a.a_cfg.db_read_timeout < ADMIN_DDL_TIMEOUT)
		a.a_cfg.db_read_timeout = ADMIN_DDL_TIMEOUT;
	if (c->c_flags & CMD_DB) {
		if ((r = kg_db_open(&a.a_db, &a.a_cfg)) != KG_OK) {
			rc = fail_err(&a, r);
			goto out;
		}
		if (kg_db_ping(a.a_db) != KG_OK) {
			rc = fail(&a, EXIT_DB, "database", "cannot connect to the "
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
