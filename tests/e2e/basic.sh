#!/usr/bin/env bash
# e2e/basic.sh: the foundation's contract through a real lighttpd and curl:
# /health, /ready (200, and 503 for an unmigrated or unreachable database),
# /openapi.json served byte for byte, /docs, 404, 405 with Allow, 413, the
# generic response headers, mounting under a sub-path, and plain CGI mode.
set -u
. "$top_srcdir/tests/lib.sh"
kg_init
kg_require_prog curl lighttpd
kg_require_db

admin=$top_builddir/keygate-admin
fcgi=$top_builddir/keygate-fcgi

# ---------------------------------------------------------------- set-up
kg_db_create
db=$KG_DB
fport=$(kg_free_port)
conf=$KG_TMP/keygate.conf
kg_write_config "$conf" "listen = tcp:127.0.0.1:$fport" "workers = 2" \
    "max_body = 64k"
kg_db_config_lines "$db" >>"$conf"

"$admin" -c "$conf" migrate --schema-dir "$top_srcdir/schema" >"$KG_TMP/migrate.log" 2>&1 ||
	kg_error "migrate failed: $(cat "$KG_TMP/migrate.log")"
kg_start_fcgi "$conf"
kg_start_lighttpd 127.0.0.1 "$fport"
kg_wait_http "$KG_HTTP_URL/health" || kg_fail "/health never answered"
url=$KG_HTTP_URL

# ---------------------------------------------------------------- /health
kg_request GET "$url/health"
kg_expect_eq "/health status" "$KG_STATUS" 200
kg_expect_eq "/health body" "$KG_BODY" '{"status":"ok"}'
kg_expect_eq "/health content-type" "$(kg_header content-type)" \
    "application/json; charset=utf-8"
kg_expect_eq "/health nosniff" "$(kg_header x-content-type-options)" nosniff

# ---------------------------------------------------------------- /ready
kg_request GET "$url/ready"
kg_expect_eq "/ready status" "$KG_STATUS" 200
kg_expect_eq "/ready body" "$KG_BODY" '{"status":"ready","schema_version":3}'

# ---------------------------------------------------------------- 404 / 405
kg_request GET "$url/no/such/path"
kg_expect_eq "404 status" "$KG_STATUS" 404
kg_expect_eq "404 body" "$KG_BODY" \
    '{"error":"not_found","message":"No such endpoint."}'
kg_expect_eq "404 content-type" "$(kg_header content-type)" \
    "application/json; charset=utf-8"

kg_request GET "$url/health/"
kg_expect_eq "trailing slash is another path" "$KG_STATUS" 404

kg_request POST "$url/health" -H 'Content-Type: application/json' --data '{}'
kg_expect_eq "405 status" "$KG_STATUS" 405
kg_expect_match "405 body" "$KG_BODY" '^\{"error":"method_not_allowed","message":"[^"]+"\}$'
kg_expect_eq "405 Allow" "$(kg_header allow)" GET

kg_request DELETE "$url/ready"
kg_expect_eq "405 on /ready" "$KG_STATUS" 405

# ---------------------------------------------------------------- 413
# lighttpd itself answers 400 to a GET with a body, and no POST route exists
# yet, so the body limit is driven over FastCGI by cgi-fcgi (libfcgi's own
# client) straight at keygate-fcgi: the same records a web server sends.
fcgi_req() {	# fcgi_req METHOD PATH BODYFILE [CONTENT_LENGTH] -> raw response
	local len=${4:-$(stat -c %s "$3")}
	env -i PATH="$PATH" REQUEST_METHOD="$1" SCRIPT_NAME= PATH_INFO="$2" \
	    REQUEST_URI="$2" CONTENT_LENGTH="$len" CONTENT_TYPE=application/json \
	    SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 \
	    timeout 10 cgi-fcgi -bind -connect "127.0.0.1:$fport" <"$3" | tr -d '\r'
}
kg_require_prog cgi-fcgi
head -c 65537 /dev/zero | tr '\0' 'a' >"$KG_TMP/big.body"
head -c 65536 /dev/zero | tr '\0' 'a' >"$KG_TMP/max.body"
out=$(fcgi_req GET /health "$KG_TMP/big.body")
kg_expect_match "413 status" "$out" '^Status: 413'
kg_expect_match "413 body" "$out" '\{"error":"body_too_large","message":"[^"]+"\}$'
# Exactly max_body is not refused for its size.
out=$(fcgi_req GET /health "$KG_TMP/max.body")
kg_expect_match "max_body exactly" "$out" '^Status: 200'
# A Content-Length over the limit is refused before the body is read.
out=$(fcgi_req GET /health /dev/null 10000000)
kg_expect_match "413 by Content-Length" "$out" '^Status: 413'
# 404 and 405 come before 413 (the gate's order).
out=$(fcgi_req GET /nope "$KG_TMP/big.body")
kg_expect_match "404 before 413" "$out" '^Status: 404'
out=$(fcgi_req POST /health "$KG_TMP/big.body")
kg_expect_match "405 before 413" "$out" '^Status: 405'
kg_request GET "$url/health"
kg_expect_eq "still serving after 413" "$KG_STATUS" 200

