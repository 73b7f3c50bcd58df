#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/migrate.sh BUILD_DIR - a batch of copy-mode disks: `imgtool migrate` with
# jobs 2 against `xargs -P 2` running `qemu-img convert` on the same list, and a
# resume after a kill at half way against a full run.  Prints both ratios (targets
# in bench/README.md: migrate/xargs <= 0.8, resume <= 0.55 of a full run) and the
# orchestrator's peak RSS.  migrate also verifies every copy (source and copy
# digests), which qemu-img convert does not: that work is inside its time.  Not a
# test: exits 0 unless a run fails.
#
# Environment: DISKS (default 50), MIN_MB / MAX_MB (default 1024 / 4096: each disk's
# size, spread evenly), ALLOC (default 30: percent of each disk holding data).
# The sources are written once (mixed raw, qcow2, vmdk, vhd, vhdx) and dropped
# from the page cache before each timed run.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
IMGTOOL=$(cd "$top" && cd "$build" && pwd)/imgtool
[ -x "$IMGTOOL" ] || { echo "bench/migrate.sh: no $IMGTOOL; run make first"; exit 1; }
n=${DISKS:-50} min=${MIN_MB:-1024} max=${MAX_MB:-4096} alloc=${ALLOC:-30}
W=$(mktemp -d /var/tmp/imgtool-bench-migrate.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
fmts=(raw qcow2 vmdk vpc vhdx)
python3 - "$n" "$min" "$max" "$alloc" <<'PY'
import os, random, sys
n, lo, hi, alloc = map(int, sys.argv[1:])
random.seed(7)
for i in range(n):
    size = (lo + (hi - lo) * i // max(1, n - 1)) << 20
    with open(f"s{i}.raw", "wb") as f:
        f.truncate(size)
        # data in 4 MiB runs, alloc percent of the disk
        runs = size * alloc // 100 // (4 << 20)
        for r in range(runs):
            f.seek(random.randrange(0, size // (4 << 20)) * (4 << 20))
            f.write(os.urandom(4 << 20))
PY
for i in $(seq 0 $((n - 1))); do
	f=${fmts[$((i % 5))]}
	if [ "$f" != raw ]; then
		qemu-img convert -f raw -O "$f" $([ "$f" = vpc ] && echo -o force_size=on) "s$i.raw" "s$i.$f"
		rm "s$i.raw"
	fi
	echo "$W/s$i.$f"
done >list
drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
plan() {   # plan DIR
	echo "defaults: {output_dir: $1}"
	echo "limits: {jobs: 2}"
	echo "vms:"
	i=0
	while read -r s; do echo "  - {name: vm$i, disks: [$s]}"; i=$((i + 1)); done <list
}
mkdir q m r
plan "$W/m" >m.yaml
plan "$W/r" >r.yaml
drop
t0=$(date +%s.%N)
xargs -P 2 -I{} sh -c 'qemu-img convert -O qcow2 "$1" "q/$(basename "$1").qcow2"' _ {} <list
tq=$(echo "$(date +%s.%N) - $t0" | bc)
drop
t0=$(date +%s.%N)
/usr/bin/time -f %M -o rss "$IMGTOOL" migrate -q m.yaml || { echo "migrate failed"; exit 1; }
tm=$(echo "$(date +%s.%N) - $t0" | bc)
drop
"$IMGTOOL" migrate -q r.yaml &
pid=$!
sleep "$(echo "$tm / 2" | bc -l)"
kill -9 "$pid"
wait "$pid" 2>/dev/null
drop
t0=$(date +%s.%N)
"$IMGTOOL" migrate -q r.yaml || { echo "resume failed"; exit 1; }
tr=$(echo "$(date +%s.%N) - $t0" | bc)
printf 'disks: %d (%d-%d MiB, %d%% data), jobs 2\n' "$n" "$min" "$max" "$alloc"
printf 'xargs -P 2 qemu-img convert: %.1f s\n' "$tq"
printf 'imgtool migrate (copy + verify): %.1f s, peak RSS %s KiB\n' "$tm" "$(cat rss)"
printf 'ratio migrate/xargs: %.2f (target <= 0.8)\n' "$(echo "$tm / $tq" | bc -l)"
printf 'resume after a kill at half way: %.1f s, %.2f of a full run (target <= 0.55)\n' \
	"$tr" "$(echo "$tr / $tm" | bc -l)"
