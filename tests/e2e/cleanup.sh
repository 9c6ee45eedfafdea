#!/usr/bin/env bash
# e2e/cleanup.sh: the keygate-cleanup binary against a private MariaDB:
# usage, configuration and database failures exit 2; --dry-run prints one
# "would delete" line per table and deletes nothing; a run deletes the
# dead rows and keeps the live ones (exit 0); a run that finds the lock
# held says so and exits 0 at once; --max-seconds stops between batches
# (exit 1, later tables "skipped"); a failing step is exit 1, every step
# failing is exit 2.
set -u
. "$top_srcdir/tests/lib.sh"
kg_init
kg_require_db

cleanup=$top_builddir/keygate-cleanup
admin=$top_builddir/keygate-admin
tables="nonces install_tokens refresh_tokens session_families jwt_revocations subject_logouts rate_buckets serial_locks audit_events"

# run ARG...: runs keygate-cleanup; sets RC, OUT (stdout), ERR (stderr).
run() {
	"$cleanup" "$@" >"$KG_TMP/out" 2>"$KG_TMP/err"
	RC=$?
	OUT=$(cat "$KG_TMP/out")
	ERR=$(cat "$KG_TMP/err")
}

# line TABLE: TABLE's summary line of the last run.
line() { printf '%s\n' "$OUT" | grep "^$1: "; }

count() { kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM $1"; }

kg_db_create
conf=$KG_TMP/keygate.conf
kg_write_config "$conf" "audit_retention = 30d"
kg_db_config_lines "$KG_DB" >>"$conf"
"$admin" -c "$conf" migrate --schema-dir "$top_srcdir/schema" \
    >"$KG_TMP/migrate.log" 2>&1 ||
	kg_error "migrate failed: $(cat "$KG_TMP/migrate.log")"

# ---------------------------------------------------------------- usage
run -c "$conf" --batch 0
kg_expect_eq "--batch 0" "$RC" 2
kg_expect_match "--batch 0 message" "$ERR" 'batch'
run -c "$conf" --max-seconds 86401
kg_expect_eq "--max-seconds too large" "$RC" 2
run -c "$conf" --frobnicate
kg_expect_eq "unknown option" "$RC" 2
run -c "$conf" extra
kg_expect_eq "an operand" "$RC" 2
run --help
kg_expect_eq "--help" "$RC" 0
kg_expect_match "--help text" "$ERR" 'usage: keygate-cleanup'
run -c "$KG_TMP/missing.conf"
kg_expect_eq "missing config" "$RC" 2
bad=$KG_TMP/bad.conf
kg_write_config "$bad" "db_socket = $KG_TMP/no.sock" "db_user = root" \
    "db_name = $KG_DB" "db_connect_timeout = 1"
run -c "$bad"
kg_expect_eq "database unreachable" "$RC" 2
kg_expect_match "database unreachable message" "$ERR" 'cannot connect'

# ---------------------------------------------------------------- seed
# One dead row (past its grace) and one live row per table.
kg_sql "$KG_DB" <<'EOF' || kg_error "seeding failed"
SET @now = UTC_TIMESTAMP(6);
INSERT INTO namespaces (id, name, created_at) VALUES (1, 'acme', @now);
INSERT INTO nonces VALUES
 ('dead', '0x0000000000000000000000000000000000000001', 'acme', 'login', 1,
  @now - INTERVAL 3 HOUR, @now - INTERVAL 2 HOUR, NULL),
 ('live', '0x0000000000000000000000000000000000000001', 'acme', 'login', 1,
  @now, @now + INTERVAL 5 MINUTE, NULL);
INSERT INTO install_tokens (id, namespace_id, token_hash, created_by,
  created_at, expires_at, used_at) VALUES
 (1, 1, UNHEX(SHA2('a', 256)), 'admin', @now - INTERVAL 3 HOUR,
  @now - INTERVAL 2 HOUR, @now - INTERVAL 150 MINUTE),
 (2, 1, UNHEX(SHA2('b', 256)), 'admin', @now, @now + INTERVAL 15 MINUTE, NULL);
INSERT INTO session_families VALUES
 ('dead0000000000000000000000000000', 1, 'w', 1, @now - INTERVAL 40 DAY,
  @now - INTERVAL 10 DAY, NULL, NULL),
 ('live0000000000000000000000000000', 1, 'w', 1, @now, @now + INTERVAL 30 DAY,
  @now - INTERVAL 1 MINUTE, 'logout');
-- The expired token goes because its family is revoked: one of a live
-- family would stay (reuse detection, tests/db/check_cleanup.c).
INSERT INTO refresh_tokens (id, id8, token_hash, family_id, created_at,
  expires_at) VALUES
 (1, 'deadrt01', UNHEX(SHA2('c', 256)), 'live0000000000000000000000000000',
  @now - INTERVAL 3 HOUR, @now - INTERVAL 2 HOUR),
 (2, 'livert01', UNHEX(SHA2('d', 256)), 'live0000000000000000000000000000',
  @now, @now + INTERVAL 30 DAY);
INSERT INTO jwt_revocations VALUES
 ('dead0000000000000000000000000000', 'w', 'acme', 1, @now - INTERVAL 2 HOUR,
  @now - INTERVAL 3 HOUR, 'logout'),
 ('live0000000000000000000000000000', 'w', 'acme', 1, @now + INTERVAL 10 MINUTE,
  @now, 'logout');
INSERT INTO subject_logouts VALUES ('acme', 'dead', @now - INTERVAL 3 DAY),
 ('acme', 'live', @now);
INSERT INTO rate_buckets VALUES ('a:dead', 0, @now - INTERVAL 1 DAY),
 ('a:live', 0, @now);
INSERT INTO serial_locks VALUES ('dead', @now - INTERVAL 2 DAY), ('live', @now);
INSERT INTO audit_events (at, actor_type, actor, action, outcome) VALUES
 (@now - INTERVAL 31 DAY, 'admin', 'admin', 'x', 'ok'),
 (@now, 'admin', 'admin', 'x', 'ok');
EOF

# ---------------------------------------------------------------- dry run
run -c "$conf" --dry-run
kg_expect_eq "dry run status" "$RC" 0
kg_expect_eq "dry run: one line per table, in order" \
    "$(printf '%s\n' "$OUT" | cut -d: -f1 | tr '\n' ' ')" "$tables "
for t in $tables; do
	kg_expect_eq "dry run $t" "$(line "$t")" "$t: would delete 1 rows"
	kg_expect_eq "dry run kept $t" "$(count "$t")" 2
done

# ---------------------------------------------------------------- the lock
# A session holding the lock: the run says so and does nothing.
kg_sql "$KG_DB" --unbuffered -e "SELECT CONNECTION_ID(), GET_LOCK(CONCAT('keygate_cleanup:', DATABASE()), 0); SELECT SLEEP(60)" \
    >"$KG_TMP/holder" 2>&1 &
holder=$!
kg_track "$holder"
for _ in $(seq 100); do
	[ -s "$KG_TMP/holder" ] && break
	sleep 0.05
done
read -r hid held <"$KG_TMP/holder" || kg_error "the lock holder did not start"
kg_expect_eq "holder took the lock" "$held" 1
run -c "$conf"
kg_expect_eq "locked: status" "$RC" 0
kg_expect_match "locked: message" "$OUT" 'another run holds the lock'
kg_expect_eq "locked: no summary" "$(printf '%s\n' "$OUT" | grep -c ': deleted')" 0
kg_expect_eq "locked: nothing deleted" "$(count nonces)" 2
kg_sql -e "KILL $hid" || kg_error "cannot end the lock holder"
wait "$holder" 2>/dev/null
for _ in $(seq 100); do
	[ "$(kg_sql -e "SELECT IS_USED_LOCK('keygate_cleanup:$KG_DB') IS NULL")" = 1 ] && break
	sleep 0.05
done

# ---------------------------------------------------------------- a run
run -c "$conf" --batch 1
kg_expect_eq "run status" "$RC" 0
for t in $tables; do
	kg_expect_eq "run $t" "$(line "$t")" "$t: deleted 1 rows"
	kg_expect_eq "run kept the live $t row" "$(count "$t")" 1
done
kg_expect_eq "live nonce kept" \
    "$(kg_sql "$KG_DB" -e "SELECT nonce FROM nonces")" live
kg_expect_eq "live family kept" \
    "$(kg_sql "$KG_DB" -e "SELECT LEFT(id, 4) FROM session_families")" live
run -c "$conf"
kg_expect_eq "second run status" "$RC" 0
kg_expect_eq "second run finds nothing" \
    "$(printf '%s\n' "$OUT" | grep -c ': deleted 0 rows$')" 9

# ---------------------------------------------------------------- time limit
# 200,000 single-row statements take far longer than a second.
kg_sql "$KG_DB" -e "INSERT INTO jwt_revocations SELECT LPAD(HEX(seq), 32, '0'),
    'w', 'acme', 1, UTC_TIMESTAMP(6) - INTERVAL 1 DAY, UTC_TIMESTAMP(6),
    'logout' FROM seq_1_to_200000" || kg_error "cannot seed revocations"
# The second counts from the start: on a starved machine the steps before
# may use it up, and jwt_revocations is skipped rather than stopped.  Either
# way the run must end early with status 1, and every step after it be
# skipped; a skipped run tries again (the earlier steps have no work left
# then), so a step stopped mid-way is what normally gets checked.
late_re='^jwt_revocations: (deleted [0-9]+ rows, stopped|skipped)'
late_re="$late_re"' \(time limit\)$'
for attempt in 1 2 3; do
	start=$(date +%s)
	run -c "$conf" --batch 1 --max-seconds 1
	took=$(( $(date +%s) - start ))
	kg_expect_eq "time limit: status" "$RC" 1
	jwt=$(line jwt_revocations)
	kg_expect_match "time limit: stopped or skipped" "$jwt" "$late_re"
	for t in subject_logouts rate_buckets serial_locks audit_events; do
		kg_expect_eq "time limit: $t" "$(line "$t")" \
		    "$t: skipped (time limit)"
	done
	kg_expect_eq "time limit: nine lines" \
	    "$(printf '%s\n' "$OUT" | grep -cE '^[a-z_]+: (deleted|skipped)')" 9
	[ "$took" -le 10 ] || kg_fail "a 1-second limit took $took s"
	case $jwt in
	*stopped*) break ;;
	esac
	kg_log "time limit: attempt $attempt skipped jwt_revocations"
