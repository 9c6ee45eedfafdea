/*
 * check_session.c: sessions of SPEC 5 against a real MariaDB: families
 * and refresh tokens (hash only), rotation, reuse detection, the refresh
 * race (up to 64 forked processes rotating one token, in the store and
 * through kg_dispatch: exactly one wins, the family dies), expiry, revoked families, the jti list, logout-all at
 * second resolution, failing closed without a database; then the
 * handlers through kg_dispatch (refresh, logout, revoke, whoami, jwks).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "core/api/authn.h"
#include "core/api/ctx.h"
#include "core/api/router.h"
#include "core/api/session.h"
#include "core/crypto/jwt.h"
#include "core/crypto/token.h"
#include "core/store/db.h"
#include "core/store/session.h"
#include "tests/db/dbtest.h"
#include "tests/db/httptest.h"

#define WALLET	"0x52908400098527886e0f7030069857d2e4169ee7"
#define WALLET2	"0x8617e340b3d01fa5f11f306f4090fd50e238070d"
#define ADMIN	KG_HT_ADMIN

/* ------------------------------------------------------------ helpers */

static unsigned long long
make_ns(const struct kg_config *cfg, const char *name)
{
	unsigned long long	id = kg_ht_make_ns(cfg, name);

	/* Sessions belong to members: WALLET at track 2, WALLET2 at 1. */
	kg_ht_add_member(cfg, id, WALLET, 2, 0);
	kg_ht_add_member(cfg, id, WALLET2, 1, 0);
	return id;
}

static void
mint(char tok[KG_TOKEN_MAX], char id8[KG_TOKEN_ID_LEN + 1])
{
	ck_assert_int_eq(kg_token_mint("kg", "rt", tok, id8), KG_OK);
}

/* A family for subject in ns_id plus its first refresh token. */
static void
new_family(struct kg_db *db, unsigned long long ns_id, const char *subject,
    char sid[KG_SESSION_SID_LEN + 1], char tok[KG_TOKEN_MAX])
{
	char	id8[KG_TOKEN_ID_LEN + 1];
	long	exp = -1;

	ck_assert_int_eq(kg_store_family_create(db, ns_id, subject, 2, 3600,
	    sid), KG_OK);
	mint(tok, id8);
	ck_assert_int_eq(kg_store_refresh_insert(db, sid, tok, id8, 600, &exp,
	    NULL), KG_OK);
	ck_assert(exp >= 598 && exp <= 600);
}

static long long
family_revoked(const struct kg_config *cfg, const char *sid)
{
	return kg_test_db_scalar(cfg, "SELECT COUNT(*) FROM session_families "
	    "WHERE id = '%s' AND revoked_at IS NOT NULL", sid);
}

static enum kg_rotate
rotate(struct kg_db *db, const char *tok, char next[KG_TOKEN_MAX],
    struct kg_session_family *fam)
{
	char		id8[KG_TOKEN_ID_LEN + 1];
	enum kg_rotate	res = KG_ROTATE__MAX;
	long		exp = -1;

	mint(next, id8);
	ck_assert_int_eq(kg_store_refresh_rotate(db, tok, next, id8, 600,
	    "192.0.2.1", &res, fam, &exp), KG_OK);
	if (res == KG_ROTATE_OK)
		ck_assert(exp >= 598 && exp <= 600);
	return res;
}

static int
revoked(struct kg_db *db, const char *jti, const char *sid, const char *ns,
    const char *sub, int64_t iat)
{
	int	v = -1;

	ck_assert_int_eq(kg_store_token_revoked(db, jti, sid, ns, sub, iat, &v),
	    KG_OK);
	return v;
}

/* ------------------------------------------------------------ store */

START_TEST(family_and_refresh_hash_only)
{
	struct kg_config	cfg;
	struct kg_db		*db;
	char			sid[KG_SESSION_SID_LEN + 1], tok[KG_TOKEN_MAX];
	char			tok2[KG_TOKEN_MAX], id8[KG_TOKEN_ID_LEN + 1];
	unsigned long long	ns;
	long			exp = -1, left = -1;
	size_t			i;

	kg_test_db_config(&cfg);
	ns = make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	new_family(db, ns, WALLET, sid, tok);
	ck_assert_uint_eq(strlen(sid), 32);
	for (i = 0; i < 32; i++)
		ck_assert(strchr("0123456789abcdef", sid[i]) != NULL);
	/* Only the SHA-256 is stored, under the token's id8. */
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "refresh_tokens WHERE token_hash = UNHEX(SHA2('%s', 256)) AND "
	    "id8 = '%.8s' AND family_id = '%s' AND used_at IS NULL", tok,
	    tok + 6, sid), 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "session_families WHERE id = '%s' AND subject = '%s' AND "
	    "track = 2 AND revoked_at IS NULL", sid, WALLET), 1);
	/* A refresh token never outlives its family (session_max_age). */
	mint(tok2, id8);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "session_families"), 1);
	{
		MYSQL *m = kg_test_conn(&cfg);

		kg_test_sql(m, "UPDATE session_families SET expires_at = "
		    "UTC_TIMESTAMP(6) + INTERVAL 100 SECOND");
		mysql_close(m);
	}
	ck_assert_int_eq(kg_store_refresh_insert(db, sid, tok2, id8, 600, &exp,
	    &left), KG_OK);
	ck_assert(exp >= 98 && exp <= 100);
	ck_assert(left >= 98 && left <= 100);
	/* A short refresh_ttl: the family's time left is reported apart. */
	mint(tok2, id8);
	ck_assert_int_eq(kg_store_refresh_insert(db, sid, tok2, id8, 10, &exp,
	    &left), KG_OK);
	ck_assert(exp >= 8 && exp <= 10);
	ck_assert(left >= 98 && left <= 100);
	/* Unknown family. */
	mint(tok2, id8);
	ck_assert_int_eq(kg_store_refresh_insert(db,
	    "0123456789abcdef0123456789abcdef", tok2, id8, 600, &exp, NULL),
	    KG_ERR_NOT_FOUND);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(rotation_then_reuse_kills_family)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_session_family fam;
	char			 sid[KG_SESSION_SID_LEN + 1], t0[KG_TOKEN_MAX];
	char			 t1[KG_TOKEN_MAX], t2[KG_TOKEN_MAX];
	unsigned long long	 ns;

	kg_test_db_config(&cfg);
	ns = make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	new_family(db, ns, WALLET, sid, t0);
	ck_assert_int_eq(rotate(db, t0, t1, &fam), KG_ROTATE_OK);
	ck_assert_str_eq(fam.sf_id, sid);
	ck_assert_str_eq(fam.sf_ns, "acme");
	ck_assert_str_eq(fam.sf_subject, WALLET);
	ck_assert_int_eq(fam.sf_track, 2);
	ck_assert_uint_eq(fam.sf_ns_id, ns);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "refresh_tokens o JOIN refresh_tokens n ON n.id = o.replaced_by "
	    "WHERE o.token_hash = UNHEX(SHA2('%s', 256)) AND o.used_at IS NOT "
	    "NULL AND n.token_hash = UNHEX(SHA2('%s', 256))", t0, t1), 1);
	ck_assert_int_eq(revoked(db, "00000000000000000000000000000000", sid,
	    "acme", WALLET, 1), 0);
	/* t0 again: reuse; the family dies, t1 with it. */
	ck_assert_int_eq(rotate(db, t0, t2, &fam), KG_ROTATE_REUSED);
	ck_assert_str_eq(fam.sf_id, sid);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "session_families WHERE id = '%s' AND revoked_reason = 'reuse'",
	    sid), 1);
	ck_assert_int_eq(revoked(db, "00000000000000000000000000000000", sid,
	    "acme", WALLET, 1), 1);
	ck_assert_int_eq(rotate(db, t1, t2, &fam), KG_ROTATE_INVALID);
	/* Reuse of a dead family is just invalid, and changes nothing. */
	ck_assert_int_eq(rotate(db, t0, t2, &fam), KG_ROTATE_INVALID);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'refresh_reuse'"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'refresh' AND namespace = 'acme' "
	    "AND actor = '%s'", WALLET), 1);
	/* An unknown token. */
	mint(t0, t2);
	ck_assert_int_eq(rotate(db, t0, t2, &fam), KG_ROTATE_INVALID);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* kg_test_race's most: the refresh race of issue 7. */
