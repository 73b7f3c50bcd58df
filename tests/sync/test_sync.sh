#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/sync/test_sync.sh BUILD_DIR - a 2 GiB sparse source (data, zeros written
# as data, holes) is copied in full, then 1% of its blocks change (some to zeros,
# some holes get data): a sync writes at most 2% of what the full copy wrote
# (counted under strace, and equal to what sync reports), the result's digest
# equals the source's (imgtool checksum and qemu-img compare), the source's
# zeros are holes in the target (qemu-img map); the same through the digest
# stream into a qcow2 target that passes qemu-img check; a second pass writes
# nothing.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/sync
. "$top/tests/lib.sh"
find_imgtool test_sync "$build"
need_tools test_sync qemu-img python3 strace

T=$(mktemp -d /tmp/imgtool-sync.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

traced() {   # traced PREFIX CMD...: CMD under strace, one log per thread
	strace -qq -ff -o "$1" -e trace=openat,pwrite64,pwritev,write "${@:2}"
}
json_field() {   # json_field FILE KEY
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

setup python3 "$here/disk.py" make src.raw 2048 || exit 1
setup traced full "$IMGTOOL" convert -f raw -O raw src.raw dst.raw || exit 1
setup "$IMGTOOL" convert -f raw -O qcow2 src.raw dst.qcow2 || exit 1
full=$(python3 "$here/written.py" full dst.raw)
changed=$(python3 "$here/disk.py" change src.raw 1 7)
echo "  (a full copy wrote $full bytes; $changed blocks changed)"

sync_raw() {
	traced pass "$IMGTOOL" sync --output=json -f raw -F raw src.raw dst.raw >pass.json
	written=$(python3 "$here/written.py" pass dst.raw)
	reported=$(json_field pass.json bytes_written)
	echo "sync wrote $written bytes (reported $reported), full copy $full"
	[ "$written" -eq "$reported" ]
	[ "$written" -gt 0 ]
	[ $((written * 100)) -le $((full * 2)) ]
	[ "$(json_field pass.json bytes_zeroed)" -gt 0 ]
}
run_case "sync after 1% changed writes <= 2% of a full copy's bytes (strace = report)" sync_raw

same_content() {   # same_content FMT TARGET: the source's digest is computed once
	qemu-img compare -q -f raw -F "$1" src.raw "$2"
	[ -s src.sum ] || "$IMGTOOL" checksum -f raw src.raw | cut -d' ' -f1 >src.sum
	b=$("$IMGTOOL" checksum -f "$1" "$2" | cut -d' ' -f1)
	[ -n "$b" ] && [ "$(cat src.sum)" = "$b" ]
}
run_case "raw target: qemu-img compare and imgtool checksum equal the source" same_content raw dst.raw

holes_kept() {   # holes_kept FMT TARGET
	qemu-img map -f "$1" --output=json "$2" >map.json
	data=$(python3 "$here/holes.py" src.raw.zeros map.json)
	echo "target data: $data bytes"
	[ "$data" -gt 0 ]
}
run_case "raw target: the source's zeros and holes are holes (qemu-img map)" holes_kept raw dst.raw

second_pass() {
	"$IMGTOOL" sync --output=json -f raw -F raw src.raw dst.raw >again.json
	[ "$(json_field again.json bytes_written)" -eq 0 ]
	[ "$(json_field again.json bytes_zeroed)" -eq 0 ]
}
run_case "a second pass writes and zeroes nothing" second_pass

by_stream() {
	"$IMGTOOL" sync --print-digests -f raw src.raw >src.digests
	# a stream of a 2 GiB disk with 80% data: 33 bytes per data block
	[ "$(stat -c %s src.digests)" -lt $((1100 * 1024)) ]
	traced qpass "$IMGTOOL" sync --output=json --digests-from src.digests -f raw -F qcow2 \
		src.raw dst.qcow2 >qpass.json
	written=$(python3 "$here/written.py" qpass dst.qcow2)
	echo "sync by stream wrote $written bytes into the qcow2 (data $(json_field qpass.json bytes_written)), read $(json_field qpass.json bytes_read_source) of the source"
	# data plus the qcow2's own metadata updates
	[ $((written * 100)) -le $((full * 2)) ]
	[ "$(json_field qpass.json bytes_read_source)" -eq "$(json_field qpass.json bytes_written)" ]
	qemu-img check -q dst.qcow2
}
run_case "qcow2 target from --print-digests then --digests-from: <= 2% written, qemu-img check clean" by_stream
run_case "qcow2 target: qemu-img compare and imgtool checksum equal the source" same_content qcow2 dst.qcow2
run_case "qcow2 target: the source's zeros are unallocated or zero clusters" holes_kept qcow2 dst.qcow2

piped() {
	python3 "$here/disk.py" change src.raw 1 8 >/dev/null
	"$IMGTOOL" sync --print-digests -f raw src.raw |
		"$IMGTOOL" sync -q --digests-from - -f raw -F qcow2 src.raw dst.qcow2
	qemu-img compare -q -f raw -F qcow2 src.raw dst.qcow2
}
run_case "a stream through a pipe (--digests-from -) after more changes: equal again" piped

summary
