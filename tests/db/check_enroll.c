/*
 * check_enroll.c: install tokens and daemon tokens (SPEC 7) against a
 * real MariaDB: the exchange under 64 racing processes (alone and
 * against the cleanup statement, in the store and through kg_dispatch), expired and used tokens, then every
 * endpoint and error code through kg_dispatch: the whole enrollment
 * story, the daemon-route gate, revocation, namespace isolation, audit.
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "core/api/authn.h"
#include "core/api/ctx.h"
#include "core/api/enroll.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "core/store/enroll.h"
#include "core/store/session.h"
#include "tests/db/dbtest.h"
#include "tests/db/httptest.h"

#define ADMIN	KG_HT_ADMIN
/* kg_test_race's most: the install token race of issue 7. */
#define NRACE	64
#define TOK_LEN	44

#define jget	kg_ht_get
#define jstr	kg_ht_str
#define expect	kg_ht_expect

/* ------------------------------------------------------------ store */

/* prefix + 40 hex of seed (tests only: not random). */
static void
fake_token(const char *tag, unsigned seed, char out[TOK_LEN + 1])
{
	(void)snprintf(out, TOK_LEN + 1, "%s%040x", tag, seed);
}

static uint64_t
store_mint(struct kg_db *db, unsigned long long ns, const char *tok,
    long ttl)
{
	struct kg_install_token	t;
	unsigned char		h[32];

	ck_assert_int_eq(kg_store_token_hash(tok, h), KG_OK);
	ck_assert_int_eq(kg_store_install_create(db, ns, h, "admin", ttl, &t),
	    KG_OK);
	return t.it_id;
}

static enum kg_err
store_exchange(struct kg_db *db, const char *itok, const char *dtok,
    const char *daemon_id, struct kg_daemon_token *out)
{
	unsigned char	ih[32], dh[32];

	ck_assert_int_eq(kg_store_token_hash(itok, ih), KG_OK);
	ck_assert_int_eq(kg_store_token_hash(dtok, dh), KG_OK);
	return kg_store_install_exchange(db, ih, dh, daemon_id, NULL, out);
}

struct race {
	const char	*ra_itok;
	int		 ra_cleanup;	/* racer 0 runs the cleanup instead */
};

/* Exit codes: 0 won, 1 already used, 2 unknown/expired, 3 cleanup ok,
 * else 10 + the kg_err. */
static int
racer(struct kg_db *db, int i, void *arg)
{
	const struct race	*ra = arg;
	struct kg_daemon_token	 dt;
	char			 dtok[TOK_LEN + 1], did[32];
	unsigned long long	 n;
	enum kg_err		 r;

	if (ra->ra_cleanup && i == 0) {
		int	j;

		for (j = 0; j < 20; j++)
			if ((r = kg_store_install_cleanup(db,
			    KG_INSTALL_CLEANUP_GRACE, &n)) != KG_OK)
				return 10 + (int)r;
		return 3;
	}
	fake_token("mdt_", 0x1000u + (unsigned)i, dtok);
	(void)snprintf(did, sizeof(did), "racer-%d", i);
	r = store_exchange(db, ra->ra_itok, dtok, did, &dt);
	if (r == KG_OK)
		return 0;
	if (r == KG_ERR_CONFLICT)
		return 1;
	if (r == KG_ERR_NOT_FOUND)
		return 2;
	return 10 + (int)r;
}

/*
 * The old tokens of race_check: expired two hours ago (past the
 * cleanup's grace).
 */
static void
kg_test_sql_cfg_expire_old(const struct kg_config *cfg)
{
	MYSQL	*m = kg_test_conn(cfg);

	kg_test_sql(m, "UPDATE install_tokens SET expires_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 2 HOUR, created_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 3 HOUR WHERE token_hash <> "
	    "UNHEX(SHA2('mit_%040x', 256))", 0xabcdu);
	mysql_close(m);
}

