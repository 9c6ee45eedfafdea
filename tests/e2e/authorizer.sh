#!/usr/bin/env bash
# e2e/authorizer.sh: keygate protecting a static folder that the web server
# serves itself (SPEC 10), with real credentials: the admin key, wallet
# sessions from the real challenge/verify flow (signed by ethers), and
# API keys with and without the scope.
#
#   (a) lighttpd, keygate as FastCGI Authorizer ("mode" => "authorizer"):
#       the required scope/project/namespace set per location with
#       setenv.add-environment in a $HTTP["url"] condition; 200 with the
#       file, 401 without or with a bad credential, 403 without the scope
#       or in another namespace; the Variable-KEYGATE_* answers reach a CGI
#       script behind the authorizer as KEYGATE_SUBJECT, ...; a location
#       whose requirement is set but empty refuses everyone with 500 and a
#       log line; the client's X-Keygate-Namespace header changes nothing.
#   (b) nginx, auth_request to an internal location passed to keygate's
#       GET /v1/auth/check with fastcgi_pass (requirements in a per-location
#       variable: auth_request does not split a query off its URI); the
#       same answers, and the subject handed to the protected location with
#       auth_request_set (asserted through add_header).
# Then, through both: a session ended with logout is refused at once, and
# with keygate stopped nothing protected is served (503 / 500).
set -u
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/smoke.sh"
kg_init
kg_require_prog curl lighttpd nginx node npm jq
kg_require_db

admin=$top_builddir/keygate-admin
ADMIN=kg_ad_0nnnhaiy_zvWPFv3fOhHWkBq233KsefAyTaDnYYT65fja1FhU40u3hV

# Test-only keys (tests/vectors/eth/eip55.json), never real ones.
K1=0x132cfd43948f7c93cbc78fea7fbc0764fa33fab299889a31f8423468d811f143
K2=0x9da4fa466e97bb365a8208c2bd2cab7728c0aae789a12ee7e17567a765c8e696
kg_signer_init
a1=$(kg_eth_address $K1 | tr A-F a-f) || kg_error "the signer does not run"
a2=$(kg_eth_address $K2 | tr A-F a-f) || kg_error "the signer does not run"

# ---------------------------------------------------------------- keygate
kg_db_create
fport=$(kg_free_port)
conf=$KG_TMP/keygate.conf
kg_write_config "$conf" "listen = tcp:127.0.0.1:$fport" "workers = 2" \
    "admin_key = $ADMIN"
kg_db_config_lines "$KG_DB" >>"$conf"
"$admin" -c "$conf" migrate --schema-dir "$top_srcdir/schema" >"$KG_TMP/migrate.log" 2>&1 ||
	kg_error "migrate failed: $(cat "$KG_TMP/migrate.log")"
kg_start_fcgi "$conf"
# keygate's own API (sign-in, keys) through a plain responder mount.
kg_start_lighttpd 127.0.0.1 "$fport"
kg_wait_http "$KG_HTTP_URL/health" || kg_fail "/health never answered"
api=$KG_HTTP_URL
akey=$ADMIN kg_smoke "lighttpd responder (the API mount of the authorizer set-ups)" "$api"

# The first wallet owns the namespace (track 4: admin, so every scope);
# the second joins at track 1 (projects:read only).
kg_wallet_session "$api" $K1 acme
kg_expect_eq "first wallet's track" "$KG_TRACK" 4
s1=$KG_ACCESS
kg_wallet_session "$api" $K2 acme
kg_expect_eq "second wallet's track" "$KG_TRACK" 1
s2=$KG_ACCESS
# A session to end before the last checks.
kg_wallet_session "$api" $K1 acme
s3=$KG_ACCESS

# ---------------------------------------------------------------- API keys
# Minted by the admin when the API-key routes exist (SPEC 6).
mint_key() {	# mint_key SCOPES_JSON PROJECTS_JSON -> KEY
	kg_request POST "$api/v1/keys" -H "Authorization: Bearer $ADMIN" \
	    -H 'X-Keygate-Namespace: acme' -H 'Content-Type: application/json' \
	    --data-binary "{\"name\":\"authz\",\"scopes\":$1,\"project_ids\":$2,\"expires_in\":\"30d\"}"
	KEY=
	[ "$KG_STATUS" = 201 ] || return 1
	KEY=$(printf '%s' "$KG_BODY" | jq -r .secret)
	kg_expect_match "API key shape" "$KEY" '^kg_sk_'
}
mint_key '["keys:read"]' null || kg_fail "mint: $KG_STATUS $KG_BODY"
k_read=$KEY
mint_key '["projects:read"]' '["beta"]' || kg_fail "mint: $KG_STATUS $KG_BODY"
k_beta=$KEY
mint_key '["projects:read"]' '["alpha"]' || kg_fail "mint: $KG_STATUS $KG_BODY"
k_alpha=$KEY