#define NRACERS	64

/*
 * n processes rotate one refresh token at once.  Exactly one wins; the
 * first loser finds it used while the family is live (reuse) and revokes
 * the family; any later loser finds the family already revoked, which
 * SPEC 5 answers with invalid_refresh_token ("reuse detection applies
 * while the family is live").  With two racers: one wins, one is reuse.
 */
static void
race(int n)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_session_family fam;
	char			 sid[KG_SESSION_SID_LEN + 1], t0[KG_TOKEN_MAX];
	char			 next[NRACERS][KG_TOKEN_MAX], id8[NRACERS][9];
	char			 t2[KG_TOKEN_MAX], b;
	pid_t			 pids[NRACERS];
	int			 gate[2], i, status, won = -1, nwon = 0;
	int			 nreused = 0, ninvalid = 0;
	unsigned long long	 ns;

	kg_test_db_config(&cfg);
	ns = make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	new_family(db, ns, WALLET, sid, t0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(kg_token_mint("kg", "rt", next[i], id8[i]),
		    KG_OK);
	ck_assert_int_eq(pipe(gate), 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0) {
			struct kg_db		*cdb = NULL;
			struct kg_session_family f;
			enum kg_rotate		 res = KG_ROTATE__MAX;
			enum kg_err		 r;
			long			 exp;

			/* Start together: wait until the parent closes the pipe. */
			close(gate[1]);
			while (read(gate[0], &b, 1) < 0 && errno == EINTR)
				continue;
			if (kg_db_open(&cdb, &cfg) != KG_OK)
				_exit(100);
			r = kg_store_refresh_rotate(cdb, t0, next[i], id8[i],
			    600, NULL, &res, &f, &exp);
			kg_db_close(cdb);
			if (r != KG_OK)
				_exit(100 + (int)r);
			_exit((int)res);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_msg(WEXITSTATUS(status) < 100,
		    "racer %d failed: %d", i, WEXITSTATUS(status));
		if (WEXITSTATUS(status) == KG_ROTATE_OK) {
			won = i;
			nwon++;
		} else if (WEXITSTATUS(status) == KG_ROTATE_REUSED)
			nreused++;
		else if (WEXITSTATUS(status) == KG_ROTATE_INVALID)
			ninvalid++;
	}
	ck_assert_int_eq(nwon, 1);
	ck_assert_int_eq(nreused, 1);
	ck_assert_int_eq(ninvalid, n - 2);
	ck_assert_int_eq(family_revoked(&cfg, sid), 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "session_families WHERE revoked_reason = 'reuse'"), 1);
	/* The winner's new token dies with the family, its access tokens too. */
	ck_assert_int_eq(rotate(db, next[won], t2, &fam), KG_ROTATE_INVALID);
	ck_assert_int_eq(revoked(db, "00000000000000000000000000000000", sid,
	    "acme", WALLET, 1), 1);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "refresh_tokens WHERE family_id = '%s'", sid), 2);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'refresh'"), 1);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}

START_TEST(refresh_race_two)
{
	race(2);
}
END_TEST

START_TEST(refresh_race_many)
{
	race(NRACERS);
}
END_TEST

