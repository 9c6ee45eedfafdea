/*
 * config.c: the configuration as one table of keys.
 *
 * Every key is one row {name, type, storage, offset, default, min, max,
 * flags, names, check}.  Defaults, the file, the environment, the checks
 * and the dump all walk the same rows, so a key exists in all of them or in
 * none.  A value passes the same parser whatever its source, the built-in
 * defaults included, so a bad default fails every test at once.
 *
 * Secrets (CF_SECRET) are never printed: not in a dump, not in an error
 * message.  Buffers that may have held one are wiped before they go.
 */
#define _POSIX_C_SOURCE 200809L

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/base/config.h"
#include "core/base/names.h"

/* How a value is written. */
enum cfg_type {
	CT_STR,		/* a string that passes the row's check */
	CT_NUM,		/* decimal integer */
	CT_SIZE,	/* bytes; suffix k/K (KiB) or m/M (MiB) */
	CT_DUR,		/* seconds; suffix s, m, h or d */
	CT_BOOL,	/* true/false, yes/no, on/off, 1/0 */
	CT_ENUM		/* one of the row's names; stored as its index */
};

/* How a value is stored in struct kg_config. */
enum cfg_store {
	CS_STR,		/* char * */
	CS_INT,		/* int, and the int-sized enums */
	CS_UINT,	/* unsigned int */
	CS_LONG,	/* long */
	CS_SIZE		/* size_t */
};

#define CF_SECRET	0x01	/* redacted; may be read from <key>_file */

/* A string check: 0 if v is acceptable, else -1 and a reason in why. */
typedef int (*cfg_check_fn)(const char *v, char *why, size_t whylen);

struct cfg_key {
	const char		*ck_name;
	enum cfg_type		 ck_type;
	enum cfg_store		 ck_store;
	size_t			 ck_off;
	const char		*ck_def;
	long long		 ck_min;
	long long		 ck_max;
	unsigned int		 ck_flags;
	const char *const	*ck_names;	/* CT_ENUM, NULL-terminated */
	cfg_check_fn		 ck_check;	/* CT_STR, or NULL */
};

static int	chk_listen(const char *, char *, size_t);
static int	chk_base_path(const char *, char *, size_t);
static int	chk_word(const char *, char *, size_t);
static int	chk_nonempty(const char *, char *, size_t);
static int	chk_nonempty_word(const char *, char *, size_t);
static int	chk_admin_key(const char *, char *, size_t);
static int	chk_jwt_secret(const char *, char *, size_t);
static int	chk_namespace(const char *, char *, size_t);
static int	chk_token_prefix(const char *, char *, size_t);
static int	chk_scope_list(const char *, char *, size_t);
static int	chk_siwe_domain(const char *, char *, size_t);
static int	chk_siwe_uri(const char *, char *, size_t);
static int	chk_chain_ids(const char *, char *, size_t);
static int	chk_addr_list(const char *, char *, size_t);

static const char *const log_level_names[KG_LOG__MAX + 1] = {
	[KG_LOG_ERROR] = "error",
	[KG_LOG_WARN] = "warn",
	[KG_LOG_INFO] = "info",
	[KG_LOG_DEBUG] = "debug",
	[KG_LOG__MAX] = NULL
};
static const char *const log_target_names[] = { "stderr", "syslog", NULL };
static const char *const jwt_alg_names[KG_JWT__MAX + 1] = {
	[KG_JWT_HS256] = "HS256",
	[KG_JWT_EDDSA] = "EdDSA",
	[KG_JWT_RS256] = "RS256",
	[KG_JWT__MAX] = NULL
};

/* The enums are written through CS_INT. */
_Static_assert(sizeof(enum kg_log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum kg_jwt_alg) == sizeof(int), "enum size");

/*
 * The offset of member m, which must have the size of type t: a row whose
 * storage does not match its member does not compile.
 */
#define MSIZE(m)	sizeof(((struct kg_config *)0)->m)
#define OFF(m, t)	(offsetof(struct kg_config, m) + \
			    0 * sizeof(char[MSIZE(m) == sizeof(t) ? 1 : -1]))

#define K_STR(n, m, d, fl, chk) \
	{ n, CT_STR, CS_STR, OFF(m, char *), d, 0, 0, fl, NULL, chk }
#define K_INT(n, m, d, lo, hi) \
	{ n, CT_NUM, CS_INT, OFF(m, int), d, lo, hi, 0, NULL, NULL }
#define K_UINT(n, m, d, lo, hi) \
	{ n, CT_NUM, CS_UINT, OFF(m, unsigned int), d, lo, hi, 0, NULL, NULL }
#define K_LONG(n, m, d, lo, hi) \
	{ n, CT_NUM, CS_LONG, OFF(m, long), d, lo, hi, 0, NULL, NULL }
#define K_DUR(n, m, d, lo, hi) \
	{ n, CT_DUR, CS_LONG, OFF(m, long), d, lo, hi, 0, NULL, NULL }
#define K_UDUR(n, m, d, lo, hi) \
	{ n, CT_DUR, CS_UINT, OFF(m, unsigned int), d, lo, hi, 0, NULL, NULL }
#define K_SIZE(n, m, d, lo, hi) \
	{ n, CT_SIZE, CS_SIZE, OFF(m, size_t), d, lo, hi, 0, NULL, NULL }
#define K_BOOL(n, m, d) \
	{ n, CT_BOOL, CS_INT, OFF(m, int), d, 0, 1, 0, NULL, NULL }
#define K_ENUM(n, m, d, names) \
	{ n, CT_ENUM, CS_INT, OFF(m, int), d, 0, 0, 0, names, NULL }

#define MIN_S		60LL
#define HOUR_S		3600LL
#define DAY_S		86400LL
#define KIB		1024LL
#define MIB		(1024LL * 1024)

/*
 * Every key, in the order of struct kg_config (and of the dump and of
 * conf/keygate.conf.example).  A key is named like its member except:
 * log_target sets log_syslog; trackN_scopes / trackN_ttl set
 * track_scopes[N-1] / track_ttl[N-1]; path is not a key.
 */
