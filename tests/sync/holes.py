#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""holes.py ZEROS MAP_JSON - no range `qemu-img map --output=json` reports as data
in the target touches a 64 KiB block the source holds as zeros (ZEROS: the list
disk.py keeps): the source's holes and zero blocks are holes (or zero clusters)
in the target.  Prints the target's data bytes."""
import json
import sys

BLOCK = 64 * 1024
zeros = {int(x) for x in open(sys.argv[1])}
data = 0
for e in json.load(open(sys.argv[2])):
    if not e.get("data") or e.get("zero"):
        continue
    data += e["length"]
    first, last = e["start"] // BLOCK, (e["start"] + e["length"] - 1) // BLOCK
    hit = zeros.intersection(range(first, last + 1))
    if hit:
        sys.exit(f"blocks {sorted(hit)[:5]} are zeros in the source but data in the target")
print(data)
