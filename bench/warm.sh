#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/warm.sh BUILD_DIR - warm against cold migration of one 2 GiB disk
# (fixtures/make-raw.py --layout bench: half data, a quarter zeros written as
# data, a quarter holes) into qcow2 with `imgtool migrate`:
#   cold: the copy (plus its verification) is the downtime: the source is stopped
#         for all of it;
#   warm: the first copy runs while the source runs, then 1% of the disk's 64 KiB
#         blocks change, a sync pass runs, --cutover: the downtime is from the
#         stop_command's success to the end of the final sync (the digest
#         verification that follows is printed too).
# Prints the cold copy time, the cold downtime (copy + verify), the warm
# downtime, its parts, and the ratio warm downtime / cold copy time (target in
# bench/README.md: <= 0.15).  The page cache is not dropped: the source of a
# running VM is warm.  Not a test: exits 0 unless a run fails.
#
# Environment: SIZE (default 2G), BENCH_DIR (default /var/tmp).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
IMGTOOL=$(cd "$top" && cd "$build" && pwd)/imgtool
[ -x "$IMGTOOL" ] || { echo "bench/warm.sh: no $IMGTOOL; run make first"; exit 1; }
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/imgtool-bench-warm.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
python3 "$top/fixtures/make-raw.py" src.raw "${SIZE:-2G}" --layout bench >/dev/null || exit 1
cat src.raw >/dev/null
mkdir cold warm
plan() {   # plan DIR WARM
	echo "defaults: {output_dir: $W/$1, format: raw}"
	echo "vms:"
	if [ "$2" = true ]; then
		echo "  - {name: vm, disks: [$W/src.raw], warm: true, sync_interval: 1, stop_command: 'true'}"
	else
		echo "  - {name: vm, disks: [$W/src.raw]}"
	fi
}
plan cold false >cold.yaml
plan warm true >warm.yaml
"$IMGTOOL" migrate -q --report cold.json cold.yaml || exit 1

"$IMGTOOL" migrate -q --report warm.json warm.yaml &
mig=$!
db=$W/warm/imgtool-migrate.db
passes() {   # passes KIND: passes of that kind done
	python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from passes where status = \"done\" and kind = ?", (sys.argv[2],)).fetchone()[0])' "$db" "$1" 2>/dev/null || echo 0
}
until [ "$(passes sync)" -ge 1 ]; do sleep 0.2; done
# the running VM writes: 1% of the 64 KiB blocks get 4 KiB of new bytes
python3 - src.raw <<'PY'
import os, random, sys
rng = random.Random(3)
n = os.path.getsize(sys.argv[1]) // 65536
with open(sys.argv[1], "r+b") as f:
    for b in rng.sample(range(n), n // 100):
        f.seek(b * 65536 + rng.randrange(0, 61440))
        f.write(rng.randbytes(4096))
PY
n=$(passes sync)
until [ "$(passes sync)" -gt "$n" ]; do sleep 0.2; done
"$IMGTOOL" migrate -q --cutover vm warm.yaml || exit 1
wait "$mig" || exit 1
qemu-img compare -q -f raw -F qcow2 src.raw warm/vm-sda.qcow2 || { echo "warm copy differs"; exit 1; }
python3 - cold.json warm.json <<'PY'
import json, sys
cold = json.load(open(sys.argv[1]))["vms"][0]
warm = json.load(open(sys.argv[2]))["vms"][0]
step = {s["name"]: s for s in cold["steps"]}
copy = step["copy sda"]["ended"] - step["copy sda"]["started"]
verify = step["verify sda"]["ended"] - step["verify sda"]["started"]
w = warm["warm"]
wsteps = {s["name"]: s for s in warm["steps"]}
final = [p for p in w["passes"] if p["kind"] == "final"][0]
wverify = wsteps["verify sda"]["ended"] - wsteps["verify sda"]["started"]
syncs = [p for p in w["passes"] if p["kind"] == "sync"]
print(f"cold: copy {copy:.2f} s, verify {verify:.2f} s, downtime {copy + verify:.2f} s")
print(f"warm: first copy {w['passes'][0]['duration']:.2f} s, {len(syncs)} sync passes "
      f"(the one after the change wrote {max(p['bytes_written'] for p in syncs) / 2**20:.1f} MiB "
      f"in {max(p['duration'] for p in syncs if p['bytes_written']) if any(p['bytes_written'] for p in syncs) else 0:.2f} s)")
print(f"warm downtime: {w['downtime']:.2f} s (final sync {final['duration']:.2f} s writing "
      f"{final['bytes_written'] / 2**20:.1f} MiB); then verify {wverify:.2f} s "
      f"(stop -> verified {wsteps['verify sda']['ended'] - w['stopped']:.2f} s)")
print(f"ratio warm downtime / cold copy: {w['downtime'] / copy:.3f} (target <= 0.15); "
      f"/ cold downtime: {w['downtime'] / (copy + verify):.3f}")
PY
