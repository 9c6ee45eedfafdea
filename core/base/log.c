/*
 * log.c: leveled logging to stderr or syslog.
 *
 * Each line is formatted into a stack buffer and leaves in one write(2):
 * the workers share stderr, and a write of at most PIPE_BUF bytes to a pipe
 * is never interleaved with another, so KG_LOG_LINE_MAX stays below it.
 * Nothing here allocates or takes a stdio lock.  Longer lines are cut and
 * end in "...".  Control characters in messages become '?', so one call is
 * one line whatever a caller passes.  errno is preserved.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "core/base/log.h"

#define KG_LOG_LINE_MAX		2048	/* Linux PIPE_BUF is 4096 */
#define KG_LOG_PATH_MAX		1024	/* of an access line's path */
#define KG_LOG_METHOD_MAX	16

static char			 log_progname[64] = "keygate";
static enum kg_log_level	 log_threshold = KG_LOG_INFO;
static int			 log_to_syslog;

static const char *const log_names[KG_LOG__MAX] = {
	[KG_LOG_ERROR] = "ERROR",
	[KG_LOG_WARN] = "WARN",
	[KG_LOG_INFO] = "INFO",
	[KG_LOG_DEBUG] = "DEBUG",
};

static const int log_prio[KG_LOG__MAX] = {
	[KG_LOG_ERROR] = LOG_ERR,
	[KG_LOG_WARN] = LOG_WARNING,
	[KG_LOG_INFO] = LOG_INFO,
	[KG_LOG_DEBUG] = LOG_DEBUG,
};

/* One line being built: ll_buf[ll_len] is always NUL. */
struct log_line {
	char	 ll_buf[KG_LOG_LINE_MAX];
	size_t	 ll_len;
	int	 ll_trunc;
};

