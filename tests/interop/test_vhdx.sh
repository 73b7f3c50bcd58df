#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_vhdx.sh BUILD_DIR - the VHDX format against qemu-img 7.2.
#
#   a. qemu-img writes vhdx (dynamic, fixed, several block sizes) with data, zeros
#      and holes; imgtool convert -O raw gives the same bytes as qemu-img's own
#      conversion; info JSON keys and values equal qemu-img's.
#   b. imgtool writes vhdx (dynamic, fixed, block_size, log_size) from a raw source
#      with data, zeros and holes: qemu-img check clean, qemu-img compare equal,
#      holes kept (the file stays small); vhdx <-> qcow2 both ways.
#   c. fixtures qemu-img cannot make (fixtures/make-vhdx.py): 4 KiB logical sectors,
#      a differencing chain (partially present blocks), a log to replay (compared
#      with qemu-img's own replay by check -r all, and replayed in place by
#      imgtool check -r all), a parent whose data write GUID does not match.
#   d. malformed images: one line of error, nonzero exit, no crash.
#
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_vhdx "$build"
need_tools test_vhdx qemu-img qemu-io python3 cmp

T=$(mktemp -d /tmp/imgtool-vhdx.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

passed=0
failed=0
LOG=$T/case.log

# run NAME CMD...: the case passes when CMD exits 0
run() {
	local name=$1
	shift
	if "$@" >"$LOG" 2>&1; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		sed 's/^/    /' "$LOG" | tail -n 20
		failed=$((failed + 1))
	fi
}

# ---- a. qemu-img writes, imgtool reads ----
qemu_image() {   # NAME OPTS SIZE
	qemu-img create -q -f vhdx -o "$2" "$1" "$3" &&
	qemu-io -f vhdx -c 'write -q -P 0x5a 0 64k' -c 'write -q -P 0x11 1M 3M' \
		-c 'write -q -z 9M 2M' -c 'write -q -P 0x77 17M 513k' \
		-c "write -q -P 0x42 $(( $(numfmt --from=iec "$3") - 65536 )) 64k" "$1"
}
case_a() {   # NAME OPTS SIZE
	qemu_image "$1" "$2" "$3" &&
	qemu-img convert -f vhdx -O raw "$1" q.raw &&
	"$IMGTOOL" convert -f vhdx -O raw "$1" i.raw &&
	cmp q.raw i.raw &&
	qemu-img info --output=json "$1" | grep -v actual-size >q.json &&
	"$IMGTOOL" info --output=json "$1" | grep -v actual-size >i.json &&
	diff q.json i.json &&
	"$IMGTOOL" check "$1" &&
	"$IMGTOOL" compare "$1" q.raw
}
run "qemu dynamic 100M -> raw identical, info equal" case_a qd.vhdx subformat=dynamic 100M
run "qemu fixed 64M -> raw identical, info equal" case_a qf.vhdx subformat=fixed 64M
run "qemu dynamic 1M blocks, 4M log" case_a qb.vhdx block_size=1M,log_size=4M 40M
run "qemu dynamic 2G (16M blocks)" case_a qg.vhdx subformat=dynamic 2G
run "qemu dynamic 64M blocks, odd size" case_a qo.vhdx block_size=64M 100000K

# ---- b. imgtool writes, qemu-img checks ----
python3 "$top/fixtures/make-raw.py" src.raw 48M >/dev/null 2>&1 ||
	{ qemu-img create -q -f raw src.raw 48M && qemu-io -f raw -c 'write -q -P 3 1M 5M' src.raw >/dev/null; }
case_b() {   # OPTS
	rm -f o.vhdx
	"$IMGTOOL" convert -f raw -O vhdx ${1:+-o "$1"} src.raw o.vhdx &&
	qemu-img check o.vhdx &&
	qemu-img compare -f raw -F vhdx src.raw o.vhdx &&
	"$IMGTOOL" compare -f raw -F vhdx src.raw o.vhdx
}
run "imgtool dynamic: qemu check clean, compare equal" case_b ""
run "imgtool fixed: qemu check clean, compare equal" case_b subformat=fixed
run "imgtool block_size=1M,log_size=2M" case_b block_size=1M,log_size=2M
run "imgtool block_size=256M" case_b block_size=256M
case_b_holes() {
	rm -f h.raw h.vhdx
	qemu-img create -q -f raw h.raw 1G &&
	qemu-io -f raw -c 'write -q -P 9 100M 1M' h.raw >/dev/null &&
	"$IMGTOOL" convert -O vhdx h.raw h.vhdx &&
	qemu-img compare -f raw h.raw h.vhdx &&
	[ "$(du -k h.vhdx | cut -f1)" -lt 40000 ]
}
run "holes kept: 1G disk with 1M of data stays small" case_b_holes
case_b_qcow2() {
	rm -f a.qcow2 b.vhdx c.qcow2
	qemu-img convert -f raw -O qcow2 src.raw a.qcow2 &&
	"$IMGTOOL" convert -O vhdx a.qcow2 b.vhdx && qemu-img check b.vhdx &&
	"$IMGTOOL" convert -O qcow2 b.vhdx c.qcow2 && qemu-img check c.qcow2 &&
	qemu-img compare a.qcow2 c.qcow2 && qemu-img compare b.vhdx src.raw
}
run "qcow2 -> vhdx -> qcow2" case_b_qcow2
case_b_create_io() {
	rm -f w.vhdx
	"$IMGTOOL" create -f vhdx -o subformat=dynamic w.vhdx 32M >/dev/null &&
	qemu-io -f vhdx -c 'write -q -P 1 3M 100k' w.vhdx &&
	qemu-img check w.vhdx && "$IMGTOOL" check w.vhdx &&
	qemu-img convert -O raw w.vhdx w1.raw && "$IMGTOOL" convert -O raw w.vhdx w2.raw &&
	cmp w1.raw w2.raw
}
run "imgtool create, qemu-io writes into it" case_b_create_io

# ---- c. fixtures ----
python3 "$top/fixtures/make-vhdx.py" fx >/dev/null
case_c_read() {   # IMAGE RAW
	rm -f out.raw
	"$IMGTOOL" convert -O raw "fx/$1" out.raw && cmp out.raw "fx/$2" &&
	"$IMGTOOL" compare "fx/$1" "fx/$2"
}
run "4 KiB logical sectors read back" case_c_read sector4k.vhdx sector4k.raw
run "differencing chain (partial blocks) read back" case_c_read child.avhdx child.raw
run "parent linkage GUID case-insensitive" case_c_read child-upper.avhdx child.raw
run "non-empty log replayed in memory" case_c_read log.vhdx log.raw
case_c_chain_info() {
	"$IMGTOOL" info --output=json fx/child.avhdx | grep -q '"backing-filename": "parent.vhdx"' &&
	"$IMGTOOL" info --output=json fx/child.avhdx | grep -q '"backing-filename-format": "vhdx"'
}
run "child info names its parent" case_c_chain_info
case_c_log_readonly() {
	local before after
	before=$(md5sum <fx/log.vhdx)
	"$IMGTOOL" convert -O raw fx/log.vhdx out.raw && "$IMGTOOL" info fx/log.vhdx &&
	after=$(md5sum <fx/log.vhdx) && [ "$before" = "$after" ]
}
run "read-only open never writes the log replay" case_c_log_readonly
case_c_log_qemu() {
	cp fx/log.vhdx lq.vhdx && qemu-img check -r all lq.vhdx &&
	qemu-img convert -O raw lq.vhdx lq.raw && cmp lq.raw fx/log.raw
}
run "qemu-img's replay of the fixture log equals log.raw" case_c_log_qemu
case_c_log_inplace() {
	cp fx/log.vhdx li.vhdx
	"$IMGTOOL" check li.vhdx; [ $? -eq 2 ] || return 1
	"$IMGTOOL" check -r all li.vhdx && "$IMGTOOL" check li.vhdx &&
	qemu-img check li.vhdx && qemu-img compare -F raw li.vhdx fx/log.raw
}
run "check -r all replays the log in place; qemu agrees" case_c_log_inplace
case_c_bad_parent() {
	local rc
	"$IMGTOOL" convert -O raw fx/bad-parent-guid.avhdx out.raw 2>err
	rc=$?
	[ $rc -eq 1 ] && grep -q 'data write GUID' err && [ "$(wc -l <err)" -eq 1 ]
}
run "parent with another data write GUID refused" case_c_bad_parent
case_c_bad_log() {
	local rc
	"$IMGTOOL" convert -O raw fx/bad-log-crc.vhdx out.raw 2>err
	rc=$?
	[ $rc -eq 1 ] && grep -q 'corrupt VHDX log' err && [ "$(wc -l <err)" -eq 1 ]
}
run "corrupt log refused with a clear error" case_c_bad_log
case_c_parent_changed() {
	local rc
	mkdir -p pc && cp fx/parent.vhdx fx/child.avhdx pc/ &&
	qemu-io -f vhdx -c 'write -q -P 1 0 4k' pc/parent.vhdx &&
	{ "$IMGTOOL" convert -O raw pc/child.avhdx out.raw 2>err; rc=$?; } ;
	[ "$rc" -eq 1 ] && grep -q 'data write GUID' err
}
run "a parent written after the child was made is refused" case_c_parent_changed

# ---- d. malformed images ----
gen=""
for g in "$top/$build/tests/bad-input/gen_bad_vhdx" "$build/tests/bad-input/gen_bad_vhdx"; do
	[ -x "$g" ] && gen=$g && break
done
case_d() {   # IMAGE KIND
	local rc lines
	"$IMGTOOL" convert -f vhdx -O raw "bad/$1" out.raw 2>err
	rc=$?
	[ $rc -lt 124 ] || return 1
	case $2 in
	reject|either)
		lines=$(wc -l <err)
		[ $rc -eq 1 ] && [ "$lines" -eq 1 ] && grep -qE "^imgtool: .*$1'?: " err ;;
	*) return 0 ;;
	esac
}
if [ -n "$gen" ]; then
	mkdir -p bad && "$gen" bad
	while read -r name kind; do
		run "bad input $name ($kind)" case_d "$name" "$kind"
	done <bad/MANIFEST
else
	echo "FAIL gen_bad_vhdx not built (make tools)"
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
