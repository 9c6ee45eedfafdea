/*
 * metrics.c: the counters behind GET /metrics, their Prometheus text
 * rendering, and the metrics_allow address matcher.  See metrics.h.
 *
 * Why atomics and not a lock: several workers add to the same counters at
 * once, and a worker killed while holding a lock in shared memory would
 * leave it held.  The counters are independent (no reader needs two of
 * them to agree), so relaxed adds suffice.  They must be lock-free to be
 * usable across processes: a libatomic fallback would use a lock in the
 * process's own memory.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/config.h"
#include "core/base/log.h"
#include "core/base/metrics.h"

#if ATOMIC_LLONG_LOCK_FREE != 2
#error "metrics need lock-free 64-bit atomics to share them between processes"
#endif

/* Statuses counted one by one; any other is counted by its class. */
static const int kg_metrics_codes[] = {
	200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 503
};
#define NCODES_EXACT	(sizeof(kg_metrics_codes) / sizeof(kg_metrics_codes[0]))
/* After the exact ones: "2xx" .. "5xx", then "other" (outside 200-599). */
#define CODE_CLASS(c)	(NCODES_EXACT + (size_t)((c) / 100 - 2))
#define CODE_OTHER	(NCODES_EXACT + 4)
#define NCODES		(NCODES_EXACT + 5)

/* Upper bounds of the buckets: in microseconds, and as rendered. */
static const long long kg_metrics_le_us[KG_METRICS_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000
};
static const char *const kg_metrics_le[KG_METRICS_BUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5", "10"
};

struct kg_metrics_slot {
	atomic_ullong	ms_code[NCODES];
	/* Per bucket, not cumulative (one add per request); the last one
	 * holds what is above every bound. */
	atomic_ullong	ms_bucket[KG_METRICS_BUCKETS + 1];
	atomic_ullong	ms_sum_us;
};

struct kg_metrics_region {
	struct kg_metrics_slot	mr_slot[KG_METRICS_SLOTS];
	atomic_ullong		mr_db[KG_METRICS_DB__MAX];
	atomic_ullong		mr_worker[KG_METRICS_WORKER__MAX];
	atomic_ullong		mr_workers;
};

static struct kg_metrics_region	 kg_metrics_own;
static struct kg_metrics_region	*kg_metrics_cur = &kg_metrics_own;

#define ADD(a, n)	atomic_fetch_add_explicit(&(a), (n), memory_order_relaxed)
#define GET(a)		atomic_load_explicit(&(a), memory_order_relaxed)
#define SET(a, v)	atomic_store_explicit(&(a), (v), memory_order_relaxed)

enum kg_err
kg_metrics_share(void)
{
	void	*p;

	if (kg_metrics_cur != &kg_metrics_own)
		return KG_OK;
	p = mmap(NULL, sizeof(struct kg_metrics_region), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		kg_log_error("metrics region: mmap: %s; /metrics will show "
		    "each worker's own counters", strerror(errno));
		return KG_ERR_NOMEM;
	}
	/* A fresh anonymous mapping reads as zeroes: every counter is 0. */
	kg_metrics_cur = p;
	return KG_OK;
}

void
kg_metrics_reset(void)
{
	struct kg_metrics_region	*m = kg_metrics_cur;
	size_t				 i, j;

	for (i = 0; i < KG_METRICS_SLOTS; i++) {
		for (j = 0; j < NCODES; j++)
			SET(m->mr_slot[i].ms_code[j], 0);
		for (j = 0; j <= KG_METRICS_BUCKETS; j++)
			SET(m->mr_slot[i].ms_bucket[j], 0);
		SET(m->mr_slot[i].ms_sum_us, 0);
	}
	for (j = 0; j < KG_METRICS_DB__MAX; j++)
		SET(m->mr_db[j], 0);
	for (j = 0; j < KG_METRICS_WORKER__MAX; j++)
		SET(m->mr_worker[j], 0);
	SET(m->mr_workers, 0);
}

static size_t
code_slot(int status)
{
	size_t	i;

	for (i = 0; i < NCODES_EXACT; i++)
		if (kg_metrics_codes[i] == status)
			return i;
	if (status >= 200 && status <= 599)
		return CODE_CLASS(status);
	return CODE_OTHER;
}

size_t
kg_metrics_bucket(long long us)
{
	size_t	i;

	for (i = 0; i < KG_METRICS_BUCKETS; i++)
		if (us <= kg_metrics_le_us[i])
			return i;
	return KG_METRICS_BUCKETS;
}

void
kg_metrics_request(size_t slot, int status, long long us)
{
	struct kg_metrics_slot	*s;

	if (slot >= KG_METRICS_SLOTS)
		slot = KG_METRICS_SLOT_OTHER;
	if (us < 0)
		us = 0;
	s = &kg_metrics_cur->mr_slot[slot];
	ADD(s->ms_code[code_slot(status)], 1);
	ADD(s->ms_bucket[kg_metrics_bucket(us)], 1);
	ADD(s->ms_sum_us, (unsigned long long)us);
}

