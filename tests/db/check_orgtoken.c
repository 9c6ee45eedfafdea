/*
 * check_orgtoken.c: org tokens (SPEC 8) against a real MariaDB: the
 * store (hash only, namespace isolation, the revoke transition,
 * last_used_at), then every endpoint through kg_dispatch: who may mint,
 * list and revoke, isolation across namespaces, the list cap, revoked
 * and unknown tokens answered byte for byte alike, no query for a
 * malformed token, 503 when the database is down, a best-effort
 * last_used_at, and audit rows without secrets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "core/api/authn.h"
#include "core/api/ctx.h"
#include "core/api/orgtokens.h"
#include "core/api/router.h"
#include "core/crypto/token.h"
#include "core/store/db.h"
#include "core/store/orgtoken.h"
#include "core/store/session.h"
#include "tests/db/dbtest.h"
#include "tests/db/httptest.h"

#define ADMIN	KG_HT_ADMIN
#define WALLET	"0x52908400098527886e0f7030069857d2e4169ee7"
#define WALLET2	"0x8617e340b3d01fa5f11f306f4090fd50e238070d"

/* ------------------------------------------------------------ store */

static enum kg_err
new_tok(struct kg_db *db, unsigned long long ns, const char *name,
    char secret[KG_TOKEN_MAX], struct kg_orgtoken *t)
{
	unsigned char	h[32];
	char		id8[KG_TOKEN_ID_LEN + 1];

	ck_assert_int_eq(kg_token_mint("kg", "ot", secret, id8), KG_OK);
	ck_assert_int_eq(kg_store_token_hash(secret, h), KG_OK);
	return kg_store_orgtoken_create(db, ns, id8, h, name, "admin", t);
}

static enum kg_err
count_item(const struct kg_orgtoken *t, void *arg)
{
	uint64_t	*last = arg;

	/* Newest first: ids strictly falling. */
	ck_assert(*last == 0 || t->ot_id < *last);
	ck_assert_int_eq(t->ot_revoked_us, 0);
	*last = t->ot_id;
	return KG_OK;
}

