/*
 * check_wallet.c: wallet sign-in storage against a real MariaDB (SPEC 2,
 * 4, 12): nonces (single use under a race, expiry, binding, pending cap),
 * sign-in membership (first signer is the owner, also under a race) and
 * the database token buckets.
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "core/api/router.h"
#include "core/base/log.h"
#include "core/crypto/eth.h"
#include "core/store/db.h"
#include "core/store/ratelimit.h"
#include "core/store/wallet.h"
#include "tests/db/dbtest.h"
#include "tests/db/httptest.h"

#define W1	"0x1111111111111111111111111111111111111111"
#define W2	"0x2222222222222222222222222222222222222222"
/* Racers on one nonce (and on one new namespace): kg_test_race's most. */
#define NRACE	64

struct consume_arg {
	const char	*nonce;
};

static enum kg_err
consume_txn(struct kg_db *db, void *arg)
{
	struct consume_arg	*c = arg;

	return kg_store_nonce_consume(db, c->nonce, W1, "default");
}

/* 0 = won, 1 = invalid_nonce, 100+ = failure. */
static int
consume_child(struct kg_db *db, int child, void *arg)
{
	enum kg_err	r = kg_db_txn(db, consume_txn, arg);

	(void)child;
	return r == KG_OK ? 0 : r == KG_ERR_NOT_FOUND ? 1 : 100 + (int)r;
}

