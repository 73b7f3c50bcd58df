#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_dd.sh BUILD_DIR - `imgtool dd` (convert/dd.c) against
# `qemu-img dd` run with the same arguments: the same exit code, the same
# messages (the program name aside), an output of the same virtual size and
# content (qemu-img compare), and for qcow2 the same allocation map - also for
# qemu-img's quirks (count= caps the end before skip=, a skip past the end gives
# an empty image and a warning, sizes rounded up to 512 bytes).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_dd "$build"
need_tools test_dd qemu-img qemu-io python3

T=$(mktemp -d /tmp/imgtool-dd.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

# a 1 MiB qcow2 with data at the start, data in the middle, a zero cluster and holes
setup qemu-img create -q -f qcow2 src.qcow2 1M || { summary; exit 1; }
setup qemu-io -f qcow2 -c 'write -P 0xab 0 64k' -c 'write -P 0xcd 512k 4k' \
	-c 'write -z 600k 64k' -c 'write -P 0x17 1020k 4k' src.qcow2 || { summary; exit 1; }

# both ARGS...: qemu-img dd and imgtool dd with ARGS and of=q.out / of=i.out
both() {
	rm -f q.out i.out
	local rc=0
	qemu-img dd "$@" of=q.out >q.so 2>q.se || rc=$?
	echo $rc >q.rc
	rc=0
	"$IMGTOOL" dd "$@" of=i.out >i.so 2>i.se || rc=$?
	echo $rc >i.rc
	sed -i 's/^qemu-img:/imgtool:/; s/q\.out/X.out/g' q.se
	sed -i 's/i\.out/X.out/g' i.se
}

# alloc_map FILE: what is allocated, as data or zeros, whatever the host layout
# (imgtool's parallel writes place clusters in another order)
alloc_map() {
	qemu-img map --output=json "$1" | python3 -c '
import json, sys
out = []
for e in json.load(sys.stdin):
    k = (e["depth"], e["present"], e["zero"], e["data"])
    if out and out[-1][0] == k and out[-1][1] + out[-1][2] == e["start"]:
        out[-1][2] += e["length"]
    else:
        out.append([k, e["start"], e["length"]])
for k, s, l in out:
    print(s, l, *k)'
}

# same_as_qemu ARGS...: every observable result equal
same_as_qemu() {
	both "$@"
	diff q.rc i.rc
	diff q.se i.se
	diff q.so i.so
	if [ -e q.out ]; then
		[ -e i.out ]
		[ "$(qemu-img info q.out | grep '^virtual size')" = \
		  "$(qemu-img info i.out | grep '^virtual size')" ]
		qemu-img compare -q q.out i.out
		diff <(alloc_map q.out) <(alloc_map i.out)
	else
		[ ! -e i.out ]
	fi
}

for args in "if=src.qcow2" "if=src.qcow2 bs=64k count=3" "if=src.qcow2 bs=64k count=3 skip=1" \
	    "if=src.qcow2 bs=100 count=3" "if=src.qcow2 bs=1.5k count=2" \
	    "if=src.qcow2 skip=1k bs=1 count=2k" "if=src.qcow2 bs=1k count=1k" \
	    "if=src.qcow2 count=0" "if=src.qcow2 skip=2048" "if=src.qcow2 skip=5000" \
	    "if=src.qcow2 bs=513 skip=3 count=2000" "if=src.qcow2 bs=2147483647 count=1" \
	    "-O qcow2 if=src.qcow2" "-O qcow2 if=src.qcow2 bs=4k skip=3 count=200" \
	    "-O qcow2 if=src.qcow2 bs=100 count=3" "-O vmdk if=src.qcow2 count=1" \
	    "-O vpc if=src.qcow2 bs=1M" "-O vhdx if=src.qcow2 bs=64k skip=7" \
	    "-f raw if=src.qcow2 count=1" "-U if=src.qcow2 bs=512k skip=1" \
	    "if=other.raw if=src.qcow2 count=9"; do
	# shellcheck disable=SC2086  # the arguments are words
	run_case "dd $args = qemu-img dd" same_as_qemu $args
done

# refused ARGS...: exit 1 and the same messages as qemu-img, no output
refused() {
	same_as_qemu "$@"
	[ "$(cat i.rc)" = 1 ]
	[ -s i.se ]
}

# refusals: one message as qemu-img's, exit 1, no output
for args in "if=src.qcow2 bs=0" "if=src.qcow2 bs=1x" "if=src.qcow2 bs=3G" \
	    "if=src.qcow2 count=-1" "if=src.qcow2 skip=x" "if=src.qcow2 foo=1" "if=src.qcow2 foo" \
	    "if=nonexistent" "-O nosuchfmt if=src.qcow2" "if=src.qcow2 bs=99999999999999999999" \
	    "if=src.qcow2 skip=99999999999999999999"; do
	# shellcheck disable=SC2086
	run_case "dd $args refused as qemu-img" refused $args
done
no_output() {
	local rc=0
	qemu-img dd if=src.qcow2 2>q.se || rc=$?
	[ $rc = 1 ]
	rc=0
	"$IMGTOOL" dd if=src.qcow2 2>i.se || rc=$?
	[ $rc = 1 ]
	sed -i 's/^qemu-img:/imgtool:/' q.se
	diff q.se i.se
}
run_case "dd without of= refused as qemu-img" no_output
creation_fails() {
	local rc=0
	qemu-img dd if=src.qcow2 of=/nonexistent/dir/x count=1 2>q.se || rc=$?
	[ $rc = 1 ]
	rc=0
	"$IMGTOOL" dd if=src.qcow2 of=/nonexistent/dir/x count=1 2>i.se || rc=$?
	[ $rc = 1 ]
	sed -i 's/^qemu-img:/imgtool:/' q.se
	diff q.se i.se
}
run_case "dd into a folder that does not exist fails as qemu-img" creation_fails

# a hole-only source still gives a fully written output, as qemu-img's
setup qemu-img create -q -f qcow2 empty.qcow2 3M || { summary; exit 1; }
run_case "dd -O qcow2 of an empty image = qemu-img dd (zeros written)" same_as_qemu -O qcow2 if=empty.qcow2 bs=1M
summary
