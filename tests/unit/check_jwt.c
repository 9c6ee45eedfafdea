/*
 * check_jwt.c: core/crypto/jwt.c against an independent implementation.
 *
 * The tokens, kids and JWKS in tests/vectors/jwt/{hs256,eddsa,rs256}.json
 * were made by panva's jose (npm) with tests/vectors/gen-jwt-vectors.mjs
 * from the test-only keys beside them, not by keygate.  The malformed
 * tokens below are built here with OpenSSL's HMAC() and EVP_EncodeBlock(),
 * again not with keygate's encoder.  Tokens keygate signs are verified
 * here and, when KG_JWT_EXPORT names a file, written there for jose to
 * verify (gen-jwt-vectors.mjs --verify FILE; see tests/vectors/README.md).
 *
 * Needs top_srcdir in the environment (make check sets it).  The PEM keys
 * are copied into a private temporary directory with mode 0600 first: a
 * checkout leaves them 0644 and keygate refuses private keys others can
 * read.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "core/base/buf.h"
#include "core/base/config.h"
#include "core/crypto/jwt.h"

#define NOW		INT64_C(1767225600)	/* the vectors' "now" */
#define LEEWAY		30
#define ISS		"https://auth.example.test"
#define AUD		"keygate-test"
#define SECRET		"keygate-TEST-ONLY-hs256-secret-0123456789abcdef"
#define HDR_HS		"{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}"
#define JTI		"0123456789abcdef0123456789abcdef"
/* Claims without times, and the usual times. */
#define BASE		"\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"0xabc\"," \
			"\"ns\":\"default\",\"scope\":\"keys:read\",\"jti\":\"" JTI "\""
#define TIMES		"\"iat\":1767225540,\"nbf\":1767225540,\"exp\":1767226440"
#define GOOD		"{" BASE "," TIMES "}"

static const char *const pems[] = {
	"ed25519-a.pem", "ed25519-b.pem", "ed25519-b.pub.pem", "ed25519-x.pem",
	"ed448.pem", "rsa2048-a.pem", "rsa2048-x.pem", "rsa1024-weak.pem",
	NULL
};

static char	g_vecdir[PATH_MAX];	/* $top_srcdir/tests/vectors/jwt */
static char	g_keydir[PATH_MAX];	/* private copies of the keys */

/* ---------------------------------------------------------------- helpers */

static void
setstr(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	ck_assert_ptr_nonnull(*dst);
}

/*
 * A configuration as the service would have it, with the JWT keys
 * replaced: files is a space-separated list of names in g_keydir (or
 * absolute paths).
 */
static void
cfg_make(struct kg_config *cfg, enum kg_jwt_alg alg, const char *secret,
    const char *files)
{
	struct kg_buf	 list = KG_BUF_INIT;
	char		 err[512];
	const char	*p = files, *w;
	size_t		 n;

	ck_assert_msg(kg_config_load(cfg, NULL, err, sizeof(err)) == KG_OK,
	    "%s", err);
	cfg->jwt_alg = alg;
	setstr(&cfg->jwt_secret, secret != NULL ? secret : "");
	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		for (w = p; *p != '\0' && *p != ' '; p++)
			continue;
		if ((n = (size_t)(p - w)) == 0)
			break;
		if (list.b_len > 0)
			kg_buf_puts(&list, " ");
		if (*w != '/')
			kg_buf_printf(&list, "%s/", g_keydir);
		kg_buf_append(&list, w, n);
	}
	setstr(&cfg->jwt_key_file, kg_buf_str(&list));
	setstr(&cfg->jwt_issuer, ISS);
	setstr(&cfg->jwt_audience, AUD);
	kg_buf_free(&list);
}

static enum kg_err
keys_try(enum kg_jwt_alg alg, const char *secret, const char *files,
    struct kg_jwt_keys **ks, char *err, size_t errlen)
{
	struct kg_config	cfg;
	enum kg_err		r;

	cfg_make(&cfg, alg, secret, files);
	r = kg_jwt_keys_load(&cfg, ks, err, errlen);
	kg_config_free(&cfg);
	return r;
}

static struct kg_jwt_keys *
keys_make(enum kg_jwt_alg alg, const char *secret, const char *files)
{
	struct kg_jwt_keys	*ks = NULL;
	char			 err[512];

	ck_assert_msg(keys_try(alg, secret, files, &ks, err, sizeof(err)) ==
	    KG_OK, "load: %s", err);
	ck_assert_ptr_nonnull(ks);
	return ks;
}

/* base64url without padding, the test's own (OpenSSL's encoder). */
static void
b64u(const void *data, size_t n, struct kg_buf *out)
{
	unsigned char	*t;
	int		 len, i;

	t = malloc(4 * ((n + 2) / 3) + 1);
	ck_assert_ptr_nonnull(t);
	len = EVP_EncodeBlock(t, data, (int)n);
	while (len > 0 && t[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++)
		if (t[i] == '+')
			t[i] = '-';
		else if (t[i] == '/')
			t[i] = '_';
	ck_assert_int_eq(kg_buf_append(out, t, (size_t)len), KG_OK);
	free(t);
}

/* h64.p64.HMAC-SHA256(SECRET, "h64.p64"), whatever h64 and p64 hold. */
static char *
mint_raw(const char *h64, const char *p64)
{
	struct kg_buf	b = KG_BUF_INIT;
	unsigned char	mac[32];
	unsigned int	maclen;
	char		*s;

	ck_assert_int_eq(kg_buf_printf(&b, "%s.%s", h64, p64), KG_OK);
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
	    (const unsigned char *)b.b_data, b.b_len, mac, &maclen);
	ck_assert_int_eq(kg_buf_puts(&b, "."), KG_OK);
	b64u(mac, maclen, &b);
	s = strdup(b.b_data);
	kg_buf_free(&b);
	return s;
}

/* An HS256 token over the JSON texts hdr and payload, as written. */
static char *
mint(const char *hdr, const char *payload)
{
	struct kg_buf	 h = KG_BUF_INIT, p = KG_BUF_INIT;
	char		*s;

	b64u(hdr, strlen(hdr), &h);
	b64u(payload, strlen(payload), &p);
	s = mint_raw(kg_buf_str(&h), kg_buf_str(&p));
	kg_buf_free(&h);
	kg_buf_free(&p);
	return s;
}

/* Verifies and checks that the status and the reason agree. */
static enum kg_jwt_fail
vfy_len(struct kg_jwt_keys *ks, const char *tok, size_t len, int64_t now,
    long leeway, struct kg_jwt_claims *c)
{
	struct kg_jwt_claims	 tmp;
	enum kg_jwt_fail	 why = KG_JWT_MALFORMED;
	enum kg_err		 r;
	static const struct kg_jwt_claims zero;

	if (c == NULL)
		c = &tmp;
	r = kg_jwt_verify(ks, tok, len, now, leeway, c, &why);
	if (r == KG_OK)
		ck_assert_int_eq(why, KG_JWT_FAIL__MAX);
	else {
		ck_assert_int_eq(r, KG_ERR_INVALID);
		ck_assert_int_ne(why, KG_JWT_FAIL__MAX);
		ck_assert(memcmp(c, &zero, sizeof(zero)) == 0);
	}
	return why;
}

static enum kg_jwt_fail
vfy(struct kg_jwt_keys *ks, const char *tok, int64_t now, long leeway,
    struct kg_jwt_claims *c)
{
	return vfy_len(ks, tok, strlen(tok), now, leeway, c);
}

static json_object *
vec_load(const char *name)
{
	char		 path[PATH_MAX + 64];
	json_object	*doc;

	snprintf(path, sizeof(path), "%s/%s", g_vecdir, name);
	doc = json_object_from_file(path);
	ck_assert_msg(doc != NULL, "cannot read %s", path);
	return doc;
}

static json_object *
get(json_object *o, const char *k)
{
	json_object	*v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, k, &v), "no member %s", k);
	return v;
}

static const char *
gets(json_object *o, const char *k)
{
	return json_object_get_string(get(o, k));
}

