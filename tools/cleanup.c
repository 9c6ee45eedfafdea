/*
 * keygate-cleanup: the cron job that deletes rows nobody can use any more.
 *
 *	keygate-cleanup [-c FILE] [--dry-run] [--batch N] [--max-seconds N]
 *
 * Exit status: 0 done, 1 partial (time limit reached or a step failed
 * after others succeeded), 2 failure (usage, configuration, database).
 *
 * The work is a table of steps, run in order, each deleting at most
 * --batch rows per statement until nothing is left or the time is up, and
 * printing one summary line.  The steps themselves (their SQL lives in
 * core/store/, like all SQL) arrive with the cleanup issue; until then the
 * table is empty and a run checks the configuration and the database.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/db.h"

#define EXIT_OK		0
#define EXIT_PARTIAL	1
#define EXIT_FAIL	2

#define BATCH_DEFAULT		1000
#define BATCH_MAX		100000
#define MAX_SECONDS_DEFAULT	300	/* 0 = no limit */
#define MAX_SECONDS_MAX		86400

struct cleanup_opts {
	int		 o_dry_run;	/* count what would go, delete nothing */
	long		 o_batch;	/* rows per statement */
	long		 o_max_seconds;	/* 0 = no limit */
	time_t		 o_deadline;	/* 0 = none */
};

/*
 * One kind of expired row.  s_run deletes (or with o_dry_run counts) up to
 * o_batch rows per statement, repeating until none are left or the
 * deadline passes, and adds the number to *count.  It returns KG_OK, or
 * an error after which the next step still runs.
 */
struct cleanup_step {
	const char	*s_name;	/* for the summary line */
	enum kg_err	(*s_run)(struct kg_db *, const struct cleanup_opts *,
			    unsigned long long *count);
};

/*
 * To come, in this order (ARCHITECTURE "Tools"): expired nonces, expired
 * or used install tokens, expired refresh tokens, revocation rows whose
 * token has expired anyway, audit events past audit_retention.
 */
static const struct cleanup_step steps[] = {
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
run_steps(struct kg_db *db, const struct cleanup_opts *o)
{
	const struct cleanup_step	*s;
	unsigned long long		 count;
	enum kg_err			 r;
	int				 ok = 0, failed = 0, late = 0;

	for (s = steps; s->s_name != NULL; s++) {
		if (o->o_deadline != 0 && time(NULL) >= o->o_deadline) {
			printf("%s: skipped (time limit)\n", s->s_name);
			late = 1;
			continue;
		}
		count = 0;
		r = s->s_run(db, o, &count);
		printf("%s: %s %llu rows%s%s\n", s->s_name,
		    o->o_dry_run ? "would delete" : "deleted", count,
		    r != KG_OK ? ", failed: " : "",
		    r != KG_OK ? kg_strerror(r) : "");
		if (r != KG_OK)
			failed++;
		else
			ok++;
	}
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
	struct kg_config		 cfg;
	struct kg_db			*db = NULL;
	const char			*cfgpath = NULL;
	char				 err[512];
	enum kg_err			 r;
	int				 ch, rc = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
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
	if (o.o_max_seconds > 0)
		o.o_deadline = time(NULL) + o.o_max_seconds;

	kg_log_init(progname, KG_LOG_WARN, 0);
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
	rc = run_steps(db, &o);
out:
	kg_db_close(db);
	kg_config_free(&cfg);
	return rc;
}
