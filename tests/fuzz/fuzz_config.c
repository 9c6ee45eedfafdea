/* fuzz_config.c: libFuzzer target for the configuration parser. */
#include <stddef.h>
#include <stdint.h>

#include "core/base/config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct kg_config	cfg;
	char			err[512];

	kg_config_load_mem(&cfg, "fuzz", (const char *)data, len, err,
	    sizeof(err));
	kg_config_free(&cfg);
	return 0;
}
