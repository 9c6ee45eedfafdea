/*
 * crypto_ceiling.c: the one-core crypto ceilings of tools/bench/bench.
 * Each measurement runs one thread for about the seconds given and prints
 *   NAME OPS CPU_SECONDS OPS_PER_CPU_SECOND
 * the rate per second of this process's own CPU time, so that what else
 * the machine runs (the bench's servers, other jobs) lowers it little:
 *   secp256k1_recover  libsecp256k1's ecdsa_recover of one fixed
 *                      signature, a context made and randomised once (the
 *                      library's ceiling for wallet sign-in);
 *   kg_eth_verify      keygate's own path, kg_eth_verify_personal of
 *                      libkeygate.a: EIP-191 hash of a SIWE-sized message,
 *                      recovery, address derivation and comparison;
 *   ed25519_verify     OpenSSL EVP_DigestVerify of a 200-byte message with
 *                      one EVP_PKEY and one EVP_MD_CTX kept across calls
 *                      (the ceiling for EdDSA access tokens).
 * Not part of the build: the bench script compiles it with cc -O2 against
 * the bench build's libkeygate.a and the same libraries.
 *
 *   crypto_ceiling [-t seconds]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "core/crypto/eth.h"

/* Operations between two looks at the clock. */
#define CC_BATCH	64

static double	cc_secs = 2.0;

static double
cc_cpu_now(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == -1) {
		perror("crypto_ceiling: clock_gettime");
		exit(1);
	}
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
cc_report(const char *name, unsigned long ops, double cpu)
{
	printf("%s %lu %.3f %.0f\n", name, ops, cpu,
	    cpu > 0 ? (double)ops / cpu : 0.0);
	fflush(stdout);
}

/* A signing key that is not zero and below the group order. */
static void
cc_seckey(const secp256k1_context *ctx, unsigned char key[32])
{
	size_t	i;

	for (i = 0; i < 32; i++)
		key[i] = (unsigned char)(0x5a ^ (i * 7));
	if (!secp256k1_ec_seckey_verify(ctx, key)) {
		fprintf(stderr, "crypto_ceiling: bad fixed key\n");
		exit(1);
	}
}

/* Signs hash; writes r || s to rs and the recovery id to *recid. */
static void
cc_sign(const secp256k1_context *ctx, const unsigned char key[32],
    const unsigned char hash[32], unsigned char rs[64], int *recid)
{
	secp256k1_ecdsa_recoverable_signature	sig;

	if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, hash, key, NULL,
	    NULL) ||
	    !secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, rs,
	    recid, &sig)) {
		fprintf(stderr, "crypto_ceiling: signing failed\n");
		exit(1);
	}
}

static void
cc_secp256k1(void)
{
	secp256k1_context			*ctx;
	secp256k1_ecdsa_recoverable_signature	 sig;
	secp256k1_pubkey			 pk;
	unsigned char				 key[32], hash[32], rs[64];
	unsigned char				 seed[32];
	unsigned long				 ops = 0;
	double					 t0, cpu;
	int					 recid, i;

	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (ctx == NULL) {
		fprintf(stderr, "crypto_ceiling: no secp256k1 context\n");
		exit(1);
	}
	memset(seed, 0x42, sizeof(seed));
	if (!secp256k1_context_randomize(ctx, seed))
		exit(1);
	cc_seckey(ctx, key);
	memset(hash, 0xa5, sizeof(hash));
	cc_sign(ctx, key, hash, rs, &recid);
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig,
	    rs, recid)) {
		fprintf(stderr, "crypto_ceiling: cannot parse own signature\n");
		exit(1);
	}
	t0 = cc_cpu_now();
	do {
		for (i = 0; i < CC_BATCH; i++) {
			if (!secp256k1_ecdsa_recover(ctx, &pk, &sig, hash)) {
				fprintf(stderr, "crypto_ceiling: recover failed\n");
				exit(1);
			}
		}
		ops += CC_BATCH;
	} while ((cpu = cc_cpu_now() - t0) < cc_secs);
	cc_report("secp256k1_recover", ops, cpu);
	secp256k1_context_destroy(ctx);
}

