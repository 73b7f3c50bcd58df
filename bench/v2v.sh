#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/v2v.sh [BUILD_DIR] - the whole-conversion time of `imgtool v2v` against
# Debian's virt-v2v on the same fixture guest (fixtures/make-guest.sh, a VMware-style
# Debian 12 vmdk), run one after the other on the same machine, each converting
# `-i disk X.vmdk -o local -of qcow2`.  Prints each tool's wall time, imgtool's step
# timings and "v2v time ratio imgtool/virt-v2v = R" (target <= 1.0).  A measurement,
# not a test: exits 0 unless a tool fails.  ROUNDS (default 1): each round costs two
# libguestfs appliance launches and two initramfs rebuilds (minutes under TCG).
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
IMGTOOL=$build/imgtool
ROUNDS=${ROUNDS:-1}
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
command -v virt-v2v >/dev/null || { echo "bench/v2v.sh: virt-v2v missing (make deps)" >&2; exit 1; }

fixture=$(cd "$top" && fixtures/make-guest.sh)
dir=$(mktemp -d "${BENCH_DIR:-/var/tmp}/imgtool-bench-v2v.XXXXXX")
trap 'rm -rf "$dir"' EXIT
now() { date +%s.%N; }
ti=0
tp=0
for r in $(seq "$ROUNDS"); do
	rm -rf "$dir/i" "$dir/p"
	mkdir "$dir/i" "$dir/p"
	t0=$(now)
	"$IMGTOOL" v2v -i disk "$fixture" -o local -of qcow2 -os "$dir/i" -on guest
	t1=$(now)
	virt-v2v -i disk "$fixture" -o local -of qcow2 -os "$dir/p" -on guest >"$dir/peer.log" 2>&1 ||
		{ tail -20 "$dir/peer.log" >&2; exit 1; }
	t2=$(now)
	a=$(echo "$t1 - $t0" | bc)
	b=$(echo "$t2 - $t1" | bc)
	printf 'round %d: imgtool v2v %.1f s, virt-v2v %.1f s\n' "$r" "$a" "$b"
	ti=$(echo "$ti + $a" | bc)
	tp=$(echo "$tp + $b" | bc)
done
printf 'v2v time ratio imgtool/virt-v2v = %.2f\n' "$(echo "$ti / $tp" | bc -l)"
