#!/usr/bin/env bash
# e2e/apache.sh: keygate under a real Apache httpd with the shipped
# conf/apache/ snippets (placeholders filled in, nothing else changed),
# each set-up mounted under /auth/ (keygate's base_path = /auth):
#
#   (1) mod_fcgid: Apache starts keygate-fcgi itself (its listening socket
#       on fd 0): the smoke suite (tests/e2e/smoke.sh).
#   (2) mod_proxy_fcgi to a standalone keygate on a unix socket: the smoke
#       suite.
#   (3) mod_authnz_fcgi, in the same Apache as (2): a standalone keygate on
#       TCP as the FastCGI authorizer of static folders and a CGI script,
#       the requirements per location: 200 with a credential holding the
#       scope (Bearer session, Bearer / ApiKey / X-API-Key API keys), 401
#       without or with a bad one, 403 without the scope, project or
#       namespace; keygate's Variable-KEYGATE_* answers reach the CGI
#       script as KEYGATE_SUBJECT, ... and REMOTE_USER is the subject;
#       with keygate stopped nothing protected is served.
#
# The smoke suite's whoami with a Bearer token proves that the
# Authorization header reaches keygate (CGIPassAuth On in the snippets):
# without it keygate would answer {"authenticated":false}.
#
# Run by root, Apache's children run as www-data (kg_apache_user): the
# keygate that mod_fcgid starts reads a config owned by that user, and the
# unix-socket keygate runs as that user so that its 0660 socket is theirs.
set -u
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/smoke.sh"
# The smoke suite signs in to acme first: its wallet owns the namespace.
KG_SMOKE_NS=acme
kg_init
kg_require_prog curl apache2 node npm jq ps runuser
kg_require_db
kg_signer_init
begin=$SECONDS

# ---------------------------------------------------------------- keygate
kg_apache_user
# What Apache's user runs and connects to must be where it can go.
fcgi_bin=$(kg_apache_reachable_fcgi) || exit 99
kg_apache_reachable_db
kg_service_db
run=$KG_TMP/run
{ mkdir -p "$run" && chmod 755 "$run"; } || kg_error "cannot create $run"

# A: TCP, the authorizer's (mod_authnz_fcgi speaks TCP only); its config
# is also the one mod_fcgid's keygate reads.
aport=$(kg_free_port)
conf=$KG_TMP/keygate.conf
kg_keygate_conf "$conf" "listen = tcp:127.0.0.1:$aport" "workers = 2" \
    "base_path = /auth"
kg_apache_share "$conf"
KG_FCGI_LOG=$KG_TMP/fcgi-tcp.log
kg_start_fcgi "$conf"
pid_tcp=$KG_FCGI_PID

# B: a unix socket, for mod_proxy_fcgi.
sock=$run/keygate.sock
conf_unix=$KG_TMP/keygate-unix.conf
kg_keygate_conf "$conf_unix" "listen = unix:$sock" "workers = 2" \
    "base_path = /auth" ${KG_APACHE_USER:+"user = $KG_APACHE_USER"}
KG_FCGI_LOG=$KG_TMP/fcgi-unix.log
kg_start_fcgi "$conf_unix"

# ---------------------------------------------------------------- (1) mod_fcgid
fcgid_run=$KG_TMP/fcgid-run
{ mkdir -p "$fcgid_run" && chmod 755 "$fcgid_run"; } ||
	kg_error "cannot create $fcgid_run"
kg_conf_fill "$top_srcdir/conf/apache/keygate-fcgid.conf" "$KG_TMP/fcgid.conf" -- \
    RUNDIR="$fcgid_run" KEYGATE_FCGI="$fcgi_bin" \
    KEYGATE_CONF="$conf" PREFIX=/auth
kg_start_apache "fcgid alias" "$KG_TMP/fcgid.conf"
kg_smoke "apache mod_fcgid (keygate started by Apache, socket on fd 0), under /auth/" \
    "$KG_APACHE_URL/auth"
