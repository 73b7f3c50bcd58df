#!/usr/bin/env bash
# tests/run-files.sh SUITE_DIR BUILD_DIR - the driver of the suites made of test
# files (serve, v2v): runs every SUITE_DIR/test_*.sh (each prints "PASS name" /
# "FAIL name" lines and exits nonzero when it could not run) and ends with
# "N passed, N failed".
set -u
here=$(cd "$1" && pwd)
build=${2:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
pass=0
fail=0
for t in "$here"/test_*.sh; do
	[ -f "$t" ] || continue
	echo "--- $(basename "$t")"
	log=$(mktemp)
	bash "$t" "$build" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	rm -f "$log"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $(basename "$t") exited $rc"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
