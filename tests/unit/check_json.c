/* check_json.c: declared JSON input and the generic body rules of SPEC 1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/base/json.h"

static const struct kg_jfield fields[] = {
	{ "wallet",	KG_JT_STRING,	KG_JF_REQUIRED, 1, 42 },
	{ "chain_id",	KG_JT_INT,	0, 1, 1000000 },
	{ "all",	KG_JT_BOOL,	0, 0, 0 },
	{ "scopes",	KG_JT_STRINGS,	0, 0, 3 },
	{ "project_ids", KG_JT_STRINGS,	KG_JF_NULLABLE, 0, 3 },
	{ NULL,		0,		0, 0, 0 },
};

static struct kg_json	js;
static struct kg_jval	v[5];

static void setup(void) { memset(&js, 0, sizeof(js)); }
static void teardown(void) { kg_json_free(&js); }

static enum kg_json_status
parse(const char *body, const char **bad)
{
	return kg_json_parse(&js, body, strlen(body), fields, v, bad);
}

START_TEST(typed_values)
{
	const char *bad;

	ck_assert_int_eq(parse("{\"wallet\":\"0xab\",\"chain_id\":5,"
	    "\"all\":true,\"scopes\":[\"a\",\"b\"],\"project_ids\":null}", &bad),
	    KG_JSON_OK);
	ck_assert(v[0].jv_present);
	ck_assert_str_eq(v[0].jv_str, "0xab");
	ck_assert_uint_eq(v[0].jv_len, 4);
	ck_assert_int_eq(v[1].jv_int, 5);
	ck_assert_int_eq(v[2].jv_bool, 1);
	ck_assert_uint_eq(v[3].jv_len, 2);
	ck_assert_str_eq(kg_json_item(&v[3], 1), "b");
	ck_assert_ptr_null(kg_json_item(&v[3], 2));
	ck_assert_int_eq(v[4].jv_present, 0);
	/* Optional members may be absent; the parser is reusable. */
	ck_assert_int_eq(parse("{\"wallet\":\"x\"}", &bad), KG_JSON_OK);
	ck_assert_int_eq(v[1].jv_present, 0);
	ck_assert_int_eq(parse(" {\"wallet\":\"x\"} \n", &bad), KG_JSON_OK);
	/* ':' and quotes inside strings and nested objects are not members. */
	ck_assert_int_eq(parse("{\"wallet\":\"a:\\\":b\",\"scopes\":[\"x:y\"]}",
	    &bad), KG_JSON_OK);
}
END_TEST

START_TEST(bad_json_cases)
{
	static const char *const bad_json[] = {
		"", " ", "{", "}", "[]", "\"x\"", "1", "null",
		"{\"wallet\":\"x\"} {}",		/* two texts */
		"{\"wallet\":\"x\",}",			/* trailing comma */
		"{'wallet':'x'}",			/* not JSON quotes */
		"{\"wallet\":\"\xff\"}",		/* invalid UTF-8 */
		"{\"wallet\":\"\xc0\xaf\"}",		/* overlong encoding */
		"{\"wallet\":\"x\"}garbage",
		"{\"wallet\":01}",
		"{\"wallet\":\"a\",\"wallet\":\"b\"}",	/* duplicate member */
		"{\"wallet\":\"a\",\"w\\u0061llet\":\"b\"}", /* duplicate, escaped */
	};
	const char	*bad;
	size_t		 i;

	for (i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++)
		ck_assert_msg(parse(bad_json[i], &bad) == KG_JSON_BAD_JSON,
		    "accepted bad_json[%zu]", i);
}
END_TEST

START_TEST(depth_limit_is_32)
{
	char		 body[256];
	const char	*bad;
	int		 i, n;

	/* Depth 32 (the object plus 31 arrays) parses; the member is then
	 * unknown.  Depth 33 is invalid_json. */
	for (n = 31; n <= 32; n++) {
		strcpy(body, "{\"x\":");
		for (i = 0; i < n; i++)
			strcat(body, "[");
		for (i = 0; i < n; i++)
			strcat(body, "]");
		strcat(body, "}");
		ck_assert_int_eq(parse(body, &bad),
		    n == 31 ? KG_JSON_BAD_FIELD : KG_JSON_BAD_JSON);
	}
}
END_TEST

