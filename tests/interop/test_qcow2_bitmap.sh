#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_qcow2_bitmap.sh BUILD_DIR - qcow2 persistent dirty bitmaps
# against qemu-img/qemu-io/qemu-nbd 7.2, both directions.  The oracle for the bits
# is qemu itself: qemu-nbd -B NAME exports a bitmap and nbdinfo --map reads it.
#   a. bitmaps qemu-img made survive imgtool writes (convert -n, commit, snapshot
#      apply): the same bitmaps in `info --output=json`, and the same dirty bits
#      as on a twin image that qemu-io wrote the same data into; check clean.
#   b. bitmaps imgtool made (every action, several in one call, granularities,
#      merge from another file) equal a twin qemu-img bitmap made: info JSON and
#      bits, also after qemu-io writes into both; check clean after every step.
#   c. convert --bitmaps equals qemu-img convert --bitmaps (info JSON, bits);
#      measure JSON and human equal, with several -o; refusals as qemu-img.
#   d. a bitmap left in use: shown, never marked, refused but for --remove;
#      convert refuses it or skips it with --skip-broken-bitmaps, as qemu-img.
#   e. the command's refusals, worded as qemu-img's.
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_qcow2_bitmap "$build"
need_tools test_qcow2_bitmap qemu-img qemu-io qemu-nbd nbdinfo python3
T=$(mktemp -d /tmp/imgtool-bitmap.XXXXXX)
trap 'rm -rf "$T"' EXIT
I() { "$IMGTOOL" "$@"; }
patch=$top/tests/interop/qcow2patch.py
clean() {   # qemu-img check: no errors, no leaks; imgtool check agrees
	local out
	out=$(qemu-img check "$1" 2>&1) || { echo "$out"; return 1; }
	"$IMGTOOL" check "$1" >/dev/null
}
# bits IMG NAME: the dirty runs of a bitmap as qemu reads them
bits() {
	timeout 60 nbdinfo --map=qemu:dirty-bitmap:"$2" -- [ qemu-nbd -r -f qcow2 -B "$2" "$1" ]
}
# same_bits IMG1 IMG2 NAME...: equal bits, and some bit set in at least one
same_bits() {
	local a=$1 b=$2 n
	shift 2
	for n in "$@"; do
		diff <(bits "$a" "$n") <(bits "$b" "$n") || { echo "bitmap $n differs"; return 1; }
	done
}
dirty() { bits "$1" "$2" | grep -q ' dirty$'; }
# not CMD...: CMD must fail (a plain "! CMD" would not stop a run_case step)
not() {
	if "$@"; then
		echo "succeeded but should not: $*"
		return 1
	fi
}
# the format-specific "bitmaps" of info --output=json (null when none)
bmjson() {
	"${2:-qemu-img}" info --output=json "$1" |
		python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["format-specific"]["data"].get("bitmaps")))'
}
same_bmjson() {
	local q i
	q=$(bmjson "$1") && i=$(bmjson "$2") || return 1
	[ "$q" = "$i" ] || { echo "qemu: $q"; echo "other: $i"; return 1; }
	# imgtool's own info prints the same list
	[ "$(bmjson "$2" "$IMGTOOL")" = "$i" ] || { echo "imgtool info differs"; return 1; }
}
# a raw file with data at 8M (64k) and 20M+512 (4k), for targeted imgtool writes
mkdata() {
	qemu-img create -q -f raw "$T/d.raw" 64M
	qemu-io -f raw -c 'write -P 3 8M 64k' -c 'write -P 4 20971520 4k' "$T/d.raw" >/dev/null
}
mkbitmaps() {   # FILE: three bitmaps made by qemu-img (one disabled, one 1k)
	qemu-img create -q -f qcow2 "$1" 64M
	qemu-img bitmap --add "$1" b1
	qemu-img bitmap --add -g 128k --disable "$1" b2
	qemu-img bitmap --add -g 1k "$1" b3
}

case_a_qemu_bitmaps_imgtool_writes() {
	mkdata
	mkbitmaps "$T/i.qcow2"; mkbitmaps "$T/q.qcow2"
	qemu-io -c 'write 1M 64k' "$T/i.qcow2" >/dev/null
	qemu-io -c 'write 1M 64k' "$T/q.qcow2" >/dev/null
	# imgtool writes only d.raw's data ranges; qemu-io writes the same
	I convert -n --target-is-zero -f raw -O qcow2 "$T/d.raw" "$T/i.qcow2"
	qemu-io -c 'write -P 3 8M 64k' -c 'write -P 4 20971520 4k' "$T/q.qcow2" >/dev/null
	clean "$T/i.qcow2"
	same_bmjson "$T/q.qcow2" "$T/i.qcow2"
	same_bits "$T/q.qcow2" "$T/i.qcow2" b1 b2 b3
	dirty "$T/i.qcow2" b1 && dirty "$T/i.qcow2" b3 && ! dirty "$T/i.qcow2" b2
	bits "$T/i.qcow2" b3 | grep -q '^ *20971520 *4096 *1 *dirty$'
	# the bitmaps stay usable by qemu after imgtool wrote
	qemu-img bitmap --clear "$T/i.qcow2" b1; clean "$T/i.qcow2"
	not dirty "$T/i.qcow2" b1
}

