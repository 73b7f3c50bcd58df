#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_convert_offload.sh BUILD_DIR - `convert -C` (copy
# offloading) against `qemu-img convert -C`, on two small XFS loop mounts: one
# with reflink=1 (the copy is a reflink: the output shares its blocks with the
# source) and one with reflink=0 (FICLONERANGE refused: copy_file_range, then
# the usual copy).  Each output reads as the source and as qemu-img's, its holes
# are kept, a qcow2 output checks clean; -C into a format that cannot offload
# (vmdk, vpc) falls back and succeeds as qemu-img does; -C with -c or -S is
# refused with qemu-img's message.  Needs root and loop devices.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_convert_offload "$build"
need_tools test_convert_offload qemu-img qemu-io mkfs.xfs xfs_io losetup strace python3

T=$(mktemp -d /tmp/imgtool-offload.XXXXXX)
cleanup() {
	cd /
	umount "$T/reflink" "$T/noreflink" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "${OFFLOAD_DEBUG:-}" ] && set -x
cd "$T" || exit 1

mount_xfs() { # NAME REFLINK
	truncate -s 320M "$1.img"
	mkfs.xfs -q -m reflink="$2" "$1.img"
	mkdir "$1"
	mount -o loop "$1.img" "$1"
}
setup mount_xfs reflink 1 || { summary; exit 1; }
setup mount_xfs noreflink 0 || { summary; exit 1; }

# a 64 MiB qcow2: data, a zero cluster, a compressed cluster, holes; its raw copy
make_sources() {
	qemu-img create -q -f qcow2 "$1/s.qcow2" 64M
	qemu-io -f qcow2 -c 'write -P 0x11 0 4M' -c 'write -P 0x22 20M 1M' -c 'write -z 30M 2M' \
		-c 'write -c -P 0x33 40M 64k' -c 'write -P 0x44 63M 512k' "$1/s.qcow2" >/dev/null
	qemu-img convert -O raw "$1/s.qcow2" "$1/s.raw"
}
setup make_sources reflink || { summary; exit 1; }
setup make_sources noreflink || { summary; exit 1; }

# data_map FILE: the guest ranges that hold data, adjacent ones merged (the
# host layout aside; allocated byte counts are not compared: XFS preallocates
# speculatively)
data_map() {
	qemu-img map --output=json "$1" | python3 -c '
import json, sys
out = []
for e in json.load(sys.stdin):
    if out and out[-1][2] == e["data"] and out[-1][0] + out[-1][1] == e["start"]:
        out[-1][1] += e["length"]
    else:
        out.append([e["start"], e["length"], e["data"]])
for r in out:
    print(*r)'
}
# shared_extents FILE: extents the file shares with another (reflinked)
shared_extents() { xfs_io -c 'fiemap -v' "$1" | awk '$NF ~ /^0x/ && strtonum($NF) % 0x4000 >= 0x2000' | wc -l; }

# same_as_qemu DIR FMT SRC: imgtool and qemu-img convert -C give the same image
same_as_qemu() {
	local d=$1 fmt=$2 src=$3
	rm -f "$d/i.$fmt" "$d/q.$fmt"
	# (LeakSanitizer cannot run under ptrace: an ASan build is traced without it)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -o "$d/trace" -e trace=copy_file_range,ioctl "$IMGTOOL" convert -C -O "$fmt" "$d/$src" "$d/i.$fmt"
	qemu-img convert -C -O "$fmt" "$d/$src" "$d/q.$fmt"
	qemu-img compare -q "$d/$src" "$d/i.$fmt"
	qemu-img compare -q "$d/q.$fmt" "$d/i.$fmt"
	if [ "$fmt" = qcow2 ]; then qemu-img check -q "$d/i.$fmt"; fi
	# holes kept: the same data and hole ranges as qemu-img's output, and holes
	diff <(data_map "$d/q.$fmt") <(data_map "$d/i.$fmt")
	[ "$(qemu-img map --output=json "$d/i.$fmt" | grep -c '"data": false')" -gt 0 ]
}

reflinked() {
	same_as_qemu reflink "$1" "$2"
	grep -q 'FICLONERANGE' reflink/trace
	[ "$(shared_extents "reflink/i.$1")" -gt 0 ]
}
run_case "raw -> raw -C on XFS reflink=1: reflinked, = qemu-img -C, holes kept" reflinked raw s.raw
run_case "qcow2 -> qcow2 -C on XFS reflink=1: clusters reflinked, = qemu-img -C, clean" reflinked qcow2 s.qcow2
run_case "qcow2 -> raw -C on XFS reflink=1: = qemu-img -C" same_as_qemu reflink raw s.qcow2

fell_back() {
	same_as_qemu noreflink "$1" "$2"
	grep -q 'copy_file_range(' noreflink/trace
	[ "$(shared_extents "noreflink/i.$1")" = 0 ]
}
run_case "raw -> raw -C on XFS reflink=0: copy_file_range, = qemu-img -C" fell_back raw s.raw
run_case "qcow2 -> qcow2 -C on XFS reflink=0: copy_file_range, = qemu-img -C" fell_back qcow2 s.qcow2

# formats that cannot offload: qemu-img -C copies the usual way, so does imgtool
for f in vmdk vpc; do
	run_case "qcow2 -> $f -C: the usual copy, = qemu-img -C" same_as_qemu reflink "$f" s.qcow2
done
no_offload_into_extl2() {
	rm -f reflink/x.qcow2
	"$IMGTOOL" convert -C -O qcow2 -o extended_l2=on reflink/s.raw reflink/x.qcow2
	qemu-img compare -q reflink/s.raw reflink/x.qcow2
	qemu-img check -q reflink/x.qcow2
}
run_case "raw -> qcow2 extended_l2 -C: the usual copy, clean" no_offload_into_extl2

refused_as_qemu() {
	local qr=0 ir=0
	qemu-img convert "$@" reflink/s.qcow2 reflink/r1 2>q.err || qr=$?
	"$IMGTOOL" convert "$@" reflink/s.qcow2 reflink/r2 2>i.err || ir=$?
	[ "$qr" = 1 ] && [ "$ir" = 1 ]
	sed -i 's/^qemu-img:/imgtool:/' q.err
	diff q.err i.err
	[ ! -e reflink/r2 ]
}
run_case "-C -c refused as qemu-img" refused_as_qemu -C -c -O qcow2
run_case "-C -S 4k refused as qemu-img" refused_as_qemu -C -S 4k -O raw
summary
