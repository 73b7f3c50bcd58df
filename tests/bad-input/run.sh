#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/bad-input/run.sh BUILD_DIR - malformed qcow2, VHD (vpc), VMDK, VHDX, VDI, qcow
# (v1), Parallels, dmg, cloop and bochs images must get a clear error and a nonzero
# exit from every command, never a crash, hang or huge allocation.
#
# The images come in sets, each in its own folder of the scratch dir with a MANIFEST
# of "NAME KIND [FORMAT]" lines (the kinds are described in gen_bad_qcow2.c):
#   qcow2         gen_bad_qcow2, plus a few images broken from qemu-img's output
#   vhd           gen_bad_vhd
#   vdi, qcow, parallels  gen_bad_vdi, gen_bad_qcow, gen_bad_parallels
#   vmdk          fixtures/make-vmdk.py: its bad-*.vmdk and its good images
#   vhd-fixtures  fixtures/make-vhd.py: its bad-*.vhd and its good images
#   dmg, cloop, bochs  fixtures/make-{dmg,cloop,bochs}.py: the read-only formats
# The two python fixture scripts are shared with tests/interop, so their MANIFESTs
# are written here.  Every tests/bad-input/gen_bad_X.c runs; its images are opened
# with -f X (vhd means vpc) unless a MANIFEST line names another format.
# For each image `info`, `check`, `convert -O raw` and `map --output=json` run with
# -f FORMAT (a fixed VHD does not probe), and `check -r all` on a copy, each with a
# 10 s timeout and a memory limit, and must:
#   - not crash: exit code < 124 (no timeout, no signal), no sanitizer report;
#   - when failing: print exactly one stderr line "imgtool: FILE: reason", or
#     "imgtool: Could not open 'FILE': reason" as qemu-img words a failed open
#     (check may print its per-cluster ERROR lines before it);
#   - meet the expectation of the image's kind (MANIFEST).
# When `check -r all` calls the copy clean, qemu-img check must agree (not for vpc:
# qemu-img cannot check VHD images and exits 63).
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
# one generator binary per tests/bad-input/gen_bad_*.c
GENS=
for src in tests/bad-input/gen_bad_*.c; do
	GENS="$GENS $BUILD/tests/bad-input/$(basename "$src" .c)"
done
top=$PWD
. tests/lib.sh
for f in "$BIN" $GENS; do
	if ! [ -f "$f" ] || ! [ -x "$f" ]; then
		ko "bad-input: $f not built (make tools)"
		summary
		exit 1
	fi
done
# python3 runs fixtures/make-vmdk.py and make-vhd.py; qemu-img breaks its own images
# and says whether a repaired copy is clean
need_tools bad-input python3 qemu-img qemu-io

export ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=2048:detect_leaks=1:exitcode=134:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=134
MEM_KB=$((2 * 1024 * 1024))
TIMEOUT=10

