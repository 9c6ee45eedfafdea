/*
 * check_cleanup.c: keygate-cleanup's steps (core/store/cleanup.c) against
 * a real MariaDB.  Per table, rows dead past the grace go and rows just
 * inside it (and live ones) stay, and what validation still reads keeps
 * answering as before; --dry-run counts the same rows and deletes none;
 * batches (statements counted); the time limit; the run lock, also
 * across a reconnection; install-token exchanges racing the cleanup;
 * refresh-token rotations racing the session steps; and a large table
 * cleaned while another process validates tokens (1,000,000 rows with
 * KEYGATE_TEST_HEAVY=1, else 20,000), its latency logged.
 */
#include <sys/select.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "core/base/config.h"
#include "core/store/cleanup.h"
#include "core/store/db.h"
#include "core/store/enroll.h"
#include "core/store/session.h"
#include "tests/db/dbtest.h"

#define MARGIN		KG_CLEANUP_MARGIN
#define LEEWAY		KG_CLEANUP_LEEWAY_MAX
#define FAMILY_GRACE	(MARGIN + LEEWAY + 1)
#define JTI_GRACE	(MARGIN + LEEWAY)
#define INSTALL_GRACE	KG_INSTALL_CLEANUP_GRACE
#define AGO		"UTC_TIMESTAMP(6) - INTERVAL %ld SECOND"

static struct kg_config	 cfg;
static struct kg_db	*db;
static MYSQL		*m;

static void
setup(void)
{
	kg_test_db_config(&cfg);
	db = kg_test_db_open(&cfg);
	m = kg_test_conn(&cfg);
}

static void
teardown(void)
{
	mysql_close(m);
	kg_db_close(db);
	kg_test_db_teardown(&cfg);
}

static void
cl_init(struct kg_cleanup *c, struct kg_db *h, long batch, int dry)
{
	memset(c, 0, sizeof(*c));
	c->cl_db = h;
	c->cl_cfg = &cfg;
	c->cl_batch = batch;
	c->cl_dry_run = dry;
}

/* The key column of table's rows, sorted, space-separated. */
static void
keys(const char *table, const char *col, char *out, size_t len)
{
	char		 q[256];
	MYSQL_RES	*res;
	MYSQL_ROW	 row;

	(void)snprintf(q, sizeof(q), "SELECT COALESCE(GROUP_CONCAT(%s "
	    "ORDER BY %s SEPARATOR ' '), '') FROM %s", col, col, table);
	ck_assert_msg(mysql_query(m, q) == 0, "%s: %s", q, mysql_error(m));
	ck_assert((res = mysql_store_result(m)) != NULL);
	ck_assert((row = mysql_fetch_row(res)) != NULL);
	(void)snprintf(out, len, "%s", row[0] != NULL ? row[0] : "");
	mysql_free_result(res);
}

/*
 * Runs step dry, then for real: both see `gone` rows; the dry run
 * deletes nothing, and afterwards table's keys are `left`.
 */
static void
step_check(kg_cleanup_fn fn, const char *table, const char *col,
    unsigned long long gone, const char *left)
{
	struct kg_cleanup	c;
	unsigned long long	n = 99;
	long long		before;
	char			got[1024];
	int			complete = 0;

	before = kg_test_scalar(m, "SELECT COUNT(*) FROM %s", table);
	cl_init(&c, db, 1000, 1);
	ck_assert_int_eq(fn(&c, &n, &complete), KG_OK);
	ck_assert_uint_eq(n, gone);
	ck_assert_int_eq(complete, 1);
	ck_assert_uint_eq(c.cl_statements, 1);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM %s", table),
	    before);
	cl_init(&c, db, 1000, 0);
	n = 99;
	complete = 0;
	ck_assert_int_eq(fn(&c, &n, &complete), KG_OK);
	ck_assert_uint_eq(n, gone);
	ck_assert_int_eq(complete, 1);
	keys(table, col, got, sizeof(got));
	ck_assert_str_eq(got, left);
	/* A second run finds nothing. */
	ck_assert_int_eq(fn(&c, &n, &complete), KG_OK);
	ck_assert_uint_eq(n, 0);
}

static unsigned long long
make_ns(const char *name)
{
	kg_test_sql(m, "INSERT INTO namespaces (name, created_at) "
	    "VALUES ('%s', UTC_TIMESTAMP(6))", name);
	return (unsigned long long)kg_test_scalar(m, "SELECT id FROM "
	    "namespaces WHERE name = '%s'", name);
}

/* ------------------------------------------------------------ per table */

static void
nonce(const char *n, long expired_ago, int used)
{
	kg_test_sql(m, "INSERT INTO nonces (nonce, wallet, namespace, purpose, "
	    "chain_id, issued_at, expires_at, used_at) VALUES ('%s', "
	    "'0x%040d', 'acme', 'login', 1, " AGO ", " AGO ", %s)", n, 0,
	    expired_ago + 300, expired_ago,
	    used ? "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND" : "NULL");
}

START_TEST(nonces)
{
	nonce("dead", MARGIN + 60, 0);
	nonce("deadused", MARGIN + 60, 1);
	nonce("edge", MARGIN - 60, 1);
	nonce("recent", 10, 0);
	nonce("live", -300, 0);
	nonce("liveused", -300, 1);
	step_check(kg_cleanup_nonces, "nonces", "nonce", 2,
	    "edge live liveused recent");
}
END_TEST