START_TEST(rotation_follows_membership)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_session_family fam;
	char			 sid[KG_SESSION_SID_LEN + 1], t0[KG_TOKEN_MAX];
	char			 t1[KG_TOKEN_MAX], t2[KG_TOKEN_MAX];
	unsigned long long	 ns;
	MYSQL			*m;

	kg_test_db_config(&cfg);
	ns = make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	new_family(db, ns, WALLET, sid, t0);
	m = kg_test_conn(&cfg);
	/* Demoted: the next access token carries the new track. */
	kg_test_sql(m, "UPDATE members SET track = 1 WHERE wallet = '%s'",
	    WALLET);
	ck_assert_int_eq(rotate(db, t0, t1, &fam), KG_ROTATE_OK);
	ck_assert_int_eq(fam.sf_track, 1);
	/* Removed: the session ends, and that is not reuse. */
	kg_test_sql(m, "DELETE FROM members WHERE wallet = '%s'", WALLET);
	ck_assert_int_eq(rotate(db, t1, t2, &fam), KG_ROTATE_INVALID);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "session_families WHERE id = '%s' AND revoked_reason = "
	    "'member_removed'", sid), 1);
	ck_assert_int_eq(rotate(db, t1, t2, &fam), KG_ROTATE_INVALID);
	mysql_close(m);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(expired_refresh_is_invalid)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_session_family fam;
	char			 sid[KG_SESSION_SID_LEN + 1], t0[KG_TOKEN_MAX];
	char			 t1[KG_TOKEN_MAX], s2[KG_SESSION_SID_LEN + 1];
	unsigned long long	 ns;
	MYSQL			*m;

	kg_test_db_config(&cfg);
	ns = make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	new_family(db, ns, WALLET, sid, t0);
	m = kg_test_conn(&cfg);
	kg_test_sql(m, "UPDATE refresh_tokens SET expires_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
	ck_assert_int_eq(rotate(db, t0, t1, &fam), KG_ROTATE_INVALID);
	ck_assert_int_eq(family_revoked(&cfg, sid), 0);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "refresh_tokens WHERE used_at IS NULL"), 1);
	/* An expired family: its unexpired token is refused too. */
	new_family(db, ns, WALLET, s2, t0);
	kg_test_sql(m, "UPDATE session_families SET expires_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE id = '%s'", s2);
	ck_assert_int_eq(rotate(db, t0, t1, &fam), KG_ROTATE_INVALID);
	mysql_close(m);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(revoked_family_is_invalid_not_reuse)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	struct kg_session_family fam;
	char			 sid[KG_SESSION_SID_LEN + 1], t0[KG_TOKEN_MAX];
	char			 t1[KG_TOKEN_MAX], t2[KG_TOKEN_MAX];
	unsigned long long	 ns;

	kg_test_db_config(&cfg);
	ns = make_ns(&cfg, "acme");
	db = kg_test_db_open(&cfg);
	new_family(db, ns, WALLET, sid, t0);
	ck_assert_int_eq(rotate(db, t0, t1, &fam), KG_ROTATE_OK);
	ck_assert_int_eq(kg_store_family_revoke_by_refresh(db, t1, "logout",
	    &fam), KG_OK);
	ck_assert_str_eq(fam.sf_id, sid);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "session_families WHERE revoked_reason = 'logout'"), 1);
	/* Idempotent, and the reason stays the first one. */
	ck_assert_int_eq(kg_store_family_revoke(db, sid, "other"), KG_OK);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "session_families WHERE revoked_reason = 'logout'"), 1);
	ck_assert_int_eq(rotate(db, t1, t2, &fam), KG_ROTATE_INVALID);
	ck_assert_int_eq(rotate(db, t0, t2, &fam), KG_ROTATE_INVALID);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'refresh_reuse'"), 0);
	mint(t2, t1);
	ck_assert_int_eq(kg_store_family_revoke_by_refresh(db, t2, "logout",
	    NULL), KG_ERR_NOT_FOUND);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(jti_revocation_idempotent)
{
	struct kg_config		cfg;
	struct kg_db			*db;
	struct kg_jti_revocation	jr;
	int				ins = -1;

	kg_test_db_config(&cfg);
	db = kg_test_db_open(&cfg);
	memset(&jr, 0, sizeof(jr));
	jr.jr_jti = "0123456789abcdef0123456789abcdef";
	jr.jr_subject = WALLET;
	jr.jr_ns = "acme";
	jr.jr_track = 1;
	jr.jr_expires_at = (int64_t)time(NULL) + 600;
	jr.jr_reason = "logout";
	ck_assert_int_eq(revoked(db, jr.jr_jti, "", "acme", WALLET, 1), 0);
	ck_assert_int_eq(kg_store_jti_revoke(db, &jr, &ins), KG_OK);
	ck_assert_int_eq(ins, 1);
	ck_assert_int_eq(kg_store_jti_revoke(db, &jr, &ins), KG_OK);
	ck_assert_int_eq(ins, 0);
	jr.jr_track = 0;
	jr.jr_jti = "ffffffffffffffffffffffffffffffff";
	ck_assert_int_eq(kg_store_jti_revoke(db, &jr, NULL), KG_OK);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "jwt_revocations"), 2);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "jwt_revocations WHERE track IS NULL"), 1);
	ck_assert_int_eq(revoked(db, "0123456789abcdef0123456789abcdef", "",
	    "acme", WALLET, 1), 1);
	ck_assert_int_eq(revoked(db, "0123456789abcdef0123456789abcdee", "",
	    "acme", WALLET, 1), 0);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

