/*
 * fuzz_siwe.c: libFuzzer target for the EIP-4361 parser.  Whatever parses
 * must format back to the same bytes (the parser and the formatter agree
 * on one grammar).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/base/buf.h"
#include "core/crypto/siwe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct kg_buf	out;
	struct kg_siwe		sw;

	if (kg_siwe_parse((const char *)data, len, &sw) != KG_OK)
		return 0;
	kg_buf_reset(&out);
	if (kg_siwe_format(&sw, &out) != KG_OK || out.b_len != len ||
	    memcmp(out.b_data, data, len) != 0)
		__builtin_trap();
	return 0;
}
