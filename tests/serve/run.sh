#!/usr/bin/env bash
# tests/serve/run.sh BUILD_DIR - the serve suite: runs every tests/serve/test_*.sh (each prints
# "PASS name" / "FAIL name" lines and exits nonzero when it could not run) and ends
# with "N passed, N failed".
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
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
