#!/usr/bin/env bash
# e2e/admin.sh: every keygate-admin command and subcommand against a
# private database, in text and --json output, with the exit statuses of
# keygate-admin(8): 0 done, 1 behind / not found / exists, 2 usage or
# configuration, 3 database.  What it mints is used at the real service
# (lighttpd + keygate-fcgi on the same database): a key and an org token
# authenticate at whoami, an install token is exchanged, a revoked key is
# refused.  migrate --dry-run lists pending migrations and applies none.
set -u
. "$top_srcdir/tests/lib.sh"
kg_init
kg_require_prog curl lighttpd jq
kg_require_db

kg_service_up

# run ARG...: keygate-admin -c $conf ARG...; sets OUT, ERR and RC.
run() {
	run_with "$conf" "$@"
}

# run_with CONF ARG...: the same with another configuration file.
run_with() {
	local c=$1
	shift
	"$admin" -c "$c" "$@" >"$KG_TMP/admin.out" 2>"$KG_TMP/admin.err"
	RC=$?
	OUT=$(cat "$KG_TMP/admin.out")
	ERR=$(cat "$KG_TMP/admin.err")
}

# rc WHAT WANT: the last run's exit status.
rc() {
	kg_expect_eq "$1: exit status (stdout: $OUT; stderr: $ERR)" "$RC" "$2"
}

# j JQ: a member of the last run's JSON output (which must parse).
j() {
	printf '%s' "$OUT" | jq -e . >/dev/null 2>&1 ||
		kg_fail "not JSON: $OUT"
	printf '%s' "$OUT" | jq -r "$1"
}

# failed WHAT STATUS CODE: a --json run that failed with STATUS and CODE.
failed() {
	rc "$1" "$2"
	kg_expect_eq "$1: error code" "$(j .error)" "$3"
	[ -n "$(j .message)" ] || kg_fail "$1: no message"
}

# ---------------------------------------------------------------- usage
run
rc "no command" 2
run frobnicate
rc "unknown command" 2
run --json frobnicate
failed "unknown command (json)" 2 usage
run --bogus
rc "unknown option" 2
"$admin" --help >"$KG_TMP/help.out" 2>&1 || kg_fail "--help failed"
for c in migrate status gen-admin-key namespace key org-token install-token; do
	grep -q "^  $c " "$KG_TMP/help.out" || kg_fail "--help lacks $c"
	# A command's help needs no configuration and no database.
	"$admin" -c /nonexistent "$c" --help >"$KG_TMP/chelp.out" 2>&1 ||
		kg_fail "$c --help failed: $(cat "$KG_TMP/chelp.out")"
	grep -q "^usage: .* $c " "$KG_TMP/chelp.out" ||
		kg_fail "$c --help: $(cat "$KG_TMP/chelp.out")"
done
"$admin" key create --help >"$KG_TMP/chelp.out" 2>&1 ||
	kg_fail "key create --help failed"
run_with /nonexistent/keygate.conf --json namespace list
failed "missing configuration file" 2 config
# Without -c: $KEYGATE_CONFIG, as keygate-fcgi.
KEYGATE_CONFIG=$conf "$admin" --json namespace list >"$KG_TMP/admin.out" 2>&1 ||
	kg_fail "KEYGATE_CONFIG is not read: $(cat "$KG_TMP/admin.out")"
KEYGATE_CONFIG=/nonexistent/keygate.conf "$admin" namespace list \
    >/dev/null 2>&1
kg_expect_eq "a missing KEYGATE_CONFIG file" "$?" 2

# ---------------------------------------------------------------- gen-admin-key
run gen-admin-key
rc "gen-admin-key" 0
kg_expect_match "admin key format" "$OUT" '^kg_ad_[a-z0-9]{8}_[0-9A-Za-z]{46}$'
k1=$OUT
run --json gen-admin-key
rc "gen-admin-key --json" 0
k2=$(j .admin_key)
kg_expect_match "json admin key" "$k2" '^kg_ad_[a-z0-9]{8}_[0-9A-Za-z]{46}$'
kg_expect_eq "json admin key prefix" "$(j .prefix)" "${k2:6:8}"
[ "$k1" != "$k2" ] || kg_fail "two runs printed the same key"
run gen-admin-key extra
rc "gen-admin-key with an argument" 2
# The service runs with a key this command made (kg_service_up).
as "$akey" GET /v1/auth/whoami
kg_expect_eq "generated admin key works" "$(field .method)" admin

