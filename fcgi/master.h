/*
 * master.h: the supervisor of the worker processes (STYLE 8).
 *
 * The master never serves a request and never opens a database
 * connection: it forks workers over one listening socket, reaps them,
 * respawns them (with back-off when they die at once), replaces them one
 * by one on SIGHUP with a re-read configuration, and on SIGTERM/SIGINT
 * lets them finish what they are doing.
 */
#ifndef KG_MASTER_H
#define KG_MASTER_H

#include "core/base/config.h"

enum kg_mode {
	KG_MODE_STANDALONE = 0,	/* we bound cfg->listen */
	KG_MODE_SPAWNED,	/* the web server handed us a socket on fd 0 */
	KG_MODE__MAX
};

/* Default worker counts for `workers = 0`, by mode. */
#define KG_MASTER_WORKERS_STANDALONE	2
#define KG_MASTER_WORKERS_SPAWNED	1

/* A worker that dies sooner than this after its start is "dying at once". */
#define KG_MASTER_QUICK_DEATH_MS	1000
/* First and largest respawn delay after quick deaths (doubling). */
#define KG_MASTER_BACKOFF_MIN_MS	500
#define KG_MASTER_BACKOFF_MAX_MS	5000
/* A replacement started on SIGHUP must live this long before the old
 * worker it replaces is asked to stop. */
#define KG_MASTER_SETTLE_MS		300

/*
 * Supervises workers on listen_fd until SIGTERM or SIGINT, then asks every
 * worker to finish (SIGTERM), waits for them up to cfg->shutdown_timeout
 * seconds, SIGKILLs what is left and returns.
 *
 * Takes over *cfg (it is replaced on SIGHUP); on return *cfg has been
 * freed and zeroed.  config_path is the file re-read on SIGHUP (NULL:
 * defaults and environment only); it must stay valid.  Sets O_NONBLOCK on
 * listen_fd (see worker.c) and leaves it open.
 *
 * Returns the process exit status: 0 after a clean shutdown, 1 when the
 * master could not run at all (signal setup failed).
 */
int	kg_master_run(struct kg_config *cfg, const char *config_path,
	    int listen_fd, enum kg_mode mode);

/* The number of workers cfg asks for in mode (resolving `workers = 0`). */
int	kg_master_workers(const struct kg_config *cfg, enum kg_mode mode);

#endif
