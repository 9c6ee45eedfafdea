/*
 * authcache.h: the worker's cache of credentials it validated.
 *
 * Validating a credential costs a query (API keys, org and daemon tokens,
 * the revocation check of an access token) and for an EdDSA access token a
 * signature check of some 80 µs.  A client repeats its credential on every
 * request, so each worker keeps the principals it derived, keyed by the
 * SHA-256 of the credential (never the credential itself), and serves a
 * repeat from memory while three things hold:
 *   - the credential's own life has not ended (exp + leeway of an access
 *     token, an API key's expiry as the database counted it), and the
 *     entry is younger than KG_AUTHCACHE_MAX_AGE;
 *   - the revocation epoch (core/store/revocation.h) is the one recorded
 *     before the lookup that filled the entry: a revocation on this host
 *     ends every entry at once, one on another host within 1 s;
 *   - that epoch could be read in the last second, and the last try to
 *     read it did not fail: with the database gone, nothing is served
 *     from memory for longer than that, nor once a worker found out.
 * Only grants are kept.  The cache is one fixed array, allocated once per
 * worker: a lookup allocates nothing.
 */
#ifndef KG_AUTHCACHE_H
#define KG_AUTHCACHE_H

#include <stdint.h>

#include "core/api/authn.h"
#include "core/store/revocation.h"

struct kg_db;
struct kg_authcache;

/* Bounds any entry's life, whatever the credential's own. */
#define KG_AUTHCACHE_MAX_AGE	60	/* seconds */
/* Cached API keys, org and daemon tokens touch last_used_at this often. */
#define KG_AUTHCACHE_TOUCH	30	/* seconds */

/* Makes a cache of entries slots (rounded up to a power of two); 0 = none. */
enum kg_err	kg_authcache_new(struct kg_authcache **out, long entries);
void		kg_authcache_free(struct kg_authcache *c);
/* Forgets every entry (tests; a worker never needs to). */
void		kg_authcache_flush(struct kg_authcache *c);

/*
 * A repeat of the credential whose SHA-256 is key, at now_ms (realtime
 * milliseconds): 1 and *pr filled, or 0.  *touch_id is the row id whose
 * last_used_at is due to be touched, else 0.  c may be NULL.
 */
int		kg_authcache_get(struct kg_authcache *c, struct kg_db *db,
		    const unsigned char key[32], int64_t now_ms,
		    struct kg_principal *pr, uint64_t *touch_id);

/*
 * Keeps pr for key.  epoch is what kg_revocation_peek gave BEFORE the
 * lookup that validated the credential (a revocation committed after it
 * then ends the entry).  until: the credential's validity end in seconds
 * (0 = none of its own); touch_id: its row, when its last_used_at is kept
 * (0 = none).  c may be NULL.
 */
void		kg_authcache_put(struct kg_authcache *c,
		    const unsigned char key[32], const struct kg_rev_epoch *epoch,
		    int64_t now_ms, const struct kg_principal *pr, int64_t until,
		    uint64_t touch_id);

struct kg_authcache_stats {
	unsigned long long	cs_hits;
	unsigned long long	cs_misses;
	unsigned long long	cs_stale;	/* entries ended by the epoch */
};

void		kg_authcache_stats(const struct kg_authcache *c,
		    struct kg_authcache_stats *out);

#endif