static const char *
itok(unsigned i)
{
	static char	buf[8][48];
	static int	k;

	k = (k + 1) % 8;
	(void)snprintf(buf[k], sizeof(buf[k]), "mit_%040x", i);
	return buf[k];
}

static void
install(unsigned long long ns, unsigned i, long expired_ago, int used)
{
	kg_test_sql(m, "INSERT INTO install_tokens (id, namespace_id, "
	    "token_hash, created_by, created_at, expires_at, used_at) VALUES "
	    "(%u, %llu, UNHEX(SHA2('%s', 256)), 'admin', " AGO ", " AGO ", %s)",
	    i, ns, itok(i), expired_ago + 900, expired_ago,
	    used ? "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND" : "NULL");
}

static enum kg_err
exchange(struct kg_db *h, unsigned i, unsigned d)
{
	struct kg_daemon_token	dt;
	unsigned char		ih[32], dh[32];
	char			dtok[48], did[32];

	(void)snprintf(dtok, sizeof(dtok), "mdt_%040x", d);
	(void)snprintf(did, sizeof(did), "host-%u", d);
	if (kg_store_token_hash(itok(i), ih) != KG_OK ||
	    kg_store_token_hash(dtok, dh) != KG_OK)
		return KG_ERR_INTERNAL;
	return kg_store_install_exchange(h, ih, dh, did, NULL, &dt);
}

START_TEST(install_tokens)
{
	unsigned long long	ns = make_ns("acme");

	install(ns, 1, INSTALL_GRACE + 60, 0);
	install(ns, 2, INSTALL_GRACE + 60, 1);
	install(ns, 3, INSTALL_GRACE - 60, 1);
	install(ns, 4, INSTALL_GRACE - 60, 0);
	install(ns, 5, -900, 0);
	install(ns, 6, -900, 1);
	step_check(kg_cleanup_install_tokens, "install_tokens", "id", 2,
	    "3 4 5 6");
	/* What an exchange answers is unchanged: used, expired, live. */
	ck_assert_int_eq(exchange(db, 3, 100), KG_ERR_CONFLICT);
	ck_assert_int_eq(exchange(db, 6, 100), KG_ERR_CONFLICT);
	ck_assert_int_eq(exchange(db, 4, 100), KG_ERR_NOT_FOUND);
	ck_assert_int_eq(exchange(db, 5, 100), KG_OK);
}
END_TEST

/* The historical entry point keeps its rule (grace, used or not). */
START_TEST(install_cleanup_compat)
{
	unsigned long long	ns = make_ns("acme"), n = 9;

	install(ns, 1, 120, 1);
	install(ns, 2, 120, 0);
	install(ns, 3, -900, 0);
	ck_assert_int_eq(kg_store_install_cleanup(db, 180, &n), KG_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(kg_store_install_cleanup(db, 60, &n), KG_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "install_tokens WHERE id = 3"), 1);
}
END_TEST

static void
family(unsigned long long ns, const char *id, long expired_ago, int revoked)
{
	kg_test_sql(m, "INSERT INTO session_families (id, namespace_id, "
	    "subject, track, created_at, expires_at, revoked_at, "
	    "revoked_reason) VALUES ('%s', %llu, '0x%040d', 1, " AGO ", " AGO
	    ", %s, %s)", id, ns, 7, expired_ago + 86400, expired_ago,
	    revoked ? "UTC_TIMESTAMP(6) - INTERVAL 1 HOUR" : "NULL",
	    revoked ? "'logout'" : "NULL");
}

static void
refresh(const char *fam, unsigned id, long expired_ago, int used)
{
	kg_test_sql(m, "INSERT INTO refresh_tokens (id, id8, token_hash, "
	    "family_id, created_at, expires_at, used_at) VALUES (%u, "
	    "'rt%06u', UNHEX(SHA2('rt%u', 256)), '%s', " AGO ", " AGO ", %s)",
	    id, id, id, fam, expired_ago + 3600, expired_ago,
	    used ? "UTC_TIMESTAMP(6) - INTERVAL 2 HOUR" : "NULL");
}

#define FAM(c)	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

/* The refresh token "rt<id>" through the real rotation. */
static enum kg_rotate
rotate(unsigned id, unsigned next)
{
	struct kg_session_family	fam;
	enum kg_rotate			res = KG_ROTATE__MAX;
	char				tok[16], ntok[16], id8[16];
	long				exp = 0;

	(void)snprintf(tok, sizeof(tok), "rt%u", id);
	(void)snprintf(ntok, sizeof(ntok), "rt%u", next);
	(void)snprintf(id8, sizeof(id8), "rt%06u", next);
	ck_assert_int_eq(kg_store_refresh_rotate(db, tok, ntok, id8, 600,
	    NULL, &res, &fam, &exp), KG_OK);
	return res;
}

