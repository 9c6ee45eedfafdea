/*
 * siwe.h: EIP-4361 (Sign-In with Ethereum) messages, parsed strictly and
 * formatted canonically (SPEC 4).
 *
 * The grammar is EIP-4361's ABNF as corrected by its 2026 erratum, with
 * RFC 3986 for authority/URI/pchar and RFC 3339 for date-time:
 *
 *   [ scheme "://" ] domain " wants you to sign in with your Ethereum account:" LF
 *   address LF
 *   LF
 *   [ statement LF ]
 *   LF
 *   "URI: " uri LF
 *   "Version: 1" LF
 *   "Chain ID: " chain-id LF
 *   "Nonce: " nonce LF
 *   "Issued At: " date-time
 *   [ LF "Expiration Time: " date-time ]
 *   [ LF "Not Before: " date-time ]
 *   [ LF "Request ID: " *pchar ]
 *   [ LF "Resources:" *( LF "- " URI ) ]
 *
 * Decisions where the EIP leaves room (each also tested):
 * - Literals are case-sensitive (the ABNF's %s); LF only (a CR anywhere is
 *   refused); nothing after the last field, not even a LF.
 * - domain: an RFC 3986 authority with no "userinfo@" and a non-empty host
 *   (erratum); the port may be empty, as RFC 3986's "port = *DIGIT" allows.
 * - address: "0x" and 40 hex digits that must be exactly the EIP-55 form.
 *   The reference library's vectors refuse an all-lower-case address
 *   ("address not EIP-55"), so EIP-55's "where applicable" is read as
 *   "always": an address whose checksum form differs from the text is
 *   refused, whatever its case.
 * - statement: 1 or more of %x20-7E (erratum; the original grammar's
 *   reserved/unreserved/" " set is a subset).  An empty statement line is
 *   refused: EIP-4361's own reference grammar (assets/eip-4361) and the
 *   reference library write "1*", and "[ statement LF ]" with an empty
 *   statement would be a second spelling of "no statement".
 * - version: exactly "1".  chain-id: decimal, 1 to 2^64-1, no leading zero
 *   (one number, one spelling; EIP-155 has no chain 0).
 * - nonce: 8 or more ASCII letters/digits.  request-id: *pchar, so
 *   "Request ID: " with nothing after it is valid (and kept as empty).
 * - "Resources:" with no items is valid ("resources = *( LF resource )")
 *   and is kept apart from no Resources line.  At most
 *   KG_SIWE_MAX_RESOURCES items are accepted: keygate never asks for any,
 *   and a bound keeps the parse free of allocation.
 * - uri and every resource: RFC 3986 "URI" (scheme required; IPv6 and
 *   IPvFuture literals checked; userinfo allowed there, it is only the
 *   domain the erratum restricts).
 * - date-time: see core/base/timefmt.h.
 * - The EIP-191 prefix is applied exactly once, by the signature code: a
 *   message that itself starts with "\x19Ethereum Signed Message:\n" is not
 *   an EIP-4361 message and is refused.
 */
#ifndef KG_SIWE_H
#define KG_SIWE_H

#include <stddef.h>
#include <stdint.h>
#include "core/base/buf.h"
#include "core/base/err.h"

#define KG_SIWE_VERSION		1
#define KG_SIWE_MAX_RESOURCES	16
#define KG_SIWE_ADDR_LEN	20	/* address bytes */
#define KG_SIWE_ADDR_TEXT	42	/* "0x" + 40 hex digits */

/*
 * A field's text: ss_len bytes at ss_ptr, not NUL-terminated.  An optional
 * field is absent when ss_ptr is NULL; present fields may be empty only
 * where the grammar allows it (request-id).
 */
struct kg_siwe_str {
	const char	*ss_ptr;
	size_t		 ss_len;
};

/*
 * A message's fields.  After kg_siwe_parse every kg_siwe_str points into
 * the caller's message buffer (nothing is copied or allocated), so the
 * struct is valid only as long as that buffer is.  For kg_siwe_format the
 * caller points them at its own strings.
 */