# ---------------------------------------------------------------- the folder
docroot=$KG_TMP/docroot
mkdir -p "$docroot/protected" "$docroot/members" "$docroot/other" \
    "$docroot/proj" "$docroot/app" "$docroot/empty" ||
	kg_error "cannot create $docroot"
echo "the empty-requirement secret" >"$docroot/empty/secret.txt"
echo "the protected secret" >"$docroot/protected/secret.txt"
echo "members only" >"$docroot/members/list.txt"
echo "globex only" >"$docroot/other/list.txt"
echo "project alpha" >"$docroot/proj/alpha.txt"
echo "public" >"$docroot/index.txt"
# A CGI application behind the authorizer: shows what it was handed.
cat >"$docroot/app/env.sh" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
env | grep '^KEYGATE_' | LC_ALL=C sort
EOF
chmod 755 "$docroot/app/env.sh"

# expect WHAT URL STATUS [CURL ARG...]: one request (method $METHOD, default
# GET), its status, and the protected content only on a 200.
expect() {
	local what=$1 url=$2 want=$3
	shift 3
	kg_request "${METHOD:-GET}" "$url" "$@"
	kg_expect_eq "$what: status ($KG_BODY)" "$KG_STATUS" "$want"
	case $want in
	200) ;;
	*) case $KG_BODY in *secret*|*"members only"*|*"globex only"*|*"project alpha"*)
		kg_fail "$what: $want with the protected content" ;;
	   esac ;;
	esac
}
bearer() { printf 'Authorization: Bearer %s' "$1"; }

# ---------------------------------------------------------------- (a) lighttpd
kg_start_lighttpd_authorizer 127.0.0.1 "$fport" "$docroot" \
    "/protected/ KEYGATE_REQUIRE_SCOPE=keys:read" \
    "/members/ KEYGATE_REQUIRE_SCOPE=projects:read KEYGATE_REQUIRE_NAMESPACE=acme" \
    "/other/ KEYGATE_REQUIRE_NAMESPACE=globex" \
    "/proj/ KEYGATE_REQUIRE_SCOPE=projects:read KEYGATE_REQUIRE_PROJECT=alpha" \
    "/app/" \
    "/empty/ KEYGATE_REQUIRE_SCOPE="
L=$KG_LIGHTTPD_AUTHZ_URL

expect "lighttpd: unprotected file" "$L/index.txt" 200
kg_expect_eq "lighttpd: unprotected content" "$KG_BODY" public

expect "lighttpd: no credential" "$L/protected/secret.txt" 401
kg_expect_eq "lighttpd: 401 error" "$(printf '%s' "$KG_BODY" | jq -r .error)" unauthenticated
kg_expect_eq "lighttpd: 401 challenge" "$(kg_header www-authenticate)" Bearer
expect "lighttpd: bad token" "$L/protected/secret.txt" 401 -H "$(bearer x.y.z)"
kg_expect_eq "lighttpd: bad token error" "$(printf '%s' "$KG_BODY" | jq -r .error)" invalid_token
expect "lighttpd: not a credential" "$L/protected/secret.txt" 401 -H 'Authorization: Basic dTpw'

expect "lighttpd: owner session" "$L/protected/secret.txt" 200 -H "$(bearer "$s1")"
kg_expect_eq "lighttpd: the file itself" "$KG_BODY" "the protected secret"
# The authorizer's own headers stay between it and lighttpd.
kg_expect_eq "lighttpd: no Variable- header to the client" \
    "$(printf '%s\n' "$KG_HEADERS" | grep -ci '^variable-')" 0
expect "lighttpd: track-1 session lacks keys:read" "$L/protected/secret.txt" 403 \
    -H "$(bearer "$s2")"
kg_expect_eq "lighttpd: 403 error" "$(printf '%s' "$KG_BODY" | jq -r .error)" forbidden
expect "lighttpd: track-1 session, projects:read" "$L/members/list.txt" 200 \
    -H "$(bearer "$s2")"
kg_expect_eq "lighttpd: members content" "$KG_BODY" "members only"
expect "lighttpd: admin key" "$L/protected/secret.txt" 200 -H "$(bearer "$ADMIN")"
expect "lighttpd: admin key as X-API-Key" "$L/protected/secret.txt" 200 -H "X-API-Key: $ADMIN"
expect "lighttpd: admin key, ApiKey scheme" "$L/protected/secret.txt" 200 \
    -H "Authorization: ApiKey $ADMIN"
