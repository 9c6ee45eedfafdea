/*
 * eth.c: EIP-191 personal_sign hashing, EIP-55 addresses, strict 65-byte
 * signature parsing and secp256k1 public-key recovery.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "core/base/random.h"
#include "core/base/hex.h"
#include "core/crypto/eth.h"
#include "core/crypto/keccak.h"

/* libsecp256k1 before 0.2.0 has no NONE; VERIFY is what recovery needs. */
#ifndef SECP256K1_CONTEXT_NONE
#define SECP256K1_CONTEXT_NONE	SECP256K1_CONTEXT_VERIFY
#endif

struct kg_eth {
	secp256k1_context	*ke_ctx;
};

/*
 * "\x19" is split from "Ethereum": a hex escape would swallow the 'E'.
 * EIP-191 version 0x45 ('E') is this whole string.
 */
static const char eth_prefix[] = "\x19" "Ethereum Signed Message:\n";

/* The order n of secp256k1's group and floor(n / 2), big-endian. */
static const uint8_t secp_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};
static const uint8_t secp_half_n[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

static const char hexdig[] = KG_HEX_DIGITS;

/* Decodes 2 * n hex digits of s into out; returns 0 on a non-hex digit. */
static int
hex_decode(const char *s, uint8_t *out, size_t n)
{
	size_t	i;
	int	hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = kg_hex_value((unsigned char)s[2 * i])) < 0 ||
		    (lo = kg_hex_value((unsigned char)s[2 * i + 1])) < 0)
			return 0;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 1;
}

static int
is_zero32(const uint8_t *p)
{
	uint8_t	acc = 0;
	size_t	i;

	for (i = 0; i < 32; i++)
		acc |= p[i];
	return acc == 0;
}

/*
 * The scalar policy of SPEC 4: 0 < r < n and 0 < s <= n/2.  Big-endian
 * byte strings of equal length compare like the numbers they hold.
 */
static int
sig_scalars_ok(const uint8_t rs[64])
{
	const uint8_t	*r = rs, *s = rs + 32;

	return !is_zero32(r) && memcmp(r, secp_n, 32) < 0 &&
	    !is_zero32(s) && memcmp(s, secp_half_n, 32) <= 0;
}

void
kg_eth_personal_hash(const void *msg, size_t len,
    uint8_t out[KG_ETH_HASH_LEN])
{
	struct kg_keccak	 kk;
	char			 dec[24];	/* 2^64 has 20 digits */
	char			*p = dec + sizeof(dec);
	size_t			 n = len;

	do {
		*--p = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	kg_keccak_init(&kk);
	kg_keccak_update(&kk, eth_prefix, sizeof(eth_prefix) - 1);
	kg_keccak_update(&kk, p, (size_t)(dec + sizeof(dec) - p));
	kg_keccak_update(&kk, msg, len);
	kg_keccak_final(&kk, out);
}

void
kg_eth_address_lower(const uint8_t addr[KG_ETH_ADDR_LEN],
    char out[KG_ETH_ADDR_STRLEN])
{
	size_t	i;

	out[0] = '0';
	out[1] = 'x';
	for (i = 0; i < KG_ETH_ADDR_LEN; i++) {
		out[2 + 2 * i] = hexdig[addr[i] >> 4];
		out[3 + 2 * i] = hexdig[addr[i] & 0x0f];
	}
	out[KG_ETH_ADDR_STRLEN - 1] = '\0';
}

void
kg_eth_address_checksum(const uint8_t addr[KG_ETH_ADDR_LEN],
    char out[KG_ETH_ADDR_STRLEN])
{
	uint8_t	h[KG_KECCAK256_LEN];
	size_t	i;
	int	nib;

	/* EIP-55 hashes the 40 lower-case ASCII digits, not the bytes. */
	kg_eth_address_lower(addr, out);
	kg_keccak256(out + 2, 2 * KG_ETH_ADDR_LEN, h);
	for (i = 0; i < 2 * KG_ETH_ADDR_LEN; i++) {
		/* Digit i of the address takes nibble i of the hash. */
		nib = (i % 2 == 0) ? h[i / 2] >> 4 : h[i / 2] & 0x0f;
		if (nib >= 8 && out[2 + i] >= 'a')
			out[2 + i] = (char)(out[2 + i] - 'a' + 'A');
	}
}

enum kg_err
kg_eth_address_parse(const char *s, uint8_t out[KG_ETH_ADDR_LEN])
{
	char	want[KG_ETH_ADDR_STRLEN];
	int	lower = 0, upper = 0;
	size_t	i;

	if (strnlen(s, KG_ETH_ADDR_STRLEN) != KG_ETH_ADDR_STRLEN - 1 ||
	    s[0] != '0' || s[1] != 'x' ||
	    !hex_decode(s + 2, out, KG_ETH_ADDR_LEN))
		return KG_ERR_INVALID;
	for (i = 2; i < KG_ETH_ADDR_STRLEN - 1; i++) {
		if (s[i] >= 'a' && s[i] <= 'f')
			lower = 1;
		else if (s[i] >= 'A' && s[i] <= 'F')
			upper = 1;
	}
	/* Only a mixed-case address claims a checksum: hold it to it. */
	if (lower && upper) {
		kg_eth_address_checksum(out, want);
		if (memcmp(want, s, KG_ETH_ADDR_STRLEN - 1) != 0)
			return KG_ERR_INVALID;
	}
	return KG_OK;
}

enum kg_err
kg_eth_sig_parse(const char *hex, struct kg_eth_sig *sig)
{
	uint8_t	raw[KG_ETH_SIG_LEN];
	size_t	len;
	int	recid;

	if (hex[0] == '0' && hex[1] == 'x')
		hex += 2;
	/* strnlen: never read far past a long input. */
	len = strnlen(hex, 2 * KG_ETH_SIG_LEN + 1);
	if (len != 2 * KG_ETH_SIG_LEN || !hex_decode(hex, raw, KG_ETH_SIG_LEN))
		return KG_ERR_INVALID;
	/* 0/1 as secp256k1 has it, 27/28 as Ethereum wallets send it. */
	switch (raw[64]) {
	case 0:
	case 1:
		recid = raw[64];
		break;
	case 27:
	case 28:
		recid = raw[64] - 27;
		break;
	default:
		return KG_ERR_INVALID;
	}
	if (!sig_scalars_ok(raw))
		return KG_ERR_INVALID;
	memcpy(sig->rs, raw, sizeof(sig->rs));
	sig->recid = recid;
	return KG_OK;
}

void
kg_eth_free(struct kg_eth *e)
{
	if (e == NULL)
		return;
	if (e->ke_ctx != NULL)
		secp256k1_context_destroy(e->ke_ctx);
	free(e);
}

enum kg_err
kg_eth_new(struct kg_eth **out)
{
	struct kg_eth	*e = NULL;
	unsigned char	 seed[32];
	enum kg_err	 r = KG_ERR_INTERNAL;

	*out = NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		r = KG_ERR_NOMEM;
		goto out;
	}
	if ((e->ke_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE)) ==
	    NULL) {
		r = KG_ERR_NOMEM;
		goto out;
	}
	/*
	 * Randomisation blinds operations on secret keys; recovery has none,
	 * but it is cheap, done once, and libsecp256k1 recommends it.
	 */
	if ((r = kg_random_bytes(seed, sizeof(seed))) != KG_OK)
		goto out;
	if (!secp256k1_context_randomize(e->ke_ctx, seed)) {
		r = KG_ERR_INTERNAL;
		goto out;
	}
	*out = e;
	e = NULL;
	r = KG_OK;
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	kg_eth_free(e);
	return r;
}

