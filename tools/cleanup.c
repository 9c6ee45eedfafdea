/*
 * keygate-cleanup: the cron job that deletes rows nobody can use any more.
 *
 *	keygate-cleanup [-c FILE] [--dry-run] [--batch N] [--max-seconds N]
 *
 * Without -c, the file named by $KEYGATE_CONFIG, else no file.
 *
 * Exit status: 0 done, 1 partial (time limit reached or a step failed
 * after others succeeded), 2 failure (usage, configuration, database).
 *
 * The work is a table of steps, run in order, each deleting at most
 * --batch rows per statement until nothing is left or the time is up, and
 * printing one summary line.  What each step deletes, and why no live row
 * goes, is in core/store/cleanup.h; its SQL in core/store/cleanup.c.
 *
 * Runs never overlap: the named lock keygate_cleanup:<database> is taken
 * first, and a run that finds it held says so and exits 0 at once.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/cleanup.h"
#include "core/store/db.h"

#define EXIT_OK		0
#define EXIT_PARTIAL	1
#define EXIT_FAIL	2

#define BATCH_DEFAULT		1000
#define BATCH_MAX		KG_CLEANUP_BATCH_MAX
#define MAX_SECONDS_DEFAULT	300	/* 0 = no limit */
#define MAX_SECONDS_MAX		86400

struct cleanup_opts {
	int		 o_dry_run;	/* count what would go, delete nothing */
	long		 o_batch;	/* rows per statement */
	long		 o_max_seconds;	/* 0 = no limit */
};

/*
 * One kind of dead row (kg_cleanup_fn: up to --batch rows a statement
 * until none is left or the deadline passes).  An error ends that step
 * only; the next one still runs.
 */
struct cleanup_step {
	const char	*s_name;	/* the table, for the summary line */
	kg_cleanup_fn	 s_run;
};

/*
 * In this order: refresh tokens before their families (a family with
 * tokens left waits for the next run).
 */
static const struct cleanup_step steps[] = {
	{ "nonces",		kg_cleanup_nonces },
	{ "install_tokens",	kg_cleanup_install_tokens },
	{ "refresh_tokens",	kg_cleanup_refresh_tokens },
	{ "session_families",	kg_cleanup_session_families },
	{ "jwt_revocations",	kg_cleanup_jwt_revocations },
	{ "subject_logouts",	kg_cleanup_subject_logouts },
	{ "rate_buckets",	kg_cleanup_rate_buckets },
	{ "serial_locks",	kg_cleanup_serial_locks },
	{ "audit_events",	kg_cleanup_audit_events },
	{ NULL, NULL }
};

static const char	*progname = "keygate-cleanup";

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-c FILE] [--dry-run] [--batch N] "
	    "[--max-seconds N]\n", progname);
	fprintf(stderr, "  --batch N        rows per statement, 1..%d "
	    "(default %d)\n", BATCH_MAX, BATCH_DEFAULT);
	fprintf(stderr, "  --max-seconds N  stop after N seconds, 0 = no limit, "
	    "at most %d (default %d)\n", MAX_SECONDS_MAX, MAX_SECONDS_DEFAULT);
}

/* Parses a whole decimal number in [min, max]; returns 0 or -1. */
static int
parse_number(const char *s, long min, long max, long *out)
{
	char		*end;
	long long	 v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (long)v;
	return 0;
}