START_TEST(store_crud_isolation)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_orgtoken	 a, b, c, l;
	char			 sa[KG_TOKEN_MAX], sb[KG_TOKEN_MAX];
	char			 sc[KG_TOKEN_MAX];
	unsigned char		 h[32];
	unsigned long long	 ns, other;
	uint64_t		 last = 0;
	size_t			 n = 0;

	kg_test_db_config(&cfg);
	ns = kg_ht_make_ns(&cfg, "acme");
	other = kg_ht_make_ns(&cfg, "beta");
	db = kg_test_db_open(&cfg);
	ck_assert_int_eq(new_tok(db, ns, "ci ✓", sa, &a), KG_OK);
	ck_assert_int_eq(new_tok(db, ns, NULL, sb, &b), KG_OK);
	ck_assert_int_eq(new_tok(db, other, "b", sc, &c), KG_OK);
	ck_assert_str_eq(a.ot_ns, "acme");
	ck_assert_str_eq(a.ot_name, "ci ✓");
	ck_assert_int_eq(a.ot_has_name, 1);
	ck_assert_int_eq(b.ot_has_name, 0);
	ck_assert_str_eq(a.ot_created_by, "admin");
	ck_assert(a.ot_created_us > 0);
	ck_assert_int_eq(a.ot_revoked_us, 0);
	ck_assert_int_eq(strncmp(a.ot_id8, sa + 6, 8), 0);
	/* Only the hash is stored: no column holds the secret. */
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "org_tokens WHERE token_hash = UNHEX(SHA2('%s', 256))", sa), 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "org_tokens WHERE CONCAT_WS('|', id8, name, created_by) LIKE "
	    "'%%%.20s%%'", sa + 15), 0);
	/* The same id8 again is a conflict (the caller mints anew). */
	ck_assert_int_eq(kg_store_token_hash(sb, h), KG_OK);
	h[0] ^= 1;
	ck_assert_int_eq(kg_store_orgtoken_create(db, ns, a.ot_id8, h, NULL,
	    "admin", &l), KG_ERR_CONFLICT);
	/* Lookup by hash, with the namespace's name. */
	ck_assert_int_eq(kg_store_token_hash(sc, h), KG_OK);
	ck_assert_int_eq(kg_store_orgtoken_lookup(db, h, &l), KG_OK);
	ck_assert_uint_eq(l.ot_id, c.ot_id);
	ck_assert_str_eq(l.ot_ns, "beta");
	h[31] ^= 1;
	ck_assert_int_eq(kg_store_orgtoken_lookup(db, h, &l),
	    KG_ERR_NOT_FOUND);
	/* List: live, newest first, its namespace only. */
	ck_assert_int_eq(kg_store_orgtoken_list(db, ns, 0, 10, count_item,
	    &last, &n), KG_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(last, a.ot_id);
	/* Revoke: another namespace's id is not found; then once only. */
	ck_assert_int_eq(kg_store_orgtoken_revoke(db, other, a.ot_id, NULL,
	    &l), KG_ERR_NOT_FOUND);
	ck_assert_int_eq(kg_store_orgtoken_revoke(db, ns, a.ot_id, NULL, &l),
	    KG_OK);
	ck_assert(l.ot_revoked_us > 0);
	ck_assert_int_eq(kg_store_orgtoken_revoke(db, ns, a.ot_id, NULL, &l),
	    KG_ERR_NOT_FOUND);
	last = 0;
	ck_assert_int_eq(kg_store_orgtoken_list(db, ns, 0, 10, count_item,
	    &last, &n), KG_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(last, b.ot_id);
	/* Lookup still finds the revoked row, and says so. */
	ck_assert_int_eq(kg_store_token_hash(sa, h), KG_OK);
	ck_assert_int_eq(kg_store_orgtoken_lookup(db, h, &l), KG_OK);
	ck_assert(l.ot_revoked_us > 0);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(store_touch_at_most_every_minute)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_orgtoken	 t, l;
	char			 sec[KG_TOKEN_MAX];
	unsigned char		 h[32];
	unsigned long long	 ns;
	MYSQL			*m;

	kg_test_db_config(&cfg);
	ns = kg_ht_make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	ck_assert_int_eq(new_tok(db, ns, NULL, sec, &t), KG_OK);
	ck_assert_int_eq(t.ot_touch_due, 1);
	ck_assert_int_eq(kg_store_orgtoken_touch(db, t.ot_id), KG_OK);
	ck_assert_int_eq(kg_store_token_hash(sec, h), KG_OK);
	ck_assert_int_eq(kg_store_orgtoken_lookup(db, h, &l), KG_OK);
	ck_assert(l.ot_last_used_us > 0);
	ck_assert_int_eq(l.ot_touch_due, 0);
	m = kg_test_conn(&cfg);
	kg_test_sql(m, "UPDATE org_tokens SET last_used_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 61 SECOND");
	mysql_close(m);
	ck_assert_int_eq(kg_store_orgtoken_lookup(db, h, &l), KG_OK);
	ck_assert_int_eq(l.ot_touch_due, 1);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* ------------------------------------------------------------ handlers */

static unsigned long long	hacme, hbeta;

static void
hsetup(void)
{
	static const struct kg_ht_opts	o = { 1, 1, NULL };

	kg_ht_setup(&o);
	hacme = kg_ht_make_ns(&hcfg, "acme");
	hbeta = kg_ht_make_ns(&hcfg, "beta");
}

#define jget	kg_ht_get
#define jstr	kg_ht_str
#define expect	kg_ht_expect

/* One request with cred sent as Bearer (NULL: none). */
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

/* Mints an org token in ns as cred: token into tok, id into *id. */
static void
mint_as(const char *cred, const char *ns, const char *body,
    char tok[KG_TOKEN_MAX], long long *id)
{
	char	path[96];

	snprintf(path, sizeof(path), "/v1/namespaces/%s/org-tokens", ns);
	ck_assert_msg(call("POST", path, cred, body) == 201, "%s",
	    kg_buf_str(&hresp.body));
	snprintf(tok, KG_TOKEN_MAX, "%s", jstr("token"));
	if (id != NULL)
		*id = json_object_get_int64(jget(hjson, "id"));
}

/* A whole response, to compare two byte for byte. */
struct snap {
	int	status;
	char	ctype[64];
	char	body[512];
	size_t	nheaders;
	char	headers[KG_RESP_MAX_HEADERS][1100];
	int	no_store;
};

static void
snap(struct snap *s)
{
	size_t	i;

	memset(s, 0, sizeof(*s));
	s->status = hresp.status;
	snprintf(s->ctype, sizeof(s->ctype), "%s",
	    hresp.content_type != NULL ? hresp.content_type : "");
	snprintf(s->body, sizeof(s->body), "%s", kg_buf_str(&hresp.body));
	s->nheaders = hresp.nheaders;
	for (i = 0; i < hresp.nheaders; i++)
		snprintf(s->headers[i], sizeof(s->headers[i]), "%s: %s",
		    hresp.headers[i].h_name, hresp.headers[i].h_value);
	s->no_store = hresp.no_store;
}

static void
snap_eq(const struct snap *a, const struct snap *b)
{
	size_t	i;

	ck_assert_int_eq(a->status, b->status);
	ck_assert_str_eq(a->ctype, b->ctype);
	ck_assert_str_eq(a->body, b->body);
	ck_assert_uint_eq(a->nheaders, b->nheaders);
	for (i = 0; i < a->nheaders; i++)
		ck_assert_str_eq(a->headers[i], b->headers[i]);
	ck_assert_int_eq(a->no_store, b->no_store);
}

START_TEST(http_crud_and_use)
{
	char		tok[KG_TOKEN_MAX], tok2[KG_TOKEN_MAX], path[96];
	char		subj[32];
	json_object	*items;
	long long	id, id2;

	ck_assert_int_eq(call("POST", "/v1/namespaces/acme/org-tokens", ADMIN,
	    "{\"name\":\"ci\"}"), 201);
	ck_assert_int_eq(hresp.no_store, 1);
	snprintf(tok, sizeof(tok), "%s", jstr("token"));
	id = json_object_get_int64(jget(hjson, "id"));
	ck_assert_int_eq(strncmp(tok, "kg_ot_", 6), 0);
	ck_assert_int_eq(strncmp(jstr("prefix"), tok + 6, 8), 0);
	ck_assert_uint_eq(strlen(jstr("prefix")), 8);
	ck_assert_str_eq(jstr("name"), "ci");
	ck_assert_uint_eq(strlen(jstr("created_at")), 20);
	/* The token is a namespace admin of acme, and no more. */
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", tok, NULL), 200);
	ck_assert_str_eq(jstr("method"), "org_token");
	snprintf(subj, sizeof(subj), "org:%.8s", tok + 6);
	ck_assert_str_eq(jstr("subject"), subj);
	ck_assert_str_eq(jstr("namespace"), "acme");
	ck_assert_uint_eq(json_object_array_length(jget(hjson, "scopes")), 1);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    jget(hjson, "scopes"), 0)), "admin");
	ck_assert_int_eq(call("GET", "/v1/keys", tok, NULL), 200);
	ck_assert_int_eq(call("POST", "/v1/keys", tok, "{\"name\":\"k\","
	    "\"scopes\":[\"keys:read\",\"admin\"]}"), 201);
	ck_assert_str_eq(json_object_get_string(jget(jget(hjson, "key"),
	    "created_by")), subj);
	/* It mints another org token (body optional: no name). */
	mint_as(tok, "acme", NULL, tok2, &id2);
	ck_assert(json_object_is_type(jget(hjson, "name"), json_type_null));
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/org-tokens", tok2,
	    NULL), 200);
	items = jget(hjson, "items");
	ck_assert_uint_eq(json_object_array_length(items), 2);
	ck_assert_int_eq(json_object_get_int64(jget(
	    json_object_array_get_idx(items, 0), "id")), id2);
	ck_assert_str_eq(json_object_get_string(jget(
	    json_object_array_get_idx(items, 0), "created_by")), subj);
	ck_assert_str_eq(json_object_get_string(jget(
	    json_object_array_get_idx(items, 1), "created_by")), "admin");
	ck_assert(jget(json_object_array_get_idx(items, 1), "token") == NULL);
	ck_assert(jget(hjson, "next_cursor") == NULL ||
	    json_object_is_type(jget(hjson, "next_cursor"), json_type_null));
	ck_assert(strstr(kg_buf_str(&hresp.body), tok + 15) == NULL);
	/* Used within the minute: last_used_at set once. */
	ck_assert(!json_object_is_type(jget(json_object_array_get_idx(items,
	    1), "last_used_at"), json_type_null));
	/* Revoke: 200 on the transition, 404 after; gone from the list. */
	snprintf(path, sizeof(path), "/v1/namespaces/acme/org-tokens/%lld",
	    id);
	ck_assert_int_eq(call("DELETE", path, tok2, NULL), 200);
	ck_assert_int_eq(json_object_get_int64(jget(hjson, "id")), id);
	ck_assert_uint_eq(strlen(jstr("revoked_at")), 20);
	ck_assert_int_eq(call("DELETE", path, tok2, NULL), 404);
	expect(404, "not_found");
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/org-tokens", ADMIN,
	    NULL), 200);
	ck_assert_uint_eq(json_object_array_length(jget(hjson, "items")), 1);
	/* At once: the revoked token is refused. */
	ck_assert_int_eq(call("GET", "/v1/keys", tok, NULL), 401);
	expect(401, "invalid_token");
	/* Ids that cannot be ours: 404. */
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/org-tokens/0",
	    ADMIN, NULL), 404);
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/org-tokens/x1",
	    ADMIN, NULL), 404);
}
END_TEST

