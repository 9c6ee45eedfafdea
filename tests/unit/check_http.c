/* check_http.c: response helpers, JSON escaping, query parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/api/http.h"
#include "core/base/buf.h"
#include "core/base/json.h"

START_TEST(json_escape_controls_and_quotes)
{
	struct kg_buf b = KG_BUF_INIT;

	ck_assert_int_eq(kg_buf_json_str(&b, "a\"b\\c\nd\x01" "e\tf"), KG_OK);
	ck_assert_str_eq(kg_buf_str(&b), "a\\\"b\\\\c\\nd\\u0001e\\tf");
	kg_buf_reset(&b);
	ck_assert_int_eq(kg_buf_json_str(&b, ""), KG_OK);
	ck_assert_str_eq(kg_buf_str(&b), "");
	/* Non-ASCII UTF-8 passes through untouched. */
	ck_assert_int_eq(kg_buf_json_str(&b, "\xc3\xa9"), KG_OK);
	ck_assert_str_eq(kg_buf_str(&b), "\xc3\xa9");
	kg_buf_free(&b);
}
END_TEST

START_TEST(buf_grows_and_keeps_allocation)
{
	struct kg_buf	b = KG_BUF_INIT;
	size_t		cap;
	int		i;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(kg_buf_printf(&b, "%04d", i), KG_OK);
	ck_assert_uint_eq(b.b_len, 4000);
	ck_assert(strncmp(kg_buf_str(&b), "00000001", 8) == 0);
	cap = b.b_cap;
	kg_buf_reset(&b);
	ck_assert_uint_eq(b.b_len, 0);
	ck_assert_uint_eq(b.b_cap, cap);
	ck_assert_str_eq(kg_buf_str(&b), "");
	kg_buf_free(&b);
	ck_assert_ptr_null(b.b_data);
}
END_TEST

START_TEST(error_shape_and_generic_headers)
{
	struct kg_response resp;

	memset(&resp, 0, sizeof(resp));
	kg_resp_error(&resp, 401, "unauthenticated", "Say \"who\".");
	ck_assert_int_eq(resp.status, 401);
	ck_assert_str_eq(resp.content_type, KG_CT_JSON);
	ck_assert_str_eq(kg_buf_str(&resp.body),
	    "{\"error\":\"unauthenticated\",\"message\":\"Say \\\"who\\\".\"}");
	ck_assert_str_eq(kg_resp_header_get(&resp, "WWW-Authenticate"), "Bearer");

	{
		/* reset wipes the old body in place, keeping the allocation. */
		char	*old = resp.body.b_data;
		size_t	 n = resp.body.b_len, i;

		kg_resp_reset(&resp);
		ck_assert_ptr_eq(resp.body.b_data, old);
		for (i = 0; i < n; i++)
			ck_assert_int_eq(old[i], 0);
	}
	ck_assert_uint_eq(resp.nheaders, 0);
	kg_resp_error(&resp, 503, "unavailable", "x");
	ck_assert_ptr_nonnull(kg_resp_header_get(&resp, "Retry-After"));
	ck_assert_ptr_null(kg_resp_header_get(&resp, "WWW-Authenticate"));

	kg_resp_reset(&resp);
	kg_resp_error(&resp, 429, "rate_limited", "x");
	ck_assert_ptr_nonnull(kg_resp_header_get(&resp, "retry-after"));
	kg_resp_free(&resp);
}
END_TEST

/*
 * The member named in a refusal comes from the body and is cut to 64
 * bytes: never inside a UTF-8 sequence, or the answer is not JSON (found
 * by tests/fuzz/fuzz_routes).
 */
START_TEST(refused_member_cut_on_a_character)
{
	struct kg_response	resp;
	char			name[80], want[160];

	memset(&resp, 0, sizeof(resp));
	/* 63 ASCII bytes, then a 3-byte character across the cut. */
	memset(name, 'm', 63);
	memcpy(name + 63, "\xee\x90\x8b" "zz", 6);
	ck_assert_int_eq(kg_resp_json_refused(&resp, KG_JSON_BAD_FIELD, name),
	    KG_OK);
	ck_assert_int_eq(resp.status, 400);
	ck_assert(kg_utf8_valid(resp.body.b_data, resp.body.b_len));
	snprintf(want, sizeof(want), "{\"error\":\"invalid_request\","
	    "\"message\":\"Invalid, missing or unknown member: %.63s.\"}",
	    name);
	ck_assert_str_eq(kg_buf_str(&resp.body), want);

	/* A 2-byte character ending at byte 64 is kept whole. */
	memset(name, 'm', 62);
	memcpy(name + 62, "\xc3\xa9" "zz", 5);
	ck_assert_int_eq(kg_resp_json_refused(&resp, KG_JSON_BAD_FIELD, name),
	    KG_OK);
	ck_assert(kg_utf8_valid(resp.body.b_data, resp.body.b_len));
	snprintf(want, sizeof(want), "{\"error\":\"invalid_request\","
	    "\"message\":\"Invalid, missing or unknown member: %.64s.\"}",
	    name);
	ck_assert_str_eq(kg_buf_str(&resp.body), want);

	/* A short name is whole, a long ASCII one cut at 64. */
	ck_assert_int_eq(kg_resp_json_refused(&resp, KG_JSON_BAD_FIELD,
	    "\xc3\xa9t\xc3\xa9"), KG_OK);
	ck_assert_str_eq(kg_buf_str(&resp.body), "{\"error\":\"invalid_request\","
	    "\"message\":\"Invalid, missing or unknown member: \xc3\xa9t\xc3\xa9.\"}");
	memset(name, 'a', 79);
	name[79] = '\0';
	ck_assert_int_eq(kg_resp_json_refused(&resp, KG_JSON_BAD_FIELD, name),
	    KG_OK);
	snprintf(want, sizeof(want), "{\"error\":\"invalid_request\","
	    "\"message\":\"Invalid, missing or unknown member: %.64s.\"}",
	    name);
	ck_assert_str_eq(kg_buf_str(&resp.body), want);
	kg_resp_free(&resp);
}
END_TEST

