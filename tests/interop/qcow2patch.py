#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""qcow2patch.py - damage a qcow2 image on purpose, for the check tests.

    qcow2patch.py leak IMG      append one cluster and give it refcount 1
                                (a leaked cluster: qemu-img check exits 3)
    qcow2patch.py corrupt IMG   set the header cluster's refcount to 0 while it is
                                in use (a refcount corruption: qemu-img check exits 2)
    qcow2patch.py in-use IMG BITMAP
                                set the in-use flag of a persistent bitmap, as a
                                QEMU killed while it held the bitmap leaves it
"""
import struct
import sys


def read_header(f):
    f.seek(0)
    h = f.read(104)
    if h[:4] != b"QFI\xfb":
        raise SystemExit("not a qcow2 image")
    version, = struct.unpack(">I", h[4:8])
    cluster_bits, = struct.unpack(">I", h[20:24])
    reft_off, = struct.unpack(">Q", h[48:56])
    refcount_order = struct.unpack(">I", h[96:100])[0] if version >= 3 else 4
    return 1 << cluster_bits, reft_off, refcount_order


def refcount_slot(f, cluster, csize, reft_off, order):
    """Byte offset and bit shift of the refcount entry of cluster index `cluster`."""
    bits = 1 << order
    per_block = csize * 8 // bits
    f.seek(reft_off + 8 * (cluster // per_block))
    block, = struct.unpack(">Q", f.read(8))
    block &= ~0x1ff
    if block == 0:
        raise SystemExit("no refcount block covers cluster %d" % cluster)
    bit = (cluster % per_block) * bits
    return block, bit, bits


def set_refcount(f, cluster, value, csize, reft_off, order):
    block, bit, bits = refcount_slot(f, cluster, csize, reft_off, order)
    if bits >= 8:
        nbytes = bits // 8
        f.seek(block + bit // 8)
        f.write(value.to_bytes(nbytes, "big"))
        return
    # sub-byte refcounts: the lowest entry is in the least significant bits
    f.seek(block + bit // 8)
    byte = f.read(1)[0]
    shift = bit % 8
    mask = ((1 << bits) - 1) << shift
    byte = (byte & ~mask) | ((value << shift) & mask)
    f.seek(block + bit // 8)
    f.write(bytes([byte]))


BITMAPS_EXT = 0x23852875


def set_bitmap_in_use(f, name):
    f.seek(0)
    h = f.read(1 << 16)
    pos, = struct.unpack(">I", h[100:104])
    while True:
        typ, length = struct.unpack(">II", h[pos:pos + 8])
        if typ == 0:
            raise SystemExit("no bitmaps extension")
        if typ == BITMAPS_EXT:
            nb, _, dsize, doff = struct.unpack(">IIQQ", h[pos + 8:pos + 32])
            break
        pos += 8 + (length + 7) // 8 * 8
    f.seek(doff)
    d = f.read(dsize)
    pos = 0
    for _ in range(nb):
        flags, = struct.unpack(">I", d[pos + 12:pos + 16])
        nlen, extra = struct.unpack(">HI", d[pos + 18:pos + 24])
        if d[pos + 24 + extra:pos + 24 + extra + nlen].decode() == name:
            f.seek(doff + pos + 12)
            f.write(struct.pack(">I", flags | 1))
            return
        pos += (24 + extra + nlen + 7) // 8 * 8
    raise SystemExit("no bitmap named " + name)


def main(argv):
    if len(argv) == 4 and argv[1] == "in-use":
        with open(argv[2], "r+b") as f:
            set_bitmap_in_use(f, argv[3])
        return 0
    if len(argv) != 3 or argv[1] not in ("leak", "corrupt"):
        sys.stderr.write(__doc__)
        return 2
    with open(argv[2], "r+b") as f:
        csize, reft_off, order = read_header(f)
        f.seek(0, 2)
        end = f.seek(0, 2)
        if argv[1] == "leak":
            end = (end + csize - 1) // csize * csize
            f.truncate(end + csize)
            set_refcount(f, end // csize, 1, csize, reft_off, order)
        else:
            set_refcount(f, 0, 0, csize, reft_off, order)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