done
left=$(count jwt_revocations)
case $jwt in
*stopped*)
	[ "$left" -gt 1 ] && [ "$left" -lt 200001 ] ||
		kg_fail "time limit: $left revocations left" ;;
*)
	kg_expect_eq "time limit: skipped deletes nothing" "$left" 200001 ;;
esac
run -c "$conf" --max-seconds 0
kg_expect_eq "no limit: status" "$RC" 0
kg_expect_eq "no limit: the rest" "$(line jwt_revocations)" \
    "jwt_revocations: deleted $((left - 1)) rows"

# ---------------------------------------------------------------- failures
kg_sql "$KG_DB" -e "DROP TABLE serial_locks" || kg_error "cannot drop"
run -c "$conf"
kg_expect_eq "one step failing: status" "$RC" 1
kg_expect_match "one step failing: line" "$(line serial_locks)" \
    '^serial_locks: deleted 0 rows, failed: '
kg_expect_eq "the others ran" "$(line audit_events)" "audit_events: deleted 0 rows"
kg_db_create
empty=$KG_TMP/empty.conf
kg_write_config "$empty"
kg_db_config_lines "$KG_DB" >>"$empty"
run -c "$empty"
kg_expect_eq "every step failing: status" "$RC" 2
kg_expect_eq "every step failing: lines" \
    "$(printf '%s\n' "$OUT" | grep -c ', failed: ')" 9
exit 0
