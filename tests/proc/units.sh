#!/usr/bin/env bash
# proc/units.sh: the systemd units of conf/systemd pass `systemd-analyze
# verify`, and the cron.d file of conf/cron is well formed.
#
# verify runs offline, without systemd as PID 1 (containers, CI):
# --man=no skips looking up the Documentation= man pages (not installed
# here), --recursive-errors=no keeps it from failing over units we only
# name (mariadb.service).  It still parses every directive, refuses
# unknown ones, and checks that each Exec*= program exists and is
# executable: the units are therefore filled in here with the build
# tree's programs, as make fills them in with the installation's.  A
# deliberately broken copy must fail, so a verify that checks nothing
# cannot pass this test.
set -u
. "$top_srcdir/tests/lib.sh"
kg_init
kg_require_prog systemd-analyze

src=$top_srcdir/conf/systemd
units=$KG_TMP/units
mkdir -p "$units"
fill() {	# fill IN OUT: the units' @dir@ placeholders, for this test
	sed -e "s|@bindir@|$top_builddir|g" -e "s|@sysconfdir@|/etc|g" \
	    -e "s|@pkgdatadir@|/usr/share/keygate|g" "$1" >"$2" ||
		kg_error "cannot write $2"
	! grep -n '@[a-z_]*@' "$2" || kg_fail "$2: a placeholder is left"
}
fill "$src/keygate.service.in" "$units/keygate.service"
fill "$src/keygate-cleanup.service.in" "$units/keygate-cleanup.service"
cp "$src/keygate-cleanup.timer" "$units/" || kg_error "cannot copy the timer"

verify() {
	(cd "$units" && systemd-analyze --man=no --recursive-errors=no \
	    verify "$@") >"$KG_TMP/verify.log" 2>&1
}
verify ./keygate.service ./keygate-cleanup.service ./keygate-cleanup.timer ||
	kg_fail "systemd-analyze verify: $(cat "$KG_TMP/verify.log")"
[ ! -s "$KG_TMP/verify.log" ] ||
	kg_fail "systemd-analyze verify warns: $(cat "$KG_TMP/verify.log")"

# verify must be able to fail: an unknown directive, a missing program.
cp "$units/keygate.service" "$units/broken.service"
printf '[Service]\nNoSuchDirective=1\n' >>"$units/broken.service"
verify ./broken.service && kg_fail "verify accepted an unknown directive"
sed "s|^ExecStart=$top_builddir/|ExecStart=$KG_TMP/nowhere/|" \
    "$units/keygate.service" >"$units/broken.service"
verify ./broken.service && kg_fail "verify accepted a missing program"
rm -f "$units/broken.service"

# What the units promise (keygate-fcgi(8), README "Cron and systemd").
svc=$units/keygate.service
get() {	# get FILE KEY: the value of KEY= in FILE
	sed -n "s/^$2=//p" "$1" | tail -n 1
}
kg_expect_eq "ExecStart" "$(get "$svc" ExecStart)" \
    "$top_builddir/keygate-fcgi -c /etc/keygate.conf"
kg_expect_eq "the socket is in the RuntimeDirectory" \
    "$(get "$svc" Environment)" \
    "KEYGATE_LISTEN=unix:/run/$(get "$svc" RuntimeDirectory)/keygate.sock"
kg_expect_eq "reload is SIGHUP" "$(get "$svc" ExecReload)" '/bin/kill -HUP $MAINPID'
kg_expect_eq "SIGTERM to the master only" "$(get "$svc" KillMode)" mixed
# The master's default shutdown_timeout is 10s: systemd must wait longer.
stop=$(get "$svc" TimeoutStopSec)
[ "${stop%s}" -gt 10 ] 2>/dev/null || kg_fail "TimeoutStopSec $stop <= 10s"
for key in User=keygate Group=keygate NoNewPrivileges=yes \
    ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" CapabilityBoundingSet= \
    SystemCallFilter=@system-service Restart=on-failure; do
	grep -qx -- "$key" "$svc" || kg_fail "keygate.service lacks $key"
	grep -qx -- "$key" "$units/keygate-cleanup.service" ||
		case $key in Restart=*) ;; *)
			kg_fail "keygate-cleanup.service lacks $key" ;;
		esac
done
kg_expect_eq "cleanup is oneshot" \
    "$(get "$units/keygate-cleanup.service" Type)" oneshot
kg_expect_eq "the timer's unit" "$(get "$units/keygate-cleanup.timer" Unit)" \
    keygate-cleanup.service
kg_expect_eq "the timer catches up" \
    "$(get "$units/keygate-cleanup.timer" Persistent)" true

# The cron.d line: five time fields, a user, the program.
fill "$top_srcdir/conf/cron/keygate-cleanup.in" "$KG_TMP/cron"
line=$(grep -v '^#' "$KG_TMP/cron" | grep -v '=' | grep .)
kg_expect_eq "one cron line" "$(printf '%s\n' "$line" | wc -l)" 1
read -r m h dom mon dow user prog rest <<<"$line"
for f in "$m" "$h" "$dom" "$mon" "$dow"; do
	kg_expect_match "cron time field" "$f" '^([0-9]+|\*)$'
done
kg_expect_eq "cron user" "$user" keygate
kg_expect_eq "cron program" "$prog" "$top_builddir/keygate-cleanup"
[ -x "$prog" ] || kg_fail "$prog is not built"
kg_expect_eq "cron arguments" "$rest" "-c /etc/keygate.conf"

# The copies make installs carry the installation's paths, no placeholder.
for f in conf/systemd/keygate.service conf/systemd/keygate-cleanup.service \
    conf/cron/keygate-cleanup; do
	[ -f "$top_builddir/$f" ] || kg_error "$f is not built"
	! grep -n '@[a-z_]*@' "$top_builddir/$f" ||
		kg_fail "$f: a placeholder is left"
done
exit 0
