/*
 * master.c: the supervisor.
 *
 * The signal handlers only set volatile sig_atomic_t flags.  Every signal
 * the master acts on is blocked except inside sigsuspend(), so a flag can
 * only change while the master sleeps there and no wakeup is lost.  Timed
 * work (a delayed respawn, the end of a grace period) arms ITIMER_REAL,
 * whose SIGALRM wakes sigsuspend.
 *
 * Worker bookkeeping: each worker is `fresh` (started with the current
 * configuration), `stale` (started before the last accepted SIGHUP) or
 * `retiring` (asked to stop; not counted, not replaced).  One pass of
 * master_maintain():
 *   1. fills fresh + stale up to the configured count, unless a back-off
 *      delay is running;
 *   2. rolls one stale worker at a time: start a fresh replacement, let it
 *      settle, then SIGTERM the oldest stale worker, and wait until that
 *      one has exited before the next.  Capacity never drops to zero, and
 *      a configuration whose workers die at once never replaces the old
 *      ones (their replacement keeps backing off instead).
 */
#include "config.h"

#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/api/ctx.h"
#include "core/base/config.h"
#include "core/base/log.h"
#include "core/base/metrics.h"
#include "core/store/revocation.h"
#include "fcgi/master.h"
#include "fcgi/worker.h"

static volatile sig_atomic_t	 got_chld;
static volatile sig_atomic_t	 got_term;
static volatile sig_atomic_t	 got_hup;
static volatile sig_atomic_t	 got_alrm;

static void
master_on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:
		got_chld = 1;
		break;
	case SIGTERM:
	case SIGINT:
		got_term = 1;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	case SIGALRM:
		got_alrm = 1;
		break;
	}
}

struct kg_wk {
	pid_t		 wk_pid;
	unsigned int	 wk_gen;	/* configuration generation */
	long long	 wk_started;	/* ms, monotonic */
	int		 wk_retiring;	/* SIGTERM sent by us */
	long long	 wk_kill_at;	/* ms: SIGKILL if still alive */
};

struct kg_master {
	struct kg_config	 m_cfg;
	const char		*m_path;
	int			 m_fd;
	enum kg_mode		 m_mode;
	pid_t			 m_self;

	struct kg_wk		*m_wk;
	size_t			 m_nwk;
	size_t			 m_capwk;
	unsigned int		 m_gen;
	size_t			 m_owed;	/* exited unasked, not replaced */

	long long		 m_backoff;	/* ms; 0 = none */
	long long		 m_next_spawn;	/* ms; no spawn before */
	pid_t			 m_roll_pid;	/* replacement settling */
	long long		 m_roll_at;

	int			 m_stopping;
	int			 m_killed;	/* SIGKILL sent at shutdown */
	long long		 m_stop_at;	/* ms: grace period ends */
};

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
kg_master_workers(const struct kg_config *cfg, enum kg_mode mode)
{
	if (cfg->workers > 0)
		return cfg->workers;
	return mode == KG_MODE_SPAWNED ? KG_MASTER_WORKERS_SPAWNED :
	    KG_MASTER_WORKERS_STANDALONE;
}

static long long
grace_ms(const struct kg_master *m)
{
	return m->m_cfg.shutdown_timeout > 0 ?
	    (long long)m->m_cfg.shutdown_timeout * 1000 : 0;
}

/* ------------------------------------------------------------ workers */

static struct kg_wk *
wk_find(struct kg_master *m, pid_t pid)
{
	size_t	i;

	for (i = 0; i < m->m_nwk; i++)
		if (m->m_wk[i].wk_pid == pid)
			return &m->m_wk[i];
	return NULL;
}

static void
wk_remove(struct kg_master *m, struct kg_wk *w)
{
	size_t	i = (size_t)(w - m->m_wk);

	m->m_wk[i] = m->m_wk[--m->m_nwk];
}