START_TEST(logout_all_subject_second_resolution)
{
	struct kg_config	 cfg;
	struct kg_db		*db;
	char			 a[KG_SESSION_SID_LEN + 1], b[KG_SESSION_SID_LEN + 1];
	char			 c[KG_SESSION_SID_LEN + 1], d[KG_SESSION_SID_LEN + 1];
	char			 t[KG_TOKEN_MAX];
	const char		*jti = "0123456789abcdef0123456789abcdef";
	unsigned long long	 ns, ns2, n = 0;
	long long		 lo;

	kg_test_db_config(&cfg);
	ns = make_ns(&cfg, "acme");
	ns2 = make_ns(&cfg, "other");
	db = kg_test_db_open(&cfg);
	new_family(db, ns, WALLET, a, t);
	new_family(db, ns, WALLET, b, t);
	new_family(db, ns, WALLET2, c, t);
	new_family(db, ns2, WALLET, d, t);
	ck_assert_int_eq(kg_store_subject_logout(db, "acme", WALLET, &n), KG_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(family_revoked(&cfg, a), 1);
	ck_assert_int_eq(family_revoked(&cfg, b), 1);
	ck_assert_int_eq(family_revoked(&cfg, c), 0);
	ck_assert_int_eq(family_revoked(&cfg, d), 0);
	lo = kg_test_db_scalar(&cfg, "SELECT FLOOR(UNIX_TIMESTAMP("
	    "logged_out_at)) FROM subject_logouts WHERE namespace = 'acme' "
	    "AND subject = '%s'", WALLET);
	ck_assert_int_gt(lo, 0);
	/* iat at or before the logout second: refused; after: valid. */
	ck_assert_int_eq(revoked(db, jti, "", "acme", WALLET, lo - 100), 1);
	ck_assert_int_eq(revoked(db, jti, "", "acme", WALLET, lo), 1);
	ck_assert_int_eq(revoked(db, jti, "", "acme", WALLET, lo + 1), 0);
	ck_assert_int_eq(revoked(db, jti, "", "acme", WALLET2, lo), 0);
	ck_assert_int_eq(revoked(db, jti, "", "other", WALLET, lo), 0);
	/* Again: idempotent, the time only moves forward. */
	ck_assert_int_eq(kg_store_subject_logout(db, "acme", WALLET, &n), KG_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_ge(kg_test_db_scalar(&cfg, "SELECT FLOOR(UNIX_TIMESTAMP("
	    "logged_out_at)) FROM subject_logouts"), lo);
	ck_assert_int_eq(kg_test_db_scalar(&cfg, "SELECT COUNT(*) FROM "
	    "subject_logouts"), 1);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}
END_TEST

/* ------------------------------------------------------------ handlers */

static unsigned long long	hns;

static void
hsetup(void)
{
	static const struct kg_ht_opts	o = { 1, 0, NULL };

	kg_ht_setup(&o);
	hns = make_ns(&hcfg, "acme");
}

static int
call(const char *method, const char *path, const char *auth,
    const char *ctype, const char *body)
{
	return kg_ht_call(method, path, NULL, auth, NULL, ctype, body);
}

static void
bearer(char *out, size_t len, const char *token)
{
	snprintf(out, len, "Bearer %s", token);
}

/* Signs in subject at track: access token and refresh token. */
static void
start(const char *subject, int track, char *at, size_t atlen,
    char rt[KG_TOKEN_MAX], long *expires_in)
{
	struct kg_session_tokens st;

	kg_ht_start(hns, "acme", subject, track, &st);
	snprintf(at, atlen, "%s", kg_buf_str(&st.st_access));
	memcpy(rt, st.st_refresh, KG_TOKEN_MAX);
	if (expires_in != NULL)
		*expires_in = st.st_expires_in;
	ck_assert(st.st_refresh_expires_in > 0);
	kg_buf_free(&st.st_access);
}

START_TEST(http_refresh_rotation_and_reuse)
{
	char	at[4096], rt[KG_TOKEN_MAX], auth[4200], body[256];
	char	at2[4096], rt2[KG_TOKEN_MAX], v[64];

	start(WALLET, 2, at, sizeof(at), rt, NULL);
	bearer(auth, sizeof(auth), at);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
	ck_assert_str_eq(kg_ht_member("method", v, sizeof(v)), "jwt");
	ck_assert_str_eq(kg_ht_member("subject", v, sizeof(v)), WALLET);
	ck_assert_str_eq(kg_ht_member("namespace", v, sizeof(v)), "acme");
	ck_assert_str_eq(kg_ht_member("track", v, sizeof(v)), "2");
	ck_assert(strstr(kg_buf_str(&hresp.body), "\"scopes\":[\"projects:read\","
	    "\"projects:execute\",\"keys:read\",\"keys:write\"]") != NULL);
	ck_assert(strstr(kg_ht_member("expires_at", v, sizeof(v)), "Z") !=
	    NULL);

	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt);
	/* A stale Authorization header does not get in the way. */
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", "Bearer x.y.z",
	    KG_CT_JSON, body), 200);
	ck_assert_int_eq(hresp.no_store, 1);
	kg_ht_member("access_token", at2, sizeof(at2));
	kg_ht_member("refresh_token", rt2, sizeof(rt2));
	ck_assert_str_eq(kg_ht_member("token_type", v, sizeof(v)), "Bearer");
	ck_assert_str_eq(kg_ht_member("expires_in", v, sizeof(v)), "900");
	ck_assert_int_gt(atol(kg_ht_member("refresh_expires_in", v,
	    sizeof(v))), 0);
	ck_assert_str_ne(rt2, rt);
	ck_assert_int_eq(strncmp(rt2, "kg_rt_", 6), 0);
	bearer(auth, sizeof(auth), at2);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);

	/* The old one again: reuse, every token of the family dies. */
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    body), 401);
	ck_assert_str_eq(kg_ht_error(), "refresh_token_reused");
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "token_revoked");
	bearer(auth, sizeof(auth), at);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "token_revoked");
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt2);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    body), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_refresh_token");

	/* Malformed: refused before any query. */
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    "{\"refresh_token\":\"kg_rt_nope\"}"), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_refresh_token");
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    "{\"refresh_token\":\"x\",\"extra\":1}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    "{"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_json");
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, NULL, NULL),
	    400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'refresh_reuse' AND "
	    "remote_addr = '192.0.2.7'"), 1);
}
END_TEST

/* Every racer's refresh body: the one refresh token of arg. */
static void
refresh_body(int i, char *buf, size_t len, void *arg)
{
	(void)i;
	(void)snprintf(buf, len, "{\"refresh_token\":\"%s\"}",
	    (const char *)arg);
}

/*
 * NRACERS processes POST /v1/auth/refresh with one refresh token at once,
 * each through kg_dispatch on a context (and connection) of its own.
 * Exactly one gets 200; the others get SPEC 5's refusals and nothing
 * else: one 401 refresh_token_reused (the first to find the token used
 * while the family was live), every later one 401 invalid_refresh_token
 * (the family is revoked by then).
 */
