#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/security/run.sh BUILD_DIR - the reference attack suite (issue 14): images
# whose backing files, extents, parents and VMX/OVF disks point outside their
# folder, at URLs, or at rbd: names with file-writing options.
#
# Every hostile case runs the command under
#   strace -f -e trace=open,openat,connect
# and asserts: the exit code, the one-line message (naming the image and the
# reference), that no file outside the case's folder was opened or even tried
# (tracecheck.py; shared libraries and the like excepted), that no connect()
# other than AF_UNIX was attempted, and that no planted target file appeared.
# The positive cases check that legitimate images keep working: a relative
# qcow2 chain, an absolute backing file (qemu's rule), extents in the folder,
# -b with a URL-like name, --allow-ref-paths / --allow-ref-urls, and an image
# opened by file: URL resolving its backing file beside it (compare).
set -u
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool security "$BUILD"
need_tools security qemu-img qemu-io strace python3 tar
I=$IMGTOOL
here=$top/tests/security
W=$(mktemp -d /tmp/imgtool-security.XXXXXX)
trap 'rm -rf "$W"' EXIT
pass=0
fail=0
ok() { echo "PASS $*"; pass=$((pass + 1)); }
ko() { echo "FAIL $*"; fail=$((fail + 1)); }

# Files the attacks aim at, outside every case folder.
OUT=$W/outside
mkdir -p "$OUT"
head -c 1048576 /dev/urandom >"$OUT/secret.raw"
qemu-img create -q -f qcow2 "$OUT/base.qcow2" 1M
qemu-io -c 'write -P 0x5a 0 64k' "$OUT/base.qcow2" >/dev/null
qemu-img create -q -f vmdk "$OUT/parent.vmdk" 1M
RBD_LOG=$OUT/rbd.log
RBD_EVIL="rbd:rbd/x:mon_host=127.0.0.1:log_file=$RBD_LOG:log_to_file=true"

# newcase NAME: a fresh folder for one case, made the current directory
newcase() {
	C=$W/$1
	mkdir -p "$C" && cd "$C" || exit 1
}

# attack NAME RC REGEX CMD... : run CMD in the case folder under strace; assert
# its exit code, that stderr is one line matching REGEX, that it stayed in the
# folder and that the rbd log target was not created.
attack() {
	local name=$1 want=$2 regex=$3 rc bad
	shift 3
	strace -f -qq -e trace=open,openat,connect -o "$C/.trace" "$@" >"$C/.out" 2>"$C/.err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		ko "$name: exit $rc, expected $want: $(head -c 400 "$C/.err")"
		return
	fi
	# qemu-img's nesting "Could not open 'IMAGE': Could not open 'REF': why" is
	# matched as "IMAGE: Could not open 'REF': why"
	if [ "$want" -ne 0 ] && { [ "$(wc -l <"$C/.err")" -ne 1 ] ||
		! sed -E "s/^imgtool: Could not open '([^']*)': /imgtool: \1: /" "$C/.err" | grep -qE "$regex"; }; then
		ko "$name: message: $(head -c 400 "$C/.err") (expected /$regex/)"
		return
	fi
	if ! bad=$(python3 "$here/tracecheck.py" "$C/.trace" "$C"); then
		ko "$name: left its folder: $(echo "$bad" | head -n 3)"
		return
	fi
	if [ -e "$RBD_LOG" ]; then
		ko "$name: $RBD_LOG was created"
		rm -f "$RBD_LOG"
		return
	fi
	ok "$name (exit $rc)"
}

# expect NAME CMD... : a positive case, exit 0
expect() {
	local name=$1
	shift
	if "$@" >"$C/.out" 2>"$C/.err"; then ok "$name"; else ko "$name: $(head -c 400 "$C/.err")"; fi
}

# flat_vmdk FILE EXTENT_NAME: a monolithicFlat descriptor of 2048 sectors
flat_vmdk() {
	printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 2048 FLAT "%s" 0\n' "$2" >"$1"
}

URL_MSG="Could not open '.*': .* names a URL or protocol"
OUT_MSG="Could not open '.*': .* lies outside the image's folder"

# ---- VMDK extents --------------------------------------------------------------
newcase vmdk-extent-file-url
flat_vmdk a.vmdk file:/etc/passwd
attack "vmdk extent file:/etc/passwd: convert refused" 1 "^imgtool: a.vmdk: $URL_MSG" \
	"$I" convert -O raw a.vmdk out.raw
