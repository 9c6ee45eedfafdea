#!/usr/bin/env bash
# proc/install.sh: make install puts everything in the usual autotools
# places, inside the prefix, and make uninstall takes it all away.
#
#   install.sh              (make check) `make install DESTDIR=tmp` from
#                           the build tree, the layout, then `make
#                           uninstall DESTDIR=tmp` leaves no file
#   install.sh --installed  (make installcheck, which make distcheck runs
#                           after its real install) the same layout at the
#                           real prefix, and the installed keygate-admin
#                           finds the installed schema by itself:
#                           `migrate --dry-run` on a private database with
#                           KEYGATE_SCHEMA_DIR unset
#
# Why two parts: a DESTDIR install is safe from inside `make check` (a
# separate make with MAKEFLAGS cleared, writing only below DESTDIR, with
# everything already built), but its programs carry the configured
# directories, which do not exist below DESTDIR; only a real install can
# show that the built-in schema directory is right.
#
# Environment: KG_BINDIR, KG_PKGDATADIR, KG_MANDIR (the configured
# directories, set by the Makefile).  The make run is `make` (GNU make).
set -u
. "$top_srcdir/tests/lib.sh"
kg_init

installed=0
[ "${1:-}" != --installed ] || installed=1
for v in KG_BINDIR KG_PKGDATADIR KG_MANDIR; do
	[ -n "${!v:-}" ] || kg_error "$v is not set (run through make)"
done

# layout ROOT: the installed files below ROOT ("" = the real prefix).
layout() {
	local bin=$1$KG_BINDIR share=$1$KG_PKGDATADIR man=$1$KG_MANDIR
	local p f name
	for p in keygate-fcgi keygate-admin keygate-cleanup; do
		[ -x "$bin/$p" ] || kg_fail "$bin/$p is not installed"
	done
	for f in man8/keygate-fcgi.8 man8/keygate-admin.8 \
	    man8/keygate-cleanup.8 man5/keygate.conf.5; do
		[ -s "$man/$f" ] || kg_fail "$man/$f is not installed"
		! grep -n '@[a-z_]*@' "$man/$f" ||
			kg_fail "$man/$f: a placeholder is left"
	done
	grep -q "$KG_PKGDATADIR/schema" "$man/man8/keygate-admin.8" ||
		kg_fail "keygate-admin.8 does not name the installed schema"
	# The schema: every migration of the source tree, unchanged.
	for f in "$top_srcdir"/schema/*.sql; do
		cmp -s "$f" "$share/schema/${f##*/}" ||
			kg_fail "$share/schema/${f##*/} is missing or differs"
	done
	kg_expect_eq "installed migrations" \
	    "$(cd "$share/schema" && ls ./*.sql | wc -l)" \
	    "$(cd "$top_srcdir/schema" && ls ./*.sql | wc -l)"
	cmp -s "$top_srcdir/conf/keygate.conf.example" \
	    "$share/keygate.conf.example" ||
		kg_fail "$share/keygate.conf.example is missing or differs"
	# Every deployment file of conf/: conf/DIR/FILE[.in] -> DIR/FILE.
	while IFS= read -r f; do
		name=${f#./}
		name=${name%.in}
		[ "$name" = keygate.conf.example ] && continue
		[ -s "$share/$name" ] ||
			kg_fail "conf/$name is not installed as $share/$name"
		! grep -n '@[a-z_]*@' "$share/$name" ||
			kg_fail "$share/$name: a placeholder is left"
	done < <(cd "$top_srcdir/conf" && find . -type f | LC_ALL=C sort)
	grep -qx "ExecStart=$KG_BINDIR/keygate-fcgi -c .*" \
	    "$share/systemd/keygate.service" ||
		kg_fail "keygate.service does not start the installed program"
	grep -Eq "[[:space:]]$KG_BINDIR/keygate-cleanup[[:space:]]" \
	    "$share/cron/keygate-cleanup" ||
		kg_fail "the cron file does not run the installed program"
	# The installed program's own idea of its schema directory.
	"$bin/keygate-admin" --help >"$KG_TMP/help.out" 2>&1 ||
		kg_fail "installed keygate-admin --help failed"
	grep -q "else $KG_PKGDATADIR/schema\.\$" "$KG_TMP/help.out" ||
		kg_fail "built-in schema directory: $(grep -i schema "$KG_TMP/help.out")"
}

if [ $installed -eq 0 ]; then
	dest=$KG_TMP/dest
	sub() {	# sub TARGET: a separate make in the build tree
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s \
		    -C "$top_builddir" "$1" DESTDIR="$dest" \
		    >"$KG_TMP/make-$1.log" 2>&1 ||
			kg_fail "make $1: $(tail -n 20 "$KG_TMP/make-$1.log")"
	}
	sub install
	layout "$dest"
	# Nothing outside the prefix's bin, share/keygate and man directories.
	stray=$(cd "$dest" && find . -type f | sed 's|^\.||' |
	    grep -v -e "^$KG_BINDIR/keygate-" -e "^$KG_PKGDATADIR/" \
	    -e "^$KG_MANDIR/man[58]/keygate" || true)
	[ -z "$stray" ] || kg_fail "installed outside its places: $stray"
	sub uninstall
	left=$(cd "$dest" && find . -type f -o -type l)
	[ -z "$left" ] || kg_fail "make uninstall left: $left"
	exit 0
fi

layout ""
# The database part needs the test server; without one, say so.
if [ -z "${KEYGATE_TEST_DB_SOCKET:-}" ] && [ "${KEYGATE_TEST_REQUIRE_DB:-0}" != 1 ]; then
	kg_log "no test database (KEYGATE_TEST_DB_SOCKET): migrate not tested"
	exit 0
fi
kg_require_prog jq
kg_require_db
kg_db_create
conf=$KG_TMP/keygate.conf
kg_write_config "$conf"
kg_db_config_lines "$KG_DB" >>"$conf"
env -u KEYGATE_SCHEMA_DIR "$KG_BINDIR/keygate-admin" -c "$conf" --json \
    migrate --dry-run >"$KG_TMP/dry.json" 2>"$KG_TMP/dry.err" ||
	kg_fail "installed migrate --dry-run: $(cat "$KG_TMP/dry.err")"
kg_expect_eq "the installed schema is found" \
    "$(jq -r .schema_dir "$KG_TMP/dry.json")" "$KG_PKGDATADIR/schema"
want=$(cd "$top_srcdir/schema" && ls ./*.sql | sed 's|^\./0*||; s|_.*||' |
    paste -sd ' ')
kg_expect_eq "every migration pending" \
    "$(jq -r '[.pending[].version] | join(" ")' "$KG_TMP/dry.json")" "$want"
kg_expect_eq "dry run applied nothing" "$(kg_sql -e "SELECT COUNT(*) FROM
    information_schema.tables WHERE table_schema = '$KG_DB'")" 0
exit 0
