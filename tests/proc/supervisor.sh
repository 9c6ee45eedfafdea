#!/bin/bash
# tests/proc/supervisor.sh: the supervisor of keygate-fcgi, exercised as a
# process behind a real lighttpd, with curl, on /health only (no database):
#   a. a worker killed with SIGKILL under load is replaced within ~2 s,
#      and afterwards 200 requests in a row succeed;
#   f. a FastCGI connection kept open by the web server (FCGI_KEEP_CONN,
#      as nginx fastcgi_keep_conn and Apache enablereuse ask for) gets
#      every request on it answered;
#   c. a broken config on SIGHUP changes nothing (same pids, the log says
#      why); the fixed config on SIGHUP replaces the workers one by one
#      while requests keep succeeding;
#   d. with max_requests_per_worker = 50, 200 requests recycle the workers
#      and none fails;
#   e. a worker that dies at once is respawned after a doubling delay
#      (500 ms, 1 s, 2 s), never in a tight loop, and serving goes on;
#   b. SIGTERM while a request is in flight (a slowly uploaded body): the
#      request still gets keygate's complete answer, and the master exits
#      within shutdown_timeout.
# (In this order: f needs workers that do not recycle, b ends the master.)
set -u
export LC_ALL=C	# sort and comm agree on order

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

[ -x "$top_builddir/keygate-fcgi" ] ||
	{ echo "supervisor.sh: $top_builddir/keygate-fcgi is not built" >&2; exit 99; }
kg_require_prog curl lighttpd
kg_init

WORKERS=2
SHUTDOWN=10
FPORT=$(kg_free_port)
CONF=$KG_TMP/keygate.conf
BASE_CONF=(
	"listen = tcp:127.0.0.1:$FPORT"
	"workers = $WORKERS"
	"shutdown_timeout = $SHUTDOWN"
	"access_log = false"
	"log_level = info"
)
kg_write_config "$CONF" "${BASE_CONF[@]}"
kg_start_fcgi "$CONF"
# Stream request bodies to keygate as they arrive (test d needs the
# request to be inside a worker while the body is still uploading).
KG_LIGHTTPD_EXTRA='server.stream-request-body = 2' \
    kg_start_lighttpd 127.0.0.1 "$FPORT" /
URL=$KG_HTTP_URL/health
LOG=$KG_FCGI_LOG
MASTER=$KG_FCGI_PID
kg_wait_http "$URL" 10 || kg_fail "/health does not answer 200"