attack "vmdk extent file:/etc/passwd: info refused" 1 "a.vmdk: Could not open 'file:/etc/passwd'" \
	"$I" info a.vmdk
attack "vmdk extent file:/etc/passwd: --allow-ref-paths does not allow URLs" 1 "$URL_MSG" \
	"$I" convert --allow-ref-paths -O raw a.vmdk out.raw
[ ! -e out.raw ] || ! grep -q root: out.raw && ok "vmdk extent file:/etc/passwd: nothing of it in the output" ||
	ko "vmdk extent file:/etc/passwd: /etc/passwd copied into the output"

newcase vmdk-extent-dotdot
flat_vmdk a.vmdk ../outside/secret.raw
attack "vmdk extent ../outside/secret.raw refused" 1 "^imgtool: a.vmdk: $OUT_MSG" \
	"$I" convert -O raw a.vmdk out.raw
expect "vmdk extent ../: --allow-ref-paths allows it" "$I" convert --allow-ref-paths -O raw a.vmdk out.raw
expect "vmdk extent ../: and reads the file" cmp out.raw "$OUT/secret.raw"
attack "vmdk extent ../: the old variable no longer allows it" 1 "$OUT_MSG" \
	env IMGTOOL_VMDK_ALLOW_EXTENT_PATHS=1 "$I" info a.vmdk

newcase vmdk-extent-absolute
flat_vmdk a.vmdk "$OUT/secret.raw"
attack "vmdk extent absolute refused" 1 "^imgtool: a.vmdk: $OUT_MSG" "$I" convert -O raw a.vmdk out.raw
attack "vmdk extent absolute: check refused" 1 "$OUT_MSG" "$I" check a.vmdk
attack "vmdk extent absolute: map refused" 1 "$OUT_MSG" "$I" map a.vmdk

newcase vmdk-extent-nfs
flat_vmdk a.vmdk nfs://127.0.0.1/export/secret.raw
attack "vmdk extent nfs:// refused, no connection" 1 "$URL_MSG" "$I" info a.vmdk

newcase vmdk-extent-rbd
flat_vmdk a.vmdk "$RBD_EVIL"
attack "vmdk extent rbd: with log_file refused" 1 "$URL_MSG" "$I" info a.vmdk
attack "vmdk extent rbd: --allow-ref-urls still refuses log_file" 1 "rbd option 'log_file' is not allowed" \
	"$I" info --allow-ref-urls a.vmdk

newcase vmdk-extent-inside
qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentFlat d.vmdk 4M
qemu-io -f vmdk -c 'write -P 0x33 1M 64k' d.vmdk >/dev/null
mkdir sub && flat_vmdk sub.vmdk sub/x-flat.raw && head -c 1048576 /dev/urandom >sub/x-flat.raw
attack "vmdk extents in the folder: convert works" 0 "" "$I" convert -O raw d.vmdk out.raw
expect "vmdk extents in the folder: same data as qemu-img" qemu-img compare -f vmdk -F raw d.vmdk out.raw
attack "vmdk extent in a subfolder works" 0 "" "$I" convert -O raw sub.vmdk sub-out.raw
expect "vmdk extent in a subfolder: its data" cmp sub-out.raw sub/x-flat.raw

# ---- VMDK parents ----------------------------------------------------------------
newcase vmdk-parent-absolute
qemu-img create -q -f vmdk -b "$OUT/parent.vmdk" -F vmdk child.vmdk
grep -qa "parentFileNameHint=\"$OUT/parent.vmdk\"" child.vmdk ||
	ko "vmdk parent: qemu-img did not write the absolute hint"
attack "vmdk parentFileNameHint absolute refused" 1 "^imgtool: child.vmdk: Could not open '$OUT/parent.vmdk': parent lies outside" \
	"$I" convert -O raw child.vmdk out.raw
attack "vmdk parentFileNameHint absolute: info (no chain) works" 0 "" "$I" info child.vmdk
expect "vmdk parentFileNameHint absolute: --allow-ref-paths follows it" \
	"$I" convert --allow-ref-paths -O raw child.vmdk out.raw