/* The key set a vector file describes. */
static struct kg_jwt_keys *
vec_keys(json_object *doc)
{
	const char		*alg = gets(doc, "alg");
	json_object		*files = get(doc, "key_files");
	char			 list[1024] = "";
	size_t			 i, n;

	ck_assert_str_eq(gets(doc, "issuer"), ISS);
	ck_assert_str_eq(gets(doc, "audience"), AUD);
	ck_assert_int_eq(json_object_get_int64(get(doc, "now")), NOW);
	ck_assert_int_eq(json_object_get_int(get(doc, "leeway")), LEEWAY);
	for (i = 0; i < json_object_array_length(files); i++) {
		n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "%s%s", n ? " " : "",
		    json_object_get_string(json_object_array_get_idx(files, i)));
	}
	if (strcmp(alg, "HS256") == 0)
		return keys_make(KG_JWT_HS256, gets(doc, "secret"), "");
	return keys_make(strcmp(alg, "EdDSA") == 0 ? KG_JWT_EDDSA :
	    KG_JWT_RS256, NULL, list);
}

static void
claims_eq(const struct kg_jwt_claims *c, json_object *want, const char *name)
{
	ck_assert_msg(strcmp(c->jc_sub, gets(want, "sub")) == 0, "%s: sub", name);
	ck_assert_msg(strcmp(c->jc_ns, gets(want, "ns")) == 0, "%s: ns", name);
	ck_assert_msg(strcmp(c->jc_scope, gets(want, "scope")) == 0,
	    "%s: scope", name);
	ck_assert_msg(strcmp(c->jc_jti, gets(want, "jti")) == 0, "%s: jti", name);
	ck_assert_msg(strcmp(c->jc_sid, gets(want, "sid")) == 0, "%s: sid", name);
	ck_assert_msg(c->jc_track == json_object_get_int(get(want, "track")),
	    "%s: track", name);
	ck_assert_msg(c->jc_iat == json_object_get_int64(get(want, "iat")),
	    "%s: iat", name);
	ck_assert_msg(c->jc_nbf == json_object_get_int64(get(want, "nbf")),
	    "%s: nbf", name);
	ck_assert_msg(c->jc_exp == json_object_get_int64(get(want, "exp")),
	    "%s: exp", name);
}

static void
fill_claims(struct kg_jwt_claims *c, const char *sub, int track,
    const char *scope, const char *sid)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->jc_sub, sizeof(c->jc_sub), "%s", sub);
	snprintf(c->jc_ns, sizeof(c->jc_ns), "default");
	snprintf(c->jc_scope, sizeof(c->jc_scope), "%s", scope);
	snprintf(c->jc_jti, sizeof(c->jc_jti), JTI);
	snprintf(c->jc_sid, sizeof(c->jc_sid), "%s", sid);
	c->jc_track = track;
	c->jc_iat = NOW - 10;
	c->jc_nbf = NOW - 10;
	c->jc_exp = NOW + 890;
}

static const char *const vec_files[] = { "hs256.json", "eddsa.json",
    "rs256.json" };

/* ------------------------------------------------- independent vectors */

START_TEST(jose_tokens_verify_with_their_claims)
{
	json_object		*doc = vec_load(vec_files[_i]), *valid, *v;
	struct kg_jwt_keys	*ks = vec_keys(doc);
	struct kg_jwt_claims	 c;
	enum kg_jwt_fail	 why;
	size_t			 i;

	valid = get(doc, "valid");
	ck_assert_uint_ge(json_object_array_length(valid), 10);
	for (i = 0; i < json_object_array_length(valid); i++) {
		v = json_object_array_get_idx(valid, i);
		why = vfy(ks, gets(v, "token"), NOW, LEEWAY, &c);
		ck_assert_msg(why == KG_JWT_FAIL__MAX, "%s: %s: refused (%s)",
		    vec_files[_i], gets(v, "name"), kg_jwt_fail_str(why));
		claims_eq(&c, get(v, "claims"), gets(v, "name"));
	}
	kg_jwt_keys_free(ks);
	json_object_put(doc);
}
END_TEST

START_TEST(jose_bad_tokens_refused_for_the_right_reason)
{
	json_object		*doc = vec_load(vec_files[_i]), *invalid, *v;
	struct kg_jwt_keys	*ks = vec_keys(doc);
	enum kg_jwt_fail	 why;
	size_t			 i;

	invalid = get(doc, "invalid");
	ck_assert_uint_ge(json_object_array_length(invalid), 45);
	for (i = 0; i < json_object_array_length(invalid); i++) {
		v = json_object_array_get_idx(invalid, i);
		why = vfy(ks, gets(v, "token"), NOW, LEEWAY, NULL);
		ck_assert_msg(strcmp(kg_jwt_fail_str(why), gets(v, "reason")) ==
		    0, "%s: %s: got %s, want %s", vec_files[_i],
		    gets(v, "name"), kg_jwt_fail_str(why), gets(v, "reason"));
	}
	kg_jwt_keys_free(ks);
	json_object_put(doc);
}
END_TEST

START_TEST(kid_is_jose_thumbprint)
{
	static const struct {
		const char	*vec, *files, *of;
		enum kg_jwt_alg	 alg;
		size_t		 idx;
	} t[] = {
		{ "eddsa.json", "ed25519-a.pem", "ed25519-a.pem", KG_JWT_EDDSA, 0 },
		{ "eddsa.json", "ed25519-b.pem", "ed25519-b.pem", KG_JWT_EDDSA, 0 },
		{ "eddsa.json", "ed25519-x.pem", "ed25519-x.pem", KG_JWT_EDDSA, 0 },
		{ "eddsa.json", "ed25519-a.pem ed25519-b.pub.pem",
		    "ed25519-b.pub.pem", KG_JWT_EDDSA, 1 },
		{ "rs256.json", "rsa2048-a.pem", "rsa2048-a.pem", KG_JWT_RS256, 0 },
		{ "rs256.json", "rsa2048-x.pem", "rsa2048-x.pem", KG_JWT_RS256, 0 },
	};
	json_object		*doc;
	struct kg_jwt_keys	*ks;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		doc = vec_load(t[i].vec);
		ks = keys_make(t[i].alg, NULL, t[i].files);
		ck_assert_uint_eq(kg_jwt_keys_count(ks), t[i].idx + 1);
		ck_assert_uint_eq(strlen(kg_jwt_keys_kid(ks, t[i].idx)),
		    KG_JWT_KID_LEN);
		ck_assert_str_eq(kg_jwt_keys_kid(ks, t[i].idx),
		    gets(get(doc, "kids"), t[i].of));
		ck_assert_ptr_null(kg_jwt_keys_kid(ks, t[i].idx + 1));
		kg_jwt_keys_free(ks);
		json_object_put(doc);
	}
}
END_TEST

START_TEST(jwks_equals_jose_export)
{
	json_object		*doc = vec_load(vec_files[_i]), *want, *got;
	json_object		*wk, *gk, *root;
	struct kg_jwt_keys	*ks = vec_keys(doc);
	struct kg_buf		 b = KG_BUF_INIT;
	size_t			 i, n;

	ck_assert_int_eq(kg_jwt_jwks(ks, &b), KG_OK);
	root = json_tokener_parse(b.b_data);
	ck_assert_msg(root != NULL, "JWKS not JSON: %s", b.b_data);
	ck_assert_int_eq(json_object_object_length(root), 1);
	want = get(get(doc, "jwks"), "keys");
	got = get(root, "keys");
	n = json_object_array_length(want);
	ck_assert_uint_eq(json_object_array_length(got), n);
	ck_assert_uint_eq(kg_jwt_keys_count(ks), n);
	for (i = 0; i < n; i++) {
		wk = json_object_array_get_idx(want, i);
		gk = json_object_array_get_idx(got, i);
		/* The same members with the same values, in any order. */
		ck_assert_int_eq(json_object_object_length(wk),
		    json_object_object_length(gk));
		json_object_object_foreach(wk, k, v) {
			ck_assert_msg(json_object_equal(v, get(gk, k)),
			    "%s: key %zu member %s differs", vec_files[_i],
			    i, k);
		}
	}
	json_object_put(root);
	kg_buf_free(&b);
	kg_jwt_keys_free(ks);
	json_object_put(doc);
}
END_TEST

/* ------------------------------------------------------- sign round trip */

