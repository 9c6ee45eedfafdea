#!/bin/bash
# tests/proc/supervisor.sh: the supervisor and the worker loop of
# keygate-fcgi, exercised as processes, on /health and unknown paths only
# (no database).  Behind a real lighttpd, with curl:
#   a. a worker killed with SIGKILL under load is replaced within ~2 s,
#      and afterwards 200 requests in a row succeed;
#   c. a broken config on SIGHUP changes nothing (same pids, the log says
#      why); the fixed config on SIGHUP replaces the workers one by one,
#      never fewer than `workers` serving, while requests keep succeeding;
#   d. with max_requests_per_worker = 50, 200 requests recycle the workers
#      and none fails;
#   e. a worker that dies at once is respawned after a doubling delay
#      (500 ms, 1 s, 2 s), never in a tight loop, and serving goes on;
#   b. SIGTERM while a request is in flight (a slowly uploaded body): the
#      request still gets keygate's complete answer, and the master exits
#      within shutdown_timeout.
# A second keygate-fcgi with one worker and a 2 s I/O timeout
# (KEYGATE_FCGI_IO_TIMEOUT), spoken to over FastCGI from the shell:
#   f. a connection on which the web server asked to keep it
#      (FCGI_KEEP_CONN, nginx fastcgi_keep_conn) gets its answer and is
#      closed, and a request on another connection is answered at once;
#   g. a connection that sends nothing, or stops in the middle of its
#      body, is closed after the timeout and the worker serves the next
#      one; a slow but steady upload longer than the timeout succeeds;
#   h. the access line of a long non-ASCII path keeps status, duration
#      and pid;
#   i. SIGINT while a body is being uploaded: the request gets its whole
#      answer, and the master exits 0.
# And keygate-fcgi spawned by lighttpd (`bin-path`, a unix socket on fd 0,
# one worker, the same 2 s I/O timeout):
#   j. it serves, a killed worker is replaced by its own master, and a
#      unix connection that stops after 3 bytes is closed after the
#      timeout (Linux gives accepted unix sockets no timeouts of the
#      listening one, unlike TCP: this needs the worker's own bound).
# (In this order: b ends the first master, i the second.)
set -u
export LC_ALL=C	# sort and comm agree on order; byte-exact FastCGI

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

[ -x "$top_builddir/keygate-fcgi" ] ||
	{ echo "supervisor.sh: $top_builddir/keygate-fcgi is not built" >&2; exit 99; }
kg_require_prog curl lighttpd ps timeout od perl
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

kg_wait_workers "$WORKERS" 5 || kg_fail "expected $WORKERS workers, have: $(kg_fcgi_workers | tr '\n' ' ')"

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
# One by one, never below capacity: roll_check replays the master's log
# line by line.  A worker is "serving" from its "started" line until it is
# "asked to stop" or exits, "stopping" from "asked to stop" until it
# exits.  From the accepted reload on, at each "asked to stop": at most
# one worker may be stopping (two at once is what one by one forbids),
# and at least WORKERS must still be serving (the replacement was started
# first).  Every exit ends only its own pid, so a recycled or killed
# worker elsewhere cannot hide a second stop.  It must also have seen a
# stop per old worker, so it cannot pass on a log it does not understand.
roll_check() {
	awk -v want="$WORKERS" '
	function pid() { match($0, /worker [0-9]+/)
		return substr($0, RSTART + 7, RLENGTH - 7) }
	function count(a,   k, n) { n = 0; for (k in a) n++; return n }
	/reload: configuration .* accepted/ { on = 1 }
	/worker [0-9]+ started/ { serving[pid()] = 1 }
	/worker [0-9]+ (exited with status|killed by signal)/ {
		delete serving[pid()]; delete stopping[pid()] }
	/worker [0-9]+ asked to stop/ {
		delete serving[pid()]; stopping[pid()] = 1
		if (on) {
			stops++
			if (count(stopping) > 1) {
				print "line " NR ": " count(stopping) " workers stopping at once"; bad = 1 }
			if (count(serving) < want) {
				print "line " NR ": only " count(serving) " workers serving"; bad = 1 }
		}
	}
	END {
		if (stops < want) { print stops " old workers asked to stop"; bad = 1 }
		exit bad
	}' "$1"
}
# The check itself, on made-up logs: one it must pass, and three it must
# not (two stopped at once; the same with a recycled worker exiting in
# between, which fooled the check this one replaces; no replacement).
printf '%s\n' "worker 1 started" "worker 2 started" "reload: configuration x accepted" \
    "worker 3 started" "worker 1 asked to stop" "worker 1 exited with status 0" \
    "worker 4 started" "worker 2 asked to stop" "worker 2 killed by signal 9" \
    >"$KG_TMP/roll-good"
