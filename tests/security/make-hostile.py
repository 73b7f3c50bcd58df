#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make-hostile.py - images whose references point where they must not, for the
reference attack suite (tests/security/run.sh).  Built with the fixture writers
of fixtures/make-vhd.py, make-vhdx.py and make-vmdk.py (imported, not copied).

    make-hostile.py vhd-parent OUT.vhd LOCATOR_PLATFORM PATH
        a differencing VHD whose only parent locator (W2ru, W2ku or MacX) holds
        PATH, and no parent name in its header
    make-hostile.py vhdx-parent OUT.vhdx RELATIVE_PATH
        a differencing VHDX whose parent locator's relative_path is RELATIVE_PATH
        (its absolute_win32_path "x" names no existing file)
    make-hostile.py vmdk-stream-grain OUT.vmdk SECTORS
        a streamOptimized VMDK with grains of SECTORS sectors (one grain of data)
"""
import functools
import importlib.util
import os
import sys

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures")


def fixture_module(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"),
                                                  os.path.join(FIXTURES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def vhd_parent(out, platform, path):
    vhd = fixture_module("make-vhd")
    child = vhd.Dynamic(4 * 1024 * 1024, dtype=4)
    if platform == "MacX":
        child.add_locator(b"MacX", path.encode())
    else:
        child.add_locator(platform.encode(), vhd.utf16le(path))
    child.write(out, parent_uid=bytes(range(16)), parent_name="")


def vhdx_parent(out, relative):
    vhdx = fixture_module("make-vhdx")
    c = vhdx.Vhdx(16 * vhdx.MiB, vhdx.MiB, parent=(
        "{00000000-1111-2222-3333-444444444444}", relative, "x"), seed=3)
    with open(out, "wb") as f:
        f.write(c.build())


def vmdk_stream_grain(out, sectors):
    vmdk = fixture_module("make-vmdk")
    # stream() sizes its tables by the module's GRAIN and writes header()'s
    # default grain: change both
    vmdk.GRAIN = sectors
    vmdk.header = functools.partial(vmdk.header, grain=sectors)
    desc = vmdk.descriptor(1, 0xffffffff, "streamOptimized", ['RW %d SPARSE "x.vmdk"' % sectors])
    data = bytes(range(256)) * (sectors * vmdk.SECTOR // 256)
    with open(out, "wb") as f:
        f.write(vmdk.stream(sectors, {0: data}, desc))


def main(argv):
    if len(argv) == 5 and argv[1] == "vhd-parent":
        vhd_parent(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "vhdx-parent":
        vhdx_parent(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "vmdk-stream-grain":
        vmdk_stream_grain(argv[2], int(argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
