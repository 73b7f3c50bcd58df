#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_bench.sh BUILD_DIR - `imgtool bench` (convert/bench.c)
# against `qemu-img bench` with the same arguments: the same exit code, the
# same lines (the time aside) and messages, and for write runs the same image
# afterwards (the pattern at the same offsets, wrapping at the end as qemu's).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_bench "$build"
need_tools test_bench qemu-img qemu-io

T=$(mktemp -d /tmp/imgtool-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
setup qemu-img create -q -f qcow2 b.qcow2 64M || { summary; exit 1; }

# same_as_qemu ARGS...: the same rc, stdout (but the seconds) and stderr
same_as_qemu() {
	local qr=0 ir=0
	timeout 60 qemu-img bench "$@" >q.so 2>q.se || qr=$?
	timeout 60 "$IMGTOOL" bench "$@" >i.so 2>i.se || ir=$?
	[ "$qr" = "$ir" ]
	sed -i 's/^qemu-img:/imgtool:/; /^Try .*--help/d' q.se
	diff q.se i.se
	grep -Eq '^Run completed in [0-9]+\.[0-9]{3} seconds\.$' i.so || [ "$ir" != 0 ]
	sed -i 's/^Run completed in .*/Run completed/' q.so i.so
	diff q.so i.so
}
# fails_as_qemu ARGS...: and exits 1 with a message
fails_as_qemu() {
	same_as_qemu "$@"
	grep -q . i.se
	! grep -q 'Run completed' i.so
}

for args in "-c 1000" "-c 1000 -w --flush-interval=100" "-c 1000 -w --flush-interval=64 --no-drain -q" \
	    "-c 100 -n -t none" "-c 100 -i io_uring" "-c 0" "-s 0 -c 100" "-c 10 -o 1k -S 8k -s 1k -d 2" \
	    "-c 10 -S 0" "-d 1000 -c 10" "-c 100 -s 3" "-c 100 -o 60M -s 1M -S 1M" "-c 0x10" \
	    "--pattern=0x41 -w -c 1" "-c 3 -f raw" "-c 50 -t writethrough -w" "-U -c 5"; do
	# shellcheck disable=SC2086  # the arguments are words
	run_case "bench $args = qemu-img bench" same_as_qemu $args b.qcow2
done
for args in "-c x" "-c -1" "-c 2147483648" "-d x" "-o -1" "-S x" "-s 2G" "--flush-interval=10" \
	    "-w --flush-interval=10" "--pattern=300 -w" "-i foo" "-i native" "-n" "-t foo" \
	    "-o 100M -c 10" "-s 128M -c 10" "-c 100 -o 62M -s 1M -S 1536k"; do
	# shellcheck disable=SC2086
	run_case "bench $args fails as qemu-img bench" fails_as_qemu $args b.qcow2
done
run_case "bench on a missing file fails as qemu-img bench" fails_as_qemu -c 3 nonexistent
run_case "bench with two files fails as qemu-img bench" fails_as_qemu b.qcow2 b.qcow2

# writes: the same clusters written with the same pattern, wrapping at the end
same_image_after() {
	qemu-img create -q -f qcow2 q.qcow2 8M
	qemu-img create -q -f qcow2 i.qcow2 8M
	qemu-img bench -w "$@" q.qcow2 >/dev/null
	"$IMGTOOL" bench -w "$@" i.qcow2 >/dev/null
	qemu-img compare -q q.qcow2 i.qcow2
	qemu-img check -q i.qcow2
	[ "$(qemu-img map --output=json q.qcow2 | grep -c '"data": true')" -gt 0 ]
}
pattern_read_back() {
	same_image_after -c 300 --pattern=0x5a -s 4k -S 64k -o 1M
	qemu-io -f qcow2 -c "read -P 0x5a 1M 4k" i.qcow2 | grep -q "^read 4096/4096"
	qemu-io -f qcow2 -c "read -P 0 0 4k" i.qcow2 | grep -q "^read 4096/4096"
}
run_case "bench -w --pattern=0x5a: the same image as qemu-img's, the pattern read back" \
	pattern_read_back
run_case "bench -w wrapping at the end: the same image as qemu-img's" \
	same_image_after -c 50 --pattern=7 -s 1M -S 3M -o 4M -d 4
summary
