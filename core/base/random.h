/*
 * random.h: the one random source, the kernel CSPRNG (getrandom(2)).
 * There is no fallback: when it fails, the caller fails.
 */
#ifndef KG_RANDOM_H
#define KG_RANDOM_H

#include <stddef.h>
#include "core/base/err.h"

/* Fills buf with n random bytes.  Returns KG_OK or KG_ERR_INTERNAL. */
enum kg_err	kg_random_bytes(void *buf, size_t n);

/*
 * Writes n characters drawn uniformly from alphabet (length alen, at most
 * 256) into out, then a NUL; out must hold n + 1 bytes.  Rejection sampling
 * keeps the draw unbiased.
 */
enum kg_err	kg_random_chars(char *out, size_t n, const char *alphabet,
		    size_t alen);

#endif
