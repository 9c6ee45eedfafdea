/*
 * check_metrics.c: the /metrics counters and renderer (core/base/metrics.c),
 * the metrics_allow matcher, and GET /metrics through the gate.
 *
 * The renderer is checked line by line against the text format 0.0.4;
 * the shared region by forked children whose counts the parent sees
 * summed; the allow-list by addresses on both sides of each prefix
 * boundary, and against the configuration check (the two must agree on
 * every value, or a configuration that starts would lock /metrics).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/api/ops.h"
#include "core/api/router.h"
#include "core/base/buf.h"
#include "core/base/config.h"
#include "core/base/metrics.h"

/* ---------------------------------------------------------------- helpers */

/* Route slots 0 and 1 have labels; the rest of the table is "absent". */
static int
two_routes(size_t slot, const char **method, const char **route, void *arg)
{
	(void)arg;
	if (slot == 0) {
		*method = "GET";
		*route = "/a";
		return 1;
	}
	if (slot == 1) {
		*method = "POST";
		*route = "/x/{id}";
		return 1;
	}
	return 0;
}

static char *
render(kg_metrics_label_fn fn)
{
	struct kg_buf	b = KG_BUF_INIT;
	char		*s;

	ck_assert_int_eq(kg_metrics_render(&b, fn, NULL), KG_OK);
	s = strdup(kg_buf_str(&b));
	ck_assert_ptr_nonnull(s);
	kg_buf_free(&b);
	return s;
}

/* Whether text holds line as a whole line. */
static int
has_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

#define ASSERT_LINE(t, l)	ck_assert_msg(has_line((t), (l)), \
	"missing line \"%s\" in:\n%s", (l), (t))
#define ASSERT_NO_LINE(t, l)	ck_assert_msg(!has_line((t), (l)), \
	"unexpected line \"%s\" in:\n%s", (l), (t))

/* ---------------------------------------------------------------- buckets */

START_TEST(bucket_bounds_are_inclusive)
{
	ck_assert_uint_eq(kg_metrics_bucket(0), 0);
	ck_assert_uint_eq(kg_metrics_bucket(1000), 0);
	ck_assert_uint_eq(kg_metrics_bucket(1001), 1);
	ck_assert_uint_eq(kg_metrics_bucket(2500), 1);
	ck_assert_uint_eq(kg_metrics_bucket(2501), 2);
	ck_assert_uint_eq(kg_metrics_bucket(999999), 9);
	ck_assert_uint_eq(kg_metrics_bucket(1000000), 9);
	ck_assert_uint_eq(kg_metrics_bucket(1000001), 10);
	ck_assert_uint_eq(kg_metrics_bucket(10000000), 12);
	ck_assert_uint_eq(kg_metrics_bucket(10000001), KG_METRICS_BUCKETS);
	ck_assert_uint_eq(kg_metrics_bucket(-5), 0);
}
END_TEST

START_TEST(histogram_is_cumulative)
{
	char	*t;

	kg_metrics_reset();
	kg_metrics_request(0, 200, 800);	/* le 0.001 */
	kg_metrics_request(0, 200, 1000);	/* le 0.001 (inclusive) */
	kg_metrics_request(0, 200, 30000);	/* le 0.05 */
	kg_metrics_request(0, 500, 20000000);	/* +Inf only */
	kg_metrics_request(0, 200, -7);		/* clock step: 0 */
	t = render(two_routes);
	ASSERT_LINE(t, "keygate_http_request_duration_seconds_bucket"
	    "{method=\"GET\",route=\"/a\",le=\"0.001\"} 3");
	ASSERT_LINE(t, "keygate_http_request_duration_seconds_bucket"
	    "{method=\"GET\",route=\"/a\",le=\"0.025\"} 3");
	ASSERT_LINE(t, "keygate_http_request_duration_seconds_bucket"
	    "{method=\"GET\",route=\"/a\",le=\"0.05\"} 4");
	ASSERT_LINE(t, "keygate_http_request_duration_seconds_bucket"
	    "{method=\"GET\",route=\"/a\",le=\"10\"} 4");
	ASSERT_LINE(t, "keygate_http_request_duration_seconds_bucket"
	    "{method=\"GET\",route=\"/a\",le=\"+Inf\"} 5");
	ASSERT_LINE(t, "keygate_http_request_duration_seconds_count"
	    "{method=\"GET\",route=\"/a\"} 5");
	/* 800 + 1000 + 30000 + 20000000 + 0 us */
	ASSERT_LINE(t, "keygate_http_request_duration_seconds_sum"
	    "{method=\"GET\",route=\"/a\"} 20.031800");
	/* A slot without requests has no series. */
	ck_assert_ptr_null(strstr(t, "route=\"/x/{id}\""));
	free(t);
}
END_TEST

