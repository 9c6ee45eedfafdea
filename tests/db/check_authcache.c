/*
 * check_authcache.c: the worker's cache of validated credentials
 * (core/api/authcache.h) and the revocation epoch that bounds it
 * (core/store/revocation.h), through kg_dispatch on a real database.
 *
 * The clock is frozen in most tests, so the epoch's database reading
 * never ages by itself: what ends a cached grant is then only what the
 * test does (a revocation here, one in another process, a clock moved
 * past a bound).
 */
#include "config.h"

#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "core/api/authcache.h"
#include "core/api/ctx.h"
#include "core/base/buf.h"
#include "core/store/db.h"
#include "core/store/revocation.h"
#include "core/store/session.h"
#include "tests/db/dbtest.h"
#include "tests/db/httptest.h"

#define ADMIN	"Bearer " KG_HT_ADMIN
#define WALLET	"0x52908400098527886e0f7030069857d2e4169ee7"

static unsigned long long	hns;

static void
setup(void)
{
	kg_ht_setup(&(struct kg_ht_opts){ .keys = 1, .no_rate = 1 });
	hns = kg_ht_make_ns(&hcfg, "acme");
	kg_ht_add_member(&hcfg, hns, WALLET, 2, 0);
	kg_ht_freeze_clock();
}

static int
call(const char *method, const char *path, const char *auth)
{
	return kg_ht_call(method, path, NULL, auth, "acme",
	    strcmp(method, "POST") == 0 ? "application/json" : NULL,
	    strcmp(method, "POST") == 0 ? "{}" : NULL);
}

/* An API key in acme minted by the admin: "Bearer <secret>", its id. */
static void
mint_key(const char *scopes, char auth[256], long long *id)
{
	char	body[256];

	snprintf(body, sizeof(body), "{\"name\":\"k\",\"scopes\":%s}", scopes);
	ck_assert_int_eq(kg_ht_call("POST", "/v1/keys", NULL, ADMIN, "acme",
	    "application/json", body), 201);
	snprintf(auth, 256, "Bearer %s", kg_ht_str("secret"));
	*id = json_object_get_int64(kg_ht_get(kg_ht_get(hjson, "key"), "id"));
}

/* A wallet session's access token: "Bearer <jwt>". */
static void
start(char *auth, size_t len)
{
	struct kg_session_tokens st;

	kg_ht_start(hns, "acme", WALLET, 2, &st);
	ck_assert_int_lt(snprintf(auth, len, "Bearer %s",
	    kg_buf_str(&st.st_access)), (int)len);
	kg_buf_free(&st.st_access);
}

static unsigned long long
executions(void)
{
	struct kg_db_stats	s;

	kg_db_stats(hctx.db, &s);
	return s.ds_executions;
}

/* whoami with auth: its status, and the statements it ran into *n. */
static int
whoami(const char *auth, unsigned long long *n)
{
	unsigned long long	before = executions();
	int			status;

	status = call("GET", "/v1/auth/whoami", auth);
	if (n != NULL)
		*n = executions() - before;
	return status;
}

static unsigned long long
hits(void)
{
	struct kg_authcache_stats	s;

	kg_authcache_stats(hctx.authcache, &s);
	return s.cs_hits;
}

static long long
db_epoch(void)
{
	return kg_test_db_scalar(&hcfg, "SELECT epoch FROM revocation_epoch "
	    "WHERE id = 1");
}

/* ------------------------------------------------------------ hits */

/*
 * A repeat costs no statement: the first use validates (a lookup and its
 * touch), the second reads the revocation epoch once, the rest nothing.
 */
