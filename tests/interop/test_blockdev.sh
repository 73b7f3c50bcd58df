#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_blockdev.sh BUILD_DIR - block devices through the file backend.
#
# A P2V source is a physical disk (/dev/sdb): its size comes from BLKGETSIZE64, not
# from stat.  A loop device stands in for the disk: imgtool reads it as a raw source
# (convert to qcow2, compare, info, map), writes into it with -n (also with
# O_DIRECT, -t none), and formats it as qcow2, each checked with qemu-img.
#
# Loop devices need root and a kernel that gives them to this machine; without them
# the suite says so and counts one failure rather than passing silently.
#
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_blockdev "$build"

T=$(mktemp -d /tmp/imgtool-blockdev.XXXXXX)
DEV=
cleanup() {
	[ -n "$DEV" ] && losetup -d "$DEV" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1

passed=0
failed=0
run() {
	local name=$1
	shift
	if "$@" >case.log 2>&1; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		sed 's/^/    /' case.log | tail -n 20
		failed=$((failed + 1))
	fi
}

SIZE=$((64 * 1024 * 1024))
truncate -s $SIZE disk.img
if ! DEV=$(losetup -f --show disk.img 2>losetup.err); then
	DEV=
	echo "FAIL block devices: no loop device could be set up: $(cat losetup.err)"
	echo "0 passed, 1 failed"
	exit 1
fi

# the "physical disk": a partition-table-like first sector, data, zeros, holes
qemu-img create -q -f qcow2 src.qcow2 $SIZE
qemu-io -f qcow2 -c 'write -P 0x55 0 512' -c 'write -P 0xa7 1M 3M' \
	-c 'write -z 8M 2M' -c 'write -P 0x3c 40M 1M' -c 'write -P 0x11 63M 1M' \
	src.qcow2 >/dev/null

run "convert -n qcow2 -> block device" \
	"$IMGTOOL" convert -n -f qcow2 -O raw src.qcow2 "$DEV"
run "qemu-img compare block device = source" qemu-img compare -f raw -F qcow2 "$DEV" src.qcow2
run "info: the device size comes from the device" \
	sh -c "'$IMGTOOL' info -f raw --output=json '$DEV' | grep -q '\"virtual-size\": $SIZE'"
run "map of the device (all data, as a disk has no holes)" \
	sh -c "'$IMGTOOL' map -f raw --output=json '$DEV' | grep -q '\"length\": $SIZE'"
run "P2V: convert the device to qcow2" \
	"$IMGTOOL" convert -f raw -O qcow2 "$DEV" p2v.qcow2
run "P2V result: qemu-img check" qemu-img check -q p2v.qcow2
run "P2V result: qemu-img compare with the source" qemu-img compare -q p2v.qcow2 src.qcow2
run "P2V with O_DIRECT on both sides (-T none -t none)" \
	"$IMGTOOL" convert -T none -t none -f raw -O raw "$DEV" direct.raw
run "O_DIRECT copy equals the device" cmp direct.raw "$DEV"
run "compare device against the P2V image" "$IMGTOOL" compare -f raw -F qcow2 "$DEV" p2v.qcow2
run "format the device as qcow2 (create on a block device)" \
	"$IMGTOOL" create -q -f qcow2 "$DEV" 32M
qemu-img create -q -f qcow2 half.qcow2 32M
qemu-io -f qcow2 -c 'write -P 0x77 1M 2M' half.qcow2 >/dev/null
run "write a 32M disk into the qcow2 on the device" \
	"$IMGTOOL" convert -n -f qcow2 -O qcow2 half.qcow2 "$DEV"
run "qemu-img check of the qcow2 on the device" qemu-img check -q -f qcow2 "$DEV"
run "qemu-img compare of the qcow2 on the device" qemu-img compare -q -f qcow2 -F qcow2 "$DEV" half.qcow2
run "a device too small for the image is refused" \
	sh -c "! '$IMGTOOL' create -q -f raw '$DEV' 1G 2>err && grep -q 'fewer than' err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
