#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/run.sh BUILD_DIR - imgtool convert against qemu-img convert, in the same run.
#
# Builds a raw source (default 2 GiB: half real data - random and the host's library
# bytes - a quarter zeros written as data, a quarter holes), then runs each case with
# imgtool and qemu-img alternately, ROUNDS times each, on the same warm page cache
# (nothing is dropped), and prints the median wall time of each, the ratio
# imgtool/qemu-img and each tool's peak RSS.  Also times converting an empty 1 TiB
# qcow2.  Targets are in bench/README.md.  Not a test: exits 0 unless a command
# fails to run.
#
# Environment: BENCH_SIZE (default 2G), ROUNDS (default 5), BENCH_DIR (scratch
# parent, default /tmp), BENCH_CASES (an extended regular expression: only the
# cases whose name matches run, e.g. BENCH_CASES='vmdk|vpc'; default all).
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
size=${BENCH_SIZE:-2G}
rounds=${ROUNDS:-5}

# the binary: $IMGTOOL_BIN if set, else BUILD_DIR/imgtool
IMGTOOL=
for c in ${IMGTOOL_BIN:-} "$build/imgtool" "$top/$build/imgtool" "$top/build/imgtool"; do
	if [ -f "$c" ] && [ -x "$c" ]; then
		IMGTOOL=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
		break
	fi
done
if [ -z "$IMGTOOL" ]; then
	echo "bench: no imgtool binary; run make first" >&2
	exit 1
fi
command -v qemu-img >/dev/null || { echo "bench: qemu-img not found (make deps)" >&2; exit 1; }

