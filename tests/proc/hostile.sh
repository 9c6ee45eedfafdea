#!/bin/bash
# tests/proc/hostile.sh: hostile clients (issue 7).  keygate-fcgi (two
# workers, a 2 s I/O timeout through KEYGATE_FCGI_IO_TIMEOUT) on a fresh
# database, lighttpd in front streaming request bodies as they arrive
# (server.stream-request-body = 2, as a web server that does not buffer
# would), spoken to straight over FastCGI and over raw HTTP with
# tests/proc/fcgi_raw, and with curl.  Every case gets a 4xx or a closed
# connection within a bounded time, and afterwards the same workers serve
# (/health 200, the same pids, no worker death in the master's log).
# The guard each group relies on (a case fails without it):
#   A. stalls: a body that stops (two at once, both workers held: /health
#      is still answered) -> 400 after the I/O timeout (SO_RCVTIMEO on the
#      connection); parameters that stop -> closed after it (the accept
#      timer), and never served in part: an authorizer whose
#      KEYGATE_REQUIRE_SCOPE never arrived grants nothing (the stream-error
#      check after FCGX_Accept_r);
#   B. byte-by-byte: parameters one byte at a time -> closed after the
#      I/O timeout; a body one byte at a time through lighttpd, each byte
#      within the timeout -> 400 after the body deadline (4 x the I/O
#      timeout: the total, not only each read, is bounded);
#   C. lengths that lie: a body longer or shorter than CONTENT_LENGTH ->
#      400 (the Content-Length match), with EOF, a half-close or a stall;
#      bodies over max_body, declared or not -> 413 (the 413 checks);
#   D. FastCGI records that lie (truncated, a pair longer than its record,
#      2^31-1 byte names, an unknown version, role or type, another
#      request id) and 10,000 parameters -> closed, or a 4xx, or the
#      answer the request asks for;
#   E. invalid UTF-8 (JSON strings and names, overlong forms, surrogates:
#      kg_utf8_valid; paths and headers) -> 400 invalid_json / 401 / 404;
#      10,000 HTTP headers -> lighttpd's 431;
#   F. JSON nested 32,000 deep (64,000 bytes) -> 400 invalid_json (the
#      depth limit; 33 levels is one too many, 32 is not); 100,000 deep
#      -> 413 (max_body);
#   G. numbers out of range (1e999, -0, 2^63, 2^64, 10^26, -2^63-1,
#      huge exponents) in chain_id and track, and where a string preset is
#      expected -> 400, never clamped into range: with chain id
#      9223372036854775807 allowed, 2^64 is not taken for it.
set -u
export LC_ALL=C	# byte lengths, byte-exact records

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

RAW=$top_builddir/tests/proc/fcgi_raw
[ -x "$RAW" ] || { echo "hostile.sh: $RAW is not built" >&2; exit 99; }
kg_require_prog curl lighttpd ps od jq awk
kg_require_db
kg_init

IOT=2			# the workers' I/O timeout, seconds
BODY_DEADLINE=$((4 * IOT))	# fcgi/worker.h KG_WORKER_BODY_TIMEOUTS
BIG_CHAIN=9223372036854775807	# INT64_MAX, allowed below
W1=0x1111111111111111111111111111111111111111
KG_LIGHTTPD_EXTRA='server.stream-request-body = 2' \
KEYGATE_FCGI_IO_TIMEOUT=$IOT KEYGATE_SIWE_CHAIN_IDS="1 $BIG_CHAIN" \
    kg_service_up acme
grep -q "FastCGI I/O timeout $IOT s" "$KG_FCGI_LOG" ||
	kg_error "keygate does not log its I/O timeout of $IOT s"