static void
race_check(const struct kg_config *cfg, int cleanup)
{
	struct race	ra;
	char		itok[TOK_LEN + 1];
	int		codes[NRACE], i, won = 0, used = 0, cleaned = 0;
	unsigned long long ns;
	struct kg_db	*db;

	ns = kg_ht_make_ns(cfg, "acme");
	db = kg_test_db_open(cfg);
	fake_token("mit_", 0xabcdu, itok);
	(void)store_mint(db, ns, itok, 900);
	/* Long-expired rows for the cleanup to delete meanwhile. */
	for (i = 0; i < 5; i++) {
		char	old[TOK_LEN + 1];

		fake_token("mit_", 0x500u + (unsigned)i, old);
		(void)store_mint(db, ns, old, 900);
	}
	kg_test_sql_cfg_expire_old(cfg);
	kg_db_close(db);
	memset(&ra, 0, sizeof(ra));
	ra.ra_itok = itok;
	ra.ra_cleanup = cleanup;
	kg_test_race(cfg, NRACE, racer, &ra, codes);
	for (i = 0; i < NRACE; i++) {
		if (codes[i] == 0)
			won++;
		else if (codes[i] == 1)
			used++;
		else if (codes[i] == 3 && cleanup && i == 0)
			cleaned++;
		else
			ck_abort_msg("racer %d: exit %d", i, codes[i]);
	}
	ck_assert_int_eq(won, 1);
	ck_assert_int_eq(used, NRACE - 1 - cleaned);
	ck_assert_int_eq(cleaned, cleanup ? 1 : 0);
	/* One daemon token, linked both ways; the install token kept. */
	ck_assert_int_eq(kg_test_db_scalar(cfg, "SELECT COUNT(*) FROM "
	    "daemon_tokens"), 1);
	ck_assert_int_eq(kg_test_db_scalar(cfg, "SELECT COUNT(*) FROM "
	    "install_tokens i JOIN daemon_tokens d ON d.id = "
	    "i.daemon_token_id AND d.install_token_id = i.id WHERE "
	    "i.token_hash = UNHEX(SHA2('%s', 256)) AND i.used_at IS NOT NULL",
	    itok), 1);
	ck_assert_int_eq(kg_test_db_scalar(cfg, "SELECT COUNT(*) FROM "
	    "install_tokens"), cleanup ? 1 : 6);
}

