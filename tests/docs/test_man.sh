# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/docs/test_man.sh BUILD_DIR - the man pages (docs/man/*.scd, built into
# BUILD_DIR/man/ by make): one page per command of imgtool/main.c's table plus
# imgtool(1), imgtool-formats(7) and imgtool-urls(7); each renders without a
# warning; a page documents exactly the options its command's --help names; the
# formats page names every format the binary supports, the URL page every URL
# option the parsers know and every environment variable the sources read.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/docs/lib.sh"
need_tools docs man scdoc
man=$build/man
src=$top/docs/man

# renders NAME.SECTION: built, and man(1) has nothing to say about it
renders() {
	local page=$man/$1 warn
	[ -s "$page" ] || { echo "  $page not built (make man)"; return 1; }
	warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$warn" ] || { echo "  $page: $warn"; return 1; }
}

# same_options NAME HELP_TEXT PAGE_SOURCE: the two option sets are equal
same_options() {
	local name=$1 help=$2 page=$3 h p
	h=$(help_options "$help")
	p=$(page_options "$page")
	[ -n "$h" ] || { echo "  $name: --help names no option"; return 1; }
	if [ "$h" != "$p" ]; then
		echo "  $name: options only in --help: $(comm -23 <(echo "$h") <(echo "$p") | tr '\n' ' ')"
		echo "  $name: options only in the page: $(comm -13 <(echo "$h") <(echo "$p") | tr '\n' ' ')"
		return 1
	fi
}

commands=$(main_commands)
[ "$(echo "$commands" | wc -w)" -ge 18 ] && ok "main.c's command table read ($(echo $commands | wc -w) commands)" ||
	ko "main.c's command table read: '$commands'"

check "imgtool.1 renders" renders imgtool.1
check "imgtool.1 documents -h -V" same_options imgtool \
	"$("$IMGTOOL" --help | sed '/^Command syntax/,$d')" "$src/imgtool.1.scd"
for c in $commands; do
	if [ ! -f "$src/imgtool-$c.1.scd" ]; then
		ko "imgtool-$c.1: no docs/man/imgtool-$c.1.scd"
		continue
	fi
	check "imgtool-$c.1 renders" renders "imgtool-$c.1"
	check "imgtool-$c.1 options = $c --help" same_options "$c" \
		"$("$IMGTOOL" "$c" --help 2>&1)" "$src/imgtool-$c.1.scd"
	check "imgtool.1 lists imgtool-$c(1)" grep -q "^\*imgtool-$c\*(1)" "$src/imgtool.1.scd"
done
# every page in docs/man/ is a command's, or one of the two section-7 pages
for f in "$src"/*.scd; do
	n=${f##*/}; n=${n%.scd}
	case $n in
	imgtool.1 | imgtool-formats.7 | imgtool-urls.7) continue ;;
	esac
	c=${n#imgtool-}; c=${c%.1}
	echo "$commands" | grep -qx "$c" && continue
	ko "$n: no such command in imgtool/main.c"
done

check "imgtool-formats.7 renders" renders imgtool-formats.7
formats=$("$IMGTOOL" --help | sed -n 's/^Supported formats: //p')
[ -n "$formats" ] && ok "--help lists the formats ($formats)" || ko "--help lists the formats"
for f in $formats; do
	check "imgtool-formats.7 describes $f" grep -q "^\*$f\*" "$src/imgtool-formats.7.scd"
done

check "imgtool-urls.7 renders" renders imgtool-urls.7
# the parsers' own lists of options, from their messages for an unknown one
known_keys() {
	"$IMGTOOL" info "$1" 2>&1 | sed -n 's/.*(known: \(.*\))$/\1/p' | tr -d ','
}
nfs_keys=$(known_keys 'nfs://h/e/f?no-such-key=1')
iscsi_keys=$(known_keys 'iscsi://h/iqn.2000-01.x:y/0?no-such-key=1')
ssh_keys=$(known_keys 'ssh://h/x?no-such-key=1')
[ -n "$nfs_keys" ] && [ -n "$iscsi_keys" ] && ok "URL parsers list their options" ||
	ko "URL parsers list their options (nfs: '$nfs_keys', iscsi: '$iscsi_keys')"
for k in $nfs_keys $iscsi_keys $ssh_keys; do
	# underscores are escaped in scdoc
	check "imgtool-urls.7 documents $k=" grep -qF "*${k//_/\\_}=" "$src/imgtool-urls.7.scd"
done
for k in id conf keyring; do
	check "imgtool-urls.7 documents rbd's :$k=" grep -qF "*:$k=" "$src/imgtool-urls.7.scd"
done
for scheme in '*nfs://' '*iscsi://' '*rbd:' '*rbd://' '*ssh://' '_/dev/sd'; do
	check "imgtool-urls.7 shows ${scheme:1}" grep -qF "$scheme" "$src/imgtool-urls.7.scd"
done
check "imgtool-urls.7 says how secrets are masked" grep -qF 'u%\*\*\*@' "$src/imgtool-urls.7.scd"
vars=$(grep -rhoE '"(IMGTOOL|LIBISCSI)_[A-Z_]+"' --include=*.c --include=*.h \
	"$top"/common "$top"/backends "$top"/formats "$top"/convert "$top"/guest "$top"/v2v \
	"$top"/launcher "$top"/serve "$top"/imgtool | tr -d '"' | sort -u)
[ -n "$vars" ] && ok "environment variables found in the sources" || ko "environment variables found"
for v in $vars; do
	check "$v documented" grep -qF "*${v//_/\\_}*" "$src/imgtool.1.scd" "$src/imgtool-urls.7.scd"
done
exit 0