START_TEST(repeat_costs_no_query)
{
	char			key[256], jwt[4200], subject[64];
	long long		id;
	unsigned long long	n;

	mint_key("[\"keys:read\"]", key, &id);
	ck_assert_int_eq(whoami(key, &n), 200);
	ck_assert_uint_ge(n, 1);
	snprintf(subject, sizeof(subject), "%s", kg_ht_str("subject"));
	ck_assert_int_eq(whoami(key, &n), 200);
	ck_assert_uint_le(n, 1);
	ck_assert_int_eq(whoami(key, &n), 200);
	ck_assert_uint_eq(n, 0);
	/* What the cache gives is what the validation gave. */
	ck_assert_str_eq(kg_ht_str("subject"), subject);
	ck_assert_str_eq(kg_ht_str("method"), "api_key");

	start(jwt, sizeof(jwt));
	ck_assert_int_eq(whoami(jwt, &n), 200);
	ck_assert_uint_eq(n, 1);		/* the revocation query */
	ck_assert_int_eq(whoami(jwt, &n), 200);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(kg_ht_str("subject"), WALLET);
	ck_assert_str_eq(kg_ht_str("method"), "jwt");
	ck_assert_uint_eq(hits(), 3);
}
END_TEST

/* Without a cache every use is validated in full. */
START_TEST(cache_off_validates_each_time)
{
	char			jwt[4200];
	unsigned long long	n;

	kg_ht_cache_off();
	start(jwt, sizeof(jwt));
	ck_assert_int_eq(whoami(jwt, &n), 200);
	ck_assert_int_eq(whoami(jwt, &n), 200);
	ck_assert_uint_eq(n, 1);
}
END_TEST

/* Refusals are never kept: a bad token costs its check every time. */
START_TEST(refusals_not_kept)
{
	char	key[256];

	snprintf(key, sizeof(key), "Bearer kg_sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAA");
	ck_assert_int_eq(whoami(key, NULL), 401);
	ck_assert_int_eq(whoami(key, NULL), 401);
	ck_assert_uint_eq(hits(), 0);
}
END_TEST

/* ------------------------------------------------------------ revocation */

/* A revocation on this host ends the cached grant on the next request. */
START_TEST(local_revocation_at_once)
{
	char	key[256], jwt[4200], jwt2[4200], path[64];
	long long id;

	mint_key("[\"keys:read\"]", key, &id);
	start(jwt, sizeof(jwt));
	start(jwt2, sizeof(jwt2));
	ck_assert_int_eq(whoami(key, NULL), 200);
	ck_assert_int_eq(whoami(key, NULL), 200);
	ck_assert_int_eq(whoami(jwt, NULL), 200);
	ck_assert_int_eq(whoami(jwt, NULL), 200);
	ck_assert_int_eq(whoami(jwt2, NULL), 200);
	ck_assert_uint_eq(hits(), 2);

	snprintf(path, sizeof(path), "/v1/keys/%lld", id);
	ck_assert_int_eq(call("DELETE", path, ADMIN), 200);
	ck_assert_int_eq(whoami(key, NULL), 401);
	kg_ht_expect(401, "key_revoked");

	ck_assert_int_eq(call("POST", "/v1/auth/logout", jwt), 200);
	ck_assert_int_eq(whoami(jwt, NULL), 401);
	kg_ht_expect(401, "token_revoked");
	/* The other session's token was refilled after the logout. */
	ck_assert_int_eq(whoami(jwt2, NULL), 200);
	ck_assert_int_eq(whoami(jwt2, NULL), 200);
	ck_assert_int_eq(kg_ht_call("POST", "/v1/auth/logout", NULL, jwt2,
	    NULL, "application/json", "{\"all\":true}"), 200);
	ck_assert_int_eq(whoami(jwt2, NULL), 401);
	kg_ht_expect(401, "token_revoked");
}
END_TEST

/*
 * Workers of one host share the local epoch (the master maps it before
 * forking): a revocation by another worker ends this one's cached grant
 * on its next request, with the database reading still fresh.
 */
