// gen-eth-vectors.mjs: Ethereum test vectors for keygate's keccak/eth
// modules, produced by an independent implementation (ethers v6 and the
// @noble/curves it depends on), never by keygate's own code.
//
// Regenerate (Node >= 18; ethers is installed OUTSIDE the repository):
//
//   mkdir -p /tmp/ethgen && cd /tmp/ethgen && npm init -y && npm install ethers@6
//   cd /path/to/keygate
//   NODE_PATH=/tmp/ethgen/node_modules node tests/vectors/gen-eth-vectors.mjs
//
// It writes tests/vectors/eth/{keccak,eip55,personal_sign}.json (or into
// the directory given as the first argument).  The output is deterministic:
// fixed private keys (Keccak-256 of a label) and RFC 6979 signatures, so a
// rerun with the same ethers version reproduces the files byte for byte.
// Every vector is cross-checked here (the signature recovers its signer,
// each "invalid" address really is refused by ethers, ...) before it is
// written.

import { createRequire } from 'node:module';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// CommonJS resolution honours NODE_PATH; ESM import does not.
const require = createRequire(import.meta.url);
const ethers = require('ethers');
const { secp256k1 } = require('@noble/curves/secp256k1');

const outDir = process.argv[2] ??
    join(dirname(fileURLToPath(import.meta.url)), 'eth');
const N = ethers.N;
const HALF_N = N / 2n;
const P = 2n ** 256n - 2n ** 32n - 977n;	// secp256k1 field prime

function check(cond, what) {
	if (!cond)
		throw new Error('self-check failed: ' + what);
}

function throws(fn) {
	try {
		fn();
	} catch {
		return true;
	}
	return false;
}

function hex32(v) {
	return '0x' + v.toString(16).padStart(64, '0');
}

function meta(what) {
	return {
		generator: 'tests/vectors/gen-eth-vectors.mjs',
		implementation: `ethers ${ethers.version}`,
		what,
	};
}

function write(name, obj) {
	mkdirSync(outDir, { recursive: true });
	writeFileSync(join(outDir, name), JSON.stringify(obj, null, '\t') + '\n');
	console.log('wrote', join(outDir, name));
}

// ------------------------------------------------------------ keccak.json
function pattern(n) {
	const b = new Uint8Array(n);
	for (let i = 0; i < n; i++)
		b[i] = i & 0xff;
	return b;
}

const keccak = [];
function kv(name, bytes) {
	keccak.push({
		name,
		input_hex: ethers.hexlify(bytes),
		keccak256: ethers.keccak256(bytes),
	});
}
kv('empty', new Uint8Array(0));
kv('abc', ethers.toUtf8Bytes('abc'));
kv('quick brown fox',
    ethers.toUtf8Bytes('The quick brown fox jumps over the lazy dog'));