START_TEST(nonce_create_consume_once)
{
	struct kg_config	 cfg;
	struct kg_db		*db = NULL;
	struct kg_nonce		 n;
	size_t			 i;

	kg_test_db_config(&cfg);
	ck_assert_int_eq(kg_db_open(&db, &cfg), KG_OK);
	ck_assert_int_eq(kg_store_nonce_create(db, W1, "default", "login", 1,
	    300, 16, &n), KG_OK);
	ck_assert_uint_eq(strlen(n.no_nonce), KG_NONCE_LEN);
	for (i = 0; i < KG_NONCE_LEN; i++)
		ck_assert(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz", n.no_nonce[i]) != NULL);
	ck_assert_int_eq(n.no_expires_us - n.no_issued_us, 300LL * 1000000);
	/* bound to its wallet and namespace */
	ck_assert_int_eq(kg_store_nonce_consume(db, n.no_nonce, W2, "default"),
	    KG_ERR_NOT_FOUND);
	ck_assert_int_eq(kg_store_nonce_consume(db, n.no_nonce, W1, "other"),
	    KG_ERR_NOT_FOUND);
	ck_assert_int_eq(kg_store_nonce_consume(db, n.no_nonce, W1, "default"),
	    KG_OK);
	ck_assert_int_eq(kg_store_nonce_consume(db, n.no_nonce, W1, "default"),
	    KG_ERR_NOT_FOUND);
	ck_assert_int_eq(kg_store_nonce_consume(db, "nosuchnonce", W1,
	    "default"), KG_ERR_NOT_FOUND);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(nonce_expired_refused)
{
	struct kg_config	 cfg;
	struct kg_db		*db = NULL;
	struct kg_nonce		 n;
	MYSQL			*m;

	kg_test_db_config(&cfg);
	ck_assert_int_eq(kg_db_open(&db, &cfg), KG_OK);
	ck_assert_int_eq(kg_store_nonce_create(db, W1, "default", "login", 1,
	    300, 16, &n), KG_OK);
	m = kg_test_conn(&cfg);
	kg_test_sql(m, "UPDATE nonces SET expires_at = UTC_TIMESTAMP(6) - "
	    "INTERVAL 1 SECOND WHERE nonce = '%s'", n.no_nonce);
	mysql_close(m);
	ck_assert_int_eq(kg_store_nonce_consume(db, n.no_nonce, W1, "default"),
	    KG_ERR_NOT_FOUND);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(nonce_single_use_race)
{
	struct kg_config	 cfg;
	struct kg_db		*db = NULL;
	struct kg_nonce		 n;
	struct consume_arg	 a;
	int			 codes[NRACE], i, won = 0, lost = 0;

	kg_test_db_config(&cfg);
	ck_assert_int_eq(kg_db_open(&db, &cfg), KG_OK);
	ck_assert_int_eq(kg_store_nonce_create(db, W1, "default", "login", 1,
	    300, 16, &n), KG_OK);
	kg_db_close(db);
	a.nonce = n.no_nonce;
	kg_test_race(&cfg, NRACE, consume_child, &a, codes);
	/* Every loser is refused as SPEC 4 says (invalid_nonce), none
	 * fails otherwise. */
	for (i = 0; i < NRACE; i++) {
		ck_assert_msg(codes[i] == 0 || codes[i] == 1,
		    "racer %d: exit %d", i, codes[i]);
		if (codes[i] == 0)
			won++;
		else
			lost++;
	}
	ck_assert_int_eq(won, 1);
	ck_assert_int_eq(lost, NRACE - 1);
	kg_test_db_teardown(&cfg);
}
END_TEST

static int
challenge_child(struct kg_db *db, int child, void *arg)
{
	struct kg_nonce	n;
	enum kg_err	r;

	(void)child;
	r = kg_store_nonce_create(db, W1, "default", "login", 1, 300, 16, &n);
	return r == KG_OK ? 0 : r == KG_ERR_TOO_LARGE ? 1 : 100 + (int)r;
}

START_TEST(nonce_pending_cap)
{
	struct kg_config	 cfg;
	struct kg_db		*db = NULL;
	struct kg_nonce		 n;
	MYSQL			*m;
	int			 i, codes[24], ok = 0, capped = 0;

	kg_test_db_config(&cfg);
	ck_assert_int_eq(kg_db_open(&db, &cfg), KG_OK);
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(kg_store_nonce_create(db, W1, "default",
		    "login", 1, 300, 16, &n), KG_OK);
	ck_assert_int_eq(kg_store_nonce_create(db, W1, "default", "login", 1,
	    300, 16, &n), KG_ERR_TOO_LARGE);
	/* another wallet is not affected; a used nonce frees a slot */
	ck_assert_int_eq(kg_store_nonce_create(db, W2, "default", "login", 1,
	    300, 16, &n), KG_OK);
	m = kg_test_conn(&cfg);
	kg_test_sql(m, "UPDATE nonces SET used_at = UTC_TIMESTAMP(6) "
	    "WHERE wallet = '" W1 "' LIMIT 1");
	ck_assert_int_eq(kg_store_nonce_create(db, W1, "default", "login", 1,
	    300, 16, &n), KG_OK);
	/* under concurrency: from zero, 24 at once, exactly 16 succeed */
	kg_test_sql(m, "DELETE FROM nonces");
	mysql_close(m);
	kg_db_close(db);
	kg_test_race(&cfg, 24, challenge_child, NULL, codes);
	for (i = 0; i < 24; i++) {
		ck_assert_int_lt(codes[i], 100);
		if (codes[i] == 0)
			ok++;
		else
			capped++;
	}
	ck_assert_int_eq(ok, 16);
	ck_assert_int_eq(capped, 8);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM nonces"),
	    16);
	kg_test_db_teardown(&cfg);
}
END_TEST

struct member_arg {
	const char	*ns;
	int		 auto_create;
	const char	*wallet;
	uint64_t	 ns_id;
	int		 track;
	int		 joined;
};

static enum kg_err
member_txn(struct kg_db *db, void *arg)
{
	struct member_arg	*a = arg;

	return kg_store_signin_member(db, a->ns, a->auto_create, a->wallet,
	    &a->ns_id, &a->track, &a->joined);
}

START_TEST(first_signer_owns)
{
	struct kg_config	 cfg;
	struct kg_db		*db = NULL;
	struct member_arg	 a = { "acme", 1, W1, 0, 0, 0 };
	struct member_arg	 off = { "closed", 0, W1, 0, 0, 0 };

	kg_test_db_config(&cfg);
	ck_assert_int_eq(kg_db_open(&db, &cfg), KG_OK);
	ck_assert_int_eq(kg_db_txn(db, member_txn, &a), KG_OK);
	ck_assert_int_eq(a.track, 4);
	ck_assert_int_eq(a.joined, 1);
	ck_assert_uint_gt(a.ns_id, 0);
	a.wallet = W2;
	ck_assert_int_eq(kg_db_txn(db, member_txn, &a), KG_OK);
	ck_assert_int_eq(a.track, 1);
	ck_assert_int_eq(a.joined, 1);
	/* a known member keeps its track */
	a.wallet = W1;
	ck_assert_int_eq(kg_db_txn(db, member_txn, &a), KG_OK);
	ck_assert_int_eq(a.track, 4);
	ck_assert_int_eq(a.joined, 0);
	/* no auto-creation: not found, nothing created */
	ck_assert_int_eq(kg_db_txn(db, member_txn, &off), KG_ERR_NOT_FOUND);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "namespaces WHERE name = 'closed'"), 0);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

static int
owner_child(struct kg_db *db, int child, void *arg)
{
	struct member_arg	a = { "race", 1, NULL, 0, 0, 0 };
	char			w[43];
	enum kg_err		r;

	(void)child;
	snprintf(w, sizeof(w), "0x%040d", (int)getpid());
	a.wallet = w;
	r = kg_db_txn(db, member_txn, &a);
	return r == KG_OK ? a.track : 100 + (int)r;
}

START_TEST(concurrent_first_signins_one_owner)
{
	struct kg_config	cfg;
	int			codes[NRACE], i, owners = 0;

	kg_test_db_config(&cfg);
	kg_test_race(&cfg, NRACE, owner_child, NULL, codes);
	for (i = 0; i < NRACE; i++) {
		ck_assert_int_lt(codes[i], 100);
		owners += codes[i] == 4;
	}
	ck_assert_int_eq(owners, 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM members "
	    "WHERE track = 4"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM members"),
	    NRACE);
	kg_test_db_teardown(&cfg);
}
END_TEST

/*
 * Several buckets in one transaction: each gives a token in order, and
 * the first without one ends the take, leaving the later ones untouched
 * (as separate takes in a row would), with the wait of the one that
 * refused.
 */
START_TEST(rate_buckets_in_one_take)
{
	struct kg_config	 cfg;
	struct kg_db		*db = NULL;
	struct kg_rate_bucket	 b[2] = { { "a:1", 1, 2 }, { "w:z", 1, 3 } };
	struct kg_db_stats	 s0, s1;
	int			 allowed;
	long			 retry;

	kg_test_db_config(&cfg);
	ck_assert_int_eq(kg_db_open(&db, &cfg), KG_OK);
	kg_db_stats(db, &s0);
	ck_assert_int_eq(kg_store_rate_take_all(db, b, 2, &allowed, &retry),
	    KG_OK);
	kg_db_stats(db, &s1);
	ck_assert_int_eq(allowed, 1);
	/* START, 3 statements a bucket, COMMIT: one commit for both. */
	ck_assert_uint_eq(s1.ds_executions - s0.ds_executions, 8);
	ck_assert_int_eq(kg_store_rate_take_all(db, b, 2, &allowed, &retry),
	    KG_OK);
	ck_assert_int_eq(allowed, 1);
	/* The address bucket (burst 2) is empty now: the wallet's keeps 1. */
	ck_assert_int_eq(kg_store_rate_take_all(db, b, 2, &allowed, &retry),
	    KG_OK);
	ck_assert_int_eq(allowed, 0);
	ck_assert_int_eq(retry, 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT FLOOR(tokens) FROM "
	    "rate_buckets WHERE bucket_key = 'w:z'"), 1);
	ck_assert_int_eq(kg_store_rate_take(db, "w:z", 1, 3, &allowed, &retry),
	    KG_OK);
	ck_assert_int_eq(allowed, 1);
	/* Bad buckets are refused before any statement. */
	b[1].rb_rate = 0;
	ck_assert_int_eq(kg_store_rate_take_all(db, b, 2, &allowed, &retry),
	    KG_ERR_INVALID);
	ck_assert_int_eq(kg_store_rate_take_all(db, b, 0, &allowed, &retry),
	    KG_ERR_INVALID);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(rate_bucket_burst_refill)
{
	struct kg_config	 cfg;
	struct kg_db		*db = NULL;
	MYSQL			*m;
	int			 allowed, i;
	long			 retry;

	kg_test_db_config(&cfg);
	ck_assert_int_eq(kg_db_open(&db, &cfg), KG_OK);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(kg_store_rate_take(db, "w:x", 1, 5, &allowed,
		    &retry), KG_OK);
		ck_assert_int_eq(allowed, 1);
	}
	ck_assert_int_eq(kg_store_rate_take(db, "w:x", 1, 5, &allowed, &retry),
	    KG_OK);
	ck_assert_int_eq(allowed, 0);
	ck_assert_int_ge(retry, 1);
	ck_assert_int_le(retry, 1);
	/* another key has its own bucket */
	ck_assert_int_eq(kg_store_rate_take(db, "w:y", 1, 5, &allowed, &retry),
	    KG_OK);
	ck_assert_int_eq(allowed, 1);
	/* ten seconds later: refilled, capped at the burst */
	m = kg_test_conn(&cfg);
	kg_test_sql(m, "UPDATE rate_buckets SET updated_at = updated_at - "
	    "INTERVAL 10 SECOND WHERE bucket_key = 'w:x'");
	mysql_close(m);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(kg_store_rate_take(db, "w:x", 1, 5, &allowed,
		    &retry), KG_OK);
		ck_assert_int_eq(allowed, 1);
	}
	ck_assert_int_eq(kg_store_rate_take(db, "w:x", 1, 5, &allowed, &retry),
	    KG_OK);
	ck_assert_int_eq(allowed, 0);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

