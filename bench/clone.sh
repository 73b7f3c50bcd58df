#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/clone.sh BUILD_DIR - stamping out VMs: N linked clones of the sysprepped
# fixture guest, each with its own hostname, by `imgtool clone --count N` (one
# libguestfs appliance for all of them) against the same work done the usual way,
# one clone after another: `qemu-img create -b TEMPLATE` + `virt-customize
# --hostname` (an appliance each).  Prints each side's wall time and CPU time
# (user + system of the whole process tree: the appliances' qemu included) and
# both ratios imgtool/peer (target in bench/README.md: <= 0.3), and the load
# average before and after.  TCG appliances are CPU-bound: on a busy machine the
# wall times follow the load, the CPU times do not.  Not a test: exits 0 unless a
# run fails.
#
# Environment: CLONES (default 10); PEER_CLONES (default CLONES): run the peer on
# that many clones only and scale its times to CLONES (each peer clone is the same
# independent work; said so in the output); CLONE_FIXTURE (a guest image; default
# fixtures/make-guest.sh's); CLONE_SYSPREP=0 skips preparing the template (imgtool
# then clones it with --force, doing the identity work on every clone).  Both
# tools run their appliances under TCG (LIBGUESTFS_BACKEND_SETTINGS=force_tcg).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
n=${CLONES:-10}
pn=${PEER_CLONES:-$n}
IMGTOOL=
for c in ${IMGTOOL_BIN:-} "$build/imgtool" "$top/$build/imgtool" "$top/build/imgtool"; do
	if [ -f "$c" ] && [ -x "$c" ]; then
		IMGTOOL=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
		break
	fi
done
[ -n "$IMGTOOL" ] || { echo "bench/clone.sh: no imgtool binary; run make first"; exit 1; }
command -v virt-customize >/dev/null || { echo "bench/clone.sh: virt-customize not found (make deps)"; exit 1; }
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg

dir=$(mktemp -d /var/tmp/imgtool-bench-clone.XXXXXX)
trap 'rm -rf "$dir"' EXIT
src=${CLONE_FIXTURE:-}
if [ -z "$src" ]; then
	src=$("$top/fixtures/make-guest.sh" | tail -n 1) || { echo "fixture failed"; exit 1; }
fi
tpl=$dir/template.qcow2
"$IMGTOOL" convert -O qcow2 "$src" "$tpl" || exit 1
force=
if [ "${CLONE_SYSPREP:-1}" = 1 ]; then
	echo "preparing the template (imgtool sysprep, not timed)..."
	"$IMGTOOL" sysprep "$tpl" >/dev/null || exit 1
else
	force=--force
fi
# timed SCRIPT - run bash -c SCRIPT; print "WALL_S CPU_S" (CPU: the whole tree's
# user + system time, as the children are reaped)
timed() {
	python3 -c 'import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.call(["bash", "-c", sys.argv[1]])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.1f %.1f" % (time.monotonic() - t, ru.ru_utime + ru.ru_stime))
sys.exit(rc)' "$1"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), cpus: $(nproc)"

mkdir "$dir/imgtool" "$dir/peer"
export IMGTOOL tpl dir n pn force
it=$(timed '"$IMGTOOL" clone $force "$tpl" "$dir/imgtool" --count "$n" --name-pattern "vm%02d" >"$dir/imgtool.log" 2>&1') ||
	{ echo "imgtool clone failed:"; tail -n 5 "$dir/imgtool.log"; exit 1; }
[ "$(grep -c '^vm[0-9]*: hostname: set to vm' "$dir/imgtool.log")" = "$n" ] ||
	{ echo "imgtool clone did not set $n hostnames"; exit 1; }
echo "imgtool: $it (wall s, CPU s)"
peer=$(timed 'for i in $(seq 1 "$pn"); do
	name=$(printf "vm%02d" "$i")
	qemu-img create -q -f qcow2 -b "$tpl" -F qcow2 "$dir/peer/$name.qcow2" || exit 1
	virt-customize -q -a "$dir/peer/$name.qcow2" --hostname "$name" >"$dir/peer.log" 2>&1 || exit 1
done') || { echo "virt-customize failed:"; tail -n 5 "$dir/peer.log"; exit 1; }
echo "peer: $peer (wall s, CPU s) for $pn clone(s)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v it="$it" -v peer="$peer" -v n="$n" -v pn="$pn" 'BEGIN {
	split(it, a, " "); split(peer, b, " ")
	pw = b[1] * n / pn; pc = b[2] * n / pn
	printf "%d linked clones with their hostnames (wall s / CPU s):\n", n
	printf "  imgtool clone --count %d (one appliance):            %8.1f / %7.1f\n", n, a[1], a[2]
	printf "  qemu-img create -b + virt-customize --hostname (x%d): %8.1f / %7.1f%s\n", n, pw, pc,
		pn != n ? sprintf(" (measured on %d, scaled)", pn) : ""
	printf "clone time ratio imgtool/peer = %.2f wall, %.2f CPU (target <= 0.3)\n",
		a[1] / pw, a[2] / pc }'