START_TEST(sign_then_verify_every_alg_and_export)
{
	static const struct {
		const char	*name, *sub, *scope, *sid;
		int		 track;
	} cs[] = {
		{ "wallet", "0x52908400098527886e0f7030069857d2e4169ee7",
		    "projects:read projects:execute", "fam_1", 2 },
		{ "api key", "key:3f9a2c1b", "projects:read", "", 0 },
		{ "escapes", "key:\"quoted\" \\ é 🙂", "", "s/id", 4 },
	};
	const char		*exp_path = getenv("KG_JWT_EXPORT");
	json_object		*doc, *exp = NULL, *toks = NULL, *t, *cl;
	struct kg_jwt_keys	*ks;
	struct kg_jwt_claims	 c, back;
	struct kg_buf		 b = KG_BUF_INIT;
	char			 name[64];
	size_t			 i, a, start;

	if (exp_path != NULL) {
		exp = json_object_new_object();
		toks = json_object_new_array();
		json_object_object_add(exp, "now", json_object_new_int64(NOW));
		json_object_object_add(exp, "leeway",
		    json_object_new_int(LEEWAY));
		json_object_object_add(exp, "issuer", json_object_new_string(ISS));
		json_object_object_add(exp, "audience",
		    json_object_new_string(AUD));
		json_object_object_add(exp, "tokens", toks);
	}
	for (a = 0; a < 3; a++) {
		doc = vec_load(vec_files[a]);
		ks = vec_keys(doc);
		for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
			fill_claims(&c, cs[i].sub, cs[i].track, cs[i].scope,
			    cs[i].sid);
			/* Appends: what was there stays. */
			kg_buf_reset(&b);
			ck_assert_int_eq(kg_buf_puts(&b, "x"), KG_OK);
			start = b.b_len;
			ck_assert_int_eq(kg_jwt_sign(ks, &c, &b), KG_OK);
			ck_assert_int_eq(b.b_data[0], 'x');
			ck_assert_int_eq(vfy(ks, b.b_data + start, NOW, 0,
			    &back), KG_JWT_FAIL__MAX);
			ck_assert(memcmp(&c, &back, sizeof(c)) == 0);
			/* And the header is what RFC 9068 asks for. */
			ck_assert(strncmp(b.b_data + start, "eyJhbGciOi", 10) ==
			    0);
			if (toks == NULL)
				continue;
			t = json_object_new_object();
			cl = json_object_new_object();
			snprintf(name, sizeof(name), "keygate %s", cs[i].name);
			json_object_object_add(t, "alg",
			    json_object_new_string(gets(doc, "alg")));
			json_object_object_add(t, "name",
			    json_object_new_string(name));
			json_object_object_add(t, "token",
			    json_object_new_string(b.b_data + start));
			json_object_object_add(cl, "sub",
			    json_object_new_string(c.jc_sub));
			json_object_object_add(cl, "ns",
			    json_object_new_string(c.jc_ns));
			json_object_object_add(cl, "scope",
			    json_object_new_string(c.jc_scope));
			json_object_object_add(cl, "jti",
			    json_object_new_string(c.jc_jti));
			json_object_object_add(cl, "sid",
			    json_object_new_string(c.jc_sid));
			json_object_object_add(cl, "track",
			    json_object_new_int(c.jc_track));
			json_object_object_add(cl, "iat",
			    json_object_new_int64(c.jc_iat));
			json_object_object_add(cl, "nbf",
			    json_object_new_int64(c.jc_nbf));
			json_object_object_add(cl, "exp",
			    json_object_new_int64(c.jc_exp));
			json_object_object_add(t, "claims", cl);
			json_object_array_add(toks, t);
		}
		kg_jwt_keys_free(ks);
		json_object_put(doc);
	}
	if (exp != NULL) {
		ck_assert_int_eq(json_object_to_file_ext(exp_path, exp,
		    JSON_C_TO_STRING_PRETTY), 0);
		json_object_put(exp);
	}
	kg_buf_free(&b);
}
END_TEST

START_TEST(tokens_cross_algorithms_and_keys_refused)
{
	struct kg_jwt_keys	*hs, *ed, *rs, *ed_b, *hs2;
	struct kg_jwt_claims	 c;
	struct kg_buf		 th = KG_BUF_INIT, te = KG_BUF_INIT;
	struct kg_buf		 tr = KG_BUF_INIT, tb = KG_BUF_INIT;

	hs = keys_make(KG_JWT_HS256, SECRET, NULL);
	hs2 = keys_make(KG_JWT_HS256, SECRET "2", NULL);
	ed = keys_make(KG_JWT_EDDSA, NULL, "ed25519-a.pem ed25519-b.pub.pem");
	ed_b = keys_make(KG_JWT_EDDSA, NULL, "ed25519-b.pem");
	rs = keys_make(KG_JWT_RS256, NULL, "rsa2048-a.pem");
	fill_claims(&c, "0xabc", 1, "projects:read", "f");
	ck_assert_int_eq(kg_jwt_sign(hs, &c, &th), KG_OK);
	ck_assert_int_eq(kg_jwt_sign(ed, &c, &te), KG_OK);
	ck_assert_int_eq(kg_jwt_sign(rs, &c, &tr), KG_OK);
	ck_assert_int_eq(kg_jwt_sign(ed_b, &c, &tb), KG_OK);

	ck_assert_int_eq(vfy(ed, th.b_data, NOW, 0, NULL), KG_JWT_BAD_ALG);
	ck_assert_int_eq(vfy(rs, th.b_data, NOW, 0, NULL), KG_JWT_BAD_ALG);
	ck_assert_int_eq(vfy(hs, te.b_data, NOW, 0, NULL), KG_JWT_BAD_ALG);
	ck_assert_int_eq(vfy(rs, te.b_data, NOW, 0, NULL), KG_JWT_BAD_ALG);
	ck_assert_int_eq(vfy(hs, tr.b_data, NOW, 0, NULL), KG_JWT_BAD_ALG);
	ck_assert_int_eq(vfy(ed, tr.b_data, NOW, 0, NULL), KG_JWT_BAD_ALG);
	ck_assert_int_eq(vfy(hs2, th.b_data, NOW, 0, NULL),
	    KG_JWT_BAD_SIGNATURE);
	/* Rotation: b signs, a key set that has b (public only) verifies. */
	ck_assert_int_eq(vfy(ed, tb.b_data, NOW, 0, NULL), KG_JWT_FAIL__MAX);
	/* A set without a does not know a's kid. */
	ck_assert_int_eq(vfy(ed_b, te.b_data, NOW, 0, NULL),
	    KG_JWT_UNKNOWN_KID);

	kg_buf_free(&th); kg_buf_free(&te); kg_buf_free(&tr); kg_buf_free(&tb);
	kg_jwt_keys_free(hs); kg_jwt_keys_free(hs2); kg_jwt_keys_free(ed);
	kg_jwt_keys_free(ed_b); kg_jwt_keys_free(rs);
}
END_TEST

START_TEST(sign_refuses_claims_verify_would_refuse)
{
	struct kg_jwt_keys	*ks = keys_make(KG_JWT_HS256, SECRET, NULL);
	struct kg_jwt_claims	 ok, c;
	struct kg_buf		 b = KG_BUF_INIT;
	int			 i;

	fill_claims(&ok, "0xabc", 1, "projects:read", "f");
	ck_assert_int_eq(kg_buf_puts(&b, "keep"), KG_OK);
	for (i = 0; i < 17; i++) {
		c = ok;
		switch (i) {
		case 0: c.jc_sub[0] = '\0'; break;
		case 1: c.jc_ns[0] = '\0'; break;
		case 2: c.jc_jti[5] = 'A'; break;
		case 3: c.jc_jti[31] = '\0'; break;
		case 4: c.jc_track = 5; break;
		case 5: c.jc_track = -1; break;
		case 6: c.jc_exp = c.jc_iat; break;
		case 7: c.jc_exp = c.jc_nbf - 1; break;
		case 8: c.jc_iat = -1; break;
		case 9: c.jc_exp = KG_JWT_TIME_MAX + 1; break;
		case 10: memset(c.jc_sub, 'a', sizeof(c.jc_sub)); break;
		case 11: memset(c.jc_scope, 'a', sizeof(c.jc_scope)); break;
		case 12: memset(c.jc_sid, 'a', sizeof(c.jc_sid)); break;
		case 13: c.jc_sub[1] = '\n'; break;
		case 14: c.jc_scope[0] = 0x7f; break;
		case 15: c.jc_sid[0] = (char)0xc3; c.jc_sid[1] = '\0'; break;
		case 16: memset(c.jc_ns, 'n', sizeof(c.jc_ns)); break;
		}
		ck_assert_msg(kg_jwt_sign(ks, &c, &b) == KG_ERR_INVALID,
		    "case %d signed", i);
		ck_assert_str_eq(b.b_data, "keep");
	}
	/* The longest values that fit are fine. */
	c = ok;
	memset(c.jc_sub, 's', sizeof(c.jc_sub) - 1);
	memset(c.jc_ns, 'n', sizeof(c.jc_ns) - 1);
	memset(c.jc_scope, 'p', sizeof(c.jc_scope) - 1);
	memset(c.jc_sid, 'i', sizeof(c.jc_sid) - 1);
	kg_buf_reset(&b);
	ck_assert_int_eq(kg_jwt_sign(ks, &c, &b), KG_OK);
	ck_assert_int_eq(vfy(ks, b.b_data, NOW, 0, NULL), KG_JWT_FAIL__MAX);
	kg_buf_free(&b);
	kg_jwt_keys_free(ks);
}
END_TEST

