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
	const char	*rt_key;
	long		 rt_rate;
	long		 rt_burst;
	/* results, reset at every run of the transaction */
	int		 rt_allowed;
	double		 rt_tokens;
	long long	 rt_now_us;
};

static enum kg_err
rate_row(const struct kg_db_row *row, void *arg)
{
	struct rate_take	*t = arg;

	t->rt_tokens = kg_db_row_double(row, 0);
	t->rt_now_us = kg_db_row_time_us(row, 1);
	return KG_OK;
}

static enum kg_err
rate_txn(struct kg_db *db, void *arg)
{
	struct rate_take	*t = arg;
	enum kg_err		 r;

	t->rt_allowed = 0;
	t->rt_tokens = 0;
	{
		struct kg_db_param p[] = { KG_P_TEXT(t->rt_key),
		    KG_P_INT(t->rt_burst) };

		if ((r = kg_db_exec(db, &S_RATE_TOUCH, KG_DB_ARGS(p),
		    NULL)) != KG_OK)
			return r;
	}
	{
		struct kg_db_param p[] = { KG_P_INT(t->rt_burst),
		    KG_P_INT(t->rt_rate), KG_P_TEXT(t->rt_key) };

		r = kg_db_query_one(db, &S_RATE_LOCK, KG_DB_ARGS(p),
		    rate_row, t);
	}
	if (r != KG_OK)
		return r;
	if (t->rt_tokens < 1.0)
		return KG_OK;	/* refused: nothing to write */
	t->rt_tokens -= 1.0;
	t->rt_allowed = 1;
	{
		struct kg_db_param p[] = { KG_P_DOUBLE(t->rt_tokens),
		    KG_P_TIME_US(t->rt_now_us), KG_P_TEXT(t->rt_key) };

		return kg_db_exec(db, &S_RATE_SET, KG_DB_ARGS(p), NULL);
	}
}

enum kg_err
kg_store_rate_take(struct kg_db *db, const char *key, long rate, long burst,
    int *allowed, long *retry_after)
{
	struct rate_take	 t;
	enum kg_err		 r;
	double			 wait;

	*allowed = 0;
	*retry_after = 0;
	if (rate < 1 || burst < 1 || key == NULL || key[0] == '\0' ||
	    strlen(key) > KG_RATE_KEY_MAX)
		return KG_ERR_INVALID;
	memset(&t, 0, sizeof(t));
	t.rt_key = key;
	t.rt_rate = rate;
	t.rt_burst = burst;
	if ((r = kg_db_txn(db, rate_txn, &t)) != KG_OK)
		return r;
	*allowed = t.rt_allowed;
	if (!t.rt_allowed) {
		/* whole seconds, rounded up, without libm */
		wait = (1.0 - t.rt_tokens) / (double)rate;
		*retry_after = (long)wait;
		if ((double)*retry_after < wait)
			(*retry_after)++;
		if (*retry_after < 1)
			*retry_after = 1;
	}
	return KG_OK;
}
