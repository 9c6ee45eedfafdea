/* siwe.c: strict EIP-4361 parsing and canonical formatting. */
#include <string.h>

#include "core/base/timefmt.h"
#include "core/crypto/eth.h"
#include "core/crypto/siwe.h"

_Static_assert(KG_SIWE_ADDR_LEN == KG_ETH_ADDR_LEN, "address length");
_Static_assert(KG_SIWE_ADDR_TEXT + 1 == KG_ETH_ADDR_STRLEN, "address text");

#define SIWE_PREAMBLE	" wants you to sign in with your Ethereum account:"
#define SIWE_EIP191	"\x19" "Ethereum Signed Message:\n"

/* ------------------------------------------------------------ RFC 3986 */

/* Character classes of RFC 3986 section 2 and appendix A, as bits. */
#define C_ALPHA		0x01
#define C_DIGIT		0x02
#define C_UNRES		0x04	/* ALPHA / DIGIT / "-" / "." / "_" / "~" */
#define C_SUB		0x08	/* "!" "$" "&" "'" "(" ")" "*" "+" "," ";" "=" */
#define C_COLON		0x10
#define C_AT		0x20
#define C_SLASH		0x40
#define C_QUEST		0x80

#define C_USERINFO	(C_UNRES | C_SUB | C_COLON)
#define C_REGNAME	(C_UNRES | C_SUB)
#define C_PCHAR		(C_UNRES | C_SUB | C_COLON | C_AT)
#define C_PATH		(C_PCHAR | C_SLASH)
#define C_QUERY		(C_PCHAR | C_SLASH | C_QUEST)	/* and fragment */

static unsigned int
cclass(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return C_ALPHA | C_UNRES;
	if (c >= '0' && c <= '9')
		return C_DIGIT | C_UNRES;
	switch (c) {
	case '-': case '.': case '_': case '~':
		return C_UNRES;
	case '!': case '$': case '&': case '\'': case '(': case ')':
	case '*': case '+': case ',': case ';': case '=':
		return C_SUB;
	case ':':
		return C_COLON;
	case '@':
		return C_AT;
	case '/':
		return C_SLASH;
	case '?':
		return C_QUEST;
	default:
		return 0;
	}
}

static int
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * Returns how many bytes from s[0..n) are *( cls / pct-encoded ); a '%' not
 * followed by two hex digits ends the run (the caller then sees leftovers).
 */
static size_t
span(const char *s, size_t n, unsigned int cls)
{
	size_t	i = 0;

	while (i < n) {
		if (cclass((unsigned char)s[i]) & cls)
			i++;
		else if (s[i] == '%' && n - i >= 3 &&
		    is_hex((unsigned char)s[i + 1]) &&
		    is_hex((unsigned char)s[i + 2]))
			i += 3;
		else
			break;
	}
	return i;
}

/* Returns 1 when all of s[0..n) is *( cls / pct-encoded ). */
static int
all_of(const char *s, size_t n, unsigned int cls)
{
	return span(s, n, cls) == n;
}

/*
 * dec-octet "." dec-octet "." dec-octet "." dec-octet, where a dec-octet is
 * 0-255 without leading zeros.
 */
