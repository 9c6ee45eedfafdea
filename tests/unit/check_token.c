/*
 * check_token.c: opaque token format of SPEC 3.  The expected tokens were
 * computed independently with Python's zlib.crc32 and a base62 encoder
 * (python3 -c 'import zlib; ...'), not with keygate's own code.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/base/random.h"
#include "core/crypto/token.h"

START_TEST(crc32_matches_zlib)
{
	ck_assert_uint_eq(kg_crc32("", 0), 0);
	ck_assert_uint_eq(kg_crc32("123456789", 9), 0xCBF43926u);
	ck_assert_uint_eq(kg_crc32("kg_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    55), 0xF56A5CCCu);
}
END_TEST

static const char *const good[] = {
	"kg_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8po",
	"kg_ot_abcdefgh_0123456789abcdefghijABCDEFGHIJ01234567890idUtg",
	"acme_rt_00000000_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz1DJtr1",
};

START_TEST(parse_independent_vectors)
{
	struct kg_token tk;

	ck_assert_int_eq(kg_token_parse(good[0], &tk), KG_OK);
	ck_assert_str_eq(tk.tk_prefix, "kg");
	ck_assert_str_eq(tk.tk_type, "sk");
	ck_assert_str_eq(tk.tk_id, "3f9a2c1b");
	ck_assert_int_eq(kg_token_parse(good[1], &tk), KG_OK);
	ck_assert_str_eq(tk.tk_type, "ot");
	ck_assert_int_eq(kg_token_parse(good[2], &tk), KG_OK);
	ck_assert_str_eq(tk.tk_prefix, "acme");
	ck_assert_str_eq(tk.tk_type, "rt");
	ck_assert_str_eq(tk.tk_id, "00000000");
}
END_TEST

START_TEST(parse_refuses_every_malformed_shape)
{
	static const char *const bad[] = {
		"",
		"kg",
		"kg_sk_",
		/* checksum off by one character */
		"kg_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8pp",
		/* one secret character changed, checksum kept */
		"kg_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB4Ue8po",
		/* upper-case prefix */
		"KG_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8po",
		/* upper-case id */
		"kg_sk_3F9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8po",
		/* short secret */
		"kg_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8po",
		/* long secret */
		"kg_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8po",
		/* non-base62 character */
		"kg_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAA-AAAAAAAAAAAAAAAAAAA4Ue8po",
		/* one-letter prefix and nine-letter prefix */
		"k_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8po",
		"abcdefghi_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8po",
		/* three-letter type */
		"kg_skx3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8po",
		/* missing separator before the secret */
		"kg_sk_3f9a2c1bAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8po",
		/* trailing garbage */
		"kg_sk_3f9a2c1b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4Ue8po ",
		"mit_0123456789abcdef0123456789abcdef01234567",
		"eyJhbGciOiJIUzI1NiJ9.e30.x",
	};
	struct kg_token	tk;
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(kg_token_parse(bad[i], &tk) == KG_ERR_INVALID,
		    "accepted bad[%zu]", i);
}
END_TEST

START_TEST(mint_then_parse_and_uniqueness)
{
	char		a[KG_TOKEN_MAX], b[KG_TOKEN_MAX], id[KG_TOKEN_ID_LEN + 1];
	struct kg_token	tk;

	ck_assert_int_eq(kg_token_mint("kg", "sk", a, id), KG_OK);
	ck_assert_uint_eq(strlen(a), 2 + 4 + 8 + 1 + 40 + 6);
	ck_assert_int_eq(kg_token_parse(a, &tk), KG_OK);
	ck_assert_str_eq(tk.tk_id, id);
	ck_assert_int_eq(kg_token_mint("kg", "sk", b, id), KG_OK);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(kg_token_mint("K", "sk", a, id), KG_ERR_INVALID);
	ck_assert_int_eq(kg_token_mint("kg", "s", a, id), KG_ERR_INVALID);
	ck_assert_int_eq(kg_token_mint("kg", "SK", a, id), KG_ERR_INVALID);
	ck_assert_int_eq(kg_token_mint("abcdefghi", "sk", a, id), KG_ERR_INVALID);
	ck_assert_int_eq(kg_token_mint("abcdefgh", "ad", a, id), KG_OK);
	ck_assert_int_eq(kg_token_parse(a, &tk), KG_OK);
}
END_TEST

START_TEST(random_chars_cover_alphabet)
{
	char	s[4001];
	int	seen[3] = { 0, 0, 0 };
	size_t	i;

	ck_assert_int_eq(kg_random_chars(s, 4000, "abc", 3), KG_OK);
	ck_assert_uint_eq(strlen(s), 4000);
	for (i = 0; i < 4000; i++) {
		ck_assert(s[i] >= 'a' && s[i] <= 'c');
		seen[s[i] - 'a']++;
	}
	/* Each of three symbols: expectation 1333, far from 0 or 4000. */
	for (i = 0; i < 3; i++)
		ck_assert(seen[i] > 1000 && seen[i] < 1700);
	ck_assert_int_eq(kg_random_chars(s, 1, "", 0), KG_ERR_INTERNAL);
}
END_TEST

static Suite *
token_suite(void)
{
	Suite	*s = suite_create("token");
	TCase	*tc = tcase_create("opaque");

	tcase_add_test(tc, crc32_matches_zlib);
	tcase_add_test(tc, parse_independent_vectors);
	tcase_add_test(tc, parse_refuses_every_malformed_shape);
	tcase_add_test(tc, mint_then_parse_and_uniqueness);
	tcase_add_test(tc, random_chars_cover_alphabet);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(token_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
