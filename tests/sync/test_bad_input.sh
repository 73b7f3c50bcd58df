#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/sync/test_bad_input.sh BUILD_DIR - every bad input of `imgtool sync` is one
# line on stderr naming the culprit, exit 1, and a target of the wrong size is not
# touched: a truncated, garbled, foreign or empty digest stream, one with bytes
# after its trailer, one made for a disk of another size, targets of another
# size, a bad block size.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_bad_input "$build"
need_tools test_bad_input qemu-img python3

T=$(mktemp -d /tmp/imgtool-sync-bad.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
setup python3 "$top/fixtures/make-raw.py" src.raw 16M --layout mixed --seed 5 || exit 1
setup qemu-img create -q -f raw dst.raw 16M || exit 1
setup qemu-img create -q -f raw other.raw 20M || exit 1
"$IMGTOOL" sync --print-digests -f raw src.raw >good.dg
"$IMGTOOL" sync --print-digests -f raw other.raw >other.dg

# refused NAME PATTERN CMD...: exit 1, exactly one line on stderr matching PATTERN
refused() {
	local name=$1 pat=$2 err rc
	shift 2
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne 1 ]; then ko "$name: exit $rc, not 1 ($err)"; return; fi
	if [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then ko "$name: not one line: $err"; return; fi
	if ! grep -q -- "$pat" <<<"$err"; then ko "$name: '$err' does not match '$pat'"; return; fi
	ok "$name: $err"
}
sz=$(stat -c %s good.dg)
head -c $((sz - 20)) good.dg >trunc.dg
head -c 100 good.dg >trunc-early.dg
python3 - <<'PY'
d = bytearray(open("good.dg", "rb").read())
g = bytearray(d); g[32] = 0x51; open("tag.dg", "wb").write(g)          # first record's type
g = bytearray(d); g[40] ^= 0xff; open("digest.dg", "wb").write(g)      # a byte of a digest
g = bytearray(d); g[12:16] = b"\x03\0\0\0"; open("bs.dg", "wb").write(g)  # block size 3
open("extra.dg", "wb").write(d + b"x")
open("random.dg", "wb").write(bytes(range(256)) * 4)
open("empty.dg", "wb").write(b"")
PY
sync_with() { "$IMGTOOL" sync --digests-from "$1" -f raw -F raw src.raw dst.raw; }
refused "truncated stream (near its end)" "trunc.dg: digest stream truncated at byte" sync_with trunc.dg
refused "truncated stream (early)" "trunc-early.dg: digest stream truncated" sync_with trunc-early.dg
refused "garbled record type" "tag.dg: digest stream garbled at byte 32" sync_with tag.dg
refused "garbled digest (caught by the trailer)" "digest.dg: digest stream garbled: its SHA-256" sync_with digest.dg
refused "bad block size" "bs.dg: digest stream block size 3" sync_with bs.dg
refused "data after the trailer" "extra.dg: digest stream has data after its trailer" sync_with extra.dg
refused "not a digest stream" "random.dg: not an imgtool digest stream" sync_with random.dg
refused "empty stream" "empty.dg: digest stream truncated at byte 0" sync_with empty.dg
refused "stream of a disk of another size" "other.dg: the digest stream describes a 20971520-byte disk but src.raw is 16777216" sync_with other.dg
refused "stream from stdin, truncated" "stdin: digest stream truncated" \
	sh -c "\"$IMGTOOL\" sync --digests-from - -f raw -F raw src.raw dst.raw <trunc.dg"
refused "missing stream file" "nothere.dg: cannot open the digest stream" sync_with nothere.dg
before=$(md5sum <other.raw)
refused "target larger than the source" "other.raw: is 20971520 bytes and src.raw is 16777216" \
	"$IMGTOOL" sync -f raw -F raw src.raw other.raw
refused "target smaller than the source" "src.raw: is 16777216 bytes and other.raw is 20971520" \
	"$IMGTOOL" sync -f raw -F raw other.raw src.raw
check "a target of another size is not touched" [ "$(md5sum <other.raw)" = "$before" ]
refused "bad --block-size" "block-size takes a power of two" "$IMGTOOL" sync --block-size 3000 src.raw dst.raw
refused "missing target" "nothere.raw" "$IMGTOOL" sync -f raw -F raw src.raw nothere.raw
check "after all that, a good stream still syncs" sync_with good.dg
check "and the target equals the source" qemu-img compare -q -f raw -F raw src.raw dst.raw
summary