T=$(mktemp -d "${BENCH_DIR:-/tmp}/imgtool-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
RUNONE="python3 $top/bench/runone.py"
status=0
results=()

echo "imgtool: $IMGTOOL"
echo "qemu-img: $(qemu-img --version | head -n 1)"
echo "cpus: $(nproc), source: $size, rounds: $rounds"
echo "generating the source..."
python3 "$top/fixtures/make-raw.py" "$T/src.raw" "$size" --layout bench || exit 1
qemu-img convert -f raw -O qcow2 "$T/src.raw" "$T/src.qcow2" || exit 1
qemu-img create -q -f qcow2 "$T/empty1t.qcow2" 1T || exit 1
# sources in the other formats, written by qemu-img (the reference writer)
qemu-img convert -f raw -O qcow2 -c "$T/src.raw" "$T/src-zlib.qcow2" || exit 1
qemu-img convert -f raw -O vmdk "$T/src.raw" "$T/src.vmdk" || exit 1
qemu-img convert -f raw -O vpc "$T/src.raw" "$T/src.vhd" || exit 1
qemu-img convert -f raw -O vhdx "$T/src.raw" "$T/src.vhdx" || exit 1
# warm the page cache once; both tools then read the same cached source.  sync:
# the sources just written are still being written back, which would slow
# whichever case runs first (raw->qcow2)
cat "$T/src.raw" "$T/src.qcow2" >/dev/null
sync

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The -O format among convert's arguments (a fixed VHD is not probed: say it).
out_format() {
	while [ $# -gt 0 ]; do
		[ "$1" = -O ] && { echo "$2"; return; }
		shift
	done
	echo raw
}

# bench_case NAME OUTPUT CHECKREF ARGS... - ARGS are the convert arguments (without
# the tool); OUTPUT is removed before every run.  CHECKREF (or -) is compared with
# imgtool's first output so that a fast wrong answer is flagged.
bench_case() {
	local name=$1 out=$2 ref=$3
	shift 3
	if [ -n "${BENCH_CASES:-}" ] && ! [[ $name =~ $BENCH_CASES ]]; then
		return
	fi
	local it_t=() qm_t=() it_rss=0 qm_rss=0 r res secs rss rc note=""
	for ((r = 1; r <= rounds; r++)); do
		for tool in imgtool qemu-img; do
			rm -f "$out"
			if [ $tool = imgtool ]; then
				res=$($RUNONE "$IMGTOOL" convert "$@" 2>"$T/err")
			else
				res=$($RUNONE qemu-img convert "$@" 2>"$T/err")
			fi
			read -r secs rss rc <<<"$res"
			if [ "${rc:-1}" != 0 ]; then
				echo "bench: $tool convert $* failed (exit ${rc:-?}):" >&2
				tail -n 5 "$T/err" >&2
				status=1
				rm -f "$out"
				results+=("$(printf '%-28s %s' "$name" "FAILED to run ($tool, exit ${rc:-?})")")
				return
			fi
			if [ $tool = imgtool ]; then
				it_t+=("$secs")
				((rss > it_rss)) && it_rss=$rss
				if [ $r = 1 ] && [ "$ref" != - ] &&
					! qemu-img compare -q -F "$(out_format "$@")" "$ref" "$out" 2>/dev/null; then
					note=" (imgtool's output DIFFERS from the source)"
				fi
			else
				qm_t+=("$secs")
				((rss > qm_rss)) && qm_rss=$rss
			fi
		done
	done
	rm -f "$out"
	local it_med qm_med ratio
	it_med=$(printf '%s\n' "${it_t[@]}" | median)
	qm_med=$(printf '%s\n' "${qm_t[@]}" | median)
	ratio=$(awk -v a="$it_med" -v b="$qm_med" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
	local line
	line=$(printf '%-28s %10.3f %10.3f %7s %10.1f %10.1f' "$name" "$it_med" "$qm_med" "$ratio" \
		"$(awk -v k="$it_rss" 'BEGIN { print k / 1024 }')" "$(awk -v k="$qm_rss" 'BEGIN { print k / 1024 }')")
	echo "$line$note"
	results+=("$line$note")
}

header=$(printf '%-28s %10s %10s %7s %10s %10s' case "imgtool s" "qemu-img s" ratio "imgtool MiB" "qemu MiB")
echo
echo "$header"
bench_case "raw->qcow2" "$T/out.qcow2" "$T/src.raw" -f raw -O qcow2 "$T/src.raw" "$T/out.qcow2"
bench_case "qcow2->raw" "$T/out.raw" "$T/src.raw" -f qcow2 -O raw "$T/src.qcow2" "$T/out.raw"
bench_case "raw->raw" "$T/out.raw" "$T/src.raw" -f raw -O raw "$T/src.raw" "$T/out.raw"
bench_case "raw->qcow2 -c zlib" "$T/out.qcow2" "$T/src.raw" -c -f raw -O qcow2 "$T/src.raw" "$T/out.qcow2"
bench_case "raw->qcow2 -c zstd" "$T/out.qcow2" "$T/src.raw" -c -f raw -O qcow2 -o compression_type=zstd "$T/src.raw" "$T/out.qcow2"
bench_case "qcow2 (zlib)->raw" "$T/out.raw" "$T/src.raw" -f qcow2 -O raw "$T/src-zlib.qcow2" "$T/out.raw"
bench_case "raw->vmdk streamOptimized" "$T/out.vmdk" "$T/src.raw" -f raw -O vmdk -o subformat=streamOptimized "$T/src.raw" "$T/out.vmdk"
bench_case "raw->vmdk monolithicSparse" "$T/out.vmdk" "$T/src.raw" -f raw -O vmdk "$T/src.raw" "$T/out.vmdk"
bench_case "vmdk->qcow2" "$T/out.qcow2" "$T/src.raw" -f vmdk -O qcow2 "$T/src.vmdk" "$T/out.qcow2"
bench_case "raw->vpc dynamic" "$T/out.vhd" "$T/src.raw" -f raw -O vpc "$T/src.raw" "$T/out.vhd"
bench_case "raw->vpc fixed" "$T/out.vhd" "$T/src.raw" -f raw -O vpc -o subformat=fixed "$T/src.raw" "$T/out.vhd"
bench_case "vpc->qcow2" "$T/out.qcow2" "$T/src.raw" -f vpc -O qcow2 "$T/src.vhd" "$T/out.qcow2"
bench_case "raw->vhdx dynamic" "$T/out.vhdx" "$T/src.raw" -f raw -O vhdx "$T/src.raw" "$T/out.vhdx"
bench_case "raw->vhdx fixed" "$T/out.vhdx" "$T/src.raw" -f raw -O vhdx -o subformat=fixed "$T/src.raw" "$T/out.vhdx"
bench_case "vhdx->qcow2" "$T/out.qcow2" "$T/src.raw" -f vhdx -O qcow2 "$T/src.vhdx" "$T/out.qcow2"
bench_case "empty 1 TiB qcow2->qcow2" "$T/out.qcow2" "$T/empty1t.qcow2" -f qcow2 -O qcow2 "$T/empty1t.qcow2" "$T/out.qcow2"
bench_case "empty 1 TiB qcow2->raw" "$T/out.raw" - -f qcow2 -O raw "$T/empty1t.qcow2" "$T/out.raw"

echo
echo "=== summary (median of $rounds rounds; peak RSS over all rounds) ==="
echo "$header"
printf '%s\n' "${results[@]}"
echo "targets (bench/README.md): every ratio <= 1.00, peak RSS <= 64 MiB, empty 1 TiB well under 1 s"
exit $status