START_TEST(other_worker_at_once)
{
	char	key[256], path[64];
	long long id;
	pid_t	pid;
	int	st;

	ck_assert_int_eq(kg_revocation_share(), KG_OK);
	mint_key("[\"keys:read\"]", key, &id);
	ck_assert_int_eq(whoami(key, NULL), 200);
	ck_assert_int_eq(whoami(key, NULL), 200);
	ck_assert_uint_eq(hits(), 1);
	snprintf(path, sizeof(path), "/v1/keys/%lld", id);
	if ((pid = fork()) == 0)
		_exit(call("DELETE", path, ADMIN) == 200 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(whoami(key, NULL), 401);
	kg_ht_expect(401, "key_revoked");
}
END_TEST

/* Org tokens and wallet sessions of a removed member: ended at once. */
START_TEST(org_token_and_member_removal_at_once)
{
	char	tok[256], jwt[4200], path[160];
	long long id;

	ck_assert_int_eq(kg_ht_call("POST", "/v1/namespaces/acme/org-tokens",
	    NULL, ADMIN, NULL, "application/json", "{\"name\":\"ci\"}"), 201);
	snprintf(tok, sizeof(tok), "Bearer %s", kg_ht_str("token"));
	id = json_object_get_int64(kg_ht_get(hjson, "id"));
	start(jwt, sizeof(jwt));
	ck_assert_int_eq(whoami(tok, NULL), 200);
	ck_assert_int_eq(whoami(tok, NULL), 200);
	ck_assert_int_eq(whoami(jwt, NULL), 200);
	ck_assert_int_eq(whoami(jwt, NULL), 200);
	ck_assert_uint_eq(hits(), 2);

	snprintf(path, sizeof(path), "/v1/namespaces/acme/org-tokens/%lld", id);
	ck_assert_int_eq(call("DELETE", path, ADMIN), 200);
	ck_assert_int_eq(whoami(tok, NULL), 401);
	kg_ht_expect(401, "invalid_token");

	snprintf(path, sizeof(path), "/v1/namespaces/acme/members/%s", WALLET);
	ck_assert_int_eq(call("DELETE", path, ADMIN), 204);
	ck_assert_int_eq(whoami(jwt, NULL), 401);
	kg_ht_expect(401, "token_revoked");
}
END_TEST

/*
 * A revocation made by another process that shares no memory with this
 * one (another host, keygate-admin) reaches this cache through the
 * database epoch: not before this host's next reading, and never later
 * than KG_REV_STALE_MS after the last one.
 */
START_TEST(other_host_within_a_second)
{
	char	key[256], path[64];
	long long id, before;
	pid_t	pid;
	int	st;

	mint_key("[\"keys:read\"]", key, &id);
	ck_assert_int_eq(whoami(key, NULL), 200);
	ck_assert_int_eq(whoami(key, NULL), 200);	/* epoch read now */
	before = db_epoch();
	snprintf(path, sizeof(path), "/v1/keys/%lld", id);
	if ((pid = fork()) == 0) {
		/* Its own connection (db.c reconnects after fork). */
		_exit(call("DELETE", path, ADMIN) == 200 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(db_epoch(), before + 1);
	/* Not yet known here: the reading is fresh. */
	ck_assert_int_eq(whoami(key, NULL), 200);
	kg_ht_advance_ms(KG_REV_POLL_MS - 1);
	ck_assert_int_eq(whoami(key, NULL), 200);
	/* The next reading sees it. */
	kg_ht_advance_ms(1);
	ck_assert_int_eq(whoami(key, NULL), 401);
	kg_ht_expect(401, "key_revoked");
}
END_TEST

/*
 * The database gone: cached grants hold until this host next tries to
 * read the epoch (within KG_REV_POLL_MS), and never once that read
 * failed, nor on a reading over a second old; back, they serve again.
 */
START_TEST(db_loss_bounded)
{
	char	key[256], sock[] = "/nonexistent/keygate-test.sock";
	char	*saved;
	long long id;

	mint_key("[\"keys:read\"]", key, &id);
	ck_assert_int_eq(whoami(key, NULL), 200);
	ck_assert_int_eq(whoami(key, NULL), 200);
	saved = hcfg.db_socket;
	hcfg.db_socket = sock;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(whoami(key, NULL), 200);
	kg_ht_advance_ms(KG_REV_POLL_MS);		/* the reading fails */
	ck_assert_int_eq(whoami(key, NULL), 503);
	kg_ht_expect(503, "unavailable");
	hcfg.db_socket = saved;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(whoami(key, NULL), 200);
}
END_TEST

/* The epoch moves with revocations that changed something, and only then. */
START_TEST(epoch_counts_revocations)
{
	char			key[256], path[64];
	long long		id, e;
	struct kg_rev_epoch	a, b;

	mint_key("[\"keys:read\"]", key, &id);
	e = db_epoch();
	kg_revocation_peek(&a);
	snprintf(path, sizeof(path), "/v1/keys/%lld", id);
	ck_assert_int_eq(call("DELETE", path, ADMIN), 200);
	ck_assert_int_eq(db_epoch(), e + 1);
	kg_revocation_peek(&b);
	ck_assert_uint_eq(b.re_local, a.re_local + 1);
	/* Nothing left to revoke: no bump. */
	ck_assert_int_eq(call("DELETE", path, ADMIN), 404);
	ck_assert_int_eq(db_epoch(), e + 1);
	kg_revocation_peek(&a);
	ck_assert_uint_eq(a.re_local, b.re_local);
}
END_TEST

struct rolled {
	const char	*sid;
};

/* Revokes a family, then fails: nothing of it may remain. */
static enum kg_err
revoke_then_fail(struct kg_db *db, void *arg)
{
	struct rolled	*rb = arg;
	enum kg_err	 r;

	if ((r = kg_store_family_revoke(db, rb->sid, "test")) != KG_OK)
		return r;
	return KG_ERR_INVALID;
}

/*
 * Outside a transaction a revoking statement gets one of its own with
 * the bump; in a transaction that rolls back, neither counter moves.
 */
START_TEST(epoch_follows_commit)
{
	struct kg_session_tokens st;
	struct kg_rev_epoch	 a, b;
	struct rolled		 rb;
	char			 sid[80];
	long long		 e;

	kg_ht_start(hns, "acme", WALLET, 2, &st);
	kg_buf_free(&st.st_access);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "session_families"), 1);
	{
		MYSQL		*m = kg_test_conn(&hcfg);
		MYSQL_RES	*res;
		MYSQL_ROW	 row;

		ck_assert_int_eq(mysql_query(m, "SELECT id FROM "
		    "session_families"), 0);
		ck_assert_ptr_nonnull(res = mysql_store_result(m));
		ck_assert_ptr_nonnull(row = mysql_fetch_row(res));
		snprintf(sid, sizeof(sid), "%s", row[0]);
		mysql_free_result(res);
		mysql_close(m);
	}
	e = db_epoch();
	kg_revocation_peek(&a);
	rb.sid = sid;
	ck_assert_int_eq(kg_db_txn(hctx.db, revoke_then_fail, &rb),
	    KG_ERR_INVALID);
	ck_assert_int_eq(db_epoch(), e);
	kg_revocation_peek(&b);
	ck_assert_uint_eq(b.re_local, a.re_local);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "session_families WHERE revoked_at IS NULL"), 1);

	ck_assert_int_eq(kg_store_family_revoke(hctx.db, sid, "test"), KG_OK);
	ck_assert_int_eq(db_epoch(), e + 1);
	kg_revocation_peek(&b);
	ck_assert_uint_eq(b.re_local, a.re_local + 1);
}
END_TEST

