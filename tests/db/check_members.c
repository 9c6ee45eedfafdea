/*
 * check_members.c: namespaces and members (SPEC 2, 9) against a real
 * MariaDB.  The store: creation with an owner, the rules of a track
 * change (track 4 needs an operator, the last track-4 member stays),
 * list order and paging, and the same rules under races of forked
 * processes (two operators demoting each other: one wins; creation
 * against first sign-ins: one owner).  Then every route through
 * kg_dispatch: rights per caller and namespace, every error code, the
 * audit trail, and that a removal or demotion ends the wallet's
 * sessions at once while a promotion ends nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "core/api/authn.h"
#include "core/api/ctx.h"
#include "core/api/members.h"
#include "core/api/router.h"
#include "core/api/session.h"
#include "core/crypto/token.h"
#include "core/store/db.h"
#include "core/store/member.h"
#include "core/store/wallet.h"
#include "tests/db/dbtest.h"
#include "tests/db/httptest.h"

#define ADMIN	KG_HT_ADMIN
#define W1	"0x1111111111111111111111111111111111111111"
#define W2	"0x2222222222222222222222222222222222222222"
#define W3	"0x3333333333333333333333333333333333333333"
#define W4	"0x4444444444444444444444444444444444444444"
/* EIP-55's own example, and the same address with one letter's case flipped. */
#define CKSUM	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
#define CKLOW	"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
#define CKBAD	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"
#define NRACE	8

/* ------------------------------------------------------------ helpers */

/* Namespace name with the given members ("wallet:track" pairs). */
static unsigned long long
make_ns(const struct kg_config *cfg, const char *name, int n,
    const char *const *wallets, const int *tracks)
{
	unsigned long long	 id = kg_ht_make_ns(cfg, name);
	int			 i;

	/* Joined a second apart, in the order given. */
	for (i = 0; i < n; i++)
		kg_ht_add_member(cfg, id, wallets[i], tracks[i], n - i);
	return id;
}

static long long
track_of(const struct kg_config *cfg, const char *ns, const char *wallet)
{
	return kg_test_db_scalar(cfg, "SELECT m.track FROM members m JOIN "
	    "namespaces n ON n.id = m.namespace_id WHERE n.name = '%s' AND "
	    "m.wallet = '%s'", ns, wallet);
}

/* created_at of wallet's (only) membership, microseconds since the epoch. */
static long long
joined_us(const struct kg_config *cfg, const char *wallet)
{
	return kg_test_db_scalar(cfg, "SELECT TIMESTAMPDIFF(MICROSECOND, "
	    "'1970-01-01', created_at) FROM members WHERE wallet = '%s'",
	    wallet);
}

static long long
audits(const struct kg_config *cfg, const char *action, const char *outcome)
{
	return kg_test_db_scalar(cfg, "SELECT COUNT(*) FROM audit_events "
	    "WHERE action = '%s' AND outcome = '%s'", action, outcome);
}

/* One change in a transaction of its own, as the handlers run it. */
struct change {
	const char		*ns, *wallet;
	int			 track;		/* 0: remove */
	int			 operate;
	enum kg_member_res	 res;
	struct kg_member	 m;
	int			 old;
};

static enum kg_err
change_txn(struct kg_db *db, void *arg)
{
	struct change	*c = arg;

	if (c->track == 0)
		return kg_store_member_remove(db, c->ns, c->wallet, c->operate,
		    &c->res, &c->old);
	return kg_store_member_set(db, c->ns, c->wallet, c->track, c->operate,
	    &c->res, &c->m, &c->old);
}

static enum kg_member_res
change(struct kg_db *db, const char *ns, const char *wallet, int track,
    int operate, int *old)
{
	struct change	c;

	memset(&c, 0, sizeof(c));
	c.ns = ns;
	c.wallet = wallet;
	c.track = track;
	c.operate = operate;
	ck_assert_int_eq(kg_db_txn(db, change_txn, &c), KG_OK);
	if (old != NULL)
		*old = c.old;
	if (c.res == KG_MEMBER_OK && track != 0) {
		ck_assert_str_eq(c.m.me_wallet, wallet);
		ck_assert_int_eq(c.m.me_track, track);
		ck_assert(c.m.me_created_us > 0);
		ck_assert(c.m.me_updated_us >= c.m.me_created_us);
	}
	return c.res;
}

struct create {
	const char		*name, *owner;
	struct kg_ns_info	 info;
};

static enum kg_err
create_txn(struct kg_db *db, void *arg)
{
	struct create	*c = arg;

	return kg_store_ns_create(db, c->name, c->owner, &c->info);
}

/* Sign-in enrolment (wallet.c), the other writer of members. */
struct signin {
	const char	*ns, *wallet;
	uint64_t	 id;
	int		 track, joined;
};

static enum kg_err
signin_txn(struct kg_db *db, void *arg)
{
	struct signin	*s = arg;

	return kg_store_signin_member(db, s->ns, 1, s->wallet, &s->id,
	    &s->track, &s->joined);
}

/* Returns the track wallet signs in with to ns (created when missing). */
static int
signin(struct kg_db *db, const char *ns, const char *wallet)
{
	struct signin	s = { ns, wallet, 0, 0, 0 };

	ck_assert_int_eq(kg_db_txn(db, signin_txn, &s), KG_OK);
	return s.track;
}

/* ------------------------------------------------------------ store */

