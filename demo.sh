#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# demo.sh - the main job on a generated example: a raw disk with an MBR partition
# table and a few MiB of data becomes a qcow2 image with imgtool, which imgtool then
# describes and checks, and qemu-img (the reference) proves identical to the source.
#
# Then the main job on a real guest: the VMware-style guest fixture (a Debian 12
# guest with GRUB2, systemd and open-vm-tools as a streamOptimized vmdk, built once
# from the Debian archive by fixtures/make-guest.sh and cached) is converted for KVM
# by `imgtool v2v` (qcow2 copy, virtio in the initramfs, fstab and GRUB off
# /dev/sda, open-vm-tools removed, network renamed), checked, and booted on virtio
# with `imgtool launch` until its marker line appears on the serial console.  A
# summary with timings is printed and written as JSON to $DEMO_REPORT (default
# build/demo-report.json).  It exits 0 only when the converted guest booted.
#
# The example needs only coreutils; the guest needs root (the fixture is built on a
# loop device, a few minutes the first time) and `make deps` (qemu-system-x86,
# debootstrap, libguestfs, ...), which `make demo` runs first.  IMGTOOL_BIN=PATH
# runs another binary; DEMO_KEEP=1 keeps the files (the directory is printed), else
# they are removed; DEMO_BOOT_TIMEOUT (default 300 s) bounds the boot.
set -euo pipefail

top=$(cd "$(dirname "$0")" && pwd)

IMGTOOL=
for c in ${IMGTOOL_BIN:-} "$top/build/imgtool"; do
	if [ -f "$c" ] && [ -x "$c" ]; then
		IMGTOOL=$c
		break
	fi
done
if [ -z "$IMGTOOL" ]; then
	echo "demo: no imgtool binary; run make first" >&2
	exit 1
fi

dir=$(mktemp -d /tmp/imgtool-demo.XXXXXX)
if [ "${DEMO_KEEP:-0}" = 1 ]; then
	trap 'echo "demo files kept in $dir"' EXIT
else
	trap 'rm -rf "$dir"' EXIT
fi
cd "$dir"

step() { printf '\n==> %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

# le32 N - N as 4 little-endian bytes, spelled as printf octal escapes
le32() {
	local n=$1
	printf '\\%03o\\%03o\\%03o\\%03o' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255))
}

step "1. build an example raw disk: 64 MiB, MBR with one Linux partition, data, zeros, holes"
size_mib=64
sectors=$((size_mib * 2048))
truncate -s ${size_mib}M disk.raw
# MBR: boot code area stays zero; one primary partition of type 0x83 from sector 2048
# to the end (LBA fields; CHS fields set to the "use LBA" values); signature 55 AA.
entry="\\000\\376\\377\\377\\203\\376\\377\\377$(le32 2048)$(le32 $((sectors - 2048)))"
printf "$entry" | dd of=disk.raw bs=1 seek=446 conv=notrunc status=none
printf '\125\252' | dd of=disk.raw bs=1 seek=510 conv=notrunc status=none
# inside the partition: a text "file", random bytes, a zero run written as data,
# program bytes, and untouched holes in between
for i in $(seq 1 20000); do echo "line $i: imgtool demo data, the quick brown fox"; done >text.dat
dd if=text.dat of=disk.raw bs=1M seek=1 conv=notrunc status=none
dd if=/dev/urandom of=disk.raw bs=1M seek=8 count=4 conv=notrunc status=none
dd if=/dev/zero of=disk.raw bs=1M seek=16 count=8 conv=notrunc status=none
dd if=/bin/sh of=disk.raw bs=1M seek=30 conv=notrunc status=none
dd if=/dev/urandom of=disk.raw bs=4096 seek=$(((size_mib * 1024 * 1024 - 8192) / 4096)) count=2 \
	conv=notrunc status=none
rm -f text.dat
ls -ls disk.raw
if command -v sfdisk >/dev/null; then
	sfdisk -l disk.raw 2>/dev/null | sed -n '/^Device/,$p' || true
fi

step "2. convert it to qcow2 with imgtool"
start=$(date +%s%N)
run "$IMGTOOL" convert -f raw -O qcow2 disk.raw disk.qcow2
end=$(date +%s%N)
echo "converted in $(((end - start) / 1000000)) ms"