/* SPEC 8, 12: a revoked token answers exactly as an unknown one. */
START_TEST(http_revoked_same_as_unknown)
{
	char		tok[KG_TOKEN_MAX], unk[KG_TOKEN_MAX], id8[9];
	char		path[96];
	struct snap	a, b;
	long long	id;

	mint_as(ADMIN, "acme", "{\"name\":\"r\"}", tok, &id);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", tok, NULL), 200);
	snprintf(path, sizeof(path), "/v1/namespaces/acme/org-tokens/%lld",
	    id);
	ck_assert_int_eq(call("DELETE", path, ADMIN, NULL), 200);
	ck_assert_int_eq(kg_token_mint("kg", "ot", unk, id8), KG_OK);
	call("GET", "/v1/namespaces/acme/org-tokens", tok, NULL);
	expect(401, "invalid_token");
	snap(&a);
	call("GET", "/v1/namespaces/acme/org-tokens", unk, NULL);
	snap(&b);
	snap_eq(&a, &b);
	call("GET", "/v1/auth/whoami", tok, NULL);
	snap(&a);
	call("GET", "/v1/auth/whoami", unk, NULL);
	snap(&b);
	snap_eq(&a, &b);
	ck_assert_int_eq(a.status, 401);
	ck_assert_ptr_nonnull(strstr(a.body, "invalid_token"));
}
END_TEST