START_TEST(ns_create_owner_conflict_info)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct create		 c;
	struct kg_ns_info	 ni;

	kg_test_db_config(&cfg);
	db = kg_test_db_open(&cfg);
	memset(&c, 0, sizeof(c));
	c.name = "acme";
	c.owner = W1;
	ck_assert_int_eq(kg_db_txn(db, create_txn, &c), KG_OK);
	ck_assert_str_eq(c.info.ni_name, "acme");
	ck_assert_int_eq(c.info.ni_members, 1);
	ck_assert(c.info.ni_created_us > 0);
	ck_assert_int_eq(track_of(&cfg, "acme", W1), 4);
	/* Taken: conflict, and nothing changes. */
	c.owner = W2;
	ck_assert_int_eq(kg_db_txn(db, create_txn, &c), KG_ERR_CONFLICT);
	ck_assert_int_eq(track_of(&cfg, "acme", W2), -1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "namespaces"), 1);
	/* The owner is there: the next wallet to sign in joins at track 1. */
	ck_assert_int_eq(signin(db, "acme", W2), 1);
	ck_assert_int_eq(signin(db, "acme", W1), 4);
	/* Without an owner: no member; the first sign-in becomes track 4. */
	c.name = "solo";
	c.owner = NULL;
	ck_assert_int_eq(kg_db_txn(db, create_txn, &c), KG_OK);
	ck_assert_int_eq(c.info.ni_members, 0);
	ck_assert_int_eq(kg_store_ns_info(db, "solo", &ni), KG_OK);
	ck_assert_int_eq(ni.ni_members, 0);
	ck_assert_uint_eq(ni.ni_id, c.info.ni_id);
	ck_assert_str_eq(ni.ni_name, "solo");
	ck_assert_int_eq(signin(db, "solo", W3), 4);
	ck_assert_int_eq(signin(db, "solo", W1), 1);
	ck_assert_int_eq(kg_store_ns_info(db, "solo", &ni), KG_OK);
	ck_assert_int_eq(ni.ni_members, 2);
	ck_assert_int_eq(kg_store_ns_info(db, "acme", &ni), KG_OK);
	ck_assert_int_eq(ni.ni_members, 2);
	ck_assert_int_eq(kg_store_ns_info(db, "nope", &ni), KG_ERR_NOT_FOUND);
	/* Membership changes need the transaction that holds the lock. */
	{
		enum kg_member_res	res;
		struct kg_member	m;
		int			old;

		ck_assert_int_eq(kg_store_member_set(db, "acme", W3, 1, 1, &res,
		    &m, &old), KG_ERR_INTERNAL);
		ck_assert_int_eq(kg_store_member_remove(db, "acme", W2, 1,
		    &res, &old), KG_ERR_INTERNAL);
	}
	ck_assert_int_eq(track_of(&cfg, "acme", W3), -1);
	ck_assert_int_eq(track_of(&cfg, "acme", W2), 1);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(member_rules)
{
	static const char *const w[] = { W1 };
	static const int	 t[] = { 4 };
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct change		 c;
	int			 old = -1;
	long long		 created;

	kg_test_db_config(&cfg);
	make_ns(&cfg, "acme", 1, w, t);
	db = kg_test_db_open(&cfg);
	/* Added (old 0), then changed (old 2). */
	ck_assert_int_eq(change(db, "acme", W2, 2, 0, &old), KG_MEMBER_OK);
	ck_assert_int_eq(old, 0);
	created = joined_us(&cfg, W2);
	ck_assert_int_eq(change(db, "acme", W2, 3, 0, &old), KG_MEMBER_OK);
	ck_assert_int_eq(old, 2);
	ck_assert_int_eq(track_of(&cfg, "acme", W2), 3);
	ck_assert_int_eq(joined_us(&cfg, W2), created);
	/* Track 4 without operator: refused, nothing written. */
	ck_assert_int_eq(change(db, "acme", W2, 4, 0, &old), KG_MEMBER_OPERATOR);
	ck_assert_int_eq(track_of(&cfg, "acme", W2), 3);
	ck_assert_int_eq(change(db, "acme", W3, 4, 0, &old), KG_MEMBER_OPERATOR);
	ck_assert_int_eq(track_of(&cfg, "acme", W3), -1);
	/* Changing or removing a track-4 member without operator: refused. */
	ck_assert_int_eq(change(db, "acme", W1, 3, 0, &old), KG_MEMBER_OPERATOR);
	ck_assert_int_eq(change(db, "acme", W1, 0, 0, &old), KG_MEMBER_OPERATOR);
	ck_assert_int_eq(track_of(&cfg, "acme", W1), 4);
	/* The last track-4 member stays, even for an operator. */
	ck_assert_int_eq(change(db, "acme", W1, 3, 1, &old),
	    KG_MEMBER_LAST_OPERATOR);
	ck_assert_int_eq(change(db, "acme", W1, 0, 1, &old),
	    KG_MEMBER_LAST_OPERATOR);
	ck_assert_int_eq(track_of(&cfg, "acme", W1), 4);
	/* Setting track 4 on the last one is no demotion. */
	ck_assert_int_eq(change(db, "acme", W1, 4, 1, &old), KG_MEMBER_OK);
	ck_assert_int_eq(old, 4);
	/* With a second operator, either may go. */
	ck_assert_int_eq(change(db, "acme", W2, 4, 1, &old), KG_MEMBER_OK);
	ck_assert_int_eq(old, 3);
	ck_assert_int_eq(change(db, "acme", W1, 1, 1, &old), KG_MEMBER_OK);
	ck_assert_int_eq(old, 4);
	ck_assert_int_eq(change(db, "acme", W2, 0, 1, &old),
	    KG_MEMBER_LAST_OPERATOR);
	ck_assert_int_eq(change(db, "acme", W2, 1, 1, &old),
	    KG_MEMBER_LAST_OPERATOR);
	ck_assert_int_eq(track_of(&cfg, "acme", W2), 4);
	/* Removal: the removed track comes back; a stranger is unknown. */
	ck_assert_int_eq(change(db, "acme", W1, 0, 0, &old), KG_MEMBER_OK);
	ck_assert_int_eq(old, 1);
	ck_assert_int_eq(track_of(&cfg, "acme", W1), -1);
	ck_assert_int_eq(change(db, "acme", W1, 0, 1, &old), KG_MEMBER_UNKNOWN);
	/* No namespace, whoever asks. */
	ck_assert_int_eq(change(db, "nope", W1, 2, 1, &old),
	    KG_MEMBER_NO_NAMESPACE);
	ck_assert_int_eq(change(db, "nope", W1, 0, 1, &old),
	    KG_MEMBER_NO_NAMESPACE);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "namespaces WHERE name = 'nope'"), 0);
	/* Tracks outside 1-4 never reach the table. */
	memset(&c, 0, sizeof(c));
	c.ns = "acme";
	c.wallet = W3;
	c.track = 5;
	ck_assert_int_eq(kg_db_txn(db, change_txn, &c), KG_ERR_INVALID);
	c.track = -1;
	ck_assert_int_eq(kg_db_txn(db, change_txn, &c), KG_ERR_INVALID);
	ck_assert_int_eq(track_of(&cfg, "acme", W3), -1);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

struct collect {
	char	wallets[16][KG_WALLET_STRLEN];
	int	n;
};

static enum kg_err
collect_fn(const struct kg_member *m, void *arg)
{
	struct collect	*c = arg;

	ck_assert_int_lt(c->n, 16);
	memcpy(c->wallets[c->n++], m->me_wallet, KG_WALLET_STRLEN);
	return KG_OK;
}

