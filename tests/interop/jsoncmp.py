#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""jsoncmp.py - compare imgtool's JSON output with qemu-img's, for tests/interop/run.sh.

    jsoncmp.py info    QEMU.json IMGTOOL.json   shared `info` keys agree
    jsoncmp.py map     QEMU.json IMGTOOL.json   `map` lists are equal
    jsoncmp.py alloc   A.json B.json            same data/zero ranges (offsets ignored)
    jsoncmp.py readalloc A.json B.json          the same, a range reading as zeros counts as zero
    jsoncmp.py alldata MAP.json                 every range is data (a -S 0 copy)
    jsoncmp.py measure QEMU.json IMGTOOL.json   `measure` results are equal
    jsoncmp.py check   QEMU.json IMGTOOL.json   `check` counters are equal

Exit 0 when they agree; otherwise print what differs and exit 1.
"""
import json
import sys

INFO_KEYS = ["virtual-size", "format", "cluster-size", "dirty-flag",
             "backing-filename", "backing-filename-format"]
CHECK_KEYS = ["check-errors", "leaks", "corruptions", "leaks-fixed",
              "corruptions-fixed", "image-end-offset", "total-clusters",
              "allocated-clusters", "fragmented-clusters", "compressed-clusters"]


def load(path):
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError as e:
        raise SystemExit("%s: not JSON (%s): %r" % (path, e, text[:200]))


def differ(what, want, got):
    print("  %s: qemu-img %s, imgtool %s" % (what, json.dumps(want), json.dumps(got)))


def cmp_keys(keys, q, i, prefix=""):
    ok = True
    for k in keys:
        if k not in q:
            continue
        if k not in i:
            print("  %s%s: missing in imgtool's output (qemu-img: %s)"
                  % (prefix, k, json.dumps(q[k])))
            ok = False
        elif q[k] != i[k]:
            differ(prefix + k, q[k], i[k])
            ok = False
    return ok


def cmd_info(q, i):
    ok = cmp_keys(INFO_KEYS, q, i)
    qfs, ifs = q.get("format-specific"), i.get("format-specific")
    if qfs is not None:
        if not isinstance(ifs, dict):
            print("  format-specific: missing in imgtool's output")
            return False
        ok &= cmp_keys(["type"], qfs, ifs, "format-specific.")
        qd, idata = qfs.get("data", {}), ifs.get("data", {})
        ok &= cmp_keys(sorted(qd), qd, idata, "format-specific.data.")
    return ok


def cmd_map(q, i):
    if q == i:
        return True
    for n, (a, b) in enumerate(zip(q, i)):
        if a != b:
            print("  entry %d differs:\n    qemu-img %s\n    imgtool  %s"
                  % (n, json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True)))
            break
    if len(q) != len(i):
        print("  qemu-img has %d entries, imgtool %d" % (len(q), len(i)))
    return False


def ranges(m, zero_wins=False):
    """Merge a map into (start, end, data, zero) runs, ignoring host offsets.
    zero_wins: a range that reads as zeros counts as zero whether or not the
    driver also calls it data (qemu says data+zero for holes in flat extents)."""
    out = []
    for e in m:
        key = (bool(e.get("data")), bool(e.get("zero")))
        if zero_wins and key[1]:
            key = (False, True)
        s, n = e["start"], e["length"]
        if out and out[-1][2:] == key and out[-1][1] == s:
            out[-1] = (out[-1][0], s + n) + key
        else:
            out.append((s, s + n) + key)
    return out


def cmd_alloc(a, b, zero_wins=False):
    ra, rb = ranges(a, zero_wins), ranges(b, zero_wins)
    if ra == rb:
        return True
    for x, y in zip(ra, rb):
        if x != y:
            print("  first differing run: %s vs %s" % (x, y))
            break
    print("  %d runs vs %d runs" % (len(ra), len(rb)))
    return False


def cmd_readalloc(a, b):
    return cmd_alloc(a, b, zero_wins=True)


def cmd_alldata(m):
    bad = [e for e in m if not e.get("data")]
    for e in bad[:3]:
        print("  not data: %s" % json.dumps(e, sort_keys=True))
    return not bad


def cmd_measure(q, i):
    return cmp_keys(sorted(q), q, i)


def cmd_check(q, i):
    return cmp_keys(CHECK_KEYS, q, i)


def main(argv):
    cmds = {"info": cmd_info, "map": cmd_map, "alloc": cmd_alloc,
            "readalloc": cmd_readalloc,
            "measure": cmd_measure, "check": cmd_check}
    if len(argv) == 3 and argv[1] == "alldata":
        return 0 if cmd_alldata(load(argv[2])) else 1
    if len(argv) != 4 or argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    return 0 if cmds[argv[1]](load(argv[2]), load(argv[3])) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
