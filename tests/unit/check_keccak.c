/*
 * check_keccak.c: Keccak-256 (Ethereum's, padding 0x01) against vectors
 * from elsewhere.  The empty-string and "abc" digests are the published
 * Keccak-256 values; every other expected digest here was computed with
 * ethers.keccak256 (ethers 6, @noble/hashes), and tests/vectors/eth/
 * keccak.json holds more of them (tests/vectors/gen-eth-vectors.mjs).
 * Needs top_srcdir in the environment (make check exports it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "core/crypto/keccak.h"

/* Lower-case hex of a 32-byte digest, with the 0x of ethers' output. */
static void
tohex(const uint8_t d[KG_KECCAK256_LEN], char out[2 + 64 + 1])
{
	static const char	dig[] = "0123456789abcdef";
	size_t			i;

	out[0] = '0';
	out[1] = 'x';
	for (i = 0; i < KG_KECCAK256_LEN; i++) {
		out[2 + 2 * i] = dig[d[i] >> 4];
		out[3 + 2 * i] = dig[d[i] & 0x0f];
	}
	out[66] = '\0';
}

static void
assert_digest(const void *data, size_t len, const char *want)
{
	uint8_t	d[KG_KECCAK256_LEN];
	char	got[67];

	kg_keccak256(data, len, d);
	tohex(d, got);
	ck_assert_str_eq(got, want);
}

/* Byte i is i mod 256, the "pattern" inputs of keccak.json. */
static uint8_t *
pattern(size_t n)
{
	uint8_t	*p;
	size_t	 i;

	ck_assert_ptr_nonnull(p = malloc(n ? n : 1));
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)i;
	return p;
}

START_TEST(published_vectors)
{
	assert_digest("", 0,
	    "0xc5d2460186f7233c927e7db2dcc703c0"
	    "e500b653ca82273b7bfad8045d85a470");
	assert_digest(NULL, 0,
	    "0xc5d2460186f7233c927e7db2dcc703c0"
	    "e500b653ca82273b7bfad8045d85a470");
	assert_digest("abc", 3,
	    "0x4e03657aea45a94fc7d47ba826c8d667"
	    "c0d1e6e33a64a036ec44f58fa12d6c45");
	assert_digest("The quick brown fox jumps over the lazy dog", 43,
	    "0x4d741b6f1eb29cb2a9b9911c82f56fa8"
	    "d73b04959d3d9d222895df6c0b28aa15");
}
END_TEST

START_TEST(not_sha3)
{
	/* SHA3-256 (padding 0x06) of "": the digest keccak must NOT give. */
	uint8_t	d[KG_KECCAK256_LEN];
	char	got[67];

	kg_keccak256("", 0, d);
	tohex(d, got);
	ck_assert_str_ne(got,
	    "0xa7ffc6f8bf1ed76651c14756a061d662"
	    "f580ff4de43b49fa82d80a4b80f8434a");
}
END_TEST

START_TEST(multi_block)
{
	uint8_t	a3[200], *a;

	memset(a3, 0xa3, sizeof(a3));
	assert_digest(a3, sizeof(a3),
	    "0x3a57666b048777f2c953dc4456f45a25"
	    "88e1cb6f2da760122d530ac2ce607d4a");
	ck_assert_ptr_nonnull(a = malloc(1000000));
	memset(a, 'a', 1000000);
	assert_digest(a, 1000000,
	    "0xfadae6b49f129bbb812be8407b7b2894"
	    "f34aecf6dbd1f9b0f0c7e9853098fc96");
	free(a);
}
END_TEST

START_TEST(rate_boundaries)
{
	/* 135: both pad bytes share the last byte; 136: a whole pad block. */
	static const struct {
		size_t		 n;
		const char	*want;
	} v[] = {
	    { 1, "0xbc36789e7a1e281436464229828f817d"
		      "6612f7b477d66591ff96a9e064bcc98a" },
	    { 135, "0xcbdfd9dee5faad3818d6b06f95a219fd"
		      "290b0e1706f6a82e5a595b9ce9faca62" },
	    { 136, "0x7ce759f1ab7f9ce437719970c26b0a66"
		      "ff11fe3e38e17df89cf5d29c7d7f807e" },
	    { 137, "0xac73d4fae68b8453f764007c1a20ce95"
		      "994187861f0c3227a3a8e99a73a3b1db" },
	    { 271, "0x7c974895b2a88303ff2dc6b58f438ceb"
		      "0b298cac91099ac0539cc0f477506191" },
	    { 272, "0xfdf2ec49e749960d3c8521a0219af8d0"
		      "3e30e2b3bf19bd16150ee0eaf133d66e" },
	    { 273, "0x4f707289a9c3ccd0c4a51f2f17339f5d"
		      "d171d371c04ff7783b735b5b22682eaf" },
	};
	uint8_t	*p;
	size_t	 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		p = pattern(v[i].n);
		assert_digest(p, v[i].n, v[i].want);
		free(p);
	}
}
END_TEST