START_TEST(member_list_order_and_paging)
{
	/* Oldest first here: W1 joined 5 s ago ... W4 1 s ago. */
	static const char *const w[] = { W1, W2, W3, W4 };
	static const int	 t[] = { 4, 1, 2, 3 };
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_member_cursor	 cur;
	struct collect		 c;
	unsigned long long	 ns;
	size_t			 n = 0;
	MYSQL			*m;

	kg_test_db_config(&cfg);
	ns = make_ns(&cfg, "acme", 4, w, t);
	/* W2 and W3 joined in the same microsecond: wallet breaks the tie. */
	m = kg_test_conn(&cfg);
	kg_test_sql(m, "UPDATE members SET created_at = (SELECT created_at "
	    "FROM (SELECT created_at FROM members WHERE wallet = '%s') x) "
	    "WHERE wallet = '%s'", W2, W3);
	/* Another namespace's member never shows. */
	kg_test_sql(m, "INSERT INTO namespaces (name, created_at) VALUES "
	    "('other', UTC_TIMESTAMP(6))");
	kg_test_sql(m, "INSERT INTO members (namespace_id, wallet, track, "
	    "created_at, updated_at) SELECT id, '%s', 4, UTC_TIMESTAMP(6), "
	    "UTC_TIMESTAMP(6) FROM namespaces WHERE name = 'other'", CKLOW);
	mysql_close(m);
	db = kg_test_db_open(&cfg);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(kg_store_member_list(db, ns, NULL, 10, collect_fn, &c,
	    &n), KG_OK);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(c.wallets[0], W4);
	ck_assert_str_eq(c.wallets[1], W3);
	ck_assert_str_eq(c.wallets[2], W2);
	ck_assert_str_eq(c.wallets[3], W1);
	/* Pages of two, resuming after (created_at, wallet) of the last. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(kg_store_member_list(db, ns, NULL, 2, collect_fn, &c,
	    &n), KG_OK);
	ck_assert_uint_eq(n, 2);
	memset(&cur, 0, sizeof(cur));
	cur.mc_created_us = joined_us(&cfg, W3);
	memcpy(cur.mc_wallet, W3, sizeof(cur.mc_wallet));
	ck_assert_int_eq(kg_store_member_list(db, ns, &cur, 2, collect_fn, &c,
	    &n), KG_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(c.wallets[2], W2);
	ck_assert_str_eq(c.wallets[3], W1);
	memcpy(cur.mc_wallet, W1, sizeof(cur.mc_wallet));
	cur.mc_created_us = joined_us(&cfg, W1);
	ck_assert_int_eq(kg_store_member_list(db, ns, &cur, 2, collect_fn, &c,
	    &n), KG_OK);
	ck_assert_uint_eq(n, 0);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/*
 * The last-operator rule under a race: every racer is an operator who
 * demotes (even racers) or removes (odd racers) itself.  Exactly one
 * track-4 member must survive, so exactly n - 1 racers win.
 */
static const char *race_ns = "race";

static void
race_wallet(int i, char w[KG_WALLET_STRLEN])
{
	snprintf(w, KG_WALLET_STRLEN, "0x%040d", i + 1);
}

static int
demote_child(struct kg_db *db, int i, void *arg)
{
	struct change	c;
	char		w[KG_WALLET_STRLEN];
	enum kg_err	r;

	(void)arg;
	race_wallet(i, w);
	memset(&c, 0, sizeof(c));
	c.ns = race_ns;
	c.wallet = w;
	c.track = i % 2 == 0 ? 2 : 0;
	c.operate = 1;
	r = kg_db_txn(db, change_txn, &c);
	return r == KG_OK ? (int)c.res : 100 + (int)r;
}

static void
operators_race(int n)
{
	struct kg_config	 cfg;
	char			 w[64][KG_WALLET_STRLEN];
	const char		*wp[64];
	int			 t[64], codes[64], i, won = 0, last = 0;

	kg_test_db_config(&cfg);
	for (i = 0; i < n; i++) {
		race_wallet(i, w[i]);
		wp[i] = w[i];
		t[i] = 4;
	}
	make_ns(&cfg, race_ns, n, wp, t);
	kg_test_race(&cfg, n, demote_child, NULL, codes);
	for (i = 0; i < n; i++) {
		ck_assert_msg(codes[i] < 100, "racer %d failed: %d", i,
		    codes[i]);
		won += codes[i] == KG_MEMBER_OK;
		last += codes[i] == KG_MEMBER_LAST_OPERATOR;
	}
	ck_assert_int_eq(won, n - 1);
	ck_assert_int_eq(last, 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM members "
	    "WHERE track = 4"), 1);
	kg_test_db_teardown(&cfg);
}

START_TEST(last_operator_race_two)
{
	operators_race(2);
}
END_TEST

START_TEST(last_operator_race_many)
{
	operators_race(NRACE);
}
END_TEST

/*
 * Creation with an owner against first sign-ins to the same name: both
 * take the namespace's lock, so whichever comes first, the namespace
 * ends with exactly one track-4 member.
 */
static int
create_or_signin_child(struct kg_db *db, int i, void *arg)
{
	char		w[KG_WALLET_STRLEN];
	enum kg_err	r;

	(void)arg;
	if (i == 0) {
		struct create	c;

		memset(&c, 0, sizeof(c));
		c.name = race_ns;
		c.owner = CKLOW;
		r = kg_db_txn(db, create_txn, &c);
		return r == KG_OK ? 0 : r == KG_ERR_CONFLICT ? 1 : 100 + (int)r;
	} else {
		struct signin	s;

		race_wallet(i, w);
		memset(&s, 0, sizeof(s));
		s.ns = race_ns;
		s.wallet = w;
		r = kg_db_txn(db, signin_txn, &s);
		return r == KG_OK ? s.track : 100 + (int)r;
	}
}

START_TEST(create_races_first_signins)
{
	struct kg_config	cfg;
	int			codes[NRACE], i, owners = 0;

	kg_test_db_config(&cfg);
	kg_test_race(&cfg, NRACE, create_or_signin_child, NULL, codes);
	for (i = 0; i < NRACE; i++)
		ck_assert_msg(codes[i] < 100, "racer %d failed: %d", i,
		    codes[i]);
	for (i = 1; i < NRACE; i++)
		owners += codes[i] == 4;
	if (codes[0] == 0) {
		/* Creation first: its owner is the one operator. */
		ck_assert_int_eq(owners, 0);
		ck_assert_int_eq(track_of(&cfg, race_ns, CKLOW), 4);
	} else {
		ck_assert_int_eq(owners, 1);
		ck_assert_int_eq(track_of(&cfg, race_ns, CKLOW), -1);
	}
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM members "
	    "WHERE track = 4"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "namespaces"), 1);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* ------------------------------------------------------------ handlers */

static unsigned long long	hacme, hbeta;
static char			hadmin[128];

/* acme: W1 track 4, W2 track 3, W3 track 2; beta: W4 track 4, CKLOW 3. */
static void
hsetup(void)
{
	static const struct kg_ht_opts	 o = { 1, 0, "192.0.2.9" };
	static const char *const aw[] = { W1, W2, W3 };
	static const int	 at[] = { 4, 3, 2 };
	static const char *const bw[] = { W4, CKLOW };
	static const int	 bt[] = { 4, 3 };

	kg_ht_setup(&o);
	hacme = make_ns(&hcfg, "acme", 3, aw, at);
	hbeta = make_ns(&hcfg, "beta", 2, bw, bt);
	snprintf(hadmin, sizeof(hadmin), "Bearer %s", ADMIN);
}

static int
callq(const char *method, const char *path, const char *query,
    const char *auth, const char *body)
{
	return kg_ht_call(method, path, query, auth, NULL,
	    body != NULL ? KG_CT_JSON : NULL, body);
}

static int
call(const char *method, const char *path, const char *auth,
    const char *body)
{
	return callq(method, path, NULL, auth, body);
}

/* Calls a handler directly with a principal the gate cannot make yet. */
static int
direct(kg_handler h, const char *method, const char *ns, const char *wallet,
    const struct kg_principal *pr, const char *body)
{
	struct kg_request	req;
	struct kg_params	params;
	char			path[256];
	enum kg_err		r;

	if (wallet != NULL)
		snprintf(path, sizeof(path), "/v1/namespaces/%s/members/%s",
		    ns, wallet);
	else
		snprintf(path, sizeof(path), "/v1/namespaces/%s/members", ns);
	memset(&params, 0, sizeof(params));
	ck_assert(kg_route_match(wallet != NULL ?
	    "/v1/namespaces/{ns}/members/{wallet}" :
	    "/v1/namespaces/{ns}/members", path, &params));
	kg_ht_request(&req, method, path, NULL, NULL, NULL, NULL, body);
	kg_resp_reset(&hresp);
	r = h(&hctx, &req, &params, pr, &hresp);
	if (r != KG_OK)
		kg_resp_from_err(&hresp, r);
	return hresp.status;
}

