#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_checksum.sh BUILD_DIR - `imgtool checksum` (convert/checksum.c).
#
# The digest must be the documented algorithm (checksum_ref.py computes it from
# the raw bytes with hashlib, reading everything) and the same for the same
# content in every format qemu-img writes, with any qcow2 options, through a
# backing chain, with any number of workers; one changed byte changes it; a hole
# is never read; bad input is one error line and exit 1 while the other files are
# still hashed.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_checksum "$build"
need_tools test_checksum qemu-img python3 strace

T=$(mktemp -d /tmp/imgtool-checksum.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
passed=0
failed=0
pass() { ok "$@"; passed=$((passed + 1)); }
fail() { ko "$@"; failed=$((failed + 1)); }
expect() { if "${@:2}"; then pass "$1"; else fail "$1"; fi; }
sum_of() { "$IMGTOOL" checksum "$@" | cut -d' ' -f1; }

# a 200 MiB disk (more than three segments, a short last one) with data, zeros
# inside data, holes and a last partial block
python3 "$top/fixtures/make-raw.py" src.raw 200M --layout mixed >/dev/null || { fail "make-raw"; }
truncate -s $((200 * 1024 * 1024 + 4096 + 512)) src.raw
printf 'tail' | dd of=src.raw bs=1 seek=$((200 * 1024 * 1024 + 4100)) conv=notrunc status=none
ref=$(python3 "$top/tests/interop/checksum_ref.py" src.raw)
expect "raw: the documented algorithm" [ "$(sum_of src.raw)" = "$ref" ]
expect "raw: one worker, same digest" [ "$(sum_of -m 1 src.raw)" = "$ref" ]
expect "raw: sixteen workers, same digest" [ "$(sum_of -m 16 src.raw)" = "$ref" ]

for spec in "qcow2:" "qcow2:cluster_size=512" "qcow2:cluster_size=2M,extended_l2=on" \
	    "qcow2:compat=0.10" "qcow2:compression_type=zstd" "vmdk:subformat=monolithicSparse" \
	    "vmdk:subformat=streamOptimized" "vmdk:subformat=twoGbMaxExtentFlat" \
	    "vpc:subformat=dynamic,force_size=on" "vpc:subformat=fixed,force_size=on" \
	    "vhdx:subformat=dynamic" "vhdx:subformat=fixed"; do
	fmt=${spec%%:*}
	opts=${spec#*:}
	out=img-$(echo "$spec" | tr ':=,' '___').$fmt
	qemu-img convert -f raw -O "$fmt" ${opts:+-o "$opts"} src.raw "$out" >/dev/null 2>&1 ||
		{ fail "qemu-img convert $spec"; continue; }
	expect "$spec written by qemu-img: same digest" [ "$(sum_of -f "$fmt" "$out")" = "$ref" ]
done
qemu-img convert -c -f raw -O qcow2 src.raw comp.qcow2
expect "compressed qcow2: same digest" [ "$(sum_of comp.qcow2)" = "$ref" ]

# a backing chain: the overlay's digest is the content seen through it
qemu-img convert -f raw -O qcow2 src.raw base.qcow2
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
expect "overlay on a base: the base's digest" [ "$(sum_of top.qcow2)" = "$ref" ]
qemu-io -c 'write -P 0x5a 64M 4k' top.qcow2 >/dev/null
cp src.raw changed.raw
printf '\x5a%.0s' $(seq 4096) | dd of=changed.raw bs=1 seek=$((64 * 1024 * 1024)) conv=notrunc status=none
ref2=$(python3 "$top/tests/interop/checksum_ref.py" changed.raw)
expect "4 KiB written in the overlay: the digest changes" [ "$ref2" != "$ref" ]
expect "4 KiB written in the overlay: the documented digest" [ "$(sum_of top.qcow2)" = "$ref2" ]

# different sizes, same leading bytes: different digests
cp src.raw longer.raw
truncate -s +64k longer.raw
expect "a longer disk of zeros after the same bytes: another digest" [ "$(sum_of longer.raw)" != "$ref" ]

# an empty 64 GiB disk is hashed without reading it (-f raw: no probe read either)
qemu-img create -q -f qcow2 empty.qcow2 64G
truncate -s 64G empty.raw
strace -f -e trace=pread64,read -o trace.log "$IMGTOOL" checksum -f raw empty.raw >/dev/null
big_reads=$(grep -cE 'pread64\([0-9]+, .*, (65536|[0-9]{6,})' trace.log)
expect "empty 64 GiB raw: no data read" [ "$big_reads" -eq 0 ]
expect "empty 64 GiB qcow2 and raw: same digest" [ "$(sum_of empty.qcow2)" = "$(sum_of empty.raw)" ]

# JSON output and errors
json=$("$IMGTOOL" checksum --output=json src.raw comp.qcow2)
expect "JSON: filename, checksum and algorithm per file" python3 -c '
import json, sys
l = json.loads(sys.argv[1])
assert [e["filename"] for e in l] == ["src.raw", "comp.qcow2"]
assert all(e["checksum"] == sys.argv[2] and e["algorithm"] == "imgtool-sha256" for e in l)
' "$json" "$ref"
printf 'QFI\xfbgarbage' >bad.qcow2
out=$("$IMGTOOL" checksum bad.qcow2 src.raw 2>err.log)
rc=$?
expect "a bad image: exit 1" [ "$rc" -eq 1 ]
expect "a bad image: one error line naming it" [ "$(wc -l <err.log)" -eq 1 ] && grep -q 'bad.qcow2' err.log
expect "a bad image: the other files are still hashed" [ "$out" = "$ref  src.raw" ]
expect "no file: exit 1" bash -c '! "$1" checksum 2>/dev/null' _ "$IMGTOOL"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
