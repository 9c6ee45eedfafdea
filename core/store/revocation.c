/*
 * revocation.c: the revocation epoch (see revocation.h).
 *
 * The shared region holds four atomics.  Lock-free atomics work across
 * processes on one mapping (metrics.c says why they must be lock-free);
 * the database reading is published epoch first, then its time, and read
 * time first, then epoch, so a reader that sees a fresh time sees an
 * epoch at least as new as the reading it belongs to.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/base/log.h"
#include "core/store/db.h"
#include "core/store/revocation.h"

#if ATOMIC_LLONG_LOCK_FREE != 2
#error "the revocation epoch needs lock-free 64-bit atomics"
#endif

/* A reader that claimed the poll and died is replaced after this. */
#define KG_REV_CLAIM_MS		2000

struct kg_rev_region {
	atomic_ullong	rr_local;	/* revocations committed on this host */
	atomic_ullong	rr_db;		/* the last database reading */
	atomic_llong	rr_read_ms;	/* when that reading started; 0 = none */
	atomic_llong	rr_claim_ms;	/* a reader is polling since; 0 = none */
};

static struct kg_rev_region	 kg_rev_own;
static struct kg_rev_region	*kg_rev = &kg_rev_own;
/*
 * The master could not share the region: each worker would count its
 * own host's revocations alone, and a revocation would reach the others
 * only through the database, not at once.  No cached answer is used.
 */
static int			 kg_rev_broken;

static struct kg_sql S_EPOCH_BUMP = KG_SQL("revocation_epoch_bump",
    "INSERT INTO revocation_epoch (id, epoch) VALUES (1, 1) "
    "ON DUPLICATE KEY UPDATE epoch = epoch + 1", 0);

static struct kg_sql S_EPOCH_READ = KG_SQL("revocation_epoch_read",
    "SELECT epoch FROM revocation_epoch WHERE id = 1", KG_SQL_IDEMPOTENT);

enum kg_err
kg_revocation_share(void)
{
	void	*p;

	if (kg_rev != &kg_rev_own)
		return KG_OK;
	p = mmap(NULL, sizeof(struct kg_rev_region), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		kg_log_error("revocation epoch: mmap: %s; credential caches "
		    "are off", strerror(errno));
		kg_rev_broken = 1;
		return KG_ERR_NOMEM;
	}
	/* Zeroes: no reading yet, so the first lookup polls. */
	kg_rev = p;
	return KG_OK;
}

void
kg_revocation_committed(void)
{
	atomic_fetch_add(&kg_rev->rr_local, 1);
}

enum kg_err
kg_revocation_note(struct kg_db *db)
{
	return kg_db_exec(db, &S_EPOCH_BUMP, KG_DB_NOARGS, NULL);
}

void
kg_revocation_peek(struct kg_rev_epoch *e)
{
	e->re_local = atomic_load(&kg_rev->rr_local);
	e->re_db = atomic_load(&kg_rev->rr_db);
}

static enum kg_err
epoch_row(const struct kg_db_row *row, void *arg)
{
	*(uint64_t *)arg = (uint64_t)kg_db_row_int(row, 0);
	return KG_OK;
}

static int64_t
monotonic_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reads the database epoch (a missing row is epoch 0) and publishes it
 * as read at now_ms; *took: how long the read took, in milliseconds.
 * Any change counts, down too (a restored backup, a lagging replica
 * promoted): entries match their epoch exactly, so every one filed
 * under another value ends.  A reader whose claim expired may publish
 * after a newer one: that ends entries and ages the reading, never the
 * reverse.
 */
static enum kg_err
poll_db(struct kg_db *db, int64_t now_ms, int64_t *took)
{
	uint64_t	v = 0;
	int64_t		t0 = monotonic_ms();
	enum kg_err	r;

	r = kg_db_query_one(db, &S_EPOCH_READ, KG_DB_NOARGS, epoch_row, &v);
	*took = monotonic_ms() - t0;
	if (r != KG_OK && r != KG_ERR_NOT_FOUND)
		return r;
	atomic_store(&kg_rev->rr_db, v);
	atomic_store(&kg_rev->rr_read_ms, now_ms);
	return KG_OK;
}

/* One reader a host: the one that swaps its time into rr_claim_ms. */
static int
claim(int64_t now_ms)
{
	long long	c = atomic_load(&kg_rev->rr_claim_ms);

	if (c != 0 && now_ms - c >= 0 && now_ms - c < KG_REV_CLAIM_MS)
		return 0;
	return atomic_compare_exchange_strong(&kg_rev->rr_claim_ms, &c,
	    now_ms);
}

/* Gives the claim back, unless it expired and another reader holds it. */
static void
unclaim(int64_t now_ms)
{
	long long	c = now_ms;

	(void)atomic_compare_exchange_strong(&kg_rev->rr_claim_ms, &c, 0);
}

static int
fresh(int64_t now_ms, int64_t limit)
{
	int64_t	read_ms = atomic_load(&kg_rev->rr_read_ms);

	return read_ms != 0 && now_ms - read_ms >= 0 &&
	    now_ms - read_ms < limit;
}

enum kg_err
kg_revocation_current(struct kg_db *db, int64_t now_ms,
    struct kg_rev_epoch *e)
{
	enum kg_err	r = KG_OK;
	int64_t		took;

	if (kg_rev_broken)
		return KG_ERR_INTERNAL;
	/* A clock that went back reads as stale: poll again. */
	if (!fresh(now_ms, KG_REV_POLL_MS) && claim(now_ms)) {
		r = poll_db(db, now_ms, &took);
		unclaim(now_ms);
		/* Judged at the time the answer is given, not asked for. */
		if (took > 0)
			now_ms += took;
		if (r != KG_OK) {
			kg_log_warn("revocation epoch not read: cached "
			    "credentials unused until it is");
			/*
			 * The read may have waited out the database timeouts,
			 * long after now_ms: what was fresh then is not now,
			 * and a database failure never grants.
			 */
			return r;
		}
	}
	if (!fresh(now_ms, KG_REV_STALE_MS))
		return r != KG_OK ? r : KG_ERR_DB;
	kg_revocation_peek(e);
	return KG_OK;
}

void
kg_revocation_reset(void)
{
	atomic_store(&kg_rev->rr_read_ms, 0);
	atomic_store(&kg_rev->rr_claim_ms, 0);
}