/* Asserts the last response is status with error code. */
#define ck_refused(st, code) do {					\
	ck_assert_int_eq(hresp.status, (st));				\
	ck_assert_str_eq(kg_ht_error(), (code));			\
} while (0)

/*
 * Signs in subject to ns at track: "Bearer <access token>" in auth, the
 * refresh token in rt (may be NULL).
 */
static void
start(const char *ns, const char *subject, int track, char *auth,
    size_t authlen, char *rt)
{
	struct kg_session_tokens st;

	kg_ht_start(strcmp(ns, "acme") == 0 ? hacme : hbeta, ns, subject,
	    track, &st);
	ck_assert_uint_lt(strlen(kg_buf_str(&st.st_access)) + 8, authlen);
	snprintf(auth, authlen, "Bearer %s", kg_buf_str(&st.st_access));
	if (rt != NULL)
		memcpy(rt, st.st_refresh, KG_TOKEN_MAX);
	kg_buf_free(&st.st_access);
}

/* The wallets of the last list response, in order, comma-joined. */
static const char *
listed(char *out, size_t len)
{
	json_object	*doc, *items, *w;
	size_t		 i, n;

	out[0] = '\0';
	doc = kg_ht_body_json();
	ck_assert(json_object_object_get_ex(doc, "items", &items));
	n = json_object_array_length(items);
	for (i = 0; i < n; i++) {
		json_object	*it = json_object_array_get_idx(items, i);

		ck_assert(json_object_object_get_ex(it, "wallet", &w));
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    i > 0 ? "," : "", json_object_get_string(w));
		/* every item has exactly the documented members */
		ck_assert_int_eq(json_object_object_length(it), 4);
		ck_assert(json_object_object_get_ex(it, "track", NULL));
		ck_assert(json_object_object_get_ex(it, "created_at", NULL));
		ck_assert(json_object_object_get_ex(it, "updated_at", NULL));
	}
	json_object_put(doc);
	return out;
}

START_TEST(http_namespace_create)
{
	char		t4[4200], v[128], name[65], body[128];
	json_object	*doc;

	/* Global admin only. */
	start("acme", W1, 4, t4, sizeof(t4), NULL);
	ck_assert_int_eq(call("POST", "/v1/namespaces", t4,
	    "{\"name\":\"gamma\"}"), 403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	ck_assert_int_eq(audits(&hcfg, "namespace_create", "denied"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'namespace_create' AND actor = '%s' "
	    "AND actor_type = 'wallet' AND namespace = 'acme'", W1), 1);
	ck_assert_int_eq(call("POST", "/v1/namespaces", NULL,
	    "{\"name\":\"gamma\"}"), 401);
	ck_assert_str_eq(kg_ht_error(), "unauthenticated");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "namespaces WHERE name = 'gamma'"), 0);

	/* With an owner given in EIP-55 form: stored lower-case, track 4. */
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":\"gamma\",\"owner\":\"" CKSUM "\"}"), 201);
	ck_assert_str_eq(hresp.content_type, KG_CT_JSON);
	doc = kg_ht_body_json();
	ck_assert_int_eq(json_object_object_length(doc), 3);
	json_object_put(doc);
	ck_assert_str_eq(kg_ht_member("name", v, sizeof(v)), "gamma");
	ck_assert_str_eq(kg_ht_member("member_count", v, sizeof(v)), "1");
	ck_assert_uint_eq(strlen(kg_ht_member("created_at", v, sizeof(v))), 20);
	ck_assert_int_eq(v[19], 'Z');
	ck_assert_int_eq(track_of(&hcfg, "gamma", CKLOW), 4);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'namespace_create' AND outcome = 'ok' "
	    "AND namespace = 'gamma' AND actor_type = 'admin' AND "
	    "actor = 'admin' AND target = '%s' AND remote_addr = '192.0.2.9'",
	    CKLOW), 1);
	/* Without: no member yet. */
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":\"delta.1_x-y\",\"owner\":null}"), 201);
	ck_assert_str_eq(kg_ht_member("member_count", v, sizeof(v)), "0");

	/* Taken. */
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":\"acme\"}"), 409);
	ck_assert_str_eq(kg_ht_error(), "conflict");
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":\"gamma\",\"owner\":\"" W2 "\"}"), 409);
	ck_assert_str_eq(kg_ht_error(), "conflict");
	ck_assert_int_eq(track_of(&hcfg, "gamma", W2), -1);
	ck_assert_int_eq(audits(&hcfg, "namespace_create", "failed"), 2);

	/* Bad input, each with its code; nothing created. */
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":\"Bad\"}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_namespace");
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":\"-x\"}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_namespace");
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":\"\"}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_namespace");
	/* 63 characters at most. */
	memset(name, 'a', 64);
	name[64] = '\0';
	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin, body), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_namespace");
	name[63] = '\0';
	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin, body), 201);
	ck_assert_str_eq(kg_ht_member("name", v, sizeof(v)), name);
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":\"ok\",\"owner\":\"0x1234\"}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_wallet");
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":\"ok\",\"owner\":\"" CKBAD "\"}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_wallet");
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":\"ok\",\"extra\":1}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert(strstr(kg_ht_member("message", v, sizeof(v)), "extra") !=
	    NULL);
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin,
	    "{\"name\":7}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin, "{}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("POST", "/v1/namespaces", hadmin, "{\"name\":"),
	    400);
	ck_assert_str_eq(kg_ht_error(), "invalid_json");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "namespaces WHERE name = 'ok'"), 0);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "namespaces"), 5);
}
END_TEST