newcase vmdk-parent-relative
qemu-img create -q -f vmdk p.vmdk 1M
qemu-io -f vmdk -c 'write -P 0x44 0 64k' p.vmdk >/dev/null
qemu-img create -q -f vmdk -b p.vmdk -F vmdk c.vmdk
attack "vmdk parent beside the child works" 0 "" "$I" convert -O raw c.vmdk out.raw
expect "vmdk parent beside the child: same data as qemu-img" qemu-img compare -f vmdk -F raw c.vmdk out.raw

# ---- qcow2 backing files ------------------------------------------------------------
newcase qcow2-backing-json
qemu-img create -q -f qcow2 -u -b 'json:{"driver":"raw","file":{"driver":"file","filename":"/etc/passwd"}}' -F raw t.qcow2 1M
attack "qcow2 backing json:{...} refused" 1 "^imgtool: Could not open 't.qcow2'|^imgtool: t.qcow2: Could not open 'json:" \
	"$I" convert -O raw t.qcow2 out.raw
attack "qcow2 backing json: compare refused (exit 2, as qemu-img)" 2 "Could not open 'json:" "$I" compare t.qcow2 t.qcow2

newcase qcow2-backing-nfs
qemu-img create -q -f qcow2 -u -b nfs://127.0.0.1/export/base.qcow2 -F qcow2 t.qcow2 1M
attack "qcow2 backing nfs:// refused, no connection" 1 "t.qcow2: $URL_MSG" "$I" convert -O raw t.qcow2 out.raw
attack "qcow2 backing nfs://: --untrusted refuses too" 1 "leaves the image file" \
	"$I" convert --untrusted -O raw t.qcow2 out.raw

newcase qcow2-backing-file-url
qemu-img create -q -f qcow2 -u -b "file:$OUT/base.qcow2" -F qcow2 t.qcow2 1M
attack "qcow2 backing file: refused" 1 "$URL_MSG" "$I" convert -O raw t.qcow2 out.raw
expect "qcow2 backing file: --allow-ref-urls follows it" "$I" convert --allow-ref-urls -O raw t.qcow2 out.raw
expect "qcow2 backing file: and reads the base" qemu-img compare -F raw "$OUT/base.qcow2" out.raw

newcase qcow2-backing-rbd
qemu-img create -q -f qcow2 -u -b "$RBD_EVIL" -F raw t.qcow2 1M
attack "qcow2 backing rbd: with log_file refused" 1 "$URL_MSG" "$I" info --backing-chain t.qcow2
attack "qcow2 backing rbd: --allow-ref-urls still refuses log_file" 1 "log_file' is not allowed" \
	"$I" info --allow-ref-urls --backing-chain t.qcow2

newcase qcow2-chain-relative
qemu-img create -q -f qcow2 base.qcow2 1M
qemu-io -c 'write -P 0x11 0 64k' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -c 'write -P 0x22 64k 64k' top.qcow2 >/dev/null
attack "qcow2 relative chain works" 0 "" "$I" convert -O raw top.qcow2 out.raw
expect "qcow2 relative chain: same data as qemu-img" qemu-img compare -F raw top.qcow2 out.raw

newcase qcow2-chain-absolute
qemu-img create -q -f qcow2 -b "$OUT/base.qcow2" -F qcow2 top.qcow2
expect "qcow2 absolute backing works (qemu's rule)" "$I" convert -O raw top.qcow2 out.raw
expect "qcow2 absolute backing: same data as qemu-img" qemu-img compare -F raw top.qcow2 out.raw

newcase qcow2-b-url
expect "create -b file:URL named by the user works" \
	"$I" create -f qcow2 -b "file:$OUT/base.qcow2" -F qcow2 top.qcow2
expect "rebase -u -b nfs://URL named by the user works" \
	"$I" rebase -u -b nfs://127.0.0.1/export/b.qcow2 -F qcow2 top.qcow2
expect "the URL is stored as given" sh -c "'$I' info top.qcow2 | grep -q 'backing file: nfs://127.0.0.1/export/b.qcow2'"

newcase compare-file-url
mkdir d && qemu-img create -q -f qcow2 d/base.qcow2 1M &&
	qemu-io -c 'write -P 0x11 0 64k' d/base.qcow2 >/dev/null &&
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 d/top.qcow2
qemu-img create -q -f qcow2 base.qcow2 1M       # a decoy in the current folder
expect "file: URL image resolves its backing beside it (compare)" \
	"$I" compare "$C/d/top.qcow2" "file:$C/d/top.qcow2"

