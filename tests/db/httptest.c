/* httptest.c: the HTTP-level DB test harness; see httptest.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <json-c/json.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "core/api/authcache.h"
#include "core/api/router.h"
#include "core/crypto/eth.h"
#include "core/store/db.h"
#include "tests/db/dbtest.h"
#include "tests/db/httptest.h"

struct kg_config	 hcfg;
struct kg_ctx		 hctx;
struct kg_response	 hresp;
json_object		*hjson;

static const char	*ht_remote = KG_HT_REMOTE;
static long long	 ht_skew_ms;
static struct timespec	 ht_frozen;	/* tv_sec 0: the clock runs */

/* The real (or frozen) clock, moved by kg_ht_advance_ms. */
static void
ht_now(struct timespec *ts)
{
	long long	ns;

	if (ht_frozen.tv_sec != 0)
		*ts = ht_frozen;
	else
		clock_gettime(CLOCK_REALTIME, ts);
	ns = (long long)ts->tv_nsec + ht_skew_ms % 1000 * 1000000LL;
	ts->tv_sec += ht_skew_ms / 1000 + ns / 1000000000LL;
	ts->tv_nsec = ns % 1000000000LL;
}

void
kg_ht_cache_off(void)
{
	kg_authcache_free(hctx.authcache);
	hctx.authcache = NULL;
}

void
kg_ht_freeze_clock(void)
{
	clock_gettime(CLOCK_REALTIME, &ht_frozen);
}

void
kg_ht_advance_ms(long long ms)
{
	ht_skew_ms += ms;
}

void
kg_ht_cfg_str(char **field, const char *value)
{
	free(*field);
	ck_assert_ptr_nonnull(*field = strdup(value));
}

void
kg_ht_setup(const struct kg_ht_opts *o)
{
	kg_test_db_config(&hcfg);
	if (o->keys) {
		kg_ht_cfg_str(&hcfg.jwt_secret, KG_HT_SECRET);
		kg_ht_cfg_str(&hcfg.admin_key, KG_HT_ADMIN);
	}
	if (o->no_rate) {
		hcfg.rate_ip_rate = 0;
		hcfg.rate_wallet_rate = 0;
	}
	ht_remote = o->remote_addr != NULL ? o->remote_addr : KG_HT_REMOTE;
	memset(&hctx, 0, sizeof(hctx));
	memset(&hresp, 0, sizeof(hresp));
	ck_assert_int_eq(kg_ctx_init(&hctx, &hcfg), KG_OK);
	ht_skew_ms = 0;
	ht_frozen.tv_sec = 0;
	hctx.now = ht_now;
	hjson = NULL;
}

void
kg_ht_teardown(void)
{
	if (hjson != NULL)
		json_object_put(hjson);
	hjson = NULL;
	kg_resp_free(&hresp);
	kg_ctx_free(&hctx);
	kg_test_db_teardown(&hcfg);
}

void
kg_ht_request(struct kg_request *req, const char *method, const char *path,
    const char *query, const char *auth, const char *x_ns, const char *ctype,
    const char *body)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->path = path;
	req->query = query != NULL ? query : "";
	req->authorization = auth;
	req->x_namespace = x_ns;
	req->content_type = ctype;
	req->body = body != NULL ? body : "";
	req->body_len = strlen(req->body);
	req->remote_addr = ht_remote;
}

int
kg_ht_dispatch(const struct kg_request *req)
{
	kg_dispatch(&hctx, req, &hresp);
	if (hjson != NULL)
		json_object_put(hjson);
	hjson = json_tokener_parse(kg_buf_str(&hresp.body));
	return hresp.status;
}

int
kg_ht_call(const char *method, const char *path, const char *query,
    const char *auth, const char *x_ns, const char *ctype, const char *body)
{
	struct kg_request	req;

	kg_ht_request(&req, method, path, query, auth, x_ns, ctype, body);
	return kg_ht_dispatch(&req);
}

json_object *
kg_ht_body_json(void)
{
	json_object	*doc;

	doc = json_tokener_parse(kg_buf_str(&hresp.body));
	ck_assert_msg(doc != NULL, "not JSON: %s", kg_buf_str(&hresp.body));
	return doc;
}

const char *
kg_ht_member(const char *name, char *out, size_t len)
{
	json_object	*doc, *v;

	out[0] = '\0';
	doc = kg_ht_body_json();
	/* null reads as "" */
	if (json_object_object_get_ex(doc, name, &v) && v != NULL)
		snprintf(out, len, "%s", json_object_get_string(v));
	json_object_put(doc);
	return out;
}

const char *
kg_ht_error(void)
{
	static char	e[64];

	return kg_ht_member("error", e, sizeof(e));
}

json_object *
kg_ht_get(json_object *o, const char *member)
{
	json_object	*v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, member, &v))
		return NULL;
	return v;
}

const char *
kg_ht_str(const char *member)
{
	json_object	*v = kg_ht_get(hjson, member);

	return v != NULL ? json_object_get_string(v) : "";
}

void
kg_ht_expect(int status, const char *code)
{
	ck_assert_msg(hresp.status == status &&
	    strcmp(kg_ht_str("error"), code) == 0,
	    "expected %d %s, got %d %s", status, code, hresp.status,
	    kg_buf_str(&hresp.body));
}

