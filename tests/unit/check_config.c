/*
 * check_config.c: unit tests of core/base/config.c and core/base/log.c.
 *
 * Negative cases first and most: every way a configuration can be wrong
 * must stop the load with KG_ERR_CONFIG (or KG_ERR_IO) and a message that
 * names the place and the key, and never a secret.
 */
#define _POSIX_C_SOURCE 200809L

#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/config.h"
#include "core/base/log.h"

extern char **environ;

/* Long enough for admin_key and jwt_secret, and easy to spot in output. */
#define SECRET	"SeCrEt-0123456789-abcdefghij-ABCDEFGHIJ"
#define SHORT	"TooShortSecret"

/* ------------------------------------------------------------ helpers */

/* Removes every KEYGATE_* variable, whatever the caller's shell set. */
static void
clear_env(void)
{
	char	 name[256];
	char	**e;
	size_t	 n;
	int	 again = 1;

	while (again) {
		again = 0;
		for (e = environ; e != NULL && *e != NULL; e++) {
			if (strncmp(*e, "KEYGATE_", 8) != 0)
				continue;
			n = strcspn(*e, "=");
			if (n >= sizeof(name))
				continue;
			memcpy(name, *e, n);
			name[n] = '\0';
			unsetenv(name);
			again = 1;
			break;
		}
	}
}

static void
setup(void)
{
	clear_env();
}

static void
teardown(void)
{
	clear_env();
}

static void
tmp_template(char *path, size_t len, const char *what)
{
	const char	*dir = getenv("TMPDIR");

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	ck_assert_int_lt(snprintf(path, len, "%s/kg-%s-XXXXXX", dir, what),
	    (int)len);
}

