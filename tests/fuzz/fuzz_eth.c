/* fuzz_eth.c: libFuzzer target for wallet address and signature parsing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto/eth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct kg_eth	*eth;
	struct kg_eth_sig	 sig;
	uint8_t			 addr[20], hash[32] = { 1 };
	char			*s, back[43];

	if (eth == NULL && kg_eth_new(&eth) != KG_OK)
		abort();
	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if (kg_eth_address_parse(s, addr) == KG_OK) {
		/* A parsed address formats back to an accepted form. */
		kg_eth_address_checksum(addr, back);
		if (kg_eth_address_parse(back, addr) != KG_OK)
			__builtin_trap();
	}
	if (kg_eth_sig_parse(s, &sig) == KG_OK)
		(void)kg_eth_recover(eth, hash, &sig, NULL, addr);
	free(s);
	return 0;
}
