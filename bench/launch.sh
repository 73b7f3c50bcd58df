#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/launch.sh BUILD_DIR - the launcher's overhead: time from starting
# `imgtool launch` to the guest's marker against the same guest started by a
# hand-written qemu command (tests/launcher/handrun.py), ROUNDS rounds each
# (default 5), alternating who goes first; prints every round, the medians and
# the ratio launcher/hand (issue 6's target: <= 1.1), and the load average
# before and after (TCG boots are CPU-bound: other guests on the machine move
# both numbers).  Not a test: exits 0 unless a run fails to reach the marker.
#
# Both are timed the same way, from outside, as the wall time of the whole
# process: start, boot to the marker, stop the guest, exit.  The hand-run is
# started with the system python (/usr/bin/python3) so that a python version
# shim on PATH does not slow the baseline down; its own qemu-start-to-marker
# time is printed too.  The launcher's KVM verdict is cached per host boot
# (accel_probe.c), so a first probe is paid once before the rounds.
#
# Environment: ROUNDS (default 5), LAUNCH_FIXTURE (a guest vmdk; default
# fixtures/make-guest.sh's), LAUNCH_BUS (default sata), MARKER (default
# IMGTOOL-GUEST-READY), LAUNCH_TIMEOUT (default 300).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-5}
bus=${LAUNCH_BUS:-sata}
marker=${MARKER:-IMGTOOL-GUEST-READY}
timeout=${LAUNCH_TIMEOUT:-300}
IMGTOOL=
for c in ${IMGTOOL_BIN:-} "$build/imgtool" "$top/$build/imgtool" "$top/build/imgtool"; do
	if [ -f "$c" ] && [ -x "$c" ]; then
		IMGTOOL=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
		break
	fi
done
[ -n "$IMGTOOL" ] || { echo "bench/launch.sh: no imgtool binary; run make first"; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3

dir=$(mktemp -d /var/tmp/imgtool-bench-launch.XXXXXX)
trap 'pkill -KILL -f -- "$dir/" 2>/dev/null; rm -rf "$dir"' EXIT
vmdk=${LAUNCH_FIXTURE:-}
if [ -z "$vmdk" ]; then
	vmdk=$("$top/fixtures/make-guest.sh" | tail -n 1) || { echo "fixture failed"; exit 1; }
fi
"$IMGTOOL" convert -O qcow2 "$vmdk" "$dir/guest.qcow2" || exit 1
case $bus in
sata) dev=(-device ahci,id=ahci0 -device ide-hd,drive=d0,bus=ahci0.0) ;;
ide) dev=(-device ide-hd,drive=d0,bus=ide.0,unit=0) ;;
*) dev=(-device virtio-blk-pci,drive=d0) ;;
esac
# the hand-written command: what a person would type for the same guest
hand=(qemu-system-x86_64 -machine pc,graphics=off -accel tcg -m 1024 -nodefaults
	-display none -serial stdio
	-drive "file=$dir/guest.qcow2,format=qcow2,if=none,id=d0,cache=none,aio=native" "${dev[@]}")
# the KVM probe's verdict is cached per host boot: pay it before timing
"$IMGTOOL" launch --accel auto --print-cmdline "$dir/guest.qcow2" >/dev/null 2>&1

now() { date +%s.%N; }
lt=() ht=() hi=()
run_hand() {
	local t0 t1 inner
	t0=$(now)
	inner=$("$py" "$top/tests/launcher/handrun.py" "$marker" "$timeout" "${hand[@]}" 2>/dev/null) || return 1
	t1=$(now)
	ht+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')")
	hi+=("$inner")
}
run_launcher() {
	local t0 t1
	t0=$(now)
	"$IMGTOOL" launch --accel auto --bus "$bus" --net none --wait-for "$marker" \
		--timeout "$timeout" "$dir/guest.qcow2" >/dev/null 2>&1 || return 1
	t1=$(now)
	lt+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')")
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else printf "%.4f\n", (v[NR/2]+v[NR/2+1])/2}'; }

# the launcher's own work before qemu starts (format probe, cache and O_DIRECT
# checks, the cached KVM verdict, the command line): --print-cmdline does all of it
# and stops where qemu would be started; this does not depend on the guest's speed
pre=()
for i in $(seq 1 20); do
	t0=$(now)
	"$IMGTOOL" launch --accel auto --bus "$bus" --net none --print-cmdline "$dir/guest.qcow2" >/dev/null 2>&1
	t1=$(now)
	pre+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b - a}')")
done
echo "imgtool launch up to starting qemu (--print-cmdline, median of 20): $(median "${pre[@]}") s"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then
		run_hand || { echo "hand-run failed"; exit 1; }
		run_launcher || { echo "launcher failed"; exit 1; }
	else
		run_launcher || { echo "launcher failed"; exit 1; }
		run_hand || { echo "hand-run failed"; exit 1; }
	fi
	echo "round $r: hand-written qemu ${ht[-1]} s (qemu start to marker ${hi[-1]} s), imgtool launch ${lt[-1]} s; load $(cut -d' ' -f1 /proc/loadavg)"
done
mh=$(median "${ht[@]}")
ml=$(median "${lt[@]}")
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(per round, the hand-run's process wall minus its qemu-start-to-marker time is python's start and the guest's stop)"
echo "median of $rounds: hand-written qemu $mh s, imgtool launch $ml s, ratio $(awk -v a="$ml" -v b="$mh" 'BEGIN{printf "%.3f", a / b}') (target <= 1.1)"