kv('200 x 0xa3', new Uint8Array(200).fill(0xa3));
// Byte i is i mod 256; lengths around one and two rate blocks (136 bytes).
for (const n of [1, 135, 136, 137, 271, 272, 273, 1000])
	kv(`pattern ${n}`, pattern(n));
{
	const big = new Uint8Array(1000000).fill(0x61);
	keccak.push({
		name: '1000000 x "a"',
		repeat_hex: '61',
		repeat_count: big.length,
		keccak256: ethers.keccak256(big),
	});
}
check(keccak[0].keccak256 ===
    '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    'keccak256 of the empty string');
write('keccak.json', {
	meta: meta('Keccak-256 (Ethereum padding) of input_hex, or of ' +
	    'repeat_count copies of the byte repeat_hex'),
	vectors: keccak,
});

// ------------------------------------------------------------- the keys
const keys = [1, 2, 3].map((i) => {
	const label = `keygate test key ${i}`;
	const priv = ethers.keccak256(ethers.toUtf8Bytes(label));
	check(BigInt(priv) > 0n && BigInt(priv) < N, 'private key in range');
	const w = new ethers.Wallet(priv);
	return {
		label,
		private_key: priv,
		address: w.address,
		address_lower: w.address.toLowerCase(),
		public_key: w.signingKey.publicKey,
		wallet: w,
	};
});

// ------------------------------------------------------------- eip55.json
// ERC-55's own examples, in its three groups.
const spec = [
	'0x52908400098527886E0F7030069857D2E4169EE7',
	'0x8617E340B3D01FA5F11F306F4090FD50E238070D',
	'0xde709f2102306220921060314715629080e2fb77',
	'0x27b1fdb04752bbc536007a920d24acb045561c26',
	'0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
	'0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
	'0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
	'0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
];
const spec_examples = spec.map((a) => ({
	input: a,
	checksummed: ethers.getAddress(a),
	lower: a.toLowerCase(),
}));

// All-lower and all-upper forms carry no checksum and are accepted.
const case_variants = [];
for (const k of keys) {
	const body = k.address.slice(2);
	for (const input of ['0x' + body.toLowerCase(), '0x' + body.toUpperCase()]) {
		check(ethers.getAddress(input) === k.address, 'ethers accepts ' + input);
		case_variants.push({ input, checksummed: ethers.getAddress(input) });
	}
}

// One letter's case flipped in a checksummed address: ethers must refuse
// it (unless the flip happens to make the whole address one case).
function flipOne(addr, nth) {
	let seen = 0;
	const c = addr.split('');
	for (let i = 2; i < c.length; i++) {
		if (!/[a-fA-F]/.test(c[i]))
			continue;
		if (seen++ === nth) {
			c[i] = c[i] === c[i].toLowerCase() ?
			    c[i].toUpperCase() : c[i].toLowerCase();
			return c.join('');
		}
	}
	return null;
}
const invalid = [];
for (const a of [...keys.map((k) => k.address), spec[4], spec[7]]) {
	for (const nth of [0, 3, 7]) {
		const bad = flipOne(a, nth);
		if (bad === null)
			continue;
		const body = bad.slice(2);
		if (body === body.toLowerCase() || body === body.toUpperCase())
			continue;
		invalid.push({ input: bad, why: 'one letter case flipped' });
	}
}
const k0 = keys[0].address;
invalid.push({ input: k0.slice(0, 41), why: '39 hex digits' });
invalid.push({ input: k0 + 'a', why: '41 hex digits' });
invalid.push({ input: k0.slice(0, 41) + 'g', why: 'non-hex digit' });
invalid.push({ input: '0x', why: 'no digits' });
invalid.push({ input: '', why: 'empty' });
for (const v of invalid)
	check(throws(() => ethers.getAddress(v.input)),
	    `ethers refuses ${JSON.stringify(v.input)}`);

write('eip55.json', {
	meta: meta('EIP-55 addresses: ethers.getAddress() of the keys and ' +
	    'of the ERC-55 examples; "invalid" are inputs ethers refuses'),
	keys: keys.map(({ wallet, ...k }) => k),
	spec_examples,
	case_variants,
	invalid,
});

// ---------------------------------------------------- personal_sign.json
function siwe(addr) {
	return [
		'auth.example.com wants you to sign in with your Ethereum account:',
		addr,
		'',
		'Sign in to keygate.',
		'',
		'URI: https://auth.example.com/login',
		'Version: 1',
		'Chain ID: 1',
		'Nonce: 7Hq2xLmP9sVb4TzRk8WcYd3NfGj6Ua5E',
		'Issued At: 2026-11-22T10:42:40Z',
		'Expiration Time: 2026-11-22T10:47:40Z',
	].join('\n');
}
const thousand = ethers.toUtf8Bytes(
    'keygate signs in wallets. '.repeat(40)).slice(0, 1000);
const messages = [
	{ name: 'ascii', bytes: ethers.toUtf8Bytes('hello keygate') },
	{ name: 'empty', bytes: new Uint8Array(0) },
	{ name: 'utf8 multibyte',
	    bytes: ethers.toUtf8Bytes('Grüße, 世界 — 🔑 keygate') },
	{ name: '1000 bytes', bytes: thousand },
	{ name: 'raw nonce (legacy verify)',
	    bytes: ethers.toUtf8Bytes('7Hq2xLmP9sVb4TzRk8WcYd3NfGj6Ua5E') },
	// A message that already starts with the prefix is prefixed again:
	// the prefix is applied exactly once by the signer, never skipped.
	{ name: 'already prefixed',
	    bytes: ethers.toUtf8Bytes('\x19Ethereum Signed Message:\n5hello') },
	{ name: 'binary', bytes: Uint8Array.from([0x00, 0xff, 0x19, 0x0a, 0x80]) },
];
check(thousand.length === 1000, '1000-byte message');

function decodeUtf8(bytes) {
	try {
		return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
	} catch {
		return null;
	}
}

const sigs = [];
function sign(name, ki, bytes) {
	const k = keys[ki];
	const sigHex = k.wallet.signMessageSync(bytes);
	const sig = ethers.Signature.from(sigHex);
	const hash = ethers.hashMessage(bytes);
	const recid = sig.v - 27;
	check(ethers.verifyMessage(bytes, sigHex) === k.address, name + ' verifies');
	check(BigInt(sig.s) <= HALF_N, name + ' is low-s');
	check(ethers.recoverAddress(hash, sigHex) === k.address, name + ' recovers');
	const v01 = ethers.concat([sig.r, sig.s, ethers.toBeHex(recid, 1)]);
	check(ethers.recoverAddress(hash, v01) === k.address, name + ' v01 recovers');
	const prefix = ethers.toUtf8Bytes(
	    ethers.MessagePrefix + String(bytes.length));
	check(ethers.keccak256(ethers.concat([prefix, bytes])) === hash,
	    name + ': EIP-191 hash by hand');

	// The malleable twin (r, n - s) with the other parity recovers the
	// same key: that is why a high-s value must be refused.
	const sHigh = N - BigInt(sig.s);
	const twin = new secp256k1.Signature(BigInt(sig.r), sHigh)
	    .addRecoveryBit(recid ^ 1);
	const twinPub = '0x' + twin.recoverPublicKey(hash.slice(2)).toHex(false);
	check(twinPub === k.public_key, name + ': high-s twin recovers the key');
	check(sHigh > HALF_N, name + ': twin is high-s');

	sigs.push({
		name,
		signer: ki,
		address: k.address,
		public_key: k.public_key,
		message_hex: ethers.hexlify(bytes),
		message_utf8: decodeUtf8(bytes),
		hash,
		signature: sigHex,
		signature_v01: v01,
		r: sig.r,
		s: sig.s,
		v: sig.v,
		recid,
		high_s_twin: ethers.concat([sig.r, hex32(sHigh),
		    ethers.toBeHex(27 + (recid ^ 1), 1)]),
	});
}
for (const m of messages)
	sign(m.name, 0, m.bytes);
for (const ki of [0, 1, 2])
	sign(`siwe key ${ki + 1}`, ki, ethers.toUtf8Bytes(siwe(keys[ki].address)));
sign('ascii key 2', 1, ethers.toUtf8Bytes('hello keygate'));
sign('ascii key 3', 2, ethers.toUtf8Bytes('hello keygate'));

// Both parities have to be exercised.
check(sigs.some((s) => s.recid === 0) && sigs.some((s) => s.recid === 1),
    'both recovery ids present');

// An r that is no point's x coordinate (x^3 + 7 not a square mod p): a
// well-formed, low-s signature that nothing can recover.
function modpow(b, e, m) {
	let r = 1n;
	b %= m;
	for (; e > 0n; e >>= 1n, b = b * b % m)
		if (e & 1n)
			r = r * b % m;
	return r;
}
let x = 1n;
while (modpow(x ** 3n + 7n, (P - 1n) / 2n, P) !== P - 1n)
	x++;
const unrecHash = ethers.hashMessage('hello keygate');
const unrecoverable = ethers.concat([hex32(x), hex32(1n), '0x1b']);
check(throws(() => ethers.recoverAddress(unrecHash, unrecoverable)),
    'ethers cannot recover from an r off the curve');

write('personal_sign.json', {
	meta: meta('EIP-191 personal_sign: hash = ethers.hashMessage(message), ' +
	    'signature = Wallet.signMessage (v 27/28), signature_v01 the same ' +
	    'with v 0/1, high_s_twin = (r, n - s, other v): valid ECDSA but ' +
	    'malleable, must be refused; signer indexes eip55.json keys'),
	secp256k1_n: hex32(N),
	secp256k1_half_n: hex32(HALF_N),
	signatures: sigs,
	unrecoverable: {
		why: `r = ${x}: x^3 + 7 is not a square mod p`,
		hash: unrecHash,
		signature: unrecoverable,
	},
});
