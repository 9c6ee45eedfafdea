/*
 * check_apikey.c: API keys (SPEC 6, the wallet key of SPEC 4, token
 * exchange and introspection of SPEC 5) against a real MariaDB: the
 * store (hash only, namespace isolation, list filters and paging, the
 * revoke transition, last_used_at, the wallet cap under concurrent
 * processes), then every endpoint and error code through kg_dispatch.
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "core/api/authcache.h"
#include "core/api/authn.h"
#include "core/api/ctx.h"
#include "core/api/router.h"
#include "core/api/wallet.h"
#include "core/crypto/token.h"
#include "core/store/apikey.h"
#include "core/store/db.h"
#include "core/store/session.h"
#include "tests/db/dbtest.h"
#include "tests/db/httptest.h"

#define ADMIN	KG_HT_ADMIN
#define WALLET	"0x52908400098527886e0f7030069857d2e4169ee7"
#define NRACE	8
#define CAP	3
/* verify's five members and the callers' own (kg_wallet_signed_run) */
#define SIGNED_FIELDS_MAX	(5 + KG_WALLET_EXTRA_MAX)

/* ------------------------------------------------------------ store */

/* Mints a key in ns_id; secret and the stored row come back. */
static enum kg_err
new_key(struct kg_db *db, unsigned long long ns_id, const char *scopes,
    const char *projects, const char *wallet, long max, long expires_in,
    char secret[KG_TOKEN_MAX], struct kg_apikey *k)
{
	struct kg_apikey_new	kn;
	unsigned char		h[32];
	char			id8[KG_TOKEN_ID_LEN + 1];

	ck_assert_int_eq(kg_token_mint("kg", "sk", secret, id8), KG_OK);
	ck_assert_int_eq(kg_store_token_hash(secret, h), KG_OK);
	memset(&kn, 0, sizeof(kn));
	kn.kn_ns_id = ns_id;
	kn.kn_id8 = id8;
	kn.kn_hash = h;
	kn.kn_name = "ci key ✓";
	kn.kn_scopes = scopes;
	kn.kn_projects = projects;
	kn.kn_wallet = wallet;
	kn.kn_created_by = "admin";
	kn.kn_expires_in = expires_in;
	kn.kn_wallet_max = max;
	return kg_store_apikey_create(db, &kn, k);
}