START_TEST(http_namespace_get)
{
	char	t1[4200], b3[4200], v[128];

	/* Any member of the namespace, at any track. */
	start("acme", W3, 1, t1, sizeof(t1), NULL);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme", t1, NULL), 200);
	ck_assert_str_eq(kg_ht_member("name", v, sizeof(v)), "acme");
	ck_assert_str_eq(kg_ht_member("member_count", v, sizeof(v)), "3");
	ck_assert_int_eq(strlen(kg_ht_member("created_at", v, sizeof(v))), 20);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme", hadmin, NULL), 200);
	ck_assert_str_eq(kg_ht_member("member_count", v, sizeof(v)), "3");
	/* Another namespace's caller: 403, existing or not. */
	start("beta", CKLOW, 3, b3, sizeof(b3), NULL);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme", b3, NULL), 403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	ck_assert_int_eq(call("GET", "/v1/namespaces/nope", b3, NULL), 403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	ck_assert_int_eq(call("GET", "/v1/namespaces/nope", t1, NULL), 403);
	ck_assert_int_eq(call("GET", "/v1/namespaces/beta", b3, NULL), 200);
	ck_assert_str_eq(kg_ht_member("member_count", v, sizeof(v)), "2");
	/* The admin learns what does not exist. */
	ck_assert_int_eq(call("GET", "/v1/namespaces/nope", hadmin, NULL), 404);
	ck_assert_str_eq(kg_ht_error(), "namespace_not_found");
	ck_assert_int_eq(call("GET", "/v1/namespaces/No!", hadmin, NULL), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_namespace");
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme", NULL, NULL), 401);
	/* Daemon tokens, org tokens, keys: by their binding. */
	{
		struct kg_principal	pr;
		struct kg_params	params;
		struct kg_request	req;

		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.path = "/v1/namespaces/acme";
		req.query = "";
		req.body = "";
		req.remote_addr = "";
		memset(&params, 0, sizeof(params));
		ck_assert(kg_route_match("/v1/namespaces/{ns}", req.path,
		    &params));
		memset(&pr, 0, sizeof(pr));
		pr.pr_method = KG_METHOD_DAEMON_TOKEN;
		strcpy(pr.pr_ns, "acme");
		kg_resp_reset(&hresp);
		ck_assert_int_eq(kg_ns_get(&hctx, &req, &params, &pr, &hresp),
		    KG_OK);
		ck_refused(403, "forbidden");
		pr.pr_method = KG_METHOD_API_KEY;
		strcpy(pr.pr_scopes, "projects:read");
		kg_resp_reset(&hresp);
		ck_assert_int_eq(kg_ns_get(&hctx, &req, &params, &pr, &hresp),
		    KG_OK);
		ck_assert_int_eq(hresp.status, 200);
		pr.pr_method = KG_METHOD_ORG_TOKEN;
		strcpy(pr.pr_ns, "beta");
		kg_resp_reset(&hresp);
		ck_assert_int_eq(kg_ns_get(&hctx, &req, &params, &pr, &hresp),
		    KG_OK);
		ck_refused(403, "forbidden");
	}
}
END_TEST

START_TEST(http_members_list)
{
	char	t3[4200], t2[4200], b3[4200], v[512], cursor[128];
	char	q[256], all[512], page[512], one[64];

	start("acme", W2, 3, t3, sizeof(t3), NULL);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/members", t3, NULL),
	    200);
	ck_assert_str_eq(listed(v, sizeof(v)), W3 "," W2 "," W1);
	ck_assert(strstr(kg_buf_str(&hresp.body), "\"next_cursor\":null") !=
	    NULL);
	ck_assert(strstr(kg_buf_str(&hresp.body), "{\"wallet\":\"" W1
	    "\",\"track\":4,\"created_at\":\"") != NULL);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/members", NULL,
	    hadmin, NULL), 200);
	ck_assert_str_eq(listed(all, sizeof(all)), W3 "," W2 "," W1);

	/* One at a time, following next_cursor. */
	page[0] = '\0';
	snprintf(q, sizeof(q), "limit=1");
	for (;;) {
		ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/members", q,
		    t3, NULL), 200);
		listed(one, sizeof(one));
		ck_assert_uint_lt(strlen(page) + strlen(one) + 2, sizeof(page));
		if (one[0] != '\0')
			snprintf(page + strlen(page), sizeof(page) -
			    strlen(page), "%s%s", page[0] != '\0' ? "," : "",
			    one);
		kg_ht_member("next_cursor", cursor, sizeof(cursor));
		if (cursor[0] == '\0')
			break;
		ck_assert_uint_lt(strlen(page), 3 * 43);
		snprintf(q, sizeof(q), "limit=1&cursor=%s", cursor);
	}
	ck_assert_str_eq(page, all);

	/* limit and cursor are checked (SPEC 1). */
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/members", "limit=0",
	    t3, NULL), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/members",
	    "limit=-1", t3, NULL), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/members",
	    "limit=2x", t3, NULL), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/members",
	    "limit=1&limit=2", t3, NULL), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/members",
	    "cursor=abc", t3, NULL), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/members",
	    "cursor=12_0x1111111111111111111111111111111111111111", t3, NULL),
	    400);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/acme/members",
	    "cursor=12_AAAA111111111111111111111111111111111111", t3, NULL),
	    400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");

	/* Below admin, or bound elsewhere: 403, audited as denied. */
	start("acme", W3, 2, t2, sizeof(t2), NULL);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/members", t2, NULL),
	    403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	start("beta", CKLOW, 3, b3, sizeof(b3), NULL);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/members", b3, NULL),
	    403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	ck_assert_int_eq(call("GET", "/v1/namespaces/nope/members", b3, NULL),
	    403);
	ck_assert_int_eq(audits(&hcfg, "member_list", "denied"), 3);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'member_list' AND namespace = 'acme' "
	    "AND actor = '%s'", CKLOW), 1);
	ck_assert_int_eq(call("GET", "/v1/namespaces/beta/members", b3, NULL),
	    200);
	ck_assert_str_eq(listed(v, sizeof(v)), CKLOW "," W4);
	/* Only the admin learns that a namespace does not exist. */
	ck_assert_int_eq(call("GET", "/v1/namespaces/nope/members", hadmin,
	    NULL), 404);
	ck_assert_str_eq(kg_ht_error(), "namespace_not_found");
	ck_assert_int_eq(call("GET", "/v1/namespaces/NOPE/members", hadmin,
	    NULL), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_namespace");
}
END_TEST

/* limit above 500 is 500 (SPEC 1): 505 members, one page of 500. */
/*
 * SPEC 9 says "track >= 3", not "holds admin": a track-3 session manages
 * members even where track3_scopes leave admin out (as GET /v1/apps),
 * and a track-2 session does not, whatever its scopes.
 */
START_TEST(http_manage_by_track)
{
	char	t3[4200], t2[4200];

	free(hcfg.track_scopes[2]);
	hcfg.track_scopes[2] = strdup("projects:read");
	ck_assert_ptr_nonnull(hcfg.track_scopes[2]);
	start("acme", W2, 3, t3, sizeof(t3), NULL);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/members", t3, NULL),
	    200);
	start("acme", W3, 2, t2, sizeof(t2), NULL);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/members", t2, NULL),
	    403);
	/* Track 4 still needs track 4: the track-3 session cannot grant it. */
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W3, t3,
	    "{\"track\":4}"), 403);
}
END_TEST

START_TEST(http_members_list_clamped)
{
	char		v[128];
	json_object	*doc, *items;
	MYSQL		*m = kg_test_conn(&hcfg);
	int		 i;

	for (i = 0; i < 505; i++)
		kg_test_sql(m, "INSERT INTO members (namespace_id, wallet, "
		    "track, created_at, updated_at) VALUES (%llu, '0x%040d', 1, "
		    "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))", hbeta, i + 7);
	mysql_close(m);
	ck_assert_int_eq(callq("GET", "/v1/namespaces/beta/members",
	    "limit=100000", hadmin, NULL), 200);
	doc = kg_ht_body_json();
	ck_assert(json_object_object_get_ex(doc, "items", &items));
	ck_assert_uint_eq(json_object_array_length(items), 500);
	json_object_put(doc);
	ck_assert_str_ne(kg_ht_member("next_cursor", v, sizeof(v)), "");
	ck_assert_int_eq(callq("GET", "/v1/namespaces/beta/members", NULL,
	    hadmin, NULL), 200);
	doc = kg_ht_body_json();
	ck_assert(json_object_object_get_ex(doc, "items", &items));
	ck_assert_uint_eq(json_object_array_length(items), 100);
	json_object_put(doc);
}
END_TEST

