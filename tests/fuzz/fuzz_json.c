/* fuzz_json.c: libFuzzer target for declared JSON input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/base/json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct kg_jfield fields[] = {
	{ "wallet",	KG_JT_STRING,	KG_JF_REQUIRED, 1, 64 },
	{ "nonce",	KG_JT_STRING,	0, 0, 64 },
	{ "chain_id",	KG_JT_INT,	0, 1, 1000000 },
	{ "all",	KG_JT_BOOL,	0, 0, 0 },
	{ "scopes",	KG_JT_STRINGS,	KG_JF_NULLABLE, 0, 16 },
	{ NULL,		0,		0, 0, 0 },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct kg_json	js;	/* reused, as a worker does */
	struct kg_jval		v[5];
	const char		*bad;
	size_t			i;

	if (kg_json_parse(&js, (const char *)data, len, fields, v, &bad) ==
	    KG_JSON_OK) {
		/* Touch what a handler would read. */
		if (v[0].jv_present && strlen(v[0].jv_str) != v[0].jv_len)
			__builtin_trap();
		for (i = 0; i < v[4].jv_len; i++)
			if (kg_json_item(&v[4], i) == NULL)
				__builtin_trap();
	}
	return 0;
}