/* RFC 7662 for org tokens: active while live, in the caller's namespace. */
START_TEST(http_introspect)
{
	char		ta[KG_TOKEN_MAX], tb[KG_TOKEN_MAX], body[256], path[96];
	char		sub[32], bad[KG_TOKEN_MAX];
	long long	idb;
	size_t		n;

	mint_as(ADMIN, "acme", NULL, ta, NULL);
	mint_as(ADMIN, "beta", NULL, tb, &idb);
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", ta);
	ck_assert_int_eq(call("POST", "/v1/auth/introspect", ta, body), 200);
	ck_assert(json_object_get_boolean(jget(hjson, "active")));
	ck_assert_str_eq(jstr("token_type"), "org_token");
	snprintf(sub, sizeof(sub), "org:%.8s", ta + 6);
	ck_assert_str_eq(jstr("sub"), sub);
	ck_assert_str_eq(jstr("ns"), "acme");
	ck_assert_str_eq(jstr("scope"), "admin");
	ck_assert(jget(hjson, "iat") != NULL);
	/* Another namespace's token is inactive to acme, active to the admin. */
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tb);
	ck_assert_int_eq(call("POST", "/v1/auth/introspect", ta, body), 200);
	ck_assert_str_eq(kg_buf_str(&hresp.body), "{\"active\":false}");
	ck_assert_int_eq(call("POST", "/v1/auth/introspect", ADMIN, body), 200);
	ck_assert(json_object_get_boolean(jget(hjson, "active")));
	/* A bad checksum, then a revoked token: inactive. */
	snprintf(bad, sizeof(bad), "%s", tb);
	n = strlen(bad);
	bad[n - 1] = bad[n - 1] == 'A' ? 'B' : 'A';
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", bad);
	ck_assert_int_eq(call("POST", "/v1/auth/introspect", ADMIN, body), 200);
	ck_assert_str_eq(kg_buf_str(&hresp.body), "{\"active\":false}");
	snprintf(path, sizeof(path), "/v1/namespaces/beta/org-tokens/%lld", idb);
	ck_assert_int_eq(call("DELETE", path, ADMIN, NULL), 200);
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tb);
	ck_assert_int_eq(call("POST", "/v1/auth/introspect", ADMIN, body), 200);
	ck_assert_str_eq(kg_buf_str(&hresp.body), "{\"active\":false}");
}
END_TEST

START_TEST(http_namespace_isolation)
{
	char		ta[KG_TOKEN_MAX], tb[KG_TOKEN_MAX], path[96];
	long long	ida, idb;

	mint_as(ADMIN, "acme", NULL, ta, &ida);
	mint_as(ADMIN, "beta", NULL, tb, &idb);
	/* acme's token on beta's routes: 403, audited under beta. */
	call("POST", "/v1/namespaces/beta/org-tokens", ta, NULL);
	expect(403, "forbidden");
	call("GET", "/v1/namespaces/beta/org-tokens", ta, NULL);
	expect(403, "forbidden");
	snprintf(path, sizeof(path), "/v1/namespaces/beta/org-tokens/%lld",
	    idb);
	call("DELETE", path, ta, NULL);
	expect(403, "forbidden");
	/* Even where the namespace does not exist: 403, not 404. */
	call("GET", "/v1/namespaces/nosuch/org-tokens", ta, NULL);
	expect(403, "forbidden");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'beta' AND outcome = 'denied' AND "
	    "actor_type = 'org_token' AND actor = '%.8s' AND action IN "
	    "('org_token_create','org_token_list','org_token_revoke')",
	    ta + 6), 3);
	/* beta's token id under acme's path, as acme's admin: 404. */
	snprintf(path, sizeof(path), "/v1/namespaces/acme/org-tokens/%lld",
	    idb);
	call("DELETE", path, ta, NULL);
	expect(404, "not_found");
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", tb, NULL), 200);
	/* acme's token reaches no key of beta either. */
	call("GET", "/v1/keys", ta, NULL);
	ck_assert_int_eq(hresp.status, 200);
	ck_assert_int_eq(req3("GET", "/v1/namespaces/beta", NULL, ta, NULL,
	    NULL), 403);
	/* The global admin: 404 namespace_not_found only for it. */
	call("GET", "/v1/namespaces/nosuch/org-tokens", ADMIN, NULL);
	expect(404, "namespace_not_found");
	call("GET", "/v1/namespaces/Bad!/org-tokens", ADMIN, NULL);
	expect(400, "invalid_namespace");
}
END_TEST