/* ---------------------------------------------------------------- render */

START_TEST(requests_by_route_and_code)
{
	char	*t;
	int	 i;

	kg_metrics_reset();
	for (i = 0; i < 3; i++)
		kg_metrics_request(0, 200, 10);
	kg_metrics_request(0, 404, 10);
	kg_metrics_request(1, 201, 10);
	kg_metrics_request(1, 418, 10);		/* not in the set: its class */
	kg_metrics_request(1, 302, 10);
	kg_metrics_request(1, 0, 10);		/* not a status at all */
	kg_metrics_request(1, 600, 10);
	kg_metrics_request(KG_METRICS_SLOT_UNMATCHED, 404, 10);
	kg_metrics_request(KG_METRICS_SLOT_AUTHORIZER, 401, 10);
	kg_metrics_request(KG_METRICS_SLOTS + 7, 200, 10);	/* -> other */
	kg_metrics_request(5, 200, 10);		/* a slot without labels */
	t = render(two_routes);
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"GET\","
	    "route=\"/a\",code=\"200\"} 3");
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"GET\","
	    "route=\"/a\",code=\"404\"} 1");
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"POST\","
	    "route=\"/x/{id}\",code=\"201\"} 1");
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"POST\","
	    "route=\"/x/{id}\",code=\"4xx\"} 1");
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"POST\","
	    "route=\"/x/{id}\",code=\"3xx\"} 1");
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"POST\","
	    "route=\"/x/{id}\",code=\"other\"} 2");
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"-\","
	    "route=\"(unmatched)\",code=\"404\"} 1");
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"-\","
	    "route=\"(authorizer)\",code=\"401\"} 1");
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"-\","
	    "route=\"(other)\",code=\"200\"} 1");
	/* Zero series are left out. */
	ASSERT_NO_LINE(t, "keygate_http_requests_total{method=\"GET\","
	    "route=\"/a\",code=\"201\"} 0");
	free(t);
}
END_TEST

