#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/luks.sh BUILD_DIR - encrypted convert: luks -> raw and luks -> luks of a
# BENCH_SIZE (default 2G) disk full of random data, imgtool against qemu-img
# 7.2, alternating, ROUNDS (default 3) each; prints the median wall times, the
# ratio imgtool/qemu-img (target <= 0.8) and imgtool's peak RSS (target <= 64 MiB).
# The image's key slot uses iter-time=100 and the new luks targets too, so
# PBKDF2 costs both tools the same small time.  Not a test: exits 0 unless a
# run fails.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
IMGTOOL=$(cd "$top" && cd "$build" && pwd)/imgtool
[ -x "$IMGTOOL" ] || { echo "bench/luks.sh: no $IMGTOOL; run make first"; exit 1; }
size=${BENCH_SIZE:-2G} rounds=${ROUNDS:-3}
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/imgtool-bench-luks.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
printf 'bench passphrase' >pw
SEC="--object secret,id=s,file=$W/pw"
SRC="driver=luks,key-secret=s,file.filename=$W/src.luks"
qemu-img create -q -f luks $SEC -o key-secret=s,iter-time=100 src.luks "$size" || exit 1
# data everywhere (an encrypted disk has no holes to skip), written in 256 MiB
# requests (qemu-io refuses one of 2 GiB)
bytes=$(qemu-img info --output=json src.luks | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
cmds=()
for ((off = 0; off < bytes; off += 256 << 20)); do
	len=$(( bytes - off < (256 << 20) ? bytes - off : (256 << 20) ))
	cmds+=(-c "write -P $(( (off >> 20) % 251 )) $off $len")
done
qemu-io $SEC --image-opts "$SRC" "${cmds[@]}" >/dev/null || { echo "qemu-io failed"; exit 1; }
cat src.luks >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() {   # TOOL OUT_ARGS...: one timed run -> "secs rss rc"
	local tool=$1
	shift
	rm -f out.*
	python3 "$top/bench/runone.py" "$tool" convert $SEC --image-opts "$SRC" "$@" 2>/dev/null
}
bench_case() {   # NAME OUT_ARGS...
	local name=$1 i r it qt rss=0
	shift
	: >it.txt; : >qt.txt
	for i in $(seq "$rounds"); do
		read -r s m rc < <(run "$IMGTOOL" "$@")
		[ "$rc" = 0 ] || { echo "imgtool failed ($name)"; exit 1; }
		echo "$s" >>it.txt; [ "$m" -gt "$rss" ] && rss=$m
		read -r s m rc < <(run qemu-img "$@")
		[ "$rc" = 0 ] || { echo "qemu-img failed ($name)"; exit 1; }
		echo "$s" >>qt.txt
	done
	it=$(median <it.txt); qt=$(median <qt.txt)
	r=$(awk -v a="$it" -v b="$qt" 'BEGIN {printf "%.2f", a / b}')
	printf '%-16s imgtool %6.2fs  qemu-img %6.2fs  ratio %s  imgtool peak RSS %d MiB\n' \
		"$name" "$it" "$qt" "$r" $((rss / 1024))
}
echo "encrypted convert of $size, $rounds rounds each (median)"
bench_case "luks -> raw" -O raw out.raw
bench_case "luks -> luks" -O luks -o key-secret=s,iter-time=100 out.luks