/*
 * Forks one worker of the current generation.  Returns its pid, or -1
 * (logged) when fork or the bookkeeping failed.
 */
static pid_t
master_spawn(struct kg_master *m, long long now)
{
	struct kg_wk	*nw;
	size_t		 cap;
	pid_t		 pid;

	if (m->m_nwk == m->m_capwk) {
		cap = m->m_capwk ? m->m_capwk * 2 : 8;
		if ((nw = reallocarray(m->m_wk, cap, sizeof(*nw))) == NULL) {
			kg_log_error("cannot track another worker: %s",
			    strerror(errno));
			return -1;
		}
		m->m_wk = nw;
		m->m_capwk = cap;
	}
	/* Nothing buffered may be written twice, by parent and child. */
	fflush(NULL);
	if ((pid = fork()) == -1) {
		kg_log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(kg_worker_run(&m->m_cfg, m->m_fd, m->m_self));
	nw = &m->m_wk[m->m_nwk++];
	nw->wk_pid = pid;
	nw->wk_gen = m->m_gen;
	nw->wk_started = now;
	nw->wk_retiring = 0;
	nw->wk_kill_at = 0;
	kg_metrics_worker(KG_METRICS_WORKER_START);
	kg_log_info("worker %d started (generation %u)", (int)pid, m->m_gen);
	return pid;
}

/* Asks w to finish its request and exit; SIGKILL after the grace time. */
static void
master_retire(struct kg_master *m, struct kg_wk *w, long long now)
{
	if (kill(w->wk_pid, SIGTERM) == -1 && errno != ESRCH)
		kg_log_warn("kill %d: %s", (int)w->wk_pid, strerror(errno));
	w->wk_retiring = 1;
	w->wk_kill_at = now + grace_ms(m);
	kg_log_info("worker %d asked to stop (generation %u)",
	    (int)w->wk_pid, w->wk_gen);
}

/* A quick abnormal death delays the next spawn, doubling each time. */
static void
master_backoff(struct kg_master *m, long long now)
{
	if (m->m_backoff == 0)
		m->m_backoff = KG_MASTER_BACKOFF_MIN_MS;
	else if ((m->m_backoff *= 2) > KG_MASTER_BACKOFF_MAX_MS)
		m->m_backoff = KG_MASTER_BACKOFF_MAX_MS;
	m->m_next_spawn = now + m->m_backoff;
	kg_log_warn("next worker start delayed by %lld ms", m->m_backoff);
}

/* Reaps every exited child, logging why it ended. */
static void
master_reap(struct kg_master *m, long long now)
{
	struct kg_wk	*w;
	long long	 lived;
	pid_t		 pid;
	int		 st, clean, expected;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if ((w = wk_find(m, pid)) == NULL) {
			kg_log_debug("reaped unknown child %d", (int)pid);
			continue;
		}
		lived = now - w->wk_started;
		clean = WIFEXITED(st) && WEXITSTATUS(st) == KG_WORKER_EXIT_OK;
		expected = w->wk_retiring || m->m_stopping;
		if (WIFEXITED(st))
			kg_log_write(clean ? KG_LOG_INFO : KG_LOG_ERROR,
			    __func__, "worker %d exited with status %d after "
			    "%lld ms", (int)pid, WEXITSTATUS(st), lived);
		else if (WIFSIGNALED(st))
			kg_log_write(expected && WTERMSIG(st) == SIGKILL ?
			    KG_LOG_WARN : KG_LOG_ERROR, __func__,
			    "worker %d killed by signal %d (%s) after %lld ms%s",
			    (int)pid, WTERMSIG(st), strsignal(WTERMSIG(st)),
			    lived, WCOREDUMP(st) ? ", core dumped" : "");
		if (m->m_roll_pid == pid)
			m->m_roll_pid = 0;
		if (!expected) {
			/* Its replacement is a restart (master_maintain). */
			m->m_owed++;
			if (!clean)
				kg_metrics_worker(KG_METRICS_WORKER_DEATH);
		}
		/*
		 * Recycling and requested stops respawn at once; a crash
		 * right after start backs off so a broken worker cannot
		 * make the master fork in a tight loop.
		 */
		if (!clean && !expected) {
			if (lived < KG_MASTER_QUICK_DEATH_MS)
				master_backoff(m, now);
			else
				m->m_backoff = 0;
		}
		wk_remove(m, w);
	}
	if (pid == -1 && errno != ECHILD)
		kg_log_error("waitpid: %s", strerror(errno));
}