START_TEST(store_create_lookup_hash_only)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_apikey	 k, l;
	char			 sec[KG_TOKEN_MAX];
	unsigned char		 h[32];
	unsigned long long	 ns;

	kg_test_db_config(&cfg);
	ns = kg_ht_make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	ck_assert_int_eq(new_key(db, ns, "projects:read keys:read", "p1 p2",
	    NULL, 0, 3600, sec, &k), KG_OK);
	ck_assert_uint_gt(k.ak_id, 0);
	ck_assert_str_eq(k.ak_ns, "acme");
	ck_assert_int_eq(strncmp(sec + 6, k.ak_id8, 8), 0);
	ck_assert_str_eq(k.ak_name, "ci key ✓");
	ck_assert_str_eq(k.ak_scopes, "projects:read keys:read");
	ck_assert_int_eq(k.ak_all_projects, 0);
	ck_assert_str_eq(k.ak_projects, "p1 p2");
	ck_assert(k.ak_expires_us - k.ak_created_us == 3600LL * 1000000);
	ck_assert_int_eq(k.ak_expired, 0);
	ck_assert_int_eq(k.ak_revoked_us, 0);
	/* Only SHA-256(secret) is stored; the secret is nowhere. */
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "api_keys WHERE token_hash = UNHEX(SHA2('%s', 256))", sec), 1);
	ck_assert_int_eq(kg_store_token_hash(sec, h), KG_OK);
	ck_assert_int_eq(kg_store_apikey_lookup(db, h, &l), KG_OK);
	ck_assert_uint_eq(l.ak_id, k.ak_id);
	ck_assert_str_eq(l.ak_projects, "p1 p2");
	h[0] ^= 1;
	ck_assert_int_eq(kg_store_apikey_lookup(db, h, &l), KG_ERR_NOT_FOUND);
	/* null projects: every project; never expires. */
	ck_assert_int_eq(new_key(db, ns, "admin", NULL, NULL, 0, 0, sec, &k),
	    KG_OK);
	ck_assert_int_eq(k.ak_all_projects, 1);
	ck_assert_int_eq(k.ak_expires_us, 0);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "api_keys WHERE id = %llu AND project_ids IS NULL AND "
	    "expires_at IS NULL", (unsigned long long)k.ak_id), 1);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(store_namespace_isolation)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_apikey	 a, b, g;
	char			 sec[KG_TOKEN_MAX];
	unsigned long long	 na, nb;
	int64_t			 at = 0;
	size_t			 n = 99;

	kg_test_db_config(&cfg);
	na = kg_ht_make_ns(&cfg, "alpha");
	nb = kg_ht_make_ns(&cfg, "beta");
	db = kg_test_db_open(&cfg);
	ck_assert_int_eq(new_key(db, na, "keys:read", NULL, NULL, 0, 0, sec,
	    &a), KG_OK);
	ck_assert_int_eq(new_key(db, nb, "keys:read", NULL, NULL, 0, 0, sec,
	    &b), KG_OK);
	/* B's id, guessed from A: as if it did not exist. */
	ck_assert_int_eq(kg_store_apikey_get(db, na, b.ak_id, &g),
	    KG_ERR_NOT_FOUND);
	ck_assert_int_eq(kg_store_apikey_revoke(db, na, b.ak_id, NULL, &at),
	    KG_ERR_NOT_FOUND);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "api_keys WHERE revoked_at IS NULL"), 2);
	ck_assert_int_eq(kg_store_apikey_list(db, na, 1, 0, 100,
	    NULL, NULL, &n), KG_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(kg_store_apikey_get(db, nb, b.ak_id, &g), KG_OK);
	ck_assert_str_eq(g.ak_ns, "beta");
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

struct ids {
	uint64_t	id[16];
	size_t		n;
};

static enum kg_err
collect(const struct kg_apikey *k, void *arg)
{
	struct ids	*o = arg;

	if (o->n < 16)
		o->id[o->n++] = k->ak_id;
	return KG_OK;
}

START_TEST(store_list_filters_paging_revoke)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_apikey	 k[5], g;
	struct ids		 o;
	char			 sec[KG_TOKEN_MAX];
	unsigned long long	 ns;
	int64_t			 at = 0;
	size_t			 n = 0;
	int			 i;

	kg_test_db_config(&cfg);
	ns = kg_ht_make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(new_key(db, ns, "keys:read", NULL, NULL, 0,
		    3600, sec, &k[i]), KG_OK);
	/* Newest first, paged by "before". */
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(kg_store_apikey_list(db, ns, 0, 0, 2, collect, &o,
	    &n), KG_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(o.id[0], k[4].ak_id);
	ck_assert_uint_eq(o.id[1], k[3].ak_id);
	ck_assert_int_eq(kg_store_apikey_list(db, ns, 0, o.id[1], 2, collect,
	    &o, &n), KG_OK);
	ck_assert_uint_eq(o.id[2], k[2].ak_id);
	ck_assert_uint_eq(o.id[3], k[1].ak_id);
	/* Revoke: live -> revoked once; again is NOT_FOUND. */
	ck_assert_int_eq(kg_store_apikey_revoke(db, ns, k[4].ak_id, NULL, &at),
	    KG_OK);
	ck_assert(at > 0);
	ck_assert_int_eq(kg_store_apikey_revoke(db, ns, k[4].ak_id, NULL, &at),
	    KG_ERR_NOT_FOUND);
	ck_assert_int_eq(kg_store_apikey_get(db, ns, k[4].ak_id, &g), KG_OK);
	ck_assert(g.ak_revoked_us > 0);
	/* Expired (by the database clock); it can still be revoked. */
	{
		MYSQL *m = kg_test_conn(&cfg);

		kg_test_sql(m, "UPDATE api_keys SET expires_at = "
		    "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE id = %llu",
		    (unsigned long long)k[3].ak_id);
		mysql_close(m);
	}
	ck_assert_int_eq(kg_store_apikey_get(db, ns, k[3].ak_id, &g), KG_OK);
	ck_assert_int_eq(g.ak_expired, 1);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(kg_store_apikey_list(db, ns, 0, 0, 100, collect, &o,
	    &n), KG_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(o.id[0], k[2].ak_id);
	ck_assert_int_eq(kg_store_apikey_list(db, ns, 1, 0, 100, NULL, NULL,
	    &n), KG_OK);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(kg_store_apikey_revoke(db, ns, k[3].ak_id, NULL, &at),
	    KG_OK);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(store_touch_at_most_every_minute)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_apikey	 k, l;
	char			 sec[KG_TOKEN_MAX];
	unsigned char		 h[32];
	unsigned long long	 ns;
	MYSQL			*m;

	kg_test_db_config(&cfg);
	ns = kg_ht_make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	ck_assert_int_eq(new_key(db, ns, "keys:read", NULL, NULL, 0, 0, sec,
	    &k), KG_OK);
	ck_assert_int_eq(k.ak_touch_due, 1);
	ck_assert_int_eq(kg_store_apikey_touch(db, k.ak_id), KG_OK);
	ck_assert_int_eq(kg_store_token_hash(sec, h), KG_OK);
	ck_assert_int_eq(kg_store_apikey_lookup(db, h, &l), KG_OK);
	ck_assert(l.ak_last_used_us > 0);
	ck_assert_int_eq(l.ak_touch_due, 0);
	m = kg_test_conn(&cfg);
	kg_test_sql(m, "UPDATE api_keys SET last_used_at = UTC_TIMESTAMP(6) - "
	    "INTERVAL 61 SECOND");
	mysql_close(m);
	ck_assert_int_eq(kg_store_apikey_lookup(db, h, &l), KG_OK);
	ck_assert_int_eq(l.ak_touch_due, 1);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* N processes mint a wallet key at once: exactly CAP get one. */
START_TEST(store_wallet_cap_race)
{
	struct kg_config	 cfg;
	unsigned long long	 ns;
	pid_t			 pids[NRACE];
	int			 gate[2], i, status, ok = 0, full = 0;
	char			 b;

	kg_test_db_config(&cfg);
	ns = kg_ht_make_ns(&cfg, "acme");
	ck_assert_int_eq(pipe(gate), 0);
	for (i = 0; i < NRACE; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0) {
			struct kg_db	*db = NULL;
			struct kg_apikey k;
			char		 sec[KG_TOKEN_MAX];
			enum kg_err	 r;

			/* Connected before the gate: the mints overlap. */
			if (kg_db_open(&db, &cfg) != KG_OK ||
			    kg_db_ping(db) != KG_OK)
				_exit(100);
			close(gate[1]);
			while (read(gate[0], &b, 1) < 0 && errno == EINTR)
				continue;
			r = new_key(db, ns, "projects:read", NULL, WALLET, CAP,
			    0, sec, &k);
			kg_db_close(db);
			_exit((int)r);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (i = 0; i < NRACE; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		if (WEXITSTATUS(status) == KG_OK)
			ok++;
		else if (WEXITSTATUS(status) == KG_ERR_TOO_LARGE)
			full++;
		else
			ck_abort_msg("racer %d: %d", i, WEXITSTATUS(status));
	}
	ck_assert_int_eq(ok, CAP);
	ck_assert_int_eq(full, NRACE - CAP);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "api_keys WHERE wallet = '%s'", WALLET), CAP);
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

/* One request; cred is a raw credential (sent as Bearer) or NULL. */
static int
req3(const char *method, const char *path, const char *query,
    const char *cred, const char *xns, const char *ctype, const char *body)
{
	char	auth[8400];

	if (cred != NULL)
		snprintf(auth, sizeof(auth), "Bearer %s", cred);
	return kg_ht_call(method, path, query, cred != NULL ? auth : NULL, xns,
	    ctype != NULL ? ctype : "application/json", body);
}

static int
call(const char *method, const char *path, const char *cred,
    const char *body)
{
	return req3(method, path, NULL, cred, NULL, NULL, body);
}

/* As the global admin in namespace acme. */
static int
admin(const char *method, const char *path, const char *body)
{
	return req3(method, path, NULL, ADMIN, "acme", NULL, body);
}

/* The harness's, under the short names every test below uses. */
#define jget		kg_ht_get
#define jstr		kg_ht_str
#define expect		kg_ht_expect
#define sign_personal	kg_ht_sign_personal

static const char *
kstr(const char *member)
{
	json_object	*v = jget(jget(hjson, "key"), member);

	return v != NULL ? json_object_get_string(v) : "";
}

/* Mints a key as the admin in acme: secret into sec, id into *id. */
static void
mint(const char *body, char sec[KG_TOKEN_MAX], long long *id)
{
	ck_assert_msg(admin("POST", "/v1/keys", body) == 201, "%s",
	    kg_buf_str(&hresp.body));
	snprintf(sec, KG_TOKEN_MAX, "%s", jstr("secret"));
	if (id != NULL)
		*id = json_object_get_int64(jget(jget(hjson, "key"), "id"));
}

START_TEST(http_crud_and_use)
{
	char		sec[KG_TOKEN_MAX], path[64], id8[9];
	long long	id;

	mint("{\"name\":\"ci\",\"scopes\":[\"keys:read\",\"keys:write\","
	    "\"keys:read\"],\"expires_in\":\"30d\"}", sec, &id);
	ck_assert_int_eq(hresp.no_store, 1);
	ck_assert_int_eq(strncmp(sec, "kg_sk_", 6), 0);
	ck_assert_int_eq(kg_token_parse(sec, &(struct kg_token){0}), KG_OK);
	snprintf(id8, sizeof(id8), "%.8s", sec + 6);
	ck_assert_str_eq(kstr("prefix"), id8);
	ck_assert_str_eq(kstr("name"), "ci");
	ck_assert_str_eq(kstr("created_by"), "admin");
	ck_assert_str_eq(json_object_to_json_string_ext(jget(jget(hjson, "key"),
	    "scopes"), JSON_C_TO_STRING_PLAIN), "[\"keys:read\",\"keys:write\"]");
	/* project_ids null: every project. */
	ck_assert(json_object_object_get_ex(jget(hjson, "key"), "project_ids",
	    NULL));
	ck_assert_ptr_null(jget(jget(hjson, "key"), "project_ids"));
	ck_assert(strchr(kstr("expires_at"), 'Z') != NULL);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'key_create' AND actor = 'admin' AND "
	    "target = 'key:%s'", id8), 1);
	/* The key authenticates: whoami, and it lists its namespace's keys. */
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", sec, NULL), 200);
	ck_assert_str_eq(jstr("method"), "api_key");
	ck_assert_str_eq(jstr("namespace"), "acme");
	ck_assert_str_eq(jstr("key_prefix"), id8);
	ck_assert_int_eq(strncmp(jstr("subject"), "key:", 4), 0);
	ck_assert_str_eq(jstr("subject") + 4, id8);
	ck_assert(strchr(jstr("expires_at"), 'Z') != NULL);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "api_keys WHERE last_used_at IS NOT NULL"), 1);
	ck_assert_int_eq(call("GET", "/v1/keys", sec, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 1);
	ck_assert_ptr_null(strstr(kg_buf_str(&hresp.body), sec));
	ck_assert_ptr_null(strstr(kg_buf_str(&hresp.body), "secret"));
	snprintf(path, sizeof(path), "/v1/keys/%lld", id);
	ck_assert_int_eq(call("GET", path, sec, NULL), 200);
	ck_assert_str_eq(jstr("prefix"), id8);
	ck_assert_int_eq(call("GET", "/v1/keys/abc", sec, NULL), 404);
	expect(404, "not_found");
	ck_assert_int_eq(call("GET", "/v1/keys/0", sec, NULL), 404);
	ck_assert_int_eq(call("GET", "/v1/keys/99999", sec, NULL), 404);
	/* Revoke: 200 once, then 404, and the key is refused. */
	ck_assert_int_eq(admin("DELETE", path, NULL), 200);
	ck_assert_int_eq(json_object_get_int64(jget(hjson, "id")), id);
	ck_assert(strchr(jstr("revoked_at"), 'Z') != NULL);
	ck_assert_int_eq(admin("DELETE", path, NULL), 404);
	expect(404, "not_found");
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", sec, NULL), 401);
	expect(401, "key_revoked");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'key_revoke' AND "
	    "target = 'key:%s'", id8), 1);
	/* Listing: live only, unless include_revoked=true. */
	ck_assert_int_eq(admin("GET", "/v1/keys", NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 0);
	ck_assert_int_eq(req3("GET", "/v1/keys", "include_revoked=true", ADMIN,
	    "acme", NULL, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 1);
	ck_assert_int_eq(req3("GET", "/v1/keys", "include_revoked=yes", ADMIN,
	    "acme", NULL, NULL), 400);
	expect(400, "invalid_request");
}
END_TEST

START_TEST(http_list_paging)
{
	char		sec[KG_TOKEN_MAX], q[64];
	long long	ids[3];
	int		i;

	for (i = 0; i < 3; i++)
		mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"]}", sec, &ids[i]);
	ck_assert_int_eq(req3("GET", "/v1/keys", "limit=2", ADMIN, "acme",
	    NULL, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 2);
	ck_assert_int_eq(json_object_get_int64(jget(json_object_array_get_idx(
	    jget(hjson, "items"), 0), "id")), ids[2]);
	snprintf(q, sizeof(q), "limit=2&cursor=%s", jstr("next_cursor"));
	ck_assert_int_eq(req3("GET", "/v1/keys", q, ADMIN, "acme", NULL, NULL),
	    200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 1);
	ck_assert_int_eq(json_object_get_int64(jget(json_object_array_get_idx(
	    jget(hjson, "items"), 0), "id")), ids[0]);
	ck_assert_int_eq(json_object_get_type(jget(hjson, "next_cursor")),
	    json_type_null);
	/* Exactly the last rows, however full the page: no cursor. */
	ck_assert_int_eq(req3("GET", "/v1/keys", "limit=3", ADMIN, "acme",
	    NULL, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 3);
	ck_assert_int_eq(json_object_get_type(jget(hjson, "next_cursor")),
	    json_type_null);
	ck_assert_int_eq(req3("GET", "/v1/keys", "limit=0", ADMIN, "acme",
	    NULL, NULL), 400);
	ck_assert_int_eq(req3("GET", "/v1/keys", "cursor=x", ADMIN, "acme",
	    NULL, NULL), 400);
	/* Default expiry is 90 days. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "api_keys WHERE TIMESTAMPDIFF(DAY, created_at, expires_at) = 90"),
	    3);
}
END_TEST

START_TEST(http_create_errors)
{
	admin("POST", "/v1/keys", "{\"name\":\"x\",\"scopes\":[\"nope:x\"]}");
	expect(400, "invalid_scopes");
	admin("POST", "/v1/keys",
	    "{\"name\":\"x\",\"scopes\":[\"operator.write\"]}");
	expect(400, "invalid_scopes");
	admin("POST", "/v1/keys", "{\"name\":\"x\",\"scopes\":[]}");
	expect(400, "invalid_scopes");
	admin("POST", "/v1/keys", "{\"name\":\"x\",\"scopes\":[\"admin\"],"
	    "\"expires_in\":\"7d\"}");
	expect(400, "invalid_expiry");
	admin("POST", "/v1/keys", "{\"name\":\"\",\"scopes\":[\"admin\"]}");
	expect(400, "invalid_request");
	admin("POST", "/v1/keys", "{\"name\":\"x\",\"scopes\":[\"admin\"],"
	    "\"project_ids\":[\"bad id\"]}");
	expect(400, "invalid_request");
	admin("POST", "/v1/keys", "{\"name\":\"x\",\"scopes\":[\"admin\"],"
	    "\"project_ids\":[]}");
	expect(400, "invalid_request");
	admin("POST", "/v1/keys", "{\"name\":\"x\",\"scopes\":[\"admin\"],"
	    "\"extra\":1}");
	expect(400, "invalid_request");
	admin("POST", "/v1/keys", "{");
	expect(400, "invalid_json");
	/* The global admin must choose a namespace, and it must exist. */
	req3("POST", "/v1/keys", NULL, ADMIN, NULL, NULL,
	    "{\"name\":\"x\",\"scopes\":[\"admin\"]}");
	expect(400, "invalid_namespace");
	req3("POST", "/v1/keys", NULL, ADMIN, "nosuch", NULL,
	    "{\"name\":\"x\",\"scopes\":[\"admin\"]}");
	expect(404, "namespace_not_found");
	call("POST", "/v1/keys", NULL, "{\"name\":\"x\",\"scopes\":[\"admin\"]}");
	expect(401, "unauthenticated");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "api_keys"), 0);
}
END_TEST

