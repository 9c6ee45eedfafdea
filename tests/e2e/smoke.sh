# shellcheck shell=bash
# tests/e2e/smoke.sh: the one smoke suite that every web server set-up
# runs (issue 6), a library, not a test:
#
#   . "$top_srcdir/tests/lib.sh"
#   . "$top_srcdir/tests/e2e/smoke.sh"
#   kg_init; kg_require_prog curl node npm jq; kg_signer_init
#   ... start keygate (admin key in $akey) behind the web server ...
#   kg_smoke "nginx, fastcgi_pass, under /auth/" "$url/auth"
#
# Through the web server at BASE (keygate's root, the mount prefix
# included): /health 200; a wallet sign-in (challenge -> personal_sign by
# ethers -> verify); the session's Bearer token reaches keygate (whoami
# names the wallet: a web server that drops Authorization gets 200
# {"authenticated":false} instead); an API key minted by the admin (a
# POST with a JSON body) and used as "Authorization: ApiKey" (whoami) and
# as a Bearer token (GET /v1/keys, GET /v1/auth/check with a scope: 204);
# and the refusals: no credential 401, a bad one 401.
#
# Reads akey (the admin key, as kg_service_up sets it), KG_SMOKE_NS (the
# namespace signed in to, default "smoke": created by the first sign-in)
# and KG_SMOKE_KEY (a test-only wallet key).  Needs kg_signer_init and jq.

# Test-only key (tests/vectors/eth/eip55.json), never a real one.
: "${KG_SMOKE_KEY:=0x132cfd43948f7c93cbc78fea7fbc0764fa33fab299889a31f8423468d811f143}"
: "${KG_SMOKE_NS:=smoke}"

# _kg_smoke_field JQ: a member of the last response body.
_kg_smoke_field() {
	printf '%s' "$KG_BODY" | jq -r "$1" 2>/dev/null
}

# _kg_smoke_expect LABEL WHAT STATUS [JQ WANT]...: the last response had
# STATUS and each JQ member of its body the value WANT.
_kg_smoke_expect() {
	local label=$1 what=$2
	kg_expect_eq "$label: $what: status ($KG_BODY)" "$KG_STATUS" "$3"
	shift 3
	while [ $# -ge 2 ]; do
		kg_expect_eq "$label: $what: $1" "$(_kg_smoke_field "$1")" "$2"
		shift 2
	done
}

# kg_smoke LABEL BASE: runs the suite through BASE; LABEL names the
# set-up in failures and in the line printed when it passed.
kg_smoke() {
	local label=$1 base=$2 wallet key prefix
	[ -n "${akey:-}" ] || kg_error "kg_smoke: no admin key (\$akey)"

	kg_request GET "$base/health"
	_kg_smoke_expect "$label" /health 200 .status ok

	# A wallet signs in; its session token must arrive as a Bearer token.
	# (Its address once per test: each run of the signer costs a node.)
	if [ -z "${_kg_smoke_wallet:-}" ]; then
		_kg_smoke_wallet=$(kg_eth_address "$KG_SMOKE_KEY" | tr A-F a-f) ||
			kg_error "the signer does not run"
	fi
	wallet=$_kg_smoke_wallet
	kg_wallet_session "$base" "$KG_SMOKE_KEY" "$KG_SMOKE_NS"
	kg_request GET "$base/v1/auth/whoami" -H "Authorization: Bearer $KG_ACCESS"
	_kg_smoke_expect "$label" "whoami, session (Bearer)" 200 \
	    .authenticated true .method jwt .subject "$wallet" \
	    .namespace "$KG_SMOKE_NS"

	# The admin mints an API key; the key works in both header forms.
	kg_request POST "$base/v1/keys" -H "Authorization: Bearer $akey" \
	    -H "X-Keygate-Namespace: $KG_SMOKE_NS" \
	    -H 'Content-Type: application/json' --data-binary \
	    '{"name":"smoke","scopes":["keys:read"],"expires_in":"30d"}'
	_kg_smoke_expect "$label" "admin mints a key" 201
	key=$(_kg_smoke_field .secret)
	prefix=$(_kg_smoke_field .key.prefix)
	kg_expect_match "$label: API key" "$key" '^kg_sk_'
	kg_request GET "$base/v1/auth/whoami" -H "Authorization: ApiKey $key"
	_kg_smoke_expect "$label" "whoami, API key (ApiKey)" 200 \
	    .authenticated true .method api_key .subject "key:$prefix"
	kg_request GET "$base/v1/keys" -H "Authorization: Bearer $key"
	_kg_smoke_expect "$label" "list keys, API key (Bearer)" 200
	kg_request GET "$base/v1/auth/check?scope=keys:read" \
	    -H "Authorization: Bearer $key"
	_kg_smoke_expect "$label" "check keys:read, API key" 204
	kg_expect_eq "$label: check subject" \
	    "$(kg_header x-keygate-subject)" "key:$prefix"

	# Refusals.
	kg_request GET "$base/v1/keys"
	_kg_smoke_expect "$label" "no credential" 401 .error unauthenticated
	kg_request GET "$base/v1/auth/whoami" -H 'Authorization: Bearer x.y.z'
	_kg_smoke_expect "$label" "bad Bearer token" 401 .error invalid_token

	printf 'smoke: %s: passed (%s)\n' "$label" "$base"
}
