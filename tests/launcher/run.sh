#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/launcher/run.sh BUILD_DIR - the launcher suite: golden `imgtool launch
# --print-cmdline` lines, libvirt XML checked by virt-xml-validate, and real boots of
# the fixture guest (fixtures/make-guest.sh: a Debian 12 guest exported from VMware, as a
# streamOptimized vmdk) under the launcher
# (TCG where KVM does not run guests): from a qcow2 and from a vmdk both made by
# imgtool, with --snapshot leaving the image untouched, a truncated image failing
# with the console tail within its timeout, Ctrl-C and SIGTERM stopping the guest,
# no qemu left behind, and the launcher's time to the marker against a hand-written
# qemu command (ratio printed for information only: timings belong to bench/).
#
# Needs root (the fixture is built on a loop device), the Debian archive (the
# fixture's debootstrap, once: it is cached) and `make deps` (qemu-system-x86,
# debootstrap, libvirt-clients).  Ends with
# "N passed, N failed".
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
IMGTOOL=$build/imgtool
MARKER=IMGTOOL-GUEST-READY
BOOT_TIMEOUT=${LAUNCHER_BOOT_TIMEOUT:-300}

. "$top/tests/lib.sh"

dir=$(mktemp -d /var/tmp/imgtool-launcher-test.XXXXXX)
cleanup() {
	pkill -KILL -f -- "$dir/" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

if [ ! -x "$IMGTOOL" ]; then
	ko "no $IMGTOOL; run make first"
	summary
	exit 1
fi

# ---- golden --print-cmdline ----
"$IMGTOOL" create -q -f qcow2 "$dir/disk.qcow2" 64M
Q="qemu-system-x86_64 -name imgtool-disk.qcow2 -machine pc,graphics=off -accel tcg"
QV="qemu-system-x86_64 -name imgtool-disk.qcow2 -machine pc -accel tcg"
TAIL="-display none -serial mon:stdio"
D="file=$dir/disk.qcow2"
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
golden default \
	"$Q -m 1024 -smp 1 -nodefaults -drive $D,format=qcow2,if=none,id=disk0,cache=none,aio=native -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	--accel tcg "$dir/disk.qcow2"
golden virtio-scsi \
	"$Q -m 2048 -smp 2 -nodefaults -drive $D,format=qcow2,if=none,id=disk0,cache=writeback -device virtio-scsi-pci,id=scsi0 -device scsi-hd,drive=disk0,bus=scsi0.0,bootindex=1 $TAIL" \
	--accel tcg --bus virtio-scsi --cache writeback --net none --memory 2G --cpus 2 "$dir/disk.qcow2"
golden sata-bridge-vnc-uefi \
	"$QV -m 512 -smp 1 -nodefaults -bios /usr/share/ovmf/OVMF.fd -drive $D,format=qcow2,if=none,id=disk0,cache=none,aio=native -device ahci,id=ahci0 -device ide-hd,drive=disk0,bus=ahci0.0,bootindex=1 -netdev bridge,id=net0,br=br0 -device e1000,netdev=net0 -vga std -vnc :3 -serial mon:stdio" \
	-f qcow2 --accel tcg --bus sata --net bridge=br0 --console vnc=:3 --firmware uefi --memory 512 "$dir/disk.qcow2"
golden ide-tap-unsafe \
	"$Q -m 1024 -smp 1 -nodefaults -drive $D,format=qcow2,if=none,id=disk0,cache=unsafe,aio=threads -device ide-hd,drive=disk0,bus=ide.0,unit=0,bootindex=1 -netdev tap,id=net0,ifname=tap0,script=no,downscript=no -device e1000,netdev=net0 $TAIL" \
	--accel tcg --bus ide --cache unsafe --aio threads --net tap=tap0 "$dir/disk.qcow2"
golden directsync-io_uring \
	"$Q -m 1024 -smp 4 -nodefaults -drive $D,format=qcow2,if=none,id=disk0,cache=directsync,aio=io_uring -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	--accel tcg --cache directsync --aio io_uring --cpus 4 "$dir/disk.qcow2"
golden snapshot \
	"$Q -m 1024 -smp 1 -nodefaults -drive file=/var/tmp/imgtool-snapshot.XXXXXX/overlay.qcow2,format=qcow2,if=none,id=disk0,cache=none,aio=native -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	--accel tcg --snapshot "$dir/disk.qcow2"
golden nfs-url \
	"qemu-system-x86_64 -name imgtool-disk.img -machine pc,graphics=off -accel tcg -m 1024 -smp 1 -nodefaults -drive file=nfs://server/export/disk.img,format=raw,if=none,id=disk0,cache=writeback -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	-f raw --accel tcg nfs://server/export/disk.img
golden rbd-url \
	"qemu-system-x86_64 -name imgtool-img -machine pc,graphics=off -accel tcg -m 1024 -smp 1 -nodefaults -drive file=rbd:pool/img,format=raw,if=none,id=disk0,cache=writeback -device virtio-blk-pci,drive=disk0,bootindex=1 $TAIL" \
	-f raw --accel tcg --net none rbd:pool/img
golden rtc-localtime \
	"$Q -m 1024 -smp 1 -nodefaults -rtc base=localtime -drive $D,format=qcow2,if=none,id=disk0,cache=none,aio=native -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	--accel tcg --rtc localtime "$dir/disk.qcow2"
golden comma-in-name \
	"qemu-system-x86_64 -name imgtool-a_b.qcow2 -machine pc,graphics=off -accel tcg -m 1024 -smp 1 -nodefaults -drive file=$dir/a,,b.qcow2,format=qcow2,if=none,id=disk0,cache=none,aio=native -device virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 $TAIL" \
	-f qcow2 --accel tcg "$dir/a,b.qcow2"

# the format is probed by imgtool when -f is absent, never left to qemu
"$IMGTOOL" create -q -f vmdk "$dir/disk.vmdk" 64M
if "$IMGTOOL" launch --print-cmdline --accel tcg "$dir/disk.vmdk" | grep -q "format=vmdk,"; then
	ok "format probed by imgtool (vmdk)"
else
	ko "format probed by imgtool (vmdk)"
fi

# cache=none on tmpfs: one warning and the writeback fallback
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	shm=$(mktemp /dev/shm/imgtool-launcher.XXXXXX)
	"$IMGTOOL" create -q -f qcow2 "$shm" 16M
	out=$("$IMGTOOL" launch --print-cmdline --accel tcg "$shm" 2>"$dir/err")
	if dd if=/dev/zero of="$shm.direct" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
		# Linux 6.6+ tmpfs takes O_DIRECT: then cache=none stays
		if grep -q "cache=none,aio=native" <<<"$out" && [ ! -s "$dir/err" ]; then
			ok "tmpfs takes O_DIRECT on this kernel: cache=none kept"
		else
			ko "tmpfs with O_DIRECT: $out / $(cat "$dir/err")"
		fi
	elif grep -q "cache=writeback,aio=threads" <<<"$out" && grep -q "refuses O_DIRECT" "$dir/err"; then
		ok "tmpfs: O_DIRECT refused, warned, fell back"
	else
		ko "tmpfs: O_DIRECT fallback: $out / $(cat "$dir/err")"
	fi
	rm -f "$shm" "$shm.direct"
fi

# refusals
refuse() { # name pattern args...
	local name=$1 pat=$2
	shift 2
	if "$IMGTOOL" launch --print-cmdline "$@" >/dev/null 2>"$dir/err"; then
		ko "refuses $name (exit 0)"
	elif grep -q -- "$pat" "$dir/err"; then
		ok "refuses $name"
	else
		ko "refuses $name: $(cat "$dir/err")"
	fi
}
refuse "aio=native without O_DIRECT" "aio=native needs" --accel tcg --cache writeback --aio native "$dir/disk.qcow2"
refuse "unknown bus" "invalid bus" --bus usb "$dir/disk.qcow2"
refuse "unknown rtc" "invalid rtc" --rtc gmt "$dir/disk.qcow2"
refuse "unknown cache" "invalid cache" --accel tcg --cache fast "$dir/disk.qcow2"
refuse "bad network" "invalid" --net bridge= "$dir/disk.qcow2"
refuse "bad console" "invalid console" --console vnc=3 "$dir/disk.qcow2"
refuse "missing image" "No such file" --accel tcg "$dir/nothere.qcow2"
refuse "URL without -f" "give the image format" --accel tcg nfs://127.0.0.1:1/x/y.img

# --accel auto: KVM only after the probe guest ran; else one warning and TCG
auto=$("$IMGTOOL" launch --print-cmdline "$dir/disk.qcow2" 2>"$dir/err")
if grep -q -- "-accel kvm -cpu host" <<<"$auto"; then
	ok "accel auto: KVM proven by the probe guest"
	if "$IMGTOOL" launch --print-cmdline --accel kvm "$dir/disk.qcow2" >/dev/null 2>&1; then
		ok "accel kvm accepted"
	else
		ko "accel kvm refused although auto chose KVM"
	fi
elif grep -q -- "-accel tcg" <<<"$auto" && [ "$(grep -c 'warning: KVM' "$dir/err")" = 1 ] &&
	! grep -q -- "-cpu" <<<"$auto"; then
	ok "accel auto: KVM unusable here, one warning, TCG without -cpu host ($(sed 's/.*(\(.*\)).*/\1/' "$dir/err" | head -c 80))"
	refuse "accel kvm where KVM is unusable" "KVM is not usable" --accel kvm "$dir/disk.qcow2"
else
	ko "accel auto: $auto / $(cat "$dir/err")"
fi

# ---- libvirt XML ----
if command -v virt-xml-validate >/dev/null; then
	xml_case() { # name args...
		local name=$1
		shift
		if "$IMGTOOL" launch --libvirt-xml "$dir/dom.xml" "$@" 2>"$dir/err" &&
			virt-xml-validate "$dir/dom.xml" domain >"$dir/val" 2>&1; then
			ok "libvirt xml $name validates"
		else
			ko "libvirt xml $name: $(cat "$dir/err" "$dir/val" 2>/dev/null)"
			cat "$dir/dom.xml" 2>/dev/null
		fi
	}
	xml_case default --accel tcg "$dir/disk.qcow2"
	xml_case virtio-scsi-bridge-vnc --accel tcg --bus virtio-scsi --net bridge=br0 --console vnc=:1 "$dir/disk.qcow2"
	xml_case sata-tap-uefi --accel tcg --bus sata --net tap=tap0 --firmware uefi "$dir/disk.qcow2"
	xml_case ide-none-snapshot --accel tcg --bus ide --net none --snapshot --cache unsafe "$dir/disk.qcow2"
	xml_case io_uring-kvm --accel tcg --cache directsync --aio io_uring "$dir/disk.vmdk"
	xml_case nfs -f raw --accel tcg nfs://server:2049/export/disk.img
	xml_case iscsi -f raw --accel tcg iscsi://target.example/iqn.2003-01.org.example:t1/0
	xml_case rbd -f raw --accel tcg rbd:pool/img
	xml_case rtc-localtime --accel tcg --rtc localtime "$dir/disk.qcow2"
	if grep -q "<clock offset='localtime'/>" "$dir/dom.xml"; then
		ok "libvirt xml --rtc localtime gives <clock offset='localtime'/>"
	else
		ko "libvirt xml --rtc localtime: $(grep clock "$dir/dom.xml")"
	fi
	"$IMGTOOL" launch --libvirt-xml "$dir/dom.xml" --accel tcg --bus sata --cache none "$dir/disk.qcow2" 2>/dev/null
	if grep -q "type='qcow2' cache='none' io='native'" "$dir/dom.xml" &&
		grep -q "bus='sata'" "$dir/dom.xml" && grep -q "<serial type='pty'>" "$dir/dom.xml"; then
		ok "libvirt xml carries format, cache, io, bus, serial"
	else
		ko "libvirt xml content"
	fi
else
	ko "virt-xml-validate missing (make deps installs libvirt-clients)"
fi

# ---- boots ----
if ! command -v qemu-system-x86_64 >/dev/null; then
	ko "qemu-system-x86_64 missing (make deps installs qemu-system-x86)"
	summary
	exit 1
fi
t=$(date +%s)
if ! vmdk=$("$top/fixtures/make-guest.sh" 2>"$dir/err" | tail -n 1) || [ ! -s "$vmdk" ]; then
	ko "fixture: make-guest.sh failed: $(cat "$dir/err")"
	summary
	exit 1
fi
# a setup step, not a case
echo "  fixture $vmdk ready in $(($(date +%s) - t)) s"

# VMware vmdk -> qcow2 -> vmdk, all by imgtool
if "$IMGTOOL" convert -O qcow2 "$vmdk" "$dir/guest.qcow2" &&
	"$IMGTOOL" convert -O vmdk "$dir/guest.qcow2" "$dir/guest.vmdk" &&
	qemu-img compare "$vmdk" "$dir/guest.vmdk" >/dev/null; then
	ok "fixture converted by imgtool: vmdk -> qcow2 -> vmdk"
else
	ko "fixture conversion"
fi

boot() { # name args... (image last)
	local name=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	if "$IMGTOOL" launch --wait-for "$MARKER" --timeout "$BOOT_TIMEOUT" \
		--console-log "$dir/console.log" "$@" >"$dir/out" 2>"$dir/err"; then
		t1=$(date +%s.%N)
		ok "boot $name: $(cat "$dir/out") [wall $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}') s]"
		return 0
	fi
	ko "boot $name"
	sed 's/^/  /' "$dir/err" | tail -n 30
	return 1
}

if boot "qcow2 on sata" --bus sata "$dir/guest.qcow2"; then
	# the line the guest's marker service prints before the marker
	if grep -aq "Debian GNU/Linux 12 vmware-guest ttyS0 (boot 1, root /dev/sda1)" "$dir/console.log"; then
		ok "the guest's boot line: Debian 12, vmware-guest, first boot, root /dev/sda1"
	else
		ko "no boot line on the console: $(grep -a ttyS0 "$dir/console.log" | tail -n 1)"
	fi
fi
# unconverted, the VMware guest has no virtio drivers: on virtio its initramfs
# cannot find /dev/sda1 (what a guest conversion must fix): Debian's initramfs waits
# for it, prints "Gave up waiting for root file system device." and this ALERT line,
# then drops to its shell
if "$IMGTOOL" launch --bus virtio --net none --snapshot --wait-for "ALERT!  /dev/sda1 does not exist" \
	--timeout "$BOOT_TIMEOUT" "$dir/guest.qcow2" >/dev/null 2>"$dir/err"; then
	ok "unconverted guest on virtio: its initramfs finds no root disk (as expected)"
else
	ko "unconverted guest on virtio did not reach the initramfs' ALERT"
	tail -n 20 "$dir/err"
fi
sum_before=$(md5sum <"$dir/guest.vmdk")
boot "imgtool vmdk on ide, --snapshot" --bus ide --snapshot "$dir/guest.vmdk"
if [ "$(md5sum <"$dir/guest.vmdk")" = "$sum_before" ]; then
	ok "--snapshot left the image untouched"
else
	ko "--snapshot changed the image"
fi
if ls /var/tmp/imgtool-snapshot.* >/dev/null 2>&1 &&
	[ -n "$(find /var/tmp -maxdepth 1 -name 'imgtool-snapshot.*' -newer "$dir/guest.vmdk")" ]; then
	ko "--snapshot left its overlay behind"
else
	ok "--snapshot overlay removed"
fi

# a truncated image: no marker, nonzero exit within the timeout, the console tail
cp "$dir/guest.qcow2" "$dir/broken.qcow2"
truncate -s 1M "$dir/broken.qcow2"
t0=$(date +%s)
"$IMGTOOL" launch -f qcow2 --bus sata --wait-for "$MARKER" --timeout 20 "$dir/broken.qcow2" \
	>"$dir/out" 2>"$dir/err"
rc=$?
el=$(($(date +%s) - t0))
if [ "$rc" -ne 0 ] && [ "$el" -le 30 ] && grep -q "last console lines" "$dir/err" &&
	grep -q "timed out" "$dir/err"; then
	ok "truncated image: exit $rc after $el s with the console tail ($(grep -v -- --- "$dir/err" | grep -v imgtool | tail -n 1 | tr -d '\r' | head -c 60))"
else
	ko "truncated image: exit $rc after $el s"
	cat "$dir/err"
fi

# Ctrl-C (SIGINT) and SIGTERM to the launcher stop the guest
for sig in INT TERM; do
	"$IMGTOOL" launch --accel tcg --bus sata --snapshot --wait-for NEVER-APPEARS --timeout 120 \
		"$dir/guest.qcow2" >/dev/null 2>"$dir/err" &
	lpid=$!
	sleep 3
	kill -"$sig" "$lpid"
	wait "$lpid"
	rc=$?
	sleep 0.5
	if [ "$rc" -ne 0 ] && ! pgrep -f -- "$dir/" >/dev/null && grep -q interrupted "$dir/err"; then
		ok "SIG$sig: launcher exit $rc, guest stopped"
	else
		ko "SIG$sig: exit $rc, left: $(pgrep -af -- "$dir/")"
	fi
done

# SIGKILL of the launcher: the guest dies with it (PR_SET_PDEATHSIG)
"$IMGTOOL" launch --accel tcg --bus sata --snapshot --wait-for NEVER-APPEARS --timeout 120 \
	"$dir/guest.qcow2" >/dev/null 2>&1 &
lpid=$!
sleep 3
kill -KILL "$lpid"
wait "$lpid" 2>/dev/null
sleep 1
if ! pgrep -f -- "$dir/guest.qcow2" >/dev/null; then
	ok "SIGKILL of the launcher: the guest died with it"
else
	ko "SIGKILL of the launcher left qemu: $(pgrep -af -- "$dir/guest.qcow2")"
fi
rm -rf /var/tmp/imgtool-snapshot.*/ 2>/dev/null   # what the SIGKILLed launcher could not remove

# ---- speed: the launcher against a hand-written qemu command, same guest ----
cp "$dir/guest.qcow2" "$dir/speed.qcow2"
hand=(qemu-system-x86_64 -machine pc,graphics=off -accel tcg -m 1024 -nodefaults -display none -serial stdio
	-drive "file=$dir/speed.qcow2,format=qcow2,if=none,id=d0,cache=none,aio=native"
	-device ahci,id=ahci0 -device ide-hd,drive=d0,bus=ahci0.0)
rounds=${LAUNCHER_RATIO_ROUNDS:-1}
best_l=
best_h=
run_hand() {
	h=$("$top/tests/launcher/handrun.py" "$MARKER" "$BOOT_TIMEOUT" "${hand[@]}")
}
run_launcher() {
	local t0 t1
	l=
	t0=$(date +%s.%N)
	"$IMGTOOL" launch --accel auto --bus sata --net none --wait-for "$MARKER" \
		--timeout "$BOOT_TIMEOUT" "$dir/speed.qcow2" >/dev/null 2>&1 || return
	t1=$(date +%s.%N)
	l=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
}
for r in $(seq 1 "$rounds"); do
	# alternate who goes first: the machine's load and caches change over time
	if [ $((r % 2)) = 1 ]; then run_hand; run_launcher; else run_launcher; run_hand; fi
	echo "  speed round $r: hand-written qemu ${h:-failed} s, imgtool launch ${l:-failed} s"
	if [ -n "$h" ] && { [ -z "$best_h" ] || awk -v a="$h" -v b="$best_h" 'BEGIN{exit !(a < b)}'; }; then best_h=$h; fi
	if [ -n "$l" ] && { [ -z "$best_l" ] || awk -v a="$l" -v b="$best_l" 'BEGIN{exit !(a < b)}'; }; then best_l=$l; fi
done
# Both must reach the marker; the time ratio is reported, not judged: timings
# belong to bench/ (a loaded machine would make a timed test flaky).
if [ -n "$best_h" ] && [ -n "$best_l" ]; then
	ratio=$(awk -v a="$best_l" -v b="$best_h" 'BEGIN{printf "%.3f", a / b}')
	ok "launcher and hand-written qemu both reach the marker"
	echo "  speed (informational, target <= 1.1): launcher $best_l s vs hand-written $best_h s: ratio $ratio"
else
	ko "speed: a run did not reach the marker"
fi

# ---- nothing left behind ----
sleep 0.5
if pgrep -f -- "$dir/" >/dev/null; then
	ko "stray qemu processes: $(pgrep -af -- "$dir/")"
else
	ok "no stray qemu processes"
fi

summary
