/*
 * enroll.h: install tokens and daemon tokens (SPEC 7).
 */
#ifndef KG_API_ENROLL_H
#define KG_API_ENROLL_H

#include <stddef.h>

#include "core/api/authn.h"
#include "core/api/router.h"

/* POST /v1/namespaces/{ns}/install-tokens (namespace admin). */
enum kg_err	kg_enroll_install_create(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* POST /v1/install-tokens/exchange (public: the mit_ is the credential). */
enum kg_err	kg_enroll_exchange(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* GET /v1/namespaces/{ns}/daemon-tokens (namespace admin). */
enum kg_err	kg_enroll_daemon_list(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* DELETE /v1/namespaces/{ns}/daemon-tokens/{id} (namespace admin). */
enum kg_err	kg_enroll_daemon_revoke(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* GET /v1/daemon/whoami (daemon token). */
enum kg_err	kg_enroll_daemon_whoami(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);
/* POST /v1/daemon/heartbeat (daemon token). */
enum kg_err	kg_enroll_daemon_heartbeat(struct kg_ctx *, const struct kg_request *,
		    const struct kg_params *, const struct kg_principal *,
		    struct kg_response *);

/*
 * Authenticates a daemon token (mdt_...) token[0..len) into *pr (kg_authn calls it when the
 * shape says mdt_): KG_AUTHN_OK, or KG_AUTHN_REFUSED with resp filled
 * (401, or 503 when the database cannot tell: never a grant).
 */
enum kg_authn_result	kg_daemon_authn(struct kg_ctx *, const char *token,
			    size_t len, struct kg_principal *pr,
			    struct kg_response *resp);

/* Length of an install or daemon token: "mit_"/"mdt_" + 40 hex. */
#define KG_ENROLL_TOKEN_LEN	44

/*
 * Mints an install token (mit_...) of namespace ns_id valid ttl seconds
 * (the POST route and keygate-admin): token gets the plaintext, *out the
 * row; with the "install_token_create" audit event of by (may be NULL;
 * namespace, action, target, outcome are filled here) in the same
 * transaction (the caller's, when one is open).  KG_OK or a KG_ERR_*.
 */
struct kg_db;
struct kg_audit;
struct kg_install_token;
enum kg_err		kg_enroll_install_mint(struct kg_db *, uint64_t ns_id,
			    const char *created_by, long ttl,
			    const struct kg_audit *by,
			    char token[KG_ENROLL_TOKEN_LEN + 1],
			    struct kg_install_token *out);

/*
 * The daemon token t[0..len) (mdt_ + 40 lower-case hex) into *out: the
 * one validation path of kg_daemon_authn, for introspection too.  KG_OK
 * when live; KG_ERR_INVALID when malformed (no query made), unknown or
 * revoked; else a KG_ERR_DB* status (never a grant).
 */
struct kg_daemon_token;
enum kg_err		kg_daemon_check(struct kg_ctx *, const char *token,
			    size_t len, struct kg_daemon_token *out);

#endif