START_TEST(http_refresh_race)
{
	static const struct kg_ht_outcome out[] = {
		{ 200, NULL }, { 401, "refresh_token_reused" },
		{ 401, "invalid_refresh_token" },
	};
	char	at[4096], rt[KG_TOKEN_MAX];
	int	n[3];

	start(WALLET, 2, at, sizeof(at), rt, NULL);
	kg_ht_race(NRACERS, "POST", "/v1/auth/refresh", refresh_body, rt,
	    out, 3, n);
	ck_assert_int_eq(n[0], 1);
	ck_assert_int_eq(n[1], 1);
	ck_assert_int_eq(n[2], NRACERS - 2);
	/* One rotation happened, and the reuse revoked the family. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "refresh_tokens"), 2);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "session_families WHERE revoked_reason = 'reuse'"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'refresh'"), 1);
}
END_TEST

START_TEST(http_access_rotation_and_logout)
{
	char	at[4096], rt[KG_TOKEN_MAX], auth[4200], at2[4096], v[64];
	long	ttl;

	/* Track 4's ceiling (60 min by default) is above access_ttl. */
	hcfg.track_ttl[3] = 600;
	/* Rotation follows the membership: make WALLET a track-4 member. */
	{
		MYSQL	*m = kg_test_conn(&hcfg);

		kg_test_sql(m, "UPDATE members SET track = 4 WHERE wallet = "
		    "'%s'", WALLET);
		mysql_close(m);
	}
	start(WALLET, 4, at, sizeof(at), rt, &ttl);
	ck_assert_int_eq(ttl, 600);
	ck_assert_int_eq(kg_session_access_ttl(&hcfg, 1), hcfg.access_ttl);
	ck_assert_int_eq(kg_session_access_ttl(&hcfg, 0), hcfg.access_ttl);
	bearer(auth, sizeof(auth), at);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL, NULL),
	    200);
	ck_assert_int_eq(hresp.no_store, 1);
	ck_assert_str_eq(kg_ht_member("expires_in", v, sizeof(v)), "600");
	ck_assert_str_eq(kg_ht_member("refresh_token", v, sizeof(v)), "");
	kg_ht_member("access_token", at2, sizeof(at2));
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "jwt_revocations WHERE reason = 'refresh' AND track = 4"), 1);
	/* The old one is revoked, also for a second rotation. */
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL, NULL),
	    401);
	ck_assert_str_eq(kg_ht_error(), "token_revoked");
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "token_revoked");
	/* Logout of an already revoked token: still 200 (idempotent). */
	ck_assert_int_eq(call("POST", "/v1/auth/logout", auth, NULL, NULL), 200);

	bearer(auth, sizeof(auth), at2);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
	ck_assert_str_eq(kg_ht_member("track", v, sizeof(v)), "4");
	ck_assert(strstr(kg_buf_str(&hresp.body), "\"scopes\":[\"admin\","
	    "\"operator.write\"]") != NULL);
	ck_assert_int_eq(call("POST", "/v1/auth/logout", auth, NULL, NULL), 200);
	ck_assert_str_eq(kg_ht_member("status", v, sizeof(v)), "ok");
	ck_assert_int_eq(call("POST", "/v1/auth/logout", auth, NULL, NULL), 200);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "token_revoked");
	/* The family itself is still live: its refresh token works. */
	snprintf(auth, sizeof(auth), "{\"refresh_token\":\"%s\"}", rt);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    auth), 200);

	/* Near session_max_age: the rotated token ends with the family. */
	{
		MYSQL	*m = kg_test_conn(&hcfg);
		char	 a3[4096], a4[4096];

		start(WALLET, 1, a3, sizeof(a3), rt, NULL);
		kg_test_sql(m, "UPDATE session_families SET expires_at = "
		    "UTC_TIMESTAMP(6) + INTERVAL 100 SECOND");
		/* Refresh-token rotation: neither token outlives the family. */
		snprintf(auth, sizeof(auth), "{\"refresh_token\":\"%s\"}", rt);
		ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL,
		    KG_CT_JSON, auth), 200);
		ck_assert_int_le(atol(kg_ht_member("expires_in", v,
		    sizeof(v))), 100);
		ck_assert_int_le(atol(kg_ht_member("refresh_expires_in", v,
		    sizeof(v))), 100);
		bearer(auth, sizeof(auth), a3);
		ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL,
		    NULL), 200);
		ck_assert_int_le(atol(kg_ht_member("expires_in", v,
		    sizeof(v))), 100);
		ck_assert_int_ge(atol(kg_ht_member("expires_in", v,
		    sizeof(v))), 98);
		kg_ht_member("access_token", a4, sizeof(a4));
		kg_test_sql(m, "UPDATE session_families SET expires_at = "
		    "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
		bearer(auth, sizeof(auth), a4);
		ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL,
		    NULL), 401);
		ck_assert_str_eq(kg_ht_error(), "invalid_token");
		/* Still valid until its own exp: only rotation ends. */
		ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL,
		    NULL), 200);
		mysql_close(m);
	}

	/* Bad credentials. */
	ck_assert_int_eq(call("POST", "/v1/auth/logout", "Bearer a.b.c", NULL,
	    NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_token");
	ck_assert_int_eq(call("POST", "/v1/auth/logout", NULL, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "unauthenticated");
	ck_assert_int_eq(call("POST", "/v1/auth/logout", NULL, KG_CT_JSON,
	    "{\"all\":true}"), 401);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", "Bearer " ADMIN, NULL,
	    NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_token");
	/* A tampered token. */
	at2[strlen(at2) - 2] = at2[strlen(at2) - 2] == 'A' ? 'B' : 'A';
	bearer(auth, sizeof(auth), at2);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_token");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'logout'"), 3);
}
END_TEST

START_TEST(http_logout_family_and_all)
{
	char	a1[4096], r1[KG_TOKEN_MAX], a2[4096], r2[KG_TOKEN_MAX];
	char	a3[4096], r3[KG_TOKEN_MAX], auth[4200], body[256];

	start(WALLET, 1, a1, sizeof(a1), r1, NULL);
	start(WALLET, 1, a2, sizeof(a2), r2, NULL);
	start(WALLET2, 1, a3, sizeof(a3), r3, NULL);
	/* Logout of a family by its refresh token: its access tokens too. */
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", r1);
	ck_assert_int_eq(call("POST", "/v1/auth/logout", NULL, KG_CT_JSON,
	    body), 200);
	ck_assert_int_eq(call("POST", "/v1/auth/logout", NULL, KG_CT_JSON,
	    body), 200);
	bearer(auth, sizeof(auth), a1);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "token_revoked");
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    body), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_refresh_token");

	/* Everywhere: a2 and its family, not the other wallet. */
	bearer(auth, sizeof(auth), a2);
	ck_assert_int_eq(call("POST", "/v1/auth/logout", auth, KG_CT_JSON,
	    "{\"all\":true}"), 200);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", r2);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    body), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_refresh_token");
	bearer(auth, sizeof(auth), a3);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "session_families WHERE revoked_at IS NULL"), 1);
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'logout_all'"), 1);
	ck_assert_int_eq(call("POST", "/v1/auth/logout", NULL, KG_CT_JSON,
	    "{\"refresh_token\":\"kg_rt_bad\"}"), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_refresh_token");
	ck_assert_int_eq(call("POST", "/v1/auth/logout", NULL, KG_CT_JSON,
	    "{\"bogus\":1}"), 400);
}
END_TEST