struct kg_siwe {
	struct kg_siwe_str	sw_scheme;	/* optional, without "://" */
	struct kg_siwe_str	sw_domain;	/* host [ ":" port ] */
	struct kg_siwe_str	sw_address;	/* "0x" + 40, EIP-55 form */
	struct kg_siwe_str	sw_statement;	/* optional */
	struct kg_siwe_str	sw_uri;
	unsigned int		sw_version;	/* KG_SIWE_VERSION */
	uint64_t		sw_chain_id;
	struct kg_siwe_str	sw_nonce;
	struct kg_siwe_str	sw_issued_at;		/* date-time text */
	struct kg_siwe_str	sw_expiration_time;	/* optional */
	struct kg_siwe_str	sw_not_before;		/* optional */
	struct kg_siwe_str	sw_request_id;		/* optional */
	int			sw_has_resources;	/* "Resources:" line */
	size_t			sw_nresources;
	struct kg_siwe_str	sw_resources[KG_SIWE_MAX_RESOURCES];

	/* Set by kg_siwe_parse; ignored by kg_siwe_format. */
	uint8_t		sw_addr[KG_SIWE_ADDR_LEN];	/* sw_address's bytes */
	int64_t		sw_issued_at_us;	/* the times, UTC microseconds */
	int64_t		sw_expiration_us;	/* when sw_expiration_time */
	int64_t		sw_not_before_us;	/* when sw_not_before */
	const char	*sw_why;	/* static reason when refused, else NULL */
};

/* How a parsed message's times compare with now (SPEC 4). */
enum kg_siwe_time {
	KG_SIWE_TIME_OK = 0,
	KG_SIWE_TIME_EXPIRED,		/* 401 message_expired */
	KG_SIWE_TIME_NOT_YET_VALID,	/* 401 message_not_yet_valid */
	KG_SIWE_TIME__MAX
};

/*
 * Parses msg[0..len) (no NUL needed) into out.  Returns KG_OK, or
 * KG_ERR_INVALID when msg is not exactly the grammar above; out->sw_why
 * then names the first problem (a static string, safe to log: it quotes
 * nothing from msg).  The other members of out are unspecified on error.
 * Runs in time linear in len; allocates nothing.
 */
enum kg_err	kg_siwe_parse(const char *msg, size_t len, struct kg_siwe *out);

/*
 * Appends the message for sw to out: the inverse of kg_siwe_parse.  Every
 * field is taken from its text (a caller holding address bytes writes them
 * with kg_eth_address_checksum first); sw_addr, the *_us members and
 * sw_why are ignored.  The Resources line is written when
 * sw_has_resources is set or there are items.  sw_version must be
 * KG_SIWE_VERSION.
 *
 * The result is parsed back before returning, so every field is checked by
 * the parser's own grammar, and a field that would not come back
 * byte-identical (a LF in a statement, say) is refused.  Returns KG_OK;
 * KG_ERR_INVALID for such a field or a missing mandatory one;
 * KG_ERR_NOMEM.  On error out is left as it was.
 */
enum kg_err	kg_siwe_format(const struct kg_siwe *sw, struct kg_buf *out);

/*
 * Checks a parsed message's times against now_us with leeway_us (>= 0;
 * clock_leeway) of tolerance each way, in this order: Expiration Time, if
 * any, must be later than now - leeway (else EXPIRED); Not Before, if any,
 * must be no later than now + leeway, and Issued At no later than
 * now + leeway (else NOT_YET_VALID).
 */
enum kg_siwe_time kg_siwe_check_time(const struct kg_siwe *sw,
		    int64_t now_us, int64_t leeway_us);

/* Points str at the NUL-terminated s, or marks it absent when s is NULL. */
void		kg_siwe_str_set(struct kg_siwe_str *str, const char *s);

/* Returns 1 when str is present and holds exactly the bytes of s. */
int		kg_siwe_str_eq(const struct kg_siwe_str *str, const char *s);

#endif