START_TEST(text_format_shape)
{
	static const char *const families[][2] = {
		{ "keygate_http_requests_total", "counter" },
		{ "keygate_http_request_duration_seconds", "histogram" },
		{ "keygate_db_errors_total", "counter" },
		{ "keygate_worker_starts_total", "counter" },
		{ "keygate_worker_restarts_total", "counter" },
		{ "keygate_worker_deaths_total", "counter" },
		{ "keygate_workers", "gauge" },
	};
	regex_t		 sample, help;
	char		*t, *line, *save = NULL, want[128];
	size_t		 i;
	int		 samples = 0;

	kg_metrics_reset();
	kg_metrics_request(0, 200, 1234);
	kg_metrics_request(KG_METRICS_SLOT_UNMATCHED, 405, 99);
	t = render(two_routes);
	ck_assert(strlen(t) > 0 && t[strlen(t) - 1] == '\n');
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(want, sizeof(want), "# TYPE %s %s", families[i][0],
		    families[i][1]);
		ASSERT_LINE(t, want);
	}
	/* name{label="value",...} value, or a HELP/TYPE comment. */
	ck_assert_int_eq(regcomp(&sample, "^[a-z_]+(\\{([a-z]+=\"([^\"\\\\]|"
	    "\\\\.)*\"(,[a-z]+=\"([^\"\\\\]|\\\\.)*\")*)\\})? "
	    "[0-9]+(\\.[0-9]+)?$", REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_int_eq(regcomp(&help, "^# (HELP|TYPE) keygate_[a-z_]+ .+$",
	    REG_EXTENDED | REG_NOSUB), 0);
	for (line = strtok_r(t, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#') {
			ck_assert_msg(regexec(&help, line, 0, NULL, 0) == 0,
			    "bad comment line: %s", line);
			continue;
		}
		ck_assert_msg(regexec(&sample, line, 0, NULL, 0) == 0,
		    "bad sample line: %s", line);
		samples++;
	}
	/* 2 request series, 2 x (14 buckets + sum + count), 2 db, 4 more. */
	ck_assert_int_eq(samples, 2 + 2 * 16 + 2 + 4);
	regfree(&sample);
	regfree(&help);
	free(t);
}
END_TEST

static int
odd_route(size_t slot, const char **method, const char **route, void *arg)
{
	(void)arg;
	if (slot != 0)
		return 0;
	*method = "GET";
	*route = "/q\"uote\\back\nline";
	return 1;
}

START_TEST(label_values_are_escaped)
{
	char	*t;

	kg_metrics_reset();
	kg_metrics_request(0, 200, 1);
	t = render(odd_route);
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"GET\","
	    "route=\"/q\\\"uote\\\\back\\nline\",code=\"200\"} 1");
	free(t);
}
END_TEST

START_TEST(db_and_worker_counters)
{
	char	*t;

	kg_metrics_reset();
	t = render(NULL);
	/* Always present, even at zero. */
	ASSERT_LINE(t, "keygate_db_errors_total{kind=\"connect\"} 0");
	ASSERT_LINE(t, "keygate_db_errors_total{kind=\"statement\"} 0");
	ASSERT_LINE(t, "keygate_worker_restarts_total 0");
	free(t);
	kg_metrics_db_error(KG_METRICS_DB_CONNECT);
	kg_metrics_db_error(KG_METRICS_DB_CONNECT);
	kg_metrics_db_error(KG_METRICS_DB_STATEMENT);
	kg_metrics_db_error(KG_METRICS_DB__MAX);	/* ignored */
	kg_metrics_worker(KG_METRICS_WORKER_START);
	kg_metrics_worker(KG_METRICS_WORKER_START);
	kg_metrics_worker(KG_METRICS_WORKER_START);
	kg_metrics_worker(KG_METRICS_WORKER_RESTART);
	kg_metrics_worker(KG_METRICS_WORKER_DEATH);
	kg_metrics_worker(KG_METRICS_WORKER__MAX);	/* ignored */
	kg_metrics_workers_set(2);
	t = render(NULL);
	ASSERT_LINE(t, "keygate_db_errors_total{kind=\"connect\"} 2");
	ASSERT_LINE(t, "keygate_db_errors_total{kind=\"statement\"} 1");
	ASSERT_LINE(t, "keygate_worker_starts_total 3");
	ASSERT_LINE(t, "keygate_worker_restarts_total 1");
	ASSERT_LINE(t, "keygate_worker_deaths_total 1");
	ASSERT_LINE(t, "keygate_workers 2");
	free(t);
}
END_TEST