WORK=$(mktemp -d /tmp/imgtool-bad-input.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
IMGS=$WORK/img
SETS=   # "FOLDER:FORMAT" per set, FOLDER under $IMGS

setup_failed() {
	ko "bad-input: $1"
	summary
	exit 1
}

for gen in $GENS; do
	set=${gen##*/gen_bad_}
	fmt=$set
	[ "$fmt" = vhd ] && fmt=vpc
	mkdir -p "$IMGS/$set"
	"$gen" "$IMGS/$set" || setup_failed "generator $gen failed"
	[ -s "$IMGS/$set/MANIFEST" ] || setup_failed "generator $gen wrote no MANIFEST"
	SETS="$SETS $set:$fmt"
done

# A few qcow2 images broken from qemu-img's own output.
Q=$IMGS/qcow2
if [ -d "$Q" ]; then
	q=$Q/qemu-base.qcow2
	qemu-img create -q -f qcow2 "$q" 64M &&
	qemu-io -c 'write -q -P 1 0 1M' -c 'write -q -c -P 2 4M 256k' "$q" >/dev/null ||
		setup_failed "qemu-img/qemu-io could not make $q"
	{
		# truncated in the middle of the data: clusters past the end
		cp "$q" "$Q/qemu-truncated-data.qcow2"
		truncate -s 400K "$Q/qemu-truncated-data.qcow2"
		echo "qemu-truncated-data.qcow2 either" >>"$Q/MANIFEST"
		# cut right after the header cluster: every table is past the end
		cp "$q" "$Q/qemu-truncated-64k.qcow2"
		truncate -s 64K "$Q/qemu-truncated-64k.qcow2"
		echo "qemu-truncated-64k.qcow2 either" >>"$Q/MANIFEST"
		# the header alone, cut inside the extensions
		cp "$q" "$Q/qemu-truncated-ext.qcow2"
		truncate -s 200 "$Q/qemu-truncated-ext.qcow2"
		echo "qemu-truncated-ext.qcow2 any" >>"$Q/MANIFEST"
		cp "$q" "$Q/qemu-valid.qcow2"
		echo "qemu-valid.qcow2 valid" >>"$Q/MANIFEST"
	}
fi

# fixtures/make-vmdk.py.  Extent paths outside the folder (bad-dotdot, bad-abs) must
# be refused like any other bad header; a chain whose parent changed (bad-cid) is
# refused when the chain is opened, as a backing loop is.
V=$IMGS/vmdk
mkdir -p "$V"
python3 fixtures/make-vmdk.py "$V" >/dev/null || setup_failed "fixtures/make-vmdk.py failed"
cat >"$V/MANIFEST" <<'END'
vmw-desc.vmdk valid
vmw-stream.vmdk valid
disk.vmdk valid
disk-000001.vmdk valid
disk-000002.vmdk valid
bad-cid-parent.vmdk valid
bad-gd-eof.vmdk reject
bad-capacity.vmdk reject
bad-grain.vmdk reject
bad-grain-huge.vmdk reject
bad-gtes.vmdk reject
bad-version.vmdk reject
bad-desc-big.vmdk reject
bad-dotdot.vmdk reject
bad-abs.vmdk reject
bad-missing.vmdk reject
bad-noextent.vmdk reject
bad-exttype.vmdk reject
bad-stream-nofooter.vmdk reject
bad-gt-eof.vmdk corrupt
bad-grain-eof.vmdk corrupt
bad-stream-marker.vmdk corrupt
bad-loop-a.vmdk loop
bad-loop-b.vmdk loop
bad-cid.vmdk loop
END
SETS="$SETS vmdk:vmdk"

# fixtures/make-vhd.py (independent of gen_bad_vhd: written from the specification
# in python).  A parent of the wrong unique id is refused when the chain is opened.
H=$IMGS/vhd-fixtures
mkdir -p "$H"
python3 fixtures/make-vhd.py "$H" >/dev/null || setup_failed "fixtures/make-vhd.py failed"
cat >"$H/MANIFEST" <<'END'
hyperv.vhd valid
disk2vhd.vhd valid
child.vhd valid
grandchild.vhd valid
bad-checksum.vhd reject
bad-bat-offset.vhd reject
bad-blocksize.vhd reject
bad-blocksize-huge.vhd reject
bad-entries-small.vhd reject
bad-entries-absurd.vhd reject
bad-header-magic.vhd reject
bad-header-offset.vhd reject
bad-size-huge.vhd reject
bad-type.vhd reject
bad-tiny.vhd reject
bad-locator-eof.vhd reject
bad-bat-eof.vhd either
bad-truncated.vhd either
bad-loop.vhd loop
bad-parent-uuid.vhd loop
END
SETS="$SETS vhd-fixtures:vpc"

# The read-only formats (fixtures/make-dmg.py, make-cloop.py, make-bochs.py):
# malformed headers, tables past the end, huge counts, overlapping chunks and
# absurd block sizes are refused at open; a chunk that decompresses to more or
# less than it claims (a bomb) or not at all, and a sector no chunk covers, fail
# when read ("readfail").  qemu-img cannot check them either (exit 63).
D=$IMGS/dmg
C=$IMGS/cloop
B=$IMGS/bochs
for f in dmg cloop bochs; do
	mkdir -p "$IMGS/$f"
	python3 "fixtures/make-$f.py" "$IMGS/$f" >/dev/null || setup_failed "fixtures/make-$f.py failed"
done
cat >"$D/MANIFEST" <<'END'
plist.dmg valid
rsrc.dmg valid
bzip2.dmg valid
small.dmg valid
empty.dmg valid
lzfse.dmg readfail
bad-bomb.dmg readfail
bad-short.dmg readfail
bad-stream.dmg readfail
bad-gap.dmg readfail
END
cat >"$C/MANIFEST" <<'END'
small.cloop valid
big-block.cloop valid
bad-bomb.cloop readfail
bad-short.cloop readfail
bad-stream.cloop readfail
END
cat >"$B/MANIFEST" <<'END'
growing.bochs valid
v1.bochs valid
tiny.bochs valid
END
SETS="$SETS dmg:dmg cloop:cloop bochs:bochs"

# a bad-* fixture added to a script later and not listed above still gets the
# generic rules (no crash, one message line); those of the read-only formats not
# listed are refused at open
for d in "$D" "$C" "$B"; do
	for f in "$d"/bad-*; do
		n=${f##*/}
		grep -q "^$n " "$d/MANIFEST" || echo "$n reject" >>"$d/MANIFEST"
	done
done
for d in "$V" "$H"; do
	for f in "$d"/bad-*; do
		n=${f##*/}
		grep -q "^$n " "$d/MANIFEST" || echo "$n any" >>"$d/MANIFEST"
	done
done

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
	# qemu-img's exit code and words for a format without check
	if [ "$cmd" = check ] && [ "$RC" -eq 63 ] &&
	   [ "$(cat "$ERR")" = "imgtool: This image format does not support checks" ]; then
		return 0
	fi
	lines=$(grep -c '^imgtool: ' "$ERR")
	if [ "$cmd" = check ]; then
		# per-cluster diagnostics may come first; the reason is the last line
		# (qemu-img adds "Check failed" after the message)
		if ! tail -n 1 "$ERR" | grep -qE "^imgtool: ([^ ]+|Could not open '[^']+'): .+|^imgtool: Check failed"; then
			fail "$img: $cmd: exit $RC without an 'imgtool: FILE: reason' line"
			return 1
		fi
		return 0
	fi
	if [ "$(wc -l <"$ERR")" -ne 1 ] || [ "$lines" -ne 1 ] ||
	   ! grep -qE "^imgtool: ([^ ]+|Could not open '[^']+'): [^ ].*\$" "$ERR"; then
		fail "$img: $cmd: exit $RC; stderr is not exactly one 'imgtool: FILE: reason' line"
		return 1
	fi
	return 0
}

# ext FORMAT: the file name extension of a repair copy
ext() {
	case $1 in
	vpc) echo vhd ;;
	*) echo "$1" ;;
	esac
}

# qemu_opens FORMAT IMG: whether qemu-img's check is worth comparing with.  qemu-img
# 7.2 cannot parse some VMware-written descriptors that imgtool reads (vmw-desc.vmdk);
# qcow2 keeps the strict rule.
qemu_opens() {
	[ "$1" = qcow2 ] && return 0
	qemu-img info -f "$1" "$2" >/dev/null 2>&1
}

# ro_format FORMAT: one of the read-only formats, which have no check
ro_format() {
	case $1 in
	dmg | cloop | bochs) return 0 ;;
	*) return 1 ;;
	esac
}