START_TEST(err_mapping_fails_closed)
{
	struct kg_response resp;

	memset(&resp, 0, sizeof(resp));
	kg_resp_from_err(&resp, KG_ERR_DB);
	ck_assert_int_eq(resp.status, 503);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body), "\"unavailable\""));
	kg_resp_from_err(&resp, KG_ERR_DB_LOST);
	ck_assert_int_eq(resp.status, 503);
	kg_resp_from_err(&resp, KG_ERR_DB_RETRY);
	ck_assert_int_eq(resp.status, 503);
	kg_resp_from_err(&resp, KG_ERR_NOMEM);
	ck_assert_int_eq(resp.status, 500);
	ck_assert_ptr_nonnull(strstr(kg_buf_str(&resp.body), "\"internal\""));
	kg_resp_from_err(&resp, KG_ERR_TOO_LARGE);
	ck_assert_int_eq(resp.status, 413);
	kg_resp_from_err(&resp, KG_ERR__MAX);
	ck_assert_int_eq(resp.status, 500);
	kg_resp_free(&resp);
}
END_TEST

START_TEST(header_replace_no_crlf_and_table_full)
{
	struct kg_response	resp;
	int			i;

	memset(&resp, 0, sizeof(resp));
	ck_assert_int_eq(kg_resp_header(&resp, "X-A", "one"), KG_OK);
	ck_assert_int_eq(kg_resp_header(&resp, "x-a", "two\r\nSet-Cookie: x"), KG_OK);
	ck_assert_uint_eq(resp.nheaders, 1);
	ck_assert_str_eq(kg_resp_header_get(&resp, "X-A"), "two");
	for (i = 1; i < KG_RESP_MAX_HEADERS; i++)
		ck_assert_int_eq(kg_resp_header(&resp,
		    i % 2 ? "X-Odd" : "X-Even", "%d", i), KG_OK);
	kg_resp_reset(&resp);
	for (i = 0; i < KG_RESP_MAX_HEADERS; i++) {
		static const char *const names[] = { "A", "B", "C", "D", "E",
		    "F", "G", "H", "I", "J", "K", "L", "M", "N" };
		ck_assert_int_eq(kg_resp_header(&resp, names[i], "v"), KG_OK);
	}
	ck_assert_int_eq(kg_resp_header(&resp, "Z", "v"), KG_ERR_TOO_LARGE);
	kg_resp_free(&resp);
}
END_TEST

START_TEST(query_get_decodes_and_refuses_bad_input)
{
	char	v[16];

	ck_assert_int_eq(kg_query_get("a=1&scope=keys%3Aread&b", "scope",
	    v, sizeof(v)), 1);
	ck_assert_str_eq(v, "keys:read");
	ck_assert_int_eq(kg_query_get("x=a+b", "x", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "a b");
	ck_assert_int_eq(kg_query_get("flag", "flag", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(kg_query_get("", "x", v, sizeof(v)), 0);
	ck_assert_int_eq(kg_query_get("xx=1", "x", v, sizeof(v)), 0);
	ck_assert_int_eq(kg_query_get("x=1&x=2", "x", v, sizeof(v)), -1);
	ck_assert_int_eq(kg_query_get("x=%zz", "x", v, sizeof(v)), -1);
	ck_assert_int_eq(kg_query_get("x=%4", "x", v, sizeof(v)), -1);
	ck_assert_int_eq(kg_query_get("x=%00", "x", v, sizeof(v)), -1);
	ck_assert_int_eq(kg_query_get("x=0123456789abcdef", "x", v,
	    sizeof(v)), -1);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, json_escape_controls_and_quotes);
	tcase_add_test(tc, buf_grows_and_keeps_allocation);
	tcase_add_test(tc, error_shape_and_generic_headers);
	tcase_add_test(tc, refused_member_cut_on_a_character);
	tcase_add_test(tc, err_mapping_fails_closed);
	tcase_add_test(tc, header_replace_no_crlf_and_table_full);
	tcase_add_test(tc, query_get_decodes_and_refuses_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(http_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