START_TEST(http_no_escalation)
{
	char	w[KG_TOKEN_MAX], a[KG_TOKEN_MAX], p[KG_TOKEN_MAX];
	char	k[KG_TOKEN_MAX];

	mint("{\"name\":\"w\",\"scopes\":[\"keys:write\"]}", w, NULL);
	call("POST", "/v1/keys", w, "{\"name\":\"x\",\"scopes\":["
	    "\"projects:read\"]}");
	expect(403, "scope_escalation");
	call("POST", "/v1/keys", w, "{\"name\":\"x\",\"scopes\":[\"admin\"]}");
	expect(403, "scope_escalation");
	ck_assert_int_eq(call("POST", "/v1/keys", w, "{\"name\":\"x\","
	    "\"scopes\":[\"keys:write\"]}"), 201);
	ck_assert_int_eq(strncmp(kstr("created_by"), "key:", 4), 0);
	ck_assert_int_eq(strncmp(kstr("created_by") + 4, w + 6, 8), 0);
	/* admin implies every scope but operator.write (never a key scope). */
	mint("{\"name\":\"a\",\"scopes\":[\"admin\"]}", a, NULL);
	ck_assert_int_eq(call("POST", "/v1/keys", a, "{\"name\":\"x\","
	    "\"scopes\":[\"projects:read\",\"introspect\"]}"), 201);
	/* Project-restricted callers stay within their projects. */
	mint("{\"name\":\"p\",\"scopes\":[\"keys:write\",\"projects:read\"],"
	    "\"project_ids\":[\"p1\",\"p2\"]}", p, NULL);
	call("POST", "/v1/keys", p, "{\"name\":\"x\",\"scopes\":["
	    "\"projects:read\"]}");
	expect(403, "scope_escalation");
	call("POST", "/v1/keys", p, "{\"name\":\"x\",\"scopes\":["
	    "\"projects:read\"],\"project_ids\":[\"p1\",\"p3\"]}");
	expect(403, "scope_escalation");
	ck_assert_int_eq(call("POST", "/v1/keys", p, "{\"name\":\"x\","
	    "\"scopes\":[\"projects:read\"],\"project_ids\":[\"p2\"]}"), 201);
	snprintf(k, sizeof(k), "%s", jstr("secret"));
	ck_assert_str_eq(json_object_to_json_string_ext(jget(jget(hjson, "key"),
	    "project_ids"), JSON_C_TO_STRING_PLAIN), "[\"p2\"]");
	/* A key without keys:write cannot mint at all (the gate). */
	call("POST", "/v1/keys", k, "{\"name\":\"x\",\"scopes\":["
	    "\"projects:read\"]}");
	expect(403, "forbidden");
}
END_TEST

