/* token.c: minting and parsing the opaque secrets of SPEC 3. */
#include <string.h>

#include <openssl/crypto.h>

#include "core/base/random.h"
#include "core/crypto/token.h"

static const char kg_base62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char kg_id_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

uint32_t
kg_crc32(const void *data, size_t len)
{
	static uint32_t		 table[256];
	static int		 ready;
	const unsigned char	*p = data;
	uint32_t		 c;
	size_t			 i;
	int			 k;

	/* Built on first use; idempotent, so a race only rebuilds it. */
	if (!ready) {
		for (i = 0; i < 256; i++) {
			c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	c = 0xFFFFFFFFu;
	for (i = 0; i < len; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

/* Writes the checksum of s[0..len) as 6 base62 digits into out. */
static void
check6(const char *s, size_t len, char out[KG_TOKEN_CHECK_LEN])
{
	uint32_t	v = kg_crc32(s, len);
	int		i;

	/* 62^6 > 2^32, so six digits always suffice. */
	for (i = KG_TOKEN_CHECK_LEN - 1; i >= 0; i--) {
		out[i] = kg_base62[v % 62];
		v /= 62;
	}
}

static int
all_in(const char *s, size_t len, int (*ok)(int))
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (!ok((unsigned char)s[i]))
			return 0;
	return 1;
}

static int is_lower(int c) { return c >= 'a' && c <= 'z'; }
static int is_id(int c) { return is_lower(c) || (c >= '0' && c <= '9'); }
static int is_b62(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || is_lower(c);
}

enum kg_err
kg_token_mint(const char *prefix, const char *type, char *out, char *id)
{
	size_t		plen = strlen(prefix), n;
	enum kg_err	r;

	if (plen < 2 || plen > 8 || !all_in(prefix, plen, is_lower) ||
	    strlen(type) != 2 || !all_in(type, 2, is_lower))
		return KG_ERR_INVALID;
	memcpy(out, prefix, plen);
	out[plen] = '_';
	memcpy(out + plen + 1, type, 2);
	out[plen + 3] = '_';
	n = plen + 4;
	if ((r = kg_random_chars(out + n, KG_TOKEN_ID_LEN, kg_id_alphabet,
	    sizeof(kg_id_alphabet) - 1)) != KG_OK)
		return r;
	memcpy(id, out + n, KG_TOKEN_ID_LEN);
	id[KG_TOKEN_ID_LEN] = '\0';
	n += KG_TOKEN_ID_LEN;
	out[n++] = '_';
	if ((r = kg_random_chars(out + n, KG_TOKEN_SECRET_LEN, kg_base62,
	    sizeof(kg_base62) - 1)) != KG_OK)
		return r;
	n += KG_TOKEN_SECRET_LEN;
	check6(out, n, out + n);
	out[n + KG_TOKEN_CHECK_LEN] = '\0';
	return KG_OK;
}

enum kg_err
kg_token_parse(const char *s, struct kg_token *tk)
{
	const char	*u1, *p;
	char		 want[KG_TOKEN_CHECK_LEN];
	size_t		 plen, len;

	len = strnlen(s, KG_TOKEN_MAX);
	if (len >= KG_TOKEN_MAX || (u1 = memchr(s, '_', len)) == NULL)
		return KG_ERR_INVALID;
	plen = (size_t)(u1 - s);
	/* Exact length: prefix _ tt _ id8 _ secret40 check6. */
	if (plen < 2 || plen > 8 || !all_in(s, plen, is_lower) ||
	    len != plen + 4 + KG_TOKEN_ID_LEN + 1 + KG_TOKEN_SECRET_LEN +
	    KG_TOKEN_CHECK_LEN)
		return KG_ERR_INVALID;
	p = u1 + 1;
	if (!all_in(p, 2, is_lower) || p[2] != '_')
		return KG_ERR_INVALID;
	p += 3;
	if (!all_in(p, KG_TOKEN_ID_LEN, is_id) || p[KG_TOKEN_ID_LEN] != '_')
		return KG_ERR_INVALID;
	p += KG_TOKEN_ID_LEN + 1;
	if (!all_in(p, KG_TOKEN_SECRET_LEN + KG_TOKEN_CHECK_LEN, is_b62))
		return KG_ERR_INVALID;
	check6(s, len - KG_TOKEN_CHECK_LEN, want);
	if (CRYPTO_memcmp(want, s + len - KG_TOKEN_CHECK_LEN,
	    KG_TOKEN_CHECK_LEN) != 0)
		return KG_ERR_INVALID;
	memcpy(tk->tk_prefix, s, plen);
	tk->tk_prefix[plen] = '\0';
	memcpy(tk->tk_type, u1 + 1, 2);
	tk->tk_type[2] = '\0';
	memcpy(tk->tk_id, u1 + 4, KG_TOKEN_ID_LEN);
	tk->tk_id[KG_TOKEN_ID_LEN] = '\0';
	return KG_OK;
}
