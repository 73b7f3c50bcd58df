#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/test_resume.sh BUILD_DIR - kill -9 at 20 seeded random instants
# across one plan's run, each followed by a resume: the end state and every
# digest equal an uninterrupted run's, every output passes qemu-img check (leaked
# clusters at worst), and a resumed copy never reads the source below the
# checkpoint it resumed from.  Each kill is proved to have landed while the run
# was working (the process was alive and was killed: status 137).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_resume "$build"
need_tools test_resume qemu-img python3 strace

T=$(mktemp -d /tmp/imgtool-migrate-resume.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
SEED=${MIGRATE_SEED:-4242}
RANDOM=$SEED

# six VMs, mixed formats, one disk shared by two VMs
for i in 1 2 3 4 5 6; do
	python3 "$top/fixtures/make-raw.py" "s$i.raw" $((32 + 16 * i))M --layout mixed --seed "$i" >/dev/null
done
qemu-img convert -f raw -O qcow2 s2.raw s2.qcow2
qemu-img convert -f raw -O vmdk s3.raw s3.vmdk
qemu-img convert -f raw -O vpc -o force_size=on s4.raw s4.vhd
qemu-img convert -f raw -O vhdx s5.raw s5.vhdx
plan() {   # plan OUTDIR
	cat <<PLAN
defaults: {output_dir: $1, output_format: qcow2}
limits: {jobs: 2, bandwidth_mib: 12}
vms:
  - {name: vm1, disks: [$T/s1.raw, $T/s6.raw]}
  - {name: vm2, disks: [$T/s2.qcow2]}
  - {name: vm3, disks: [$T/s3.vmdk], output_format: raw}
  - {name: vm4, disks: [$T/s4.vhd]}
  - {name: vm5, disks: [$T/s5.vhdx, $T/s6.raw]}
  - {name: vm6, disks: [$T/s6.raw]}
PLAN
}
mkdir ref run
plan "$T/ref" >ref.yaml
plan "$T/run" >run.yaml
"$IMGTOOL" migrate -q --report ref.json ref.yaml
check "uninterrupted run: exit 0" [ $? -eq 0 ]

digests() {   # the VMs' statuses and every disk's digests, from a report
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
for v in r["vms"]:
    print(v["name"], v["status"], *[(d["source"], d.get("source_checksum"), d.get("output_checksum")) for d in v["disks"]])
' "$1"
}

kills=0
landed=0
for n in $(seq 20); do
	"$IMGTOOL" migrate -q --checkpoint 4M run.yaml &
	pid=$!
	# somewhere in the first 0.1 - 1.6 s of this run
	sleep "$(printf '0.%03d' $((100 + RANDOM % 900)))"
	[ $((RANDOM % 3)) -eq 0 ] && sleep 0.6
	if kill -9 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		[ $? -eq 137 ] && landed=$((landed + 1))
		kills=$((kills + 1))
	else
		wait "$pid"
		break   # the plan finished before this kill
	fi
done
echo "  ($kills kills, $landed landed mid-run, seed $SEED)"
check "20 kills landed while the run was working ($landed)" [ "$landed" -eq 20 ]

"$IMGTOOL" migrate -q --report run.json run.yaml
check "final resume: exit 0" [ $? -eq 0 ]
check "every VM done, every digest equal to the uninterrupted run's" \
	cmp <(digests ref.json) <(digests run.json)
check "every source's digest equals its copy's" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert all(d["source_checksum"] and d["source_checksum"] == d["output_checksum"] for v in r["vms"] for d in v["disks"])
' run.json
bad=0
for f in run/*-sd?.*; do
	qemu-img check -q "$f" >/dev/null 2>&1
	rc=$?
	# 3: leaked clusters only; 63: raw, which has nothing to check
	[ $rc -eq 0 ] || [ $rc -eq 3 ] || [ $rc -eq 63 ] || { bad=1; echo "  qemu-img check $f: exit $rc"; }
	qemu-img compare -q "$f" "ref/$(basename "$f")" || { bad=1; echo "  $f differs from the reference"; }
done
check "every output passes qemu-img check and equals the reference" [ "$bad" -eq 0 ]
# one disk killed half way, then resumed under strace: the resumed run reads
# nothing below its checkpoint and reads only what is left
mkdir half
python3 "$top/fixtures/make-raw.py" big.raw 512M --layout bench >/dev/null
printf '%s\n' "defaults: {output_dir: $T/half}" 'limits: {bandwidth_mib: 100}' \
	"vms: [{name: big, disks: [$T/big.raw]}]" >half.yaml
"$IMGTOOL" migrate -q --checkpoint 8M half.yaml &
pid=$!
sleep 2
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "half-way kill landed" [ $? -eq 137 ]
ckpt=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select checkpoint from disks where status = \"copying\"").fetchone()[0])' half/imgtool-migrate.db 2>/dev/null)
check "a checkpoint was recorded mid-copy (${ckpt:-none})" [ "${ckpt:-0}" -gt 0 ]
strace -f -e trace=openat,pread64,close -o trace.log "$IMGTOOL" migrate -q --report half.json half.yaml
check "resume after the half-way kill: exit 0" [ $? -eq 0 ]
check "the resumed copy read nothing below its checkpoint" python3 - trace.log "$T/big.raw" "${ckpt:-0}" <<'PY'
import re, sys
trace, src, ckpt = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = ckpt // (2 << 20) * (2 << 20)
copy_fd, reads = None, 0
for line in open(trace):
    m = re.match(r'\d+\s+openat\(AT_FDCWD, "([^"]+)".* = (\d+)$', line)
    if m and m.group(1) == src and copy_fd is None:
        copy_fd = m.group(2)   # the copy's handle; the verification opens its own
        continue
    m = re.match(r'\d+\s+pread64\((\d+), .*, (\d+), (\d+)\) = \d+', line)
    if m and m.group(1) == copy_fd:
        if m.group(1) == copy_fd and int(m.group(3)) >= 65536 and int(m.group(3)) < start:
            sys.exit(f"read at {m.group(3)} below the resume point {start}")
        reads += 1
    if re.match(r'\d+\s+close\(' + str(copy_fd) + r'\)', line):
        break
if not reads:
    sys.exit("the copy's reads were not seen")
PY
check "the resumed copy's bytes read are only what lay past the checkpoint" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["vms"][0]["disks"][0]
assert d["resumed_from"] > 0 and d["status"] == "verified", d
' half.json
exit 0
