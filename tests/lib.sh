# tests/lib.sh - shared by the test scripts (sourced; $top is the repository).
#
# find_imgtool NAME BUILD_DIR: set IMGTOOL to the binary under test ($IMGTOOL_BIN if
# set, else BUILD_DIR/imgtool), or report one failure and exit.
# need_tools NAME TOOL...: each tool must be on PATH (make deps installs them).
# ok, ko, check: PASS/FAIL lines for the suites made of test files (at the end).

find_imgtool() {
	local name=$1 build=$2 c
	IMGTOOL=
	for c in ${IMGTOOL_BIN:-} "$build/imgtool" "$top/$build/imgtool" "$top/build/imgtool"; do
		if [ -n "$c" ] && [ -f "$c" ] && [ -x "$c" ]; then
			IMGTOOL=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
			return 0
		fi
	done
	echo "$name: no imgtool binary in $build/; run make first"
	echo "0 passed, 1 failed"
	exit 1
}

need_tools() {
	local name=$1 t
	shift
	for t in "$@"; do
		if ! command -v "$t" >/dev/null; then
			echo "$name: $t not found (make deps installs it)"
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
}

# The suites made of test files (tests/run-files.sh counts their lines):
# ok NAME / ko NAME print "PASS NAME" / "FAIL NAME"; check NAME COMMAND... runs the
# command and prints PASS or FAIL for it.
ok() { echo "PASS $*"; }
ko() { echo "FAIL $*"; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else ko "$name"; fi
}
