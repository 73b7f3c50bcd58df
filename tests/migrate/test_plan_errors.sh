#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/test_plan_errors.sh BUILD_DIR - every kind of plan error is
# reported with its file:line:column, all of them in one run, exit 1, and
# nothing is written (no output file, no state).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_plan_errors "$build"
need_tools test_plan_errors qemu-img python3

T=$(mktemp -d /tmp/imgtool-migrate-err.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
mkdir out
qemu-img create -q -f raw a.raw 16M
printf 'displayName = "a"\nnot a vmx line\n' >bad.vmx
qemu-img create -q -f raw b.raw 16M

# expect NAME PLAN-TEXT LINE:COL PATTERN: --validate fails (exit 1), the error
# names plan.yaml:LINE:COL and matches PATTERN, and nothing was written
expect() {
	local name=$1 text=$2 at=$3 pat=$4 out rc
	printf '%s\n' "$text" >plan.yaml
	out=$("$IMGTOOL" migrate --validate plan.yaml 2>&1)
	rc=$?
	if [ "$rc" -ne 1 ]; then ko "$name: exit $rc, not 1 ($out)"; return; fi
	if ! grep -q "^plan.yaml:$at: .*$pat" <<<"$out"; then ko "$name: no 'plan.yaml:$at: ...$pat' in: $out"; return; fi
	if [ -n "$(ls out)" ]; then ko "$name: something was written: $(ls out)"; return; fi
	ok "$name"
}

expect "not YAML" 'vms: [ {name: a' "[12]:[0-9]*" "did not find expected"
expect "unknown top-level key" $'vms:\n  - {name: a, disks: [a.raw], output_dir: out}\nwaves: 3' "3:1" "unknown key 'waves'"
expect "unknown VM key" $'vms:\n  - name: a\n    disks: [a.raw]\n    output_dir: out\n    colour: blue' "5:5" "unknown key 'colour'"
expect "wrong type: disks is a string" $'vms:\n  - name: a\n    disks: a.raw\n    output_dir: out' "3:12" "'disks' must be a list"
expect "wrong type: quoted number" $'limits: {jobs: "4"}\nvms:\n  - {name: a, disks: [a.raw], output_dir: out}' "1:16" "'jobs' must be a number"
expect "number out of range" $'limits: {jobs: 0}\nvms:\n  - {name: a, disks: [a.raw], output_dir: out}' "1:16" "'jobs' must be a whole number from 1"
expect "unknown limit" $'limits: {jobz: 2}\nvms:\n  - {name: a, disks: [a.raw], output_dir: out}' "1:10" "unknown key 'jobz' in limits"
expect "bad mode" $'vms:\n  - {name: a, mode: p2v, disks: [a.raw], output_dir: out}' "2:21" "'mode' must be one of copy, v2v"
expect "duplicate name" $'defaults: {output_dir: out}\nvms:\n  - {name: a, disks: [a.raw]}\n  - {name: a, disks: [b.raw]}' "4:12" "duplicate VM name 'a' (first at line 3)"
expect "duplicate key" $'vms:\n  - name: a\n    name: b\n    disks: [a.raw]\n    output_dir: out' "3:5" "duplicate key 'name'"
expect "missing name" $'vms:\n  - {disks: [a.raw], output_dir: out}' "2:5" "needs a 'name'"
expect "bad name" $'vms:\n  - {name: "a/b", disks: [a.raw], output_dir: out}' "2:12" "may hold only letters"
expect "no output_dir" $'vms:\n  - {name: a, disks: [a.raw]}' "2:5" "needs an 'output_dir'"
expect "unreadable source" $'vms:\n  - {name: a, disks: [a.raw, nosuch.raw], output_dir: out}' "2:30" "cannot read source 'nosuch.raw'"
expect "unknown output format" $'vms:\n  - {name: a, disks: [a.raw], output_dir: out, output_format: qcow3}' "2:63" "unknown output_format 'qcow3'"
expect "customize in copy mode" $'vms:\n  - name: a\n    disks: [a.raw]\n    output_dir: out\n    customize: [{hostname: a}]' "5:16" "customize and sysprep need mode: v2v"
expect "unknown customize option" $'vms:\n  - name: a\n    mode: v2v\n    disks: [a.raw]\n    output_dir: out\n    customize: [{hostnam: a}]' "6:18" "unknown customize option 'hostnam'"
expect "bad sysprep operation" $'vms:\n  - name: a\n    mode: v2v\n    disks: [a.raw]\n    output_dir: out\n    sysprep: [defaults, -nosuchop]' "6:14" "nosuchop"
expect "two VMs write one output" $'vms:\n  - {name: a, disks: [a.raw], output_dir: out}\n  - {name: a, disks: [b.raw], output_dir: ./out}' "3:12" "duplicate VM name"
expect "a VM reads another's output" $'defaults: {output_dir: out}\nvms:\n  - {name: a, disks: [a.raw]}\n  - {name: b, disks: [out/a-sda.qcow2]}' "4:23" "reads out/a-sda.qcow2, which VM 'a' writes"
expect "input vmx needs mode v2v" $'vms:\n  - {name: a, input: vmx, source: a.vmx, output_dir: out}' "2:22" "input vmx needs mode: v2v"
expect "a disk converted by mode v2v is not shared" $'defaults: {output_dir: out}\nvms:\n  - {name: a, mode: v2v, disks: [a.raw]}\n  - {name: b, disks: [a.raw]}' "4:23" "a disk converted by mode v2v cannot be shared"
expect "a vmx that cannot be read" $'vms:\n  - {name: a, mode: v2v, source: bad.vmx, output_dir: out}' "2:5" "VM 'a': "
expect "mode clone needs a template" $'vms:\n  - {name: web, mode: clone, output_dir: out}' "2:5" "mode clone needs a 'template'"
expect "clone count needs a name_pattern" $'vms:\n  - {name: web, mode: clone, template: a.raw, count: 3, output_dir: out}' "2:54" "count needs a name_pattern"
expect "count is not a default" $'defaults: {count: 3}\nvms:\n  - {name: a, disks: [a.raw], output_dir: out}' "1:12" "unknown key 'count' in defaults"
expect "v2v into a URL" $'vms:\n  - {name: a, mode: v2v, disks: [a.raw], output_dir: "nfs://h/e"}' "2:54" "converts the guest in a local output_dir"
expect "JSON plan, its position" '{"vms": [{"name": "a", "disks": ["a.raw"], "output_dir": "out", "bogus": 1}]}' "1:65" "unknown key 'bogus'"
expect "alias bomb is bounded" $'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nvms: [*g]' "1:1" "more than"
expect "warm: not a boolean" $'vms:\n  - {name: a, disks: [a.raw], output_dir: out, warm: yes}' "2:54" "'warm' must be true or false"
expect "warm without stop_command" $'vms:\n  - {name: a, disks: [a.raw], output_dir: out, warm: true}' "2:54" "warm: true needs a 'stop_command'"
expect "stop_command without warm" $'vms:\n  - {name: a, disks: [a.raw], output_dir: out, stop_command: "x"}' "2:62" "'stop_command' needs warm: true"
expect "remote_imgtool without warm" $'vms:\n  - {name: a, disks: [a.raw], output_dir: out, remote_imgtool: "x"}' "2:64" "'remote_imgtool' needs warm: true"
expect "cutover_at not a time" $'vms:\n  - {name: a, disks: [a.raw], output_dir: out, warm: true, stop_command: x, cutover_at: tomorrow}' "2:89" "'cutover_at' must be a time"
expect "sync_interval out of range" $'vms:\n  - {name: a, disks: [a.raw], output_dir: out, warm: true, stop_command: x, sync_interval: 0}' "2:92" "'sync_interval' must be a whole number from 1 to 86400"
expect "a warm VM's disk shared" $'vms:\n  - {name: a, disks: [a.raw], output_dir: out, warm: true, stop_command: x}\n  - {name: b, disks: [a.raw], output_dir: out}' "3:23" "a warm VM's disks cannot be shared"

# every error at once
printf '%s\n' 'limits: {jobs: x}' 'vms:' '  - {name: a, disks: [nosuch1.raw], output_dir: out, colour: 1}' \
	'  - {name: a, disks: [nosuch2.raw], output_dir: out}' >plan.yaml
out=$("$IMGTOOL" migrate --validate plan.yaml 2>&1)
n=$(grep -c '^plan.yaml:[0-9]*:[0-9]*: ' <<<"$out")
check "four errors reported in one run ($n)" [ "$n" -ge 4 ]

# a valid plan: --validate says so and writes nothing; --dry-run prints the schedule
printf '%s\n' 'defaults: {output_dir: out}' 'vms:' '  - {name: a, disks: [a.raw, b.raw]}' '  - {name: b, disks: [b.raw]}' >plan.yaml
check "valid plan: exit 0" "$IMGTOOL" migrate --validate plan.yaml
out=$("$IMGTOOL" migrate --dry-run plan.yaml)
check "dry run: the shared disk is copied once, by a" grep -q "sda: $T/out/a-sdb.qcow2, copied once by a\|sda: out/a-sdb.qcow2, copied once by a" <<<"$out"
check "dry run and validate wrote nothing" [ -z "$(ls out)" ]
check "unknown --only name: exit 1" bash -c '"$1" migrate --only zz --dry-run plan.yaml 2>&1 | grep -q "no VM named .zz."; [ "${PIPESTATUS[0]}" -eq 1 ]' _ "$IMGTOOL"

for ex in "$top"/examples/migrate-plan.*; do
	check "the shipped example $(basename "$ex") is a valid plan" \
		sh -c "'$IMGTOOL' migrate --dry-run '$ex' >/dev/null"
done

# a 10,000-VM plan: --dry-run in bounded memory and time
python3 - <<'PY' >big.yaml
print("defaults: {output_dir: out}")
print("vms:")
for i in range(10000):
    print(f"  - {{name: vm{i:05d}, disks: [a.raw]}}" if i == 0 else f"  - {{name: vm{i:05d}, disks: [nfs://h/e/vm{i}.qcow2]}}")
PY
/usr/bin/time -f '%M %e' -o time.log "$IMGTOOL" migrate --dry-run --shard 1/3 big.yaml >big.out
read -r rss secs <time.log
check "10,000-VM dry run: RSS ${rss} KiB <= 64 MiB" [ "$rss" -le 65536 ]
check "10,000-VM dry run, shard 1/3: a third of the VMs" grep -q '^3333 VMs selected' big.out
echo "  (10,000-VM dry run: ${secs} s, ${rss} KiB)"

exit 0