unsigned long long
kg_ht_make_ns(const struct kg_config *cfg, const char *name)
{
	MYSQL		*m = kg_test_conn(cfg);
	long long	 id;

	kg_test_sql(m, "INSERT INTO namespaces (name, created_at) "
	    "VALUES ('%s', UTC_TIMESTAMP(6))", name);
	id = kg_test_scalar(m, "SELECT id FROM namespaces WHERE name = '%s'",
	    name);
	mysql_close(m);
	ck_assert_int_gt(id, 0);
	return (unsigned long long)id;
}

void
kg_ht_add_member(const struct kg_config *cfg, unsigned long long ns_id,
    const char *wallet, int track, int age)
{
	MYSQL	*m = kg_test_conn(cfg);

	kg_test_sql(m, "INSERT INTO members (namespace_id, wallet, track, "
	    "created_at, updated_at) VALUES (%llu, '%s', %d, "
	    "UTC_TIMESTAMP(6) - INTERVAL %d SECOND, UTC_TIMESTAMP(6) - "
	    "INTERVAL %d SECOND)", ns_id, wallet, track, age, age);
	mysql_close(m);
}

struct ht_start {
	unsigned long long		 ns_id;
	const char			*ns, *subject;
	int				 track;
	struct kg_session_tokens	*out;
};

static enum kg_err
ht_start_txn(struct kg_db *db, void *arg)
{
	struct ht_start	*sa = arg;

	return kg_session_start(&hctx, db, sa->ns_id, sa->ns, sa->subject,
	    sa->track, sa->out);
}

void
kg_ht_start(unsigned long long ns_id, const char *ns, const char *subject,
    int track, struct kg_session_tokens *st)
{
	struct ht_start	sa;

	memset(st, 0, sizeof(*st));
	sa.ns_id = ns_id;
	sa.ns = ns;
	sa.subject = subject;
	sa.track = track;
	sa.out = st;
	ck_assert_int_eq(kg_db_txn(hctx.db, ht_start_txn, &sa), KG_OK);
}

static void
ht_unhex(const char *h, uint8_t *out, size_t n)
{
	size_t		i;
	unsigned int	v;

	for (i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

void
kg_ht_sign_personal(const char *privhex, const char *msg, char out[133])
{
	secp256k1_context			*c;
	secp256k1_ecdsa_recoverable_signature	 sig;
	uint8_t					 key[32], hash[32], rs[64];
	int					 recid, i;

	ht_unhex(privhex, key, 32);
	kg_eth_personal_hash(msg, strlen(msg), hash);
	c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(secp256k1_ecdsa_sign_recoverable(c, &sig, hash, key,
	    NULL, NULL), 1);
	secp256k1_ecdsa_recoverable_signature_serialize_compact(c, rs, &recid,
	    &sig);
	secp256k1_context_destroy(c);
	strcpy(out, "0x");
	for (i = 0; i < 64; i++)
		sprintf(out + 2 + 2 * i, "%02x", rs[i]);
	sprintf(out + 130, "%02x", 27 + recid);
}

struct ht_race {
	const char			*hr_method;
	const char			*hr_path;
	void				(*hr_body)(int, char *, size_t, void *);
	void				*hr_arg;
	const struct kg_ht_outcome	*hr_out;
	size_t				 hr_nout;
};

/* The index of the outcome resp matches, or -1. */
static int
ht_outcome(const struct kg_response *resp, const struct kg_ht_outcome *out,
    size_t nout)
{
	char	quoted[80];
	size_t	k;

	for (k = 0; k < nout; k++) {
		if (resp->status != out[k].ho_status)
			continue;
		if (out[k].ho_error == NULL)
			return (int)k;
		(void)snprintf(quoted, sizeof(quoted), "\"%s\"",
		    out[k].ho_error);
		if (strstr(kg_buf_str(&resp->body), quoted) != NULL)
			return (int)k;
	}
	return -1;
}

/* One racer of kg_ht_race, on the connection kg_test_race opened. */
static int
ht_racer(struct kg_db *db, int i, void *arg)
{
	const struct ht_race	*hr = arg;
	struct kg_ctx		 c;
	struct kg_request	 req;
	struct kg_response	 resp;
	char			 body[4096];
	int			 k;

	memset(&resp, 0, sizeof(resp));
	if (kg_ctx_init(&c, &hcfg) != KG_OK)
		return 100;
	kg_db_close(c.db);
	c.db = db;
	hr->hr_body(i, body, sizeof(body), hr->hr_arg);
	kg_ht_request(&req, hr->hr_method, hr->hr_path, NULL, NULL, NULL,
	    "application/json", body);
	kg_dispatch(&c, &req, &resp);
	if ((k = ht_outcome(&resp, hr->hr_out, hr->hr_nout)) < 0) {
		fprintf(stderr, "racer %d: %d %s\n", i, resp.status,
		    kg_buf_str(&resp.body));
		k = 100;
	}
	kg_resp_free(&resp);
	c.db = NULL;		/* kg_test_race closes it */
	kg_ctx_free(&c);
	return k;
}

void
kg_ht_race(int n, const char *method, const char *path,
    void (*body)(int, char *, size_t, void *), void *arg,
    const struct kg_ht_outcome *outcomes, size_t nout, int *counts)
{
	struct ht_race	hr = { method, path, body, arg, outcomes, nout };
	int		codes[64], i;

	memset(counts, 0, nout * sizeof(*counts));
	kg_test_race(&hcfg, n, ht_racer, &hr, codes);
	for (i = 0; i < n; i++) {
		ck_assert_msg(codes[i] >= 0 && (size_t)codes[i] < nout,
		    "racer %d: exit %d", i, codes[i]);
		counts[codes[i]]++;
	}
}
