/*
 * check_siwe.c: RFC 3339 date-times (core/base/timefmt) and EIP-4361
 * messages (core/crypto/siwe) of SPEC 4.
 *
 * Independent references: the expected epoch values were computed with
 * Python's calendar.timegm, the calendar is cross-checked against libc's
 * gmtime_r, and the EIP-4361 cases are the reference TypeScript library's
 * own vectors (tests/vectors/siwe/, read from $top_srcdir), compared field
 * by field and rendered by this file's own template, not by kg_siwe_format.
 * Signatures in the verification vectors are checked through keygate's
 * EIP-191 recovery (vectors_verification_signatures).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <check.h>
#include <json-c/json.h>

#include "core/base/buf.h"
#include "core/base/timefmt.h"
#include "core/crypto/eth.h"
#include "core/crypto/siwe.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define SEC		INT64_C(1000000)

/* ------------------------------------------------------------ timefmt */

static int64_t
tparse(const char *s)
{
	int64_t	us = INT64_C(0x5a5a5a5a);

	ck_assert_msg(kg_time_parse_rfc3339(s, strlen(s), &us) == KG_OK,
	    "refused \"%s\"", s);
	return us;
}

START_TEST(time_parse_valid)
{
	static const struct {
		const char	*s;
		int64_t		 us;
	} cases[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-11-22T10:42:40Z", 1795344160 * SEC },
		/* RFC 3339 5.6 NOTE: 't' and 'z' may be lower case. */
		{ "2026-11-22t10:42:40z", 1795344160 * SEC },
		{ "2026-11-22T10:42:40.000Z", 1795344160 * SEC },
		{ "2026-11-22T10:42:40.5Z", 1795344160 * SEC + 500000 },
		{ "2026-11-22T10:42:40.000001Z", 1795344160 * SEC + 1 },
		/* Fractions past microseconds are truncated. */
		{ "2026-11-22T10:42:40.123456789Z", 1795344160 * SEC + 123456 },
		{ "2026-11-22T10:42:40.9999999999999999999999Z",
		    1795344160 * SEC + 999999 },
		{ "2026-11-22T12:42:40+02:00", 1795344160 * SEC },
		{ "2026-11-22T05:12:40-05:30", 1795344160 * SEC },
		{ "2026-11-23T00:12:40+13:30", 1795344160 * SEC },
		{ "2026-11-22T10:42:40+00:00", 1795344160 * SEC },
		{ "2026-11-22T10:42:40-00:00", 1795344160 * SEC },
		{ "2026-11-21T10:43:40-23:59", 1795344160 * SEC },
		{ "2021-09-30T16:25:24-02:00", 1633026324 * SEC },
		{ "2000-02-29T00:00:00Z", 951782400 * SEC },
		{ "2024-02-29T23:59:59Z", 1709251199 * SEC },
		{ "1969-12-31T23:59:59Z", -1 * SEC },
		{ "1969-12-31T23:59:59.999999Z", -1 },
		{ "1900-03-01T00:00:00Z", -2203891200 * SEC },
		{ "1600-02-29T12:00:00Z", -11670955200 * SEC },
		{ "0000-01-01T00:00:00Z", -62167219200 * SEC },
		{ "9999-12-31T23:59:59Z", 253402300799 * SEC },
		/* Offsets may carry a local time outside 0000-9999 in UTC. */
		{ "0000-01-01T00:00:00+01:00", (-62167219200 - 3600) * SEC },
		/* Leap seconds, only at 23:59:60 UTC: the next day's first. */
		{ "2016-12-31T23:59:60Z", 1483228800 * SEC },
		{ "2016-12-31T23:59:60.5Z", 1483228800 * SEC + 500000 },
		{ "1990-12-31T15:59:60-08:00", 662688000 * SEC },
		{ "2017-01-01T00:29:60+00:30", 1483228800 * SEC },
	};
	size_t	i;

	for (i = 0; i < NITEMS(cases); i++)
		ck_assert_msg(tparse(cases[i].s) == cases[i].us,
		    "\"%s\": %" PRId64 " != %" PRId64, cases[i].s,
		    tparse(cases[i].s), cases[i].us);
}
END_TEST

START_TEST(time_parse_invalid)
{
	static const char *const bad[] = {
		"",
		"2026-11-22",
		"2026-11-22T10:42Z",
		"2026-11-22T10:42:40",			/* no offset */
		"2026-11-22 10:42:40Z",			/* space separator */
		"2026-11-22_10:42:40Z",
		"2026-11-22X10:42:40Z",
		"2026-11-22T10:42:40ZZ",
		"2026-11-22T10:42:40Z ",		/* trailing garbage */
		" 2026-11-22T10:42:40Z",
		"2026-11-22T10:42:40Z\n",
		"2026-11-22T10:42:40.Z",		/* empty fraction */
		"2026-11-22T10:42:40,5Z",
		"2026-11-22T10:42:40.123",
		"2026-11-22T10:42:40.12a3Z",
		"2026-11-22T10:42:40+0200",
		"2026-11-22T10:42:40+02",
		"2026-11-22T10:42:40+2:00",
		"2026-11-22T10:42:40+02:0",
		"2026-11-22T10:42:40+02:00:00",
		"2026-11-22T10:42:40-",
		"2026-11-22T10:42:40+24:00",
		"2026-11-22T10:42:40+02:60",
		"2026-11-22T10:42:40Z+02:00",
		"2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z",
		"2026-01-00T00:00:00Z",
		"2026-01-32T00:00:00Z",
		"2026-04-31T00:00:00Z",
		"2026-06-31T00:00:00Z",
		"2026-09-31T00:00:00Z",
		"2026-11-31T00:00:00Z",
		"2022-02-31T17:09:38.578Z",
		"2023-02-29T00:00:00Z",			/* not a leap year */
		"2100-02-29T00:00:00Z",			/* century */
		"1900-02-29T00:00:00Z",
		"2026-11-22T24:00:00Z",
		"2026-11-22T10:60:00Z",
		"2026-11-22T10:42:61Z",
		"2026-11-22T10:42:99Z",
		"2026-11-22T10:42:60Z",			/* leap second mid-day */
		"2016-12-31T23:59:60+01:00",		/* 22:59:60 UTC */
		"2016-12-31T23:58:60Z",
		"26-11-22T10:42:40Z",
		"+2026-11-22T10:42:40Z",
		"-2026-11-22T10:42:40Z",
		"20261-11-22T10:42:40Z",
		"2026-1-22T10:42:40Z",
		"2026-11-2T10:42:40Z",
		"2026-11-22T1:42:40Z",
		"2026-11-22T10:4:40Z",
		"2026-11-22T10:42:4Z",
		"2026-11-22T10:42:4aZ",
		"2026/11/22T10:42:40Z",
		"2026-11-22T10-42-40Z",
		"20261122T104240Z",
		"2026-W47-7T10:42:40Z",
		"2026-326T10:42:40Z",
		"Wed Oct 05 2011 16:48:00 GMT+0200 (CEST)",
		"2026-11-22T10:42:40\xc2\xa0Z",
	};
	int64_t	us = 42;
	size_t	i;

	for (i = 0; i < NITEMS(bad); i++) {
		ck_assert_msg(kg_time_parse_rfc3339(bad[i], strlen(bad[i]),
		    &us) == KG_ERR_INVALID, "accepted \"%s\"", bad[i]);
		ck_assert_int_eq(us, 42);	/* left alone */
	}
	/* Only len bytes are read: no NUL needed, nothing beyond looked at. */
	ck_assert_int_eq(kg_time_parse_rfc3339("2026-11-22T10:42:40Zjunk", 20,
	    &us), KG_OK);
	ck_assert_int_eq(us, 1795344160 * SEC);
	ck_assert_int_eq(kg_time_parse_rfc3339("2026-11-22T10:42:40Z", 19,
	    &us), KG_ERR_INVALID);
	ck_assert_int_eq(kg_time_parse_rfc3339("2026-11-22T10:42:40.5Z", 21,
	    &us), KG_ERR_INVALID);
	ck_assert_int_eq(kg_time_parse_rfc3339("2026-11-22T10:42:40\0Z", 21,
	    &us), KG_ERR_INVALID);
}
END_TEST

START_TEST(time_leap_years)
{
	static const struct {
		int	year;
		int	leap;
	} years[] = {
		{ 2024, 1 }, { 2000, 1 }, { 1600, 1 }, { 2400, 1 }, { 0, 1 },
		{ 4, 1 }, { 2023, 0 }, { 2100, 0 }, { 1900, 0 }, { 2200, 0 },
		{ 1, 0 }, { 9999, 0 }, { 9996, 1 },
	};
	char	s[32];
	int64_t	us;
	size_t	i;

	for (i = 0; i < NITEMS(years); i++) {
		snprintf(s, sizeof(s), "%04d-02-29T00:00:00Z", years[i].year);
		ck_assert_msg((kg_time_parse_rfc3339(s, strlen(s), &us) ==
		    KG_OK) == years[i].leap, "%s", s);
		snprintf(s, sizeof(s), "%04d-02-28T00:00:00Z", years[i].year);
		ck_assert_int_eq(kg_time_parse_rfc3339(s, strlen(s), &us),
		    KG_OK);
		snprintf(s, sizeof(s), "%04d-02-30T00:00:00Z", years[i].year);
		ck_assert_int_eq(kg_time_parse_rfc3339(s, strlen(s), &us),
		    KG_ERR_INVALID);
	}
}
END_TEST