/* --------------------------------------------------------- malformed */

START_TEST(shape_and_encoding_refused)
{
	struct kg_jwt_keys	*ks = keys_make(KG_JWT_HS256, SECRET, NULL);
	struct kg_buf		 h = KG_BUF_INIT, p = KG_BUF_INIT, t = KG_BUF_INIT;
	char			*good, *tok, *s, *dot;
	size_t			 i, glen;
	int			 v;

	good = mint(HDR_HS, GOOD);
	glen = strlen(good);
	ck_assert_int_eq(vfy(ks, good, NOW, 0, NULL), KG_JWT_FAIL__MAX);
	dot = strrchr(good, '.');

	/* Segment counts and empty segments. */
	{
		static const char *const bad[] = {
			"", ".", "..", "...", "a", "a.b", "a.b.c.d", ".b.c",
			"a..c", "eyJhbGciOiJIUzI1NiJ9",
		};
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ck_assert_msg(vfy(ks, bad[i], NOW, 0, NULL) ==
			    KG_JWT_MALFORMED, "accepted \"%s\"", bad[i]);
	}
	kg_buf_printf(&t, "%s.x", good);		/* 4 segments */
	ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL), KG_JWT_MALFORMED);
	kg_buf_reset(&t);
	kg_buf_printf(&t, "%.*s.", (int)(dot - good), good);	/* empty sig */
	ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL), KG_JWT_MALFORMED);
	kg_buf_reset(&t);
	kg_buf_printf(&t, "%.*s", (int)(dot - good), good);	/* 2 segments */
	ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL), KG_JWT_MALFORMED);
	kg_buf_reset(&t);
	kg_buf_printf(&t, ".%s", good);
	ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL), KG_JWT_MALFORMED);

	/* Padding, other alphabets, white space, NUL: each position. */
	{
		static const char inject[] = "=+/ \n\t*";
		for (i = 0; i < sizeof(inject) - 1; i++) {
			kg_buf_reset(&t);
			kg_buf_printf(&t, "%s%c", good, inject[i]);
			ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL),
			    KG_JWT_MALFORMED);
			kg_buf_reset(&t);
			kg_buf_printf(&t, "%c%s", inject[i], good);
			ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL),
			    KG_JWT_MALFORMED);
		}
	}
	s = strdup(good);
	s[10] = '\0';				/* NUL inside the length */
	ck_assert_int_eq(vfy_len(ks, s, glen, NOW, 0, NULL), KG_JWT_MALFORMED);
	free(s);

	/* Signing input with '+', '/' or '=' and a valid MAC over it. */
	b64u(HDR_HS, strlen(HDR_HS), &h);
	b64u(GOOD, strlen(GOOD), &p);
	{
		static const char *const subst[] = { "+", "/", "=" };
		for (i = 0; i < 3; i++) {
			kg_buf_reset(&t);
			kg_buf_printf(&t, "%s%s", p.b_data, subst[i]);
			tok = mint_raw(h.b_data, t.b_data);
			ck_assert_int_eq(vfy(ks, tok, NOW, 0, NULL),
			    KG_JWT_MALFORMED);
			free(tok);
			s = strdup(p.b_data);
			s[3] = subst[i][0];
			tok = mint_raw(h.b_data, s);
			ck_assert_int_eq(vfy(ks, tok, NOW, 0, NULL),
			    KG_JWT_MALFORMED);
			free(tok);
			free(s);
		}
	}
	/* Padded header, as a std-base64 encoder would write it. */
	kg_buf_reset(&h);
	b64u(HDR_HS " ", strlen(HDR_HS) + 1, &h);	/* 31 bytes: 42 chars */
	ck_assert_uint_eq(h.b_len % 4, 2);
	tok = mint_raw(h.b_data, p.b_data);
	ck_assert_int_eq(vfy(ks, tok, NOW, 0, NULL), KG_JWT_FAIL__MAX);
	free(tok);
	kg_buf_reset(&t);
	kg_buf_printf(&t, "%s==", h.b_data);
	tok = mint_raw(t.b_data, p.b_data);
	ck_assert_int_eq(vfy(ks, tok, NOW, 0, NULL), KG_JWT_MALFORMED);
	free(tok);
	/* Non-canonical: the last character's unused bits set. */
	for (v = 1; v < 16; v++) {
		static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
		    "klmnopqrstuvwxyz0123456789-_";
		const char	*c = strchr(al, h.b_data[h.b_len - 1]);

		s = strdup(h.b_data);
		s[h.b_len - 1] = al[((c - al) & ~15) | v];
		tok = mint_raw(s, p.b_data);
		ck_assert_msg(vfy(ks, tok, NOW, 0, NULL) == KG_JWT_MALFORMED,
		    "non-canonical header accepted (%d)", v);
		free(tok);
		free(s);
	}
	/* A segment of length 1 mod 4. */
	kg_buf_reset(&t);
	kg_buf_printf(&t, "%sA", p.b_data);
	if (t.b_len % 4 == 1) {
		tok = mint_raw(h.b_data, t.b_data);
		ck_assert_int_eq(vfy(ks, tok, NOW, 0, NULL), KG_JWT_MALFORMED);
		free(tok);
	}
	kg_buf_reset(&t);
	kg_buf_printf(&t, "%.*s.A", (int)(dot - good), good);
	ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL), KG_JWT_MALFORMED);

	/* Huge: past KG_JWT_MAX, whatever it holds. */
	kg_buf_reset(&t);
	kg_buf_printf(&t, "%s.", h.b_data);
	while (t.b_len < KG_JWT_MAX + 10)
		kg_buf_puts(&t, "AAAA");
	kg_buf_puts(&t, ".AAAA");
	ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL), KG_JWT_MALFORMED);
	kg_buf_reset(&t);
	kg_buf_puts(&t, good);
	while (t.b_len <= KG_JWT_MAX)
		kg_buf_puts(&t, "A");
	ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL), KG_JWT_MALFORMED);

	kg_buf_free(&h);
	kg_buf_free(&p);
	kg_buf_free(&t);
	free(good);
	kg_jwt_keys_free(ks);
}
END_TEST

START_TEST(every_signature_change_refused)
{
	struct kg_jwt_keys	*ks = keys_make(KG_JWT_HS256, SECRET, NULL);
	struct kg_buf		 t = KG_BUF_INIT;
	char			*good = mint(HDR_HS, GOOD), *s, *sig;
	enum kg_jwt_fail	 f;
	size_t			 i, n = 0;

	sig = strrchr(good, '.') + 1;
	ck_assert_uint_eq(strlen(sig), 43);
	for (i = 0; sig[i] != '\0'; i++) {
		s = strdup(good);
		s[sig - good + i] = sig[i] == 'A' ? 'B' : 'A';
		f = vfy(ks, s, NOW, 0, NULL);
		/* The last character carries 4 unused bits. */
		ck_assert(f == KG_JWT_BAD_SIGNATURE || (f == KG_JWT_MALFORMED &&
		    sig[i + 1] == '\0'));
		n += f == KG_JWT_BAD_SIGNATURE;
		free(s);
	}
	ck_assert_uint_ge(n, 42);
	/* Truncated, extended, zero. */
	kg_buf_printf(&t, "%.*s", (int)(strlen(good) - 3), good);
	ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL), KG_JWT_BAD_SIGNATURE);
	kg_buf_reset(&t);
	kg_buf_printf(&t, "%sAAAA", good);
	ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL), KG_JWT_BAD_SIGNATURE);
	kg_buf_reset(&t);
	kg_buf_printf(&t, "%.*s%s", (int)(sig - good), good,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	ck_assert_int_eq(vfy(ks, t.b_data, NOW, 0, NULL), KG_JWT_BAD_SIGNATURE);
	kg_buf_free(&t);
	free(good);
	kg_jwt_keys_free(ks);
}
END_TEST