START_TEST(http_member_put)
{
	char	t3[4200], t4[4200], v[128];

	start("acme", W2, 3, t3, sizeof(t3), NULL);
	start("acme", W1, 4, t4, sizeof(t4), NULL);
	/* Added: 201 with the member; the wallet as given in EIP-55 form. */
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" CKSUM, t3,
	    "{\"track\":2}"), 201);
	ck_assert_str_eq(kg_ht_member("wallet", v, sizeof(v)), CKLOW);
	ck_assert_str_eq(kg_ht_member("track", v, sizeof(v)), "2");
	ck_assert_int_eq(strlen(kg_ht_member("created_at", v, sizeof(v))), 20);
	ck_assert_int_eq(strlen(kg_ht_member("updated_at", v, sizeof(v))), 20);
	ck_assert_int_eq(track_of(&hcfg, "acme", CKLOW), 2);
	/* Changed: 200. */
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" CKLOW, t3,
	    "{\"track\":3}"), 200);
	ck_assert_str_eq(kg_ht_member("track", v, sizeof(v)), "3");
	ck_assert_int_eq(track_of(&hcfg, "acme", CKLOW), 3);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'member_set' AND outcome = 'ok' AND "
	    "namespace = 'acme' AND actor_type = 'wallet' AND actor = '%s' AND "
	    "target = '%s'", W2, CKLOW), 2);

	/* Track 4 is the operators': refused to track 3, audited. */
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" CKLOW, t3,
	    "{\"track\":4}"), 403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W1, t3,
	    "{\"track\":3}"), 403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	ck_assert_int_eq(track_of(&hcfg, "acme", W1), 4);
	ck_assert_int_eq(track_of(&hcfg, "acme", CKLOW), 3);
	ck_assert_int_eq(audits(&hcfg, "member_set", "denied"), 2);
	/* The operator may; then the last operator cannot step down. */
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W1, t4,
	    "{\"track\":1}"), 409);
	ck_assert_str_eq(kg_ht_error(), "conflict");
	ck_assert_int_eq(track_of(&hcfg, "acme", W1), 4);
	ck_assert_int_eq(audits(&hcfg, "member_set", "failed"), 1);
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" CKLOW, t4,
	    "{\"track\":4}"), 200);
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W1, t4,
	    "{\"track\":1}"), 200);
	ck_assert_int_eq(track_of(&hcfg, "acme", W1), 1);
	/* Stepping down ends the operator's own session too. */
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W1, t4,
	    "{\"track\":4}"), 401);
	ck_assert_str_eq(kg_ht_error(), "token_revoked");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" CKLOW,
	    hadmin, "{\"track\":3}"), 409);
	ck_assert_str_eq(kg_ht_error(), "conflict");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W1,
	    hadmin, "{\"track\":4}"), 200);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'member_set' AND actor = 'admin' AND "
	    "actor_type = 'admin' AND outcome = 'ok' AND target = '%s'", W1), 1);
	start("acme", W1, 4, t4, sizeof(t4), NULL);

	/* Bad input. */
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W3, t3,
	    "{\"track\":0}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert(strstr(kg_ht_member("message", v, sizeof(v)), "track") !=
	    NULL);
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W3, t3,
	    "{\"track\":5}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W3, t3,
	    "{\"track\":\"2\"}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W3, t3,
	    "{\"track\":2.5}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W3, t3,
	    "{}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W3, t3,
	    "{\"track\":2,\"x\":1}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W3, t3,
	    "[2]"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_json");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/0x1234", t3,
	    "{\"track\":2}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_wallet");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" CKBAD, t3,
	    "{\"track\":2}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_wallet");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/"
	    "0X1111111111111111111111111111111111111111", t3,
	    "{\"track\":2}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_wallet");
	ck_assert_int_eq(track_of(&hcfg, "acme", W3), 2);
	/* Only the admin reaches a namespace that does not exist. */
	ck_assert_int_eq(call("PUT", "/v1/namespaces/nope/members/" W3, hadmin,
	    "{\"track\":2}"), 404);
	ck_assert_str_eq(kg_ht_error(), "namespace_not_found");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/nope/members/" W3, t4,
	    "{\"track\":2}"), 403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "namespaces WHERE name = 'nope'"), 0);
}
END_TEST

START_TEST(http_member_delete)
{
	char	t3[4200], t4[4200];

	start("acme", W2, 3, t3, sizeof(t3), NULL);
	start("acme", W1, 4, t4, sizeof(t4), NULL);
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/" W3, t3,
	    NULL), 204);
	ck_assert_ptr_null(hresp.content_type);
	ck_assert_uint_eq(hresp.body.b_len, 0);
	ck_assert_int_eq(track_of(&hcfg, "acme", W3), -1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'member_remove' AND outcome = 'ok' "
	    "AND actor = '%s' AND target = '%s' AND namespace = 'acme'", W2,
	    W3), 1);
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/" W3, t3,
	    NULL), 404);
	ck_assert_str_eq(kg_ht_error(), "not_found");
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/0xzz", t3,
	    NULL), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_wallet");
	/* A track-4 member: operators only; the last one never. */
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/" W1, t3,
	    NULL), 403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	ck_assert_int_eq(audits(&hcfg, "member_remove", "denied"), 1);
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/" W1, t4,
	    NULL), 409);
	ck_assert_str_eq(kg_ht_error(), "conflict");
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/" W1,
	    hadmin, NULL), 409);
	ck_assert_str_eq(kg_ht_error(), "conflict");
	ck_assert_int_eq(track_of(&hcfg, "acme", W1), 4);
	ck_assert_int_eq(audits(&hcfg, "member_remove", "failed"), 2);
	/* Track 3 may remove track 3, itself included. */
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/" W2, t3,
	    NULL), 204);
	ck_assert_int_eq(track_of(&hcfg, "acme", W2), -1);
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/nope/members/" W2,
	    hadmin, NULL), 404);
	ck_assert_str_eq(kg_ht_error(), "namespace_not_found");
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/nope/members/" W2, t4,
	    NULL), 403);
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/" W2,
	    NULL, NULL), 401);
}
END_TEST

