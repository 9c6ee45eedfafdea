/*
 * ratelimit.h: token buckets in the database (SPEC 12), so that every
 * worker of every host sharing the database sees the same buckets.
 */
#ifndef KG_STORE_RATELIMIT_H
#define KG_STORE_RATELIMIT_H

#include "core/base/err.h"

struct kg_db;

/*
 * Takes one token from the bucket named key (at most 128 bytes) that
 * refills at rate tokens per second up to burst (a new bucket starts
 * full).  One short transaction: the bucket row is locked FOR UPDATE,
 * refilled from the database clock (UTC_TIMESTAMP(6)) and written back
 * only when a token was taken.  Sets *allowed to 1 or 0 and, when 0,
 * *retry_after to the whole seconds (>= 1) until a token is there.
 * Must not be called inside a transaction.  Returns KG_OK, KG_ERR_INVALID
 * (rate or burst < 1, empty or over-long key) or a KG_ERR_DB* status: the
 * caller fails closed.
 */
enum kg_err	kg_store_rate_take(struct kg_db *db, const char *key,
		    long rate, long burst, int *allowed, long *retry_after);

/* One bucket of kg_store_rate_take_all. */
struct kg_rate_bucket {
	const char	*rb_key;
	long		 rb_rate;
	long		 rb_burst;
};

#define KG_RATE_BUCKETS_MAX	4

/*
 * As kg_store_rate_take for the n buckets (at most KG_RATE_BUCKETS_MAX),
 * in their order, in one transaction: one commit (one log flush) instead
 * of n.  Stops at the first bucket without a token, leaving the later
 * ones untouched, as n calls in a row would; *allowed is 1 when every
 * bucket gave one.  Callers lock buckets in one fixed order of kinds
 * (addresses before wallets), so two transactions never wait on each
 * other in a cycle.
 */
enum kg_err	kg_store_rate_take_all(struct kg_db *db,
		    const struct kg_rate_bucket *b, size_t n, int *allowed,
		    long *retry_after);

#endif