static int
rate_child(struct kg_db *db, int child, void *arg)
{
	int	allowed, got = 0, i;
	long	retry;

	(void)child;
	for (i = 0; i < 10; i++) {
		if (kg_store_rate_take(db, "a:shared", 1, 10, &allowed,
		    &retry) != KG_OK)
			return 100;
		got += allowed;
	}
	return got;
}

START_TEST(rate_bucket_shared_between_processes)
{
	struct kg_config	cfg;
	int			codes[8], i, sum = 0;

	kg_test_db_config(&cfg);
	/* 8 processes, 10 takes each, on one bucket of burst 10 at 1/s */
	kg_test_race(&cfg, 8, rate_child, NULL, codes);
	for (i = 0; i < 8; i++) {
		ck_assert_int_lt(codes[i], 100);
		sum += codes[i];
	}
	/* the burst and at most a token or two of refill, never 80 */
	ck_assert_int_ge(sum, 10);
	ck_assert_int_le(sum, 12);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* ---------------------------------------------------------------- handlers */

/*
 * The handler tests sign with libsecp256k1 (RFC 6979, as ethers does) and
 * the keys of tests/vectors/eth/eip55.json.  signer_matches_ethers proves
 * this signer reproduces the committed ethers signature of
 * tests/vectors/eth/personal_sign.json byte for byte; the end-to-end test
 * (tests/e2e/wallet.sh) signs with ethers itself.
 */
#define K1_PRIV	"132cfd43948f7c93cbc78fea7fbc0764fa33fab299889a31f8423468d811f143"
#define K1_ADDR	"0x3748A27775229ccc4C2c14e3f9455b04fc0B39C0"
#define K1_LOW	"0x3748a27775229ccc4c2c14e3f9455b04fc0b39c0"
#define K2_ADDR	"0xcE7C0A23c265A3510473117933f9b6f07502F08A"
#define K2_LOW	"0xce7c0a23c265a3510473117933f9b6f07502f08a"
#define K2_PRIV	"9da4fa466e97bb365a8208c2bd2cab7728c0aae789a12ee7e17567a765c8e696"

/* The harness's, under the short names every test below uses. */
#define jstr		kg_ht_str
#define expect		kg_ht_expect
#define sign_personal	kg_ht_sign_personal
#define dispatch	kg_ht_dispatch
#define cfg_str		kg_ht_cfg_str

START_TEST(signer_matches_ethers)
{
	char	sig[133];

	sign_personal(K1_PRIV, "hello keygate", sig);
	ck_assert_str_eq(sig, "0x7906c6e073fd6f58dc4e021a3c1fb8e63afcd53d42fe"
	    "2419b1b3beb7769fd2787c3e0503a1bf760c16ce2a9aa193820c8692bb7185ed"
	    "134e55a40314ea15aa621c");
}
END_TEST

static void
hsetup(void)
{
	static const struct kg_ht_opts	o = { 0, 1, NULL };

	kg_ht_setup(&o);
}

/* POSTs body to path from client address addr; returns the status. */
static int
post_from(const char *addr, const char *path, const char *body)
{
	struct kg_request	req;

	kg_ht_request(&req, "POST", path, NULL, NULL, NULL, "application/json",
	    body);
	req.remote_addr = addr;
	return dispatch(&req);
}

/* POSTs body to path from 192.0.2.1; returns the status. */
static int
post(const char *path, const char *body)
{
	return post_from("192.0.2.1", path, body);
}

/* A challenge for wallet in ns; copies nonce and message out. */
static void
challenge(const char *wallet, const char *ns, char *nonce, char *msg,
    size_t msglen)
{
	char	body[256];

	snprintf(body, sizeof(body), "{\"wallet\":\"%s\",\"namespace\":\"%s\"}",
	    wallet, ns);
	ck_assert_msg(post("/v1/auth/challenge", body) == 200, "%s",
	    kg_buf_str(&hresp.body));
	snprintf(nonce, 33, "%s", jstr("nonce"));
	snprintf(msg, msglen, "%s", jstr("message"));
}

/* A verify body; msg NULL for the raw-nonce path. */
static void
verify_body(char *out, size_t len, const char *wallet, const char *nonce,
    const char *sig, const char *ns, const char *msg)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "wallet", json_object_new_string(wallet));
	json_object_object_add(o, "nonce", json_object_new_string(nonce));
	json_object_object_add(o, "signature", json_object_new_string(sig));
	json_object_object_add(o, "namespace", json_object_new_string(ns));
	if (msg != NULL)
		json_object_object_add(o, "message",
		    json_object_new_string(msg));
	snprintf(out, len, "%s", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* verify_body plus "name" for POST /v1/apps. */
static void
app_body(char *out, size_t len, const char *wallet, const char *nonce,
    const char *sig, const char *ns, const char *msg, const char *name)
{
	size_t	n;

	verify_body(out, len, wallet, nonce, sig, ns, msg);
	n = strlen(out);
	ck_assert_uint_gt(n, 0);
	snprintf(out + n - 1, len - n + 1, ",\"name\":\"%s\"}", name);
}

START_TEST(challenge_errors)
{
	int	i;

	ck_assert_int_eq(post("/v1/auth/challenge", "{"), 400);
	expect(400, "invalid_json");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\",\"x\":1}");
	expect(400, "invalid_request");
	post("/v1/auth/challenge", "{}");
	expect(400, "invalid_request");
	/* mixed case with a broken checksum */
	post("/v1/auth/challenge",
	    "{\"wallet\":\"0x3748A27775229ccc4C2c14e3f9455b04fc0B39c0\"}");
	expect(400, "invalid_wallet");
	post("/v1/auth/challenge", "{\"wallet\":\"0x1234\"}");
	expect(400, "invalid_wallet");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"namespace\":\"Bad\"}");
	expect(400, "invalid_namespace");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":999999}");
	expect(400, "invalid_chain_id");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"purpose\":\"\"}");
	expect(400, "invalid_request");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"purpose\":\"tab\\there\"}");
	expect(400, "invalid_request");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\",\"purpose\":"
	    "\"01234567890123456789012345678901234567890123456789012345678901234\"}");
	expect(400, "invalid_request");
	/* 16 pending, then 429; the challenge did not create the namespace */
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(post("/v1/auth/challenge",
		    "{\"wallet\":\"" K1_LOW "\",\"namespace\":\"fresh\"}"), 200);
	ck_assert_msg(strcmp(jstr("wallet"), K1_LOW) == 0, "%s",
	    kg_buf_str(&hresp.body));
	ck_assert_str_eq(jstr("namespace"), "fresh");
	ck_assert_str_eq(jstr("purpose"), "login");
	ck_assert_uint_eq(strlen(jstr("nonce")), 32);
	ck_assert(strstr(jstr("message"), "\n" K1_ADDR "\n") != NULL);
	ck_assert(strstr(jstr("message"), "\nChain ID: 1\n") != NULL);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "namespaces WHERE name = 'fresh'"), 0);
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_LOW "\"}");
	expect(429, "too_many_challenges");
	/* with auto_create off, a missing namespace is 404 */
	hcfg.auto_create_namespaces = 0;
	post("/v1/auth/challenge", "{\"wallet\":\"" K2_ADDR "\","
	    "\"namespace\":\"nope\"}");
	expect(404, "namespace_not_found");
}
END_TEST

