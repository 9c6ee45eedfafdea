# shellcheck shell=bash disable=SC2034  # KG_* variables are for the caller
# tests/lib.sh: shell helpers for keygate's process and end-to-end tests.
#
#   . "$top_srcdir/tests/lib.sh"
#   kg_init                              # temp dir + cleanup trap
#   kg_require_prog curl lighttpd        # skip (77) when missing
#   port=$(kg_free_port)
#   kg_write_config "$KG_TMP/keygate.conf" "listen = tcp:127.0.0.1:$port"
#   kg_start_fcgi "$KG_TMP/keygate.conf"  # sets KG_FCGI_PID
#   kg_start_lighttpd 127.0.0.1 "$port"   # sets KG_HTTP_URL
#   kg_wait_http "$KG_HTTP_URL/health"
#
# Exit statuses follow automake: 0 pass, 1 fail, 77 skip, 99 hard error.
# A missing program is a skip, unless KEYGATE_TEST_REQUIRE_DB=1 (CI and
# `tools/dev test`), where it is a hard error.
#
# Every process a helper starts is recorded and stopped by kg_cleanup
# (installed as the EXIT trap by kg_init), by its pid only.  Temporary
# files live in one mktemp -d directory, removed at exit unless
# KG_KEEP_TMP=1 or the test failed (then its path is printed).
#
# Environment read: top_srcdir, top_builddir (set by `make check`),
# LIGHTTPD, CURL (paths found by configure), KG_LIGHTTPD_EXTRA (lines
# appended to every lighttpd.conf written), KEYGATE_TEST_VALGRIND and
# KEYGATE_TEST_SLOW (below).
#
# KEYGATE_TEST_VALGRIND=1: kg_start_fcgi runs keygate-fcgi under valgrind
# memcheck (master and, followed across fork, every worker), each process
# logging to $KG_TMP/valgrind/valgrind.PID.vg, and kg_cleanup fails the
# test when a log reports an error or a definite or indirect leak (after
# the suppressions of tests/valgrind.supp: only what is not keygate's).
# Every wait and time limit of these helpers is then multiplied by
# KEYGATE_TEST_SLOW (default 10; otherwise 1): a process under memcheck
# starts and answers about ten times slower.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

KG_TMP=
KG_PIDS=()
KG_FCGI_PID=
KG_FCGI_LOG=
KG_LIGHTTPD_PID=
KG_HTTP_PORT=
KG_HTTP_URL=
KG_VALGRIND=0
KG_SLOW=1
if [ "${KEYGATE_TEST_VALGRIND:-0}" = 1 ]; then
	KG_VALGRIND=1
	KG_SLOW=${KEYGATE_TEST_SLOW:-10}
fi

kg_log() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# kg_fail MESSAGE: the test failed.
kg_fail() {
	kg_log "FAIL: $*"
	exit 1
}

# kg_error MESSAGE: the test could not run (broken setup).
kg_error() {
	kg_log "ERROR: $*"
	exit 99
}

# kg_skip MESSAGE: nothing to test here (unless the run requires it all).
kg_skip() {
	if [ "${KEYGATE_TEST_REQUIRE_DB:-0}" = 1 ]; then
		kg_error "$* (KEYGATE_TEST_REQUIRE_DB=1: not skipping)"
	fi
	kg_log "SKIP: $*"
	exit 77
}

# kg_prog NAME: prints the path of program NAME (honouring $LIGHTTPD and
# $CURL), or nothing.
kg_prog() {
	local name=$1 p=
	case $name in
	lighttpd) p=${LIGHTTPD:-} ;;
	curl) p=${CURL:-} ;;
	esac
	if [ -n "$p" ] && [ -x "$p" ]; then
		printf '%s\n' "$p"
		return 0
	fi
	PATH=$PATH:/usr/sbin:/sbin command -v "$name" 2>/dev/null || true
}

# kg_require_prog NAME...: skips the test unless every program exists.
kg_require_prog() {
	local name
	for name in "$@"; do
		[ -n "$(kg_prog "$name")" ] || kg_skip "$name is not installed"
	done
}

# kg_init: creates $KG_TMP and installs the cleanup trap.
kg_init() {
	KG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/keygate-test.XXXXXX") ||
		kg_error "mktemp -d failed"
	chmod 700 "$KG_TMP"
	trap kg_cleanup EXIT
	trap 'exit 99' INT TERM HUP
}

# kg_track PID: stop PID at cleanup.
kg_track() {
	KG_PIDS+=("$1")
}

# kg_stop PID [SECONDS]: SIGTERM, wait up to SECONDS (default 5, times
# KG_SLOW), SIGKILL.
kg_stop() {
	local pid=$1 limit=$(( ${2:-5} * 20 * KG_SLOW )) i=0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $i -lt $limit ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kg_log "pid $pid ignored SIGTERM: killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || true
}