# The requests were answered by a keygate-fcgi that Apache started.
spawned=$(ps -eo ppid=,pid=,comm= | awk -v top="$KG_APACHE_PID" '
    { parent[$2] = $1; name[$2] = $3 }
    END {
	for (p in name) {
		if (name[p] != "keygate-fcgi")
			continue
		for (q = parent[p]; q > 1; q = parent[q])
			if (q == top) { print p; break }
	}
    }')
[ -n "$spawned" ] || kg_fail "mod_fcgid: no keygate-fcgi under Apache (pid $KG_APACHE_PID)"
grep -q 'keygate-fcgi' "$KG_APACHE_LOG" ||
	kg_fail "mod_fcgid: keygate's log lines are not in Apache's error log"
kg_stop "$KG_APACHE_PID" 10
kg_wait_gone "$spawned" 5 ||
	kg_fail "mod_fcgid: keygate-fcgi $spawned outlived Apache"

# ---------------------------------------------------------------- (2)+(3)
kg_conf_fill "$top_srcdir/conf/apache/keygate-proxy-fcgi.conf" "$KG_TMP/proxy.conf" -- \
    PREFIX=/auth KEYGATE_SOCKET="$sock"
kg_conf_fill "$top_srcdir/conf/apache/keygate-authnz-fcgi.conf" "$KG_TMP/authnz.conf" -- \
    KEYGATE_HOST=127.0.0.1 KEYGATE_PORT="$aport"
# The test's own additions: .cgi files run as CGI scripts.
cat >"$KG_TMP/cgi.conf" <<'EOF'
<LocationMatch "\.cgi$">
	SetHandler cgi-script
	Options +ExecCGI
</LocationMatch>
EOF
docroot=$KG_TMP/htdocs
mkdir -p "$docroot/reports" "$docroot/builds/alpha" || kg_error "cannot create $docroot"
echo "public" >"$docroot/index.txt"
echo "the reports" >"$docroot/reports/q3.txt"
echo "project alpha" >"$docroot/builds/alpha/build.txt"
# A CGI application behind the authorizer: shows what it was handed.
cat >"$docroot/reports/env.cgi" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
env | grep -E '^(KEYGATE_|REMOTE_USER=)' | LC_ALL=C sort
EOF
{ chmod -R a+rX "$docroot" && chmod 755 "$docroot/reports/env.cgi"; } ||
	kg_error "chmod $docroot"
kg_start_apache "proxy proxy_fcgi authnz_fcgi authn_core setenvif cgi" \
    "$KG_TMP/proxy.conf" "$KG_TMP/authnz.conf" "$KG_TMP/cgi.conf"
A=$KG_APACHE_URL
kg_smoke "apache mod_proxy_fcgi (standalone keygate, unix socket), under /auth/" "$A/auth"

# Credentials of namespace acme, whose owner is the smoke suite's wallet: a
# member's session (track 1: projects:read), API keys with and without the
# scope.
K2=0x9da4fa466e97bb365a8208c2bd2cab7728c0aae789a12ee7e17567a765c8e696
kg_wallet_session "$A/auth" $K2 acme
kg_expect_eq "second wallet's track" "$KG_TRACK" 1
s2=$KG_ACCESS
a2=$(kg_eth_address $K2 | tr A-F a-f) || kg_error "the signer does not run"
mint() {	# mint SCOPES_JSON PROJECTS_JSON -> KEY, PREFIX
	kg_request POST "$A/auth/v1/keys" -H "Authorization: Bearer $akey" \
	    -H 'X-Keygate-Namespace: acme' -H 'Content-Type: application/json' \
	    --data-binary "{\"name\":\"authz\",\"scopes\":$1,\"project_ids\":$2,\"expires_in\":\"30d\"}"
	kg_expect_eq "mint $1 $2 ($KG_BODY)" "$KG_STATUS" 201
	KEY=$(printf '%s' "$KG_BODY" | jq -r .secret)
	PREFIX=$(printf '%s' "$KG_BODY" | jq -r .key.prefix)
}
mint '["projects:read"]' null
k_read=$KEY p_read=$PREFIX
mint '["keys:read"]' null
k_keys=$KEY
mint '["projects:read"]' '["beta"]'
k_beta=$KEY

# expect WHAT URL STATUS [CURL ARG...]: one GET; the protected content only
# with a 200.
expect() {
	local what="authnz_fcgi: $1" url=$2 want=$3
	shift 3
	kg_request GET "$url" "$@"
	kg_expect_eq "$what: status ($KG_BODY)" "$KG_STATUS" "$want"
	case $want in
	200) ;;
	*) case $KG_BODY in *"the reports"*|*"project alpha"*|*KEYGATE_SUBJECT*)
		kg_fail "$what: $want with the protected content" ;;
	   esac ;;
	esac
}
bearer() { printf 'Authorization: Bearer %s' "$1"; }