START_TEST(http_revoke_rfc7009)
{
	char	a1[4096], r1[KG_TOKEN_MAX], a2[4096], r2[KG_TOKEN_MAX];
	char	auth[4200], body[4400], v[64];

	start(WALLET, 1, a1, sizeof(a1), r1, NULL);
	start(WALLET, 1, a2, sizeof(a2), r2, NULL);
	snprintf(body, sizeof(body), "{\"token\":\"%s\","
	    "\"token_type_hint\":\"access_token\"}", r1);
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL, KG_CT_JSON,
	    body), 200);
	ck_assert_str_eq(kg_ht_member("status", v, sizeof(v)), "ok");
	bearer(auth, sizeof(auth), a1);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "token_revoked");

	/* Form-encoded, an access token: only its jti. */
	snprintf(body, sizeof(body), "token=%s&client_id=x", a2);
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL,
	    "application/x-www-form-urlencoded", body), 200);
	bearer(auth, sizeof(auth), a2);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL,
	    "application/x-www-form-urlencoded", body), 200);
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", r2);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    body), 200);

	/* Reveals nothing. */
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL, KG_CT_JSON,
	    "{\"token\":\"nonsense\"}"), 200);
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL, KG_CT_JSON,
	    "{\"token\":\"a.b.c\"}"), 200);
	mint(r1, v);
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", r1);
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL, KG_CT_JSON,
	    body), 200);
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL, KG_CT_JSON,
	    "{}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL,
	    "application/x-www-form-urlencoded", "token_type_hint=x"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL, KG_CT_JSON, ""),
	    400);
}
END_TEST

START_TEST(http_whoami_jwks_admin)
{
	char	v[64];

	ck_assert_int_eq(call("GET", "/v1/auth/whoami", NULL, NULL, NULL), 200);
	ck_assert_str_eq(kg_buf_str(&hresp.body), "{\"authenticated\":false}");
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", "Bearer " ADMIN, NULL,
	    NULL), 200);
	ck_assert_str_eq(kg_buf_str(&hresp.body), "{\"authenticated\":true,"
	    "\"method\":\"admin\",\"subject\":\"admin\",\"namespace\":null,"
	    "\"scopes\":[\"admin\",\"operator.write\"]}");
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", "Bearer nope", NULL,
	    NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_token");
	ck_assert_int_eq(call("GET", "/.well-known/jwks.json", NULL, NULL, NULL),
	    200);
	ck_assert_str_eq(kg_buf_str(&hresp.body), "{\"keys\":[]}");
	ck_assert_str_eq(kg_ht_member("keys", v, sizeof(v)), "[ ]");
}
END_TEST

/* Two hours from now: past every default access-token TTL. */
static void
clock_later(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += 7200;
}

START_TEST(http_expired_token_refused)
{
	char	at[4096], rt[KG_TOKEN_MAX], auth[4200], body[256];

	start(WALLET, 1, at, sizeof(at), rt, NULL);
	bearer(auth, sizeof(auth), at);
	hctx.now = clock_later;
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_token");
	/* Logout needs a valid expiry too; rotation as well. */
	ck_assert_int_eq(call("POST", "/v1/auth/logout", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_token");
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL, NULL),
	    401);
	ck_assert_str_eq(kg_ht_error(), "invalid_token");
	/* The refresh token lives on (its expiry is the database's clock). */
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    body), 200);
}
END_TEST

START_TEST(http_refresh_rate_limited)
{
	char	v[64];

	/* One bucket per client address, shared with challenge/verify. */
	hcfg.rate_ip_rate = 1;
	hcfg.rate_ip_burst = 2;
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    "{\"refresh_token\":\"kg_rt_x\"}"), 401);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    "{\"refresh_token\":\"kg_rt_x\"}"), 401);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    "{\"refresh_token\":\"kg_rt_x\"}"), 429);
	ck_assert_str_eq(kg_ht_member("error", v, sizeof(v)), "rate_limited");
	ck_assert_ptr_nonnull(kg_resp_header_get(&hresp, "Retry-After"));
}
END_TEST

/*
 * An access token signed with the worker's key but not minted by a
 * session: sid "" is what future key-derived tokens carry.
 */
static void
craft(const char *subject, const char *sid, int track, const char *scope,
    int64_t iat, int64_t exp, char *out, size_t len)
{
	struct kg_jwt_claims	c;
	struct kg_buf		b = KG_BUF_INIT;

	memset(&c, 0, sizeof(c));
	snprintf(c.jc_sub, sizeof(c.jc_sub), "%s", subject);
	snprintf(c.jc_ns, sizeof(c.jc_ns), "acme");
	snprintf(c.jc_scope, sizeof(c.jc_scope), "%s", scope);
	snprintf(c.jc_sid, sizeof(c.jc_sid), "%s", sid);
	c.jc_track = track;
	ck_assert_int_eq(kg_jwt_new_jti(c.jc_jti), KG_OK);
	c.jc_iat = c.jc_nbf = iat;
	c.jc_exp = exp;
	ck_assert_int_eq(kg_jwt_sign(hctx.jwt, &c, &b), KG_OK);
	ck_assert_uint_lt(strlen(kg_buf_str(&b)), len);
	snprintf(out, len, "%s", kg_buf_str(&b));
	kg_buf_free(&b);
}

