/*
 * metrics.h: the counters behind GET /metrics (SPEC 11), summed across
 * every worker of one master.
 *
 * The counters live in one fixed-layout region.  By default it is this
 * process's own memory (plain CGI, the tools, tests); the master calls
 * kg_metrics_share() before it forks, which moves them into an anonymous
 * shared mapping that every worker inherits, so a worker's increment is
 * seen by the sibling that renders /metrics.  Updates are relaxed atomic
 * adds into fixed arrays: the request path never locks or allocates.
 *
 * Requests are counted per slot: a slot is an index into the route table
 * (kg_routes), or one of the KG_METRICS_SLOT_* values for requests no
 * route answered.  core/base knows nothing of the table; the renderer
 * asks the caller for each slot's labels.
 */
#ifndef KG_METRICS_H
#define KG_METRICS_H

#include <stddef.h>
#include "core/base/buf.h"
#include "core/base/err.h"

/* Route-table entries counted one by one (tests/unit/check_metrics
 * fails when the table outgrows it). */
#define KG_METRICS_ROUTES		128
/* Requests that matched no route: 404, 405, refused before routing. */
#define KG_METRICS_SLOT_UNMATCHED	(KG_METRICS_ROUTES + 0)
/* Requests in the FastCGI Authorizer role (no route applies). */
#define KG_METRICS_SLOT_AUTHORIZER	(KG_METRICS_ROUTES + 1)
/* A route index beyond KG_METRICS_ROUTES (never, while the test holds). */
#define KG_METRICS_SLOT_OTHER		(KG_METRICS_ROUTES + 2)
#define KG_METRICS_SLOTS		(KG_METRICS_ROUTES + 3)

/* Latency buckets (upper bounds, microseconds) of the histogram. */
#define KG_METRICS_BUCKETS		13

enum kg_metrics_db {
	KG_METRICS_DB_CONNECT = 0,	/* connect or session set-up failed */
	KG_METRICS_DB_STATEMENT,	/* a statement (or ping) failed, and
					 * no retry (deadlock, lost
					 * connection) saved it */
	KG_METRICS_DB__MAX
};

enum kg_metrics_worker {
	KG_METRICS_WORKER_START = 0,	/* a worker was forked */
	KG_METRICS_WORKER_RESTART,	/* ... to replace one that exited
					 * unasked (crash, kill, recycling) */
	KG_METRICS_WORKER_DEATH,	/* a worker ended abnormally, unasked */
	KG_METRICS_WORKER__MAX
};

/*
 * Moves the counters into a shared anonymous mapping (zeroed) that
 * children forked afterwards share.  Once per process; a second call is
 * a no-op.  Returns KG_OK, or KG_ERR_NOMEM (logged) when mmap failed, in
 * which case counting goes on in private memory.
 */
enum kg_err	kg_metrics_share(void);

/* Zeroes every counter of the current region (tests). */
void		kg_metrics_reset(void);

/*
 * Counts one finished request: slot (see above; out-of-range values
 * count as KG_METRICS_SLOT_OTHER), the HTTP status sent, and the
 * duration in microseconds (negative counts as 0).
 */
void		kg_metrics_request(size_t slot, int status, long long us);

void		kg_metrics_db_error(enum kg_metrics_db kind);
void		kg_metrics_worker(enum kg_metrics_worker event);
/* The master's number of live workers (a gauge). */
void		kg_metrics_workers_set(unsigned long long n);

/*
 * Labels of a route slot < KG_METRICS_ROUTES for the renderer: sets
 * *method and *route and returns 1, or returns 0 when the slot has no
 * route (it is then rendered as KG_METRICS_SLOT_OTHER).
 */
typedef int (*kg_metrics_label_fn)(size_t slot, const char **method,
    const char **route, void *arg);

/*
 * Appends every counter in the Prometheus text format 0.0.4 to b.
 * Request series appear once they are non-zero; the other families
 * always.  Returns KG_OK or KG_ERR_NOMEM.
 */
enum kg_err	kg_metrics_render(struct kg_buf *b, kg_metrics_label_fn fn,
		    void *arg);

/* The bucket index (0..KG_METRICS_BUCKETS, the last = +Inf) of us. */
size_t		kg_metrics_bucket(long long us);

/* ---------------------------------------------------------------- access */

/*
 * An allow-list of addresses and CIDR prefixes (metrics_allow): words
 * separated by blanks, each an IPv4 or IPv6 address with an optional
 * /prefix (0-32 or 0-128).  An IPv4-mapped IPv6 address or prefix
 * (::ffff:a.b.c.d, /96 or longer) means the IPv4 one.  "" allows no one.
 */
struct kg_acl_entry {
	int		 ae_family;	/* 4 or 6 */
	unsigned int	 ae_bits;	/* prefix length */
	unsigned char	 ae_addr[16];	/* network order, host bits cleared */
};

struct kg_acl {
	struct kg_acl_entry	*acl_e;
	size_t			 acl_n;
};

/*
 * Parses list into acl (allocated; free with kg_acl_free).  Returns
 * KG_OK; KG_ERR_INVALID with the reason in why (acl left empty);
 * KG_ERR_NOMEM.
 */
enum kg_err	kg_acl_parse(struct kg_acl *acl, const char *list, char *why,
		    size_t whylen);
void		kg_acl_free(struct kg_acl *acl);

/*
 * 1 when addr (a textual IPv4 or IPv6 address, as REMOTE_ADDR gives it)
 * falls in an entry of acl, else 0 (an unparsable addr included).
 */
int		kg_acl_match(const struct kg_acl *acl, const char *addr);

/*
 * kg_acl_match against list, parsed once per process and kept for the
 * next call with the same list (a worker's configuration does not
 * change).  A list that does not parse, or no memory, allows no one
 * (logged).
 */
int		kg_metrics_allowed(const char *list, const char *addr);

#endif