START_TEST(challenge_rate_limited)
{
	int	i;

	hcfg.rate_wallet_rate = 1;
	hcfg.rate_wallet_burst = 3;
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(post("/v1/auth/challenge",
		    "{\"wallet\":\"" K1_ADDR "\"}"), 200);
	/* before every other rule, even a bad chain id */
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":999999}");
	expect(429, "rate_limited");
	ck_assert_str_eq(kg_resp_header_get(&hresp, "Retry-After"), "1");
	/* verify shares the wallet's bucket, checked before the signature */
	post("/v1/auth/verify", "{\"wallet\":\"" K1_LOW "\",\"nonce\":\"x\","
	    "\"signature\":\"0x00\"}");
	expect(429, "rate_limited");
	/* apps takes the address bucket only (SPEC 12) */
	post("/v1/apps", "{\"wallet\":\"" K1_LOW "\",\"nonce\":\"x\","
	    "\"signature\":\"0x00\",\"name\":\"a\"}");
	expect(400, "invalid_signature");
	/* another wallet has its own bucket */
	ck_assert_int_eq(post("/v1/auth/challenge",
	    "{\"wallet\":\"" K2_ADDR "\"}"), 200);
	/* per address: a slow refill gives a long Retry-After */
	hcfg.rate_wallet_rate = 0;
	hcfg.rate_ip_rate = 1;
	hcfg.rate_ip_burst = 1;
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "rate_buckets"), 2);
	ck_assert_int_eq(post("/v1/auth/challenge",
	    "{\"wallet\":\"" K1_ADDR "\"}"), 200);
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\"}");
	expect(429, "rate_limited");
	{
		MYSQL *m = kg_test_conn(&hcfg);

		kg_test_sql(m, "UPDATE rate_buckets SET tokens = -29 "
		    "WHERE bucket_key = 'a:192.0.2.1'");
		mysql_close(m);
	}
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\"}");
	expect(429, "rate_limited");
	ck_assert_str_eq(kg_resp_header_get(&hresp, "Retry-After"), "30");
}
END_TEST

/* Replaces the first occurrence of from in s with to. */
static void
subst(char *s, size_t len, const char *from, const char *to)
{
	char	tmp[4096], *p = strstr(s, from);

	ck_assert_ptr_nonnull(p);
	snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(p - s), s, to,
	    p + strlen(from));
	ck_assert_uint_lt(strlen(tmp), len);
	memcpy(s, tmp, strlen(tmp) + 1);
}

