#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# checksum_ref.py RAW_FILE - the "imgtool-sha256" digest of a raw file, written
# straight from docs/checksum.md with hashlib and no shortcut (every block is read
# and hashed), so the tests compare imgtool's parallel, hole-skipping
# implementation with the algorithm as documented.
import hashlib
import os
import sys

BLOCK = 64 * 1024
SEG_BLOCKS = 1024


def digest(path):
    size = os.path.getsize(path)
    final = hashlib.sha256()
    with open(path, "rb") as f:
        pos = 0
        while pos < size:
            seg = hashlib.sha256()
            for _ in range(SEG_BLOCKS):
                if pos >= size:
                    break
                block = f.read(min(BLOCK, size - pos))
                seg.update(hashlib.sha256(block).digest())
                pos += len(block)
            final.update(seg.digest())
    final.update(size.to_bytes(8, "little"))
    return final.hexdigest()


if __name__ == "__main__":
    print(digest(sys.argv[1]))