# ---------------------------------------------------------------- migrate, status
# A second, empty database for the schema commands.
main_db=$KG_DB
kg_db_create
conf2=$KG_TMP/keygate2.conf
kg_write_config "$conf2"
kg_db_config_lines "$KG_DB" >>"$conf2"
schema=$top_srcdir/schema
tables() {
	kg_sql -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '$KG_DB'"
}

run_with "$conf2" status --schema-dir "$schema"
rc "status of an empty database" 1
kg_expect_match "status says behind" "$OUT" 'behind'
run_with "$conf2" --json status --schema-dir "$schema"
rc "status --json, behind" 1
kg_expect_eq "up_to_date" "$(j .up_to_date)" false
kg_expect_eq "schema_version" "$(j .schema_version)" 0
kg_expect_eq "pending versions" "$(j '[.pending[].version] | join(" ")')" "1 2 3"
kg_expect_eq "schema_dir" "$(j .schema_dir)" "$schema"

run_with "$conf2" migrate --dry-run --schema-dir "$schema"
rc "migrate --dry-run" 0
kg_expect_match "dry run lists 001" "$OUT" 'would apply 001_init'
kg_expect_match "dry run lists 002" "$OUT" 'would apply 002_serial_locks'
kg_expect_match "dry run lists 003" "$OUT" 'would apply 003_revocation_epoch'
run_with "$conf2" --json migrate --dry-run --schema-dir "$schema"
rc "migrate --dry-run --json" 0
kg_expect_eq "dry run json" "$(j .dry_run)" true
kg_expect_eq "dry run pending" "$(j '[.pending[].name] | join(" ")')" \
    "init serial_locks revocation_epoch"
kg_expect_eq "dry run applied nothing" "$(tables)" 0

# The directory: --schema-dir, else $KEYGATE_SCHEMA_DIR, else built in.
run_with "$conf2" --json status --schema-dir /nonexistent
failed "a schema directory that does not exist" 2 status_failed
KEYGATE_SCHEMA_DIR=$schema run_with "$conf2" --json status
kg_expect_eq "KEYGATE_SCHEMA_DIR is used" "$(j .schema_dir)" "$schema"
KEYGATE_SCHEMA_DIR=/nonexistent run_with "$conf2" --json status \
    --schema-dir "$schema"
kg_expect_eq "--schema-dir wins over the environment" "$(j .schema_dir)" \
    "$schema"
builtin=$(sed -n 's/.*else \$KEYGATE_SCHEMA_DIR, else \(.*\)\.$/\1/p' \
    "$KG_TMP/help.out")
case $builtin in
*/share/keygate/schema) ;;
*) kg_fail "built-in schema directory: '$builtin'" ;;
esac
env -u KEYGATE_SCHEMA_DIR "$admin" -c "$conf2" --json status \
    >"$KG_TMP/admin.out" 2>"$KG_TMP/admin.err"
RC=$? OUT=$(cat "$KG_TMP/admin.out") ERR=$(cat "$KG_TMP/admin.err")
if [ -d "$builtin" ]; then
	kg_log "note: $builtin exists (installed): not testing its absence"
	kg_expect_eq "the built-in directory by default" "$(j .schema_dir)" \
	    "$builtin"
else
	failed "uninstalled built-in schema directory" 2 status_failed
	kg_expect_match "the built-in directory by default" "$(j .message)" \
	    "^$builtin: "
	kg_expect_match "the hint names the variable" "$ERR" KEYGATE_SCHEMA_DIR
fi

run_with "$conf2" migrate --schema-dir "$schema"
rc "migrate" 0
kg_expect_match "migrate applies 001" "$OUT" 'applying 001_init \.\.\. done'
kg_expect_match "migrate reports the version" "$OUT" 'schema version 3'
[ "$(tables)" -gt 5 ] || kg_fail "migrate created $(tables) tables"
run_with "$conf2" --json migrate --schema-dir "$schema"
rc "migrate again" 0
kg_expect_eq "nothing applied again" "$(j '.applied | length')" 0
kg_expect_eq "migrated version" "$(j .schema_version)" 3
run_with "$conf2" --json migrate --dry-run --schema-dir "$schema"
kg_expect_eq "nothing pending" "$(j '.pending | length')" 0
run_with "$conf2" status --schema-dir "$schema"
rc "status when up to date" 0
kg_expect_match "status text" "$OUT" 'up to date'
run_with "$conf2" --json status --schema-dir "$schema"
kg_expect_eq "up to date (json)" "$(j .up_to_date)" true
run_with "$conf2" migrate --bogus
rc "migrate --bogus" 2
run_with "$conf2" --json status extra
failed "status with an argument" 2 usage
KG_DB=$main_db