START_TEST(http_bad_keys_refused_without_query)
{
	char			 sec[KG_TOKEN_MAX], bad[KG_TOKEN_MAX];
	char			 other[KG_TOKEN_MAX], id8[9];
	char			 sock[] = "/nonexistent/keygate-test.sock";
	char			*saved;
	struct kg_db_stats	 before, after;
	size_t			 n;

	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"]}", sec, NULL);
	saved = hcfg.db_socket;
	hcfg.db_socket = sock;
	kg_db_disconnect(hctx.db);
	kg_db_stats(hctx.db, &before);
	/* Bad checksum: the last character changed. */
	snprintf(bad, sizeof(bad), "%s", sec);
	n = strlen(bad);
	bad[n - 1] = bad[n - 1] == 'A' ? 'B' : 'A';
	call("GET", "/v1/auth/whoami", bad, NULL);
	expect(401, "invalid_token");
	call("GET", "/v1/auth/whoami", "kg_sk_abc", NULL);
	expect(401, "invalid_token");
	/* Well formed, but another prefix or another type. */
	ck_assert_int_eq(kg_token_mint("zz", "sk", other, id8), KG_OK);
	call("GET", "/v1/auth/whoami", other, NULL);
	expect(401, "invalid_token");
	ck_assert_int_eq(kg_token_mint("kg", "rt", other, id8), KG_OK);
	call("GET", "/v1/auth/whoami", other, NULL);
	expect(401, "invalid_token");
	kg_db_stats(hctx.db, &after);
	ck_assert_uint_eq(after.ds_executions, before.ds_executions);
	ck_assert_uint_eq(after.ds_errors, before.ds_errors);
	/* A well-formed key needs the database: unreachable is 503. */
	call("GET", "/v1/auth/whoami", sec, NULL);
	expect(503, "unavailable");
	hcfg.db_socket = saved;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", sec, NULL), 200);
	/* Unknown but well formed: invalid_token after the lookup. */
	ck_assert_int_eq(kg_token_mint("kg", "sk", other, id8), KG_OK);
	call("GET", "/v1/auth/whoami", other, NULL);
	expect(401, "invalid_token");
}
END_TEST

START_TEST(http_expired_key)
{
	char	sec[KG_TOKEN_MAX];
	MYSQL	*m;

	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"]}", sec, NULL);
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE api_keys SET expires_at = UTC_TIMESTAMP(6) - "
	    "INTERVAL 1 SECOND");
	mysql_close(m);
	call("GET", "/v1/keys", sec, NULL);
	expect(401, "key_expired");
	ck_assert_int_eq(admin("GET", "/v1/keys", NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 0);
}
END_TEST

