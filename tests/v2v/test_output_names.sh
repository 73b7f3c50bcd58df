#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/v2v/test_output_names.sh BUILD_DIR - what `imgtool v2v` refuses before it
# converts anything (no guest is booted, no appliance launched): an output file
# that already exists (a disk NAME-sdX.FMT, NAME.xml, NAME.sh) is refused with one
# line and left as it was, nothing is written; an unknown -i or -o names the known
# ones.  The -o qemu script's quoting of hostile names, and the exclusive create
# itself, are tested in tests/unit/test_v2v_output.c.
# Prints "PASS name" / "FAIL name" lines.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_output_names "$build"
need_tools test_output_names qemu-img

dir=$(mktemp -d /var/tmp/imgtool-output-names.XXXXXX)
trap 'rm -rf "$dir"' EXIT
qemu-img create -q -f qcow2 "$dir/web01.qcow2" 64M

# refused NAME PATTERN EXISTING ARGS...: v2v fails with one line matching PATTERN;
# EXISTING (in -os) keeps its content and nothing else appears in -os.
refused() {
	local name=$1 pat=$2 existing=$3 out rc
	shift 3
	rm -rf "$dir/out" && mkdir "$dir/out"
	[ -z "$existing" ] || echo mine >"$dir/out/$existing"
	out=$("$IMGTOOL" v2v "$@" -os "$dir/out" "$dir/web01.qcow2" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q -- "$pat" &&
		[ "$(ls -A "$dir/out")" = "$existing" ] &&
		{ [ -z "$existing" ] || [ "$(cat "$dir/out/$existing")" = mine ]; }; then
		ok "$name ($out)"
	else
		ko "$name: rc=$rc, wanted one line /$pat/ and only '$existing' (unchanged) in -os, got: $out; -os: $(ls -A "$dir/out")"
	fi
}

refused "output names: an existing disk copy is refused before any copy" \
	"web01-sda.qcow2: already exists" web01-sda.qcow2 -o local
refused "output names: an existing NAME.xml is refused before any copy" \
	"web01.xml: already exists" web01.xml -o local
refused "output names: an existing NAME.sh is refused before any copy" \
	"web01.sh: already exists" web01.sh -o qemu
refused "output names: -on names the files checked" \
	"other-sda.vmdk: already exists" other-sda.vmdk -o qemu -on other -of vmdk
refused "output names: an unknown -i lists the inputs" \
	"-i must be disk, vmx or ova, not 'floppy'" "" -i floppy -o local
refused "output names: an unknown -o lists the outputs" \
	"-o must be local, libvirt or qemu, not 'nowhere'" "" -o nowhere
refused "output names: -f with an input that names its formats" \
	"-f does not apply to -i vmx" "" -i vmx -f qcow2 -o local
