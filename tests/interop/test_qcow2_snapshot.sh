#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_qcow2_snapshot.sh BUILD_DIR - qcow2 internal snapshots, amend and
# resize-with-snapshots against qemu-img/qemu-io 7.2, both directions:
#   a. snapshots made by imgtool are listed, applied and deleted by qemu-img (and
#      the reverse); contents checked with qemu-io patterns, qemu-img check clean
#      after every step; `info --output=json` snapshot keys equal qemu-img's.
#   b. convert -l NAME / snapshot.id= exports a snapshot's contents.
#   c. resize --shrink/grow of an image with snapshots; apply restores the size.
#   d. amend compat / lazy_refcounts as qemu-img; refusals with its messages.
#   e. kill -9 during snapshot create/delete: qemu-img check finds no corruption.
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".  Each case
# is a function run by run_case (tests/lib.sh): every command in it must succeed.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_qcow2_snapshot "$build"
need_tools test_qcow2_snapshot qemu-img qemu-io python3
T=$(mktemp -d /tmp/imgtool-snap.XXXXXX)
trap 'rm -rf "$T"' EXIT
I() { "$IMGTOOL" "$@"; }
clean() {   # qemu-img check: no errors, no leaks
	local out
	out=$(qemu-img check "$1" 2>&1) || { echo "$out"; return 1; }
	"$IMGTOOL" check "$1" >/dev/null
}
pat() { qemu-io -c "read -P $2 $3 $4" "$1" | grep -q "^read"  && ! qemu-io -c "read -P $2 $3 $4" "$1" | grep -q "failed"; }
mkimg() {
	qemu-img create -q -f qcow2 "$@" "$T/a.qcow2" 64M
	qemu-io -c 'write -P 1 0 1M' -c 'write -c -P 7 2M 64k' -c 'write -z 4M 64k' \
		"$T/a.qcow2" >/dev/null
}

case_a_imgtool_to_qemu() {
	mkimg
	I snapshot -c s1 "$T/a.qcow2"; clean "$T/a.qcow2"
	qemu-img snapshot -l "$T/a.qcow2" | grep -q ' s1 '
	qemu-io -c 'write -P 2 0 512k' -c 'write -P 4 2M 4k' "$T/a.qcow2" >/dev/null
	clean "$T/a.qcow2"
	I snapshot --create s2 "$T/a.qcow2"; clean "$T/a.qcow2"
	qemu-io -c 'write -P 5 0 64k' "$T/a.qcow2" >/dev/null
	qemu-img snapshot -a s1 "$T/a.qcow2"; clean "$T/a.qcow2"
	pat "$T/a.qcow2" 1 0 1M; pat "$T/a.qcow2" 7 2M 64k
	qemu-img snapshot -a 2 "$T/a.qcow2"; clean "$T/a.qcow2"
	pat "$T/a.qcow2" 2 0 512k; pat "$T/a.qcow2" 4 2M 4k
	qemu-img snapshot -d s1 "$T/a.qcow2"; clean "$T/a.qcow2"
	qemu-img snapshot -d s2 "$T/a.qcow2"; clean "$T/a.qcow2"
	pat "$T/a.qcow2" 2 0 512k
}

case_a_qemu_to_imgtool() {
	mkimg
	qemu-img snapshot -c q1 "$T/a.qcow2"
	qemu-io -c 'write -P 9 0 2M' "$T/a.qcow2" >/dev/null
	qemu-img snapshot -c q2 "$T/a.qcow2"
	diff <(qemu-img snapshot -l "$T/a.qcow2") <(I snapshot -l "$T/a.qcow2")
	I snapshot -a q1 "$T/a.qcow2"; clean "$T/a.qcow2"
	pat "$T/a.qcow2" 1 0 1M; pat "$T/a.qcow2" 7 2M 64k
	I snapshot -d q1 "$T/a.qcow2"; clean "$T/a.qcow2"
	I snapshot -a 2 "$T/a.qcow2"; clean "$T/a.qcow2"
	pat "$T/a.qcow2" 9 0 2M
	I snapshot -d 2 "$T/a.qcow2"; clean "$T/a.qcow2"
	[ -z "$(qemu-img snapshot -l "$T/a.qcow2" | sed 1,2d)" ]
}

