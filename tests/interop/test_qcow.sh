#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_qcow.sh BUILD_DIR - the qcow (version 1) format, read-only,
# against qemu-img 7.2.
#
#   a. qemu-img writes qcow (plain, compressed clusters, an empty 8G disk (qemu-img takes seconds a GiB to map it),
#      an overlay of 512-byte clusters over a qcow2 and over a qcow base, written
#      by qemu-io): imgtool's info, map and conversions are qemu-img's, probed and
#      with -f qcow (same_as_qemu).
#   b. what imgtool refuses, in one line naming the file: an AES-encrypted image;
#      a backing file named by URL (the reference policy) and, under --untrusted,
#      any backing file; writing (qcow is read-only here) and creating.
#
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/interop/same_as_qemu.sh"
find_imgtool test_qcow "$build"
need_tools test_qcow qemu-img qemu-io python3 cmp

T=$(mktemp -d /tmp/imgtool-qcow.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

SIZE=$((6 * 1024 * 1024 + 3 * 512))
setup raw_source src.raw $SIZE || { summary; exit 1; }

# ---- a. qemu-img writes, imgtool reads -----------------------------------------
plain() {
	qemu-img convert -f raw -O qcow src.raw p.qcow
	same_as_qemu p.qcow qcow
	same_as_qemu p.qcow
}
run_case "qemu qcow -> imgtool reads it as qemu-img" plain
# (qemu-img 7.2 convert -c -O qcow exits 1 without a message on this machine, so
# qemu-io writes the compressed clusters)
compressed() {
	qemu-img create -q -f qcow c.qcow $SIZE
	qemu-io -f qcow -c 'write -q -c -P 0x33 0 4k' -c 'write -q -c -P 0x44 64k 4k' \
		-c 'write -q -P 0x55 128k 8k' -c 'write -q -c -P 0x66 1M 4k' \
		-c "write -q -c -P 0x77 $((SIZE / 4096 * 4096 - 4096)) 4k" c.qcow
	same_as_qemu c.qcow qcow
	# the compressed clusters really are (qemu-img map shows no offset for them)
	qemu-img map --output=json c.qcow | grep '"data": true' | grep -vq offset
}
run_case "qemu qcow compressed clusters -> imgtool reads it as qemu-img" compressed
empty() {
	qemu-img create -q -f qcow e.qcow 8G
	same_as_qemu e.qcow
}
run_case "qemu qcow empty 8G -> imgtool as qemu-img" empty
overlay() {   # BASE_FORMAT
	rm -f base.$1 ov.qcow
	qemu-img convert -f raw -O "$1" src.raw base.$1
	qemu-img create -q -f qcow -b base.$1 -F "$1" ov.qcow $SIZE
	qemu-io -f qcow -c 'write -q -P 0x5a 512 1k' -c 'write -q -P 0x11 1M 3M' \
		-c 'write -q -z 5M 64k' -c "write -q -P 0x77 $((SIZE - 4096)) 4k" ov.qcow
	same_as_qemu ov.qcow qcow
	"$IMGTOOL" info ov.qcow | grep -qx 'backing file: base.'"$1"
}
run_case "qemu qcow overlay (512-byte clusters) over a qcow2 -> imgtool as qemu-img" overlay qcow2
run_case "qemu qcow overlay over a qcow base -> imgtool as qemu-img" overlay qcow

# ---- b. refusals -------------------------------------------------------------------
encrypted() {
	qemu-img create -q --object secret,id=sec0,data=abc -f qcow \
		-o encrypt.format=aes,encrypt.key-secret=sec0 enc.qcow 1M
	one_line_error "$IMGTOOL" info enc.qcow
	grep -q "enc.qcow" err.txt && grep -qi "encrypted" err.txt
	one_line_error "$IMGTOOL" convert -O raw enc.qcow enc.raw
}
run_case "an AES-encrypted qcow is refused in one line" encrypted
url_backing() {
	qemu-img create -q -f qcow -u -b nbd://127.0.0.1:9/x -F raw url.qcow 1M
	one_line_error "$IMGTOOL" convert -O raw url.qcow url.raw
	grep -q "nbd://127.0.0.1:9/x" err.txt
}
run_case "a backing file named by URL is refused (reference policy)" url_backing
untrusted() {
	qemu-img convert -f raw -O qcow2 src.raw base.qcow2
	qemu-img create -q -f qcow -b base.qcow2 -F qcow2 ov2.qcow $SIZE
	"$IMGTOOL" convert -O raw ov2.qcow ok.raw
	one_line_error "$IMGTOOL" convert --untrusted -O raw ov2.qcow no.raw
	grep -q "untrusted" err.txt
}
run_case "--untrusted refuses the backing file of a qcow" untrusted
read_only() {
	qemu-img create -q -f qcow w.qcow $SIZE
	one_line_error "$IMGTOOL" convert -n -f raw -O qcow src.raw w.qcow
	one_line_error "$IMGTOOL" create -f qcow new.qcow 1M
	one_line_error "$IMGTOOL" check -r all w.qcow
}
run_case "qcow is read-only: writing and creating refused in one line" read_only

summary