void
kg_metrics_db_error(enum kg_metrics_db kind)
{
	if ((unsigned int)kind < KG_METRICS_DB__MAX)
		ADD(kg_metrics_cur->mr_db[kind], 1);
}

void
kg_metrics_worker(enum kg_metrics_worker event)
{
	if ((unsigned int)event < KG_METRICS_WORKER__MAX)
		ADD(kg_metrics_cur->mr_worker[event], 1);
}

void
kg_metrics_workers_set(unsigned long long n)
{
	SET(kg_metrics_cur->mr_workers, n);
}

/* ---------------------------------------------------------------- render */

/* A label value with \, " and newline escaped (text format 0.0.4). */
static enum kg_err
label_value(struct kg_buf *b, const char *s)
{
	enum kg_err	r = KG_OK;

	for (; *s != '\0' && r == KG_OK; s++) {
		switch (*s) {
		case '\\': r = kg_buf_puts(b, "\\\\"); break;
		case '"':  r = kg_buf_puts(b, "\\\""); break;
		case '\n': r = kg_buf_puts(b, "\\n"); break;
		default:   r = kg_buf_append(b, s, 1); break;
		}
	}
	return r;
}

/* The method and route labels of slot; 0 when it has none. */
static int
slot_labels(size_t slot, kg_metrics_label_fn fn, void *arg,
    const char **method, const char **route)
{
	switch (slot) {
	case KG_METRICS_SLOT_UNMATCHED:
		*method = "-";
		*route = "(unmatched)";
		return 1;
	case KG_METRICS_SLOT_AUTHORIZER:
		*method = "-";
		*route = "(authorizer)";
		return 1;
	case KG_METRICS_SLOT_OTHER:
		*method = "-";
		*route = "(other)";
		return 1;
	default:
		return fn != NULL && fn(slot, method, route, arg);
	}
}

/* `NAME{method="M",route="R"` (the brace left open). */
static enum kg_err
series_open(struct kg_buf *b, const char *name, const char *method,
    const char *route)
{
	enum kg_err	r;

	if ((r = kg_buf_printf(b, "%s{method=\"", name)) != KG_OK ||
	    (r = label_value(b, method)) != KG_OK ||
	    (r = kg_buf_puts(b, "\",route=\"")) != KG_OK ||
	    (r = label_value(b, route)) != KG_OK)
		return r;
	return kg_buf_puts(b, "\"");
}

static enum kg_err
render_requests(struct kg_buf *b, const struct kg_metrics_region *m,
    kg_metrics_label_fn fn, void *arg)
{
	const char		*method, *route;
	unsigned long long	 v;
	size_t			 i, j;
	enum kg_err		 r;

	if ((r = kg_buf_puts(b, "# HELP keygate_http_requests_total Requests "
	    "answered, by route and HTTP status (codes outside a fixed set "
	    "are counted by class: 4xx).\n"
	    "# TYPE keygate_http_requests_total counter\n")) != KG_OK)
		return r;
	for (i = 0; i < KG_METRICS_SLOTS; i++) {
		if (!slot_labels(i, fn, arg, &method, &route))
			continue;
		for (j = 0; j < NCODES; j++) {
			if ((v = GET(m->mr_slot[i].ms_code[j])) == 0)
				continue;
			if ((r = series_open(b, "keygate_http_requests_total",
			    method, route)) != KG_OK)
				return r;
			if (j < NCODES_EXACT)
				r = kg_buf_printf(b, ",code=\"%d\"} %llu\n",
				    kg_metrics_codes[j], v);
			else if (j < CODE_OTHER)
				r = kg_buf_printf(b, ",code=\"%zuxx\"} %llu\n",
				    j - NCODES_EXACT + 2, v);
			else
				r = kg_buf_printf(b, ",code=\"other\"} %llu\n",
				    v);
			if (r != KG_OK)
				return r;
		}
	}
	return KG_OK;
}

