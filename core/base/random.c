/* random.c: random bytes and unbiased random strings from getrandom(2). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "core/base/random.h"

enum kg_err
kg_random_bytes(void *buf, size_t n)
{
	unsigned char	*p = buf;
	ssize_t		 got;

	while (n > 0) {
		got = getrandom(p, n > 256 ? 256 : n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return KG_ERR_INTERNAL;
		}
		p += got;
		n -= (size_t)got;
	}
	return KG_OK;
}

enum kg_err
kg_random_chars(char *out, size_t n, const char *alphabet, size_t alen)
{
	unsigned char	 pool[64];
	size_t		 i = 0, j = sizeof(pool), limit;
	enum kg_err	 r = KG_OK;

	if (alen == 0 || alen > 256)
		return KG_ERR_INTERNAL;
	/* Accept bytes below the largest multiple of alen: no modulo bias. */
	limit = 256 - (256 % alen);
	while (i < n) {
		if (j == sizeof(pool)) {
			if ((r = kg_random_bytes(pool, sizeof(pool))) != KG_OK)
				goto out;
			j = 0;
		}
		if (pool[j] < limit)
			out[i++] = alphabet[pool[j] % alen];
		j++;
	}
	out[n] = '\0';
out:
	OPENSSL_cleanse(pool, sizeof(pool));
	return r;
}