START_TEST(store_exchange_race)
{
	struct kg_config	cfg;

	kg_test_db_config(&cfg);
	race_check(&cfg, 0);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* The cleanup statement running all along does not change any answer. */
START_TEST(store_exchange_race_cleanup)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_daemon_token	 dt;
	unsigned long long	 n = 0;
	uint64_t		 did;

	kg_test_db_config(&cfg);
	race_check(&cfg, 1);
	did = (uint64_t)kg_test_db_scalar(&cfg, "SELECT id FROM "
	    "daemon_tokens");
	/* Once the spent token is long expired, cleanup deletes it: the
	 * daemon token lives on. */
	{
		MYSQL	*m = kg_test_conn(&cfg);

		kg_test_sql(m, "UPDATE install_tokens SET expires_at = "
		    "UTC_TIMESTAMP(6) - INTERVAL 2 HOUR");
		mysql_close(m);
	}
	db = kg_test_db_open(&cfg);
	ck_assert_int_eq(kg_store_install_cleanup(db,
	    KG_INSTALL_CLEANUP_GRACE, &n), KG_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "install_tokens"), 0);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "daemon_tokens WHERE id = %llu AND revoked_at IS NULL",
	    (unsigned long long)did), 1);
	{
		char		d[TOK_LEN + 1];
		unsigned char	h[32];
		int		i, found = 0;

		/* Which racer won is unknown: one of their tokens is live. */
		for (i = 1; i < NRACE; i++) {
			fake_token("mdt_", 0x1000u + (unsigned)i, d);
			ck_assert_int_eq(kg_store_token_hash(d, h), KG_OK);
			if (kg_store_daemon_lookup(db, h, &dt) == KG_OK) {
				ck_assert_int_eq(dt.dt_valid, 1);
				ck_assert_uint_eq(dt.dt_id, did);
				found++;
			}
		}
		ck_assert_int_eq(found, 1);
	}
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(store_expired_and_used)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_daemon_token	 dt;
	char			 a[TOK_LEN + 1], b[TOK_LEN + 1], d[TOK_LEN + 1];
	unsigned long long	 ns, n = 9;
	MYSQL			*m;

	kg_test_db_config(&cfg);
	ns = kg_ht_make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	fake_token("mit_", 1, a);
	fake_token("mit_", 2, b);
	fake_token("mdt_", 3, d);
	(void)store_mint(db, ns, a, 900);
	(void)store_mint(db, ns, b, 900);
	/* unknown */
	fake_token("mit_", 4, d);
	ck_assert_int_eq(store_exchange(db, d, d, "x", &dt), KG_ERR_NOT_FOUND);
	fake_token("mdt_", 3, d);
	/* used */
	ck_assert_int_eq(store_exchange(db, a, d, "host-a", &dt), KG_OK);
	ck_assert_str_eq(dt.dt_daemon_id, "host-a");
	ck_assert_str_eq(dt.dt_ns, "acme");
	ck_assert_int_eq(dt.dt_valid, 1);
	fake_token("mdt_", 5, d);
	ck_assert_int_eq(store_exchange(db, a, d, "host-a", &dt),
	    KG_ERR_CONFLICT);
	/* expired, unused: unknown; used then expired: still used */
	m = kg_test_conn(&cfg);
	kg_test_sql(m, "UPDATE install_tokens SET expires_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
	mysql_close(m);
	ck_assert_int_eq(store_exchange(db, b, d, "host-b", &dt),
	    KG_ERR_NOT_FOUND);
	ck_assert_int_eq(store_exchange(db, a, d, "host-a", &dt),
	    KG_ERR_CONFLICT);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "daemon_tokens"), 1);
	/* Within the grace both rows stay. */
	ck_assert_int_eq(kg_store_install_cleanup(db, KG_INSTALL_CLEANUP_GRACE,
	    &n), KG_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(kg_store_install_cleanup(db, 0, &n), KG_OK);
	ck_assert_uint_eq(n, 2);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* ------------------------------------------------------------ handlers */

static unsigned long long	hns;

static void
hsetup(void)
{
	static const struct kg_ht_opts	o = { 1, 1, NULL };

	kg_ht_setup(&o);
	hns = kg_ht_make_ns(&hcfg, "acme");
}

static int
req3(const char *method, const char *path, const char *query,
    const char *cred, const char *xns, const char *body)
{
	char	auth[8400];

	if (cred != NULL)
		snprintf(auth, sizeof(auth), "Bearer %s", cred);
	return kg_ht_call(method, path, query, cred != NULL ? auth : NULL, xns,
	    "application/json", body);
}

static int
call(const char *method, const char *path, const char *cred,
    const char *body)
{
	return req3(method, path, NULL, cred, NULL, body);
}

/* Admin mints an install token of ns into tok. */
static void
mint(const char *ns, char tok[TOK_LEN + 1])
{
	char	path[128];

	(void)snprintf(path, sizeof(path), "/v1/namespaces/%s/install-tokens",
	    ns);
	ck_assert_int_eq(call("POST", path, ADMIN, NULL), 201);
	ck_assert_uint_eq(strlen(jstr("token")), TOK_LEN);
	memcpy(tok, jstr("token"), TOK_LEN + 1);
}

/* Exchanges tok for daemon_id: the status; dtok gets the mdt_ on 200. */
static int
exchange(const char *tok, const char *daemon_id, char dtok[TOK_LEN + 1])
{
	char	body[512];
	int	st;

	(void)snprintf(body, sizeof(body),
	    "{\"token\":\"%s\",\"daemon_id\":\"%s\"}", tok, daemon_id);
	st = call("POST", "/v1/install-tokens/exchange", NULL, body);
	if (st == 200 && dtok != NULL) {
		ck_assert_uint_eq(strlen(jstr("token")), TOK_LEN);
		memcpy(dtok, jstr("token"), TOK_LEN + 1);
	}
	return st;
}

static int
hex40(const char *s)
{
	return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

/* Racer i's exchange body: the token of arg, its own daemon id. */
static void
exchange_body(int i, char *buf, size_t len, void *arg)
{
	(void)snprintf(buf, len, "{\"token\":\"%s\",\"daemon_id\":"
	    "\"racer-%d\"}", (const char *)arg, i);
}

/*
 * NRACE processes POST /v1/install-tokens/exchange with one install token
 * at once, each through kg_dispatch on a context (and connection) of its
 * own.  Exactly one gets 200 and its daemon token; every other one gets
 * SPEC 7's 401 install_token_already_used, nothing else.
 */

START_TEST(http_exchange_race)
{
	static const struct kg_ht_outcome out[] = {
		{ 200, NULL }, { 401, "install_token_already_used" },
	};
	char	tok[TOK_LEN + 1];
	int	n[2];

	mint("acme", tok);
	kg_ht_race(NRACE, "POST", "/v1/install-tokens/exchange",
	    exchange_body, tok, out, 2, n);
	ck_assert_int_eq(n[0], 1);
	ck_assert_int_eq(n[1], NRACE - 1);
	/* One daemon token, the winner's, linked to the spent install token. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "daemon_tokens"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "install_tokens i JOIN daemon_tokens d ON d.id = "
	    "i.daemon_token_id WHERE i.used_at IS NOT NULL"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'install_token_exchange'"), 1);
}
END_TEST

START_TEST(http_mint_contract)
{
	char	tok[TOK_LEN + 1];

	mint("acme", tok);
	ck_assert_int_eq(strncmp(tok, "mit_", 4), 0);
	ck_assert(hex40(tok + 4));
	ck_assert_int_eq(hresp.no_store, 1);
	ck_assert_str_eq(jstr("namespace"), "acme");
	ck_assert_ptr_nonnull(jget(hjson, "id"));
	ck_assert_ptr_nonnull(strstr(jstr("created_at"), "Z"));
	/* install_token_ttl (15 min) decides expires_at, in SQL. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT TIMESTAMPDIFF("
	    "SECOND, created_at, expires_at) FROM install_tokens WHERE "
	    "token_hash = UNHEX(SHA2('%s', 256))", tok), 900);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "install_tokens WHERE created_by = 'admin'"), 1);
	/* Unknown namespace: 404 after authorisation; a body member: 400. */
	ck_assert_int_eq(call("POST", "/v1/namespaces/nope/install-tokens",
	    ADMIN, NULL), 404);
	expect(404, "namespace_not_found");
	ck_assert_int_eq(call("POST", "/v1/namespaces/acme/install-tokens",
	    ADMIN, "{\"ttl\":5}"), 400);
	ck_assert_int_eq(call("POST", "/v1/namespaces/acme/install-tokens",
	    ADMIN, "{}"), 201);
	/* Without a credential. */
	ck_assert_int_eq(call("POST", "/v1/namespaces/acme/install-tokens",
	    NULL, NULL), 401);
}
END_TEST

START_TEST(http_exchange_errors)
{
	static const char *const bad400[] = {
		"not json",
		"{\"token\":\"mit_\xff\",\"daemon_id\":\"a\"}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]"
		    "]]]]]]]]]]]]",
		"{\"token\":\"mit_0000000000000000000000000000000000000001\","
		    "\"daemon_id\":\"a\",\"extra\":1}",
		"{\"daemon_id\":\"a\"}",
		"{\"token\":5,\"daemon_id\":\"a\"}",
		"{\"token\":\"mit_0000000000000000000000000000000000000001\","
		    "\"daemon_id\":7}",
		"{\"token\":\"mdt_0000000000000000000000000000000000000001\","
		    "\"daemon_id\":\"a\"}",
		"{\"token\":\"mit_000000000000000000000000000000000000000A\","
		    "\"daemon_id\":\"a\"}",
		"{\"token\":\"mit_000000000000000000000000000000000000001\","
		    "\"daemon_id\":\"a\"}",
		/* checked first: a bad token with no daemon_id */
		"{\"token\":\"kg_sk_x\"}",
		"",
		NULL
	};
	static const char *const baddaemon[] = {
		"",
		",\"daemon_id\":null",
		",\"daemon_id\":\"\"",
		",\"daemon_id\":\"   \"",
		",\"daemon_id\":\"a\\u0001b\"",
		",\"daemon_id\":\"h\\u00e9\"",
		",\"daemon_id\":\"a\\u007fb\"",
		/* 129 characters */
		",\"daemon_id\":\"0000000000000000000000000000000000000000000"
		    "0000000000000000000000000000000000000000000000000000000000"
		    "0000000000000000000000000000\"",
		NULL
	};
	char	tok[TOK_LEN + 1], exp[TOK_LEN + 1], dtok[TOK_LEN + 1];
	char	body[1024], unk[TOK_LEN + 1];
	MYSQL	*m;
	int	i;

	mint("acme", tok);
	mint("acme", exp);
	for (i = 0; bad400[i] != NULL; i++) {
		ck_assert_msg(call("POST", "/v1/install-tokens/exchange", NULL,
		    bad400[i]) == 400, "body %d", i);
		expect(400, "invalid_install_token");
	}
	for (i = 0; baddaemon[i] != NULL; i++) {
		(void)snprintf(body, sizeof(body), "{\"token\":\"%s\"%s}", tok,
		    baddaemon[i]);
		ck_assert_msg(call("POST", "/v1/install-tokens/exchange", NULL,
		    body) == 400, "body %d", i);
		expect(400, "daemon_id_required");
	}
	/* 128 characters are fine (below). Unknown: 401. */
	fake_token("mit_", 77, unk);
	ck_assert_int_eq(exchange(unk, "a", NULL), 401);
	expect(401, "invalid_install_token");
	/* Expired: 401 invalid_install_token, not used. */
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE install_tokens SET expires_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE token_hash = "
	    "UNHEX(SHA2('%s', 256))", exp);
	mysql_close(m);
	ck_assert_int_eq(exchange(exp, "a", NULL), 401);
	expect(401, "invalid_install_token");
	/* None of the refusals spent the good token. */
	(void)snprintf(body, sizeof(body), "%0128d", 0);
	ck_assert_int_eq(exchange(tok, body, dtok), 200);
	ck_assert_int_eq(hresp.no_store, 1);
	ck_assert_int_eq(strncmp(dtok, "mdt_", 4), 0);
	ck_assert(hex40(dtok + 4));
	ck_assert_str_eq(jstr("namespace"), "acme");
	ck_assert_str_eq(jstr("daemon_id"), body);
	ck_assert_str_eq(jstr("expires_at"), "9999-12-31T00:00:00Z");
	ck_assert_int_eq(exchange(tok, "b", NULL), 401);
	expect(401, "install_token_already_used");
	/* Used: reported as used even once expired. */
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE install_tokens SET expires_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
	mysql_close(m);
	ck_assert_int_eq(exchange(tok, "b", NULL), 401);
	expect(401, "install_token_already_used");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "daemon_tokens"), 1);
	/* Only the hash of the daemon token is stored. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "daemon_tokens WHERE token_hash = UNHEX(SHA2('%s', 256))", dtok),
	    1);
}
END_TEST

/* admin mints, daemon exchanges, whoami, heartbeat, revoke, 401. */
START_TEST(http_enrollment_story)
{
	char		tok[TOK_LEN + 1], dtok[TOK_LEN + 1], path[128];
	long long	id;

	mint("acme", tok);
	ck_assert_int_eq(exchange(tok, "host-1.example", dtok), 200);
	id = kg_test_db_scalar(&hcfg, "SELECT id FROM daemon_tokens");
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", dtok, NULL), 200);
	ck_assert_str_eq(jstr("daemon_id"), "host-1.example");
	ck_assert_str_eq(jstr("namespace"), "acme");
	ck_assert_int_eq(json_object_get_int64(jget(hjson, "id")), id);
	ck_assert_ptr_null(strstr(kg_buf_str(&hresp.body), dtok + 4));
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", dtok, NULL), 200);
	ck_assert_str_eq(jstr("method"), "daemon_token");
	ck_assert_str_eq(jstr("namespace"), "acme");
	ck_assert_int_eq(strncmp(jstr("subject"), "daemon:", 7), 0);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "scopes")), 0);
	/* heartbeat: last_seen_at recorded */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "daemon_tokens WHERE last_seen_at IS NULL"), 1);
	ck_assert_int_eq(call("POST", "/v1/daemon/heartbeat", dtok, NULL),
	    200);
	ck_assert_ptr_nonnull(strstr(jstr("last_seen_at"), "Z"));
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "daemon_tokens WHERE last_seen_at > UTC_TIMESTAMP(6) - INTERVAL "
	    "1 MINUTE AND last_used_at IS NOT NULL"), 1);
	/*
	 * last_used_at: written at most every KG_DAEMON_TOUCH_INTERVAL
	 * (30 s) by a full validation (check_authcache: the cache's touch).
	 */
	{
		MYSQL	*m = kg_test_conn(&hcfg);

		kg_ht_cache_off();
		kg_test_sql(m, "UPDATE daemon_tokens SET last_used_at = "
		    "UTC_TIMESTAMP(6) - INTERVAL 20 SECOND");
		ck_assert_int_eq(call("GET", "/v1/daemon/whoami", dtok, NULL),
		    200);
		ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) "
		    "FROM daemon_tokens WHERE last_used_at < UTC_TIMESTAMP(6) - "
		    "INTERVAL 19 SECOND"), 1);
		kg_test_sql(m, "UPDATE daemon_tokens SET last_used_at = "
		    "UTC_TIMESTAMP(6) - INTERVAL 31 SECOND");
		mysql_close(m);
		ck_assert_int_eq(call("GET", "/v1/daemon/whoami", dtok, NULL),
		    200);
		ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) "
		    "FROM daemon_tokens WHERE last_used_at > UTC_TIMESTAMP(6) - "
		    "INTERVAL 10 SECOND"), 1);
	}
	/* list */
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/daemon-tokens",
	    ADMIN, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 1);
	ck_assert_str_eq(json_object_get_string(jget(json_object_array_get_idx(
	    jget(hjson, "items"), 0), "daemon_id")), "host-1.example");
	ck_assert_ptr_null(strstr(kg_buf_str(&hresp.body), dtok + 4));
	/* revoke: at once */
	(void)snprintf(path, sizeof(path),
	    "/v1/namespaces/acme/daemon-tokens/%lld", id);
	ck_assert_int_eq(call("DELETE", path, ADMIN, NULL), 200);
	ck_assert_ptr_nonnull(strstr(jstr("revoked_at"), "Z"));
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", dtok, NULL), 401);
	expect(401, "invalid_token");
	ck_assert_int_eq(call("POST", "/v1/daemon/heartbeat", dtok, NULL),
	    401);
	expect(401, "invalid_token");
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", dtok, NULL), 401);
	ck_assert_int_eq(call("DELETE", path, ADMIN, NULL), 404);
	expect(404, "not_found");
	ck_assert_int_eq(call("DELETE",
	    "/v1/namespaces/acme/daemon-tokens/0x1", ADMIN, NULL), 404);
	/* still listed, revoked */
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/daemon-tokens",
	    ADMIN, NULL), 200);
	ck_assert_ptr_nonnull(strstr(json_object_get_string(jget(
	    json_object_array_get_idx(jget(hjson, "items"), 0),
	    "revoked_at")), "Z"));
	/* the same install token again */
	ck_assert_int_eq(exchange(tok, "host-1.example", NULL), 401);
	expect(401, "install_token_already_used");
}
END_TEST

