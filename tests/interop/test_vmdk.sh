#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_vmdk.sh BUILD_DIR - the vmdk format against qemu-img 7.2.
#
#   a. qemu-img writes every subformat (and zeroed_grain) from a raw source with
#      data, zeros and holes: imgtool reads it byte for byte as qemu-img does.
#   b. imgtool writes every subformat (and its create options): qemu-img check is
#      clean and qemu-img compare finds it equal to the source; info JSON agrees.
#   c. vmdk <-> qcow2 through imgtool; a delta disk made by imgtool.
#   d. fixtures/make-vmdk.py images (VMware descriptor, VMware stream layout,
#      3-level snapshot chain) read correctly; bad inputs fail with one line.
#
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/interop
. "$top/tests/lib.sh"
find_imgtool test_vmdk "$build"

T=$(mktemp -d /tmp/imgtool-vmdk.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

JSONCMP="python3 $here/jsoncmp.py"
pass=0
fail=0
log=$T/case.log

run_case() {
	local _case=$1
	shift
	if "$@" >"$log" 2>&1; then
		echo "PASS $_case"
		pass=$((pass + 1))
	else
		echo "FAIL $_case"
		sed 's/^/    /' "$log" | tail -n 20
		fail=$((fail + 1))
	fi
}

itool() { "$IMGTOOL" "$@"; }

# Sources: a mixed 72 MiB disk (unaligned data/zero/hole runs) and a sparse
# 2.2 GiB disk with data around the 2 GiB extent split.
python3 "$top/fixtures/make-raw.py" src.raw 72M --layout mixed --seed 5 || exit 1
truncate -s 2253M big.raw
for off in 0 2047 2048 2250; do
	head -c 1500000 /dev/urandom | dd of=big.raw bs=1M seek=$off conv=notrunc status=none
done
python3 "$top/fixtures/make-vmdk.py" fx || exit 1

SUBS="monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized"

src_for() { case $1 in twoGb*) echo big.raw;; *) echo src.raw;; esac; }

# a. qemu writes, imgtool reads
qemu_reads_same() {
	local sub=$1 opts=$2 src
	src=$(src_for "$sub")
	qemu-img convert -f raw -O vmdk -o "$opts" "$src" "q-$sub.vmdk" &&
	qemu-img convert -O raw "q-$sub.vmdk" "q-$sub.qraw" &&
	itool convert -O raw "q-$sub.vmdk" "q-$sub.iraw" &&
	cmp "q-$sub.qraw" "q-$sub.iraw" &&
	itool compare "$src" "q-$sub.vmdk" &&
	itool check "q-$sub.vmdk" &&
	rm -f "q-$sub.qraw" "q-$sub.iraw"
}
for sub in $SUBS; do
	run_case "qemu writes $sub, imgtool reads" qemu_reads_same $sub subformat=$sub
done

zeroed_grain() {
	qemu-img convert -f raw -O vmdk -o zeroed_grain=on src.raw zg.vmdk &&
	qemu-io -f vmdk -c 'write -z 1M 3M' -c 'write -z 20M 64k' zg.vmdk &&
	qemu-img convert -O raw zg.vmdk zg.qraw &&
	itool convert -O raw zg.vmdk zg.iraw &&
	cmp zg.qraw zg.iraw
}
run_case "qemu writes zeroed_grain, imgtool reads" zeroed_grain

info_same() {
	local f=$1
	qemu-img info --output=json "$f" >"$f.q.json" &&
	itool info --output=json "$f" >"$f.i.json" &&
	$JSONCMP info "$f.q.json" "$f.i.json" &&
	python3 - "$f.q.json" "$f.i.json" <<'EOF'
import json, sys
q = json.load(open(sys.argv[1]))["format-specific"]["data"]
i = json.load(open(sys.argv[2]))["format-specific"]["data"]
assert q == i, "format-specific differs:\n%s\n%s" % (q, i)
EOF
}
for sub in monolithicSparse streamOptimized twoGbMaxExtentSparse monolithicFlat; do
	run_case "info JSON of qemu's $sub" info_same "q-$sub.vmdk"
