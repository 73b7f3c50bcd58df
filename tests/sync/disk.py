#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""disk.py - the sync tests' source disk, and the changes made to it between passes.

    disk.py make FILE SIZE_MIB      a sparse raw disk: 80% data blocks (each one
                                    different), 10% zeros written as data, 10% holes
    disk.py change FILE PERCENT SEED  change PERCENT% of the 64 KiB blocks (chosen
                                    at random among all of them): most get new
                                    bytes, some data blocks become zeros, some
                                    holes get data; prints the number changed

FILE.zeros lists the blocks that read as zeros (one number a line), kept up to
date by both, so the tests know where the holes must be without reading FILE.
"""
import os
import random
import sys

BLOCK = 64 * 1024


def save_zeros(path, zeros):
    with open(path + ".zeros", "w") as f:
        f.write("".join(f"{b}\n" for b in sorted(zeros)))


def load_zeros(path):
    return {int(x) for x in open(path + ".zeros")}


def make(path, mib):
    nblocks = mib * 1024 * 1024 // BLOCK
    base = random.Random(1).randbytes(BLOCK)
    zeros = bytes(BLOCK)
    with open(path, "wb") as f:
        f.truncate(nblocks * BLOCK)
        for b in range(nblocks):
            kind = b % 10
            if kind == 9:
                continue                      # a hole
            f.seek(b * BLOCK)
            if kind == 8:
                f.write(zeros)                # zeros written as data
            else:
                f.write(b.to_bytes(8, "little") + base[8:])
    save_zeros(path, [b for b in range(nblocks) if b % 10 >= 8])


def change(path, percent, seed):
    rng = random.Random(seed)
    size = os.path.getsize(path)
    nblocks = size // BLOCK
    picked = rng.sample(range(nblocks), max(1, nblocks * percent // 100))
    zeros = load_zeros(path)
    with open(path, "r+b") as f:
        for i, b in enumerate(picked):
            if i % 10 == 0:                   # data becomes zeros: a hole in the target
                f.seek(b * BLOCK)
                f.write(bytes(BLOCK))
                zeros.add(b)
                continue
            f.seek(b * BLOCK + rng.randrange(BLOCK - 4096))
            f.write(rng.randbytes(4096))
            zeros.discard(b)
    save_zeros(path, zeros)
    print(len(picked))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    else:
        change(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