case_a_json_and_errors() {
	mkimg
	I snapshot -c s1 "$T/a.qcow2"; qemu-img snapshot -c q2 "$T/a.qcow2"
	python3 - "$T/a.qcow2" "$IMGTOOL" <<'PY'
import json, subprocess, sys
q = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", sys.argv[1]]))["snapshots"]
i = json.loads(subprocess.check_output([sys.argv[2], "snapshot", "-l", "--output=json", sys.argv[1]]))
assert q == i, (q, i)
PY
	diff <(qemu-img snapshot -l "$T/a.qcow2") <(I snapshot -l "$T/a.qcow2")
	I snapshot -a nope "$T/a.qcow2" 2>"$T/e" && exit 1
	grep -q "Could not apply snapshot 'nope': Failed to load snapshot" "$T/e"
	I snapshot -d nope "$T/a.qcow2" 2>"$T/e" && exit 1
	grep -q "Could not delete snapshot 'nope': snapshot not found" "$T/e"
	I snapshot -l -c x "$T/a.qcow2" 2>"$T/e" && exit 1
	grep -q "Cannot mix" "$T/e"
	clean "$T/a.qcow2"
}

case_b_convert_l() {
	mkimg
	I snapshot -c s1 "$T/a.qcow2"
	qemu-io -c 'write -P 3 0 2M' "$T/a.qcow2" >/dev/null
	qemu-img convert -O raw -l s1 "$T/a.qcow2" "$T/q.raw"
	I convert -O raw -l s1 "$T/a.qcow2" "$T/i.raw"; cmp "$T/q.raw" "$T/i.raw"
	I convert -O raw -l snapshot.id=1 "$T/a.qcow2" "$T/i2.raw"; cmp "$T/q.raw" "$T/i2.raw"
	I convert -O qcow2 -l snapshot.name=s1 "$T/a.qcow2" "$T/i.qcow2"
	qemu-img compare "$T/q.raw" "$T/i.qcow2"
	! I convert -O raw -l nope "$T/a.qcow2" "$T/x.raw" 2>/dev/null
}

case_c_resize() {
	qemu-img create -q -f qcow2 "$T/r.qcow2" 1G
	# a compressed cluster (written first: qemu-io compresses only into an
	# unallocated cluster) inside 600M of data
	qemu-io -c 'write -c -P 3 1M 64k' -c 'write -P 1 0 1M' \
		-c "write -P 1 $((1024 + 64))k $((600 * 1024 - 1024 - 64))k" "$T/r.qcow2" >/dev/null
	I snapshot -c s1 "$T/r.qcow2"
	qemu-io -c 'write -P 2 500M 200M' "$T/r.qcow2" >/dev/null
	I resize --shrink "$T/r.qcow2" 3M >/dev/null; clean "$T/r.qcow2"
	I resize "$T/r.qcow2" 2G >/dev/null; clean "$T/r.qcow2"
	qemu-img snapshot -a s1 "$T/r.qcow2"; clean "$T/r.qcow2"
	[ "$(qemu-img info --output=json "$T/r.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = 1073741824 ]
	pat "$T/r.qcow2" 1 0 1M; pat "$T/r.qcow2" 3 1M 64k
	pat "$T/r.qcow2" 1 $((1024 + 64))k $((600 * 1024 - 1024 - 64))k
	I snapshot -a s1 "$T/r.qcow2"; clean "$T/r.qcow2"
}