START_TEST(bad_field_cases)
{
	static const struct { const char *body, *field; } cases[] = {
		{ "{}", "wallet" },
		{ "{\"wallet\":null}", "wallet" },
		{ "{\"wallet\":1}", "wallet" },
		{ "{\"wallet\":\"\"}", "wallet" },
		{ "{\"wallet\":\"0123456789012345678901234567890123456789abc\"}", "wallet" },
		{ "{\"wallet\":\"a\\u0000b\"}", "wallet" },
		{ "{\"wallet\":\"x\",\"extra\":1}", "extra" },
		{ "{\"wallet\":\"x\",\"chain_id\":0}", "chain_id" },
		{ "{\"wallet\":\"x\",\"chain_id\":1.0}", "chain_id" },
		{ "{\"wallet\":\"x\",\"chain_id\":\"1\"}", "chain_id" },
		{ "{\"wallet\":\"x\",\"chain_id\":99999999999999999999999}", "chain_id" },
		{ "{\"wallet\":\"x\",\"all\":1}", "all" },
		{ "{\"wallet\":\"x\",\"scopes\":\"a\"}", "scopes" },
		{ "{\"wallet\":\"x\",\"scopes\":[1]}", "scopes" },
		{ "{\"wallet\":\"x\",\"scopes\":[\"a\",\"b\",\"c\",\"d\"]}", "scopes" },
		{ "{\"wallet\":\"x\",\"scopes\":null}", "scopes" },
	};
	const char	*bad;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].body, &bad) == KG_JSON_BAD_FIELD,
		    "case %zu not a bad field", i);
		ck_assert_str_eq(bad, cases[i].field);
	}
}
END_TEST

/*
 * json-c saturates integers int64 cannot hold (2^63 reads as INT64_MAX):
 * such a number is refused, never taken for the bound it was clamped to.
 */
START_TEST(int64_range_exact)
{
	static const struct kg_jfield wide[] = {
		{ "n", KG_JT_INT, KG_JF_REQUIRED, INT64_MIN, INT64_MAX },
		{ NULL, 0, 0, 0, 0 },
	};
	static const struct { const char *body; int ok; long long n; } cases[] = {
		{ "{\"n\":9223372036854775807}", 1, INT64_MAX },
		{ "{\"n\":-9223372036854775807}", 1, -INT64_MAX },
		{ "{\"n\":9223372036854775808}", 0, 0 },
		{ "{\"n\":18446744073709551615}", 0, 0 },
		{ "{\"n\":18446744073709551616}", 0, 0 },
		{ "{\"n\":100000000000000000000000000}", 0, 0 },
		{ "{\"n\":-9223372036854775808}", 0, 0 },
		{ "{\"n\":-9223372036854775809}", 0, 0 },
	};
	struct kg_jval	 w[1];
	const char	*bad;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum kg_json_status st = kg_json_parse(&js, cases[i].body,
		    strlen(cases[i].body), wide, w, &bad);

		if (cases[i].ok) {
			ck_assert_msg(st == KG_JSON_OK, "case %zu refused", i);
			ck_assert(w[0].jv_int == cases[i].n);
		} else {
			ck_assert_msg(st == KG_JSON_BAD_FIELD, "case %zu: %d", i,
			    (int)st);
			ck_assert_str_eq(bad, "n");
		}
	}
}
END_TEST

START_TEST(utf8_strict)
{
	ck_assert_int_eq(kg_utf8_valid("", 0), 1);
	ck_assert_int_eq(kg_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10), 1);
	ck_assert_int_eq(kg_utf8_valid("\xc0\xaf", 2), 0);		/* overlong */
	ck_assert_int_eq(kg_utf8_valid("\xe0\x80\xaf", 3), 0);	/* overlong */
	ck_assert_int_eq(kg_utf8_valid("\xed\xa0\x80", 3), 0);	/* surrogate */
	ck_assert_int_eq(kg_utf8_valid("\xf4\x90\x80\x80", 4), 0);	/* > U+10FFFF */
	ck_assert_int_eq(kg_utf8_valid("\xc3", 1), 0);			/* truncated */
	ck_assert_int_eq(kg_utf8_valid("\x80", 1), 0);			/* lone continuation */
	ck_assert_int_eq(kg_utf8_valid("\xff", 1), 0);
}
END_TEST

static Suite *
json_suite(void)
{
	Suite	*s = suite_create("json");
	TCase	*tc = tcase_create("declared");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, typed_values);
	tcase_add_test(tc, bad_json_cases);
	tcase_add_test(tc, depth_limit_is_32);
	tcase_add_test(tc, utf8_strict);
	tcase_add_test(tc, bad_field_cases);
	tcase_add_test(tc, int64_range_exact);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(json_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