START_TEST(verify_errors_and_success)
{
	char	nonce[33], msg[2048], other[2048], sig[133], body[4096];
	char	big[5000], bigbody[8192];

	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, msg, sig);

	post("/v1/auth/verify", "{\"wallet\":\"" K1_ADDR "\"}");
	expect(400, "invalid_request");
	verify_body(body, sizeof(body), "0xnope", nonce, sig, "acme", msg);
	post("/v1/auth/verify", body);
	expect(400, "invalid_wallet");
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "a/b", msg);
	post("/v1/auth/verify", body);
	expect(400, "invalid_namespace");
	verify_body(body, sizeof(body), K1_ADDR, nonce, "0x1234", "acme", msg);
	post("/v1/auth/verify", body);
	expect(400, "invalid_signature");
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme",
	    "not a siwe message");
	post("/v1/auth/verify", body);
	expect(400, "invalid_message");
	/* over 4 KiB */
	snprintf(other, sizeof(other), "%s", msg);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	verify_body(bigbody, sizeof(bigbody), K1_ADDR, nonce, sig, "acme", big);
	post("/v1/auth/verify", bigbody);
	expect(400, "invalid_message");
	/* another domain, correctly signed: mismatch, not a signature error */
	subst(other, sizeof(other), hcfg.siwe_domain, "evil.example");
	sign_personal(K1_PRIV, other, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", other);
	post("/v1/auth/verify", body);
	expect(401, "message_mismatch");
	/* the message's nonce is not the body's */
	sign_personal(K1_PRIV, msg, sig);
	verify_body(body, sizeof(body), K1_ADDR, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    sig, "acme", msg);
	post("/v1/auth/verify", body);
	expect(401, "message_mismatch");
	/* expired */
	snprintf(other, sizeof(other), "%s", msg);
	subst(other, sizeof(other), "Expiration Time: 2",
	    "Expiration Time: 2001-01-01T00:00:00Z\nX");
	*strstr(other, "\nX") = '\0';
	sign_personal(K1_PRIV, other, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", other);
	post("/v1/auth/verify", body);
	expect(401, "message_expired");
	/* issued in the future */
	snprintf(other, sizeof(other), "%s", msg);
	subst(other, sizeof(other), "Issued At: 20", "Issued At: 29");
	sign_personal(K1_PRIV, other, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", other);
	post("/v1/auth/verify", body);
	expect(401, "message_not_yet_valid");
	/* signed by another key */
	sign_personal(K2_PRIV, msg, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", msg);
	post("/v1/auth/verify", body);
	expect(401, "signature_mismatch");
	/* none of that consumed the nonce; another namespace does not match */
	sign_personal(K1_PRIV, msg, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "other", msg);
	post("/v1/auth/verify", body);
	expect(400, "invalid_nonce");
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", msg);
	ck_assert_msg(post("/v1/auth/verify", body) == 200, "%s",
	    kg_buf_str(&hresp.body));
	ck_assert(hresp.no_store);
	ck_assert_str_eq(jstr("token_type"), "Bearer");
	ck_assert_str_eq(jstr("subject"), K1_LOW);
	ck_assert_str_eq(jstr("namespace"), "acme");
	ck_assert_str_eq(jstr("track"), "4");
	ck_assert_str_eq(jstr("signature_verified"), "true");
	ck_assert(strncmp(jstr("refresh_token"), "kg_rt_", 6) == 0);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'signin' AND actor = '" K1_LOW "'"), 1);
	/* replay */
	post("/v1/auth/verify", body);
	expect(400, "invalid_nonce");
	/* the legacy raw-nonce path; a second wallet joins at track 1 */
	challenge(K2_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K2_PRIV, nonce, sig);
	verify_body(body, sizeof(body), K2_ADDR, nonce, sig, "acme", NULL);
	ck_assert_msg(post("/v1/auth/verify", body) == 200, "%s",
	    kg_buf_str(&hresp.body));
	ck_assert_str_eq(jstr("track"), "1");
	/* K1 signs in again: keeps track 4 */
	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, nonce, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", NULL);
	ck_assert_int_eq(post("/v1/auth/verify", body), 200);
	ck_assert_str_eq(jstr("track"), "4");
	/* raw nonces refused when disabled */
	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, nonce, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", NULL);
	hcfg.allow_raw_nonce = 0;
	post("/v1/auth/verify", body);
	expect(400, "invalid_message");
}
END_TEST

/* Every racer's verify body: the one signed body of arg. */
static void
same_body(int i, char *buf, size_t len, void *arg)
{
	(void)i;
	(void)snprintf(buf, len, "%s", (const char *)arg);
}

/*
 * The whole verify flow, 64 processes, one signed body: one session; every
 * other process gets 400 invalid_nonce, nothing else.
 */

START_TEST(verify_race_one_nonce)
{
	static const struct kg_ht_outcome out[] = {
		{ 200, NULL }, { 400, "invalid_nonce" },
	};
	char	nonce[33], msg[2048], sig[133], body[4096];
	int	n[2];

	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, msg, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", msg);
	kg_ht_race(NRACE, "POST", "/v1/auth/verify", same_body, body, out, 2,
	    n);
	ck_assert_int_eq(n[0], 1);
	ck_assert_int_eq(n[1], NRACE - 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'signin'"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "session_families"), 1);
}
END_TEST

START_TEST(verify_nonce_expired)
{
	char	nonce[33], msg[2048], sig[133], body[4096];
	MYSQL	*m;

	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, nonce, sig);
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE nonces SET expires_at = UTC_TIMESTAMP(6) - "
	    "INTERVAL 1 SECOND WHERE nonce = '%s'", nonce);
	mysql_close(m);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", NULL);
	post("/v1/auth/verify", body);
	expect(400, "invalid_nonce");
}
END_TEST

START_TEST(verify_namespace_not_found)
{
	char	nonce[33], msg[2048], sig[133], body[4096];

	challenge(K1_ADDR, "later", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, msg, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "later", msg);
	hcfg.auto_create_namespaces = 0;
	post("/v1/auth/verify", body);
	expect(404, "namespace_not_found");
	/* the nonce was not spent by the refusal */
	hcfg.auto_create_namespaces = 1;
	ck_assert_int_eq(post("/v1/auth/verify", body), 200);
}
END_TEST

START_TEST(apps_register_and_list)
{
	char			nonce[33], msg[2048], sig[133], body[4096];
	char			app_id[80], bearer4[2048], bearer1[2048];
	char			query[128], admin[300];
	json_object		*app, *o;
	struct kg_request	req;

	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, msg, sig);
	app_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", msg, "My app");
	ck_assert_msg(post("/v1/apps", body) == 201, "%s",
	    kg_buf_str(&hresp.body));
	snprintf(app_id, sizeof(app_id), "%s", jstr("client_id"));
	ck_assert(strncmp(app_id, "app_", 4) == 0);
	ck_assert(json_object_object_get_ex(hjson, "app", &app));
	ck_assert(json_object_object_get_ex(app, "app_id", &o));
	ck_assert_str_eq(json_object_get_string(o), app_id);
	ck_assert(json_object_object_get_ex(app, "public_key", &o));
	/* the key ethers derives for test key 1 (eip55.json) */
	ck_assert_str_eq(json_object_get_string(o), "0x049f156681adf46ff1c4d7"
	    "d8f059122c0feb38bdfd6a8696c095e3d5c5b8aae2f14ffc7b14303fee6c59e6"
	    "2d4762bdb2bf3149e3eabf80edd417b26c796d7ef9d5");
	ck_assert(json_object_object_get_ex(app, "wallet", &o));
	ck_assert_str_eq(json_object_get_string(o), K1_LOW);
	/* replaying the signed body: the nonce is spent */
	post("/v1/apps", body);
	expect(400, "invalid_nonce");
	/* name is required */
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", msg);
	post("/v1/apps", body);
	expect(400, "invalid_request");

	/* a second app, then a track-4 session lists both, newest first,
	 * one page at a time; a track-1 session may not */
	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, msg, sig);
	app_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", msg, "Second");
	ck_assert_int_eq(post("/v1/apps", body), 201);
	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, msg, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", msg);
	ck_assert_int_eq(post("/v1/auth/verify", body), 200);
	ck_assert_str_eq(jstr("track"), "4");
	snprintf(bearer4, sizeof(bearer4), "Bearer %s", jstr("access_token"));
	challenge(K2_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K2_PRIV, msg, sig);
	verify_body(body, sizeof(body), K2_ADDR, nonce, sig, "acme", msg);
	ck_assert_int_eq(post("/v1/auth/verify", body), 200);
	ck_assert_str_eq(jstr("track"), "1");
	snprintf(bearer1, sizeof(bearer1), "Bearer %s", jstr("access_token"));

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/v1/apps";
	req.query = "limit=1";
	req.body = "";
	req.remote_addr = "192.0.2.1";
	ck_assert_int_eq(dispatch(&req), 401);
	req.authorization = bearer1;
	ck_assert_int_eq(dispatch(&req), 403);
	req.authorization = bearer4;
	ck_assert_msg(dispatch(&req) == 200, "%s", kg_buf_str(&hresp.body));
	ck_assert(strstr(kg_buf_str(&hresp.body), "\"Second\"") != NULL);
	ck_assert(strstr(kg_buf_str(&hresp.body), app_id) == NULL);
	snprintf(query, sizeof(query), "limit=1&cursor=%s", jstr("next_cursor"));
	req.query = query;
	ck_assert_int_eq(dispatch(&req), 200);
	ck_assert(strstr(kg_buf_str(&hresp.body), app_id) != NULL);
	/* The last page, exactly full: no cursor to an empty page. */
	ck_assert(strstr(kg_buf_str(&hresp.body),
	    "\"next_cursor\":null") != NULL);
	req.query = "cursor=abc";
	ck_assert_int_eq(dispatch(&req), 400);
	req.query = "limit=0";
	ck_assert_int_eq(dispatch(&req), 400);
	/* the global admin, choosing the namespace */
	ck_assert(hcfg.admin_key != NULL && strlen(hcfg.admin_key) >= 32);
	snprintf(admin, sizeof(admin), "Bearer %s", hcfg.admin_key);
	req.authorization = admin;
	req.x_namespace = "acme";
	req.query = "limit=5";
	ck_assert_msg(dispatch(&req) == 200, "%s", kg_buf_str(&hresp.body));
	ck_assert(strstr(kg_buf_str(&hresp.body), app_id) != NULL);
	ck_assert(strstr(kg_buf_str(&hresp.body),
	    "\"next_cursor\":null") != NULL);
}
END_TEST

