# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/same_as_qemu.sh - sourced by the interop tests of the formats
# imgtool reads as qemu-img does (vdi, qcow, parallels): one image judged against
# qemu-img 7.2 in every way both print.  Needs $IMGTOOL (tests/lib.sh).
#
# same_as_qemu IMG [FMT]: info (human and JSON; probed when FMT is empty) and
# map JSON identical to qemu-img's; convert -O raw the same bytes as qemu-img's
# own conversion; convert -O qcow2 equal to the image by qemu-img compare, and
# clean by qemu-img check.  Prints what differs; nonzero on the first difference.
same_as_qemu() {
	local img=$1 fmt=${2:-} f=()
	[ -n "$fmt" ] && f=(-f "$fmt")
	diff <(qemu-img info "${f[@]}" "$img") <("$IMGTOOL" info "${f[@]}" "$img") || return 1
	diff <(qemu-img info "${f[@]}" --output=json "$img") \
	     <("$IMGTOOL" info "${f[@]}" --output=json "$img") || return 1
	diff <(qemu-img map "${f[@]}" --output=json "$img") \
	     <("$IMGTOOL" map "${f[@]}" --output=json "$img") || return 1
	rm -f same.q.raw same.i.raw same.i.qcow2
	qemu-img convert "${f[@]}" -O raw "$img" same.q.raw || return 1
	"$IMGTOOL" convert "${f[@]}" -O raw "$img" same.i.raw || return 1
	# the same size and the same bytes; qemu-img compare skips the holes (cmp would
	# read all 100 GiB of an empty disk's zeros)
	[ "$(stat -c %s same.q.raw)" = "$(stat -c %s same.i.raw)" ] || return 1
	qemu-img compare -q -f raw -F raw same.q.raw same.i.raw || return 1
	"$IMGTOOL" convert "${f[@]}" -O qcow2 "$img" same.i.qcow2 || return 1
	qemu-img compare "${f[@]}" -F qcow2 "$img" same.i.qcow2 || return 1
	qemu-img check -q same.i.qcow2 || return 1
	rm -f same.q.raw same.i.raw same.i.qcow2
}

# one_line_error CMD...: CMD fails with exactly one stderr line "imgtool: ..."
# naming the file; the line is left in err.txt.
one_line_error() {
	! "$@" 2>err.txt >/dev/null || { echo "succeeded: $*"; return 1; }
	[ "$(wc -l <err.txt)" = 1 ] && grep -q '^imgtool: ' err.txt || { cat err.txt; return 1; }
}

# raw_source FILE SIZE: random data at odd offsets, zeros written as data, holes.
raw_source() {
	python3 - "$1" "$2" <<'PY'
import os, random, sys
random.seed(11)
path, size = sys.argv[1], int(sys.argv[2])
with open(path, 'wb') as f:
    f.truncate(size)
    for i in range(24):
        off = random.randrange(0, size - (1 << 20)) // 512 * 512 + random.choice([0, 512, 1536])
        f.seek(off)
        f.write(os.urandom(random.choice([512, 4096, 65536, 1 << 20])))
    f.seek(size // 3)
    f.write(b'\0' * (3 << 20))
    f.seek(size - 700)
    f.write(os.urandom(700))
PY
}