# ---------------------------------------------------------------- documents
kg_curl -o "$KG_TMP/openapi.json" "$url/openapi.json" ||
	kg_fail "/openapi.json not served"
cmp -s "$KG_TMP/openapi.json" "$top_srcdir/core/api/openapi.json" ||
	kg_fail "/openapi.json differs from core/api/openapi.json"
kg_request GET "$url/docs"
kg_expect_eq "/docs status" "$KG_STATUS" 200
kg_expect_eq "/docs content-type" "$(kg_header content-type)" "text/html; charset=utf-8"
kg_expect_match "/docs lists /ready" "$KG_BODY" '<code>/ready</code>'

# ---------------------------------------------------------------- access log
# One line per request, without the query string value.
kg_request GET "$url/health?secret=do-not-log-me"
sleep 0.3
grep -q 'access GET /health 200' "$KG_FCGI_LOG" || kg_fail "no access line for /health"
grep -q 'do-not-log-me' "$KG_FCGI_LOG" && kg_fail "a query string value reached the log"

# ---------------------------------------------------------------- sub-path
# The same binary mounted at /auth: lighttpd hands /auth... to a keygate
# whose base_path is /auth.
fport2=$(kg_free_port)
conf2=$KG_TMP/keygate-auth.conf
kg_write_config "$conf2" "listen = tcp:127.0.0.1:$fport2" "workers = 1" \
    "base_path = /auth"
kg_db_config_lines "$db" >>"$conf2"
KG_FCGI_LOG=$KG_TMP/fcgi-auth.log kg_start_fcgi "$conf2"
KG_TMP_SAVE=$KG_TMP
mkdir -p "$KG_TMP/auth" && KG_TMP=$KG_TMP/auth
kg_start_lighttpd 127.0.0.1 "$fport2" /auth
KG_TMP=$KG_TMP_SAVE
sub=$KG_HTTP_URL
kg_wait_http "$sub/auth/health" || kg_fail "/auth/health never answered"
kg_request GET "$sub/auth/ready"
kg_expect_eq "/auth/ready" "$KG_STATUS" 200
kg_request GET "$sub/auth/nope"
kg_expect_eq "/auth/nope" "$KG_STATUS" 404
kg_request POST "$sub/auth/health" -H "Content-Type: application/json" --data "{}"
kg_expect_eq "/auth/health POST" "$KG_STATUS" 405
# lighttpd's prefix match also hands /authx/... over: it is not under the
# mount, so keygate must not route it as /health.
kg_request GET "$sub/authx/health"
kg_expect_eq "/authx/health is not /health" "$KG_STATUS" 404

# ---------------------------------------------------------------- start-up refusals
# Without signing keys the service refuses to start (SPEC 5), at -t too.
kg_write_config "$KG_TMP/nosecret.conf" "jwt_alg = HS256"
if "$fcgi" -t -c "$KG_TMP/nosecret.conf" >"$KG_TMP/nosecret.out" 2>&1; then
	kg_fail "-t accepted a configuration without jwt_secret"
fi
kg_expect_match "no jwt_secret: reason" "$(cat "$KG_TMP/nosecret.out")" 'jwt_secret'
kg_write_config "$KG_TMP/short.conf" "jwt_secret = only-31-bytes-long-0123456789ab"
"$fcgi" -t -c "$KG_TMP/short.conf" >"$KG_TMP/short.out" 2>&1 &&
	kg_fail "-t accepted a 31-byte jwt_secret"
grep -q "only-31" "$KG_TMP/short.out" && kg_fail "a secret reached the output"

# ---------------------------------------------------------------- /ready fails closed
# Plain CGI mode (one request, then exit) against an unmigrated database
# and against an unreachable one: 503 with a reason and Retry-After.
cgi() {	# cgi CONFIG PATH -> stdout of one CGI request
	env -i PATH="$PATH" KEYGATE_CONFIG="$1" GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_METHOD=GET SCRIPT_NAME= PATH_INFO="$2" REQUEST_URI="$2" \
	    SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 "$fcgi" </dev/null 2>>"$KG_TMP/cgi.log"
}
kg_db_create
empty=$KG_DB
conf3=$KG_TMP/keygate-empty.conf
kg_write_config "$conf3"
kg_db_config_lines "$empty" >>"$conf3"
out=$(cgi "$conf3" /ready | tr -d '\r')
kg_expect_match "unmigrated: status" "$out" '^Status: 503'
kg_expect_match "unmigrated: Retry-After" "$out" 'Retry-After: [0-9]+'
kg_expect_match "unmigrated: body" "$out" \
    '\{"status":"unavailable","error":"unavailable","message":"schema version 0, expected 3: run keygate-admin migrate"\}'

conf4=$KG_TMP/keygate-nodb.conf
kg_write_config "$conf4" "db_socket = $KG_TMP/no-such.sock" "db_user = root" \
    "db_connect_timeout = 1"
out=$(cgi "$conf4" /ready | tr -d '\r')
kg_expect_match "no database: status" "$out" '^Status: 503'
kg_expect_match "no database: body" "$out" \
    '"status":"unavailable","error":"unavailable","message":"database unreachable"'
out=$(cgi "$conf4" /health | tr -d '\r')
kg_expect_match "no database: /health still 200" "$out" '^Status: 200'

kg_log "PASS"
exit 0
