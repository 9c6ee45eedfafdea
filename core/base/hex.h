/*
 * hex.h: hexadecimal digits, the one definition every parser uses.
 */
#ifndef KG_HEX_H
#define KG_HEX_H

#include <stddef.h>

/* Lower-case digits, for encoding. */
#define KG_HEX_DIGITS	"0123456789abcdef"

/* The value of hex digit c (either case), or -1. */
static inline int
kg_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Writes the n bytes of p as 2n lower-case hex digits and a NUL into out
 * (2n + 1 bytes).
 */
static inline void
kg_hex_encode(const void *p, size_t n, char *out)
{
	const unsigned char	*b = p;
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = KG_HEX_DIGITS[b[i] >> 4];
		out[2 * i + 1] = KG_HEX_DIGITS[b[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

#endif
