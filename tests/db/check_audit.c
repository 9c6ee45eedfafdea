/*
 * check_audit.c: the audit trail of SPEC 9 against a real MariaDB.  The
 * store listing (order, paging, filter, namespace); then the route
 * through kg_dispatch: order, paging, limit clamp, cursor and query
 * errors, isolation between namespaces, who may list, that the gate's
 * refusals are audited (best effort), and that no audit row ever holds
 * a secret handed to a client.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "core/api/authn.h"
#include "core/api/nsgate.h"
#include "core/api/router.h"
#include "core/api/session.h"
#include "core/crypto/token.h"
#include "core/store/audit.h"
#include "core/store/db.h"
#include "tests/db/dbtest.h"
#include "tests/db/httptest.h"

#define ADMIN	KG_HT_ADMIN
#define REMOTE	"192.0.2.9"
#define W1	"0x1111111111111111111111111111111111111111"
#define W2	"0x2222222222222222222222222222222222222222"
#define W3	"0x3333333333333333333333333333333333333333"
#define W4	"0x4444444444444444444444444444444444444444"
#define W5	"0x5555555555555555555555555555555555555555"
/* Keys whose addresses an independent library derived (check_wallet.c). */
#define K1_PRIV	"132cfd43948f7c93cbc78fea7fbc0764fa33fab299889a31f8423468d811f143"
#define K1_LOW	"0x3748a27775229ccc4c2c14e3f9455b04fc0b39c0"
#define K2_PRIV	"9da4fa466e97bb365a8208c2bd2cab7728c0aae789a12ee7e17567a765c8e696"
#define K2_LOW	"0xce7c0a23c265a3510473117933f9b6f07502f08a"

/* ------------------------------------------------------------ helpers */

/* Inserts n events into ns with actions "<prefix><i>", i = 0..n-1. */
static void
insert_events(const struct kg_config *cfg, const char *ns,
    const char *prefix, int n)
{
	MYSQL	*m = kg_test_conn(cfg);
	int	 i;

	for (i = 0; i < n; i++)
		kg_test_sql(m, "INSERT INTO audit_events (at, namespace, "
		    "actor_type, actor, action, target, remote_addr, outcome) "
		    "VALUES (UTC_TIMESTAMP(6), '%s', 'admin', 'admin', "
		    "'%s%d', NULL, '198.51.100.1', 'ok')", ns, prefix, i);
	mysql_close(m);
}

/* The number of audit rows of hcfg's database matching a WHERE clause. */
static long long
count_where(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static long long
count_where(const char *fmt, ...)
{
	va_list	ap;
	char	where[1024];

	va_start(ap, fmt);
	vsnprintf(where, sizeof(where), fmt, ap);
	va_end(ap);
	return kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM audit_events "
	    "WHERE %s", where);
}

/* ------------------------------------------------------------ store */

struct seen {
	char		actions[512];
	uint64_t	last;
	int		order_ok;
};

static enum kg_err
seen_fn(const struct kg_audit_event *ev, void *arg)
{
	struct seen	*s = arg;
	size_t		 len = strlen(s->actions);

	if (s->last != 0 && ev->ae_id >= s->last)
		s->order_ok = 0;
	s->last = ev->ae_id;
	ck_assert_ptr_nonnull(ev->ae.au_action);
	ck_assert_ptr_null(ev->ae.au_target);
	ck_assert_str_eq(ev->ae.au_remote_addr, "198.51.100.1");
	ck_assert(ev->ae_at_us > 0);
	snprintf(s->actions + len, sizeof(s->actions) - len, "%s%s",
	    len > 0 ? "," : "", ev->ae.au_action);
	return KG_OK;
}

static const char *
store_list(struct kg_db *db, const char *ns, uint64_t before,
    const char *action, size_t limit, struct seen *s, size_t *n)
{
	memset(s, 0, sizeof(*s));
	s->order_ok = 1;
	ck_assert_int_eq(kg_store_audit_list(db, ns, before, action, limit,
	    seen_fn, s, n), KG_OK);
	ck_assert(s->order_ok);
	return s->actions;
}

START_TEST(store_list_order_paging_filter)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_audit		 au;
	struct seen		 s;
	size_t			 n;
	char			 longact[100];

	kg_test_db_config(&cfg);
	db = kg_test_db_open(&cfg);
	insert_events(&cfg, "acme", "a", 5);
	insert_events(&cfg, "beta", "b", 2);
	insert_events(&cfg, "acme", "a", 1);	/* a0 again, newest */
	ck_assert_str_eq(store_list(db, "acme", 0, NULL, 100, &s, &n),
	    "a0,a4,a3,a2,a1,a0");
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(store_list(db, "acme", 0, NULL, 2, &s, &n), "a0,a4");
	ck_assert_str_eq(store_list(db, "acme", s.last, NULL, 2, &s, &n),
	    "a3,a2");
	ck_assert_str_eq(store_list(db, "acme", s.last, NULL, 2, &s, &n),
	    "a1,a0");
	ck_assert_str_eq(store_list(db, "acme", s.last, NULL, 2, &s, &n), "");
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(store_list(db, "acme", 0, "a0", 100, &s, &n),
	    "a0,a0");
	ck_assert_str_eq(store_list(db, "acme", s.last, "a0", 100, &s, &n),
	    "");
	ck_assert_str_eq(store_list(db, "acme", 0, "b0", 100, &s, &n), "");
	ck_assert_str_eq(store_list(db, "beta", 0, NULL, 100, &s, &n),
	    "b1,b0");
	ck_assert_str_eq(store_list(db, "nope", 0, NULL, 100, &s, &n), "");
	/* The writer still cuts over-long fields to the columns. */
	memset(longact, 'x', sizeof(longact) - 1);
	longact[sizeof(longact) - 1] = '\0';
	memset(&au, 0, sizeof(au));
	au.au_namespace = "acme";
	au.au_actor_type = "admin";
	au.au_action = longact;
	au.au_outcome = "ok";
	ck_assert_int_eq(kg_store_audit(db, &au), KG_OK);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT LENGTH(action) FROM "
	    "audit_events WHERE action LIKE 'xxx%%'"), KG_AUDIT_ACTION_MAX);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action LIKE 'xxx%%' AND actor = '' AND "
	    "target IS NULL AND remote_addr IS NULL"), 1);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* ------------------------------------------------------------ handlers */