# ---------------------------------------------------------------- namespace
run --json namespace create acme
rc "namespace create" 0
kg_expect_eq "created name" "$(j .name)" acme
kg_expect_eq "no members" "$(j .member_count)" 0
kg_expect_eq "no owner" "$(j .owner)" null
run --json namespace create acme
failed "namespace create twice" 1 conflict
owner=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
run namespace create beta --owner "$owner"
rc "namespace create --owner" 0
kg_expect_match "text names the owner" "$OUT" \
    '^created namespace beta, owner 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'
run --json namespace create 'Bad!'
failed "bad namespace name" 2 invalid_namespace
run --json namespace create gamma --owner 0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed
failed "bad checksum owner" 2 invalid_wallet
run namespace create
rc "namespace create without a name" 2
run namespace create delta extra
rc "namespace create with two names" 2
run namespace
rc "namespace without a subcommand" 2
run namespace list extra
rc "namespace list with an argument" 2
run namespace frob
rc "namespace frob" 2
run namespace list
rc "namespace list" 0
kg_expect_match "list header" "$OUT" '^NAME +MEMBERS +CREATED'
kg_expect_match "list names beta with its owner" "$OUT" $'\nbeta +1 '
run --json namespace list
rc "namespace list --json" 0
kg_expect_eq "json list, by name" "$(j '[.[].name] | join(" ")')" "acme beta"
kg_expect_eq "json member counts" "$(j '[.[].member_count] | join(" ")')" "0 1"
# The service sees them: they are in its database.
as "$akey" GET /v1/namespaces/beta
expect "the service reads the namespace" 200
kg_expect_eq "its owner is a member" "$(field .member_count)" 1
as "$akey" GET /v1/namespaces/beta/members
kg_expect_eq "the owner is track 4" "$(field '.items[0].track')" 4
kg_expect_eq "the owner, lower case" "$(field '.items[0].wallet')" \
    0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed

# ---------------------------------------------------------------- key
run key create --namespace acme --name ci --scopes "keys:read introspect"
rc "key create" 0
key=$OUT
kg_expect_match "key secret" "$key" '^kg_sk_[a-z0-9]{8}_[0-9A-Za-z]{46}$'
kg_expect_match "stderr says once" "$ERR" 'shown only once'
as "$key" GET /v1/auth/whoami
expect "the minted key authenticates" 200
kg_expect_eq "whoami method" "$(field .method)" api_key
kg_expect_eq "whoami namespace" "$(field .namespace)" acme
kg_expect_eq "whoami scopes" "$(field '.scopes | join(" ")')" "keys:read introspect"

run --json key create --namespace acme --name json --scopes keys:read \
    --expires 30d --project p1 --project p2
rc "key create --json" 0
key2=$(j .secret)
id2=$(j .key.id)
kg_expect_eq "json key prefix" "$(j .key.prefix)" "${key2:6:8}"
kg_expect_eq "json key projects" "$(j '.key.project_ids | join(" ")')" "p1 p2"
kg_expect_eq "json key created_by" "$(j .key.created_by)" admin
[ "$(j .key.expires_at)" != null ] || kg_fail "30d key without expiry"
as "$key2" GET /v1/auth/whoami
expect "the json key authenticates" 200

run key list --namespace acme
rc "key list" 0
kg_expect_match "key list names ci" "$OUT" ' ci +live '
kg_expect_eq "no secret in the list" "$(printf '%s' "$OUT" | grep -c "$key")" 0
run --json key list --namespace acme
kg_expect_eq "two keys" "$(j 'length')" 2
run key revoke --namespace acme "$id2"
rc "key revoke" 0
kg_expect_match "revoke text" "$OUT" "^revoked key $id2 "
as "$key2" GET /v1/auth/whoami
expect "the revoked key" 401 key_revoked
run --json key revoke --namespace acme "$id2"
failed "key revoke twice" 1 not_found
run --json key revoke --namespace acme 99999999
failed "key revoke unknown" 1 not_found
run --json key list --namespace acme
kg_expect_eq "live keys only" "$(j 'length')" 1
run --json key list --namespace acme --all
kg_expect_eq "--all lists the revoked key" \
    "$(j "[.[] | select(.id == $id2) | .revoked_at != null] | .[0]")" true
