/* audit.c: audit events (SPEC 9). */
#include <string.h>

#include "core/store/audit.h"
#include "core/store/db.h"

static struct kg_sql S_AUDIT_INSERT = KG_SQL("audit_insert",
    "INSERT INTO audit_events (at, namespace, actor_type, actor, action, "
    "target, remote_addr, outcome) "
    "VALUES (UTC_TIMESTAMP(6), ?, ?, ?, ?, ?, ?, ?)", 0);

/* A text parameter cut to max bytes, or NULL. */
static struct kg_db_param
text_or_null(const char *s, size_t max)
{
	struct kg_db_param	p;

	if (s == NULL)
		return (struct kg_db_param)KG_P_NULL();
	p = (struct kg_db_param)KG_P_TEXTN(s, strnlen(s, max));
	return p;
}

enum kg_err
kg_store_audit(struct kg_db *db, const struct kg_audit *a)
{
	struct kg_db_param	p[7];

	p[0] = text_or_null(a->au_namespace, 63);
	p[1] = text_or_null(a->au_actor_type, 16);
	p[2] = text_or_null(a->au_actor != NULL ? a->au_actor : "", 128);
	p[3] = text_or_null(a->au_action, 64);
	p[4] = text_or_null(a->au_target, 255);
	p[5] = text_or_null(a->au_remote_addr, 45);
	p[6] = text_or_null(a->au_outcome, 16);
	return kg_db_exec(db, &S_AUDIT_INSERT, p, 7, NULL);
}