static unsigned long long	hacme, hbeta;
static char			hadmin[128];

/* acme: W1 track 4, W2 track 3, W3 track 2, W5 track 1; beta: W4 4. */
static void
hsetup(void)
{
	static const struct kg_ht_opts	o = { 1, 1, REMOTE };

	kg_ht_setup(&o);
	hacme = kg_ht_make_ns(&hcfg, "acme");
	hbeta = kg_ht_make_ns(&hcfg, "beta");
	kg_ht_add_member(&hcfg, hacme, W1, 4, 4);
	kg_ht_add_member(&hcfg, hacme, W2, 3, 3);
	kg_ht_add_member(&hcfg, hacme, W3, 2, 2);
	kg_ht_add_member(&hcfg, hacme, W5, 1, 1);
	kg_ht_add_member(&hcfg, hbeta, W4, 4, 1);
	snprintf(hadmin, sizeof(hadmin), "Bearer %s", ADMIN);
}

/* One request; auth is a whole Authorization value or NULL. */
static int
callq(const char *method, const char *path, const char *query,
    const char *auth, const char *body)
{
	return kg_ht_call(method, path, query, auth, NULL,
	    body != NULL ? KG_CT_JSON : NULL, body);
}

/* cred is a raw credential, sent as Bearer. */
static int
credq(const char *method, const char *path, const char *query,
    const char *cred, const char *body)
{
	char	auth[8400];

	snprintf(auth, sizeof(auth), "Bearer %s", cred);
	return callq(method, path, query, auth, body);
}

/* A wallet session of subject in ns at track: "Bearer <jwt>" in auth. */
static void
start(const char *ns, const char *subject, int track, char *auth,
    size_t authlen)
{
	struct kg_session_tokens st;

	kg_ht_start(strcmp(ns, "acme") == 0 ? hacme : hbeta, ns, subject,
	    track, &st);
	ck_assert_uint_lt(strlen(kg_buf_str(&st.st_access)) + 8, authlen);
	snprintf(auth, authlen, "Bearer %s", kg_buf_str(&st.st_access));
	kg_buf_free(&st.st_access);
}

/* Mints an API key in ns as the global admin: its secret into sec. */
static void
mint_key(const char *ns, const char *scopes, char sec[KG_TOKEN_MAX])
{
	char	body[256];

	snprintf(body, sizeof(body), "{\"name\":\"k\",\"scopes\":[%s]}",
	    scopes);
	ck_assert_msg(kg_ht_call("POST", "/v1/keys", NULL, hadmin, ns,
	    KG_CT_JSON, body) == 201, "%s", kg_buf_str(&hresp.body));
	snprintf(sec, KG_TOKEN_MAX, "%s", kg_ht_str("secret"));
	ck_assert_uint_gt(strlen(sec), 20);
}

/*
 * The actions of the last list response, comma-joined; asserts every
 * item has exactly the documented members, namespace ns, and ids
 * strictly descending.  The next_cursor into cursor ("" for null).
 */
static const char *
listed(const char *ns, char *out, size_t len, char *cursor, size_t clen)
{
	json_object	*items, *nc;
	long long	 last = 0;
	size_t		 i, n;

	out[0] = '\0';
	ck_assert_int_eq(hresp.status, 200);
	ck_assert_str_eq(hresp.content_type, KG_CT_JSON);
	ck_assert_ptr_nonnull(hjson);
	ck_assert_int_eq(json_object_object_length(hjson), 2);
	ck_assert(json_object_object_get_ex(hjson, "items", &items));
	ck_assert(json_object_object_get_ex(hjson, "next_cursor", &nc));
	if (cursor != NULL)
		snprintf(cursor, clen, "%s", nc != NULL ?
		    json_object_get_string(nc) : "");
	n = json_object_array_length(items);
	for (i = 0; i < n; i++) {
		json_object	*it = json_object_array_get_idx(items, i);
		long long	 id;
		const char	*at = json_object_get_string(kg_ht_get(it,
				    "at"));

		ck_assert_int_eq(json_object_object_length(it), 9);
		id = json_object_get_int64(kg_ht_get(it, "id"));
		ck_assert(id > 0);
		ck_assert(last == 0 || id < last);
		last = id;
		ck_assert_uint_eq(strlen(at), 20);
		ck_assert_int_eq(at[10], 'T');
		ck_assert_int_eq(at[19], 'Z');
		ck_assert_str_eq(json_object_get_string(kg_ht_get(it,
		    "namespace")), ns);
		ck_assert(kg_ht_get(it, "actor_type") != NULL);
		ck_assert(kg_ht_get(it, "actor") != NULL);
		ck_assert(json_object_object_get_ex(it, "target", NULL));
		ck_assert(json_object_object_get_ex(it, "remote_addr", NULL));
		ck_assert(kg_ht_get(it, "outcome") != NULL);
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    i > 0 ? "," : "", json_object_get_string(kg_ht_get(it,
		    "action")));
	}
	return out;
}

