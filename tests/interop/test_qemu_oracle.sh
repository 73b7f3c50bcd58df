#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_qemu_oracle.sh BUILD_DIR - imgtool against qemu-img/qemu-io 7.2
# as the oracle (qcow2 in depth, vmdk and vpc both ways; the other test_*.sh here
# cover each format driver's own cases).
#
#   a. qemu writes, imgtool reads: qcow2 images made by qemu-img/qemu-io with every
#      option that changes the layout (compat, cluster size, refcount width, extended
#      L2, preallocation, lazy refcounts, zlib/zstd compression, backing chains, a dirty
#      image) must read back byte for byte, and info/map/check must print what
#      qemu-img prints.
#   b. imgtool writes, qemu reads: everything imgtool creates, converts or resizes must
#      pass `qemu-img check` and `qemu-img compare` against its source; measure must
#      agree with qemu-img measure.
#   c. check exit codes (0 clean, 3 leaks, 2 corruption, 63 unsupported) agree with
#      qemu-img's on damaged images, and repairs leave images qemu-img calls clean.
#   d. vmdk (every subformat) and vpc/VHD (dynamic, fixed): imgtool reads what
#      qemu-img writes, and qemu-img reads what imgtool writes.
#
# One "PASS name" / "FAIL name" line per case (a failure shows the case's log), then
# "N passed, N failed".  The qemu steps that build a case's images go through setup:
# when one fails, that is a FAIL (never an image that silently lacks its data).
# Scratch files live in a /tmp dir removed on exit.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/interop
. "$top/tests/lib.sh"
find_imgtool interop "$build"
need_tools interop qemu-img qemu-io python3 cmp

T=$(mktemp -d /tmp/imgtool-interop.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

JSONCMP="python3 $here/jsoncmp.py"
PATCH="python3 $here/qcow2patch.py"
MKRAW="python3 $top/fixtures/make-raw.py"

# expect_rc WANT CMD... - run CMD and require exit status WANT
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "'$*' exited $rc, expected $want"
		return 1
	fi
}