# The application's query string is not keygate's.
expect "lighttpd: the app's ?namespace=" "$L/protected/secret.txt?namespace=NOT+VALID&namespace=x" \
    200 -H "$(bearer "$s1")"
# Per-location requirements: another namespace.
expect "lighttpd: session of acme in globex's folder" "$L/other/list.txt" 403 \
    -H "$(bearer "$s1")"
expect "lighttpd: admin in globex's folder" "$L/other/list.txt" 200 -H "$(bearer "$ADMIN")"
# The client's X-Keygate-Namespace is not keygate's either: it neither
# moves the admin out of the namespace a location requires nor is refused.
expect "lighttpd: admin in globex's folder, header acme" "$L/other/list.txt" 200 \
    -H "$(bearer "$ADMIN")" -H 'X-Keygate-Namespace: acme'
expect "lighttpd: admin, invalid namespace header" "$L/protected/secret.txt" 200 \
    -H "$(bearer "$ADMIN")" -H 'X-Keygate-Namespace: NOT_VALID'
# A requirement set but empty is a broken configuration: nobody passes.
expect "lighttpd: empty requirement, admin" "$L/empty/secret.txt" 500 -H "$(bearer "$ADMIN")"
expect "lighttpd: empty requirement, session" "$L/empty/secret.txt" 500 -H "$(bearer "$s1")"
expect "lighttpd: empty requirement, key" "$L/empty/secret.txt" 500 -H "X-API-Key: $k_read"
grep -q 'KEYGATE_REQUIRE_SCOPE is not a valid requirement' "$KG_FCGI_LOG" ||
	kg_fail "lighttpd: empty requirement not logged"
expect "lighttpd: sessions hold every project" "$L/proj/alpha.txt" 200 -H "$(bearer "$s2")"

# The variables reach the application behind the authorizer.
expect "lighttpd: CGI app" "$L/app/env.sh" 200 -H "$(bearer "$s2")"
kg_expect_eq "lighttpd: KEYGATE_* of the app" "$KG_BODY" "KEYGATE_METHOD=jwt
KEYGATE_NAMESPACE=acme
KEYGATE_SCOPES=projects:read
KEYGATE_SUBJECT=$a2"
expect "lighttpd: CGI app, no credential" "$L/app/env.sh" 401
case $KG_BODY in *KEYGATE_*) kg_fail "lighttpd: the app ran without a credential" ;; esac

expect "lighttpd: key with keys:read" "$L/protected/secret.txt" 200 -H "X-API-Key: $k_read"
expect "lighttpd: key without keys:read" "$L/protected/secret.txt" 403 \
    -H "Authorization: ApiKey $k_beta"
expect "lighttpd: key of project alpha" "$L/proj/alpha.txt" 200 -H "$(bearer "$k_alpha")"
expect "lighttpd: key of project beta only" "$L/proj/alpha.txt" 403 -H "$(bearer "$k_beta")"
expect "lighttpd: key, CGI app" "$L/app/env.sh" 200 -H "X-API-Key: $k_read"
printf '%s\n' "$KG_BODY" | grep -qx 'KEYGATE_METHOD=api_key' ||
	kg_fail "lighttpd: key's variables: $KG_BODY"
printf '%s\n' "$KG_BODY" | grep -qx 'KEYGATE_SCOPES=keys:read' ||
	kg_fail "lighttpd: key's variables: $KG_BODY"

# ---------------------------------------------------------------- (b) nginx
snippet=$KG_TMP/nginx-server.conf
cat >"$snippet" <<EOF
root $docroot;

location /protected/ {
	set \$keygate_query "scope=keys:read";
	auth_request /_keygate/check;
	auth_request_set \$keygate_subject \$upstream_http_x_keygate_subject;
	auth_request_set \$keygate_method \$upstream_http_x_keygate_method;
	add_header X-Test-Subject \$keygate_subject always;
	add_header X-Test-Method \$keygate_method always;
}
location /members/ {
	set \$keygate_query "scope=projects:read&namespace=acme";
	auth_request /_keygate/check;
	auth_request_set \$keygate_subject \$upstream_http_x_keygate_subject;
	add_header X-Test-Subject \$keygate_subject always;
}
location /other/ {
	set \$keygate_query "namespace=globex";
	auth_request /_keygate/check;
}
location /proj/ {
	set \$keygate_query "scope=projects:read&project=alpha";
	auth_request /_keygate/check;
}
location = /_keygate/check {
	internal;
	fastcgi_pass 127.0.0.1:$fport;
	# The client's headers (Authorization, X-API-Key, ...) go as HTTP_*
	# with fastcgi_pass_request_headers (on by default); no body.
	fastcgi_pass_request_body off;
	fastcgi_param REQUEST_METHOD GET;
	fastcgi_param REQUEST_URI /v1/auth/check;
	fastcgi_param QUERY_STRING \$keygate_query;
	fastcgi_param CONTENT_LENGTH "";
	fastcgi_param REMOTE_ADDR \$remote_addr;
}
EOF
kg_start_nginx "$snippet"
N=$KG_NGINX_URL

