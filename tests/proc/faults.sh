#!/bin/bash
# tests/proc/faults.sh: keygate under faults (issue 7), on a MariaDB of
# the test's own (it is stopped and killed here) behind a real lighttpd,
# keygate-fcgi standalone with 4 workers and small database timeouts:
#   a. workers killed with SIGKILL, one after another, while six clients
#      mint API keys (POST /v1/keys) and exchange install tokens (POST
#      /v1/install-tokens/exchange, every token tried by three clients):
#      the master replaces each; a request fails only as a connection
#      error or a 5xx of the web server, at most one per kill; every key
#      reported minted validates; every install token reported exchanged
#      is consumed and its daemon token works; none is exchanged twice,
#      and the database agrees (one daemon token per used install token);
#   b. a worker killed while its exchange waits on a locked row: that
#      request fails, its transaction is gone, and the token is still
#      good for exactly one exchange;
#   c. the database killed (SIGKILL), frozen (SIGSTOP) and, with
#      KEYGATE_TEST_HEAVY=1, stopped (SIGTERM) for a few seconds under
#      load on API-key whoami, /ready, POST /v1/keys and /health: no
#      request takes longer than the bound the configured database
#      timeouts give; once the database is gone (and the credential
#      cache's 1 s is over) the database routes answer 503 `unavailable`,
#      never 2xx, never 500, and a request that waited for the database
#      in vain is never granted; /health keeps answering 200; once it is
#      back every worker (the same pids, no restart) answers 200 within a
#      few seconds and a key minted works; keys reported minted before a
#      SIGKILL of the database still work.
set -u
export LC_ALL=C	# a '.' in $EPOCHREALTIME

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

[ -x "$top_builddir/keygate-fcgi" ] ||
	{ echo "faults.sh: $top_builddir/keygate-fcgi is not built" >&2; exit 99; }
kg_require_prog curl lighttpd jq ps
kg_init
kg_private_db
kg_service_db

WORKERS=4
# The database timeouts (seconds), small so that the bound is short.
DB_CONNECT=1
DB_READ=2
DB_WRITE=2
# The longest a request may take while the database is away: a frozen
# server lets a statement meet at most a write (DB_WRITE) and a read
# (DB_READ) timeout, then the one reconnect db.c allows (DB_CONNECT), and
# the request fails; plus 1 s for lighttpd, curl and a loaded machine.
# (Measured: a read and a reconnect, about 3 s, the longest.)
BOUND_MS=$(( (DB_CONNECT + DB_READ + DB_WRITE + 1) * 1000 ))
# After the database went away the credential cache may serve a repeat
# for up to 1 s (SPEC 7); a database route is refused after that.
CACHE_MS=1000

FPORT=$(kg_free_port)
CONF=$KG_TMP/keygate.conf
kg_write_config "$CONF" "admin_key = $akey" \
    "listen = tcp:127.0.0.1:$FPORT" "workers = $WORKERS" \
    "shutdown_timeout = 5" "access_log = true" "log_level = info" \
    "rate_ip_rate = 100000" "rate_ip_burst = 100000" \
    "db_connect_timeout = $DB_CONNECT" "db_read_timeout = $DB_READ" \
    "db_write_timeout = $DB_WRITE"
kg_db_config_lines "$KG_DB" | grep -v '^db_connect_timeout' >>"$CONF"
kg_sql "$KG_DB" -e "INSERT INTO namespaces (name, created_at) VALUES ('acme', UTC_TIMESTAMP(6))" ||
	kg_error "cannot create the namespace"
kg_start_fcgi "$CONF"
kg_start_lighttpd 127.0.0.1 "$FPORT"
URL=$KG_HTTP_URL
LOG=$KG_FCGI_LOG
MASTER=$KG_FCGI_PID
kg_wait_http "$URL/health" 10 || kg_fail "/health does not answer 200"

kg_wait_workers "$WORKERS" 10 || kg_fail "expected $WORKERS workers, have: $(kg_fcgi_workers | tr '\n' ' ')"

CURL=$(kg_prog curl)

# mint_body NAME: sets BODY to the body of POST /v1/keys for a key NAME.
mint_body() {
	printf -v BODY '{"name":"%s","scopes":["keys:read"],"expires_in":"30d"}' "$1"
}