START_TEST(sessions)
{
	unsigned long long	ns = make_ns("acme");
	struct kg_session_family fam;
	int			revoked = 0;

	/* a: long dead, no tokens; b: long dead and revoked, one token
	 * dead too; c: long dead but a token within its grace (cannot
	 * happen: tokens end with their family) waits; d: revoked, expired
	 * within the grace; e: live, its tokens stay expired or not, used
	 * or not (reuse detection, logout); f: expired within the margin,
	 * its token stays; g: expired past the margin (family within its
	 * own grace), its token goes; h: live, one unused expired token. */
	family(ns, FAM("a"), FAMILY_GRACE + 60, 0);
	family(ns, FAM("b"), FAMILY_GRACE + 60, 1);
	refresh(FAM("b"), 1, FAMILY_GRACE + 60, 1);
	family(ns, FAM("c"), FAMILY_GRACE + 60, 0);
	refresh(FAM("c"), 2, MARGIN - 60, 0);
	family(ns, FAM("d"), FAMILY_GRACE - 60, 1);
	refresh(FAM("d"), 3, FAMILY_GRACE - 60, 0);
	family(ns, FAM("e"), -86400, 0);
	refresh(FAM("e"), 4, MARGIN + 60, 1);
	refresh(FAM("e"), 5, MARGIN - 60, 1);
	refresh(FAM("e"), 6, -3600, 0);
	refresh(FAM("e"), 7, MARGIN + 60, 0);
	family(ns, FAM("f"), MARGIN - 60, 0);
	refresh(FAM("f"), 8, MARGIN + 60, 1);
	family(ns, FAM("g"), MARGIN + 30, 0);
	refresh(FAM("g"), 9, MARGIN + 60, 1);
	family(ns, FAM("h"), -86400, 0);
	refresh(FAM("h"), 10, 2 * MARGIN, 0);
	/* Families first: none may go while it still has tokens. */
	step_check(kg_cleanup_session_families, "session_families", "id", 1,
	    FAM("b") " " FAM("c") " " FAM("d") " " FAM("e") " " FAM("f") " "
	    FAM("g") " " FAM("h"));
	step_check(kg_cleanup_refresh_tokens, "refresh_tokens", "id", 3,
	    "2 4 5 6 7 8 10");
	step_check(kg_cleanup_session_families, "session_families", "id", 1,
	    FAM("c") " " FAM("d") " " FAM("e") " " FAM("f") " " FAM("g") " "
	    FAM("h"));
	/* The used, expired token of the live family is still reuse: it
	 * revokes the family (SPEC 5), not 401 invalid_refresh_token. */
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "session_families WHERE revoked_at IS NULL AND id = '%s'",
	    FAM("e")), 1);
	ck_assert_int_eq(rotate(4, 100), KG_ROTATE_REUSED);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "session_families WHERE id = '%s' AND revoked_reason = 'reuse'",
	    FAM("e")), 1);
	/* The unused expired one still ends its family at logout. */
	ck_assert_int_eq(kg_store_family_revoke_by_refresh(db, "rt10",
	    "logout", &fam), KG_OK);
	ck_assert_str_eq(fam.sf_id, FAM("h"));
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "session_families WHERE id = '%s' AND revoked_reason = 'logout'",
	    FAM("h")), 1);
	/* Both families over now: their expired tokens go. */
	step_check(kg_cleanup_refresh_tokens, "refresh_tokens", "id", 3,
	    "2 5 6 8");
	/* d's access tokens may still validate: its revocation still
	 * refuses them. */
	ck_assert_int_eq(kg_store_token_revoked(db,
	    "0123456789abcdef0123456789abcdef", FAM("d"), "acme",
	    "0x0000000000000000000000000000000000000007",
	    (int64_t)time(NULL) - 600, &revoked), KG_OK);
	ck_assert_int_eq(revoked, 1);
}
END_TEST

/* jti: the 4-character name, then 28 zeros. */
static void
revocation(const char *name, long expired_ago)
{
	kg_test_sql(m, "INSERT INTO jwt_revocations (jti, subject, namespace, "
	    "track, token_expires_at, revoked_at, reason) VALUES "
	    "('%.4s%028d', 'w', 'acme', 1, " AGO ", UTC_TIMESTAMP(6), "
	    "'logout')", name, 0, expired_ago);
}

START_TEST(jwt_revocations)
{
	char	jti[40];
	int	revoked = 0;

	revocation("dead", JTI_GRACE + 60);
	revocation("edge", JTI_GRACE - 60);
	revocation("live", -600);
	step_check(kg_cleanup_jwt_revocations, "jwt_revocations",
	    "LEFT(jti, 4)", 1, "edge live");
	/* A token that expired within the leeway is still refused. */
	(void)snprintf(jti, sizeof(jti), "edge%028d", 0);
	ck_assert_int_eq(kg_store_token_revoked(db, jti, "", "acme", "w",
	    (int64_t)time(NULL) - 900, &revoked), KG_OK);
	ck_assert_int_eq(revoked, 1);
}
END_TEST

START_TEST(subject_logouts)
{
	long	g = kg_cleanup_logout_grace(&cfg);

	/* Past every token it could refuse: the longest lifetime + leeway. */
	ck_assert_int_ge(g, cfg.access_ttl + cfg.clock_leeway + 1);
	ck_assert_int_ge(g, KG_CLEANUP_ACCESS_TTL_MAX + LEEWAY + 1);
	kg_test_sql(m, "INSERT INTO subject_logouts VALUES "
	    "('acme', 'dead', " AGO "), ('acme', 'edge', " AGO "), "
	    "('acme', 'now', UTC_TIMESTAMP(6))", g + 60, g - 60);
	step_check(kg_cleanup_subject_logouts, "subject_logouts", "subject",
	    1, "edge now");
}
END_TEST

