/*
 * keccak.c: Keccak-f[1600] and the Keccak-256 sponge (Ethereum's variant).
 *
 * Written from the Keccak reference (FIPS 202 section 3 for the step
 * mappings; the submission's pad10*1 with domain byte 0x01).  Lanes are
 * 64-bit words; bytes enter and leave a lane little-endian, composed byte
 * by byte, so there is no unaligned or endian-dependent access.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "core/crypto/keccak.h"

#define KECCAK_ROUNDS	24

/* Round constants RC[i] of the iota step (FIPS 202, algorithm 6). */
static const uint64_t keccak_rc[KECCAK_ROUNDS] = {
	0x0000000000000001ULL, 0x0000000000008082ULL,
	0x800000000000808AULL, 0x8000000080008000ULL,
	0x000000000000808BULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL,
	0x000000000000008AULL, 0x0000000000000088ULL,
	0x0000000080008009ULL, 0x000000008000000AULL,
	0x000000008000808BULL, 0x800000000000008BULL,
	0x8000000000008089ULL, 0x8000000000008003ULL,
	0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800AULL, 0x800000008000000AULL,
	0x8000000080008081ULL, 0x8000000000008080ULL,
	0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Rotation offsets of the rho step, lane (x, y) at index x + 5 * y. */
static const unsigned keccak_rho[25] = {
	 0,  1, 62, 28, 27,
	36, 44,  6, 55, 20,
	 3, 10, 43, 25, 39,
	41, 45, 15, 21,  8,
	18,  2, 61, 56, 14,
};

static inline uint64_t
rotl64(uint64_t v, unsigned n)
{
	/* The mask keeps n == 0 defined (a shift by 64 is not). */
	return (v << n) | (v >> ((64 - n) & 63));
}

static inline uint64_t
load64_le(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 |
	    (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	    (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	    (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* Keccak-f[1600]: 24 rounds of theta, rho, pi, chi, iota on a[25]. */
static void
keccak_f1600(uint64_t a[25])
{
	uint64_t	b[25], c[5], d;
	unsigned	round, x, y;

	for (round = 0; round < KECCAK_ROUNDS; round++) {
		/* theta: xor each lane with the parities of two columns. */
		for (x = 0; x < 5; x++)
			c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^
			    a[x + 20];
		for (x = 0; x < 5; x++) {
			d = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
			for (y = 0; y < 25; y += 5)
				a[y + x] ^= d;
		}
		/* rho and pi: B[y, 2x + 3y] = ROT(A[x, y], rho[x, y]). */
		for (y = 0; y < 5; y++)
			for (x = 0; x < 5; x++)
				b[y + 5 * ((2 * x + 3 * y) % 5)] =
				    rotl64(a[x + 5 * y], keccak_rho[x + 5 * y]);
		/* chi: the only non-linear step, along each row. */
		for (y = 0; y < 25; y += 5)
			for (x = 0; x < 5; x++)
				a[y + x] = b[y + x] ^
				    (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
		/* iota */
		a[0] ^= keccak_rc[round];
	}
}

void
kg_keccak_init(struct kg_keccak *kk)
{
	memset(kk, 0, sizeof(*kk));
}

void
kg_keccak_update(struct kg_keccak *kk, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 i;

	/* Fill an open block byte by byte. */
	while (len > 0 && kk->kk_pos != 0) {
		kk->kk_state[kk->kk_pos / 8] ^=
		    (uint64_t)*p++ << (8 * (kk->kk_pos % 8));
		len--;
		if (++kk->kk_pos == KG_KECCAK256_RATE) {
			keccak_f1600(kk->kk_state);
			kk->kk_pos = 0;
		}
	}
	/* Whole blocks: 17 lanes at a time. */
	while (len >= KG_KECCAK256_RATE) {
		for (i = 0; i < KG_KECCAK256_RATE / 8; i++)
			kk->kk_state[i] ^= load64_le(p + 8 * i);
		keccak_f1600(kk->kk_state);
		p += KG_KECCAK256_RATE;
		len -= KG_KECCAK256_RATE;
	}
	/* The tail opens a new block (kk_pos is 0 here). */
	for (i = 0; i < len; i++)
		kk->kk_state[i / 8] ^= (uint64_t)p[i] << (8 * (i % 8));
	kk->kk_pos += len;
}

void
kg_keccak_final(struct kg_keccak *kk, uint8_t out[KG_KECCAK256_LEN])
{
	size_t	i;

	/*
	 * pad10*1 with Keccak's domain bit: 0x01 after the message, 0x80 in
	 * the last byte of the block (both in one byte when kk_pos is 135).
	 * SHA3-256 would put 0x06 here.
	 */
	kk->kk_state[kk->kk_pos / 8] ^=
	    (uint64_t)0x01 << (8 * (kk->kk_pos % 8));
	kk->kk_state[(KG_KECCAK256_RATE - 1) / 8] ^=
	    (uint64_t)0x80 << (8 * ((KG_KECCAK256_RATE - 1) % 8));
	keccak_f1600(kk->kk_state);
	for (i = 0; i < KG_KECCAK256_LEN; i++)
		out[i] = (uint8_t)(kk->kk_state[i / 8] >> (8 * (i % 8)));
	/* Callers may hash secrets one day; leave nothing behind. */
	OPENSSL_cleanse(kk, sizeof(*kk));
}

void
kg_keccak256(const void *data, size_t len, uint8_t out[KG_KECCAK256_LEN])
{
	struct kg_keccak	kk;

	kg_keccak_init(&kk);
	kg_keccak_update(&kk, data, len);
	kg_keccak_final(&kk, out);
}