static const struct {
	const char		*hdr;
	enum kg_jwt_fail	 want;
} hdr_cases[] = {
	{ HDR_HS, KG_JWT_FAIL__MAX },
	{ " {\n\"typ\" : \"at+jwt\" ,\t\"alg\":\"HS256\" } ", KG_JWT_FAIL__MAX },
	{ "{\"alg\":\"HS256\",\"typ\":\"application/at+jwt\"}", KG_JWT_FAIL__MAX },
	{ "{\"alg\":\"HS256\",\"typ\":\"Application/At+JWT\"}", KG_JWT_FAIL__MAX },
	{ "{\"alg\":\"HS\\u0032\\u0035\\u0036\",\"typ\":\"at+jwt\"}",
	    KG_JWT_FAIL__MAX },
	/* not JSON, not an object, trailing bytes, duplicates */
	{ "alg", KG_JWT_MALFORMED },
	{ "[\"HS256\"]", KG_JWT_MALFORMED },
	{ "\"HS256\"", KG_JWT_MALFORMED },
	{ "null", KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}x", KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}{}", KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",}", KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\" \"typ\":\"at+jwt\"}", KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"", KG_JWT_MALFORMED },
	{ "{'alg':'HS256','typ':'at+jwt'}", KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"alg\":\"HS256\"}",
	    KG_JWT_MALFORMED },
	{ "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"alg\":\"HS256\"}",
	    KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"\\u0061lg\":\"none\",\"typ\":\"at+jwt\"}",
	    KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"typ\":\"JWT\"}",
	    KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS\\u0000256\",\"typ\":\"at+jwt\"}", KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\xc0\xaf\"}", KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"typ\":\"at\\x+jwt\"}", KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"typ\":\"at\tjwt\"}", KG_JWT_MALFORMED },
	{ "{\"alg\":\"HS256\",\"typ\":\"\\ud800\"}", KG_JWT_MALFORMED },
	/* members keygate does not write */
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"crit\":[\"exp\"]}",
	    KG_JWT_BAD_HEADER },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"b64\":false,"
	    "\"crit\":[\"b64\"]}", KG_JWT_BAD_HEADER },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"jku\":\"https://x\"}",
	    KG_JWT_BAD_HEADER },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"x5u\":\"https://x\"}",
	    KG_JWT_BAD_HEADER },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"x5c\":[]}", KG_JWT_BAD_HEADER },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"jwk\":{}}", KG_JWT_BAD_HEADER },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"zip\":\"DEF\"}",
	    KG_JWT_BAD_HEADER },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"ALG\":\"HS256\"}",
	    KG_JWT_BAD_HEADER },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"a-very-long-member-name\":1}",
	    KG_JWT_BAD_HEADER },
	/* alg */
	{ "{}", KG_JWT_BAD_ALG },
	{ "{\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":\"none\",\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":\"None\",\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":\"NONE\",\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":\"\",\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":\"hs256\",\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":\"HS256 \",\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":\"HS512\",\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":\"HS256HS256HS256HS256HS256\",\"typ\":\"at+jwt\"}",
	    KG_JWT_BAD_ALG },
	{ "{\"alg\":null,\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":[\"HS256\"],\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	{ "{\"alg\":256,\"typ\":\"at+jwt\"}", KG_JWT_BAD_ALG },
	/* typ */
	{ "{\"alg\":\"HS256\"}", KG_JWT_BAD_TYP },
	{ "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", KG_JWT_BAD_TYP },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt \"}", KG_JWT_BAD_TYP },
	{ "{\"alg\":\"HS256\",\"typ\":\"application/\"}", KG_JWT_BAD_TYP },
	{ "{\"alg\":\"HS256\",\"typ\":\"xapplication/at+jwt\"}", KG_JWT_BAD_TYP },
	{ "{\"alg\":\"HS256\",\"typ\":\"application/application/at+jwt\"}",
	    KG_JWT_BAD_TYP },
	{ "{\"alg\":\"HS256\",\"typ\":\"\"}", KG_JWT_BAD_TYP },
	{ "{\"alg\":\"HS256\",\"typ\":1}", KG_JWT_BAD_TYP },
	/* kid: HS256 tokens carry none */
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"\"}",
	    KG_JWT_UNKNOWN_KID },
	{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
	    KG_JWT_UNKNOWN_KID },
};

START_TEST(header_rules)
{
	struct kg_jwt_keys	*ks = keys_make(KG_JWT_HS256, SECRET, NULL);
	char			*tok = mint(hdr_cases[_i].hdr, GOOD);
	enum kg_jwt_fail	 f = vfy(ks, tok, NOW, 0, NULL);

	ck_assert_msg(f == hdr_cases[_i].want, "header %s: got %s, want %s",
	    hdr_cases[_i].hdr, kg_jwt_fail_str(f),
	    kg_jwt_fail_str(hdr_cases[_i].want));
	free(tok);
	kg_jwt_keys_free(ks);
}
END_TEST