/* H1: a rotation never outlives the membership, nor keeps a lost track. */
START_TEST(http_access_rotation_follows_membership)
{
	char	at[4096], rt[KG_TOKEN_MAX], auth[4200], at2[4096], v[64];
	char	body[256];
	MYSQL	*m = kg_test_conn(&hcfg);

	kg_test_sql(m, "UPDATE members SET track = 3 WHERE wallet = '%s'",
	    WALLET);
	/* Removed: the family is revoked, the rotation refused. */
	start(WALLET, 3, at, sizeof(at), rt, NULL);
	kg_test_sql(m, "DELETE FROM members WHERE wallet = '%s'", WALLET);
	bearer(auth, sizeof(auth), at);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL, NULL),
	    401);
	ck_assert_str_eq(kg_ht_error(), "invalid_token");
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "session_families WHERE subject = '%s' AND revoked_reason = "
	    "'member_removed'", WALLET), 1);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'token_refresh' AND outcome = "
	    "'denied'"), 1);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "token_revoked");
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    body), 401);
	ck_assert_str_eq(kg_ht_error(), "invalid_refresh_token");

	/* Demoted 3 -> 1: the new token has track 1 and track 1's scopes. */
	kg_test_sql(m, "INSERT INTO members (namespace_id, wallet, track, "
	    "created_at, updated_at) VALUES (%llu, '%s', 3, UTC_TIMESTAMP(6), "
	    "UTC_TIMESTAMP(6))", hns, WALLET);
	start(WALLET, 3, at, sizeof(at), rt, NULL);
	kg_test_sql(m, "UPDATE members SET track = 1 WHERE wallet = '%s'",
	    WALLET);
	bearer(auth, sizeof(auth), at);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL, NULL),
	    200);
	kg_ht_member("access_token", at2, sizeof(at2));
	bearer(auth, sizeof(auth), at2);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
	ck_assert_str_eq(kg_ht_member("track", v, sizeof(v)), "1");
	ck_assert_msg(strstr(kg_buf_str(&hresp.body),
	    "\"scopes\":[\"projects:read\"]") != NULL, "%s",
	    kg_buf_str(&hresp.body));
	/* Promoted back: never escalated by a rotation (next sign-in). */
	kg_test_sql(m, "UPDATE members SET track = 4 WHERE wallet = '%s'",
	    WALLET);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL, NULL),
	    200);
	kg_ht_member("access_token", at2, sizeof(at2));
	bearer(auth, sizeof(auth), at2);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
	ck_assert_str_eq(kg_ht_member("track", v, sizeof(v)), "1");
	mysql_close(m);
}
END_TEST

/* H2: a token without a session family is not rotated. */
START_TEST(http_access_rotation_needs_session)
{
	char	at[4096], auth[4200];
	int64_t	now = (int64_t)time(NULL);

	craft(WALLET, "", 2, "projects:read", now, now + 600, at, sizeof(at));
	bearer(auth, sizeof(auth), at);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL, NULL),
	    401);
	ck_assert_str_eq(kg_ht_error(), "invalid_token");
	ck_assert_msg(strstr(kg_buf_str(&hresp.body), "cannot be rotated") !=
	    NULL, "%s", kg_buf_str(&hresp.body));
	/* Nothing was revoked: the token stays valid until its exp. */
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "jwt_revocations"), 0);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
}
END_TEST

/* Near the end of the JWT time range: any token signed now fails. */
static void
clock_end(struct timespec *ts)
{
	ts->tv_sec = (time_t)(KG_JWT_TIME_MAX - 100);
	ts->tv_nsec = 0;
}

/* M1: a signing failure consumes nothing; the client may retry. */
START_TEST(http_signing_failure_rolls_back)
{
	char	at[4096], rt[KG_TOKEN_MAX], auth[4200], body[256], sid[64];
	MYSQL	*m = kg_test_conn(&hcfg);
	void	(*saved)(struct timespec *);

	start(WALLET, 2, at, sizeof(at), rt, NULL);
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt);
	saved = hctx.now;
	hctx.now = clock_end;
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    body), 500);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "refresh_tokens WHERE used_at IS NOT NULL"), 0);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "audit_events WHERE action = 'refresh'"), 0);
	hctx.now = saved;
	/* The retry is a rotation, not reuse. */
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    body), 200);

	/* Access-token rotation: the old jti is not revoked either. */
	{
		struct kg_principal	pr;
		int			rev = 1;

		ck_assert_int_eq(kg_session_jwt_check(&hctx, at, strlen(at),
		    &pr, &rev), KG_OK);
		ck_assert_int_eq(rev, 0);
		snprintf(sid, sizeof(sid), "%s", pr.pr_sid);
	}
	craft(WALLET, sid, 2, "projects:read", KG_JWT_TIME_MAX - 200,
	    KG_JWT_TIME_MAX, at, sizeof(at));
	bearer(auth, sizeof(auth), at);
	hctx.now = clock_end;
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL, NULL),
	    500);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "jwt_revocations"), 0);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL, NULL),
	    500);
	hctx.now = saved;
	mysql_close(m);
}
END_TEST

/* M2: the family, not a short refresh_ttl, caps access tokens. */
START_TEST(http_access_ttl_not_capped_by_refresh_ttl)
{
	char	at[4096], rt[KG_TOKEN_MAX], body[256], v[64];
	long	ttl = 0;

	hcfg.refresh_ttl = 60;
	hcfg.access_ttl = 900;
	ck_assert_int_ge(kg_session_access_ttl(&hcfg, 2), 900);
	start(WALLET, 2, at, sizeof(at), rt, &ttl);
	ck_assert_int_eq(ttl, 900);
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt);
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", NULL, KG_CT_JSON,
	    body), 200);
	ck_assert_str_eq(kg_ht_member("expires_in", v, sizeof(v)), "900");
	ck_assert_int_le(atol(kg_ht_member("refresh_expires_in", v,
	    sizeof(v))), 60);
}
END_TEST

START_TEST(http_whoami_after_logout_all)
{
	char	a1[4096], r1[KG_TOKEN_MAX], a2[4096], auth[4200];
	int64_t	now = (int64_t)time(NULL);

	start(WALLET, 1, a1, sizeof(a1), r1, NULL);
	/* Without a family, only the subject's logout time can stop it. */
	craft(WALLET, "", 1, "projects:read", now - 5, now + 600, a2,
	    sizeof(a2));
	bearer(auth, sizeof(auth), a2);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
	bearer(auth, sizeof(auth), a1);
	ck_assert_int_eq(call("POST", "/v1/auth/logout", auth, KG_CT_JSON,
	    "{\"all\":true}"), 200);
	bearer(auth, sizeof(auth), a2);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 401);
	ck_assert_str_eq(kg_ht_error(), "token_revoked");
	ck_assert_int_eq(kg_test_db_scalar(&hcfg, "SELECT COUNT(*) FROM "
	    "jwt_revocations"), 1);
}
END_TEST

START_TEST(http_revoke_bad_token_member)
{
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL, KG_CT_JSON,
	    "{\"token\":123}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
	ck_assert_int_eq(call("POST", "/v1/auth/revoke", NULL, KG_CT_JSON,
	    "{\"token\":\"\"}"), 400);
	ck_assert_str_eq(kg_ht_error(), "invalid_request");
}
END_TEST