/* Writes len bytes to a new temporary file of the given mode. */
static void
write_tmp_len(char *path, size_t pathlen, const char *data, size_t len,
    mode_t mode)
{
	int	 fd;

	tmp_template(path, pathlen, "conf");
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

static void
write_tmp(char *path, size_t pathlen, const char *text, mode_t mode)
{
	write_tmp_len(path, pathlen, text, strlen(text), mode);
}

/* Loads text as a file of the given mode; the file is gone afterwards. */
static enum kg_err
load_text_mode(struct kg_config *cfg, const char *text, mode_t mode,
    char *err, size_t errlen)
{
	char		 path[PATH_MAX];
	enum kg_err	 r;

	write_tmp(path, sizeof(path), text, mode);
	r = kg_config_load(cfg, path, err, errlen);
	unlink(path);
	return r;
}

static enum kg_err
load_text(struct kg_config *cfg, const char *text, char *err, size_t errlen)
{
	return load_text_mode(cfg, text, 0600, err, errlen);
}

/* Reads a whole (small) file into buf, NUL-terminated. */
static void
slurp(const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	size_t	 got = 0;
	int	 fd;

	fd = open(path, O_RDONLY);
	ck_assert_int_ne(fd, -1);
	while (got + 1 < len && (n = read(fd, buf + got, len - got - 1)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
}

/* kg_config_dump into buf. */
static void
dump(const struct kg_config *cfg, char *buf, size_t len)
{
	char	 path[PATH_MAX];
	int	 fd;

	tmp_template(path, sizeof(path), "dump");
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	kg_config_dump(cfg, fd);
	close(fd);
	slurp(path, buf, len);
	unlink(path);
}

#define ASSERT_HAS(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) != NULL, \
	    "\"%s\" not in \"%s\"", (needle), (hay))
#define ASSERT_HASNT(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) == NULL, \
	    "\"%s\" unexpectedly in \"%s\"", (needle), (hay))

/* ------------------------------------------------------------ bad files */

/*
 * One bad file each: the load fails with KG_ERR_CONFIG and the message has
 * both substrings.
 */
static const struct bad_case {
	const char	*text;
	const char	*want1;
	const char	*want2;
} bad_cases[] = {
	/* syntax */
	{ "wokers = 2\n", ":1: unknown key \"wokers\"", "" },
	{ "# c\n\n  log_levle = info\n", ":3:", "log_levle" },
	{ "workers_file = /etc/hostname\n", "unknown key", "workers_file" },
	{ "_file = /etc/hostname\n", "unknown key", "_file" },
	{ "Workers = 2\n", "unknown key", "Workers" },
	{ "\n\nworkers\n", ":3:", "missing '='" },
	{ "workers 4\n", ":1:", "missing '='" },
	{ " = 5\n", ":1:", "missing key" },
	{ "workers = 2\nworkers = 3\n", ":2: workers:", "first on line 1" },
	{ "db_password = x\ndb_password = y\n", ":2: db_password:", "twice" },
	{ "siwe_statement = \"unterminated\n", ":1:", "unterminated" },
	{ "siwe_statement = \"\n", ":1:", "unterminated" },
	{ "siwe_statement = a\x01z\n", "siwe_statement", "control" },
	/* integers */
	{ "workers = many\n", ":1: workers:", "invalid integer" },
	{ "workers = 4 # four\n", "workers", "comment" },
	{ "workers = 257\n", "workers", "out of range (0..256)" },
	{ "workers = -1\n", "workers", "out of range" },
	{ "workers = +4\n", "workers", "invalid integer" },
	{ "workers = 0x10\n", "workers", "invalid integer" },
	{ "workers =\n", "workers", "invalid integer" },
	{ "workers = 99999999999999999999999\n", "workers", "invalid integer" },
	{ "db_port = 0\n", "db_port", "out of range" },
	{ "db_port = 65536\n", "db_port", "out of range" },
	{ "db_retries = 101\n", "db_retries", "out of range" },
	{ "list_max = 0\n", "list_max", "out of range" },
	{ "rate_ip_rate = -1\n", "rate_ip_rate", "out of range" },
	{ "max_keys_per_wallet = 0\n", "max_keys_per_wallet", "range" },
	/* sizes */
	{ "max_body = 512\n", "max_body", "out of range (1k..16M)" },
	{ "max_body = 17M\n", "max_body", "out of range" },
	{ "max_body = 64x\n", "max_body", "invalid size" },
	{ "max_body = 64kb\n", "max_body", "invalid size" },
	{ "max_body = k\n", "max_body", "invalid size" },
	/* booleans */
	{ "access_log = maybe\n", "access_log", "invalid boolean" },
	{ "allow_raw_nonce = 2\n", "allow_raw_nonce", "invalid boolean" },
	{ "auto_create_namespaces =\n", "auto_create_namespaces", "boolean" },
	/* durations */
	{ "shutdown_timeout = 10x\n", "shutdown_timeout", "invalid duration" },
	{ "shutdown_timeout = 0\n", "shutdown_timeout", "out of range" },
	{ "nonce_ttl = -5m\n", "nonce_ttl", "invalid duration" },
	{ "nonce_ttl = 5 m\n", "nonce_ttl", "invalid duration" },
	{ "access_ttl = 2d\n", "access_ttl", "out of range" },
	{ "db_read_timeout = 0\n", "db_read_timeout", "out of range" },
	{ "track4_ttl = 2h\n", ":1: track4_ttl:", "out of range (1m..1h)" },
	{ "track4_ttl = 3601\n", "track4_ttl", "out of range" },
	{ "track1_ttl = 8d\n", "track1_ttl", "out of range" },
	{ "clock_leeway = 61\n", "clock_leeway", "out of range (0s..1m)" },
	{ "clock_leeway = 2m\n", "clock_leeway", "out of range" },
	/* enums */
	{ "log_level = verbose\n", "log_level", "error|warn|info|debug" },
	{ "log_target = file\n", "log_target", "stderr|syslog" },
	{ "jwt_alg = none\n", "jwt_alg", "HS256|EdDSA|RS256" },
	{ "jwt_alg = HS512\n", "jwt_alg", "invalid value" },
	/* checked strings */
	{ "token_prefix = k\n", "token_prefix", "2 to 8 lower-case" },
	{ "token_prefix = KG\n", "token_prefix", "lower-case" },
	{ "token_prefix = abcdefghi\n", "token_prefix", "lower-case" },
	{ "token_prefix = k9\n", "token_prefix", "lower-case" },
	{ "token_prefix = \"\"\n", "token_prefix", "lower-case" },
	{ "base_path = auth\n", "base_path", "start with '/'" },
	{ "base_path = /auth/\n", "base_path", "not end with '/'" },
	{ "base_path = /\n", "base_path", "not end with '/'" },
	{ "base_path = /a//b\n", "base_path", "'//'" },
	{ "base_path = /a?b\n", "base_path", "'?'" },
	{ "default_namespace = -x\n", "default_namespace", "^[a-z0-9]" },
	{ "default_namespace = Default\n", "default_namespace", "must match" },
	{ "default_namespace =\n", "default_namespace", "must match" },
	{ "default_namespace = a/b\n", "default_namespace", "must match" },
	{ "default_namespace = "
	    "a123456789012345678901234567890123456789012345678901234567890123\n",
	    "default_namespace", "must match" },
	{ "siwe_chain_ids =\n", "siwe_chain_ids", "chain ids" },
	{ "siwe_chain_ids = 0\n", "siwe_chain_ids", "positive" },
	{ "siwe_chain_ids = 1 x\n", "siwe_chain_ids", "chain ids" },
	{ "siwe_chain_ids = 01\n", "siwe_chain_ids", "chain ids" },
	{ "siwe_chain_ids = 1,5\n", "siwe_chain_ids", "chain ids" },
	{ "siwe_chain_ids = 99999999999999999999\n", "siwe_chain_ids", "ids" },
	{ "siwe_domain = example.org/x\n", "siwe_domain", "host[:port]" },
	{ "siwe_domain =\n", "siwe_domain", "host[:port]" },
	{ "siwe_uri = localhost\n", "siwe_uri", "absolute URI" },
	{ "siwe_uri = https://a b/\n", "siwe_uri", "absolute URI" },
	{ "listen = 127.0.0.1:9000\n", "listen", "unix:/path or tcp:" },
	{ "listen = tcp:127.0.0.1\n", "listen", "tcp:HOST:PORT" },
	{ "listen = tcp:::1:9000\n", "listen", "brackets" },
	{ "listen = tcp:localhost:0\n", "listen", "1..65535" },
	{ "listen = tcp::9000\n", "listen", "tcp:HOST:PORT" },
	{ "listen = unix:\n", "listen", "socket path" },
	{ "metrics_allow = localhost\n", "metrics_allow", "\"localhost\"" },
	{ "metrics_allow = 10.0.0.0/33\n", "metrics_allow", "/prefix" },
	{ "metrics_allow = ::1/129\n", "metrics_allow", "/prefix" },
	{ "metrics_allow = 10.0.0.1/\n", "metrics_allow", "/prefix" },
	{ "db_host =\n", "db_host", "empty" },
	{ "db_host = a b\n", "db_host", "spaces" },
	{ "db_name = \"\"\n", "db_name", "empty" },
	{ "jwt_issuer =\n", "jwt_issuer", "empty" },
	{ "user = www data\n", "user", "spaces" },
	/* scopes, across keys */
	{ "scopes = bad!scope\n", "scopes", "bad scope \"bad!scope\"" },
	{ "scopes = files:read\n", ":1: scopes:", "track1_scopes (default)" },
	{ "track1_scopes = projects:raed\n", ":1: track1_scopes:",
	    "\"projects:raed\"" },
	{ "wallet_key_scopes = operator.write\n", "wallet_key_scopes",
	    "never an API-key scope" },
	{ "scopes = projects:read operator.write\n", "scopes",
	    "track-4 sessions" },
	/* secrets, with the file mode 0600 */
	{ "jwt_secret = " SHORT "\n", ":1: jwt_secret:", "at least 32 bytes" },
	{ "admin_key = " SHORT "\n", ":1: admin_key:", "at least 32" },
	{ "admin_key = " SECRET " " SECRET "\n", "admin_key", "printable" },
	{ "admin_key = " SECRET "\nadmin_key_file = /nonexistent\n",
	    ":2: admin_key_file:", "admin_key and admin_key_file both given" },
	{ "db_password_file = /etc/passwd\ndb_password = x\n",
	    ":2: db_password:", "both given (line 1)" },
	{ "db_password_file = /nonexistent/kg-secret\n", "db_password_file:",
	    "No such file" },
	{ "db_password_file =\n", "db_password_file", "empty path" },
	{ "db_password_file = /\n", "db_password_file", "not a regular file" },
};

START_TEST(test_bad_case)
{
	const struct bad_case	*bc = &bad_cases[_i];
	struct kg_config	 cfg;
	char			 err[1024];
	enum kg_err		 r;

	r = load_text(&cfg, bc->text, err, sizeof(err));
	ck_assert_msg(r == KG_ERR_CONFIG, "case %d (%s): r=%d err=%s",
	    _i, bc->text, r, err);
	ASSERT_HAS(err, bc->want1);
	ASSERT_HAS(err, bc->want2);
	/* The message starts with the file name, never a secret. */
	ck_assert_msg(strncmp(err, "/", 1) == 0, "no file in \"%s\"", err);
	ASSERT_HASNT(err, SECRET);
	ASSERT_HASNT(err, SHORT);
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_bad_mem)
{
	const struct bad_case	*bc = &bad_cases[_i];
	struct kg_config	 cfg;
	char			 err[1024];

	/* The fuzzer's entry point gives the same answers. */
	ck_assert_int_eq(kg_config_load_mem(&cfg, "mem.conf", bc->text,
	    strlen(bc->text), err, sizeof(err)), KG_ERR_CONFIG);
	ASSERT_HAS(err, "mem.conf:");
	ASSERT_HAS(err, bc->want1);
	ASSERT_HAS(err, bc->want2);
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_short_admin_key_not_leaked)
{
	struct kg_config	 cfg;
	char			 err[1024];

	ck_assert_int_eq(load_text(&cfg, "\nadmin_key = " SHORT "\n",
	    err, sizeof(err)), KG_ERR_CONFIG);
	ASSERT_HAS(err, ":2:");
	ASSERT_HAS(err, "admin_key");
	ASSERT_HASNT(err, SHORT);
	ASSERT_HASNT(err, "TooShort");
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_bad_line_too_long)
{
	struct kg_config	 cfg;
	char			 err[512], *text;
	size_t			 n = KG_CONFIG_LINE_MAX + 16;

	text = malloc(n + 32);
	ck_assert_ptr_nonnull(text);
	snprintf(text, n + 32, "workers = 1\nsiwe_statement = ");
	memset(text + strlen(text), 'a', n);
	text[n] = '\n';
	text[n + 1] = '\0';
	ck_assert_int_eq(load_text(&cfg, text, err, sizeof(err)),
	    KG_ERR_CONFIG);
	ASSERT_HAS(err, ":2: line longer than 8192 bytes");
	kg_config_free(&cfg);
	free(text);
}
END_TEST

START_TEST(test_bad_nul_byte)
{
	static const char	 text[] = "workers = 1\nuser = a\0b\n";
	struct kg_config	 cfg;
	char			 err[512], path[PATH_MAX];

	write_tmp_len(path, sizeof(path), text, sizeof(text) - 1, 0600);
	ck_assert_int_eq(kg_config_load(&cfg, path, err, sizeof(err)),
	    KG_ERR_CONFIG);
	unlink(path);
	ASSERT_HAS(err, ":2: line contains a NUL byte");
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_bad_world_readable_secret)
{
	struct kg_config	 cfg;
	char			 err[1024];

	ck_assert_int_eq(load_text_mode(&cfg, "workers = 2\nadmin_key = "
	    SECRET "\n", 0644, err, sizeof(err)), KG_ERR_CONFIG);
	ASSERT_HAS(err, ":2: admin_key:");
	ASSERT_HAS(err, "mode 0644");
	ASSERT_HAS(err, "admin_key_file");
	ASSERT_HASNT(err, SECRET);
	kg_config_free(&cfg);

	ck_assert_int_eq(load_text_mode(&cfg, "db_password = hunter2\n", 0604,
	    err, sizeof(err)), KG_ERR_CONFIG);
	ASSERT_HAS(err, "db_password");
	ASSERT_HASNT(err, "hunter2");
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_bad_world_writable)
{
	struct kg_config	 cfg;
	char			 err[512];

	ck_assert_int_eq(load_text_mode(&cfg, "workers = 2\n", 0646,
	    err, sizeof(err)), KG_ERR_CONFIG);
	ASSERT_HAS(err, "others can write");
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_bad_missing_file)
{
	struct kg_config	 cfg;
	char			 err[512];

	ck_assert_int_eq(kg_config_load(&cfg, "/nonexistent/keygate.conf",
	    err, sizeof(err)), KG_ERR_IO);
	ASSERT_HAS(err, "/nonexistent/keygate.conf: ");
	kg_config_free(&cfg);
	ck_assert_int_eq(kg_config_load(&cfg, "/", err, sizeof(err)),
	    KG_ERR_IO);
	ASSERT_HAS(err, "directory");
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_bad_secret_file_empty)
{
	struct kg_config	 cfg;
	char			 err[1024], sec[PATH_MAX], text[2 * PATH_MAX + 64];

	write_tmp(sec, sizeof(sec), "\n\r\n", 0600);
	snprintf(text, sizeof(text), "jwt_secret_file = %s\n", sec);
	ck_assert_int_eq(load_text(&cfg, text, err, sizeof(err)),
	    KG_ERR_CONFIG);
	ASSERT_HAS(err, "jwt_secret_file:");
	ASSERT_HAS(err, "empty");
	kg_config_free(&cfg);
	unlink(sec);
}
END_TEST

START_TEST(test_bad_secret_file_short)
{
	struct kg_config	 cfg;
	char			 err[1024], sec[PATH_MAX], text[2 * PATH_MAX + 64];

	write_tmp(sec, sizeof(sec), SHORT "\n", 0600);
	snprintf(text, sizeof(text), "\n\nadmin_key_file = %s\n", sec);
	ck_assert_int_eq(load_text(&cfg, text, err, sizeof(err)),
	    KG_ERR_CONFIG);
	ASSERT_HAS(err, ":3: admin_key_file:");
	ASSERT_HAS(err, "at least 32");
	ASSERT_HASNT(err, SHORT);
	kg_config_free(&cfg);
	unlink(sec);
}
END_TEST

START_TEST(test_bad_secret_file_nul)
{
	static const char	 data[] = SECRET "\0tail\n";
	struct kg_config	 cfg;
	char			 err[1024], sec[PATH_MAX], text[2 * PATH_MAX + 64];

	write_tmp_len(sec, sizeof(sec), data, sizeof(data) - 1, 0600);
	snprintf(text, sizeof(text), "jwt_secret_file = %s\n", sec);
	ck_assert_int_eq(load_text(&cfg, text, err, sizeof(err)),
	    KG_ERR_CONFIG);
	ASSERT_HAS(err, "NUL");
	ASSERT_HASNT(err, SECRET);
	kg_config_free(&cfg);
	unlink(sec);
}
END_TEST

START_TEST(test_bad_env_value)
{
	struct kg_config	 cfg;
	char			 err[512];

	ck_assert_int_eq(setenv("KEYGATE_WORKERS", "lots", 1), 0);
	ck_assert_int_eq(kg_config_load(&cfg, NULL, err, sizeof(err)),
	    KG_ERR_CONFIG);
	ASSERT_HAS(err, "environment KEYGATE_WORKERS: workers:");
	ASSERT_HAS(err, "invalid integer \"lots\"");
	kg_config_free(&cfg);

	/* The environment is checked even when the file is fine. */
	ck_assert_int_eq(setenv("KEYGATE_WORKERS", "2", 1), 0);
	ck_assert_int_eq(setenv("KEYGATE_TRACK4_TTL", "2h", 1), 0);
	ck_assert_int_eq(load_text(&cfg, "workers = 4\n", err, sizeof(err)),
	    KG_ERR_CONFIG);
	ASSERT_HAS(err, "environment KEYGATE_TRACK4_TTL: track4_ttl:");
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_bad_env_secret)
{
	struct kg_config	 cfg;
	char			 err[512];

	ck_assert_int_eq(setenv("KEYGATE_ADMIN_KEY", SHORT, 1), 0);
	ck_assert_int_eq(kg_config_load(&cfg, NULL, err, sizeof(err)),
	    KG_ERR_CONFIG);
	ASSERT_HAS(err, "environment KEYGATE_ADMIN_KEY: admin_key:");
	ASSERT_HASNT(err, SHORT);
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_bad_env_both)
{
	struct kg_config	 cfg;
	char			 err[512];

	ck_assert_int_eq(setenv("KEYGATE_JWT_SECRET", SECRET, 1), 0);
	ck_assert_int_eq(setenv("KEYGATE_JWT_SECRET_FILE", "/etc/hostname",
	    1), 0);
	ck_assert_int_eq(kg_config_load(&cfg, NULL, err, sizeof(err)),
	    KG_ERR_CONFIG);
	ASSERT_HAS(err, "KEYGATE_JWT_SECRET and KEYGATE_JWT_SECRET_FILE");
	ASSERT_HASNT(err, SECRET);
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_bad_env_secret_file)
{
	struct kg_config	 cfg;
	char			 err[512];

	ck_assert_int_eq(setenv("KEYGATE_DB_PASSWORD_FILE",
	    "/nonexistent/pw", 1), 0);
	ck_assert_int_eq(kg_config_load(&cfg, NULL, err, sizeof(err)),
	    KG_ERR_CONFIG);
	ASSERT_HAS(err, "environment KEYGATE_DB_PASSWORD_FILE: "
	    "db_password_file: /nonexistent/pw: ");
	kg_config_free(&cfg);
}
END_TEST

/* ------------------------------------------------------------ durations */

static const struct dur_case {
	const char	*s;
	int		 ok;
	long		 v;
} dur_cases[] = {
	{ "90", 1, 90 },
	{ "0", 1, 0 },
	{ "45s", 1, 45 },
	{ "15m", 1, 900 },
	{ "2h", 1, 7200 },
	{ "30d", 1, 2592000 },
	{ "007", 1, 7 },
	{ "-1", 0, 0 },
	{ "1x", 0, 0 },
	{ "", 0, 0 },
	{ "m", 0, 0 },
	{ " 5", 0, 0 },
	{ "5 ", 0, 0 },
	{ "5mm", 0, 0 },
	{ "5M", 0, 0 },
	{ "+5", 0, 0 },
	{ "1.5h", 0, 0 },
	{ "99999999999999999999", 0, 0 },
	{ "9223372036854775807d", 0, 0 },
	{ "106751991167301d", 0, 0 },	/* just over LONG_MAX seconds */
};

START_TEST(test_duration)
{
	const struct dur_case	*dc = &dur_cases[_i];
	long			 v = -42;
	int			 rc;

	rc = kg_config_parse_duration(dc->s, &v);
	if (dc->ok) {
		ck_assert_msg(rc == 0, "\"%s\" refused", dc->s);
		ck_assert_int_eq(v, dc->v);
	} else {
		ck_assert_msg(rc == -1, "\"%s\" accepted", dc->s);
		ck_assert_int_eq(v, -42);	/* untouched */
	}
}
END_TEST

START_TEST(test_duration_null)
{
	long	 v;

	ck_assert_int_eq(kg_config_parse_duration(NULL, &v), -1);
}
END_TEST

/* ------------------------------------------------------------ good files */

START_TEST(test_defaults)
{
	struct kg_config	 cfg;
	char			 err[512];

	ck_assert_int_eq(kg_config_load(&cfg, NULL, err, sizeof(err)), KG_OK);
	ck_assert_str_eq(err, "");
	ck_assert_ptr_null(cfg.path);
	ck_assert_str_eq(cfg.listen, "tcp:127.0.0.1:9000");
	ck_assert_int_eq(cfg.workers, 0);
	ck_assert_int_eq(cfg.max_requests_per_worker, 10000);
	ck_assert_int_eq(cfg.shutdown_timeout, 10);
	ck_assert_uint_eq(cfg.max_body, 65536);
	ck_assert_str_eq(cfg.base_path, "");
	ck_assert_str_eq(cfg.user, "");
	ck_assert_str_eq(cfg.pid_file, "");
	ck_assert_int_eq(cfg.log_level, KG_LOG_INFO);
	ck_assert_int_eq(cfg.log_syslog, 0);
	ck_assert_int_eq(cfg.access_log, 1);
	ck_assert_str_eq(cfg.db_host, "localhost");
	ck_assert_uint_eq(cfg.db_port, 3306);
	ck_assert_str_eq(cfg.db_socket, "");
	ck_assert_str_eq(cfg.db_name, "keygate");
	ck_assert_str_eq(cfg.db_user, "keygate");
	ck_assert_str_eq(cfg.db_password, "");
	ck_assert_uint_eq(cfg.db_connect_timeout, 5);
	ck_assert_uint_eq(cfg.db_read_timeout, 5);
	ck_assert_uint_eq(cfg.db_write_timeout, 5);
	ck_assert_uint_eq(cfg.db_retries, 3);
	ck_assert_str_eq(cfg.admin_key, "");
	ck_assert_str_eq(cfg.default_namespace, "default");
	ck_assert_int_eq(cfg.auto_create_namespaces, 1);
	ck_assert_str_eq(cfg.token_prefix, "kg");
	ck_assert_str_eq(cfg.scopes, "projects:read projects:execute");
	ck_assert_str_eq(cfg.track_scopes[0], "projects:read");
	ck_assert_str_eq(cfg.track_scopes[1],
	    "projects:read projects:execute keys:read keys:write");
	ck_assert_str_eq(cfg.track_scopes[2], "admin");
	ck_assert_str_eq(cfg.track_scopes[3], "admin operator.write");
	ck_assert_int_eq(cfg.track_ttl[0], 12 * 3600);
	ck_assert_int_eq(cfg.track_ttl[1], 8 * 3600);
	ck_assert_int_eq(cfg.track_ttl[2], 4 * 3600);
	ck_assert_int_eq(cfg.track_ttl[3], 3600);
	ck_assert_int_eq(cfg.nonce_ttl, 300);
	ck_assert_int_eq(cfg.max_pending_nonces, 16);
	ck_assert_int_eq(cfg.allow_raw_nonce, 1);
	ck_assert_str_eq(cfg.siwe_domain, "localhost");
	ck_assert_str_eq(cfg.siwe_uri, "http://localhost/");
	ck_assert_str_eq(cfg.siwe_chain_ids, "1");
	ck_assert_str_eq(cfg.siwe_statement, "");
	ck_assert_str_eq(cfg.wallet_key_scopes, "projects:read");
	ck_assert_int_eq(cfg.max_keys_per_wallet, 10);
	ck_assert_int_eq(cfg.jwt_alg, KG_JWT_HS256);
	ck_assert_str_eq(cfg.jwt_secret, "");
	ck_assert_str_eq(cfg.jwt_key_file, "");
	ck_assert_str_eq(cfg.jwt_issuer, "keygate");
	ck_assert_str_eq(cfg.jwt_audience, "keygate");
	ck_assert_int_eq(cfg.access_ttl, 900);
	ck_assert_int_eq(cfg.refresh_ttl, 30 * 86400);
	ck_assert_int_eq(cfg.session_max_age, 30 * 86400);
	ck_assert_int_eq(cfg.clock_leeway, 30);
	ck_assert_int_eq(cfg.install_token_ttl, 900);
	ck_assert_int_eq(cfg.list_max, 500);
	ck_assert_int_eq(cfg.audit_retention, 90 * 86400);
	ck_assert_str_eq(cfg.metrics_allow, "127.0.0.1 ::1");
	ck_assert_int_eq(cfg.rate_ip_rate, 50);
	ck_assert_int_eq(cfg.rate_ip_burst, 200);
	ck_assert_int_eq(cfg.rate_wallet_rate, 5);
	ck_assert_int_eq(cfg.rate_wallet_burst, 30);
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_good_file)
{
	static const char text[] =
	    "# every type\n"
	    "   # an indented comment\n"
	    "\n"
	    "\t\n"
	    "listen = unix:/run/keygate/fcgi.sock\n"
	    "\tworkers\t=\t4  \n"
	    "max_requests_per_worker=0\n"
	    "shutdown_timeout = 2m\r\n"
	    "max_body = 1M\n"
	    "base_path = /auth\n"
	    "user = www-data\n"
	    "log_level = DEBUG\n"
	    "log_target = syslog\n"
	    "access_log = off\n"
	    "db_host = db.example\n"
	    "db_port = 3307\n"
	    "db_socket = /run/mysqld/mysqld.sock\n"
	    "db_connect_timeout = 1m\n"
	    "db_retries = 0\n"
	    "default_namespace = acme.prod_1-x\n"
	    "auto_create_namespaces = no\n"
	    "token_prefix = acme\n"
	    "scopes = files:read files:write\n"
	    "track1_scopes = files:read\n"
	    "track2_scopes = files:read files:write keys:read\n"
	    "track3_scopes = admin introspect\n"
	    "track4_scopes = admin operator.write\n"
	    "track1_ttl = 1d\n"
	    "track4_ttl = 3600\n"
	    "nonce_ttl = 90\n"
	    "allow_raw_nonce = FALSE\n"
	    "siwe_chain_ids = 1 137  10\n"
	    "wallet_key_scopes = files:read\n"
	    "jwt_alg = EdDSA\n"
	    "jwt_key_file = /etc/keygate/a.pem /etc/keygate/b.pem\n"
	    "clock_leeway = 0\n"
	    "metrics_allow = 10.0.0.0/8 fd00::/8 ::1 192.0.2.7\n"
	    "rate_ip_rate = 0\n"
	    "listen_backlog_is_not_a_key_but_this_is_a_comment = # no\n";
	struct kg_config	 cfg;
	char			 err[512];
	const char		*last;

	/* The last line is an unknown key: drop it for the good case. */
	last = strstr(text, "listen_backlog");
	ck_assert_int_eq(kg_config_load_mem(&cfg, "good.conf", text,
	    (size_t)(last - text), err, sizeof(err)), KG_OK);
	ck_assert_str_eq(cfg.listen, "unix:/run/keygate/fcgi.sock");
	ck_assert_int_eq(cfg.workers, 4);
	ck_assert_int_eq(cfg.max_requests_per_worker, 0);
	ck_assert_int_eq(cfg.shutdown_timeout, 120);
	ck_assert_uint_eq(cfg.max_body, 1024 * 1024);
	ck_assert_str_eq(cfg.base_path, "/auth");
	ck_assert_str_eq(cfg.user, "www-data");
	ck_assert_int_eq(cfg.log_level, KG_LOG_DEBUG);
	ck_assert_int_eq(cfg.log_syslog, 1);
	ck_assert_int_eq(cfg.access_log, 0);
	ck_assert_str_eq(cfg.db_host, "db.example");
	ck_assert_uint_eq(cfg.db_port, 3307);
	ck_assert_str_eq(cfg.db_socket, "/run/mysqld/mysqld.sock");
	ck_assert_uint_eq(cfg.db_connect_timeout, 60);
	ck_assert_uint_eq(cfg.db_retries, 0);
	ck_assert_str_eq(cfg.default_namespace, "acme.prod_1-x");
	ck_assert_int_eq(cfg.auto_create_namespaces, 0);
	ck_assert_str_eq(cfg.token_prefix, "acme");
	ck_assert_str_eq(cfg.track_scopes[2], "admin introspect");
	ck_assert_int_eq(cfg.track_ttl[0], 86400);
	ck_assert_int_eq(cfg.track_ttl[3], 3600);
	ck_assert_int_eq(cfg.nonce_ttl, 90);
	ck_assert_int_eq(cfg.allow_raw_nonce, 0);
	ck_assert_str_eq(cfg.siwe_chain_ids, "1 137  10");
	ck_assert_int_eq(cfg.jwt_alg, KG_JWT_EDDSA);
	ck_assert_str_eq(cfg.jwt_key_file,
	    "/etc/keygate/a.pem /etc/keygate/b.pem");
	ck_assert_int_eq(cfg.clock_leeway, 0);
	ck_assert_int_eq(cfg.rate_ip_rate, 0);
	/* Untouched keys keep their defaults. */
	ck_assert_int_eq(cfg.rate_ip_burst, 200);
	ck_assert_int_eq(cfg.access_ttl, 900);
	kg_config_free(&cfg);

	/* And the whole text, with its unknown last line, is refused. */
	ck_assert_int_eq(kg_config_load_mem(&cfg, "good.conf", text,
	    sizeof(text) - 1, err, sizeof(err)), KG_ERR_CONFIG);
	ASSERT_HAS(err, "good.conf:39: unknown key");
	kg_config_free(&cfg);
}
END_TEST

static const struct good_value {
	const char	*line;
	size_t		 max_body;	/* expected, when the line sets it */
	int		 access_log;	/* expected, or -1 */
} good_values[] = {
	{ "max_body = 1024\n", 1024, -1 },
	{ "max_body = 64k\n", 65536, -1 },
	{ "max_body = 64K\n", 65536, -1 },
	{ "max_body = 16M\n", 16777216, -1 },
	{ "max_body = 2m\n", 2097152, -1 },
	{ "access_log = true\n", 0, 1 },
	{ "access_log = Yes\n", 0, 1 },
	{ "access_log = on\n", 0, 1 },
	{ "access_log = 1\n", 0, 1 },
	{ "access_log = false\n", 0, 0 },
	{ "access_log = no\n", 0, 0 },
	{ "access_log = OFF\n", 0, 0 },
	{ "access_log = 0\n", 0, 0 },
};

START_TEST(test_good_value)
{
	const struct good_value	*gv = &good_values[_i];
	struct kg_config	 cfg;
	char			 err[512];

	ck_assert_msg(load_text(&cfg, gv->line, err, sizeof(err)) == KG_OK,
	    "%s: %s", gv->line, err);
	if (gv->max_body != 0)
		ck_assert_uint_eq(cfg.max_body, gv->max_body);
	if (gv->access_log != -1)
		ck_assert_int_eq(cfg.access_log, gv->access_log);
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_env_override)
{
	struct kg_config	 cfg;
	char			 err[512];

	ck_assert_int_eq(setenv("KEYGATE_WORKERS", "8", 1), 0);
	ck_assert_int_eq(setenv("KEYGATE_LOG_TARGET", "syslog", 1), 0);
	ck_assert_int_eq(setenv("KEYGATE_TRACK2_TTL", "2h", 1), 0);
	ck_assert_int_eq(setenv("KEYGATE_ADMIN_KEY", SECRET, 1), 0);
	ck_assert_int_eq(setenv("KEYGATE_BASE_PATH", "", 1), 0);
	/* Not a key: ignored (KEYGATE_REQUIRE_SCOPE is the authorizer's). */
	ck_assert_int_eq(setenv("KEYGATE_REQUIRE_SCOPE", "x", 1), 0);
	ck_assert_int_eq(load_text(&cfg, "workers = 4\nbase_path = /auth\n"
	    "db_port = 3310\n", err, sizeof(err)), KG_OK);
	ck_assert_str_eq(cfg.path != NULL ? "set" : "unset", "set");
	ck_assert_int_eq(cfg.workers, 8);
	ck_assert_int_eq(cfg.log_syslog, 1);
	ck_assert_int_eq(cfg.track_ttl[1], 7200);
	ck_assert_str_eq(cfg.admin_key, SECRET);
	ck_assert_str_eq(cfg.base_path, "");
	ck_assert_uint_eq(cfg.db_port, 3310);
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_env_secret_file_overrides_inline)
{
	struct kg_config	 cfg;
	char			 err[512], sec[PATH_MAX];

	write_tmp(sec, sizeof(sec), SECRET "-env\n", 0600);
	ck_assert_int_eq(setenv("KEYGATE_JWT_SECRET_FILE", sec, 1), 0);
	ck_assert_int_eq(load_text(&cfg, "jwt_secret = " SECRET "-file\n",
	    err, sizeof(err)), KG_OK);
	ck_assert_str_eq(cfg.jwt_secret, SECRET "-env");
	kg_config_free(&cfg);
	unlink(sec);
}
END_TEST

START_TEST(test_secret_file)
{
	struct kg_config	 cfg;
	char			 err[512], sec[PATH_MAX], text[2 * PATH_MAX + 64];

	write_tmp(sec, sizeof(sec), SECRET "\r\n\n", 0600);
	snprintf(text, sizeof(text), "admin_key_file = %s\n"
	    "db_password_file = \"%s\"\n", sec, sec);
	/* A secret by reference may sit in a world-readable file. */
	ck_assert_int_eq(load_text_mode(&cfg, text, 0644, err, sizeof(err)),
	    KG_OK);
	ck_assert_str_eq(cfg.admin_key, SECRET);
	ck_assert_str_eq(cfg.db_password, SECRET);
	kg_config_free(&cfg);

	ck_assert_int_eq(setenv("KEYGATE_JWT_SECRET_FILE", sec, 1), 0);
	ck_assert_int_eq(kg_config_load(&cfg, NULL, err, sizeof(err)), KG_OK);
	ck_assert_str_eq(cfg.jwt_secret, SECRET);
	kg_config_free(&cfg);
	unlink(sec);
}
END_TEST

START_TEST(test_secret_0600_accepted)
{
	struct kg_config	 cfg;
	char			 err[512];
	static const char	 text[] = "workers = 2\nadmin_key = " SECRET "\n";

	ck_assert_int_eq(load_text_mode(&cfg, text, 0600, err, sizeof(err)),
	    KG_OK);
	ck_assert_str_eq(cfg.admin_key, SECRET);
	kg_config_free(&cfg);
	/* Group-readable is the operator's choice (a service group). */
	ck_assert_int_eq(load_text_mode(&cfg, text, 0640, err, sizeof(err)),
	    KG_OK);
	kg_config_free(&cfg);
	/* Without a secret, a world-readable file is fine. */
	ck_assert_int_eq(load_text_mode(&cfg, "workers = 2\nadmin_key =\n",
	    0644, err, sizeof(err)), KG_OK);
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_quoted_and_hash)
{
	struct kg_config	 cfg;
	char			 err[512];

	ck_assert_int_eq(load_text(&cfg,
	    "siwe_statement = \"  Sign in # to \"Acme\"  \"\n"
	    "jwt_issuer = https://id.example/#main\n"
	    "base_path = \"\"\n"
	    "db_password = \"p#ss word \"\n"
	    "user = \"\"\n", err, sizeof(err)), KG_OK);
	ck_assert_str_eq(cfg.siwe_statement, "  Sign in # to \"Acme\"  ");
	ck_assert_str_eq(cfg.jwt_issuer, "https://id.example/#main");
	ck_assert_str_eq(cfg.base_path, "");
	ck_assert_str_eq(cfg.db_password, "p#ss word ");
	ck_assert_str_eq(cfg.user, "");
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_dump_redacts)
{
	struct kg_config	 cfg;
	char			 err[512], out[16384];

	ck_assert_int_eq(setenv("KEYGATE_DB_PASSWORD", "hunter2-db", 1), 0);
	ck_assert_int_eq(load_text(&cfg, "admin_key = " SECRET "\n"
	    "siwe_statement = \" padded \"\n", err, sizeof(err)), KG_OK);
	dump(&cfg, out, sizeof(out));
	ASSERT_HAS(out, "admin_key = (set)\n");
	ASSERT_HAS(out, "db_password = (set)\n");
	ASSERT_HAS(out, "jwt_secret = (unset)\n");
	ASSERT_HASNT(out, SECRET);
	ASSERT_HASNT(out, "hunter2");
	ASSERT_HAS(out, "listen = tcp:127.0.0.1:9000\n");
	ASSERT_HAS(out, "max_body = 64k\n");
	ASSERT_HAS(out, "log_target = stderr\n");
	ASSERT_HAS(out, "jwt_alg = HS256\n");
	ASSERT_HAS(out, "track4_ttl = 1h\n");
	ASSERT_HAS(out, "base_path = \"\"\n");
	ASSERT_HAS(out, "siwe_statement = \" padded \"\n");
	ASSERT_HAS(out, "access_log = true\n");
	kg_config_free(&cfg);
}
END_TEST

START_TEST(test_dump_roundtrip)
{
	struct kg_config	 a, b;
	char			 err[512], out1[16384], out2[16384];
	char			 text[16384];
	const char		*p, *nl;
	size_t			 n = 0;

	ck_assert_msg(load_text(&a, "workers = 3\nmax_body = 1500\n"
	    "track1_ttl = 90m\nsiwe_statement = \"\"quoted\" \"\n"
	    "log_level = warn\nadmin_key = " SECRET "\n", err, sizeof(err)) ==
	    KG_OK, "%s", err);
	dump(&a, out1, sizeof(out1));
	/* Less the redacted lines, a dump loads back to the same dump. */
	for (p = out1; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		if (strstr(p, "(set)\n") == nl - 5 ||
		    strstr(p, "(unset)\n") == nl - 7)
			continue;
		memcpy(text + n, p, (size_t)(nl - p) + 1);
		n += (size_t)(nl - p) + 1;
	}
	ck_assert_msg(kg_config_load_mem(&b, "dump", text, n, err,
	    sizeof(err)) == KG_OK, "%s", err);
	ck_assert_str_eq(b.siwe_statement, "\"quoted\" ");
	dump(&b, out2, sizeof(out2));
	ASSERT_HAS(out1, "admin_key = (set)\n");
	ASSERT_HAS(out2, "admin_key = (unset)\n");
	ASSERT_HAS(out2, "max_body = 1500\n");
	ASSERT_HAS(out2, "track1_ttl = 90m\n");
	ASSERT_HAS(out2, "log_level = warn\n");
	kg_config_free(&b);
	kg_config_free(&a);
}
END_TEST

/*
 * conf/keygate.conf.example lists every key with its default: uncommented,
 * it must load and dump exactly as the built-in defaults do.
 */
START_TEST(test_example_matches_defaults)
{
	struct kg_config	 def, ex;
	char			 path[PATH_MAX], err[512];
	char			 dd[16384], de[16384], text[16384], file[32768];
	const char		*top = getenv("top_srcdir"), *p, *nl;
	size_t			 n = 0, keys = 0, dumped = 0;

	if (top != NULL && *top != '\0')
		snprintf(path, sizeof(path), "%s/conf/keygate.conf.example",
		    top);
	else {
		/* __FILE__ is .../tests/unit/check_config.c */
		snprintf(path, sizeof(path), "%s", __FILE__);
		if ((p = strstr(path, "tests/unit/check_config.c")) != NULL)
			snprintf(path + (p - path), sizeof(path) - (size_t)(p -
			    path), "conf/keygate.conf.example");
	}
	slurp(path, file, sizeof(file));
	ck_assert_uint_gt(strlen(file), 1000);

	for (p = file; *p != '\0'; p = nl + (*nl != '\0')) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		/* "# key = default" with a key of [a-z0-9_] */
		if (strncmp(p, "# ", 2) == 0 && p[2] >= 'a' && p[2] <= 'z' &&
		    strspn(p + 2, "abcdefghijklmnopqrstuvwxyz0123456789_") +
		    2 < (size_t)(nl - p) &&
		    strncmp(p + 2 + strspn(p + 2,
		    "abcdefghijklmnopqrstuvwxyz0123456789_"), " =", 2) == 0) {
			ck_assert_uint_lt(n + (size_t)(nl - p), sizeof(text));
			memcpy(text + n, p + 2, (size_t)(nl - p) - 2);
			n += (size_t)(nl - p) - 2;
			text[n++] = '\n';
			keys++;
		}
	}
	ck_assert_int_eq(kg_config_load(&def, NULL, err, sizeof(err)), KG_OK);
	ck_assert_msg(kg_config_load_mem(&ex, path, text, n, err,
	    sizeof(err)) == KG_OK, "%s", err);
	dump(&def, dd, sizeof(dd));
	dump(&ex, de, sizeof(de));
	ck_assert_str_eq(dd, de);
	for (p = dd; (p = strchr(p, '\n')) != NULL; p++)
		dumped++;
	ck_assert_uint_eq(keys, dumped);	/* every key, each once */
	kg_config_free(&def);
	kg_config_free(&ex);
}
END_TEST

