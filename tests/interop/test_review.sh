#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_review.sh BUILD_DIR - bugs found in the security review
# (issue 14), each against qemu-img 7.2 where it has an answer:
#   vhd    Windows pads a VHD to a 4 KiB boundary with zeros before the footer: not
#          a leak (check 0, check -r leaks leaves it alone), for dynamic and
#          differencing images; a real leaked block after a differencing image's
#          last block is found (3) and trimmed by check -r leaks (its parent
#          locators kept), a non-zero tail shorter than a block is still a leak.
#   qcow2  an L1 table past the end of the file: check diagnoses it as qemu-img
#          check does (same report, exit 2) instead of refusing to open (1).
#   words  a failed open says "Could not open 'FILE': ..." wherever qemu-img does
#          (every bad image of the bad-input generators), offsets are hex, and
#          control characters in names taken from images are escaped (\n, \x1b).
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_review "$build"
need_tools test_review qemu-img qemu-io python3 cmp

T=$(mktemp -d /tmp/imgtool-review.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
passed=0
failed=0
LOG=$T/case.log

run() {
	local name=$1
	shift
	if "$@" >"$LOG" 2>&1; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		sed 's/^/    /' "$LOG" | tail -n 15
		failed=$((failed + 1))
	fi
}

# ---- vhd: padding is not a leak ----
python3 "$top/fixtures/make-vhd.py" vhd >/dev/null || { ko "make-vhd.py"; exit 1; }
# pad IN OUT [FILL]: FILL bytes (zeros, or the byte given) between the last block
# and the footer, up to the next 4 KiB boundary (a whole 4 KiB when aligned)
pad() {
	python3 - "$@" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
fill = int(sys.argv[3], 0) if len(sys.argv) > 3 else 0
d = open(src, "rb").read()
n = -len(d) % 4096 or 4096
open(dst, "wb").write(d[:-512] + bytes([fill]) * n + d[-512:])
PY
}
# leak IN OUT: one whole block of junk (2 MiB + its 512-byte bitmap) before the footer
leak() {
	python3 - "$1" "$2" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(d[:-512] + b"\x5a" * (2 * 1024 * 1024 + 512) + d[-512:])
PY
}

padded_clean() {   # IMAGE (the copy sits beside it, where its parent is)
	local rc copy=${1%/*}/copy.vhd
	cp "$1" "$copy"
	"$IMGTOOL" check -f vpc "$1" >out.txt 2>&1
	rc=$?
	cat out.txt
	[ $rc = 0 ] && ! grep -q Leaked out.txt || return 1
	"$IMGTOOL" check -f vpc -r leaks "$copy" || return 1
	cmp "$1" "$copy"
}
pad vhd/hyperv.vhd hyperv-pad.vhd
run "vhd: Windows' 4 KiB padding of a dynamic VHD is not a leak" padded_clean ./hyperv-pad.vhd
pad vhd/child.vhd vhd/child-pad.vhd
run "vhd: padding of a differencing VHD is not a leak; check -r leaks accepts it" \
	padded_clean vhd/child-pad.vhd
run "vhd: the padded differencing VHD reads as before" \
	eval '"$IMGTOOL" convert -O raw vhd/child-pad.vhd pad.raw && cmp pad.raw vhd/child.raw'

diff_leak_repaired() {
	local rc size
	leak vhd/child.vhd vhd/child-leak.vhd
	"$IMGTOOL" check -f vpc vhd/child-leak.vhd
	rc=$?
	[ $rc = 3 ] || { echo "check exit $rc, want 3"; return 1; }
	"$IMGTOOL" check -f vpc -r leaks vhd/child-leak.vhd || return 1
	size=$(stat -c %s vhd/child-leak.vhd)
	[ "$size" = "$(stat -c %s vhd/child.vhd)" ] || { echo "size $size after repair"; return 1; }
	"$IMGTOOL" check -f vpc vhd/child-leak.vhd || return 1
	"$IMGTOOL" convert -O raw vhd/child-leak.vhd leak.raw && cmp leak.raw vhd/child.raw
}
run "vhd: a leaked block after a differencing VHD: found (3), trimmed by -r leaks" \
	diff_leak_repaired

junk_tail() {
	local rc
	pad vhd/hyperv.vhd junk.vhd 0x41
	"$IMGTOOL" check -f vpc junk.vhd
	rc=$?
	[ $rc = 3 ]
}
run "vhd: a non-zero tail shorter than a block is still a leak (3)" junk_tail

# ---- qcow2: L1 table past the end of the file ----
qemu-img create -q -f qcow2 l1.qcow2 64M &&
qemu-io -c 'write -P 1 0 1M' l1.qcow2 >/dev/null &&
python3 - <<'PY'
import struct
d = bytearray(open("l1.qcow2", "rb").read())
struct.pack_into(">Q", d, 40, 0x10000000)    # l1_table_offset: 256 MiB, past the end
open("l1.qcow2", "wb").write(d)
PY
l1_check() {
	local qrc irc
	qemu-img check l1.qcow2 >q.txt 2>&1
	qrc=$?
	"$IMGTOOL" check l1.qcow2 >i.txt 2>&1
	irc=$?
	echo "qemu-img $qrc, imgtool $irc"
	[ $qrc = 2 ] && [ $irc = 2 ] || return 1
	grep -v '^Leaked cluster' q.txt | sort >q.s
	grep -v '^Leaked cluster' i.txt | sort >i.s
	diff q.s i.s
}
run "qcow2: L1 table past EOF: check reports it as qemu-img does (exit 2)" l1_check
l1_info() {
	"$IMGTOOL" info l1.qcow2 2>err.txt
	[ $? = 1 ] && cat err.txt &&
	grep -qx "imgtool: Could not open 'l1.qcow2': L1 table at 0x10000000 beyond end of file" err.txt
}
run "qcow2: L1 table past EOF: info refuses it in one line, offset in hex" l1_info

# ---- words ----
# every bad image of every generator: where qemu-img says "Could not open 'F':",
# imgtool (when it refuses the image too) says the same words
prefix_like_qemu() {
	local gen set fmt img q i bad=0 n=0
	for gen in "$top/$build"/tests/bad-input/gen_bad_* "$build"/tests/bad-input/gen_bad_*; do
		[ -x "$gen" ] || continue
		set=${gen##*/gen_bad_}
		[ -d "$set" ] && continue
		fmt=$set
		[ "$fmt" = vhd ] && fmt=vpc
		mkdir -p "$set" && "$gen" "$set" >/dev/null || return 1
		while read -r img _ ifmt; do
			[ -f "$set/$img" ] || continue
			# (qemu-img 7.2 loops forever on some VHDX logs)
			q=$(timeout 10 qemu-img info -f "${ifmt:-$fmt}" "$set/$img" 2>&1 >/dev/null |
				head -n 1)
			i=$(timeout 10 "$IMGTOOL" info -f "${ifmt:-$fmt}" "$set/$img" 2>&1 >/dev/null | head -n 1)
			case $q in "qemu-img: Could not open '$set/$img': "*) ;; *) continue ;; esac
			[ -n "$i" ] || continue
			n=$((n + 1))
			case $i in
			"imgtool: Could not open '$set/$img': "*) ;;
			*) echo "$img: qemu: $q"; echo "$img: imgtool: $i"; bad=$((bad + 1)) ;;
			esac
		done <"$set/MANIFEST"
	done
	echo "$n images refused by both, $bad worded differently"
	[ $n -gt 20 ] && [ $bad = 0 ]
}
run "errors: 'Could not open' wherever qemu-img says it (bad-input images)" prefix_like_qemu

