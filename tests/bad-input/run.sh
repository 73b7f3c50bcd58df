#!/bin/bash
# tests/bad-input/run.sh BUILD_DIR - malformed qcow2 images must get a clear error
# and a nonzero exit from every command, never a crash, hang or huge allocation.
#
# The images come from gen_bad_qcow2 (see its header for the kinds) plus a few
# made by qemu-img at test time.  For each image `info`, `check`, `convert -O raw`
# and `map --output=json` run (and `check -r all` on a copy) with a 10 s timeout and a memory limit, and must:
#   - not crash: exit code < 124 (no timeout, no signal), no sanitizer report;
#   - when failing: print exactly one stderr line "imgtool: FILE: reason"
#     (check may print its per-cluster ERROR lines before it);
#   - meet the expectation of the image's kind (MANIFEST).
# Under build-asan the ASan binary runs (no ulimit -v: ASan reserves terabytes of
# address space; its allocator limit caps allocations instead).
set -u

BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1

if [ -n "${IMGTOOL_BIN:-}" ]; then
	BIN=$IMGTOOL_BIN   # for testing a binary built elsewhere
else
	# the Makefile builds the CLI into the build dir (imgtool/ holds its sources)
	BIN=$BUILD/imgtool
	if ! [ -f "$BIN" ] && [ -f ./imgtool ] && [ -x ./imgtool ]; then
		BIN=./imgtool
	fi
fi
# an ASan binary cannot run under ulimit -v
ASAN=0
if [ "$BUILD" = build-asan ] || { [ -f "$BIN" ] && grep -qa __asan_init "$BIN"; }; then
	ASAN=1
fi
GEN=$BUILD/tests/bad-input/gen_bad_qcow2
for f in "$BIN" "$GEN"; do
	if ! [ -f "$f" ] || ! [ -x "$f" ]; then
		echo "bad-input: $f not built (make tools)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done

export ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=2048:detect_leaks=1:exitcode=134:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=134
MEM_KB=$((2 * 1024 * 1024))
TIMEOUT=10

