/*
 * audit.h: the audit trail of SPEC 9.  Every mint, exchange, rotation,
 * reuse detection, revocation and refused admin attempt is one row.
 * Rows never contain a secret: actors are wallets or id8 prefixes.
 */
#ifndef KG_STORE_AUDIT_H
#define KG_STORE_AUDIT_H

#include "core/base/err.h"

struct kg_db;

struct kg_audit {
	const char	*au_namespace;	/* NULL when none applies */
	const char	*au_actor_type;	/* "wallet", "admin", "api_key", ... */
	const char	*au_actor;	/* wallet address or id8 prefix */
	const char	*au_action;	/* "signin", "refresh", "refresh_reuse", ... */
	const char	*au_target;	/* NULL or what was acted on (no secret) */
	const char	*au_remote_addr; /* NULL or the client address */
	const char	*au_outcome;	/* "ok", "denied", "failed" */
};

/*
 * Writes one event, at UTC_TIMESTAMP(6).  Inside a transaction it commits
 * or rolls back with the work it records.  Over-long fields are cut to the
 * column sizes.  Returns KG_OK or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_audit(struct kg_db *, const struct kg_audit *);

#endif
