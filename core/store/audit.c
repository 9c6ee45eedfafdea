/* audit.c: audit events (SPEC 9). */
#include <stdint.h>
#include <string.h>

#include "core/store/audit.h"
#include "core/store/db.h"

static struct kg_sql S_AUDIT_INSERT = KG_SQL("audit_insert",
    "INSERT INTO audit_events (at, namespace, actor_type, actor, action, "
    "target, remote_addr, outcome) "
    "VALUES (UTC_TIMESTAMP(6), ?, ?, ?, ?, ?, ?, ?)", 0);

/*
 * Newest first by id: the order the events were written in, and unique,
 * so a page boundary never splits or repeats events that share a
 * timestamp.
 */
static struct kg_sql S_AUDIT_LIST = KG_SQL("audit_list",
    "SELECT id, at, namespace, actor_type, actor, action, target, "
    "remote_addr, outcome FROM audit_events "
    "WHERE namespace = ? AND id < ? ORDER BY id DESC LIMIT ?",
    KG_SQL_IDEMPOTENT);

static struct kg_sql S_AUDIT_LIST_ACTION = KG_SQL("audit_list_action",
    "SELECT id, at, namespace, actor_type, actor, action, target, "
    "remote_addr, outcome FROM audit_events "
    "WHERE namespace = ? AND action = ? AND id < ? ORDER BY id DESC LIMIT ?",
    KG_SQL_IDEMPOTENT);

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
	p[3] = text_or_null(a->au_action, KG_AUDIT_ACTION_MAX);
	p[4] = text_or_null(a->au_target, 255);
	p[5] = text_or_null(a->au_remote_addr, 45);
	p[6] = text_or_null(a->au_outcome, 16);
	return kg_db_exec(db, &S_AUDIT_INSERT, p, 7, NULL);
}

struct audit_list {
	enum kg_err	(*al_fn)(const struct kg_audit_event *, void *);
	void		*al_arg;
};

static enum kg_err
list_row(const struct kg_db_row *row, void *arg)
{
	struct audit_list	*l = arg;
	struct kg_audit_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.ae_id = (uint64_t)kg_db_row_int(row, 0);
	ev.ae_at_us = kg_db_row_time_us(row, 1);
	ev.ae.au_namespace = kg_db_row_text(row, 2, NULL);
	ev.ae.au_actor_type = kg_db_row_text(row, 3, NULL);
	ev.ae.au_actor = kg_db_row_text(row, 4, NULL);
	ev.ae.au_action = kg_db_row_text(row, 5, NULL);
	ev.ae.au_target = kg_db_row_text(row, 6, NULL);
	ev.ae.au_remote_addr = kg_db_row_text(row, 7, NULL);
	ev.ae.au_outcome = kg_db_row_text(row, 8, NULL);
	return l->al_fn(&ev, l->al_arg);
}

enum kg_err
kg_store_audit_list(struct kg_db *db, const char *ns, uint64_t before,
    const char *action, size_t limit,
    enum kg_err (*fn)(const struct kg_audit_event *, void *), void *arg,
    size_t *n)
{
	struct audit_list	l;
	long long		below;

	l.al_fn = fn;
	l.al_arg = arg;
	/* ids are BIGINT UNSIGNED AUTO_INCREMENT: far below INT64_MAX. */
	below = before == 0 || before > INT64_MAX ? INT64_MAX :
	    (long long)before;
	if (action == NULL) {
		struct kg_db_param p[] = { KG_P_TEXT(ns), KG_P_INT(below),
		    KG_P_INT(limit) };

		return kg_db_query(db, &S_AUDIT_LIST, KG_DB_ARGS(p), list_row,
		    &l, n);
	} else {
		struct kg_db_param p[] = { KG_P_TEXT(ns), KG_P_TEXT(action),
		    KG_P_INT(below), KG_P_INT(limit) };

		return kg_db_query(db, &S_AUDIT_LIST_ACTION, KG_DB_ARGS(p),
		    list_row, &l, n);
	}
}