/*
 * M3: the JSON layer checks types only; namespace, chain_id, purpose,
 * nonce, signature and name answer with their own codes, and only after
 * the rate buckets (SPEC 12: before every other rule).
 */
START_TEST(field_rules_after_buckets)
{
	char	ns300[301], body[2048];
	int	i;

	memset(ns300, 'a', 300);
	ns300[300] = '\0';
	snprintf(body, sizeof(body), "{\"wallet\":\"" K1_ADDR "\","
	    "\"namespace\":\"%s\"}", ns300);
	post("/v1/auth/challenge", body);
	expect(400, "invalid_namespace");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":-1}");
	expect(400, "invalid_chain_id");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":0}");
	expect(400, "invalid_chain_id");
	/* a string, even of an allowed id, is not a chain id */
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":\"1\"}");
	expect(400, "invalid_chain_id");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":1.5}");
	expect(400, "invalid_chain_id");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":99999999999999999999999}");
	expect(400, "invalid_chain_id");
	/* but an unknown member still wins, and a wallet is still checked */
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":\"1\",\"x\":1}");
	expect(400, "invalid_request");
	ck_assert(strstr(jstr("message"), "x") != NULL);
	post("/v1/auth/challenge", "{\"wallet\":\"0x12\",\"chain_id\":\"1\"}");
	expect(400, "invalid_wallet");
	post("/v1/auth/challenge", "{\"wallet\":1}");
	expect(400, "invalid_request");
	snprintf(body, sizeof(body), "{\"wallet\":\"" K1_ADDR "\","
	    "\"purpose\":\"%s\"}", ns300);
	post("/v1/auth/challenge", body);
	expect(400, "invalid_request");
	ck_assert(strstr(jstr("message"), "purpose") != NULL);
	/* a long wallet is an invalid wallet */
	snprintf(body, sizeof(body), "{\"wallet\":\"0x%s\"}", ns300);
	post("/v1/auth/challenge", body);
	expect(400, "invalid_wallet");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "nonces"), 0);

	/* each refusal above the wallet check spends a wallet token */
	hcfg.rate_wallet_rate = 1;
	hcfg.rate_wallet_burst = 6;
	snprintf(body, sizeof(body), "{\"wallet\":\"" K1_ADDR "\","
	    "\"namespace\":\"%s\"}", ns300);
	post("/v1/auth/challenge", body);
	expect(400, "invalid_namespace");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":-1}");
	expect(400, "invalid_chain_id");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":\"1\"}");
	expect(400, "invalid_chain_id");
	/* verify: the same order, one bucket with the challenge */
	snprintf(body, sizeof(body), "{\"wallet\":\"" K1_ADDR "\","
	    "\"nonce\":\"x\",\"signature\":\"0x00\",\"namespace\":\"%s\"}",
	    ns300);
	post("/v1/auth/verify", body);
	expect(400, "invalid_namespace");
	snprintf(body, sizeof(body), "{\"wallet\":\"" K1_ADDR "\","
	    "\"nonce\":\"x\",\"signature\":\"0x%s\"}", ns300);
	post("/v1/auth/verify", body);
	expect(400, "invalid_signature");
	snprintf(body, sizeof(body), "{\"wallet\":\"" K1_ADDR "\","
	    "\"nonce\":\"%s\",\"signature\":\"0x00\"}", ns300);
	post("/v1/auth/verify", body);
	expect(400, "invalid_signature");
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\"}");
	expect(429, "rate_limited");
	/* a bad wallet takes no wallet token: it names none */
	for (i = 0; i < 3; i++) {
		post("/v1/auth/challenge", "{\"wallet\":\"0x1234\"}");
		expect(400, "invalid_wallet");
	}

	/* apps: an over-long or empty name is refused after the address
	 * bucket */
	hcfg.rate_wallet_rate = 0;
	hcfg.rate_ip_rate = 1;
	hcfg.rate_ip_burst = 1;
	snprintf(body, sizeof(body), "{\"wallet\":\"" K2_ADDR "\","
	    "\"nonce\":\"x\",\"signature\":\"0x00\",\"name\":\"%s\"}", ns300);
	post_from("198.51.100.7", "/v1/apps", body);
	expect(400, "invalid_request");
	ck_assert(strstr(jstr("message"), "name") != NULL);
	post_from("198.51.100.7", "/v1/apps", "{\"wallet\":\"" K2_ADDR "\","
	    "\"nonce\":\"x\",\"signature\":\"0x00\",\"name\":\"\"}");
	expect(429, "rate_limited");
	post_from("198.51.100.8", "/v1/apps", "{\"wallet\":\"" K2_ADDR "\","
	    "\"nonce\":\"x\",\"signature\":\"0x00\",\"name\":\"\"}");
	expect(400, "invalid_request");
}
END_TEST