FPORT=$(kg_config_get "$conf" listen)
FPORT=${FPORT##*:}
HPORT=$KG_HTTP_PORT
MASTER=$KG_FCGI_PID
LOG=$KG_FCGI_LOG
WORKERS=$(kg_fcgi_workers "$MASTER")
[ "$(echo "$WORKERS" | wc -l)" -eq 2 ] ||
	kg_error "expected 2 workers, have: $(echo "$WORKERS" | tr '\n' ' ')"
T=$KG_TMP
# A limited API key of acme, for the authorizer cases.
as "$akey" POST /v1/keys -H 'X-Keygate-Namespace: acme' \
    -H 'Content-Type: application/json' \
    --data-binary '{"name":"h","scopes":["projects:read"]}'
expect "minting a key" 201
KEY=$(field .secret)

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# raw NAME PORT [FCGI_RAW OPTION...]: sends $T/NAME.in with fcgi_raw;
# the answer in $T/NAME.out.  Sets RAW_HOW (eof, timeout, reset, error),
# RAW_MS (from the last byte sent to the end) and RAW_TOTAL (ms in all).
raw() {
	local name=$1 port=$2 t0
	shift 2
	t0=$(date +%s%N)
	"$RAW" "$@" 127.0.0.1 "$port" <"$T/$name.in" >"$T/$name.out" \
	    2>"$T/$name.err"
	RAW_TOTAL=$(ms_since "$t0")
	echo "$RAW_TOTAL" >"$T/$name.total"
	read -r _ RAW_HOW RAW_MS _ <"$T/$name.err" ||
		kg_error "$name: fcgi_raw said nothing"
	[ "$RAW_HOW" != error ] || kg_error "$name: $(cat "$T/$name.err")"
}

# closed WHAT [MAXMS]: the server ended the connection (within MAXMS of
# the last byte sent).
closed() {
	case $RAW_HOW in
	eof|reset) ;;
	*) kg_fail "$1: the connection was not closed ($RAW_HOW after $RAW_TOTAL ms)" ;;
	esac
	[ $# -lt 2 ] || [ "$RAW_MS" -le "$2" ] ||
		kg_fail "$1: closed only $RAW_MS ms after the last byte (bound $2 ms)"
}

# body_error FILE: the "error" member of the JSON body of a FastCGI answer.
body_error() {
	kg_fcgi_stdout "$1" | tr -d '\r' | sed '1,/^$/d' | jq -r .error 2>/dev/null
}