# ---- VHD / VHDX parents -----------------------------------------------------------
newcase vhd-parent-absolute
python3 "$here/make-hostile.py" vhd-parent c.vhd MacX "file://localhost$OUT/secret.raw"
attack "vhd MacX parent locator absolute refused" 1 "^imgtool: c.vhd: $OUT_MSG" \
	"$I" convert -O raw c.vhd out.raw
python3 "$here/make-hostile.py" vhd-parent r.vhd W2ru '..\..\outside\secret.raw'
attack "vhd W2ru parent locator ..\\.. refused" 1 "^imgtool: r.vhd: $OUT_MSG" "$I" convert -O raw r.vhd out.raw

newcase vhd-parent-nfs
python3 "$here/make-hostile.py" vhd-parent c.vhd W2ru nfs://127.0.0.1/export/p.vhd
attack "vhd parent locator nfs:// refused, no connection" 1 "$URL_MSG" "$I" convert -O raw c.vhd out.raw
python3 "$here/make-hostile.py" vhd-parent r.vhd W2ru "$RBD_EVIL"
attack "vhd parent locator rbd: refused" 1 "$URL_MSG" "$I" info --backing-chain r.vhd

newcase vhdx-parent-absolute
python3 "$here/make-hostile.py" vhdx-parent c.vhdx "$OUT/secret.raw"
attack "vhdx parent relative_path absolute refused" 1 "^imgtool: c.vhdx: $OUT_MSG" \
	"$I" convert -O raw c.vhdx out.raw

newcase vhdx-parent-nfs
python3 "$here/make-hostile.py" vhdx-parent c.vhdx nfs://127.0.0.1/export/p.vhdx
attack "vhdx parent relative_path nfs:// refused, no connection" 1 "$URL_MSG" \
	"$I" convert -O raw c.vhdx out.raw

# ---- rbd: options from the command line ---------------------------------------------
newcase rbd-cmdline
attack "rbd: log_file on the command line refused" 1 "rbd option 'log_file' is not allowed" \
	"$I" info "$RBD_EVIL"
attack "rbd: admin_socket refused" 1 "rbd option 'admin_socket' is not allowed" \
	"$I" info "rbd:rbd/x:admin_socket=$OUT/sock"

# ---- --untrusted ----------------------------------------------------------------------
# safety CASE IMAGE WANT_RC CHECK: info --untrusted --output=json; its safety
# object lists CHECK (or is safe when CHECK is "safe")
safety() {
	local name=$1 img=$2 want=$3 check=$4 rc
	shift 4
	strace -f -qq -e trace=open,openat,connect -o "$C/.trace" \
		"$I" info --untrusted --output=json "$@" "$img" >"$C/.out" 2>"$C/.err"
	rc=$?
	if [ $rc -ne "$want" ]; then ko "$name: exit $rc, expected $want"; return; fi
	if ! python3 - "$C/.out" "$check" 2>/dev/null <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["safety"]
if sys.argv[2] == "safe":
    sys.exit(0 if s["safe"] and not s["reasons"] else 1)
sys.exit(0 if not s["safe"] and sys.argv[2] in [r["check"] for r in s["reasons"]] else 1)
EOF
	then ko "$name: safety object: $(tr -d '\n' <"$C/.out" | head -c 400)"; return; fi
	if ! python3 "$here/tracecheck.py" "$C/.trace" "$C" >/dev/null; then
		ko "$name: left its folder"; return
	fi
	ok "$name"
}
newcase untrusted
qemu-img create -q -f qcow2 clean.qcow2 1G
qemu-img create -q -f qcow2 -b clean.qcow2 -F qcow2 overlay.qcow2
qemu-img create -q -f qcow2 huge.qcow2 8T
qemu-img create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 1M
flat_vmdk evil.vmdk file:/etc/passwd
cp "$C/../vmdk-parent-absolute/child.vmdk" delta.vmdk
safety "info --untrusted: a plain qcow2 is safe (exit 0)" clean.qcow2 0 safe
safety "info --untrusted: backing file listed (exit 1)" overlay.qcow2 1 backing-file
safety "info --untrusted: vmdk parent listed" delta.vmdk 1 backing-file
safety "info --untrusted: extent file: refused" evil.vmdk 1 extent
safety "info --untrusted: even an extent in the folder leaves the image file" flat.vmdk 1 extent
safety "info --untrusted: 8 TiB over the default virtual-size cap" huge.qcow2 1 virtual-size
safety "info --untrusted: --max-virtual-size raises the cap" huge.qcow2 0 safe --max-virtual-size=8T
safety "info --untrusted: --max-metadata-size caps the L1 table" huge.qcow2 1 metadata-size \
	--max-virtual-size=8T --max-metadata-size=4k