# check_image SET NAME KIND FORMAT: every command on one image, then the kind's rule
check_image() {
	local set=$1 kind=$3 fmt=$4 img=$IMGS/$1/$2
	local name=$1/$2 info_rc check_rc conv_rc map_rc copy

	run_cmd info "$BIN" info -f "$fmt" "$img"
	generic_ok "$name" info || true
	info_rc=$RC
	run_cmd check "$BIN" check -f "$fmt" "$img"
	generic_ok "$name" check || true
	check_rc=$RC
	rm -f "$WORK/out.raw"
	run_cmd convert "$BIN" convert -f "$fmt" -O raw "$img" "$WORK/out.raw"
	generic_ok "$name" convert || true
	conv_rc=$RC
	rm -f "$WORK/out.raw"
	run_cmd map "$BIN" map -f "$fmt" --output=json "$img"
	generic_ok "$name" map || true
	map_rc=$RC
	# repair a copy: must not crash, and "clean" must be true for qemu-img too.
	# A qcow2 copy goes to $WORK (as it always did); a vmdk/vpc copy sits beside
	# the image so that relative extent and parent file names still resolve.
	if [ "$fmt" = qcow2 ]; then
		copy=$WORK/repair.qcow2
	else
		copy=$IMGS/$set/repair-copy.$(ext "$fmt")
	fi
	cp "$img" "$copy"
	run_cmd repair "$BIN" check -f "$fmt" -r all "$copy"
	generic_ok "$name" check || true
	if [ "$RC" = 0 ] && [ "$kind" != loop ] && [ "$fmt" != vpc ] &&
	   ! qemu-img check -q -f "$fmt" "$copy" >/dev/null 2>&1 && qemu_opens "$fmt" "$img"; then
		fail "$name: check -r all says clean but qemu-img check disagrees"
	fi
	rm -f "$copy"
	ERR=

	case $kind in
	valid)
		# 63: the format has no check (the read-only ones, as in qemu)
		[ "$check_rc" = 63 ] && ro_format "$fmt" && check_rc=0
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
	badbitmaps)
		if [ "$info_rc" != 1 ] || [ "$conv_rc" != 1 ] || [ "$map_rc" != 1 ]; then
			fail "$name: bad bitmap directory: info=$info_rc convert=$conv_rc map=$map_rc (want 1, as qemu refuses the open)"
		fi ;;
	badbitmaptable)
		# reads never need the table; an imgtool write would: refused at open
		cp "$img" "$WORK/bitmap.qcow2"
		run_cmd bitmap "$BIN" bitmap --add "$WORK/bitmap.qcow2" new
		generic_ok "$name" bitmap || true
		if [ "$RC" != 1 ] || [ "$info_rc" != 0 ]; then
			fail "$name: bad bitmap table: info=$info_rc bitmap --add=$RC (want 0 and 1)"
		fi
		rm -f "$WORK/bitmap.qcow2"
		ERR= ;;
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

for set in $SETS; do
	dir=${set%%:*}
	deffmt=${set#*:}
	while read -r name kind fmt; do
		[ -n "$name" ] || continue
		IMG_OK=1
		check_image "$dir" "$name" "$kind" "${fmt:-$deffmt}"
		if [ "$IMG_OK" = 1 ]; then
			tests_passed=$((tests_passed + 1))
		else
			tests_failed=$((tests_failed + 1))
		fi
	done <"$IMGS/$dir/MANIFEST"
done

[ -s "$msgs" ] && cat "$msgs"

# test files beside this script (test_memory.sh, ...): their PASS/FAIL lines count
for t in tests/bad-input/test_*.sh; do
	[ -f "$t" ] || continue
	out=$(bash "$t" "$BUILD" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^(PASS|FAIL) |^    '
	while read -r line; do
		case $line in
		"PASS "*) ok "${line#PASS }" ;;
		"FAIL "*) ko "${line#FAIL }" ;;
		esac
	done < <(printf '%s\n' "$out" | grep -E '^(PASS|FAIL) ')
	if [ "$rc" -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
		printf '%s\n' "$out" | tail -n 5
		ko "${t##*/} exited $rc"
	fi
done
summary