START_TEST(test_free)
{
	struct kg_config	 cfg, zero;

	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(setenv("KEYGATE_ADMIN_KEY", SECRET, 1), 0);
	ck_assert_int_eq(kg_config_load(&cfg, NULL, NULL, 0), KG_OK);
	kg_config_free(&cfg);
	ck_assert_int_eq(memcmp(&cfg, &zero, sizeof(cfg)), 0);
	kg_config_free(&cfg);		/* twice is harmless */
	kg_config_free(NULL);
}
END_TEST

/* ------------------------------------------------------------ log */

/* Runs fn with stderr sent to a file and returns what it wrote. */
static void
capture_stderr(void (*fn)(void), char *out, size_t len)
{
	char	 path[PATH_MAX];
	int	 fd, saved;

	tmp_template(path, sizeof(path), "log");
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ne(saved, -1);
	ck_assert_int_ne(dup2(fd, STDERR_FILENO), -1);
	fn();
	ck_assert_int_ne(dup2(saved, STDERR_FILENO), -1);
	close(saved);
	close(fd);
	slurp(path, out, len);
	unlink(path);
}

static void
log_basic(void)
{
	kg_log_init("/usr/sbin/kg-test", KG_LOG_INFO, 0);
	errno = EBADF;
	kg_log_error("failed %d", 7);
	ck_assert_int_eq(errno, EBADF);		/* preserved */
	kg_log_warn("line\nbreak\there");
	kg_log_info("info");
	kg_log_debug("debug is below the threshold");
	kg_log_access("GET", "/v1/keys?api_key=kg_sk_secret", 200, 123, 42);
	kg_log_access("PO ST", "/a b\x01", 404, 5, 43);
	kg_log_write(KG_LOG_INFO, NULL, "no func");
	kg_log_set(KG_LOG_ERROR, 0);
	kg_log_warn("hidden");
	kg_log_access("GET", "/hidden", 200, 1, 1);
	kg_log_error("shown");
	kg_log_set(KG_LOG_INFO, 0);
}

