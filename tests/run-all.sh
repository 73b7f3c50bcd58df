#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/run-all.sh BUILD_DIR - run every test suite, show each suite's output, and
# finish with the summed "N passed, N failed" line (", N skipped" and the reasons
# when something was skipped).  Exits nonzero if any suite
# failed (or could not run).
#
# The quick suites (selftest, unit, interop, bad-input, security, crash, backends, docs, packaging, sync) run one after the
# other.  The guest suites spend their time in single-threaded TCG guests and
# libguestfs appliances, so they run in two lanes side by side — serve, launcher,
# guest, windows, clone and migrate in one, v2v in the other — which halves their wall time on
# CI's two cores.  A lane's output is shown when it ends, suite by suite.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/lib.sh"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# run_suite NAME - run one suite into $logs/NAME.log; "PASSED FAILED SKIPPED HOW" into
# $logs/NAME.sum.  Its last line is "N passed, N failed" with ", N skipped" when
# something was skipped; exit 77 means the whole suite skipped itself.
run_suite() {
	local suite=$1 script=$here/$1/run.sh log=$logs/$1.log rc counts p f s
	if [ ! -x "$script" ]; then
		echo "FAIL $suite: $script missing or not executable" >"$log"
		echo "0 1 0 missing" >"$logs/$suite.sum"
		return
	fi
	"$script" "$build" >"$log" 2>&1
	rc=$?
	if ! counts=$(summary_counts "$log"); then
		echo "FAIL $suite: no 'N passed, N failed' line (exit $rc)" >>"$log"
		echo "0 1 0 no-summary" >"$logs/$suite.sum"
		return
	fi
	read -r p f s <<<"$counts"
	# a suite that failed without counting it counts as one failure
	[ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$f" -eq 0 ] && f=1
	echo "$p $f $s ok" >"$logs/$suite.sum"
}

show_suite() {
	echo "=== $1 ==="
	cat "$logs/$1.log"
}

quick="selftest unit interop bad-input security crash backends docs packaging sync"
lane_a="serve launcher guest windows clone migrate"
lane_b="v2v"
for suite in $quick; do
	run_suite "$suite"
	show_suite "$suite"
done
# both lanes boot the fixture guest: build it once before they start
if [ "$(id -u)" = 0 ]; then
	echo "=== fixture ==="
	"$top/fixtures/make-guest.sh" || echo "(the fixture did not build: the guest suites will say so)"
fi
(for suite in $lane_a; do run_suite "$suite"; done) &
lane_a_pid=$!
(for suite in $lane_b; do run_suite "$suite"; done) &
lane_b_pid=$!
wait "$lane_a_pid"
for suite in $lane_a; do show_suite "$suite"; done
wait "$lane_b_pid"
for suite in $lane_b; do show_suite "$suite"; done

total_pass=0
total_fail=0
total_skip=0
echo "=== summary ==="
for suite in $quick $lane_a $lane_b; do
	read -r p f s how <"$logs/$suite.sum"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
	case $how in
	ok)
		line="$p passed, $f failed"
		[ "$s" -gt 0 ] && line="$line, $s skipped"
		echo "  $suite: $line"
		;;
	*) echo "  $suite: $how" ;;
	esac
	# every skip with its reason: the "skipped:" lines right above the suite's
	# final counts line
	awk '/^skipped: / { b = b "    " $0 "\n"; next }
	     /^[0-9]+ passed, [0-9]+ failed/ { last = b }
	     { b = "" }
	     END { printf "%s", last }' "$logs/$suite.log"
done
line="$total_pass passed, $total_fail failed"
[ "$total_skip" -gt 0 ] && line="$line, $total_skip skipped"
echo "$line"
[ "$total_fail" -eq 0 ]