START_TEST(http_namespace_isolation)
{
	char		sa[KG_TOKEN_MAX], sb[KG_TOKEN_MAX], path[64];
	long long	ida, idb;

	mint("{\"name\":\"a\",\"scopes\":[\"keys:read\",\"keys:write\"]}", sa,
	    &ida);
	kg_ht_make_ns(&hcfg, "other");
	ck_assert_int_eq(req3("POST", "/v1/keys", NULL, ADMIN, "other", NULL,
	    "{\"name\":\"b\",\"scopes\":[\"keys:read\"]}"), 201);
	snprintf(sb, sizeof(sb), "%s", jstr("secret"));
	idb = json_object_get_int64(jget(jget(hjson, "key"), "id"));
	snprintf(path, sizeof(path), "/v1/keys/%lld", idb);
	call("GET", path, sa, NULL);
	expect(404, "not_found");
	call("DELETE", path, sa, NULL);
	expect(404, "not_found");
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", sb, NULL), 200);
	ck_assert_int_eq(call("GET", "/v1/keys", sa, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 1);
	ck_assert_int_eq(json_object_get_int64(jget(json_object_array_get_idx(
	    jget(hjson, "items"), 0), "id")), ida);
}
END_TEST

START_TEST(http_token_exchange)
{
	char		sec[KG_TOKEN_MAX], jwt[4096], p[KG_TOKEN_MAX], path[64];
	char		id8[9];
	long long	id;

	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\",\"projects:read\"],"
	    "\"expires_in\":\"never\"}", sec, &id);
	snprintf(id8, sizeof(id8), "%.8s", sec + 6);
	ck_assert_int_eq(call("POST", "/v1/auth/token", sec, NULL), 200);
	ck_assert_int_eq(hresp.no_store, 1);
	ck_assert_str_eq(jstr("token_type"), "Bearer");
	ck_assert_str_eq(jstr("namespace"), "acme");
	ck_assert_str_eq(jstr("scope"), "keys:read projects:read");
	ck_assert_int_eq(json_object_get_int(jget(hjson, "expires_in")),
	    (int)hcfg.access_ttl);
	snprintf(jwt, sizeof(jwt), "%s", jstr("access_token"));
	/* The JWT authenticates, as key:<id8>, and uses the key's scopes. */
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", jwt, NULL), 200);
	ck_assert_str_eq(jstr("method"), "jwt");
	ck_assert_str_eq(jstr("subject") + 4, id8);
	ck_assert_str_eq(jstr("namespace"), "acme");
	ck_assert_int_eq(call("GET", "/v1/keys", jwt, NULL), 200);
	/* Only a key exchanges: not the JWT, not the admin. */
	call("POST", "/v1/auth/token", jwt, NULL);
	expect(403, "forbidden");
	req3("POST", "/v1/auth/token", NULL, ADMIN, "acme", NULL, NULL);
	expect(403, "forbidden");
	call("POST", "/v1/auth/token", NULL, NULL);
	expect(401, "unauthenticated");
	/* Project-restricted keys cannot become unrestricted tokens. */
	mint("{\"name\":\"p\",\"scopes\":[\"keys:read\"],\"project_ids\":"
	    "[\"p1\"]}", p, NULL);
	call("POST", "/v1/auth/token", p, NULL);
	expect(403, "forbidden");
	/* Revoking the key ends its tokens too. */
	snprintf(path, sizeof(path), "/v1/keys/%lld", id);
	ck_assert_int_eq(admin("DELETE", path, NULL), 200);
	call("GET", "/v1/auth/whoami", jwt, NULL);
	expect(401, "token_revoked");
}
END_TEST

static int
introspect(const char *caller, const char *ctype, const char *body)
{
	return req3("POST", "/v1/auth/introspect", NULL, caller, NULL, ctype,
	    body);
}

static int
active(void)
{
	json_object	*v = jget(hjson, "active");

	ck_assert_ptr_nonnull(v);
	return json_object_get_boolean(v);
}

START_TEST(http_introspect)
{
	char	in[KG_TOKEN_MAX], k[KG_TOKEN_MAX], p[KG_TOKEN_MAX];
	char	o[KG_TOKEN_MAX], jwt[4096], body[8400];
	long long	pid;
	char	path[64];

	mint("{\"name\":\"i\",\"scopes\":[\"introspect\"]}", in, NULL);
	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"],\"expires_in\":"
	    "\"never\"}", k, NULL);
	mint("{\"name\":\"p\",\"scopes\":[\"projects:read\"],\"expires_in\":"
	    "\"30d\",\"project_ids\":[\"p1\",\"p2\"]}", p, &pid);
	/* An API key. */
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", k);
	ck_assert_int_eq(introspect(in, NULL, body), 200);
	ck_assert(active());
	ck_assert_str_eq(jstr("token_type"), "api_key");
	ck_assert_int_eq(strncmp(jstr("sub"), "key:", 4), 0);
	ck_assert_str_eq(jstr("ns"), "acme");
	ck_assert_str_eq(jstr("scope"), "keys:read");
	ck_assert_ptr_null(jget(hjson, "exp"));
	ck_assert_ptr_nonnull(jget(hjson, "iat"));
	ck_assert_ptr_null(jget(hjson, "project_ids"));
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"token_type_hint\":"
	    "\"access_token\"}", p);
	ck_assert_int_eq(introspect(in, NULL, body), 200);
	ck_assert(active());
	ck_assert_ptr_nonnull(jget(hjson, "exp"));
	ck_assert_str_eq(json_object_to_json_string_ext(jget(hjson,
	    "project_ids"), JSON_C_TO_STRING_PLAIN), "[\"p1\",\"p2\"]");
	/* Form-encoded, with an access token. */
	ck_assert_int_eq(call("POST", "/v1/auth/token", k, NULL), 200);
	snprintf(jwt, sizeof(jwt), "%s", jstr("access_token"));
	snprintf(body, sizeof(body), "token=%s&token_type_hint=access_token",
	    jwt);
	ck_assert_int_eq(introspect(in, "application/x-www-form-urlencoded",
	    body), 200);
	ck_assert(active());
	ck_assert_str_eq(jstr("token_type"), "access_token");
	ck_assert_str_eq(jstr("ns"), "acme");
	ck_assert_ptr_nonnull(jget(hjson, "exp"));
	ck_assert_ptr_nonnull(jget(hjson, "iat"));
	ck_assert_int_eq(hresp.no_store, 1);
	/* Anything else is inactive. */
	introspect(in, NULL, "{\"token\":\"garbage\"}");
	ck_assert(!active());
	introspect(in, NULL, "{\"token\":\"kg_sk_abc\"}");
	ck_assert(!active());
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", ADMIN);
	introspect(in, NULL, body);
	ck_assert(!active());
	snprintf(path, sizeof(path), "/v1/keys/%lld", pid);
	ck_assert_int_eq(admin("DELETE", path, NULL), 200);
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", p);
	introspect(in, NULL, body);
	ck_assert(!active());
	/* Another namespace's key: inactive, except for the global admin. */
	kg_ht_make_ns(&hcfg, "other");
	ck_assert_int_eq(req3("POST", "/v1/keys", NULL, ADMIN, "other", NULL,
	    "{\"name\":\"o\",\"scopes\":[\"keys:read\"]}"), 201);
	snprintf(o, sizeof(o), "%s", jstr("secret"));
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", o);
	introspect(in, NULL, body);
	ck_assert(!active());
	ck_assert_int_eq(introspect(ADMIN, NULL, body), 200);
	ck_assert(active());
	ck_assert_str_eq(jstr("ns"), "other");
	/* Errors: no token; a caller without introspect. */
	introspect(in, NULL, "{}");
	expect(400, "invalid_request");
	introspect(in, "application/x-www-form-urlencoded", "x=1");
	expect(400, "invalid_request");
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", k);
	introspect(k, NULL, body);
	expect(403, "forbidden");
	/* Expired keys are inactive. */
	{
		MYSQL *m = kg_test_conn(&hcfg);

		kg_test_sql(m, "UPDATE api_keys SET expires_at = "
		    "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE name = 'k'");
		mysql_close(m);
	}
	introspect(in, NULL, body);
	ck_assert(!active());
}
END_TEST

