// gen-jwt-vectors.mjs: JWT test vectors for keygate's core/crypto/jwt.c,
// produced by an independent implementation (panva's "jose" from npm), never
// by keygate's own code.
//
// Regenerate (Node >= 20; jose is installed OUTSIDE the repository):
//
//   mkdir -p /tmp/jwtgen && cd /tmp/jwtgen && npm init -y && npm install jose
//   cd /path/to/keygate
//   NODE_PATH=/tmp/jwtgen/node_modules node tests/vectors/gen-jwt-vectors.mjs
//
// It reads the TEST-ONLY keys tests/vectors/jwt/*.pem (made once with
// `openssl genpkey`, see tests/vectors/README.md) and writes
// tests/vectors/jwt/{hs256,eddsa,rs256}.json (or into the directory given as
// the first argument).  Each file holds the configuration the C test gives
// keygate (alg, secret or key files, issuer, audience, a fixed "now" and
// leeway), the kid jose computes for each key (RFC 7638
// calculateJwkThumbprint), the public JWKS jose exports, tokens jose signed
// that keygate must accept (with their claims), and tokens keygate must
// refuse (with the kg_jwt_fail reason, as kg_jwt_fail_str spells it).
// Ed25519 and RSASSA-PKCS1-v1_5 signatures are deterministic, so a rerun
// with the same keys reproduces the files byte for byte, except the one
// PS256 token of rs256.json (RSA-PSS signatures are salted).
//
// Cross-check the other way (keygate signs, jose verifies):
//
//   KG_JWT_EXPORT=/tmp/kg-tokens.json top_srcdir=$PWD ./tests/unit/check_jwt
//   NODE_PATH=/tmp/jwtgen/node_modules \
//       node tests/vectors/gen-jwt-vectors.mjs --verify /tmp/kg-tokens.json
//
// (check_jwt runs from the build directory; the file lists every token the
// C test minted, with the claims it put in.)  jose verifies each with the
// JWKS written here (so keygate's kid must equal jose's thumbprint) or the
// HS256 secret, pinned alg, typ at+jwt, issuer, audience and times, and
// compares the claims.  Exit status 0 only if all of them pass.

import { createRequire } from 'node:module';
import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// CommonJS resolution honours NODE_PATH; ESM import does not.  jose is ESM:
// resolve its entry point the CommonJS way, then import it.
const require = createRequire(import.meta.url);
const jose = await import(pathToFileURL(require.resolve('jose')).href);
const joseVersion = JSON.parse(readFileSync(
    join(dirname(require.resolve('jose')), '..', '..', 'package.json'))).version;

const here = dirname(fileURLToPath(import.meta.url));
const keyDir = join(here, 'jwt');

// The configuration every vector is made for.
const NOW = 1767225600;			// 2026-01-01T00:00:00Z
const LEEWAY = 30;
const ISSUER = 'https://auth.example.test';
const AUDIENCE = 'keygate-test';
const SECRET = 'keygate-TEST-ONLY-hs256-secret-0123456789abcdef';
const TTL = 900;

const enc = new TextEncoder();
const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
const b64uJson = (obj) => b64u(enc.encode(JSON.stringify(obj)));

function check(cond, what) {
	if (!cond)
		throw new Error('self-check failed: ' + what);
}

const pem = (name) => readFileSync(join(keyDir, name), 'utf8');

async function loadKey(name, alg) {
	const text = pem(name);
	const priv = text.includes('PRIVATE KEY') ?
	    await jose.importPKCS8(text, alg) : null;
	// The public half, as SPKI, via node:crypto only to strip the
	// private part; jose imports and exports it.
	const spki = createPublicKey(text).export({ type: 'spki', format: 'pem' });
	const pub = await jose.importSPKI(spki, alg, { extractable: true });
	const jwk = await jose.exportJWK(pub);
	const kid = await jose.calculateJwkThumbprint(jwk, 'sha256');
	return { name, priv, pub, jwk, kid };
}

