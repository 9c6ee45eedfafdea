#!/usr/bin/env bash
# e2e/enroll.sh: enrollment (SPEC 7) through a real lighttpd +
# keygate-fcgi: the admin mints an install token -> a daemon exchanges
# it for a daemon token -> whoami and heartbeat -> the admin lists and
# revokes it -> the daemon gets 401; a second exchange of the same
# install token is install_token_already_used; `keygate-admin
# install-token create` mints a token the service exchanges at once.
set -u
. "$top_srcdir/tests/lib.sh"
kg_init
kg_require_prog curl lighttpd jq
kg_require_db

kg_service_up acme beta
exchange() {	# exchange TOKEN DAEMON_ID
	kg_request POST "$url/v1/install-tokens/exchange" \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"token\":\"$1\",\"daemon_id\":\"$2\"}"
}

# ---------------------------------------------------------------- the admin mints
as "$akey" POST /v1/namespaces/acme/install-tokens -H 'Content-Length: 0'
expect "admin mints an install token" 201
kg_expect_eq "no-store on the install token" "$(kg_header cache-control)" no-store
itok=$(field .token)
kg_expect_match "install token format" "$itok" '^mit_[0-9a-f]{40}$'
kg_expect_eq "install token namespace" "$(field .namespace)" acme

# ---------------------------------------------------------------- the daemon enrolls
exchange "$itok" ""
expect "blank daemon id" 400 daemon_id_required
exchange "${itok%?}" host-1
expect "malformed install token" 400 invalid_install_token
exchange "$itok" host-1
expect "exchange" 200
kg_expect_eq "no-store on the daemon token" "$(kg_header cache-control)" no-store
dtok=$(field .token)
kg_expect_match "daemon token format" "$dtok" '^mdt_[0-9a-f]{40}$'
kg_expect_eq "daemon id" "$(field .daemon_id)" host-1
kg_expect_eq "daemon namespace" "$(field .namespace)" acme
kg_expect_eq "daemon tokens do not expire" "$(field .expires_at)" 9999-12-31T00:00:00Z
exchange "$itok" host-1
expect "second exchange" 401 install_token_already_used

as "$dtok" GET /v1/daemon/whoami
expect "daemon whoami" 200
kg_expect_eq "whoami daemon id" "$(field .daemon_id)" host-1
did=$(field .id)
as "$dtok" GET /v1/auth/whoami
expect "auth whoami" 200
kg_expect_eq "auth whoami method" "$(field .method)" daemon_token
kg_expect_eq "auth whoami subject" "$(field .subject)" "daemon:$did"
kg_expect_eq "last_seen_at before heartbeat" "$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM daemon_tokens WHERE last_seen_at IS NULL")" 1
as "$dtok" POST /v1/daemon/heartbeat -H 'Content-Length: 0'
expect "heartbeat" 200
kg_expect_eq "last_seen_at recorded" "$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM daemon_tokens WHERE last_seen_at IS NOT NULL")" 1
as "$dtok" GET /v1/keys
expect "daemon token elsewhere" 403 forbidden
as "$akey" GET /v1/daemon/whoami -H 'X-Keygate-Namespace: acme'
expect "admin key on a daemon route" 403 forbidden
as "$itok" GET /v1/daemon/whoami
expect "install token on a daemon route" 401 invalid_token

# ---------------------------------------------------------------- the admin revokes
as "$akey" GET /v1/namespaces/acme/daemon-tokens
expect "list" 200
kg_expect_eq "one daemon token listed" "$(field '.items | length')" 1
kg_expect_eq "listed id" "$(field '.items[0].id')" "$did"
kg_expect_eq "no token in lists" "$(printf '%s' "$KG_BODY" | grep -c "${dtok#mdt_}")" 0
as "$akey" DELETE "/v1/namespaces/acme/daemon-tokens/$did"
expect "revoke" 200
as "$dtok" GET /v1/daemon/whoami
expect "revoked daemon token" 401 invalid_token
as "$dtok" POST /v1/daemon/heartbeat -H 'Content-Length: 0'
expect "revoked daemon heartbeat" 401 invalid_token
as "$akey" DELETE "/v1/namespaces/acme/daemon-tokens/$did"
expect "revoke again" 404 not_found

# ---------------------------------------------------------------- keygate-admin install-token
out=$("$admin" -c "$conf" install-token create --namespace acme \
    2>"$KG_TMP/admin.err") || kg_fail "install-token create: $(cat "$KG_TMP/admin.err")"
kg_expect_match "admin install token" "$out" '^mit_[0-9a-f]{40}$'
exchange "$out" host-2
expect "admin-made install token exchanges" 200
d2=$(field .token)
as "$d2" POST /v1/daemon/heartbeat -H 'Content-Length: 0'
expect "second daemon heartbeat" 200
kg_expect_eq "second daemon id" "$(field .daemon_id)" host-2
j=$("$admin" -c "$conf" --json install-token create --namespace acme) ||
	kg_fail "install-token create --json failed"
kg_expect_match "json install token" "$(printf '%s' "$j" | jq -r .token)" '^mit_[0-9a-f]{40}$'
"$admin" -c "$conf" install-token create --namespace nosuch >/dev/null 2>&1 &&
	kg_fail "install-token create in a missing namespace"
"$admin" -c "$conf" install-token create >/dev/null 2>&1 &&
	kg_fail "install-token create without a namespace"

# ---------------------------------------------------------------- audit
n=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM audit_events WHERE namespace = 'acme' AND outcome = 'ok' AND action IN ('install_token_create','install_token_exchange','daemon_token_revoke')")
kg_expect_eq "audit rows" "$n" 6
for s in "${itok#mit_}" "${dtok#mdt_}" "${out#mit_}" "${d2#mdt_}"; do
	n=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM audit_events WHERE CONCAT_WS('|', actor, target) LIKE '%${s:0:8}%'")
	kg_expect_eq "no secret in audit" "$n" 0
done

exit 0