START_TEST(time_format)
{
	static const struct {
		int64_t		 us;
		const char	*plain, *millis;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z" },
		{ 1795344160 * SEC, "2026-11-22T10:42:40Z",
		    "2026-11-22T10:42:40.000Z" },
		{ 1795344160 * SEC + 123999, "2026-11-22T10:42:40Z",
		    "2026-11-22T10:42:40.123Z" },
		/* Truncation is toward the past, also before 1970. */
		{ -1, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.999Z" },
		{ -1 * SEC, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.000Z" },
		{ 951782400 * SEC, "2000-02-29T00:00:00Z",
		    "2000-02-29T00:00:00.000Z" },
		{ -62167219200 * SEC, "0000-01-01T00:00:00Z",
		    "0000-01-01T00:00:00.000Z" },
		{ 253402300799 * SEC + 999999, "9999-12-31T23:59:59Z",
		    "9999-12-31T23:59:59.999Z" },
	};
	static const int64_t out_of_range[] = {
		-62167219200 * SEC - 1, 253402300800 * SEC, INT64_MIN,
		INT64_MAX,
	};
	char	out[KG_TIME_RFC3339_MAX];
	size_t	i;

	for (i = 0; i < NITEMS(cases); i++) {
		ck_assert_int_eq(kg_time_format_rfc3339(cases[i].us, out, 0),
		    KG_OK);
		ck_assert_str_eq(out, cases[i].plain);
		ck_assert_int_eq(kg_time_format_rfc3339(cases[i].us, out, 1),
		    KG_OK);
		ck_assert_str_eq(out, cases[i].millis);
	}
	for (i = 0; i < NITEMS(out_of_range); i++) {
		memcpy(out, "x", 2);
		ck_assert_int_eq(kg_time_format_rfc3339(out_of_range[i], out,
		    i % 2), KG_ERR_INVALID);
		ck_assert_str_eq(out, "");
	}
}
END_TEST

/*
 * Every day from 1600 to 2400 (three century non-leap years, two 400-year
 * leap years): the formatted date is libc's gmtime_r's, and parsing it
 * gives the instant back.
 */
START_TEST(time_calendar_against_libc)
{
	char		out[KG_TIME_RFC3339_MAX], want[80];
	struct tm	tm;
	time_t		t;
	int64_t		s, us, day, n = 0;

	/* Check's assertions are slow (each writes to a pipe): test plainly
	 * in the loop and assert once. */
	ck_assert_uint_ge(sizeof(time_t), 8);
	for (day = -135140; day < 157420; day++) {
		/* 1600-01-01 to 2400-12-31, at a time of day that varies. */
		s = day * 86400 + (day * 3601 % 86400 + 86400) % 86400;
		t = (time_t)s;
		if (gmtime_r(&t, &tm) == NULL)
			ck_abort_msg("gmtime_r(%" PRId64 ")", s);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		if (kg_time_format_rfc3339(s * SEC, out, 0) != KG_OK ||
		    strcmp(out, want) != 0 ||
		    kg_time_parse_rfc3339(out, strlen(out), &us) != KG_OK ||
		    us != s * SEC)
			ck_abort_msg("%" PRId64 ": \"%s\", libc \"%s\"", s,
			    out, want);
		n++;
	}
	ck_assert_int_eq(n, 292560);	/* 801 years of days */
}
END_TEST

START_TEST(time_round_trip_millis)
{
	char		out[KG_TIME_RFC3339_MAX];
	uint64_t	x = 88172645463325252u;
	int64_t		us, back, lo = -62167219200 * SEC,
			span = 253402300800 * SEC - lo;
	int		i;

	for (i = 0; i < 100000; i++) {
		/* xorshift64: a spread of instants over 0000-9999. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		us = lo + (int64_t)(x % (uint64_t)span);
		if (kg_time_format_rfc3339(us, out, 1) != KG_OK ||
		    kg_time_parse_rfc3339(out, strlen(out), &back) != KG_OK ||
		    back != us - (us % 1000 + 1000) % 1000)
			ck_abort_msg("%" PRId64 ": \"%s\"", us, out);
	}
}
END_TEST

/* ------------------------------------------------------------ vectors */

static struct json_object *
load(const char *name)
{
	const char		*top = getenv("top_srcdir");
	char			 path[4096];
	struct json_object	*o;

	/* make check exports it; running by hand: top_srcdir=... ./check_siwe */
	if (top == NULL || *top == '\0')
		ck_abort_msg("top_srcdir is not set: cannot find "
		    "tests/vectors/siwe/%s", name);
	snprintf(path, sizeof(path), "%s/tests/vectors/siwe/%s", top, name);
	o = json_object_from_file(path);
	ck_assert_msg(o != NULL, "cannot read %s", path);
	ck_assert(json_object_is_type(o, json_type_object));
	ck_assert_int_gt(json_object_object_length(o), 0);
	return o;
}

static const char *
jstr(struct json_object *fields, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(fields, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return NULL;
	ck_assert_msg(json_object_is_type(v, json_type_string), "%s", key);
	return json_object_get_string(v);
}

/* The members a fields object may have (the last four: verification). */
static const char *const known_keys[] = {
	"scheme", "domain", "address", "statement", "uri", "version",
	"chainId", "nonce", "issuedAt", "expirationTime", "notBefore",
	"requestId", "resources",
	"signature", "time", "domainBinding", "matchNonce",
};

static void
check_known_keys(const char *name, struct json_object *fields)
{
	size_t	i;

	json_object_object_foreach(fields, key, val) {
		(void)val;
		for (i = 0; i < NITEMS(known_keys); i++)
			if (strcmp(key, known_keys[i]) == 0)
				break;
		ck_assert_msg(i < NITEMS(known_keys), "%s: unknown member %s",
		    name, key);
	}
}

/*
 * Fills sw from a vector's fields.  Strings point into fields.  Returns 0
 * when a value cannot be represented at all (a chainId that is not an
 * integer), which is then the vector's refusal.
 */
static int
from_fields(struct json_object *fields, struct kg_siwe *sw)
{
	struct json_object	*v, *arr;
	const char		*s;
	size_t			 i;

	memset(sw, 0, sizeof(*sw));
	kg_siwe_str_set(&sw->sw_scheme, jstr(fields, "scheme"));
	kg_siwe_str_set(&sw->sw_domain, jstr(fields, "domain"));
	kg_siwe_str_set(&sw->sw_address, jstr(fields, "address"));
	kg_siwe_str_set(&sw->sw_statement, jstr(fields, "statement"));
	kg_siwe_str_set(&sw->sw_uri, jstr(fields, "uri"));
	if ((s = jstr(fields, "version")) != NULL)
		sw->sw_version = (unsigned int)strtoul(s, NULL, 10);
	if (json_object_object_get_ex(fields, "chainId", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 0)
			return 0;
		sw->sw_chain_id = (uint64_t)json_object_get_int64(v);
	}
	kg_siwe_str_set(&sw->sw_nonce, jstr(fields, "nonce"));
	kg_siwe_str_set(&sw->sw_issued_at, jstr(fields, "issuedAt"));
	kg_siwe_str_set(&sw->sw_expiration_time,
	    jstr(fields, "expirationTime"));
	kg_siwe_str_set(&sw->sw_not_before, jstr(fields, "notBefore"));
	kg_siwe_str_set(&sw->sw_request_id, jstr(fields, "requestId"));
	if (json_object_object_get_ex(fields, "resources", &arr) &&
	    !json_object_is_type(arr, json_type_null)) {
		ck_assert(json_object_is_type(arr, json_type_array));
		ck_assert_uint_le(json_object_array_length(arr),
		    KG_SIWE_MAX_RESOURCES);
		sw->sw_has_resources = 1;
		sw->sw_nresources = json_object_array_length(arr);
		for (i = 0; i < sw->sw_nresources; i++)
			kg_siwe_str_set(&sw->sw_resources[i],
			    json_object_get_string(
			    json_object_array_get_idx(arr, i)));
	}
	return 1;
}

/*
 * This file's own rendering of a fields object, after the EIP's informal
 * template: a line for each field present, none for one absent.
 */
static void
render(struct json_object *f, struct kg_buf *b)
{
	static const struct {
		const char	*tag, *key;
	} opt[] = {
		{ "\nExpiration Time: ", "expirationTime" },
		{ "\nNot Before: ", "notBefore" },
		{ "\nRequest ID: ", "requestId" },
	};
	struct json_object	*v, *arr;
	const char		*s;
	size_t			 i;

	kg_buf_reset(b);
	if ((s = jstr(f, "scheme")) != NULL)
		kg_buf_printf(b, "%s://", s);
	if ((s = jstr(f, "domain")) != NULL)
		kg_buf_puts(b, s);
	kg_buf_puts(b, " wants you to sign in with your Ethereum account:\n");
	if ((s = jstr(f, "address")) != NULL)
		kg_buf_puts(b, s);
	kg_buf_puts(b, "\n\n");
	if ((s = jstr(f, "statement")) != NULL)
		kg_buf_printf(b, "%s\n", s);
	if ((s = jstr(f, "uri")) != NULL)
		kg_buf_printf(b, "\nURI: %s", s);
	if ((s = jstr(f, "version")) != NULL)
		kg_buf_printf(b, "\nVersion: %s", s);
	if (json_object_object_get_ex(f, "chainId", &v))
		kg_buf_printf(b, "\nChain ID: %s", json_object_get_string(v));
	if ((s = jstr(f, "nonce")) != NULL)
		kg_buf_printf(b, "\nNonce: %s", s);
	if ((s = jstr(f, "issuedAt")) != NULL)
		kg_buf_printf(b, "\nIssued At: %s", s);
	for (i = 0; i < NITEMS(opt); i++)
		if ((s = jstr(f, opt[i].key)) != NULL)
			kg_buf_printf(b, "%s%s", opt[i].tag, s);
	if (json_object_object_get_ex(f, "resources", &arr)) {
		kg_buf_puts(b, "\nResources:");
		for (i = 0; i < json_object_array_length(arr); i++)
			kg_buf_printf(b, "\n- %s", json_object_get_string(
			    json_object_array_get_idx(arr, i)));
	}
}

static void
assert_str(const char *name, const char *what, const struct kg_siwe_str *got,
    const char *want)
{
	if (want == NULL)
		ck_assert_msg(got->ss_ptr == NULL, "%s: %s present: \"%.*s\"",
		    name, what, (int)got->ss_len, got->ss_ptr);
	else
		ck_assert_msg(kg_siwe_str_eq(got, want),
		    "%s: %s \"%.*s\" != \"%s\"", name, what,
		    got->ss_ptr != NULL ? (int)got->ss_len : 6,
		    got->ss_ptr != NULL ? got->ss_ptr : "absent", want);
}

/* Every field of sw is what fields lists, and nothing else is present. */
static void
assert_fields(const char *name, const struct kg_siwe *sw,
    struct json_object *f)
{
	struct json_object	*v, *arr;
	char			 sum[KG_ETH_ADDR_STRLEN];
	int64_t			 us;
	size_t			 i;

	assert_str(name, "scheme", &sw->sw_scheme, jstr(f, "scheme"));
	assert_str(name, "domain", &sw->sw_domain, jstr(f, "domain"));
	assert_str(name, "address", &sw->sw_address, jstr(f, "address"));
	kg_eth_address_checksum(sw->sw_addr, sum);
	assert_str(name, "address bytes", &sw->sw_address, sum);
	assert_str(name, "statement", &sw->sw_statement, jstr(f, "statement"));
	assert_str(name, "uri", &sw->sw_uri, jstr(f, "uri"));
	ck_assert_str_eq(jstr(f, "version"), "1");
	ck_assert_uint_eq(sw->sw_version, KG_SIWE_VERSION);
	ck_assert(json_object_object_get_ex(f, "chainId", &v));
	ck_assert_uint_eq(sw->sw_chain_id, (uint64_t)json_object_get_int64(v));
	assert_str(name, "nonce", &sw->sw_nonce, jstr(f, "nonce"));
	assert_str(name, "issuedAt", &sw->sw_issued_at, jstr(f, "issuedAt"));
	assert_str(name, "expirationTime", &sw->sw_expiration_time,
	    jstr(f, "expirationTime"));
	assert_str(name, "notBefore", &sw->sw_not_before,
	    jstr(f, "notBefore"));
	assert_str(name, "requestId", &sw->sw_request_id,
	    jstr(f, "requestId"));
	/* The parsed instants are those of the texts. */
	us = tparse(jstr(f, "issuedAt"));
	ck_assert_int_eq(sw->sw_issued_at_us, us);
	if (sw->sw_expiration_time.ss_ptr != NULL)
		ck_assert_int_eq(sw->sw_expiration_us,
		    tparse(jstr(f, "expirationTime")));
	if (sw->sw_not_before.ss_ptr != NULL)
		ck_assert_int_eq(sw->sw_not_before_us,
		    tparse(jstr(f, "notBefore")));
	if (!json_object_object_get_ex(f, "resources", &arr)) {
		ck_assert_int_eq(sw->sw_has_resources, 0);
		ck_assert_uint_eq(sw->sw_nresources, 0);
		return;
	}
	ck_assert_int_eq(sw->sw_has_resources, 1);
	ck_assert_uint_eq(sw->sw_nresources, json_object_array_length(arr));
	for (i = 0; i < sw->sw_nresources; i++)
		assert_str(name, "resource", &sw->sw_resources[i],
		    json_object_get_string(json_object_array_get_idx(arr, i)));
}

/* format(parse(msg)) == msg, and the struct from format parses the same. */
static void
assert_round_trip(const char *name, const char *msg, size_t len,
    const struct kg_siwe *sw)
{
	struct kg_buf	b = KG_BUF_INIT;
	struct kg_siwe	again;

	ck_assert_msg(kg_siwe_format(sw, &b) == KG_OK, "%s: format", name);
	ck_assert_uint_eq(b.b_len, len);
	ck_assert_msg(memcmp(b.b_data, msg, len) == 0, "%s: \"%s\"", name,
	    kg_buf_str(&b));
	ck_assert_int_eq(kg_siwe_parse(b.b_data, b.b_len, &again), KG_OK);
	kg_buf_free(&b);
}

/*
 * The 2026 erratum of EIP-4361 (SPEC 4) forbids "userinfo@" in the domain;
 * the reference library, written before it, accepts these.  keygate must
 * refuse them (400 invalid_message).
 */
static const char *const erratum_refused[] = {
	"domain is RFC 3986 authority with userinfo",
	"domain is RFC 3986 authority with userinfo and port",
};

static int
is_erratum_case(const char *name)
{
	size_t	i;

	for (i = 0; i < NITEMS(erratum_refused); i++)
		if (strcmp(name, erratum_refused[i]) == 0)
			return 1;
	return 0;
}

START_TEST(vectors_parsing_positive)
{
	struct json_object	*root = load("parsing_positive.json"), *msg,
				*f;
	struct kg_buf		 b = KG_BUF_INIT;
	struct kg_siwe		 sw, built;
	const char		*m;
	size_t			 len, n = 0, refused = 0;

	json_object_object_foreach(root, name, c) {
		ck_assert(json_object_object_get_ex(c, "message", &msg));
		ck_assert(json_object_object_get_ex(c, "fields", &f));
		check_known_keys(name, f);
		m = json_object_get_string(msg);
		len = (size_t)json_object_get_string_len(msg);
		if (is_erratum_case(name)) {
			ck_assert_msg(kg_siwe_parse(m, len, &sw) ==
			    KG_ERR_INVALID, "%s: accepted", name);
			ck_assert_ptr_nonnull(strstr(sw.sw_why, "userinfo"));
			ck_assert_int_eq(from_fields(f, &built), 1);
			ck_assert_int_eq(kg_siwe_format(&built, &b),
			    KG_ERR_INVALID);
			refused++;
			continue;
		}
		ck_assert_msg(kg_siwe_parse(m, len, &sw) == KG_OK,
		    "%s: refused: %s", name, sw.sw_why);
		ck_assert_ptr_null(sw.sw_why);
		assert_fields(name, &sw, f);
		assert_round_trip(name, m, len, &sw);
		/* From the listed fields alone, format writes the message. */
		ck_assert_int_eq(from_fields(f, &built), 1);
		ck_assert_int_eq(kg_siwe_format(&built, &b), KG_OK);
		ck_assert_str_eq(kg_buf_str(&b), m);
		kg_buf_reset(&b);
		n++;
	}
	ck_assert_uint_eq(refused, NITEMS(erratum_refused));
	ck_assert_uint_eq(n, 17);
	kg_buf_free(&b);
	json_object_put(root);
}
END_TEST

/*
 * Why each negative case must be refused (a word of kg_siwe_parse's
 * reason), so that none passes for an unrelated reason.  The object cases
 * share these names.
 */
static const struct {
	const char	*name, *why;
} negative_why[] = {
	{ "missing domain", "domain" },
	{ "missing address", "address" },
	{ "missing uri", "\"URI: \"" },
	{ "missing version", "\"Version: \"" },
	{ "missing chainId", "\"Chain ID: \"" },
	{ "missing nonce", "\"Nonce: \"" },
	{ "missing issuedAt", "\"Issued At: \"" },
	{ "out of order uri", "\"URI: \"" },
	{ "out of order version", "\"Version: \"" },
	{ "out of order chainId", "\"Chain ID: \"" },
	{ "out of order nonce", "\"Nonce: \"" },
	{ "out of order issuedAt", "\"Issued At: \"" },
	{ "out of order expirationTime", "unexpected line" },
	{ "out of order notBefore", "unexpected line" },
	{ "out of order requestId", "unexpected line" },
	{ "out of order resources", "unexpected line" },
	{ "domain not RFC4501 authority", "domain" },
	{ "address not EIP-55", "EIP-55" },
	{ "statement has line break", "after the statement" },
	{ "uri is non-RFC 3986", "URI is not" },
	{ "version not 1", "version" },
	{ "not a valid chainId", "chain ID" },
	{ "nonce with less then 8 chars", "nonce" },
	{ "non-ISO 8601 issuedAt", "Issued At is not" },
	{ "non-ISO 8601 expirationTime", "Expiration Time is not" },
	{ "non-ISO 8601 notBefore", "Not Before is not" },
	{ "resources not separated by line break", "resource is not" },
	{ "first resource not-RFC 3986", "resource is not" },
	{ "second resource is not-RFC3986", "resource is not" },
};

static void
assert_refused_for(const char *name, const char *msg, size_t len)
{
	struct kg_siwe	 sw;
	const char	*why = "";
	size_t		 i;
	int		 listed = 0;

	for (i = 0; i < NITEMS(negative_why); i++)
		if (strcmp(negative_why[i].name, name) == 0) {
			why = negative_why[i].why;
			listed = 1;
		}
	ck_assert_msg(listed, "%s: not listed", name);
	ck_assert_msg(kg_siwe_parse(msg, len, &sw) == KG_ERR_INVALID,
	    "%s: accepted", name);
	ck_assert_msg(strstr(sw.sw_why, why) != NULL,
	    "%s: refused for another reason: %s", name, sw.sw_why);
}

START_TEST(vectors_parsing_negative)
{
	struct json_object	*root = load("parsing_negative.json");
	size_t			 n = 0;

	json_object_object_foreach(root, name, msg) {
		assert_refused_for(name, json_object_get_string(msg),
		    (size_t)json_object_get_string_len(msg));
		n++;
	}
	ck_assert_uint_eq(n, 29);
	json_object_put(root);
}
END_TEST

/*
 * An object case is a set of fields from which no valid message can be
 * built.  Both ways of building one must fail: kg_siwe_format refuses the
 * struct (or the value cannot even be put in it: a chainId of "?"), and
 * the message this file renders from the fields is refused by the parser.
 */
START_TEST(vectors_parsing_negative_objects)
{
	struct json_object	*root = load("parsing_negative_objects.json");
	struct kg_buf		 b = KG_BUF_INIT, text = KG_BUF_INIT;
	struct kg_siwe		 sw;
	size_t			 n = 0, unrepresentable = 0;

	json_object_object_foreach(root, name, f) {
		check_known_keys(name, f);
		if (from_fields(f, &sw))
			ck_assert_msg(kg_siwe_format(&sw, &b) ==
			    KG_ERR_INVALID, "%s: formatted \"%s\"", name,
			    kg_buf_str(&b));
		else
			unrepresentable++;
		ck_assert_uint_eq(b.b_len, 0);
		render(f, &text);
		assert_refused_for(name, text.b_data, text.b_len);
		n++;
	}
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(unrepresentable, 1);	/* "not a valid chainId" */
	kg_buf_free(&b);
	kg_buf_free(&text);
	json_object_put(root);
}
END_TEST

/* What keygate answers for a verification vector, apart from signatures. */
enum outcome {
	OUT_OK = 0,		/* the message checks pass */
	OUT_INVALID_MESSAGE,	/* 400 invalid_message: unparseable */
	OUT_EXPIRED,		/* 401 message_expired */
	OUT_NOT_YET_VALID,	/* 401 message_not_yet_valid */
	OUT_DOMAIN_MISMATCH,	/* 401 message_mismatch (siwe_domain) */
	OUT_NONCE_MISMATCH,	/* 401 message_mismatch (body nonce) */
	OUT_SIGNATURE,		/* message fine; the signature decides */
	OUT__MAX		/* not listed */
};

static const struct {
	const char	*file, *name;
	enum outcome	 expect;
} verification[] = {
	{ "verification_positive.json", "example message", OUT_OK },
	{ "verification_positive.json", "not yet valid", OUT_OK },
	/*
	 * Verified at 2020-01-05 the reference library accepts it; its Issued
	 * At (2022-01-05) is then in the future, which SPEC 4 refuses.
	 */
	{ "verification_positive.json", "expired message", OUT_NOT_YET_VALID },
	{ "verification_positive.json", "recovery byte starting at 0", OUT_OK },
	{ "verification_negative.json", "expired message", OUT_EXPIRED },
	{ "verification_negative.json", "domain binding", OUT_DOMAIN_MISMATCH },
	{ "verification_negative.json", "custom time", OUT_EXPIRED },
	{ "verification_negative.json", "custom nonce", OUT_NONCE_MISMATCH },
	{ "verification_negative.json", "malformed signature", OUT_SIGNATURE },
	{ "verification_negative.json", "wrong signature", OUT_SIGNATURE },
	{ "verification_negative.json", "not yet valid", OUT_NOT_YET_VALID },
	{ "verification_negative.json", "invalid issuedAt", OUT_INVALID_MESSAGE },
	{ "verification_negative.json", "invalid notBefore",
	    OUT_INVALID_MESSAGE },
	{ "verification_negative.json", "invalid expirationTime",
	    OUT_INVALID_MESSAGE },
};

static int64_t
now_us(void)
{
	struct timeval	tv;

	ck_assert_int_eq(gettimeofday(&tv, NULL), 0);
	return (int64_t)tv.tv_sec * SEC + tv.tv_usec;
}

/* Applies keygate's non-signature checks to one verification vector. */
static enum outcome
verify_fields(const char *name, struct json_object *f)
{
	struct kg_buf	 b = KG_BUF_INIT, text = KG_BUF_INIT;
	struct kg_siwe	 sw, parsed;
	const char	*s;
	int64_t		 at;
	enum outcome	 o = OUT_INVALID_MESSAGE;

	check_known_keys(name, f);
	ck_assert_int_eq(from_fields(f, &sw), 1);
	render(f, &text);
	if (kg_siwe_format(&sw, &b) != KG_OK) {
		/* Refused by format: refused by the parser as well. */
		ck_assert_int_eq(kg_siwe_parse(text.b_data, text.b_len,
		    &parsed), KG_ERR_INVALID);
		goto out;
	}
	/* format agrees with the template, and parses back to the fields. */
	ck_assert_str_eq(kg_buf_str(&b), kg_buf_str(&text));
	ck_assert_int_eq(kg_siwe_parse(b.b_data, b.b_len, &parsed), KG_OK);
	assert_fields(name, &parsed, f);
	assert_round_trip(name, b.b_data, b.b_len, &parsed);

	at = (s = jstr(f, "time")) != NULL ? tparse(s) : now_us();
	switch (kg_siwe_check_time(&parsed, at, 0)) {
	case KG_SIWE_TIME_EXPIRED:
		o = OUT_EXPIRED;
		goto out;
	case KG_SIWE_TIME_NOT_YET_VALID:
		o = OUT_NOT_YET_VALID;
		goto out;
	default:
		break;
	}
	/* The server's siwe_domain and the body's nonce, as the vector's
	 * domainBinding and matchNonce stand for them. */
	if ((s = jstr(f, "domainBinding")) != NULL &&
	    !kg_siwe_str_eq(&parsed.sw_domain, s))
		o = OUT_DOMAIN_MISMATCH;
	else if ((s = jstr(f, "matchNonce")) != NULL &&
	    !kg_siwe_str_eq(&parsed.sw_nonce, s))
		o = OUT_NONCE_MISMATCH;
	else
		o = OUT_OK;
 out:
	kg_buf_free(&b);
	kg_buf_free(&text);
	return o;
}

static enum outcome
expected(const char *file, const char *name)
{
	size_t	i;

	for (i = 0; i < NITEMS(verification); i++)
		if (strcmp(verification[i].file, file) == 0 &&
		    strcmp(verification[i].name, name) == 0)
			return verification[i].expect;
	return OUT__MAX;
}

static void
run_verification(const char *file)
{
	struct json_object	*root = load(file);
	enum outcome		 o, want;
	size_t			 i, n = 0, listed = 0;

	json_object_object_foreach(root, name, f) {
		want = expected(file, name);
		ck_assert_msg(want != OUT__MAX, "%s: %s not listed", file,
		    name);
		o = verify_fields(name, f);
		/* The signature cases pass every message check. */
		ck_assert_msg(o == (want == OUT_SIGNATURE ? OUT_OK : want),
		    "%s: %s: outcome %d", file, name, (int)o);
		n++;
	}
	for (i = 0; i < NITEMS(verification); i++)
		listed += strcmp(verification[i].file, file) == 0;
	ck_assert_uint_eq(n, listed);
	json_object_put(root);
}

START_TEST(vectors_verification_positive)
{
	run_verification("verification_positive.json");
}
END_TEST

START_TEST(vectors_verification_negative)
{
	run_verification("verification_negative.json");
}
END_TEST

/*
 * The vectors' signatures, made by the reference library's signer, through
 * keygate's EIP-191 recovery: every positive vector's signature recovers
 * its address; "malformed signature" fails to parse (400
 * invalid_signature) and "wrong signature" recovers another address (401
 * signature_mismatch).  Vectors whose message cannot be formatted (invalid
 * dates) stop at invalid_message before any signature check.
 */
static void
run_signatures(const char *file, int positive)
{
	struct json_object	*root = load(file);
	struct kg_eth		*eth = NULL;
	struct kg_buf		 b = KG_BUF_INIT;
	struct kg_siwe		 sw, parsed;
	struct kg_eth_sig	 sig;
	const char		*hex;
	enum kg_eth_verdict	 v;
	size_t			 checked = 0;

	ck_assert_int_eq(kg_eth_new(&eth), KG_OK);
	json_object_object_foreach(root, name, f) {
		kg_buf_reset(&b);
		ck_assert_int_eq(from_fields(f, &sw), 1);
		if (kg_siwe_format(&sw, &b) != KG_OK)
			continue;
		ck_assert_int_eq(kg_siwe_parse(b.b_data, b.b_len, &parsed), KG_OK);
		ck_assert_ptr_nonnull(hex = jstr(f, "signature"));
		if (strcmp(name, "malformed signature") == 0) {
			ck_assert_msg(kg_eth_sig_parse(hex, &sig) == KG_ERR_INVALID,
			    "%s: %s parsed", file, name);
			checked++;
			continue;
		}
		ck_assert_msg(kg_eth_sig_parse(hex, &sig) == KG_OK,
		    "%s: %s: signature does not parse", file, name);
		v = kg_eth_verify_personal(eth, b.b_data, b.b_len, &sig,
		    parsed.sw_addr, NULL);
		if (positive || strcmp(name, "wrong signature") != 0)
			ck_assert_msg(v == KG_ETH_MATCH, "%s: %s: verdict %d",
			    file, name, (int)v);
		else
			ck_assert_msg(v != KG_ETH_MATCH, "%s: %s matched", file,
			    name);
		checked++;
	}
	/* 4 positive; 10 negative of which 3 have unformattable dates. */
	ck_assert_uint_eq(checked, positive ? 4 : 7);
	kg_buf_free(&b);
	kg_eth_free(eth);
	json_object_put(root);
}

START_TEST(vectors_verification_signatures)
{
	run_signatures("verification_positive.json", 1);
	run_signatures("verification_negative.json", 0);
}
END_TEST

/* Contract-wallet messages are valid messages; their signatures are not
 * keygate's to accept (SPEC 4), which is the signature code's business. */
START_TEST(vectors_eip1271_messages_parse)
{
	struct json_object	*root = load("eip1271.json"), *msg;
	struct kg_siwe		 sw;
	size_t			 n = 0;

	json_object_object_foreach(root, name, c) {
		ck_assert(json_object_object_get_ex(c, "message", &msg));
		ck_assert_msg(kg_siwe_parse(json_object_get_string(msg),
		    (size_t)json_object_get_string_len(msg), &sw) == KG_OK,
		    "%s: %s", name, sw.sw_why);
		assert_round_trip(name, json_object_get_string(msg),
		    (size_t)json_object_get_string_len(msg), &sw);
		n++;
	}
	ck_assert_uint_eq(n, 2);
	json_object_put(root);
}
END_TEST

/* ------------------------------------------------------------ grammar */

#define BASE_RESOURCES \
    "Resources:\n" \
    "- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n" \
    "- https://example.com/my-web2-claim.json"

/* Every field, every optional one too. */
static const char BASE[] =
    "example.com wants you to sign in with your Ethereum account:\n"
    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"
    "\n"
    "I accept the ExampleOrg Terms of Service: https://example.com/tos\n"
    "\n"
    "URI: https://example.com/login\n"
    "Version: 1\n"
    "Chain ID: 1\n"
    "Nonce: 32891756\n"
    "Issued At: 2021-09-30T16:25:24Z\n"
    "Expiration Time: 2021-10-30T16:25:24Z\n"
    "Not Before: 2021-09-30T16:25:24Z\n"
    "Request ID: req-1\n"
    BASE_RESOURCES;

/* BASE with its first "from" replaced by "to" (lengths given, NULs ok). */
static size_t
mutate(const char *from, size_t flen, const char *to, size_t tlen,
    char *out, size_t outlen)
{
	const char	*p;
	size_t		 i, blen = sizeof(BASE) - 1;

	for (i = 0; i + flen <= blen; i++)
		if (memcmp(BASE + i, from, flen) == 0)
			break;
	ck_assert_msg(i + flen <= blen, "\"%s\" not in BASE", from);
	p = BASE + i;
	ck_assert_uint_lt(blen - flen + tlen, outlen);
	memcpy(out, BASE, i);
	memcpy(out + i, to, tlen);
	memcpy(out + i + tlen, p + flen, blen - i - flen);
	return blen - flen + tlen;
}

struct mutation {
	const char	*why, *from, *to;
};

#define M(why, from, to)	{ why, from, to }

static const struct mutation good_mutations[] = {
	M("the base message itself", "Nonce", "Nonce"),
	M("scheme", "example.com wants", "https://example.com wants"),
	M("scheme with + - .", "example.com wants",
	    "git+ssh-x.y://example.com wants"),
	M("domain with port", "example.com wants", "example.com:8443 wants"),
	M("domain with empty port (port = *DIGIT)", "example.com wants",
	    "example.com: wants"),
	M("domain IPv4", "example.com wants", "192.0.2.1 wants"),
	M("domain IPv6", "example.com wants", "[2001:db8::1]:443 wants"),
	M("domain IPv6 with IPv4 tail", "example.com wants",
	    "[::ffff:192.0.2.1] wants"),
	M("domain IPv6, all eight groups", "example.com wants",
	    "[1:2:3:4:5:6:7:8] wants"),
	M("domain IPv6, group then ::", "example.com wants",
	    "[1:2:3:4:5:6:7::] wants"),
	M("domain IPv6 ::", "example.com wants", "[::] wants"),
	M("domain IPvFuture", "example.com wants", "[v1.fe80::a+en1] wants"),
	M("domain pct-encoded and sub-delims", "example.com wants",
	    "ex%41mple!$&'()*+,;=.com wants"),
	M("no statement", "I accept the ExampleOrg Terms of Service: "
	    "https://example.com/tos\n\n", "\n"),
	M("statement with every printable ASCII (erratum %x20-7E)",
	    "I accept the ExampleOrg",
	    " !\"#$%&'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}~ "),
	M("statement that looks like a field", "I accept the ExampleOrg "
	    "Terms of Service: https://example.com/tos", "URI: https://x.y"),
	M("URI with userinfo (only the domain loses it)",
	    "URI: https://example.com/login", "URI: https://u:p@example.com/"),
	M("URI urn", "URI: https://example.com/login",
	    "URI: urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
	M("URI with empty host", "URI: https://example.com/login",
	    "URI: file:///etc/keygate"),
	M("URI with query and fragment", "URI: https://example.com/login",
	    "URI: https://example.com/a/b;c?d=e/f?#g/h?"),
	M("URI path-rootless", "URI: https://example.com/login",
	    "URI: mailto:a@example.com"),
	M("URI IPv6", "URI: https://example.com/login",
	    "URI: https://[::1]:8080/x"),
	M("chain ID 2^64-1", "Chain ID: 1\n",
	    "Chain ID: 18446744073709551615\n"),
	M("long nonce", "Nonce: 32891756", "Nonce: "
	    "aZ09aZ09aZ09aZ09aZ09aZ09aZ09aZ09aZ09aZ09aZ09aZ09aZ09aZ09"),
	M("lower-case t and z (RFC 3339 5.6 NOTE)",
	    "Issued At: 2021-09-30T16:25:24Z", "Issued At: 2021-09-30t16:25:24z"),
	M("offset and fraction", "Issued At: 2021-09-30T16:25:24Z",
	    "Issued At: 2021-09-30T16:25:24.123456789+05:30"),
	M("empty request ID (*pchar)", "Request ID: req-1",
	    "Request ID: "),
	M("request ID of every pchar", "Request ID: req-1",
	    "Request ID: aZ09-._~!$&'()*+,;=:@%2f"),
	M("Resources: with no items", BASE_RESOURCES, "Resources:"),
	M("only Issued At", "\nExpiration Time: 2021-10-30T16:25:24Z\n"
	    "Not Before: 2021-09-30T16:25:24Z\nRequest ID: req-1\n"
	    BASE_RESOURCES, ""),
	M("only Not Before", "Expiration Time: 2021-10-30T16:25:24Z\n", ""),
	M("only Request ID", "Not Before: 2021-09-30T16:25:24Z\n", ""),
	M("address without letters in upper case", "0xC02aaA39b223FE8D0A0e5C"
	    "4F27eAD9083C756Cc2", "0x0000000000000000000000000000000000000000"),
};

static const struct mutation bad_mutations[] = {
	/* domain, erratum */
	M("userinfo in the domain", "example.com wants", "user@example.com wants"),
	M("empty userinfo in the domain", "example.com wants",
	    "@example.com wants"),
	M("userinfo with scheme", "example.com wants",
	    "https://u:p@example.com wants"),
	M("empty host with port", "example.com wants", ":8080 wants"),
	M("empty domain", "example.com wants", " wants"),
	M("empty domain after scheme", "example.com wants", "https:// wants"),
	M("domain with a path", "example.com wants", "example.com/x wants"),
	M("domain with a query", "example.com wants", "example.com?x wants"),
	M("domain with a space", "example.com wants", "exa mple.com wants"),
	M("domain with a bad port", "example.com wants", "example.com:80a wants"),
	M("domain with two ports", "example.com wants",
	    "example.com:80:81 wants"),
	M("domain with bad pct", "example.com wants", "ex%4gmple.com wants"),
	M("domain IPv6 unbracketed", "example.com wants", "::1 wants"),
	M("domain IPv6 bad digit", "example.com wants", "[::g] wants"),
	M("domain IPv6 two ::", "example.com wants", "[1::2::3] wants"),
	M("domain IPv6 nine groups", "example.com wants",
	    "[1:2:3:4:5:6:7:8:9] wants"),
	M("domain IPv6 seven groups", "example.com wants",
	    "[1:2:3:4:5:6:7] wants"),
	M("domain IPv6 eight groups and ::", "example.com wants",
	    "[1:2:3:4:5:6:7:8::] wants"),
	M("domain IPv6 five hex digits", "example.com wants",
	    "[12345::] wants"),
	M("domain IPv6 trailing colon", "example.com wants", "[1::2:] wants"),
	M("domain IPv6 leading colon", "example.com wants", "[:1::2] wants"),
	M("domain IPv6 bad IPv4 tail", "example.com wants",
	    "[::ffff:192.0.2.256] wants"),
	M("domain IPv6 IPv4 leading zero", "example.com wants",
	    "[::ffff:192.0.2.01] wants"),
	M("domain IPv6 IPv4 not last", "example.com wants",
	    "[::1.2.3.4:5] wants"),
	M("domain IPv6 zone (RFC 6874 is not RFC 3986)", "example.com wants",
	    "[fe80::1%25eth0] wants"),
	M("domain unclosed [", "example.com wants", "[::1 wants"),
	M("domain IPvFuture without address", "example.com wants",
	    "[v1.] wants"),
	M("domain #fragment", "example.com wants", "#x wants"),
	M("scheme starting with a digit", "example.com wants",
	    "1http://example.com wants"),
	M("empty scheme", "example.com wants", "://example.com wants"),
	M("scheme with _", "example.com wants", "ht_tp://example.com wants"),
	/* first line */
	M("preamble in other case", "wants you to sign in with your Ethereum",
	    "Wants you to sign in with your Ethereum"),
	M("preamble without colon", "Ethereum account:\n", "Ethereum account\n"),
	M("two spaces before wants", "example.com wants", "example.com  wants"),
	M("space before the domain", "example.com wants", " example.com wants"),
	M("trailing space on the first line", "account:\n", "account: \n"),
	/* address */
	M("mixed-case address not EIP-55", "0xC02aaA39", "0xc02aaA39"),
	M("all lower-case address (vectors: not EIP-55)",
	    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
	    "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"),
	M("all upper-case address", "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
	    "0xC02AAA39B223FE8D0A0E5C4F27EAD9083C756CC2"),
	M("0X prefix", "0xC02aaA39", "0XC02aaA39"),
	M("no 0x", "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
	    "C02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"),
	M("address 39 digits", "756Cc2\n", "756Cc\n"),
	M("address 41 digits", "756Cc2\n", "756Cc20\n"),
	M("address not hex", "0xC02aaA39", "0xC02aaA3g"),
	M("trailing space after the address", "756Cc2\n", "756Cc2 \n"),
	/* statement, blank lines */
	M("statement with a tab", "I accept the", "I\taccept the"),
	M("statement with a control character", "I accept the",
	    "I accept\x01the"),
	M("statement with DEL", "I accept the", "I accept\x7fthe"),
	M("statement with non-ASCII (UTF-8)", "I accept the",
	    "I acc\xc3\xa9pt the"),
	M("statement with a line break", "Terms of Service: https",
	    "Terms of Service: \nhttps"),
	M("empty statement line", "I accept the ExampleOrg Terms of Service: "
	    "https://example.com/tos\n", "\n"),
	M("no empty line after the address", "756Cc2\n\n", "756Cc2\n"),
	M("no empty line after the statement", "/tos\n\n", "/tos\n"),
	M("an extra empty line before URI", "/tos\n\n", "/tos\n\n\n"),
	M("an extra empty line after the address", "756Cc2\n\n",
	    "756Cc2\n\n\n"),
	/* line endings */
	M("CRLF after the first line", "account:\n", "account:\r\n"),
	M("CRLF after the nonce", "Nonce: 32891756\n", "Nonce: 32891756\r\n"),
	M("CR in the statement", "I accept the", "I accept\rthe"),
	M("a final LF", "claim.json", "claim.json\n"),
	M("a leading LF", "example.com wants", "\nexample.com wants"),
	/* URI */
	M("URI without scheme", "URI: https://example.com/login",
	    "URI: //example.com/login"),
	M("URI relative", "URI: https://example.com/login",
	    "URI: example.com/login"),
	M("URI empty", "URI: https://example.com/login", "URI: "),
	M("URI with a space", "URI: https://example.com/login",
	    "URI: https://example.com/log in"),
	M("URI with a bad pct", "URI: https://example.com/login",
	    "URI: https://example.com/%zz"),
	M("URI with a trailing %", "URI: https://example.com/login",
	    "URI: https://example.com/%"),
	M("URI with two #", "URI: https://example.com/login",
	    "URI: https://example.com/#a#b"),
	M("URI with bad IPv6", "URI: https://example.com/login",
	    "URI: https://[1::2::3]/"),
	M("URI with a bad port", "URI: https://example.com/login",
	    "URI: https://example.com:x/"),
	M("URI with a non-ASCII byte", "URI: https://example.com/login",
	    "URI: https://ex\xc3\xa4mple.com/"),
	M("URI with a trailing space", "URI: https://example.com/login\n",
	    "URI: https://example.com/login \n"),
	M("URI tag in lower case", "URI: ", "uri: "),
	M("URI tag without space", "URI: ", "URI:"),
	/* version */
	M("version 2", "Version: 1", "Version: 2"),
	M("version 01", "Version: 1", "Version: 01"),
	M("version 1.0", "Version: 1", "Version: 1.0"),
	M("version with trailing space", "Version: 1\n", "Version: 1 \n"),
	M("version empty", "Version: 1", "Version: "),
	/* chain id */
	M("chain ID 0", "Chain ID: 1\n", "Chain ID: 0\n"),
	M("chain ID 01", "Chain ID: 1\n", "Chain ID: 01\n"),
	M("chain ID 2^64", "Chain ID: 1\n", "Chain ID: 18446744073709551616\n"),
	M("chain ID 10^20", "Chain ID: 1\n",
	    "Chain ID: 100000000000000000000\n"),
	M("chain ID negative", "Chain ID: 1\n", "Chain ID: -1\n"),
	M("chain ID plus", "Chain ID: 1\n", "Chain ID: +1\n"),
	M("chain ID hex", "Chain ID: 1\n", "Chain ID: 0x1\n"),
	M("chain ID empty", "Chain ID: 1\n", "Chain ID: \n"),
	M("chain ID ?", "Chain ID: 1\n", "Chain ID: ?\n"),
	M("chain ID with a space", "Chain ID: 1\n", "Chain ID:  1\n"),
	/* nonce */
	M("nonce of 7", "Nonce: 32891756", "Nonce: 3289175"),
	M("nonce with -", "Nonce: 32891756", "Nonce: 3289-1756"),
	M("nonce with _", "Nonce: 32891756", "Nonce: 3289_1756"),
	M("nonce with a space", "Nonce: 32891756", "Nonce: 3289 1756"),
	M("nonce with non-ASCII", "Nonce: 32891756", "Nonce: 32891756\xc3\xa9"),
	M("nonce with trailing space", "Nonce: 32891756\n",
	    "Nonce: 32891756 \n"),
	M("nonce empty", "Nonce: 32891756", "Nonce: "),
	/* times */
	M("Issued At with space separator", "Issued At: 2021-09-30T16:25:24Z",
	    "Issued At: 2021-09-30 16:25:24Z"),
	M("Issued At without offset", "Issued At: 2021-09-30T16:25:24Z",
	    "Issued At: 2021-09-30T16:25:24"),
	M("Issued At on 31 September", "Issued At: 2021-09-30T16:25:24Z",
	    "Issued At: 2021-09-31T16:25:24Z"),
	M("Expiration Time invalid", "Expiration Time: 2021-10-30T16:25:24Z",
	    "Expiration Time: 2021-10-30T16:25:24+25:00"),
	M("Not Before invalid", "Not Before: 2021-09-30T16:25:24Z",
	    "Not Before: 2021-09-30"),
	M("Issued At with trailing space", "16:25:24Z\nExpiration",
	    "16:25:24Z \nExpiration"),
	/* request id, resources */
	M("request ID with a space", "Request ID: req-1", "Request ID: req 1"),
	M("request ID with /", "Request ID: req-1", "Request ID: req/1"),
	M("request ID with ?", "Request ID: req-1", "Request ID: req?1"),
	M("request ID with a bad pct", "Request ID: req-1",
	    "Request ID: req%1"),
	M("Resources with a trailing space", "Resources:\n", "Resources: \n"),
	M("resource without space", "- https://example.com/my",
	    "-https://example.com/my"),
	M("resource empty", "- https://example.com/my-web2-claim.json", "- "),
	M("resource not a URI", "- https://example.com/my",
	    "- :not_a_uri/my"),
	M("two resources on one line", "- https://example.com/my-web2-claim.json",
	    "- https://example.com/a - https://example.com/b"),
	M("resource with a trailing space", "claim.json", "claim.json "),
	M("a line after the resources", "claim.json", "claim.json\nNonce: 1"),
	M("a resource without Resources:", "Resources:\n", ""),
	/* order, repetition, absence */
	M("Version before URI", "URI: https://example.com/login\nVersion: 1",
	    "Version: 1\nURI: https://example.com/login"),
	M("Nonce before Chain ID", "Chain ID: 1\nNonce: 32891756",
	    "Nonce: 32891756\nChain ID: 1"),
	M("Not Before before Expiration Time",
	    "Expiration Time: 2021-10-30T16:25:24Z\nNot Before: 2021-09-30T16:25:24Z",
	    "Not Before: 2021-09-30T16:25:24Z\nExpiration Time: 2021-10-30T16:25:24Z"),
	M("Request ID after Resources", "Request ID: req-1\n" BASE_RESOURCES,
	    BASE_RESOURCES "\nRequest ID: req-1"),
	M("duplicate Nonce", "Nonce: 32891756\n",
	    "Nonce: 32891756\nNonce: 32891756\n"),
	M("duplicate Expiration Time", "Expiration Time: 2021-10-30T16:25:24Z\n",
	    "Expiration Time: 2021-10-30T16:25:24Z\n"
	    "Expiration Time: 2021-10-30T16:25:24Z\n"),
	M("duplicate Request ID", "Request ID: req-1\n",
	    "Request ID: req-1\nRequest ID: req-1\n"),
	M("duplicate Resources:", "Resources:\n", "Resources:\nResources:\n"),
	M("missing Version", "Version: 1\n", ""),
	M("missing URI", "URI: https://example.com/login\n", ""),
	M("missing Chain ID", "Chain ID: 1\n", ""),
	M("missing Nonce", "Nonce: 32891756\n", ""),
	M("missing Issued At", "Issued At: 2021-09-30T16:25:24Z\n", ""),
	M("unknown field", "Request ID: req-1\n", "Request ID: req-1\nFoo: bar\n"),
	M("an empty line between fields", "Version: 1\n", "Version: 1\n\n"),
	/* EIP-191: the prefix is applied exactly once, by the signer */
	M("message carrying the EIP-191 prefix", "example.com wants",
	    "\x19" "Ethereum Signed Message:\n1234example.com wants"),
};

START_TEST(grammar_good)
{
	char		msg[2048];
	struct kg_siwe	sw;
	size_t		i, len;

	for (i = 0; i < NITEMS(good_mutations); i++) {
		const struct mutation *m = &good_mutations[i];

		len = mutate(m->from, strlen(m->from), m->to, strlen(m->to),
		    msg, sizeof(msg));
		ck_assert_msg(kg_siwe_parse(msg, len, &sw) == KG_OK,
		    "%s: refused: %s", m->why, sw.sw_why);
		assert_round_trip(m->why, msg, len, &sw);
	}
}
END_TEST

START_TEST(grammar_bad)
{
	char		msg[2048];
	struct kg_siwe	sw;
	size_t		i, len;

	for (i = 0; i < NITEMS(bad_mutations); i++) {
		const struct mutation *m = &bad_mutations[i];

		len = mutate(m->from, strlen(m->from), m->to, strlen(m->to),
		    msg, sizeof(msg));
		ck_assert_msg(kg_siwe_parse(msg, len, &sw) == KG_ERR_INVALID,
		    "accepted: %s", m->why);
		ck_assert_ptr_nonnull(sw.sw_why);
	}
}
END_TEST

START_TEST(grammar_fields_of_base)
{
	struct kg_siwe	sw;
	uint8_t		addr[KG_ETH_ADDR_LEN];

	ck_assert_int_eq(kg_siwe_parse(BASE, sizeof(BASE) - 1, &sw), KG_OK);
	ck_assert_ptr_null(sw.sw_scheme.ss_ptr);
	ck_assert(kg_siwe_str_eq(&sw.sw_domain, "example.com"));
	ck_assert(kg_siwe_str_eq(&sw.sw_address,
	    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"));
	ck_assert_int_eq(kg_eth_address_parse(
	    "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", addr), KG_OK);
	ck_assert_mem_eq(sw.sw_addr, addr, sizeof(addr));
	ck_assert(kg_siwe_str_eq(&sw.sw_request_id, "req-1"));
	ck_assert_uint_eq(sw.sw_chain_id, 1);
	ck_assert_int_eq(sw.sw_issued_at_us, 1633019124 * SEC);
	ck_assert_int_eq(sw.sw_expiration_us, (1633019124 + 30 * 86400) * SEC);
	ck_assert_int_eq(sw.sw_not_before_us, 1633019124 * SEC);
	ck_assert_uint_eq(sw.sw_nresources, 2);
	/* Fields point into the message: nothing is copied. */
	ck_assert_ptr_eq(sw.sw_domain.ss_ptr, BASE);
}
END_TEST

START_TEST(grammar_edges)
{
	char		msg[4096];
	struct kg_siwe	sw;
	size_t		len, i, end;

	/* Empty, NUL inside. */
	ck_assert_int_eq(kg_siwe_parse("", 0, &sw), KG_ERR_INVALID);
	len = mutate("Nonce: 32891756", 15, "Nonce: 3289\0" "1756", 16, msg,
	    sizeof(msg));
	ck_assert_int_eq(kg_siwe_parse(msg, len, &sw), KG_ERR_INVALID);
	/* Cut anywhere before the end of Issued At: refused; cut later, it
	 * may parse (optional fields, a shorter URI), and then round-trips. */
	end = (size_t)(strstr(BASE, "\nExpiration Time") - BASE);
	for (len = 0; len < sizeof(BASE) - 1; len++) {
		if (kg_siwe_parse(BASE, len, &sw) != KG_OK)
			ck_assert_msg(len != end, "complete prefix refused");
		else {
			ck_assert_msg(len >= end, "prefix of %zu accepted", len);
			assert_round_trip("prefix", BASE, len, &sw);
		}
	}
	/* Only len bytes are read. */
	memcpy(msg, BASE, sizeof(BASE) - 1);
	memcpy(msg + sizeof(BASE) - 1, "\nNonce: x", 9);
	ck_assert_int_eq(kg_siwe_parse(msg, sizeof(BASE) - 1, &sw), KG_OK);

	/* Exactly KG_SIWE_MAX_RESOURCES resources, then one more. */
	len = (size_t)(strstr(BASE, "Resources:") - BASE) + 10;
	memcpy(msg, BASE, len);
	for (i = 0; i < KG_SIWE_MAX_RESOURCES; i++)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len,
		    "\n- https://example.com/r%zu", i);
	ck_assert_int_eq(kg_siwe_parse(msg, len, &sw), KG_OK);
	ck_assert_uint_eq(sw.sw_nresources, KG_SIWE_MAX_RESOURCES);
	assert_round_trip("16 resources", msg, len, &sw);
	len += (size_t)snprintf(msg + len, sizeof(msg) - len, "\n- urn:x");
	ck_assert_int_eq(kg_siwe_parse(msg, len, &sw), KG_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(sw.sw_why, "resources"));
}
END_TEST

/* ------------------------------------------------------------ format */

/* What POST /v1/auth/challenge builds (SPEC 4) from the wallet's bytes. */
static void
challenge(struct kg_siwe *sw, char *addr, char *iat, char *exp)
{
	uint8_t	bytes[KG_ETH_ADDR_LEN];

	memset(sw, 0, sizeof(*sw));
	kg_siwe_str_set(&sw->sw_domain, "keygate.example");
	ck_assert_int_eq(kg_eth_address_parse(
	    "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", bytes), KG_OK);
	kg_eth_address_checksum(bytes, addr);
	kg_siwe_str_set(&sw->sw_address, addr);
	kg_siwe_str_set(&sw->sw_uri, "https://keygate.example/login");
	sw->sw_version = KG_SIWE_VERSION;
	sw->sw_chain_id = 137;
	kg_siwe_str_set(&sw->sw_nonce, "q7XzK2mN9vB4");
	ck_assert_int_eq(kg_time_format_rfc3339(1795344160 * SEC, iat, 0),
	    KG_OK);
	ck_assert_int_eq(kg_time_format_rfc3339((1795344160 + 300) * SEC, exp,
	    0), KG_OK);
	kg_siwe_str_set(&sw->sw_issued_at, iat);
	kg_siwe_str_set(&sw->sw_expiration_time, exp);
}

START_TEST(format_challenge)
{
	static const char want[] =
	    "keygate.example wants you to sign in with your Ethereum account:\n"
	    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"
	    "\n"
	    "\n"
	    "URI: https://keygate.example/login\n"
	    "Version: 1\n"
	    "Chain ID: 137\n"
	    "Nonce: q7XzK2mN9vB4\n"
	    "Issued At: 2026-11-22T10:42:40Z\n"
	    "Expiration Time: 2026-11-22T10:47:40Z";
	struct kg_siwe	 sw, back;
	struct kg_buf	 b = KG_BUF_INIT;
	char		 iat[KG_TIME_RFC3339_MAX], exp[KG_TIME_RFC3339_MAX];
	char		 addr[KG_ETH_ADDR_STRLEN];
	uint8_t		 bytes[KG_ETH_ADDR_LEN];

	challenge(&sw, addr, iat, exp);
	ck_assert_int_eq(kg_siwe_format(&sw, &b), KG_OK);
	ck_assert_str_eq(kg_buf_str(&b), want);
	ck_assert_int_eq(kg_siwe_parse(b.b_data, b.b_len, &back), KG_OK);
	ck_assert_int_eq(kg_eth_address_parse(addr, bytes), KG_OK);
	ck_assert_mem_eq(back.sw_addr, bytes, KG_ETH_ADDR_LEN);
	ck_assert_int_eq(back.sw_expiration_us, (1795344160 + 300) * SEC);

	/* Appends to what the buffer holds. */
	kg_buf_reset(&b);
	kg_buf_puts(&b, "head:");
	kg_siwe_str_set(&sw.sw_statement, "Sign in to keygate");
	ck_assert_int_eq(kg_siwe_format(&sw, &b), KG_OK);
	ck_assert_int_eq(strncmp(kg_buf_str(&b), "head:keygate.example ", 21),
	    0);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&b),
	    "Cc2\n\nSign in to keygate\n\nURI: "));
	kg_buf_free(&b);
}
END_TEST

START_TEST(format_refuses)
{
	static const char *const bad_text[] = {
		"a\nb", "", "x\nURI: https://evil.example", "caf\xc3\xa9",
	};
	struct kg_siwe	 sw, ok;
	struct kg_buf	 b = KG_BUF_INIT;
	char		 iat[KG_TIME_RFC3339_MAX], exp[KG_TIME_RFC3339_MAX];
	char		 addr[KG_ETH_ADDR_STRLEN];
	size_t		 i;
	int		 k;

	challenge(&ok, addr, iat, exp);
	kg_buf_puts(&b, "keep");
	for (k = 0; k < 28; k++) {
		sw = ok;
		switch (k) {
		case 0: sw.sw_domain.ss_ptr = NULL; break;
		case 1: sw.sw_uri.ss_ptr = NULL; break;
		case 2: sw.sw_nonce.ss_ptr = NULL; break;
		case 3: sw.sw_issued_at.ss_ptr = NULL; break;
		case 4: sw.sw_version = 0; break;
		case 5: sw.sw_version = 2; break;
		case 6: sw.sw_chain_id = 0; break;
		case 7: kg_siwe_str_set(&sw.sw_domain, "u@keygate.example"); break;
		case 8: kg_siwe_str_set(&sw.sw_domain, ""); break;
		case 9: kg_siwe_str_set(&sw.sw_uri, "keygate.example"); break;
		case 10: kg_siwe_str_set(&sw.sw_nonce, "short"); break;
		case 11: kg_siwe_str_set(&sw.sw_issued_at, "yesterday"); break;
		case 12: kg_siwe_str_set(&sw.sw_expiration_time,
		    "2021-02-30T00:00:00Z"); break;
		case 13: kg_siwe_str_set(&sw.sw_request_id, "a b"); break;
		case 14: kg_siwe_str_set(&sw.sw_address,
		    "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"); break;
		case 15: kg_siwe_str_set(&sw.sw_scheme, "1x"); break;
		case 16: kg_siwe_str_set(&sw.sw_scheme, ""); break;
		case 17: sw.sw_statement.ss_len = 3; break;	/* NULL, 3 */
		case 18: sw.sw_nresources = KG_SIWE_MAX_RESOURCES + 1; break;
		case 19: sw.sw_nresources = 1; break;		/* NULL item */
		case 20: sw.sw_nresources = 1;
			kg_siwe_str_set(&sw.sw_resources[0], "not a uri"); break;
		case 21: kg_siwe_str_set(&sw.sw_nonce,
		    "q7XzK2mN9vB4\nNonce: other1234"); break;
		case 22: kg_siwe_str_set(&sw.sw_domain,
		    "keygate.example wants you to sign in with your Ethereum "
		    "account:\n0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\n"
		    "\nURI: https://a.b\nVersion: 1\nChain ID: 1\nNonce: "
		    "abcdefgh\nIssued At: 2021-09-30T16:25:24Z\nx.example");
		    break;
		case 23: kg_siwe_str_set(&sw.sw_request_id, "r\nResources:");
		    break;
		case 24: kg_siwe_str_set(&sw.sw_issued_at,
		    "2026-11-22T10:42:40Z\nNot Before: 2026-11-22T10:42:40Z");
		    break;
		case 25: kg_siwe_str_set(&sw.sw_uri,
		    "https://a.b\nVersion: 1"); break;
		case 26: kg_siwe_str_set(&sw.sw_address,
		    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2 "); break;
		default: sw.sw_address.ss_ptr = NULL; break;
		}
		ck_assert_msg(kg_siwe_format(&sw, &b) == KG_ERR_INVALID,
		    "case %d formatted", k);
		ck_assert_str_eq(kg_buf_str(&b), "keep");	/* untouched */
	}
	for (i = 0; i < NITEMS(bad_text); i++) {
		sw = ok;
		kg_siwe_str_set(&sw.sw_statement, bad_text[i]);
		ck_assert_msg(kg_siwe_format(&sw, &b) == KG_ERR_INVALID,
		    "statement %zu formatted", i);
		ck_assert_str_eq(kg_buf_str(&b), "keep");
	}
	/* A failure on an empty buffer leaves it empty. */
	kg_buf_free(&b);
	sw = ok;
	sw.sw_chain_id = 0;
	ck_assert_int_eq(kg_siwe_format(&sw, &b), KG_ERR_INVALID);
	ck_assert_str_eq(kg_buf_str(&b), "");
	kg_buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------ times */

START_TEST(check_time_rules)
{
	static const char msg[] =
	    "example.com wants you to sign in with your Ethereum account:\n"
	    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\n\n"
	    "URI: https://example.com/login\nVersion: 1\nChain ID: 1\n"
	    "Nonce: 32891756\n"
	    "Issued At: 2021-09-30T16:25:24Z\n"
	    "Expiration Time: 2021-09-30T16:35:24Z\n"
	    "Not Before: 2021-09-30T16:26:24Z";
	struct kg_siwe	sw;
	int64_t		iat = 1633019124 * SEC, nbf = iat + 60 * SEC,
			exp = iat + 600 * SEC, lw = 30 * SEC;

	ck_assert_int_eq(kg_siwe_parse(msg, sizeof(msg) - 1, &sw), KG_OK);
	/* Not Before: valid from nbf, or nbf - leeway. */
	ck_assert_int_eq(kg_siwe_check_time(&sw, nbf - 1, 0),
	    KG_SIWE_TIME_NOT_YET_VALID);
	ck_assert_int_eq(kg_siwe_check_time(&sw, nbf, 0), KG_SIWE_TIME_OK);
	ck_assert_int_eq(kg_siwe_check_time(&sw, nbf - lw - 1, lw),
	    KG_SIWE_TIME_NOT_YET_VALID);
	ck_assert_int_eq(kg_siwe_check_time(&sw, nbf - lw, lw),
	    KG_SIWE_TIME_OK);
	/* Expiration Time: valid until just before exp (+ leeway). */
	ck_assert_int_eq(kg_siwe_check_time(&sw, exp - 1, 0), KG_SIWE_TIME_OK);
	ck_assert_int_eq(kg_siwe_check_time(&sw, exp, 0),
	    KG_SIWE_TIME_EXPIRED);
	ck_assert_int_eq(kg_siwe_check_time(&sw, exp + lw - 1, lw),
	    KG_SIWE_TIME_OK);
	ck_assert_int_eq(kg_siwe_check_time(&sw, exp + lw, lw),
	    KG_SIWE_TIME_EXPIRED);
	/* Extreme clocks and leeways do not overflow. */
	ck_assert_int_eq(kg_siwe_check_time(&sw, INT64_MAX, 0),
	    KG_SIWE_TIME_EXPIRED);
	ck_assert_int_eq(kg_siwe_check_time(&sw, INT64_MAX, INT64_MAX),
	    KG_SIWE_TIME_OK);
	ck_assert_int_eq(kg_siwe_check_time(&sw, INT64_MIN, 0),
	    KG_SIWE_TIME_NOT_YET_VALID);
	ck_assert_int_eq(kg_siwe_check_time(&sw, INT64_MIN, INT64_MAX),
	    KG_SIWE_TIME_NOT_YET_VALID);
	ck_assert_int_eq(kg_siwe_check_time(&sw, nbf, -5 * SEC),
	    KG_SIWE_TIME_OK);

	/* Issued At in the future, with no Not Before. */
	ck_assert_int_eq(kg_siwe_parse(msg, sizeof(msg) - 1 -
	    strlen("\nNot Before: 2021-09-30T16:26:24Z"), &sw), KG_OK);
	ck_assert_ptr_null(sw.sw_not_before.ss_ptr);
	ck_assert_int_eq(kg_siwe_check_time(&sw, iat - 1, 0),
	    KG_SIWE_TIME_NOT_YET_VALID);
	ck_assert_int_eq(kg_siwe_check_time(&sw, iat - lw, lw),
	    KG_SIWE_TIME_OK);
	ck_assert_int_eq(kg_siwe_check_time(&sw, iat, 0), KG_SIWE_TIME_OK);
}
END_TEST

START_TEST(str_helpers)
{
	struct kg_siwe_str	s;

	kg_siwe_str_set(&s, NULL);
	ck_assert_ptr_null(s.ss_ptr);
	ck_assert_int_eq(kg_siwe_str_eq(&s, ""), 0);
	kg_siwe_str_set(&s, "");
	ck_assert_int_eq(kg_siwe_str_eq(&s, ""), 1);
	kg_siwe_str_set(&s, "abc");
	ck_assert_int_eq(kg_siwe_str_eq(&s, "abc"), 1);
	ck_assert_int_eq(kg_siwe_str_eq(&s, "ab"), 0);
	ck_assert_int_eq(kg_siwe_str_eq(&s, "abcd"), 0);
}
END_TEST

static Suite *
siwe_suite(void)
{
	Suite	*s = suite_create("siwe");
	TCase	*tc;

	tc = tcase_create("timefmt");
	tcase_add_test(tc, time_parse_valid);
	tcase_add_test(tc, time_parse_invalid);
	tcase_add_test(tc, time_leap_years);
	tcase_add_test(tc, time_format);
	tcase_add_test(tc, time_calendar_against_libc);
	tcase_add_test(tc, time_round_trip_millis);
	suite_add_tcase(s, tc);

	tc = tcase_create("vectors");
	tcase_add_test(tc, vectors_parsing_positive);
	tcase_add_test(tc, vectors_parsing_negative);
	tcase_add_test(tc, vectors_parsing_negative_objects);
	tcase_add_test(tc, vectors_verification_positive);
	tcase_add_test(tc, vectors_verification_negative);
	tcase_add_test(tc, vectors_eip1271_messages_parse);
	suite_add_tcase(s, tc);

	tc = tcase_create("grammar");
	tcase_add_test(tc, grammar_good);
	tcase_add_test(tc, grammar_bad);
	tcase_add_test(tc, grammar_fields_of_base);
	tcase_add_test(tc, grammar_edges);
	tcase_add_test(tc, format_challenge);
	tcase_add_test(tc, format_refuses);
	tcase_add_test(tc, check_time_rules);
	tcase_add_test(tc, str_helpers);
	tcase_add_test(tc, vectors_verification_signatures);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(siwe_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