static void	ll_vappend(struct log_line *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));
static void	ll_append(struct log_line *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Appends, keeping one byte free for the newline that ends the line. */
static void
ll_vappend(struct log_line *ll, const char *fmt, va_list ap)
{
	size_t	 room = sizeof(ll->ll_buf) - 1 - ll->ll_len;
	int	 n;

	if (room <= 1) {
		ll->ll_trunc = 1;
		return;
	}
	n = vsnprintf(ll->ll_buf + ll->ll_len, room, fmt, ap);
	if (n < 0) {
		ll->ll_buf[ll->ll_len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		ll->ll_trunc = 1;
		ll->ll_len += room - 1;
	} else
		ll->ll_len += (size_t)n;
}

static void
ll_append(struct log_line *ll, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	ll_vappend(ll, fmt, ap);
	va_end(ap);
}

/* Appends one byte, if it fits. */
static void
ll_putc(struct log_line *ll, char c)
{
	if (ll->ll_len + 2 >= sizeof(ll->ll_buf)) {
		ll->ll_trunc = 1;
		return;
	}
	ll->ll_buf[ll->ll_len++] = c;
	ll->ll_buf[ll->ll_len] = '\0';
}

/* Appends s, as ll_append(ll, "%s", s) without printf's cost. */
static void
ll_puts(struct log_line *ll, const char *s)
{
	while (*s != '\0' && !ll->ll_trunc)
		ll_putc(ll, *s++);
}

/* Appends v in decimal. */
static void
ll_putnum(struct log_line *ll, long long v)
{
	char			 d[24], *p = d + sizeof(d);
	unsigned long long	 u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	*--p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	ll_puts(ll, p);
}

/*
 * Appends s up to stop (a query string is never logged), percent-encoding
 * spaces, control bytes and non-ASCII, in at most room bytes of the line.
 * When s is longer than max bytes or does not fit in room once encoded,
 * it is cut at a whole character and ends in "...".  room must be at
 * least 3.
 */
static void
ll_token(struct log_line *ll, const char *s, size_t max, size_t room,
    int stop)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	size_t			 n = 0, used = 0, w;

	if (s == NULL || *s == '\0' || *s == stop) {
		ll_putc(ll, '-');
		return;
	}
	for (p = (const unsigned char *)s; *p != '\0' && *p != stop; p++) {
		w = *p <= 0x20 || *p >= 0x7f ? 3 : 1;
		/* Room for this character and "..." in case more follows. */
		if (n++ >= max || used + w + 3 > room) {
			ll_append(ll, "...");
			return;
		}
		used += w;
		if (w == 3) {
			ll_putc(ll, '%');
			ll_putc(ll, hex[*p >> 4]);
			ll_putc(ll, hex[*p & 0x0f]);
		} else
			ll_putc(ll, (char)*p);
	}
}

/* Makes bytes from off on printable, so a message is one line. */
static void
ll_sanitize(struct log_line *ll, size_t off)
{
	unsigned char	*p;
	size_t		 i;

	for (i = off; i < ll->ll_len; i++) {
		p = (unsigned char *)&ll->ll_buf[i];
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
}

/*
 * Sends the line: to syslog from body on (syslog adds name and pid), or to
 * stderr whole, with its newline, in one write.
 */
static void
ll_emit(struct log_line *ll, size_t body, int prio)
{
	const char	*p;
	size_t		 left;
	ssize_t		 n;

	if (ll->ll_trunc && ll->ll_len >= 3)
		memcpy(ll->ll_buf + ll->ll_len - 3, "...", 3);
	if (log_to_syslog) {
		ll->ll_buf[ll->ll_len] = '\0';
		syslog(prio, "%s", ll->ll_buf + body);
		return;
	}
	ll->ll_buf[ll->ll_len] = '\n';
	p = ll->ll_buf;
	left = ll->ll_len + 1;
	while (left > 0) {
		n = write(STDERR_FILENO, p, left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
}

static void
ll_begin(struct log_line *ll)
{
	ll->ll_len = 0;
	ll->ll_trunc = 0;
	ll->ll_buf[0] = '\0';
	ll_puts(ll, log_progname);
	ll_putc(ll, '[');
	ll_putnum(ll, (long long)getpid());
	ll_puts(ll, "]: ");
}

void
kg_log_init(const char *progname, enum kg_log_level level, int use_syslog)
{
	const char	*base;

	if (progname != NULL && *progname != '\0') {
		base = strrchr(progname, '/');
		base = base != NULL && base[1] != '\0' ? base + 1 : progname;
		snprintf(log_progname, sizeof(log_progname), "%s", base);
	}
	kg_log_set(level, use_syslog);
}

void
kg_log_set(enum kg_log_level level, int use_syslog)
{
	if ((unsigned int)level >= KG_LOG__MAX)
		level = KG_LOG_DEBUG;
	log_threshold = level;
	if (use_syslog && !log_to_syslog)
		/* Connect now: later the process may be chrooted or jailed. */
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && log_to_syslog)
		closelog();
	log_to_syslog = use_syslog != 0;
}

int
kg_log_enabled(enum kg_log_level level)
{
	return (unsigned int)level < KG_LOG__MAX && level <= log_threshold;
}

void
kg_log_write(enum kg_log_level level, const char *func, const char *fmt, ...)
{
	struct log_line	 ll;
	va_list		 ap;
	size_t		 body, msg;
	int		 saved_errno = errno;

	if (!kg_log_enabled(level))
		return;
	ll_begin(&ll);
	ll_append(&ll, "%s: ", log_names[level]);
	body = ll.ll_len;
	if (func != NULL)
		ll_append(&ll, "%s: ", func);
	msg = ll.ll_len;
	/* fmt may use %m: errno is still the caller's. */
	errno = saved_errno;
	va_start(ap, fmt);
	ll_vappend(&ll, fmt, ap);
	va_end(ap);
	ll_sanitize(&ll, msg);
	ll_emit(&ll, body, log_prio[level]);
	errno = saved_errno;
}

/* Characters of v in decimal. */
static size_t
digits(long long v)
{
	size_t			n = v < 0 ? 2 : 1;
	unsigned long long	u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	while ((u /= 10) != 0)
		n++;
	return n;
}

/*
 * The fields after the path are formatted first and the path gets what
 * is left of the line: percent-encoding may triple it, and a long path
 * must cut the path, never status, duration or pid.
 */
void
kg_log_access(const char *method, const char *path, int status,
    long long duration_us, int pid)
{
	struct log_line	 ll;
	size_t		 body, room, tlen;
	int		 saved_errno = errno;

	if (!kg_log_enabled(KG_LOG_INFO))
		return;
	/* " %d %lldus pid=%d": at most 11 + 21 + 15 bytes, always fits. */
	tlen = 1 + digits(status) + 1 + digits(duration_us) + 7 +
	    digits(pid);
	ll_begin(&ll);
	body = ll.ll_len;
	ll_puts(&ll, "access ");
	ll_token(&ll, method, KG_LOG_METHOD_MAX, 3 * KG_LOG_METHOD_MAX + 3,
	    '\0');
	ll_putc(&ll, ' ');
	/* A line holds KG_LOG_LINE_MAX - 2 bytes before its newline; what
	 * comes before the path is short (a 64-byte name at most). */
	room = ll.ll_len + tlen + 3 < KG_LOG_LINE_MAX - 2 ?
	    KG_LOG_LINE_MAX - 2 - ll.ll_len - tlen : 3;
	ll_token(&ll, path, KG_LOG_PATH_MAX, room, '?');
	ll_putc(&ll, ' ');
	ll_putnum(&ll, status);
	ll_putc(&ll, ' ');
	ll_putnum(&ll, duration_us);
	ll_puts(&ll, "us pid=");
	ll_putnum(&ll, pid);
	ll_emit(&ll, body, LOG_INFO);
	errno = saved_errno;
}
