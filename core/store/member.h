/*
 * member.h: namespaces and their members (SPEC 2, 9).
 *
 * Every change to a namespace's membership runs under the namespace's
 * serial lock, "ns:<name>" (kg_db_serialize), the lock sign-in enrolment
 * takes too (kg_store_signin_member): creation, enrolment, track changes
 * and removals of one namespace happen one after the other, so the rules
 * that no unique key can express ("the first member is the owner", "the
 * last track-4 member stays") are decided on the latest state.
 */
#ifndef KG_STORE_MEMBER_H
#define KG_STORE_MEMBER_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/base/names.h"

struct kg_db;

#define KG_TRACK_MIN		1
#define KG_TRACK_OPERATOR	4	/* the highest track */
#define KG_WALLET_STRLEN	43	/* "0x" + 40 hex + NUL */

/* A namespace as GET /v1/namespaces/{ns} shows it. */
struct kg_ns_info {
	uint64_t	ni_id;
	char		ni_name[KG_NAMESPACE_MAX + 1];
	int64_t		ni_created_us;
	long long	ni_members;		/* member_count */
};

/* A member as listed. */
struct kg_member {
	char		me_wallet[KG_WALLET_STRLEN];	/* lower-case */
	int		me_track;
	int64_t		me_created_us;
	int64_t		me_updated_us;
};

/*
 * Creates namespace name and, when owner (a lower-case wallet) is not
 * NULL, makes owner its track-4 member.  Inside the caller's transaction,
 * which must not have read rows before (kg_db_serialize).  Returns KG_OK
 * and fills *out, KG_ERR_CONFLICT when the name is taken, or a KG_ERR_DB*
 * status.
 */
enum kg_err	kg_store_ns_create(struct kg_db *db, const char *name,
		    const char *owner, struct kg_ns_info *out);

/*
 * Reads namespace name with its member count.  Returns KG_OK and fills
 * *out, KG_ERR_NOT_FOUND, or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_ns_info(struct kg_db *db, const char *name,
		    struct kg_ns_info *out);

/*
 * Calls fn for every namespace, ordered by name (for keygate-admin: the
 * API has no such list, a global admin names the namespace it works in).
 * *n receives the number passed to fn.  Returns KG_OK, fn's status, or a
 * KG_ERR_DB* status.
 */
enum kg_err	kg_store_ns_list(struct kg_db *db,
		    enum kg_err (*fn)(const struct kg_ns_info *, void *),
		    void *arg, size_t *n);

/*
 * Where a members list resumes: the last member of the previous page
 * (created_at, then wallet, both descending).  All zero: from the newest.
 */
struct kg_member_cursor {
	int64_t		mc_created_us;
	char		mc_wallet[KG_WALLET_STRLEN];
};

/*
 * Calls fn for up to limit members of ns_id, newest first (created_at,
 * then wallet, descending), after cursor (NULL or all zero: from the
 * newest).  *n receives the number of members passed to fn.  Returns
 * KG_OK, fn's status, or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_member_list(struct kg_db *db, uint64_t ns_id,
		    const struct kg_member_cursor *cursor, size_t limit,
		    enum kg_err (*fn)(const struct kg_member *, void *),
		    void *arg, size_t *n);

/* Outcomes of a membership change that the store refuses by rule. */
enum kg_member_res {
	KG_MEMBER_OK = 0,
	KG_MEMBER_NO_NAMESPACE,	/* 404 namespace_not_found */
	KG_MEMBER_UNKNOWN,	/* the wallet is not a member: 404 not_found */
	KG_MEMBER_OPERATOR,	/* touches track 4 without operator: 403 */
	KG_MEMBER_LAST_OPERATOR, /* would leave no track-4 member: 409 */
	KG_MEMBER__MAX
};

/*
 * Sets wallet's track (1-4, else KG_ERR_INVALID) in namespace ns,
 * adding it when it is not a member.  may_operate says whether the
 * caller may touch track 4: without it, setting track 4 or changing a
 * track-4 member is KG_MEMBER_OPERATOR.  Demoting the namespace's last
 * track-4 member is KG_MEMBER_LAST_OPERATOR.  A track lowered ends the
 * wallet's sessions in ns in the same transaction (kg_store_subject_
 * logout_in, reason "member_demoted"); a track raised or kept ends
 * nothing.  Inside the caller's
 * transaction, which must not have read rows before: takes the
 * namespace's serial lock first (KG_ERR_INTERNAL outside one).  Returns
 * KG_OK with *res set (on KG_MEMBER_OK *out holds the member as it now
 * is, and *old_track its track before, 0 when it was added; nothing is
 * written otherwise), or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_member_set(struct kg_db *db, const char *ns,
		    const char *wallet, int track, int may_operate,
		    enum kg_member_res *res, struct kg_member *out,
		    int *old_track);

/*
 * Removes wallet from namespace ns, under the same rules and lock as
 * kg_store_member_set (removing the last track-4 member is
 * KG_MEMBER_LAST_OPERATOR, a wallet that is no member KG_MEMBER_UNKNOWN);
 * ends the wallet's sessions in ns with it (reason "member_removed").
 * Returns KG_OK with *res set (*old_track: the removed member's track),
 * or a KG_ERR_DB* status.
 */
enum kg_err	kg_store_member_remove(struct kg_db *db, const char *ns,
		    const char *wallet, int may_operate,
		    enum kg_member_res *res, int *old_track);

#endif
