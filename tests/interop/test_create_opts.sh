#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_create_opts.sh BUILD_DIR - each format's -o option table
# (formats/format.h, create_opts) against qemu-img 7.2, for raw, qcow2, vmdk, vpc,
# vhdx and vdi:
#
#   a. create -f FMT -o help (with and without a target file name) lists qemu-img's
#      options minus those imgtool does not implement, plus only the imgtool extras
#      named below; a line for an option both list is the same line; the header and
#      trailer are qemu-img's.  convert -O FMT -o help prints the same list.
#   b. an option the format does not declare is refused in qemu-img's words, by
#      create and convert, and no file is left behind; a bool option with a bad
#      value is refused in qemu-img's words.
#   c. the "Formatting ..." line of a default create is qemu-img's.
#   d. amend -o help: qcow2 lists a subset of qemu-img's amend options; a format
#      without amend is refused as qemu-img refuses it; amend refuses undeclared,
#      creation-only and mistyped options in qemu-img's words.
#   e. measure checks -o against the same table.
#
# One "PASS name" / "FAIL name" line per case (a failing case says why above
# it), then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_create_opts "$build"
need_tools test_create_opts qemu-img sort comm diff

T=$(mktemp -d /tmp/imgtool-create-opts.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

# every case through lib.sh's check (silent when it passes); the tally is read
# back from its PASS/FAIL lines
RESULTS=$T/results
run() { check "$@" | tee -a "$RESULTS"; }

I() { "$IMGTOOL" "$@"; }

# qemu-img options imgtool does not implement (refused if given), per format
unsupported() {
	case $1 in
	qcow2) echo "data_file data_file_raw" ;;
	vhdx) echo "preallocation" ;;
	esac
}

# imgtool's own options, per format
extras() {
	case $1 in
	vpc) echo "azure hyperv" ;;
	vhdx) echo "logical_sector_size physical_sector_size" ;;
	esac
}

# names FILE: the option names of a help listing, sorted
names() {
	sed -n 's/^  \([^=]*\)=<.*/\1/p' "$1" | sort
}

words() {
	local w
	for w in "$@"; do echo "$w"; done | sort
}

# same_help FMT [FILE]: imgtool's list = qemu-img's - unsupported + extras, the
# shared lines identical, header and trailer identical
same_help() {
	local fmt=$1 file=${2:-} q=$T/q.help i=$T/i.help n
	qemu-img create -f "$fmt" -o help $file >"$q" || return 1
	I create -f "$fmt" -o help $file >"$i" || return 1
	# shellcheck disable=SC2046
	comm -23 <(names "$q") <(words $(unsupported "$fmt")) >"$T/want"
	# shellcheck disable=SC2046
	words $(extras "$fmt") >"$T/extra"
	sort -u "$T/want" "$T/extra" >"$T/want.all"
	names "$i" >"$T/got"
	diff "$T/want.all" "$T/got" || { echo "option names differ (< expected, > imgtool)"; return 1; }
	for n in $(cat "$T/want"); do
		grep -m1 "^  $n=<" "$q" >"$T/ql"
		grep -m1 "^  $n=<" "$i" >"$T/il"
		diff "$T/ql" "$T/il" || { echo "the line for $n differs"; return 1; }
	done
	diff <(grep -v '^  ' "$q") <(grep -v '^  ' "$i") || { echo "header/trailer differ"; return 1; }
}

same_convert_help() {
	local fmt=$1
	I create -f "$fmt" -o help >"$T/c.help" || return 1
	I convert -O "$fmt" -o help >"$T/v.help" || return 1
	diff "$T/c.help" "$T/v.help" || return 1
	I create -f "$fmt" -o help "x.$fmt" >"$T/c.help" || return 1
	I convert -O "$fmt" -o help src.raw "x.$fmt" >"$T/v.help" || return 1
	diff "$T/c.help" "$T/v.help"
}

# refused_like_qemu CMD...: run with "qemu-img" and with imgtool; both exit 1 with the
# same message (the program name aside) and leave no file named $OUT
refused_like_qemu() {
	local qrc irc
	rm -f "$OUT"
	qemu-img "$@" >/dev/null 2>"$T/q.err"
	qrc=$?
	[ -e "$OUT" ] && { echo "qemu-img left $OUT"; rm -f "$OUT"; }
	I "$@" >/dev/null 2>"$T/i.err"
	irc=$?
	[ "$qrc" -eq 1 ] || { echo "qemu-img exited $qrc"; return 1; }
	[ "$irc" -eq 1 ] || { echo "imgtool exited $irc"; return 1; }
	[ ! -e "$OUT" ] || { echo "imgtool left $OUT behind"; return 1; }
	sed 's/^qemu-img: //' "$T/q.err" >"$T/q.msg"
	sed 's/^imgtool: //' "$T/i.err" >"$T/i.msg"
	[ -s "$T/q.msg" ] || { echo "qemu-img printed no message"; return 1; }
	diff "$T/q.msg" "$T/i.msg"
}