START_TEST(http_daemon_route_gate)
{
	struct kg_session_tokens	st;
	char				tok[TOK_LEN + 1], dtok[TOK_LEN + 1];
	char				sk[256], bad[TOK_LEN + 1];

	mint("acme", tok);
	ck_assert_int_eq(exchange(tok, "d1", dtok), 200);
	/* A daemon token elsewhere: 403. */
	ck_assert_int_eq(call("GET", "/v1/keys", dtok, NULL), 403);
	expect(403, "forbidden");
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/daemon-tokens",
	    dtok, NULL), 403);
	ck_assert_int_eq(call("POST", "/v1/namespaces/acme/install-tokens",
	    dtok, NULL), 403);
	/* Other credentials on the daemon routes: 403. */
	ck_assert_int_eq(req3("GET", "/v1/daemon/whoami", NULL, ADMIN, "acme",
	    NULL), 403);
	memset(&st, 0, sizeof(st));
	kg_ht_start(hns, "acme", "0x52908400098527886e0f7030069857d2e4169ee7",
	    3, &st);
	ck_assert_int_eq(call("POST", "/v1/daemon/heartbeat", kg_buf_str(&st.st_access),
	    NULL), 403);
	ck_assert_int_eq(req3("POST", "/v1/keys", NULL, ADMIN, "acme",
	    "{\"name\":\"k\",\"scopes\":[\"admin\"]}"), 201);
	(void)snprintf(sk, sizeof(sk), "%s", jstr("secret"));
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", sk, NULL), 403);
	/* An API key with admin mints install tokens; created_by names it. */
	ck_assert_int_eq(call("POST", "/v1/namespaces/acme/install-tokens", sk,
	    NULL), 201);
	/* An install token, a malformed or unknown daemon token: 401. */
	mint("acme", tok);
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", tok, NULL), 401);
	expect(401, "invalid_token");
	ck_assert_int_eq(exchange(tok, "d2", NULL), 200);
	(void)snprintf(bad, sizeof(bad), "%s", dtok);
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", bad, NULL), 401);
	expect(401, "invalid_token");
	bad[10] = 'A';
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", bad, NULL), 401);
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", NULL, NULL), 401);
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", dtok, NULL), 200);
	kg_buf_free(&st.st_access);
}
END_TEST

