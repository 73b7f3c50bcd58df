#!/usr/bin/env bash
# bench/clone.sh BUILD_DIR - stamping out VMs: N linked clones of the sysprepped
# fixture guest, each with its own hostname, by `imgtool clone --count N` (one
# libguestfs appliance for all of them) against the same work done the usual way,
# one clone after another: `qemu-img create -b TEMPLATE` + `virt-customize
# --hostname` (an appliance each).  Prints both wall times and the ratio
# imgtool/peer (target in bench/README.md: <= 0.3), and the load average before
# and after (TCG appliances are CPU-bound: other work on the machine moves both).
# Not a test: exits 0 unless a run fails.
#
# Environment: CLONES (default 10), CLONE_FIXTURE (a guest image; default
# fixtures/make-guest.sh's).  Both tools run their appliances under TCG
# (LIBGUESTFS_BACKEND_SETTINGS=force_tcg).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
n=${CLONES:-10}
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
echo "preparing the template (imgtool sysprep, not timed)..."
"$IMGTOOL" sysprep "$tpl" >/dev/null || exit 1
now() { date +%s.%N; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), cpus: $(nproc)"

mkdir "$dir/imgtool" "$dir/peer"
t0=$(now)
"$IMGTOOL" clone "$tpl" "$dir/imgtool" --count "$n" --name-pattern 'vm%02d' >"$dir/imgtool.log" 2>&1 ||
	{ echo "imgtool clone failed:"; tail -n 5 "$dir/imgtool.log"; exit 1; }
t1=$(now)
[ "$(grep -c '^vm[0-9]*: hostname: set to vm' "$dir/imgtool.log")" = "$n" ] ||
	{ echo "imgtool clone did not set $n hostnames"; exit 1; }
for i in $(seq 1 "$n"); do
	name=$(printf 'vm%02d' "$i")
	qemu-img create -q -f qcow2 -b "$tpl" -F qcow2 "$dir/peer/$name.qcow2" || exit 1
	virt-customize -q -a "$dir/peer/$name.qcow2" --hostname "$name" >"$dir/peer.log" 2>&1 ||
		{ echo "virt-customize failed:"; tail -n 5 "$dir/peer.log"; exit 1; }
done
t2=$(now)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$n" 'BEGIN {
	it = b - a; peer = c - b
	printf "%d linked clones with their hostnames:\n", n
	printf "  imgtool clone --count %d (one appliance):            %8.1f s\n", n, it
	printf "  qemu-img create -b + virt-customize --hostname (x%d): %8.1f s\n", n, peer
	printf "clone time ratio imgtool/peer = %.2f (target <= 0.3)\n", it / peer }'