# qemu_ok IMG [REF] - qemu-img check is clean (exit 0) and, given REF, qemu-img
# compare finds IMG equal to it
qemu_ok() {
	qemu-img check -q "$1" || { echo "qemu-img check $1 failed:"; qemu-img check "$1"; return 1; }
	[ $# -lt 2 ] || qemu-img compare -q "$2" "$1" || { echo "qemu-img compare $2 $1 differ"; return 1; }
}

itool() {
	"$IMGTOOL" "$@"
}

# vsize_is IMG BYTES - qemu-img reports that virtual size
vsize_is() {
	qemu-img info --output=json "$1" |
		python3 -c 'import json, sys; v = json.load(sys.stdin)["virtual-size"]; print("virtual-size", v); sys.exit(v != int(sys.argv[1]))' "$2"
}

VSIZE=$((64 * 1024 * 1024 + 3 * 512))   # a partial last cluster on purpose

# A random 65521-byte pattern (a prime length, so it never lines up with clusters)
# for qemu-io's write -s, and the generated raw sources.
python3 -c 'import random,sys; sys.stdout.buffer.write(random.Random(7).randbytes(65521))' >pat.bin
$MKRAW src.raw $VSIZE --seed 1
$MKRAW src2.raw $((8 * 1024 * 1024 + 512)) --seed 2
$MKRAW small.raw 24M --seed 3

# fill IMG - scattered writes: patterns, random data at unaligned offsets, zero
# writes (zero clusters where the format has them), unmapping zero writes, discards,
# and data in the last partial cluster.
fill() {
	qemu-io -f qcow2 \
		-c "write -P 0x11 0 64k" \
		-c "write -s pat.bin 3000 200000" \
		-c "write -P 0x22 1M 1M" \
		-c "write -z 1280k 256k" \
		-c "write -P 0x33 5M 4M" \
		-c "discard 6M 1M" \
		-c "write -z -u 8M 512k" \
		-c "write -s pat.bin 12345679 777777" \
		-c "write -s pat.bin 33M 6M" \
		-c "write -z 35M 100000" \
		-c "write -P 0x5a 50331136 1536" \
		-c "write -P 0x44 $((VSIZE - 5000)) 5000" \
		"$1" >/dev/null
}

# ---------------------------------------------------------------------------
# a. qemu-img writes -> imgtool reads

# read_cases NAME IMG - imgtool's reading of IMG must match qemu-img's
read_cases() {
	local name=$1 img=$2
	setup qemu-img convert -O raw "$img" "$name.ref.raw" || return
	run_case "read $name: convert -O raw equals qemu-img's" \
		eval 'itool convert -f qcow2 -O raw "$img" "$name.out.raw" && cmp "$name.ref.raw" "$name.out.raw"'
	run_case "read $name: compare with qemu's raw" \
		expect_rc 0 itool compare -f qcow2 -F raw "$img" "$name.ref.raw"
	qemu-img info --output=json "$img" >"$name.qinfo.json"
	run_case "read $name: info --output=json" \
		eval 'itool info --output=json "$img" >"$name.info.json" && $JSONCMP info "$name.qinfo.json" "$name.info.json"'
	qemu-img map --output=json "$img" >"$name.qmap.json"
	run_case "read $name: map --output=json" \
		eval 'itool map --output=json "$img" >"$name.map.json" && $JSONCMP map "$name.qmap.json" "$name.map.json"'
	rm -f "$name.ref.raw" "$name.out.raw"
}

# check_case NAME IMG [QEMU_RC] - imgtool check exits as qemu-img check does, same
# counters; given QEMU_RC, qemu-img must exit so (the image was damaged as meant)
check_case() {
	local name=$1 img=$2 want=${3:-} qrc=0
	qemu-img check --output=json "$img" >"$name.qcheck.json" 2>/dev/null || qrc=$?
	if [ -n "$want" ] && [ "$qrc" != "$want" ]; then
		ko "check $name: qemu-img check exited $qrc, not $want: the image is not what the case needs"
		return
	fi
	run_case "check $name: exit $qrc and counters as qemu-img" \
		eval 'expect_rc $qrc itool check --output=json "$img" >"$name.check.json" && $JSONCMP check "$name.qcheck.json" "$name.check.json"'
}

echo "--- a. qemu-img writes, imgtool reads"
for spec in \
	"v2:compat=0.10" \
	"v3:compat=1.1" \
	"cs512:cluster_size=512" \
	"cs4k:cluster_size=4k" \
	"cs64k:cluster_size=64k" \
	"cs2m:cluster_size=2M" \
	"rb1:refcount_bits=1" \
	"rb16:refcount_bits=16" \
	"rb64:refcount_bits=64" \
	"extl2:extended_l2=on" \
	"extl2-cs2m:extended_l2=on,cluster_size=2M" \
	"prealloc-metadata:preallocation=metadata" \
	"lazy:lazy_refcounts=on" \
	"v2-cs4k:compat=0.10,cluster_size=4k" \
	"cs4k-rb64:cluster_size=4k,refcount_bits=64"; do
	name=${spec%%:*}
	opts=${spec#*:}
	setup qemu-img create -q -f qcow2 -o "$opts" "$name.qcow2" $VSIZE || continue
	setup fill "$name.qcow2" || continue
	read_cases "$name" "$name.qcow2"
	check_case "$name" "$name.qcow2"
done

# compressed clusters, written by qemu-img convert -c
for spec in "zlib:compression_type=zlib" "zstd:compression_type=zstd" \
	"zlib-cs4k:compression_type=zlib,cluster_size=4k" \
	"zstd-cs2m:compression_type=zstd,cluster_size=2M"; do
	name=${spec%%:*}
	setup qemu-img convert -c -f raw -O qcow2 -o "${spec#*:}" src.raw "$name.qcow2" || continue
	# and some ordinary writes over the compressed clusters
	setup qemu-io -f qcow2 -c "write -P 0x66 1M 100000" -c "write -z 3M 64k" "$name.qcow2" || continue
	read_cases "$name" "$name.qcow2"
	check_case "$name" "$name.qcow2"
done

# a 2-level backing chain: base (data) <- mid (writes) <- top (writes, zeros, discards)
if setup qemu-img convert -f raw -O qcow2 src.raw base.qcow2 &&
	setup qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 &&
	setup qemu-io -f qcow2 -c "write -P 0x77 2M 3M" -c "write -s pat.bin 20M 1234567" \
		-c "write -z 30M 1M" mid.qcow2 &&
	setup qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 &&
	setup qemu-io -f qcow2 -c "write -P 0x88 1M 2M" -c "write -z 4M 512k" -c "discard 21M 256k" \
		-c "write -s pat.bin 40000000 300000" top.qcow2; then
	read_cases chain-top top.qcow2
	read_cases chain-mid mid.qcow2
	check_case chain-top top.qcow2 0
fi

# a raw base under a qcow2 overlay that is larger than its base
setup cp --sparse=always small.raw rawbase.raw &&
	setup qemu-img create -q -f qcow2 -b rawbase.raw -F raw over.qcow2 $VSIZE &&
	setup qemu-io -f qcow2 -c "write -P 0x99 10M 20M" -c "write -z 0 64k" over.qcow2 &&
	read_cases raw-backing over.qcow2

# a dirty image (lazy refcounts, killed before close): reads must still be right
setup qemu-img create -q -f qcow2 -o lazy_refcounts=on dirty.qcow2 $VSIZE
# (in a subshell, so that the shell's "Killed" notice goes to /dev/null too)
(qemu-io -f qcow2 -c "write -s pat.bin 1M 5M" -c "write -z 7M 64k" -c "sigraise 9" \
	dirty.qcow2; true) >/dev/null 2>&1
read_cases dirty dirty.qcow2

# ---------------------------------------------------------------------------
# b. imgtool writes -> qemu-img reads

echo "--- b. imgtool writes, qemu-img reads"

# create with each option set, then fill it (convert -n) from the raw source
for opts in "" "compat=0.10" "compat=1.1" "cluster_size=512" "cluster_size=4k" \
	"cluster_size=2M" "refcount_bits=1" "refcount_bits=64" "extended_l2=on" \
	"preallocation=metadata" "preallocation=falloc" "preallocation=full" \
	"lazy_refcounts=on" "compression_type=zstd" \
	"compat=0.10,cluster_size=4k,refcount_bits=16" \
	"cluster_size=128k,extended_l2=on,refcount_bits=8"; do
	name=create${opts:+-$opts}
	f=c.qcow2
	rm -f $f
	run_case "$name: qemu-img check" \
		eval 'itool create -q -f qcow2 ${opts:+-o "$opts"} $f $VSIZE && qemu_ok $f'
	[ -f $f ] || continue
	qemu-img info --output=json $f >c.qinfo.json
	run_case "$name: info agrees with qemu-img" \
		eval 'itool info --output=json $f >c.info.json && $JSONCMP info c.qinfo.json c.info.json'
	run_case "$name: convert -n fills it, qemu-img check+compare" \
		eval 'itool convert -n -f raw -O qcow2 src.raw $f && qemu_ok $f src.raw'
done

# create with a backing file (the size comes from it)
setup qemu-img convert -f raw -O qcow2 small.raw cbase.qcow2
run_case "create -b: qemu-img check+compare with the base" \
	eval 'itool create -q -f qcow2 -b cbase.qcow2 -F qcow2 cover.qcow2 && qemu_ok cover.qcow2 cbase.qcow2'
run_case "create -b: qemu-img sees the backing file" \
	eval 'qemu-img info --output=json cover.qcow2 | grep -q "\"backing-filename\": \"cbase.qcow2\""'

# convert -O qcow2 with options
for spec in "default:" "v2:-o compat=0.10" "cs512:-o cluster_size=512" \
	"cs4k:-o cluster_size=4k" "cs2m:-o cluster_size=2M" "rb1:-o refcount_bits=1" \
	"rb64:-o refcount_bits=64" "extl2:-o extended_l2=on" \
	"prealloc-metadata:-o preallocation=metadata" "lazy:-o lazy_refcounts=on" \
	"c-zlib:-c" "c-zstd:-c -o compression_type=zstd" \
	"c-cs4k:-c -o cluster_size=4k" "c-cs2m:-c -o cluster_size=2M" \
	"S0:-S 0" "S64k:-S 64k"; do
	name=${spec%%:*}
	args=${spec#*:}
	rm -f out.qcow2
	run_case "convert raw->qcow2 $name: qemu-img check+compare" \
		eval 'itool convert -f raw -O qcow2 $args src.raw out.qcow2 && qemu_ok out.qcow2 src.raw'
	case $name in
	default|S0)
		# the same allocation as qemu-img's own conversion (zero runs skipped)
		setup qemu-img convert -f raw -O qcow2 $args src.raw qref.qcow2
		setup sh -c 'qemu-img map --output=json qref.qcow2 >qref.map.json'
		run_case "convert raw->qcow2 $name: allocation as qemu-img's" \
			eval 'qemu-img map --output=json out.qcow2 >out.map.json && $JSONCMP alloc qref.map.json out.map.json'
		rm -f qref.qcow2
		;;
	esac
	[ "$name" = S0 ] && run_case "convert raw->qcow2 S0: fully allocated" \
		$JSONCMP alldata out.map.json
	[ "$name" = default ] && cp out.qcow2 default.qcow2
done

# several sources, concatenated
cat src.raw src2.raw >concat.raw
run_case "convert two sources -> qcow2: qemu-img check+compare" \
	eval 'itool convert -f raw -O qcow2 src.raw src2.raw cat.qcow2 && qemu_ok cat.qcow2 concat.raw'
run_case "convert raw+qcow2 sources -> raw: cmp" \
	eval 'itool convert -O raw src.raw cs4k.qcow2 cat2.raw && qemu-img convert -O raw src.raw cs4k.qcow2 qcat2.raw && cmp cat2.raw qcat2.raw'
rm -f cat2.raw qcat2.raw

# -n into an existing image that already holds other data: every byte must be
# overwritten, zeros included
setup qemu-img create -q -f qcow2 dirtytarget.qcow2 $VSIZE
setup qemu-io -f qcow2 -c "write -P 0xee 0 $VSIZE" dirtytarget.qcow2
run_case "convert -n into a qcow2 full of other data: check+compare" \
	eval 'itool convert -n -f raw -O qcow2 src.raw dirtytarget.qcow2 && qemu_ok dirtytarget.qcow2 src.raw'
setup qemu-img create -q -f raw rawtarget.raw $VSIZE
setup qemu-io -f raw -c "write -P 0xee 0 $VSIZE" rawtarget.raw
run_case "convert -n into a raw file full of other data: cmp" \
	eval 'itool convert -n -f raw -O raw src.raw rawtarget.raw && cmp src.raw rawtarget.raw'

# raw -> raw (sparse like qemu-img's), qcow2 -> raw, qcow2 -> qcow2
run_case "convert raw->raw: cmp" \
	eval 'itool convert -f raw -O raw src.raw rr.raw && cmp src.raw rr.raw'
setup qemu-img convert -f raw -O raw src.raw qrr.raw
run_case "convert raw->raw: allocation as qemu-img's" \
	eval 'qemu-img map -f raw --output=json qrr.raw >qrr.json && qemu-img map -f raw --output=json rr.raw >rr.json && $JSONCMP alloc qrr.json rr.json'
rm -f rr.raw qrr.raw
run_case "convert imgtool's qcow2 -> raw: cmp with the source" \
	eval 'itool convert -f qcow2 -O raw default.qcow2 back.raw && cmp src.raw back.raw'
rm -f back.raw
run_case "convert backing chain -> qcow2 (flattened): check+compare" \
	eval 'itool convert -f qcow2 -O qcow2 top.qcow2 flat.qcow2 && qemu_ok flat.qcow2 top.qcow2 && ! qemu-img info flat.qcow2 | grep -q "^backing file"'
run_case "convert compressed qcow2 -> qcow2 -c zstd: check+compare" \
	eval 'itool convert -f qcow2 -O qcow2 -c -o compression_type=zstd zlib.qcow2 rz.qcow2 && qemu_ok rz.qcow2 zlib.qcow2'
run_case "convert qcow2 v2 -> qcow2 cluster_size=4k: check+compare" \
	eval 'itool convert -O qcow2 -o cluster_size=4k v2.qcow2 v2c.qcow2 && qemu_ok v2c.qcow2 v2.qcow2'
rm -f flat.qcow2 rz.qcow2 v2c.qcow2

# resize: grow and shrink, qcow2 and raw
cp default.qcow2 rs.qcow2
cp --sparse=always src.raw rs-ref.raw
truncate -s +16M rs-ref.raw
run_case "resize qcow2 +16M: check+compare" \
	eval 'itool resize -f qcow2 rs.qcow2 +16M && vsize_is rs.qcow2 $((VSIZE + 16 * 1024 * 1024)) && qemu_ok rs.qcow2 rs-ref.raw'
truncate -s 32M rs-ref.raw
run_case "resize qcow2 --shrink 32M: check+compare" \
	eval 'itool resize -f qcow2 --shrink rs.qcow2 32M && vsize_is rs.qcow2 33554432 && qemu_ok rs.qcow2 rs-ref.raw'
run_case "resize qcow2 shrink without --shrink: refused" \
	eval '! itool resize -f qcow2 rs.qcow2 16M && qemu_ok rs.qcow2 rs-ref.raw'
cp cs4k.qcow2 rs4k.qcow2
setup qemu-img convert -O raw cs4k.qcow2 rs4k-ref.raw
truncate -s 8G rs4k-ref.raw
run_case "resize qcow2 cluster_size=4k to 8G (L1 grows): check+compare" \
	eval 'itool resize rs4k.qcow2 8G && vsize_is rs4k.qcow2 8589934592 && qemu_ok rs4k.qcow2 rs4k-ref.raw'
rm -f rs4k.qcow2 rs4k-ref.raw
cp --sparse=always src.raw rs.raw
run_case "resize raw +1M and --shrink: size and contents" \
	eval 'itool resize -f raw rs.raw +1M && [ $(stat -c %s rs.raw) = $((VSIZE + 1048576)) ] && itool resize -f raw --shrink rs.raw 32M && [ $(stat -c %s rs.raw) = 33554432 ] && cmp rs.raw rs-ref.raw'
rm -f rs.raw rs.qcow2 rs-ref.raw

# measure: the same JSON as qemu-img measure
n=0
for args in "-O qcow2 --size 1G" "-O qcow2 --size 64M -o cluster_size=4k" \
	"-O qcow2 --size 10G -o cluster_size=2M" "-O qcow2 --size 1T -o refcount_bits=1" \
	"-O qcow2 --size 10G -o extended_l2=on" "-O qcow2 --size 10G -o preallocation=metadata" \
	"-O raw --size 1G" "-O qcow2 -f raw src.raw" "-O qcow2 -o cluster_size=512 -f raw src.raw" \
	"-O raw -f raw src.raw" "-O qcow2 -f qcow2 cs4k.qcow2" "-O qcow2 -f qcow2 top.qcow2" \
	"-O qcow2 -o cluster_size=2M -f qcow2 zlib.qcow2"; do
	n=$((n + 1))
	qemu-img measure --output=json $args >m$n.q.json
	run_case "measure $args" \
		eval 'itool measure --output=json $args >m$n.json && $JSONCMP measure m$n.q.json m$n.json'
done

# ---------------------------------------------------------------------------
# c. check: exit codes as qemu-img's on clean, leaking and corrupt images

echo "--- c. check exit codes and repair"
for spec in "rb16:" "rb1:refcount_bits=1" "rb64:refcount_bits=64" "v2:compat=0.10" \
	"cs4k:cluster_size=4k"; do
	name=${spec%%:*}
	opts=${spec#*:}
	setup qemu-img create -q -f qcow2 ${opts:+-o "$opts"} ck.qcow2 16M || continue
	setup qemu-io -f qcow2 -c "write -P 0x12 0 3M" -c "write -z 4M 1M" ck.qcow2 || continue
	check_case "$name clean" ck.qcow2 0
	setup cp ck.qcow2 leak.qcow2 || continue
	setup $PATCH leak leak.qcow2 || continue
	check_case "$name leaked cluster" leak.qcow2 3
	run_case "check $name -r leaks: repaired, qemu-img check clean" \
		eval 'expect_rc 0 itool check -q -r leaks leak.qcow2 && qemu_ok leak.qcow2 ck.qcow2'
	setup cp ck.qcow2 bad.qcow2 || continue
	setup $PATCH corrupt bad.qcow2 || continue
	check_case "$name refcount corruption" bad.qcow2 2
	run_case "check $name -r all: repaired, qemu-img check clean" \
		eval 'expect_rc 0 itool check -q -r all bad.qcow2 && qemu_ok bad.qcow2 ck.qcow2'
done
check_case "dirty image" dirty.qcow2
cp dirty.qcow2 dirty2.qcow2
run_case "check dirty image -r all: repaired, qemu-img check clean" \
	eval 'expect_rc 0 itool check -q -r all dirty2.qcow2 && qemu_ok dirty2.qcow2 dirty.qcow2'
run_case "check raw: exit 63 as qemu-img" \
	eval 'q=0; qemu-img check -f raw src.raw >/dev/null 2>&1 || q=$?; [ $q -eq 63 ] && expect_rc $q itool check -f raw src.raw'

# ---------------------------------------------------------------------------
# d. vmdk and vpc (VHD), both directions, on a smaller source

echo "--- d. vmdk and vpc"
# qemu_ok_fmt FMT IMG REF - qemu-img check passes or is not supported (63: vpc), and
# qemu-img compare finds IMG equal to REF (the format is given: a fixed VHD has no
# header at offset 0, so probing would call it raw)
qemu_ok_fmt() {
	local rc=0
	qemu-img check -q -f "$1" "$2" || rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 63 ]; then
		echo "qemu-img check $2 exited $rc"
		qemu-img check -f "$1" "$2"
		return 1
	fi
	qemu-img compare -q -F "$1" "$3" "$2" || { echo "qemu-img compare $3 $2 differ"; return 1; }
}

# read_other NAME FMT IMG - imgtool reads what qemu-img wrote
read_other() {
	local name=$1 fmt=$2 img=$3
	setup qemu-img convert -f "$fmt" -O raw "$img" "$name.ref.raw" || return
	run_case "read $name: convert -O raw equals qemu-img's" \
		eval 'itool convert -f "$fmt" -O raw "$img" "$name.out.raw" && cmp "$name.ref.raw" "$name.out.raw"'
	qemu-img info -f "$fmt" --output=json "$img" >"$name.qinfo.json"
	run_case "read $name: info --output=json" \
		eval 'itool info -f "$fmt" --output=json "$img" >"$name.info.json" && $JSONCMP info "$name.qinfo.json" "$name.info.json"'
	qemu-img map -f "$fmt" --output=json "$img" >"$name.qmap.json"
	# A disk whose data lies in other files than the one named (flat and split
	# vmdk extents): qemu's offsets point into those files and the JSON does not
	# say which, so only what reads as data or zeros is compared there (qemu also
	# calls a hole in a flat extent "data", which we report as zero only, so
	# that convert never reads it).
	local how=map
	case $name in
	vmdk-monolithicFlat|vmdk-twoGbMaxExtent*) how=readalloc ;;
	esac
	run_case "read $name: map --output=json ($how)" \
		eval 'itool map -f "$fmt" --output=json "$img" >"$name.map.json" && $JSONCMP $how "$name.qmap.json" "$name.map.json"'
	rm -f "$name.ref.raw" "$name.out.raw"
}

for sub in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat \
	streamOptimized; do
	setup qemu-img convert -f raw -O vmdk -o subformat=$sub small.raw "q-$sub.vmdk" || continue
	read_other "vmdk-$sub" vmdk "q-$sub.vmdk"
	run_case "convert raw->vmdk $sub: qemu-img check+compare" \
		eval 'itool convert -f raw -O vmdk -o subformat=$sub small.raw "i-$sub.vmdk" && qemu_ok_fmt vmdk "i-$sub.vmdk" small.raw'
done
for spec in "dynamic:subformat=dynamic" "fixed:subformat=fixed" \
	"dynamic-exact:subformat=dynamic,force_size=on" "fixed-exact:subformat=fixed,force_size=on"; do
	name=${spec%%:*}
	setup qemu-img convert -f raw -O vpc -o "${spec#*:}" small.raw "q-$name.vhd" || continue
	read_other "vpc-$name" vpc "q-$name.vhd"
	run_case "convert raw->vpc $name: qemu-img check+compare" \
		eval 'itool convert -f raw -O vpc -o "${spec#*:}" small.raw "i-$name.vhd" && qemu_ok_fmt vpc "i-$name.vhd" small.raw'
done
rm -f q-* i-*

summary
