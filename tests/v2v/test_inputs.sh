#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/v2v/test_inputs.sh BUILD_DIR - `imgtool v2v -i ova` and `-i vmx` on the
# fixtures fixtures/make-ova.sh makes from the guest (an OVA as ovftool writes it
# with SHA256 and SHA1 manifests, its OVF folder, a VM folder whose .vmx names two
# disks).  Prints "PASS name" / "FAIL name" lines (tests/v2v/run.sh counts them).
#
#   readers   the unit binary test_v2v_source reads the real fixtures
#             (IMGTOOL_V2V_FIXTURES): the OVA's disk read in place equals the guest
#             disk byte for byte, the .vmx gives two disks, one NIC, memory, vCPUs
#   ova       v2v -i ova -o local: one disk and the XML; the output disk has the
#             source's size; read back with guestfish (tests/v2v/converted.sh):
#             fstab by UUID, virtio_blk in the initramfs, open-vm-tools gone
#   vmx       v2v -i vmx -o local: the XML names two disks; the data disk, which the
#             conversion does not touch, is equal to its source (qemu-img compare);
#             the system disk read back as for ova
#   tampered  one byte of the manifest, or of the disk inside the OVA, changed:
#             refused with a message naming the file, nothing written to -os
#   garbage   a .vmx of binary garbage and an OVA that is not a tar: one error line
#
# The two conversions each start the libguestfs appliance (TCG here: about a
# minute each).
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib.sh"
case $build in /*) ;; *) build=$top/$build ;; esac
find_imgtool test_inputs "$build"
. "$here/converted.sh"
need_tools test_inputs qemu-img tar guestfish lsinitramfs
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg

pass() { ok "$1"; }
fail() { ko "$1${2:+: $2}"; }

paths=$("$top/fixtures/make-ova.sh") || { fail fixtures "make-ova.sh failed"; summary; exit 1; }
set -- $paths
ova=$1 ova_sha1=$2 vmx=$3 ovf_dir=$4
vmdir=$(dirname "$vmx")
work=$(mktemp -d /var/tmp/v2v-inputs.XXXXXX)
trap 'rm -rf "$work"' EXIT

# ---- the readers, through the unit binary ----
unit=$build/tests/unit/test_v2v_source
if [ -x "$unit" ]; then
	out=$(IMGTOOL_V2V_FIXTURES="$ova $ova_sha1 $vmx $ovf_dir" "$unit" 2>&1)
	# every test ran (the fixtures one is a SKIP without the fixtures) and none failed
	if printf '%s\n' "$out" | awk '$1 == "tests" { f = $5 } END { exit !(f == "0") }' &&
		! printf '%s\n' "$out" | grep -q '^SKIP '; then
		pass readers
	else
		printf '%s\n' "$out" | tail -n 30
		fail readers "test_v2v_source failed on the fixtures"
	fi
else
	fail readers "$unit not built (make tools)"
fi

if ! "$IMGTOOL" v2v --help >/dev/null 2>&1; then
	fail v2v "imgtool v2v does not exist yet"
	summary
	exit 1
fi

# one line "imgtool: ...NAME..." on stderr, nonzero exit, nothing in the output dir
expect_refused() { # NAME WANT-IN-MESSAGE imgtool-args...
	local name=$1 want=$2 d=$work/$1
	shift 2
	mkdir -p "$d"
	"$IMGTOOL" v2v "$@" -o local -os "$d" >"$work/$name.out" 2>"$work/$name.err"
	local rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ] && [ "$(wc -l <"$work/$name.err")" -eq 1 ] &&
		grep -q "^imgtool: .*$want" "$work/$name.err" && [ -z "$(ls -A "$d")" ]; then
		pass "$name"
	else
		fail "$name" "exit $rc, stderr: $(head -c 300 "$work/$name.err"), output dir: $(ls -A "$d" | tr '\n' ' ')"
	fi
}

# ---- tampered OVAs: refused before anything is written ----
mkdir -p "$work/t"
tar -xf "$ova" -C "$work/t"
# the first hex digit of the first line (guest.ovf's sum) changed
(cd "$work/t" && sed -i -e '1{s/= 0/= 1/;t' -e 's/= [0-9a-fA-F]/= 0/' -e '}' guest.mf &&
	tar --format=ustar -cf "$work/tampered-mf.ova" guest.ovf guest.mf guest-disk1.vmdk)
expect_refused tampered-manifest "guest.ovf" -i ova "$work/tampered-mf.ova"
cp "$ova" "$work/tampered-disk.ova"
# one byte inside the disk member (the third: after two headers and two files
# rounded up to 512 bytes, and its own header)
round512() { echo $(( ($1 + 511) / 512 * 512 )); }
off=$(( 512 + $(round512 "$(stat -c %s "$work/t/guest.ovf")") + 512 +
	$(round512 "$(stat -c %s "$work/t/guest.mf")") + 512 + 100000 ))
printf '\x5a' | dd of="$work/tampered-disk.ova" bs=1 seek="$off" conv=notrunc status=none
expect_refused tampered-disk "guest-disk1.vmdk" -i ova "$work/tampered-disk.ova"

# ---- garbage ----
head -c 5000 /dev/urandom >"$work/garbage.vmx"
expect_refused garbage-vmx "garbage.vmx" -i vmx "$work/garbage.vmx"
head -c 5000 /dev/urandom >"$work/garbage.ova"
expect_refused garbage-ova "garbage.ova" -i ova "$work/garbage.ova"

# ---- -i ova ----
disk_size() { qemu-img info --output=json "$1" | sed -n 's/.*"virtual-size": *\([0-9]*\).*/\1/p' | head -n 1; }
d=$work/ova-out
mkdir -p "$d"
if "$IMGTOOL" v2v -i ova "$ova" -o local -os "$d" >"$work/ova.log" 2>&1; then
	disks=$(ls "$d"/*-sd?.qcow2 2>/dev/null | wc -l)
	if [ "$disks" -eq 1 ] && ls "$d"/*.xml >/dev/null 2>&1 &&
		[ "$(disk_size "$d"/*-sda.qcow2)" = "$(disk_size "$vmdir/guest-disk1.vmdk")" ]; then
		pass ova
		check_converted "ova: converted system disk" "$(ls "$d"/*-sda.qcow2)" "$work"
	else
		fail ova "outputs: $(ls "$d" | tr '\n' ' ')"
	fi
else
	tail -n 5 "$work/ova.log"
	fail ova "imgtool v2v -i ova failed"
fi
rm -rf "$d"

# ---- -i vmx ----
d=$work/vmx-out
mkdir -p "$d"
if "$IMGTOOL" v2v -i vmx "$vmx" -o local -os "$d" >"$work/vmx.log" 2>&1; then
	xml=$(ls "$d"/*.xml 2>/dev/null | head -n 1)
	n=$(grep -c "<disk " "$xml" 2>/dev/null)
	sdb=$(ls "$d"/*-sdb.qcow2 2>/dev/null | head -n 1)
	if [ "${n:-0}" -eq 2 ] && [ -n "$sdb" ] &&
		qemu-img compare -q "$vmdir/guest-data.vmdk" "$sdb" &&
		[ "$(disk_size "$d"/*-sda.qcow2)" = "$(disk_size "$vmdir/guest-disk1.vmdk")" ]; then
		pass vmx
		check_converted "vmx: converted system disk" "$(ls "$d"/*-sda.qcow2)" "$work"
	else
		fail vmx "XML disks: ${n:-none}, outputs: $(ls "$d" | tr '\n' ' ')"
	fi
else
	tail -n 5 "$work/vmx.log"
	fail vmx "imgtool v2v -i vmx failed"
fi
summary
