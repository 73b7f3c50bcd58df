#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/bad-input/test_memory.sh BUILD_DIR - small files whose headers ask for a lot
# of memory must be refused, or converted within 64 MiB of RSS (/usr/bin/time %M):
#   - a 1 MiB streamOptimized VMDK declaring 1 GiB grains (qemu-img opens it and
#     needs 1 GiB per read): refused, naming the grain size;
#   - the largest grain imgtool accepts (1 MiB), read whole and in pieces;
#   - the largest qcow2 clusters (2 MiB) compressed, VHDX with 256 MiB blocks;
#   - dmg and cloop decompression bombs refused; 1 MiB chunks and blocks read.
# Prints "PASS name" / "FAIL name" lines (run.sh counts them).  The RSS bound is
# not checked under ASan (its shadow memory and quarantine are counted in RSS).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool bad-input-memory "$build"
need_tools bad-input-memory qemu-img qemu-io python3 cmp
if ! [ -x /usr/bin/time ]; then
	echo "bad-input-memory: /usr/bin/time not found (make deps installs time)"
	echo "0 passed, 1 failed"
	exit 1
fi
LIMIT_KB=$((64 * 1024))
ASAN=0
grep -qa __asan_init "$IMGTOOL" && ASAN=1

T=$(mktemp -d /tmp/imgtool-memory.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
python3 "$top/tests/bad-input/make-bombs.py" "$T" >/dev/null || { ko "make-bombs.py"; exit 1; }

# measured CMD...: runs it; RC = its exit code, RSS = its peak RSS in KiB
measured() {
	/usr/bin/time -o rss.txt -f %M "$@" >out.txt 2>err.txt
	RC=$?
	RSS=$(tail -n 1 rss.txt)
}

rss_ok() {
	[ "$ASAN" = 1 ] || [ "$RSS" -le "$LIMIT_KB" ] || {
		echo "    peak RSS ${RSS} KiB > ${LIMIT_KB} KiB"
		return 1
	}
}

refused_1g() {
	local cmd
	for cmd in info convert; do
		rm -f o.raw
		if [ $cmd = info ]; then
			measured "$IMGTOOL" info grain-1g.vmdk
		else
			measured "$IMGTOOL" convert -O raw grain-1g.vmdk o.raw
		fi
		[ "$RC" = 1 ] || { echo "    $cmd exit $RC"; return 1; }
		grep -q "^imgtool: Could not open 'grain-1g.vmdk': invalid grain size 2097152 sectors" err.txt ||
			{ cat err.txt; return 1; }
		rss_ok || return 1
	done
}
check "vmdk 1 GiB grain (1 MiB file): refused within 64 MiB" refused_1g

qemu_opens_1g() {
	# the reason for the cap: qemu-img 7.2 takes it (and inflates 1 GiB per read)
	qemu-img info -f vmdk grain-1g.vmdk | grep -q 'cluster_size: 1073741824'
}
check "vmdk 1 GiB grain: qemu-img accepts it (why imgtool caps)" qemu_opens_1g

converts_1m() {
	measured "$IMGTOOL" convert -O raw grain-1m.vmdk o.raw
	[ "$RC" = 0 ] || { cat err.txt; return 1; }
	cmp o.raw grain-1m.expected.raw && rss_ok
}
check "vmdk 1 MiB grain stream: converted, contents right, within 64 MiB" converts_1m

qemu_agrees_1m() {
	qemu-img compare -f vmdk -F raw grain-1m.vmdk grain-1m.expected.raw
}
check "vmdk 1 MiB grain stream: qemu-img reads the same" qemu_agrees_1m

other_formats() {
	python3 -c "
import random; r = random.Random(1)
open('src.raw', 'wb').write(b''.join(r.randbytes(1 << 19) + bytes(1 << 19) for _ in range(24)))" &&
	qemu-img convert -c -O qcow2 -o cluster_size=2M src.raw c2m.qcow2 &&
	qemu-img convert -O vhdx -o block_size=256M src.raw b256.vhdx || return 1
	for f in c2m.qcow2 b256.vhdx; do
		rm -f o.raw
		measured "$IMGTOOL" convert -O raw "$f" o.raw
		[ "$RC" = 0 ] || { echo "    $f: exit $RC"; cat err.txt; return 1; }
		cmp o.raw src.raw || return 1
		rss_ok || { echo "    ($f)"; return 1; }
	done
}
check "qcow2 2 MiB compressed clusters, VHDX 256 MiB blocks: within 64 MiB" other_formats

# the read-only formats: a decompression bomb (a dmg zlib chunk of 256 sectors and
# a cloop block of 64 KiB, each inflating to megabytes) is refused when read, within
# 64 MiB; 1 MiB dmg chunks (hdiutil's) and cloop blocks convert within 64 MiB
ro_bombs() {
	local f
	python3 "$top/fixtures/make-dmg.py" dmg >/dev/null &&
	python3 "$top/fixtures/make-cloop.py" cloop >/dev/null || return 1
	for f in dmg/bad-bomb.dmg cloop/bad-bomb.cloop; do
		rm -f o.raw
		measured "$IMGTOOL" convert -O raw "$f" o.raw
		[ "$RC" = 1 ] || { echo "    $f: exit $RC"; return 1; }
		grep -qE "^imgtool: $f: .*(decompress|inflate)" err.txt || { cat err.txt; return 1; }
		rss_ok || { echo "    ($f)"; return 1; }
	done
	for f in dmg/plist cloop/big-block; do
		rm -f o.raw
		measured "$IMGTOOL" convert -O raw "$f.${f%%/*}" o.raw
		[ "$RC" = 0 ] || { echo "    $f: exit $RC"; cat err.txt; return 1; }
		cmp o.raw "$f.raw" && rss_ok || { echo "    ($f)"; return 1; }
	done
}
check "dmg and cloop bombs refused, 1 MiB chunks and blocks converted: within 64 MiB" ro_bombs
