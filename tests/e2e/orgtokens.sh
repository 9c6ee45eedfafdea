#!/usr/bin/env bash
# e2e/orgtokens.sh: org tokens (SPEC 8) through a real lighttpd +
# keygate-fcgi: the admin mints an org token -> the token lists keys and
# mints an API key in its namespace -> 403 on another namespace's routes
# -> it mints and lists org tokens -> revoke -> 401 invalid_token, the
# same body as an unknown token; then `keygate-admin org-token
# create|list|revoke` against the same database.
set -u
. "$top_srcdir/tests/lib.sh"
kg_init
kg_require_prog curl lighttpd jq
kg_require_db

kg_service_up acme beta

# ---------------------------------------------------------------- the admin mints
as "$akey" POST /v1/namespaces/acme/org-tokens \
    -H 'Content-Type: application/json' --data-binary '{"name":"ci"}'
expect "admin mints an org token" 201
kg_expect_eq "no-store on the token" "$(kg_header cache-control)" no-store
ot=$(field .token)
otid=$(field .id)
prefix=$(field .prefix)
kg_expect_match "token format" "$ot" '^kg_ot_[a-z0-9]{8}_[0-9A-Za-z]{46}$'
kg_expect_eq "prefix is the id8" "$prefix" "${ot:6:8}"
kg_expect_eq "name" "$(field .name)" ci

# ---------------------------------------------------------------- the token at work
as "$ot" GET /v1/auth/whoami
kg_expect_eq "whoami method" "$(field .method)" org_token
kg_expect_eq "whoami subject" "$(field .subject)" "org:$prefix"
kg_expect_eq "whoami namespace" "$(field .namespace)" acme
kg_expect_eq "whoami scopes" "$(field '.scopes | join(" ")')" admin
as "$ot" GET /v1/keys
expect "the org token lists keys" 200
as "$ot" POST /v1/keys -H 'Content-Type: application/json' \
    --data-binary '{"name":"from-org","scopes":["keys:read"],"expires_in":"30d"}'
expect "the org token mints an API key" 201
kg_expect_eq "key created_by" "$(field .key.created_by)" "org:$prefix"
kg_expect_eq "key namespace" "$(field .key.namespace)" acme
key=$(field .secret)
as "$key" GET /v1/keys
expect "its key works" 200

# ---------------------------------------------------------------- other namespaces
as "$ot" GET /v1/namespaces/beta/org-tokens
expect "other namespace: list" 403 forbidden
as "$ot" POST /v1/namespaces/beta/org-tokens -H 'Content-Length: 0'
expect "other namespace: mint" 403 forbidden
as "$ot" GET /v1/namespaces/beta/members
expect "other namespace: members" 403 forbidden
as "$key" GET /v1/namespaces/acme/org-tokens
expect "a key without admin" 403 forbidden

# ---------------------------------------------------------------- org tokens by an org token
as "$ot" POST /v1/namespaces/acme/org-tokens -H 'Content-Length: 0'
expect "the org token mints an org token" 201
ot2=$(field .token)
kg_expect_eq "unnamed" "$(field .name)" null
as "$ot2" GET /v1/namespaces/acme/org-tokens
expect "list" 200
kg_expect_eq "two live tokens" "$(field '.items | length')" 2
kg_expect_eq "newest first" "$(field '.items[0].prefix')" "${ot2:6:8}"
kg_expect_eq "created_by" "$(field '.items[0].created_by')" "org:$prefix"
kg_expect_eq "no token in lists" "$(printf '%s' "$KG_BODY" | grep -c kg_ot_)" 0

# ---------------------------------------------------------------- revoke
as "$ot2" DELETE "/v1/namespaces/acme/org-tokens/$otid"
expect "revoke" 200
kg_expect_eq "revoke id" "$(field .id)" "$otid"
as "$ot2" DELETE "/v1/namespaces/acme/org-tokens/$otid"
expect "revoke again" 404 not_found
as "$ot" GET /v1/keys
expect "revoked token" 401 invalid_token
revoked=$KG_BODY
# Well formed but unknown: minted, then its row deleted.
unknown=$("$admin" -c "$conf" org-token create --namespace acme 2>/dev/null) ||
	kg_fail "org-token create failed"
kg_sql "$KG_DB" -e "DELETE FROM org_tokens WHERE id8 = '${unknown:6:8}'" ||
	kg_error "cannot delete the row"
as "$unknown" GET /v1/keys
expect "unknown token" 401 invalid_token
kg_expect_eq "revoked and unknown alike" "$revoked" "$KG_BODY"

# ---------------------------------------------------------------- keygate-admin org-token
out=$("$admin" -c "$conf" org-token create --namespace acme --name cli \
    2>"$KG_TMP/admin.err") || kg_fail "org-token create: $(cat "$KG_TMP/admin.err")"
kg_expect_match "admin token format" "$out" '^kg_ot_[a-z0-9]{8}_[0-9A-Za-z]{46}$'
as "$out" GET /v1/namespaces/acme/org-tokens
expect "admin-made token works" 200
kg_expect_eq "admin-made token listed first" "$(field '.items[0].prefix')" "${out:6:8}"
kg_expect_eq "admin-made token name" "$(field '.items[0].name')" cli
"$admin" -c "$conf" org-token create --namespace nosuch >/dev/null 2>&1 &&
	kg_fail "org-token create in a missing namespace"
list=$("$admin" -c "$conf" --json org-token list --namespace acme) ||
	kg_fail "org-token list failed"
kg_expect_eq "admin list: live only" "$(printf '%s' "$list" | jq length)" 2
id3=$(printf '%s' "$list" | jq -r --arg p "${out:6:8}" '.[] | select(.prefix == $p) | .id')
"$admin" -c "$conf" org-token revoke --namespace beta "$id3" >/dev/null 2>&1 &&
	kg_fail "revoke through another namespace succeeded"
"$admin" -c "$conf" org-token revoke --namespace acme "$id3" >/dev/null ||
	kg_fail "org-token revoke failed"
as "$out" GET /v1/keys
expect "admin-revoked token" 401 invalid_token
"$admin" -c "$conf" org-token revoke --namespace acme "$id3" >/dev/null 2>&1 &&
	kg_fail "second revoke succeeded"

# ---------------------------------------------------------------- audit
n=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM audit_events WHERE action = 'org_token_create' AND outcome = 'ok'")
kg_expect_eq "mint audit rows" "$n" 4
n=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM audit_events WHERE action = 'org_token_revoke' AND outcome = 'ok'")
kg_expect_eq "revoke audit rows" "$n" 2
n=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM audit_events WHERE outcome = 'denied' AND namespace = 'beta' AND actor = '$prefix'")
kg_expect_eq "denied audit rows" "$n" 3
n=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM audit_events WHERE CONCAT_WS('|', actor, target) LIKE '%kg\\_ot\\_%'")
kg_expect_eq "no token in the audit" "$n" 0

exit 0
