#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tracecheck.py - read an `strace -f -e trace=open,openat,connect` log and say
whether the traced command stayed in its folder.

    tracecheck.py LOG FOLDER

Fails (exit 1, offending lines on stdout) on:
  - any open/openat of a path outside FOLDER, except what every run of a
    dynamically linked program reads (shared libraries, ld.so.cache, /proc,
    /sys, /dev/null and /dev/urandom, locale and time zone data), whether the
    open succeeded or not: an attempt is already a leak of intent;
  - any connect() other than to an AF_UNIX socket (no network connection may
    even be attempted).
"""
import os
import re
import sys

SYSTEM_PREFIXES = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/usr/share/locale/",
                   "/usr/share/zoneinfo/", "/usr/lib/locale/", "/proc/", "/sys/",
                   "/etc/ld.so.", "/etc/localtime", "/dev/null", "/dev/urandom",
                   "/usr/share/gconv/", "/usr/lib/x86_64-linux-gnu/gconv/")

OPEN = re.compile(r'\bopen(?:at)?\((?:AT_FDCWD|-?\d+)?,?\s*"((?:[^"\\]|\\.)*)"')
CONNECT = re.compile(r'\bconnect\(\d+, \{sa_family=(\w+)')


def inside(path, folder):
    full = os.path.normpath(os.path.join(folder, path))
    return full == folder or full.startswith(folder + "/")


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    folder = os.path.realpath(argv[2])
    bad = []
    with open(argv[1], errors="replace") as log:
        for line in log:
            m = OPEN.search(line)
            if m:
                path = m.group(1)
                if not path.startswith(SYSTEM_PREFIXES) and not inside(path, folder):
                    bad.append(line.rstrip())
            m = CONNECT.search(line)
            if m and m.group(1) != "AF_UNIX":
                bad.append(line.rstrip())
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
