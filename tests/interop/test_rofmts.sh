#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_rofmts.sh BUILD_DIR - the read-only formats dmg, cloop and bochs
# against qemu-img 7.2 and against the raw disks their fixture scripts wrote
# (fixtures/make-dmg.py, make-cloop.py, make-bochs.py: nothing in Debian 12 writes
# these formats, and qemu-img cannot create them).
#
# For every good image:
#   - probed without -f (dmg by its name, as qemu), convert -O raw equals the
#     expected raw disk, and equals qemu-img convert's output where qemu-img
#     can read it (Debian's qemu-img has no dmg-bz2 module: bzip2.dmg is checked
#     against the raw disk only);
#   - info and info --output=json identical to qemu-img's;
#   - convert -O qcow2 then qemu-img compare with the raw disk, and imgtool
#     compare of the image against the raw disk (parallel partial reads);
#   - dmg zero and ignore chunks are holes in map's JSON.
# Then: lzfse chunks refused when read (one line naming the file and lzfse),
# create -f (with or without -o, -o help) and convert -O of each format refused in
# one line, in qemu-img's words, and no file left.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_rofmts "$build"
need_tools test_rofmts qemu-img python3 cmp

T=$(mktemp -d /tmp/imgtool-rofmts.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

for f in dmg cloop bochs; do
	python3 "$top/fixtures/make-$f.py" "$T/$f" >/dev/null || {
		ko "fixtures/make-$f.py"
		summary
		exit 1
	}
done

# qemu-img without its noise about modules Debian does not ship
qimg() {
	qemu-img "$@" 2> >(grep -v 'module block-block-dmg' >&2)
}

same_info() {   # FMT IMG
	qimg info -f "$1" "$2" >q.txt && "$IMGTOOL" info "$2" >i.txt && diff q.txt i.txt &&
	qimg info -f "$1" --output=json "$2" >q.json && "$IMGTOOL" info --output=json "$2" >i.json &&
	diff q.json i.json
}

probed_as() {   # FMT IMG
	"$IMGTOOL" info --output=json "$2" | grep -q "\"format\": \"$1\""
}

to_raw() {   # FMT IMG RAW ORACLE(yes/no)
	rm -f i.raw q.raw
	"$IMGTOOL" convert -O raw "$2" i.raw && cmp i.raw "$3" || return 1
	[ "$4" = no ] && return 0
	qimg convert -f "$1" -O raw "$2" q.raw && cmp q.raw "$3"
}

to_qcow2() {   # IMG RAW
	rm -f o.qcow2
	"$IMGTOOL" convert -O qcow2 "$1" o.qcow2 && qemu-img compare -f raw -F qcow2 "$2" o.qcow2 &&
	qemu-img check -q o.qcow2 && "$IMGTOOL" compare "$1" "$2"
}

good() {   # FMT NAME ORACLE
	local img=$T/$1/$2.$1 raw=$T/$1/$2.raw
	check "$1 $2: probed" probed_as "$1" "$img"
	check "$1 $2: convert -O raw" to_raw "$1" "$img" "$raw" "$3"
	check "$1 $2: info as qemu-img" same_info "$1" "$img"
	check "$1 $2: convert -O qcow2, compare" to_qcow2 "$img" "$raw"
}

good dmg plist yes
good dmg rsrc yes
good dmg bzip2 no
good dmg small yes
good dmg empty yes
good cloop small yes
good cloop big-block yes
good bochs growing yes
good bochs v1 yes
good bochs tiny yes

# the zero chunks of plist.dmg (partition 1: sectors 2112..6208 and 6508..7508)
# are holes; the zlib and raw chunks data
holes() {
	"$IMGTOOL" map --output=json "$T/dmg/plist.dmg" >map.json &&
	grep -q '"start": 1081344, "length": 2097152, .*"zero": true, "data": false' map.json &&
	grep -q '"start": 3332096, "length": 512000, .*"zero": true, "data": false' map.json &&
	grep -q '"start": 32768, "length": 1048576, .*"zero": false, "data": true' map.json
}
check "dmg: zero and ignore chunks are holes" holes

one_line_with() {   # PATTERN CMD...: fails with one stderr line matching PATTERN
	local pat=$1
	shift
	if "$@" >/dev/null 2>err.txt; then
		echo "unexpected success: $*"
		return 1
	fi
	cat err.txt
	[ "$(wc -l <err.txt)" -eq 1 ] && grep -qE "$pat" err.txt
}
check "dmg: lzfse.dmg opens" "$IMGTOOL" info "$T/dmg/lzfse.dmg"
check "dmg: lzfse chunk refused when read" \
	one_line_with "lzfse\.dmg.*lzfse" "$IMGTOOL" convert -O raw "$T/dmg/lzfse.dmg" l.raw

qemu-img create -q -f raw src.raw 1M
for f in dmg cloop bochs; do
	check "$f: create refused" one_line_with "^imgtool: new\.$f: Format driver '$f' does not support image creation\$" \
		"$IMGTOOL" create -f "$f" "new.$f" 1M
	check "$f: convert -O refused" one_line_with "^imgtool: out\.$f: Format driver '$f' does not support image creation\$" \
		"$IMGTOOL" convert -O "$f" src.raw "out.$f"
	check "$f: create with options refused" one_line_with "^imgtool: new\.$f: Format driver '$f' does not support image creation\$" \
		"$IMGTOOL" create -f "$f" -o size=1M "new.$f"
	check "$f: create -o help refused" one_line_with "^imgtool: Format driver '$f' does not support image creation\$" \
		"$IMGTOOL" create -f "$f" -o help
	check "$f: nothing created" test ! -e "new.$f" -a ! -e "out.$f"
done
check "cloop: opening read-write refused" one_line_with "read-only" \
	"$IMGTOOL" resize "$T/cloop/small.cloop" 4M

summary