/* Runs every step; returns the exit status. */
static int
run_steps(struct kg_cleanup *c)
{
	const struct cleanup_step	*s;
	unsigned long long		 count;
	enum kg_err			 r;
	int				 ok = 0, failed = 0, late = 0;
	int				 complete;

	for (s = steps; s->s_name != NULL; s++) {
		if (kg_cleanup_late(c)) {
			printf("%s: skipped (time limit)\n", s->s_name);
			late = 1;
			continue;
		}
		count = 0;
		complete = 0;
		r = s->s_run(c, &count, &complete);
		printf("%s: %s %llu rows%s%s%s\n", s->s_name,
		    c->cl_dry_run ? "would delete" : "deleted", count,
		    r == KG_OK && !complete ? ", stopped (time limit)" : "",
		    r != KG_OK ? ", failed: " : "",
		    r != KG_OK ? kg_strerror(r) : "");
		if (r != KG_OK)
			failed++;
		else
			ok++;
		if (r == KG_OK && !complete)
			late = 1;
	}
	(void)fflush(stdout);
	if (failed > 0 && ok == 0)
		return EXIT_FAIL;
	return failed > 0 || late ? EXIT_PARTIAL : EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "max-seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cleanup_opts		 o;
	struct kg_cleanup		 c;
	struct kg_config		 cfg;
	struct kg_db			*db = NULL;
	const char			*cfgpath = NULL, *env;
	char				 err[512];
	enum kg_err			 r;
	int				 ch, got, rc = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	memset(&cfg, 0, sizeof(cfg));
	o.o_batch = BATCH_DEFAULT;
	o.o_max_seconds = MAX_SECONDS_DEFAULT;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'n':
			o.o_dry_run = 1;
			break;
		case 'b':
			if (parse_number(optarg, 1, BATCH_MAX, &o.o_batch) != 0) {
				fprintf(stderr, "%s: --batch: not a number in "
				    "1..%d: %s\n", progname, BATCH_MAX, optarg);
				return EXIT_FAIL;
			}
			break;
		case 't':
			if (parse_number(optarg, 0, MAX_SECONDS_MAX,
			    &o.o_max_seconds) != 0) {
				fprintf(stderr, "%s: --max-seconds: not a number "
				    "in 0..%d: %s\n", progname, MAX_SECONDS_MAX,
				    optarg);
				return EXIT_FAIL;
			}
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage();
			return EXIT_FAIL;
		}
	}
	if (optind != argc) {
		usage();
		return EXIT_FAIL;
	}
	/* The time limit counts from the start, configuration included. */
	kg_cleanup_limit(&c, o.o_max_seconds);

	kg_log_init(progname, KG_LOG_WARN, 0);
	/* As keygate-admin: -c, else $KEYGATE_CONFIG, else no file. */
	if (cfgpath == NULL && (env = getenv("KEYGATE_CONFIG")) != NULL &&
	    env[0] != '\0')
		cfgpath = env;
	err[0] = '\0';
	if ((r = kg_config_load(&cfg, cfgpath, err, sizeof(err))) != KG_OK) {
		fprintf(stderr, "%s: %s\n", progname,
		    err[0] != '\0' ? err : kg_strerror(r));
		goto out;
	}
	kg_log_set(cfg.log_level, 0);
	if ((r = kg_db_open(&db, &cfg)) != KG_OK) {
		fprintf(stderr, "%s: %s\n", progname, kg_strerror(r));
		goto out;
	}
	if (kg_db_ping(db) != KG_OK) {
		fprintf(stderr, "%s: cannot connect to the database\n",
		    progname);
		goto out;
	}
	c.cl_db = db;
	c.cl_cfg = &cfg;
	c.cl_batch = o.o_batch;
	c.cl_dry_run = o.o_dry_run;
	if ((r = kg_cleanup_lock(&c, &got)) != KG_OK) {
		fprintf(stderr, "%s: cannot take the cleanup lock: %s\n",
		    progname, kg_strerror(r));
		goto out;
	}
	if (!got) {
		/* Not a failure: the other run does the work. */
		printf("%s: another run holds the lock on database %s; "
		    "nothing done\n", progname, cfg.db_name);
		rc = EXIT_OK;
		goto out;
	}
	rc = run_steps(&c);
	if ((r = kg_cleanup_unlock(&c)) != KG_OK)
		/* Harmless: the lock ends with the connection below. */
		fprintf(stderr, "%s: cannot release the cleanup lock: %s\n",
		    progname, kg_strerror(r));
out:
	kg_db_close(db);
	kg_config_free(&cfg);
	return rc;
}