# wait_workers N SECONDS: waits until the master has exactly N children.
wait_workers() {
	local n=$1 limit=$(( $2 * 20 )) i=0
	while [ $i -lt $limit ]; do
		[ "$(kg_fcgi_workers "$MASTER" | wc -l)" -eq "$n" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# oneline [TEXT]: TEXT (or stdin) with newlines as spaces.
oneline() {
	if [ $# -gt 0 ]; then printf '%s\n' "$1"; else cat; fi | tr '\n' ' '
}

# count_ok FILE: prints how many lines are 200, and how many are not.
count_ok() {
	local ok bad
	ok=$(grep -c '^200$' "$1" || true)
	bad=$(grep -vc '^200$' "$1" || true)
	echo "$ok $bad"
}

# run_200 TAG: 200 requests in a row, all must be 200.
run_200() {
	local out=$KG_TMP/$1.codes ok bad
	kg_http_many "$URL" 200 >"$out"
	read -r ok bad < <(count_ok "$out")
	[ "$ok" -eq 200 ] && [ "$bad" -eq 0 ] ||
		kg_fail "$1: $ok of 200 requests answered 200 ($bad others: $(sort "$out" | uniq -c | tr '\n' ' '))"
}

# A bounded background load: one request at a time for up to $1 seconds
# (or until $KG_TMP/stop-load exists), one status a line in $2.
load_start() {
	local secs=$1 out=$2
	rm -f "$KG_TMP/stop-load"
	(
		end=$((SECONDS + secs))
		while [ $SECONDS -lt $end ] && [ ! -e "$KG_TMP/stop-load" ]; do
			KG_CURL_TIMEOUT=5 kg_http_status "$URL"
			echo
		done
	) >"$out" &
	LOAD_PID=$!
	kg_track "$LOAD_PID"
}

load_stop() {
	touch "$KG_TMP/stop-load"
	wait "$LOAD_PID" 2>/dev/null
}

wait_workers "$WORKERS" 5 || kg_fail "expected $WORKERS workers, have: $(kg_fcgi_workers | tr '\n' ' ')"

# ------------------------------------------------------------------ (a)
echo "a. SIGKILL one worker under load"
before=$(kg_fcgi_workers)
victim=$(echo "$before" | head -n 1)
load_start 15 "$KG_TMP/a-load.codes"
sleep 0.5
kill -KILL "$victim"
t0=$SECONDS
replaced=0
for ((i = 0; i < 60; i++)); do	# 3 s at most; ~2 s expected
	now=$(kg_fcgi_workers)
	if ! echo "$now" | grep -qx "$victim" &&
	    [ "$(echo "$now" | wc -l)" -eq "$WORKERS" ] &&
	    [ -n "$(comm -13 <(echo "$before") <(echo "$now"))" ]; then
		replaced=1
		break
	fi
	sleep 0.05
done
load_stop
[ $replaced -eq 1 ] || kg_fail "a: no replacement for worker $victim after 3 s (workers: $(kg_fcgi_workers | tr '\n' ' '))"
kg_log "a: worker $victim replaced within $((SECONDS - t0)) s"
grep -q "worker $victim killed by signal 9" "$LOG" ||
	kg_fail "a: the master did not log why worker $victim ended"
read -r ok bad < <(count_ok "$KG_TMP/a-load.codes")
kg_log "a: during the kill: $ok ok, $bad failed (the killed worker's request may fail)"
[ "$ok" -gt 0 ] || kg_fail "a: no request succeeded during the load"
run_200 a-after

# ------------------------------------------------------------------ (f)
echo "f. FCGI_KEEP_CONN"
# fcgi_request ID: one FastCGI request for GET /health with KEEP_CONN set
# (BEGIN_REQUEST role 1 flags 1, PARAMS of 39 bytes, empty PARAMS, empty
# STDIN).
fcgi_request() {
	printf "\x01\x01\x00\x$1\x00\x08\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00"
	printf "\x01\x04\x00\x$1\x00\x27\x00\x00"
	printf "\x0e\x03REQUEST_METHODGET\x0b\x07REQUEST_URI/health"
	printf "\x01\x04\x00\x$1\x00\x00\x00\x00"
	printf "\x01\x05\x00\x$1\x00\x00\x00\x00"
}
# (Before test c: a worker that recycles closes the kept connection.)
trap '' PIPE	# a closed connection is a failure below, not a signal
exec 3<>"/dev/tcp/127.0.0.1/$FPORT" || kg_error "f: cannot connect to keygate"
fcgi_request 01 >&3
sleep 0.3
fcgi_request 02 >&3
sleep 0.3
fcgi_request 03 >&3
# The connection stays open: read what arrived within a second.
timeout 1 cat <&3 >"$KG_TMP/f-out" 2>/dev/null
exec 3>&- 3<&-
trap - PIPE
n=$(grep -ac 'Status: 200 OK' "$KG_TMP/f-out" || true)
[ "$n" -eq 3 ] || kg_fail "f: $n of 3 requests on a kept connection were answered"
run_200 f-after

# ------------------------------------------------------------------ (c)
echo "c. SIGHUP with a broken, then a fixed config"
before=$(kg_fcgi_workers)
kg_write_config "$CONF" "${BASE_CONF[@]}" "no_such_key = 1"
kill -HUP "$MASTER"
kg_wait_log "$LOG" 'reload refused: .*no_such_key' 5 ||
	kg_fail "c: the log does not say why the reload was refused"
sleep 0.5
[ "$(kg_fcgi_workers)" = "$before" ] ||
	kg_fail "c: the workers changed after a refused reload"
run_200 c-broken

kg_write_config "$CONF" "${BASE_CONF[@]}" "max_body = 32k"
load_start 20 "$KG_TMP/c-load.codes"
sleep 0.3
kill -HUP "$MASTER"
# Watch the worker set until none of the old workers is left.
snapshots=$KG_TMP/c-snapshots
: >"$snapshots"
done_swap=0
for ((i = 0; i < 200; i++)); do	# 10 s at most
	now=$(kg_fcgi_workers)
	echo "$now" | tr '\n' ' ' >>"$snapshots"
	echo >>"$snapshots"
	if [ -z "$(comm -12 <(echo "$before") <(echo "$now"))" ] &&
	    [ "$(echo "$now" | wc -l)" -eq "$WORKERS" ]; then
		done_swap=1
		break
	fi
	sleep 0.05
done
sleep 0.3
load_stop
[ $done_swap -eq 1 ] || kg_fail "c: the old workers were not all replaced within 10 s"
while read -r line; do
	[ -n "$line" ] || kg_fail "c: at some moment the master had no worker"
done <"$snapshots"
# One by one: an old worker is only asked to stop once the previous one
# has exited.
awk '/reload: configuration .* accepted/ { on = 1 }
    on && /asked to stop/ { if (busy) bad = 1; busy = 1 }
    on && /exited with status|killed by signal/ { busy = 0 }
    END { exit bad }' "$LOG" ||
	kg_fail "c: two old workers were stopped at the same time"
read -r ok bad < <(count_ok "$KG_TMP/c-load.codes")
[ "$bad" -eq 0 ] && [ "$ok" -gt 0 ] ||
	kg_fail "c: $bad of $((ok + bad)) requests failed during the swap"
kg_log "c: workers $(oneline "$before") replaced one by one by $(kg_fcgi_workers | oneline); $ok requests, none failed"

# ------------------------------------------------------------------ (d)
echo "d. max_requests_per_worker = 50"
before=$(kg_fcgi_workers)
kg_write_config "$CONF" "${BASE_CONF[@]}" "max_requests_per_worker = 50"
kill -HUP "$MASTER"
for ((i = 0; i < 200; i++)); do
	now=$(kg_fcgi_workers)
	[ -z "$(comm -12 <(echo "$before") <(echo "$now"))" ] &&
	    [ "$(echo "$now" | wc -l)" -eq "$WORKERS" ] && break
	sleep 0.05
done
wait_workers "$WORKERS" 5 || kg_fail "d: the reload did not settle"
before=$(kg_fcgi_workers)
run_200 d-recycle
sleep 0.3
now=$(kg_fcgi_workers)
[ -z "$(comm -12 <(echo "$before") <(echo "$now"))" ] ||
	kg_fail "d: after 200 requests worker(s) $(comm -12 <(echo "$before") <(echo "$now") | tr '\n' ' ')are still the same"
grep -q 'recycling after 50 requests' "$LOG" ||
	kg_fail "d: no worker logged its recycling"
kg_log "d: workers $(oneline "$before") recycled into $(oneline "$now")"

# ------------------------------------------------------------------ (e)
echo "e. quick deaths back off"
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
# next_worker SEEN: waits (10 s at most) for a worker not in SEEN.
next_worker() {
	local seen=$1 i now
	for ((i = 0; i < 400; i++)); do
		now=$(kg_fcgi_workers)
		new=$(comm -13 <(echo "$seen") <(echo "$now") | head -n 1)
		[ -n "$new" ] && { echo "$new"; return 0; }
		sleep 0.025
	done
	return 1
}
sleep 1.2	# every worker has now lived longer than a quick death
seen=$(kg_fcgi_workers)
victim=$(echo "$seen" | head -n 1)
kill -KILL "$victim"
t0=$(ms_now)
# Long-lived worker: at once.  Then each replacement is killed at once,
# so the next start must wait 500, 1000, 2000 ms.
for min in 0 450 950 1900; do
	new=$(next_worker "$seen") || kg_fail "e: no worker started after $victim died"
	dt=$(( $(ms_now) - t0 ))
	kg_log "e: worker $new started ${dt} ms after $victim died (at least $min ms expected)"
	[ "$dt" -ge "$min" ] || kg_fail "e: respawned after $dt ms, expected a back-off of at least $min ms"
	[ "$min" -ne 0 ] || [ "$dt" -le 1500 ] || kg_fail "e: a long-lived worker was respawned only after $dt ms"
	seen=$(printf '%s\n%s\n' "$seen" "$new" | LC_ALL=C sort)
	[ "$min" -eq 1900 ] && break
	victim=$new
	kill -KILL "$victim"
	t0=$(ms_now)
done
for d in 500 1000 2000; do
	grep -q "next worker start delayed by $d ms" "$LOG" ||
		kg_fail "e: no back-off of $d ms in the log"
done
wait_workers "$WORKERS" 5 || kg_fail "e: the master did not recover $WORKERS workers"
run_200 e-after

# ------------------------------------------------------------------ (b)
echo "b. SIGTERM drains an in-flight request"
head -c 12000 /dev/zero | tr '\0' 'x' >"$KG_TMP/body"
# 12000 bytes at 3000 B/s: the worker is reading the body for ~4 s.
kg_curl --max-time 30 --limit-rate 3000 -H 'Expect:' \
    -H 'Content-Type: application/json' --data-binary @"$KG_TMP/body" \
    -o "$KG_TMP/b-body" -w '%{http_code} %{time_total}\n' "$URL" \
    >"$KG_TMP/b-status" 2>"$KG_TMP/b-curl.err" &
SLOW=$!
kg_track "$SLOW"
sleep 1.2
kill -0 "$SLOW" 2>/dev/null || kg_fail "b: the slow request ended too soon: $(cat "$KG_TMP/b-status")"
t0=$(date +%s%N)
kill -TERM "$MASTER"
for ((i = 0; i < (SHUTDOWN + 2) * 20; i++)); do
	kill -0 "$MASTER" 2>/dev/null || break
	sleep 0.05
done
t1=$(date +%s%N)
kill -0 "$MASTER" 2>/dev/null &&
	kg_fail "b: the master is still running $((SHUTDOWN + 2)) s after SIGTERM"
wait "$MASTER"
rc=$?
wait "$SLOW"
read -r code total <"$KG_TMP/b-status"
elapsed_ms=$(( (t1 - t0) / 1000000 ))
kg_log "b: master exited with status $rc ${elapsed_ms} ms after SIGTERM; the slow request got $code after ${total}s"
[ "$rc" -eq 0 ] || kg_fail "b: the master exited with status $rc"
[ "$elapsed_ms" -le $((SHUTDOWN * 1000)) ] ||
	kg_fail "b: the master took longer than shutdown_timeout"
# Keygate's own answer (/health is GET only: 405 with its JSON error),
# not the web server's 5xx for a lost backend.
case $code in
000|5??) kg_fail "b: the in-flight request was lost: status $code, $(cat "$KG_TMP/b-curl.err")" ;;
esac
grep -q '"error"' "$KG_TMP/b-body" ||
	kg_fail "b: the answer is not keygate's: $(head -c 200 "$KG_TMP/b-body")"
[ "$elapsed_ms" -ge 1000 ] ||
	kg_fail "b: the master did not wait for the in-flight request (${elapsed_ms} ms)"
grep -q 'all workers stopped' "$LOG" || kg_fail "b: no clean shutdown in the log"
[ -z "$(kg_fcgi_workers "$MASTER")" ] || kg_fail "b: workers left behind"

echo "supervisor: all tests passed"
exit 0
