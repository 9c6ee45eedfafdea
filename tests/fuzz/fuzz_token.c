/* fuzz_token.c: libFuzzer target for credential and query parsing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/api/http.h"
#include "core/crypto/token.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct kg_token	 tk;
	char		*s, out[64];

	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if (kg_token_parse(s, &tk) == KG_OK && strlen(tk.tk_id) != 8)
		__builtin_trap();
	kg_query_get(s, "scope", out, sizeof(out));
	kg_query_get(s, "", out, sizeof(out));
	free(s);
	return 0;
}
