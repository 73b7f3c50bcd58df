#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""runone.py CMD... - run CMD once and print "SECONDS PEAK_RSS_KIB EXIT" on stdout.

The wall time covers only the child; the peak RSS is the child's getrusage maxrss
(each call runs one child, so RUSAGE_CHILDREN is that child alone).  The child's
own output goes to stderr so that it never mixes with the result line.
"""
import resource
import subprocess
import sys
import time

start = time.monotonic()
rc = subprocess.call(sys.argv[1:], stdout=sys.stderr)
secs = time.monotonic() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("%.4f %d %d" % (secs, rss, rc))