/* Number of items in the last list response. */
static size_t
nitems(void)
{
	return json_object_array_length(kg_ht_get(hjson, "items"));
}

START_TEST(http_order_paging_cursor)
{
	char	v[1024], cur[64], q[128], all[1024];

	insert_events(&hcfg, "acme", "a", 7);
	insert_events(&hcfg, "beta", "b", 3);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", NULL,
	    hadmin, NULL), 200);
	ck_assert_str_eq(listed("acme", v, sizeof(v), cur, sizeof(cur)),
	    "a6,a5,a4,a3,a2,a1,a0");
	ck_assert_str_eq(cur, "");
	snprintf(all, sizeof(all), "%s", v);
	/* Pages of 3 walk the same list without gaps or repeats. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", "limit=3",
	    hadmin, NULL), 200);
	ck_assert_str_eq(listed("acme", v, sizeof(v), cur, sizeof(cur)),
	    "a6,a5,a4");
	ck_assert_str_ne(cur, "");
	snprintf(q, sizeof(q), "limit=3&cursor=%s", cur);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", q, hadmin,
	    NULL), 200);
	ck_assert_str_eq(listed("acme", v, sizeof(v), cur, sizeof(cur)),
	    "a3,a2,a1");
	snprintf(q, sizeof(q), "cursor=%s&limit=3", cur);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", q, hadmin,
	    NULL), 200);
	ck_assert_str_eq(listed("acme", v, sizeof(v), cur, sizeof(cur)), "a0");
	ck_assert_str_eq(cur, "");
	/* A page that ends exactly at the last event says so. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", "limit=7",
	    hadmin, NULL), 200);
	ck_assert_str_eq(listed("acme", v, sizeof(v), cur, sizeof(cur)), all);
	ck_assert_str_eq(cur, "");
	/* With an action filter. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit",
	    "action=a3", hadmin, NULL), 200);
	ck_assert_str_eq(listed("acme", v, sizeof(v), cur, sizeof(cur)), "a3");
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit",
	    "action=b1", hadmin, NULL), 200);
	ck_assert_str_eq(listed("acme", v, sizeof(v), NULL, 0), "");
	/* The global admin's namespace selector is not a filter. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/beta/audit",
	    "namespace=acme", hadmin, NULL), 200);
	ck_assert_str_eq(listed("beta", v, sizeof(v), NULL, 0), "b2,b1,b0");

	/* Bad query input: 400 invalid_request, nothing listed. */
	static const char *const bad[] = { "limit=0", "limit=-1", "limit=x",
	    "limit=", "limit=1&limit=2", "cursor=abc", "cursor=0",
	    "cursor=01", "cursor=", "cursor=12345678901234567890",
	    "cursor=1&cursor=2", "action=", "action=%01", "actoin=a3",
	    "foo=1", NULL };
	int	i;

	for (i = 0; bad[i] != NULL; i++) {
		ck_assert_msg(callq("GET", "/v1/namespaces/acme/audit", bad[i],
		    hadmin, NULL) == 400, "%s: %d", bad[i], hresp.status);
		kg_ht_expect(400, "invalid_request");
	}
	/* An action longer than any stored one. */
	strcpy(q, "action=");
	memset(q + 7, 'a', 65);
	q[7 + 65] = '\0';
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", q, hadmin,
	    NULL), 400);
	kg_ht_expect(400, "invalid_request");
}
END_TEST