/* The ceilings the graces rely on are the configuration's. */
START_TEST(config_ceilings)
{
	struct kg_config	c;
	char			err[256], text[128];

	memset(&c, 0, sizeof(c));
	(void)snprintf(text, sizeof(text), "access_ttl = %d\n",
	    KG_CLEANUP_ACCESS_TTL_MAX + 1);
	ck_assert_int_ne(kg_config_load_mem(&c, "t", text, strlen(text), err,
	    sizeof(err)), KG_OK);
	kg_config_free(&c);
	(void)snprintf(text, sizeof(text), "clock_leeway = %d\n", LEEWAY + 1);
	ck_assert_int_ne(kg_config_load_mem(&c, "t", text, strlen(text), err,
	    sizeof(err)), KG_OK);
	kg_config_free(&c);
}
END_TEST

START_TEST(rate_buckets)
{
	long	g;

	cfg.rate_ip_rate = 1;
	cfg.rate_ip_burst = 1000;
	cfg.rate_wallet_rate = 5;
	cfg.rate_wallet_burst = 30;
	g = kg_cleanup_rate_grace(&cfg);
	ck_assert_int_eq(g, 1000 + MARGIN);
	kg_test_sql(m, "INSERT INTO rate_buckets VALUES "
	    "('a:dead', 0, " AGO "), ('a:edge', 0, " AGO "), "
	    "('a:now', 0, UTC_TIMESTAMP(6))", g + 60, g - 60);
	step_check(kg_cleanup_rate_buckets, "rate_buckets", "bucket_key", 1,
	    "a:edge a:now");
	cfg.rate_ip_rate = cfg.rate_wallet_rate = 0;
	ck_assert_int_eq(kg_cleanup_rate_grace(&cfg), MARGIN);
	cfg.rate_wallet_rate = 2;
	ck_assert_int_eq(kg_cleanup_rate_grace(&cfg), 15 + MARGIN);
}
END_TEST

START_TEST(serial_locks)
{
	kg_test_sql(m, "INSERT INTO serial_locks VALUES ('dead', " AGO "), "
	    "('edge', " AGO "), ('now', UTC_TIMESTAMP(6))",
	    (long)KG_CLEANUP_SERIAL_IDLE + 60, (long)KG_CLEANUP_SERIAL_IDLE - 60);
	step_check(kg_cleanup_serial_locks, "serial_locks", "name", 1,
	    "edge now");
}
END_TEST

START_TEST(audit_events)
{
	struct kg_cleanup	c;
	unsigned long long	n = 9;
	long			r = 7 * 86400;
	int			complete = 0;

	cfg.audit_retention = r;
	kg_test_sql(m, "INSERT INTO audit_events (id, at, actor_type, actor, "
	    "action, outcome) VALUES (1, " AGO ", 'admin', 'admin', 'x', 'ok'), "
	    "(2, " AGO ", 'admin', 'admin', 'x', 'ok'), "
	    "(3, UTC_TIMESTAMP(6), 'admin', 'admin', 'x', 'ok')", r + 60,
	    r - 60);
	step_check(kg_cleanup_audit_events, "audit_events", "id", 1, "2 3");
	/* No retention: nothing goes, nothing is asked. */
	cfg.audit_retention = 0;
	kg_test_sql(m, "UPDATE audit_events SET at = '2000-01-01'");
	cl_init(&c, db, 1000, 0);
	ck_assert_int_eq(kg_cleanup_audit_events(&c, &n, &complete), KG_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(complete, 1);
	ck_assert_uint_eq(c.cl_statements, 0);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM audit_events"),
	    2);
}
END_TEST

/* ------------------------------------------------------------ batches */

#define DIGITS	"(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL " \
	"SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 " \
	"UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"

/*
 * A table of one column, seq, holding 1..n: MariaDB's SEQUENCE engine
 * when the server has it, else a cross join of digit tables.
 */
static const char *
seq(long n)
{
	static char	buf[4096];
	static int	have = -1;
	long		p;
	int		k;
	size_t		len;

	if (have < 0)
		have = kg_test_sql_errno(m, "SELECT 1 FROM seq_1_to_1") == 0;
	if (have) {
		(void)snprintf(buf, sizeof(buf), "seq_1_to_%ld", n);
		return buf;
	}
	len = (size_t)snprintf(buf, sizeof(buf), "(SELECT 1");
	for (k = 0, p = 1; p < n; k++, p *= 10)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    " + %ld * t%d.d", p, k);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, " AS seq FROM "
	    "(SELECT 0 d) t");
	for (k = 0, p = 1; p < n; k++, p *= 10)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    " CROSS JOIN " DIGITS " t%d", k);
	(void)snprintf(buf + len, sizeof(buf) - len, " HAVING seq <= %ld) s",
	    n);
	return buf;
}

