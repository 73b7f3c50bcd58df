#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make-bombs.py OUTDIR - small images whose headers ask for a lot of memory.

Written from the VMDK layout (hosted sparse header, stream markers), independently
of imgtool's C code.  Creates in OUTDIR:

  grain-1g.vmdk     streamOptimized, 1 MiB on disk, grain size 1 GiB (2^21 sectors):
                    one compressed grain of zeros that inflates to 1 GiB.  qemu
                    accepts it; imgtool must refuse it (grains above 1 MiB).
  grain-1m.vmdk     streamOptimized with 1 MiB grains (imgtool's cap): a few grains
                    of text and random bytes; grain-1m.expected.raw is its contents.
"""
import os
import random
import struct
import sys
import zlib

SECTOR = 512
GTES = 512
GD_AT_END = 0xFFFFFFFFFFFFFFFF
FLAGS = 1 | 0x10000 | 0x20000      # newline check, compressed, markers


def header(capacity, grain, gd):
    h = struct.pack("<4sIIQQQQIQQQB4sH", b"KDMV", 3, FLAGS, capacity, grain,
                    1, 20, GTES, 0, gd, 128, 0, b"\n \r\n", 1)
    return h + bytes(SECTOR - len(h))


def marker(sectors, mtype):
    return struct.pack("<QII", sectors, 0, mtype) + bytes(SECTOR - 16)


def pad(b):
    return b + bytes(-len(b) % SECTOR)


def stream(capacity, grain, compressed):
    """compressed: {grain index: zlib bytes}"""
    ngt = -(-(-(-capacity // grain)) // GTES)
    gd_sectors = -(-ngt * 4 // SECTOR)
    desc = ('# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
            'createType="streamOptimized"\n\nRW %d SPARSE "x.vmdk"\n' % capacity).encode()
    out = bytearray(header(capacity, grain, GD_AT_END))
    out += desc + bytes(20 * SECTOR - len(desc))
    out += bytes(128 * SECTOR - len(out))
    gte = [0] * (ngt * GTES)
    for gi in sorted(compressed):
        gte[gi] = len(out) // SECTOR
        out += pad(struct.pack("<QI", gi * grain, len(compressed[gi])) + compressed[gi])
    gd = [0] * ngt
    for t in range(ngt):
        tab = gte[t * GTES:(t + 1) * GTES]
        if any(tab):
            out += marker(4, 1)
            gd[t] = len(out) // SECTOR
            out += struct.pack("<%dI" % GTES, *tab)
    out += marker(gd_sectors, 2)
    gd_off = len(out) // SECTOR
    out += pad(struct.pack("<%dI" % ngt, *gd))
    out += marker(1, 3) + header(capacity, grain, gd_off) + bytes(SECTOR)
    return bytes(out)


def zeros_compressed(nbytes):
    z = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    parts = [z.compress(chunk) for _ in range(nbytes >> 20)]
    return b"".join(parts) + z.flush()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    g1g = 1 << 21                                   # sectors
    with open(os.path.join(outdir, "grain-1g.vmdk"), "wb") as f:
        f.write(stream(2 * g1g, g1g, {0: zeros_compressed(1 << 30)}))

    rng = random.Random(14)
    g1m = 2048
    cap = 10 * g1m + 100                            # a short last grain
    grains = {}
    for gi in (0, 3, 4, 10):
        n = min(g1m, cap - gi * g1m) * SECTOR
        words = [b"grain ", b"cache ", b"vmdk ", b"bomb "]
        text = b"".join(rng.choice(words) for _ in range(n // 5 + 1))[:n // 2]
        data = text + rng.randbytes(n - len(text))
        grains[gi] = data + bytes(g1m * SECTOR - n)  # readers expect whole grains
    raw = bytearray(cap * SECTOR)
    for gi, d in grains.items():
        n = min(g1m, cap - gi * g1m) * SECTOR
        raw[gi * g1m * SECTOR:gi * g1m * SECTOR + n] = d[:n]
    comp = {gi: zlib.compress(d, 6) for gi, d in grains.items()}
    with open(os.path.join(outdir, "grain-1m.vmdk"), "wb") as f:
        f.write(stream(cap, g1m, comp))
    with open(os.path.join(outdir, "grain-1m.expected.raw"), "wb") as f:
        f.write(raw)


if __name__ == "__main__":
    main()