static int
ipv4_valid(const char *s, size_t n)
{
	size_t		i = 0, start;
	unsigned int	v;
	int		octet;

	for (octet = 0; octet < 4; octet++) {
		if (octet > 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		for (start = i, v = 0; i < n && i - start < 3 &&
		    s[i] >= '0' && s[i] <= '9'; i++)
			v = v * 10 + (unsigned int)(s[i] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return 0;
	}
	return i == n;
}

/*
 * RFC 3986 IPv6address: 8 groups of 1-4 hex digits separated by ':', the
 * last two of which may be written as an IPv4 address; one "::" stands for
 * one or more zero groups.
 */
static int
ipv6_valid(const char *s, size_t n)
{
	const char	*colon;
	size_t		 i = 0, start;
	int		 groups = 0, elided = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		elided = 1;
		i = 2;
	}
	while (i < n) {
		/* A '.' in this group makes it the trailing IPv4 (ls32). */
		if ((colon = memchr(s + i, ':', n - i)) == NULL)
			colon = s + n;
		if (memchr(s + i, '.', (size_t)(colon - s) - i) != NULL) {
			if (colon != s + n || !ipv4_valid(s + i, n - i))
				return 0;
			groups += 2;
			break;
		}
		for (start = i; i < n && i - start < 4 &&
		    is_hex((unsigned char)s[i]); i++)
			;
		if (i == start)
			return 0;
		groups++;
		if (i == n)
			break;
		if (s[i] != ':')
			return 0;
		if (++i < n && s[i] == ':') {
			if (elided)
				return 0;
			elided = 1;
			i++;
		} else if (i == n)
			return 0;	/* a single trailing ':' */
	}
	return elided ? groups <= 7 : groups == 8;
}

/* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
static int
ipvfuture_valid(const char *s, size_t n)
{
	size_t	i = 1;

	if (n < 4 || (s[0] != 'v' && s[0] != 'V'))
		return 0;
	while (i < n && is_hex((unsigned char)s[i]))
		i++;
	if (i == 1 || i >= n || s[i] != '.' || ++i == n)
		return 0;
	for (; i < n; i++)
		if (!(cclass((unsigned char)s[i]) & (C_UNRES | C_SUB | C_COLON)))
			return 0;
	return 1;
}

/*
 * authority = [ userinfo "@" ] host [ ":" port ], host = IP-literal /
 * IPv4address / reg-name (every IPv4address is also a reg-name), port =
 * *DIGIT.  Neither host nor port can hold '@', so the first '@' ends the
 * userinfo.  For the SIWE domain (erratum) userinfo is refused and the
 * host must not be empty.
 */
static int
authority_valid(const char *s, size_t n, int for_domain)
{
	const char	*at, *rb;
	size_t		 i = 0, host;

	if ((at = memchr(s, '@', n)) != NULL) {
		if (for_domain || !all_of(s, (size_t)(at - s), C_USERINFO))
			return 0;
		i = (size_t)(at - s) + 1;
	}
	host = i;
	if (i < n && s[i] == '[') {
		if ((rb = memchr(s + i, ']', n - i)) == NULL)
			return 0;
		if (!ipv6_valid(s + i + 1, (size_t)(rb - s) - i - 1) &&
		    !ipvfuture_valid(s + i + 1, (size_t)(rb - s) - i - 1))
			return 0;
		i = (size_t)(rb - s) + 1;
	} else
		i += span(s + i, n - i, C_REGNAME);
	if (for_domain && i == host)
		return 0;
	if (i < n) {
		if (s[i] != ':')
			return 0;
		for (i++; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return 0;
	}
	return 1;
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static int
scheme_valid(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || !(cclass((unsigned char)s[0]) & C_ALPHA))
		return 0;
	for (i = 1; i < n; i++)
		if (!(cclass((unsigned char)s[i]) & (C_ALPHA | C_DIGIT)) &&
		    s[i] != '+' && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/*
 * URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ], hier-part =
 * "//" authority path-abempty / path-absolute / path-rootless / path-empty.
 * Once "//" has taken the authority branch, the three path forms reduce to
 * *( pchar / "/" ): path-absolute cannot start with "//", and a path that
 * does not start with '/' starts with a pchar, as path-rootless requires.
 */
static int
uri_valid(const char *s, size_t n)
{
	const char	*colon;
	size_t		 i, end;

	if ((colon = memchr(s, ':', n)) == NULL ||
	    !scheme_valid(s, (size_t)(colon - s)))
		return 0;
	i = (size_t)(colon - s) + 1;
	if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		i += 2;
		for (end = i; end < n && s[end] != '/' && s[end] != '?' &&
		    s[end] != '#'; end++)
			;
		if (!authority_valid(s + i, end - i, 0))
			return 0;
		i = end;
	}
	i += span(s + i, n - i, C_PATH);
	if (i < n && s[i] == '?')
		i += 1 + span(s + i + 1, n - i - 1, C_QUERY);
	if (i < n && s[i] == '#')
		i += 1 + span(s + i + 1, n - i - 1, C_QUERY);
	return i == n;
}

/* ------------------------------------------------------------ fields */

static int
is_alnum(unsigned char c)
{
	return (cclass(c) & (C_ALPHA | C_DIGIT)) != 0;
}

/*
 * statement (erratum): %x20-7E.  It is never empty: an empty line there is
 * the blank line of a message without a statement.
 */
static int
statement_valid(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* nonce = 8*( ALPHA / DIGIT ) */
static int
nonce_valid(const char *s, size_t n)
{
	size_t	i;

	if (n < 8)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]))
			return 0;
	return 1;
}

/* chain-id: 1*DIGIT, read as 1 .. 2^64-1 without a leading zero. */
static int
chain_id_parse(const char *s, size_t n, uint64_t *out)
{
	uint64_t	v = 0, d;
	size_t		i;

	if (n == 0 || s[0] == '0')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = v;
	return 1;
}

/*
 * address: "0x" and 40 hex digits, which must be exactly the EIP-55 form
 * (see siwe.h).  kg_eth_address_parse checks the shape and a mixed-case
 * checksum; the comparison also refuses an all-lower or all-upper text.
 */
static int
address_parse(const char *s, size_t n, uint8_t addr[KG_SIWE_ADDR_LEN])
{
	char	text[KG_ETH_ADDR_STRLEN], sum[KG_ETH_ADDR_STRLEN];

	if (n != KG_SIWE_ADDR_TEXT)
		return 0;
	memcpy(text, s, n);
	text[n] = '\0';
	if (kg_eth_address_parse(text, addr) != KG_OK)
		return 0;
	kg_eth_address_checksum(addr, sum);
	return memcmp(sum, text, n) == 0;
}

/* ------------------------------------------------------------ lines */

/* A cursor over the LF-separated lines of a message. */
struct lines {
	const char	*l_pos;		/* start of the next line */
	const char	*l_end;
	int		 l_done;	/* the last line has been taken */
};

/* Sets *line to the next line without taking it; returns 0 at the end. */
static int
peek_line(const struct lines *l, struct kg_siwe_str *line)
{
	const char	*lf;

	if (l->l_done)
		return 0;
	lf = memchr(l->l_pos, '\n', (size_t)(l->l_end - l->l_pos));
	line->ss_ptr = l->l_pos;
	line->ss_len = (size_t)((lf != NULL ? lf : l->l_end) - l->l_pos);
	return 1;
}

/* Takes the next line into *line; returns 0 at the end. */
static int
take_line(struct lines *l, struct kg_siwe_str *line)
{
	if (!peek_line(l, line))
		return 0;
	l->l_pos = line->ss_ptr + line->ss_len;
	if (l->l_pos == l->l_end)
		l->l_done = 1;
	else
		l->l_pos++;		/* past the LF */
	return 1;
}

/* Returns 1 and sets *val to the rest when line starts with tag. */
static int
has_tag(const struct kg_siwe_str *line, const char *tag,
    struct kg_siwe_str *val)
{
	size_t	n = strlen(tag);

	if (line->ss_len < n || memcmp(line->ss_ptr, tag, n) != 0)
		return 0;
	val->ss_ptr = line->ss_ptr + n;
	val->ss_len = line->ss_len - n;
	return 1;
}

/* Takes the next line, which must be tag followed by the value. */
static int
take_field(struct lines *l, const char *tag, struct kg_siwe_str *val)
{
	struct kg_siwe_str	line;

	return take_line(l, &line) && has_tag(&line, tag, val);
}

/* Takes the next line if it starts with tag (an optional field). */
static int
take_optional(struct lines *l, const char *tag, struct kg_siwe_str *val)
{
	struct kg_siwe_str	line;

	if (!peek_line(l, &line) || !has_tag(&line, tag, val))
		return 0;
	return take_line(l, &line);
}

/* Parses line 1: [ scheme "://" ] domain SIWE_PREAMBLE */
static const char *
parse_first_line(const struct kg_siwe_str *line, struct kg_siwe *sw)
{
	const char	*p = line->ss_ptr, *sep;
	size_t		 n = line->ss_len, plen = strlen(SIWE_PREAMBLE);

	if (n < plen || memcmp(p + n - plen, SIWE_PREAMBLE, plen) != 0)
		return "first line is not \"<domain> wants you to sign in "
		    "with your Ethereum account:\"";
	n -= plen;
	/* An authority holds no '/', so a "://" can only end a scheme. */
	for (sep = p; sep + 3 <= p + n && memcmp(sep, "://", 3) != 0; sep++)
		;
	if (sep + 3 <= p + n) {
		if (!scheme_valid(p, (size_t)(sep - p)))
			return "scheme is not an RFC 3986 scheme";
		sw->sw_scheme.ss_ptr = p;
		sw->sw_scheme.ss_len = (size_t)(sep - p);
		n -= (size_t)(sep + 3 - p);
		p = sep + 3;
	}
	if (!authority_valid(p, n, 1))
		return "domain is not an RFC 3986 authority with a host "
		    "and no userinfo";
	sw->sw_domain.ss_ptr = p;
	sw->sw_domain.ss_len = n;
	return NULL;
}

/* Parses date-time text into *us; returns 0 if it is not one. */
static int
time_field(const struct kg_siwe_str *v, int64_t *us)
{
	return kg_time_parse_rfc3339(v->ss_ptr, v->ss_len, us) == KG_OK;
}

/* Everything after the address line; returns NULL or why it failed. */
static const char *
parse_rest(struct lines *l, struct kg_siwe *sw)
{
	struct kg_siwe_str	line, v;

	if (!take_line(l, &line) || line.ss_len != 0)
		return "no empty line after the address";
	if (!take_line(l, &line))
		return "message ends after the address";
	if (line.ss_len != 0) {
		if (!statement_valid(line.ss_ptr, line.ss_len))
			return "statement has a character outside %x20-7E";
		sw->sw_statement = line;
		if (!take_line(l, &line) || line.ss_len != 0)
			return "no empty line after the statement";
	}

	if (!take_field(l, "URI: ", &sw->sw_uri))
		return "no \"URI: \" line";
	if (!uri_valid(sw->sw_uri.ss_ptr, sw->sw_uri.ss_len))
		return "URI is not an RFC 3986 URI";
	if (!take_field(l, "Version: ", &v))
		return "no \"Version: \" line";
	if (v.ss_len != 1 || v.ss_ptr[0] != '1')
		return "version is not 1";
	sw->sw_version = KG_SIWE_VERSION;
	if (!take_field(l, "Chain ID: ", &v))
		return "no \"Chain ID: \" line";
	if (!chain_id_parse(v.ss_ptr, v.ss_len, &sw->sw_chain_id))
		return "chain ID is not a decimal 1 to 2^64-1 without "
		    "leading zeros";
	if (!take_field(l, "Nonce: ", &sw->sw_nonce))
		return "no \"Nonce: \" line";
	if (!nonce_valid(sw->sw_nonce.ss_ptr, sw->sw_nonce.ss_len))
		return "nonce is not 8 or more letters and digits";
	if (!take_field(l, "Issued At: ", &sw->sw_issued_at))
		return "no \"Issued At: \" line";
	if (!time_field(&sw->sw_issued_at, &sw->sw_issued_at_us))
		return "Issued At is not an RFC 3339 date-time";

	if (take_optional(l, "Expiration Time: ", &sw->sw_expiration_time) &&
	    !time_field(&sw->sw_expiration_time, &sw->sw_expiration_us))
		return "Expiration Time is not an RFC 3339 date-time";
	if (take_optional(l, "Not Before: ", &sw->sw_not_before) &&
	    !time_field(&sw->sw_not_before, &sw->sw_not_before_us))
		return "Not Before is not an RFC 3339 date-time";
	if (take_optional(l, "Request ID: ", &sw->sw_request_id) &&
	    !all_of(sw->sw_request_id.ss_ptr, sw->sw_request_id.ss_len,
	    C_PCHAR))
		return "request ID is not *pchar";
	if (peek_line(l, &line) && line.ss_len == 10 &&
	    memcmp(line.ss_ptr, "Resources:", 10) == 0) {
		take_line(l, &line);
		sw->sw_has_resources = 1;
		while (peek_line(l, &line) && has_tag(&line, "- ", &v)) {
			if (!uri_valid(v.ss_ptr, v.ss_len))
				return "a resource is not an RFC 3986 URI";
			if (sw->sw_nresources == KG_SIWE_MAX_RESOURCES)
				return "more resources than keygate accepts";
			sw->sw_resources[sw->sw_nresources++] = v;
			take_line(l, &line);
		}
	}
	/* Covers fields out of order, repeated, unknown, and a final LF. */
	if (!l->l_done)
		return "unexpected line after the last field";
	return NULL;
}

enum kg_err
kg_siwe_parse(const char *msg, size_t len, struct kg_siwe *out)
{
	struct lines		l;
	struct kg_siwe_str	line;
	const char		*why;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		why = "empty message";
		goto out;
	}
	if (len >= strlen(SIWE_EIP191) &&
	    memcmp(msg, SIWE_EIP191, strlen(SIWE_EIP191)) == 0) {
		why = "message already carries the EIP-191 prefix";
		goto out;
	}
	l.l_pos = msg;
	l.l_end = msg + len;
	l.l_done = 0;
	take_line(&l, &line);		/* there is always a first line */
	if ((why = parse_first_line(&line, out)) != NULL)
		goto out;
	if (!take_line(&l, &line) ||
	    !address_parse(line.ss_ptr, line.ss_len, out->sw_addr)) {
		why = "address is not \"0x\" and 40 hex digits in EIP-55 form";
		goto out;
	}
	out->sw_address = line;
	why = parse_rest(&l, out);
 out:
	out->sw_why = why;
	return why == NULL ? KG_OK : KG_ERR_INVALID;
}