# 1 MiB grains: the most any VMDK may have (formats/vmdk/vmdk.h), under the default
# --untrusted inflate cap (2 MiB), over a lowered one
python3 "$here/make-hostile.py" vmdk-stream-grain bigrain.vmdk 2048
safety "info --untrusted: 1 MiB compressed grains over a 512K inflate cap" bigrain.vmdk 1 inflate-size --max-inflate-size=512K
safety "info --untrusted: 1 MiB compressed grains within the default cap" bigrain.vmdk 0 safe
attack "convert --untrusted refuses a relative backing file" 1 "overlay.qcow2: Could not open 'clean.qcow2': backing file leaves the image file" \
	"$I" convert --untrusted -O raw overlay.qcow2 out.raw
attack "convert --untrusted converts a standalone image" 0 "" "$I" convert --untrusted -O qcow2 clean.qcow2 out.qcow2
expect "info --untrusted human output says safe" sh -c "'$I' info --untrusted clean.qcow2 | grep -q '^safety: safe'"

# ---- VMX and OVA ------------------------------------------------------------------------
# vmx FILE DISK_NAME: a VM with one scsi disk
vmx() {
	printf '.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "19"\ndisplayName = "evil"\nmemsize = "512"\nnumvcpus = "1"\nguestOS = "debian11-64"\nscsi0.present = "TRUE"\nscsi0.virtualDev = "lsilogic"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "%s"\n' "$2" >"$1"
}
newcase vmx-outside
mkdir out
vmx a.vmx ../outside/secret.raw
attack "vmx fileName ../ refused" 1 "^imgtool: a.vmx: Could not open '../outside/secret.raw': disk file lies outside" \
	"$I" v2v -i vmx -o local -os out a.vmx
vmx b.vmx "$OUT/secret.raw"
attack "vmx fileName absolute refused" 1 "b.vmx: Could not open '$OUT/secret.raw': disk file lies outside" \
	"$I" v2v -i vmx -o local -os out b.vmx
vmx c.vmx nfs://127.0.0.1/export/d.vmdk
attack "vmx fileName nfs:// refused" 1 "$URL_MSG" "$I" v2v -i vmx -o local -os out c.vmx

# ova NAME VMDK_DESCRIPTOR_EXTENT: an OVA holding an .ovf and a descriptor vmdk
ova() {
	local d=$C/.ova-$1
	mkdir -p "$d"
	flat_vmdk "$d/disk1.vmdk" "$2"
	cat >"$d/evil.ovf" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="disk1.vmdk" ovf:id="file1"/></References>
  <DiskSection><Info>disks</Info>
    <Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#monolithicFlat"/>
  </DiskSection>
  <VirtualSystem ovf:id="evil"><Info>vm</Info><Name>evil</Name>
    <VirtualHardwareSection><Info>hw</Info>
      <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>
      <Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>6</rasd:ResourceType><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:Address>0</rasd:Address></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
EOF
	tar -C "$d" --format=ustar -cf "$C/$1.ova" evil.ovf disk1.vmdk
}
newcase ova
mkdir out
ova passwd file:/etc/passwd
attack "ova: vmdk extent file:/etc/passwd refused" 1 "Could not open 'file:/etc/passwd'" \
	"$I" v2v -i ova -o local -os out passwd.ova
if grep -rqs root: out; then ko "ova: /etc/passwd content in the output folder"; else ok "ova: nothing of /etc/passwd in the output folder"; fi
head -c 1048576 /dev/zero >beside-flat.vmdk
ova beside beside-flat.vmdk
attack "ova: an extent beside the archive is not followed (always untrusted)" 1 "leaves the image file" \
	"$I" v2v -i ova -o local -os out beside.ova

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