case_a_commit_and_apply() {
	mkbitmaps "$T/base.qcow2"
	qemu-img create -q -f qcow2 -b "$T/base.qcow2" -F qcow2 "$T/top.qcow2"
	qemu-io -c 'write -P 5 4M 128k' "$T/top.qcow2" >/dev/null
	I commit "$T/top.qcow2" >/dev/null
	clean "$T/base.qcow2"
	bits "$T/base.qcow2" b1 | grep -q '^ *4194304 *131072 *1 *dirty$'
	bits "$T/base.qcow2" b3 | grep -q '^ *4194304 *131072 *1 *dirty$'
	not dirty "$T/base.qcow2" b2
	# reverting to a snapshot changes the whole disk as far as a backup knows
	qemu-img bitmap --clear "$T/base.qcow2" b1
	I snapshot -c s1 "$T/base.qcow2"
	I snapshot -a s1 "$T/base.qcow2"; clean "$T/base.qcow2"
	bits "$T/base.qcow2" b1 | grep -q '^ *0 *67108864 *1 *dirty$'
	# resizing is refused rather than leaving the tables too small
	not I resize "$T/base.qcow2" 128M 2>"$T/e"
	grep -q "bitmaps" "$T/e"
	[ "$(qemu-img info --output=json "$T/base.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = 67108864 ]
}

# run the same bitmap command with both tools, each on its own twin
both() {
	qemu-img bitmap "$@" "$T/q.qcow2" "${BM}"
	I bitmap "$@" "$T/i.qcow2" "${BM}"
	clean "$T/i.qcow2"
	same_bmjson "$T/q.qcow2" "$T/i.qcow2"
}

case_b_imgtool_bitmaps() {
	qemu-img create -q -f qcow2 "$T/q.qcow2" 64M
	qemu-img create -q -f qcow2 "$T/i.qcow2" 64M
	BM=b1 both --add
	BM=b2 both --add -g 128k --disable
	BM=b3 both --add -g 512
	BM=b4 both --add -g 2M
	qemu-io -c 'write 1M 64k' -c 'write 30M 3M' -c 'write 63M 512' "$T/q.qcow2" >/dev/null
	qemu-io -c 'write 1M 64k' -c 'write 30M 3M' -c 'write 63M 512' "$T/i.qcow2" >/dev/null
	clean "$T/i.qcow2"
	same_bits "$T/q.qcow2" "$T/i.qcow2" b1 b2 b3 b4
	dirty "$T/i.qcow2" b3
	BM=b2 both --merge b3
	same_bits "$T/q.qcow2" "$T/i.qcow2" b2
	dirty "$T/i.qcow2" b2
	BM=b1 both --clear --disable
	# --add fails (b3 exists): the actions before it stay done, --remove never runs
	not qemu-img bitmap --enable --clear --add --remove "$T/q.qcow2" b3 2>/dev/null
	not I bitmap --enable --clear --add --remove "$T/i.qcow2" b3 2>/dev/null
	clean "$T/i.qcow2"
	same_bmjson "$T/q.qcow2" "$T/i.qcow2"
	not dirty "$T/i.qcow2" b3
	BM=b5 both --add --merge b4 --disable
	same_bits "$T/q.qcow2" "$T/i.qcow2" b1 b2 b3 b4 b5
	BM=b3 both --remove
	# merge from another file (-b, -F)
	qemu-img create -q -f qcow2 "$T/src.qcow2" 64M
	qemu-img bitmap --add -g 4k "$T/src.qcow2" other
	qemu-io -c 'write 40M 4k' "$T/src.qcow2" >/dev/null
	BM=b1 both --merge other -b "$T/src.qcow2" -F qcow2
	same_bits "$T/q.qcow2" "$T/i.qcow2" b1 b2 b4 b5
	bits "$T/i.qcow2" b1 | grep -q '^ *41943040 *65536 *1 *dirty$'
	# imgtool writes into both twins: the bitmaps imgtool made get the same bits
	mkdata
	I convert -n --target-is-zero -f raw -O qcow2 "$T/d.raw" "$T/q.qcow2"
	I convert -n --target-is-zero -f raw -O qcow2 "$T/d.raw" "$T/i.qcow2"
	clean "$T/q.qcow2"; clean "$T/i.qcow2"
	same_bits "$T/q.qcow2" "$T/i.qcow2" b1 b2 b4 b5
	for b in b1 b2 b4 b5; do BM=$b both --remove; done
	[ "$(bmjson "$T/i.qcow2")" = null ]
	# no bitmaps left: the extension and the autoclear bit are gone, as in qemu
	not grep -q bitmaps <(qemu-img info "$T/i.qcow2")
}

