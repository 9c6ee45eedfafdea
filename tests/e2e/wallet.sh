#!/usr/bin/env bash
# e2e/wallet.sh: wallet sign-in (SPEC 4) through a real lighttpd, with
# ethers (npm, pinned by tests/e2e/package-lock.json) as the independent
# signer: challenge -> sign the SIWE message -> verify (first wallet track
# 4, second track 1) -> replay refused -> legacy raw-nonce path -> wrong
# signer -> another domain; then the session routes: whoami -> refresh ->
# reuse of the old refresh token kills the family -> logout -> whoami 401.
#
# ethers is installed once with `npm ci` into $top_builddir/tests/e2e
# (reused when present); that needs the npm registry the first time.
set -u
. "$top_srcdir/tests/lib.sh"
kg_init
kg_require_prog curl lighttpd node npm jq
kg_require_db

admin=$top_builddir/keygate-admin

# ---------------------------------------------------------------- signer
signer=$top_builddir/tests/e2e
mkdir -p "$signer" || kg_error "cannot create $signer"
for f in package.json package-lock.json sign.mjs; do
	if [ "$top_srcdir/tests/e2e/$f" -ef "$signer/$f" ]; then
		continue
	fi
	cmp -s "$top_srcdir/tests/e2e/$f" "$signer/$f" ||
		cp "$top_srcdir/tests/e2e/$f" "$signer/$f" || kg_error "cannot copy $f"
done
if [ ! -f "$signer/node_modules/ethers/package.json" ] ||
   [ "$signer/package-lock.json" -nt "$signer/node_modules/.package-lock.json" ]; then
	npm ci --prefix "$signer" --no-audit --no-fund --loglevel=error \
	    >"$KG_TMP/npm.log" 2>&1 ||
		kg_skip "npm ci (ethers) failed, no registry? $(tail -n 3 "$KG_TMP/npm.log")"
fi
# Test-only keys (tests/vectors/eth/eip55.json), never real ones.
K1=0x132cfd43948f7c93cbc78fea7fbc0764fa33fab299889a31f8423468d811f143
K2=0x9da4fa466e97bb365a8208c2bd2cab7728c0aae789a12ee7e17567a765c8e696
addr() { KG_SIGN_KEY=$1 node "$signer/sign.mjs" address; }
sign() { KG_SIGN_KEY=$1 node "$signer/sign.mjs" sign; }	# message on stdin
A1=$(addr $K1) || kg_error "signer does not run"
A2=$(addr $K2) || kg_error "signer does not run"
kg_expect_eq "ethers address of key 1" "$A1" 0x3748A27775229ccc4C2c14e3f9455b04fc0B39C0
a1=$(printf '%s' "$A1" | tr A-F a-f)
a2=$(printf '%s' "$A2" | tr A-F a-f)

# ---------------------------------------------------------------- set-up
kg_db_create
fport=$(kg_free_port)
conf=$KG_TMP/keygate.conf
kg_write_config "$conf" "listen = tcp:127.0.0.1:$fport" "workers = 2" \
    "siwe_domain = app.example" "siwe_uri = https://app.example/login"
kg_db_config_lines "$KG_DB" >>"$conf"
"$admin" -c "$conf" migrate --schema-dir "$top_srcdir/schema" >"$KG_TMP/migrate.log" 2>&1 ||
	kg_error "migrate failed: $(cat "$KG_TMP/migrate.log")"
kg_start_fcgi "$conf"
kg_start_lighttpd 127.0.0.1 "$fport"
kg_wait_http "$KG_HTTP_URL/health" || kg_fail "/health never answered"
url=$KG_HTTP_URL

