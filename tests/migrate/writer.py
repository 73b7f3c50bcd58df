#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""writer.py DISK FLAG - a running "VM": rewrites a few random 64 KiB blocks of DISK
(and now and then zeroes one) every 0.1 s until SIGTERM; FLAG exists while it runs
and is removed only after its last write reached the file, so a stop_command that
kills it and waits for FLAG to vanish knows the disk no longer changes."""
import os
import random
import signal
import sys
import time

disk, flag = sys.argv[1], sys.argv[2]
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
open(flag, "w").write(str(os.getpid()))
rng = random.Random(11)
blocks = os.path.getsize(disk) // 65536
with open(disk, "r+b") as f:
    while not stop:
        for _ in range(4):
            f.seek(rng.randrange(blocks) * 65536)
            f.write(bytes(65536) if rng.random() < 0.2 else rng.randbytes(65536))
        f.flush()
        os.fsync(f.fileno())
        time.sleep(0.1)
os.unlink(flag)
