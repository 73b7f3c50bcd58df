#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/serve/test_launch_nbd.sh BUILD_DIR - `imgtool launch` through imgtool's own
# NBD server: golden --print-cmdline lines for --via-nbd (forced) and for the
# automatic case (a qemu whose build lacks the image's format: a qemu-img on PATH
# that lists only file/raw/qcow2 stands for it), then one real boot of the fixture
# guest (fixtures/make-guest.sh) through NBD to its marker, a Ctrl-C during a boot,
# and afterwards: the image passes qemu-img check, no server or qemu is left, no
# socket folder is left.  Set SERVE_FIXTURE=path.vmdk to use a fixture already
# built.  Prints "PASS name" / "FAIL name".
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_launch_nbd "$build"
need_tools test_launch_nbd qemu-img qemu-system-x86_64
MARKER=IMGTOOL-GUEST-READY
BOOT_TIMEOUT=${LAUNCHER_BOOT_TIMEOUT:-300}

dir=$(mktemp -d /var/tmp/imgtool-serve-launch.XXXXXX)
cleanup() {
	pkill -KILL -f -- "$dir/" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

# ---- golden --print-cmdline ----
"$IMGTOOL" create -q -f qcow2 "$dir/disk.qcow2" 64M
"$IMGTOOL" create -q -f vmdk "$dir/disk.vmdk" 64M
NBD="file=nbd:unix:/tmp/imgtool-nbd.XXXXXX/nbd.sock,format=raw,if=none,id=disk0"
TAIL="-display none -serial mon:stdio"
golden() { # name expected args...
	local name=$1 want=$2 got
	shift 2
	got=$("$IMGTOOL" launch --print-cmdline "$@" 2>"$dir/err")
	if [ "$got" = "$want" ]; then
		ok "cmdline $name"
	else
		ko "cmdline $name"
		echo "  want: $want"
		echo "  got:  $got"
		sed 's/^/  stderr: /' "$dir/err"
	fi
}
golden via-nbd \
	"qemu-system-x86_64 -name imgtool-disk.qcow2 -machine pc,graphics=off -accel tcg -m 1024 -smp 1 -nodefaults -drive $NBD,cache=writeback -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	--accel tcg --via-nbd "$dir/disk.qcow2"
golden via-nbd-snapshot-sata \
	"qemu-system-x86_64 -name imgtool-disk.qcow2 -machine pc,graphics=off -accel tcg -m 1024 -smp 1 -nodefaults -drive $NBD,cache=writeback -device ahci,id=ahci0 -device ide-hd,drive=disk0,bus=ahci0.0,bootindex=1 $TAIL" \
	--accel tcg --via-nbd --snapshot --bus sata --net none "$dir/disk.qcow2"
golden via-nbd-unsafe-url \
	"qemu-system-x86_64 -name imgtool-disk.img -machine pc,graphics=off -accel tcg -m 1024 -smp 1 -nodefaults -drive $NBD,cache=unsafe -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	--accel tcg --via-nbd --cache unsafe -f raw nfs://server/export/disk.img
golden vmdk-direct \
	"qemu-system-x86_64 -name imgtool-disk.vmdk -machine pc,graphics=off -accel tcg -m 1024 -smp 1 -nodefaults -drive file=$dir/disk.vmdk,format=vmdk,if=none,id=disk0,cache=none,aio=native -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	--accel tcg "$dir/disk.vmdk"
# a qemu build without vmdk (nor nfs): the launcher must go through NBD by itself
mkdir -p "$dir/fakebin"
cat >"$dir/fakebin/qemu-img" <<'SH'
#!/bin/sh
echo "Supported formats: file host_device raw qcow2"
SH
chmod +x "$dir/fakebin/qemu-img"
PATH="$dir/fakebin:$PATH" golden auto-vmdk-without-driver \
	"qemu-system-x86_64 -name imgtool-disk.vmdk -machine pc,graphics=off -accel tcg -m 1024 -smp 1 -nodefaults -drive $NBD,cache=writeback -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	--accel tcg "$dir/disk.vmdk"
PATH="$dir/fakebin:$PATH" golden auto-nfs-without-driver \
	"qemu-system-x86_64 -name imgtool-disk.img -machine pc,graphics=off -accel tcg -m 1024 -smp 1 -nodefaults -drive $NBD,cache=writeback -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	--accel tcg -f raw nfs://server/export/disk.img
PATH="$dir/fakebin:$PATH" golden auto-qcow2-direct \
	"qemu-system-x86_64 -name imgtool-disk.qcow2 -machine pc,graphics=off -accel tcg -m 1024 -smp 1 -nodefaults -drive file=$dir/disk.qcow2,format=qcow2,if=none,id=disk0,cache=none,aio=native -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	--accel tcg "$dir/disk.qcow2"

# ---- a real boot through NBD ----
nbd_dirs() { ls -d /tmp/imgtool-nbd.* 2>/dev/null | sort; }
before_dirs=$(nbd_dirs)
vmdk=${SERVE_FIXTURE:-}
if [ -z "$vmdk" ]; then
	if ! vmdk=$("$top/fixtures/make-guest.sh" 2>"$dir/err" | tail -n 1) || [ ! -s "$vmdk" ]; then
		ko "fixture: make-guest.sh failed: $(tail -n 5 "$dir/err")"
		exit 1
	fi
fi
"$IMGTOOL" convert -O qcow2 "$vmdk" "$dir/guest.qcow2" || ko "fixture conversion"
t0=$(date +%s.%N)
if "$IMGTOOL" launch --via-nbd --bus sata --net none --wait-for "$MARKER" \
	--timeout "$BOOT_TIMEOUT" --console-log "$dir/console.log" "$dir/guest.qcow2" \
	>"$dir/out" 2>"$dir/err"; then
	t1=$(date +%s.%N)
	ok "boot through NBD: $(cat "$dir/out") [wall $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}') s]"
else
	ko "boot through NBD"
	tail -n 30 "$dir/err" | sed 's/^/  /'
fi
qemu-img check -q "$dir/guest.qcow2" && ok "after the NBD boot the image passes qemu-img check" ||
	ko "image not clean after the NBD boot"

# Ctrl-C while the guest boots: the launcher stops qemu, then the server
"$IMGTOOL" launch --via-nbd --bus sata --net none --wait-for "NEVER-APPEARS" \
	--timeout "$BOOT_TIMEOUT" "$dir/guest.qcow2" >"$dir/out2" 2>"$dir/err2" &
lp=$!
for i in $(seq 1 200); do
	pgrep -f -- "qemu-system.*nbd:unix" >/dev/null && pgrep -P "$lp" >/dev/null && break
	sleep 0.05
done
sleep 2
kill -INT "$lp"
wait "$lp"
rc=$?
[ "$rc" = 130 ] && ok "Ctrl-C: launcher exits 130" || ko "Ctrl-C: exit $rc ($(tail -n 2 "$dir/err2"))"
qemu-img check -q "$dir/guest.qcow2" && ok "Ctrl-C: the image passes qemu-img check" ||
	ko "Ctrl-C: image not clean"

sleep 0.3
if pgrep -f -- "$dir/" >/dev/null; then
	ko "processes left behind: $(pgrep -af -- "$dir/")"
else
	ok "no qemu or NBD server left behind"
fi
# a folder another launcher on the machine is using goes when that one stops:
# wait as long as a server may take to stop (10 s) before calling it left
for i in $(seq 1 30); do
	[ "$(nbd_dirs)" = "$before_dirs" ] && break
	sleep 0.5
done
[ "$(nbd_dirs)" = "$before_dirs" ] && ok "no NBD socket folder left" ||
	ko "NBD socket folders left: $(comm -13 <(echo "$before_dirs") <(nbd_dirs))"
