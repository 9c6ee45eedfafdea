#!/usr/bin/env bash
# e2e/nginx.sh: keygate's API under a real nginx with the shipped
# conf/nginx/keygate.conf (placeholders filled in, nothing else changed),
# included twice in one server, the smoke suite (tests/e2e/smoke.sh)
# through each:
#
#   (1) location / -> a standalone keygate on TCP;
#   (2) location /auth/ -> a standalone keygate on a unix socket
#       (base_path = /auth): the longer prefix wins, so /auth/... is
#       this keygate's, and /auth/health is not the other's /health.
#
# nginx's auth_request set-up (conf/nginx/keygate-auth-request.conf) is
# tests/e2e/authorizer.sh.
set -u
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/smoke.sh"
kg_init
kg_require_prog curl nginx node npm jq
kg_require_db
kg_signer_init
begin=$SECONDS
snippet=$top_srcdir/conf/nginx/keygate.conf

kg_service_db

fport=$(kg_free_port)
kg_keygate_conf "$KG_TMP/keygate-tcp.conf" "listen = tcp:127.0.0.1:$fport" \
    "workers = 2"
KG_FCGI_LOG=$KG_TMP/fcgi-tcp.log
kg_start_fcgi "$KG_TMP/keygate-tcp.conf"
kg_keygate_conf "$KG_TMP/keygate-auth.conf" "listen = unix:$KG_TMP/keygate.sock" \
    "workers = 2" "base_path = /auth"
KG_FCGI_LOG=$KG_TMP/fcgi-unix.log
kg_start_fcgi "$KG_TMP/keygate-auth.conf"

kg_conf_fill "$snippet" "$KG_TMP/root.conf" -- PREFIX=/ \
    BACKEND="127.0.0.1:$fport"
kg_conf_fill "$snippet" "$KG_TMP/auth.conf" -- PREFIX=/auth/ \
    BACKEND="unix:$KG_TMP/keygate.sock"
printf 'include %s;\ninclude %s;\n' "$KG_TMP/root.conf" "$KG_TMP/auth.conf" \
    >"$KG_TMP/server.conf"
kg_start_nginx "$KG_TMP/server.conf"

kg_smoke "nginx fastcgi_pass, standalone keygate on TCP, at /" "$KG_NGINX_URL"
kg_smoke "nginx fastcgi_pass, standalone keygate on a unix socket, under /auth/" \
    "$KG_NGINX_URL/auth"
# Each location reached its own keygate: the session keys were minted by
# each (their log lines), and /auth/... went to the second.
grep -q 'api key .* created' "$KG_TMP/fcgi-tcp.log" ||
	kg_fail "the TCP keygate answered nothing"
grep -q 'api key .* created' "$KG_TMP/fcgi-unix.log" ||
	kg_fail "the unix-socket keygate answered nothing"
# nginx itself redirects the prefix without its slash.
kg_request GET "$KG_NGINX_URL/auth"
kg_expect_eq "nginx: /auth" "$KG_STATUS" 301
kg_expect_match "nginx: /auth redirect" "$(kg_header location)" '/auth/$'

echo "nginx: fastcgi_pass at / (TCP) and under /auth/ (unix socket) passed in $((SECONDS - begin)) s"
exit 0
