#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_qcow2_chain.sh BUILD_DIR - qcow2 backing chains against
# qemu-img/qemu-io 7.2: create -b, info --backing-chain, commit, rebase and
# convert -B, each checked with qemu-img check and compare against the contents
# the chain must have (a raw export made before the operation).
#
#   a. create: relative backing names resolve against the overlay's folder;
#      reads fall through three layers; info --backing-chain equals qemu-img's.
#   b. commit: chains built by qemu are committed by imgtool and the reverse;
#      -b into a deeper base, -d, a base smaller than the overlay (grown).
#   c. rebase: safe onto another base, -b "" (standalone), -u; chains by
#      either tool rebased by the other.
#   d. convert -B: the result equals the source, names the backing, is small.
#   e. errors: a missing backing file, a loop, a wrong backing format give one
#      line of error and exit 1.
#   f. kill -9 during commit: the base passes qemu-img check (leaks allowed).
#
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".  Each case
# is a function run by run_case (tests/lib.sh): every command in it must succeed.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_qcow2_chain "$build"
need_tools test_qcow2_chain qemu-img qemu-io

T=$(mktemp -d /tmp/imgtool-chain.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

I() { "$IMGTOOL" "$@"; }
# clean IMG: qemu-img check finds no errors and no leaks
clean() { qemu-img check -q "$1"; }
# same A B: qemu-img compare says the contents are equal
same() { qemu-img compare -q "$1" "$2"; }

# qcow2 chain base <- mid <- top in $1/, created by tool $2 (qemu-img or I),
# data written with qemu-io; leaves $1/expect.raw with the chain's contents.
mkchain() {
	local d=$1 tool=$2
	mkdir -p "$d"
	$tool create -q -f qcow2 "$d/base.qcow2" 64M || return 1
	qemu-io -c "write -P 0x11 0 4M" -c "write -P 0x22 10M 1M" \
		-c "write -P 0x66 60M 64k" "$d/base.qcow2" >/dev/null || return 1
	$tool create -q -f qcow2 -b base.qcow2 -F qcow2 "$d/mid.qcow2" || return 1
	qemu-io -c "write -P 0x33 1M 1M" -c "write -z 10M 64k" \
		-c "write -P 0x77 20M 100k" "$d/mid.qcow2" >/dev/null || return 1
	$tool create -q -f qcow2 -b mid.qcow2 -F qcow2 "$d/top.qcow2" || return 1
	qemu-io -c "write -P 0x44 3M 2M" -c "write -P 0x55 40M 1M" \
		-c "write -z 0 64k" -c "discard 60M 64k" "$d/top.qcow2" >/dev/null || return 1
	qemu-img convert -O raw "$d/top.qcow2" "$d/expect.raw"
}

# ---- a. create, reads, info ----
case_a_relative() {
	mkchain a I || return 1
	# run from another folder: the names must resolve against a/
	I info --backing-chain a/top.qcow2 >m.txt || return 1
	qemu-img info --backing-chain a/top.qcow2 >q.txt || return 1
	diff q.txt m.txt || return 1
	I info --backing-chain --output=json a/top.qcow2 >mj.txt || return 1
	qemu-img info --backing-chain --output=json a/top.qcow2 >qj.txt || return 1
	diff qj.txt mj.txt
}
run_case "create -b relative to the overlay's folder; info --backing-chain as qemu-img" case_a_relative

case_a_read() {
	I convert -O raw a/top.qcow2 a/mine.raw && cmp a/mine.raw a/expect.raw || return 1
	I compare a/top.qcow2 a/expect.raw
}
run_case "reads fall through three layers (convert flattens)" case_a_read

# ---- b. commit ----
case_b_commit_q() {
	mkchain bq qemu-img || return 1
	I commit -q bq/top.qcow2 || return 1
	clean bq/mid.qcow2 && clean bq/top.qcow2 || return 1
	same bq/top.qcow2 bq/expect.raw && same bq/mid.qcow2 bq/expect.raw || return 1
	# the overlay was emptied (qemu-img 7.2 does the same)
	qemu-img map --output=json bq/top.qcow2 | grep -q '"depth": 0' && return 1
	return 0
}
run_case "imgtool commits a chain made by qemu-img; overlay emptied" case_b_commit_q

case_b_commit_i() {
	mkchain bi I || return 1
	qemu-img commit -q bi/top.qcow2 || return 1
	clean bi/mid.qcow2 && same bi/mid.qcow2 bi/expect.raw && same bi/top.qcow2 bi/expect.raw
}
run_case "qemu-img commits a chain made by imgtool" case_b_commit_i

case_b_commit_base() {
	mkchain bb qemu-img || return 1
	I commit -q -b bb/base.qcow2 bb/top.qcow2 || return 1
	clean bb/base.qcow2 && same bb/base.qcow2 bb/expect.raw || return 1
	# -b implies -d: the overlay still holds its data
	qemu-img map --output=json bb/top.qcow2 | grep -q '"depth": 0'
}
run_case "commit -b BASE merges two layers into the base" case_b_commit_base

case_b_commit_d() {
	mkchain bd qemu-img || return 1
	I commit -q -d bd/top.qcow2 || return 1
	clean bd/mid.qcow2 && same bd/mid.qcow2 bd/expect.raw || return 1
	qemu-img map --output=json bd/top.qcow2 | grep -q '"depth": 0'
}
run_case "commit -d keeps the overlay" case_b_commit_d

case_b_grow() {
	mkdir -p bg
	qemu-img create -q -f qcow2 bg/base.qcow2 32M || return 1
	qemu-io -c "write -P 0x11 0 32M" bg/base.qcow2 >/dev/null || return 1
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 bg/top.qcow2 48M || return 1
	qemu-io -c "write -P 0x22 40M 1M" bg/top.qcow2 >/dev/null || return 1
	qemu-img convert -O raw bg/top.qcow2 bg/expect.raw
	I commit -q bg/top.qcow2 || return 1
	clean bg/base.qcow2 || return 1
	qemu-img info --output=json bg/base.qcow2 | grep -q '"virtual-size": 50331648' || return 1
	same bg/base.qcow2 bg/expect.raw
}
run_case "commit grows a smaller base" case_b_grow

case_b_raw_base() {
	mkdir -p br
	qemu-img create -q -f raw br/base.raw 16M || return 1
	qemu-io -f raw -c "write -P 0x11 0 16M" br/base.raw >/dev/null || return 1
	I create -q -f qcow2 -b base.raw -F raw br/top.qcow2 || return 1
	qemu-io -c "write -P 0x22 1M 1M" -c "write -z 8M 1M" br/top.qcow2 >/dev/null || return 1
	qemu-img convert -O raw br/top.qcow2 br/expect.raw
	I commit -q br/top.qcow2 || return 1
	cmp br/base.raw br/expect.raw && same br/top.qcow2 br/expect.raw
}
run_case "commit into a raw backing file" case_b_raw_base

# ---- c. rebase ----
case_c_safe() {
	mkchain cs qemu-img || return 1
	I rebase -b base.qcow2 -F qcow2 cs/top.qcow2 || return 1
	clean cs/top.qcow2 && same cs/top.qcow2 cs/expect.raw || return 1
	qemu-img info cs/top.qcow2 | grep -q '^backing file: base.qcow2\b'
}
run_case "safe rebase past a layer keeps the contents (qemu-made chain)" case_c_safe

case_c_standalone() {
	mkchain cn I || return 1
	I rebase -b "" cn/top.qcow2 || return 1
	clean cn/top.qcow2 && same cn/top.qcow2 cn/expect.raw || return 1
	! qemu-img info cn/top.qcow2 | grep -q '^backing file'
}
run_case "rebase -b \"\" makes the image standalone" case_c_standalone

case_c_qemu_rebases_mine() {
	mkchain cq I || return 1
	qemu-img rebase -b base.qcow2 -F qcow2 cq/top.qcow2 || return 1
	clean cq/top.qcow2 && same cq/top.qcow2 cq/expect.raw
}
run_case "qemu-img rebases a chain made by imgtool" case_c_qemu_rebases_mine

case_c_unsafe() {
	mkchain cu qemu-img || return 1
	cp cu/mid.qcow2 cu/mid2.qcow2
	I rebase -u -b mid2.qcow2 -F qcow2 cu/top.qcow2 || return 1
	clean cu/top.qcow2 && same cu/top.qcow2 cu/expect.raw || return 1
	qemu-img info cu/top.qcow2 | grep -q '^backing file: mid2.qcow2\b' || return 1
	# the data is untouched: the map of the top layer did not change
	qemu-img rebase -u -b mid.qcow2 -F qcow2 cu/top.qcow2 && clean cu/top.qcow2
}
run_case "rebase -u only rewrites the pointer" case_c_unsafe

case_c_new_base() {
	mkchain cb qemu-img || return 1
	qemu-img create -q -f qcow2 cb/other.qcow2 64M || return 1
	qemu-io -c "write -P 0x99 0 64M" cb/other.qcow2 >/dev/null || return 1
	I rebase -b other.qcow2 -F qcow2 cb/top.qcow2 || return 1
	clean cb/top.qcow2 && same cb/top.qcow2 cb/expect.raw || return 1
	# the rebased image commits cleanly with qemu-img
	qemu-img commit -q cb/top.qcow2 && same cb/other.qcow2 cb/expect.raw
}
run_case "safe rebase onto unrelated data, then qemu-img commit" case_c_new_base

# ---- d. convert -B ----
case_d_convert_b() {
	mkchain d qemu-img || return 1
	I convert -O qcow2 -B base.qcow2 -F qcow2 d/top.qcow2 d/out.qcow2 || return 1
	clean d/out.qcow2 && same d/out.qcow2 d/expect.raw || return 1
	qemu-img info d/out.qcow2 | grep -q '^backing file: base.qcow2\b' || return 1
	I convert -O qcow2 d/top.qcow2 d/full.qcow2 || return 1
	[ "$(stat -c %s d/out.qcow2)" -lt "$(stat -c %s d/full.qcow2)" ]
}
run_case "convert -B writes only what differs from the backing" case_d_convert_b

case_d_convert_bc() {
	I convert -c -O qcow2 -b base.qcow2 -F qcow2 d/top.qcow2 d/outc.qcow2 || return 1
	clean d/outc.qcow2 && same d/outc.qcow2 d/expect.raw
}
run_case "convert -c -b compressed over a backing file" case_d_convert_bc

# ---- e. errors: one line, exit 1 ----
oneline() {
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	echo "$out"
	[ $rc -eq 1 ] && [ "$(echo "$out" | wc -l)" -eq 1 ]
}
case_e_missing() {
	mkdir -p e
	I create -q -f qcow2 -b nothere.qcow2 -F qcow2 -u e/orphan.qcow2 16M || return 1
	oneline I info --backing-chain e/orphan.qcow2 || return 1
	oneline I commit e/orphan.qcow2 || return 1
	oneline I rebase -b "" e/orphan.qcow2 || return 1
	oneline I convert -O raw e/orphan.qcow2 e/x.raw || return 1
	oneline I rebase -b nothere2.qcow2 -F qcow2 e/orphan.qcow2 2>&1
	I rebase -b nothere2.qcow2 -F qcow2 e/orphan.qcow2 2>&1 | grep -qi "could not open"
}
run_case "missing backing file: one-line error" case_e_missing

case_e_loop() {
	qemu-img create -q -f qcow2 e/l1.qcow2 16M || return 1
	qemu-img create -q -f qcow2 -b l1.qcow2 -F qcow2 e/l2.qcow2 || return 1
	qemu-img rebase -u -b l2.qcow2 -F qcow2 e/l1.qcow2 || return 1
	oneline I info e/l2.qcow2 --backing-chain || return 1
	oneline I commit e/l2.qcow2 || return 1
	# a rebase that would make a loop is refused
	qemu-img create -q -f qcow2 e/m1.qcow2 16M || return 1
	qemu-img create -q -f qcow2 -b m1.qcow2 -F qcow2 e/m2.qcow2 || return 1
	oneline I rebase -b m2.qcow2 -F qcow2 e/m1.qcow2 || return 1
	# ...and leaves m1 as it was: clean, still without a backing file
	clean e/m1.qcow2 || return 1
	info=$(qemu-img info e/m1.qcow2) || return 1
	echo "$info"
	! grep -q '^backing file' <<<"$info"
}
run_case "backing loop: one-line error; rebase refuses to make one" case_e_loop

case_e_fmt() {
	qemu-img create -q -f raw e/r.raw 16M || return 1
	I create -q -f qcow2 -b r.raw -F qcow2 -u e/wrong.qcow2 16M || return 1
	oneline I info --backing-chain e/wrong.qcow2 || return 1
	oneline I commit e/wrong.qcow2 || return 1
	oneline I rebase -b r.raw -F qcow2 e/m2.qcow2
}
run_case "backing format that does not match the file: one-line error" case_e_fmt

# ---- f. kill -9 during commit ----
case_f_kill() {
	local i pid img rc landed=0
	mkdir -p f
	for i in 1 2 3 4; do
		rm -f f/*.qcow2
		qemu-img create -q -f qcow2 f/base.qcow2 512M || return 1
		qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 f/top.qcow2 || return 1
		qemu-io -c "write -P 0x5$i 0 256M" f/top.qcow2 >/dev/null || return 1
		I commit -q -t writeback f/top.qcow2 &
		pid=$!
		sleep 0.$((i * 2))
		kill -9 $pid 2>/dev/null && landed=$((landed + 1))
		wait $pid 2>/dev/null || true   # its status is the kill's or commit's
		for img in f/base.qcow2 f/top.qcow2; do
			rc=0
			qemu-img check $img >f/check.txt || rc=$?
			case $rc in
			0|3) ;;
			*) cat f/check.txt; return 1 ;;
			esac
		done
		# whatever was merged, the overlay still reads its data
		qemu-io -c "read -P 0x5$i 0 256M" f/top.qcow2 | grep -q "read 268435456" || return 1
	done
	# a kill that came after commit ended proved nothing: one must have landed
	echo "$landed of 4 kills landed while commit ran"
	[ "$landed" -gt 0 ]
}
run_case "kill -9 during commit: no corruption" case_f_kill

summary