static const struct cfg_key cfg_keys[] = {
	/* process model */
	K_STR("listen", listen, "tcp:127.0.0.1:9000", 0, chk_listen),
	K_INT("workers", workers, "0", 0, 256),
	K_LONG("max_requests_per_worker", max_requests_per_worker, "10000",
	    0, 1000000000),
	K_DUR("shutdown_timeout", shutdown_timeout, "10s", 1, HOUR_S),
	K_SIZE("max_body", max_body, "64k", KIB, 16 * MIB),
	K_STR("base_path", base_path, "", 0, chk_base_path),
	K_STR("user", user, "", 0, chk_word),
	K_STR("pid_file", pid_file, "", 0, NULL),

	/* logging */
	K_ENUM("log_level", log_level, "info", log_level_names),
	K_ENUM("log_target", log_syslog, "stderr", log_target_names),
	K_BOOL("access_log", access_log, "true"),

	/* database */
	K_STR("db_host", db_host, "localhost", 0, chk_nonempty_word),
	K_UINT("db_port", db_port, "3306", 1, 65535),
	K_STR("db_socket", db_socket, "", 0, NULL),
	K_STR("db_name", db_name, "keygate", 0, chk_nonempty),
	K_STR("db_user", db_user, "keygate", 0, chk_nonempty),
	K_STR("db_password", db_password, "", CF_SECRET, NULL),
	K_UDUR("db_connect_timeout", db_connect_timeout, "5", 1, HOUR_S),
	K_UDUR("db_read_timeout", db_read_timeout, "5", 1, HOUR_S),
	K_UDUR("db_write_timeout", db_write_timeout, "5", 1, HOUR_S),
	K_UINT("db_retries", db_retries, "3", 0, 100),

	/* principals and namespaces */
	K_STR("admin_key", admin_key, "", CF_SECRET, chk_admin_key),
	K_STR("default_namespace", default_namespace, "default", 0,
	    chk_namespace),
	K_BOOL("auto_create_namespaces", auto_create_namespaces, "true"),
	K_STR("token_prefix", token_prefix, "kg", 0, chk_token_prefix),
	K_STR("scopes", scopes, "projects:read projects:execute", 0,
	    chk_scope_list),
	K_STR("track1_scopes", track_scopes[0], "projects:read", 0,
	    chk_scope_list),
	K_STR("track2_scopes", track_scopes[1],
	    "projects:read projects:execute keys:read keys:write", 0,
	    chk_scope_list),
	K_STR("track3_scopes", track_scopes[2], "admin", 0, chk_scope_list),
	K_STR("track4_scopes", track_scopes[3], "admin operator.write", 0,
	    chk_scope_list),
	K_DUR("track1_ttl", track_ttl[0], "12h", MIN_S, 7 * DAY_S),
	K_DUR("track2_ttl", track_ttl[1], "8h", MIN_S, 7 * DAY_S),
	K_DUR("track3_ttl", track_ttl[2], "4h", MIN_S, 7 * DAY_S),
	/* SPEC 5: a track-4 ceiling above one hour is a config error. */
	K_DUR("track4_ttl", track_ttl[3], "60m", MIN_S, HOUR_S),

	/* wallet sign-in */
	K_DUR("nonce_ttl", nonce_ttl, "5m", 10, HOUR_S),
	K_LONG("max_pending_nonces", max_pending_nonces, "16", 1, 1000),
	K_BOOL("allow_raw_nonce", allow_raw_nonce, "true"),
	K_STR("siwe_domain", siwe_domain, "localhost", 0, chk_siwe_domain),
	K_STR("siwe_uri", siwe_uri, "http://localhost/", 0, chk_siwe_uri),
	K_STR("siwe_chain_ids", siwe_chain_ids, "1", 0, chk_chain_ids),
	K_STR("siwe_statement", siwe_statement, "", 0, NULL),
	K_STR("wallet_key_scopes", wallet_key_scopes, "projects:read", 0,
	    chk_scope_list),
	K_LONG("max_keys_per_wallet", max_keys_per_wallet, "10", 1, 100000),

	/* sessions */
	K_ENUM("jwt_alg", jwt_alg, "HS256", jwt_alg_names),
	K_STR("jwt_secret", jwt_secret, "", CF_SECRET, chk_jwt_secret),
	K_STR("jwt_key_file", jwt_key_file, "", 0, NULL),
	K_STR("jwt_issuer", jwt_issuer, "keygate", 0, chk_nonempty),
	K_STR("jwt_audience", jwt_audience, "keygate", 0, chk_nonempty),
	K_DUR("access_ttl", access_ttl, "15m", 10, DAY_S),
	K_DUR("refresh_ttl", refresh_ttl, "30d", MIN_S, 365 * DAY_S),
	K_DUR("session_max_age", session_max_age, "30d", MIN_S, 365 * DAY_S),
	/* SPEC 5: default 30 s, at most 60 s. */
	K_DUR("clock_leeway", clock_leeway, "30s", 0, 60),

	/* enrollment, org tokens, audit */
	K_DUR("install_token_ttl", install_token_ttl, "15m", MIN_S, DAY_S),
	K_LONG("list_max", list_max, "500", 1, 10000),
	K_DUR("audit_retention", audit_retention, "90d", HOUR_S,
	    3650 * DAY_S),

	/* operations */
	K_STR("metrics_allow", metrics_allow, "127.0.0.1 ::1", 0,
	    chk_addr_list),
	K_LONG("auth_cache_size", auth_cache_size, "512", 0, 65536),

	/* abuse resistance */
	K_LONG("rate_ip_rate", rate_ip_rate, "50", 0, 1000000),
	K_LONG("rate_ip_burst", rate_ip_burst, "200", 0, 1000000),
	K_LONG("rate_wallet_rate", rate_wallet_rate, "5", 0, 1000000),
	K_LONG("rate_wallet_burst", rate_wallet_burst, "30", 0, 1000000),
};

#define NKEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))
#define NOKEY	((size_t)-1)

/* Scopes every deployment has (SPEC 2), and the one only tracks hold. */
static const char *const builtin_scopes[] = {
	"keys:read", "keys:write", "admin", "introspect", NULL
};
#define OPERATOR_SCOPE	"operator.write"

enum cfg_src {
	SRC_NONE = 0,
	SRC_DEFAULT,
	SRC_FILE,
	SRC_ENV
};

/* Where a value came from, for messages. */
struct cfg_origin {
	enum cfg_src	 co_src;
	unsigned long	 co_line;	/* SRC_FILE */
	int		 co_viafile;	/* read from <key>_file */
};

struct cfg_load {
	struct kg_config	*cl_cfg;
	const char		*cl_name;	/* file name in messages */
	char			*cl_err;
	size_t			 cl_errlen;
	struct cfg_origin	 cl_orig[NKEYS];
};

/* Reads bytes from a file descriptor, or from memory when cr_fd == -1. */
struct cfg_reader {
	int		 cr_fd;
	const char	*cr_mem;
	size_t		 cr_memlen;
	size_t		 cr_memoff;
	char		 cr_buf[4096];
	size_t		 cr_off;
	size_t		 cr_len;
};