/* Not namespace admins: keys without admin, track-2 wallets. */
START_TEST(http_non_admins_refused)
{
	struct kg_session_tokens st;
	char		key[KG_TOKEN_MAX], tok[KG_TOKEN_MAX], path[96];
	char		jwt2[4096], jwt3[4096];
	long long	id;

	mint_as(ADMIN, "acme", NULL, tok, &id);
	ck_assert_int_eq(req3("POST", "/v1/keys", NULL, ADMIN, "acme",
	    "{\"name\":\"w\",\"scopes\":[\"keys:read\",\"keys:write\"]}"), 201);
	snprintf(key, sizeof(key), "%s", jstr("secret"));
	kg_ht_add_member(&hcfg, hacme, WALLET, 2, 10);
	kg_ht_add_member(&hcfg, hacme, WALLET2, 3, 10);
	kg_ht_start(hacme, "acme", WALLET, 2, &st);
	snprintf(jwt2, sizeof(jwt2), "%s", kg_buf_str(&st.st_access));
	kg_buf_free(&st.st_access);
	kg_ht_start(hacme, "acme", WALLET2, 3, &st);
	snprintf(jwt3, sizeof(jwt3), "%s", kg_buf_str(&st.st_access));
	kg_buf_free(&st.st_access);
	snprintf(path, sizeof(path), "/v1/namespaces/acme/org-tokens/%lld",
	    id);
	call("POST", "/v1/namespaces/acme/org-tokens", key, NULL);
	expect(403, "forbidden");
	call("GET", "/v1/namespaces/acme/org-tokens", key, NULL);
	expect(403, "forbidden");
	call("DELETE", path, key, NULL);
	expect(403, "forbidden");
	call("POST", "/v1/namespaces/acme/org-tokens", jwt2, NULL);
	expect(403, "forbidden");
	call("DELETE", path, jwt2, NULL);
	expect(403, "forbidden");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'acme' AND outcome = 'denied' AND "
	    "actor_type = 'api_key' AND actor = '%.8s'", key + 6), 3);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'acme' AND outcome = 'denied' AND "
	    "actor_type = 'wallet' AND actor = '%s'", WALLET), 2);
	/* Nothing was revoked or minted by them. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "org_tokens WHERE revoked_at IS NULL"), 1);
	/* A track-3 wallet administers the namespace. */
	ck_assert_int_eq(call("POST", "/v1/namespaces/acme/org-tokens", jwt3,
	    "{\"name\":\"by wallet\"}"), 201);
	ck_assert_int_eq(call("DELETE", path, jwt3, NULL), 200);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "org_tokens WHERE created_by = 'wallet:%s'", WALLET2), 1);
}
END_TEST

START_TEST(http_create_errors)
{
	char	body[600];

	memset(body, 0, sizeof(body));
	strcpy(body, "{\"name\":\"");
	memset(body + 9, 'n', 256);
	strcat(body, "\"}");
	call("POST", "/v1/namespaces/acme/org-tokens", ADMIN, body);
	expect(400, "invalid_request");
	/* 255 characters is fine. */
	body[9 + 255] = '"';
	body[9 + 256] = '}';
	body[9 + 257] = '\0';
	ck_assert_int_eq(call("POST", "/v1/namespaces/acme/org-tokens", ADMIN,
	    body), 201);
	call("POST", "/v1/namespaces/acme/org-tokens", ADMIN,
	    "{\"name\":\"\"}");
	expect(400, "invalid_request");
	call("POST", "/v1/namespaces/acme/org-tokens", ADMIN,
	    "{\"name\":\"a\\u0001b\"}");
	expect(400, "invalid_request");
	call("POST", "/v1/namespaces/acme/org-tokens", ADMIN,
	    "{\"scopes\":[\"admin\"]}");
	expect(400, "invalid_request");
	call("POST", "/v1/namespaces/acme/org-tokens", ADMIN, "{\"name\":");
	expect(400, "invalid_json");
	call("POST", "/v1/namespaces/acme/org-tokens", ADMIN,
	    "{\"name\":5}");
	expect(400, "invalid_request");
	ck_assert_int_eq(call("POST", "/v1/namespaces/acme/org-tokens", ADMIN,
	    "{\"name\":null}"), 201);
	ck_assert(json_object_is_type(jget(hjson, "name"), json_type_null));
	call("POST", "/v1/namespaces/nosuch/org-tokens", ADMIN, NULL);
	expect(404, "namespace_not_found");
	/* Only the two good ones were made. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "org_tokens"), 2);
	/* list: bad limit, bad cursor. */
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/org-tokens",
	    "limit=0", ADMIN, NULL, NULL), 400);
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/org-tokens",
	    "cursor=abc", ADMIN, NULL, NULL), 400);
}
END_TEST

