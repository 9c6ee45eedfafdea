/*
 * httptest.h: the harness of the HTTP-level DB tests, which drive
 * kg_dispatch with a real struct kg_ctx on a database of their own
 * (dbtest.h).
 *
 * One test at a time owns the state below: kg_ht_setup fills it in a
 * Check fixture, kg_ht_teardown releases it.  Requests are built with
 * kg_ht_request (or kg_ht_call, which also sends them); each
 * kg_ht_dispatch leaves the response in hresp and its body, parsed, in
 * hjson (NULL when the body is not JSON).
 */
#ifndef KG_HTTPTEST_H
#define KG_HTTPTEST_H

#include <stddef.h>

#include <json-c/json.h>

#include "core/api/ctx.h"
#include "core/api/http.h"
#include "core/api/session.h"
#include "core/base/config.h"

/* The jwt_secret and admin_key of kg_ht_setup's keys. */
#define KG_HT_SECRET	"test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
#define KG_HT_ADMIN	\
	"kg_ad_0nnnhaiy_zvWPFv3fOhHWkBq233KsefAyTaDnYYT65fja1FhU40u3hV"

/* The REMOTE_ADDR of kg_ht_request unless kg_ht_setup says otherwise. */
#define KG_HT_REMOTE	"192.0.2.7"

extern struct kg_config		 hcfg;
extern struct kg_ctx		 hctx;
extern struct kg_response	 hresp;
extern json_object		*hjson;

/* What the suites set up differently. */
struct kg_ht_opts {
	int		 keys;		/* jwt_secret, admin_key: KG_HT_ */
	int		 no_rate;	/* rate_ip_rate, rate_wallet_rate 0 */
	const char	*remote_addr;	/* NULL: KG_HT_REMOTE */
};

/*
 * A database with the schema, hcfg for it (adjusted by o), hctx on it,
 * an empty hresp.
 */
void		 kg_ht_setup(const struct kg_ht_opts *o);

/*
 * Turns hctx's credential cache off, for tests of what each full
 * validation does (queries, last_used_at writes).
 */
void		 kg_ht_cache_off(void);

/*
 * Moves hctx's clock forward (JWT times, the cache's view of the
 * revocation epoch's age).
 */
void		 kg_ht_advance_ms(long long ms);
/* Stops hctx's clock where it is; only kg_ht_advance_ms moves it then. */
void		 kg_ht_freeze_clock(void);

/* Replaces a config string of hcfg (the teardown frees it). */
void		 kg_ht_cfg_str(char **field, const char *value);

/* Frees hjson, hresp, hctx and drops the database; a Check fixture. */
void		 kg_ht_teardown(void);

/*
 * Zeroes req and fills it in: query and body NULL read as "", auth,
 * x_ns and ctype are sent as given (NULL: absent), REMOTE_ADDR is the
 * setup's.
 */
void		 kg_ht_request(struct kg_request *req, const char *method,
		    const char *path, const char *query, const char *auth,
		    const char *x_ns, const char *ctype, const char *body);

/* Runs req through kg_dispatch into hresp and hjson; the status. */
int		 kg_ht_dispatch(const struct kg_request *req);

/* kg_ht_request, then kg_ht_dispatch. */
int		 kg_ht_call(const char *method, const char *path,
		    const char *query, const char *auth, const char *x_ns,
		    const char *ctype, const char *body);

/* The body of hresp, parsed afresh; asserts it is JSON.  Put it. */
json_object	*kg_ht_body_json(void);

/*
 * Member name of hresp's JSON body (asserted JSON) copied into out; ""
 * when absent or null.
 */
const char	*kg_ht_member(const char *name, char *out, size_t len);

/* The "error" member of hresp's JSON body (asserted JSON), or "". */
const char	*kg_ht_error(void);

/* Member of o (NULL when o is NULL or lacks it). */
json_object	*kg_ht_get(json_object *o, const char *member);

/* Member of hjson as a string; "" when absent. */
const char	*kg_ht_str(const char *member);

/* Asserts hresp is status with error code (from hjson). */
void		 kg_ht_expect(int status, const char *code);

/* Creates namespace name (no members); its id. */
unsigned long long kg_ht_make_ns(const struct kg_config *cfg,
		    const char *name);

/* Adds wallet at track to namespace ns_id, joined age seconds ago. */
void		 kg_ht_add_member(const struct kg_config *cfg,
		    unsigned long long ns_id, const char *wallet, int track,
		    int age);

/*
 * Signs subject in to namespace ns (id ns_id) at track in a transaction
 * of its own, as the wallet handlers do: the tokens into *st (free
 * st->st_access).
 */
void		 kg_ht_start(unsigned long long ns_id, const char *ns,
		    const char *subject, int track,
		    struct kg_session_tokens *st);

/* One answer a racer may get: its status and error code (NULL: any). */
struct kg_ht_outcome {
	int		 ho_status;
	const char	*ho_error;
};

/*
 * n (at most 64) processes, released together, each with a context and
 * connection of its own on hcfg, send method path with the JSON body
 * that body(i, buf, len, arg) writes for racer i.  counts[k] receives the
 * number that got outcomes[k] (the first that matches); any other answer
 * fails the test.
 */
void		 kg_ht_race(int n, const char *method, const char *path,
		    void (*body)(int, char *, size_t, void *), void *arg,
		    const struct kg_ht_outcome *outcomes, size_t nout,
		    int *counts);

/* "0x" + 130 hex (v 27/28): the personal_sign of msg by key privhex. */
void		 kg_ht_sign_personal(const char *privhex, const char *msg,
		    char out[133]);

#endif
