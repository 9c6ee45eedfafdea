/* err.c: descriptions of enum kg_err. */
#include <stddef.h>

#include "core/base/err.h"

static const char *const kg_err_text[KG_ERR__MAX] = {
	[KG_OK] = "success",
	[KG_ERR_INTERNAL] = "internal error",
	[KG_ERR_NOMEM] = "out of memory",
	[KG_ERR_INVALID] = "invalid input",
	[KG_ERR_NOT_FOUND] = "not found",
	[KG_ERR_CONFLICT] = "conflict",
	[KG_ERR_TOO_LARGE] = "input too large",
	[KG_ERR_DB] = "database unavailable",
	[KG_ERR_DB_RETRY] = "database transaction must be retried",
	[KG_ERR_DB_LOST] = "database connection lost",
	[KG_ERR_CONFIG] = "invalid configuration",
	[KG_ERR_IO] = "input/output error",
};

const char *
kg_strerror(enum kg_err e)
{
	if ((unsigned)e >= KG_ERR__MAX || kg_err_text[e] == NULL)
		return "unknown error";
	return kg_err_text[e];
}
