/*
 * config.h: keygate's configuration, one plain struct filled from a table.
 *
 * Sources, later wins: built-in defaults, the file (`key = value`, `#`
 * comments), then environment variables KEYGATE_<KEY> (key upper-cased).
 * A secret key `k` may instead be read from a file named by `k_file` (in the
 * file or as KEYGATE_<K>_FILE); trailing newlines of that file are stripped.
 * Unknown keys, bad values and too-short secrets are errors naming the file,
 * the line and the reason.
 */
#ifndef KG_CONFIG_H
#define KG_CONFIG_H

#include <stddef.h>
#include "core/base/err.h"

enum kg_log_level {
	KG_LOG_ERROR = 0,
	KG_LOG_WARN,
	KG_LOG_INFO,
	KG_LOG_DEBUG,
	KG_LOG__MAX
};

enum kg_jwt_alg {
	KG_JWT_HS256 = 0,
	KG_JWT_EDDSA,
	KG_JWT_RS256,
	KG_JWT__MAX
};

#define KG_TRACKS	4

struct kg_config {
	/* process model (fcgi/) */
	char		*listen;		/* "unix:/path" or "tcp:host:port" */
	int		 workers;		/* 0 = mode default (2 standalone, 1 spawned) */
	long		 max_requests_per_worker; /* 0 = never recycle */
	long		 shutdown_timeout;	/* seconds */
	size_t		 max_body;		/* bytes */
	char		*base_path;		/* "" or "/auth" (no trailing slash) */
	char		*user;			/* drop privileges to this user if root */
	char		*pid_file;		/* "" = none */

	/* logging */
	enum kg_log_level log_level;
	int		 log_syslog;		/* 0 = stderr, 1 = syslog */
	int		 access_log;		/* bool */

	/* database */
	char		*db_host;
	unsigned int	 db_port;
	char		*db_socket;		/* "" = TCP to db_host:db_port */
	char		*db_name;
	char		*db_user;
	char		*db_password;		/* secret */
	unsigned int	 db_connect_timeout;	/* seconds */
	unsigned int	 db_read_timeout;	/* seconds */
	unsigned int	 db_write_timeout;	/* seconds */
	unsigned int	 db_retries;		/* deadlock / lock-wait retries */

	/* principals and namespaces */
	char		*admin_key;		/* secret, >= 32 chars, "" = none */
	char		*default_namespace;
	int		 auto_create_namespaces;
	char		*token_prefix;		/* 2-8 lower-case letters */
	char		*scopes;		/* accepted application scopes, space-separated */
	char		*track_scopes[KG_TRACKS];	/* track1_scopes .. track4_scopes */
	long		 track_ttl[KG_TRACKS];	/* track1_ttl .. track4_ttl, seconds */

	/* wallet sign-in */
	long		 nonce_ttl;
	long		 max_pending_nonces;
	int		 allow_raw_nonce;
	char		*siwe_domain;
	char		*siwe_uri;
	char		*siwe_chain_ids;	/* space-separated decimal chain ids */
	char		*siwe_statement;	/* "" = no statement line */
	char		*wallet_key_scopes;
	long		 max_keys_per_wallet;

	/* sessions */
	enum kg_jwt_alg	 jwt_alg;
	char		*jwt_secret;		/* secret, >= 32 bytes when HS256 */
	char		*jwt_key_file;		/* PEM path(s), space-separated; first signs */
	char		*jwt_issuer;
	char		*jwt_audience;
	long		 access_ttl;
	long		 refresh_ttl;
	long		 session_max_age;
	long		 clock_leeway;		/* 0..60 s */

	/* enrollment, org tokens, audit */
	long		 install_token_ttl;
	long		 list_max;
	long		 audit_retention;	/* seconds */

	/* operations */
	char		*metrics_allow;		/* space-separated addresses / CIDRs */
	long		 auth_cache_size;	/* validated credentials kept per
						 * worker; 0 = no cache */

	/* abuse resistance (0 disables a limit) */
	long		 rate_ip_rate;		/* requests per second sustained */
	long		 rate_ip_burst;
	long		 rate_wallet_rate;
	long		 rate_wallet_burst;

	/* where the values came from, for error messages */
	char		*path;			/* file read, or NULL */
};

/* Longest accepted line of a configuration file, and longest value. */
#define KG_CONFIG_LINE_MAX	8192

/*
 * Fills *cfg with the defaults, then the file at path (NULL = defaults and
 * environment only), then the environment.  On failure returns
 * KG_ERR_CONFIG (or KG_ERR_NOMEM/KG_ERR_IO) and writes "file:line: reason"
 * into errbuf.  The caller frees with kg_config_free even on failure.
 */
enum kg_err	 kg_config_load(struct kg_config *cfg, const char *path,
		    char *errbuf, size_t errlen);

/*
 * As kg_config_load, but parses the len bytes at data as the text of a file
 * called name (used in messages only), without the environment and without
 * the file-mode check.  For tests and the config fuzzer.  The caller frees
 * with kg_config_free even on failure.
 */
enum kg_err	 kg_config_load_mem(struct kg_config *cfg, const char *name,
		    const char *data, size_t len, char *errbuf, size_t errlen);

/* Frees every string, wiping secrets first.  Leaves *cfg zeroed. */
void		 kg_config_free(struct kg_config *cfg);

/*
 * Writes every key as `key = value` lines to fd, secrets redacted as
 * "(set)" / "(unset)".  For `keygate-fcgi -t -v`.
 */
void		 kg_config_dump(const struct kg_config *cfg, int fd);

/*
 * Parses a duration: an integer followed by nothing or s, m, h, d.
 * Returns 0 and sets *out on success, -1 otherwise.
 */
int		 kg_config_parse_duration(const char *s, long *out);

/*
 * The next word of a space- or tab-separated list value: returns it and
 * its length in *len, advancing *sp past it, or NULL when none is left.
 * (The words are not NUL-terminated.)
 */
const char	*kg_config_next_word(const char **sp, size_t *len);

#endif
