#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_vdi.sh BUILD_DIR - the VDI format (VirtualBox) against
# qemu-img 7.2, both directions.
#
#   a. qemu-img writes vdi (dynamic and static, data, zeros, holes, partial
#      blocks): imgtool's info, map and conversions are qemu-img's (same_as_qemu).
#   b. imgtool create: the file is qemu-img's byte for byte but for the two random
#      UUIDs, dynamic and static, for several sizes; a size past the format's limit
#      is refused in qemu-img's words, in one line.
#   c. imgtool writes vdi (dynamic, static; eight workers writing out of order;
#      into an image qemu-img made and wrote): qemu-img check clean, qemu-img
#      compare equal to the source; vdi <-> qcow2 both ways.
#   d. a file laid out as VirtualBox writes it (its text line, a 0x190 header with
#      the LCHS geometry, map and data 1 MiB aligned, blocks out of order, a
#      discarded block, a disk size VBoxManage convertfromraw leaves unaligned),
#      generated here from the format description: imgtool reads what the
#      description says and what qemu-img reads.
#
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/interop/same_as_qemu.sh"
find_imgtool test_vdi "$build"
need_tools test_vdi qemu-img qemu-io python3 cmp

T=$(mktemp -d /tmp/imgtool-vdi.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

SIZE=$((10 * 1024 * 1024 + 3 * 512))
setup raw_source src.raw $SIZE || { summary; exit 1; }

# ---- a. qemu-img writes, imgtool reads -----------------------------------------
qemu_writes() {   # OPTS
	rm -f q.vdi
	qemu-img convert -f raw -O vdi -o "$1" src.raw q.vdi
	qemu-io -f vdi -c 'write -q -P 0x5a 3M 4k' -c 'write -q -z 6M 1M' \
		-c 'write -q -P 0x77 9M 513k' q.vdi
	same_as_qemu q.vdi vdi
	same_as_qemu q.vdi      # probed
}
run_case "qemu vdi dynamic -> imgtool reads it as qemu-img" qemu_writes static=off
run_case "qemu vdi static -> imgtool reads it as qemu-img" qemu_writes static=on
qemu_empty() {
	qemu-img create -q -f vdi e.vdi 8G
	same_as_qemu e.vdi vdi
}
run_case "qemu vdi empty 8G: info, map, convert as qemu-img" qemu_empty

# ---- b. create -------------------------------------------------------------------
# the two UUIDs (image and last snapshot) are random: the bytes at 0x188..0x1a7
same_but_uuids() {
	[ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ] || { echo "sizes differ"; return 1; }
	cmp <(head -c 392 "$1") <(head -c 392 "$2")
	cmp <(tail -c +425 "$1") <(tail -c +425 "$2")
}
create_same() {   # OPTS
	local s
	for s in 1000 512 1M 5M 1G 100G 2T; do
		rm -f i.vdi q.vdi
		"$IMGTOOL" create -q -f vdi -o "$1" i.vdi $s
		qemu-img create -q -f vdi -o "$1" q.vdi $s
		same_but_uuids i.vdi q.vdi || { echo "size $s"; return 1; }
	done
}
run_case "create dynamic: qemu-img's file but the UUIDs" create_same static=off
create_static_same() {
	local s
	for s in 1000 3M 17M 1G; do
		rm -f i.vdi q.vdi
		"$IMGTOOL" create -q -f vdi -o static=on i.vdi $s
		qemu-img create -q -f vdi -o static=on q.vdi $s
		same_but_uuids i.vdi q.vdi || { echo "size $s"; return 1; }
		qemu-img check -q i.vdi
	done
}
run_case "create static: qemu-img's file but the UUIDs" create_static_same
create_too_big() {
	one_line_error "$IMGTOOL" create -q -f vdi big.vdi 600T
	qemu-img create -q -f vdi big2.vdi 600T 2>q.txt && return 1
	# the same words after each tool's prefix
	[ "$(sed 's/^imgtool: big.vdi: //' err.txt)" = "$(sed 's/^qemu-img: big2.vdi: //' q.txt)" ]
}
run_case "create 600T refused in one line, qemu-img's words" create_too_big

# ---- c. imgtool writes, qemu-img reads ------------------------------------------------
imgtool_writes() {   # OPTS
	rm -f t.vdi
	"$IMGTOOL" convert -m 8 -W -f raw -O vdi -o "$1" src.raw t.vdi
	qemu-img check t.vdi
	qemu-img compare -f raw -F vdi src.raw t.vdi
	same_as_qemu t.vdi vdi
}
run_case "imgtool convert -O vdi (dynamic, 8 workers, out of order): check clean, compare equal" \
	imgtool_writes static=off
run_case "imgtool convert -O vdi -o static=on: check clean, compare equal" \
	imgtool_writes static=on
into_qemu_image() {
	rm -f w.vdi
	qemu-img create -q -f vdi w.vdi $SIZE
	qemu-io -f vdi -c 'write -q -P 0x33 0 5M' -c 'write -q -P 0x44 7M 100k' w.vdi
	"$IMGTOOL" convert -n -f raw -O vdi src.raw w.vdi
	qemu-img check w.vdi
	qemu-img compare -f raw -F vdi src.raw w.vdi
}
run_case "imgtool writes into a vdi qemu-img made and wrote: check clean, compare equal" \
	into_qemu_image
round_trip() {
	rm -f a.qcow2 b.vdi
	qemu-img convert -f raw -O qcow2 src.raw a.qcow2
	"$IMGTOOL" convert -f qcow2 -O vdi a.qcow2 b.vdi
	qemu-img check b.vdi
	qemu-img compare -f qcow2 -F vdi a.qcow2 b.vdi
	"$IMGTOOL" convert -f vdi -O qcow2 b.vdi c.qcow2
	qemu-img check c.qcow2
	qemu-img compare -f raw -F qcow2 src.raw c.qcow2
}
run_case "qcow2 -> vdi -> qcow2 by imgtool: equal to the source" round_trip

# ---- d. a VirtualBox-style file ---------------------------------------------------
cat >vbox.py <<'PY'
# A VDI laid out as VirtualBox writes one (VDI 1.1, VDIHEADER1PLUS), and the
# raw disk it describes.
import os, struct, sys, uuid
out, raw_out = sys.argv[1], sys.argv[2]
MiB = 1 << 20
blocks = 7
disk_size = 6 * MiB + 700          # convertfromraw keeps odd sizes; qemu rounds up
bmap = [2, 0xffffffff, 0, 0xfffffffe, 1, 3, 0xffffffff]
off_bmap, off_data = MiB, 2 * MiB
h = bytearray(512)
h[0:64] = b"<<< Oracle VM VirtualBox Disk Image >>>\n".ljust(64, b"\0")
struct.pack_into("<III", h, 0x40, 0xbeda107f, 0x00010001, 0x190)
struct.pack_into("<II", h, 0x4c, 1, 0)                 # dynamic ("normal"), no flags
struct.pack_into("<II", h, 0x154, off_bmap, off_data)
struct.pack_into("<IIII", h, 0x15c, 0, 0, 0, 512)      # legacy geometry, sector size
struct.pack_into("<Q", h, 0x170, disk_size)
struct.pack_into("<IIII", h, 0x178, MiB, 0, blocks, 4)
h[0x188:0x198] = uuid.uuid4().bytes                    # create
h[0x198:0x1a8] = uuid.uuid4().bytes                    # modify
struct.pack_into("<IIII", h, 0x1c8, 16383, 16, 63, 512)  # LCHS geometry
data = [os.urandom(MiB) for _ in range(4)]
with open(out, "wb") as f:
    f.write(h)
    f.seek(off_bmap)
    f.write(struct.pack("<%dI" % blocks, *bmap))
    f.seek(off_data)
    for d in data:
        f.write(d)
with open(raw_out, "wb") as f:
    for e in bmap:
        f.write(data[e] if e < 0xfffffffe else bytes(MiB))
    f.truncate((disk_size + 511) // 512 * 512)
PY
vbox_reads() {
	python3 vbox.py vbox.vdi vbox.raw
	"$IMGTOOL" convert -O raw vbox.vdi i.raw
	cmp i.raw vbox.raw
	same_as_qemu vbox.vdi
	"$IMGTOOL" check vbox.vdi
}
run_case "a VirtualBox-style vdi (0x190 header, 1 MiB aligned, discarded block) reads as described" \
	vbox_reads
vbox_writes() {
	python3 vbox.py vbox.vdi vbox.raw
	# new data everywhere: into allocated, unallocated and discarded blocks
	python3 -c "import os; open('new.raw','wb').write(os.urandom($(stat -c %s vbox.raw)))"
	"$IMGTOOL" convert -n -f raw -O vdi new.raw vbox.vdi
	qemu-img check vbox.vdi
	qemu-img compare -f raw -F vdi new.raw vbox.vdi
}
run_case "imgtool writes into a VirtualBox-style vdi: check clean, compare equal" vbox_writes
summary
