#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fuzz/make-corpus.sh OUTDIR - seed corpora for the harnesses, one folder per harness
# (OUTDIR/qcow2, OUTDIR/vmdk, ... OUTDIR/nbd), made with qemu-img and qemu-io so
# that the seeds are what real tools write, not what imgtool writes:
#   qcow2  v2 and v3, 512 B .. 64 KiB clusters, zlib and zstd compressed clusters,
#          extended L2, lazy refcounts, refcount widths, a snapshot, a backing name,
#          discarded and zeroed clusters
#   vmdk   monolithicSparse, streamOptimized, a zeroed-grain delta; (flat and split
#          descriptors go to vmdk_desc)
#   vpc    dynamic and fixed; vhdx  dynamic, fixed, one whose log must be replayed
#   vdi    dynamic and static; qcow  data, a compressed cluster, a backing name;
#   qed    data and a zero cluster, a backing name (raw, no probe), need-check;
#   parallels  the current magic with data
#   raw    a few small files
#   dmg, cloop, bochs  small images from fixtures/make-{dmg,cloop,bochs}.py
#   vmdk_desc, vmx, ovf, ova, nbd: descriptors qemu-img wrote, a VMware-style .vmx,
#          an OVF in ovftool's shape, that OVF in an OVA with a manifest and a
#          stream disk, and client sessions (handshake options, then requests)
# Every image is small (virtual disks of 64 KiB .. 4 MiB): the fuzzer mutates bytes,
# and small seeds keep executions fast.
set -euo pipefail
out=${1:?usage: make-corpus.sh OUTDIR}
for t in qemu-img qemu-io python3 tar sha256sum; do
	command -v "$t" >/dev/null || { echo "make-corpus: $t missing (make deps)" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
w=$(mktemp -d /tmp/imgtool-corpus.XXXXXX)
trap 'rm -rf "$w"' EXIT
cd "$w"

io() { qemu-io -f "$1" "${@:3}" "$2" >/dev/null; }
fill() {   # fill FORMAT FILE: data, a pattern, a zeroed and a discarded range
	io "$1" "$2" -c 'write -P 0x5a 0 4k' -c 'write -P 0xa5 70k 8k' -c 'write -z 20k 4k' \
		-c 'write -P 1 200k 1k'
}

# ---- qcow2 ----
d=$out/qcow2
mkdir -p "$d"
n=0
for o in compat=0.10,cluster_size=512 compat=1.1,cluster_size=512 \
	 cluster_size=4096,refcount_bits=1 cluster_size=4096,refcount_bits=64 \
	 cluster_size=4096,lazy_refcounts=on cluster_size=16384,extended_l2=on \
	 cluster_size=65536 cluster_size=4096,compression_type=zstd; do
	n=$((n + 1))
	qemu-img create -q -f qcow2 -o "$o" q$n.qcow2 256k
	fill qcow2 q$n.qcow2
	cp q$n.qcow2 "$d/q$n.qcow2"
done
# compressed clusters, zlib and zstd
printf 'compressible text %.0s' $(seq 1 400) >text.raw
truncate -s 64k text.raw
qemu-img convert -q -c -O qcow2 -o cluster_size=4096 text.raw "$d/compressed-zlib.qcow2"
qemu-img convert -q -c -O qcow2 -o cluster_size=4096,compression_type=zstd text.raw \
	"$d/compressed-zstd.qcow2"
# a snapshot, a backing file name, a discard
qemu-img create -q -f qcow2 -o cluster_size=4096 snap.qcow2 128k
io qcow2 snap.qcow2 -c 'write -P 7 0 8k'
qemu-img snapshot -c s1 snap.qcow2
io qcow2 snap.qcow2 -c 'write -P 8 4k 8k' -c 'discard 0 4k'
cp snap.qcow2 "$d/snapshot.qcow2"
qemu-img create -q -f qcow2 -o cluster_size=4096 -b q3.qcow2 -F qcow2 top.qcow2 256k
io qcow2 top.qcow2 -c 'write -P 9 8k 4k'
cp top.qcow2 "$d/backing.qcow2"

# ---- vmdk ----
d=$out/vmdk
mkdir -p "$d"
for sub in monolithicSparse streamOptimized; do
	qemu-img create -q -f vmdk -o subformat=$sub v-$sub.vmdk 1M
	[ $sub = streamOptimized ] || fill vmdk v-$sub.vmdk
	cp v-$sub.vmdk "$d/$sub.vmdk"
done
qemu-img convert -q -O vmdk -o subformat=streamOptimized text.raw "$d/stream-data.vmdk"
qemu-img create -q -f vmdk -o zeroed_grain=on zg.vmdk 1M
io vmdk zg.vmdk -c 'write -P 3 0 64k' -c 'write -z 64k 64k'
cp zg.vmdk "$d/zeroed-grain.vmdk"

# ---- vmdk_desc: descriptors of every subformat qemu-img writes ----
d=$out/vmdk_desc
mkdir -p "$d"
for sub in monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat; do
	qemu-img create -q -f vmdk -o subformat=$sub desc-$sub.vmdk 1M
	cp desc-$sub.vmdk "$d/$sub.txt"
done
qemu-img create -q -f vmdk -b v-monolithicSparse.vmdk -F vmdk \
	-o subformat=twoGbMaxExtentSparse child.vmdk 1M
cp child.vmdk "$d/child.txt"
head -c 2048 v-monolithicSparse.vmdk | tail -c +513 | tr -d '\0' >"$d/embedded.txt"

# ---- vpc, vhdx, raw ----
d=$out/vpc
mkdir -p "$d"
qemu-img create -q -f vpc -o subformat=dynamic dyn.vhd 4M
io vpc dyn.vhd -c 'write -P 0x5a 0 4k' -c 'write -P 1 8k 1k'
cp dyn.vhd "$d/dynamic.vhd"
qemu-img create -q -f vpc -o subformat=dynamic empty.vhd 64M
cp empty.vhd "$d/empty-dynamic.vhd"
qemu-img create -q -f vpc -o subformat=fixed fixed.vhd 64k
cp fixed.vhd "$d/fixed.vhd"
d=$out/vhdx
mkdir -p "$d"
# VHDX regions are 1 MiB aligned: 4 MiB of metadata before the first block
qemu-img create -q -f vhdx -o block_size=1M,log_size=1M dyn.vhdx 2M
io vhdx dyn.vhdx -c 'write -P 0x5a 0 4k' -c 'write -P 1 8k 1k'
cp dyn.vhdx "$d/dynamic.vhdx"
qemu-img create -q -f vhdx -o block_size=1M,log_size=1M,subformat=fixed fixed.vhdx 64k
cp fixed.vhdx "$d/fixed.vhdx"
# a log to replay (fixtures/make-vhdx.py writes what qemu-img cannot)
python3 "$here/../fixtures/make-vhdx.py" vhdx-fixtures >/dev/null
cp vhdx-fixtures/log.vhdx "$d/log.vhdx"
# ---- the read-only formats: nothing in Debian writes them; the fixture scripts do
for f in dmg cloop bochs; do
	python3 "$here/../fixtures/make-$f.py" "ro-$f" >/dev/null
	mkdir -p "$out/$f"
done
cp ro-dmg/small.dmg ro-dmg/lzfse.dmg ro-dmg/bad-gap.dmg "$out/dmg/"
cp ro-cloop/small.cloop ro-cloop/bad-short.cloop "$out/cloop/"
cp ro-bochs/tiny.bochs "$out/bochs/"
# ---- vdi, qcow (v1), qed, parallels ----
d=$out/vdi
mkdir -p "$d"
qemu-img create -q -f vdi dyn.vdi 3M
io vdi dyn.vdi -c 'write -P 0x5a 0 4k' -c 'write -P 1 2M 1k'
cp dyn.vdi "$d/dynamic.vdi"
qemu-img create -q -f vdi -o static=on static.vdi 1M
cp static.vdi "$d/static.vdi"
d=$out/qcow
mkdir -p "$d"
qemu-img create -q -f qcow q1.qcow 1M
io qcow q1.qcow -c 'write -P 0x5a 0 4k' -c 'write -c -P 0xa5 64k 4k'
cp q1.qcow "$d/data-compressed.qcow"
qemu-img create -q -f qcow -b q1.qcow -F qcow q1-top.qcow 1M
io qcow q1-top.qcow -c 'write -P 1 512 512'
cp q1-top.qcow "$d/backing-name.qcow"
d=$out/qed
mkdir -p "$d"
qemu-img create -q -f qed -o cluster_size=4k e1.qed 1M
io qed e1.qed -c 'write -P 0x5a 0 4k' -c 'write -z 64k 4k'
cp e1.qed "$d/data-zero.qed"
cp e1.qed "$d/need-check.qed"   # the features byte gets need-check (a writer died)
printf '\x02' | dd of="$d/need-check.qed" bs=1 seek=16 conv=notrunc status=none
head -c 4096 text.raw >e1-base.raw
qemu-img create -q -f qed -o cluster_size=4k -b e1-base.raw -F raw e1-top.qed 1M
io qed e1-top.qed -c 'write -P 1 512 512'
cp e1-top.qed "$d/backing-name.qed"
d=$out/parallels
mkdir -p "$d"
qemu-img create -q -f parallels -o cluster_size=4k p.prl 256k
io parallels p.prl -c 'write -P 0x5a 0 4k' -c 'write -P 1 100k 1k'
cp p.prl "$d/data.prl"
d=$out/raw
mkdir -p "$d"
head -c 4096 text.raw >"$d/text.raw"
: >"$d/empty.raw"

# ---- vmx ----
d=$out/vmx
mkdir -p "$d"
cat >"$d/workstation.vmx" <<'EOF'
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "fuzz-vm"
guestOS = "debian11-64"
memsize = "768"
numvcpus = "2"
firmware = "efi"
scsi0.present = "TRUE"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "disk.vmdk"
scsi0:0.deviceType = "scsi-hardDisk"
sata0:1.present = "TRUE"
sata0:1.fileName = "data.vmdk"
nvme0:0.present = "TRUE"
nvme0:0.fileName = "fast.vmdk"
ide1:0.present = "TRUE"
ide1:0.deviceType = "cdrom-raw"
ide1:0.fileName = "auto detect"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "generated"
ethernet0.generatedAddress = "00:0c:29:3a:5b:7c"
ethernet1.present = "TRUE"
ethernet1.virtualDev = "e1000"
ethernet1.address = "00:50:56:00:00:01"
EOF

# ---- ovf, ova ----
d=$out/ovf
mkdir -p "$d"
qemu-img convert -q -O vmdk -o subformat=streamOptimized text.raw disk1.vmdk
size=$(stat -c %s disk1.vmdk)
cat >guest.ovf <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>
    <File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="$size"/>
  </References>
  <DiskSection>
    <Info>disks</Info>
    <Disk ovf:capacity="64" ovf:capacityAllocationUnits="byte * 2^10" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection><Info>nets</Info><Network ovf:name="VM Network"/></NetworkSection>
  <VirtualSystem ovf:id="fuzz-guest">
    <Info>A virtual machine</Info>
    <Name>fuzz-guest</Name>
    <VirtualHardwareSection>
      <Info>hardware</Info>
      <System><vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>
      <Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:Connection>VM Network</rasd:Connection><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
EOF
cp guest.ovf "$d/guest.ovf"
d=$out/ova
mkdir -p "$d"
echo "SHA256(guest.ovf)= $(sha256sum guest.ovf | cut -d' ' -f1)" >guest.mf
echo "SHA256(disk1.vmdk)= $(sha256sum disk1.vmdk | cut -d' ' -f1)" >>guest.mf
tar --format=ustar -cf "$d/guest.ova" guest.ovf guest.mf disk1.vmdk
tar --format=gnu -cf "$d/gnu.ova" guest.ovf guest.mf
tar --format=pax -cf "$d/pax.ova" guest.ovf

# ---- nbd: client sessions ----
python3 - "$out/nbd" <<'EOF'
import os, struct, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
OPTS = 0x49484156454f5054
def opt(o, data=b""):
    return struct.pack(">QII", OPTS, o, len(data)) + data
def req(t, off, ln, flags=0, cookie=1, payload=b""):
    return struct.pack(">IHHQQI", 0x25609513, flags, t, cookie, off, ln) + payload
def info_req(name=b""):
    return struct.pack(">I", len(name)) + name + struct.pack(">HH", 2, 3)
meta = struct.pack(">I", 0) + struct.pack(">I", 1) + struct.pack(">I", 15) + b"base:allocation"
hello = struct.pack(">I", 3)
go = opt(8) + opt(10, meta) + opt(7, info_req())
cmds = (req(1, 4096, 512, payload=b"\x5a" * 512) + req(0, 0, 8192) +
        req(6, 65536, 4096, flags=2) + req(4, 8192, 4096) + req(7, 0, 1 << 20) +
        req(5, 0, 4096) + req(3, 0, 0) + req(0, 1 << 20, 1) + req(2, 0, 0))
seeds = {
    "go-structured": hello + go + cmds,
    "go-simple": hello + opt(7, info_req()) + cmds,
    "export-name": struct.pack(">I", 1) + opt(1, b"") + cmds,
    "list-info-abort": hello + opt(3) + opt(6, info_req(b"x")) + opt(9, meta) + opt(2),
}
for k, v in seeds.items():
    open(os.path.join(d, k), "wb").write(v)
EOF
for h in "$out"/*; do
	echo "$(basename "$h"): $(ls "$h" | wc -l) seeds"
done
