/*
 * fuzz_jwt.c: libFuzzer target for JWT verification (core/crypto/jwt.c).
 *
 * A fuzzer cannot forge an HMAC, so a first byte of
 *   0x01: makes the rest a claims text, signed here with the HS256 secret
 *         so that the claims parser behind the signature check is reached;
 *   0x02: makes the rest a header text, signed the same way over claims
 *         that pass;
 * anything else: the input is a whole token, verified as presented
 * (shape, base64url, header), so plain tokens make a seed corpus.
 * Every accepted token is signed again by keygate and must verify to the
 * same claims.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/base/buf.h"
#include "core/base/config.h"
#include "core/crypto/jwt.h"

#define SECRET	"fuzz-only-hs256-secret-0123456789abcdef"
#define NOW	INT64_C(1767225600)
#define CLAIMS	"{\"iss\":\"keygate\",\"aud\":\"keygate\",\"sub\":\"s\"," \
		"\"ns\":\"n\",\"scope\":\"\",\"jti\":" \
		"\"0123456789abcdef0123456789abcdef\",\"iat\":1767225540," \
		"\"nbf\":1767225540,\"exp\":1767226440}"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
b64u(const void *data, size_t n, struct kg_buf *out)
{
	unsigned char	*t = malloc(4 * ((n + 2) / 3) + 1);
	int		 len, i;

	if (t == NULL)
		abort();
	len = EVP_EncodeBlock(t, data, (int)n);
	while (len > 0 && t[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++)
		t[i] = t[i] == '+' ? '-' : t[i] == '/' ? '_' : t[i];
	kg_buf_append(out, t, (size_t)len);
	free(t);
}

static void
mint(const void *hdr, size_t hlen, const void *pl, size_t plen,
    struct kg_buf *out)
{
	unsigned char	mac[32];
	unsigned int	maclen;

	b64u(hdr, hlen, out);
	kg_buf_puts(out, ".");
	b64u(pl, plen, out);
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
	    (const unsigned char *)kg_buf_str(out), out->b_len, mac, &maclen);
	kg_buf_puts(out, ".");
	b64u(mac, maclen, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char	 hdr[] = "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}";
	static struct kg_jwt_keys *ks;
	static struct kg_buf	 tok, again;
	struct kg_jwt_claims	 c, c2;
	enum kg_jwt_fail	 why;
	struct kg_config	 cfg;
	char			 err[256];

	if (ks == NULL) {
		if (kg_config_load(&cfg, NULL, err, sizeof(err)) != KG_OK)
			abort();
		free(cfg.jwt_secret);
		cfg.jwt_alg = KG_JWT_HS256;
		if ((cfg.jwt_secret = strdup(SECRET)) == NULL ||
		    kg_jwt_keys_load(&cfg, &ks, err, sizeof(err)) != KG_OK)
			abort();
		kg_config_free(&cfg);
	}
	if (len == 0)
		return 0;
	kg_buf_reset(&tok);
	switch (data[0]) {
	case 0x01:
		mint(hdr, strlen(hdr), data + 1, len - 1, &tok);
		break;
	case 0x02:
		mint(data + 1, len - 1, CLAIMS, strlen(CLAIMS), &tok);
		break;
	default:
		kg_buf_append(&tok, data, len);
		break;
	}
	if (kg_jwt_verify(ks, kg_buf_str(&tok), tok.b_len, NOW, 30, &c,
	    &why) != KG_OK)
		return 0;
	kg_buf_reset(&again);
	if (kg_jwt_sign(ks, &c, &again) != KG_OK ||
	    kg_jwt_verify(ks, again.b_data, again.b_len, NOW, 30, &c2,
	    &why) != KG_OK || memcmp(&c, &c2, sizeof(c)) != 0)
		__builtin_trap();
	return 0;
}