post() {	# post PATH JSON [CURL ARG...]
	local path=$1 body=$2
	shift 2
	kg_request POST "$url$path" -H 'Content-Type: application/json' \
	    --data-binary "$body" "$@"
}
field() { printf '%s' "$KG_BODY" | jq -r "$1"; }
expect_error() {	# expect_error WHAT STATUS CODE
	kg_expect_eq "$1 status ($KG_BODY)" "$KG_STATUS" "$2"
	kg_expect_eq "$1 error" "$(field .error)" "$3"
}
challenge() {	# challenge ADDRESS -> NONCE, MSG
	post /v1/auth/challenge "{\"wallet\":\"$1\",\"namespace\":\"acme\"}"
	kg_expect_eq "challenge status ($KG_BODY)" "$KG_STATUS" 200
	NONCE=$(field .nonce)
	MSG=$(field .message)
}
verify_body() {	# verify_body WALLET NONCE SIG [MESSAGE]
	if [ $# -ge 4 ]; then
		jq -nc --arg w "$1" --arg n "$2" --arg s "$3" --arg m "$4" \
		    '{wallet:$w, nonce:$n, signature:$s, namespace:"acme", message:$m}'
	else
		jq -nc --arg w "$1" --arg n "$2" --arg s "$3" \
		    '{wallet:$w, nonce:$n, signature:$s, namespace:"acme"}'
	fi
}

# ---------------------------------------------------------------- sign-in
challenge "$A1"
kg_expect_eq "challenge wallet" "$(field .wallet)" "$a1"
kg_expect_match "challenge message domain" "$MSG" '^app\.example wants you to sign in'
kg_expect_match "challenge message address" "$MSG" "$A1"
sig=$(printf '%s' "$MSG" | sign $K1)
body=$(verify_body "$A1" "$NONCE" "$sig" "$MSG")
post /v1/auth/verify "$body"
kg_expect_eq "verify status ($KG_BODY)" "$KG_STATUS" 200
kg_expect_eq "first wallet is the owner" "$(field .track)" 4
kg_expect_eq "verify subject" "$(field .subject)" "$a1"
kg_expect_eq "verify token_type" "$(field .token_type)" Bearer
kg_expect_eq "verify signature_verified" "$(field .signature_verified)" true
kg_expect_eq "verify no-store" "$(kg_header cache-control)" no-store
access=$(field .access_token)
refresh=$(field .refresh_token)
kg_expect_match "refresh token shape" "$refresh" '^kg_rt_'

post /v1/auth/verify "$body"
expect_error "replayed nonce" 400 invalid_nonce

# second wallet, legacy raw-nonce path: signs the nonce string itself
challenge "$A2"
sig=$(printf '%s' "$NONCE" | sign $K2)
post /v1/auth/verify "$(verify_body "$A2" "$NONCE" "$sig")"
kg_expect_eq "raw-nonce verify status ($KG_BODY)" "$KG_STATUS" 200
kg_expect_eq "second wallet joins at track 1" "$(field .track)" 1

# wrong signer
challenge "$A1"
sig=$(printf '%s' "$MSG" | sign $K2)
post /v1/auth/verify "$(verify_body "$A1" "$NONCE" "$sig" "$MSG")"
expect_error "wrong signer" 401 signature_mismatch

# a message for another domain, correctly signed
other=$(printf '%s' "$MSG" | sed '1s/^app\.example /evil.example /')
sig=$(printf '%s' "$other" | sign $K1)
post /v1/auth/verify "$(verify_body "$A1" "$NONCE" "$sig" "$other")"
expect_error "other domain" 401 message_mismatch
# none of the refusals spent the nonce
sig=$(printf '%s' "$MSG" | sign $K1)
post /v1/auth/verify "$(verify_body "$A1" "$NONCE" "$sig" "$MSG")"
kg_expect_eq "nonce still good after refusals ($KG_BODY)" "$KG_STATUS" 200

# ---------------------------------------------------------------- sessions
kg_request GET "$url/v1/auth/whoami" -H "Authorization: Bearer $access"
kg_expect_eq "whoami status ($KG_BODY)" "$KG_STATUS" 200
kg_expect_eq "whoami subject" "$(field .subject)" "$a1"
kg_expect_eq "whoami track" "$(field .track)" 4

post /v1/auth/refresh "{\"refresh_token\":\"$refresh\"}"
kg_expect_eq "refresh status ($KG_BODY)" "$KG_STATUS" 200
access2=$(field .access_token)
kg_request GET "$url/v1/auth/whoami" -H "Authorization: Bearer $access2"
kg_expect_eq "whoami with the rotated token" "$KG_STATUS" 200

post /v1/auth/refresh "{\"refresh_token\":\"$refresh\"}"
expect_error "refresh token reuse" 401 refresh_token_reused
kg_request GET "$url/v1/auth/whoami" -H "Authorization: Bearer $access2"
kg_expect_eq "family's access token after reuse" "$KG_STATUS" 401

# a fresh session, then logout
challenge "$A1"
sig=$(printf '%s' "$MSG" | sign $K1)
post /v1/auth/verify "$(verify_body "$A1" "$NONCE" "$sig" "$MSG")"
kg_expect_eq "second sign-in status" "$KG_STATUS" 200
access3=$(field .access_token)
kg_request POST "$url/v1/auth/logout" -H "Authorization: Bearer $access3" \
    -H "Content-Length: 0"
kg_expect_eq "logout status ($KG_BODY)" "$KG_STATUS" 200
kg_request GET "$url/v1/auth/whoami" -H "Authorization: Bearer $access3"
kg_expect_eq "whoami after logout" "$KG_STATUS" 401

exit 0