static const struct {
	const char		*payload;
	enum kg_jwt_fail	 want;
} claim_cases[] = {
	{ GOOD, KG_JWT_FAIL__MAX },
	{ " \n{ " BASE " , " TIMES " }\r\n", KG_JWT_FAIL__MAX },
	{ "{" TIMES "," BASE "}", KG_JWT_FAIL__MAX },
	{ "{" BASE "," TIMES ",\"track\":1,\"sid\":\"f\"}", KG_JWT_FAIL__MAX },
	{ "{" BASE "," TIMES ",\"track\":4}", KG_JWT_FAIL__MAX },
	/* unknown claims are skipped, whatever JSON they hold */
	{ "{" BASE "," TIMES ",\"x\":{\"a\":[1,-2.5e+3,0.0,true,false,null,"
	    "\"s\\\"\\u00e9\",{}],\"b\":[]},\"y\":-0}", KG_JWT_FAIL__MAX },
	{ "{" BASE "," TIMES ",\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}",
	    KG_JWT_FAIL__MAX },
	{ "{" BASE "," TIMES ",\"x\":[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}",
	    KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"x\":01}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"x\":1.}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"x\":.5}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"x\":1e}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"x\":tru}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"x\":NaN}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"x\":[1,]}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"x\":{\"a\"}}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"x\":\"a\\qb\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"a-long-unknown-claim-name\":1}",
	    KG_JWT_FAIL__MAX },
	/* syntax */
	{ "{" BASE "," TIMES ",}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES "}x", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES "}{}", KG_JWT_BAD_CLAIMS },
	{ "\xef\xbb\xbf{" BASE "," TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"x\":\"\xc0\xaf\"}", KG_JWT_BAD_CLAIMS },
	{ "{}", KG_JWT_BAD_CLAIMS },
	{ "[]", KG_JWT_BAD_CLAIMS },
	{ "null", KG_JWT_BAD_CLAIMS },
	{ "\"" JTI "\"", KG_JWT_BAD_CLAIMS },
	/* duplicates, also through escapes */
	{ "{" BASE "," TIMES ",\"exp\":1767226440}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"\\u0069ss\":\"" ISS "\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"sub\":\"0xabc\"}", KG_JWT_BAD_CLAIMS },
	/* required claims */
	{ "{\"aud\":\"" AUD "\",\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\","
	    "\"jti\":\"" JTI "\"," TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\","
	    "\"jti\":\"" JTI "\"," TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"ns\":\"n\",\"scope\":\"\","
	    "\"jti\":\"" JTI "\"," TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\",\"scope\":\"\","
	    "\"jti\":\"" JTI "\"," TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\",\"ns\":\"n\","
	    "\"jti\":\"" JTI "\"," TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"nbf\":1767225540,\"exp\":1767226440}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"exp\":1767226440}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540}", KG_JWT_BAD_CLAIMS },
	/* integers */
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,\"exp\":1767226440.0}",
	    KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,\"exp\":1.76722644e9}",
	    KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,\"exp\":\"1767226440\"}",
	    KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,\"exp\":01767226440}",
	    KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,\"exp\":+1767226440}",
	    KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,\"exp\":null}",
	    KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,\"exp\":true}",
	    KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,"
	    "\"exp\":99999999999999999999}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,"
	    "\"exp\":9223372036854775807}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,"
	    "\"exp\":253402300800}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767225540,"
	    "\"exp\":253402300799}", KG_JWT_FAIL__MAX },
	{ "{" BASE ",\"iat\":-1,\"nbf\":1767225540,\"exp\":1767226440}",
	    KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":-9223372036854775808,\"nbf\":1767225540,"
	    "\"exp\":1767226440}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":-0,\"nbf\":1767225540,\"exp\":1767226440}",
	    KG_JWT_FAIL__MAX },
	{ "{" BASE ",\"iat\":1767226440,\"nbf\":1767225540,\"exp\":1767226440}",
	    KG_JWT_BAD_CLAIMS },
	{ "{" BASE ",\"iat\":1767225540,\"nbf\":1767226441,\"exp\":1767226440}",
	    KG_JWT_BAD_CLAIMS },
	/* track */
	{ "{" BASE "," TIMES ",\"track\":0}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"track\":5}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"track\":-1}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"track\":2.0}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"track\":\"2\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"track\":4294967298}", KG_JWT_BAD_CLAIMS },
	/* strings */
	{ "{" BASE "," TIMES ",\"sid\":1}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"sid\":\"a\\u0000b\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"sid\":\"\\ud83d\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"sid\":\"\\ude00\\ud83d\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"sid\":\"\\ud83d\\u0041\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"sid\":\"\\ud83d\\ude00\"}", KG_JWT_FAIL__MAX },
	{ "{" BASE "," TIMES ",\"sid\":\"a\\nb\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"sid\":\"a\\u007fb\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"sid\":\"a\nb\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"sid\":\"\\u00E9\\/\"}", KG_JWT_FAIL__MAX },
	{ "{" BASE "," TIMES ",\"sid\":\"\\u00G9\"}", KG_JWT_BAD_CLAIMS },
	{ "{" BASE "," TIMES ",\"sid\":\"\\u00e\"}", KG_JWT_BAD_CLAIMS },
	/* jti */
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\",\"ns\":\"n\","
	    "\"scope\":\"\",\"jti\":\"0123456789abcdef0123456789abcde\","
	    TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\",\"ns\":\"n\","
	    "\"scope\":\"\",\"jti\":\"0123456789abcdef0123456789abcdef0\","
	    TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\",\"ns\":\"n\","
	    "\"scope\":\"\",\"jti\":\"0123456789ABCDEF0123456789abcdef\","
	    TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\",\"ns\":\"n\","
	    "\"scope\":\"\",\"jti\":\"0123456789abcdeg0123456789abcdef\","
	    TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\",\"ns\":\"n\","
	    "\"scope\":\"\",\"jti\":\"\"," TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\",\"ns\":\"n\","
	    "\"scope\":\"\",\"jti\":\"\\u0030123456789abcdef0123456789abcdef\","
	    TIMES "}", KG_JWT_FAIL__MAX },
	/* sub, ns */
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"\",\"ns\":\"n\","
	    "\"scope\":\"\",\"jti\":\"" JTI "\"," TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\",\"ns\":\"\","
	    "\"scope\":\"\",\"jti\":\"" JTI "\"," TIMES "}", KG_JWT_BAD_CLAIMS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":[\"s\"],\"ns\":\"n\","
	    "\"scope\":\"\",\"jti\":\"" JTI "\"," TIMES "}", KG_JWT_BAD_CLAIMS },
	/* iss, aud */
	{ "{\"iss\":\"https://auth.example.test/\",\"aud\":\"" AUD "\","
	    "\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\","
	    TIMES "}", KG_JWT_BAD_ISS },
	{ "{\"iss\":\"\",\"aud\":\"" AUD "\","
	    "\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\","
	    TIMES "}", KG_JWT_BAD_ISS },
	{ "{\"iss\":1,\"aud\":\"" AUD "\","
	    "\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\","
	    TIMES "}", KG_JWT_BAD_ISS },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"keygate-tes\","
	    "\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\","
	    TIMES "}", KG_JWT_BAD_AUD },
	{ "{\"iss\":\"" ISS "\",\"aud\":[\"" AUD "\"],"
	    "\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\","
	    TIMES "}", KG_JWT_BAD_AUD },
	{ "{\"iss\":\"" ISS "\",\"aud\":[\"" AUD "\",\"other\"],"
	    "\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\","
	    TIMES "}", KG_JWT_BAD_AUD },
	{ "{\"iss\":\"" ISS "\",\"aud\":null,"
	    "\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\","
	    TIMES "}", KG_JWT_BAD_AUD },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"keygate\\u002dtest\","
	    "\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\","
	    TIMES "}", KG_JWT_FAIL__MAX },
	{ "{\"iss\":\"" ISS "\",\"aud\":\"keygate-test\\u0000\","
	    "\"sub\":\"s\",\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\","
	    TIMES "}", KG_JWT_BAD_CLAIMS },
};

START_TEST(claim_rules)
{
	struct kg_jwt_keys	*ks = keys_make(KG_JWT_HS256, SECRET, NULL);
	char			*tok = mint(HDR_HS, claim_cases[_i].payload);
	enum kg_jwt_fail	 f = vfy(ks, tok, NOW, 0, NULL);

	ck_assert_msg(f == claim_cases[_i].want, "claims %s: got %s, want %s",
	    claim_cases[_i].payload, kg_jwt_fail_str(f),
	    kg_jwt_fail_str(claim_cases[_i].want));
	free(tok);
	kg_jwt_keys_free(ks);
}
END_TEST

/* Decoded values: escapes, UTF-8, and the longest strings that fit. */
START_TEST(claim_values_decoded_and_bounded)
{
	struct kg_jwt_keys	*ks = keys_make(KG_JWT_HS256, SECRET, NULL);
	struct kg_jwt_claims	 c;
	struct kg_buf		 p = KG_BUF_INIT;
	char			*tok, big[1100];
	static const struct {
		const char	*name;
		size_t		 fits;	/* longest accepted length */
	} f[] = { { "sub", 127 }, { "ns", 63 }, { "scope", 1023 },
	    { "sid", 63 } };
	size_t			 i, n;

	tok = mint(HDR_HS, "{" BASE "," TIMES ",\"track\":3,"
	    "\"sid\":\"\\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\u00e9\"}");
	ck_assert_int_eq(vfy(ks, tok, NOW, 0, &c), KG_JWT_FAIL__MAX);
	ck_assert_str_eq(c.jc_sid, "\xf0\x9f\x98\x80 \"q\" \\ / \xc3\xa9");
	ck_assert_int_eq(c.jc_track, 3);
	ck_assert_str_eq(c.jc_sub, "0xabc");
	ck_assert_str_eq(c.jc_ns, "default");
	ck_assert_str_eq(c.jc_scope, "keys:read");
	ck_assert_str_eq(c.jc_jti, JTI);
	ck_assert_int_eq(c.jc_iat, 1767225540);
	ck_assert_int_eq(c.jc_nbf, 1767225540);
	ck_assert_int_eq(c.jc_exp, 1767226440);
	free(tok);

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		for (n = f[i].fits; n <= f[i].fits + 1; n++) {
			memset(big, 'v', n);
			big[n] = '\0';
			kg_buf_reset(&p);
			kg_buf_printf(&p, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
			    "\",\"jti\":\"" JTI "\"," TIMES ",\"sub\":\"%s\","
			    "\"ns\":\"%s\",\"scope\":\"%s\",\"sid\":\"%s\"}",
			    strcmp(f[i].name, "sub") == 0 ? big : "s",
			    strcmp(f[i].name, "ns") == 0 ? big : "n",
			    strcmp(f[i].name, "scope") == 0 ? big : "",
			    strcmp(f[i].name, "sid") == 0 ? big : "");
			tok = mint(HDR_HS, p.b_data);
			ck_assert_msg(vfy(ks, tok, NOW, 0, &c) ==
			    (n == f[i].fits ? KG_JWT_FAIL__MAX :
			    KG_JWT_BAD_CLAIMS), "%s of %zu", f[i].name, n);
			free(tok);
		}
	}
	/* An issuer longer than any configured one is a mismatch. */
	memset(big, 'i', 600);
	big[600] = '\0';
	kg_buf_reset(&p);
	kg_buf_printf(&p, "{\"iss\":\"%s\",\"aud\":\"" AUD "\",\"sub\":\"s\","
	    "\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\"," TIMES "}", big);
	tok = mint(HDR_HS, p.b_data);
	ck_assert_int_eq(vfy(ks, tok, NOW, 0, NULL), KG_JWT_BAD_ISS);
	free(tok);
	kg_buf_reset(&p);
	kg_buf_printf(&p, "{\"iss\":\"" ISS "\",\"aud\":\"%s\",\"sub\":\"s\","
	    "\"ns\":\"n\",\"scope\":\"\",\"jti\":\"" JTI "\"," TIMES "}", big);
	tok = mint(HDR_HS, p.b_data);
	ck_assert_int_eq(vfy(ks, tok, NOW, 0, NULL), KG_JWT_BAD_AUD);
	free(tok);
	kg_buf_free(&p);
	kg_jwt_keys_free(ks);
}
END_TEST