expect "nginx: unprotected file" "$N/index.txt" 200
expect "nginx: no credential" "$N/protected/secret.txt" 401
kg_expect_eq "nginx: 401 challenge" "$(kg_header www-authenticate)" Bearer
expect "nginx: bad token" "$N/protected/secret.txt" 401 -H "$(bearer x.y.z)"
expect "nginx: owner session" "$N/protected/secret.txt" 200 -H "$(bearer "$s1")"
kg_expect_eq "nginx: the file itself" "$KG_BODY" "the protected secret"
kg_expect_eq "nginx: subject handed on" "$(kg_header x-test-subject)" "$a1"
kg_expect_eq "nginx: method handed on" "$(kg_header x-test-method)" jwt
expect "nginx: track-1 session lacks keys:read" "$N/protected/secret.txt" 403 \
    -H "$(bearer "$s2")"
expect "nginx: track-1 session, projects:read" "$N/members/list.txt" 200 -H "$(bearer "$s2")"
kg_expect_eq "nginx: members content" "$KG_BODY" "members only"
kg_expect_eq "nginx: second subject" "$(kg_header x-test-subject)" "$a2"
expect "nginx: admin key" "$N/protected/secret.txt" 200 -H "X-API-Key: $ADMIN"
kg_expect_eq "nginx: admin subject" "$(kg_header x-test-subject)" admin
expect "nginx: session of acme in globex's folder" "$N/other/list.txt" 403 -H "$(bearer "$s1")"
expect "nginx: admin in globex's folder" "$N/other/list.txt" 200 -H "$(bearer "$ADMIN")"
expect "nginx: sessions hold every project" "$N/proj/alpha.txt" 200 -H "$(bearer "$s2")"
# The subrequest location is not reachable from outside.
expect "nginx: internal location" "$N/_keygate/check" 404 -H "$(bearer "$ADMIN")"
# A request body is the application's: keygate neither waits for it nor
# answers 400; nginx then refuses POST on a static file itself.
METHOD=POST expect "nginx: POST with a body" "$N/protected/secret.txt" 405 \
    -H "$(bearer "$s1")" --data-binary '{"a":1}'
METHOD=POST expect "nginx: POST with a body, no credential" \
    "$N/protected/secret.txt" 401 --data-binary '{"a":1}'

expect "nginx: key with keys:read" "$N/protected/secret.txt" 200 -H "X-API-Key: $k_read"
kg_expect_eq "nginx: key's method" "$(kg_header x-test-method)" api_key
expect "nginx: key without keys:read" "$N/protected/secret.txt" 403 -H "X-API-Key: $k_beta"
expect "nginx: key of project alpha" "$N/proj/alpha.txt" 200 -H "X-API-Key: $k_alpha"
expect "nginx: key of project beta only" "$N/proj/alpha.txt" 403 -H "X-API-Key: $k_beta"

# ---------------------------------------------------------------- revocation
expect "before logout (lighttpd)" "$L/protected/secret.txt" 200 -H "$(bearer "$s3")"
kg_request POST "$api/v1/auth/logout" -H "$(bearer "$s3")" -H "Content-Length: 0"
kg_expect_eq "logout ($KG_BODY)" "$KG_STATUS" 200
expect "lighttpd: ended session" "$L/protected/secret.txt" 401 -H "$(bearer "$s3")"
kg_expect_eq "lighttpd: ended session error" "$(printf '%s' "$KG_BODY" | jq -r .error)" token_revoked
expect "nginx: ended session" "$N/protected/secret.txt" 401 -H "$(bearer "$s3")"

# ---------------------------------------------------------------- keygate gone
# Neither web server serves the folder when it cannot ask.
kg_stop "$KG_FCGI_PID" 10
expect "lighttpd: keygate stopped" "$L/protected/secret.txt" 503 -H "$(bearer "$ADMIN")"
expect "nginx: keygate stopped" "$N/protected/secret.txt" 500 -H "$(bearer "$ADMIN")"
expect "lighttpd: unprotected file, keygate stopped" "$L/index.txt" 200

exit 0
