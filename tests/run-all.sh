#!/usr/bin/env bash
# tests/run-all.sh BUILD_DIR - run every test suite (unit, interop, bad-input, crash, backends,
# serve, launcher, guest, v2v),
# show each suite's output, and finish with the summed "N passed, N failed" line.
# Exits nonzero if any suite failed (or could not run).
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
total_pass=0
total_fail=0
summary=()
for suite in unit interop bad-input crash backends serve launcher guest v2v; do
	script=$here/$suite/run.sh
	echo "=== $suite ==="
	if [ ! -x "$script" ]; then
		echo "FAIL $suite: $script missing or not executable"
		total_fail=$((total_fail + 1))
		summary+=("$suite: missing")
		continue
	fi
	log=$(mktemp)
	"$script" "$build" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$counts" ]; then
		echo "FAIL $suite: no 'N passed, N failed' line (exit $rc)"
		total_fail=$((total_fail + 1))
		summary+=("$suite: no summary (exit $rc)")
		continue
	fi
	p=${counts%% passed*}
	f=${counts#*, }
	f=${f%% failed}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# the suite failed without counting it: count the suite itself
		f=1
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	summary+=("$suite: $p passed, $f failed")
done
echo "=== summary ==="
for s in "${summary[@]}"; do
	echo "  $s"
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