/* RFC 7662 for daemon tokens: active while live, in the caller's namespace. */
START_TEST(http_introspect)
{
	char		tok[TOK_LEN + 1], dtok[TOK_LEN + 1], body[256];
	char		path[128], key[KG_TOKEN_MAX];
	long long	id;

	(void)kg_ht_make_ns(&hcfg, "beta");
	mint("acme", tok);
	ck_assert_int_eq(exchange(tok, "host-7", dtok), 200);
	id = kg_test_db_scalar(&hcfg, "SELECT id FROM daemon_tokens");
	(void)snprintf(body, sizeof(body), "{\"token\":\"%s\"}", dtok);
	ck_assert_int_eq(call("POST", "/v1/auth/introspect", ADMIN, body), 200);
	ck_assert(json_object_get_boolean(jget(hjson, "active")));
	ck_assert_str_eq(jstr("token_type"), "daemon_token");
	ck_assert_str_eq(jstr("ns"), "acme");
	ck_assert_str_eq(jstr("daemon_id"), "host-7");
	ck_assert_str_eq(jstr("scope"), "");
	/* A caller of another namespace learns nothing. */
	ck_assert_int_eq(req3("POST", "/v1/keys", NULL, ADMIN, "beta",
	    "{\"name\":\"i\",\"scopes\":[\"introspect\"]}"), 201);
	(void)snprintf(key, sizeof(key), "%s", jstr("secret"));
	ck_assert_int_eq(call("POST", "/v1/auth/introspect", key, body), 200);
	ck_assert_str_eq(kg_buf_str(&hresp.body), "{\"active\":false}");
	/* The install token is no credential to introspect; revoked: inactive. */
	(void)snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tok);
	ck_assert_int_eq(call("POST", "/v1/auth/introspect", ADMIN, body), 200);
	ck_assert_str_eq(kg_buf_str(&hresp.body), "{\"active\":false}");
	(void)snprintf(path, sizeof(path),
	    "/v1/namespaces/acme/daemon-tokens/%lld", id);
	ck_assert_int_eq(call("DELETE", path, ADMIN, NULL), 200);
	(void)snprintf(body, sizeof(body), "{\"token\":\"%s\"}", dtok);
	ck_assert_int_eq(call("POST", "/v1/auth/introspect", ADMIN, body), 200);
	ck_assert_str_eq(kg_buf_str(&hresp.body), "{\"active\":false}");
}
END_TEST