START_TEST(http_limit_clamp_and_escaping)
{
	MYSQL	*m = kg_test_conn(&hcfg);
	char	 v[16384], cur[64], q[128];
	int	 i;

	/* 510 events in 10 statements. */
	for (i = 0; i < 10; i++) {
		int	j;

		snprintf(v, sizeof(v), "INSERT INTO audit_events (at, "
		    "namespace, actor_type, actor, action, outcome) VALUES ");
		for (j = 0; j < 51; j++) {
			size_t	len = strlen(v);

			snprintf(v + len, sizeof(v) - len, "%s(UTC_TIMESTAMP(6), "
			    "'acme', 'admin', 'admin', 'bulk', 'ok')",
			    j > 0 ? "," : "");
		}
		kg_test_sql(m, "%s", v);
	}
	/* A target with everything JSON must escape. */
	kg_test_sql(m, "INSERT INTO audit_events (at, namespace, actor_type, "
	    "actor, action, target, outcome) VALUES (UTC_TIMESTAMP(6), 'acme', "
	    "'wallet', 'w\\\"x', 'odd', 'q\\\"b\\\\\\\\n\\nt\\tc\\Z\\u00e9', "
	    "'ok')");
	mysql_close(m);

	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", "limit=1",
	    hadmin, NULL), 200);
	ck_assert_str_eq(listed("acme", v, sizeof(v), cur, sizeof(cur)), "odd");
	{
		json_object	*it = json_object_array_get_idx(kg_ht_get(hjson,
				    "items"), 0);

		ck_assert_str_eq(json_object_get_string(kg_ht_get(it,
		    "actor")), "w\"x");
		ck_assert_str_eq(json_object_get_string(kg_ht_get(it,
		    "target")), "q\"b\\\\n\nt\tc\032u00e9");
		ck_assert(kg_ht_get(it, "remote_addr") == NULL);
	}
	/* Default 100; above 500 clamped to 500; the cursor goes on. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", NULL,
	    hadmin, NULL), 200);
	ck_assert_uint_eq(nitems(), 100);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit",
	    "limit=501", hadmin, NULL), 200);
	ck_assert_uint_eq(nitems(), 500);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit",
	    "limit=99999999999999999999", hadmin, NULL), 200);
	ck_assert_uint_eq(nitems(), 500);
	listed("acme", v, sizeof(v), cur, sizeof(cur));
	ck_assert_str_ne(cur, "");
	snprintf(q, sizeof(q), "limit=500&cursor=%s", cur);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", q, hadmin,
	    NULL), 200);
	ck_assert_uint_eq(nitems(), 11);
	listed("acme", v, sizeof(v), cur, sizeof(cur));
	ck_assert_str_eq(cur, "");
}
END_TEST

START_TEST(http_isolation)
{
	char	b4[4200], a4[4200], v[1024], bkey[KG_TOKEN_MAX];

	insert_events(&hcfg, "acme", "a", 2);
	insert_events(&hcfg, "beta", "b", 2);
	start("beta", W4, 4, b4, sizeof(b4));
	start("acme", W1, 4, a4, sizeof(a4));
	/* beta's operator cannot list acme: 403, audited under acme. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", NULL, b4,
	    NULL), 403);
	kg_ht_expect(403, "forbidden");
	ck_assert_int_eq(count_where("namespace = 'acme' AND action = "
	    "'audit_list' AND outcome = 'denied' AND actor_type = 'wallet' "
	    "AND actor = '" W4 "' AND remote_addr = '" REMOTE "'"), 1);
	/* Nor learn whether a namespace exists: 403 before 404. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/nope/audit", NULL, b4,
	    NULL), 403);
	kg_ht_expect(403, "forbidden");
	/* A key of beta holding admin: the same. */
	mint_key("beta", "\"admin\"", bkey);
	ck_assert_int_eq(credq("GET", "/v1/namespaces/acme/audit", NULL, bkey,
	    NULL), 403);
	ck_assert_int_eq(credq("GET", "/v1/namespaces/beta/audit", NULL, bkey,
	    NULL), 200);
	/* Each sees its own events only, the refusals against it included. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", NULL, a4,
	    NULL), 200);
	ck_assert_str_eq(listed("acme", v, sizeof(v), NULL, 0),
	    "audit_list,audit_list,a1,a0");
	ck_assert_int_eq(callq("GET", "/v1/namespaces/beta/audit", NULL, b4,
	    NULL), 200);
	listed("beta", v, sizeof(v), NULL, 0);
	ck_assert(strstr(v, "b1,b0") != NULL);
	ck_assert(strstr(v, "a0") == NULL && strstr(v, "a1") == NULL);
	ck_assert(strstr(v, "audit_list") == NULL);
	/* The namespace of the path decides, not the admin's selector. */
	ck_assert_int_eq(kg_ht_call("GET", "/v1/namespaces/beta/audit", NULL,
	    hadmin, "acme", NULL, NULL), 200);
	listed("beta", v, sizeof(v), NULL, 0);
	ck_assert(strstr(v, "a0") == NULL);
	/* 404 only after authorisation; a name that cannot be one: 400. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/nope/audit", NULL,
	    hadmin, NULL), 404);
	kg_ht_expect(404, "namespace_not_found");
	ck_assert_int_eq(callq("GET", "/v1/namespaces/No!/audit", NULL,
	    hadmin, NULL), 400);
	kg_ht_expect(400, "invalid_namespace");
	/* Events naming a missing namespace stay unlisted. */
	ck_assert_int_eq(count_where("namespace = 'nope'"), 1);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", NULL, NULL,
	    NULL), 401);
	kg_ht_expect(401, "unauthenticated");
}
END_TEST

START_TEST(http_rights)
{
	char	t1[4200], t2[4200], t3[4200], admkey[KG_TOKEN_MAX];
	char	rw[KG_TOKEN_MAX], jwt[4096], id8[9];

	start("acme", W5, 1, t1, sizeof(t1));
	start("acme", W3, 2, t2, sizeof(t2));
	start("acme", W2, 3, t3, sizeof(t3));
	/* Tracks 1 and 2: refused, and each refusal is audited. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", NULL, t1,
	    NULL), 403);
	kg_ht_expect(403, "forbidden");
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", NULL, t2,
	    NULL), 403);
	kg_ht_expect(403, "forbidden");
	ck_assert_int_eq(count_where("action = 'audit_list' AND outcome = "
	    "'denied' AND actor IN ('" W5 "', '" W3 "')"), 2);
	/* Track 3 and the global admin may. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", NULL, t3,
	    NULL), 200);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit", NULL,
	    hadmin, NULL), 200);
	/* An API key: admin counts, keys scopes do not. */
	mint_key("acme", "\"admin\"", admkey);
	mint_key("acme", "\"keys:read\",\"keys:write\"", rw);
	ck_assert_int_eq(credq("GET", "/v1/namespaces/acme/audit", NULL,
	    admkey, NULL), 200);
	ck_assert_int_eq(credq("GET", "/v1/namespaces/acme/audit", NULL, rw,
	    NULL), 403);
	snprintf(id8, sizeof(id8), "%.8s", rw + 6);
	ck_assert_int_eq(count_where("action = 'audit_list' AND outcome = "
	    "'denied' AND actor_type = 'api_key' AND actor = '%s'", id8), 1);
	/* A token exchanged from the admin key carries admin. */
	ck_assert_int_eq(credq("POST", "/v1/auth/token", NULL, admkey, NULL),
	    200);
	snprintf(jwt, sizeof(jwt), "%s", kg_ht_str("access_token"));
	ck_assert_int_eq(credq("GET", "/v1/namespaces/acme/audit", NULL, jwt,
	    NULL), 200);
	/* Allowed listings are not audited: only the three refusals are. */
	ck_assert_int_eq(count_where("action = 'audit_list'"), 3);
}
END_TEST


