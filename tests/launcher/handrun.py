#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""handrun.py MARKER TIMEOUT QEMU-ARGS... - the hand-written baseline for the launcher's
speed test: run a qemu command, read its serial console (stdout) until the marker line,
print the seconds from start to the marker, and stop qemu (its whole process group).
Exits 1 on timeout or when qemu ends first."""
import os
import select
import signal
import subprocess
import sys
import time

marker = sys.argv[1].encode()
timeout = float(sys.argv[2])
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[3:], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                     start_new_session=True)
buf = b""
ok = False
try:
    while time.monotonic() - t0 < timeout:
        if not select.select([p.stdout], [], [], 0.2)[0]:
            continue
        chunk = os.read(p.stdout.fileno(), 4096)
        if not chunk:
            break
        buf = (buf + chunk)[-8192:]
        if marker in buf:
            ok = True
            break
    elapsed = time.monotonic() - t0
finally:
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
if not ok:
    sys.exit(1)
print("%.3f" % elapsed)
