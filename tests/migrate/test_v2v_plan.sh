#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/test_v2v_plan.sh BUILD_DIR - mode v2v in a plan, on the guest
# fixture (fixtures/make-guest.sh) and on a disk with no OS, side by side:
#   - the first run is killed (-9) while the fixture's conversion runs; the same
#     command then converts again from the verified copy without copying again
#     (the copy's step and its bytes read in the state are those of the first
#     run) and leaves no overlay behind;
#   - the disk with no OS fails its VM with v2v's error; its copy stays verified
#     and equal to its source; the other VM is done (exit 2);
#   - the report has the steps (copy, verify, convert, commit) and the digests
#     (source = copy, and the converted one); the domain XML validates;
#   - the result boots once under imgtool launch (TCG) with the hostname the
#     plan's customize gave it, printed by its first-boot command.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_v2v_plan "$build"
need_tools test_v2v_plan qemu-img python3 virt-xml-validate
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
BOOT_TIMEOUT=${V2V_BOOT_TIMEOUT:-900}

T=$(mktemp -d /var/tmp/imgtool-migrate-v2v.XXXXXX)
runner=
cleanup() {
	[ -n "$runner" ] && kill -9 "$runner" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1

fixture=$(cd "$top" && fixtures/make-guest.sh) || { ko "fixture (fixtures/make-guest.sh)"; exit 1; }
qemu-img create -q -f raw noos.raw 64M
mkdir out
cat >plan.yaml <<PLAN
defaults: {mode: v2v, output_dir: $T/out, output_format: qcow2}
limits: {jobs: 2}
vms:
  - name: mig01
    disks: [$fixture]
    sysprep: [defaults]
    customize:
      - {hostname: mig01}
      - {firstboot-command: 'echo MIGHOST=\$(cat /proc/sys/kernel/hostname) MIGEND >/dev/ttyS0'}
  - name: noos
    disks: [$T/noos.raw]
PLAN
db=out/imgtool-migrate.db
sql() { python3 -c 'import sqlite3,sys
for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join(map(str, r)))' "$db" "$1" 2>/dev/null; }

# ---- run 1, killed while the fixture's guest is being converted ----
t0=$(date +%s)
"$IMGTOOL" migrate -q plan.yaml >run1.log 2>&1 &
runner=$!
for _ in $(seq 1200); do
	[ "$(sql "select status from steps where vm = 'mig01' and step = 'convert'")" = running ] && break
	kill -0 "$runner" 2>/dev/null || break
	sleep 0.1
done
sleep 1   # inside the conversion: overlays made, the appliance starting
kill -9 "$runner"
wait "$runner" 2>/dev/null
rc=$?
runner=
check "run 1 killed during mig01's conversion (status 137)" [ "$rc" -eq 137 ]
check "run 1: the convert step was running when killed" \
	[ "$(sql "select status from steps where vm = 'mig01' and step = 'convert'")" = running ]
check "run 1: mig01's copy was verified before the conversion began" \
	[ "$(sql "select status from disks where vm = 'mig01'")" = verified ]
# (times to the millisecond: the state reads REALs back as text, 15 digits)
copy_before=$(sql "select round(started, 3), bytes_read, output_sum from disks where vm = 'mig01'")
step_before=$(sql "select started from steps where vm = 'mig01' and step = 'copy sda'")

# ---- run 2: converts again from the verified copy, nothing copied again ----
"$IMGTOOL" migrate -q --report report.json plan.yaml >run2.log 2>&1
rc=$?
echo "  (two runs: $(($(date +%s) - t0)) s)"
check "run 2: exit 2 (noos failed, mig01 done)" [ "$rc" -eq 2 ]
check "run 2: the copy was not made again (its record and step unchanged)" \
	[ "$(sql "select round(started, 3), bytes_read, output_sum from disks where vm = 'mig01'")" = "$copy_before" -a \
	  "$(sql "select started from steps where vm = 'mig01' and step = 'copy sda'")" = "$step_before" ]
check "run 2: no overlay left" [ -z "$(ls out | grep convert)" ]
check "noos failed with v2v's inspection error, named at the end" \
	grep -q "VM noos failed: .*no operating system found" run2.log
check "noos: its copy is still verified and equal to its source" \
	sh -c "[ \"\$1\" = verified ] && qemu-img compare -q -f raw -F qcow2 noos.raw out/noos-sda.qcow2" _ \
	"$(sql "select status from disks where vm = 'noos'")"
check "mig01: the domain XML validates" virt-xml-validate out/mig01.xml domain
check "mig01: the output passes qemu-img check" qemu-img check -q -f qcow2 out/mig01-sda.qcow2
check "mig01: the output has no backing file (the overlay is committed)" \
	sh -c "! qemu-img info out/mig01-sda.qcow2 | grep -q 'backing file'"
check "report: mig01 done with its steps and digests, noos failed" python3 - report.json <<'PY'
import json, sys
r = {v["name"]: v for v in json.load(open(sys.argv[1]))["vms"]}
m, n = r["mig01"], r["noos"]
steps = {s["name"]: s["status"] for s in m["steps"]}
d = m["disks"][0]
assert m["status"] == "done", m["status"]
for s in ("copy sda", "verify sda", "convert", "commit"):
    assert steps.get(s) == "done", (s, steps)
assert d["source_checksum"] == d["output_checksum"], d
assert d["converted_checksum"] and d["converted_checksum"] != d["output_checksum"], d
assert n["status"] == "failed" and n["error"], n
assert n["disks"][0]["status"] == "verified", n["disks"][0]
PY
check "the conversion's own report lists its changes" \
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["result"] == "ok" and r["changes"]' out/mig01.v2v.json

# ---- the one boot: the hostname the plan gave ----
"$IMGTOOL" launch -f qcow2 --bus virtio --snapshot --accel tcg --net none --wait-for MIGEND \
	--timeout "$BOOT_TIMEOUT" --console-log "$T/boot.log" out/mig01-sda.qcow2 >boot.out 2>&1
rc=$?
check "mig01 boots under imgtool launch (TCG) to its first-boot line" [ "$rc" -eq 0 ]
check "mig01's console says hostname mig01" grep -q "MIGHOST=mig01 MIGEND" boot.log
[ "$rc" -eq 0 ] || tail -15 boot.log | sed 's/^/  /'
echo "  (with the boot: $(($(date +%s) - t0)) s)"
summary