enum kg_err
kg_eth_recover(struct kg_eth *e, const uint8_t hash[KG_ETH_HASH_LEN],
    const struct kg_eth_sig *sig, uint8_t pub65[KG_ETH_PUB_LEN],
    uint8_t addr[KG_ETH_ADDR_LEN])
{
	secp256k1_ecdsa_recoverable_signature	rsig;
	secp256k1_pubkey			pk;
	uint8_t					pub[KG_ETH_PUB_LEN];
	uint8_t					h[KG_KECCAK256_LEN];
	size_t					publen = sizeof(pub);

	/*
	 * libsecp256k1 aborts on a recid outside 0..3 and happily recovers
	 * from a high s: check here, not only in kg_eth_sig_parse.
	 */
	if ((sig->recid != 0 && sig->recid != 1) || !sig_scalars_ok(sig->rs))
		return KG_ERR_INVALID;
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(e->ke_ctx,
	    &rsig, sig->rs, sig->recid) ||
	    !secp256k1_ecdsa_recover(e->ke_ctx, &pk, &rsig, hash))
		return KG_ERR_INVALID;
	if (!secp256k1_ec_pubkey_serialize(e->ke_ctx, pub, &publen, &pk,
	    SECP256K1_EC_UNCOMPRESSED) || publen != sizeof(pub) ||
	    pub[0] != 0x04)
		return KG_ERR_INTERNAL;
	/* The address is the tail of the hash of X || Y, without the 0x04. */
	kg_keccak256(pub + 1, sizeof(pub) - 1, h);
	memcpy(addr, h + sizeof(h) - KG_ETH_ADDR_LEN, KG_ETH_ADDR_LEN);
	if (pub65 != NULL)
		memcpy(pub65, pub, sizeof(pub));
	return KG_OK;
}

enum kg_eth_verdict
kg_eth_verify_personal(struct kg_eth *e, const void *msg, size_t len,
    const struct kg_eth_sig *sig, const uint8_t expect[KG_ETH_ADDR_LEN],
    uint8_t pub65_out[KG_ETH_PUB_LEN])
{
	uint8_t	hash[KG_ETH_HASH_LEN], addr[KG_ETH_ADDR_LEN];
	uint8_t	pub[KG_ETH_PUB_LEN];

	kg_eth_personal_hash(msg, len, hash);
	/* Any failure, KG_ERR_INTERNAL included, fails closed. */
	if (kg_eth_recover(e, hash, sig, pub, addr) != KG_OK)
		return KG_ETH_UNRECOVERABLE;
	/* Addresses are public: a plain comparison leaks nothing. */
	if (memcmp(addr, expect, KG_ETH_ADDR_LEN) != 0)
		return KG_ETH_MISMATCH;
	if (pub65_out != NULL)
		memcpy(pub65_out, pub, sizeof(pub));
	return KG_ETH_MATCH;
}
