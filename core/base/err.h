/*
 * err.h: the one status enum of keygate's core.
 *
 * Core functions return enum kg_err; raw errno values and MariaDB error
 * numbers never cross a module boundary.  One place (core/api/http.c,
 * kg_resp_from_err) maps these to an HTTP status and an error code.
 */
#ifndef KG_ERR_H
#define KG_ERR_H

enum kg_err {
	KG_OK = 0,
	KG_ERR_INTERNAL,	/* broken invariant or unexpected library failure */
	KG_ERR_NOMEM,		/* allocation failed */
	KG_ERR_INVALID,		/* caller's input is malformed */
	KG_ERR_NOT_FOUND,	/* no such row / object */
	KG_ERR_CONFLICT,	/* uniqueness or state conflict */
	KG_ERR_TOO_LARGE,	/* input exceeds a configured bound */
	KG_ERR_DB,		/* database unreachable or failed: fail closed */
	KG_ERR_DB_RETRY,	/* deadlock / lock wait / certification failure */
	KG_ERR_DB_LOST,		/* connection lost during a statement */
	KG_ERR_CONFIG,		/* configuration invalid */
	KG_ERR_IO,		/* file or socket error */
	KG_ERR__MAX
};

/* Returns a static, human-readable description; never NULL. */
const char	*kg_strerror(enum kg_err);

#endif