/* ------------------------------------------------------------ wallet keys */

#define K1_PRIV	"132cfd43948f7c93cbc78fea7fbc0764fa33fab299889a31f8423468d811f143"
#define K1_LOW	"0x3748a27775229ccc4c2c14e3f9455b04fc0b39c0"
#define K2_PRIV	"9da4fa466e97bb365a8208c2bd2cab7728c0aae789a12ee7e17567a765c8e696"
#define K2_LOW	"0xce7c0a23c265a3510473117933f9b6f07502f08a"

/* A challenge for wallet in ns, signed: the body of /v1/auth/api-key
 * with extra ("" or ",\"scopes\":[...]" ...) appended. */
static void
signed_body(char *out, size_t len, const char *priv, const char *wallet,
    const char *ns, const char *extra)
{
	char		 body[256], sig[133];
	json_object	*o;
	const char	*s;

	snprintf(body, sizeof(body), "{\"wallet\":\"%s\",\"namespace\":\"%s\"}",
	    wallet, ns);
	ck_assert_msg(call("POST", "/v1/auth/challenge", NULL, body) == 200,
	    "%s", kg_buf_str(&hresp.body));
	sign_personal(priv, jstr("message"), sig);
	o = json_object_new_object();
	json_object_object_add(o, "wallet", json_object_new_string(wallet));
	json_object_object_add(o, "nonce", json_object_new_string(
	    jstr("nonce")));
	json_object_object_add(o, "signature", json_object_new_string(sig));
	json_object_object_add(o, "namespace", json_object_new_string(ns));
	json_object_object_add(o, "message", json_object_new_string(
	    jstr("message")));
	json_object_object_add(o, "name", json_object_new_string("wk"));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(out, len, "%.*s%s}", (int)strlen(s) - 1, s, extra);
	json_object_put(o);
}

START_TEST(http_wallet_key)
{
	char	body[4096], sec[KG_TOKEN_MAX];
	int	i;

	hcfg.max_keys_per_wallet = 2;
	/* K1 creates namespace "web3" and owns it (track 4). */
	signed_body(body, sizeof(body), K1_PRIV, K1_LOW, "web3", "");
	ck_assert_msg(call("POST", "/v1/auth/api-key", NULL, body) == 201, "%s",
	    kg_buf_str(&hresp.body));
	ck_assert_int_eq(hresp.no_store, 1);
	ck_assert_str_eq(jstr("namespace"), "web3");
	ck_assert_str_eq(jstr("wallet"), K1_LOW);
	ck_assert_str_eq(kstr("wallet"), K1_LOW);
	ck_assert_str_eq(kstr("created_by"), "wallet:" K1_LOW);
	ck_assert_str_eq(json_object_to_json_string_ext(jget(jget(hjson, "key"),
	    "scopes"), JSON_C_TO_STRING_PLAIN), "[\"projects:read\"]");
	snprintf(sec, sizeof(sec), "%s", jstr("api_key"));
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", sec, NULL), 200);
	ck_assert_str_eq(jstr("namespace"), "web3");
	ck_assert_str_eq(jstr("method"), "api_key");
	/* The nonce is spent. */
	call("POST", "/v1/auth/api-key", NULL, body);
	expect(400, "invalid_nonce");
	/* K2 joins at track 1: admin is escalation, and the refusal
	 * leaves the nonce unspent. */
	signed_body(body, sizeof(body), K2_PRIV, K2_LOW, "web3",
	    ",\"scopes\":[\"admin\"]");
	call("POST", "/v1/auth/api-key", NULL, body);
	expect(403, "scope_escalation");
	signed_body(body, sizeof(body), K2_PRIV, K2_LOW, "web3",
	    ",\"scopes\":[\"nope\"]");
	call("POST", "/v1/auth/api-key", NULL, body);
	expect(400, "invalid_scopes");
	signed_body(body, sizeof(body), K2_PRIV, K2_LOW, "web3",
	    ",\"expires_in\":\"2d\"");
	call("POST", "/v1/auth/api-key", NULL, body);
	expect(400, "invalid_expiry");
	/* The owner may hold keys:write; the cap is 2 live keys. */
	for (i = 0; i < 2; i++) {
		signed_body(body, sizeof(body), K1_PRIV, K1_LOW, "web3",
		    ",\"scopes\":[\"keys:write\"],\"project_ids\":[\"p1\"]");
		call("POST", "/v1/auth/api-key", NULL, body);
		if (i == 0)
			ck_assert_int_eq(hresp.status, 201);
		else
			expect(409, "too_many_keys");
	}
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "api_keys WHERE wallet = '%s'", K1_LOW), 2);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'key_create' AND actor = '%s'",
	    K1_LOW), 2);
	/* Bad signature: refused before anything is written. */
	signed_body(body, sizeof(body), K2_PRIV, K1_LOW, "web3", "");
	call("POST", "/v1/auth/api-key", NULL, body);
	expect(401, "signature_mismatch");
}
END_TEST

/*
 * The cap through the endpoint, NRACE processes at once: each holds its
 * own signed challenge; exactly CAP keys are minted, the rest get 409.
 */
START_TEST(http_wallet_key_cap_race)
{
	char	bodies[NRACE][4096], b;
	pid_t	pids[NRACE];
	int	gate[2], i, status, ok = 0, full = 0;

	hcfg.max_keys_per_wallet = CAP;
	for (i = 0; i < NRACE; i++)
		signed_body(bodies[i], sizeof(bodies[i]), K1_PRIV, K1_LOW,
		    "race", "");
	ck_assert_int_eq(pipe(gate), 0);
	for (i = 0; i < NRACE; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0) {
			int	st;

			/* Its own connection, made before the gate. */
			if (kg_db_ping(hctx.db) != KG_OK)
				_exit(3);
			close(gate[1]);
			while (read(gate[0], &b, 1) < 0 && errno == EINTR)
				continue;
			st = call("POST", "/v1/auth/api-key", NULL, bodies[i]);
			_exit(st == 201 ? 0 : st == 409 &&
			    strcmp(jstr("error"), "too_many_keys") == 0 ? 1 : 2);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (i = 0; i < NRACE; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			ok++;
		else if (WEXITSTATUS(status) == 1)
			full++;
		else
			ck_abort_msg("racer %d failed", i);
	}
	ck_assert_int_eq(ok, CAP);
	ck_assert_int_eq(full, NRACE - CAP);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "api_keys WHERE wallet = '%s'", K1_LOW), CAP);
	/* The refused ones left their nonces unused. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "nonces WHERE used_at IS NULL"), NRACE - CAP);
}
END_TEST

/*
 * Revoking a key and logging its tokens out are one transaction: when
 * the logout fails (a trigger refuses it), the key is not revoked (503)
 * and its token still works; once the logout can be written, both are.
 */