START_TEST(http_namespace_isolation)
{
	struct kg_session_tokens	st;
	char				tok[TOK_LEN + 1], dtok[TOK_LEN + 1];
	char				path[128];
	unsigned long long		beta;
	long long			id;

	beta = kg_ht_make_ns(&hcfg, "beta");
	mint("acme", tok);
	ck_assert_int_eq(exchange(tok, "d1", dtok), 200);
	id = kg_test_db_scalar(&hcfg, "SELECT id FROM daemon_tokens");
	memset(&st, 0, sizeof(st));
	kg_ht_start(beta, "beta", "0x52908400098527886e0f7030069857d2e4169ee7",
	    3, &st);
	/* beta's admin on acme's routes: 403, audited under acme. */
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/daemon-tokens",
	    kg_buf_str(&st.st_access), NULL), 403);
	(void)snprintf(path, sizeof(path),
	    "/v1/namespaces/acme/daemon-tokens/%lld", id);
	ck_assert_int_eq(call("DELETE", path, kg_buf_str(&st.st_access), NULL), 403);
	ck_assert_int_eq(call("POST", "/v1/namespaces/acme/install-tokens",
	    kg_buf_str(&st.st_access), NULL), 403);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'acme' AND outcome = 'denied' AND "
	    "action IN ('daemon_token_list', 'daemon_token_revoke', "
	    "'install_token_create')"), 3);
	/* acme's token id under beta: 404, like one that does not exist. */
	(void)snprintf(path, sizeof(path),
	    "/v1/namespaces/beta/daemon-tokens/%lld", id);
	ck_assert_int_eq(call("DELETE", path, kg_buf_str(&st.st_access), NULL), 404);
	ck_assert_int_eq(call("GET", "/v1/namespaces/beta/daemon-tokens",
	    kg_buf_str(&st.st_access), NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 0);
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", dtok, NULL), 200);
	/* A track-1 member of acme is no admin there. */
	kg_buf_free(&st.st_access);
	kg_ht_start(hns, "acme", "0x0000000000000000000000000000000000000001",
	    1, &st);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/daemon-tokens",
	    kg_buf_str(&st.st_access), NULL), 403);
	kg_buf_free(&st.st_access);
}
END_TEST