done

# b. imgtool writes, qemu reads
imgtool_writes() {
	local sub=$1 src
	src=$(src_for "$sub")
	itool convert -f raw -O vmdk -o "subformat=$sub" "$src" "i-$sub.vmdk" &&
	qemu-img check "i-$sub.vmdk" &&
	qemu-img compare -f raw -F vmdk "$src" "i-$sub.vmdk" &&
	itool compare "$src" "i-$sub.vmdk"
}
for sub in $SUBS; do
	run_case "imgtool writes $sub, qemu checks and compares" imgtool_writes $sub
done

stream_layout() {
	# VMware's layout: header says GD at end; footer marker, footer, EOS at the end
	python3 - i-streamOptimized.vmdk <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
ver, flags = struct.unpack_from("<II", b, 4)
gd, = struct.unpack_from("<Q", b, 56)
assert b[:4] == b"KDMV" and ver == 3 and flags == 0x30001, (ver, hex(flags))
assert gd == 0xffffffffffffffff, hex(gd)
n = len(b)
assert struct.unpack_from("<QII", b, n - 1536) == (1, 0, 3), "footer marker"
assert b[n - 1024:n - 1020] == b"KDMV", "footer"
assert b[n - 512:] == bytes(512), "EOS"
# grains in ascending LBA order
pos, last, grains = 128 * 512, -1, 0
while True:
    lba, size = struct.unpack_from("<QI", b, pos)
    if size == 0:
        break
    assert lba > last, "grain LBA %d after %d" % (lba, last)
    last = lba
    grains += 1
    pos += (12 + size + 511) // 512 * 512
assert grains > 100, grains
EOF
}
run_case "imgtool stream has VMware's layout (GD at end, ascending grains)" stream_layout

compressed_stream() {
	itool convert -c -O vmdk -o subformat=streamOptimized src.raw ic.vmdk &&
	qemu-img check ic.vmdk && qemu-img compare src.raw ic.vmdk
}
run_case "convert -c to streamOptimized" compressed_stream

create_opts() {
	itool create -f vmdk -o adapter_type=lsilogic,hwversion=7 o1.vmdk 100M &&
	head -c 2048 o1.vmdk | grep -a -q 'ddb.adapterType = "lsilogic"' &&
	head -c 2048 o1.vmdk | grep -a -q 'ddb.virtualHWVersion = "7"' &&
	head -c 2048 o1.vmdk | grep -a -q 'ddb.geometry.heads = "255"' &&
	itool create -f vmdk -o subformat=streamOptimized,adapter_type=buslogic,compat6 o2.vmdk 100M &&
	head -c 2048 o2.vmdk | grep -a -q 'ddb.virtualHWVersion = "6"' &&
	head -c 2048 o2.vmdk | grep -a -q 'encoding="UTF-8"' &&
	qemu-img check o1.vmdk && qemu-img check o2.vmdk &&
	qemu-img compare o2.vmdk o1.vmdk &&
	itool create -f vmdk -o zeroed_grain=on o3.vmdk 10M && qemu-img check o3.vmdk &&
	! itool create -f vmdk -o compat6,hwversion=7 o4.vmdk 10M &&
	! itool create -f vmdk -o adapter_type=scsi o4.vmdk 10M &&
	! itool create -f vmdk -o subformat=foo o4.vmdk 10M
}
run_case "create options (adapter_type, hwversion, compat6, zeroed_grain)" create_opts

# c. vmdk <-> qcow2, delta disks
vmdk_qcow2() {
	itool convert -O qcow2 q-monolithicSparse.vmdk a.qcow2 &&
	qemu-img compare src.raw a.qcow2 &&
	itool convert -O qcow2 q-streamOptimized.vmdk b.qcow2 &&
	qemu-img compare src.raw b.qcow2 &&
	itool convert -O vmdk -o subformat=streamOptimized a.qcow2 c.vmdk &&
	qemu-img compare src.raw c.vmdk &&
	itool convert -O vmdk b.qcow2 d.vmdk && qemu-img check d.vmdk &&
	qemu-img compare src.raw d.vmdk
}
run_case "vmdk <-> qcow2 through imgtool" vmdk_qcow2