/* ------------------------------------------------------------ format */

/* Returns 1 when a and b are both absent, or both present and equal. */
static int
str_same(const struct kg_siwe_str *a, const struct kg_siwe_str *b)
{
	if (a->ss_ptr == NULL || b->ss_ptr == NULL)
		return a->ss_ptr == b->ss_ptr;
	return a->ss_len == b->ss_len &&
	    memcmp(a->ss_ptr, b->ss_ptr, a->ss_len) == 0;
}

/* A field given to format: present with a NULL pointer is impossible. */
static int
str_sane(const struct kg_siwe_str *s)
{
	return s->ss_ptr != NULL || s->ss_len == 0;
}

/* Appends tag and, when present, the value; absent values append nothing. */
static enum kg_err
put(struct kg_buf *b, const char *tag, const struct kg_siwe_str *v)
{
	enum kg_err	r;

	if (v->ss_ptr == NULL)
		return KG_OK;
	if ((r = kg_buf_puts(b, tag)) != KG_OK)
		return r;
	return kg_buf_append(b, v->ss_ptr, v->ss_len);
}

/* Does the parse of what format wrote give back exactly sw's fields? */
static int
same_fields(const struct kg_siwe *sw, const struct kg_siwe *p)
{
	size_t	i;

	if (!str_same(&sw->sw_scheme, &p->sw_scheme) ||
	    !str_same(&sw->sw_domain, &p->sw_domain) ||
	    !str_same(&sw->sw_address, &p->sw_address) ||
	    !str_same(&sw->sw_statement, &p->sw_statement) ||
	    !str_same(&sw->sw_uri, &p->sw_uri) ||
	    sw->sw_chain_id != p->sw_chain_id ||
	    !str_same(&sw->sw_nonce, &p->sw_nonce) ||
	    !str_same(&sw->sw_issued_at, &p->sw_issued_at) ||
	    !str_same(&sw->sw_expiration_time, &p->sw_expiration_time) ||
	    !str_same(&sw->sw_not_before, &p->sw_not_before) ||
	    !str_same(&sw->sw_request_id, &p->sw_request_id) ||
	    sw->sw_nresources != p->sw_nresources)
		return 0;
	for (i = 0; i < sw->sw_nresources; i++)
		if (!str_same(&sw->sw_resources[i], &p->sw_resources[i]))
			return 0;
	return 1;
}