/* The worker of generation < current that was started first. */
static struct kg_wk *
oldest_stale(struct kg_master *m)
{
	struct kg_wk	*best = NULL;
	size_t		 i;

	for (i = 0; i < m->m_nwk; i++) {
		if (m->m_wk[i].wk_retiring || m->m_wk[i].wk_gen == m->m_gen)
			continue;
		if (best == NULL || m->m_wk[i].wk_started < best->wk_started)
			best = &m->m_wk[i];
	}
	return best;
}

static void
master_maintain(struct kg_master *m, long long now)
{
	struct kg_wk	*w;
	size_t		 i, fresh = 0, stale = 0, retiring = 0, settling, have;
	size_t		 target = (size_t)kg_master_workers(&m->m_cfg,
			    m->m_mode);
	pid_t		 pid;

	for (i = 0; i < m->m_nwk; i++) {
		if (m->m_wk[i].wk_retiring)
			retiring++;
		else if (m->m_wk[i].wk_gen == m->m_gen)
			fresh++;
		else
			stale++;
	}

	/* 1. Capacity. */
	while (fresh + stale < target && now >= m->m_next_spawn) {
		if (master_spawn(m, now) == -1) {
			master_backoff(m, now);
			return;
		}
		fresh++;
		if (m->m_owed > 0) {
			m->m_owed--;
			kg_metrics_worker(KG_METRICS_WORKER_RESTART);
		}
	}
	/*
	 * Only a shortfall is owed: when a reload lowered the count after a
	 * worker died, nobody is replaced, and a much later start must not
	 * count as a restart.  A roll's replacement is extra capacity.
	 */
	have = fresh + stale -
	    (m->m_roll_pid != 0 && stale > 0 && fresh > 0 ? 1 : 0);
	if (have >= target)
		m->m_owed = 0;
	else if (m->m_owed > target - have)
		m->m_owed = target - have;

	/* 2. One replacement at a time after a reload.  The replacement
	 * that is settling is extra capacity, not part of the count. */
	if (stale == 0)
		m->m_roll_pid = 0;	/* nothing left to replace */
	settling = m->m_roll_pid != 0 ? 1 : 0;
	if (stale > 0 && retiring == 0) {
		if (fresh - settling + stale > target) {
			/* Fewer workers wanted: no replacement needed. */
			if ((w = oldest_stale(m)) != NULL)
				master_retire(m, w, now);
		} else if (m->m_roll_pid == 0) {
			if (now >= m->m_next_spawn) {
				if ((pid = master_spawn(m, now)) == -1)
					master_backoff(m, now);
				else {
					m->m_roll_pid = pid;
					m->m_roll_at = now;
				}
			}
		} else if (now - m->m_roll_at >= KG_MASTER_SETTLE_MS) {
			if ((w = oldest_stale(m)) != NULL)
				master_retire(m, w, now);
			m->m_roll_pid = 0;
		}
	} else if (stale == 0 && retiring == 0 && fresh > target) {
		/* Only after a reload lowered the count mid-roll. */
		for (i = 0; i < m->m_nwk; i++)
			if (!m->m_wk[i].wk_retiring) {
				master_retire(m, &m->m_wk[i], now);
				break;
			}
	}
}

