/*
 * jwt.c: compact JWS access tokens (RFC 7515, 7519, 7518, 8037, 9068),
 * hardened as RFC 8725 advises.
 *
 * Costs, per call, once a worker has loaded its key set: signing copies a
 * prepared context (EdDSA/RS256) or re-initialises the kept HMAC context
 * with its key (HS256), writes the claims straight into the output buffer
 * as base64url, and signs.  Verifying decodes into stack buffers, parses
 * the header and, only after the signature checks out, the claims with
 * the small strict parser below.  Nothing is fetched and nothing is
 * allocated here; OpenSSL 3.0 itself allocates a few small blocks per
 * call when it copies a digest context (2 per HMAC, about 5 per Ed25519
 * verification).  Measured on the 2-core development machine (a local
 * loop, not a test): HS256 sign 1.5 us, verify 1.5 us; EdDSA sign 34 us,
 * verify 80 us (Ed25519 itself is about 72 us); RS256-2048 sign 300 us,
 * verify 18 us.  Preparing a fresh context per call instead would add
 * about 1.5 us to each asymmetric operation and an EVP_MAC_CTX_dup 0.2 us
 * to each HMAC.
 *
 * Why a hand-written parser and not json-c: the header and the claims are
 * small flat objects of strings and integers with fixed-size destinations;
 * json-c would allocate a tree per token (most of an HS256 verify's cost)
 * and keeps the last of duplicated members silently, whereas here a
 * duplicated member, an escaped alias of a member name ("\u0061lg"), an
 * embedded NUL, a lone surrogate, a fraction or exponent in a time, or an
 * integer out of range are each refused where they are read.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "core/base/json.h"
#include "core/base/random.h"
#include "core/base/hex.h"
#include "core/crypto/jwt.h"

/* Largest signature: RSA-8192. */
#define SIG_MAX		1024
/* Largest decoded header; ours is under 100 bytes. */
#define HDR_MAX		512
/* Largest PEM file read. */
#define PEM_FILE_MAX	(64 * 1024)
/* Nesting allowed inside claims keygate does not read (and skips). */
#define SKIP_DEPTH	16
/* Clock skew allowed at most, whatever the caller asks (config: 60 s). */
#define LEEWAY_MAX	3600
#define RSA_MIN_BITS	2048
#define RSA_MAX_BITS	8192

struct kg_jwt_key {
	EVP_PKEY	*k_pkey;
	EVP_MD_CTX	*k_vtpl;	/* DigestVerify, initialised for k_pkey */
	EVP_MD_CTX	*k_stpl;	/* DigestSign, first key only */
	size_t		 k_siglen;	/* exact signature length */
	char		 k_kid[KG_JWT_KID_LEN + 1];
};

struct kg_jwt_keys {
	enum kg_jwt_alg	 jk_alg;
	struct kg_jwt_key jk_keys[KG_JWT_KEYS_MAX];
	size_t		 jk_nkeys;	/* 0 for HS256 */
	EVP_MD		*jk_sha256;	/* fetched once */
	EVP_MAC		*jk_mac;	/* HS256 */
	EVP_MAC_CTX	*jk_hmac;	/* HS256: keyed once, re-initialised per use */
	EVP_MD_CTX	*jk_work;	/* scratch copy of a template */
	struct kg_buf	 jk_hdr;	/* base64url of the signing header */
	struct kg_buf	 jk_prefix;	/* {"iss":"…","aud":"…", */
	struct kg_buf	 jk_jwks;	/* the JWKS document */
	char		*jk_iss;
	char		*jk_aud;
};

static const char *const fail_names[KG_JWT_FAIL__MAX + 1] = {
	[KG_JWT_MALFORMED] = "malformed",
	[KG_JWT_BAD_HEADER] = "bad_header",
	[KG_JWT_BAD_ALG] = "bad_alg",
	[KG_JWT_BAD_TYP] = "bad_typ",
	[KG_JWT_UNKNOWN_KID] = "unknown_kid",
	[KG_JWT_BAD_SIGNATURE] = "bad_signature",
	[KG_JWT_EXPIRED] = "expired",
	[KG_JWT_NOT_YET_VALID] = "not_yet_valid",
	[KG_JWT_BAD_ISS] = "bad_iss",
	[KG_JWT_BAD_AUD] = "bad_aud",
	[KG_JWT_BAD_CLAIMS] = "bad_claims",
	[KG_JWT_FAIL__MAX] = "valid"
};

static const char *const alg_names[KG_JWT__MAX] = {
	[KG_JWT_HS256] = "HS256",
	[KG_JWT_EDDSA] = "EdDSA",
	[KG_JWT_RS256] = "RS256",
};

const char *
kg_jwt_fail_str(enum kg_jwt_fail f)
{
	if ((unsigned int)f > KG_JWT_FAIL__MAX)
		return "unknown";
	return fail_names[f];
}

const char *
kg_jwt_alg_name(enum kg_jwt_alg a)
{
	if ((unsigned int)a >= KG_JWT__MAX)
		return "unknown";
	return alg_names[a];
}

/* ------------------------------------------------------------ base64url */

static const char b64u_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * 1 + the value of each base64url character (RFC 4648 section 5), 0 for
 * any other byte.  Built on first use from b64u_chars; idempotent, so a
 * race would only build it twice.  A table: decoding is most of what
 * verifying an HS256 token costs besides the MAC.
 */
static const unsigned char *
b64u_table(void)
{
	static unsigned char	t[256];
	static int		ready;
	int			i;

	if (!ready) {
		for (i = 0; i < 64; i++)
			t[(unsigned char)b64u_chars[i]] = (unsigned char)(i + 1);
		ready = 1;
	}
	return t;
}