/* n long-dead revocations (and 10 live ones, jti "live0...0N"), fast. */
static void
seed_revocations(long n)
{
	kg_test_sql(m, "INSERT INTO jwt_revocations (jti, subject, namespace, "
	    "track, token_expires_at, revoked_at, reason) "
	    "SELECT LPAD(HEX(seq), 32, '0'), 'w', 'acme', 1, "
	    "UTC_TIMESTAMP(6) - INTERVAL (%ld + seq %% 86400) SECOND, "
	    "UTC_TIMESTAMP(6), 'logout' FROM %s", (long)JTI_GRACE + 1, seq(n));
	kg_test_sql(m, "INSERT IGNORE INTO jwt_revocations (jti, subject, "
	    "namespace, track, token_expires_at, revoked_at, reason) SELECT "
	    "CONCAT('live', LPAD(seq, 28, '0')), 'w', 'acme', 1, "
	    "UTC_TIMESTAMP(6) + INTERVAL 600 SECOND, UTC_TIMESTAMP(6), "
	    "'logout' FROM %s", seq(10));
}

START_TEST(batches)
{
	struct kg_cleanup	c;
	unsigned long long	n = 0;
	int			complete = 0;

	seed_revocations(2500);
	cl_init(&c, db, 1000, 1);
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&c, &n, &complete), KG_OK);
	ck_assert_uint_eq(n, 2500);
	ck_assert_uint_eq(c.cl_statements, 1);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "jwt_revocations"), 2510);
	cl_init(&c, db, 1000, 0);
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&c, &n, &complete), KG_OK);
	ck_assert_uint_eq(n, 2500);
	ck_assert_int_eq(complete, 1);
	/* 1000 + 1000 + 500: the short batch says nothing is left. */
	ck_assert_uint_eq(c.cl_statements, 3);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "jwt_revocations"), 10);
	/* A full last batch needs one more statement to see the end. */
	seed_revocations(2000);
	cl_init(&c, db, 1000, 0);
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&c, &n, &complete), KG_OK);
	ck_assert_uint_eq(n, 2000);
	ck_assert_uint_eq(c.cl_statements, 3);
	/* Out of bounds: refused before any statement. */
	cl_init(&c, db, 0, 0);
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&c, &n, &complete),
	    KG_ERR_INVALID);
	ck_assert_uint_eq(c.cl_statements, 0);
}
END_TEST

START_TEST(time_limit)
{
	struct kg_cleanup	c;
	unsigned long long	n = 0;
	int			complete = 1;

	seed_revocations(2500);
	cl_init(&c, db, 1000, 0);
	kg_cleanup_limit(&c, 3600);
	ck_assert_int_eq(kg_cleanup_late(&c), 0);
	/* A deadline already past: one batch, then stop. */
	c.cl_deadline_us = 1;
	ck_assert_int_ne(kg_cleanup_late(&c), 0);
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&c, &n, &complete), KG_OK);
	ck_assert_uint_eq(n, 1000);
	ck_assert_int_eq(complete, 0);
	ck_assert_uint_eq(c.cl_statements, 1);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "jwt_revocations"), 1510);
	kg_cleanup_limit(&c, 0);
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&c, &n, &complete), KG_OK);
	ck_assert_uint_eq(n, 1500);
	ck_assert_int_eq(complete, 1);
}
END_TEST

START_TEST(lock)
{
	struct kg_cleanup	 a, b;
	struct kg_db		*db2 = kg_test_db_open(&cfg);
	unsigned long long	 n = 0;
	int			 got = -1, i;

	seed_revocations(10);
	cl_init(&a, db, 1000, 0);
	cl_init(&b, db2, 1000, 0);
	ck_assert_int_eq(kg_cleanup_lock(&a, &got), KG_OK);
	ck_assert_int_eq(got, 1);
	ck_assert_int_eq(kg_cleanup_lock(&b, &got), KG_OK);
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(b.cl_locked, 0);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT IS_USED_LOCK("
	    "CONCAT('keygate_cleanup:', DATABASE())) IS NOT NULL"), 1);
	/* Lost with its connection: taken again before the next batch... */
	kg_db_disconnect(db);
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&a, &n, NULL), KG_OK);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(a.cl_locked, 1);
	ck_assert_int_eq(kg_cleanup_lock(&b, &got), KG_OK);
	ck_assert_int_eq(got, 0);
	/* ...unless another run took it meanwhile: then stop.  (The
	 * server ends the old session, and its lock, a moment after.) */
	kg_db_disconnect(db);
	for (i = 0, got = 0; i < 1000 && !got; i++) {
		ck_assert_int_eq(kg_cleanup_lock(&b, &got), KG_OK);
		if (!got)
			usleep(10000);
	}
	ck_assert_int_eq(got, 1);
	seed_revocations(10);
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&a, &n, NULL),
	    KG_ERR_CONFLICT);
	ck_assert_uint_eq(n, 0);
	/* Every later step too, as long as the other run holds it. */
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&a, &n, NULL),
	    KG_ERR_CONFLICT);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "jwt_revocations"), 20);
	/* Once it is done, the lock is ours again. */
	ck_assert_int_eq(kg_cleanup_unlock(&b), KG_OK);
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&a, &n, NULL), KG_OK);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(kg_cleanup_lock(&b, &got), KG_OK);
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(kg_cleanup_unlock(&a), KG_OK);
	ck_assert_int_eq(kg_cleanup_lock(&b, &got), KG_OK);
	ck_assert_int_eq(got, 1);
	ck_assert_int_eq(kg_cleanup_unlock(&b), KG_OK);
	kg_db_close(db2);
}
END_TEST