hex_offsets() {
	python3 "$top/fixtures/make-vmdk.py" vmdk >/dev/null || return 1
	"$IMGTOOL" convert -O raw vmdk/bad-grain-eof.vmdk o.raw 2>err.txt
	cat err.txt
	grep -qE 'grain 0 at offset 0x[0-9a-f]+ past the end of the file' err.txt
}
run "errors: offsets in hex (vmdk grain past EOF)" hex_offsets

# a backing file name with a newline and an escape sequence in it
evil=$'evil\nNo errors were found on the image.\e[2J.qcow2'
qemu-img create -q -f qcow2 -u -b "$evil" -F qcow2 top.qcow2 1M
escaped_info() {
	"$IMGTOOL" info top.qcow2 >out.txt || return 1
	cat out.txt
	! grep -q $'\e' out.txt &&
	grep -qxF 'backing file: evil\nNo errors were found on the image.\x1b[2J.qcow2' out.txt &&
	! grep -qx 'No errors were found on the image.*' out.txt
}
run "names from images: info escapes \\n and ESC in a backing file name" escaped_info
escaped_error() {
	"$IMGTOOL" convert -O raw top.qcow2 o.raw 2>err.txt
	[ $? = 1 ] || return 1
	cat err.txt
	[ "$(wc -l <err.txt)" = 1 ] && ! grep -q $'\e' err.txt && grep -qF 'evil\nNo errors' err.txt
}
run "names from images: an error naming the backing file is one escaped line" escaped_error

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