/* Forked children add to the shared region; the parent sees the sum. */
START_TEST(shared_across_processes)
{
	enum { NCHILD = 4, NREQ = 250 };
	pid_t	 pid[NCHILD];
	char	*t;
	int	 i, j, st;

	ck_assert_int_eq(kg_metrics_share(), KG_OK);
	ck_assert_int_eq(kg_metrics_share(), KG_OK);	/* idempotent */
	kg_metrics_reset();
	for (i = 0; i < NCHILD; i++) {
		pid[i] = fork();
		ck_assert_int_ne(pid[i], -1);
		if (pid[i] == 0) {
			for (j = 0; j < NREQ; j++)
				kg_metrics_request(1, 200, 3000);
			kg_metrics_db_error(KG_METRICS_DB_STATEMENT);
			_exit(0);
		}
	}
	for (i = 0; i < NCHILD; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	t = render(two_routes);
	ASSERT_LINE(t, "keygate_http_requests_total{method=\"POST\","
	    "route=\"/x/{id}\",code=\"200\"} 1000");
	ASSERT_LINE(t, "keygate_http_request_duration_seconds_count"
	    "{method=\"POST\",route=\"/x/{id}\"} 1000");
	ASSERT_LINE(t, "keygate_http_request_duration_seconds_sum"
	    "{method=\"POST\",route=\"/x/{id}\"} 3.000000");
	ASSERT_LINE(t, "keygate_db_errors_total{kind=\"statement\"} 4");
	free(t);
}
END_TEST

/* Without kg_metrics_share a child's counts stay its own (CGI, tools). */
START_TEST(private_without_share)
{
	pid_t	 pid;
	char	*t;
	int	 st;

	kg_metrics_reset();
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		kg_metrics_request(0, 200, 1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	t = render(two_routes);
	ck_assert_ptr_null(strstr(t, "keygate_http_requests_total{"));
	free(t);
}
END_TEST

/* ---------------------------------------------------------------- allow-list */

static int
allows(const char *list, const char *addr)
{
	struct kg_acl	acl;
	char		why[256] = "";
	int		m;

	ck_assert_msg(kg_acl_parse(&acl, list, why, sizeof(why)) == KG_OK,
	    "\"%s\" refused: %s", list, why);
	m = kg_acl_match(&acl, addr);
	kg_acl_free(&acl);
	return m;
}

START_TEST(acl_ipv4)
{
	ck_assert_int_eq(allows("127.0.0.1", "127.0.0.1"), 1);
	ck_assert_int_eq(allows("127.0.0.1", "127.0.0.2"), 0);
	ck_assert_int_eq(allows("10.0.0.0/8", "10.0.0.0"), 1);
	ck_assert_int_eq(allows("10.0.0.0/8", "10.255.255.255"), 1);
	ck_assert_int_eq(allows("10.0.0.0/8", "11.0.0.0"), 0);
	ck_assert_int_eq(allows("10.0.0.0/8", "9.255.255.255"), 0);
	/* A prefix that does not end on an octet. */
	ck_assert_int_eq(allows("192.168.16.0/20", "192.168.31.255"), 1);
	ck_assert_int_eq(allows("192.168.16.0/20", "192.168.32.0"), 0);
	ck_assert_int_eq(allows("192.168.16.0/20", "192.168.15.255"), 0);
	ck_assert_int_eq(allows("203.0.113.7/31", "203.0.113.6"), 1);
	ck_assert_int_eq(allows("203.0.113.7/31", "203.0.113.8"), 0);
	/* Host bits in the entry are ignored, as in routing tables. */
	ck_assert_int_eq(allows("10.1.2.3/8", "10.9.9.9"), 1);
	ck_assert_int_eq(allows("0.0.0.0/0", "198.51.100.1"), 1);
	ck_assert_int_eq(allows("1.2.3.4/32", "1.2.3.4"), 1);
	ck_assert_int_eq(allows("1.2.3.4/32", "1.2.3.5"), 0);
	/* An IPv4 prefix never matches an IPv6 client. */
	ck_assert_int_eq(allows("0.0.0.0/0", "::1"), 0);
}
END_TEST

START_TEST(acl_ipv6)
{
	ck_assert_int_eq(allows("::1", "::1"), 1);
	ck_assert_int_eq(allows("::1", "0:0:0:0:0:0:0:1"), 1);
	ck_assert_int_eq(allows("::1", "::2"), 0);
	ck_assert_int_eq(allows("fd00::/8", "fdff:ffff::1"), 1);
	ck_assert_int_eq(allows("fd00::/8", "fe00::1"), 0);
	ck_assert_int_eq(allows("2001:db8::/33", "2001:db8:7fff::1"), 1);
	ck_assert_int_eq(allows("2001:db8::/33", "2001:db8:8000::"), 0);
	ck_assert_int_eq(allows("2001:DB8::/32", "2001:db8:ffff::1"), 1);
	ck_assert_int_eq(allows("::/0", "2001:db8::1"), 1);
	ck_assert_int_eq(allows("fe80::1/128", "fe80::1"), 1);
	ck_assert_int_eq(allows("fe80::1/127", "fe80::"), 1);
	ck_assert_int_eq(allows("fe80::1/127", "fe80::2"), 0);
	/* A scoped address is not a plain address. */
	ck_assert_int_eq(allows("fe80::1", "fe80::1%eth0"), 0);
	/* An IPv6 prefix never matches an unrelated IPv4 client. */
	ck_assert_int_eq(allows("fd00::/8", "10.0.0.1"), 0);
}
END_TEST

START_TEST(acl_v4_mapped)
{
	/* A dual-stack web server reports IPv4 clients as ::ffff:a.b.c.d. */
	ck_assert_int_eq(allows("127.0.0.1", "::ffff:127.0.0.1"), 1);
	ck_assert_int_eq(allows("10.0.0.0/8", "::ffff:10.1.2.3"), 1);
	ck_assert_int_eq(allows("10.0.0.0/8", "::ffff:11.1.2.3"), 0);
	/* ... and an entry may be written that way too. */
	ck_assert_int_eq(allows("::ffff:10.0.0.0/104", "10.200.0.1"), 1);
	ck_assert_int_eq(allows("::ffff:10.0.0.0/104", "11.0.0.1"), 0);
	ck_assert_int_eq(allows("::ffff:127.0.0.1", "127.0.0.1"), 1);
	/* An IPv6 prefix that covers the mapped range covers the client. */
	ck_assert_int_eq(allows("::/0", "192.0.2.1"), 1);
	ck_assert_int_eq(allows("::ffff:0:0/96", "192.0.2.1"), 1);
	/* ::1 is not 127.0.0.1. */
	ck_assert_int_eq(allows("::1", "127.0.0.1"), 0);
}
END_TEST

START_TEST(acl_lists_and_bad_clients)
{
	const char	*def = "127.0.0.1 ::1";

	ck_assert_int_eq(allows(def, "127.0.0.1"), 1);
	ck_assert_int_eq(allows(def, "::1"), 1);
	ck_assert_int_eq(allows(def, "10.9.9.9"), 0);
	ck_assert_int_eq(allows("  10.0.0.1\t192.0.2.0/24  ", "192.0.2.99"), 1);
	/* "" allows no one. */
	ck_assert_int_eq(allows("", "127.0.0.1"), 0);
	ck_assert_int_eq(allows("   ", "::1"), 0);
	/* Clients that are not addresses. */
	ck_assert_int_eq(allows(def, ""), 0);
	ck_assert_int_eq(allows(def, "localhost"), 0);
	ck_assert_int_eq(allows(def, "127.0.0.1 "), 0);
	ck_assert_int_eq(allows(def, "127.0.0.1/32"), 0);
	ck_assert_int_eq(allows("0.0.0.0/0", "127.1"), 0);
	{
		struct kg_acl	acl;
		char		why[64];

		ck_assert_int_eq(kg_acl_parse(&acl, def, why, sizeof(why)),
		    KG_OK);
		ck_assert_int_eq(kg_acl_match(&acl, NULL), 0);
		kg_acl_free(&acl);
		kg_acl_free(&acl);	/* twice is harmless */
	}
}
END_TEST

static const char *const acl_bad[] = {
	"localhost", "10.0.0.0/33", "::1/129", "10.0.0.1/", "/8",
	"10.0.0.1/abc", "10.0.0.1/-1", "10.0.0.1/+8", "10.0.0.1/0008",
	"10.0.0.1//8", "10.0.0", "256.0.0.1", "fe80::1%eth0", "1.2.3.4 x",
	"::ffff:1.2.3.4/129", "10.0.0.1/8/8",
};

START_TEST(acl_bad_values)
{
	struct kg_acl	 acl;
	const char	*v = acl_bad[_i];
	char		 why[256] = "";

	ck_assert_int_eq(kg_acl_parse(&acl, v, why, sizeof(why)),
	    KG_ERR_INVALID);
	ck_assert_msg(strstr(why, "bad address") != NULL, "why: %s", why);
	ck_assert_ptr_null(acl.acl_e);
	ck_assert_uint_eq(acl.acl_n, 0);
}
END_TEST

/*
 * Every value the configuration check accepts parses here, and every
 * value it refuses is refused here: a configuration that starts never
 * leaves /metrics unusable.
 */
static const char *const acl_agree[] = {
	"127.0.0.1 ::1", "", "10.0.0.0/8", "10.0.0.1/08", "::/0",
	"::ffff:10.0.0.0/104", "fd00::/8 192.0.2.7", "0.0.0.0/0",
	"10.0.0.0/33", "localhost", "::1/129", "10.0.0.1/", "10.0.0.1/0008",
	"fe80::1%lo", "1.2.3.4/x",
};

START_TEST(acl_agrees_with_config)
{
	struct kg_config	 cfg;
	struct kg_acl		 acl;
	const char		*v = acl_agree[_i];
	char			 text[256], err[512], why[256];
	enum kg_err		 c, a;

	snprintf(text, sizeof(text), "metrics_allow = %s\n", v);
	c = kg_config_load_mem(&cfg, "t.conf", text, strlen(text), err,
	    sizeof(err));
	kg_config_free(&cfg);
	a = kg_acl_parse(&acl, v, why, sizeof(why));
	kg_acl_free(&acl);
	ck_assert_msg((c == KG_OK) == (a == KG_OK),
	    "\"%s\": config %d, acl %d", v, (int)c, (int)a);
}
END_TEST

START_TEST(allowed_cache_follows_the_list)
{
	ck_assert_int_eq(kg_metrics_allowed("127.0.0.1", "127.0.0.1"), 1);
	ck_assert_int_eq(kg_metrics_allowed("127.0.0.1", "10.0.0.1"), 0);
	/* Another list is parsed anew, not answered from the old one. */
	ck_assert_int_eq(kg_metrics_allowed("10.0.0.0/8", "10.0.0.1"), 1);
	ck_assert_int_eq(kg_metrics_allowed("10.0.0.0/8", "127.0.0.1"), 0);
	/* A list that does not parse allows no one. */
	ck_assert_int_eq(kg_metrics_allowed("nonsense", "127.0.0.1"), 0);
	ck_assert_int_eq(kg_metrics_allowed(NULL, "127.0.0.1"), 0);
	ck_assert_int_eq(kg_metrics_allowed("::1", "::1"), 1);
}
END_TEST

/* ---------------------------------------------------------------- the route */

START_TEST(route_table_fits)
{
	size_t	n = 0;

	while (kg_routes[n].method != NULL)
		n++;
	ck_assert_msg(n <= KG_METRICS_ROUTES, "%zu routes: raise "
	    "KG_METRICS_ROUTES", n);
}
END_TEST

static struct kg_config		cfg;
static struct kg_ctx		ctx;
static struct kg_response	resp;

static void
route_setup(void)
{
	char	err[256];

	ck_assert_int_eq(kg_config_load_mem(&cfg, "t.conf", "", 0, err,
	    sizeof(err)), KG_OK);
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	memset(&resp, 0, sizeof(resp));
}

static void
route_teardown(void)
{
	kg_resp_free(&resp);
	kg_config_free(&cfg);
}

static size_t
get(const char *path, const char *addr)
{
	struct kg_request	req;

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = path;
	req.query = "";
	req.body = "";
	req.remote_addr = addr;
	return kg_dispatch(&ctx, &req, &resp);
}

START_TEST(metrics_route_allowed)
{
	char	want[256];
	size_t	rt;

	kg_metrics_reset();
	kg_metrics_request(0, 200, 5);
	rt = get("/metrics", "127.0.0.1");
	ck_assert_uint_ne(rt, KG_ROUTE_NONE);
	ck_assert_str_eq(kg_routes[rt].pattern, "/metrics");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type,
	    "text/plain; version=0.0.4; charset=utf-8");
	/* Slot 0 is labelled with the first route of the real table. */
	snprintf(want, sizeof(want), "keygate_http_requests_total{method=\"%s\","
	    "route=\"%s\",code=\"200\"} 1\n", kg_routes[0].method,
	    kg_routes[0].pattern);
	ck_assert_msg(strstr(kg_buf_str(&resp.body), want) != NULL, "%s",
	    kg_buf_str(&resp.body));
	get("/metrics", "::1");
	ck_assert_int_eq(resp.status, 200);
}
END_TEST

START_TEST(metrics_route_forbidden)
{
	get("/metrics", "10.9.9.9");
	ck_assert_int_eq(resp.status, 403);
	ck_assert_str_eq(resp.content_type, "application/json; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body),
	    "\"error\":\"forbidden\""));
	ck_assert_ptr_null(strstr(kg_buf_str(&resp.body), "keygate_"));
	get("/metrics", "");
	ck_assert_int_eq(resp.status, 403);
	/* metrics_allow = "" is nobody, loopback included. */
	free(cfg.metrics_allow);
	cfg.metrics_allow = strdup("");
	ck_assert_ptr_nonnull(cfg.metrics_allow);
	get("/metrics", "127.0.0.1");
	ck_assert_int_eq(resp.status, 403);
	/* Other methods: 405 like every route, and no route counted. */
	{
		struct kg_request	req;

		memset(&req, 0, sizeof(req));
		req.method = "POST";
		req.path = "/metrics";
		req.query = "";
		req.body = "";
		req.remote_addr = "127.0.0.1";
		ck_assert_uint_eq(kg_dispatch(&ctx, &req, &resp),
		    KG_ROUTE_NONE);
		ck_assert_int_eq(resp.status, 405);
	}
	ck_assert_uint_eq(get("/no/such", "127.0.0.1"), KG_ROUTE_NONE);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc;

	tc = tcase_create("render");
	tcase_add_test(tc, bucket_bounds_are_inclusive);
	tcase_add_test(tc, histogram_is_cumulative);
	tcase_add_test(tc, requests_by_route_and_code);
	tcase_add_test(tc, text_format_shape);
	tcase_add_test(tc, label_values_are_escaped);
	tcase_add_test(tc, db_and_worker_counters);
	tcase_add_test(tc, private_without_share);
	tcase_add_test(tc, shared_across_processes);
	suite_add_tcase(s, tc);

	tc = tcase_create("acl");
	tcase_add_test(tc, acl_ipv4);
	tcase_add_test(tc, acl_ipv6);
	tcase_add_test(tc, acl_v4_mapped);
	tcase_add_test(tc, acl_lists_and_bad_clients);
	tcase_add_loop_test(tc, acl_bad_values, 0,
	    (int)(sizeof(acl_bad) / sizeof(acl_bad[0])));
	tcase_add_loop_test(tc, acl_agrees_with_config, 0,
	    (int)(sizeof(acl_agree) / sizeof(acl_agree[0])));
	tcase_add_test(tc, allowed_cache_follows_the_list);
	suite_add_tcase(s, tc);

	tc = tcase_create("route");
	tcase_add_checked_fixture(tc, route_setup, route_teardown);
	tcase_add_test(tc, route_table_fits);
	tcase_add_test(tc, metrics_route_allowed);
	tcase_add_test(tc, metrics_route_forbidden);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(metrics_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