/* ------------------------------------------------------------ the race */

#define NRACE		32	/* exchangers; racer NRACE cleans up */
#define NLIVE		8	/* live tokens, NRACE / NLIVE racers each */
#define NSPENT		4	/* used, expired within the grace */
#define NOLD		3000	/* long expired, used or not */

/*
 * Exit codes: 0 won, 1 already used, 2 unknown/expired, 3 cleanup done,
 * 4 cleanup saw no work, 10 + kg_err otherwise.
 */
static int
racer(struct kg_db *h, int i, void *arg)
{
	enum kg_err	r;

	(void)arg;
	if (i == NRACE) {
		struct kg_cleanup	c;
		unsigned long long	n, total = 0;
		int			pass;

		memset(&c, 0, sizeof(c));
		c.cl_db = h;
		c.cl_batch = 1;
		for (pass = 0; pass < 3; pass++) {
			if ((r = kg_cleanup_install_tokens(&c, &n, NULL)) !=
			    KG_OK)
				return 10 + (int)r;
			total += n;
		}
		return total == NOLD ? 3 : 4;
	}
	/* Racers alternate: a live token, then a spent one. */
	if (i % 2 == 0)
		r = exchange(h, 1 + (unsigned)(i / 2) % NLIVE,
		    1000 + (unsigned)i);
	else
		r = exchange(h, 100 + (unsigned)(i / 2) % NSPENT,
		    1000 + (unsigned)i);
	if (r == KG_OK)
		return 0;
	if (r == KG_ERR_CONFLICT)
		return 1;
	if (r == KG_ERR_NOT_FOUND)
		return 2;
	return 10 + (int)r;
}

START_TEST(exchange_race)
{
	unsigned long long	ns = make_ns("acme");
	int			codes[NRACE + 1], i, won = 0, used = 0;
	unsigned		k;

	for (k = 1; k <= NLIVE; k++)
		install(ns, k, -900, 0);
	for (k = 100; k < 100 + NSPENT; k++)
		install(ns, k, INSTALL_GRACE - 120, 1);
	kg_test_sql(m, "INSERT INTO install_tokens (id, namespace_id, "
	    "token_hash, created_by, created_at, expires_at, used_at) "
	    "SELECT 1000 + seq, %llu, UNHEX(SHA2(seq, 256)), 'admin', "
	    "UTC_TIMESTAMP(6) - INTERVAL 3 HOUR, UTC_TIMESTAMP(6) - "
	    "INTERVAL (%ld + seq) SECOND, IF(seq %% 2, UTC_TIMESTAMP(6) - "
	    "INTERVAL 3 HOUR, NULL) FROM %s", ns,
	    (long)INSTALL_GRACE + 60, seq(NOLD));
	kg_test_race(&cfg, NRACE + 1, racer, NULL, codes);
	for (i = 0; i < NRACE; i++) {
		if (codes[i] == 0)
			won++;
		else if (codes[i] == 1)
			used++;
		else
			ck_abort_msg("racer %d: exit %d", i, codes[i]);
		/* The spent tokens answer "used" throughout. */
		if (i % 2 == 1)
			ck_assert_int_eq(codes[i], 1);
	}
	ck_assert_int_eq(codes[NRACE], 3);
	/* Each live token exchanged exactly once, all still there. */
	ck_assert_int_eq(won, NLIVE);
	ck_assert_int_eq(used, NRACE - NLIVE);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "install_tokens WHERE id <= %d AND used_at IS NOT NULL AND "
	    "daemon_token_id IS NOT NULL", NLIVE), NLIVE);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "install_tokens"), NLIVE + NSPENT);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "daemon_tokens"), NLIVE);
}
END_TEST

/*
 * Rotations racing the session steps: NROT racers each rotate their own
 * live family's token ROUNDS times (every rotation must succeed) while
 * racer NROT runs the refresh_tokens and session_families steps, one row
 * per statement, over NDEAD dead families of 2 dead tokens each, and
 * over NKEEP used, expired tokens of each live family that must stay.
 */
static long long	mono_us(void);

#define NROT		6
#define ROUNDS		60
#define NDEAD		300
#define NKEEP		2
#define ROT_BASE(i)	(1000u * ((unsigned)(i) + 1))

static void
livefam(char *out, size_t len, int i)
{
	(void)snprintf(out, len, "live%028d", i);
}

/*
 * Exit codes: 0 every rotation won, 3 cleanup deleted exactly the dead
 * rows, 4 it did not, 5 + enum kg_rotate a rotation lost, 10 + kg_err.
 */