START_TEST(http_jwks_eddsa)
{
	char		 src[4096], path[] = "/tmp/kg-check-session-XXXXXX";
	char		 buf[4096], at[4096], rt[KG_TOKEN_MAX], auth[4200];
	const char	*schema = kg_test_schema_dir();
	json_object	*doc, *keys, *k, *v;
	FILE		*f;
	size_t		 n;
	int		 fd;

	/* $top_srcdir/schema -> $top_srcdir/tests/vectors/jwt/... */
	snprintf(src, sizeof(src), "%.*s/tests/vectors/jwt/ed25519-a.pem",
	    (int)(strlen(schema) - strlen("/schema")), schema);
	ck_assert_ptr_nonnull(f = fopen(src, "r"));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	/* A private key file others can read is refused: 0600. */
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(fchmod(fd, 0600), 0);
	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	close(fd);

	kg_ctx_free(&hctx);
	hcfg.jwt_alg = KG_JWT_EDDSA;
	free(hcfg.jwt_key_file);
	ck_assert_ptr_nonnull(hcfg.jwt_key_file = strdup(path));
	ck_assert_int_eq(kg_ctx_init(&hctx, &hcfg), KG_OK);
	unlink(path);

	ck_assert_int_eq(call("GET", "/.well-known/jwks.json", NULL, NULL, NULL),
	    200);
	ck_assert_ptr_nonnull(doc = json_tokener_parse(kg_buf_str(&hresp.body)));
	ck_assert(json_object_object_get_ex(doc, "keys", &keys));
	ck_assert_uint_eq(json_object_array_length(keys), 1);
	k = json_object_array_get_idx(keys, 0);
	ck_assert(json_object_object_get_ex(k, "kty", &v));
	ck_assert_str_eq(json_object_get_string(v), "OKP");
	ck_assert(json_object_object_get_ex(k, "crv", &v));
	ck_assert_str_eq(json_object_get_string(v), "Ed25519");
	ck_assert(json_object_object_get_ex(k, "kid", &v));
	/* RFC 7638 thumbprint, as in tests/vectors/jwt/eddsa.json. */
	ck_assert_str_eq(json_object_get_string(v),
	    "Q3Ia5Ltf8k0Ecr3agq5XOnfa2gHaouTZV0sTXcvg4Uc");
	ck_assert_str_eq(json_object_get_string(v), kg_jwt_keys_kid(hctx.jwt, 0));
	ck_assert(!json_object_object_get_ex(k, "d", &v));
	json_object_put(doc);

	/* And its tokens are the service's tokens. */
	start(WALLET, 1, at, sizeof(at), rt, NULL);
	bearer(auth, sizeof(auth), at);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
}
END_TEST

/* ------------------------------------------------------------ fail closed */

START_TEST(db_unreachable_fails_closed)
{
	char	at[4096], rt[KG_TOKEN_MAX], auth[4200];
	char	sock[] = "/nonexistent/keygate-test.sock";
	char	*saved;
	struct kg_principal pr;
	int	rev = 0;

	start(WALLET, 1, at, sizeof(at), rt, NULL);
	bearer(auth, sizeof(auth), at);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
	/* Point the worker's handle at nothing: every check now fails. */
	saved = hcfg.db_socket;
	hcfg.db_socket = sock;
	kg_db_disconnect(hctx.db);
	ck_assert_int_ne(kg_store_token_revoked(hctx.db,
	    "0123456789abcdef0123456789abcdef", "", "acme", WALLET, 1, &rev),
	    KG_OK);
	ck_assert_int_eq(rev, 1);
	ck_assert_int_ne(kg_session_jwt_check(&hctx, at, strlen(at), &pr, &rev),
	    KG_OK);
	ck_assert_int_eq(rev, 1);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 503);
	ck_assert_str_eq(kg_ht_error(), "unavailable");
	ck_assert_int_eq(call("POST", "/v1/auth/refresh", auth, NULL, NULL),
	    503);
	ck_assert_int_eq(call("POST", "/v1/auth/logout", auth, NULL, NULL),
	    503);
	hcfg.db_socket = saved;
	kg_db_disconnect(hctx.db);
	ck_assert_int_eq(call("GET", "/v1/auth/whoami", auth, NULL, NULL), 200);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite	*s = suite_create("session");
	TCase	*tc = tcase_create("store");
	TCase	*th = tcase_create("http");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, family_and_refresh_hash_only);
	tcase_add_test(tc, rotation_then_reuse_kills_family);
	tcase_add_loop_test(tc, refresh_race_two, 0, 5);
	tcase_add_loop_test(tc, refresh_race_many, 0, 3);
	tcase_add_test(tc, rotation_follows_membership);
	tcase_add_test(tc, expired_refresh_is_invalid);
	tcase_add_test(tc, revoked_family_is_invalid_not_reuse);
	tcase_add_test(tc, jti_revocation_idempotent);
	tcase_add_test(tc, logout_all_subject_second_resolution);
	suite_add_tcase(s, tc);
	tcase_set_timeout(th, 60);
	tcase_add_checked_fixture(th, hsetup, kg_ht_teardown);
	tcase_add_test(th, http_refresh_rotation_and_reuse);
	tcase_add_test(th, http_refresh_race);
	tcase_add_test(th, http_access_rotation_and_logout);
	tcase_add_test(th, http_logout_family_and_all);
	tcase_add_test(th, http_revoke_rfc7009);
	tcase_add_test(th, http_whoami_jwks_admin);
	tcase_add_test(th, http_expired_token_refused);
	tcase_add_test(th, http_refresh_rate_limited);
	tcase_add_test(th, db_unreachable_fails_closed);
	tcase_add_test(th, http_access_rotation_follows_membership);
	tcase_add_test(th, http_access_rotation_needs_session);
	tcase_add_test(th, http_signing_failure_rolls_back);
	tcase_add_test(th, http_access_ttl_not_capped_by_refresh_ttl);
	tcase_add_test(th, http_whoami_after_logout_all);
	tcase_add_test(th, http_revoke_bad_token_member);
	tcase_add_test(th, http_jwks_eddsa);
	suite_add_tcase(s, th);
	return s;
}

int
main(void)
{
	kg_test_db_require();
	return kg_test_run(session_suite());
}