/* A track-3 wallet of acme, by every route, against beta: 403, no change. */
START_TEST(http_cross_namespace)
{
	char	t3[4200], t4[4200];
	long long before;

	start("acme", W2, 3, t3, sizeof(t3), NULL);
	start("acme", W1, 4, t4, sizeof(t4), NULL);
	before = kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM members WHERE "
	    "namespace_id = %llu", hbeta);
	ck_assert_int_eq(call("GET", "/v1/namespaces/beta", t3, NULL), 403);
	ck_assert_int_eq(call("GET", "/v1/namespaces/beta/members", t3, NULL),
	    403);
	ck_assert_int_eq(call("PUT", "/v1/namespaces/beta/members/" W2, t3,
	    "{\"track\":3}"), 403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/beta/members/" CKLOW, t3,
	    "{\"track\":1}"), 403);
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/beta/members/" CKLOW,
	    t3, NULL), 403);
	ck_assert_str_eq(kg_ht_error(), "forbidden");
	/* Not even an operator of acme, nor with a bad body or wallet. */
	ck_assert_int_eq(call("PUT", "/v1/namespaces/beta/members/" W4, t4,
	    "{\"track\":1}"), 403);
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/beta/members/" W4, t4,
	    NULL), 403);
	ck_assert_int_eq(call("PUT", "/v1/namespaces/beta/members/0x1", t4,
	    "nonsense"), 403);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM members "
	    "WHERE namespace_id = %llu", hbeta), before);
	ck_assert_int_eq(track_of(&hcfg, "beta", CKLOW), 3);
	ck_assert_int_eq(track_of(&hcfg, "beta", W4), 4);
	ck_assert_int_eq(track_of(&hcfg, "beta", W2), -1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'beta' AND outcome = 'denied'"), 7);
	/* The target is recorded only when it is a wallet. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE namespace = 'beta' AND target IS NULL AND "
	    "action = 'member_set'"), 1);
}
END_TEST

/* Org tokens and API keys: what their scopes and binding allow. */
START_TEST(http_member_other_credentials)
{
	struct kg_principal	pr;
	char			v[128];

	memset(&pr, 0, sizeof(pr));
	pr.pr_method = KG_METHOD_ORG_TOKEN;
	strcpy(pr.pr_ns, "acme");
	strcpy(pr.pr_subject, "org:7");
	strcpy(pr.pr_scopes, "admin");
	strcpy(pr.pr_key_prefix, "ab12cd34");
	ck_assert_int_eq(direct(kg_members_list, "GET", "acme", NULL, &pr,
	    NULL), 200);
	ck_assert_int_eq(direct(kg_members_put, "PUT", "acme", W4, &pr,
	    "{\"track\":3}"), 201);
	ck_assert_str_eq(kg_ht_member("track", v, sizeof(v)), "3");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'member_set' AND actor_type = "
	    "'org_token' AND actor = 'ab12cd34' AND target = '%s'", W4), 1);
	/* Never track 4, even when a scope list claims operator.write. */
	strcpy(pr.pr_scopes, "admin operator.write");
	ck_assert_int_eq(direct(kg_members_put, "PUT", "acme", W4, &pr,
	    "{\"track\":4}"), 403);
	ck_assert_int_eq(direct(kg_members_delete, "DELETE", "acme", W1, &pr,
	    NULL), 403);
	ck_assert_int_eq(direct(kg_members_delete, "DELETE", "acme", W4, &pr,
	    NULL), 204);
	/* Bound to another namespace. */
	strcpy(pr.pr_ns, "beta");
	ck_assert_int_eq(direct(kg_members_put, "PUT", "acme", W4, &pr,
	    "{\"track\":1}"), 403);
	/* An API key: admin counts, keys:write does not. */
	pr.pr_method = KG_METHOD_API_KEY;
	strcpy(pr.pr_ns, "acme");
	strcpy(pr.pr_scopes, "keys:read keys:write");
	ck_assert_int_eq(direct(kg_members_list, "GET", "acme", NULL, &pr,
	    NULL), 403);
	ck_assert_int_eq(direct(kg_members_put, "PUT", "acme", W4, &pr,
	    "{\"track\":1}"), 403);
	strcpy(pr.pr_scopes, "admin");
	ck_assert_int_eq(direct(kg_members_put, "PUT", "acme", W4, &pr,
	    "{\"track\":1}"), 201);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'member_set' AND actor_type = "
	    "'api_key' AND actor = 'ab12cd34' AND outcome = 'ok'"), 1);
	/* Daemon tokens never. */
	pr.pr_method = KG_METHOD_DAEMON_TOKEN;
	ck_assert_int_eq(direct(kg_members_list, "GET", "acme", NULL, &pr,
	    NULL), 403);
	ck_assert_int_eq(direct(kg_members_delete, "DELETE", "acme", W4, &pr,
	    NULL), 403);
	ck_assert_int_eq(track_of(&hcfg, "acme", W4), 1);
	/* A track-3 session manages by its track (SPEC 9), scopes aside. */
	pr.pr_method = KG_METHOD_JWT;
	strcpy(pr.pr_subject, W2);
	pr.pr_key_prefix[0] = '\0';
	pr.pr_track = 3;
	strcpy(pr.pr_scopes, "projects:read");
	ck_assert_int_eq(direct(kg_members_list, "GET", "acme", NULL, &pr,
	    NULL), 200);
	/* A key-derived token (no track) holding only keys scopes does not. */
	pr.pr_track = 0;
	strcpy(pr.pr_subject, "key:ab12cd34");
	strcpy(pr.pr_scopes, "keys:read");
	ck_assert_int_eq(direct(kg_members_list, "GET", "acme", NULL, &pr,
	    NULL), 403);
	strcpy(pr.pr_subject, W2);
	/* A track-4 session whose track holds operator.write may. */
	pr.pr_track = 4;
	strcpy(pr.pr_scopes, "admin operator.write");
	ck_assert_int_eq(direct(kg_members_put, "PUT", "acme", W4, &pr,
	    "{\"track\":4}"), 200);
	ck_assert_int_eq(track_of(&hcfg, "acme", W4), 4);
}
END_TEST

/* Families of wallet revoked with reason, in any namespace. */
static long long
revoked_families(const char *wallet, const char *reason)
{
	return kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "session_families WHERE subject = '%s' AND revoked_reason = '%s'",
	    wallet, reason);
}

/* Asserts that "Bearer <jwt>" auth and refresh token rt are both dead. */
static void
session_dead(const char *auth, const char *rt)
{
	char	body[256];

	ck_assert_int_eq(call("GET", "/v1/auth/check", auth, NULL), 401);
	ck_refused(401, "token_revoked");
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL), 401);
	ck_refused(401, "token_revoked");
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, body), 401);
	ck_refused(401, "invalid_refresh_token");
}

/* The clock of a sign-in in the second of the last logout. */
static time_t	clock_sec;

static void
clock_fixed(struct timespec *ts)
{
	ts->tv_sec = clock_sec;
	ts->tv_nsec = 0;
}

/*
 * A demoted operator's old token cannot re-promote itself or act as an
 * operator: the demotion ends its sessions in the same transaction.  A
 * new sign-in, even in the second of the demotion, works at the new track.
 */
