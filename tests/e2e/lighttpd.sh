#!/usr/bin/env bash
# e2e/lighttpd.sh: keygate's API under a real lighttpd with the shipped
# conf/lighttpd/keygate.conf (placeholders filled in, one of its blocks
# kept, nothing else changed), the smoke suite (tests/e2e/smoke.sh)
# through each of:
#
#   (1) "tcp": a standalone keygate on TCP, mounted at "/";
#   (2) "unix": a standalone keygate on a unix socket, mounted under /auth/
#       (base_path = /auth; /authx/ is not keygate's);
#   (3) "spawned": lighttpd starts keygate-fcgi itself (bin-path, its
#       listening socket on fd 0), mounted under /auth/.
#
# lighttpd as FastCGI authorizer (conf/lighttpd/keygate-authorizer.conf)
# is tests/e2e/authorizer.sh.
set -u
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/smoke.sh"
kg_init
kg_require_prog curl lighttpd node npm jq ps
kg_require_db
kg_signer_init
begin=$SECONDS
snippet=$top_srcdir/conf/lighttpd/keygate.conf

kg_service_db

# ---------------------------------------------------------------- (1) tcp, "/"
fport=$(kg_free_port)
kg_keygate_conf "$KG_TMP/keygate-tcp.conf" "listen = tcp:127.0.0.1:$fport" \
    "workers = 2"
KG_FCGI_LOG=$KG_TMP/fcgi-tcp.log
kg_start_fcgi "$KG_TMP/keygate-tcp.conf"
kg_conf_fill "$snippet" "$KG_TMP/tcp.conf" tcp -- PREFIX=/ \
    KEYGATE_HOST=127.0.0.1 KEYGATE_PORT="$fport"
kg_start_lighttpd_conf "$KG_TMP/tcp.conf"
kg_smoke "lighttpd responder, standalone keygate on TCP, at /" "$KG_HTTP_URL"
kg_stop "$KG_LIGHTTPD_PID"
kg_stop "$KG_FCGI_PID" 10

# ---------------------------------------------------------------- (2) unix, /auth/
conf_auth=$KG_TMP/keygate-auth.conf
kg_keygate_conf "$conf_auth" "listen = unix:$KG_TMP/keygate.sock" \
    "workers = 2" "base_path = /auth"
KG_FCGI_LOG=$KG_TMP/fcgi-unix.log
kg_start_fcgi "$conf_auth"
kg_conf_fill "$snippet" "$KG_TMP/unix.conf" unix -- PREFIX=/auth \
    KEYGATE_SOCKET="$KG_TMP/keygate.sock"
kg_start_lighttpd_conf "$KG_TMP/unix.conf"
kg_smoke "lighttpd responder, standalone keygate on a unix socket, under /auth/" \
    "$KG_HTTP_URL/auth"
# Only under the prefix: lighttpd hands /authx/ to keygate too (a prefix
# match), which must not take it for /auth/.
kg_request GET "$KG_HTTP_URL/authx/health"
kg_expect_eq "lighttpd under /auth/: /authx/health ($KG_BODY)" "$KG_STATUS" 404
kg_request GET "$KG_HTTP_URL/health"
kg_expect_eq "lighttpd under /auth/: /health" "$KG_STATUS" 404
kg_stop "$KG_LIGHTTPD_PID"
kg_stop "$KG_FCGI_PID" 10

# ---------------------------------------------------------------- (3) spawned, /auth/
mkdir -p "$KG_TMP/run" || kg_error "cannot create $KG_TMP/run"
kg_conf_fill "$snippet" "$KG_TMP/spawned.conf" spawned -- PREFIX=/auth \
    RUNDIR="$KG_TMP/run" KEYGATE_FCGI="$top_builddir/keygate-fcgi" \
    KEYGATE_CONF="$conf_auth"
kg_start_lighttpd_conf "$KG_TMP/spawned.conf"
kg_smoke "lighttpd responder, keygate spawned by lighttpd (fd 0), under /auth/" \
    "$KG_HTTP_URL/auth"
spawned=$(ps -o pid=,comm= --ppid "$KG_LIGHTTPD_PID" | awk '$2 == "keygate-fcgi" { print $1 }')
[ -n "$spawned" ] || kg_fail "spawned: no keygate-fcgi child of lighttpd"
# Nothing else answers there: the standalone keygates are gone.
kill -0 "$KG_FCGI_PID" 2>/dev/null && kg_fail "spawned: a standalone keygate still runs"
kg_stop "$KG_LIGHTTPD_PID" 10
kg_wait_gone "$spawned" 5 || kg_fail "spawned: keygate-fcgi $spawned outlived lighttpd"

echo "lighttpd: tcp at /, unix under /auth/, spawned under /auth/ passed in $((SECONDS - begin)) s"
exit 0
