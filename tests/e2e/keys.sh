#!/usr/bin/env bash
# e2e/keys.sh: API keys (SPEC 6) and their token exchange and
# introspection (SPEC 5) through a real lighttpd + keygate-fcgi: the
# admin mints a key -> the key lists keys -> exchanges itself for a JWT
# -> the JWT calls whoami -> introspection -> revoke -> key_revoked (and
# its JWT token_revoked); then `keygate-admin key create|list|revoke`
# mints a key in the database that the service accepts at once.
set -u
. "$top_srcdir/tests/lib.sh"
kg_init
kg_require_prog curl lighttpd jq
kg_require_db

kg_service_up acme

# ---------------------------------------------------------------- the admin mints
as "$akey" POST /v1/keys -H 'X-Keygate-Namespace: acme' \
    -H 'Content-Type: application/json' --data-binary \
    '{"name":"ci","scopes":["keys:read","keys:write","introspect"],"expires_in":"30d"}'
expect "admin creates a key" 201
kg_expect_eq "no-store on the secret" "$(kg_header cache-control)" no-store
key=$(field .secret)
id=$(field .key.id)
prefix=$(field .key.prefix)
kg_expect_match "secret format" "$key" '^kg_sk_[a-z0-9]{8}_[0-9A-Za-z]{46}$'
kg_expect_eq "prefix is the id8" "$prefix" "${key:6:8}"

# ---------------------------------------------------------------- the key at work
as "$key" GET /v1/keys
expect "the key lists keys" 200
kg_expect_eq "one key listed" "$(field '.items | length')" 1
kg_expect_eq "no secret in lists" "$(printf '%s' "$KG_BODY" | grep -c "$key")" 0
as "$key" GET "/v1/keys/$id"
expect "get by id" 200
kg_expect_eq "get prefix" "$(field .prefix)" "$prefix"
as "$key" GET /v1/auth/whoami
kg_expect_eq "whoami method" "$(field .method)" api_key
kg_expect_eq "whoami subject" "$(field .subject)" "key:$prefix"
kg_request GET "$url/v1/auth/whoami" -H "X-API-Key: $key"
kg_expect_eq "X-API-Key accepted" "$(field .method)" api_key
# The last character changed (never to itself): the checksum fails.
case $key in *x) bad=${key%?}y ;; *) bad=${key%?}x ;; esac
kg_request GET "$url/v1/auth/whoami" -H "Authorization: ApiKey $bad"
expect "bad checksum" 401 invalid_token

as "$key" POST /v1/auth/token -H 'Content-Length: 0'
expect "token exchange" 200
kg_expect_eq "exchange no-store" "$(kg_header cache-control)" no-store
jwt=$(field .access_token)
kg_expect_eq "exchange scope" "$(field .scope)" "keys:read keys:write introspect"
as "$jwt" GET /v1/auth/whoami
kg_expect_eq "JWT whoami method" "$(field .method)" jwt
kg_expect_eq "JWT whoami subject" "$(field .subject)" "key:$prefix"
kg_expect_eq "JWT whoami namespace" "$(field .namespace)" acme

as "$key" POST /v1/auth/introspect -H 'Content-Type: application/json' \
    --data-binary "{\"token\":\"$jwt\"}"
expect "introspect a JWT" 200
kg_expect_eq "JWT active" "$(field .active)" true
kg_expect_eq "JWT token_type" "$(field .token_type)" access_token
as "$key" POST /v1/auth/introspect \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-urlencode "token=$key"
kg_expect_eq "key active (form)" "$(field .active)" true
kg_expect_eq "key token_type" "$(field .token_type)" api_key
as "$key" POST /v1/auth/introspect -H 'Content-Type: application/json' \
    --data-binary '{"token":"nonsense"}'
kg_expect_eq "nonsense inactive" "$(field .active)" false

# ---------------------------------------------------------------- revoke
as "$akey" DELETE "/v1/keys/$id" -H 'X-Keygate-Namespace: acme'
expect "revoke" 200
kg_expect_eq "revoke id" "$(field .id)" "$id"
as "$akey" DELETE "/v1/keys/$id" -H 'X-Keygate-Namespace: acme'
expect "revoke again" 404 not_found
as "$key" GET /v1/keys
expect "revoked key" 401 key_revoked
as "$jwt" GET /v1/auth/whoami
expect "revoked key's JWT" 401 token_revoked