WORK=$(mktemp -d /tmp/imgtool-bad-input.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
IMGS=$WORK/img
mkdir -p "$IMGS"
"$GEN" "$IMGS" || { echo "bad-input: generator failed"; echo "0 passed, 1 failed"; exit 1; }

# A few images broken from qemu-img's own output (when qemu-img is installed).
if command -v qemu-img >/dev/null && command -v qemu-io >/dev/null; then
	q=$IMGS/qemu-base.qcow2
	qemu-img create -q -f qcow2 "$q" 64M &&
	qemu-io -c 'write -q -P 1 0 1M' -c 'write -q -c -P 2 4M 256k' "$q" >/dev/null &&
	{
		# truncated in the middle of the data: clusters past the end
		cp "$q" "$IMGS/qemu-truncated-data.qcow2"
		truncate -s 400K "$IMGS/qemu-truncated-data.qcow2"
		echo "qemu-truncated-data.qcow2 either" >>"$IMGS/MANIFEST"
		# cut right after the header cluster: every table is past the end
		cp "$q" "$IMGS/qemu-truncated-64k.qcow2"
		truncate -s 64K "$IMGS/qemu-truncated-64k.qcow2"
		echo "qemu-truncated-64k.qcow2 either" >>"$IMGS/MANIFEST"
		# the header alone, cut inside the extensions
		cp "$q" "$IMGS/qemu-truncated-ext.qcow2"
		truncate -s 200 "$IMGS/qemu-truncated-ext.qcow2"
		echo "qemu-truncated-ext.qcow2 any" >>"$IMGS/MANIFEST"
		cp "$q" "$IMGS/qemu-valid.qcow2"
		echo "qemu-valid.qcow2 valid" >>"$IMGS/MANIFEST"
	}
fi

HAVE_QEMU=0
command -v qemu-img >/dev/null && HAVE_QEMU=1
passed=0
failed=0
msgs=$WORK/failures

# run_cmd NAME CMD... : runs with limits; sets RC and ERR (stderr file)
run_cmd() {
	local tag=$1
	shift
	ERR=$WORK/$tag.err
	if [ "$ASAN" = 1 ]; then
		timeout -k 2 $TIMEOUT "$@" >/dev/null 2>"$ERR" </dev/null
	else
		(ulimit -v $MEM_KB; exec timeout -k 2 $TIMEOUT "$@") >/dev/null 2>"$ERR" </dev/null
	fi
	RC=$?
}

# Log one problem of the current image (counted once per image).
fail() {
	IMG_OK=0
	{
		echo "FAIL $1"
		[ -n "${ERR:-}" ] && [ -s "$ERR" ] && head -n 8 "$ERR" | sed 's/^/    /'
	} >>"$msgs"
}

# Generic rules for one command's result.  $1 = image, $2 = command name
generic_ok() {
	local img=$1 cmd=$2 lines
	if [ "$RC" -ge 124 ]; then
		fail "$img: $cmd: exit $RC (timeout or signal)"
		return 1
	fi
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$ERR"; then
		fail "$img: $cmd: sanitizer report"
		return 1
	fi
	[ "$RC" -eq 0 ] && return 0
	if [ "$cmd" = check ] && { [ "$RC" -eq 2 ] || [ "$RC" -eq 3 ]; }; then
		return 0
	fi
	lines=$(grep -c '^imgtool: ' "$ERR")
	if [ "$cmd" = check ]; then
		# per-cluster diagnostics may come first; the reason is the last line
		# (qemu-img adds "Check failed" after the message)
		if ! tail -n 1 "$ERR" | grep -qE '^imgtool: [^ ]+: .+|^imgtool: Check failed'; then
			fail "$img: $cmd: exit $RC without an 'imgtool: FILE: reason' line"
			return 1
		fi
		return 0
	fi
	if [ "$(wc -l <"$ERR")" -ne 1 ] || [ "$lines" -ne 1 ] ||
	   ! grep -qE '^imgtool: [^ ]+: [^ ].*$' "$ERR"; then
		fail "$img: $cmd: exit $RC; stderr is not exactly one 'imgtool: FILE: reason' line"
		return 1
	fi
	return 0
}

# expect IMG CMD KIND-RULE: the kind's rule for one command
check_image() {
	local name=$1 kind=$2 img=$IMGS/$1
	local info_rc check_rc conv_rc map_rc

	run_cmd info "$BIN" info -f qcow2 "$img"
	generic_ok "$name" info || true
	info_rc=$RC
	run_cmd check "$BIN" check -f qcow2 "$img"
	generic_ok "$name" check || true
	check_rc=$RC
	rm -f "$WORK/out.raw"
	run_cmd convert "$BIN" convert -f qcow2 -O raw "$img" "$WORK/out.raw"
	generic_ok "$name" convert || true
	conv_rc=$RC
	run_cmd map "$BIN" map -f qcow2 --output=json "$img"
	generic_ok "$name" map || true
	map_rc=$RC
	# repair a copy: must not crash, and "clean" must be true for qemu-img too
	cp "$img" "$WORK/repair.qcow2"
	run_cmd repair "$BIN" check -f qcow2 -r all "$WORK/repair.qcow2"
	generic_ok "$name" check || true
	if [ "$RC" = 0 ] && [ "$HAVE_QEMU" = 1 ] && [ "$kind" != loop ] &&
	   ! qemu-img check -q -f qcow2 "$WORK/repair.qcow2" >/dev/null 2>&1; then
		fail "$name: check -r all says clean but qemu-img check disagrees"
	fi
	ERR=

	case $kind in
	valid)
		if [ "$info_rc$check_rc$conv_rc$map_rc" != 0000 ]; then
			fail "$name: valid image: info=$info_rc check=$check_rc convert=$conv_rc map=$map_rc (want all 0)"
		fi ;;
	reject)
		if [ "$info_rc" != 1 ] || [ "$check_rc" != 1 ] || [ "$conv_rc" != 1 ] || [ "$map_rc" != 1 ]; then
			fail "$name: must be refused: info=$info_rc check=$check_rc convert=$conv_rc map=$map_rc (want all 1)"
		fi ;;
	corrupt)
		if [ "$check_rc" != 2 ]; then
			fail "$name: corrupt image: check exit $check_rc (want 2)"
		fi ;;
	either)
		# refused at open (check says 1) or opened for check and found (2);
		# check may open what info refuses (as qemu: snapshot tables)
		if [ "$check_rc" != 2 ] && [ "$check_rc" != 1 ]; then
			fail "$name: check exit $check_rc (want 2, or 1 if refused)"
		fi
		if [ "$info_rc" != 0 ] && [ "$conv_rc" = 0 ]; then
			fail "$name: refused by info but convert exit 0"
		fi ;;
	readfail)
		if [ "$conv_rc" = 0 ]; then
			fail "$name: unreadable data but convert exit 0"
		fi
		# check does not decompress (as qemu-img), so it may well say 0
		;;
	loop)
		if [ "$conv_rc" != 1 ]; then
			fail "$name: backing loop: convert exit $conv_rc (want 1)"
		fi ;;
	any) ;;
	*)
		fail "$name: unknown kind $kind" ;;
	esac
	return 0
}

while read -r name kind; do
	[ -n "$name" ] || continue
	IMG_OK=1
	check_image "$name" "$kind"
	if [ "$IMG_OK" = 1 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done <"$IMGS/MANIFEST"

[ -s "$msgs" ] && cat "$msgs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
