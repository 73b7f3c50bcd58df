#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/test_failures.sh BUILD_DIR - what goes wrong in a batch stays in
# its VM and is said clearly:
#   - a second `imgtool migrate` on the same state refuses, naming the holder's
#     pid and host; once the holder is killed, the next run takes over and ends;
#   - a full target filesystem (a small loop-mounted ext4) fails that VM alone
#     with "No space left on device", exit 2, the others done; after the
#     filesystem grows, the same command finishes it, verified;
#   - a source that cannot be opened (a folder) fails its VM alone; a source
#     that vanishes mid-copy is test_backends_plan.sh's deleted iSCSI LUN.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_failures "$build"
need_tools test_failures qemu-img python3 losetup mkfs.ext4 resize2fs

T=$(mktemp -d /tmp/imgtool-migrate-fail.XXXXXX)
loopdev=
cleanup() {
	mountpoint -q "$T/small" && umount "$T/small"
	[ -n "$loopdev" ] && losetup -d "$loopdev"
	rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1

# ---- two processes on one state ----
mkdir out1
python3 "$top/fixtures/make-raw.py" a.raw 256M --layout bench >/dev/null
printf '%s\n' "defaults: {output_dir: $T/out1}" 'limits: {bandwidth_mib: 20}' \
	"vms: [{name: a, disks: [$T/a.raw]}]" >one.yaml
"$IMGTOOL" migrate -q one.yaml &
holder=$!
sleep 1
out=$("$IMGTOOL" migrate -q one.yaml 2>&1)
rc=$?
check "second process on one state: exit 1" [ "$rc" -eq 1 ]
check "second process names the holder (pid $holder, host $(hostname))" \
	grep -q "in use by imgtool migrate pid $holder on host $(hostname)" <<<"$out"
kill -9 "$holder"
wait "$holder" 2>/dev/null
check "the holder was killed while running" [ $? -eq 137 ]
sed -i 's/bandwidth_mib: 20/bandwidth_mib: 0/' one.yaml
"$IMGTOOL" migrate -q one.yaml
check "a dead holder does not block: the next run takes over and finishes" [ $? -eq 0 ]
check "its copy equals the source" qemu-img compare -q a.raw out1/a-sda.qcow2

# ---- a full target filesystem ----
truncate -s 48M small.img
mkfs.ext4 -q -F small.img
loopdev=$(losetup -f --show small.img)
mkdir small out2 state
mount "$loopdev" small
python3 "$top/fixtures/make-raw.py" big.raw 96M --seed 7 >/dev/null   # 96 MiB of data
python3 "$top/fixtures/make-raw.py" b.raw 32M --layout mixed --seed 8 >/dev/null
cat >full.yaml <<PLAN
limits: {jobs: 2}
vms:
  - {name: full, disks: [$T/big.raw], output_dir: $T/small}
  - {name: fine, disks: [$T/b.raw], output_dir: $T/out2}
  - {name: gone, disks: [$T/notadisk.raw], output_dir: $T/out2}
PLAN
mkdir notadisk.raw   # readable when the plan is checked; no disk when the VM opens it
out=$("$IMGTOOL" migrate --state "$T/state" --report full.json full.yaml 2>&1)
"$IMGTOOL" migrate --status --state "$T/state" full.yaml >status.txt
rc=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(v["name"]+"="+v["status"] for v in r["vms"]))' full.json)
check "full target: that VM failed, the others not held up ($rc)" [ "$rc" = "full=failed fine=done gone=failed" ]
check "full target: the error says no space left, naming the file" grep -q "VM full failed: .*$T/small/full-sda.qcow2.*No space left on device\|VM full failed: .*No space left on device" <<<"$out"
check "a source that cannot be opened: its VM failed naming the file" grep -q "VM gone failed: .*notadisk.raw" <<<"$out"
check "--status shows the failure" grep -q '^full .* failed' status.txt
umount small
truncate -s 256M small.img
losetup -c "$loopdev"
e2fsck -fy "$loopdev" >/dev/null 2>&1
resize2fs "$loopdev" >/dev/null 2>&1
mount "$loopdev" small
"$IMGTOOL" migrate -q --state "$T/state" --skip gone --report full2.json full.yaml
check "after the filesystem grew, the same command finishes it" [ $? -eq 0 ]
check "the finished copy equals its source" qemu-img compare -q big.raw small/full-sda.qcow2
qemu-img check -q small/full-sda.qcow2
rc=$?
check "and passes qemu-img check (exit $rc)" [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]
exit 0
