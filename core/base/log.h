/*
 * log.h: leveled logging to stderr or syslog.
 *
 * Log by allow-list: never pass a credential, a query-string value or a
 * request body to these functions; log a token's id8 prefix at most.
 */
#ifndef KG_LOG_H
#define KG_LOG_H

#include "core/base/config.h"

/* Sets the program name, the threshold and the target (0 stderr, 1 syslog). */
void	kg_log_init(const char *progname, enum kg_log_level, int use_syslog);
/* Re-reads level and target, e.g. after SIGHUP. */
void	kg_log_set(enum kg_log_level, int use_syslog);
int	kg_log_enabled(enum kg_log_level);
void	kg_log_write(enum kg_log_level, const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define kg_log_error(...)	kg_log_write(KG_LOG_ERROR, __func__, __VA_ARGS__)
#define kg_log_warn(...)	kg_log_write(KG_LOG_WARN, __func__, __VA_ARGS__)
#define kg_log_info(...)	kg_log_write(KG_LOG_INFO, __func__, __VA_ARGS__)
#define kg_log_debug(...)	do { if (kg_log_enabled(KG_LOG_DEBUG)) \
				    kg_log_write(KG_LOG_DEBUG, __func__, __VA_ARGS__); } while (0)

/*
 * The access log line: one per request, at INFO, without the function name.
 * Format: `access METHOD PATH STATUS DURATION_US pid=PID`.
 */
void	kg_log_access(const char *method, const char *path, int status,
	    long long duration_us, int pid);

#endif