static int
rot_racer(struct kg_db *h, int i, void *arg)
{
	struct kg_session_family	fam;
	enum kg_rotate			res;
	enum kg_err			r;
	char				tok[16], ntok[16], id8[16];
	unsigned			k, t;
	long				exp;

	(void)arg;
	if (i == NROT) {
		struct kg_cleanup	c;
		unsigned long long	n, toks = 0, fams = 0, pass;
		long long		t0 = mono_us();

		/* No cl_cfg: these two steps do not read it (cleanup.h). */
		memset(&c, 0, sizeof(c));
		c.cl_db = h;
		c.cl_batch = 1;
		/* Until nothing is left and the rotators had a second. */
		do {
			if ((r = kg_cleanup_refresh_tokens(&c, &n, NULL)) !=
			    KG_OK)
				return 10 + (int)r;
			pass = n;
			toks += n;
			if ((r = kg_cleanup_session_families(&c, &n, NULL)) !=
			    KG_OK)
				return 10 + (int)r;
			pass += n;
			fams += n;
		} while ((pass > 0 || mono_us() - t0 < 1000000) &&
		    mono_us() - t0 < 30000000);
		return toks == 2 * NDEAD && fams == NDEAD ? 3 : 4;
	}
	for (k = 0; k < ROUNDS; k++) {
		t = ROT_BASE(i) + k;
		(void)snprintf(tok, sizeof(tok), "rt%u", t);
		(void)snprintf(ntok, sizeof(ntok), "rt%u", t + 1);
		(void)snprintf(id8, sizeof(id8), "rt%06u", t + 1);
		res = KG_ROTATE__MAX;
		exp = 0;
		if ((r = kg_store_refresh_rotate(h, tok, ntok, id8, 3600, NULL,
		    &res, &fam, &exp)) != KG_OK)
			return 10 + (int)r;
		if (res != KG_ROTATE_OK)
			return 5 + (int)res;
	}
	return 0;
}

START_TEST(rotation_race)
{
	unsigned long long	ns = make_ns("acme");
	char			sid[40];
	int			codes[NROT + 1], i;
	unsigned		k;

	kg_test_sql(m, "INSERT INTO members (namespace_id, wallet, track, "
	    "created_at, updated_at) VALUES (%llu, '0x%040d', 1, "
	    "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))", ns, 7);
	for (i = 0; i < NROT; i++) {
		livefam(sid, sizeof(sid), i);
		family(ns, sid, -86400, 0);
		refresh(sid, ROT_BASE(i), -3600, 0);
		for (k = 1; k <= NKEEP; k++)
			refresh(sid, ROT_BASE(i) + 900 + k, MARGIN + 60 * k, 1);
	}
	kg_test_sql(m, "INSERT INTO session_families (id, namespace_id, "
	    "subject, track, created_at, expires_at, revoked_at, "
	    "revoked_reason) SELECT LPAD(HEX(seq), 32, '0'), %llu, "
	    "'0x%040d', 1, UTC_TIMESTAMP(6) - INTERVAL 40 DAY, "
	    "UTC_TIMESTAMP(6) - INTERVAL (%ld + seq) SECOND, IF(seq %% 2, "
	    "UTC_TIMESTAMP(6) - INTERVAL 39 DAY, NULL), IF(seq %% 2, "
	    "'logout', NULL) FROM %s", ns, 7, (long)FAMILY_GRACE + 60,
	    seq(NDEAD));
	for (k = 0; k < 2; k++)
		kg_test_sql(m, "INSERT INTO refresh_tokens (id, id8, "
		    "token_hash, family_id, created_at, expires_at, used_at) "
		    "SELECT 100000 + 2 * seq + %u, CONCAT('d', "
		    "LPAD(2 * seq + %u, 7, '0')), UNHEX(SHA2(CONCAT('dead', "
		    "2 * seq + %u), 256)), LPAD(HEX(seq), 32, '0'), "
		    "UTC_TIMESTAMP(6) - INTERVAL 40 DAY, UTC_TIMESTAMP(6) - "
		    "INTERVAL (%ld + seq + %u) SECOND, IF(%u, UTC_TIMESTAMP(6) "
		    "- INTERVAL 39 DAY, NULL) FROM %s", k, k, k,
		    (long)FAMILY_GRACE + 60, k, k, seq(NDEAD));
	kg_test_race(&cfg, NROT + 1, rot_racer, NULL, codes);
	for (i = 0; i < NROT; i++)
		ck_assert_msg(codes[i] == 0, "rotator %d: exit %d", i,
		    codes[i]);
	ck_assert_int_eq(codes[NROT], 3);
	/* Every live family live, with all its tokens: the ROUNDS it used,
	 * the one it holds now, the kept ones. */
	for (i = 0; i < NROT; i++) {
		livefam(sid, sizeof(sid), i);
		ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
		    "session_families WHERE id = '%s' AND revoked_at IS NULL",
		    sid), 1);
		ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
		    "refresh_tokens WHERE family_id = '%s' AND used_at IS "
		    "NOT NULL", sid), ROUNDS + NKEEP);
		ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
		    "refresh_tokens WHERE family_id = '%s' AND used_at IS "
		    "NULL AND expires_at > UTC_TIMESTAMP(6)", sid), 1);
	}
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "session_families"), NROT);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "refresh_tokens"), NROT * (ROUNDS + 1 + NKEEP));
	/* The last token of each still rotates; a kept one is reuse. */
	ck_assert_int_eq(rotate(ROT_BASE(0) + ROUNDS, 90000), KG_ROTATE_OK);
	ck_assert_int_eq(rotate(ROT_BASE(1) + 901, 90001), KG_ROTATE_REUSED);
}
END_TEST

/* ------------------------------------------------------------ volume */