/* The per-wallet bucket follows the wallet from any client address. */
START_TEST(wallet_bucket_across_addresses)
{
	hcfg.rate_wallet_rate = 1;
	hcfg.rate_wallet_burst = 2;
	ck_assert_int_eq(post_from("192.0.2.10", "/v1/auth/challenge",
	    "{\"wallet\":\"" K1_ADDR "\"}"), 200);
	ck_assert_int_eq(post_from("2001:db8::1", "/v1/auth/challenge",
	    "{\"wallet\":\"" K1_LOW "\"}"), 200);
	post_from("203.0.113.5", "/v1/auth/challenge",
	    "{\"wallet\":\"" K1_ADDR "\"}");
	expect(429, "rate_limited");
	post_from("203.0.113.6", "/v1/auth/verify", "{\"wallet\":\"" K1_LOW
	    "\",\"nonce\":\"x\",\"signature\":\"0x00\"}");
	expect(429, "rate_limited");
	/* the other wallet, from the same addresses, is not limited */
	ck_assert_int_eq(post_from("203.0.113.5", "/v1/auth/challenge",
	    "{\"wallet\":\"" K2_ADDR "\"}"), 200);
}
END_TEST

/* Expired and used nonces do not count toward max_pending_nonces. */
START_TEST(pending_cap_counts_live_nonces)
{
	char	nonce[33], msg[2048], sig[133], body[4096];
	MYSQL	*m;

	hcfg.max_pending_nonces = 2;
	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\"}");
	expect(429, "too_many_challenges");
	/* one expires: room for one more */
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE nonces SET expires_at = UTC_TIMESTAMP(6) - "
	    "INTERVAL 1 SECOND WHERE nonce = '%s'", nonce);
	mysql_close(m);
	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\"}");
	expect(429, "too_many_challenges");
	/* one is used: room for one more */
	sign_personal(K1_PRIV, msg, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", msg);
	ck_assert_msg(post("/v1/auth/verify", body) == 200, "%s",
	    kg_buf_str(&hresp.body));
	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\"}");
	expect(429, "too_many_challenges");
}
END_TEST

/* Signature shapes, message fields and nonce binding through the handler. */
START_TEST(verify_more_refusals)
{
	char	nonce[33], nonce2[33], msg[1536], msg2[1536], other[2048];
	char	sig[133], bad[133], body[4096], line[256];

	challenge(K1_ADDR, "acme", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, msg, sig);
	/* high s (n/2 + 1 and n - 1) with the real r: malleable, refused */
	snprintf(bad, sizeof(bad), "%.66s%s1b", sig,
	    "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1");
	verify_body(body, sizeof(body), K1_ADDR, nonce, bad, "acme", msg);
	post("/v1/auth/verify", body);
	expect(400, "invalid_signature");
	snprintf(bad, sizeof(bad), "%.66s%s1c", sig,
	    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
	verify_body(body, sizeof(body), K1_ADDR, nonce, bad, "acme", msg);
	post("/v1/auth/verify", body);
	expect(400, "invalid_signature");
	/* v = 29 */
	snprintf(bad, sizeof(bad), "%.130s1d", sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, bad, "acme", msg);
	post("/v1/auth/verify", body);
	expect(400, "invalid_signature");
	/* the message's address is not the wallet (signed by its owner) */
	snprintf(other, sizeof(other), "%s", msg);
	subst(other, sizeof(other), "\n" K1_ADDR "\n", "\n" K2_ADDR "\n");
	sign_personal(K2_PRIV, other, bad);
	verify_body(body, sizeof(body), K1_ADDR, nonce, bad, "acme", other);
	post("/v1/auth/verify", body);
	expect(401, "message_mismatch");
	/* another URI */
	snprintf(other, sizeof(other), "%s", msg);
	snprintf(line, sizeof(line), "\nURI: %s\n", hcfg.siwe_uri);
	subst(other, sizeof(other), line, "\nURI: https://evil.example/\n");
	sign_personal(K1_PRIV, other, bad);
	verify_body(body, sizeof(body), K1_ADDR, nonce, bad, "acme", other);
	post("/v1/auth/verify", body);
	expect(401, "message_mismatch");
	/* a chain id the service does not accept */
	snprintf(other, sizeof(other), "%s", msg);
	subst(other, sizeof(other), "\nChain ID: 1\n", "\nChain ID: 999\n");
	sign_personal(K1_PRIV, other, bad);
	verify_body(body, sizeof(body), K1_ADDR, nonce, bad, "acme", other);
	post("/v1/auth/verify", body);
	expect(401, "message_mismatch");
	/* Not Before in the future */
	ck_assert_ptr_null(strstr(msg, "Not Before"));
	snprintf(other, sizeof(other), "%s\nNot Before: 2999-01-01T00:00:00Z",
	    msg);
	sign_personal(K1_PRIV, other, bad);
	verify_body(body, sizeof(body), K1_ADDR, nonce, bad, "acme", other);
	post("/v1/auth/verify", body);
	expect(401, "message_not_yet_valid");
	/* K2's nonce in a message K1 signed: bound to another wallet */
	challenge(K2_ADDR, "acme", nonce2, msg2, sizeof(msg2));
	snprintf(other, sizeof(other), "%s", msg);
	subst(other, sizeof(other), nonce, nonce2);
	sign_personal(K1_PRIV, other, bad);
	verify_body(body, sizeof(body), K1_ADDR, nonce2, bad, "acme", other);
	post("/v1/auth/verify", body);
	expect(400, "invalid_nonce");
	/* ... and the raw-nonce path */
	sign_personal(K1_PRIV, nonce2, bad);
	verify_body(body, sizeof(body), K1_ADDR, nonce2, bad, "acme", NULL);
	post("/v1/auth/verify", body);
	expect(400, "invalid_nonce");
	/* none of these spent either nonce */
	sign_personal(K2_PRIV, msg2, bad);
	verify_body(body, sizeof(body), K2_ADDR, nonce2, bad, "acme", msg2);
	ck_assert_msg(post("/v1/auth/verify", body) == 200, "%s",
	    kg_buf_str(&hresp.body));
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", msg);
	ck_assert_msg(post("/v1/auth/verify", body) == 200, "%s",
	    kg_buf_str(&hresp.body));
}
END_TEST

/* An allowed chain id other than the first shows in the message. */
START_TEST(challenge_other_chain_id)
{
	char	nonce[33], msg[2048], sig[133], body[4096];

	cfg_str(&hcfg.siwe_chain_ids, "1 5");
	ck_assert_int_eq(post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR
	    "\",\"namespace\":\"acme\",\"chain_id\":5}"), 200);
	snprintf(nonce, sizeof(nonce), "%s", jstr("nonce"));
	snprintf(msg, sizeof(msg), "%s", jstr("message"));
	ck_assert_msg(strstr(msg, "\nChain ID: 5\n") != NULL, "%s", msg);
	post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR "\","
	    "\"chain_id\":3}");
	expect(400, "invalid_chain_id");
	/* no chain_id: the first of the list */
	ck_assert_int_eq(post("/v1/auth/challenge", "{\"wallet\":\"" K1_ADDR
	    "\"}"), 200);
	ck_assert(strstr(jstr("message"), "\nChain ID: 1\n") != NULL);
	sign_personal(K1_PRIV, msg, sig);
	verify_body(body, sizeof(body), K1_ADDR, nonce, sig, "acme", msg);
	ck_assert_msg(post("/v1/auth/verify", body) == 200, "%s",
	    kg_buf_str(&hresp.body));
}
END_TEST

