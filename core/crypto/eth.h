/*
 * eth.h: the Ethereum pieces of wallet sign-in (SPEC 1 and 4).
 *
 *  - EIP-191 version 0x45 ("personal_sign") message hash;
 *  - addresses: parsing with EIP-55 checksum verification, lower-case and
 *    EIP-55 rendering;
 *  - 65-byte r || s || v signatures: strict parsing (v in {0, 1, 27, 28},
 *    r and s in [1, n), low s only);
 *  - public-key recovery with libsecp256k1, one context per worker, and
 *    address derivation (last 20 bytes of Keccak-256(X || Y)).
 *
 * Nothing here allocates except kg_eth_new.
 */
#ifndef KG_ETH_H
#define KG_ETH_H

#include <stddef.h>
#include <stdint.h>
#include "core/base/err.h"

#define KG_ETH_HASH_LEN		32	/* Keccak-256 digest */
#define KG_ETH_ADDR_LEN		20	/* binary address */
#define KG_ETH_ADDR_STRLEN	43	/* "0x" + 40 hex + NUL */
#define KG_ETH_PUB_LEN		65	/* 0x04 || X || Y */
#define KG_ETH_SIG_LEN		65	/* r || s || v */

/* A parsed signature: rs is r || s big-endian; recid is 0 or 1. */
struct kg_eth_sig {
	uint8_t	rs[64];
	int	recid;
};

/* One libsecp256k1 context; opaque.  Not for concurrent use. */
struct kg_eth;

/* What kg_eth_verify_personal found; both failures mean "not this wallet". */
enum kg_eth_verdict {
	KG_ETH_MATCH = 0,	/* recovered the expected address */
	KG_ETH_MISMATCH,	/* recovered a key, but another address */
	KG_ETH_UNRECOVERABLE,	/* no key recovers from hash and sig */
	KG_ETH_VERDICT__MAX
};

/*
 * Writes to out the EIP-191 personal_sign digest of len bytes of msg:
 * Keccak-256("\x19Ethereum Signed Message:\n" || decimal len || msg).
 * The prefix is added here exactly once; msg is taken as given, even when
 * it already starts with the prefix.
 */
void	kg_eth_personal_hash(const void *msg, size_t len,
	    uint8_t out[KG_ETH_HASH_LEN]);

/*
 * Parses s, "0x" and exactly 40 hex digits, into out.  All-lower and
 * all-upper digits are accepted as they are; a mixed-case address must be
 * exactly its EIP-55 checksum form.  Returns KG_OK, or KG_ERR_INVALID for
 * anything else ("0X", missing prefix, wrong length, non-hex, bad
 * checksum); out is then unspecified.
 */
enum kg_err	kg_eth_address_parse(const char *s,
		    uint8_t out[KG_ETH_ADDR_LEN]);

/* Writes "0x" + 40 lower-case hex digits of addr and a NUL to out. */
void	kg_eth_address_lower(const uint8_t addr[KG_ETH_ADDR_LEN],
	    char out[KG_ETH_ADDR_STRLEN]);

/* Writes the EIP-55 mixed-case form of addr and a NUL to out. */
void	kg_eth_address_checksum(const uint8_t addr[KG_ETH_ADDR_LEN],
	    char out[KG_ETH_ADDR_STRLEN]);

/*
 * Parses hex, an optional "0x" then exactly 130 hex digits in any case
 * (r || s || v, 65 bytes), into sig, normalising v 27/28 to recid 0/1.
 * Returns KG_OK, or KG_ERR_INVALID (SPEC 4: 400 invalid_signature) for any
 * other length, a non-hex digit, v outside {0, 1, 27, 28}, r or s zero or
 * not below the group order n, or s above n/2 (the malleable twin of a
 * low-s signature); sig is then left untouched.  "0X" is not a prefix.
 */
enum kg_err	kg_eth_sig_parse(const char *hex, struct kg_eth_sig *sig);

/*
 * Creates a randomised libsecp256k1 context in *out, for one worker's
 * lifetime.  Returns KG_OK; KG_ERR_NOMEM, or KG_ERR_INTERNAL when the
 * random source or libsecp256k1 fails, with *out NULL.  Free it with
 * kg_eth_free.
 */
enum kg_err	kg_eth_new(struct kg_eth **out);

/* Frees e; NULL is allowed. */
void	kg_eth_free(struct kg_eth *e);

/*
 * Recovers the public key that made sig over the 32-byte hash, writes its
 * address to addr and, if pub65 is not NULL, the key as 0x04 || X || Y to
 * pub65.  sig is checked again as kg_eth_sig_parse would (recid 0 or 1, low
 * s), so a hand-built one cannot slip through.  Returns KG_OK, or
 * KG_ERR_INVALID when no key recovers (outputs then unspecified), or
 * KG_ERR_INTERNAL on a libsecp256k1 invariant failure.
 */
enum kg_err	kg_eth_recover(struct kg_eth *e,
		    const uint8_t hash[KG_ETH_HASH_LEN],
		    const struct kg_eth_sig *sig, uint8_t pub65[KG_ETH_PUB_LEN],
		    uint8_t addr[KG_ETH_ADDR_LEN]);

/*
 * The verify flow's one call: does sig, over the EIP-191 personal_sign hash
 * of len bytes of msg, come from the address expect?  Returns KG_ETH_MATCH,
 * and then, if pub65_out is not NULL, the signer's key in it (SPEC 4,
 * POST /v1/apps); KG_ETH_MISMATCH for a valid signature by another key or
 * over other bytes; KG_ETH_UNRECOVERABLE for anything else (pub65_out is
 * left alone in both).  The handler answers both failures 401
 * signature_mismatch; a malformed signature never gets here (it is a 400 at
 * kg_eth_sig_parse).
 */
enum kg_eth_verdict	kg_eth_verify_personal(struct kg_eth *e,
			    const void *msg, size_t len,
			    const struct kg_eth_sig *sig,
			    const uint8_t expect[KG_ETH_ADDR_LEN],
			    uint8_t pub65_out[KG_ETH_PUB_LEN]);

#endif
