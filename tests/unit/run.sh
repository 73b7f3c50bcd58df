#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/unit/run.sh BUILD_DIR - run every CUnit binary $BUILD_DIR/tests/unit/test_*
# and sum their "Run Summary" test counts into one "N passed, N failed" line
# (tests/lib.sh's summary).  A binary that crashes or prints no summary counts as
# one failed test; a test that ended with UNIT_SKIP (tests/unit/unit.h) printed a
# "SKIP name: reason" line and counts as a skip, not a pass.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
dir=$build/tests/unit
shopt -s nullglob
bins=("$dir"/test_*)
if [ ${#bins[@]} -eq 0 ]; then
	ko "unit: no test binaries in $dir (run make tools first)"
	summary
	exit 1
fi
for bin in "${bins[@]}"; do
	[ -x "$bin" ] || continue
	case $bin in *.d|*.o) continue ;; esac
	name=${bin##*/}
	out=$("$bin" 2>&1)
	rc=$?
	# CUnit basic mode: "tests  <total> <ran> <passed> <failed> <inactive>"
	line=$(printf '%s\n' "$out" | awk '$1 == "tests" && NF >= 5 { print $4, $5; exit }')
	asserts=$(printf '%s\n' "$out" | awk '$1 == "asserts" && NF >= 5 { print $4 " of " $2; exit }')
	if [ -z "$line" ]; then
		printf '%s\n' "$out" | tail -n 20
		ko "$name (exit $rc, no CUnit summary: crashed?)"
		continue
	fi
	set -- $line
	p=$1 f=$2
	[ "$f" = "n/a" ] && f=0
	while IFS= read -r skipped; do
		skip "$name" "${skipped#SKIP }"
		p=$((p - 1))
	done < <(printf '%s\n' "$out" | grep '^SKIP ')
	if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | grep -v '^$' | tail -n 40
		[ "$f" -eq 0 ] && f=1
		echo "FAIL $name: $p passed, $f failed (asserts passed: $asserts, exit $rc)"
	else
		echo "PASS $name: $p tests (asserts passed: $asserts)"
	fi
	tests_passed=$((tests_passed + p))
	tests_failed=$((tests_failed + f))
done
summary