START_TEST(http_revoke_and_logout_atomic)
{
	char		sec[KG_TOKEN_MAX], jwt[4096], path[64];
	long long	id;
	MYSQL		*m;

	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"],\"expires_in\":"
	    "\"never\"}", sec, &id);
	ck_assert_int_eq(call("POST", "/v1/auth/token", sec, NULL), 200);
	snprintf(jwt, sizeof(jwt), "%s", jstr("access_token"));
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "CREATE TRIGGER no_logout BEFORE INSERT ON "
	    "subject_logouts FOR EACH ROW SIGNAL SQLSTATE '45000' "
	    "SET MESSAGE_TEXT = 'test: logout refused'");
	snprintf(path, sizeof(path), "/v1/keys/%lld", id);
	admin("DELETE", path, NULL);
	expect(503, "unavailable");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "api_keys WHERE revoked_at IS NOT NULL"), 0);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", sec, NULL), 200);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", jwt, NULL), 200);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'key_revoke'"), 0);
	kg_test_sql(m, "DROP TRIGGER no_logout");
	mysql_close(m);
	ck_assert_int_eq(admin("DELETE", path, NULL), 200);
	/* The audit row commits with the revocation, naming the caller. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'key_revoke' AND actor_type = "
	    "'admin' AND outcome = 'ok' AND target LIKE 'key:%%'"), 1);
	call("GET", "/v1/auth/whoami", jwt, NULL);
	expect(401, "token_revoked");
	call("GET", "/v1/auth/whoami", sec, NULL);
	expect(401, "key_revoked");
}
END_TEST

/* Every refused mint (403) leaves a "denied" audit row (SPEC 9). */
START_TEST(http_refused_mint_audited)
{
	char	w[KG_TOKEN_MAX], body[4096];

	mint("{\"name\":\"w\",\"scopes\":[\"keys:write\"]}", w, NULL);
	call("POST", "/v1/keys", w, "{\"name\":\"x\",\"scopes\":[\"admin\"]}");
	expect(403, "scope_escalation");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'key_create' AND outcome = 'denied' "
	    "AND namespace = 'acme' AND actor_type = 'api_key' AND "
	    "actor = '%.8s' AND target = 'scope_escalation'", w + 6), 1);
	/* A validation error (400) is not an authorisation refusal. */
	call("POST", "/v1/keys", w, "{\"name\":\"x\",\"scopes\":[\"nope\"]}");
	expect(400, "invalid_scopes");
	/* The wallet mint: audited after its transaction rolled back. */
	signed_body(body, sizeof(body), K1_PRIV, K1_LOW, "web3", "");
	ck_assert_int_eq(call("POST", "/v1/auth/api-key", NULL, body), 201);
	signed_body(body, sizeof(body), K2_PRIV, K2_LOW, "web3",
	    ",\"scopes\":[\"admin\"]");
	call("POST", "/v1/auth/api-key", NULL, body);
	expect(403, "scope_escalation");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'key_create' AND outcome = 'denied' "
	    "AND namespace = 'web3' AND actor_type = 'wallet' AND "
	    "actor = '%s'", K2_LOW), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE outcome = 'denied'"), 2);
}
END_TEST

/* A restricted key with an empty project list grants nothing. */
START_TEST(http_empty_project_list_refused)
{
	char	sec[KG_TOKEN_MAX];
	MYSQL	*m;

	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"],\"project_ids\":"
	    "[\"p1\"]}", sec, NULL);
	ck_assert_int_eq(req3("GET", "/v1/auth/check", "project=p1", sec, NULL,
	    NULL, NULL), 204);
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE api_keys SET project_ids = '[]'");
	mysql_close(m);
	/* A row changed behind keygate's back is no revocation: the cached
	 * grant goes as it would with a new worker. */
	kg_authcache_flush(hctx.authcache);
	req3("GET", "/v1/auth/check", "project=p2", sec, NULL, NULL, NULL);
	expect(401, "invalid_token");
	call("GET", "/v1/keys", sec, NULL);
	expect(401, "invalid_token");
}
END_TEST

/* operator.write in a key's row is never effective, nor in its JWT. */
START_TEST(http_operator_write_never_for_keys)
{
	char	sec[KG_TOKEN_MAX], jwt[4096];
	MYSQL	*m;

	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"],\"expires_in\":"
	    "\"never\"}", sec, NULL);
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE api_keys SET scopes = "
	    "'operator.write keys:read operator.write'");
	mysql_close(m);
	ck_assert_int_eq(req3("GET", "/v1/auth/check", "scope=keys:read", sec,
	    NULL, NULL, NULL), 204);
	ck_assert_int_eq(req3("GET", "/v1/auth/check", "scope=operator.write",
	    sec, NULL, NULL, NULL), 403);
	ck_assert_int_eq(call("POST", "/v1/auth/token", sec, NULL), 200);
	ck_assert_str_eq(jstr("scope"), "keys:read");
	snprintf(jwt, sizeof(jwt), "%s", jstr("access_token"));
	ck_assert_int_eq(req3("GET", "/v1/auth/check", "scope=operator.write",
	    jwt, NULL, NULL, NULL), 403);
	ck_assert_int_eq(req3("GET", "/v1/auth/check", "scope=keys:read", jwt,
	    NULL, NULL, NULL), 204);
}
END_TEST

/* limit (SPEC 1): above 500 is 500, however many digits; else 400. */
START_TEST(http_list_limit)
{
	static const char *const bad[] = { "limit=0", "limit=-1", "limit=abc",
	    "limit=", "limit=01", "limit=1x", "limit=%2B5", NULL };
	char	sec[KG_TOKEN_MAX];
	int	i;

	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"]}", sec, NULL);
	ck_assert_int_eq(req3("GET", "/v1/keys", "limit=501", ADMIN, "acme",
	    NULL, NULL), 200);
	ck_assert_int_eq(json_object_array_length(jget(hjson, "items")), 1);
	ck_assert_int_eq(req3("GET", "/v1/keys", "limit=100000000000000000000",
	    ADMIN, "acme", NULL, NULL), 200);
	ck_assert_int_eq(req3("GET", "/v1/keys", "limit=9999999999999999999999"
	    "99999999999999999999999999999999999999999999999999", ADMIN,
	    "acme", NULL, NULL), 200);
	ck_assert_int_eq(req3("GET", "/v1/keys", "limit=1", ADMIN, "acme",
	    NULL, NULL), 200);
	for (i = 0; bad[i] != NULL; i++) {
		req3("GET", "/v1/keys", bad[i], ADMIN, "acme", NULL, NULL);
		ck_assert_msg(hresp.status == 400 &&
		    strcmp(jstr("error"), "invalid_request") == 0, "%s: %d %s",
		    bad[i], hresp.status, kg_buf_str(&hresp.body));
	}
}
END_TEST

