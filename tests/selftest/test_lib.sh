#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/selftest/test_lib.sh BUILD_DIR - proves that the shared runner cannot pass
# what it should fail: each case runs a small script against tests/lib.sh (or a
# small suite through tests/run-files.sh) in a child bash and checks its lines and
# exit status.
#   - run_case fails a case whose FIRST step fails (and a middle one), even when
#     the last step succeeds; check uses the command's status;
#   - setup steps are not counted as passes, a failed one is a FAIL;
#   - requires: a missing tool prints a SKIP with the reason, ends the file with
#     exit 77 and the summary line "0 passed, 0 failed, 1 skipped"; need_tools
#     makes a missing tool a FAIL;
#   - run-files.sh counts a skipped file as a SKIP with its reason (not a failure),
#     a file that dies without a FAIL line as a failure.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
W=$(mktemp -d /tmp/imgtool-selftest.XXXXXX)
trap 'rm -rf "$W"' EXIT

# child SCRIPT: run the script body after sourcing lib.sh; its output in $W/out,
# its exit status in $W/rc
child() {
	local rc=0
	printf 'top=%q\n. "$top/tests/lib.sh"\n%s\n' "$top" "$1" >"$W/child.sh"
	bash "$W/child.sh" >"$W/out" 2>&1 || rc=$?
	echo "$rc" >"$W/rc"
}
# has LINE: the child printed exactly that line; rc N: it exited N
has() { grep -qxF -- "$1" "$W/out" || { echo "missing line '$1' in:"; cat "$W/out"; return 1; }; }
hasnt() { ! grep -qF -- "$1" "$W/out" || { echo "unexpected '$1' in:"; cat "$W/out"; return 1; }; }
rc() { [ "$(cat "$W/rc")" = "$1" ] || { echo "exit $(cat "$W/rc"), expected $1"; return 1; }; }

# the foundation is checked with an explicit && chain (not through run_case, the
# function under test)
case_first_step() {
	child 'steps() { false; true; }
run_case "first fails" steps
summary'
	has "FAIL first fails (a step exited 1)" && has "0 passed, 1 failed" && rc 1
}
check "run_case: a failing first command fails the case" case_first_step

case_middle_step() {
	child 'steps() { true; [ 1 = 2 ]; echo still here; }
run_case "middle fails" steps
summary'
	has "FAIL middle fails (a step exited 1)"
	hasnt "still here"
	rc 1
}
run_case "run_case: a failing middle step fails the case, later steps do not run" case_middle_step

case_all_steps() {
	child 'steps() { true; true; }
run_case "all pass" steps
summary'
	has "PASS all pass"
	has "1 passed, 0 failed"
	rc 0
}
run_case "run_case: a case whose steps all succeed passes" case_all_steps

case_check() {
	child 'check "yes" true
check "no" false
summary'
	has "PASS yes"
	has "FAIL no"
	has "1 passed, 1 failed"
	rc 1
}
run_case "check: the command's status decides" case_check

case_setup() {
	child 'setup true
setup true
summary'
	has "0 passed, 0 failed"
	rc 0
	child 'setup false || echo went on
summary'
	has "FAIL setup: false"
	has "went on"
	has "0 passed, 1 failed"
	rc 1
}
run_case "setup: not counted when it works, a FAIL when it does not" case_setup

case_requires() {
	child 'ok before
requires thisfile true no-such-tool-xyz
ok after'
	has "PASS before"
	has "SKIP thisfile: needs no-such-tool-xyz (optional, not installed)"
	has "skipped: thisfile: needs no-such-tool-xyz (optional, not installed)"
	has "1 passed, 0 failed, 1 skipped"
	hasnt "PASS after"
	rc 77
}
run_case "requires: a missing optional tool SKIPs the rest, exit 77" case_requires

case_requires_present() {
	child 'requires thisfile true sh
ok after
summary'
	has "PASS after"
	has "1 passed, 0 failed"
	rc 0
}
run_case "requires: present tools change nothing" case_requires_present

case_need_tools() {
	child 'need_tools thisfile true no-such-tool-xyz
ok after'
	has "FAIL thisfile: no-such-tool-xyz not found (make deps installs it)"
	has "0 passed, 1 failed"
	hasnt "PASS after"
	rc 1
}
run_case "need_tools: a missing required tool is a FAIL" case_need_tools

case_driver() {
	local s=$W/suite
	mkdir -p "$s"
	printf '. %q/tests/lib.sh\nok one\nok two\nsummary\n' "$top" >"$s/test_a.sh"
	printf '. %q/tests/lib.sh\nok three\nrequires test_b no-such-tool-xyz\nok four\n' "$top" >"$s/test_b.sh"
	printf 'exit 77\n' >"$s/test_c.sh"
	child "bash \"\$top/tests/run-files.sh\" '$s' build"
	has "3 passed, 0 failed, 2 skipped"
	has "skipped: test_b.sh: test_b: needs no-such-tool-xyz (optional, not installed)"
	has "skipped: test_c.sh: exited 77 (skipped) without saying why"
	rc 0
	printf 'echo PASS five; exit 3\n' >"$s/test_d.sh"
	child "bash \"\$top/tests/run-files.sh\" '$s' build"
	has "FAIL test_d.sh exited 3"
	has "4 passed, 1 failed, 2 skipped"
	rc 1
}
run_case "run-files.sh: skipped files are SKIPs with reasons, a dying file fails" case_driver

case_summary_counts() {
	printf 'PASS a\n12 passed, 3 failed\n' >"$W/log1"
	[ "$(summary_counts "$W/log1")" = "12 3 0" ]
	printf '1 passed, 0 failed\nskipped: x: y\n4 passed, 0 failed, 2 skipped\n' >"$W/log2"
	[ "$(summary_counts "$W/log2")" = "4 0 2" ]
	printf 'PASS a\n    7 passed, 0 failed\n' >"$W/log3"
	! summary_counts "$W/log3"
}
run_case "summary_counts reads the line run-all.sh sums (skips optional)" case_summary_counts

summary