# kg_cleanup: the EXIT trap.  Stops what was started (newest first) and
# removes $KG_TMP.
kg_cleanup() {
	local rc=$? i pid kids
	trap - EXIT
	for ((i = ${#KG_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${KG_PIDS[i]}
		kill -0 "$pid" 2>/dev/null || continue
		# Children first: workers of a keygate master that is gone.
		kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
		kg_stop "$pid" 5
		for pid in $kids; do
			kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		done
	done
	# After every process ended: its valgrind log is complete.
	if [ "$KG_VALGRIND" = 1 ] && ! kg_valgrind_scan; then
		[ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] || rc=1
	fi
	# Databases after the processes, so no session of theirs holds a lock.
	[ ${#KG_DBS[@]} -eq 0 ] || kg_db_drop_all
	[ -z "$KG_PRIVATE_DB" ] ||
		"$top_srcdir/tools/dbctl" stop "$KG_PRIVATE_DB" >/dev/null 2>&1
	kg_release_ports
	if [ -n "$KG_TMP" ] && [ -d "$KG_TMP" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] || [ "${KG_KEEP_TMP:-0}" = 1 ]; then
			kg_log "files kept in $KG_TMP"
			for f in "$KG_TMP"/*.log; do
				[ -f "$f" ] || continue
				echo "----- $f (last 40 lines)" >&2
				tail -n 40 "$f" >&2
			done
		else
			rm -rf "$KG_TMP"
		fi
	fi
	exit "$rc"
}

# kg_port_busy PORT: true when something accepts on 127.0.0.1:PORT.
kg_port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# kg_free_port: prints a TCP port on 127.0.0.1 that nothing listens on,
# reserved for this test until it exits.  Tests run in parallel, and
# kg_free_port runs in a $(...) subshell, so the reservation is a
# directory under $KG_PORT_DIR (one per user; mkdir is atomic) owned
# by this test's pid; a reservation whose owner is gone is taken over.
# Ports come from below the kernel's ephemeral range, so no outgoing
# connection of a parallel test can be holding one.
KG_PORT_DIR=${TMPDIR:-/tmp}/keygate-test-ports.$(id -u)
kg_free_port() {
	local i p lo=20000 span=40000 eph owner
	eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true)
	if [ -n "$eph" ] && [ "$eph" -gt $((lo + 2000)) ] 2>/dev/null; then
		span=$((eph - lo))
	fi
	mkdir -p "$KG_PORT_DIR" 2>/dev/null
	for ((i = 0; i < 400; i++)); do
		p=$(( lo + (RANDOM * 32768 + RANDOM) % span ))
		if ! mkdir "$KG_PORT_DIR/$p" 2>/dev/null; then
			owner=$(cat "$KG_PORT_DIR/$p/owner" 2>/dev/null || true)
			[ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null || continue
			# Stale: its test is gone.  Take it over.
		fi
		echo "$$" >"$KG_PORT_DIR/$p/owner"
		if command -v ss >/dev/null 2>&1 &&
		    ss -Htan "( sport = :$p )" 2>/dev/null | grep -q .; then
			continue
		fi
		kg_port_busy "$p" && continue
		printf '%s\n' "$p"
		return 0
	done
	kg_error "no free port found"
}

# kg_release_ports: drops this test's port reservations (kg_cleanup).
kg_release_ports() {
	local d
	for d in "$KG_PORT_DIR"/*/; do
		[ -f "$d/owner" ] || continue
		[ "$(cat "$d/owner" 2>/dev/null)" = "$$" ] && rm -rf "$d"
	done
	return 0
}

# kg_started PID NAME LOG: after kg_wait_listen succeeded, checks that the
# process we started is the one listening (a server that lost a bind race
# exits at once, and something else may be answering on its port).
kg_started() {
	sleep 0.1
	kill -0 "$1" 2>/dev/null ||
		kg_error "$2 exited right after start (see $3)"
}

# kg_write_config FILE [LINE...]: writes a keygate config (mode 0600),
# one "key = value" per argument.
# Unless a line sets jwt_* itself, a fixed test-only HS256 secret is added:
# the service refuses to start without signing keys (SPEC 5).
KG_TEST_JWT_SECRET=keygate-test-only-jwt-secret-0123456789abcdef
kg_write_config() {
	local file=$1 line jwt=0
	shift
	(umask 077 && : >"$file") || kg_error "cannot write $file"
	chmod 600 "$file"
	for line in "$@"; do
		case $line in jwt_*) jwt=1 ;; esac
	done
	{
		[ $jwt -eq 1 ] || printf 'jwt_secret = %s\n' "$KG_TEST_JWT_SECRET"
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} >"$file"
}

# kg_config_get FILE KEY: prints the value of KEY in a keygate config.
kg_config_get() {
	sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n 1
}

# kg_wait_listen ADDRESS [SECONDS]: waits until "tcp:HOST:PORT" accepts
# connections or "unix:/path" exists as a socket.  (As every wait here:
# SECONDS times KG_SLOW.)
kg_wait_listen() {
	local addr=$1 limit=$(( ${2:-10} * 20 * KG_SLOW )) i=0 hp host port
	while [ $i -lt $limit ]; do
		case $addr in
		unix:*)
			[ -S "${addr#unix:}" ] && return 0 ;;
		tcp:*)
			hp=${addr#tcp:}
			host=${hp%:*}
			port=${hp##*:}
			host=${host#[}
			host=${host%]}
			(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0 ;;
		*)
			kg_error "kg_wait_listen: bad address $addr" ;;
		esac
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# kg_start_fcgi CONFIGFILE [ARG...]: starts keygate-fcgi standalone with
# that config in the background (stderr to $KG_TMP/fcgi.log, or to
# $KG_FCGI_LOG when set) and waits until it listens.  Sets KG_FCGI_PID.
# With KEYGATE_TEST_VALGRIND=1 under valgrind (kg_valgrind_cmd): its pid
# is still keygate's (valgrind runs the program in its own process).
kg_start_fcgi() {
	local conf=$1 bin=$top_builddir/keygate-fcgi addr vg=()
	shift
	[ -x "$bin" ] || kg_error "$bin is not built"
	[ -n "$KG_FCGI_LOG" ] || KG_FCGI_LOG=$KG_TMP/fcgi.log
	addr=$(kg_config_get "$conf" listen)
	[ -n "$addr" ] || kg_error "$conf has no listen line"
	[ "$KG_VALGRIND" != 1 ] || kg_valgrind_cmd vg
	# fd 0 from /dev/null: never looks like a web server's socket.
	"${vg[@]}" "$bin" -c "$conf" "$@" </dev/null >>"$KG_FCGI_LOG" 2>&1 &
	KG_FCGI_PID=$!
	kg_track "$KG_FCGI_PID"
	if ! kg_wait_listen "$addr" 10; then
		kg_error "keygate-fcgi did not listen on $addr (see $KG_FCGI_LOG)"
	fi
	kg_started "$KG_FCGI_PID" keygate-fcgi "$KG_FCGI_LOG"
}

# ---------------------------------------------------------------- valgrind
# kg_valgrind_cmd ARRAY: sets the array named ARRAY to the valgrind command
# (without the program) that kg_start_fcgi puts in front of keygate-fcgi.
# Workers are forked, not executed: valgrind follows a fork by itself, and
# %p gives each process its own log (in $KG_TMP/valgrind, writable by all:
# a worker that dropped privileges (`user`) opens its log after the fork);
# --trace-children=yes follows an exec too, should keygate ever run a
# program.  Leaks count as errors only when definite or indirect (memory
# still reachable at exit is not a leak; a "possibly lost" block is an
# interior pointer, not a lost one).  No vgdb: nothing attaches, and a
# worker without privileges could not remove its FIFOs in /tmp.
kg_valgrind_cmd() {
	local -n _vg=$1
	local supp=$top_srcdir/tests/valgrind.supp dir=$KG_TMP/valgrind
	command -v valgrind >/dev/null 2>&1 ||
		kg_skip "KEYGATE_TEST_VALGRIND=1 but valgrind is not installed"
	[ -r "$supp" ] || kg_error "cannot read $supp"
	# Sticky: only $KG_TMP's owner (and Apache's user) can reach it.
	{ mkdir -p "$dir" && chmod 1777 "$dir"; } || kg_error "cannot create $dir"
	# shellcheck disable=SC2054  # the commas are valgrind's list syntax
	_vg=(valgrind --tool=memcheck --leak-check=full --trace-children=yes
	    --errors-for-leak-kinds=definite,indirect
	    --show-leak-kinds=definite,indirect --error-exitcode=99
	    --num-callers=30 --vgdb=no --suppressions="$supp"
	    --log-file="$dir/valgrind.%p.vg")
}

# kg_valgrind_scan: at cleanup, once every process ended.  False (after
# printing the log) when a valgrind log reports an error or a definite or
# indirect leak, or valgrind itself complains (a worker whose log could
# not be created is not checked: "valgrind: Cannot create log file").  A
# log without a summary is a process that was killed (a test's kill -9,
# or a SIGKILL at cleanup): said, but no failure.
kg_valgrind_scan() {
	local f bad=0 n=0
	for f in "$KG_TMP"/valgrind/valgrind.*.vg; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		if grep -Eq 'ERROR SUMMARY: [1-9]|(definitely|indirectly) lost: [1-9]|^valgrind: ' "$f"; then
			kg_log "FAIL: valgrind reports errors or leaks in ${f##*/}:"
			cat "$f" >&2
			bad=1
		elif ! grep -q 'ERROR SUMMARY:' "$f"; then
			kg_log "valgrind: ${f##*/} has no summary (the process was killed)"
		fi
	done
	kg_log "valgrind: $n process log(s) scanned$([ $bad -eq 0 ] && echo ', clean')"
	[ $bad -eq 0 ]
}

# kg_fcgi_workers [MASTERPID]: prints the pids of the master's children,
# one a line, sorted as strings (ready for comm(1)).  Uses ps(1): a script
# that calls it says `kg_require_prog ps` first.
kg_fcgi_workers() {
	ps -o pid= --ppid "${1:-$KG_FCGI_PID}" 2>/dev/null | tr -d ' ' |
	    LC_ALL=C sort
}

# kg_wait_workers N [SECONDS]: waits until keygate-fcgi's master
# ($KG_FCGI_PID) has exactly N children.
kg_wait_workers() {
	local n=$1 limit=$(( ${2:-10} * 20 * KG_SLOW )) i=0
	while [ $i -lt $limit ]; do
		[ "$(kg_fcgi_workers | wc -l)" -eq "$n" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# kg_lighttpd_conf FILE PORT FCGI_HOST FCGI_PORT [BASE]: writes a
# lighttpd.conf serving 127.0.0.1:PORT that hands everything under BASE
# (default "/") to the FastCGI server at FCGI_HOST:FCGI_PORT, or at the
# unix socket when FCGI_HOST is "unix:/path".  keygate's base_path must
# then be BASE ("" for "/").
kg_lighttpd_conf() {
	local file=$1 port=$2 host=$3 fport=$4 base=${5:-/} backend
	mkdir -p "$KG_TMP/htdocs"
	case $host in
	unix:*) backend="\"socket\" => \"${host#unix:}\"" ;;
	*) backend="\"host\" => \"$host\", \"port\" => $fport" ;;
	esac
	cat >"$file" <<EOF
server.document-root = "$KG_TMP/htdocs"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$KG_TMP/lighttpd.error.log"
server.modules += ( "mod_fastcgi" )
# SCRIPT_NAME = BASE, PATH_INFO = the rest (SCRIPT_NAME "" for "/").
fastcgi.server = ( "$base" => ( (
	$backend,
	"check-local" => "disable",
	"fix-root-scriptname" => "enable"
) ) )
${KG_LIGHTTPD_EXTRA:-}
EOF
}

# kg_start_lighttpd FCGI_HOST FCGI_PORT [BASE]: starts a private lighttpd
# (-D, in the background) in front of a FastCGI server; see
# kg_lighttpd_conf.  Sets KG_LIGHTTPD_PID, KG_HTTP_PORT and KG_HTTP_URL
# (http://127.0.0.1:PORT, without BASE).
kg_start_lighttpd() {
	local lighttpd conf=$KG_TMP/lighttpd.conf
	lighttpd=$(kg_prog lighttpd)
	[ -n "$lighttpd" ] || kg_skip "lighttpd is not installed"
	KG_HTTP_PORT=$(kg_free_port)
	kg_lighttpd_conf "$conf" "$KG_HTTP_PORT" "$1" "${2:-0}" "${3:-/}"
	"$lighttpd" -tt -f "$conf" >"$KG_TMP/lighttpd-check.log" 2>&1 ||
		kg_error "lighttpd rejects $conf: $(cat "$KG_TMP/lighttpd-check.log")"
	"$lighttpd" -D -f "$conf" </dev/null >>"$KG_TMP/lighttpd.log" 2>&1 &
	KG_LIGHTTPD_PID=$!
	kg_track "$KG_LIGHTTPD_PID"
	KG_HTTP_URL=http://127.0.0.1:$KG_HTTP_PORT
	kg_wait_listen "tcp:127.0.0.1:$KG_HTTP_PORT" 10 ||
		kg_error "lighttpd did not start (see $KG_TMP/lighttpd.error.log)"
	kg_started "$KG_LIGHTTPD_PID" lighttpd "$KG_TMP/lighttpd.log"
}

# kg_start_lighttpd_spawned KEYGATE_CONF [BASE [NAME=VALUE...]]: starts a
# private lighttpd (-D, in the background) that spawns keygate-fcgi itself
# (`bin-path`, one process, its listening unix socket on fd 0, in the
# environment KEYGATE_CONFIG=KEYGATE_CONF and each NAME=VALUE) and hands
# everything under BASE (default "/") to it.  The socket is
# $KG_TMP/spawned.sock-0; lighttpd's and the spawned keygate's output go to
# $KG_TMP/lighttpd-spawned.log.  Sets KG_LIGHTTPD_PID, KG_HTTP_PORT and
# KG_HTTP_URL as kg_start_lighttpd does.
kg_start_lighttpd_spawned() {
	local kconf=$1 base=${2:-/} lighttpd conf=$KG_TMP/lighttpd-spawned.conf
	local bin=$top_builddir/keygate-fcgi env pair
	shift $(( $# < 2 ? $# : 2 ))
	env="\"KEYGATE_CONFIG\" => \"$kconf\""
	for pair in "$@"; do
		env="$env, \"${pair%%=*}\" => \"${pair#*=}\""
	done
	lighttpd=$(kg_prog lighttpd)
	[ -n "$lighttpd" ] || kg_skip "lighttpd is not installed"
	[ -x "$bin" ] || kg_error "$bin is not built"
	KG_HTTP_PORT=$(kg_free_port)
	mkdir -p "$KG_TMP/htdocs"
	cat >"$conf" <<EOF
server.document-root = "$KG_TMP/htdocs"
server.bind = "127.0.0.1"
server.port = $KG_HTTP_PORT
server.errorlog = "$KG_TMP/lighttpd-spawned.error.log"
server.modules += ( "mod_fastcgi" )
fastcgi.server = ( "$base" => ( (
	"socket" => "$KG_TMP/spawned.sock",
	"bin-path" => "$bin",
	"bin-environment" => ( $env ),
	"max-procs" => 1,
	"check-local" => "disable",
	"fix-root-scriptname" => "enable"
) ) )
${KG_LIGHTTPD_EXTRA:-}
EOF
	"$lighttpd" -tt -f "$conf" >"$KG_TMP/lighttpd-check.log" 2>&1 ||
		kg_error "lighttpd rejects $conf: $(cat "$KG_TMP/lighttpd-check.log")"
	"$lighttpd" -D -f "$conf" </dev/null >>"$KG_TMP/lighttpd-spawned.log" 2>&1 &
	KG_LIGHTTPD_PID=$!
	kg_track "$KG_LIGHTTPD_PID"
	KG_HTTP_URL=http://127.0.0.1:$KG_HTTP_PORT
	kg_wait_listen "tcp:127.0.0.1:$KG_HTTP_PORT" 10 ||
		kg_error "lighttpd did not start (see $KG_TMP/lighttpd-spawned.error.log)"
	kg_started "$KG_LIGHTTPD_PID" lighttpd "$KG_TMP/lighttpd-spawned.log"
}

# kg_wait_gone PID [SECONDS]: waits (default 10 s) until process PID, a
# child of this shell or not, no longer exists.
kg_wait_gone() {
	local pid=$1 limit=$(( ${2:-10} * 20 * KG_SLOW )) i=0
	while kill -0 "$pid" 2>/dev/null; do
		[ $i -lt $limit ] || return 1
		sleep 0.05
		i=$((i + 1))
	done
	return 0
}

# kg_curl ARG...: curl, quiet, with a time limit on everything.
kg_curl() {
	"$(kg_prog curl)" -sS --max-time "$(( ${KG_CURL_TIMEOUT:-10} * KG_SLOW ))" "$@"
}

# kg_http_status URL [CURL ARG...]: prints the HTTP status (000 when no
# response arrived).
kg_http_status() {
	local url=$1
	shift
	kg_curl -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null ||
		true
}

# kg_wait_http URL [SECONDS]: waits until URL answers 2xx.
kg_wait_http() {
	local url=$1 limit=$(( ${2:-10} * 10 * KG_SLOW )) i=0 st
	while [ $i -lt $limit ]; do
		st=$(KG_CURL_TIMEOUT=2 kg_http_status "$url")
		case $st in 2??) return 0 ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	kg_log "kg_wait_http: $url still answers ${st:-nothing}"
	return 1
}

# kg_http_many URL COUNT: requests URL COUNT times over one curl process
# (keep-alive), printing one status a line.
kg_http_many() {
	local url=$1 n=$2 i args=()
	for ((i = 0; i < n; i++)); do
		args+=(-o /dev/null "$url")
	done
	KG_CURL_TIMEOUT=$(( n / 10 + 10 )) kg_curl -w '%{http_code}\n' \
	    "${args[@]}" 2>/dev/null || true
}

# kg_wait_log FILE REGEX [SECONDS]: waits until a line of FILE matches.
kg_wait_log() {
	local file=$1 re=$2 limit=$(( ${3:-10} * 20 * KG_SLOW )) i=0
	while [ $i -lt $limit ]; do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# ---------------------------------------------------------------- FastCGI
# A FastCGI client in the shell, to send keygate-fcgi exactly the records
# a test needs, when it needs them, without a web server in between:
#   exec 3<>"/dev/tcp/127.0.0.1/$port"
#   kg_fcgi_get 1 /health >&3                # or piece by piece:
#   kg_fcgi_begin 1 0 >&3                    # flags 1: FCGI_KEEP_CONN
#   kg_fcgi_params 1 REQUEST_METHOD=POST CONTENT_LENGTH=2 >&3
#   kg_fcgi_stdin 1 '{}' >&3; kg_fcgi_stdin 1 >&3
#   timeout 5 cat <&3 >"$KG_TMP/out"         # status 0: keygate closed
#   kg_fcgi_status "$KG_TMP/out"             # 200
#   kg_fcgi_end "$KG_TMP/out"                # 0: FCGI_REQUEST_COMPLETE
# Request ids are 1..65535, each call writes whole records (content below
# 64 KiB, no padding), values may hold any byte but NUL.  Needs od(1).

# _kg_fcgi_bytes N...: writes each N (0..255) as one byte.
_kg_fcgi_bytes() {
	local n o
	for n in "$@"; do
		printf -v o '%03o' "$n"
		# shellcheck disable=SC2059  # the format is the byte
		printf "\\$o"
	done
}

# _kg_fcgi_header TYPE ID LENGTH: the 8-byte header of one record.
_kg_fcgi_header() {
	[ "$3" -le 65535 ] || kg_error "a FastCGI record of $3 bytes"
	_kg_fcgi_bytes 1 "$1" $(( $2 >> 8 )) $(( $2 & 255 )) \
	    $(( $3 >> 8 )) $(( $3 & 255 )) 0 0
}

# _kg_fcgi_len N: a name-value pair's length field for N.
_kg_fcgi_len() {
	if [ "$1" -lt 128 ]; then
		_kg_fcgi_bytes "$1"
	else
		_kg_fcgi_bytes $(( (($1 >> 24) & 127) | 128 )) \
		    $(( ($1 >> 16) & 255 )) $(( ($1 >> 8) & 255 )) $(( $1 & 255 ))
	fi
}

# kg_fcgi_begin ID [FLAGS]: FCGI_BEGIN_REQUEST, role RESPONDER.
kg_fcgi_begin() {
	_kg_fcgi_header 1 "$1" 8
	_kg_fcgi_bytes 0 1 "${2:-0}" 0 0 0 0 0
}

# kg_fcgi_params ID [NAME=VALUE...]: the parameters in one FCGI_PARAMS
# record, then the empty one that ends them.
kg_fcgi_params() {
	local LC_ALL=C	# lengths in bytes
	local id=$1 pair name value total=0
	shift
	for pair in "$@"; do
		name=${pair%%=*}
		value=${pair#*=}
		total=$(( total + ${#name} + ${#value} +
		    (${#name} < 128 ? 1 : 4) + (${#value} < 128 ? 1 : 4) ))
	done
	_kg_fcgi_header 4 "$id" "$total"
	for pair in "$@"; do
		name=${pair%%=*}
		value=${pair#*=}
		_kg_fcgi_len "${#name}"
		_kg_fcgi_len "${#value}"
		printf '%s%s' "$name" "$value"
	done
	_kg_fcgi_header 4 "$id" 0
}

# kg_fcgi_stdin ID [DATA]: one FCGI_STDIN record holding DATA; without
# DATA, the empty record that ends the body.
kg_fcgi_stdin() {
	local LC_ALL=C	# lengths in bytes
	local data=${2:-}
	_kg_fcgi_header 5 "$1" "${#data}"
	printf '%s' "$data"
}

# kg_fcgi_get ID URI [FLAGS]: a whole GET request for URI, without a body.
kg_fcgi_get() {
	kg_fcgi_begin "$1" "${3:-0}"
	kg_fcgi_params "$1" REQUEST_METHOD=GET "REQUEST_URI=$2"
	kg_fcgi_stdin "$1"
}

# _kg_fcgi_records FILE: one line "TYPE ID BYTE..." (bytes in decimal) per
# whole record of a captured FastCGI stream; a cut-off last one is left out.
_kg_fcgi_records() {
	od -An -v -tu1 "$1" | awk '
	{ for (f = 1; f <= NF; f++) b[n++] = $f }
	END {
		i = 0
		while (i + 8 <= n) {
			len = b[i+4] * 256 + b[i+5]
			if (i + 8 + len + b[i+6] > n)
				break
			line = b[i+1] " " (b[i+2] * 256 + b[i+3])
			for (j = 0; j < len; j++)
				line = line " " b[i+8+j]
			print line
			i += 8 + len + b[i+6]
		}
	}'
}

# kg_fcgi_end FILE [ID]: the protocol status of request ID's (default 1)
# FCGI_END_REQUEST in a captured response (0: the request is complete), or
# nothing when there is none.
kg_fcgi_end() {
	_kg_fcgi_records "$1" | awk -v id="${2:-1}" '
	    $1 == 3 && $2 == id && NF == 10 { print $7; exit }'
}

# kg_fcgi_stdout FILE [ID]: request ID's (default 1) FCGI_STDOUT stream in
# a captured response, without the records' framing.
kg_fcgi_stdout() {
	_kg_fcgi_records "$1" | LC_ALL=C awk -v id="${2:-1}" '
	    $1 == 6 && $2 == id { for (f = 3; f <= NF; f++) printf "%c", $f }'
}

# kg_fcgi_status FILE [ID]: the HTTP status of request ID (default 1) in a
# captured response (its "Status: N" header), or nothing.
kg_fcgi_status() {
	kg_fcgi_stdout "$1" "${2:-1}" | tr -d '\r' |
	    sed -n '/^$/q; s/^Status: \([0-9][0-9][0-9]\).*/\1/p'
}

# ---------------------------------------------------------------- database
# The private MariaDB of the test run (tools/dbctl) is named by
# KEYGATE_TEST_DB_SOCKET; user root, no password.  Each test makes its own
# database and drops it at cleanup.
KG_DBS=()

# kg_require_db: skips (or, when required, fails) without a test database.
kg_require_db() {
	kg_require_prog mariadb
	[ -n "${KEYGATE_TEST_DB_SOCKET:-}" ] && [ -S "$KEYGATE_TEST_DB_SOCKET" ] ||
		kg_skip "no test database (KEYGATE_TEST_DB_SOCKET)"
}

# kg_sql ARG...: the mariadb client on the test server.
kg_sql() {
	mariadb --no-defaults -S "$KEYGATE_TEST_DB_SOCKET" -u root -N -B "$@"
}

# kg_db_create: creates an empty database and sets KG_DB to its name; it is
# dropped at exit.  (Not for $(...): the record must stay in this shell.)
kg_db_create() {
	local name="kge2e_$$_${#KG_DBS[@]}"
	kg_sql -e "CREATE DATABASE \`$name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" ||
		kg_error "cannot create database $name"
	KG_DBS+=("$name")
	KG_DB=$name
}

# kg_db_config_lines DBNAME: the config lines that reach DBNAME.
kg_db_config_lines() {
	printf '%s\n' "db_socket = $KEYGATE_TEST_DB_SOCKET" "db_user = root" \
	    "db_name = $1" "db_connect_timeout = 2"
}

# kg_db_drop_all: drops the databases this test made (called at cleanup).
kg_db_drop_all() {
	local name
	for name in "${KG_DBS[@]}"; do
		kg_sql -e "DROP DATABASE IF EXISTS \`$name\`" 2>/dev/null || true
	done
}

# ---------------------------------------------------------------- assertions
# kg_expect_eq WHAT GOT WANT
kg_expect_eq() {
	[ "$2" = "$3" ] || kg_fail "$1: got '$2', want '$3'"
}

# kg_expect_match WHAT GOT REGEX (extended)
kg_expect_match() {
	printf '%s' "$2" | grep -Eq -- "$3" || kg_fail "$1: '$2' does not match /$3/"
}

# kg_request METHOD URL [CURL ARG...]: sets KG_STATUS, KG_BODY and
# KG_HEADERS (lower-cased names, CR stripped) of one request.
kg_request() {
	local method=$1 url=$2 out
	shift 2
	out=$(kg_curl -X "$method" -D "$KG_TMP/resp.headers" -o "$KG_TMP/resp.body" \
	    -w '%{http_code}' "$@" "$url" 2>/dev/null) || out=000
	KG_STATUS=$out
	KG_BODY=$(cat "$KG_TMP/resp.body" 2>/dev/null || true)
	KG_HEADERS=$(tr -d '\r' <"$KG_TMP/resp.headers" 2>/dev/null |
	    sed 's/^\([^:]*\):/\L\1:/' || true)
}

# kg_header NAME: the value of response header NAME (lower case) of the
# last kg_request.
kg_header() {
	printf '%s\n' "$KG_HEADERS" | sed -n "s/^$1: *//p" | tail -n 1
}

# ---------------------------------------------------------------- authorizers
# Web servers in front of a static folder that keygate protects (SPEC 10).

# kg_start_lighttpd_authorizer FCGI_HOST FCGI_PORT DOCROOT [LOCATION...]:
# starts a private lighttpd (-D, in the background) serving the files of
# DOCROOT itself, with keygate (the FastCGI server at FCGI_HOST:FCGI_PORT,
# or at the unix socket when FCGI_HOST is "unix:/path") as the FastCGI
# Authorizer ("mode" => "authorizer") of every LOCATION.  A LOCATION is
# "PREFIX [NAME=VALUE...]" (values without blanks): requests whose path
# starts with PREFIX are authorized first, and each NAME=VALUE (e.g.
# KEYGATE_REQUIRE_SCOPE=keys:read) reaches the authorizer as a FastCGI
# parameter of that location only, through setenv.add-environment inside
# the location's condition ("bin-environment" would not do: it is the
# environment of a spawned process, the same for every location).  Files
# ending in .sh run as CGI scripts (mod_cgi, with the authorizer's
# Variable-* answers in their environment).  Writes
# $KG_TMP/lighttpd-authz.conf; logs to $KG_TMP/lighttpd-authz.error.log.
# Sets KG_LIGHTTPD_AUTHZ_PID, KG_LIGHTTPD_AUTHZ_PORT, KG_LIGHTTPD_AUTHZ_URL.
kg_start_lighttpd_authorizer() {
	local host=$1 fport=$2 docroot=$3 lighttpd backend loc prefix pair env
	local conf=$KG_TMP/lighttpd-authz.conf
	shift 3
	lighttpd=$(kg_prog lighttpd)
	[ -n "$lighttpd" ] || kg_skip "lighttpd is not installed"
	case $host in
	unix:*) backend="\"socket\" => \"${host#unix:}\"" ;;
	*) backend="\"host\" => \"$host\", \"port\" => $fport" ;;
	esac
	KG_LIGHTTPD_AUTHZ_PORT=$(kg_free_port)
	cat >"$conf" <<CONF
server.document-root = "$docroot"
server.bind = "127.0.0.1"
server.port = $KG_LIGHTTPD_AUTHZ_PORT
server.errorlog = "$KG_TMP/lighttpd-authz.error.log"
server.modules += ( "mod_setenv", "mod_fastcgi", "mod_cgi" )
cgi.assign = ( ".sh" => "" )
CONF
	for loc in "$@"; do
		prefix=${loc%% *}
		env=
		if [ "$prefix" != "$loc" ]; then
			for pair in ${loc#* }; do
				env="$env${env:+, }\"${pair%%=*}\" => \"${pair#*=}\""
			done
		fi
		cat >>"$conf" <<CONF
\$HTTP["url"] =^ "$prefix" {
	setenv.add-environment = ( $env )
	fastcgi.server = ( "$prefix" => ( (
		$backend,
		"mode" => "authorizer",
		"check-local" => "disable"
	) ) )
}
CONF
	done
	printf '%s\n' "${KG_LIGHTTPD_EXTRA:-}" >>"$conf"
	"$lighttpd" -tt -f "$conf" >"$KG_TMP/lighttpd-check.log" 2>&1 ||
		kg_error "lighttpd rejects $conf: $(cat "$KG_TMP/lighttpd-check.log")"
	"$lighttpd" -D -f "$conf" </dev/null >>"$KG_TMP/lighttpd-authz.log" 2>&1 &
	KG_LIGHTTPD_AUTHZ_PID=$!
	kg_track "$KG_LIGHTTPD_AUTHZ_PID"
	KG_LIGHTTPD_AUTHZ_URL=http://127.0.0.1:$KG_LIGHTTPD_AUTHZ_PORT
	kg_wait_listen "tcp:127.0.0.1:$KG_LIGHTTPD_AUTHZ_PORT" 10 ||
		kg_error "lighttpd did not start (see $KG_TMP/lighttpd-authz.error.log)"
	kg_started "$KG_LIGHTTPD_AUTHZ_PID" lighttpd "$KG_TMP/lighttpd-authz.error.log"
}

# kg_start_nginx SERVER_SNIPPET: starts a private nginx (daemon off, in the
# background) with one server on 127.0.0.1 and a free port, whose
# server-level directives (locations, root, ...) are in the file
# SERVER_SNIPPET.  Everything nginx writes is under $KG_TMP/nginx (prefix,
# pid file, temp paths, nginx.error.log, nginx.access.log): nothing of the
# system's nginx (its configuration, its service, port 80) is used.  Run
# by root, the workers stay root ("user root"): the default user could not
# read the test's private 0700 directory; no privileged port is bound.
# Sets KG_NGINX_PID, KG_NGINX_PORT, KG_NGINX_URL.
kg_start_nginx() {
	local snippet=$1 nginx dir=$KG_TMP/nginx conf user=
	nginx=$(kg_prog nginx)
	[ -n "$nginx" ] || kg_skip "nginx is not installed"
	mkdir -p "$dir/tmp" || kg_error "cannot create $dir"
	conf=$dir/nginx.conf
	[ "$(id -u)" -ne 0 ] || user="user root root;"
	KG_NGINX_PORT=$(kg_free_port)
	cat >"$conf" <<CONF
$user
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $KG_TMP/nginx.error.log info;
events { worker_connections 64; }
http {
	access_log $KG_TMP/nginx.access.log;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	server {
		listen 127.0.0.1:$KG_NGINX_PORT;
		include $snippet;
	}
}
CONF
	"$nginx" -t -p "$dir/" -e "$KG_TMP/nginx.error.log" -c "$conf" \
	    >"$KG_TMP/nginx-check.log" 2>&1 ||
		kg_error "nginx rejects $conf: $(cat "$KG_TMP/nginx-check.log")"
	"$nginx" -p "$dir/" -e "$KG_TMP/nginx.error.log" -c "$conf" \
	    </dev/null >>"$KG_TMP/nginx.log" 2>&1 &
	KG_NGINX_PID=$!
	kg_track "$KG_NGINX_PID"
	KG_NGINX_URL=http://127.0.0.1:$KG_NGINX_PORT
	kg_wait_listen "tcp:127.0.0.1:$KG_NGINX_PORT" 10 ||
		kg_error "nginx did not start (see $KG_TMP/nginx.error.log)"
	kg_started "$KG_NGINX_PID" nginx "$KG_TMP/nginx.error.log"
}

# ---------------------------------------------------------------- wallets
# kg_signer_init: makes ethers (npm, pinned by tests/e2e/package-lock.json)
# ready in $top_builddir/tests/e2e (npm ci once, reused) and sets
# KG_SIGNER to that directory; skips when npm cannot install it.  Needs
# node and npm (kg_require_prog).  Then, with test-only keys:
#   kg_eth_address KEY      the EIP-55 address of KEY
#   kg_eth_sign KEY <MSG    personal_sign(MSG)
kg_signer_init() {
	local f
	KG_SIGNER=$top_builddir/tests/e2e
	mkdir -p "$KG_SIGNER" || kg_error "cannot create $KG_SIGNER"
	for f in package.json package-lock.json sign.mjs; do
		[ "$top_srcdir/tests/e2e/$f" -ef "$KG_SIGNER/$f" ] && continue
		cmp -s "$top_srcdir/tests/e2e/$f" "$KG_SIGNER/$f" ||
			cp "$top_srcdir/tests/e2e/$f" "$KG_SIGNER/$f" ||
			kg_error "cannot copy $f"
	done
	if [ ! -f "$KG_SIGNER/node_modules/ethers/package.json" ] ||
	   [ "$KG_SIGNER/package-lock.json" -nt "$KG_SIGNER/node_modules/.package-lock.json" ]; then
		npm ci --prefix "$KG_SIGNER" --no-audit --no-fund --loglevel=error \
		    >"$KG_TMP/npm.log" 2>&1 ||
			kg_skip "npm ci (ethers) failed, no registry? $(tail -n 3 "$KG_TMP/npm.log")"
	fi
}

kg_eth_address() {
	KG_SIGN_KEY=$1 node "$KG_SIGNER/sign.mjs" address
}

kg_eth_sign() {
	KG_SIGN_KEY=$1 node "$KG_SIGNER/sign.mjs" sign
}

# kg_wallet_session URL KEY NAMESPACE: signs in through keygate at URL
# with the real challenge -> personal_sign(SIWE message) -> verify flow;
# sets KG_ACCESS (the access token) and KG_TRACK.  Needs jq.
kg_wallet_session() {
	local url=$1 key=$2 ns=$3 addr nonce msg sig body
	addr=$(kg_eth_address "$key") || kg_error "the signer does not run"
	kg_request POST "$url/v1/auth/challenge" \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"wallet\":\"$addr\",\"namespace\":\"$ns\"}"
	[ "$KG_STATUS" = 200 ] || kg_fail "challenge: $KG_STATUS $KG_BODY"
	nonce=$(printf '%s' "$KG_BODY" | jq -r .nonce)
	msg=$(printf '%s' "$KG_BODY" | jq -r .message)
	sig=$(printf '%s' "$msg" | kg_eth_sign "$key") ||
		kg_error "the signer does not run"
	body=$(jq -nc --arg w "$addr" --arg n "$nonce" --arg s "$sig" \
	    --arg m "$msg" --arg ns "$ns" \
	    '{wallet:$w, nonce:$n, signature:$s, namespace:$ns, message:$m}')
	kg_request POST "$url/v1/auth/verify" \
	    -H 'Content-Type: application/json' --data-binary "$body"
	[ "$KG_STATUS" = 200 ] || kg_fail "verify: $KG_STATUS $KG_BODY"
	KG_ACCESS=$(printf '%s' "$KG_BODY" | jq -r .access_token)
	KG_TRACK=$(printf '%s' "$KG_BODY" | jq -r .track)
}

# kg_service_up NAMESPACE...: the set-up of the management e2e tests.  A
# fresh migrated database holding the namespaces named, keygate-fcgi
# (2 workers, a freshly generated admin key) behind lighttpd.  Sets admin
# (the keygate-admin program), conf, akey (the admin key) and url, and
# defines field, expect and as (see their comments).
kg_service_up() {
	local fport values="" ns
	admin=$top_builddir/keygate-admin
	kg_db_create
	fport=$(kg_free_port)
	conf=$KG_TMP/keygate.conf
	akey=$("$admin" gen-admin-key) || kg_error "gen-admin-key failed"
	kg_write_config "$conf" "listen = tcp:127.0.0.1:$fport" "workers = 2" \
	    "admin_key = $akey"
	kg_db_config_lines "$KG_DB" >>"$conf"
	"$admin" -c "$conf" migrate --schema-dir "$top_srcdir/schema" \
	    >"$KG_TMP/migrate.log" 2>&1 ||
		kg_error "migrate failed: $(cat "$KG_TMP/migrate.log")"
	for ns in "$@"; do
		values="$values${values:+, }('$ns', UTC_TIMESTAMP(6))"
	done
	[ -z "$values" ] ||
		kg_sql "$KG_DB" -e "INSERT INTO namespaces (name, created_at) VALUES $values" ||
		kg_error "cannot create the namespaces"
	kg_start_fcgi "$conf"
	kg_start_lighttpd 127.0.0.1 "$fport"
	kg_wait_http "$KG_HTTP_URL/health" || kg_fail "/health never answered"
	url=$KG_HTTP_URL
}

# field JQ: a member of the last response body.
field() { printf '%s' "$KG_BODY" | jq -r "$1"; }

# expect WHAT STATUS [CODE]: the last response had STATUS (and error CODE).
expect() {
	kg_expect_eq "$1 status ($KG_BODY)" "$KG_STATUS" "$2"
	[ $# -lt 3 ] || kg_expect_eq "$1 error" "$(field .error)" "$3"
}

# as CREDENTIAL METHOD PATH [CURL ARG...]: a request to the service.
as() {
	local cred=$1 method=$2 path=$3
	shift 3
	kg_request "$method" "$url$path" -H "Authorization: Bearer $cred" "$@"
}

# ---------------------------------------------------------------- shipped configs
# The deployment snippets of conf/ run as shipped: a test fills in their
# @PLACEHOLDERS@ and includes them in a minimal server configuration.

# kg_conf_fill SRC DST [BLOCK...] [-- NAME=VALUE...]: copies the snippet
# SRC to DST with every @NAME@ replaced by VALUE.  A snippet may hold
# alternative blocks between the lines "#<NAME>" and "#</NAME>" (the
# inactive ones commented out with a '#' in column 0): the BLOCKs named are
# kept, with one leading '#' removed from their lines, the others are left
# out.  An @UPPER_CASE@ left over outside a comment is a hard error: the
# snippet changed and the test did not.
kg_conf_fill() {
	local src=$1 dst=$2 use=" " pair text
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		use="$use$1 "
		shift
	done
	[ $# -eq 0 ] || shift
	[ -r "$src" ] || kg_error "cannot read $src"
	text=$(awk -v use="$use" '
	    /^#<[A-Za-z0-9_-]+>/ { blk = substr($1, 3, length($1) - 3); next }
	    /^#<\/[A-Za-z0-9_-]+>/ { blk = ""; next }
	    blk != "" && index(use, " " blk " ") == 0 { next }
	    blk != "" { sub(/^#/, "") }
	    { print }' "$src") || kg_error "cannot read $src"
	for pair in "$@"; do
		# Quoted: no pattern characters, no '&' in the replacement.
		text=${text//"@${pair%%=*}@"/"${pair#*=}"}
	done
	printf '%s\n' "$text" >"$dst" || kg_error "cannot write $dst"
	# Comments may name the placeholders of blocks left out.
	if grep -v '^[[:space:]]*#' "$dst" | grep -Eq '@[A-Z][A-Z0-9_]*@'; then
		kg_error "$src: placeholders left in $dst: $(grep -v \
		    '^[[:space:]]*#' "$dst" | grep -Eo '@[A-Z][A-Z0-9_]*@' |
		    sort -u | tr '\n' ' ')"
	fi
}

# kg_start_lighttpd_conf SNIPPET...: starts a private lighttpd (-D, in the
# background) on 127.0.0.1 and a free port, its document root
# $KG_TMP/htdocs, with each SNIPPET file included (after the server's own
# settings; the snippets load their modules).  Writes
# $KG_TMP/lighttpd-conf.conf; logs to $KG_TMP/lighttpd-conf.error.log (a
# keygate that lighttpd spawns writes there too).  Sets KG_LIGHTTPD_PID,
# KG_HTTP_PORT and KG_HTTP_URL as kg_start_lighttpd does.
kg_start_lighttpd_conf() {
	local lighttpd conf=$KG_TMP/lighttpd-conf.conf snippet
	lighttpd=$(kg_prog lighttpd)
	[ -n "$lighttpd" ] || kg_skip "lighttpd is not installed"
	KG_HTTP_PORT=$(kg_free_port)
	mkdir -p "$KG_TMP/htdocs"
	cat >"$conf" <<CONF
server.document-root = "$KG_TMP/htdocs"
server.bind = "127.0.0.1"
server.port = $KG_HTTP_PORT
server.errorlog = "$KG_TMP/lighttpd-conf.error.log"
CONF
	for snippet in "$@"; do
		printf 'include "%s"\n' "$snippet" >>"$conf"
	done
	printf '%s\n' "${KG_LIGHTTPD_EXTRA:-}" >>"$conf"
	"$lighttpd" -tt -f "$conf" >"$KG_TMP/lighttpd-check.log" 2>&1 ||
		kg_error "lighttpd rejects $conf: $(cat "$KG_TMP/lighttpd-check.log")"
	"$lighttpd" -D -f "$conf" </dev/null >>"$KG_TMP/lighttpd-conf.log" 2>&1 &
	KG_LIGHTTPD_PID=$!
	kg_track "$KG_LIGHTTPD_PID"
	KG_HTTP_URL=http://127.0.0.1:$KG_HTTP_PORT
	kg_wait_listen "tcp:127.0.0.1:$KG_HTTP_PORT" 10 ||
		kg_error "lighttpd did not start (see $KG_TMP/lighttpd-conf.error.log)"
	kg_started "$KG_LIGHTTPD_PID" lighttpd "$KG_TMP/lighttpd-conf.error.log"
}

# ---------------------------------------------------------------- Apache
# A private Apache httpd: its own ServerRoot, port, pid file and logs
# under $KG_TMP/apache-N, modules loaded from $KG_APACHE_MODDIR (default
# /usr/lib/apache2/modules); nothing of the system's Apache (apache2.conf,
# sites, its service) is used.
#
# Apache refuses to serve as root (unless built with BIG_SECURITY_HOLE),
# so run by root its children (and what they start: mod_fcgid's keygate,
# CGI scripts) take the uid of KG_APACHE_USER (default www-data, else
# nobody).  That user must reach the test's files: kg_apache_share.
KG_APACHE_N=0

# kg_apache_user: sets KG_APACHE_USER and KG_APACHE_GROUP when run by root
# (empty otherwise: a non-root Apache keeps its uid), and then makes
# $KG_TMP traversable (0711: a name must be known to be reached).
kg_apache_user() {
	KG_APACHE_USER=
	KG_APACHE_GROUP=
	[ "$(id -u)" -eq 0 ] || return 0
	KG_APACHE_USER=${KG_APACHE_USER_WANTED:-www-data}
	id -u "$KG_APACHE_USER" >/dev/null 2>&1 || KG_APACHE_USER=nobody
	id -u "$KG_APACHE_USER" >/dev/null 2>&1 ||
		kg_error "no unprivileged user for Apache (www-data, nobody)"
	KG_APACHE_GROUP=$(id -gn "$KG_APACHE_USER") ||
		kg_error "no group for $KG_APACHE_USER"
	chmod 711 "$KG_TMP" || kg_error "chmod $KG_TMP"
}

# kg_apache_share PATH...: gives each PATH to Apache's user (run by root;
# nothing to do otherwise), for a file the keygate that mod_fcgid starts
# must read (its configuration: mode 0600, it holds secrets) or a
# directory it must write.
kg_apache_share() {
	[ -n "${KG_APACHE_USER+set}" ] || kg_apache_user
	[ -n "$KG_APACHE_USER" ] || return 0
	chown "$KG_APACHE_USER:$KG_APACHE_GROUP" "$@" ||
		kg_error "chown $KG_APACHE_USER $*"
}

# kg_apache_can PATH: true when Apache's user (run by root) can use PATH:
# execute a program, write a socket, read anything else; every directory
# above it must let that user through.  Always true when not root.
kg_apache_can() {
	local how=-r
	[ -n "${KG_APACHE_USER+set}" ] || kg_apache_user
	[ -n "$KG_APACHE_USER" ] || return 0
	[ -S "$1" ] && how=-w
	[ -f "$1" ] && [ -x "$1" ] && how=-x
	runuser -u "$KG_APACHE_USER" -- test "$how" "$1"
}

# kg_apache_reachable_fcgi: prints a keygate-fcgi that Apache's user can
# execute: the built one, or (in a checkout only root may enter, as a CI
# runner's can be) a copy under $KG_TMP.
kg_apache_reachable_fcgi() {
	local bin=$top_builddir/keygate-fcgi
	if ! kg_apache_can "$bin"; then
		mkdir -p "$KG_TMP/bin" && chmod 755 "$KG_TMP/bin" &&
			cp "$bin" "$KG_TMP/bin/" && chmod 755 "$KG_TMP/bin/keygate-fcgi" ||
			kg_error "cannot copy $bin for Apache's user"
		bin=$KG_TMP/bin/keygate-fcgi
	fi
	printf '%s\n' "$bin"
}

# kg_apache_reachable_db: makes KEYGATE_TEST_DB_SOCKET one that Apache's
# user can connect to (a keygate it starts, or one that drops to it, opens
# the database as that user).  When the shared test database lies where
# that user cannot go, starts a private MariaDB under $KG_TMP for this test
# (stopped by kg_cleanup).  Call before kg_service_db.
KG_PRIVATE_DB=
kg_apache_reachable_db() {
	kg_apache_can "$KEYGATE_TEST_DB_SOCKET" && return 0
	kg_log "Apache's user $KG_APACHE_USER cannot reach $KEYGATE_TEST_DB_SOCKET: starting a private MariaDB"
	kg_private_db
	kg_apache_can "$KEYGATE_TEST_DB_SOCKET" ||
		kg_error "Apache's user cannot reach $KEYGATE_TEST_DB_SOCKET either"
}

# kg_start_apache MODULES SNIPPET...: starts a private Apache httpd
# (apache2 -DFOREGROUND, in the background, prefork MPM) on 127.0.0.1 and
# a free port, with the modules named in MODULES (blank-separated, NAME
# for mod_NAME.so; authz_core and the MPM always) and each SNIPPET file
# included at server level, in that order.  Its document root is
# $KG_TMP/htdocs.  Logs: $KG_TMP/apache-N.error.log (a keygate that
# mod_fcgid starts writes there too), $KG_TMP/apache-N.access.log ("%h %u
# \"%r\" %>s"), N counting the Apaches of the test from 1.  Sets
# KG_APACHE_PID, KG_APACHE_PORT, KG_APACHE_URL, KG_APACHE_LOG (the error
# log) and KG_APACHE_DIR (its ServerRoot).
kg_start_apache() {
	local mods="mpm_prefork authz_core $1" apache mod moddir conf dir snippet
	shift
	moddir=${KG_APACHE_MODDIR:-/usr/lib/apache2/modules}
	apache=$(kg_prog apache2)
	[ -n "$apache" ] || apache=$(kg_prog httpd)
	[ -n "$apache" ] || kg_skip "apache2 is not installed"
	for mod in $mods; do
		[ -f "$moddir/mod_$mod.so" ] ||
			kg_skip "Apache module mod_$mod is not installed"
	done
	[ -n "${KG_APACHE_USER+set}" ] || kg_apache_user
	KG_APACHE_N=$((KG_APACHE_N + 1))
	dir=$KG_TMP/apache-$KG_APACHE_N
	mkdir -p "$dir" "$KG_TMP/htdocs" || kg_error "cannot create $dir"
	chmod 755 "$dir" "$KG_TMP/htdocs"
	conf=$dir/httpd.conf
	KG_APACHE_DIR=$dir
	KG_APACHE_LOG=$dir.error.log
	KG_APACHE_PORT=$(kg_free_port)
	{
		for mod in $mods; do
			printf 'LoadModule %s_module %s/mod_%s.so\n' "$mod" \
			    "$moddir" "$mod"
		done
		cat <<CONF
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$KG_APACHE_PORT
PidFile "$dir/httpd.pid"
DefaultRuntimeDir "$dir"
Mutex file:$dir default
ErrorLog "$KG_APACHE_LOG"
LogLevel info
LogFormat "%h %u \"%r\" %>s" kg
CustomLog "$dir.access.log" kg
StartServers 1
MinSpareServers 1
MaxSpareServers 4
MaxRequestWorkers 16
DocumentRoot "$KG_TMP/htdocs"
<Directory "/">
	Require all granted
</Directory>
CONF
		[ -z "$KG_APACHE_USER" ] ||
			printf 'User %s\nGroup %s\n' "$KG_APACHE_USER" "$KG_APACHE_GROUP"
		for snippet in "$@"; do
			printf 'Include "%s"\n' "$snippet"
		done
	} >"$conf"
	"$apache" -t -f "$conf" >"$dir/check.log" 2>&1 ||
		kg_error "apache rejects $conf: $(cat "$dir/check.log")"
	# In a process group of its own: Apache stops its children with
	# killpg(getpgrp()), which would take this test with them.  setsid
	# does not fork here (a background job of a shell without job control
	# is no group leader), so $! is Apache's pid.
	setsid "$apache" -DFOREGROUND -f "$conf" </dev/null >>"$dir.log" 2>&1 &
	KG_APACHE_PID=$!
	kg_track "$KG_APACHE_PID"
	KG_APACHE_URL=http://127.0.0.1:$KG_APACHE_PORT
	kg_wait_listen "tcp:127.0.0.1:$KG_APACHE_PORT" 10 ||
		kg_error "apache did not start (see $KG_APACHE_LOG)"
	kg_started "$KG_APACHE_PID" apache "$KG_APACHE_LOG"
	[ "$(cat "$dir/httpd.pid" 2>/dev/null)" = "$KG_APACHE_PID" ] ||
		kg_error "apache's pid file does not name pid $KG_APACHE_PID"
}

# ---------------------------------------------------------------- several keygates
# The web server tests run one database and several keygate-fcgi
# processes (standalone, or started by the web server) on it.

# kg_service_db: a fresh database (kg_db_create) migrated to the current
# schema, and a freshly generated admin key.  Sets admin (the keygate-admin
# program), akey and KG_DB.
kg_service_db() {
	local conf=$KG_TMP/migrate.conf
	admin=$top_builddir/keygate-admin
	kg_db_create
	akey=$("$admin" gen-admin-key) || kg_error "gen-admin-key failed"
	kg_keygate_conf "$conf"
	"$admin" -c "$conf" migrate --schema-dir "$top_srcdir/schema" \
	    >"$KG_TMP/migrate.log" 2>&1 ||
		kg_error "migrate failed: $(cat "$KG_TMP/migrate.log")"
}

# kg_keygate_conf FILE [LINE...]: writes a keygate config (kg_write_config)
# for the database and admin key of kg_service_db, plus each LINE.
kg_keygate_conf() {
	local file=$1
	shift
	kg_write_config "$file" "admin_key = $akey" "$@"
	kg_db_config_lines "$KG_DB" >>"$file"
}

# ---------------------------------------------------------------- a database of one's own
# kg_private_db: starts a MariaDB server of this test's own under
# $KG_TMP/db (tools/dbctl, KEYGATE_DB_FAST=1), stopped by kg_cleanup, and
# points KEYGATE_TEST_DB_SOCKET at it: for a test that stops, kills or
# freezes the server, which the shared one of the run must never be.
# Sets KG_PRIVATE_DB.  Skips without mariadbd.
kg_private_db() {
	kg_require_prog mariadb mariadb-admin mariadb-install-db
	[ -x "${MARIADBD:-/usr/sbin/mariadbd}" ] ||
		kg_skip "mariadbd is not installed"
	KG_PRIVATE_DB=$KG_TMP/db
	# 755: Apache's user may have to reach the socket (kg_apache_reachable_db).
	mkdir -p "$KG_PRIVATE_DB" && chmod 755 "$KG_PRIVATE_DB" ||
		kg_error "cannot create $KG_PRIVATE_DB"
	KEYGATE_DB_FAST=1 "$top_srcdir/tools/dbctl" start "$KG_PRIVATE_DB" \
	    >>"$KG_TMP/dbctl.log" 2>&1 ||
		kg_error "private MariaDB did not start: $(tail -5 "$KG_TMP/dbctl.log")"
	export KEYGATE_TEST_DB_SOCKET=$KG_PRIVATE_DB/mysqld.sock
}

# kg_private_db_pid: prints the pid of the server kg_private_db started,
# or nothing when it is not running.
kg_private_db_pid() {
	local pid
	pid=$(cat "$KG_PRIVATE_DB/mariadbd.pid" 2>/dev/null) || return 0
	kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
	return 0
}

# kg_private_db_start: starts that server again (after a stop or a kill)
# and waits until it answers.
kg_private_db_start() {
	KEYGATE_DB_FAST=1 "$top_srcdir/tools/dbctl" start "$KG_PRIVATE_DB" \
	    >>"$KG_TMP/dbctl.log" 2>&1 ||
		kg_error "private MariaDB did not start again: $(tail -5 "$KG_TMP/dbctl.log")"
}