static int
cmp_ll(const void *a, const void *b)
{
	long long	x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static long long
mono_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#define MAXSAMPLES	(1 << 20)

/*
 * The validator: kg_store_token_revoked (every JWT validation's query)
 * for a revoked live jti and an unknown one, until stop is readable.
 * Writes "count p50 p99 max" (microseconds) to out; exits 0 when every
 * answer was right, 1 otherwise, 100 without a connection.
 */
static void
validator(int stop, int out)
{
	struct kg_db	*h = NULL;
	long long	*lat, t;
	size_t		 n = 0;
	char		 line[128], jti[40];
	int		 revoked, bad = 0, k;
	fd_set		 fds;
	struct timeval	 tv;

	if ((lat = calloc(MAXSAMPLES, sizeof(*lat))) == NULL ||
	    kg_db_open(&h, &cfg) != KG_OK || kg_db_ping(h) != KG_OK)
		_exit(100);
	for (;;) {
		FD_ZERO(&fds);
		FD_SET(stop, &fds);
		tv.tv_sec = 0;
		tv.tv_usec = 0;
		if (select(stop + 1, &fds, NULL, NULL, &tv) != 0)
			break;
		for (k = 0; k < 2; k++) {
			(void)snprintf(jti, sizeof(jti), k ? "live%028d" :
			    "nope%028d", (int)(n % 10) + 1);
			t = mono_us();
			if (kg_store_token_revoked(h, jti, "", "acme", "w",
			    (int64_t)time(NULL), &revoked) != KG_OK ||
			    revoked != k)
				bad++;
			if (n < MAXSAMPLES)
				lat[n++] = mono_us() - t;
		}
	}
	qsort(lat, n, sizeof(*lat), cmp_ll);
	(void)snprintf(line, sizeof(line), "%zu %lld %lld %lld\n", n,
	    n ? lat[n / 2] : 0, n ? lat[n * 99 / 100] : 0, n ? lat[n - 1] : 0);
	if (write(out, line, strlen(line)) < 0)
		bad++;
	kg_db_close(h);
	_exit(bad ? 1 : 0);
}

START_TEST(volume)
{
	const char		*heavy = getenv("KEYGATE_TEST_HEAVY");
	long			 rows = heavy != NULL && strcmp(heavy, "1") == 0 ?
	    1000000 : 20000;
	struct kg_cleanup	 c;
	unsigned long long	 n = 0, cnt, p50, p99, max;
	long long		 t0, seed_us, clean_us;
	int			 stop[2], res[2], status, complete = 0;
	char			 buf[128];
	ssize_t			 got;
	pid_t			 pid;

	t0 = mono_us();
	seed_revocations(rows);
	seed_us = mono_us() - t0;
	ck_assert_int_eq(pipe(stop), 0);
	ck_assert_int_eq(pipe(res), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		close(stop[1]);
		close(res[0]);
		validator(stop[0], res[1]);
	}
	close(stop[0]);
	close(res[1]);
	usleep(200000);		/* the validator is running */
	cl_init(&c, db, 1000, 0);
	t0 = mono_us();
	ck_assert_int_eq(kg_cleanup_jwt_revocations(&c, &n, &complete), KG_OK);
	clean_us = mono_us() - t0;
	usleep(200000);
	close(stop[1]);
	got = read(res[0], buf, sizeof(buf) - 1);
	close(res[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_gt(got, 0);
	buf[got] = '\0';
	ck_assert_int_eq(sscanf(buf, "%llu %llu %llu %llu", &cnt, &p50, &p99,
	    &max), 4);
	ck_assert_uint_eq(n, (unsigned long long)rows);
	ck_assert_int_eq(complete, 1);
	/* In batches: no statement deleted more than 1000 rows. */
	ck_assert_uint_eq(c.cl_statements, (unsigned long long)rows / 1000 + 1);
	ck_assert_int_eq(kg_test_scalar(m, "SELECT COUNT(*) FROM "
	    "jwt_revocations"), 10);
	fprintf(stderr, "cleanup volume: %ld rows seeded in %.1f s, deleted "
	    "in %llu statements in %.2f s; concurrent validations: %llu, "
	    "latency p50 %llu us, p99 %llu us, max %llu us\n", rows,
	    (double)seed_us / 1e6, c.cl_statements, (double)clean_us / 1e6,
	    cnt, p50, p99, max);
}
END_TEST

static Suite *
cleanup_suite(void)
{
	Suite	*s = suite_create("cleanup");
	TCase	*tc = tcase_create("steps");
	TCase	*tr = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, nonces);
	tcase_add_test(tc, install_tokens);
	tcase_add_test(tc, install_cleanup_compat);
	tcase_add_test(tc, sessions);
	tcase_add_test(tc, jwt_revocations);
	tcase_add_test(tc, subject_logouts);
	tcase_add_test(tc, config_ceilings);
	tcase_add_test(tc, rate_buckets);
	tcase_add_test(tc, serial_locks);
	tcase_add_test(tc, audit_events);
	tcase_add_test(tc, batches);
	tcase_add_test(tc, time_limit);
	tcase_add_test(tc, lock);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_set_timeout(tr, 900);
	tcase_add_loop_test(tr, exchange_race, 0, 3);
	tcase_add_test(tr, rotation_race);
	tcase_add_test(tr, volume);
	suite_add_tcase(s, tr);
	return s;
}

int
main(void)
{
	kg_test_db_require();
	return kg_test_run(cleanup_suite());
}
