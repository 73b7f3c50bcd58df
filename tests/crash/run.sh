#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/crash/run.sh BUILD_DIR - crash ordering of the qcow2 write path.
#
# `imgtool convert -O qcow2` of a ~300 MiB raw source (data, zero runs written as
# data, holes) is killed with SIGKILL at a random moment, 20 times, in three
# flavours: plain, compressed (-c), lazy refcounts (-o lazy_refcounts=on), and
# plain and lazy with 4 KiB clusters (metadata written during the copy).
# After every kill:
#   - `qemu-img check` must find no corruption (exit 0 or 3; with lazy refcounts
#     the image is left dirty and refcounts may lag: exit 2 is then allowed, as
#     qemu, which repairs such images on open);
#   - every cluster the image maps must hold the source's bytes (data is written
#     before the L2 entry that points to it);
#   - `imgtool check -r leaks` (-r all for a dirty lazy image) must leave it clean:
#     `qemu-img check` exit 0 afterwards.
# A kill that lands after the conversion ended, or before the image has a header,
# proves nothing: the round is tried again (up to 4 times), else it is a SKIP.
# Then tests/crash/test_powerloss.sh (power cuts replayed from logged writes and
# flushes) runs and its counts are added.
# Prints "N passed, N failed" (", N skipped"); exits nonzero on any failure.
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
ITER=${CRASH_ITERATIONS:-20}
SIZE_MB=${CRASH_SOURCE_MB:-300}

top=$PWD
. tests/lib.sh
if ! [ -f "$BIN" ] || ! [ -x "$BIN" ]; then
	ko "crash: $BIN not built"
	summary
	exit 1
fi
need_tools crash qemu-img python3
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

WORK=$(mktemp -d /tmp/imgtool-crash.XXXXXX)
CHILD=
cleanup() {
	[ -n "$CHILD" ] && kill -9 "$CHILD" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
SRC=$WORK/src.raw
OUT=$WORK/out.qcow2

# The source: per MiB, random data, text-like (compressible) data, written zeros,
# or a hole; data MiBs also get zero and hole pieces inside.
python3 - "$SRC" "$SIZE_MB" <<'EOF'
import random, sys
path, mb = sys.argv[1], int(sys.argv[2])
r = random.Random(20240601)
M = 1 << 20
words = b"qcow2 cluster refcount table l2 entry snapshot backing zero data "
text = (words * (M // len(words) + 1))[:M]
with open(path, "wb") as f:
    f.truncate(mb * M)
    for i in range(mb):
        kind = r.randrange(4)
        if kind == 3:
            continue                      # hole
        if kind == 2:
            f.seek(i * M); f.write(bytes(M))
            continue
        buf = bytearray(r.randbytes(M) if kind == 0 else text)
        buf[:8] = i.to_bytes(8, "big")    # every MiB differs
        for _ in range(r.randrange(4)):   # zero pieces inside data
            o = r.randrange(0, M, 4096); n = r.choice([4096, 65536, 200000])
            buf[o:o + n] = bytes(min(n, M - o))
        f.seek(i * M); f.write(buf)
EOF
[ -s "$SRC" ] || { ko "crash: could not make the source"; summary; exit 1; }

declare -A RUNTIME

convert_args() {
	case $1 in
	plain) echo "convert -f raw -O qcow2" ;;
	compressed) echo "convert -c -f raw -O qcow2" ;;
	lazy) echo "convert -f raw -O qcow2 -o lazy_refcounts=on" ;;
	# 4 KiB clusters: 150 L2 tables and ~40 refcount blocks, more than the
	# caches hold, so metadata is written while the copy runs
	small) echo "convert -f raw -O qcow2 -o cluster_size=4096" ;;
	small-lazy) echo "convert -f raw -O qcow2 -o cluster_size=4096,lazy_refcounts=on" ;;
	esac
}

# Every data extent the image maps must read back as the source's bytes.
mapped_data_matches() {
	qemu-img map -f qcow2 --output=json "$OUT" >"$WORK/map.json" 2>"$WORK/map.err" || return 1
	qemu-img convert -f qcow2 -O raw "$OUT" "$WORK/back.raw" 2>"$WORK/map.err" || return 1
	python3 - "$WORK/map.json" "$SRC" "$WORK/back.raw" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
a, b = open(sys.argv[2], "rb"), open(sys.argv[3], "rb")
for e in m:
    if not e.get("data"):
        continue
    off, n = e["start"], e["length"]
    while n:
        k = min(n, 1 << 22)
        a.seek(off); b.seek(off)
        if a.read(k) != b.read(k):
            print("mapped data differs from the source near offset %d" % off)
            sys.exit(1)
        off += k; n -= k
EOF
}

is_dirty() {
	qemu-img info -f qcow2 --output=json "$OUT" 2>/dev/null | grep -q '"dirty-flag": true'
}