expect "unprotected file" "$A/index.txt" 200
expect "no credential" "$A/reports/q3.txt" 401
kg_expect_eq "authnz_fcgi: 401 error" "$(printf '%s' "$KG_BODY" | jq -r .error)" unauthenticated
kg_expect_eq "authnz_fcgi: 401 challenge" "$(kg_header www-authenticate)" Bearer
expect "bad token" "$A/reports/q3.txt" 401 -H "$(bearer x.y.z)"
expect "not a credential" "$A/reports/q3.txt" 401 -H 'Authorization: Basic dTpw'

expect "key with projects:read (Bearer)" "$A/reports/q3.txt" 200 -H "$(bearer "$k_read")"
kg_expect_eq "authnz_fcgi: the file itself" "$KG_BODY" "the reports"
kg_expect_eq "authnz_fcgi: no Variable- header to the client" \
    "$(printf '%s\n' "$KG_HEADERS" | grep -ci '^variable-')" 0
expect "key with projects:read (ApiKey)" "$A/reports/q3.txt" 200 \
    -H "Authorization: ApiKey $k_read"
expect "key with projects:read (X-API-Key)" "$A/reports/q3.txt" 200 -H "X-API-Key: $k_read"
expect "key without projects:read" "$A/reports/q3.txt" 403 -H "$(bearer "$k_keys")"
kg_expect_eq "authnz_fcgi: 403 error" "$(printf '%s' "$KG_BODY" | jq -r .error)" forbidden
expect "member session" "$A/reports/q3.txt" 200 -H "$(bearer "$s2")"
expect "admin key, namespace required" "$A/reports/q3.txt" 200 -H "$(bearer "$akey")"

# Per location: project alpha.
expect "key of project beta" "$A/builds/alpha/build.txt" 403 -H "$(bearer "$k_beta")"
expect "key of every project" "$A/builds/alpha/build.txt" 200 -H "$(bearer "$k_read")"
kg_expect_eq "authnz_fcgi: alpha content" "$KG_BODY" "project alpha"
expect "key of project beta, other folder" "$A/reports/q3.txt" 200 -H "$(bearer "$k_beta")"

# What the application behind is handed.
expect "CGI app, key" "$A/reports/env.cgi" 200 -H "$(bearer "$k_read")"
kg_expect_eq "authnz_fcgi: the app's variables" "$KG_BODY" "KEYGATE_METHOD=api_key
KEYGATE_NAMESPACE=acme
KEYGATE_REQUIRE_NAMESPACE=acme
KEYGATE_REQUIRE_SCOPE=projects:read
KEYGATE_SCOPES=projects:read
KEYGATE_SUBJECT=key:$p_read
REMOTE_USER=key:$p_read"
expect "CGI app, session" "$A/reports/env.cgi" 200 -H "$(bearer "$s2")"
printf '%s\n' "$KG_BODY" | grep -qx "KEYGATE_SUBJECT=$a2" ||
	kg_fail "authnz_fcgi: session's variables: $KG_BODY"
printf '%s\n' "$KG_BODY" | grep -qx 'KEYGATE_METHOD=jwt' ||
	kg_fail "authnz_fcgi: session's variables: $KG_BODY"
expect "CGI app, no credential" "$A/reports/env.cgi" 401
grep -q "\"GET /reports/env.cgi HTTP/1.1\" 200" "$KG_APACHE_DIR.access.log" ||
	kg_fail "authnz_fcgi: the access log misses the request"
grep -q " key:$p_read \"GET /reports/q3.txt" "$KG_APACHE_DIR.access.log" ||
	kg_fail "authnz_fcgi: REMOTE_USER is not the subject in the access log"
echo "apache mod_authnz_fcgi (standalone keygate, TCP, FastCGI Authorizer): passed"

# Nothing protected is served when keygate cannot be asked.
kg_stop "$pid_tcp" 10
expect "keygate stopped" "$A/reports/q3.txt" 500 -H "$(bearer "$k_read")"
expect "unprotected file, keygate stopped" "$A/index.txt" 200

echo "apache: mod_fcgid, mod_proxy_fcgi, mod_authnz_fcgi passed in $((SECONDS - begin)) s"
exit 0
