/*
 * keccak.h: Keccak-256 as Ethereum uses it.
 *
 * This is the Keccak submission's padding (domain byte 0x01), not FIPS 202
 * SHA3-256 (domain byte 0x06): the two give different digests for every
 * input, and OpenSSL only offers the latter.  Rate 136 bytes, capacity 512
 * bits, 32-byte digest.
 */
#ifndef KG_KECCAK_H
#define KG_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define KG_KECCAK256_LEN	32	/* digest bytes */
#define KG_KECCAK256_RATE	136	/* bytes absorbed per permutation */

struct kg_keccak {
	uint64_t	kk_state[25];	/* lane (x, y) at [x + 5 * y] */
	size_t		kk_pos;		/* bytes into the current block */
};

/* Starts a new hash in kk.  Any previous content of kk is discarded. */
void	kg_keccak_init(struct kg_keccak *kk);

/*
 * Absorbs len bytes of data (data may be NULL when len is 0).  Any split of
 * the input into updates gives the same digest as one update.
 */
void	kg_keccak_update(struct kg_keccak *kk, const void *data,
	    size_t len);

/*
 * Writes the 32-byte digest to out and wipes kk; call kg_keccak_init before
 * using kk again.
 */
void	kg_keccak_final(struct kg_keccak *kk,
	    uint8_t out[KG_KECCAK256_LEN]);

/* One-shot Keccak-256 of len bytes of data into out. */
void	kg_keccak256(const void *data, size_t len,
	    uint8_t out[KG_KECCAK256_LEN]);

#endif