step "3. imgtool info"
run "$IMGTOOL" info disk.qcow2

step "4. imgtool check"
run "$IMGTOOL" check disk.qcow2

step "5. proof by the reference tool: qemu-img compare and qemu-img check"
if ! command -v qemu-img >/dev/null; then
	echo "demo: qemu-img not found (make deps installs qemu-utils)" >&2
	exit 1
fi
run qemu-img compare -f raw -F qcow2 disk.raw disk.qcow2
run qemu-img check disk.qcow2

step "6. round trip: back to raw with imgtool, byte for byte the original"
run "$IMGTOOL" convert -f qcow2 -O raw disk.qcow2 back.raw
run cmp disk.raw back.raw
echo "identical"

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
report=${DEMO_REPORT:-$top/build/demo-report.json}
marker=IMGTOOL-GUEST-READY

step "7. the guest: a Debian 12 disk exported from VMware (streamOptimized vmdk; cached)"
start=$(date +%s%N)
vmdk=$("$top/fixtures/make-guest.sh" | tail -n 1)
fixture_ms=$(ms_since "$start")
run "$IMGTOOL" info "$vmdk"

step "8. convert the VMware guest for KVM: imgtool v2v (disk -> qcow2, virtio drivers, fstab, GRUB, agents, network)"
# The guest carries its VMware drivers (no virtio in its initramfs, root on
# /dev/sda1, open-vm-tools): on virtio its initramfs would give up ("ALERT!
# /dev/sda1 does not exist.").  v2v copies the vmdk to qcow2 (the vmdk is never
# modified) and converts the copy so that it boots on virtio.
start=$(date +%s%N)
mkdir -p v2v
run "$IMGTOOL" v2v -i disk "$vmdk" -o local -of qcow2 -os v2v -on guest --report v2v-report.json
convert_ms=$(ms_since "$start")
changes=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(len(r.get("changes", [])))' \
	v2v-report.json 2>/dev/null || echo "?")
echo "v2v changed $changes things in the guest (report: v2v-report.json)"
run "$IMGTOOL" check v2v/guest-sda.qcow2
run qemu-img check v2v/guest-sda.qcow2

step "9. launch the converted guest on virtio and wait for its marker on the serial console"
start=$(date +%s%N)
booted=false
if run "$IMGTOOL" launch --bus virtio --net none --wait-for "$marker" \
	--timeout "${DEMO_BOOT_TIMEOUT:-300}" --console-log console.log v2v/guest-sda.qcow2; then
	booted=true
fi
boot_ms=$(ms_since "$start")
accel=tcg
if "$IMGTOOL" launch --print-cmdline v2v/guest-sda.qcow2 2>/dev/null | grep -q -- "-accel kvm"; then
	accel=kvm
fi
size=$("$IMGTOOL" info --output=json v2v/guest-sda.qcow2 |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["virtual-size"])')

mkdir -p "$(dirname "$report")"
cat >"$report" <<EOF
{
  "guest": "$vmdk",
  "source_format": "vmdk",
  "target_format": "qcow2",
  "virtual_size": $size,
  "fixture_ms": $fixture_ms,
  "v2v_ms": $convert_ms,
  "v2v_changes": "$changes",
  "boot_ms": $boot_ms,
  "accel": "$accel",
  "bus": "virtio",
  "marker": "$marker",
  "booted": $booted
}
EOF

step "summary"
printf '  fixture (VMware vmdk)  %7d ms  %s\n' "$fixture_ms" "$vmdk"
printf '  v2v vmdk -> qcow2      %7d ms  (%s changes in the guest)\n' "$convert_ms" "$changes"
printf '  boot to marker (%s)   %7d ms  %s\n' "$accel" "$boot_ms" \
	"$([ "$booted" = true ] && echo booted || echo 'DID NOT BOOT')"
# the line the guest prints before its marker: system, hostname, boot count, root
guest_line=$(grep -a 'ttyS0 (boot ' console.log 2>/dev/null | tail -n 1 | tr -d '\r' || true)
[ -z "$guest_line" ] || echo "  guest said: $guest_line"
echo "  report: $report"
if [ "$booted" != true ]; then
	echo "demo: the converted guest did not boot" >&2
	exit 1
fi
printf '\ndemo: OK\n'