static enum kg_err
render_latency(struct kg_buf *b, const struct kg_metrics_region *m,
    kg_metrics_label_fn fn, void *arg)
{
	static const char	 name[] = "keygate_http_request_duration_seconds";
	const char		*method, *route;
	unsigned long long	 n[KG_METRICS_BUCKETS + 1], cum, sum;
	size_t			 i, j;
	enum kg_err		 r;

	if ((r = kg_buf_printf(b, "# HELP %s Time from accepting a request "
	    "to the end of its answer, by route.\n# TYPE %s histogram\n",
	    name, name)) != KG_OK)
		return r;
	for (i = 0; i < KG_METRICS_SLOTS; i++) {
		if (!slot_labels(i, fn, arg, &method, &route))
			continue;
		/* One snapshot, so that +Inf and _count agree. */
		for (cum = 0, j = 0; j <= KG_METRICS_BUCKETS; j++)
			cum += (n[j] = GET(m->mr_slot[i].ms_bucket[j]));
		if (cum == 0)
			continue;
		sum = GET(m->mr_slot[i].ms_sum_us);
		for (cum = 0, j = 0; j <= KG_METRICS_BUCKETS; j++) {
			cum += n[j];
			if ((r = series_open(b, "keygate_http_request_duration_"
			    "seconds_bucket", method, route)) != KG_OK ||
			    (r = kg_buf_printf(b, ",le=\"%s\"} %llu\n",
			    j < KG_METRICS_BUCKETS ? kg_metrics_le[j] : "+Inf",
			    cum)) != KG_OK)
				return r;
		}
		if ((r = series_open(b, "keygate_http_request_duration_"
		    "seconds_sum", method, route)) != KG_OK ||
		    (r = kg_buf_printf(b, "} %llu.%06llu\n", sum / 1000000,
		    sum % 1000000)) != KG_OK ||
		    (r = series_open(b, "keygate_http_request_duration_"
		    "seconds_count", method, route)) != KG_OK ||
		    (r = kg_buf_printf(b, "} %llu\n", cum)) != KG_OK)
			return r;
	}
	return KG_OK;
}

enum kg_err
kg_metrics_render(struct kg_buf *b, kg_metrics_label_fn fn, void *arg)
{
	const struct kg_metrics_region	*m = kg_metrics_cur;
	enum kg_err			 r;

	if ((r = render_requests(b, m, fn, arg)) != KG_OK ||
	    (r = render_latency(b, m, fn, arg)) != KG_OK)
		return r;
	return kg_buf_printf(b,
	    "# HELP keygate_db_errors_total Failed database connects "
	    "(kind=\"connect\") and statements (kind=\"statement\"); a "
	    "statement that succeeded when retried is not counted.\n"
	    "# TYPE keygate_db_errors_total counter\n"
	    "keygate_db_errors_total{kind=\"connect\"} %llu\n"
	    "keygate_db_errors_total{kind=\"statement\"} %llu\n"
	    "# HELP keygate_worker_starts_total Workers started.\n"
	    "# TYPE keygate_worker_starts_total counter\n"
	    "keygate_worker_starts_total %llu\n"
	    "# HELP keygate_worker_restarts_total Workers started to replace "
	    "one that exited unasked (crash, kill, recycling).\n"
	    "# TYPE keygate_worker_restarts_total counter\n"
	    "keygate_worker_restarts_total %llu\n"
	    "# HELP keygate_worker_deaths_total Workers that ended abnormally "
	    "(signal or failure status) unasked.\n"
	    "# TYPE keygate_worker_deaths_total counter\n"
	    "keygate_worker_deaths_total %llu\n"
	    "# HELP keygate_workers Workers running now (0 in plain CGI).\n"
	    "# TYPE keygate_workers gauge\n"
	    "keygate_workers %llu\n",
	    GET(m->mr_db[KG_METRICS_DB_CONNECT]),
	    GET(m->mr_db[KG_METRICS_DB_STATEMENT]),
	    GET(m->mr_worker[KG_METRICS_WORKER_START]),
	    GET(m->mr_worker[KG_METRICS_WORKER_RESTART]),
	    GET(m->mr_worker[KG_METRICS_WORKER_DEATH]),
	    GET(m->mr_workers));
}

/* ---------------------------------------------------------------- access */

static const unsigned char kg_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * Reads one textual address of len bytes into *fam (4 or 6) and addr.
 * A v4-mapped IPv6 address is returned as IPv4.  Returns 0 or -1.
 */
static int
addr_parse(const char *s, size_t len, int *fam, unsigned char addr[16])
{
	char	buf[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*fam = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return -1;
	*fam = 6;
	return 0;
}

/* Clears the bits of addr beyond the first bits. */
static void
addr_mask(unsigned char addr[16], unsigned int bits)
{
	size_t	i;

	for (i = bits / 8; i < 16; i++) {
		if (i == bits / 8 && bits % 8 != 0)
			addr[i] &= (unsigned char)(0xff << (8 - bits % 8));
		else
			addr[i] = 0;
	}
}

/* Whether addr starts with the first bits of net (both 16 bytes). */
static int
prefix_eq(const unsigned char *addr, const unsigned char *net,
    unsigned int bits)
{
	unsigned char	mask;

	if (memcmp(addr, net, bits / 8) != 0)
		return 0;
	if (bits % 8 == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - bits % 8));
	return (addr[bits / 8] & mask) == net[bits / 8];
}