enum kg_err
kg_siwe_format(const struct kg_siwe *sw, struct kg_buf *out)
{
	struct kg_siwe		 back;
	size_t			 start = out->b_len, i;
	enum kg_err		 r = KG_ERR_INVALID;

	/* Mandatory fields present; the rest the parse-back checks. */
	if (sw->sw_domain.ss_ptr == NULL || sw->sw_address.ss_ptr == NULL ||
	    sw->sw_uri.ss_ptr == NULL ||
	    sw->sw_nonce.ss_ptr == NULL || sw->sw_issued_at.ss_ptr == NULL ||
	    sw->sw_version != KG_SIWE_VERSION ||
	    sw->sw_nresources > KG_SIWE_MAX_RESOURCES ||
	    !str_sane(&sw->sw_scheme) ||
	    !str_sane(&sw->sw_statement) || !str_sane(&sw->sw_expiration_time) ||
	    !str_sane(&sw->sw_not_before) || !str_sane(&sw->sw_request_id))
		goto out;
	for (i = 0; i < sw->sw_nresources; i++)
		if (sw->sw_resources[i].ss_ptr == NULL)
			goto out;

	if ((r = put(out, "", &sw->sw_scheme)) != KG_OK ||
	    (sw->sw_scheme.ss_ptr != NULL &&
	    (r = kg_buf_puts(out, "://")) != KG_OK) ||
	    (r = put(out, "", &sw->sw_domain)) != KG_OK ||
	    (r = put(out, SIWE_PREAMBLE "\n", &sw->sw_address)) != KG_OK ||
	    (r = kg_buf_puts(out, "\n\n")) != KG_OK ||
	    (r = put(out, "", &sw->sw_statement)) != KG_OK ||
	    (sw->sw_statement.ss_ptr != NULL &&
	    (r = kg_buf_puts(out, "\n")) != KG_OK) ||
	    (r = put(out, "\nURI: ", &sw->sw_uri)) != KG_OK ||
	    (r = kg_buf_printf(out, "\nVersion: 1\nChain ID: %llu",
	    (unsigned long long)sw->sw_chain_id)) != KG_OK ||
	    (r = put(out, "\nNonce: ", &sw->sw_nonce)) != KG_OK ||
	    (r = put(out, "\nIssued At: ", &sw->sw_issued_at)) != KG_OK ||
	    (r = put(out, "\nExpiration Time: ",
	    &sw->sw_expiration_time)) != KG_OK ||
	    (r = put(out, "\nNot Before: ", &sw->sw_not_before)) != KG_OK ||
	    (r = put(out, "\nRequest ID: ", &sw->sw_request_id)) != KG_OK)
		goto out;
	if (sw->sw_has_resources || sw->sw_nresources > 0) {
		if ((r = kg_buf_puts(out, "\nResources:")) != KG_OK)
			goto out;
		for (i = 0; i < sw->sw_nresources; i++)
			if ((r = put(out, "\n- ", &sw->sw_resources[i])) !=
			    KG_OK)
				goto out;
	}

	r = KG_ERR_INVALID;
	if (kg_siwe_parse(out->b_data + start, out->b_len - start, &back) !=
	    KG_OK || !same_fields(sw, &back))
		goto out;
	r = KG_OK;
 out:
	if (r != KG_OK && out->b_data != NULL) {
		out->b_len = start;
		out->b_data[start] = '\0';
	}
	return r;
}