/* Claims are read only after the signature: a bad MAC wins. */
START_TEST(claims_not_read_before_signature)
{
	struct kg_jwt_keys	*ks = keys_make(KG_JWT_HS256, SECRET, NULL);
	struct kg_buf		 h = KG_BUF_INIT, p = KG_BUF_INIT;
	char			*tok;

	b64u(HDR_HS, strlen(HDR_HS), &h);
	b64u("not json", 8, &p);
	kg_buf_printf(&h, ".%s.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    p.b_data);
	ck_assert_int_eq(vfy(ks, h.b_data, NOW, 0, NULL), KG_JWT_BAD_SIGNATURE);
	tok = mint(HDR_HS, "{\"exp\":1}");
	ck_assert_int_eq(vfy(ks, tok, NOW, 0, NULL), KG_JWT_BAD_CLAIMS);
	free(tok);
	kg_buf_free(&h);
	kg_buf_free(&p);
	kg_jwt_keys_free(ks);
}
END_TEST

START_TEST(time_rules_and_leeway)
{
	static const struct {
		int64_t			 iat, nbf, exp, now;
		long			 leeway;
		enum kg_jwt_fail	 want;
	} t[] = {
		{ NOW - 60, NOW - 60, NOW, NOW, 0, KG_JWT_EXPIRED },
		{ NOW - 60, NOW - 60, NOW, NOW, 1, KG_JWT_FAIL__MAX },
		{ NOW - 60, NOW - 60, NOW + 1, NOW, 0, KG_JWT_FAIL__MAX },
		{ NOW - 60, NOW - 60, NOW - 30, NOW, 30, KG_JWT_EXPIRED },
		{ NOW - 60, NOW - 60, NOW - 29, NOW, 30, KG_JWT_FAIL__MAX },
		{ NOW - 60, NOW + 1, NOW + 60, NOW, 0, KG_JWT_NOT_YET_VALID },
		{ NOW - 60, NOW + 1, NOW + 60, NOW, 1, KG_JWT_FAIL__MAX },
		{ NOW - 60, NOW, NOW + 60, NOW, 0, KG_JWT_FAIL__MAX },
		{ NOW + 1, NOW, NOW + 60, NOW, 0, KG_JWT_NOT_YET_VALID },
		{ NOW + 30, NOW, NOW + 60, NOW, 30, KG_JWT_FAIL__MAX },
		{ NOW + 31, NOW, NOW + 60, NOW, 30, KG_JWT_NOT_YET_VALID },
		/* a negative leeway counts as none */
		{ NOW - 60, NOW - 60, NOW, NOW, -100, KG_JWT_EXPIRED },
		{ NOW - 60, NOW + 1, NOW + 60, NOW, -100, KG_JWT_NOT_YET_VALID },
		/* and one above an hour as an hour */
		{ NOW - 7200, NOW - 7200, NOW - 3601, NOW, LONG_MAX,
		    KG_JWT_EXPIRED },
		{ NOW - 7200, NOW - 7200, NOW - 3599, NOW, LONG_MAX,
		    KG_JWT_FAIL__MAX },
		{ NOW - 60, NOW + 3601, NOW + 7200, NOW, LONG_MAX,
		    KG_JWT_NOT_YET_VALID },
		/* extreme clocks do not overflow (UBSan watches) */
		{ NOW - 60, NOW - 60, NOW + 60, INT64_MAX, LONG_MAX,
		    KG_JWT_EXPIRED },
		{ NOW - 60, NOW - 60, NOW + 60, INT64_MIN, LONG_MAX,
		    KG_JWT_NOT_YET_VALID },
		{ 0, 0, KG_JWT_TIME_MAX, INT64_MAX, 0, KG_JWT_EXPIRED },
		{ 0, 0, KG_JWT_TIME_MAX, NOW, 0, KG_JWT_FAIL__MAX },
	};
	struct kg_jwt_keys	*ks = keys_make(KG_JWT_HS256, SECRET, NULL);
	struct kg_buf		 p = KG_BUF_INIT;
	char			*tok;
	enum kg_jwt_fail	 f;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		kg_buf_reset(&p);
		kg_buf_printf(&p, "{" BASE ",\"iat\":%" PRId64 ",\"nbf\":%"
		    PRId64 ",\"exp\":%" PRId64 "}", t[i].iat, t[i].nbf,
		    t[i].exp);
		tok = mint(HDR_HS, p.b_data);
		f = vfy(ks, tok, t[i].now, t[i].leeway, NULL);
		ck_assert_msg(f == t[i].want, "case %zu: got %s, want %s", i,
		    kg_jwt_fail_str(f), kg_jwt_fail_str(t[i].want));
		free(tok);
	}
	kg_buf_free(&p);
	kg_jwt_keys_free(ks);
}
END_TEST

/* ---------------------------------------------------------- key loading */

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int	fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void
copy_key(const char *from, const char *to, mode_t mode)
{
	char	 src[PATH_MAX + 64], dst[PATH_MAX + 64], buf[8192];
	FILE	*f;
	size_t	 n;

	snprintf(src, sizeof(src), "%s/%s", g_keydir, from);
	snprintf(dst, sizeof(dst), "%s/%s", g_keydir, to);
	f = fopen(src, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	write_file(dst, buf, n, mode);
}

START_TEST(load_refuses_bad_key_sets)
{
	static const struct {
		enum kg_jwt_alg	 alg;
		const char	*secret, *files, *why;
	} t[] = {
		{ KG_JWT_HS256, "", NULL, "jwt_secret" },
		{ KG_JWT_HS256, "0123456789abcdef0123456789abcde", NULL,
		    "at least 32" },
		{ KG_JWT_EDDSA, NULL, "", "required" },
		{ KG_JWT_EDDSA, NULL, "missing.pem", "No such file" },
		{ KG_JWT_EDDSA, NULL, "rsa2048-a.pem", "needs Ed25519" },
		{ KG_JWT_EDDSA, NULL, "ed448.pem", "needs Ed25519" },
		{ KG_JWT_EDDSA, NULL, "ed25519-a.pem rsa2048-a.pem",
		    "needs Ed25519" },
		{ KG_JWT_EDDSA, NULL, "ed25519-b.pub.pem", "private" },
		{ KG_JWT_EDDSA, NULL, "ed25519-a.pem ed25519-a.pem", "twice" },
		{ KG_JWT_EDDSA, NULL, "ed25519-b.pem ed25519-b.pub.pem",
		    "twice" },
		{ KG_JWT_EDDSA, NULL, "garbage.pem", "no unencrypted PEM" },
		{ KG_JWT_EDDSA, NULL, "encrypted.pem", "no unencrypted PEM" },
		{ KG_JWT_EDDSA, NULL, "readable.pem", "others can read" },
		{ KG_JWT_EDDSA, NULL, "ed25519-a.pem writable.pem",
		    "others can write" },
		{ KG_JWT_EDDSA, NULL, "/tmp", "regular file" },
		{ KG_JWT_RS256, NULL, "ed25519-a.pem", "needs RSA" },
		{ KG_JWT_RS256, NULL, "rsa1024-weak.pem", "1024 bits" },
		{ KG_JWT_RS256, NULL, "rsa2048-a.pem rsa1024-weak.pem",
		    "1024 bits" },
	};
	struct kg_jwt_keys	*ks;
	EVP_PKEY		*pk;
	BIO			*bio;
	FILE			*f;
	char			 err[512], path[PATH_MAX + 64];
	size_t			 i;

	/* Fixtures: garbage, an encrypted key, loose permissions. */
	snprintf(path, sizeof(path), "%s/garbage.pem", g_keydir);
	write_file(path, "-----BEGIN PRIVATE KEY-----\nAAAA\n", 33, 0600);
	snprintf(path, sizeof(path), "%s/ed25519-a.pem", g_keydir);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(pk = PEM_read_PrivateKey(f, NULL, NULL, NULL));
	fclose(f);
	snprintf(path, sizeof(path), "%s/encrypted.pem", g_keydir);
	ck_assert_ptr_nonnull(bio = BIO_new_file(path, "w"));
	ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, pk,
	    EVP_aes_256_cbc(), "pass", 4, NULL, NULL), 1);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	copy_key("ed25519-a.pem", "readable.pem", 0644);
	copy_key("ed25519-b.pem", "writable.pem", 0602);

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ks = (struct kg_jwt_keys *)&err;	/* must be reset */
		ck_assert_msg(keys_try(t[i].alg, t[i].secret, t[i].files, &ks,
		    err, sizeof(err)) != KG_OK, "case %zu loaded", i);
		ck_assert_ptr_null(ks);
		ck_assert_msg(strstr(err, t[i].why) != NULL,
		    "case %zu: \"%s\" lacks \"%s\"", i, err, t[i].why);
		/* Never the secret in the message. */
		if (t[i].secret != NULL && *t[i].secret != '\0')
			ck_assert_ptr_null(strstr(err, t[i].secret));
	}
	/* A public key the others can read is fine; so is group access. */
	copy_key("ed25519-b.pub.pem", "pub-readable.pem", 0644);
	copy_key("ed25519-a.pem", "group.pem", 0640);
	ks = keys_make(KG_JWT_EDDSA, NULL, "group.pem pub-readable.pem");
	ck_assert_uint_eq(kg_jwt_keys_count(ks), 2);
	kg_jwt_keys_free(ks);
}
END_TEST

