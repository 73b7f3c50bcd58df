#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/run-files.sh SUITE_DIR BUILD_DIR - the one driver of the suites made of test
# files: runs every SUITE_DIR/test_*.sh (each sources tests/lib.sh, prints "PASS
# name" / "FAIL name" / "SKIP name: reason" lines and ends with its summary) and
# ends with the suite's summary line, "N passed, N failed" (", N skipped" when any).
# The PASS/FAIL/SKIP lines are counted, so a file that dies half way still counts
# what it printed.  A file that exits nonzero without a FAIL line counts as one
# failure, except exit 77: the file skipped (the rest of) itself.
set -u
here=$(cd "$1" && pwd)
build=${2:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
case $build in /*) ;; *) build=$top/$build ;; esac
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$here"/test_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t")
	echo "--- $name"
	bash "$t" "$build" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	s=$(grep -c '^SKIP ' "$log")
	tests_passed=$((tests_passed + p))
	tests_failed=$((tests_failed + f))
	tests_skipped=$((tests_skipped + s))
	while IFS= read -r line; do
		tests_skip_reasons+=("$name: ${line#SKIP }")
	done < <(grep '^SKIP ' "$log")
	if [ "$rc" -eq "$SKIP_STATUS" ] && [ "$s" -eq 0 ]; then
		skip "$name" "exited $rc (skipped) without saying why"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne "$SKIP_STATUS" ] && [ "$f" -eq 0 ]; then
		ko "$name exited $rc"
	fi
done
summary