printf '%s\n' "worker 1 started" "worker 2 started" "reload: configuration x accepted" \
    "worker 3 started" "worker 1 asked to stop" "worker 4 started" \
    "worker 2 asked to stop" "worker 1 exited with status 0" >"$KG_TMP/roll-two"
printf '%s\n' "worker 1 started" "worker 2 started" "reload: configuration x accepted" \
    "worker 3 started" "worker 1 asked to stop" "worker 3 exited with status 0" \
    "worker 4 started" "worker 5 started" "worker 2 asked to stop" \
    "worker 1 exited with status 0" >"$KG_TMP/roll-recycle"
printf '%s\n' "worker 1 started" "worker 2 started" "reload: configuration x accepted" \
    "worker 1 asked to stop" "worker 1 exited with status 0" "worker 3 started" \
    "worker 4 started" "worker 2 asked to stop" >"$KG_TMP/roll-short"
roll_check "$KG_TMP/roll-good" >/dev/null || kg_error "c: roll_check refuses a good roll"
for bad in two recycle short; do
	roll_check "$KG_TMP/roll-$bad" >/dev/null &&
		kg_error "c: roll_check accepts a bad roll ($bad)"
done
why=$(roll_check "$LOG") ||
	kg_fail "c: the workers were not replaced one by one: $(oneline "$why")"
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
kg_wait_workers "$WORKERS" 5 || kg_fail "d: the reload did not settle"
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
# lived PID: how long the master says worker PID lived (ms), once reaped.
lived() {
	local i l
	for ((i = 0; i < 200; i++)); do
		l=$(sed -n "s/.*worker $1 killed by signal 9 (Killed) after \([0-9]*\) ms.*/\1/p" "$LOG" | tail -n 1)
		[ -n "$l" ] && { echo "$l"; return 0; }
		sleep 0.025
	done
	echo 0
}
# One chain: kill a long-lived worker (replaced at once), then each
# replacement as soon as it shows (the next start must wait 500, 1000,
# 2000 ms).  A replacement that lived 1 s or more before our kill landed
# (a loaded machine) is no quick death: the chain is void (status 2).
backoff_chain() {
	local min victim new dt t0 l
	seen=$(kg_fcgi_workers)
	victim=$(echo "$seen" | head -n 1)
	kill -KILL "$victim"
	t0=$(ms_now)
	for min in 0 450 950 1900; do
		new=$(next_worker "$seen") || kg_fail "e: no worker started after $victim died"
		dt=$(( $(ms_now) - t0 ))
		if [ "$min" -ne 0 ] && l=$(lived "$victim") && [ "$l" -ge 1000 ]; then
			kg_log "e: worker $victim lived $l ms before the kill: not a quick death, chain void"
			return 2
		fi
		kg_log "e: worker $new started ${dt} ms after $victim died (at least $min ms expected)"
		[ "$dt" -ge "$min" ] || kg_fail "e: respawned after $dt ms, expected a back-off of at least $min ms"
		[ "$min" -ne 0 ] || [ "$dt" -le 1500 ] || kg_fail "e: a long-lived worker was respawned only after $dt ms"
		seen=$(printf '%s\n%s\n' "$seen" "$new" | LC_ALL=C sort)
		[ "$min" -eq 1900 ] && return 0
		victim=$new
		kill -KILL "$victim"
		t0=$(ms_now)
	done
}
for attempt in 1 2 3; do
	sleep 1.2	# every worker has now lived longer than a quick death
	backoff_chain && break
	[ "$attempt" -lt 3 ] || kg_fail "e: three chains voided by a slow machine"
	kg_wait_workers "$WORKERS" 10 || kg_fail "e: the master did not recover $WORKERS workers"
