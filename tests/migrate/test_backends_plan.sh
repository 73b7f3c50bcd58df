#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/test_backends_plan.sh BUILD_DIR - a 13-VM copy plan over every
# backend, on real servers (tests/servers: nfs-ganesha, tgtd, one-node Ceph) on
# loopback in a private network namespace:
#   - sources: local raw, qcow2, vmdk, vhd, vhdx; qcow2 and raw on NFS; two iSCSI
#     LUNs; an RBD image; one disk shared by two VMs (copied once);
#   - outputs: a local folder, an NFS folder and an RBD pool;
#   - every VM done, every output's digest equal to its source's, qemu-img
#     (the oracle, reading the same URLs) finds each output equal to its source;
#   - the per-source-host limit holds at every instant (from the report's steps);
#   - an iSCSI LUN deleted mid-copy fails that VM alone, with the URL in the
#     error; once the LUN is back the same command resumes it from its
#     checkpoint and verifies it.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${IMGTOOL_SRV_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "FAIL test_backends_plan: needs root (servers on loopback)"; exit 1; }
	export ISCSI_LUN1_MB=300
	exec timeout -k 20 900 "$top/tests/servers/with-servers.sh" bash "$0" "$build"
fi
. "$top/tests/lib.sh"
find_imgtool test_backends_plan "$build"
need_tools test_backends_plan qemu-img python3 tgtadm rbd
for s in $SERVERS_FAILED; do ko "server $s did not start"; done
[ -z "$SERVERS_FAILED" ] || exit 1
export IMGTOOL_NET_TIMEOUT=10

T=$(mktemp -d /tmp/imgtool-migrate-be.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
mk() { python3 "$top/fixtures/make-raw.py" "$1" "$2" --layout mixed --seed "$3" >/dev/null; }
for i in 1 2 3 4 5 6 7; do mk "l$i.raw" $((16 + 8 * i))M "$i"; done
qemu-img convert -O qcow2 l2.raw l2.qcow2
qemu-img convert -O vmdk -o subformat=monolithicSparse l3.raw l3.vmdk
qemu-img convert -O vpc -o force_size=on l4.raw l4.vhd
qemu-img convert -O vhdx l5.raw l5.vhdx
qemu-img convert -O qcow2 l6.raw "$NFS_DIR/n1.qcow2"
cp l7.raw "$NFS_DIR/n2.raw"
mkdir -p "$NFS_DIR/out" out
mk lun.raw 16M 21
dd if=lun.raw of="$ISCSI_DIR/lun2.img" conv=notrunc status=none
mk big.raw 256M 22
dd if=big.raw of="$ISCSI_DIR/lun1.img" conv=notrunc status=none
truncate -s 300M big.raw   # the LUN's size
"$IMGTOOL" convert -O raw l1.raw rbd:rbd/src1 || ko "rbd source"
N=nfs://127.0.0.1/export
cat >plan.yaml <<PLAN
defaults: {output_dir: $T/out, output_format: qcow2}
limits: {jobs: 3, per_source_host: 2, per_target: 3}
vms:
  - {name: vm01, disks: [$T/l1.raw, $T/l2.qcow2]}
  - {name: vm02, disks: [$T/l3.vmdk]}
  - {name: vm03, disks: [$T/l4.vhd], output_format: raw}
  - {name: vm04, disks: [$T/l5.vhdx], output_dir: "$N/out"}
  - {name: vm05, disks: ["$N/n1.qcow2"]}
  - {name: vm06, disks: ["$N/n2.raw"], output_format: vmdk}
  - {name: vm07, disks: ["$ISCSI_URL/2"]}
  - {name: vm08, disks: ["rbd:rbd/src1"], output_format: vpc}
  - {name: vm09, disks: [$T/l6.raw], output_dir: "rbd:rbd", output_format: raw}
  - {name: vm10, disks: [$T/l7.raw, "$N/n1.qcow2"]}
  - {name: vm11, disks: [$T/l2.qcow2], output_format: vhdx}
  - {name: vm12, disks: [$T/l1.raw]}
  - {name: vm13, disks: [$T/l3.vmdk, $T/l4.vhd]}
PLAN
"$IMGTOOL" migrate --report r.json --report r.html plan.yaml >run.log 2>&1
rc=$?
check "13 VMs over file, NFS, iSCSI and RBD: exit 0" [ "$rc" -eq 0 ] || tail -5 run.log
check "every VM done, every digest equal to its source's" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["vms"]) == 13 and all(v["status"] == "done" for v in r["vms"]), [(v["name"], v["status"], v["error"]) for v in r["vms"]]
for v in r["vms"]:
    for d in v["disks"]:
        assert d["source_checksum"] and d["source_checksum"] == d["output_checksum"], (v["name"], d)
