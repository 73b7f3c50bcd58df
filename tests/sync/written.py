#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""written.py PREFIX PATH - the data bytes written into PATH according to the
strace logs PREFIX.* (strace -ff -o PREFIX -e trace=openat,pwrite64,pwritev,write):
every successful write to a descriptor opened on PATH (one file per thread, so no
call is split across lines).  The tests count what a command really wrote rather
than trusting its own report."""
import glob
import re
import sys

prefix, path = sys.argv[1], sys.argv[2]
logs = glob.glob(prefix + ".*")
fds, total = set(), 0
for log in logs:
    for line in open(log):
        m = re.match(r'openat\(AT_FDCWD, "([^"]+)".* = (\d+)$', line)
        if m and m.group(1) == path:
            fds.add(m.group(2))
for log in logs:
    for line in open(log):
        m = re.match(r'(pwrite64|pwritev|write)\((\d+), .* = (\d+)$', line)
        if m and m.group(2) in fds:
            total += int(m.group(3))
if not logs:
    sys.exit("no strace logs " + prefix + ".*")
print(total)