/* A wallet session token for wallet in ns; out receives "Bearer ...". */
static void
signin(const char *priv, const char *wallet, const char *ns, char *out,
    size_t outlen, const char *track)
{
	char	nonce[33], msg[2048], sig[133], body[4096];

	challenge(wallet, ns, nonce, msg, sizeof(msg));
	sign_personal(priv, msg, sig);
	verify_body(body, sizeof(body), wallet, nonce, sig, ns, msg);
	ck_assert_msg(post("/v1/auth/verify", body) == 200, "%s",
	    kg_buf_str(&hresp.body));
	ck_assert_str_eq(jstr("track"), track);
	snprintf(out, outlen, "Bearer %s", jstr("access_token"));
}

/* M4: GET /v1/apps is "track >= 3 or admin", not the admin scope alone. */
START_TEST(apps_list_track3_without_admin_scope)
{
	char			bearer[2048];
	struct kg_request	req;
	MYSQL			*m;

	cfg_str(&hcfg.track_scopes[2], "projects:read");
	signin(K1_PRIV, K1_ADDR, "acme", bearer, sizeof(bearer), "4");
	signin(K2_PRIV, K2_ADDR, "acme", bearer, sizeof(bearer), "1");
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/v1/apps";
	req.query = "";
	req.body = "";
	req.remote_addr = "192.0.2.1";
	req.authorization = bearer;
	ck_assert_int_eq(dispatch(&req), 403);
	expect(403, "forbidden");
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE members SET track = 3 WHERE wallet = '"
	    K2_LOW "'");
	mysql_close(m);
	signin(K2_PRIV, K2_ADDR, "acme", bearer, sizeof(bearer), "3");
	ck_assert_msg(dispatch(&req) == 200, "%s", kg_buf_str(&hresp.body));
	ck_assert(strstr(kg_buf_str(&hresp.body), "\"items\":[]") != NULL);
}
END_TEST

/* M5: registering an app that enrols the wallet is audited as a sign-in. */
START_TEST(apps_register_audits_signin)
{
	char	nonce[33], msg[2048], sig[133], body[4096];

	challenge(K1_ADDR, "newns", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, msg, sig);
	app_body(body, sizeof(body), K1_ADDR, nonce, sig, "newns", msg, "A");
	ck_assert_msg(post("/v1/apps", body) == 201, "%s",
	    kg_buf_str(&hresp.body));
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'signin' AND actor = '" K1_LOW
	    "' AND namespace = 'newns'"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'app_register' AND actor = '" K1_LOW
	    "'"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT track FROM members "
	    "WHERE wallet = '" K1_LOW "'"), 4);
	/* a member registering again: no new sign-in event */
	challenge(K1_ADDR, "newns", nonce, msg, sizeof(msg));
	sign_personal(K1_PRIV, msg, sig);
	app_body(body, sizeof(body), K1_ADDR, nonce, sig, "newns", msg, "B");
	ck_assert_int_eq(post("/v1/apps", body), 201);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'signin'"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'app_register'"), 2);
}
END_TEST

static Suite *
wallet_suite(void)
{
	Suite	*s = suite_create("wallet");
	TCase	*tc;

	tc = tcase_create("nonces");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, nonce_create_consume_once);
	tcase_add_test(tc, nonce_expired_refused);
	tcase_add_test(tc, nonce_single_use_race);
	tcase_add_test(tc, nonce_pending_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("members");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, first_signer_owns);
	tcase_add_test(tc, concurrent_first_signins_one_owner);
	suite_add_tcase(s, tc);

	tc = tcase_create("ratelimit");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rate_bucket_burst_refill);
	tcase_add_test(tc, rate_buckets_in_one_take);
	tcase_add_test(tc, rate_bucket_shared_between_processes);
	suite_add_tcase(s, tc);

	tc = tcase_create("handlers");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, signer_matches_ethers);
	tcase_add_checked_fixture(tc, hsetup, kg_ht_teardown);
	tcase_add_test(tc, challenge_errors);
	tcase_add_test(tc, challenge_rate_limited);
	tcase_add_test(tc, verify_errors_and_success);
	tcase_add_test(tc, verify_race_one_nonce);
	tcase_add_test(tc, verify_nonce_expired);
	tcase_add_test(tc, verify_namespace_not_found);
	tcase_add_test(tc, apps_register_and_list);
	tcase_add_test(tc, field_rules_after_buckets);
	tcase_add_test(tc, wallet_bucket_across_addresses);
	tcase_add_test(tc, pending_cap_counts_live_nonces);
	tcase_add_test(tc, verify_more_refusals);
	tcase_add_test(tc, challenge_other_chain_id);
	tcase_add_test(tc, apps_list_track3_without_admin_scope);
	tcase_add_test(tc, apps_register_audits_signin);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int	rc;

	kg_test_db_require();
	/* HS256 for the sessions the handler tests start; a fixed admin key */
	setenv("KEYGATE_JWT_SECRET", "check_wallet-jwt-secret-0123456789abcdef", 1);
	setenv("KEYGATE_ADMIN_KEY", "check_wallet-admin-key-0123456789abcdef", 1);
	kg_log_init("check_wallet", KG_LOG_WARN, 0);
	rc = kg_test_run(wallet_suite());
	mysql_library_end();
	return rc;
}