/* Inserts n live org tokens of acme, named n<from>.. in id order. */
static void
insert_live(int from, int n)
{
	MYSQL	*m = kg_test_conn(&hcfg);
	int	 i;

	for (i = from; i < from + n; i++)
		kg_test_sql(m, "INSERT INTO org_tokens (namespace_id, id8, "
		    "token_hash, name, created_by, created_at) VALUES (%llu, "
		    "'t%07d', UNHEX(SHA2('%d', 256)), 'n%d', 'admin', "
		    "UTC_TIMESTAMP(6))", hacme, i, i, i);
	mysql_close(m);
}

/* SPEC 8: at most 500 (list_max) per answer. */
START_TEST(http_list_cap)
{
	MYSQL		*m;
	json_object	*items;
	char		 cur[32];

	ck_assert_int_eq(hcfg.list_max, 500);
	insert_live(0, 501);
	m = kg_test_conn(&hcfg);
	/* One revoked, one of beta: neither listed. */
	kg_test_sql(m, "INSERT INTO org_tokens (namespace_id, id8, "
	    "token_hash, created_by, created_at, revoked_at) VALUES (%llu, "
	    "'rrrrrrrr', UNHEX(SHA2('r', 256)), 'admin', UTC_TIMESTAMP(6), "
	    "UTC_TIMESTAMP(6))", hacme);
	kg_test_sql(m, "INSERT INTO org_tokens (namespace_id, id8, "
	    "token_hash, created_by, created_at) VALUES (%llu, 'bbbbbbbb', "
	    "UNHEX(SHA2('b', 256)), 'admin', UTC_TIMESTAMP(6))", hbeta);
	mysql_close(m);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/org-tokens", ADMIN,
	    NULL), 200);
	items = jget(hjson, "items");
	ck_assert_uint_eq(json_object_array_length(items), 500);
	/* Newest first: the last inserted (n500) leads, n1 ends. */
	ck_assert_str_eq(json_object_get_string(jget(
	    json_object_array_get_idx(items, 0), "name")), "n500");
	ck_assert_str_eq(json_object_get_string(jget(
	    json_object_array_get_idx(items, 499), "name")), "n1");
	snprintf(cur, sizeof(cur), "cursor=%s", jstr("next_cursor"));
	ck_assert_uint_gt(strlen(cur), 7);
	/* A larger limit does not pass the cap. */
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/org-tokens",
	    "limit=1000", ADMIN, NULL, NULL), 200);
	ck_assert_uint_eq(json_object_array_length(jget(hjson, "items")), 500);
	/* The cursor reaches the 501st. */
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/org-tokens", cur,
	    ADMIN, NULL, NULL), 200);
	items = jget(hjson, "items");
	ck_assert_uint_eq(json_object_array_length(items), 1);
	ck_assert_str_eq(json_object_get_string(jget(
	    json_object_array_get_idx(items, 0), "name")), "n0");
	ck_assert(json_object_is_type(jget(hjson, "next_cursor"),
	    json_type_null));
	/* A smaller list_max is the cap; limit asks for fewer. */
	hcfg.list_max = 3;
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/org-tokens", ADMIN,
	    NULL), 200);
	ck_assert_uint_eq(json_object_array_length(jget(hjson, "items")), 3);
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/org-tokens",
	    "limit=2", ADMIN, NULL, NULL), 200);
	ck_assert_uint_eq(json_object_array_length(jget(hjson, "items")), 2);
	hcfg.list_max = 500;
}
END_TEST

/*
 * SPEC 1/8: a page that holds the last rows has no next_cursor, even
 * when full; and no config raises the cap past 500.
 */