/* Encodes n bytes without padding into out (room for 4 * ceil(n/3) + 1). */
static size_t
b64u_encode(const unsigned char *in, size_t n, char *out)
{
	size_t		i, o = 0;
	uint32_t	v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64u_chars[v >> 18];
		out[o++] = b64u_chars[(v >> 12) & 63];
		out[o++] = b64u_chars[(v >> 6) & 63];
		out[o++] = b64u_chars[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64u_chars[v >> 18];
		out[o++] = b64u_chars[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64u_chars[v >> 18];
		out[o++] = b64u_chars[(v >> 12) & 63];
		out[o++] = b64u_chars[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

/*
 * Decodes n base64url characters into out (cap bytes).  Refuses padding,
 * any character outside the alphabet, a length of 1 mod 4, and a last
 * character whose unused low bits are not zero: exactly one text decodes
 * to a given byte string, so a token cannot be re-encoded and still pass.
 * Returns the decoded length, or -1.
 */
static long
b64u_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	const unsigned char	*t = b64u_table();
	size_t			 i, o = 0, rem = n % 4;
	uint32_t		 v = 0;
	int			 d, k = 0;

	if (rem == 1 || n / 4 * 3 + (rem ? rem - 1 : 0) > cap)
		return -1;
	for (i = 0; i < n; i++) {
		if ((d = t[(unsigned char)in[i]]) == 0)
			return -1;
		v = v << 6 | (uint32_t)(d - 1);
		if (++k == 4) {
			out[o++] = (unsigned char)(v >> 16);
			out[o++] = (unsigned char)(v >> 8);
			out[o++] = (unsigned char)v;
			v = 0;
			k = 0;
		}
	}
	if (k == 2) {
		if (v & 0x0f)
			return -1;
		out[o++] = (unsigned char)(v >> 4);
	} else if (k == 3) {
		if (v & 0x03)
			return -1;
		out[o++] = (unsigned char)(v >> 10);
		out[o++] = (unsigned char)(v >> 2);
	}
	return (long)o;
}

/* A base64url encoder that streams into a kg_buf (for the claims). */
struct b64w {
	struct kg_buf	*w_buf;
	unsigned char	 w_in[3];
	size_t		 w_n;
	enum kg_err	 w_r;
};

static void
b64w_put(struct b64w *w, const void *data, size_t n)
{
	const unsigned char	*p = data;
	char			*o;
	uint32_t		 v;

	if (w->w_r != KG_OK || n == 0)
		return;
	if ((w->w_r = kg_buf_reserve(w->w_buf, (n / 3 + 2) * 4)) != KG_OK)
		return;
	o = w->w_buf->b_data + w->w_buf->b_len;
	while (n-- > 0) {
		w->w_in[w->w_n++] = *p++;
		if (w->w_n < 3)
			continue;
		v = (uint32_t)w->w_in[0] << 16 | (uint32_t)w->w_in[1] << 8 |
		    w->w_in[2];
		*o++ = b64u_chars[v >> 18];
		*o++ = b64u_chars[(v >> 12) & 63];
		*o++ = b64u_chars[(v >> 6) & 63];
		*o++ = b64u_chars[v & 63];
		w->w_n = 0;
	}
	*o = '\0';
	w->w_buf->b_len = (size_t)(o - w->w_buf->b_data);
}

static void
b64w_puts(struct b64w *w, const char *s)
{
	b64w_put(w, s, strlen(s));
}

/* Writes s as a JSON string, quotes included. */
static void
b64w_jstr(struct b64w *w, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*run = s;
	char			 esc[6];

	b64w_put(w, "\"", 1);
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x20 && *s != '"' && *s != '\\')
			continue;
		b64w_put(w, run, (size_t)(s - run));
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = *s;
			b64w_put(w, esc, 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[(unsigned char)*s >> 4];
			esc[5] = hex[*s & 0xf];
			b64w_put(w, esc, 6);
		}
		run = s + 1;
	}
	b64w_put(w, run, (size_t)(s - run));
	b64w_put(w, "\"", 1);
}

static void
b64w_int(struct b64w *w, int64_t v)
{
	char	num[24];
	int	n;

	n = snprintf(num, sizeof(num), "%" PRId64, v);
	b64w_put(w, num, (size_t)n);
}

/* Flushes the last 1 or 2 bytes.  Returns the writer's status. */
static enum kg_err
b64w_end(struct b64w *w)
{
	char	tail[4];
	size_t	n;

	if (w->w_r != KG_OK || w->w_n == 0)
		return w->w_r;
	n = b64u_encode(w->w_in, w->w_n, tail);
	w->w_n = 0;
	return kg_buf_append(w->w_buf, tail, n);
}

/* ----------------------------------------------------- strict JSON reader */

/*
 * RFC 8259, read from the bytes of a decoded segment that already passed
 * kg_utf8_valid.  Enough for flat objects: strings are decoded into fixed
 * buffers, integers read exactly; any other value is only skipped.
 */
struct jp {
	const unsigned char	*p;
	const unsigned char	*e;
};

enum jp_res {
	JP_OK = 0,
	JP_SYNTAX,	/* not JSON, or a value JSON allows that we refuse */
	JP_LONG,	/* a string longer than its buffer (fully consumed) */
	JP_TYPE		/* a valid value of the wrong type (not consumed) */
};

static void
jp_ws(struct jp *j)
{
	while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* Consumes c after optional white space.  Returns 0, or -1 if absent. */
static int
jp_char(struct jp *j, unsigned char c)
{
	jp_ws(j);
	if (j->p < j->e && *j->p == c) {
		j->p++;
		return 0;
	}
	return -1;
}

static int
jp_hex4(struct jp *j, unsigned int *v)
{
	int	i, c;

	if (j->e - j->p < 4)
		return -1;
	for (*v = 0, i = 0; i < 4; i++) {
		c = *j->p++;
		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return -1;
		*v = *v << 4 | (unsigned int)c;
	}
	return 0;
}

/*
 * Reads a string into out (cap bytes, NUL-terminated; out NULL: skip).
 * Refuses raw control characters, bad escapes, lone surrogates and
 * \u0000 (a C string would silently end there).  *lenp, if not NULL, gets
 * the decoded length.  JP_TYPE when the next value is not a string.
 */
static enum jp_res
jp_str(struct jp *j, char *out, size_t cap, size_t *lenp)
{
	const unsigned char	*run;
	unsigned char		 u[4];
	unsigned int		 c, lo;
	size_t			 n = 0, k;
	int			 over = 0;

	jp_ws(j);
	if (j->p >= j->e || *j->p != '"')
		return JP_TYPE;
	j->p++;
	for (;;) {
		/* Copy a run of plain bytes at once. */
		for (run = j->p; j->p < j->e && *j->p >= 0x20 &&
		    *j->p != '"' && *j->p != '\\'; j->p++)
			continue;
		if ((k = (size_t)(j->p - run)) > 0) {
			if (out != NULL && !over) {
				if (n + k < cap)
					memcpy(out + n, run, k);
				else
					over = 1;
			}
			n += k;
		}
		if (j->p >= j->e)
			return JP_SYNTAX;
		c = *j->p++;
		if (c == '"')
			break;
		/* What stopped the run: a raw control character or '\\'. */
		if (c < 0x20)
			return JP_SYNTAX;
		k = 1;
		if (j->p >= j->e)
			return JP_SYNTAX;
		switch (c = *j->p++) {
		case '"': case '\\': case '/':
			break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (jp_hex4(j, &c) == -1)
				return JP_SYNTAX;
			if (c >= 0xdc00 && c <= 0xdfff)
				return JP_SYNTAX;
			if (c >= 0xd800 && c <= 0xdbff) {
				if (j->e - j->p < 2 || j->p[0] != '\\' ||
				    j->p[1] != 'u')
					return JP_SYNTAX;
				j->p += 2;
				if (jp_hex4(j, &lo) == -1 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return JP_SYNTAX;
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			if (c == 0)
				return JP_SYNTAX;
			break;
		default:
			return JP_SYNTAX;
		}
		/* UTF-8 of c. */
		if (c < 0x80) {
			u[0] = (unsigned char)c;
		} else if (c < 0x800) {
			u[0] = (unsigned char)(0xc0 | c >> 6);
			u[1] = (unsigned char)(0x80 | (c & 0x3f));
			k = 2;
		} else if (c < 0x10000) {
			u[0] = (unsigned char)(0xe0 | c >> 12);
			u[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			u[2] = (unsigned char)(0x80 | (c & 0x3f));
			k = 3;
		} else {
			u[0] = (unsigned char)(0xf0 | c >> 18);
			u[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
			u[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			u[3] = (unsigned char)(0x80 | (c & 0x3f));
			k = 4;
		}
		if (out != NULL && !over) {
			if (n + k < cap)
				memcpy(out + n, u, k);
			else
				over = 1;
		}
		n += k;
	}
	if (out != NULL)
		out[over ? 0 : n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return over ? JP_LONG : JP_OK;
}

/*
 * Reads an integer written as one: -?(0|[1-9][0-9]*), no fraction, no
 * exponent, within int64.  JP_TYPE for any other value (not consumed).
 */
static enum jp_res
jp_int(struct jp *j, int64_t *v)
{
	const unsigned char	*p;
	uint64_t		 acc = 0, lim;
	int			 neg = 0;

	jp_ws(j);
	p = j->p;
	if (p < j->e && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= j->e || *p < '0' || *p > '9')
		return JP_TYPE;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (*p == '0') {
		p++;
	} else {
		for (; p < j->e && *p >= '0' && *p <= '9'; p++) {
			if (acc > (lim - (uint64_t)(*p - '0')) / 10)
				return JP_SYNTAX;
			acc = acc * 10 + (uint64_t)(*p - '0');
		}
	}
	/* "1.5", "1e3", "01": JSON or not, they are not our integers. */
	if (p < j->e && (*p == '.' || *p == 'e' || *p == 'E' ||
	    (*p >= '0' && *p <= '9')))
		return JP_SYNTAX;
	j->p = p;
	if (neg)
		*v = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	else
		*v = (int64_t)acc;
	return JP_OK;
}

/* Skips a JSON number (the full grammar).  0, or -1. */
static int
jp_skip_number(struct jp *j)
{
	const unsigned char	*p = j->p;

#define DIGITS(p) do { while ((p) < j->e && *(p) >= '0' && *(p) <= '9') (p)++; } while (0)
	if (p < j->e && *p == '-')
		p++;
	if (p >= j->e || *p < '0' || *p > '9')
		return -1;
	if (*p == '0')
		p++;
	else
		DIGITS(p);
	if (p < j->e && *p == '.') {
		p++;
		if (p >= j->e || *p < '0' || *p > '9')
			return -1;
		DIGITS(p);
	}
	if (p < j->e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < j->e && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->e || *p < '0' || *p > '9')
			return -1;
		DIGITS(p);
	}
#undef DIGITS
	j->p = p;
	return 0;
}

/* Skips any JSON value nested at most depth levels.  0, or -1. */
static int
jp_skip(struct jp *j, int depth)
{
	static const char *const lits[] = { "true", "false", "null" };
	unsigned char	 close;
	size_t		 i, n;

	jp_ws(j);
	if (j->p >= j->e)
		return -1;
	switch (*j->p) {
	case '"':
		return jp_str(j, NULL, 0, NULL) == JP_OK ? 0 : -1;
	case '{':
	case '[':
		if (depth <= 0)
			return -1;
		close = *j->p == '{' ? '}' : ']';
		j->p++;
		if (jp_char(j, close) == 0)
			return 0;
		do {
			if (close == '}' && (jp_str(j, NULL, 0, NULL) != JP_OK ||
			    jp_char(j, ':') == -1))
				return -1;
			if (jp_skip(j, depth - 1) == -1)
				return -1;
		} while (jp_char(j, ',') == 0);
		return jp_char(j, close);
	case 't':
	case 'f':
	case 'n':
		for (i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
			n = strlen(lits[i]);
			if ((size_t)(j->e - j->p) >= n &&
			    memcmp(j->p, lits[i], n) == 0) {
				j->p += n;
				return 0;
			}
		}
		return -1;
	default:
		return jp_skip_number(j);
	}
}

/*
 * Walks the members of the one object that makes up the whole text,
 * calling member() for each with its decoded name (names longer than 15
 * bytes come as "" : no member we know is that long).  member() consumes
 * the value and returns a kg_jwt_fail to stop, or KG_JWT_FAIL__MAX.
 * Returns KG_JWT_FAIL__MAX, member()'s verdict, or syntax_fail.
 */
typedef enum kg_jwt_fail (*jp_member_fn)(struct jp *, const char *, void *);

static enum kg_jwt_fail
jp_object(const unsigned char *s, size_t len, jp_member_fn member, void *arg,
    enum kg_jwt_fail syntax_fail)
{
	struct jp		 j = { s, s + len };
	char			 name[16];
	enum jp_res		 r;
	enum kg_jwt_fail	 f;

	if (jp_char(&j, '{') == -1)
		return syntax_fail;
	if (jp_char(&j, '}') == -1) {
		do {
			r = jp_str(&j, name, sizeof(name), NULL);
			if (r == JP_LONG)
				name[0] = '\0';
			else if (r != JP_OK)
				return syntax_fail;
			if (jp_char(&j, ':') == -1)
				return syntax_fail;
			if ((f = member(&j, name, arg)) != KG_JWT_FAIL__MAX)
				return f;
		} while (jp_char(&j, ',') == 0);
		if (jp_char(&j, '}') == -1)
			return syntax_fail;
	}
	jp_ws(&j);
	return j.p == j.e ? KG_JWT_FAIL__MAX : syntax_fail;
}

/* ---------------------------------------------------------------- header */

struct hdr {
	char		h_alg[16];
	char		h_typ[32];
	char		h_kid[KG_JWT_KID_LEN + 1];
	unsigned int	h_seen;		/* bit 0 alg, 1 typ, 2 kid */
	int		h_kid_long;
};

static enum kg_jwt_fail
hdr_member(struct jp *j, const char *name, void *arg)
{
	struct hdr	*h = arg;
	unsigned int	 bit;
	char		*dst;
	size_t		 cap;
	enum jp_res	 r;

	if (strcmp(name, "alg") == 0) {
		bit = 1; dst = h->h_alg; cap = sizeof(h->h_alg);
	} else if (strcmp(name, "typ") == 0) {
		bit = 2; dst = h->h_typ; cap = sizeof(h->h_typ);
	} else if (strcmp(name, "kid") == 0) {
		bit = 4; dst = h->h_kid; cap = sizeof(h->h_kid);
	} else {
		/*
		 * Only what keygate writes is accepted: crit (RFC 7515
		 * 4.1.11), b64 (RFC 7797, changes the signing input), jku,
		 * x5u, jwk, x5c (key sources an attacker controls) and
		 * anything else are refused rather than ignored.
		 */
		return KG_JWT_BAD_HEADER;
	}
	if (h->h_seen & bit)
		return KG_JWT_MALFORMED;
	h->h_seen |= bit;
	r = jp_str(j, dst, cap, NULL);
	if (r == JP_LONG) {
		/* Cannot match anything we accept; decided by the checks. */
		dst[0] = '\0';
		if (bit == 4)
			h->h_kid_long = 1;
		return KG_JWT_FAIL__MAX;
	}
	if (r == JP_TYPE) {
		if (bit == 1)
			return KG_JWT_BAD_ALG;
		return bit == 2 ? KG_JWT_BAD_TYP : KG_JWT_UNKNOWN_KID;
	}
	return r == JP_OK ? KG_JWT_FAIL__MAX : KG_JWT_MALFORMED;
}

/* ---------------------------------------------------------------- claims */

enum claim {
	C_ISS, C_AUD, C_SUB, C_NS, C_TRACK, C_SCOPE, C_JTI, C_SID,
	C_IAT, C_NBF, C_EXP, C__MAX
};

static const char *const claim_names[C__MAX] = {
	"iss", "aud", "sub", "ns", "track", "scope", "jti", "sid",
	"iat", "nbf", "exp"
};

struct claims_rd {
	struct kg_jwt_claims	*cr_c;
	char			 cr_iss[KG_JWT_NAME_MAX + 1];
	char			 cr_aud[KG_JWT_NAME_MAX + 1];
	int			 cr_iss_long;
	int			 cr_aud_long;
	unsigned int		 cr_seen;
	int64_t			 cr_track;
};

static enum kg_jwt_fail
claim_member(struct jp *j, const char *name, void *arg)
{
	struct claims_rd	*cr = arg;
	struct kg_jwt_claims	*c = cr->cr_c;
	enum claim		 k;
	enum jp_res		 r;
	char			*dst = NULL;
	size_t			 cap = 0;
	int64_t			*iv = NULL;

	for (k = 0; k < C__MAX; k++)
		if (strcmp(name, claim_names[k]) == 0)
			break;
	if (k == C__MAX)
		/* RFC 7519 section 4: claims not understood are ignored. */
		return jp_skip(j, SKIP_DEPTH) == 0 ? KG_JWT_FAIL__MAX :
		    KG_JWT_BAD_CLAIMS;
	/* RFC 7519 section 4: a duplicate claim may be refused; it is. */
	if (cr->cr_seen & (1u << k))
		return KG_JWT_BAD_CLAIMS;
	cr->cr_seen |= 1u << k;
	switch (k) {
	case C_ISS: dst = cr->cr_iss; cap = sizeof(cr->cr_iss); break;
	case C_AUD: dst = cr->cr_aud; cap = sizeof(cr->cr_aud); break;
	case C_SUB: dst = c->jc_sub; cap = sizeof(c->jc_sub); break;
	case C_NS: dst = c->jc_ns; cap = sizeof(c->jc_ns); break;
	case C_SCOPE: dst = c->jc_scope; cap = sizeof(c->jc_scope); break;
	case C_JTI: dst = c->jc_jti; cap = sizeof(c->jc_jti); break;
	case C_SID: dst = c->jc_sid; cap = sizeof(c->jc_sid); break;
	case C_TRACK: iv = &cr->cr_track; break;
	case C_IAT: iv = &c->jc_iat; break;
	case C_NBF: iv = &c->jc_nbf; break;
	case C_EXP: iv = &c->jc_exp; break;
	default: return KG_JWT_BAD_CLAIMS;
	}
	if (iv != NULL)
		return jp_int(j, iv) == JP_OK ? KG_JWT_FAIL__MAX :
		    KG_JWT_BAD_CLAIMS;
	r = jp_str(j, dst, cap, NULL);
	if (r == JP_LONG && (k == C_ISS || k == C_AUD)) {
		/* Longer than any configured value: a mismatch. */
		*(k == C_ISS ? &cr->cr_iss_long : &cr->cr_aud_long) = 1;
		return KG_JWT_FAIL__MAX;
	}
	if (r == JP_TYPE && k == C_AUD)
		/* The array form is refused: keygate writes a string. */
		return jp_skip(j, SKIP_DEPTH) == 0 ? KG_JWT_BAD_AUD :
		    KG_JWT_BAD_CLAIMS;
	if (r == JP_TYPE && k == C_ISS)
		return jp_skip(j, SKIP_DEPTH) == 0 ? KG_JWT_BAD_ISS :
		    KG_JWT_BAD_CLAIMS;
	return r == JP_OK ? KG_JWT_FAIL__MAX : KG_JWT_BAD_CLAIMS;
}

/* No control characters (they would reach headers and logs). */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
is_jti(const char *s)
{
	size_t	i;

	for (i = 0; i < KG_JWT_JTI_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

static int
time_ok(int64_t t)
{
	return t >= 0 && t <= KG_JWT_TIME_MAX;
}

/*
 * The rules a claims set must follow, whoever made it: kg_jwt_sign applies
 * them to its input and kg_jwt_verify to what it read.
 */
static int
claims_ok(const struct kg_jwt_claims *c)
{
	return c->jc_sub[0] != '\0' && c->jc_ns[0] != '\0' &&
	    printable(c->jc_sub) && printable(c->jc_ns) &&
	    printable(c->jc_scope) && printable(c->jc_sid) &&
	    is_jti(c->jc_jti) && c->jc_track >= 0 && c->jc_track <= KG_TRACKS &&
	    time_ok(c->jc_iat) && time_ok(c->jc_nbf) && time_ok(c->jc_exp) &&
	    c->jc_exp > c->jc_iat && c->jc_exp > c->jc_nbf;
}

static enum kg_jwt_fail
claims_read(const struct kg_jwt_keys *ks, const unsigned char *s, size_t len,
    struct kg_jwt_claims *c)
{
	/* iss, aud, sub, ns, scope, jti, iat, nbf, exp */
	const unsigned int	 required = 1u << C_ISS | 1u << C_AUD |
	    1u << C_SUB | 1u << C_NS | 1u << C_SCOPE | 1u << C_JTI |
	    1u << C_IAT | 1u << C_NBF | 1u << C_EXP;
	struct claims_rd	 cr;
	enum kg_jwt_fail	 f;

	memset(&cr, 0, sizeof(cr));
	cr.cr_c = c;
	if (!kg_utf8_valid((const char *)s, len))
		return KG_JWT_BAD_CLAIMS;
	if ((f = jp_object(s, len, claim_member, &cr, KG_JWT_BAD_CLAIMS)) !=
	    KG_JWT_FAIL__MAX)
		return f;
	if ((cr.cr_seen & required) != required)
		return KG_JWT_BAD_CLAIMS;
	if (cr.cr_seen & (1u << C_TRACK)) {
		/* Present means a wallet session: 1..4, never 0. */
		if (cr.cr_track < 1 || cr.cr_track > KG_TRACKS)
			return KG_JWT_BAD_CLAIMS;
		c->jc_track = (int)cr.cr_track;
	}
	if (!claims_ok(c))
		return KG_JWT_BAD_CLAIMS;
	if (cr.cr_iss_long || strcmp(cr.cr_iss, ks->jk_iss) != 0)
		return KG_JWT_BAD_ISS;
	if (cr.cr_aud_long || strcmp(cr.cr_aud, ks->jk_aud) != 0)
		return KG_JWT_BAD_AUD;
	return KG_JWT_FAIL__MAX;
}

/* ---------------------------------------------------------------- keys */

static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	/* Never prompt: a worker has no terminal.  Encrypted keys fail. */
	return -1;
}

/*
 * Reads the PEM key at path.  The first key must be private; later ones
 * may be public.  A private key file others can read or write, or any key
 * file others can write, is refused.
 */
static enum kg_err
pem_load(const char *path, int first, EVP_PKEY **pkp, int *private,
    char *err, size_t errlen)
{
	struct stat	 st;
	unsigned char	*buf = NULL;
	BIO		*bio = NULL;
	EVP_PKEY	*pk = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd = -1;
	enum kg_err	 r = KG_ERR_CONFIG;

	*pkp = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "jwt_key_file: %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PEM_FILE_MAX) {
		snprintf(err, errlen, "jwt_key_file: %s: not a regular file "
		    "of at most %d bytes", path, PEM_FILE_MAX);
		goto out;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "jwt_key_file: %s: refusing a file "
		    "others can write (mode %04o)", path,
		    (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	if ((buf = malloc(PEM_FILE_MAX)) == NULL) {
		r = KG_ERR_NOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (len < PEM_FILE_MAX) {
		n = read(fd, buf + len, PEM_FILE_MAX - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "jwt_key_file: %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		goto nomem;
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	*private = pk != NULL;
	if (pk == NULL && !first) {
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
			goto nomem;
		pk = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	}
	if (pk == NULL) {
		snprintf(err, errlen, "jwt_key_file: %s: no unencrypted PEM "
		    "%s key", path, first ? "private" : "private or public");
		goto out;
	}
	if (*private && (st.st_mode & (S_IROTH | S_IWOTH))) {
		snprintf(err, errlen, "jwt_key_file: %s: refusing a private "
		    "key others can read (mode %04o): chmod o-rwx it", path,
		    (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	*pkp = pk;
	pk = NULL;
	r = KG_OK;
	goto out;
 nomem:
	r = KG_ERR_NOMEM;
	snprintf(err, errlen, "out of memory");
 out:
	EVP_PKEY_free(pk);
	BIO_free(bio);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, PEM_FILE_MAX);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	ERR_clear_error();
	return r;
}

/* Appends the base64url of a BIGNUM parameter (unsigned, minimal). */
static enum kg_err
append_bn_b64u(struct kg_buf *b, const EVP_PKEY *pk, const char *param)
{
	BIGNUM		*bn = NULL;
	unsigned char	 bin[RSA_MAX_BITS / 8];
	char		 enc[(RSA_MAX_BITS / 8 + 2) / 3 * 4 + 1];
	int		 n;
	enum kg_err	 r = KG_ERR_INTERNAL;

	if (!EVP_PKEY_get_bn_param(pk, param, &bn) ||
	    (n = BN_num_bytes(bn)) <= 0 || (size_t)n > sizeof(bin))
		goto out;
	BN_bn2bin(bn, bin);
	b64u_encode(bin, (size_t)n, enc);
	r = kg_buf_puts(b, enc);
 out:
	BN_free(bn);
	return r;
}

/*
 * Computes k's kid (RFC 7638: SHA-256 of the required members in
 * lexicographic order, no white space) and appends its public JWK to jwks.
 */
static enum kg_err
key_describe(struct kg_jwt_keys *ks, struct kg_jwt_key *k, struct kg_buf *jwks)
{
	struct kg_buf	 tp = KG_BUF_INIT, n = KG_BUF_INIT, e = KG_BUF_INIT;
	unsigned char	 raw[32], md[32];
	char		 x[44] = "";
	size_t		 rawlen = sizeof(raw);
	unsigned int	 mdlen;
	enum kg_err	 r = KG_ERR_INTERNAL;

	if (ks->jk_alg == KG_JWT_EDDSA) {
		if (!EVP_PKEY_get_raw_public_key(k->k_pkey, raw, &rawlen) ||
		    rawlen != sizeof(raw))
			goto out;
		b64u_encode(raw, rawlen, x);
		if ((r = kg_buf_printf(&tp,
		    "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x)) !=
		    KG_OK)
			goto out;
	} else {
		if ((r = append_bn_b64u(&n, k->k_pkey,
		    OSSL_PKEY_PARAM_RSA_N)) != KG_OK ||
		    (r = append_bn_b64u(&e, k->k_pkey,
		    OSSL_PKEY_PARAM_RSA_E)) != KG_OK ||
		    (r = kg_buf_printf(&tp,
		    "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
		    kg_buf_str(&e), kg_buf_str(&n))) != KG_OK)
			goto out;
	}
	r = KG_ERR_INTERNAL;
	if (!EVP_Digest(tp.b_data, tp.b_len, md, &mdlen, ks->jk_sha256, NULL) ||
	    mdlen != sizeof(md))
		goto out;
	b64u_encode(md, sizeof(md), k->k_kid);
	if (ks->jk_alg == KG_JWT_EDDSA)
		r = kg_buf_printf(jwks, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"x\":\"%s\",\"kid\":\"%s\",\"alg\":\"EdDSA\","
		    "\"use\":\"sig\"}", x, k->k_kid);
	else
		r = kg_buf_printf(jwks, "{\"kty\":\"RSA\",\"n\":\"%s\","
		    "\"e\":\"%s\",\"kid\":\"%s\",\"alg\":\"RS256\","
		    "\"use\":\"sig\"}", kg_buf_str(&n), kg_buf_str(&e),
		    k->k_kid);
 out:
	kg_buf_free(&tp);
	kg_buf_free(&n);
	kg_buf_free(&e);
	return r;
}

/*
 * Checks pk against the configured algorithm and prepares its contexts.
 * Takes pk over, whatever it returns.
 */
static enum kg_err
key_add(struct kg_jwt_keys *ks, EVP_PKEY *pk, int private, const char *path,
    char *err, size_t errlen)
{
	struct kg_jwt_key	*k = &ks->jk_keys[ks->jk_nkeys];
	const EVP_MD		*md = NULL;
	int			 bits;
	size_t			 i;
	enum kg_err		 r;

	if (ks->jk_alg == KG_JWT_EDDSA && !EVP_PKEY_is_a(pk, "ED25519")) {
		snprintf(err, errlen, "jwt_key_file: %s: a %s key, but jwt_alg "
		    "EdDSA needs Ed25519", path, EVP_PKEY_get0_type_name(pk));
		EVP_PKEY_free(pk);
		return KG_ERR_CONFIG;
	}
	if (ks->jk_alg == KG_JWT_RS256) {
		/* An RSA-PSS key is not an RS256 (PKCS #1 v1.5) key. */
		if (!EVP_PKEY_is_a(pk, "RSA")) {
			snprintf(err, errlen, "jwt_key_file: %s: a %s key, but "
			    "jwt_alg RS256 needs RSA", path,
			    EVP_PKEY_get0_type_name(pk));
			EVP_PKEY_free(pk);
			return KG_ERR_CONFIG;
		}
		bits = EVP_PKEY_get_bits(pk);
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
			snprintf(err, errlen, "jwt_key_file: %s: RSA key of %d "
			    "bits; %d to %d needed", path, bits, RSA_MIN_BITS,
			    RSA_MAX_BITS);
			EVP_PKEY_free(pk);
			return KG_ERR_CONFIG;
		}
		md = ks->jk_sha256;
	}
	k->k_pkey = pk;
	ks->jk_nkeys++;		/* from here on, freed with the set */
	k->k_siglen = ks->jk_alg == KG_JWT_EDDSA ? 64 :
	    (size_t)EVP_PKEY_get_size(pk);
	if ((k->k_vtpl = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(k->k_vtpl, NULL, md, NULL, pk) != 1)
		goto fail;
	if (ks->jk_nkeys == 1 && private &&
	    ((k->k_stpl = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(k->k_stpl, NULL, md, NULL, pk) != 1))
		goto fail;
	if ((ks->jk_nkeys > 1 && (r = kg_buf_puts(&ks->jk_jwks, ",")) !=
	    KG_OK) || (r = key_describe(ks, k, &ks->jk_jwks)) != KG_OK) {
		snprintf(err, errlen, "jwt_key_file: %s: cannot describe the "
		    "key", path);
		return r;
	}
	for (i = 0; i + 1 < ks->jk_nkeys; i++)
		if (strcmp(ks->jk_keys[i].k_kid, k->k_kid) == 0) {
			snprintf(err, errlen, "jwt_key_file: %s: the same key "
			    "is listed twice", path);
			return KG_ERR_CONFIG;
		}
	return KG_OK;
 fail:
	snprintf(err, errlen, "jwt_key_file: %s: cannot prepare the key", path);
	return KG_ERR_INTERNAL;
}

static enum kg_err
keys_load_files(struct kg_jwt_keys *ks, const char *list, char *err,
    size_t errlen)
{
	char		 path[4096];
	const char	*p = list, *w;
	size_t		 len;
	EVP_PKEY	*pk;
	int		 private;
	enum kg_err	 r;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		for (w = p; *p != '\0' && *p != ' ' && *p != '\t'; p++)
			continue;
		len = (size_t)(p - w);
		if (len >= sizeof(path)) {
			snprintf(err, errlen, "jwt_key_file: a path is too long");
			return KG_ERR_CONFIG;
		}
		if (ks->jk_nkeys == KG_JWT_KEYS_MAX) {
			snprintf(err, errlen, "jwt_key_file: more than %d keys",
			    KG_JWT_KEYS_MAX);
			return KG_ERR_CONFIG;
		}
		memcpy(path, w, len);
		path[len] = '\0';
		if ((r = pem_load(path, ks->jk_nkeys == 0, &pk, &private, err,
		    errlen)) != KG_OK)
			return r;
		if ((r = key_add(ks, pk, private, path, err, errlen)) != KG_OK)
			return r;
	}
	if (ks->jk_nkeys == 0) {
		snprintf(err, errlen, "jwt_key_file: required when jwt_alg is "
		    "%s", alg_names[ks->jk_alg]);
		return KG_ERR_CONFIG;
	}
	return KG_OK;
}

static enum kg_err
hmac_prepare(struct kg_jwt_keys *ks, const char *secret, char *err,
    size_t errlen)
{
	OSSL_PARAM	params[2];
	size_t		len = strlen(secret);

	if (len < 32) {
		snprintf(err, errlen, "jwt_secret: at least 32 bytes are "
		    "required when jwt_alg is HS256");
		return KG_ERR_CONFIG;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ks->jk_mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ks->jk_hmac = EVP_MAC_CTX_new(ks->jk_mac)) == NULL ||
	    !EVP_MAC_init(ks->jk_hmac, (const unsigned char *)secret, len,
	    params)) {
		snprintf(err, errlen, "jwt_secret: cannot prepare HMAC-SHA256");
		return KG_ERR_INTERNAL;
	}
	return KG_OK;
}

static enum kg_err
name_check(const char *key, const char *v, char *err, size_t errlen)
{
	size_t	len = strlen(v);

	if (len == 0 || len > KG_JWT_NAME_MAX || !kg_utf8_valid(v, len) ||
	    !printable(v)) {
		snprintf(err, errlen, "%s: 1 to %d bytes of printable UTF-8 "
		    "needed", key, KG_JWT_NAME_MAX);
		return KG_ERR_CONFIG;
	}
	return KG_OK;
}

enum kg_err
kg_jwt_keys_load(const struct kg_config *cfg, struct kg_jwt_keys **out,
    char *err, size_t errlen)
{
	struct kg_jwt_keys	*ks = NULL;
	struct kg_buf		 hb = KG_BUF_INIT;
	char			*enc = NULL;
	enum kg_err		 r = KG_ERR_INTERNAL;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if ((unsigned int)cfg->jwt_alg >= KG_JWT__MAX) {
		snprintf(err, errlen, "jwt_alg: unknown algorithm");
		return KG_ERR_CONFIG;
	}
	if ((r = name_check("jwt_issuer", cfg->jwt_issuer, err, errlen)) !=
	    KG_OK || (r = name_check("jwt_audience", cfg->jwt_audience, err,
	    errlen)) != KG_OK)
		return r;
	r = KG_ERR_NOMEM;
	if ((ks = calloc(1, sizeof(*ks))) == NULL ||
	    (ks->jk_iss = strdup(cfg->jwt_issuer)) == NULL ||
	    (ks->jk_aud = strdup(cfg->jwt_audience)) == NULL)
		goto nomem;
	ks->jk_alg = cfg->jwt_alg;
	r = KG_ERR_INTERNAL;
	if ((ks->jk_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (ks->jk_work = EVP_MD_CTX_new()) == NULL) {
		snprintf(err, errlen, "cannot fetch SHA-256");
		goto out;
	}

	if ((r = kg_buf_puts(&ks->jk_jwks, "{\"keys\":[")) != KG_OK)
		goto nomem;
	if (ks->jk_alg == KG_JWT_HS256) {
		if ((r = hmac_prepare(ks, cfg->jwt_secret != NULL ?
		    cfg->jwt_secret : "", err, errlen)) != KG_OK)
			goto out;
	} else {
		if ((r = keys_load_files(ks, cfg->jwt_key_file != NULL ?
		    cfg->jwt_key_file : "", err, errlen)) != KG_OK)
			goto out;
		if (ks->jk_keys[0].k_stpl == NULL) {
			snprintf(err, errlen, "jwt_key_file: the first key "
			    "must be a private key: it signs");
			r = KG_ERR_CONFIG;
			goto out;
		}
	}
	if ((r = kg_buf_puts(&ks->jk_jwks, "]}")) != KG_OK)
		goto nomem;

	/* The signing header never changes: encode it once. */
	if ((r = kg_buf_printf(&hb, "{\"alg\":\"%s\",\"typ\":\"at+jwt\"",
	    alg_names[ks->jk_alg])) != KG_OK ||
	    (ks->jk_nkeys > 0 && (r = kg_buf_printf(&hb, ",\"kid\":\"%s\"",
	    ks->jk_keys[0].k_kid)) != KG_OK) ||
	    (r = kg_buf_puts(&hb, "}")) != KG_OK)
		goto nomem;
	if ((enc = malloc(hb.b_len / 3 * 4 + 5)) == NULL)
		goto nomem;
	b64u_encode((const unsigned char *)hb.b_data, hb.b_len, enc);
	if ((r = kg_buf_puts(&ks->jk_hdr, enc)) != KG_OK)
		goto nomem;

	/* Nor do iss and aud. */
	if ((r = kg_buf_puts(&ks->jk_prefix, "{\"iss\":\"")) != KG_OK ||
	    (r = kg_buf_json_str(&ks->jk_prefix, ks->jk_iss)) != KG_OK ||
	    (r = kg_buf_puts(&ks->jk_prefix, "\",\"aud\":\"")) != KG_OK ||
	    (r = kg_buf_json_str(&ks->jk_prefix, ks->jk_aud)) != KG_OK ||
	    (r = kg_buf_puts(&ks->jk_prefix, "\",")) != KG_OK)
		goto nomem;

	*out = ks;
	ks = NULL;
	r = KG_OK;
	goto out;
 nomem:
	snprintf(err, errlen, "out of memory");
 out:
	free(enc);
	kg_buf_free(&hb);
	kg_jwt_keys_free(ks);
	ERR_clear_error();
	return r;
}

void
kg_jwt_keys_free(struct kg_jwt_keys *ks)
{
	size_t	i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->jk_nkeys; i++) {
		EVP_MD_CTX_free(ks->jk_keys[i].k_vtpl);
		EVP_MD_CTX_free(ks->jk_keys[i].k_stpl);
		EVP_PKEY_free(ks->jk_keys[i].k_pkey);
	}
	EVP_MAC_CTX_free(ks->jk_hmac);	/* wipes the key it holds */
	EVP_MAC_free(ks->jk_mac);
	EVP_MD_CTX_free(ks->jk_work);
	EVP_MD_free(ks->jk_sha256);
	kg_buf_free(&ks->jk_hdr);
	kg_buf_free(&ks->jk_prefix);
	kg_buf_free(&ks->jk_jwks);
	free(ks->jk_iss);
	free(ks->jk_aud);
	OPENSSL_cleanse(ks, sizeof(*ks));
	free(ks);
}

size_t
kg_jwt_keys_count(const struct kg_jwt_keys *ks)
{
	return ks->jk_nkeys;
}

const char *
kg_jwt_keys_kid(const struct kg_jwt_keys *ks, size_t i)
{
	return i < ks->jk_nkeys ? ks->jk_keys[i].k_kid : NULL;
}

/* ------------------------------------------------------ sign and verify */

/* HMAC-SHA256 of data with the kept, keyed context.  0 or -1. */
static int
hmac(struct kg_jwt_keys *ks, const void *data, size_t len,
    unsigned char mac[32])
{
	size_t	maclen;

	/* A NULL key re-initialises with the key given at load. */
	if (!EVP_MAC_init(ks->jk_hmac, NULL, 0, NULL) ||
	    !EVP_MAC_update(ks->jk_hmac, data, len) ||
	    !EVP_MAC_final(ks->jk_hmac, mac, &maclen, 32) || maclen != 32)
		return -1;
	return 0;
}

/* A NUL within the buffer: a C string that fits. */
#define FITS(a)	(memchr((a), '\0', sizeof(a)) != NULL)

enum kg_err
kg_jwt_sign(struct kg_jwt_keys *ks, const struct kg_jwt_claims *c,
    struct kg_buf *out)
{
	struct b64w	 w;
	unsigned char	 sig[SIG_MAX];
	char		 enc[(SIG_MAX + 2) / 3 * 4 + 1];
	size_t		 start = out->b_len, siglen = sizeof(sig), n;
	enum kg_err	 r;

	if (!FITS(c->jc_sub) || !FITS(c->jc_ns) || !FITS(c->jc_scope) ||
	    !FITS(c->jc_jti) || !FITS(c->jc_sid) || !claims_ok(c) ||
	    !kg_utf8_valid(c->jc_sub, strlen(c->jc_sub)) ||
	    !kg_utf8_valid(c->jc_ns, strlen(c->jc_ns)) ||
	    !kg_utf8_valid(c->jc_scope, strlen(c->jc_scope)) ||
	    !kg_utf8_valid(c->jc_sid, strlen(c->jc_sid)))
		return KG_ERR_INVALID;

	if ((r = kg_buf_append(out, ks->jk_hdr.b_data, ks->jk_hdr.b_len)) !=
	    KG_OK || (r = kg_buf_append(out, ".", 1)) != KG_OK)
		goto out;
	memset(&w, 0, sizeof(w));
	w.w_buf = out;
	b64w_put(&w, ks->jk_prefix.b_data, ks->jk_prefix.b_len);
	b64w_puts(&w, "\"sub\":");
	b64w_jstr(&w, c->jc_sub);
	b64w_puts(&w, ",\"ns\":");
	b64w_jstr(&w, c->jc_ns);
	if (c->jc_track > 0) {
		b64w_puts(&w, ",\"track\":");
		b64w_int(&w, c->jc_track);
	}
	b64w_puts(&w, ",\"scope\":");
	b64w_jstr(&w, c->jc_scope);
	b64w_puts(&w, ",\"jti\":");
	b64w_jstr(&w, c->jc_jti);
	if (c->jc_sid[0] != '\0') {
		b64w_puts(&w, ",\"sid\":");
		b64w_jstr(&w, c->jc_sid);
	}
	b64w_puts(&w, ",\"iat\":");
	b64w_int(&w, c->jc_iat);
	b64w_puts(&w, ",\"nbf\":");
	b64w_int(&w, c->jc_nbf);
	b64w_puts(&w, ",\"exp\":");
	b64w_int(&w, c->jc_exp);
	b64w_puts(&w, "}");
	if ((r = b64w_end(&w)) != KG_OK)
		goto out;

	r = KG_ERR_INTERNAL;
	n = out->b_len - start;
	if (ks->jk_alg == KG_JWT_HS256) {
		if (hmac(ks, out->b_data + start, n, sig) == -1)
			goto out;
		siglen = 32;
	} else if (EVP_MD_CTX_copy_ex(ks->jk_work, ks->jk_keys[0].k_stpl) != 1 ||
	    EVP_DigestSign(ks->jk_work, sig, &siglen,
	    (const unsigned char *)out->b_data + start, n) != 1)
		goto out;
	b64u_encode(sig, siglen, enc);
	if ((r = kg_buf_append(out, ".", 1)) != KG_OK ||
	    (r = kg_buf_puts(out, enc)) != KG_OK)
		goto out;
	r = out->b_len - start > KG_JWT_MAX ? KG_ERR_TOO_LARGE : KG_OK;
 out:
	OPENSSL_cleanse(sig, sizeof(sig));
	if (r != KG_OK) {
		out->b_len = start;
		if (out->b_data != NULL)
			out->b_data[start] = '\0';
		ERR_clear_error();
	}
	return r;
}

/* "at+jwt" or "application/at+jwt" (RFC 9068 section 4), any case. */
static int
typ_ok(const char *typ)
{
	if (strncasecmp(typ, "application/", 12) == 0)
		typ += 12;
	return strcasecmp(typ, "at+jwt") == 0;
}

enum kg_err
kg_jwt_verify(struct kg_jwt_keys *ks, const char *token, size_t len,
    int64_t now, long leeway, struct kg_jwt_claims *out, enum kg_jwt_fail *why)
{
	unsigned char		 hbuf[HDR_MAX], pbuf[KG_JWT_MAX / 4 * 3];
	unsigned char		 sig[SIG_MAX], mac[32];
	const char		*d1, *d2;
	struct kg_jwt_key	*k = NULL;
	struct hdr		 h;
	long			 hlen, plen, slen;
	size_t			 i, tbslen;
	int			 rc;
	enum kg_jwt_fail	 f = KG_JWT_MALFORMED;
	enum kg_err		 r = KG_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	if (leeway < 0)
		leeway = 0;
	if (leeway > LEEWAY_MAX)
		leeway = LEEWAY_MAX;

	/* Shape: header.payload.signature, each canonical base64url. */
	if (len == 0 || len > KG_JWT_MAX ||
	    (d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL ||
	    d1 == token || d2 == d1 + 1)
		goto out;
	tbslen = (size_t)(d2 - token);
	if ((hlen = b64u_decode(token, (size_t)(d1 - token), hbuf,
	    sizeof(hbuf))) < 0 ||
	    (plen = b64u_decode(d1 + 1, (size_t)(d2 - d1 - 1), pbuf,
	    sizeof(pbuf))) < 0 ||
	    (slen = b64u_decode(d2 + 1, len - tbslen - 1, sig,
	    sizeof(sig))) < 0)
		goto out;

	/* The header picks the key: checked before anything else is. */
	memset(&h, 0, sizeof(h));
	if (!kg_utf8_valid((const char *)hbuf, (size_t)hlen) ||
	    (f = jp_object(hbuf, (size_t)hlen, hdr_member, &h,
	    KG_JWT_MALFORMED)) != KG_JWT_FAIL__MAX) {
		if (f == KG_JWT_FAIL__MAX)
			f = KG_JWT_MALFORMED;
		goto out;
	}
	/* Pinned, exact and case-sensitive: "none" can never match. */
	f = KG_JWT_BAD_ALG;
	if (!(h.h_seen & 1) || strcmp(h.h_alg, alg_names[ks->jk_alg]) != 0)
		goto out;
	f = KG_JWT_BAD_TYP;
	if (!(h.h_seen & 2) || !typ_ok(h.h_typ))
		goto out;
	f = KG_JWT_UNKNOWN_KID;
	if (ks->jk_alg == KG_JWT_HS256) {
		/* HS256 has one secret and its tokens carry no kid. */
		if (h.h_seen & 4)
			goto out;
	} else {
		if (!(h.h_seen & 4) || h.h_kid_long)
			goto out;
		for (i = 0; i < ks->jk_nkeys; i++)
			if (strcmp(h.h_kid, ks->jk_keys[i].k_kid) == 0)
				k = &ks->jk_keys[i];
		if (k == NULL)
			goto out;
	}

	f = KG_JWT_MALFORMED;
	if (slen == 0)
		goto out;
	f = KG_JWT_BAD_SIGNATURE;
	if (ks->jk_alg == KG_JWT_HS256) {
		if (slen != 32)
			goto out;
		if (hmac(ks, token, tbslen, mac) == -1) {
			r = KG_ERR_INTERNAL;
			goto out;
		}
		if (CRYPTO_memcmp(mac, sig, 32) != 0)
			goto out;
	} else {
		if ((size_t)slen != k->k_siglen)
			goto out;
		if (EVP_MD_CTX_copy_ex(ks->jk_work, k->k_vtpl) != 1) {
			r = KG_ERR_INTERNAL;
			goto out;
		}
		rc = EVP_DigestVerify(ks->jk_work, sig, (size_t)slen,
		    (const unsigned char *)token, tbslen);
		if (rc != 1)
			goto out;
	}

	/* Signed by us: now the claims are worth reading. */
	if ((f = claims_read(ks, pbuf, (size_t)plen, out)) != KG_JWT_FAIL__MAX)
		goto out;
	/*
	 * Valid while now < exp + leeway, nbf <= now + leeway and
	 * iat <= now + leeway.  Claims are within [0, KG_JWT_TIME_MAX] and
	 * the leeway within [0, LEEWAY_MAX]: no sum overflows, whatever now.
	 */
	f = KG_JWT_EXPIRED;
	if (out->jc_exp + leeway <= now)
		goto out;
	f = KG_JWT_NOT_YET_VALID;
	if (out->jc_nbf - leeway > now || out->jc_iat - leeway > now)
		goto out;
	f = KG_JWT_FAIL__MAX;
	r = KG_OK;
 out:
	OPENSSL_cleanse(mac, sizeof(mac));
	if (r != KG_OK) {
		memset(out, 0, sizeof(*out));
		ERR_clear_error();
	}
	if (why != NULL)
		*why = r == KG_OK ? KG_JWT_FAIL__MAX : f;
	return r;
}

enum kg_err
kg_jwt_jwks(const struct kg_jwt_keys *ks, struct kg_buf *out)
{
	return kg_buf_append(out, ks->jk_jwks.b_data, ks->jk_jwks.b_len);
}

enum kg_err
kg_jwt_new_jti(char out[KG_JWT_JTI_LEN + 1])
{
	unsigned char		raw[KG_JWT_JTI_LEN / 2];

	if (kg_random_bytes(raw, sizeof(raw)) != KG_OK)
		return KG_ERR_INTERNAL;
	kg_hex_encode(raw, sizeof(raw), out);
	return KG_OK;
}
