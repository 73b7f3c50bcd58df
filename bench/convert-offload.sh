#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/convert-offload.sh BUILD_DIR - `convert -C` (copy offloading) against
# `qemu-img convert -C` on XFS with reflink=1 on a loop device (root), and the
# same two copies without -C for scale: raw -> raw and qcow2 -> qcow2 of a
# BENCH_SIZE (default 2G) disk made by fixtures/make-raw.py --layout bench (data,
# zeros written as data, holes).  Per case the median of ROUNDS (default 5) wall
# times of each tool, the ratio imgtool/qemu-img and the peak RSS; each output is
# checked with qemu-img compare.  A measurement, not a test.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
IMGTOOL=$top/$build/imgtool
[ -x "$IMGTOOL" ] || IMGTOOL=$build/imgtool
SIZE=${BENCH_SIZE:-2G}
ROUNDS=${ROUNDS:-5}
RUNONE="python3 $top/bench/runone.py"

W=$(mktemp -d "${BENCH_DIR:-/tmp}/imgtool-offload.XXXXXX")
cleanup() {
	cd / && umount "$W/mnt" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
truncate -s 8G "$W/xfs.img"
mkfs.xfs -q -m reflink=1 "$W/xfs.img" || exit 1
mkdir "$W/mnt"
mount -o loop "$W/xfs.img" "$W/mnt" || exit 1
cd "$W/mnt" || exit 1

python3 "$top/fixtures/make-raw.py" src.raw "$SIZE" --layout bench >/dev/null || exit 1
qemu-img convert -O qcow2 src.raw src.qcow2 || exit 1
cat src.raw src.qcow2 >/dev/null

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# one TOOL FMT SRC OPTS...: ROUNDS runs, prints "median_seconds peak_rss_kib"
one() {
	local tool=$1 fmt=$2 src=$3 i r
	shift 3
	: >times
	: >rss
	for ((i = 0; i < ROUNDS; i++)); do
		rm -f out
		sync
		if [ "$tool" = imgtool ]; then
			r=$($RUNONE "$IMGTOOL" convert "$@" -O "$fmt" "$src" out 2>/dev/null)
		else
			r=$($RUNONE qemu-img convert "$@" -O "$fmt" "$src" out 2>/dev/null)
		fi
		echo "$r" | awk '{ print $1 }' >>times
		echo "$r" | awk '{ print $2 }' >>rss
		[ "$(echo "$r" | awk '{ print $3 }')" = 0 ] || echo "  $tool failed: $r" >&2
	done
	qemu-img compare -q "$src" out || echo "  $tool: output differs from the source" >&2
	echo "$(median <times) $(sort -n rss | tail -n 1)"
}

printf '%-28s %10s %10s %7s %10s %10s\n' case imgtool qemu-img ratio "rss(i)KiB" "rss(q)KiB"
for c in "raw->raw -C:raw:src.raw:-C" "qcow2->qcow2 -C:qcow2:src.qcow2:-C" \
	 "raw->raw:raw:src.raw:" "qcow2->qcow2:qcow2:src.qcow2:"; do
	IFS=: read -r name fmt src opt <<<"$c"
	# shellcheck disable=SC2086  # opt is empty or one word
	read -r ti ri <<<"$(one imgtool "$fmt" "$src" $opt)"
	# shellcheck disable=SC2086
	read -r tq rq <<<"$(one qemu "$fmt" "$src" $opt)"
	printf '%-28s %9.3fs %9.3fs %7.2f %10s %10s\n' "$name" "$ti" "$tq" \
		"$(awk -v a="$ti" -v b="$tq" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')" "$ri" "$rq"
done
df -h . | tail -n 1