/* ------------------------------------------------------------ time */

/* a + b, held within the int64_t range. */
static int64_t
sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

enum kg_siwe_time
kg_siwe_check_time(const struct kg_siwe *sw, int64_t now_us,
    int64_t leeway_us)
{
	if (leeway_us < 0)
		leeway_us = 0;
	if (sw->sw_expiration_time.ss_ptr != NULL &&
	    sat_add(now_us, -leeway_us) >= sw->sw_expiration_us)
		return KG_SIWE_TIME_EXPIRED;
	if (sw->sw_not_before.ss_ptr != NULL &&
	    sat_add(now_us, leeway_us) < sw->sw_not_before_us)
		return KG_SIWE_TIME_NOT_YET_VALID;
	if (sat_add(now_us, leeway_us) < sw->sw_issued_at_us)
		return KG_SIWE_TIME_NOT_YET_VALID;
	return KG_SIWE_TIME_OK;
}

/* ------------------------------------------------------------ helpers */

void
kg_siwe_str_set(struct kg_siwe_str *str, const char *s)
{
	str->ss_ptr = s;
	str->ss_len = s != NULL ? strlen(s) : 0;
}

int
kg_siwe_str_eq(const struct kg_siwe_str *str, const char *s)
{
	size_t	n = strlen(s);

	return str->ss_ptr != NULL && str->ss_len == n &&
	    memcmp(str->ss_ptr, s, n) == 0;
}