// The claims keygate writes; overrides change or delete (undefined) one.
function claims(over = {}) {
	const c = {
		iss: ISSUER, aud: AUDIENCE,
		sub: '0x52908400098527886e0f7030069857d2e4169ee7',
		ns: 'default', track: 2,
		scope: 'projects:read projects:execute keys:read keys:write',
		jti: '0123456789abcdef0123456789abcdef',
		sid: 'fam_7c1d2e3f4a5b6c7d',
		iat: NOW - 60, nbf: NOW - 60, exp: NOW - 60 + TTL,
		...over,
	};
	for (const k of Object.keys(c))
		if (c[k] === undefined)
			delete c[k];
	return c;
}

// What keygate's struct kg_jwt_claims must hold after verifying c.
function expected(c) {
	return {
		sub: c.sub, ns: c.ns, track: c.track ?? 0, scope: c.scope,
		jti: c.jti, sid: c.sid ?? '', iat: c.iat, nbf: c.nbf, exp: c.exp,
	};
}

// Signs payload (any JSON value or raw string) with jose's CompactSign, so
// that ill-typed claims can be signed too.
async function sign(key, header, payload) {
	const bytes = enc.encode(typeof payload === 'string' ? payload :
	    JSON.stringify(payload));
	const s = new jose.CompactSign(bytes).setProtectedHeader(header);
	const critNames = header.crit ?? [];
	const opts = critNames.length ?
	    { crit: Object.fromEntries(critNames.map((n) => [n, true])) } : {};
	return s.sign(key, opts);
}

function tamper(token, over) {
	const [h, p, s] = token.split('.');
	const c = JSON.parse(Buffer.from(p, 'base64url').toString());
	return [h, b64uJson({ ...c, ...over }), s].join('.');
}

async function verifyWithJose(token, alg, key) {
	return jose.jwtVerify(token, key, {
		algorithms: [alg], issuer: ISSUER, audience: AUDIENCE,
		typ: 'at+jwt', currentDate: new Date(NOW * 1000),
		clockTolerance: LEEWAY,
	});
}

// ------------------------------------------------------------ generation

