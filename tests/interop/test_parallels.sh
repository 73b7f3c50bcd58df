#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_parallels.sh BUILD_DIR - the Parallels format, read-only,
# against qemu-img 7.2.
#
#   a. qemu-img writes parallels (1 MiB and 64 KiB clusters, an empty 8G disk):
#      imgtool's info, map and conversions are qemu-img's, probed and with
#      -f parallels (same_as_qemu).
#   b. images qemu-img cannot write, made here from its own by the format
#      description: the old "WithoutFreeSpace" magic (BAT in sectors), and a
#      format extension cluster (MD5 checked, an end-of-features entry): read as
#      qemu-img reads them and as the source says.
#   c. an extension with a wrong checksum, flags or an unknown feature is refused
#      by both in the same words, in one line; writing is refused (read-only).
#
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/interop/same_as_qemu.sh"
find_imgtool test_parallels "$build"
need_tools test_parallels qemu-img qemu-io python3 cmp

T=$(mktemp -d /tmp/imgtool-parallels.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

SIZE=$((6 * 1024 * 1024 + 3 * 512))
setup raw_source src.raw $SIZE || { summary; exit 1; }

# ---- a. qemu-img writes, imgtool reads -----------------------------------------
written() {   # CLUSTER_SIZE
	rm -f p.prl
	qemu-img convert -f raw -O parallels -o cluster_size="$1" src.raw p.prl
	qemu-io -f parallels -c 'write -q -P 0x5a 512 1k' -c 'write -q -z 5M 64k' p.prl
	same_as_qemu p.prl parallels
	same_as_qemu p.prl
}
run_case "qemu parallels (1 MiB clusters) -> imgtool reads it as qemu-img" written 1M
run_case "qemu parallels (64 KiB clusters) -> imgtool reads it as qemu-img" written 64k
empty() {
	qemu-img create -q -f parallels e.prl 8G
	same_as_qemu e.prl
}
run_case "qemu parallels empty 8G -> imgtool as qemu-img" empty

# ---- b. what qemu-img does not write ---------------------------------------------
# prl.py IN OUT old|ext|ext-badsum|ext-flags|ext-unknown: IN rewritten by the
# format description (header fields at their offsets, little-endian).
cat >prl.py <<'PY'
import hashlib, struct, sys
src, out, kind = sys.argv[1:4]
b = bytearray(open(src, 'rb').read())
tracks, bat_entries = struct.unpack_from('<II', b, 28)
if kind == 'old':
    b[0:16] = b'WithoutFreeSpace'                   # BAT entries count sectors
    for i in range(bat_entries):
        e, = struct.unpack_from('<I', b, 64 + 4 * i)
        struct.pack_into('<I', b, 64 + 4 * i, e * tracks)
else:
    csize = tracks * 512
    ext_off = (len(b) + csize - 1) // csize * csize
    c = bytearray(csize)
    feat = {'ext-flags': (0, 1), 'ext-unknown': (0x1234, 0)}.get(kind, (0, 0))
    struct.pack_into('<QQII', c, 24, feat[0], feat[1], 0, 0)
    if feat[0]:                                        # then the end of features
        struct.pack_into('<QQII', c, 48, 0, 0, 0, 0)
    struct.pack_into('<Q', c, 0, 0xab234cef23dcea87)
    c[8:24] = hashlib.md5(bytes(c[24:])).digest()
    if kind == 'ext-badsum':
        c[8] ^= 0xff
    b += bytes(ext_off - len(b)) + c
    struct.pack_into('<Q', b, 56, ext_off // 512)
open(out, 'wb').write(b)
PY
setup qemu-img convert -f raw -O parallels -o cluster_size=64k src.raw base.prl ||
	{ summary; exit 1; }
old_magic() {
	python3 prl.py base.prl old.prl old
	same_as_qemu old.prl parallels
	"$IMGTOOL" convert -O raw old.prl old.raw
	cmp old.raw src.raw
}
run_case "old WithoutFreeSpace magic (BAT in sectors): as qemu-img and the source" old_magic
extension() {
	python3 prl.py base.prl ext.prl ext
	same_as_qemu ext.prl parallels
	"$IMGTOOL" convert -O raw ext.prl ext.raw
	cmp ext.raw src.raw
}
run_case "a format extension cluster (MD5, end of features): as qemu-img" extension

# ---- c. refusals -------------------------------------------------------------------
same_refusal() {   # KIND
	python3 prl.py base.prl bad.prl "$1"
	one_line_error "$IMGTOOL" info bad.prl
	qemu-img info bad.prl 2>q.txt >/dev/null && return 1
	[ "$(sed "s/^imgtool: Could not open 'bad.prl': //; s/^imgtool: bad.prl: //" err.txt)" = \
	  "$(sed "s/^qemu-img: Could not open 'bad.prl': //" q.txt)" ] ||
		{ cat err.txt q.txt; return 1; }
}
run_case "extension with a wrong checksum: refused as qemu-img does" same_refusal ext-badsum
run_case "extension feature with flags: refused as qemu-img does" same_refusal ext-flags
run_case "extension with an unknown feature: refused as qemu-img does" same_refusal ext-unknown
read_only() {
	one_line_error "$IMGTOOL" convert -n -f raw -O parallels src.raw base.prl
	one_line_error "$IMGTOOL" check -r all base.prl
	one_line_error "$IMGTOOL" create -f parallels new.prl 1M
}
run_case "parallels is read-only: writing and creating refused in one line" read_only

summary