/* ------------------------------------------------------------ lifetimes */

/* An access token leaves the cache when it expires (exp + leeway). */
START_TEST(jwt_expiry_on_hit)
{
	char	jwt[4200];

	start(jwt, sizeof(jwt));
	ck_assert_int_eq(whoami(jwt, NULL), 200);
	ck_assert_int_eq(whoami(jwt, NULL), 200);
	ck_assert_uint_eq(hits(), 1);
	kg_ht_advance_ms((hcfg.track_ttl[1] < hcfg.access_ttl ?
	    hcfg.track_ttl[1] : hcfg.access_ttl) * 1000LL +
	    hcfg.clock_leeway * 1000LL);
	ck_assert_int_eq(whoami(jwt, NULL), 401);
	kg_ht_expect(401, "invalid_token");
	ck_assert_uint_eq(hits(), 1);
}
END_TEST

/*
 * An API key's entry ends at the key's expiry as the database counts it,
 * and any entry after KG_AUTHCACHE_MAX_AGE.
 */
START_TEST(key_entry_lifetime)
{
	char			key[256], key2[256];
	long long		id, id2;
	unsigned long long	n;
	MYSQL			*m;

	mint_key("[\"keys:read\"]", key, &id);
	mint_key("[\"keys:read\"]", key2, &id2);
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE api_keys SET expires_at = UTC_TIMESTAMP(6) + "
	    "INTERVAL 10 SECOND WHERE id = %lld", id);
	mysql_close(m);
	ck_assert_int_eq(whoami(key, NULL), 200);
	ck_assert_int_eq(whoami(key2, NULL), 200);
	ck_assert_int_eq(whoami(key, &n), 200);
	ck_assert_int_eq(whoami(key2, &n), 200);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(hits(), 2);
	kg_ht_advance_ms(10 * 1000);
	/* key: past its expiry here, so validated again (the database's
	 * clock has not moved: still live there); key2 a hit. */
	ck_assert_int_eq(whoami(key, &n), 200);
	ck_assert_uint_eq(hits(), 2);
	ck_assert_int_eq(whoami(key2, &n), 200);
	ck_assert_uint_eq(hits(), 3);
	kg_ht_advance_ms(KG_AUTHCACHE_MAX_AGE * 1000LL);
	ck_assert_int_eq(whoami(key2, &n), 200);
	ck_assert_uint_eq(hits(), 3);
}
END_TEST