/* Parses one word "ADDR[/BITS]" into e.  Returns 0 or -1. */
static int
acl_word(const char *w, size_t len, struct kg_acl_entry *e)
{
	const char	*slash = memchr(w, '/', len);
	size_t		 alen = slash != NULL ? (size_t)(slash - w) : len;
	size_t		 i, plen;
	unsigned int	 max, bits = 0;

	if (addr_parse(w, alen, &e->ae_family, e->ae_addr) == -1)
		return -1;
	max = e->ae_family == 4 ? 32 : 128;
	if (slash == NULL)
		bits = max;
	else {
		/* 1 to 3 digits, as the configuration check accepts. */
		plen = len - alen - 1;
		if (plen == 0 || plen > 3)
			return -1;
		for (i = 0; i < plen; i++) {
			if (slash[1 + i] < '0' || slash[1 + i] > '9')
				return -1;
			bits = bits * 10 + (unsigned int)(slash[1 + i] - '0');
		}
		if (bits > max)
			return -1;
	}
	/* ::ffff:a.b.c.d/96+ is the IPv4 a.b.c.d/(bits - 96). */
	if (e->ae_family == 6 && bits >= 96 &&
	    memcmp(e->ae_addr, kg_v4mapped, 12) == 0) {
		memmove(e->ae_addr, e->ae_addr + 12, 4);
		memset(e->ae_addr + 4, 0, 12);
		e->ae_family = 4;
		bits -= 96;
	}
	e->ae_bits = bits;
	addr_mask(e->ae_addr, bits);
	return 0;
}

enum kg_err
kg_acl_parse(struct kg_acl *acl, const char *list, char *why, size_t whylen)
{
	const char	*s, *w;
	size_t		 n = 0, len = 0;

	memset(acl, 0, sizeof(*acl));
	if (list == NULL)
		list = "";
	for (s = list; kg_config_next_word(&s, &len) != NULL; )
		n++;
	if (n == 0)
		return KG_OK;
	if ((acl->acl_e = calloc(n, sizeof(*acl->acl_e))) == NULL)
		return KG_ERR_NOMEM;
	for (s = list; (w = kg_config_next_word(&s, &len)) != NULL; acl->acl_n++) {
		if (acl_word(w, len, &acl->acl_e[acl->acl_n]) == -1) {
			snprintf(why, whylen, "bad address \"%.*s\": expected "
			    "IPv4 or IPv6 addresses with an optional /prefix",
			    (int)(len > 64 ? 64 : len), w);
			kg_acl_free(acl);
			return KG_ERR_INVALID;
		}
	}
	return KG_OK;
}

void
kg_acl_free(struct kg_acl *acl)
{
	free(acl->acl_e);
	acl->acl_e = NULL;
	acl->acl_n = 0;
}

int
kg_acl_match(const struct kg_acl *acl, const char *addr)
{
	const struct kg_acl_entry	*e;
	unsigned char			 a[16], a6[16];
	size_t				 i;
	int				 fam;

	if (addr == NULL || addr_parse(addr, strlen(addr), &fam, a) == -1)
		return 0;
	/* A v4-mapped client is the IPv4 client; its IPv6 form is kept
	 * for IPv6 prefixes that cover it (::/0). */
	if (fam == 6 && memcmp(a, kg_v4mapped, 12) == 0) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		fam = 4;
	}
	memcpy(a6, kg_v4mapped, 12);
	memcpy(a6 + 12, a, 4);
	for (i = 0; i < acl->acl_n; i++) {
		e = &acl->acl_e[i];
		if (e->ae_family == fam &&
		    prefix_eq(a, e->ae_addr, e->ae_bits))
			return 1;
		if (fam == 4 && e->ae_family == 6 &&
		    prefix_eq(a6, e->ae_addr, e->ae_bits))
			return 1;
	}
	return 0;
}

int
kg_metrics_allowed(const char *list, const char *addr)
{
	/* The parsed list of this process, and the text it came from. */
	static struct kg_acl	 acl;
	static char		*src;
	static int		 usable;
	char			 why[160];
	enum kg_err		 r;

	if (list == NULL)
		list = "";
	if (src == NULL || strcmp(src, list) != 0) {
		kg_acl_free(&acl);
		free(src);
		usable = 0;
		if ((src = strdup(list)) == NULL) {
			kg_log_error("metrics_allow: out of memory");
			return 0;
		}
		why[0] = '\0';
		if ((r = kg_acl_parse(&acl, list, why, sizeof(why))) == KG_OK)
			usable = 1;
		else {
			kg_log_error("metrics_allow: %s; /metrics refuses "
			    "everyone", why[0] != '\0' ? why : kg_strerror(r));
			/* Out of memory is worth another try next time. */
			if (r == KG_ERR_NOMEM) {
				free(src);
				src = NULL;
			}
		}
	}
	return usable && kg_acl_match(&acl, addr);
}