case_d_amend() {
	qemu-img create -q -f qcow2 "$T/m.qcow2" 64M
	qemu-io -c 'write -P 3 64k 64k' "$T/m.qcow2" >/dev/null
	I amend -o lazy_refcounts=on "$T/m.qcow2"
	qemu-img info "$T/m.qcow2" | grep -q "lazy refcounts: true"; clean "$T/m.qcow2"
	I amend -o compat=0.10 "$T/m.qcow2"   # lazy refcounts dropped, as qemu-img
	I amend -o compat=0.10,lazy_refcounts=off "$T/m.qcow2"
	qemu-img info "$T/m.qcow2" | grep -q "compat: 0.10"; clean "$T/m.qcow2"
	pat "$T/m.qcow2" 3 64k 64k
	I amend -o lazy_refcounts=on "$T/m.qcow2" 2>"$T/e" && exit 1
	grep -q "Lazy refcounts only supported with compatibility level 1.1" "$T/e"
	I amend -o compat=1.1 "$T/m.qcow2"
	qemu-img info "$T/m.qcow2" | grep -q "compat: 1.1"; clean "$T/m.qcow2"
	qemu-img create -q -f qcow2 -o refcount_bits=8 "$T/m8.qcow2" 64M
	I amend -o compat=0.10 "$T/m8.qcow2" 2>"$T/e" && exit 1
	grep -q "compat=0.10 requires refcount_bits=16" "$T/e"
	I amend -o cluster_size=4k "$T/m.qcow2" 2>"$T/e" && exit 1
	grep -q "Invalid parameter 'cluster_size'" "$T/e"
	I amend "$T/m.qcow2" 2>"$T/e" && exit 1
	grep -q "Must specify options" "$T/e"
}

# e. kill -9 at random instants of snapshot create/delete on a busy image (each
# takes 20-40 ms here, so the kills come within 30 ms).  At least one kill must land
# while the command runs, or the case proved nothing.
# kill_soon CMD...: run CMD, kill -9 it after 0-29 ms; counts the kills that landed
kill_soon() {
	local pid
	"$@" & pid=$!
	sleep 0.0$((RANDOM % 3))$((RANDOM % 10))
	if kill -9 $pid 2>/dev/null; then
		landed=$((landed + 1))
	else
		echo "$*: ended before the kill"
	fi
	wait $pid 2>/dev/null || true   # its status is the kill's or the command's
}
# no_corruption IMG: qemu-img check finds no errors (leaks, exit 3, are allowed)
no_corruption() {
	local out rc=0
	out=$(qemu-img check "$1" 2>&1) || rc=$?
	if { [ $rc -ne 0 ] && [ $rc -ne 3 ]; } ||
		echo "$out" | grep -qE "^ERROR|[1-9][0-9]* errors were found|corrupt"; then
		echo "$out"
		return 1
	fi
}
case_e_kill() {
	local i n
	landed=0
	qemu-img create -q -f qcow2 "$T/k.qcow2" 1G
	qemu-io -c 'write -P 1 0 300M' "$T/k.qcow2" >/dev/null
	for i in $(seq 1 12); do
		kill_soon "$IMGTOOL" snapshot -c "k$i" "$T/k.qcow2"
		no_corruption "$T/k.qcow2"
		n=$(qemu-img snapshot -l "$T/k.qcow2" | sed 1,2d | head -1 | awk '{print $2}')
		if [ -n "$n" ] && [ $((i % 2)) -eq 0 ]; then
			kill_soon "$IMGTOOL" snapshot -d "$n" "$T/k.qcow2"
			no_corruption "$T/k.qcow2"
		fi
		# a kill may leak clusters (no corruption, checked above): repair them so
		# the next round starts clean, and the repair must succeed
		qemu-img check -q -r leaks "$T/k.qcow2"
	done
	pat "$T/k.qcow2" 1 0 300M
	echo "$landed kills landed while the command ran"
	[ "$landed" -gt 0 ]
}

run_case "imgtool snapshots listed/applied/deleted by qemu-img" case_a_imgtool_to_qemu
run_case "qemu-img snapshots listed/applied/deleted by imgtool" case_a_qemu_to_imgtool
run_case "snapshot -l json keys and messages as qemu-img" case_a_json_and_errors
run_case "convert -l NAME / snapshot.id= / snapshot.name=" case_b_convert_l
run_case "resize --shrink/grow with snapshots" case_c_resize
run_case "amend compat/lazy_refcounts" case_d_amend
run_case "kill -9 during snapshot create/delete" case_e_kill

summary