START_TEST(http_audit_no_secret)
{
	char	tok[TOK_LEN + 1], dtok[TOK_LEN + 1], path[128];
	long long id;

	mint("acme", tok);
	ck_assert_int_eq(exchange(tok, "d1", dtok), 200);
	id = kg_test_db_scalar(&hcfg, "SELECT id FROM daemon_tokens");
	(void)snprintf(path, sizeof(path),
	    "/v1/namespaces/acme/daemon-tokens/%lld", id);
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", dtok, NULL), 200);
	ck_assert_int_eq(call("DELETE", path, ADMIN, NULL), 200);
	/* Again: nothing live to revoke, audited as failed (as members and
	 * org tokens are). */
	ck_assert_int_eq(call("DELETE", path, ADMIN, NULL), 404);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'acme' AND outcome = 'failed' AND "
	    "action = 'daemon_token_revoke' AND target = 'daemon_token:%lld'",
	    id), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'acme' AND outcome = 'ok' AND "
	    "action IN ('install_token_create', 'install_token_exchange', "
	    "'daemon_token_revoke')"), 3);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'install_token_exchange' AND "
	    "target = 'daemon_token:%lld' AND actor_type = 'install_token'",
	    id), 1);
	/* Neither secret, nor any 8 hex of it, in any audit row. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE CONCAT_WS('|', actor, actor_type, action, "
	    "target, remote_addr, outcome) LIKE '%%%.8s%%' OR CONCAT_WS('|', "
	    "actor, target) LIKE '%%%.8s%%'", tok + 4, dtok + 4), 0);
}
END_TEST

START_TEST(http_list_paging)
{
	char	tok[TOK_LEN + 1], cur[32];
	int	i;

	for (i = 0; i < 3; i++) {
		mint("acme", tok);
		ck_assert_int_eq(exchange(tok, "d", NULL), 200);
	}
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/daemon-tokens",
	    "limit=2", ADMIN, NULL, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 2);
	(void)snprintf(cur, sizeof(cur), "cursor=%s", jstr("next_cursor"));
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/daemon-tokens",
	    cur, ADMIN, NULL, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 1);
	ck_assert_ptr_null(jget(hjson, "next_cursor") == NULL ? NULL :
	    json_object_get_string(jget(hjson, "next_cursor")));
	/* A page holding exactly the last rows has no cursor (SPEC 1). */
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/daemon-tokens",
	    "limit=3", ADMIN, NULL, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 3);
	ck_assert(json_object_is_type(jget(hjson, "next_cursor"),
	    json_type_null));
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/daemon-tokens",
	    "limit=2", ADMIN, NULL, NULL), 200);
	(void)snprintf(cur, sizeof(cur), "limit=1&cursor=%s",
	    jstr("next_cursor"));
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/daemon-tokens",
	    cur, ADMIN, NULL, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 1);
	ck_assert(json_object_is_type(jget(hjson, "next_cursor"),
	    json_type_null));
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/daemon-tokens",
	    "limit=0", ADMIN, NULL, NULL), 400);
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/daemon-tokens",
	    "cursor=x", ADMIN, NULL, NULL), 400);
}
END_TEST