#define RD_EOF		(-1)
#define RD_ERR		(-2)
#define RD_LONG		(-3)

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\v' || c == '\f';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
has_ctl(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

static int
has_space(const char *s)
{
	for (; *s != '\0'; s++)
		if (is_space((unsigned char)*s))
			return 1;
	return 0;
}

/* Copies s into buf for a message: at most 64 bytes, unprintables as '?'. */
static const char *
show(const char *s, char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < len && i < 64; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] >= 0x7f) ? '?' : s[i];
	buf[i] = '\0';
	if (s[i] != '\0' && i >= 3)
		memcpy(buf + i - 3, "...", 3);
	return buf;
}

const char *
kg_config_next_word(const char **sp, size_t *len)
{
	const char	*s = *sp, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*sp = s;
		return NULL;
	}
	w = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	*len = (size_t)(s - w);
	*sp = s;
	return w;
}

/* Whether the space-separated list holds the word w of length len. */
static int
list_has(const char *list, const char *w, size_t len)
{
	const char	*x;
	size_t		 xlen;

	while ((x = kg_config_next_word(&list, &xlen)) != NULL)
		if (xlen == len && memcmp(x, w, len) == 0)
			return 1;
	return 0;
}

/* Parses [-]digits into *out; 0 on success, -1 on junk or overflow. */
static int
parse_ll(const char *s, long long *out)
{
	long long	 v = 0;
	int		 neg = 0, d;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (!is_digit((unsigned char)*s))
		return -1;
	for (; is_digit((unsigned char)*s); s++) {
		d = *s - '0';
		if (v > (LLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (*s != '\0')
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/* Parses digits with an optional k/K or m/M suffix (powers of 1024). */
static int
parse_size(const char *s, long long *out)
{
	long long	 v = 0, mul = 1;
	int		 d;

	if (!is_digit((unsigned char)*s))
		return -1;
	for (; is_digit((unsigned char)*s); s++) {
		d = *s - '0';
		if (v > (LLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	switch (*s) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mul = KIB;
		s++;
		break;
	case 'm':
	case 'M':
		mul = MIB;
		s++;
		break;
	default:
		return -1;
	}
	if (*s != '\0' || v > LLONG_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

int
kg_config_parse_duration(const char *s, long *out)
{
	long	 v = 0, mul = 1;
	int	 d;

	if (s == NULL || !is_digit((unsigned char)*s))
		return -1;
	for (; is_digit((unsigned char)*s); s++) {
		d = *s - '0';
		if (v > (LONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	switch (*s) {
	case '\0':
		break;
	case 's':
		s++;
		break;
	case 'm':
		mul = 60;
		s++;
		break;
	case 'h':
		mul = 3600;
		s++;
		break;
	case 'd':
		mul = 86400;
		s++;
		break;
	default:
		return -1;
	}
	if (*s != '\0' || v > LONG_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
parse_bool(const char *s, long long *out)
{
	static const struct {
		const char	*name;
		int		 val;
	} words[] = {
		{ "true", 1 }, { "yes", 1 }, { "on", 1 }, { "1", 1 },
		{ "false", 0 }, { "no", 0 }, { "off", 0 }, { "0", 0 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i].name) == 0) {
			*out = words[i].val;
			return 0;
		}
	return -1;
}

static int
parse_enum(const char *s, const char *const *names, long long *out)
{
	long long	 i;

	for (i = 0; names[i] != NULL; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

/* Writes a duration with the largest unit that divides it: 90m, 2h, 30d. */
static void
fmt_dur(long long v, char *buf, size_t len)
{
	if (v != 0 && v % DAY_S == 0)
		snprintf(buf, len, "%lldd", v / DAY_S);
	else if (v != 0 && v % HOUR_S == 0)
		snprintf(buf, len, "%lldh", v / HOUR_S);
	else if (v != 0 && v % MIN_S == 0)
		snprintf(buf, len, "%lldm", v / MIN_S);
	else
		snprintf(buf, len, "%llds", v);
}

static void
fmt_size(long long v, char *buf, size_t len)
{
	if (v != 0 && v % MIB == 0)
		snprintf(buf, len, "%lldM", v / MIB);
	else if (v != 0 && v % KIB == 0)
		snprintf(buf, len, "%lldk", v / KIB);
	else
		snprintf(buf, len, "%lld", v);
}

static void
fmt_num(const struct cfg_key *ck, long long v, char *buf, size_t len)
{
	switch (ck->ck_type) {
	case CT_DUR:
		fmt_dur(v, buf, len);
		break;
	case CT_SIZE:
		fmt_size(v, buf, len);
		break;
	default:
		snprintf(buf, len, "%lld", v);
		break;
	}
}

static void
store_num(void *field, enum cfg_store cs, long long v)
{
	int		 i;
	unsigned int	 u;
	long		 l;
	size_t		 z;

	/* The row's bounds guarantee that v fits. */
	switch (cs) {
	case CS_INT:
		i = (int)v;
		memcpy(field, &i, sizeof(i));
		break;
	case CS_UINT:
		u = (unsigned int)v;
		memcpy(field, &u, sizeof(u));
		break;
	case CS_LONG:
		l = (long)v;
		memcpy(field, &l, sizeof(l));
		break;
	case CS_SIZE:
		z = (size_t)v;
		memcpy(field, &z, sizeof(z));
		break;
	case CS_STR:
		break;
	}
}

static long long
load_num(const void *field, enum cfg_store cs)
{
	int		 i;
	unsigned int	 u;
	long		 l;
	size_t		 z;

	switch (cs) {
	case CS_INT:
		memcpy(&i, field, sizeof(i));
		return i;
	case CS_UINT:
		memcpy(&u, field, sizeof(u));
		return u;
	case CS_LONG:
		memcpy(&l, field, sizeof(l));
		return l;
	case CS_SIZE:
		memcpy(&z, field, sizeof(z));
		return (long long)z;
	case CS_STR:
		break;
	}
	return 0;
}

/* ------------------------------------------------------------ checks */

static int
chk_listen(const char *v, char *why, size_t whylen)
{
	const char	*host, *colon;
	long long	 port;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] == '\0') {
			snprintf(why, whylen, "unix: needs a socket path");
			return -1;
		}
		if (strlen(v + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(why, whylen, "socket path longer than %zu bytes",
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -1;
		}
		return 0;
	}
	if (strncmp(v, "tcp:", 4) == 0 && !has_space(v)) {
		host = v + 4;
		colon = strrchr(host, ':');
		if (colon != NULL && colon != host &&
		    parse_ll(colon + 1, &port) == 0 &&
		    port >= 1 && port <= 65535) {
			if (host[0] == '[') {
				/* [v6addr]:port */
				if (colon - host > 2 && colon[-1] == ']')
					return 0;
			} else if (memchr(host, ':', (size_t)(colon - host)) ==
			    NULL)
				return 0;
		}
		snprintf(why, whylen, "expected tcp:HOST:PORT with PORT "
		    "1..65535 and an IPv6 HOST in brackets");
		return -1;
	}
	snprintf(why, whylen, "expected unix:/path or tcp:HOST:PORT");
	return -1;
}

static int
chk_base_path(const char *v, char *why, size_t whylen)
{
	size_t	 len = strlen(v);

	if (len == 0)
		return 0;
	if (v[0] != '/' || v[len - 1] == '/') {
		snprintf(why, whylen, "must be empty or start with '/' and "
		    "not end with '/' (e.g. /auth)");
		return -1;
	}
	if (strstr(v, "//") != NULL || strpbrk(v, "?#") != NULL ||
	    has_space(v)) {
		snprintf(why, whylen, "must be a plain path without '//', "
		    "'?', '#' or spaces");
		return -1;
	}
	return 0;
}

static int
chk_word(const char *v, char *why, size_t whylen)
{
	if (has_space(v)) {
		snprintf(why, whylen, "must not contain spaces");
		return -1;
	}
	return 0;
}

static int
chk_nonempty(const char *v, char *why, size_t whylen)
{
	if (*v == '\0') {
		snprintf(why, whylen, "must not be empty");
		return -1;
	}
	return 0;
}

static int
chk_nonempty_word(const char *v, char *why, size_t whylen)
{
	if (chk_nonempty(v, why, whylen) == -1)
		return -1;
	return chk_word(v, why, whylen);
}

/* Never put the value in why: it is a secret. */
static int
chk_admin_key(const char *v, char *why, size_t whylen)
{
	const unsigned char	*p;

	if (*v == '\0')
		return 0;
	if (strlen(v) < 32) {
		snprintf(why, whylen, "must be at least 32 characters");
		return -1;
	}
	/* It travels in an Authorization header. */
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f) {
			snprintf(why, whylen, "must be printable ASCII "
			    "without spaces");
			return -1;
		}
	return 0;
}

/* Never put the value in why: it is a secret. */
static int
chk_jwt_secret(const char *v, char *why, size_t whylen)
{
	if (*v != '\0' && strlen(v) < 32) {
		snprintf(why, whylen, "must be at least 32 bytes");
		return -1;
	}
	return 0;
}

/* ^[a-z0-9][a-z0-9._-]{0,62}$ (SPEC 1) */
static int
chk_namespace(const char *v, char *why, size_t whylen)
{
	if (!kg_namespace_valid(v)) {
		snprintf(why, whylen, "must match ^[a-z0-9][a-z0-9._-]{0,62}$");
		return -1;
	}
	return 0;
}

static int
chk_token_prefix(const char *v, char *why, size_t whylen)
{
	size_t	 i;

	for (i = 0; v[i] >= 'a' && v[i] <= 'z'; i++)
		continue;
	if (v[i] != '\0' || i < 2 || i > 8) {
		snprintf(why, whylen, "must be 2 to 8 lower-case letters");
		return -1;
	}
	return 0;
}

/* Space-separated scope names of [A-Za-z0-9:._/-], each at most 64. */
static int
chk_scope_list(const char *v, char *why, size_t whylen)
{
	const char	*w;
	size_t		 len, i;
	char		 tmp[80];
	int		 c;

	while ((w = kg_config_next_word(&v, &len)) != NULL) {
		for (i = 0; i < len; i++) {
			c = (unsigned char)w[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    is_digit(c) || c == ':' || c == '.' || c == '_' ||
			    c == '/' || c == '-'))
				break;
		}
		if (i < len || len > 64) {
			snprintf(tmp, sizeof(tmp), "%.*s",
			    (int)(len > 64 ? 64 : len), w);
			snprintf(why, whylen, "bad scope \"%s\": at most 64 of "
			    "A-Z a-z 0-9 : . _ / -", tmp);
			return -1;
		}
	}
	return 0;
}

/* An EIP-4361 domain is an RFC 3986 authority: host[:port]. */
static int
chk_siwe_domain(const char *v, char *why, size_t whylen)
{
	if (*v == '\0' || has_space(v) || strpbrk(v, "/?#") != NULL) {
		snprintf(why, whylen, "must be a host[:port] without spaces, "
		    "'/', '?' or '#'");
		return -1;
	}
	return 0;
}

/* An RFC 3986 URI: scheme ":" and the rest, no spaces. */
static int
chk_siwe_uri(const char *v, char *why, size_t whylen)
{
	size_t	 i;
	int	 c;

	for (i = 0; v[i] != '\0'; i++) {
		c = (unsigned char)v[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			continue;
		if (i > 0 && (is_digit(c) || c == '+' || c == '-' || c == '.'))
			continue;
		break;
	}
	if (i == 0 || v[i] != ':' || v[i + 1] == '\0' || has_space(v)) {
		snprintf(why, whylen, "must be an absolute URI such as "
		    "https://example.org/");
		return -1;
	}
	return 0;
}

/* Non-empty space-separated positive decimal integers, no leading zero. */
static int
chk_chain_ids(const char *v, char *why, size_t whylen)
{
	const char	*w;
	size_t		 len, i;
	long long	 id;
	char		 tmp[32];
	int		 n = 0;

	while ((w = kg_config_next_word(&v, &len)) != NULL) {
		n++;
		for (i = 0; i < len && is_digit((unsigned char)w[i]); i++)
			continue;
		if (i < len || len >= sizeof(tmp) || w[0] == '0')
			goto bad;
		memcpy(tmp, w, len);
		tmp[len] = '\0';
		if (parse_ll(tmp, &id) == -1 || id < 1)
			goto bad;
	}
	if (n == 0)
		goto bad;
	return 0;
 bad:
	snprintf(why, whylen, "must be one or more space-separated positive "
	    "decimal chain ids");
	return -1;
}

/* Space-separated IPv4/IPv6 addresses, each with an optional /prefix. */
static int
chk_addr_list(const char *v, char *why, size_t whylen)
{
	const char	*w, *slash;
	size_t		 len, alen;
	char		 addr[INET6_ADDRSTRLEN + 8], show_buf[80];
	unsigned char	 bin[sizeof(struct in6_addr)];
	long long	 bits, maxbits;

	while ((w = kg_config_next_word(&v, &len)) != NULL) {
		slash = memchr(w, '/', len);
		alen = slash != NULL ? (size_t)(slash - w) : len;
		if (alen == 0 || alen >= sizeof(addr))
			goto bad;
		memcpy(addr, w, alen);
		addr[alen] = '\0';
		if (inet_pton(AF_INET, addr, bin) == 1)
			maxbits = 32;
		else if (inet_pton(AF_INET6, addr, bin) == 1)
			maxbits = 128;
		else
			goto bad;
		if (slash == NULL)
			continue;
		alen = len - alen - 1;
		if (alen == 0 || alen > 3)
			goto bad;
		memcpy(addr, slash + 1, alen);
		addr[alen] = '\0';
		if (parse_ll(addr, &bits) == -1 || bits < 0 || bits > maxbits)
			goto bad;
	}
	return 0;
 bad:
	snprintf(show_buf, sizeof(show_buf), "%.*s",
	    (int)(len > 64 ? 64 : len), w);
	snprintf(why, whylen, "bad address \"%s\": expected IPv4 or IPv6 "
	    "addresses with an optional /prefix", show_buf);
	return -1;
}

/* ------------------------------------------------------------ loading */

static void
env_name(const struct cfg_key *ck, int viafile, char *buf, size_t len)
{
	size_t	 i, o;
	int	 c;

	o = (size_t)snprintf(buf, len, "KEYGATE_");
	for (i = 0; ck->ck_name[i] != '\0' && o + 1 < len; i++) {
		c = (unsigned char)ck->ck_name[i];
		buf[o++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') :
		    (char)c;
	}
	buf[o] = '\0';
	if (viafile && o + 6 < len)
		memcpy(buf + o, "_FILE", 6);
}

/*
 * Writes "WHERE: KEY: reason" into the caller's errbuf and returns r.
 * k may be NOKEY and o NULL for a message about the file as a whole.
 */
static enum kg_err
cfg_fail(struct cfg_load *cl, enum kg_err r, size_t k,
    const struct cfg_origin *o, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum kg_err
cfg_fail(struct cfg_load *cl, enum kg_err r, size_t k,
    const struct cfg_origin *o, const char *fmt, ...)
{
	char		 where[600], key[80], msg[600];
	const char	*name = cl->cl_name != NULL ? cl->cl_name : "(config)";
	va_list		 ap;

	if (cl->cl_err == NULL || cl->cl_errlen == 0)
		return r;
	where[0] = key[0] = '\0';
	if (o == NULL)
		snprintf(where, sizeof(where), "%s: ", name);
	else if (o->co_src == SRC_FILE)
		snprintf(where, sizeof(where), "%s:%lu: ", name, o->co_line);
	else if (o->co_src == SRC_ENV && k != NOKEY) {
		env_name(&cfg_keys[k], o->co_viafile, key, sizeof(key));
		snprintf(where, sizeof(where), "environment %s: ", key);
	} else if (o->co_src == SRC_DEFAULT)
		snprintf(where, sizeof(where), "built-in default: ");
	if (k != NOKEY)
		snprintf(key, sizeof(key), "%s%s: ", cfg_keys[k].ck_name,
		    o != NULL && o->co_viafile ? "_file" : "");
	else
		key[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(cl->cl_err, cl->cl_errlen, "%s%s%s", where, key, msg);
	return r;
}

static size_t
cfg_find(const char *name, int *viafile)
{
	size_t	 k, n;

	*viafile = 0;
	for (k = 0; k < NKEYS; k++)
		if (strcmp(cfg_keys[k].ck_name, name) == 0)
			return k;
	n = strlen(name);
	if (n <= 5 || strcmp(name + n - 5, "_file") != 0)
		return NOKEY;
	for (k = 0; k < NKEYS; k++)
		if ((cfg_keys[k].ck_flags & CF_SECRET) &&
		    strlen(cfg_keys[k].ck_name) == n - 5 &&
		    strncmp(cfg_keys[k].ck_name, name, n - 5) == 0) {
			*viafile = 1;
			return k;
		}
	return NOKEY;
}

/*
 * Parses val for key k and stores it, replacing (and for a secret wiping)
 * the previous value.  Leaves the old value in place on failure.
 */
static enum kg_err
cfg_apply(struct cfg_load *cl, size_t k, const char *val,
    const struct cfg_origin *o)
{
	const struct cfg_key	*ck = &cfg_keys[k];
	void			*field = (char *)cl->cl_cfg + ck->ck_off;
	char			 why[256], sv[80], lo[32], hi[32];
	char			*s, *old;
	long long		 n = 0;
	long			 d = 0;
	int			 secret = (ck->ck_flags & CF_SECRET) != 0;
	int			 bad = 0;

	if (strlen(val) > KG_CONFIG_LINE_MAX)
		return cfg_fail(cl, KG_ERR_CONFIG, k, o,
		    "value longer than %d bytes", KG_CONFIG_LINE_MAX);

	switch (ck->ck_type) {
	case CT_STR:
		if (!secret && has_ctl(val))
			return cfg_fail(cl, KG_ERR_CONFIG, k, o,
			    "value contains a control character");
		if (ck->ck_check != NULL &&
		    ck->ck_check(val, why, sizeof(why)) == -1) {
			if (secret)
				return cfg_fail(cl, KG_ERR_CONFIG, k, o,
				    "%s", why);
			return cfg_fail(cl, KG_ERR_CONFIG, k, o,
			    "\"%s\": %s", show(val, sv, sizeof(sv)), why);
		}
		if ((s = strdup(val)) == NULL)
			return cfg_fail(cl, KG_ERR_NOMEM, k, o,
			    "out of memory");
		memcpy(&old, field, sizeof(old));
		if (old != NULL && secret)
			OPENSSL_cleanse(old, strlen(old));
		free(old);
		memcpy(field, &s, sizeof(s));
		cl->cl_orig[k] = *o;
		return KG_OK;
	case CT_NUM:
		bad = parse_ll(val, &n) == -1;
		break;
	case CT_SIZE:
		bad = parse_size(val, &n) == -1;
		break;
	case CT_DUR:
		bad = kg_config_parse_duration(val, &d) == -1;
		n = d;
		break;
	case CT_BOOL:
		bad = parse_bool(val, &n) == -1;
		break;
	case CT_ENUM:
		bad = parse_enum(val, ck->ck_names, &n) == -1;
		break;
	}
	if (bad) {
		static const char *const what[] = {
			[CT_STR] = "string",
			[CT_NUM] = "invalid integer",
			[CT_SIZE] = "invalid size (bytes, or k/M suffix)",
			[CT_DUR] = "invalid duration (seconds, or "
			    "s/m/h/d suffix)",
			[CT_BOOL] = "invalid boolean (true/false, yes/no, "
			    "on/off, 1/0)",
			[CT_ENUM] = "invalid value",
		};
		size_t	 i, off;

		why[0] = '\0';
		if (ck->ck_type == CT_ENUM) {
			off = 0;
			for (i = 0; ck->ck_names[i] != NULL &&
			    off < sizeof(why); i++)
				off += (size_t)snprintf(why + off,
				    sizeof(why) - off, "%s%s", i ? "|" : " (",
				    ck->ck_names[i]);
			if (off < sizeof(why))
				snprintf(why + off, sizeof(why) - off, ")");
		} else if (strchr(val, '#') != NULL)
			snprintf(why, sizeof(why), " ('#' starts a comment "
			    "only at the start of a line)");
		return cfg_fail(cl, KG_ERR_CONFIG, k, o, "%s \"%s\"%s",
		    what[ck->ck_type], show(val, sv, sizeof(sv)), why);
	}
	if (ck->ck_type != CT_BOOL && ck->ck_type != CT_ENUM &&
	    (n < ck->ck_min || n > ck->ck_max)) {
		fmt_num(ck, ck->ck_min, lo, sizeof(lo));
		fmt_num(ck, ck->ck_max, hi, sizeof(hi));
		return cfg_fail(cl, KG_ERR_CONFIG, k, o,
		    "\"%s\" out of range (%s..%s)", show(val, sv, sizeof(sv)),
		    lo, hi);
	}
	store_num(field, ck->ck_store, n);
	cl->cl_orig[k] = *o;
	return KG_OK;
}

/*
 * Reads the secret for key k from the file at path (trailing CR/LF
 * stripped) and applies it.
 */
static enum kg_err
cfg_apply_file(struct cfg_load *cl, size_t k, const char *path,
    const struct cfg_origin *o)
{
	char		 buf[KG_CONFIG_LINE_MAX + 3], sp[80];
	struct stat	 st;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd = -1;
	enum kg_err	 r = KG_ERR_CONFIG;

	if (*path == '\0') {
		r = cfg_fail(cl, KG_ERR_CONFIG, k, o, "empty path");
		goto out;
	}
	show(path, sp, sizeof(sp));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		r = cfg_fail(cl, KG_ERR_CONFIG, k, o, "%s: %s", sp,
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = cfg_fail(cl, KG_ERR_CONFIG, k, o, "%s: %s", sp,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = cfg_fail(cl, KG_ERR_CONFIG, k, o,
		    "%s: not a regular file", sp);
		goto out;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = cfg_fail(cl, KG_ERR_CONFIG, k, o, "%s: %s", sp,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len > KG_CONFIG_LINE_MAX) {
		r = cfg_fail(cl, KG_ERR_CONFIG, k, o,
		    "%s: longer than %d bytes", sp, KG_CONFIG_LINE_MAX);
		goto out;
	}
	if (len == 0) {
		r = cfg_fail(cl, KG_ERR_CONFIG, k, o, "%s: empty", sp);
		goto out;
	}
	/* A NUL would silently shorten the secret. */
	if (memchr(buf, '\0', len) != NULL) {
		r = cfg_fail(cl, KG_ERR_CONFIG, k, o,
		    "%s: contains a NUL byte", sp);
		goto out;
	}
	buf[len] = '\0';
	r = cfg_apply(cl, k, buf, o);
 out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	return r;
}

static int
rd_byte(struct cfg_reader *rd)
{
	ssize_t	 n;

	if (rd->cr_fd == -1) {
		if (rd->cr_memoff >= rd->cr_memlen)
			return RD_EOF;
		return (unsigned char)rd->cr_mem[rd->cr_memoff++];
	}
	if (rd->cr_off == rd->cr_len) {
		do {
			n = read(rd->cr_fd, rd->cr_buf, sizeof(rd->cr_buf));
		} while (n == -1 && errno == EINTR);
		if (n == -1)
			return RD_ERR;
		if (n == 0)
			return RD_EOF;
		rd->cr_off = 0;
		rd->cr_len = (size_t)n;
	}
	return (unsigned char)rd->cr_buf[rd->cr_off++];
}

/*
 * Reads one line without its newline into line (NUL-terminated, its length
 * in *len).  Returns 1, or RD_EOF at the end, RD_ERR on a read error,
 * RD_LONG for a line longer than KG_CONFIG_LINE_MAX.
 */
static int
rd_line(struct cfg_reader *rd, char *line, size_t *len)
{
	size_t	 n = 0;
	int	 c;

	for (;;) {
		c = rd_byte(rd);
		if (c == RD_ERR)
			return RD_ERR;
		if (c == RD_EOF) {
			if (n == 0)
				return RD_EOF;
			break;
		}
		if (c == '\n')
			break;
		if (n == KG_CONFIG_LINE_MAX)
			return RD_LONG;
		line[n++] = (char)c;
	}
	line[n] = '\0';
	*len = n;
	return 1;
}

/*
 * Parses `key = value` lines.  mode is the file's st_mode, or 0 when the
 * text did not come from a file.
 */
static enum kg_err
cfg_parse(struct cfg_load *cl, struct cfg_reader *rd, mode_t mode)
{
	char			 line[KG_CONFIG_LINE_MAX + 1], sk[80];
	unsigned long		 seen[NKEYS], lineno = 0;
	unsigned char		 seenfile[NKEYS];
	struct cfg_origin	 o;
	char			*p, *eq, *q, *v;
	size_t			 len, vlen, k;
	int			 rc, viafile;
	enum kg_err		 r = KG_ERR_CONFIG;

	memset(seen, 0, sizeof(seen));
	memset(seenfile, 0, sizeof(seenfile));
	for (;;) {
		rc = rd_line(rd, line, &len);
		if (rc == RD_EOF)
			break;
		lineno++;
		memset(&o, 0, sizeof(o));
		o.co_src = SRC_FILE;
		o.co_line = lineno;
		if (rc == RD_ERR) {
			r = cfg_fail(cl, KG_ERR_IO, NOKEY, NULL, "read: %s",
			    strerror(errno));
			goto out;
		}
		if (rc == RD_LONG) {
			r = cfg_fail(cl, KG_ERR_CONFIG, NOKEY, &o,
			    "line longer than %d bytes", KG_CONFIG_LINE_MAX);
			goto out;
		}
		if (memchr(line, '\0', len) != NULL) {
			r = cfg_fail(cl, KG_ERR_CONFIG, NOKEY, &o,
			    "line contains a NUL byte");
			goto out;
		}

		for (p = line; is_space((unsigned char)*p); p++)
			continue;
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			/* Not the text: it may be a misplaced secret. */
			r = cfg_fail(cl, KG_ERR_CONFIG, NOKEY, &o,
			    "missing '=' (expected \"key = value\")");
			goto out;
		}
		for (q = eq; q > p && is_space((unsigned char)q[-1]); q--)
			continue;
		*q = '\0';
		if (*p == '\0') {
			r = cfg_fail(cl, KG_ERR_CONFIG, NOKEY, &o,
			    "missing key before '='");
			goto out;
		}
		for (v = eq + 1; is_space((unsigned char)*v); v++)
			continue;
		vlen = strlen(v);
		while (vlen > 0 && is_space((unsigned char)v[vlen - 1]))
			v[--vlen] = '\0';
		if (vlen > 0 && v[0] == '"') {
			if (vlen < 2 || v[vlen - 1] != '"') {
				r = cfg_fail(cl, KG_ERR_CONFIG, NOKEY, &o,
				    "%s: unterminated quoted value",
				    show(p, sk, sizeof(sk)));
				goto out;
			}
			v[vlen - 1] = '\0';
			v++;
		}

		if ((k = cfg_find(p, &viafile)) == NOKEY) {
			r = cfg_fail(cl, KG_ERR_CONFIG, NOKEY, &o,
			    "unknown key \"%s\"", show(p, sk, sizeof(sk)));
			goto out;
		}
		o.co_viafile = viafile;
		if (seen[k] != 0) {
			if (seenfile[k] == viafile)
				r = cfg_fail(cl, KG_ERR_CONFIG, k, &o,
				    "given twice (first on line %lu)", seen[k]);
			else
				r = cfg_fail(cl, KG_ERR_CONFIG, k, &o,
				    "%s and %s_file both given (line %lu); "
				    "use one", cfg_keys[k].ck_name,
				    cfg_keys[k].ck_name, seen[k]);
			goto out;
		}
		seen[k] = lineno;
		seenfile[k] = (unsigned char)viafile;

		if (viafile)
			r = cfg_apply_file(cl, k, v, &o);
		else if ((cfg_keys[k].ck_flags & CF_SECRET) && *v != '\0' &&
		    (mode & S_IROTH))
			/* As OpenBSD httpd: a secret others can read is none. */
			r = cfg_fail(cl, KG_ERR_CONFIG, k, &o,
			    "refusing an inline secret in a file others can "
			    "read (mode %04o): chmod o-rwx the file or use "
			    "%s_file", (unsigned int)(mode & 07777),
			    cfg_keys[k].ck_name);
		else
			r = cfg_apply(cl, k, v, &o);
		if (r != KG_OK)
			goto out;
	}
	r = KG_OK;
 out:
	OPENSSL_cleanse(line, sizeof(line));
	return r;
}

/* KEYGATE_<KEY> and, for secrets, KEYGATE_<KEY>_FILE override the file. */
static enum kg_err
cfg_env(struct cfg_load *cl)
{
	struct cfg_origin	 o;
	char			 name[80], fname[80];
	const char		*v, *vf;
	size_t			 k;
	enum kg_err		 r;

	for (k = 0; k < NKEYS; k++) {
		memset(&o, 0, sizeof(o));
		o.co_src = SRC_ENV;
		env_name(&cfg_keys[k], 0, name, sizeof(name));
		v = getenv(name);
		vf = NULL;
		if (cfg_keys[k].ck_flags & CF_SECRET) {
			env_name(&cfg_keys[k], 1, fname, sizeof(fname));
			vf = getenv(fname);
		}
		if (v != NULL && vf != NULL)
			return cfg_fail(cl, KG_ERR_CONFIG, k, &o,
			    "%s and %s are both set; use one", name, fname);
		if (v != NULL)
			r = cfg_apply(cl, k, v, &o);
		else if (vf != NULL) {
			o.co_viafile = 1;
			r = cfg_apply_file(cl, k, vf, &o);
		} else
			continue;
		if (r != KG_OK)
			return r;
	}
	return KG_OK;
}

static size_t
cfg_index(const char *name)
{
	int	 viafile;

	return cfg_find(name, &viafile);
}

/*
 * Checks between keys, after every source is read.  (The single-key rules
 * of SPEC, e.g. track4_ttl <= 1h and clock_leeway <= 60 s, are the rows'
 * bounds and checks and were enforced as each value was read.)
 *
 * Every scope a track or wallet_key_scopes grants must exist: built in,
 * or listed in scopes.  operator.write is for tracks only (SPEC 2).
 */
static enum kg_err
cfg_check(struct cfg_load *cl)
{
	static const char *const lists[] = {
		"track1_scopes", "track2_scopes", "track3_scopes",
		"track4_scopes", "wallet_key_scopes", NULL
	};
	const struct kg_config	*cfg = cl->cl_cfg;
	const char		*l, *w;
	char			 sw[80];
	size_t			 i, j, k, ks, len, blame;
	int			 builtin;

	ks = cfg_index("scopes");
	l = cfg->scopes;
	if (list_has(l, OPERATOR_SCOPE, strlen(OPERATOR_SCOPE)))
		return cfg_fail(cl, KG_ERR_CONFIG, ks, &cl->cl_orig[ks],
		    "%s is held only by track-4 sessions and cannot be an "
		    "application scope", OPERATOR_SCOPE);
	for (i = 0; lists[i] != NULL; i++) {
		k = cfg_index(lists[i]);
		memcpy(&l, (const char *)cfg + cfg_keys[k].ck_off, sizeof(l));
		while ((w = kg_config_next_word(&l, &len)) != NULL) {
			snprintf(sw, sizeof(sw), "%.*s", (int)len, w);
			if (strcmp(sw, OPERATOR_SCOPE) == 0) {
				if (strncmp(lists[i], "track", 5) == 0)
					continue;
				return cfg_fail(cl, KG_ERR_CONFIG, k,
				    &cl->cl_orig[k], "%s is never an API-key "
				    "scope", OPERATOR_SCOPE);
			}
			for (builtin = 0, j = 0; builtin_scopes[j] != NULL; j++)
				if (strcmp(sw, builtin_scopes[j]) == 0)
					builtin = 1;
			if (builtin || list_has(cfg->scopes, w, len))
				continue;
			/* Blame the line the operator wrote. */
			blame = (cl->cl_orig[k].co_src == SRC_DEFAULT &&
			    cl->cl_orig[ks].co_src != SRC_DEFAULT) ? ks : k;
			return cfg_fail(cl, KG_ERR_CONFIG, blame,
			    &cl->cl_orig[blame], "%s%s grants scope \"%s\", "
			    "which is neither built in nor listed in scopes",
			    lists[i], cl->cl_orig[k].co_src == SRC_DEFAULT ?
			    " (default)" : "", sw);
		}
	}
	return KG_OK;
}

static enum kg_err
cfg_begin(struct cfg_load *cl, struct kg_config *cfg, const char *name,
    char *errbuf, size_t errlen)
{
	struct cfg_origin	 o;
	size_t			 k;
	enum kg_err		 r;

	memset(cfg, 0, sizeof(*cfg));
	memset(cl, 0, sizeof(*cl));
	cl->cl_cfg = cfg;
	cl->cl_name = name;
	cl->cl_err = errbuf;
	cl->cl_errlen = errlen;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';

	memset(&o, 0, sizeof(o));
	o.co_src = SRC_DEFAULT;
	for (k = 0; k < NKEYS; k++)
		if ((r = cfg_apply(cl, k, cfg_keys[k].ck_def, &o)) != KG_OK)
			return r == KG_ERR_NOMEM ? r : KG_ERR_INTERNAL;
	return KG_OK;
}

enum kg_err
kg_config_load(struct kg_config *cfg, const char *path, char *errbuf,
    size_t errlen)
{
	struct cfg_load		 cl;
	struct cfg_reader	 rd;
	struct stat		 st;
	int			 fd = -1;
	enum kg_err		 r;

	memset(&rd, 0, sizeof(rd));
	rd.cr_fd = -1;
	if ((r = cfg_begin(&cl, cfg, path, errbuf, errlen)) != KG_OK)
		goto out;
	if (path != NULL) {
		if ((cfg->path = strdup(path)) == NULL) {
			r = cfg_fail(&cl, KG_ERR_NOMEM, NOKEY, NULL,
			    "out of memory");
			goto out;
		}
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
			r = cfg_fail(&cl, KG_ERR_IO, NOKEY, NULL, "%s",
			    strerror(errno));
			goto out;
		}
		if (fstat(fd, &st) == -1) {
			r = cfg_fail(&cl, KG_ERR_IO, NOKEY, NULL, "%s",
			    strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			r = cfg_fail(&cl, KG_ERR_IO, NOKEY, NULL,
			    "is a directory");
			goto out;
		}
		/* Anyone could rewrite it: its content means nothing. */
		if (st.st_mode & S_IWOTH) {
			r = cfg_fail(&cl, KG_ERR_CONFIG, NOKEY, NULL,
			    "refusing a file others can write (mode %04o)",
			    (unsigned int)(st.st_mode & 07777));
			goto out;
		}
		rd.cr_fd = fd;
		if ((r = cfg_parse(&cl, &rd, st.st_mode)) != KG_OK)
			goto out;
	}
	if ((r = cfg_env(&cl)) != KG_OK)
		goto out;
	r = cfg_check(&cl);
 out:
	OPENSSL_cleanse(&rd, sizeof(rd));
	if (fd != -1)
		close(fd);
	return r;
}

enum kg_err
kg_config_load_mem(struct kg_config *cfg, const char *name, const char *data,
    size_t len, char *errbuf, size_t errlen)
{
	struct cfg_load		 cl;
	struct cfg_reader	 rd;
	enum kg_err		 r;

	memset(&rd, 0, sizeof(rd));
	rd.cr_fd = -1;
	rd.cr_mem = data;
	rd.cr_memlen = data != NULL ? len : 0;
	if ((r = cfg_begin(&cl, cfg, name, errbuf, errlen)) != KG_OK)
		return r;
	if ((r = cfg_parse(&cl, &rd, 0)) != KG_OK)
		return r;
	return cfg_check(&cl);
}

void
kg_config_free(struct kg_config *cfg)
{
	const struct cfg_key	*ck;
	char			*s;
	size_t			 k;

	if (cfg == NULL)
		return;
	for (k = 0; k < NKEYS; k++) {
		ck = &cfg_keys[k];
		if (ck->ck_store != CS_STR)
			continue;
		memcpy(&s, (char *)cfg + ck->ck_off, sizeof(s));
		if (s != NULL && (ck->ck_flags & CF_SECRET))
			OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

/* Quotes a string the parser would otherwise trim or read differently. */
static int
needs_quotes(const char *s)
{
	size_t	 len = strlen(s);

	return len == 0 || is_space((unsigned char)s[0]) ||
	    is_space((unsigned char)s[len - 1]) || s[0] == '"';
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static const char *
enum_name(const char *const *names, long long n)
{
	long long	 i;

	for (i = 0; names[i] != NULL; i++)
		if (i == n)
			return names[i];
	return "?";
}

void
kg_config_dump(const struct kg_config *cfg, int fd)
{
	const struct cfg_key	*ck;
	const void		*field;
	const char		*s;
	char			 line[KG_CONFIG_LINE_MAX + 128], val[64];
	long long		 n;
	size_t			 k;
	int			 len;

	for (k = 0; k < NKEYS; k++) {
		ck = &cfg_keys[k];
		field = (const char *)cfg + ck->ck_off;
		if (ck->ck_store == CS_STR) {
			memcpy(&s, field, sizeof(s));
			if (s == NULL)
				s = "";
			if (ck->ck_flags & CF_SECRET)
				len = snprintf(line, sizeof(line), "%s = %s\n",
				    ck->ck_name, *s != '\0' ? "(set)" :
				    "(unset)");
			else if (needs_quotes(s))
				len = snprintf(line, sizeof(line),
				    "%s = \"%s\"\n", ck->ck_name, s);
			else
				len = snprintf(line, sizeof(line), "%s = %s\n",
				    ck->ck_name, s);
		} else {
			n = load_num(field, ck->ck_store);
			if (ck->ck_type == CT_BOOL)
				snprintf(val, sizeof(val), "%s",
				    n ? "true" : "false");
			else if (ck->ck_type == CT_ENUM)
				snprintf(val, sizeof(val), "%s",
				    enum_name(ck->ck_names, n));
			else
				fmt_num(ck, n, val, sizeof(val));
			len = snprintf(line, sizeof(line), "%s = %s\n",
			    ck->ck_name, val);
		}
		if (len < 0)
			continue;
		if ((size_t)len >= sizeof(line))
			len = (int)sizeof(line) - 1;
		write_all(fd, line, (size_t)len);
	}
}