# One full run per flavour: the complete result must be right, and its runtime
# bounds the random kill moment.
for mode in plain small compressed lazy small-lazy; do
	rm -f "$OUT"
	start=$(date +%s.%N)
	# shellcheck disable=SC2046
	if ! "$BIN" $(convert_args "$mode") "$SRC" "$OUT" 2>"$WORK/err"; then
		echo "FAIL full $mode convert: $(head -n 3 "$WORK/err")"
		tests_failed=$((tests_failed + 1))
		RUNTIME[$mode]=1
		continue
	fi
	end=$(date +%s.%N)
	RUNTIME[$mode]=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
	if qemu-img check -q "$OUT" && qemu-img compare -q -f raw -F qcow2 "$SRC" "$OUT"; then
		tests_passed=$((tests_passed + 1))
	else
		echo "FAIL full $mode convert: qemu-img check/compare failed"
		tests_failed=$((tests_failed + 1))
	fi
	echo "full $mode convert: ${RUNTIME[$mode]} s"
done

# kill_convert MODE DELAY: start the conversion, kill -9 it after DELAY seconds.
# Returns 0 when the kill landed while it ran, 1 when it had ended already.
kill_convert() {
	local landed=0
	rm -f "$OUT"
	# shellcheck disable=SC2046
	"$BIN" $(convert_args "$1") "$SRC" "$OUT" 2>"$WORK/err" &
	CHILD=$!
	sleep "$2"
	kill -9 "$CHILD" 2>/dev/null || landed=1
	wait "$CHILD" 2>/dev/null
	CHILD=
	return $landed
}
has_header() {
	[ -s "$OUT" ] && [ "$(head -c 4 "$OUT" | od -An -tx1 | tr -d ' \n')" = 514649fb ]
}

# Each round must prove something: a kill that came after the conversion ended, or
# before the image had a header, is tried again (sooner, or later) up to 4 times;
# a round where no try landed is a SKIP with the reason, never a pass.
modes=(plain small compressed lazy small-lazy)
for i in $(seq 1 "$ITER"); do
	mode=${modes[$((i % ${#modes[@]}))]}
	max=${RUNTIME[$mode]}
	delay=$(awk -v s="$RANDOM" -v max="$max" 'BEGIN { srand(s); if (max < 0.06) max = 0.06;
		printf "%.3f", 0.05 + rand() * (max - 0.05) }')
	why=
	for try in 1 2 3 4; do
		if ! kill_convert "$mode" "$delay"; then
			why="ended before the kill at ${delay}s"
			delay=$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 2 }')
		elif ! has_header; then
			why="no image header yet at ${delay}s"
			delay=$(awk -v d="$delay" -v max="$max" 'BEGIN { d *= 2; if (d > max) d = max; printf "%.3f", d }')
		else
			why=
			break
		fi
	done
	what="#$i $mode killed at ${delay}s"
	if [ -n "$why" ]; then
		skip "#$i $mode" "no kill landed mid-write in 4 tries (last: $why)"
		continue
	fi

	qemu-img check "$OUT" >"$WORK/check1" 2>&1
	rc=$?
	dirty=0
	is_dirty && dirty=1
	if ! { [ $rc = 0 ] || [ $rc = 3 ] || { [ $rc = 2 ] && [ $dirty = 1 ] && [[ $mode = *lazy ]]; }; }; then
		echo "FAIL $what: qemu-img check exit $rc"
		head -n 10 "$WORK/check1" | sed 's/^/    /'
		tests_failed=$((tests_failed + 1))
		continue
	fi
	if ! mapped_data_matches; then
		echo "FAIL $what: $(cat "$WORK/map.err")"
		tests_failed=$((tests_failed + 1))
		continue
	fi
	repair=leaks
	[ $dirty = 1 ] && repair=all
	"$BIN" check -r $repair "$OUT" >"$WORK/repair" 2>&1
	rrc=$?
	qemu-img check "$OUT" >"$WORK/check2" 2>&1
	rc2=$?
	if [ $rrc != 0 ] || [ $rc2 != 0 ]; then
		echo "FAIL $what: imgtool check -r $repair exit $rrc, then qemu-img check exit $rc2"
		head -n 10 "$WORK/repair" "$WORK/check2" | sed 's/^/    /'
		tests_failed=$((tests_failed + 1))
		continue
	fi
	if ! mapped_data_matches; then
		echo "FAIL $what: after repair: $(cat "$WORK/map.err")"
		tests_failed=$((tests_failed + 1))
		continue
	fi
	echo "ok   $what (qemu-img check before repair: $rc)"
	tests_passed=$((tests_passed + 1))
done

# power-loss replays (flush ordering, which SIGKILL cannot test); their counts
# join this suite's
bash tests/crash/test_powerloss.sh "$BUILD" | tee "$WORK/powerloss.log"
if counts=$(summary_counts "$WORK/powerloss.log"); then
	read -r p f s <<<"$counts"
	tests_passed=$((tests_passed + p))
	tests_failed=$((tests_failed + f))
	tests_skipped=$((tests_skipped + s))
else
	ko "power-loss replays: no summary line"
fi

summary
