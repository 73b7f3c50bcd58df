#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# gen-kvm-probe.sh - assemble kvm_probe.S into the byte array kvm_probe_bin.c
# (run by hand after editing the .S; the build does not need binutils for it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
as -o "$tmp/p.o" "$here/kvm_probe.S"
ld -Ttext=0x7c00 --oformat binary -e _start -o "$tmp/p.bin" "$tmp/p.o"
size=$(stat -c %s "$tmp/p.bin")
[ "$size" -eq 512 ] || { echo "probe is $size bytes, want 512" >&2; exit 1; }
{
	echo '/* SPDX-License-Identifier: LGPL-2.1-or-later */'
	echo '/*'
	echo ' * kvm_probe_bin.c - the assembled KVM probe boot sector (generated from'
	echo ' * kvm_probe.S by gen-kvm-probe.sh; do not edit).'
	echo ' */'
	echo '#include "launch.h"'
	echo
	echo 'const unsigned char kvm_probe_sector[512] = {'
	od -An -v -tx1 "$tmp/p.bin" | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1, /g; s/^/\t/; s/, $/,/'
	echo '};'
} >"$here/kvm_probe_bin.c"