# ---------------------------------------------------------------- keygate-admin key
out=$("$admin" -c "$conf" key create --namespace acme --name cli \
    --scopes "keys:read projects:read" --expires never --project p1 \
    2>"$KG_TMP/admin.err") || kg_fail "key create: $(cat "$KG_TMP/admin.err")"
kg_expect_match "admin key secret" "$out" '^kg_sk_[a-z0-9]{8}_[0-9A-Za-z]{46}$'
as "$out" GET /v1/keys
expect "admin-made key works" 200
kg_expect_eq "admin-made key listed" "$(field '.items[0].prefix')" "${out:6:8}"
kg_expect_eq "admin-made key projects" "$(field '.items[0].project_ids[0]')" p1
"$admin" -c "$conf" key create --namespace acme --name x --scopes operator.write \
    >/dev/null 2>&1 && kg_fail "operator.write accepted by key create"
"$admin" -c "$conf" key create --namespace nosuch --name x --scopes keys:read \
    >/dev/null 2>&1 && kg_fail "key create in a missing namespace"
list=$("$admin" -c "$conf" --json key list --namespace acme --all) ||
	kg_fail "key list failed"
kg_expect_eq "admin list (all)" "$(printf '%s' "$list" | jq length)" 2
id2=$(printf '%s' "$list" | jq -r --arg p "${out:6:8}" '.[] | select(.prefix == $p) | .id')
"$admin" -c "$conf" key revoke --namespace acme "$id2" >/dev/null ||
	kg_fail "key revoke failed"
as "$out" GET /v1/keys
expect "admin-revoked key" 401 key_revoked
"$admin" -c "$conf" key revoke --namespace acme "$id2" >/dev/null 2>&1 &&
	kg_fail "second revoke succeeded"
n=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM audit_events WHERE action IN ('key_create','key_revoke')")
kg_expect_eq "audit rows" "$n" 4

# keygate-admin key revoke ends the key's access tokens at once, too.
k3=$("$admin" -c "$conf" key create --namespace acme --name cli2 \
    --scopes "keys:read keys:write" --expires never 2>"$KG_TMP/admin.err") ||
	kg_fail "key create: $(cat "$KG_TMP/admin.err")"
as "$k3" POST /v1/auth/token -H 'Content-Length: 0'
expect "exchange (admin-made key)" 200
jwt3=$(field .access_token)
as "$jwt3" GET /v1/auth/whoami
expect "its JWT works" 200
id3=$("$admin" -c "$conf" --json key list --namespace acme |
    jq -r --arg p "${k3:6:8}" '.[] | select(.prefix == $p) | .id')
"$admin" -c "$conf" key revoke --namespace acme "$id3" >/dev/null ||
	kg_fail "key revoke failed"
as "$jwt3" GET /v1/auth/whoami
expect "admin-revoked key's JWT" 401 token_revoked

# limit (SPEC 1): clamped above 500 however long, else 400.
as "$akey" GET "/v1/keys?limit=100000000000000000000" -H 'X-Keygate-Namespace: acme'
expect "huge limit clamped" 200
as "$akey" GET "/v1/keys?limit=0" -H 'X-Keygate-Namespace: acme'
expect "limit=0" 400 invalid_request

# A refused mint is audited (SPEC 9).
k4=$("$admin" -c "$conf" key create --namespace acme --name w \
    --scopes keys:write --expires never 2>"$KG_TMP/admin.err") ||
	kg_fail "key create: $(cat "$KG_TMP/admin.err")"
as "$k4" POST /v1/keys -H 'Content-Type: application/json' \
    --data-binary '{"name":"x","scopes":["admin"]}'
expect "escalation" 403 scope_escalation
n=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM audit_events WHERE action = 'key_create' AND outcome = 'denied' AND actor = '${k4:6:8}'")
kg_expect_eq "denied audit row" "$n" 1

exit 0