START_TEST(http_gate_refusals_audited)
{
	char		ro[KG_TOKEN_MAX], t1[4200], id8[9], path[256], v[1024];
	long long	before;
	MYSQL		*m;

	mint_key("acme", "\"keys:read\"", ro);
	snprintf(id8, sizeof(id8), "%.8s", ro + 6);
	/* keys:read may read keys: no audit row. */
	before = count_where("outcome = 'denied'");
	ck_assert_int_eq(credq("GET", "/v1/keys", NULL, ro, NULL), 200);
	ck_assert_int_eq(count_where("outcome = 'denied'"), before);
	/* ... and not create one: 403, one denied row naming its prefix. */
	ck_assert_int_eq(credq("POST", "/v1/keys", NULL, ro,
	    "{\"name\":\"x\",\"scopes\":[\"keys:read\"]}"), 403);
	kg_ht_expect(403, "forbidden");
	ck_assert_int_eq(count_where("outcome = 'denied'"), before + 1);
	ck_assert_int_eq(count_where("namespace = 'acme' AND action = "
	    "'POST /v1/keys' AND outcome = 'denied' AND actor_type = "
	    "'api_key' AND actor = '%s' AND target IS NULL AND remote_addr = "
	    "'" REMOTE "'", id8), 1);
	/* The target is the path's id ... */
	ck_assert_int_eq(credq("DELETE", "/v1/keys/17", NULL, ro, NULL), 403);
	ck_assert_int_eq(count_where("action = 'DELETE /v1/keys/{id}' AND "
	    "target = 'id=17' AND actor = '%s'", id8), 1);
	/* ... but never a credential put in a path. */
	snprintf(path, sizeof(path), "/v1/keys/%s", ro);
	ck_assert_int_eq(credq("DELETE", path, NULL, ro, NULL), 403);
	ck_assert_int_eq(count_where("action = 'DELETE /v1/keys/{id}' AND "
	    "target IS NULL"), 1);
	ck_assert_int_eq(credq("DELETE", "/v1/keys/mdt_"
	    "0123456789abcdef0123456789abcdef01234567", NULL, ro, NULL), 403);
	ck_assert_int_eq(count_where("action = 'DELETE /v1/keys/{id}' AND "
	    "target IS NULL"), 2);
	ck_assert_int_eq(count_where("target LIKE '%%mdt_%%' OR target LIKE "
	    "'%%%s%%'", ro + 15), 0);
	/* A wallet session of track 1 (projects:read): its wallet. */
	start("acme", W5, 1, t1, sizeof(t1));
	ck_assert_int_eq(callq("GET", "/v1/keys", NULL, t1, NULL), 403);
	ck_assert_int_eq(count_where("action = 'GET /v1/keys' AND actor_type "
	    "= 'wallet' AND actor = '" W5 "' AND namespace = 'acme'"), 1);
	/* The daemon routes refuse other kinds: audited the same way. */
	ck_assert_int_eq(credq("GET", "/v1/daemon/whoami", NULL, ro, NULL),
	    403);
	kg_ht_expect(403, "forbidden");
	ck_assert_int_eq(count_where("action = 'GET /v1/daemon/whoami' AND "
	    "actor = '%s' AND outcome = 'denied'", id8), 1);
	/* The global admin outside any namespace is bound to none. */
	before = count_where("1");
	ck_assert_int_eq(callq("GET", "/v1/daemon/whoami", NULL, hadmin,
	    NULL), 403);
	ck_assert_int_eq(count_where("1"), before);
	/* The namespace's admins see the refusals, filtered by route. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/audit",
	    "action=DELETE%20%2Fv1%2Fkeys%2F%7Bid%7D", hadmin, NULL), 200);
	ck_assert_str_eq(listed("acme", v, sizeof(v), NULL, 0),
	    "DELETE /v1/keys/{id},DELETE /v1/keys/{id},"
	    "DELETE /v1/keys/{id}");

	/* Best effort: without the table the answer is the same 403. */
	m = kg_test_conn(&hcfg);
	kg_test_sql(m, "RENAME TABLE audit_events TO audit_events_gone");
	ck_assert_int_eq(credq("POST", "/v1/keys", NULL, ro,
	    "{\"name\":\"x\",\"scopes\":[\"keys:read\"]}"), 403);
	kg_ht_expect(403, "forbidden");
	ck_assert_int_eq(credq("GET", "/v1/keys", NULL, ro, NULL), 200);
	kg_test_sql(m, "RENAME TABLE audit_events_gone TO audit_events");
	mysql_close(m);
	before = count_where("action = 'POST /v1/keys'");
	ck_assert_int_eq(credq("POST", "/v1/keys", NULL, ro,
	    "{\"name\":\"x\",\"scopes\":[\"keys:read\"]}"), 403);
	ck_assert_int_eq(count_where("action = 'POST /v1/keys'"), before + 1);
}
END_TEST

/* ------------------------------------------------------------ secrets */

/*
 * A signed body for verify, api-key and apps: a challenge for wallet in
 * ns, signed with priv; extra ("" or ",\"name\":...") appended.
 */