START_TEST(http_list_full_page_and_hard_cap)
{
	json_object	*items;
	char		 cur[32];

	insert_live(0, 500);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/org-tokens", ADMIN,
	    NULL), 200);
	ck_assert_uint_eq(json_object_array_length(jget(hjson, "items")), 500);
	ck_assert(json_object_is_type(jget(hjson, "next_cursor"),
	    json_type_null));
	/* Asked for as many: still no cursor. */
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/org-tokens",
	    "limit=500", ADMIN, NULL, NULL), 200);
	ck_assert(json_object_is_type(jget(hjson, "next_cursor"),
	    json_type_null));
	insert_live(500, 1);
	hcfg.list_max = 10000;
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/org-tokens", ADMIN,
	    NULL), 200);
	items = jget(hjson, "items");
	ck_assert_uint_eq(json_object_array_length(items), 500);
	ck_assert_str_eq(json_object_get_string(jget(
	    json_object_array_get_idx(items, 0), "name")), "n500");
	snprintf(cur, sizeof(cur), "cursor=%s", jstr("next_cursor"));
	ck_assert_uint_gt(strlen(cur), 7);
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/org-tokens",
	    "limit=1000", ADMIN, NULL, NULL), 200);
	ck_assert_uint_eq(json_object_array_length(jget(hjson, "items")), 500);
	hcfg.list_max = 500;
	ck_assert_int_eq(req3("GET", "/v1/namespaces/acme/org-tokens", cur,
	    ADMIN, NULL, NULL), 200);
	items = jget(hjson, "items");
	ck_assert_uint_eq(json_object_array_length(items), 1);
	ck_assert_str_eq(json_object_get_string(jget(
	    json_object_array_get_idx(items, 0), "name")), "n0");
	ck_assert(json_object_is_type(jget(hjson, "next_cursor"),
	    json_type_null));
}
END_TEST

START_TEST(http_bad_tokens_no_query_db_down)
{
	char			 tok[KG_TOKEN_MAX], bad[KG_TOKEN_MAX];
	char			 other[KG_TOKEN_MAX], id8[9];
	char			 sock[] = "/nonexistent/keygate-test.sock";
	char			*saved;
	struct kg_db_stats	 before, after;
	struct kg_orgtoken	 t;
	size_t			 n;

	mint_as(ADMIN, "acme", NULL, tok, NULL);
	saved = hcfg.db_socket;
	hcfg.db_socket = sock;
	kg_db_disconnect(hctx.db);
	kg_db_stats(hctx.db, &before);
	snprintf(bad, sizeof(bad), "%s", tok);
	n = strlen(bad);
	bad[n - 1] = bad[n - 1] == 'A' ? 'B' : 'A';
	call("GET", "/v1/keys", bad, NULL);
	expect(401, "invalid_token");
	call("GET", "/v1/keys", "kg_ot_abc", NULL);
	expect(401, "invalid_token");
	ck_assert_int_eq(kg_token_mint("zz", "ot", other, id8), KG_OK);
	call("GET", "/v1/keys", other, NULL);
	expect(401, "invalid_token");
	ck_assert_int_eq(kg_orgtoken_find(&hctx, bad, strlen(bad), &t),
	    KG_ERR_INVALID);
	ck_assert_int_eq(kg_orgtoken_find(&hctx, tok, strlen(tok) - 1, &t),
	    KG_ERR_INVALID);
	kg_db_stats(hctx.db, &after);
	ck_assert_uint_eq(after.ds_executions, before.ds_executions);
	ck_assert_uint_eq(after.ds_errors, before.ds_errors);
	/* A well-formed token needs the database: down is 503, never a grant. */
	call("GET", "/v1/keys", tok, NULL);
	expect(503, "unavailable");
	call("GET", "/v1/auth/whoami", tok, NULL);
	expect(503, "unavailable");
	hcfg.db_socket = saved;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(call("GET", "/v1/keys", tok, NULL), 200);
	/* The introspection lookup: the row, and its state. */
	ck_assert_int_eq(kg_orgtoken_find(&hctx, tok, strlen(tok), &t), KG_OK);
	ck_assert_str_eq(t.ot_ns, "acme");
	ck_assert_int_eq(strncmp(t.ot_id8, tok + 6, 8), 0);
	ck_assert(t.ot_created_us > 0);
	ck_assert_int_eq(t.ot_revoked_us, 0);
	ck_assert_int_eq(kg_token_mint("kg", "ot", other, id8), KG_OK);
	ck_assert_int_eq(kg_orgtoken_find(&hctx, other, strlen(other), &t),
	    KG_ERR_NOT_FOUND);
}
END_TEST