/* Served from the cache, a key still touches last_used_at every 30 s. */
START_TEST(cached_key_touches)
{
	char			key[256];
	long long		id;
	MYSQL			*m;

	mint_key("[\"keys:read\"]", key, &id);
	ck_assert_int_eq(whoami(key, NULL), 200);
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE api_keys SET last_used_at = UTC_TIMESTAMP(6) - "
	    "INTERVAL 45 SECOND");
	ck_assert_int_eq(whoami(key, NULL), 200);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM api_keys "
	    "WHERE last_used_at < UTC_TIMESTAMP(6) - INTERVAL 40 SECOND"), 1);
	kg_ht_advance_ms(KG_AUTHCACHE_TOUCH * 1000LL);
	ck_assert_int_eq(whoami(key, NULL), 200);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM api_keys "
	    "WHERE last_used_at > UTC_TIMESTAMP(6) - INTERVAL 10 SECOND"), 1);
	mysql_close(m);
	ck_assert_uint_eq(hits(), 2);
}
END_TEST

/* More credentials than slots: each still gets its own principal. */
START_TEST(eviction_keeps_answers_right)
{
	char		keys[5][256], subjects[5][64];
	long long	id;
	int		i, round;

	kg_ht_cache_off();
	ck_assert_int_eq(kg_authcache_new(&hctx.authcache, 2), KG_OK);
	for (i = 0; i < 5; i++) {
		mint_key("[\"keys:read\"]", keys[i], &id);
		snprintf(subjects[i], sizeof(subjects[i]), "key:%.8s",
		    keys[i] + 7 + 6);
	}
	for (round = 0; round < 4; round++)
		for (i = 0; i < 5; i++) {
			ck_assert_int_eq(whoami(keys[(i * 3 + round) % 5],
			    NULL), 200);
			ck_assert_str_eq(kg_ht_str("subject"),
			    subjects[(i * 3 + round) % 5]);
		}
}
END_TEST

static Suite *
authcache_suite(void)
{
	Suite	*s = suite_create("authcache");
	TCase	*tc = tcase_create("cache");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, kg_ht_teardown);
	tcase_add_test(tc, repeat_costs_no_query);
	tcase_add_test(tc, cache_off_validates_each_time);
	tcase_add_test(tc, refusals_not_kept);
	tcase_add_test(tc, local_revocation_at_once);
	tcase_add_test(tc, other_worker_at_once);
	tcase_add_test(tc, org_token_and_member_removal_at_once);
	tcase_add_test(tc, other_host_within_a_second);
	tcase_add_test(tc, db_loss_bounded);
	tcase_add_test(tc, epoch_counts_revocations);
	tcase_add_test(tc, epoch_follows_commit);
	tcase_add_test(tc, jwt_expiry_on_hit);
	tcase_add_test(tc, key_entry_lifetime);
	tcase_add_test(tc, cached_key_touches);
	tcase_add_test(tc, eviction_keeps_answers_right);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	kg_test_db_require();
	return kg_test_run(authcache_suite());
}