static void
signed_body(char *out, size_t len, const char *priv, const char *wallet,
    const char *ns, const char *extra)
{
	char		 body[256], sig[133];
	json_object	*o;
	const char	*s;

	snprintf(body, sizeof(body), "{\"wallet\":\"%s\",\"namespace\":\"%s\"}",
	    wallet, ns);
	ck_assert_msg(callq("POST", "/v1/auth/challenge", NULL, NULL, body) ==
	    200, "%s", kg_buf_str(&hresp.body));
	kg_ht_sign_personal(priv, kg_ht_str("message"), sig);
	o = json_object_new_object();
	json_object_object_add(o, "wallet", json_object_new_string(wallet));
	json_object_object_add(o, "nonce", json_object_new_string(
	    kg_ht_str("nonce")));
	json_object_object_add(o, "signature", json_object_new_string(sig));
	json_object_object_add(o, "namespace", json_object_new_string(ns));
	json_object_object_add(o, "message", json_object_new_string(
	    kg_ht_str("message")));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(out, len, "%.*s%s}", (int)strlen(s) - 1, s, extra);
	json_object_put(o);
}

#define NSECRETS	16

/* The plaintext credentials handed out, and the secret part of each. */
struct secrets {
	char	s[NSECRETS][4096];
	int	n;
};

/* Keeps member name of the last response (asserted present). */
static const char *
keep(struct secrets *sc, const char *name)
{
	ck_assert_int_lt(sc->n, NSECRETS);
	snprintf(sc->s[sc->n], sizeof(sc->s[0]), "%s", kg_ht_str(name));
	ck_assert_msg(strlen(sc->s[sc->n]) >= 20, "%s: %s", name,
	    kg_buf_str(&hresp.body));
	return sc->s[sc->n++];
}

/*
 * Asserts that s holds no secret: neither whole nor the part that makes
 * it one (an opaque token's text after its id8, a JWT's signature).
 */
static void
assert_clean(const struct secrets *sc, const char *s, const char *where)
{
	int	i;

	if (s == NULL)
		return;
	for (i = 0; i < sc->n; i++) {
		const char	*t = sc->s[i], *part;

		ck_assert_msg(strstr(s, t) == NULL, "%s holds secret %d", where,
		    i);
		part = strchr(t, '.') != NULL ? strrchr(t, '.') + 1 :
		    strlen(t) > 16 ? t + 16 : t;
		ck_assert_msg(strlen(part) < 20 || strstr(s, part) == NULL,
		    "%s holds part of secret %d", where, i);
	}
}

/*
 * Reads every column of every audit row through a raw connection and
 * asserts none holds a secret of sc.  Returns the number of rows.
 */
static long long
rows_clean(const struct secrets *sc)
{
	MYSQL		*m = kg_test_conn(&hcfg);
	MYSQL_RES	*res;
	MYSQL_ROW	 row;
	unsigned int	 i, ncol;
	long long	 rows = 0;

	ck_assert_int_eq(mysql_query(m, "SELECT id, at, namespace, "
	    "actor_type, actor, action, target, remote_addr, outcome FROM "
	    "audit_events"), 0);
	ck_assert_ptr_nonnull(res = mysql_store_result(m));
	ncol = mysql_num_fields(res);
	while ((row = mysql_fetch_row(res)) != NULL) {
		for (i = 0; i < ncol; i++)
			assert_clean(sc, row[i], "an audit column");
		rows++;
	}
	mysql_free_result(res);
	mysql_close(m);
	return rows;
}