/* Streams n bytes of data in chunks of step (the last one shorter). */
static void
stream(const uint8_t *data, size_t n, size_t step, uint8_t out[32])
{
	struct kg_keccak	kk;
	size_t			off, take;

	kg_keccak_init(&kk);
	for (off = 0; off < n; off += take) {
		take = n - off < step ? n - off : step;
		kg_keccak_update(&kk, data + off, take);
		/* Empty updates anywhere change nothing. */
		kg_keccak_update(&kk, NULL, 0);
	}
	kg_keccak_final(&kk, out);
}

START_TEST(streaming_equals_one_shot)
{
	static const size_t	steps[] = {
		1, 2, 3, 7, 8, 13, 64, 135, 136, 137, 200, 271, 272, 273, 999,
	};
	/* A prime, a block multiple plus 5, a prime above 64 KiB. */
	static const size_t	big_steps[] = { 4099, 136 * 7 + 5, 65521 };
	uint8_t			*p = pattern(1000), *a;
	uint8_t			 one[32], got[32];
	size_t			 i;

	kg_keccak256(p, 1000, one);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		stream(p, 1000, steps[i], got);
		ck_assert_msg(memcmp(one, got, 32) == 0, "step %zu", steps[i]);
	}
	free(p);

	/* Irregular chunks over the million-byte vector. */
	ck_assert_ptr_nonnull(a = malloc(1000000));
	memset(a, 'a', 1000000);
	kg_keccak256(a, 1000000, one);
	for (i = 0; i < sizeof(big_steps) / sizeof(big_steps[0]); i++) {
		stream(a, 1000000, big_steps[i], got);
		ck_assert_msg(memcmp(one, got, 32) == 0, "step %zu",
		    big_steps[i]);
	}
	free(a);
}
END_TEST

START_TEST(context_reuse_after_init)
{
	struct kg_keccak	kk;
	uint8_t			d1[32], d2[32];

	kg_keccak_init(&kk);
	kg_keccak_update(&kk, "abc", 3);
	kg_keccak_final(&kk, d1);
	/* final wiped the state; init starts clean again. */
	kg_keccak_init(&kk);
	kg_keccak_update(&kk, "ab", 2);
	kg_keccak_update(&kk, "c", 1);
	kg_keccak_final(&kk, d2);
	ck_assert(memcmp(d1, d2, 32) == 0);
	/* A one-bit change in the input changes the digest. */
	kg_keccak256("abd", 3, d2);
	ck_assert(memcmp(d1, d2, 32) != 0);
}
END_TEST

static uint8_t *
unhex(const char *s, size_t *lenp)
{
	size_t	 n, i;
	uint8_t	*out;
	unsigned v;

	if (s[0] == '0' && s[1] == 'x')
		s += 2;
	n = strlen(s);
	ck_assert_uint_eq(n % 2, 0);
	ck_assert_ptr_nonnull(out = malloc(n / 2 + 1));
	for (i = 0; i < n / 2; i++) {
		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	*lenp = n / 2;
	return out;
}

static const char *
str_member(json_object *o, const char *key)
{
	json_object	*m;

	if (!json_object_object_get_ex(o, key, &m))
		return NULL;
	ck_assert_msg(json_object_is_type(m, json_type_string), "%s", key);
	return json_object_get_string(m);
}

START_TEST(ethers_json_vectors)
{
	const char	*top = getenv("top_srcdir"), *hex, *name;
	char		 path[4096];
	json_object	*doc, *vecs, *v, *cnt;
	uint8_t		*in, *one;
	size_t		 i, n, len, k;

	ck_assert_msg(top != NULL, "top_srcdir not set (run via make check)");
	snprintf(path, sizeof(path), "%s/tests/vectors/eth/keccak.json", top);
	ck_assert_msg((doc = json_object_from_file(path)) != NULL, "%s", path);
	ck_assert(json_object_object_get_ex(doc, "vectors", &vecs));
	n = json_object_array_length(vecs);
	ck_assert_uint_ge(n, 10);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(vecs, i);
		name = str_member(v, "name");
		if ((hex = str_member(v, "input_hex")) != NULL) {
			in = unhex(hex, &len);
		} else {
			/* repeat_count copies of the one byte repeat_hex. */
			ck_assert(json_object_object_get_ex(v, "repeat_count",
			    &cnt));
			one = unhex(str_member(v, "repeat_hex"), &k);
			ck_assert_uint_eq(k, 1);
			len = (size_t)json_object_get_int64(cnt);
			ck_assert_ptr_nonnull(in = malloc(len));
			memset(in, one[0], len);
			free(one);
		}
		ck_assert_msg(name != NULL, "vector %zu has no name", i);
		assert_digest(in, len, str_member(v, "keccak256"));
		free(in);
	}
	json_object_put(doc);
}
END_TEST

static Suite *
keccak_suite(void)
{
	Suite	*s = suite_create("keccak");
	TCase	*tc = tcase_create("keccak256");

	tcase_add_test(tc, published_vectors);
	tcase_add_test(tc, not_sha3);
	tcase_add_test(tc, multi_block);
	tcase_add_test(tc, rate_boundaries);
	tcase_add_test(tc, streaming_equals_one_shot);
	tcase_add_test(tc, context_reuse_after_init);
	tcase_add_test(tc, ethers_json_vectors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(keccak_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