async function generate(outDir) {
	const hsKey = enc.encode(SECRET);
	const ed = {
		a: await loadKey('ed25519-a.pem', 'EdDSA'),
		b: await loadKey('ed25519-b.pem', 'EdDSA'),
		x: await loadKey('ed25519-x.pem', 'EdDSA'),
	};
	const bpub = await loadKey('ed25519-b.pub.pem', 'EdDSA');
	check(bpub.kid === ed.b.kid, 'public-only PEM has the same kid');
	const rsa = {
		a: await loadKey('rsa2048-a.pem', 'RS256'),
		x: await loadKey('rsa2048-x.pem', 'RS256'),
	};

	const hsHdr = { alg: 'HS256', typ: 'at+jwt' };
	const edHdr = (k) => ({ alg: 'EdDSA', typ: 'at+jwt', kid: k.kid });
	const rsHdr = (k) => ({ alg: 'RS256', typ: 'at+jwt', kid: k.kid });

	// Positive cases, the same for every algorithm.
	async function positives(key, hdr, alg, verifyKey) {
		const cases = [
			['wallet session', hdr, claims()],
			['api-key token: no track, no sid', hdr, claims({
			    sub: 'key:3f9a2c1b', track: undefined,
			    sid: undefined, scope: 'projects:read' })],
			['track 4 admin', hdr, claims({ track: 4,
			    scope: 'admin operator.write' })],
			['empty scope', hdr, claims({ scope: '' })],
			['typ application/at+jwt (RFC 9068 4)',
			    { ...hdr, typ: 'application/at+jwt' }, claims()],
			['typ in upper case (media types ignore case)',
			    { ...hdr, typ: 'AT+JWT' }, claims()],
			['exp 29 s ago: within the leeway', hdr,
			    claims({ iat: NOW - 929, nbf: NOW - 929,
			    exp: NOW - 29 })],
			['nbf and iat 30 s ahead: within the leeway', hdr,
			    claims({ iat: NOW + 30, nbf: NOW + 30,
			    exp: NOW + 930 })],
			['unknown claims are ignored (RFC 7519 4)', hdr,
			    { ...claims(), client_id: 'app_1',
			    cnf: { jkt: 'x', n: [1, 2.5e3, true, null] } }],
			['escapes and UTF-8 in values', hdr, claims({
			    sid: 'fam "quoted" \\ back/slash é 🙂' })],
			['claims in another order', hdr, Object.fromEntries(
			    Object.entries(claims()).reverse())],
		];
		const out = [];
		for (const [name, h, c] of cases) {
			const token = await sign(key, h, c);
			const { payload } = await verifyWithJose(token, alg,
			    verifyKey);
			check(payload.jti === c.jti, name);
			out.push({ name, token, claims: expected(c) });
		}
		return out;
	}

	// Negative cases common to every algorithm.
	async function negatives(key, hdr, alg, verifyKey) {
		const good = await sign(key, hdr, claims());
		const [gh, gp, gs] = good.split('.');
		const none = new jose.UnsecuredJWT(claims()).encode();
		const v = [
			['alg none (jose UnsecuredJWT)', none, 'bad_alg', true],
			['alg none with typ, kid and a signature kept',
			    [b64uJson({ ...hdr, alg: 'none' }), gp, gs].join('.'),
			    'bad_alg', true],
			['alg in lower case', [b64uJson({ ...hdr,
			    alg: alg.toLowerCase() }), gp, gs].join('.'),
			    'bad_alg', true],
			['alg missing', [b64uJson((({ alg: _a, ...r }) => r)(hdr)),
			    gp, gs].join('.'), 'bad_alg', true],
			['tampered payload (scope widened), signature kept',
			    tamper(good, { scope: 'admin' }), 'bad_signature', true],
			['tampered payload (exp extended), signature kept',
			    tamper(good, { exp: NOW + 86400 }), 'bad_signature', true],
			['signature of another token', [gh, gp,
			    (await sign(key, hdr, claims({ jti:
			    'ffffffffffffffffffffffffffffffff' }))).split('.')[2]]
			    .join('.'), 'bad_signature', true],
			['typ JWT', await sign(key, { ...hdr, typ: 'JWT' },
			    claims()), 'bad_typ', true],
			['typ missing', await sign(key, (({ typ: _t, ...r }) =>
			    r)(hdr), claims()), 'bad_typ', true],
			['typ application/jwt', await sign(key, { ...hdr,
			    typ: 'application/jwt' }, claims()), 'bad_typ', true],
			['crit header', await sign(key, { ...hdr,
			    crit: ['urn:example:must'], 'urn:example:must': 1 },
			    claims()), 'bad_header', true],
			['jku header', await sign(key, { ...hdr,
			    jku: 'https://attacker.example/jwks.json' },
			    claims()), 'bad_header', false],
			['x5u header', await sign(key, { ...hdr,
			    x5u: 'https://attacker.example/cert.pem' },
			    claims()), 'bad_header', false],
			['jwk header', await sign(key, { ...hdr,
			    jwk: ed.x.jwk }, claims()), 'bad_header', false],
			['cty header', await sign(key, { ...hdr, cty: 'JWT' },
			    claims()), 'bad_header', false],
			['expired 31 s ago (leeway 30)', await sign(key, hdr,
			    claims({ iat: NOW - 931, nbf: NOW - 931,
			    exp: NOW - 31 })), 'expired', true],
			['expired exactly at now - leeway', await sign(key, hdr,
			    claims({ iat: NOW - 930, nbf: NOW - 930,
			    exp: NOW - 30 })), 'expired', true],
			['nbf 31 s ahead', await sign(key, hdr, claims({
			    iat: NOW - 60, nbf: NOW + 31, exp: NOW + 900 })),
			    'not_yet_valid', true],
			['iat 31 s ahead', await sign(key, hdr, claims({
			    iat: NOW + 31, nbf: NOW, exp: NOW + 900 })),
			    'not_yet_valid', false],
			['wrong iss', await sign(key, hdr, claims({
			    iss: 'https://evil.example.test' })), 'bad_iss', true],
			['iss differs in case', await sign(key, hdr, claims({
			    iss: ISSUER.toUpperCase() })), 'bad_iss', true],
			['iss with a trailing slash', await sign(key, hdr,
			    claims({ iss: ISSUER + '/' })), 'bad_iss', true],
			['wrong aud', await sign(key, hdr, claims({
			    aud: 'another-service' })), 'bad_aud', true],
			['aud as an array (keygate writes a string)',
			    await sign(key, hdr, claims({ aud: [AUDIENCE] })),
			    'bad_aud', false],
			['iss missing', await sign(key, hdr, claims({
			    iss: undefined })), 'bad_claims', true],
			['aud missing', await sign(key, hdr, claims({
			    aud: undefined })), 'bad_claims', true],
			['exp missing', await sign(key, hdr, claims({
			    exp: undefined })), 'bad_claims', false],
			['jti missing', await sign(key, hdr, claims({
			    jti: undefined })), 'bad_claims', false],
			['exp not an integer', await sign(key, hdr, claims({
			    exp: NOW + 900.5 })), 'bad_claims', false],
			['exp as a string', await sign(key, hdr, claims({
			    exp: String(NOW + 900) })), 'bad_claims', true],
			['exp with an exponent', await sign(key, hdr,
			    JSON.stringify(claims()).replace(
			    `"exp":${NOW + 840}`, '"exp":1.7672265e9')),
			    'bad_claims', false],
			['exp before iat', await sign(key, hdr, claims({
			    iat: NOW + 20, nbf: NOW - 60, exp: NOW + 10 })),
			    'bad_claims', false],
			['jti 31 hex digits', await sign(key, hdr, claims({
			    jti: '0123456789abcdef0123456789abcde' })),
			    'bad_claims', false],
			['jti 33 hex digits', await sign(key, hdr, claims({
			    jti: '0123456789abcdef0123456789abcdef0' })),
			    'bad_claims', false],
			['jti in upper case', await sign(key, hdr, claims({
			    jti: '0123456789ABCDEF0123456789ABCDEF' })),
			    'bad_claims', false],
			['track 0', await sign(key, hdr, claims({ track: 0 })),
			    'bad_claims', false],
			['track 5', await sign(key, hdr, claims({ track: 5 })),
			    'bad_claims', false],
			['track as a string', await sign(key, hdr, claims({
			    track: '2' })), 'bad_claims', false],
			['sub empty', await sign(key, hdr, claims({ sub: '' })),
			    'bad_claims', false],
			['ns too long (64)', await sign(key, hdr, claims({
			    ns: 'n'.repeat(64) })), 'bad_claims', false],
			['control character in sub', await sign(key, hdr,
			    claims({ sub: 'key:abc\r\nX-Injected: 1' })),
			    'bad_claims', false],
			['duplicate exp claim', await sign(key, hdr,
			    JSON.stringify(claims()).replace('}',
			    `,"exp":${NOW + 86400}}`)), 'bad_claims', false],
			['payload is a JSON array', await sign(key, hdr,
			    [claims()]), 'bad_claims', true],
			['payload is not JSON', await sign(key, hdr,
			    'not json'), 'bad_claims', true],
		];
		// The last member says whether jose, applying RFC 7519/9068 as
		// a library does, refuses the token too; false marks where
		// keygate's profile is stricter (header allow-list, aud a
		// string, jti/track/sub shapes, duplicates, which JSON.parse
		// resolves to the last).  Checked, so a vector cannot refuse
		// for a reason other than the one it is named after.
		for (const [name, token, , joseRefuses] of v) {
			let refused = false;
			try {
				await verifyWithJose(token, alg, verifyKey);
			} catch {
				refused = true;
			}
			check(refused === joseRefuses, 'jose on: ' + name);
		}
		return v.map(([name, token, reason, joseRefuses]) =>
		    ({ name, token, reason, jose_refuses: joseRefuses }));
	}

	const files = {};

	// HS256
	{
		const valid = await positives(hsKey, hsHdr, 'HS256', hsKey);
		const invalid = await negatives(hsKey, hsHdr, 'HS256', hsKey);
		invalid.push(
		    { name: 'EdDSA-signed token presented to HS256',
		      token: await sign(ed.a.priv, edHdr(ed.a), claims()),
		      reason: 'bad_alg' },
		    { name: 'RS256-signed token presented to HS256',
		      token: await sign(rsa.a.priv, rsHdr(rsa.a), claims()),
		      reason: 'bad_alg' },
		    { name: 'HS256 token carrying a kid',
		      token: await sign(hsKey, { ...hsHdr, kid: 'k1' },
		      claims()), reason: 'unknown_kid' },
		    { name: 'HS256 with another secret',
		      token: await sign(enc.encode(SECRET + 'x'), hsHdr,
		      claims()), reason: 'bad_signature' },
		    { name: 'HS384 token', token: await sign(enc.encode(
		      SECRET + SECRET), { alg: 'HS384', typ: 'at+jwt' },
		      claims()), reason: 'bad_alg' });
		files['hs256.json'] = {
			alg: 'HS256', secret: SECRET, key_files: [],
			kids: {}, jwks: { keys: [] }, valid, invalid,
		};
	}

	// EdDSA: a signs, b verifies (rotation)
	{
		const jwks = jose.createLocalJWKSet({ keys: [ed.a.jwk, ed.b.jwk]
		    .map((j, i) => ({ ...j, kid: [ed.a, ed.b][i].kid })) });
		const valid = await positives(ed.a.priv, edHdr(ed.a), 'EdDSA',
		    jwks);
		const c = claims({ jti: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' });
		valid.push({ name: 'signed by the second (verify-only) key',
		    token: await sign(ed.b.priv, edHdr(ed.b), c),
		    claims: expected(c) });
		const invalid = await negatives(ed.a.priv, edHdr(ed.a), 'EdDSA',
		    jwks);
		invalid.push(
		    { name: 'HS256 token presented to EdDSA',
		      token: await sign(hsKey, hsHdr, claims()),
		      reason: 'bad_alg' },
		    { name: 'HS256 token with kid of the EdDSA key',
		      token: await sign(hsKey, { ...hsHdr, kid: ed.a.kid },
		      claims()), reason: 'bad_alg' },
		    { name: 'RS256 token presented to EdDSA',
		      token: await sign(rsa.a.priv, rsHdr(rsa.a), claims()),
		      reason: 'bad_alg' },
		    { name: 'unknown kid (key not configured)',
		      token: await sign(ed.x.priv, edHdr(ed.x), claims()),
		      reason: 'unknown_kid' },
		    { name: 'kid missing',
		      token: await sign(ed.a.priv, { alg: 'EdDSA',
		      typ: 'at+jwt' }, claims()), reason: 'unknown_kid' },
		    { name: 'kid of key a, signed by an unknown key',
		      token: await sign(ed.x.priv, edHdr(ed.a), claims()),
		      reason: 'bad_signature' },
		    { name: 'kid of key b, signed by key a',
		      token: await sign(ed.a.priv, edHdr(ed.b), claims()),
		      reason: 'bad_signature' },
		    { name: 'kid as a number',
		      token: await sign(ed.a.priv, { alg: 'EdDSA',
		      typ: 'at+jwt', kid: 7 }, claims()),
		      reason: 'unknown_kid' });
		const pubJwk = (k) => ({ ...k.jwk, kid: k.kid, alg: 'EdDSA',
		    use: 'sig' });
		files['eddsa.json'] = {
			alg: 'EdDSA', key_files: ['ed25519-a.pem', 'ed25519-b.pem'],
			kids: Object.fromEntries([ed.a, ed.b, ed.x, bpub]
			    .map((k) => [k.name, k.kid])),
			jwks: { keys: [pubJwk(ed.a), pubJwk(ed.b)] },
			valid, invalid,
		};
	}

	// RS256
	{
		const jwks = jose.createLocalJWKSet({ keys: [{ ...rsa.a.jwk,
		    kid: rsa.a.kid }] });
		const valid = await positives(rsa.a.priv, rsHdr(rsa.a), 'RS256',
		    jwks);
		const invalid = await negatives(rsa.a.priv, rsHdr(rsa.a),
		    'RS256', jwks);
		// Algorithm confusion: the RSA public key as an HMAC secret.
		const spki = createPublicKey(pem('rsa2048-a.pem'))
		    .export({ type: 'spki', format: 'pem' });
		invalid.push(
		    { name: 'HS256 with the RSA public key as secret ' +
		      '(alg confusion)', token: await sign(enc.encode(spki),
		      { ...hsHdr, kid: rsa.a.kid }, claims()),
		      reason: 'bad_alg' },
		    { name: 'EdDSA token presented to RS256',
		      token: await sign(ed.a.priv, edHdr(ed.a), claims()),
		      reason: 'bad_alg' },
		    { name: 'PS256 token with the same key',
		      token: await sign(await jose.importPKCS8(
		      pem('rsa2048-a.pem'), 'PS256'), { alg: 'PS256',
		      typ: 'at+jwt', kid: rsa.a.kid }, claims()),
		      reason: 'bad_alg' },
		    { name: 'unknown kid (key not configured)',
		      token: await sign(rsa.x.priv, rsHdr(rsa.x), claims()),
		      reason: 'unknown_kid' },
		    { name: 'kid of key a, signed by an unknown key',
		      token: await sign(rsa.x.priv, rsHdr(rsa.a), claims()),
		      reason: 'bad_signature' });
		files['rs256.json'] = {
			alg: 'RS256', key_files: ['rsa2048-a.pem'],
			kids: Object.fromEntries([rsa.a, rsa.x]
			    .map((k) => [k.name, k.kid])),
			jwks: { keys: [{ ...rsa.a.jwk, kid: rsa.a.kid,
			    alg: 'RS256', use: 'sig' }] },
			valid, invalid,
		};
	}

	mkdirSync(outDir, { recursive: true });
	for (const [name, body] of Object.entries(files)) {
		const doc = {
			generator: 'tests/vectors/gen-jwt-vectors.mjs',
			jose: joseVersion,
			now: NOW, leeway: LEEWAY, issuer: ISSUER,
			audience: AUDIENCE, ...body,
		};
		writeFileSync(join(outDir, name),
		    JSON.stringify(doc, null, 1) + '\n');
		console.log(`${name}: ${body.valid.length} valid, ` +
		    `${body.invalid.length} invalid`);
	}
}

// ------------------------------------------------------- --verify FILE

async function verifyFile(file) {
	const doc = JSON.parse(readFileSync(file, 'utf8'));
	const vec = (n) => JSON.parse(readFileSync(join(keyDir, n), 'utf8'));
	const keys = {
		HS256: enc.encode(vec('hs256.json').secret),
		EdDSA: jose.createLocalJWKSet(vec('eddsa.json').jwks),
		RS256: jose.createLocalJWKSet(vec('rs256.json').jwks),
	};
	let pass = 0, fail = 0;
	for (const t of doc.tokens) {
		try {
			const { payload, protectedHeader } = await jose.jwtVerify(
			    t.token, keys[t.alg], {
				algorithms: [t.alg], issuer: doc.issuer,
				audience: doc.audience, typ: 'at+jwt',
				currentDate: new Date(doc.now * 1000),
				clockTolerance: doc.leeway ?? 0,
			    });
			check(protectedHeader.typ === 'at+jwt', 'typ');
			for (const [k, v] of Object.entries(t.claims ?? {})) {
				const got = payload[k] ?? (k === 'track' ? 0 :
				    k === 'sid' ? '' : undefined);
				check(got === v, `${k}: ${got} != ${v}`);
			}
			pass++;
		} catch (e) {
			fail++;
			console.log(`FAIL ${t.alg} ${t.name ?? ''}: ${e.message}`);
		}
	}
	console.log(`jose verify: ${pass} passed, ${fail} failed`);
	process.exit(fail === 0 && pass > 0 ? 0 : 1);
}

if (process.argv[2] === '--verify')
	await verifyFile(process.argv[3]);
else
	await generate(process.argv[2] ?? keyDir);
