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

#endif
