/*
 * audit.h: the audit trail of SPEC 9.  Every mint, exchange, rotation,
 * reuse detection, revocation and refused admin attempt is one row.
 * Rows never contain a secret: actors are wallets or id8 prefixes.
 */
#ifndef KG_STORE_AUDIT_H
#define KG_STORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

struct kg_db;

struct kg_audit {
	const char	*au_namespace;	/* NULL when none applies */
	const char	*au_actor_type;	/* "wallet", "admin", "api_key", ... */
	const char	*au_actor;	/* wallet address or id8 prefix */
	const char	*au_action;	/* "signin", "refresh", "refresh_reuse", ... */
	const char	*au_target;	/* NULL or what was acted on (no secret) */
	const char	*au_remote_addr; /* NULL or the client address */
	/* "ok"; "denied": not allowed; "failed": allowed, but the target
	 * was absent or in the wrong state (a 404 or 409). */
	const char	*au_outcome;
};

/*
 * Writes one event, at UTC_TIMESTAMP(6).  Inside a transaction it commits
 * or rolls back with the work it records.  Over-long fields are cut to the
 * column sizes.  Returns KG_OK or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_audit(struct kg_db *, const struct kg_audit *);

/* The size of audit_events.action, in bytes (ASCII). */
#define KG_AUDIT_ACTION_MAX	64

/* One event as listed.  The strings live only during the callback. */
struct kg_audit_event {
	uint64_t	 ae_id;		/* AUTO_INCREMENT: the order written */
	int64_t		 ae_at_us;	/* microseconds since the epoch, UTC */
	struct kg_audit	 ae;		/* NULL for SQL NULL columns */
};

/*
 * Calls fn for the events of namespace ns (by name: events of refused
 * attempts may name a namespace that does not exist), newest first (id
 * descending), with id below before (0: from the newest), with action
 * equal to action unless it is NULL, at most limit of them.  Both forms
 * walk an index (audit_events_namespace, audit_events_namespace_action).
 * *n receives the number of rows passed to fn.  Returns KG_OK, fn's
 * first non-KG_OK status, or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_audit_list(struct kg_db *, const char *ns,
		    uint64_t before, const char *action, size_t limit,
		    enum kg_err (*fn)(const struct kg_audit_event *, void *),
		    void *arg, size_t *n);

#endif