# fcgi_answer WHAT NAME STATUS [ERROR]: $T/NAME.out is one complete answer
# with STATUS (and error code ERROR), then the connection closed.
fcgi_answer() {
	local st end
	st=$(kg_fcgi_status "$T/$2.out")
	end=$(kg_fcgi_end "$T/$2.out")
	[ "$st" = "$3" ] && [ "$end" = 0 ] ||
		kg_fail "$1: expected a complete $3, got status '${st:-none}', end '${end:-none}' ($RAW_HOW, $(wc -c <"$T/$2.out") bytes)"
	[ $# -lt 4 ] || kg_expect_eq "$1: error" "$(body_error "$T/$2.out")" "$4"
	closed "$1"
}

# fcgi_nothing WHAT NAME [MAXMS]: closed without any answer.
fcgi_nothing() {
	closed "$1" "${3:-1000}"
	[ ! -s "$T/$2.out" ] ||
		kg_fail "$1: expected no answer, got status '$(kg_fcgi_status "$T/$2.out")' ($(wc -c <"$T/$2.out") bytes)"
}

# http_answer WHAT NAME STATUS [ERROR]: the first answer on a raw HTTP
# connection has STATUS (and error code ERROR).
http_answer() {
	local st
	st=$(head -n 1 "$T/$2.out" | tr -d '\r' | cut -d ' ' -f 2)
	[ "$st" = "$3" ] ||
		kg_fail "$1: expected HTTP $3, got '$(head -n 1 "$T/$2.out" | tr -d '\r')' ($RAW_HOW after $RAW_TOTAL ms)"
	[ $# -lt 4 ] || kg_expect_eq "$1: error" "$(tr -d '\r' <"$T/$2.out" |
	    sed '1,/^$/d' | head -n 1 | jq -r .error 2>/dev/null)" "$4"
}

# post WHAT PATH BODY STATUS [ERROR [CURL ARG...]]: a JSON POST through
# lighttpd (BODY from a file when it starts with @).
post() {
	local what=$1 path=$2 body=$3 st=$4 err=${5:-}
	shift $(( $# < 5 ? $# : 5 ))
	kg_request POST "$url$path" -H 'Content-Type: application/json' \
	    --data-binary "$body" "$@"
	expect "$what" "$st" ${err:+"$err"}
}

# still_serving WHAT: /health answers 200 through lighttpd, the same two
# workers serve, and the master saw no worker end.
still_serving() {
	local st
	st=$(KG_CURL_TIMEOUT=$((IOT + 3)) kg_http_status "$url/health")
	[ "$st" = 200 ] || kg_fail "$1: /health answers '$st'"
	[ "$(kg_fcgi_workers "$MASTER")" = "$WORKERS" ] ||
		kg_fail "$1: the workers changed: $(echo "$WORKERS" | tr '\n' ' ')-> $(kg_fcgi_workers "$MASTER" | tr '\n' ' ')"
	! grep -Eq 'worker [0-9]+ (exited|killed)' "$LOG" ||
		kg_fail "$1: a worker ended: $(grep -E 'worker [0-9]+ (exited|killed)' "$LOG" | head -n 3)"
	kg_log "$1: still serving with workers $(echo "$WORKERS" | tr '\n' ' ')"
}

# begin [ROLE]: FCGI_BEGIN_REQUEST of request 1 (role 1 RESPONDER,
# 2 AUTHORIZER, 3 FILTER).
begin() {
	_kg_fcgi_header 1 1 8
	_kg_fcgi_bytes 0 "${1:-1}" 0 0 0 0 0 0
}

# params_open NAME=VALUE...: a PARAMS record without the empty one that
# ends the parameters.
params_open() {
	kg_fcgi_params 1 "$@" | head -c -8
}

# post_head PATH LENGTH: begin + parameters of a JSON POST to PATH.
post_head() {
	begin
	kg_fcgi_params 1 REQUEST_METHOD=POST "REQUEST_URI=$1" \
	    CONTENT_TYPE=application/json "CONTENT_LENGTH=$2" \
	    REMOTE_ADDR=192.0.2.9
}

CHALLENGE='{"wallet":"'$W1'"}'	# a valid challenge body, 52 bytes

# ================================================================= A
echo "A. stalls"
# A1. Two bodies that stop halfway, at once: both workers are held, /health
# still gets its answer once the timeout frees one, and each stalled
# request gets keygate's 400.
{ post_head /v1/auth/challenge 52; kg_fcgi_stdin 1 '{"wallet":'; } >"$T/a1.in"
cp "$T/a1.in" "$T/a1b.in"
raw a1 "$FPORT" -s 6000 -t 8 &
A1=$!
raw a1b "$FPORT" -s 6000 -t 8 &
A1B=$!
sleep 0.3
t0=$(date +%s%N)
st=$(KG_CURL_TIMEOUT=$((2 * IOT + 2)) kg_http_status "$url/health")
dt=$(ms_since "$t0")
wait "$A1" "$A1B"
for n in a1 a1b; do
	read -r _ RAW_HOW RAW_MS _ <"$T/$n.err"
	fcgi_answer "A1: a stalled body ($n)" "$n" 400 invalid_request
done
[ "$st" = 200 ] ||
	kg_fail "A1: with both workers held by stalled bodies, /health got '$st'"
[ "$dt" -le $((IOT * 1000 + 1500)) ] ||
	kg_fail "A1: /health took $dt ms behind two stalled bodies (I/O timeout $IOT s)"
kg_log "A1: two stalled bodies answered 400; /health behind them in $dt ms"

# A2. Parameters that stop (a complete record, never the end of them):
# closed after the timeout, without an answer.
{ begin; params_open REQUEST_METHOD=GET REQUEST_URI=/health; } >"$T/a2.in"
raw a2 "$FPORT" -t 8
fcgi_nothing "A2: stalled parameters" a2 $((IOT * 1000 + 1000))

# A3. An authorizer whose KEYGATE_REQUIRE_SCOPE never comes: the request is
# not decided on what arrived (that would grant a key without keys:write).
# First the whole request: 403.
{ begin 2; kg_fcgi_params 1 REQUEST_METHOD=GET REQUEST_URI=/app \
    "HTTP_AUTHORIZATION=Bearer $KEY" KEYGATE_REQUIRE_SCOPE=keys:write;
  kg_fcgi_stdin 1; } >"$T/a3full.in"
raw a3full "$FPORT" -t 5
fcgi_answer "A3: the whole authorizer request" a3full 403
{ begin 2; params_open REQUEST_METHOD=GET REQUEST_URI=/app \
    "HTTP_AUTHORIZATION=Bearer $KEY"; } >"$T/a3.in"
raw a3 "$FPORT" -t 8
fcgi_nothing "A3: an authorizer request whose requirement never came" a3 \
    $((IOT * 1000 + 1000))
# The same cut short by a half-close instead of a stall.
raw a3 "$FPORT" -c -t 5
fcgi_nothing "A3: an authorizer request cut short by a half-close" a3
still_serving A

# ================================================================= B
echo "B. byte by byte"
# B1. Parameters one byte every 300 ms: closed after the I/O timeout.
{ begin; kg_fcgi_params 1 REQUEST_METHOD=GET REQUEST_URI=/health \
    HTTP_X_PAD=0123456789012345678901234567890123456789; kg_fcgi_stdin 1; } \
    >"$T/b1.in"
raw b1 "$FPORT" -f 16 -b 1 -p 300 -t 20
[ "$RAW_TOTAL" -le $((IOT * 1000 + 1500)) ] ||
	kg_fail "B1: parameters sent byte by byte held the worker $RAW_TOTAL ms (I/O timeout $IOT s)"
closed "B1: parameters byte by byte"
[ -z "$(kg_fcgi_status "$T/b1.out")" ] ||
	kg_fail "B1: the request was answered ($(kg_fcgi_status "$T/b1.out"))"
kg_log "B1: closed after $RAW_TOTAL ms"

# B2. Through lighttpd, a body one byte every 700 ms (each read within the
# I/O timeout; 60 bytes would take 42 s): refused after the body deadline.
# Meanwhile (one worker is held) the cases C to G run on the other.
{ printf 'POST /v1/auth/challenge HTTP/1.1\r\nHost: h\r\n'
  printf 'Content-Type: application/json\r\nContent-Length: 60\r\n'
  printf 'Connection: close\r\n\r\n'
  printf '{"wallet":"%s","purpose":"0123"}' "$W1"; } >"$T/b2.in"
hlen=$(( $(wc -c <"$T/b2.in") - 60 ))
raw b2 "$HPORT" -f "$hlen" -b 1 -p 700 -t 30 &
B2=$!

# ================================================================= C
echo "C. lengths that lie"
# C1. More body than declared: the declared 5 bytes are not the body.
{ post_head /v1/auth/challenge 5; kg_fcgi_stdin 1 "$CHALLENGE"; kg_fcgi_stdin 1; } \
    >"$T/c1.in"
raw c1 "$FPORT" -t 5
fcgi_answer "C1: a body longer than declared" c1 400 invalid_request
# C2. Less than declared, then the end of the body, a half-close, a stall.
{ post_head /v1/auth/challenge 80; kg_fcgi_stdin 1 "$CHALLENGE"; kg_fcgi_stdin 1; } \
    >"$T/c2.in"
raw c2 "$FPORT" -t 5
fcgi_answer "C2: a body shorter than declared" c2 400 invalid_request
{ post_head /v1/auth/challenge 80; kg_fcgi_stdin 1 "$CHALLENGE"; } >"$T/c3.in"
raw c3 "$FPORT" -c -t 5
fcgi_answer "C3: a body shorter than declared, then a half-close" c3 400 invalid_request
[ "$RAW_MS" -le 1000 ] || kg_fail "C3: answered only after $RAW_MS ms"
raw c3 "$FPORT" -t 8
fcgi_answer "C4: a body shorter than declared, then a stall" c3 400 invalid_request
[ "$RAW_MS" -le $((IOT * 1000 + 1000)) ] ||
	kg_fail "C4: answered only after $RAW_MS ms (I/O timeout $IOT s)"
# C5. Over max_body (64 KiB): declared, or only sent.
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/pad"
{ post_head /v1/auth/challenge 70000; } >"$T/c5.in"
raw c5 "$FPORT" -c -t 5
fcgi_answer "C5: a declared 70000-byte body" c5 413 body_too_large
{ post_head /v1/auth/challenge 10; for i in 1 2; do
	kg_fcgi_stdin 1 "$(head -c 35000 "$T/pad")"; done; kg_fcgi_stdin 1; } \
    >"$T/c6.in"
raw c6 "$FPORT" -t 5
fcgi_answer "C6: 70000 bytes declared as 10" c6 413 body_too_large
# C7. Through lighttpd: more than declared, the rest a bad next request.
{ printf 'POST /v1/auth/challenge HTTP/1.1\r\nHost: h\r\n'
  printf 'Content-Type: application/json\r\nContent-Length: 5\r\n'
  printf 'Connection: close\r\n\r\n%s' "$CHALLENGE"; } >"$T/c7.in"
raw c7 "$HPORT" -t 5
http_answer "C7: more HTTP body than declared" c7 400 invalid_json
closed "C7: more HTTP body than declared"
# C8. Through lighttpd: less than declared, then a half-close.
{ printf 'POST /v1/auth/challenge HTTP/1.1\r\nHost: h\r\n'
  printf 'Content-Type: application/json\r\nContent-Length: 80\r\n\r\n%s' \
    "$CHALLENGE"; } >"$T/c8.in"
raw c8 "$HPORT" -c -t 5
closed "C8: less HTTP body than declared, then a half-close" 1000

# ================================================================= D
echo "D. FastCGI records that lie"
# D1. A PARAMS record that ends early (100 declared, 10 sent, half-close).
{ begin; _kg_fcgi_header 4 1 100; printf 'abcdefghij'; } >"$T/d1.in"
raw d1 "$FPORT" -c -t 5
fcgi_nothing "D1: a truncated PARAMS record" d1
# D2. A name longer than its record (5000 bytes announced in 10), then
# ordinary records: the parameters are broken, nothing is served.
{ begin; _kg_fcgi_header 4 1 10; _kg_fcgi_len 5000; _kg_fcgi_len 1
  printf 'REQUES'; kg_fcgi_params 1 REQUEST_METHOD=GET REQUEST_URI=/health
  kg_fcgi_stdin 1; } >"$T/d2.in"
raw d2 "$FPORT" -t 5
fcgi_nothing "D2: a pair longer than its record" d2
# D3. A name and value of 2^31-1 bytes each (libfcgi's CVE-2025-23016):
# refused at once, nothing allocated, nothing served.
{ begin; _kg_fcgi_header 4 1 8; _kg_fcgi_len 2147483647; _kg_fcgi_len 2147483647; } \
    >"$T/d3.in"
raw d3 "$FPORT" -s 3000 -t 8
fcgi_nothing "D3: 2^31-1 byte lengths" d3 3000
[ "$RAW_TOTAL" -le 1500 ] || kg_fail "D3: closed only after $RAW_TOTAL ms"
# D4. A record of FastCGI version 2.
{ printf '\002\001\000\001\000\010\000\000'; _kg_fcgi_bytes 0 1 0 0 0 0 0 0
  kg_fcgi_params 1 REQUEST_METHOD=GET REQUEST_URI=/health; kg_fcgi_stdin 1; } \
    >"$T/d4.in"
raw d4 "$FPORT" -t 5
fcgi_nothing "D4: a version-2 record" d4
# D5. The FILTER role: keygate's 400.
{ begin 3; kg_fcgi_params 1 REQUEST_METHOD=GET REQUEST_URI=/health; kg_fcgi_stdin 1; } \
    >"$T/d5.in"
raw d5 "$FPORT" -t 5
fcgi_answer "D5: the FILTER role" d5 400 invalid_request
# D6. A record of an unknown type first, and body records of another
# request id among ours: our request is served as sent (405: /health is
# GET only, the body was read whole).
{ _kg_fcgi_header 11 0 0; post_head /health 2; kg_fcgi_stdin 2 '{}{}{}'
  kg_fcgi_stdin 1 '{}'; kg_fcgi_stdin 1; } >"$T/d6.in"
raw d6 "$FPORT" -t 5
fcgi_answer "D6: an unknown record type, another request's body" d6 405
# D7. A STDIN record that ends early (100 declared, 12 sent), half-close.
{ post_head /v1/auth/challenge 100; _kg_fcgi_header 5 1 100; printf '{"wallet":"0'; } \
    >"$T/d7.in"
raw d7 "$FPORT" -c -t 5
fcgi_answer "D7: a truncated STDIN record" d7 400 invalid_request
# D8. 10,000 parameters (188 KB in four records), then an ordinary GET.
printf '%b' "$(awk -v n=10000 '
    function o(c) { return sprintf("\\0%03o", c) }
    function rec() { printf "%s%s%s%s%s%s%s%s%s", o(1), o(4), o(0), o(1),
	o(int(len / 256)), o(len % 256), o(0), o(0), buf; buf = ""; len = 0 }
    BEGIN { for (i = 0; i < n; i++) { k = "HTTP_X_H" i; v = "v" i
	if (len + length(k) + length(v) + 2 > 60000) rec()
	buf = buf o(length(k)) o(length(v)) k v; len += length(k) + length(v) + 2 }
	rec() }')" >"$T/p10k"
{ begin; cat "$T/p10k"; kg_fcgi_params 1 REQUEST_METHOD=GET REQUEST_URI=/nope
  kg_fcgi_stdin 1; } >"$T/d8.in"
[ "$(wc -c <"$T/d8.in")" -gt 180000 ] || kg_error "D8: the parameters were not made"
raw d8 "$FPORT" -t 8
fcgi_answer "D8: 10,000 parameters" d8 404 not_found

# ================================================================= E
echo "E. invalid UTF-8, many headers"
for s in '\377' '\300\257' '\355\240\200' '\364\220\200\200' '\342\202'; do
	printf '{"wallet":"%s","purpose":"a%bb"}' "$W1" "$s" >"$T/e.json"
	post "E1: JSON string with $s" /v1/auth/challenge @"$T/e.json" 400 invalid_json
	printf '{"wallet":"%s","a%bb":1}' "$W1" "$s" >"$T/e.json"
	post "E1: JSON member name with $s" /v1/auth/challenge @"$T/e.json" 400 invalid_json
done
# Over FastCGI (no web server between to clean anything up).
{ begin; kg_fcgi_params 1 REQUEST_METHOD=GET "REQUEST_URI=/v1/$(printf '\377\376')"; kg_fcgi_stdin 1; } \
    >"$T/e2.in"
raw e2 "$FPORT" -t 5
fcgi_answer "E2: a path with invalid UTF-8" e2 404 not_found
{ begin; kg_fcgi_params 1 REQUEST_METHOD=GET REQUEST_URI=/v1/auth/whoami \
    "HTTP_AUTHORIZATION=Bearer $(printf 'kg_sk_\377\376')"; kg_fcgi_stdin 1; } >"$T/e3.in"
raw e3 "$FPORT" -t 5
fcgi_answer "E3: a credential with invalid UTF-8" e3 401 invalid_token
{ begin; kg_fcgi_params 1 REQUEST_METHOD=GET REQUEST_URI=/v1/keys \
    "HTTP_AUTHORIZATION=Bearer $akey" "HTTP_X_KEYGATE_NAMESPACE=$(printf 'a\377')"
  kg_fcgi_stdin 1; } >"$T/e4.in"
raw e4 "$FPORT" -t 5
fcgi_answer "E4: a namespace header with invalid UTF-8" e4 400 invalid_namespace
{ begin; kg_fcgi_params 1 "REQUEST_METHOD=$(printf 'G\377T')" REQUEST_URI=/health
  kg_fcgi_stdin 1; } >"$T/e5.in"
raw e5 "$FPORT" -t 5
fcgi_answer "E5: a method with invalid UTF-8" e5 400 invalid_request
# Through lighttpd: a header with invalid UTF-8 reaches keygate.
{ printf 'GET /v1/auth/whoami HTTP/1.1\r\nHost: h\r\n'
  printf 'Authorization: Bearer kg_sk_\377\376\r\nConnection: close\r\n\r\n'; } >"$T/e6.in"
raw e6 "$HPORT" -t 5
http_answer "E6: an HTTP header with invalid UTF-8" e6 401 invalid_token
# 10,000 HTTP headers: lighttpd refuses them itself.
{ printf 'GET /health HTTP/1.1\r\nHost: h\r\n'
  awk 'BEGIN { for (i = 0; i < 10000; i++) printf "X-H%d: v\r\n", i }'
  printf 'Connection: close\r\n\r\n'; } >"$T/e7.in"
raw e7 "$HPORT" -t 5
http_answer "E7: 10,000 HTTP headers" e7 431

# ================================================================= F
echo "F. deep JSON"
# nest N OPEN CLOSE: N opening brackets, then N closing ones.
nest() {
	awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN {
	    s = ""; for (i = 0; i < n; i++) s = s a; printf "%s", s
	    s = ""; for (i = 0; i < n; i++) s = s b; printf "%s", s }'
}
nest 32000 '[' ']' >"$T/deep.json"	# 64,000 bytes: within max_body
post "F1: 32,000 nested arrays" /v1/auth/challenge @"$T/deep.json" 400 invalid_json
nest 12000 '{"a":' '}' | head -c 60000 >"$T/deep.json"
post "F1: 12,000 nested objects, unterminated" /v1/auth/challenge @"$T/deep.json" 400 invalid_json
nest 100000 '[' ']' >"$T/deep.json"
post "F2: 100,000 nested arrays" /v1/auth/challenge @"$T/deep.json" 413 body_too_large
# The limit is SPEC 1's 32 levels: the body is level 1, so 31 more in a
# member is the most (a type error, not invalid_json), 32 more too many.
printf '{"wallet":"%s","namespace":%s}' "$W1" "$(nest 31 '[' ']')" >"$T/deep.json"
post "F3: 32 levels" /v1/auth/challenge @"$T/deep.json" 400 invalid_request
printf '{"wallet":"%s","namespace":%s}' "$W1" "$(nest 32 '[' ']')" >"$T/deep.json"
post "F3: 33 levels" /v1/auth/challenge @"$T/deep.json" 400 invalid_json

# ================================================================= G
echo "G. numbers out of range"
post "G0: chain id $BIG_CHAIN is allowed" /v1/auth/challenge \
    '{"wallet":"'$W1'","chain_id":'$BIG_CHAIN'}' 200
for n in 1e999 -1e999 1e400 1E2 1.0 -0.0 1e-999 0 -0 -1 \
    9223372036854775808 18446744073709551615 18446744073709551616 \
    99999999999999999999999999 -9223372036854775809 \
    -99999999999999999999999999 '"1"' true 0x10 01 NaN Infinity; do
	post "G1: chain_id $n" /v1/auth/challenge \
	    '{"wallet":"'$W1'","chain_id":'"$n"'}' 400
	# 0x10 and 01 are not JSON; json-c takes NaN and Infinity for
	# numbers (of the wrong type here), which is still a 400.
	case $n in
	0x10|01) want=invalid_json ;;
	NaN|Infinity) want='invalid_(json|chain_id)' ;;
	*) want=invalid_chain_id ;;
	esac
	kg_expect_match "G1: chain_id $n: error" "$(field .error)" "^$want\$"