/* The exchanged token never outlives its key. */
START_TEST(http_token_ttl_capped_by_key)
{
	char	sec[KG_TOKEN_MAX];
	MYSQL	*m;
	int	ttl;

	ck_assert_int_gt(hcfg.access_ttl, 60);
	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"]}", sec, NULL);
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE api_keys SET expires_at = UTC_TIMESTAMP(6) + "
	    "INTERVAL 60 SECOND");
	mysql_close(m);
	ck_assert_int_eq(call("POST", "/v1/auth/token", sec, NULL), 200);
	ttl = json_object_get_int(jget(hjson, "expires_in"));
	ck_assert_int_le(ttl, 60);
	ck_assert_int_ge(ttl, 55);
}
END_TEST

/*
 * Without the worker's cache (tests/db/check_authcache.c has it), a
 * request with a key costs one read after the first touch, no write.
 */
START_TEST(http_key_use_one_query)
{
	char			sec[KG_TOKEN_MAX];
	struct kg_db_stats	before, after;

	kg_ht_cache_off();
	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"]}", sec, NULL);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", sec, NULL), 200);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "api_keys WHERE last_used_at IS NOT NULL"), 1);
	kg_db_stats(hctx.db, &before);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", sec, NULL), 200);
	kg_db_stats(hctx.db, &after);
	ck_assert_uint_eq(after.ds_executions - before.ds_executions, 1);
	kg_db_stats(hctx.db, &before);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", sec, NULL), 200);
	kg_db_stats(hctx.db, &after);
	ck_assert_uint_eq(after.ds_executions - before.ds_executions, 1);
}
END_TEST

/* The Authorizer never grants a key when the database is down. */
START_TEST(http_check_db_down_fails_closed)
{
	char	sec[KG_TOKEN_MAX];
	char	sock[] = "/nonexistent/keygate-test.sock";
	char	*saved;

	mint("{\"name\":\"k\",\"scopes\":[\"keys:read\"]}", sec, NULL);
	ck_assert_int_eq(req3("GET", "/v1/auth/check",
	    "namespace=acme&scope=keys:read", sec, NULL, NULL, NULL), 204);
	saved = hcfg.db_socket;
	hcfg.db_socket = sock;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(req3("GET", "/v1/auth/check",
	    "namespace=acme&scope=keys:read", sec, NULL, NULL, NULL), 503);
	hcfg.db_socket = saved;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(req3("GET", "/v1/auth/check",
	    "namespace=acme&scope=keys:read", sec, NULL, NULL, NULL), 204);
}
END_TEST

static enum kg_err
never_run(struct kg_db *db, const struct kg_wallet_signed *ws, void *arg)
{
	(void)db;
	(void)ws;
	*(int *)arg = 1;
	return KG_OK;
}

/* More caller fields than signed_body holds: refused, nothing read. */
START_TEST(wallet_signed_run_field_bound)
{
	struct kg_jfield	f[SIGNED_FIELDS_MAX + 2];
	struct kg_request	req;
	int			i, done = 1, ran = 0;

	memset(f, 0, sizeof(f));
	memset(&req, 0, sizeof(req));
	/* Required members: "{}" is refused before they are used. */
	for (i = 0; i < SIGNED_FIELDS_MAX + 1; i++) {
		f[i].jf_name = "x";
		f[i].jf_type = KG_JT_STRING;
		f[i].jf_flags = KG_JF_REQUIRED;
		f[i].jf_max = 64;
	}
	req.method = "POST";
	req.path = "/v1/auth/api-key";
	req.query = "";
	req.content_type = "application/json";
	req.remote_addr = "192.0.2.7";
	req.body = "{}";
	req.body_len = 2;
	kg_resp_reset(&hresp);
	ck_assert_int_eq(kg_wallet_signed_run(&hctx, &req, f, never_run, &ran,
	    &hresp, &done), KG_ERR_INTERNAL);
	ck_assert_int_eq(done, 0);
	ck_assert_int_eq(ran, 0);
	/* At the bound, the body is read (and refused as a body). */
	f[SIGNED_FIELDS_MAX].jf_name = NULL;
	ck_assert_int_eq(kg_wallet_signed_run(&hctx, &req, f, never_run, &ran,
	    &hresp, &done), KG_OK);
	ck_assert_int_eq(done, 1);
	ck_assert_int_eq(hresp.status, 400);
	ck_assert_int_eq(ran, 0);
}
END_TEST

static Suite *
apikey_suite(void)
{
	Suite	*s = suite_create("apikey");
	TCase	*tc = tcase_create("store");
	TCase	*th = tcase_create("http");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, store_create_lookup_hash_only);
	tcase_add_test(tc, store_namespace_isolation);
	tcase_add_test(tc, store_list_filters_paging_revoke);
	tcase_add_test(tc, store_touch_at_most_every_minute);
	tcase_add_loop_test(tc, store_wallet_cap_race, 0, 3);
	suite_add_tcase(s, tc);
	tcase_set_timeout(th, 60);
	tcase_add_checked_fixture(th, hsetup, kg_ht_teardown);
	tcase_add_test(th, http_crud_and_use);
	tcase_add_test(th, http_list_paging);
	tcase_add_test(th, http_create_errors);
	tcase_add_test(th, http_no_escalation);
	tcase_add_test(th, http_bad_keys_refused_without_query);
	tcase_add_test(th, http_expired_key);
	tcase_add_test(th, http_namespace_isolation);
	tcase_add_test(th, http_token_exchange);
	tcase_add_test(th, http_introspect);
	tcase_add_test(th, http_wallet_key);
	tcase_add_loop_test(th, http_wallet_key_cap_race, 0, 3);
	tcase_add_test(th, http_revoke_and_logout_atomic);
	tcase_add_test(th, http_refused_mint_audited);
	tcase_add_test(th, http_empty_project_list_refused);
	tcase_add_test(th, http_operator_write_never_for_keys);
	tcase_add_test(th, http_list_limit);
	tcase_add_test(th, http_token_ttl_capped_by_key);
	tcase_add_test(th, http_key_use_one_query);
	tcase_add_test(th, http_check_db_down_fails_closed);
	tcase_add_test(th, wallet_signed_run_field_bound);
	suite_add_tcase(s, th);
	return s;
}

int
main(void)
{
	kg_test_db_require();
	return kg_test_run(apikey_suite());
}