START_TEST(http_no_secret_in_audit_rows)
{
	struct secrets	 sc;
	char		 body[8192], rt[KG_TOKEN_MAX], path[256];
	const char	*rt1, *at3, *sk1, *sk2;
	long long	 rows;

	memset(&sc, 0, sizeof(sc));
	ck_assert_int_lt(snprintf(sc.s[sc.n++], sizeof(sc.s[0]), "%s", ADMIN),
	    (int)sizeof(sc.s[0]));
	/* Wallet sign-in (new namespace web3, K1 its owner). */
	signed_body(body, sizeof(body), K1_PRIV, K1_LOW, "web3", "");
	ck_assert_msg(callq("POST", "/v1/auth/verify", NULL, NULL, body) ==
	    200, "%s", kg_buf_str(&hresp.body));
	keep(&sc, "access_token");
	rt1 = keep(&sc, "refresh_token");
	/* Rotation, then reuse of the rotated token. */
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt1);
	ck_assert_int_eq(callq("POST", "/v1/auth/refresh", NULL, NULL, body),
	    200);
	keep(&sc, "access_token");
	keep(&sc, "refresh_token");
	ck_assert_int_eq(callq("POST", "/v1/auth/refresh", NULL, NULL, body),
	    401);
	kg_ht_expect(401, "refresh_token_reused");
	/* Sign in again; rotate the access token. */
	signed_body(body, sizeof(body), K1_PRIV, K1_LOW, "web3", "");
	ck_assert_int_eq(callq("POST", "/v1/auth/verify", NULL, NULL, body),
	    200);
	keep(&sc, "access_token");
	snprintf(rt, sizeof(rt), "%s", keep(&sc, "refresh_token"));
	at3 = sc.s[sc.n - 2];
	ck_assert_int_eq(credq("POST", "/v1/auth/refresh", NULL, at3, NULL),
	    200);
	at3 = keep(&sc, "access_token");
	/* An API key by the owner's session, exchanged for a JWT. */
	ck_assert_msg(credq("POST", "/v1/keys", NULL, at3,
	    "{\"name\":\"ci\",\"scopes\":[\"keys:read\",\"projects:read\"]}") ==
	    201, "%s", kg_buf_str(&hresp.body));
	sk1 = keep(&sc, "secret");
	ck_assert_int_eq(credq("POST", "/v1/auth/token", NULL, sk1, NULL),
	    200);
	keep(&sc, "access_token");
	/* Refused attempts presenting the key, one with it in the path. */
	ck_assert_int_eq(credq("POST", "/v1/keys", NULL, sk1,
	    "{\"name\":\"x\",\"scopes\":[\"keys:read\"]}"), 403);
	snprintf(path, sizeof(path), "/v1/keys/%s", sk1);
	ck_assert_int_eq(credq("DELETE", path, NULL, sk1, NULL), 403);
	ck_assert_int_eq(credq("GET", "/v1/namespaces/web3/audit", NULL, sk1,
	    NULL), 403);
	/* A wallet-signed key (K2 joins at track 1) and an app. */
	signed_body(body, sizeof(body), K2_PRIV, K2_LOW, "web3",
	    ",\"name\":\"wk\"");
	ck_assert_msg(callq("POST", "/v1/auth/api-key", NULL, NULL, body) ==
	    201, "%s", kg_buf_str(&hresp.body));
	sk2 = keep(&sc, "api_key");
	ck_assert_int_eq(credq("GET", "/v1/namespaces/web3/audit", NULL, sk2,
	    NULL), 403);
	signed_body(body, sizeof(body), K1_PRIV, K1_LOW, "web3",
	    ",\"name\":\"app\"");
	ck_assert_msg(callq("POST", "/v1/apps", NULL, NULL, body) == 201, "%s",
	    kg_buf_str(&hresp.body));
	/* Logout by refresh token; revocation of the key's JWT. */
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt);
	ck_assert_int_eq(callq("POST", "/v1/auth/logout", NULL, NULL, body),
	    200);
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", sc.s[sc.n - 1]);
	ck_assert_int_eq(callq("POST", "/v1/auth/revoke", NULL, NULL, body),
	    200);

	/* The flows were audited: the check below is not vacuous. */
	ck_assert_int_ge(count_where("action = 'signin'"), 2);
	ck_assert_int_ge(count_where("action = 'refresh'"), 1);
	ck_assert_int_ge(count_where("action = 'refresh_reuse'"), 1);
	ck_assert_int_ge(count_where("action = 'token_refresh'"), 1);
	ck_assert_int_ge(count_where("action = 'key_create'"), 2);
	ck_assert_int_ge(count_where("action = 'token_exchange'"), 1);
	ck_assert_int_ge(count_where("action = 'app_register'"), 1);
	ck_assert_int_ge(count_where("action = 'logout'"), 1);
	ck_assert_int_eq(count_where("action = 'audit_list' AND outcome = "
	    "'denied'"), 2);
	ck_assert_int_eq(count_where("action LIKE '%%/v1/keys%%' AND outcome "
	    "= 'denied'"), 2);

	/* Every column of every row, read directly. */
	rows = rows_clean(&sc);
	ck_assert_int_ge(rows, 12);
	/* Nor does the listing hand any back. */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/web3/audit", NULL,
	    hadmin, NULL), 200);
	assert_clean(&sc, kg_buf_str(&hresp.body), "the listing");
	ck_assert_uint_ge(nitems(), 12);
}
END_TEST

/*
 * Credentials put in the {ns} and {id} path segments of every route
 * gated on the namespace (members, org tokens, install and daemon
 * tokens, the audit listing) and of a route the router gates: no audit
 * row, in any column, holds one.  mit_/mdt_ + hex are valid namespace
 * names, so only the gate's allow-list keeps them out.
 */