same_formatting() {
	local fmt=$1
	rm -f "q.$fmt" "i.$fmt"
	qemu-img create -f "$fmt" "x.$fmt" 1M >"$T/q.out" || return 1
	rm -f "x.$fmt"
	I create -f "$fmt" "x.$fmt" 1M >"$T/i.out" || return 1
	rm -f "x.$fmt"
	diff "$T/q.out" "$T/i.out"
}

# a bool option of each format, given a value that is not one
bool_opt() {
	case $1 in
	raw) echo nocow ;;
	qcow2) echo lazy_refcounts ;;
	vmdk) echo compat6 ;;
	vpc) echo force_size ;;
	vhdx) echo block_state_zero ;;
	luks) echo nocow ;;
	vdi) echo static ;;
	esac
}

qemu-img create -q -f raw src.raw 1M || { echo "FAIL setup: qemu-img create"; exit 1; }

for fmt in raw qcow2 vmdk vpc vhdx luks vdi; do
	run "$fmt: create -o help lists qemu-img's options" same_help "$fmt"
	run "$fmt: create -o help FILE lists qemu-img's options with the file's" \
		same_help "$fmt" "x.$fmt"
	run "$fmt: convert -O $fmt -o help = create -o help" same_convert_help "$fmt"
	OUT=x.$fmt
	run "$fmt: create refuses an undeclared option as qemu-img does" \
		refused_like_qemu create -f "$fmt" -o no_such_option=1 "$OUT" 1M
	run "$fmt: convert refuses an undeclared option as qemu-img does" \
		refused_like_qemu convert -O "$fmt" -o no_such_option=1 src.raw "$OUT"
	run "$fmt: create refuses a bad bool value as qemu-img does" \
		refused_like_qemu create -f "$fmt" -o "$(bool_opt "$fmt")=maybe" "$OUT" 1M
	# luks needs its secret to create anything (tests/interop/test_luks.sh)
	[ "$fmt" = luks ] && continue
	run "$fmt: the Formatting line of a default create is qemu-img's" \
		same_formatting "$fmt"
done

OUT=x.vpc
run "vpc: -b is refused as qemu-img refuses it" \
	refused_like_qemu create -f vpc -b src.raw -F raw "$OUT" 1M
OUT=x.vhdx
run "vhdx: a bad subformat is refused as qemu-img refuses it" \
	refused_like_qemu create -f vhdx -o subformat=bogus "$OUT" 1M

amend_subset() {
	qemu-img amend -f qcow2 -o help >"$T/q.help" || return 1
	I amend -f qcow2 -o help >"$T/i.help" || return 1
	[ "$(head -n1 "$T/q.help")" = "$(head -n1 "$T/i.help")" ] || return 1
	names "$T/i.help" >"$T/got"
	[ -s "$T/got" ] || { echo "no options listed"; return 1; }
	comm -13 <(names "$T/q.help") "$T/got" >"$T/extra"
	[ ! -s "$T/extra" ] || { echo "not qemu-img amend options:"; cat "$T/extra"; return 1; }
	qemu-img create -q -f qcow2 a.qcow2 1M || return 1
	I amend -o help a.qcow2 >"$T/p.help" || return 1
	diff "$T/i.help" "$T/p.help"
}
run "qcow2: amend -o help lists a subset of qemu-img's amend options" amend_subset

OUT=none
run "vmdk: amend -o help is refused as qemu-img refuses it" \
	refused_like_qemu amend -f vmdk -o help

qemu-img create -q -f qcow2 am.qcow2 1M || { echo "FAIL setup: qemu-img create am.qcow2"; exit 1; }
run "qcow2: amend refuses an undeclared option as qemu-img does" \
	refused_like_qemu amend -o no_such_option=1 am.qcow2
run "qcow2: amend refuses a creation-only option as qemu-img does" \
	refused_like_qemu amend -o cluster_size=4k am.qcow2
run "qcow2: amend refuses a bad bool value as qemu-img does" \
	refused_like_qemu amend -o lazy_refcounts=maybe am.qcow2

# measure FMT: an undeclared option is refused with qemu-img's first line (qemu-img
# adds "Invalid options for file format"), a protocol-level one is accepted
measure_opts() {
	local fmt=$1
	qemu-img measure -O "$fmt" -o no_such_option=1 --size 1M 2>"$T/q.err" && return 1
	I measure -O "$fmt" -o no_such_option=1 --size 1M 2>"$T/i.err" && return 1
	[ "$(head -n1 "$T/q.err" | sed 's/^qemu-img: //')" = "$(sed 's/^imgtool: //' "$T/i.err")" ] ||
		{ cat "$T/q.err" "$T/i.err"; return 1; }
	qemu-img measure -O "$fmt" -o nocow=on --size 1M >"$T/q.out" || return 1
	I measure -O "$fmt" -o nocow=on --size 1M >"$T/i.out" || return 1
	diff "$T/q.out" "$T/i.out"
}
run "raw: measure checks -o as qemu-img does" measure_opts raw
run "qcow2: measure checks -o as qemu-img does" measure_opts qcow2

passed=$(grep -c '^PASS' "$RESULTS")
failed=$(grep -c '^FAIL' "$RESULTS")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
