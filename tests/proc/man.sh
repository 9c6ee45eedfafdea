#!/usr/bin/env bash
# proc/man.sh: the man pages of tools/man format without a warning
# (groff -ww, except lines too long to fill), and they keep up with the programs: every configuration
# key of core/base/config.c is in keygate.conf(5) with its default, every
# command and option that the programs' own --help lists is in their
# page, and no @dir@ placeholder is left in what make built.
set -u
. "$top_srcdir/tests/lib.sh"
kg_init
kg_require_prog groff perl

man=$top_builddir/tools/man
pages="keygate-fcgi.8 keygate-admin.8 keygate-cleanup.8 keygate.conf.5"
for p in $pages; do
	[ -s "$man/$p" ] || kg_error "$man/$p is not built"
	! grep -n '@[a-zA-Z_]*@' "$man/$p" || kg_fail "$p: a placeholder is left"
	# -Wbreak: a long installation path may not fit a line; not a fault.
	groff -man -Tutf8 -ww -Wbreak -z "$man/$p" >"$KG_TMP/groff.log" 2>&1 ||
		kg_fail "$p: groff failed: $(cat "$KG_TMP/groff.log")"
	[ ! -s "$KG_TMP/groff.log" ] ||
		kg_fail "$p: groff warns: $(cat "$KG_TMP/groff.log")"
	# Plain text, without hyphenation, for the checks below.
	groff -man -Tascii -P-c -P-b -P-u -rHY=0 "$man/$p" 2>/dev/null |
	    tr -s ' \n' ' ' >"$KG_TMP/$p.txt"
done

# has PAGE TEXT WHAT: the rendered PAGE mentions TEXT.
has() {
	grep -qF -- "$2" "$KG_TMP/$1.txt" || kg_fail "$1 lacks $3 '$2'"
}

# keygate.conf(5): every key, "key = default" (the empty default as "").
perl -0777 -ne 'while (/K_[A-Z]+\(\s*"([a-z0-9_]+)",\s*[^,]+,\s*"([^"]*)"/g) {
	print "$1\t$2\n" }' "$top_srcdir/core/base/config.c" >"$KG_TMP/keys"
[ "$(wc -l <"$KG_TMP/keys")" -gt 50 ] ||
	kg_error "read only $(wc -l <"$KG_TMP/keys") keys from config.c"
while IFS=$'\t' read -r key def; do
	[ -n "$def" ] || def='""'
	has keygate.conf.5 "$key = $def" "key with its default"
done <"$KG_TMP/keys"

# keygate-admin(8): every command and every long option of --help.
"$top_builddir/keygate-admin" --help >"$KG_TMP/admin.help" 2>&1 ||
	kg_fail "keygate-admin --help failed"
for c in $(sed -n 's/^  \([a-z-]*\) .*/\1/p' "$KG_TMP/admin.help"); do
	has keygate-admin.8 "$c" command
	"$top_builddir/keygate-admin" "$c" --help >"$KG_TMP/cmd.help" 2>&1 ||
		kg_fail "keygate-admin $c --help failed"
	# "create|list|revoke": each subcommand with the command's name.
	for s in $(tr '\n' ' ' <"$KG_TMP/cmd.help" |
	    grep -oE -- "(\] $c |\| +)[a-z]+" | sed 's/.* //'); do
		has keygate-admin.8 "$c $s" subcommand
	done
done
for o in $(grep -o -- '--[a-z][a-z-]*' "$KG_TMP/admin.help" | sort -u); do
	has keygate-admin.8 "$o" option
done

# keygate-cleanup(8) and keygate-fcgi(8): every option of their help.
"$top_builddir/keygate-cleanup" --help >"$KG_TMP/cleanup.help" 2>&1
for o in $(grep -o -- '--[a-z][a-z-]*' "$KG_TMP/cleanup.help" | sort -u); do
	has keygate-cleanup.8 "$o" option
done
"$top_builddir/keygate-fcgi" -h >"$KG_TMP/fcgi.help" 2>&1 ||
	kg_fail "keygate-fcgi -h failed"
for o in $(sed -n 's/^  \(-[a-z]\) .*/\1/p' "$KG_TMP/fcgi.help"); do
	has keygate-fcgi.8 "$o" option
done
for e in $(grep -o 'KEYGATE_[A-Z_]*' "$KG_TMP/fcgi.help" | sort -u); do
	has keygate-fcgi.8 "$e" "environment variable"
done
for p in keygate-fcgi.8 keygate-admin.8 keygate-cleanup.8; do
	has "$p" "EXIT STATUS" section
done
for p in $pages; do
	has "$p" FILES section
	has "$p" "SEE ALSO" section
done
exit 0