case_c_convert_bitmaps() {
	mkbitmaps "$T/s.qcow2"
	qemu-io -c 'write 1M 64k' -c 'write 30M 3M' -c 'write 40M 1k' "$T/s.qcow2" >/dev/null
	for o in "" "-o cluster_size=4k" "-o cluster_size=2M,lazy_refcounts=on"; do
		rm -f "$T/q.qcow2" "$T/i.qcow2"
		qemu-img convert --bitmaps -O qcow2 $o "$T/s.qcow2" "$T/q.qcow2"
		I convert --bitmaps -O qcow2 $o "$T/s.qcow2" "$T/i.qcow2"
		clean "$T/i.qcow2"
		same_bmjson "$T/q.qcow2" "$T/i.qcow2"
		same_bits "$T/q.qcow2" "$T/i.qcow2" b1 b2 b3
		dirty "$T/i.qcow2" b1
	done
	# without --bitmaps none are copied (as qemu-img)
	I convert -O qcow2 "$T/s.qcow2" "$T/n.qcow2"
	[ "$(bmjson "$T/n.qcow2")" = null ]
	# measure: the "bitmaps" size, JSON and human
	for o in "" "-o cluster_size=4k" "-o compat=0.10" "-o cluster_size=2M"; do
		diff <(qemu-img measure --output=json -O qcow2 $o "$T/s.qcow2") \
		     <(I measure --output=json -O qcow2 $o "$T/s.qcow2")
		diff <(qemu-img measure -O qcow2 $o "$T/s.qcow2") <(I measure -O qcow2 $o "$T/s.qcow2")
	done
	diff <(qemu-img measure --output=json -O qcow2 "$T/n.qcow2") \
	     <(I measure --output=json -O qcow2 "$T/n.qcow2")
	diff <(qemu-img measure --output=json -O raw "$T/s.qcow2") \
	     <(I measure --output=json -O raw "$T/s.qcow2")
	# refusals
	not I convert --bitmaps -O raw "$T/s.qcow2" "$T/x.raw" 2>"$T/e"
	grep -q "Format driver 'raw' does not support bitmaps" "$T/e"; [ ! -e "$T/x.raw" ]
	not I convert --bitmaps -O qcow2 "$T/s.qcow2" "$T/n.qcow2" "$T/x.qcow2" 2>"$T/e"
	grep -q "Copying bitmaps only possible with single source" "$T/e"
	not I convert --skip-broken-bitmaps -O qcow2 "$T/s.qcow2" "$T/x.qcow2" 2>"$T/e"
	grep -q "Use of --skip-broken-bitmaps requires --bitmaps" "$T/e"
	I convert -O raw "$T/s.qcow2" "$T/s.raw"
	not I convert --bitmaps -f raw -O qcow2 "$T/s.raw" "$T/x.qcow2" 2>"$T/e"
	grep -q "Source lacks bitmap support" "$T/e"
	not I convert -n --bitmaps -O qcow2 "$T/s.qcow2" "$T/i.qcow2" 2>"$T/e"
	grep -q "Failed to create bitmap b1: Bitmap already exists: b1" "$T/e"
}

