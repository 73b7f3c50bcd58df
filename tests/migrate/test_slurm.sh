#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/test_slurm.sh BUILD_DIR - a plan of 10 VMs (two sharing a disk)
# run by deploy/slurm/migrate.sbatch as a 3-task job array on a real one-node
# Slurm (munged, slurmctld, slurmd on 127.0.0.1 in a private network namespace,
# tests/servers/lib.sh start_slurm): every task succeeds, every VM is done exactly
# once (in exactly one shard's database), the VMs sharing a disk ran in one
# shard, each shard's report covers its own part, and --status merges all three.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${IMGTOOL_SRV_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "FAIL test_slurm: needs root (slurmd, munged)"; exit 1; }
	export SERVERS=slurm
	exec timeout -k 20 600 "$top/tests/servers/with-servers.sh" bash "$0" "$build"
fi
. "$top/tests/lib.sh"
find_imgtool test_slurm "$build"
need_tools test_slurm sbatch squeue python3 qemu-img
for s in $SERVERS_FAILED; do ko "server $s did not start"; done
[ -z "$SERVERS_FAILED" ] || exit 1

T=$(mktemp -d /tmp/imgtool-slurm.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
mkdir out state
{
	echo "defaults: {output_dir: $T/out}"
	echo "limits: {jobs: 1}"
	echo "vms:"
	for i in $(seq 1 10); do
		python3 "$top/fixtures/make-raw.py" "d$i.raw" 8M --layout mixed --seed "$i" >/dev/null
		if [ "$i" -eq 7 ]; then
			echo "  - {name: vm$i, disks: [$T/d$i.raw, $T/d2.raw]}"   # shares vm2's disk
		else
			echo "  - {name: vm$i, disks: [$T/d$i.raw]}"
		fi
	done
} >plan.yaml
export IMGTOOL
sbatch --wait --array=0-2 -o "$T/task-%a.log" "$top/deploy/slurm/migrate.sbatch" "$T/plan.yaml" "$T/state" >sbatch.out 2>&1
rc=$?
check "sbatch --wait --array=0-2: every task succeeded (exit $rc)" [ "$rc" -eq 0 ] || cat sbatch.out task-*.log
check "three shard databases" [ "$(ls state/imgtool-migrate-*-of-3.db 2>/dev/null | wc -l)" -eq 3 ]
check "every VM done exactly once, in exactly one shard" python3 - state <<'PY'
import glob, sqlite3, sys, collections
seen = collections.Counter()
where = {}
for db in sorted(glob.glob(sys.argv[1] + "/imgtool-migrate-*-of-3.db")):
    for name, status in sqlite3.connect(db).execute("select name, status from vms"):
        assert status == "done", (db, name, status)
        seen[name] += 1
        where[name] = db
assert sorted(seen) == sorted(f"vm{i}" for i in range(1, 11)), seen
assert all(n == 1 for n in seen.values()), seen
assert where["vm2"] == where["vm7"], "vm2 and vm7 share a disk but ran in different shards"
print("  shards:", {db[-11:]: sorted(n for n in where if where[n] == db) for db in set(where.values())}, file=sys.stderr)
PY
check "each shard's report covers its own part" python3 - state <<'PY'
import glob, json, sys
names = []
for f in sorted(glob.glob(sys.argv[1] + "/report-*-of-3.json")):
    r = json.load(open(f))
    names += [v["name"] for v in r["vms"]]
    assert 0 < len(r["vms"]) < 10
assert sorted(names) == sorted(f"vm{i}" for i in range(1, 11)), names
PY
"$IMGTOOL" migrate --status --state "$T/state" --report "$T/all.json" plan.yaml >status.txt
check "--status merges the shards: 10 VMs, 10 done" grep -q '^10 VMs: 10 done, 0 failed' status.txt
check "the merged report lists every VM with equal digests" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["vms"]) == 10 and all(v["status"] == "done" for v in r["vms"])
assert all(d["source_checksum"] == d["output_checksum"] for v in r["vms"] for d in v["disks"])
' all.json
check "the outputs equal their sources (qemu-img compare)" bash -c '
for i in $(seq 1 10); do qemu-img compare -q d$i.raw out/vm$i-sda.qcow2 || exit 1; done'
exit 0
