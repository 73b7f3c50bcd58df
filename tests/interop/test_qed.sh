#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_qed.sh BUILD_DIR - the QED format, read-only, against
# qemu-img 7.2.
#
#   a. qemu-img and qemu-io write qed (converted data, zero clusters, an empty 8G
#      disk, an overlay over a qcow2 and over a raw base with the no-probe
#      feature, a need-check image): imgtool's info, map and conversions are
#      qemu-img's, probed and with -f qed (same_as_qemu).
#   b. what imgtool refuses, in one line naming the file: a backing file named by
#      URL (the reference policy) and, under --untrusted, any backing file;
#      writing (qed is read-only here) and creating.
#
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/interop/same_as_qemu.sh"
find_imgtool test_qed "$build"
need_tools test_qed qemu-img qemu-io python3 cmp

T=$(mktemp -d /tmp/imgtool-qed.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

SIZE=$((6 * 1024 * 1024 + 3 * 512))
setup raw_source src.raw $SIZE || { summary; exit 1; }

# ---- a. qemu-img writes, imgtool reads -----------------------------------------
plain() {
	qemu-img convert -f raw -O qed src.raw p.qed
	same_as_qemu p.qed qed
	same_as_qemu p.qed
}
run_case "qemu qed -> imgtool reads it as qemu-img" plain
zeros() {
	qemu-img create -q -f qed -o cluster_size=4096 z.qed $SIZE
	qemu-io -f qed -c 'write -q -P 0x33 0 8k' -c 'write -q -z 64k 16k' \
		-c 'write -q -P 0x55 128k 8k' -c "write -q -P 0x77 $((SIZE - 4096)) 4k" z.qed
	same_as_qemu z.qed qed
	# the zero clusters really are (qemu-img map shows them as zero, not data)
	qemu-img map --output=json z.qed | grep '"zero": true' | grep -q '"data": false'
}
run_case "qemu qed with zero clusters -> imgtool reads it as qemu-img" zeros
empty() {
	qemu-img create -q -f qed e.qed 8G
	same_as_qemu e.qed
}
run_case "qemu qed empty 8G -> imgtool as qemu-img" empty
overlay() {   # BASE_FORMAT
	rm -f base.$1 ov.qed
	qemu-img convert -f raw -O "$1" src.raw base.$1
	qemu-img create -q -f qed -b base.$1 -F "$1" ov.qed $SIZE
	qemu-io -f qed -c 'write -q -P 0x5a 512 1k' -c 'write -q -P 0x11 1M 3M' \
		-c 'write -q -z 5M 64k' -c "write -q -P 0x77 $((SIZE - 4096)) 4k" ov.qed
	same_as_qemu ov.qed qed
	"$IMGTOOL" info ov.qed | grep -qx 'backing file: base.'"$1"
}
run_case "qemu qed overlay over a qcow2 -> imgtool as qemu-img" overlay qcow2
# -F raw sets the no-probe feature: the backing format is raw without a probe
run_case "qemu qed overlay over a raw base (no-probe) -> imgtool as qemu-img" overlay raw
need_check() {
	qemu-img convert -f raw -O qed src.raw nc.qed
	# features (offset 16) |= need-check: what a writer that died leaves
	printf '\x02' | dd of=nc.qed bs=1 seek=16 conv=notrunc status=none
	same_as_qemu nc.qed qed
	# qemu-img 7.2 reports such an image as clean; so does imgtool (same_as_qemu)
	"$IMGTOOL" info --output=json nc.qed | grep -q '"dirty-flag": false'
}
run_case "a need-check qed reads as qemu reads it read-only" need_check

# ---- b. refusals -------------------------------------------------------------------
url_backing() {
	qemu-img create -q -f qed -u -b nbd://127.0.0.1:9/x -F raw url.qed 1M
	one_line_error "$IMGTOOL" convert -O raw url.qed url.raw
	grep -q "nbd://127.0.0.1:9/x" err.txt
}
run_case "a backing file named by URL is refused (reference policy)" url_backing
untrusted() {
	qemu-img convert -f raw -O qcow2 src.raw base.qcow2
	qemu-img create -q -f qed -b base.qcow2 -F qcow2 ov2.qed $SIZE
	"$IMGTOOL" convert -O raw ov2.qed ok.raw
	one_line_error "$IMGTOOL" convert --untrusted -O raw ov2.qed no.raw
	grep -q "untrusted" err.txt
}
run_case "--untrusted refuses the backing file of a qed" untrusted
read_only() {
	qemu-img create -q -f qed w.qed $SIZE
	one_line_error "$IMGTOOL" convert -n -f raw -O qed src.raw w.qed
	grep -q "w.qed" err.txt
	one_line_error "$IMGTOOL" create -f qed new.qed 1M
	one_line_error "$IMGTOOL" check -r all w.qed
}
run_case "qed is read-only: writing and creating refused in one line" read_only

summary