' r.json
check "the shared disk was copied once (vm12's sda is vm01's)" python3 -c '
import json, sys
r = {v["name"]: v for v in json.load(open(sys.argv[1]))["vms"]}
assert r["vm12"]["disks"][0]["output"] == r["vm01"]["disks"][0]["output"]
assert r["vm12"]["disks"][0]["copied_by"] == "vm01"
' r.json
# qemu-img reads every output (over its URL) and compares it with the source
bad=""
while read -r src out; do
	qemu-img compare -q "$src" "$out" 2>/dev/null || bad="$bad $out"
done < <(python3 -c '
import json, sys
for v in json.load(open(sys.argv[1]))["vms"]:
    for d in v["disks"]:
        if "copied_by" not in d:
            print(d["source"], d["output"])
' r.json)
check "qemu-img: every output equals its source${bad:+ (not:$bad)}" [ -z "$bad" ]
check "qemu-img check: the qcow2 output on NFS" qemu-img check -q "$N/out/vm04-sda.qcow2"
check "the RBD output exists as an RBD image" sh -c "rbd info rbd/vm09-sda >/dev/null"
check "per_source_host 2 held at every instant" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
ev = []
for v in r["vms"]:
    for s in v["steps"]:
        if s["name"].startswith("copy") and "copied once" not in (s["detail"] or ""):
            src = v["disks"][ord(s["name"][-1]) - ord("a")]["source"]
            host = src.split("://")[1].split("/")[0] if "://" in src else ("rbd" if src.startswith("rbd:") else "localhost")
            ev += [(s["started"], 1, host), (s["ended"], -1, host)]
busy, worst = {}, {}
for t, d, h in sorted(ev, key=lambda e: (e[0], e[1])):
    busy[h] = busy.get(h, 0) + d
    worst[h] = max(worst.get(h, 0), busy[h])
assert all(n <= 2 for n in worst.values()), (worst, sorted(ev))
print("  (most copies at once per host:", worst, ")", file=sys.stderr)
' r.json

# ---- an iSCSI LUN that vanishes mid-copy ----
mkdir out2
cat >lun.yaml <<PLAN
defaults: {output_dir: $T/out2}
limits: {jobs: 2, bandwidth_mib: 40}
vms:
  - {name: lunvm, disks: ["$ISCSI_URL/1"]}
  - {name: other, disks: [$T/l2.qcow2]}
PLAN
"$IMGTOOL" migrate --checkpoint 8M --retry 0 lun.yaml >lun.log 2>&1 &
pid=$!
sleep 3
tgtadm -C 7 --lld iscsi --op delete --mode logicalunit --tid 1 --lun 1
wait "$pid"
rc=$?
check "LUN deleted mid-copy: exit 2 (some VMs failed)" [ "$rc" -eq 2 ]
check "the error names the VM and the LUN's URL" grep -q "VM lunvm failed: .*iqn.2026-01.test:disk1" lun.log
check "the other VM is done" grep -q '^other: done' lun.log
tgtadm -C 7 --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$ISCSI_DIR/lun1.img"
"$IMGTOOL" migrate -q --checkpoint 8M --report lun.json lun.yaml
check "LUN back: the same command finishes" [ $? -eq 0 ]
check "it resumed from its checkpoint and verified the copy" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["vms"][0]["disks"][0]
assert d["status"] == "verified" and d["resumed_from"] > 0 and d["source_checksum"] == d["output_checksum"], d
' lun.json
check "qemu-img: the resumed copy equals the LUN" qemu-img compare -q big.raw out2/lunvm-sda.qcow2
exit 0
