#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/v2v/test_p2v_net.sh BUILD_DIR - P2V of a disk a physical machine exports over
# iSCSI, ending in a real `virsh define`: the fixture guest is written raw onto a LUN
# of a real tgtd, and `imgtool v2v -i disk iscsi://127.0.0.1/IQN/1 -o libvirt -oc URI`
# converts it into a local qcow2 and defines it in a real private libvirtd (both
# started by tests/servers/with-servers.sh in a private network + mount namespace,
# stopped by PID at the end).  Proves: exit 0; the LUN is unchanged (sha256 of its
# content read back over iSCSI); qemu-img check; the report lists the fstab, grub and
# initramfs changes and the define; `virsh dumpxml` of the defined domain has the
# converted disk on virtio, the memory, the vCPUs and the NIC at PCI slot 3; undefine
# leaves the disk; the converted guest boots on virtio to its marker.  One conversion
# (the slow part: 2-3 min, plus a TCG boot); the checks libvirt makes before a
# conversion are test_libvirt.sh's.  Prints "PASS name" / "FAIL name" lines.  Root.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
case $build in /*) ;; *) build=$top/$build ;; esac
if [ -z "${IMGTOOL_SRV_NS:-}" ]; then
	# LUN 1 sized for the fixture's 2 GiB disk (sparse: only the data is stored)
	exec env SERVERS="iscsi libvirt" ISCSI_LUN1_MB=2048 timeout -k 20 3000 \
		"$top/tests/servers/with-servers.sh" bash "$0" "$build"
fi
IMGTOOL=$build/imgtool
MARKER=IMGTOOL-GUEST-READY
BOOT_TIMEOUT=${V2V_BOOT_TIMEOUT:-900}
NAME=disk1-lun1                     # v2v's name for .../iqn.2026-01.test:disk1/1
SRC=iscsi://127.0.0.1/iqn.2026-01.test:disk1/1

dir=$(mktemp -d /var/tmp/imgtool-p2v-net-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
for s in iscsi libvirt; do
	case " $SERVERS_FAILED " in *" $s "*) ko "p2v-net: the $s server starts (see the servers: lines)"; exit 1 ;; esac
done
V() { virsh -c "$LIBVIRT_URI" -q "$@"; }
# the LUN's content, read over iSCSI by qemu-img (the peer)
lun_sha() {
	rm -f "$dir/lun.raw"
	qemu-img convert -f raw -O raw "$SRC" "$dir/lun.raw" && sha256sum <"$dir/lun.raw" && rm -f "$dir/lun.raw"
}

fixture=$(cd "$top" && fixtures/make-guest.sh) || { ko "fixture (fixtures/make-guest.sh)"; exit 1; }
"$IMGTOOL" convert -n -O raw "$fixture" "$SRC" || { ko "p2v-net: the fixture written raw onto the LUN"; exit 1; }
sha_before=$(lun_sha) || { ko "p2v-net: qemu-img reads the LUN"; exit 1; }

mkdir "$dir/out"
t0=$(date +%s)
"$IMGTOOL" v2v -i disk "$SRC" -o libvirt -oc "$LIBVIRT_URI" -of qcow2 -os "$dir/out" \
	--report "$dir/report.json" >"$dir/v2v.log" 2>&1
rc=$?
sed 's/^/  /' "$dir/v2v.log"
echo "  (conversion: $(($(date +%s) - t0)) s)"
disk=$dir/out/$NAME-sda.qcow2
check "p2v-net: v2v -i disk $SRC -o libvirt (exit 0)" [ "$rc" -eq 0 ]
check "p2v-net: the LUN is unchanged (sha256 over iSCSI)" [ "$(lun_sha)" = "$sha_before" ]
check "p2v-net: output passes qemu-img check" qemu-img check -q -f qcow2 "$disk"
check "p2v-net: the XML is kept in -os" [ -s "$dir/out/$NAME.xml" ]
check "p2v-net: report lists fstab, grub, initramfs changes and the define" python3 - "$dir/report.json" "$LIBVIRT_URI" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
files = {c.get("file") or "" for c in r["changes"]}
need = ["/etc/fstab", "/boot/grub/grub.cfg"]
defined = any(c.get("what") == "libvirt domain defined at " + sys.argv[2] for c in r["changes"])
ok = r["result"] == "ok" and all(f in files for f in need) and defined and \
    any(f.startswith("/boot/initrd.img-") for f in files)
sys.exit(0 if ok else 1)
EOF

# read the domain back from libvirt
if V dumpxml "$NAME" >"$dir/dump.xml" 2>"$dir/dump.err"; then
	ok "p2v-net: virsh dumpxml $NAME (the domain is defined)"
else
	ko "p2v-net: virsh dumpxml $NAME: $(cat "$dir/dump.err")"
fi
check "p2v-net: the defined domain: disk on virtio (qcow2), 1024 MiB, 1 vCPU, virtio NIC at slot 3" \
	python3 - "$dir/dump.xml" "$(realpath "$disk")" <<'EOF'
import sys, xml.etree.ElementTree as ET
d = ET.parse(sys.argv[1]).getroot()
disks = d.findall("devices/disk")
nics = d.findall("devices/interface")
mem = d.find("memory")
problems = []
if len(disks) != 1: problems.append("%d disks" % len(disks))
else:
    k = disks[0]
    if k.find("source").get("file") != sys.argv[2]: problems.append("source " + str(k.find("source").get("file")))
    if k.find("target").get("bus") != "virtio": problems.append("bus " + str(k.find("target").get("bus")))
    if k.find("driver").get("type") != "qcow2": problems.append("format " + str(k.find("driver").get("type")))
if int(mem.text) * {"KiB": 1, "MiB": 1024}[mem.get("unit", "KiB")] != 1024 * 1024: problems.append("memory " + mem.text)
if d.find("vcpu").text.strip() != "1": problems.append("vcpu " + d.find("vcpu").text)
if len(nics) != 1: problems.append("%d NICs" % len(nics))
else:
    a = nics[0].find("address")
    if nics[0].find("model").get("type") != "virtio": problems.append("NIC model")
    if a is None or int(a.get("slot"), 16) != 3: problems.append("NIC slot " + str(a is not None and a.get("slot")))
for p in problems: print("  dumpxml:", p)
sys.exit(1 if problems else 0)
EOF
if V undefine "$NAME" >/dev/null && [ -z "$(V list --all --name)" ] && [ -f "$disk" ]; then
	ok "p2v-net: virsh undefine $NAME (the disk stays)"
else
	ko "p2v-net: virsh undefine $NAME (the disk stays)"
fi

if "$IMGTOOL" launch -f qcow2 --bus virtio --snapshot --accel tcg --wait-for "$MARKER" \
	--timeout "$BOOT_TIMEOUT" --console-log "$dir/boot.log" "$disk" >"$dir/boot.out" 2>&1; then
	ok "p2v-net: the converted guest boots on virtio to $MARKER"
	sed 's/^/  /' "$dir/boot.out"
else
	ko "p2v-net: the converted guest boots on virtio to $MARKER"
	tail -15 "$dir/boot.log" | sed 's/^/  /'
	sed 's/^/  /' "$dir/boot.out"
fi
exit 0
