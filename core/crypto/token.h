/*
 * token.h: opaque secrets of SPEC 3,
 *   <prefix>_<type>_<id8>_<secret40><check6>
 * prefix: 2-8 lower-case letters (config token_prefix); type: two lower-case
 * letters (sk API key, ot org token, rt refresh token, ad admin key); id8:
 * 8 of [a-z0-9]; secret40: 40 base62; check6: CRC-32 (IEEE, as zlib) of
 * everything before it, base62 (0-9A-Za-z), most significant digit first,
 * zero-padded to 6.
 */
#ifndef KG_TOKEN_H
#define KG_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include "core/base/err.h"

#define KG_TOKEN_ID_LEN		8
#define KG_TOKEN_SECRET_LEN	40
#define KG_TOKEN_CHECK_LEN	6
/* Longest token: 8 + 1 + 2 + 1 + 8 + 1 + 40 + 6, plus the NUL. */
#define KG_TOKEN_MAX		68

struct kg_token {
	char	tk_prefix[9];			/* "kg" */
	char	tk_type[3];			/* "sk" */
	char	tk_id[KG_TOKEN_ID_LEN + 1];	/* "3f9a2c1b" */
};

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of len bytes. */
uint32_t	kg_crc32(const void *data, size_t len);

/*
 * Mints a token of type for prefix into out (KG_TOKEN_MAX bytes), and its
 * id8 into id (KG_TOKEN_ID_LEN + 1 bytes).  Returns KG_ERR_INVALID for a bad
 * prefix or type, KG_ERR_INTERNAL when the random source fails.
 */
enum kg_err	kg_token_mint(const char *prefix, const char *type,
		    char *out, char *id);

/*
 * Checks the shape and checksum of s without any other lookup and fills tk.
 * Returns KG_OK or KG_ERR_INVALID.  Runs in time independent of where a
 * wrong checksum differs (the checksum is compared in constant time).
 */
enum kg_err	kg_token_parse(const char *s, struct kg_token *tk);

#endif