static void
cc_kg_eth(void)
{
	static const char	 msg[] =
	    "127.0.0.1:8080 wants you to sign in with your Ethereum account:\n"
	    "0x0000000000000000000000000000000000000000\n\n"
	    "Sign in to keygate\n\nURI: http://127.0.0.1:8080/\nVersion: 1\n"
	    "Chain ID: 1\nNonce: 0123456789abcdef0123456789abcdef\n"
	    "Issued At: 2026-01-01T00:00:00Z\n"
	    "Expiration Time: 2026-01-01T00:05:00Z";
	secp256k1_context	*ctx;
	struct kg_eth		*e;
	struct kg_eth_sig	 sig;
	unsigned char		 key[32], hash[KG_ETH_HASH_LEN];
	uint8_t			 addr[KG_ETH_ADDR_LEN];
	unsigned long		 ops = 0;
	double			 t0, cpu;
	int			 i;

	if ((ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE)) == NULL ||
	    kg_eth_new(&e) != KG_OK) {
		fprintf(stderr, "crypto_ceiling: no kg_eth context\n");
		exit(1);
	}
	cc_seckey(ctx, key);
	kg_eth_personal_hash(msg, sizeof(msg) - 1, hash);
	cc_sign(ctx, key, hash, sig.rs, &sig.recid);
	/* The signer's address, as keygate derives it. */
	if (kg_eth_recover(e, hash, &sig, NULL, addr) != KG_OK) {
		fprintf(stderr, "crypto_ceiling: kg_eth_recover failed\n");
		exit(1);
	}
	t0 = cc_cpu_now();
	do {
		for (i = 0; i < CC_BATCH; i++) {
			if (kg_eth_verify_personal(e, msg, sizeof(msg) - 1,
			    &sig, addr, NULL) != KG_ETH_MATCH) {
				fprintf(stderr, "crypto_ceiling: "
				    "kg_eth_verify_personal did not match\n");
				exit(1);
			}
		}
		ops += CC_BATCH;
	} while ((cpu = cc_cpu_now() - t0) < cc_secs);
	cc_report("kg_eth_verify", ops, cpu);
	kg_eth_free(e);
	secp256k1_context_destroy(ctx);
}

static void
cc_ed25519(void)
{
	EVP_PKEY	*pkey;
	EVP_MD_CTX	*sctx, *vctx;
	unsigned char	 msg[200], sig[64];
	size_t		 siglen = sizeof(sig);
	unsigned long	 ops = 0;
	double		 t0, cpu;
	int		 i;

	memset(msg, 'j', sizeof(msg));
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (sctx = EVP_MD_CTX_new()) == NULL ||
	    (vctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(sctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(sctx, sig, &siglen, msg, sizeof(msg)) != 1) {
		fprintf(stderr, "crypto_ceiling: Ed25519 set-up failed\n");
		exit(1);
	}
	t0 = cc_cpu_now();
	do {
		for (i = 0; i < CC_BATCH; i++) {
			/* Ed25519 is one-shot: an init per message. */
			if (EVP_DigestVerifyInit(vctx, NULL, NULL, NULL,
			    pkey) != 1 ||
			    EVP_DigestVerify(vctx, sig, siglen, msg,
			    sizeof(msg)) != 1) {
				fprintf(stderr, "crypto_ceiling: "
				    "Ed25519 verify failed\n");
				exit(1);
			}
		}
		ops += CC_BATCH;
	} while ((cpu = cc_cpu_now() - t0) < cc_secs);
	cc_report("ed25519_verify", ops, cpu);
	EVP_MD_CTX_free(vctx);
	EVP_MD_CTX_free(sctx);
	EVP_PKEY_free(pkey);
}

int
main(int argc, char *argv[])
{
	char	*end;
	int	 ch;

	while ((ch = getopt(argc, argv, "t:")) != -1) {
		switch (ch) {
		case 't':
			errno = 0;
			cc_secs = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || cc_secs <= 0 ||
			    cc_secs > 600) {
				fprintf(stderr, "crypto_ceiling: bad -t\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: crypto_ceiling [-t seconds]\n");
			return 2;
		}
	}
	cc_secp256k1();
	cc_kg_eth();
	cc_ed25519();
	return 0;
}