/* SIGKILLs retiring workers whose grace time is over. */
static void
master_enforce(struct kg_master *m, long long now)
{
	size_t	i;

	for (i = 0; i < m->m_nwk; i++) {
		struct kg_wk *w = &m->m_wk[i];

		if (!w->wk_retiring || w->wk_kill_at == 0 ||
		    now < w->wk_kill_at)
			continue;
		kg_log_warn("worker %d did not stop within %ld s: killing it",
		    (int)w->wk_pid, m->m_cfg.shutdown_timeout);
		if (kill(w->wk_pid, SIGKILL) == -1 && errno != ESRCH)
			kg_log_warn("kill %d: %s", (int)w->wk_pid,
			    strerror(errno));
		w->wk_kill_at = 0;
	}
}

static void
master_stop(struct kg_master *m, long long now)
{
	size_t	i;

	m->m_stopping = 1;
	m->m_stop_at = now + grace_ms(m);
	kg_log_info("shutting down: asking %zu workers to finish (up to %ld s)",
	    m->m_nwk, m->m_cfg.shutdown_timeout);
	for (i = 0; i < m->m_nwk; i++) {
		if (kill(m->m_wk[i].wk_pid, SIGTERM) == -1 && errno != ESRCH)
			kg_log_warn("kill %d: %s", (int)m->m_wk[i].wk_pid,
			    strerror(errno));
		m->m_wk[i].wk_retiring = 1;
		m->m_wk[i].wk_kill_at = 0;	/* the deadline is global */
	}
}

/* Keeps the running value of a key that needs a restart to change. */
static void
keep_running(const char *key, char **fresh, char **running)
{
	char	*t;

	if (strcmp(*fresh != NULL ? *fresh : "",
	    *running != NULL ? *running : "") == 0)
		return;
	kg_log_warn("reload: %s changed from \"%s\" to \"%s\": that needs a "
	    "restart; keeping \"%s\"", key, *running ? *running : "",
	    *fresh ? *fresh : "", *running ? *running : "");
	t = *fresh;
	*fresh = *running;
	*running = t;
}

static void
master_reload(struct kg_master *m)
{
	struct kg_config	 fresh;
	char			 why[512];
	enum kg_err		 e;

	memset(&fresh, 0, sizeof(fresh));
	why[0] = '\0';
	e = kg_config_load(&fresh, m->m_path, why, sizeof(why));
	if (e == KG_OK)
		e = kg_ctx_check(&fresh, why, sizeof(why));
	if (e != KG_OK) {
		kg_log_error("reload refused: %s; the running configuration "
		    "and workers stay", why[0] != '\0' ? why : kg_strerror(e));
		kg_config_free(&fresh);
		return;
	}
	if (m->m_mode == KG_MODE_STANDALONE)
		keep_running("listen", &fresh.listen, &m->m_cfg.listen);
	keep_running("user", &fresh.user, &m->m_cfg.user);
	keep_running("pid_file", &fresh.pid_file, &m->m_cfg.pid_file);

	kg_log_set(fresh.log_level, fresh.log_syslog);
	kg_config_free(&m->m_cfg);
	m->m_cfg = fresh;
	m->m_gen++;
	/* A new configuration deserves a fresh start after back-offs. */
	m->m_backoff = 0;
	m->m_next_spawn = 0;
	m->m_roll_pid = 0;
	kg_log_info("reload: configuration %s accepted (generation %u); "
	    "replacing %zu workers one by one", m->m_path ? m->m_path :
	    "(environment)", m->m_gen, m->m_nwk);
}

/* The next moment something is due, or 0 when only signals matter. */
static long long
master_next_due(const struct kg_master *m, long long now)
{
	long long	due = 0;
	size_t		i;

#define DUE(t)	do { if ((t) > 0 && (due == 0 || (t) < due)) due = (t); } while (0)
	if (m->m_stopping) {
		if (!m->m_killed)
			DUE(m->m_stop_at);
		return due;
	}
	if (m->m_next_spawn > now)
		DUE(m->m_next_spawn);
	if (m->m_roll_pid != 0)
		DUE(m->m_roll_at + KG_MASTER_SETTLE_MS);
	for (i = 0; i < m->m_nwk; i++)
		if (m->m_wk[i].wk_retiring)
			DUE(m->m_wk[i].wk_kill_at);
#undef DUE
	return due;
}