/* The exchange takes the client address bucket (SPEC 12). */
START_TEST(http_exchange_rate_limited)
{
	char	unk[TOK_LEN + 1];
	int	i, limited = 0;

	hcfg.rate_ip_rate = 1;
	hcfg.rate_ip_burst = 3;
	fake_token("mit_", 9, unk);
	for (i = 0; i < 6; i++)
		if (exchange(unk, "a", NULL) == 429)
			limited++;
	ck_assert_int_ge(limited, 2);
	expect(429, "rate_limited");
}
END_TEST

/* Database down: a daemon token is never granted (503). */
START_TEST(http_daemon_db_down_fails_closed)
{
	char	tok[TOK_LEN + 1], dtok[TOK_LEN + 1];
	char	sock[] = "/nonexistent/keygate-test.sock";
	char	*saved;

	mint("acme", tok);
	ck_assert_int_eq(exchange(tok, "d", dtok), 200);
	saved = hcfg.db_socket;
	hcfg.db_socket = sock;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", dtok, NULL), 503);
	hcfg.db_socket = saved;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(call("GET", "/v1/daemon/whoami", dtok, NULL), 200);
}
END_TEST

static Suite *
enroll_suite(void)
{
	Suite	*s = suite_create("enroll");
	TCase	*tc = tcase_create("store");
	TCase	*th = tcase_create("http");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, store_exchange_race, 0, 3);
	tcase_add_loop_test(tc, store_exchange_race_cleanup, 0, 3);
	tcase_add_test(tc, store_expired_and_used);
	suite_add_tcase(s, tc);
	tcase_set_timeout(th, 60);
	tcase_add_checked_fixture(th, hsetup, kg_ht_teardown);
	tcase_add_test(th, http_mint_contract);
	tcase_add_test(th, http_exchange_race);
	tcase_add_test(th, http_exchange_errors);
	tcase_add_test(th, http_enrollment_story);
	tcase_add_test(th, http_daemon_route_gate);
	tcase_add_test(th, http_namespace_isolation);
	tcase_add_test(th, http_introspect);
	tcase_add_test(th, http_audit_no_secret);
	tcase_add_test(th, http_list_paging);
	tcase_add_test(th, http_exchange_rate_limited);
	tcase_add_test(th, http_daemon_db_down_fails_closed);
	suite_add_tcase(s, th);
	return s;
}

int
main(void)
{
	kg_test_db_require();
	return kg_test_run(enroll_suite());
}
