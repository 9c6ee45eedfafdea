/* ratelimit.c: token buckets in rate_buckets (SPEC 12). */
#include <string.h>

#include "core/store/db.h"
#include "core/store/ratelimit.h"

#define KG_RATE_KEY_MAX	128

/*
 * The refilled level and the clock it was computed at, read under the
 * row lock.  A clock that went backwards (another host's writes) refills
 * nothing rather than a negative amount.
 */
static struct kg_sql S_RATE_LOCK = KG_SQL("rate_lock",
    "SELECT LEAST(?, tokens + ? * GREATEST(0, TIMESTAMPDIFF(MICROSECOND, "
    "updated_at, UTC_TIMESTAMP(6))) / 1000000.0), UTC_TIMESTAMP(6) "
    "FROM rate_buckets WHERE bucket_key = ? FOR UPDATE", 0);

static struct kg_sql S_RATE_SET = KG_SQL("rate_set",
    "UPDATE rate_buckets SET tokens = ?, updated_at = ? "
    "WHERE bucket_key = ?", 0);

/*
 * Makes the row exist and locks it before anything reads it: a locking
 * read of a missing key would take a gap lock, and two first uses that
 * then insert deadlock each other.  A new bucket starts full.
 */
static struct kg_sql S_RATE_TOUCH = KG_SQL("rate_touch",
    "INSERT INTO rate_buckets (bucket_key, tokens, updated_at) "
    "VALUES (?, ?, UTC_TIMESTAMP(6)) "
    "ON DUPLICATE KEY UPDATE bucket_key = bucket_key", 0);

struct rate_take {
	const struct kg_rate_bucket	*rt_b;
	size_t				 rt_n;
	/* results, reset at every run of the transaction */
	int				 rt_allowed;
	double				 rt_tokens;	/* of the refusing bucket */
	long				 rt_rate;	/* of the refusing bucket */
	long long			 rt_now_us;
};

static enum kg_err
rate_row(const struct kg_db_row *row, void *arg)
{
	struct rate_take	*t = arg;

	t->rt_tokens = kg_db_row_double(row, 0);
	t->rt_now_us = kg_db_row_time_us(row, 1);
	return KG_OK;
}

/* Takes a token from one bucket: *taken 1, or 0 and t->rt_tokens. */
static enum kg_err
rate_one(struct kg_db *db, struct rate_take *t, const struct kg_rate_bucket *b,
    int *taken)
{
	enum kg_err	r;

	*taken = 0;
	{
		struct kg_db_param p[] = { KG_P_TEXT(b->rb_key),
		    KG_P_INT(b->rb_burst) };

		if ((r = kg_db_exec(db, &S_RATE_TOUCH, KG_DB_ARGS(p),
		    NULL)) != KG_OK)
			return r;
	}
	{
		struct kg_db_param p[] = { KG_P_INT(b->rb_burst),
		    KG_P_INT(b->rb_rate), KG_P_TEXT(b->rb_key) };

		r = kg_db_query_one(db, &S_RATE_LOCK, KG_DB_ARGS(p),
		    rate_row, t);
	}
	if (r != KG_OK)
		return r;
	if (t->rt_tokens < 1.0)
		return KG_OK;	/* refused: nothing to write */
	*taken = 1;
	{
		struct kg_db_param p[] = { KG_P_DOUBLE(t->rt_tokens - 1.0),
		    KG_P_TIME_US(t->rt_now_us), KG_P_TEXT(b->rb_key) };

		return kg_db_exec(db, &S_RATE_SET, KG_DB_ARGS(p), NULL);
	}
}

static enum kg_err
rate_txn(struct kg_db *db, void *arg)
{
	struct rate_take	*t = arg;
	enum kg_err		 r;
	size_t			 i;
	int			 taken;

	t->rt_allowed = 0;
	t->rt_tokens = 0;
	for (i = 0; i < t->rt_n; i++) {
		if ((r = rate_one(db, t, &t->rt_b[i], &taken)) != KG_OK)
			return r;
		if (!taken) {
			t->rt_rate = t->rt_b[i].rb_rate;
			return KG_OK;	/* commits what earlier buckets gave */
		}
	}
	t->rt_allowed = 1;
	return KG_OK;
}

static int
bucket_ok(const struct kg_rate_bucket *b)
{
	return b->rb_rate >= 1 && b->rb_burst >= 1 && b->rb_key != NULL &&
	    b->rb_key[0] != '\0' && strlen(b->rb_key) <= KG_RATE_KEY_MAX;
}

enum kg_err
kg_store_rate_take_all(struct kg_db *db, const struct kg_rate_bucket *b,
    size_t n, int *allowed, long *retry_after)
{
	struct rate_take	 t;
	enum kg_err		 r;
	double			 wait;
	size_t			 i;

	*allowed = 0;
	*retry_after = 0;
	if (n == 0 || n > KG_RATE_BUCKETS_MAX)
		return KG_ERR_INVALID;
	for (i = 0; i < n; i++)
		if (!bucket_ok(&b[i]))
			return KG_ERR_INVALID;
	memset(&t, 0, sizeof(t));
	t.rt_b = b;
	t.rt_n = n;
	if ((r = kg_db_txn(db, rate_txn, &t)) != KG_OK)
		return r;
	*allowed = t.rt_allowed;
	if (!t.rt_allowed) {
		/* whole seconds, rounded up, without libm */
		wait = (1.0 - t.rt_tokens) / (double)t.rt_rate;
		*retry_after = (long)wait;
		if ((double)*retry_after < wait)
			(*retry_after)++;
		if (*retry_after < 1)
			*retry_after = 1;
	}
	return KG_OK;
}

enum kg_err
kg_store_rate_take(struct kg_db *db, const char *key, long rate, long burst,
    int *allowed, long *retry_after)
{
	struct kg_rate_bucket	b = { key, rate, burst };

	return kg_store_rate_take_all(db, &b, 1, allowed, retry_after);
}
