#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""replay.py LOG BASE STATE SAMPLES SEED CHECK... - the states a power cut could
leave a file in, rebuilt from logwrites.c's log, each handed to CHECK.

BASE is the file before the operation ("-" for none: the operation created it).
For every flush in the log, the state right after it (everything logged before
it, durable) is written to STATE and `CHECK flush N STATE` is run; then the
state after the whole run (`CHECK final 0 STATE`, everything flushed at exit
is assumed written).  Then one cut at a random point between every two flushes
(and before the first) that have writes between them, and SAMPLES more: the
records since the last flush each kept or dropped at random (a power cut keeps
any subset of what was not flushed, in any order), `CHECK cut N STATE` (N: the
number of flushes before the cut).  REPLAY_DROP_FLUSHES=1 replays the log
with its flushes taken out (one left at the end), for proving that the checks
catch an operation that does not order its writes.  Prints one line per failing state and a
summary; exits 1 if any CHECK failed.
"""
import os
import random
import struct
import subprocess
import sys


def read_log(path):
    recs = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        kind = chr(data[pos])
        off, length = struct.unpack_from("<QQ", data, pos + 1)
        pos += 17
        payload = None
        if kind == "W":
            payload = data[pos:pos + length]
            pos += length
        recs.append((kind, off, length, payload))
    return recs


def apply(img, rec):
    kind, off, length, payload = rec
    if kind == "W":
        if len(img) < off + length:
            img.extend(bytes(off + length - len(img)))
        img[off:off + length] = payload
    elif kind == "Z":
        end = min(off + length, len(img))
        if end > off:
            img[off:end] = bytes(end - off)
    elif kind == "S":
        if len(img) < off:
            img.extend(bytes(off - len(img)))
    elif kind == "T":
        if len(img) > off:
            del img[off:]
        else:
            img.extend(bytes(off - len(img)))


def state_of(base, recs):
    img = bytearray(base)
    for r in recs:
        apply(img, r)
    return img


def run_check(check, kind, n, state_path, img):
    with open(state_path, "wb") as f:
        f.write(img)
    rc = subprocess.call(check + [kind, str(n), state_path])
    if rc != 0:
        print("FAILED STATE: %s %d (check exit %d)" % (kind, n, rc))
    return rc == 0


def main():
    log, base_path, state_path, samples, seed = sys.argv[1:6]
    check = sys.argv[6:]
    recs = read_log(log)
    if os.environ.get("REPLAY_DROP_FLUSHES"):
        # the test of the test: without its flushes the log has no ordering
        # left, and some cut must then be caught
        recs = [r for r in recs if r[0] != "F"] + [("F", 0, 0, None)]
    base = b"" if base_path == "-" else open(base_path, "rb").read()
    flushes = [i for i, r in enumerate(recs) if r[0] == "F"]
    rnd = random.Random(int(seed))
    ok = bad = 0

    for n, i in enumerate(flushes):
        good = run_check(check, "flush", n + 1, state_path, state_of(base, recs[:i]))
        ok, bad = ok + good, bad + (not good)
    good = run_check(check, "final", 0, state_path, state_of(base, recs))
    ok, bad = ok + good, bad + (not good)

    bounds = [0] + flushes + [len(recs)]
    # segments holding a record besides their flush: where a cut can lose one
    segs = [i for i in range(len(bounds) - 1) if bounds[i + 1] - bounds[i] >= 2]
    # one cut in every such segment, then SAMPLES more anywhere
    picks = segs + [rnd.choice(segs) for _ in range(int(samples) if segs else 0)]
    for seg in picks:
        start, end = bounds[seg], bounds[seg + 1]
        cut = rnd.randrange(start + 1, end + 1)
        kept = [r for r in recs[start:cut] if rnd.random() < 0.5]
        img = state_of(base, recs[:start] + kept)
        good = run_check(check, "cut", seg, state_path, img)
        ok, bad = ok + good, bad + (not good)
    print("replay: %d records, %d flushes, %d states checked, %d failed"
          % (len(recs), len(flushes), ok + bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
