#!/usr/bin/env bash
# e2e/metrics.sh: GET /metrics (SPEC 11) through a real lighttpd and curl:
# counters summed across the workers of one master (requests served by
# both workers appear in the /metrics answer of either), a killed worker
# counted as a death and a restart without the counters being lost,
# metrics_allow (403 outside it, also after a SIGHUP reload that changes
# it), database errors counted while the database is unreachable, and
# /metrics in the spawned (fd 0) and plain CGI situations.
#
# A worker counts a request after the answer went out and the connection
# closed, so the client may already hold it while its sibling serves the
# next /metrics without it: every count is read again (metrics_wait) until
# it reaches the expected value, and a value above it fails at once.
set -u
. "$top_srcdir/tests/lib.sh"
kg_init
kg_require_prog curl lighttpd ps cgi-fcgi jq
kg_require_db

admin=$top_builddir/keygate-admin
fcgi=$top_builddir/keygate-fcgi
CT='text/plain; version=0.0.4; charset=utf-8'

# metric TEXT SERIES: the value of one series (0 when absent).
metric() {
	printf '%s\n' "$1" | awk -v s="$2" \
	    'index($0, s " ") == 1 { v = substr($0, length(s) + 2) } END { print v + 0 }'
}

# metrics_wait FETCH [SERIES WANT]...: runs FETCH, a function that
# leaves a /metrics body in $m, until every SERIES reads WANT (a shell
# arithmetic expression, evaluated after each FETCH since FETCH may count
# requests); fails as soon as one reads more, or after 10 s.
metrics_wait() {
	local fetch=$1 end=$((SECONDS + 10)) k v w short
	local -a a
	shift
	a=("$@")
	while :; do
		"$fetch"
		short=
		for ((k = 0; k < ${#a[@]}; k += 2)); do
			v=$(metric "$m" "${a[k]}")
			w=$(( a[k + 1] ))
			[ "$v" -le "$w" ] ||
				kg_fail "${a[k]} is $v, more than $w"
			[ "$v" -eq "$w" ] || short="$short ${a[k]} is $v, not $w;"
		done
		[ -z "$short" ] && return 0
		[ $SECONDS -lt $end ] || kg_fail "after 10 s:$short"
		sleep 0.1
	done
}

# fcgi_get PORT PATH REMOTE_ADDR: one GET straight to keygate-fcgi over
# FastCGI (libfcgi's cgi-fcgi), as a web server would send it; prints
# the raw response without CRs.
fcgi_get() {
	env -i PATH="$PATH" REQUEST_METHOD=GET SCRIPT_NAME= PATH_INFO="$2" \
	    REQUEST_URI="$2" SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR="$3" \
	    timeout 10 cgi-fcgi -bind -connect "127.0.0.1:$1" </dev/null |
	    tr -d '\r'
}

# ---------------------------------------------------------------- set-up
kg_db_create
fport=$(kg_free_port)
conf=$KG_TMP/keygate.conf
kg_write_config "$conf" "listen = tcp:127.0.0.1:$fport" "workers = 2"
kg_db_config_lines "$KG_DB" >>"$conf"
"$admin" -c "$conf" migrate --schema-dir "$top_srcdir/schema" \
    >"$KG_TMP/migrate.log" 2>&1 ||
	kg_error "migrate failed: $(cat "$KG_TMP/migrate.log")"
kg_start_fcgi "$conf"
kg_start_lighttpd 127.0.0.1 "$fport"
kg_wait_http "$KG_HTTP_URL/health" || kg_fail "/health never answered"
url=$KG_HTTP_URL

# The /metrics fetches of metrics_wait.  mreq: /metrics requests to the
# main service that answered 200, each counted once it is done.
mreq=0
mroute='keygate_http_requests_total{method="GET",route="/metrics",code="200"}'
main_metrics() {
	kg_request GET "$url/metrics"
	kg_expect_eq "/metrics status" "$KG_STATUS" 200
	mreq=$((mreq + 1))
	m=$KG_BODY
}

# ---------------------------------------------------------------- summed
# Parallel clients until the access log shows both workers serving
# /health (which worker takes a connection is up to the kernel).
sent=1	# kg_wait_http's request
served_by() {
	grep -o 'access GET /health 200 [0-9]*us pid=[0-9]*' "$KG_FCGI_LOG" |
	    sed 's/.*pid=//' | sort | uniq -c | sort -rn
}
for round in 1 2 3 4 5; do
	pids=()
	for i in 1 2 3 4; do
		kg_http_many "$url/health" 25 >"$KG_TMP/many.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in 1 2 3 4; do
		[ "$(grep -c '^200$' "$KG_TMP/many.$i")" = 25 ] ||
			kg_fail "a /health request did not answer 200"
	done
	sent=$((sent + 100))
	# The access line follows the answer.
	end=$((SECONDS + 10))
	until [ "$(grep -c 'access GET /health 200 ' "$KG_FCGI_LOG")" -ge "$sent" ]
	do
		[ $SECONDS -lt $end ] ||
			kg_fail "fewer than $sent /health access lines after 10 s"
		sleep 0.1
	done
	[ "$(served_by | wc -l)" -ge 2 ] && break
done
[ "$(served_by | wc -l)" -ge 2 ] ||
	kg_fail "one worker served every request in 5 rounds: $(served_by)"
most=$(served_by | head -n 1 | awk '{ print $1 }')
kg_log "$sent /health requests; workers served: $(served_by | tr '\n' ' ')"

# Summed across the workers: every /health request, in the counter and
# in the histogram, and no /metrics request counted twice.
health='keygate_http_requests_total{method="GET",route="/health",code="200"}'
metrics_wait main_metrics "$health" sent \
    'keygate_http_request_duration_seconds_count{method="GET",route="/health"}' sent \
    'keygate_http_request_duration_seconds_bucket{method="GET",route="/health",le="+Inf"}' sent \
    "$mroute" 'mreq - 1' keygate_workers 2 keygate_worker_starts_total 2 \
    keygate_worker_restarts_total 0
kg_expect_eq "/metrics content-type" "$(kg_header content-type)" "$CT"
kg_expect_eq "/metrics nosniff" "$(kg_header x-content-type-options)" nosniff
n=$(metric "$m" "$health")
kg_expect_eq "/health requests summed across workers" "$n" "$sent"
[ "$n" -gt "$most" ] ||
	kg_fail "/metrics shows $n, no more than one worker served ($most)"
kg_expect_match "TYPE lines" "$m" '# TYPE keygate_http_request_duration_seconds histogram'

# A 404 counts as unmatched; each /metrics request counts once done.
kg_request GET "$url/no/such/path"
kg_expect_eq "404" "$KG_STATUS" 404
metrics_wait main_metrics \
    'keygate_http_requests_total{method="-",route="(unmatched)",code="404"}' 1 \
    "$mroute" 'mreq - 1'

# ---------------------------------------------------------------- restarts
before=$(kg_fcgi_workers)
victim=$(printf '%s\n' "$before" | head -n 1)
[ -n "$victim" ] || kg_error "no worker found"
kill -KILL "$victim"
i=0
while :; do
	now=$(kg_fcgi_workers)
	if ! printf '%s\n' "$now" | grep -qx "$victim" &&
	    [ "$(printf '%s\n' "$now" | grep -c .)" -eq 2 ]; then
		break
	fi
	[ $i -lt 200 ] || kg_fail "the killed worker was not replaced"
	sleep 0.05
	i=$((i + 1))
done
kg_wait_http "$url/health" || kg_fail "/health after the kill"
# (The victim may have died before counting the last /metrics it served:
# no /metrics count is checked from here on.)
metrics_wait main_metrics keygate_worker_restarts_total 1 \
    keygate_worker_deaths_total 1 keygate_worker_starts_total 3
n2=$(metric "$m" "$health")
[ "$n2" -ge "$sent" ] ||
	kg_fail "counters lost with the killed worker: $n2 < $sent"

# ---------------------------------------------------------------- allow-list
# From an address outside metrics_allow: 403 forbidden (straight over
# FastCGI, to choose REMOTE_ADDR), and inside it 200.
out=$(fcgi_get "$fport" /metrics 10.9.9.9)
kg_expect_match "outside: 403" "$out" '^Status: 403'
kg_expect_match "outside: body" "$out" '\{"error":"forbidden","message":"[^"]+"\}$'
out=$(fcgi_get "$fport" /metrics ::ffff:127.0.0.1)
kg_expect_match "v4-mapped loopback: 200" "$out" '^Status: 200'

# Reload with metrics_allow = 10.9.9.9: once the workers are replaced,
# loopback gets 403, 10.9.9.9 gets the counters, which the reload kept.
printf 'metrics_allow = 10.9.9.9\n' >>"$conf"
old=$(kg_fcgi_workers)
kill -HUP "$KG_FCGI_PID"
i=0
while :; do
	now=$(kg_fcgi_workers)
	[ -z "$(LC_ALL=C comm -12 <(printf '%s\n' "$old") <(printf '%s\n' "$now"))" ] &&
	    [ "$(printf '%s\n' "$now" | grep -c .)" -eq 2 ] && break
	[ $i -lt 200 ] || kg_fail "the reload did not replace the workers"
	sleep 0.05
	i=$((i + 1))
done
kg_request GET "$url/metrics"
kg_expect_eq "loopback outside metrics_allow" "$KG_STATUS" 403
kg_expect_eq "403 error" "$(printf '%s' "$KG_BODY" | jq -r .error)" forbidden
allowed_metrics() {
	m=$(fcgi_get "$fport" /metrics 10.9.9.9)
	kg_expect_match "10.9.9.9 allowed now" "$m" '^Status: 200'
}
# Two 403s: 10.9.9.9 before the reload, loopback after it.
metrics_wait allowed_metrics \
    'keygate_http_requests_total{method="GET",route="/metrics",code="403"}' 2
n3=$(metric "$m" "$health")
[ "$n3" -ge "$sent" ] || kg_fail "counters lost in the reload: $n3 < $sent"

# ---------------------------------------------------------------- db errors
# A second service whose database is unreachable: /ready is 503 and each
# failed connect is counted.
dport=$(kg_free_port)
dconf=$KG_TMP/keygate-nodb.conf
kg_write_config "$dconf" "listen = tcp:127.0.0.1:$dport" "workers = 2" \
    "db_socket = $KG_TMP/no-such.sock" "db_user = root" \
    "db_connect_timeout = 1"
KG_FCGI_LOG=$KG_TMP/fcgi-nodb.log kg_start_fcgi "$dconf"
out=$(fcgi_get "$dport" /metrics 127.0.0.1)
kg_expect_eq "no db errors at first" "$(metric "$out" \
    'keygate_db_errors_total{kind="connect"}')" 0
for i in 1 2 3; do
	out=$(fcgi_get "$dport" /ready 127.0.0.1)
	kg_expect_match "/ready without a database" "$out" '^Status: 503'
done
nodb_metrics() {
	m=$(fcgi_get "$dport" /metrics 127.0.0.1)
	kg_expect_match "no database: /metrics" "$m" '^Status: 200'
}
metrics_wait nodb_metrics \
    'keygate_http_requests_total{method="GET",route="/ready",code="503"}' 3
# Counted before each answer, so no waiting for these.
e=$(metric "$m" 'keygate_db_errors_total{kind="connect"}')
[ "$e" -ge 3 ] || kg_fail "connect errors: $e, expected 3 or more"

# ---------------------------------------------------------------- spawned
# lighttpd starts keygate-fcgi itself (fd 0): the same master, the same
# shared counters.
sconf=$KG_TMP/keygate-spawned.conf
kg_write_config "$sconf" "workers = 2"
kg_db_config_lines "$KG_DB" >>"$sconf"
KG_TMP_SAVE=$KG_TMP
mkdir -p "$KG_TMP/spawned" && KG_TMP=$KG_TMP/spawned
kg_start_lighttpd_spawned "$sconf" /
KG_TMP=$KG_TMP_SAVE
surl=$KG_HTTP_URL
kg_wait_http "$surl/health" || kg_fail "spawned: /health never answered"
[ "$(kg_http_many "$surl/health" 9 | grep -c '^200$')" = 9 ] ||
	kg_fail "spawned: a /health request did not answer 200"
spawned_metrics() {
	kg_request GET "$surl/metrics"
	kg_expect_eq "spawned: /metrics" "$KG_STATUS" 200
	m=$KG_BODY
}
metrics_wait spawned_metrics "$health" 10 keygate_workers 2

# ---------------------------------------------------------------- plain CGI
# No master, no shared region: /metrics still answers (this process's
# own counters) and metrics_allow still applies.
cgi() {	# cgi CONFIG PATH REMOTE_ADDR -> stdout of one CGI request
	env -i PATH="$PATH" KEYGATE_CONFIG="$1" GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_METHOD=GET SCRIPT_NAME= PATH_INFO="$2" REQUEST_URI="$2" \
	    SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR="$3" "$fcgi" </dev/null \
	    2>>"$KG_TMP/cgi.log" | tr -d '\r'
}
out=$(cgi "$sconf" /metrics 127.0.0.1)
kg_expect_match "CGI: 200" "$out" '^Status: 200'
kg_expect_match "CGI: content type" "$out" "Content-Type: $CT"
kg_expect_match "CGI: counters" "$out" 'keygate_workers 0'
out=$(cgi "$sconf" /metrics 192.0.2.1)
kg_expect_match "CGI: outside metrics_allow" "$out" '^Status: 403'

kg_log "PASS"
exit 0