done
for d in 500 1000 2000; do
	grep -q "next worker start delayed by $d ms" "$LOG" ||
		kg_fail "e: no back-off of $d ms in the log"
done
kg_wait_workers "$WORKERS" 5 || kg_fail "e: the master did not recover $WORKERS workers"
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

# ====================================== one worker, 2 s I/O timeout, FastCGI
IOT=2
SPORT=$(kg_free_port)
SCONF=$KG_TMP/single.conf
kg_write_config "$SCONF" "listen = tcp:127.0.0.1:$SPORT" "workers = 1" \
    "shutdown_timeout = $SHUTDOWN" "access_log = true" "log_level = info"
KG_FCGI_LOG=$KG_TMP/fcgi-single.log
KEYGATE_FCGI_IO_TIMEOUT=$IOT kg_start_fcgi "$SCONF"
SLOG=$KG_FCGI_LOG
SMASTER=$KG_FCGI_PID
kg_wait_log "$SLOG" 'worker [0-9]+ started' 5 || kg_fail "the second keygate started no worker"
grep -q "FastCGI I/O timeout $IOT s" "$SLOG" ||
	kg_fail "the second keygate does not log its I/O timeout of $IOT s"
SWORKER=$(kg_fcgi_workers "$SMASTER")
trap '' PIPE	# writing to a connection keygate closed fails, not kills

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# slow_post FD PAUSE [PID SIGNAL]: writes to FD a POST /health whose JSON
# body arrives in three parts, PAUSE seconds apart (and sends SIGNAL to PID
# after the first part); the caller reads the answer.  A worker that reads
# all of it answers 405 (/health is GET only), one that fails to read it
# 400.
SLOW_PARTS=('{"a":"0123456' '789012345678' '9"}')
slow_post() {
	local fd=$1 pause=$2 len part n=0
	len=$(printf '%s' "${SLOW_PARTS[@]}" | wc -c)
	{
		kg_fcgi_begin 1
		kg_fcgi_params 1 REQUEST_METHOD=POST REQUEST_URI=/health \
		    CONTENT_TYPE=application/json "CONTENT_LENGTH=$len"
	} >&"$fd"
	for part in "${SLOW_PARTS[@]}"; do
		kg_fcgi_stdin 1 "$part" >&"$fd"
		sleep "$pause"
		n=$((n + 1))
		[ $n -ne 1 ] || [ $# -lt 4 ] || kill "-$4" "$3"
	done
	kg_fcgi_stdin 1 >&"$fd"
}

# expect_answer TAG FILE STATUS: FILE holds one whole answer with STATUS.
expect_answer() {
	local st end
	st=$(kg_fcgi_status "$2")
	end=$(kg_fcgi_end "$2")
	[ "$st" = "$3" ] && [ "$end" = 0 ] ||
		kg_fail "$1: expected a complete $3, got status '${st:-none}', end of request '${end:-none}' ($(wc -c <"$2") bytes)"
}

# ------------------------------------------------------------------ (f)
echo "f. FCGI_KEEP_CONN does not pin the worker"
exec 3<>"/dev/tcp/127.0.0.1/$SPORT" || kg_error "f: cannot connect to keygate"
kg_fcgi_get 1 /health 1 >&3	# A, kept open on our side
sleep 0.2			# answered: the worker is free again
t0=$(date +%s%N)
exec 4<>"/dev/tcp/127.0.0.1/$SPORT" || kg_error "f: cannot connect to keygate"
kg_fcgi_get 1 /health 1 >&4	# B, a new connection
timeout 5 cat <&4 >"$KG_TMP/f-b.out"
rc_b=$?
dt=$(ms_since "$t0")
timeout 2 cat <&3 >"$KG_TMP/f-a.out"
rc_a=$?
exec 3<&- 4<&-
[ "$(kg_fcgi_status "$KG_TMP/f-b.out")" = 200 ] ||
	kg_fail "f: a request on a new connection was not answered within 5 s while another connection was kept open (the worker is pinned)"
expect_answer "f: B" "$KG_TMP/f-b.out" 200
expect_answer "f: A" "$KG_TMP/f-a.out" 200
# The promise: one request per connection, closed after its answer.
[ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ] ||
	kg_fail "f: keygate did not close the connections after their answers (A: $rc_a, B: $rc_b)"
# At once: a web server need not close a connection it asked to keep
# (a pooled idle one is not watched), so a close that waits for it (libfcgi
# lingers up to 2 s) would hold the worker after every such request.
[ "$dt" -le 1500 ] ||
	kg_fail "f: B was answered only after $dt ms: the worker was held by A after its answer"
kg_log "f: B answered and closed in $dt ms while A was held open; A answered and closed"

# ------------------------------------------------------------------ (g)
echo "g. I/O timeouts"
# g1. A connection that sends nothing: the worker waits on it, then on the
# timeout closes it and answers the request queued behind it.
exec 5<>"/dev/tcp/127.0.0.1/$SPORT" || kg_error "g: cannot connect to keygate"
sleep 0.3			# the worker has accepted it and reads
t0=$(date +%s%N)
exec 6<>"/dev/tcp/127.0.0.1/$SPORT" || kg_error "g: cannot connect to keygate"
kg_fcgi_get 1 /health >&6
timeout $((2 * IOT + 2)) cat <&6 >"$KG_TMP/g1.out"
dt=$(ms_since "$t0")
timeout 1 cat <&5 >"$KG_TMP/g1-silent.out"
rc_silent=$?
exec 5<&- 6<&-
[ -n "$(kg_fcgi_status "$KG_TMP/g1.out")" ] ||
	kg_fail "g: behind a silent connection, a request got no answer within $((2 * IOT + 2)) s"
expect_answer "g: behind a silent connection" "$KG_TMP/g1.out" 200
[ "$dt" -le $((2 * IOT * 1000 + 1000)) ] ||
	kg_fail "g: behind a silent connection, the answer took $dt ms (I/O timeout $IOT s)"
[ "$rc_silent" -eq 0 ] && [ ! -s "$KG_TMP/g1-silent.out" ] ||
	kg_fail "g: the silent connection was not closed (or got bytes)"
kg_wait_log "$SLOG" "no complete request within $IOT s" 2 ||
	kg_fail "g: the worker did not log why it closed the silent connection"
kg_log "g: a request behind a silent connection answered after $dt ms"

# g2. A body that stops halfway: that request fails, the next one is
# served.  (This client reads its answer and closes when keygate does, as
# a web server would: keygate's lingering close then ends at once.)
exec 5<>"/dev/tcp/127.0.0.1/$SPORT" || kg_error "g: cannot connect to keygate"
{
	kg_fcgi_begin 1
	kg_fcgi_params 1 REQUEST_METHOD=POST REQUEST_URI=/health \
	    CONTENT_TYPE=application/json CONTENT_LENGTH=20
	kg_fcgi_stdin 1 '{"a":"1234'
} >&5
timeout $((2 * IOT + 2)) cat <&5 >"$KG_TMP/g2-stalled.out" &
STALLED=$!
exec 5<&-
sleep 0.3
t0=$(date +%s%N)
exec 6<>"/dev/tcp/127.0.0.1/$SPORT" || kg_error "g: cannot connect to keygate"
kg_fcgi_get 1 /health >&6
timeout $((2 * IOT + 2)) cat <&6 >"$KG_TMP/g2.out"
dt=$(ms_since "$t0")
exec 6<&-
wait "$STALLED"
rc_stalled=$?
[ -n "$(kg_fcgi_status "$KG_TMP/g2.out")" ] ||
	kg_fail "g: behind a stalled body, a request got no answer within $((2 * IOT + 2)) s"
expect_answer "g: behind a stalled body" "$KG_TMP/g2.out" 200
[ "$dt" -le $((2 * IOT * 1000 + 1000)) ] ||
	kg_fail "g: behind a stalled body, the answer took $dt ms (I/O timeout $IOT s)"
# The stalled request ends with keygate's 400, then the connection closes.
expect_answer "g: the stalled request" "$KG_TMP/g2-stalled.out" 400
[ "$rc_stalled" -eq 0 ] || kg_fail "g: the stalled connection was not closed"
kg_log "g: a request behind a stalled body answered after $dt ms"

# g3. A slow but steady body, longer in all than the timeout: each read is
# bounded, not the whole request.  All of it is read, so /health's 405.
exec 5<>"/dev/tcp/127.0.0.1/$SPORT" || kg_error "g: cannot connect to keygate"
t0=$(date +%s%N)
slow_post 5 0.8
timeout 5 cat <&5 >"$KG_TMP/g3.out"
dt=$(ms_since "$t0")
exec 5<&-
expect_answer "g: a slow upload of $dt ms" "$KG_TMP/g3.out" 405
[ "$dt" -gt $((IOT * 1000)) ] || kg_fail "g: the slow upload was not slow ($dt ms)"
[ "$(kg_fcgi_workers "$SMASTER")" = "$SWORKER" ] ||
	kg_fail "g: worker $SWORKER is gone (now: $(kg_fcgi_workers "$SMASTER" | oneline))"
kg_log "g: a ${dt} ms upload answered 405; worker $SWORKER served throughout"

# ------------------------------------------------------------------ (h)
echo "h. the access line of a long non-ASCII path"
long=/$(head -c 1000 /dev/zero | tr '\0' '\351')	# 1000 x 0xE9: 3000 logged
exec 5<>"/dev/tcp/127.0.0.1/$SPORT" || kg_error "h: cannot connect to keygate"
kg_fcgi_get 1 "$long" >&5
timeout 5 cat <&5 >"$KG_TMP/h.out"
exec 5<&-
expect_answer "h" "$KG_TMP/h.out" 404
kg_wait_log "$SLOG" "access GET /%E9" 2 || kg_fail "h: no access line"
line=$(grep -a "access GET /%E9" "$SLOG" | tail -n 1)
printf '%s\n' "$line" | grep -Eq "^[^ ]+ access GET /(%E9)+\.\.\. 404 [0-9]+us pid=$SWORKER\$" ||
	kg_fail "h: the access line lost its end: ...$(printf '%s' "$line" | tail -c 80)"
[ "${#line}" -lt 2048 ] || kg_fail "h: an access line of ${#line} bytes"

# ------------------------------------------------------------------ (i)
echo "i. SIGINT drains an upload in flight"
exec 5<>"/dev/tcp/127.0.0.1/$SPORT" || kg_error "i: cannot connect to keygate"
# SIGINT 0.5 s into the body, 1 s before its end.
t0=$(date +%s%N)
slow_post 5 0.5 "$SMASTER" INT
timeout 5 cat <&5 >"$KG_TMP/i.out"
exec 5<&-
kg_wait_gone "$SMASTER" $((SHUTDOWN + 2)) ||
	kg_fail "i: the master is still running $((SHUTDOWN + 2)) s after SIGINT"
dt=$(ms_since "$t0")
wait "$SMASTER"
rc=$?
# All of the body was read after SIGINT (else a 400), and answered.
expect_answer "i: the upload in flight" "$KG_TMP/i.out" 405
[ "$rc" -eq 0 ] || kg_fail "i: the master exited with status $rc after SIGINT"
[ "$dt" -ge 1500 ] || kg_fail "i: the master did not wait for the upload (${dt} ms)"
grep -q 'all workers stopped' "$SLOG" || kg_fail "i: no clean shutdown in the log"
kg_log "i: master exited 0 ${dt} ms after the upload began (SIGINT at 0.5 s); the upload got its 405"
trap - PIPE

# ------------------------------------------------------------------ (j)
echo "j. spawned by lighttpd"
PCONF=$KG_TMP/spawned-keygate.conf
kg_write_config "$PCONF" "workers = 0" "shutdown_timeout = 5" \
    "access_log = false" "log_level = info"
kg_start_lighttpd_spawned "$PCONF" / "KEYGATE_FCGI_IO_TIMEOUT=$IOT"
PLOG=$KG_TMP/lighttpd-spawned.log
kg_wait_log "$PLOG" 'master [0-9]+ supervising' 10 || kg_fail "j: keygate did not start"
PMASTER=$(ps -o pid=,comm= --ppid "$KG_LIGHTTPD_PID" | awk '$2 == "keygate-fcgi" { print $1 }')
[ "$(echo "$PMASTER" | wc -w)" -eq 1 ] ||
	kg_fail "j: expected one keygate-fcgi under lighttpd, found '$PMASTER'"
kg_track "$PMASTER"
grep -q "master $PMASTER supervising 1 workers (socket from the web server)" "$PLOG" ||
	kg_fail "j: keygate did not start in spawned mode with one worker: $(grep -a supervising "$PLOG")"
kg_wait_http "$KG_HTTP_URL/health" 10 || kg_fail "j: /health does not answer 200"
victim=$(kg_fcgi_workers "$PMASTER")
[ "$(echo "$victim" | wc -w)" -eq 1 ] || kg_fail "j: expected one worker, found '$victim'"
kill -KILL "$victim"
replaced=
for ((i = 0; i < 60; i++)); do	# 3 s at most
	now=$(kg_fcgi_workers "$PMASTER")
	if [ -n "$now" ] && [ "$now" != "$victim" ]; then
		replaced=$now
		break
	fi
	sleep 0.05
done
[ -n "$replaced" ] || kg_fail "j: no replacement for worker $victim after 3 s"
grep -q "worker $victim killed by signal 9" "$PLOG" ||
	kg_fail "j: the master did not log why worker $victim ended"
URL=$KG_HTTP_URL/health run_200 j-after
# A client of the unix socket that sends 3 bytes of a record and stalls
# (libfcgi itself drops a unix connection that sends nothing for 2 s),
# then reads until keygate closes (exit 0), for 8 s at most (exit 2).
perl -MIO::Socket::UNIX -e '
	$SIG{ALRM} = sub { exit 2 };
	alarm $ARGV[1];
	my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "$ARGV[0]: $!\n";
	syswrite($s, "\x01\x01\x00") == 3 or die "write: $!\n";
	1 while sysread($s, my $b, 4096);' "$KG_TMP/spawned.sock-0" 8 \
    2>"$KG_TMP/j-perl.err" &
STALL=$!
kg_track "$STALL"
sleep 0.3
t0=$(date +%s%N)
st=$(KG_CURL_TIMEOUT=$((2 * IOT + 2)) kg_http_status "$KG_HTTP_URL/health")
dt=$(ms_since "$t0")
wait "$STALL"
rc=$?
[ -s "$KG_TMP/j-perl.err" ] && kg_error "j: $(cat "$KG_TMP/j-perl.err")"
[ "$st" = 200 ] ||
	kg_fail "j: behind a stalled unix connection, /health got ${st:-nothing} within $((2 * IOT + 2)) s"
[ "$rc" -eq 0 ] || kg_fail "j: keygate did not close the stalled unix connection"
[ "$(kg_fcgi_workers "$PMASTER")" = "$replaced" ] ||
	kg_fail "j: worker $replaced is gone after the stalled connection"
kg_log "j: behind a stalled unix connection /health answered after $dt ms"
kg_stop "$KG_LIGHTTPD_PID" 10
kg_wait_gone "$PMASTER" 5 || kg_fail "j: keygate outlived the lighttpd that spawned it"
kg_wait_gone "$replaced" 5 || kg_fail "j: worker $replaced outlived its master"
kg_log "j: spawned master $PMASTER replaced worker $victim by $replaced, who served throughout"

echo "supervisor: all tests passed"
exit 0