START_TEST(http_demotion_ends_sessions)
{
	char	t4[4200], rt4[KG_TOKEN_MAX], o4[4200], n1[4200], v[64];
	MYSQL	*m = kg_test_conn(&hcfg);

	kg_test_sql(m, "UPDATE members SET track = 4 WHERE wallet = '%s'", W2);
	mysql_close(m);
	start("acme", W2, 4, t4, sizeof(t4), rt4);
	start("acme", W1, 4, o4, sizeof(o4), NULL);
	ck_assert_int_eq(call("GET", "/v1/auth/check", t4, NULL), 204);
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W2, hadmin,
	    "{\"track\":1}"), 200);
	ck_assert_int_eq(track_of(&hcfg, "acme", W2), 1);
	/* The old track-4 token: neither re-promotion nor removal. */
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W2, t4,
	    "{\"track\":4}"), 401);
	ck_refused(401, "token_revoked");
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/" W3, t4,
	    NULL), 401);
	ck_refused(401, "token_revoked");
	ck_assert_int_eq(track_of(&hcfg, "acme", W2), 1);
	ck_assert_int_eq(track_of(&hcfg, "acme", W3), 2);
	session_dead(t4, rt4);
	ck_assert_int_eq(revoked_families(W2, "member_demoted"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "subject_logouts WHERE namespace = 'acme' AND subject = '%s'", W2),
	    1);
	/* Other wallets' sessions are untouched. */
	ck_assert_int_eq(call("GET", "/v1/auth/check", o4, NULL), 204);
	ck_assert_int_eq(revoked_families(W1, "member_demoted"), 0);

	/* Signed in again, in the very second of the demotion: works. */
	clock_sec = (time_t)kg_test_db_scalar(&hcfg, "SELECT FLOOR("
	    "UNIX_TIMESTAMP(logged_out_at)) FROM subject_logouts WHERE "
	    "subject = '%s'", W2);
	hctx.now = clock_fixed;
	start("acme", W2, 1, n1, sizeof(n1), NULL);
	ck_assert_int_eq(call("GET", "/v1/auth/check", n1, NULL), 204);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", n1, NULL), 200);
	ck_assert_str_eq(kg_ht_member("track", v, sizeof(v)), "1");
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W2, n1,
	    "{\"track\":4}"), 403);
	ck_assert_int_eq(call("GET", "/v1/namespaces/acme/members", n1, NULL),
	    403);
	/* The old token stays dead in that second too. */
	ck_assert_int_eq(call("GET", "/v1/auth/check", t4, NULL), 401);
	ck_refused(401, "token_revoked");
	ck_assert_int_eq(track_of(&hcfg, "acme", W2), 1);
}
END_TEST

/* A removed member's sessions end with the removal. */
START_TEST(http_removal_ends_sessions)
{
	char	t3[4200], s2[4200], rt2[KG_TOKEN_MAX], rt3[KG_TOKEN_MAX];

	start("acme", W2, 3, t3, sizeof(t3), rt3);
	start("acme", W3, 2, s2, sizeof(s2), rt2);
	ck_assert_int_eq(call("GET", "/v1/auth/check", s2, NULL), 204);
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/" W3, t3,
	    NULL), 204);
	session_dead(s2, rt2);
	ck_assert_int_eq(revoked_families(W3, "member_removed"), 1);
	/* The remover's own session lives on. */
	ck_assert_int_eq(call("GET", "/v1/auth/check", t3, NULL), 204);
	ck_assert_int_eq(revoked_families(W2, "member_removed"), 0);
	/* A removed operator cannot act with its old token either. */
	ck_assert_int_eq(call("DELETE", "/v1/namespaces/acme/members/" W2,
	    hadmin, NULL), 204);
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W2, t3,
	    "{\"track\":3}"), 401);
	ck_refused(401, "token_revoked");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "members WHERE wallet = '%s'", W2), 0);
}
END_TEST

/* A promotion, or the same track again, ends nothing. */
START_TEST(http_promotion_keeps_sessions)
{
	char	s2[4200], rt2[KG_TOKEN_MAX], body[256], v[64];
	char	at[4096], auth[4200];

	start("acme", W3, 2, s2, sizeof(s2), rt2);
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W3, hadmin,
	    "{\"track\":3}"), 200);
	ck_assert_int_eq(call("PUT", "/v1/namespaces/acme/members/" W3, hadmin,
	    "{\"track\":3}"), 200);
	ck_assert_int_eq(call("GET", "/v1/auth/check", s2, NULL), 204);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "subject_logouts"), 0);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "session_families WHERE revoked_at IS NOT NULL"), 0);
	/* The next access token carries the new track. */
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt2);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, body), 200);
	kg_ht_member("access_token", at, sizeof(at));
	snprintf(auth, sizeof(auth), "Bearer %s", at);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL), 200);
	ck_assert_str_eq(kg_ht_member("track", v, sizeof(v)), "3");
	/* The old one, issued at track 2, is still valid (it only grants less). */
	ck_assert_int_eq(call("GET", "/v1/auth/check", s2, NULL), 204);
}
END_TEST

/* Concurrent demotions of the two operators through the handlers. */
static int
http_demote_child(struct kg_db *db, int i, void *arg)
{
	struct kg_ctx		ctx;
	struct kg_response	resp;
	struct kg_request	req;
	int			st;

	(void)arg;
	(void)db;
	if (kg_ctx_init(&ctx, &hcfg) != KG_OK)
		return 100;
	memset(&resp, 0, sizeof(resp));
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.path = i == 0 ? "/v1/namespaces/beta/members/" W4 :
	    "/v1/namespaces/beta/members/" CKLOW;
	req.query = "";
	req.authorization = hadmin;
	req.content_type = KG_CT_JSON;
	req.body = "{\"track\":2}";
	req.body_len = strlen(req.body);
	req.remote_addr = "192.0.2.9";
	kg_dispatch(&ctx, &req, &resp);
	st = resp.status;
	kg_resp_free(&resp);
	kg_ctx_free(&ctx);
	return st == 200 ? 0 : st == 409 ? 1 : 2;
}

START_TEST(http_last_operator_race)
{
	MYSQL	*m = kg_test_conn(&hcfg);
	int	 codes[2];

	kg_test_sql(m, "UPDATE members SET track = 4 WHERE wallet = '%s'",
	    CKLOW);
	mysql_close(m);
	kg_test_race(&hcfg, 2, http_demote_child, NULL, codes);
	ck_assert_msg((codes[0] == 0 && codes[1] == 1) ||
	    (codes[0] == 1 && codes[1] == 0), "outcomes %d %d", codes[0],
	    codes[1]);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "members WHERE namespace_id = %llu AND track = 4", hbeta), 1);
	ck_assert_int_eq(audits(&hcfg, "member_set", "ok"), 1);
	ck_assert_int_eq(audits(&hcfg, "member_set", "failed"), 1);
}
END_TEST

static Suite *
members_suite(void)
{
	Suite	*s = suite_create("members");
	TCase	*tc = tcase_create("store");
	TCase	*th = tcase_create("http");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ns_create_owner_conflict_info);
	tcase_add_test(tc, member_rules);
	tcase_add_test(tc, member_list_order_and_paging);
	tcase_add_loop_test(tc, last_operator_race_two, 0, 5);
	tcase_add_loop_test(tc, last_operator_race_many, 0, 3);
	tcase_add_loop_test(tc, create_races_first_signins, 0, 5);
	suite_add_tcase(s, tc);
	tcase_set_timeout(th, 60);
	tcase_add_checked_fixture(th, hsetup, kg_ht_teardown);
	tcase_add_test(th, http_namespace_create);
	tcase_add_test(th, http_namespace_get);
	tcase_add_test(th, http_members_list);
	tcase_add_test(th, http_manage_by_track);
	tcase_add_test(th, http_members_list_clamped);
	tcase_add_test(th, http_member_put);
	tcase_add_test(th, http_member_delete);
	tcase_add_test(th, http_cross_namespace);
	tcase_add_test(th, http_member_other_credentials);
	tcase_add_test(th, http_demotion_ends_sessions);
	tcase_add_test(th, http_removal_ends_sessions);
	tcase_add_test(th, http_promotion_keeps_sessions);
	tcase_add_loop_test(th, http_last_operator_race, 0, 3);
	suite_add_tcase(s, th);
	return s;
}

int
main(void)
{
	kg_test_db_require();
	return kg_test_run(members_suite());
}