START_TEST(load_refuses_bad_names)
{
	struct kg_config	 cfg;
	struct kg_jwt_keys	*ks;
	char			 err[256], big[KG_JWT_NAME_MAX + 2];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cfg_make(&cfg, KG_JWT_HS256, SECRET, NULL);
	setstr(&cfg.jwt_issuer, big);
	ck_assert_int_eq(kg_jwt_keys_load(&cfg, &ks, err, sizeof(err)),
	    KG_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "jwt_issuer"));
	setstr(&cfg.jwt_issuer, ISS);
	setstr(&cfg.jwt_audience, "a\tb");
	ck_assert_int_eq(kg_jwt_keys_load(&cfg, &ks, err, sizeof(err)),
	    KG_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "jwt_audience"));
	setstr(&cfg.jwt_audience, "\xff");
	ck_assert_int_eq(kg_jwt_keys_load(&cfg, &ks, err, sizeof(err)),
	    KG_ERR_CONFIG);
	/* The longest name is fine, and an issuer that needs escaping. */
	big[KG_JWT_NAME_MAX] = '\0';
	setstr(&cfg.jwt_audience, big);
	setstr(&cfg.jwt_issuer, "iss \"quoted\" \\");
	ck_assert_int_eq(kg_jwt_keys_load(&cfg, &ks, err, sizeof(err)), KG_OK);
	{
		struct kg_jwt_claims	c, back;
		struct kg_buf		b = KG_BUF_INIT;

		fill_claims(&c, "s", 0, "", "");
		ck_assert_int_eq(kg_jwt_sign(ks, &c, &b), KG_OK);
		ck_assert_int_eq(vfy(ks, b.b_data, NOW, 0, &back),
		    KG_JWT_FAIL__MAX);
		kg_buf_free(&b);
	}
	kg_jwt_keys_free(ks);
	kg_config_free(&cfg);
}
END_TEST

START_TEST(hs256_jwks_empty_and_misc)
{
	struct kg_jwt_keys	*ks = keys_make(KG_JWT_HS256, SECRET, NULL);
	struct kg_buf		 b = KG_BUF_INIT;
	char			 a[KG_JWT_JTI_LEN + 1], c[KG_JWT_JTI_LEN + 1];
	size_t			 i, j;

	ck_assert_int_eq(kg_jwt_jwks(ks, &b), KG_OK);
	ck_assert_str_eq(b.b_data, "{\"keys\":[]}");
	ck_assert_uint_eq(kg_jwt_keys_count(ks), 0);
	ck_assert_ptr_null(kg_jwt_keys_kid(ks, 0));
	ck_assert_int_eq(kg_jwt_new_jti(a), KG_OK);
	ck_assert_int_eq(kg_jwt_new_jti(c), KG_OK);
	ck_assert_uint_eq(strlen(a), KG_JWT_JTI_LEN);
	ck_assert_str_ne(a, c);
	for (i = 0; i < KG_JWT_JTI_LEN; i++)
		ck_assert(strchr("0123456789abcdef", a[i]) != NULL);
	for (i = 0; i <= KG_JWT_FAIL__MAX; i++) {
		ck_assert_ptr_nonnull(kg_jwt_fail_str(i));
		for (j = 0; j < i; j++)
			ck_assert_str_ne(kg_jwt_fail_str(i), kg_jwt_fail_str(j));
	}
	ck_assert_str_eq(kg_jwt_fail_str(KG_JWT_FAIL__MAX + 1), "unknown");
	ck_assert_str_eq(kg_jwt_alg_name(KG_JWT_EDDSA), "EdDSA");
	ck_assert_str_eq(kg_jwt_alg_name(KG_JWT__MAX), "unknown");
	kg_jwt_keys_free(NULL);
	kg_buf_free(&b);
	kg_jwt_keys_free(ks);
}
END_TEST

/* ------------------------------------------------------------------ main */

static Suite *
jwt_suite(void)
{
	Suite	*s = suite_create("jwt");
	TCase	*tc;

	tc = tcase_create("jose");
	tcase_add_loop_test(tc, jose_tokens_verify_with_their_claims, 0, 3);
	tcase_add_loop_test(tc, jose_bad_tokens_refused_for_the_right_reason,
	    0, 3);
	tcase_add_test(tc, kid_is_jose_thumbprint);
	tcase_add_loop_test(tc, jwks_equals_jose_export, 0, 3);
	suite_add_tcase(s, tc);

	tc = tcase_create("sign");
	tcase_add_test(tc, sign_then_verify_every_alg_and_export);
	tcase_add_test(tc, tokens_cross_algorithms_and_keys_refused);
	tcase_add_test(tc, sign_refuses_claims_verify_would_refuse);
	suite_add_tcase(s, tc);

	tc = tcase_create("strict");
	tcase_add_test(tc, shape_and_encoding_refused);
	tcase_add_test(tc, every_signature_change_refused);
	tcase_add_loop_test(tc, header_rules, 0,
	    (int)(sizeof(hdr_cases) / sizeof(hdr_cases[0])));
	tcase_add_loop_test(tc, claim_rules, 0,
	    (int)(sizeof(claim_cases) / sizeof(claim_cases[0])));
	tcase_add_test(tc, claim_values_decoded_and_bounded);
	tcase_add_test(tc, claims_not_read_before_signature);
	tcase_add_test(tc, time_rules_and_leeway);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_test(tc, load_refuses_bad_key_sets);
	tcase_add_test(tc, load_refuses_bad_names);
	tcase_add_test(tc, hs256_jwks_empty_and_misc);
	suite_add_tcase(s, tc);
	return s;
}

/* Copies the test keys into a fresh private directory, mode 0600. */
static int
keydir_make(void)
{
	char	 src[PATH_MAX + 64], dst[PATH_MAX + 64], buf[8192];
	FILE	*in, *out;
	size_t	 i, n;

	snprintf(g_keydir, sizeof(g_keydir), "%s/check_jwt.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(g_keydir) == NULL)
		return -1;
	for (i = 0; pems[i] != NULL; i++) {
		snprintf(src, sizeof(src), "%s/%s", g_vecdir, pems[i]);
		snprintf(dst, sizeof(dst), "%s/%s", g_keydir, pems[i]);
		if ((in = fopen(src, "r")) == NULL)
			return -1;
		n = fread(buf, 1, sizeof(buf), in);
		fclose(in);
		umask(077);
		if ((out = fopen(dst, "w")) == NULL)
			return -1;
		if (fwrite(buf, 1, n, out) != n || fclose(out) != 0)
			return -1;
	}
	return 0;
}

static void
keydir_remove(void)
{
	char		 path[PATH_MAX + 300];
	DIR		*d;
	struct dirent	*e;

	if ((d = opendir(g_keydir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", g_keydir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(g_keydir);
}

int
main(void)
{
	const char	*top = getenv("top_srcdir");
	SRunner		*sr;
	int		 failed;

	if (top == NULL) {
		fprintf(stderr, "check_jwt: top_srcdir is not set (make check "
		    "sets it)\n");
		return 99;
	}
	snprintf(g_vecdir, sizeof(g_vecdir), "%s/tests/vectors/jwt", top);
	if (keydir_make() == -1) {
		fprintf(stderr, "check_jwt: cannot copy the keys from %s: %s\n",
		    g_vecdir, strerror(errno));
		keydir_remove();
		return 99;
	}
	sr = srunner_create(jwt_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	keydir_remove();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