# mint NAME: mints a key as the admin; prints its secret.
mint() {
	mint_body "$1"
	kg_request POST "$URL/v1/keys" -H "Authorization: Bearer $akey" \
	    -H 'X-Keygate-Namespace: acme' -H 'Content-Type: application/json' \
	    --data-binary "$BODY"
	[ "$KG_STATUS" = 201 ] || kg_fail "minting $1: $KG_STATUS $KG_BODY"
	printf '%s' "$KG_BODY" | jq -r .secret
}

# one_request OUT ARG...: one request (curl ARGs), appending to OUT the line
# "START_US END_US STATUS TIME_MS BODY" (the body on one line).  Under
# load every fork counts: curl is the only program it runs.
one_request() {
	local out=$1 body=$KG_TMP/body.$BASHPID t0 t1 w code secs ms frac resp=
	shift
	: >"$body"
	t0=${EPOCHREALTIME/./}
	w=$("$CURL" -sS --max-time 30 -o "$body" \
	    -w '%{http_code} %{time_total}' "$@" 2>/dev/null)
	t1=${EPOCHREALTIME/./}
	read -r code secs <<<"$w"
	[ -n "$code" ] || code=000
	[ -n "$secs" ] || secs=0.000
	# seconds with decimals -> milliseconds
	frac=000
	[ "$secs" = "${secs#*.}" ] || frac=${secs#*.}000
	ms=$(( 10#${secs%%.*} * 1000 + 10#${frac:0:3} ))
	IFS= read -r -d '' resp <"$body"
	resp=${resp//$'\n'/ }
	printf '%s %s %s %s %s\n' "$t0" "$t1" "$code" "$ms" "$resp" >>"$out"
}

# The background clients: each runs until $KG_TMP/stop exists (or for
# 60 s at most), one line a request in $KG_TMP/NAME.log (see one_request).
LOAD_PIDS=()
client() {
	local name=$1 out=$KG_TMP/$1.log
	shift
	: >"$out"
	# A deadline of its own: a client never outlives a broken test long.
	# shellcheck disable=SC2030  # START is the client's own
	( START=$SECONDS; "$@" "$out" "$name" ) &
	LOAD_PIDS+=($!)
	kg_track $!
}

# shellcheck disable=SC2031  # START of the client (see client)
running() {
	[ ! -e "$KG_TMP/stop" ] && [ $SECONDS -lt $((START + 60)) ]
}

load_stop() {
	local p
	touch "$KG_TMP/stop"
	for p in "${LOAD_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	LOAD_PIDS=()
	rm -f "$KG_TMP/stop"
}

mint_client() {	# OUT NAME
	local n=0
	while running; do
		n=$((n + 1))
		mint_body "$2-$n"
		one_request "$1" -X POST "$URL/v1/keys" \
		    -H "Authorization: Bearer $akey" -H 'X-Keygate-Namespace: acme' \
		    -H 'Content-Type: application/json' --data-binary "$BODY"
	done
}

# xchg_client TOKENS OUT NAME: exchanges each token of the file TOKENS
# (one a line) in turn.
xchg_client() {
	local tok toks
	mapfile -t toks <"$1"
	for tok in "${toks[@]}"; do
		running || break
		one_request "$2" -X POST "$URL/v1/install-tokens/exchange" \
		    -H 'Content-Type: application/json' \
		    --data-binary "{\"token\":\"$tok\",\"daemon_id\":\"d-$tok\"}"
	done
}

get_client() {	# PATH CREDENTIAL OUT NAME
	local auth=()
	[ -z "$2" ] || auth=(-H "Authorization: Bearer $2")
	while running; do
		one_request "$3" "${auth[@]}" "$URL$1"
	done
}

# valid_keys TAG LOG: every key that the client log LOG (of mint_client)
# reports minted (201) validates: whoami answers 200.  One curl for all.
# Sets NKEYS to their number.
valid_keys() {
	local tag=$1 k ok args=()
	awk '$3 == "201"' "$2" | cut -d' ' -f5- | jq -r .secret >"$KG_TMP/$tag-keys"
	NKEYS=$(wc -l <"$KG_TMP/$tag-keys")
	[ "$NKEYS" -gt 0 ] || kg_fail "$tag: no key was minted"
	while read -r k; do
		args+=(-o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $k"
		    "$URL/v1/auth/whoami" --next)
	done <"$KG_TMP/$tag-keys"
	ok=$(KG_CURL_TIMEOUT=60 kg_curl "${args[@]}" "$URL/health" -o /dev/null |
	    grep -c '^200$')
	[ "$ok" -eq "$NKEYS" ] ||
		kg_fail "$tag: $ok of $NKEYS keys reported minted validate"
}

# failures FILE: the lines of a client log whose status is a failure of
# the transport: no answer, or a 5xx that is not keygate's JSON.
failures() {
	awk '$3 == "000" || ($3 ~ /^5/ && $5 !~ /^\{/)' "$1"
}

# ------------------------------------------------------------------ (a)
echo "a. workers killed with SIGKILL under load (at ${SECONDS}s)"
NTOK=80
: >"$KG_TMP/tokens"
args=()
for ((i = 0; i < NTOK; i++)); do
	args+=("$URL/v1/namespaces/acme/install-tokens")
done
KG_CURL_TIMEOUT=60 kg_curl -X POST -H "Authorization: Bearer $akey" \
    -H 'Content-Length: 0' -w '\n' "${args[@]}" |
    jq -r .token >"$KG_TMP/tokens" ||
	kg_fail "cannot mint the install tokens"
[ "$(grep -c '^mit_' "$KG_TMP/tokens")" -eq "$NTOK" ] ||
	kg_fail "minted $(grep -c '^mit_' "$KG_TMP/tokens") of $NTOK install tokens"
# Every token is tried by three clients, each in its own order.
cp "$KG_TMP/tokens" "$KG_TMP/tokens.1"
tac "$KG_TMP/tokens" >"$KG_TMP/tokens.2"
awk 'NR % 2 == 0' "$KG_TMP/tokens" >"$KG_TMP/tokens.3"
awk 'NR % 2 == 1' "$KG_TMP/tokens" >>"$KG_TMP/tokens.3"

for c in 1 2 3; do
	client "mint$c" mint_client
	client "xchg$c" xchg_client "$KG_TMP/tokens.$c"
done

# Kill a worker about every 0.6 s until 5 are killed (in 4 to 15 s),
# each one that has lived more than 1.2 s (a quicker death would delay
# the next start, on purpose), one busy with a request when one is seen:
# a worker waiting for the next request sleeps in ppoll() (its wchan
# names a poll), any other is inside a request.  Read from /proc, without
# a fork: this loop must keep up on a loaded machine.
HZ=$(getconf CLK_TCK) || kg_error "getconf CLK_TCK"
# workers_now: sets WS to the master's children.
workers_now() {
	WS=
	read -r WS <"/proc/$MASTER/task/$MASTER/children" 2>/dev/null ||
		[ -n "$WS" ] || WS=$(kg_fcgi_workers)
}
# age_ms PID: sets AGE to how long PID has lived (ms), 0 if unknown.
age_ms() {
	local up line f
	AGE=0
	read -r up _ </proc/uptime && read -r line <"/proc/$1/stat" 2>/dev/null ||
		return 0
	# Field 22 of stat, starttime in ticks: the 20th after the name.
	read -r -a f <<<"${line##*) }"
	AGE=$(( ${up/./}0 - f[19] * 1000 / HZ ))
}
victims=()
busy_kills=0
t_min=$(( ${EPOCHREALTIME/./} + 4000000 ))
t_end=$(( ${EPOCHREALTIME/./} + 15000000 ))
next_kill=$(( ${EPOCHREALTIME/./} + 600000 ))
while { [ ${#victims[@]} -lt 5 ] || [ "${EPOCHREALTIME/./}" -lt "$t_min" ]; } &&
    [ "${EPOCHREALTIME/./}" -lt "$t_end" ]; do
	sleep 0.02
	now=${EPOCHREALTIME/./}
	[ "$now" -ge "$next_kill" ] || continue
	workers_now
	pick='' idle=''
	for w in $WS; do
		age_ms "$w"
		[ "$AGE" -ge 1200 ] || continue
		wchan=
		read -r wchan <"/proc/$w/wchan" 2>/dev/null
		case $wchan in
		*poll*) [ -n "$idle" ] || idle=$w ;;
		*) pick=$w; break ;;
		esac
	done
	if [ -n "$pick" ]; then
		[ -z "$wchan" ] || busy_kills=$((busy_kills + 1))
	elif [ $((now - next_kill)) -ge 400000 ]; then
		pick=$idle	# none seen busy for 0.4 s
	fi
	if [ -n "$pick" ] && [ ${#victims[@]} -lt 5 ]; then
		kill -KILL "$pick" && victims+=("$pick")
		next_kill=$((now + 600000))
	fi
done
load_stop
[ ${#victims[@]} -eq 5 ] || kg_fail "a: only ${#victims[@]} workers were killed in 15 s"
kg_wait_workers "$WORKERS" 5 || kg_fail "a: the master has not $WORKERS workers again"
for v in "${victims[@]}"; do
	kg_fcgi_workers | grep -qx "$v" && kg_fail "a: killed worker $v still there"
	kg_wait_log "$LOG" "worker $v killed by signal 9" 5 ||
		kg_fail "a: the master did not see worker $v die"
done
kg_wait_http "$URL/health" 5 || kg_fail "a: /health does not answer after the kills"

cat "$KG_TMP"/mint?.log >"$KG_TMP/mint.all"
cat "$KG_TMP"/xchg?.log >"$KG_TMP/xchg.all"
nmint=$(wc -l <"$KG_TMP/mint.all")
nx=$(wc -l <"$KG_TMP/xchg.all")
[ "$nmint" -ge 10 ] && [ "$nx" -ge 10 ] ||
	kg_fail "a: too little load ($nmint mints, $nx exchanges)"
nfail=$(cat "$KG_TMP/mint.all" "$KG_TMP/xchg.all" | failures /dev/stdin | wc -l)
kg_log "a: ${#victims[@]} workers killed ($busy_kills seen busy); $nmint mints, $nx exchanges; $nfail failed in transport"
# Anything else than success, a refusal the SPEC gives for a used token,
# or a failed transport is wrong.
bad=$(awk '$3 != "201" && $3 != "000" && !($3 ~ /^5/ && $5 !~ /^\{/)' "$KG_TMP/mint.all")
[ -z "$bad" ] || kg_fail "a: unexpected answers to POST /v1/keys: $(echo "$bad" | cut -d' ' -f3- | head -n 3)"
bad=$(awk '$3 != "200" && $3 != "000" && !($3 ~ /^5/ && $5 !~ /^\{/) &&
    !($3 == "401" && $5 ~ /"error":"install_token_already_used"/)' "$KG_TMP/xchg.all")
[ -z "$bad" ] || kg_fail "a: unexpected answers to the exchange: $(echo "$bad" | cut -d' ' -f3- | head -n 3)"
# Only the request in flight on a killed worker may fail.
[ "$nfail" -le ${#victims[@]} ] ||
	kg_fail "a: $nfail requests failed for ${#victims[@]} killed workers"

# Every key reported minted works.
valid_keys a "$KG_TMP/mint.all"
nkeys=$NKEYS
rows=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM api_keys")
mfail=$(failures "$KG_TMP/mint.all" | wc -l)
[ "$rows" -ge "$nkeys" ] && [ "$rows" -le $((nkeys + mfail)) ] ||
	kg_fail "a: $rows keys in the database, $nkeys reported minted, $mfail mints failed"

# Every token reported exchanged is consumed, once, and its daemon token
# works.
awk '$3 == "200"' "$KG_TMP/xchg.all" | cut -d' ' -f5- |
    jq -r '.daemon_id + " " + .token' | sed 's/^d-//' | sort >"$KG_TMP/exchanged"
nex=$(wc -l <"$KG_TMP/exchanged")
twice=$(cut -d' ' -f1 "$KG_TMP/exchanged" | uniq -d)
[ -z "$twice" ] || kg_fail "a: tokens exchanged twice: $twice"
[ "$nex" -ge 5 ] || kg_fail "a: only $nex tokens exchanged"
args=()
while read -r itok dtok; do
	args+=(-w '\n%{http_code}\n' -X POST -H 'Content-Type: application/json'
	    --data-binary "{\"token\":\"$itok\",\"daemon_id\":\"again\"}"
	    "$URL/v1/install-tokens/exchange" --next
	    -w '\n%{http_code}\n' -H "Authorization: Bearer $dtok"
	    "$URL/v1/daemon/whoami" --next)
done <"$KG_TMP/exchanged"
KG_CURL_TIMEOUT=60 kg_curl "${args[@]}" "$URL/health" -o /dev/null \
    >"$KG_TMP/recheck" || kg_fail "a: the re-check did not run"
# Per token four lines: the body and status of the exchange, then of
# the daemon whoami.
n=0
while read -r itok dtok; do
	IFS= read -r xbody <&3 && read -r xcode <&3 &&
	    IFS= read -r wbody <&3 && read -r wcode <&3 ||
		kg_fail "a: the re-check ended early"
	n=$((n + 1))
	[ "$xcode" = 401 ] && [[ $xbody == *'"error":"install_token_already_used"'* ]] ||
		kg_fail "a: exchanged token ${itok:0:12}... again: $xcode $xbody"
	[ "$wcode" = 200 ] && [[ $wbody == *"\"daemon_id\":\"d-$itok\""* ]] ||
		kg_fail "a: the daemon token of ${itok:0:12}...: $wcode $wbody"
done <"$KG_TMP/exchanged" 3<"$KG_TMP/recheck"
[ "$n" -eq "$nex" ] || kg_fail "a: re-checked $n of $nex exchanged tokens"
dup=$(kg_sql "$KG_DB" -e "SELECT install_token_id FROM daemon_tokens GROUP BY install_token_id HAVING COUNT(*) > 1")
[ -z "$dup" ] || kg_fail "a: install tokens with two daemon tokens: $dup"
used=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM install_tokens WHERE used_at IS NOT NULL")
dts=$(kg_sql "$KG_DB" -e "SELECT COUNT(*) FROM daemon_tokens")
xfail=$(failures "$KG_TMP/xchg.all" | wc -l)
kg_expect_eq "a: daemon tokens for used install tokens" "$dts" "$used"
[ "$used" -ge "$nex" ] && [ "$used" -le $((nex + xfail)) ] ||
	kg_fail "a: $used install tokens used, $nex reported exchanged, $xfail exchanges failed"
kg_log "a: $nkeys keys minted and valid, $nex tokens exchanged once each"

# ------------------------------------------------------------------ (b)
echo "b. a worker killed while its exchange waits on a locked row (at ${SECONDS}s)"
# procs LIKE: how many statements of the server's process list match
# (this query itself left out).
procs() {
	kg_sql -e "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '$1' AND ID <> CONNECTION_ID()"
}
# wait_procs LIKE N SECONDS: until procs LIKE says N.
wait_procs() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		[ "$(procs "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
kg_request POST "$URL/v1/namespaces/acme/install-tokens" \
    -H "Authorization: Bearer $akey" -H 'Content-Length: 0'
[ "$KG_STATUS" = 201 ] || kg_fail "b: minting an install token: $KG_STATUS $KG_BODY"
itok=$(printf '%s' "$KG_BODY" | jq -r .token)
iid=$(printf '%s' "$KG_BODY" | jq -r .id)
# The row stays locked until this session is killed.
kg_sql "$KG_DB" -e "BEGIN; SELECT id FROM install_tokens WHERE id = $iid FOR UPDATE; SELECT SLEEP(60); ROLLBACK" \
    >/dev/null 2>&1 &
kg_track $!
wait_procs 'SELECT SLEEP(60)%' 1 10 || kg_fail "b: the locking session does not run"
sleep 1.3	# every worker has lived long enough to be replaced at once
: >"$KG_TMP/b.log"
one_request "$KG_TMP/b.log" -X POST "$URL/v1/install-tokens/exchange" \
    -H 'Content-Type: application/json' \
    --data-binary "{\"token\":\"$itok\",\"daemon_id\":\"d-$itok\"}" &
EXCH=$!
kg_track "$EXCH"
# The exchange is inside a worker, waiting for the row (the locking
# session's statement now is the SLEEP).
wait_procs '%install_tokens%' 1 10 || kg_fail "b: the exchange never waited for the row"
before=$(kg_fcgi_workers)
for w in $before; do
	kill -KILL "$w" && victims+=("$w")
done
wait "$EXCH"
read -r _ _ code _ body <"$KG_TMP/b.log"
case $code in
000) ;;
5??) [ "${body#\{}" = "$body" ] || kg_fail "b: keygate answered the killed request: $code $body" ;;
*) kg_fail "b: the killed request got $code $body" ;;
esac
kg_log "b: the request in flight on the killed worker got $code"
# Its session ends when the server sees it gone; then the lock goes.
wait_procs '%install_tokens%' 0 10 || kg_fail "b: the killed worker's statement stays"
lid=$(kg_sql -e "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(60)%'")
kg_sql -e "KILL $lid" || kg_error "b: cannot end the locking session"
kg_wait_workers "$WORKERS" 5 || kg_fail "b: the master has not $WORKERS workers again"
[ -z "$(comm -12 <(echo "$before") <(kg_fcgi_workers))" ] ||
	kg_fail "b: killed workers are still there"
kg_expect_eq "b: the token is unused" \
    "$(kg_sql "$KG_DB" -e "SELECT used_at IS NULL FROM install_tokens WHERE id = $iid")" 1
kg_request POST "$URL/v1/install-tokens/exchange" -H 'Content-Type: application/json' \
    --data-binary "{\"token\":\"$itok\",\"daemon_id\":\"again\"}"
kg_expect_eq "b: exchange after the kill ($KG_BODY)" "$KG_STATUS" 200
kg_request POST "$URL/v1/install-tokens/exchange" -H 'Content-Type: application/json' \
    --data-binary "{\"token\":\"$itok\",\"daemon_id\":\"again\"}"
kg_expect_eq "b: the second exchange" "$KG_STATUS $(printf '%s' "$KG_BODY" | jq -r .error)" \
    "401 install_token_already_used"

# ------------------------------------------------------------------ (c)
echo "c. the database stopped, killed and frozen under load (at ${SECONDS}s)"
probe=$(mint probe) || exit 1
kg_request GET "$URL/v1/auth/whoami" -H "Authorization: Bearer $probe"
kg_expect_eq "c: the probe key works" "$KG_STATUS" 200

# db_routes_ok: true when whoami (with the probe key) and /ready answer 200.
db_routes_ok() {
	[ "$(kg_http_status "$URL/v1/auth/whoami" -H "Authorization: Bearer $probe")" = 200 ] &&
	    [ "$(kg_http_status "$URL/ready")" = 200 ]
}

# access_since OFFSET: the access lines of the log after byte OFFSET, as
# "PID METHOD PATH STATUS".
access_since() {
	tail -c +"$(( $1 + 1 ))" "$LOG" |
	    sed -n 's/.* access \([A-Z]*\) \([^ ]*\) \([0-9]*\) [0-9]*us pid=\([0-9]*\)$/\4 \1 \2 \3/p'
}

# every_worker_serves TAG WORKERS: whoami requests, 4 at a time, until
# each of WORKERS (pids) has answered 3 of them (10 rounds at most);
# every one must be 200.  Sets SERVED to "PID:COUNT ...".
every_worker_serves() {
	local tag=$1 pids=$2 off round c p short i args cpids
	off=$(wc -c <"$LOG")
	args=()
	for ((i = 0; i < 10; i++)); do
		args+=(-o /dev/null "$URL/v1/auth/whoami")
	done
	for ((round = 0; round < 10; round++)); do
		cpids=()
		for c in 1 2 3 4; do
			KG_CURL_TIMEOUT=30 kg_curl -H "Authorization: Bearer $probe" \
			    -w '%{http_code}\n' "${args[@]}" >"$KG_TMP/$tag-every.$c" &
			cpids+=($!)
		done
		wait "${cpids[@]}"
		sleep 0.2	# the last access lines
		access_since "$off" | awk '$3 == "/v1/auth/whoami"' >"$KG_TMP/$tag-every"
		short=
		for p in $pids; do
			[ "$(awk -v p="$p" '$1 == p' "$KG_TMP/$tag-every" | wc -l)" -ge 3 ] ||
				short="$short $p"
		done
		[ -n "$short" ] || break
	done
	[ -z "$short" ] || kg_fail "$tag: workers$short served fewer than 3 of $(wc -l <"$KG_TMP/$tag-every") requests"
	bad=$(awk '$4 != 200' "$KG_TMP/$tag-every")
	[ -z "$bad" ] || kg_fail "$tag: whoami after the outage: $(echo "$bad" | head -n 3 | tr '\n' ' ')"
	SERVED=$(awk '{ n[$1]++ } END { for (p in n) printf "%s:%d ", p, n[p] }' "$KG_TMP/$tag-every")
}

# outage SIGNAL SECONDS: the database gets SIGNAL (TERM, KILL or STOP)
# under load and comes back after SECONDS (started again, or SIGCONT).
outage() {
	local sig=$1 secs=$2 tag=c-$1 before off dbpid td t_back t2 tr f i inside ok bad key
	local kinds="whoami1 whoami2 ready health mint" k n
	kg_wait_workers "$WORKERS" 5 || kg_fail "$tag: the master has not $WORKERS workers"
	before=$(kg_fcgi_workers)
	off=$(wc -c <"$LOG")
	client "$tag-whoami1" get_client /v1/auth/whoami "$probe"
	client "$tag-whoami2" get_client /v1/auth/whoami "$probe"
	client "$tag-ready" get_client /ready ""
	client "$tag-health" get_client /health ""
	client "$tag-mint" mint_client
	sleep 0.7
	dbpid=$(kg_private_db_pid)
	[ -n "$dbpid" ] || kg_error "$tag: the database is not running"
	kill "-$sig" "$dbpid" || kg_error "$tag: kill -$sig $dbpid"
	if [ "$sig" = STOP ]; then
		# SIGCONT even if this test dies first: cleanup stops the server.
		( sleep "$secs"; echo "${EPOCHREALTIME/./}" >"$KG_TMP/$tag-cont"
		    kill -CONT "$dbpid" ) >/dev/null 2>&1 &
		f=$!
	else
		kg_wait_gone "$dbpid" 30 || kg_fail "$tag: the database did not end"
	fi
	td=${EPOCHREALTIME/./}
	if [ "$sig" = STOP ]; then
		wait "$f"
		t_back=$(cat "$KG_TMP/$tag-cont")	# taken before the SIGCONT
	else
		sleep "$secs"
		t_back=${EPOCHREALTIME/./}
	fi
	[ "$sig" = STOP ] || kg_private_db_start
	t2=${EPOCHREALTIME/./}
	for ((i = 0; i < 100; i++)); do
		db_routes_ok && break
		sleep 0.1
	done
	tr=${EPOCHREALTIME/./}
	db_routes_ok || kg_fail "$tag: whoami and /ready not back 10 s after the database"
	sleep 0.5
	load_stop
	kg_log "$tag (at ${SECONDS}s): database down $(( (t_back - td) / 1000 )) ms; answering again $(( (tr - t2) / 1000 )) ms after it was back"
	[ $(( tr - t2 )) -le 5000000 ] ||
		kg_fail "$tag: the database routes took $(( (tr - t2) / 1000 )) ms to recover"

	inside=0
	for k in $kinds; do
		f=$KG_TMP/$tag-$k.log
		n=$(wc -l <"$f")
		[ "$n" -ge 3 ] || kg_fail "$tag: only $n $k requests"
		# No request waits longer than the timeouts allow.
		bad=$(awk -v b="$BOUND_MS" '$4 > b' "$f")
		[ -z "$bad" ] || kg_fail "$tag: $k requests slower than $BOUND_MS ms: $(echo "$bad" | cut -d' ' -f3- | head -n 3)"
		case $k in
		health)
			bad=$(awk '$3 != 200' "$f")
			[ -z "$bad" ] || kg_fail "$tag: /health during the outage: $(echo "$bad" | cut -d' ' -f3- | head -n 3)"
			continue ;;
		mint) ok=201 ;;
		*) ok=200 ;;
		esac
		# Success, or keygate's 503; nothing else, ever.
		bad=$(awk -v ok="$ok" '$3 != ok && !($3 == 503 && $5 ~ /"error":"unavailable"/)' "$f")
		[ -z "$bad" ] || kg_fail "$tag: $k answered: $(echo "$bad" | cut -d' ' -f3- | head -n 3)"
		# With the database gone (and the cache's second over), 503.
		# (Inside the window: from before curl started to after it
		# ended; on a loaded machine that may be none of them.)
		bad=$(awk -v a=$((td + CACHE_MS * 1000)) -v z="$t_back" \
		    '$1 >= a && $2 <= z && $3 != 503' "$f")
		[ -z "$bad" ] || kg_fail "$tag: $k granted without a database: $(echo "$bad" | cut -d' ' -f3- | head -n 3)"
		# A request that ended with the database killed or frozen,
		# before it was back, and waited as long as a read timeout,
		# waited for the database in vain: it met a database failure
		# and must not grant either.  (Not after SIGTERM: a server
		# shutting down may still answer slowly.)
		bad=$(awk -v a="$td" -v z="$t_back" -v r=$((DB_READ * 1000)) \
		    -v ok="$ok" '$2 > a && $2 < z && $4 >= r && $3 == ok' "$f")
		[ "$sig" = TERM ] || [ -z "$bad" ] ||
			kg_fail "$tag: $k granted after waiting for a database that was away: $(echo "$bad" | cut -d' ' -f3- | head -n 3)"
		n=$(awk -v a=$((td + CACHE_MS * 1000)) -v z="$t_back" \
		    '$1 >= a && $2 <= z' "$f" | wc -l)
		inside=$((inside + n))
		grep -q '^[0-9]* [0-9]* 503 ' "$f" ||
			kg_fail "$tag: no $k request saw the database away"
		# Once it answered again, every request succeeds.
		bad=$(awk -v a="$tr" -v ok="$ok" '$1 >= a && $3 != ok' "$f")
		[ -z "$bad" ] || kg_fail "$tag: $k after the recovery: $(echo "$bad" | cut -d' ' -f3- | head -n 3)"
	done
	[ "$inside" -ge 1 ] ||
		kg_fail "$tag: no request ran wholly while the database was away"
	# keygate was not restarted: the same workers, none ended.
	kg_expect_eq "$tag: the workers" "$(kg_fcgi_workers | tr '\n' ' ')" "$(echo "$before" | tr '\n' ' ')"
	bad=$(tail -c +"$((off + 1))" "$LOG" | grep -E 'worker [0-9]+ (killed by|exited)')
	[ -z "$bad" ] || kg_fail "$tag: workers ended: $bad"
	# Each of them answers again, and a write works.
	every_worker_serves "$tag" "$before"
	kg_log "$tag: whoami per worker after the outage: $SERVED"
	key=$(mint "after-$sig") || exit 1
	kg_request GET "$URL/v1/auth/whoami" -H "Authorization: Bearer $key"
	kg_expect_eq "$tag: a key minted after the outage works" "$KG_STATUS" 200
	# Every key reported minted, before or after, is there.
	valid_keys "$tag" "$KG_TMP/$tag-mint.log"
	kg_log "$tag: statuses: $(cat "$KG_TMP/$tag"-*.log | awk '{ print $3 }' | sort | uniq -c | tr -s ' \n' ' ')"
}

# SIGTERM differs from SIGKILL only in how the server ends its sessions:
# in the first, heavy pass of tools/dev test only (keeps this test within
# a minute on two loaded CPUs).
[ "${KEYGATE_TEST_HEAVY:-0}" != 1 ] || outage TERM 2
outage KILL 2
# Frozen longer than a read and a reconnect (DB_READ + DB_CONNECT): the
# requests waiting on it must end in 503 before it thaws.
outage STOP 5
# No worker ended but those killed here, and none of them reported a
# sanitizer error (a --enable-sanitizers build).
n=$(grep -cE 'worker [0-9]+ (killed by signal|exited with status)' "$LOG")
kg_expect_eq "workers that ended" "$n" "${#victims[@]}"
bad=$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$LOG" | head -n 5)
[ -z "$bad" ] || kg_fail "sanitizer reports: $bad"
kg_log "done in ${SECONDS}s"