START_TEST(http_no_secret_in_ns_segment)
{
	/* method, path up to {ns}, the rest, 1 when {id}/{wallet} ends it */
	static const struct {
		const char	*m, *pre, *post;
		int		 id;
	} tmpl[] = {
		{ "GET",	"/v1/namespaces/", "/org-tokens", 0 },
		{ "POST",	"/v1/namespaces/", "/org-tokens", 0 },
		{ "DELETE",	"/v1/namespaces/", "/org-tokens/", 1 },
		{ "POST",	"/v1/namespaces/", "/install-tokens", 0 },
		{ "GET",	"/v1/namespaces/", "/daemon-tokens", 0 },
		{ "DELETE",	"/v1/namespaces/", "/daemon-tokens/", 1 },
		{ "GET",	"/v1/namespaces/", "/audit", 0 },
		{ "GET",	"/v1/namespaces/", "/members", 0 },
		{ "PUT",	"/v1/namespaces/", "/members/", 1 },
		{ "DELETE",	"/v1/namespaces/", "/members/", 1 },
		{ "DELETE",	"/v1/keys/", "", 0 },
	};
	struct secrets	 sc;
	char		 path[512], body[256], sk[KG_TOKEN_MAX];
	const char	*ot, *it, *dt, *botok, *callers[3];
	size_t		 t;
	int		 a, c, k;
	long long	 rows;

	memset(&sc, 0, sizeof(sc));
	/* The credentials: an org token, an install token, a daemon token
	 * (from a second install token) and an API key, all of acme. */
	ck_assert_msg(callq("POST", "/v1/namespaces/acme/org-tokens", NULL,
	    hadmin, "{}") == 201, "%s", kg_buf_str(&hresp.body));
	ot = keep(&sc, "token");
	ck_assert_int_eq(callq("POST", "/v1/namespaces/acme/install-tokens",
	    NULL, hadmin, NULL), 201);
	it = keep(&sc, "token");
	ck_assert_int_eq(callq("POST", "/v1/namespaces/acme/install-tokens",
	    NULL, hadmin, NULL), 201);
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"daemon_id\":\"d1\"}",
	    kg_ht_str("token"));
	ck_assert_msg(callq("POST", "/v1/install-tokens/exchange", NULL, NULL,
	    body) == 200, "%s", kg_buf_str(&hresp.body));
	dt = keep(&sc, "token");
	mint_key("acme", "\"keys:read\"", sk);
	snprintf(sc.s[sc.n++], sizeof(sc.s[0]), "%s", sk);
	ck_assert_int_eq(strncmp(it, "mit_", 4), 0);
	ck_assert_int_eq(strncmp(dt, "mdt_", 4), 0);
	/* Callers: beta's org token (not an admin of the names), acme's
	 * org token (an admin of acme, for {id}), acme's read-only key. */
	ck_assert_int_eq(callq("POST", "/v1/namespaces/beta/org-tokens", NULL,
	    hadmin, "{}"), 201);
	botok = keep(&sc, "token");
	callers[0] = botok;
	callers[1] = ot;
	callers[2] = sk;
	for (c = 0; c < 3; c++)
		for (k = 0; k < sc.n; k++)
			for (t = 0; t < sizeof(tmpl) / sizeof(tmpl[0]); t++) {
				/* {ns} the secret; {id} too, and under acme. */
				for (a = 0; a < 2; a++) {
					snprintf(path, sizeof(path), "%s%s%s%s",
					    tmpl[t].pre, a == 0 ? sc.s[k] :
					    "acme", tmpl[t].post, tmpl[t].id ?
					    sc.s[k] : "");
					(void)credq(tmpl[t].m, path, NULL,
					    callers[c], strcmp(tmpl[t].m,
					    "PUT") == 0 ? "{\"track\":1}" :
					    NULL);
				}
			}

	/* Every column of every row, read directly. */
	rows = rows_clean(&sc);
	ck_assert_int_ge(rows, 100);
	/* Refusals were recorded (under the caller's namespace, since the
	 * names cannot be): the check below is not vacuous. */
	ck_assert_int_ge(count_where("outcome = 'denied' AND namespace = "
	    "'beta' AND action = 'org_token_list'"), 5);
	ck_assert_int_ge(count_where("outcome = 'denied' AND namespace = "
	    "'beta' AND action = 'install_token_create'"), 5);
	ck_assert_int_ge(count_where("outcome = 'denied' AND namespace = "
	    "'beta' AND action = 'daemon_token_revoke'"), 5);
	ck_assert_int_ge(count_where("outcome = 'denied' AND namespace = "
	    "'beta' AND action = 'audit_list'"), 5);
	ck_assert_int_ge(count_where("outcome = 'denied' AND namespace = "
	    "'beta' AND action = 'member_set'"), 5);
	ck_assert_int_ge(count_where("outcome = 'denied' AND action LIKE "
	    "'DELETE /v1/keys%%'"), 5);
	ck_assert_int_ge(count_where("outcome = 'failed' AND namespace = "
	    "'acme' AND action = 'org_token_revoke'"), 5);
	/* A safe name is still recorded as named. */
	rows = count_where("outcome = 'denied' AND namespace = 'acme' AND "
	    "action = 'org_token_list'");
	ck_assert_int_eq(credq("GET", "/v1/namespaces/acme/org-tokens", NULL,
	    botok, NULL), 403);
	ck_assert_int_eq(count_where("outcome = 'denied' AND namespace = "
	    "'acme' AND action = 'org_token_list'"), rows + 1);
}
END_TEST

/* The allow-list of names an audit row may carry (nsgate.c). */
START_TEST(ns_safe_allow_list)
{
	struct kg_config	c;
	char			n[80];

	memset(&c, 0, sizeof(c));
	ck_assert(kg_audit_ns_safe(&c, "acme"));
	ck_assert(kg_audit_ns_safe(&c, "team_a.prod-1"));
	ck_assert(kg_audit_ns_safe(&c, "build-0123456789abcdef"));
	ck_assert(!kg_audit_ns_safe(&c, NULL));
	ck_assert(!kg_audit_ns_safe(&c, "Acme"));
	ck_assert(!kg_audit_ns_safe(&c, "mit_0123"));
	ck_assert(!kg_audit_ns_safe(&c, "mdt_"));
	ck_assert(!kg_audit_ns_safe(&c, "kg_sk_3f9a2c1b"));
	ck_assert(!kg_audit_ns_safe(&c, "acme_ot_x"));
	ck_assert(!kg_audit_ns_safe(&c,
	    "x0123456789abcdef0123456789abcdef"));
	/* An admin key that could be a name: no name of its length. */
	snprintf(n, sizeof(n), "%s", "letmeinletmeinletmeinletmeinlet1");
	c.admin_key = n;
	ck_assert(!kg_audit_ns_safe(&c, n));
	ck_assert(!kg_audit_ns_safe(&c, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
	ck_assert(kg_audit_ns_safe(&c, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
	/* One that cannot be a name leaves names alone. */
	snprintf(n, sizeof(n), "%s", "LetMeIn-LetMeIn-LetMeIn-LetMeIn!");
	ck_assert(kg_audit_ns_safe(&c, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite	*s = suite_create("audit");
	TCase	*tc;

	tc = tcase_create("store");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, store_list_order_paging_filter);
	tcase_add_test(tc, ns_safe_allow_list);
	suite_add_tcase(s, tc);

	tc = tcase_create("http");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, hsetup, kg_ht_teardown);
	tcase_add_test(tc, http_order_paging_cursor);
	tcase_add_test(tc, http_limit_clamp_and_escaping);
	tcase_add_test(tc, http_isolation);
	tcase_add_test(tc, http_rights);
	tcase_add_test(tc, http_gate_refusals_audited);
	tcase_add_test(tc, http_no_secret_in_audit_rows);
	tcase_add_test(tc, http_no_secret_in_ns_segment);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	kg_test_db_require();
	return kg_test_run(audit_suite());
}