START_TEST(test_log_format)
{
	char	 out[8192], want[512];
	long	 pid = (long)getpid();

	capture_stderr(log_basic, out, sizeof(out));
	snprintf(want, sizeof(want),
	    "kg-test[%ld]: ERROR: log_basic: failed 7\n"
	    "kg-test[%ld]: WARN: log_basic: line?break?here\n"
	    "kg-test[%ld]: INFO: log_basic: info\n"
	    "kg-test[%ld]: access GET /v1/keys 200 123us pid=42\n"
	    "kg-test[%ld]: access PO%%20ST /a%%20b%%01 404 5us pid=43\n"
	    "kg-test[%ld]: INFO: no func\n"
	    "kg-test[%ld]: ERROR: log_basic: shown\n",
	    pid, pid, pid, pid, pid, pid, pid);
	ck_assert_str_eq(out, want);
	ASSERT_HASNT(out, "kg_sk_secret");
	ck_assert_int_eq(kg_log_enabled(KG_LOG_INFO), 1);
	ck_assert_int_eq(kg_log_enabled(KG_LOG_DEBUG), 0);
	ck_assert_int_eq(kg_log_enabled(KG_LOG__MAX), 0);
}
END_TEST

static void
log_long(void)
{
	static char	 big[10000];
	char		 path[3000];

	memset(big, 'x', sizeof(big) - 1);
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	kg_log_init("kg-test", KG_LOG_DEBUG, 0);
	kg_log_debug("%s", big);
	kg_log_access("GET", path, 200, 1, 2);
	kg_log_set(KG_LOG_INFO, 0);
}

