# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/lib.sh - the scaffolding every shell test sources ($top is the repository),
# so that every suite counts, reports and skips the same way.
#
# Results (each prints one line and counts it):
#   ok NAME / ko NAME      "PASS NAME" / "FAIL NAME"
#   skip NAME REASON       "SKIP NAME: REASON" (the reason is repeated by summary)
#   summary                the SKIP reasons, then "N passed, N failed" (with
#                          ", N skipped" when any); returns nonzero when any failed.
#   summary_counts FILE    "PASSED FAILED SKIPPED" from the last such line in FILE
#                          (how run-all.sh reads a suite's log); fails if none.
# Cases:
#   check NAME CMD...      one command; its exit status is the case's result and its
#                          output is shown only when it fails
#   run_case NAME CMD...   a case of several steps (usually a function): it runs in a
#                          subshell under `set -e`, so EVERY step must succeed, not
#                          only the last.  Call it as a plain statement: bash ignores
#                          set -e in anything run under if, !, && or ||, which would
#                          make all but the last step count for nothing.
#   setup CMD...           a step that prepares cases: silent and NOT counted when it
#                          works, a FAIL when it does not (a broken fixture never
#                          passes unnoticed)
# Tools:
#   need_tools NAME TOOL...  tools `make deps` installs: CI has them, so a missing one
#                          is a FAIL (and the file stops), never a skip.
#   requires NAME TOOL...  optional tools (not in make deps, or needing what CI's
#                          machine may lack): a missing one SKIPs the rest of the file
#                          with the reason, exit 77 (the drivers count a SKIP, not a
#                          failure, as automake and nbdkit's tests do).
#                          Today every tool the suites use is in the Makefile's
#                          DEBIAN_PACKAGES, so all go through need_tools; requires
#                          is for the first one that is not (the selftest proves it).
#   find_imgtool NAME BUILD_DIR  IMGTOOL: $IMGTOOL_BIN if set, else BUILD_DIR/imgtool;
#                          a FAIL and exit when there is none.
tests_passed=0
tests_failed=0
tests_skipped=0
tests_skip_reasons=()
# the output of the case running now: a file deleted at once and kept open (fd
# tests_case_fd; /dev/fd/N reopens it, truncating on ">"), so that no script has
# anything to clean up, however it ends
tests_case_log=$(mktemp /tmp/imgtool-case.XXXXXX)
exec {tests_case_fd}<>"$tests_case_log"
rm -f "$tests_case_log"
tests_case_log=/dev/fd/$tests_case_fd
SKIP_STATUS=77

ok() {
	echo "PASS $*"
	tests_passed=$((tests_passed + 1))
}
ko() {
	echo "FAIL $*"
	tests_failed=$((tests_failed + 1))
}
skip() {
	local name=$1
	shift
	echo "SKIP $name: $*"
	tests_skipped=$((tests_skipped + 1))
	tests_skip_reasons+=("$name: $*")
}

summary() {
	local r line
	for r in "${tests_skip_reasons[@]}"; do
		echo "skipped: $r"
	done
	line="$tests_passed passed, $tests_failed failed"
	[ "$tests_skipped" -gt 0 ] && line="$line, $tests_skipped skipped"
	echo "$line"
	[ "$tests_failed" -eq 0 ]
}

summary_counts() {
	local line p f s
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$1" | tail -n 1)
	[ -n "$line" ] || return 1
	read -r p _ f _ s _ <<<"${line//,/}"
	echo "$p $f ${s:-0}"
}

# show_log: the tail of the last case's output, indented under its FAIL line
show_log() {
	sed 's/^/    /' "$tests_case_log" | tail -n "${1:-20}"
}

# (the locals of check and run_case have names no case uses: a case's command sees
# the caller's variables, and a local "name" here would hide the caller's)
check() {
	local _check_name=$1
	shift
	if "$@" >"$tests_case_log" 2>&1; then
		ok "$_check_name"
	else
		ko "$_check_name"
		show_log
	fi
}

run_case() {
	local _case_name=$1 _case_rc
	shift
	# not under if/&&/||: that would switch set -e off inside the subshell
	(
		set -e
		"$@"
	) >"$tests_case_log" 2>&1
	_case_rc=$?
	if [ "$_case_rc" -eq 0 ]; then
		ok "$_case_name"
	else
		ko "$_case_name (a step exited $_case_rc)"
		show_log
	fi
}

setup() {
	if ! "$@" >"$tests_case_log" 2>&1; then
		ko "setup: $*"
		show_log 10
		return 1
	fi
}

find_imgtool() {
	local name=$1 build=$2 c
	IMGTOOL=
	for c in ${IMGTOOL_BIN:-} "$build/imgtool" "$top/$build/imgtool" "$top/build/imgtool"; do
		if [ -n "$c" ] && [ -f "$c" ] && [ -x "$c" ]; then
			IMGTOOL=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
			return 0
		fi
	done
	ko "$name: no imgtool binary in $build/; run make first"
	summary
	exit 1
}

need_tools() {
	local name=$1 t missing=
	shift
	for t in "$@"; do
		command -v "$t" >/dev/null || missing="$missing $t"
	done
	[ -z "$missing" ] && return 0
	ko "$name:$missing not found (make deps installs it)"
	summary
	exit 1
}

requires() {
	local name=$1 t missing=
	shift
	for t in "$@"; do
		command -v "$t" >/dev/null || missing="$missing $t"
	done
	[ -z "$missing" ] && return 0
	skip "$name" "needs$missing (optional, not installed)"
	summary || exit 1
	exit "$SKIP_STATUS"
}