/* last_used_at: at most one write a minute; a failed one refuses nothing. */
START_TEST(http_touch_best_effort)
{
	char			tok[KG_TOKEN_MAX];
	struct kg_db_stats	before, after;
	MYSQL			*m;

	/* Each full validation's own touch (check_authcache: the cache's). */
	kg_ht_cache_off();
	mint_as(ADMIN, "acme", NULL, tok, NULL);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", tok, NULL), 200);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "org_tokens WHERE last_used_at IS NOT NULL"), 1);
	kg_db_stats(hctx.db, &before);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", tok, NULL), 200);
	kg_db_stats(hctx.db, &after);
	ck_assert_uint_eq(after.ds_executions - before.ds_executions, 1);
	/* Due again, but every write of last_used_at fails. */
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "UPDATE org_tokens SET last_used_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 31 SECOND");
	kg_test_sql(m, "CREATE TRIGGER ot_no_touch BEFORE UPDATE ON "
	    "org_tokens FOR EACH ROW IF NOT (NEW.last_used_at <=> "
	    "OLD.last_used_at) THEN SIGNAL SQLSTATE '45000' SET "
	    "MESSAGE_TEXT = 'no touch'; END IF");
	kg_db_stats(hctx.db, &before);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", tok, NULL), 200);
	ck_assert_str_eq(jstr("method"), "org_token");
	kg_db_stats(hctx.db, &after);
	ck_assert_uint_eq(after.ds_executions - before.ds_executions, 2);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/org-tokens", tok,
	    NULL), 200);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM org_tokens "
	    "WHERE last_used_at < UTC_TIMESTAMP(6) - INTERVAL 30 SECOND"), 1);
	kg_test_sql(m, "DROP TRIGGER ot_no_touch");
	mysql_close(m);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", tok, NULL), 200);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "org_tokens WHERE last_used_at > UTC_TIMESTAMP(6) - INTERVAL 60 "
	    "SECOND"), 1);
}
END_TEST

/* SPEC 9: mints, revocations, refusals audited; no secret in any row. */
START_TEST(http_audit_no_secret)
{
	char		tok[KG_TOKEN_MAX], tok2[KG_TOKEN_MAX], key[KG_TOKEN_MAX];
	char		path[96];
	long long	id, id2;

	mint_as(ADMIN, "acme", "{\"name\":\"a\"}", tok, &id);
	mint_as(tok, "acme", NULL, tok2, &id2);
	ck_assert_int_eq(req3("POST", "/v1/keys", NULL, ADMIN, "acme",
	    "{\"name\":\"w\",\"scopes\":[\"keys:read\"]}"), 201);
	snprintf(key, sizeof(key), "%s", jstr("secret"));
	snprintf(path, sizeof(path), "/v1/namespaces/acme/org-tokens/%lld",
	    id);
	call("DELETE", path, key, NULL);
	expect(403, "forbidden");
	ck_assert_int_eq(call("DELETE", path, tok2, NULL), 200);
	call("DELETE", path, tok2, NULL);
	expect(404, "not_found");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'acme' AND action = "
	    "'org_token_create' AND outcome = 'ok' AND actor_type = 'admin' "
	    "AND target = 'org:%.8s'", tok + 6), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'acme' AND action = "
	    "'org_token_create' AND outcome = 'ok' AND actor_type = "
	    "'org_token' AND actor = '%.8s' AND target = 'org:%.8s'",
	    tok + 6, tok2 + 6), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'acme' AND action = "
	    "'org_token_revoke' AND outcome = 'ok' AND actor = '%.8s' AND "
	    "target = 'org:%.8s' AND remote_addr = '%s'", tok2 + 6, tok + 6,
	    KG_HT_REMOTE), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'org_token_revoke' AND outcome = "
	    "'denied' AND actor = '%.8s'", key + 6), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'org_token_revoke' AND outcome = "
	    "'failed' AND target = 'id:%lld'", id), 1);
	/* No row holds a token (or its secret part). */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE CONCAT_WS('|', namespace, actor_type, actor, "
	    "action, target, remote_addr, outcome) LIKE '%%kg\\_ot\\_%%' OR "
	    "CONCAT_WS('|', actor, target) LIKE '%%%.16s%%' OR "
	    "CONCAT_WS('|', actor, target) LIKE '%%%.16s%%'", tok + 15,
	    tok2 + 15), 0);
	ck_assert_int_ge(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action LIKE 'org\\_token%%'"), 5);
}
END_TEST

static Suite *
orgtoken_suite(void)
{
	Suite	*s = suite_create("orgtoken");
	TCase	*tc = tcase_create("store");
	TCase	*th = tcase_create("http");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, store_crud_isolation);
	tcase_add_test(tc, store_touch_at_most_every_minute);
	suite_add_tcase(s, tc);
	tcase_set_timeout(th, 120);
	tcase_add_checked_fixture(th, hsetup, kg_ht_teardown);
	tcase_add_test(th, http_crud_and_use);
	tcase_add_test(th, http_revoked_same_as_unknown);
	tcase_add_test(th, http_namespace_isolation);
	tcase_add_test(th, http_introspect);
	tcase_add_test(th, http_non_admins_refused);
	tcase_add_test(th, http_create_errors);
	tcase_add_test(th, http_list_cap);
	tcase_add_test(th, http_list_full_page_and_hard_cap);
	tcase_add_test(th, http_bad_tokens_no_query_db_down);
	tcase_add_test(th, http_touch_best_effort);
	tcase_add_test(th, http_audit_no_secret);
	suite_add_tcase(s, th);
	return s;
}

int
main(void)
{
	kg_test_db_require();
	return kg_test_run(orgtoken_suite());
}