delta() {
	itool create -f vmdk -b i-monolithicSparse.vmdk -F vmdk delta.vmdk &&
	qemu-img info delta.vmdk | grep -q 'backing file: i-monolithicSparse.vmdk' &&
	qemu-io -f vmdk -c 'write -P 0x61 5M 100k' delta.vmdk &&
	qemu-img convert -O raw delta.vmdk delta.qraw &&
	itool convert -O raw delta.vmdk delta.iraw && cmp delta.qraw delta.iraw &&
	itool convert -O raw -f raw src.raw delta.exp &&
	qemu-io -f raw -c 'write -P 0x61 5M 100k' delta.exp && cmp delta.exp delta.iraw &&
	itool convert -O vmdk delta.iraw delta2.vmdk &&
	itool compare delta.vmdk delta2.vmdk
}
run_case "delta disk (backing_file) written by imgtool, read by both" delta

# d. fixtures
fixture_reads() {
	local f=$1 exp=$2
	itool convert -O raw "fx/$f" "$f.out" && cmp "$f.out" "fx/$exp"
}
run_case "VMware descriptor (tabs, comments, CRLF, RDONLY/ZERO/NOACCESS)" \
	fixture_reads vmw-desc.vmdk vmw-desc.expected.raw
run_case "VMware stream layout (GD at end, footer)" \
	fixture_reads vmw-stream.vmdk vmw-stream.expected.raw
run_case "3-level snapshot chain flattened" \
	fixture_reads disk-000002.vmdk chain.expected.raw
chain_qcow2() {
	itool convert -O qcow2 fx/disk-000002.vmdk chain.qcow2 &&
	qemu-img compare chain.qcow2 fx/chain.expected.raw &&
	itool info --backing-chain fx/disk-000002.vmdk | grep -q 'backing file: disk-000001.vmdk'
}
run_case "snapshot chain -> qcow2, info shows the chain" chain_qcow2

# bad inputs: nonzero exit, exactly one line on stderr, no crash (signals > 128)
bad_one() {
	local f=$1 rc
	itool convert -O raw "fx/$f" bad.out 2>bad.err
	rc=$?
	[ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$(wc -l <bad.err)" -eq 1 ] &&
	grep -q "^imgtool: .*$f" bad.err || { cat bad.err; echo "rc=$rc"; return 1; }
	cat bad.err
}
for f in bad-gd-eof bad-capacity bad-grain bad-grain-huge bad-gtes bad-version bad-gt-eof \
	 bad-grain-eof bad-desc-big bad-dotdot bad-abs bad-missing bad-noextent bad-exttype \
	 bad-loop-a bad-cid bad-stream-nofooter bad-stream-marker; do
	run_case "bad input $f" bad_one $f.vmdk
done
bad_check() {
	itool check fx/bad-grain-eof.vmdk; [ $? -eq 2 ] &&
	itool check q-monolithicSparse.vmdk
}
run_case "check: grain past EOF is a corruption, qemu's image clean" bad_check
allow_paths() {
	mkdir -p sub && cp fx/vmw-f1.vmdk escape-flat.vmdk &&
	sed 's/RW 2048 FLAT "..\/escape-flat.vmdk" 0/RW 2048 FLAT "..\/escape-flat.vmdk" 0/' \
		fx/bad-dotdot.vmdk >sub/d.vmdk &&
	! itool info sub/d.vmdk 2>/dev/null &&
	! IMGTOOL_VMDK_ALLOW_EXTENT_PATHS=1 itool info sub/d.vmdk 2>/dev/null &&
	itool convert --allow-ref-paths -O raw sub/d.vmdk esc.raw &&
	cmp esc.raw fx/vmw-f1.vmdk
}
run_case "extent outside the folder only with --allow-ref-paths (not the old variable)" allow_paths

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