done
mpath=/v1/namespaces/acme/members/$W1
for n in 1e999 4.0 -0 0 5 9223372036854775812 18446744073709551616 \
    -9223372036854775809 1e18; do
	kg_request PUT "$url$mpath" -H "Authorization: Bearer $akey" \
	    -H 'Content-Type: application/json' --data-binary '{"track":'"$n"'}'
	expect "G2: track $n" 400 invalid_request
done
as "$akey" POST /v1/keys -H 'X-Keygate-Namespace: acme' \
    -H 'Content-Type: application/json' \
    --data-binary '{"name":"g","scopes":["projects:read"],"expires_in":1e999}'
expect "G3: expires_in 1e999" 400
as "$akey" POST /v1/keys -H 'X-Keygate-Namespace: acme' \
    -H 'Content-Type: application/json' \
    --data-binary '{"name":"g","scopes":["projects:read"],"expires_in":"1e999d"}'
expect "G3: expires_in \"1e999d\"" 400 invalid_expiry

# ================================================================= B2
wait "$B2"
read -r _ RAW_HOW RAW_MS _ <"$T/b2.err"
RAW_TOTAL=$(cat "$T/b2.total")
http_answer "B2: an HTTP body byte by byte" b2 400 invalid_request
closed "B2: an HTTP body byte by byte"
# All of it would take 42 s; the body deadline, plus one read's timeout.
[ "$RAW_TOTAL" -le $(( (BODY_DEADLINE + IOT + 2) * 1000 )) ] ||
	kg_fail "B2: a body sent byte by byte held the worker $RAW_TOTAL ms (deadline $BODY_DEADLINE s)"
kg_log "B2: refused after $RAW_TOTAL ms"
grep -q "body took longer than $BODY_DEADLINE s" "$LOG" ||
	kg_fail "B2: the worker did not log why it gave up on the body"

still_serving "A to G"
echo "hostile: all tests passed"
exit 0