START_TEST(test_log_truncates)
{
	char		 out[16384];
	const char	*nl, *second;

	capture_stderr(log_long, out, sizeof(out));
	nl = strchr(out, '\n');
	ck_assert_ptr_nonnull(nl);
	/* One line, cut below PIPE_BUF, ending in "...". */
	ck_assert_uint_le((size_t)(nl - out) + 1, 2048);
	ck_assert_int_eq(strncmp(nl - 3, "...", 3), 0);
	second = nl + 1;
	nl = strchr(second, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_str_eq(nl + 1, "");
	/* The access line keeps its status and pid after a cut path. */
	ASSERT_HAS(second, "... 200 1us pid=2\n");
}
END_TEST

/* ------------------------------------------------------------ main */

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("bad");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_bad_case, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_loop_test(tc, test_bad_mem, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_short_admin_key_not_leaked);
	tcase_add_test(tc, test_bad_line_too_long);
	tcase_add_test(tc, test_bad_nul_byte);
	tcase_add_test(tc, test_bad_world_readable_secret);
	tcase_add_test(tc, test_bad_world_writable);
	tcase_add_test(tc, test_bad_missing_file);
	tcase_add_test(tc, test_bad_secret_file_empty);
	tcase_add_test(tc, test_bad_secret_file_short);
	tcase_add_test(tc, test_bad_secret_file_nul);
	tcase_add_test(tc, test_bad_env_value);
	tcase_add_test(tc, test_bad_env_secret);
	tcase_add_test(tc, test_bad_env_both);
	tcase_add_test(tc, test_bad_env_secret_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("duration");
	tcase_add_loop_test(tc, test_duration, 0,
	    (int)(sizeof(dur_cases) / sizeof(dur_cases[0])));
	tcase_add_test(tc, test_duration_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("good");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good_file);
	tcase_add_loop_test(tc, test_good_value, 0,
	    (int)(sizeof(good_values) / sizeof(good_values[0])));
	tcase_add_test(tc, test_env_override);
	tcase_add_test(tc, test_env_secret_file_overrides_inline);
	tcase_add_test(tc, test_secret_file);
	tcase_add_test(tc, test_secret_0600_accepted);
	tcase_add_test(tc, test_quoted_and_hash);
	tcase_add_test(tc, test_dump_redacts);
	tcase_add_test(tc, test_dump_roundtrip);
	tcase_add_test(tc, test_example_matches_defaults);
	tcase_add_test(tc, test_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, test_log_format);
	tcase_add_test(tc, test_log_truncates);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