run --json key list --namespace nosuch
failed "key list, no namespace" 1 namespace_not_found
run --json key create --namespace acme --name x --scopes "no:such"
failed "unknown scope" 2 invalid_scopes
run --json key create --namespace acme --name x --scopes keys:read --expires 2d
failed "bad expiry" 2 invalid_expiry
run --json key create --namespace acme --scopes keys:read
failed "key create without --name" 2 usage
run key list
rc "key list without --namespace" 2
run key frob --namespace acme
rc "key frob" 2

# ---------------------------------------------------------------- org-token
run org-token create --namespace acme --name ops
rc "org-token create" 0
ot=$OUT
as "$ot" GET /v1/auth/whoami
expect "the org token authenticates" 200
kg_expect_eq "org token method" "$(field .method)" org_token
kg_expect_eq "org token namespace" "$(field .namespace)" acme
run --json org-token create --namespace acme
rc "org-token create --json" 0
ot2=$(j .token)
otid2=$(j .id)
kg_expect_eq "unnamed org token" "$(j .name)" null
as "$ot2" GET /v1/auth/whoami
expect "the json org token authenticates" 200
run org-token list --namespace acme
rc "org-token list" 0
kg_expect_match "org-token list names ops" "$OUT" ' ops +admin'
run --json org-token list --namespace acme
kg_expect_eq "two org tokens" "$(j 'length')" 2
run --json org-token revoke --namespace acme "$otid2"
rc "org-token revoke" 0
kg_expect_eq "revoked json" "$(j .revoked)" true
as "$ot2" GET /v1/auth/whoami
kg_expect_eq "the revoked org token" "$KG_STATUS" 401
run --json org-token revoke --namespace acme "$otid2"
failed "org-token revoke twice" 1 not_found
run --json org-token list --namespace nosuch
failed "org-token list, no namespace" 1 namespace_not_found
run --json org-token create --namespace acme --name $'a\tb'
failed "org-token name with a tab" 2 invalid_request
run org-token list --namespace acme --name x
rc "org-token list --name" 2
run org-token revoke --namespace acme
rc "org-token revoke without ID" 2

# ---------------------------------------------------------------- install-token
run install-token create --namespace acme
rc "install-token create" 0
it=$OUT
kg_expect_match "install token" "$it" '^mit_[0-9a-f]{40}$'
kg_request POST "$url/v1/install-tokens/exchange" \
    -H 'Content-Type: application/json' \
    --data-binary "{\"token\":\"$it\",\"daemon_id\":\"host-1\"}"
expect "the install token is exchanged" 200
kg_expect_eq "exchanged into acme" "$(field .namespace)" acme
run --json install-token create --namespace acme
rc "install-token create --json" 0
kg_expect_match "json install token" "$(j .token)" '^mit_[0-9a-f]{40}$'
kg_expect_eq "json namespace" "$(j .namespace)" acme
kg_expect_match "json expiry" "$(j .expires_at)" '^20[0-9]{2}-'
run --json install-token create --namespace nosuch
failed "install-token, no namespace" 1 namespace_not_found
run install-token create
rc "install-token without --namespace" 2
run install-token list --namespace acme
rc "install-token list" 2

# ---------------------------------------------------------------- audit
kg_expect_eq "audited by the admin tool" "$(kg_sql "$KG_DB" -e \
    "SELECT GROUP_CONCAT(DISTINCT action ORDER BY action) FROM audit_events
     WHERE actor_type = 'admin' AND namespace IN ('acme', 'beta')")" \
    "install_token_create,key_create,key_revoke,namespace_create,org_token_create,org_token_revoke"

# ---------------------------------------------------------------- no database
conf3=$KG_TMP/keygate3.conf
kg_write_config "$conf3" "db_socket = $KG_TMP/no-such.sock" "db_user = root" \
    "db_connect_timeout = 1"
for cmd in "migrate --schema-dir $schema" "status --schema-dir $schema" \
    "namespace list" "namespace create x" "key list --namespace acme" \
    "org-token list --namespace acme" "install-token create --namespace acme"; do
	# shellcheck disable=SC2086  # the command's words
	run_with "$conf3" --json $cmd
	failed "$cmd without a database" 3 database
done
run_with "$conf3" gen-admin-key
rc "gen-admin-key needs no database" 0
exit 0
