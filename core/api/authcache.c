/*
 * authcache.c: the worker's cache of validated credentials (see
 * authcache.h).
 *
 * Two-way set associative: a key's set comes from its first bytes (a
 * SHA-256, so evenly spread), and a new entry replaces the older of the
 * two.  Keys are compared in constant time, so the cache tells nothing
 * about how much of a guess matched.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/api/authcache.h"

struct kg_authcache_entry {
	unsigned char		e_key[32];
	int			e_used;
	struct kg_rev_epoch	e_epoch;
	int64_t			e_until;	/* seconds, exclusive */
	int64_t			e_touch_at;	/* seconds; with e_touch_id */
	uint64_t		e_touch_id;
	uint64_t		e_stamp;	/* fill order, for replacement */
	struct kg_principal	e_pr;
};

struct kg_authcache {
	struct kg_authcache_entry	*c_entries;
	size_t				 c_sets;	/* power of two */
	uint64_t			 c_clock;
	struct kg_authcache_stats	 c_stats;
};

enum kg_err
kg_authcache_new(struct kg_authcache **out, long entries)
{
	struct kg_authcache	*c;
	size_t			 sets = 1;

	*out = NULL;
	if (entries <= 0)
		return KG_OK;
	while (sets * 2 < (size_t)entries)
		sets *= 2;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->c_entries = calloc(sets * 2, sizeof(*c->c_entries))) == NULL) {
		free(c);
		return KG_ERR_NOMEM;
	}
	c->c_sets = sets;
	*out = c;
	return KG_OK;
}

void
kg_authcache_free(struct kg_authcache *c)
{
	if (c == NULL)
		return;
	kg_authcache_flush(c);
	free(c->c_entries);
	free(c);
}

void
kg_authcache_flush(struct kg_authcache *c)
{
	if (c != NULL)
		OPENSSL_cleanse(c->c_entries,
		    c->c_sets * 2 * sizeof(*c->c_entries));
}

static struct kg_authcache_entry *
set_of(const struct kg_authcache *c, const unsigned char key[32])
{
	size_t	h = (size_t)key[0] | (size_t)key[1] << 8 |
	    (size_t)key[2] << 16 | (size_t)key[3] << 24;

	return &c->c_entries[(h & (c->c_sets - 1)) * 2];
}

static struct kg_authcache_entry *
find(const struct kg_authcache *c, const unsigned char key[32])
{
	struct kg_authcache_entry	*s = set_of(c, key);
	int				 i;

	for (i = 0; i < 2; i++)
		if (s[i].e_used && CRYPTO_memcmp(s[i].e_key, key, 32) == 0)
			return &s[i];
	return NULL;
}

static void
drop(struct kg_authcache_entry *e)
{
	OPENSSL_cleanse(e, sizeof(*e));
}

int
kg_authcache_get(struct kg_authcache *c, struct kg_db *db,
    const unsigned char key[32], int64_t now_ms, struct kg_principal *pr,
    uint64_t *touch_id)
{
	struct kg_authcache_entry	*e;
	struct kg_rev_epoch		 cur;
	int64_t				 now = now_ms / 1000;

	*touch_id = 0;
	if (c == NULL)
		return 0;
	if ((e = find(c, key)) == NULL || now >= e->e_until) {
		if (e != NULL)
			drop(e);
		c->c_stats.cs_misses++;
		return 0;
	}
	/* Unknown epoch (database unreadable): keep the entry, use nothing. */
	if (kg_revocation_current(db, now_ms, &cur) != KG_OK) {
		c->c_stats.cs_misses++;
		return 0;
	}
	if (cur.re_local != e->e_epoch.re_local ||
	    cur.re_db != e->e_epoch.re_db) {
		drop(e);
		c->c_stats.cs_stale++;
		c->c_stats.cs_misses++;
		return 0;
	}
	if (e->e_touch_id != 0 && now >= e->e_touch_at) {
		*touch_id = e->e_touch_id;
		e->e_touch_at = now + KG_AUTHCACHE_TOUCH;
	}
	memcpy(pr, &e->e_pr, sizeof(*pr));
	c->c_stats.cs_hits++;
	return 1;
}

void
kg_authcache_put(struct kg_authcache *c, const unsigned char key[32],
    const struct kg_rev_epoch *epoch, int64_t now_ms,
    const struct kg_principal *pr, int64_t until, uint64_t touch_id)
{
	struct kg_authcache_entry	*e, *s;
	int64_t				 now = now_ms / 1000;

	if (c == NULL)
		return;
	if ((e = find(c, key)) == NULL) {
		s = set_of(c, key);
		e = !s[0].e_used ? &s[0] : !s[1].e_used ? &s[1] :
		    s[0].e_stamp <= s[1].e_stamp ? &s[0] : &s[1];
	}
	if (until == 0 || until > now + KG_AUTHCACHE_MAX_AGE)
		until = now + KG_AUTHCACHE_MAX_AGE;
	memcpy(e->e_key, key, 32);
	e->e_used = 1;
	e->e_epoch = *epoch;
	e->e_until = until;
	/* The validation that filled it touched the row when it was due. */
	e->e_touch_id = touch_id;
	e->e_touch_at = now + KG_AUTHCACHE_TOUCH;
	e->e_stamp = ++c->c_clock;
	memcpy(&e->e_pr, pr, sizeof(*pr));
}

void
kg_authcache_stats(const struct kg_authcache *c,
    struct kg_authcache_stats *out)
{
	if (c == NULL)
		memset(out, 0, sizeof(*out));
	else
		*out = c->c_stats;
}