case_d_in_use() {
	mkbitmaps "$T/u.qcow2"
	qemu-io -c 'write 1M 64k' "$T/u.qcow2" >/dev/null
	python3 "$patch" in-use "$T/u.qcow2" b1
	clean "$T/u.qcow2"
	same_bmjson "$T/u.qcow2" "$T/u.qcow2"
	I info "$T/u.qcow2" | grep -q 'in-use'
	# an imgtool write keeps it, still in use, and marks the others
	mkdata
	I convert -n --target-is-zero -f raw -O qcow2 "$T/d.raw" "$T/u.qcow2"
	clean "$T/u.qcow2"
	[ "$(bmjson "$T/u.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["flags"])')" = "['in-use', 'auto']" ]
	bits "$T/u.qcow2" b3 | grep -q '^ *8388608 *65536 *1 *dirty$'
	# refused as qemu-img refuses it
	for a in --clear --enable --disable "--merge b3"; do
		qemu-img bitmap $a "$T/u.qcow2" b1 2>"$T/qe" && exit 1
		I bitmap $a "$T/u.qcow2" b1 2>"$T/ie" && exit 1
		diff <(sed 's/^qemu-img: //' "$T/qe") <(sed 's/^imgtool: //' "$T/ie")
	done
	not I bitmap --merge b1 "$T/u.qcow2" b3 2>"$T/ie"
	grep -q "Bitmap 'b1' is inconsistent and cannot be used" "$T/ie"
	# convert: refused, or skipped with a warning
	not I convert --bitmaps -O qcow2 "$T/u.qcow2" "$T/x.qcow2" 2>"$T/ie"
	qemu-img convert --bitmaps -O qcow2 "$T/u.qcow2" "$T/y.qcow2" 2>"$T/qe" && exit 1
	diff <(sed 's/^qemu-img: //' "$T/qe") <(sed 's/^imgtool: //' "$T/ie")
	rm -f "$T/x.qcow2" "$T/y.qcow2"
	I convert --bitmaps --skip-broken-bitmaps -O qcow2 "$T/u.qcow2" "$T/x.qcow2" 2>"$T/ie"
	grep -q "warning: Skipping inconsistent bitmap 'b1'" "$T/ie"
	qemu-img convert --bitmaps --skip-broken-bitmaps -O qcow2 "$T/u.qcow2" "$T/y.qcow2" 2>/dev/null
	same_bmjson "$T/y.qcow2" "$T/x.qcow2"
	same_bits "$T/y.qcow2" "$T/x.qcow2" b2 b3
	# --remove works on it and frees its clusters
	I bitmap --remove "$T/u.qcow2" b1; clean "$T/u.qcow2"
	[ "$(bmjson "$T/u.qcow2" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ]
}

# the same refusal from both tools: exit 1 and the same message
same_refusal() {
	local img=$1
	shift
	cp "$img" "$T/rq.qcow2"; cp "$img" "$T/ri.qcow2"
	qemu-img bitmap "${@//@IMG@/$T/rq.qcow2}" 2>"$T/qe" && { echo "qemu-img accepted $*"; return 1; }
	I bitmap "${@//@IMG@/$T/ri.qcow2}" 2>"$T/ie" && { echo "imgtool accepted $*"; return 1; }
	diff <(sed "s/^qemu-img: //; s|$T/rq.qcow2|IMG|g" "$T/qe") \
	     <(sed "s/^imgtool: //; s|$T/ri.qcow2|IMG|g" "$T/ie")
}

case_e_refusals() {
	mkbitmaps "$T/r.qcow2"
	same_refusal "$T/r.qcow2" --add @IMG@ b1
	same_refusal "$T/r.qcow2" --remove @IMG@ nope
	same_refusal "$T/r.qcow2" --merge nope @IMG@ b1
	same_refusal "$T/r.qcow2" --merge b1 @IMG@ nope
	same_refusal "$T/r.qcow2" @IMG@ b1
	same_refusal "$T/r.qcow2" --add -g 3k @IMG@ x
	same_refusal "$T/r.qcow2" --add -g 256 @IMG@ x
	same_refusal "$T/r.qcow2" --enable -g 64k @IMG@ b1
	same_refusal "$T/r.qcow2" --add -b "$T/r.qcow2" @IMG@ x
	same_refusal "$T/r.qcow2" -F qcow2 --merge b1 @IMG@ x
	same_refusal "$T/r.qcow2" --add @IMG@
	same_refusal "$T/r.qcow2" --add --remove --remove @IMG@ x
	qemu-img create -q -f qcow2 -o compat=0.10 "$T/v2.qcow2" 64M
	not I bitmap --add "$T/v2.qcow2" x 2>"$T/e"
	grep -q "Cannot store dirty bitmaps in qcow2 v2 files" "$T/e"
	qemu-img create -q -f raw "$T/r.raw" 1M
	not I bitmap --add -f raw "$T/r.raw" x 2>"$T/e"
	grep -q "Operation add on bitmap x failed" "$T/e"
}

run_case "qemu-img's bitmaps: imgtool writes set the bits qemu-io sets" case_a_qemu_bitmaps_imgtool_writes
run_case "commit and snapshot apply mark the bitmaps; resize refused" case_a_commit_and_apply
run_case "imgtool bitmap = qemu-img bitmap (info JSON, bits, writes)" case_b_imgtool_bitmaps
run_case "convert --bitmaps and measure = qemu-img's" case_c_convert_bitmaps
run_case "a bitmap left in use, as qemu treats it" case_d_in_use
run_case "bitmap refusals worded as qemu-img's" case_e_refusals

summary