static void
master_arm(long long ms)
{
	struct itimerval	it;

	memset(&it, 0, sizeof(it));
	if (ms > 0) {
		it.it_value.tv_sec = (time_t)(ms / 1000);
		it.it_value.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

static int
master_signals(sigset_t *waitmask)
{
	static const int	 sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP,
				    SIGALRM };
	struct sigaction	 sa;
	sigset_t		 block;
	size_t			 i;

	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&block, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &block, waitmask) == -1)
		return -1;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(waitmask, sigs[i]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = master_on_signal;
	sa.sa_mask = block;
	sa.sa_flags = SA_NOCLDSTOP;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGPIPE, &sa, NULL);
}

int
kg_master_run(struct kg_config *cfg, const char *config_path, int listen_fd,
    enum kg_mode mode)
{
	struct kg_master	 m;
	sigset_t		 waitmask;
	long long		 now, due;
	int			 r = 1, fl;

	memset(&m, 0, sizeof(m));
	m.m_cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	m.m_path = config_path;
	m.m_fd = listen_fd;
	m.m_mode = mode;
	m.m_self = getpid();

	if (master_signals(&waitmask) == -1) {
		kg_log_error("signal setup: %s", strerror(errno));
		goto out;
	}
	/* Before the first fork: every worker adds to the same counters.
	 * Without it (logged), each worker counts on its own. */
	(void)kg_metrics_share();
	/* Likewise the revocation epoch: without it (logged) a revocation
	 * reaches the other workers' caches within 1 s, as other hosts'. */
	(void)kg_revocation_share();
	/* Workers race for each connection; the losers must not block in
	 * accept() (worker.c). */
	if ((fl = fcntl(listen_fd, F_GETFL)) == -1 ||
	    fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		kg_log_error("listening socket: %s", strerror(errno));
		goto out;
	}
	kg_log_info("master %d supervising %d workers (%s)", (int)m.m_self,
	    kg_master_workers(&m.m_cfg, mode),
	    mode == KG_MODE_SPAWNED ? "socket from the web server" :
	    m.m_cfg.listen);

	for (;;) {
		now = now_ms();
		if (got_chld) {
			got_chld = 0;
			master_reap(&m, now);
		}
		if (got_term) {
			got_term = 0;
			if (!m.m_stopping)
				master_stop(&m, now);
		}
		if (got_hup) {
			got_hup = 0;
			if (!m.m_stopping)
				master_reload(&m);
		}
		got_alrm = 0;

		now = now_ms();
		if (m.m_stopping) {
			if (m.m_nwk == 0)
				break;
			if (!m.m_killed && now >= m.m_stop_at) {
				size_t i;

				kg_log_warn("%zu workers still busy after %ld s: "
				    "killing them", m.m_nwk,
				    m.m_cfg.shutdown_timeout);
				for (i = 0; i < m.m_nwk; i++)
					kill(m.m_wk[i].wk_pid, SIGKILL);
				m.m_killed = 1;
			}
		} else {
			master_enforce(&m, now);
			master_maintain(&m, now);
		}
		kg_metrics_workers_set(m.m_nwk);

		due = master_next_due(&m, now);
		master_arm(due > 0 ? (due > now ? due - now : 1) : 0);
		/* Every flag changes only in here, so none is missed. */
		if (!got_chld && !got_term && !got_hup)
			sigsuspend(&waitmask);
	}
	master_arm(0);
	kg_log_info("all workers stopped; master exits");
	r = 0;
 out:
	free(m.m_wk);
	kg_config_free(&m.m_cfg);
	return r;
}
